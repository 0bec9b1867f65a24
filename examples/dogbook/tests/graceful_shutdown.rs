//! SIGTERM makes a service stop serving, flush the spans it still holds, and exit 0.

#[allow(dead_code)]
mod support;

use std::time::Duration;

#[test]
fn sigterm_flushes_the_last_spans_and_exits_zero() {
    let collector = support::collector();
    // A batch delay far longer than the test: only the shutdown flush exports.
    let mut inventory = support::spawn_service(
        "inventory",
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".to_owned()),
            ("OTEL_BSP_SCHEDULE_DELAY", "600000".to_owned()),
        ],
    );
    inventory.wait_ready();
    let answer = support::get(&format!("{}/api/v1/inventory?kennelId=1", inventory.url()));
    assert_eq!((answer.status, answer.body.as_str()), (200, "[1,2]"));
    let trace_id = answer.trace_id();
    assert!(collector.spans().is_empty(), "exported before shutdown");

    let pid = i32::try_from(inventory.child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .expect("a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    let status = inventory
        .wait_exit(support::DEADLINE)
        .expect("inventory stops after SIGTERM");
    assert!(status.success(), "{status}");

    let trace = collector
        .wait_for_trace_matching(
            |t| t.trace_id == trace_id && t.len() == 2,
            Duration::from_secs(10),
        )
        .expect("the spans flushed on shutdown");
    assert!(trace.is_complete());
    assert!(trace
        .span_named("inventory.get-inventory-by-kennel-id")
        .is_some());
}
