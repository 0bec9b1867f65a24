//! A service for the official [W3C Trace Context test suite], built the way a NAIS team
//! builds one: `nais_otel::init()`, an axum router with `nais_otel::server_layer()`, and a
//! hyper-util client wrapped in `nais_otel::client_layer()`. The handler never touches a
//! trace header: the server layer extracts the incoming context and the client layer
//! injects the outgoing one, with the provider, sampler and `tracing` bridge `init()` sets
//! up in between (the handler is `#[tracing::instrument]`ed).
//!
//! Run with
//!
//! ```not_rust
//! OTEL_TRACES_EXPORTER=none cargo run -p example-w3c-service
//! ```
//!
//! and then, from a copy of the suite (`../shared/w3c-trace-context`, or the `test/`
//! folder of <https://github.com/w3c/trace-context>):
//!
//! ```not_rust
//! SPEC_LEVEL=2 STRICT_LEVEL=2 python test.py http://127.0.0.1:5000/test
//! ```
//!
//! `scripts/w3c-suite.sh` does both. The harness POSTs a JSON array of
//! `{"url": ..., "arguments": ...}` objects; for each, in order, the service POSTs
//! `arguments` to `url` and answers once every callback is done. Set `W3C_SERVICE_ADDR`
//! to listen elsewhere than `127.0.0.1:5000`; the service prints `listening on <addr>`
//! when it is ready.
//!
//! [W3C Trace Context test suite]: https://github.com/w3c/trace-context/tree/main/test

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Request, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use tower::{Service, ServiceExt};

/// The client every callback goes through: hyper-util's, with the client layer.
type TracedClient = nais_otel::middleware::Client<Client<HttpConnector, Body>>;

/// One instruction of the harness: POST `arguments` to `url`.
#[derive(Debug, Deserialize)]
struct Call {
    url: String,
    #[serde(default)]
    arguments: serde_json::Value,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let otel = nais_otel::init()?;

    let client = tower::ServiceBuilder::new()
        .layer(nais_otel::client_layer())
        .service(Client::builder(TokioExecutor::new()).build_http());
    let app = Router::new()
        .route("/test", post(test))
        .with_state(client)
        .layer(nais_otel::server_layer());

    let addr: SocketAddr = std::env::var("W3C_SERVICE_ADDR")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5000)));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    nais_otel::serve(listener, app).await?; // until SIGTERM or Ctrl-C, then drains
    drop(otel);
    Ok(())
}

/// Makes the harness's callbacks in order, then answers. Its span sits between the
/// server span and the client spans, as a handler's `#[instrument]` span does.
#[tracing::instrument(skip_all)]
async fn test(State(mut client): State<TracedClient>, Json(calls): Json<Vec<Call>>) -> StatusCode {
    for call in calls {
        let arguments = match call.arguments {
            serde_json::Value::Null => serde_json::Value::Array(Vec::new()),
            arguments => arguments,
        };
        let request = Request::post(&call.url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(arguments.to_string()));
        let request = match request {
            Ok(request) => request,
            Err(e) => {
                tracing::warn!(url = %call.url, "cannot build the callback: {e}");
                return StatusCode::BAD_REQUEST;
            }
        };
        let response = match client.ready().await {
            Ok(client) => client.call(request).await,
            Err(e) => Err(e),
        };
        match response {
            Ok(response) => {
                if let Err(e) = response.into_body().collect().await {
                    tracing::warn!(url = %call.url, "callback body: {e}");
                }
            }
            Err(e) => {
                tracing::warn!(url = %call.url, "callback failed: {e}");
                return StatusCode::BAD_GATEWAY;
            }
        }
    }
    StatusCode::OK
}
