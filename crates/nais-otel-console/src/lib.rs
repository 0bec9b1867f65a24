//! An embedded OTLP collector that keeps the spans it receives, groups them into traces and
//! draws each completed trace as a waterfall in the terminal.
//!
//! It is two things:
//!
//! - **a test kit**: start a [`Collector`] on a free loopback port, point an OTLP exporter at
//!   [`Collector::endpoint`], then wait (synchronously, with a deadline) for spans or for a
//!   completed trace and assert on plain Rust values ([`ReceivedSpan`], [`Trace`]);
//! - **a binary**, `otel-console`, that listens on `127.0.0.1:4317` and prints every trace
//!   any OTLP app sends it.
//!
//! The collector runs its server on its own thread with its own tokio runtime, so it works
//! from a plain `#[test]`, from inside any tokio runtime (even a current-thread one), and
//! after the caller's runtime is gone.
//!
//! # Getting started
//!
//! ```no_run
//! use std::time::Duration;
//! use nais_otel_console::Collector;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let collector = Collector::start()?;
//! // Point the service under test at it, e.g.
//! // OTEL_EXPORTER_OTLP_ENDPOINT = collector.endpoint()
//!
//! let trace = collector.wait_for_trace(Duration::from_secs(10))?;
//! assert!(trace.is_complete());
//! let root = trace.root().expect("one root");
//! assert_eq!(root.service_name(), Some("kennels"));
//! assert_eq!(root.attr_str("http.route"), Some("/api/v1/kennels"));
//! for child in trace.children(&root.span_id) {
//!     println!("{} took {:?}", child.name, child.duration());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # When is a trace completed?
//!
//! Spans of one trace arrive from several processes at different times, so the collector
//! calls a trace *completed* when no new span with its id arrived for the quiet period
//! ([`CollectorBuilder::quiet_period`], 300 ms by default). A trace that is not whole
//! ([`Trace::is_complete`]: exactly one root, every parent present) waits longer
//! ([`CollectorBuilder::incomplete_timeout`], 2 s), because the root span often comes last.
//! Spans that arrive after their trace completed complete it again, with all its spans.
//!
//! # Protocols
//!
//! OTLP/gRPC (gzip accepted, messages up to 64 MiB) always; OTLP/HTTP protobuf
//! (`POST /v1/traces`, optionally gzip) when [`CollectorBuilder::http_addr`] is set.
//!
//! # Feature Flags
//!
//! This crate has no optional features.
//!
//! # Supported Rust Versions
//!
//! The minimum supported Rust version is the workspace's `rust-version` (1.88).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod collector;
mod error;
mod server;
mod span;
mod store;
mod trace;
mod waterfall;

pub use crate::collector::{
    Collector, CollectorBuilder, DEFAULT_ADDR, DEFAULT_INCOMPLETE_TIMEOUT, DEFAULT_QUIET_PERIOD,
};
pub use crate::error::{StartError, StartErrorKind, WaitError, WaitErrorKind};
pub use crate::server::MAX_MESSAGE_SIZE;
pub use crate::span::{
    AttributeValue, ReceivedEvent, ReceivedLink, ReceivedSpan, ReceivedSpanKind, ReceivedStatus,
    ReceivedStatusCode, SERVICE_NAME,
};
pub use crate::trace::Trace;
pub use crate::waterfall::{render_waterfall, RenderOptions, ERROR_MARKER, PARENT_MISSING};
