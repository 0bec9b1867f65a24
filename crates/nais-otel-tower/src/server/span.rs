//! What a SERVER span says: its name and the attributes of the request, HTTP or gRPC.
//! The response's attributes and the status rules are in `status.rs`.

use std::borrow::Cow;

use http::Request;
use opentelemetry::trace::{SpanBuilder, SpanKind};
use opentelemetry::{KeyValue, StringValue};

use crate::attributes::*;
use crate::grpc;
use crate::headers::KnownHeaders;

/// The attributes every server span has, HTTP or gRPC.
fn push_connection<B>(attrs: &mut Vec<KeyValue>, req: &Request<B>, known: &KnownHeaders<'_>) {
    if let Some((host, port)) = server_authority(req, known).and_then(split_host_port) {
        attrs.push(KeyValue::new(SERVER_ADDRESS, owned(host)));
        if let Some(port) = port {
            attrs.push(KeyValue::new(SERVER_PORT, i64::from(port)));
        }
    }
    if let Some(version) = protocol_version(req.version()) {
        attrs.push(KeyValue::new(NETWORK_PROTOCOL_VERSION, version));
    }
    if let Some(ua) = known
        .user_agent
        // UTF-8, not only visible ASCII (`HeaderValue::to_str`): `café/1.0` is kept.
        .and_then(|h| std::str::from_utf8(h.as_bytes()).ok())
        .filter(|ua| !ua.is_empty())
    {
        attrs.push(KeyValue::new(USER_AGENT_ORIGINAL, owned(ua)));
    }
    push_peer(attrs, req, known);
}

/// Where `server.address` and `server.port` come from, both from the same source: the
/// host the client asked for as a proxy reports it (the first `X-Forwarded-Host`, else
/// `Forwarded`'s `host`), else the request target's authority (absolute-form, HTTP/2's
/// `:authority`), else `Host`.
///
/// The `X-Forwarded-*` headers come before `Forwarded` (here, for `client.address` and for
/// `url.scheme`): ingress-nginx sets them itself, ignoring a client's, and passes a
/// client's own `Forwarded` on as it came, so behind it `Forwarded` is only what the
/// client says of itself.
fn server_authority<'a, B>(req: &'a Request<B>, known: &KnownHeaders<'a>) -> Option<&'a str> {
    let text = |bytes: &'a [u8]| std::str::from_utf8(bytes).ok().filter(|t| !t.is_empty());
    known
        .forwarded_host
        .map(first_element)
        .and_then(text)
        .or_else(|| {
            known
                .forwarded
                .and_then(|value| forwarded_param(value, b"host"))
                .and_then(text)
        })
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .or_else(|| known.host.and_then(|h| h.to_str().ok()))
}

/// `client.address` (the client as a proxy reports it: the first `X-Forwarded-For` entry,
/// else `Forwarded`'s `for`; else the peer), and `network.peer.address`/
/// `network.peer.port` when the server put the peer's address in the request: axum's
/// `ConnectInfo<SocketAddr>` (feature `axum`) or tonic's `TcpConnectInfo` (feature
/// `tonic`).
fn push_peer<B>(attrs: &mut Vec<KeyValue>, req: &Request<B>, known: &KnownHeaders<'_>) {
    let forwarded = known
        .forwarded_for
        .map(first_element)
        .and_then(client_node)
        .or_else(|| {
            known
                .forwarded
                .and_then(|value| forwarded_param(value, b"for"))
                .and_then(client_node)
        });
    if let Some(peer) = peer_address(req) {
        let ip = StringValue::from(peer.ip().to_string());
        if forwarded.is_none() {
            attrs.push(KeyValue::new(CLIENT_ADDRESS, ip.clone()));
        }
        attrs.push(KeyValue::new(NETWORK_PEER_ADDRESS, ip));
        attrs.push(KeyValue::new(NETWORK_PEER_PORT, i64::from(peer.port())));
    }
    if let Some(client) = forwarded {
        attrs.push(KeyValue::new(CLIENT_ADDRESS, owned(client)));
    }
}

/// The first element of a comma-separated list, trimmed: the proxy nearest the client.
fn first_element(value: &http::HeaderValue) -> &[u8] {
    let bytes = value.as_bytes();
    let end = bytes.iter().position(|&b| b == b',').unwrap_or(bytes.len());
    bytes[..end].trim_ascii()
}

/// The value of parameter `name` (any case) in a `Forwarded` header's first element
/// (RFC 7239), its quotes removed: `for=192.0.2.60;proto=https` gives `https` for `proto`.
fn forwarded_param<'a>(value: &'a http::HeaderValue, name: &[u8]) -> Option<&'a [u8]> {
    first_element(value).split(|&b| b == b';').find_map(|pair| {
        let pair = pair.trim_ascii();
        let (key, value) = pair.split_at(pair.iter().position(|&b| b == b'=')?);
        let value = value[1..].trim_ascii();
        key.trim_ascii().eq_ignore_ascii_case(name).then(|| {
            value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(value)
        })
    })
}

/// The client's address in a `Forwarded` `for=` node or an `X-Forwarded-For` entry,
/// without a port: `192.0.2.43:47011` and `[2001:db8:cafe::17]:4711` give the address,
/// `2001:db8::1` stays whole. `unknown` and obfuscated identifiers (`_hidden`) name no
/// address.
fn client_node(node: &[u8]) -> Option<&str> {
    let node = std::str::from_utf8(node).ok()?;
    let address = match node.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.0,
        None => match node.split_once(':') {
            Some((v4, port)) if !port.contains(':') => v4,
            _ => node,
        },
    };
    (!address.is_empty() && !address.starts_with('_') && !address.eq_ignore_ascii_case("unknown"))
        .then_some(address)
}

/// The peer's address, as the server put it in the request's extensions.
#[cfg_attr(
    not(any(feature = "axum", feature = "tonic")),
    allow(
        unused_variables,
        reason = "no extension to read without axum or tonic"
    )
)]
fn peer_address<B>(req: &Request<B>) -> Option<std::net::SocketAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return Some(info.0);
    }
    #[cfg(feature = "tonic")]
    if let Some(addr) = req
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(|info| info.remote_addr())
    {
        return Some(addr);
    }
    None
}

#[cfg(feature = "axum")]
fn route<B>(req: &Request<B>) -> Option<&str> {
    req.extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str())
}

#[cfg(not(feature = "axum"))]
fn route<B>(_req: &Request<B>) -> Option<&str> {
    None
}

pub(super) fn http_span<B>(req: &Request<B>, known: &KnownHeaders<'_>) -> SpanBuilder {
    let mut attrs = new_attributes();
    let method = push_method(&mut attrs, req.method());
    let uri = req.uri();
    let name: Cow<'static, str> = match route(req) {
        Some(route) => {
            attrs.push(KeyValue::new(HTTP_ROUTE, owned(route)));
            push_path(&mut attrs, uri.path());
            // Joined by hand: `format!` costs several hundred instructions more here.
            let mut name = String::with_capacity(method.len() + 1 + route.len());
            name.push_str(&method);
            name.push(' ');
            name.push_str(route);
            Cow::Owned(name)
        }
        None => {
            push_path(&mut attrs, uri.path());
            method
        }
    };
    if let Some(query) = uri.query().filter(|q| !q.is_empty()) {
        let query = match crate::redact::redact_query(query) {
            Some(redacted) => StringValue::from(redacted),
            None => owned(query),
        };
        attrs.push(KeyValue::new(URL_QUERY, query));
    }
    attrs.push(KeyValue::new(URL_SCHEME, server_scheme(uri, known)));
    push_connection(&mut attrs, req, known);
    span_builder(name, SpanKind::Server, attrs)
}

/// `url.path`, when there is one (a `CONNECT`'s target is an authority, with no path),
/// its secret parameters redacted (`;jsessionid=…`: [`crate::redact::redact_path`]).
fn push_path(attrs: &mut Vec<KeyValue>, path: &str) {
    if path.is_empty() {
        return;
    }
    let path = match crate::redact::redact_path(path) {
        Some(redacted) => StringValue::from(redacted),
        None => owned(path),
    };
    attrs.push(KeyValue::new(URL_PATH, path));
}

/// `url.scheme` of a server span, which the conventions require: the scheme the client
/// used, as a proxy reports it (`X-Forwarded-Proto`, else `Forwarded`'s `proto`), else
/// the request target's (absolute-form, HTTP/2), else `http`, the plain connection the
/// server was given (on NAIS, TLS ends at the ingress).
fn server_scheme(uri: &http::Uri, known: &KnownHeaders<'_>) -> &'static str {
    known
        .forwarded_proto
        .and_then(|value| known_scheme(first_element(value)))
        .or_else(|| {
            known
                .forwarded
                .and_then(|value| forwarded_param(value, b"proto"))
                .and_then(known_scheme)
        })
        .or_else(|| scheme(uri))
        .unwrap_or("http")
}

/// `http` or `https`, in any case.
fn known_scheme(text: &[u8]) -> Option<&'static str> {
    if text.eq_ignore_ascii_case(b"https") {
        Some("https")
    } else if text.eq_ignore_ascii_case(b"http") {
        Some("http")
    } else {
        None
    }
}

pub(super) fn grpc_span<B>(req: &Request<B>, known: &KnownHeaders<'_>) -> SpanBuilder {
    let mut attrs = new_attributes();
    attrs.push(KeyValue::new(RPC_SYSTEM, "grpc"));
    let path = req.uri().path();
    let name = match grpc::service_method(path) {
        Some((service, method)) => {
            attrs.push(KeyValue::new(RPC_SERVICE, owned(service)));
            attrs.push(KeyValue::new(RPC_METHOD, owned(method)));
            Cow::Owned(path[1..].to_owned())
        }
        None => push_method(&mut attrs, req.method()),
    };
    push_connection(&mut attrs, req, known);
    span_builder(name, SpanKind::Server, attrs)
}
