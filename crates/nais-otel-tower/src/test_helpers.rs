//! Shared test scaffolding: an SDK provider with an in-memory exporter, bodies, lookups.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::Value;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler, SdkTracerProvider, SpanData};

use crate::{ClientLayer, ServerLayer};

pub(crate) struct Harness {
    pub(crate) provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
    }

    /// A harness whose provider samples with `sampler`.
    pub(crate) fn with_sampler(sampler: Sampler) -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_sampler(sampler)
            .with_simple_exporter(exporter.clone())
            .build();
        Self { provider, exporter }
    }

    pub(crate) fn server_layer(&self) -> ServerLayer {
        ServerLayer::new()
            .tracer(self.provider.tracer("test"))
            .propagator(TraceContextPropagator::new())
    }

    pub(crate) fn client_layer(&self) -> ClientLayer {
        ClientLayer::new()
            .tracer(self.provider.tracer("test"))
            .propagator(TraceContextPropagator::new())
    }

    pub(crate) fn spans(&self) -> Vec<SpanData> {
        self.exporter.get_finished_spans().unwrap()
    }

    pub(crate) fn only_span(&self) -> SpanData {
        let mut spans = self.spans();
        assert_eq!(spans.len(), 1, "expected one span, got {spans:#?}");
        spans.remove(0)
    }
}

pub(crate) fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

pub(crate) fn str_attr(span: &SpanData, key: &str) -> Option<String> {
    attr(span, key).map(|v| v.as_str().into_owned())
}

pub(crate) fn int_attr(span: &SpanData, key: &str) -> Option<i64> {
    match attr(span, key) {
        Some(Value::I64(v)) => Some(*v),
        None => None,
        other => panic!("{key} is not an int: {other:?}"),
    }
}

/// No attribute is an empty string: unknown values are left out.
pub(crate) fn assert_no_empty_attributes(span: &SpanData) {
    for kv in &span.attributes {
        assert_ne!(kv.value.as_str(), "", "{} is empty", kv.key);
    }
}

/// A body that yields the given frames, for trailers.
#[derive(Debug, Default)]
pub(crate) struct FramesBody(pub(crate) VecDeque<Frame<Bytes>>);

impl FramesBody {
    pub(crate) fn data_then_trailers(data: &'static str, trailers: HeaderMap) -> Self {
        Self(VecDeque::from([
            Frame::data(Bytes::from_static(data.as_bytes())),
            Frame::trailers(trailers),
        ]))
    }
}

impl Body for FramesBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(Ok))
    }
}

/// A body fed from a channel, to end a response late.
#[derive(Debug)]
pub(crate) struct ChannelBody(pub(crate) tokio::sync::mpsc::Receiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}
