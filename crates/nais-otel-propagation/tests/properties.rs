//! Property tests: format then parse round-trips, and no input panics.
//!
//! Stable Rust has no `cargo fuzz`, so the arbitrary-input properties run with a
//! high case count instead (set `PROPTEST_CASES` to raise it further).

use http::{HeaderMap, HeaderValue};
use nais_otel_propagation::{
    extract_with_context, format_baggage, parse_baggage, TraceContextPropagator, TraceParent,
    W3cTraceState,
};
use opentelemetry::baggage::Baggage;
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use opentelemetry::Context;
use proptest::prelude::*;

const FUZZ_CASES: u32 = 2_000;

fn key_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_*/-]{0,40}",
        "[a-z0-9][a-z0-9_*/-]{0,30}@[a-z][a-z0-9_*/-]{0,12}",
    ]
}

fn value_strategy() -> impl Strategy<Value = String> {
    // 0x20..=0x7e without `,` and `=`, not ending in a space.
    "[ -+\\--<>-~]{0,40}[!-+\\--<>-~]"
}

proptest! {
    #[test]
    fn traceparent_round_trips(trace_id in 1u128.., span_id in 1u64.., flags in 0u8..=3) {
        let tp = TraceParent::new(TraceId::from(trace_id), SpanId::from(span_id), TraceFlags::new(flags))
            .expect("non-zero ids");
        let text = tp.to_string();
        prop_assert_eq!(text.len(), 55);
        prop_assert_eq!(text.parse::<TraceParent>(), Ok(tp));
    }

    #[test]
    fn tracestate_round_trips(members in proptest::collection::vec((key_strategy(), value_strategy()), 0..=32)) {
        let mut unique: Vec<(String, String)> = Vec::new();
        for (k, v) in members {
            if !unique.iter().any(|(uk, _)| *uk == k) {
                unique.push((k, v));
            }
        }
        let text = unique.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
        let state: W3cTraceState = text.parse().map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(state.to_string(), text.clone());
        prop_assert_eq!(state.len(), unique.len());
        let reparsed: W3cTraceState = state.to_string().parse().expect("formatted state parses");
        prop_assert_eq!(reparsed, state);
    }

    #[test]
    fn tracestate_truncation_respects_limit(members in proptest::collection::vec((key_strategy(), value_strategy()), 0..=32), max_len in 0usize..600) {
        let text = members.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
        if let Ok(mut state) = text.parse::<W3cTraceState>() {
            state.truncate(max_len);
            prop_assert!(state.header_len() <= max_len);
        }
    }

    #[test]
    fn baggage_round_trips(entries in proptest::collection::vec(("[a-zA-Z0-9!#$&'*+.^_`|~-]{1,20}", "\\PC{0,30}"), 0..20)) {
        let mut baggage = Baggage::new();
        for (k, v) in &entries {
            baggage.insert(k.clone(), v.clone());
        }
        let header = format_baggage(&baggage);
        let back = parse_baggage([header.as_str()]);
        prop_assert_eq!(back.len(), baggage.len());
        for (k, (v, _)) in &baggage {
            prop_assert_eq!(back.get(k.as_str()), Some(v));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(FUZZ_CASES))]

    #[test]
    fn traceparent_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = TraceParent::from_bytes(&bytes);
    }

    #[test]
    fn traceparent_never_panics_on_near_valid_strings(s in "[0-9a-fA-F \t.-]{0,70}") {
        if let Ok(tp) = s.parse::<TraceParent>() {
            // Anything accepted has valid ids and formats as 55 characters.
            prop_assert_eq!(tp.to_string().len(), 55);
        }
    }

    #[test]
    fn tracestate_never_panics(values in proptest::collection::vec("\\PC{0,120}", 0..4)) {
        let _ = W3cTraceState::from_header_values(values.iter().map(String::as_str));
    }

    #[test]
    fn tracestate_never_panics_on_grammar_chars(s in "[a-z0-9@=, \t*/_-]{0,300}") {
        if let Ok(state) = s.parse::<W3cTraceState>() {
            prop_assert!(state.len() <= 32);
        }
    }

    #[test]
    fn baggage_never_panics(values in proptest::collection::vec("\\PC{0,200}", 0..4)) {
        let baggage = parse_baggage(values.iter().map(String::as_str));
        prop_assert!(baggage.len() <= 64);
        prop_assert!(format_baggage(&baggage).len() <= 8192);
    }

    #[test]
    fn baggage_never_panics_on_percent_soup(s in "[%0-9a-fA-F=,; ]{0,200}") {
        let _ = parse_baggage([s.as_str()]);
    }

    #[test]
    fn header_extraction_never_panics_on_bytes(
        traceparent in proptest::collection::vec(any::<u8>(), 0..80),
        tracestate in proptest::collection::vec(any::<u8>(), 0..200),
        baggage in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut headers = HeaderMap::new();
        for (name, bytes) in [("traceparent", &traceparent), ("tracestate", &tracestate), ("baggage", &baggage)] {
            if let Ok(value) = HeaderValue::from_bytes(bytes) {
                headers.append(name, value);
            }
        }
        let _ = TraceContextPropagator::new().extract_span_context_from_headers(&headers);
        let _ = extract_with_context(&Context::new(), &headers);
    }
}

#[test]
fn long_hostile_headers_are_handled() {
    // Many empty members and a huge header must neither panic nor blow up.
    let commas = ",".repeat(1_000_000);
    assert!(W3cTraceState::from_header_values([commas.as_str()]).is_ok());
    let members = "a=1,".repeat(100_000);
    assert!(W3cTraceState::from_header_values([members.as_str()]).is_err());
    let baggage = "k=v,".repeat(100_000);
    assert_eq!(parse_baggage([baggage.as_str()]).len(), 1);
    let long = format!(
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-{}",
        "x".repeat(1_000_000)
    );
    assert!(long.parse::<TraceParent>().is_ok());
}
