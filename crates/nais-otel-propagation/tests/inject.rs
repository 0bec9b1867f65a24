//! Injection: what the propagators write, from the current span of a `Context`.

use std::collections::HashMap;

use http::HeaderMap;
use nais_otel_propagation::{
    current_traceparent, extract_with_context, inject, BaggagePropagator, HeaderInjector,
    RecordHeadersExtractor, RecordHeadersInjector, TraceContextPropagator, W3cPropagator,
    MAX_SEND_LEN,
};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};

fn span_context(flags: u8, trace_state: TraceState) -> SpanContext {
    SpanContext::new(
        TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
        SpanId::from(0x00f0_67aa_0ba9_02b7),
        TraceFlags::new(flags),
        true,
        trace_state,
    )
}

fn cx_with(span_context: SpanContext) -> Context {
    Context::new().with_remote_span_context(span_context)
}

#[test]
fn writes_the_span_context_of_the_given_context_with_all_flags() {
    for (flags, written) in [
        (0x00, "00"),
        (0x01, "01"),
        (0x02, "02"),
        (0x03, "03"),
        (0xff, "03"),
    ] {
        let mut carrier = HashMap::new();
        TraceContextPropagator::new().inject_context(
            &cx_with(span_context(flags, TraceState::NONE)),
            &mut carrier,
        );
        assert_eq!(
            carrier.get("traceparent").map(String::as_str),
            Some(
                format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{written}").as_str()
            ),
            "flags {flags:#04x}: reserved bits are written as zero"
        );
        assert!(
            !carrier.contains_key("tracestate"),
            "no empty tracestate is sent"
        );
    }
}

#[test]
fn writes_nothing_without_a_valid_span() {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&Context::new(), &mut carrier);
    assert!(carrier.is_empty());
}

#[test]
fn inject_uses_the_given_context_not_the_current_one() {
    let attached = cx_with(span_context(1, TraceState::NONE));
    let _guard = attached.attach();
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&Context::new(), &mut carrier);
    assert!(carrier.is_empty());
}

#[test]
fn tracestate_is_cut_to_512_characters_on_sending() {
    let big = "b".repeat(200);
    let small = "s".repeat(100);
    let state = TraceState::from_key_value([
        ("a", small.as_str()),
        ("big", big.as_str()),
        ("c", small.as_str()),
        ("d", small.as_str()),
        ("e", small.as_str()),
        ("f", small.as_str()),
    ])
    .expect("valid");
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx_with(span_context(1, state)), &mut carrier);
    let sent = carrier.get("tracestate").expect("tracestate sent");
    assert!(sent.len() <= MAX_SEND_LEN, "{}", sent.len());
    // 5 members of 102 characters and 4 commas = 514 > 512 even without `big`,
    // so after the large member goes, the last one does too.
    let keys: Vec<&str> = sent
        .split(',')
        .filter_map(|m| m.split('=').next())
        .collect();
    assert_eq!(keys, ["a", "c", "d", "e"]);
}

#[test]
fn round_trip_through_http_headers_with_baggage() {
    let state =
        TraceState::from_key_value([("congo", "t61rcWkgMzE"), ("rojo", "00f067aa0ba902b7")])
            .expect("valid");
    let cx =
        cx_with(span_context(3, state.clone())).with_baggage([KeyValue::new("user", "Jürgen, Ø")]);
    let mut headers = HeaderMap::new();
    inject(&cx, &mut headers);
    assert_eq!(
        headers["tracestate"],
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    );

    let back = extract_with_context(&Context::new(), &headers);
    let back_span = back.span();
    let got = back_span.span_context();
    assert_eq!(got.trace_id(), cx.span().span_context().trace_id());
    assert_eq!(got.span_id(), cx.span().span_context().span_id());
    assert_eq!(got.trace_flags().to_u8(), 3);
    assert_eq!(got.trace_state(), &state);
    assert_eq!(
        back.baggage().get("user").map(|v| v.as_str()),
        Some("Jürgen, Ø")
    );
}

#[test]
fn record_headers_round_trip_and_replace() {
    let cx = cx_with(span_context(1, TraceState::NONE));
    let mut record: Vec<(String, Vec<u8>)> = vec![
        ("traceparent".to_owned(), b"stale".to_vec()),
        ("key".to_owned(), b"value".to_vec()),
    ];
    W3cPropagator::new().inject_context(&cx, &mut RecordHeadersInjector(&mut record));
    assert_eq!(record.iter().filter(|(k, _)| k == "traceparent").count(), 1);
    let got = TraceContextPropagator::new()
        .extract_span_context(&RecordHeadersExtractor(&record))
        .expect("valid");
    assert_eq!(&got, cx.span().span_context());

    // A repeated traceparent in record headers is seen and rejected.
    record.push((
        "traceparent".to_owned(),
        b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec(),
    ));
    assert_eq!(
        TraceContextPropagator::new().extract_span_context(&RecordHeadersExtractor(&record)),
        None
    );
}

#[test]
fn invalid_traceparent_keeps_the_parent_context() {
    let parent = cx_with(span_context(1, TraceState::NONE));
    let mut carrier = HashMap::new();
    carrier.insert("traceparent".to_owned(), "00-garbage".to_owned());
    let cx = W3cPropagator::new().extract_with_context(&parent, &carrier);
    assert_eq!(cx.span().span_context(), parent.span().span_context());
}

#[test]
fn current_traceparent_follows_the_attached_context() {
    assert_eq!(current_traceparent(), None);
    let _guard = cx_with(span_context(2, TraceState::NONE)).attach();
    assert_eq!(
        current_traceparent().as_deref(),
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02")
    );
}

#[test]
fn fields_list_the_header_names() {
    let (w3c, trace_context, baggage) = (
        W3cPropagator::new(),
        TraceContextPropagator::new(),
        BaggagePropagator::new(),
    );
    let fields: Vec<&str> = w3c.fields().collect();
    assert_eq!(fields, ["traceparent", "tracestate", "baggage"]);
    let fields: Vec<&str> = trace_context.fields().collect();
    assert_eq!(fields, ["traceparent", "tracestate"]);
    let fields: Vec<&str> = baggage.fields().collect();
    assert_eq!(fields, ["baggage"]);
}

#[test]
fn header_injector_is_usable_with_the_trait() {
    let mut headers = HeaderMap::new();
    TraceContextPropagator::new().inject_context(
        &cx_with(span_context(1, TraceState::NONE)),
        &mut HeaderInjector(&mut headers),
    );
    assert_eq!(headers.len(), 1);
}
