//! The `traceparent` header: a strict parser and formatter.
//!
//! See the [crate docs](crate) for the rules this parser follows.

use std::fmt;
use std::str::FromStr;

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

mod error;
mod parse;

pub use self::error::{ParseTraceParentError, TraceParentErrorKind};
use self::parse::parse;

/// A parsed and validated `traceparent` header value.
///
/// A `TraceParent` always has a non-zero trace-id and parent-id, and its flags
/// hold only the flags W3C Trace Context Level 2 defines (`sampled` and `random`).
/// It is always formatted as version `00`, the highest version this crate knows,
/// as [§ Versioning of traceparent] requires.
///
/// # Examples
///
/// ```
/// use nais_otel_propagation::TraceParent;
///
/// let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03".parse()?;
/// assert!(tp.is_sampled());
/// assert!(tp.is_random());
/// assert_eq!(tp.to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
/// # Ok::<(), nais_otel_propagation::ParseTraceParentError>(())
/// ```
///
/// [§ Versioning of traceparent]: https://www.w3.org/TR/trace-context-2/#versioning-of-traceparent
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    version: u8,
    trace_id: TraceId,
    parent_id: SpanId,
    flags: TraceFlags,
}

impl TraceParent {
    /// The `traceparent` version this crate writes.
    pub const SUPPORTED_VERSION: u8 = 0x00;

    /// The `sampled` flag (`0x01`).
    pub const FLAG_SAMPLED: TraceFlags = TraceFlags::new(0x01);

    /// The `random` flag (`0x02`), new in Trace Context Level 2: the right-most
    /// 7 bytes of the trace-id are random.
    pub const FLAG_RANDOM: TraceFlags = TraceFlags::new(0x02);

    /// Every flag Trace Context Level 2 defines. Other bits are reserved and are
    /// set to zero when parsing and formatting (§ Other Flags).
    pub const KNOWN_FLAGS: TraceFlags = TraceFlags::new(0x03);

    /// Creates a version `00` `TraceParent`.
    ///
    /// Returns `None` when the trace-id or parent-id is all zeroes. Reserved flag
    /// bits are cleared.
    pub fn new(trace_id: TraceId, parent_id: SpanId, flags: TraceFlags) -> Option<Self> {
        if trace_id == TraceId::INVALID || parent_id == SpanId::INVALID {
            return None;
        }
        Some(Self {
            version: Self::SUPPORTED_VERSION,
            trace_id,
            parent_id,
            flags: flags & Self::KNOWN_FLAGS,
        })
    }

    /// Creates a `TraceParent` from the ids and flags of a span context.
    ///
    /// Returns `None` when the span context is not valid.
    pub fn from_span_context(span_context: &SpanContext) -> Option<Self> {
        Self::new(
            span_context.trace_id(),
            span_context.span_id(),
            span_context.trace_flags(),
        )
    }

    /// Parses a `traceparent` value from bytes, without a UTF-8 check.
    ///
    /// This is the same strict parser as [`FromStr`]; it does not trim optional
    /// whitespace. It runs in constant time for version `00` and in linear time in
    /// the length of the input otherwise, and never allocates.
    ///
    /// # Errors
    ///
    /// Returns an error when the value does not follow W3C Trace Context Level 2.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParseTraceParentError> {
        parse(bytes)
    }

    /// The version of the header this was parsed from (`00` when created with [`TraceParent::new`]).
    ///
    /// [`Display`](fmt::Display) always writes version `00`.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The trace-id.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The parent-id: the span id of the caller.
    pub fn parent_id(&self) -> SpanId {
        self.parent_id
    }

    /// The trace flags, limited to [`TraceParent::KNOWN_FLAGS`].
    pub fn flags(&self) -> TraceFlags {
        self.flags
    }

    /// Whether the `sampled` flag is set.
    pub fn is_sampled(&self) -> bool {
        self.flags & Self::FLAG_SAMPLED == Self::FLAG_SAMPLED
    }

    /// Whether the `random` flag is set.
    pub fn is_random(&self) -> bool {
        self.flags & Self::FLAG_RANDOM == Self::FLAG_RANDOM
    }

    /// Builds a remote [`SpanContext`] with these ids and flags and the given trace state.
    pub fn to_remote_span_context(&self, trace_state: TraceState) -> SpanContext {
        SpanContext::new(self.trace_id, self.parent_id, self.flags, true, trace_state)
    }
}

/// The W3C trace flags of a span started under `parent`, given the flags its tracer gave
/// it (`started`).
///
/// - `sampled` is the tracer's: what the sampler decided.
/// - `random` is the parent's when `parent` is valid (the trace-id is the parent's), and set
///   when there is no valid parent: the span starts a trace, and trace-ids from the SDK's
///   default id generator (the one `nais_otel::init()` installs) are random (§ Random
///   Trace ID Flag).
///
/// opentelemetry_sdk 0.33 gives a span the sampler drops no flags at all, and never sets
/// `random`; spans that tracers built on it start carry these flags in their span
/// context instead (the tower layers do so).
///
/// ```
/// use nais_otel_propagation::{span_flags, TraceParent};
/// use opentelemetry::trace::{SpanContext, TraceFlags};
///
/// let parent: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02".parse()?;
/// let parent = parent.to_remote_span_context(Default::default());
/// // The sampler dropped the span: not sampled, still random.
/// assert_eq!(span_flags(&parent, TraceFlags::default()), TraceFlags::new(0x02));
/// // A new trace, sampled.
/// assert_eq!(span_flags(&SpanContext::empty_context(), TraceFlags::SAMPLED), TraceFlags::new(0x03));
/// # Ok::<(), nais_otel_propagation::ParseTraceParentError>(())
/// ```
pub fn span_flags(parent: &SpanContext, started: TraceFlags) -> TraceFlags {
    let random = if parent.is_valid() {
        parent.trace_flags() & TraceParent::FLAG_RANDOM
    } else {
        TraceParent::FLAG_RANDOM
    };
    (started & TraceParent::FLAG_SAMPLED) | random
}

impl FromStr for TraceParent {
    type Err = ParseTraceParentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s.as_bytes())
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}-{:032x}-{:016x}-{:02x}",
            Self::SUPPORTED_VERSION,
            self.trace_id,
            self.parent_id,
            (self.flags & Self::KNOWN_FLAGS).to_u8()
        )
    }
}

#[cfg(test)]
mod tests;
