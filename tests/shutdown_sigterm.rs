//! Shutdown: SIGTERM during load with the collector up loses no finished span
//! (spans made = spans received at rotel), with an idle keep-alive connection
//! and a client sending one byte a second held open, and the process exits
//! within the drain timeout (`NAIS_OTEL_DRAIN_TIMEOUT`) plus the flush; with
//! the collector silent (accepts TCP, never answers) the process still exits
//! within the configured timeout.

mod support;

use std::collections::HashMap;
use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use support::{DogBook, Rotel, DEADLINE};

/// Not a test: the entry point of the DogBook services this file starts as
/// child processes (see `support::dogbook_child_main`). Does nothing otherwise.
#[test]
fn dogbook_child_process() {
    support::dogbook_child_main();
}

/// kennels' own spans for `?id=0`: server, kennel name, get-inventory and its
/// client span, get-dog-name and its client span.
const KENNELS_SPANS: usize = 6;

#[test]
fn sigterm_under_load_loses_no_finished_span() {
    let rotel = Rotel::start();
    // The NAIS environment and the default 5 s batch delay: most spans are
    // still queued when SIGTERM comes, and only the shutdown flush sends them.
    // The drain timeout comes from the environment: 3 s, not the default 10 s.
    let drain = Duration::from_secs(3);
    let mut dogbook = DogBook::start(
        &rotel.endpoint(),
        &[("NAIS_OTEL_DRAIN_TIMEOUT", drain.as_millis().to_string())],
    );
    let port = dogbook.kennels.port;
    // The drain, then the flush to a collector that is up (bounded by the
    // export timeout, 10 s, but quick here).
    let exit_within = drain + Duration::from_secs(5);
    let run = support::sigterm_under_load(
        &mut dogbook.kennels.proc,
        port,
        "/api/v1/kennels?id=0",
        false,
        80,
        exit_within,
    );
    assert!(run.status.success(), "{}", run.status);
    assert!(
        run.last_answer_to_sigterm < Duration::from_secs(1),
        "{:?}",
        run.last_answer_to_sigterm
    );
    assert!(
        run.idle_closed_after.is_some(),
        "the idle keep-alive connection stayed open after SIGTERM"
    );
    // The slow client held its connection until the drain timeout, and that
    // did not keep kennels alive.
    dogbook
        .kennels
        .proc
        .output
        .wait_for_line("connections still open after the drain timeout", DEADLINE);
    let answered = &run.answered;
    assert!(answered.len() >= 80, "{} answered", answered.len());

    let made = KENNELS_SPANS * answered.len();
    // Delivery is at least once: a batch resent after a slow answer counts once.
    let kennels_spans = |spans: &[support::RotelSpan]| {
        let mut seen = std::collections::HashSet::new();
        spans
            .iter()
            .filter(|s| s.service() == "kennels" && seen.insert(s.span_id.as_str()))
            .cloned()
            .collect::<Vec<_>>()
    };
    let received = rotel.wait_for(
        &format!("{made} kennels spans"),
        support::DEADLINE,
        |spans| {
            let kennels = kennels_spans(spans);
            (kennels.len() >= made).then_some(kennels)
        },
    );
    let mut per_trace: HashMap<&str, usize> = HashMap::new();
    for span in &received {
        *per_trace.entry(span.trace_id.as_str()).or_default() += 1;
    }
    for trace in answered {
        assert_eq!(
            per_trace.get(trace.as_str()).copied().unwrap_or(0),
            KENNELS_SPANS,
            "trace {trace} of an answered request"
        );
    }
    eprintln!(
        "SIGTERM under load: {} requests, {} answered, {made} kennels spans made, {} received; last answer {:?} before SIGTERM; idle connection closed {:?} after it; exit {:?} after it",
        run.requests,
        answered.len(),
        received.len(),
        run.last_answer_to_sigterm,
        run.idle_closed_after,
        run.exit_after,
    );
    assert_eq!(received.len(), made, "spans made = spans received");
}

/// A listener that accepts connections (the kernel does, into the backlog) and never
/// answers, and kennels exporting to it with `timeout` and a batch delay of `delay` ms,
/// ready.
fn with_a_silent_collector(timeout: Duration, delay: &str) -> (TcpListener, support::Service) {
    let silent = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a loopback listener");
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let mut kennels = support::spawn_service(
        "kennels",
        &endpoint,
        &[
            (
                "OTEL_EXPORTER_OTLP_TIMEOUT",
                timeout.as_millis().to_string(),
            ),
            ("OTEL_BSP_SCHEDULE_DELAY", delay.to_owned()),
        ],
    );
    kennels.proc.wait_ready(kennels.port);
    (silent, kennels)
}

#[test]
fn silent_collector_exit_within_timeout() {
    let timeout = Duration::from_millis(2_000);
    // An export is under way (and stuck) when SIGTERM comes.
    let (silent, mut kennels) = with_a_silent_collector(timeout, "100");
    for _ in 0..50 {
        let answer = support::must_get(kennels.port, "/api/v1/kennels?id=99");
        assert_eq!(answer.status, 404, "{answer:?}");
    }

    let started = Instant::now();
    kennels.proc.sigterm();
    // Well under the 30 s export deadline, which is what a hang would wait.
    let margin = Duration::from_secs(8);
    let status = kennels.proc.wait_exit(timeout + margin);
    let took = started.elapsed();
    eprintln!("silent collector: exited after {took:?} (timeout {timeout:?})");
    let status = status.unwrap_or_else(|| {
        panic!(
            "kennels still runs {:?} after SIGTERM with OTEL_EXPORTER_OTLP_TIMEOUT={}ms; output:\n{}",
            took,
            timeout.as_millis(),
            kennels.proc.output.text()
        )
    });
    assert!(status.success(), "{status}");
    // It says what it lost.
    let report = kennels
        .proc
        .output
        .wait_for_line("spans were not exported", Duration::from_secs(5));
    assert!(report.contains("spans_lost"), "{report}");
    drop(silent);
}

/// Stopping with the collector silent, the flush waits up to its timeout (10 s here);
/// a second SIGTERM, as an impatient Ctrl-C would, ends that wait at once. The
/// service exits cleanly and says how many spans it did not export.
#[test]
fn a_second_sigterm_ends_the_flush() {
    let timeout = Duration::from_secs(10);
    let (silent, mut kennels) = with_a_silent_collector(timeout, "5000");
    let answer = support::must_get(kennels.port, "/api/v1/kennels?id=99");
    assert_eq!(answer.status, 404, "{answer:?}");

    kennels.proc.sigterm();
    let flushing = kennels.proc.output.wait_for_line(
        "a second SIGTERM or Ctrl-C stops waiting",
        support::DEADLINE,
    );
    assert!(flushing.contains("INFO"), "{flushing}");
    // The line comes once the second signal is listened for.
    let second = Instant::now();
    kennels.proc.sigterm();
    let status = kennels.proc.wait_exit(timeout / 2).unwrap_or_else(|| {
        panic!(
            "still flushing {:?} after the second SIGTERM; output:\n{}",
            second.elapsed(),
            kennels.proc.output.text()
        )
    });
    let took = second.elapsed();
    eprintln!("a second SIGTERM: exited {took:?} after it (flush timeout {timeout:?})");
    assert!(status.success(), "{status}");
    let output = &kennels.proc.output;
    output.wait_for_line("not waiting for the span export", Duration::from_secs(5));
    let report = output.wait_for_line("spans were not exported", Duration::from_secs(5));
    assert!(report.contains("spans_lost"), "{report}");
    assert!(
        output
            .matching("did not finish before the shutdown timeout")
            .is_empty(),
        "{}",
        output.text()
    );
    drop(silent);
}

/// Each further signal ends the wait of the step it comes in: the SIGTERM that ends
/// the drain (a client holds it) is not taken for the flush's, which waits for the next
/// one, a Ctrl-C (SIGINT) here, so the warning names which signal ended it.
#[test]
fn the_signal_that_ends_the_drain_leaves_the_flush_to_the_next() {
    let (silent, mut kennels) = with_a_silent_collector(Duration::from_secs(10), "5000");
    let answer = support::must_get(kennels.port, "/api/v1/kennels?id=99");
    assert_eq!(answer.status, 404, "{answer:?}");
    let slow = support::SlowClient::start(kennels.port, "/api/v1/kennels?id=98");

    kennels.proc.sigterm();
    let output = kennels.proc.output.clone();
    output.wait_for_line("waiting for the requests in flight", support::DEADLINE);
    kennels.proc.sigterm();
    output.wait_for_line(
        "a second signal: not waiting for the requests in flight",
        support::DEADLINE,
    );
    output.wait_for_line(
        "a second SIGTERM or Ctrl-C stops waiting",
        support::DEADLINE,
    );
    let third = Instant::now();
    kennels.proc.sigint();
    let status = kennels
        .proc
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("still flushing {:?} after Ctrl-C", third.elapsed()));
    assert!(status.success(), "{status}");
    let ended = output.wait_for_line("not waiting for the span export", Duration::from_secs(5));
    assert!(
        ended.contains("SIGINT"),
        "ended by the drain's SIGTERM: {ended}"
    );
    slow.stop();
    drop(silent);
}
