//! `init()`'s own subscriber with the default bridge: `tracing` spans at INFO and above
//! become trace spans (nais-otel's own diagnostics and DEBUG spans do not), the extension
//! trait reaches the bridge through the subscriber's filters, the JSON log lines carry
//! the span's ids, and records of the `log` crate are log lines and span events. Its own
//! binary: it sets the global subscriber and `log`'s logger.

mod support;

use support::Lines;

use nais_otel::config::LogFormat;
use nais_otel::SpanExt as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::Value;
use opentelemetry_sdk::trace::InMemorySpanExporter;

#[test]
fn init_installs_the_bridge_behind_its_filters() {
    let exporter = InMemorySpanExporter::default();
    let lines = Lines::default();
    let writer = lines.clone();
    let guard = nais_otel::builder()
        .with_env_lookup(|_| None)
        .with_span_exporter(exporter.clone())
        .with_log_format(LogFormat::Json)
        .with_log_writer(move || writer.clone())
        .init()
        .expect("init");
    let (trace_id, span_id) = {
        let span = tracing::info_span!("checkout", cart.items = 3_u32);
        span.set_attribute("cart.currency", "NOK");
        let _entered = span.enter();
        tracing::debug_span!("too-detailed").in_scope(|| {});
        tracing::info_span!(target: "nais_otel", "internal").in_scope(|| {});
        tracing::info!("paid");
        // A dependency that logs with the `log` crate.
        log::warn!(target: "some_dependency", "pool exhausted");
        log::debug!(target: "some_dependency", "below the filter");
        // The SDK's own, which the log output leaves out, through `log` too.
        log::warn!(target: "opentelemetry_sdk", "the SDK's own");
        let cx = opentelemetry::Context::current();
        let sc = cx.span().span_context().clone();
        (sc.trace_id().to_string(), sc.span_id().to_string())
    };
    guard.force_flush();
    let spans = exporter.get_finished_spans().expect("spans");
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["checkout"], "INFO and above, not nais-otel's own");
    let checkout = &spans[0];
    assert_eq!(checkout.span_context.span_id().to_string(), span_id);
    let attr = |key: &str| support::attr(&checkout.attributes, key).cloned();
    assert_eq!(attr("cart.items"), Some(Value::I64(3)));
    assert_eq!(attr("cart.currency"), Some(Value::from("NOK")));
    assert_eq!(checkout.events.events[0].name, "paid");
    // The `log` record: a span event with the record's target, without `log.*` fields.
    let record = &checkout.events.events[1];
    assert_eq!(record.name, "pool exhausted");
    let event_attr = |key: &str| support::attr(&record.attributes, key).cloned();
    assert_eq!(event_attr("target"), Some(Value::from("some_dependency")));
    assert_eq!(event_attr("level"), Some(Value::from("WARN")));
    assert!(
        record
            .attributes
            .iter()
            .all(|kv| !kv.key.as_str().starts_with("log.")),
        "{:?}",
        record.attributes
    );
    assert_eq!(checkout.events.events.len(), 2, "nothing below the filter");

    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let paid = text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["message"] == "paid")
        .unwrap_or_else(|| panic!("no log line for the event: {text}"));
    assert_eq!(paid["trace_id"], trace_id);
    assert_eq!(paid["span_id"], span_id);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|line: &serde_json::Value| line["target"] == "some_dependency")
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(!text.contains("the SDK's own"), "{text}");
    let record = lines[0].as_object().expect("an object");
    assert_eq!(record["message"], "pool exhausted");
    assert_eq!(record["level"], "WARN");
    assert_eq!(record["span_id"], span_id.as_str());
    assert!(
        record.keys().all(|key| !key.starts_with("log.")),
        "{record:?}"
    );
}
