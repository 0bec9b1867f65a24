//! The traced HTTP client kennels uses to call inventory and dogs.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, ServiceExt};

/// hyper-util's legacy client wrapped in the middleware's client layer: each
/// request gets a CLIENT span and carries its `traceparent`.
pub type TracedHttpClient = nais_otel::middleware::Client<HyperClient<HttpConnector, Empty<Bytes>>>;

/// How long one call to an upstream may take.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// A new [`TracedHttpClient`]. Make it after `nais_otel::init()`.
pub fn traced_http_client() -> TracedHttpClient {
    let client = HyperClient::builder(TokioExecutor::new()).build_http();
    nais_otel::client_layer().layer(client)
}

/// `GET uri`, the body as text when the status is 2xx.
pub(crate) async fn get_text(client: &TracedHttpClient, uri: &str) -> Result<String, String> {
    let request = http::Request::get(uri)
        .body(Empty::new())
        .map_err(|e| format!("bad request URI {uri:?}: {e}"))?;
    let call = async {
        let response = client
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| format!("GET {uri}: {e}"))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("GET {uri}: reading the body: {e}"))?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("GET {uri}: {status}"));
        }
        String::from_utf8(body.to_vec()).map_err(|_| format!("GET {uri}: the body is not UTF-8"))
    };
    tokio::time::timeout(UPSTREAM_TIMEOUT, call)
        .await
        .map_err(|_| format!("GET {uri}: no answer within {UPSTREAM_TIMEOUT:?}"))?
}
