//! Client spans for [reqwest] through [reqwest-middleware].
//!
//! ```no_run
//! # async fn run() -> Result<(), reqwest_middleware::Error> {
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(nais_otel_tower::ReqwestMiddleware::new())
//!     .build();
//! let response = client.get("http://inventory/api/v1/inventory?kennelId=2").send().await?;
//! # let _ = response;
//! # Ok(())
//! # }
//! ```
//!
//! Each request gets a CLIENT span named after the method, with the same
//! attributes and status rules as [`ClientLayer`](crate::ClientLayer), and
//! the client span's own `traceparent` on the outgoing request. The span ends
//! when the response head arrives (reqwest hands the body to the caller).
//!
//! [reqwest]: https://docs.rs/reqwest
//! [reqwest-middleware]: https://docs.rs/reqwest-middleware

use std::fmt;

use opentelemetry::{
    propagation::TextMapPropagator,
    trace::{FutureExt as _, SpanBuilder, SpanKind, Status, TraceContextExt as _, Tracer},
    Context, KeyValue,
};
use reqwest_middleware::{Middleware, Next};

use crate::attributes::{
    new_attributes, owned, push_method, ERROR_TYPE, SERVER_ADDRESS, SERVER_PORT, URL_FULL,
};
use crate::propagate;
use crate::status::{record_http_status, record_protocol_version, Side};
use crate::tracer::SpanStarter;

/// A [`reqwest_middleware::Middleware`] that makes CLIENT spans and sends
/// their `traceparent`. See the [module docs](self).
///
/// Build it after `nais_otel::init()`: it takes the global tracer when built.
pub struct ReqwestMiddleware {
    tracer: SpanStarter,
    propagator: Option<Box<dyn TextMapPropagator + Send + Sync>>,
}

impl fmt::Debug for ReqwestMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestMiddleware")
            .field("tracer", &self.tracer)
            .finish_non_exhaustive()
    }
}

impl Default for ReqwestMiddleware {
    fn default() -> Self {
        Self::new()
    }
}

impl ReqwestMiddleware {
    /// With the global tracer (taken now) and the global propagator.
    pub fn new() -> Self {
        Self {
            tracer: SpanStarter::global(),
            propagator: None,
        }
    }

    /// Uses `tracer` instead of the global tracer provider's.
    #[must_use]
    pub fn tracer<T>(mut self, tracer: T) -> Self
    where
        T: Tracer + Send + Sync + 'static,
        T::Span: Send + Sync + 'static,
    {
        self.tracer = SpanStarter::new(tracer);
        self
    }

    /// Uses this propagator instead of the global one.
    #[must_use]
    pub fn propagator<P>(mut self, propagator: P) -> Self
    where
        P: TextMapPropagator + Send + Sync + 'static,
    {
        self.propagator = Some(Box::new(propagator));
        self
    }

    fn span(&self, request: &reqwest::Request) -> Context {
        let mut attributes = new_attributes();
        let name = push_method(&mut attributes, request.method());
        let url = request.url();
        if let Some(host) = url.host_str() {
            // An IPv6 address without its brackets, as the client layer and the server
            // write it.
            let host = host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host);
            attributes.push(KeyValue::new(SERVER_ADDRESS, owned(host)));
        }
        if let Some(port) = url.port_or_known_default() {
            attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
        }
        let full =
            crate::redact::redact_url(url.as_str()).unwrap_or_else(|| url.as_str().to_owned());
        attributes.push(KeyValue::new(URL_FULL, full));
        let builder = SpanBuilder::from_name(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes);
        self.tracer.start(builder, &Context::current())
    }
}

#[async_trait::async_trait]
impl Middleware for ReqwestMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let cx = self.span(&request);
        propagate::inject(self.propagator.as_deref(), &cx, request.headers_mut());
        // Marks the span cancelled if this future is dropped before the response.
        let mut pending = Pending(Some(cx.clone()));
        let result = next.run(request, extensions).with_context(cx.clone()).await;
        pending.0 = None;
        let span = cx.span();
        match &result {
            Ok(response) => {
                record_protocol_version(&cx, response.version());
                record_http_status(&cx, Side::Client, response.status());
            }
            Err(error) => {
                let kind = match error {
                    reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
                    reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connect",
                    reqwest_middleware::Error::Reqwest(_) => "reqwest",
                    reqwest_middleware::Error::Middleware(_) => "middleware",
                };
                span.set_attribute(KeyValue::new(ERROR_TYPE, kind));
                // reqwest's message carries the URL: redacted as `url.full` is.
                let message = error.to_string();
                let message = crate::redact::redact_urls_in(&message).unwrap_or(message);
                span.set_status(Status::error(message));
            }
        }
        span.end();
        result
    }
}

/// The context of a call in flight, taken when the call has its result: dropped with the
/// context still in it (the caller gave up, a timeout around the call), it marks the span
/// an error of `error.type` `cancelled` and ends it.
struct Pending(Option<Context>);

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(cx) = self.0.take() {
            crate::attributes::mark_cancelled(&cx);
            cx.span().end();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

    use super::*;

    /// A server that answers every request with the status in its path and
    /// echoes the `traceparent` it received.
    async fn server() -> SocketAddr {
        let app = axum::Router::new().route(
            "/{status}",
            axum::routing::get(
                |axum::extract::Path(status): axum::extract::Path<u16>,
                 headers: http::HeaderMap| async move {
                    let traceparent = headers
                        .get("traceparent")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    (
                        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK),
                        traceparent,
                    )
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    #[tokio::test]
    async fn client_spans_with_attributes_status_and_traceparent() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let middleware = ReqwestMiddleware::new()
            .tracer(provider.tracer("test"))
            .propagator(nais_otel_propagation::TraceContextPropagator::new());
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(middleware)
            .build();
        let addr = server().await;

        let ok = client
            .get(format!(
                "http://user:secret@{addr}/200?x=1&access_token=secret"
            ))
            .send()
            .await
            .expect("response");
        let received = ok.text().await.expect("body");
        let missing = client
            .get(format!("http://{addr}/404"))
            .send()
            .await
            .expect("response");
        assert_eq!(missing.status(), 404);
        let refused = client.get("http://127.0.0.1:1/?sig=s3cr3t").send().await;
        assert!(refused.is_err());
        // A call its caller gives up on before the response: the server never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let silent_addr = silent.local_addr().expect("addr");
        let given_up = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            client.get(format!("http://{silent_addr}/")).send(),
        )
        .await;
        assert!(given_up.is_err(), "the silent server never answers");

        let spans = exporter.get_finished_spans().expect("spans");
        assert_eq!(spans.len(), 4, "{spans:#?}");
        let attr = |i: usize, key: &str| {
            spans[i]
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.as_str().into_owned())
        };
        assert_eq!(spans[0].name, "GET");
        assert_eq!(spans[0].span_kind, SpanKind::Client);
        assert_eq!(attr(0, "http.request.method").as_deref(), Some("GET"));
        assert_eq!(attr(0, "server.address").as_deref(), Some("127.0.0.1"));
        // reqwest moves `user:secret@` into an `Authorization` header before the middleware.
        assert_eq!(
            attr(0, "url.full"),
            Some(format!("http://{addr}/200?x=1&access_token=REDACTED"))
        );
        assert_eq!(attr(0, "http.response.status_code").as_deref(), Some("200"));
        assert_eq!(attr(0, "network.protocol.version").as_deref(), Some("1.1"));
        assert_eq!(spans[0].status, Status::Unset);
        // The server got the CLIENT span's own context: a trace started here, so sampled
        // and random.
        assert_eq!(
            received,
            format!(
                "00-{}-{}-03",
                spans[0].span_context.trace_id(),
                spans[0].span_context.span_id()
            )
        );
        assert!(matches!(spans[1].status, Status::Error { .. }));
        assert_eq!(attr(1, "error.type").as_deref(), Some("404"));
        assert!(matches!(spans[2].status, Status::Error { .. }));
        assert_eq!(attr(2, "error.type").as_deref(), Some("connect"));
        // reqwest's message names the URL: redacted as `url.full` is.
        let Status::Error { description } = &spans[2].status else {
            unreachable!("checked above")
        };
        assert!(
            description.contains("sig=REDACTED") && !description.contains("s3cr3t"),
            "{description}"
        );
        assert!(matches!(spans[3].status, Status::Error { .. }));
        assert_eq!(attr(3, "error.type").as_deref(), Some("cancelled"));
    }

    #[test]
    fn an_ipv6_server_address_has_no_brackets() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let middleware = ReqwestMiddleware::new().tracer(provider.tracer("test"));
        let request = reqwest::Request::new(
            http::Method::GET,
            "http://[::1]:8080/x".parse().expect("a URL"),
        );
        let cx = middleware.span(&request);
        cx.span().end();
        let spans = exporter.get_finished_spans().expect("spans");
        let address = spans[0]
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "server.address")
            .map(|kv| kv.value.as_str().into_owned());
        assert_eq!(address.as_deref(), Some("::1"));
    }
}
