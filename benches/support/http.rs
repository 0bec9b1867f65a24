//! The set-up shared by `http_layer` (criterion) and `http_layer_profile` (callgrind):
//! one SDK provider with a batch processor and an exporter that drops every batch (the
//! provider `nais_otel::init()` builds, given that exporter), installed as the global
//! provider with the W3C propagators and a global `tracing-opentelemetry` subscriber on
//! the same provider; the router; and the variants measured.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::header::{HeaderName, HeaderValue, HOST, USER_AGENT};
use http::Request;
use http_body_util::BodyExt;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanExporter, SpanProcessor};
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer as _;

/// An exporter that drops every batch, so we measure the layers, not the export.
#[derive(Debug)]
struct NoopExporter;

impl SpanExporter for NoopExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

/// A span processor that drops each span where it ends, on the thread that ended it.
#[derive(Debug)]
pub(crate) struct DropHere;

impl SpanProcessor for DropHere {
    fn on_start(&self, _span: &mut Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        drop(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Polls a future that never waits (every handler here is immediately ready) to the end,
/// so no executor overhead is measured.
fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

async fn handler() -> &'static str {
    "hello"
}

/// A handler with spans of its own, as a real one has: three nested `#[instrument]`
/// functions with two fields each (the kinds of fields handlers record: ids, a name, a
/// flag), and one `info!` event.
async fn realistic_handler() -> &'static str {
    let dogs = load_owner(42, "eu-north").await;
    std::hint::black_box(dogs);
    "hello"
}

#[tracing::instrument]
async fn load_owner(owner_id: u64, region: &str) -> usize {
    find_dogs(owner_id, 20).await
}

#[tracing::instrument]
async fn find_dogs(owner_id: u64, limit: u32) -> usize {
    render(3, true).await
}

#[tracing::instrument]
async fn render(count: usize, compact: bool) -> usize {
    tracing::info!(count, "rendered the dogs");
    count
}

pub(crate) fn realistic_router() -> Router {
    Router::new()
        .route("/users/{id}", get(realistic_handler))
        .route("/isAlive", get(handler))
}

/// One `#[instrument]` span with two fields: created, entered, exited and closed.
#[tracing::instrument]
pub(crate) fn one_span(dog_id: u64, limit: u32) -> u64 {
    dog_id + u64::from(limit)
}

/// [`one_span`] at DEBUG, as a service's detail spans often are.
#[tracing::instrument(level = "debug")]
pub(crate) fn one_debug_span(dog_id: u64, limit: u32) -> u64 {
    dog_id + u64::from(limit)
}

fn router() -> Router {
    Router::new()
        .route("/users/{id}", get(handler))
        .route("/isAlive", get(handler))
}

/// `router` made ready to serve, as `axum::serve` makes it once per connection (and
/// `into_make_service` once): `with_state(())` turns every handler into a route and applies
/// every layer, once. Served as it is, an axum router does that again for the matched
/// route on every request, which costs the layered variants the layer's `clone` and
/// `layer` calls (and an allocation) a request.
pub(crate) fn prepared(router: Router) -> Router {
    router.with_state(())
}

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// Whether requests carry the headers of a typical call between NAIS services (`Host`,
/// `User-Agent` and a sampled `traceparent`): set `HTTP_LAYER_HEADERS=1`. Read once.
fn with_headers() -> bool {
    static HEADERS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HEADERS.get_or_init(|| std::env::var_os("HTTP_LAYER_HEADERS").is_some_and(|v| v == "1"))
}

/// What a variant serves: an axum router, or a router traced by
/// `ServerLayer::trace_router`.
#[derive(Clone)]
pub(crate) enum App {
    Router(Router),
    Traced(nais_otel_tower::TracedRouter),
}

/// Serves one request with `oneshot` and reads the whole body; returns its length.
pub(crate) fn serve(app: &App, path: &'static str) -> usize {
    match app {
        App::Router(router) => serve_with(router.clone(), path),
        App::Traced(traced) => serve_with(traced.clone(), path),
    }
}

fn serve_with<S>(app: S, path: &'static str) -> usize
where
    S: tower::Service<Request<Body>, Response = axum::response::Response, Error = Infallible>,
{
    run(async move {
        let mut req = Request::builder().uri(path).body(Body::empty()).unwrap();
        if with_headers() {
            let headers = req.headers_mut();
            headers.insert(HOST, HeaderValue::from_static("dogs.intern.nav.no"));
            headers.insert(USER_AGENT, HeaderValue::from_static("okhttp/4.12.0"));
            headers.insert(TRACEPARENT, HeaderValue::from_static(PARENT));
        }
        let res = app.oneshot(req).await.unwrap();
        res.into_body().collect().await.unwrap().to_bytes().len()
    })
}

/// Installs the provider, the propagator and the subscriber as the globals.
///
/// nais-otel's pipeline is the one `nais_otel::init()` builds (its own batch processor,
/// here around an exporter that drops every batch), with the default settings (no
/// environment is read) and without nais-otel's own subscriber; the guard holds it, and
/// nais-otel's variants end their spans into it.
///
/// The provider returned is the peers' documented setup: an SDK provider with the SDK's
/// `BatchSpanProcessor` (`with_batch_exporter`) around the same exporter. The global
/// subscriber is a plain `tracing-opentelemetry` layer on it, with no level filter, so
/// `TraceLayer`'s DEBUG spans become trace spans too.
///
/// With `HTTP_LAYER_PIPELINE=sdk` the provider is built by hand instead, as a team
/// without nais-otel's core would: `SdkTracerProvider::builder().with_batch_exporter(..)`
/// with the SDK's `TraceContextPropagator`, set as the globals. Its exporter is not
/// nais-otel's (no masking), and `nais_otel::server_layer()` falls back
/// to the global provider, as `ServerLayer::new()` does. There is no guard then.
///
/// With `HTTP_LAYER_PIPELINE=local` it is built the same way, but with [`DropHere`] in
/// place of the batch processor: every span is dropped on the request thread when it
/// ends. Not a pipeline anyone would run; the difference from `sdk` is what each
/// variant pays to hand its spans to the batch processor's thread.
pub(crate) fn install() -> (Option<nais_otel::Guard>, SdkTracerProvider) {
    install_with(true)
}

/// [`install`], with the global `tracing-opentelemetry` subscriber or without (for a
/// driver that sets another subscriber as the global default).
pub(crate) fn install_with(
    global_subscriber: bool,
) -> (Option<nais_otel::Guard>, SdkTracerProvider) {
    let pipeline = std::env::var("HTTP_LAYER_PIPELINE").unwrap_or_default();
    let (guard, provider) = if pipeline == "sdk" || pipeline == "local" {
        let builder = SdkTracerProvider::builder();
        let provider = if pipeline == "sdk" {
            builder.with_batch_exporter(NoopExporter).build()
        } else {
            builder.with_span_processor(DropHere).build()
        };
        opentelemetry::global::set_tracer_provider(provider.clone());
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        (None, provider)
    } else {
        let guard = nais_otel::builder()
            .with_env_lookup(|_| None)
            .with_span_exporter(NoopExporter)
            .with_subscriber(false)
            .init()
            .expect("the pipeline");
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(NoopExporter)
            .build();
        (Some(guard), provider)
    };
    if global_subscriber {
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
        tracing::subscriber::set_global_default(subscriber).unwrap();
    }
    (guard, provider)
}

/// The variants: a short name (for the profile driver), a label (for criterion), the
/// router (made ready to serve, see [`prepared`]), and the path requested. Built after
/// [`install`], as `nais_otel::init()` would have it.
pub(crate) fn variants(
    provider: &SdkTracerProvider,
) -> Vec<(&'static str, &'static str, App, &'static str)> {
    let variants = vec![
        ("bare", "bare router", router(), "/users/42"),
        // What axum charges for any `Router::layer` (it re-boxes every route).
        (
            "identity",
            "bare router + identity Router::layer",
            router().layer(tower::layer::util::Identity::new()),
            "/users/42",
        ),
        // The excluded route's baselines: the same path without a layer and with the
        // identity layer (`/isAlive` has no path parameter, so axum serves it faster
        // than `/users/42`).
        (
            "bare-excluded",
            "bare router, /isAlive",
            router(),
            "/isAlive",
        ),
        (
            "identity-excluded",
            "bare router + identity Router::layer, /isAlive",
            router().layer(tower::layer::util::Identity::new()),
            "/isAlive",
        ),
        (
            "ours",
            "nais-otel-tower ServerLayer, traced route",
            router().layer(nais_otel_tower::ServerLayer::new()),
            "/users/42",
        ),
        (
            // The layer on the SDK tracer itself (no global type erasure) and the W3C
            // propagators, as for a provider built by hand.
            "ours-sdk",
            "nais-otel-tower ServerLayer on the SDK provider, traced route",
            router().layer(
                nais_otel_tower::ServerLayer::new()
                    .tracer_provider(provider)
                    .propagator(nais_otel::propagation::W3cPropagator::new()),
            ),
            "/users/42",
        ),
        (
            // What `nais_otel::server_layer()` builds after `nais_otel::init()`: the span
            // recorded by the layer and handed to the same span processors.
            "ours-core",
            "nais-otel server_layer(), traced route",
            router().layer(nais_otel::server_layer()),
            "/users/42",
        ),
        (
            "ours-excluded",
            "nais-otel-tower ServerLayer, excluded route (/isAlive)",
            router().layer(nais_otel_tower::ServerLayer::new()),
            "/isAlive",
        ),
        (
            "otel-axum",
            "axum-tracing-opentelemetry OtelAxumLayer",
            router().layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default()),
            "/users/42",
        ),
        (
            "trace-layer",
            "tower-http TraceLayer + tracing-opentelemetry",
            router().layer(tower_http::trace::TraceLayer::new_for_http()),
            "/users/42",
        ),
    ];
    let mut all = variants
        .into_iter()
        .map(|(name, label, router, path)| (name, label, App::Router(prepared(router)), path))
        .chain([
            (
                "ours-router",
                "nais-otel server_layer().trace_router(), traced route",
                App::Traced(nais_otel::server_layer().trace_router(router())),
                "/users/42",
            ),
            (
                "ours-router-excluded",
                "nais-otel server_layer().trace_router(), excluded route (/isAlive)",
                App::Traced(nais_otel::server_layer().trace_router(router())),
                "/isAlive",
            ),
        ])
        .collect::<Vec<_>>();
    // Criterion measures one variant after the other, and this machine drifts over a run:
    // each row is measured next to the row it is read against.
    all.sort_by_key(|(name, ..)| ORDER.iter().position(|n| n == name));
    all
}

/// One stack serving the realistic handler: its name, its label, the router, and the
/// `tracing` subscriber it runs under (set as the thread's default while it is measured).
pub(crate) struct HandlerVariant {
    pub(crate) name: &'static str,
    pub(crate) label: &'static str,
    pub(crate) app: App,
    pub(crate) dispatch: tracing::Dispatch,
    /// The pipeline of a variant with a subscriber `init()` built, kept running.
    pub(crate) _guard: Option<nais_otel::Guard>,
}

/// A `tracing-opentelemetry` layer on `provider`, as its users set it up (its defaults).
fn tracing_opentelemetry(provider: &SdkTracerProvider) -> tracing::Dispatch {
    tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"))),
    )
}

/// The stacks serving [`realistic_handler`], each with its own subscriber: no tracing at
/// all (the baseline), nais-otel with its bridge, nais-otel with `tracing-opentelemetry`,
/// `OtelAxumLayer` and `TraceLayer` with `tracing-opentelemetry`. All spans go through the
/// same processors to the same exporter. Needs nais-otel's pipeline (`guard`).
pub(crate) fn handler_variants(
    guard: &nais_otel::Guard,
    provider: &SdkTracerProvider,
) -> Vec<HandlerVariant> {
    let bridge = tracing::Dispatch::new(
        tracing_subscriber::registry().with(guard.tracing_layer().expect("tracing is on")),
    );
    let variant = |name, label, router: Router, dispatch| HandlerVariant {
        name,
        label,
        app: App::Router(prepared(router)),
        dispatch,
        _guard: None,
    };
    // The subscriber `init()` installs on NAIS with `RUST_LOG` unset: the bridge and the
    // JSON log output, here written to nowhere. Its own pipeline, built the same
    // way as `guard`'s.
    let (init, init_dispatch) = init_subscriber(None);
    // The server layer on the same pipeline, as a service that calls `init()` once has it:
    // its spans and the bridge's share one batch thread.
    let init_layer = init.server_layer();
    vec![
        HandlerVariant {
            _guard: Some(init),
            ..variant(
                "handler-ours-init",
                "realistic handler: nais-otel server_layer() + init()'s subscriber (bridge and JSON log line)",
                realistic_router().layer(init_layer),
                init_dispatch,
            )
        },
        variant(
            "handler-otel-axum-logs",
            "realistic handler: OtelAxumLayer + tracing-opentelemetry + fmt log line",
            realistic_router()
                .layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default()),
            peer_subscriber_with_logs(provider),
        ),
        variant(
            "handler-bare",
            "realistic handler: bare router, no tracing",
            realistic_router(),
            tracing::Dispatch::none(),
        ),
        variant(
            "handler-ours",
            "realistic handler: nais-otel server_layer() + nais-otel bridge",
            realistic_router().layer(nais_otel::server_layer()),
            bridge,
        ),
        variant(
            // The bridge as `init()` installs it when `RUST_LOG` is other than `info`: behind
            // a per-layer filter (INFO and up, not the SDK's or nais-otel's own targets),
            // which looks the span up again in each callback.
            "handler-ours-filtered",
            "realistic handler: nais-otel server_layer() + nais-otel bridge behind init()'s span filter",
            realistic_router().layer(nais_otel::server_layer()),
            tracing::Dispatch::new(
                tracing_subscriber::registry().with(
                    guard
                        .tracing_layer()
                        .expect("tracing is on")
                        .with_filter(init_span_filter()),
                ),
            ),
        ),
        variant(
            // The floor under every stack's handler spans: the registry alone.
            "handler-ours-noop",
            "realistic handler: nais-otel server_layer() + registry with a no-op layer",
            realistic_router().layer(nais_otel::server_layer()),
            tracing::Dispatch::new(
                tracing_subscriber::registry().with(tracing_subscriber::layer::Identity::new()),
            ),
        ),
        variant(
            "handler-ours-tracing-opentelemetry",
            "realistic handler: nais-otel server_layer() + tracing-opentelemetry",
            realistic_router().layer(nais_otel::server_layer()),
            tracing_opentelemetry(provider),
        ),
        variant(
            "handler-otel-axum",
            "realistic handler: OtelAxumLayer + tracing-opentelemetry",
            realistic_router()
                .layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default()),
            tracing_opentelemetry(provider),
        ),
        variant(
            "handler-trace-layer",
            "realistic handler: tower-http TraceLayer + tracing-opentelemetry",
            realistic_router().layer(tower_http::trace::TraceLayer::new_for_http()),
            tracing_opentelemetry(provider),
        ),
    ]
}

/// The subscriber `init()` builds with `RUST_LOG` at `rust_log` (unset for `None`), its
/// JSON log lines to nowhere, on a pipeline of its own that the returned guard keeps
/// running.
fn init_subscriber(rust_log: Option<&'static str>) -> (nais_otel::Guard, tracing::Dispatch) {
    let guard = nais_otel::builder()
        .with_env_lookup(move |name| (name == "RUST_LOG").then(|| rust_log.map(str::to_owned))?)
        .with_span_exporter(NoopExporter)
        .with_globals(false)
        .with_log_format(nais_otel::config::LogFormat::Json)
        .with_log_writer(std::io::sink)
        .init()
        .expect("the pipeline");
    let dispatch = guard
        .subscriber()
        .expect("init() builds its subscriber")
        .clone();
    (guard, dispatch)
}

/// The subscribers of the DEBUG-span rows ([`one_debug_span`]), each as a service sets
/// it up with its log output: `(name, label, subscriber, the pipeline it needs)`.
///
/// - `debug-span-off`: `init()`'s with `RUST_LOG` unset: the span is not enabled.
/// - `debug-span-ours`: `init()`'s with `RUST_LOG=debug`: the span is logged, and the
///   bridge passes it through (it exports INFO and up).
/// - `debug-span-fmt`: tracing-subscriber's `fmt` layer alone at `debug`: the log output's
///   own cost, nothing exported.
/// - `debug-span-tracing-opentelemetry`: the peer's setup with `RUST_LOG=debug`: the
///   `fmt` layer and tracing-opentelemetry, which exports the span.
pub(crate) fn debug_span_variants(
    provider: &SdkTracerProvider,
) -> Vec<(
    &'static str,
    &'static str,
    tracing::Dispatch,
    Option<nais_otel::Guard>,
)> {
    let (off, off_dispatch) = init_subscriber(None);
    let (ours, ours_dispatch) = init_subscriber(Some("debug"));
    let fmt = || {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(std::io::sink)
    };
    vec![
        (
            "debug-span-off",
            "one DEBUG #[instrument] span: init()'s subscriber, RUST_LOG unset",
            off_dispatch,
            Some(off),
        ),
        (
            "debug-span-ours",
            "one DEBUG #[instrument] span: init()'s subscriber, RUST_LOG=debug (passed through)",
            ours_dispatch,
            Some(ours),
        ),
        (
            "debug-span-fmt",
            "one DEBUG #[instrument] span: fmt layer at debug, nothing exported",
            tracing::Dispatch::new(
                tracing_subscriber::registry()
                    .with(tracing_subscriber::EnvFilter::new("debug"))
                    .with(fmt()),
            ),
            None,
        ),
        (
            "debug-span-tracing-opentelemetry",
            "one DEBUG #[instrument] span: fmt layer + tracing-opentelemetry, RUST_LOG=debug",
            tracing::Dispatch::new(
                tracing_subscriber::registry()
                    .with(tracing_subscriber::EnvFilter::new(
                        "debug,otel::tracing=trace",
                    ))
                    .with(fmt())
                    .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"))),
            ),
            None,
        ),
    ]
}

/// A peer's documented setup with its log output: the global filter of
/// init-tracing-opentelemetry (axum-tracing-opentelemetry's README uses it) with `RUST_LOG`
/// unset, `info,otel::tracing=trace,otel=debug` (`OtelAxumLayer`'s request span is a TRACE
/// span of target `otel::tracing`), tracing-subscriber's fmt layer (to nowhere) and
/// tracing-opentelemetry on `provider`.
pub(crate) fn peer_subscriber_with_logs(provider: &SdkTracerProvider) -> tracing::Dispatch {
    tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(
                "info,otel::tracing=trace,otel=debug",
            ))
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(std::io::sink),
            )
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"))),
    )
}

/// The per-layer filter `init()` puts in front of the bridge.
fn init_span_filter() -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::LevelFilter;
    tracing_subscriber::filter::Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("opentelemetry", LevelFilter::OFF)
        .with_target("opentelemetry_sdk", LevelFilter::OFF)
        .with_target("nais_otel", LevelFilter::OFF)
}

/// The subscribers of the per-span rows: the registry with a layer that does nothing
/// (the registry's own floor), with nais-otel's bridge, and with `tracing-opentelemetry`.
pub(crate) fn span_variants(
    guard: &nais_otel::Guard,
    provider: &SdkTracerProvider,
) -> Vec<(&'static str, &'static str, tracing::Dispatch)> {
    vec![
        (
            "span-noop",
            "one #[instrument] span: registry + no-op layer",
            tracing::Dispatch::new(
                tracing_subscriber::registry().with(tracing_subscriber::layer::Identity::new()),
            ),
        ),
        (
            "span-ours",
            "one #[instrument] span: registry + nais-otel bridge",
            tracing::Dispatch::new(
                tracing_subscriber::registry().with(guard.tracing_layer().expect("tracing is on")),
            ),
        ),
        (
            "span-tracing-opentelemetry",
            "one #[instrument] span: registry + tracing-opentelemetry",
            tracing_opentelemetry(provider),
        ),
    ]
}

/// The order in which criterion measures the variants.
const ORDER: &[&str] = &[
    "bare-excluded",
    "ours-router-excluded",
    "ours-excluded",
    "identity-excluded",
    "bare",
    "identity",
    "ours",
    "ours-sdk",
    "ours-core",
    "ours-router",
    "otel-axum",
    "trace-layer",
];
