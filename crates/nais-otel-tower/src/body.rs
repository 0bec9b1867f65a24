//! The span handle that ends the span, and the response body that carries it.

use std::any::type_name;
use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use http::{HeaderMap, HeaderValue, StatusCode};
use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue, Value};
use pin_project_lite::pin_project;

use crate::attributes::{self, HTTP_RESPONSE_STATUS_CODE, RPC_GRPC_STATUS_CODE};
use crate::grpc;

/// Which side of the call a span describes; the status rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// The live span of one request. Ends the span when dropped.
#[derive(Debug)]
pub(crate) struct SpanHandle {
    pub(crate) cx: Context,
    pub(crate) side: Side,
    pub(crate) grpc: bool,
    pub(crate) traceparent_response_header: bool,
}

impl SpanHandle {
    /// Records the response head: status code, `grpc-status` header, the status rules.
    pub(crate) fn on_response_head(&self, status: StatusCode, headers: &mut HeaderMap) {
        if self.grpc {
            if let Some(code) = grpc::status_code(headers) {
                self.on_grpc_status(code);
            }
        } else {
            let span = self.cx.span();
            span.set_attribute(KeyValue::new(
                HTTP_RESPONSE_STATUS_CODE,
                i64::from(status.as_u16()),
            ));
            let failed = match self.side {
                // NAIS: an expected 4xx is the caller's problem, not the server's.
                Side::Server => status.is_server_error(),
                Side::Client => status.is_client_error() || status.is_server_error(),
            };
            if failed {
                attributes::mark_error(
                    &self.cx,
                    Value::from(crate::alloc::repeated(status.as_str())),
                    String::new(),
                );
            }
        }
        if self.traceparent_response_header {
            let span = self.cx.span();
            let sc = span.span_context();
            if sc.is_valid() {
                let value = format!(
                    "00-{}-{}-{:02x}",
                    sc.trace_id(),
                    sc.span_id(),
                    sc.trace_flags().to_u8()
                );
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert("traceparent", value);
                }
            }
        }
    }

    pub(crate) fn on_grpc_status(&self, code: i64) {
        self.cx
            .span()
            .set_attribute(KeyValue::new(RPC_GRPC_STATUS_CODE, code));
        if grpc::is_error(code, self.side == Side::Server) {
            attributes::mark_error(&self.cx, Value::from(grpc::code_name(code)), String::new());
        }
    }

    /// The inner service (or the body) failed with `error`.
    pub(crate) fn on_error<E: fmt::Display>(&self, error: &E) {
        attributes::mark_error(&self.cx, Value::from(type_name::<E>()), error.to_string());
    }

    /// The handler panicked.
    pub(crate) fn on_panic(&self, payload: &(dyn std::any::Any + Send)) {
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "panic".to_owned()
        };
        attributes::mark_error(&self.cx, Value::from(attributes::PANIC_ERROR_TYPE), message);
    }
}

impl Drop for SpanHandle {
    fn drop(&mut self) {
        attributes::end(&self.cx);
    }
}

pin_project! {
    /// Response body of [`Server`](crate::Server) and [`Client`](crate::Client).
    ///
    /// Ends the request span when the body has been read to the end (its last frame
    /// returned), fails, or is dropped; reads `grpc-status` from the trailers of gRPC calls.
    /// While a streaming inner body (one without an exact size hint) is polled, the span's
    /// context is the current OpenTelemetry context, so spans the stream makes are the
    /// request span's children; a body of known length is polled without it.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        span: Option<SpanHandle>,
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn new(inner: B, span: Option<SpanHandle>) -> Self {
        Self { inner, span }
    }
}

impl<B: fmt::Debug> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("inner", &self.inner)
            .field("traced", &self.span.is_some())
            .finish()
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body,
    B::Error: fmt::Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let result = match this.span {
            // A body of known length is (nearly always) already in memory: polling it runs
            // no code that could make spans, so the context is not attached for it.
            Some(_) if this.inner.size_hint().exact().is_some() => {
                ready!(this.inner.as_mut().poll_frame(cx))
            }
            Some(span) => {
                let _guard = span.cx.clone().attach();
                ready!(this.inner.as_mut().poll_frame(cx))
            }
            None => return this.inner.poll_frame(cx),
        };
        match &result {
            None => {
                this.span.take();
            }
            Some(Ok(frame)) => {
                if let (Some(trailers), Some(span)) = (frame.trailers_ref(), this.span.as_ref()) {
                    if span.grpc {
                        if let Some(code) = grpc::status_code(trailers) {
                            span.on_grpc_status(code);
                        }
                    }
                }
                if this.inner.is_end_stream() {
                    // That was the last frame: end the span now, so the poll that only
                    // returns `None` attaches no context.
                    this.span.take();
                }
            }
            Some(Err(error)) => {
                if let Some(span) = this.span.take() {
                    span.on_error(error);
                }
            }
        }
        Poll::Ready(result)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
