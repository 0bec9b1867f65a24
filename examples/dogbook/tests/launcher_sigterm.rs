//! `cargo run -p dogbook` (the README's first command), as built, exporting to
//! rotel over gRPC, stopped with SIGTERM under load through its front door,
//! with an idle keep-alive connection and a client that sends one byte a
//! second held open there: it stops the proxy, then SIGTERMs the services,
//! which drain and flush. Every span of every answered request arrives, and
//! the launcher exits in a bounded time.

#[path = "../../../tests/support/mod.rs"]
mod suite;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use suite::{Proc, Rotel, TempDir};

/// `GET /api/v1/kennels?id=0`: kennels' six spans, inventory's two, and two
/// for the kennel's one dog.
const SPANS_PER_REQUEST: usize = 10;

/// The proxy's drain (10 s, held by the slow client), the services' drain
/// (nothing left in flight by then) and their flush to a collector that is up.
const EXIT_WITHIN: Duration = Duration::from_secs(20);

#[test]
fn sigterm_to_the_launcher_loses_no_span_of_an_answered_request() {
    let rotel = Rotel::start();
    let port = suite::free_port();
    let logs = TempDir::new("dogbook-launcher");
    let mut command = Command::new(env!("CARGO_BIN_EXE_dogbook"));
    command
        .env("DOGBOOK_PORT", port.to_string())
        .env("DOGBOOK_LOG_DIR", &logs.0)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.endpoint())
        // NAIS's batch delay, not the demo's 100 ms: the last spans are still
        // queued when the services get SIGTERM.
        .env("OTEL_BSP_SCHEDULE_DELAY", "5000");
    let mut proc = Proc::spawn("dogbook", command);
    // Printed once the demo request is answered and the services serve.
    proc.output.wait_for_line("Ctrl-C to stop", suite::DEADLINE);

    let run = suite::sigterm_under_load(
        &mut proc,
        port,
        "/api/v1/kennels?id=0",
        false,
        20,
        EXIT_WITHIN,
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

    let made = SPANS_PER_REQUEST * run.answered.len();
    let answered: std::collections::HashSet<&str> =
        run.answered.iter().map(String::as_str).collect();
    let received = rotel.wait_for(
        &format!(
            "the {made} spans of {} answered requests",
            run.answered.len()
        ),
        suite::DEADLINE,
        |spans| {
            let mine: Vec<_> = spans
                .iter()
                .filter(|s| answered.contains(s.trace_id.as_str()))
                .cloned()
                .collect();
            (mine.len() >= made).then_some(mine)
        },
    );
    let mut per_trace: HashMap<&str, usize> = HashMap::new();
    for span in &received {
        *per_trace.entry(span.trace_id.as_str()).or_default() += 1;
    }
    for trace in &run.answered {
        assert_eq!(
            per_trace.get(trace.as_str()).copied().unwrap_or(0),
            SPANS_PER_REQUEST,
            "trace {trace} of an answered request"
        );
    }
    eprintln!(
        "dogbook launcher: {} requests, {} answered, {made} spans made, {} received; last answer {:?} before SIGTERM; idle connection closed {:?} after it; exit {:?} after it",
        run.requests,
        run.answered.len(),
        received.len(),
        run.last_answer_to_sigterm,
        run.idle_closed_after,
        run.exit_after,
    );
    assert_eq!(received.len(), made, "spans made = spans received");
}
