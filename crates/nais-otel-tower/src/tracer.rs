//! Starting a span into a [`Context`]: the per-request call into the tracer, type-erased
//! once per layer instead of once per span.
//!
//! Why not `BoxedTracer`: its spans are `BoxedSpan`s, and `Context::with_span` boxes every
//! span it is given again, so a boxed tracer pays two allocations and two moves of the SDK's
//! (large) span per request. Erasing at "start a span and put it in a context" keeps the
//! concrete tracer type inside, so the SDK span goes straight into the context's box.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use nais_otel_propagation::span_flags;
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::trace::{
    Span, SpanBuilder, SpanContext, Status, TraceContextExt, Tracer, TracerProvider,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};

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
        let span = self.0.build_with_context(builder, parent);
        let started = span.span_context();
        let flags = span_flags(parent.span().span_context(), started.trace_flags());
        if flags == started.trace_flags() {
            parent.with_span(span)
        } else {
            let span_context = SpanContext::new(
                started.trace_id(),
                started.span_id(),
                flags,
                started.is_remote(),
                started.trace_state().clone(),
            );
            parent.with_span(W3cFlagged { span, span_context })
        }
    }
}

/// A span whose span context has the W3C flags [`span_flags`] gives, where its tracer
/// gave it others: the SDK starts a span the sampler drops with no flags at all, and
/// never sets `random`. Everything but `span_context` goes to the span itself.
struct W3cFlagged<S> {
    span: S,
    span_context: SpanContext,
}

impl<S: Span> Span for W3cFlagged<S> {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        self.span
            .add_event_with_timestamp(name, timestamp, attributes);
    }

    fn span_context(&self) -> &SpanContext {
        &self.span_context
    }

    fn is_recording(&self) -> bool {
        self.span.is_recording()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        self.span.set_attribute(attribute);
    }

    fn set_attributes(&mut self, attributes: impl IntoIterator<Item = KeyValue>) {
        self.span.set_attributes(attributes);
    }

    fn set_status(&mut self, status: Status) {
        self.span.set_status(status);
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.span.update_name(new_name);
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        self.span.add_link(span_context, attributes);
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        self.span.end_with_timestamp(timestamp);
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

/// The name of this crate's instrumentation scope.
pub(crate) const SCOPE_NAME: &str = env!("CARGO_PKG_NAME");

/// This crate's instrumentation scope: its name and version.
pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}
