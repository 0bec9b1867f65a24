//! Readable text log lines, masked: the fields as they are formatted, and the
//! whole line as it is written.

use std::{fmt, io};

use tracing::field::Field;
use tracing_subscriber::fmt::format::Writer;

use crate::privacy::{MaskConfig, Masker};

/// A field formatter for the text log format: `tracing-subscriber`'s
/// default one, but a whole number that reads as an identity number (see
/// [`crate::privacy`]) is written as the replacement. [`crate::init`] uses it
/// with [`MaskingWriter`], which masks the text of the line; in text, an
/// integer cannot be told from a string any more.
///
/// ```
/// use nais_otel::{privacy::MaskConfig, MaskingFields, MaskingWriter};
/// let subscriber = tracing_subscriber::fmt()
///     .fmt_fields(MaskingFields::new(MaskConfig::new()))
///     .with_writer(MaskingWriter::new(std::io::stdout, MaskConfig::new()))
///     .finish();
/// # drop(subscriber);
/// ```
#[derive(Clone, Debug)]
pub struct MaskingFields {
    masker: std::sync::Arc<Masker>,
}

impl MaskingFields {
    /// Masks whole numbers as `config` says.
    pub fn new(config: MaskConfig) -> Self {
        Self {
            masker: std::sync::Arc::new(Masker::new(config)),
        }
    }
}

impl<'a> tracing_subscriber::field::MakeVisitor<Writer<'a>> for MaskingFields {
    type Visitor = MaskingFieldsVisitor<'a>;

    fn make_visitor(&self, target: Writer<'a>) -> Self::Visitor {
        MaskingFieldsVisitor {
            inner: tracing_subscriber::fmt::format::DefaultVisitor::new(target, true),
            // A reference count, not a copy: no allocation a line.
            masker: self.masker.clone(),
        }
    }
}

/// The visitor of [`MaskingFields`] for one set of fields.
#[derive(Debug)]
pub struct MaskingFieldsVisitor<'a> {
    inner: tracing_subscriber::fmt::format::DefaultVisitor<'a>,
    masker: std::sync::Arc<Masker>,
}

impl tracing::field::Visit for MaskingFieldsVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.masker.masks_key(field.name()) && self.masker.masks_float(value) {
            self.replacement(field);
        } else {
            self.inner.record_f64(field, value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.masker.masks_key(field.name()) && self.masker.masks_integer(value) {
            self.replacement(field);
        } else {
            self.inner.record_i64(field, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(value) => self.record_i64(field, value),
            Err(_) => self.inner.record_u64(field, value),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.inner.record_bool(field, value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.inner.record_str(field, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // Its text and its sources' as one value, written here: an error whose `Display`
        // fails would cost the line.
        let text = crate::lossy::error_chain(value);
        self.inner.record_debug(field, &format_args!("{text}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // A whole number recorded through `Debug` or `Display` (`?n`, `%n`, `i128`) is
        // masked as an integer; other text is masked by `MaskingWriter`. The text is
        // read into a buffer on the stack, which a longer text (no integer) overflows.
        if self.masker.masks_key(field.name()) {
            use fmt::Write as _;
            let mut short = Short::default();
            if write!(short, "{value:?}").is_ok() {
                // Written from the buffer: the value is formatted once.
                if self.masker.masks_integer_text(short.text()) {
                    self.replacement(field);
                } else {
                    self.inner
                        .record_debug(field, &format_args!("{}", short.text()));
                }
                return;
            }
        }
        // A value whose `Debug` fails keeps what it wrote: tracing-subscriber would drop
        // the line, or for a span's field panic as it reports the failure.
        self.inner.record_debug(field, &crate::lossy::Lossy(value));
    }
}

/// Up to the longest text of an `i64` (20 bytes), on the stack; a longer text fails.
#[derive(Default)]
struct Short {
    bytes: [u8; 20],
    len: usize,
}

impl Short {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for Short {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let end = self.len + text.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl MaskingFieldsVisitor<'_> {
    /// Writes the replacement for a masked number.
    fn replacement(&mut self, field: &Field) {
        use tracing::field::Visit as _;
        let replacement = self.masker.config().replacement.as_str();
        self.inner
            .record_debug(field, &format_args!("{replacement}"));
    }
}

impl tracing_subscriber::field::VisitOutput<fmt::Result> for MaskingFieldsVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.inner.finish()
    }
}

impl tracing_subscriber::field::VisitFmt for MaskingFieldsVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        self.inner.writer()
    }
}

/// A [`MakeWriter`] that masks national identity numbers in what is written
/// through it: the whole line, message, fields and span fields, before it
/// reaches `W`. [`crate::init`] puts it in front of the text log output.
///
/// The formatting layers of `tracing-subscriber` write one whole line at a
/// time, so a number is never split across two writes. A line with no number
/// goes to `W` as it is, with no allocation; a line with one is masked into a
/// new buffer and written with one call. Field exemptions do not apply here:
/// the writer sees a line, not fields. Use [`JsonFormat`](super::JsonFormat) for lines whose
/// trace and span ids must stay exact (a hexadecimal id can hold eleven
/// decimal digits in a row).
///
/// ```
/// use nais_otel::{privacy::MaskConfig, MaskingWriter};
/// let subscriber = tracing_subscriber::fmt()
///     .with_writer(MaskingWriter::new(std::io::stdout, MaskConfig::new()))
///     .finish();
/// # drop(subscriber);
/// ```
///
/// [`MakeWriter`]: tracing_subscriber::fmt::MakeWriter
#[derive(Clone, Debug)]
pub struct MaskingWriter<W> {
    inner: W,
    masker: Masker,
}

impl<W> MaskingWriter<W> {
    /// Masks what goes to `inner` as `config` says.
    pub fn new(inner: W, config: MaskConfig) -> Self {
        Self {
            inner,
            masker: Masker::new(config),
        }
    }

    /// The writer it masks for.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The writer it masks for, unwrapped.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<'a, W> tracing_subscriber::fmt::MakeWriter<'a> for MaskingWriter<W>
where
    W: tracing_subscriber::fmt::MakeWriter<'a>,
{
    type Writer = MaskingIo<'a, W::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        MaskingIo {
            inner: self.inner.make_writer(),
            masker: &self.masker,
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        MaskingIo {
            inner: self.inner.make_writer_for(meta),
            masker: &self.masker,
        }
    }
}

/// The writer [`MaskingWriter`] makes for one line.
#[derive(Debug)]
pub struct MaskingIo<'a, W> {
    inner: W,
    masker: &'a Masker,
}

impl<W: io::Write> io::Write for MaskingIo<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.masker.mask_bytes(buf) {
            None => self.inner.write_all(buf)?,
            Some(masked) => self.inner.write_all(&masked)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
