//! [`Guard`]: owns the provider; dropping it flushes and shuts export down.

use std::{
    fmt,
    sync::{Arc, Mutex},
    time::Duration,
};

use opentelemetry_sdk::{error::OTelSdkError, trace::SdkTracerProvider};
use tracing::Dispatch;

use crate::{bridge::BridgeLayer, config::Config, export::Stats, shutdown::Waited, SpanCounts};

#[cfg(doc)]
use super::Builder;

/// Keeps tracing running; dropping it flushes the queued spans and shuts
/// export down, waiting at most the shutdown timeout. It never panics and
/// never hangs, inside a tokio runtime of either flavour or outside any. When the
/// process is stopping on a signal (`serve`, [`crate::shutdown_signal`]),
/// a further SIGTERM or Ctrl-C (one that did not end `serve`'s drain) ends the wait.
#[must_use = "dropping the guard shuts tracing down"]
pub struct Guard {
    pub(super) provider: Option<SdkTracerProvider>,
    pub(super) bridge: Option<BridgeLayer>,
    pub(super) subscriber: Option<Dispatch>,
    pub(super) stats: Arc<Stats>,
    pub(super) shutdown_timeout: Duration,
    pub(super) config: Config,
    pub(super) shut_down: Mutex<bool>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("service_name", &self.config.service_name)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// The tracer provider, unless tracing is disabled.
    pub fn provider(&self) -> Option<&SdkTracerProvider> {
        self.provider.as_ref()
    }

    /// The layer that turns `tracing` spans into spans of this pipeline, for a subscriber
    /// of your own ([`Builder::with_subscriber`]`(false)`, or [`Builder::with_globals`]`(false)`
    /// in tests); `None` when tracing is disabled. See [`crate::bridge`].
    pub fn tracing_layer(&self) -> Option<BridgeLayer> {
        self.bridge.clone()
    }

    /// The `tracing` subscriber `init()` built (the log output and the bridge, each with
    /// its filter), installed as the global default with the globals; `None` with
    /// [`Builder::with_subscriber`]`(false)`. Without the globals, set it where it is
    /// wanted:
    ///
    /// ```
    /// let guard = nais_otel::builder()
    ///     .with_env_lookup(|_| None)
    ///     .with_globals(false)
    ///     .init()
    ///     .unwrap();
    /// let subscriber = guard.subscriber().expect("built by default");
    /// tracing::dispatcher::with_default(subscriber, || tracing::info!("in nais-otel's subscriber"));
    /// ```
    pub fn subscriber(&self) -> Option<&Dispatch> {
        self.subscriber.as_ref()
    }

    /// The server layer, with this guard's tracer provider handed over: the same
    /// as [`crate::server_layer`], without going through the global one.
    pub fn server_layer(&self) -> crate::middleware::ServerLayer {
        crate::layers::server_layer_with(self.provider.as_ref(), &self.config.excluded_paths)
    }

    /// The client layer, with this guard's tracer provider handed over: the same
    /// as [`crate::client_layer`], without going through the global one.
    pub fn client_layer(&self) -> crate::middleware::ClientLayer {
        crate::layers::client_layer_with(self.provider.as_ref())
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counts of spans so far: ended, exported, dropped, failed. Spans that go nowhere
    /// (`OTEL_TRACES_EXPORTER=none`, `OTEL_SDK_DISABLED`) are not counted: every count is 0.
    pub fn span_counts(&self) -> SpanCounts {
        self.stats.snapshot()
    }

    /// Exports what is queued now, waiting at most 5 s (the batch processor's flush
    /// timeout).
    pub fn force_flush(&self) {
        if let Some(provider) = &self.provider {
            let _ = provider.force_flush();
        }
    }

    /// Flushes and shuts down, waiting at most the shutdown timeout, and says
    /// once how many spans were lost, if any. Dropping the guard does the same.
    pub fn shutdown(self) -> SpanCounts {
        self.shutdown_once();
        self.stats.snapshot()
    }

    fn shutdown_once(&self) {
        let mut done = match self.shut_down.lock() {
            Ok(done) => done,
            Err(poisoned) => poisoned.into_inner(),
        };
        if *done {
            return;
        }
        *done = true;
        let Some(provider) = &self.provider else {
            return;
        };
        let started = std::time::Instant::now();
        let timeout = self.shutdown_timeout;
        let result = if crate::shutdown::listening_for_further_signals() {
            // Stopping on a signal: another one stops the wait (a second Ctrl-C).
            tracing::info!(
                target: "nais_otel",
                timeout_ms = timeout.as_millis() as u64,
                "exporting the spans still queued; a second SIGTERM or Ctrl-C stops waiting"
            );
            let flushed = provider.clone();
            let flush = move || flushed.shutdown_with_timeout(timeout);
            let bound = timeout.saturating_add(Duration::from_secs(1));
            match crate::shutdown::unless_signalled(flush, bound) {
                Waited::Finished(result) => Some(result),
                Waited::Signal(name) => {
                    tracing::warn!(
                        target: "nais_otel",
                        signal = name,
                        "a second signal: not waiting for the span export"
                    );
                    None
                }
                Waited::TimedOut => Some(Err(OTelSdkError::Timeout(timeout))),
                Waited::NotStarted => Some(provider.shutdown_with_timeout(timeout)),
            }
        } else {
            Some(provider.shutdown_with_timeout(timeout))
        };
        let counts = self.stats.snapshot();
        if let Some(Err(error)) = result {
            // The provider wraps its processors' errors: the time taken tells a timeout
            // from an export that failed at once (a collector that refused the batch).
            if started.elapsed() >= timeout {
                tracing::warn!(
                    target: "nais_otel",
                    timeout_ms = timeout.as_millis() as u64,
                    %error,
                    "span export did not finish before the shutdown timeout"
                );
            } else {
                tracing::warn!(
                    target: "nais_otel",
                    %error,
                    "the last span export at shutdown failed"
                );
            }
        }
        if counts.lost() > 0 {
            tracing::warn!(
                target: "nais_otel",
                spans_lost = counts.lost(),
                spans_ended = counts.ended,
                dropped_queue_full = counts.dropped_in_queue,
                failed_exports = counts.failed,
                unexported_at_shutdown = counts.queued,
                "spans were not exported"
            );
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shutdown_once();
    }
}
