use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use opentelemetry::Context;
use opentelemetry_sdk::{
    error::OTelSdkResult,
    trace::{Span, SpanData, SpanProcessor},
    Resource,
};

/// Counts of spans through the pipeline, shared by the processor, the exporter
/// and the guard, which reports the spans lost once at shutdown.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Spans that ended and were handed to the batch processor.
    ended: AtomicU64,
    /// Spans the batch processor handed to the exporter.
    handed_to_exporter: AtomicU64,
    /// Spans the collector accepted.
    exported: AtomicU64,
    /// Spans the collector said it rejected (OTLP partial success).
    rejected: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SpanCounts {
    /// Spans that ended and were queued for export.
    pub ended: u64,
    /// Spans the collector accepted.
    pub exported: u64,
    /// Spans dropped because the queue was full (or still queued at a timed-out shutdown).
    pub dropped_in_queue: u64,
    /// Spans in exports that failed or that the collector rejected.
    pub failed: u64,
}

impl SpanCounts {
    /// Spans that never reached the collector.
    pub fn lost(&self) -> u64 {
        self.dropped_in_queue + self.failed
    }
}

impl Stats {
    pub(crate) fn handed(&self, count: usize) {
        self.handed_to_exporter
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    pub(crate) fn exported(&self, count: u64) {
        self.exported.fetch_add(count, Ordering::Relaxed);
    }

    pub(crate) fn rejected(&self, count: u64) {
        self.rejected.fetch_add(count, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> SpanCounts {
        let ended = self.ended.load(Ordering::Relaxed);
        let handed = self.handed_to_exporter.load(Ordering::Relaxed);
        let exported = self.exported.load(Ordering::Relaxed);
        SpanCounts {
            ended,
            exported,
            dropped_in_queue: ended.saturating_sub(handed),
            failed: handed.saturating_sub(exported),
        }
    }
}

/// Wraps the batch processor to count the spans that end.
#[derive(Debug)]
pub(crate) struct CountingProcessor<P> {
    inner: P,
    stats: Arc<Stats>,
}

impl<P> CountingProcessor<P> {
    pub(crate) fn new(inner: P, stats: Arc<Stats>) -> Self {
        Self { inner, stats }
    }
}

impl<P: SpanProcessor> SpanProcessor for CountingProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.stats.ended.fetch_add(1, Ordering::Relaxed);
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
