//! A tiny glob matcher for request paths.
//!
//! We write our own instead of pulling in `glob`/`globset`: the only syntax we need is
//! `*` (any run of characters, including `/`) and `?` (one character), it runs on every
//! request before we know whether to trace it, and it must not allocate so that a skipped
//! request costs next to nothing. This is the classic linear-time wildcard matcher with a
//! single backtrack point, comparing bytes ASCII-case-insensitively.

/// Returns `true` when `path` matches `pattern`, ignoring ASCII case.
///
/// `*` matches any run of bytes (also `/`), `?` matches exactly one byte; every other
/// byte matches itself without regard to ASCII case.
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
