//! How a span's values are allocated: the one place the span code asks for an attribute
//! `Vec`, a string value or a span name.
//!
//! What a span says lives in `server/span.rs` and `client/span.rs`; this folder only decides
//! where the memory for it comes from, so that what the batch span processor's thread frees
//! does not cost the request thread. Each file says why, and what bounds it:
//!
//! - `routes.rs`: route templates and `{method} {route}` names, interned once;
//! - `fnv.rs`: the hasher of the interning tables.

use opentelemetry::{KeyValue, StringValue};

mod fnv;
#[cfg(feature = "axum")]
mod routes;

/// The capacity of every attribute `Vec` the layers make: room for the request's
/// attributes and those the response adds (status code, `error.type`).
const CAPACITY: usize = 12;

/// An empty attribute `Vec` with room for a span's attributes.
#[inline]
pub(crate) fn attributes() -> Vec<KeyValue> {
    Vec::with_capacity(CAPACITY)
}

/// `s` as an attribute value (a path, a query, a URL, a host, a user agent).
#[inline]
pub(crate) fn per_request(s: &str) -> StringValue {
    StringValue::from(s.to_owned())
}

/// `(route, "{method} {route}")` as static strings for a route template, or `None` when
/// the template is not interned (then the caller allocates them).
#[cfg(feature = "axum")]
#[inline]
pub(crate) fn route_name(
    method: &'static str,
    route: &str,
) -> Option<(&'static str, &'static str)> {
    routes::route_name(method, route)
}

/// Without axum no route template is known, so none is interned.
#[cfg(not(feature = "axum"))]
#[inline]
pub(crate) fn route_name(
    _method: &'static str,
    _route: &str,
) -> Option<(&'static str, &'static str)> {
    None
}
