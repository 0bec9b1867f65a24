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

    fn line(&self, span: &SpanData) -> String {
        let duration = span
            .end_time
            .duration_since(span.start_time)
            .unwrap_or_default();
        let mut line = format!(
            "span {} {} parent={} {} {:?} \"{}\" {:.3}ms",
            span.span_context.trace_id(),
            span.span_context.span_id(),
            span.parent_span_id,
            self.service,
            span.span_kind,
            span.name,
            duration.as_secs_f64() * 1000.0,
        );
        match &span.status {
            Status::Error { description } => {
                let _ = write!(line, " ERROR \"{description}\"");
            }
            Status::Ok => line.push_str(" OK"),
            Status::Unset => {}
        }
        for kv in &span.attributes {
            let _ = write!(line, " {}={}", kv.key, kv.value);
        }
        line
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
