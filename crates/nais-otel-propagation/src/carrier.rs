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

/// Reads propagation fields from Kafka-style record headers: a list of name and
/// byte-value pairs.
///
/// Names match without regard to ASCII case. [`Extractor::get_all`] returns every
/// value of a name in order; a value that is not UTF-8 is returned as an empty
/// string, so a repeated `traceparent` is still seen.
///
/// # Examples
///
/// ```
/// use nais_otel_propagation::{RecordHeadersExtractor, TraceContextPropagator};
///
/// let headers = vec![(
///     "traceparent".to_owned(),
///     b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec(),
/// )];
/// let span_context = TraceContextPropagator::new()
///     .extract_span_context(&RecordHeadersExtractor(&headers))
///     .expect("valid traceparent");
/// assert!(span_context.is_sampled());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RecordHeadersExtractor<'a>(pub &'a [(String, Vec<u8>)]);

impl Extractor for RecordHeadersExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_str()).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| std::str::from_utf8(value).unwrap_or(""))
            .collect();
        if values.is_empty() {
            None
        } else {
            Some(values)
        }
    }
}

/// Writes propagation fields into Kafka-style record headers.
///
/// Setting a field removes every earlier pair with the same name (ignoring ASCII
/// case) and appends one pair with the value as UTF-8 bytes.
#[derive(Debug)]
pub struct RecordHeadersInjector<'a>(pub &'a mut Vec<(String, Vec<u8>)>);

impl Injector for RecordHeadersInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.retain(|(name, _)| !name.eq_ignore_ascii_case(key));
        self.0.push((key.to_owned(), value.into_bytes()));
    }

    fn reserve(&mut self, additional: usize) {
        self.0.reserve(additional);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_headers_get_all_sees_every_value() {
        let headers = vec![
            ("TraceState".to_owned(), b"a=1".to_vec()),
            ("other".to_owned(), b"x".to_vec()),
            ("tracestate".to_owned(), b"b=2".to_vec()),
            ("tracestate".to_owned(), vec![0xff, 0xfe]),
        ];
        let extractor = RecordHeadersExtractor(&headers);
        assert_eq!(
            extractor.get_all("tracestate"),
            Some(vec!["a=1", "b=2", ""])
        );
        assert_eq!(extractor.get("TRACESTATE"), Some("a=1"));
        assert_eq!(extractor.get_all("traceparent"), None);
        assert_eq!(
            extractor.keys(),
            vec!["TraceState", "other", "tracestate", "tracestate"]
        );
    }

    #[test]
    fn record_headers_injector_replaces_same_name_pairs() {
        let mut headers = vec![
            ("traceparent".to_owned(), b"old1".to_vec()),
            ("key".to_owned(), b"kept".to_vec()),
            ("TRACEPARENT".to_owned(), b"old2".to_vec()),
        ];
        RecordHeadersInjector(&mut headers).set("traceparent", "new".to_owned());
        assert_eq!(
            headers,
            vec![
                ("key".to_owned(), b"kept".to_vec()),
                ("traceparent".to_owned(), b"new".to_vec()),
            ]
        );
    }

    /// `opentelemetry` implements both traits for `HashMap<String, String>`; this
    /// crate relies on that instead of adding its own carrier.
    #[test]
    fn hash_map_is_a_carrier() {
        let mut map = std::collections::HashMap::new();
        Injector::set(&mut map, "TraceParent", "v".to_owned());
        assert_eq!(Extractor::get(&map, "traceparent"), Some("v"));
        assert_eq!(Extractor::get_all(&map, "TRACEPARENT"), Some(vec!["v"]));
    }

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
