//! What never leaves the process, whatever the masking settings: credential headers, and
//! the credentials in URLs and the values of signature and token query parameters, in URL
//! attributes and in every URL in free text (an error's message, a log line).

use nais_otel_tower::redact::{holds_url, redact_path, redact_query, redact_url, redact_urls_in};
use opentelemetry::{Array, KeyValue, StringValue, Value};

/// Header attributes that are never exported, whatever a team records.
pub const NEVER_RECORDED_HEADERS: &[&str] = &[
    "http.request.header.authorization",
    "http.request.header.cookie",
    "http.request.header.proxy-authorization",
    "http.response.header.set-cookie",
];

/// Drops header attributes that carry credentials and redacts the URLs in the rest
/// ([`redact_urls`]), whatever the masking settings.
pub(super) fn strip_secrets(attributes: &mut Vec<KeyValue>) {
    attributes.retain(|kv| !never_recorded(kv.key.as_str()));
    redact_urls(attributes);
}

/// Redacts the URLs in the string values (strings in arrays too) of `attributes` (see
/// [`redacted_url`]).
pub(super) fn redact_urls(attributes: &mut [KeyValue]) {
    for kv in attributes.iter_mut() {
        let key = kv.key.as_str();
        match &mut kv.value {
            Value::String(text) => {
                if let Some(redacted) = redacted_url(key, text.as_str()) {
                    *text = StringValue::from(redacted);
                }
            }
            Value::Array(Array::String(items)) => {
                for item in items.iter_mut() {
                    if let Some(redacted) = redacted_url(key, item.as_str()) {
                        *item = StringValue::from(redacted);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether [`strip_secrets`] drops or changes an attribute with this key and these string
/// values (its string, or the strings of its array).
pub(crate) fn has_secret<'a>(key: &str, texts: impl IntoIterator<Item = &'a str>) -> bool {
    never_recorded(key)
        || texts
            .into_iter()
            .any(|text| redacted_url(key, text).is_some())
}

/// A URL attribute's value with its credentials as `REDACTED:REDACTED@` and the values of
/// signature and token parameters (of the query, and of the path: `;jsessionid=…`) as
/// `REDACTED`, as the HTTP conventions write them (`nais_otel_tower::redact`); for any
/// other key, the value with every URL in it so redacted (an error's message that names
/// the URL it failed on). `None` when there is nothing to redact.
fn redacted_url(key: &str, text: &str) -> Option<String> {
    match key {
        // A URL (`https://…`), or a path (`/path?sig=…`), as a URL; anything else (text
        // around a URL) as text.
        "url.full" | "http.url" | "url.original" | "http.target" => {
            if starts_with_scheme(text) || !holds_url(text.as_bytes()) {
                redact_url(text)
            } else {
                redact_urls_in(text)
            }
        }
        "url.query" => redact_query(text),
        "url.path" => {
            let path = redact_path(text);
            redact_urls_in(path.as_deref().unwrap_or(text)).or(path)
        }
        _ => redact_urls_in(text),
    }
}

/// Whether `text` starts with `scheme://`.
fn starts_with_scheme(text: &str) -> bool {
    let scheme = text
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        .count();
    text.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && text[scheme..].starts_with("://")
}

fn never_recorded(key: &str) -> bool {
    NEVER_RECORDED_HEADERS.contains(&key)
}
