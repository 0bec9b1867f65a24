//! OTLP/gRPC and OTLP/HTTP (protobuf) export on a thread of its own.
//!
//! `mod.rs` is the SDK-facing half: it encodes a batch (`encode.rs`) and hands the bytes to
//! the export thread. `worker.rs` is that thread's loop (retries, the outage warning),
//! `transport.rs` sends one attempt over gRPC or HTTP, `codec.rs` hands the bytes to tonic,
//! `quickack.rs` makes the gRPC connection acknowledge the collector's frames at once.

mod codec;
mod encode;
mod quickack;
mod transport;
mod worker;

use std::{fmt, future::Future, pin::Pin, sync::Arc, thread, time::Duration};

use bytes::Bytes;
use opentelemetry_sdk::{
    error::{OTelSdkError, OTelSdkResult},
    trace::{SpanData, SpanExporter},
    Resource,
};
use tokio::sync::{mpsc, oneshot};

use self::encode::EncodedResource;
use self::transport::{grpc_endpoint, Connection};
use super::batch::{Item, StoredExport};
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

/// One batch for the export thread, and where its result goes.
pub(super) struct Job {
    /// The `ExportTraceServiceRequest`, encoded.
    pub(super) body: Bytes,
    pub(super) count: usize,
    pub(super) reply: oneshot::Sender<OTelSdkResult>,
}

/// The SDK-facing half: encodes a batch and hands the bytes to the export thread.
pub(crate) struct OtlpExporter {
    jobs: mpsc::UnboundedSender<Job>,
    resource: EncodedResource,
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
                runtime.block_on(worker::run(
                    receiver,
                    settings,
                    endpoint,
                    worker_stats,
                    diagnostics,
                ));
            })
            .map_err(|error| format!("cannot start the export thread: {error}"))?;
        Ok(Self {
            jobs,
            resource: EncodedResource::default(),
            preparer,
            stats,
        })
    }
}

impl OtlpExporter {
    /// Sends an encoded request of `count` spans to the export thread; resolves with its
    /// answer.
    fn send(&self, body: Bytes, count: usize) -> impl Future<Output = OTelSdkResult> + Send {
        let (reply, answer) = oneshot::channel();
        let sent = self.jobs.send(Job { body, count, reply });
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
}

/// Writes the spans straight from the threads' buffers. A span that preparing would
/// change (a credential, an identity number, a value over the length limit) is made a
/// [`SpanData`] and prepared first.
impl StoredExport for OtlpExporter {
    fn takes_stored(&self) -> bool {
        true
    }

    fn export_stored(
        &self,
        items: &mut [Item<'_>],
    ) -> Pin<Box<dyn Future<Output = OTelSdkResult> + Send + '_>> {
        let count = items.len();
        self.stats.handed(count);
        self.preparer.prepare_items(items);
        let body = encode::request_items(items, &self.resource);
        Box::pin(self.send(body, count))
    }
}

impl SpanExporter for OtlpExporter {
    fn export(&self, mut batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let count = batch.len();
        self.stats.handed(count);
        self.preparer.prepare_batch(&mut batch);
        let body = encode::request(&batch, &self.resource);
        // The spans are dropped here, on the batch thread, before the export waits.
        drop(batch);
        self.send(body, count)
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        // Dropping the exporter closes the channel and ends the thread; the batch
        // processor has already exported what it had when it calls this.
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = EncodedResource::new(resource);
    }
}
