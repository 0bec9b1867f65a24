//! The `tracestate` header: a strict parser, a formatter and the sending limits.
//!
//! See the [crate docs](crate) for the rules this parser follows.

use std::fmt;
use std::str::FromStr;

use opentelemetry::trace::TraceState;

/// The maximum number of list-members in a `tracestate` (§ tracestate Header Field Values).
pub const MAX_MEMBERS: usize = 32;

/// The combined length to which `tracestate` is cut when sending (§ Tracestate Limits).
pub const MAX_SEND_LEN: usize = 512;

/// When cutting, list-members longer than this are removed first (§ Tracestate Limits).
pub const LARGE_MEMBER_LEN: usize = 128;

/// `opentelemetry`'s `TraceState` rejects system-ids longer than this, although the
/// specification allows 14 characters.
const OTEL_MAX_SYSTEM_ID_LEN: usize = 13;

/// A validated W3C `tracestate` list: ordered, unique keys, at most 32 members.
///
/// Unlike [`opentelemetry::trace::TraceState`], parsing follows the Level 2 grammar
/// to the letter: simple keys and multi-tenant `tenant@system` keys with their
/// length limits, values of 1 to 256 printable characters without `,` and `=`,
/// empty list-members and optional whitespace ignored, and a duplicate key or a
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
/// assert!("foo=1,foo=2".parse::<W3cTraceState>().is_err());
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
    /// `opentelemetry` 0.33 cannot hold a multi-tenant key whose system-id has 14
    /// characters (the specification allows 14, it allows 13). Such members are left
    /// out; every other member is kept in order.
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

    /// Whether `key` is a valid `tracestate` key: a simple key
    /// (`lcalpha 0*255(lcalpha / DIGIT / "_" / "-" / "*" / "/")`) or a multi-tenant key
    /// (tenant-id of 1 to 241 characters starting with `lcalpha / DIGIT`, `@`, and a
    /// system-id of 1 to 14 characters starting with `lcalpha`).
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

// === crate-internal helpers used by the propagator ===

/// Parses header values into borrowed list-members, in linear time.
pub(crate) fn parse_members<'a, I>(
    values: I,
) -> Result<Vec<(&'a str, &'a str)>, ParseTraceStateError>
where
    I: IntoIterator<Item = &'a str>,
{
    use TraceStateErrorKind as Kind;

    let mut members: Vec<(&str, &str)> = Vec::new();
    for value in values {
        for raw in value.split(',') {
            let member = trim_ows(raw);
            if member.is_empty() {
                continue;
            }
            if members.len() == MAX_MEMBERS {
                return Err(Kind::TooManyMembers.into());
            }
            let (key, value) = member.split_once('=').ok_or(Kind::MissingEquals)?;
            if !is_valid_key(key) {
                return Err(Kind::Key.into());
            }
            if !is_valid_value(value) {
                return Err(Kind::Value.into());
            }
            // At most 32 keys of at most 256 bytes: a bounded cost per member.
            if members.iter().any(|(k, _)| *k == key) {
                return Err(Kind::DuplicateKey.into());
            }
            members.push((key, value));
        }
    }
    Ok(members)
}

/// Builds an OpenTelemetry `TraceState` from members already valid under our grammar.
pub(crate) fn to_otel<'a>(members: impl Iterator<Item = (&'a str, &'a str)>) -> TraceState {
    let representable = members.filter(|(key, _)| {
        key.split_once('@')
            .is_none_or(|(_, system)| system.len() <= OTEL_MAX_SYSTEM_ID_LEN)
    });
    // Cannot fail: every member passed a stricter check. Fall back to no state anyway.
    TraceState::from_key_value(representable).unwrap_or_default()
}

/// The header value to send for an OpenTelemetry `TraceState`: invalid and
/// repeated members dropped, at most 32 members, cut to [`MAX_SEND_LEN`].
pub(crate) fn header_for_sending(trace_state: &TraceState) -> String {
    let mut members: Vec<(&str, &str)> = Vec::new();
    for (key, value) in trace_state {
        if members.len() == MAX_MEMBERS {
            break;
        }
        if is_valid_key(key) && is_valid_value(value) && !members.iter().any(|(k, _)| *k == key) {
            members.push((key, value));
        }
    }
    truncate_by(&mut members, MAX_SEND_LEN, |(k, v)| k.len() + 1 + v.len());
    let mut out = String::with_capacity(header_len(members.iter().copied()));
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

fn header_len<'a>(members: impl Iterator<Item = (&'a str, &'a str)>) -> usize {
    let (count, len) = members.fold((0usize, 0usize), |(count, len), (k, v)| {
        (count + 1, len + k.len() + 1 + v.len())
    });
    len + count.saturating_sub(1)
}

fn truncate_by<T>(members: &mut Vec<T>, max_len: usize, member_len: impl Fn(&T) -> usize) {
    let total = |members: &Vec<T>| {
        members.iter().map(&member_len).sum::<usize>() + members.len().saturating_sub(1)
    };
    while total(members) > max_len {
        if let Some(idx) = members
            .iter()
            .rposition(|m| member_len(m) > LARGE_MEMBER_LEN)
        {
            members.remove(idx);
        } else if members.pop().is_none() {
            break;
        }
    }
}

/// Strips optional whitespace (spaces and horizontal tabs, RFC 7230 `OWS`).
pub(crate) fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'/')
}

fn is_valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    match key.split_once('@') {
        None => {
            // simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
            b.len() <= 256
                && b.first().is_some_and(u8::is_ascii_lowercase)
                && b.iter().all(|&c| is_key_char(c))
        }
        Some((tenant, system)) => {
            // tenant-id = ( lcalpha / DIGIT ) 0*240( keychar )
            // system-id = lcalpha 0*13( keychar )
            let (t, s) = (tenant.as_bytes(), system.as_bytes());
            (1..=241).contains(&t.len())
                && t.first()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && t.iter().all(|&c| is_key_char(c))
                && (1..=14).contains(&s.len())
                && s.first().is_some_and(u8::is_ascii_lowercase)
                && s.iter().all(|&c| is_key_char(c))
        }
    }
}

fn is_valid_value(value: &str) -> bool {
    // value = 0*255(chr) nblk-chr ; chr = %x20 / nblk-chr
    // nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
    let b = value.as_bytes();
    (1..=256).contains(&b.len())
        && b.iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
        && b.last() != Some(&b' ')
}

// === errors ===

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
            TraceStateErrorKind::DuplicateKey => "a key appears more than once",
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
    /// A key appears more than once.
    DuplicateKey,
}
