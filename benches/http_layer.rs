//! Per-request cost of tracing an axum router: our `ServerLayer` against the peers.
//!
//! Run with `cargo bench --bench http_layer`. All variants share one SDK tracer provider
//! (a `BatchSpanProcessor` with an exporter that drops every batch), one global
//! `tracing-opentelemetry` subscriber and one global W3C propagator, and run in one
//! criterion group. Each iteration builds a request, serves it with `oneshot` and reads
//! the whole response body (our span and `TraceLayer`'s end there). The requests carry no
//! headers; with `HTTP_LAYER_HEADERS=1` they carry `Host`, `User-Agent` and a sampled
//! `traceparent`, as a call from another NAIS service does.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::TracerProvider as _;

#[path = "support/http.rs"]
mod support;

use support::serve;

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

    // The floor every variant pays: one SDK span with five attributes, started and ended
    // through the same batch processor, without any HTTP layer.
    let mut floor = c.benchmark_group("sdk_floor");
    floor
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let tracer = provider.tracer("floor");
    floor.bench_function("SDK span start+end, 5 attributes", |b| {
        b.iter(|| {
            use opentelemetry::trace::{Span as _, SpanBuilder, SpanKind, Tracer as _};
            use opentelemetry::KeyValue;
            let attrs = vec![
                KeyValue::new("http.request.method", "GET"),
                KeyValue::new("url.path", "/users/42".to_owned()),
                KeyValue::new("http.route", "/users/{id}"),
                KeyValue::new("network.protocol.version", "1.1"),
            ];
            let builder = SpanBuilder::from_name("GET /users/{id}")
                .with_kind(SpanKind::Server)
                .with_attributes(attrs);
            let mut span = tracer.build_with_context(builder, &opentelemetry::Context::new());
            span.set_attribute(KeyValue::new("http.response.status_code", 200));
            span.end();
        })
    });
    floor.finish();
    drop(guard);
}

criterion_group!(benches, http_layer);
criterion_main!(benches);
