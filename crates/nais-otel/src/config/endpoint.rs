//! The collector endpoint: resolved as the OTLP exporter specification says,
//! stripped of credentials and checked.

use std::fmt;

use crate::url::without_userinfo;

use super::{
    exporter::Protocol,
    parse::{self, Lookup},
    problem::ConfigProblem,
    vars::*,
};

/// An endpoint as given, before the protocol decides its path: where it came
/// from, the URL with its scheme and without credentials, and the value as it
/// may be shown. `Debug` shows only the variable and that value.
#[derive(Clone)]
pub(crate) struct EndpointSource {
    variable: &'static str,
    url: String,
    shown: String,
}

impl fmt::Debug for EndpointSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointSource")
            .field("variable", &self.variable)
            .field("shown", &self.shown)
            .finish()
    }
}

impl EndpointSource {
    /// An endpoint set in code (`Builder::with_endpoint`): used as given, but
    /// never with credentials.
    pub(crate) fn from_code(endpoint: &str) -> Self {
        let url = without_userinfo(endpoint).unwrap_or_else(|| endpoint.to_owned());
        let shown = redacted_endpoint(&url);
        Self {
            variable: "Builder::with_endpoint",
            url,
            shown,
        }
    }
}

/// Reads the endpoint variables: a scheme is added where there is none (`http`
/// with `OTEL_EXPORTER_OTLP_INSECURE`), and credentials are removed and reported.
/// `None` when no endpoint is set.
pub(super) fn read_endpoint(
    lookup: &Lookup<'_>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<EndpointSource> {
    // Read, and a bad value reported, whether or not an endpoint needs it.
    let insecure = parse::first_accepted(
        lookup,
        &[
            OTEL_EXPORTER_OTLP_TRACES_INSECURE,
            OTEL_EXPORTER_OTLP_INSECURE,
        ],
        "`false`",
        problems,
        parse::boolean,
    )
    .unwrap_or(false);
    let (variable, raw) = parse::first(
        lookup,
        &[
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
            OTEL_EXPORTER_OTLP_ENDPOINT,
        ],
    )?;
    let mut url = if has_scheme(&raw) {
        lowercase_scheme(&raw)
    } else if insecure {
        format!("http://{raw}")
    } else {
        format!("https://{raw}")
    };
    if let Some(stripped) = without_userinfo(&url) {
        problems.push(ConfigProblem::new(
            variable,
            &redacted_endpoint(&stripped),
            "credentials in the endpoint URL are not used and were removed; put them in OTEL_EXPORTER_OTLP_HEADERS",
        ));
        url = stripped;
    }
    Some(EndpointSource {
        variable,
        url,
        // The value as given, but never its credentials.
        shown: redacted_endpoint(&raw),
    })
}

/// Resolves the endpoint for `protocol` as the OTLP exporter specification
/// says, and checks it: the default when none is given; the traces variable
/// (or code) used as is; the generic variable gets `/v1/traces` appended for
/// OTLP/HTTP; gRPC endpoints carry no path. With an error, the endpoint is
/// unusable and kept, redacted, only to be shown.
pub(crate) fn resolve_endpoint(
    source: Option<&EndpointSource>,
    protocol: Protocol,
) -> (String, Option<ConfigProblem>) {
    let Some(source) = source else {
        let default = match protocol {
            Protocol::Grpc => DEFAULT_GRPC_ENDPOINT,
            Protocol::HttpProtobuf => DEFAULT_HTTP_ENDPOINT,
        };
        return (default.to_owned(), None);
    };
    let endpoint =
        if protocol == Protocol::HttpProtobuf && source.variable == OTEL_EXPORTER_OTLP_ENDPOINT {
            // The path ends before a query or a fragment.
            let at = source.url.find(['?', '#']).unwrap_or(source.url.len());
            let (base, rest) = source.url.split_at(at);
            format!("{}/v1/traces{rest}", base.trim_end_matches('/'))
        } else {
            source.url.clone()
        };
    match validate_endpoint(&endpoint) {
        None => (endpoint, None),
        Some(why) => (
            redacted_endpoint(&endpoint),
            Some(ConfigProblem::new(source.variable, &source.shown, why)),
        ),
    }
}

/// `HTTPS://host` as `https://host`.
fn lowercase_scheme(endpoint: &str) -> String {
    match endpoint.split_once("://") {
        Some((scheme, rest)) => format!("{}://{rest}", scheme.to_ascii_lowercase()),
        None => endpoint.to_owned(),
    }
}

/// An endpoint as it may be shown (in an error, a warning, `Debug`): anything
/// up to the last `@` after the scheme is taken for credentials and replaced,
/// even where a malformed URL would not count it as userinfo, and so is a query
/// (`?api-key=...`), a fragment (`#…`) and path parameters (`;jsessionid=…`).
pub(crate) fn redacted_endpoint(endpoint: &str) -> String {
    // Credentials first: a `?` or `#` in a password must not hide the `@` after it.
    let (scheme, rest) = match endpoint.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, endpoint),
    };
    let (userinfo, rest) = match rest.rfind('@') {
        Some(at) => (true, &rest[at + 1..]),
        None => (false, rest),
    };
    // The query, the fragment and path parameters (`;jsessionid=…`) may all hold a key.
    let rest = match rest.find(['?', '#', ';']) {
        Some(at) => format!("{}{}<redacted>", &rest[..at], &rest[at..=at]),
        None => rest.to_owned(),
    };
    let userinfo = if userinfo { "<redacted>@" } else { "" };
    match scheme {
        Some(scheme) => format!("{scheme}://{userinfo}{rest}"),
        None => format!("{userinfo}{rest}"),
    }
}

fn has_scheme(endpoint: &str) -> bool {
    endpoint
        .split_once("://")
        .is_some_and(|(scheme, _)| !scheme.contains(['/', '?', '#', ':']))
}

/// Why `endpoint` cannot be used, if it cannot.
fn validate_endpoint(endpoint: &str) -> Option<String> {
    // What is left of an `@` once the userinfo is gone is a malformed one (a
    // password with a `/` in it): refused, so that it is never used or shown.
    if endpoint.contains('@') {
        return Some(
            "`@` after the host: credentials do not belong in the URL; put them in OTEL_EXPORTER_OTLP_HEADERS".to_owned(),
        );
    }
    let uri = match endpoint.parse::<http::Uri>() {
        Ok(uri) => uri,
        Err(error) => return Some(format!("not a valid URL: {error}")),
    };
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => return Some(format!("unsupported scheme `{other}`; use http or https")),
        None => return Some("not a valid URL: no scheme".to_owned()),
    }
    match uri.host() {
        Some(host) if !host.is_empty() => {}
        _ => return Some("not a valid URL: no host".to_owned()),
    }
    // `Uri::port` is `None` for a port beyond `u16`: read it from the authority.
    let port = uri
        .authority()
        .and_then(|authority| authority.as_str().rsplit_once(':'))
        .map(|(_, port)| port)
        .filter(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    match port {
        Some(port) if !matches!(port.parse::<u16>(), Ok(1..)) => {
            Some(format!("port {port} is out of range (1 to 65535)"))
        }
        _ => None,
    }
}
