use std::fmt;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::span::{grpc_span, http_span};
use super::ServerLayer;
use crate::body::ResponseBody;
use crate::future::ResponseFuture;
use crate::grpc;
use crate::headers::KnownHeaders;
use crate::span_handle::SpanHandle;
use crate::status::Side;

/// Middleware that traces every incoming request with a SERVER span.
///
/// See the [module docs](crate::server) for more details.
#[derive(Clone, Debug)]
pub struct Server<S> {
    pub(crate) inner: S,
    pub(crate) layer: ServerLayer,
}

impl<S> Server<S> {
    /// Wraps `inner` with a default [`ServerLayer`].
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            layer: ServerLayer::new(),
        }
    }

    /// Returns a new [`ServerLayer`] that wraps services with a `Server` middleware.
    pub fn layer() -> ServerLayer {
        ServerLayer::new()
    }

    define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Server<S>
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

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let shared = &self.layer.shared;
        if !shared.exclusions.is_traced(&req) {
            return ResponseFuture::new(self.inner.call(req), None);
        }

        let known = KnownHeaders::find(req.headers());
        let parent = shared.propagator.extract(req.headers(), &known);
        // gRPC calls are POSTs; any other method is HTTP whatever its `content-type`.
        let grpc =
            req.method() == http::Method::POST && grpc::is_grpc_content_type(known.content_type);
        let builder = if grpc {
            grpc_span(&req, &known)
        } else {
            http_span(&req, &known)
        };
        let cx = shared.tracer.start(builder, &parent);

        let future = {
            // The inner `call` may already run handler code (and make spans).
            let _guard = cx.clone().attach();
            self.inner.call(req)
        };
        ResponseFuture::new(
            future,
            Some(SpanHandle::new(
                cx,
                Side::Server,
                grpc,
                shared.traceparent_response_header,
            )),
        )
    }
}
