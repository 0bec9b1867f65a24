//! The tower layers, built from the environment with problems reported.

use crate::middleware::{ClientLayer, ServerLayer};

/// The server layer, with the route exclusions of `NAIS_OTEL_EXCLUDED_PATHS`
/// added to the NAIS defaults. A bad entry gives one warning naming the
/// variable and the value, and is skipped.
///
/// Build it after [`crate::init`]: it takes the tracer provider and the propagator
/// that `init` installed as the globals when it is built.
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
    let (mut layer, problems) = ServerLayer::from_env_lookup(|name| std::env::var(name).ok());
    for problem in problems {
        tracing::warn!(target: "nais_otel", "{problem}");
    }
    // The same tracer provider as the global `init` installed, handed over directly: the
    // SDK tracer without the global API's type erasure. The propagator needs nothing here:
    // `ServerLayer::new` already parses the W3C headers directly when the global propagator
    // reads exactly those, as `init`'s does with the default `OTEL_PROPAGATORS`.
    if let Some(provider) = crate::init::installed().and_then(|installed| installed.provider) {
        layer = layer.tracer_provider(&provider);
    }
    layer
}

/// The client layer: client spans, and the client span's `traceparent` on
/// every outgoing request. Build it after [`crate::init`].
pub fn client_layer() -> ClientLayer {
    ClientLayer::new()
}
