//! A service for the official [W3C Trace Context test suite], built on
//! `nais-otel-propagation`.
//!
//! Run with
//!
//! ```not_rust
//! cargo run -p example-w3c-service
//! ```
//!
//! and then, in a checkout of <https://github.com/w3c/trace-context>:
//!
//! ```not_rust
//! cd test && python test.py http://127.0.0.1:5000/test
//! ```
//!
//! The harness POSTs a JSON array of `{"url": ..., "arguments": ...}` objects.
//! For each, the service starts a child span of the incoming trace context and
//! POSTs `arguments` to `url` with that span's `traceparent` and `tracestate`.
//! Set `W3C_SERVICE_ADDR` to listen elsewhere than `127.0.0.1:5000`.
//!
//! [W3C Trace Context test suite]: https://github.com/w3c/trace-context/tree/main/test

use std::convert::Infallible;
use std::error::Error;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::Context;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tokio::net::{TcpListener, TcpStream};

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::var("W3C_SERVICE_ADDR").unwrap_or_else(|_| "127.0.0.1:5000".to_owned());
    // No exporter: the spans only exist to get fresh span ids.
    let provider = SdkTracerProvider::builder().build();
    let tracer = provider.tracer("example-w3c-service");
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on http://{addr}/test");
    loop {
        let (stream, _) = listener.accept().await?;
        let tracer = tracer.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(tracer.clone(), req));
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection error: {e}");
            }
        });
    }
}

async fn handle(
    tracer: SdkTracer,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let parent = nais_otel_propagation::extract_with_context(&Context::new(), req.headers());
    let body = match req.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            eprintln!("cannot read request body: {e}");
            Bytes::new()
        }
    };
    let calls: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap_or_default();
    for call in calls {
        let Some(url) = call.get("url").and_then(|u| u.as_str()) else {
            continue;
        };
        let arguments = call
            .get("arguments")
            .cloned()
            .unwrap_or(serde_json::Value::Array(Vec::new()));
        let span = tracer.start_with_context("callback", &parent);
        let cx = parent.with_span(span);
        let mut headers = HeaderMap::new();
        nais_otel_propagation::inject(&cx, &mut headers);
        if let Err(e) = post(url, headers, arguments.to_string()).await {
            eprintln!("callback to {url} failed: {e}");
        }
    }
    Ok(Response::new(Full::new(Bytes::new())))
}

async fn post(url: &str, headers: HeaderMap, body: String) -> Result<(), BoxError> {
    let uri: Uri = url.parse()?;
    let host = uri.host().ok_or("url has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((host, port)).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);

    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = uri.authority().map_or(host, |a| a.as_str());
    let mut req = Request::post(path)
        .header(HOST, authority)
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))?;
    req.headers_mut().extend(headers);
    let response = sender.send_request(req).await?;
    response.into_body().collect().await?;
    Ok(())
}
