//! Middleware that makes an OpenTelemetry CLIENT span for every outgoing HTTP or gRPC request.
//!
//! # Example
//!
//! ```
//! use nais_otel_tower::ClientLayer;
//! use tower::{service_fn, ServiceBuilder};
//!
//! # type Body = http_body_util::Empty<bytes::Bytes>;
//! // Any tower HTTP client: hyper-util's legacy `Client`, tonic's `Channel`, ...
//! let http_client = service_fn(|_req: http::Request<Body>| async {
//!     Ok::<_, std::io::Error>(http::Response::new(Body::new()))
//! });
//! let client = ServiceBuilder::new()
//!     .layer(ClientLayer::new())
//!     .service(http_client);
//! # let _ = client;
//! ```
//!
//! # The span
//!
//! - Kind CLIENT, named `{method}` (`HTTP` for a non-standard method); for gRPC
//!   (`content-type: application/grpc*`) `{rpc.service}/{rpc.method}` with `rpc.system`,
//!   `rpc.service`, `rpc.method` and `rpc.grpc.status_code`.
//! - Parent: the current OpenTelemetry context (for a call made inside a handler, the
//!   handler's span or the request span).
//! - Attributes: `http.request.method` (+ `http.request.method_original`),
//!   `server.address`, `server.port` (explicit, or 80/443 from the scheme) and `url.full`
//!   (its credentials as `REDACTED:REDACTED@`, signature and token query values as
//!   `REDACTED`: [`crate::redact`]) of an absolute request URI. tonic's `Channel` adds the
//!   origin below the layer, so its requests carry only the path: build the generated
//!   client with its origin (`GreeterClient::with_origin(service, origin)`) to get them.
//!   `http.response.status_code`, `network.protocol.version` (the response's),
//!   `error.type`.
//! - Status ERROR on 4xx and 5xx responses, on transport errors (`error.type` is the
//!   error's type name), and on every gRPC code but OK. A gRPC response without
//!   `grpc-status` gets the code gRPC's HTTP-to-status mapping gives (a proxy's 503 is
//!   UNAVAILABLE); a call dropped before its end (the caller gave up on it) gets 1,
//!   CANCELLED; a call whose transport failed gets what tonic reports, UNAVAILABLE before
//!   the response head, INTERNAL after it. `grpc-status` is read as gRPC reads it: the
//!   first one, exactly `0` to `16`, anything else UNKNOWN. A span carries `error.type`
//!   once: a 500 whose body then breaks off keeps `500`, with the body's error as the
//!   description.
//! - The client span's own `traceparent`/`tracestate` are injected into the request
//!   headers with the global propagator, or the one given to [`ClientLayer::propagator`].
//! - The span ends when the response body has been read to the end, fails, or is dropped.

mod layer;
mod service;
mod span;

pub use self::layer::ClientLayer;
pub use self::service::Client;
pub use crate::body::ResponseBody;
pub use crate::future::ResponseFuture;

#[cfg(test)]
mod tests;
