//! The bridge is chosen in the builder: with `Bridge::TracingOpenTelemetry`, `init()`
//! installs tracing-opentelemetry's layer and code that calls its `OpenTelemetrySpanExt`
//! keeps working; `nais_otel::SpanExt` works there too. Its own binary: it sets the
//! global subscriber.

use nais_otel::bridge::Bridge;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::Value;
use opentelemetry_sdk::trace::InMemorySpanExporter;

#[test]
fn tracing_opentelemetry_on_request_keeps_its_extension_trait_working() {
    let exporter = InMemorySpanExporter::default();
    let guard = nais_otel::builder()
        .with_env_lookup(|_| None)
        .with_span_exporter(exporter.clone())
        .with_bridge(Bridge::TracingOpenTelemetry)
        .init()
        .expect("init");
    {
        let span = tracing::info_span!("legacy");
        tracing_opentelemetry::OpenTelemetrySpanExt::set_attribute(&span, "team", "dogbook");
        nais_otel::SpanExt::set_attribute(&span, "cache.hit", true);
        let cx = tracing_opentelemetry::OpenTelemetrySpanExt::context(&span);
        assert!(cx.span().span_context().is_valid());
        span.in_scope(|| {
            assert_eq!(
                opentelemetry::Context::current().span().span_context(),
                cx.span().span_context()
            );
        });
    }
    guard.force_flush();
    let spans = exporter.get_finished_spans().expect("spans");
    let legacy = spans.iter().find(|s| s.name == "legacy").expect("legacy");
    let attr = |key: &str| {
        legacy
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.clone())
    };
    assert_eq!(attr("team"), Some(Value::from("dogbook")));
    assert_eq!(attr("cache.hit"), Some(Value::Bool(true)));
}
