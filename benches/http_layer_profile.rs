//! Driver for instruction-count profiles of the `http_layer` variants, one variant per run.
//!
//! Run with:
//!
//! ```sh
//! CARGO_PROFILE_RELEASE_DEBUG=true cargo bench --bench http_layer_profile --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.ours.%p \
//!     target/release/deps/http_layer_profile-<hash> ours 20000
//! callgrind_annotate /tmp/cg.ours.<pid> | head -60
//! ```
//!
//! Arguments: the variant (`bare`, `ours`, `ours-sdk`, `ours-excluded`, `otel-axum`, `trace-layer`) and the number of requests (default 10 000); `HTTP_LAYER_VARIANT` and
//! `HTTP_LAYER_REQUESTS` work too. With no variant (as under `cargo bench`) it does
//! nothing. The setup is the one of `benches/http_layer.rs`: one SDK provider with a
//! `BatchSpanProcessor` and an exporter that drops every batch, the global W3C propagator
//! and a global `tracing-opentelemetry` subscriber. Per-request cost is the difference of
//! two runs with different request counts divided by the difference in requests, which
//! cancels the set-up.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
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

/// Polls a future that never waits to the end, so no executor is measured.
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

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let Some(variant) = args
        .next()
        .or_else(|| std::env::var("HTTP_LAYER_VARIANT").ok())
    else {
        return;
    };
    let requests: usize = args
        .next()
        .or_else(|| std::env::var("HTTP_LAYER_REQUESTS").ok())
        .map(|n| n.parse().expect("request count"))
        .unwrap_or(10_000);

    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(NoopExporter)
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let (app, path) = match variant.as_str() {
        "bare" => (router(), "/users/42"),
        "ours" => (
            router().layer(nais_otel_tower::ServerLayer::new()),
            "/users/42",
        ),
        // What `nais_otel::server_layer()` builds after `nais_otel::init()` (default
        // `OTEL_PROPAGATORS`): the SDK tracer itself and the W3C propagators.
        "ours-sdk" => (
            router().layer(
                nais_otel_tower::ServerLayer::new()
                    .tracer_provider(&provider)
                    .propagator(nais_otel::propagation::W3cPropagator::new()),
            ),
            "/users/42",
        ),
        "ours-excluded" => (
            router().layer(nais_otel_tower::ServerLayer::new()),
            "/isAlive",
        ),
        "otel-axum" => (
            router().layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default()),
            "/users/42",
        ),
        "trace-layer" => (
            router().layer(tower_http::trace::TraceLayer::new_for_http()),
            "/users/42",
        ),
        other => panic!("unknown variant {other}"),
    };
    let mut total = 0;
    for _ in 0..requests {
        total += serve(&app, path);
    }
    assert_eq!(total, 5 * requests);
    let _ = provider.shutdown();
}
