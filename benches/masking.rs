//! The cost of masking national identity numbers, per attribute value, side by
//! side with the regular expression the NAIS collector uses
//! (`\b(\d{6})\s?(\d{5})\b` plus a date check), on values with no number
//! (the common case, which must not allocate) and with one; then a whole span
//! with every attribute masked, and a log line formatted with and without
//! masking.
//!
//! Run with `cargo bench --bench masking`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use regex::Regex;

/// Attribute values as a server span carries them.
const CLEAN: &[&str] = &[
    "/api/v1/kennels",
    "/api/v1/dogs/550e8400-e29b-41d4-a716-446655440000",
    "id=2&page=10&size=50&ts=1732186400123",
    "SELECT name, owner FROM dogs WHERE kennel_id = $1 AND created > '2024-11-21'",
    "order-123456789012",
];
const WITH_NUMBER: &[&str] = &[
    "/api/v1/person/01019012345/saker",
    "fnr=010190 12345&page=1",
    "SELECT * FROM person WHERE fnr = '41019012345'",
];

/// The NAIS collector's approach: its regular expression, then the date check.
struct RegexMasker {
    regex: Regex,
}

impl RegexMasker {
    fn new() -> Self {
        Self {
            regex: Regex::new(r"\b(\d{6})\s?(\d{5})\b").expect("valid regex"),
        }
    }

    fn mask(&self, text: &str) -> Option<String> {
        if !self.regex.is_match(text) {
            return None;
        }
        let replaced = self.regex.replace_all(text, |caps: &regex::Captures<'_>| {
            let date = &caps[1];
            let day: u32 = date[0..2].parse().unwrap_or(0);
            let month: u32 = date[2..4].parse().unwrap_or(0);
            let plausible = ((1..=31).contains(&day) || (41..=71).contains(&day))
                && ((1..=12).contains(&month)
                    || (41..=52).contains(&month)
                    || (81..=92).contains(&month));
            if plausible {
                "[fnr]".to_owned()
            } else {
                caps[0].to_owned()
            }
        });
        Some(replaced.into_owned())
    }
}

fn masking(c: &mut Criterion) {
    let regex = RegexMasker::new();
    let mut group = c.benchmark_group("mask");
    group.bench_function("nais-otel/no number (5 values)", |b| {
        b.iter(|| {
            for value in CLEAN {
                black_box(nais_otel::privacy::mask(black_box(value), "[fnr]"));
            }
        })
    });
    group.bench_function("collector regex/no number (5 values)", |b| {
        b.iter(|| {
            for value in CLEAN {
                black_box(regex.mask(black_box(value)));
            }
        })
    });
    group.bench_function("nais-otel/with number (3 values)", |b| {
        b.iter(|| {
            for value in WITH_NUMBER {
                black_box(nais_otel::privacy::mask(black_box(value), "[fnr]"));
            }
        })
    });
    group.bench_function("collector regex/with number (3 values)", |b| {
        b.iter(|| {
            for value in WITH_NUMBER {
                black_box(regex.mask(black_box(value)));
            }
        })
    });
    group.finish();
}

/// A server span as the export thread gets it: a dozen attributes of every
/// kind, an event and a link, no number anywhere (or one, in `person`).
fn span(with_number: bool) -> opentelemetry_sdk::trace::SpanData {
    use opentelemetry::{
        trace::{Event, Link, SpanContext, SpanId, SpanKind, Status},
        Array, KeyValue, Value,
    };
    let person = if with_number {
        "01019012345"
    } else {
        "550e8400"
    };
    let attributes = vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new(
            "url.path",
            "/api/v1/dogs/550e8400-e29b-41d4-a716-446655440000",
        ),
        KeyValue::new("url.query", "page=2&size=50&ts=1732186400123"),
        KeyValue::new("url.scheme", "http"),
        KeyValue::new("http.route", "/api/v1/dogs/{id}"),
        KeyValue::new("server.address", "dogs.dogbook.svc.cluster.local"),
        KeyValue::new("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
        KeyValue::new("client.address", "10.6.12.201"),
        KeyValue::new("person", person),
        KeyValue::new("http.response.status_code", 200),
        KeyValue::new("messaging.kafka.message.key", 1_732_186_400_i64),
        KeyValue::new(
            "tags",
            Value::Array(Array::String(vec!["a".into(), "b".into()])),
        ),
    ];
    let mut events = opentelemetry_sdk::trace::SpanEvents::default();
    events.events.push(Event::new(
        "looked up dog",
        std::time::SystemTime::now(),
        vec![KeyValue::new("dog.name", "Fido")],
        0,
    ));
    let mut links = opentelemetry_sdk::trace::SpanLinks::default();
    links.links.push(Link::new(
        SpanContext::empty_context(),
        vec![KeyValue::new("reason", "retry")],
        0,
    ));
    opentelemetry_sdk::trace::SpanData {
        span_context: SpanContext::empty_context(),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Server,
        name: "GET /api/v1/dogs/{id}".into(),
        start_time: std::time::SystemTime::now(),
        end_time: std::time::SystemTime::now(),
        attributes,
        dropped_attributes_count: 0,
        events,
        links,
        status: Status::Unset,
        instrumentation_scope: Default::default(),
    }
}

/// Every string of a span through the collector's regular expression.
fn regex_span(regex: &RegexMasker, span: &opentelemetry_sdk::trace::SpanData) -> usize {
    let values = span
        .attributes
        .iter()
        .chain(span.events.events.iter().flat_map(|e| e.attributes.iter()))
        .chain(span.links.links.iter().flat_map(|l| l.attributes.iter()));
    let mut masked = usize::from(regex.mask(&span.name).is_some());
    for kv in values {
        if let opentelemetry::Value::String(text) = &kv.value {
            masked += usize::from(regex.mask(text.as_str()).is_some());
        }
    }
    masked
}

fn spans(c: &mut Criterion) {
    use nais_otel::privacy::{MaskConfig, Masker};
    let regex = RegexMasker::new();
    let masker = Masker::new(MaskConfig::new());
    let mut group = c.benchmark_group("mask span, all attributes");
    for (label, with_number) in [("no number", false), ("one number", true)] {
        let template = span(with_number);
        // The clone is measured alone, so its cost can be taken off.
        group.bench_function(format!("clone only/{label}"), |b| {
            b.iter(|| black_box(template.clone()))
        });
        group.bench_function(format!("nais-otel/{label}"), |b| {
            b.iter(|| {
                let mut span = template.clone();
                masker.mask_span(black_box(&mut span));
                black_box(span)
            })
        });
        group.bench_function(format!("collector regex/{label}"), |b| {
            b.iter(|| {
                let span = template.clone();
                black_box(regex_span(&regex, black_box(&span)));
                black_box(span)
            })
        });
    }
    group.finish();
}

fn log_lines(c: &mut Criterion) {
    use nais_otel::{privacy::MaskConfig, JsonFormat, MaskingFields, MaskingWriter};
    let json = |config: MaskConfig| {
        tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .event_format(JsonFormat::new().with_mask_config(config))
                .with_writer(std::io::sink)
                .finish(),
        )
    };
    let text = |config: MaskConfig| {
        tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_ansi(false)
                .fmt_fields(MaskingFields::new(config.clone()))
                .with_writer(MaskingWriter::new(std::io::sink, config))
                .finish(),
        )
    };
    let mut group = c.benchmark_group("log line");
    for (format, make) in [
        ("json", &json as &dyn Fn(MaskConfig) -> tracing::Dispatch),
        ("text", &text),
    ] {
        for (label, config) in [
            ("masked", MaskConfig::new()),
            ("unmasked", MaskConfig::disabled()),
        ] {
            let dispatch = make(config);
            for (what, id) in [("no number", "550e8400"), ("one number", "01019012345")] {
                group.bench_function(format!("{format}/{label}/{what}"), |b| {
                    tracing::dispatcher::with_default(&dispatch, || {
                        b.iter(|| {
                            tracing::info!(
                                dog.id = black_box(id),
                                owner = ?"Kari",
                                count = 3_i64,
                                "looked up dog {} for kennel 7",
                                black_box(id)
                            )
                        })
                    })
                });
            }
        }
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = masking, spans, log_lines
}
criterion_main!(benches);
