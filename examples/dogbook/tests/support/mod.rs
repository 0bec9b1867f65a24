//! Shared by the end-to-end tests: an embedded collector, the three services as
//! child processes on free loopback ports, and a small blocking HTTP client.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use nais_otel_console::{Collector, Trace};

/// Generous: the tests run on a loaded two-core machine.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// A free port on 127.0.0.1 (free when this returns), outside the ephemeral range.
pub(crate) fn free_port() -> u16 {
    dogbook::free_loopback_port()
}

/// A collector for the services, with a quiet period long enough for a loaded machine.
pub(crate) fn collector() -> Collector {
    Collector::builder()
        .quiet_period(Duration::from_millis(500))
        .incomplete_timeout(Duration::from_secs(5))
        .start()
        .expect("the collector starts")
}

/// A child process that is killed (and waited for) when dropped.
#[derive(Debug)]
pub(crate) struct Process {
    pub(crate) name: &'static str,
    pub(crate) port: u16,
    pub(crate) child: Child,
}

impl Process {
    /// The base URL, `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Polls `/isReady` until it answers 200; panics if the process exits or the deadline passes.
    pub(crate) fn wait_ready(&mut self) {
        let deadline = Instant::now() + DEADLINE;
        let url = format!("{}/isReady", self.url());
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited before it was ready: {status}", self.name);
            }
            if try_get(&url).is_ok_and(|answer| answer.status == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not answer {url} within {DEADLINE:?}",
                self.name
            );
            // The poll interval of a readiness probe.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to exit, at most `timeout`.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() >= deadline => return None,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(error) => panic!("waiting for {}: {error}", self.name),
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts service `name` (a binary of this package) on a free port.
pub(crate) fn spawn_service(name: &'static str, env: &[(&str, String)]) -> Process {
    let exe = match name {
        "kennels" => env!("CARGO_BIN_EXE_kennels"),
        "inventory" => env!("CARGO_BIN_EXE_inventory"),
        "dogs" => env!("CARGO_BIN_EXE_dogs"),
        _ => panic!("no service {name}"),
    };
    let port = free_port();
    let mut command = Command::new(exe);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("NAIS_APP_NAME")
        .env_remove("BIND_ADDRESS")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env("PORT", port.to_string())
        .env("RUST_LOG", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    let child = command.spawn().expect("the service starts");
    Process { name, port, child }
}

/// The three services, exporting to a collector.
#[derive(Debug)]
pub(crate) struct DogBook {
    // Dropped first: the services, then the collector.
    pub(crate) kennels: Process,
    pub(crate) inventory: Process,
    pub(crate) dogs: Process,
    pub(crate) collector: Collector,
}

impl DogBook {
    /// Starts a collector and the three services, and waits until each is ready.
    pub(crate) fn start() -> DogBook {
        let collector = collector();
        let otel = |extra: &[(&'static str, String)]| -> Vec<(&'static str, String)> {
            let mut env = vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
                ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
            ];
            env.extend(extra.iter().cloned());
            env
        };
        let mut inventory = spawn_service("inventory", &otel(&[]));
        let mut dogs = spawn_service("dogs", &otel(&[]));
        let mut kennels = spawn_service(
            "kennels",
            &otel(&[("INVENTORY_URL", inventory.url()), ("DOGS_URL", dogs.url())]),
        );
        inventory.wait_ready();
        dogs.wait_ready();
        kennels.wait_ready();
        DogBook {
            kennels,
            inventory,
            dogs,
            collector,
        }
    }

    /// Waits until the trace `trace_id` is whole and has at least `spans` spans.
    pub(crate) fn wait_for_trace(&self, trace_id: &str, spans: usize) -> Trace {
        self.collector
            .wait_for_trace_matching(
                |t| t.trace_id == trace_id && t.is_complete() && t.len() >= spans,
                DEADLINE,
            )
            .unwrap_or_else(|e| panic!("trace {trace_id} with {spans} spans: {e}"))
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) traceparent: Option<String>,
}

impl Answer {
    /// The trace id in the `traceparent` response header.
    pub(crate) fn trace_id(&self) -> String {
        let traceparent = self
            .traceparent
            .as_deref()
            .expect("a traceparent response header");
        traceparent
            .split('-')
            .nth(1)
            .expect("a trace id in traceparent")
            .to_owned()
    }
}

/// `GET url`; panics on a transport error.
pub(crate) fn get(url: &str) -> Answer {
    try_get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// `GET url`, within a deadline.
pub(crate) fn try_get(url: &str) -> Result<Answer, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let request = http::Request::get(url)
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let call = async {
            let response = client.request(request).await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let traceparent = response
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok(Answer {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
                traceparent,
            })
        };
        tokio::time::timeout(Duration::from_secs(30), call)
            .await
            .map_err(|_| "no answer within 30 s".to_owned())?
    })
}
