use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use opentelemetry::trace::{SpanKind, Status};
use tower::{service_fn, ServiceBuilder, ServiceExt};

use crate::test_helpers::*;

/// Sends `req` through the client layer to a fake transport answering `status`; returns
/// the `traceparent` the transport saw.
async fn send(h: &Harness, req: Request<Empty<Bytes>>, status: StatusCode) -> Option<String> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let transport = {
        let seen = seen.clone();
        service_fn(move |req: Request<Empty<Bytes>>| {
            *seen.lock().unwrap() = req
                .headers()
                .get("traceparent")
                .map(|v| v.to_str().unwrap().to_owned());
            async move {
                let mut res = Response::new(Empty::<Bytes>::new());
                *res.status_mut() = status;
                Ok::<_, Infallible>(res)
            }
        })
    };
    let client = ServiceBuilder::new()
        .layer(h.client_layer())
        .service(transport);
    let res = client.oneshot(req).await.unwrap();
    res.into_body().collect().await.unwrap();
    let seen = seen.lock().unwrap().clone();
    seen
}

#[tokio::test]
async fn attributes_credentials_redacted_and_own_context_injected() {
    let h = Harness::new();
    let req = Request::builder()
        .uri("https://user:s3cret@api.example.com/v1/things?q=1&sig=s3cret")
        .body(Empty::new())
        .unwrap();
    let traceparent = send(&h, req, StatusCode::OK).await.unwrap();
    let span = h.only_span();
    assert_eq!(span.name, "GET");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.status, Status::Unset);
    assert_eq!(
        str_attr(&span, "url.full").unwrap(),
        "https://REDACTED:REDACTED@api.example.com/v1/things?q=1&sig=REDACTED"
    );
    assert_eq!(
        str_attr(&span, "server.address").unwrap(),
        "api.example.com"
    );
    assert_eq!(int_attr(&span, "server.port"), Some(443));
    assert_eq!(str_attr(&span, "http.request.method").unwrap(), "GET");
    assert_eq!(int_attr(&span, "http.response.status_code"), Some(200));
    assert_eq!(
        str_attr(&span, "network.protocol.version").unwrap(),
        "1.1",
        "the response's version"
    );
    assert!(attr(&span, "error.type").is_none());
    assert_eq!(
        traceparent,
        format!(
            "00-{}-{}-01",
            span.span_context.trace_id(),
            span.span_context.span_id()
        )
    );
    assert_no_empty_attributes(&span);
}

#[tokio::test]
async fn explicit_port_and_other_method() {
    let h = Harness::new();
    let req = Request::builder()
        .method(Method::from_bytes(b"PROPFIND").unwrap())
        .uri("http://dav.local:8081/x")
        .body(Empty::new())
        .unwrap();
    send(&h, req, StatusCode::OK).await;
    let span = h.only_span();
    assert_eq!(span.name, "HTTP");
    assert_eq!(str_attr(&span, "http.request.method").unwrap(), "_OTHER");
    assert_eq!(
        str_attr(&span, "http.request.method_original").unwrap(),
        "PROPFIND"
    );
    assert_eq!(int_attr(&span, "server.port"), Some(8081));
}

#[tokio::test]
async fn client_and_server_errors_are_errors() {
    for (status, code) in [
        (StatusCode::NOT_FOUND, "404"),
        (StatusCode::BAD_GATEWAY, "502"),
    ] {
        let h = Harness::new();
        let req = Request::builder()
            .uri("http://svc/x")
            .body(Empty::new())
            .unwrap();
        send(&h, req, status).await;
        let span = h.only_span();
        assert!(matches!(span.status, Status::Error { .. }), "{status}");
        assert_eq!(str_attr(&span, "error.type").unwrap(), code);
    }
}

#[tokio::test]
async fn transport_error_is_an_error() {
    let h = Harness::new();
    let client = ServiceBuilder::new()
        .layer(h.client_layer())
        .service(service_fn(|_req: Request<Empty<Bytes>>| async {
            Err::<Response<Empty<Bytes>>, _>(std::io::Error::other("connection refused"))
        }));
    let req = Request::builder()
        .uri("http://svc/x")
        .body(Empty::new())
        .unwrap();
    client.oneshot(req).await.unwrap_err();
    let span = h.only_span();
    assert_eq!(
        span.status,
        Status::Error {
            description: "connection refused".into()
        }
    );
    assert_eq!(
        str_attr(&span, "error.type").unwrap(),
        "std::io::error::Error"
    );
}

#[tokio::test]
async fn grpc_client_status_from_trailers() {
    let h = Harness::new();
    let client = ServiceBuilder::new()
        .layer(h.client_layer())
        .service(service_fn(|_req: Request<Empty<Bytes>>| async {
            let mut trailers = HeaderMap::new();
            trailers.insert("grpc-status", "5".parse().unwrap());
            Ok::<_, Infallible>(Response::new(FramesBody::data_then_trailers(
                "msg", trailers,
            )))
        }));
    let req = Request::builder()
        .method(Method::POST)
        .uri("http://greeter:50051/helloworld.Greeter/SayHello")
        .header("content-type", "application/grpc")
        .body(Empty::new())
        .unwrap();
    let res = client.oneshot(req).await.unwrap();
    res.into_body().collect().await.unwrap();
    let span = h.only_span();
    assert_eq!(span.name, "helloworld.Greeter/SayHello");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(str_attr(&span, "rpc.system").unwrap(), "grpc");
    assert_eq!(int_attr(&span, "rpc.grpc.status_code"), Some(5));
    // On the client every code but OK is an error.
    assert_eq!(str_attr(&span, "error.type").unwrap(), "NOT_FOUND");
    assert!(matches!(span.status, Status::Error { .. }));
}

/// How many attributes of the span have `key`: the conventions' attributes appear once.
fn count(span: &opentelemetry_sdk::trace::SpanData, key: &str) -> usize {
    span.attributes
        .iter()
        .filter(|kv| kv.key.as_str() == key)
        .count()
}

fn grpc_call() -> Request<Empty<Bytes>> {
    Request::builder()
        .method(Method::POST)
        .uri("http://greeter:50051/helloworld.Greeter/SayHello")
        .header("content-type", "application/grpc")
        .body(Empty::new())
        .unwrap()
}

/// A gRPC call whose transport failed before the response (connection refused, say)
/// gets the code tonic reports to the caller, UNAVAILABLE, with the error's type.
#[tokio::test]
async fn grpc_transport_failure_is_unavailable() {
    let h = Harness::new();
    let client = ServiceBuilder::new()
        .layer(h.client_layer())
        .service(service_fn(|_req: Request<Empty<Bytes>>| async {
            Err::<Response<Empty<Bytes>>, _>(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "connection refused",
            ))
        }));
    client.oneshot(grpc_call()).await.unwrap_err();
    let span = h.only_span();
    assert_eq!(int_attr(&span, "rpc.grpc.status_code"), Some(14));
    assert_eq!(
        str_attr(&span, "error.type").unwrap(),
        "std::io::error::Error"
    );
    assert_eq!(count(&span, "error.type"), 1);
    assert_eq!(span.status, Status::error("connection refused"));
}

/// The first `grpc-status` counts, as gRPC reads it: a trailer after a status in the
/// head adds nothing. A value that is no code is UNKNOWN.
#[tokio::test]
async fn grpc_status_once_and_strictly() {
    for (head, trailer, expected) in [
        (Some("0"), Some("13"), 0),
        (None, Some("+0"), 2),
        (None, Some("013"), 2),
        (Some("abc"), None, 2),
        (Some("99"), None, 2),
        (None, Some("16"), 16),
    ] {
        let h = Harness::new();
        let client = ServiceBuilder::new()
            .layer(h.client_layer())
            .service(service_fn(move |_req: Request<Empty<Bytes>>| async move {
                let mut trailers = HeaderMap::new();
                if let Some(code) = trailer {
                    trailers.insert("grpc-status", code.parse().unwrap());
                }
                let mut res = Response::new(FramesBody::data_then_trailers("msg", trailers));
                if let Some(code) = head {
                    res.headers_mut()
                        .insert("grpc-status", code.parse().unwrap());
                }
                Ok::<_, Infallible>(res)
            }));
        let res = client.oneshot(grpc_call()).await.unwrap();
        res.into_body().collect().await.unwrap();
        let span = h.only_span();
        assert_eq!(
            int_attr(&span, "rpc.grpc.status_code"),
            Some(expected),
            "{head:?} {trailer:?}"
        );
        assert_eq!(
            count(&span, "rpc.grpc.status_code"),
            1,
            "{head:?} {trailer:?}"
        );
        assert!(count(&span, "error.type") <= 1, "{head:?} {trailer:?}");
    }
}

/// A 500 whose body then breaks off keeps one `error.type`, the status's, and the
/// body's error as the description.
#[tokio::test]
async fn an_error_status_then_a_broken_body_keeps_one_error_type() {
    let h = Harness::new();
    let client = ServiceBuilder::new()
        .layer(h.client_layer())
        .service(service_fn(|_req: Request<Empty<Bytes>>| async {
            let mut res = Response::new(BrokenBody);
            *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            Ok::<_, Infallible>(res)
        }));
    let req = Request::builder()
        .uri("http://api.example/x")
        .body(Empty::new())
        .unwrap();
    let res = client.oneshot(req).await.unwrap();
    res.into_body().collect().await.unwrap_err();
    let span = h.only_span();
    assert_eq!(count(&span, "error.type"), 1);
    assert_eq!(str_attr(&span, "error.type").unwrap(), "500");
    assert_eq!(span.status, Status::error("connection reset"));
}

/// A body that fails at its first frame.
struct BrokenBody;

impl http_body::Body for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::other("connection reset"))))
    }
}
