//! The smallest traced service: one init line, one layer.
//!
//! Run with
//!
//! ```not_rust
//! cargo run -p nais-otel-console &                      # a local collector on 127.0.0.1:4317
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 cargo run -p example-axum
//! curl 'http://127.0.0.1:3000/dogs/3'
//! ```
//!
//! Each request to `/dogs/{id}` becomes a SERVER span named `GET /dogs/{id}`
//! with a child span from `#[instrument]`; `/isAlive` makes no span.

use std::net::SocketAddr;

use axum::{extract::Path, http::StatusCode, routing::get, Router};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let otel = nais_otel::init()?;

    let app = Router::new()
        .route("/dogs/{id}", get(get_dog))
        .route("/isAlive", get(|| async { "alive" }))
        .layer(nais_otel::server_layer());

    let addr: SocketAddr = std::env::var("BIND_ADDRESS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000)));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;

    // Flushes the last spans; bounded by the export timeout even if the collector is gone.
    drop(otel);
    Ok(())
}

#[tracing::instrument]
async fn get_dog(Path(id): Path<usize>) -> Result<&'static str, StatusCode> {
    const NAMES: [&str; 6] = ["Rufus", "Rex", "Dobby", "Möhre", "Jack", "Charlie"];
    tracing::info!("looking up the dog");
    NAMES.get(id).copied().ok_or(StatusCode::NOT_FOUND)
}
