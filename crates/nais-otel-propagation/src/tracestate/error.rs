//! The error of a `tracestate` that breaks the grammar or the limits.

use std::fmt;

/// The error returned when a `tracestate` list is invalid.
///
/// See [`ParseTraceStateError::kind`] for the rule that was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseTraceStateError {
    kind: TraceStateErrorKind,
}

impl ParseTraceStateError {
    /// The rule the list broke.
    pub fn kind(&self) -> TraceStateErrorKind {
        self.kind
    }
}

impl From<TraceStateErrorKind> for ParseTraceStateError {
    fn from(kind: TraceStateErrorKind) -> Self {
        Self { kind }
    }
}

impl fmt::Display for ParseTraceStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = match self.kind {
            TraceStateErrorKind::TooManyMembers => "more than 32 list-members",
            TraceStateErrorKind::MissingEquals => "a list-member has no `=`",
            TraceStateErrorKind::Key => "a key does not follow the key grammar",
            TraceStateErrorKind::Value => "a value does not follow the value grammar",
        };
        write!(f, "invalid tracestate: {reason}")
    }
}

impl std::error::Error for ParseTraceStateError {}

/// The rule a `tracestate` list broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceStateErrorKind {
    /// The list has more than 32 non-empty list-members.
    TooManyMembers,
    /// A non-empty list-member has no `=`.
    MissingEquals,
    /// A key does not follow the key grammar or is too long.
    Key,
    /// A value is empty, too long, or has a character outside the value grammar.
    Value,
}
