//! What never leaves the process, whatever the masking settings: credential headers and the
//! credentials in URLs.

use opentelemetry::{KeyValue, StringValue, Value};

/// Header attributes that are never exported, whatever a team records.
pub const NEVER_RECORDED_HEADERS: &[&str] = &[
    "http.request.header.authorization",
    "http.request.header.cookie",
    "http.request.header.proxy-authorization",
    "http.response.header.set-cookie",
];

/// Drops header attributes that carry credentials and removes
/// `user:password@` from URLs, whatever the masking settings.
pub(super) fn strip_secrets(attributes: &mut Vec<KeyValue>) {
    attributes.retain(|kv| !never_recorded(kv.key.as_str()));
    for kv in attributes.iter_mut() {
        if !holds_url(kv.key.as_str()) {
            continue;
        }
        if let Value::String(text) = &kv.value {
            if let Some(stripped) = crate::url::without_userinfo(text.as_str()) {
                kv.value = Value::String(StringValue::from(stripped));
            }
        }
    }
}

/// Whether [`strip_secrets`] drops or changes an attribute with this key and string value.
pub(crate) fn has_secret(key: &str, text: Option<&str>) -> bool {
    never_recorded(key)
        || (holds_url(key) && text.is_some_and(|text| crate::url::without_userinfo(text).is_some()))
}

fn never_recorded(key: &str) -> bool {
    NEVER_RECORDED_HEADERS.contains(&key)
}

fn holds_url(key: &str) -> bool {
    matches!(key, "url.full" | "http.url" | "url.original")
}
