//! Masking Norwegian national identity numbers before anything leaves the process.
//!
//! NAIS masks identity numbers in its collector, after the data has crossed the
//! network, and only in the attributes it lists. `nais-otel` masks them inside
//! the process, in every string that leaves it: spans on the export thread, log
//! lines as they are formatted.
//!
//! # What is recognised
//!
//! Eleven digits, not part of a longer run of digits (a percent-escape such as
//! `%20` before them does not count as digits), optionally split after the
//! sixth digit by one whitespace character, a non-breaking space, a URL form
//! of a space (`+`, `%20`) or an escaped one as JSON and `Debug` write it
//! (`\n`, `\t`, `\r`), whose first six digits are a plausible date `DDMMYY`:
//!
//! * day 01–31, or 41–71 for D-numbers (day + 40);
//! * month 01–12, 41–52 for H-numbers and synthetic test numbers (month + 40),
//!   or 81–92 for synthetic test numbers (month + 80).
//!
//! The two mod-11 control digits are **not** demanded by default: privacy
//! first. A mistyped number, or one from a test generator that gets the control
//! digits wrong, is still a person's number to a reader, and masking an order
//! id that happens to look like one costs nothing but a less readable span.
//! Demanding them ([`MaskConfig::checksum`], `NAIS_OTEL_MASK_CHECKSUM=true`)
//! lets through about one in eleven numbers that merely look like identity
//! numbers, and every mistyped real one.
//!
//! # Where
//!
//! Spans, on the export thread before anything is encoded: the span name, the
//! error status description (a panic message, an error's text, a failed
//! request's URL), event names (tracing log messages become span events), and
//! the values of **every** attribute, whatever its key, on the span, its events
//! (`exception.message` of an `#[instrument(err)]` span included) and its
//! links: strings, strings in arrays, and whole numbers (see below).
//!
//! Log lines, as they are formatted: the message and every field of a JSON
//! line ([`crate::JsonFormat`]), the whole text line ([`crate::MaskingFields`]
//! for whole numbers, [`crate::MaskingWriter`] for the text). Panics, which
//! [`crate::init`] reports as log lines instead of the standard library's
//! message on standard error.
//!
//! Not masked: the resource (`service.name` and the other attributes from the
//! environment), and the baggage and trace context headers sent to other
//! services, which are requests, not telemetry.
//!
//! A team can exempt attribute keys (and JSON log fields) whose values must
//! stay exact, with [`MaskConfig::exempt_key`] or `NAIS_OTEL_MASK_EXEMPT_KEYS`.
//! The keys NAIS masks ([`DEFAULT_KEYS`]), and keys added with
//! [`MaskConfig::key`] or `NAIS_OTEL_MASK_KEYS`, are masked even when exempted:
//! they are the floor.
//!
//! # Whole numbers
//!
//! A number stored as an integer loses its leading zero: someone born on the
//! 1st to the 9th of a month becomes ten digits. So an integer attribute is
//! masked (replaced by the replacement string) when it is
//!
//! * eleven digits whose date is plausible, or
//! * ten digits from `2_000_000_000`, read with the lost zero (`0` + ten
//!   digits), whose date is plausible.
//!
//! Ten-digit integers from `1_000_000_000` to `1_999_999_999` are **not**
//! masked: they are what a unix time in seconds looks like from 2001 to 2033,
//! and many of them read as a plausible date with the zero put back
//! (`1_500_000_000` is `01500000000`, the 1st with H-number month 50). The
//! price: an identity number of someone born on the 1st of a month, sent as an
//! integer, is not recognised: record identity numbers as strings, as the tax
//! authority writes them. The rule is the same for every key, NAIS's
//! `messaging.kafka.message.key` included (a Kafka key is often a time).
//! Unix times in milliseconds (13 digits) never match.
//!
//! Whatever the masking settings, even with masking off: credentials
//! (`user:password@`) are removed from `url.full`, `url.original` and
//! `http.url`, and header attributes that carry credentials (`authorization`,
//! `cookie`, `set-cookie`, `proxy-authorization`) are dropped.
//!
//! # Cost
//!
//! A value with no identity number is scanned once and not copied: no
//! allocation, on the export thread and in the log line. The span scan runs on
//! the export thread, off the request path.

use std::borrow::Cow;

use opentelemetry::{trace::Status, Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;

/// The attributes NAIS masks, and `db.query.text`, the newer name of
/// `db.statement`: masked whatever is exempted.
pub const DEFAULT_KEYS: &[&str] = &[
    "url.path",
    "url.full",
    "url.original",
    "url.query",
    "http.url",
    "http.target",
    "http.route",
    "db.statement",
    "db.query.text",
    "messaging.kafka.message.key",
];

/// What replaces a number unless configured otherwise; the text NAIS uses.
pub const DEFAULT_REPLACEMENT: &str = "[fnr]";

/// Header attributes that are never exported, whatever a team records.
pub const NEVER_RECORDED_HEADERS: &[&str] = &[
    "http.request.header.authorization",
    "http.request.header.cookie",
    "http.request.header.proxy-authorization",
    "http.response.header.set-cookie",
];

/// How masking is set up. On by default, for every attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaskConfig {
    /// Whether to mask at all. Defaults to `true`.
    pub enabled: bool,
    /// Attribute keys that are masked even when exempted: the floor.
    /// Defaults to [`DEFAULT_KEYS`].
    pub keys: Vec<String>,
    /// Attribute keys (and JSON log fields) left as they are, unless they are
    /// in [`MaskConfig::keys`]. Defaults to none.
    pub exempt_keys: Vec<String>,
    /// The replacement text. Defaults to [`DEFAULT_REPLACEMENT`].
    pub replacement: String,
    /// Whether to demand valid mod-11 control digits. Defaults to `false`.
    pub checksum: bool,
}

impl Default for MaskConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl MaskConfig {
    /// The default: on, every key, NAIS's keys as the floor, `[fnr]`, no checksum.
    pub fn new() -> Self {
        Self {
            enabled: true,
            keys: DEFAULT_KEYS.iter().map(|k| (*k).to_owned()).collect(),
            exempt_keys: Vec::new(),
            replacement: DEFAULT_REPLACEMENT.to_owned(),
            checksum: false,
        }
    }

    /// Masking off.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::new()
        }
    }

    /// Adds an attribute key that is masked even when exempted. Repeated calls
    /// add to earlier ones.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        if !self.keys.contains(&key) {
            self.keys.push(key);
        }
        self
    }

    /// Exempts an attribute key (and the JSON log field of that name) from
    /// masking, for values that must stay exact. Has no effect on the keys in
    /// [`MaskConfig::keys`]. Repeated calls add to earlier ones.
    #[must_use]
    pub fn exempt_key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        if !self.exempt_keys.contains(&key) {
            self.exempt_keys.push(key);
        }
        self
    }

    /// Sets the replacement text.
    #[must_use]
    pub fn replacement(mut self, replacement: impl Into<String>) -> Self {
        self.replacement = replacement.into();
        self
    }

    /// Whether to demand valid control digits.
    #[must_use]
    pub fn checksum(mut self, checksum: bool) -> Self {
        self.checksum = checksum;
        self
    }
}

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

    /// Masks a span in place: its name, status description, and the
    /// attributes of the span, its events and its links. Drops credential
    /// headers and URL credentials whatever the settings.
    pub fn mask_span(&self, span: &mut SpanData) {
        // Credentials go whatever the masking settings say.
        strip_secrets(&mut span.attributes);
        for event in span.events.events.iter_mut() {
            strip_secrets(&mut event.attributes);
        }
        for link in span.links.links.iter_mut() {
            strip_secrets(&mut link.attributes);
        }
        if !self.config.enabled {
            return;
        }
        if let Some(masked) = self.mask(&span.name) {
            span.name = Cow::Owned(masked);
        }
        // Error descriptions carry free text: a panic message, an error's
        // `Display`, a failed request's URL.
        if let Status::Error { description } = &mut span.status {
            if let Some(masked) = self.mask(description) {
                *description = Cow::Owned(masked);
            }
        }
        self.mask_attributes(&mut span.attributes);
        for event in span.events.events.iter_mut() {
            if let Some(masked) = self.mask(&event.name) {
                event.name = Cow::Owned(masked);
            }
            self.mask_attributes(&mut event.attributes);
        }
        for link in span.links.links.iter_mut() {
            self.mask_attributes(&mut link.attributes);
        }
    }

    /// Masks the values of `attributes` in place, but those of exempt keys.
    pub fn mask_attributes(&self, attributes: &mut [KeyValue]) {
        if !self.config.enabled {
            return;
        }
        for kv in attributes.iter_mut() {
            let key = kv.key.as_str();
            if !self.exempt.is_empty() && self.exempt.iter().any(|k| k == key) {
                continue;
            }
            if let Some(masked) = self.mask_value(&kv.value) {
                kv.value = masked;
            }
        }
    }

    /// The masked value, if anything in it was masked: strings, strings in
    /// arrays, and whole numbers that read as an identity number.
    fn mask_value(&self, value: &Value) -> Option<Value> {
        match value {
            Value::String(text) => self
                .mask(text.as_str())
                .map(|masked| Value::String(StringValue::from(masked))),
            Value::I64(number) => self
                .integer_is_number(*number)
                .then(|| Value::String(StringValue::from(self.config.replacement.clone()))),
            Value::Array(Array::String(items)) => {
                // Nothing is copied until a string holds a number.
                let (first, masked) = items
                    .iter()
                    .enumerate()
                    .find_map(|(i, item)| Some((i, self.mask(item.as_str())?)))?;
                let mut copy = items.clone();
                copy[first] = StringValue::from(masked);
                for item in &mut copy[first + 1..] {
                    if let Some(masked) = self.mask(item.as_str()) {
                        *item = StringValue::from(masked);
                    }
                }
                Some(Value::Array(Array::String(copy)))
            }
            Value::Array(Array::I64(items)) => {
                if !items.iter().any(|n| self.integer_is_number(*n)) {
                    return None;
                }
                // One element is a number: the array becomes strings, the
                // number its replacement and the rest their digits.
                let masked = items
                    .iter()
                    .map(|n| {
                        if self.integer_is_number(*n) {
                            StringValue::from(self.config.replacement.clone())
                        } else {
                            StringValue::from(n.to_string())
                        }
                    })
                    .collect();
                Some(Value::Array(Array::String(masked)))
            }
            _ => None,
        }
    }

    /// Whether an integer reads as an identity number; see the
    /// [module docs](self#whole-numbers).
    fn integer_is_number(&self, number: i64) -> bool {
        if !(2_000_000_000..=99_999_999_999).contains(&number) {
            return false;
        }
        // The eleven digits, the lost leading zero put back; no allocation.
        let mut digits = [b'0'; 11];
        let mut rest = number as u64;
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        plausible(&digits, self.config.checksum)
    }

    /// Whether an integer attribute or field with this value is masked; see
    /// the [module docs](self#whole-numbers).
    pub fn masks_integer(&self, number: i64) -> bool {
        self.config.enabled && self.integer_is_number(number)
    }

    /// `text` with every identity number replaced; `None` (and no allocation)
    /// when there is none, or masking is off.
    pub fn mask(&self, text: &str) -> Option<String> {
        if !self.config.enabled {
            return None;
        }
        mask_with(text, &self.config.replacement, self.config.checksum)
    }

    /// As [`Masker::mask`], for bytes that need not be UTF-8 (a log line on
    /// its way to a writer).
    pub fn mask_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        if !self.config.enabled {
            return None;
        }
        let checksum = self.config.checksum;
        let mut found = find(bytes, 0, checksum)?;
        let replacement = self.config.replacement.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut copied = 0;
        loop {
            out.extend_from_slice(&bytes[copied..found.0]);
            out.extend_from_slice(replacement);
            copied = found.1;
            match find(bytes, copied, checksum) {
                Some(next) => found = next,
                None => break,
            }
        }
        out.extend_from_slice(&bytes[copied..]);
        Some(out)
    }
}

/// Replaces every identity number in `text` with `replacement`; `None` (and no
/// allocation) when there is none.
///
/// ```
/// use nais_otel::privacy::mask;
/// assert_eq!(mask("/person/01019012345/saker", "[fnr]").as_deref(), Some("/person/[fnr]/saker"));
/// assert_eq!(mask("/order/99999999999", "[fnr]"), None); // day 99 is no date
/// ```
pub fn mask(text: &str, replacement: &str) -> Option<String> {
    mask_with(text, replacement, false)
}

fn mask_with(text: &str, replacement: &str, checksum: bool) -> Option<String> {
    let mut found = find(text.as_bytes(), 0, checksum)?;
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    loop {
        out.push_str(&text[copied..found.0]);
        out.push_str(replacement);
        copied = found.1;
        match find(text.as_bytes(), copied, checksum) {
            Some(next) => found = next,
            None => break,
        }
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Whether `text` holds an identity number.
pub fn contains_identity_number(text: &str) -> bool {
    find(text.as_bytes(), 0, false).is_some()
}

/// What may stand between the sixth and seventh digit: one whitespace
/// character (as NAIS's `\s?`), a non-breaking space, a URL-encoded space, or
/// a whitespace character escaped as JSON and `Debug` write it.
const SEPARATORS: [&[u8]; 12] = [
    b" ",
    b"\t",
    b"\n",
    b"\r",
    b"\x0b",
    b"\x0c",
    "\u{a0}".as_bytes(),
    b"+",
    b"%20",
    b"\\n",
    b"\\t",
    b"\\r",
];

/// The byte range of the first identity number at or after `from`.
fn find(bytes: &[u8], from: usize, checksum: bool) -> Option<(usize, usize)> {
    let mut i = from;
    loop {
        i = next_digit_or_percent(bytes, i);
        let &byte = bytes.get(i)?;
        if byte == b'%' {
            // A percent-escape's hex digits (`%20`, `%27`) are not part of a
            // number: the digits after it start a run of their own.
            let escape = matches!(bytes.get(i + 1..i + 3), Some([a, b]) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit());
            i += if escape { 3 } else { 1 };
            continue;
        }
        // A maximal run of digits starts at `i`.
        let start = i;
        let run_end = digits_end(bytes, start);
        let run = run_end - start;
        if run == 11 {
            if plausible(&bytes[start..run_end], checksum) {
                return Some((start, run_end));
            }
        } else if run == 6 {
            // Six digits, one separator, five digits, nothing more.
            for separator in SEPARATORS {
                let second = run_end + separator.len();
                if bytes.get(run_end..second) != Some(separator) {
                    continue;
                }
                let second_end = digits_end(bytes, second);
                if second_end - second == 5 {
                    let mut number = [0u8; 11];
                    number[..6].copy_from_slice(&bytes[start..run_end]);
                    number[6..].copy_from_slice(&bytes[second..second_end]);
                    if plausible(&number, checksum) {
                        return Some((start, second_end));
                    }
                }
            }
        }
        i = run_end;
    }
}

/// The index of the first ASCII digit or `%` at or after `i`; `bytes.len()`
/// if there is none. Eight bytes at a time: most of a log line or a URL is
/// neither, and a byte-by-byte scan costs a branch a byte.
fn next_digit_or_percent(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // A byte from `0` (0x30) to `9` (0x39): each byte of `185 - low7` has its
        // high bit set when low7 < 0x3a, of `low7 + 80` when low7 > 0x2f; no
        // carry or borrow crosses a byte, so the test is exact per byte.
        let low7 = word & LOW7;
        let digit = (ONES * (127 + 0x3a) - low7) & !word & (low7 + ONES * (127 - 0x2f)) & HIGH;
        // A `%` byte: a zero byte in `word ^ %%%%%%%%`.
        let xored = word ^ (ONES * u64::from(b'%'));
        let percent = xored.wrapping_sub(ONES) & !xored & HIGH;
        if digit | percent != 0 {
            break;
        }
        i += 8;
    }
    while let Some(&byte) = bytes.get(i) {
        if byte.is_ascii_digit() || byte == b'%' {
            break;
        }
        i += 1;
    }
    i.min(bytes.len())
}

fn digits_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|b| !b.is_ascii_digit())
        .map_or(bytes.len(), |offset| start + offset)
}

/// Eleven ASCII digits whose first six are a plausible `DDMMYY`.
fn plausible(digits: &[u8], checksum: bool) -> bool {
    let value = |i: usize| u32::from(digits[i] - b'0');
    let day = value(0) * 10 + value(1);
    let month = value(2) * 10 + value(3);
    let day_ok = (1..=31).contains(&day) || (41..=71).contains(&day);
    let month_ok =
        (1..=12).contains(&month) || (41..=52).contains(&month) || (81..=92).contains(&month);
    day_ok && month_ok && (!checksum || control_digits_ok(digits))
}

/// The two mod-11 control digits of a national identity number.
fn control_digits_ok(digits: &[u8]) -> bool {
    const K1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
    const K2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    let d = |i: usize| u32::from(digits[i] - b'0');
    let control = |weights: &[u32]| {
        let sum: u32 = weights.iter().enumerate().map(|(i, w)| w * d(i)).sum();
        match 11 - sum % 11 {
            11 => Some(0),
            10 => None,
            c => Some(c),
        }
    };
    control(&K1) == Some(d(9)) && control(&K2) == Some(d(10))
}

/// Drops header attributes that carry credentials and removes
/// `user:password@` from URLs, whatever the masking settings.
fn strip_secrets(attributes: &mut Vec<KeyValue>) {
    attributes.retain(|kv| !NEVER_RECORDED_HEADERS.contains(&kv.key.as_str()));
    for kv in attributes.iter_mut() {
        if !matches!(kv.key.as_str(), "url.full" | "http.url" | "url.original") {
            continue;
        }
        if let Value::String(text) = &kv.value {
            if let Some(stripped) = crate::url::without_userinfo(text.as_str()) {
                kv.value = Value::String(StringValue::from(stripped));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[rustfmt::skip]
    fn recognises_identity_numbers() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("01019012345", Some("[fnr]"), "plain birth number"),
            ("/person/31129912345/saker", Some("/person/[fnr]/saker"), "in a path"),
            ("fnr=010190 12345&x=1", Some("fnr=[fnr]&x=1"), "space after the sixth digit"),
            ("fnr=010190+12345", Some("fnr=[fnr]"), "URL-encoded space as +"),
            ("fnr=010190%2012345", Some("fnr=[fnr]"), "URL-encoded space as %20"),
            ("41019012345", Some("[fnr]"), "D-number: day + 40"),
            ("71129912345", Some("[fnr]"), "D-number: highest day"),
            ("01419012345", Some("[fnr]"), "H-number: month + 40"),
            ("01529012345", Some("[fnr]"), "H-number: highest month"),
            ("01819012345", Some("[fnr]"), "synthetic: month + 80"),
            ("01929012345", Some("[fnr]"), "synthetic: highest month"),
            ("41819012345", Some("[fnr]"), "synthetic D-number"),
            ("SELECT * FROM p WHERE fnr='01019012345'", Some("SELECT * FROM p WHERE fnr='[fnr]'"), "in SQL"),
            ("a01019012345b", Some("a[fnr]b"), "letters around do not protect it"),
            ("01019012345,02029054321", Some("[fnr],[fnr]"), "two numbers"),
            ("010190123456", None, "12 digits"),
            ("1010190123456", None, "13 digits"),
            ("4791234567", None, "10-digit phone number"),
            ("+47 912 34 567", None, "phone number with spaces"),
            ("1732186400123", None, "millisecond timestamp"),
            ("1732186400", None, "second timestamp"),
            ("2024-11-21T08:14:00Z", None, "ISO timestamp"),
            ("550e8400-e29b-41d4-a716-446655440000", None, "UUID"),
            ("00019012345", None, "day 00"),
            ("32019012345", None, "day 32"),
            ("72019012345", None, "day 72"),
            ("01139012345", None, "month 13"),
            ("01539012345", None, "month 53"),
            ("01939012345", None, "month 93"),
            ("01009012345", None, "month 00"),
            ("99999999999", None, "not a date at all"),
            ("010190  12345", None, "two spaces"),
            ("q=fnr%2001019012345", Some("q=fnr%20[fnr]"), "after a percent-escaped space"),
            ("ids=%5B%2201019012345%22%5D", Some("ids=%5B%22[fnr]%22%5D"), "in an encoded JSON array"),
            ("q=%2701019012345%27", Some("q=%27[fnr]%27"), "in encoded quotes"),
            ("/s/Ola%20Nordmann%2001019012345", Some("/s/Ola%20Nordmann%20[fnr]"), "after an encoded name"),
            ("where fnr = '010190\t12345'", Some("where fnr = '[fnr]'"), "tab after the sixth digit"),
            ("010190\n12345", Some("[fnr]"), "newline after the sixth digit"),
            ("010190\u{a0}12345", Some("[fnr]"), "non-breaking space"),
            ("%2512345678901", None, "an escape does not make a longer run a number"),
            ("0101901 2345", None, "split in the wrong place"),
            (r#"{"m":"010190\n12345"}"#, Some(r#"{"m":"[fnr]"}"#), "an escaped newline, as JSON writes it"),
            ("", None, "empty"),
        ];
        for (input, expected, reason) in cases {
            assert_eq!(mask(input, "[fnr]").as_deref(), *expected, "{reason}: {input}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn integers_that_can_hold_a_number_and_those_that_cannot() {
        let cases: &[(i64, bool, &str)] = &[
            (41_019_012_345, true, "D-number, eleven digits"),
            (31_129_912_345, true, "fødselsnummer, eleven digits"),
            (15_419_012_345, true, "H-number"),
            (2_019_012_345, true, "born on the 2nd: ten digits, the leading zero lost"),
            (9_129_912_345, true, "born on the 9th"),
            (1_019_012_345, false, "born on the 1st: reads as a unix time, not masked"),
            (1_500_000_000, false, "unix seconds, 2017 (01500000000 would be an H-number)"),
            (1_529_999_999, false, "unix seconds, 2018"),
            (1_732_186_400, false, "unix seconds, 2024"),
            (1_900_000_000, false, "unix seconds, 2030 (month 90 would be synthetic)"),
            (1_732_186_400_123, false, "unix milliseconds"),
            (4_791_234_567, false, "phone number with country code: month 79"),
            (99_999_999_999, false, "eleven digits, no date"),
            (123_456_789_012, false, "twelve digits"),
            (200, false, "a status code"),
            (-41_019_012_345, false, "negative"),
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

    /// The scan as one byte at a time, the way the module docs describe it.
    fn find_byte_by_byte(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
        let mut i = from;
        while i < bytes.len() {
            if !bytes[i].is_ascii_digit() {
                i += match bytes.get(i..i + 3) {
                    Some([b'%', a, b]) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => 3,
                    _ => 1,
                };
                continue;
            }
            let start = i;
            let run_end = digits_end(bytes, start);
            if run_end - start == 11 && plausible(&bytes[start..run_end], false) {
                return Some((start, run_end));
            }
            if run_end - start == 6 {
                for separator in SEPARATORS {
                    let second = run_end + separator.len();
                    if bytes.get(run_end..second) != Some(separator) {
                        continue;
                    }
                    let second_end = digits_end(bytes, second);
                    if second_end - second == 5 {
                        let mut number = [0u8; 11];
                        number[..6].copy_from_slice(&bytes[start..run_end]);
                        number[6..].copy_from_slice(&bytes[second..second_end]);
                        if plausible(&number, false) {
                            return Some((start, second_end));
                        }
                    }
                }
            }
            i = run_end;
        }
        None
    }

    #[test]
    fn the_word_at_a_time_scan_finds_what_a_byte_at_a_time_scan_finds() {
        // Random texts over the bytes that matter (digits, `%`, hex letters,
        // separators, bytes next to `0`..`9` and `%` in value, non-ASCII),
        // with numbers planted at random offsets.
        let alphabet: &[u8] = b"0123456789%%%aF/:;$&+ \t\n\x2f\x3a\xc2\xa0\xff-e";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        let mut found = 0;
        for _ in 0..20_000 {
            let len = next(40);
            let mut text: Vec<u8> = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            if next(2) == 0 {
                let at = next(text.len() + 1);
                let number: &[u8] = [
                    &b"01019012345"[..],
                    b"010190 12345",
                    b"41019012345",
                    b"010190%2012345",
                ][next(4)];
                text.splice(at..at, number.iter().copied());
            }
            for from in [0, next(text.len() + 1)] {
                let expected = find_byte_by_byte(&text, from);
                found += usize::from(expected.is_some());
                assert_eq!(
                    find(&text, from, false),
                    expected,
                    "{:?} from {from}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
        assert!(found > 5_000, "the planted numbers were found: {found}");
        for byte in 0..=255u8 {
            let mut text = [b'x'; 16];
            text[11] = byte;
            let expected = if byte.is_ascii_digit() || byte == b'%' {
                11
            } else {
                16
            };
            assert_eq!(next_digit_or_percent(&text, 0), expected, "byte {byte:#x}");
            assert_eq!(next_digit_or_percent(&text, 3), expected, "byte {byte:#x}");
        }
    }

    #[test]
    fn checksum_mode_demands_control_digits() {
        // 01010101006 has valid control digits; 01010101007 does not.
        assert!(control_digits_ok(b"01010101006"));
        assert!(!control_digits_ok(b"01010101007"));
        assert_eq!(mask_with("01010101006", "x", true).as_deref(), Some("x"));
        assert_eq!(mask_with("01010101007", "x", true), None);
        assert_eq!(mask_with("01010101007", "x", false).as_deref(), Some("x"));
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
        assert_eq!(attr("url.full").as_deref(), Some("https://x/person/***"));
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
            vec![KeyValue::new("url.full", "https://x/01019012345")],
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
}
