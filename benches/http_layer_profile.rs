//! Driver for instruction-count profiles of the `http_layer` variants, one variant per run.
//!
//! Run with:
//!
//! ```sh
//! CARGO_PROFILE_RELEASE_DEBUG=true cargo bench --bench http_layer_profile --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.ours.%p \
//!     target/release/deps/http_layer_profile-<hash> ours 20000
//! callgrind_annotate /tmp/cg.ours.<pid> | head -60
//! ```
//!
//! Arguments: the variant (`bare`, `identity`, `bare-excluded`, `identity-excluded`, `ours`,
//! `ours-sdk`, `ours-core`, `ours-excluded`, `otel-axum`, `trace-layer`; the realistic
//! handler's `handler-bare`, `handler-ours`, `handler-ours-filtered`, `handler-ours-init`,
//! `handler-otel-axum-logs`, `handler-ours-noop`,
//! `handler-ours-tracing-opentelemetry`,
//! `handler-otel-axum`, `handler-trace-layer`; one span alone, `span-noop`, `span-ours`,
//! `span-tracing-opentelemetry`; one DEBUG span, `debug-span-off`, `debug-span-ours`,
//! `debug-span-fmt`, `debug-span-tracing-opentelemetry`) and the number of requests (default 10 000); `HTTP_LAYER_VARIANT` and `HTTP_LAYER_REQUESTS` work too. With
//! no variant (as under `cargo bench`) it does nothing. The setup is the one of
//! `benches/http_layer.rs`: nais-otel's variants on the pipeline `nais_otel::init()` builds,
//! the peers' on an SDK provider with the SDK's batch processor (their documented setup),
//! both with an exporter that drops every batch; the global W3C propagators and a global
//! `tracing-opentelemetry` subscriber on the peers' provider. It prints the span counts at the end, and the time per request of the
//! request loop alone on standard output. For instruction counts, the per-request cost is
//! the difference of two runs with different request counts divided by the difference in
//! requests, which cancels the set-up. With `HTTP_LAYER_PIPELINE=sdk` the provider is built
//! by hand instead, and with `HTTP_LAYER_PIPELINE=local` it drops each span on the request
//! thread (see `support::install`).

#[path = "support/http.rs"]
mod support;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let Some(variant) = args
        .next()
        .or_else(|| std::env::var("HTTP_LAYER_VARIANT").ok())
    else {
        return;
    };
    let requests: usize = args
        .next()
        .or_else(|| std::env::var("HTTP_LAYER_REQUESTS").ok())
        .map(|n| n.parse().expect("request count"))
        .unwrap_or(10_000);

    // The realistic handler's and the single span's variants run under their own
    // subscriber, set as the global default as an application sets it.
    let own_subscriber = variant.starts_with("span-")
        || variant.starts_with("handler-")
        || variant.starts_with("debug-span-");
    let (guard, provider) = if own_subscriber {
        support::install_with(false)
    } else {
        support::install()
    };
    if variant.starts_with("debug-span-") {
        let (_, _, dispatch, pipeline) = support::debug_span_variants(&provider)
            .into_iter()
            .find(|(name, ..)| *name == variant)
            .unwrap_or_else(|| panic!("unknown variant {variant}"));
        spans(&variant, dispatch, requests, support::one_debug_span);
        if let Some(pipeline) = pipeline {
            eprintln!("{variant}: {:?}", pipeline.span_counts());
        }
        return;
    }
    if variant.starts_with("span-") {
        let guard = guard.as_ref().expect("nais-otel's pipeline");
        let (_, _, dispatch) = support::span_variants(guard, &provider)
            .into_iter()
            .find(|(name, ..)| *name == variant)
            .unwrap_or_else(|| panic!("unknown variant {variant}"));
        spans(&variant, dispatch, requests, support::one_span);
        eprintln!("{variant}: {:?}", guard.span_counts());
        return;
    }
    // The realistic handler's stacks run under their own subscriber.
    let handler = variant.starts_with("handler-").then(|| {
        let guard = guard.as_ref().expect("nais-otel's pipeline");
        support::handler_variants(guard, &provider)
            .into_iter()
            .find(|v| v.name == variant)
            .unwrap_or_else(|| panic!("unknown variant {variant}"))
    });
    if let Some(v) = &handler {
        tracing::dispatcher::set_global_default(v.dispatch.clone())
            .expect("the only global subscriber");
    }
    // The handler variant is kept whole until the end: it may hold the guard of its own
    // pipeline, whose drop shuts that pipeline down.
    let variants = support::variants(&provider);
    let (app, path) = match &handler {
        Some(v) => (&v.app, "/users/42"),
        None => variants
            .iter()
            .find(|(name, ..)| *name == variant)
            .map(|(_, _, app, path)| (app, *path))
            .unwrap_or_else(|| panic!("unknown variant {variant}")),
    };
    let mut total = 0;
    let started = std::time::Instant::now();
    for _ in 0..requests {
        total += support::serve(app, path);
    }
    let elapsed = started.elapsed();
    assert_eq!(total, 5 * requests);
    // The loop alone, without the set-up: what the interleaved comparisons read.
    println!(
        "{variant} {:.1} ns/request",
        elapsed.as_nanos() as f64 / requests as f64
    );
    if let Some(guard) = &guard {
        eprintln!("{variant}: {:?}", guard.span_counts());
    }
    if let Some(v) = &handler {
        if let Some(own) = &v._guard {
            eprintln!(
                "{} ({}), its own pipeline: {:?}",
                v.name,
                v.label,
                own.span_counts()
            );
        }
    }
    drop(handler);
    drop(guard);
}

/// Makes `count` spans with `span` under `dispatch`, set as the global default as an
/// application sets it, and prints the time a span.
fn spans(variant: &str, dispatch: tracing::Dispatch, count: usize, span: fn(u64, u32) -> u64) {
    tracing::dispatcher::set_global_default(dispatch).expect("the only global subscriber");
    let started = std::time::Instant::now();
    for i in 0..count {
        std::hint::black_box(span(i as u64, 7));
    }
    println!(
        "{variant} {:.1} ns/span",
        started.elapsed().as_nanos() as f64 / count as f64
    );
}
