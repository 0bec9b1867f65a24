//! nais-otel-console
