use opentelemetry::{Array, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;

use super::batch::{Item, StatusRef, StoredRef, ValueRef};
use crate::privacy::{has_secret, MaskConfig, Masker};

/// What happens to each span on the export thread before it is encoded:
/// masking of identity numbers, then the attribute value length limit, which
/// the SDK does not apply itself.
///
/// This runs on the batch processor's thread, off the request path, and
/// before anything is encoded, so a masked value never reaches any exporter.
#[derive(Clone, Debug)]
pub(crate) struct Preparer {
    masker: Masker,
    value_length_limit: Option<usize>,
}

impl Preparer {
    pub(crate) fn new(mask: MaskConfig, value_length_limit: Option<usize>) -> Self {
        Self {
            masker: Masker::new(mask),
            value_length_limit,
        }
    }

    /// Prepares every span of a batch.
    pub(crate) fn prepare_batch(&self, batch: &mut [SpanData]) {
        for span in batch.iter_mut() {
            self.prepare(span);
        }
    }

    pub(crate) fn prepare(&self, span: &mut SpanData) {
        self.masker.mask_span(span);
        if let Some(limit) = self.value_length_limit {
            truncate_all(&mut span.attributes, limit);
            for event in span.events.events.iter_mut() {
                truncate_all(&mut event.attributes, limit);
            }
            for link in span.links.links.iter_mut() {
                truncate_all(&mut link.attributes, limit);
            }
        }
    }

    /// Prepares the export thread's items: a stored span that preparing would change is
    /// made a [`SpanData`] and prepared; the others are left in place.
    pub(crate) fn prepare_items(&self, items: &mut [Item<'_>]) {
        for item in items.iter_mut() {
            match item {
                Item::Stored(span, scope) => {
                    if !self.leaves_alone(span) {
                        let mut data = span.span_data(scope);
                        self.prepare(&mut data);
                        *item = Item::Data(Box::new(data));
                    }
                }
                Item::Data(span) => self.prepare(span),
            }
        }
    }

    /// Whether [`prepare`](Self::prepare) would leave a stored span as it is: no
    /// credential, no identity number and no value over the length limit in it. Only
    /// such a span is encoded in place; any other is made a [`SpanData`] and prepared.
    fn leaves_alone(&self, span: &StoredRef<'_>) -> bool {
        let masker = &self.masker;
        // Names and descriptions: URLs and numbers. Attributes: URLs in `has_secret`, then
        // numbers.
        let plain_text = |text: &str| masker.mask(text).is_none();
        let no_numbers = |text: &str| masker.mask_text_numbers(text).is_none();
        let plain_attribute = |key: &Key, value: ValueRef<'_>| {
            let key = key.as_str();
            if !no_numbers(key) {
                return false;
            }
            let secret = match value {
                ValueRef::Text(text) => has_secret(key, [text]),
                ValueRef::Value(Value::String(text)) => has_secret(key, [text.as_str()]),
                ValueRef::Value(Value::Array(Array::String(items))) => {
                    has_secret(key, items.iter().map(StringValue::as_str))
                }
                ValueRef::Value(_) => has_secret(key, []),
            };
            if secret {
                return false;
            }
            if masker.masks_key(key) {
                let masked = match value {
                    ValueRef::Text(text) => !no_numbers(text),
                    ValueRef::Value(value) => masker.mask_value(value).is_some(),
                };
                if masked {
                    return false;
                }
            }
            self.value_length_limit.is_none_or(|limit| match value {
                ValueRef::Text(text) => truncated(text, limit).is_none(),
                ValueRef::Value(value) => !over_limit(value, limit),
            })
        };
        let status = match span.status() {
            StatusRef::Error(description) => plain_text(description),
            StatusRef::Unset | StatusRef::Ok => true,
        };
        plain_text(span.name())
            && status
            && !masker.masks_trace_state(span.span_context())
            && span
                .attributes()
                .all(|(key, value)| plain_attribute(key, value))
            && span.events().all(|event| {
                plain_text(event.name())
                    && event
                        .attributes()
                        .all(|(key, value)| plain_attribute(key, value))
            })
            && span.links().links.iter().all(|link| {
                !masker.masks_trace_state(&link.span_context)
                    && link
                        .attributes
                        .iter()
                        .all(|kv| plain_attribute(&kv.key, ValueRef::Value(&kv.value)))
            })
    }
}

/// Cuts every text of `span` to `limit` characters: its name, its status description,
/// its events' names and the string values of its attributes, its events' and its links'.
/// For a span too large for a collector to take in one request (see the OTLP exporter).
pub(crate) fn cut_texts(span: &mut SpanData, limit: usize) {
    let cut = |text: &mut std::borrow::Cow<'static, str>| {
        if let Some(cut) = truncated(text, limit) {
            *text = cut.into();
        }
    };
    cut(&mut span.name);
    if let opentelemetry::trace::Status::Error { description } = &mut span.status {
        cut(description);
    }
    truncate_all(&mut span.attributes, limit);
    for event in span.events.events.iter_mut() {
        cut(&mut event.name);
        truncate_all(&mut event.attributes, limit);
    }
    for link in span.links.links.iter_mut() {
        truncate_all(&mut link.attributes, limit);
    }
}

fn truncate_all(attributes: &mut [KeyValue], limit: usize) {
    for kv in attributes {
        truncate_value(&mut kv.value, limit);
    }
}

/// Cuts string values (and strings in arrays) to `limit` characters, as the
/// specification's attribute limits say; other types are left alone.
fn truncate_value(value: &mut Value, limit: usize) {
    match value {
        Value::String(text) => {
            if let Some(cut) = truncated(text.as_str(), limit) {
                *text = StringValue::from(cut);
            }
        }
        Value::Array(Array::String(items)) => {
            for item in items.iter_mut() {
                if let Some(cut) = truncated(item.as_str(), limit) {
                    *item = StringValue::from(cut);
                }
            }
        }
        _ => {}
    }
}

/// Whether [`truncate_value`] would cut `value`.
fn over_limit(value: &Value, limit: usize) -> bool {
    match value {
        Value::String(text) => truncated(text.as_str(), limit).is_some(),
        Value::Array(Array::String(items)) => items
            .iter()
            .any(|item| truncated(item.as_str(), limit).is_some()),
        _ => false,
    }
}

fn truncated(text: &str, limit: usize) -> Option<String> {
    let (end, _) = text.char_indices().nth(limit)?;
    Some(text[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(scope: &'static str, attributes: Vec<KeyValue>) -> SpanData {
        use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
        SpanData {
            span_context: SpanContext::empty_context(),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: "GET /dogs/{id}".into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes,
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: opentelemetry::InstrumentationScope::builder(scope).build(),
        }
    }

    #[test]
    fn a_batch_is_masked_whatever_the_scope() {
        let attributes = || {
            vec![
                KeyValue::new("url.path", "/dogs/01019012345"),
                KeyValue::new("http.response.status_code", 200),
            ]
        };
        let mut batch = vec![
            span("nais-otel-tower", attributes()),
            span("my-app", attributes()),
        ];
        Preparer::new(MaskConfig::default(), None).prepare_batch(&mut batch);
        for span in &batch {
            assert_eq!(
                span.attributes,
                [
                    KeyValue::new("url.path", "/dogs/[fnr]"),
                    KeyValue::new("http.response.status_code", 200),
                ],
                "masked"
            );
        }
    }

    #[test]
    fn truncates_strings_by_characters() {
        let mut value = Value::from("æøå-abc");
        truncate_value(&mut value, 3);
        assert_eq!(value.as_str(), "æøå");
        let mut short = Value::from("ab");
        truncate_value(&mut short, 3);
        assert_eq!(short.as_str(), "ab");
        let mut array = Value::Array(Array::String(vec!["abcdef".into(), "x".into()]));
        truncate_value(&mut array, 2);
        assert_eq!(
            array,
            Value::Array(Array::String(vec!["ab".into(), "x".into()]))
        );
        let mut number = Value::I64(123_456);
        truncate_value(&mut number, 2);
        assert_eq!(number, Value::I64(123_456));
    }
}

/// An exporter given in code, behind the same preparation (masking, value length limit)
/// and span counts as nais-otel's own exporters.
#[derive(Debug)]
pub(crate) struct PreparingExporter<E> {
    pub(crate) inner: E,
    pub(crate) preparer: Preparer,
    pub(crate) stats: std::sync::Arc<super::Stats>,
}

/// Hands its spans to `E` as [`SpanData`].
impl<E: opentelemetry_sdk::trace::SpanExporter> super::StoredExport for PreparingExporter<E> {}

impl<E: opentelemetry_sdk::trace::SpanExporter> opentelemetry_sdk::trace::SpanExporter
    for PreparingExporter<E>
{
    async fn export(&self, mut batch: Vec<SpanData>) -> opentelemetry_sdk::error::OTelSdkResult {
        let count = batch.len();
        self.stats.handed(count);
        self.preparer.prepare_batch(&mut batch);
        let result = self.inner.export(batch).await;
        if result.is_ok() {
            self.stats.exported(count as u64);
        }
        result
    }

    fn shutdown_with_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}
