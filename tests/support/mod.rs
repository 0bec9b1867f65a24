//! Shared by the fault and load tests: rotel-agent as the collector, the DogBook
//! services as child processes, the Python SDK, a raw HTTP/1.1 client and a
//! load generator. Everything listens and connects on 127.0.0.1 only.
//!
//! The DogBook services are the `dogbook` library's [`dogbook::run_service`],
//! the same function its `kennels`/`inventory`/`dogs` binaries call. Cargo only
//! tells a test where the binaries of its *own* package are
//! (`CARGO_BIN_EXE_*`), so this suite runs each service by starting its own test
//! executable again with [`CHILD_ENV`] set; the file's `dogbook_child_process`
//! test then calls `run_service` and exits. A real process, real signals, real
//! sockets, and no nested `cargo build`.

// Each test file uses a part of this module, and `pub` is what it exports to them.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Generous: the tests run on a loaded two-core machine.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Set in a child process to the DogBook service it should run.
pub const CHILD_ENV: &str = "NAIS_OTEL_SUITE_DOGBOOK_SERVICE";

/// What to do when a peer the tests need is missing.
const INSTALL_HINT: &str = "run `bash scripts/test.sh`, which installs rotel and the OpenTelemetry Python SDK into .venv and exports NAIS_OTEL_PYTHON and ROTEL_AGENT";

// === peers ===

/// The rotel-agent binary from `ROTEL_AGENT`; panics with how to get it.
pub fn rotel_agent() -> PathBuf {
    let path = std::env::var_os("ROTEL_AGENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("ROTEL_AGENT is not set: {INSTALL_HINT}"));
    assert!(
        path.is_file(),
        "ROTEL_AGENT={} is not a file: {INSTALL_HINT}",
        path.display()
    );
    path
}

/// The Python interpreter with the OpenTelemetry SDK, from `NAIS_OTEL_PYTHON`;
/// panics with how to get it.
pub fn python() -> PathBuf {
    let path = std::env::var_os("NAIS_OTEL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("NAIS_OTEL_PYTHON is not set: {INSTALL_HINT}"));
    let check = Command::new(&path)
        .args([
            "-c",
            "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc",
        ])
        .output()
        .unwrap_or_else(|e| panic!("NAIS_OTEL_PYTHON={}: {e}: {INSTALL_HINT}", path.display()));
    assert!(
        check.status.success(),
        "NAIS_OTEL_PYTHON={} lacks the OpenTelemetry SDK ({}): {INSTALL_HINT}",
        path.display(),
        String::from_utf8_lossy(&check.stderr)
    );
    path
}

/// A free port on 127.0.0.1 (free when this returns), below the kernel's ephemeral range
/// so that no outgoing connection of a parallel test takes it before the child binds it
/// (see `dogbook::free_loopback_port`).
pub fn free_port() -> u16 {
    dogbook::free_loopback_port()
}

/// A fresh directory under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates it.
    pub fn new(what: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "nais-otel-suite-{what}-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// === output capture ===

/// The lines a child process wrote (stdout and stderr), filled by reader
/// threads, with a condition variable to wait on.
#[derive(Clone, Debug, Default)]
pub struct Output {
    inner: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl Output {
    fn capture<R: Read + Send + 'static>(&self, stream: R) {
        let output = self.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&line);
                        let text = text.trim_end_matches(['\n', '\r']).to_owned();
                        let (lines, changed) = &*output.inner;
                        lines.lock().unwrap().push(text);
                        changed.notify_all();
                    }
                }
            }
        });
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.inner.0.lock().unwrap().clone()
    }

    /// How many lines so far.
    pub fn len(&self) -> usize {
        self.inner.0.lock().unwrap().len()
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every line so far, joined.
    pub fn text(&self) -> String {
        self.lines().join("\n")
    }

    /// Lines containing `needle`.
    pub fn matching(&self, needle: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|line| line.contains(needle))
            .collect()
    }

    /// Waits until `done` holds for the lines so far; `None` after `timeout`.
    pub fn wait_until<T>(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&[String]) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let (lines, changed) = &*self.inner;
        let mut guard = lines.lock().unwrap();
        loop {
            if let Some(value) = done(&guard) {
                return Some(value);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            guard = changed.wait_timeout(guard, left).unwrap().0;
        }
    }

    /// Waits for a line containing `needle`; panics with the output after `timeout`.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> String {
        self.wait_until(timeout, |lines| {
            lines.iter().find(|line| line.contains(needle)).cloned()
        })
        .unwrap_or_else(|| {
            panic!(
                "no line with {needle:?} within {timeout:?}; output:\n{}",
                self.text()
            )
        })
    }
}

// === child processes ===

/// A child process, its output captured; killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Proc {
    /// For messages.
    pub name: String,
    /// The process.
    pub child: Child,
    /// What it wrote.
    pub output: Output,
}

impl Proc {
    /// Starts `command` with stdout and stderr captured.
    pub fn spawn(name: &str, mut command: Command) -> Proc {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let output = Output::default();
        output.capture(child.stdout.take().expect("stdout"));
        output.capture(child.stderr.take().expect("stderr"));
        Proc {
            name: name.to_owned(),
            child,
            output,
        }
    }

    fn pid(&self) -> rustix::process::Pid {
        i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .expect("a pid")
    }

    /// Sends SIGTERM (what NAIS sends a pod).
    pub fn sigterm(&self) {
        rustix::process::kill_process(self.pid(), rustix::process::Signal::TERM)
            .unwrap_or_else(|e| panic!("SIGTERM to {}: {e}", self.name));
    }

    /// Sends SIGINT (what Ctrl-C sends).
    pub fn sigint(&self) {
        rustix::process::kill_process(self.pid(), rustix::process::Signal::INT)
            .unwrap_or_else(|e| panic!("SIGINT to {}: {e}", self.name));
    }

    /// Sends SIGTERM and asserts a clean exit within [`DEADLINE`].
    pub fn stop_cleanly(&mut self) {
        self.sigterm();
        let status = self
            .wait_exit(DEADLINE)
            .unwrap_or_else(|| panic!("{} does not exit after SIGTERM", self.name));
        assert!(status.success(), "{}: {status}", self.name);
    }

    /// Sends SIGKILL and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to exit, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() >= deadline => return None,
                // Polling is the only portable way to wait with a deadline.
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(error) => panic!("waiting for {}: {error}", self.name),
            }
        }
    }

    /// Panics (with its output) if the process has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited ({status}); output:\n{}",
                self.name,
                self.output.text()
            );
        }
    }

    /// A `kB` field of `/proc/<pid>/status`: `VmRSS` (now) or `VmHWM` (peak).
    pub fn status_kib(&self, field: &str) -> u64 {
        proc_status_kib(&format!("/proc/{}/status", self.child.id()), field)
    }

    /// Waits until a TCP connection to `port` on 127.0.0.1 succeeds.
    pub fn wait_listening(&mut self, port: u16) {
        let deadline = Instant::now() + DEADLINE;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        loop {
            self.assert_running();
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} does not listen on {addr} after {DEADLINE:?}; output:\n{}",
                self.name,
                self.output.text()
            );
            // The poll interval of a readiness probe.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls `GET /isReady` until it answers 200, like a readiness probe.
    pub fn wait_ready(&mut self, port: u16) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            self.assert_running();
            if get(port, "/isReady", &[]).is_ok_and(|r| r.status == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} is not ready after {DEADLINE:?}; output:\n{}",
                self.name,
                self.output.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `kB` field of a `/proc/.../status` file.
pub fn proc_status_kib(path: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    status
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.trim().trim_end_matches("kB").trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("no {field} in {path}"))
}

// === DogBook services ===

/// One DogBook service in a child process.
#[derive(Debug)]
pub struct Service {
    /// The process.
    pub proc: Proc,
    /// Where it listens on 127.0.0.1.
    pub port: u16,
}

impl Service {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Runs the DogBook service named in [`CHILD_ENV`], if set, and exits; does
/// nothing otherwise. Each test file that starts services calls it from a test
/// named `dogbook_child_process`.
pub fn dogbook_child_main() {
    let Ok(name) = std::env::var(CHILD_ENV) else {
        return;
    };
    let service =
        dogbook::Service::from_name(&name).unwrap_or_else(|| panic!("no DogBook service {name}"));
    let code = dogbook::run_service(service);
    std::process::exit(if code == std::process::ExitCode::SUCCESS {
        0
    } else {
        1
    });
}

/// The environment NAIS gives a pod of `app` with tracing on (see
/// `shared/nais.md`), the collector endpoint pointing at `endpoint`.
/// `BIND_ADDRESS` is loopback here, the only difference from NAIS's `0.0.0.0`.
pub fn nais_env(app: &str, port: u16, endpoint: &str) -> Vec<(&'static str, String)> {
    let namespace = "dogbook";
    let cluster = "dev-gcp";
    let tag = "2024.11.21-abc1234";
    let pod = format!("{app}-7d9f8c6b5-x2x4q");
    vec![
        ("OTEL_SERVICE_NAME", app.to_owned()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            format!(
                "service.name={app},service.namespace={namespace},nais.backend=grafana-lgtm,\
                 k8s.container.name={app},k8s.deployment.name={app},k8s.namespace.name={namespace},\
                 k8s.node.name=gke-dev-gcp-node-1,k8s.pod.name={pod},k8s.replicaset.name={app}-7d9f8c6b5,\
                 service.instance.id={pod},service.version={tag}"
            ),
        ),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.to_owned()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true".to_owned()),
        ("OTEL_PROPAGATORS", "tracecontext,baggage".to_owned()),
        ("OTEL_TRACES_SAMPLER", "parentbased_always_on".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
        ("NAIS_APP_NAME", app.to_owned()),
        ("NAIS_NAMESPACE", namespace.to_owned()),
        (
            "NAIS_APP_IMAGE",
            format!("europe-north1-docker.pkg.dev/nais/dogbook/{app}:{tag}"),
        ),
        ("NAIS_CLUSTER_NAME", cluster.to_owned()),
        ("NAIS_CLIENT_ID", format!("{cluster}:{namespace}:{app}")),
        ("NAIS_POD_NAME", pod),
        ("PORT", port.to_string()),
        ("BIND_ADDRESS", format!("127.0.0.1:{port}")),
    ]
}

/// Inventory, dogs and kennels with the NAIS environment plus `extra`, all
/// exporting to `endpoint`, each ready.
#[derive(Debug)]
pub struct DogBook {
    /// Calls the other two.
    pub kennels: Service,
    /// Kennels' dog ids.
    pub inventory: Service,
    /// Dogs' names.
    pub dogs: Service,
}

impl DogBook {
    /// Starts the three, callees first, and waits until each is ready.
    pub fn start(endpoint: &str, extra: &[(&str, String)]) -> DogBook {
        let mut inventory = spawn_service("inventory", endpoint, extra);
        let mut dogs = spawn_service("dogs", endpoint, extra);
        let mut kennels_env = extra.to_vec();
        kennels_env.push(("INVENTORY_URL", inventory.url()));
        kennels_env.push(("DOGS_URL", dogs.url()));
        let mut kennels = spawn_service("kennels", endpoint, &kennels_env);
        inventory.proc.wait_ready(inventory.port);
        dogs.proc.wait_ready(dogs.port);
        kennels.proc.wait_ready(kennels.port);
        DogBook {
            kennels,
            inventory,
            dogs,
        }
    }
}

/// Starts DogBook service `app` with the NAIS environment plus `extra` (later
/// entries win), exporting to `endpoint`.
pub fn spawn_service(app: &str, endpoint: &str, extra: &[(&str, String)]) -> Service {
    let port = free_port();
    // Later entries win.
    let env: HashMap<&str, String> = nais_env(app, port, endpoint)
        .into_iter()
        .chain(extra.iter().cloned())
        .collect();
    let exe = std::env::current_exe().expect("the test executable");
    let mut command = Command::new(exe);
    command
        .args([
            "--exact",
            "dogbook_child_process",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env_clear()
        .envs(env)
        .env(CHILD_ENV, app);
    Service {
        proc: Proc::spawn(app, command),
        port,
    }
}

// === rotel ===

/// rotel-agent on loopback, discarding what it receives (`--exporter
/// blackhole`) after printing every span (`--debug-log traces
/// --debug-log-verbosity detailed`).
#[derive(Debug)]
pub struct Rotel {
    /// The process; its output is the record of what arrived.
    pub proc: Proc,
    /// The OTLP/gRPC port.
    pub port: u16,
    _dir: TempDir,
}

impl Rotel {
    /// Starts rotel on a free port.
    pub fn start() -> Rotel {
        Rotel::start_on(free_port())
    }

    /// Starts rotel with OTLP/gRPC on `port` and waits until it listens.
    pub fn start_on(port: u16) -> Rotel {
        let dir = TempDir::new("rotel");
        let mut command = Command::new(rotel_agent());
        command
            .arg("start")
            .arg("--otlp-grpc-endpoint")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--otlp-http-endpoint")
            .arg(format!("127.0.0.1:{}", free_port()))
            .args(["--exporter", "blackhole"])
            .args(["--debug-log", "traces"])
            .args(["--debug-log-verbosity", "detailed"])
            .arg("--pid-file")
            .arg(dir.0.join("rotel.pid"))
            .arg("--log-file")
            .arg(dir.0.join("rotel.log"))
            .env("NO_COLOR", "1");
        let mut proc = Proc::spawn("rotel-agent", command);
        proc.wait_listening(port);
        Rotel {
            proc,
            port,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:<port>`, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The spans rotel printed so far.
    pub fn spans(&self) -> Vec<RotelSpan> {
        parse_rotel(&self.proc.output.lines())
    }

    /// Waits until `done` holds for the spans printed so far; panics after `timeout`.
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&[RotelSpan]) -> Option<T>,
    ) -> T {
        let mut parser = RotelParser::default();
        self.proc
            .output
            .wait_until(timeout, |lines| {
                parser.feed(lines);
                parser.with_spans(&mut done)
            })
            .unwrap_or_else(|| {
                let spans = self.spans();
                panic!(
                    "rotel did not receive {what} within {timeout:?}; it has {} spans:\n{}",
                    spans.len(),
                    summary(&spans)
                )
            })
    }

    /// Waits until rotel has at least `count` spans of trace `trace_id`, and
    /// no new line arrived for a moment (the last span's attributes come after
    /// its fields, a line at a time); returns them.
    pub fn wait_for_trace(&self, trace_id: &str, count: usize) -> Vec<RotelSpan> {
        let of_trace = |spans: &[RotelSpan]| -> Vec<RotelSpan> {
            spans
                .iter()
                .filter(|s| s.trace_id == trace_id)
                .cloned()
                .collect()
        };
        self.wait_for(
            &format!("{count} spans of trace {trace_id}"),
            DEADLINE,
            |spans| (of_trace(spans).len() >= count).then_some(()),
        );
        // Until the output is quiet: each wait ends at the next line, or after the pause.
        loop {
            let seen = self.proc.output.len();
            let more = self
                .proc
                .output
                .wait_until(Duration::from_millis(300), |lines| {
                    (lines.len() > seen).then_some(())
                });
            if more.is_none() {
                return of_trace(&self.spans());
            }
        }
    }
}

/// One span as rotel printed it: ids in hex, attribute values as printed
/// (`Str(x)` gives `x`, `Int(200)` gives `200`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RotelSpan {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// Empty for a root.
    pub parent_id: String,
    /// The span's name.
    pub name: String,
    /// `SPAN_KIND_SERVER` and so on.
    pub kind: String,
    /// The span's attributes.
    pub attributes: Vec<(String, String)>,
    /// Its resource's attributes.
    pub resource: Vec<(String, String)>,
}

impl RotelSpan {
    /// A span attribute.
    pub fn attr(&self, key: &str) -> Option<&str> {
        lookup(&self.attributes, key)
    }

    /// A resource attribute.
    pub fn res(&self, key: &str) -> Option<&str> {
        lookup(&self.resource, key)
    }

    /// `service.name`.
    pub fn service(&self) -> &str {
        self.res("service.name").unwrap_or("")
    }

    /// One line for messages.
    pub fn summary(&self) -> String {
        format!(
            "{} {} parent={} {} {} [{}]",
            self.trace_id,
            self.span_id,
            self.parent_id,
            self.service(),
            self.kind,
            self.name
        )
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Parses rotel's `--debug-log traces --debug-log-verbosity detailed` output:
///
/// ```text
/// ResourceSpans #0
/// Resource attributes:
///      -> service.name: Str(kennels)
/// ScopeSpans #0
/// Span #0
///     Trace ID       : 218a...
///     Parent ID      : 20f2...
///     ID             : 4461...
///     Name           : child
///     Kind           : SPAN_KIND_INTERNAL
/// Attributes:
///      -> url.path: Str(/a)
/// ```
///
/// Lines it does not know (log lines, events, multi-line values) are skipped. A last
/// record without its `Kind` yet is left out: rotel's output is read as it is written.
pub fn parse_rotel(lines: &[String]) -> Vec<RotelSpan> {
    let mut parser = RotelParser::default();
    parser.feed(lines);
    parser.spans_so_far()
}

/// Where [`RotelParser`] is in a record.
#[derive(Debug, Default, PartialEq)]
enum Section {
    Resource,
    Span,
    #[default]
    Other,
}

/// [`parse_rotel`] a line at a time, so a wait reads each line of rotel's output once,
/// not all of it again each time a line comes.
#[derive(Debug, Default)]
pub struct RotelParser {
    /// The records ended so far.
    spans: Vec<RotelSpan>,
    resource: Vec<(String, String)>,
    current: Option<RotelSpan>,
    section: Section,
    /// How many lines it has read.
    read: usize,
}

impl RotelParser {
    /// Reads the lines of `lines` past those it has read.
    pub fn feed(&mut self, lines: &[String]) {
        for line in &lines[self.read.min(lines.len())..] {
            self.line(line);
        }
        self.read = lines.len();
    }

    /// Calls `f` with the spans read so far, the last record too once its `Kind` is in.
    pub fn with_spans<T>(&mut self, f: impl FnOnce(&[RotelSpan]) -> T) -> T {
        let last = self.current.as_ref().filter(|span| !span.kind.is_empty());
        match last {
            Some(last) => {
                self.spans.push(last.clone());
                let value = f(&self.spans);
                self.spans.pop();
                value
            }
            None => f(&self.spans),
        }
    }

    /// The spans read so far, as [`with_spans`](Self::with_spans) sees them.
    pub fn spans_so_far(&mut self) -> Vec<RotelSpan> {
        self.with_spans(<[RotelSpan]>::to_vec)
    }

    fn line(&mut self, line: &str) {
        let trimmed = line.trim();
        if line.starts_with("ResourceSpans #") {
            self.spans.extend(self.current.take());
            self.resource.clear();
            self.section = Section::Other;
        } else if line.starts_with("Resource attributes:") {
            self.section = Section::Resource;
        } else if line.starts_with("ScopeSpans #") {
            self.spans.extend(self.current.take());
            self.section = Section::Other;
        } else if line.starts_with("Span #") {
            self.spans.extend(self.current.take());
            self.current = Some(RotelSpan {
                resource: self.resource.clone(),
                ..RotelSpan::default()
            });
            self.section = Section::Other;
        } else if line.starts_with("Attributes:") && self.current.is_some() {
            self.section = Section::Span;
        } else if let Some(pair) = trimmed.strip_prefix("-> ") {
            let Some((key, value)) = pair.split_once(": ") else {
                return;
            };
            let value = match value.split_once('(') {
                Some((_, rest)) => rest.strip_suffix(')').unwrap_or(rest),
                None => value,
            };
            let pair = (key.to_owned(), value.to_owned());
            match (&self.section, self.current.as_mut()) {
                (Section::Resource, _) => self.resource.push(pair),
                (Section::Span, Some(span)) => span.attributes.push(pair),
                _ => {}
            }
        } else if let (Some(span), Some((field, value))) =
            (self.current.as_mut(), line.split_once(':'))
        {
            let value = value.trim().to_owned();
            match field.trim() {
                "Trace ID" => span.trace_id = value,
                "Parent ID" => span.parent_id = value,
                "ID" => span.span_id = value,
                "Name" => span.name = value,
                "Kind" => span.kind = value,
                // `Events:`, `Links:` and the like: the attributes that follow are not the span's.
                _ if !line.starts_with(' ') && !field.ends_with(" time") => {
                    self.section = Section::Other;
                }
                _ => {}
            }
        } else if !line.starts_with(' ') && !trimmed.is_empty() {
            self.section = Section::Other;
        }
    }
}

// === HTTP ===

/// An HTTP answer.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text (not de-chunked).
    pub body: String,
}

impl Response {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        lookup(&self.headers, name)
    }

    /// The trace id of the `traceparent` response header.
    pub fn trace_id(&self) -> String {
        self.header("traceparent")
            .and_then(|tp| tp.split('-').nth(1))
            .unwrap_or_else(|| panic!("no traceparent response header: {self:?}"))
            .to_owned()
    }
}

/// `GET path` from 127.0.0.1:`port` over a fresh connection, with `headers`;
/// an error for anything but a complete HTTP answer within 30 s.
pub fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let timeout = Duration::from_secs(30);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(timeout)).ok();
    stream.set_write_timeout(Some(timeout)).ok();
    stream.set_nodelay(true).ok();
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("an incomplete answer: {raw:?}"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status line: {raw:?}"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// `GET path`, panicking on a transport error.
pub fn must_get(port: u16, path: &str) -> Response {
    get(port, path, &[]).unwrap_or_else(|e| panic!("GET 127.0.0.1:{port}{path}: {e}"))
}

// === load ===

/// One request made by a [`Load`].
#[derive(Clone, Debug)]
pub struct Sample {
    /// When it was sent.
    pub sent: Instant,
    /// How long the answer took.
    pub latency: Duration,
    /// The answer's status and trace id, or the transport error.
    pub result: Result<(u16, Option<String>), String>,
}

/// Clients sending `GET path` in a loop on `threads` threads until stopped.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    workers: Vec<JoinHandle<Vec<Sample>>>,
}

impl Load {
    /// Starts `threads` clients, each waiting `pause` between requests.
    pub fn start(port: u16, path: &str, threads: usize, pause: Duration) -> Load {
        Load::start_inner(port, path, threads, pause, false)
    }

    /// As [`Load::start`], each request with a `traceparent` of a fresh trace
    /// (sampled), whose id the sample records: for services that send no
    /// `traceparent` response header.
    pub fn start_traced(port: u16, path: &str, threads: usize) -> Load {
        Load::start_inner(port, path, threads, Duration::ZERO, true)
    }

    fn start_inner(port: u16, path: &str, threads: usize, pause: Duration, traced: bool) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent_count = Arc::new(AtomicUsize::new(0));
        let workers = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                let sent_count = sent_count.clone();
                let path = path.to_owned();
                std::thread::spawn(move || {
                    let mut samples = Vec::new();
                    // Bounded: at most ten minutes of requests.
                    let end = Instant::now() + Duration::from_secs(600);
                    while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                        let sent = Instant::now();
                        let ours = traced.then(new_traceparent);
                        let headers: Vec<(&str, &str)> =
                            ours.iter().map(|tp| ("traceparent", tp.as_str())).collect();
                        let result = get(port, &path, &headers).map(|r| {
                            let trace = r
                                .header("traceparent")
                                .or(ours.as_deref())
                                .and_then(|tp| tp.split('-').nth(1))
                                .map(str::to_owned);
                            (r.status, trace)
                        });
                        sent_count.fetch_add(1, Ordering::Relaxed);
                        samples.push(Sample {
                            sent,
                            latency: sent.elapsed(),
                            result,
                        });
                        if !pause.is_zero() {
                            // Paces the client: this is the load's rate, not synchronisation.
                            std::thread::sleep(pause);
                        }
                    }
                    samples
                })
            })
            .collect();
        Load {
            stop,
            sent: sent_count,
            workers,
        }
    }

    /// Requests answered (or failed) so far.
    pub fn count(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// Runs until `requests` were made or `timeout` passed.
    pub fn run_until(&self, requests: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.count() < requests && Instant::now() < deadline {
            // Checking a counter while the clients run; not a synchronisation.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the clients and returns every request, in the order sent.
    pub fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        let mut samples: Vec<Sample> = self
            .workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("a load thread"))
            .collect();
        samples.sort_by_key(|s| s.sent);
        samples
    }
}

/// A `traceparent` of a fresh trace, sampled: unique within this process.
pub fn new_traceparent() -> String {
    static COUNT: AtomicUsize = AtomicUsize::new(1);
    let count = COUNT.fetch_add(1, Ordering::Relaxed) as u64;
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id()) << 32;
    format!("00-{start:016x}{count:016x}-{count:016x}-01")
}

// === held-open connections ===

/// A keep-alive connection that has made one request, had its answer, and
/// now sits idle, as a browser's or a connection pool's does.
#[derive(Debug)]
pub struct IdleConnection {
    stream: TcpStream,
    /// The answer to its one request.
    pub response: Response,
}

impl IdleConnection {
    /// Opens a connection to 127.0.0.1:`port`, sends `GET path` (HTTP/1.1,
    /// keep-alive) with `headers`, and reads the answer (by `Content-Length`).
    pub fn open(port: u16, path: &str, headers: &[(&str, &str)]) -> IdleConnection {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut stream = TcpStream::connect_timeout(&addr, DEADLINE).expect("connect");
        stream.set_read_timeout(Some(DEADLINE)).ok();
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).expect("send");
        let mut raw = Vec::new();
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut byte).expect("read the answer's head");
            assert_eq!(n, 1, "the connection closed in the answer's head: {raw:?}");
            raw.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&raw).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {head:?}"));
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let length: usize = lookup(&headers, "content-length")
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("no Content-Length: {head:?}"));
        let mut body = vec![0u8; length];
        stream
            .read_exact(&mut body)
            .expect("read the answer's body");
        IdleConnection {
            stream,
            response: Response {
                status,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            },
        }
    }

    /// Waits until the server closes the connection; `false` after `timeout`.
    pub fn wait_closed(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 256];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.stream.set_read_timeout(Some(left)).ok();
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return false
                }
                Err(_) => return true,
            }
        }
    }
}

/// A client that sends its request one byte a second (slower than any
/// drain), on a thread of its own, until stopped or the server closes.
#[derive(Debug)]
pub struct SlowClient {
    stop: Arc<AtomicBool>,
    worker: JoinHandle<usize>,
}

impl SlowClient {
    /// Connects to 127.0.0.1:`port` and returns once the first byte of
    /// `GET path` is sent.
    pub fn start(port: u16, path: &str) -> SlowClient {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut stream = TcpStream::connect_timeout(&addr, DEADLINE).expect("connect");
        stream.set_nodelay(true).ok();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: {}\r\n\r\n",
            "x".repeat(600)
        );
        stream
            .write_all(&request.as_bytes()[..1])
            .expect("the first byte");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let worker = std::thread::spawn(move || {
            let mut sent = 1;
            for byte in &request.as_bytes()[1..] {
                // One byte a second is what this client is.
                std::thread::sleep(Duration::from_secs(1));
                if stopped.load(Ordering::Relaxed) || stream.write_all(&[*byte]).is_err() {
                    break;
                }
                sent += 1;
            }
            sent
        });
        SlowClient { stop, worker }
    }

    /// Stops it; returns how many bytes it sent.
    pub fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.worker.join().expect("the slow client")
    }
}

// === SIGTERM under load, with held-open connections ===

/// What [`sigterm_under_load`] saw.
#[derive(Debug)]
pub struct SigtermRun {
    /// The trace id of every request answered 200, the idle connection's included.
    pub answered: Vec<String>,
    /// From the last answer before SIGTERM to SIGTERM.
    pub last_answer_to_sigterm: Duration,
    /// From SIGTERM to the server closing the idle keep-alive connection.
    pub idle_closed_after: Option<Duration>,
    /// From SIGTERM to the exit.
    pub exit_after: Duration,
    /// How the process exited.
    pub status: ExitStatus,
    /// Requests the load made.
    pub requests: usize,
}

/// Runs the shutdown NAIS does, against `proc` serving `path` on `port`: four
/// clients in a loop (with `traceparent`s of their own if `traced`), an idle
/// keep-alive connection that had one answer, and a [`SlowClient`]; SIGTERM
/// while the clients still run (after at least `requests` requests); then
/// waits for the exit (panics with the output if it takes longer than
/// `exit_within`). Asserts that every request was answered 200 or refused.
pub fn sigterm_under_load(
    proc: &mut Proc,
    port: u16,
    path: &str,
    traced: bool,
    requests: usize,
    exit_within: Duration,
) -> SigtermRun {
    let load = if traced {
        Load::start_traced(port, path, 4)
    } else {
        Load::start(port, path, 4, Duration::ZERO)
    };
    load.run_until(requests, DEADLINE);
    let ours = traced.then(new_traceparent);
    let headers: Vec<(&str, &str)> = ours.iter().map(|tp| ("traceparent", tp.as_str())).collect();
    let mut idle = IdleConnection::open(port, path, &headers);
    assert_eq!(idle.response.status, 200, "{:?}", idle.response);
    let idle_trace = idle
        .response
        .header("traceparent")
        .or(ours.as_deref())
        .and_then(|tp| tp.split('-').nth(1))
        .expect("a trace id")
        .to_owned();
    let slow = SlowClient::start(port, path);
    // SIGTERM while the clients run: requests are in flight when it comes.
    load.run_until(load.count() + 20, DEADLINE);
    let sigterm = Instant::now();
    proc.sigterm();
    let idle_closed_after = idle
        .wait_closed(Duration::from_secs(10))
        .then(|| sigterm.elapsed());
    // The requests in flight finish (or fail); no new ones, which would only
    // be refused.
    let samples = load.stop();
    let status = proc.wait_exit(exit_within + DEADLINE);
    let exit_after = sigterm.elapsed();
    slow.stop();
    let status = status.unwrap_or_else(|| {
        panic!(
            "{} still runs {exit_after:?} after SIGTERM; output:\n{}",
            proc.name,
            proc.output.text()
        )
    });
    assert!(
        exit_after <= exit_within,
        "{} exited {exit_after:?} after SIGTERM, more than {exit_within:?}; output:\n{}",
        proc.name,
        proc.output.text()
    );
    let last_answer = samples
        .iter()
        .filter(|s| s.result.is_ok())
        .map(|s| s.sent + s.latency)
        .filter(|&answered| answered <= sigterm)
        .max()
        .expect("answers before SIGTERM");
    // After SIGTERM new connections are refused; nothing else may fail.
    let odd: Vec<_> = samples
        .iter()
        .filter(|s| matches!(s.result, Ok((status, _)) if status != 200))
        .collect();
    assert!(odd.is_empty(), "{odd:#?}");
    let mut answered: Vec<String> = samples
        .iter()
        .filter_map(|s| match &s.result {
            Ok((200, Some(trace))) => Some(trace.clone()),
            _ => None,
        })
        .collect();
    answered.push(idle_trace);
    SigtermRun {
        answered,
        last_answer_to_sigterm: sigterm - last_answer,
        idle_closed_after,
        exit_after,
        status,
        requests: samples.len(),
    }
}

/// The `p`-th percentile (0-100) of `latencies`.
pub fn percentile(latencies: &[Duration], p: f64) -> Duration {
    assert!(!latencies.is_empty(), "no samples");
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// One line a span, for assertion messages.
pub fn summary(spans: &[RotelSpan]) -> String {
    spans
        .iter()
        .map(RotelSpan::summary)
        .collect::<Vec<_>>()
        .join("\n")
}
