//! The guard's drop flushes every span when the collector is up, and returns
//! within the shutdown timeout when it is down, from a multi-thread runtime, a
//! current-thread runtime, and outside any runtime.

mod support;

use std::time::{Duration, Instant};

use nais_otel::Guard;
use nais_otel_console::Collector;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};

const SPANS: usize = 50;
/// The shutdown timeout `support::builder` sets.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);
/// The shutdown timeout `support::live` sets: a drop that reaches it is one that
/// waited for nothing it could get.
const LIVE_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// Allowance over the timeout for thread scheduling on a loaded CI machine.
const SLACK: Duration = Duration::from_secs(3);

fn make_spans(guard: &Guard) {
    let tracer = guard.provider().expect("provider").tracer("shutdown-test");
    for i in 0..SPANS {
        tracer.in_span(format!("span-{i}"), |_| {});
    }
}

fn assert_all_arrive(collector: &Collector) {
    let spans = collector
        .wait_for_spans(SPANS, Duration::from_secs(10))
        .expect("every span arrives");
    assert_eq!(spans.len(), SPANS);
}

/// Drops the guard and returns how long the drop took.
fn timed_drop(guard: Guard) -> Duration {
    let started = Instant::now();
    drop(guard);
    started.elapsed()
}

fn assert_bounded(took: Duration) {
    assert!(
        took < SHUTDOWN_TIMEOUT + SLACK,
        "shutdown took {took:?}, more than the {SHUTDOWN_TIMEOUT:?} timeout"
    );
}

/// With the collector up, the drop ends when the export does, well before the timeout.
fn assert_done_before_the_timeout(took: Duration) {
    assert!(
        took < LIVE_SHUTDOWN_TIMEOUT,
        "shutdown took {took:?}: it waited for its {LIVE_SHUTDOWN_TIMEOUT:?} timeout"
    );
}

// === collector up ===

#[test]
fn up_outside_any_runtime() {
    let collector = Collector::start().expect("collector");
    let guard = support::live(&collector.endpoint(), &[])
        .init()
        .expect("init");
    make_spans(&guard);
    assert_done_before_the_timeout(timed_drop(guard));
    assert_all_arrive(&collector);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_inside_multi_thread_runtime() {
    let collector = Collector::start().expect("collector");
    let guard = support::live(&collector.endpoint(), &[])
        .init()
        .expect("init");
    make_spans(&guard);
    assert_done_before_the_timeout(timed_drop(guard));
    assert_all_arrive(&collector);
}

#[tokio::test(flavor = "current_thread")]
async fn up_inside_current_thread_runtime() {
    let collector = Collector::start().expect("collector");
    let guard = support::live(&collector.endpoint(), &[])
        .init()
        .expect("init");
    make_spans(&guard);
    assert_done_before_the_timeout(timed_drop(guard));
    assert_all_arrive(&collector);
}

#[test]
fn up_after_the_runtime_is_gone() {
    let collector = Collector::start().expect("collector");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Made inside a runtime, which is then dropped before the guard.
    let guard = runtime.block_on(async {
        let guard = support::live(&collector.endpoint(), &[])
            .init()
            .expect("init");
        make_spans(&guard);
        guard
    });
    drop(runtime);
    assert_done_before_the_timeout(timed_drop(guard));
    assert_all_arrive(&collector);
}

// === collector down ===

#[test]
fn refused_outside_any_runtime() {
    let guard = support::builder(&support::refused_endpoint(), &[])
        .init()
        .expect("init");
    make_spans(&guard);
    let took = timed_drop(guard);
    assert_bounded(took);
}

#[test]
fn silent_collector_outside_any_runtime() {
    let (_listener, endpoint) = support::silent_endpoint();
    let guard = support::builder(&endpoint, &[]).init().expect("init");
    make_spans(&guard);
    assert_bounded(timed_drop(guard));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_collector_inside_multi_thread_runtime() {
    let (_listener, endpoint) = support::silent_endpoint();
    let guard = support::builder(&endpoint, &[]).init().expect("init");
    make_spans(&guard);
    assert_bounded(timed_drop(guard));
}

#[tokio::test(flavor = "current_thread")]
async fn silent_collector_inside_current_thread_runtime() {
    let (_listener, endpoint) = support::silent_endpoint();
    let guard = support::builder(&endpoint, &[]).init().expect("init");
    make_spans(&guard);
    assert_bounded(timed_drop(guard));
}

#[test]
fn down_reports_the_spans_lost() {
    let guard = support::builder(&support::refused_endpoint(), &[])
        .init()
        .expect("init");
    make_spans(&guard);
    let counts = guard.shutdown();
    assert_eq!(counts.ended, SPANS as u64);
    assert_eq!(counts.exported, 0);
    assert_eq!(counts.lost(), SPANS as u64, "{counts:?}");
}

#[test]
fn init_does_not_wait_for_a_silent_collector() {
    let (_listener, endpoint) = support::silent_endpoint();
    let started = Instant::now();
    let guard = support::builder(&endpoint, &[])
        .with_timeout(Duration::from_secs(30))
        .init()
        .expect("init");
    // The request timeout is 30 s; init must not spend it connecting.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(guard);
}

#[test]
fn collector_that_comes_up_later_gets_later_spans() {
    // Reserve a port, start with nothing listening, then bring a collector up there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let guard = support::builder(&format!("http://{addr}"), &[])
        .init()
        .expect("init");
    make_spans(&guard);
    let collector = Collector::builder()
        .addr(addr)
        .start()
        .expect("collector on the same port");
    let tracer = guard.provider().expect("provider").tracer("later");
    tracer.in_span("after-the-collector-came-up", |_| {});
    collector
        .wait_for(
            |spans| {
                spans
                    .iter()
                    .any(|s| s.name == "after-the-collector-came-up")
            },
            Duration::from_secs(10),
        )
        .expect("spans made after the collector came up arrive");
    drop(guard);
}

#[test]
fn drops_are_counted_exactly_when_the_queue_is_full() {
    let (_listener, endpoint) = support::silent_endpoint();
    let guard = support::builder(&endpoint, &[])
        .with_batch_settings(
            nais_otel::config::BatchSettings::new()
                .with_schedule_delay(Duration::from_millis(100))
                .with_export_timeout(Duration::from_secs(2))
                .with_max_queue_size(8)
                .with_max_export_batch_size(8),
        )
        .init()
        .expect("init");
    let tracer = guard.provider().expect("provider").tracer("queue");
    for i in 0..100 {
        tracer.in_span(format!("span-{i}"), |_| {});
    }
    let running = guard.span_counts();
    assert_eq!(running.ended, 100);
    // Every span is accounted for exactly once.
    assert_eq!(
        running.exported + running.dropped_in_queue + running.failed + running.queued,
        100,
        "{running:?}"
    );
    // At most one queue and one batch in flight were not dropped.
    assert!(running.dropped_in_queue >= 100 - 16, "{running:?}");
    assert!(running.queued <= 8, "{running:?}");
    let after = guard.shutdown();
    assert_eq!(after.lost(), 100, "{after:?}");
    assert_eq!(after.dropped_in_queue, running.dropped_in_queue);
}

#[test]
fn a_day_long_export_timeout_holds_shutdown_up_ten_seconds_at_most() {
    // Export and batch timeouts of a day, read from the environment as a team might set
    // them for a slow collector, and a collector that never answers: the guard still
    // gives up after 10 s.
    let (_listener, endpoint) = support::silent_endpoint();
    let day = "86400000";
    let guard = nais_otel::builder()
        .with_env_lookup(support::env(&[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", day),
            ("OTEL_BSP_EXPORT_TIMEOUT", day),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ]))
        .with_globals(false)
        .with_endpoint(&endpoint)
        .init()
        .expect("init");
    make_spans(&guard);
    let took = timed_drop(guard);
    assert!(
        took < Duration::from_secs(10) + SLACK,
        "shutdown took {took:?}"
    );
}
