use std::{fmt::Write as _, future::Future, io::Write as _, sync::Arc};

use opentelemetry::trace::Status;
use opentelemetry_sdk::{
    error::OTelSdkResult,
    trace::{SpanData, SpanExporter},
    Resource,
};

use super::{Preparer, Stats};

/// `OTEL_TRACES_EXPORTER=console`: one readable line a span on standard output.
#[derive(Debug)]
pub(crate) struct ConsoleExporter {
    service: String,
    preparer: Preparer,
    stats: Arc<Stats>,
}

impl ConsoleExporter {
    pub(crate) fn new(preparer: Preparer, stats: Arc<Stats>) -> Self {
        Self {
            service: String::new(),
            preparer,
            stats,
        }
    }

    /// The span's line. Every text in it (the service name, the span name, the status
    /// description, attribute keys and values) has its control characters escaped: a line
    /// break in a value must not start a line of its own in the output, which is read as
    /// logs.
    fn line(&self, span: &SpanData) -> String {
        let duration = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default();
        let mut line = format!(
            "span {} {} parent={} ",
            span.span_context.trace_id(),
            span.span_context.span_id(),
            span.parent_span_id,
        );
        push_escaped(&mut line, &self.service);
        let _ = write!(line, " {:?} \"", span.span_kind);
        push_escaped(&mut line, &span.name);
        let _ = write!(line, "\" {:.3}ms", duration.as_secs_f64() * 1000.0);
        match &span.status {
            Status::Error { description } => {
                line.push_str(" ERROR \"");
                push_escaped(&mut line, description);
                line.push('"');
            }
            Status::Ok => line.push_str(" OK"),
            Status::Unset => {}
        }
        for kv in &span.attributes {
            line.push(' ');
            push_escaped(&mut line, kv.key.as_str());
            line.push('=');
            push_escaped(&mut line, &kv.value.as_str());
        }
        line
    }
}

/// Pushes `text` with its control characters escaped as Rust writes them (`\n`, `\u{1b}`).
fn push_escaped(line: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_control() {
            line.extend(c.escape_debug());
        } else {
            line.push(c);
        }
    }
}

/// Takes its spans as [`SpanData`]: a line each, for a person to read.
impl super::StoredExport for ConsoleExporter {}

impl SpanExporter for ConsoleExporter {
    fn export(&self, mut batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        self.stats.handed(batch.len());
        let mut out = String::new();
        self.preparer.prepare_batch(&mut batch);
        for span in &batch {
            out.push_str(&self.line(span));
            out.push('\n');
        }
        // A closed stdout must not stop the service; the spans count as exported
        // all the same, because nothing else could be done with them.
        let _ = std::io::stdout().lock().write_all(out.as_bytes());
        self.stats.exported(batch.len() as u64);
        std::future::ready(Ok(()))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.service = resource
            .get(&opentelemetry::Key::from_static_str("service.name"))
            .map(|value| value.as_str().into_owned())
            .unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::MaskConfig;
    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, TraceFlags, TraceId, TraceState};
    use opentelemetry::KeyValue;

    #[test]
    fn a_span_is_one_line_whatever_its_texts_hold() {
        let mut exporter = ConsoleExporter::new(
            Preparer::new(MaskConfig::default(), None),
            Arc::new(Stats::default()),
        );
        exporter.set_resource(
            &Resource::builder_empty()
                .with_service_name("dog\nbook")
                .build(),
        );
        let span = SpanData {
            span_context: SpanContext::new(
                TraceId::from(1),
                SpanId::from(2),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: "GET /x\r\nspan forged".into(),
            start_time: std::time::SystemTime::UNIX_EPOCH,
            end_time: std::time::SystemTime::UNIX_EPOCH,
            attributes: vec![
                KeyValue::new("note", "two\nlines \u{1b}[31mred"),
                KeyValue::new("count", 3),
            ],
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::error("failed:\nat line 2"),
            instrumentation_scope: Default::default(),
        };
        let line = exporter.line(&span);
        assert_eq!(
            line,
            "span 00000000000000000000000000000001 0000000000000002 parent=0000000000000000 \
             dog\\nbook Server \"GET /x\\r\\nspan forged\" 0.000ms ERROR \"failed:\\nat line 2\" \
             note=two\\nlines \\u{1b}[31mred count=3"
        );
    }
}
