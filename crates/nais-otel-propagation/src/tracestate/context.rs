//! Between the W3C list and opentelemetry's `TraceState`: what a `TraceState` can hold, and
//! the members it cannot, carried in the [`Context`] beside the remote span context and sent
//! on with the trace.

use std::sync::Arc;

use opentelemetry::trace::{SpanContext, TraceContextExt, TraceId, TraceState};
use opentelemetry::Context;

use super::list::{add_members, format_for_sending, parse_members};

/// Builds an OpenTelemetry `TraceState` from members already valid under our grammar,
/// leaving out those it cannot hold ([`otel_can_hold`]).
pub(super) fn to_otel<'a>(members: impl Iterator<Item = (&'a str, &'a str)>) -> TraceState {
    let representable = members.filter(|(key, _)| otel_can_hold(key));
    // Cannot fail: every member passed the spec's check and `otel_can_hold`. Fall back to
    // no state anyway.
    TraceState::from_key_value(representable).unwrap_or_default()
}

/// Whether opentelemetry 0.33's `TraceState` accepts `key`, a key already valid under the
/// spec's grammar. Its check is older and stricter: at most one `@`, at most 13 characters
/// after it, and the character right after it `a-z` or `0-9`. A test compares this with
/// `TraceState::from_key_value` on generated keys.
pub(super) fn otel_can_hold(key: &str) -> bool {
    match key.split_once('@') {
        None => true,
        Some((_, after)) => {
            after.len() <= 13
                && !after.contains('@')
                && after
                    .bytes()
                    .next()
                    .is_none_or(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        }
    }
}

/// Every member of a `tracestate`, in order, shared between the contexts of a trace.
pub(crate) type AllMembers = Arc<[(String, String)]>;

/// A remote parent's whole `tracestate`, kept in the [`Context`] beside its span context
/// when opentelemetry's `TraceState` cannot hold every member ([`otel_can_hold`]).
///
/// Spans started under the parent inherit its `TraceState` and the context's values, so
/// an outgoing request of the same trace finds it here and sends every member.
#[derive(Debug, Clone)]
pub(crate) struct CarriedTraceState {
    trace_id: TraceId,
    /// What the remote span context holds: the members `TraceState` can hold.
    held: TraceState,
    /// Every member, in order.
    members: AllMembers,
}

/// Members of a parsed `tracestate`: the `TraceState` for the span context, and all of
/// them when that could not hold every one.
pub(crate) fn parse_for_context<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> (TraceState, Option<AllMembers>) {
    match parse_members(values) {
        Ok(members) => {
            let held = to_otel(members.iter().copied());
            let all = (!members.iter().all(|(key, _)| otel_can_hold(key))).then(|| {
                members
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            });
            (held, all)
        }
        Err(_) => (TraceState::NONE, None),
    }
}

/// `cx` with the remote span context `sc` and, when given, every member of its
/// `tracestate`.
pub(crate) fn with_remote(cx: &Context, sc: SpanContext, all: Option<AllMembers>) -> Context {
    match all {
        None => cx.with_remote_span_context(sc),
        Some(members) => {
            let carried = CarriedTraceState {
                trace_id: sc.trace_id(),
                held: sc.trace_state().clone(),
                members,
            };
            cx.with_remote_span_context(sc).with_value(carried)
        }
    }
}

/// The header value to send for the span context `sc` of `cx`: invalid and repeated
/// members dropped, at most 32 members, cut to [`MAX_SEND_LEN`](crate::MAX_SEND_LEN).
///
/// When `cx` carries the whole `tracestate` of a remote parent of the same trace, the
/// members `TraceState` could not hold are sent too: in their place when the span's
/// `TraceState` is still the parent's, after its members when a sampler changed it.
pub(crate) fn header_for_context(sc: &SpanContext, cx: &Context) -> String {
    let carried = cx
        .get::<CarriedTraceState>()
        .filter(|carried| carried.trace_id == sc.trace_id());
    let mut members: Vec<(&str, &str)> = Vec::new();
    match carried {
        Some(carried) if carried.held == *sc.trace_state() => {
            add_members(
                &mut members,
                carried
                    .members
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
        }
        Some(carried) => {
            add_members(&mut members, sc.trace_state().into_iter());
            add_members(
                &mut members,
                carried
                    .members
                    .iter()
                    .filter(|(key, _)| !otel_can_hold(key))
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
        }
        None => add_members(&mut members, sc.trace_state().into_iter()),
    }
    format_for_sending(members)
}

/// The header value to send for an OpenTelemetry `TraceState`: invalid and
/// repeated members dropped, at most 32 members, cut to [`MAX_SEND_LEN`](crate::MAX_SEND_LEN).
pub(crate) fn header_for_sending(trace_state: &TraceState) -> String {
    let mut members: Vec<(&str, &str)> = Vec::new();
    add_members(&mut members, trace_state.into_iter());
    format_for_sending(members)
}
