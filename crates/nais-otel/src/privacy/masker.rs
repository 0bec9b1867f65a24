//! [`Masker`]: a [`MaskConfig`] applied to spans, attribute values and text.

use std::borrow::Cow;

use nais_otel_tower::redact::{holds_url, redact_urls_in};
use opentelemetry::trace::{SpanContext, Status, TraceState};
use opentelemetry::{Array, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;

use super::{
    config::MaskConfig,
    recognise::{lost_zero, mask_bytes_with, mask_with, plausible, whole_number},
    secrets::{redact_urls, strip_secrets},
};

/// Applies a [`MaskConfig`] to spans and text: what `nais-otel`'s exporters
/// and log output use, for an exporter or a subscriber of your own.
///
/// ```
/// use nais_otel::privacy::{MaskConfig, Masker};
/// let masker = Masker::new(MaskConfig::new());
/// assert_eq!(masker.mask("fnr 01019012345").as_deref(), Some("fnr [fnr]"));
/// assert_eq!(masker.mask("order 4791234567"), None);
/// ```
#[derive(Clone, Debug)]
pub struct Masker {
    config: MaskConfig,
    /// The exempt keys that are not in the floor: the ones that take effect.
    exempt: Vec<String>,
}

impl Default for Masker {
    fn default() -> Self {
        Self::new(MaskConfig::new())
    }
}

impl Masker {
    /// A masker for `config`.
    pub fn new(config: MaskConfig) -> Self {
        let exempt = config
            .exempt_keys
            .iter()
            .filter(|key| !config.keys.contains(key))
            .cloned()
            .collect();
        Self { config, exempt }
    }

    /// The configuration it applies.
    pub fn config(&self) -> &MaskConfig {
        &self.config
    }

    /// Whether values under `key` are masked.
    pub fn masks_key(&self, key: &str) -> bool {
        self.config.enabled && !self.exempt.iter().any(|k| k == key)
    }

    /// Masks a span in place: its name, status description, trace state, and the
    /// attributes (keys and values) of the span, its events and its links. Drops
    /// credential headers and redacts URLs whatever the settings.
    pub fn mask_span(&self, span: &mut SpanData) {
        // Credentials go whatever the masking settings say.
        strip_secrets(&mut span.attributes);
        for event in span.events.events.iter_mut() {
            strip_secrets(&mut event.attributes);
        }
        for link in span.links.links.iter_mut() {
            strip_secrets(&mut link.attributes);
        }
        // Free text (a panic message, an error's `Display`, a failed request's URL): its
        // URLs whatever the settings, its numbers when masking is on (`mask`).
        let mask = |text: &mut Cow<'static, str>| {
            if let Some(masked) = self.mask(text) {
                *text = Cow::Owned(masked);
            }
        };
        mask(&mut span.name);
        if let Status::Error { description } = &mut span.status {
            mask(description);
        }
        for event in span.events.events.iter_mut() {
            mask(&mut event.name);
        }
        if !self.config.enabled {
            return;
        }
        self.mask_trace_state(&mut span.span_context);
        self.mask_numbers_in_attributes(&mut span.attributes);
        for event in span.events.events.iter_mut() {
            self.mask_numbers_in_attributes(&mut event.attributes);
        }
        for link in span.links.links.iter_mut() {
            self.mask_trace_state(&mut link.span_context);
            self.mask_numbers_in_attributes(&mut link.attributes);
        }
    }

    /// Masks the trace state of `cx` in place: it came in with a request
    /// (`tracestate`) or a remote parent, and is exported with the span. A trace
    /// state that is no longer valid once masked is dropped.
    fn mask_trace_state(&self, cx: &mut SpanContext) {
        let header = cx.trace_state().header();
        let Some(masked) = self.mask_text_numbers(&header) else {
            return;
        };
        let trace_state = masked.parse().unwrap_or_else(|_| TraceState::default());
        *cx = SpanContext::new(
            cx.trace_id(),
            cx.span_id(),
            cx.trace_flags(),
            cx.is_remote(),
            trace_state,
        );
    }

    /// Whether the trace state of `cx` holds an identity number.
    pub(crate) fn masks_trace_state(&self, cx: &SpanContext) -> bool {
        self.mask_text_numbers(&cx.trace_state().header()).is_some()
    }

    /// Masks `attributes` in place: the URLs in every string value redacted whatever
    /// the settings (see [`Masker::mask`]), then the identity numbers in the values, but
    /// those of exempt keys, and in every key: a key made at run time may hold a number
    /// (`person.{fnr}.found`).
    pub fn mask_attributes(&self, attributes: &mut [KeyValue]) {
        redact_urls(attributes);
        self.mask_numbers_in_attributes(attributes);
    }

    /// The identity numbers in the keys and values of `attributes` replaced, but in the
    /// values of exempt keys.
    fn mask_numbers_in_attributes(&self, attributes: &mut [KeyValue]) {
        if !self.config.enabled {
            return;
        }
        for kv in attributes.iter_mut() {
            let key = kv.key.as_str();
            let exempt = !self.exempt.is_empty() && self.exempt.iter().any(|k| k == key);
            if let Some(masked) = self.mask_text_numbers(key) {
                kv.key = Key::from(masked);
            }
            if exempt {
                continue;
            }
            if let Some(masked) = self.mask_value(&kv.value) {
                kv.value = masked;
            }
        }
    }

    /// The value with its identity numbers masked, if it has any: strings, strings in
    /// arrays, and whole numbers that read as an identity number. URLs are
    /// [`strip_secrets`]'s.
    pub(crate) fn mask_value(&self, value: &Value) -> Option<Value> {
        match value {
            Value::String(text) => self
                .mask_text_numbers(text.as_str())
                .map(|masked| Value::String(StringValue::from(masked))),
            Value::I64(number) => self
                .integer_is_number(*number)
                .then(|| Value::String(StringValue::from(self.config.replacement.clone()))),
            Value::F64(number) => self
                .float_is_number(*number)
                .then(|| Value::String(StringValue::from(self.config.replacement.clone()))),
            Value::Array(Array::String(items)) => {
                // Nothing is copied until a string holds a number.
                let (first, masked) = items
                    .iter()
                    .enumerate()
                    .find_map(|(i, item)| Some((i, self.mask_text_numbers(item.as_str())?)))?;
                let mut copy = items.clone();
                copy[first] = StringValue::from(masked);
                for item in &mut copy[first + 1..] {
                    if let Some(masked) = self.mask_text_numbers(item.as_str()) {
                        *item = StringValue::from(masked);
                    }
                }
                Some(Value::Array(Array::String(copy)))
            }
            Value::Array(Array::F64(items)) => {
                self.mask_numbers(items, |n| self.float_is_number(n))
            }
            Value::Array(Array::I64(items)) => {
                self.mask_numbers(items, |n| self.integer_is_number(n))
            }
            _ => None,
        }
    }

    /// An array of numbers with one that reads as an identity number becomes strings:
    /// that number its replacement and the rest their text. `None` when none does.
    fn mask_numbers<T: Copy + ToString>(
        &self,
        items: &[T],
        is_number: impl Fn(T) -> bool,
    ) -> Option<Value> {
        if !items.iter().any(|n| is_number(*n)) {
            return None;
        }
        let masked = items
            .iter()
            .map(|n| match is_number(*n) {
                true => StringValue::from(self.config.replacement.clone()),
                false => StringValue::from(n.to_string()),
            })
            .collect();
        Some(Value::Array(Array::String(masked)))
    }

    /// Whether an integer reads as an identity number; see the
    /// [module docs](crate::privacy#whole-numbers).
    fn integer_is_number(&self, number: i64) -> bool {
        // A sign in front does not hide a number, as in text.
        let number = number.unsigned_abs();
        if !(1_000_000_000..=99_999_999_999).contains(&number) {
            return false;
        }
        // The digits, with no allocation: eleven, or ten that lost a leading zero.
        let mut digits = [b'0'; 11];
        let mut rest = number;
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        if number < 10_000_000_000 {
            lost_zero(&digits[1..], self.config.checksum)
        } else {
            plausible(&digits, self.config.checksum)
        }
    }

    /// A floating-point number that is a whole number is read as that integer.
    fn float_is_number(&self, number: f64) -> bool {
        number.fract() == 0.0 && number.abs() < 1e11 && self.integer_is_number(number as i64)
    }

    /// Whether an integer attribute or field with this value is masked; see
    /// the [module docs](crate::privacy#whole-numbers).
    pub fn masks_integer(&self, number: i64) -> bool {
        self.config.enabled && self.integer_is_number(number)
    }

    /// Whether a floating-point attribute or field with this value is masked: a
    /// whole number is read as an integer (`22025454565.0`).
    pub fn masks_float(&self, number: f64) -> bool {
        self.config.enabled && self.float_is_number(number)
    }

    /// Whether a field recorded through `Debug` or `Display` whose text is this is
    /// masked as an integer: a whole number as an integer writes it (`?n`, `%n`, and
    /// `i128` and `u128` fields, which `tracing` records so).
    pub fn masks_integer_text(&self, text: &str) -> bool {
        self.config.enabled && whole_number(text).is_some_and(|n| self.integer_is_number(n))
    }

    /// `text` with every URL in it redacted, whatever the settings (its credentials and
    /// the values of its signature and token query parameters:
    /// [`nais_otel_tower::redact::redact_urls_in`]), then every identity number replaced
    /// when masking is on; `None` (and no allocation) when there is nothing to change.
    ///
    /// URLs go first: a replacement that a URL ends at (`<fnr>`) would otherwise cut a
    /// URL short. `REDACTED` has no digit, so it neither hides nor makes a number.
    pub fn mask(&self, text: &str) -> Option<String> {
        let redacted = redact_urls_in(text);
        if !self.config.enabled {
            return redacted;
        }
        let base = redacted.as_deref().unwrap_or(text);
        self.mask_text_numbers(base).or(redacted)
    }

    /// `text` with its identity numbers replaced, when masking is on: [`Masker::mask`]
    /// without the URLs, for text whose URLs are redacted already (or never hold one).
    pub(crate) fn mask_text_numbers(&self, text: &str) -> Option<String> {
        if !self.config.enabled {
            return None;
        }
        mask_with(text, &self.config.replacement, self.config.checksum)
    }

    /// As [`Masker::mask`], for bytes that need not be UTF-8 (a log line on
    /// its way to a writer). URLs are redacted in bytes that are UTF-8.
    pub fn mask_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let redacted = holds_url(bytes)
            .then(|| std::str::from_utf8(bytes).ok())
            .flatten()
            .and_then(redact_urls_in)
            .map(String::into_bytes);
        if !self.config.enabled {
            return redacted;
        }
        let base = redacted.as_deref().unwrap_or(bytes);
        self.mask_numbers_in_bytes(base).or(redacted)
    }

    /// The identity numbers in `bytes` replaced.
    fn mask_numbers_in_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        mask_bytes_with(
            bytes,
            self.config.replacement.as_bytes(),
            self.config.checksum,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[rustfmt::skip]
    fn integers_that_can_hold_a_number_and_those_that_cannot() {
        let cases: &[(i64, bool, &str)] = &[
            (41_019_012_345, true, "D-number, eleven digits"),
            (31_129_912_345, true, "fødselsnummer, eleven digits"),
            (15_419_012_345, true, "H-number"),
            (2_019_012_345, true, "born on the 2nd: ten digits, the leading zero lost"),
            (9_129_912_345, true, "born on the 9th"),
            (1_019_012_345, false, "born on the 1st, control digits wrong"),
            (1_019_000_083, true, "born on the 1st: ten digits from 1, control digits right"),
            (1_459_000_026, true, "H-number born on the 1st"),
            (1_830_000_085, false, "unix seconds, 2028: synthetic month 83, control digits right"),
            (1_500_000_000, false, "unix seconds, 2017 (01500000000 would be an H-number)"),
            (1_529_999_999, false, "unix seconds, 2018"),
            (1_732_186_400, false, "unix seconds, 2024"),
            (1_900_000_000, false, "unix seconds, 2030 (month 90 would be synthetic)"),
            (1_732_186_400_123, false, "unix milliseconds"),
            (4_791_234_567, false, "phone number with country code: month 79"),
            (99_999_999_999, false, "eleven digits, no date"),
            (123_456_789_012, false, "twelve digits"),
            (200, false, "a status code"),
            (-41_019_012_345, true, "negative: a sign does not hide it"),
            (-1_732_186_400, false, "negative, otherwise not masked"),
        ];
        let masker = Masker::default();
        for (number, masked, reason) in cases {
            let expected = if *masked { Value::from("[fnr]") } else { Value::I64(*number) };
            let mut attributes = [KeyValue::new("any.key", *number)];
            masker.mask_attributes(&mut attributes);
            assert_eq!(attributes[0].value, expected, "{reason}: {number}");
            let mut kafka = [KeyValue::new("messaging.kafka.message.key", *number)];
            masker.mask_attributes(&mut kafka);
            assert_eq!(kafka[0].value, expected, "the same on a NAIS key: {reason}");
        }
        let mut array = [KeyValue::new(
            "ids",
            Value::Array(Array::I64(vec![7, 41_019_012_345, 1_500_000_000])),
        )];
        masker.mask_attributes(&mut array);
        assert_eq!(
            array[0].value,
            Value::Array(Array::String(vec!["7".into(), "[fnr]".into(), "1500000000".into()]))
        );
    }

    #[test]
    fn unix_times_from_2019_to_2033_are_never_masked() {
        // Every 997th second from 2019-01-01 to the last ten-digit second, as an integer
        // and in text: the month digits (54 to 99) are no month a person's number has
        // but the synthetic ones, which ten digits from `1` leave out.
        let masker = Masker::default();
        let mut seen = 0;
        for time in (1_546_300_800_i64..=1_999_999_999).step_by(997) {
            assert!(!masker.masks_integer(time), "{time}");
            let text = format!("at {time}");
            assert_eq!(masker.mask(&text), None, "{text}");
            seen += 1;
        }
        assert!(seen > 450_000, "{seen}");
    }
    #[test]
    fn masks_keys_trace_states_floats_and_integer_texts() {
        use opentelemetry::trace::{Link, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
        let masker = Masker::default();
        let mut attributes = [
            KeyValue::new("person.01019012345.found", true),
            KeyValue::new("float", 41_019_012_345.0),
            KeyValue::new("fraction", 41_019_012_345.5),
            KeyValue::new("time", 1_732_186_400.0),
        ];
        masker.mask_attributes(&mut attributes);
        assert_eq!(attributes[0].key.as_str(), "person.[fnr].found");
        assert_eq!(attributes[1].value, Value::from("[fnr]"));
        assert_eq!(attributes[2].value, Value::F64(41_019_012_345.5));
        assert_eq!(attributes[3].value, Value::F64(1_732_186_400.0));
        let mut floats = [KeyValue::new(
            "floats",
            Value::Array(Array::F64(vec![1.5, 41_019_012_345.0])),
        )];
        masker.mask_attributes(&mut floats);
        assert_eq!(
            floats[0].value,
            Value::Array(Array::String(vec!["1.5".into(), "[fnr]".into()]))
        );

        let context = |state: &str| {
            SpanContext::new(
                TraceId::from(1),
                SpanId::from(2),
                TraceFlags::SAMPLED,
                true,
                state.parse::<TraceState>().expect("a valid trace state"),
            )
        };
        let mut span = SpanData {
            span_context: context("nav=01019012345,other=1"),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: opentelemetry::trace::SpanKind::Server,
            name: "span".into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes: vec![],
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        };
        span.links
            .links
            .push(Link::with_context(context("nav=010190 12345")));
        assert!(masker.masks_trace_state(&span.span_context));
        masker.mask_span(&mut span);
        assert_eq!(
            span.span_context.trace_state().header(),
            "nav=[fnr],other=1"
        );
        assert_eq!(
            span.span_context.span_id(),
            SpanId::from(2),
            "the rest stays"
        );
        assert_eq!(
            span.links.links[0].span_context.trace_state().header(),
            "nav=[fnr]"
        );
        assert!(!masker.masks_trace_state(&context("nav=1732186400")));

        assert!(masker.masks_integer_text("2019012345"));
        assert!(masker.masks_integer_text("-41019012345"));
        assert!(
            !masker.masks_integer_text("02019012345"),
            "text: the scan's"
        );
        assert!(!masker.masks_integer_text("1732186400"));
        assert!(masker.masks_float(2_019_012_345.0));
        assert!(!Masker::new(MaskConfig::disabled()).masks_float(2_019_012_345.0));
    }

    #[test]
    fn masks_span_names_events_links_and_every_key() {
        use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status};
        use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
        let mut events = SpanEvents::default();
        events.events.push(Event::new(
            "looked up 01019012345",
            std::time::SystemTime::now(),
            vec![KeyValue::new("db.statement", "where fnr = '01019012345'")],
            0,
        ));
        let mut span = SpanData {
            span_context: SpanContext::empty_context(),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: "GET /person/01019012345".into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes: vec![
                KeyValue::new("url.path", "/person/01019012345"),
                KeyValue::new("url.full", "https://u:p@x/person/010190 12345"),
                KeyValue::new("custom.id", "01019012345"),
                KeyValue::new("http.request.header.authorization", "Bearer x"),
                KeyValue::new("http.response.status_code", 200),
            ],
            dropped_attributes_count: 0,
            events,
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        };
        Masker::new(MaskConfig::new().replacement("***")).mask_span(&mut span);
        assert_eq!(span.name, "GET /person/***");
        let attr = |key: &str| {
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.as_str().into_owned())
        };
        assert_eq!(attr("url.path").as_deref(), Some("/person/***"));
        assert_eq!(
            attr("url.full").as_deref(),
            Some("https://REDACTED:REDACTED@x/person/***")
        );
        assert_eq!(attr("custom.id").as_deref(), Some("***"), "any key");
        assert_eq!(attr("http.request.header.authorization"), None);
        assert_eq!(attr("http.response.status_code").as_deref(), Some("200"));
        assert_eq!(span.events.events[0].name, "looked up ***");
        assert_eq!(
            span.events.events[0].attributes[0].value.as_str(),
            "where fnr = '***'"
        );

        let mut exempt = span.clone();
        exempt.attributes = vec![
            KeyValue::new("custom.id", "01019012345"),
            KeyValue::new("url.path", "/p/01019012345"),
            KeyValue::new("other.id", "01019012345"),
        ];
        exempt.links.links.push(opentelemetry::trace::Link::new(
            SpanContext::empty_context(),
            vec![
                KeyValue::new("linked.fnr", "01019012345"),
                KeyValue::new("http.request.header.cookie", "session=1"),
            ],
            0,
        ));
        let config = MaskConfig::new()
            .exempt_key("custom.id")
            .exempt_key("url.path");
        Masker::new(config).mask_span(&mut exempt);
        assert_eq!(
            exempt.attributes,
            vec![
                KeyValue::new("custom.id", "01019012345"),
                KeyValue::new("url.path", "/p/[fnr]"),
                KeyValue::new("other.id", "[fnr]"),
            ],
            "an exempt key stays exact, but NAIS's keys are the floor"
        );
        assert_eq!(
            exempt.links.links[0].attributes,
            vec![KeyValue::new("linked.fnr", "[fnr]")],
            "links are masked and their credentials dropped"
        );

        let mut off = span.clone();
        off.name = "GET /person/01019012345".into();
        off.attributes = vec![
            KeyValue::new("url.full", "https://u:p@x/01019012345"),
            KeyValue::new("http.request.header.cookie", "session=1"),
        ];
        Masker::new(MaskConfig::disabled()).mask_span(&mut off);
        assert_eq!(off.name, "GET /person/01019012345");
        assert_eq!(
            off.attributes,
            vec![KeyValue::new(
                "url.full",
                "https://REDACTED:REDACTED@x/01019012345"
            )],
            "credentials go even with masking off"
        );

        let mut other = span.clone();
        other.status = Status::error("error sending request for url (http://p/person/01019012345)");
        other.attributes = vec![
            KeyValue::new("messaging.kafka.message.key", 41_019_012_345_i64),
            KeyValue::new("person", 2_019_012_345_i64),
            KeyValue::new("messaging.kafka.message.key", 4_791_234_567_i64),
            KeyValue::new(
                "db.statement",
                Value::Array(Array::String(vec!["ok".into(), "01019012345".into()])),
            ),
        ];
        Masker::new(MaskConfig::new()).mask_span(&mut other);
        assert_eq!(
            other.status,
            Status::error("error sending request for url (http://p/person/[fnr])")
        );
        assert_eq!(
            other.attributes[0].value,
            Value::from("[fnr]"),
            "integer D-number"
        );
        assert_eq!(
            other.attributes[1].value,
            Value::from("[fnr]"),
            "leading zero lost, born on the 2nd"
        );
        assert_eq!(
            other.attributes[2].value,
            Value::I64(4_791_234_567),
            "not a date"
        );
        assert_eq!(
            other.attributes[3].value,
            Value::Array(Array::String(vec!["ok".into(), "[fnr]".into()]))
        );
    }

    #[test]
    fn urls_in_free_text_are_redacted_with_masking_on_and_off() {
        use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
        use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
        let failed = "error sending request for url (https://u:pw@api/p/01019012345?sig=c2ln&n=1)";
        for (config, number) in [
            (MaskConfig::new(), "[fnr]"),
            (MaskConfig::disabled(), "01019012345"),
        ] {
            let masker = Masker::new(config);
            let expected = format!(
                "error sending request for url (https://REDACTED:REDACTED@api/p/{number}?sig=REDACTED&n=1)"
            );
            assert_eq!(masker.mask(failed).as_deref(), Some(expected.as_str()));
            assert_eq!(
                masker.mask_bytes(failed.as_bytes()),
                Some(expected.clone().into_bytes())
            );
            let mut events = SpanEvents::default();
            events.events.push(opentelemetry::trace::Event::new(
                failed,
                std::time::SystemTime::UNIX_EPOCH,
                vec![KeyValue::new("exception.message", failed)],
                0,
            ));
            let mut span = SpanData {
                span_context: SpanContext::empty_context(),
                parent_span_id: SpanId::INVALID,
                parent_span_is_remote: false,
                span_kind: SpanKind::Internal,
                name: format!("fetch {failed}").into(),
                start_time: std::time::SystemTime::UNIX_EPOCH,
                end_time: std::time::SystemTime::UNIX_EPOCH,
                attributes: vec![KeyValue::new("reason", failed)],
                dropped_attributes_count: 0,
                events,
                links: SpanLinks::default(),
                status: Status::error(failed),
                instrumentation_scope: Default::default(),
            };
            masker.mask_span(&mut span);
            assert_eq!(span.name, format!("fetch {expected}"));
            assert_eq!(span.status, Status::error(expected.clone()));
            assert_eq!(span.attributes[0].value, Value::from(expected.clone()));
            assert_eq!(span.events.events[0].name, expected);
            assert_eq!(
                span.events.events[0].attributes[0].value,
                Value::from(expected.clone())
            );
            // A URL with nothing to redact is left as it is, without a copy.
            assert_eq!(masker.mask("see https://nav.no/dogs?page=2"), None);

            // Strings in arrays, whatever the settings and exempt or not.
            let url = "https://u:pw@h/?token=t";
            let mut attributes = [
                KeyValue::new("urls", Value::Array(Array::String(vec![url.into()]))),
                KeyValue::new("exempt.url", url),
            ];
            Masker::new(
                masker
                    .config()
                    .clone()
                    .exempt_key("urls")
                    .exempt_key("exempt.url"),
            )
            .mask_attributes(&mut attributes);
            let redacted = "https://REDACTED:REDACTED@h/?token=REDACTED";
            assert_eq!(
                attributes[0].value,
                Value::Array(Array::String(vec![redacted.into()]))
            );
            assert_eq!(attributes[1].value, Value::from(redacted));

            // The URL attributes of any instrumentation: path parameters, a URL passed
            // on in the query (as it is, or percent-encoded as a whole), `;` between
            // parameters.
            let mut attributes = [
                KeyValue::new("url.path", "/cart;jsessionid=F00D/items"),
                KeyValue::new("url.query", "next=https://u:pw@h/x?token=t&a=1;pwd=x"),
                KeyValue::new(
                    "url.full",
                    "https://h/cart;JSESSIONID=F00D?next=https://u:pw@h/",
                ),
                KeyValue::new("url.query", "next=https%3a%2f%2fu%3Apw%40h%2F&a=1"),
            ];
            masker.mask_attributes(&mut attributes);
            let values: Vec<_> = attributes.iter().map(|kv| kv.value.as_str()).collect();
            assert_eq!(
                values,
                [
                    "/cart;jsessionid=REDACTED/items",
                    "next=https://REDACTED:REDACTED@h/x?token=REDACTED&a=1;pwd=REDACTED",
                    "https://h/cart;JSESSIONID=REDACTED?next=https://REDACTED:REDACTED@h/",
                    "next=https%3A%2F%2FREDACTED%3AREDACTED%40h%2F&a=1",
                ]
            );
        }
    }

    #[test]
    fn urls_are_redacted_before_numbers_are_masked() {
        // A replacement a URL ends at (`<`) must not cut the URL short.
        let masker = Masker::new(MaskConfig::new().replacement("<fnr>"));
        let cases = [
            (
                "url (https://h.example/p/01019012345?access_token=S)",
                "url (https://h.example/p/<fnr>?access_token=REDACTED)",
            ),
            (
                "https://01019012345:pw@h.example/",
                "https://REDACTED:REDACTED@h.example/",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(masker.mask(text).as_deref(), Some(expected), "{text}");
            assert_eq!(
                masker.mask_bytes(text.as_bytes()).as_deref(),
                Some(expected.as_bytes()),
                "{text}"
            );
        }
    }
}
