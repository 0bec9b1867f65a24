//! Export throughput and memory: our provider against the stock
//! opentelemetry-otlp pipeline (tonic exporter, SDK BatchSpanProcessor, both at
//! their defaults), both sending to rotel-agent over loopback gRPC.
//!
//! Run with `ROTEL_AGENT=... cargo bench -p nais-otel-suite --bench export_throughput`
//! (`bash scripts/test.sh` installs rotel; see `docs/benchmarks.md`). It prints:
//!
//! 1. criterion's time to make and end one span through each pipeline (the
//!    request-path cost);
//! 2. a table of spans a second from one thread, for `BURST`, through each
//!    pipeline, and how many of them the collector never got;
//! 3. a sustained 20,000 spans a second for `SUSTAIN` through our defaults:
//!    the drops (target: none);
//! 4. requests of the realistic handler's shape (three nested `#[instrument]`
//!    spans and an `info!` event) made flat out from one thread for `BURST`,
//!    under the subscriber `init()` builds with each bridge (nais-otel's, and
//!    tracing-opentelemetry's), exporting to rotel: spans made and delivered;
//! 5. with `EXPORT_BENCH_OUTAGE_SECS=N` (default 10; 60 for a full minute),
//!    the peak RSS of a process making 20,000 spans a second for N seconds with
//!    the collector down, against the queue size. It runs first, so the peak is
//!    the outage's.
//! 6. realistic handler requests (`http_layer`'s router: a server layer, three nested
//!    `#[instrument]` spans and an `info!`) served at `EXPORT_BENCH_HANDLER_RATE` a
//!    second (5 000 by default; a rate above what a stack can serve, such as
//!    `100000000`, serves flat out) for `PACED` by each stack on its documented setup,
//!    log output and export to rotel included: the process's CPU time a request (every
//!    thread), the request thread's and the wall-clock time a request, in `ROUNDS`
//!    alternating rounds.
//!
//! `NAIS_OTEL_MASK=false` turns masking off in our pipeline (the only variable it
//! reads), to measure what masking costs.

use std::net::{Ipv4Addr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
#[allow(dead_code)] // the HTTP benches' set-up: this bench uses its router and driver
#[path = "support/http.rs"]
mod support;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};

const BURST: Duration = Duration::from_secs(3);
const SUSTAIN: Duration = Duration::from_secs(5);
const RATE: u64 = 20_000;

fn free_port() -> u16 {
    dogbook::free_loopback_port()
}

/// rotel-agent, discarding what it receives; killed on drop.
struct Rotel {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Rotel {
    fn start() -> Rotel {
        let agent = std::env::var("ROTEL_AGENT")
            .expect("ROTEL_AGENT is not set: run `bash scripts/test.sh` (it installs rotel into .venv) and export ROTEL_AGENT as it does");
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("export-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let child = Command::new(agent)
            .arg("start")
            .arg("--otlp-grpc-endpoint")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--otlp-http-endpoint")
            .arg(format!("127.0.0.1:{}", free_port()))
            .args(["--exporter", "blackhole"])
            .arg("--pid-file")
            .arg(dir.join("pid"))
            .arg("--log-file")
            .arg(dir.join("log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rotel-agent starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(Instant::now() < deadline, "rotel-agent does not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Rotel { child, port, dir }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The stock exporter, counting the spans the collector accepted.
#[derive(Debug)]
struct Counting<E> {
    inner: E,
    exported: Arc<AtomicU64>,
}

impl<E: SpanExporter> SpanExporter for Counting<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len() as u64;
        let result = self.inner.export(batch).await;
        if result.is_ok() {
            self.exported.fetch_add(n, Ordering::Relaxed);
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// One of the two pipelines, and how to read what it exported.
enum Pipeline {
    Ours(Box<nais_otel::Guard>),
    Stock {
        provider: SdkTracerProvider,
        exported: Arc<AtomicU64>,
        _runtime: tokio::runtime::Runtime,
    },
}

impl Pipeline {
    fn ours(endpoint: &str) -> Pipeline {
        let guard = nais_otel::builder()
            // Only `NAIS_OTEL_MASK` passes (`false` measures what masking costs).
            .with_env_lookup(|key| {
                (key == "NAIS_OTEL_MASK")
                    .then(|| std::env::var(key).ok())
                    .flatten()
            })
            .with_globals(false)
            .with_service_name("bench")
            .with_endpoint(endpoint)
            .init()
            .expect("init");
        Pipeline::Ours(Box::new(guard))
    }

    fn stock(endpoint: &str) -> Pipeline {
        let (provider, exported, runtime) = stock_provider(endpoint);
        Pipeline::Stock {
            provider,
            exported,
            _runtime: runtime,
        }
    }

    fn provider(&self) -> &SdkTracerProvider {
        match self {
            Pipeline::Ours(guard) => guard.provider().expect("a provider"),
            Pipeline::Stock { provider, .. } => provider,
        }
    }

    /// Shuts down; returns the spans the collector accepted.
    fn finish(self) -> u64 {
        match self {
            Pipeline::Ours(guard) => guard.shutdown().exported,
            Pipeline::Stock {
                provider, exported, ..
            } => {
                let _ = provider.shutdown_with_timeout(Duration::from_secs(30));
                exported.load(Ordering::Relaxed)
            }
        }
    }
}

/// The stock pipeline as opentelemetry-otlp's docs set it up: the tonic exporter built
/// inside a tokio runtime that is kept, the SDK's batch processor; with the count of spans
/// the collector accepted.
fn stock_provider(endpoint: &str) -> (SdkTracerProvider, Arc<AtomicU64>, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let exported = Arc::new(AtomicU64::new(0));
    let provider = runtime.block_on(async {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .expect("the stock exporter");
        SdkTracerProvider::builder()
            .with_batch_exporter(Counting {
                inner: exporter,
                exported: exported.clone(),
            })
            .build()
    });
    (provider, exported, runtime)
}

fn span(tracer: &opentelemetry_sdk::trace::SdkTracer, i: u64) {
    let mut span = tracer.start("GET /api/v1/dogs");
    span.set_attribute(opentelemetry::KeyValue::new("http.route", "/api/v1/dogs"));
    span.set_attribute(opentelemetry::KeyValue::new("dog.id", i as i64));
    span.end();
}

/// Makes spans as fast as one thread can (`rate` = None) or at `rate` a
/// second, for `duration`; returns (made, exported, seconds).
fn run(pipeline: Pipeline, duration: Duration, rate: Option<u64>) -> (u64, u64, f64) {
    let tracer = pipeline.provider().tracer("bench");
    let start = Instant::now();
    let mut made = 0u64;
    while start.elapsed() < duration {
        match rate {
            None => {
                for _ in 0..1_000 {
                    span(&tracer, made);
                    made += 1;
                }
            }
            Some(rate) => {
                // 1 ms ticks: catch up to where the rate says we should be.
                let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
                while made < due {
                    span(&tracer, made);
                    made += 1;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let exported = pipeline.finish();
    (made, exported, seconds)
}

#[tracing::instrument]
fn load_owner(owner_id: u64, region: &str) -> usize {
    find_dogs(owner_id, 20)
}

#[tracing::instrument]
fn find_dogs(owner_id: u64, limit: u32) -> usize {
    render(3, true)
}

#[tracing::instrument]
fn render(count: usize, compact: bool) -> usize {
    tracing::info!(count, "rendered the dogs");
    count
}

/// Requests of the realistic handler's shape made flat out for `duration` under the
/// subscriber `init()` builds with `bridge` (JSON log lines to nowhere), exporting to
/// `endpoint`; returns (requests, spans made, spans exported, seconds).
fn bridge_burst(
    endpoint: &str,
    bridge: nais_otel::bridge::Bridge,
    duration: Duration,
) -> (u64, u64, u64, f64) {
    let guard = nais_otel::builder()
        .with_env_lookup(|_| None)
        .with_globals(false)
        .with_service_name("bench")
        .with_endpoint(endpoint)
        .with_bridge(bridge)
        .with_log_format(nais_otel::config::LogFormat::Json)
        .with_log_writer(std::io::sink)
        .init()
        .expect("init");
    let subscriber = guard
        .subscriber()
        .expect("init() builds its subscriber")
        .clone();
    let start = Instant::now();
    let mut requests = 0u64;
    tracing::dispatcher::with_default(&subscriber, || {
        while start.elapsed() < duration {
            for _ in 0..100 {
                std::hint::black_box(load_owner(requests, "eu-north"));
                requests += 1;
            }
        }
    });
    let seconds = start.elapsed().as_secs_f64();
    let counts = guard.shutdown();
    (requests, counts.ended, counts.exported, seconds)
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| {
            line.strip_prefix(field)?
                .strip_prefix(':')?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn outage() {
    let seconds: u64 = std::env::var("EXPORT_BENCH_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    // Nothing listens here: the collector is down for the whole run.
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let before = status_kib("VmRSS");
    let pipeline = Pipeline::ours(&endpoint);
    let (made, exported, _) = run(pipeline, Duration::from_secs(seconds), Some(RATE));
    let peak = status_kib("VmHWM");
    println!(
        "outage: {seconds} s at {RATE} spans/s with the collector down, default queue 2048: \
         {made} spans made, {exported} exported; RSS {before} KiB before, peak {peak} KiB (+{} KiB)",
        peak.saturating_sub(before)
    );
}

/// Requests a second in the paced handler runs (`EXPORT_BENCH_HANDLER_RATE`): by default
/// few enough that both pipelines export every span, so every span is paid for.
fn handler_rate() -> u64 {
    std::env::var("EXPORT_BENCH_HANDLER_RATE")
        .ok()
        .and_then(|rate| rate.parse().ok())
        .filter(|&rate| rate > 0)
        .unwrap_or(5_000)
}
const PACED: Duration = Duration::from_secs(6);
const ROUNDS: usize = 3;

/// CPU time of the whole process (every thread, finished ones included) and of the calling
/// thread.
fn cpu_times() -> (Duration, Duration) {
    use rustix::time::{clock_gettime, ClockId};
    let time = |clock| {
        let time = clock_gettime(clock);
        Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
    };
    (time(ClockId::ProcessCPUTime), time(ClockId::ThreadCPUTime))
}

/// `stack` (`bare`, `nais-otel` or `otel-axum`) on its documented setup: nais-otel with
/// `init()`'s subscriber (bridge, JSON log lines to nowhere) and `Guard::server_layer()`;
/// `OtelAxumLayer` with tracing-opentelemetry, tracing-subscriber's fmt layer (to nowhere)
/// and opentelemetry-otlp's exporter.
fn handler_stack(
    stack: &str,
    endpoint: &str,
) -> (support::App, tracing::Dispatch, Option<Pipeline>) {
    let router = support::realistic_router();
    match stack {
        "nais-otel" => {
            let guard = nais_otel::builder()
                .with_env_lookup(|_| None)
                .with_globals(false)
                .with_service_name("bench")
                .with_endpoint(endpoint)
                .with_log_format(nais_otel::config::LogFormat::Json)
                .with_log_writer(std::io::sink)
                .init()
                .expect("init");
            let app = support::prepared(router.layer(guard.server_layer()));
            let dispatch = guard
                .subscriber()
                .expect("init() builds its subscriber")
                .clone();
            (
                support::App::Router(app),
                dispatch,
                Some(Pipeline::Ours(Box::new(guard))),
            )
        }
        "otel-axum" => {
            let (provider, exported, runtime) = stock_provider(endpoint);
            let app = support::prepared(
                router.layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default()),
            );
            let dispatch = support::peer_subscriber_with_logs(&provider);
            (
                support::App::Router(app),
                dispatch,
                Some(Pipeline::Stock {
                    provider,
                    exported,
                    _runtime: runtime,
                }),
            )
        }
        _ => (
            support::App::Router(support::prepared(router)),
            tracing::Dispatch::none(),
            None,
        ),
    }
}

/// Serves `rate` requests a second for `PACED`; returns how many.
fn paced_requests(app: &support::App, dispatch: &tracing::Dispatch, rate: u64) -> u64 {
    tracing::dispatcher::with_default(dispatch, || {
        let start = Instant::now();
        let mut served = 0u64;
        while start.elapsed() < PACED {
            for _ in 0..100 {
                std::hint::black_box(support::serve(app, "/users/42"));
            }
            served += 100;
            let due = start + Duration::from_secs_f64(served as f64 / rate as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        served
    })
}

/// The paced handler runs (item 6 of the module docs).
fn paced_handlers(endpoint: &str) {
    const STACKS: [&str; 3] = ["bare", "nais-otel", "otel-axum"];
    // Per stack: (process CPU a request, request thread's CPU a request, wall-clock time a
    // request), in ns, per round.
    let mut per_request: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); STACKS.len()];
    let rate = handler_rate();
    println!();
    println!("paced realistic handler: {rate} requests/s for {PACED:?}, {ROUNDS} rounds");
    println!("| round | stack | requests | spans the collector got | process CPU a request | request thread a request | wall-clock a request |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for round in 1..=ROUNDS {
        for (index, stack) in STACKS.iter().enumerate() {
            let (app, dispatch, pipeline) = handler_stack(stack, endpoint);
            let (process_before, thread_before) = cpu_times();
            let started = Instant::now();
            let served = paced_requests(&app, &dispatch, rate);
            let wall = started.elapsed().as_nanos() as f64 / served as f64;
            drop(app);
            drop(dispatch);
            let exported = pipeline.map_or(0, Pipeline::finish);
            let (process_after, thread_after) = cpu_times();
            let process = (process_after - process_before).as_nanos() as f64 / served as f64;
            let thread = (thread_after - thread_before).as_nanos() as f64 / served as f64;
            per_request[index].push((process, thread, wall));
            println!(
                "| {round} | {stack} | {served} | {exported} | {:.2} µs | {:.2} µs | {:.2} µs |",
                process / 1000.0,
                thread / 1000.0,
                wall / 1000.0
            );
        }
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let medians: Vec<(f64, f64, f64)> = per_request
        .iter()
        .map(|rounds| {
            let mut process: Vec<f64> = rounds.iter().map(|r| r.0).collect();
            let mut thread: Vec<f64> = rounds.iter().map(|r| r.1).collect();
            let mut wall: Vec<f64> = rounds.iter().map(|r| r.2).collect();
            (median(&mut process), median(&mut thread), median(&mut wall))
        })
        .collect();
    let (bare, ours, peer) = (medians[0], medians[1], medians[2]);
    println!(
        "paced handler, medians over bare: process CPU +{:.2} µs (nais-otel) / +{:.2} µs (otel-axum) = {:.2}; \
         request thread +{:.2} µs / +{:.2} µs = {:.2}",
        (ours.0 - bare.0) / 1000.0,
        (peer.0 - bare.0) / 1000.0,
        (ours.0 - bare.0) / (peer.0 - bare.0),
        (ours.1 - bare.1) / 1000.0,
        (peer.1 - bare.1) / 1000.0,
        (ours.1 - bare.1) / (peer.1 - bare.1),
    );
    // Wall-clock time a request means something only when no stack waited for its turn:
    // when even the bare router could not keep to the rate (paced, every stack takes the
    // interval, give or take the timer's slack).
    let paced_interval = 1e9 / rate as f64;
    if bare.2 > paced_interval * 1.5 {
        println!(
            "flat out, wall-clock a request over bare: +{:.2} µs (nais-otel) / +{:.2} µs (otel-axum) = {:.2}",
            (ours.2 - bare.2) / 1000.0,
            (peer.2 - bare.2) / 1000.0,
            (ours.2 - bare.2) / (peer.2 - bare.2),
        );
    }
}

fn main() {
    outage();
    let rotel = Rotel::start();
    let endpoint = rotel.endpoint();

    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut group = criterion.benchmark_group("export_throughput/span_end");
    for (name, pipeline) in [
        ("nais-otel", Pipeline::ours(&endpoint)),
        ("stock", Pipeline::stock(&endpoint)),
    ] {
        let tracer = pipeline.provider().tracer("bench");
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                span(&tracer, i);
                i += 1;
            })
        });
        pipeline.finish();
    }
    group.finish();

    println!();
    println!("| pipeline | spans made | spans/s (one thread) | exported | dropped |");
    println!("|---|---:|---:|---:|---:|");
    let mut rates = Vec::new();
    for name in ["nais-otel", "stock"] {
        let pipeline = match name {
            "nais-otel" => Pipeline::ours(&endpoint),
            _ => Pipeline::stock(&endpoint),
        };
        let (made, exported, seconds) = run(pipeline, BURST, None);
        let rate = made as f64 / seconds;
        rates.push(rate);
        println!(
            "| {name} | {made} | {rate:.0} | {exported} | {} |",
            made.saturating_sub(exported)
        );
    }
    println!("ratio nais-otel / stock: {:.2}", rates[0] / rates[1]);

    println!();
    println!("| bridge | requests | spans made | spans/s made | exported | exported/s | exported per request made |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, bridge) in [
        ("nais-otel", nais_otel::bridge::Bridge::NaisOtel),
        (
            "tracing-opentelemetry",
            nais_otel::bridge::Bridge::TracingOpenTelemetry,
        ),
    ] {
        let (requests, made, exported, seconds) = bridge_burst(&endpoint, bridge, BURST);
        println!(
            "| {name} | {requests} | {made} | {:.0} | {exported} | {:.0} | {:.2} |",
            made as f64 / seconds,
            exported as f64 / seconds,
            exported as f64 / requests as f64
        );
    }

    paced_handlers(&endpoint);

    let (made, exported, seconds) = run(Pipeline::ours(&endpoint), SUSTAIN, Some(RATE));
    println!(
        "sustained: {made} spans in {seconds:.1} s ({:.0}/s) through nais-otel defaults: {exported} exported, {} dropped",
        made as f64 / seconds,
        made.saturating_sub(exported)
    );
    drop(rotel);
}
