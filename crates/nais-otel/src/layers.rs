//! The tower layers, built from the environment and handed the tracer provider
//! that `init` built: by the [`Guard`](crate::Guard) that owns it, or, for the free
//! functions, through the provider `init` last installed as the global one.

use std::sync::{PoisonError, RwLock};

use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::middleware::{ClientLayer, ServerLayer};

/// The tracer provider [`crate::Builder::init`] last installed as the global one,
/// so that the free functions can hand the layers the SDK tracer itself (the global
/// one is type-erased, which costs a second box per span). `None` before `init`, or
/// with tracing disabled.
static INSTALLED: RwLock<Option<SdkTracerProvider>> = RwLock::new(None);

/// Records the provider `init` installed as the global one.
pub(crate) fn set_installed(provider: Option<SdkTracerProvider>) {
    *INSTALLED.write().unwrap_or_else(PoisonError::into_inner) = provider;
}

fn installed() -> Option<SdkTracerProvider> {
    INSTALLED
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

/// The server layer, with the route exclusions of `NAIS_OTEL_EXCLUDED_PATHS`
/// added to the NAIS defaults. A bad entry gives one warning naming the
/// variable and the value, and is skipped.
///
/// Build it after [`crate::init`]: it takes the tracer provider and the propagator
/// that `init` installed as the globals when it is built.
/// [`Guard::server_layer`](crate::Guard::server_layer) is the same, with the
/// guard's provider handed over explicitly.
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
    server_layer_with(installed().as_ref())
}

/// The client layer: client spans, and the client span's `traceparent` on
/// every outgoing request. Build it after [`crate::init`];
/// [`Guard::client_layer`](crate::Guard::client_layer) is the same, with the
/// guard's provider handed over explicitly.
pub fn client_layer() -> ClientLayer {
    client_layer_with(installed().as_ref())
}

/// The server layer with `provider`'s tracer (the global one without it).
pub(crate) fn server_layer_with(provider: Option<&SdkTracerProvider>) -> ServerLayer {
    let (mut layer, problems) = ServerLayer::from_env_lookup(|name| std::env::var(name).ok());
    for problem in problems {
        tracing::warn!(target: "nais_otel", "{problem}");
    }
    // The SDK tracer without the global API's type erasure. The propagator needs nothing
    // here: `ServerLayer::new` already parses the W3C headers directly when the global
    // propagator reads exactly those, as `init`'s does with the default `OTEL_PROPAGATORS`.
    if let Some(provider) = provider {
        layer = layer.tracer_provider(provider);
    }
    layer
}

/// The client layer with `provider`'s tracer (the global one without it).
pub(crate) fn client_layer_with(provider: Option<&SdkTracerProvider>) -> ClientLayer {
    let layer = ClientLayer::new();
    match provider {
        Some(provider) => layer.tracer_provider(provider),
        None => layer,
    }
}
