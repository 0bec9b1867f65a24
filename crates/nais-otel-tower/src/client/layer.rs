use std::fmt;
use std::sync::Arc;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::Tracer;
use tower_layer::Layer;

use super::Client;
use crate::tracer::SpanStarter;

/// Layer that traces every outgoing request with a CLIENT span and injects its context.
///
/// See the [module docs](crate::client) for more details.
#[derive(Clone)]
#[must_use]
pub struct ClientLayer {
    pub(crate) tracer: SpanStarter,
    pub(crate) propagator: Option<Arc<dyn TextMapPropagator + Send + Sync>>,
}

impl fmt::Debug for ClientLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientLayer")
            .field("tracer", &self.tracer)
            .field(
                "propagator",
                &if self.propagator.is_some() {
                    "custom"
                } else {
                    "global"
                },
            )
            .finish()
    }
}

impl ClientLayer {
    /// Creates the layer with the global tracer provider's tracer (taken now, so build the
    /// layer after `nais_otel::init()`) and the global propagator.
    pub fn new() -> Self {
        Self {
            tracer: SpanStarter::global(),
            propagator: None,
        }
    }

    /// Uses `tracer` instead of the global tracer provider's.
    pub fn tracer<T>(mut self, tracer: T) -> Self
    where
        T: Tracer + Send + Sync + 'static,
        T::Span: Send + Sync + 'static,
    {
        self.tracer = SpanStarter::new(tracer);
        self
    }

    /// Uses `provider`'s tracer, under this crate's instrumentation scope, instead of the
    /// global tracer provider's: with the SDK's provider, one box per span fewer than the
    /// type-erased global one. `nais_otel::Guard::client_layer()` does this.
    pub fn tracer_provider<P>(mut self, provider: &P) -> Self
    where
        P: opentelemetry::trace::TracerProvider,
        P::Tracer: Send + Sync + 'static,
        <P::Tracer as Tracer>::Span: Send + Sync + 'static,
    {
        self.tracer = SpanStarter::from_provider(provider);
        self
    }

    /// Injects the span context with `propagator` instead of the global propagator.
    ///
    /// Defaults to the global propagator (`opentelemetry::global::get_text_map_propagator`).
    pub fn propagator<P>(mut self, propagator: P) -> Self
    where
        P: TextMapPropagator + Send + Sync + 'static,
    {
        self.propagator = Some(Arc::new(propagator));
        self
    }
}

impl Default for ClientLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for ClientLayer {
    type Service = Client<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Client {
            inner,
            layer: self.clone(),
        }
    }
}
