//! Starting, using from any context, and shutting down.

use std::time::Duration;

use nais_otel_console::{Collector, StartErrorKind, WaitErrorKind};

use crate::support::*;

#[test]
fn shutdown_frees_the_port() {
    let first = Collector::start().unwrap();
    let addr = first.local_addr();
    // Connect a client so there is a live connection to tear down.
    send(
        &first.endpoint(),
        request("a", vec![span(1, 1, 0, "x", base_time(), 0, 1)]),
        false,
    );
    first.wait_for_spans(1, TIMEOUT).unwrap();
    first.shutdown();
    assert_eq!(first.spans().len(), 1, "what arrived stays readable");

    let second = Collector::builder().addr(addr).start().unwrap();
    assert_eq!(second.local_addr(), addr);
    send(
        &second.endpoint(),
        request("a", vec![span(1, 1, 0, "x", base_time(), 0, 1)]),
        false,
    );
    second.wait_for_spans(1, TIMEOUT).unwrap();
}

#[test]
fn drop_frees_the_port() {
    let addr = {
        let collector = Collector::start().unwrap();
        collector.local_addr()
    };
    Collector::builder().addr(addr).start().unwrap();
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let first = Collector::start().unwrap();
    let err = Collector::builder()
        .addr(first.local_addr())
        .start()
        .unwrap_err();
    assert_eq!(err.kind(), StartErrorKind::Bind);
    assert!(err.is_addr_in_use());
    assert!(err.to_string().contains("already in use"), "{err}");
}

#[test]
fn waits_end_when_the_collector_shuts_down() {
    let collector = std::sync::Arc::new(Collector::start().unwrap());
    let waiter = {
        let collector = collector.clone();
        std::thread::spawn(move || collector.wait_for_spans(1, Duration::from_secs(30)))
    };
    collector.shutdown();
    let err = waiter.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), WaitErrorKind::Shutdown);
}

#[test]
fn shutdown_completes_open_traces() {
    let collector = Collector::builder()
        .quiet_period(Duration::from_secs(60))
        .start()
        .unwrap();
    send(
        &collector.endpoint(),
        request("a", vec![span(2, 1, 0, "x", base_time(), 0, 1)]),
        false,
    );
    collector.wait_for_spans(1, TIMEOUT).unwrap();
    collector.shutdown();
    let trace = collector.wait_for_trace(Duration::ZERO).unwrap();
    assert_eq!(trace.len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn works_inside_a_current_thread_runtime() {
    let collector = Collector::builder()
        .quiet_period(Duration::from_millis(50))
        .start()
        .unwrap();
    send_async(
        &collector.endpoint(),
        request("a", vec![span(3, 1, 0, "x", base_time(), 0, 1)]),
        true,
    )
    .await;
    // The blocking wait is fine here: the collector's server runs on its own thread.
    let trace = collector.wait_for_trace(TIMEOUT).unwrap();
    assert_eq!(trace.spans[0].name, "x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_inside_a_multi_thread_runtime() {
    let collector = Collector::start().unwrap();
    send_async(
        &collector.endpoint(),
        request("a", vec![span(4, 1, 0, "x", base_time(), 0, 1)]),
        false,
    )
    .await;
    collector.wait_for_spans(1, TIMEOUT).unwrap();
    drop(collector);
}

#[test]
fn outlives_the_runtime_that_sent_to_it() {
    let collector = Collector::start().unwrap();
    {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(send_async(
            &collector.endpoint(),
            request("a", vec![span(5, 1, 0, "x", base_time(), 0, 1)]),
            false,
        ));
    }
    collector.wait_for_spans(1, TIMEOUT).unwrap();
    send(
        &collector.endpoint(),
        request("a", vec![span(5, 2, 1, "y", base_time(), 0, 1)]),
        false,
    );
    collector.wait_for_spans(2, TIMEOUT).unwrap();
}
