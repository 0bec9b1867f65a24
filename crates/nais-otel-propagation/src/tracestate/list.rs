//! The list on the wire: list-members parsed in linear time, the key and value grammar, and
//! the list formatted for sending within the limits.

use super::error::{ParseTraceStateError, TraceStateErrorKind};

/// The maximum number of list-members in a `tracestate` (§ tracestate Header Field Values).
pub const MAX_MEMBERS: usize = 32;

/// The combined length to which `tracestate` is cut when sending (§ Tracestate Limits).
pub const MAX_SEND_LEN: usize = 512;

/// When cutting, list-members longer than this are removed first (§ Tracestate Limits).
pub const LARGE_MEMBER_LEN: usize = 128;

/// Parses header values into borrowed list-members, in linear time.
pub(super) fn parse_members<'a, I>(
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

/// Appends the valid members of `from` whose keys are not in `members` yet, up to 32.
pub(super) fn add_members<'a>(
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
pub(super) fn format_for_sending(mut members: Vec<(&str, &str)>) -> String {
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

pub(super) fn header_len<'a>(members: impl Iterator<Item = (&'a str, &'a str)>) -> usize {
    let (count, len) = members.fold((0usize, 0usize), |(count, len), (k, v)| {
        (count + 1, len + k.len() + 1 + v.len())
    });
    len + count.saturating_sub(1)
}

pub(super) fn truncate_by<T>(
    members: &mut Vec<T>,
    max_len: usize,
    member_len: impl Fn(&T) -> usize,
) {
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

pub(super) fn is_valid_key(key: &str) -> bool {
    // key = ( lcalpha / DIGIT ) 0*255( keychar )
    let b = key.as_bytes();
    b.len() <= 256
        && b.first()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && b.iter().all(|&c| is_key_char(c))
}

pub(super) fn is_valid_value(value: &str) -> bool {
    // value = 0*255(chr) nblk-chr ; chr = %x20 / nblk-chr
    // nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
    let b = value.as_bytes();
    (1..=256).contains(&b.len())
        && b.iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
        && b.last() != Some(&b' ')
}
