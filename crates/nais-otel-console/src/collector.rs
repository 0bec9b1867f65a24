//! The collector: an OTLP receiver on its own thread, and a synchronous API to wait on it.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::server;
use crate::span::{attributes_from_proto, ReceivedSpan};
use crate::trace::Trace;
use crate::waterfall::{render_waterfall, RenderOptions};

/// The address [`Collector::start`] listens on: loopback, a free port.
pub const DEFAULT_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// How long a trace must see no new span before it counts as completed.
pub const DEFAULT_QUIET_PERIOD: Duration = Duration::from_millis(300);

/// How long a trace that is not whole (no root, or a parent missing) must see no new span
/// before it counts as completed anyway.
pub const DEFAULT_INCOMPLETE_TIMEOUT: Duration = Duration::from_secs(2);

/// The largest request accepted, after decompression: 64 MiB.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// How long [`Collector::shutdown`] waits for the server thread before leaving it behind.
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
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    tls: bool,
    stopper: Mutex<Option<Stopper>>,
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

/// The error returned when a [`Collector`] cannot start.
#[derive(Debug)]
pub struct StartError {
    kind: StartErrorKind,
    addr: Option<SocketAddr>,
    source: io::Error,
}

/// What went wrong when starting a [`Collector`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartErrorKind {
    /// An address could not be bound (often: the port is taken).
    Bind,
    /// The runtime or server thread could not be created.
    Runtime,
}

/// The error returned when a wait on a [`Collector`] does not succeed.
///
/// Its message lists what did arrive, so a failing test says why.
#[derive(Debug)]
pub struct WaitError {
    kind: WaitErrorKind,
    message: String,
    spans: Vec<ReceivedSpan>,
}

/// Why a wait on a [`Collector`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitErrorKind {
    /// The deadline passed first.
    TimedOut,
    /// The collector was shut down first.
    Shutdown,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    wake_finisher: tokio::sync::Notify,
    quiet_period: Duration,
    incomplete_timeout: Duration,
    print: Option<RenderOptions>,
}

#[derive(Default)]
struct State {
    spans: Vec<ReceivedSpan>,
    raw_requests: Vec<Vec<u8>>,
    request_count: usize,
    open: HashMap<String, OpenTrace>,
    /// Every completion, in order; a trace that got late spans completes again.
    completed: Vec<Trace>,
    /// How many of `completed` were handed out by `wait_for_trace`.
    delivered: usize,
    subscribers: Vec<mpsc::Sender<Trace>>,
    stopped: bool,
}

struct OpenTrace {
    spans: Vec<ReceivedSpan>,
    last_span_at: Instant,
}

struct Stopper {
    stop: tokio::sync::oneshot::Sender<()>,
    done: mpsc::Receiver<()>,
    thread: JoinHandle<()>,
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
        self.shared.lock().spans.clone()
    }

    /// Every span received so far with the given name.
    pub fn spans_named(&self, name: &str) -> Vec<ReceivedSpan> {
        let state = self.shared.lock();
        state
            .spans
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    }

    /// All spans received so far with trace id `trace_id`, completed or not.
    pub fn trace(&self, trace_id: &str) -> Option<Trace> {
        let state = self.shared.lock();
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
        let state = self.shared.lock();
        latest_completions(&state.completed)
    }

    /// A channel that gets every trace completed from now on.
    ///
    /// A trace that receives spans after it completed completes again, with all its spans.
    pub fn subscribe(&self) -> mpsc::Receiver<Trace> {
        let (tx, rx) = mpsc::channel();
        self.shared.lock().subscribers.push(tx);
        rx
    }

    /// The protobuf encoding of each `ExportTraceServiceRequest` received, in order.
    ///
    /// For gRPC this is the decoded message encoded again (the same fields and values); for
    /// OTLP/HTTP it is the body as received, after decompression.
    pub fn raw_requests(&self) -> Vec<Vec<u8>> {
        self.shared.lock().raw_requests.clone()
    }

    /// How many export requests arrived (over both protocols).
    pub fn request_count(&self) -> usize {
        self.shared.lock().request_count
    }

    /// Forget everything received so far: spans, traces, raw requests and the count.
    pub fn clear(&self) {
        let mut state = self.shared.lock();
        state.spans.clear();
        state.raw_requests.clear();
        state.request_count = 0;
        state.open.clear();
        state.completed.clear();
        state.delivered = 0;
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
                latest_completions(&state.completed)
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
        let stopper = self
            .stopper
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(stopper) = stopper {
            let _ = stopper.stop.send(());
            // Bounded: a wedged server thread is left behind rather than hanging the caller.
            if stopper.done.recv_timeout(SHUTDOWN_TIMEOUT).is_ok() {
                let _ = stopper.thread.join();
            }
        }
        self.shared.stop();
    }

    fn wait_until<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&mut State) -> Option<T>,
        what: impl FnOnce() -> String,
    ) -> Result<T, WaitError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.shared.lock();
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
                            state = self
                                .shared
                                .changed
                                .wait_timeout(state, deadline - now)
                                .unwrap_or_else(PoisonError::into_inner)
                                .0;
                            None
                        }
                    }
                    None => {
                        state = self
                            .shared
                            .changed
                            .wait(state)
                            .unwrap_or_else(PoisonError::into_inner);
                        None
                    }
                }
            };
            if let Some(kind) = kind {
                return Err(WaitError::new(kind, timeout, &what(), &state));
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

fn latest_completions(completed: &[Trace]) -> Vec<Trace> {
    let mut out: Vec<Trace> = Vec::new();
    for trace in completed {
        out.retain(|t| t.trace_id != trace.trace_id);
        out.push(trace.clone());
    }
    out
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

        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            wake_finisher: tokio::sync::Notify::new(),
            quiet_period: self.quiet_period,
            incomplete_timeout: self.incomplete_timeout.max(self.quiet_period),
            print: self
                .print_waterfalls
                .then(|| self.render.unwrap_or_else(RenderOptions::for_stdout)),
        });

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("otel-console")
            .build()
            .map_err(|e| StartError::new(StartErrorKind::Runtime, None, e))?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        let tls = self.tls.is_some();
        let tls_identity = self.tls;
        let thread = std::thread::Builder::new()
            .name(format!("otel-console-{}", local_addr.port()))
            .spawn(move || {
                runtime.block_on(server::run(
                    thread_shared,
                    grpc,
                    http,
                    tls_identity,
                    stop_rx,
                    ready_tx,
                ));
                // Drops the listeners and every connection; bounded for stuck tasks.
                runtime.shutdown_timeout(Duration::from_millis(500));
                let _ = done_tx.send(());
            })
            .map_err(|e| StartError::new(StartErrorKind::Runtime, None, e))?;

        let ready = ready_rx.recv_timeout(SHUTDOWN_TIMEOUT).unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the server thread did not start",
            ))
        });
        let collector = Collector {
            shared,
            local_addr,
            http_addr,
            tls,
            stopper: Mutex::new(Some(Stopper {
                stop: stop_tx,
                done: done_rx,
                thread,
            })),
        };
        match ready {
            Ok(()) => Ok(collector),
            Err(e) => {
                collector.shutdown();
                Err(StartError::new(StartErrorKind::Runtime, None, e))
            }
        }
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

// === impl Shared ===

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Record one export request. `raw` is its protobuf encoding.
    pub(crate) fn ingest(&self, request: &ExportTraceServiceRequest, raw: Vec<u8>) {
        let mut spans = Vec::new();
        for resource_spans in &request.resource_spans {
            let resource = resource_spans
                .resource
                .as_ref()
                .map(|r| attributes_from_proto(&r.attributes))
                .unwrap_or_default();
            for scope_spans in &resource_spans.scope_spans {
                for span in &scope_spans.spans {
                    spans.push(ReceivedSpan::from_proto(
                        span,
                        &resource,
                        scope_spans.scope.as_ref(),
                    ));
                }
            }
        }

        let now = Instant::now();
        let mut state = self.lock();
        state.request_count += 1;
        state.raw_requests.push(raw);
        for span in spans {
            let state = &mut *state;
            let open = state
                .open
                .entry(span.trace_id.clone())
                .or_insert_with(|| OpenTrace {
                    // Late spans reopen a completed trace; it completes again with all spans.
                    spans: state
                        .completed
                        .iter()
                        .rev()
                        .find(|t| t.trace_id == span.trace_id)
                        .map(|t| t.spans.clone())
                        .unwrap_or_default(),
                    last_span_at: now,
                });
            open.spans.push(span.clone());
            open.last_span_at = now;
            state.spans.push(span);
        }
        drop(state);
        self.changed.notify_all();
        self.wake_finisher.notify_one();
    }

    /// Complete the open traces that are due (all of them if `all`). Returns the next deadline.
    pub(crate) fn complete_due(&self, all: bool) -> Option<Instant> {
        let now = Instant::now();
        let mut done = Vec::new();
        let mut next: Option<Instant> = None;
        let mut state = self.lock();
        let ids: Vec<String> = state.open.keys().cloned().collect();
        for id in ids {
            let Some(open) = state.open.get(&id) else {
                continue;
            };
            let trace = Trace::new(id.clone(), open.spans.clone());
            let wait = if trace.is_complete() {
                self.quiet_period
            } else {
                self.incomplete_timeout
            };
            let due = open.last_span_at + wait;
            if all || now >= due {
                state.open.remove(&id);
                done.push(trace);
            } else {
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        if done.is_empty() {
            return next;
        }
        done.sort_by_key(|t| t.start_time_unix_nano());
        state.completed.extend(done.iter().cloned());
        state
            .subscribers
            .retain(|tx| done.iter().all(|t| tx.send(t.clone()).is_ok()));
        drop(state);
        self.changed.notify_all();

        if let Some(options) = &self.print {
            let mut out = io::stdout().lock();
            for trace in &done {
                // A closed stdout must not take the collector down.
                let _ = writeln!(out, "{}", render_waterfall(trace, options));
            }
            let _ = out.flush();
        }
        next
    }

    pub(crate) fn wake_finisher(&self) -> &tokio::sync::Notify {
        &self.wake_finisher
    }

    fn stop(&self) {
        self.complete_due(true);
        self.lock().stopped = true;
        self.changed.notify_all();
    }
}

// === impl StartError ===

impl StartError {
    fn new(kind: StartErrorKind, addr: Option<SocketAddr>, source: io::Error) -> StartError {
        StartError { kind, addr, source }
    }

    /// What went wrong.
    pub fn kind(&self) -> StartErrorKind {
        self.kind
    }

    /// The address that could not be bound, for [`StartErrorKind::Bind`].
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Whether the address was already in use.
    pub fn is_addr_in_use(&self) -> bool {
        self.source.kind() == io::ErrorKind::AddrInUse
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, self.addr) {
            (StartErrorKind::Bind, Some(addr)) if self.is_addr_in_use() => {
                write!(f, "cannot listen on {addr}: the address is already in use")
            }
            (StartErrorKind::Bind, Some(addr)) => write!(f, "cannot listen on {addr}"),
            _ => f.write_str("cannot start the collector's server thread"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

// === impl WaitError ===

impl WaitError {
    fn new(kind: WaitErrorKind, timeout: Duration, what: &str, state: &State) -> WaitError {
        let cause = match kind {
            WaitErrorKind::TimedOut => format!("timed out after {timeout:?}"),
            WaitErrorKind::Shutdown => "the collector shut down".to_owned(),
        };
        let mut message = format!(
            "{cause} waiting for {what}; received {} spans in {} requests",
            state.spans.len(),
            state.request_count
        );
        for span in state.spans.iter().take(20) {
            message.push_str(&format!(
                "\n  {} [{}] trace={} span={} parent={}",
                span.name,
                span.service_name().unwrap_or("?"),
                span.trace_id,
                span.span_id,
                span.parent_span_id.as_deref().unwrap_or("-"),
            ));
        }
        if state.spans.len() > 20 {
            message.push_str("\n  ...");
        }
        WaitError {
            kind,
            message,
            spans: state.spans.clone(),
        }
    }

    /// Why the wait failed.
    pub fn kind(&self) -> WaitErrorKind {
        self.kind
    }

    /// The spans received when the wait gave up.
    pub fn spans(&self) -> &[ReceivedSpan] {
        &self.spans
    }
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WaitError {}

// Keep `IsTerminal` in one place: the default render options for printing.
pub(crate) fn stdout_wants_color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
