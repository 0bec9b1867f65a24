//! The front door: a small reverse proxy, like the demo's nginx.
//!
//! `/api/v1/kennels*` goes to kennels, `/api/v1/inventory*` to inventory and
//! `/api/v1/dogs*` to dogs; the path, query, method, headers and body are
//! forwarded as they are. The proxy makes no spans of its own: it forwards
//! `traceparent` both ways, so the trace starts in kennels (or in the caller).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, HOST};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Where the proxy sends each prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upstreams {
    /// kennels, for `/api/v1/kennels`.
    pub kennels: SocketAddr,
    /// inventory, for `/api/v1/inventory`.
    pub inventory: SocketAddr,
    /// dogs, for `/api/v1/dogs`.
    pub dogs: SocketAddr,
}

impl Upstreams {
    /// The upstream for `path`, if any.
    pub fn route(&self, path: &str) -> Option<SocketAddr> {
        [
            ("/api/v1/kennels", self.kennels),
            ("/api/v1/inventory", self.inventory),
            ("/api/v1/dogs", self.dogs),
        ]
        .into_iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map(|(_, addr)| addr)
    }
}

#[derive(Debug, Clone)]
struct Proxy {
    upstreams: Upstreams,
    client: Client<HttpConnector, Body>,
}

/// The proxy's router. It has no tracing layer on purpose.
pub fn router(upstreams: Upstreams) -> Router {
    let proxy = Proxy {
        upstreams,
        client: Client::builder(TokioExecutor::new()).build_http(),
    };
    Router::new().fallback(forward).with_state(proxy)
}

async fn forward(State(proxy): State<Proxy>, mut request: Request) -> Response {
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let Some(upstream) = proxy.upstreams.route(request.uri().path()) else {
        return (
            StatusCode::NOT_FOUND,
            "DogBook: try /api/v1/kennels?id=0, /api/v1/inventory?kennelId=1 or /api/v1/dogs?id=4\n",
        )
            .into_response();
    };
    let uri = match format!("http://{upstream}{path_and_query}").parse() {
        Ok(uri) => uri,
        Err(_) => return (StatusCode::BAD_REQUEST, "bad request URI\n").into_response(),
    };
    *request.uri_mut() = uri;
    // The client sets `Host` for the upstream; `Connection` is hop-by-hop.
    request.headers_mut().remove(HOST);
    request.headers_mut().remove(CONNECTION);
    match proxy.client.request(request).await {
        Ok(response) => response.map(Body::new),
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            format!("DogBook: {upstream} did not answer: {error}\n"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_prefix() {
        let addr = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let upstreams = Upstreams {
            kennels: addr(1),
            inventory: addr(2),
            dogs: addr(3),
        };
        assert_eq!(upstreams.route("/api/v1/kennels"), Some(addr(1)));
        assert_eq!(upstreams.route("/api/v1/inventory"), Some(addr(2)));
        assert_eq!(upstreams.route("/api/v1/dogs/"), Some(addr(3)));
        assert_eq!(upstreams.route("/api/v1/cats"), None);
        assert_eq!(upstreams.route("/"), None);
    }
}
