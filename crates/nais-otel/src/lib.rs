//! nais-otel
