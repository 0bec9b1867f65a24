//! `init()` with globals: the tracer provider, the propagator and a subscriber
//! whose JSON log lines carry the trace id of the span they were written in.
//! One test in its own binary, because a global subscriber can be set once.

mod support;

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use nais_otel::config::LogFormat;
use nais_otel_console::Collector;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn init_installs_provider_propagator_and_json_logs_with_trace_ids() {
    let collector = Collector::start().expect("collector");
    let logs = Buffer::default();
    let guard = support::live(
        &collector.endpoint(),
        &[
            ("NAIS_APP_NAME", "kennels"),
            ("OTEL_TRACES_SAMPLER", "bogus-sampler"),
        ],
    )
    .with_globals(true)
    .with_log_writer(logs.clone())
    .init()
    .expect("init");
    assert_eq!(guard.config().log.format, LogFormat::Json, "JSON on NAIS");

    // A tracing span becomes an OTel span; the log line inside it carries its ids.
    {
        let span = tracing::info_span!("kennels.get-inventory", kennel.id = 2);
        let _entered = span.enter();
        tracing::info!(dogs = 3, "fetched the inventory");
    }
    tracing::info!("outside any span");

    // The global propagator is W3C trace context (and baggage).
    let mut fields = std::collections::HashMap::new();
    {
        let span = tracing::info_span!("outgoing");
        let _entered = span.enter();
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&opentelemetry::Context::current(), &mut fields)
        });
    }

    drop(guard);
    let spans = collector
        .wait_for_spans(2, Duration::from_secs(10))
        .expect("spans from tracing arrive");
    let inventory = spans
        .iter()
        .find(|s| s.name == "kennels.get-inventory")
        .expect("the tracing span was exported");
    assert_eq!(inventory.service_name(), Some("kennels"));
    assert_eq!(inventory.attr_i64("kennel.id"), Some(2));
    let outgoing = spans
        .iter()
        .find(|s| s.name == "outgoing")
        .expect("outgoing");
    let traceparent = fields.get("traceparent").expect("traceparent injected");
    // A trace started here: sampled, and random (W3C Trace Context Level 2).
    assert_eq!(
        traceparent,
        &format!("00-{}-{}-03", outgoing.trace_id, outgoing.span_id)
    );

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let inside = lines
        .iter()
        .find(|l| l["message"] == "fetched the inventory")
        .expect("log line");
    assert_eq!(inside["level"], "INFO");
    assert_eq!(inside["dogs"], 3);
    assert_eq!(inside["trace_id"], inventory.trace_id.as_str());
    assert_eq!(inside["span_id"], inventory.span_id.as_str());
    assert_eq!(inside["span"], "kennels.get-inventory");
    assert!(inside["timestamp"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    let outside = lines
        .iter()
        .find(|l| l["message"] == "outside any span")
        .expect("log line");
    assert!(outside.get("trace_id").is_none());
    // The bad sampler was reported once, naming the variable and the value.
    let warning = lines
        .iter()
        .find(|l| l["variable"] == "OTEL_TRACES_SAMPLER")
        .expect("a warning for the bad sampler");
    assert_eq!(warning["level"], "WARN");
    assert_eq!(warning["value"], "bogus-sampler");

    // The globals are installed once a process: a second `init()` says so (it would take
    // the global tracer provider while the first subscriber kept the `tracing` spans), and
    // a pipeline of its own, without globals, still starts.
    let again = nais_otel::builder()
        .with_env_lookup(|_| None)
        .init()
        .expect_err("a second init() with globals");
    assert_eq!(again.kind(), nais_otel::InitErrorKind::AlreadyInitialized);
    assert!(again.to_string().contains("with_globals(false)"), "{again}");
    let own = support::live(&collector.endpoint(), &[])
        .init()
        .expect("a pipeline without globals");
    drop(own);
}
