//! One bad value in the environment, as reported by `init()`.

use std::fmt;

/// One bad value in the environment: the variable, the value and what was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The variable.
    pub variable: &'static str,
    /// The value as read (redacted where it could hold a secret).
    pub value: String,
    /// What is wrong and what is used instead.
    pub message: String,
}

impl ConfigProblem {
    pub(crate) fn new(variable: &'static str, value: &str, message: impl Into<String>) -> Self {
        Self {
            variable,
            value: value.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}: {}", self.variable, self.value, self.message)
    }
}

impl std::error::Error for ConfigProblem {}
