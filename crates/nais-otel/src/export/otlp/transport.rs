//! One export attempt over OTLP/gRPC (tonic) or OTLP/HTTP (hyper), with the TLS and
//! headers `init()` resolved.

use std::{io::Write as _, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;
use tonic::{
    codec::CompressionEncoding,
    metadata::{MetadataKey, MetadataMap, MetadataValue},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};

use super::codec::{rejected, EncodedRequest, EXPORT_PATH};
use super::OtlpSettings;
use crate::config::{tls, Compression, TlsMaterial};

/// The TLS material as each transport takes it.
impl TlsMaterial {
    /// For tonic (OTLP/gRPC): system roots (native and webpki) plus the given CA.
    pub(super) fn tonic(&self) -> ClientTlsConfig {
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
    pub(super) fn rustls(&self) -> Result<rustls::ClientConfig, String> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            // A system certificate rustls cannot use is skipped, as browsers do.
            let _ = roots.add(cert);
        }
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(ca) = &self.ca {
            tls::add_ca(&mut roots, ca).map_err(|why| format!("CA certificate: {why}"))?;
        }
        let identity = self
            .identity
            .as_ref()
            .map(|(cert, key)| (cert.as_slice(), key.as_slice()));
        tls::client_config(roots, identity).map_err(|(_, why)| format!("client identity: {why}"))
    }
}

pub(super) fn grpc_endpoint(settings: &OtlpSettings) -> Result<Endpoint, String> {
    let mut endpoint = Endpoint::from_shared(settings.endpoint.clone())
        .map_err(|error| format!("not a valid URL: {error}"))?
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
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
pub(super) enum Connection {
    Grpc(Endpoint),
    Http(rustls::ClientConfig),
}

// One per process: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Transport {
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
pub(super) struct Failure {
    pub(super) message: String,
    pub(super) retry: bool,
}

impl Transport {
    pub(super) fn new(settings: &OtlpSettings, connection: Connection) -> Result<Self, String> {
        match connection {
            Connection::Grpc(endpoint) => {
                let mut client = tonic::client::Grpc::new(
                    endpoint.connect_with_connector_lazy(super::quickack::Connector::new()),
                );
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
    pub(super) async fn send(
        &mut self,
        payload: &Bytes,
        timeout: Duration,
    ) -> Result<u64, Failure> {
        match self {
            Transport::Grpc { client, metadata } => {
                let mut message = tonic::Request::new(payload.clone());
                *message.metadata_mut() = metadata.clone();
                message.set_timeout(timeout);
                if let Err(error) = client.ready().await {
                    return Err(Failure {
                        message: error_chain(&error),
                        retry: true,
                    });
                }
                let path = http::uri::PathAndQuery::from_static(EXPORT_PATH);
                match client.unary(message, path, EncodedRequest).await {
                    Ok(response) => Ok(rejected(response.get_ref())),
                    Err(status) => Err(Failure {
                        retry: retried(&status),
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
                        .write_all(payload)
                        .and_then(|()| encoder.finish())
                        .map(Bytes::from)
                        .map_err(|error| Failure {
                            message: format!("gzip failed: {error}"),
                            retry: false,
                        })?
                } else {
                    payload.clone()
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

/// Whether a failed gRPC export is tried again: for the codes OTLP names as retryable,
/// and for a connection that broke or a response cut short, which tonic reports as
/// `Unknown` or `Internal`:
/// - a status tonic made from a transport error ([`broken_connection`]): a collector
///   killed in the middle of a request;
/// - a response ended without its `grpc-status`, or in the middle of a message: a proxy
///   or a load balancer that cut the stream (tonic names both only in its message).
///
/// Any other answer is the collector's refusal: a bad token, a malformed request, an
/// endpoint that does not speak gRPC.
fn retried(status: &tonic::Status) -> bool {
    match status.code() {
        tonic::Code::Cancelled
        | tonic::Code::DeadlineExceeded
        | tonic::Code::Aborted
        | tonic::Code::OutOfRange
        | tonic::Code::Unavailable
        | tonic::Code::DataLoss => true,
        tonic::Code::Unknown | tonic::Code::Internal => {
            broken_connection(status)
                || status.message().contains("missing grpc-status trailer")
                || status.message() == "Unexpected EOF decoding stream."
        }
        _ => false,
    }
}

/// Whether the error behind `status` is the connection failing: an I/O error, hyper's
/// closed connection or incomplete message, an HTTP/2 I/O error, or a stream the
/// collector's side ended with `NO_ERROR`, `CANCEL`, `REFUSED_STREAM` or `INTERNAL_ERROR`.
/// An HTTP/2 error of another kind (a protocol error: the endpoint does not speak
/// HTTP/2; `ENHANCE_YOUR_CALM`) is not.
fn broken_connection(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<std::io::Error>() {
            return true;
        }
        if let Some(error) = error.downcast_ref::<hyper::Error>() {
            if error.is_closed() || error.is_incomplete_message() || error.is_canceled() {
                return true;
            }
        }
        if let Some(error) = error.downcast_ref::<h2::Error>() {
            return error.is_io()
                || (error.is_remote()
                    && matches!(
                        error.reason(),
                        Some(
                            h2::Reason::NO_ERROR
                                | h2::Reason::CANCEL
                                | h2::Reason::REFUSED_STREAM
                                | h2::Reason::INTERNAL_ERROR
                        )
                    ));
        }
        source = error.source();
    }
    false
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

#[cfg(test)]
mod tests {
    use std::{future::Future, io, sync::Arc};

    use super::*;
    use crate::config::Protocol;

    /// Every code with and without an I/O error behind it: OTLP's retryable codes are
    /// retried either way, `Unknown` and `Internal` when a broken connection is behind
    /// them, and any other code the collector answers with is a refusal.
    #[test]
    fn a_broken_connection_is_retried_and_a_refusal_is_not() {
        let retryable = [1, 4, 10, 11, 14, 15];
        let when_broken = [2, 13];
        for number in 1..=16 {
            let code = tonic::Code::from(number);
            let mut status = tonic::Status::new(code, "from the collector");
            assert_eq!(
                retried(&status),
                retryable.contains(&number),
                "{code:?} from the collector"
            );
            status.set_source(Arc::new(io::Error::from(io::ErrorKind::ConnectionReset)));
            assert_eq!(
                retried(&status),
                retryable.contains(&number) || when_broken.contains(&number),
                "{code:?} from a broken connection"
            );
        }
        let reset =
            tonic::Status::from_error(Box::new(io::Error::from(io::ErrorKind::ConnectionReset)));
        assert_eq!(reset.code(), tonic::Code::Unknown, "tonic's own mapping");
        assert!(retried(&reset));
    }

    /// One export attempt against a collector on loopback that answers as `answer` does
    /// with the connection it accepts: whether it is retried, and its message.
    fn attempt<A, F>(answer: A) -> (bool, String)
    where
        A: FnOnce(tokio::net::TcpStream) -> F + Send + 'static,
        F: Future<Output = ()> + Send,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let address = listener.local_addr().expect("address");
            tokio::spawn(async move {
                let (socket, _) = listener.accept().await.expect("a connection");
                answer(socket).await;
            });
            let settings = OtlpSettings {
                protocol: Protocol::Grpc,
                endpoint: format!("http://{address}"),
                headers: Vec::new(),
                timeout: Duration::from_secs(10),
                export_deadline: Duration::from_secs(10),
                compression: Compression::None,
                tls: None,
                queue_size: 2048,
            };
            let endpoint = Endpoint::from_shared(settings.endpoint.clone()).expect("endpoint");
            let mut transport =
                Transport::new(&settings, Connection::Grpc(endpoint)).expect("transport");
            match transport
                .send(&Bytes::from_static(b""), Duration::from_secs(10))
                .await
            {
                Ok(_) => panic!("the export succeeded"),
                Err(failure) => (failure.retry, failure.message),
            }
        })
    }

    /// An HTTP/2 collector that reads the request whole and then `respond`s to it, and
    /// keeps the connection going until the client closes it.
    async fn h2_collector(
        socket: tokio::net::TcpStream,
        respond: impl FnOnce(h2::server::SendResponse<Bytes>),
    ) {
        let mut connection = h2::server::handshake(socket).await.expect("HTTP/2");
        let (request, responder) = connection
            .accept()
            .await
            .expect("a request")
            .expect("a good request");
        let mut body = request.into_body();
        while let Some(chunk) = std::future::poll_fn(|cx| {
            // The connection is driven while the body is read.
            let _ = connection.poll_closed(cx);
            body.poll_data(cx)
        })
        .await
        {
            let chunk = chunk.expect("the request's body");
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        respond(responder);
        let _ = std::future::poll_fn(|cx| connection.poll_closed(cx)).await;
    }

    fn grpc_200() -> http::Response<()> {
        http::Response::builder()
            .status(200)
            .header("content-type", "application/grpc")
            .body(())
            .expect("response")
    }

    #[test]
    fn a_stream_cut_short_is_retried() {
        // The answer's head, then the end of the stream without a status: a proxy's cut.
        let (retry, message) = attempt(|socket| {
            h2_collector(socket, |mut respond| {
                let mut stream = respond.send_response(grpc_200(), false).expect("head");
                stream.send_data(Bytes::new(), true).expect("end");
            })
        });
        assert!(retry, "{message}");
        assert!(message.contains("missing grpc-status"), "{message}");
        // Half a message, then the end of the stream.
        let (retry, message) = attempt(|socket| {
            h2_collector(socket, |mut respond| {
                let mut stream = respond.send_response(grpc_200(), false).expect("head");
                let half = Bytes::from_static(&[0, 0, 0, 0, 100, 1, 2, 3]);
                stream.send_data(half, true).expect("data");
            })
        });
        assert!(retry, "{message}");
        assert!(message.contains("Unexpected EOF"), "{message}");
        // The answer's head, then the stream reset with NO_ERROR.
        let (retry, message) = attempt(|socket| {
            h2_collector(socket, |mut respond| {
                let mut stream = respond.send_response(grpc_200(), false).expect("head");
                stream.send_reset(h2::Reason::NO_ERROR);
            })
        });
        assert!(retry, "{message}");
        // The connection closed under the request.
        let (retry, message) = attempt(|socket| async move {
            let mut connection = h2::server::handshake(socket).await.expect("HTTP/2");
            let _request = connection.accept().await;
            drop(connection);
        });
        assert!(retry, "{message}");
    }

    #[test]
    fn a_collector_that_cannot_take_the_request_is_a_refusal() {
        // Asked to calm down: RESOURCE_EXHAUSTED, which OTLP retries only with a delay
        // the collector names.
        let (retry, message) = attempt(|socket| {
            h2_collector(socket, |mut respond| {
                respond.send_reset(h2::Reason::ENHANCE_YOUR_CALM);
            })
        });
        assert!(!retry, "{message}");
        assert!(message.contains("ResourceExhausted"), "{message}");
        // An endpoint that answers in HTTP/1.1: the wrong port, or a proxy without HTTP/2.
        let (retry, message) = attempt(|mut socket| async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let mut buffer = [0; 1024];
            let _ = socket.read(&mut buffer).await;
            let answer = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
            let _ = socket.write_all(answer).await;
            let _ = socket.read(&mut buffer).await;
        });
        assert!(!retry, "{message}");
    }
}
