//! The environment variables this crate reads, and the defaults they fall back to.
//!
//! Each constant is named like its variable. They are re-exported at `config::`.

use std::time::Duration;

// === variables ===

/// Every variable above, and the two read where they are used.
pub(crate) const READ: [&str; 53] = [
    OTEL_SDK_DISABLED,
    OTEL_SERVICE_NAME,
    OTEL_RESOURCE_ATTRIBUTES,
    OTEL_TRACES_EXPORTER,
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_EXPORTER_PROTOCOL,
    OTEL_EXPORTER_OTLP_INSECURE,
    OTEL_EXPORTER_OTLP_TRACES_INSECURE,
    OTEL_EXPORTER_OTLP_HEADERS,
    OTEL_EXPORTER_OTLP_TRACES_HEADERS,
    OTEL_EXPORTER_OTLP_TIMEOUT,
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
    OTEL_EXPORTER_OTLP_COMPRESSION,
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
    OTEL_EXPORTER_OTLP_CERTIFICATE,
    OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
    OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE,
    OTEL_EXPORTER_OTLP_CLIENT_KEY,
    OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY,
    OTEL_TRACES_SAMPLER,
    OTEL_TRACES_SAMPLER_ARG,
    OTEL_PROPAGATORS,
    OTEL_BSP_SCHEDULE_DELAY,
    OTEL_BSP_EXPORT_TIMEOUT,
    OTEL_BSP_MAX_QUEUE_SIZE,
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    OTEL_ATTRIBUTE_COUNT_LIMIT,
    OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT,
    OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    OTEL_SPAN_EVENT_COUNT_LIMIT,
    OTEL_SPAN_LINK_COUNT_LIMIT,
    OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT,
    OTEL_LINK_ATTRIBUTE_COUNT_LIMIT,
    RUST_LOG,
    NAIS_OTEL_LOG_FORMAT,
    NAIS_OTEL_MASK,
    NAIS_OTEL_MASK_KEYS,
    NAIS_OTEL_MASK_EXEMPT_KEYS,
    NAIS_OTEL_MASK_REPLACEMENT,
    NAIS_OTEL_MASK_CHECKSUM,
    NAIS_APP_NAME,
    NAIS_NAMESPACE,
    NAIS_POD_NAME,
    NAIS_CLUSTER_NAME,
    NAIS_APP_IMAGE,
    "NAIS_OTEL_EXCLUDED_PATHS",
    "NAIS_OTEL_DRAIN_TIMEOUT",
    OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS,
];

/// `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`: the known HTTP methods, comma-separated and
/// case-sensitive, a full override of the nine standard ones (the HTTP conventions' name).
pub const OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS: &str = "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS";

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
