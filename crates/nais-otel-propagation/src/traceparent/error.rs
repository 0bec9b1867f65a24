//! The error of a `traceparent` that breaks the format.

use std::fmt;

/// The error returned when a `traceparent` value is invalid.
///
/// See [`ParseTraceParentError::kind`] for the rule that was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseTraceParentError {
    kind: TraceParentErrorKind,
}

impl ParseTraceParentError {
    /// The rule the value broke.
    pub fn kind(&self) -> TraceParentErrorKind {
        self.kind
    }
}

impl From<TraceParentErrorKind> for ParseTraceParentError {
    fn from(kind: TraceParentErrorKind) -> Self {
        Self { kind }
    }
}

impl fmt::Display for ParseTraceParentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = match self.kind {
            TraceParentErrorKind::Version => "version is not 2 lowercase hex digits and a dash",
            TraceParentErrorKind::ForbiddenVersion => "version ff is forbidden",
            TraceParentErrorKind::Length => "wrong length for its version",
            TraceParentErrorKind::Delimiter => "fields are not separated by dashes",
            TraceParentErrorKind::TraceId => "trace-id is not 32 lowercase hex digits",
            TraceParentErrorKind::ParentId => "parent-id is not 16 lowercase hex digits",
            TraceParentErrorKind::Flags => "trace-flags is not 2 lowercase hex digits",
            TraceParentErrorKind::ZeroTraceId => "trace-id is all zeroes",
            TraceParentErrorKind::ZeroParentId => "parent-id is all zeroes",
        };
        write!(f, "invalid traceparent: {reason}")
    }
}

impl std::error::Error for ParseTraceParentError {}

/// The rule a `traceparent` value broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceParentErrorKind {
    /// The version is not two lowercase hex digits followed by `-`.
    Version,
    /// The version is `ff`.
    ForbiddenVersion,
    /// Version `00` is not exactly 55 characters, a higher version is shorter than
    /// 55 characters, or its flags are followed by something other than `-`.
    Length,
    /// A `-` is missing between trace-id, parent-id and flags.
    Delimiter,
    /// The trace-id is not 32 lowercase hex digits.
    TraceId,
    /// The parent-id is not 16 lowercase hex digits.
    ParentId,
    /// The trace-flags are not 2 lowercase hex digits.
    Flags,
    /// The trace-id is all zeroes.
    ZeroTraceId,
    /// The parent-id is all zeroes.
    ZeroParentId,
}
