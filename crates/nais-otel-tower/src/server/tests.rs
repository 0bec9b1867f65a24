use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use tower::{service_fn, ServiceBuilder, ServiceExt};

use crate::test_helpers::*;
use crate::ServerLayer;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn request(uri: &str) -> Request<Empty<Bytes>> {
    Request::builder().uri(uri).body(Empty::new()).unwrap()
}

/// Serves `req` through `layer` with a handler answering `status`, reads the whole body.
async fn serve(
    layer: ServerLayer,
    req: Request<Empty<Bytes>>,
    status: StatusCode,
) -> Response<Bytes> {
    let svc = ServiceBuilder::new().layer(layer).service(service_fn(
        move |_req: Request<Empty<Bytes>>| async move {
            let mut res = Response::new(Full::new(Bytes::from_static(b"hello")));
            *res.status_mut() = status;
            Ok::<_, Infallible>(res)
        },
    ));
    let res = svc.oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Response::from_parts(parts, bytes)
}

#[tokio::test]
async fn http_attributes_and_remote_parent() {
    let h = Harness::new();
    let req = Request::builder()
        .uri("http://example.com:8080/users/42?expand=true&X-Amz-Signature=c2VjcmV0")
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .header("user-agent", "curl/8.5")
        .body(Empty::new())
        .unwrap();
    let res = serve(h.server_layer(), req, StatusCode::OK).await;
    assert_eq!(res.body(), "hello");
    assert!(res.headers().get("traceparent").is_none(), "off by default");

    let span = h.only_span();
    assert_eq!(span.name, "GET");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(span.status, Status::Unset);
    assert_eq!(span.span_context.trace_id().to_string(), TRACE_ID);
    assert_eq!(span.parent_span_id.to_string(), PARENT_ID);
    assert!(span.parent_span_is_remote);
    assert_eq!(str_attr(&span, "http.request.method").unwrap(), "GET");
    assert_eq!(str_attr(&span, "url.path").unwrap(), "/users/42");
    assert_eq!(
        str_attr(&span, "url.query").unwrap(),
        "expand=true&X-Amz-Signature=REDACTED"
    );
    assert_eq!(str_attr(&span, "url.scheme").unwrap(), "http");
    assert_eq!(str_attr(&span, "server.address").unwrap(), "example.com");
    assert_eq!(int_attr(&span, "server.port"), Some(8080));
    assert_eq!(str_attr(&span, "network.protocol.version").unwrap(), "1.1");
    assert_eq!(str_attr(&span, "user_agent.original").unwrap(), "curl/8.5");
    assert_eq!(int_attr(&span, "http.response.status_code"), Some(200));
    for absent in [
        "error.type",
        "http.request.method_original",
        "http.route",
        "client.address",
    ] {
        assert!(attr(&span, absent).is_none(), "{absent} must be absent");
    }
    assert_no_empty_attributes(&span);
}

#[tokio::test]
async fn host_header_and_unknown_values_left_out() {
    let h = Harness::new();
    let req = Request::builder()
        .uri("/plain?")
        .header("host", "svc.team.svc.cluster.local")
        .header("x-forwarded-for", "10.0.0.7, 10.0.0.1")
        .body(Empty::new())
        .unwrap();
    serve(h.server_layer(), req, StatusCode::OK).await;
    let span = h.only_span();
    assert_eq!(
        str_attr(&span, "server.address").unwrap(),
        "svc.team.svc.cluster.local"
    );
    assert_eq!(str_attr(&span, "client.address").unwrap(), "10.0.0.7");
    assert_eq!(
        str_attr(&span, "url.scheme").unwrap(),
        "http",
        "required: the plain connection's"
    );
    for absent in ["server.port", "url.query", "user_agent.original"] {
        assert!(attr(&span, absent).is_none(), "{absent} must be absent");
    }
    assert!(!span.parent_span_id.to_string().is_empty());
    assert_no_empty_attributes(&span);
}

/// The server span of a GET of `uri` with `headers`, answered 200.
async fn span_of(uri: &str, headers: &[(&str, &str)]) -> opentelemetry_sdk::trace::SpanData {
    let h = Harness::new();
    let mut req = Request::builder().uri(uri);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    serve(
        h.server_layer(),
        req.body(Empty::new()).unwrap(),
        StatusCode::OK,
    )
    .await;
    h.only_span()
}

/// `url.scheme` is the client's as a proxy reports it: `X-Forwarded-Proto` first, then
/// `Forwarded`, then the request target, then `http`.
#[tokio::test]
async fn url_scheme_from_the_proxy_headers() {
    /// A request target, its headers, and the scheme its span gets.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        ("/a", &[], "http"),
        ("https://example.com/a", &[], "https"),
        ("/a", &[("x-forwarded-proto", "https")], "https"),
        ("/a", &[("x-forwarded-proto", "HTTPS, http")], "https"),
        ("/a", &[("x-forwarded-proto", "ftp")], "http"),
        (
            "/a",
            &[("forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43")],
            "https",
        ),
        (
            "/a",
            &[("forwarded", "proto=\"https\", proto=http")],
            "https",
        ),
        (
            "/a",
            &[
                ("forwarded", "for=192.0.2.60"),
                ("x-forwarded-proto", "https"),
            ],
            "https",
        ),
        (
            "https://example.com/a",
            &[("forwarded", "proto=http")],
            "http",
        ),
        (
            "/a",
            &[("forwarded", "proto=https"), ("x-forwarded-proto", "http")],
            "http",
        ),
    ];
    for (uri, headers, scheme) in cases {
        let span = span_of(uri, headers).await;
        assert_eq!(
            str_attr(&span, "url.scheme").as_deref(),
            Some(*scheme),
            "{uri} {headers:?}"
        );
    }
}

/// `server.address`/`server.port` and `client.address` are what the client used, as a
/// proxy reports it: `X-Forwarded-Host`/`X-Forwarded-For` first (ingress-nginx sets
/// them itself), then `Forwarded`, then the request itself. Address and port come from the same
/// source.
#[tokio::test]
async fn server_and_client_address_from_the_proxy_headers() {
    /// Headers, and the span's `server.address`, `server.port` and `client.address`.
    type Case<'a> = (
        &'a [(&'a str, &'a str)],
        Option<&'a str>,
        Option<i64>,
        Option<&'a str>,
    );
    let cases: &[Case<'_>] = &[
        (&[("host", "svc:8080")], Some("svc"), Some(8080), None),
        (
            &[
                ("host", "svc:8080"),
                ("x-forwarded-host", "dogbook.example, svc"),
            ],
            Some("dogbook.example"),
            None,
            None,
        ),
        (
            &[
                ("host", "svc:8080"),
                ("x-forwarded-host", "dogbook.example:8443"),
                (
                    "forwarded",
                    "for=\"[2001:db8:cafe::17]:4711\";Host=\"api.example:444\", for=10.0.0.1",
                ),
                ("x-forwarded-for", "192.0.2.9"),
            ],
            Some("dogbook.example"),
            Some(8443),
            Some("192.0.2.9"),
        ),
        (
            &[
                ("host", "svc:8080"),
                (
                    "forwarded",
                    "for=\"[2001:db8:cafe::17]:4711\";Host=\"api.example:444\", for=10.0.0.1",
                ),
            ],
            Some("api.example"),
            Some(444),
            Some("2001:db8:cafe::17"),
        ),
        (
            &[
                ("host", "svc"),
                ("x-forwarded-host", ""),
                ("forwarded", "host=api.example"),
            ],
            Some("api.example"),
            None,
            None,
        ),
        (
            &[
                ("forwarded", "for=_hidden;proto=https"),
                ("x-forwarded-for", " 192.0.2.43:47011 , 10.0.0.1"),
            ],
            None,
            None,
            Some("192.0.2.43"),
        ),
        (
            &[
                ("forwarded", "for=unknown"),
                ("x-forwarded-for", "2001:db8::1"),
            ],
            None,
            None,
            Some("2001:db8::1"),
        ),
        (
            &[("forwarded", "For=192.0.2.60")],
            None,
            None,
            Some("192.0.2.60"),
        ),
        (&[("x-forwarded-for", "unknown")], None, None, None),
        (
            &[("host", "svc"), ("x-forwarded-host", "")],
            Some("svc"),
            None,
            None,
        ),
        // No host, no port: never `""` with a port.
        (&[("host", ":80")], None, None, None),
        (&[("host", "[]:80")], None, None, None),
        (
            &[("host", "svc"), ("x-forwarded-host", ":8443")],
            None,
            None,
            None,
        ),
        (&[("forwarded", "host=\":8443\"")], None, None, None),
        (&[("host", "2001:db8::1")], Some("2001:db8::1"), None, None),
        (&[("host", "svc:0")], Some("svc"), None, None),
        (&[("host", "svc:+80")], Some("svc"), None, None),
    ];
    for (headers, address, port, client) in cases {
        let span = span_of("/a", headers).await;
        assert_eq!(
            str_attr(&span, "server.address").as_deref(),
            *address,
            "{headers:?}"
        );
        assert_eq!(int_attr(&span, "server.port"), *port, "{headers:?}");
        assert_eq!(
            str_attr(&span, "client.address").as_deref(),
            *client,
            "{headers:?}"
        );
        assert_no_empty_attributes(&span);
    }
}

#[tokio::test]
async fn non_standard_method_is_other() {
    let h = Harness::new();
    let req = Request::builder()
        .method(Method::from_bytes(b"PURGE").unwrap())
        .uri("/cache")
        .body(Empty::new())
        .unwrap();
    serve(h.server_layer(), req, StatusCode::OK).await;
    let span = h.only_span();
    assert_eq!(span.name, "HTTP");
    assert_eq!(str_attr(&span, "http.request.method").unwrap(), "_OTHER");
    assert_eq!(
        str_attr(&span, "http.request.method_original").unwrap(),
        "PURGE"
    );
}

#[tokio::test]
async fn client_error_leaves_status_unset() {
    let h = Harness::new();
    serve(h.server_layer(), request("/missing"), StatusCode::NOT_FOUND).await;
    let span = h.only_span();
    assert_eq!(span.status, Status::Unset);
    assert_eq!(int_attr(&span, "http.response.status_code"), Some(404));
    assert!(attr(&span, "error.type").is_none());
}

#[tokio::test]
async fn server_error_sets_error() {
    let h = Harness::new();
    serve(
        h.server_layer(),
        request("/boom"),
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    let span = h.only_span();
    assert!(matches!(span.status, Status::Error { .. }));
    assert_eq!(int_attr(&span, "http.response.status_code"), Some(503));
    assert_eq!(str_attr(&span, "error.type").unwrap(), "503");
}

#[tokio::test]
async fn service_error_sets_error_with_type_name() {
    let h = Harness::new();
    let svc = ServiceBuilder::new()
        .layer(h.server_layer())
        .service(service_fn(|_req: Request<Empty<Bytes>>| async {
            Err::<Response<Empty<Bytes>>, _>(std::io::Error::other("connection reset"))
        }));
    let err = svc.oneshot(request("/x")).await.unwrap_err();
    assert_eq!(err.to_string(), "connection reset");
    let span = h.only_span();
    assert_eq!(
        span.status,
        Status::Error {
            description: "connection reset".into()
        }
    );
    assert_eq!(
        str_attr(&span, "error.type").unwrap(),
        "std::io::error::Error"
    );
    assert!(attr(&span, "http.response.status_code").is_none());
}

#[tokio::test]
async fn panic_in_handler_gives_error_span_and_panics_on() {
    let h = Harness::new();
    let svc = ServiceBuilder::new()
        .layer(h.server_layer())
        .service(service_fn(|_req: Request<Empty<Bytes>>| async {
            if true {
                panic!("handler exploded");
            }
            Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
        }));
    let join = tokio::spawn(svc.oneshot(request("/panic"))).await;
    let err = join.expect_err("the panic continues");
    assert!(err.is_panic());
    let span = h.only_span();
    assert_eq!(
        span.status,
        Status::Error {
            description: "handler exploded".into()
        }
    );
    assert_eq!(str_attr(&span, "error.type").unwrap(), "panic");
}

#[tokio::test]
async fn nais_routes_are_excluded_in_any_ascii_case() {
    let h = Harness::new();
    for path in [
        "/isAlive",
        "/ISALIVE",
        "/isalive",
        "/internal/isalive",
        "/internal/isReady",
        "/internal/health/liveness",
        "/internal/healthz",
        "/internal/status",
        "/metrics",
        "/internal/prometheus",
        "/actuator/health",
        "/grpc.health.v1.Health/Check",
    ] {
        serve(h.server_layer(), request(path), StatusCode::OK).await;
        assert!(h.spans().is_empty(), "{path} must not be traced");
    }
    serve(
        h.server_layer(),
        request("/isAliveAndKicking"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(h.spans().len(), 1, "a similar path is traced");
}

#[tokio::test]
async fn exclude_adds_and_exclusions_replace() {
    let h = Harness::new();
    let added = h.server_layer().exclude("/internal/ready*");
    serve(added.clone(), request("/internal/READY"), StatusCode::OK).await;
    serve(added, request("/isAlive"), StatusCode::OK).await;
    assert!(h.spans().is_empty());

    let replaced = h.server_layer().exclusions(["/only"]);
    serve(replaced.clone(), request("/only"), StatusCode::OK).await;
    assert!(h.spans().is_empty());
    serve(replaced, request("/isAlive"), StatusCode::OK).await;
    assert_eq!(h.spans().len(), 1, "defaults were replaced");
}

#[tokio::test]
async fn filter_predicate_skips_requests() {
    let h = Harness::new();
    let layer = h
        .server_layer()
        .filter(|req| req.method() != Method::OPTIONS && req.headers().get("x-no-trace").is_none());
    let options = Request::builder()
        .method(Method::OPTIONS)
        .uri("/a")
        .body(Empty::new())
        .unwrap();
    serve(layer.clone(), options, StatusCode::OK).await;
    let flagged = Request::builder()
        .uri("/a")
        .header("x-no-trace", "1")
        .body(Empty::new())
        .unwrap();
    serve(layer.clone(), flagged, StatusCode::OK).await;
    assert!(h.spans().is_empty());
    serve(layer, request("/a"), StatusCode::OK).await;
    assert_eq!(h.spans().len(), 1);
}

#[tokio::test]
async fn env_variable_adds_and_drops_defaults() {
    let h = Harness::new();
    let lookup = |value: &'static str| {
        move |name: &str| (name == crate::EXCLUDED_PATHS_ENV).then(|| value.to_owned())
    };

    let (layer, problems) = ServerLayer::from_env_lookup(lookup("/custom/*, internal"));
    let layer = layer
        .tracer(opentelemetry::trace::TracerProvider::tracer(
            &h.provider,
            "t",
        ))
        .propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    assert_eq!(problems.len(), 1);
    assert!(problems[0].to_string().contains("NAIS_OTEL_EXCLUDED_PATHS"));
    assert!(problems[0].to_string().contains("\"internal\""));
    serve(layer.clone(), request("/custom/thing"), StatusCode::OK).await;
    serve(layer, request("/isAlive"), StatusCode::OK).await;
    assert!(h.spans().is_empty(), "added to the defaults");

    let (layer, problems) = ServerLayer::from_env_lookup(lookup("-defaults,/custom/*"));
    let layer = layer.tracer(opentelemetry::trace::TracerProvider::tracer(
        &h.provider,
        "t",
    ));
    assert!(problems.is_empty());
    serve(layer.clone(), request("/custom/thing"), StatusCode::OK).await;
    assert!(h.spans().is_empty());
    serve(layer, request("/isAlive"), StatusCode::OK).await;
    assert_eq!(h.spans().len(), 1, "defaults dropped");
}

#[tokio::test]
async fn streaming_body_ends_the_span_late() {
    let h = Harness::new();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let rx = std::sync::Mutex::new(Some(rx));
    let svc = ServiceBuilder::new()
        .layer(h.server_layer())
        .service(service_fn(move |_req: Request<Empty<Bytes>>| {
            let rx = rx.lock().unwrap().take().unwrap();
            async move { Ok::<_, Infallible>(Response::new(ChannelBody(rx))) }
        }));
    let res = svc.oneshot(request("/stream")).await.unwrap();
    assert!(h.spans().is_empty(), "headers are ready, the body is not");

    tx.send(Bytes::from_static(b"one")).await.unwrap();
    let mut body = res.into_body();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), "one");
    assert!(h.spans().is_empty(), "still streaming");

    drop(tx);
    assert!(body.frame().await.is_none());
    assert_eq!(h.spans().len(), 1, "ended at the end of the stream");
}

/// A streaming body that notes the span current while it is polled.
struct SpyBody(
    std::sync::Arc<std::sync::Mutex<Vec<opentelemetry::trace::SpanId>>>,
    u8,
);

impl http_body::Body for SpyBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        let current = opentelemetry::Context::current()
            .span()
            .span_context()
            .span_id();
        self.0.lock().unwrap().push(current);
        if self.1 == 0 {
            return std::task::Poll::Ready(None);
        }
        self.1 -= 1;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(b"x")))))
    }
}

#[tokio::test]
async fn streaming_body_is_polled_in_the_request_span() {
    let h = Harness::new();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let spy = seen.clone();
    let svc = ServiceBuilder::new()
        .layer(h.server_layer())
        .service(service_fn(move |_req: Request<Empty<Bytes>>| {
            let spy = spy.clone();
            async move { Ok::<_, Infallible>(Response::new(SpyBody(spy, 2))) }
        }));
    let res = svc.oneshot(request("/stream")).await.unwrap();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(bytes, "xx");

    let span = h.only_span();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "two frames and the end");
    assert!(
        seen.iter().all(|id| *id == span.span_context.span_id()),
        "every poll saw the request span as current: {seen:?}"
    );
    assert_eq!(
        opentelemetry::Context::current()
            .span()
            .span_context()
            .span_id(),
        opentelemetry::trace::SpanId::INVALID,
        "and only while polled"
    );
}

#[tokio::test]
async fn dropped_body_ends_the_span() {
    let h = Harness::new();
    let (_tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    let rx = std::sync::Mutex::new(Some(rx));
    let svc = ServiceBuilder::new()
        .layer(h.server_layer())
        .service(service_fn(move |_req: Request<Empty<Bytes>>| {
            let rx = rx.lock().unwrap().take().unwrap();
            async move { Ok::<_, Infallible>(Response::new(ChannelBody(rx))) }
        }));
    let res = svc.oneshot(request("/stream")).await.unwrap();
    assert!(h.spans().is_empty());
    drop(res);
    assert_eq!(h.spans().len(), 1);
}

#[tokio::test]
async fn traceparent_response_header_when_enabled() {
    let h = Harness::new();
    let res = serve(
        h.server_layer().traceparent_response_header(true),
        request("/x"),
        StatusCode::OK,
    )
    .await;
    let span = h.only_span();
    // A trace started here: sampled and random.
    let expected = format!(
        "00-{}-{}-03",
        span.span_context.trace_id(),
        span.span_context.span_id()
    );
    assert_eq!(res.headers()["traceparent"], expected.as_str());
}

#[tokio::test]
async fn global_propagator_is_the_default() {
    // Every test that touches the global propagator sets the same one.
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let h = Harness::new();
    let layer = ServerLayer::new().tracer(opentelemetry::trace::TracerProvider::tracer(
        &h.provider,
        "t",
    ));
    let req = Request::builder()
        .uri("/x")
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .body(Empty::new())
        .unwrap();
    serve(layer, req, StatusCode::OK).await;
    let span = h.only_span();
    assert_eq!(span.span_context.trace_id().to_string(), TRACE_ID);
    assert_eq!(span.parent_span_id.to_string(), PARENT_ID);
}

// === gRPC ===

fn grpc_request(path: &str) -> Request<Empty<Bytes>> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .version(http::Version::HTTP_2)
        .header("content-type", "application/grpc+proto")
        .body(Empty::new())
        .unwrap()
}

fn grpc_trailers(code: &'static str) -> HeaderMap {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", code.parse().unwrap());
    trailers
}

/// Serves a gRPC call whose status is in the trailers (`in_trailers`) or the headers.
async fn serve_grpc(h: &Harness, path: &str, code: &'static str, in_trailers: bool) {
    let svc = ServiceBuilder::new()
        .layer(h.server_layer())
        .service(service_fn(move |_req: Request<Empty<Bytes>>| async move {
            let mut res = if in_trailers {
                Response::new(FramesBody::data_then_trailers("msg", grpc_trailers(code)))
            } else {
                let mut res = Response::new(FramesBody::default());
                res.headers_mut()
                    .insert("grpc-status", code.parse().unwrap());
                res
            };
            res.headers_mut()
                .insert("content-type", "application/grpc".parse().unwrap());
            Ok::<_, Infallible>(res)
        }));
    let res = svc.oneshot(grpc_request(path)).await.unwrap();
    res.into_body().collect().await.unwrap();
}

#[tokio::test]
async fn grpc_span_name_and_attributes() {
    let h = Harness::new();
    serve_grpc(&h, "/helloworld.Greeter/SayHello", "0", true).await;
    let span = h.only_span();
    assert_eq!(span.name, "helloworld.Greeter/SayHello");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(str_attr(&span, "rpc.system").unwrap(), "grpc");
    assert_eq!(
        str_attr(&span, "rpc.service").unwrap(),
        "helloworld.Greeter"
    );
    assert_eq!(str_attr(&span, "rpc.method").unwrap(), "SayHello");
    assert_eq!(int_attr(&span, "rpc.grpc.status_code"), Some(0));
    assert_eq!(str_attr(&span, "network.protocol.version").unwrap(), "2");
    assert_eq!(span.status, Status::Unset);
    assert_no_empty_attributes(&span);
}

#[tokio::test]
async fn grpc_status_from_trailers() {
    let h = Harness::new();
    serve_grpc(&h, "/helloworld.Greeter/SayHello", "13", true).await;
    let span = h.only_span();
    assert_eq!(int_attr(&span, "rpc.grpc.status_code"), Some(13));
    assert!(matches!(span.status, Status::Error { .. }));
    assert_eq!(str_attr(&span, "error.type").unwrap(), "INTERNAL");
}

#[tokio::test]
async fn grpc_status_from_headers() {
    let h = Harness::new();
    serve_grpc(&h, "/helloworld.Greeter/SayHello", "14", false).await;
    let span = h.only_span();
    assert_eq!(int_attr(&span, "rpc.grpc.status_code"), Some(14));
    assert_eq!(str_attr(&span, "error.type").unwrap(), "UNAVAILABLE");
    assert!(matches!(span.status, Status::Error { .. }));
}

#[tokio::test]
async fn grpc_caller_errors_are_not_server_errors() {
    let h = Harness::new();
    // NOT_FOUND (5) and INVALID_ARGUMENT (3) are the caller's fault.
    serve_grpc(&h, "/helloworld.Greeter/SayHello", "5", false).await;
    serve_grpc(&h, "/helloworld.Greeter/SayHello", "3", true).await;
    for span in h.spans() {
        assert_eq!(span.status, Status::Unset);
        assert!(attr(&span, "error.type").is_none());
    }
}

/// An HTTP client call its caller drops before the response (a timeout around it) failed:
/// ERROR, `error.type` `cancelled`. A server call dropped so (the client went away) is not
/// the server's error.
#[tokio::test]
async fn http_call_dropped_before_its_response() {
    use std::future::Future as _;
    use std::task::Context as TaskContext;

    let h = Harness::new();
    let never = service_fn(|_req: Request<Empty<Bytes>>| {
        std::future::pending::<Result<Response<Full<Bytes>>, Infallible>>()
    });
    let client = ServiceBuilder::new().layer(h.client_layer()).service(never);
    let server = ServiceBuilder::new().layer(h.server_layer()).service(never);
    let waker = std::task::Waker::noop();
    let mut call = Box::pin(client.oneshot(request("http://dogs.example/slow")));
    assert!(call
        .as_mut()
        .poll(&mut TaskContext::from_waker(waker))
        .is_pending());
    drop(call);
    let mut served = Box::pin(server.oneshot(request("/slow")));
    assert!(served
        .as_mut()
        .poll(&mut TaskContext::from_waker(waker))
        .is_pending());
    drop(served);
    for span in h.spans() {
        match span.span_kind {
            SpanKind::Client => {
                assert!(matches!(span.status, Status::Error { .. }), "{span:?}");
                assert_eq!(str_attr(&span, "error.type").unwrap(), "cancelled");
            }
            _ => {
                assert_eq!(span.status, Status::Unset, "{span:?}");
                assert!(attr(&span, "error.type").is_none());
            }
        }
    }
    assert_eq!(h.spans().len(), 2);
}

/// A gRPC call answered without `grpc-status` (an HTTP route's answer, a 404) gets the
/// code its HTTP status maps to, never CANCELLED: the body was read to its end. The span
/// is named `grpc`: the server does not serve the method.
#[tokio::test]
async fn grpc_response_without_status_gets_the_http_mapping() {
    for (http_status, code, error) in [
        (StatusCode::NOT_FOUND, 12, true),
        (StatusCode::SERVICE_UNAVAILABLE, 14, true),
        (StatusCode::UNAUTHORIZED, 16, false),
        (StatusCode::OK, 2, true),
    ] {
        let h = Harness::new();
        let svc = ServiceBuilder::new()
            .layer(h.server_layer())
            .service(service_fn(move |_req: Request<Empty<Bytes>>| async move {
                let mut res = Response::new(Full::new(Bytes::from_static(b"no grpc here")));
                *res.status_mut() = http_status;
                Ok::<_, Infallible>(res)
            }));
        let res = svc
            .oneshot(grpc_request("/helloworld.Greeter/SayHello"))
            .await
            .unwrap();
        res.into_body().collect().await.unwrap();
        let span = h.only_span();
        assert_eq!(
            int_attr(&span, "rpc.grpc.status_code"),
            Some(code),
            "{http_status}"
        );
        assert_eq!(
            matches!(span.status, Status::Error { .. }),
            error,
            "{http_status}: {span:?}"
        );
        // No gRPC answer: the server does not serve the method.
        assert_eq!(span.name, "grpc", "{http_status}");
    }
}

/// A method the server does not know (`UNIMPLEMENTED` in the response head, without a
/// message, as tonic answers one) names the span `grpc`: a caller chooses the path, and
/// span names must stay few. `UNIMPLEMENTED` from a handler, in the trailers or with a
/// message, keeps the method's name.
#[tokio::test]
async fn grpc_unknown_method_is_not_the_span_name() {
    let h = Harness::new();
    serve_grpc(&h, "/scan.Random7f3a/Probe91", "12", false).await;
    let span = h.only_span();
    assert_eq!(span.name, "grpc");
    assert_eq!(str_attr(&span, "rpc.service").unwrap(), "scan.Random7f3a");
    assert_eq!(str_attr(&span, "rpc.method").unwrap(), "Probe91");
    assert_eq!(int_attr(&span, "rpc.grpc.status_code"), Some(12));
    assert!(matches!(span.status, Status::Error { .. }), "{span:?}");

    let h = Harness::new();
    serve_grpc(&h, "/helloworld.Greeter/SayHello", "12", true).await;
    assert_eq!(h.only_span().name, "helloworld.Greeter/SayHello");

    let h = Harness::new();
    let svc = ServiceBuilder::new()
        .layer(h.server_layer())
        .service(service_fn(|_req: Request<Empty<Bytes>>| async {
            let mut res = Response::new(FramesBody::default());
            let headers = res.headers_mut();
            headers.insert("content-type", "application/grpc".parse().unwrap());
            headers.insert("grpc-status", "12".parse().unwrap());
            headers.insert("grpc-message", "not%20yet".parse().unwrap());
            Ok::<_, Infallible>(res)
        }));
    let res = svc
        .oneshot(grpc_request("/helloworld.Greeter/SayHello"))
        .await
        .unwrap();
    res.into_body().collect().await.unwrap();
    let span = h.only_span();
    assert_eq!(span.name, "helloworld.Greeter/SayHello");
    assert_eq!(int_attr(&span, "rpc.grpc.status_code"), Some(12));
}

/// A gRPC call dropped before it had a status (the caller went away, or tonic's deadline
/// handling above the layer gave up on it) is CANCELLED, as the other side sees it: not
/// an error on a server span, an error on a client span.
#[tokio::test]
async fn grpc_call_dropped_before_its_status_is_cancelled() {
    use std::task::Context as TaskContext;

    let h = Harness::new();
    let never = service_fn(|_req: Request<Empty<Bytes>>| {
        std::future::pending::<Result<Response<Full<Bytes>>, Infallible>>()
    });
    let grpc_request = || {
        Request::builder()
            .method(Method::POST)
            .uri("/helloworld.Greeter/SayHello")
            .header("content-type", "application/grpc")
            .body(Empty::new())
            .unwrap()
    };
    let server = ServiceBuilder::new().layer(h.server_layer()).service(never);
    let client = ServiceBuilder::new().layer(h.client_layer()).service(never);
    let waker = std::task::Waker::noop();
    for mut future in [
        Box::pin(server.oneshot(grpc_request()))
            as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
        Box::pin(client.oneshot(grpc_request())),
    ] {
        // Polled once, so the call has started, then dropped.
        assert!(future
            .as_mut()
            .poll(&mut TaskContext::from_waker(waker))
            .is_pending());
    }
    let spans = h.spans();
    assert_eq!(spans.len(), 2);
    for span in spans {
        assert_eq!(int_attr(&span, "rpc.grpc.status_code"), Some(1), "{span:?}");
        match span.span_kind {
            SpanKind::Server => assert_eq!(span.status, Status::Unset),
            _ => {
                assert!(matches!(span.status, Status::Error { .. }), "{span:?}");
                assert_eq!(str_attr(&span, "error.type").unwrap(), "CANCELLED");
            }
        }
    }
}

#[tokio::test]
async fn grpc_health_is_excluded() {
    let h = Harness::new();
    serve_grpc(&h, "/grpc.health.v1.Health/Check", "0", true).await;
    serve_grpc(&h, "/grpc.health.v1.Health/Watch", "0", true).await;
    assert!(h.spans().is_empty());
}

// === nesting ===

/// Server span → handler tracing span → client span, across the layers; the request the
/// client sends carries the client span's own id.
#[tokio::test]
async fn handler_and_client_spans_nest_under_the_request_span() {
    use tracing::Instrument;
    use tracing_subscriber::layer::SubscriberExt;

    let h = Harness::new();
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(
            opentelemetry::trace::TracerProvider::tracer(&h.provider, "tracing"),
        ));
    let _default = tracing::subscriber::set_default(subscriber);

    let sent = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let downstream = {
        let sent = sent.clone();
        service_fn(move |req: Request<Empty<Bytes>>| {
            *sent.lock().unwrap() = req
                .headers()
                .get("traceparent")
                .map(|v| v.to_str().unwrap().to_owned());
            async { Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new())) }
        })
    };
    let client = ServiceBuilder::new()
        .layer(h.client_layer())
        .service(downstream);

    let server = ServiceBuilder::new()
        .layer(h.server_layer())
        .service(service_fn(move |_req: Request<Empty<Bytes>>| {
            let client = client.clone();
            async move {
                let res = client
                    .oneshot(
                        Request::builder()
                            .uri("http://downstream/api")
                            .body(Empty::new())
                            .unwrap(),
                    )
                    .await
                    .unwrap();
                drop(res);
                Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
            }
            .instrument(tracing::info_span!("handler"))
        }));
    let req = Request::builder()
        .uri("/orders")
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .body(Empty::new())
        .unwrap();
    drop(server.oneshot(req).await.unwrap());

    let spans = h.spans();
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let by_kind = |kind: SpanKind| spans.iter().find(|s| s.span_kind == kind).unwrap();
    let server_span = by_kind(SpanKind::Server);
    let client_span = by_kind(SpanKind::Client);
    let handler_span = spans.iter().find(|s| s.name == "handler").unwrap();

    for span in &spans {
        assert_eq!(span.span_context.trace_id().to_string(), TRACE_ID);
    }
    assert_eq!(server_span.parent_span_id.to_string(), PARENT_ID);
    assert_eq!(
        handler_span.parent_span_id,
        server_span.span_context.span_id()
    );
    assert_eq!(
        client_span.parent_span_id,
        handler_span.span_context.span_id()
    );
    let traceparent = sent.lock().unwrap().clone().unwrap();
    assert_eq!(
        traceparent,
        format!("00-{TRACE_ID}-{}-01", client_span.span_context.span_id())
    );
}

/// What a server that calls a client sends on, whatever the sampler decides: the
/// incoming `random` flag (set for a trace started here), `sampled` as decided, and every
/// member of the incoming `tracestate`, those opentelemetry's `TraceState` cannot hold
/// included. The handler touches no header.
#[tokio::test]
async fn flags_and_tracestate_pass_from_server_to_client_whatever_the_sampler() {
    use opentelemetry_sdk::trace::Sampler;

    let tracestate = format!("foo=1,foo@@bar=2,t@{}=3,foo=4", "v".repeat(15));
    let sent_tracestate = format!("foo=1,foo@@bar=2,t@{}=3", "v".repeat(15));
    /// A sampler's name, the sampler, and its decision given the parent's sampled flag.
    type Case = (&'static str, fn() -> Sampler, fn(Option<bool>) -> bool);
    let samplers: [Case; 3] = [
        (
            "parentbased_always_on",
            || Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            |parent| parent.unwrap_or(true),
        ),
        ("always_on", || Sampler::AlwaysOn, |_| true),
        ("always_off", || Sampler::AlwaysOff, |_| false),
    ];
    for (name, sampler, decides) in samplers {
        for incoming in [None, Some(0x00u8), Some(0x01), Some(0x02), Some(0x03)] {
            let h = Harness::with_sampler(sampler());
            let sent = std::sync::Arc::new(std::sync::Mutex::new(HeaderMap::new()));
            let downstream = {
                let sent = sent.clone();
                service_fn(move |req: Request<Empty<Bytes>>| {
                    *sent.lock().unwrap() = req.headers().clone();
                    async { Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new())) }
                })
            };
            let client = ServiceBuilder::new()
                .layer(
                    h.client_layer()
                        .propagator(nais_otel_propagation::TraceContextPropagator::new()),
                )
                .service(downstream);
            let server = ServiceBuilder::new()
                .layer(
                    h.server_layer()
                        .propagator(nais_otel_propagation::TraceContextPropagator::new()),
                )
                .service(service_fn(move |_req: Request<Empty<Bytes>>| {
                    let client = client.clone();
                    async move {
                        let req = Request::builder()
                            .uri("http://downstream/")
                            .body(Empty::new())
                            .unwrap();
                        drop(client.oneshot(req).await.unwrap());
                        Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
                    }
                }));
            let mut req = Request::builder().uri("/");
            if let Some(flags) = incoming {
                req = req
                    .header(
                        "traceparent",
                        format!("00-{TRACE_ID}-{PARENT_ID}-{flags:02x}"),
                    )
                    .header("tracestate", &tracestate);
            }
            drop(
                server
                    .oneshot(req.body(Empty::new()).unwrap())
                    .await
                    .unwrap(),
            );

            let case = format!("{name}, incoming flags {incoming:?}");
            let sent = sent.lock().unwrap().clone();
            let traceparent = sent["traceparent"].to_str().unwrap();
            let flags = u8::from_str_radix(&traceparent[53..], 16).unwrap();
            let random = incoming.is_none_or(|f| f & 0x02 != 0);
            let sampled = decides(incoming.map(|f| f & 0x01 != 0));
            assert_eq!(
                flags & 0x02 != 0,
                random,
                "random flag, {case}: {traceparent}"
            );
            assert_eq!(
                flags & 0x01 != 0,
                sampled,
                "sampled flag, {case}: {traceparent}"
            );
            if incoming.is_some() {
                assert_eq!(&traceparent[3..35], TRACE_ID, "{case}");
                assert_eq!(sent["tracestate"], sent_tracestate.as_str(), "{case}");
            } else {
                assert!(sent.get("tracestate").is_none(), "{case}");
            }
            let recorded = h.spans();
            assert_eq!(recorded.len(), if sampled { 2 } else { 0 }, "{case}");
        }
    }
}

/// Without tracing, a client call in the handler is a child of the request span.
#[tokio::test]
async fn request_span_is_current_in_the_handler() {
    let h = Harness::new();
    let svc = ServiceBuilder::new()
        .layer(h.server_layer())
        .service(service_fn(|_req: Request<Empty<Bytes>>| async {
            let cx = opentelemetry::Context::current();
            let id = cx.span().span_context().span_id().to_string();
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(id))))
        }));
    let res = svc.oneshot(request("/x")).await.unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let span = h.only_span();
    assert_eq!(body, span.span_context.span_id().to_string());
}

// === axum ===

#[cfg(feature = "axum")]
mod axum_integration {
    use super::*;
    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use axum::Router;

    #[tokio::test]
    async fn route_from_matched_path_and_peer_from_connect_info() {
        let h = Harness::new();
        let app: Router = Router::new()
            .route("/users/{id}", get(|| async { "user" }))
            .layer(h.server_layer());
        let mut req = Request::builder()
            .uri("/users/42")
            .body(axum::body::Body::empty())
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::from((
                [10, 1, 2, 3],
                45678,
            ))));
        let res = app.oneshot(req).await.unwrap();
        res.into_body().collect().await.unwrap();
        let span = h.only_span();
        assert_eq!(span.name, "GET /users/{id}");
        assert_eq!(str_attr(&span, "http.route").unwrap(), "/users/{id}");
        assert_eq!(str_attr(&span, "url.path").unwrap(), "/users/42");
        assert_eq!(str_attr(&span, "client.address").unwrap(), "10.1.2.3");
        assert_eq!(str_attr(&span, "network.peer.address").unwrap(), "10.1.2.3");
        assert_eq!(int_attr(&span, "network.peer.port"), Some(45678));
    }

    #[tokio::test]
    async fn outside_the_router_there_is_no_route() {
        let h = Harness::new();
        let app = ServiceBuilder::new()
            .layer(h.server_layer())
            .service(Router::new().route("/users/{id}", get(|| async { "user" })));
        let req = Request::builder()
            .uri("/users/42")
            .body(axum::body::Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        res.into_body().collect().await.unwrap();
        let span = h.only_span();
        assert_eq!(span.name, "GET");
        assert!(attr(&span, "http.route").is_none());
    }

    fn dog_router() -> Router {
        Router::new()
            .route("/dogs/{id}", get(|| async { "dog" }))
            .route("/internal/isAlive", get(|| async { "alive" }))
            .route("/INTERNAL/ISALIVE", get(|| async { "ALIVE" }))
            .route("/skip/me", get(|| async { "skipped" }))
            .route("/filtered", get(|| async { "filtered" }))
    }

    /// What a request to `app` answers, read to the end.
    async fn body_of(app: &crate::TracedRouter, path: &str) -> Bytes {
        let req = Request::builder()
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        res.into_body().collect().await.unwrap().to_bytes()
    }

    /// Traced routes are traced as through `Router::layer`; routes excluded by a glob (in
    /// any ASCII case, defaults and added ones) reach their handler without a span, as do
    /// those a filter excludes (the filter decides on the traced copy).
    #[tokio::test]
    async fn traced_router_traces_the_rest_and_skips_excluded_routes() {
        let h = Harness::new();
        let app = h
            .server_layer()
            .exclude("/skip/*")
            .filter(|head| head.uri().path() != "/filtered")
            .trace_router(dog_router());

        assert_eq!(body_of(&app, "/dogs/7").await, "dog");
        let span = h.only_span();
        assert_eq!(span.name, "GET /dogs/{id}");
        assert_eq!(str_attr(&span, "http.route").unwrap(), "/dogs/{id}");

        for (path, body) in [
            ("/internal/isAlive", "alive"),
            ("/INTERNAL/ISALIVE", "ALIVE"),
            ("/skip/me", "skipped"),
            ("/filtered", "filtered"),
        ] {
            assert_eq!(body_of(&app, path).await, body, "{path}");
            assert_eq!(h.spans().len(), 1, "no span for {path}");
            // Glob-excluded requests go to the copy without the layer, before routing.
            assert_eq!(app.excludes(path), path != "/filtered", "{path}");
        }
        assert!(!app.excludes("/dogs/7"));
    }

    /// A path no route has goes to the fallback of the copy its globs choose: an excluded
    /// one without a span, any other (a percent-encoded `isAlive` is not excluded, as
    /// through `Router::layer`) with one. (`axum::serve` taking a `TracedRouter` is checked
    /// by the doc example of `TracedRouter`; these tests start no server.)
    #[tokio::test]
    async fn traced_router_fallbacks() {
        let h = Harness::new();
        let app = h.server_layer().trace_router(dog_router());
        for (path, spans) in [("/nope/isAlive", 0), ("/is%41live", 1)] {
            let req = Request::builder()
                .uri(path)
                .body(axum::body::Body::empty())
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
            res.into_body().collect().await.unwrap();
            assert_eq!(h.spans().len(), spans, "{path}");
        }
        assert!(h.only_span().span_context.is_valid());
    }
}

/// The W3C propagators with baggage (what `nais_otel::init()` installs), with few headers
/// and with many: the remote parent becomes the span's
/// parent, and the baggage is in the handler's context, each only when sent.
#[tokio::test]
async fn w3c_parent_and_baggage_reach_the_handler_with_few_and_many_headers() {
    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::trace::TracerProvider as _;

    for filler in [0, 40] {
        for (traceparent, baggage) in [(true, true), (true, false), (false, true)] {
            let case =
                format!("{filler} other headers, traceparent {traceparent}, baggage {baggage}");
            let h = Harness::new();
            let layer = ServerLayer::new()
                .tracer(h.provider.tracer("test"))
                .propagator(nais_otel_propagation::W3cPropagator::new());
            let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
            let spy = seen.clone();
            let svc = ServiceBuilder::new().layer(layer).service(service_fn(
                move |_req: Request<Empty<Bytes>>| {
                    let tenant = opentelemetry::Context::current()
                        .baggage()
                        .get("tenant")
                        .map(|v| v.as_str().to_owned());
                    *spy.lock().unwrap() = Some(tenant);
                    async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::new()))) }
                },
            ));
            let mut req = Request::builder().uri("/dogs");
            for i in 0..filler {
                req = req.header(format!("x-filler-{i}"), "1");
            }
            if traceparent {
                req = req.header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"));
            }
            if baggage {
                req = req.header("baggage", "tenant=nav");
            }
            svc.oneshot(req.body(Empty::new()).unwrap()).await.unwrap();

            let span = h.only_span();
            let tenant = seen.lock().unwrap().clone().expect("the handler ran");
            assert_eq!(tenant.as_deref(), baggage.then_some("nav"), "{case}");
            assert_eq!(span.parent_span_is_remote, traceparent, "{case}");
            if traceparent {
                assert_eq!(span.span_context.trace_id().to_string(), TRACE_ID, "{case}");
                assert_eq!(span.parent_span_id.to_string(), PARENT_ID, "{case}");
            } else {
                assert_ne!(span.span_context.trace_id().to_string(), TRACE_ID, "{case}");
            }
        }
    }
}

/// A `traceparent` that is ignored and `baggage` members that are left out are reported:
/// one WARN event naming the header and the value, and no second one within the minute.
/// (No other test in this binary sends such headers.)
#[tokio::test]
async fn unusable_propagation_headers_are_reported_once_a_minute() {
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt as _;

    /// Each event's fields as `name=value`, joined.
    struct Events(Arc<Mutex<Vec<String>>>);
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            struct Fields(String);
            impl tracing::field::Visit for Fields {
                fn record_debug(
                    &mut self,
                    field: &tracing::field::Field,
                    value: &dyn std::fmt::Debug,
                ) {
                    self.0.push_str(&format!("{}={value:?} ", field.name()));
                }
            }
            let mut fields = Fields(format!(
                "{} {} ",
                event.metadata().level(),
                event.metadata().target()
            ));
            event.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
    }
    let events = Arc::new(Mutex::new(Vec::new()));
    let _default = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(Events(events.clone())),
    );

    let h = Harness::new();
    let layer = h
        .server_layer()
        .propagator(nais_otel_propagation::W3cPropagator::new());
    for _ in 0..3 {
        let req = Request::builder()
            .uri("/dogs")
            .header("traceparent", "00-not-a-trace-01")
            .header("baggage", "tenant=nav,bad key=1")
            .body(Empty::new())
            .unwrap();
        serve(layer.clone(), req, StatusCode::OK).await;
    }
    let events = events.lock().unwrap().clone();
    let about = |header: &str| {
        events
            .iter()
            .filter(|e| e.contains(&format!("header=\"{header}\"")))
            .cloned()
            .collect::<Vec<_>>()
    };
    let traceparent = about("traceparent");
    assert_eq!(traceparent.len(), 1, "{events:#?}");
    assert!(
        traceparent[0].starts_with("WARN nais_otel_tower::propagation")
            && traceparent[0].contains("value=00-not-a-trace-01")
            && traceparent[0].contains("reason=invalid traceparent"),
        "{traceparent:?}"
    );
    let baggage = about("baggage");
    assert_eq!(baggage.len(), 1, "{events:#?}");
    assert!(
        baggage[0].contains("keys=<not a token>")
            && !baggage[0].contains("nav")
            && baggage[0].contains("invalid_members=1")
            && baggage[0].contains("members_over_limits=0"),
        "{baggage:?}"
    );
}

/// gRPC calls are POSTs: a GET with a gRPC `content-type` is an HTTP request.
#[tokio::test]
async fn a_get_with_a_grpc_content_type_is_http() {
    let h = Harness::new();
    let req = Request::builder()
        .method(Method::GET)
        .uri("/dogs/12345")
        .header("content-type", "application/grpc")
        .body(Empty::new())
        .unwrap();
    serve(h.server_layer(), req, StatusCode::OK).await;
    let span = h.only_span();
    assert_eq!(span.name, "GET");
    assert_eq!(str_attr(&span, "http.request.method").unwrap(), "GET");
    assert_eq!(int_attr(&span, "http.response.status_code"), Some(200));
    assert!(str_attr(&span, "rpc.system").is_none(), "{span:?}");
}

/// A `CONNECT`'s target is an authority: no `url.path` rather than `""`. A `User-Agent`
/// in UTF-8 beyond ASCII is kept.
#[tokio::test]
async fn connect_has_no_path_and_a_utf8_user_agent_is_kept() {
    let h = Harness::new();
    let req = Request::builder()
        .method(Method::CONNECT)
        .uri("example.com:443")
        .header(
            "user-agent",
            http::HeaderValue::from_bytes("café/1.0".as_bytes()).unwrap(),
        )
        .body(Empty::new())
        .unwrap();
    serve(h.server_layer(), req, StatusCode::OK).await;
    let span = h.only_span();
    assert!(str_attr(&span, "url.path").is_none(), "{span:?}");
    assert_eq!(
        str_attr(&span, "user_agent.original").as_deref(),
        Some("café/1.0")
    );
    assert_no_empty_attributes(&span);
}
