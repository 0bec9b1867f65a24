//! nais-otel's `tracing` bridge over real OTLP/gRPC to the embedded collector: nesting,
//! typed fields, events, `otel.*` fields, errors (masked), the extension trait and
//! sampling arrive as the collector receives them.

mod support;

use std::time::Duration;

use nais_otel::SpanExt as _;
use nais_otel_console::{Collector, ReceivedSpan};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId};
use opentelemetry::Context;
use tracing_subscriber::layer::SubscriberExt as _;

#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused {}", self.0)
    }
}

impl std::error::Error for Refused {}

#[tracing::instrument(err)]
fn adopt(owner: &str, dog_id: u32) -> Result<(), Refused> {
    tracing::info!(kennel = 7_u64, "checked the kennel");
    Err(Refused(owner.to_owned()))
}

#[tracing::instrument(fields(otel.kind = "producer", otel.name = "dogs publish"))]
fn publish(partition: i64, compact: bool) {}

fn span<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

#[test]
fn bridged_spans_arrive_over_grpc() {
    let collector = Collector::start().expect("collector");
    let guard = support::live(&collector.endpoint(), &[])
        .init()
        .expect("init");
    let remote = SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        Default::default(),
    );
    let subscriber = tracing_subscriber::registry().with(guard.tracing_layer().expect("bridge"));
    let (outer_trace, outer_span) = tracing::subscriber::with_default(subscriber, || {
        let consume = tracing::info_span!("consume", otel.kind = "consumer");
        consume
            .set_parent(Context::new().with_remote_span_context(remote.clone()))
            .expect("set_parent");
        consume.set_attribute("messaging.kafka.offset", 42_i64);
        let ids = consume.context().span().span_context().clone();
        consume.in_scope(|| {
            let _ = adopt("01019012345", 3);
            publish(2, true);
        });
        // Not sampled: the parent said so.
        let dropped = tracing::info_span!("unsampled");
        dropped
            .set_parent(Context::new().with_remote_span_context(SpanContext::new(
                remote.trace_id(),
                remote.span_id(),
                TraceFlags::default(),
                true,
                Default::default(),
            )))
            .unwrap();
        dropped.in_scope(|| tracing::info!("nobody sees this"));
        (ids.trace_id().to_string(), ids.span_id().to_string())
    });
    drop(guard);
    let spans = collector
        .wait_for(|spans| spans.len() >= 3, Duration::from_secs(30))
        .expect("three spans");

    let consume = span(&spans, "consume");
    assert_eq!(consume.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(consume.trace_id, outer_trace);
    assert_eq!(consume.span_id, outer_span);
    assert_eq!(consume.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
    assert_eq!(consume.kind.as_str(), "consumer");
    assert_eq!(consume.attr_i64("messaging.kafka.offset"), Some(42));

    let adopt = span(&spans, "adopt");
    assert_eq!(adopt.parent_span_id.as_deref(), Some(outer_span.as_str()));
    assert_eq!(adopt.attr_i64("dog_id"), Some(3), "an integer stays one");
    assert!(adopt.is_error());
    assert_eq!(adopt.status.message, "refused [fnr]", "masked on export");
    let checked = adopt.event("checked the kennel").expect("the info! event");
    assert_eq!(checked.attr("kennel").and_then(|v| v.as_i64()), Some(7));
    assert!(
        adopt.event("exception").is_some(),
        "the error's exception event"
    );

    let publish = span(&spans, "dogs publish");
    assert_eq!(publish.kind.as_str(), "producer");
    assert_eq!(
        publish.attr("compact").and_then(|v| v.as_bool()),
        Some(true)
    );
    assert_eq!(publish.attr_i64("partition"), Some(2));

    assert!(
        spans.iter().all(|s| s.name != "unsampled"),
        "an unsampled span is not exported"
    );
    assert_eq!(
        spans.len(),
        3,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
}

#[tracing::instrument]
async fn fetch_owner(owner_id: u64) {
    tokio::task::yield_now().await;
    let current = Context::current();
    let traceparent = format!(
        "00-{}-{}-01",
        current.span().span_context().trace_id(),
        current.span().span_context().span_id()
    );
    tracing::Span::current().set_attribute("sent.traceparent", traceparent);
    tracing::Span::current().add_link(SpanContext::new(
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
        SpanId::from_hex("b7ad6b7169203331").unwrap(),
        TraceFlags::SAMPLED,
        true,
        Default::default(),
    ));
    tracing::Span::current().set_status(opentelemetry::trace::Status::Ok);
}

/// Handler spans under the server span, across `.await` and `Instrument`, with
/// `Context::current()` the entered span's, a link and a status, over gRPC.
#[tokio::test(flavor = "current_thread")]
async fn handler_spans_nest_under_the_server_span_over_grpc() {
    use tower::ServiceExt as _;
    use tracing::Instrument as _;
    let collector = Collector::start().expect("collector");
    // The traceparent is compared whole: its hex ids are never read as identity numbers.
    let guard = support::live(&collector.endpoint(), &[])
        .init()
        .expect("init");
    let provider = guard.provider().expect("provider").clone();
    let _default = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(guard.tracing_layer().expect("bridge")),
    );
    let app = axum::Router::new()
        .route(
            "/owners/{id}",
            axum::routing::get(|| async {
                async { fetch_owner(9).await }
                    .instrument(tracing::info_span!("load"))
                    .await;
                "woof"
            }),
        )
        .layer(nais_otel::middleware::ServerLayer::new().tracer_provider(&provider));
    let response = app
        .oneshot(
            http::Request::get("/owners/9")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    drop(response);
    let counts = guard.shutdown();
    assert_eq!(counts.ended, 3);
    let spans = collector
        .wait_for(|spans| spans.len() >= 3, Duration::from_secs(30))
        .expect("three spans");
    let server = spans
        .iter()
        .find(|s| s.kind.as_str() == "server")
        .expect("server span");
    let load = span(&spans, "load");
    let fetch = span(&spans, "fetch_owner");
    assert_eq!(
        load.parent_span_id.as_deref(),
        Some(server.span_id.as_str())
    );
    assert_eq!(fetch.parent_span_id.as_deref(), Some(load.span_id.as_str()));
    assert!(spans.iter().all(|s| s.trace_id == server.trace_id));
    assert_eq!(
        fetch.attr_str("sent.traceparent"),
        Some(format!("00-{}-{}-01", fetch.trace_id, fetch.span_id).as_str()),
        "Context::current() is the entered span's"
    );
    assert_eq!(fetch.links.len(), 1);
    assert_eq!(fetch.links[0].span_id, "b7ad6b7169203331");
    assert_eq!(fetch.attr_i64("owner_id"), Some(9));
    assert!(!fetch.is_error());
}
