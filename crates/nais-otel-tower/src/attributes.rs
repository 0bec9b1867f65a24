//! Semantic-convention keys and the helpers shared by the server and client layers.
//!
//! Keys are `const` so building an attribute never allocates for the key; the stable
//! HTTP conventions are those of semantic conventions v1.26+.

use std::borrow::Cow;
use std::sync::OnceLock;

use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, Key, KeyValue, StringValue};

pub(crate) const HTTP_REQUEST_METHOD: Key = Key::from_static_str("http.request.method");
pub(crate) const HTTP_REQUEST_METHOD_ORIGINAL: Key =
    Key::from_static_str("http.request.method_original");
pub(crate) const HTTP_RESPONSE_STATUS_CODE: Key = Key::from_static_str("http.response.status_code");
pub(crate) const HTTP_ROUTE: Key = Key::from_static_str("http.route");
pub(crate) const URL_PATH: Key = Key::from_static_str("url.path");
pub(crate) const URL_SCHEME: Key = Key::from_static_str("url.scheme");
pub(crate) const URL_QUERY: Key = Key::from_static_str("url.query");
pub(crate) const URL_FULL: Key = Key::from_static_str("url.full");
pub(crate) const SERVER_ADDRESS: Key = Key::from_static_str("server.address");
pub(crate) const SERVER_PORT: Key = Key::from_static_str("server.port");
pub(crate) const CLIENT_ADDRESS: Key = Key::from_static_str("client.address");
pub(crate) const NETWORK_PEER_ADDRESS: Key = Key::from_static_str("network.peer.address");
pub(crate) const NETWORK_PEER_PORT: Key = Key::from_static_str("network.peer.port");
pub(crate) const NETWORK_PROTOCOL_VERSION: Key = Key::from_static_str("network.protocol.version");
pub(crate) const USER_AGENT_ORIGINAL: Key = Key::from_static_str("user_agent.original");
pub(crate) const ERROR_TYPE: Key = Key::from_static_str("error.type");
pub(crate) const RPC_SYSTEM: Key = Key::from_static_str("rpc.system");
pub(crate) const RPC_SERVICE: Key = Key::from_static_str("rpc.service");
pub(crate) const RPC_METHOD: Key = Key::from_static_str("rpc.method");
pub(crate) const RPC_GRPC_STATUS_CODE: Key = Key::from_static_str("rpc.grpc.status_code");

/// The `error.type` of a panic in the handler.
pub(crate) const PANIC_ERROR_TYPE: &str = "panic";

/// The capacity of every span's attribute `Vec`: room for the request's attributes and
/// those the response adds (status code, `error.type`).
const CAPACITY: usize = 12;

/// An empty attribute `Vec` with room for a span's attributes.
pub(crate) fn new_attributes() -> Vec<KeyValue> {
    Vec::with_capacity(CAPACITY)
}

/// `s` as an owned attribute value.
pub(crate) fn owned(s: &str) -> StringValue {
    StringValue::from(s.to_owned())
}

/// The known HTTP methods set by [`set_known_http_methods`](crate::set_known_http_methods),
/// a full override of the standard nine; unset, the standard nine.
static KNOWN_METHODS: OnceLock<Box<[Box<str>]>> = OnceLock::new();

/// Sets the known methods; see [`crate::set_known_http_methods`].
pub(crate) fn set_known_methods(methods: Box<[Box<str>]>) -> bool {
    KNOWN_METHODS.set(methods).is_ok()
}

/// The span name and `http.request.method` value of a method, plus whether the method is
/// not known (then `http.request.method` is `_OTHER` and the span is named `HTTP`).
pub(crate) fn method_name(method: &http::Method) -> (Cow<'static, str>, bool) {
    let standard = standard_method(method);
    match KNOWN_METHODS.get() {
        None => match standard {
            Some(name) => (Cow::Borrowed(name), false),
            None => (Cow::Borrowed("_OTHER"), true),
        },
        Some(known) if known.iter().any(|m| **m == *method.as_str()) => (
            standard.map_or_else(|| Cow::Owned(method.as_str().to_owned()), Cow::Borrowed),
            false,
        ),
        Some(_) => (Cow::Borrowed("_OTHER"), true),
    }
}

/// The name of one of the nine standard methods.
fn standard_method(method: &http::Method) -> Option<&'static str> {
    // A `match` on the constants keeps the standard names `&'static str` (no allocation).
    Some(match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::PATCH => "PATCH",
        http::Method::CONNECT => "CONNECT",
        http::Method::TRACE => "TRACE",
        _ => return None,
    })
}

/// Pushes `http.request.method` (and `http.request.method_original` when not known);
/// returns the span name for the method.
pub(crate) fn push_method(attrs: &mut Vec<KeyValue>, method: &http::Method) -> Cow<'static, str> {
    let (name, other) = method_name(method);
    if other {
        attrs.push(KeyValue::new(HTTP_REQUEST_METHOD, "_OTHER"));
        attrs.push(KeyValue::new(
            HTTP_REQUEST_METHOD_ORIGINAL,
            owned(method.as_str()),
        ));
        Cow::Borrowed("HTTP")
    } else {
        attrs.push(KeyValue::new(HTTP_REQUEST_METHOD, name.clone()));
        name
    }
}

pub(crate) fn protocol_version(version: http::Version) -> Option<&'static str> {
    Some(match version {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_11 => "1.1",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => return None,
    })
}

pub(crate) fn scheme(uri: &http::Uri) -> Option<&'static str> {
    match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => Some("https"),
        Some(s) if s.eq_ignore_ascii_case("http") => Some("http"),
        _ => None,
    }
}

/// Splits a `Host` header value (or URI authority) into host and port.
///
/// One pass from the end for the last `@` (userinfo) and the last `:` after it, not two
/// `rsplit`s: measured by the instruction profile of `cargo bench --bench
/// http_layer_profile`, variant `ours` with `HTTP_LAYER_HEADERS=1` (each request carries a
/// `Host`).
pub(crate) fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let bytes = authority.as_bytes();
    // Drop any userinfo (`user:pass@`) before the host.
    let mut start = 0;
    let mut colon = None;
    for (i, &b) in bytes.iter().enumerate().rev() {
        if b == b'@' {
            start = i + 1;
            break;
        }
        if b == b':' && colon.is_none() {
            colon = Some(i);
        }
    }
    let authority = authority.get(start..)?;
    if authority.is_empty() {
        return None;
    }
    if let Some(rest) = authority.strip_prefix('[') {
        return split_ipv6(rest);
    }
    let (host, port) = match colon {
        Some(i) => {
            let host = authority.get(..i - start)?;
            if host.contains(':') {
                // An IPv6 address without its brackets: no port can be told from it.
                (authority, None)
            } else {
                (host, port_number(authority.get(i - start + 1..)?))
            }
        }
        None => (authority, None),
    };
    (!host.is_empty()).then_some((host, port))
}

/// Splits an IPv6 literal after its `[`: `::1]:8080`.
fn split_ipv6(rest: &str) -> Option<(&str, Option<u16>)> {
    let (host, after) = rest.split_once(']')?;
    let port = after.strip_prefix(':').and_then(port_number);
    (!host.is_empty()).then_some((host, port))
}

/// A port as an authority writes it: one to five ASCII digits, 1 to 65535 (`+80` and `0`
/// are none).
fn port_number(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&port| port != 0)
}

/// A span builder with a name, a kind and attributes.
///
/// Built as one struct literal: `with_attributes` takes any iterator and collects it into
/// a new `Vec` (an in-place collect, but still a pass over the attributes), and each
/// builder method moves the whole builder.
pub(crate) fn span_builder(
    name: std::borrow::Cow<'static, str>,
    kind: opentelemetry::trace::SpanKind,
    attributes: Vec<KeyValue>,
) -> opentelemetry::trace::SpanBuilder {
    opentelemetry::trace::SpanBuilder {
        name,
        span_kind: Some(kind),
        attributes: Some(attributes),
        ..Default::default()
    }
}

/// Marks the span in `cx` as failed with `error.type` and an optional description.
pub(crate) fn mark_error(cx: &Context, error_type: opentelemetry::Value, description: String) {
    let span = cx.span();
    span.set_attribute(KeyValue::new(ERROR_TYPE, error_type));
    span.set_status(Status::error(description));
}

/// Marks the span in `cx` failed as a client call its caller dropped before the response
/// (a timeout around the call): `error.type` `cancelled`.
pub(crate) fn mark_cancelled(cx: &Context) {
    mark_error(cx, opentelemetry::Value::from("cancelled"), String::new());
}

/// Ends the span in `cx`.
pub(crate) fn end(cx: &Context) {
    cx.span().end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    #[allow(clippy::type_complexity)] // a table of cases
    #[test]
    fn host_port_table() {
        let cases: &[(&str, Option<(&str, Option<u16>)>, &str)] = &[
            ("example.com",        Some(("example.com", None)),       "host only"),
            ("example.com:8080",   Some(("example.com", Some(8080))), "host and port"),
            ("[::1]:9000",         Some(("::1", Some(9000))),         "IPv6 with port"),
            ("[::1]",              Some(("::1", None)),               "IPv6 without port"),
            ("u:p@example.com:81", Some(("example.com", Some(81))),   "userinfo is dropped"),
            ("",                   None,                              "empty is unknown"),
        ];
        for (input, expected, reason) in cases {
            assert_eq!(split_host_port(input), *expected, "{reason}");
        }
    }

    /// The two `rsplit`s the one pass replaced.
    fn split_host_port_reference(authority: &str) -> Option<(&str, Option<u16>)> {
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        if authority.is_empty() {
            return None;
        }
        if let Some(rest) = authority.strip_prefix('[') {
            return split_ipv6(rest);
        }
        match authority.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => Some((authority, None)),
            Some(("", _)) => None,
            Some((host, port)) => Some((host, port_number(port))),
            None => Some((authority, None)),
        }
    }

    #[test]
    fn hosts_and_ports() {
        #[rustfmt::skip]
        let cases = [
            ("example.com", Some(("example.com", None))),
            ("example.com:8080", Some(("example.com", Some(8080)))),
            ("u:p@example.com:81", Some(("example.com", Some(81)))),
            ("[::1]:8080", Some(("::1", Some(8080)))),
            ("[::1]", Some(("::1", None))),
            ("2001:db8::1", Some(("2001:db8::1", None))),
            ("example.com:0", Some(("example.com", None))),
            ("example.com:+80", Some(("example.com", None))),
            ("example.com:65536", Some(("example.com", None))),
            ("example.com:", Some(("example.com", None))),
            (":80", None),
            ("[]:80", None),
            ("u@:80", None),
            ("", None),
        ];
        for (authority, expected) in cases {
            assert_eq!(split_host_port(authority), expected, "{authority:?}");
        }
    }

    /// Every string of up to five characters from an alphabet of the characters that
    /// matter (and a multi-byte one): the one pass splits each as the `rsplit`s did.
    #[test]
    fn one_pass_split_as_rsplits() {
        let alphabet = ["a", "1", ":", "@", "[", "]", "é"];
        assert_eq!(split_host_port(""), split_host_port_reference(""));
        let mut inputs = vec![String::new()];
        let mut checked = 0;
        for _ in 0..5 {
            let mut longer = Vec::new();
            for input in &inputs {
                for c in alphabet {
                    let s = format!("{input}{c}");
                    assert_eq!(split_host_port(&s), split_host_port_reference(&s), "{s:?}");
                    checked += 1;
                    longer.push(s);
                }
            }
            inputs = longer;
        }
        assert_eq!(checked, 7 + 49 + 343 + 2401 + 16807);
    }
}
