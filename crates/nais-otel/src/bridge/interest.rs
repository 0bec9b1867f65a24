//! Which callsites the bridge wants when it decides that itself, without a per-layer filter.
//!
//! `init()` wants `tracing` spans and events at INFO and above, except the SDK's and
//! nais-otel's own, whatever the log filter says. Behind a per-layer filter
//! (`Layer::with_filter`) that costs a registry lookup in every callback of every span.
//! When the log filter enables exactly INFO and above everywhere (`RUST_LOG` unset or
//! `info`), the registry already creates just the spans the bridge wants; then `init()`
//! installs the bridge without a filter ([`BridgeLayer::deciding_interest`]): it tells the
//! registry it wants nothing below INFO, and skips the excluded targets itself.
//! `http_layer_profile`'s `handler-ours-init` and `handler-ours-filtered` measure the
//! difference.
//!
//! [`BridgeLayer::deciding_interest`]: super::BridgeLayer::deciding_interest

use tracing::{Level, Metadata};

/// Targets whose spans and events never become trace spans or span events: the SDK's
/// diagnostics and nais-otel's own. Prefixes, as `Targets` matches them: `opentelemetry`
/// covers `opentelemetry_sdk` and the other opentelemetry crates.
pub(crate) const EXCLUDED_TARGETS: [&str; 2] = ["opentelemetry", "nais_otel"];

/// Whether the bridge wants spans and events of `meta`'s callsite: INFO and above, not
/// of [`EXCLUDED_TARGETS`].
pub(crate) fn wanted(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::INFO
        && !EXCLUDED_TARGETS
            .iter()
            .any(|target| meta.target().starts_with(target))
}
