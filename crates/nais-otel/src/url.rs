//! Credentials in URLs: the one place that knows how to take `user:password@`
//! out of a URL, for the collector endpoint and for URL span attributes alike.

/// The URL without `user:password@`, if it had any.
pub(crate) fn without_userinfo(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    Some(format!("{scheme}://{}", &rest[at + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_credentials() {
        #[rustfmt::skip]
        let cases = [
            ("https://user:secret@api.example/path", Some("https://api.example/path")),
            ("http://token@api.example", Some("http://api.example")),
            ("https://api.example/a@b", None),
            ("https://api.example/?q=a@b", None),
            ("not a url", None),
        ];
        for (url, expected) in cases {
            assert_eq!(without_userinfo(url).as_deref(), expected, "{url}");
        }
    }
}
