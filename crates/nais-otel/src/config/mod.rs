//! Configuration from the `OTEL_*` and `NAIS_*` environment.
//!
//! [`Config::from_env`] reads the process environment; [`Config::from_lookup`]
//! reads any lookup function, so tests never touch the process environment.
//! Parsing never fails: a bad value is recorded as a [`ConfigProblem`] that names
//! the variable and the value, and the default is used instead, as the
//! OpenTelemetry specification asks. The one exception is a malformed exporter
//! endpoint, which [`crate::init`] refuses while export is on, because no
//! default could be what the user meant.
//!
//! Every variable, its default and what a bad value does is listed in
//! `docs/configuration.md` and in the [crate docs](crate#environment-variables).

mod batch;
mod endpoint;
mod exporter;
mod log;
mod mask;
pub(crate) mod parse;
mod problem;
mod resource;
mod sampling;
pub(crate) mod tls;
mod vars;

use std::time::Duration;

use opentelemetry::KeyValue;

use crate::privacy::MaskConfig;

pub use self::{
    batch::{BatchSettings, Limits},
    exporter::{Compression, ExporterKind, Headers, Protocol, TlsFiles},
    log::{LogConfig, LogFormat},
    problem::ConfigProblem,
    resource::service_version_from_image,
    sampling::{PropagatorKind, SamplerConfig},
    vars::*,
};
pub(crate) use self::{
    endpoint::{redacted_endpoint, EndpointSource},
    exporter::PROTOCOL_VARIABLES,
};
pub(crate) use self::{parse::Lookup, problem::per_variable, tls::TlsMaterial};

/// The whole configuration, as read from the environment and then overridden by code.
///
/// Fields are public so that code can inspect what was read; build one with
/// [`Config::from_env`] or [`Config::from_lookup`], or let [`crate::init`] do it.
///
/// `Debug` shows the endpoint without its query (`?<redacted>`), and no header value.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// `OTEL_SDK_DISABLED`: no provider, no export; the layers make no spans.
    pub disabled: bool,
    /// The `service.name` resource attribute.
    pub service_name: String,
    /// Every other resource attribute, in order of precedence resolved.
    pub resource_attributes: Vec<KeyValue>,
    /// Where spans go.
    pub exporter: ExporterKind,
    /// How spans are sent to the collector.
    pub protocol: Protocol,
    /// The collector URL, resolved as the specification says for [`Config::protocol`].
    pub endpoint: String,
    /// Request headers for the collector. Their values never appear in logs.
    pub headers: Headers,
    /// How long one export request may take.
    pub timeout: Duration,
    /// Request compression.
    pub compression: Compression,
    /// TLS files for an `https` collector.
    pub tls: TlsFiles,
    /// The sampler.
    pub sampler: SamplerConfig,
    /// The propagators, in order; empty means none.
    pub propagators: Vec<PropagatorKind>,
    /// The batch span processor.
    pub batch: BatchSettings,
    /// Limits on what a span keeps.
    pub limits: Limits,
    /// The log output.
    pub log: LogConfig,
    /// Masking of national identity numbers.
    pub mask: MaskConfig,
    /// The path globs whose requests make no server span (`NAIS_OTEL_EXCLUDED_PATHS`
    /// over the NAIS defaults), as [`crate::server_layer`] applies them.
    pub excluded_paths: Vec<String>,
    /// `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`: the known HTTP methods, a full override
    /// of the nine standard ones; `None` when unset or empty. [`crate::init`] hands them
    /// to the layers ([`crate::middleware::set_known_http_methods`]).
    pub known_http_methods: Option<Vec<String>>,
    /// Whether this process runs on NAIS (`NAIS_APP_NAME` is set).
    pub on_nais: bool,
    /// Everything that was wrong with the environment, in the order read: up to a
    /// hundred a variable, then one that counts the rest.
    pub problems: Vec<ConfigProblem>,
    /// Set when the endpoint is not a URL: export cannot work.
    pub endpoint_error: Option<ConfigProblem>,
    /// The endpoint as given, before [`Config::protocol`] decided its path.
    pub(crate) endpoint_source: Option<EndpointSource>,
    /// The files named by [`Config::tls`], read for an `https` OTLP collector.
    pub(crate) tls_material: Option<TlsMaterial>,
    /// The variables the TLS paths come from, for the problems their files make.
    tls_variables: exporter::TlsVariables,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("disabled", &self.disabled)
            .field("service_name", &self.service_name)
            .field("resource_attributes", &self.resource_attributes)
            .field("exporter", &self.exporter)
            .field("protocol", &self.protocol)
            .field("endpoint", &endpoint::redacted_endpoint(&self.endpoint))
            .field("headers", &self.headers)
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("tls", &self.tls)
            .field("sampler", &self.sampler)
            .field("propagators", &self.propagators)
            .field("batch", &self.batch)
            .field("limits", &self.limits)
            .field("log", &self.log)
            .field("mask", &self.mask)
            .field("excluded_paths", &self.excluded_paths)
            .field("known_http_methods", &self.known_http_methods)
            .field("on_nais", &self.on_nais)
            .field("problems", &self.problems)
            .field("endpoint_error", &self.endpoint_error)
            .field("endpoint_source", &self.endpoint_source)
            .field("tls_material", &self.tls_material)
            .finish()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        let mut config = Self::from_lookup(|name| std::env::var(name).ok());
        config.problems.splice(0..0, not_utf8_problems());
        config
    }

    /// Reads the environment through `lookup`, so tests need not change the
    /// process environment.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::HashMap;
    /// let env = HashMap::from([("OTEL_SERVICE_NAME", "dogs"), ("OTEL_TRACES_SAMPLER", "bogus")]);
    /// let config = nais_otel::Config::from_lookup(|name| env.get(name).map(|v| v.to_string()));
    /// assert_eq!(config.service_name, "dogs");
    /// assert_eq!(config.problems[0].variable, "OTEL_TRACES_SAMPLER");
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut config = Self::read(&lookup);
        config.load_tls();
        config
    }

    /// The environment without the TLS files read: the builder's overrides
    /// come first, since they decide whether those files are needed.
    pub(crate) fn read(lookup: &Lookup<'_>) -> Self {
        let mut problems = Vec::new();
        let disabled = parse::bool(lookup, OTEL_SDK_DISABLED, false, &mut problems);
        let on_nais = parse::get(lookup, NAIS_APP_NAME).is_some();
        let (service_name, resource_attributes) = resource::read(lookup, &mut problems);
        let exporter = exporter::read_exporter(lookup, &mut problems);
        let protocol = exporter::read_protocol(lookup, &mut problems);
        let endpoint_source = endpoint::read_endpoint(lookup, &mut problems);
        let (endpoint, endpoint_error) =
            endpoint::resolve_endpoint(endpoint_source.as_ref(), protocol);
        let headers = exporter::read_headers(lookup, &mut problems);
        let timeout = exporter::read_timeout(lookup, &mut problems);
        let compression = exporter::read_compression(lookup, &mut problems);
        let (tls, tls_variables) = exporter::read_tls_files(lookup);
        let sampler = sampling::read_sampler(lookup, &mut problems);
        let propagators = sampling::read_propagators(lookup, &mut problems);
        let batch = batch::read_batch(lookup, &mut problems);
        let limits = batch::read_limits(lookup, &mut problems);
        let log = LogConfig {
            format: log::read_log_format(lookup, on_nais, &mut problems),
            filter: log::read_log_filter(lookup, &mut problems),
        };
        let mask = mask::read_mask(lookup, &mut problems);
        let excluded_paths = read_excluded_paths(lookup, &mut problems);
        let known_http_methods = parse::get(lookup, vars::OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS)
            .map(|list| parse::entries(&list).map(str::to_owned).collect::<Vec<_>>())
            .filter(|methods| !methods.is_empty());
        Config {
            mask,
            excluded_paths,
            known_http_methods,
            disabled,
            service_name,
            resource_attributes,
            exporter,
            protocol,
            endpoint,
            headers,
            timeout,
            compression,
            tls,
            sampler,
            propagators,
            batch,
            limits,
            log,
            on_nais,
            problems: problem::keep_some(problems),
            endpoint_error,
            endpoint_source,
            tls_material: None,
            tls_variables,
        }
    }

    /// Resolves [`Config::endpoint`] again, once code has set the protocol or the endpoint.
    pub(crate) fn resolve_endpoint(&mut self) {
        (self.endpoint, self.endpoint_error) =
            endpoint::resolve_endpoint(self.endpoint_source.as_ref(), self.protocol);
    }

    /// Reads the TLS files, if spans go to an `https` OTLP collector; a file
    /// that cannot be read becomes a problem.
    pub(crate) fn load_tls(&mut self) {
        self.tls_material = if !self.disabled
            && self.exporter == ExporterKind::Otlp
            && self.endpoint_error.is_none()
        {
            tls::load(
                &self.tls,
                self.tls_variables,
                &self.endpoint,
                &mut self.problems,
            )
        } else {
            None
        };
    }

    /// The value of a resource attribute, `service.name` included.
    pub fn resource_attribute(&self, key: &str) -> Option<String> {
        if key == "service.name" {
            return Some(self.service_name.clone());
        }
        self.resource_attributes
            .iter()
            .rev()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str().into_owned())
    }
}

/// The variables this crate reads whose value in the process environment is not UTF-8:
/// each is read as unset, and is a problem (the value shown with its bad bytes replaced,
/// a header list's not at all).
pub(crate) fn not_utf8_problems() -> Vec<ConfigProblem> {
    std::env::vars_os()
        .filter_map(|(name, value)| {
            let variable = *vars::READ
                .iter()
                .find(|read| name.to_str() == Some(**read))?;
            if value.to_str().is_some() {
                return None;
            }
            let shown = if variable.ends_with("_HEADERS") {
                "<redacted>".to_owned()
            } else {
                value.to_string_lossy().into_owned()
            };
            Some(ConfigProblem::new(
                variable,
                &shown,
                "not valid UTF-8; read as unset",
            ))
        })
        .collect()
}

/// `NAIS_OTEL_EXCLUDED_PATHS`, parsed by the middleware crate that applies it.
pub(crate) fn read_excluded_paths(
    lookup: &Lookup<'_>,
    problems: &mut Vec<ConfigProblem>,
) -> Vec<String> {
    let (globs, bad) = crate::middleware::excluded_paths_from_env(lookup);
    problems.extend(bad.iter().map(|problem| {
        ConfigProblem::new(
            problem.variable(),
            problem.value(),
            format!("{}; skipped", problem.reason()),
        )
    }));
    globs
}

#[cfg(test)]
mod tests;
