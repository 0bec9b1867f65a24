//! The subscriber `init()` builds, under different log filters: `tracing` spans and events
//! at INFO and above become trace spans and span events whatever `RUST_LOG` says, DEBUG
//! spans and nais-otel's own never do, and the log output follows `RUST_LOG` alone. With
//! `RUST_LOG` unset or `info` the bridge decides its own interest; with any other filter it
//! sits behind a per-layer filter. Both must behave the same.

mod support;

use support::Lines;

use nais_otel::config::LogFormat;
use nais_otel::SpanExt as _;
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

impl Lines {
    fn messages(&self) -> Vec<String> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|line| line["message"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Runs the same code under `init()`'s subscriber with `filter` as `RUST_LOG` (`None`:
/// unset); returns the spans exported and the messages logged.
fn run(filter: Option<&str>) -> (Vec<SpanData>, Vec<String>) {
    let exporter = InMemorySpanExporter::default();
    let lines = Lines::default();
    let writer = lines.clone();
    let filter = filter.map(str::to_owned);
    let guard = nais_otel::builder()
        .with_env_lookup(move |name| (name == "RUST_LOG").then(|| filter.clone()).flatten())
        .with_span_exporter(exporter.clone())
        .with_globals(false)
        .with_log_format(LogFormat::Json)
        .with_log_writer(move || writer.clone())
        .init()
        .expect("init");
    let subscriber = guard.subscriber().expect("init() builds its subscriber");
    tracing::dispatcher::with_default(subscriber, || {
        let span = tracing::info_span!("checkout", cart.items = 3_u32);
        span.set_attribute("cart.currency", "NOK");
        let _entered = span.enter();
        tracing::debug_span!("too-detailed").in_scope(|| tracing::info!("in a debug span"));
        tracing::info_span!(target: "nais_otel", "internal")
            .in_scope(|| tracing::info!("in nais-otel's span"));
        tracing::warn!(target: "nais_otel", "nais-otel's own warning");
        tracing::info!("paid");
        tracing::debug!("details");
        tracing::warn!("slow");
    });
    guard.force_flush();
    let spans = exporter.get_finished_spans().expect("spans");
    (spans, lines.messages())
}

fn assert_spans(spans: &[SpanData], filter: Option<&str>) {
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["checkout"], "RUST_LOG={filter:?}");
    let checkout = &spans[0];
    let attr = |key: &str| support::attr(&checkout.attributes, key).cloned();
    assert_eq!(
        attr("cart.items"),
        Some(Value::I64(3)),
        "RUST_LOG={filter:?}"
    );
    assert_eq!(
        attr("cart.currency"),
        Some(Value::from("NOK")),
        "RUST_LOG={filter:?}"
    );
    // Events in spans the bridge does not keep land on the span it keeps above them.
    let events: Vec<&str> = checkout
        .events
        .events
        .iter()
        .map(|e| e.name.as_ref())
        .collect();
    assert_eq!(
        events,
        ["in a debug span", "in nais-otel's span", "paid", "slow"],
        "RUST_LOG={filter:?}"
    );
}

#[test]
fn rust_log_unset_or_info_traces_info_and_logs_info() {
    for filter in [None, Some("info"), Some(" INFO ")] {
        let (spans, messages) = run(filter);
        assert_spans(&spans, filter);
        assert_eq!(
            messages,
            [
                "in a debug span",
                "in nais-otel's span",
                "nais-otel's own warning",
                "paid",
                "slow"
            ],
            "RUST_LOG={filter:?}"
        );
    }
}

#[test]
fn rust_log_warn_still_traces_info() {
    let filter = Some("warn");
    let (spans, messages) = run(filter);
    assert_spans(&spans, filter);
    assert_eq!(messages, ["nais-otel's own warning", "slow"]);
}

#[test]
fn rust_log_debug_logs_debug_but_traces_info() {
    let filter = Some("debug");
    let (spans, messages) = run(filter);
    assert_spans(&spans, filter);
    assert_eq!(
        messages,
        [
            "in a debug span",
            "in nais-otel's span",
            "nais-otel's own warning",
            "paid",
            "details",
            "slow"
        ]
    );
}

#[test]
fn rust_log_per_target_traces_info_everywhere() {
    // Another crate's INFO spans are traced though its logs are off.
    let filter = Some("info,bridge_filters=error");
    let (spans, messages) = run(filter);
    assert_spans(&spans, filter);
    assert_eq!(messages, ["nais-otel's own warning"]);
}
