//! Where the bridge's spans go: the sampler, the ids, the limits and the span processors
//! of the pipeline `init()` builds.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{Link, SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, Sampler, SpanData, SpanEvents, SpanLimits, SpanLinks,
    SpanProcessor,
};
use opentelemetry_sdk::Resource;

/// The span processors shared by the tracer provider and the bridge: the provider ends
/// the tower layers' spans into them, the bridge its own.
///
/// Why not through the provider: the SDK gives a span its ids when it starts, and a
/// `tracing` span needs them when it is made (its children and its log lines carry them),
/// but the SDK span would then live, with its box, `Arc` and mutex, for as long as the
/// `tracing` span does. The bridge keeps a compact record instead and hands the finished
/// [`SpanData`] to the same processors, so the span is counted, masked, limited and
/// exported exactly as the SDK's own spans are.
#[derive(Clone, Debug)]
pub(crate) struct SharedProcessor {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    processor: Box<dyn SpanProcessor>,
    shut_down: AtomicBool,
}

impl SharedProcessor {
    /// Shares `processor`, whose resource is set here: the provider cannot set it through
    /// a shared reference.
    pub(crate) fn new<P: SpanProcessor + 'static>(mut processor: P, resource: &Resource) -> Self {
        processor.set_resource(resource);
        Self {
            inner: Arc::new(Shared {
                processor: Box::new(processor),
                shut_down: AtomicBool::new(false),
            }),
        }
    }

    fn end(&self, span: SpanData) {
        if !self.inner.shut_down.load(Ordering::Relaxed) {
            self.inner.processor.on_end(span);
        }
    }
}

impl SpanProcessor for SharedProcessor {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &Context) {
        self.inner.processor.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.inner.processor.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.processor.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shut_down.store(true, Ordering::Relaxed);
        self.inner.processor.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, _resource: &Resource) {
        // Set once in `new`, before the processor was shared.
    }
}

/// What the bridge needs of the pipeline: the same sampler, id generator and limits as
/// the tracer provider, and its processors (none when spans go nowhere).
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub(crate) sampler: Sampler,
    ids: RandomIdGenerator,
    limits: SpanLimits,
    scope: InstrumentationScope,
    processor: Option<SharedProcessor>,
}

/// A finished span, in the bridge's terms.
pub(crate) struct Finished {
    pub(crate) span_context: SpanContext,
    pub(crate) parent_span_id: SpanId,
    pub(crate) parent_is_remote: bool,
    pub(crate) kind: SpanKind,
    pub(crate) name: Cow<'static, str>,
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) events: Vec<opentelemetry::trace::Event>,
    pub(crate) links: Vec<Link>,
    pub(crate) status: Status,
}

impl Pipeline {
    pub(crate) fn new(
        sampler: Sampler,
        limits: SpanLimits,
        scope: InstrumentationScope,
        processor: Option<SharedProcessor>,
    ) -> Self {
        Self {
            sampler,
            ids: RandomIdGenerator::default(),
            limits,
            scope,
            processor,
        }
    }

    pub(crate) fn new_trace_id(&self) -> opentelemetry::trace::TraceId {
        self.ids.new_trace_id()
    }

    pub(crate) fn new_span_id(&self) -> SpanId {
        self.ids.new_span_id()
    }

    /// Whether ended spans go anywhere.
    pub(crate) fn exports(&self) -> bool {
        self.processor.is_some()
    }

    /// Hands a finished, sampled span to the processors, with the span limits applied
    /// as the SDK applies them.
    pub(crate) fn end(&self, span: Finished) {
        let Some(processor) = &self.processor else {
            return;
        };
        let limits = &self.limits;
        let mut attributes = span.attributes;
        let dropped_attributes_count = truncate(&mut attributes, limits.max_attributes_per_span);
        let mut events = span.events;
        let dropped_events = truncate(&mut events, limits.max_events_per_span);
        for event in &mut events {
            event.dropped_attributes_count =
                truncate(&mut event.attributes, limits.max_attributes_per_event);
        }
        let mut links = span.links;
        let dropped_links = truncate(&mut links, limits.max_links_per_span);
        for link in &mut links {
            link.dropped_attributes_count =
                truncate(&mut link.attributes, limits.max_attributes_per_link);
        }
        let mut span_events = SpanEvents::default();
        span_events.events = events;
        span_events.dropped_count = dropped_events;
        let mut span_links = SpanLinks::default();
        span_links.links = links;
        span_links.dropped_count = dropped_links;
        processor.end(SpanData {
            span_context: span.span_context,
            parent_span_id: span.parent_span_id,
            parent_span_is_remote: span.parent_is_remote,
            span_kind: span.kind,
            name: span.name,
            start_time: span.start,
            end_time: span.end,
            attributes,
            dropped_attributes_count,
            events: span_events,
            links: span_links,
            status: span.status,
            instrumentation_scope: self.scope.clone(),
        });
    }
}

/// Cuts `items` to `limit`; returns how many were cut.
fn truncate<T>(items: &mut Vec<T>, limit: u32) -> u32 {
    let limit = limit as usize;
    let dropped = items.len().saturating_sub(limit);
    items.truncate(limit);
    u32::try_from(dropped).unwrap_or(u32::MAX)
}
