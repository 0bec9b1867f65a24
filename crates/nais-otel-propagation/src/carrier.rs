use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};

/// Reads propagation fields from an [`http::HeaderMap`].
///
/// Unlike `opentelemetry-http`'s carrier, [`Extractor::get_all`] returns every
/// value of a header, so a propagator can see a repeated `traceparent` (which
/// makes it invalid) and combine repeated `tracestate` headers in order.
#[derive(Debug, Clone, Copy)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let mut values = self.0.get_all(key).iter().peekable();
        values.peek()?;
        // A value that is not visible ASCII cannot be a valid field; keep it as an
        // empty string so the propagator still sees that the header was repeated.
        Some(values.map(|value| value.to_str().unwrap_or("")).collect())
    }
}

/// Writes propagation fields into an [`http::HeaderMap`], replacing earlier values.
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_all_returns_every_value_in_order() {
        let mut headers = HeaderMap::new();
        headers.append("tracestate", HeaderValue::from_static("a=1"));
        headers.append("tracestate", HeaderValue::from_static("b=2"));
        let extractor = HeaderExtractor(&headers);
        assert_eq!(extractor.get_all("tracestate"), Some(vec!["a=1", "b=2"]));
        assert_eq!(extractor.get_all("traceparent"), None);
    }

    #[test]
    fn injector_replaces_and_skips_invalid_values() {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_static("old"));
        let mut injector = HeaderInjector(&mut headers);
        injector.set("traceparent", "new".to_owned());
        injector.set("tracestate", "bad\nvalue".to_owned());
        assert_eq!(headers.get("traceparent").unwrap(), "new");
        assert!(headers.get("tracestate").is_none());
    }
}
