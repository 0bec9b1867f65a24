//! The set-up shared by `http_layer` (criterion) and `http_layer_profile` (callgrind):
//! one SDK provider with a batch processor and an exporter that drops every batch,
//! installed as the global provider with the W3C propagator and a global
//! `tracing-opentelemetry` subscriber; the router; and the variants measured.

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

/// Serves one request with `oneshot` and reads the whole body; returns its length.
pub(crate) fn serve(app: &Router, path: &'static str) -> usize {
    let app = app.clone();
    run(async move {
        let req = Request::builder().uri(path).body(Body::empty()).unwrap();
        let res = app.oneshot(req).await.unwrap();
        res.into_body().collect().await.unwrap().to_bytes().len()
    })
}

/// Installs the provider, the propagator and the subscriber as the globals.
pub(crate) fn install() -> SdkTracerProvider {
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(NoopExporter)
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    provider
}

/// The variants: a short name (for the profile driver), a label (for criterion), the
/// router, and the path requested. Built after [`install`], as `nais_otel::init()`
/// would have it.
pub(crate) fn variants(
    provider: &SdkTracerProvider,
) -> Vec<(&'static str, &'static str, Router, &'static str)> {
    vec![
        ("bare", "bare router", router(), "/users/42"),
        // What axum charges for any `Router::layer` (it re-boxes every route), so the
        // excluded-route row can be read against it too.
        (
            "identity",
            "bare router + identity Router::layer",
            router().layer(tower::layer::util::Identity::new()),
            "/users/42",
        ),
        (
            "ours",
            "nais-otel-tower ServerLayer, traced route",
            router().layer(nais_otel_tower::ServerLayer::new()),
            "/users/42",
        ),
        (
            // What `nais_otel::server_layer()` builds after `nais_otel::init()` with the
            // default `OTEL_PROPAGATORS`: the SDK tracer itself and the W3C propagators.
            "ours-sdk",
            "nais-otel-tower ServerLayer as nais_otel::server_layer() builds it, traced route",
            router().layer(
                nais_otel_tower::ServerLayer::new()
                    .tracer_provider(provider)
                    .propagator(nais_otel::propagation::W3cPropagator::new()),
            ),
            "/users/42",
        ),
        (
            "ours-excluded",
            "nais-otel-tower ServerLayer, excluded route (/isAlive)",
            router().layer(nais_otel_tower::ServerLayer::new()),
            "/isAlive",
        ),
        (
            "otel-axum",
            "axum-tracing-opentelemetry OtelAxumLayer",
            router().layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default()),
            "/users/42",
        ),
        (
            "trace-layer",
            "tower-http TraceLayer + tracing-opentelemetry",
            router().layer(tower_http::trace::TraceLayer::new_for_http()),
            "/users/42",
        ),
    ]
}
