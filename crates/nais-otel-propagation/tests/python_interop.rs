//! Interop with the OpenTelemetry Python SDK's `TraceContextTextMapPropagator`
//! (`opentelemetry-api`/`opentelemetry-sdk` 1.45.2), in both directions.
//!
//! The interpreter is `$NAIS_OTEL_PYTHON`, or `python3`. `bash scripts/test.sh`
//! creates `.venv` with the packages and sets the variable.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use nais_otel_propagation::{TraceContextPropagator, W3cTraceState};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId};
use opentelemetry::Context;

const HINT: &str = "run `bash scripts/test.sh` (it creates .venv with opentelemetry-api and \
                    opentelemetry-sdk 1.45.2 and sets NAIS_OTEL_PYTHON)";

/// (trace-id, span-id, flags, tracestate)
#[rustfmt::skip]
const CASES: &[(&str, &str, u8, &str)] = &[
    ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 0x00, ""),
    ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 0x01, "congo=t61rcWkgMzE"),
    ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", 0x02, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
    ("00000000000000000000000000000001", "0000000000000001", 0x03, "tenant@system=a b!~,k/*_-=v"),
    ("ffffffffffffffffffffffffffffffff", "ffffffffffffffff", 0x03, "a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8"),
];

fn python(mode: &str, input: &str) -> String {
    let interpreter = std::env::var("NAIS_OTEL_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python_interop.py");
    let mut child = Command::new(&interpreter)
        .arg(&script)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start Python interpreter `{interpreter}`: {e}; {HINT}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("write to Python");
    let output = child.wait_with_output().expect("wait for Python");
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => String::from_utf8(output.stdout).expect("Python prints UTF-8"),
        Some(3) => panic!("`{interpreter}` lacks the OpenTelemetry packages ({stderr}); {HINT}"),
        _ => panic!(
            "`{interpreter}` failed ({}): {stderr}; {HINT}",
            output.status
        ),
    }
}

fn span_context(trace_id: &str, span_id: &str, flags: u8, tracestate: &str) -> SpanContext {
    let state: W3cTraceState = tracestate.parse().expect("test tracestate is valid");
    SpanContext::new(
        TraceId::from_hex(trace_id).expect("hex"),
        SpanId::from_hex(span_id).expect("hex"),
        TraceFlags::new(flags),
        true,
        state.to_trace_state(),
    )
}

#[test]
fn python_writes_and_we_read() {
    let input: String = CASES
        .iter()
        .map(|(trace_id, span_id, flags, state)| {
            let state = if state.is_empty() { "-" } else { state };
            format!("{trace_id} {span_id} {flags:02x} {state}\n")
        })
        .collect();
    let output = python("make", &input);
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), CASES.len(), "one line per case: {output:?}");

    for ((trace_id, span_id, flags, state), line) in CASES.iter().zip(lines) {
        let (traceparent, tracestate) = line.split_once('\t').expect("two fields");
        let mut carrier = HashMap::new();
        carrier.insert("traceparent".to_owned(), traceparent.to_owned());
        if !tracestate.is_empty() {
            carrier.insert("tracestate".to_owned(), tracestate.to_owned());
        }
        let got = TraceContextPropagator::new()
            .extract_span_context(&carrier)
            .unwrap_or_else(|| panic!("we reject Python's {traceparent:?}"));
        assert_eq!(
            got,
            span_context(trace_id, span_id, *flags, state),
            "from Python: {line:?}"
        );
    }
}

#[test]
fn we_write_and_python_reads() {
    let mut input = String::new();
    for (trace_id, span_id, flags, state) in CASES {
        let cx =
            Context::new().with_remote_span_context(span_context(trace_id, span_id, *flags, state));
        let mut carrier = HashMap::new();
        TraceContextPropagator::new().inject_context(&cx, &mut carrier);
        let traceparent = carrier.get("traceparent").expect("traceparent written");
        let tracestate = carrier.get("tracestate").map(String::as_str).unwrap_or("");
        input.push_str(&format!("{traceparent}\t{tracestate}\n"));
    }
    let output = python("read", &input);
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), CASES.len(), "one line per case: {output:?}");

    for ((trace_id, span_id, flags, state), line) in CASES.iter().zip(lines) {
        assert_eq!(
            line,
            format!("{trace_id} {span_id} {flags:02x}\t{state}"),
            "Python read back what we wrote"
        );
    }
}
