use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Tracer, TracerProvider};
use tower_layer::Layer;

use super::Server;
use crate::exclude::{parse_excluded_paths_env, EnvProblem, Exclusions, RequestHead};
use crate::propagate::Extract;
use crate::tracer::SpanStarter;

/// Layer that traces every incoming request with a SERVER span, except excluded routes.
///
/// See the [module docs](crate::server) for more details.
#[derive(Clone)]
#[must_use]
pub struct ServerLayer {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) tracer: SpanStarter,
    pub(crate) propagator: Extract,
    pub(crate) exclusions: Exclusions,
    pub(crate) traceparent_response_header: bool,
}

impl fmt::Debug for ServerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &self.shared;
        f.debug_struct("ServerLayer")
            .field("tracer", &shared.tracer)
            .field("propagator", &shared.propagator.name())
            .field("exclusions", &shared.exclusions)
            .field(
                "traceparent_response_header",
                &shared.traceparent_response_header,
            )
            .finish()
    }
}

impl ServerLayer {
    /// Creates the layer with the NAIS defaults: the global tracer provider's tracer
    /// (taken now, so build the layer after `nais_otel::init()`), the global propagator
    /// (when it reads exactly the W3C headers, as the SDK's and `nais_otel::init()`'s do,
    /// they are parsed with `nais-otel-propagation` directly, without the global lock;
    /// any other propagator is looked up per request),
    /// [`DEFAULT_EXCLUDED_PATHS`](crate::DEFAULT_EXCLUDED_PATHS) excluded, no `traceparent`
    /// response header.
    ///
    /// Does not read the environment; see [`from_env`](Self::from_env).
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                tracer: SpanStarter::global(),
                propagator: Extract::global(),
                exclusions: Exclusions::nais_defaults(),
                traceparent_response_header: false,
            }),
        }
    }

    /// [`new`](Self::new), then the exclusions in
    /// [`NAIS_OTEL_EXCLUDED_PATHS`](crate::EXCLUDED_PATHS_ENV) from the process environment.
    ///
    /// Invalid entries are ignored; use [`from_env_lookup`](Self::from_env_lookup) to get
    /// them as warnings.
    pub fn from_env() -> Self {
        Self::from_env_lookup(|name| std::env::var(name).ok()).0
    }

    /// Like [`from_env`](Self::from_env), but reads variables through `lookup` and returns
    /// the problems found (each names the variable and the ignored value), for the caller
    /// to log.
    ///
    /// # Examples
    ///
    /// ```
    /// use nais_otel_tower::ServerLayer;
    ///
    /// let (layer, problems) = ServerLayer::from_env_lookup(|name| match name {
    ///     "NAIS_OTEL_EXCLUDED_PATHS" => Some("/internal/ready,ready".to_owned()),
    ///     _ => None,
    /// });
    /// assert_eq!(problems.len(), 1);
    /// for problem in &problems {
    ///     eprintln!("warning: {problem}");
    /// }
    /// # let _ = layer;
    /// ```
    pub fn from_env_lookup<F>(lookup: F) -> (Self, Vec<EnvProblem>)
    where
        F: Fn(&str) -> Option<String>,
    {
        let mut layer = Self::new();
        let (env, problems) = parse_excluded_paths_env(lookup);
        layer.shared_mut().exclusions.apply_env(env);
        (layer, problems)
    }

    fn shared_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.shared)
    }

    /// This layer without its path globs (its filter kept): for a router whose excluded
    /// paths were already sent elsewhere, so the globs are not matched twice.
    #[cfg(feature = "axum")]
    pub(crate) fn without_path_globs(&self) -> Self {
        let mut layer = self.clone();
        layer.shared_mut().exclusions.replace(std::iter::empty());
        layer
    }

    /// Uses `tracer` instead of the global tracer provider's.
    pub fn tracer<T>(mut self, tracer: T) -> Self
    where
        T: Tracer + Send + Sync + 'static,
        T::Span: Send + Sync + 'static,
    {
        self.shared_mut().tracer = SpanStarter::new(tracer);
        self
    }

    /// Uses `provider`'s tracer, under this crate's instrumentation scope, instead of the
    /// global tracer provider's.
    ///
    /// With the SDK's provider this is faster than the global tracer: the global one is
    /// type-erased, so each span is boxed twice. `nais_otel::server_layer()` does this.
    pub fn tracer_provider<P>(mut self, provider: &P) -> Self
    where
        P: TracerProvider,
        P::Tracer: Send + Sync + 'static,
        <P::Tracer as Tracer>::Span: Send + Sync + 'static,
    {
        self.shared_mut().tracer = SpanStarter::from_provider(provider);
        self
    }

    /// Extracts the parent context with `propagator` instead of the global propagator.
    ///
    /// Defaults to the global propagator (`opentelemetry::global::get_text_map_propagator`),
    /// which `nais_otel::init()` sets from `OTEL_PROPAGATORS`.
    pub fn propagator<P>(mut self, propagator: P) -> Self
    where
        P: TextMapPropagator + Send + Sync + 'static,
    {
        self.shared_mut().propagator = Extract::custom(propagator);
        self
    }

    /// Excludes request paths matching `glob` too (`*` matches any run of characters,
    /// `?` one; ASCII case is ignored). Adds to earlier calls and to the defaults.
    pub fn exclude(mut self, glob: impl Into<Cow<'static, str>>) -> Self {
        self.shared_mut().exclusions.add(glob.into());
        self
    }

    /// Replaces all excluded path globs, the defaults included, with `globs`.
    ///
    /// Pass an empty list to trace every path.
    pub fn exclusions<I>(mut self, globs: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Cow<'static, str>>,
    {
        self.shared_mut()
            .exclusions
            .replace(globs.into_iter().map(Into::into));
        self
    }

    /// Traces only requests for which `predicate` returns `true` (and whose path is not
    /// excluded). Replaces an earlier filter. Defaults to none.
    ///
    /// # Examples
    ///
    /// ```
    /// use nais_otel_tower::ServerLayer;
    ///
    /// // Do not trace CORS preflight requests.
    /// let layer = ServerLayer::new().filter(|req| req.method() != http::Method::OPTIONS);
    /// # let _ = layer;
    /// ```
    pub fn filter<F>(mut self, predicate: F) -> Self
    where
        F: Fn(&RequestHead<'_>) -> bool + Send + Sync + 'static,
    {
        self.shared_mut().exclusions.set_filter(Arc::new(predicate));
        self
    }

    /// Adds a `traceparent` header with the server span to every traced response, so a
    /// caller can find the trace. Defaults to `false`.
    pub fn traceparent_response_header(mut self, enabled: bool) -> Self {
        self.shared_mut().traceparent_response_header = enabled;
        self
    }
}

impl Default for ServerLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for ServerLayer {
    type Service = Server<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Server {
            inner,
            layer: self.clone(),
        }
    }
}
