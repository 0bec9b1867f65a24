//! The TLS files for an `https` collector, read into memory at start-up.
//!
//! Reading the files the environment names is configuration: a file that
//! cannot be read is a [`ConfigProblem`] like any bad value, and the exporter
//! receives the bytes, never a path.

use std::{fmt, path::Path};

use super::{exporter::TlsFiles, problem::ConfigProblem, vars::*};

/// PEM bytes for TLS. `Debug` says what is present, never the bytes.
#[derive(Clone, Default)]
pub(crate) struct TlsMaterial {
    /// CA certificates to trust, in addition to the system's.
    pub(crate) ca: Option<Vec<u8>>,
    /// A client certificate and its private key, for mutual TLS.
    pub(crate) identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca", &self.ca.is_some())
            .field("identity", &self.identity.is_some())
            .finish()
    }
}

/// Reads the TLS files for an `https` endpoint. A file that cannot be read is
/// reported and left out, so the service still starts (and export still works
/// where the system's roots suffice).
pub(super) fn load(
    files: &TlsFiles,
    endpoint: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<TlsMaterial> {
    if !endpoint
        .get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https:"))
    {
        return None;
    }
    let mut read = |variable: &'static str, path: &Path| match std::fs::read(path) {
        Ok(pem) => Some(pem),
        Err(error) => {
            problems.push(ConfigProblem::new(
                variable,
                &path.display().to_string(),
                format!("cannot read the file ({error}); ignored"),
            ));
            None
        }
    };
    let mut material = TlsMaterial {
        ca: files
            .certificate
            .as_deref()
            .and_then(|path| read(OTEL_EXPORTER_OTLP_CERTIFICATE, path)),
        identity: None,
    };
    match (&files.client_certificate, &files.client_key) {
        (Some(cert), Some(key)) => {
            let cert = read(OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, cert);
            let key = read(OTEL_EXPORTER_OTLP_CLIENT_KEY, key);
            if let (Some(cert), Some(key)) = (cert, key) {
                material.identity = Some((cert, key));
            }
        }
        (Some(cert), None) => problems.push(ConfigProblem::new(
            OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
            &cert.display().to_string(),
            "a client certificate needs OTEL_EXPORTER_OTLP_CLIENT_KEY too; ignored",
        )),
        (None, Some(key)) => problems.push(ConfigProblem::new(
            OTEL_EXPORTER_OTLP_CLIENT_KEY,
            &key.display().to_string(),
            "a client key needs OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE too; ignored",
        )),
        (None, None) => {}
    }
    Some(material)
}
