//! NAIS for real: the DogBook services run with exactly the environment NAIS
//! injects, exporting to rotel-agent (a collector nobody here wrote). What rotel
//! received is one whole trace a request, with the NAIS resource, and nothing
//! for the probes and no national identity number anywhere.

mod support;

use std::collections::HashSet;

use support::{DogBook, Rotel, RotelSpan};

/// Not a test: the entry point of the DogBook services this file starts as
/// child processes (see `support::dogbook_child_main`). Does nothing otherwise.
#[test]
fn dogbook_child_process() {
    support::dogbook_child_main();
}

/// kennels?id=2: server, kennel name, get-inventory, its client span, 3 x
/// (get-dog-name, client); inventory: server, lookup; dogs: 3 x (server, lookup).
const SPANS: usize = 18;

/// A national identity number (fødselsnummer) with a plausible birth date.
const FNR: &str = "01019012345";

#[test]
fn nais_environment_gives_whole_traces_at_rotel() {
    let rotel = Rotel::start();
    // Exactly what NAIS injects: `support::nais_env`, nothing else.
    let dogbook = DogBook::start(&rotel.endpoint(), &[]);

    // Probes and scrapes first: they must make no spans.
    for service in [&dogbook.kennels, &dogbook.inventory, &dogbook.dogs] {
        for path in ["/isAlive", "/isReady", "/metrics"] {
            let answer = support::must_get(service.port, path);
            assert_eq!(answer.status, 200, "{path}: {answer:?}");
        }
    }

    let answer = support::must_get(
        dogbook.kennels.port,
        &format!("/api/v1/kennels?id=2&fnr={FNR}"),
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.body.contains("some other kennel"), "{answer:?}");
    let trace_id = answer.trace_id();

    // The default 5 s batch delay (NAIS sets none) decides when this arrives.
    let trace = rotel.wait_for_trace(&trace_id, SPANS);
    let summary = || support::summary(&trace);
    assert_eq!(trace.len(), SPANS, "{}", summary());

    // Resource: what NAIS set, per service.
    for span in &trace {
        let app = span.service();
        assert!(
            ["kennels", "inventory", "dogs"].contains(&app),
            "{}",
            span.summary()
        );
        assert_eq!(span.res("service.namespace"), Some("dogbook"), "{span:?}");
        assert_eq!(span.res("k8s.namespace.name"), Some("dogbook"), "{span:?}");
        assert_eq!(span.res("k8s.deployment.name"), Some(app), "{span:?}");
        assert_eq!(span.res("k8s.container.name"), Some(app), "{span:?}");
        assert_eq!(
            span.res("k8s.pod.name"),
            Some(format!("{app}-7d9f8c6b5-x2x4q").as_str()),
            "{span:?}"
        );
        assert_eq!(
            span.res("service.version"),
            Some("2024.11.21-abc1234"),
            "{span:?}"
        );
        assert_eq!(span.res("telemetry.sdk.language"), Some("rust"), "{span:?}");
    }

    // One tree: one root (kennels' server span), every other parent is in the trace.
    let ids: HashSet<&str> = trace.iter().map(|s| s.span_id.as_str()).collect();
    assert_eq!(ids.len(), SPANS, "span ids are unique: {}", summary());
    let roots: Vec<&RotelSpan> = trace.iter().filter(|s| s.parent_id.is_empty()).collect();
    assert_eq!(roots.len(), 1, "{}", summary());
    let root = roots[0];
    assert_eq!(
        (root.service(), root.kind.as_str()),
        ("kennels", "SPAN_KIND_SERVER"),
        "{}",
        summary()
    );
    for span in &trace {
        assert!(
            span.parent_id.is_empty() || ids.contains(span.parent_id.as_str()),
            "{} has a parent outside the trace:\n{}",
            span.summary(),
            summary()
        );
    }
    let parent = |span: &RotelSpan| -> RotelSpan {
        trace
            .iter()
            .find(|s| s.span_id == span.parent_id)
            .cloned()
            .unwrap_or_else(|| panic!("no parent for {}", span.summary()))
    };
    // Every server span of inventory and dogs hangs under a client span of kennels.
    let servers: Vec<&RotelSpan> = trace
        .iter()
        .filter(|s| s.kind == "SPAN_KIND_SERVER" && s.service() != "kennels")
        .collect();
    assert_eq!(servers.len(), 4, "{}", summary());
    for server in servers {
        let client = parent(server);
        assert_eq!(
            (client.service(), client.kind.as_str()),
            ("kennels", "SPAN_KIND_CLIENT"),
            "{}",
            summary()
        );
        let caller = parent(&client);
        let expected = match server.service() {
            "inventory" => "kennels.get-inventory",
            _ => "kennels.get-dog-name",
        };
        assert_eq!(caller.name, expected, "{}", summary());
        assert_eq!(parent(&caller).span_id, root.span_id, "{}", summary());
    }
    for (name, service) in [
        ("inventory.get-inventory-by-kennel-id", "inventory"),
        ("dogs.get-dog-name", "dogs"),
    ] {
        for work in trace.iter().filter(|s| s.name == name) {
            let server = parent(work);
            assert_eq!(
                (server.service(), server.kind.as_str()),
                (service, "SPAN_KIND_SERVER"),
                "{}",
                summary()
            );
        }
    }

    // The masked query is there, the number is not.
    assert!(
        root.attributes
            .iter()
            .any(|(key, value)| key == "url.query" && value.contains("[fnr]")),
        "{root:?}"
    );

    // Nothing but the one trace arrived: no probe spans. Wait for the next
    // export cycle to be sure stragglers would have shown up, by asking for a
    // second request's trace.
    let second = support::must_get(dogbook.kennels.port, "/api/v1/kennels?id=0");
    assert_eq!(second.status, 200, "{second:?}");
    rotel.wait_for_trace(&second.trace_id(), 10);
    let all = rotel.spans();
    let probes: Vec<&RotelSpan> = all
        .iter()
        .filter(|s| {
            let text = format!("{} {:?}", s.name, s.attributes).to_ascii_lowercase();
            text.contains("isalive") || text.contains("isready") || text.contains("metrics")
        })
        .collect();
    assert!(probes.is_empty(), "probe spans: {probes:#?}");
    let traces: HashSet<&str> = all.iter().map(|s| s.trace_id.as_str()).collect();
    assert_eq!(traces.len(), 2, "only the two requests' traces: {all:#?}");

    let everything = rotel.proc.output.text();
    assert!(
        !everything.contains(FNR),
        "rotel received the national identity number:\n{everything}"
    );
    assert!(everything.contains(&trace_id));
}

/// `init()`'s pipeline of service `big`, exporting to `rotel`.
fn big_pipeline(rotel: &Rotel) -> nais_otel::Guard {
    nais_otel::builder()
        .with_env_lookup(|name| (name == "OTEL_SERVICE_NAME").then(|| "big".to_owned()))
        .with_globals(false)
        .with_endpoint(rotel.endpoint())
        .init()
        .expect("init")
}

/// A batch larger than a collector takes in one request (rotel, as the OpenTelemetry
/// collector, refuses a gRPC message over 4 MiB by default) arrives whole: the exporter
/// sends it in requests within the limit. Eight spans of 600 kB each, one batch.
#[test]
fn a_batch_over_four_mib_reaches_rotel_whole() {
    use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};

    const SPANS: usize = 8;
    let rotel = Rotel::start();
    let guard = big_pipeline(&rotel);
    let tracer = guard.provider().expect("provider").tracer("big");
    let value = "x".repeat(600_000);
    let root = tracer.start("big 0");
    let cx = opentelemetry::Context::current_with_span(root);
    let trace_id = cx.span().span_context().trace_id().to_string();
    cx.span()
        .set_attribute(opentelemetry::KeyValue::new("big", value.clone()));
    for i in 1..SPANS {
        let mut child = tracer.start_with_context(format!("big {i}"), &cx);
        child.set_attribute(opentelemetry::KeyValue::new("big", value.clone()));
        child.end();
    }
    cx.span().end();
    // The batch goes at shutdown, all eight spans at once (4.8 MB).
    let counts = guard.shutdown();
    assert_eq!(counts.exported, SPANS as u64, "{counts:?}");
    let trace = rotel.wait_for_trace(&trace_id, SPANS);
    assert_eq!(trace.len(), SPANS);
    for span in &trace {
        assert_eq!(
            span.attr("big").map(str::len),
            Some(600_000),
            "{}",
            span.name
        );
    }
}

/// A single span larger than a collector takes in one request (a request body of 5 MB
/// recorded whole) reaches rotel, which refuses a gRPC message over 4 MiB, with its long
/// text cut to a mebi-character; its short attributes, and the span sent with it, whole.
#[test]
fn a_span_over_four_mib_reaches_rotel_cut() {
    use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};

    let rotel = Rotel::start();
    let guard = big_pipeline(&rotel);
    let tracer = guard.provider().expect("provider").tracer("big");
    let root = tracer.start("POST /dogs");
    let cx = opentelemetry::Context::current_with_span(root);
    let trace_id = cx.span().span_context().trace_id().to_string();
    cx.span().set_attribute(opentelemetry::KeyValue::new(
        "http.request.body",
        "x".repeat(5_000_000),
    ));
    cx.span()
        .set_attribute(opentelemetry::KeyValue::new("dogs.count", "7"));
    tracer.start_with_context("dogs.insert", &cx).end();
    cx.span().end();
    let counts = guard.shutdown();
    assert_eq!(counts.exported, 2, "{counts:?}");
    let trace = rotel.wait_for_trace(&trace_id, 2);
    let root = trace
        .iter()
        .find(|span| span.name == "POST /dogs")
        .expect("the large span arrived");
    assert_eq!(
        root.attr("http.request.body").map(str::len),
        Some(1024 * 1024)
    );
    assert_eq!(root.attr("dogs.count"), Some("7"));
    assert!(trace.iter().any(|span| span.name == "dogs.insert"));
}
