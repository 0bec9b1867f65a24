//! The collector killed under load and restarted on the same port: clients see
//! no error and no added latency beyond noise, and spans resume. A connection
//! broken in the middle of an export is an outage, retried, not a refusal.

mod support;

use std::time::{Duration, Instant};

use support::{percentile, DogBook, Load, Rotel, Sample};

/// Not a test: the entry point of the DogBook services this file starts as
/// child processes (see `support::dogbook_child_main`). Does nothing otherwise.
#[test]
fn dogbook_child_process() {
    support::dogbook_child_main();
}

/// How long each phase (collector up, killed, restarted) lasts.
const PHASE: Duration = Duration::from_secs(3);

/// Held by each test for its whole run: the latencies measured under load are
/// not to count a neighbour's start-up and shutdown on a two-core machine.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ALONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn latencies(samples: &[Sample], from: Instant, to: Instant) -> Vec<Duration> {
    samples
        .iter()
        .filter(|s| s.sent >= from && s.sent < to)
        .map(|s| s.latency)
        .collect()
}

#[test]
fn collector_killed_under_load_and_restarted() {
    let _alone = alone();
    let mut rotel = Rotel::start();
    let port = rotel.port;
    let dogbook = DogBook::start(
        &rotel.endpoint(),
        &[("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned())],
    );
    let kennels = dogbook.kennels.port;
    // Two kinds of clients: whole chains (kennel 0: inventory and dogs, 10
    // spans across three services, ~200 ms), and a fast path (unknown kennel:
    // 404 at once, 2 spans) whose latency shows any stall in the request path.
    let chains = Load::start(kennels, "/api/v1/kennels?id=0", 4, Duration::ZERO);
    let fast = Load::start(
        kennels,
        "/api/v1/kennels?id=99",
        2,
        Duration::from_millis(5),
    );

    // The load's phases; the durations are the experiment, not synchronisation.
    let up = Instant::now();
    std::thread::sleep(PHASE);
    let killed = Instant::now();
    rotel.proc.kill();
    std::thread::sleep(PHASE);
    let restarted = Instant::now();
    let rotel = Rotel::start_on(port);
    std::thread::sleep(PHASE);
    let end = Instant::now();
    let chain_samples = chains.stop();
    let fast_samples = fast.stop();

    // No errors: every chain 200 with its dogs, every fast request its 404.
    for (samples, expected) in [(&chain_samples, 200), (&fast_samples, 404)] {
        let bad: Vec<&Sample> = samples
            .iter()
            .filter(|s| !matches!(s.result, Ok((status, Some(_))) if status == expected))
            .collect();
        assert!(bad.is_empty(), "{} failed: {bad:#?}", bad.len());
    }

    // No added latency while the collector is down.
    for (name, samples) in [("chain", &chain_samples), ("fast", &fast_samples)] {
        let before = latencies(samples, up, killed);
        let down = latencies(samples, killed + Duration::from_millis(100), restarted);
        let after = latencies(samples, restarted, end);
        let (p50_up, p99_up) = (percentile(&before, 50.0), percentile(&before, 99.0));
        let (p50_down, p99_down) = (percentile(&down, 50.0), percentile(&down, 99.0));
        let (p50_after, p99_after) = (percentile(&after, 50.0), percentile(&after, 99.0));
        eprintln!(
            "{name}: up {} req p50 {p50_up:?} p99 {p99_up:?}; down {} req p50 {p50_down:?} p99 {p99_down:?}; restarted {} req p50 {p50_after:?} p99 {p99_after:?}",
            before.len(),
            down.len(),
            after.len()
        );
        let limit = (p99_up * 3).max(p99_up + Duration::from_millis(20));
        assert!(
            p99_down < limit,
            "{name}: p99 {p99_down:?} with the collector down, {p99_up:?} with it up"
        );
        assert!(
            p50_down < (p50_up * 2).max(p50_up + Duration::from_millis(10)),
            "{name}: p50 {p50_down:?} with the collector down, {p50_up:?} with it up"
        );
    }

    // Spans resume: a request made now arrives whole at the new rotel.
    let answer = support::must_get(kennels, "/api/v1/kennels?id=0");
    assert_eq!(answer.status, 200, "{answer:?}");
    let trace = rotel.wait_for_trace(&answer.trace_id(), 10);
    let mut services: Vec<&str> = trace.iter().map(|s| s.service()).collect();
    services.sort_unstable();
    services.dedup();
    assert_eq!(services, ["dogs", "inventory", "kennels"]);
    // And one warning a service for the outage (each exports every 200 ms, so
    // each saw it), and one notice when it ended.
    for service in [&dogbook.kennels, &dogbook.inventory, &dogbook.dogs] {
        let output = &service.proc.output;
        output.wait_for_line("span export works again", support::DEADLINE);
        let warnings = output.matching("cannot export spans");
        assert_eq!(warnings.len(), 1, "{}: {warnings:#?}", service.proc.name);
        assert_eq!(output.matching("span export works again").len(), 1);
    }
}

/// Reads an HTTP/2 client connection up to the end of its first request (the client
/// preface, then frames until a DATA frame that ends a stream), and returns. Panics on
/// a connection that ends first.
fn read_first_request(stream: &mut std::net::TcpStream) {
    use std::io::Read as _;
    let mut preface = [0; 24];
    stream.read_exact(&mut preface).expect("the client preface");
    loop {
        let mut head = [0; 9];
        stream.read_exact(&mut head).expect("a frame header");
        let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0; length];
        stream.read_exact(&mut payload).expect("a frame payload");
        let (kind, flags) = (head[3], head[4]);
        let stream_id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        if kind == 0 && flags & 1 == 1 && stream_id != 0 {
            return;
        }
    }
}

/// The collector's connection breaks after the export request is sent and before any
/// answer (a collector killed mid-request; tonic calls it `Unknown`). The spans are
/// retried on a new connection and arrive; the service says "retrying", never that the
/// collector refused them.
#[test]
fn a_connection_broken_mid_export_is_retried() {
    let _alone = alone();
    use std::net::{Shutdown, TcpListener, TcpStream};

    let rotel = Rotel::start();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let upstream = rotel.port;
    std::thread::spawn(move || {
        let mut incoming = listener.incoming();
        // The first connection: its request is read whole, then the connection closes.
        let mut first = incoming.next().expect("a connection").expect("accept");
        read_first_request(&mut first);
        first.shutdown(Shutdown::Both).expect("close");
        drop(first);
        // Every later one goes to rotel, byte for byte.
        for client in incoming {
            let Ok(client) = client else { return };
            let server = TcpStream::connect(("127.0.0.1", upstream)).expect("rotel");
            for (mut from, mut to) in [
                (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                ),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(Shutdown::Write);
                });
            }
        }
    });
    let mut kennels = support::spawn_service(
        "kennels",
        &endpoint,
        &[("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned())],
    );
    kennels.proc.wait_ready(kennels.port);
    let answer = support::must_get(kennels.port, "/api/v1/kennels?id=99");
    assert_eq!(answer.status, 404, "{answer:?}");
    let trace = rotel.wait_for_trace(&answer.trace_id(), 2);
    assert!(
        trace.iter().all(|span| span.service() == "kennels"),
        "{trace:#?}"
    );
    kennels
        .proc
        .output
        .wait_for_line("span export works again", support::DEADLINE);
    kennels.proc.stop_cleanly();
    let output = &kennels.proc.output;
    let warnings = output.matching("cannot export spans");
    assert_eq!(warnings.len(), 1, "{}", output.text());
    assert!(warnings[0].contains("retrying"), "{warnings:?}");
    assert!(output.matching("refused").is_empty(), "{}", output.text());
}
