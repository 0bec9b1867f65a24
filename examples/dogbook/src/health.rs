//! `/isAlive`, `/isReady` and `/metrics`: the routes NAIS probes and scrapes.

use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// The NAIS probe routes, `/isAlive` and `/isReady` (both answer `200 ok`),
/// and `/metrics`, a small Prometheus text naming `service`.
///
/// The server layer does not trace these paths (they are in
/// `DEFAULT_EXCLUDED_PATHS`), so probes make no spans.
pub fn health_routes<S>(service: &str) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let metrics: Arc<str> = format!(
        "# HELP dogbook_up Whether the service is up.\n\
         # TYPE dogbook_up gauge\n\
         dogbook_up{{service=\"{service}\"}} 1\n"
    )
    .into();
    Router::new()
        .route("/isAlive", get(|| async { "ok" }))
        .route("/isReady", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(move || {
                let metrics = Arc::clone(&metrics);
                async move {
                    (
                        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                        metrics.to_string(),
                    )
                        .into_response()
                }
            }),
        )
}
