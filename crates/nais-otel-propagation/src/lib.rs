//! Strict [W3C Trace Context Level 2] and [W3C Baggage] propagation for OpenTelemetry.
//!
//! This crate depends only on the OpenTelemetry API and [`http`]. The core crate
//! `nais-otel` re-exports it and installs its propagator as the global one.
//!
//! [W3C Trace Context Level 2]: https://www.w3.org/TR/trace-context-2/
//! [W3C Baggage]: https://www.w3.org/TR/baggage/
#![cfg_attr(docsrs, feature(doc_cfg))]

mod carrier;

pub use self::carrier::{HeaderExtractor, HeaderInjector};
