//! [`SpanExt`]: what code does to a `tracing` span's OpenTelemetry span after making it.

use std::borrow::Cow;
use std::fmt;

use opentelemetry::trace::{Event, Link, SpanContext, Status};
use opentelemetry::{Context, Key, KeyValue, Value};
use tracing_subscriber::registry::{LookupSpan, Registry};

use super::layer::{context_in, BridgeLayer};
use super::pipeline::Pipeline;
use super::record::{PassThrough, SpanRecord};

mod sealed {
    pub trait Sealed {}
    impl Sealed for tracing::Span {}
}

/// The OpenTelemetry side of a `tracing` span: its context, a remote parent, links,
/// attributes, status and events added after the span was made.
///
/// The same methods as tracing-opentelemetry's `OpenTelemetrySpanExt`, so moving to it
/// is a change of `use`. It works with either bridge ([`Bridge`](crate::bridge::Bridge)):
/// on spans of nais-otel's it acts on its record, otherwise it hands the call to
/// tracing-opentelemetry.
///
/// On a span the bridge does not export (a DEBUG span, passed through), `context()` gives
/// the context it passes on, `set_parent` returns [`SetParentErrorKind::NotTraced`], and
/// the others act on the exported span above it: a `Span::current().set_attribute(..)`
/// inside an `#[instrument(level = "debug")]` function lands where it lands when
/// `RUST_LOG` makes no DEBUG spans.
///
/// ```
/// use nais_otel::SpanExt as _;
/// use opentelemetry::trace::Status;
///
/// let span = tracing::info_span!("consume", otel.kind = "consumer");
/// // A Kafka consumer: the producer's context, read from the record's headers.
/// let remote = opentelemetry::Context::new();
/// let _ = span.set_parent(remote);
/// span.set_attribute("messaging.kafka.offset", 42_i64);
/// span.set_status(Status::Ok);
/// ```
pub trait SpanExt: sealed::Sealed {
    /// Makes `cx`'s span (a remote one, say, from a message's headers) this span's parent.
    ///
    /// # Errors
    ///
    /// When the span has been entered already, has a child, or is followed from (those
    /// carry the old trace already), or is not traced by a bridge (disabled, or no bridge
    /// in the subscriber).
    fn set_parent(&self, cx: Context) -> Result<(), SetParentError>;

    /// Adds a link to another span.
    fn add_link(&self, cx: SpanContext);

    /// Adds a link to another span, with attributes.
    fn add_link_with_attributes(&self, cx: SpanContext, attributes: Vec<KeyValue>);

    /// This span's context: its parent's context with this span in it. The same as
    /// `Context::current()` while the span is entered. For a span the bridge passes
    /// through (a DEBUG span under `init()`), the context it passes on; empty when the
    /// span is not traced.
    fn context(&self) -> Context;

    /// Sets an attribute; a later value for the same key is added, not replaced.
    fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>);

    /// Sets the status. `Ok` is final; an error does not replace `Ok`, and `Unset` is
    /// ignored, as the OpenTelemetry API asks.
    fn set_status(&self, status: Status);

    /// Adds an event, timestamped now.
    fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>);
}

/// Why [`SpanExt::set_parent`] did not set the parent. See [`SetParentError::kind`].
#[derive(Debug)]
pub struct SetParentError {
    kind: SetParentErrorKind,
}

/// What kind of [`SetParentError`] it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetParentErrorKind {
    /// The span was entered before, or a span was made under it or follows from it: it
    /// and those spans already have their trace.
    AlreadyEntered,
    /// The span is disabled, or no bridge turns it into an OpenTelemetry span.
    NotTraced,
}

impl SetParentError {
    /// What kind of error it is.
    pub fn kind(&self) -> SetParentErrorKind {
        self.kind
    }
}

impl fmt::Display for SetParentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SetParentErrorKind::AlreadyEntered => {
                f.write_str("the span was entered, or has a child, before its parent was set")
            }
            SetParentErrorKind::NotTraced => {
                f.write_str("the span is not traced (disabled, or no bridge layer)")
            }
        }
    }
}

impl std::error::Error for SetParentError {}

/// Runs `f` on `span`'s record, if nais-otel's bridge keeps one for it.
fn with_record<R>(
    span: &tracing::Span,
    f: impl FnOnce(&mut SpanRecord, &Pipeline) -> R,
) -> Option<R> {
    on_record(span, false, f)
}

/// Runs `f` on the record of `span` or, for a span the bridge passes through, of the
/// exported span above it: where a `Span::current()` call inside a DEBUG span lands when
/// `RUST_LOG` makes no DEBUG spans, so turning logs up does not move it.
fn with_exported_record<R>(
    span: &tracing::Span,
    f: impl FnOnce(&mut SpanRecord, &Pipeline) -> R,
) -> Option<R> {
    on_record(span, true, f)
}

fn on_record<R>(
    span: &tracing::Span,
    passed_through: bool,
    f: impl FnOnce(&mut SpanRecord, &Pipeline) -> R,
) -> Option<R> {
    span.with_subscriber(|(id, dispatch)| {
        let layer = dispatch.downcast_ref::<BridgeLayer>()?;
        let registry = dispatch.downcast_ref::<Registry>()?;
        let mut data = registry.span(id)?;
        if passed_through {
            while data.extensions().get::<PassThrough>().is_some() {
                data = data.parent()?;
            }
        }
        let mut extensions = data.extensions_mut();
        let record = extensions.get_mut::<SpanRecord>()?;
        Some(f(record, &layer.pipeline))
    })
    .flatten()
}

impl SpanExt for tracing::Span {
    fn set_parent(&self, cx: Context) -> Result<(), SetParentError> {
        let mut cx = Some(cx);
        let ours = with_record(self, |record, pipeline| {
            if record.passed_on.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(SetParentErrorKind::AlreadyEntered);
            }
            if let Some(cx) = cx.take() {
                pipeline.set_parent(record, &cx);
            }
            Ok(())
        });
        let result = match (ours, cx) {
            (Some(result), _) => result,
            (None, Some(cx)) => tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(self, cx)
                .map_err(|error| match error {
                    tracing_opentelemetry::SetParentError::AlreadyStarted => {
                        SetParentErrorKind::AlreadyEntered
                    }
                    _ => SetParentErrorKind::NotTraced,
                }),
            (None, None) => Err(SetParentErrorKind::NotTraced),
        };
        result.map_err(|kind| SetParentError { kind })
    }

    fn add_link(&self, cx: SpanContext) {
        SpanExt::add_link_with_attributes(self, cx, Vec::new());
    }

    fn add_link_with_attributes(&self, cx: SpanContext, attributes: Vec<KeyValue>) {
        if !cx.is_valid() {
            return;
        }
        let mut link = Some((cx, attributes));
        let ours = with_exported_record(self, |record, _| {
            if let Some((cx, attributes)) = link.take() {
                record.extras().links.push(Link::new(cx, attributes, 0));
            }
        });
        if ours.is_none() {
            if let Some((cx, attributes)) = link {
                tracing_opentelemetry::OpenTelemetrySpanExt::add_link_with_attributes(
                    self, cx, attributes,
                );
            }
        }
    }

    fn context(&self) -> Context {
        self.with_subscriber(|(id, dispatch)| {
            dispatch.downcast_ref::<BridgeLayer>()?;
            let data = dispatch.downcast_ref::<Registry>()?.span(id)?;
            let cx = context_in(&data.extensions());
            cx
        })
        .flatten()
        .unwrap_or_else(|| tracing_opentelemetry::OpenTelemetrySpanExt::context(self))
    }

    fn set_attribute(&self, key: impl Into<Key>, value: impl Into<Value>) {
        let mut attribute = Some(KeyValue::new(key, value));
        let ours = with_exported_record(self, |record, _| {
            record.attributes.extend(attribute.take());
        });
        if let (None, Some(attribute)) = (ours, attribute) {
            tracing_opentelemetry::OpenTelemetrySpanExt::set_attribute(
                self,
                attribute.key,
                attribute.value,
            );
        }
    }

    fn set_status(&self, status: Status) {
        if status == Status::Unset {
            return;
        }
        let mut status = Some(status);
        let ours = with_exported_record(self, |record, _| {
            if let Some(status) = status.take() {
                if record.status != Status::Ok {
                    record.status = status;
                }
            }
        });
        if let (None, Some(status)) = (ours, status) {
            tracing_opentelemetry::OpenTelemetrySpanExt::set_status(self, status);
        }
    }

    fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        let mut event = Some(Event::new(name, opentelemetry::time::now(), attributes, 0));
        let ours = with_exported_record(self, |record, _| {
            record.events.extend(event.take());
        });
        if let (None, Some(event)) = (ours, event) {
            tracing_opentelemetry::OpenTelemetrySpanExt::add_event_with_timestamp(
                self,
                event.name,
                event.timestamp,
                event.attributes,
            );
        }
    }
}
