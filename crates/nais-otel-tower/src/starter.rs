//! Starting a span into a [`Context`] and extracting the parent: the two per-request calls
//! into OpenTelemetry, type-erased once per layer instead of once per span.
//!
//! Why not `BoxedTracer`: its spans are `BoxedSpan`s, and `Context::with_span` boxes every
//! span it is given again, so a boxed tracer pays two allocations and two moves of the SDK's
//! (large) span per request. Erasing at "start a span and put it in a context" keeps the
//! concrete tracer type inside, so the SDK span goes straight into the context's box.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use http::header::HeaderName;
use http::HeaderMap;
use nais_otel_propagation::{
    BaggagePropagator, HeaderExtractor, TraceContextPropagator, W3cPropagator,
};
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanBuilder, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, InstrumentationScope};

/// Starts a span from a builder under a parent and returns the parent with the span.
pub(crate) trait StartSpan: Send + Sync {
    fn start(&self, builder: SpanBuilder, parent: &Context) -> Context;
}

struct WithTracer<T>(T);

impl<T> StartSpan for WithTracer<T>
where
    T: Tracer + Send + Sync,
    T::Span: Send + Sync + 'static,
{
    #[inline]
    fn start(&self, builder: SpanBuilder, parent: &Context) -> Context {
        parent.with_span(self.0.build_with_context(builder, parent))
    }
}

/// The tracer of a layer, type-erased behind one `dyn` call per span.
#[derive(Clone)]
pub(crate) struct SpanStarter {
    inner: Arc<dyn StartSpan>,
    /// What `Debug` shows: the tracer's type.
    kind: &'static str,
}

impl SpanStarter {
    pub(crate) fn new<T>(tracer: T) -> Self
    where
        T: Tracer + Send + Sync + 'static,
        T::Span: Send + Sync + 'static,
    {
        Self {
            inner: Arc::new(WithTracer(tracer)),
            kind: std::any::type_name::<T>(),
        }
    }

    /// The global tracer provider's tracer for this crate's scope (taken now).
    pub(crate) fn global() -> Self {
        Self::new::<BoxedTracer>(global::tracer_provider().tracer_with_scope(scope()))
    }

    /// `provider`'s tracer for this crate's scope.
    pub(crate) fn from_provider<P>(provider: &P) -> Self
    where
        P: TracerProvider + ?Sized,
        P::Tracer: Send + Sync + 'static,
        <P::Tracer as Tracer>::Span: Send + Sync + 'static,
    {
        Self::new(provider.tracer_with_scope(scope()))
    }

    #[inline]
    pub(crate) fn start(&self, builder: SpanBuilder, parent: &Context) -> Context {
        self.inner.start(builder, parent)
    }
}

impl fmt::Debug for SpanStarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind)
    }
}

/// This crate's instrumentation scope: its name and version.
pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// Where the parent context of a server span comes from.
#[derive(Clone)]
pub(crate) enum Extract {
    /// The global propagator, looked up per request (so a later change is seen).
    Global,
    /// Our W3C trace-context propagator, called directly on the `HeaderMap`: no header-name
    /// parsing, no `dyn` call, no `Context::current()` clone when there is no header.
    W3c(TraceContextPropagator),
    /// Our Trace Context plus Baggage propagator (what `nais_otel::init()` installs by
    /// default): the fast path above, and baggage only when the header is there.
    W3cBaggage(W3cPropagator),
    /// Any other propagator.
    Custom(Arc<dyn TextMapPropagator + Send + Sync>),
}

impl Extract {
    pub(crate) fn custom<P>(propagator: P) -> Self
    where
        P: TextMapPropagator + Send + Sync + 'static,
    {
        // Both are stateless, so a fresh one is the same propagator.
        let any: &dyn Any = &propagator;
        if any.is::<TraceContextPropagator>() {
            return Self::W3c(TraceContextPropagator::new());
        }
        if any.is::<W3cPropagator>() {
            return Self::W3cBaggage(W3cPropagator::new());
        }
        Self::Custom(Arc::new(propagator))
    }

    pub(crate) fn is_global(&self) -> bool {
        matches!(self, Self::Global)
    }

    /// The parent context of a request with `headers`, on top of the current context.
    #[inline]
    pub(crate) fn extract(&self, headers: &HeaderMap) -> Context {
        match self {
            Self::W3c(propagator) => w3c(propagator, headers),
            Self::W3cBaggage(propagator) => {
                let cx = w3c(propagator.trace_context(), headers);
                if headers.contains_key(BAGGAGE) {
                    BaggagePropagator::new().extract_with_context(&cx, &HeaderExtractor(headers))
                } else {
                    cx
                }
            }
            Self::Global => {
                global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
            }
            Self::Custom(propagator) => propagator.extract(&HeaderExtractor(headers)),
        }
    }
}

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const BAGGAGE: HeaderName = HeaderName::from_static("baggage");

/// Trace Context from `headers` on top of the current context.
#[inline]
fn w3c(propagator: &TraceContextPropagator, headers: &HeaderMap) -> Context {
    // A lookup by a ready `HeaderName` is a hash and a probe; most requests to a service
    // either all carry `traceparent` or none do, and the miss is the cheap case.
    if !headers.contains_key(TRACEPARENT) {
        return Context::current();
    }
    match propagator.extract_span_context_from_headers(headers) {
        Some(sc) => Context::map_current(|cx| cx.with_remote_span_context(sc)),
        None => Context::current(),
    }
}
