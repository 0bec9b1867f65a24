//! gRPC over HTTP/2: recognising calls, naming spans, and reading `grpc-status`; which
//! codes are errors is in `status.rs`.

use http::HeaderMap;

/// `CANCELLED`: the call was given up before it had a status.
pub(crate) const CANCELLED: i64 = 1;

/// `UNIMPLEMENTED`: no such method on the server.
pub(crate) const UNIMPLEMENTED: i64 = 12;

/// The span name of a server call to a method the server does not know: the RPC
/// conventions' name when the method is not recognised (`rpc.system`).
pub(crate) const UNKNOWN_METHOD_SPAN_NAME: &str = "grpc";

/// The code of a gRPC response without `grpc-status`, from its HTTP status, as gRPC's
/// HTTP-to-status mapping gives it: 400 INTERNAL, 401 UNAUTHENTICATED, 403
/// PERMISSION_DENIED, 404 UNIMPLEMENTED, 429, 502, 503 and 504 UNAVAILABLE, any other
/// UNKNOWN.
pub(crate) fn code_for_http_status(status: u16) -> i64 {
    match status {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502 | 503 | 504 => 14,
        _ => 2,
    }
}

/// `true` when the request's `content-type` is `application/grpc` or `application/grpc+...`.
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    is_grpc_content_type(headers.get(http::header::CONTENT_TYPE))
}

/// [`is_grpc`] for a `content-type` value already looked up.
pub(crate) fn is_grpc_content_type(content_type: Option<&http::HeaderValue>) -> bool {
    content_type.is_some_and(|ct| {
        let ct = ct.as_bytes();
        ct.len() >= 16 && ct[..16].eq_ignore_ascii_case(b"application/grpc")
    })
}

/// Splits `/package.Service/Method` into `("package.Service", "Method")`.
pub(crate) fn service_method(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    if service.is_empty() || method.is_empty() || method.contains('/') {
        return None;
    }
    Some((service, method))
}

/// A ready header name: looking up a `&str` parses and validates it on every call.
const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");

/// A ready header name, as [`GRPC_STATUS`].
const GRPC_MESSAGE: http::HeaderName = http::HeaderName::from_static("grpc-message");

/// Whether a server's response head says it knows no such method: `UNIMPLEMENTED` in the
/// head (a trailers-only response) without a `grpc-message`, as tonic's router answers
/// an unknown service and its generated servers an unknown method. A handler that
/// answers `UNIMPLEMENTED` with a message is a method the server knows.
pub(crate) fn is_unknown_method(code: i64, headers: &HeaderMap) -> bool {
    code == UNIMPLEMENTED && !headers.contains_key(GRPC_MESSAGE)
}

/// `UNKNOWN`: what a `grpc-status` that is no code reads as.
pub(crate) const UNKNOWN: i64 = 2;

/// `UNAVAILABLE`: what tonic reports for a call whose connection failed.
pub(crate) const UNAVAILABLE: i64 = 14;

/// `INTERNAL`: what tonic reports for a response broken off after its head.
pub(crate) const INTERNAL: i64 = 13;

/// Reads the `grpc-status` header or trailer (the first, if repeated) as gRPC
/// implementations do: exactly `0` to `16`; any other value (`+0`, `013`, ` 5`, `99`,
/// `abc`) is UNKNOWN, as tonic reads it.
pub(crate) fn status_code(headers: &HeaderMap) -> Option<i64> {
    let value = headers.get(GRPC_STATUS)?.as_bytes();
    let code = match value {
        [digit @ b'0'..=b'9'] => i64::from(digit - b'0'),
        [b'1', digit @ b'0'..=b'6'] => 10 + i64::from(digit - b'0'),
        _ => UNKNOWN,
    };
    Some(code)
}

/// The canonical name of a gRPC status code, used as `error.type`.
pub(crate) fn code_name(code: i64) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "_OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    #[allow(clippy::type_complexity)] // a table of cases
    #[test]
    fn service_method_table() {
        let cases: &[(&str, Option<(&str, &str)>, &str)] = &[
            ("/helloworld.Greeter/SayHello", Some(("helloworld.Greeter", "SayHello")), "normal call"),
            ("/Greeter/SayHello",            Some(("Greeter", "SayHello")),            "no package"),
            ("helloworld.Greeter/SayHello",  None,                                     "no leading slash"),
            ("/helloworld.Greeter/",         None,                                     "no method"),
            ("/a/b/c",                       None,                                     "too many segments"),
        ];
        for (path, expected, reason) in cases {
            assert_eq!(service_method(path), *expected, "{reason}");
        }
    }

    #[test]
    fn content_types() {
        for (ct, expected) in [
            ("application/grpc", true),
            ("application/grpc+proto", true),
            ("Application/GRPC", true),
            ("application/json", false),
            ("application/grp", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::CONTENT_TYPE, ct.parse().unwrap());
            assert_eq!(is_grpc(&headers), expected, "{ct}");
        }
        assert!(!is_grpc(&HeaderMap::new()));
    }
}
