//! Spans from `init()`'s provider reach a real OTLP receiver over loopback,
//! with the resource NAIS describes and the attributes code set.

mod support;

use std::time::Duration;

use nais_otel::config::{Compression, Protocol};
use nais_otel_console::{Collector, ReceivedSpanKind};
use opentelemetry::{
    trace::{Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _},
    KeyValue,
};

const WAIT: Duration = Duration::from_secs(10);

fn nais_vars() -> Vec<(&'static str, &'static str)> {
    vec![
        ("OTEL_SERVICE_NAME", "dogs"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=dogs,service.namespace=dogbook,k8s.node.name=node-1",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
        ("OTEL_PROPAGATORS", "tracecontext,baggage"),
        ("OTEL_TRACES_SAMPLER", "parentbased_always_on"),
        ("NAIS_APP_NAME", "dogs"),
        ("NAIS_NAMESPACE", "dogbook"),
        (
            "NAIS_APP_IMAGE",
            "europe-north1-docker.pkg.dev/nais/dogbook/dogs:2024.11.21-abc",
        ),
        ("NAIS_CLUSTER_NAME", "dev-gcp"),
        ("NAIS_POD_NAME", "dogs-1234"),
    ]
}

fn make_spans(guard: &nais_otel::Guard) -> (String, String) {
    let tracer = guard.provider().expect("provider").tracer("test");
    let parent = tracer.start("GET /dogs/{id}");
    let cx = opentelemetry::Context::current_with_span(parent);
    let trace_id = cx.span().span_context().trace_id().to_string();
    let parent_id = cx.span().span_context().span_id().to_string();
    let mut child = tracer
        .span_builder("dogs.get-dog-name")
        .with_kind(SpanKind::Internal)
        .with_attributes([KeyValue::new("dogs.id", 3_i64)])
        .start_with_context(&tracer, &cx);
    child.set_status(Status::error("no such dog"));
    child.end();
    cx.span().end();
    (trace_id, parent_id)
}

#[test]
fn grpc_export_carries_resource_and_attributes() {
    let collector = Collector::start().expect("collector");
    let guard = support::live(&collector.endpoint(), &nais_vars())
        .init()
        .expect("init");
    let (trace_id, parent_id) = make_spans(&guard);
    let counts = guard.shutdown();
    assert_eq!(counts.ended, 2);
    assert_eq!(counts.exported, 2, "{counts:?}");

    let spans = collector.wait_for_spans(2, WAIT).expect("spans");
    let child = spans
        .iter()
        .find(|s| s.name == "dogs.get-dog-name")
        .expect("child");
    let parent = spans
        .iter()
        .find(|s| s.name == "GET /dogs/{id}")
        .expect("parent");
    assert_eq!(child.trace_id, trace_id);
    assert_eq!(parent.span_id, parent_id);
    assert_eq!(child.parent_span_id.as_deref(), Some(parent_id.as_str()));
    assert_eq!(child.attr_i64("dogs.id"), Some(3));
    assert!(child.is_error());
    assert_eq!(child.kind, ReceivedSpanKind::Internal);
    for (key, value) in [
        ("service.name", "dogs"),
        ("service.namespace", "dogbook"),
        ("k8s.namespace.name", "dogbook"),
        ("k8s.pod.name", "dogs-1234"),
        ("k8s.cluster.name", "dev-gcp"),
        ("k8s.node.name", "node-1"),
        ("service.version", "2024.11.21-abc"),
        ("telemetry.sdk.language", "rust"),
    ] {
        assert_eq!(child.resource_attr_str(key), Some(value), "{key}");
    }
}

#[test]
fn gzip_export_with_headers_is_accepted() {
    let collector = Collector::start().expect("collector");
    let guard = support::live(
        &collector.endpoint(),
        &[("OTEL_EXPORTER_OTLP_HEADERS", "x-scope-orgid=dogbook")],
    )
    .with_compression(Compression::Gzip)
    .with_header("authorization", "Bearer code-wins")
    .init()
    .expect("init");
    make_spans(&guard);
    drop(guard);
    collector
        .wait_for_spans(2, WAIT)
        .expect("gzip-compressed spans arrive");
}

#[test]
fn http_protobuf_export() {
    let collector = Collector::builder()
        .http_addr("127.0.0.1:0".parse().unwrap())
        .start()
        .expect("collector");
    let endpoint = format!(
        "{}/v1/traces",
        collector.http_endpoint().expect("http endpoint")
    );
    let guard = support::live(&endpoint, &[])
        .with_protocol(Protocol::HttpProtobuf)
        .init()
        .expect("init");
    let (trace_id, _) = make_spans(&guard);
    let counts = guard.shutdown();
    assert_eq!(counts.exported, 2, "{counts:?}");
    let spans = collector.wait_for_spans(2, WAIT).expect("spans");
    assert!(spans.iter().all(|s| s.trace_id == trace_id));
}

#[test]
fn attribute_value_length_limit_is_applied() {
    let collector = Collector::start().expect("collector");
    let guard = support::live(
        &collector.endpoint(),
        &[("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "5")],
    )
    .init()
    .expect("init");
    let tracer = guard.provider().expect("provider").tracer("test");
    let mut span = tracer.start("long");
    span.set_attribute(KeyValue::new("text", "abcdefghij"));
    span.end();
    drop(guard);
    let spans = collector.wait_for_spans(1, WAIT).expect("span");
    assert_eq!(spans[0].attr_str("text"), Some("abcde"));
}

#[test]
fn malformed_endpoint_is_an_error_naming_variable_and_value() {
    let error = nais_otel::builder()
        .with_env_lookup(support::env(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://exa mple:4317",
        )]))
        .with_globals(false)
        .init()
        .expect_err("a malformed endpoint is refused");
    assert_eq!(error.kind(), nais_otel::InitErrorKind::InvalidEndpoint);
    let message = error.to_string();
    assert!(message.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{message}");
    assert!(message.contains("exa mple"), "{message}");
}

#[test]
fn malformed_endpoint_is_fine_when_export_is_off() {
    for exporter in ["none", "console"] {
        let guard = nais_otel::builder()
            .with_env_lookup(support::env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"),
                ("OTEL_TRACES_EXPORTER", exporter),
            ]))
            .with_globals(false)
            .init();
        assert!(guard.is_ok(), "{exporter}");
    }
}

#[test]
fn disabled_sdk_has_no_provider() {
    let guard = nais_otel::builder()
        .with_env_lookup(support::env(&[("OTEL_SDK_DISABLED", "true")]))
        .with_globals(false)
        .init()
        .expect("init");
    assert!(guard.provider().is_none());
    assert_eq!(guard.shutdown().ended, 0);
}

#[test]
fn unreadable_certificate_is_a_problem_not_a_crash() {
    let guard = nais_otel::builder()
        .with_env_lookup(support::env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://tempo.invalid:443"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/no/such/ca.pem"),
        ]))
        .with_globals(false)
        .with_shutdown_timeout(Duration::from_millis(200))
        .init()
        .expect("init");
    let problem = guard
        .config()
        .problems
        .iter()
        .find(|p| p.variable == "OTEL_EXPORTER_OTLP_CERTIFICATE")
        .expect("reported");
    assert_eq!(problem.value, "/no/such/ca.pem");
}

/// A certificate or key file that is there but holds nothing TLS can use (broken base64,
/// no PEM block, a key that is no key) is reported and left out: the service starts,
/// over either protocol.
#[test]
fn malformed_certificate_files_are_problems_not_a_refusal() {
    let dir = std::env::temp_dir().join(format!("nais-otel-bad-pem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    };
    let broken = write(
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA!!!!\n-----END CERTIFICATE-----\n",
    );
    let empty = write("empty.pem", "no PEM block here\n");
    for protocol in ["grpc", "http/protobuf"] {
        for (ca, client_cert, client_key) in [(&broken, &broken, &empty), (&empty, &empty, &broken)]
        {
            let guard = nais_otel::builder()
                .with_env_lookup(support::env(&[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://127.0.0.1:1"),
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                    ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca),
                    ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", client_cert),
                    ("OTEL_EXPORTER_OTLP_CLIENT_KEY", client_key),
                ]))
                .with_globals(false)
                .with_shutdown_timeout(Duration::from_millis(200))
                .init()
                .unwrap_or_else(|error| panic!("{protocol}: the service starts: {error}"));
            let problems = &guard.config().problems;
            let ca_problem = problems
                .iter()
                .find(|p| p.variable == "OTEL_EXPORTER_OTLP_CERTIFICATE")
                .unwrap_or_else(|| panic!("{protocol}: the CA file is reported: {problems:?}"));
            assert_eq!(&ca_problem.value, ca, "the path is named");
            assert!(ca_problem.message.ends_with("ignored"), "{ca_problem}");
            assert!(
                problems
                    .iter()
                    .any(|p| p.variable.starts_with("OTEL_EXPORTER_OTLP_CLIENT_")),
                "{protocol}: the client identity is reported: {problems:?}"
            );
            assert!(guard.provider().is_some(), "{protocol}: spans still go out");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn protocol_set_in_code_decides_how_the_endpoint_is_read() {
    use nais_otel::config::Protocol;
    let defaults = nais_otel::builder()
        .with_env_lookup(support::env(&[]))
        .with_protocol(Protocol::HttpProtobuf)
        .config();
    assert_eq!(defaults.endpoint, "http://localhost:4318/v1/traces");
    let generic = nais_otel::builder()
        .with_env_lookup(support::env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ]))
        .with_protocol(Protocol::HttpProtobuf)
        .config();
    assert_eq!(generic.protocol, Protocol::HttpProtobuf);
    assert_eq!(generic.endpoint, "http://collector:4318/v1/traces");
}

#[test]
fn batch_values_from_code_are_made_safe() {
    use nais_otel::config::BatchSettings;
    let config = nais_otel::builder()
        .with_env_lookup(support::env(&[]))
        .with_batch_settings(
            BatchSettings::new()
                .with_schedule_delay(Duration::ZERO)
                .with_export_timeout(Duration::MAX)
                .with_max_queue_size(10)
                .with_max_export_batch_size(100),
        )
        .config();
    assert_eq!(
        config.batch.schedule_delay,
        BatchSettings::default().schedule_delay
    );
    assert_eq!(config.batch.export_timeout, Duration::from_secs(86_400));
    assert_eq!(config.batch.max_export_batch_size, 10);
}

/// Set in the child process of `values_that_are_not_utf8_are_problems`.
const NOT_UTF8_CHILD: &str = "NAIS_OTEL_TEST_NOT_UTF8_CHILD";

/// Not a test: prints the problems the process environment gives, in the child process
/// `values_that_are_not_utf8_are_problems` starts. Does nothing otherwise.
#[test]
fn not_utf8_child_process() {
    if std::env::var_os(NOT_UTF8_CHILD).is_none() {
        return;
    }
    for problem in nais_otel::builder().config().problems {
        println!("builder {problem}");
    }
    for problem in nais_otel::Config::from_env().problems {
        println!("from_env {problem}");
    }
}

/// A value that is not UTF-8 is read as unset, and said so, naming the variable (and the
/// value with its bad bytes replaced; a header list's never).
#[test]
fn values_that_are_not_utf8_are_problems() {
    use std::os::unix::ffi::OsStringExt as _;
    let bad = |text: &str| {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0xff);
        std::ffi::OsString::from_vec(bytes)
    };
    let output = std::process::Command::new(std::env::current_exe().expect("test executable"))
        .args(["not_utf8_child_process", "--exact", "--nocapture"])
        .env_clear()
        .env(NOT_UTF8_CHILD, "1")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", bad("http://127.0.0.1:1"))
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            bad("Authorization=Bearer s3cr3t"),
        )
        .env("NAIS_APP_NAME", bad("dogs"))
        .env("SOMETHING_ELSE", bad("not ours"))
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    for source in ["builder", "from_env"] {
        let lines: Vec<&str> = stdout
            .lines()
            .filter(|line| line.starts_with(source))
            .collect();
        assert_eq!(lines.len(), 3, "{source}: {stdout}");
        for variable in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_HEADERS",
            "NAIS_APP_NAME",
        ] {
            assert!(
                lines
                    .iter()
                    .any(|line| line.contains(variable) && line.contains("not valid UTF-8")),
                "{source}: {variable}: {stdout}"
            );
        }
        assert!(
            lines
                .iter()
                .any(|line| line.contains("http://127.0.0.1:1\u{fffd}")),
            "{stdout}"
        );
    }
    assert!(
        !stdout.contains("s3cr3t"),
        "a header value is never shown: {stdout}"
    );
}
