use std::fmt;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use opentelemetry::Context;
use tower_service::Service;

use super::span::client_span;
use super::ClientLayer;
use crate::body::ResponseBody;
use crate::future::ResponseFuture;
use crate::grpc;
use crate::propagate;
use crate::span_handle::SpanHandle;
use crate::status::Side;

/// Middleware that traces every outgoing request with a CLIENT span.
///
/// See the [module docs](crate::client) for more details.
#[derive(Clone, Debug)]
pub struct Client<S> {
    pub(crate) inner: S,
    pub(crate) layer: ClientLayer,
}

impl<S> Client<S> {
    /// Wraps `inner` with a default [`ClientLayer`].
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            layer: ClientLayer::new(),
        }
    }

    /// Returns a new [`ClientLayer`] that wraps services with a `Client` middleware.
    pub fn layer() -> ClientLayer {
        ClientLayer::new()
    }

    define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Client<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: fmt::Display,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let grpc = grpc::is_grpc(req.headers());
        let builder = client_span(&req, grpc);
        let parent = Context::current();
        let cx = self.layer.tracer.start(builder, &parent);

        // Inject the CLIENT span's own context, so the server's span is its child.
        propagate::inject(self.layer.propagator.as_deref(), &cx, req.headers_mut());

        let future = {
            let _guard = cx.clone().attach();
            self.inner.call(req)
        };
        ResponseFuture::new(future, Some(SpanHandle::new(cx, Side::Client, grpc, false)))
    }
}
