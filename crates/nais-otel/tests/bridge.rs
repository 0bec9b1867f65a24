//! nais-otel's `tracing` bridge on the in-memory exporter: each behaviour users rely on,
//! through the same pipeline `init()` builds (sampler, limits, masking, counts).

mod support;

use std::sync::{Arc, Mutex};
use support::{attr, Lines};

use nais_otel::bridge::{Bridge, SetParentErrorKind};
use nais_otel::config::SamplerConfig;
use nais_otel::{Guard, SpanExt as _};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

fn pipeline(vars: &[(&str, &str)]) -> (Guard, InMemorySpanExporter) {
    pipeline_with(nais_otel::builder().with_env_lookup(support::env(vars)))
}

fn pipeline_with(builder: nais_otel::Builder) -> (Guard, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let guard = builder
        .with_span_exporter(exporter.clone())
        .with_globals(false)
        .init()
        .expect("init");
    (guard, exporter)
}

/// Runs `f` with the guard's bridge as the (scoped) subscriber.
fn traced<R>(guard: &Guard, f: impl FnOnce() -> R) -> R {
    let layer = guard.tracing_layer().expect("tracing is on");
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f)
}

fn finished(guard: &Guard, exporter: &InMemorySpanExporter) -> Vec<SpanData> {
    guard.force_flush();
    exporter.get_finished_spans().expect("spans")
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}: {:?}", names(spans)))
}

fn names(spans: &[SpanData]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_ref()).collect()
}

fn child_of(child: &SpanData, parent: &SpanData) -> bool {
    child.parent_span_id == parent.span_context.span_id()
        && child.span_context.trace_id() == parent.span_context.trace_id()
}

fn remote_parent(sampled: bool) -> Context {
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        true,
        TraceState::default(),
    ))
}

#[tracing::instrument]
async fn outer(dog_id: u32, breed: &'static str) -> u64 {
    tokio::task::yield_now().await;
    middle(u64::from(dog_id), true).await
}

#[tracing::instrument]
async fn middle(owner: u64, cached: bool) -> u64 {
    tokio::task::yield_now().await;
    inner(owner, 0.5).await
}

#[tracing::instrument]
async fn inner(owner: u64, ratio: f64) -> u64 {
    tokio::task::yield_now().await;
    tracing::info!(owner, "found");
    owner
}

/// `#[instrument]` and `info_span!` spans nest under the server span and under each
/// other, across `.await` and `Instrument`.
#[tokio::test(flavor = "current_thread")]
async fn spans_nest_under_the_server_span_and_each_other() {
    use tower::ServiceExt as _;
    let (guard, exporter) = pipeline(&[]);
    let provider = guard.provider().expect("provider").clone();
    let layer = guard.tracing_layer().expect("bridge");
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    let app = axum::Router::new()
        .route(
            "/dogs/{id}",
            axum::routing::get(|| async {
                let found = outer(7, "vizsla").await;
                async { tokio::task::yield_now().await }
                    .instrument(tracing::info_span!("render"))
                    .await;
                found.to_string()
            }),
        )
        .layer(nais_otel::middleware::ServerLayer::new().tracer_provider(&provider));
    let response = app
        .oneshot(
            http::Request::get("/dogs/7")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    drop(response);
    let spans = finished(&guard, &exporter);
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .expect("server span");
    let (outer, middle, inner, render) = (
        named(&spans, "outer"),
        named(&spans, "middle"),
        named(&spans, "inner"),
        named(&spans, "render"),
    );
    assert!(child_of(outer, server), "outer under the server span");
    assert!(child_of(render, server), "render under the server span");
    assert!(child_of(middle, outer));
    assert!(child_of(inner, middle));
    assert_eq!(
        outer.instrumentation_scope.name(),
        "nais-otel",
        "the bridge's scope"
    );
    assert!(outer.start_time <= middle.start_time && middle.end_time <= outer.end_time);
}

/// Inside an entered span, `Context::current()` is that span's context: the client layer
/// sends it as the parent.
#[tokio::test(flavor = "current_thread")]
async fn context_current_is_the_span_and_the_client_layer_injects_it() {
    use tower::{Service as _, ServiceExt as _};
    let (guard, exporter) = pipeline(&[]);
    let provider = guard.provider().expect("provider").clone();
    let layer = guard.tracing_layer().expect("bridge");
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    let sent = Arc::new(Mutex::new(None::<String>));
    let seen = sent.clone();
    let mut client = tower::ServiceBuilder::new()
        .layer(
            nais_otel::middleware::ClientLayer::new()
                .tracer(opentelemetry::trace::TracerProvider::tracer(
                    &provider, "client",
                ))
                .propagator(nais_otel::propagation::W3cPropagator::new()),
        )
        .service_fn(move |req: http::Request<String>| {
            let seen = seen.clone();
            async move {
                *seen.lock().unwrap() = req
                    .headers()
                    .get("traceparent")
                    .map(|v| v.to_str().unwrap().to_owned());
                Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
            }
        });
    let span = tracing::info_span!("call-kennels");
    let span_context = span.context().span().span_context().clone();
    async {
        let current = Context::current();
        assert_eq!(current.span().span_context(), &span_context);
        let request = http::Request::get("http://kennels/")
            .body(String::new())
            .unwrap();
        client.ready().await.unwrap().call(request).await.unwrap();
    }
    .instrument(span)
    .await;
    assert!(
        !Context::current().span().span_context().is_valid(),
        "detached on exit"
    );
    let spans = finished(&guard, &exporter);
    let bridged = named(&spans, "call-kennels");
    let client_span = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .expect("client span");
    assert_eq!(bridged.span_context, span_context);
    assert!(child_of(client_span, bridged));
    let traceparent = sent.lock().unwrap().clone().expect("traceparent sent");
    assert!(
        traceparent.contains(&bridged.span_context.trace_id().to_string()),
        "{traceparent}"
    );
}

/// JSON log lines inside a span carry its `trace_id` and `span_id`.
#[test]
fn json_log_lines_carry_the_span_ids() {
    let (guard, exporter) = pipeline(&[]);
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::registry()
        .with(guard.tracing_layer().expect("bridge"))
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(nais_otel::JsonFormat::new())
                .with_writer(move || writer.clone()),
        );
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!("load").in_scope(|| tracing::info!("loaded"));
    });
    let spans = finished(&guard, &exporter);
    let load = named(&spans, "load");
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.trim()).expect(&text);
    assert_eq!(
        line["trace_id"],
        load.span_context.trace_id().to_string(),
        "{line}"
    );
    assert_eq!(line["span_id"], load.span_context.span_id().to_string());
}

/// Events become span events; fields keep their types, in spans and in events.
#[test]
fn events_are_span_events_and_fields_keep_their_types() {
    #[tracing::instrument]
    fn typed(small: u32, size: usize, delta: i64, ratio: f64, ok: bool, who: &str) {
        tracing::info!(count = 3_u32, huge = u64::MAX, flag = true, "counted {}", 3);
    }
    let (guard, exporter) = pipeline(&[]);
    traced(&guard, || typed(7, 9, -2, 0.25, true, "rex"));
    let spans = finished(&guard, &exporter);
    let span = named(&spans, "typed");
    let a = |key| attr(&span.attributes, key).cloned();
    assert_eq!(a("small"), Some(Value::I64(7)));
    assert_eq!(a("size"), Some(Value::I64(9)));
    assert_eq!(a("delta"), Some(Value::I64(-2)));
    assert_eq!(a("ratio"), Some(Value::F64(0.25)));
    assert_eq!(a("ok"), Some(Value::Bool(true)));
    assert_eq!(a("who"), Some(Value::from("rex")));
    let event = &span.events.events[0];
    assert_eq!(event.name, "counted 3");
    let e = |key| attr(&event.attributes, key).cloned();
    assert_eq!(e("count"), Some(Value::I64(3)));
    assert_eq!(e("huge"), Some(Value::from(u64::MAX.to_string())));
    assert_eq!(e("flag"), Some(Value::Bool(true)));
    assert_eq!(e("level"), Some(Value::from("INFO")));
    assert_eq!(span.status, Status::Unset);
}

/// A newtype the way an extractor wraps a value (axum's `Path`).
#[derive(Debug)]
struct Wrapped<T>(T);

/// Fields recorded through `Debug` or `Display`: a whole number, as an integer's own
/// `Debug` writes it, becomes an integer (`#[instrument]` records a destructured argument
/// so); every other text stays text, in spans and in events.
#[test]
fn whole_numbers_recorded_as_text_become_integers() {
    #[tracing::instrument]
    fn handler(Wrapped(id): Wrapped<u32>, Wrapped(offset): Wrapped<i64>, name: Wrapped<&str>) {
        tracing::info!(n = ?12_u8, big = ?u64::MAX, "seen");
    }
    let (guard, exporter) = pipeline(&[]);
    traced(&guard, || {
        handler(Wrapped(3), Wrapped(-40), Wrapped("rex"));
        tracing::info_span!(
            "texts",
            zero = ?0,
            padded = %"007",
            plus = %"+5",
            minus_zero = %"-0",
            quoted = ?"12",
            decimal = ?2.5,
            spaced = %" 4",
            above_i64 = %"9223372036854775808",
            lowest = ?i64::MIN,
            digits = %"15",
            words = ?Wrapped(1),
        )
        .in_scope(|| ());
    });
    let spans = finished(&guard, &exporter);
    let span = named(&spans, "handler");
    let a = |key| attr(&span.attributes, key).cloned();
    assert_eq!(a("id"), Some(Value::I64(3)));
    assert_eq!(a("offset"), Some(Value::I64(-40)));
    assert_eq!(a("name"), Some(Value::from("Wrapped(\"rex\")")));
    let event = &span.events.events[0];
    let e = |key| attr(&event.attributes, key).cloned();
    assert_eq!(e("n"), Some(Value::I64(12)));
    assert_eq!(e("big"), Some(Value::from(u64::MAX.to_string())));
    let texts = named(&spans, "texts");
    let t = |key| attr(&texts.attributes, key).cloned();
    assert_eq!(t("zero"), Some(Value::I64(0)));
    assert_eq!(t("lowest"), Some(Value::I64(i64::MIN)));
    assert_eq!(t("digits"), Some(Value::I64(15)));
    for (key, text) in [
        ("padded", "007"),
        ("plus", "+5"),
        ("minus_zero", "-0"),
        ("quoted", "\"12\""),
        ("decimal", "2.5"),
        ("spaced", " 4"),
        ("above_i64", "9223372036854775808"),
        ("words", "Wrapped(1)"),
    ] {
        assert_eq!(t(key), Some(Value::from(text)), "{key}");
    }
}

/// `otel.name`, `otel.kind`, `otel.status_code` and `otel.status_description`, at
/// creation and recorded later.
#[test]
fn otel_fields_set_name_kind_and_status() {
    let (guard, exporter) = pipeline(&[]);
    traced(&guard, || {
        let _ = tracing::info_span!("a", otel.name = "GET /dogs", otel.kind = "client").entered();
        let _ = tracing::info_span!("b", otel.status_code = "ok").entered();
        let c = tracing::info_span!(
            "c",
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty
        );
        c.record("otel.status_description", "kennel closed");
        drop(c);
        let _ = tracing::info_span!("d", otel.kind = "PRODUCER", otel.status_code = "error");
    });
    let spans = finished(&guard, &exporter);
    let a = named(&spans, "GET /dogs");
    assert_eq!(a.span_kind, SpanKind::Client);
    assert!(attr(&a.attributes, "otel.name").is_none());
    assert_eq!(named(&spans, "b").status, Status::Ok);
    assert_eq!(named(&spans, "c").status, Status::error("kennel closed"));
    let d = named(&spans, "d");
    assert_eq!(d.span_kind, SpanKind::Producer);
    assert!(matches!(d.status, Status::Error { .. }));
}

#[derive(Debug)]
struct NotFound(String);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no dog for {}", self.0)
    }
}

impl std::error::Error for NotFound {}

#[tracing::instrument(err)]
fn lookup(owner: &str) -> Result<(), NotFound> {
    Err(NotFound(owner.to_owned()))
}

/// `#[instrument(err)]` and `error!` set status ERROR and record the exception; the
/// identity number in the error text is masked on export.
#[test]
fn errors_set_status_error_with_a_masked_exception() {
    let (guard, exporter) = pipeline(&[]);
    traced(&guard, || {
        let _ = lookup("01019012345");
        tracing::info_span!("logged").in_scope(|| tracing::error!("the kennel is on fire"));
        tracing::info_span!("value").in_scope(|| {
            let error = NotFound("rex".into());
            tracing::warn!(error = &error as &dyn std::error::Error);
        });
    });
    let spans = finished(&guard, &exporter);
    let lookup = named(&spans, "lookup");
    assert_eq!(lookup.status, Status::error("no dog for [fnr]"));
    let exception = lookup
        .events
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("exception event");
    assert!(attr(&exception.attributes, "exception.message").is_some());
    assert_eq!(named(&spans, "logged").status, Status::error(""));
    let value = named(&spans, "value");
    assert_eq!(value.status, Status::error("no dog for rex"));
    assert_eq!(
        attr(&value.events.events[0].attributes, "exception.message"),
        Some(&Value::from("no dog for rex"))
    );
}

/// A remote parent (a Kafka consumer), links, attributes, status and events after
/// creation, and the span's context, through `nais_otel::SpanExt`.
#[test]
fn span_ext_sets_parent_links_attributes_and_status() {
    let (guard, exporter) = pipeline(&[]);
    let linked = SpanContext::new(
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
        SpanId::from_hex("b7ad6b7169203331").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    traced(&guard, || {
        let consume = tracing::info_span!("consume", otel.kind = "consumer");
        consume.set_parent(remote_parent(true)).expect("set_parent");
        consume.add_link(linked.clone());
        consume.set_attribute("messaging.kafka.offset", 42_i64);
        consume.set_status(Status::error("poison message"));
        consume.add_event("retry", vec![KeyValue::new("attempt", 2_i64)]);
        let cx = consume.context();
        consume.in_scope(|| {
            assert_eq!(
                Context::current().span().span_context(),
                cx.span().span_context()
            );
            tracing::info_span!("handle").in_scope(|| {});
        });
        let error = consume.set_parent(remote_parent(true)).unwrap_err();
        assert_eq!(error.kind(), SetParentErrorKind::AlreadyEntered);
    });
    let spans = finished(&guard, &exporter);
    let consume = named(&spans, "consume");
    assert_eq!(
        consume.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(consume.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(consume.parent_span_is_remote);
    assert_eq!(consume.span_kind, SpanKind::Consumer);
    assert_eq!(consume.links.links[0].span_context, linked);
    assert_eq!(
        attr(&consume.attributes, "messaging.kafka.offset"),
        Some(&Value::I64(42))
    );
    assert_eq!(consume.status, Status::error("poison message"));
    assert_eq!(consume.events.events[0].name, "retry");
    assert!(child_of(named(&spans, "handle"), consume));
}

/// A span with a child made under it (`parent: &span`, not entered), or that another
/// follows from, has passed its trace on: `set_parent` refuses, as it refuses after an
/// enter, rather than leave the child naming a parent in another trace. Under either
/// bridge.
#[test]
fn set_parent_is_refused_once_a_span_has_a_child_or_a_follower() {
    for bridge in [Bridge::NaisOtel, Bridge::TracingOpenTelemetry] {
        let (guard, exporter) = pipeline_with(
            nais_otel::builder()
                .with_env_lookup(|_| None)
                .with_bridge(bridge)
                .with_log_writer(std::io::sink),
        );
        let subscriber = guard.subscriber().expect("init() builds its subscriber");
        tracing::dispatcher::with_default(subscriber, || {
            let consume = tracing::info_span!("consume");
            let early = tracing::info_span!(parent: &consume, "early");
            let error = consume.set_parent(remote_parent(true)).unwrap_err();
            assert_eq!(
                error.kind(),
                SetParentErrorKind::AlreadyEntered,
                "{bridge:?}"
            );
            early.in_scope(|| {});
            drop(early);

            let followed = tracing::info_span!("followed");
            let follower = tracing::info_span!("follower");
            follower.follows_from(&followed);
            if bridge == Bridge::NaisOtel {
                // tracing-opentelemetry starts a span only for a child, not for a link.
                let error = followed.set_parent(remote_parent(true)).unwrap_err();
                assert_eq!(error.kind(), SetParentErrorKind::AlreadyEntered);
            }
        });
        let spans = finished(&guard, &exporter);
        let consume = named(&spans, "consume");
        let early = named(&spans, "early");
        assert!(child_of(early, consume), "{bridge:?}: {early:#?}");
        assert_eq!(
            consume.span_context.trace_id(),
            early.span_context.trace_id(),
            "{bridge:?}"
        );
        if bridge == Bridge::NaisOtel {
            let followed = named(&spans, "followed");
            let follower = named(&spans, "follower");
            assert_eq!(follower.links.links[0].span_context, followed.span_context);
        }
    }
}

/// `set_status(Unset)` is ignored, as the OpenTelemetry API asks: it does not clear an
/// error. `Ok` is final.
#[test]
fn set_status_unset_is_ignored() {
    let (guard, exporter) = pipeline(&[]);
    traced(&guard, || {
        let failed = tracing::info_span!("failed");
        failed.set_status(Status::error("x"));
        failed.set_status(Status::Unset);
        let ok = tracing::info_span!("ok");
        ok.set_status(Status::Ok);
        ok.set_status(Status::error("late"));
        ok.set_status(Status::Unset);
    });
    let spans = finished(&guard, &exporter);
    assert_eq!(named(&spans, "failed").status, Status::error("x"));
    assert_eq!(named(&spans, "ok").status, Status::Ok);
}

/// Sampling follows the configured sampler: off, by ratio, and by the parent.
#[test]
fn sampling_follows_the_configured_sampler() {
    let (guard, exporter) = pipeline_with(
        nais_otel::builder()
            .with_env_lookup(|_| None)
            .with_sampler(SamplerConfig::AlwaysOff),
    );
    traced(&guard, || {
        let span = tracing::info_span!("unsampled");
        let sc = span.context().span().span_context().clone();
        assert!(sc.is_valid() && !sc.is_sampled(), "ids, but not sampled");
        span.in_scope(|| tracing::info_span!("child").in_scope(|| {}));
    });
    assert!(finished(&guard, &exporter).is_empty());

    let (guard, exporter) = pipeline(&[]);
    traced(&guard, || {
        let span = tracing::info_span!("remote-unsampled");
        span.set_parent(remote_parent(false)).unwrap();
        span.in_scope(|| tracing::info_span!("child").in_scope(|| {}));
        let span = tracing::info_span!("remote-sampled");
        span.set_parent(remote_parent(true)).unwrap();
    });
    assert_eq!(names(&finished(&guard, &exporter)), ["remote-sampled"]);

    let (guard, exporter) = pipeline(&[
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
    ]);
    traced(&guard, || {
        for _ in 0..2000 {
            tracing::info_span!("ratio").in_scope(|| {});
        }
    });
    let sampled = finished(&guard, &exporter).len();
    assert!((350..650).contains(&sampled), "{sampled} of 2000 at 0.25");
}

/// Spans go through the limits, masking and the span counts like the SDK's.
#[test]
fn limits_masking_and_counts_apply() {
    let (guard, exporter) = pipeline(&[
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2"),
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "13"),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "1"),
    ]);
    traced(&guard, || {
        tracing::info_span!("limited", a = "0123456789abcdef", b = 2, c = 3).in_scope(|| {
            tracing::info!("one");
            tracing::info!("two");
        });
        let _ = tracing::info_span!("masked", url.path = "/person/01019012345");
    });
    let spans = finished(&guard, &exporter);
    let limited = named(&spans, "limited");
    assert_eq!(limited.attributes.len(), 2);
    assert_eq!(limited.dropped_attributes_count, 1);
    assert_eq!(
        attr(&limited.attributes, "a"),
        Some(&Value::from("0123456789abc"))
    );
    assert_eq!(limited.events.events.len(), 1);
    assert_eq!(limited.events.dropped_count, 1);
    assert_eq!(
        attr(&named(&spans, "masked").attributes, "url.path"),
        Some(&Value::from("/person/[fnr]"))
    );
    assert_eq!(guard.span_counts().ended, 2);
}

/// Busy/idle time, thread and code location are off by default; each can be turned on.
#[test]
fn timings_threads_and_location_are_off_by_default() {
    let keys = [
        "busy_ns",
        "idle_ns",
        "thread.id",
        "code.file.path",
        "code.line.number",
    ];
    let (guard, exporter) = pipeline(&[]);
    traced(&guard, || tracing::info_span!("plain").in_scope(|| {}));
    let spans = finished(&guard, &exporter);
    for key in keys {
        assert!(attr(&spans[0].attributes, key).is_none(), "{key}");
    }
    let (guard, exporter) = pipeline_with(
        nais_otel::builder()
            .with_env_lookup(|_| None)
            .with_span_timings(true)
            .with_span_threads(true)
            .with_span_code_location(true),
    );
    traced(&guard, || tracing::info_span!("rich").in_scope(|| {}));
    let spans = finished(&guard, &exporter);
    for key in keys {
        assert!(attr(&spans[0].attributes, key).is_some(), "{key}");
    }
    assert_eq!(
        attr(&spans[0].attributes, "code.file.path"),
        Some(&Value::from(file!()))
    );
}

/// `nais_otel::SpanExt` hands over to tracing-opentelemetry when that is the bridge;
/// tracing-opentelemetry's own trait sees nothing on nais-otel's spans.
#[test]
fn span_ext_works_with_tracing_opentelemetry_too() {
    use opentelemetry::trace::TracerProvider as _;
    let (guard, exporter) = pipeline(&[]);
    let tracer = guard.provider().expect("provider").tracer("theirs");
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("theirs");
        span.set_parent(remote_parent(true)).expect("set_parent");
        span.set_attribute("team", "dogbook");
        assert!(span.context().span().span_context().is_valid());
    });
    let spans = finished(&guard, &exporter);
    let theirs = named(&spans, "theirs");
    assert_eq!(
        attr(&theirs.attributes, "team"),
        Some(&Value::from("dogbook"))
    );
    assert_eq!(theirs.parent_span_id.to_string(), "00f067aa0ba902b7");

    traced(&guard, || {
        let span = tracing::info_span!("ours");
        assert!(
            !tracing_opentelemetry::OpenTelemetrySpanExt::context(&span)
                .span()
                .span_context()
                .is_valid(),
            "their trait does not see our spans: hence Bridge::TracingOpenTelemetry"
        );
    });
}

/// With spans going nowhere (`OTEL_TRACES_EXPORTER=none`), the sampled flag still travels:
/// the services this one calls still sample.
#[test]
fn the_sampled_flag_travels_when_spans_go_nowhere() {
    let guard = nais_otel::builder()
        .with_env_lookup(|_| None)
        .with_traces_exporter(nais_otel::config::ExporterKind::None)
        .with_globals(false)
        .init()
        .expect("init");
    traced(&guard, || {
        let span = tracing::info_span!("nowhere");
        let sc = span.context().span().span_context().clone();
        assert!(sc.is_valid() && sc.is_sampled());
    });
    assert_eq!(guard.span_counts().ended, 0);
}

/// The W3C `random` flag: kept from the parent whatever the sampler decides (an unsampled
/// remote parent included), and set on a trace a bridge span starts.
#[test]
fn the_random_flag_is_kept_from_the_parent_and_set_on_new_traces() {
    let (guard, _exporter) = pipeline(&[]);
    traced(&guard, || {
        let root = tracing::info_span!("root");
        let flags = root.context().span().span_context().trace_flags();
        assert_eq!(flags.to_u8(), 0x03, "a new trace: sampled and random");

        for (incoming, expected) in [(0x00u8, 0x00u8), (0x01, 0x01), (0x02, 0x02), (0x03, 0x03)] {
            let parent = Context::new().with_remote_span_context(SpanContext::new(
                TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
                SpanId::from_hex("00f067aa0ba902b7").unwrap(),
                TraceFlags::new(incoming),
                true,
                TraceState::default(),
            ));
            let _attached = parent.attach();
            let child = tracing::info_span!("child");
            let flags = child.context().span().span_context().trace_flags();
            assert_eq!(
                flags.to_u8(),
                expected,
                "under a parent with {incoming:02x}"
            );
        }
    });
}

#[test]
fn spans_end_on_the_thread_that_drops_them_and_not_after_shutdown() {
    let (guard, exporter) = pipeline(&[]);
    let (parent, child) = traced(&guard, || {
        let parent = tracing::info_span!("made here");
        let child = parent.in_scope(|| tracing::info_span!("closed elsewhere", n = 7_u32));
        (parent, child)
    });
    // A thread that has ended no span into this pipeline yet enters the child (the span's
    // own subscriber: the thread has none), drops it, then drops its parent.
    std::thread::spawn(move || {
        child.in_scope(|| child.set_attribute("entered.on", "the other thread"));
        drop(child);
        drop(parent);
    })
    .join()
    .expect("the other thread");
    let spans = finished(&guard, &exporter);
    let (parent, child) = (
        named(&spans, "made here"),
        named(&spans, "closed elsewhere"),
    );
    assert!(child_of(child, parent));
    assert_eq!(attr(&child.attributes, "n"), Some(&Value::I64(7)));
    assert_eq!(
        attr(&child.attributes, "entered.on"),
        Some(&Value::from("the other thread"))
    );
    assert!(child.end_time >= child.start_time);
    assert_eq!(guard.span_counts().ended, 2);

    // A span that closes after shutdown is not exported, and nothing panics.
    let late = traced(&guard, || tracing::info_span!("late"));
    assert_eq!(guard.shutdown().ended, 2);
    drop(late);
    let spans = exporter.get_finished_spans().expect("spans");
    assert!(!names(&spans).contains(&"late"), "{:?}", names(&spans));
}
