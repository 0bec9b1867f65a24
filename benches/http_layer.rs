//! Per-request cost of tracing an axum router: our `ServerLayer` against the peers.
//!
//! Run with `cargo bench --bench http_layer`. All variants share one SDK tracer provider
//! (a `BatchSpanProcessor` with an exporter that drops every batch), one global
//! `tracing-opentelemetry` subscriber and one global W3C propagator, and run in one
//! criterion group. Each iteration builds a request, serves it with `oneshot` and reads
//! the whole response body (our span and `TraceLayer`'s end there).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use http::Request;
use http_body_util::BodyExt;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

/// An exporter that drops every batch, so we measure the layers, not the export.
#[derive(Debug)]
struct NoopExporter;

impl SpanExporter for NoopExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

/// Polls a future that never waits (every handler here is immediately ready) to the end,
/// so no executor overhead is measured.
fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

async fn handler() -> &'static str {
    "hello"
}

fn router() -> Router {
    Router::new()
        .route("/users/{id}", get(handler))
        .route("/isAlive", get(handler))
}

fn serve(app: &Router, path: &'static str) -> usize {
    let app = app.clone();
    run(async move {
        let req = Request::builder().uri(path).body(Body::empty()).unwrap();
        let res = app.oneshot(req).await.unwrap();
        res.into_body().collect().await.unwrap().to_bytes().len()
    })
}

fn http_layer(c: &mut Criterion) {
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(NoopExporter)
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    // Built after the provider is installed, as `nais_otel::init()` would have it.
    let variants: [(&str, Router, &'static str); 7] = [
        ("bare router", router(), "/users/42"),
        // What axum charges for any `Router::layer` (it re-boxes every route), so the
        // excluded-route row can be read against it too.
        (
            "bare router + identity Router::layer",
            router().layer(tower::layer::util::Identity::new()),
            "/users/42",
        ),
        (
            "nais-otel-tower ServerLayer, traced route",
            router().layer(nais_otel_tower::ServerLayer::new()),
            "/users/42",
        ),
        (
            // What `nais_otel::server_layer()` builds after `nais_otel::init()` with the
            // default `OTEL_PROPAGATORS`: the SDK tracer itself and the W3C propagators.
            "nais-otel-tower ServerLayer as nais_otel::server_layer() builds it, traced route",
            router().layer(
                nais_otel_tower::ServerLayer::new()
                    .tracer_provider(&provider)
                    .propagator(nais_otel::propagation::W3cPropagator::new()),
            ),
            "/users/42",
        ),
        (
            "nais-otel-tower ServerLayer, excluded route (/isAlive)",
            router().layer(nais_otel_tower::ServerLayer::new()),
            "/isAlive",
        ),
        (
            "axum-tracing-opentelemetry OtelAxumLayer",
            router().layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default()),
            "/users/42",
        ),
        (
            "tower-http TraceLayer + tracing-opentelemetry",
            router().layer(tower_http::trace::TraceLayer::new_for_http()),
            "/users/42",
        ),
    ];

    let mut group = c.benchmark_group("http_layer");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, app, path) in &variants {
        assert_eq!(serve(app, path), 5);
        group.bench_function(*name, |b| b.iter(|| serve(app, path)));
    }
    group.finish();

    // The floor every variant pays: one SDK span with five attributes, started and ended
    // through the same batch processor, without any HTTP layer.
    let mut floor = c.benchmark_group("sdk_floor");
    floor
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let tracer = provider.tracer("floor");
    floor.bench_function("SDK span start+end, 5 attributes", |b| {
        b.iter(|| {
            use opentelemetry::trace::{Span as _, SpanBuilder, SpanKind, Tracer as _};
            use opentelemetry::KeyValue;
            let attrs = vec![
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("url.path", "/users/42".to_owned()),
                KeyValue::new("http.route", "/users/{id}"),
                KeyValue::new("network.protocol.version", "1.1"),
            ];
            let builder = SpanBuilder::from_name("GET /users/{id}")
                .with_kind(SpanKind::Server)
                .with_attributes(attrs);
            let mut span = tracer.build_with_context(builder, &opentelemetry::Context::new());
            span.set_attribute(KeyValue::new("http.response.status_code", 200));
            span.end();
        })
    });
    floor.finish();
    let _ = provider.shutdown();
}

criterion_group!(benches, http_layer);
criterion_main!(benches);
