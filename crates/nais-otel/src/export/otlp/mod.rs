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

use std::sync::atomic::{AtomicBool, Ordering};
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
    diagnostics: Diagnostics,
    /// Whether a span was cut to fit a request, and whether one was dropped, has been
    /// said: each is said once.
    said_cut: AtomicBool,
    said_dropped: AtomicBool,
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
        let worker_diagnostics = diagnostics.clone();
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
                    worker_diagnostics,
                ));
            })
            .map_err(|error| format!("cannot start the export thread: {error}"))?;
        Ok(Self {
            jobs,
            resource: EncodedResource::default(),
            preparer,
            stats,
            diagnostics,
            said_cut: AtomicBool::new(false),
            said_dropped: AtomicBool::new(false),
        })
    }

    /// Says what became of the spans too large for one request: the first one cut, and the
    /// first one dropped.
    fn report(&self, oversized: &[Oversized]) {
        for span in oversized {
            let Oversized {
                name,
                bytes,
                cut_to,
            } = span;
            let max = MAX_REQUEST_BYTES;
            match cut_to {
                Some(cut_to) => {
                    if self.said_cut.swap(true, Ordering::Relaxed) {
                        continue;
                    }
                    self.diagnostics.emit(
                        || tracing::warn!(target: "nais_otel", span = %name, bytes, max_bytes = max, cut_to_characters = cut_to, "a span is larger than a collector takes in one request: its texts are cut to fit. Said once"),
                        || format!("a span ({name}, {bytes} bytes) is larger than a collector takes in one request ({max} bytes): its texts are cut to {cut_to} characters (said once)"),
                    );
                }
                None => {
                    if self.said_dropped.swap(true, Ordering::Relaxed) {
                        continue;
                    }
                    self.diagnostics.emit(
                        || tracing::warn!(target: "nais_otel", span = %name, bytes, max_bytes = max, cut_to_characters = LAST_CUT, "a span is larger than a collector takes in one request even with its texts cut: it is dropped. Said once"),
                        || format!("a span ({name}, {bytes} bytes) is larger than a collector takes in one request ({max} bytes) even with its texts cut to {LAST_CUT} characters: it is dropped (said once)"),
                    );
                }
            }
        }
    }
}

/// The largest request sent: an OpenTelemetry collector refuses a gRPC message over 4 MiB
/// by default (`max_recv_msg_size_mib`), and a refused request loses every span in it.
/// Spans with long attribute values (a caller's 200 kB `User-Agent`, a long SQL
/// statement) reach that in one batch of 512.
const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024 - 64 * 1024;

/// The first length, in characters, a span too large for one request has its texts cut to
/// (see [`fit`]): a single long value (a request body logged whole) is cut to this.
const FIRST_CUT: usize = 1024 * 1024;

/// The shortest length [`fit`] cuts texts to. A span still too large then (thousands of
/// events) is dropped.
const LAST_CUT: usize = 256;

/// A span as the OTLP exporter encodes it: a [`SpanData`], or an item of the batch
/// processor.
trait Encodable {
    /// The span's name, for a warning.
    fn name(&self) -> &str;
    /// Cuts the span's texts to `limit` characters ([`super::prepare::cut_texts`]).
    fn cut_texts(&mut self, limit: usize);
}

impl Encodable for SpanData {
    fn name(&self) -> &str {
        &self.name
    }

    fn cut_texts(&mut self, limit: usize) {
        super::prepare::cut_texts(self, limit);
    }
}

impl Encodable for Item<'_> {
    fn name(&self) -> &str {
        match self {
            Item::Stored(span, _) => span.name(),
            Item::Data(span) => &span.name,
        }
    }

    fn cut_texts(&mut self, limit: usize) {
        if let Item::Stored(..) = self {
            *self = Item::Data(Box::new(self.to_span_data()));
        }
        if let Item::Data(span) = self {
            super::prepare::cut_texts(span, limit);
        }
    }
}

/// A span too large for one request, and what became of it.
#[derive(Debug, PartialEq)]
struct Oversized {
    name: String,
    /// Its encoded size, as it came.
    bytes: usize,
    /// The length its texts were cut to; `None`: it was dropped.
    cut_to: Option<usize>,
}

/// The most characters of a span's name a warning shows.
const NAME_IN_WARNING: usize = 100;

/// Cuts the texts of `span`, too large for one request, to ever shorter lengths from
/// [`FIRST_CUT`] until its request is within `max`: that request and the length; neither
/// when it is still too large with texts of [`LAST_CUT`] characters.
fn fit<T: Encodable>(
    span: &mut T,
    max: usize,
    encode: &impl Fn(&[T]) -> Bytes,
) -> (Option<Bytes>, Option<usize>) {
    let mut limit = FIRST_CUT;
    loop {
        span.cut_texts(limit);
        let body = encode(std::slice::from_ref(span));
        if body.len() <= max {
            return (Some(body), Some(limit));
        }
        if limit <= LAST_CUT {
            return (None, None);
        }
        limit = (limit / 4).max(LAST_CUT);
    }
}

/// `spans` encoded as requests of at most `max` bytes each, with how many spans each holds:
/// one request when it fits, else the spans halved until each part fits. A single span
/// over `max` is cut to fit ([`fit`]), and goes alone. Encoding again costs only the
/// batches that are too large.
fn encode_within<T: Encodable>(
    spans: &mut [T],
    max: usize,
    encode: &impl Fn(&[T]) -> Bytes,
    requests: &mut Vec<(Bytes, usize)>,
    oversized: &mut Vec<Oversized>,
) {
    let body = encode(spans);
    if body.len() <= max || spans.is_empty() {
        requests.push((body, spans.len()));
        return;
    }
    if let [span] = spans {
        let bytes = body.len();
        let (body, cut_to) = fit(span, max, encode);
        oversized.push(Oversized {
            name: span.name().chars().take(NAME_IN_WARNING).collect(),
            bytes,
            cut_to,
        });
        if let Some(body) = body {
            requests.push((body, 1));
        }
        return;
    }
    let (first, second) = spans.split_at_mut(spans.len() / 2);
    encode_within(first, max, encode, requests, oversized);
    encode_within(second, max, encode, requests, oversized);
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
        let mut oversized = Vec::new();
        encode_within(
            items,
            MAX_REQUEST_BYTES,
            &|items| encode::request_items(items, &self.resource),
            &mut requests,
            &mut oversized,
        );
        self.report(&oversized);
        Box::pin(self.send_all(requests))
    }
}

impl SpanExporter for OtlpExporter {
    fn export(&self, mut batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let count = batch.len();
        self.stats.handed(count);
        self.preparer.prepare_batch(&mut batch);
        let mut requests = Vec::with_capacity(1);
        let mut oversized = Vec::new();
        encode_within(
            &mut batch,
            MAX_REQUEST_BYTES,
            &|spans| encode::request(spans, &self.resource),
            &mut requests,
            &mut oversized,
        );
        self.report(&oversized);
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

    /// A span of `texts` texts of `each` characters, "encoded" as that many bytes plus a
    /// 100-byte envelope.
    #[derive(Clone, Copy, Debug)]
    struct Fake {
        texts: usize,
        each: usize,
    }

    impl Encodable for Fake {
        fn name(&self) -> &str {
            "fake"
        }

        fn cut_texts(&mut self, limit: usize) {
            self.each = self.each.min(limit);
        }
    }

    fn fake(size: usize) -> Fake {
        Fake {
            texts: 1,
            each: size,
        }
    }

    fn encode(spans: &[Fake]) -> Bytes {
        Bytes::from(vec![
            0u8;
            100 + spans
                .iter()
                .map(|s| s.texts * s.each)
                .sum::<usize>()
        ])
    }

    fn split(spans: &mut [Fake], max: usize) -> (Vec<(usize, usize)>, Vec<Oversized>) {
        let mut requests = Vec::new();
        let mut oversized = Vec::new();
        encode_within(spans, max, &encode, &mut requests, &mut oversized);
        let requests = requests
            .into_iter()
            .map(|(body, count)| (body.len(), count))
            .collect();
        (requests, oversized)
    }

    #[test]
    fn a_batch_over_the_limit_goes_in_requests_within_it() {
        // Fits: one request.
        assert_eq!(split(&mut [fake(10); 512], 10_000).0, [(5_220, 512)]);
        // Ten spans of 1 000 against 4 000: halves until each part fits, in order.
        let (requests, oversized) = split(&mut [fake(1_000); 10], 4_000);
        assert!(
            requests.iter().all(|&(len, _)| len <= 4_000),
            "{requests:?}"
        );
        assert!(oversized.is_empty());
        assert_eq!(requests.iter().map(|&(_, n)| n).sum::<usize>(), 10);
        assert_eq!(requests, [(2_100, 2), (3_100, 3), (2_100, 2), (3_100, 3)]);
    }

    #[test]
    fn a_span_over_the_limit_is_cut_to_fit_and_goes_alone() {
        let max = MAX_REQUEST_BYTES;
        // One text of 5 MB: cut to the first length. The others are not held back by it.
        let mut spans = [fake(10), fake(5_000_000), fake(10), fake(10)];
        let (requests, oversized) = split(&mut spans, max);
        assert_eq!(
            requests,
            [(110, 1), (100 + FIRST_CUT, 1), (120, 2)],
            "{oversized:?}"
        );
        assert_eq!(
            oversized,
            [Oversized {
                name: "fake".to_owned(),
                bytes: 5_000_100,
                cut_to: Some(FIRST_CUT),
            }]
        );
        // A hundred texts of 100 000: cut until the whole fits (16 384 each).
        let mut spans = [Fake {
            texts: 100,
            each: 100_000,
        }];
        let (requests, oversized) = split(&mut spans, max);
        assert_eq!(requests, [(100 + 100 * 16_384, 1)]);
        assert_eq!(oversized[0].cut_to, Some(16_384));
        // Too many texts to fit even when short: dropped, and said.
        let mut spans = [
            fake(10),
            Fake {
                texts: 100_000,
                each: 100,
            },
        ];
        let (requests, oversized) = split(&mut spans, max);
        assert_eq!(requests, [(110, 1)]);
        assert_eq!(oversized.len(), 1);
        assert_eq!(oversized[0].cut_to, None);
    }

    /// The real encoder, on a span whose attribute and event name are 5 MB each (a request
    /// body recorded and logged whole): its texts are cut, the short ones stay whole.
    #[test]
    fn a_real_span_over_the_limit_is_encoded_within_it() {
        use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status};
        use opentelemetry::KeyValue;
        let long = "é".repeat(2_500_000);
        let mut span = SpanData {
            span_context: SpanContext::empty_context(),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: "POST /dogs".into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes: vec![
                KeyValue::new("http.request.body", long.clone()),
                KeyValue::new("http.request.method", "POST"),
            ],
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::error(long.clone()),
            instrumentation_scope: opentelemetry::InstrumentationScope::builder("t").build(),
        };
        span.events
            .events
            .push(Event::new(long.clone(), span.start_time, Vec::new(), 0));
        let resource = EncodedResource::default();
        let mut requests = Vec::new();
        let mut oversized = Vec::new();
        let mut batch = [span];
        encode_within(
            &mut batch,
            MAX_REQUEST_BYTES,
            &|spans| encode::request(spans, &resource),
            &mut requests,
            &mut oversized,
        );
        assert_eq!(requests.len(), 1);
        assert!(requests[0].0.len() <= MAX_REQUEST_BYTES);
        assert_eq!(requests[0].1, 1);
        assert!(oversized[0].bytes > 3 * 5_000_000, "{}", oversized[0].bytes);
        // Three texts of 2 MB (a million two-byte characters) are too large; of 512 kB fit.
        assert_eq!(oversized[0].cut_to, Some(FIRST_CUT / 4));
        let [span] = &batch;
        let cut = "é".repeat(FIRST_CUT / 4);
        assert_eq!(span.attributes[0].value.as_str(), cut);
        assert_eq!(span.attributes[1].value.as_str(), "POST");
        assert_eq!(span.events.events[0].name, cut);
        assert_eq!(span.status, Status::error(cut));
        assert_eq!(span.name, "POST /dogs");
    }
}
