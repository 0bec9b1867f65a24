//! Integration tests and benchmarks for the nais-otel workspace; see `tests/` and `benches/`.
