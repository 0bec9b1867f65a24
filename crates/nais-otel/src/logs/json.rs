//! The JSON log line NAIS expects, with `trace_id` and `span_id`, masked as it is formatted.

use std::fmt;

use opentelemetry::trace::TraceContextExt as _;
use tracing::{field::Field, Event, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::{
    fmt::{
        format::Writer,
        time::{FormatTime, SystemTime},
        FmtContext, FormatEvent, FormatFields,
    },
    registry::{LookupSpan, SpanRef},
};

use crate::privacy::{MaskConfig, Masker};
use nais_otel_tower::redact::redact_urls_in;

/// Formats events as one JSON object a line, in the shape NAIS expects:
/// `timestamp`, `level`, `message`, `target`, `trace_id`, `span_id`, `span`,
/// the event's own fields, and `stack_trace` for a field named `stack_trace`
/// or `backtrace`.
///
/// National identity numbers in the message and in every field (but the exempt
/// ones) are masked as the default [`MaskConfig`] says, or as
/// [`JsonFormat::with_mask_config`] sets.
///
/// [`crate::init`] installs it on NAIS; use it directly with
/// `tracing_subscriber::fmt::layer().event_format(JsonFormat::new())`.
#[derive(Clone, Debug, Default)]
pub struct JsonFormat {
    masker: Masker,
}

impl JsonFormat {
    /// A new formatter, masking as the default [`MaskConfig`] says.
    pub fn new() -> Self {
        Self::default()
    }

    /// Masks identity numbers as `config` says ([`MaskConfig::disabled`]
    /// turns it off).
    #[must_use]
    pub fn with_mask_config(mut self, config: MaskConfig) -> Self {
        self.masker = Masker::new(config);
        self
    }
}

impl JsonFormat {
    /// Writes `event` as one JSON object and a newline to `out`: the fixed keys, then the
    /// event's fields in their order. `span` is the name of the span the event is in.
    ///
    /// The line is written as it is read, without a map of its keys: the fixed keys are
    /// written first, and an event field of the same name as one of them (or as a field
    /// written before it) is left out.
    pub(crate) fn write_line(
        &self,
        out: &mut Vec<u8>,
        event: &Event<'_>,
        span: Option<&str>,
        ids: &LineIds,
    ) -> fmt::Result {
        // A `log` record's event has the target `log`; the record's is in its fields.
        let record = event.normalized_metadata();
        let meta = record.as_ref().unwrap_or_else(|| event.metadata());
        out.extend_from_slice(b"{\"timestamp\":\"");
        timestamp(out, std::time::SystemTime::now())?;
        out.extend_from_slice(b"\",\"level\":\"");
        out.extend_from_slice(meta.level().as_str().as_bytes());
        out.extend_from_slice(b"\",\"target\":");
        string(out, meta.target())?;
        match ids {
            // The current context's, read in place.
            LineIds::Current => opentelemetry::Context::map_current(|cx| write_ids(out, cx)),
            LineIds::Explicit(Some(cx)) => write_ids(out, cx),
            LineIds::Explicit(None) => {}
        }
        if let Some(name) = span {
            out.extend_from_slice(b",\"span\":");
            match self.masker.mask(name) {
                Some(masked) => string(out, &masked)?,
                None => string(out, name)?,
            }
        }
        let mut fields = FieldWriter {
            masker: &self.masker,
            out,
            written: Vec::new(),
            has_message: false,
            error_value: None,
            error: false,
        };
        event.record(&mut fields);
        if fields.error {
            return Err(fmt::Error);
        }
        if !fields.has_message {
            // An event with an error and no message (`#[instrument(err)]`'s): the error's
            // text is the message too, so the line does not show empty.
            fields.out.extend_from_slice(b",\"message\":");
            match fields.error_value {
                Some(value) => fields.out.extend_from_within(value),
                None => fields.out.extend_from_slice(b"\"\""),
            }
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }
}

/// Whose `trace_id` and `span_id` a line carries: the span its event is recorded on.
pub(crate) enum LineIds {
    /// The current context's span, for an event in the current span (the innermost
    /// `tracing` span entered, or a tower layer's request span while a handler runs).
    Current,
    /// The context of the span an event names as its parent (`info!(parent: &span, ..)`),
    /// or none for an event that names none (`parent: None`).
    Explicit(Option<opentelemetry::Context>),
}

impl LineIds {
    /// The ids for `event`, whose parent, when it names one, is `parent`.
    pub(crate) fn of<S>(event: &Event<'_>, parent: Option<&SpanRef<'_, S>>) -> Self
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if event.is_contextual() {
            Self::Current
        } else {
            Self::Explicit(parent.and_then(crate::bridge::context_of))
        }
    }
}

/// `,"trace_id":"…","span_id":"…"` for `cx`'s span, when it has a valid one.
fn write_ids(out: &mut Vec<u8>, cx: &opentelemetry::Context) {
    let span = cx.span();
    let span_context = span.span_context();
    if span_context.is_valid() {
        out.extend_from_slice(b",\"trace_id\":\"");
        hex(out, &span_context.trace_id().to_bytes());
        out.extend_from_slice(b"\",\"span_id\":\"");
        hex(out, &span_context.span_id().to_bytes());
        out.push(b'"');
    }
}

impl<S, N> FormatEvent<S, N> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Vec::with_capacity(256);
        let parent = ctx.parent_span();
        let ids = LineIds::of(event, parent.as_ref());
        self.write_line(
            &mut line,
            event,
            parent.as_ref().map(|span| span.name()),
            &ids,
        )?;
        writer.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)
    }
}

/// `fmt::Write` into a byte buffer.
struct Utf8<'a>(&'a mut Vec<u8>);

impl fmt::Write for Utf8<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// `now` in UTC as RFC 3339 with microseconds, `2026-11-29T21:06:00.123456Z`: what
/// tracing-subscriber's `SystemTime` writes, digit by digit instead of through `fmt` for
/// every part (a third of the line's cost). A clock before 1970 or after 9999 is left to
/// tracing-subscriber.
fn timestamp(out: &mut Vec<u8>, now: std::time::SystemTime) -> fmt::Result {
    let since = now.duration_since(std::time::UNIX_EPOCH).ok();
    let (year, month, day) = since.map_or((0, 0, 0), |since| civil_date(since.as_secs() / 86_400));
    let Some(since) = since.filter(|_| year <= 9999) else {
        return SystemTime.format_time(&mut Writer::new(&mut Utf8(out)));
    };
    let seconds = since.as_secs() % 86_400;
    for (value, width, after) in [
        (year, 4, b'-'),
        (month, 2, b'-'),
        (day, 2, b'T'),
        (seconds / 3600, 2, b':'),
        (seconds / 60 % 60, 2, b':'),
        (seconds % 60, 2, b'.'),
        (u64::from(since.subsec_micros()), 6, b'Z'),
    ] {
        digits(out, value, width);
        out.push(after);
    }
    Ok(())
}

/// The year, month and day of `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_date(days: u64) -> (u64, u64, u64) {
    // Days since 0000-03-01, in 400-year eras of 146 097 days.
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March.
    let month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month + 2) / 5 + 1;
    let month = if month < 10 { month + 3 } else { month - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// `value` in decimal, zero-padded to `width` digits (2, 4 or 6), two digits at a time;
/// a `value` of more digits keeps only its last `width`.
fn digits(out: &mut Vec<u8>, value: u64, width: usize) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut buf = [0u8; 6];
    let width = width.min(buf.len());
    let mut value = value;
    let mut at = width;
    while at >= 2 {
        let pair = (value % 100) as usize * 2;
        buf[at - 2..at].copy_from_slice(&PAIRS[pair..pair + 2]);
        value /= 100;
        at -= 2;
    }
    out.extend_from_slice(&buf[..width]);
}

/// `bytes` (an id: at most 16) in lowercase hexadecimal, as a `TraceId`'s or `SpanId`'s
/// `Display` writes them: made on the stack and appended at once (a `push` a digit costs
/// about four times as much).
fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 32];
    let mut len = 0;
    for (pair, byte) in text.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
        len += 2;
    }
    out.extend_from_slice(&text[..len]);
}

/// Writes `text` as a JSON string, escaped as serde_json escapes it: a text without a
/// control character, quote or backslash (most keys, targets and messages) as it is,
/// any other through serde_json.
fn string(out: &mut Vec<u8>, text: &str) -> fmt::Result {
    if !needs_escape(text.as_bytes()) {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
        return Ok(());
    }
    serde_json::to_writer(&mut *out, text).map_err(|_| fmt::Error)
}

/// Whether `bytes` hold a control character, a quote or a backslash: eight bytes at a
/// time (the zero-byte test of "Bit Twiddling Hacks"), the rest one by one.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS != 0;
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // A byte below 0x20 has none of the bits from 0x20 up.
        if has_zero(word & (0xe0 * ONES))
            || has_zero(word ^ (u64::from(b'"') * ONES))
            || has_zero(word ^ (u64::from(b'\\') * ONES))
        {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&byte| byte < 0x20 || byte == b'"' || byte == b'\\')
}

/// The keys every line has; an event field of the same name is left out.
const FIXED_KEYS: [&str; 6] = [
    "timestamp",
    "level",
    "target",
    "trace_id",
    "span_id",
    "span",
];

thread_local! {
    /// Where `Debug` values are formatted before they are masked and written.
    static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// The most a thread's scratch text keeps between lines.
const SCRATCH_KEPT: usize = 4096;

/// Writes an event's fields into the line as it visits them, masked.
struct FieldWriter<'a> {
    masker: &'a Masker,
    out: &'a mut Vec<u8>,
    /// The keys written so far, beyond the fixed ones.
    written: Vec<&'static str>,
    has_message: bool,
    /// Where the value of a field named `error` is in the line, as written (masked).
    error_value: Option<std::ops::Range<usize>>,
    error: bool,
}

impl FieldWriter<'_> {
    /// Writes `,"key":` for `field` and returns `true`, or `false` for a field left out:
    /// one of the fixed keys, one already written, or `log` crate noise.
    fn key(&mut self, field: &Field) -> bool {
        let name = match field.name() {
            "backtrace" | "stack_trace" => "stack_trace",
            // `log` records bridged into tracing carry these; they are noise here.
            "log.target" | "log.module_path" | "log.file" | "log.line" => return false,
            other => other,
        };
        if name == "message" {
            if self.has_message {
                return false;
            }
            self.has_message = true;
        } else if FIXED_KEYS.contains(&name) || self.written.contains(&name) {
            return false;
        } else {
            self.written.push(name);
        }
        self.out.push(b',');
        if string(self.out, name).is_err() {
            self.error = true;
        }
        self.out.push(b':');
        true
    }

    /// Writes a text value, masked unless its field is exempt.
    fn text(&mut self, field: &Field, text: &str) {
        if !self.key(field) {
            return;
        }
        // URL secrets go whatever the settings; `mask` redacts them too.
        let masked = match self.masker.masks_key(field.name()) {
            true => self.masker.mask(text),
            false => redact_urls_in(text),
        };
        let start = self.out.len();
        if string(self.out, masked.as_deref().unwrap_or(text)).is_err() {
            self.error = true;
        }
        if field.name() == "error" {
            self.error_value = Some(start..self.out.len());
        }
    }

    /// Writes the replacement for a masked number.
    fn replacement(&mut self, field: &Field) {
        let replacement = &self.masker.config().replacement;
        if self.key(field) && string(self.out, replacement).is_err() {
            self.error = true;
        }
    }

    /// Writes the text of a field recorded through `Debug` or `Display`: masked as an
    /// integer when it is a whole number (`?n`, `%n`, `i128`), else as text.
    fn debug_text(&mut self, field: &Field, text: &str) {
        if self.masker.masks_key(field.name()) && self.masker.masks_integer_text(text) {
            self.replacement(field);
        } else {
            self.text(field, text);
        }
    }

    /// Writes a finite floating-point number: its `Display` text is its JSON.
    fn value(&mut self, field: &Field, value: impl fmt::Display) {
        use fmt::Write as _;
        if self.key(field) && write!(Utf8(self.out), "{value}").is_err() {
            self.error = true;
        }
    }

    /// Writes an integer, in decimal.
    fn integer(&mut self, field: &Field, value: impl itoa::Integer) {
        if self.key(field) {
            self.out
                .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        }
    }
}

impl tracing::field::Visit for FieldWriter<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let masker = self.masker;
        if masker.masks_key(field.name()) && masker.masks_float(value) {
            self.replacement(field);
            return;
        }
        match serde_json::Number::from_f64(value) {
            Some(number) => self.value(field, number),
            None => self.text(field, &value.to_string()),
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        let masker = self.masker;
        if masker.masks_key(field.name()) && masker.masks_integer(value) {
            self.replacement(field);
        } else {
            self.integer(field, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(value) => self.record_i64(field, value),
            Err(_) => self.integer(field, value),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.key(field) {
            self.out
                .extend_from_slice(if value { b"true" } else { b"false" });
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.text(field, &crate::lossy::error_chain(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        use fmt::Write as _;
        // Formatted into this thread's scratch text, not a new `String` each time; a
        // `Debug` that itself logs finds it taken and gets one of its own.
        let _ = SCRATCH.try_with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut text) => {
                text.clear();
                // A `Debug` that fails leaves what it wrote: the line is kept.
                let _ = write!(text, "{value:?}");
                self.debug_text(field, &text);
                if text.capacity() > SCRATCH_KEPT {
                    *text = String::new();
                }
            }
            Err(_) => self.debug_text(field, &crate::lossy::debug(value)),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    /// Texts made of pieces that need escaping and pieces that do not, escaped as
    /// serde_json escapes them.
    #[test]
    fn strings_as_serde_json_writes_them() {
        const PIECES: &[&str] = &[
            "",
            "a",
            "dog",
            " ",
            "\"",
            "\\",
            "/",
            "\n",
            "\t",
            "\u{0}",
            "\u{1f}",
            "\u{7f}",
            "æøå",
            "🐕",
            "fnr=12345678901",
            "0123456789abcdef",
            "\u{2028}",
            "'",
        ];
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..5000 {
            let text: String = (0..rng.usize(0..6))
                .map(|_| PIECES[rng.usize(..PIECES.len())])
                .collect();
            let mut out = Vec::new();
            string(&mut out, &text).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&text).unwrap(),
                "{text:?}"
            );
        }
    }

    /// Integers and booleans as their `Display` writes them.
    #[test]
    fn integers_and_booleans_as_display_writes_them() {
        struct Callsite;
        impl tracing::callsite::Callsite for Callsite {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &tracing::Metadata<'_> {
                unreachable!("only the field names are read")
            }
        }
        static CALLSITE: Callsite = Callsite;
        let fields = tracing::field::FieldSet::new(
            &["n", "flag", "u"],
            tracing::callsite::Identifier(&CALLSITE),
        );
        let names: Vec<Field> = fields.iter().collect();
        let masker = Masker::new(MaskConfig::disabled());
        let mut rng = fastrand::Rng::with_seed(12);
        let mut values: Vec<i64> = vec![0, -1, 1, i64::MIN, i64::MAX, 9, 10, 99, 100];
        values.extend((0..2000).map(|_| rng.i64(..) >> rng.u32(0..63)));
        for value in values {
            let mut out = Vec::new();
            let mut fields = FieldWriter {
                masker: &masker,
                out: &mut out,
                written: Vec::new(),
                has_message: false,
                error_value: None,
                error: false,
            };
            tracing::field::Visit::record_i64(&mut fields, &names[0], value);
            tracing::field::Visit::record_bool(&mut fields, &names[1], value % 2 == 0);
            tracing::field::Visit::record_u64(&mut fields, &names[2], value as u64);
            let expected = format!(
                ",\"n\":{value},\"flag\":{},\"u\":{}",
                value % 2 == 0,
                value as u64
            );
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }

    fn ours(time: std::time::SystemTime) -> String {
        let mut out = Vec::new();
        timestamp(&mut out, time).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Dates against httpdate's (an independent implementation), for days from 1970 to
    /// 9999 (leap days and year ends included) and times of day across them.
    #[test]
    fn dates_and_times_as_httpdate_reads_them() {
        let mut seconds: u64 = 0;
        let last = 253_402_300_799; // 9999-12-31T23:59:59Z
        let mut step: u64 = 1;
        let mut checked = 0;
        while seconds <= last {
            let time = UNIX_EPOCH + Duration::from_secs(seconds);
            let text = ours(time);
            // "Sun, 06 Nov 1994 08:49:37 GMT"
            let http = httpdate::fmt_http_date(time);
            let parts: Vec<&str> = http.split([' ', ':']).collect();
            let month = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ]
            .iter()
            .position(|name| *name == parts[2])
            .unwrap()
                + 1;
            let expected = format!(
                "{}-{month:02}-{}T{}:{}:{}.000000Z",
                parts[3], parts[1], parts[4], parts[5], parts[6]
            );
            assert_eq!(text, expected, "{seconds} s");
            checked += 1;
            // Growing steps with an odd stride through the
            // calendar (days, months, leap years, centuries).
            seconds += step;
            step = (step * 3 / 2 + 86_399).min(9_999_991);
        }
        assert!(checked > 20_000, "{checked} timestamps checked");
    }

    #[test]
    fn microseconds_and_the_current_time_as_tracing_subscriber_writes_them() {
        let time = UNIX_EPOCH + Duration::new(1_795_982_926, 770_123_999);
        assert_eq!(ours(time), "2026-11-29T20:08:46.770123Z");
        // tracing-subscriber formats its own `now`: retried when a second passes between.
        for _ in 0..10 {
            let before = std::time::SystemTime::now();
            let mut theirs = String::new();
            SystemTime
                .format_time(&mut Writer::new(&mut theirs))
                .unwrap();
            let ours = ours(before);
            if ours[..19] == theirs[..19] {
                assert_eq!(ours.len(), theirs.len());
                assert!(theirs.ends_with('Z'));
                return;
            }
        }
        panic!("a second passed in every one of ten tries");
    }

    #[test]
    fn ids_as_their_display_writes_them() {
        use opentelemetry::trace::{SpanId, TraceId};
        let mut value: u128 = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210;
        for _ in 0..200 {
            let (trace_id, span_id) = (TraceId::from(value), SpanId::from(value as u64));
            let mut out = Vec::new();
            hex(&mut out, &trace_id.to_bytes());
            hex(&mut out, &span_id.to_bytes());
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("{trace_id}{span_id}")
            );
            value = value.rotate_left(7) ^ (value >> 3) ^ 0x9e37_79b9;
        }
    }
}
