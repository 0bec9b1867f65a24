//! The OTLP servers (gRPC and HTTP), the thread they run on, and the task that completes
//! quiet traces.

use std::io::{self, Read};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use tokio::sync::{oneshot, watch};
use tonic::codec::CompressionEncoding;

use crate::store::Store;

/// The largest request accepted, after decompression: 64 MiB.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// How long the servers get to finish in-flight requests on shutdown.
const GRACE: Duration = Duration::from_secs(1);

const PROTOBUF: &str = "application/x-protobuf";

/// The thread the servers run on, with a current-thread runtime of its own.
pub(crate) struct ServerThread {
    stop: oneshot::Sender<()>,
    done: mpsc::Receiver<()>,
    thread: JoinHandle<()>,
}

impl ServerThread {
    /// Start serving `grpc` (over TLS with a PEM `(cert, key)`) and `http` into `store`, on a
    /// thread named for `port`. Returns when the servers listen, or fails after `timeout`.
    pub(crate) fn start(
        store: Arc<Store>,
        grpc: std::net::TcpListener,
        http: Option<std::net::TcpListener>,
        tls: Option<(Vec<u8>, Vec<u8>)>,
        port: u16,
        timeout: Duration,
    ) -> io::Result<ServerThread> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("otel-console")
            .build()?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("otel-console-{port}"))
            .spawn(move || {
                runtime.block_on(run(store, grpc, http, tls, stop_rx, ready_tx));
                // Drops the listeners and every connection; bounded for stuck tasks.
                runtime.shutdown_timeout(Duration::from_millis(500));
                let _ = done_tx.send(());
            })?;
        let server = ServerThread {
            stop: stop_tx,
            done: done_rx,
            thread,
        };
        let ready = ready_rx.recv_timeout(timeout).unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the server thread did not start",
            ))
        });
        match ready {
            Ok(()) => Ok(server),
            Err(e) => {
                server.stop(timeout);
                Err(e)
            }
        }
    }

    /// Stop the servers and wait for the thread, at most `timeout`.
    pub(crate) fn stop(self, timeout: Duration) {
        let _ = self.stop.send(());
        // Bounded: a wedged server thread is left behind rather than hanging the caller.
        if self.done.recv_timeout(timeout).is_ok() {
            let _ = self.thread.join();
        }
    }
}

/// Serve until `stop` fires (or its sender is dropped), then complete every open trace.
async fn run(
    store: Arc<Store>,
    grpc: std::net::TcpListener,
    http: Option<std::net::TcpListener>,
    tls: Option<(Vec<u8>, Vec<u8>)>,
    stop: oneshot::Receiver<()>,
    ready: mpsc::Sender<io::Result<()>>,
) {
    let listeners = (|| -> io::Result<_> {
        let grpc = tokio::net::TcpListener::from_std(grpc)?;
        let http = http.map(tokio::net::TcpListener::from_std).transpose()?;
        Ok((grpc, http))
    })();
    let (grpc, http) = match listeners {
        Ok(listeners) => {
            let _ = ready.send(Ok(()));
            listeners
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };

    let (stopping_tx, stopping) = watch::channel(false);

    let service = TraceServiceServer::new(Grpc {
        store: Arc::clone(&store),
    })
    .accept_compressed(CompressionEncoding::Gzip)
    .max_decoding_message_size(MAX_MESSAGE_SIZE);
    let incoming = tonic::transport::server::TcpIncoming::from(grpc).with_nodelay(Some(true));
    let mut builder = tonic::transport::Server::builder();
    if let Some((cert, key)) = tls {
        let config = tonic::transport::ServerTlsConfig::new()
            .identity(tonic::transport::Identity::from_pem(cert, key));
        builder = match builder.tls_config(config) {
            Ok(builder) => builder,
            Err(error) => {
                eprintln!("otel-console: cannot serve TLS: {error}");
                return;
            }
        };
    }
    let grpc_task = tokio::spawn(
        builder
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, stopped(stopping.clone())),
    );

    let http_task = http.map(|listener| {
        let router = axum::Router::new()
            .route("/v1/traces", axum::routing::post(export_http))
            .layer(DefaultBodyLimit::max(MAX_MESSAGE_SIZE))
            .with_state(Arc::clone(&store));
        let serve = axum::serve(listener, router).with_graceful_shutdown(stopped(stopping.clone()));
        tokio::spawn(async move { serve.await })
    });

    let finisher = tokio::spawn(finish_quiet_traces(Arc::clone(&store), stopping.clone()));

    // A dropped sender (the collector leaked or gone) also stops the server.
    let _ = stop.await;
    let _ = stopping_tx.send(true);
    let _ = tokio::time::timeout(GRACE, async {
        let _ = grpc_task.await;
        if let Some(task) = http_task {
            let _ = task.await;
        }
        let _ = finisher.await;
    })
    .await;
}

async fn stopped(mut stopping: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// Complete traces when their quiet period passes, waking on new spans.
async fn finish_quiet_traces(store: Arc<Store>, stopping: watch::Receiver<bool>) {
    let stop = stopped(stopping);
    tokio::pin!(stop);
    loop {
        let next = store.complete_due(false);
        let sleep = async {
            match next {
                Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut stop => return,
            _ = store.wake_finisher().notified() => {}
            _ = sleep => {}
        }
    }
}

// === gRPC ===

struct Grpc {
    store: Arc<Store>,
}

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let request = request.into_inner();
        let raw = request.encode_to_vec();
        self.store.ingest(&request, raw);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

// === HTTP ===

async fn export_http(State(store): State<Arc<Store>>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with(PROTOBUF) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "only application/x-protobuf is supported",
        )
            .into_response();
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity");
    let raw = match encoding {
        "identity" | "" => body.to_vec(),
        "gzip" => match gunzip(&body) {
            Ok(raw) => raw,
            Err(e) => {
                return (StatusCode::BAD_REQUEST, format!("bad gzip body: {e}")).into_response()
            }
        },
        other => {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content-encoding {other}"),
            )
                .into_response()
        }
    };
    let request = match ExportTraceServiceRequest::decode(raw.as_slice()) {
        Ok(request) => request,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("bad protobuf body: {e}")).into_response()
        }
    };
    store.ingest(&request, raw);
    (
        [(header::CONTENT_TYPE, PROTOBUF)],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
        .into_response()
}

fn gunzip(body: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let limit = u64::try_from(MAX_MESSAGE_SIZE).unwrap_or(u64::MAX);
    flate2::read::GzDecoder::new(body)
        .take(limit + 1)
        .read_to_end(&mut out)?;
    if out.len() > MAX_MESSAGE_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "body larger than 64 MiB after decompression",
        ));
    }
    Ok(out)
}
