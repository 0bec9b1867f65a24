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
//!    A second SIGTERM or Ctrl-C stops the wait: the guard says how many spans
//!    it did not export, and `main` goes on to its end.
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

use std::{
    future::Future,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::Duration,
};

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

    /// Completes with the first signal's name; logs it, and remembers that the
    /// shutdown has begun.
    async fn recv(self) {
        let name = self.next().await;
        SIGNALLED.store(true, Ordering::Relaxed);
        tracing::info!(target: "nais_otel", signal = name, "shutting down");
    }

    #[cfg(unix)]
    async fn next(self) -> &'static str {
        async fn next(signal: Option<tokio::signal::unix::Signal>) {
            if let Some(mut signal) = signal {
                if signal.recv().await.is_some() {
                    return;
                }
            }
            // Not listening, or the runtime is shutting down: no signal came.
            std::future::pending().await
        }
        tokio::select! {
            () = next(self.terminate) => "SIGTERM",
            () = next(self.interrupt) => "SIGINT",
        }
    }

    #[cfg(not(unix))]
    async fn next(self) -> &'static str {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(target: "nais_otel", %error, "cannot listen for Ctrl-C; it will not start a graceful shutdown");
            std::future::pending::<()>().await;
        }
        "Ctrl-C"
    }
}

/// Set once [`shutdown_signal`] (or [`serve`]) has seen its signal: the process is
/// stopping because it was asked to.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// Whether a shutdown signal has come through [`shutdown_signal`] or [`serve`].
pub(crate) fn signalled() -> bool {
    SIGNALLED.load(Ordering::Relaxed)
}

/// How [`unless_signalled`] ended.
pub(crate) enum Waited<T> {
    /// The work finished, with this.
    Finished(T),
    /// A signal (its name) came first; the work goes on, on its own thread.
    Signal(&'static str),
    /// The work neither finished nor was signalled within the bound.
    TimedOut,
}

/// Runs `work` on a thread of its own and waits for it, at most `bound`, or until
/// SIGTERM or SIGINT comes, which a thread with a small runtime of its own listens
/// for meanwhile (the application's runtime may be the one blocked waiting). That
/// thread calls `listening` once it listens, with the caller's default subscriber. A
/// thread that cannot be started leaves the work to the calling thread, with no
/// listening.
pub(crate) fn unless_signalled<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
    bound: Duration,
    listening: impl FnOnce() + Send + 'static,
) -> Waited<T> {
    enum Event<T> {
        Finished(T),
        Signal(&'static str),
    }
    let (events, waited) = mpsc::channel();
    let finished = events.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    let listener = std::thread::Builder::new()
        .name("nais-otel-signal".to_owned())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let signals = tracing::dispatcher::with_default(&dispatch, || {
                    let signals = Signals::listen();
                    listening();
                    signals
                });
                tokio::select! {
                    name = signals.next() => {
                        let _ = events.send(Event::Signal(name));
                    }
                    _ = stopped => {}
                }
            });
        });
    // Taken by the worker when it runs; still here when it could not start.
    let work = std::sync::Arc::new(std::sync::Mutex::new(Some(work)));
    let taken = work.clone();
    let worker = std::thread::Builder::new()
        .name("nais-otel-flush".to_owned())
        .spawn(move || {
            let work = taken.lock().ok().and_then(|mut work| work.take());
            if let Some(work) = work {
                let _ = finished.send(Event::Finished(work()));
            }
        });
    if worker.is_err() {
        drop(stop);
        let work = work.lock().ok().and_then(|mut work| work.take());
        return match work {
            Some(work) => Waited::Finished(work()),
            None => Waited::TimedOut,
        };
    }
    if listener.is_err() {
        tracing::debug!(target: "nais_otel", "no thread to listen for a second signal");
    }
    let outcome = match waited.recv_timeout(bound) {
        Ok(Event::Finished(value)) => Waited::Finished(value),
        Ok(Event::Signal(name)) => Waited::Signal(name),
        Err(_) => Waited::TimedOut,
    };
    drop(stop);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The work's result when it finishes within the bound, and the bound when it does
    /// not; the listening thread says when it listens. (The signal is sent to a service
    /// in `tests/shutdown_sigterm.rs`.)
    #[test]
    fn the_work_s_result_or_the_bound() {
        let (listens, listening) = mpsc::channel();
        let waited = unless_signalled(
            || 7,
            Duration::from_secs(30),
            move || {
                let _ = listens.send(());
            },
        );
        assert!(matches!(waited, Waited::Finished(7)));
        let (never, stuck) = mpsc::channel::<()>();
        let waited = unless_signalled(
            move || stuck.recv().is_ok(),
            Duration::from_millis(50),
            || {},
        );
        assert!(matches!(waited, Waited::TimedOut));
        drop(never);
        listening
            .recv_timeout(Duration::from_secs(30))
            .expect("the listening thread listened");
    }
}
