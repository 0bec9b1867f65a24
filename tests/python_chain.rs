//! Another language in the chain: kennels (Rust) calls a Python service
//! instrumented with the OpenTelemetry Python SDK, which calls inventory (Rust).
//! One trace, correct parents, spans from both languages, all at rotel.

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use support::{Proc, Rotel, RotelSpan};

/// Not a test: the entry point of the DogBook services this file starts as
/// child processes (see `support::dogbook_child_main`). Does nothing otherwise.
#[test]
fn dogbook_child_process() {
    support::dogbook_child_main();
}

/// The 18 spans of a DogBook request for kennel 2, plus the Python service's
/// SERVER and CLIENT spans.
const SPANS: usize = 20;

#[test]
fn rust_python_rust_is_one_trace() {
    let python = support::python();
    let rotel = Rotel::start();
    let endpoint = rotel.endpoint();
    let mut inventory = support::spawn_service("inventory", &endpoint, &[]);
    let mut dogs = support::spawn_service("dogs", &endpoint, &[]);

    let proxy_port = support::free_port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/inventory_proxy.py");
    let mut command = Command::new(python);
    command
        .arg(script)
        .env_clear()
        .env("PORT", proxy_port.to_string())
        .env("UPSTREAM_URL", inventory.url())
        .env("OTEL_SERVICE_NAME", "inventory-proxy")
        .env(
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.namespace=dogbook,k8s.namespace.name=dogbook",
        )
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_EXPORTER_OTLP_INSECURE", "true")
        .env("OTEL_BSP_SCHEDULE_DELAY", "200");
    let mut proxy = Proc::spawn("inventory-proxy.py", command);

    let mut kennels = support::spawn_service(
        "kennels",
        &endpoint,
        &[
            ("INVENTORY_URL", format!("http://127.0.0.1:{proxy_port}")),
            ("DOGS_URL", dogs.url()),
        ],
    );
    inventory.proc.wait_ready(inventory.port);
    dogs.proc.wait_ready(dogs.port);
    proxy.wait_ready(proxy_port);
    kennels.proc.wait_ready(kennels.port);

    let answer = support::must_get(kennels.port, "/api/v1/kennels?id=2");
    assert_eq!(answer.status, 200, "{answer:?}");
    // The dogs came through Python: inventory answered kennels' question.
    for dog in ["Möhre", "Jack", "Charlie"] {
        assert!(answer.body.contains(dog), "{answer:?}");
    }
    let trace = rotel.wait_for_trace(&answer.trace_id(), SPANS);
    let summary = || support::summary(&trace);
    assert_eq!(trace.len(), SPANS, "{}", summary());

    let ids: HashSet<&str> = trace.iter().map(|s| s.span_id.as_str()).collect();
    assert_eq!(ids.len(), SPANS, "{}", summary());
    let roots = trace.iter().filter(|s| s.parent_id.is_empty()).count();
    assert_eq!(roots, 1, "{}", summary());
    let parent = |span: &RotelSpan| -> RotelSpan {
        trace
            .iter()
            .find(|s| s.span_id == span.parent_id)
            .cloned()
            .unwrap_or_else(|| panic!("no parent for {}:\n{}", span.summary(), summary()))
    };

    // Both languages, told apart by the SDK's own resource attribute.
    let languages: HashSet<(&str, &str)> = trace
        .iter()
        .map(|s| (s.service(), s.res("telemetry.sdk.language").unwrap_or("?")))
        .collect();
    let expected: HashSet<(&str, &str)> = [
        ("kennels", "rust"),
        ("inventory-proxy", "python"),
        ("inventory", "rust"),
        ("dogs", "rust"),
    ]
    .into();
    assert_eq!(languages, expected, "{}", summary());

    // inventory's work <- inventory SERVER <- Python CLIENT <- Python SERVER
    // <- kennels CLIENT <- kennels.get-inventory.
    let work = trace
        .iter()
        .find(|s| s.name == "inventory.get-inventory-by-kennel-id")
        .unwrap_or_else(|| panic!("no inventory work span:\n{}", summary()));
    let chain = [
        ("inventory", "SPAN_KIND_SERVER"),
        ("inventory-proxy", "SPAN_KIND_CLIENT"),
        ("inventory-proxy", "SPAN_KIND_SERVER"),
        ("kennels", "SPAN_KIND_CLIENT"),
        ("kennels", "SPAN_KIND_INTERNAL"),
    ];
    let mut span = work.clone();
    for (service, kind) in chain {
        span = parent(&span);
        assert_eq!(
            (span.service(), span.kind.as_str()),
            (service, kind),
            "{}",
            summary()
        );
    }
    assert_eq!(span.name, "kennels.get-inventory", "{}", summary());
}
