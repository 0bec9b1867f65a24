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
    }
}
