//! The `traceparent` parser: the version, length and delimiter rules, and the hex fields.

use opentelemetry::trace::{SpanId, TraceFlags, TraceId};

use super::{
    error::{ParseTraceParentError, TraceParentErrorKind},
    TraceParent,
};

/// Length of a version `00` `traceparent` value, and the minimum length of any version.
const VERSION_00_LEN: usize = 55;

pub(super) fn parse(b: &[u8]) -> Result<TraceParent, ParseTraceParentError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
