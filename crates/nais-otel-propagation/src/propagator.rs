//! The W3C Trace Context [`TextMapPropagator`].

use std::sync::LazyLock;

use http::{HeaderMap, HeaderName};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceState};
use opentelemetry::Context;

use crate::traceparent::TraceParent;
use crate::tracestate::{
    header_for_context, header_for_sending, parse_for_context, trim_ows, with_remote, AllMembers,
};

/// The `traceparent` header name.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// The `tracestate` header name.
pub const TRACESTATE_HEADER: &str = "tracestate";

static FIELDS: LazyLock<[String; 2]> =
    LazyLock::new(|| [TRACEPARENT_HEADER.to_owned(), TRACESTATE_HEADER.to_owned()]);

/// A strict W3C Trace Context Level 2 propagator.
///
/// A drop-in replacement for `opentelemetry_sdk`'s `TraceContextPropagator` that
/// keeps the `random` flag, treats a repeated `traceparent` as invalid, combines
/// every `tracestate` header, and enforces the `tracestate` grammar and limits.
/// An invalid `traceparent` leaves the parent context unchanged (a new trace
/// starts); an invalid `tracestate` is dropped while the `traceparent` is kept.
///
/// opentelemetry's `TraceState` cannot hold every key the current grammar allows (see
/// [`W3cTraceState::to_trace_state`](crate::W3cTraceState::to_trace_state)). When a
/// `tracestate` has such a member, the context this propagator extracts carries the
/// whole list beside the span context, and injecting a context of the same trace sends
/// every member again. The methods that return a bare [`SpanContext`] cannot carry it.
///
/// See the [crate docs](crate) for the full list of rules.
///
/// # Examples
///
/// ```
/// use nais_otel_propagation::{HeaderExtractor, TraceContextPropagator};
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03".parse()?);
///
/// let propagator = TraceContextPropagator::new();
/// let cx = propagator.extract(&HeaderExtractor(&headers));
/// let span = cx.span();
/// assert_eq!(span.span_context().trace_flags().to_u8(), 0x03);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct TraceContextPropagator {
    _private: (),
}

impl TraceContextPropagator {
    /// Creates the propagator.
    pub fn new() -> Self {
        Self { _private: () }
    }

    /// Reads a remote span context from any carrier, without building a [`Context`].
    ///
    /// Returns `None` when `traceparent` is missing, repeated or invalid. The trace state
    /// holds the members opentelemetry's `TraceState` can hold; [`TextMapPropagator::extract`]
    /// keeps the others too.
    pub fn extract_span_context(&self, extractor: &dyn Extractor) -> Option<SpanContext> {
        self.extract_remote(extractor).map(|(sc, _)| sc)
    }

    /// Reads a remote span context straight from an [`http::HeaderMap`].
    ///
    /// Same rules as [`TraceContextPropagator::extract_span_context`], without
    /// dynamic dispatch; without a `tracestate` it allocates nothing.
    pub fn extract_span_context_from_headers(&self, headers: &HeaderMap) -> Option<SpanContext> {
        self.extract_remote_from_headers(headers).map(|(sc, _)| sc)
    }

    /// Reads Trace Context straight from an [`http::HeaderMap`] on top of `cx`, without
    /// dynamic dispatch: [`TextMapPropagator::extract_with_context`] for a `HeaderMap`.
    ///
    /// Returns `cx` unchanged when `traceparent` is missing, repeated or invalid.
    pub fn extract_from_headers(&self, cx: &Context, headers: &HeaderMap) -> Context {
        match self.extract_remote_from_headers(headers) {
            Some((sc, all)) => with_remote(cx, sc, all),
            None => cx.clone(),
        }
    }

    /// [`extract_from_headers`](Self::extract_from_headers), `None` where that returns `cx`
    /// unchanged: when `traceparent` is missing, repeated or invalid.
    pub fn try_extract_from_headers(&self, cx: &Context, headers: &HeaderMap) -> Option<Context> {
        self.extract_remote_from_headers(headers)
            .map(|(sc, all)| with_remote(cx, sc, all))
    }

    fn extract_remote(&self, extractor: &dyn Extractor) -> Option<Remote> {
        let traceparent = match extractor.get_all(TRACEPARENT_HEADER)?.as_slice() {
            [single] => TraceParent::from_bytes(trim_ows(single).as_bytes()).ok()?,
            _ => return None,
        };
        let (trace_state, all) = match extractor.get_all(TRACESTATE_HEADER) {
            Some(values) => parse_for_context(values.iter().copied()),
            None => (TraceState::NONE, None),
        };
        Some((traceparent.to_remote_span_context(trace_state), all))
    }

    fn extract_remote_from_headers(&self, headers: &HeaderMap) -> Option<Remote> {
        // Ready `HeaderName`s: a lookup by `&str` parses and validates the name every time.
        const TRACEPARENT: HeaderName = HeaderName::from_static(TRACEPARENT_HEADER);
        const TRACESTATE: HeaderName = HeaderName::from_static(TRACESTATE_HEADER);
        let mut values = headers.get_all(TRACEPARENT).iter();
        let traceparent = values.next()?;
        if values.next().is_some() {
            return None;
        }
        let traceparent = TraceParent::from_bytes(trim_ows_bytes(traceparent.as_bytes())).ok()?;

        let values = headers.get_all(TRACESTATE);
        let (trace_state, all) = if values.iter().next().is_none() {
            (TraceState::NONE, None)
        } else if values.iter().all(|v| v.to_str().is_ok()) {
            parse_for_context(values.iter().filter_map(|v| v.to_str().ok()))
        } else {
            // Bytes outside visible ASCII cannot be part of a valid tracestate.
            (TraceState::NONE, None)
        };
        Some((traceparent.to_remote_span_context(trace_state), all))
    }

    /// Writes `traceparent` and `tracestate` for a span context.
    ///
    /// Writes nothing for an invalid span context. The `tracestate` is cleaned of
    /// members that do not follow the grammar and cut to 512 characters; it is not
    /// written when empty.
    pub fn inject_span_context(&self, span_context: &SpanContext, injector: &mut dyn Injector) {
        let Some(traceparent) = TraceParent::from_span_context(span_context) else {
            return;
        };
        injector.set(TRACEPARENT_HEADER, traceparent.to_string());
        let trace_state = header_for_sending(span_context.trace_state());
        if !trace_state.is_empty() {
            injector.set(TRACESTATE_HEADER, trace_state);
        }
    }
}

impl TextMapPropagator for TraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        let Some(traceparent) = TraceParent::from_span_context(span_context) else {
            return;
        };
        injector.set(TRACEPARENT_HEADER, traceparent.to_string());
        let trace_state = header_for_context(span_context, cx);
        if !trace_state.is_empty() {
            injector.set(TRACESTATE_HEADER, trace_state);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match self.extract_remote(extractor) {
            Some((sc, all)) => with_remote(cx, sc, all),
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(FIELDS.as_slice())
    }
}

/// A remote span context, and every member of its `tracestate` when its `TraceState`
/// could not hold them all.
type Remote = (SpanContext, Option<AllMembers>);

fn trim_ows_bytes(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}
