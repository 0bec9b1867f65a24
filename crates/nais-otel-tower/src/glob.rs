//! A tiny glob matcher for request paths.
//!
//! We write our own instead of pulling in `glob`/`globset`: the only syntax we need is
//! `*` (any run of characters, including `/`) and `?` (one character), it runs on every
//! request before we know whether to trace it, and it must not allocate so that a skipped
//! request costs next to nothing. Patterns are split at their stars once, when the layer is
//! built; a match is then an anchored prefix/suffix comparison plus a leftmost search per
//! middle piece, comparing bytes ASCII-case-insensitively.

/// A glob split at its stars once, when the layer is built, so matching a path is a
/// few anchored comparisons instead of a backtracking walk (the NAIS defaults are all
/// `*literal`, `*literal*` or `*literal/*`).
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    source: std::borrow::Cow<'static, str>,
    /// The literal pieces between stars (may contain `?`), ASCII-lowercased.
    pieces: Vec<Box<[u8]>>,
    /// Whether a piece contains `?` (matching then compares byte by byte).
    wild: bool,
    starts_with_star: bool,
    ends_with_star: bool,
    min_len: usize,
    /// The last byte a matching path must end with (ASCII-lowercased), when the pattern
    /// ends with a literal byte: a one-byte check that rejects most paths before any loop.
    last_byte: Option<u8>,
}

impl Glob {
    pub(crate) fn new(source: std::borrow::Cow<'static, str>) -> Self {
        let pieces: Vec<Box<[u8]>> = source
            .split('*')
            .filter(|p| !p.is_empty())
            .map(|p| p.to_ascii_lowercase().into_bytes().into())
            .collect();
        Self {
            wild: source.contains('?'),
            starts_with_star: source.starts_with('*'),
            ends_with_star: source.ends_with('*'),
            min_len: pieces.iter().map(|p| p.len()).sum(),
            last_byte: match source.as_bytes().last() {
                Some(b'*' | b'?') | None => None,
                Some(b) => Some(b.to_ascii_lowercase()),
            },
            pieces,
            source,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.source
    }

    /// Same result as [`matches`] on the source pattern; does not allocate.
    #[inline]
    pub(crate) fn matches(&self, path: &str) -> bool {
        let bytes = path.as_bytes();
        if bytes.len() < self.min_len {
            return false;
        }
        if let (Some(want), Some(last)) = (self.last_byte, bytes.last()) {
            if last.to_ascii_lowercase() != want {
                return false;
            }
        }
        self.matches_slow(bytes)
    }

    fn matches_slow(&self, path: &[u8]) -> bool {
        let mut pieces: &[Box<[u8]>] = &self.pieces;
        if pieces.is_empty() {
            // The pattern is empty or only stars.
            return self.starts_with_star || path.is_empty();
        }
        let (mut start, mut end) = (0, path.len());
        if !self.starts_with_star {
            let first = &pieces[0];
            if !piece_eq(first, &path[..first.len()], self.wild) {
                return false;
            }
            start = first.len();
            pieces = &pieces[1..];
            if pieces.is_empty() {
                return self.ends_with_star || start == end;
            }
        }
        if !self.ends_with_star {
            if let Some((last, rest)) = pieces.split_last() {
                if end - start < last.len() || !piece_eq(last, &path[end - last.len()..], self.wild)
                {
                    return false;
                }
                end -= last.len();
                pieces = rest;
            }
        }
        // Each middle piece at its leftmost place: greedy is right for `*` globs.
        for piece in pieces {
            match find(piece, &path[start..end], self.wild) {
                Some(at) => start += at + piece.len(),
                None => return false,
            }
        }
        true
    }
}

/// Whether `bytes` matches `piece` (ASCII-lowercased) without regard to ASCII case; with
/// `wild`, a `?` in `piece` matches any byte.
fn piece_eq(piece: &[u8], bytes: &[u8], wild: bool) -> bool {
    if piece.len() != bytes.len() {
        return false;
    }
    if wild {
        return piece
            .iter()
            .zip(bytes)
            .all(|(p, b)| *p == b'?' || *p == b.to_ascii_lowercase());
    }
    // Eight bytes at a time: an excluded path's check (`/isAlive` against `*/isAlive`) is
    // one word compared, not a loop over eight bytes. Measured by `cargo bench --bench
    // http_layer`, row `nais-otel-tower ServerLayer, excluded route (/isAlive)`.
    let mut piece_words = piece.chunks_exact(8);
    let mut byte_words = bytes.chunks_exact(8);
    for (p, b) in piece_words.by_ref().zip(byte_words.by_ref()) {
        if word(p) != lowercase_word(word(b)) {
            return false;
        }
    }
    piece_words
        .remainder()
        .iter()
        .zip(byte_words.remainder())
        .all(|(p, b)| *p == b.to_ascii_lowercase())
}

/// A chunk of eight bytes as a word (little-endian).
fn word(bytes: &[u8]) -> u64 {
    let mut word = [0; 8];
    for (w, b) in word.iter_mut().zip(bytes) {
        *w = *b;
    }
    u64::from_le_bytes(word)
}

/// `to_ascii_lowercase` of each byte of a word: `A`–`Z` get bit 5 set; every other byte,
/// non-ASCII ones included, is left as it is.
fn lowercase_word(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The low seven bits of each byte, plus a bias whose carry lands in the byte's high
    // bit: at least `A`, and above `Z`. No carry crosses into the next byte.
    let low = x & !HIGH;
    let at_least_a = low + (0x80 - u64::from(b'A')) * ONES;
    let above_z = low + (0x7f - u64::from(b'Z')) * ONES;
    let upper = at_least_a & !above_z & !x & HIGH;
    x | (upper >> 2)
}

fn find(piece: &[u8], haystack: &[u8], wild: bool) -> Option<usize> {
    if piece.len() > haystack.len() {
        return None;
    }
    (0..=haystack.len() - piece.len())
        .find(|&i| piece_eq(piece, &haystack[i..i + piece.len()], wild))
}

/// The reference matcher the compiled [`Glob`] is tested against: returns `true` when
/// `path` matches `pattern`, ignoring ASCII case.
///
/// `*` matches any run of bytes (also `/`), `?` matches exactly one byte; every other
/// byte matches itself without regard to ASCII case.
#[cfg(test)]
pub(crate) fn matches(pattern: &str, path: &str) -> bool {
    let pattern = pattern.as_bytes();
    let path = path.as_bytes();
    let (mut p, mut s) = (0, 0);
    // Where to resume after the last `*`: (pattern index after the star, path index).
    let mut backtrack: Option<(usize, usize)> = None;

    while s < path.len() {
        match pattern.get(p) {
            Some(b'*') => {
                p += 1;
                backtrack = Some((p, s));
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&path[s]) => {
                p += 1;
                s += 1;
            }
            _ => match backtrack {
                // Let the last star swallow one more byte and retry from there.
                Some((bp, bs)) => {
                    p = bp;
                    s = bs + 1;
                    backtrack = Some((bp, bs + 1));
                }
                None => return false,
            },
        }
    }
    // The path is used up: the rest of the pattern must be stars only.
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::{lowercase_word, matches, Glob};

    #[rustfmt::skip]
    const CASES: &[(&str, &str, bool, &str)] = &[
        ("*/isAlive",          "/isAlive",                    true,  "leading star matches the empty prefix"),
        ("*/isAlive",          "/ISALIVE",                    true,  "ASCII case is ignored"),
        ("*/isAlive",          "/internal/isalive",           true,  "leading star spans slashes"),
        ("*/isAlive",          "/isAlive/",                   false, "a trailing slash is a different path"),
        ("*/isAlive",          "/isAliveAndWell",             false, "no implicit trailing star"),
        ("*/actuator/*",       "/actuator/health",            true,  "star at both ends"),
        ("*/actuator/*",       "/app/actuator/",              true,  "trailing star matches the empty rest"),
        ("*/actuator/*",       "/actuator",                   false, "the slash before the star is required"),
        ("*/internal/health*", "/internal/health/liveness",   true,  "trailing star spans slashes"),
        ("*/internal/health*", "/internal/healthz",           true,  "trailing star matches a suffix"),
        ("*/internal/health*", "/internal/heal",              false, "pattern longer than the path"),
        ("/a?c",               "/abc",                        true,  "question mark matches one byte"),
        ("/a?c",               "/ac",                         false, "question mark needs a byte"),
        ("*a*b*c",             "/xaxbxbxc",                   true,  "several stars backtrack"),
        ("*a*b*c",             "/xaxbxbxcx",                  false, "several stars still anchor the end"),
        ("",                   "",                            true,  "empty matches empty"),
        ("*",                  "",                            true,  "star matches empty"),
        ("/users",             "/users",                      true,  "literal pattern"),
        ("/users",             "/user",                       false, "literal pattern is anchored"),
        ("*/grpc.health.v1.Health/*", "/grpc.health.v1.Health/Check", true, "gRPC health"),
    ];

    #[test]
    fn table() {
        for (pattern, path, expected, reason) in CASES {
            assert_eq!(
                matches(pattern, path),
                *expected,
                "{pattern} vs {path}: {reason}"
            );
        }
    }

    /// Every byte value, eight at a time in each position: the word lowercases as
    /// `to_ascii_lowercase` does byte by byte.
    #[test]
    fn word_lowercases_as_bytes_do() {
        for first in 0..=255u8 {
            let bytes: [u8; 8] =
                std::array::from_fn(|i| first.wrapping_add((i as u8).wrapping_mul(37)));
            let expected = bytes.map(|b| b.to_ascii_lowercase());
            assert_eq!(
                lowercase_word(u64::from_le_bytes(bytes)),
                u64::from_le_bytes(expected),
                "{bytes:?}"
            );
        }
    }

    /// The compiled glob matches as the reference matcher does: the table, and every
    /// pattern and path made of a few pieces that cross the eight-byte words, in mixed
    /// case, with non-ASCII bytes and the bytes next to `A` and `Z`.
    #[test]
    fn compiled_glob_matches_as_the_reference() {
        for (pattern, path, expected, reason) in CASES {
            let glob = Glob::new(std::borrow::Cow::Borrowed(*pattern));
            assert_eq!(
                glob.matches(path),
                *expected,
                "{pattern} vs {path}: {reason}"
            );
        }
        let pattern_pieces = [
            "*",
            "?",
            "/isAlive",
            "/a",
            "Z",
            "/internal/health",
            "é",
            "*/",
        ];
        let path_pieces = [
            "/ISALIVE",
            "/isalive",
            "/a",
            "/A",
            "z",
            "@[",
            "é",
            "/internal/HEALTH",
            "",
        ];
        let mut checked = 0;
        // Three pieces too: middle pieces of eight bytes and more, searched at any offset.
        for a in ["*", "?", "/a"] {
            for b in ["/isAlive", "/internal/health", "?/a"] {
                for c in ["*", "Z", "/isAlive*"] {
                    let pattern = format!("{a}*{b}*{c}");
                    let glob = Glob::new(std::borrow::Cow::Owned(pattern.clone()));
                    for path in [
                        "/x/ISALIVE/z",
                        "/a/internal/HEALTH/isalive",
                        "//isAlive/isAlive",
                        "/é/Internal/Health/aZ",
                        "/internal/heal",
                    ] {
                        assert_eq!(
                            glob.matches(path),
                            matches(&pattern, path),
                            "{pattern} vs {path}"
                        );
                    }
                }
            }
        }
        for a in pattern_pieces {
            for b in pattern_pieces {
                let pattern = format!("{a}{b}");
                let glob = Glob::new(std::borrow::Cow::Owned(pattern.clone()));
                for x in path_pieces {
                    for y in path_pieces {
                        let path = format!("{x}{y}");
                        assert_eq!(
                            glob.matches(&path),
                            matches(&pattern, &path),
                            "{pattern} vs {path}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 64 * 81);
    }
}
