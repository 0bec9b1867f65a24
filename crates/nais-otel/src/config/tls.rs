//! The TLS files for an `https` collector, read into memory at start-up.
//!
//! Reading the files the environment names is configuration: a file that
//! cannot be read is a [`ConfigProblem`] like any bad value, and the exporter
//! receives the bytes, never a path.

use std::{fmt, path::Path, sync::Arc};

use rustls_pki_types::{pem::PemObject as _, CertificateDer, PrivateKeyDer};

use super::{
    exporter::{TlsFiles, TlsVariables},
    problem::ConfigProblem,
};

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

/// Reads the TLS files for an `https` endpoint. A file that cannot be read, or
/// that holds no certificate or key TLS can use, is reported and left out, so
/// the service still starts (and export still works where the system's roots
/// suffice).
pub(super) fn load(
    files: &TlsFiles,
    variables: TlsVariables,
    endpoint: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<TlsMaterial> {
    if !endpoint
        .get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https:"))
    {
        return None;
    }
    let TlsVariables {
        certificate: ca_variable,
        client_certificate: cert_variable,
        client_key: key_variable,
    } = variables;
    let mut material = TlsMaterial {
        ca: files
            .certificate
            .as_deref()
            .and_then(|path| read(problems, ca_variable, path)),
        identity: None,
    };
    if let (Some(ca), Some(path)) = (&material.ca, &files.certificate) {
        if let Err(why) = check_ca(ca) {
            unusable(problems, ca_variable, path, why);
            material.ca = None;
        }
    }
    match (&files.client_certificate, &files.client_key) {
        (Some(cert_path), Some(key_path)) => {
            let cert = read(problems, cert_variable, cert_path);
            let key = read(problems, key_variable, key_path);
            if let (Some(cert), Some(key)) = (cert, key) {
                match check_identity(&cert, &key) {
                    Ok(()) => material.identity = Some((cert, key)),
                    Err((Part::Certificate, why)) => {
                        unusable(problems, cert_variable, cert_path, why);
                    }
                    Err((Part::Key, why)) => unusable(problems, key_variable, key_path, why),
                }
            }
        }
        (Some(cert), None) => problems.push(ConfigProblem::new(
            cert_variable,
            &cert.display().to_string(),
            format!("a client certificate needs {key_variable} too; ignored"),
        )),
        (None, Some(key)) => problems.push(ConfigProblem::new(
            key_variable,
            &key.display().to_string(),
            format!("a client key needs {cert_variable} too; ignored"),
        )),
        (None, None) => {}
    }
    Some(material)
}

/// The most a TLS file may hold: a CA bundle of every public root is a few hundred KiB.
const MAX_TLS_FILE: u64 = 4 * 1024 * 1024;

/// The file at `path`; a problem when it cannot be read, is not a regular file (a FIFO
/// would block start-up until something writes to it, `/dev/zero` never ends), or holds
/// more than [`MAX_TLS_FILE`] bytes.
fn read(problems: &mut Vec<ConfigProblem>, variable: &'static str, path: &Path) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let contents = (|| {
        let metadata =
            std::fs::metadata(path).map_err(|error| format!("cannot read the file ({error})"))?;
        if !metadata.is_file() {
            return Err("not a regular file".to_owned());
        }
        let file =
            std::fs::File::open(path).map_err(|error| format!("cannot read the file ({error})"))?;
        let mut contents = Vec::new();
        file.take(MAX_TLS_FILE + 1)
            .read_to_end(&mut contents)
            .map_err(|error| format!("cannot read the file ({error})"))?;
        if contents.len() as u64 > MAX_TLS_FILE {
            return Err(format!("larger than {} MiB", MAX_TLS_FILE / 1024 / 1024));
        }
        Ok(contents)
    })();
    contents
        .map_err(|why| unusable(problems, variable, path, why))
        .ok()
}

/// A file that is left out, and why.
fn unusable(problems: &mut Vec<ConfigProblem>, variable: &'static str, path: &Path, why: String) {
    problems.push(ConfigProblem::new(
        variable,
        &path.display().to_string(),
        format!("{why}; ignored"),
    ));
}

/// Which file of a client identity is unusable.
pub(crate) enum Part {
    Certificate,
    Key,
}

/// Certificates in PEM, at least one.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("not a PEM certificate ({error})"))?;
    if certs.is_empty() {
        return Err("no PEM certificate in it".to_owned());
    }
    Ok(certs)
}

/// Adds the CA certificates in `pem` to `roots`: each one TLS can trust, at least one.
pub(crate) fn add_ca(roots: &mut rustls::RootCertStore, pem: &[u8]) -> Result<(), String> {
    for cert in certificates(pem)? {
        roots
            .add(cert)
            .map_err(|error| format!("not a certificate TLS can trust ({error})"))?;
    }
    Ok(())
}

/// A rustls client configuration trusting `roots`, with the ring provider named
/// explicitly (no process-wide provider choice can make it fail), presenting the client
/// certificate and key in `identity` when there is one.
pub(crate) fn client_config(
    roots: rustls::RootCertStore,
    identity: Option<(&[u8], &[u8])>,
) -> Result<rustls::ClientConfig, (Part, String)> {
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|error| (Part::Key, error.to_string()))?
    .with_root_certificates(roots);
    let Some((cert, key)) = identity else {
        return Ok(builder.with_no_client_auth());
    };
    let certs = certificates(cert).map_err(|why| (Part::Certificate, why))?;
    let key = PrivateKeyDer::from_pem_slice(key)
        .map_err(|error| (Part::Key, format!("not a PEM private key ({error})")))?;
    builder.with_client_auth_cert(certs, key).map_err(|error| {
        (
            Part::Key,
            format!("does not fit the client certificate ({error})"),
        )
    })
}

/// Whether `pem` holds CA certificates TLS can trust, as the exporter reads them.
fn check_ca(pem: &[u8]) -> Result<(), String> {
    add_ca(&mut rustls::RootCertStore::empty(), pem)
}

/// Whether a client certificate and key make an identity TLS can present.
fn check_identity(cert: &[u8], key: &[u8]) -> Result<(), (Part, String)> {
    client_config(rustls::RootCertStore::empty(), Some((cert, key))).map(|_| ())
}
