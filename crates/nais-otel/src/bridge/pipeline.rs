//! Where the bridge's spans go: the sampler, the ids, the limits and the span processors
//! of the pipeline `init()` builds.

use std::sync::Arc;
use std::time::Duration;

use nais_otel_propagation::span_flags;
use opentelemetry::trace::{
    Link, SpanContext, SpanId, SpanKind, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, InstrumentationScope};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, ShouldSample as _, SpanData,
    SpanLimits, SpanProcessor,
};
use opentelemetry_sdk::Resource;

use super::record::SpanRecord;
use crate::export::{BatchProcessor, Finish, StoredRef};

/// The processor every span of `init()`'s pipeline ends into: the SDK's spans, and the
/// bridge's spans' parts, which [`Finisher`] finishes on the export thread.
pub(crate) type Chain = BatchProcessor<Finisher>;

/// The span processors shared by the tracer provider and the bridge: the provider ends
/// the tower layers' spans into them, the bridge its own.
///
/// Why not through the provider: the SDK gives a span its ids when it starts, and a
/// `tracing` span needs them when it is made (its children and its log lines carry them),
/// but the SDK span would then live, with its box, `Arc` and mutex, for as long as the
/// `tracing` span does. The bridge keeps a compact record instead and hands its parts to
/// the same batch processor, whose export thread finishes them ([`Finisher`]), so the span
/// is counted, masked, limited and exported exactly as the SDK's own spans are.
#[derive(Clone, Debug)]
pub(crate) struct SharedProcessor {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    processor: Chain,
}

impl SharedProcessor {
    /// Shares `processor`, whose resource is set here: the provider cannot set it through
    /// a shared reference.
    pub(crate) fn new(mut processor: Chain, resource: &Resource) -> Self {
        processor.set_resource(resource);
        Self {
            inner: Arc::new(Shared { processor }),
        }
    }

    /// The id the bridge's spans end into ([`crate::export::end_span`]).
    fn id(&self) -> usize {
        self.inner.processor.id()
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
        self.inner.processor.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, _resource: &Resource) {
        // Set once in `new`, before the processor was shared.
    }
}

/// A span's start: its context (the parent's, with this span in it), whether it is
/// recorded, its parent span's id and whether that parent is remote.
pub(crate) struct Started {
    pub(crate) cx: Context,
    pub(crate) recording: bool,
    pub(crate) parent_span_id: SpanId,
    pub(crate) parent_is_remote: bool,
}

/// What the bridge needs of the pipeline: the same sampler, id generator and limits as
/// the tracer provider, and its processors (none when spans go nowhere).
#[derive(Debug)]
pub(crate) struct Pipeline {
    sampler: Sampler,
    /// The sampler is `parentbased_always_on`, the default: decided here without the
    /// sampler's call and its result's allocation-free but not free bookkeeping.
    parent_or_on: bool,
    ids: RandomIdGenerator,
    processor: Option<SharedProcessor>,
}

impl Pipeline {
    pub(crate) fn new(
        sampler: Sampler,
        parent_or_on: bool,
        processor: Option<SharedProcessor>,
    ) -> Self {
        Self {
            sampler,
            parent_or_on,
            ids: RandomIdGenerator::default(),
            processor,
        }
    }

    pub(crate) fn new_trace_id(&self) -> TraceId {
        self.ids.new_trace_id()
    }

    pub(crate) fn new_span_id(&self) -> SpanId {
        self.ids.new_span_id()
    }

    /// Whether ended spans go anywhere.
    pub(crate) fn exports(&self) -> bool {
        self.processor.is_some()
    }

    /// The id of the processor spans end into ([`crate::export::end_span`]); meaningless
    /// when spans go nowhere, as no span is recorded then.
    pub(crate) fn processor_id(&self) -> usize {
        self.processor
            .as_ref()
            .map_or(usize::MAX, SharedProcessor::id)
    }

    /// Starts a span under `parent`: its trace id (the parent's, or a new one), the
    /// sampler's decision and the context that carries it.
    pub(crate) fn start(
        &self,
        parent: &Context,
        span_id: SpanId,
        name: &str,
        kind: &SpanKind,
        links: &[Link],
    ) -> Started {
        let parent_span = parent.span();
        let parent_sc = parent_span.span_context();
        let (trace_id, parent_span_id, parent_is_remote, flags) = if parent_sc.is_valid() {
            (
                parent_sc.trace_id(),
                parent_sc.span_id(),
                parent_sc.is_remote(),
                parent_sc.trace_flags(),
            )
        } else {
            (
                self.new_trace_id(),
                SpanId::INVALID,
                false,
                TraceFlags::default(),
            )
        };
        // The sampled flag is the sampler's, whether or not spans go anywhere: it travels
        // on to the services this one calls.
        let (sampled, trace_state) = self.sample(parent, parent_sc, trace_id, name, kind, links);
        // `random` from the parent, or set for a trace started here (see `span_flags`).
        let flags = span_flags(parent_sc, flags.with_sampled(sampled));
        let sc = SpanContext::new(trace_id, span_id, flags, false, trace_state);
        Started {
            cx: parent.with_remote_span_context(sc),
            recording: sampled && self.exports(),
            parent_span_id,
            parent_is_remote,
        }
    }

    /// Makes `record` a child of `parent`: the parent's trace, a new sampling decision.
    pub(crate) fn set_parent(&self, record: &mut SpanRecord, parent: &Context) {
        let span_id = record.cx.span().span_context().span_id();
        let links = record
            .extras
            .as_ref()
            .map_or(&[][..], |extras| &extras.links);
        let started = self.start(parent, span_id, &record.name, &record.kind, links);
        record.cx = started.cx;
        record.recording = started.recording;
        record.parent_span_id = started.parent_span_id;
        record.parent_is_remote = started.parent_is_remote;
    }

    /// The sampler's decision for a span under `parent`, whose span context is
    /// `parent_sc`, and the trace state to carry.
    fn sample(
        &self,
        parent: &Context,
        parent_sc: &SpanContext,
        trace_id: TraceId,
        name: &str,
        kind: &SpanKind,
        links: &[Link],
    ) -> (bool, TraceState) {
        if self.parent_or_on {
            // What `ParentBased(AlwaysOn)` decides: the parent's flag, or sampled for a root.
            return if parent_sc.is_valid() {
                (parent_sc.is_sampled(), parent_sc.trace_state().clone())
            } else {
                (true, TraceState::default())
            };
        }
        let result = self
            .sampler
            .should_sample(Some(parent), trace_id, name, kind, &[], links);
        (
            matches!(result.decision, SamplingDecision::RecordAndSample),
            result.trace_state,
        )
    }
}

/// Makes the bridge's records spans, on the export thread: the span limits applied as the
/// SDK applies them, and nais-otel's instrumentation scope.
#[derive(Debug)]
pub(crate) struct Finisher {
    limits: SpanLimits,
    scope: InstrumentationScope,
}

impl Finisher {
    pub(crate) fn new(limits: SpanLimits, scope: InstrumentationScope) -> Self {
        Self { limits, scope }
    }
}

impl Finish for Finisher {
    fn stored_scope(&self, span: &StoredRef<'_>) -> Option<&InstrumentationScope> {
        let limits = &self.limits;
        let within =
            |count: usize, dropped: u32, limit: u32| dropped == 0 && count <= limit as usize;
        let links = span.links();
        let unchanged = within(
            span.attribute_count(),
            span.dropped_attributes_count(),
            limits.max_attributes_per_span,
        ) && within(
            span.event_count(),
            span.dropped_events_count(),
            limits.max_events_per_span,
        ) && span.events().all(|event| {
            within(
                event.attribute_count(),
                event.dropped_attributes_count(),
                limits.max_attributes_per_event,
            )
        }) && within(
            links.links.len(),
            links.dropped_count,
            limits.max_links_per_span,
        ) && links.links.iter().all(|link| {
            within(
                link.attributes.len(),
                link.dropped_attributes_count,
                limits.max_attributes_per_link,
            )
        });
        unchanged.then_some(&self.scope)
    }

    fn finish(&self, span: &mut SpanData) {
        let limits = &self.limits;
        span.instrumentation_scope = self.scope.clone();
        span.dropped_attributes_count =
            truncate(&mut span.attributes, limits.max_attributes_per_span);
        span.events.dropped_count = truncate(&mut span.events.events, limits.max_events_per_span);
        for event in &mut span.events.events {
            event.dropped_attributes_count =
                truncate(&mut event.attributes, limits.max_attributes_per_event);
        }
        span.links.dropped_count = truncate(&mut span.links.links, limits.max_links_per_span);
        for link in &mut span.links.links {
            link.dropped_attributes_count =
                truncate(&mut link.attributes, limits.max_attributes_per_link);
        }
    }
}

/// Cuts `items` to `limit`; returns how many were cut.
fn truncate<T>(items: &mut Vec<T>, limit: u32) -> u32 {
    let limit = limit as usize;
    let dropped = items.len().saturating_sub(limit);
    items.truncate(limit);
    u32::try_from(dropped).unwrap_or(u32::MAX)
}
