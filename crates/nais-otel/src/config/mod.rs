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

pub(crate) mod env;
mod resource;

use std::{fmt, path::PathBuf, time::Duration};

use opentelemetry::KeyValue;

use crate::privacy::MaskConfig;

pub use self::resource::service_version_from_image;

/// A function that reads one environment variable.
pub type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

// === variables ===

/// `OTEL_SDK_DISABLED`: `true` turns tracing off; no provider, no export.
pub const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
/// `OTEL_SERVICE_NAME`: the service name; falls back to `NAIS_APP_NAME`.
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// `OTEL_RESOURCE_ATTRIBUTES`: `key=value` pairs, comma-separated, percent-encoded.
pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
/// `OTEL_TRACES_EXPORTER`: `otlp` (default), `console` or `none`.
pub const OTEL_TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
/// `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector for every signal.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the collector for traces; used as is.
pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` (default) or `http/protobuf`.
pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
/// `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`: the protocol for traces.
pub const OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
/// `OTEL_EXPORTER_PROTOCOL`: the misspelling from older NAIS documentation, accepted too.
pub const OTEL_EXPORTER_PROTOCOL: &str = "OTEL_EXPORTER_PROTOCOL";
/// `OTEL_EXPORTER_OTLP_INSECURE`: plaintext for an endpoint given without a scheme.
pub const OTEL_EXPORTER_OTLP_INSECURE: &str = "OTEL_EXPORTER_OTLP_INSECURE";
/// `OTEL_EXPORTER_OTLP_TRACES_INSECURE`: as `OTEL_EXPORTER_OTLP_INSECURE`, for traces.
pub const OTEL_EXPORTER_OTLP_TRACES_INSECURE: &str = "OTEL_EXPORTER_OTLP_TRACES_INSECURE";
/// `OTEL_EXPORTER_OTLP_HEADERS`: request headers, `key=value` pairs, percent-encoded.
pub const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
/// `OTEL_EXPORTER_OTLP_TRACES_HEADERS`: request headers for traces; replaces the generic list.
pub const OTEL_EXPORTER_OTLP_TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
/// `OTEL_EXPORTER_OTLP_TIMEOUT`: milliseconds an export may take.
pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
/// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`: as `OTEL_EXPORTER_OTLP_TIMEOUT`, for traces.
pub const OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
/// `OTEL_EXPORTER_OTLP_COMPRESSION`: `gzip` or `none`.
pub const OTEL_EXPORTER_OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
/// `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION`: as `OTEL_EXPORTER_OTLP_COMPRESSION`, for traces.
pub const OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
/// `OTEL_EXPORTER_OTLP_CERTIFICATE`: a PEM file of CA certificates to trust.
pub const OTEL_EXPORTER_OTLP_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
/// `OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`: as `OTEL_EXPORTER_OTLP_CERTIFICATE`, for traces.
pub const OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE";
/// `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`: a PEM client certificate for mutual TLS.
pub const OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
/// `OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE`: as above, for traces.
pub const OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: &str =
    "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE";
/// `OTEL_EXPORTER_OTLP_CLIENT_KEY`: the PEM private key of the client certificate.
pub const OTEL_EXPORTER_OTLP_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
/// `OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY`: as above, for traces.
pub const OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY";
/// `OTEL_TRACES_SAMPLER`: the sampler; `parentbased_always_on` by default.
pub const OTEL_TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
/// `OTEL_TRACES_SAMPLER_ARG`: the ratio for the `traceidratio` samplers.
pub const OTEL_TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
/// `OTEL_PROPAGATORS`: `tracecontext`, `baggage` or `none`, comma-separated.
pub const OTEL_PROPAGATORS: &str = "OTEL_PROPAGATORS";
/// `OTEL_BSP_SCHEDULE_DELAY`: milliseconds between two exports.
pub const OTEL_BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
/// `OTEL_BSP_EXPORT_TIMEOUT`: milliseconds one batch export may take, retries included.
pub const OTEL_BSP_EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
/// `OTEL_BSP_MAX_QUEUE_SIZE`: spans kept while waiting for export; more are dropped.
pub const OTEL_BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
/// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`: spans in one export request.
pub const OTEL_BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
/// `OTEL_ATTRIBUTE_COUNT_LIMIT`: attributes a span, event or link keeps.
pub const OTEL_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_ATTRIBUTE_COUNT_LIMIT";
/// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`: characters a string attribute value keeps.
pub const OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
/// `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`: attributes a span keeps.
pub const OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
/// `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`: characters a span's string attribute keeps.
pub const OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
/// `OTEL_SPAN_EVENT_COUNT_LIMIT`: events a span keeps.
pub const OTEL_SPAN_EVENT_COUNT_LIMIT: &str = "OTEL_SPAN_EVENT_COUNT_LIMIT";
/// `OTEL_SPAN_LINK_COUNT_LIMIT`: links a span keeps.
pub const OTEL_SPAN_LINK_COUNT_LIMIT: &str = "OTEL_SPAN_LINK_COUNT_LIMIT";
/// `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`: attributes an event keeps.
pub const OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT";
/// `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT`: attributes a link keeps.
pub const OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT";
/// `RUST_LOG`: the log filter, in `tracing_subscriber::EnvFilter` syntax; `info` by default.
pub const RUST_LOG: &str = "RUST_LOG";
/// `NAIS_OTEL_LOG_FORMAT`: `json` or `text`; `json` on NAIS, `text` elsewhere.
pub const NAIS_OTEL_LOG_FORMAT: &str = "NAIS_OTEL_LOG_FORMAT";
/// `NAIS_OTEL_MASK`: `false` turns off masking of national identity numbers.
pub const NAIS_OTEL_MASK: &str = "NAIS_OTEL_MASK";
/// `NAIS_OTEL_MASK_KEYS`: attribute keys masked even when exempted, besides NAIS's, comma-separated.
pub const NAIS_OTEL_MASK_KEYS: &str = "NAIS_OTEL_MASK_KEYS";
/// `NAIS_OTEL_MASK_EXEMPT_KEYS`: attribute keys (and JSON log fields) not masked, comma-separated.
pub const NAIS_OTEL_MASK_EXEMPT_KEYS: &str = "NAIS_OTEL_MASK_EXEMPT_KEYS";
/// `NAIS_OTEL_MASK_REPLACEMENT`: the text that replaces a number; `[fnr]` by default.
pub const NAIS_OTEL_MASK_REPLACEMENT: &str = "NAIS_OTEL_MASK_REPLACEMENT";
/// `NAIS_OTEL_MASK_CHECKSUM`: `true` masks only numbers with valid control digits.
pub const NAIS_OTEL_MASK_CHECKSUM: &str = "NAIS_OTEL_MASK_CHECKSUM";
/// `NAIS_APP_NAME`: set by NAIS; the service name when `OTEL_SERVICE_NAME` is not.
pub const NAIS_APP_NAME: &str = "NAIS_APP_NAME";
/// `NAIS_NAMESPACE`: set by NAIS; gives `service.namespace` and `k8s.namespace.name`.
pub const NAIS_NAMESPACE: &str = "NAIS_NAMESPACE";
/// `NAIS_POD_NAME`: set by NAIS; gives `k8s.pod.name` and `service.instance.id`.
pub const NAIS_POD_NAME: &str = "NAIS_POD_NAME";
/// `NAIS_CLUSTER_NAME`: set by NAIS; gives `k8s.cluster.name`.
pub const NAIS_CLUSTER_NAME: &str = "NAIS_CLUSTER_NAME";
/// `NAIS_APP_IMAGE`: set by NAIS; its tag gives `service.version`.
pub const NAIS_APP_IMAGE: &str = "NAIS_APP_IMAGE";

// === defaults ===

/// The gRPC endpoint used when none is set.
pub const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";
/// The HTTP endpoint used when none is set.
pub const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318/v1/traces";
/// The default of `OTEL_EXPORTER_OTLP_TIMEOUT`.
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default log filter.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// The whole configuration, as read from the environment and then overridden by code.
///
/// Fields are public so that code can inspect what was read; build one with
/// [`Config::from_env`] or [`Config::from_lookup`], or let [`crate::init`] do it.
#[derive(Clone, Debug)]
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
    pub batch: BatchConfig,
    /// Limits on what a span keeps.
    pub limits: Limits,
    /// The log output.
    pub log: LogConfig,
    /// Masking of national identity numbers.
    pub mask: MaskConfig,
    /// Whether this process runs on NAIS (`NAIS_APP_NAME` is set).
    pub on_nais: bool,
    /// Everything that was wrong with the environment, in the order read.
    pub problems: Vec<ConfigProblem>,
    /// Set when the endpoint is not a URL: export cannot work.
    pub endpoint_error: Option<ConfigProblem>,
}

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

/// The sampler (`OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum SamplerConfig {
    /// `always_on`.
    AlwaysOn,
    /// `always_off`.
    AlwaysOff,
    /// `traceidratio` with its ratio.
    TraceIdRatio(f64),
    /// `parentbased_always_on` (the default).
    ParentBasedAlwaysOn,
    /// `parentbased_always_off`.
    ParentBasedAlwaysOff,
    /// `parentbased_traceidratio` with its ratio.
    ParentBasedTraceIdRatio(f64),
}

/// A propagator named in `OTEL_PROPAGATORS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PropagatorKind {
    /// W3C Trace Context.
    TraceContext,
    /// W3C Baggage.
    Baggage,
}

/// The batch span processor (`OTEL_BSP_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchConfig {
    /// Time between two exports. Default 5 s.
    pub schedule_delay: Duration,
    /// Time one export may take, retries included. Default 30 s.
    pub export_timeout: Duration,
    /// Spans kept while waiting; more are dropped and counted. Default 2048.
    pub max_queue_size: usize,
    /// Spans in one request. Default 512.
    pub max_export_batch_size: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            schedule_delay: Duration::from_millis(5_000),
            export_timeout: Duration::from_millis(30_000),
            max_queue_size: 2_048,
            max_export_batch_size: 512,
        }
    }
}

/// Limits on what a span keeps (`OTEL_*_LIMIT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Attributes a span keeps. Default 128.
    pub span_attribute_count: u32,
    /// Characters a string attribute value keeps. Default: no limit.
    pub attribute_value_length: Option<usize>,
    /// Events a span keeps. Default 128.
    pub span_event_count: u32,
    /// Links a span keeps. Default 128.
    pub span_link_count: u32,
    /// Attributes an event keeps. Default 128.
    pub event_attribute_count: u32,
    /// Attributes a link keeps. Default 128.
    pub link_attribute_count: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            span_attribute_count: 128,
            attribute_value_length: None,
            span_event_count: 128,
            span_link_count: 128,
            event_attribute_count: 128,
            link_attribute_count: 128,
        }
    }
}

/// Log output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// One JSON object a line, or readable text.
    pub format: LogFormat,
    /// The filter, in `EnvFilter` syntax.
    pub filter: String,
}

/// The log line format (`NAIS_OTEL_LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object a line with `trace_id` and `span_id` (the default on NAIS).
    Json,
    /// Readable text (the default elsewhere).
    Text,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
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
        let lookup: &Lookup<'_> = &lookup;
        let mut problems = Vec::new();
        let disabled = env::bool(lookup, OTEL_SDK_DISABLED, false, &mut problems);
        let on_nais = env::get(lookup, NAIS_APP_NAME).is_some();
        let (service_name, resource_attributes) = resource::read(lookup, &mut problems);
        let exporter = read_exporter(lookup, &mut problems);
        let protocol = read_protocol(lookup, &mut problems);
        let (endpoint, endpoint_error) = read_endpoint(lookup, protocol, &mut problems);
        let headers = read_headers(lookup, &mut problems);
        let timeout = env::first(
            lookup,
            &[
                OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
                OTEL_EXPORTER_OTLP_TIMEOUT,
            ],
        )
        .and_then(|(name, value)| env::millis(name, &value, &mut problems))
        .filter(|timeout| !timeout.is_zero())
        .unwrap_or(DEFAULT_EXPORT_TIMEOUT);
        let compression = read_compression(lookup, &mut problems);
        let tls = TlsFiles {
            certificate: read_path(
                lookup,
                &[
                    OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
                    OTEL_EXPORTER_OTLP_CERTIFICATE,
                ],
            ),
            client_certificate: read_path(
                lookup,
                &[
                    OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE,
                    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
                ],
            ),
            client_key: read_path(
                lookup,
                &[
                    OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY,
                    OTEL_EXPORTER_OTLP_CLIENT_KEY,
                ],
            ),
        };
        let sampler = read_sampler(lookup, &mut problems);
        let propagators = read_propagators(lookup, &mut problems);
        let batch = read_batch(lookup, &mut problems);
        let limits = read_limits(lookup, &mut problems);
        let log = LogConfig {
            format: read_log_format(lookup, on_nais, &mut problems),
            filter: env::get(lookup, RUST_LOG).unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned()),
        };
        let mask = read_mask(lookup, &mut problems);
        Config {
            mask,
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
            problems,
            endpoint_error,
        }
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

fn read_exporter(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> ExporterKind {
    let Some(value) = env::get(lookup, OTEL_TRACES_EXPORTER) else {
        return ExporterKind::Otlp;
    };
    // The specification allows a list; one trace exporter is all that makes sense
    // here, so the first known name wins and the others are reported.
    let mut chosen = None;
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
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

fn read_protocol(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> Protocol {
    let Some((name, value)) = env::first(
        lookup,
        &[
            OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
            OTEL_EXPORTER_OTLP_PROTOCOL,
            OTEL_EXPORTER_PROTOCOL,
        ],
    ) else {
        return Protocol::Grpc;
    };
    match value.to_ascii_lowercase().as_str() {
        "grpc" => Protocol::Grpc,
        "http/protobuf" => Protocol::HttpProtobuf,
        "http/json" => {
            problems.push(ConfigProblem::new(
                name,
                &value,
                "http/json is not supported; using grpc",
            ));
            Protocol::Grpc
        }
        _ => {
            problems.push(ConfigProblem::new(
                name,
                &value,
                "expected `grpc` or `http/protobuf`; using grpc",
            ));
            Protocol::Grpc
        }
    }
}

/// Resolves the endpoint as the OTLP exporter specification says: the traces
/// variable is used as is; the generic one gets `/v1/traces` appended for
/// OTLP/HTTP; gRPC endpoints carry no path.
fn read_endpoint(
    lookup: &Lookup<'_>,
    protocol: Protocol,
    problems: &mut Vec<ConfigProblem>,
) -> (String, Option<ConfigProblem>) {
    let (variable, raw) = match env::first(
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
    let insecure_var = if env::get(lookup, OTEL_EXPORTER_OTLP_TRACES_INSECURE).is_some() {
        OTEL_EXPORTER_OTLP_TRACES_INSECURE
    } else {
        OTEL_EXPORTER_OTLP_INSECURE
    };
    let insecure = env::bool(lookup, insecure_var, false, problems);
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

/// The URL without `user:password@`, if it had any.
pub(crate) fn without_userinfo(endpoint: &str) -> Option<String> {
    let (scheme, rest) = endpoint.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    Some(format!("{scheme}://{}", &rest[at + 1..]))
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

fn read_headers(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> Headers {
    // The traces variable replaces the generic one, it does not add to it.
    let Some((name, value)) = env::first(
        lookup,
        &[
            OTEL_EXPORTER_OTLP_TRACES_HEADERS,
            OTEL_EXPORTER_OTLP_HEADERS,
        ],
    ) else {
        return Headers::default();
    };
    let mut bad = Vec::new();
    let pairs = env::key_value_list(&value, |index, member| {
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

fn read_compression(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> Compression {
    let Some((name, value)) = env::first(
        lookup,
        &[
            OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
            OTEL_EXPORTER_OTLP_COMPRESSION,
        ],
    ) else {
        return Compression::None;
    };
    match value.to_ascii_lowercase().as_str() {
        "gzip" => Compression::Gzip,
        "none" => Compression::None,
        _ => {
            problems.push(ConfigProblem::new(
                name,
                &value,
                "expected `gzip` or `none`; using none",
            ));
            Compression::None
        }
    }
}

fn read_path(lookup: &Lookup<'_>, names: &[&'static str]) -> Option<PathBuf> {
    env::first(lookup, names).map(|(_, value)| PathBuf::from(value))
}

fn read_sampler(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> SamplerConfig {
    let default = SamplerConfig::ParentBasedAlwaysOn;
    let Some(value) = env::get(lookup, OTEL_TRACES_SAMPLER) else {
        return default;
    };
    let ratio = |problems: &mut Vec<ConfigProblem>| match env::get(lookup, OTEL_TRACES_SAMPLER_ARG)
    {
        None => 1.0,
        Some(arg) => match arg.parse::<f64>() {
            Ok(ratio) if (0.0..=1.0).contains(&ratio) => ratio,
            _ => {
                problems.push(ConfigProblem::new(
                    OTEL_TRACES_SAMPLER_ARG,
                    &arg,
                    "expected a ratio from 0 to 1; using 1.0",
                ));
                1.0
            }
        },
    };
    match value.to_ascii_lowercase().as_str() {
        "always_on" => SamplerConfig::AlwaysOn,
        "always_off" => SamplerConfig::AlwaysOff,
        "traceidratio" => SamplerConfig::TraceIdRatio(ratio(problems)),
        "parentbased_always_on" => SamplerConfig::ParentBasedAlwaysOn,
        "parentbased_always_off" => SamplerConfig::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => SamplerConfig::ParentBasedTraceIdRatio(ratio(problems)),
        "jaeger_remote" | "parentbased_jaeger_remote" | "xray" => {
            problems.push(ConfigProblem::new(
                OTEL_TRACES_SAMPLER,
                &value,
                "this sampler is not supported; using parentbased_always_on",
            ));
            default
        }
        _ => {
            problems.push(ConfigProblem::new(
                OTEL_TRACES_SAMPLER,
                &value,
                "unknown sampler; using parentbased_always_on",
            ));
            default
        }
    }
}

fn read_propagators(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> Vec<PropagatorKind> {
    let default = vec![PropagatorKind::TraceContext, PropagatorKind::Baggage];
    let Some(value) = env::get(lookup, OTEL_PROPAGATORS) else {
        return default;
    };
    let mut propagators = Vec::new();
    let mut none = false;
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let kind = match name.to_ascii_lowercase().as_str() {
            "tracecontext" => PropagatorKind::TraceContext,
            "baggage" => PropagatorKind::Baggage,
            "none" => {
                none = true;
                continue;
            }
            _ => {
                problems.push(ConfigProblem::new(
                    OTEL_PROPAGATORS,
                    &value,
                    format!(
                        "unknown propagator `{name}` skipped; known: tracecontext, baggage, none"
                    ),
                ));
                continue;
            }
        };
        if !propagators.contains(&kind) {
            propagators.push(kind);
        }
    }
    if none {
        if !propagators.is_empty() {
            problems.push(ConfigProblem::new(
                OTEL_PROPAGATORS,
                &value,
                "`none` given with other propagators; using none",
            ));
        }
        return Vec::new();
    }
    if propagators.is_empty() {
        // Nothing usable was named: keep the default rather than silently
        // breaking every trace across services.
        return default;
    }
    propagators
}

fn read_batch(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> BatchConfig {
    let mut batch = BatchConfig::default();
    if let Some(value) = env::get(lookup, OTEL_BSP_SCHEDULE_DELAY) {
        match env::millis(OTEL_BSP_SCHEDULE_DELAY, &value, problems) {
            // A zero delay makes the batch processor spin on a core.
            Some(delay) if delay.is_zero() => problems.push(ConfigProblem::new(
                OTEL_BSP_SCHEDULE_DELAY,
                &value,
                "must be at least 1 ms; using the default",
            )),
            Some(delay) => batch.schedule_delay = delay,
            None => {}
        }
    }
    if let Some(timeout) = env::get(lookup, OTEL_BSP_EXPORT_TIMEOUT)
        .and_then(|value| env::millis(OTEL_BSP_EXPORT_TIMEOUT, &value, problems))
        .filter(|timeout| !timeout.is_zero())
    {
        batch.export_timeout = timeout;
    }
    if let Some(size) = env::number_var(lookup, OTEL_BSP_MAX_QUEUE_SIZE, 1, 1 << 24, problems) {
        batch.max_queue_size = size as usize;
    }
    if let Some(size) =
        env::number_var(lookup, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 1, 1 << 24, problems)
    {
        batch.max_export_batch_size = size as usize;
    }
    if batch.max_export_batch_size > batch.max_queue_size {
        problems.push(ConfigProblem::new(
            OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
            &batch.max_export_batch_size.to_string(),
            format!(
                "larger than {OTEL_BSP_MAX_QUEUE_SIZE} ({}); using the queue size",
                batch.max_queue_size
            ),
        ));
        batch.max_export_batch_size = batch.max_queue_size;
    }
    batch
}

fn read_limits(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> Limits {
    let defaults = Limits::default();
    let max = u64::from(u32::MAX);
    // The general limits apply where the specific ones are not set; each variable
    // is read once so that a bad value is reported once.
    let general_count = env::number_var(lookup, OTEL_ATTRIBUTE_COUNT_LIMIT, 0, max, problems);
    let general_length =
        env::number_var(lookup, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, 0, max, problems);
    let mut read = |name: &'static str, fallback: Option<u64>, default: u32| {
        env::number_var(lookup, name, 0, max, problems)
            .or(fallback)
            .map_or(default, |n| n as u32)
    };
    let span_attribute_count = read(
        OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT,
        general_count,
        defaults.span_attribute_count,
    );
    let event_attribute_count = read(
        OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT,
        general_count,
        defaults.event_attribute_count,
    );
    let link_attribute_count = read(
        OTEL_LINK_ATTRIBUTE_COUNT_LIMIT,
        general_count,
        defaults.link_attribute_count,
    );
    let span_event_count = read(OTEL_SPAN_EVENT_COUNT_LIMIT, None, defaults.span_event_count);
    let span_link_count = read(OTEL_SPAN_LINK_COUNT_LIMIT, None, defaults.span_link_count);
    let attribute_value_length = env::number_var(
        lookup,
        OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
        0,
        max,
        problems,
    )
    .or(general_length)
    .map(|n| n as usize);
    Limits {
        span_attribute_count,
        attribute_value_length,
        span_event_count,
        span_link_count,
        event_attribute_count,
        link_attribute_count,
    }
}

fn read_mask(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> MaskConfig {
    let mut mask = MaskConfig::new();
    mask.enabled = env::bool(lookup, NAIS_OTEL_MASK, true, problems);
    mask.checksum = env::bool(lookup, NAIS_OTEL_MASK_CHECKSUM, false, problems);
    if let Some(keys) = env::get(lookup, NAIS_OTEL_MASK_KEYS) {
        for key in keys.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            mask = mask.key(key);
        }
    }
    if let Some(keys) = env::get(lookup, NAIS_OTEL_MASK_EXEMPT_KEYS) {
        for key in keys.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            if mask.keys.iter().any(|k| k == key) {
                problems.push(ConfigProblem::new(
                    NAIS_OTEL_MASK_EXEMPT_KEYS,
                    &keys,
                    format!("`{key}` is always masked (NAIS masks it, or NAIS_OTEL_MASK_KEYS names it); not exempted"),
                ));
                continue;
            }
            mask = mask.exempt_key(key);
        }
    }
    // The replacement is taken as given, spaces included; only unset keeps the default.
    if let Some(replacement) = lookup(NAIS_OTEL_MASK_REPLACEMENT) {
        if replacement.bytes().any(|b| b.is_ascii_digit()) {
            problems.push(ConfigProblem::new(
                NAIS_OTEL_MASK_REPLACEMENT,
                &replacement,
                "must not contain digits (it could itself look like a number); using [fnr]",
            ));
        } else {
            mask.replacement = replacement;
        }
    }
    mask
}

fn read_log_format(
    lookup: &Lookup<'_>,
    on_nais: bool,
    problems: &mut Vec<ConfigProblem>,
) -> LogFormat {
    let default = if on_nais {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    match env::get(lookup, NAIS_OTEL_LOG_FORMAT) {
        None => default,
        Some(value) => match value.to_ascii_lowercase().as_str() {
            "json" => LogFormat::Json,
            "text" => LogFormat::Text,
            _ => {
                problems.push(ConfigProblem::new(
                    NAIS_OTEL_LOG_FORMAT,
                    &value,
                    format!("expected `json` or `text`; using {default:?}"),
                ));
                default
            }
        },
    }
}

#[cfg(test)]
mod tests;
