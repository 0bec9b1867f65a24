//! OTLP/gRPC reception: what arrives is what was sent.

use nais_otel_console::{AttributeValue, Collector, ReceivedSpanKind, ReceivedStatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::support::*;

#[test]
fn spans_arrive_with_ids_parents_attributes_resource_and_status() {
    let collector = Collector::start().unwrap();
    let base = base_time();
    let mut root = span(1, 1, 0, "GET /api/v1/kennels", base, 0, 200);
    root.attributes = vec![
        string_kv("http.route", "/api/v1/kennels"),
        int_kv("http.response.status_code", 200),
    ];
    let child = error(
        span(1, 2, 1, "kennels.get-inventory", base, 10, 110),
        "boom",
    );
    send(
        &collector.endpoint(),
        request("kennels", vec![root, child]),
        false,
    );

    let spans = collector.wait_for_spans(2, TIMEOUT).unwrap();
    assert_eq!(spans.len(), 2);
    let root = &spans[0];
    assert_eq!(root.trace_id, hex(&trace_id(1)));
    assert_eq!(root.trace_id.len(), 32);
    assert_eq!(root.span_id, hex(&span_id(1)));
    assert_eq!(root.parent_span_id, None);
    assert_eq!(root.name, "GET /api/v1/kennels");
    assert_eq!(root.kind, ReceivedSpanKind::Server);
    assert_eq!(root.attr_str("http.route"), Some("/api/v1/kennels"));
    assert_eq!(
        root.attr("http.response.status_code"),
        Some(&AttributeValue::Int(200))
    );
    assert_eq!(root.service_name(), Some("kennels"));
    assert_eq!(root.resource_attr_str("service.name"), Some("kennels"));
    assert_eq!(root.scope_name, "test-scope");
    assert_eq!(root.status.code, ReceivedStatusCode::Unset);
    assert!(root.is_sampled());
    assert_eq!(root.duration().as_millis(), 200);

    let child = &spans[1];
    assert_eq!(child.parent_span_id.as_deref(), Some(root.span_id.as_str()));
    assert!(child.is_error());
    assert_eq!(child.status.message, "boom");
    assert_eq!(collector.request_count(), 1);
}

#[test]
fn gzip_compressed_requests_are_accepted() {
    let collector = Collector::start().unwrap();
    let base = base_time();
    send(
        &collector.endpoint(),
        request("dogs", vec![span(2, 1, 0, "GET /dogs", base, 0, 5)]),
        true,
    );
    let spans = collector.wait_for_spans(1, TIMEOUT).unwrap();
    assert_eq!(spans[0].name, "GET /dogs");
}

#[test]
fn requests_larger_than_tonics_default_limit_are_accepted() {
    let collector = Collector::start().unwrap();
    let mut big = span(3, 1, 0, "big", base_time(), 0, 1);
    // tonic's default decoding limit is 4 MiB.
    big.attributes = vec![string_kv("payload", &"x".repeat(6 * 1024 * 1024))];
    send(&collector.endpoint(), request("big", vec![big]), false);
    let spans = collector.wait_for_spans(1, TIMEOUT).unwrap();
    assert_eq!(
        spans[0].attr_str("payload").map(str::len),
        Some(6 * 1024 * 1024)
    );
}

#[test]
fn raw_requests_hold_the_protobuf_of_each_request() {
    let collector = Collector::start().unwrap();
    let base = base_time();
    let first = request("kennels", vec![string_span(base)]);
    send(&collector.endpoint(), first.clone(), true);
    send(
        &collector.endpoint(),
        request("dogs", vec![span(4, 2, 0, "b", base, 0, 1)]),
        false,
    );
    collector.wait_for_spans(2, TIMEOUT).unwrap();

    let raw = collector.raw_requests();
    assert_eq!(raw.len(), 2);
    assert_eq!(collector.request_count(), 2);
    assert_eq!(
        ExportTraceServiceRequest::decode(raw[0].as_slice()).unwrap(),
        first
    );
    let needle = b"secret-value";
    assert!(raw[0].windows(needle.len()).any(|w| w == needle));
    assert!(!raw[1].windows(needle.len()).any(|w| w == needle));
}

fn string_span(base: u64) -> opentelemetry_proto::tonic::trace::v1::Span {
    let mut s = span(4, 1, 0, "a", base, 0, 1);
    s.attributes = vec![string_kv("user.secret", "secret-value")];
    s
}

#[test]
fn clear_forgets_everything() {
    let collector = Collector::start().unwrap();
    send(
        &collector.endpoint(),
        request("dogs", vec![span(5, 1, 0, "a", base_time(), 0, 1)]),
        false,
    );
    collector.wait_for_spans(1, TIMEOUT).unwrap();
    collector.clear();
    assert!(collector.spans().is_empty());
    assert!(collector.raw_requests().is_empty());
    assert_eq!(collector.request_count(), 0);
    assert!(collector.traces().is_empty());
}

#[test]
fn wait_for_times_out_with_a_helpful_message() {
    let collector = Collector::start().unwrap();
    send(
        &collector.endpoint(),
        request("dogs", vec![span(6, 1, 0, "only-one", base_time(), 0, 1)]),
        false,
    );
    let err = collector
        .wait_for(
            |spans| spans.iter().any(|s| s.name == "never"),
            std::time::Duration::from_millis(200),
        )
        .unwrap_err();
    assert_eq!(err.kind(), nais_otel_console::WaitErrorKind::TimedOut);
    assert!(err.to_string().contains("only-one"), "{err}");
    assert_eq!(err.spans().len(), 1);
}
