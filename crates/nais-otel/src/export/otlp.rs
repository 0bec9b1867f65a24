//! OTLP/gRPC and OTLP/HTTP (protobuf) export on a thread of its own.

use std::{
    fmt,
    future::Future,
    io::Write as _,
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use opentelemetry_proto::{
    tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    transform::{
        common::tonic::ResourceAttributesWithSchema,
        trace::tonic::group_spans_by_resource_and_scope,
    },
};
use opentelemetry_sdk::{
    error::{OTelSdkError, OTelSdkResult},
    trace::{SpanData, SpanExporter},
    Resource,
};
use prost::Message as _;
use tokio::sync::{mpsc, oneshot};
use tonic::{
    codec::CompressionEncoding,
    metadata::{MetadataKey, MetadataMap, MetadataValue},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};

use super::{Diagnostics, Preparer, Stats};
use crate::config::{Compression, Protocol, TlsMaterial};

/// What the export thread needs, resolved and checked by `init()`.
#[derive(Clone)]
pub(crate) struct OtlpSettings {
    pub(crate) protocol: Protocol,
    pub(crate) endpoint: String,
    pub(crate) headers: Vec<(String, String)>,
    /// One request.
    pub(crate) timeout: Duration,
    /// One export, retries included.
    pub(crate) export_deadline: Duration,
    pub(crate) compression: Compression,
    pub(crate) tls: Option<TlsMaterial>,
    pub(crate) queue_size: usize,
}

impl fmt::Debug for OtlpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpSettings")
            .field("protocol", &self.protocol)
            .field("endpoint", &self.endpoint)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// The TLS material as each transport takes it.
impl TlsMaterial {
    /// For tonic (OTLP/gRPC): system roots (native and webpki) plus the given CA.
    fn tonic(&self) -> ClientTlsConfig {
        let mut config = ClientTlsConfig::new()
            .with_native_roots()
            .with_webpki_roots();
        if let Some(ca) = &self.ca {
            config = config.ca_certificate(Certificate::from_pem(ca));
        }
        if let Some((cert, key)) = &self.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        config
    }

    /// For hyper (OTLP/HTTP): the same trust, through rustls with the ring
    /// provider named explicitly, so no process-wide provider choice can make
    /// it fail.
    fn rustls(&self) -> Result<rustls::ClientConfig, String> {
        use rustls_pki_types::{pem::PemObject as _, CertificateDer, PrivateKeyDer};
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            // A system certificate rustls cannot use is skipped, as browsers do.
            let _ = roots.add(cert);
        }
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(ca) = &self.ca {
            for cert in CertificateDer::pem_slice_iter(ca) {
                let cert = cert.map_err(|error| format!("CA certificate: {error}"))?;
                roots
                    .add(cert)
                    .map_err(|error| format!("CA certificate: {error}"))?;
            }
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .with_root_certificates(roots);
        match &self.identity {
            Some((cert, key)) => {
                let certs = CertificateDer::pem_slice_iter(cert)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|error| format!("client certificate: {error}"))?;
                let key = PrivateKeyDer::from_pem_slice(key)
                    .map_err(|error| format!("client key: {error}"))?;
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(|error| format!("client certificate: {error}"))
            }
            None => Ok(builder.with_no_client_auth()),
        }
    }
}

struct Job {
    request: ExportTraceServiceRequest,
    count: usize,
    reply: oneshot::Sender<OTelSdkResult>,
}

/// The SDK-facing half: converts a batch and hands it to the export thread.
pub(crate) struct OtlpExporter {
    jobs: mpsc::UnboundedSender<Job>,
    resource: ResourceAttributesWithSchema,
    preparer: Preparer,
    stats: Arc<Stats>,
}

impl fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpExporter").finish_non_exhaustive()
    }
}

impl OtlpExporter {
    /// Starts the export thread. Needs no runtime; fails only if the operating
    /// system refuses a thread or the endpoint cannot be used.
    pub(crate) fn start(
        settings: OtlpSettings,
        preparer: Preparer,
        stats: Arc<Stats>,
        diagnostics: Diagnostics,
    ) -> Result<Self, String> {
        let endpoint = match settings.protocol {
            Protocol::Grpc => Connection::Grpc(grpc_endpoint(&settings)?),
            Protocol::HttpProtobuf => {
                settings
                    .endpoint
                    .parse::<http::Uri>()
                    .map_err(|error| format!("not a valid URL: {error}"))?;
                let tls = match &settings.tls {
                    Some(material) => material.rustls().map_err(|why| format!("TLS: {why}"))?,
                    None => TlsMaterial::default()
                        .rustls()
                        .map_err(|why| format!("TLS: {why}"))?,
                };
                Connection::Http(tls)
            }
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the export runtime: {error}"))?;
        let (jobs, receiver) = mpsc::unbounded_channel();
        let worker_stats = stats.clone();
        thread::Builder::new()
            .name("nais-otel-export".to_owned())
            .spawn(move || {
                // Nothing the gRPC stack logs on this thread may become a span or a
                // log line of the application: that would loop back into export.
                let _quiet =
                    tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::new());
                let _suppressed = opentelemetry::Context::enter_telemetry_suppressed_scope();
                runtime.block_on(run(receiver, settings, endpoint, worker_stats, diagnostics));
            })
            .map_err(|error| format!("cannot start the export thread: {error}"))?;
        Ok(Self {
            jobs,
            resource: ResourceAttributesWithSchema::default(),
            preparer,
            stats,
        })
    }
}

impl SpanExporter for OtlpExporter {
    fn export(&self, mut batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let count = batch.len();
        self.stats.handed(count);
        self.preparer.prepare_batch(&mut batch);
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        let (reply, answer) = oneshot::channel();
        let sent = self.jobs.send(Job {
            request,
            count,
            reply,
        });
        async move {
            if sent.is_err() {
                return Err(OTelSdkError::AlreadyShutdown);
            }
            answer.await.unwrap_or_else(|_| {
                Err(OTelSdkError::InternalFailure(
                    "the export thread has stopped".to_owned(),
                ))
            })
        }
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        // Dropping the exporter closes the channel and ends the thread; the batch
        // processor has already exported what it had when it calls this.
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

fn grpc_endpoint(settings: &OtlpSettings) -> Result<Endpoint, String> {
    let mut endpoint = Endpoint::from_shared(settings.endpoint.clone())
        .map_err(|error| format!("not a valid URL: {error}"))?
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
        .tcp_nodelay(true)
        .user_agent(concat!("nais-otel/", env!("CARGO_PKG_VERSION")))
        .map_err(|error| error.to_string())?;
    if let Some(tls) = &settings.tls {
        endpoint = endpoint
            .tls_config(tls.tonic())
            .map_err(|error| format!("cannot set up TLS: {}", error_chain(&error)))?;
    }
    Ok(endpoint)
}

/// What `init()` prepared for the export thread, which needs a runtime to
/// finish connecting.
#[allow(clippy::large_enum_variant)]
enum Connection {
    Grpc(Endpoint),
    Http(rustls::ClientConfig),
}

// One per process: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Transport {
    Grpc {
        client: tonic::client::Grpc<Channel>,
        metadata: MetadataMap,
    },
    Http {
        client: hyper_util::client::legacy::Client<
            hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
            Full<Bytes>,
        >,
        uri: http::Uri,
        headers: http::HeaderMap,
        gzip: bool,
    },
}

/// Why one export attempt failed, and whether to try again.
struct Failure {
    message: String,
    retry: bool,
}

impl Transport {
    fn new(settings: &OtlpSettings, connection: Connection) -> Result<Self, String> {
        match connection {
            Connection::Grpc(endpoint) => {
                let mut client = tonic::client::Grpc::new(endpoint.connect_lazy());
                if settings.compression == Compression::Gzip {
                    client = client.send_compressed(CompressionEncoding::Gzip);
                }
                let mut metadata = MetadataMap::new();
                for (name, value) in &settings.headers {
                    if let (Ok(key), Ok(value)) = (
                        MetadataKey::from_bytes(name.as_bytes()),
                        MetadataValue::try_from(value.as_str()),
                    ) {
                        metadata.append(key, value);
                    }
                }
                Ok(Transport::Grpc { client, metadata })
            }
            Connection::Http(tls) => {
                let uri = settings
                    .endpoint
                    .parse::<http::Uri>()
                    .map_err(|error| format!("not a valid URL: {error}"))?;
                let mut headers = http::HeaderMap::new();
                for (name, value) in &settings.headers {
                    if let (Ok(name), Ok(value)) = (
                        http::HeaderName::from_bytes(name.as_bytes()),
                        http::HeaderValue::from_str(value),
                    ) {
                        headers.append(name, value);
                    }
                }
                let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
                connector.set_connect_timeout(Some(settings.timeout.min(Duration::from_secs(5))));
                connector.set_nodelay(true);
                connector.enforce_http(false);
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(tls)
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(connector);
                let client = hyper_util::client::legacy::Client::builder(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .build(connector);
                Ok(Transport::Http {
                    client,
                    uri,
                    headers,
                    gzip: settings.compression == Compression::Gzip,
                })
            }
        }
    }

    /// One attempt with the encoded request. Returns the number of spans the
    /// collector rejected.
    async fn send(
        &mut self,
        payload: &Arc<ExportTraceServiceRequest>,
        timeout: Duration,
    ) -> Result<u64, Failure> {
        match self {
            Transport::Grpc { client, metadata } => {
                let mut message = tonic::Request::new(Arc::clone(payload));
                *message.metadata_mut() = metadata.clone();
                message.set_timeout(timeout);
                if let Err(error) = client.ready().await {
                    return Err(Failure {
                        message: error_chain(&error),
                        retry: true,
                    });
                }
                let path = http::uri::PathAndQuery::from_static(EXPORT_PATH);
                match client.unary(message, path, SharedRequest).await {
                    Ok(response) => Ok(rejected(response.get_ref())),
                    Err(status) => Err(Failure {
                        retry: matches!(
                            status.code(),
                            tonic::Code::Cancelled
                                | tonic::Code::DeadlineExceeded
                                | tonic::Code::Aborted
                                | tonic::Code::OutOfRange
                                | tonic::Code::Unavailable
                                | tonic::Code::DataLoss
                        ),
                        message: grpc_message(&status),
                    }),
                }
            }
            Transport::Http {
                client,
                uri,
                headers,
                gzip,
            } => {
                let mut builder = http::Request::post(uri.clone())
                    .header(http::header::CONTENT_TYPE, "application/x-protobuf");
                let body = if *gzip {
                    let mut encoder =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    builder = builder.header(http::header::CONTENT_ENCODING, "gzip");
                    encoder
                        .write_all(&payload.encode_to_vec())
                        .and_then(|()| encoder.finish())
                        .map(Bytes::from)
                        .map_err(|error| Failure {
                            message: format!("gzip failed: {error}"),
                            retry: false,
                        })?
                } else {
                    Bytes::from(payload.encode_to_vec())
                };
                let mut http_request = builder.body(Full::new(body)).map_err(|error| Failure {
                    message: error.to_string(),
                    retry: false,
                })?;
                http_request.headers_mut().extend(headers.clone());
                let response = tokio::time::timeout(timeout, client.request(http_request))
                    .await
                    .map_err(|_| Failure {
                        message: format!("no answer within {timeout:?}"),
                        retry: true,
                    })?
                    .map_err(|error| Failure {
                        message: error_chain(&error),
                        retry: true,
                    })?;
                let status = response.status();
                let body = tokio::time::timeout(timeout, response.into_body().collect())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .map(|collected| collected.to_bytes())
                    .unwrap_or_default();
                if status.is_success() {
                    let answer = ExportTraceServiceResponse::decode(body).unwrap_or_default();
                    Ok(rejected(&answer))
                } else {
                    Err(Failure {
                        message: format!("HTTP {status}"),
                        retry: matches!(status.as_u16(), 429 | 502 | 503 | 504),
                    })
                }
            }
        }
    }
}

/// The OTLP/gRPC trace export method.
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// A codec that encodes a shared request straight into tonic's buffer, so a
/// retry neither clones the request nor keeps a second encoded copy.
#[derive(Clone, Copy, Debug)]
struct SharedRequest;

impl tonic::codec::Codec for SharedRequest {
    type Encode = Arc<ExportTraceServiceRequest>;
    type Decode = ExportTraceServiceResponse;
    type Encoder = SharedRequest;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        SharedRequest
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder
    }
}

impl tonic::codec::Encoder for SharedRequest {
    type Item = Arc<ExportTraceServiceRequest>;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Self::Item,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), Self::Error> {
        item.encode(dst)
            .map_err(|error| tonic::Status::internal(format!("cannot encode: {error}")))
    }
}

#[derive(Clone, Copy, Debug)]
struct ResponseDecoder;

impl tonic::codec::Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Self::Item>, Self::Error> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|error| tonic::Status::internal(format!("bad response: {error}")))
    }
}

fn rejected(response: &ExportTraceServiceResponse) -> u64 {
    response
        .partial_success
        .as_ref()
        .map_or(0, |partial| partial.rejected_spans.max(0) as u64)
}

fn grpc_message(status: &tonic::Status) -> String {
    let mut message = format!("gRPC {:?}", status.code());
    if !status.message().is_empty() {
        message.push_str(": ");
        message.push_str(status.message());
    }
    if let Some(source) = std::error::Error::source(status) {
        message.push_str(": ");
        message.push_str(&error_chain(source));
    }
    message
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The export loop: one export at a time (the batch processor waits for each),
/// each retried with backoff until its deadline.
async fn run(
    mut jobs: mpsc::UnboundedReceiver<Job>,
    settings: OtlpSettings,
    endpoint: Connection,
    stats: Arc<Stats>,
    diagnostics: Diagnostics,
) {
    let mut transport = match Transport::new(&settings, endpoint) {
        Ok(transport) => transport,
        Err(error) => {
            diagnostics.emit(
                || tracing::error!(target: "nais_otel", endpoint = %settings.endpoint, %error, "cannot export spans"),
                || format!("cannot export spans to {}: {error}", settings.endpoint),
            );
            while let Some(job) = jobs.recv().await {
                let _ = job
                    .reply
                    .send(Err(OTelSdkError::InternalFailure(error.clone())));
            }
            return;
        }
    };
    let mut health = Health::default();
    while let Some(job) = jobs.recv().await {
        // Shared, not cloned, between attempts; encoded straight into the
        // transport's buffer.
        let payload = Arc::new(job.request);
        let now = Instant::now();
        let deadline = now
            .checked_add(settings.export_deadline)
            .unwrap_or_else(|| now + Duration::from_secs(86_400));
        let mut backoff = Duration::from_millis(100);
        let outcome = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Err(format!(
                    "gave up after {:?} of retries",
                    settings.export_deadline
                ));
            }
            match tokio::time::timeout(left, transport.send(&payload, settings.timeout.min(left)))
                .await
            {
                Ok(Ok(rejected)) => break Ok(rejected),
                Ok(Err(failure)) => {
                    health.failed(&failure.message, job.count, &settings, &stats, &diagnostics);
                    if !failure.retry {
                        break Err(failure.message);
                    }
                }
                Err(_) => {
                    let message = format!("no answer within {left:?}");
                    health.failed(&message, job.count, &settings, &stats, &diagnostics);
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            tokio::time::sleep(backoff.min(left)).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        };
        let reply = match outcome {
            Ok(rejected) => {
                let rejected = rejected.min(job.count as u64);
                stats.exported(job.count as u64 - rejected);
                stats.rejected(rejected);
                health.succeeded(&settings, &stats, &diagnostics);
                Ok(())
            }
            Err(message) => Err(OTelSdkError::InternalFailure(message)),
        };
        let _ = job.reply.send(reply);
    }
}

/// Turns a stream of export results into one warning an outage and one notice
/// on recovery, instead of a log line a failed batch.
#[derive(Default)]
struct Health {
    outage: Option<(Instant, u64)>,
}

impl Health {
    /// An attempt failed; `in_flight` spans are in the export being retried
    /// (counted as failed until it ends, but not lost yet).
    fn failed(
        &mut self,
        error: &str,
        in_flight: usize,
        settings: &OtlpSettings,
        stats: &Stats,
        diagnostics: &Diagnostics,
    ) {
        if self.outage.is_some() {
            return;
        }
        let lost_before = stats
            .snapshot()
            .lost_for_good()
            .saturating_sub(in_flight as u64);
        self.outage = Some((Instant::now(), lost_before));
        let endpoint = &settings.endpoint;
        let queue = settings.queue_size;
        diagnostics.emit(
            || {
                tracing::warn!(
                    target: "nais_otel",
                    endpoint = %endpoint,
                    %error,
                    queue_size = queue,
                    "cannot export spans; retrying. Spans wait in the queue and are dropped when it is full. Said once until export works again"
                )
            },
            || format!("cannot export spans to {endpoint}: {error}; retrying (said once until export works again)"),
        );
    }

    fn succeeded(&mut self, settings: &OtlpSettings, stats: &Stats, diagnostics: &Diagnostics) {
        let Some((since, lost_before)) = self.outage.take() else {
            return;
        };
        let lost = stats.snapshot().lost_for_good().saturating_sub(lost_before);
        let endpoint = &settings.endpoint;
        let outage_ms = since.elapsed().as_millis() as u64;
        diagnostics.emit(
            || {
                tracing::info!(
                    target: "nais_otel",
                    endpoint = %endpoint,
                    outage_ms,
                    spans_lost = lost,
                    "span export works again"
                )
            },
            || {
                format!(
                    "span export to {endpoint} works again after {outage_ms} ms; {lost} spans lost"
                )
            },
        );
    }
}
