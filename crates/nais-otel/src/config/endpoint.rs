//! The collector endpoint: resolved as the OTLP exporter specification says,
//! stripped of credentials and checked.

use crate::url::without_userinfo;

use super::{
    exporter::Protocol,
    parse::{self, Lookup},
    problem::ConfigProblem,
    vars::*,
};

/// Resolves the endpoint as the OTLP exporter specification says: the traces
/// variable is used as is; the generic one gets `/v1/traces` appended for
/// OTLP/HTTP; gRPC endpoints carry no path.
pub(super) fn read_endpoint(
    lookup: &Lookup<'_>,
    protocol: Protocol,
    problems: &mut Vec<ConfigProblem>,
) -> (String, Option<ConfigProblem>) {
    let (variable, raw) = match parse::first(
        lookup,
        &[
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
            OTEL_EXPORTER_OTLP_ENDPOINT,
        ],
    ) {
        Some(found) => found,
        None => {
            let default = match protocol {
                Protocol::Grpc => DEFAULT_GRPC_ENDPOINT,
                Protocol::HttpProtobuf => DEFAULT_HTTP_ENDPOINT,
            };
            return (default.to_owned(), None);
        }
    };
    let insecure_var = if parse::get(lookup, OTEL_EXPORTER_OTLP_TRACES_INSECURE).is_some() {
        OTEL_EXPORTER_OTLP_TRACES_INSECURE
    } else {
        OTEL_EXPORTER_OTLP_INSECURE
    };
    let insecure = parse::bool(lookup, insecure_var, false, problems);
    let mut endpoint = if has_scheme(&raw) {
        lowercase_scheme(&raw)
    } else if insecure {
        format!("http://{raw}")
    } else {
        format!("https://{raw}")
    };
    if let Some(stripped) = without_userinfo(&endpoint) {
        problems.push(ConfigProblem::new(
            variable,
            &stripped,
            "credentials in the endpoint URL are not used and were removed; put them in OTEL_EXPORTER_OTLP_HEADERS",
        ));
        endpoint = stripped;
    }
    if protocol == Protocol::HttpProtobuf && variable == OTEL_EXPORTER_OTLP_ENDPOINT {
        endpoint = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    }
    // The value as given, but never its credentials.
    let error = validate_endpoint(&endpoint)
        .map(|why| ConfigProblem::new(variable, &redacted_endpoint(&raw), why));
    if error.is_some() {
        // Unusable, and kept only to be shown.
        endpoint = redacted_endpoint(&endpoint);
    }
    (endpoint, error)
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
/// even where a malformed URL would not count it as userinfo.
pub(crate) fn redacted_endpoint(endpoint: &str) -> String {
    let (scheme, rest) = match endpoint.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, endpoint),
    };
    let Some(at) = rest.rfind('@') else {
        return endpoint.to_owned();
    };
    match scheme {
        Some(scheme) => format!("{scheme}://<redacted>@{}", &rest[at + 1..]),
        None => format!("<redacted>@{}", &rest[at + 1..]),
    }
}

fn has_scheme(endpoint: &str) -> bool {
    endpoint
        .split_once("://")
        .is_some_and(|(scheme, _)| !scheme.contains(['/', '?', '#', ':']))
}

/// Why `endpoint` cannot be used, if it cannot.
pub(crate) fn validate_endpoint(endpoint: &str) -> Option<String> {
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
        Some(host) if !host.is_empty() => None,
        _ => Some("not a valid URL: no host".to_owned()),
    }
}
