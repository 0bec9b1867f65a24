//! The OTLP/protobuf bytes of a batch, written straight from the SDK's `SpanData`.
//!
//! `opentelemetry-proto` turns each span into its generated message types first (a
//! `String` for every attribute key and string value, a `Vec` for every id), which prost
//! then encodes and which are freed after the export. Here the same bytes are written from
//! the spans as they are: sizes are counted, then everything goes into one buffer of the
//! exact size. The tests compare the bytes with that path's for generated batches.
//!
//! The resource and the instrumentation scopes, a few per batch, are still converted by
//! `opentelemetry-proto` and encoded by prost.
//!
//! The export thread's spans are written from the threads' buffers as they are
//! ([`request_items`]): the same fields, read in place, without a `SpanData` made and freed
//! for each.

use bytes::Bytes;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{Array, InstrumentationScope, Key, KeyValue, Value};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope as ScopeMessage;
use opentelemetry_proto::tonic::resource::v1::Resource as ResourceMessage;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::trace::SpanData;
use prost::Message as _;

use crate::export::batch::{EventRef, Item, StatusRef, StoredRef, ValueRef};

/// The resource of every request, encoded once.
#[derive(Clone, Debug)]
pub(super) struct EncodedResource {
    message: Vec<u8>,
    schema_url: String,
}

impl Default for EncodedResource {
    fn default() -> Self {
        Self::from_attributes(ResourceAttributesWithSchema::default())
    }
}

impl EncodedResource {
    pub(super) fn new(resource: &opentelemetry_sdk::Resource) -> Self {
        Self::from_attributes(resource.into())
    }

    fn from_attributes(resource: ResourceAttributesWithSchema) -> Self {
        let message = ResourceMessage {
            attributes: resource.attributes.0,
            dropped_attributes_count: 0,
            entity_refs: Vec::new(),
        }
        .encode_to_vec();
        Self {
            message,
            schema_url: resource.schema_url.unwrap_or_default(),
        }
    }
}

/// An `ExportTraceServiceRequest` with `batch` under `resource`: one `ResourceSpans`, a
/// `ScopeSpans` for each instrumentation scope in the order the scopes first appear.
pub(super) fn request(batch: &[SpanData], resource: &EncodedResource) -> Bytes {
    request_of(batch, resource)
}

/// [`request`] for the export thread's items: spans read in place from the threads'
/// buffers, and spans of their own.
pub(super) fn request_items(items: &[Item<'_>], resource: &EncodedResource) -> Bytes {
    request_of(items, resource)
}

/// A span the encoder writes.
trait SpanOut {
    fn scope(&self) -> &InstrumentationScope;
    fn encode_span<S: Sink>(&self, s: &mut S);
}

impl SpanOut for SpanData {
    fn scope(&self) -> &InstrumentationScope {
        &self.instrumentation_scope
    }

    fn encode_span<S: Sink>(&self, s: &mut S) {
        SpanMessage(self).encode(s);
    }
}

impl SpanOut for Item<'_> {
    fn scope(&self) -> &InstrumentationScope {
        match self {
            Item::Stored(_, scope) => scope,
            Item::Data(span) => &span.instrumentation_scope,
        }
    }

    fn encode_span<S: Sink>(&self, s: &mut S) {
        match self {
            Item::Stored(span, _) => StoredMessage(*span).encode(s),
            Item::Data(span) => SpanMessage(span).encode(s),
        }
    }
}

/// A span as a message of its own.
struct Out<'a, T>(&'a T);

impl<T: SpanOut> Encode for Out<'_, T> {
    fn encode<S: Sink>(&self, s: &mut S) {
        self.0.encode_span(s);
    }
}

fn request_of<T: SpanOut>(batch: &[T], resource: &EncodedResource) -> Bytes {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (index, span) in batch.iter().enumerate() {
        let scope = span.scope();
        match groups.iter_mut().find(|group| group.scope == scope) {
            Some(group) => group.spans.push(index),
            None => groups.push(Group {
                scope,
                message: scope_message(scope),
                spans: vec![index],
                len: 0,
            }),
        }
    }
    let span_lens: Vec<usize> = batch.iter().map(|span| measure(&Out(span))).collect();
    let mut resource_spans =
        field_len(1, resource.message.len()) + string_len(3, &resource.schema_url);
    for group in &mut groups {
        group.len = field_len(1, group.message.len())
            + group
                .spans
                .iter()
                .map(|&index| field_len(2, span_lens[index]))
                .sum::<usize>()
            + string_len(3, group.scope.schema_url().unwrap_or_default());
        resource_spans += field_len(2, group.len);
    }
    let mut out = Writer(Vec::with_capacity(field_len(1, resource_spans)));
    out.delimited(1, resource_spans);
    out.bytes_field(1, &resource.message);
    for group in &groups {
        out.delimited(2, group.len);
        out.bytes_field(1, &group.message);
        for &index in &group.spans {
            out.delimited(2, span_lens[index]);
            batch[index].encode_span(&mut out);
        }
        out.string(3, group.scope.schema_url().unwrap_or_default());
    }
    out.string(3, &resource.schema_url);
    Bytes::from(out.0)
}

struct Group<'a> {
    scope: &'a InstrumentationScope,
    message: Vec<u8>,
    spans: Vec<usize>,
    /// The `ScopeSpans` message's length.
    len: usize,
}

fn scope_message(scope: &InstrumentationScope) -> Vec<u8> {
    ScopeMessage::from((scope, None)).encode_to_vec()
}

// === the wire format ===

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

/// Where a message goes: counted ([`Counter`]) or written ([`Writer`]).
trait Sink: Sized {
    fn key(&mut self, field: u32, wire_type: u8);
    fn varint(&mut self, value: u64);
    fn raw(&mut self, bytes: &[u8]);
    fn fixed32(&mut self, value: u32);
    fn fixed64(&mut self, value: u64);

    /// The key and length of a length-delimited field; its content follows.
    fn delimited(&mut self, field: u32, len: usize) {
        self.key(field, LEN);
        self.varint(len as u64);
    }

    /// A nested message: its key, its length, then its fields.
    fn message(&mut self, field: u32, message: &impl Encode) {
        self.delimited(field, measure(message));
        message.encode(self);
    }

    fn bytes_field(&mut self, field: u32, bytes: &[u8]) {
        self.delimited(field, bytes.len());
        self.raw(bytes);
    }

    /// A string field, left out when empty (proto3).
    fn string(&mut self, field: u32, text: &str) {
        if !text.is_empty() {
            self.bytes_field(field, text.as_bytes());
        }
    }

    /// A varint field, left out when zero (proto3).
    fn uint(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.key(field, VARINT);
            self.varint(value);
        }
    }

    fn fixed64_field(&mut self, field: u32, value: u64) {
        if value != 0 {
            self.key(field, I64);
            self.fixed64(value);
        }
    }

    fn fixed32_field(&mut self, field: u32, value: u32) {
        if value != 0 {
            self.key(field, I32);
            self.fixed32(value);
        }
    }
}

trait Encode {
    fn encode<S: Sink>(&self, sink: &mut S);
}

fn measure(message: &impl Encode) -> usize {
    let mut counter = Counter(0);
    message.encode(&mut counter);
    counter.0
}

struct Counter(usize);

impl Sink for Counter {
    fn key(&mut self, field: u32, wire_type: u8) {
        self.0 += varint_len(u64::from(field << 3 | u32::from(wire_type)));
    }
    fn varint(&mut self, value: u64) {
        self.0 += varint_len(value);
    }
    fn raw(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
    fn fixed32(&mut self, _: u32) {
        self.0 += 4;
    }
    fn fixed64(&mut self, _: u64) {
        self.0 += 8;
    }
    // Nested lengths are counted once, not by measuring the message again.
    fn message(&mut self, field: u32, message: &impl Encode) {
        let len = measure(message);
        self.0 += field_len(field, len);
    }
}

struct Writer(Vec<u8>);

impl Sink for Writer {
    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint(u64::from(field << 3 | u32::from(wire_type)));
    }
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }
    fn raw(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
    fn fixed32(&mut self, value: u32) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
    fn fixed64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
}

fn varint_len(value: u64) -> usize {
    // 7 bits a byte; zero takes one byte.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// A length-delimited field of `len` bytes: key, length, content.
fn field_len(field: u32, len: usize) -> usize {
    varint_len(u64::from(field << 3 | u32::from(LEN))) + varint_len(len as u64) + len
}

fn string_len(field: u32, text: &str) -> usize {
    if text.is_empty() {
        0
    } else {
        field_len(field, text.len())
    }
}

// === the messages, fields in the order prost writes them: by field number ===

fn nanos(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

/// The span flags OTLP asks for: the W3C trace flags, and whether the parent is remote.
fn span_flags(trace_flags: u8, parent_is_remote: bool) -> u32 {
    // `SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK` and `SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`.
    u32::from(trace_flags) | 0x100 | if parent_is_remote { 0x200 } else { 0 }
}

/// Fields 1 to 3 of a span and of a link: trace id, span id, trace state.
fn context_fields(s: &mut impl Sink, cx: &SpanContext) {
    s.bytes_field(1, &cx.trace_id().to_bytes());
    s.bytes_field(2, &cx.span_id().to_bytes());
    s.string(3, &cx.trace_state().header());
}

struct SpanMessage<'a>(&'a SpanData);

impl Encode for SpanMessage<'_> {
    fn encode<S: Sink>(&self, s: &mut S) {
        let span = self.0;
        let cx = &span.span_context;
        context_fields(s, cx);
        if span.parent_span_id != SpanId::INVALID {
            s.bytes_field(4, &span.parent_span_id.to_bytes());
        }
        s.string(5, &span.name);
        s.uint(6, kind(&span.span_kind));
        s.fixed64_field(7, nanos(span.start_time));
        s.fixed64_field(8, nanos(span.end_time));
        for attribute in &span.attributes {
            s.message(9, &Attribute(attribute));
        }
        s.uint(10, u64::from(span.dropped_attributes_count));
        for event in span.events.iter() {
            s.message(11, &EventMessage(event));
        }
        s.uint(12, u64::from(span.events.dropped_count));
        for link in span.links.iter() {
            s.message(13, &LinkMessage(link));
        }
        s.uint(14, u64::from(span.links.dropped_count));
        s.message(15, &StatusMessage(&span.status));
        s.fixed32_field(
            16,
            span_flags(cx.trace_flags().to_u8(), span.parent_span_is_remote),
        );
    }
}

/// A span read in place from a thread's buffer: the same fields as [`SpanMessage`].
struct StoredMessage<'a>(StoredRef<'a>);

impl Encode for StoredMessage<'_> {
    fn encode<S: Sink>(&self, s: &mut S) {
        let span = &self.0;
        let cx = span.span_context();
        context_fields(s, cx);
        if span.parent_span_id() != SpanId::INVALID {
            s.bytes_field(4, &span.parent_span_id().to_bytes());
        }
        s.string(5, span.name());
        s.uint(6, kind(span.span_kind()));
        s.fixed64_field(7, nanos(span.start_time()));
        s.fixed64_field(8, nanos(span.end_time()));
        for (key, value) in span.attributes() {
            s.message(9, &StoredAttribute(key, value));
        }
        s.uint(10, u64::from(span.dropped_attributes_count()));
        for event in span.events() {
            s.message(11, &StoredEventMessage(event));
        }
        s.uint(12, u64::from(span.dropped_events_count()));
        let links = span.links();
        for link in links.iter() {
            s.message(13, &LinkMessage(link));
        }
        s.uint(14, u64::from(links.dropped_count));
        s.message(15, &StoredStatusMessage(span.status()));
        s.fixed32_field(
            16,
            span_flags(cx.trace_flags().to_u8(), span.parent_span_is_remote()),
        );
    }
}

struct StoredEventMessage<'a>(EventRef<'a>);

impl Encode for StoredEventMessage<'_> {
    fn encode<S: Sink>(&self, s: &mut S) {
        let event = &self.0;
        s.fixed64_field(1, nanos(event.timestamp()));
        s.string(2, event.name());
        for (key, value) in event.attributes() {
            s.message(3, &StoredAttribute(key, value));
        }
        s.uint(4, u64::from(event.dropped_attributes_count()));
    }
}

struct StoredStatusMessage<'a>(StatusRef<'a>);

impl Encode for StoredStatusMessage<'_> {
    fn encode<S: Sink>(&self, s: &mut S) {
        match self.0 {
            StatusRef::Unset => {}
            StatusRef::Ok => s.uint(3, 1),
            StatusRef::Error(description) => {
                s.string(2, description);
                s.uint(3, 2);
            }
        }
    }
}

struct StoredAttribute<'a>(&'a Key, ValueRef<'a>);

impl Encode for StoredAttribute<'_> {
    fn encode<S: Sink>(&self, s: &mut S) {
        s.string(1, self.0.as_str());
        match self.1 {
            ValueRef::Text(text) => s.message(2, &Element::Text(text)),
            ValueRef::Value(value) => s.message(2, &AnyValue(value)),
        }
    }
}

fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

struct EventMessage<'a>(&'a opentelemetry::trace::Event);

impl Encode for EventMessage<'_> {
    fn encode<S: Sink>(&self, s: &mut S) {
        let event = self.0;
        s.fixed64_field(1, nanos(event.timestamp));
        s.string(2, &event.name);
        for attribute in &event.attributes {
            s.message(3, &Attribute(attribute));
        }
        s.uint(4, u64::from(event.dropped_attributes_count));
    }
}

struct LinkMessage<'a>(&'a opentelemetry::trace::Link);

impl Encode for LinkMessage<'_> {
    fn encode<S: Sink>(&self, s: &mut S) {
        let link = self.0;
        let cx = &link.span_context;
        context_fields(s, cx);
        for attribute in &link.attributes {
            s.message(4, &Attribute(attribute));
        }
        s.uint(5, u64::from(link.dropped_attributes_count));
        s.fixed32_field(6, span_flags(cx.trace_flags().to_u8(), cx.is_remote()));
    }
}

struct StatusMessage<'a>(&'a Status);

impl Encode for StatusMessage<'_> {
    fn encode<S: Sink>(&self, s: &mut S) {
        match self.0 {
            Status::Unset => {}
            Status::Ok => s.uint(3, 1),
            Status::Error { description } => {
                s.string(2, description);
                s.uint(3, 2);
            }
        }
    }
}

struct Attribute<'a>(&'a KeyValue);

impl Encode for Attribute<'_> {
    fn encode<S: Sink>(&self, s: &mut S) {
        s.string(1, self.0.key.as_str());
        s.message(2, &AnyValue(&self.0.value));
    }
}

struct AnyValue<'a>(&'a Value);

impl Encode for AnyValue<'_> {
    fn encode<S: Sink>(&self, s: &mut S) {
        // A oneof member is written even when it holds its type's default.
        match self.0 {
            Value::String(text) => s.bytes_field(1, text.as_str().as_bytes()),
            Value::Bool(value) => bool_value(s, *value),
            Value::I64(value) => int_value(s, *value),
            Value::F64(value) => double_value(s, *value),
            Value::Array(array) => s.message(5, &ArrayMessage(array)),
            // A kind of value this version does not know: an empty value, rather than
            // the panic of `opentelemetry-proto`'s conversion.
            _ => {}
        }
    }
}

fn bool_value(s: &mut impl Sink, value: bool) {
    s.key(2, VARINT);
    s.varint(u64::from(value));
}

fn int_value(s: &mut impl Sink, value: i64) {
    s.key(3, VARINT);
    // int64: two's complement, ten bytes for a negative number.
    s.varint(value as u64);
}

fn double_value(s: &mut impl Sink, value: f64) {
    s.key(4, I64);
    s.fixed64(value.to_bits());
}

struct ArrayMessage<'a>(&'a Array);

impl Encode for ArrayMessage<'_> {
    fn encode<S: Sink>(&self, s: &mut S) {
        match self.0 {
            Array::Bool(values) => {
                for value in values {
                    s.message(1, &Element::Bool(*value));
                }
            }
            Array::I64(values) => {
                for value in values {
                    s.message(1, &Element::Int(*value));
                }
            }
            Array::F64(values) => {
                for value in values {
                    s.message(1, &Element::Double(*value));
                }
            }
            Array::String(values) => {
                for value in values {
                    s.message(1, &Element::Text(value.as_str()));
                }
            }
            // As for a value of a kind this version does not know.
            _ => {}
        }
    }
}

/// One value of an array: an `AnyValue` of its own.
enum Element<'a> {
    Bool(bool),
    Int(i64),
    Double(f64),
    Text(&'a str),
}

impl Encode for Element<'_> {
    fn encode<S: Sink>(&self, s: &mut S) {
        match *self {
            Element::Bool(value) => bool_value(s, value),
            Element::Int(value) => int_value(s, value),
            Element::Double(value) => double_value(s, value),
            Element::Text(text) => s.bytes_field(1, text.as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests;
