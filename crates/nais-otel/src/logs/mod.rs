//! Log lines: one JSON object a line on NAIS, readable text elsewhere.
//!
//! The JSON line carries `trace_id` and `span_id` from the current
//! OpenTelemetry context, which covers both spans made with `tracing` (the
//! `tracing` bridge attaches their context on enter) and the
//! request spans of our tower layer (which attaches its context while the
//! handler runs), so Grafana can jump from a log line in Loki to its trace.
//! An event that names its parent (`info!(parent: &span, ..)`) carries that
//! span's ids, and one that names none (`parent: None`) none.
//!
//! Both formats mask national identity numbers as the line is formatted
//! ([`crate::privacy`]): NAIS sends standard output to Loki, and nothing masks
//! it there. A line with no number costs no allocation more than without
//! masking.

mod json;
mod json_layer;
mod subscriber;
mod text;

pub(crate) use self::subscriber::{subscriber, SpanBridge};
pub use self::{
    json::JsonFormat,
    text::{MaskingFields, MaskingFieldsVisitor, MaskingIo, MaskingWriter},
};

/// Sends the records of the `log` crate (which many dependencies log with) to the
/// installed subscriber, as tracing-subscriber's own `init()` does: they are log lines,
/// masked, and span events like any event. `log`'s own filter is set to the
/// subscriber's most verbose level, so a record no layer wants costs one comparison.
/// When a `log` logger is set already, it keeps the records, with a warning.
pub(crate) fn forward_log_records() {
    use tracing_log::AsLog as _;
    let max = tracing::level_filters::LevelFilter::current().as_log();
    if tracing_log::LogTracer::builder()
        .with_max_level(max)
        .init()
        .is_err()
    {
        tracing::warn!(
            target: "nais_otel",
            "a `log` logger was already set: records of the `log` crate go to it, not to nais-otel's log output"
        );
    }
}

/// Calls `f` with `event`'s metadata, or for a `log` record's event (whose target is
/// `log`) the record's: its own target, module and place.
pub(crate) fn with_own_metadata<R>(
    event: &tracing::Event<'_>,
    f: impl FnOnce(&tracing::Metadata<'_>) -> R,
) -> R {
    use tracing_log::NormalizeEvent as _;
    match event.normalized_metadata() {
        Some(record) => f(&record),
        None => f(event.metadata()),
    }
}

/// The target of the events the panic hook reports panics as.
pub(crate) const PANIC_TARGET: &str = "panic";

/// Replaces the panic hook with one that reports a panic as an `ERROR` event
/// (target `panic`) through the installed log output, so that the message is
/// masked and its URLs redacted like any log line. The standard library's hook writes the message to
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
                target: PANIC_TARGET,
                thread,
                location,
                backtrace = %backtrace,
                "thread '{thread}' panicked at {location}: {message}"
            );
        } else {
            tracing::error!(
                target: PANIC_TARGET,
                thread,
                location,
                "thread '{thread}' panicked at {location}: {message}"
            );
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::MaskConfig;
    use crate::testing::Written;

    /// The lines `make` writes for one event with a number in every place.
    fn lines(make: impl FnOnce(Written) -> tracing::Dispatch) -> String {
        let buffer = Written::default();
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
        buffer.text()
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

    /// A value whose `Debug` logs while the line it is in is written: the line comes out
    /// whole and masked.
    #[test]
    fn a_debug_value_that_logs_gets_its_own_line() {
        struct Chatty;
        impl std::fmt::Debug for Chatty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                tracing::info!(inner = ?"01019012345", "formatting {:?}", "01019012345");
                f.write_str("chatty 01019012345")
            }
        }
        let buffer = Written::default();
        let writer = buffer.clone();
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .event_format(JsonFormat::new())
                .with_writer(move || writer.clone())
                .finish(),
        );
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::info!(value = ?Chatty, "outer {:?}", Chatty);
        });
        let text = buffer.text();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
            .collect();
        let outer = lines
            .iter()
            .find(|line| line["message"] == "outer chatty [fnr]")
            .expect("the outer line");
        assert_eq!(outer["value"], "chatty [fnr]");
        // `tracing` does not dispatch an event made while one is being dispatched on the
        // same thread; any line that does come out is masked.
        assert!(lines
            .iter()
            .all(|line| line["message"] == "outer chatty [fnr]"
                || line["message"] == "formatting \"[fnr]\""));
        assert!(!text.contains("01019012345"), "{text}");
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
