//! The span pipeline after the SDK: counting, preparing and exporting spans.
//!
//! Why an exporter of our own rather than `opentelemetry-otlp`'s: that exporter
//! re-reads `OTEL_EXPORTER_OTLP_*HEADERS` from the process environment and lets
//! it override headers set in code (breaking our "code, then environment"
//! precedence), and it runs its gRPC channel on the application's tokio runtime,
//! so it hangs or fails when that runtime is a current-thread one blocked in
//! `shutdown`, or is already gone. Ours runs on a thread of its own with a
//! runtime of its own: `init()` works before any runtime exists, and shutdown
//! works from any context. The wire format comes from `opentelemetry-proto`.

pub(crate) mod batch;
mod console;
#[cfg(test)]
mod generated;
mod otlp;
mod prepare;
mod stats;

pub use self::stats::SpanCounts;
pub(crate) use self::{
    batch::{end_span, BatchProcessor, Finish, SpanParts, StoredExport, StoredRef},
    console::ConsoleExporter,
    otlp::{OtlpExporter, OtlpSettings},
    prepare::{Preparer, PreparingExporter},
    stats::Stats,
};

use std::sync::{Arc, OnceLock};

use tracing::Dispatch;

/// Where the export thread reports what it has to say (outages, recoveries).
///
/// The export thread itself runs with no subscriber, so that nothing the gRPC
/// stack logs can loop back into spans; our own diagnostics go to the
/// application's subscriber, captured once `init()` has installed it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Diagnostics(Arc<OnceLock<Dispatch>>);

impl Diagnostics {
    pub(crate) fn set(&self, dispatch: Dispatch) {
        let _ = self.0.set(dispatch);
    }

    /// Runs `f` with the application's subscriber as the default, if known;
    /// otherwise writes `fallback` to stderr, so a warning is never lost.
    pub(crate) fn emit(&self, f: impl FnOnce(), fallback: impl FnOnce() -> String) {
        match self.0.get() {
            Some(dispatch) => tracing::dispatcher::with_default(dispatch, f),
            None => eprintln!("nais-otel: {}", fallback()),
        }
    }
}
