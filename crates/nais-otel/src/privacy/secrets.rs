//! What never leaves the process, whatever the masking settings: credential headers, and
//! the credentials in URLs and the values of signature and token query parameters, in URL
//! attributes and in every URL in free text (an error's message, a log line).

use opentelemetry::{KeyValue, StringValue, Value};

/// Header attributes that are never exported, whatever a team records.
pub const NEVER_RECORDED_HEADERS: &[&str] = &[
    "http.request.header.authorization",
    "http.request.header.cookie",
    "http.request.header.proxy-authorization",
    "http.response.header.set-cookie",
];

/// Drops header attributes that carry credentials and redacts URLs in string values (see
/// [`redacted_url`]), whatever the masking settings.
pub(super) fn strip_secrets(attributes: &mut Vec<KeyValue>) {
    attributes.retain(|kv| !never_recorded(kv.key.as_str()));
    for kv in attributes.iter_mut() {
        if let Value::String(text) = &kv.value {
            if let Some(redacted) = redacted_url(kv.key.as_str(), text.as_str()) {
                kv.value = Value::String(StringValue::from(redacted));
            }
        }
    }
}

/// Whether [`strip_secrets`] drops or changes an attribute with this key and string value.
pub(crate) fn has_secret(key: &str, text: Option<&str>) -> bool {
    never_recorded(key) || text.is_some_and(|text| redacted_url(key, text).is_some())
}

/// A URL attribute's value with its credentials as `REDACTED:REDACTED@` and the values of
/// signature and token query parameters as `REDACTED`, as the HTTP conventions write
/// them (`nais_otel_tower::redact`); for any other key, the value with every URL in it
/// so redacted (an error's message that names the URL it failed on). `None` when there
/// is nothing to redact.
fn redacted_url(key: &str, text: &str) -> Option<String> {
    match key {
        "url.full" | "http.url" | "url.original" | "http.target" => {
            nais_otel_tower::redact::redact_url(text)
        }
        "url.query" => nais_otel_tower::redact::redact_query(text),
        _ => nais_otel_tower::redact::redact_urls_in(text),
    }
}

fn never_recorded(key: &str) -> bool {
    NEVER_RECORDED_HEADERS.contains(&key)
}
