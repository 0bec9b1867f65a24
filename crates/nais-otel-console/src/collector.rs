//! The collector's API: [`CollectorBuilder`] starts one, [`Collector`] reads and waits on
//! what it received.

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{StartError, StartErrorKind, WaitError, WaitErrorKind};
use crate::server::ServerThread;
use crate::span::ReceivedSpan;
use crate::store::{State, Store};
use crate::trace::Trace;
use crate::waterfall::RenderOptions;

/// The address [`Collector::start`] listens on: loopback, a free port.
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// How long a trace must see no new span before it counts as completed.
pub const DEFAULT_QUIET_PERIOD: Duration = Duration::from_millis(300);

/// How long a trace that is not whole (no root, or a parent missing) must see no new span
/// before it counts as completed anyway.
pub const DEFAULT_INCOMPLETE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long [`Collector::start`] waits for the server thread to listen, and
/// [`Collector::shutdown`] for it to stop before leaving it behind.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);

/// An embedded OTLP receiver that keeps every span it receives.
///
/// It serves OTLP/gRPC (and, if asked, OTLP/HTTP protobuf) on its own thread with its own
/// tokio runtime, so it works from plain `#[test]`s, from inside any tokio runtime, and after
/// the caller's runtime is gone. All waiting is synchronous, with deadlines.
///
/// Dropping the collector shuts it down; see [`Collector::shutdown`].
///
/// See the [crate docs](crate) for an example.
pub struct Collector {
    store: Arc<Store>,
    local_addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    tls: bool,
    server: Mutex<Option<ServerThread>>,
}

/// Configures and starts a [`Collector`]. Made by [`Collector::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct CollectorBuilder {
    addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    quiet_period: Duration,
    incomplete_timeout: Duration,
    print_waterfalls: bool,
    render: Option<RenderOptions>,
    tls: Option<(Vec<u8>, Vec<u8>)>,
}

// === impl Collector ===

impl Collector {
    /// Start a collector on 127.0.0.1 with a free port and default settings.
    ///
    /// # Errors
    ///
    /// When the port cannot be bound or the server thread cannot start.
    pub fn start() -> Result<Collector, StartError> {
        Collector::builder().start()
    }

    /// A builder to configure the address, the quiet period and printing.
    pub fn builder() -> CollectorBuilder {
        CollectorBuilder::new()
    }

    /// The OTLP/gRPC endpoint, e.g. `http://127.0.0.1:4317`, for `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// (`https://` when serving [TLS](CollectorBuilder::tls)).
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr)
    }

    /// The address the OTLP/gRPC server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address the OTLP/HTTP server listens on, if one was asked for.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// The OTLP/HTTP base endpoint, e.g. `http://127.0.0.1:4318`, if one was asked for.
    /// Traces go to `{endpoint}/v1/traces`.
    pub fn http_endpoint(&self) -> Option<String> {
        self.http_addr.map(|addr| format!("http://{addr}"))
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.store.lock().spans.clone()
    }

    /// Every span received so far with the given name.
    pub fn spans_named(&self, name: &str) -> Vec<ReceivedSpan> {
        let state = self.store.lock();
        state
            .spans
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    }

    /// All spans received so far with trace id `trace_id`, completed or not.
    pub fn trace(&self, trace_id: &str) -> Option<Trace> {
        let state = self.store.lock();
        let spans: Vec<ReceivedSpan> = state
            .spans
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect();
        (!spans.is_empty()).then(|| Trace::new(trace_id, spans))
    }

    /// The completed traces so far, in order of (latest) completion, one per trace id.
    pub fn traces(&self) -> Vec<Trace> {
        self.store.lock().latest_completions()
    }

    /// A channel that gets every trace completed from now on.
    ///
    /// A trace that receives spans after it completed completes again, with all its spans.
    pub fn subscribe(&self) -> mpsc::Receiver<Trace> {
        self.store.subscribe()
    }

    /// The protobuf encoding of each `ExportTraceServiceRequest` received, in order.
    ///
    /// For gRPC this is the decoded message encoded again (the same fields and values); for
    /// OTLP/HTTP it is the body as received, after decompression.
    pub fn raw_requests(&self) -> Vec<Vec<u8>> {
        self.store.lock().raw_requests.clone()
    }

    /// How many export requests arrived (over both protocols).
    pub fn request_count(&self) -> usize {
        self.store.lock().request_count
    }

    /// Forget everything received so far: spans, traces, raw requests and the count.
    pub fn clear(&self) {
        self.store.lock().clear();
    }

    /// Wait until at least `n` spans have arrived; returns all spans so far.
    ///
    /// # Errors
    ///
    /// When `timeout` passes or the collector shuts down first.
    pub fn wait_for_spans(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedSpan>, WaitError> {
        self.wait_until(
            timeout,
            |state| (state.spans.len() >= n).then(|| state.spans.clone()),
            || format!("{n} spans"),
        )
    }

    /// Wait until `predicate` holds for the spans received so far; returns them.
    ///
    /// # Errors
    ///
    /// When `timeout` passes or the collector shuts down first.
    pub fn wait_for<F>(
        &self,
        mut predicate: F,
        timeout: Duration,
    ) -> Result<Vec<ReceivedSpan>, WaitError>
    where
        F: FnMut(&[ReceivedSpan]) -> bool,
    {
        self.wait_until(
            timeout,
            |state| predicate(&state.spans).then(|| state.spans.clone()),
            || "the predicate to hold".to_owned(),
        )
    }

    /// Wait for the next completed trace: the first one not yet returned by this method.
    ///
    /// A trace completes when no new span arrived for the quiet period (or, if it is not
    /// [whole](Trace::is_complete), for the incomplete timeout). On shutdown every open trace
    /// completes.
    ///
    /// # Errors
    ///
    /// When `timeout` passes or the collector shuts down first.
    pub fn wait_for_trace(&self, timeout: Duration) -> Result<Trace, WaitError> {
        self.wait_until(
            timeout,
            |state| {
                let trace = state.completed.get(state.delivered).cloned()?;
                state.delivered += 1;
                Some(trace)
            },
            || "a completed trace".to_owned(),
        )
    }

    /// Wait until some completed trace (latest version of each) satisfies `predicate`.
    ///
    /// Unlike [`wait_for_trace`](Collector::wait_for_trace) this looks at all completed traces,
    /// and does not move the cursor.
    ///
    /// # Errors
    ///
    /// When `timeout` passes or the collector shuts down first.
    pub fn wait_for_trace_matching<F>(
        &self,
        mut predicate: F,
        timeout: Duration,
    ) -> Result<Trace, WaitError>
    where
        F: FnMut(&Trace) -> bool,
    {
        self.wait_until(
            timeout,
            |state| {
                state
                    .latest_completions()
                    .into_iter()
                    .find(|t| predicate(t))
            },
            || "a completed trace matching the predicate".to_owned(),
        )
    }

    /// Stop the server, free its ports, and complete every open trace.
    ///
    /// Waits for the server thread at most a few seconds. Calling it again does nothing;
    /// what was received stays readable. Waits in progress return [`WaitErrorKind::Shutdown`]
    /// unless they are already satisfied.
    pub fn shutdown(&self) {
        let server = self
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(server) = server {
            server.stop(SHUTDOWN_TIMEOUT);
        }
        self.store.stop();
    }

    fn wait_until<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&mut State) -> Option<T>,
        what: impl FnOnce() -> String,
    ) -> Result<T, WaitError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.store.lock();
        loop {
            if let Some(found) = check(&mut state) {
                return Ok(found);
            }
            let kind = if state.stopped {
                Some(WaitErrorKind::Shutdown)
            } else {
                match deadline {
                    Some(deadline) => {
                        let now = Instant::now();
                        if now >= deadline {
                            Some(WaitErrorKind::TimedOut)
                        } else {
                            state = self.store.wait_changed(state, Some(deadline - now));
                            None
                        }
                    }
                    None => {
                        state = self.store.wait_changed(state, None);
                        None
                    }
                }
            };
            if let Some(kind) = kind {
                return Err(WaitError::new(
                    kind,
                    timeout,
                    &what(),
                    &state.spans,
                    state.request_count,
                ));
            }
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl fmt::Debug for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collector")
            .field("local_addr", &self.local_addr)
            .field("http_addr", &self.http_addr)
            .finish_non_exhaustive()
    }
}

// === impl CollectorBuilder ===

impl CollectorBuilder {
    /// A builder with the defaults.
    pub fn new() -> CollectorBuilder {
        CollectorBuilder {
            addr: DEFAULT_ADDR,
            http_addr: None,
            quiet_period: DEFAULT_QUIET_PERIOD,
            incomplete_timeout: DEFAULT_INCOMPLETE_TIMEOUT,
            print_waterfalls: false,
            render: None,
            tls: None,
        }
    }

    /// The OTLP/gRPC address. Defaults to [`DEFAULT_ADDR`] (127.0.0.1, a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Also serve OTLP/HTTP protobuf (`POST /v1/traces`) on this address. Defaults to off.
    pub fn http_addr(mut self, addr: SocketAddr) -> Self {
        self.http_addr = Some(addr);
        self
    }

    /// How long a trace must see no new span to complete. Defaults to
    /// [`DEFAULT_QUIET_PERIOD`].
    pub fn quiet_period(mut self, quiet_period: Duration) -> Self {
        self.quiet_period = quiet_period;
        self
    }

    /// How long a trace that is not [whole](Trace::is_complete) must see no new span to
    /// complete anyway; never shorter than the quiet period. Defaults to
    /// [`DEFAULT_INCOMPLETE_TIMEOUT`].
    ///
    /// This lets the root span of a trace, often exported last, catch up.
    pub fn incomplete_timeout(mut self, timeout: Duration) -> Self {
        self.incomplete_timeout = timeout;
        self
    }

    /// Serves OTLP/gRPC over TLS with this PEM certificate chain and key
    /// ([`Collector::endpoint`] then starts with `https://`), for testing
    /// exporters against an `https` collector. The HTTP port stays plaintext.
    pub fn tls(mut self, cert_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> Self {
        self.tls = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// Print each completed trace to stdout as a waterfall. Defaults to `false`.
    pub fn print_waterfalls(mut self, print: bool) -> Self {
        self.print_waterfalls = print;
        self
    }

    /// How printed waterfalls look. Defaults to [`RenderOptions::for_stdout`].
    pub fn render_options(mut self, options: RenderOptions) -> Self {
        self.render = Some(options);
        self
    }

    /// Bind the ports and start the server thread.
    ///
    /// The ports are listening when this returns.
    ///
    /// # Errors
    ///
    /// When an address cannot be bound or the server thread cannot start.
    pub fn start(self) -> Result<Collector, StartError> {
        let grpc = bind(self.addr)?;
        let local_addr = grpc
            .local_addr()
            .map_err(|e| StartError::new(StartErrorKind::Bind, Some(self.addr), e))?;
        let http = self.http_addr.map(bind).transpose()?;
        let http_addr = match &http {
            Some(listener) => Some(
                listener
                    .local_addr()
                    .map_err(|e| StartError::new(StartErrorKind::Bind, self.http_addr, e))?,
            ),
            None => None,
        };

        let store = Arc::new(Store::new(
            self.quiet_period,
            self.incomplete_timeout.max(self.quiet_period),
            self.print_waterfalls
                .then(|| self.render.unwrap_or_else(RenderOptions::for_stdout)),
        ));

        let tls = self.tls.is_some();
        let server = ServerThread::start(
            Arc::clone(&store),
            grpc,
            http,
            self.tls,
            local_addr.port(),
            SHUTDOWN_TIMEOUT,
        )
        .map_err(|e| StartError::new(StartErrorKind::Runtime, None, e))?;
        Ok(Collector {
            store,
            local_addr,
            http_addr,
            tls,
            server: Mutex::new(Some(server)),
        })
    }
}

impl Default for CollectorBuilder {
    fn default() -> Self {
        CollectorBuilder::new()
    }
}

fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    let listener = TcpListener::bind(addr)
        .map_err(|e| StartError::new(StartErrorKind::Bind, Some(addr), e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| StartError::new(StartErrorKind::Bind, Some(addr), e))?;
    Ok(listener)
}
