//! Starting a span into a [`Context`] and extracting the parent: the two per-request calls
//! into OpenTelemetry, type-erased once per layer instead of once per span.
//!
//! Why not `BoxedTracer`: its spans are `BoxedSpan`s, and `Context::with_span` boxes every
//! span it is given again, so a boxed tracer pays two allocations and two moves of the SDK's
//! (large) span per request. Erasing at "start a span and put it in a context" keeps the
//! concrete tracer type inside, so the SDK span goes straight into the context's box.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use http::HeaderMap;
use nais_otel_propagation::{
    span_flags, BaggagePropagator, HeaderExtractor, TraceContextPropagator, W3cPropagator,
};
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    Span, SpanBuilder, SpanContext, Status, TraceContextExt, Tracer, TracerProvider,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};

use crate::server::KnownHeaders;

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

    /// The global propagator as it is now. When it reads exactly the W3C headers
    /// (`traceparent` and `tracestate`, with or without `baggage`), as the SDK's and
    /// `nais_otel::init()`'s do, the headers are parsed with our W3C propagators directly:
    /// no global lock, no `dyn` call, no header-name parsing per request. Any other
    /// propagator (the no-op one before `init()` included) is looked up per request.
    pub(crate) fn global() -> Self {
        global::get_text_map_propagator(|p| Self::for_fields(p.fields()))
    }

    /// [`global`](Self::global) for a global propagator that reads `fields`.
    fn for_fields<'a>(fields: impl Iterator<Item = &'a str>) -> Self {
        let mut fields: Vec<String> = fields.map(str::to_ascii_lowercase).collect();
        fields.sort_unstable();
        fields.dedup();
        match fields
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["traceparent", "tracestate"] => Self::W3c(TraceContextPropagator::new()),
            ["baggage", "traceparent", "tracestate"] => Self::W3cBaggage(W3cPropagator::new()),
            _ => Self::Global,
        }
    }

    /// What `Debug` shows.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::W3c(_) => "w3c trace context",
            Self::W3cBaggage(_) => "w3c trace context and baggage",
            Self::Custom(_) => "custom",
        }
    }

    /// The parent context of a request with `headers`, on top of the current context.
    /// `known` says whether `traceparent` and `baggage` may be there; our W3C propagators
    /// skip the extraction of the one that is not.
    #[inline]
    pub(crate) fn extract(&self, headers: &HeaderMap, known: &KnownHeaders<'_>) -> Context {
        match self {
            Self::W3c(propagator) => w3c(propagator, headers, known),
            Self::W3cBaggage(propagator) => {
                let cx = w3c(propagator.trace_context(), headers, known);
                if known.baggage {
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

/// Trace Context from `headers` on top of the current context.
#[inline]
fn w3c(
    propagator: &TraceContextPropagator,
    headers: &HeaderMap,
    known: &KnownHeaders<'_>,
) -> Context {
    if !known.traceparent {
        return Context::current();
    }
    Context::map_current(|cx| propagator.extract_from_headers(cx, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    #[test]
    fn global_propagator_fast_path_only_for_exactly_the_w3c_headers() {
        let cases: &[(&[&str], &str, &str)] = &[
            (&["traceparent", "tracestate"],            "w3c trace context",             "the SDK's TraceContextPropagator"),
            (&["tracestate", "traceparent", "baggage"], "w3c trace context and baggage", "init()'s composite, any order"),
            (&["traceparent", "tracestate", "traceparent"], "w3c trace context",         "a header named twice"),
            (&[],                                       "global",                        "the no-op propagator before init()"),
            (&["baggage"],                              "global",                        "baggage alone"),
            (&["b3"],                                   "global",                        "B3"),
            (&["traceparent", "tracestate", "b3"],      "global",                        "W3C plus B3"),
            (&["uber-trace-id"],                        "global",                        "Jaeger"),
        ];
        for (fields, expected, reason) in cases {
            let extract = Extract::for_fields(fields.iter().copied());
            assert_eq!(extract.name(), *expected, "{reason}");
        }
    }
}
