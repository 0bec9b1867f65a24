//! The live span of one request: what the response, an error or a panic adds to it, and its
//! end when dropped.

use std::any::type_name;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use nais_otel_propagation::TraceParent;
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, KeyValue, Value};

use crate::attributes;
use crate::grpc;
use crate::status::{
    grpc_is_error, http_is_error, record_grpc_status, record_http_status, record_protocol_version,
    Side,
};

/// A ready header name: a lookup by `&str` parses and validates the name every time.
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The live span of one request. Ends the span when dropped.
///
/// A gRPC call without a `grpc-status` (and without an error or a panic) gets the code the
/// other side sees, with the status rules of its side: when its response body ended, the
/// code gRPC's HTTP-to-status mapping gives for the HTTP status (404 UNIMPLEMENTED, 503
/// UNAVAILABLE, …); when it was dropped before its end, 1, CANCELLED (the caller went
/// away, or a deadline above the layer, tonic's `grpc-timeout` handling, gave up on it).
/// An HTTP client call dropped before its response head (a timeout around the call) is
/// an error of `error.type` `cancelled`.
#[derive(Debug)]
pub(crate) struct SpanHandle {
    pub(crate) cx: Context,
    pub(crate) side: Side,
    pub(crate) grpc: bool,
    pub(crate) traceparent_response_header: bool,
    /// A status, an error or a panic was recorded.
    pub(crate) settled: AtomicBool,
    /// `error.type` was recorded: a span carries it once.
    errored: AtomicBool,
    /// The response's HTTP status, 0 before the response head.
    pub(crate) http_status: AtomicU16,
}

impl SpanHandle {
    /// The handle of the span in `cx`.
    pub(crate) fn new(
        cx: Context,
        side: Side,
        grpc: bool,
        traceparent_response_header: bool,
    ) -> Self {
        Self {
            cx,
            side,
            grpc,
            traceparent_response_header,
            settled: AtomicBool::new(false),
            errored: AtomicBool::new(false),
            http_status: AtomicU16::new(0),
        }
    }

    /// Records the response head: status code, `grpc-status` header, the status rules, and
    /// the span's own `traceparent` when the layer sends it back.
    pub(crate) fn on_response_head(
        &self,
        status: StatusCode,
        version: http::Version,
        headers: &mut HeaderMap,
    ) {
        if self.side == Side::Client {
            record_protocol_version(&self.cx, version);
        }
        self.http_status.store(status.as_u16(), Ordering::Relaxed);
        if self.grpc {
            let code = grpc::status_code(headers);
            // A response that is no gRPC response (an HTTP route's, a 404), or tonic's
            // answer to a method it does not have.
            if self.side == Side::Server
                && (!grpc::is_grpc(headers)
                    || code.is_some_and(|code| grpc::is_unknown_method(code, headers)))
            {
                self.unknown_method();
            }
            if let Some(code) = code {
                self.on_grpc_status(code);
            }
        } else {
            record_http_status(&self.cx, self.side, status);
            if http_is_error(self.side, status) {
                self.errored.store(true, Ordering::Relaxed);
            }
        }
        if self.traceparent_response_header {
            if let Some(traceparent) = TraceParent::from_span_context(self.cx.span().span_context())
            {
                if let Ok(value) = HeaderValue::from_str(&traceparent.to_string()) {
                    headers.insert(TRACEPARENT, value);
                }
            }
        }
    }

    /// Records a `grpc-status` from the response headers or trailers: the first one, as
    /// gRPC reads it (a trailer after a status in the head does not count).
    pub(crate) fn on_grpc_status(&self, code: i64) {
        if self.settled.swap(true, Ordering::Relaxed) {
            return;
        }
        record_grpc_status(&self.cx, self.side, code);
        if grpc_is_error(self.side, code) {
            self.errored.store(true, Ordering::Relaxed);
        }
    }

    /// Marks the span failed with `error.type` `error_type`, unless a status already gave
    /// it one (a 500 whose body then broke off): then only the description is added.
    fn mark_error(&self, error_type: Value, description: String) {
        if self.errored.swap(true, Ordering::Relaxed) {
            if !description.is_empty() {
                self.cx.span().set_status(Status::error(description));
            }
            return;
        }
        attributes::mark_error(&self.cx, error_type, description);
    }

    /// The response body ended (its last frame read): a gRPC call without a status gets
    /// the code its HTTP status maps to.
    pub(crate) fn on_body_end(&self) {
        if self.grpc && !self.settled.load(Ordering::Relaxed) {
            let status = self.http_status.load(Ordering::Relaxed);
            self.on_grpc_status(grpc::code_for_http_status(status));
        }
    }

    /// The server does not serve the method as gRPC: the span is named `grpc`, not by the
    /// path a caller chose (any caller can send any path and any `content-type`, and span
    /// names must stay few). `rpc.service` and `rpc.method` keep what was called.
    fn unknown_method(&self) {
        self.cx.span().update_name(grpc::UNKNOWN_METHOD_SPAN_NAME);
    }

    /// The inner service (or the body) failed with `error`. A gRPC client call without a
    /// status gets the code tonic reports for it: UNAVAILABLE before the response head
    /// (the connection failed; a timeout on tonic's `Endpoint` tonic reports as
    /// CANCELLED, which the error does not tell apart), INTERNAL after it.
    pub(crate) fn on_error<E: fmt::Display>(&self, error: &E) {
        let settled = self.settled.swap(true, Ordering::Relaxed);
        if self.grpc && self.side == Side::Client && !settled {
            let code = if self.http_status.load(Ordering::Relaxed) == 0 {
                grpc::UNAVAILABLE
            } else {
                grpc::INTERNAL
            };
            self.cx
                .span()
                .set_attribute(KeyValue::new(attributes::RPC_GRPC_STATUS_CODE, code));
        }
        self.mark_error(Value::from(type_name::<E>()), error.to_string());
    }

    /// The handler panicked.
    pub(crate) fn on_panic(&self, payload: &(dyn std::any::Any + Send)) {
        self.settled.store(true, Ordering::Relaxed);
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "panic".to_owned()
        };
        self.mark_error(Value::from(attributes::PANIC_ERROR_TYPE), message);
    }
}

impl Drop for SpanHandle {
    fn drop(&mut self) {
        if !*self.settled.get_mut() {
            if self.grpc {
                record_grpc_status(&self.cx, self.side, grpc::CANCELLED);
            } else if self.side == Side::Client && *self.http_status.get_mut() == 0 {
                // The caller gave up before the response (a timeout around the call, say):
                // the request failed.
                attributes::mark_cancelled(&self.cx);
            }
        }
        attributes::end(&self.cx);
    }
}
