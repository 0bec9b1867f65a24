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
//! Arguments: the variant (`bare`, `identity`, `ours`, `ours-sdk`, `ours-core`, `ours-excluded`, `otel-axum`,
//! `trace-layer`) and the number of requests (default 10 000); `HTTP_LAYER_VARIANT` and
//! `HTTP_LAYER_REQUESTS` work too. With no variant (as under `cargo bench`) it does
//! nothing. The setup is the one of `benches/http_layer.rs`: the SDK provider
//! `nais_otel::init()` builds, with an exporter that drops every batch, the global W3C
//! propagators and a global `tracing-opentelemetry` subscriber. It prints the span counts
//! at the end. Per-request cost is the difference of
//! two runs with different request counts divided by the difference in requests, which
//! cancels the set-up.

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

    let (guard, provider) = support::install();
    let Some((_, _, app, path)) = support::variants(&provider)
        .into_iter()
        .find(|(name, ..)| *name == variant)
    else {
        panic!("unknown variant {variant}");
    };
    let mut total = 0;
    for _ in 0..requests {
        total += support::serve(&app, path);
    }
    assert_eq!(total, 5 * requests);
    eprintln!("{variant}: {:?}", guard.span_counts());
    drop(guard);
}
