//! No national identity number leaves a service by any path: a corpus of valid
//! numbers (fødselsnummer, D-, H- and synthetic numbers, control digits
//! computed here) goes through a service written the documented way
//! (`nais_otel::init()`, `nais_otel::server_layer()`, `#[instrument]`,
//! `#[instrument(err)]`, `info!` with fields, the OpenTelemetry API for links
//! and arrays, a handler that panics), run as a child process with the NAIS environment, exporting
//! over real gRPC to the console collector. The test searches the bytes the
//! collector received and everything the process wrote to stdout and stderr,
//! in JSON and in text log format. Values that only look like numbers (12-digit
//! ids, phone numbers, unix times in s and ms as strings and integers, UUIDs,
//! 11-digit non-dates) must arrive unchanged.

mod support;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use nais_otel_console::{AttributeValue, Collector, ReceivedSpan};

/// Set in the child process: the service runs instead of the test.
const CHILD_ENV: &str = "NAIS_OTEL_SUITE_PRIVACY_CHILD";

// === the corpus ===

/// One identity number of the corpus.
#[derive(Clone, Debug)]
struct Number {
    kind: &'static str,
    /// The eleven digits.
    text: String,
}

impl Number {
    /// `DDMMYY NNNNN`, as people write it.
    fn spaced(&self) -> String {
        format!("{} {}", &self.text[..6], &self.text[6..])
    }

    /// Its first digit percent-encoded (`%30` for `0`), as a client may send it in a URL.
    fn first_encoded(&self) -> String {
        format!("%3{}", &self.text)
    }

    /// Every digit percent-encoded.
    fn all_encoded(&self) -> String {
        self.text
            .chars()
            .map(|digit| format!("%3{digit}"))
            .collect()
    }

    /// The number as an integer: its leading zero, if any, lost.
    fn integer(&self) -> i64 {
        self.text.parse().expect("digits")
    }
}

/// The two mod-11 control digits of nine digits, `None` where a control digit
/// would be 10 (no such number is issued).
fn control_digits(nine: &[u32; 9]) -> Option<(u32, u32)> {
    const K1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
    const K2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    let control = |digits: &[u32], weights: &[u32]| {
        let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
        match 11 - sum % 11 {
            11 => Some(0),
            10 => None,
            c => Some(c),
        }
    };
    let k1 = control(nine, &K1)?;
    let mut ten = [0; 10];
    ten[..9].copy_from_slice(nine);
    ten[9] = k1;
    Some((k1, control(&ten, &K2)?))
}

/// `per_kind` valid numbers of each kind, from a fixed seed. The first of each
/// kind but the synthetic one is born on the 1st: sent as an integer, it is ten
/// digits from `1`. Synthetic days run from the 2nd: a synthetic number born on
/// the 1st, sent as an integer, reads as a unix time of May 2027 to February 2031
/// and is the documented exception (`privacy` module docs, and its unit tests).
fn corpus(per_kind: usize) -> Vec<Number> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |below: u32| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % u64::from(below)) as u32
    };
    let kinds: [(&str, u32, u32); 4] = [
        ("fødselsnummer", 0, 0),
        ("D-number", 40, 0),
        ("H-number", 0, 40),
        ("synthetic", 0, 80),
    ];
    let mut numbers = Vec::new();
    for (kind, day_offset, month_offset) in kinds {
        let mut made = 0;
        while made < per_kind {
            let day = if made == 0 && month_offset != 80 {
                1
            } else {
                2 + next(27)
            } + day_offset;
            let month = 1 + next(12) + month_offset;
            let year = next(100);
            let individual = next(1000);
            let nine = [
                day / 10,
                day % 10,
                month / 10,
                month % 10,
                year / 10,
                year % 10,
                individual / 100,
                individual / 10 % 10,
                individual % 10,
            ];
            let Some((k1, k2)) = control_digits(&nine) else {
                continue;
            };
            let text: String = nine
                .iter()
                .chain([k1, k2].iter())
                .map(|d| char::from_digit(*d, 10).expect("a digit"))
                .collect();
            numbers.push(Number { kind, text });
            made += 1;
        }
    }
    numbers
}

/// Values that look a little like identity numbers and must come through
/// unchanged, as strings: (attribute key, value, why).
#[rustfmt::skip]
const NEGATIVE_STRINGS: &[(&str, &str, &str)] = &[
    ("neg.id12", "123456789012", "a 12-digit id"),
    ("neg.id12b", "010190123456", "12 digits that start like a number"),
    ("neg.phone", "+47 912 34 567", "a phone number with spaces"),
    ("neg.phone_cc", "4791234567", "a phone number with country code"),
    ("neg.phone8", "91234567", "an 8-digit phone number"),
    ("neg.ten_control", "2019012345", "ten digits, a date with a zero put back, control digits wrong"),
    ("neg.ts_s", "1732186400", "unix seconds as a string"),
    ("neg.ts_s_2017", "1500000000", "unix seconds of 2017 as a string"),
    ("neg.ts_ms", "1732186400123", "unix milliseconds as a string"),
    ("neg.uuid", "550e8400-e29b-41d4-a716-446655440000", "a UUID"),
    ("neg.nondate", "99999999999", "11 digits, no date"),
    ("neg.day32", "32134567890", "11 digits, day 32"),
    ("neg.month13", "01139012345", "11 digits, month 13"),
    ("neg.day00", "00019012345", "11 digits, day 00"),
    ("neg.month00", "15009012345", "11 digits, month 00"),
];

/// The same, as integers.
#[rustfmt::skip]
const NEGATIVE_INTEGERS: &[(&str, i64, &str)] = &[
    ("neg.int_ts_2017", 1_500_000_000, "unix seconds, 2017 (01500000000 would read as an H-number)"),
    ("neg.int_ts_2018", 1_529_999_999, "unix seconds, 2018"),
    ("neg.int_ts_now", 1_732_186_400, "unix seconds, 2024"),
    ("neg.int_ts_2028", 1_830_297_600, "unix seconds, 2028 (month 83 would be synthetic)"),
    ("neg.int_ts_ms", 1_732_186_400_123, "unix milliseconds"),
    ("neg.int_id12", 123_456_789_012, "a 12-digit id"),
    ("neg.int_phone", 4_791_234_567, "a phone number with country code"),
    ("neg.int_nondate", 99_999_999_999, "11 digits, no date"),
];

// === the service (child process) ===

/// Not a test: the service this file starts as a child process. Does nothing
/// otherwise.
#[test]
fn privacy_child_process() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    service::run();
    std::process::exit(0);
}

mod service {
    use super::*;

    use axum::{extract::Path, routing::get, Router};
    use opentelemetry::{
        trace::{Link, Span as _, Status, Tracer as _},
        Array, KeyValue,
    };

    /// A value whose `Debug` holds the number, as a struct field would.
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Person {
        fnr: String,
    }

    /// An error whose text holds the number.
    #[derive(Debug)]
    struct LookupError(String);

    impl std::fmt::Display for LookupError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "no person with fnr {}", self.0)
        }
    }

    impl std::error::Error for LookupError {}

    pub(super) fn run() {
        let guard = nais_otel::init().expect("init");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let app = Router::new()
            .route("/person/{fnr}", get(person))
            .route("/negative", get(negative))
            .route("/panic/{fnr}", get(panics))
            .layer(nais_otel::server_layer());
        runtime.spawn(async move { axum::serve(listener, app).await });
        for number in corpus(super::PER_KIND) {
            // A caller's trace state carries the number too: it is exported with
            // every span of the trace.
            let trace_state = format!("nav={}", number.text);
            let response = support::get(
                port,
                &format!(
                    "/person/{}?fnr={}&spaced={}&twice={}&one={}&all={}",
                    number.first_encoded(),
                    number.text,
                    number.spaced().replace(' ', "%20"),
                    number.spaced().replace(' ', "%2520"),
                    number.first_encoded(),
                    number.all_encoded()
                ),
                &[
                    (
                        "traceparent",
                        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                    ),
                    ("tracestate", &trace_state),
                ],
            )
            .expect("GET /person");
            assert_eq!(response.status, 200, "{response:?}");
            // The handler panics: whatever the connection gets, the panic
            // message must not reach stderr as it is.
            let _ = support::get(port, &format!("/panic/{}", number.text), &[]);
        }
        let response = support::must_get(port, "/negative");
        assert_eq!(response.status, 200, "{response:?}");
        runtime.shutdown_timeout(Duration::from_secs(1));
        drop(guard);
    }

    async fn person(Path(fnr): Path<String>) -> &'static str {
        let number: i64 = fnr.parse().expect("digits");
        hent_person(fnr, number).await;
        "ok"
    }

    /// `#[instrument]` records both arguments as attributes of its span.
    #[tracing::instrument]
    async fn hent_person(fnr: String, nummer: i64) {
        let spaced = format!("{} {}", &fnr[..6], &fnr[6..]);
        {
            let span = tracing::info_span!(
                "oppslag",
                person.id = %fnr,
                kafka.key = nummer,
                otel.name = %format!("oppslag {fnr}"),
                db.statement = %format!("SELECT * FROM person WHERE fnr LIKE '%{fnr}%'"),
            );
            let _entered = span.enter();
            tracing::info!(fnr = %fnr, nummer, "processing");
            tracing::info!("behandler {fnr}");
            // The integer written into text: ten digits when its leading zero is lost.
            tracing::info!(tekst = %format!("nummer {nummer}"), "behandler nummer {nummer}");
            tracing::info!(person = ?Person { fnr: fnr.clone() }, "a Debug field");
            tracing::warn!("mellomrom {spaced}");
            // Split by the other whitespace NAIS's `\s` reads, or an invisible character.
            let others = [
                '\u{2009}', '\u{202f}', '\u{3000}', '\u{2028}', '\u{feff}', '\u{200b}', '\u{85}',
                '\u{ad}',
            ];
            let other = others[usize::from(fnr.as_bytes()[10]) % others.len()];
            let unicode = format!("{}{other}{}", &fnr[..6], &fnr[6..]);
            tracing::info!(tekst = %unicode, "unicode {unicode}");
            // Separators as `Debug` and JSON escape them, a number through `Debug`,
            // `Display`, `i128`, a float and a sign.
            let nbsp = format!("{}\u{a0}{}", &fnr[..6], &fnr[6..]);
            tracing::info!(person = ?Person { fnr: nbsp }, "a non-breaking space");
            let form_feed =
                serde_json::json!({ "fnr": format!("{}\u{c}{}", &fnr[..6], &fnr[6..]) });
            tracing::info!(body = %form_feed, as_debug = ?form_feed.to_string(), "escaped JSON");
            tracing::info!(
                debug = ?nummer,
                display = %nummer,
                wide = i128::from(nummer),
                float = nummer as f64,
                negative = -nummer,
                "numbers in other types"
            );
            let error = LookupError(fnr.clone());
            tracing::error!(error = &error as &dyn std::error::Error, "lookup failed");
            let _ = finn(&fnr);
        }
        // The OpenTelemetry API: a link with attributes, an array, an event, a status.
        let tracer = opentelemetry::global::tracer("corpus");
        let mut earlier = tracer.start("forrige");
        let linked_to = earlier.span_context().clone();
        earlier.end();
        let mut span = tracer
            .span_builder(format!("lenket {fnr}"))
            .with_links(vec![Link::new(
                linked_to,
                vec![
                    KeyValue::new("link.fnr", fnr.clone()),
                    KeyValue::new("link.nummer", nummer),
                    KeyValue::new(format!("link.{fnr}"), true),
                ],
                0,
            )])
            .with_attributes(vec![
                KeyValue::new(
                    "fnr.liste",
                    opentelemetry::Value::Array(Array::String(vec![
                        "x".into(),
                        spaced.clone().into(),
                    ])),
                ),
                KeyValue::new(
                    "nummer.liste",
                    opentelemetry::Value::Array(Array::I64(vec![7, nummer])),
                ),
            ])
            .start(&tracer);
        span.add_event(
            format!("hendelse {fnr}"),
            vec![KeyValue::new("hendelse.fnr", fnr.clone())],
        );
        span.set_attribute(KeyValue::new(format!("person.{fnr}.found"), true));
        span.set_status(Status::error(format!("feil for {spaced}")));
        span.end();
    }

    /// `#[instrument(err)]`: the error's text goes to the span's status, to an
    /// `exception` event and to the log.
    #[tracing::instrument(err)]
    fn finn(fnr: &str) -> Result<(), String> {
        Err(format!("ingen person med fnr {fnr}"))
    }

    async fn panics(Path(fnr): Path<String>) -> &'static str {
        panic!("kunne ikke behandle {fnr}");
    }

    async fn negative() -> &'static str {
        let span = tracing::info_span!("negativ");
        let _entered = span.enter();
        for (key, value, _) in NEGATIVE_STRINGS {
            tracing::info!(key, value, "negative string {value}");
        }
        for (key, value, _) in NEGATIVE_INTEGERS {
            tracing::info!(key, value, "negative integer");
        }
        drop(_entered);
        let tracer = opentelemetry::global::tracer("corpus");
        let mut span = tracer.start("negativ");
        for (key, value, _) in NEGATIVE_STRINGS {
            span.set_attribute(KeyValue::new(*key, *value));
        }
        for (key, value, _) in NEGATIVE_INTEGERS {
            span.set_attribute(KeyValue::new(*key, *value));
        }
        span.end();
        "ok"
    }
}

// === the test ===

const PER_KIND: usize = 10;

/// What the service wrote and what the collector received.
struct Run {
    stdout: String,
    stderr: String,
    bytes: Vec<u8>,
    spans: Vec<ReceivedSpan>,
}

fn run_service(log_format: &str) -> Run {
    let collector = Collector::start().expect("collector");
    let mut env = support::nais_env("privacy", 0, &collector.endpoint());
    env.retain(|(name, _)| !matches!(*name, "PORT" | "BIND_ADDRESS"));
    env.push(("NAIS_OTEL_LOG_FORMAT", log_format.to_owned()));
    env.push(("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()));
    env.push(("RUST_LOG", "info".to_owned()));
    env.push((CHILD_ENV, "1".to_owned()));
    let child = Command::new(std::env::current_exe().expect("test executable"))
        .args(["privacy_child_process", "--exact", "--nocapture"])
        .env_clear()
        .envs(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the service starts");
    let started = Instant::now();
    let output = child.wait_with_output().expect("the service ends");
    assert!(
        started.elapsed() < support::DEADLINE,
        "the service took {:?}",
        started.elapsed()
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "the service failed: {}\n{stdout}\n{stderr}",
        output.status
    );
    // The guard's drop flushed every span before the process exited.
    let spans = collector.spans();
    let bytes = collector.raw_requests().concat();
    Run {
        stdout,
        stderr,
        bytes,
        spans,
    }
}

/// The first six digits of `number`, then up to twelve bytes that are no digit, then its
/// last five: the number split by a separator in any form (`\u{a0}`, `\f`, `%2520`).
fn split(haystack: &[u8], number: &str) -> Option<String> {
    let (first, last) = number.as_bytes().split_at(6);
    let digit = |at: usize| haystack.get(at).is_some_and(u8::is_ascii_digit);
    (0..haystack.len().saturating_sub(number.len())).find_map(|at| {
        if !haystack[at..].starts_with(first) || (at > 0 && digit(at - 1)) {
            return None;
        }
        let gap_start = at + 6;
        (1..=12).find_map(|gap| {
            let end = gap_start + gap + 5;
            let between = haystack.get(gap_start..gap_start + gap)?;
            (!between.iter().any(u8::is_ascii_digit)
                && haystack.get(gap_start + gap..end) == Some(last)
                && !digit(end))
            .then(|| String::from_utf8_lossy(&haystack[at..end]).into_owned())
        })
    })
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Every attribute of a span, its events and its links.
fn all_attributes(span: &ReceivedSpan) -> impl Iterator<Item = &(String, AttributeValue)> {
    span.attributes
        .iter()
        .chain(span.events.iter().flat_map(|e| e.attributes.iter()))
        .chain(span.links.iter().flat_map(|l| l.attributes.iter()))
}

fn check(log_format: &str) {
    let numbers = corpus(PER_KIND);
    let run = run_service(log_format);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert!(!run.bytes.is_empty(), "the collector got nothing");

    // Nothing in any form, anywhere.
    let mut leaks = Vec::new();
    for number in &numbers {
        for (place, haystack) in [
            ("the collector", &run.bytes[..]),
            ("the output", output.as_bytes()),
        ] {
            if let Some(found) = split(haystack, &number.text) {
                leaks.push(format!("{} split as {found:?} in {place}", number.kind));
            }
        }
        let forms = [
            number.text.clone(),
            number.spaced(),
            number.integer().to_string(),
            number.first_encoded(),
            number.all_encoded(),
        ];
        for form in &forms {
            if contains(&run.bytes, form) {
                leaks.push(format!("{} {form} reached the collector", number.kind));
            }
            if output.contains(form.as_str()) {
                leaks.push(format!("{} {form} is in the output", number.kind));
            }
        }
        for span in &run.spans {
            for (key, value) in all_attributes(span) {
                if let AttributeValue::Int(found) = value {
                    if *found == number.integer() {
                        leaks.push(format!("{} as an integer in `{key}`", number.kind));
                    }
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{log_format}: {} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );

    // Every position was there, and was masked.
    let lookups: Vec<&ReceivedSpan> = run
        .spans
        .iter()
        .filter(|s| s.name == "hent_person")
        .collect();
    assert_eq!(lookups.len(), numbers.len(), "one span a number");
    for span in lookups {
        assert!(
            span.attr_str("fnr").is_some_and(|v| v.contains("[fnr]")),
            "#[instrument] argument: {:?}",
            span.attr("fnr")
        );
        assert_eq!(span.attr_str("nummer"), Some("[fnr]"), "integer argument");
    }
    let masked_spans = |name: &str| {
        run.spans
            .iter()
            .filter(|s| s.name == name)
            .collect::<Vec<_>>()
    };
    let oppslag = masked_spans("oppslag [fnr]");
    assert_eq!(oppslag.len(), numbers.len(), "span name from otel.name");
    for span in oppslag {
        assert_eq!(span.attr_str("person.id"), Some("[fnr]"));
        assert_eq!(span.attr_str("kafka.key"), Some("[fnr]"));
        let processing = span.event("processing").expect("event");
        assert_eq!(processing.attr_str("fnr"), Some("[fnr]"));
        assert_eq!(processing.attr_str("nummer"), Some("[fnr]"));
        assert!(span.event("behandler [fnr]").is_some(), "event name");
        assert!(span.event("mellomrom [fnr]").is_some(), "spaced number");
        assert_eq!(
            span.attr_str("db.statement"),
            Some("SELECT * FROM person WHERE fnr LIKE '%[fnr]%'"),
            "a plain percent sign before the number"
        );
        assert_eq!(span.trace_state, "nav=[fnr]", "the trace state, inherited");
    }
    let finn = masked_spans("finn");
    assert_eq!(finn.len(), numbers.len());
    for span in finn {
        assert!(span.is_error());
        assert_eq!(span.status.message, "ingen person med fnr [fnr]");
        for event in &span.events {
            for (key, value) in &event.attributes {
                assert!(
                    !matches!(value, AttributeValue::String(text) if text.contains("ingen person") && !text.contains("[fnr]")),
                    "{key} in event {}",
                    event.name
                );
            }
        }
    }
    let linked = masked_spans("lenket [fnr]");
    assert_eq!(linked.len(), numbers.len());
    for span in linked {
        assert_eq!(span.links[0].attributes.len(), 3, "{:?}", span.links);
        for (key, value) in &span.links[0].attributes {
            if key == "link.[fnr]" {
                assert_eq!(value, &AttributeValue::Bool(true), "a masked key");
            } else {
                assert_eq!(value.as_str(), Some("[fnr]"), "link attribute {key}");
            }
        }
        assert_eq!(
            span.attr("person.[fnr].found"),
            Some(&AttributeValue::Bool(true)),
            "a key made at run time"
        );
        assert_eq!(
            span.attr("fnr.liste"),
            Some(&AttributeValue::Array(vec![
                AttributeValue::String("x".into()),
                AttributeValue::String("[fnr]".into())
            ]))
        );
        assert_eq!(
            span.attr("nummer.liste"),
            Some(&AttributeValue::Array(vec![
                AttributeValue::String("7".into()),
                AttributeValue::String("[fnr]".into())
            ]))
        );
        assert!(span.event("hendelse [fnr]").is_some());
        assert_eq!(span.status.message, "feil for [fnr]");
    }
    let server = run
        .spans
        .iter()
        .filter(|s| s.attr_str("http.route") == Some("/person/{fnr}"))
        .collect::<Vec<_>>();
    assert_eq!(server.len(), numbers.len());
    for span in server {
        assert_eq!(span.attr_str("url.path"), Some("/person/[fnr]"));
        assert_eq!(
            span.attr_str("url.query"),
            Some("fnr=[fnr]&spaced=[fnr]&twice=[fnr]&one=[fnr]&all=[fnr]")
        );
        assert_eq!(span.trace_state, "nav=[fnr]", "the caller's trace state");
    }
    // Each number shows in the log lines as the replacement, in every one of
    // its log lines: the message, the fields, the error.
    assert_eq!(
        output.matches("panicked at").count(),
        numbers.len(),
        "{log_format}: one panic a number, reported"
    );
    assert_eq!(
        output.matches(": kunne ikke behandle [fnr]").count(),
        numbers.len(),
        "{log_format}: the panic message masked"
    );
    let masked_in_output = output.matches("[fnr]").count();
    assert!(
        masked_in_output >= 6 * numbers.len(),
        "{log_format}: {masked_in_output} masked values in the output"
    );

    // The values that only look like numbers come through unchanged.
    let negative = run
        .spans
        .iter()
        .find(|s| s.name == "negativ" && s.scope_name == "corpus")
        .expect("the negative span");
    for (key, value, why) in NEGATIVE_STRINGS {
        assert_eq!(negative.attr_str(key), Some(*value), "{why}");
        assert!(output.contains(value), "{log_format}: {why}: {value}");
        assert!(
            output.contains(&format!("negative string {value}")),
            "{log_format}: {why} in a message"
        );
    }
    for (key, value, why) in NEGATIVE_INTEGERS {
        assert_eq!(negative.attr_i64(key), Some(*value), "{why}");
        assert!(
            output.contains(&value.to_string()),
            "{log_format}: {why}: {value}"
        );
    }
    let events = run
        .spans
        .iter()
        .find(|s| s.name == "negativ" && s.scope_name != "corpus")
        .expect("the negative tracing span");
    for (_, value, why) in NEGATIVE_STRINGS {
        assert!(
            events
                .events
                .iter()
                .any(|e| e.attr_str("value") == Some(*value)),
            "{why}: event field"
        );
    }
    for (_, value, why) in NEGATIVE_INTEGERS {
        assert!(
            events
                .events
                .iter()
                .any(|e| e.attr("value").and_then(AttributeValue::as_i64) == Some(*value)),
            "{why}: event field"
        );
    }
}

#[test]
fn no_identity_number_leaves_by_json_logs_or_spans() {
    check("json");
}

#[test]
fn no_identity_number_leaves_by_text_logs_or_spans() {
    check("text");
}

#[test]
fn the_corpus_is_valid() {
    let numbers = corpus(PER_KIND);
    assert_eq!(numbers.len(), 4 * PER_KIND);
    for number in &numbers {
        let digits: Vec<u32> = number
            .text
            .chars()
            .map(|c| c.to_digit(10).expect("digit"))
            .collect();
        assert_eq!(digits.len(), 11);
        let nine: [u32; 9] = digits[..9].try_into().expect("nine");
        assert_eq!(
            control_digits(&nine),
            Some((digits[9], digits[10])),
            "{number:?}"
        );
        let (day, month) = (digits[0] * 10 + digits[1], digits[2] * 10 + digits[3]);
        let (day_ok, month_ok) = match number.kind {
            "D-number" => ((41..=68).contains(&day), (1..=12).contains(&month)),
            "H-number" => ((1..=28).contains(&day), (41..=52).contains(&month)),
            "synthetic" => ((2..=28).contains(&day), (81..=92).contains(&month)),
            _ => ((1..=28).contains(&day), (1..=12).contains(&month)),
        };
        assert!(day_ok && month_ok, "{number:?}");
    }
    // Born on the 1st: the fødselsnummer and the H-number that become ten digits from `1`.
    let first = numbers.iter().filter(|n| n.text.starts_with("01")).count();
    assert_eq!(first, 2, "{numbers:?}");
    // A known valid number and a known invalid one, against the generator.
    assert_eq!(control_digits(&[0, 1, 0, 1, 0, 1, 0, 1, 0]), Some((0, 6)));
}
