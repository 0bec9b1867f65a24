//! An axum router traced by a [`ServerLayer`], its excluded routes served without it.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Bytes, HttpBody};
use axum::response::Response;
use axum::routing::future::RouteFuture;
use axum::{BoxError, Router};
use http::Request;
use tower_service::Service;

use super::ServerLayer;

/// An axum [`Router`] traced by a [`ServerLayer`], whose excluded routes skip the layer.
///
/// `router.layer(server_layer)` wraps every route, so an excluded route (a health check)
/// still pays axum's cost of a layered route: one more boxed service a request, and a
/// box for the body wrapper, though no span is made. `cargo bench --bench http_layer`
/// measures it: row `bare router + identity Router::layer, /isAlive` against
/// `bare router, /isAlive`.
///
/// `TracedRouter` keeps two copies of the router: one without the layer and one with it.
/// Before routing, it matches the request path against the layer's excluded path globs
/// and sends an excluded request to the copy without the layer, at the bare router's
/// cost. Every other request goes to the copy with the layer, as `router.layer(..)`
/// would serve it (with the globs matched once, before routing): spans have `http.route`,
/// and a [`filter`](ServerLayer::filter) still decides there.
///
/// Build it last, from the finished router, with [`ServerLayer::trace_router`]. It serves
/// with [`axum::serve()`] like a `Router`, and is a `tower::Service` for anything else.
/// For axum's `ConnectInfo`, use `router.layer(..)` and `into_make_service_with_connect_info`.
///
/// # Examples
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use nais_otel_tower::ServerLayer;
///
/// # async fn run() -> std::io::Result<()> {
/// let router: Router = Router::new()
///     .route("/dogs/{id}", get(|| async { "dog" }))
///     .route("/internal/isAlive", get(|| async { "ok" }));
/// let app = ServerLayer::new().trace_router(router);
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct TracedRouter {
    /// One `Arc`, so that a copy a request (as `axum::serve` makes) costs what a
    /// `Router`'s does.
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The router without the layer, for excluded requests.
    bare: Router,
    /// The router with the layer.
    traced: Router,
    /// The layer: its excluded path globs decide, before routing.
    layer: ServerLayer,
}

impl ServerLayer {
    /// Traces `router` with this layer, and serves its excluded routes without the layer:
    /// see [`TracedRouter`].
    pub fn trace_router(self, router: Router) -> TracedRouter {
        TracedRouter {
            inner: Arc::new(Inner {
                // Made ready to serve now, as `axum::serve` would on every connection.
                bare: router.clone().with_state(()),
                // The globs already decided; the layer keeps only the filter.
                traced: router.layer(self.without_path_globs()).with_state(()),
                layer: self,
            }),
        }
    }
}

impl TracedRouter {
    /// Whether a request for `path` goes to the router without the layer.
    pub(crate) fn excludes(&self, path: &str) -> bool {
        self.inner.layer.shared.exclusions.excludes_path(path)
    }
}

impl<B> Service<Request<B>> for TracedRouter
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = RouteFuture<Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // A `Router` is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let mut router = if self.excludes(req.uri().path()) {
            self.inner.bare.clone()
        } else {
            self.inner.traced.clone()
        };
        router.call(req)
    }
}

/// For [`axum::serve()`]: a copy of the router for each connection, as `Router` does.
impl<L> Service<axum::serve::IncomingStream<'_, L>> for TracedRouter
where
    L: axum::serve::Listener,
{
    type Response = Self;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _stream: axum::serve::IncomingStream<'_, L>) -> Self::Future {
        std::future::ready(Ok(self.clone()))
    }
}
