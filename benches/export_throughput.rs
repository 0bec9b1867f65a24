//! Export throughput and memory: our provider against the stock opentelemetry-otlp pipeline,
//! both sending to rotel-agent over loopback gRPC. See `docs/benchmarks.md`.

fn main() {}
