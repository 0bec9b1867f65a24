//! What a CLIENT span says: its name and the attributes of the outgoing request, HTTP or
//! gRPC. The response's attributes and the status rules are in `status.rs`.

use std::borrow::Cow;

use http::{Request, Uri};
use opentelemetry::trace::{SpanBuilder, SpanKind};
use opentelemetry::KeyValue;

use crate::attributes::*;
use crate::grpc;

/// The CLIENT span of `req`, a gRPC call when `grpc`.
pub(super) fn client_span<B>(req: &Request<B>, grpc: bool) -> SpanBuilder {
    let mut attrs = new_attributes();
    let uri = req.uri();
    let grpc_names = if grpc {
        grpc::service_method(uri.path())
    } else {
        None
    };
    let name: Cow<'static, str> = match grpc_names {
        Some((service, method)) => {
            attrs.push(KeyValue::new(RPC_SYSTEM, "grpc"));
            attrs.push(KeyValue::new(RPC_SERVICE, owned(service)));
            attrs.push(KeyValue::new(RPC_METHOD, owned(method)));
            Cow::Owned(uri.path()[1..].to_owned())
        }
        None => push_method(&mut attrs, req.method()),
    };

    let authority = uri.authority().map(|a| a.as_str()).or_else(|| {
        req.headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
    });
    if let Some((host, port)) = authority.and_then(split_host_port) {
        attrs.push(KeyValue::new(SERVER_ADDRESS, owned(host)));
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
        attrs.push(KeyValue::new(URL_FULL, owned(&full)));
    }
    span_builder(name, SpanKind::Client, attrs)
}

/// The absolute URI, redacted ([`crate::redact::redact_url`]: credentials, signatures
/// and tokens); `None` for a relative URI.
pub(crate) fn url_full(uri: &Uri) -> Option<String> {
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?.as_str();
    let path_and_query = uri.path_and_query().map_or("", |pq| pq.as_str());
    let full = format!("{scheme}://{authority}{path_and_query}");
    Some(crate::redact::redact_url(&full).unwrap_or(full))
}
