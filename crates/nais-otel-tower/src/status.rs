//! When a request's span is an error: the status rules of HTTP and gRPC, one per side of
//! the call, and the response attributes they are read from.

use http::StatusCode;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue, Value};

use crate::attributes::{
    mark_error, owned, protocol_version, HTTP_RESPONSE_STATUS_CODE, NETWORK_PROTOCOL_VERSION,
    RPC_GRPC_STATUS_CODE,
};
use crate::grpc;

/// Which side of the call a span describes; the status rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// Whether an HTTP response status makes the span an error: on the server a 5xx (NAIS: an
/// expected 4xx is the caller's problem, not the server's), on the client a 4xx or 5xx;
/// on both a code no HTTP class defines (600 and above), which neither side can
/// interpret.
pub(crate) fn http_is_error(side: Side, status: StatusCode) -> bool {
    let uninterpretable = status.as_u16() >= 600;
    match side {
        Side::Server => status.is_server_error() || uninterpretable,
        Side::Client => status.is_client_error() || status.is_server_error() || uninterpretable,
    }
}

/// Whether a gRPC status code makes the span an error, per the gRPC semantic conventions:
/// on the server only UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and
/// DATA_LOSS (the others are the caller's fault); on the client every code but OK.
pub(crate) fn grpc_is_error(side: Side, code: i64) -> bool {
    match side {
        Side::Server => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
        Side::Client => code != 0,
    }
}

/// Records `http.response.status_code` on the span in `cx`, and marks the span failed
/// (`error.type` is the code) when [`http_is_error`] says so.
pub(crate) fn record_http_status(cx: &Context, side: Side, status: StatusCode) {
    cx.span().set_attribute(KeyValue::new(
        HTTP_RESPONSE_STATUS_CODE,
        i64::from(status.as_u16()),
    ));
    if http_is_error(side, status) {
        mark_error(cx, Value::from(owned(status.as_str())), String::new());
    }
}

/// Records `network.protocol.version` on a client span in `cx`: the version the server
/// answered with (the server side reads the request's).
pub(crate) fn record_protocol_version(cx: &Context, version: http::Version) {
    if let Some(version) = protocol_version(version) {
        cx.span()
            .set_attribute(KeyValue::new(NETWORK_PROTOCOL_VERSION, version));
    }
}

/// Records `rpc.grpc.status_code` on the span in `cx`, and marks the span failed
/// (`error.type` is the code's name) when [`grpc_is_error`] says so.
pub(crate) fn record_grpc_status(cx: &Context, side: Side, code: i64) {
    cx.span()
        .set_attribute(KeyValue::new(RPC_GRPC_STATUS_CODE, code));
    if grpc_is_error(side, code) {
        mark_error(cx, Value::from(grpc::code_name(code)), String::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_errors_by_side() {
        let errors = |side| {
            [100, 200, 302, 404, 499, 500, 599, 600, 999]
                .into_iter()
                .filter(|&code| {
                    http_is_error(side, StatusCode::from_u16(code).expect("a status code"))
                })
                .collect::<Vec<u16>>()
        };
        assert_eq!(errors(Side::Server), [500, 599, 600, 999]);
        assert_eq!(errors(Side::Client), [404, 499, 500, 599, 600, 999]);
    }

    #[test]
    fn server_and_client_errors() {
        let server: Vec<i64> = (0..=16)
            .filter(|c| grpc_is_error(Side::Server, *c))
            .collect();
        assert_eq!(server, [2, 4, 12, 13, 14, 15]);
        let client: Vec<i64> = (0..=16)
            .filter(|c| grpc_is_error(Side::Client, *c))
            .collect();
        assert_eq!(client, (1..=16).collect::<Vec<_>>());
    }
}
