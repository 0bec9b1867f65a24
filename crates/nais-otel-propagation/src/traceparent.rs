//! The `traceparent` header: a strict parser and formatter.
//!
//! See the [crate docs](crate) for the rules this parser follows.

use std::fmt;
use std::str::FromStr;

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

/// Length of a version `00` `traceparent` value, and the minimum length of any version.
const VERSION_00_LEN: usize = 55;

/// A parsed and validated `traceparent` header value.
///
/// A `TraceParent` always has a non-zero trace-id and parent-id, and its flags
/// hold only the flags W3C Trace Context Level 2 defines (`sampled` and `random`).
/// It is always formatted as version `00`, the highest version this crate knows,
/// as [§ Versioning of traceparent] requires.
///
/// # Examples
///
/// ```
/// use nais_otel_propagation::TraceParent;
///
/// let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03".parse()?;
/// assert!(tp.is_sampled());
/// assert!(tp.is_random());
/// assert_eq!(tp.to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
/// # Ok::<(), nais_otel_propagation::ParseTraceParentError>(())
/// ```
///
/// [§ Versioning of traceparent]: https://www.w3.org/TR/trace-context-2/#versioning-of-traceparent
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    version: u8,
    trace_id: TraceId,
    parent_id: SpanId,
    flags: TraceFlags,
}

impl TraceParent {
    /// The `traceparent` version this crate writes.
    pub const SUPPORTED_VERSION: u8 = 0x00;

    /// The `sampled` flag (`0x01`).
    pub const FLAG_SAMPLED: TraceFlags = TraceFlags::new(0x01);

    /// The `random` flag (`0x02`), new in Trace Context Level 2: the right-most
    /// 7 bytes of the trace-id are random.
    pub const FLAG_RANDOM: TraceFlags = TraceFlags::new(0x02);

    /// Every flag Trace Context Level 2 defines. Other bits are reserved and are
    /// set to zero when parsing and formatting (§ Other Flags).
    pub const KNOWN_FLAGS: TraceFlags = TraceFlags::new(0x03);

    /// Creates a version `00` `TraceParent`.
    ///
    /// Returns `None` when the trace-id or parent-id is all zeroes. Reserved flag
    /// bits are cleared.
    pub fn new(trace_id: TraceId, parent_id: SpanId, flags: TraceFlags) -> Option<Self> {
        if trace_id == TraceId::INVALID || parent_id == SpanId::INVALID {
            return None;
        }
        Some(Self {
            version: Self::SUPPORTED_VERSION,
            trace_id,
            parent_id,
            flags: flags & Self::KNOWN_FLAGS,
        })
    }

    /// Creates a `TraceParent` from the ids and flags of a span context.
    ///
    /// Returns `None` when the span context is not valid.
    pub fn from_span_context(span_context: &SpanContext) -> Option<Self> {
        Self::new(
            span_context.trace_id(),
            span_context.span_id(),
            span_context.trace_flags(),
        )
    }

    /// Parses a `traceparent` value from bytes, without a UTF-8 check.
    ///
    /// This is the same strict parser as [`FromStr`]; it does not trim optional
    /// whitespace. It runs in constant time for version `00` and in linear time in
    /// the length of the input otherwise, and never allocates.
    ///
    /// # Errors
    ///
    /// Returns an error when the value does not follow W3C Trace Context Level 2.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ParseTraceParentError> {
        parse(bytes)
    }

    /// The version of the header this was parsed from (`00` when created with [`TraceParent::new`]).
    ///
    /// [`Display`](fmt::Display) always writes version `00`.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The trace-id.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The parent-id: the span id of the caller.
    pub fn parent_id(&self) -> SpanId {
        self.parent_id
    }

    /// The trace flags, limited to [`TraceParent::KNOWN_FLAGS`].
    pub fn flags(&self) -> TraceFlags {
        self.flags
    }

    /// Whether the `sampled` flag is set.
    pub fn is_sampled(&self) -> bool {
        self.flags & Self::FLAG_SAMPLED == Self::FLAG_SAMPLED
    }

    /// Whether the `random` flag is set.
    pub fn is_random(&self) -> bool {
        self.flags & Self::FLAG_RANDOM == Self::FLAG_RANDOM
    }

    /// Builds a remote [`SpanContext`] with these ids and flags and the given trace state.
    pub fn to_remote_span_context(&self, trace_state: TraceState) -> SpanContext {
        SpanContext::new(self.trace_id, self.parent_id, self.flags, true, trace_state)
    }
}

/// The W3C trace flags of a span started under `parent`, given the flags its tracer gave
/// it (`started`).
///
/// - `sampled` is the tracer's: what the sampler decided.
/// - `random` is the parent's when `parent` is valid (the trace-id is the parent's), and set
///   when there is no valid parent: the span starts a trace, and trace-ids from the SDK's
///   default id generator (the one `nais_otel::init()` installs) are random (§ Random
///   Trace ID Flag).
///
/// opentelemetry_sdk 0.33 gives a span the sampler drops no flags at all, and never sets
/// `random`; spans that tracers built on it start carry these flags in their span
/// context instead (the tower layers do so).
///
/// ```
/// use nais_otel_propagation::{span_flags, TraceParent};
/// use opentelemetry::trace::{SpanContext, TraceFlags};
///
/// let parent: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02".parse()?;
/// let parent = parent.to_remote_span_context(Default::default());
/// // The sampler dropped the span: not sampled, still random.
/// assert_eq!(span_flags(&parent, TraceFlags::default()), TraceFlags::new(0x02));
/// // A new trace, sampled.
/// assert_eq!(span_flags(&SpanContext::empty_context(), TraceFlags::SAMPLED), TraceFlags::new(0x03));
/// # Ok::<(), nais_otel_propagation::ParseTraceParentError>(())
/// ```
pub fn span_flags(parent: &SpanContext, started: TraceFlags) -> TraceFlags {
    let random = if parent.is_valid() {
        parent.trace_flags() & TraceParent::FLAG_RANDOM
    } else {
        TraceParent::FLAG_RANDOM
    };
    (started & TraceParent::FLAG_SAMPLED) | random
}

impl FromStr for TraceParent {
    type Err = ParseTraceParentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s.as_bytes())
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}-{:032x}-{:016x}-{:02x}",
            Self::SUPPORTED_VERSION,
            self.trace_id,
            self.parent_id,
            (self.flags & Self::KNOWN_FLAGS).to_u8()
        )
    }
}

// === parser ===

fn parse(b: &[u8]) -> Result<TraceParent, ParseTraceParentError> {
    use TraceParentErrorKind as Kind;

    // "When the version prefix cannot be parsed (it's not 2 hex characters followed
    // by a dash (-)), the implementation should restart the trace."
    let version = match (b.first(), b.get(1), b.get(2)) {
        (Some(&hi), Some(&lo), Some(b'-')) => hex_u8(hi, lo).ok_or(Kind::Version)?,
        _ => return Err(Kind::Version.into()),
    };
    if version == 0xff {
        return Err(Kind::ForbiddenVersion.into());
    }
    // Version 00 has an exact length; higher versions must be at least as long and
    // may only continue after a dash.
    if b.len() < VERSION_00_LEN || (version == 0x00 && b.len() != VERSION_00_LEN) {
        return Err(Kind::Length.into());
    }
    if b.get(VERSION_00_LEN).is_some_and(|&c| c != b'-') {
        return Err(Kind::Length.into());
    }
    if b.get(35) != Some(&b'-') || b.get(52) != Some(&b'-') {
        return Err(Kind::Delimiter.into());
    }
    let trace_id = b.get(3..35).and_then(hex_u128).ok_or(Kind::TraceId)?;
    let parent_id = b.get(36..52).and_then(hex_u64).ok_or(Kind::ParentId)?;
    let flags = match (b.get(53), b.get(54)) {
        (Some(&hi), Some(&lo)) => hex_u8(hi, lo).ok_or(Kind::Flags)?,
        _ => return Err(Kind::Flags.into()),
    };
    if trace_id == 0 {
        return Err(Kind::ZeroTraceId.into());
    }
    if parent_id == 0 {
        return Err(Kind::ZeroParentId.into());
    }
    Ok(TraceParent {
        version,
        trace_id: TraceId::from(trace_id),
        parent_id: SpanId::from(parent_id),
        flags: TraceFlags::new(flags) & TraceParent::KNOWN_FLAGS,
    })
}

/// One lowercase hex digit (`HEXDIGLC`).
fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn hex_u8(hi: u8, lo: u8) -> Option<u8> {
    Some(hex_digit(hi)? << 4 | hex_digit(lo)?)
}

fn hex_u128(digits: &[u8]) -> Option<u128> {
    let (hi, lo) = digits.split_at_checked(16)?;
    Some(u128::from(hex_u64(hi)?) << 64 | u128::from(hex_u64(lo)?))
}

fn hex_u64(digits: &[u8]) -> Option<u64> {
    let (hi, lo) = digits.split_first_chunk::<8>()?;
    let lo: &[u8; 8] = lo.try_into().ok()?;
    Some(u64::from(hex_u32(*hi)?) << 32 | u64::from(hex_u32(*lo)?))
}

/// Eight lowercase hex digits as a `u32`, all eight checked and converted at once in one
/// `u64` (SWAR), for fewer instructions than a digit at a time. Why not a crate: `hex` and
/// `faster-hex` accept uppercase digits, which Trace Context forbids. Measured by the
/// instruction profile of `cargo bench --bench http_layer_profile`, variant `ours` with
/// `HTTP_LAYER_HEADERS=1` (each request carries a `traceparent`).
fn hex_u32(digits: [u8; 8]) -> Option<u32> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The first digit in the most significant byte.
    let x = u64::from_be_bytes(digits);
    if x & HIGH != 0 {
        return None;
    }
    // With every byte below 0x80, adding `0x80 - lo` sets a byte's high bit exactly when
    // it is at least `lo`, and adding `0x7f - hi` exactly when it is above `hi`; no byte
    // carries into the next.
    let in_range = |lo: u64, hi: u64| (x + (0x80 - lo) * ONES) & !(x + (0x7f - hi) * ONES) & HIGH;
    let digit = in_range(u64::from(b'0'), u64::from(b'9'));
    let letter = in_range(u64::from(b'a'), u64::from(b'f'));
    if digit | letter != HIGH {
        return None;
    }
    // '0'..='9' are 0x30..=0x39 and 'a'..='f' are 0x61..=0x66: the low nibble, plus 9 for
    // a letter.
    let mut v = (x & 0x0f0f_0f0f_0f0f_0f0f) + (letter >> 7) * 9;
    // Pack the eight nibbles: pairs into bytes, bytes into 16-bit halves, halves into 32.
    v = (v | v >> 4) & 0x00ff_00ff_00ff_00ff;
    v = (v | v >> 8) & 0x0000_ffff_0000_ffff;
    v = (v | v >> 16) & 0x0000_0000_ffff_ffff;
    u32::try_from(v).ok()
}

// === errors ===

/// The error returned when a `traceparent` value is invalid.
///
/// See [`ParseTraceParentError::kind`] for the rule that was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseTraceParentError {
    kind: TraceParentErrorKind,
}

impl ParseTraceParentError {
    /// The rule the value broke.
    pub fn kind(&self) -> TraceParentErrorKind {
        self.kind
    }
}

impl From<TraceParentErrorKind> for ParseTraceParentError {
    fn from(kind: TraceParentErrorKind) -> Self {
        Self { kind }
    }
}

impl fmt::Display for ParseTraceParentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = match self.kind {
            TraceParentErrorKind::Version => "version is not 2 lowercase hex digits and a dash",
            TraceParentErrorKind::ForbiddenVersion => "version ff is forbidden",
            TraceParentErrorKind::Length => "wrong length for its version",
            TraceParentErrorKind::Delimiter => "fields are not separated by dashes",
            TraceParentErrorKind::TraceId => "trace-id is not 32 lowercase hex digits",
            TraceParentErrorKind::ParentId => "parent-id is not 16 lowercase hex digits",
            TraceParentErrorKind::Flags => "trace-flags is not 2 lowercase hex digits",
            TraceParentErrorKind::ZeroTraceId => "trace-id is all zeroes",
            TraceParentErrorKind::ZeroParentId => "parent-id is all zeroes",
        };
        write!(f, "invalid traceparent: {reason}")
    }
}

impl std::error::Error for ParseTraceParentError {}

/// The rule a `traceparent` value broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceParentErrorKind {
    /// The version is not two lowercase hex digits followed by `-`.
    Version,
    /// The version is `ff`.
    ForbiddenVersion,
    /// Version `00` is not exactly 55 characters, a higher version is shorter than
    /// 55 characters, or its flags are followed by something other than `-`.
    Length,
    /// A `-` is missing between trace-id, parent-id and flags.
    Delimiter,
    /// The trace-id is not 32 lowercase hex digits.
    TraceId,
    /// The parent-id is not 16 lowercase hex digits.
    ParentId,
    /// The trace-flags are not 2 lowercase hex digits.
    Flags,
    /// The trace-id is all zeroes.
    ZeroTraceId,
    /// The parent-id is all zeroes.
    ZeroParentId,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /// The digit-at-a-time decoding `hex_u32` replaces.
    fn hex_u32_reference(digits: [u8; 8]) -> Option<u32> {
        digits
            .iter()
            .try_fold(0u32, |acc, &c| Some(acc << 4 | u32::from(hex_digit(c)?)))
    }

    #[test]
    fn hex_u32_agrees_with_one_digit_at_a_time_for_every_byte_in_every_position() {
        let base = *b"0f9a3c7e";
        for position in 0..8 {
            for byte in 0..=u8::MAX {
                let mut digits = base;
                digits[position] = byte;
                assert_eq!(
                    hex_u32(digits),
                    hex_u32_reference(digits),
                    "{byte:#04x} at {position}"
                );
            }
        }
        // Every digit value in every position, and the extremes.
        for digits in [
            *b"01234567",
            *b"89abcdef",
            *b"fedcba98",
            *b"00000000",
            *b"ffffffff",
        ] {
            assert_eq!(hex_u32(digits), hex_u32_reference(digits));
        }
        assert_eq!(hex_u32(*b"ffffffff"), Some(u32::MAX));
        assert_eq!(
            hex_u32(*b"0000000A"),
            None,
            "uppercase is not Trace Context hex"
        );
        assert_eq!(
            hex_u128(b"4bf92f3577b34da6a3ce929d0e0e4736"),
            Some(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736)
        );
        assert_eq!(hex_u64(b"00f067aa0ba902b7"), Some(0x00f0_67aa_0ba9_02b7));
        assert_eq!(hex_u64(b"00f067aa0ba902b"), None, "too short");
    }

    #[test]
    #[rustfmt::skip]
    fn valid() {
        // (value, version, flags, reason)
        let cases: &[(&str, u8, u8, &str)] = &[
            (TP,                                                                         0x00, 0x01, "version 00, sampled"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",                  0x00, 0x00, "not sampled"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02",                  0x00, 0x02, "random flag kept (the SDK drops it)"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",                  0x00, 0x03, "sampled and random kept"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff",                  0x00, 0x03, "reserved flag bits set to zero"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09",                  0x00, 0x01, "reserved bit 0x08 cleared"),
            ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",                  0xcc, 0x01, "higher version, exactly 55 chars"),
            ("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future", 0xcc, 0x01, "higher version with a dash-led tail"),
            ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-",                0x01, 0x03, "higher version, empty tail after dash"),
            ("fe-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe",                  0xfe, 0x02, "highest allowed version, reserved bits cleared"),
        ];
        for (value, version, flags, reason) in cases {
            let tp: TraceParent = value.parse().unwrap_or_else(|e| panic!("{reason}: {value:?}: {e}"));
            assert_eq!(tp.version(), *version, "{reason}");
            assert_eq!(tp.flags().to_u8(), *flags, "{reason}");
            assert_eq!(format!("{:032x}", tp.trace_id()), "4bf92f3577b34da6a3ce929d0e0e4736", "{reason}");
            assert_eq!(format!("{:016x}", tp.parent_id()), "00f067aa0ba902b7", "{reason}");
            assert_eq!(TraceParent::from_bytes(value.as_bytes()), Ok(tp), "{reason}: bytes and str agree");
            assert!(tp.to_string().starts_with("00-"), "{reason}: always written as version 00");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn invalid() {
        use TraceParentErrorKind as K;
        let tail_56 = format!("{TP}.");
        let cases: &[(&str, K, &str)] = &[
            ("",                                                              K::Version,          "empty"),
            ("00",                                                            K::Version,          "version only"),
            (".0-12345678901234567890123456789012-1234567890123456-01",       K::Version,          "illegal character in version (suite: version_illegal_characters)"),
            ("0.-12345678901234567890123456789012-1234567890123456-01",       K::Version,          "illegal character in version (suite: version_illegal_characters)"),
            ("000-12345678901234567890123456789012-1234567890123456-01",      K::Version,          "version too long (suite: version_too_long)"),
            ("0000-12345678901234567890123456789012-1234567890123456-01",     K::Version,          "version too long (suite: version_too_long)"),
            ("0-12345678901234567890123456789012-1234567890123456-01",        K::Version,          "version too short (suite: version_too_short)"),
            ("A0-12345678901234567890123456789012-1234567890123456-01",       K::Version,          "uppercase version"),
            ("ff-12345678901234567890123456789012-1234567890123456-01",       K::ForbiddenVersion, "version ff (suite: version_0xff)"),
            (&tail_56,                                                        K::Length,           "version 00 with a trailing character (suite: version_0x00)"),
            ("00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like", K::Length, "version 00 with a tail (suite: version_0x00)"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",      K::Length,           "version 00 with an empty tail (the SDK accepts it)"),
            ("cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like", K::Length, "higher version, tail not led by a dash (suite: version_0xcc)"),
            ("cc-12345678901234567890123456789012-1234567890123456-1",        K::Length,           "higher version shorter than 55"),
            ("00-00000000000000000000000000000000-1234567890123456-01",       K::ZeroTraceId,      "all-zero trace-id (suite: trace_id_all_zero)"),
            ("00-.2345678901234567890123456789012-1234567890123456-01",       K::TraceId,          "illegal character in trace-id (suite: trace_id_illegal_characters)"),
            ("00-1234567890123456789012345678901.-1234567890123456-01",       K::TraceId,          "illegal character in trace-id (suite: trace_id_illegal_characters)"),
            ("00-123456789012345678901234567890123-1234567890123456-01",      K::Length,           "trace-id too long (suite: trace_id_too_long)"),
            ("00-1234567890123456789012345678901-1234567890123456-01",        K::Length,           "trace-id too short (suite: trace_id_too_short)"),
            ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",       K::TraceId,          "uppercase trace-id"),
            ("00-12345678901234567890123456789012-0000000000000000-01",       K::ZeroParentId,     "all-zero parent-id (suite: parent_id_all_zero)"),
            ("00-12345678901234567890123456789012-.234567890123456-01",       K::ParentId,         "illegal character in parent-id (suite: parent_id_illegal_characters)"),
            ("00-12345678901234567890123456789012-123456789012345.-01",       K::ParentId,         "illegal character in parent-id (suite: parent_id_illegal_characters)"),
            ("00-12345678901234567890123456789012-12345678901234567-01",      K::Length,           "parent-id too long (suite: parent_id_too_long)"),
            ("00-12345678901234567890123456789012-123456789012345-01",        K::Length,           "parent-id too short (suite: parent_id_too_short)"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",       K::ParentId,         "uppercase parent-id"),
            ("00-12345678901234567890123456789012-1234567890123456-.0",       K::Flags,            "illegal character in flags (suite: trace_flags_illegal_characters)"),
            ("00-12345678901234567890123456789012-1234567890123456-0.",       K::Flags,            "illegal character in flags (suite: trace_flags_illegal_characters)"),
            ("00-12345678901234567890123456789012-1234567890123456-001",      K::Length,           "flags too long (suite: trace_flags_too_long)"),
            ("00-12345678901234567890123456789012-1234567890123456-1",        K::Length,           "flags too short (suite: trace_flags_too_short)"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",       K::Flags,            "uppercase flags"),
            ("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",       K::Version,          "wrong first delimiter"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",       K::Delimiter,        "wrong second delimiter"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",       K::Delimiter,        "wrong third delimiter"),
            (" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",      K::Version,          "the parser itself does not trim OWS (the propagator does)"),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\u{e9}", K::Length,           "non-ASCII tail"),
        ];
        for (value, kind, reason) in cases {
            let err = value.parse::<TraceParent>().expect_err(reason);
            assert_eq!(err.kind(), *kind, "{reason}: {value:?}");
            assert!(err.to_string().starts_with("invalid traceparent: "));
        }
    }

    #[test]
    fn new_rejects_invalid_ids_and_clears_reserved_flags() {
        let (trace_id, span_id) = (TraceId::from(1u128), SpanId::from(2u64));
        assert!(TraceParent::new(TraceId::INVALID, span_id, TraceFlags::SAMPLED).is_none());
        assert!(TraceParent::new(trace_id, SpanId::INVALID, TraceFlags::SAMPLED).is_none());
        let tp = TraceParent::new(trace_id, span_id, TraceFlags::new(0xff)).expect("valid ids");
        assert_eq!(tp.flags().to_u8(), 0x03);
        assert_eq!(
            tp.to_string(),
            "00-00000000000000000000000000000001-0000000000000002-03"
        );
    }

    #[test]
    fn span_context_conversion_keeps_flags_and_state() {
        let tp: TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02"
            .parse()
            .expect("valid");
        let state = TraceState::from_key_value([("a", "1")]).expect("valid state");
        let span_context = tp.to_remote_span_context(state.clone());
        assert!(span_context.is_remote());
        assert!(!span_context.is_sampled());
        assert_eq!(span_context.trace_flags().to_u8(), 0x02);
        assert_eq!(span_context.trace_state(), &state);
        assert_eq!(TraceParent::from_span_context(&span_context), Some(tp));
        assert_eq!(TraceParent::from_span_context(&SpanContext::NONE), None);
    }
}
