//! The tower layers, built from the environment with problems reported.

use crate::middleware::{ClientLayer, ServerLayer};

/// The server layer, with the route exclusions of `NAIS_OTEL_EXCLUDED_PATHS`
/// added to the NAIS defaults. A bad entry gives one warning naming the
/// variable and the value, and is skipped.
///
/// Build it after [`crate::init`]: it takes the global tracer when built.
///
/// ```no_run
/// # async fn handler() -> &'static str { "woof" }
/// # fn main() -> Result<(), nais_otel::InitError> {
/// let _otel = nais_otel::init()?;
/// let app: axum::Router = axum::Router::new()
///     .route("/", axum::routing::get(handler))
///     .layer(nais_otel::server_layer());
/// # Ok(())
/// # }
/// ```
pub fn server_layer() -> ServerLayer {
    let (layer, problems) = ServerLayer::from_env_lookup(|name| std::env::var(name).ok());
    for problem in problems {
        tracing::warn!(target: "nais_otel", "{problem}");
    }
    layer
}

/// The client layer: client spans, and the client span's `traceparent` on
/// every outgoing request. Build it after [`crate::init`].
pub fn client_layer() -> ClientLayer {
    ClientLayer::new()
}
