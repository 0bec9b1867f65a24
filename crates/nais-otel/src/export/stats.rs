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
    /// Spans that ended and were queued in the batch processor.
    queued: AtomicU64,
    /// Spans that ended while the queue was full, and were dropped.
    dropped: AtomicU64,
    /// Spans the batch processor handed to the exporter.
    handed_to_exporter: AtomicU64,
    /// Spans the collector accepted.
    exported: AtomicU64,
    /// Spans the collector said it rejected (OTLP partial success).
    rejected: AtomicU64,
}

/// A snapshot of the span counts of a pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SpanCounts {
    /// Spans that ended (and were sampled).
    pub ended: u64,
    /// Spans the collector accepted.
    pub exported: u64,
    /// Spans dropped because the queue was full.
    pub dropped_in_queue: u64,
    /// Spans in exports that failed or that the collector rejected, and, while
    /// an export is under way, the spans in it.
    pub failed: u64,
    /// Spans waiting in the queue; after shutdown, the ones it had no time to export.
    pub queued: u64,
}

impl SpanCounts {
    /// Spans that did not reach the collector: dropped, failed, and (after
    /// shutdown) still queued.
    pub fn lost(&self) -> u64 {
        self.dropped_in_queue + self.failed + self.queued
    }

    /// Spans known to be lost for good: dropped or failed. Spans still queued
    /// may yet be exported.
    pub fn lost_for_good(&self) -> u64 {
        self.dropped_in_queue + self.failed
    }
}

impl Stats {
    pub(crate) fn handed(&self, count: usize) {
        self.handed_to_exporter
            .fetch_add(count as u64, Ordering::Release);
    }

    pub(crate) fn exported(&self, count: u64) {
        self.exported.fetch_add(count, Ordering::Relaxed);
    }

    pub(crate) fn rejected(&self, count: u64) {
        self.rejected.fetch_add(count, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> SpanCounts {
        let queued = self.queued.load(Ordering::Relaxed);
        let dropped = self.dropped.load(Ordering::Relaxed);
        let handed = self.handed_to_exporter.load(Ordering::Relaxed);
        let exported = self.exported.load(Ordering::Relaxed);
        SpanCounts {
            ended: queued + dropped,
            exported,
            dropped_in_queue: dropped,
            failed: handed.saturating_sub(exported),
            queued: queued.saturating_sub(handed),
        }
    }
}

/// Wraps the batch processor to count the spans that end, and to drop (and
/// count) a span itself when the queue is full.
///
/// The SDK's processor drops silently when its channel is full and keeps the
/// count private. So this one keeps its own: spans queued minus spans handed to
/// the exporter is never less than what is in the channel (spans leave the
/// channel just before they are handed over), so a span let through here always
/// fits, and every drop is counted exactly.
#[derive(Debug)]
pub(crate) struct CountingProcessor<P> {
    inner: P,
    stats: Arc<Stats>,
    capacity: u64,
}

impl<P> CountingProcessor<P> {
    pub(crate) fn new(inner: P, stats: Arc<Stats>, capacity: usize) -> Self {
        Self {
            inner,
            stats,
            capacity: capacity as u64,
        }
    }
}

impl<P: SpanProcessor> SpanProcessor for CountingProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    #[inline]
    fn on_end(&self, span: SpanData) {
        let handed = self.stats.handed_to_exporter.load(Ordering::Acquire);
        let queued = self.stats.queued.fetch_add(1, Ordering::AcqRel);
        if queued.saturating_sub(handed) >= self.capacity {
            self.stats.queued.fetch_sub(1, Ordering::AcqRel);
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
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
