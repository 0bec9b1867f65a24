//! `Guard::server_layer()` and `Guard::client_layer()` hand the guard's own tracer
//! provider to the layers, so their spans reach its exporter without any global
//! being installed (`with_globals(false)`).

use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use tower::{Service as _, ServiceExt as _};

fn ok(
    _: http::Request<String>,
) -> std::future::Ready<Result<http::Response<String>, std::convert::Infallible>> {
    std::future::ready(Ok(http::Response::new(String::new())))
}

#[tokio::test(flavor = "current_thread")]
async fn layers_from_the_guard_export_to_its_provider() {
    let exporter = InMemorySpanExporter::default();
    let guard = nais_otel::builder()
        .with_env_lookup(|_| None)
        .with_span_exporter(exporter.clone())
        .with_globals(false)
        .init()
        .expect("init");

    let mut server = tower::ServiceBuilder::new()
        .layer(guard.server_layer())
        .service_fn(ok);
    let request = http::Request::get("/dogs").body(String::new()).unwrap();
    server.ready().await.unwrap().call(request).await.unwrap();

    let mut client = tower::ServiceBuilder::new()
        .layer(guard.client_layer())
        .service_fn(ok);
    let request = http::Request::get("http://kennels/")
        .body(String::new())
        .unwrap();
    client.ready().await.unwrap().call(request).await.unwrap();

    guard.force_flush();
    let spans = exporter.get_finished_spans().expect("spans");
    let kinds: Vec<_> = spans.iter().map(|span| span.span_kind.clone()).collect();
    assert!(kinds.contains(&SpanKind::Server), "{kinds:?}");
    assert!(kinds.contains(&SpanKind::Client), "{kinds:?}");
    for span in &spans {
        assert_eq!(span.instrumentation_scope.name(), "nais-otel-tower");
    }
}

/// `NAIS_OTEL_EXCLUDED_PATHS` is read through the builder's lookup, like every other
/// variable, and its bad entries are problems of the `Config`.
#[tokio::test(flavor = "current_thread")]
async fn the_env_lookup_reaches_the_excluded_paths() {
    let exporter = InMemorySpanExporter::default();
    let guard = nais_otel::builder()
        .with_env_lookup(|name| {
            (name == "NAIS_OTEL_EXCLUDED_PATHS").then(|| "/internal/*,ready".to_owned())
        })
        .with_span_exporter(exporter.clone())
        .with_globals(false)
        .init()
        .expect("init");
    let problem = guard
        .config()
        .problems
        .iter()
        .find(|problem| problem.variable == "NAIS_OTEL_EXCLUDED_PATHS")
        .expect("the bad entry is a problem");
    assert_eq!(problem.value, "ready");

    let mut server = tower::ServiceBuilder::new()
        .layer(guard.server_layer())
        .service_fn(ok);
    for path in ["/internal/stats", "/isalive", "/dogs"] {
        let request = http::Request::get(path).body(String::new()).unwrap();
        server.ready().await.unwrap().call(request).await.unwrap();
    }
    guard.force_flush();
    let paths: Vec<String> = exporter
        .get_finished_spans()
        .expect("spans")
        .iter()
        .filter_map(|span| {
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == "url.path")
                .map(|kv| kv.value.as_str().into_owned())
        })
        .collect();
    assert_eq!(
        paths,
        ["/dogs"],
        "the glob and the NAIS defaults are excluded"
    );
}
