//! Per-request cost of tracing an axum router: our `ServerLayer` against the peers.
//!
//! Run with `cargo bench --bench http_layer`. nais-otel's variants end their spans into the
//! pipeline `nais_otel::init()` builds (its own batch processor); the peers' go to an SDK
//! provider with the SDK's `BatchSpanProcessor`, their documented setup. Both export to an
//! exporter that drops every batch. One global `tracing-opentelemetry` subscriber (on the
//! peers' provider) and one global W3C propagator; all variants run in one criterion group. Each router is made ready to serve first, as `axum::serve` makes it
//! (`with_state(())`). Each iteration builds a request, serves it with `oneshot` and reads
//! the whole response body (our span and `TraceLayer`'s end there). The requests carry no
//! headers; with `HTTP_LAYER_HEADERS=1` they carry `Host`, `User-Agent` and a sampled
//! `traceparent`, as a call from another NAIS service does. With `HTTP_LAYER_PIPELINE=sdk`
//! the provider is built by hand with the SDK's own builder instead of nais-otel's (see
//! `support::install`); with `HTTP_LAYER_PIPELINE=local` it is built the same way, but
//! drops each span on the request thread instead of handing it to a batch processor.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;

#[path = "support/http.rs"]
mod support;

use support::{serve, DropHere};

fn http_layer(c: &mut Criterion) {
    let (guard, provider) = support::install();
    let variants = support::variants(&provider);

    let mut group = c.benchmark_group("http_layer");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (_, label, app, path) in &variants {
        assert_eq!(serve(app, path), 5);
        group.bench_function(*label, |b| b.iter(|| serve(app, path)));
    }
    group.finish();

    // A handler with three nested `#[instrument]` spans and an event, on each stack with
    // its own subscriber; and one span alone, on the registry with each layer.
    if let Some(guard) = &guard {
        let mut handler = c.benchmark_group("handler");
        handler
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for variant in support::handler_variants(guard, &provider) {
            let _default = tracing::dispatcher::set_default(&variant.dispatch);
            assert_eq!(serve(&variant.app, "/users/42"), 5, "{}", variant.name);
            handler.bench_function(variant.label, |b| {
                b.iter(|| serve(&variant.app, "/users/42"))
            });
        }
        handler.finish();

        let mut span = c.benchmark_group("bridge_span");
        span.warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for (_, label, dispatch) in support::span_variants(guard, &provider) {
            let _default = tracing::dispatcher::set_default(&dispatch);
            span.bench_function(label, |b| {
                b.iter(|| support::one_span(std::hint::black_box(42), std::hint::black_box(7)))
            });
        }
        span.finish();
    }

    // One DEBUG span, under each stack's subscriber with its log output: `RUST_LOG` unset,
    // and `RUST_LOG=debug`, where the bridge passes it through and the peer exports it.
    let mut debug = c.benchmark_group("debug_span");
    debug
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (_, label, dispatch, _pipeline) in support::debug_span_variants(&provider) {
        let _default = tracing::dispatcher::set_default(&dispatch);
        debug.bench_function(label, |b| {
            b.iter(|| support::one_debug_span(std::hint::black_box(42), std::hint::black_box(7)))
        });
    }
    debug.finish();

    // The floor every variant pays: one SDK span with five attributes, started and ended
    // through the same batch processor, without any HTTP layer. Then the same span held in
    // a `Context`, as every layer holds it (boxed twice by the API); and the same span
    // ended into a processor that drops it on the request thread, which leaves out the
    // batch processor's hand-over of the span (and of its attribute `Vec`) to its thread.
    // (With `HTTP_LAYER_PIPELINE=local` the provider drops its spans on the request thread
    // too, so the first and last rows measure the same thing.)
    let mut floor = c.benchmark_group("sdk_floor");
    floor
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let tracer = provider.tracer("floor");
    floor.bench_function("SDK span start+end, 5 attributes", |b| {
        b.iter(|| floor_span(&tracer, false))
    });
    floor.bench_function("SDK span start+end, 5 attributes, in a Context", |b| {
        b.iter(|| floor_span(&tracer, true))
    });
    let local = SdkTracerProvider::builder()
        .with_span_processor(DropHere)
        .build();
    let local_tracer = local.tracer("floor");
    floor.bench_function(
        "SDK span start+end, 5 attributes, dropped on the request thread",
        |b| b.iter(|| floor_span(&local_tracer, false)),
    );
    floor.finish();
    drop(guard);
}

/// One server span as the layers make it, without HTTP: five attributes (one of them an
/// owned string), the status code added at the end. `in_context`: held in a `Context`
/// and ended through it, as a layer does.
fn floor_span(tracer: &opentelemetry_sdk::trace::SdkTracer, in_context: bool) {
    use opentelemetry::trace::{
        Span as _, SpanBuilder, SpanKind, TraceContextExt as _, Tracer as _,
    };
    use opentelemetry::{Context, KeyValue};
    let attrs = vec![
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.path", "/users/42".to_owned()),
        KeyValue::new("http.route", "/users/{id}"),
        KeyValue::new("network.protocol.version", "1.1"),
    ];
    let builder = SpanBuilder::from_name("GET /users/{id}")
        .with_kind(SpanKind::Server)
        .with_attributes(attrs);
    let parent = Context::new();
    let mut span = tracer.build_with_context(builder, &parent);
    if in_context {
        let cx = parent.with_span(span);
        cx.span()
            .set_attribute(KeyValue::new("http.response.status_code", 200));
        cx.span().end();
    } else {
        span.set_attribute(KeyValue::new("http.response.status_code", 200));
        span.end();
    }
}

criterion_group!(benches, http_layer);
criterion_main!(benches);
