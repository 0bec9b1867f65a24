//! The tower layers, built from the environment and handed the tracer provider
//! that `init` built: by the [`Guard`](crate::Guard) that owns it, or, for the free
//! functions, through the provider `init` last installed as the global one.

use std::sync::{PoisonError, RwLock};

use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::{
    config::read_excluded_paths,
    middleware::{ClientLayer, ServerLayer},
};

/// What [`crate::Builder::init`] last installed as the globals, so that the free
/// functions can hand the layers the SDK tracer itself (the global one is
/// type-erased, which costs a second box per span) and the excluded paths read
/// with the builder's lookup. `None` before `init`.
#[derive(Clone)]
pub(crate) struct Installed {
    /// The global tracer provider, unless tracing is disabled.
    pub(crate) provider: Option<SdkTracerProvider>,
    /// [`Config::excluded_paths`](crate::Config::excluded_paths).
    pub(crate) excluded_paths: Vec<String>,
}

static INSTALLED: RwLock<Option<Installed>> = RwLock::new(None);

/// Records what `init` installed as the globals.
pub(crate) fn set_installed(installed: Installed) {
    *INSTALLED.write().unwrap_or_else(PoisonError::into_inner) = Some(installed);
}

fn installed() -> Option<Installed> {
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
    match installed() {
        Some(installed) => {
            server_layer_with(installed.provider.as_ref(), &installed.excluded_paths)
        }
        None => {
            // Before `init` (or without its globals): the process environment.
            let mut problems = Vec::new();
            let excluded_paths =
                read_excluded_paths(&|name| std::env::var(name).ok(), &mut problems);
            for problem in &problems {
                problem.warn();
            }
            server_layer_with(None, &excluded_paths)
        }
    }
}

/// The client layer: client spans, and the client span's `traceparent` on
/// every outgoing request. Build it after [`crate::init`];
/// [`Guard::client_layer`](crate::Guard::client_layer) is the same, with the
/// guard's provider handed over explicitly.
pub fn client_layer() -> ClientLayer {
    client_layer_with(
        installed()
            .and_then(|installed| installed.provider)
            .as_ref(),
    )
}

/// The server layer with `provider`'s tracer (the global one without it) and
/// the excluded path globs of [`Config::excluded_paths`](crate::Config::excluded_paths).
pub(crate) fn server_layer_with(
    provider: Option<&SdkTracerProvider>,
    excluded_paths: &[String],
) -> ServerLayer {
    let mut layer = ServerLayer::new().exclusions(excluded_paths.to_vec());
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
