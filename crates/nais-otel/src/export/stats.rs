use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Spans that ended (and were sampled) into the export pipeline; none when spans go
    /// nowhere (`OTEL_TRACES_EXPORTER=none`).
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

    /// Counts a span that ended and lets it into a queue of `capacity`: how many spans were
    /// waiting before it, or `None` (counted as dropped) when the queue is full.
    ///
    /// Spans queued minus spans handed to the exporter is never less than what waits in
    /// the queue, as long as spans leave the queue before they are handed over.
    #[inline]
    pub(crate) fn queue(&self, capacity: u64) -> Option<u64> {
        let handed = self.handed_to_exporter.load(Ordering::Acquire);
        let queued = self.queued.fetch_add(1, Ordering::AcqRel);
        let waiting = queued.saturating_sub(handed);
        if waiting >= capacity {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(waiting)
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
