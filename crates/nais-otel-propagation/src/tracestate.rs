//! The `tracestate` header: a strict parser, a formatter and the sending limits.
//!
//! See the [crate docs](crate) for the rules this parser follows.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use opentelemetry::trace::{SpanContext, TraceContextExt, TraceId, TraceState};
use opentelemetry::Context;

/// The maximum number of list-members in a `tracestate` (§ tracestate Header Field Values).
pub const MAX_MEMBERS: usize = 32;

/// The combined length to which `tracestate` is cut when sending (§ Tracestate Limits).
pub const MAX_SEND_LEN: usize = 512;

/// When cutting, list-members longer than this are removed first (§ Tracestate Limits).
pub const LARGE_MEMBER_LEN: usize = 128;

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
    // List-members seen, repeated keys included: the limit is on the list as received.
    let mut count = 0;
    for value in values {
        for raw in value.split(',') {
            let member = trim_ows(raw);
            if member.is_empty() {
                continue;
            }
            if count == MAX_MEMBERS {
                return Err(Kind::TooManyMembers.into());
            }
            let (key, value) = member.split_once('=').ok_or(Kind::MissingEquals)?;
            if !is_valid_key(key) {
                return Err(Kind::Key.into());
            }
            if !is_valid_value(value) {
                return Err(Kind::Value.into());
            }
            // At most 32 keys of at most 256 bytes: a bounded cost per member. A repeated
            // key keeps its left-most member, the most recent one (§ Mutating the tracestate
            // Field); § tracestate Header Field Values lets a receiver discard the others.
            if !members.iter().any(|(k, _)| *k == key) {
                members.push((key, value));
            }
            count += 1;
        }
    }
    Ok(members)
}

/// Builds an OpenTelemetry `TraceState` from members already valid under our grammar,
/// leaving out those it cannot hold ([`otel_can_hold`]).
pub(crate) fn to_otel<'a>(members: impl Iterator<Item = (&'a str, &'a str)>) -> TraceState {
    let representable = members.filter(|(key, _)| otel_can_hold(key));
    // Cannot fail: every member passed the spec's check and `otel_can_hold`. Fall back to
    // no state anyway.
    TraceState::from_key_value(representable).unwrap_or_default()
}

/// Whether opentelemetry 0.33's `TraceState` accepts `key`, a key already valid under the
/// spec's grammar. Its check is older and stricter: at most one `@`, at most 13 characters
/// after it, and the character right after it `a-z` or `0-9`. A test compares this with
/// `TraceState::from_key_value` on generated keys.
pub(crate) fn otel_can_hold(key: &str) -> bool {
    match key.split_once('@') {
        None => true,
        Some((_, after)) => {
            after.len() <= 13
                && !after.contains('@')
                && after
                    .bytes()
                    .next()
                    .is_none_or(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        }
    }
}

/// Every member of a `tracestate`, in order, shared between the contexts of a trace.
pub(crate) type AllMembers = Arc<[(String, String)]>;

/// A remote parent's whole `tracestate`, kept in the [`Context`] beside its span context
/// when opentelemetry's `TraceState` cannot hold every member ([`otel_can_hold`]).
///
/// Spans started under the parent inherit its `TraceState` and the context's values, so
/// an outgoing request of the same trace finds it here and sends every member.
#[derive(Debug, Clone)]
pub(crate) struct CarriedTraceState {
    trace_id: TraceId,
    /// What the remote span context holds: the members `TraceState` can hold.
    held: TraceState,
    /// Every member, in order.
    members: AllMembers,
}

/// Members of a parsed `tracestate`: the `TraceState` for the span context, and all of
/// them when that could not hold every one.
pub(crate) fn parse_for_context<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> (TraceState, Option<AllMembers>) {
    match parse_members(values) {
        Ok(members) => {
            let held = to_otel(members.iter().copied());
            let all = (!members.iter().all(|(key, _)| otel_can_hold(key))).then(|| {
                members
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            });
            (held, all)
        }
        Err(_) => (TraceState::NONE, None),
    }
}

/// `cx` with the remote span context `sc` and, when given, every member of its
/// `tracestate`.
pub(crate) fn with_remote(cx: &Context, sc: SpanContext, all: Option<AllMembers>) -> Context {
    match all {
        None => cx.with_remote_span_context(sc),
        Some(members) => {
            let carried = CarriedTraceState {
                trace_id: sc.trace_id(),
                held: sc.trace_state().clone(),
                members,
            };
            cx.with_remote_span_context(sc).with_value(carried)
        }
    }
}

/// The header value to send for the span context `sc` of `cx`: invalid and repeated
/// members dropped, at most 32 members, cut to [`MAX_SEND_LEN`].
///
/// When `cx` carries the whole `tracestate` of a remote parent of the same trace, the
/// members `TraceState` could not hold are sent too: in their place when the span's
/// `TraceState` is still the parent's, after its members when a sampler changed it.
pub(crate) fn header_for_context(sc: &SpanContext, cx: &Context) -> String {
    let carried = cx
        .get::<CarriedTraceState>()
        .filter(|carried| carried.trace_id == sc.trace_id());
    let mut members: Vec<(&str, &str)> = Vec::new();
    match carried {
        Some(carried) if carried.held == *sc.trace_state() => {
            add_members(
                &mut members,
                carried
                    .members
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
        }
        Some(carried) => {
            add_members(&mut members, sc.trace_state().into_iter());
            add_members(
                &mut members,
                carried
                    .members
                    .iter()
                    .filter(|(key, _)| !otel_can_hold(key))
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
        }
        None => add_members(&mut members, sc.trace_state().into_iter()),
    }
    format_for_sending(members)
}

/// The header value to send for an OpenTelemetry `TraceState`: invalid and
/// repeated members dropped, at most 32 members, cut to [`MAX_SEND_LEN`].
pub(crate) fn header_for_sending(trace_state: &TraceState) -> String {
    let mut members: Vec<(&str, &str)> = Vec::new();
    add_members(&mut members, trace_state.into_iter());
    format_for_sending(members)
}

/// Appends the valid members of `from` whose keys are not in `members` yet, up to 32.
fn add_members<'a>(
    members: &mut Vec<(&'a str, &'a str)>,
    from: impl Iterator<Item = (&'a str, &'a str)>,
) {
    for (key, value) in from {
        if members.len() == MAX_MEMBERS {
            break;
        }
        if is_valid_key(key) && is_valid_value(value) && !members.iter().any(|(k, _)| *k == key) {
            members.push((key, value));
        }
    }
}

/// Cuts `members` to [`MAX_SEND_LEN`] and formats them.
fn format_for_sending(mut members: Vec<(&str, &str)>) -> String {
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

/// keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
fn is_key_char(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'/' | b'@')
}

fn is_valid_key(key: &str) -> bool {
    // key = ( lcalpha / DIGIT ) 0*255( keychar )
    let b = key.as_bytes();
    b.len() <= 256
        && b.first()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && b.iter().all(|&c| is_key_char(c))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn all_key_chars() -> String {
        // suite: tracestate_all_allowed_characters
        let mut key: String = ('a'..='z').collect();
        key.push_str("0123456789_-*/");
        key
    }

    fn all_value_chars() -> String {
        (0x20u8..=0x7e)
            .filter(|c| *c != b',' && *c != b'=')
            .map(char::from)
            .collect()
    }

    #[test]
    #[rustfmt::skip]
    fn valid() {
        let key = all_key_chars();
        let value = all_value_chars();
        let all_simple = format!("{key}={value}");
        let all_tenant = format!("{key}@a-z0-9_-*/={value}");
        let key_256 = format!("{}=1", "z".repeat(256));
        let tenant_241_system_14 = format!("{}@{}=1", "t".repeat(241), "v".repeat(14));
        let value_256 = format!("foo={}", "v".repeat(256));
        let members_32: Vec<String> = (1..=32).map(|i| format!("bar{i:02}={i:02}")).collect();
        let members_32 = members_32.join(",");
        let tenant_242 = format!("{}@v=1", "t".repeat(242));
        let system_15 = format!("t@{}=1", "v".repeat(15));
        // (headers, expected members as "k=v" joined by ",", reason)
        let cases: Vec<(Vec<&str>, String, &str)> = vec![
            (vec!["foo=1,bar=2"],                       "foo=1,bar=2".into(),            "two members (suite: tracestate_included_traceparent_included)"),
            (vec![""],                                  "".into(),                       "empty header (suite: tracestate_empty_header)"),
            (vec!["foo=1", ""],                         "foo=1".into(),                  "empty second header (suite: tracestate_empty_header)"),
            (vec!["", "foo=1"],                         "foo=1".into(),                  "empty first header (suite: tracestate_empty_header)"),
            (vec!["foo=1,bar=2", "rojo=1,congo=2", "baz=3"], "foo=1,bar=2,rojo=1,congo=2,baz=3".into(), "headers combined in order (suite: tracestate_multiple_headers_different_keys)"),
            (vec![&all_simple],                         all_simple.clone(),              "every allowed character, simple key (suite: tracestate_all_allowed_characters)"),
            (vec![&all_tenant],                         all_tenant.clone(),              "every allowed character, tenant key (suite: tracestate_all_allowed_characters)"),
            (vec!["foo=1 \t , \t bar=2, \t baz=3"],     "foo=1,bar=2,baz=3".into(),      "OWS around members (suite: tracestate_ows_handling)"),
            (vec!["foo=1\t \t,\t \tbar=2,\t \tbaz=3"],  "foo=1,bar=2,baz=3".into(),      "tabs around members (suite: tracestate_ows_handling)"),
            (vec![" foo=1"],                            "foo=1".into(),                  "leading space (suite: tracestate_ows_handling)"),
            (vec!["\tfoo=1"],                           "foo=1".into(),                  "leading tab (suite: tracestate_ows_handling)"),
            (vec!["foo=1 "],                            "foo=1".into(),                  "trailing space (suite: tracestate_ows_handling)"),
            (vec!["foo=1\t"],                           "foo=1".into(),                  "trailing tab (suite: tracestate_ows_handling)"),
            (vec!["\t foo=1 \t"],                       "foo=1".into(),                  "both (suite: tracestate_ows_handling)"),
            (vec![",,foo=1,, ,\t,bar=2,"],              "foo=1,bar=2".into(),            "empty list-members ignored"),
            (vec!["foo= 1"],                            "foo= 1".into(),                 "a value may start with a space"),
            (vec![&key_256],                            key_256.clone(),                 "256-character key (suite: tracestate_key_length_limit)"),
            (vec![&tenant_241_system_14],               tenant_241_system_14.clone(),    "241-char tenant, 14-char system (suite: tracestate_key_length_limit)"),
            (vec![&value_256],                          value_256.clone(),               "256-character value"),
            (vec![&members_32],                         members_32.clone(),              "32 members (suite: tracestate_member_count_limit)"),
            (vec!["0@a=1"],                             "0@a=1".into(),                  "a key may start with a digit"),
            (vec!["1foo=1"],                            "1foo=1".into(),                 "a key without @ may start with a digit"),
            (vec!["t@1v=1"],                            "t@1v=1".into(),                 "any key character after @"),
            (vec!["foo=1,foo=1"],                       "foo=1".into(),                  "same key twice: the left-most kept (suite: tracestate_duplicated_keys)"),
            (vec!["foo=1,foo=2"],                       "foo=1".into(),                  "same key, other value (suite: tracestate_duplicated_keys)"),
            (vec!["foo=1", "foo=1"],                    "foo=1".into(),                  "same key across headers (suite: tracestate_duplicated_keys)"),
            (vec!["foo=1", "foo=2"],                    "foo=1".into(),                  "same key across headers (suite: tracestate_duplicated_keys)"),
            (vec!["foo@=1,bar=2"],                      "foo@=1,bar=2".into(),           "@ last (suite: tracestate_key_illegal_vendor_format)"),
            (vec!["foo@@bar=1,bar=2"],                  "foo@@bar=1,bar=2".into(),       "two @ in a row (suite: tracestate_key_illegal_vendor_format)"),
            (vec!["foo@bar@baz=1,bar=2"],               "foo@bar@baz=1,bar=2".into(),    "two @ (suite: tracestate_key_illegal_vendor_format)"),
            (vec![&tenant_242],                         tenant_242.clone(),              "242 characters before @ (suite: tracestate_key_length_limit)"),
            (vec![&system_15],                          system_15.clone(),               "15 characters after @ (suite: tracestate_key_length_limit)"),
        ];
        for (headers, expected, reason) in cases {
            let state = W3cTraceState::from_header_values(headers.iter().copied())
                .unwrap_or_else(|e| panic!("{reason}: {headers:?}: {e}"));
            assert_eq!(state.to_string(), expected, "{reason}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn invalid() {
        use TraceStateErrorKind as K;
        let key_257 = format!("{}=1", "z".repeat(257));
        let tenant_255 = format!("{}@=1", "t".repeat(256));
        let value_257 = format!("foo={}", "v".repeat(257));
        let members_33: Vec<String> = (1..=33).map(|i| format!("bar{i:02}={i:02}")).collect();
        let members_33 = members_33.join(",");
        let cases: Vec<(Vec<&str>, K, &str)> = vec![
            (vec!["foo =1"],                   K::Key,            "space inside the key (suite: tracestate_key_illegal_characters)"),
            (vec!["FOO=1"],                    K::Key,            "uppercase key (suite: tracestate_key_illegal_characters)"),
            (vec!["foo.bar=1"],                K::Key,            "dot in key (suite: tracestate_key_illegal_characters)"),
            (vec!["@foo=1,bar=2"],             K::Key,            "key starting with @ (suite: tracestate_key_illegal_vendor_format)"),
            (vec!["_foo=1"],                   K::Key,            "key starting with _"),
            (vec!["foo=1", &key_257],          K::Key,            "257-character key (suite: tracestate_key_length_limit)"),
            (vec!["foo=1", &tenant_255],       K::Key,            "257-character key with @"),
            (vec!["foo=1,foo=2,=3"],           K::Key,            "empty key"),
            (vec!["foo=bar=baz"],              K::Value,          "= in value (suite: tracestate_value_illegal_characters)"),
            (vec!["foo=,bar=3"],               K::Value,          "empty value (suite: tracestate_value_illegal_characters)"),
            (vec![&value_257],                 K::Value,          "257-character value"),
            (vec!["foo=a\tb"],                 K::Value,          "tab inside value"),
            (vec!["foo=caf\u{e9}"],            K::Value,          "non-ASCII value"),
            (vec!["foo"],                      K::MissingEquals,  "no equals sign"),
            (vec![&members_33],                K::TooManyMembers, "33 members (suite: tracestate_member_count_limit)"),
            (vec![&members_33[..members_33.len() - 9], "bar33=33"], K::TooManyMembers, "33 members across headers"),
        ];
        for (headers, kind, reason) in cases {
            let err = W3cTraceState::from_header_values(headers.iter().copied()).expect_err(reason);
            assert_eq!(err.kind(), kind, "{reason}");
        }
    }

    #[test]
    fn truncation_removes_large_members_first_then_from_the_end() {
        let big = "b".repeat(200);
        let mut state: W3cTraceState = format!(
            "a1={},big1={big},a2={},big2={big},a3={}",
            "x".repeat(50),
            "y".repeat(50),
            "z".repeat(50)
        )
        .parse()
        .expect("valid");
        assert!(state.header_len() > MAX_SEND_LEN);
        state.truncate(MAX_SEND_LEN);
        // Removing big2 (right-most large member) is enough: 53+205+53+53+3 = 367.
        let keys: Vec<&str> = state.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a1", "big1", "a2", "a3"]);
        assert!(state.header_len() <= MAX_SEND_LEN);

        // Without large members, entries go from the end.
        let small: Vec<String> = (0..32)
            .map(|i| format!("k{i:02}={}", "v".repeat(20)))
            .collect();
        let mut state: W3cTraceState = small.join(",").parse().expect("valid");
        state.truncate(MAX_SEND_LEN);
        assert!(state.header_len() <= MAX_SEND_LEN);
        assert_eq!(state.iter().next().map(|(k, _)| k), Some("k00"));
        assert_eq!(state.len(), 20, "20 members of 24 chars + 19 commas = 499");
    }

    #[test]
    fn insert_moves_to_the_front_and_keeps_32_members() {
        let members: Vec<String> = (0..32).map(|i| format!("k{i:02}=v")).collect();
        let mut state: W3cTraceState = members.join(",").parse().expect("valid");
        state.insert("k05", "new").expect("valid member");
        assert_eq!(state.iter().next(), Some(("k05", "new")));
        assert_eq!(state.len(), 32);
        state.insert("fresh", "1").expect("valid member");
        assert_eq!(state.len(), 32);
        assert_eq!(state.iter().next(), Some(("fresh", "1")));
        assert_eq!(state.get("k31"), None, "right-most member removed");
        assert_eq!(
            state.insert("BAD", "1").map_err(|e| e.kind()),
            Err(TraceStateErrorKind::Key)
        );
        assert_eq!(
            state.insert("ok", "a=b").map_err(|e| e.kind()),
            Err(TraceStateErrorKind::Value)
        );
        assert_eq!(state.remove("fresh").as_deref(), Some("1"));
        assert_eq!(state.remove("fresh"), None);
    }

    #[test]
    fn sending_header_drops_invalid_members() {
        // opentelemetry's TraceState accepts values with any character but `,` and `=`,
        // and empty ones; the spec does not.
        let otel = TraceState::from_key_value([
            ("tab", "a\tb"),
            ("ok", "1"),
            ("latin", "caf\u{e9}"),
            ("space", "x "),
            ("empty", ""),
        ])
        .expect("otel accepts");
        assert_eq!(header_for_sending(&otel), "ok=1");
    }

    #[test]
    fn otel_conversion_keeps_order_and_skips_unrepresentable_keys() {
        let state: W3cTraceState = format!("a=1,t@{}=2,b=3,foo@@bar=4,c=5", "v".repeat(14))
            .parse()
            .expect("valid");
        let otel = state.to_trace_state();
        assert_eq!(otel.header(), "a=1,b=3,c=5");
        assert_eq!(
            W3cTraceState::from_trace_state(&otel).to_string(),
            "a=1,b=3,c=5"
        );
    }

    /// Every key of up to four characters from an alphabet that covers each rule, and
    /// longer keys around the limits: `otel_can_hold` agrees with opentelemetry's own check.
    #[test]
    fn otel_can_hold_agrees_with_opentelemetry_on_generated_keys() {
        let alphabet = ['a', 'z', '0', '9', '_', '-', '*', '/', '@'];
        let mut keys: Vec<String> = vec![String::new()];
        let mut frontier = keys.clone();
        for _ in 0..4 {
            frontier = frontier
                .iter()
                .flat_map(|k| alphabet.iter().map(move |c| format!("{k}{c}")))
                .collect();
            keys.extend(frontier.iter().cloned());
        }
        for before in [1, 200, 241, 242, 255] {
            for after in 0..=16 {
                let body = "v".repeat(after);
                keys.push(format!("{}@{body}", "t".repeat(before)));
                keys.push(format!("{}@_{body}", "t".repeat(before)));
            }
        }
        let mut checked = 0;
        for key in keys.iter().filter(|k| is_valid_key(k)) {
            let otel = TraceState::from_key_value([(key.as_str(), "1")]).is_ok();
            assert_eq!(otel_can_hold(key), otel, "{key:?}");
            checked += 1;
        }
        assert!(checked > 3000, "only {checked} valid keys generated");
    }

    fn cx_with(headers: &[&str]) -> Context {
        let (held, all) = parse_for_context(headers.iter().copied());
        let sc = SpanContext::new(
            TraceId::from(0x1234),
            opentelemetry::trace::SpanId::from(0x42),
            opentelemetry::trace::TraceFlags::SAMPLED,
            true,
            held,
        );
        with_remote(&Context::new(), sc, all)
    }

    #[test]
    fn members_trace_state_cannot_hold_are_sent_from_the_context() {
        let long_after = format!("t@{}", "v".repeat(15));
        let header = format!("foo=1,foo@@bar=2,{long_after}=3,bar=4");
        let cx = cx_with(&[&header]);
        let span = cx.span();
        let sc = span.span_context();
        assert_eq!(sc.trace_state().header(), "foo=1,bar=4");
        assert_eq!(header_for_context(sc, &cx), header);

        // A child span of the same trace (same trace state) sends them too.
        let child = SpanContext::new(
            sc.trace_id(),
            opentelemetry::trace::SpanId::from(0x43),
            sc.trace_flags(),
            false,
            sc.trace_state().clone(),
        );
        let child_cx = cx.with_remote_span_context(child.clone());
        assert_eq!(header_for_context(&child, &child_cx), header);

        // A sampler that changed the trace state: its members first, then those it could not hold.
        let changed = sc.trace_state().insert("new", "5").expect("valid");
        let changed = SpanContext::new(
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags(),
            false,
            changed,
        );
        assert_eq!(
            header_for_context(&changed, &cx.with_remote_span_context(changed.clone())),
            format!("new=5,foo=1,bar=4,foo@@bar=2,{long_after}=3")
        );

        // Another trace does not get them.
        let other = SpanContext::new(
            TraceId::from(0x99),
            sc.span_id(),
            sc.trace_flags(),
            false,
            sc.trace_state().clone(),
        );
        assert_eq!(header_for_context(&other, &cx), "foo=1,bar=4");
    }

    #[test]
    fn a_trace_state_opentelemetry_holds_whole_carries_nothing_extra() {
        let (held, all) = parse_for_context(["foo=1,bar@baz=2"]);
        assert_eq!(held.header(), "foo=1,bar@baz=2");
        assert!(all.is_none());
        let (held, all) = parse_for_context(["foo=1,FOO=2"]);
        assert_eq!(held, TraceState::NONE);
        assert!(all.is_none());
    }
}
