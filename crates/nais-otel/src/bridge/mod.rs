//! `tracing` spans as OpenTelemetry spans: nais-otel's own bridge.
//!
//! [`crate::init`] installs [`BridgeLayer`] in its subscriber. Every `tracing` span at
//! INFO or above (`#[tracing::instrument]`, `info_span!`) becomes an OpenTelemetry span
//! in the same pipeline as the tower layers' spans: the same sampler, limits, masking,
//! span counts and exporter.
//!
//! # What it does
//!
//! - A span's parent is its `tracing` parent, or, for a span without one, whatever
//!   context is current: the request span while a handler runs under
//!   [`crate::server_layer`], across `.await` and `Instrument`.
//! - While a span is entered, `opentelemetry::Context::current()` is its context, so the
//!   client layer sends its `traceparent` and the JSON log lines carry its `trace_id` and
//!   `span_id`. A span entered again while a span under it is entered leaves that one
//!   current, as `tracing` does.
//! - In `init()`'s subscriber, a span that is not exported (a DEBUG span when `RUST_LOG`
//!   makes them) passes its parent's context on: while it is entered, the context is that
//!   of the exported span above it, so what runs under it, in a task spawned from it too,
//!   stays in that span's trace, and its events become that span's events.
//! - Fields become attributes with their types: an integer stays an integer (a `u64`
//!   above `i64::MAX` becomes its decimal text), a `bool` a boolean. A field recorded
//!   through `Debug` or `Display` (`?x`, `%x`, and `#[instrument]`'s arguments that are
//!   neither numbers, booleans nor strings, a destructured `Path(id): Path<u32>` among
//!   them) is its text, or an integer when that text is a whole number as an integer's
//!   `Debug` writes it (`3`, `-40`; not `007` or `+5`).
//! - Events inside a span become span events, named by their message, with `level`,
//!   `target` and their fields as attributes.
//! - `otel.name` renames the span, `otel.kind` sets its kind (`server`, `client`,
//!   `producer`, `consumer`, `internal`), `otel.status_code` (`ok`, `error`) and
//!   `otel.status_description` its status.
//! - An event with an `error` field (what `#[instrument(err)]` records) or an error value
//!   gets `exception.message` (and `exception.stacktrace`, the texts of the error's
//!   sources, when it has any), and sets the span's status to ERROR with that text. It is
//!   named by its message, or `exception` when it has none, as `#[instrument(err)]`'s
//!   events. Any ERROR event sets the status to ERROR. The text is masked on export like
//!   every status description (see [`crate::privacy`]).
//! - [`SpanExt`] sets a remote parent, links, attributes, status and events after the
//!   span is made, and gives its context.
//! - Busy/idle time, thread and code location are off; [`BridgeLayer::with_timings`],
//!   [`BridgeLayer::with_threads`] and [`BridgeLayer::with_location`] (or the
//!   [`Builder`](crate::Builder)'s `with_span_*`) turn them on.
//!
//! # Why a bridge of our own
//!
//! tracing-opentelemetry starts an SDK span when a `tracing` span is first entered and
//! keeps it, with its box, `Arc` and mutex, in the span's extensions; it reads the clock
//! on every enter and exit for busy/idle time, records thread and code location, and
//! formats unsigned integers through `Debug`. This bridge decides a span's ids and
//! sampling when the span is made (so its context exists from the start), gathers
//! attributes and events in a plain record, and hands that record's parts to the
//! pipeline's batch processor as the registry drops it, when the span closes; the export
//! thread makes the `SpanData` of it, with the span limits applied. `docs/benchmarks.md`
//! has the figures.
//!
//! # Moving from tracing-opentelemetry
//!
//! tracing-opentelemetry's `OpenTelemetrySpanExt` does nothing on spans of this bridge
//! (`context()` returns an empty context, `set_parent` an error). Either:
//!
//! - replace `use tracing_opentelemetry::OpenTelemetrySpanExt` with
//!   `use nais_otel::SpanExt`: the same methods, and they work with either bridge; or
//! - keep tracing-opentelemetry: `nais_otel::builder().with_bridge(Bridge::TracingOpenTelemetry)`.
//!
//! Unlike tracing-opentelemetry's, the OpenTelemetry span in `Context::current()` while a
//! `tracing` span is entered is not recording: add attributes to it with
//! [`SpanExt::set_attribute`] on `tracing::Span::current()`, not through
//! `Context::current().span()`.
//!
//! # Example
//!
//! ```
//! use nais_otel::SpanExt as _;
//! use opentelemetry_sdk::trace::InMemorySpanExporter;
//! use tracing_subscriber::layer::SubscriberExt as _;
//!
//! let exporter = InMemorySpanExporter::default();
//! let guard = nais_otel::builder()
//!     .with_env_lookup(|_| None)
//!     .with_span_exporter(exporter.clone())
//!     .with_globals(false)
//!     .init()
//!     .unwrap();
//! let layer = guard.tracing_layer().expect("tracing is on");
//! tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
//!     let span = tracing::info_span!("load", dog_id = 7_u32);
//!     let _entered = span.enter();
//!     tracing::info!(breed = "vizsla", "loaded");
//!     span.set_attribute("cache.hit", true);
//! });
//! guard.force_flush();
//! let spans = exporter.get_finished_spans().unwrap();
//! assert_eq!(spans[0].name, "load");
//! assert_eq!(spans[0].events.events[0].name, "loaded");
//! ```

mod ext;
mod interest;
mod layer;
mod pipeline;
mod record;

pub use self::ext::{SetParentError, SetParentErrorKind, SpanExt};
pub(crate) use self::interest::{wanted, EXCLUDED_TARGETS};
pub(crate) use self::layer::context_of;
pub use self::layer::BridgeLayer;
pub(crate) use self::pipeline::{Chain, Finisher, Pipeline, SharedProcessor};

/// Which layer [`crate::init`] installs to turn `tracing` spans into OpenTelemetry
/// spans. See the [module docs](self).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Bridge {
    /// nais-otel's [`BridgeLayer`]. The default.
    #[default]
    NaisOtel,
    /// tracing-opentelemetry's layer, for code that uses its `OpenTelemetrySpanExt`.
    TracingOpenTelemetry,
}
