//! The `tracestate` header: a strict parser, a formatter and the sending limits.
//!
//! See the [crate docs](crate) for the rules this parser follows.

use std::fmt;
use std::str::FromStr;

use opentelemetry::trace::TraceState;

mod context;
mod error;
mod list;

use self::{
    context::to_otel,
    list::{header_len, is_valid_key, is_valid_value, parse_members, truncate_by},
};
pub(crate) use self::{
    context::{header_for_context, header_for_sending, parse_for_context, with_remote, AllMembers},
    list::trim_ows,
};
pub use self::{
    error::{ParseTraceStateError, TraceStateErrorKind},
    list::{LARGE_MEMBER_LEN, MAX_MEMBERS, MAX_SEND_LEN},
};

/// A validated W3C `tracestate` list: ordered, unique keys, at most 32 members.
///
/// Unlike [`opentelemetry::trace::TraceState`], parsing follows the Level 2 grammar
/// to the letter: keys of 1 to 256 characters, `(lcalpha / DIGIT) 0*255(keychar)` with
/// `@` among the key characters, values of 1 to 256 printable characters without `,`
/// and `=`, empty list-members and optional whitespace ignored, a repeated key kept
/// once (its left-most member: the spec lets a receiver discard duplicates), and a
/// 33rd member makes the whole list invalid.
///
/// # Examples
///
/// ```
/// use nais_otel_propagation::W3cTraceState;
///
/// let state = W3cTraceState::from_header_values(["rojo=00f067aa0ba902b7", " , congo=t61rcWkgMzE"])?;
/// assert_eq!(state.get("congo"), Some("t61rcWkgMzE"));
/// assert_eq!(state.to_string(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
/// assert_eq!("foo=1,foo=2".parse::<W3cTraceState>()?.to_string(), "foo=1");
/// assert!("FOO=1".parse::<W3cTraceState>().is_err());
/// # Ok::<(), nais_otel_propagation::ParseTraceStateError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct W3cTraceState {
    members: Vec<(String, String)>,
}

impl W3cTraceState {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses and combines several `tracestate` header values in order, as if they
    /// were joined with `,` (RFC 7230 § 3.2.2).
    ///
    /// # Errors
    ///
    /// Returns an error when the combined list is invalid; see [`W3cTraceState`].
    pub fn from_header_values<'a, I>(values: I) -> Result<Self, ParseTraceStateError>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let members = parse_members(values)?;
        Ok(Self {
            members: members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        })
    }

    /// Builds a list from an OpenTelemetry [`TraceState`], keeping the first 32
    /// members that are valid under this crate's grammar and dropping repeated keys.
    pub fn from_trace_state(trace_state: &TraceState) -> Self {
        let mut members: Vec<(String, String)> = Vec::new();
        for (key, value) in trace_state {
            if members.len() == MAX_MEMBERS {
                break;
            }
            if is_valid_key(key) && is_valid_value(value) && !members.iter().any(|(k, _)| k == key)
            {
                members.push((key.to_owned(), value.to_owned()));
            }
        }
        Self { members }
    }

    /// Converts to an OpenTelemetry [`TraceState`], for a [`SpanContext`].
    ///
    /// `opentelemetry` 0.33's `TraceState` checks keys against an older grammar: it
    /// cannot hold a key with more than one `@`, more than 13 characters after the `@`,
    /// or a character other than `a-z0-9` right after it (`foo@@bar`, `t@vvvvvvvvvvvvvv`).
    /// Such members are left out here; every other member is kept in order. The
    /// propagators carry the members left out next to the span context, so they are
    /// still sent: see [`TraceContextPropagator`](crate::TraceContextPropagator).
    ///
    /// [`SpanContext`]: opentelemetry::trace::SpanContext
    pub fn to_trace_state(&self) -> TraceState {
        to_otel(self.members.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The value for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The list-members in order, left-most first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.members.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The number of list-members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the list has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Adds or updates a member and moves it to the left-most position, as
    /// § Mutating the tracestate Field says. When the list would grow past 32
    /// members, the right-most member is removed.
    ///
    /// # Errors
    ///
    /// Returns an error, and leaves the list unchanged, when `key` or `value` does
    /// not follow the grammar.
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), ParseTraceStateError> {
        if !is_valid_key(key) {
            return Err(TraceStateErrorKind::Key.into());
        }
        if !is_valid_value(value) {
            return Err(TraceStateErrorKind::Value.into());
        }
        self.remove(key);
        self.members.truncate(MAX_MEMBERS - 1);
        self.members.insert(0, (key.to_owned(), value.to_owned()));
        Ok(())
    }

    /// Removes the member with `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let idx = self.members.iter().position(|(k, _)| k == key)?;
        Some(self.members.remove(idx).1)
    }

    /// The length of the formatted header value.
    pub fn header_len(&self) -> usize {
        header_len(self.members.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Cuts the list to `max_len` characters the way § Tracestate Limits says:
    /// first list-members longer than 128 characters are removed (right-most
    /// first), then members are removed from the end.
    ///
    /// Senders call this with [`MAX_SEND_LEN`]; the propagator does it for you.
    pub fn truncate(&mut self, max_len: usize) {
        truncate_by(&mut self.members, max_len, |(k, v)| k.len() + 1 + v.len());
    }

    /// Whether `key` is a valid `tracestate` key:
    /// `(lcalpha / DIGIT) 0*255(lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@")`.
    pub fn is_valid_key(key: &str) -> bool {
        is_valid_key(key)
    }

    /// Whether `value` is a valid `tracestate` value: 1 to 256 characters in
    /// `0x20..=0x7e` except `,` and `=`, not ending in a space.
    pub fn is_valid_value(value: &str) -> bool {
        is_valid_value(value)
    }
}

impl FromStr for W3cTraceState {
    type Err = ParseTraceStateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_header_values([s])
    }
}

impl fmt::Display for W3cTraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.members.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{key}={value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
