//! `Builder::with_span_exporter`: spans reach an exporter given in code through the same
//! batch processor, counts and masking as nais-otel's own exporters.

use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::InMemorySpanExporter;

const FNR: &str = "01019012345";

#[test]
fn spans_reach_a_custom_exporter_masked_and_counted() {
    let exporter = InMemorySpanExporter::default();
    let guard = nais_otel::builder()
        .with_env_lookup(|_| None)
        .with_service_name("custom-exporter-test")
        .with_span_exporter(exporter.clone())
        .with_globals(false)
        .init()
        .expect("init");
    let tracer = guard.provider().expect("tracing is on").tracer("test");
    let mut span = tracer.start(format!("GET /person/{FNR}"));
    span.set_attribute(KeyValue::new("url.query", format!("fnr={FNR}")));
    span.set_attribute(KeyValue::new("team", "dogbook"));
    span.end();
    guard.force_flush();

    let spans = exporter.get_finished_spans().expect("finished spans");
    assert_eq!(spans.len(), 1, "{spans:?}");
    let span = &spans[0];
    assert!(
        !span.name.contains(FNR),
        "span name not masked: {}",
        span.name
    );
    for kv in &span.attributes {
        assert!(
            !kv.value.as_str().contains(FNR),
            "attribute {} not masked: {}",
            kv.key,
            kv.value
        );
    }
    assert!(span
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == "team" && kv.value.as_str() == "dogbook"));

    let counts = guard.span_counts();
    assert_eq!(counts.ended, 1, "{counts:?}");
    assert_eq!(counts.exported, 1, "{counts:?}");
    assert_eq!(counts.lost(), 0, "{counts:?}");
}
