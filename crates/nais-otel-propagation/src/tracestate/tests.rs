//! The `tracestate` parser, formatter and context carrying against the spec's rules.

use opentelemetry::trace::{SpanContext, TraceContextExt, TraceId};
use opentelemetry::Context;

use super::context::otel_can_hold;
use super::*;

fn all_key_chars() -> String {
    // suite: tracestate_all_allowed_characters
    let mut key: String = ('a'..='z').collect();
    key.push_str("0123456789_-*/");
    key
}

fn all_value_chars() -> String {
    (0x20u8..=0x7e)
        .filter(|c| *c != b',' && *c != b'=')
        .map(char::from)
        .collect()
}

#[test]
#[rustfmt::skip]
fn valid() {
    let key = all_key_chars();
    let value = all_value_chars();
    let all_simple = format!("{key}={value}");
    let all_tenant = format!("{key}@a-z0-9_-*/={value}");
    let key_256 = format!("{}=1", "z".repeat(256));
    let tenant_241_system_14 = format!("{}@{}=1", "t".repeat(241), "v".repeat(14));
    let value_256 = format!("foo={}", "v".repeat(256));
    let members_32: Vec<String> = (1..=32).map(|i| format!("bar{i:02}={i:02}")).collect();
    let members_32 = members_32.join(",");
    let tenant_242 = format!("{}@v=1", "t".repeat(242));
    let system_15 = format!("t@{}=1", "v".repeat(15));
    // (headers, expected members as "k=v" joined by ",", reason)
    let cases: Vec<(Vec<&str>, String, &str)> = vec![
        (vec!["foo=1,bar=2"],                       "foo=1,bar=2".into(),            "two members (suite: tracestate_included_traceparent_included)"),
        (vec![""],                                  "".into(),                       "empty header (suite: tracestate_empty_header)"),
        (vec!["foo=1", ""],                         "foo=1".into(),                  "empty second header (suite: tracestate_empty_header)"),
        (vec!["", "foo=1"],                         "foo=1".into(),                  "empty first header (suite: tracestate_empty_header)"),
        (vec!["foo=1,bar=2", "rojo=1,congo=2", "baz=3"], "foo=1,bar=2,rojo=1,congo=2,baz=3".into(), "headers combined in order (suite: tracestate_multiple_headers_different_keys)"),
        (vec![&all_simple],                         all_simple.clone(),              "every allowed character, simple key (suite: tracestate_all_allowed_characters)"),
        (vec![&all_tenant],                         all_tenant.clone(),              "every allowed character, tenant key (suite: tracestate_all_allowed_characters)"),
        (vec!["foo=1 \t , \t bar=2, \t baz=3"],     "foo=1,bar=2,baz=3".into(),      "OWS around members (suite: tracestate_ows_handling)"),
        (vec!["foo=1\t \t,\t \tbar=2,\t \tbaz=3"],  "foo=1,bar=2,baz=3".into(),      "tabs around members (suite: tracestate_ows_handling)"),
        (vec![" foo=1"],                            "foo=1".into(),                  "leading space (suite: tracestate_ows_handling)"),
        (vec!["\tfoo=1"],                           "foo=1".into(),                  "leading tab (suite: tracestate_ows_handling)"),
        (vec!["foo=1 "],                            "foo=1".into(),                  "trailing space (suite: tracestate_ows_handling)"),
        (vec!["foo=1\t"],                           "foo=1".into(),                  "trailing tab (suite: tracestate_ows_handling)"),
        (vec!["\t foo=1 \t"],                       "foo=1".into(),                  "both (suite: tracestate_ows_handling)"),
        (vec![",,foo=1,, ,\t,bar=2,"],              "foo=1,bar=2".into(),            "empty list-members ignored"),
        (vec!["foo= 1"],                            "foo= 1".into(),                 "a value may start with a space"),
        (vec![&key_256],                            key_256.clone(),                 "256-character key (suite: tracestate_key_length_limit)"),
        (vec![&tenant_241_system_14],               tenant_241_system_14.clone(),    "241-char tenant, 14-char system (suite: tracestate_key_length_limit)"),
        (vec![&value_256],                          value_256.clone(),               "256-character value"),
        (vec![&members_32],                         members_32.clone(),              "32 members (suite: tracestate_member_count_limit)"),
        (vec!["0@a=1"],                             "0@a=1".into(),                  "a key may start with a digit"),
        (vec!["1foo=1"],                            "1foo=1".into(),                 "a key without @ may start with a digit"),
        (vec!["t@1v=1"],                            "t@1v=1".into(),                 "any key character after @"),
        (vec!["foo=1,foo=1"],                       "foo=1".into(),                  "same key twice: the left-most kept (suite: tracestate_duplicated_keys)"),
        (vec!["foo=1,foo=2"],                       "foo=1".into(),                  "same key, other value (suite: tracestate_duplicated_keys)"),
        (vec!["foo=1", "foo=1"],                    "foo=1".into(),                  "same key across headers (suite: tracestate_duplicated_keys)"),
        (vec!["foo=1", "foo=2"],                    "foo=1".into(),                  "same key across headers (suite: tracestate_duplicated_keys)"),
        (vec!["foo@=1,bar=2"],                      "foo@=1,bar=2".into(),           "@ last (suite: tracestate_key_illegal_vendor_format)"),
        (vec!["foo@@bar=1,bar=2"],                  "foo@@bar=1,bar=2".into(),       "two @ in a row (suite: tracestate_key_illegal_vendor_format)"),
        (vec!["foo@bar@baz=1,bar=2"],               "foo@bar@baz=1,bar=2".into(),    "two @ (suite: tracestate_key_illegal_vendor_format)"),
        (vec![&tenant_242],                         tenant_242.clone(),              "242 characters before @ (suite: tracestate_key_length_limit)"),
        (vec![&system_15],                          system_15.clone(),               "15 characters after @ (suite: tracestate_key_length_limit)"),
    ];
    for (headers, expected, reason) in cases {
        let state = W3cTraceState::from_header_values(headers.iter().copied())
            .unwrap_or_else(|e| panic!("{reason}: {headers:?}: {e}"));
        assert_eq!(state.to_string(), expected, "{reason}");
    }
}

#[test]
#[rustfmt::skip]
fn invalid() {
    use TraceStateErrorKind as K;
    let key_257 = format!("{}=1", "z".repeat(257));
    let tenant_255 = format!("{}@=1", "t".repeat(256));
    let value_257 = format!("foo={}", "v".repeat(257));
    let members_33: Vec<String> = (1..=33).map(|i| format!("bar{i:02}={i:02}")).collect();
    let members_33 = members_33.join(",");
    let cases: Vec<(Vec<&str>, K, &str)> = vec![
        (vec!["foo =1"],                   K::Key,            "space inside the key (suite: tracestate_key_illegal_characters)"),
        (vec!["FOO=1"],                    K::Key,            "uppercase key (suite: tracestate_key_illegal_characters)"),
        (vec!["foo.bar=1"],                K::Key,            "dot in key (suite: tracestate_key_illegal_characters)"),
        (vec!["@foo=1,bar=2"],             K::Key,            "key starting with @ (suite: tracestate_key_illegal_vendor_format)"),
        (vec!["_foo=1"],                   K::Key,            "key starting with _"),
        (vec!["foo=1", &key_257],          K::Key,            "257-character key (suite: tracestate_key_length_limit)"),
        (vec!["foo=1", &tenant_255],       K::Key,            "257-character key with @"),
        (vec!["foo=1,foo=2,=3"],           K::Key,            "empty key"),
        (vec!["foo=bar=baz"],              K::Value,          "= in value (suite: tracestate_value_illegal_characters)"),
        (vec!["foo=,bar=3"],               K::Value,          "empty value (suite: tracestate_value_illegal_characters)"),
        (vec![&value_257],                 K::Value,          "257-character value"),
        (vec!["foo=a\tb"],                 K::Value,          "tab inside value"),
        (vec!["foo=caf\u{e9}"],            K::Value,          "non-ASCII value"),
        (vec!["foo"],                      K::MissingEquals,  "no equals sign"),
        (vec![&members_33],                K::TooManyMembers, "33 members (suite: tracestate_member_count_limit)"),
        (vec![&members_33[..members_33.len() - 9], "bar33=33"], K::TooManyMembers, "33 members across headers"),
    ];
    for (headers, kind, reason) in cases {
        let err = W3cTraceState::from_header_values(headers.iter().copied()).expect_err(reason);
        assert_eq!(err.kind(), kind, "{reason}");
    }
}

#[test]
fn truncation_removes_large_members_first_then_from_the_end() {
    let big = "b".repeat(200);
    let mut state: W3cTraceState = format!(
        "a1={},big1={big},a2={},big2={big},a3={}",
        "x".repeat(50),
        "y".repeat(50),
        "z".repeat(50)
    )
    .parse()
    .expect("valid");
    assert!(state.header_len() > MAX_SEND_LEN);
    state.truncate(MAX_SEND_LEN);
    // Removing big2 (right-most large member) is enough: 53+205+53+53+3 = 367.
    let keys: Vec<&str> = state.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["a1", "big1", "a2", "a3"]);
    assert!(state.header_len() <= MAX_SEND_LEN);

    // Without large members, entries go from the end.
    let small: Vec<String> = (0..32)
        .map(|i| format!("k{i:02}={}", "v".repeat(20)))
        .collect();
    let mut state: W3cTraceState = small.join(",").parse().expect("valid");
    state.truncate(MAX_SEND_LEN);
    assert!(state.header_len() <= MAX_SEND_LEN);
    assert_eq!(state.iter().next().map(|(k, _)| k), Some("k00"));
    assert_eq!(state.len(), 20, "20 members of 24 chars + 19 commas = 499");
}

#[test]
fn insert_moves_to_the_front_and_keeps_32_members() {
    let members: Vec<String> = (0..32).map(|i| format!("k{i:02}=v")).collect();
    let mut state: W3cTraceState = members.join(",").parse().expect("valid");
    state.insert("k05", "new").expect("valid member");
    assert_eq!(state.iter().next(), Some(("k05", "new")));
    assert_eq!(state.len(), 32);
    state.insert("fresh", "1").expect("valid member");
    assert_eq!(state.len(), 32);
    assert_eq!(state.iter().next(), Some(("fresh", "1")));
    assert_eq!(state.get("k31"), None, "right-most member removed");
    assert_eq!(
        state.insert("BAD", "1").map_err(|e| e.kind()),
        Err(TraceStateErrorKind::Key)
    );
    assert_eq!(
        state.insert("ok", "a=b").map_err(|e| e.kind()),
        Err(TraceStateErrorKind::Value)
    );
    assert_eq!(state.remove("fresh").as_deref(), Some("1"));
    assert_eq!(state.remove("fresh"), None);
}

#[test]
fn sending_header_drops_invalid_members() {
    // opentelemetry's TraceState accepts values with any character but `,` and `=`,
    // and empty ones; the spec does not.
    let otel = TraceState::from_key_value([
        ("tab", "a\tb"),
        ("ok", "1"),
        ("latin", "caf\u{e9}"),
        ("space", "x "),
        ("empty", ""),
    ])
    .expect("otel accepts");
    assert_eq!(header_for_sending(&otel), "ok=1");
}

#[test]
fn otel_conversion_keeps_order_and_skips_unrepresentable_keys() {
    let state: W3cTraceState = format!("a=1,t@{}=2,b=3,foo@@bar=4,c=5", "v".repeat(14))
        .parse()
        .expect("valid");
    let otel = state.to_trace_state();
    assert_eq!(otel.header(), "a=1,b=3,c=5");
    assert_eq!(
        W3cTraceState::from_trace_state(&otel).to_string(),
        "a=1,b=3,c=5"
    );
}

/// Every key of up to four characters from an alphabet that covers each rule, and
/// longer keys around the limits: `otel_can_hold` agrees with opentelemetry's own check.
#[test]
fn otel_can_hold_agrees_with_opentelemetry_on_generated_keys() {
    let alphabet = ['a', 'z', '0', '9', '_', '-', '*', '/', '@'];
    let mut keys: Vec<String> = vec![String::new()];
    let mut frontier = keys.clone();
    for _ in 0..4 {
        frontier = frontier
            .iter()
            .flat_map(|k| alphabet.iter().map(move |c| format!("{k}{c}")))
            .collect();
        keys.extend(frontier.iter().cloned());
    }
    for before in [1, 200, 241, 242, 255] {
        for after in 0..=16 {
            let body = "v".repeat(after);
            keys.push(format!("{}@{body}", "t".repeat(before)));
            keys.push(format!("{}@_{body}", "t".repeat(before)));
        }
    }
    let mut checked = 0;
    for key in keys.iter().filter(|k| is_valid_key(k)) {
        let otel = TraceState::from_key_value([(key.as_str(), "1")]).is_ok();
        assert_eq!(otel_can_hold(key), otel, "{key:?}");
        checked += 1;
    }
    assert!(checked > 3000, "only {checked} valid keys generated");
}

fn cx_with(headers: &[&str]) -> Context {
    let (held, all) = parse_for_context(headers.iter().copied());
    let sc = SpanContext::new(
        TraceId::from(0x1234),
        opentelemetry::trace::SpanId::from(0x42),
        opentelemetry::trace::TraceFlags::SAMPLED,
        true,
        held,
    );
    with_remote(&Context::new(), sc, all)
}

#[test]
fn members_trace_state_cannot_hold_are_sent_from_the_context() {
    let long_after = format!("t@{}", "v".repeat(15));
    let header = format!("foo=1,foo@@bar=2,{long_after}=3,bar=4");
    let cx = cx_with(&[&header]);
    let span = cx.span();
    let sc = span.span_context();
    assert_eq!(sc.trace_state().header(), "foo=1,bar=4");
    assert_eq!(header_for_context(sc, &cx), header);

    // A child span of the same trace (same trace state) sends them too.
    let child = SpanContext::new(
        sc.trace_id(),
        opentelemetry::trace::SpanId::from(0x43),
        sc.trace_flags(),
        false,
        sc.trace_state().clone(),
    );
    let child_cx = cx.with_remote_span_context(child.clone());
    assert_eq!(header_for_context(&child, &child_cx), header);

    // A sampler that changed the trace state: its members first, then those it could not hold.
    let changed = sc.trace_state().insert("new", "5").expect("valid");
    let changed = SpanContext::new(
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags(),
        false,
        changed,
    );
    assert_eq!(
        header_for_context(&changed, &cx.with_remote_span_context(changed.clone())),
        format!("new=5,foo=1,bar=4,foo@@bar=2,{long_after}=3")
    );

    // Another trace does not get them.
    let other = SpanContext::new(
        TraceId::from(0x99),
        sc.span_id(),
        sc.trace_flags(),
        false,
        sc.trace_state().clone(),
    );
    assert_eq!(header_for_context(&other, &cx), "foo=1,bar=4");
}

#[test]
fn a_trace_state_opentelemetry_holds_whole_carries_nothing_extra() {
    let (held, all) = parse_for_context(["foo=1,bar@baz=2"]);
    assert_eq!(held.header(), "foo=1,bar@baz=2");
    assert!(all.is_none());
    let (held, all) = parse_for_context(["foo=1,FOO=2"]);
    assert_eq!(held, TraceState::NONE);
    assert!(all.is_none());
}
