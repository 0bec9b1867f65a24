//! Real spans from the OpenTelemetry SDK through opentelemetry-otlp's tonic exporter.

use nais_otel_console::{Collector, ReceivedSpanKind, ReceivedStatusCode};
use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Compression, WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

use crate::support::TIMEOUT;

#[test]
fn sdk_spans_arrive_through_the_otlp_exporter() {
    let collector = Collector::start().unwrap();
    // The tonic exporter needs a tokio runtime to build its channel and do its I/O; the
    // batch processor's own thread then drives exports through it.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let provider = {
        let _guard = runtime.enter();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(collector.endpoint())
            .with_compression(Compression::Gzip)
            .build()
            .unwrap();
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                Resource::builder_empty()
                    .with_service_name("kennels")
                    .build(),
            )
            .build()
    };
    let tracer = provider.tracer("otlp-exporter-test");

    let (trace_id, root_id) = tracer.in_span("GET /api/v1/kennels", |cx| {
        let root = cx.span();
        root.set_attribute(KeyValue::new("http.route", "/api/v1/kennels"));
        let mut child = tracer
            .span_builder("kennels.get-inventory")
            .with_kind(SpanKind::Client)
            .start_with_context(&tracer, &cx);
        child.set_status(opentelemetry::trace::Status::error("inventory down"));
        child.add_event("retry", vec![KeyValue::new("attempt", 2)]);
        child.end();
        (
            root.span_context().trace_id(),
            root.span_context().span_id(),
        )
    });
    provider.force_flush().unwrap();

    let trace = collector.wait_for_trace(TIMEOUT).unwrap();
    assert_eq!(trace.trace_id, trace_id.to_string());
    assert!(trace.is_complete());
    let root = trace.root().unwrap();
    assert_eq!(root.span_id, root_id.to_string());
    assert_eq!(root.attr_str("http.route"), Some("/api/v1/kennels"));
    assert_eq!(root.service_name(), Some("kennels"));
    assert_eq!(root.scope_name, "otlp-exporter-test");
    let child = trace.span_named("kennels.get-inventory").unwrap();
    assert_eq!(child.parent_span_id.as_deref(), Some(root.span_id.as_str()));
    assert_eq!(child.kind, ReceivedSpanKind::Client);
    assert_eq!(child.status.code, ReceivedStatusCode::Error);
    assert_eq!(child.status.message, "inventory down");
    assert_eq!(
        child
            .event("retry")
            .and_then(|e| e.attr("attempt"))
            .and_then(|v| v.as_i64()),
        Some(2)
    );

    provider.shutdown().unwrap();
}
