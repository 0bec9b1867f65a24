//! The response body that carries a request's span and ends it.

use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::grpc;
use crate::span_handle::SpanHandle;

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
                if let Some(span) = this.span.take() {
                    span.on_body_end();
                }
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
                    if let Some(span) = this.span.take() {
                        span.on_body_end();
                    }
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

    /// hyper does not poll a body that says it is at its end (an empty 404, a
    /// trailers-only gRPC answer): that counts as read to the end. The span ends as the
    /// body is dropped.
    fn is_end_stream(&self) -> bool {
        let end = self.inner.is_end_stream();
        if end {
            if let Some(span) = &self.span {
                span.on_body_end();
            }
        }
        end
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
