//! Middleware that makes an OpenTelemetry SERVER span for every incoming HTTP or gRPC request.
//!
//! # Example
//!
//! ```
//! use axum::{routing::get, Router};
//! use nais_otel_tower::ServerLayer;
//!
//! // Build the layer after `nais_otel::init()`: it takes the global tracer once, here.
//! let app: Router = Router::new()
//!     .route("/users/{id}", get(|| async { "user" }))
//!     .route("/internal/isAlive", get(|| async { "ok" }))
//!     // `Router::layer` (or `route_layer`) runs the layer after routing, so the span
//!     // gets `http.route` from axum's `MatchedPath` (with the `axum` feature).
//!     .layer(ServerLayer::from_env());
//! ```
//!
//! # The span
//!
//! - Kind SERVER, named `{method} {http.route}` or `{method}` when no route is known
//!   (`HTTP` for a non-standard method); for gRPC `{rpc.service}/{rpc.method}`, or `grpc`
//!   when the server does not serve the method as gRPC (the answer is no gRPC response,
//!   such as an HTTP route's or a 404, or it is `UNIMPLEMENTED` in the response head
//!   without a message, as tonic answers an unknown service or method): a caller chooses
//!   the path and the `content-type`, and span names must stay few. `rpc.service` and
//!   `rpc.method` still say what was called.
//! - Parent: the context extracted from the request headers with the global propagator
//!   (set by `nais_otel::init()` from `OTEL_PROPAGATORS`), or the one given to
//!   [`ServerLayer::propagator`].
//! - Attributes (stable HTTP semantic conventions): `http.request.method` (`_OTHER` plus
//!   `http.request.method_original` for non-standard methods), `url.path`, `url.query`,
//!   `url.scheme` (`X-Forwarded-Proto`, else `Forwarded`'s `proto`, else the URI's, else
//!   `http`), `http.route`, `server.address`/`server.port` (`X-Forwarded-Host`, else
//!   `Forwarded`'s `host`, else the URI authority, else `Host`), `client.address`
//!   (`X-Forwarded-For`, else `Forwarded`'s `for`, without a port, else the peer; the
//!   `X-Forwarded-*` headers first: ingress-nginx sets them itself and passes a client's
//!   own `Forwarded` on),
//!   `network.peer.address`/`network.peer.port` (axum's `ConnectInfo<SocketAddr>`, or
//!   tonic's `TcpConnectInfo` with the `tonic` feature),
//!   `network.protocol.version`, `user_agent.original`, `http.response.status_code`,
//!   `error.type`. A value that is not known is left out, never recorded as `""`.
//! - gRPC (a `POST` with `content-type: application/grpc*`), in the RPC conventions' names of semantic
//!   conventions 1.37 (their release candidate, from 1.40, renames them to
//!   `rpc.system.name`, `rpc.response.status_code` and a full `rpc.method`; these layers do
//!   not write those): `rpc.system=grpc`, `rpc.service`,
//!   `rpc.method`, `rpc.grpc.status_code` from the `grpc-status` header or trailer;
//!   without one, the code gRPC's HTTP-to-status mapping gives (404 UNIMPLEMENTED, …), or,
//!   for a call dropped before its end (the caller went away, or tonic's `grpc-timeout`
//!   deadline, which runs above the layers `Server::builder().layer(..)` adds, ran out),
//!   1, CANCELLED, the status the caller sees (not an error on a server span).
//! - Status ERROR on a 5xx response, on an error from the inner service, on a panic in
//!   the handler (the panic then continues), and for the gRPC codes UNKNOWN,
//!   DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and DATA_LOSS. A 4xx leaves
//!   the status unset: an expected 4xx is not the server's error.
//!
//! # When the span is current and when it ends
//!
//! The span's context is the current OpenTelemetry context while the inner service is
//! called and each time its future or the response body is polled. The `tracing` bridge
//! that `nais_otel::init()` installs (and `tracing-opentelemetry` 0.34, context activation
//! on by default) parents a tracing span that has no tracing parent on that context, so
//! spans from `#[instrument]` or `info_span!` in handlers are children of the request
//! span. The span ends when the response body has been read to
//! the end (its last frame returned), fails, or is dropped — not when the headers are
//! ready. The poll that only reports the end of a finished body runs without the context.
//!
//! # Excluded requests
//!
//! Requests whose path matches one of [`DEFAULT_EXCLUDED_PATHS`](crate::DEFAULT_EXCLUDED_PATHS)
//! (the NAIS health, metrics and gRPC health routes, matched without regard to ASCII
//! case) get no span and cost no allocation. Add globs with [`ServerLayer::exclude`],
//! replace them with [`ServerLayer::exclusions`], pass a predicate with
//! [`ServerLayer::filter`], or set
//! [`NAIS_OTEL_EXCLUDED_PATHS`](crate::EXCLUDED_PATHS_ENV) and use
//! [`ServerLayer::from_env`].
//!
//! Through `Router::layer`, an excluded route still pays axum's cost of a layered route.
//! With the `axum` feature, `ServerLayer::trace_router` gives a `TracedRouter` that
//! sends excluded paths, before routing, to the router without the layer, at its cost.

mod layer;
#[cfg(feature = "axum")]
mod router;
mod service;
mod span;

pub use self::layer::ServerLayer;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use self::router::TracedRouter;
pub use self::service::Server;
pub use crate::body::ResponseBody;
pub use crate::future::ResponseFuture;

#[cfg(test)]
mod tests;
