//! Owned, plain-Rust views of the spans the collector received.
//!
//! The OTLP protobuf types are converted once, on arrival, into [`ReceivedSpan`] so tests can
//! assert on ordinary strings, enums and times without touching prost types.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span, status, Span};

/// The resource attribute that names a service.
pub const SERVICE_NAME: &str = "service.name";

/// An attribute value, converted from OTLP's `AnyValue`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AttributeValue {
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Double(f64),
    /// An array of values.
    Array(Vec<AttributeValue>),
    /// A list of key-value pairs (OTLP `kvlist_value`).
    Map(Vec<(String, AttributeValue)>),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// No value was set.
    Empty,
}

impl AttributeValue {
    /// The string, if this is a [`AttributeValue::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttributeValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is a [`AttributeValue::Int`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttributeValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The boolean, if this is a [`AttributeValue::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttributeValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The float, if this is a [`AttributeValue::Double`].
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttributeValue::Double(d) => Some(*d),
            _ => None,
        }
    }

    pub(crate) fn from_proto(value: Option<&AnyValue>) -> AttributeValue {
        let Some(inner) = value.and_then(|v| v.value.as_ref()) else {
            return AttributeValue::Empty;
        };
        match inner {
            any_value::Value::StringValue(s) => AttributeValue::String(s.clone()),
            any_value::Value::BoolValue(b) => AttributeValue::Bool(*b),
            any_value::Value::IntValue(i) => AttributeValue::Int(*i),
            any_value::Value::DoubleValue(d) => AttributeValue::Double(*d),
            any_value::Value::ArrayValue(a) => AttributeValue::Array(
                a.values
                    .iter()
                    .map(|v| AttributeValue::from_proto(Some(v)))
                    .collect(),
            ),
            any_value::Value::KvlistValue(l) => {
                AttributeValue::Map(attributes_from_proto(&l.values))
            }
            any_value::Value::BytesValue(b) => AttributeValue::Bytes(b.clone()),
            // Only meaningful for the profiling signal; the spec says to treat it as absent.
            any_value::Value::StringValueStrindex(_) => AttributeValue::Empty,
        }
    }
}

impl fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttributeValue::String(s) => f.write_str(s),
            AttributeValue::Bool(b) => write!(f, "{b}"),
            AttributeValue::Int(i) => write!(f, "{i}"),
            AttributeValue::Double(d) => write!(f, "{d}"),
            AttributeValue::Array(values) => {
                f.write_str("[")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            AttributeValue::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            AttributeValue::Bytes(b) => f.write_str(&hex(b)),
            AttributeValue::Empty => Ok(()),
        }
    }
}

/// What a span describes, converted from OTLP's `SpanKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceivedSpanKind {
    /// The sender did not say.
    Unspecified,
    /// An operation inside one service.
    Internal,
    /// The server side of a request.
    Server,
    /// The client side of a request.
    Client,
    /// A message sent to a broker.
    Producer,
    /// A message received from a broker.
    Consumer,
}

impl ReceivedSpanKind {
    fn from_proto(kind: i32) -> ReceivedSpanKind {
        match span::SpanKind::try_from(kind) {
            Ok(span::SpanKind::Internal) => ReceivedSpanKind::Internal,
            Ok(span::SpanKind::Server) => ReceivedSpanKind::Server,
            Ok(span::SpanKind::Client) => ReceivedSpanKind::Client,
            Ok(span::SpanKind::Producer) => ReceivedSpanKind::Producer,
            Ok(span::SpanKind::Consumer) => ReceivedSpanKind::Consumer,
            Ok(span::SpanKind::Unspecified) | Err(_) => ReceivedSpanKind::Unspecified,
        }
    }

    /// A short lowercase name: `server`, `client`, ...
    pub fn as_str(&self) -> &'static str {
        match self {
            ReceivedSpanKind::Unspecified => "unspecified",
            ReceivedSpanKind::Internal => "internal",
            ReceivedSpanKind::Server => "server",
            ReceivedSpanKind::Client => "client",
            ReceivedSpanKind::Producer => "producer",
            ReceivedSpanKind::Consumer => "consumer",
        }
    }
}

impl fmt::Display for ReceivedSpanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status code of a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReceivedStatusCode {
    /// The default: nothing was set.
    #[default]
    Unset,
    /// Explicitly marked successful.
    Ok,
    /// The operation failed.
    Error,
}

/// The status of a span: a code and, for errors, a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceivedStatus {
    /// The status code.
    pub code: ReceivedStatusCode,
    /// The description; only meaningful for [`ReceivedStatusCode::Error`].
    pub message: String,
}

impl ReceivedStatus {
    fn from_proto(
        status: Option<&opentelemetry_proto::tonic::trace::v1::Status>,
    ) -> ReceivedStatus {
        let Some(status) = status else {
            return ReceivedStatus::default();
        };
        let code = match status::StatusCode::try_from(status.code) {
            Ok(status::StatusCode::Ok) => ReceivedStatusCode::Ok,
            Ok(status::StatusCode::Error) => ReceivedStatusCode::Error,
            Ok(status::StatusCode::Unset) | Err(_) => ReceivedStatusCode::Unset,
        };
        ReceivedStatus {
            code,
            message: status.message.clone(),
        }
    }

    /// Whether the code is [`ReceivedStatusCode::Error`].
    pub fn is_error(&self) -> bool {
        self.code == ReceivedStatusCode::Error
    }
}

/// An event recorded on a span.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    /// The event's name.
    pub name: String,
    /// When it happened, in nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// Its attributes, in the order received.
    pub attributes: Vec<(String, AttributeValue)>,
}

impl ReceivedEvent {
    /// The value of attribute `key`, if present.
    pub fn attr(&self, key: &str) -> Option<&AttributeValue> {
        find(&self.attributes, key)
    }

    /// The value of attribute `key`, if present and a string.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attr(key).and_then(AttributeValue::as_str)
    }
}

/// A link from a span to another span.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedLink {
    /// The linked span's trace id, lowercase hex.
    pub trace_id: String,
    /// The linked span's id, lowercase hex.
    pub span_id: String,
    /// The link's attributes.
    pub attributes: Vec<(String, AttributeValue)>,
}

/// One span as the collector received it, with its resource and scope.
///
/// Ids are lowercase hex strings (32 characters for a trace id, 16 for a span id) so they
/// compare directly with what `opentelemetry`'s `TraceId`/`SpanId` print with `{}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// The trace id, 32 lowercase hex characters.
    pub trace_id: String,
    /// The span id, 16 lowercase hex characters.
    pub span_id: String,
    /// The parent's span id, or `None` for a root span.
    pub parent_span_id: Option<String>,
    /// The W3C `tracestate`, as sent.
    pub trace_state: String,
    /// The span's flags field (the low 8 bits are the W3C trace flags).
    pub flags: u32,
    /// The span's name.
    pub name: String,
    /// The span's kind.
    pub kind: ReceivedSpanKind,
    /// Start time in nanoseconds since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// End time in nanoseconds since the Unix epoch.
    pub end_time_unix_nano: u64,
    /// The span's attributes, in the order received.
    pub attributes: Vec<(String, AttributeValue)>,
    /// The span's events.
    pub events: Vec<ReceivedEvent>,
    /// The span's links.
    pub links: Vec<ReceivedLink>,
    /// The span's status.
    pub status: ReceivedStatus,
    /// The attributes of the resource that sent the span (`service.name`, ...).
    pub resource: Vec<(String, AttributeValue)>,
    /// The instrumentation scope's name.
    pub scope_name: String,
    /// The instrumentation scope's version.
    pub scope_version: String,
}

impl ReceivedSpan {
    /// The value of span attribute `key`, if present.
    pub fn attr(&self, key: &str) -> Option<&AttributeValue> {
        find(&self.attributes, key)
    }

    /// The value of span attribute `key`, if present and a string.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attr(key).and_then(AttributeValue::as_str)
    }

    /// The value of span attribute `key`, if present and an integer.
    pub fn attr_i64(&self, key: &str) -> Option<i64> {
        self.attr(key).and_then(AttributeValue::as_i64)
    }

    /// The value of resource attribute `key`, if present.
    pub fn resource_attr(&self, key: &str) -> Option<&AttributeValue> {
        find(&self.resource, key)
    }

    /// The value of resource attribute `key`, if present and a string.
    pub fn resource_attr_str(&self, key: &str) -> Option<&str> {
        self.resource_attr(key).and_then(AttributeValue::as_str)
    }

    /// The resource's `service.name`.
    pub fn service_name(&self) -> Option<&str> {
        self.resource_attr_str(SERVICE_NAME)
    }

    /// Whether the span has no parent.
    pub fn is_root(&self) -> bool {
        self.parent_span_id.is_none()
    }

    /// Whether the span's status is an error.
    pub fn is_error(&self) -> bool {
        self.status.is_error()
    }

    /// Whether the W3C `sampled` flag is set.
    pub fn is_sampled(&self) -> bool {
        self.flags & 0x01 == 0x01
    }

    /// The first event named `name`.
    pub fn event(&self, name: &str) -> Option<&ReceivedEvent> {
        self.events.iter().find(|e| e.name == name)
    }

    /// The start time.
    pub fn start(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.start_time_unix_nano)
    }

    /// The end time.
    pub fn end(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.end_time_unix_nano)
    }

    /// End minus start; zero if the end is before the start.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(
            self.end_time_unix_nano
                .saturating_sub(self.start_time_unix_nano),
        )
    }

    pub(crate) fn from_proto(
        span: &Span,
        resource: &[(String, AttributeValue)],
        scope: Option<&InstrumentationScope>,
    ) -> ReceivedSpan {
        ReceivedSpan {
            trace_id: hex(&span.trace_id),
            span_id: hex(&span.span_id),
            parent_span_id: if span.parent_span_id.is_empty()
                || span.parent_span_id.iter().all(|b| *b == 0)
            {
                None
            } else {
                Some(hex(&span.parent_span_id))
            },
            trace_state: span.trace_state.clone(),
            flags: span.flags,
            name: span.name.clone(),
            kind: ReceivedSpanKind::from_proto(span.kind),
            start_time_unix_nano: span.start_time_unix_nano,
            end_time_unix_nano: span.end_time_unix_nano,
            attributes: attributes_from_proto(&span.attributes),
            events: span
                .events
                .iter()
                .map(|e| ReceivedEvent {
                    name: e.name.clone(),
                    time_unix_nano: e.time_unix_nano,
                    attributes: attributes_from_proto(&e.attributes),
                })
                .collect(),
            links: span
                .links
                .iter()
                .map(|l| ReceivedLink {
                    trace_id: hex(&l.trace_id),
                    span_id: hex(&l.span_id),
                    attributes: attributes_from_proto(&l.attributes),
                })
                .collect(),
            status: ReceivedStatus::from_proto(span.status.as_ref()),
            resource: resource.to_vec(),
            scope_name: scope.map(|s| s.name.clone()).unwrap_or_default(),
            scope_version: scope.map(|s| s.version.clone()).unwrap_or_default(),
        }
    }
}

pub(crate) fn attributes_from_proto(attributes: &[KeyValue]) -> Vec<(String, AttributeValue)> {
    attributes
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                AttributeValue::from_proto(kv.value.as_ref()),
            )
        })
        .collect()
}

fn find<'a>(attributes: &'a [(String, AttributeValue)], key: &str) -> Option<&'a AttributeValue> {
    attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(hex(&[0x00, 0x0a, 0xff]), "000aff");
    }

    #[test]
    fn all_zero_parent_is_root() {
        let span = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            parent_span_id: vec![0; 8],
            ..Default::default()
        };
        let received = ReceivedSpan::from_proto(&span, &[], None);
        assert!(received.is_root());
        assert_eq!(received.trace_id, "01".repeat(16));
    }
}
