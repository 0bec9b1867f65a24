//! The JSON log line NAIS expects, with `trace_id` and `span_id`, masked as it is formatted.

use std::fmt;

use opentelemetry::trace::TraceContextExt as _;
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

impl JsonFormat {
    /// Writes `event` as one JSON object and a newline to `out`: the fixed keys, then the
    /// event's fields in their order. `span` is the name of the span the event is in.
    ///
    /// The line is written as it is read, without a map of its keys: the fixed keys are
    /// written first, and an event field of the same name as one of them (or as a field
    /// written before it) is left out.
    pub(crate) fn write_line(
        &self,
        out: &mut Vec<u8>,
        event: &Event<'_>,
        span: Option<&str>,
    ) -> fmt::Result {
        let meta = event.metadata();
        out.extend_from_slice(b"{\"timestamp\":\"");
        SystemTime.format_time(&mut Writer::new(&mut Utf8(out)))?;
        out.extend_from_slice(b"\",\"level\":\"");
        out.extend_from_slice(meta.level().as_str().as_bytes());
        out.extend_from_slice(b"\",\"target\":");
        string(out, meta.target())?;
        // The ids of the current context's span, read in place.
        opentelemetry::Context::map_current(|context| {
            use fmt::Write as _;
            let current = context.span();
            let span_context = current.span_context();
            if !span_context.is_valid() {
                return Ok(());
            }
            write!(
                Utf8(out),
                ",\"trace_id\":\"{}\",\"span_id\":\"{}\"",
                span_context.trace_id(),
                span_context.span_id()
            )
        })?;
        if let Some(name) = span {
            out.extend_from_slice(b",\"span\":");
            match self.masker.mask(name) {
                Some(masked) => string(out, &masked)?,
                None => string(out, name)?,
            }
        }
        let mut fields = FieldWriter {
            masker: &self.masker,
            out,
            written: Vec::new(),
            has_message: false,
            error: false,
        };
        event.record(&mut fields);
        if fields.error {
            return Err(fmt::Error);
        }
        if !fields.has_message {
            fields.out.extend_from_slice(b",\"message\":\"\"");
        }
        out.extend_from_slice(b"}\n");
        Ok(())
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
        let mut line = Vec::with_capacity(256);
        let current = ctx.lookup_current();
        self.write_line(&mut line, event, current.as_ref().map(|span| span.name()))?;
        writer.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)
    }
}

/// `fmt::Write` into a byte buffer.
struct Utf8<'a>(&'a mut Vec<u8>);

impl fmt::Write for Utf8<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Writes `text` as a JSON string, escaped.
fn string(out: &mut Vec<u8>, text: &str) -> fmt::Result {
    serde_json::to_writer(&mut *out, text).map_err(|_| fmt::Error)
}

/// The keys every line has; an event field of the same name is left out.
const FIXED_KEYS: [&str; 6] = [
    "timestamp",
    "level",
    "target",
    "trace_id",
    "span_id",
    "span",
];

/// Writes an event's fields into the line as it visits them, masked.
struct FieldWriter<'a> {
    masker: &'a Masker,
    out: &'a mut Vec<u8>,
    /// The keys written so far, beyond the fixed ones.
    written: Vec<&'static str>,
    has_message: bool,
    error: bool,
}

impl FieldWriter<'_> {
    /// Writes `,"key":` for `field` and returns `true`, or `false` for a field left out:
    /// one of the fixed keys, one already written, or `log` crate noise.
    fn key(&mut self, field: &Field) -> bool {
        let name = match field.name() {
            "backtrace" | "stack_trace" => "stack_trace",
            // `log` records bridged into tracing carry these; they are noise here.
            "log.target" | "log.module_path" | "log.file" | "log.line" => return false,
            other => other,
        };
        if name == "message" {
            if self.has_message {
                return false;
            }
            self.has_message = true;
        } else if FIXED_KEYS.contains(&name) || self.written.contains(&name) {
            return false;
        } else {
            self.written.push(name);
        }
        self.out.push(b',');
        if string(self.out, name).is_err() {
            self.error = true;
        }
        self.out.push(b':');
        true
    }

    /// Writes a text value, masked unless its field is exempt.
    fn text(&mut self, field: &Field, text: &str) {
        if !self.key(field) {
            return;
        }
        let masked = match self.masker.masks_key(field.name()) {
            true => self.masker.mask(text),
            false => None,
        };
        if string(self.out, masked.as_deref().unwrap_or(text)).is_err() {
            self.error = true;
        }
    }

    /// Writes a number or a boolean: its `Display` text is its JSON.
    fn value(&mut self, field: &Field, value: impl fmt::Display) {
        use fmt::Write as _;
        if self.key(field) && write!(Utf8(self.out), "{value}").is_err() {
            self.error = true;
        }
    }
}

impl tracing::field::Visit for FieldWriter<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        match serde_json::Number::from_f64(value) {
            Some(number) => self.value(field, number),
            None => self.text(field, &value.to_string()),
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        let masker = self.masker;
        if masker.masks_key(field.name()) && masker.masks_integer(value) {
            let replacement = &masker.config().replacement;
            if self.key(field) && string(self.out, replacement).is_err() {
                self.error = true;
            }
        } else {
            self.value(field, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(value) => self.record_i64(field, value),
            Err(_) => self.value(field, value),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.value(field, value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.text(field, &text);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.text(field, &format!("{value:?}"));
    }
}
