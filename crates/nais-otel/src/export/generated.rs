//! Generated spans for tests: every kind of value, empty and non-empty strings, events,
//! links, statuses, trace states, remote parents and several scopes, from a seeded
//! generator (the same spans on every run).

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

/// Seeded: the same batches on every run.
pub(crate) struct Rng(fastrand::Rng);

impl Rng {
    pub(crate) fn seeded(seed: u64) -> Self {
        Self(fastrand::Rng::with_seed(seed))
    }

    fn next(&mut self) -> u64 {
        self.0.u64(..)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0.u64(..n)
    }

    pub(crate) fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    fn text(&mut self) -> String {
        const PIECES: &[&str] = &[
            "",
            "a",
            "dog.id",
            "/users/{id}",
            "æøå",
            "🐕",
            "GET",
            " ",
            "\u{0}",
            "fnr=[fnr]",
            // An identity number, and URLs with credentials and a signature: what
            // preparing changes.
            "01019012345",
            "https://user:secret@dogs.example/kennel",
            "/photo?sig=c2VjcmV0&size=2",
        ];
        let mut text = String::new();
        for _ in 0..self.below(4) {
            text.push_str(PIECES[self.below(PIECES.len() as u64) as usize]);
        }
        if self.chance(20) {
            text.push_str(&"x".repeat(300));
        }
        text
    }

    fn int(&mut self) -> i64 {
        match self.below(6) {
            0 => 0,
            1 => -1,
            2 => i64::MIN,
            3 => i64::MAX,
            4 => self.below(300) as i64,
            5 if self.chance(4) => 2_019_012_345,
            _ => self.next() as i64,
        }
    }

    fn double(&mut self) -> f64 {
        match self.below(7) {
            0 => 0.0,
            1 => -0.0,
            2 => f64::NAN,
            3 => f64::INFINITY,
            4 => f64::MIN_POSITIVE,
            5 => -1.5,
            _ => f64::from_bits(self.next()),
        }
    }

    fn value(&mut self) -> Value {
        let n = self.below(4) as usize;
        match self.below(9) {
            0 => Value::Bool(self.chance(2)),
            1 => Value::I64(self.int()),
            2 => Value::F64(self.double()),
            3 => Value::Array(Array::Bool((0..n).map(|_| self.chance(2)).collect())),
            4 => Value::Array(Array::I64((0..n).map(|_| self.int()).collect())),
            5 => Value::Array(Array::F64((0..n).map(|_| self.double()).collect())),
            6 => Value::Array(Array::String(
                (0..n).map(|_| StringValue::from(self.text())).collect(),
            )),
            _ => Value::String(StringValue::from(self.text())),
        }
    }

    fn attributes(&mut self, most: u64) -> Vec<KeyValue> {
        (0..self.below(most + 1))
            .map(|_| {
                const KEYS: &[&str] =
                    &["url.full", "url.query", "http.request.header.authorization"];
                let key = if self.chance(8) {
                    KEYS[self.below(KEYS.len() as u64) as usize].to_owned()
                } else {
                    self.text()
                };
                KeyValue::new(key, self.value())
            })
            .collect()
    }

    fn time(&mut self) -> SystemTime {
        match self.below(5) {
            0 => UNIX_EPOCH,
            // Before the epoch: written as 0, as by `opentelemetry-proto`.
            1 => UNIX_EPOCH - Duration::from_secs(1),
            _ => UNIX_EPOCH + Duration::from_nanos(self.next() >> 2),
        }
    }

    fn span_context(&mut self) -> SpanContext {
        let trace_state = if self.chance(4) {
            TraceState::from_key_value([("nais", "1"), ("vendor", "a-b")]).unwrap()
        } else {
            TraceState::default()
        };
        let trace_id = if self.chance(30) {
            TraceId::INVALID
        } else {
            TraceId::from(u128::from(self.next()) << 64 | u128::from(self.next()))
        };
        SpanContext::new(
            trace_id,
            SpanId::from(self.next()),
            TraceFlags::new(self.below(256) as u8),
            self.chance(3),
            trace_state,
        )
    }

    pub(crate) fn span(&mut self, scopes: &[InstrumentationScope]) -> SpanData {
        let mut events = SpanEvents::default();
        for _ in 0..self.below(3) {
            let name = self.text();
            let time = self.time();
            let attributes = self.attributes(3);
            let dropped = self.below(3) as u32;
            events
                .events
                .push(Event::new(name, time, attributes, dropped));
        }
        events.dropped_count = self.below(2) as u32;
        let mut links = SpanLinks::default();
        for _ in 0..self.below(3) {
            let cx = self.span_context();
            let attributes = self.attributes(2);
            let dropped = self.below(2) as u32;
            links.links.push(Link::new(cx, attributes, dropped));
        }
        links.dropped_count = self.below(2) as u32;
        let name = self.text();
        SpanData {
            span_context: self.span_context(),
            parent_span_id: if self.chance(3) {
                SpanId::INVALID
            } else {
                SpanId::from(self.next())
            },
            parent_span_is_remote: self.chance(2),
            span_kind: [
                SpanKind::Internal,
                SpanKind::Server,
                SpanKind::Client,
                SpanKind::Producer,
                SpanKind::Consumer,
            ][self.below(5) as usize]
                .clone(),
            name: if self.chance(2) {
                Cow::Borrowed("GET /users/{id}")
            } else {
                Cow::Owned(name)
            },
            start_time: self.time(),
            end_time: self.time(),
            attributes: self.attributes(8),
            dropped_attributes_count: self.below(3) as u32,
            events,
            links,
            status: match self.below(4) {
                0 => Status::Ok,
                1 => Status::error(self.text()),
                _ => Status::Unset,
            },
            instrumentation_scope: scopes[self.below(scopes.len() as u64) as usize].clone(),
        }
    }
}

/// The scopes generated spans have.
pub(crate) fn scopes() -> Vec<InstrumentationScope> {
    vec![
        InstrumentationScope::builder("nais-otel").build(),
        InstrumentationScope::builder("nais-otel-tower")
            .with_version("0.1.0")
            .build(),
        InstrumentationScope::builder("dogbook")
            .with_version("2")
            .with_schema_url("https://opentelemetry.io/schemas/1.27.0")
            .with_attributes([KeyValue::new("team", "dogs"), KeyValue::new("n", 3)])
            .build(),
        InstrumentationScope::builder("").build(),
    ]
}
