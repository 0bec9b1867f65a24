//! The request headers a server span and its parent extraction read, looked up once.

use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, FORWARDED, HOST, USER_AGENT};

/// Ready header names: a lookup by `&str` parses and validates the name every time.
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const BAGGAGE: HeaderName = HeaderName::from_static("baggage");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The first value of each header the span reads, and whether the propagation headers are
/// there.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KnownHeaders<'a> {
    pub(crate) host: Option<&'a HeaderValue>,
    pub(crate) user_agent: Option<&'a HeaderValue>,
    pub(crate) content_type: Option<&'a HeaderValue>,
    pub(crate) forwarded_for: Option<&'a HeaderValue>,
    /// `Forwarded` (RFC 7239): the client, the host it asked for and the scheme it used,
    /// as the proxies saw them.
    pub(crate) forwarded: Option<&'a HeaderValue>,
    /// `X-Forwarded-Proto`: the scheme the client used, before a proxy.
    pub(crate) forwarded_proto: Option<&'a HeaderValue>,
    /// `X-Forwarded-Host`: the host the client asked for, before a proxy.
    pub(crate) forwarded_host: Option<&'a HeaderValue>,
    /// Whether there is a `traceparent` (without one there is no W3C parent to extract).
    pub(crate) traceparent: bool,
    /// Whether there is a `baggage` header.
    pub(crate) baggage: bool,
}

impl<'a> KnownHeaders<'a> {
    /// Finds the headers in `headers`: the first value of each, as `HeaderMap::get` gives.
    pub(crate) fn find(headers: &'a HeaderMap) -> Self {
        Self {
            host: headers.get(HOST),
            user_agent: headers.get(USER_AGENT),
            content_type: headers.get(CONTENT_TYPE),
            forwarded_for: headers.get(X_FORWARDED_FOR),
            forwarded: headers.get(FORWARDED),
            forwarded_proto: headers.get(X_FORWARDED_PROTO),
            forwarded_host: headers.get(X_FORWARDED_HOST),
            traceparent: headers.contains_key(TRACEPARENT),
            baggage: headers.contains_key(BAGGAGE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_headers_none_found() {
        assert_eq!(
            KnownHeaders::find(&HeaderMap::new()),
            KnownHeaders::default()
        );
    }
}
