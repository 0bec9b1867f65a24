//! Builders for OTLP requests and a blocking gRPC sender.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{status, ResourceSpans, ScopeSpans, Span, Status};

pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// A trace id made of one repeated byte.
pub(crate) fn trace_id(byte: u8) -> Vec<u8> {
    vec![byte; 16]
}

/// A span id made of one repeated byte.
pub(crate) fn span_id(byte: u8) -> Vec<u8> {
    vec![byte; 8]
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn base_time() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(now.as_nanos()).unwrap()
}

pub(crate) fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        key_strindex: 0,
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
    }
}

pub(crate) fn int_kv(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        key_strindex: 0,
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
    }
}

/// A span of trace `t`, id `id`, parent `parent` (0 for none), from `start_ms` to `end_ms`
/// after `base`.
pub(crate) fn span(
    t: u8,
    id: u8,
    parent: u8,
    name: &str,
    base: u64,
    start_ms: u64,
    end_ms: u64,
) -> Span {
    Span {
        trace_id: trace_id(t),
        span_id: span_id(id),
        parent_span_id: if parent == 0 { vec![] } else { span_id(parent) },
        name: name.to_owned(),
        kind: 2,
        start_time_unix_nano: base + start_ms * 1_000_000,
        end_time_unix_nano: base + end_ms * 1_000_000,
        flags: 1,
        ..Default::default()
    }
}

pub(crate) fn error(mut span: Span, message: &str) -> Span {
    span.status = Some(Status {
        message: message.to_owned(),
        code: status::StatusCode::Error as i32,
    });
    span
}

/// One request with `spans` from service `service`.
pub(crate) fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string_kv("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "test-scope".to_owned(),
                    version: "1.0".to_owned(),
                    ..Default::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// Send `request` over OTLP/gRPC from a runtime of its own; gzip when asked.
pub(crate) fn send(endpoint: &str, request: ExportTraceServiceRequest, gzip: bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(send_async(endpoint, request, gzip));
}

pub(crate) async fn send_async(endpoint: &str, request: ExportTraceServiceRequest, gzip: bool) {
    let mut client = TraceServiceClient::connect(endpoint.to_owned())
        .await
        .unwrap();
    if gzip {
        client = client.send_compressed(tonic::codec::CompressionEncoding::Gzip);
    }
    client.export(request).await.unwrap();
}
