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

/// The largest request sent when it can be split: an OpenTelemetry collector refuses a
/// gRPC message over 4 MiB by default (`max_recv_msg_size_mib`), and a refused request
/// loses every span in it. Spans with long attribute values (a caller's 200 kB
/// `User-Agent`, a long SQL statement) reach that in one batch of 512.
const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024 - 64 * 1024;

/// `spans` encoded as requests of at most `max` bytes each, with how many spans each holds:
/// one request when it fits, else the spans halved until each part fits (a single span
/// over `max` goes alone). Encoding again costs only the batches that are too large.
fn encode_within<T>(
    spans: &[T],
    max: usize,
    encode: &impl Fn(&[T]) -> Bytes,
    requests: &mut Vec<(Bytes, usize)>,
) {
    let body = encode(spans);
    if body.len() <= max || spans.len() <= 1 {
        requests.push((body, spans.len()));
        return;
    }
    let (first, second) = spans.split_at(spans.len() / 2);
    encode_within(first, max, encode, requests);
    encode_within(second, max, encode, requests);
}

impl OtlpExporter {
    /// Sends `requests` to the export thread, each with its span count; resolves with the
    /// first failure among their answers, or success.
    fn send_all(
        &self,
        requests: Vec<(Bytes, usize)>,
    ) -> impl Future<Output = OTelSdkResult> + Send {
        let answers: Vec<_> = requests
            .into_iter()
            .map(|(body, count)| self.send(body, count))
            .collect();
        async move {
            let mut result = Ok(());
            for answer in answers {
                let answer = answer.await;
                if result.is_ok() {
                    result = answer;
                }
            }
            result
        }
    }

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
        let mut requests = Vec::with_capacity(1);
        encode_within(
            items,
            MAX_REQUEST_BYTES,
            &|items| encode::request_items(items, &self.resource),
            &mut requests,
        );
        Box::pin(self.send_all(requests))
    }
}

impl SpanExporter for OtlpExporter {
    fn export(&self, mut batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let count = batch.len();
        self.stats.handed(count);
        self.preparer.prepare_batch(&mut batch);
        let mut requests = Vec::with_capacity(1);
        encode_within(
            &batch,
            MAX_REQUEST_BYTES,
            &|spans| encode::request(spans, &self.resource),
            &mut requests,
        );
        // The spans are dropped here, on the batch thread, before the export waits.
        drop(batch);
        self.send_all(requests)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Spans of the given sizes, "encoded" as that many bytes plus a 100-byte envelope.
    fn split(sizes: &[usize], max: usize) -> Vec<(usize, usize)> {
        let encode = |spans: &[usize]| Bytes::from(vec![0u8; 100 + spans.iter().sum::<usize>()]);
        let mut requests = Vec::new();
        encode_within(sizes, max, &encode, &mut requests);
        requests
            .into_iter()
            .map(|(body, count)| (body.len(), count))
            .collect()
    }

    #[test]
    fn a_batch_over_the_limit_goes_in_requests_within_it() {
        // Fits: one request.
        assert_eq!(split(&[10; 512], 10_000), [(5_220, 512)]);
        // Ten spans of 1 000 against 4 000: halves until each part fits, in order.
        let requests = split(&[1_000; 10], 4_000);
        assert!(
            requests.iter().all(|&(len, _)| len <= 4_000),
            "{requests:?}"
        );
        assert_eq!(requests.iter().map(|&(_, n)| n).sum::<usize>(), 10);
        assert_eq!(requests, [(2_100, 2), (3_100, 3), (2_100, 2), (3_100, 3)]);
        // A span larger than the limit goes alone; the others are not held back by it.
        assert_eq!(
            split(&[10, 9_000, 10, 10], 4_000),
            [(110, 1), (9_100, 1), (120, 2)]
        );
    }
}
