//! Propagation through the request headers: the parent context of a server span extracted
//! from them (with a fast path for the W3C propagators), and a client span's context
//! injected into them.

use std::any::Any;
use std::sync::Arc;

use http::HeaderMap;
use nais_otel_propagation::{
    BaggagePropagator, HeaderExtractor, HeaderInjector, TraceContextPropagator, W3cPropagator,
};
use opentelemetry::global;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::Context;

use crate::headers::KnownHeaders;

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
    /// `known` says whether `traceparent` and `baggage` are there; our W3C propagators
    /// skip the extraction of the one that is not.
    #[inline]
    pub(crate) fn extract(&self, headers: &HeaderMap, known: &KnownHeaders<'_>) -> Context {
        match self {
            Self::W3c(propagator) => w3c(propagator, headers, known),
            Self::W3cBaggage(propagator) => {
                let cx = w3c(propagator.trace_context(), headers, known);
                if known.baggage {
                    let (cx, dropped) =
                        BaggagePropagator::new().extract_from_headers_counted(&cx, headers);
                    if dropped.any() {
                        crate::report::dropped_baggage(&dropped);
                    }
                    cx
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
    // Reported after `map_current`, which holds the context stack borrowed: a subscriber
    // may attach a context while it handles the event.
    let (cx, used) =
        Context::map_current(
            |cx| match propagator.try_extract_from_headers(cx, headers) {
                Some(extracted) => (extracted, true),
                None => (cx.clone(), false),
            },
        );
    if !used {
        crate::report::unusable_traceparent(headers);
    }
    cx
}

/// Injects the span context of `cx` into `headers` with `propagator`, or with the global
/// propagator (looked up now) when there is none.
pub(crate) fn inject(
    propagator: Option<&(dyn TextMapPropagator + Send + Sync)>,
    cx: &Context,
    headers: &mut HeaderMap,
) {
    let mut injector = HeaderInjector(headers);
    match propagator {
        Some(propagator) => propagator.inject_context(cx, &mut injector),
        None => global::get_text_map_propagator(|p| p.inject_context(cx, &mut injector)),
    }
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
