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
    /// The literal pieces between stars (may contain `?`).
    pieces: Vec<Box<[u8]>>,
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
            .map(|p| p.as_bytes().into())
            .collect();
        Self {
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

    /// The byte (ASCII-lowercased) a matching path ends with, when the pattern ends in one.
    pub(crate) fn last_byte(&self) -> Option<u8> {
        self.last_byte
    }

    /// The length a matching path has at least.
    pub(crate) fn min_len(&self) -> usize {
        self.min_len
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
            if !piece_eq(first, &path[..first.len()]) {
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
                if end - start < last.len() || !piece_eq(last, &path[end - last.len()..]) {
                    return false;
                }
                end -= last.len();
                pieces = rest;
            }
        }
        // Each middle piece at its leftmost place: greedy is right for `*` globs.
        for piece in pieces {
            match find(piece, &path[start..end]) {
                Some(at) => start += at + piece.len(),
                None => return false,
            }
        }
        true
    }
}

fn piece_eq(piece: &[u8], bytes: &[u8]) -> bool {
    piece.len() == bytes.len()
        && piece
            .iter()
            .zip(bytes)
            .all(|(p, b)| *p == b'?' || p.eq_ignore_ascii_case(b))
}

fn find(piece: &[u8], haystack: &[u8]) -> Option<usize> {
    if piece.len() > haystack.len() {
        return None;
    }
    (0..=haystack.len() - piece.len()).find(|&i| piece_eq(piece, &haystack[i..i + piece.len()]))
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
    use super::matches;

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
}
