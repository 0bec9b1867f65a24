//! The text of a value whose `Debug` or `Display` may fail: what it wrote before it
//! failed. `format!` and `to_string` panic when a value's formatting fails, and a field
//! of a log line or a span must cost neither the line nor the service.

use std::fmt::{self, Write as _};

/// `value`'s `Debug` text, or what it wrote before failing.
pub(crate) fn debug(value: &dyn fmt::Debug) -> String {
    let mut text = String::new();
    let _ = write!(text, "{value:?}");
    text
}

/// `value`'s `Display` text, or what it wrote before failing.
pub(crate) fn display(value: &dyn fmt::Display) -> String {
    let mut text = String::new();
    let _ = write!(text, "{value}");
    text
}

/// `error`'s text and its sources' texts, joined by `: `, each what it wrote before
/// failing if it fails.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = display(error);
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        let _ = write!(text, "{cause}");
        source = cause.source();
    }
    text
}

/// A value whose `Debug` writes what the value's writes and never fails: for a formatter
/// that gives up on a field that fails (tracing-subscriber's text format drops the line,
/// or, for a span's field, panics in its report of the failure).
pub(crate) struct Lossy<'a>(pub(crate) &'a dyn fmt::Debug);

impl fmt::Debug for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = self.0.fmt(f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `partial ` and fails, as a broken `Debug` or `Display` may.
    struct Failing;

    impl fmt::Debug for Failing {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("partial ")?;
            Err(fmt::Error)
        }
    }

    impl fmt::Display for Failing {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(self, f)
        }
    }

    #[test]
    fn a_failing_value_gives_what_it_wrote() {
        assert_eq!(debug(&Failing), "partial ");
        assert_eq!(display(&Failing), "partial ");
        assert_eq!(debug(&"dog"), "\"dog\"");
        assert_eq!(display(&7), "7");
        assert_eq!(format!("{:?}", Lossy(&Failing)), "partial ");
    }

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn an_error_chain_is_its_texts_joined() {
        let error = Outer(std::io::Error::other("inner"));
        assert_eq!(error_chain(&error), "outer: inner");
    }
}
