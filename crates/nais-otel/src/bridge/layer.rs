//! [`BridgeLayer`]: `tracing` spans and events into OpenTelemetry spans.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use opentelemetry::trace::{Event, Link, SpanKind, Status};
use opentelemetry::{Context, ContextGuard, KeyValue, Value};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Level, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::{Extensions, LookupSpan, SpanRef};
use tracing_subscriber::Layer;

use super::interest::wanted;
use super::pipeline::{Pipeline, Started};
use super::record::{nanos, EventFields, Extras, PassThrough, SpanFields, SpanRecord, Timings};

/// A `tracing` layer that turns spans into OpenTelemetry spans and events into span
/// events, on the pipeline [`crate::init`] built. See the [module docs](crate::bridge).
///
/// [`crate::init`] installs it; [`Guard::tracing_layer`](crate::Guard::tracing_layer)
/// gives one for a subscriber of your own.
#[derive(Clone)]
#[must_use]
pub struct BridgeLayer {
    pub(crate) pipeline: Arc<Pipeline>,
    timings: bool,
    threads: bool,
    location: bool,
    /// In `init()`'s subscriber: spans that are not `wanted` are passed through, and such
    /// events are not recorded (see [`wanted_only`](Self::wanted_only)).
    wanted_only: bool,
    /// Installed without a per-layer filter: it decides its own interest (see
    /// [`deciding_interest`](Self::deciding_interest)).
    own_interest: bool,
}

impl fmt::Debug for BridgeLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BridgeLayer")
            .field("timings", &self.timings)
            .field("threads", &self.threads)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// The spans this thread entered, innermost last, with the context attached for each;
    /// none for a span entered again inside itself.
    static ENTERED: RefCell<Vec<(Id, Option<ContextGuard>)>> = const { RefCell::new(Vec::new()) };
    /// `thread.id`: the number in `ThreadId`'s `Debug` text, read once a thread.
    static THREAD_ID: i64 = thread_number();
}

impl BridgeLayer {
    pub(crate) fn new(pipeline: Arc<Pipeline>) -> Self {
        Self {
            pipeline,
            timings: false,
            threads: false,
            location: false,
            wanted_only: false,
            own_interest: false,
        }
    }

    /// This layer for `init()`'s subscriber: it exports the spans and records the events
    /// the bridge wants (INFO and above, not of the SDK's or nais-otel's own targets; see
    /// the `interest` module), and passes the other spans it sees through
    /// ([`PassThrough`]): while one is entered, the context current is that of the span
    /// above it, so the spans, client calls and log lines under a DEBUG span stay in
    /// their trace when `RUST_LOG` makes DEBUG spans.
    pub(crate) fn wanted_only(mut self) -> Self {
        self.wanted_only = true;
        self
    }

    /// This layer for a subscriber whose log filter enables INFO and above everywhere,
    /// without a per-layer filter: it says it wants no callsite below INFO (so the
    /// callsite is off for the whole subscriber) and skips the spans and events of the
    /// SDK's and nais-otel's own targets. See the `interest` module.
    pub(crate) fn deciding_interest(mut self) -> Self {
        self.own_interest = true;
        self.wanted_only()
    }

    /// Whether spans get `busy_ns` and `idle_ns`: the time they were entered and the
    /// time they were not, between creation and close. Defaults to `false` (it reads
    /// the clock on every enter and exit).
    pub fn with_timings(mut self, on: bool) -> Self {
        self.timings = on;
        self
    }

    /// Whether spans get `thread.id` and `thread.name` of the thread that made them.
    /// Defaults to `false`.
    pub fn with_threads(mut self, on: bool) -> Self {
        self.threads = on;
        self
    }

    /// Whether spans get `code.file.path`, `code.module.name` and `code.line.number` of
    /// the code that made them. Defaults to `false`.
    pub fn with_location(mut self, on: bool) -> Self {
        self.location = on;
        self
    }

    fn extra_attributes(
        &self,
        attributes: &mut Vec<KeyValue>,
        meta: &'static tracing::Metadata<'static>,
    ) {
        if self.location {
            if let Some(file) = meta.file() {
                attributes.push(KeyValue::new("code.file.path", file));
            }
            if let Some(module) = meta.module_path() {
                attributes.push(KeyValue::new("code.module.name", module));
            }
            if let Some(line) = meta.line() {
                attributes.push(KeyValue::new("code.line.number", i64::from(line)));
            }
        }
        if self.threads {
            attributes.push(KeyValue::new("thread.id", THREAD_ID.with(|id| *id)));
            if let Some(name) = std::thread::current().name() {
                attributes.push(KeyValue::new("thread.name", name.to_owned()));
            }
        }
    }
}

impl<S> Layer<S> for BridgeLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static tracing::Metadata<'static>) -> Interest {
        // Never below INFO when deciding itself: the log filter enables nothing there
        // either. The excluded targets stay on for the log output, and every callsite is
        // checked again below: another subscriber in the process may make it `always`.
        if self.own_interest && *meta.level() > Level::INFO {
            Interest::never()
        } else {
            Interest::always()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.own_interest.then_some(LevelFilter::INFO)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let meta = attrs.metadata();
        if self.wanted_only && !wanted(meta) {
            pass_through(attrs, &ctx, &span);
            return;
        }
        let mut name = Cow::Borrowed(meta.name());
        let mut kind = SpanKind::Internal;
        let mut status = Status::Unset;
        // Sized for the fields. It is freed on this thread when the span ends (see
        // `export::batch::store`), so the next span's comes from this thread's cache.
        let mut attributes = Vec::with_capacity(
            attrs.fields().len() + 3 * usize::from(self.location) + 2 * usize::from(self.threads),
        );
        if self.location || self.threads {
            self.extra_attributes(&mut attributes, meta);
        }
        attrs.record(&mut SpanFields {
            name: &mut name,
            kind: &mut kind,
            status: &mut status,
            attributes: &mut attributes,
        });
        let span_id = self.pipeline.new_span_id();
        let start_under = |parent: &Context| -> Option<Started> {
            if parent.is_telemetry_suppressed() {
                return None;
            }
            Some(self.pipeline.start(parent, span_id, &name, &kind, &[]))
        };
        let Some(started) = with_parent(attrs, &ctx, start_under) else {
            return;
        };
        let record = SpanRecord {
            cx: started.cx,
            parent_span_id: started.parent_span_id,
            parent_is_remote: started.parent_is_remote,
            recording: started.recording,
            passed_on: AtomicBool::new(false),
            kind,
            name,
            start: opentelemetry::time::now(),
            attributes,
            status,
            events: Vec::new(),
            processor: self.pipeline.processor_id(),
            extras: self.timings.then(|| {
                Box::new(Extras {
                    timings: Some(Timings::new()),
                    ..Extras::default()
                })
            }),
        };
        span.extensions_mut().insert(record);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(record) = extensions.get_mut::<SpanRecord>() {
            values.record(&mut SpanFields {
                name: &mut record.name,
                kind: &mut record.kind,
                status: &mut record.status,
                attributes: &mut record.attributes,
            });
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: LayerContext<'_, S>) {
        let (Some(span), Some(follows)) = (ctx.span(id), ctx.span(follows)) else {
            return;
        };
        let Some(follows) = follows.extensions().get::<SpanRecord>().map(|record| {
            record.passed_on.store(true, Ordering::Relaxed);
            record.span_context()
        }) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(record) = extensions.get_mut::<SpanRecord>() {
            record.extras().links.push(Link::with_context(follows));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: LayerContext<'_, S>) {
        // A `log` record's metadata: its own target decides, not its event's (`log`).
        let record = event.normalized_metadata();
        if self.wanted_only && !wanted(record.as_ref().unwrap_or(event.metadata())) {
            return;
        }
        // The innermost span the bridge keeps: a span it skipped (an excluded target's, see
        // `deciding_interest`) passes its events on to its parent, as behind a per-layer
        // filter.
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let kept = |span: &SpanRef<'_, S>| {
            span.extensions()
                .get::<SpanRecord>()
                .map(|record| record.recording)
        };
        // The event's own span first: walking its scope looks it up again.
        let (span, recording) = match kept(&span) {
            Some(recording) => (span, recording),
            None => {
                let Some(found) = span
                    .scope()
                    .skip(1)
                    .find_map(|span| kept(&span).map(|recording| (span, recording)))
                else {
                    return;
                };
                found
            }
        };
        // Nothing is built for an event in a span that is not recorded.
        if !recording {
            return;
        }
        let meta = event.metadata();
        // Fields are read before the span's extensions are locked: a field's `Debug`
        // may itself log.
        let mut fields = EventFields::new(meta.fields().len() + 2);
        fields
            .attributes
            .push(KeyValue::new("level", Value::from(meta.level().as_str())));
        fields
            .attributes
            .push(KeyValue::new("target", Value::from(meta.target())));
        event.record(&mut fields);
        if let Some(record) = &record {
            log_record(&mut fields.attributes, record);
        }
        let name = fields.event_name(meta.name());
        let error = fields.error.take();
        let is_error = *meta.level() == Level::ERROR || error.is_some();
        let event = Event::new(name, opentelemetry::time::now(), fields.attributes, 0);
        let mut extensions = span.extensions_mut();
        let Some(record) = extensions.get_mut::<SpanRecord>() else {
            return;
        };
        if is_error && matches!(record.status, Status::Unset) {
            record.status = Status::error(error.unwrap_or_default());
        }
        if record.events.capacity() == 0 {
            // Most spans with events have one or two.
            record.events.reserve_exact(2);
        }
        record.events.push(event);
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let cx = {
            let extensions = span.extensions();
            if let Some(record) = extensions.get::<SpanRecord>() {
                record.passed_on.store(true, Ordering::Relaxed);
                record.cx.clone()
            } else if let Some(cx) = passed_on(&extensions) {
                cx
            } else {
                return;
            }
        };
        if self.timings {
            if let Some(timings) = span
                .extensions_mut()
                .get_mut::<SpanRecord>()
                .and_then(|record| record.extras.as_mut()?.timings.as_mut())
            {
                if timings.entered == 0 {
                    let now = Instant::now();
                    timings.idle_ns += nanos(now - timings.last);
                    timings.last = now;
                }
                timings.entered += 1;
            };
        }
        // `try_with`: during thread teardown nothing is attached.
        let _ = ENTERED.try_with(|entered| {
            let mut entered = entered.borrow_mut();
            // A span entered again inside itself leaves the context as it is: the
            // registry keeps the span entered after it as the current one, and so the
            // span its events go to and the ids its log lines carry.
            let again = entered.iter().any(|(entered, _)| entered == id);
            entered.push((id.clone(), (!again).then(|| cx.attach())));
        });
    }

    fn on_exit(&self, id: &Id, ctx: LayerContext<'_, S>) {
        let guard = ENTERED
            .try_with(|entered| {
                let mut entered = entered.borrow_mut();
                let at = entered.iter().rposition(|(entered, _)| entered == id)?;
                Some(entered.remove(at))
            })
            .ok()
            .flatten();
        // Dropped outside the borrow: it restores the context attached before.
        drop(guard);
        if self.timings {
            let Some(span) = ctx.span(id) else {
                return;
            };
            if let Some(timings) = span
                .extensions_mut()
                .get_mut::<SpanRecord>()
                .and_then(|record| record.extras.as_mut()?.timings.as_mut())
            {
                timings.entered = timings.entered.saturating_sub(1);
                if timings.entered == 0 {
                    let now = Instant::now();
                    timings.busy_ns += nanos(now - timings.last);
                    timings.last = now;
                }
            };
        }
    }
}

/// Calls `f` with the context a span made with `attrs` starts under: its explicit
/// parent's, the current one (read in place, not cloned), or none for an explicit root.
///
/// The current context is the innermost entered span's (attached on enter, a passed
/// through span's included), or what the tower layers attach while a handler runs. A
/// parent this layer does not see (filtered out) makes a root, as with
/// tracing-opentelemetry: a smaller tree rather than a wrong one.
fn with_parent<S, R>(
    attrs: &Attributes<'_>,
    ctx: &LayerContext<'_, S>,
    f: impl FnOnce(&Context) -> R,
) -> R
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if let Some(parent) = attrs.parent() {
        let parent = ctx
            .span(parent)
            .and_then(|parent| {
                let extensions = parent.extensions();
                // The parent's trace is its children's now: it can no longer change.
                if let Some(record) = extensions.get::<SpanRecord>() {
                    record.passed_on.store(true, Ordering::Relaxed);
                }
                context_in(&extensions)
            })
            .unwrap_or_default();
        f(&parent)
    } else if attrs.is_contextual() {
        Context::map_current(f)
    } else {
        f(&Context::new())
    }
}

/// The context of `span`, or of the nearest span above it, that the bridge keeps: what a
/// log line of an event in `span` carries the ids of.
pub(crate) fn context_of<S>(span: &SpanRef<'_, S>) -> Option<Context>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    span.scope().find_map(|span| context_in(&span.extensions()))
}

/// The context a span's `extensions` hold: its record's, or what it passes on when the
/// bridge passes it through; none for a span the bridge does not see.
pub(crate) fn context_in(extensions: &Extensions<'_>) -> Option<Context> {
    extensions
        .get::<SpanRecord>()
        .map(|record| record.cx.clone())
        .or_else(|| passed_on(extensions))
}

/// The attributes of a `log` record's event as of any event's: its target is the
/// record's (the event's is `log`), and the `log.*` fields that carry it go.
#[cold]
#[inline(never)]
fn log_record(attributes: &mut Vec<KeyValue>, record: &tracing::Metadata<'_>) {
    attributes.retain(|attribute| !attribute.key.as_str().starts_with("log."));
    if let Some(target) = attributes
        .iter_mut()
        .find(|attribute| attribute.key.as_str() == "target")
    {
        target.value = Value::from(record.target().to_owned());
    }
}

/// Keeps what a span the bridge does not export passes on: the context it is made under.
/// Out of line: it is not the way of the spans the bridge exports.
#[cold]
#[inline(never)]
fn pass_through<S>(attrs: &Attributes<'_>, ctx: &LayerContext<'_, S>, span: &SpanRef<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let cx = with_parent(attrs, ctx, Context::clone);
    span.extensions_mut().insert(PassThrough { cx });
}

/// The context a span the bridge passes through passes on, if `extensions` are of one.
#[cold]
#[inline(never)]
fn passed_on(extensions: &Extensions<'_>) -> Option<Context> {
    extensions
        .get::<PassThrough>()
        .map(|through| through.cx.clone())
}

fn thread_number() -> i64 {
    // `ThreadId::as_u64` is not stable; its `Debug` text is `ThreadId(N)`.
    let text = format!("{:?}", std::thread::current().id());
    text.trim_start_matches("ThreadId(")
        .trim_end_matches(')')
        .parse()
        .unwrap_or(0)
}
