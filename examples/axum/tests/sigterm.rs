//! The program README.md and docs/nais.md show, as built, stopped the way NAIS
//! stops a pod: SIGTERM under load, with an idle keep-alive connection and a
//! client that sends one byte a second. Every span of every answered request
//! reaches rotel over gRPC, and the process exits within the drain timeout
//! plus the flush's bound.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use support::{Proc, Rotel};

/// `nais_otel::shutdown::DEFAULT_DRAIN_TIMEOUT`, then at most the default
/// shutdown timeout (the export timeout, 10 s) for the flush: 5 s inside the
/// 25 s NAIS leaves between SIGTERM and SIGKILL.
const EXIT_WITHIN: Duration = Duration::from_secs(20);

/// A request to `/dogs/{id}`: the server span and `get_dog`'s.
const SPANS_PER_REQUEST: usize = 2;

#[test]
fn sigterm_loses_no_span_of_an_answered_request() {
    let rotel = Rotel::start();
    let port = support::free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_example-axum"));
    // The environment of a NAIS pod with tracing on, the default batch delay
    // (5 s) included: the spans are still queued when SIGTERM comes.
    command
        .env_clear()
        .envs(support::nais_env("example-axum", port, &rotel.endpoint()));
    let mut proc = Proc::spawn("example-axum", command);
    proc.output.wait_for_line("listening", support::DEADLINE);

    let run = support::sigterm_under_load(&mut proc, port, "/dogs/3", true, 20, EXIT_WITHIN);
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
    // did not keep the process alive.
    proc.output.wait_for_line(
        "connections still open after the drain timeout",
        support::DEADLINE,
    );

    let made = SPANS_PER_REQUEST * run.answered.len();
    let received = rotel.wait_for(
        &format!(
            "the {made} spans of {} answered requests",
            run.answered.len()
        ),
        support::DEADLINE,
        |spans| {
            let mine: Vec<_> = spans
                .iter()
                .filter(|s| s.service() == "example-axum")
                .cloned()
                .collect();
            (mine.len() >= made).then_some(mine)
        },
    );
    let mut per_trace: HashMap<&str, Vec<&str>> = HashMap::new();
    for span in &received {
        per_trace
            .entry(span.trace_id.as_str())
            .or_default()
            .push(span.name.as_str());
    }
    for trace in &run.answered {
        let mut names = per_trace.get(trace.as_str()).cloned().unwrap_or_default();
        names.sort_unstable();
        assert_eq!(
            names,
            ["GET /dogs/{id}", "get_dog"],
            "trace {trace} of an answered request"
        );
    }
    eprintln!(
        "example-axum: {} requests, {} answered, {made} spans made, {} received; last answer {:?} before SIGTERM; idle connection closed {:?} after it; exit {:?} after it",
        run.requests,
        run.answered.len(),
        received.len(),
        run.last_answer_to_sigterm,
        run.idle_closed_after,
        run.exit_after,
    );
    assert_eq!(received.len(), made, "spans made = spans received");
}

#[test]
fn a_bad_drain_timeout_is_named_and_the_default_used() {
    let port = support::free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_example-axum"));
    command
        .env_clear()
        .envs(support::nais_env(
            "example-axum",
            port,
            "http://127.0.0.1:4317",
        ))
        .env("OTEL_TRACES_EXPORTER", "none")
        .env("NAIS_OTEL_DRAIN_TIMEOUT", "10s");
    let mut proc = Proc::spawn("example-axum", command);
    let warning = proc
        .output
        .wait_for_line("NAIS_OTEL_DRAIN_TIMEOUT", support::DEADLINE);
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("10s"), "{warning}");
    assert!(warning.contains("not a whole number"), "{warning}");
    proc.output.wait_for_line("listening", support::DEADLINE);
    // It serves, and stops on SIGTERM.
    assert_eq!(support::must_get(port, "/dogs/1").body, "dog 1");
    proc.sigterm();
    let status = proc
        .wait_exit(support::DEADLINE)
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status}");
}

#[test]
fn a_second_sigterm_ends_the_drain_at_once() {
    let port = support::free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_example-axum"));
    command
        .env_clear()
        .envs(support::nais_env(
            "example-axum",
            port,
            "http://127.0.0.1:4317",
        ))
        .env("OTEL_TRACES_EXPORTER", "none");
    let mut proc = Proc::spawn("example-axum", command);
    proc.output.wait_for_line("listening", support::DEADLINE);
    assert_eq!(support::must_get(port, "/dogs/1").status, 200);
    // Holds the drain for its whole 10 s.
    let slow = support::SlowClient::start(port, "/dogs/1");
    assert_eq!(support::must_get(port, "/dogs/2").status, 200);

    proc.sigterm();
    proc.output
        .wait_for_line("waiting for the requests in flight", support::DEADLINE);
    let second = std::time::Instant::now();
    proc.sigterm();
    let status = proc.wait_exit(support::DEADLINE).expect("exits");
    let took = second.elapsed();
    slow.stop();
    assert!(status.success(), "{status}");
    // Under the 10 s the drain would wait without it.
    assert!(
        took < Duration::from_secs(8),
        "{took:?} after the second SIGTERM"
    );
    proc.output
        .wait_for_line("a second signal", support::DEADLINE);
}
