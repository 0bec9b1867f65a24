//! The subscriber `init()` builds, under different log filters: `tracing` spans and events
//! at INFO and above become trace spans and span events whatever `RUST_LOG` says, DEBUG
//! spans and nais-otel's own never do, and the log output follows `RUST_LOG` alone. With
//! `RUST_LOG` unset or `info` the bridge decides its own interest; with any other filter it
//! sits behind a per-layer filter. Both must behave the same.

mod support;

use support::Lines;

use nais_otel::config::LogFormat;
use nais_otel::SpanExt as _;
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};

impl Lines {
    fn messages(&self) -> Vec<String> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|line| line["message"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Runs the same code under `init()`'s subscriber with `filter` as `RUST_LOG` (`None`:
/// unset); returns the spans exported and the messages logged.
fn run(filter: Option<&str>) -> (Vec<SpanData>, Vec<String>) {
    let ((), spans, lines) = under_init(filter, |_| {
        let span = tracing::info_span!("checkout", cart.items = 3_u32);
        span.set_attribute("cart.currency", "NOK");
        let _entered = span.enter();
        tracing::debug_span!("too-detailed").in_scope(|| tracing::info!("in a debug span"));
        tracing::info_span!(target: "nais_otel", "internal")
            .in_scope(|| tracing::info!("in nais-otel's span"));
        tracing::warn!(target: "nais_otel", "nais-otel's own warning");
        tracing::info!("paid");
        tracing::debug!("details");
        tracing::warn!("slow");
    });
    (spans, lines.messages())
}

fn assert_spans(spans: &[SpanData], filter: Option<&str>) {
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names, ["checkout"], "RUST_LOG={filter:?}");
    let checkout = &spans[0];
    let attr = |key: &str| support::attr(&checkout.attributes, key).cloned();
    assert_eq!(
        attr("cart.items"),
        Some(Value::I64(3)),
        "RUST_LOG={filter:?}"
    );
    assert_eq!(
        attr("cart.currency"),
        Some(Value::from("NOK")),
        "RUST_LOG={filter:?}"
    );
    // Events in spans the bridge does not keep land on the span it keeps above them.
    let events: Vec<&str> = checkout
        .events
        .events
        .iter()
        .map(|e| e.name.as_ref())
        .collect();
    assert_eq!(
        events,
        ["in a debug span", "in nais-otel's span", "paid", "slow"],
        "RUST_LOG={filter:?}"
    );
}

#[test]
fn rust_log_unset_or_info_traces_info_and_logs_info() {
    for filter in [None, Some("info"), Some(" INFO ")] {
        let (spans, messages) = run(filter);
        assert_spans(&spans, filter);
        assert_eq!(
            messages,
            [
                "in a debug span",
                "in nais-otel's span",
                "nais-otel's own warning",
                "paid",
                "slow"
            ],
            "RUST_LOG={filter:?}"
        );
    }
}

#[test]
fn rust_log_warn_still_traces_info() {
    let filter = Some("warn");
    let (spans, messages) = run(filter);
    assert_spans(&spans, filter);
    assert_eq!(messages, ["nais-otel's own warning", "slow"]);
}

#[test]
fn rust_log_debug_logs_debug_but_traces_info() {
    let filter = Some("debug");
    let (spans, messages) = run(filter);
    assert_spans(&spans, filter);
    assert_eq!(
        messages,
        [
            "in a debug span",
            "in nais-otel's span",
            "nais-otel's own warning",
            "paid",
            "details",
            "slow"
        ]
    );
}

#[test]
fn rust_log_per_target_traces_info_everywhere() {
    // Another crate's INFO spans are traced though its logs are off.
    let filter = Some("info,bridge_filters=error");
    let (spans, messages) = run(filter);
    assert_spans(&spans, filter);
    assert_eq!(messages, ["nais-otel's own warning"]);
}

/// The JSON log lines `lines` holds.
fn json_lines(lines: &Lines) -> Vec<serde_json::Value> {
    lines
        .text()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// Runs `f` under `init()`'s subscriber (given to it) with `filter` as `RUST_LOG` and JSON
/// log lines; returns what `f` returned, the spans exported and the lines logged.
fn under_init<R>(
    filter: Option<&str>,
    f: impl FnOnce(&tracing::Dispatch) -> R,
) -> (R, Vec<SpanData>, Lines) {
    under_init_as(LogFormat::Json, filter, f)
}

/// [`under_init`] with log lines in `format`.
fn under_init_as<R>(
    format: LogFormat,
    filter: Option<&str>,
    f: impl FnOnce(&tracing::Dispatch) -> R,
) -> (R, Vec<SpanData>, Lines) {
    // One subscriber at a time: `tracing` keeps each callsite's interest for every
    // subscriber alive in the process, so another test's `debug` subscriber can make a
    // DEBUG span exist under this one's `warn` without its filters being asked.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let exporter = InMemorySpanExporter::default();
    let lines = Lines::default();
    let writer = lines.clone();
    let filter = filter.map(str::to_owned);
    let guard = nais_otel::builder()
        .with_env_lookup(move |name| (name == "RUST_LOG").then(|| filter.clone()).flatten())
        .with_span_exporter(exporter.clone())
        .with_globals(false)
        .with_log_format(format)
        .with_log_writer(move || writer.clone())
        .init()
        .expect("init");
    let subscriber = guard.subscriber().expect("init() builds its subscriber");
    let value = tracing::dispatcher::with_default(subscriber, || f(subscriber));
    guard.force_flush();
    (value, exporter.get_finished_spans().expect("spans"), lines)
}

fn span_id(cx: &opentelemetry::Context) -> String {
    use opentelemetry::trace::TraceContextExt as _;
    cx.span().span_context().span_id().to_string()
}

/// A task spawned from inside a DEBUG span (`tokio::spawn(f.in_current_span())` in a
/// `#[instrument(level = "debug")]` function) runs on another thread with only that span
/// entered. Whether `RUST_LOG` makes DEBUG spans or not, what runs there is in the trace
/// of the INFO span above: its spans, its context (what the client layer sends on) and
/// the ids of its log lines.
#[test]
fn a_task_spawned_inside_a_debug_span_stays_in_the_trace() {
    let filters = [
        None,
        Some("info"),
        Some("warn"),
        Some("debug"),
        Some("trace"),
        Some("info,bridge_filters=debug"),
        Some("info,[load]=trace"),
        Some("warn,[load]=debug"),
    ];
    for filter in filters {
        let (current, spans, lines) = under_init(filter, |subscriber| {
            let a = tracing::info_span!("a");
            let captured =
                a.in_scope(|| tracing::debug_span!("b").in_scope(tracing::Span::current));
            let dispatch = subscriber.clone();
            let current = std::thread::spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    let current = captured.in_scope(|| {
                        tracing::info!("in the spawned task");
                        tracing::info_span!("c").in_scope(|| tracing::info!("in c"));
                        span_id(&opentelemetry::Context::current())
                    });
                    // Closed under the subscriber: the registry closes its parent through
                    // the thread's default one.
                    drop(captured);
                    current
                })
            })
            .join()
            .expect("the thread");
            drop(a);
            current
        });
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(names, ["c", "a"], "RUST_LOG={filter:?}");
        let (c, a) = (&spans[0], &spans[1]);
        let a_id = a.span_context.span_id().to_string();
        let c_id = c.span_context.span_id().to_string();
        assert_eq!(
            c.parent_span_id,
            a.span_context.span_id(),
            "RUST_LOG={filter:?}"
        );
        assert_eq!(c.span_context.trace_id(), a.span_context.trace_id());
        assert_eq!(current, a_id, "Context::current(), RUST_LOG={filter:?}");
        let events: Vec<&str> = a.events.iter().map(|e| e.name.as_ref()).collect();
        assert_eq!(events, ["in the spawned task"], "RUST_LOG={filter:?}");
        let logged = json_lines(&lines);
        if !filter.is_some_and(|filter| filter.starts_with("warn")) {
            assert_eq!(logged.len(), 2, "RUST_LOG={filter:?}: {logged:?}");
        }
        for line in logged {
            let expected = match line["message"].as_str() {
                Some("in the spawned task") => &a_id,
                Some("in c") => &c_id,
                other => panic!("RUST_LOG={filter:?}: unexpected line {other:?}"),
            };
            assert_eq!(
                line["span_id"].as_str(),
                Some(expected.as_str()),
                "RUST_LOG={filter:?}: {line}"
            );
            assert_eq!(
                line["trace_id"].as_str(),
                Some(a.span_context.trace_id().to_string().as_str()),
                "RUST_LOG={filter:?}"
            );
        }
    }
}

/// A span entered again inside a span under it (a connection's span re-entered from a
/// request's) leaves the request current, for `tracing` and for the context alike: the
/// event, the log line's ids and `Context::current()` name the same span.
#[test]
fn a_span_entered_again_inside_its_child_leaves_the_child_current() {
    for filter in [None, Some("debug")] {
        let ((inside, after), spans, lines) = under_init(filter, |_| {
            let connection = tracing::info_span!("connection");
            let _connection = connection.enter();
            let request = tracing::info_span!("request");
            let entered = request.enter();
            let inside = connection.in_scope(|| {
                tracing::info!("connection entered again");
                span_id(&opentelemetry::Context::current())
            });
            drop(entered);
            (inside, span_id(&opentelemetry::Context::current()))
        });
        assert_eq!(
            span_id(&opentelemetry::Context::current()),
            "0000000000000000",
            "nothing stays attached"
        );
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(names, ["request", "connection"], "RUST_LOG={filter:?}");
        let request_id = spans[0].span_context.span_id().to_string();
        let connection_id = spans[1].span_context.span_id().to_string();
        assert_eq!(inside, request_id, "RUST_LOG={filter:?}");
        assert_eq!(after, connection_id, "RUST_LOG={filter:?}");
        assert_eq!(spans[0].events.len(), 1, "RUST_LOG={filter:?}");
        assert!(spans[1].events.is_empty(), "RUST_LOG={filter:?}");
        let logged = json_lines(&lines);
        assert_eq!(logged.len(), 1, "RUST_LOG={filter:?}");
        assert_eq!(logged[0]["span_id"].as_str(), Some(request_id.as_str()));
        assert_eq!(logged[0]["span"].as_str(), Some("request"));
    }
}

/// The panic hook reports a panic as an ERROR event of target `panic`: a filter for one
/// crate, or `off`, leaves it on; only a filter that names `panic` turns it off.
#[test]
fn panics_are_logged_unless_the_filter_names_them() {
    for (filter, logged) in [
        (None, true),
        (Some("warn"), true),
        (Some("my_app=debug"), true),
        (Some("my_panic_app=debug"), true),
        (Some("off"), true),
        (Some("info,panic=off"), false),
    ] {
        let ((), _, lines) = under_init(filter, |_| {
            tracing::error!(target: "panic", "thread 'main' panicked at src/main.rs:1:1: boom");
        });
        let messages: Vec<String> = json_lines(&lines)
            .iter()
            .filter_map(|line| line["message"].as_str().map(str::to_owned))
            .collect();
        let expected: &[&str] = if logged {
            &["thread 'main' panicked at src/main.rs:1:1: boom"]
        } else {
            &[]
        };
        assert_eq!(messages, expected, "RUST_LOG={filter:?}");
    }
}

/// A log line carries the ids of the span its event is recorded on: the span the event
/// names as its parent, none for an event that names none, else the current one.
#[test]
fn a_line_carries_the_ids_of_the_span_its_event_is_on() {
    // Under `warn` the log output wants no INFO span, but its lines still name them.
    // A span directive (`[n]`) makes the registry keep DEBUG spans of any name.
    for filter in [
        None,
        Some("debug"),
        Some("warn"),
        Some("info,bridge_filters=warn"),
        Some("info,[n]=trace"),
    ] {
        let (detail_disabled, spans, lines) = under_init(filter, |_| {
            let other = tracing::info_span!(parent: None, "other");
            let current = tracing::info_span!("current");
            let _entered = current.enter();
            tracing::warn!(parent: &other, "in other");
            tracing::warn!(parent: None, "in none");
            tracing::warn!("in current");
            // A DEBUG span, passed through where it exists: its line carries the ids of
            // the span above it.
            let detail = tracing::debug_span!("detail");
            tracing::warn!(parent: &detail, "in detail");
            detail.is_disabled()
        });
        let span = |name: &str| {
            spans
                .iter()
                .find(|span| span.name == name)
                .unwrap_or_else(|| panic!("{name}"))
        };
        let ids = |name: &str| {
            let span = span(name);
            (
                span.span_context.trace_id().to_string(),
                span.span_context.span_id().to_string(),
            )
        };
        let (other, current) = (ids("other"), ids("current"));
        assert_ne!(other.0, current.0, "two traces");
        let events = |name: &str| -> Vec<String> {
            span(name)
                .events
                .iter()
                .map(|e| e.name.to_string())
                .collect()
        };
        assert_eq!(events("other"), ["in other"]);
        // An event in a passed-through span is the exported span's above it.
        let mut expected = vec!["in current"];
        if !detail_disabled {
            expected.push("in detail");
        }
        assert_eq!(events("current"), expected, "RUST_LOG={filter:?}");
        let logged = json_lines(&lines);
        assert_eq!(logged.len(), 4, "RUST_LOG={filter:?}");
        for line in logged {
            let (expected, name) = match line["message"].as_str() {
                Some("in other") => (Some(&other), Some("other")),
                Some("in none") => (None, None),
                Some("in current") => (Some(&current), Some("current")),
                Some("in detail") if detail_disabled => (None, None),
                Some("in detail") => (Some(&current), Some("detail")),
                other => panic!("RUST_LOG={filter:?}: unexpected line {other:?}"),
            };
            let found = line["trace_id"]
                .as_str()
                .zip(line["span_id"].as_str())
                .map(|(trace, span)| (trace.to_owned(), span.to_owned()));
            assert_eq!(found.as_ref(), expected, "RUST_LOG={filter:?}: {line}");
            assert_eq!(line["span"].as_str(), name, "RUST_LOG={filter:?}: {line}");
        }
    }
}

/// Writes `partial ` and fails, as a broken `Debug` or `Display` may.
#[derive(Debug)]
struct Failing;

impl std::fmt::Display for Failing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("partial ")?;
        Err(std::fmt::Error)
    }
}

impl std::error::Error for Failing {}

/// [`Failing`] as a `Debug` value.
struct FailingDebug;

impl std::fmt::Debug for FailingDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&Failing, f)
    }
}

/// A field whose `Debug` or `Display` fails (`format!` would panic on it) costs neither
/// the log line nor the span: each keeps what the value wrote.
#[test]
fn a_value_whose_formatting_fails_keeps_its_line_and_span() {
    for filter in [None, Some("debug")] {
        let ((), spans, lines) = under_init(filter, |_| {
            let span = tracing::info_span!("work", field = ?FailingDebug);
            let _entered = span.enter();
            tracing::info!(debug = ?FailingDebug, display = %Failing, "fields");
            tracing::info!("message {:?}", FailingDebug);
            let error: &(dyn std::error::Error + 'static) = &Failing;
            tracing::error!(error, "an error");
        });
        assert_eq!(spans.len(), 1, "RUST_LOG={filter:?}");
        let work = &spans[0];
        assert_eq!(
            support::attr(&work.attributes, "field"),
            Some(&Value::from("partial ")),
            "RUST_LOG={filter:?}"
        );
        let events: Vec<&str> = work.events.iter().map(|e| e.name.as_ref()).collect();
        assert_eq!(
            events,
            ["fields", "message partial ", "an error"],
            "RUST_LOG={filter:?}"
        );
        let logged = json_lines(&lines);
        let messages: Vec<&str> = logged
            .iter()
            .filter_map(|l| l["message"].as_str())
            .collect();
        assert_eq!(
            messages,
            ["fields", "message partial ", "an error"],
            "RUST_LOG={filter:?}"
        );
        assert_eq!(logged[0]["debug"], "partial ");
        assert_eq!(logged[0]["display"], "partial ");
        assert_eq!(logged[2]["error"], "partial ");
    }
}

/// An event with an error and no message (what `#[instrument(err)]` logs) has the error's
/// text as its message: a line in Grafana does not show empty.
#[test]
fn an_error_without_a_message_is_the_lines_message() {
    #[tracing::instrument(err)]
    fn fetch() -> Result<(), std::io::Error> {
        Err(std::io::Error::other("the kennel is closed"))
    }
    let ((), _, lines) = under_init(None, |_| {
        let _ = fetch();
        tracing::warn!(error = "no message either");
        tracing::warn!("no error");
    });
    let logged = json_lines(&lines);
    let fields: Vec<(&str, &str)> = logged
        .iter()
        .map(|line| {
            (
                line["message"].as_str().unwrap_or("<none>"),
                line["error"].as_str().unwrap_or("<none>"),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("the kennel is closed", "the kennel is closed"),
            ("no message either", "no message either"),
            ("no error", "<none>"),
        ]
    );
}

/// In the text format too, a field whose `Debug` or `Display` fails keeps its line, with
/// what it wrote, and a span's such field does not panic (tracing-subscriber's report of
/// the failure formats the span's fields again, unmasked, and panics on the failing one).
#[test]
fn a_value_whose_formatting_fails_keeps_its_text_line() {
    let ((), _, lines) = under_init_as(LogFormat::Text, None, |_| {
        let span = tracing::info_span!("lookup", person = "01019012345", field = ?FailingDebug);
        let _entered = span.enter();
        tracing::info!(debug = ?FailingDebug, display = %Failing, "fields");
        let error: &(dyn std::error::Error + 'static) = &Failing;
        tracing::error!(error, "an error");
    });
    let text = lines.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains("fields") && lines[0].contains("debug=partial"),
        "{text}"
    );
    assert!(
        lines[1].contains("an error") && lines[1].contains("error=partial"),
        "{text}"
    );
    assert!(!text.contains("01019012345"), "{text}");
}

/// `SpanExt` on `Span::current()` inside a DEBUG span lands on the exported span above it,
/// whether `RUST_LOG` makes DEBUG spans (the span is passed through) or not (the span is
/// disabled and the current one is the span above): turning logs up does not move it.
#[test]
fn span_ext_inside_a_debug_span_lands_on_the_span_above() {
    use opentelemetry::trace::Status;
    for filter in [None, Some("debug")] {
        let ((), spans, _) = under_init(filter, |_| {
            let above = tracing::info_span!("above");
            let _above = above.enter();
            let _debug = tracing::debug_span!("detail").entered();
            let current = tracing::Span::current();
            current.set_attribute("cache.hit", true);
            current.add_event("looked up", vec![]);
            current.set_status(Status::error("not found"));
            let parent = opentelemetry::Context::new();
            if filter.is_some() {
                assert!(
                    current.set_parent(parent).is_err(),
                    "a passed-through span has no parent of its own"
                );
            }
        });
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(names, ["above"], "RUST_LOG={filter:?}");
        let above = &spans[0];
        assert_eq!(
            support::attr(&above.attributes, "cache.hit"),
            Some(&Value::Bool(true)),
            "RUST_LOG={filter:?}"
        );
        assert_eq!(above.events.len(), 1, "RUST_LOG={filter:?}");
        assert_eq!(
            above.status,
            Status::error("not found"),
            "RUST_LOG={filter:?}"
        );
    }
}
