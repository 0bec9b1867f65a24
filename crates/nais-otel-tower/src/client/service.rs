use std::borrow::Cow;
use std::fmt;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response, Uri};
use nais_otel_propagation::HeaderInjector;
use opentelemetry::global;
use opentelemetry::trace::{SpanBuilder, SpanKind};

use opentelemetry::{Context, KeyValue};
use tower_service::Service;

use super::ClientLayer;
use crate::alloc;
use crate::attributes::*;
use crate::body::ResponseBody;
use crate::future::ResponseFuture;
use crate::grpc;
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
        let mut injector = HeaderInjector(req.headers_mut());
        match &self.layer.propagator {
            Some(propagator) => propagator.inject_context(&cx, &mut injector),
            None => global::get_text_map_propagator(|p| p.inject_context(&cx, &mut injector)),
        }

        let future = {
            let _guard = cx.clone().attach();
            self.inner.call(req)
        };
        ResponseFuture::new(
            future,
            Some(SpanHandle {
                cx,
                side: Side::Client,
                grpc,
                traceparent_response_header: false,
            }),
        )
    }
}

fn client_span<B>(req: &Request<B>, grpc: bool) -> SpanBuilder {
    let mut attrs = alloc::attributes();
    let uri = req.uri();
    let grpc_names = if grpc {
        grpc::service_method(uri.path())
    } else {
        None
    };
    let name: Cow<'static, str> = match grpc_names {
        Some((service, method)) => {
            attrs.push(KeyValue::new(RPC_SYSTEM, "grpc"));
            attrs.push(KeyValue::new(RPC_SERVICE, alloc::repeated(service)));
            attrs.push(KeyValue::new(RPC_METHOD, alloc::repeated(method)));
            alloc::span_name(&uri.path()[1..])
        }
        None => Cow::Borrowed(push_method(&mut attrs, req.method())),
    };

    let authority = uri.authority().map(|a| a.as_str()).or_else(|| {
        req.headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
    });
    if let Some((host, port)) = authority.and_then(split_host_port) {
        attrs.push(KeyValue::new(SERVER_ADDRESS, alloc::repeated(host)));
        let port = port.or(match scheme(uri) {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        if let Some(port) = port {
            attrs.push(KeyValue::new(SERVER_PORT, i64::from(port)));
        }
    }
    if let Some(full) = url_full(uri) {
        attrs.push(KeyValue::new(URL_FULL, alloc::per_request(&full)));
    }
    span_builder(name, SpanKind::Client, attrs)
}

/// The absolute URI without `user:password@`; `None` for a relative URI.
pub(crate) fn url_full(uri: &Uri) -> Option<String> {
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?.as_str();
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let path_and_query = uri.path_and_query().map_or("", |pq| pq.as_str());
    Some(format!("{scheme}://{host_port}{path_and_query}"))
}
