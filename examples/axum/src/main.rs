//! The smallest traced service: one init line, one layer, and a shutdown that
//! loses no span. README.md and docs/nais.md show this file from `use` on;
//! `tests/docs_snippets.rs` checks that they do.
//!
//! Run with
//!
//! ```not_rust
//! cargo run -p nais-otel-console &                      # a local collector on 127.0.0.1:4317
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 cargo run -p example-axum
//! curl 'http://127.0.0.1:8080/dogs/3'
//! ```
//!
//! Each request to `/dogs/{id}` becomes a SERVER span named `GET /dogs/{id}`
//! with a child span from `#[instrument]`; `/isAlive` makes no span. SIGTERM
//! or Ctrl-C stops it: in-flight requests finish (10 s at most), then the
//! guard flushes the last spans.

use axum::{extract::Path, routing::get, Router};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _otel = nais_otel::init()?; // reads the OTEL_* and NAIS_* environment; flushes on drop

    let app = Router::new()
        .route("/dogs/{id}", get(get_dog))
        .route("/isAlive", get(|| async { "alive" }))
        .layer(nais_otel::server_layer()); // server spans; /isAlive, /isReady, /metrics skipped

    let address = std::env::var("BIND_ADDRESS").unwrap_or_else(|_| "0.0.0.0:8080".into());
    let listener = tokio::net::TcpListener::bind(address).await?;
    nais_otel::serve(listener, app).await?; // until SIGTERM or Ctrl-C, then drains (10 s at most)
    Ok(())
} // `_otel` is dropped here: it flushes the last spans

#[tracing::instrument]
async fn get_dog(Path(id): Path<u32>) -> String {
    tracing::info!("looking up the dog"); // a log line with trace_id and span_id
    format!("dog {id}")
}
