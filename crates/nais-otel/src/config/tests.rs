// Table-driven cases read best with their types inline.
#![allow(clippy::type_complexity)]

use std::{collections::HashMap, time::Duration};

use super::*;

fn from(vars: &[(&str, &str)]) -> Config {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(move |name| env.get(name).cloned())
}

fn problem_vars(config: &Config) -> Vec<&'static str> {
    config.problems.iter().map(|p| p.variable).collect()
}

/// The environment NAIS injects into a pod with tracing enabled
/// (`../shared/nais.md`), verbatim.
fn nais_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("OTEL_SERVICE_NAME", "dogs"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=dogs,service.namespace=dogbook,nais.backend=grafana-lgtm;elastic-apm,k8s.container.name=dogs,k8s.deployment.name=dogs,k8s.namespace.name=dogbook,k8s.node.name=node-1,k8s.pod.name=dogs-7d9f8-abcde,k8s.replicaset.name=dogs-7d9f8,service.instance.id=dogs-7d9f8-abcde,service.version=2024.11.21-abc123",
        ),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://opentelemetry-collector.nais-system:4317"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
        ("OTEL_PROPAGATORS", "tracecontext,baggage"),
        ("OTEL_TRACES_SAMPLER", "parentbased_always_on"),
        ("OTEL_LOGS_EXPORTER", "none"),
        ("NAIS_APP_NAME", "dogs"),
        ("NAIS_NAMESPACE", "dogbook"),
        ("NAIS_APP_IMAGE", "europe-north1-docker.pkg.dev/nais-management/dogbook/dogs:2024.11.21-abc123"),
        ("NAIS_CLUSTER_NAME", "dev-gcp"),
        ("NAIS_CLIENT_ID", "dev-gcp:dogbook:dogs"),
        ("NAIS_POD_NAME", "dogs-7d9f8-abcde"),
        ("PORT", "8080"),
        ("BIND_ADDRESS", "0.0.0.0:8080"),
    ]
}

#[test]
fn nais_environment_exactly_as_injected() {
    let config = from(&nais_env());
    assert!(config.problems.is_empty(), "{:?}", config.problems);
    assert!(!config.disabled);
    assert!(config.on_nais);
    assert_eq!(config.service_name, "dogs");
    assert_eq!(config.exporter, ExporterKind::Otlp);
    assert_eq!(config.protocol, Protocol::Grpc);
    assert_eq!(
        config.endpoint,
        "http://opentelemetry-collector.nais-system:4317"
    );
    assert!(config.endpoint_error.is_none());
    assert_eq!(config.sampler, SamplerConfig::ParentBasedAlwaysOn);
    assert_eq!(
        config.propagators,
        vec![PropagatorKind::TraceContext, PropagatorKind::Baggage]
    );
    assert_eq!(config.log.format, LogFormat::Json);
    for (key, value) in [
        ("service.namespace", "dogbook"),
        ("k8s.namespace.name", "dogbook"),
        ("k8s.pod.name", "dogs-7d9f8-abcde"),
        ("k8s.cluster.name", "dev-gcp"),
        ("k8s.node.name", "node-1"),
        ("service.version", "2024.11.21-abc123"),
        ("service.instance.id", "dogs-7d9f8-abcde"),
        ("nais.backend", "grafana-lgtm;elastic-apm"),
    ] {
        assert_eq!(
            config.resource_attribute(key).as_deref(),
            Some(value),
            "{key}"
        );
    }
    // service.name is carried once, as the service name, not twice.
    assert!(config
        .resource_attributes
        .iter()
        .all(|kv| kv.key.as_str() != "service.name"));
}

#[test]
fn laptop_with_no_variables() {
    let config = from(&[]);
    assert!(config.problems.is_empty());
    assert!(!config.on_nais);
    assert!(config.service_name.starts_with("unknown_service:"));
    assert_eq!(config.endpoint, DEFAULT_GRPC_ENDPOINT);
    assert_eq!(config.protocol, Protocol::Grpc);
    assert_eq!(config.timeout, Duration::from_secs(10));
    assert_eq!(config.compression, Compression::None);
    assert_eq!(config.batch, BatchSettings::default());
    assert_eq!(config.limits, Limits::default());
    assert_eq!(config.log.format, LogFormat::Text);
    assert_eq!(config.log.filter, "info");
    assert!(config.resource_attributes.is_empty());
}

#[test]
fn nais_derived_attributes_lose_to_otel_values() {
    let config = from(&[
        ("NAIS_NAMESPACE", "from-nais"),
        ("NAIS_APP_IMAGE", "ghcr.io/navikt/app:1.0"),
        ("NAIS_APP_NAME", "nais-name"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.namespace=from-otel,service.version=2.0",
        ),
    ]);
    assert_eq!(config.service_name, "nais-name");
    assert_eq!(
        config.resource_attribute("service.namespace").as_deref(),
        Some("from-otel")
    );
    assert_eq!(
        config.resource_attribute("k8s.namespace.name").as_deref(),
        Some("from-nais")
    );
    assert_eq!(
        config.resource_attribute("service.version").as_deref(),
        Some("2.0")
    );
}

#[test]
fn service_name_precedence() {
    #[rustfmt::skip]
    let cases: &[(&[(&str, &str)], &str, &str)] = &[
        (&[("OTEL_SERVICE_NAME", "a"), ("OTEL_RESOURCE_ATTRIBUTES", "service.name=b"), ("NAIS_APP_NAME", "c")], "a", "OTEL_SERVICE_NAME wins"),
        (&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=b"), ("NAIS_APP_NAME", "c")], "b", "resource attribute beats NAIS"),
        (&[("NAIS_APP_NAME", "c")], "c", "NAIS_APP_NAME is the fallback"),
        (&[("OTEL_SERVICE_NAME", "  "), ("NAIS_APP_NAME", "c")], "c", "blank counts as unset"),
    ];
    for (vars, expected, reason) in cases {
        assert_eq!(from(vars).service_name, *expected, "{reason}");
    }
}

#[test]
fn resource_attributes_percent_decoded_and_bad_pairs_skipped() {
    let config = from(&[(
        "OTEL_RESOURCE_ATTRIBUTES",
        "team=dog%20book,broken,deployment.environment.name=dev,=x,emoji=%F0%9F%90%95",
    )]);
    assert_eq!(
        config.resource_attribute("team").as_deref(),
        Some("dog book")
    );
    assert_eq!(
        config
            .resource_attribute("deployment.environment.name")
            .as_deref(),
        Some("dev")
    );
    assert_eq!(config.resource_attribute("emoji").as_deref(), Some("🐕"));
    assert_eq!(config.problems.len(), 2, "{:?}", config.problems);
    assert!(config
        .problems
        .iter()
        .all(|p| p.variable == OTEL_RESOURCE_ATTRIBUTES));
    assert!(config.problems[0].message.contains("`broken`"));
}

#[test]
fn image_tags() {
    #[rustfmt::skip]
    let cases = [
        ("europe-north1-docker.pkg.dev/nais/team/app:2024.11.21-abc", Some("2024.11.21-abc"), "tag"),
        ("registry:5000/app", None, "port is not a tag"),
        ("registry:5000/app:v1", Some("v1"), "port and tag"),
        ("app@sha256:abcd", None, "digest only"),
        ("app:v2@sha256:abcd", Some("v2"), "tag and digest"),
        ("app:", None, "empty tag"),
    ];
    for (image, expected, reason) in cases {
        assert_eq!(service_version_from_image(image), expected, "{reason}");
    }
}

#[test]
fn sdk_disabled() {
    #[rustfmt::skip]
    let cases: &[(&str, bool, bool, &str)] = &[
        ("true", true, false, "true"),
        ("TRUE", true, false, "case-insensitive"),
        ("false", false, false, "false"),
        ("yes", false, true, "anything else is false, with a warning"),
        ("", false, false, "empty is unset"),
    ];
    for (value, disabled, problem, reason) in cases {
        let config = from(&[(OTEL_SDK_DISABLED, value)]);
        assert_eq!(config.disabled, *disabled, "{reason}");
        assert_eq!(!config.problems.is_empty(), *problem, "{reason}");
    }
}

#[test]
fn exporters() {
    #[rustfmt::skip]
    let cases: &[(&str, ExporterKind, usize, &str)] = &[
        ("otlp", ExporterKind::Otlp, 0, "otlp"),
        ("console", ExporterKind::Console, 0, "console"),
        ("logging", ExporterKind::Console, 0, "old name of console"),
        ("none", ExporterKind::None, 0, "none"),
        ("NONE", ExporterKind::None, 0, "case-insensitive"),
        ("zipkin", ExporterKind::Otlp, 1, "unknown warns, default used"),
        ("zipkin,console", ExporterKind::Console, 1, "unknown skipped, known used"),
        ("otlp,console", ExporterKind::Otlp, 1, "one exporter only"),
    ];
    for (value, kind, problems, reason) in cases {
        let config = from(&[(OTEL_TRACES_EXPORTER, value)]);
        assert_eq!(config.exporter, *kind, "{reason}");
        assert_eq!(config.problems.len(), *problems, "{reason}");
    }
}

#[test]
fn protocols_and_endpoints() {
    #[rustfmt::skip]
    let cases: &[(&[(&str, &str)], Protocol, &str, &str)] = &[
        (&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")], Protocol::Grpc, "http://localhost:4317", "grpc default endpoint"),
        (&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")], Protocol::HttpProtobuf, "http://localhost:4318/v1/traces", "http default endpoint"),
        (&[("OTEL_EXPORTER_PROTOCOL", "http/protobuf")], Protocol::HttpProtobuf, "http://localhost:4318/v1/traces", "old NAIS spelling"),
        (&[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")], Protocol::Grpc, "http://localhost:4317", "traces protocol wins"),
        (&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")], Protocol::HttpProtobuf, "http://c:4318/v1/traces", "generic endpoint gets /v1/traces"),
        (&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"), ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/custom")], Protocol::HttpProtobuf, "http://c:4318/custom", "traces endpoint as is"),
        (&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/?key=s3cr3t#f")], Protocol::HttpProtobuf, "http://c:4318/v1/traces?key=s3cr3t#f", "/v1/traces before the query"),
        (&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4317"), ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:4317")], Protocol::Grpc, "http://b:4317", "traces endpoint wins"),
        (&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"), ("OTEL_EXPORTER_OTLP_INSECURE", "true")], Protocol::Grpc, "http://collector:4317", "insecure without scheme"),
        (&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")], Protocol::Grpc, "https://collector:4317", "secure by default without scheme"),
        (&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://tempo.example:443"), ("OTEL_EXPORTER_OTLP_INSECURE", "true")], Protocol::Grpc, "https://tempo.example:443", "insecure does not override a scheme"),
    ];
    for (vars, protocol, endpoint, reason) in cases {
        let config = from(vars);
        assert_eq!(config.protocol, *protocol, "{reason}");
        assert_eq!(config.endpoint, *endpoint, "{reason}");
        assert!(
            config.problems.is_empty(),
            "{reason}: {:?}",
            config.problems
        );
        assert!(config.endpoint_error.is_none(), "{reason}");
    }
}

#[test]
fn bad_protocols_fall_back_to_grpc() {
    for (value, reason) in [("http/json", "unsupported"), ("carrier-pigeon", "unknown")] {
        let config = from(&[(OTEL_EXPORTER_OTLP_PROTOCOL, value)]);
        assert_eq!(config.protocol, Protocol::Grpc, "{reason}");
        assert_eq!(
            problem_vars(&config),
            vec![OTEL_EXPORTER_OTLP_PROTOCOL],
            "{reason}"
        );
    }
}

#[test]
fn malformed_endpoints_are_errors_naming_the_variable_and_value() {
    #[rustfmt::skip]
    let cases = [
        ("http://", "no host"),
        ("ftp://collector:21", "wrong scheme"),
        ("http://exa mple:4317", "space"),
        ("://nohost", "empty scheme"),
    ];
    for (value, reason) in cases {
        let config = from(&[(OTEL_EXPORTER_OTLP_ENDPOINT, value)]);
        let error = config
            .endpoint_error
            .unwrap_or_else(|| panic!("{reason}: accepted {value}"));
        assert_eq!(error.variable, OTEL_EXPORTER_OTLP_ENDPOINT, "{reason}");
        assert_eq!(error.value, value, "{reason}");
        assert!(error.to_string().contains(value), "{reason}");
    }
}

#[test]
fn headers_decoded_and_never_echoed() {
    let config = from(&[(
        OTEL_EXPORTER_OTLP_HEADERS,
        "Authorization=Basic%20c2VjcmV0,x-scope-orgid=team,broken-secret-value,bad header=x",
    )]);
    assert_eq!(
        config.headers.0,
        vec![
            ("authorization".to_owned(), "Basic c2VjcmV0".to_owned()),
            ("x-scope-orgid".to_owned(), "team".to_owned()),
        ]
    );
    assert_eq!(config.problems.len(), 2, "{:?}", config.problems);
    let all_text = format!("{:?} {:?}", config.problems, config.headers);
    assert!(!all_text.contains("c2VjcmV0"), "{all_text}");
    assert!(!all_text.contains("broken-secret-value"), "{all_text}");
    assert!(all_text.contains("authorization"));
}

#[test]
fn traces_headers_replace_generic_headers() {
    let config = from(&[
        (OTEL_EXPORTER_OTLP_HEADERS, "a=1,b=2"),
        (OTEL_EXPORTER_OTLP_TRACES_HEADERS, "c=3"),
    ]);
    assert_eq!(config.headers.0, vec![("c".to_owned(), "3".to_owned())]);
}

#[test]
fn timeouts_and_compression() {
    #[rustfmt::skip]
    let cases: &[(&[(&str, &str)], Duration, Compression, usize, &str)] = &[
        (&[("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")], Duration::from_millis(2500), Compression::None, 0, "ms"),
        (&[("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"), ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "100")], Duration::from_millis(100), Compression::None, 0, "traces wins"),
        (&[("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")], Duration::from_secs(10), Compression::None, 1, "not a number"),
        (&[("OTEL_EXPORTER_OTLP_TIMEOUT", "-5")], Duration::from_secs(10), Compression::None, 1, "negative"),
        (&[("OTEL_EXPORTER_OTLP_TIMEOUT", "0")], Duration::from_secs(10), Compression::None, 0, "zero means default"),
        (&[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")], Duration::from_secs(10), Compression::Gzip, 0, "gzip"),
        (&[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "GZIP")], Duration::from_secs(10), Compression::Gzip, 0, "traces gzip"),
        (&[("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd")], Duration::from_secs(10), Compression::None, 1, "unsupported"),
    ];
    for (vars, timeout, compression, problems, reason) in cases {
        let config = from(vars);
        assert_eq!(config.timeout, *timeout, "{reason}");
        assert_eq!(config.compression, *compression, "{reason}");
        assert_eq!(
            config.problems.len(),
            *problems,
            "{reason}: {:?}",
            config.problems
        );
    }
}

#[test]
fn certificates() {
    let config = from(&[
        (OTEL_EXPORTER_OTLP_CERTIFICATE, "/etc/ca.pem"),
        (
            OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE,
            "/etc/client.pem",
        ),
        (OTEL_EXPORTER_OTLP_CLIENT_KEY, "/etc/client.key"),
    ]);
    assert_eq!(
        config.tls.certificate.as_deref(),
        Some(std::path::Path::new("/etc/ca.pem"))
    );
    assert_eq!(
        config.tls.client_certificate.as_deref(),
        Some(std::path::Path::new("/etc/client.pem"))
    );
    assert_eq!(
        config.tls.client_key.as_deref(),
        Some(std::path::Path::new("/etc/client.key"))
    );
}

#[test]
fn samplers() {
    #[rustfmt::skip]
    let cases: &[(&str, Option<&str>, SamplerConfig, usize, &str)] = &[
        ("always_on", None, SamplerConfig::AlwaysOn, 0, "always_on"),
        ("always_off", None, SamplerConfig::AlwaysOff, 0, "always_off"),
        ("traceidratio", Some("0.25"), SamplerConfig::TraceIdRatio(0.25), 0, "ratio"),
        ("traceidratio", None, SamplerConfig::TraceIdRatio(1.0), 0, "ratio defaults to 1"),
        ("traceidratio", Some("1.5"), SamplerConfig::TraceIdRatio(1.0), 1, "ratio out of range"),
        ("traceidratio", Some("half"), SamplerConfig::TraceIdRatio(1.0), 1, "ratio not a number"),
        ("parentbased_always_on", None, SamplerConfig::ParentBasedAlwaysOn, 0, "pb on"),
        ("parentbased_always_off", None, SamplerConfig::ParentBasedAlwaysOff, 0, "pb off"),
        ("parentbased_traceidratio", Some("0.1"), SamplerConfig::ParentBasedTraceIdRatio(0.1), 0, "pb ratio"),
        ("jaeger_remote", None, SamplerConfig::ParentBasedAlwaysOn, 1, "unsupported"),
        ("parentbased_jaeger_remote", None, SamplerConfig::ParentBasedAlwaysOn, 1, "unsupported"),
        ("xray", None, SamplerConfig::ParentBasedAlwaysOn, 1, "unsupported"),
        ("sometimes", None, SamplerConfig::ParentBasedAlwaysOn, 1, "unknown"),
    ];
    for (name, arg, sampler, problems, reason) in cases {
        let mut vars = vec![(OTEL_TRACES_SAMPLER, *name)];
        if let Some(arg) = arg {
            vars.push((OTEL_TRACES_SAMPLER_ARG, arg));
        }
        let config = from(&vars);
        assert_eq!(config.sampler, *sampler, "{reason}");
        assert_eq!(config.problems.len(), *problems, "{reason}");
    }
}

#[test]
fn propagators() {
    use PropagatorKind::{Baggage, TraceContext};
    #[rustfmt::skip]
    let cases: &[(&str, &[PropagatorKind], usize, &str)] = &[
        ("tracecontext,baggage", &[TraceContext, Baggage], 0, "NAIS value"),
        ("baggage", &[Baggage], 0, "baggage only"),
        ("tracecontext", &[TraceContext], 0, "trace context only"),
        ("none", &[], 0, "none"),
        ("b3,tracecontext", &[TraceContext], 1, "unknown skipped with a warning"),
        ("b3", &[TraceContext, Baggage], 1, "nothing usable keeps the default"),
        ("none,tracecontext", &[], 1, "none with others"),
        ("tracecontext,tracecontext", &[TraceContext], 0, "duplicates folded"),
    ];
    for (value, expected, problems, reason) in cases {
        let config = from(&[(OTEL_PROPAGATORS, value)]);
        assert_eq!(config.propagators, *expected, "{reason}");
        assert_eq!(config.problems.len(), *problems, "{reason}");
    }
}

#[test]
fn batch_processor() {
    let config = from(&[
        (OTEL_BSP_SCHEDULE_DELAY, "200"),
        (OTEL_BSP_EXPORT_TIMEOUT, "3000"),
        (OTEL_BSP_MAX_QUEUE_SIZE, "100"),
        (OTEL_BSP_MAX_EXPORT_BATCH_SIZE, "50"),
    ]);
    assert_eq!(
        config.batch,
        BatchSettings {
            schedule_delay: Duration::from_millis(200),
            export_timeout: Duration::from_millis(3000),
            max_queue_size: 100,
            max_export_batch_size: 50,
        }
    );
    assert!(config.problems.is_empty());

    #[rustfmt::skip]
    let bad: &[(&str, &str, &str)] = &[
        (OTEL_BSP_SCHEDULE_DELAY, "soon", "not a number"),
        (OTEL_BSP_EXPORT_TIMEOUT, "1.5", "fraction"),
        (OTEL_BSP_MAX_QUEUE_SIZE, "0", "zero queue"),
        (OTEL_BSP_MAX_EXPORT_BATCH_SIZE, "-1", "negative"),
    ];
    for (variable, value, reason) in bad {
        let config = from(&[(variable, value)]);
        assert_eq!(config.batch, BatchSettings::default(), "{reason}");
        assert_eq!(problem_vars(&config), vec![*variable], "{reason}");
        assert_eq!(config.problems[0].value, *value, "{reason}");
    }

    let clamped = from(&[
        (OTEL_BSP_MAX_QUEUE_SIZE, "10"),
        (OTEL_BSP_MAX_EXPORT_BATCH_SIZE, "20"),
    ]);
    assert_eq!(clamped.batch.max_export_batch_size, 10);
    assert_eq!(problem_vars(&clamped), vec![OTEL_BSP_MAX_EXPORT_BATCH_SIZE]);
}

#[test]
fn span_limits() {
    let config = from(&[
        (OTEL_ATTRIBUTE_COUNT_LIMIT, "64"),
        (OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, "32"),
        (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, "4096"),
        (OTEL_SPAN_EVENT_COUNT_LIMIT, "10"),
        (OTEL_SPAN_LINK_COUNT_LIMIT, "5"),
        (OTEL_LINK_ATTRIBUTE_COUNT_LIMIT, "3"),
    ]);
    assert_eq!(
        config.limits,
        Limits {
            span_attribute_count: 32,
            attribute_value_length: Some(4096),
            span_event_count: 10,
            span_link_count: 5,
            event_attribute_count: 64,
            link_attribute_count: 3,
        }
    );
    let specific = config_with_length(&[
        (OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, "4096"),
        (OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, "100"),
    ]);
    assert_eq!(specific, Some(100));
    let bad = from(&[(OTEL_ATTRIBUTE_COUNT_LIMIT, "many")]);
    assert_eq!(bad.limits, Limits::default());
    assert_eq!(
        problem_vars(&bad),
        vec![OTEL_ATTRIBUTE_COUNT_LIMIT],
        "reported once"
    );
}

fn config_with_length(vars: &[(&str, &str)]) -> Option<usize> {
    from(vars).limits.attribute_value_length
}

#[test]
fn log_settings() {
    #[rustfmt::skip]
    let cases: &[(&[(&str, &str)], LogFormat, usize, &str)] = &[
        (&[], LogFormat::Text, 0, "text off NAIS"),
        (&[("NAIS_APP_NAME", "dogs")], LogFormat::Json, 0, "json on NAIS"),
        (&[("NAIS_OTEL_LOG_FORMAT", "json")], LogFormat::Json, 0, "asked for json"),
        (&[("NAIS_APP_NAME", "dogs"), ("NAIS_OTEL_LOG_FORMAT", "text")], LogFormat::Text, 0, "asked for text on NAIS"),
        (&[("NAIS_OTEL_LOG_FORMAT", "xml")], LogFormat::Text, 1, "unknown format"),
    ];
    for (vars, format, problems, reason) in cases {
        let config = from(vars);
        assert_eq!(config.log.format, *format, "{reason}");
        assert_eq!(config.problems.len(), *problems, "{reason}");
    }
    assert_eq!(
        from(&[(RUST_LOG, "debug,h2=warn")]).log.filter,
        "debug,h2=warn"
    );
    // A bad filter is a problem like any bad value, reported through the log output
    // (masked there), not a raw line on stderr.
    for bad in ["x[15038500047", "info,=", "dogs=loud"] {
        let config = from(&[(RUST_LOG, bad)]);
        assert_eq!(config.log.filter, "info", "{bad}");
        assert_eq!(problem_vars(&config), vec![RUST_LOG], "{bad}");
        assert!(
            config.problems[0]
                .to_string()
                .contains("not a valid filter"),
            "{bad}"
        );
    }
}

#[test]
fn insecure_flag_must_be_boolean() {
    let config = from(&[
        (OTEL_EXPORTER_OTLP_ENDPOINT, "collector:4317"),
        (OTEL_EXPORTER_OTLP_INSECURE, "yes"),
    ]);
    assert_eq!(config.endpoint, "https://collector:4317");
    assert_eq!(problem_vars(&config), vec![OTEL_EXPORTER_OTLP_INSECURE]);
    assert!(config.problems[0]
        .to_string()
        .contains("OTEL_EXPORTER_OTLP_INSECURE=\"yes\""));
}

#[test]
fn masking_settings() {
    let default = from(&[]);
    assert_eq!(default.mask, crate::privacy::MaskConfig::new());
    let custom = from(&[
        (NAIS_OTEL_MASK_KEYS, "person.id, , kafka.key"),
        (NAIS_OTEL_MASK_REPLACEMENT, "<fnr>"),
        (NAIS_OTEL_MASK_CHECKSUM, "true"),
    ]);
    assert!(custom.mask.enabled);
    assert!(custom.mask.checksum);
    assert_eq!(custom.mask.replacement, "<fnr>");
    assert!(custom.mask.keys.iter().any(|k| k == "person.id"));
    assert!(custom.mask.keys.iter().any(|k| k == "kafka.key"));
    assert!(
        custom.mask.keys.iter().any(|k| k == "url.path"),
        "defaults kept"
    );
    #[rustfmt::skip]
    let bad: &[(&str, &str, &str)] = &[
        (NAIS_OTEL_MASK, "sometimes", "not a boolean keeps masking on"),
        (NAIS_OTEL_MASK_REPLACEMENT, "000", "digits could look like a number"),
        (NAIS_OTEL_MASK_REPLACEMENT, "x\nFORGED ERROR", "a line break would split log lines"),
        (NAIS_OTEL_MASK_REPLACEMENT, "\u{1b}[2J", "an escape sequence"),
        (NAIS_OTEL_MASK_CHECKSUM, "maybe", "not a boolean"),
    ];
    for (variable, value, reason) in bad {
        let config = from(&[(variable, value)]);
        assert_eq!(config.mask, crate::privacy::MaskConfig::new(), "{reason}");
        assert_eq!(problem_vars(&config), vec![*variable], "{reason}");
    }
    assert!(!from(&[(NAIS_OTEL_MASK, "false")]).mask.enabled);

    let exempt = from(&[
        (NAIS_OTEL_MASK_KEYS, "person.id"),
        (
            NAIS_OTEL_MASK_EXEMPT_KEYS,
            "order.id, url.path,person.id,,kafka.offset",
        ),
    ]);
    assert_eq!(exempt.mask.exempt_keys, ["order.id", "kafka.offset"]);
    assert_eq!(
        problem_vars(&exempt),
        [NAIS_OTEL_MASK_EXEMPT_KEYS, NAIS_OTEL_MASK_EXEMPT_KEYS],
        "the floor cannot be exempted: {:?}",
        exempt.problems
    );
    assert!(exempt.problems[0].message.contains("`url.path`"));
}

#[test]
fn curl_style_header_credentials_never_echoed() {
    let config = from(&[(
        OTEL_EXPORTER_OTLP_HEADERS,
        "Authorization: Basic dXNlcjpzZWNyZXQ==,x=1",
    )]);
    assert_eq!(config.headers.0, vec![("x".to_owned(), "1".to_owned())]);
    let all_text = format!("{:?} {}", config.problems, config.problems[0]);
    assert!(!all_text.to_lowercase().contains("dxnl"), "{all_text}");
    assert!(!all_text.to_lowercase().contains("basic"), "{all_text}");
    assert!(
        all_text.to_lowercase().contains("authorization"),
        "{all_text}"
    );
}

#[test]
fn zero_schedule_delay_would_spin_and_is_refused() {
    let config = from(&[(OTEL_BSP_SCHEDULE_DELAY, "0")]);
    assert_eq!(
        config.batch.schedule_delay,
        BatchSettings::default().schedule_delay
    );
    assert_eq!(problem_vars(&config), vec![OTEL_BSP_SCHEDULE_DELAY]);
}

#[test]
fn endpoint_scheme_case_and_credentials() {
    let upper = from(&[(OTEL_EXPORTER_OTLP_ENDPOINT, "HTTPS://tempo.example:443")]);
    assert_eq!(upper.endpoint, "https://tempo.example:443");
    assert!(upper.problems.is_empty());

    let with_password = from(&[(
        OTEL_EXPORTER_OTLP_ENDPOINT,
        "https://user:hunter2@tempo.example:443",
    )]);
    assert_eq!(with_password.endpoint, "https://tempo.example:443");
    assert_eq!(
        problem_vars(&with_password),
        vec![OTEL_EXPORTER_OTLP_ENDPOINT]
    );
    let all_text = format!("{with_password:?}");
    assert!(!all_text.contains("hunter2"), "{all_text}");

    // The warning about the credentials shows the endpoint without its query either.
    let with_query = from(&[(
        OTEL_EXPORTER_OTLP_ENDPOINT,
        "https://user:hunter2@tempo.example:443/?token=q-s3cr3t",
    )]);
    let problems: Vec<String> = with_query.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("https://tempo.example:443/?<redacted>")
            && !problems[0].contains("q-s3cr3t")
            && !problems[0].contains("hunter2"),
        "{problems:?}"
    );
    let all_text = format!("{with_query:?}");
    assert!(!all_text.contains("q-s3cr3t"), "{all_text}");

    // A URL that cannot be used is an error; its message shows the value, never
    // the credentials, even where a malformed URL hides them from a parser.
    #[rustfmt::skip]
    let unusable = [
        "ftp://nais:s3cr3t-pw@collector:4317",
        "http://nais:s3cr3t-pw@collector :4317",
        "http://nais:s3cr3t/pw@collector:4317",
        "nais:s3cr3t-pw@collector:4317:1",
    ];
    for value in unusable {
        let config = from(&[(OTEL_EXPORTER_OTLP_ENDPOINT, value)]);
        let error = config.endpoint_error.as_ref().expect(value);
        assert_eq!(error.variable, OTEL_EXPORTER_OTLP_ENDPOINT);
        assert!(error.value.contains("collector"), "{error}");
        let all_text = format!("{config:?} {error}");
        assert!(!all_text.contains("s3cr3t"), "{value}: {all_text}");
    }
}

#[test]
fn an_endpoint_is_shown_without_its_query() {
    let cases = [
        (
            "http://c:4318/v1/traces?key=s3cr3t",
            "http://c:4318/v1/traces?<redacted>",
        ),
        (
            "https://u:p@c/x?key=s3cr3t",
            "https://<redacted>@c/x?<redacted>",
        ),
        ("http://c:4317", "http://c:4317"),
        // A `?` in the password does not hide the credentials.
        (
            "https://nais:s3cr3t?pw@collector:4317",
            "https://<redacted>@collector:4317",
        ),
        (
            "nais:s3#cr?et@collector:4317/?k=v",
            "<redacted>@collector:4317/?<redacted>",
        ),
        // The fragment and path parameters may hold a key too.
        ("http://c:4318/#s3cr3t", "http://c:4318/#<redacted>"),
        (
            "http://c:4318/v1/traces;jsessionid=s3cr3t?x=1",
            "http://c:4318/v1/traces;<redacted>",
        ),
    ];
    for (endpoint, shown) in cases {
        assert_eq!(super::redacted_endpoint(endpoint), shown, "{endpoint}");
    }
}

#[test]
fn an_endpoint_port_out_of_range_is_refused() {
    for (endpoint, refused) in [
        ("http://127.0.0.1:99999", true),
        ("http://127.0.0.1:65536", true),
        ("http://127.0.0.1:0", true),
        ("http://127.0.0.1:65535", false),
        ("http://[::1]:4317", false),
    ] {
        let config = from(&[(OTEL_EXPORTER_OTLP_ENDPOINT, endpoint)]);
        let error = config.endpoint_error.as_ref().map(ToString::to_string);
        assert_eq!(error.is_some(), refused, "{endpoint}: {error:?}");
        if let Some(error) = error {
            assert!(error.contains("out of range"), "{error}");
            assert!(error.contains(OTEL_EXPORTER_OTLP_ENDPOINT), "{error}");
        }
    }
}

#[test]
fn known_http_methods_are_read_as_a_full_list() {
    let unset = from(&[]);
    assert_eq!(unset.known_http_methods, None);
    let set = from(&[(
        OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS,
        " GET, PROPFIND ,,post",
    )]);
    assert_eq!(
        set.known_http_methods.as_deref(),
        Some(&["GET".to_owned(), "PROPFIND".to_owned(), "post".to_owned()][..])
    );
    assert!(set.problems.is_empty());
    let empty = from(&[(OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS, " , ")]);
    assert_eq!(empty.known_http_methods, None);
}

#[test]
fn every_variable_is_checked_for_utf8() {
    // Every variable constant in vars.rs, as written there, is in `READ`: the list the
    // check for values that are not UTF-8 goes through.
    let source = include_str!("vars.rs");
    let mut seen = 0;
    for line in source.lines() {
        let Some(rest) = line.strip_prefix("pub const ") else {
            continue;
        };
        let Some((name, ty)) = rest.split_once(':') else {
            continue;
        };
        if !ty.trim_start().starts_with("&str") || name.starts_with("DEFAULT_") {
            continue;
        }
        assert!(super::vars::READ.contains(&name), "{name} is not in READ");
        seen += 1;
    }
    // And the two read where they are used, written out in `READ`.
    assert_eq!(seen + 2, super::vars::READ.len());
}

#[test]
fn tls_files_that_are_not_regular_or_too_large_are_refused_at_once() {
    let dir = std::env::temp_dir().join(format!("nais-otel-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // A FIFO: opening it to read would wait for a writer that never comes.
    let fifo = dir.join("fifo");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let big = dir.join("big.pem");
    std::fs::write(&big, vec![b'a'; 4 * 1024 * 1024 + 1]).expect("write");
    let fifo = fifo.display().to_string();
    let big = big.display().to_string();
    let cases = [
        (
            OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE,
            fifo.as_str(),
            "not a regular file",
        ),
        (
            OTEL_EXPORTER_OTLP_CERTIFICATE,
            "/dev/zero",
            "not a regular file",
        ),
        (OTEL_EXPORTER_OTLP_CERTIFICATE, "/", "not a regular file"),
        (
            OTEL_EXPORTER_OTLP_CERTIFICATE,
            big.as_str(),
            "larger than 4 MiB",
        ),
    ];
    for (variable, path, why) in cases {
        let started = std::time::Instant::now();
        let config = from(&[
            (variable, path),
            (OTEL_EXPORTER_OTLP_ENDPOINT, "https://collector:4317"),
        ]);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{path}"
        );
        assert_eq!(config.problems.len(), 1, "{path}: {:?}", config.problems);
        let problem = &config.problems[0];
        assert_eq!(problem.variable, variable, "names the variable set");
        assert_eq!(problem.value, path);
        assert!(problem.message.contains(why), "{path}: {}", problem.message);
    }
    // A client key without its certificate: the traces-specific variables are named.
    let config = from(&[
        (OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY, "/etc/client.key"),
        (OTEL_EXPORTER_OTLP_ENDPOINT, "https://collector:4317"),
    ]);
    assert_eq!(
        problem_vars(&config),
        [OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY]
    );
    assert!(
        config.problems[0]
            .message
            .contains(OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE),
        "{}",
        config.problems[0].message
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An empty value counts as unset, for every variable read: the configuration is the
/// default one, and nothing is reported.
#[test]
fn every_variable_empty_counts_as_unset() {
    let default = format!("{:?}", from(&[]));
    for variable in vars::READ {
        let config = from(&[(variable, "")]);
        assert_eq!(problem_vars(&config), Vec::<&str>::new(), "{variable}");
        assert_eq!(format!("{config:?}"), default, "{variable}");
    }
}

/// A `TRACES_` variable with a bad value gives way to its valid generic twin, and says
/// so; with no valid twin the default is used.
#[test]
fn a_bad_traces_variable_gives_way_to_its_generic_twin() {
    let config = from(&[
        (OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, "abc"),
        (OTEL_EXPORTER_OTLP_TIMEOUT, "3000"),
        (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, "bogus"),
        (OTEL_EXPORTER_OTLP_PROTOCOL, "http/protobuf"),
        (OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, "zstd"),
        (OTEL_EXPORTER_OTLP_COMPRESSION, "gzip"),
        (OTEL_EXPORTER_OTLP_TRACES_INSECURE, "yes"),
        (OTEL_EXPORTER_OTLP_INSECURE, "true"),
        (OTEL_EXPORTER_OTLP_ENDPOINT, "collector:4318"),
    ]);
    assert_eq!(config.timeout, Duration::from_millis(3000));
    assert_eq!(config.protocol, Protocol::HttpProtobuf);
    assert_eq!(config.compression, Compression::Gzip);
    assert_eq!(config.endpoint, "http://collector:4318/v1/traces");
    let mut refused = problem_vars(&config);
    refused.sort_unstable();
    assert_eq!(
        refused,
        [
            OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
            OTEL_EXPORTER_OTLP_TRACES_INSECURE,
            OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
            OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
        ]
    );
    let timeout = config
        .problems
        .iter()
        .find(|p| p.variable == OTEL_EXPORTER_OTLP_TRACES_TIMEOUT)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        timeout.contains("using OTEL_EXPORTER_OTLP_TIMEOUT"),
        "{timeout}"
    );

    // Both bad: each reported, the default used.
    let config = from(&[
        (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, "bogus"),
        (OTEL_EXPORTER_OTLP_PROTOCOL, "http/json"),
    ]);
    assert_eq!(config.protocol, Protocol::Grpc);
    assert_eq!(config.problems.len(), 2);
    assert!(config.problems[1].to_string().contains("using grpc"));
}

/// A bad `OTEL_EXPORTER_OTLP_INSECURE` is reported whatever the endpoint: NAIS sets it
/// next to an `http://` endpoint, and without one it is read too.
#[test]
fn a_bad_insecure_flag_is_reported_without_an_endpoint_or_with_a_scheme() {
    for endpoint in [None, Some("http://collector:4317")] {
        let mut vars = vec![(OTEL_EXPORTER_OTLP_INSECURE, "yes")];
        vars.extend(endpoint.map(|e| (OTEL_EXPORTER_OTLP_ENDPOINT, e)));
        let config = from(&vars);
        assert_eq!(
            problem_vars(&config),
            vec![OTEL_EXPORTER_OTLP_INSECURE],
            "{endpoint:?}"
        );
    }
}
