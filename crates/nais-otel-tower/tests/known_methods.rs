//! `set_known_http_methods`: a full override of the standard methods, in a process of its
//! own (the list is process-wide).

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Empty, Full};
use nais_otel_tower::{ClientLayer, ServerLayer};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tower::{service_fn, ServiceBuilder, ServiceExt};

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

#[tokio::test]
async fn the_known_methods_are_a_full_override() {
    assert!(nais_otel_tower::set_known_http_methods(["GET", "PROPFIND"]));
    assert!(
        !nais_otel_tower::set_known_http_methods(["POST"]),
        "the first call wins"
    );
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let answer = service_fn(|_req: Request<Empty<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
    });
    for method in ["GET", "PROPFIND", "POST", "propfind"] {
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        for client in [false, true] {
            let req = Request::builder()
                .method(method.clone())
                .uri("http://dogs.example/a")
                .body(Empty::new())
                .expect("a request");
            let res = if client {
                ServiceBuilder::new()
                    .layer(ClientLayer::new().tracer(provider.tracer("test")))
                    .service(answer)
                    .oneshot(req)
                    .await
                    .map(|res| res.map(BodyExt::boxed))
            } else {
                ServiceBuilder::new()
                    .layer(ServerLayer::new().tracer(provider.tracer("test")))
                    .service(answer)
                    .oneshot(req)
                    .await
                    .map(|res| res.map(BodyExt::boxed))
            };
            res.expect("an answer")
                .into_body()
                .collect()
                .await
                .expect("the body");
        }
    }
    let spans = exporter.get_finished_spans().expect("spans");
    assert_eq!(spans.len(), 8);
    for (span, (name, method, original)) in spans.iter().zip(
        [
            ("GET", "GET", None),
            ("PROPFIND", "PROPFIND", None),
            ("HTTP", "_OTHER", Some("POST")),
            ("HTTP", "_OTHER", Some("propfind")),
        ]
        .iter()
        .flat_map(|case| [case, case]),
    ) {
        assert_eq!(span.name, *name, "{span:?}");
        assert_eq!(attr(span, "http.request.method").as_deref(), Some(*method));
        assert_eq!(
            attr(span, "http.request.method_original").as_deref(),
            *original
        );
    }
}
