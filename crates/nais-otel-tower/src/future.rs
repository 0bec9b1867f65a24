//! The response future shared by the server and client services.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http::Response;
use pin_project_lite::pin_project;

use crate::body::ResponseBody;
use crate::span_handle::SpanHandle;

pin_project! {
    /// Response future of [`Server`](crate::Server) and [`Client`](crate::Client).
    ///
    /// Polls the inner future with the request span's context attached, so spans made
    /// while it runs are children of the request span.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Option<SpanHandle>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, span: Option<SpanHandle>) -> Self {
        Self { inner, span }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("traced", &self.span.is_some())
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: fmt::Display,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(span) = this.span.as_ref() else {
            // Not traced: no context, no unwind guard, just the inner future.
            return match this.inner.poll(cx) {
                Poll::Ready(result) => {
                    Poll::Ready(result.map(|res| res.map(|b| ResponseBody::new(b, None))))
                }
                Poll::Pending => Poll::Pending,
            };
        };

        let polled = {
            let _guard = span.cx.clone().attach();
            // A panicking handler must still give an ERROR span; the panic continues below.
            catch_unwind(AssertUnwindSafe(|| this.inner.poll(cx)))
        };
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(mut res))) => {
                let (status, version) = (res.status(), res.version());
                span.on_response_head(status, version, res.headers_mut());
                let span = this.span.take();
                Poll::Ready(Ok(res.map(|b| ResponseBody::new(b, span))))
            }
            Ok(Poll::Ready(Err(error))) => {
                span.on_error(&error);
                this.span.take();
                Poll::Ready(Err(error))
            }
            Err(payload) => {
                span.on_panic(&*payload);
                // Ends the span before unwinding further.
                this.span.take();
                resume_unwind(payload)
            }
        }
    }
}
