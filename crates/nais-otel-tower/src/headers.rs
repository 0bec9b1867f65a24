//! The request headers a server span and its parent extraction read, found in one pass over
//! the header map.
//!
//! Why: a server span reads up to six headers (`traceparent`, `baggage`, `content-type`,
//! `host`, `user-agent`, `x-forwarded-for`). In a non-empty map each `HeaderMap` lookup
//! hashes the name and probes the table, present or not. A pass over a request's few
//! headers, comparing each name with the six, costs less than the six lookups; the
//! instruction profile of `cargo bench --bench http_layer_profile`, variant `ours` with
//! `HTTP_LAYER_HEADERS=1`, measures it. A map of more than [`SCAN_MAX`] values is read with
//! lookups instead, and the propagators then look for their own headers: a request with
//! very many headers costs the lookups, not a long pass.

use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, HOST, USER_AGENT};

/// Ready header names: a lookup by `&str` parses and validates the name every time.
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const BAGGAGE: HeaderName = HeaderName::from_static("baggage");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Header values above which the map is read with lookups instead of one pass.
pub(crate) const SCAN_MAX: usize = 32;

/// The first value of each header the span reads, and whether the propagation headers may
/// be there.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KnownHeaders<'a> {
    pub(crate) host: Option<&'a HeaderValue>,
    pub(crate) user_agent: Option<&'a HeaderValue>,
    pub(crate) content_type: Option<&'a HeaderValue>,
    pub(crate) forwarded_for: Option<&'a HeaderValue>,
    /// `false` when there is no `traceparent` (then there is no W3C parent to extract);
    /// `true` when there is one, or when the map was too large to pass over.
    pub(crate) traceparent: bool,
    /// `false` when there is no `baggage` header, as for `traceparent`.
    pub(crate) baggage: bool,
}

impl<'a> KnownHeaders<'a> {
    /// Finds the headers in `headers`: the first value of each, as `HeaderMap::get` gives.
    pub(crate) fn find(headers: &'a HeaderMap) -> Self {
        let mut known = Self::default();
        if headers.is_empty() {
            return known;
        }
        if headers.len() > SCAN_MAX {
            // Look up the values; the propagators look for their own headers.
            return Self {
                traceparent: true,
                baggage: true,
                ..Self::look_up(headers)
            };
        }
        // `iter` gives each name's values together, its first value first.
        for (name, value) in headers {
            if name == HOST {
                known.host.get_or_insert(value);
            } else if name == USER_AGENT {
                known.user_agent.get_or_insert(value);
            } else if name == CONTENT_TYPE {
                known.content_type.get_or_insert(value);
            } else if name == TRACEPARENT {
                known.traceparent = true;
            } else if name == BAGGAGE {
                known.baggage = true;
            } else if name == X_FORWARDED_FOR {
                known.forwarded_for.get_or_insert(value);
            }
        }
        known
    }

    /// The header values, with one lookup a header.
    fn look_up(headers: &'a HeaderMap) -> Self {
        Self {
            host: headers.get(HOST),
            user_agent: headers.get(USER_AGENT),
            content_type: headers.get(CONTENT_TYPE),
            forwarded_for: headers.get(X_FORWARDED_FOR),
            traceparent: false,
            baggage: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every header the span reads, some other headers, and repeated values, in a few
    /// orders and sizes: one pass finds what the lookups find, value for value (and a map
    /// too large to pass over says the propagation headers may be there).
    #[test]
    fn one_pass_finds_what_lookups_find() {
        let ours = [
            "host",
            "user-agent",
            "content-type",
            "traceparent",
            "baggage",
            "x-forwarded-for",
            "tracestate",
        ];
        let others = [
            "accept",
            "authorization",
            "nav-call-id",
            "x-request-id",
            "cookie",
        ];
        let mut checked = 0;
        for seed in 0u64..400 {
            // A small deterministic generator: which names, how many values, in what order.
            let mut state = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mut next = |n: u64| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 33) % n
            };
            let mut headers = HeaderMap::new();
            let entries = next(40);
            for i in 0..entries {
                let name = if next(2) == 0 {
                    ours[next(ours.len() as u64) as usize]
                } else {
                    others[next(others.len() as u64) as usize]
                };
                let value = HeaderValue::from_str(&format!("{name}-{i}")).unwrap();
                headers.append(HeaderName::from_static(name), value);
            }
            let found = KnownHeaders::find(&headers);
            let passed_over = headers.len() <= SCAN_MAX;
            let expected = KnownHeaders {
                traceparent: headers.contains_key(TRACEPARENT) || !passed_over,
                baggage: headers.contains_key(BAGGAGE) || !passed_over,
                ..KnownHeaders::look_up(&headers)
            };
            assert_eq!(found, expected, "{headers:?}");
            assert_eq!(found.host, headers.get(HOST));
            checked += usize::from(passed_over && !headers.is_empty());
        }
        assert!(checked > 100, "the pass itself was checked {checked} times");
    }

    #[test]
    fn no_headers_none_found() {
        assert_eq!(
            KnownHeaders::find(&HeaderMap::new()),
            KnownHeaders::default()
        );
    }
}
