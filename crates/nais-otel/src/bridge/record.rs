//! The per-span record the bridge keeps in the registry, and the field visitors that fill it.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime};

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _,
};
use opentelemetry::{Array, Context, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanLinks;
use tracing::field::{Field, Visit};

use crate::export::{end_span, SpanParts};
use crate::privacy::whole_number;

/// The field that renames a span.
pub(crate) const NAME_FIELD: &str = "otel.name";
/// The field that sets a span's kind: `server`, `client`, `producer`, `consumer`, `internal`.
pub(crate) const KIND_FIELD: &str = "otel.kind";
/// The field that sets a span's status: `ok` or `error`.
pub(crate) const STATUS_CODE_FIELD: &str = "otel.status_code";
/// The field that sets a span's status to ERROR with a description.
pub(crate) const STATUS_DESCRIPTION_FIELD: &str = "otel.status_description";

/// What the bridge keeps of one `tracing` span, in the registry's extensions.
///
/// The span's ids and its sampling decision are made when the span is; `cx` is its
/// parent's context with this span in it, the context attached while the span is
/// entered. Everything else is gathered here, and its parts go to the batch processor
/// when the span closes: when the registry drops the record (see `Drop`).
pub(crate) struct SpanRecord {
    pub(crate) cx: Context,
    pub(crate) parent_span_id: SpanId,
    pub(crate) parent_is_remote: bool,
    /// Sampled, and spans go somewhere: whether to gather attributes and events.
    pub(crate) recording: bool,
    /// Whether the span's context was passed on: the span was entered (its children and
    /// log lines took it from there), a span was made with it as explicit parent, or one
    /// follows from it. Its parent can no longer change then: those would keep the old
    /// trace.
    pub(crate) passed_on: AtomicBool,
    pub(crate) kind: SpanKind,
    pub(crate) name: Cow<'static, str>,
    pub(crate) start: SystemTime,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) status: Status,
    pub(crate) events: Vec<Event>,
    /// Links and timings, which most spans do without: kept out of line so the record
    /// stays small (it is copied into the registry's box when the span is made).
    pub(crate) extras: Option<Box<Extras>>,
    /// The batch processor the span ends into, when it is recorded
    /// ([`crate::export::end_span`]).
    pub(crate) processor: usize,
}

/// What the bridge keeps of a span it sees but does not export (in `init()`'s
/// subscriber: below INFO, or of the SDK's or nais-otel's own targets): the context it
/// was made under, its parent's or the current one, attached while it is entered. So a
/// span, a client call or a log line under it is in the trace of the span above it.
pub(crate) struct PassThrough {
    pub(crate) cx: Context,
}

/// The span ends as the registry drops its record: when the span closes, after every
/// layer's `on_close`. Ending it here rather than in the bridge's `on_close` spares each
/// span a registry lookup and a lock of its extensions.
impl Drop for SpanRecord {
    fn drop(&mut self) {
        if !self.recording {
            return;
        }
        let end = opentelemetry::time::now();
        if let Some(timings) = self
            .extras
            .as_mut()
            .and_then(|extras| extras.timings.as_mut())
        {
            timings.idle_ns += nanos(timings.last.elapsed());
        }
        end_span(self.processor, || self.take_parts(end));
    }
}

/// The parts of a [`SpanRecord`] that most spans do without.
#[derive(Default)]
pub(crate) struct Extras {
    pub(crate) links: Vec<Link>,
    pub(crate) timings: Option<Timings>,
}

/// Busy and idle time, when the layer keeps them.
pub(crate) struct Timings {
    pub(crate) idle_ns: i64,
    pub(crate) busy_ns: i64,
    pub(crate) last: Instant,
    pub(crate) entered: u32,
}

impl Timings {
    pub(crate) fn new() -> Self {
        Self {
            idle_ns: 0,
            busy_ns: 0,
            last: Instant::now(),
            entered: 0,
        }
    }
}

impl SpanRecord {
    /// This span's context.
    pub(crate) fn span_context(&self) -> SpanContext {
        self.cx.span().span_context().clone()
    }

    pub(crate) fn extras(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Box::default)
    }

    /// The parts of the span, ended at `end`, taken out of the record in place (the
    /// record is large: moving it costs more than taking its vectors); without a scope,
    /// which the pipeline's `Finisher` sets on the export thread.
    fn take_parts(&mut self, end: SystemTime) -> SpanParts {
        let mut attributes = std::mem::take(&mut self.attributes);
        let mut links = SpanLinks::default();
        if let Some(extras) = self.extras.take() {
            let Extras {
                links: link_list,
                timings,
            } = *extras;
            if let Some(timings) = timings {
                attributes.push(KeyValue::new("busy_ns", timings.busy_ns));
                attributes.push(KeyValue::new("idle_ns", timings.idle_ns));
            }
            links.links = link_list;
        }
        SpanParts {
            span_context: self.span_context(),
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_is_remote,
            span_kind: self.kind.clone(),
            name: std::mem::take(&mut self.name),
            start_time: self.start,
            end_time: end,
            attributes,
            dropped_attributes_count: 0,
            events: std::mem::take(&mut self.events),
            dropped_events_count: 0,
            links,
            status: std::mem::replace(&mut self.status, Status::Unset),
            scope: None,
        }
    }
}

/// A duration in nanoseconds, as an attribute value.
pub(crate) fn nanos(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

// === visitors ===

/// The `Visit` methods both visitors share: numbers and booleans become attributes of
/// their own type in `self.attributes` (a `u64` above `i64::MAX` its decimal text).
macro_rules! typed_fields {
    () => {
        fn record_f64(&mut self, field: &Field, value: f64) {
            self.attributes.push(KeyValue::new(key(field), value));
        }

        fn record_i64(&mut self, field: &Field, value: i64) {
            self.attributes.push(KeyValue::new(key(field), value));
        }

        fn record_u64(&mut self, field: &Field, value: u64) {
            self.attributes
                .push(KeyValue::new(key(field), u64_value(value)));
        }

        fn record_bool(&mut self, field: &Field, value: bool) {
            self.attributes.push(KeyValue::new(key(field), value));
        }
    };
}

/// Turns a span's fields into attributes, and the `otel.*` fields into its name, kind
/// and status. Types are kept: integers stay integers, booleans booleans.
pub(crate) struct SpanFields<'a> {
    pub(crate) name: &'a mut Cow<'static, str>,
    pub(crate) kind: &'a mut SpanKind,
    pub(crate) status: &'a mut Status,
    pub(crate) attributes: &'a mut Vec<KeyValue>,
}

impl SpanFields<'_> {
    fn special(&mut self, field: &Field, value: &str) -> bool {
        let name = field.name();
        // Most fields are not `otel.*`: one comparison for them.
        if !name.starts_with("otel.") {
            return false;
        }
        match name {
            NAME_FIELD => *self.name = Cow::Owned(value.to_owned()),
            KIND_FIELD => {
                if let Some(kind) = span_kind(value) {
                    *self.kind = kind;
                }
            }
            STATUS_CODE_FIELD => {
                if value.eq_ignore_ascii_case("ok") {
                    *self.status = Status::Ok;
                } else if value.eq_ignore_ascii_case("error") {
                    if !matches!(self.status, Status::Error { .. }) {
                        *self.status = Status::error("");
                    }
                } else {
                    *self.status = Status::Unset;
                }
            }
            STATUS_DESCRIPTION_FIELD => *self.status = Status::error(value.to_owned()),
            _ => return false,
        }
        true
    }
}

impl Visit for SpanFields<'_> {
    typed_fields!();

    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.special(field, value) {
            self.attributes
                .push(KeyValue::new(key(field), string(value)));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let (message, chain) = error_text(value);
        self.attributes
            .push(KeyValue::new(key(field), message.clone()));
        self.attributes
            .push(KeyValue::new(EXCEPTION_MESSAGE, message));
        if !chain.is_empty() {
            self.attributes.push(KeyValue::new(
                EXCEPTION_STACKTRACE,
                Value::Array(Array::String(chain)),
            ));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = crate::lossy::debug(value);
        if !self.special(field, &text) {
            self.attributes
                .push(KeyValue::new(key(field), debug_value(text)));
        }
    }
}

const EXCEPTION_MESSAGE: &str = "exception.message";
const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";
const EXCEPTION: &str = "exception";

/// Turns an event's fields into a span event: `message` is its name, `error` (what
/// `#[instrument(err)]` records) makes it an `exception` event with `exception.message`.
pub(crate) struct EventFields {
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) attributes: Vec<KeyValue>,
    /// The text of an `error` field or of an error value, for the span's status.
    pub(crate) error: Option<String>,
}

impl EventFields {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            name: None,
            attributes: Vec::with_capacity(capacity),
            error: None,
        }
    }

    /// An `error` field: the exception's message, and the span's status.
    fn error_field(&mut self, text: String) {
        self.attributes
            .push(KeyValue::new(EXCEPTION_MESSAGE, text.clone()));
        self.error = Some(text);
    }
}

impl Visit for EventFields {
    typed_fields!();

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.name = Some(Cow::Owned(value.to_owned()));
        } else if field.name() == "error" {
            self.error_field(value.to_owned());
        } else {
            self.attributes
                .push(KeyValue::new(key(field), string(value)));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let (message, chain) = error_text(value);
        self.attributes
            .push(KeyValue::new(EXCEPTION_MESSAGE, message.clone()));
        if !chain.is_empty() {
            self.attributes.push(KeyValue::new(
                EXCEPTION_STACKTRACE,
                Value::Array(Array::String(chain)),
            ));
        }
        if field.name() != "error" {
            self.attributes
                .push(KeyValue::new(key(field), message.clone()));
        }
        self.error = Some(message);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.name = Some(Cow::Owned(crate::lossy::debug(value)));
            return;
        }
        let text = crate::lossy::debug(value);
        if field.name() == "error" {
            self.error_field(text);
        } else {
            self.attributes
                .push(KeyValue::new(key(field), debug_value(text)));
        }
    }
}

impl EventFields {
    /// The event's name: its message; `exception` for an error event without one; else
    /// the callsite's name.
    pub(crate) fn event_name(&mut self, callsite_name: &'static str) -> Cow<'static, str> {
        match self.name.take() {
            Some(name) => name,
            None if self.error.is_some() => Cow::Borrowed(EXCEPTION),
            None => Cow::Borrowed(callsite_name),
        }
    }
}

/// A string attribute value.
fn string(value: &str) -> StringValue {
    StringValue::from(value.to_owned())
}

fn key(field: &Field) -> Key {
    Key::from_static_str(field.name())
}

/// A field recorded through `Debug` (or `Display`): an integer when its text is a whole
/// number as an integer's own `Debug` writes it, else the text. `#[instrument]` records
/// a destructured argument such as `Path(id): Path<u32>` this way, and `?n` and `%n`
/// record a number so. The integer is the text exactly: no sign but `-`, no leading
/// zero, within `i64`; anything else stays text.
fn debug_value(text: String) -> Value {
    match whole_number(&text) {
        Some(number) => Value::I64(number),
        None => Value::String(StringValue::from(text)),
    }
}

/// A `u64` as an attribute: an integer when it fits OpenTelemetry's `i64`, else its
/// decimal text (never a wrapped negative number).
fn u64_value(value: u64) -> Value {
    match i64::try_from(value) {
        Ok(value) => Value::I64(value),
        Err(_) => Value::String(StringValue::from(value.to_string())),
    }
}

/// An error's text and the texts of its sources.
fn error_text(error: &(dyn std::error::Error + 'static)) -> (String, Vec<StringValue>) {
    let mut chain = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push(StringValue::from(crate::lossy::display(cause)));
        source = cause.source();
    }
    (crate::lossy::display(error), chain)
}

/// The span kind an `otel.kind` value names, case-insensitively.
pub(crate) fn span_kind(value: &str) -> Option<SpanKind> {
    [
        ("server", SpanKind::Server),
        ("client", SpanKind::Client),
        ("producer", SpanKind::Producer),
        ("consumer", SpanKind::Consumer),
        ("internal", SpanKind::Internal),
    ]
    .into_iter()
    .find(|(name, _)| value.eq_ignore_ascii_case(name))
    .map(|(_, kind)| kind)
}
