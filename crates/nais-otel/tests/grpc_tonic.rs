//! The tower layers on a real tonic server and a real tonic `Channel`, over
//! loopback: gRPC span names and attributes, `grpc-status` from trailers, the
//! gRPC error rules, and one trace across client and server.

use std::time::Duration;

use nais_otel::middleware::{ClientLayer, ServerLayer};
use opentelemetry::trace::{SpanKind, Status, TracerProvider as _};
use opentelemetry_proto::tonic::collector::trace::v1::{
    trace_service_client::TraceServiceClient,
    trace_service_server::{TraceService, TraceServiceServer},
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

/// Answers OK, or INTERNAL / NOT_FOUND / UNIMPLEMENTED when asked to through the request.
#[derive(Debug, Default)]
struct Answering;

#[tonic::async_trait]
impl TraceService for Answering {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        match request.get_ref().resource_spans.len() {
            0 => Ok(tonic::Response::new(ExportTraceServiceResponse::default())),
            1 => Err(tonic::Status::internal("broken")),
            3 => Err(tonic::Status::unimplemented("not yet")),
            _ => Err(tonic::Status::not_found("no such thing")),
        }
    }
}

fn request(resource_spans: usize) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![Default::default(); resource_spans],
    }
}

fn find(spans: &[SpanData], kind: SpanKind, code: i64) -> &SpanData {
    spans
        .iter()
        .find(|s| {
            s.span_kind == kind
                && s.attributes
                    .iter()
                    .any(|kv| kv.key.as_str() == "rpc.grpc.status_code" && kv.value == code.into())
        })
        .unwrap_or_else(|| panic!("no {kind:?} span with code {code}: {spans:#?}"))
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tonic_server_and_channel() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_text_map_propagator(
        nais_otel::propagation::TraceContextPropagator::new(),
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server_layer = ServerLayer::new().tracer(provider.tracer("server"));
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(server_layer)
            .add_service(TraceServiceServer::new(Answering))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .connect_lazy();
    let traced = tower::ServiceBuilder::new()
        .layer(ClientLayer::new().tracer(provider.tracer("client")))
        .service(channel);
    let mut client = TraceServiceClient::new(traced);

    client.export(request(0)).await.expect("ok");
    let internal = client.export(request(1)).await.expect_err("internal");
    assert_eq!(internal.code(), tonic::Code::Internal);
    let not_found = client.export(request(2)).await.expect_err("not found");
    assert_eq!(not_found.code(), tonic::Code::NotFound);

    // The server span ends when its body (with the trailers) is done; wait for all six.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let spans = loop {
        let spans = exporter.get_finished_spans().expect("spans");
        if spans.len() >= 6 || std::time::Instant::now() > deadline {
            break spans;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(spans.len(), 6, "{spans:#?}");

    let name = "opentelemetry.proto.collector.trace.v1.TraceService/Export";
    let ok_server = find(&spans, SpanKind::Server, 0);
    assert_eq!(ok_server.name, name);
    assert_eq!(attr(ok_server, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(
        attr(ok_server, "rpc.service").as_deref(),
        Some("opentelemetry.proto.collector.trace.v1.TraceService")
    );
    assert_eq!(attr(ok_server, "rpc.method").as_deref(), Some("Export"));
    assert_eq!(ok_server.status, Status::Unset);
    // The peer, from tonic's `TcpConnectInfo`: the client's loopback address and port.
    assert_eq!(
        attr(ok_server, "network.peer.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        attr(ok_server, "client.address").as_deref(),
        Some("127.0.0.1")
    );
    let peer_port = ok_server
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "network.peer.port")
        .map(|kv| kv.value.clone());
    assert!(
        matches!(peer_port, Some(opentelemetry::Value::I64(port)) if port > 0),
        "{peer_port:?}"
    );
    let ok_client = find(&spans, SpanKind::Client, 0);
    assert_eq!(
        ok_server.parent_span_id,
        ok_client.span_context.span_id(),
        "the server span is the child of the client span"
    );
    assert_eq!(
        ok_server.span_context.trace_id(),
        ok_client.span_context.trace_id()
    );

    // INTERNAL (13) is an error on both sides; NOT_FOUND (5) only for the client.
    assert!(matches!(
        find(&spans, SpanKind::Server, 13).status,
        Status::Error { .. }
    ));
    assert!(matches!(
        find(&spans, SpanKind::Client, 13).status,
        Status::Error { .. }
    ));
    assert_eq!(find(&spans, SpanKind::Server, 5).status, Status::Unset);
    assert!(matches!(
        find(&spans, SpanKind::Client, 5).status,
        Status::Error { .. }
    ));
}

/// A call to a service or a method the tonic server does not have is named `grpc`, not
/// by the path the caller chose; `UNIMPLEMENTED` from a handler keeps the method's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_methods_do_not_name_server_spans() {
    let server = TracedServer::start(tonic::service::Routes::default()).await;
    let paths = [
        "/scan.Random7f3a/Probe91",
        "/opentelemetry.proto.collector.trace.v1.TraceService/Probe91",
    ];
    for path in paths {
        let status = server.to(path).export(request(0)).await.expect_err(path);
        assert_eq!(status.code(), tonic::Code::Unimplemented, "{path}");
    }
    let mut client = TraceServiceClient::new(server.channel.clone());
    let status = client.export(request(3)).await.expect_err("unimplemented");
    assert_eq!(status.code(), tonic::Code::Unimplemented);

    let spans = server.spans(3).await;
    let mut names: Vec<_> = spans.iter().map(|s| s.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "grpc",
            "grpc",
            "opentelemetry.proto.collector.trace.v1.TraceService/Export"
        ],
        "{spans:#?}"
    );
    for span in &spans {
        assert_eq!(
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == "rpc.grpc.status_code")
                .map(|kv| kv.value.clone()),
            Some(12.into()),
            "{span:#?}"
        );
    }
    let methods: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "grpc")
        .map(|s| attr(s, "rpc.method"))
        .collect();
    assert_eq!(methods, [Some("Probe91".into()), Some("Probe91".into())]);
}

/// A real HTTP/2 server with a gRPC service and an axum route beside it. gRPC calls to
/// the route and to a path nothing serves are named `grpc`, with the codes a gRPC client
/// sees: UNKNOWN for the route's plain 200, UNIMPLEMENTED for the empty 404 (which hyper
/// sends without polling its body).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_calls_answered_by_http_routes_are_named_grpc() {
    let server = TracedServer::start(tonic::service::Routes::from(
        axum::Router::new().route("/dogs/{id}", axum::routing::post(|| async { "woof" })),
    ))
    .await;
    let missing = server.to("/pkg.Svc/Method123").export(request(0)).await;
    assert_eq!(missing.expect_err("404").code(), tonic::Code::Unimplemented);
    server
        .to("/dogs/12345")
        .export(request(0))
        .await
        .expect_err("no gRPC answer");
    TraceServiceClient::new(server.channel.clone())
        .export(request(0))
        .await
        .expect("ok");

    let spans = server.spans(3).await;
    assert_eq!(spans.len(), 3, "{spans:#?}");
    let code = |span: &SpanData| {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == "rpc.grpc.status_code")
            .map(|kv| kv.value.clone())
    };
    let by_method = |method: &str| {
        spans
            .iter()
            .find(|s| attr(s, "rpc.method").as_deref() == Some(method))
            .unwrap_or_else(|| panic!("no span for {method}: {spans:#?}"))
    };
    let missing = by_method("Method123");
    assert_eq!(missing.name, "grpc");
    assert_eq!(code(missing), Some(12.into()));
    let route = by_method("12345");
    assert_eq!(route.name, "grpc");
    assert_eq!(code(route), Some(2.into()));
    let export = by_method("Export");
    assert_eq!(
        export.name,
        "opentelemetry.proto.collector.trace.v1.TraceService/Export"
    );
    assert_eq!(code(export), Some(0.into()));
}

/// A tonic server with the `Answering` service beside `routes`, behind the server layer,
/// exporting to memory; a channel to it.
struct TracedServer {
    addr: std::net::SocketAddr,
    channel: tonic::transport::Channel,
    exporter: InMemorySpanExporter,
    _provider: SdkTracerProvider,
}

impl TracedServer {
    async fn start(routes: tonic::service::Routes) -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(
            tonic::transport::Server::builder()
                .layer(ServerLayer::new().tracer(provider.tracer("server")))
                .add_routes(routes)
                .add_service(TraceServiceServer::new(Answering))
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect_lazy();
        Self {
            addr,
            channel,
            exporter,
            _provider: provider,
        }
    }

    /// The generated client, its path replaced by `path` on the way out.
    fn to(
        &self,
        path: &'static str,
    ) -> TraceServiceClient<
        tower::util::MapRequest<
            tonic::transport::Channel,
            impl FnMut(http::Request<tonic::body::Body>) -> http::Request<tonic::body::Body> + Clone,
        >,
    > {
        let addr = self.addr;
        let svc = tower::ServiceBuilder::new()
            .map_request(move |mut req: http::Request<tonic::body::Body>| {
                *req.uri_mut() = format!("http://{addr}{path}").parse().expect("uri");
                req
            })
            .service(self.channel.clone());
        TraceServiceClient::new(svc)
    }

    /// The spans exported once there are `count` (a server span ends when its body is
    /// done, after the client has its answer), or after ten seconds.
    async fn spans(&self, count: usize) -> Vec<SpanData> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let spans = self.exporter.get_finished_spans().expect("spans");
            if spans.len() >= count || std::time::Instant::now() > deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
