//! Masking costs no allocation when nothing holds an identity number: on a
//! single value, on a whole span on the export path, and on the log path (a
//! JSON line and a text line). Counted with an instrumented global allocator,
//! in a test binary of its own. The allocator's counts are process-wide, so
//! the binary has one test, which makes the measurements one after another:
//! libtest starting another test's thread would count too.

use std::{alloc::System, io, sync::Mutex, time::SystemTime};

use nais_otel::{
    privacy::{MaskConfig, Masker},
    JsonFormat, MaskingWriter,
};
use opentelemetry::{
    trace::{Event, Link, SpanContext, SpanId, SpanKind, Status},
    Array, KeyValue, Value,
};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations made by `f`.
fn allocations(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    region.change().allocations
}

fn no_allocation_for_a_value_without_a_number() {
    let clean = [
        "/api/v1/kennels",
        "id=2&page=10&ts=1732186400123",
        "SELECT * FROM dogs WHERE id = 12345678901234",
        "550e8400-e29b-41d4-a716-446655440000",
        "99999999999",
    ];
    let mut masked = 0;
    let count = allocations(|| {
        for value in clean {
            masked += usize::from(nais_otel::privacy::mask(value, "[fnr]").is_some());
        }
    });
    assert_eq!(masked, 0);
    assert_eq!(count, 0);

    // And it does allocate when there is something to replace.
    let mut result = None;
    let count = allocations(|| result = nais_otel::privacy::mask("/person/01019012345", "[fnr]"));
    assert_eq!(result.as_deref(), Some("/person/[fnr]"));
    assert!(count >= 1);
}

/// A span with every kind of place a number could be, none holding one.
fn clean_span() -> SpanData {
    let attributes = vec![
        KeyValue::new(
            "url.path",
            "/api/v1/dogs/550e8400-e29b-41d4-a716-446655440000",
        ),
        KeyValue::new("url.query", "page=2&size=50&ts=1732186400123"),
        KeyValue::new("http.route", "/api/v1/dogs/{id}"),
        KeyValue::new("db.query.text", "SELECT name FROM dogs WHERE id = $1"),
        KeyValue::new("order.id", "123456789012"),
        KeyValue::new("phone", "+47 912 34 567"),
        KeyValue::new("http.response.status_code", 200),
        KeyValue::new("messaging.kafka.message.key", 1_500_000_000_i64),
        KeyValue::new("sent_at_ms", 1_732_186_400_123_i64),
        KeyValue::new(
            "tags",
            Value::Array(Array::String(vec!["a".into(), "b".into()])),
        ),
        KeyValue::new("ids", Value::Array(Array::I64(vec![1, 2, 3]))),
        KeyValue::new("ratio", 0.5),
    ];
    let mut events = SpanEvents::default();
    events.events.push(Event::new(
        "exception",
        SystemTime::now(),
        vec![KeyValue::new("exception.message", "dog 42 not found")],
        0,
    ));
    let mut links = SpanLinks::default();
    links.links.push(Link::new(
        SpanContext::empty_context(),
        vec![KeyValue::new("link.reason", "retry of 1732186400")],
        0,
    ));
    SpanData {
        span_context: SpanContext::empty_context(),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Server,
        name: "GET /api/v1/dogs/{id}".into(),
        start_time: SystemTime::now(),
        end_time: SystemTime::now(),
        attributes,
        dropped_attributes_count: 0,
        events,
        links,
        status: Status::error("dog 42 not found"),
        instrumentation_scope: Default::default(),
    }
}

fn no_allocation_for_a_span_without_a_number() {
    let masker = Masker::new(MaskConfig::new().exempt_key("order.id"));
    let mut span = clean_span();
    let expected = span.clone();
    let count = allocations(|| masker.mask_span(&mut span));
    assert_eq!(count, 0, "every attribute, event and link scanned");
    assert_eq!(span.attributes, expected.attributes);
    assert_eq!(span.events.events, expected.events.events);

    let mut with_number = clean_span();
    with_number.attributes[4] = KeyValue::new("person", "01019012345");
    let count = allocations(|| masker.mask_span(&mut with_number));
    assert!(count >= 1);
    assert_eq!(with_number.attributes[4].value.as_str(), "[fnr]");
}

/// Emits the same event through `dispatch` `times` times, after one event to
/// warm up (callsite registration, the formatter's thread-local buffer).
fn log(dispatch: &tracing::Dispatch, times: usize, id: &str) -> usize {
    tracing::dispatcher::with_default(dispatch, || {
        let emit = || {
            tracing::info!(
                dog.id = id,
                owner = ?"Kari",
                count = 3_i64,
                sent_at = 1_500_000_000_i64,
                "looked up dog {id} for {}",
                "kennel 7"
            )
        };
        emit();
        allocations(|| (0..times).for_each(|_| emit()))
    })
}

fn a_log_line_without_a_number_allocates_no_more_than_without_masking() {
    let json = |config: MaskConfig| {
        tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .event_format(JsonFormat::new().with_mask_config(config))
                .with_writer(io::sink)
                .finish(),
        )
    };
    let text = |config: MaskConfig| {
        tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(MaskingWriter::new(io::sink, config))
                .finish(),
        )
    };
    for (format, make) in [
        ("json", &json as &dyn Fn(MaskConfig) -> tracing::Dispatch),
        ("text", &text),
    ] {
        let masked = make(MaskConfig::new());
        let unmasked = make(MaskConfig::disabled());
        let clean = "550e8400";
        assert_eq!(
            log(&masked, 10, clean),
            log(&unmasked, 10, clean),
            "{format}: masking added allocations to a line with no number"
        );
        let number = "01019012345";
        assert!(
            log(&masked, 10, number) > log(&unmasked, 10, number),
            "{format}: a line with a number is copied"
        );
    }
}

fn the_text_writer_passes_a_clean_line_through_without_allocating() {
    use std::io::Write as _;
    use tracing_subscriber::fmt::MakeWriter as _;
    let line = b"2026-11-21T08:14:00.123456Z  INFO dogs: looked up dog 42 dog.id=\"550e8400\"\n";
    let sink = Mutex::new(Vec::with_capacity(4 * line.len()));
    let writer = MaskingWriter::new(sink, MaskConfig::new());
    let count = allocations(|| writer.make_writer().write_all(line).expect("write"));
    assert_eq!(count, 0);
    let written = writer.into_inner().into_inner().expect("not poisoned");
    assert_eq!(written, line);
}

#[test]
fn masking_allocates_only_when_there_is_a_number() {
    no_allocation_for_a_value_without_a_number();
    no_allocation_for_a_span_without_a_number();
    a_log_line_without_a_number_allocates_no_more_than_without_masking();
    the_text_writer_passes_a_clean_line_through_without_allocating();
}
