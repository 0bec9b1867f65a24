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
//!    A further SIGTERM or Ctrl-C stops the wait (one that ended the drain does
//!    not count for the flush: each ends the step it comes in): the guard says
//!    how many spans it did not export, and `main` goes on to its end.
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
    sync::{Arc, Condvar, Mutex, MutexGuard, Once, PoisonError},
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

    /// Completes with the first signal: logs it, and starts counting the signals after
    /// it ([`count_further_signals`]).
    async fn recv(mut self) {
        let name = self.next().await;
        count_further_signals();
        tracing::info!(target: "nais_otel", signal = name, "shutting down");
    }

    /// The name of the next signal that comes.
    #[cfg(unix)]
    async fn next(&mut self) -> &'static str {
        async fn next(signal: Option<&mut tokio::signal::unix::Signal>) {
            if let Some(signal) = signal {
                if signal.recv().await.is_some() {
                    return;
                }
            }
            // Not listening, or the runtime is shutting down: no signal came.
            std::future::pending().await
        }
        tokio::select! {
            () = next(self.terminate.as_mut()) => "SIGTERM",
            () = next(self.interrupt.as_mut()) => "SIGINT",
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> &'static str {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(target: "nais_otel", %error, "cannot listen for Ctrl-C; it will not start a graceful shutdown");
            std::future::pending::<()>().await;
        }
        "Ctrl-C"
    }
}

/// The signals after the one that began the shutdown: how many, the last one's name,
/// whether they are listened for, and where the flush starts counting.
struct Further {
    count: u64,
    last: &'static str,
    listening: bool,
    /// The counting thread has listened, or failed to.
    settled: bool,
    /// The count when [`serve`]'s drain ended: a signal that ended the drain is not one
    /// that ends the flush.
    drained_at: u64,
}

/// [`Further`], and a condition variable for each change and for a flush that ends.
static FURTHER: (Mutex<Further>, Condvar) = (
    Mutex::new(Further {
        count: 0,
        last: "",
        listening: false,
        settled: false,
        drained_at: 0,
    }),
    Condvar::new(),
);

fn further() -> MutexGuard<'static, Further> {
    FURTHER.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts, once a process, the thread that counts the signals after the first, with a
/// small runtime of its own: the application's runtime may be gone, or blocked in the
/// guard's flush, by the time they come. Once tokio listens for a signal it no longer
/// ends the process, so each is counted for the step it comes in to end. Returns once
/// the thread listens (or could not), a moment at most.
fn count_further_signals() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let started = std::thread::Builder::new()
            .name("nais-otel-signals".to_owned())
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_io()
                    .build();
                let Ok(runtime) = runtime else {
                    settle(false);
                    return;
                };
                runtime.block_on(async {
                    let mut signals = Signals::listen();
                    settle(true);
                    loop {
                        let name = signals.next().await;
                        count_signal(name);
                    }
                });
            });
        if let Err(error) = started {
            tracing::debug!(target: "nais_otel", %error, "no thread to count further signals");
            settle(false);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        let mut further = further();
        while !further.settled {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            further = FURTHER
                .1
                .wait_timeout(further, left)
                .map(|(further, _)| further)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    });
}

/// The counting thread listens, or cannot.
fn settle(listening: bool) {
    let mut further = further();
    further.listening = listening;
    further.settled = true;
    FURTHER.1.notify_all();
}

/// Counts a signal after the first, and wakes whoever waits on one.
fn count_signal(name: &'static str) {
    let mut further = further();
    further.count += 1;
    further.last = name;
    FURTHER.1.notify_all();
}

/// How many signals after the first were counted, if they are counted.
pub(crate) fn further_signals_counted() -> Option<u64> {
    let further = further();
    further.listening.then_some(further.count)
}

/// The drain has ended: the signals so far do not end the flush. `by_signal`: the drain
/// was ended by a signal that came after `by_signal` were counted; it does not end the
/// flush either, counted yet or not.
pub(crate) fn drained(by_signal: Option<u64>) {
    let mut further = further();
    further.drained_at = match by_signal {
        Some(before) => further.count.max(before + 1),
        None => further.count,
    };
}

/// Whether a shutdown signal has come through [`shutdown_signal`] (or `serve`) and a
/// signal after it would be heard now.
pub(crate) fn listening_for_further_signals() -> bool {
    further().listening
}

/// How [`unless_signalled`] ended.
pub(crate) enum Waited<T> {
    /// The work finished, with this.
    Finished(T),
    /// A signal (its name) came first; the work goes on, on its own thread.
    Signal(&'static str),
    /// The work neither finished nor was signalled within the bound.
    TimedOut,
    /// No thread could be started for the work, which was not done.
    NotStarted,
}

/// Runs `work` on a thread of its own and waits for it, at most `bound`, or until a
/// signal after the first comes that did not end the drain (one that came since is
/// enough).
pub(crate) fn unless_signalled<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
    bound: Duration,
) -> Waited<T> {
    let result = Arc::new(Mutex::new(None));
    let slot = result.clone();
    let worker = std::thread::Builder::new()
        .name("nais-otel-flush".to_owned())
        .spawn(move || {
            let value = work();
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(value);
            }
            // Under the lock the waiter checks in: the wake-up is not lost.
            let _further = further();
            FURTHER.1.notify_all();
        });
    if worker.is_err() {
        return Waited::NotStarted;
    }
    let deadline = std::time::Instant::now().checked_add(bound);
    let mut further = further();
    loop {
        if let Some(value) = result.lock().ok().and_then(|mut value| value.take()) {
            return Waited::Finished(value);
        }
        if further.count > further.drained_at {
            return Waited::Signal(further.last);
        }
        let left = match deadline {
            Some(deadline) => deadline.saturating_duration_since(std::time::Instant::now()),
            None => Duration::from_secs(3600),
        };
        if left.is_zero() {
            return Waited::TimedOut;
        }
        further = FURTHER
            .1
            .wait_timeout(further, left)
            .map(|(further, _)| further)
            .unwrap_or_else(|poisoned| poisoned.into_inner().0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The work's result when it finishes first, the bound when nothing comes, and a
    /// signal after the drain's end when one comes; one that came before it does not
    /// count. (A real signal is sent to a service in `tests/shutdown_sigterm.rs`.)
    #[test]
    fn the_work_s_result_a_further_signal_or_the_bound() {
        drained(None);
        assert!(matches!(
            unless_signalled(|| 7, Duration::from_secs(30)),
            Waited::Finished(7)
        ));
        let (never, stuck) = std::sync::mpsc::channel::<()>();
        let stuck = Arc::new(Mutex::new(stuck));
        let waits = {
            let stuck = stuck.clone();
            move || {
                stuck
                    .lock()
                    .map(|stuck| stuck.recv().is_ok())
                    .unwrap_or(false)
            }
        };
        assert!(matches!(
            unless_signalled(waits.clone(), Duration::from_millis(50)),
            Waited::TimedOut
        ));
        // Comes while the flush waits.
        let signal = std::thread::spawn(|| count_signal("TEST"));
        assert!(matches!(
            unless_signalled(waits.clone(), Duration::from_secs(30)),
            Waited::Signal("TEST")
        ));
        signal.join().expect("counted");
        // One that ended the drain does not end the flush, counted yet or not.
        drained(None);
        assert!(matches!(
            unless_signalled(waits.clone(), Duration::from_millis(50)),
            Waited::TimedOut
        ));
        let before = further().count;
        drained(Some(before));
        count_signal("TEST");
        assert!(matches!(
            unless_signalled(waits, Duration::from_millis(50)),
            Waited::TimedOut
        ));
        drop(never);
    }
}
