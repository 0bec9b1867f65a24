//! Strict [W3C Trace Context Level 2] and [W3C Baggage] propagation for OpenTelemetry.
//!
//! This crate depends only on the OpenTelemetry API and [`http`]. The core crate
//! `nais-otel` re-exports it and installs [`W3cPropagator`] as the global
//! propagator in place of the SDK's `TraceContextPropagator`.
//!
//! # Getting started
//!
//! ```
//! use nais_otel_propagation::{current_traceparent, extract, inject, W3cPropagator};
//! use opentelemetry::trace::TraceContextExt;
//! use opentelemetry::Context;
//!
//! // Install once at start-up (the `nais-otel` crate does this for you).
//! opentelemetry::global::set_text_map_propagator(W3cPropagator::new());
//!
//! // Server side: read the incoming headers.
//! let mut incoming = http::HeaderMap::new();
//! incoming.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse()?);
//! incoming.insert("tracestate", "congo=t61rcWkgMzE".parse()?);
//! incoming.insert("baggage", "tenant=nav".parse()?);
//! let cx = extract(&incoming);
//! assert!(cx.span().span_context().is_remote());
//!
//! // Client side: write the headers of an outgoing request.
//! let mut outgoing = http::HeaderMap::new();
//! inject(&cx, &mut outgoing);
//! assert_eq!(outgoing["traceparent"], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
//! assert_eq!(outgoing["tracestate"], "congo=t61rcWkgMzE");
//! assert_eq!(outgoing["baggage"], "tenant=nav");
//!
//! // For logs and response headers.
//! let _guard = cx.attach();
//! assert_eq!(
//!     current_traceparent().as_deref(),
//!     Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The rules
//!
//! `traceparent` ([§ traceparent Header]):
//!
//! - `version-trace_id-parent_id-flags`, lowercase hex only; optional whitespace
//!   (spaces and tabs) around the header value is ignored.
//! - Version `00` is exactly 55 characters. A higher version is parsed by its first
//!   four fields when it is at least 55 characters long and anything after the
//!   flags starts with `-`. Version `ff` is invalid.
//! - An all-zero trace-id or parent-id is invalid.
//! - The `sampled` (`01`) and `random` (`02`) flags are kept; reserved flag bits
//!   are set to zero (§ Other Flags), for every version.
//! - More than one `traceparent` header is invalid.
//! - An invalid `traceparent` is ignored: the parent context is returned unchanged
//!   and a new trace starts. No `tracestate` is read then.
//!
//! `tracestate` ([§ tracestate Header]):
//!
//! - Every `tracestate` header is combined in order, as if joined with `,`.
//! - Keys are 1 to 256 characters: `a-z` or `0-9`, then any of `a-z0-9_-*/@`
//!   (`key = (lcalpha / DIGIT) 0*255(keychar)`; `foo@`, `foo@@bar` and
//!   `t@vvvvvvvvvvvvvvv` are keys).
//! - Values are 1 to 256 characters in `0x20..=0x7E` without `,` and `=`, and do
//!   not end in a space.
//! - Empty list-members and whitespace around list-members are ignored.
//! - A repeated key is kept once, its left-most member (the spec lets a receiver
//!   discard duplicates).
//! - More than 32 list-members or any bad member makes the whole `tracestate`
//!   invalid. It is dropped; the `traceparent` is kept.
//! - opentelemetry's `TraceState` holds keys by an older grammar (one `@`, at most
//!   13 characters after it). Members it cannot hold are carried in the extracted
//!   [`Context`] beside the span context, and sent again by every span of the trace
//!   that inherits it.
//!
//! Spans: the SDK gives a span its sampler drops no trace flags, and never sets
//! `random` on a trace it starts. [`span_flags`] gives the flags a span must carry
//! (`random` from the parent, or set for a new trace); the tower layers of
//! `nais-otel-tower` put them in their spans' contexts, so an outgoing
//! `traceparent` keeps the incoming `random` flag whatever the sampler decides.
//! - When sending, members that do not follow the grammar are left out, and the
//!   header is cut to 512 characters as § Tracestate Limits says: first members
//!   longer than 128 characters (right-most first), then members from the end.
//!
//! `baggage` ([W3C Baggage]): see [`BaggagePropagator`].
//!
//! A malformed or hostile header never panics, and parsing takes time linear in
//! its length. The parsers are exercised with property tests over arbitrary bytes
//! (stable Rust has no `cargo fuzz`).
//!
//! # Carriers
//!
//! | Carrier | Extractor | Injector |
//! |---|---|---|
//! | [`http::HeaderMap`] | [`HeaderExtractor`] | [`HeaderInjector`] |
//! | Kafka-style record headers `[(String, Vec<u8>)]` | [`RecordHeadersExtractor`] | [`RecordHeadersInjector`] |
//! | `HashMap<String, String>` | implemented by `opentelemetry` | implemented by `opentelemetry` |
//!
//! The extractors return every value of a repeated field from
//! [`Extractor::get_all`]. `HashMap` holds one value per key, so it cannot carry
//! repeated fields. Through [`HeaderExtractor`], a header value with bytes outside
//! visible ASCII reads as empty; [`TraceContextPropagator::extract_span_context_from_headers`]
//! drops a `tracestate` with such a value instead.
//!
//! # Feature Flags
//!
//! This crate has no optional features.
//!
//! # Supported Rust Versions
//!
//! The minimum supported Rust version is the workspace's `rust-version` (1.88).
//!
//! [W3C Trace Context Level 2]: https://www.w3.org/TR/trace-context-2/
//! [W3C Baggage]: https://www.w3.org/TR/baggage/
//! [§ traceparent Header]: https://www.w3.org/TR/trace-context-2/#traceparent-header
//! [§ tracestate Header]: https://www.w3.org/TR/trace-context-2/#tracestate-header
#![cfg_attr(docsrs, feature(doc_cfg))]

mod baggage;
mod carrier;
mod propagator;
mod traceparent;
mod tracestate;

use std::sync::LazyLock;

use http::HeaderMap;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;

pub use self::baggage::{
    format_baggage, parse_baggage, parse_baggage_counted, percent_decode, BaggageDropped,
    BaggagePropagator, BAGGAGE_HEADER, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS,
};
pub use self::carrier::{
    HeaderExtractor, HeaderInjector, RecordHeadersExtractor, RecordHeadersInjector,
};
pub use self::propagator::{TraceContextPropagator, TRACEPARENT_HEADER, TRACESTATE_HEADER};
pub use self::traceparent::{span_flags, ParseTraceParentError, TraceParent, TraceParentErrorKind};
pub use self::tracestate::{
    ParseTraceStateError, TraceStateErrorKind, W3cTraceState, LARGE_MEMBER_LEN, MAX_MEMBERS,
    MAX_SEND_LEN,
};

static W3C_FIELDS: LazyLock<[String; 3]> = LazyLock::new(|| {
    [
        TRACEPARENT_HEADER.to_owned(),
        TRACESTATE_HEADER.to_owned(),
        BAGGAGE_HEADER.to_owned(),
    ]
});

/// Trace Context and Baggage in one propagator, without dynamic dispatch.
///
/// This is what [`extract`] and [`inject`] use, and what the core crate installs
/// with [`opentelemetry::global::set_text_map_propagator`].
#[derive(Debug, Clone, Default)]
pub struct W3cPropagator {
    trace_context: TraceContextPropagator,
    baggage: BaggagePropagator,
}

impl W3cPropagator {
    /// Creates the propagator.
    pub fn new() -> Self {
        Self::default()
    }

    /// The Trace Context part, for its inherent fast paths.
    pub fn trace_context(&self) -> &TraceContextPropagator {
        &self.trace_context
    }
}

impl TextMapPropagator for W3cPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.trace_context.inject_context(cx, injector);
        self.baggage.inject_context(cx, injector);
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let cx = self.trace_context.extract_with_context(cx, extractor);
        self.baggage.extract_with_context(&cx, extractor)
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(W3C_FIELDS.as_slice())
    }
}

/// The current span as a `traceparent` value, for logs and response headers.
///
/// Returns `None` when the current [`Context`] has no valid span context.
///
/// # Examples
///
/// ```
/// assert_eq!(nais_otel_propagation::current_traceparent(), None);
/// ```
pub fn current_traceparent() -> Option<String> {
    Context::map_current(|cx| {
        TraceParent::from_span_context(cx.span().span_context()).map(|tp| tp.to_string())
    })
}

/// Reads Trace Context and Baggage from HTTP headers on top of [`Context::current`].
///
/// See [`W3cPropagator`]; an invalid `traceparent` leaves the current context's span in place.
pub fn extract(headers: &HeaderMap) -> Context {
    Context::map_current(|cx| extract_with_context(cx, headers))
}

/// Reads Trace Context and Baggage from HTTP headers on top of `cx`.
pub fn extract_with_context(cx: &Context, headers: &HeaderMap) -> Context {
    let propagator = W3cPropagator::new();
    let cx = propagator.trace_context.extract_from_headers(cx, headers);
    propagator.baggage.extract_from_headers(&cx, headers)
}

/// Writes the span context and baggage of `cx` into HTTP headers, replacing earlier values.
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    W3cPropagator::new().inject_context(cx, &mut HeaderInjector(headers));
}
