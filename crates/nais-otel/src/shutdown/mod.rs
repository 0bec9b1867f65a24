//! Stopping on NAIS without losing spans: [`serve`] and [`shutdown_signal`].
//!
//! NAIS stops a pod with SIGTERM and kills it with SIGKILL when the grace
//! period is over. Spans still queued in the process at that moment are lost,
//! so a service has to notice SIGTERM, finish the requests in flight, and drop
//! the [`Guard`](crate::Guard), which flushes. [`serve`] does the first two:
//! it is [`axum::serve`](fn@axum::serve) with a graceful shutdown on SIGTERM
//! or SIGINT and a deadline on the drain, so `main` ends, and the guard it
//! holds is dropped, in a bounded time:
//!
//! ```no_run
//! # async fn handler() -> &'static str { "woof" }
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let _otel = nais_otel::init()?; // dropped at the end of main: flushes
//!
//!     let app = axum::Router::new()
//!         .route("/", axum::routing::get(handler))
//!         .layer(nais_otel::server_layer());
//!     let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//!     nais_otel::serve(listener, app).await?; // returns after SIGTERM and the drain
//!     Ok(())
//! }
//! ```
//!
//! # What happens on SIGTERM
//!
//! 1. The listener closes: new connections are refused.
//! 2. Idle keep-alive connections are closed at once; a connection with a
//!    request in flight gets its answer (with `Connection: close`), then closes.
//! 3. When every connection is closed, or after the drain timeout, whichever
//!    comes first, `serve` returns. A connection still open then (a client
//!    sending its request one byte a second, a request slower than the
//!    timeout) is left open, with a warning, until the runtime ends: its
//!    handler runs on while the guard flushes and may still answer, but
//!    spans that end after the flush are not exported, nor counted as lost.
//!    A second SIGTERM or Ctrl-C ends the drain at once.
//! 4. `main` returns and drops the guard: it exports what is queued, waiting
//!    at most its shutdown timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s at most).
//!
//! The drain timeout is [`DEFAULT_DRAIN_TIMEOUT`] (10 s), or
//! [`NAIS_OTEL_DRAIN_TIMEOUT`] in milliseconds, or
//! [`Serve::with_drain_timeout`] in code (code wins). With NAIS's defaults
//! (SIGTERM after a 5 s pre-stop sleep, SIGKILL 30 s after the pre-stop
//! began) the drain and the flush together take at most 20 of the 25 s left.
//! `docs/nais.md` has the whole timeline and which setting moves each step.
//!
//! A server that is not axum (tonic, hyper) uses [`shutdown_signal`] as its
//! graceful-shutdown trigger and bounds its own drain the same way, with
//! [`tokio::time::timeout`] around it.

use std::{future::Future, time::Duration};

#[cfg(feature = "axum")]
mod serve;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use self::serve::{serve, Serve, ServeFuture};

/// `NAIS_OTEL_DRAIN_TIMEOUT`: milliseconds [`serve`] waits for requests in
/// flight after SIGTERM before it returns.
pub const NAIS_OTEL_DRAIN_TIMEOUT: &str = "NAIS_OTEL_DRAIN_TIMEOUT";

/// How long [`serve`] waits for requests in flight after SIGTERM, unless
/// [`NAIS_OTEL_DRAIN_TIMEOUT`] or [`Serve::with_drain_timeout`] says otherwise.
///
/// NAIS sends SIGTERM 5 s into a 30 s grace period; 10 s of drain and at most
/// 10 s of flush (the default export timeout) leave 5 s to spare.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Completes when the process gets SIGTERM (what Kubernetes sends to stop a
/// pod) or SIGINT (Ctrl-C); on other systems than Unix, on Ctrl-C.
///
/// Called inside a tokio runtime, it listens from the call on, so a signal
/// that comes before the first poll is not missed; called outside one, from
/// the first poll. Once it listens, the signals no longer end the process by
/// themselves: that is up to the code that awaits it. A signal it cannot
/// listen for is reported once as a warning and never completes it.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// # let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// # let app = axum::Router::new();
/// // With axum's own serve, the drain has no deadline: prefer `nais_otel::serve`.
/// axum::serve(listener, app)
///     .with_graceful_shutdown(nais_otel::shutdown_signal())
///     .await
/// # }
/// ```
///
/// # Panics
///
/// When polled in a tokio runtime built without IO (tokio's own panic);
/// `#[tokio::main]` and `Runtime::new` have it.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    let early = tokio::runtime::Handle::try_current()
        .ok()
        .map(|_| Signals::listen());
    async move {
        let signals = match early {
            Some(signals) => signals,
            None => Signals::listen(),
        };
        signals.recv().await;
    }
}

/// The signals [`shutdown_signal`] listens for.
struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    #[cfg(unix)]
    fn listen() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        let listen = |kind: SignalKind, name: &'static str| match signal(kind) {
            Ok(signal) => Some(signal),
            Err(error) => {
                tracing::warn!(target: "nais_otel", signal = name, %error, "cannot listen for the signal; it will not start a graceful shutdown");
                None
            }
        };
        Self {
            terminate: listen(SignalKind::terminate(), "SIGTERM"),
            interrupt: listen(SignalKind::interrupt(), "SIGINT"),
        }
    }

    #[cfg(not(unix))]
    fn listen() -> Self {
        Self {}
    }

    #[cfg(unix)]
    async fn recv(self) {
        async fn next(signal: Option<tokio::signal::unix::Signal>) {
            if let Some(mut signal) = signal {
                if signal.recv().await.is_some() {
                    return;
                }
            }
            // Not listening, or the runtime is shutting down: no signal came.
            std::future::pending().await
        }
        let name = tokio::select! {
            () = next(self.terminate) => "SIGTERM",
            () = next(self.interrupt) => "SIGINT",
        };
        tracing::info!(target: "nais_otel", signal = name, "shutting down");
    }

    #[cfg(not(unix))]
    async fn recv(self) {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(target: "nais_otel", %error, "cannot listen for Ctrl-C; it will not start a graceful shutdown");
            std::future::pending::<()>().await;
        }
        tracing::info!(target: "nais_otel", signal = "Ctrl-C", "shutting down");
    }
}
