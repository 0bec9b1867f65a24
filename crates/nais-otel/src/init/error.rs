//! [`InitError`]: why `init()` refused to start.

use std::{error::Error, fmt};

#[cfg(doc)]
use super::init;

/// Why [`init`] refused to start. See [`InitError::kind`].
#[derive(Debug)]
pub struct InitError {
    kind: InitErrorKind,
    message: String,
    source: Option<Box<dyn Error + Send + Sync>>,
}

/// What kind of [`InitError`] it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitErrorKind {
    /// The collector endpoint is not a usable URL (the message names the
    /// variable and the value).
    InvalidEndpoint,
    /// The exporter could not be set up (a thread or runtime refused, or TLS).
    Exporter,
    /// `init()` ran before in this process and installed the globals, which are
    /// installed once; a second pipeline is built with `Builder::with_globals(false)`.
    AlreadyInitialized,
}

impl InitError {
    pub(super) fn new(kind: InitErrorKind, message: String) -> Self {
        Self {
            kind,
            message,
            source: None,
        }
    }

    /// The error underneath: the bad value, or what the exporter set-up reported.
    pub(super) fn with_source(mut self, source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of error it is.
    pub fn kind(&self) -> InitErrorKind {
        self.kind
    }
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nais-otel: {}", self.message)
    }
}

impl Error for InitError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use crate::config::ConfigProblem;

    #[test]
    fn an_invalid_endpoint_is_the_source() {
        let error = crate::builder()
            .with_env_lookup(|name| {
                (name == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "ftp://collector:4317".to_owned())
            })
            .with_globals(false)
            .init()
            .expect_err("an ftp endpoint is refused");
        let problem = error
            .source()
            .and_then(|source| source.downcast_ref::<ConfigProblem>())
            .expect("the problem is the source");
        assert_eq!(problem.variable, "OTEL_EXPORTER_OTLP_ENDPOINT");
        assert_eq!(problem.value, "ftp://collector:4317");
    }
}
