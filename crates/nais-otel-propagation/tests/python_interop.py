"""Interop helper for tests/python_interop.rs.

Uses the OpenTelemetry Python SDK's TraceContextTextMapPropagator.

    python python_interop.py make   # stdin: "trace_id span_id flags tracestate" per line
                                    # stdout: "traceparent<TAB>tracestate" per line
    python python_interop.py read   # stdin: "traceparent<TAB>tracestate" per line
                                    # stdout: "trace_id span_id flags<TAB>tracestate", or "invalid"

A tracestate of "-" means none. Exit code 3 means the opentelemetry packages are missing.
"""

import sys

try:
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    from opentelemetry.trace.span import TraceState
except ImportError as error:  # pragma: no cover - reported by the Rust test
    print(f"missing OpenTelemetry Python packages: {error}", file=sys.stderr)
    sys.exit(3)

PROPAGATOR = TraceContextTextMapPropagator()


def make(line):
    trace_id, span_id, flags, tracestate = line.split(" ", 3)
    state = TraceState() if tracestate == "-" else TraceState.from_header([tracestate])
    span_context = trace.SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=True,
        trace_flags=trace.TraceFlags(int(flags, 16)),
        trace_state=state,
    )
    carrier = {}
    cx = trace.set_span_in_context(trace.NonRecordingSpan(span_context), Context())
    PROPAGATOR.inject(carrier, context=cx)
    return f"{carrier.get('traceparent', '')}\t{carrier.get('tracestate', '')}"


def read(line):
    traceparent, tracestate = line.split("\t", 1)
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    cx = PROPAGATOR.extract(carrier, context=Context())
    span_context = trace.get_current_span(cx).get_span_context()
    if not span_context.is_valid:
        return "invalid"
    return (
        f"{span_context.trace_id:032x} {span_context.span_id:016x} "
        f"{int(span_context.trace_flags):02x}\t{span_context.trace_state.to_header()}"
    )


def main():
    mode = sys.argv[1]
    handler = {"make": make, "read": read}[mode]
    for line in sys.stdin.read().splitlines():
        print(handler(line))


if __name__ == "__main__":
    main()
