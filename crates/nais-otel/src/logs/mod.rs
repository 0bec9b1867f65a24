//! Log lines: one JSON object a line on NAIS, readable text elsewhere.
//!
//! The JSON line carries `trace_id` and `span_id` from the current
//! OpenTelemetry context, which covers both spans made with `tracing` (the
//! `tracing` bridge attaches their context on enter) and the
//! request spans of our tower layer (which attaches its context while the
//! handler runs), so Grafana can jump from a log line in Loki to its trace.
//!
//! Both formats mask national identity numbers as the line is formatted
//! ([`crate::privacy`]): NAIS sends standard output to Loki, and nothing masks
//! it there. A line with no number costs no allocation more than without
//! masking.

mod subscriber;

use std::{fmt, io};

use opentelemetry::trace::TraceContextExt as _;
use serde_json::{Map, Value};
use tracing::{field::Field, Event, Subscriber};
use tracing_subscriber::{
    fmt::{
        format::Writer,
        time::{FormatTime, SystemTime},
        FmtContext, FormatEvent, FormatFields,
    },
    registry::LookupSpan,
};

use crate::privacy::{MaskConfig, Masker};

pub(crate) use self::subscriber::{subscriber, SpanBridge};

/// Formats events as one JSON object a line, in the shape NAIS expects:
/// `timestamp`, `level`, `message`, `target`, `trace_id`, `span_id`, `span`,
/// the event's own fields, and `stack_trace` for a field named `stack_trace`
/// or `backtrace`.
///
/// National identity numbers in the message and in every field (but the exempt
/// ones) are masked as the default [`MaskConfig`] says, or as
/// [`JsonFormat::with_mask_config`] sets.
///
/// [`crate::init`] installs it on NAIS; use it directly with
/// `tracing_subscriber::fmt::layer().event_format(JsonFormat::new())`.
#[derive(Clone, Debug, Default)]
pub struct JsonFormat {
    masker: Masker,
}

impl JsonFormat {
    /// A new formatter, masking as the default [`MaskConfig`] says.
    pub fn new() -> Self {
        Self::default()
    }

    /// Masks identity numbers as `config` says ([`MaskConfig::disabled`]
    /// turns it off).
    #[must_use]
    pub fn with_mask_config(mut self, config: MaskConfig) -> Self {
        self.masker = Masker::new(config);
        self
    }
}

impl<S, N> FormatEvent<S, N> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut object = Map::new();
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        object.insert("timestamp".into(), Value::String(timestamp));
        object.insert(
            "level".into(),
            Value::String(event.metadata().level().as_str().to_owned()),
        );
        let mut fields = FieldVisitor {
            masker: &self.masker,
            message: None,
            fields: Vec::new(),
        };
        event.record(&mut fields);
        object.insert(
            "message".into(),
            Value::String(fields.message.take().unwrap_or_default()),
        );
        object.insert(
            "target".into(),
            Value::String(event.metadata().target().to_owned()),
        );
        let context = opentelemetry::Context::current();
        let span = context.span();
        let span_context = span.span_context();
        if span_context.is_valid() {
            object.insert(
                "trace_id".into(),
                Value::String(span_context.trace_id().to_string()),
            );
            object.insert(
                "span_id".into(),
                Value::String(span_context.span_id().to_string()),
            );
        }
        if let Some(current) = ctx.lookup_current() {
            let name = current.name();
            let name = self.masker.mask(name).unwrap_or_else(|| name.to_owned());
            object.insert("span".into(), Value::String(name));
        }
        for (key, value) in fields.fields {
            // The fixed keys above win over event fields of the same name.
            object.entry(key).or_insert(value);
        }
        let line = serde_json::to_string(&Value::Object(object)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

struct FieldVisitor<'a> {
    masker: &'a Masker,
    message: Option<String>,
    fields: Vec<(String, Value)>,
}

impl FieldVisitor<'_> {
    /// Puts a text value, masked unless its field is exempt; the one copy made
    /// is the one the line needs anyway.
    fn put_text(&mut self, field: &Field, text: &str) {
        let masked = match self.masker.masks_key(field.name()) {
            true => self.masker.mask(text),
            false => None,
        };
        self.put(
            field,
            Value::String(masked.unwrap_or_else(|| text.to_owned())),
        );
    }

    /// Puts text formatted into a new `String`, masked in place of it when it
    /// holds a number.
    fn put_formatted(&mut self, field: &Field, text: String) {
        let masked = match self.masker.masks_key(field.name()) {
            true => self.masker.mask(&text),
            false => None,
        };
        self.put(field, Value::String(masked.unwrap_or(text)));
    }

    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if name == "message" {
            self.message = Some(match value {
                Value::String(text) => text,
                other => other.to_string(),
            });
            return;
        }
        let name = match name {
            "backtrace" | "stack_trace" => "stack_trace",
            // `log` records bridged into tracing carry these; they are noise here.
            "log.target" | "log.module_path" | "log.file" | "log.line" => return,
            other => other,
        };
        self.fields.push((name.to_owned(), value));
    }
}

impl tracing::field::Visit for FieldVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let value = serde_json::Number::from_f64(value)
            .map_or_else(|| Value::String(value.to_string()), Value::Number);
        self.put(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        let masker = self.masker;
        if masker.masks_key(field.name()) && masker.masks_integer(value) {
            self.put(field, Value::String(masker.config().replacement.clone()));
        } else {
            self.put(field, Value::from(value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(value) => self.record_i64(field, value),
            Err(_) => self.put(field, Value::from(value)),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put_text(field, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.put_formatted(field, text);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put_formatted(field, format!("{value:?}"));
    }
}

/// Replaces the panic hook with one that reports a panic as an `ERROR` event
/// (target `panic`) through the installed log output, so that the message is
/// masked like any log line. The standard library's hook writes the message to
/// standard error as it is, and a panic message often holds the value that
/// made the code fail. The thread, the location and, when `RUST_BACKTRACE`
/// asks for it, the backtrace (`stack_trace` in a JSON line) are kept.
pub(crate) fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("Box<dyn Any>");
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("<unnamed>");
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            tracing::error!(
                target: "panic",
                thread,
                location,
                backtrace = %backtrace,
                "thread '{thread}' panicked at {location}: {message}"
            );
        } else {
            tracing::error!(
                target: "panic",
                thread,
                location,
                "thread '{thread}' panicked at {location}: {message}"
            );
        }
    }));
}

/// A field formatter for the text log format: `tracing-subscriber`'s
/// default one, but a whole number that reads as an identity number (see
/// [`crate::privacy`]) is written as the replacement. [`crate::init`] uses it
/// with [`MaskingWriter`], which masks the text of the line; in text, an
/// integer cannot be told from a string any more.
///
/// ```
/// use nais_otel::{privacy::MaskConfig, MaskingFields, MaskingWriter};
/// let subscriber = tracing_subscriber::fmt()
///     .fmt_fields(MaskingFields::new(MaskConfig::new()))
///     .with_writer(MaskingWriter::new(std::io::stdout, MaskConfig::new()))
///     .finish();
/// # drop(subscriber);
/// ```
#[derive(Clone, Debug)]
pub struct MaskingFields {
    masker: std::sync::Arc<Masker>,
}

impl MaskingFields {
    /// Masks whole numbers as `config` says.
    pub fn new(config: MaskConfig) -> Self {
        Self {
            masker: std::sync::Arc::new(Masker::new(config)),
        }
    }
}

impl<'a> tracing_subscriber::field::MakeVisitor<Writer<'a>> for MaskingFields {
    type Visitor = MaskingFieldsVisitor<'a>;

    fn make_visitor(&self, target: Writer<'a>) -> Self::Visitor {
        MaskingFieldsVisitor {
            inner: tracing_subscriber::fmt::format::DefaultVisitor::new(target, true),
            // A reference count, not a copy: no allocation a line.
            masker: self.masker.clone(),
        }
    }
}

/// The visitor of [`MaskingFields`] for one set of fields.
#[derive(Debug)]
pub struct MaskingFieldsVisitor<'a> {
    inner: tracing_subscriber::fmt::format::DefaultVisitor<'a>,
    masker: std::sync::Arc<Masker>,
}

impl tracing::field::Visit for MaskingFieldsVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.inner.record_f64(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.masker.masks_key(field.name()) && self.masker.masks_integer(value) {
            let replacement = self.masker.config().replacement.as_str();
            self.inner
                .record_debug(field, &format_args!("{replacement}"));
        } else {
            self.inner.record_i64(field, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(value) => self.record_i64(field, value),
            Err(_) => self.inner.record_u64(field, value),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.inner.record_bool(field, value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.inner.record_str(field, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.inner.record_error(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.inner.record_debug(field, value);
    }
}

impl tracing_subscriber::field::VisitOutput<fmt::Result> for MaskingFieldsVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.inner.finish()
    }
}

impl tracing_subscriber::field::VisitFmt for MaskingFieldsVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        self.inner.writer()
    }
}

/// A [`MakeWriter`] that masks national identity numbers in what is written
/// through it: the whole line, message, fields and span fields, before it
/// reaches `W`. [`crate::init`] puts it in front of the text log output.
///
/// The formatting layers of `tracing-subscriber` write one whole line at a
/// time, so a number is never split across two writes. A line with no number
/// goes to `W` as it is, with no allocation; a line with one is masked into a
/// new buffer and written with one call. Field exemptions do not apply here:
/// the writer sees a line, not fields. Use [`JsonFormat`] for lines whose
/// trace and span ids must stay exact (a hexadecimal id can hold eleven
/// decimal digits in a row).
///
/// ```
/// use nais_otel::{privacy::MaskConfig, MaskingWriter};
/// let subscriber = tracing_subscriber::fmt()
///     .with_writer(MaskingWriter::new(std::io::stdout, MaskConfig::new()))
///     .finish();
/// # drop(subscriber);
/// ```
///
/// [`MakeWriter`]: tracing_subscriber::fmt::MakeWriter
#[derive(Clone, Debug)]
pub struct MaskingWriter<W> {
    inner: W,
    masker: Masker,
}

impl<W> MaskingWriter<W> {
    /// Masks what goes to `inner` as `config` says.
    pub fn new(inner: W, config: MaskConfig) -> Self {
        Self {
            inner,
            masker: Masker::new(config),
        }
    }

    /// The writer it masks for.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The writer it masks for, unwrapped.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<'a, W> tracing_subscriber::fmt::MakeWriter<'a> for MaskingWriter<W>
where
    W: tracing_subscriber::fmt::MakeWriter<'a>,
{
    type Writer = MaskingIo<'a, W::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        MaskingIo {
            inner: self.inner.make_writer(),
            masker: &self.masker,
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        MaskingIo {
            inner: self.inner.make_writer_for(meta),
            masker: &self.masker,
        }
    }
}

/// The writer [`MaskingWriter`] makes for one line.
#[derive(Debug)]
pub struct MaskingIo<'a, W> {
    inner: W,
    masker: &'a Masker,
}

impl<W: io::Write> io::Write for MaskingIo<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.masker.mask_bytes(buf) {
            None => self.inner.write_all(buf)?,
            Some(masked) => self.inner.write_all(&masked)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// The lines `make` writes for one event with a number in every place.
    fn lines(make: impl FnOnce(Buffer) -> tracing::Dispatch) -> String {
        let buffer = Buffer::default();
        let dispatch = make(buffer.clone());
        tracing::dispatcher::with_default(&dispatch, || {
            let span =
                tracing::info_span!("lookup", person.id = "01019012345", nr = 2_019_012_345_i64);
            let _entered = span.enter();
            tracing::info!(
                fnr = "41019012345",
                order.id = "01019012345",
                nummer = 2_019_012_345_i64,
                sent_at = 1_500_000_000_i64,
                phone = "4791234567",
                error = %"no person 010190 12345",
                "looked up {}",
                "01819012345"
            );
        });
        let bytes = buffer.0.lock().expect("not poisoned").clone();
        String::from_utf8(bytes).expect("UTF-8")
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_mask_the_message_and_every_field_but_exempt_ones() {
        let config = MaskConfig::new().exempt_key("order.id");
        let line = lines(|buffer| {
            tracing::Dispatch::new(
                tracing_subscriber::fmt()
                    .event_format(JsonFormat::new().with_mask_config(config))
                    .with_writer(move || buffer.clone())
                    .finish(),
            )
        });
        let object: serde_json::Value = serde_json::from_str(&line).expect("one JSON object");
        assert_eq!(object["message"], "looked up [fnr]");
        assert_eq!(object["fnr"], "[fnr]");
        assert_eq!(object["order.id"], "01019012345", "exempt");
        assert_eq!(object["nummer"], "[fnr]", "a whole number");
        assert_eq!(object["sent_at"], 1_500_000_000_i64, "a unix time");
        assert_eq!(object["phone"], "4791234567");
        assert_eq!(object["error"], "no person [fnr]");
        assert_eq!(object["span"], "lookup");
    }

    #[test]
    fn text_lines_mask_the_whole_line() {
        let config = MaskConfig::new();
        let line = lines(|buffer| {
            tracing::Dispatch::new(
                tracing_subscriber::fmt()
                    .with_ansi(false)
                    .fmt_fields(MaskingFields::new(config.clone()))
                    .with_writer(MaskingWriter::new(move || buffer.clone(), config))
                    .finish(),
            )
        });
        for expected in [
            "lookup{person.id=\"[fnr]\" nr=[fnr]}",
            "looked up [fnr]",
            "fnr=\"[fnr]\"",
            "order.id=\"[fnr]\"",
            "nummer=[fnr]",
            "sent_at=1500000000",
            "phone=\"4791234567\"",
            "error=no person [fnr]",
        ] {
            assert!(line.contains(expected), "{expected} in {line}");
        }

        let off = lines(|buffer| {
            tracing::Dispatch::new(
                tracing_subscriber::fmt()
                    .with_ansi(false)
                    .fmt_fields(MaskingFields::new(MaskConfig::disabled()))
                    .with_writer(MaskingWriter::new(
                        move || buffer.clone(),
                        MaskConfig::disabled(),
                    ))
                    .finish(),
            )
        });
        assert!(off.contains("nummer=2019012345"), "{off}");
        assert!(off.contains("looked up 01819012345"), "{off}");
    }
}
