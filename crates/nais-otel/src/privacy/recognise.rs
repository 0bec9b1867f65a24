//! Recognising national identity numbers in text: the scan, and the date and control-digit
//! rules the [module docs](crate::privacy#what-is-recognised) describe.

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

pub(super) fn mask_with(text: &str, replacement: &str, checksum: bool) -> Option<String> {
    mask_bytes_with(text.as_bytes(), replacement.as_bytes(), checksum)
        // Only whole runs of ASCII digits and separators are replaced, so the text stays
        // UTF-8; lossy all the same rather than a path that gives the number back.
        .map(|masked| String::from_utf8_lossy(&masked).into_owned())
}

/// Replaces every identity number in `bytes` with `replacement`, as they are written and
/// as they read with their percent-encoded digits decoded ([`decode_digits`]); `None`
/// when there is none. With encoded digits the result is the decoded text: a number may
/// be found either way (`%301019012345` only decoded, `01019012345%30` only as written).
#[inline]
pub(super) fn mask_bytes_with(bytes: &[u8], replacement: &[u8], checksum: bool) -> Option<Vec<u8>> {
    // One scan, which also notes an encoded digit; most texts have neither.
    let mut encoded = false;
    let first = find_noting(bytes, 0, checksum, &mut encoded);
    if first.is_none() && !encoded {
        return None;
    }
    mask_found(bytes, first, encoded, replacement, checksum)
}

/// [`mask_bytes_with`] once the first scan found a number (`first`) or an encoded digit.
#[cold]
fn mask_found(
    bytes: &[u8],
    first: Option<(usize, usize)>,
    mut encoded: bool,
    replacement: &[u8],
    checksum: bool,
) -> Option<Vec<u8>> {
    let mut found: Vec<_> = first.into_iter().collect();
    while let Some(number) = found
        .last()
        .and_then(|&(_, end)| find_noting(bytes, end, checksum, &mut encoded))
    {
        found.push(number);
    }
    if !encoded {
        return replace(bytes, found.into_iter(), replacement);
    }
    let (decoded, at) = decode_digits(bytes);
    let mut found: Vec<_> = found
        .into_iter()
        .map(|(start, end)| (at[start], at[end]))
        .chain(numbers(&decoded, checksum))
        .collect();
    found.sort_unstable();
    replace(&decoded, found.into_iter(), replacement)
}

/// The byte ranges of the identity numbers in `bytes`, in order.
fn numbers(bytes: &[u8], checksum: bool) -> impl Iterator<Item = (usize, usize)> + '_ {
    std::iter::successors(find(bytes, 0, checksum), move |&(_, end)| {
        find(bytes, end, checksum)
    })
}

/// `bytes` with each of the ranges `found` (sorted by their start; they may overlap)
/// replaced by one `replacement`; `None` when there is none.
fn replace(
    bytes: &[u8],
    mut found: impl Iterator<Item = (usize, usize)>,
    replacement: &[u8],
) -> Option<Vec<u8>> {
    let (start, mut end) = found.next()?;
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..start]);
    out.extend_from_slice(replacement);
    for (next_start, next_end) in found {
        if next_start < end {
            end = end.max(next_end);
            continue;
        }
        out.extend_from_slice(&bytes[end..next_start]);
        out.extend_from_slice(replacement);
        end = next_end;
    }
    out.extend_from_slice(&bytes[end..]);
    Some(out)
}

/// Whether a percent-encoded digit (`%30` to `%39`) starts at `at`.
fn encoded_digit(bytes: &[u8], at: usize) -> bool {
    bytes.get(at) == Some(&b'%')
        && bytes.get(at + 1) == Some(&b'3')
        && bytes.get(at + 2).is_some_and(u8::is_ascii_digit)
}

/// `bytes` with each percent-encoded digit decoded, and where each byte of `bytes` (and
/// its end) is in it. A digit means the same encoded or not (RFC 3986 § 6.2.2.2), and a
/// server decodes it: `/dogs/%301019012345` is `/dogs/01019012345` to the handler.
fn decode_digits(bytes: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = Vec::with_capacity(bytes.len() + 1);
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if encoded_digit(bytes, i) {
            at.extend([decoded.len(); 3]);
            decoded.push(bytes[i + 2]);
            i += 3;
        } else {
            at.push(decoded.len());
            decoded.push(byte);
            i += 1;
        }
    }
    at.push(decoded.len());
    (decoded, at)
}

/// Whether `text` holds an identity number.
pub fn contains_identity_number(text: &str) -> bool {
    mask_bytes_with(text.as_bytes(), b"", false).is_some()
}

/// The integer `text` is when it is a whole number exactly as an integer's `Debug` and
/// `Display` write it: an optional `-`, no leading zero, within `i64`. `007`, `+5`, `-0`
/// and `2.5` are not.
pub(crate) fn whole_number(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let whole = match digits.as_bytes() {
        [b'0'] => digits.len() == text.len(),
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
        [] => false,
    };
    whole.then(|| text.parse().ok()).flatten()
}

/// Whether `c` may stand between the sixth and seventh digit: whitespace as NAIS's `\s?`
/// reads it (JavaScript's `\s`: the ASCII whitespace, the no-break spaces, the Unicode
/// spaces and line and paragraph separators, the byte order mark), next line (`U+0085`),
/// and the invisible characters that leave a number looking whole (zero-width space and
/// joiners, word joiner, soft hyphen).
fn is_separator(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\x0b'
            | '\x0c'
            | '\r'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{ad}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200d}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{2060}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// The length of the separator at the start of `bytes`, if one is there: an
/// [`is_separator`] character as it is, URL-encoded (`+` and `%2520` for a space, any of
/// them percent-encoded, `%C2%A0`, in either case), or escaped as JSON, `Debug` and
/// `tracing`'s text format write it (`\n`, `\t`, `\r`, `\f`, `\u00a0`, `\u{a0}`, `\x0b`)
/// after one backslash or more (text escaped again, such as the `Debug` of a JSON text,
/// doubles them), each of which may be percent-encoded (`%5C`).
fn separator_len(bytes: &[u8]) -> Option<usize> {
    match bytes.first()? {
        b'+' => return Some(1),
        b'%' if bytes
            .get(..5)
            .is_some_and(|b| b.eq_ignore_ascii_case(b"%2520")) =>
        {
            return Some(5)
        }
        _ => {}
    }
    if let Some((c, len)) = first_char(bytes) {
        return is_separator(c).then_some(len);
    }
    percent_separator(bytes).or_else(|| escaped_separator(bytes))
}

/// The character at the start of `bytes` and its length in bytes, when it is not ASCII
/// punctuation that starts an encoding (`%`, `\`).
fn first_char(bytes: &[u8]) -> Option<(char, usize)> {
    let width = match bytes.first()? {
        b'%' | b'\\' => return None,
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    };
    let c = std::str::from_utf8(bytes.get(..width)?)
        .ok()?
        .chars()
        .next()?;
    Some((c, width))
}

/// A separator percent-encoded (`%09`, `%C2%A0`, `%E2%80%89`): its length, if one is there.
fn percent_separator(bytes: &[u8]) -> Option<usize> {
    let byte = |at: usize| -> Option<u8> {
        match bytes.get(at * 3..at * 3 + 3)? {
            [b'%', high, low] => Some(hex_value(*high)? << 4 | hex_value(*low)?),
            _ => None,
        }
    };
    let first = byte(0)?;
    let width = match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => return None,
    };
    let mut utf8 = [first, 0, 0];
    for (at, slot) in utf8.iter_mut().enumerate().take(width).skip(1) {
        *slot = byte(at)?;
    }
    let c = std::str::from_utf8(&utf8[..width]).ok()?.chars().next()?;
    is_separator(c).then_some(width * 3)
}

/// A separator escaped after one backslash or more, each as it is or as `%5C`: its
/// length, if one is there.
fn escaped_separator(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        match bytes.get(at..) {
            Some([b'\\', ..]) => at += 1,
            Some([b'%', b'5', b'c' | b'C', ..]) => at += 3,
            _ => break,
        }
    }
    if at == 0 {
        return None;
    }
    let escape = &bytes[at..];
    let (c, len) = match escape.first()? {
        b'n' => ('\n', 1),
        b't' => ('\t', 1),
        b'r' => ('\r', 1),
        b'f' => ('\x0c', 1),
        // `\u{a0}` (Debug) or `\u00a0` (JSON).
        b'u' if escape.get(1) == Some(&b'{') => {
            let digits = escape[2..].iter().take(7).position(|&b| b == b'}')?;
            (hex_char(&escape[2..2 + digits])?, digits + 3)
        }
        b'u' => (hex_char(escape.get(1..5)?)?, 5),
        b'x' => (hex_char(escape.get(1..3)?)?, 3),
        _ => return None,
    };
    is_separator(c).then_some(at + len)
}

/// The character whose code point `digits` spell in hexadecimal (one to six digits).
fn hex_char(digits: &[u8]) -> Option<char> {
    if digits.is_empty() || digits.len() > 6 {
        return None;
    }
    let code = digits.iter().try_fold(0u32, |code, &digit| {
        Some(code << 4 | u32::from(hex_value(digit)?))
    })?;
    char::from_u32(code)
}

/// The value of a hexadecimal digit, in either case.
fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// The identity number in the run of digits that starts at `start`, if it is one: eleven
/// digits, six, a separator and five, or ten that lost a leading zero
/// ([`lost_zero`]). Returns the match, and where the run ends.
fn number_at(bytes: &[u8], start: usize, checksum: bool) -> (Option<(usize, usize)>, usize) {
    let run_end = digits_end(bytes, start);
    match run_end - start {
        11 if plausible(&bytes[start..run_end], checksum) && !in_hex_id(bytes, start, run_end) => {
            (Some((start, run_end)), run_end)
        }
        10 if lost_zero(&bytes[start..run_end], true) && !in_hex_id(bytes, start, run_end) => {
            (Some((start, run_end)), run_end)
        }
        6 => {
            let found = separator_len(&bytes[run_end..]).and_then(|separator| {
                let second = run_end + separator;
                let second_end = digits_end(bytes, second);
                if second_end - second != 5 {
                    return None;
                }
                let mut number = [0u8; 11];
                number[..6].copy_from_slice(&bytes[start..run_end]);
                number[6..].copy_from_slice(&bytes[second..second_end]);
                plausible(&number, checksum).then_some((start, second_end))
            });
            (found, run_end)
        }
        _ => (None, run_end),
    }
}

/// Whether the digits at `start..end` lie in a hexadecimal id that stands alone: a span
/// id (16 hex digits), a trace id or a UUID without hyphens (32), a SHA-1 (40) or SHA-256
/// (64) digest, or the last group of a UUID (`8-4-4-4-12`). Their random hex digits hold
/// eleven decimal digits in a row that read as an identity number in about one trace id
/// in 230. "Alone" means no letter, digit or `_` touches the id; digits inside a longer or
/// shorter hex word are still read.
fn in_hex_id(bytes: &[u8], start: usize, end: usize) -> bool {
    let first = bytes[..start]
        .iter()
        .rposition(|b| !b.is_ascii_hexdigit())
        .map_or(0, |at| at + 1);
    let last = bytes[end..]
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .map_or(bytes.len(), |at| end + at);
    let word = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_');
    if word(bytes.get(last)) {
        return false;
    }
    let before = first.checked_sub(1).map(|at| &bytes[..at + 1]);
    match last - first {
        16 | 32 | 40 | 64 => !word(before.and_then(<[u8]>::last)),
        // The last group of a UUID: `-`, and four groups of 8, 4, 4 and 4 before it.
        12 => before.is_some_and(|before| {
            let groups = [4, 4, 4, 8];
            let mut at = before.len();
            groups.iter().all(|&len| {
                let ok = at > len
                    && before[at - 1] == b'-'
                    && before[at - 1 - len..at - 1]
                        .iter()
                        .all(u8::is_ascii_hexdigit);
                at = at.saturating_sub(len + 1);
                ok
            }) && !word(at.checked_sub(1).and_then(|at| before.get(at)))
        }),
        _ => false,
    }
}

/// The byte range of the first identity number at or after `from`.
///
/// A `%` may start a percent-escape or be a plain `%` (`LIKE '%01019012345%'`), so the
/// digits after it are read both ways: from the byte after the `%`, and after the
/// escape (`%27`, and `%25` with its two hex digits, an escape encoded twice).
pub(super) fn find(bytes: &[u8], from: usize, checksum: bool) -> Option<(usize, usize)> {
    find_noting(bytes, from, checksum, &mut false)
}

/// [`find`], which sets `encoded` when it passes a percent-encoded digit.
#[inline]
fn find_noting(
    bytes: &[u8],
    from: usize,
    checksum: bool,
    encoded: &mut bool,
) -> Option<(usize, usize)> {
    let hex = |at: usize| matches!(bytes.get(at..at + 2), Some([a, b]) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit());
    let mut i = from;
    loop {
        i = next_digit_or_percent(bytes, i);
        let &byte = bytes.get(i)?;
        if byte == b'%' {
            *encoded |= encoded_digit(bytes, i);
            if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                if let (Some(found), _) = number_at(bytes, i + 1, checksum) {
                    return Some(found);
                }
            }
            if !hex(i + 1) {
                i += 1;
                continue;
            }
            if bytes.get(i + 1..i + 3) == Some(b"25")
                && hex(i + 3)
                && bytes.get(i + 5).is_some_and(u8::is_ascii_digit)
            {
                if let (Some(found), _) = number_at(bytes, i + 5, checksum) {
                    return Some(found);
                }
            }
            i += 3;
            continue;
        }
        // A maximal run of digits starts at `i`.
        let (found, run_end) = number_at(bytes, i, checksum);
        if found.is_some() {
            return found;
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

/// Ten ASCII digits: the number of someone born on the 1st to the 9th of a month, stored
/// as an integer (its leading zero lost). Read with the zero put back:
///
/// * from `2`, whose date is plausible and, with `checksum`, whose control digits are
///   right;
/// * from `1` (born on the 1st), whose month is a calendar month or an H-number month and
///   whose control digits are right, whatever `checksum` says. Unix times in seconds are
///   ten digits from `1` too (2001 to 2033), and the month rule leaves out all of them
///   but those of 2002 to 2005 and 2014 to 2018, of which about one in a hundred passes
///   the control digits. Synthetic months (81 to 92) are left out: they are the unix
///   times of May 2027 to February 2031.
///
/// In text the control digits are always checked: ten-digit ids are common, and about
/// one in a hundred of them passes. See the [module docs](crate::privacy#whole-numbers).
pub(super) fn lost_zero(ten: &[u8], checksum: bool) -> bool {
    let mut digits = [b'0'; 11];
    digits[1..].copy_from_slice(ten);
    match ten[0] {
        b'1' => {
            let month = u32::from(ten[1] - b'0') * 10 + u32::from(ten[2] - b'0');
            ((1..=12).contains(&month) || (41..=52).contains(&month)) && plausible(&digits, true)
        }
        b'0' => false,
        _ => plausible(&digits, checksum),
    }
}

/// Eleven ASCII digits whose first six are a plausible `DDMMYY`.
pub(super) fn plausible(digits: &[u8], checksum: bool) -> bool {
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
            ("behandler 2019012339", Some("behandler [fnr]"), "born on the 2nd, leading zero lost in text"),
            ("id=9051234577&x", Some("id=[fnr]&x"), "born on the 9th, leading zero lost"),
            ("5128000110", Some("[fnr]"), "born on the 5th, leading zero lost"),
            ("2019012345", None, "ten digits, control digits wrong"),
            ("1019012339", None, "born on the 1st, control digits wrong"),
            ("id 1019000083.", Some("id [fnr]."), "born on the 1st, leading zero lost in text"),
            ("1459000026", Some("[fnr]"), "H-number born on the 1st, leading zero lost"),
            ("1830000085", None, "unix seconds of 2028: synthetic month 83, control digits right"),
            ("20190123390", None, "eleven digits, not the ten with a digit after"),
            ("+47 912 34 567", None, "phone number with spaces"),
            ("1732186400123", None, "millisecond timestamp"),
            ("1732186400", None, "second timestamp"),
            ("2024-11-21T08:14:00Z", None, "ISO timestamp"),
            ("550e8400-e29b-41d4-a716-446655440000", None, "UUID"),
            ("550e8400-e29b-41d4-a716-a01019012345", None, "UUID whose last group holds digits like a number"),
            ("550E8400-E29B-41D4-A716-A01019012345", None, "the same in capitals"),
            ("e29b-41d4-a716-a01019012345", Some("e29b-41d4-a716-a[fnr]"), "not a whole UUID"),
            ("x550e8400-e29b-41d4-a716-a01019012345", Some("x550e8400-e29b-41d4-a716-a[fnr]"), "a UUID in a longer word"),
            ("trace 4bf92f3577b34da601019012345e4736", None, "a trace id"),
            ("trace=4bf92f3577b34da6a2019012339e4736.", None, "ten digits that lost a zero, in a trace id"),
            ("00-4bf92f3577b34da601019012345e4736-00f067aa0ba902b7-01", None, "a traceparent"),
            ("span=f067a01019012345", None, "a span id"),
            ("sha1 da39a3ee5e6b4b0d3255bfefa01019012345beef", None, "a SHA-1 digest"),
            ("span=f067a01019012345g", Some("span=f067a[fnr]g"), "a hex id with a letter after it"),
            ("span_f067a01019012345", Some("span_f067a[fnr]"), "a hex id with a word before it"),
            ("ab01019012345", Some("ab[fnr]"), "a short hex word"),
            ("abcdef01019012345", Some("abcdef[fnr]"), "a hex word of 17"),
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
            (r#"{"m":"010190\f12345"}"#, Some(r#"{"m":"[fnr]"}"#), "an escaped form feed, as JSON writes it"),
            (r#"{"m":"010190\u000b12345"}"#, Some(r#"{"m":"[fnr]"}"#), "a vertical tab, as JSON writes it"),
            (r#"{"m":"010190\u00a012345"}"#, Some(r#"{"m":"[fnr]"}"#), "a non-breaking space escaped as JSON"),
            (r#"P { fnr: "010190\u{a0}12345" }"#, Some(r#"P { fnr: "[fnr]" }"#), "a non-breaking space, as Debug writes it"),
            (r#""010190\u{b}12345""#, Some(r#""[fnr]""#), "a vertical tab, as Debug writes it"),
            (r#""010190\u{c}12345""#, Some(r#""[fnr]""#), "a form feed, as Debug writes it"),
            (r#""{\"m\":\"010190\\n12345\"}""#, Some(r#""{\"m\":\"[fnr]\"}""#), "the Debug of a JSON text: escaped twice"),
            (r#"010190\x12345"#, None, "a backslash before something else"),
            ("where fnr LIKE '%01019012345%'", Some("where fnr LIKE '%[fnr]%'"), "a plain percent sign before it"),
            ("q%3DOla%252001019012345", Some("q%3DOla%2520[fnr]"), "after a space encoded twice"),
            ("010190%252012345", Some("[fnr]"), "split by a space encoded twice"),
            ("%2001019012345", Some("%20[fnr]"), "a longer run after a plain percent sign is no number"),
            ("/p/010190%0912345", Some("/p/[fnr]"), "a percent-encoded tab"),
            ("/p/010190%c2%a012345", Some("/p/[fnr]"), "a percent-encoded non-breaking space"),
            ("/p/010190%5Cn12345", Some("/p/[fnr]"), "an escaped newline, percent-encoded"),
            ("lookup 010190\\x0c12345", Some("lookup [fnr]"), "a form feed as tracing's text format writes it"),
            ("/dogs/%301019012345", Some("/dogs/[fnr]"), "a percent-encoded digit"),
            ("/dogs/%30%31%30%31%39%30%31%32%33%34%35/x", Some("/dogs/[fnr]/x"), "every digit percent-encoded"),
            ("q=%30%31%30%31%39%30%31%32%33%34%35&p=01029012345", Some("q=[fnr]&p=[fnr]"), "encoded and plain in one text"),
            ("01019012345%30", Some("[fnr]0"), "a digit encoded after a number: the text decoded"),
            ("%3001019012345", Some("0[fnr]"), "an encoded zero before a number"),
            ("/dogs/%3010190123", None, "encoded, ten digits from 0"),
            ("010190\u{2009}12345", Some("[fnr]"), "a thin space"),
            ("010190\u{202f}12345", Some("[fnr]"), "a narrow no-break space"),
            ("010190\u{3000}12345", Some("[fnr]"), "an ideographic space"),
            ("010190\u{2028}12345", Some("[fnr]"), "a line separator"),
            ("010190\u{feff}12345", Some("[fnr]"), "a byte order mark"),
            ("010190\u{200b}12345", Some("[fnr]"), "a zero-width space"),
            ("010190\u{ad}12345", Some("[fnr]"), "a soft hyphen"),
            ("010190\u{85}12345", Some("[fnr]"), "next line"),
            ("/p/010190%E2%80%8912345", Some("/p/[fnr]"), "a percent-encoded thin space"),
            ("/p/010190%e2%80%af12345", Some("/p/[fnr]"), "a percent-encoded narrow no-break space, lower case"),
            (r#"{"m":"010190\u202F12345"}"#, Some(r#"{"m":"[fnr]"}"#), "a narrow no-break space escaped as JSON"),
            (r#""010190\u{2028}12345""#, Some(r#""[fnr]""#), "a line separator, as Debug writes it"),
            ("010190\u{2010}12345", None, "a hyphen is no separator"),
            ("010190%E2%80%9012345", None, "nor percent-encoded"),
            (r#""010190\u004112345""#, None, "an escaped letter is no separator"),
            ("010190%E2%8012345", None, "a broken percent-encoded character"),
            (r#""010190\u{110000}12345""#, None, "an escape of no character"),
            ("", None, "empty"),
        ];
        for (input, expected, reason) in cases {
            assert_eq!(mask(input, "[fnr]").as_deref(), *expected, "{reason}: {input}");
        }
    }

    /// The scan as one byte at a time, the way the module docs describe it.
    fn find_byte_by_byte(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
        let hex = |at: usize| matches!(bytes.get(at..at + 2), Some([a, b]) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit());
        let digit = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_digit);
        let mut i = from;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                // Read as a plain `%`, as an escape, and as an escape encoded twice.
                let mut starts = vec![];
                if digit(i + 1) {
                    starts.push(i + 1);
                }
                if hex(i + 1) && bytes[i + 1..i + 3] == *b"25" && hex(i + 3) && digit(i + 5) {
                    starts.push(i + 5);
                }
                if let Some(found) = starts
                    .into_iter()
                    .find_map(|at| number_at(bytes, at, false).0)
                {
                    return Some(found);
                }
                i += if hex(i + 1) { 3 } else { 1 };
                continue;
            }
            if !digit(i) {
                i += 1;
                continue;
            }
            let (found, run_end) = number_at(bytes, i, false);
            if found.is_some() {
                return found;
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
        let alphabet: &[u8] = b"0123456789%%%aF/:;$&+ \t\n\x2f\x3a\xc2\xa0\xff-e\\\\u{b}";
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
                    b"%01019012345",
                    b"%252001019012345",
                    b"010190\\u{a0}12345",
                ][next(7)];
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
    fn random_hex_ids_are_never_masked() {
        // Random span ids, trace ids, UUIDs and digests, in the places logs put them. Each
        // maximal run of eleven digits with a plausible date (or ten that lost a zero) in
        // them would read as a number in any other word.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut hex = |len: usize, upper: bool| -> String {
            let digits: &[u8] = if upper {
                b"0123456789ABCDEF"
            } else {
                b"0123456789abcdef"
            };
            (0..len)
                .map(|_| char::from(digits[(next() % 16) as usize]))
                .collect()
        };
        let mut would_read = 0;
        for i in 0..200_000 {
            let upper = i % 7 == 0;
            let id = match i % 5 {
                0 => hex(16, upper),
                1 => hex(32, upper),
                2 => hex(40, upper),
                3 => hex(64, upper),
                _ => format!(
                    "{}-{}-{}-{}-{}",
                    hex(8, upper),
                    hex(4, upper),
                    hex(4, upper),
                    hex(4, upper),
                    hex(12, upper)
                ),
            };
            let bytes = id.as_bytes();
            let mut at = 0;
            while at < bytes.len() {
                let end = digits_end(bytes, at);
                let run = &bytes[at..end];
                would_read += usize::from(
                    run.len() == 11 && plausible(run, false)
                        || run.len() == 10 && lost_zero(run, true),
                );
                at = end.max(at + 1);
            }
            let text = match i % 4 {
                0 => id,
                1 => format!("request_id={id} status=200"),
                2 => format!(r#"{{"order":"{id}"}}"#),
                _ => format!("/orders/{id}/lines"),
            };
            assert_eq!(mask(&text, "[fnr]"), None, "{text}");
        }
        assert!(
            would_read > 300,
            "the ids held number-like runs: {would_read}"
        );
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
}
