//! The JSON log line NAIS expects, with `trace_id` and `span_id`, masked as it is formatted.

use std::fmt;

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
