//! The cases of the official W3C Trace Context test suite (`w3c/trace-context`,
//! `test/test.py` at `acab820`, `SPEC_LEVEL=2 STRICT_LEVEL=2`), ported as tables and run
//! through the propagator with an `http::HeaderMap`, both through the
//! `TextMapPropagator` trait (with `HeaderExtractor`) and through the inherent header
//! fast path. The suite itself runs, unchanged, against `examples/w3c-service` in
//! `scripts/w3c-suite.sh`; these tables pin the propagator's part of it.
//!
//! The suite sends headers to a service and checks the `traceparent` and
//! `tracestate` it sends on. Here "the service continues the trace" means
//! extraction gives a remote span context with the sent trace-id, "a new
//! trace" means extraction gives nothing, and the `tracestate` sent on is what
//! injecting the extracted context writes. The suite's `AdvancedTest` cases
//! (several callbacks) are about generating span ids and belong to the service,
//! not the propagator; the `both_traceparent_and_tracestate_missing` case is
//! `missing_headers_give_nothing` below.
//!
//! The stock `opentelemetry_sdk` propagator (with `opentelemetry-http`'s carrier,
//! which returns only the first value of a header) fails several of these tests:
//! the rows it gets wrong are marked `SDK fails`, with the reason.

use http::{HeaderMap, HeaderName, HeaderValue};
use nais_otel_propagation::{HeaderExtractor, HeaderInjector, TraceContextPropagator};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::Context;

/// Header name and value pairs, in order.
type Headers<'a> = Vec<(&'a str, &'a str)>;

const TRACE_ID: &str = "12345678901234567890123456789012";

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        // `HeaderName::from_bytes` lowercases, as an HTTP server does.
        let name = HeaderName::from_bytes(name.as_bytes()).expect("valid header name");
        map.append(
            name,
            HeaderValue::from_str(value).expect("valid header value"),
        );
    }
    map
}

/// Extracts through both paths, checks they agree, and returns the span context.
fn extract(pairs: &[(&str, &str)]) -> Option<SpanContext> {
    let map = headers(pairs);
    let propagator = TraceContextPropagator::new();
    let fast = propagator.extract_span_context_from_headers(&map);
    let cx = propagator.extract_with_context(&Context::new(), &HeaderExtractor(&map));
    let via_trait = cx
        .has_active_span()
        .then(|| cx.span().span_context().clone());
    assert_eq!(fast, via_trait, "both paths agree for {pairs:?}");
    fast
}

fn trace_id_of(span_context: &SpanContext) -> String {
    format!("{:032x}", span_context.trace_id())
}

#[test]
fn missing_headers_give_nothing() {
    // suite: test_both_traceparent_and_tracestate_missing
    assert_eq!(extract(&[]), None);
}

#[test]
#[rustfmt::skip]
fn traceparent_continues_the_trace() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        // suite: test_traceparent_included_tracestate_missing
        (&[("traceparent", "00-12345678901234567890123456789012-1234567890123456-01")], "valid traceparent"),
        // suite: test_traceparent_header_name_valid_casing
        (&[("TraceParent", "00-12345678901234567890123456789012-1234567890123456-01")], "mixed-case name"),
        (&[("TrAcEpArEnT", "00-12345678901234567890123456789012-1234567890123456-01")], "mixed-case name"),
        (&[("TRACEPARENT", "00-12345678901234567890123456789012-1234567890123456-01")], "uppercase name"),
        // suite: test_traceparent_version_0xcc (SDK passes these)
        (&[("traceparent", "cc-12345678901234567890123456789012-1234567890123456-01")], "future version"),
        (&[("traceparent", "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like")], "future version with a tail"),
        // suite: test_traceparent_ows_handling
        (&[("traceparent", " 00-12345678901234567890123456789012-1234567890123456-01")], "leading space"),
        (&[("traceparent", "\t00-12345678901234567890123456789012-1234567890123456-01")], "leading tab"),
        (&[("traceparent", "00-12345678901234567890123456789012-1234567890123456-01 ")], "trailing space"),
        (&[("traceparent", "00-12345678901234567890123456789012-1234567890123456-01\t")], "trailing tab"),
        (&[("traceparent", "\t 00-12345678901234567890123456789012-1234567890123456-01 \t")], "both"),
    ];
    for (pairs, reason) in cases {
        let span_context = extract(pairs).unwrap_or_else(|| panic!("{reason}: {pairs:?}"));
        assert_eq!(trace_id_of(&span_context), TRACE_ID, "{reason}");
        assert_eq!(format!("{:016x}", span_context.span_id()), "1234567890123456", "{reason}");
        assert!(span_context.is_remote(), "{reason}");
        assert!(span_context.is_sampled(), "{reason}");
    }
}

#[test]
#[rustfmt::skip]
fn invalid_traceparent_starts_a_new_trace() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        // suite: test_traceparent_duplicated -- SDK fails (reads only the first)
        (&[("traceparent", "00-12345678901234567890123456789011-1234567890123456-01"),
           ("traceparent", "00-12345678901234567890123456789012-1234567890123456-01")], "two traceparent headers"),
        (&[("traceparent", "00-12345678901234567890123456789012-1234567890123456-01"),
           ("traceparent", "00-12345678901234567890123456789012-1234567890123456-01")], "the same traceparent twice"),
        // suite: test_traceparent_header_name
        (&[("trace-parent", "00-12345678901234567890123456789012-1234567890123456-01")], "wrong name trace-parent"),
        (&[("trace.parent", "00-12345678901234567890123456789012-1234567890123456-01")], "wrong name trace.parent"),
        // suite: test_traceparent_version_0x00 -- SDK fails (accepts the tail)
        (&[("traceparent", "00-12345678901234567890123456789012-1234567890123456-01.")], "version 00 with a trailing dot"),
        (&[("traceparent", "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like")], "version 00 with a tail"),
        // suite: test_traceparent_version_0xcc (third request)
        (&[("traceparent", "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like")], "future version, tail without dash"),
        // suite: test_traceparent_version_0xff
        (&[("traceparent", "ff-12345678901234567890123456789012-1234567890123456-01")], "version ff"),
        // suite: test_traceparent_version_illegal_characters
        (&[("traceparent", ".0-12345678901234567890123456789012-1234567890123456-01")], "dot in version"),
        (&[("traceparent", "0.-12345678901234567890123456789012-1234567890123456-01")], "dot in version"),
        // suite: test_traceparent_version_too_long -- SDK fails (`000` parses as version 0)
        (&[("traceparent", "000-12345678901234567890123456789012-1234567890123456-01")], "3-digit version"),
        (&[("traceparent", "0000-12345678901234567890123456789012-1234567890123456-01")], "4-digit version"),
        // suite: test_traceparent_version_too_short -- SDK fails (`0` parses as version 0)
        (&[("traceparent", "0-12345678901234567890123456789012-1234567890123456-01")], "1-digit version"),
        // suite: test_traceparent_trace_id_all_zero
        (&[("traceparent", "00-00000000000000000000000000000000-1234567890123456-01")], "all-zero trace-id"),
        // suite: test_traceparent_trace_id_illegal_characters
        (&[("traceparent", "00-.2345678901234567890123456789012-1234567890123456-01")], "dot in trace-id"),
        (&[("traceparent", "00-1234567890123456789012345678901.-1234567890123456-01")], "dot in trace-id"),
        // suite: test_traceparent_trace_id_too_long
        (&[("traceparent", "00-123456789012345678901234567890123-1234567890123456-01")], "33-digit trace-id"),
        // suite: test_traceparent_trace_id_too_short -- SDK fails (no length check)
        (&[("traceparent", "00-1234567890123456789012345678901-1234567890123456-01")], "31-digit trace-id"),
        // suite: test_traceparent_parent_id_all_zero
        (&[("traceparent", "00-12345678901234567890123456789012-0000000000000000-01")], "all-zero parent-id"),
        // suite: test_traceparent_parent_id_illegal_characters
        (&[("traceparent", "00-12345678901234567890123456789012-.234567890123456-01")], "dot in parent-id"),
        (&[("traceparent", "00-12345678901234567890123456789012-123456789012345.-01")], "dot in parent-id"),
        // suite: test_traceparent_parent_id_too_long
        (&[("traceparent", "00-12345678901234567890123456789012-12345678901234567-01")], "17-digit parent-id"),
        // suite: test_traceparent_parent_id_too_short -- SDK fails (no length check)
        (&[("traceparent", "00-12345678901234567890123456789012-123456789012345-01")], "15-digit parent-id"),
        // suite: test_traceparent_trace_flags_illegal_characters
        (&[("traceparent", "00-12345678901234567890123456789012-1234567890123456-.0")], "dot in flags"),
        (&[("traceparent", "00-12345678901234567890123456789012-1234567890123456-0.")], "dot in flags"),
        // suite: test_traceparent_trace_flags_too_long -- SDK fails (`001` parses as 1)
        (&[("traceparent", "00-12345678901234567890123456789012-1234567890123456-001")], "3-digit flags"),
        // suite: test_traceparent_trace_flags_too_short -- SDK fails (`1` parses as 1)
        (&[("traceparent", "00-12345678901234567890123456789012-1234567890123456-1")], "1-digit flags"),
        // not in the suite: an empty tail on version 00 -- the SDK accepts it
        (&[("traceparent", "00-12345678901234567890123456789012-1234567890123456-01-")], "version 00 with an empty tail"),
    ];
    for (pairs, reason) in cases {
        assert_eq!(extract(pairs), None, "{reason}: {pairs:?}");
    }
}

#[test]
fn random_flag_is_kept() {
    // Level 2 random flag -- SDK fails (masks flags to `sampled`).
    for (flags, sampled) in [("02", false), ("03", true)] {
        let value = format!("00-{TRACE_ID}-1234567890123456-{flags}");
        let span_context = extract(&[("traceparent", &value)]).expect("valid");
        assert_eq!(span_context.trace_flags().to_u8() & 0x02, 0x02, "{value}");
        assert_eq!(span_context.is_sampled(), sampled, "{value}");
    }
}

#[test]
fn tracestate_without_traceparent_is_discarded() {
    // suite: test_tracestate_included_traceparent_missing
    assert_eq!(extract(&[("tracestate", "foo=1")]), None);
    assert_eq!(extract(&[("tracestate", "foo=1,bar=2")]), None);
}

const TP_00: (&str, &str) = (
    "traceparent",
    "00-12345678901234567890123456789012-1234567890123456-00",
);

/// The `tracestate` sent on after `extra` came in with a valid `traceparent`: empty
/// when it was dropped. Checks that both extraction paths send the same.
fn tracestate_after(extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![TP_00];
    pairs.extend_from_slice(extra);
    let span_context = extract(&pairs).expect("the traceparent is always kept");
    assert_eq!(trace_id_of(&span_context), TRACE_ID);
    let map = headers(&pairs);
    let propagator = TraceContextPropagator::new();
    let sent = |cx: &Context| {
        let mut out = HeaderMap::new();
        propagator.inject_context(cx, &mut HeaderInjector(&mut out));
        out.get("tracestate")
            .map(|v| v.to_str().expect("ASCII").to_owned())
            .unwrap_or_default()
    };
    let fast = sent(&propagator.extract_from_headers(&Context::new(), &map));
    let via_trait = sent(&propagator.extract_with_context(&Context::new(), &HeaderExtractor(&map)));
    assert_eq!(fast, via_trait, "both paths send the same for {extra:?}");
    fast
}

#[test]
#[rustfmt::skip]
fn tracestate_is_inherited() {
    let key_256 = format!("{}=1", "z".repeat(256));
    let tenant_241 = format!("{}@{}=1", "t".repeat(241), "v".repeat(14));
    let tenant_242 = format!("{}@v=1", "t".repeat(242));
    let system_15 = format!("t@{}=1", "v".repeat(15));
    let members_32 = [
        "bar01=01,bar02=02,bar03=03,bar04=04,bar05=05,bar06=06,bar07=07,bar08=08,bar09=09,bar10=10",
        "bar11=11,bar12=12,bar13=13,bar14=14,bar15=15,bar16=16,bar17=17,bar18=18,bar19=19,bar20=20",
        "bar21=21,bar22=22,bar23=23,bar24=24,bar25=25,bar26=26,bar27=27,bar28=28,bar29=29,bar30=30",
        "bar31=31,bar32=32",
    ];
    let cases: Vec<(Headers<'_>, String, &str)> = vec![
        // suite: test_tracestate_included_traceparent_included
        (vec![("tracestate", "foo=1,bar=2")], "foo=1,bar=2".into(), "inherited"),
        // suite: test_tracestate_header_name_valid_casing
        (vec![("TraceState", "foo=1")], "foo=1".into(), "mixed-case name"),
        (vec![("TrAcEsTaTe", "foo=1")], "foo=1".into(), "mixed-case name"),
        (vec![("TRACESTATE", "foo=1")], "foo=1".into(), "uppercase name"),
        // suite: test_tracestate_empty_header
        (vec![("tracestate", "")], "".into(), "empty header accepted"),
        (vec![("tracestate", "foo=1"), ("tracestate", "")], "foo=1".into(), "empty second header"),
        (vec![("tracestate", ""), ("tracestate", "foo=1")], "foo=1".into(), "empty first header -- SDK fails (reads only the first)"),
        // suite: test_tracestate_multiple_headers_different_keys -- SDK fails (reads only the first)
        (vec![("tracestate", "foo=1,bar=2"), ("tracestate", "rojo=1,congo=2"), ("tracestate", "baz=3")],
         "foo=1,bar=2,rojo=1,congo=2,baz=3".into(), "combined in order"),
        // suite: test_tracestate_ows_handling
        (vec![("tracestate", "foo=1 \t , \t bar=2, \t baz=3")], "foo=1,bar=2,baz=3".into(), "OWS"),
        (vec![("tracestate", "foo=1\t \t,\t \tbar=2,\t \tbaz=3")], "foo=1,bar=2,baz=3".into(), "OWS with tabs"),
        (vec![("tracestate", " foo=1")], "foo=1".into(), "leading space"),
        (vec![("tracestate", "\tfoo=1")], "foo=1".into(), "leading tab"),
        (vec![("tracestate", "foo=1 ")], "foo=1".into(), "trailing space"),
        (vec![("tracestate", "foo=1\t")], "foo=1".into(), "trailing tab"),
        (vec![("tracestate", "\t foo=1 \t")], "foo=1".into(), "both"),
        // suite: test_tracestate_member_count_limit (first request) -- SDK fails (reads only the first header)
        (members_32.iter().map(|v| ("tracestate", *v)).collect(), members_32.join(","), "32 members over 4 headers"),
        // suite: test_tracestate_key_length_limit (first and third requests)
        (vec![("tracestate", "foo=1"), ("tracestate", key_256.as_str())], format!("foo=1,{key_256}"), "256-character key"),
        (vec![("tracestate", "foo=1"), ("tracestate", tenant_241.as_str())], format!("foo=1,{tenant_241}"), "241 characters, @, 14 characters"),
        (vec![("tracestate", "foo=1"), ("tracestate", tenant_242.as_str())], format!("foo=1,{tenant_242}"), "242 characters, @, 1 character"),
        (vec![("tracestate", "foo=1"), ("tracestate", system_15.as_str())], format!("foo=1,{system_15}"), "1 character, @, 15 characters"),
        // suite: test_tracestate_duplicated_keys: kept as they are, or one of them -- we keep the left-most
        (vec![("tracestate", "foo=1,foo=1")], "foo=1".into(), "duplicate key"),
        (vec![("tracestate", "foo=1,foo=2")], "foo=1".into(), "duplicate key, other value"),
        (vec![("tracestate", "foo=1"), ("tracestate", "foo=1")], "foo=1".into(), "duplicate key across headers"),
        (vec![("tracestate", "foo=1"), ("tracestate", "foo=2")], "foo=1".into(), "duplicate key across headers"),
        // suite: test_tracestate_key_illegal_vendor_format: `@` is a key character after the first
        (vec![("tracestate", "foo@=1,bar=2")], "foo@=1,bar=2".into(), "@ last"),
        (vec![("tracestate", "foo@@bar=1,bar=2")], "foo@@bar=1,bar=2".into(), "two @ in a row"),
        (vec![("tracestate", "foo@bar@baz=1,bar=2")], "foo@bar@baz=1,bar=2".into(), "two @"),
    ];
    for (extra, expected, reason) in cases {
        assert_eq!(tracestate_after(&extra), expected, "{reason}: {extra:?}");
    }
}

#[test]
fn members_opentelemetry_cannot_hold_stay_out_of_the_span_context_but_are_sent() {
    // opentelemetry's TraceState cannot hold a key with 14 characters after its `@`: the
    // span context holds the others, and the context carries the whole list.
    let long = format!("{}@{}=1", "t".repeat(241), "v".repeat(14));
    let span_context =
        extract(&[TP_00, ("tracestate", "foo=1"), ("tracestate", &long)]).expect("valid");
    assert_eq!(span_context.trace_state().header(), "foo=1");
    assert_eq!(
        tracestate_after(&[("tracestate", "foo=1"), ("tracestate", &long)]),
        format!("foo=1,{long}")
    );
}

#[test]
#[rustfmt::skip]
fn invalid_tracestate_is_dropped_and_traceparent_kept() {
    let key_257 = format!("{}=1", "z".repeat(257));
    let members_33 = [
        "bar01=01,bar02=02,bar03=03,bar04=04,bar05=05,bar06=06,bar07=07,bar08=08,bar09=09,bar10=10",
        "bar11=11,bar12=12,bar13=13,bar14=14,bar15=15,bar16=16,bar17=17,bar18=18,bar19=19,bar20=20",
        "bar21=21,bar22=22,bar23=23,bar24=24,bar25=25,bar26=26,bar27=27,bar28=28,bar29=29,bar30=30",
        "bar31=31,bar32=32,bar33=33",
    ];
    let cases: Vec<(Headers<'_>, &str)> = vec![
        // suite: test_tracestate_header_name
        (vec![("trace-state", "foo=1")], "wrong name trace-state"),
        (vec![("trace.state", "foo=1")], "wrong name trace.state"),
        // suite: test_tracestate_key_illegal_characters
        (vec![("tracestate", "foo =1")], "space in key"),
        (vec![("tracestate", "FOO=1")], "uppercase key"),
        (vec![("tracestate", "foo.bar=1")], "dot in key"),
        // suite: test_tracestate_key_illegal_vendor_format
        (vec![("tracestate", "@foo=1,bar=2")], "a key starting with @"),
        // suite: test_tracestate_member_count_limit (second request)
        (members_33.iter().map(|v| ("tracestate", *v)).collect(), "33 members over 4 headers"),
        // suite: test_tracestate_key_length_limit (second request) -- SDK fails (reads only the first header)
        (vec![("tracestate", "foo=1"), ("tracestate", key_257.as_str())], "257-character key"),
        // suite: test_tracestate_value_illegal_characters -- SDK fails (accepts an empty value)
        (vec![("tracestate", "foo=bar=baz")], "= in value"),
        (vec![("tracestate", "foo=,bar=3")], "empty value"),
    ];
    for (extra, reason) in cases {
        assert_eq!(tracestate_after(&extra), "", "{reason}: {extra:?}");
    }
}

#[test]
fn all_allowed_characters_are_inherited() {
    // suite: test_tracestate_all_allowed_characters
    let mut key: String = ('a'..='z').collect();
    key.push_str("0123456789_-*/");
    let value: String = (0x20u8..=0x7e)
        .filter(|c| *c != b',' && *c != b'=')
        .map(char::from)
        .collect();
    // A header value cannot end in a space, so the value ends in `~`: no trimming applies.
    for key in [key.clone(), format!("{key}@a-z0-9_-*/")] {
        let member = format!("{key}={value}");
        let span_context = extract(&[TP_00, ("tracestate", &member)]).expect("valid");
        assert_eq!(span_context.trace_state().get(&key), Some(value.as_str()));
    }
}

#[test]
fn non_ascii_tracestate_header_is_dropped() {
    let mut map = headers(&[TP_00, ("tracestate", "foo=1")]);
    map.append(
        "tracestate",
        HeaderValue::from_bytes(b"bar=\xe9").expect("obs-text is allowed in header values"),
    );
    let span_context = TraceContextPropagator::new()
        .extract_span_context_from_headers(&map)
        .expect("traceparent kept");
    assert_eq!(span_context.trace_state().header(), "");
}
