//! Where and how spans are sent: the exporter, the OTLP protocol, headers,
//! compression, the request timeout and the TLS file paths.

use std::{fmt, path::PathBuf, time::Duration};

use super::{
    parse::{self, Lookup},
    problem::ConfigProblem,
    vars::*,
};

/// Where spans go (`OTEL_TRACES_EXPORTER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExporterKind {
    /// OTLP to a collector (the default).
    Otlp,
    /// One readable line a span on standard output.
    Console,
    /// Spans are made (trace ids reach the logs) but not exported.
    None,
}

/// The OTLP transport (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP/gRPC, what NAIS uses (the default).
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    HttpProtobuf,
}

impl Protocol {
    /// The name used in `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` or `http/protobuf`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }

    /// The protocol a (case-insensitive) name stands for, if it is a supported one.
    fn from_name(name: &str) -> Option<Self> {
        [Protocol::Grpc, Protocol::HttpProtobuf]
            .into_iter()
            .find(|protocol| protocol.as_str().eq_ignore_ascii_case(name))
    }
}

/// Request compression (`OTEL_EXPORTER_OTLP_COMPRESSION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// No compression (the default).
    #[default]
    None,
    /// gzip.
    Gzip,
}

/// Collector request headers. `Debug` shows the names, never the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, _)| (name, "<redacted>")))
            .finish()
    }
}

/// TLS files for an `https` collector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA certificates to trust, in addition to the system's.
    pub certificate: Option<PathBuf>,
    /// A client certificate for mutual TLS.
    pub client_certificate: Option<PathBuf>,
    /// The client certificate's private key.
    pub client_key: Option<PathBuf>,
}

pub(super) fn read_exporter(
    lookup: &Lookup<'_>,
    problems: &mut Vec<ConfigProblem>,
) -> ExporterKind {
    let Some(value) = parse::get(lookup, OTEL_TRACES_EXPORTER) else {
        return ExporterKind::Otlp;
    };
    // The specification allows a list; one trace exporter is all that makes sense
    // here, so the first known name wins and the others are reported.
    let mut chosen = None;
    for name in parse::entries(&value) {
        let kind = match name.to_ascii_lowercase().as_str() {
            "otlp" => ExporterKind::Otlp,
            "console" | "logging" => ExporterKind::Console,
            "none" => ExporterKind::None,
            _ => {
                problems.push(ConfigProblem::new(
                    OTEL_TRACES_EXPORTER,
                    &value,
                    format!("unknown exporter `{name}`; known: otlp, console, none"),
                ));
                continue;
            }
        };
        if chosen.is_some() {
            problems.push(ConfigProblem::new(
                OTEL_TRACES_EXPORTER,
                &value,
                format!("only one trace exporter is supported; ignoring `{name}`"),
            ));
        } else {
            chosen = Some(kind);
        }
    }
    chosen.unwrap_or(ExporterKind::Otlp)
}

/// The variables that name the protocol, the most specific first.
pub(crate) const PROTOCOL_VARIABLES: [&str; 3] = [
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_PROTOCOL,
];

pub(super) fn read_protocol(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> Protocol {
    parse::first_accepted(lookup, &PROTOCOL_VARIABLES, "grpc", problems, |value| {
        Protocol::from_name(value).ok_or_else(|| {
            if value.eq_ignore_ascii_case("http/json") {
                "http/json is not supported".to_owned()
            } else {
                "expected `grpc` or `http/protobuf`".to_owned()
            }
        })
    })
    .unwrap_or(Protocol::Grpc)
}

pub(super) fn read_headers(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> Headers {
    // The traces variable replaces the generic one, it does not add to it.
    let Some((name, value)) = parse::first(
        lookup,
        &[
            OTEL_EXPORTER_OTLP_TRACES_HEADERS,
            OTEL_EXPORTER_OTLP_HEADERS,
        ],
    ) else {
        return Headers::default();
    };
    let mut bad = Vec::new();
    let pairs = parse::key_value_list(&value, |index, member| {
        // Never echo a header value: it is usually a credential.
        let shown = member
            .split_once('=')
            .map_or_else(|| "<no `=`>".to_owned(), |(key, _)| safe_key(key));
        bad.push(ConfigProblem::new(
            name,
            "<redacted>",
            format!(
                "member {} (`{shown}`) is not `name=value`; skipped",
                index + 1
            ),
        ));
    });
    problems.extend(bad);
    let mut headers = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        let key = key.to_ascii_lowercase();
        if http::HeaderName::from_bytes(key.as_bytes()).is_err()
            || http::HeaderValue::from_str(&value).is_err()
        {
            problems.push(ConfigProblem::new(
                name,
                "<redacted>",
                format!(
                    "header `{}` is not a valid HTTP header; skipped",
                    safe_key(&key)
                ),
            ));
            continue;
        }
        headers.push((key, value));
    }
    Headers(headers)
}

/// The part of a would-be header name that is safe to show: up to the first
/// character that cannot be in a header name. `Authorization: Basic dXNl...=`
/// (curl style, split at the `=` of the base64) shows as `Authorization…`.
fn safe_key(key: &str) -> String {
    let end = key
        .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .unwrap_or(key.len());
    let end = end.min(64);
    if end < key.len() {
        format!("{}…", &key[..end])
    } else {
        key.to_owned()
    }
}

/// `OTEL_EXPORTER_OTLP_TIMEOUT`: a zero keeps the default; a bad traces value gives way to
/// the generic one.
pub(super) fn read_timeout(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> Duration {
    parse::first_accepted(
        lookup,
        &[
            OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
            OTEL_EXPORTER_OTLP_TIMEOUT,
        ],
        "the default",
        problems,
        parse::millis_within,
    )
    .filter(|timeout| !timeout.is_zero())
    .unwrap_or(DEFAULT_EXPORT_TIMEOUT)
}

pub(super) fn read_compression(
    lookup: &Lookup<'_>,
    problems: &mut Vec<ConfigProblem>,
) -> Compression {
    parse::first_accepted(
        lookup,
        &[
            OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
            OTEL_EXPORTER_OTLP_COMPRESSION,
        ],
        "none",
        problems,
        |value| match value.to_ascii_lowercase().as_str() {
            "gzip" => Ok(Compression::Gzip),
            "none" => Ok(Compression::None),
            _ => Err("expected `gzip` or `none`".to_owned()),
        },
    )
    .unwrap_or(Compression::None)
}

/// The path in the first of `names` that is set, and that variable (the last of `names`
/// when none is).
fn read_path(lookup: &Lookup<'_>, names: [&'static str; 2]) -> (Option<PathBuf>, &'static str) {
    match parse::first(lookup, &names) {
        Some((name, value)) => (Some(PathBuf::from(value)), name),
        None => (None, names[1]),
    }
}

/// The variables the TLS paths come from: the traces-specific one when it is set.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TlsVariables {
    pub(crate) certificate: &'static str,
    pub(crate) client_certificate: &'static str,
    pub(crate) client_key: &'static str,
}

/// The paths of the TLS files, and the variables they come from; the files themselves
/// are read at start-up.
pub(super) fn read_tls_files(lookup: &Lookup<'_>) -> (TlsFiles, TlsVariables) {
    let (certificate, certificate_variable) = read_path(
        lookup,
        [
            OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
            OTEL_EXPORTER_OTLP_CERTIFICATE,
        ],
    );
    let (client_certificate, client_certificate_variable) = read_path(
        lookup,
        [
            OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE,
            OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
        ],
    );
    let (client_key, client_key_variable) = read_path(
        lookup,
        [
            OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY,
            OTEL_EXPORTER_OTLP_CLIENT_KEY,
        ],
    );
    (
        TlsFiles {
            certificate,
            client_certificate,
            client_key,
        },
        TlsVariables {
            certificate: certificate_variable,
            client_certificate: client_certificate_variable,
            client_key: client_key_variable,
        },
    )
}
