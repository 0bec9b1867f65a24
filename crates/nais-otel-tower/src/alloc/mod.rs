//! How a span's values are allocated: the one place the span code asks for an attribute
//! `Vec` or a string value.

use opentelemetry::{KeyValue, StringValue};

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
