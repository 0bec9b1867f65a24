//! `cargo run -p dogbook`: the whole demo in one command.
//!
//! 1. Starts the embedded collector ([`nais_otel_console::Collector`]) on
//!    `127.0.0.1:4317` (another free port if that one is taken), unless
//!    `OTEL_EXPORTER_OTLP_ENDPOINT` is set: then the services export there.
//! 2. Starts kennels, inventory and dogs as separate processes (this
//!    executable with the hidden subcommand `serve <service>`), on ports 8081,
//!    8082 and 8083 (free ones if those are taken), their logs in
//!    `target/<profile>/dogbook-logs/` (or [`DOGBOOK_LOG_DIR`]), and waits until each
//!    answers `/isReady`.
//! 3. Fronts them on `127.0.0.1:8080` ([`DOGBOOK_PORT`]) with a reverse proxy
//!    (see [`crate::proxy`]).
//! 4. Sends [`DEMO_REQUEST`], prints the answer and the waterfall of its trace,
//!    then draws each new trace until Ctrl-C, and stops the services with
//!    SIGTERM so they flush their last spans.
//!
//! With [`Options::once`] it stops after the first trace, with exit status 0
//! only when that trace is whole (one root, every parent present) and has
//! spans from all three services.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use nais_otel_console::{render_waterfall, Collector, RenderOptions, Trace};

use crate::config::{parse_port, Service};
use crate::proxy::{self, Upstreams};

/// The front door's port. Defaults to [`DEFAULT_PORT`]; `0` picks a free one.
pub const DOGBOOK_PORT: &str = "DOGBOOK_PORT";
/// The embedded collector's OTLP/gRPC address. Defaults to
/// [`DEFAULT_COLLECTOR_ADDR`] (a free port if it is taken); `127.0.0.1:0` picks
/// a free port.
pub const DOGBOOK_COLLECTOR_ADDR: &str = "DOGBOOK_COLLECTOR_ADDR";
/// Where the services' logs go. Defaults to `dogbook-logs/` next to this executable.
pub const DOGBOOK_LOG_DIR: &str = "DOGBOOK_LOG_DIR";

/// The default of [`DOGBOOK_PORT`].
pub const DEFAULT_PORT: u16 = 8080;
/// The default of [`DOGBOOK_COLLECTOR_ADDR`].
pub const DEFAULT_COLLECTOR_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 4317);
/// The request the demo sends, as in the blog post.
pub const DEMO_REQUEST: &str = "/api/v1/kennels?id=2";

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const TRACE_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How the demo runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Stop after the first trace; exit status 0 only when it is whole and
    /// has spans from all three services.
    pub once: bool,
}

impl Options {
    /// Keep serving until Ctrl-C.
    pub fn new() -> Options {
        Options::default()
    }

    /// Stop after the first trace. Defaults to `false`.
    #[must_use]
    pub fn once(mut self, once: bool) -> Options {
        self.once = once;
        self
    }
}

/// Runs the demo; see the [module docs](self). Errors are printed, naming the
/// variable or port at fault.
pub fn run(options: Options) -> ExitCode {
    match run_demo(options) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("dogbook: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `trace` is what the demo request should make: whole (one root,
/// every parent present) and with spans from kennels, inventory and dogs.
///
/// # Errors
///
/// Says what is missing.
pub fn check_trace(trace: &Trace) -> Result<(), String> {
    let roots = trace.roots().len();
    let orphans = trace.orphans().len();
    if roots != 1 || orphans != 0 {
        return Err(format!(
            "the trace is not whole: {roots} root span(s), {orphans} span(s) whose parent is missing"
        ));
    }
    let services = trace.services();
    let missing: Vec<&str> = Service::ALL
        .iter()
        .map(|s| s.name())
        .filter(|name| !services.iter().any(|s| s == name))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the trace has no spans from {}",
            missing.join(", ")
        ));
    }
    Ok(())
}

struct Settings {
    port: u16,
    collector_addr: SocketAddr,
    collector_addr_explicit: bool,
    external_endpoint: Option<String>,
    log_dir: PathBuf,
}

impl Settings {
    fn from_env() -> Result<Settings, String> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let port = match get(DOGBOOK_PORT) {
            Some(value) => parse_port(DOGBOOK_PORT, &value).map_err(|e| e.to_string())?,
            None => DEFAULT_PORT,
        };
        let (collector_addr, collector_addr_explicit) = match get(DOGBOOK_COLLECTOR_ADDR) {
            Some(value) => (
                value.trim().parse().map_err(|_| {
                    format!(
                        "{DOGBOOK_COLLECTOR_ADDR}={value:?}: not an address such as 127.0.0.1:4317"
                    )
                })?,
                true,
            ),
            None => (DEFAULT_COLLECTOR_ADDR, false),
        };
        let external_endpoint = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| get("OTEL_EXPORTER_OTLP_ENDPOINT"));
        let log_dir = match get(DOGBOOK_LOG_DIR) {
            Some(dir) => PathBuf::from(dir),
            None => std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|dir| dir.join("dogbook-logs")))
                .unwrap_or_else(|| std::env::temp_dir().join("dogbook-logs")),
        };
        Ok(Settings {
            port,
            collector_addr,
            collector_addr_explicit,
            external_endpoint,
            log_dir,
        })
    }
}

fn run_demo(options: Options) -> Result<ExitCode, String> {
    let settings = Settings::from_env()?;
    let collector = match settings.external_endpoint {
        Some(_) => None,
        None => Some(start_collector(
            settings.collector_addr,
            settings.collector_addr_explicit,
        )?),
    };
    let endpoint = match (&collector, &settings.external_endpoint) {
        (Some(collector), _) => collector.endpoint(),
        (None, Some(endpoint)) => endpoint.clone(),
        (None, None) => unreachable!("a collector starts when no endpoint is set"),
    };
    // Subscribe before anything can send a span.
    let traces = collector.as_ref().map(Collector::subscribe);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find this executable to start the services: {e}"))?;
    std::fs::create_dir_all(&settings.log_dir).map_err(|e| {
        format!(
            "cannot create the log directory {} (set {DOGBOOK_LOG_DIR}): {e}",
            settings.log_dir.display()
        )
    })?;

    // Bind the front door first: a taken port should fail before anything starts.
    let front = StdTcpListener::bind((Ipv4Addr::LOCALHOST, settings.port)).map_err(|e| {
        format!(
            "cannot listen on 127.0.0.1:{} ({e}); set {DOGBOOK_PORT} to another port",
            settings.port
        )
    })?;
    let front_addr = front
        .local_addr()
        .map_err(|e| format!("cannot read the front door's address: {e}"))?;
    front
        .set_nonblocking(true)
        .map_err(|e| format!("cannot set up the front door: {e}"))?;

    let ports: HashMap<Service, u16> = Service::ALL
        .into_iter()
        .map(|service| (service, pick_port(service.default_port())))
        .collect();
    let addr = |service: Service| SocketAddr::from((Ipv4Addr::LOCALHOST, ports[&service]));
    let mut children = Children::default();
    for service in Service::ALL {
        let mut env = vec![
            ("PORT", ports[&service].to_string()),
            (
                "INVENTORY_URL",
                format!("http://{}", addr(Service::Inventory)),
            ),
            ("DOGS_URL", format!("http://{}", addr(Service::Dogs))),
        ];
        if collector.is_some() {
            env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.clone()));
            // The embedded collector speaks OTLP/gRPC, whatever the shell says.
            for protocol in [
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                "OTEL_EXPORTER_PROTOCOL",
            ] {
                env.push((protocol, "grpc".to_owned()));
            }
        }
        if std::env::var_os("OTEL_BSP_SCHEDULE_DELAY").is_none() {
            // Export within 100 ms, so a trace's spans arrive together.
            env.push(("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()));
        }
        children.spawn(&exe, service, &env, &settings.log_dir)?;
    }
    runtime.block_on(children.wait_ready(READY_TIMEOUT))?;

    let upstreams = Upstreams {
        kennels: addr(Service::Kennels),
        inventory: addr(Service::Inventory),
        dogs: addr(Service::Dogs),
    };
    let (stop_proxy, proxy_stopped) = tokio::sync::oneshot::channel::<()>();
    let proxy_task = runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(front)?;
        nais_otel::serve(listener, proxy::router(upstreams))
            .with_shutdown_signal(async {
                let _ = proxy_stopped.await;
            })
            .await
    });

    let front_url = format!("http://{front_addr}");
    print_banner(
        &front_url,
        &ports,
        &endpoint,
        collector.is_some(),
        &settings.log_dir,
    );

    let url = format!("{front_url}{DEMO_REQUEST}");
    println!("$ curl '{url}'");
    let answer = runtime.block_on(http_get(&url));
    let mut verdict = match &answer {
        Ok(answer) => {
            println!("HTTP {}", answer.status);
            println!("{}", answer.body.trim_end());
            if answer.status.is_success() {
                Ok(())
            } else {
                Err(format!("the demo request answered {}", answer.status))
            }
        }
        Err(error) => Err(error.clone()),
    };
    let trace_id = answer.as_ref().ok().and_then(|a| a.trace_id.clone());
    println!();

    let mut printed = Printed::default();
    match &traces {
        Some(traces) if verdict.is_ok() => {
            match wait_for_demo_trace(traces, trace_id.as_deref(), TRACE_TIMEOUT) {
                Some(trace) => {
                    printed.print(&trace);
                    verdict = check_trace(&trace);
                }
                None => {
                    verdict = Err(format!(
                        "no trace arrived at the collector within {TRACE_TIMEOUT:?}; see the logs in {}",
                        settings.log_dir.display()
                    ));
                }
            }
        }
        Some(_) => {}
        None => {
            if let Some(id) = &trace_id {
                println!("The spans went to {endpoint}: look up trace {id} in Tempo.");
            }
        }
    }

    if options.once {
        let _ = stop_proxy.send(());
        let _ = runtime.block_on(async { tokio::time::timeout(STOP_TIMEOUT, proxy_task).await });
        children.stop();
        drop(collector);
        return Ok(match verdict {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("dogbook: {message}");
                ExitCode::FAILURE
            }
        });
    }
    if let Err(message) = &verdict {
        eprintln!("dogbook: {message}");
    }

    print_hints(&front_url, collector.is_some());
    let stop_printing = Arc::new(AtomicBool::new(false));
    let printer = traces.map(|traces| {
        let stop = Arc::clone(&stop_printing);
        std::thread::spawn(move || printed.print_until(&traces, &stop))
    });

    runtime.block_on(nais_otel::shutdown_signal());
    println!(
        "\nStopping: the services get SIGTERM, finish what is in flight and flush their spans."
    );
    let _ = stop_proxy.send(());
    let _ = runtime.block_on(async { tokio::time::timeout(STOP_TIMEOUT, proxy_task).await });
    children.stop();
    if let Some(collector) = &collector {
        // Completes (and so prints) every trace still open.
        collector.shutdown();
    }
    stop_printing.store(true, Ordering::SeqCst);
    if let Some(printer) = printer {
        let _ = printer.join();
    }
    Ok(ExitCode::SUCCESS)
}

fn start_collector(addr: SocketAddr, explicit: bool) -> Result<Collector, String> {
    let builder = |addr: SocketAddr| {
        Collector::builder()
            .addr(addr)
            .quiet_period(Duration::from_millis(500))
            .incomplete_timeout(Duration::from_secs(5))
    };
    match builder(addr).start() {
        Ok(collector) => Ok(collector),
        Err(error) if error.is_addr_in_use() && !explicit => {
            let collector = builder(SocketAddr::new(addr.ip(), 0))
                .start()
                .map_err(|e| format!("cannot start the embedded collector: {e}"))?;
            println!(
                "note: {addr} is taken (another collector?), so the embedded collector listens on {} instead",
                collector.local_addr()
            );
            Ok(collector)
        }
        Err(error) => Err(format!(
            "cannot start the embedded collector ({DOGBOOK_COLLECTOR_ADDR}={addr}): {error}"
        )),
    }
}

/// `preferred` if it can be bound on loopback now, else a free port.
fn pick_port(preferred: u16) -> u16 {
    if StdTcpListener::bind((Ipv4Addr::LOCALHOST, preferred)).is_ok() {
        return preferred;
    }
    match crate::free_loopback_port() {
        0 => preferred,
        port => port,
    }
}

fn print_banner(
    front_url: &str,
    ports: &HashMap<Service, u16>,
    endpoint: &str,
    embedded: bool,
    log_dir: &Path,
) {
    println!("DogBook is up: three services, each its own process.");
    println!("  front door  {front_url}  (/api/v1/kennels, /api/v1/inventory, /api/v1/dogs)");
    for service in [Service::Kennels, Service::Inventory, Service::Dogs] {
        println!(
            "  {:<10}  http://127.0.0.1:{}",
            service.name(),
            ports[&service]
        );
    }
    if embedded {
        println!("  collector   {endpoint}  (embedded, OTLP/gRPC)");
    } else {
        println!("  collector   {endpoint}  (from OTEL_EXPORTER_OTLP_ENDPOINT)");
    }
    println!("  logs        {}", log_dir.display());
    println!();
}

fn print_hints(front_url: &str, embedded: bool) {
    println!();
    println!("Try:");
    println!("  curl '{front_url}/api/v1/kennels?id=0'");
    println!("  curl '{front_url}/api/v1/kennels?id=7'      # unknown kennel: 404, not an error");
    println!("  curl '{front_url}/api/v1/inventory?kennelId=1'");
    println!("  curl '{front_url}/api/v1/dogs?id=3'");
    if embedded {
        println!("Each new trace is drawn here. Ctrl-C to stop.");
    } else {
        println!("Ctrl-C to stop.");
    }
    let _ = io::stdout().flush();
}

/// Waits for the trace `trace_id` (or, without one, the first trace) to be
/// whole and to span all three services; returns its latest version, whole
/// or not, when `timeout` passes.
fn wait_for_demo_trace(
    traces: &mpsc::Receiver<Trace>,
    trace_id: Option<&str>,
    timeout: Duration,
) -> Option<Trace> {
    let deadline = Instant::now() + timeout;
    let mut latest: Option<Trace> = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return latest;
        }
        match traces.recv_timeout(remaining) {
            Ok(trace) => {
                let wanted = match (trace_id, &latest) {
                    (Some(id), _) => trace.trace_id == id,
                    (None, None) => true,
                    (None, Some(first)) => first.trace_id == trace.trace_id,
                };
                if wanted {
                    let done = check_trace(&trace).is_ok();
                    latest = Some(trace);
                    if done {
                        return latest;
                    }
                }
            }
            Err(_) => return latest,
        }
    }
}

/// The traces drawn so far, so a trace that completes again with no new span
/// is not drawn twice.
#[derive(Default)]
struct Printed {
    spans: HashMap<String, usize>,
}

impl Printed {
    fn print(&mut self, trace: &Trace) {
        let seen = self.spans.insert(trace.trace_id.clone(), trace.len());
        if seen.is_some_and(|n| n >= trace.len()) {
            return;
        }
        let mut out = io::stdout().lock();
        if seen.is_some() {
            let _ = writeln!(out, "(late spans arrived; the whole trace again)");
        }
        let _ = writeln!(
            out,
            "{}",
            render_waterfall(trace, &RenderOptions::for_stdout())
        );
        let _ = writeln!(out);
        let _ = out.flush();
    }

    fn print_until(mut self, traces: &mpsc::Receiver<Trace>, stop: &AtomicBool) {
        loop {
            match traces.recv_timeout(Duration::from_millis(200)) {
                Ok(trace) => self.print(&trace),
                Err(mpsc::RecvTimeoutError::Timeout) if stop.load(Ordering::SeqCst) => return,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

struct Answer {
    status: http::StatusCode,
    body: String,
    trace_id: Option<String>,
}

async fn http_get(url: &str) -> Result<Answer, String> {
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let request = http::Request::get(url)
        .body(Empty::new())
        .map_err(|e| format!("bad URL {url}: {e}"))?;
    let call = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = response.status();
        // `traceparent: 00-<trace id>-<span id>-<flags>`, set by kennels' server layer.
        let trace_id = response
            .headers()
            .get("traceparent")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split('-').nth(1))
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("GET {url}: reading the body: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            trace_id,
        })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, call)
        .await
        .map_err(|_| format!("GET {url}: no answer within {REQUEST_TIMEOUT:?}"))?
}

// === impl Children ===

struct Running {
    service: Service,
    port: u16,
    process: Child,
    log: PathBuf,
}

/// The service processes; dropping this stops them.
#[derive(Default)]
struct Children {
    running: Vec<Running>,
}

impl Children {
    fn spawn(
        &mut self,
        exe: &Path,
        service: Service,
        env: &[(&str, String)],
        log_dir: &Path,
    ) -> Result<(), String> {
        let log = log_dir.join(format!("{}.log", service.name()));
        let stdout = File::create(&log)
            .map_err(|e| format!("cannot create the log file {}: {e}", log.display()))?;
        let stderr = stdout
            .try_clone()
            .map_err(|e| format!("cannot open the log file {}: {e}", log.display()))?;
        let mut command = Command::new(exe);
        command
            .arg("serve")
            .arg(service.name())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Each process is its own service: no shared name, no inherited address.
            .env_remove("OTEL_SERVICE_NAME")
            .env_remove("NAIS_APP_NAME")
            .env_remove("BIND_ADDRESS");
        for (name, value) in env {
            command.env(name, value);
        }
        let port = env
            .iter()
            .find(|(name, _)| *name == "PORT")
            .and_then(|(_, port)| port.parse().ok())
            .unwrap_or_else(|| service.default_port());
        let process = command
            .spawn()
            .map_err(|e| format!("cannot start {service} ({}): {e}", exe.display()))?;
        self.running.push(Running {
            service,
            port,
            process,
            log,
        });
        Ok(())
    }

    /// Polls each service's `/isReady` until it answers 200, failing early when
    /// a service exits.
    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let client: Client<HttpConnector, Empty<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let deadline = tokio::time::Instant::now() + timeout;
        for child in &mut self.running {
            let url = format!("http://127.0.0.1:{}/isReady", child.port);
            loop {
                if let Ok(Some(status)) = child.process.try_wait() {
                    return Err(format!(
                        "{} exited ({status}) before it was ready:\n{}",
                        child.service,
                        log_tail(&child.log)
                    ));
                }
                let request = http::Request::get(&url)
                    .body(Empty::new())
                    .map_err(|e| format!("bad URL {url}: {e}"))?;
                let ready = tokio::time::timeout(Duration::from_secs(2), client.request(request))
                    .await
                    .is_ok_and(|answer| answer.is_ok_and(|r| r.status().is_success()));
                if ready {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(format!(
                        "{} did not answer {url} within {timeout:?}:\n{}",
                        child.service,
                        log_tail(&child.log)
                    ));
                }
                // The poll interval of a readiness probe.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// SIGTERM to each service, then waits for them (a bounded time each)
    /// so they can flush their spans; kills what is left.
    fn stop(&mut self) {
        for child in &mut self.running {
            if matches!(child.process.try_wait(), Ok(None)) {
                terminate(&mut child.process);
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        for mut child in self.running.drain(..) {
            loop {
                match child.process.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        eprintln!(
                            "dogbook: {} did not stop within {STOP_TIMEOUT:?}; killing it",
                            child.service
                        );
                        let _ = child.process.kill();
                        let _ = child.process.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(unix)]
fn terminate(process: &mut Child) {
    let pid = i32::try_from(process.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    match pid {
        Some(pid) => {
            if rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_err() {
                let _ = process.kill();
            }
        }
        None => {
            let _ = process.kill();
        }
    }
}

#[cfg(not(unix))]
fn terminate(process: &mut Child) {
    let _ = process.kill();
}

/// The last lines of a service's log, for an error message.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    format!("(last lines of {})\n{tail}", path.display())
}
