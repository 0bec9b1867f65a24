//! Tower middleware that makes OpenTelemetry spans for HTTP and gRPC servers and clients,
//! with the stable HTTP semantic conventions and the NAIS defaults.
//!
//! - [`ServerLayer`]: one SERVER span per incoming request, parented on the W3C trace
//!   context of the request, current while the handler runs, ended when the response body
//!   is done; NAIS health and metrics routes are not traced. See [`server`].
//! - [`ClientLayer`]: one CLIENT span per outgoing request, whose own `traceparent` is
//!   injected into the request. See [`client`].
//!
//! Spans are made directly with the OpenTelemetry API, not through `tracing`, which is
//! what keeps the per-request cost low; handler spans made with `tracing` still nest under
//! the request span: the `tracing` bridge (nais-otel's, or `tracing-opentelemetry`'s)
//! parents a span without a `tracing` parent on the current context.
//!
//! # Getting started
//!
//! ```
//! use axum::{routing::get, Router};
//! use nais_otel_tower::ServerLayer;
//!
//! // After `nais_otel::init()`, which installs the tracer provider and the propagator:
//! let app: Router = Router::new()
//!     .route("/hello", get(|| async { "hello" }))
//!     .layer(ServerLayer::from_env());
//! # let _ = app;
//! ```
//!
//! # Environment variables
//!
//! Read only by [`ServerLayer::from_env`] / [`ServerLayer::from_env_lookup`];
//! [`ServerLayer::new`] and `Default` never read the environment. Settings made in code
//! after `from_env` take precedence.
//!
//! | Variable | Description | Default |
//! |---|---|---|
//! | `NAIS_OTEL_EXCLUDED_PATHS` | Comma-separated path globs not to trace, added to the defaults (`*` any run of characters, `?` one character, ASCII case ignored, each starts with `/` or `*`). The entry `-defaults` drops the defaults. | unset: [`DEFAULT_EXCLUDED_PATHS`] |
//!
//! # Feature Flags
//!
//! | Feature | Description | Default |
//! |---|---|---|
//! | `axum` | `http.route` from axum's `MatchedPath`, `network.peer.address` and `client.address` from `ConnectInfo<SocketAddr>`, and `TracedRouter` (`ServerLayer::trace_router`: excluded routes at the bare router's cost; turns on axum's `http1`) | off (on in `nais-otel`) |
//! | `tonic` | `network.peer.address` and `client.address` of tonic servers from `TcpConnectInfo` (plaintext connections) | off (on in `nais-otel`) |
//! | `reqwest` | [`ReqwestMiddleware`]: client spans for reqwest through reqwest-middleware | off |
//!
//! # Supported Rust Versions
//!
//! The minimum supported Rust version is 1.88.
#![cfg_attr(docsrs, feature(doc_cfg))]

/// `get_ref`, `get_mut` and `into_inner` for a middleware service whose wrapped
/// service is the field `inner`, as tower-http defines them.
macro_rules! define_inner_service_accessors {
    () => {
        /// Gets a reference to the underlying service.
        pub fn get_ref(&self) -> &S {
            &self.inner
        }

        /// Gets a mutable reference to the underlying service.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// Consumes `self`, returning the underlying service.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}

mod attributes;
mod body;
mod exclude;
mod future;
mod glob;
mod grpc;
mod headers;
mod propagate;
mod report;
mod span_handle;
mod status;
mod tracer;

pub mod client;
pub mod redact;
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub mod reqwest;
pub mod server;

pub use self::body::ResponseBody;

/// Sets the known HTTP methods for every layer in the process: a full override of the nine
/// standard ones (`GET`, `HEAD`, `POST`, `PUT`, `DELETE`, `CONNECT`, `OPTIONS`, `TRACE`,
/// `PATCH`), compared case-sensitively, as the HTTP conventions'
/// `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` says (`nais_otel::init()` reads that variable
/// and calls this). A request with a method not in the list gets `http.request.method`
/// `_OTHER`, `http.request.method_original` and the span name `HTTP`.
///
/// The first call wins, and it must come before the first request; returns whether this
/// call set the list.
pub fn set_known_http_methods<I, M>(methods: I) -> bool
where
    I: IntoIterator<Item = M>,
    M: Into<String>,
{
    attributes::set_known_methods(
        methods
            .into_iter()
            .map(|method| method.into().into_boxed_str())
            .collect(),
    )
}
pub use self::client::{Client, ClientLayer};
pub use self::exclude::{
    excluded_paths_from_env, EnvProblem, RequestHead, DEFAULT_EXCLUDED_PATHS, EXCLUDED_PATHS_ENV,
};
pub use self::future::ResponseFuture;
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub use self::reqwest::ReqwestMiddleware;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use self::server::TracedRouter;
pub use self::server::{Server, ServerLayer};

#[cfg(test)]
mod test_helpers;
