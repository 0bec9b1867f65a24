//! What the HTTP conventions keep out of URL attributes: the credentials before the host,
//! and the values of query parameters that are signatures or tokens.
//!
//! The layers apply it to `url.full` and `url.query`; `nais-otel` applies it again to
//! every span's URL attributes before export, whoever made the span, and
//! ([`redact_urls_in`]) to every URL in the free text of spans and log lines.

use std::borrow::Cow;

/// What stands in for a redacted value.
pub const REDACTED: &str = "REDACTED";

/// Query parameters whose values are replaced by [`REDACTED`] (names compared in any ASCII
/// case): the HTTP conventions' list (`AWSAccessKeyId`, `Signature`, `sig`,
/// `X-Goog-Signature`), OAuth's and API keys' usual names, passwords (a database URL in an
/// error message carries `password=`), and session ids.
pub const REDACTED_QUERY_PARAMETERS: &[&str] = &[
    "AWSAccessKeyId",
    "Signature",
    "sig",
    "X-Goog-Signature",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "access_token",
    "id_token",
    "refresh_token",
    "client_secret",
    "client_assertion",
    "assertion",
    "api_key",
    "api-key",
    "x-api-key",
    "apikey",
    "key",
    "token",
    "password",
    "pass",
    "passwd",
    "pwd",
    "secret",
    "jsessionid",
    "sessionid",
    "session_id",
];

/// `url` (absolute, or a path with a query) with its credentials as
/// `REDACTED:REDACTED@` and the values of [`REDACTED_QUERY_PARAMETERS`] as [`REDACTED`],
/// as the conventions write `url.full`; `None` when there is nothing to redact.
///
/// ```
/// use nais_otel_tower::redact::redact_url;
///
/// assert_eq!(
///     redact_url("https://user:pw@api.example/file?sig=c2VjcmV0&x=1").as_deref(),
///     Some("https://REDACTED:REDACTED@api.example/file?sig=REDACTED&x=1"),
/// );
/// assert_eq!(redact_url("https://api.example/file?x=1"), None);
/// ```
pub fn redact_url(url: &str) -> Option<String> {
    // The authority, when there is one: after `scheme://`, up to the path, query or
    // fragment. Its last `@` ends the credentials.
    let authority = url
        .find("://")
        .filter(|&end| is_scheme(&url[..end]))
        .map(|scheme_end| {
            let start = scheme_end + 3;
            let end = url[start..]
                .find(['/', '?', '#'])
                .map_or(url.len(), |end| start + end);
            (start, end)
        });
    let userinfo = authority
        .and_then(|(start, end)| url[start..end].rfind('@').map(|at| (start, start + at)))
        // Credentials already redacted are left as they are.
        .filter(|&(start, at)| &url[start..at] != "REDACTED:REDACTED")
        .map(|(start, at)| (start, at, "REDACTED:REDACTED".to_owned()));
    let path_start = authority.map_or(0, |(_, end)| end);
    let path_end = url[path_start..]
        .find(['?', '#'])
        .map_or(url.len(), |end| path_start + end);
    let path = redact_path(&url[path_start..path_end]).map(|path| (path_start, path_end, path));
    // A `?` in the fragment starts no query.
    let query = (url.as_bytes().get(path_end) == Some(&b'?'))
        .then(|| {
            let start = path_end + 1;
            let end = url[start..].find('#').map_or(url.len(), |f| start + f);
            redact_query(&url[start..end]).map(|query| (start, end, query))
        })
        .flatten();
    if userinfo.is_none() && path.is_none() && query.is_none() {
        return None;
    }
    let mut out = String::with_capacity(url.len() + 16);
    let mut copied = 0;
    for (start, end, redacted) in [userinfo, path, query].into_iter().flatten() {
        out.push_str(&url[copied..start]);
        out.push_str(&redacted);
        copied = end;
    }
    out.push_str(&url[copied..]);
    Some(out)
}

/// `text` (an error's message, say) with every URL in it redacted as [`redact_url`]
/// redacts one; `None` when there is nothing to redact.
///
/// A URL starts at its scheme, the letters, digits, `+`, `-` and `.` before `://` from
/// the first letter. It ends before whitespace, `"`, `<`, `>` or a backquote, which a URL
/// never holds as they are; brackets and `'` may be in one (`report%20(1).pdf`,
/// `People('x')`). What it is written in is left out at its end: a `.`, `,`, `;`, `:`, `!`
/// or `?`, a `)` or `]` with no opening one in the URL, a `'` when one stands before it.
///
/// ```
/// use nais_otel_tower::redact::redact_urls_in;
///
/// assert_eq!(
///     redact_urls_in("error sending request for url (https://api.example/x?sig=c2ln)").as_deref(),
///     Some("error sending request for url (https://api.example/x?sig=REDACTED)"),
/// );
/// ```
pub fn redact_urls_in(text: &str) -> Option<String> {
    if !holds_url(text.as_bytes()) {
        return None;
    }
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut from = 0;
    // Each URL is read once: the next search starts where it ends.
    while let Some(found) = text[from..].find("://") {
        let marker = from + found;
        let run = text[from..marker]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map_or(marker, |(at, _)| from + at);
        // From the first letter: `0mhttps` (after a colour code) and `20https` (after
        // `%20`) are `https`.
        let start = text[run..marker]
            .find(|c: char| c.is_ascii_alphabetic())
            .map_or(marker, |at| run + at);
        let end = written_in(text, start, marker + 3, url_end(text, marker));
        if let Some(redacted) = redact_url(&text[start..end]) {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..start]);
            out.push_str(&redacted);
            copied = end;
        }
        from = end.max(marker + 3);
    }
    let mut out = out?;
    out.push_str(&text[copied..]);
    Some(out)
}

/// Whether `bytes` holds `://`, which every URL [`redact_urls_in`] redacts holds: the
/// test most text (with no URL) stops at, on every string value of every span and every
/// log line. A search for `:` and a look at the two bytes after each: a byte at a time
/// in the short values most fields hold, where `memchr`'s set-up costs more than it saves
/// (and an eight-byte word test costs more too: `docs/benchmarks.md`), and with `memchr`
/// in longer text.
///
/// ```
/// use nais_otel_tower::redact::holds_url;
///
/// assert!(holds_url(b"failed: https://api.example/x"));
/// assert!(!holds_url(b"at 12:30, see /x"));
/// ```
pub fn holds_url(bytes: &[u8]) -> bool {
    /// Below this many bytes the search is a plain loop.
    const SHORT: usize = 64;
    let colon = |rest: &[u8]| {
        if rest.len() < SHORT {
            rest.iter().position(|&b| b == b':')
        } else {
            memchr::memchr(b':', rest)
        }
    };
    let mut from = 0;
    while let Some(found) = colon(&bytes[from..]) {
        let at = from + found;
        if bytes[at + 1..].starts_with(b"//") {
            return true;
        }
        from = at + 1;
    }
    false
}

/// Where the URL whose `://` is at `marker` ends: before whitespace, `"`, `<`, `>` or a
/// backquote. Read a byte at a time; a character beyond ASCII is decoded only to ask
/// whether it is whitespace.
fn url_end(text: &str, marker: usize) -> usize {
    let bytes = text.as_bytes();
    let mut at = marker;
    while let Some(&byte) = bytes.get(at) {
        if byte.is_ascii() {
            if byte.is_ascii_whitespace() || matches!(byte, b'"' | b'<' | b'>' | b'`' | 0x0b) {
                return at;
            }
            at += 1;
        } else {
            let Some(c) = text[at..].chars().next() else {
                break;
            };
            if c.is_whitespace() {
                return at;
            }
            at += c.len_utf8();
        }
    }
    text.len()
}

/// The end of the URL `text[start..end]` without the punctuation it is written in (see
/// [`redact_urls_in`]); never before `min_end`, the end of its `://`.
fn written_in(text: &str, start: usize, min_end: usize, mut end: usize) -> usize {
    let url = &text[start..end];
    let (mut round, mut square) = (0_isize, 0_isize);
    // The brackets are counted only for a URL that ends in one, or in punctuation.
    if url
        .bytes()
        .last()
        .is_some_and(|last| !last.is_ascii_alphanumeric() && last != b'/')
    {
        for byte in url.bytes() {
            match byte {
                b'(' => round += 1,
                b')' => round -= 1,
                b'[' => square += 1,
                b']' => square -= 1,
                _ => {}
            }
        }
    }
    let quoted = text[..start].ends_with('\'');
    while end > min_end {
        let trim = match text.as_bytes()[end - 1] {
            b'.' | b',' | b';' | b':' | b'!' | b'?' => true,
            b')' if round < 0 => {
                round += 1;
                true
            }
            b']' if square < 0 => {
                square += 1;
                true
            }
            b'\'' => quoted,
            _ => false,
        };
        if !trim {
            break;
        }
        end -= 1;
    }
    end
}

/// `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986): a `://` later in the text
/// (in a query, say) starts no authority.
fn is_scheme(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// A query string (without its `?`) with the values of [`REDACTED_QUERY_PARAMETERS`] as
/// [`REDACTED`], as the conventions write `url.query`; `None` when there is nothing to
/// redact.
///
/// ```
/// use nais_otel_tower::redact::redact_query;
///
/// assert_eq!(
///     redact_query("X-Goog-Signature=abc&page=2").as_deref(),
///     Some("X-Goog-Signature=REDACTED&page=2"),
/// );
/// assert_eq!(redact_query("page=2"), None);
/// ```
pub fn redact_query(query: &str) -> Option<String> {
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut start = 0;
    // `;` separates parameters too, as some servers read them.
    for pair in query.split(['&', ';']) {
        let end = start + pair.len();
        if let Some((name, value)) = pair.split_once('=') {
            let redacted = if value.is_empty() || value == REDACTED {
                None
            } else if redacted_parameter(name) {
                Some(Cow::Borrowed(REDACTED))
            } else {
                // A URL passed on (`?next=https://u:p@h/?token=…`) is redacted as one, as
                // it is or percent-encoded as a whole.
                redact_urls_in(value)
                    .or_else(|| redact_encoded_url(value))
                    .map(Cow::Owned)
            };
            if let Some(redacted) = redacted {
                let value_start = start + name.len() + 1;
                let out = out.get_or_insert_with(|| String::with_capacity(query.len()));
                out.push_str(&query[copied..value_start]);
                out.push_str(&redacted);
                copied = end;
            }
        }
        start = end + 1;
    }
    let mut out = out?;
    out.push_str(&query[copied..]);
    Some(out)
}

/// A query value that is a URL percent-encoded as a whole (`https%3A%2F%2Fu%3Apw%40h%2F…`,
/// as `encodeURIComponent` writes a URL passed on), redacted as [`redact_url`] redacts
/// one and encoded again; `None` when it holds no such URL or nothing to redact.
fn redact_encoded_url(value: &str) -> Option<String> {
    /// `://` encoded, in any case of the hex digits.
    const ENCODED: &[u8] = b"%3a%2f%2f";
    let bytes = value.as_bytes();
    let holds = bytes.len() >= ENCODED.len()
        && memchr::memchr(b'%', bytes).is_some()
        && bytes
            .windows(ENCODED.len())
            .any(|window| window.eq_ignore_ascii_case(ENCODED));
    if !holds {
        return None;
    }
    let redacted = redact_urls_in(&nais_otel_propagation::percent_decode(value))?;
    let mut out = String::with_capacity(redacted.len() + redacted.len() / 2);
    for byte in redacted.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
    Some(out)
}

/// A path with the values of its parameters (`;name=value` after a segment, as in
/// `/cart;jsessionid=…`) that [`REDACTED_QUERY_PARAMETERS`] lists as [`REDACTED`], as the
/// conventions ask of identifiable secrets in `url.path`; `None` when there is nothing to
/// redact.
///
/// ```
/// use nais_otel_tower::redact::redact_path;
///
/// assert_eq!(
///     redact_path("/cart;jsessionid=F00D/items;page=2").as_deref(),
///     Some("/cart;jsessionid=REDACTED/items;page=2"),
/// );
/// assert_eq!(redact_path("/cart/items"), None);
/// ```
pub fn redact_path(path: &str) -> Option<String> {
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut from = 0;
    while let Some(semicolon) = memchr::memchr(b';', &path.as_bytes()[from..]) {
        let start = from + semicolon + 1;
        let end = path[start..]
            .find([';', '/'])
            .map_or(path.len(), |end| start + end);
        if let Some((name, value)) = path[start..end].split_once('=') {
            if !value.is_empty() && value != REDACTED && redacted_parameter(name) {
                let value_start = start + name.len() + 1;
                let out = out.get_or_insert_with(|| String::with_capacity(path.len()));
                out.push_str(&path[copied..value_start]);
                out.push_str(REDACTED);
                copied = end;
            }
        }
        from = end;
    }
    let mut out = out?;
    out.push_str(&path[copied..]);
    Some(out)
}

/// Whether the values of query parameter `name` (as written, or percent-encoded) are
/// redacted.
fn redacted_parameter(name: &str) -> bool {
    let name: Cow<'_, str> = if name.contains('%') {
        Cow::Owned(nais_otel_propagation::percent_decode(name))
    } else {
        Cow::Borrowed(name)
    };
    REDACTED_QUERY_PARAMETERS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_signatures_redacted() {
        #[rustfmt::skip]
        let cases = [
            ("https://user:secret@api.example/path", Some("https://REDACTED:REDACTED@api.example/path")),
            ("http://token@api.example", Some("http://REDACTED:REDACTED@api.example")),
            ("http://a@b@api.example:81/x", Some("http://REDACTED:REDACTED@api.example:81/x")),
            ("https://api.example/a@b", None),
            ("https://api.example/?q=a@b", None),
            ("https://s3.example/o?AWSAccessKeyId=AKIA&Signature=c2ln&Expires=1",
             Some("https://s3.example/o?AWSAccessKeyId=REDACTED&Signature=REDACTED&Expires=1")),
            ("https://x.example/?SIG=1#frag?sig=2", Some("https://x.example/?SIG=REDACTED#frag?sig=2")),
            ("https://x.example/#frag?sig=2", None),
            ("https://REDACTED:REDACTED@x.example/?sig=REDACTED", None),
            ("https://REDACTED:REDACTED@x.example/?sig=1", Some("https://REDACTED:REDACTED@x.example/?sig=REDACTED")),
            ("https://u:p@x.example/?access_token=t&a=b#f",
             Some("https://REDACTED:REDACTED@x.example/?access_token=REDACTED&a=b#f")),
            ("/cb?id_token=e30&state=1", Some("/cb?id_token=REDACTED&state=1")),
            ("https://x.example/?sig=&sig=REDACTED&signature2=x", None),
            ("https://x.example/?X%2DGoog%2DSignature=abc", Some("https://x.example/?X%2DGoog%2DSignature=REDACTED")),
            ("https://x.example/?%ZZ=1&%=2&sig", None),
            ("not a url", None),
            ("/r?sig=1&next=https://u:p@x", Some("/r?sig=REDACTED&next=https://REDACTED:REDACTED@x")),
            ("/r?next=https://u:p@x", Some("/r?next=https://REDACTED:REDACTED@x")),
            ("/r?next=https://x/y", None),
            ("postgresql://db.example:5432/app?user=app&password=hunter2&sslmode=require",
             Some("postgresql://db.example:5432/app?user=app&password=REDACTED&sslmode=require")),
            ("/token?grant_type=x&client_assertion=eyJ.e30.c2ln&client_id=a",
             Some("/token?grant_type=x&client_assertion=REDACTED&client_id=a")),
            ("https://maps.example/geocode?address=Oslo&KEY=AIza", Some("https://maps.example/geocode?address=Oslo&KEY=REDACTED")),
            ("/cart?JSESSIONID=F00&Pwd=x&monkey=1", Some("/cart?JSESSIONID=REDACTED&Pwd=REDACTED&monkey=1")),
            ("/a?a=1;password=hunter2;b=2", Some("/a?a=1;password=REDACTED;b=2")),
            ("https://h/login?next=https://u:pw@i/x?token=abc&a=1",
             Some("https://h/login?next=https://REDACTED:REDACTED@i/x?token=REDACTED&a=1")),
            ("https://h/cart;jsessionid=F00/x;v=1?page=2", Some("https://h/cart;jsessionid=REDACTED/x;v=1?page=2")),
            ("/cart;jsessionid=F00#frag?sig=1", Some("/cart;jsessionid=REDACTED#frag?sig=1")),
            ("https://u:p@h/cart;jsessionid=F00?sig=S#f",
             Some("https://REDACTED:REDACTED@h/cart;jsessionid=REDACTED?sig=REDACTED#f")),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_url(url).as_deref(), expected, "{url}");
        }
    }

    /// Generated texts from the characters that matter: never a panic, and a second
    /// pass finds nothing left to redact.
    #[test]
    fn generated_urls() {
        const PIECES: &[&str] = &[
            "https", "://", "/", "?", "#", "&", "=", "@", ":", "u", "sig", "token", "%", "%2D",
            "x", "REDACTED", "[::1]", ";", "é",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut url = String::new();
            for _ in 0..12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                url.push_str(PIECES[(state % PIECES.len() as u64) as usize]);
            }
            if let Some(redacted) = redact_url(&url) {
                let again = redact_url(&redacted);
                assert!(again.is_none(), "{url} -> {redacted} -> {again:?}");
            }
            let _ = redact_query(&url);
            if let Some(redacted) = redact_urls_in(&url) {
                assert_eq!(redact_urls_in(&redacted), None, "{url} -> {redacted}");
            }
        }
    }

    #[test]
    fn holds_url_agrees_with_a_plain_search() {
        // Texts of every length up to 40 from an alphabet heavy in `:` and `/`, every
        // start within the words.
        let alphabet = b":/a\xff";
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 41) as usize;
            let text: Vec<u8> = (0..len)
                .map(|i| alphabet[((state >> (i % 32 * 2)) & 3) as usize])
                .collect();
            let plain = text.windows(3).any(|w| w == b"://");
            assert_eq!(holds_url(&text), plain, "{text:?}");
        }
    }

    #[test]
    fn urls_in_text_redacted() {
        #[rustfmt::skip]
        let cases = [
            ("error sending request for url (http://127.0.0.1:1/x?sig=S&a=1)",
             Some("error sending request for url (http://127.0.0.1:1/x?sig=REDACTED&a=1)")),
            ("two: https://u:p@a.example/ and \"http://b.example/?token=t\"",
             Some("two: https://REDACTED:REDACTED@a.example/ and \"http://b.example/?token=REDACTED\"")),
            ("no secret in https://a.example/?page=2", None),
            ("://?sig=1 and a bare ://", Some("://?sig=REDACTED and a bare ://")),
            ("é://x?sig=1", Some("é://x?sig=REDACTED")),
            ("", None),
            ("url (https://a.blob.core.windows.net/c/report%20(1).pdf?sv=1&sig=S)",
             Some("url (https://a.blob.core.windows.net/c/report%20(1).pdf?sv=1&sig=REDACTED)")),
            ("url (http://nais:pa(ss'w)ord@h:1/odata/People('x')?access_token=S)",
             Some("url (http://REDACTED:REDACTED@h:1/odata/People('x')?access_token=REDACTED)")),
            ("see 'https://h/x?token=S'.", Some("see 'https://h/x?token=REDACTED'.")),
            ("[https://h/x?sig=S], then", Some("[https://h/x?sig=REDACTED], then")),
            ("at https://[::1]:8080/x?sig=S.", Some("at https://[::1]:8080/x?sig=REDACTED.")),
            ("\u{1b}[2m=\u{1b}[0mhttps://nais:pw@h.example/x", Some("\u{1b}[2m=\u{1b}[0mhttps://REDACTED:REDACTED@h.example/x")),
            ("x 0https://u:pw@h/ and foo%20https://u:pw@h/",
             Some("x 0https://REDACTED:REDACTED@h/ and foo%20https://REDACTED:REDACTED@h/")),
            ("`https://u:pw@h/`", Some("`https://REDACTED:REDACTED@h/`")),
            ("https://h/x?sig=S)))", Some("https://h/x?sig=REDACTED)))")),
            ("go to /login?next=https://u:pw@h.example/x?token=abc&a=1",
             Some("go to /login?next=https://REDACTED:REDACTED@h.example/x?token=REDACTED&a=1")),
            ("error connecting to jdbc:postgresql://db:5432/app?user=app&password=pw: refused",
             Some("error connecting to jdbc:postgresql://db:5432/app?user=app&password=REDACTED: refused")),
        ];
        for (text, expected) in cases {
            assert_eq!(redact_urls_in(text).as_deref(), expected, "{text}");
        }
    }

    #[test]
    fn query_redacted_in_place() {
        #[rustfmt::skip]
        let cases = [
            ("sig=a", Some("sig=REDACTED")),
            ("a=1&&token=abc&b=2&token=def", Some("a=1&&token=REDACTED&b=2&token=REDACTED")),
            ("a=1&b=2", None),
            ("", None),
            ("tokens=1&my_token=2", None),
        ];
        for (query, expected) in cases {
            assert_eq!(redact_query(query).as_deref(), expected, "{query}");
        }
    }

    /// `text` percent-encoded as `encodeURIComponent` writes it, with hex digits in
    /// `upper` or lower case.
    fn encode_component(text: &str, upper: bool) -> String {
        text.bytes()
            .map(|byte| {
                if byte.is_ascii_alphanumeric() || b"-._~!*'()".contains(&byte) {
                    char::from(byte).to_string()
                } else if upper {
                    format!("%{byte:02X}")
                } else {
                    format!("%{byte:02x}")
                }
            })
            .collect()
    }

    /// A URL passed on in a query parameter, percent-encoded as a whole: redacted as the
    /// URL itself is, every credential and secret value gone, in either case of hex.
    #[test]
    fn a_url_encoded_as_a_whole_in_a_query_is_redacted() {
        let urls = [
            "https://nais:s3cr3t-pw@api.example/dogs?token=s3cr3t-token&page=2",
            "http://s3cr3t-user@api.example/",
            "postgres://app:s3cr3t-pw@db.example:5432/dogs?password=s3cr3t-db",
            "https://api.example/cb?code=1&client_secret=s3cr3t-client#frag",
            "https://api.example/dogs/æøå?sig=s3cr3t-sig",
        ];
        for url in urls {
            let redacted = redact_url(url).expect(url);
            for upper in [true, false] {
                let encoded = encode_component(url, upper);
                for query in [format!("next={encoded}"), format!("a=1&next={encoded}&b=2")] {
                    let out = redact_query(&query).expect(&query);
                    assert!(!out.contains("s3cr3t"), "{query} -> {out}");
                    let value = out
                        .split('&')
                        .find_map(|pair| pair.strip_prefix("next="))
                        .expect(&out);
                    assert_eq!(
                        nais_otel_propagation::percent_decode(value),
                        redacted,
                        "{query}"
                    );
                    assert!(out.starts_with(&query[..query.find("next=").unwrap_or(0)]));
                }
            }
        }
        // A URL with nothing to redact, and encoded text that is no URL, stay as they are.
        for query in [
            format!(
                "next={}",
                encode_component("https://api.example/dogs?page=2", true)
            ),
            "q=a%3A%2F%2F".to_owned(),
            "q=100%25".to_owned(),
        ] {
            assert_eq!(redact_query(&query), None, "{query}");
        }
    }
}
