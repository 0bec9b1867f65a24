//! The cost of masking national identity numbers, per attribute value, side by
//! side with the regular expression the NAIS collector uses
//! (`\b(\d{6})\s?(\d{5})\b` plus a date check), on values with no number
//! (the common case, which must not allocate) and with one.
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

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = masking
}
criterion_main!(benches);
