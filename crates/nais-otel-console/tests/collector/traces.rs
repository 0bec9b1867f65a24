//! Grouping spans into traces and completing them after the quiet period.

use std::time::{Duration, Instant};

use nais_otel_console::{Collector, WaitErrorKind};

use crate::support::*;

fn quick() -> Collector {
    Collector::builder()
        .quiet_period(Duration::from_millis(150))
        .incomplete_timeout(Duration::from_millis(600))
        .start()
        .unwrap()
}

#[test]
fn spans_from_several_services_group_into_one_complete_trace() {
    // The trace has no root until the third request: a slow machine may take more
    // than `quick()`'s incomplete timeout between them. Complete, it still waits
    // only the quiet period.
    let collector = Collector::builder()
        .quiet_period(Duration::from_millis(150))
        .incomplete_timeout(Duration::from_secs(30))
        .start()
        .unwrap();
    let base = base_time();
    let endpoint = collector.endpoint();
    // Children first, the root last: the order services usually flush in.
    send(
        &endpoint,
        request("dogs", vec![span(1, 3, 2, "GET /dogs", base, 20, 120)]),
        false,
    );
    send(
        &endpoint,
        request(
            "inventory",
            vec![span(1, 5, 4, "GET /inventory", base, 130, 230)],
        ),
        false,
    );
    send(
        &endpoint,
        request(
            "kennels",
            vec![
                span(1, 2, 1, "kennels.get-dog", base, 10, 125),
                span(1, 4, 1, "kennels.get-inventory", base, 128, 235),
                span(1, 1, 0, "GET /kennels", base, 0, 240),
            ],
        ),
        false,
    );

    let trace = collector.wait_for_trace(TIMEOUT).unwrap();
    assert_eq!(trace.trace_id, hex(&trace_id(1)));
    assert_eq!(trace.len(), 5);
    assert!(trace.is_complete());
    assert_eq!(trace.services(), ["dogs", "inventory", "kennels"]);
    let root = trace.root().unwrap();
    assert_eq!(root.name, "GET /kennels");
    let children: Vec<&str> = trace
        .children(&root.span_id)
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(children, ["kennels.get-dog", "kennels.get-inventory"]);
    assert_eq!(trace.duration(), Duration::from_millis(240));
    assert_eq!(collector.traces(), vec![trace]);
}

#[test]
fn a_trace_completes_only_after_the_quiet_period() {
    let collector = quick();
    let base = base_time();
    let sent = Instant::now();
    send(
        &collector.endpoint(),
        request("a", vec![span(2, 1, 0, "root", base, 0, 10)]),
        false,
    );
    let trace = collector.wait_for_trace(TIMEOUT).unwrap();
    assert!(sent.elapsed() >= Duration::from_millis(150));
    assert_eq!(trace.len(), 1);
    // Nothing else completes.
    let err = collector
        .wait_for_trace(Duration::from_millis(300))
        .unwrap_err();
    assert_eq!(err.kind(), WaitErrorKind::TimedOut);
}

#[test]
fn separate_traces_complete_separately_in_order() {
    let collector = quick();
    let base = base_time();
    send(
        &collector.endpoint(),
        request(
            "a",
            vec![
                span(3, 1, 0, "first", base, 0, 10),
                span(4, 1, 0, "second", base, 5, 10),
            ],
        ),
        false,
    );
    let first = collector.wait_for_trace(TIMEOUT).unwrap();
    let second = collector.wait_for_trace(TIMEOUT).unwrap();
    assert_eq!(first.spans[0].name, "first");
    assert_eq!(second.spans[0].name, "second");
    assert_eq!(collector.traces().len(), 2);
}

#[test]
fn orphans_make_a_trace_incomplete_and_it_waits_longer() {
    let collector = quick();
    let base = base_time();
    let sent = Instant::now();
    send(
        &collector.endpoint(),
        request("a", vec![span(5, 2, 9, "orphan", base, 0, 10)]),
        false,
    );
    let trace = collector.wait_for_trace(TIMEOUT).unwrap();
    assert!(
        sent.elapsed() >= Duration::from_millis(600),
        "waited for the incomplete timeout"
    );
    assert!(!trace.is_complete());
    assert!(trace.root().is_none());
    assert_eq!(trace.orphans().len(), 1);
}

#[test]
fn a_late_root_completes_the_trace_again_with_all_spans() {
    let collector = quick();
    let base = base_time();
    let endpoint = collector.endpoint();
    send(
        &endpoint,
        request("a", vec![span(6, 2, 1, "child", base, 1, 5)]),
        false,
    );
    let partial = collector.wait_for_trace(TIMEOUT).unwrap();
    assert!(!partial.is_complete());
    send(
        &endpoint,
        request("a", vec![span(6, 1, 0, "root", base, 0, 10)]),
        false,
    );
    let whole = collector.wait_for_trace(TIMEOUT).unwrap();
    assert!(whole.is_complete());
    assert_eq!(whole.len(), 2);
    assert_eq!(collector.traces(), vec![whole]);
}

#[test]
fn two_roots_are_not_complete() {
    let collector = quick();
    let base = base_time();
    send(
        &collector.endpoint(),
        request(
            "a",
            vec![
                span(7, 1, 0, "r1", base, 0, 10),
                span(7, 2, 0, "r2", base, 0, 10),
            ],
        ),
        false,
    );
    let trace = collector.wait_for_trace(TIMEOUT).unwrap();
    assert!(!trace.is_complete());
    assert_eq!(trace.roots().len(), 2);
}

#[test]
fn subscribers_get_each_completed_trace() {
    let collector = quick();
    let traces = collector.subscribe();
    send(
        &collector.endpoint(),
        request("a", vec![span(8, 1, 0, "root", base_time(), 0, 10)]),
        false,
    );
    let trace = traces.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(trace.spans[0].name, "root");
}

#[test]
fn wait_for_trace_matching_finds_a_trace_by_content() {
    let collector = quick();
    let base = base_time();
    send(
        &collector.endpoint(),
        request(
            "a",
            vec![
                span(9, 1, 0, "other", base, 0, 10),
                span(10, 1, 0, "wanted", base, 0, 10),
            ],
        ),
        false,
    );
    let trace = collector
        .wait_for_trace_matching(|t| t.span_named("wanted").is_some(), TIMEOUT)
        .unwrap();
    assert_eq!(trace.trace_id, hex(&trace_id(10)));
}
