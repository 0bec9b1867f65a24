//! Distributed tracing for Rust services on [NAIS]: one dependency, one init
//! line, one tower layer.
//!
//! `nais-otel` reads the `OTEL_*` and `NAIS_*` environment NAIS gives a pod,
//! exports spans over OTLP/gRPC to the NAIS collector (and on to Grafana
//! Tempo), installs the W3C propagator, and logs one JSON object a line with
//! `trace_id` and `span_id` so Grafana can jump from a log line to its trace.
//!
//! # Getting started
//!
//! ```no_run
//! # async fn handler() -> &'static str { "woof" }
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let _otel = nais_otel::init()?; // first line of main; the guard flushes on drop
//!
//!     let app = axum::Router::new()
//!         .route("/", axum::routing::get(handler))
//!         .layer(nais_otel::server_layer());
//!     let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//!     nais_otel::serve(listener, app).await?; // until SIGTERM or Ctrl-C, then drains
//!     Ok(())
//! } // the guard is dropped here: it flushes the last spans
//! ```
//!
//! [`serve`] is `axum::serve` with the shutdown NAIS needs: SIGTERM or SIGINT
//! stops it accepting, the requests in flight finish within a deadline, and it
//! returns so that the guard can flush. See [`shutdown`].
//!
//! `init()` never waits on the network, never panics, and the guard's drop
//! never hangs: export runs on a thread of its own with a runtime of its own,
//! so a collector that is down, a current-thread runtime, or a runtime that is
//! already gone cost nothing at start-up and at most the shutdown timeout at
//! the end. An outage is reported once, not once a batch.
//!
//! # Handler spans
//!
//! `init()` installs a `tracing` bridge of our own ([`bridge`]): `#[tracing::instrument]` and
//! `info_span!` spans become trace spans under the request span, with typed attributes,
//! events, `otel.*` fields and errors as exceptions. [`SpanExt`] sets a remote parent, links,
//! attributes and status after a span is made. Code that uses tracing-opentelemetry's
//! `OpenTelemetrySpanExt` switches to [`SpanExt`] or keeps tracing-opentelemetry with
//! [`Builder::with_bridge`].
//!
//! # Environment variables
//!
//! Precedence: what code sets on the [`Builder`], then the environment, then
//! the default. A bad value gives one warning naming the variable and the
//! value, and the default is used; [`Config::problems`] lists them for callers
//! who prefer to fail fast. `docs/configuration.md` has the whole story.
//!
//! | Variable | Description | Default |
//! |---|---|---|
//! | `OTEL_SDK_DISABLED` | `true` turns tracing off | `false` |
//! | `OTEL_SERVICE_NAME` | `service.name` | `NAIS_APP_NAME`, then `unknown_service:<exe>` |
//! | `OTEL_RESOURCE_ATTRIBUTES` | `k=v,...`, percent-decoded | NAIS-derived attributes |
//! | `OTEL_TRACES_EXPORTER` | `otlp`, `console`, `none` | `otlp` |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT` | collector URL | `http://localhost:4317` |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`, `OTEL_EXPORTER_PROTOCOL` | `grpc`, `http/protobuf` | `grpc` |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]INSECURE` | plaintext for a scheme-less endpoint | `false` |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS` | `k=v,...`, percent-decoded; never logged | none |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT` | ms a request may take | `10000` |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION` | `gzip`, `none` | `none` |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE`, `_CLIENT_CERTIFICATE`, `_CLIENT_KEY` | PEM files for TLS | system roots |
//! | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | every sampler the spec names but the remote ones | `parentbased_always_on` |
//! | `OTEL_PROPAGATORS` | `tracecontext`, `baggage`, `none` | `tracecontext,baggage` |
//! | `OTEL_BSP_SCHEDULE_DELAY`, `_EXPORT_TIMEOUT`, `_MAX_QUEUE_SIZE`, `_MAX_EXPORT_BATCH_SIZE` | batching | `5000`, `30000`, `2048`, `512` |
//! | `OTEL_[SPAN_]ATTRIBUTE_COUNT_LIMIT`, `OTEL_[SPAN_]ATTRIBUTE_VALUE_LENGTH_LIMIT`, `OTEL_SPAN_EVENT_COUNT_LIMIT`, `OTEL_SPAN_LINK_COUNT_LIMIT`, `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT` | span limits | `128`, no length limit |
//! | `RUST_LOG` | log filter | `info` |
//! | `NAIS_OTEL_EXCLUDED_PATHS` | path globs whose requests make no server span, added to the NAIS defaults; `-defaults` drops those | the NAIS health and metrics routes |
//! | `NAIS_OTEL_LOG_FORMAT` | `json` or `text` | `json` on NAIS, `text` elsewhere |
//! | `NAIS_OTEL_DRAIN_TIMEOUT` | ms [`serve`] waits for requests in flight after SIGTERM ([`shutdown`]) | `10000` |
//! | `NAIS_OTEL_MASK`, `NAIS_OTEL_MASK_EXEMPT_KEYS`, `NAIS_OTEL_MASK_KEYS`, `NAIS_OTEL_MASK_REPLACEMENT`, `NAIS_OTEL_MASK_CHECKSUM` | masking of national identity numbers in spans and log lines ([`privacy`]) | on for every key, none exempt, NAIS's keys always, `[fnr]`, no checksum |
//! | `NAIS_NAMESPACE`, `NAIS_POD_NAME`, `NAIS_CLUSTER_NAME`, `NAIS_APP_IMAGE` | `service.namespace`, `k8s.*`, `service.version` | set by NAIS |
//!
//! # Crates
//!
//! This crate re-exports the two light crates it is built on, so a service
//! adds one dependency: [`propagation`] (W3C Trace Context Level 2 and
//! Baggage) and [`middleware`] (tower layers for servers and clients).
//!
//! # Feature Flags
//!
//! | Feature | Description | Default |
//! |---|---|---|
//! | `axum` | server spans carry `http.route` from axum's `MatchedPath`, and the peer address; [`serve`] | on |
//! | `reqwest` | `middleware::ReqwestMiddleware`: client spans for reqwest through reqwest-middleware | off |
//!
//! # Supported Rust Versions
//!
//! The minimum supported Rust version is 1.88.
//!
//! [NAIS]: https://nais.io
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod bridge;
pub mod config;
mod export;
mod init;
mod layers;
mod logs;
mod lossy;
pub mod privacy;
pub mod shutdown;
#[cfg(test)]
mod testing;
mod url;

pub use nais_otel_propagation as propagation;
pub use nais_otel_tower as middleware;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use self::shutdown::serve;
pub use self::{
    bridge::SpanExt,
    config::Config,
    export::SpanCounts,
    init::{builder, init, Builder, Guard, InitError, InitErrorKind},
    layers::{client_layer, server_layer},
    logs::{JsonFormat, MaskingFields, MaskingFieldsVisitor, MaskingIo, MaskingWriter},
    shutdown::shutdown_signal,
};
