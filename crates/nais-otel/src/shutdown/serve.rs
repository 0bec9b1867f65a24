//! [`serve`]: axum's server with a graceful shutdown on SIGTERM and a deadline on the drain.

use std::{
    fmt,
    future::{Future, IntoFuture},
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use super::{shutdown_signal, DEFAULT_DRAIN_TIMEOUT, NAIS_OTEL_DRAIN_TIMEOUT};
use crate::config::{parse, ConfigProblem, Lookup};

/// The drain timeout from `NAIS_OTEL_DRAIN_TIMEOUT` read through `lookup`:
/// `None` when unset, and the problem with a bad value (the default is then used).
fn drain_timeout_from(lookup: &Lookup<'_>) -> (Option<Duration>, Option<ConfigProblem>) {
    let Some(value) = parse::get(lookup, NAIS_OTEL_DRAIN_TIMEOUT) else {
        return (None, None);
    };
    let mut problems = Vec::new();
    let timeout = parse::millis(NAIS_OTEL_DRAIN_TIMEOUT, &value, &mut problems);
    (timeout, problems.pop())
}

/// Serves `make_service` on `listener` like [`axum::serve`](fn@axum::serve),
/// until SIGTERM or SIGINT ([`shutdown_signal`]); then stops accepting, waits
/// for the requests in flight at most the drain timeout, and returns.
///
/// Takes what `axum::serve` takes: a [`Router`](axum::Router),
/// `router.into_make_service_with_connect_info::<SocketAddr>()`, or
/// `server_layer().trace_router(router)`. Await it in `main` with the
/// [`Guard`](crate::Guard) alive, and let the guard drop after it: see the
/// [module docs](crate::shutdown) for what happens when, and the settings.
///
/// # Errors
///
/// As `axum::serve`: in practice, never (a failed `accept` is retried).
pub fn serve<L, M, S>(listener: L, make_service: M) -> Serve<L, M, S>
where
    L: axum::serve::Listener,
    M: for<'a> tower_service::Service<
        axum::serve::IncomingStream<'a, L>,
        Error = std::convert::Infallible,
        Response = S,
    >,
    S: tower_service::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    Serve {
        inner: axum::serve(listener, make_service),
        drain_timeout: None,
        signal: None,
    }
}

/// What [`serve`] returns: set the drain timeout or the signal with its
/// `with_*` methods, then await it. See the [module docs](crate::shutdown).
#[must_use = "a server does nothing unless awaited"]
pub struct Serve<L, M, S> {
    inner: axum::serve::Serve<L, M, S>,
    drain_timeout: Option<Duration>,
    signal: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<L, M, S> Serve<L, M, S> {
    /// How long to wait for requests in flight once shutdown starts, over
    /// `NAIS_OTEL_DRAIN_TIMEOUT`. Defaults to [`DEFAULT_DRAIN_TIMEOUT`].
    pub fn with_drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = Some(timeout);
        self
    }

    /// Starts the shutdown when `signal` completes, instead of on SIGTERM or
    /// SIGINT. During the drain, SIGTERM or SIGINT still ends it early.
    pub fn with_shutdown_signal<F>(mut self, signal: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.signal = Some(Box::pin(signal));
        self
    }
}

impl<L, M, S> fmt::Debug for Serve<L, M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("drain_timeout", &self.drain_timeout)
            .field("signal", &self.signal.as_ref().map(|_| "custom"))
            .finish_non_exhaustive()
    }
}

impl<L, M, S> IntoFuture for Serve<L, M, S>
where
    L: axum::serve::Listener,
    L::Addr: fmt::Debug,
    M: for<'a> tower_service::Service<
            axum::serve::IncomingStream<'a, L>,
            Error = std::convert::Infallible,
            Response = S,
        > + Send
        + 'static,
    for<'a> <M as tower_service::Service<axum::serve::IncomingStream<'a, L>>>::Future: Send,
    S: tower_service::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Output = io::Result<()>;
    type IntoFuture = ServeFuture;

    fn into_future(self) -> ServeFuture {
        ServeFuture(Box::pin(async move {
            let drain_timeout = match self.drain_timeout {
                Some(timeout) => timeout,
                None => {
                    let (timeout, problem) = drain_timeout_from(&|name| std::env::var(name).ok());
                    if let Some(problem) = problem {
                        problem.warn();
                    }
                    timeout.unwrap_or(DEFAULT_DRAIN_TIMEOUT)
                }
            };
            // Listening for the signals before saying "listening": a SIGTERM that
            // comes after that line starts a graceful shutdown, never a hard stop.
            let signal = match self.signal {
                Some(signal) => signal,
                None => Box::pin(shutdown_signal()),
            };
            let address = self
                .inner
                .local_addr()
                .map_or_else(|_| "unknown".to_owned(), |address| format!("{address:?}"));
            let (started, shutdown_started) = tokio::sync::oneshot::channel::<()>();
            let server = self
                .inner
                .with_graceful_shutdown(async move {
                    signal.await;
                    let _ = started.send(());
                })
                .into_future();
            let mut server = std::pin::pin!(server);
            tracing::info!(target: "nais_otel", %address, "listening");

            // The signal first: a server with no connection open finishes as soon as
            // the signal comes, and the drain is still to be said.
            tokio::select! {
                biased;
                Ok(()) = shutdown_started => {}
                result = &mut server => return result,
            }
            let again = shutdown_signal();
            // The further signals counted so far, if they are counted.
            let counted = super::further_signals_counted();
            tracing::info!(
                target: "nais_otel",
                drain_timeout_ms = drain_timeout.as_millis() as u64,
                "not accepting connections; waiting for the requests in flight"
            );
            let (drained, by_signal) = tokio::select! {
                result = &mut server => {
                    tracing::info!(target: "nais_otel", "every connection closed");
                    (result, false)
                }
                () = tokio::time::sleep(drain_timeout) => {
                    tracing::warn!(
                        target: "nais_otel",
                        drain_timeout_ms = drain_timeout.as_millis() as u64,
                        "connections still open after the drain timeout ({NAIS_OTEL_DRAIN_TIMEOUT}); leaving them"
                    );
                    (Ok(()), false)
                }
                () = again => {
                    tracing::warn!(target: "nais_otel", "a second signal: not waiting for the requests in flight");
                    (Ok(()), true)
                }
            };
            // A signal from now on ends the guard's flush; the one that ended the drain,
            // which the counting thread may not have counted yet, does not.
            super::drained(counted.filter(|_| by_signal));
            drained
        }))
    }
}

/// The future of [`Serve`].
pub struct ServeFuture(Pin<Box<dyn Future<Output = io::Result<()>> + Send>>);

impl Future for ServeFuture {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for ServeFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const DRAIN_TIMEOUTS: &[(Option<&str>, Option<u64>, bool, &str)] = &[
        (None,                 None,             false, "unset: the default"),
        (Some(""),             None,             false, "empty counts as unset"),
        (Some("  "),           None,             false, "blank counts as unset"),
        (Some("2500"),         Some(2_500),      false, "milliseconds"),
        (Some(" 2500 "),       Some(2_500),      false, "trimmed"),
        (Some("0"),            Some(0),          false, "zero: do not wait"),
        (Some("86400000"),     Some(86_400_000), false, "a day, the most"),
        (Some("86400001"),     None,             true,  "more than a day"),
        (Some("10s"),          None,             true,  "units are not read"),
        (Some("-1"),           None,             true,  "negative"),
        (Some("1.5"),          None,             true,  "fraction"),
    ];

    #[test]
    fn drain_timeout_from_the_environment() {
        for &(value, millis, problem, reason) in DRAIN_TIMEOUTS {
            let lookup = move |name: &str| {
                (name == NAIS_OTEL_DRAIN_TIMEOUT)
                    .then(|| value.map(str::to_owned))
                    .flatten()
            };
            let (timeout, found) = drain_timeout_from(&lookup);
            assert_eq!(timeout, millis.map(Duration::from_millis), "{reason}");
            assert_eq!(found.is_some(), problem, "{reason}: {found:?}");
            if let Some(found) = found {
                let text = found.to_string();
                assert!(text.contains(NAIS_OTEL_DRAIN_TIMEOUT), "{reason}: {text}");
                assert!(text.contains(value.unwrap().trim()), "{reason}: {text}");
            }
        }
    }
}
