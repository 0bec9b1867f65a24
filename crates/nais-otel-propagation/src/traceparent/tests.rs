//! The `traceparent` parser and formatter against the spec's rules.

use super::*;

const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
#[rustfmt::skip]
fn valid() {
    // (value, version, flags, reason)
    let cases: &[(&str, u8, u8, &str)] = &[
        (TP,                                                                         0x00, 0x01, "version 00, sampled"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",                  0x00, 0x00, "not sampled"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02",                  0x00, 0x02, "random flag kept (the SDK drops it)"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",                  0x00, 0x03, "sampled and random kept"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff",                  0x00, 0x03, "reserved flag bits set to zero"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09",                  0x00, 0x01, "reserved bit 0x08 cleared"),
        ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",                  0xcc, 0x01, "higher version, exactly 55 chars"),
        ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future", 0xcc, 0x01, "higher version with a dash-led tail"),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-",                0x01, 0x03, "higher version, empty tail after dash"),
        ("fe-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe",                  0xfe, 0x02, "highest allowed version, reserved bits cleared"),
    ];
    for (value, version, flags, reason) in cases {
        let tp: TraceParent = value.parse().unwrap_or_else(|e| panic!("{reason}: {value:?}: {e}"));
        assert_eq!(tp.version(), *version, "{reason}");
        assert_eq!(tp.flags().to_u8(), *flags, "{reason}");
        assert_eq!(format!("{:032x}", tp.trace_id()), "4bf92f3577b34da6a3ce929d0e0e4736", "{reason}");
        assert_eq!(format!("{:016x}", tp.parent_id()), "00f067aa0ba902b7", "{reason}");
        assert_eq!(TraceParent::from_bytes(value.as_bytes()), Ok(tp), "{reason}: bytes and str agree");
        assert!(tp.to_string().starts_with("00-"), "{reason}: always written as version 00");
    }
}

#[test]
#[rustfmt::skip]
fn invalid() {
    use TraceParentErrorKind as K;
    let tail_56 = format!("{TP}.");
    let cases: &[(&str, K, &str)] = &[
        ("",                                                              K::Version,          "empty"),
        ("00",                                                            K::Version,          "version only"),
        (".0-12345678901234567890123456789012-1234567890123456-01",       K::Version,          "illegal character in version (suite: version_illegal_characters)"),
        ("0.-12345678901234567890123456789012-1234567890123456-01",       K::Version,          "illegal character in version (suite: version_illegal_characters)"),
        ("000-12345678901234567890123456789012-1234567890123456-01",      K::Version,          "version too long (suite: version_too_long)"),
        ("0000-12345678901234567890123456789012-1234567890123456-01",     K::Version,          "version too long (suite: version_too_long)"),
        ("0-12345678901234567890123456789012-1234567890123456-01",        K::Version,          "version too short (suite: version_too_short)"),
        ("A0-12345678901234567890123456789012-1234567890123456-01",       K::Version,          "uppercase version"),
        ("ff-12345678901234567890123456789012-1234567890123456-01",       K::ForbiddenVersion, "version ff (suite: version_0xff)"),
        (&tail_56,                                                        K::Length,           "version 00 with a trailing character (suite: version_0x00)"),
        ("00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like", K::Length, "version 00 with a tail (suite: version_0x00)"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",      K::Length,           "version 00 with an empty tail (the SDK accepts it)"),
        ("cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like", K::Length, "higher version, tail not led by a dash (suite: version_0xcc)"),
        ("cc-12345678901234567890123456789012-1234567890123456-1",        K::Length,           "higher version shorter than 55"),
        ("00-00000000000000000000000000000000-1234567890123456-01",       K::ZeroTraceId,      "all-zero trace-id (suite: trace_id_all_zero)"),
        ("00-.2345678901234567890123456789012-1234567890123456-01",       K::TraceId,          "illegal character in trace-id (suite: trace_id_illegal_characters)"),
        ("00-1234567890123456789012345678901.-1234567890123456-01",       K::TraceId,          "illegal character in trace-id (suite: trace_id_illegal_characters)"),
        ("00-123456789012345678901234567890123-1234567890123456-01",      K::Length,           "trace-id too long (suite: trace_id_too_long)"),
        ("00-1234567890123456789012345678901-1234567890123456-01",        K::Length,           "trace-id too short (suite: trace_id_too_short)"),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",       K::TraceId,          "uppercase trace-id"),
        ("00-12345678901234567890123456789012-0000000000000000-01",       K::ZeroParentId,     "all-zero parent-id (suite: parent_id_all_zero)"),
        ("00-12345678901234567890123456789012-.234567890123456-01",       K::ParentId,         "illegal character in parent-id (suite: parent_id_illegal_characters)"),
        ("00-12345678901234567890123456789012-123456789012345.-01",       K::ParentId,         "illegal character in parent-id (suite: parent_id_illegal_characters)"),
        ("00-12345678901234567890123456789012-12345678901234567-01",      K::Length,           "parent-id too long (suite: parent_id_too_long)"),
        ("00-12345678901234567890123456789012-123456789012345-01",        K::Length,           "parent-id too short (suite: parent_id_too_short)"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",       K::ParentId,         "uppercase parent-id"),
        ("00-12345678901234567890123456789012-1234567890123456-.0",       K::Flags,            "illegal character in flags (suite: trace_flags_illegal_characters)"),
        ("00-12345678901234567890123456789012-1234567890123456-0.",       K::Flags,            "illegal character in flags (suite: trace_flags_illegal_characters)"),
        ("00-12345678901234567890123456789012-1234567890123456-001",      K::Length,           "flags too long (suite: trace_flags_too_long)"),
        ("00-12345678901234567890123456789012-1234567890123456-1",        K::Length,           "flags too short (suite: trace_flags_too_short)"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",       K::Flags,            "uppercase flags"),
        ("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",       K::Version,          "wrong first delimiter"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",       K::Delimiter,        "wrong second delimiter"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",       K::Delimiter,        "wrong third delimiter"),
        (" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",      K::Version,          "the parser itself does not trim OWS (the propagator does)"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\u{e9}", K::Length,           "non-ASCII tail"),
    ];
    for (value, kind, reason) in cases {
        let err = value.parse::<TraceParent>().expect_err(reason);
        assert_eq!(err.kind(), *kind, "{reason}: {value:?}");
        assert!(err.to_string().starts_with("invalid traceparent: "));
    }
}

#[test]
fn new_rejects_invalid_ids_and_clears_reserved_flags() {
    let (trace_id, span_id) = (TraceId::from(1u128), SpanId::from(2u64));
    assert!(TraceParent::new(TraceId::INVALID, span_id, TraceFlags::SAMPLED).is_none());
    assert!(TraceParent::new(trace_id, SpanId::INVALID, TraceFlags::SAMPLED).is_none());
    let tp = TraceParent::new(trace_id, span_id, TraceFlags::new(0xff)).expect("valid ids");
    assert_eq!(tp.flags().to_u8(), 0x03);
    assert_eq!(
        tp.to_string(),
        "00-00000000000000000000000000000001-0000000000000002-03"
    );
}

#[test]
fn span_context_conversion_keeps_flags_and_state() {
    let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02"
        .parse()
        .expect("valid");
    let state = TraceState::from_key_value([("a", "1")]).expect("valid state");
    let span_context = tp.to_remote_span_context(state.clone());
    assert!(span_context.is_remote());
    assert!(!span_context.is_sampled());
    assert_eq!(span_context.trace_flags().to_u8(), 0x02);
    assert_eq!(span_context.trace_state(), &state);
    assert_eq!(TraceParent::from_span_context(&span_context), Some(tp));
    assert_eq!(TraceParent::from_span_context(&SpanContext::NONE), None);
}
