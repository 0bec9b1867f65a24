//! The W3C Baggage [`TextMapPropagator`].

use std::sync::LazyLock;

use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::Context;

use crate::tracestate::trim_ows;

/// The `baggage` header name.
pub const BAGGAGE_HEADER: &str = "baggage";

/// The maximum number of list-members propagated (W3C Baggage § Limits).
pub const MAX_BAGGAGE_MEMBERS: usize = 64;

/// The maximum length in bytes of the `baggage` header propagated (W3C Baggage § Limits).
pub const MAX_BAGGAGE_BYTES: usize = 8192;

static FIELDS: LazyLock<[String; 1]> = LazyLock::new(|| [BAGGAGE_HEADER.to_owned()]);

/// A W3C Baggage propagator with the specification's limits.
///
/// Reading: every `baggage` header is combined in order; list-members that do not
/// follow the grammar are skipped (through [`extract_from_headers`](Self::extract_from_headers),
/// also a member with bytes that are not ASCII, alone); values are percent-decoded
/// (invalid UTF-8 becomes U+FFFD); properties are kept as the entry's metadata as they
/// were sent (property values still percent-encoded); at most 64 members and 8192 bytes
/// of list-members are taken, and members that would go over are dropped whole.
///
/// Writing: in values, what the grammar does not allow (controls, space, `"`, `,`,
/// `;`, `\`, bytes beyond ASCII) and `%` are percent-encoded, nothing else, so a
/// header within the limits when read stays within them when passed on, but for a
/// member whose text grows: a `%` that starts no escape becomes `%25`, and an escape of
/// bytes that are not UTF-8 becomes the nine bytes of U+FFFD's escape; in metadata
/// set in code, property values are percent-encoded the same way (a `%` that starts an
/// escape is kept) and a property whose key is not a token is left out. The same limits
/// apply, so a header is never larger than 8192 bytes.
///
/// # Examples
///
/// ```
/// use nais_otel_propagation::BaggagePropagator;
/// use opentelemetry::baggage::BaggageExt;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::Context;
/// use std::collections::HashMap;
///
/// let mut carrier = HashMap::new();
/// carrier.insert("baggage".to_owned(), "user=J%C3%BCrgen;pii, tenant=nav".to_owned());
///
/// let cx = BaggagePropagator::new().extract_with_context(&Context::new(), &carrier);
/// assert_eq!(cx.baggage().get("user").map(|v| v.as_str()), Some("Jürgen"));
/// assert_eq!(cx.baggage().get("tenant").map(|v| v.as_str()), Some("nav"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct BaggagePropagator {
    _private: (),
}

impl BaggagePropagator {
    /// Creates the propagator.
    pub fn new() -> Self {
        Self { _private: () }
    }

    /// Reads `baggage` from HTTP headers on top of `cx`, as
    /// [`extract_with_context`](TextMapPropagator::extract_with_context) does, but
    /// from the header bytes: a header line with a byte that is not ASCII loses only
    /// the list-members that hold it, where a text carrier sees no line at all.
    pub fn extract_from_headers(&self, cx: &Context, headers: &http::HeaderMap) -> Context {
        self.extract_from_headers_counted(cx, headers).0
    }

    /// [`extract_from_headers`](Self::extract_from_headers), and what it left out.
    pub fn extract_from_headers_counted(
        &self,
        cx: &Context,
        headers: &http::HeaderMap,
    ) -> (Context, BaggageDropped) {
        let mut lines = headers.get_all(BAGGAGE_HEADER).iter().peekable();
        if lines.peek().is_none() {
            return (cx.clone(), BaggageDropped::default());
        }
        let lines: Vec<std::borrow::Cow<'_, str>> = lines
            .map(|line| String::from_utf8_lossy(line.as_bytes()))
            .collect();
        let (baggage, dropped) = parse_baggage_counted(lines.iter().map(|line| line.as_ref()));
        if baggage.is_empty() {
            (cx.clone(), dropped)
        } else {
            (cx.with_baggage(baggage), dropped)
        }
    }
}

impl TextMapPropagator for BaggagePropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let header = format_baggage(cx.baggage());
        if !header.is_empty() {
            injector.set(BAGGAGE_HEADER, header);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match extractor.get_all(BAGGAGE_HEADER) {
            Some(values) => {
                let baggage = parse_baggage(values.iter().copied());
                if baggage.is_empty() {
                    cx.clone()
                } else {
                    cx.with_baggage(baggage)
                }
            }
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(FIELDS.as_slice())
    }
}

/// Parses `baggage` header values (combined in order) into [`Baggage`].
///
/// Never fails: invalid list-members are skipped and the limits are applied as
/// described on [`BaggagePropagator`]. Runs in linear time in the input length.
pub fn parse_baggage<'a>(values: impl IntoIterator<Item = &'a str>) -> Baggage {
    parse_baggage_counted(values).0
}

/// The list-members [`parse_baggage_counted`] left out.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BaggageDropped {
    /// Members that do not follow the grammar.
    pub invalid: usize,
    /// Valid members beyond 64 members or 8192 bytes.
    pub over_limits: usize,
    /// The keys of the first [`BaggageDropped::KEYS_KEPT`] members left out, for a
    /// message: never a value (baggage values are the caller's data). A key that is not a
    /// token is `<not a token>`, and a key is cut to 64 bytes.
    pub keys: Vec<String>,
}

impl BaggageDropped {
    /// How many keys [`BaggageDropped::keys`] holds at most.
    pub const KEYS_KEPT: usize = 8;

    /// Whether any member was left out.
    pub fn any(&self) -> bool {
        self.invalid + self.over_limits > 0
    }

    fn note(&mut self, member: &str) {
        if self.keys.len() == Self::KEYS_KEPT {
            return;
        }
        let key = trim_ows(member.split(['=', ';']).next().unwrap_or_default());
        let key = if is_token(key) {
            // A token is ASCII: any byte is a character boundary.
            key[..key.len().min(64)].to_owned()
        } else {
            "<not a token>".to_owned()
        };
        self.keys.push(key);
    }
}

/// [`parse_baggage`], and the list-members it left out.
pub fn parse_baggage_counted<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> (Baggage, BaggageDropped) {
    let mut baggage = Baggage::new();
    let mut dropped = BaggageDropped::default();
    // The wire length of each member kept, by key: a repeated key replaces the member
    // (the last wins) and its length.
    let mut lengths: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    // The kept members' lengths, joined by commas.
    let mut bytes = 0;
    for value in values {
        for raw in value.split(',') {
            let member = trim_ows(raw);
            if member.is_empty() {
                continue;
            }
            let Some((key, value, metadata)) = parse_member(member) else {
                dropped.invalid += 1;
                dropped.note(member);
                continue;
            };
            let after = match lengths.get(key) {
                Some(&old) => bytes - old + member.len(),
                None if lengths.len() == MAX_BAGGAGE_MEMBERS => usize::MAX,
                None => bytes + member.len() + usize::from(!lengths.is_empty()),
            };
            if after > MAX_BAGGAGE_BYTES {
                dropped.over_limits += 1;
                dropped.note(member);
                continue;
            }
            let value = percent_decode(value);
            let replaced = lengths.contains_key(key);
            let before = baggage.len();
            let taken = baggage
                .insert_with_metadata(key.to_owned(), value, metadata)
                .is_some()
                || (!replaced && baggage.len() > before);
            if taken {
                bytes = after;
                lengths.insert(key, member.len());
            } else {
                // `Baggage` keeps limits of its own, on the decoded text: within ours
                // they hold, but a refusal is counted, never silent.
                dropped.over_limits += 1;
                dropped.note(member);
            }
        }
    }
    (baggage, dropped)
}

/// Formats [`Baggage`] as a `baggage` header value, within the limits.
///
/// Values are percent-encoded where the grammar needs it, and so are the property
/// values of the metadata (see [`BaggagePropagator`]). Entries whose key is not an
/// RFC 7230 token are left out, as are a metadata's properties whose key is not one,
/// and entries that would take the header over 64 members or 8192 bytes.
pub fn format_baggage(baggage: &Baggage) -> String {
    let mut out = String::new();
    let mut count = 0;
    for (key, (value, metadata)) in baggage {
        if count == MAX_BAGGAGE_MEMBERS {
            break;
        }
        let key = key.as_str();
        if !is_token(key) {
            continue;
        }
        let mut member = String::with_capacity(key.len() + 1 + value.as_str().len());
        member.push_str(key);
        member.push('=');
        percent_encode(value.as_str(), &mut member);
        push_properties(metadata.as_str(), &mut member);
        let cost = member.len() + usize::from(count > 0);
        if out.len() + cost > MAX_BAGGAGE_BYTES {
            continue;
        }
        if count > 0 {
            out.push(',');
        }
        out.push_str(&member);
        count += 1;
    }
    out
}

/// `list-member = key OWS "=" OWS value *( OWS ";" OWS property )`
fn parse_member(member: &str) -> Option<(&str, &str, String)> {
    let (pair, properties) = match member.split_once(';') {
        Some((pair, properties)) => (pair, Some(properties)),
        None => (member, None),
    };
    let (key, value) = pair.split_once('=')?;
    let (key, value) = (trim_ows(key), trim_ows(value));
    if !is_token(key) || !value.bytes().all(is_baggage_octet) {
        return None;
    }
    let mut metadata = String::new();
    if let Some(properties) = properties {
        for property in properties.split(';') {
            let property = trim_ows(property);
            if !parse_property(property) {
                return None;
            }
            if !metadata.is_empty() {
                metadata.push(';');
            }
            metadata.push_str(property);
        }
    }
    Some((key, value, metadata))
}

/// `property = key OWS "=" OWS value / key OWS`
fn parse_property(property: &str) -> bool {
    match property.split_once('=') {
        Some((key, value)) => {
            is_token(trim_ows(key)) && trim_ows(value).bytes().all(is_baggage_octet)
        }
        None => is_token(property),
    }
}

/// RFC 7230 `token = 1*tchar`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// `baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`
fn is_baggage_octet(c: u8) -> bool {
    matches!(c, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

/// `value` with its `%XX` escapes decoded, as W3C Baggage decodes a value: a `%` that
/// starts no escape stays as it is, and bytes that are not UTF-8 become U+FFFD.
///
/// ```
/// use nais_otel_propagation::percent_decode;
/// assert_eq!(percent_decode("J%C3%BCrgen%2C 100%"), "Jürgen, 100%");
/// assert_eq!(percent_decode("%FF"), "\u{fffd}");
/// ```
pub fn percent_decode(value: &str) -> String {
    let b = value.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            if let (Some(hi), Some(lo)) = (
                b.get(i + 1).and_then(|&h| char::from(h).to_digit(16)),
                b.get(i + 2).and_then(|&l| char::from(l).to_digit(16)),
            ) {
                // Two hex digits are at most 0xff.
                out.push(u8::try_from(hi << 4 | lo).unwrap_or(u8::MAX));
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes `value` with what a baggage value may not hold as it is (bytes that are not
/// `baggage-octet`s) and `%` percent-encoded. `keep_escapes`: a `%` followed by two hex
/// digits is an escape already (a property value as it was read), and is kept.
fn percent_encode_with(value: &str, keep_escapes: bool, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = value.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        let escape = c == b'%'
            && keep_escapes
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if escape || (is_baggage_octet(c) && c != b'%') {
            out.push(char::from(c));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(c >> 4)]));
            out.push(char::from(HEX[usize::from(c & 0x0f)]));
        }
    }
}

fn percent_encode(value: &str, out: &mut String) {
    percent_encode_with(value, false, out);
}

/// Appends `;property` for each property of `metadata` (`p1;p2=x`), trimmed, its value
/// percent-encoded where the grammar needs it; a property whose key is not a token, and
/// an empty one, is left out.
fn push_properties(metadata: &str, member: &mut String) {
    for property in metadata.split(';') {
        let property = trim_ows(property);
        let (key, value) = match property.split_once('=') {
            Some((key, value)) => (trim_ows(key), Some(trim_ows(value))),
            None => (property, None),
        };
        if !is_token(key) {
            continue;
        }
        member.push(';');
        member.push_str(key);
        if let Some(value) = value {
            member.push('=');
            percent_encode_with(value, true, member);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[rustfmt::skip]
    fn parse_cases() {
        // (header, key, expected value, expected metadata, reason)
        let cases: &[(&str, &str, Option<&str>, &str, &str)] = &[
            ("k=v",                     "k", Some("v"),        "",        "simple member"),
            (" k = v ",                 "k", Some("v"),        "",        "OWS around key, = and value"),
            ("k=a%20b",                 "k", Some("a b"),      "",        "percent-decoded value"),
            ("k=J%C3%BCrgen",           "k", Some("Jürgen"),   "",        "UTF-8 percent-decoded"),
            ("k=%FF",                   "k", Some("\u{fffd}"), "",        "invalid UTF-8 becomes U+FFFD"),
            ("k=100%",                  "k", Some("100%"),     "",        "stray percent kept"),
            ("k=",                      "k", Some(""),         "",        "empty value is allowed"),
            ("k=v;p1;p2=x",             "k", Some("v"),        "p1;p2=x", "properties kept as metadata"),
            ("k=v ; p1 = x",            "k", Some("v"),        "p1 = x",  "properties trimmed"),
            ("k=v;p 1",                 "k", None,             "",        "invalid property drops the member"),
            ("k=a b",                   "k", None,             "",        "space inside value"),
            ("k=a\"b",                  "k", None,             "",        "DQUOTE in value"),
            ("k=a\\b",                  "k", None,             "",        "backslash in value"),
            ("k(=v",                    "k(", None,            "",        "key is not a token"),
            ("=v",                      "",  None,             "",        "empty key"),
            ("k",                       "k", None,             "",        "no equals sign"),
            ("bad key=1,k=v",           "k", Some("v"),        "",        "invalid member skipped, others kept"),
            ("k=1,k=2",                 "k", Some("2"),        "",        "repeated key: last wins"),
            (",,k=v,,",                 "k", Some("v"),        "",        "empty members ignored"),
        ];
        for (header, key, value, metadata, reason) in cases {
            let baggage = parse_baggage([*header]);
            let got = baggage.get_with_metadata(key);
            assert_eq!(got.map(|(v, _)| v.as_str()), *value, "{reason}: {header:?}");
            if value.is_some() {
                assert_eq!(got.map(|(_, m)| m.as_str()), Some(*metadata), "{reason}: {header:?}");
            }
        }
    }

    #[test]
    fn dropped_members_are_counted() {
        let mut members: Vec<String> = (0..70).map(|i| format!("k{i}=v")).collect();
        members.push("bad key=1".to_owned());
        members.push("k0=last".to_owned());
        let (baggage, dropped) = parse_baggage_counted([members.join(",").as_str()]);
        assert_eq!(baggage.len(), MAX_BAGGAGE_MEMBERS);
        assert_eq!(baggage.get("k0").map(|v| v.as_str()), Some("last"));
        assert_eq!((dropped.invalid, dropped.over_limits), (1, 6));
        assert_eq!(
            dropped.keys,
            ["k64", "k65", "k66", "k67", "k68", "k69", "<not a token>"]
        );
        let (_, none) = parse_baggage_counted(["a=1, b=2;p"]);
        assert!(!none.any());

        // A repeated key replaces its member's length too: `b` fits once the long `a` is
        // replaced by a short one, and a long replacement over the limit is dropped alone.
        let long = "x".repeat(8100);
        let (baggage, dropped) =
            parse_baggage_counted([format!("a={long},a=1,b={}", "y".repeat(100)).as_str()]);
        assert_eq!(baggage.get("a").map(|v| v.as_str()), Some("1"));
        assert!(baggage.get("b").is_some(), "{dropped:?}");
        assert!(!dropped.any());
        let (baggage, dropped) =
            parse_baggage_counted([
                format!("b={},a=1,a={}", "y".repeat(8000), "x".repeat(500)).as_str()
            ]);
        assert_eq!(baggage.get("a").map(|v| v.as_str()), Some("1"));
        assert_eq!(
            (dropped.over_limits, dropped.keys.as_slice()),
            (1, &["a".to_owned()][..])
        );
    }

    #[test]
    fn several_headers_are_combined() {
        let baggage = parse_baggage(["a=1", "b=2,c=3"]);
        assert_eq!(baggage.len(), 3);
    }

    #[test]
    fn member_limit_on_read() {
        let header: Vec<String> = (0..100).map(|i| format!("k{i}=v")).collect();
        let baggage = parse_baggage([header.join(",").as_str()]);
        assert_eq!(baggage.len(), MAX_BAGGAGE_MEMBERS);
        assert!(baggage.get("k0").is_some());
        assert!(baggage.get("k64").is_none());
    }

    #[test]
    fn byte_limit_on_read_drops_whole_members() {
        let big = "x".repeat(5000);
        let header = format!("a={big},b={big},c=1");
        let baggage = parse_baggage([header.as_str()]);
        assert!(baggage.get("a").is_some());
        assert!(
            baggage.get("b").is_none(),
            "a second 5000-byte member goes over 8192"
        );
        assert!(baggage.get("c").is_some());
    }

    #[test]
    fn format_round_trips_and_respects_limits() {
        let mut baggage = Baggage::new();
        baggage.insert_with_metadata("user", "Jürgen Ø, a;b=c", "pii");
        baggage.insert("tenant", "nav");
        let header = format_baggage(&baggage);
        assert!(header.len() <= MAX_BAGGAGE_BYTES);
        let back = parse_baggage([header.as_str()]);
        let (value, metadata) = back.get_with_metadata("user").expect("user kept");
        assert_eq!(value.as_str(), "Jürgen Ø, a;b=c");
        assert_eq!(metadata.as_str(), "pii");
        assert_eq!(back.get("tenant").map(|v| v.as_str()), Some("nav"));
    }

    /// What the grammar allows goes out as it is: baggage read within the limits is
    /// passed on whole.
    #[test]
    fn values_encoded_only_where_the_grammar_needs_it() {
        let octets: String = (0x21u8..=0x7e)
            .filter(|&c| is_baggage_octet(c) && c != b'%')
            .map(char::from)
            .collect();
        let mut baggage = Baggage::new();
        baggage.insert("octets", octets.clone());
        baggage.insert("other", "a b,c;d\\e\"f%g\u{7f}é");
        let header = format_baggage(&baggage);
        assert!(header.contains(&format!("octets={octets}")), "{header}");
        assert!(
            header.contains("other=a%20b%2Cc%3Bd%5Ce%22f%25g%7F%C3%A9"),
            "{header}"
        );
        let back = parse_baggage([header.as_str()]);
        assert_eq!(
            back.get("octets").map(|v| v.as_str()),
            Some(octets.as_str())
        );

        // Two members of 4000 `!` (8005 bytes) are read and passed on whole.
        let big = "!".repeat(4000);
        let read = parse_baggage([format!("a={big},b={big}").as_str()]);
        assert_eq!(read.len(), 2);
        let header = format_baggage(&read);
        assert_eq!(header.len(), 8005, "nothing encoded, nothing dropped");
        assert_eq!(parse_baggage([header.as_str()]).len(), 2);
    }

    #[test]
    fn metadata_properties_encoded_and_bad_ones_left_out() {
        #[rustfmt::skip]
        let cases = [
            ("p=a b",              "k=v;p=a%20b"),
            ("p=a,b",              "k=v;p=a%2Cb"),
            ("p=Jürgen",           "k=v;p=J%C3%BCrgen"),
            ("p=J%C3%BCrgen",      "k=v;p=J%C3%BCrgen"),
            ("p=100%",             "k=v;p=100%25"),
            ("p=a;q=b c",          "k=v;p=a;q=b%20c"),
            (" p1 ; p2 = x ",      "k=v;p1;p2=x"),
            ("bad key;pii",        "k=v;pii"),
            ("bad key",            "k=v"),
            (";;",                 "k=v"),
        ];
        for (metadata, expected) in cases {
            let mut baggage = Baggage::new();
            baggage.insert_with_metadata("k", "v", metadata);
            let header = format_baggage(&baggage);
            assert_eq!(header, expected, "{metadata:?}");
            assert!(
                parse_baggage([header.as_str()]).get("k").is_some(),
                "{header}"
            );
        }
    }

    #[test]
    fn a_line_with_bytes_beyond_ascii_loses_only_those_members() {
        let mut headers = http::HeaderMap::new();
        for line in [&b"a=1,k=J\xC3\xBCrgen,b=2"[..], b"c=\xFF,d=4"] {
            headers.append(
                BAGGAGE_HEADER,
                http::HeaderValue::from_bytes(line).expect("obs-text is allowed"),
            );
        }
        let cx = BaggagePropagator::new().extract_from_headers(&Context::new(), &headers);
        let baggage = cx.baggage();
        let mut keys: Vec<&str> = baggage.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["a", "b", "d"]);
    }

    #[test]
    fn format_never_exceeds_byte_limit() {
        // Baggage allows 8192 decoded bytes; encoding can triple them.
        let mut baggage = Baggage::new();
        baggage.insert("a", " ".repeat(2000));
        baggage.insert("b", " ".repeat(2000));
        baggage.insert("c", "small");
        let header = format_baggage(&baggage);
        assert!(header.len() <= MAX_BAGGAGE_BYTES, "{}", header.len());
        assert!(parse_baggage([header.as_str()]).get("c").is_some());
    }
}
