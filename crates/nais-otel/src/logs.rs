//! Log lines: one JSON object a line on NAIS, readable text elsewhere.
//!
//! The JSON line carries `trace_id` and `span_id` from the current
//! OpenTelemetry context, which covers both spans made with `tracing` (the
//! `tracing` bridge attaches their context on enter) and the
//! request spans of our tower layer (which attaches its context while the
//! handler runs), so Grafana can jump from a log line in Loki to its trace.

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

/// Formats events as one JSON object a line, in the shape NAIS expects:
/// `timestamp`, `level`, `message`, `target`, `trace_id`, `span_id`, `span`,
/// the event's own fields, and `stack_trace` for a field named `stack_trace`
/// or `backtrace`.
///
/// [`crate::init`] installs it on NAIS; use it directly with
/// `tracing_subscriber::fmt::layer().event_format(JsonFormat::new())`.
#[derive(Clone, Debug, Default)]
pub struct JsonFormat {
    _private: (),
}

impl JsonFormat {
    /// A new formatter.
    pub fn new() -> Self {
        Self::default()
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
        let mut fields = FieldVisitor::default();
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
            object.insert("span".into(), Value::String(current.name().to_owned()));
        }
        for (key, value) in fields.fields {
            // The fixed keys above win over event fields of the same name.
            object.entry(key).or_insert(value);
        }
        let line = serde_json::to_string(&Value::Object(object)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

#[derive(Default)]
struct FieldVisitor {
    message: Option<String>,
    fields: Vec<(String, Value)>,
}

impl FieldVisitor {
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

impl tracing::field::Visit for FieldVisitor {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let value = serde_json::Number::from_f64(value)
            .map_or_else(|| Value::String(value.to_string()), Value::Number);
        self.put(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.put(field, Value::String(text));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}
