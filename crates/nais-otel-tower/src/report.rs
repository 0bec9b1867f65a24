//! Messages about propagation headers a request carried that could not be used as they
//! were: a `traceparent` that was ignored, `baggage` members that were left out.
//!
//! A WARN event of target `nais_otel_tower::propagation` naming the header, at most one a
//! minute for each header: a caller that keeps sending them cannot flood the log, and the
//! first one says what is wrong. A `traceparent` is shown (cut to 200 bytes); of `baggage`
//! only the keys of the members left out, never a value. Only the W3C
//! propagators report (the default, and [`ServerLayer::propagator`](crate::ServerLayer::propagator)
//! with nais-otel's own); another propagator's result cannot be read this way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Instant;

use http::HeaderMap;
use nais_otel_propagation::{
    BaggageDropped, TraceParent, BAGGAGE_HEADER, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS,
    TRACEPARENT_HEADER,
};

/// The most of a header value a message shows.
const SHOWN_BYTES: usize = 200;

/// Seconds between two messages about the same header.
const QUIET_SECS: u64 = 60;

/// When the last message about each header was written, in seconds since [`START`] plus
/// one, so that zero is "never". Monotonic: a clock set back does not mute them.
static LAST_TRACEPARENT: AtomicU64 = AtomicU64::new(0);
static LAST_BAGGAGE: AtomicU64 = AtomicU64::new(0);

/// Where the seconds of [`LAST_TRACEPARENT`] and [`LAST_BAGGAGE`] count from.
static START: LazyLock<Instant> = LazyLock::new(Instant::now);

/// A request's `traceparent` was there and was not used: repeated or invalid. The
/// request starts a new trace.
pub(crate) fn unusable_traceparent(headers: &HeaderMap) {
    if !allowed(&LAST_TRACEPARENT) {
        return;
    }
    let values = lines(headers, TRACEPARENT_HEADER);
    let reason = match values.as_slice() {
        [one] => match TraceParent::from_bytes(one.trim_ascii()) {
            Err(error) => error.to_string(),
            // Not reached: a valid single header is used.
            Ok(_) => return,
        },
        many => format!("the header is repeated ({} lines)", many.len()),
    };
    let value = shown(&values.join(&b", "[..]));
    tracing::warn!(
        target: "nais_otel_tower::propagation",
        header = TRACEPARENT_HEADER,
        value = %value,
        reason = %reason,
        "a request's traceparent header was ignored, so the request starts a new trace \
         ({reason}); at most one such message a minute"
    );
}

/// A request's `baggage` lost members: invalid ones, or ones beyond the W3C limits. The
/// message names their keys, never a value: baggage values are the caller's data.
pub(crate) fn dropped_baggage(dropped: &BaggageDropped) {
    if !allowed(&LAST_BAGGAGE) {
        return;
    }
    let keys = dropped.keys.join(", ");
    tracing::warn!(
        target: "nais_otel_tower::propagation",
        header = BAGGAGE_HEADER,
        keys = %keys,
        invalid_members = dropped.invalid,
        members_over_limits = dropped.over_limits,
        "a request's baggage header lost list-members: {} that do not follow the W3C \
         grammar, {} beyond its limits ({MAX_BAGGAGE_MEMBERS} members, \
         {MAX_BAGGAGE_BYTES} bytes); their keys: {keys}; the rest is used; at most one \
         such message a minute",
        dropped.invalid,
        dropped.over_limits,
    );
}

/// Every line of header `name`, in order.
fn lines<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a [u8]> {
    headers
        .get_all(name)
        .iter()
        .map(|value| value.as_bytes())
        .collect()
}

/// Whether a message may be written now, and if so, notes it in `last`.
fn allowed(last: &AtomicU64) -> bool {
    allowed_at(last, START.elapsed().as_secs() + 1)
}

/// [`allowed`] at `now` seconds (from one up).
fn allowed_at(last: &AtomicU64, now: u64) -> bool {
    let before = last.load(Ordering::Relaxed);
    if before != 0 && now < before.saturating_add(QUIET_SECS) {
        return false;
    }
    last.compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
        .is_ok()
}

/// `bytes` as text for a message: bytes that are not UTF-8 replaced, cut to
/// [`SHOWN_BYTES`] at a character boundary, with the full length when cut.
fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= SHOWN_BYTES {
        return text.into_owned();
    }
    let mut end = SHOWN_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_a_minute() {
        let last = AtomicU64::new(0);
        assert!(allowed_at(&last, 1), "the first");
        assert!(!allowed_at(&last, 1), "the same second");
        assert!(!allowed_at(&last, 60), "within the minute");
        assert!(allowed_at(&last, 61), "a minute later");
        assert!(allowed(&AtomicU64::new(0)));
    }

    #[test]
    fn long_values_cut_at_a_character() {
        assert_eq!(shown(b"abc"), "abc");
        let long = "é".repeat(150);
        let cut = shown(long.as_bytes());
        assert!(cut.starts_with(&"é".repeat(100)), "{cut}");
        assert!(cut.ends_with("… (300 bytes)"), "{cut}");
        assert_eq!(shown(b"a\xffb"), "a\u{fffd}b");
    }
}
