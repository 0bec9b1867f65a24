//! nais-otel-tower
