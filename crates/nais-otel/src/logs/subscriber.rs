//! The `tracing` subscriber `init()` installs: the span bridge and the log output,
//! each with its own filter.

use opentelemetry_sdk::trace::SdkTracer;
use tracing::Dispatch;
use tracing_subscriber::{
    filter::{EnvFilter, LevelFilter, Targets},
    fmt::writer::BoxMakeWriter,
    layer::SubscriberExt as _,
    Layer as _,
};

use crate::{
    bridge::BridgeLayer,
    config::{Config, LogFormat, DEFAULT_LOG_FILTER, RUST_LOG},
    logs::{JsonFormat, MaskingFields, MaskingWriter},
};

/// The layer that turns `tracing` spans into trace spans, as [`crate::Builder::with_bridge`] chose.
pub(crate) enum SpanBridge {
    NaisOtel(Option<BridgeLayer>),
    /// The tracer, and whether spans get busy/idle time, thread and code location.
    TracingOpenTelemetry(Option<SdkTracer>, bool, bool, bool),
}

pub(crate) fn subscriber(
    config: &Config,
    bridge: SpanBridge,
    writer: Option<BoxMakeWriter>,
) -> Dispatch {
    let log_filter = log_filter(config);
    let writer = writer.unwrap_or_else(|| BoxMakeWriter::new(std::io::stdout));
    let log_layer = match config.log.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .event_format(JsonFormat::new().with_mask_config(config.mask.clone()))
            .with_writer(writer)
            .with_filter(log_filter)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .fmt_fields(MaskingFields::new(config.mask.clone()))
            .with_writer(MaskingWriter::new(writer, config.mask.clone()))
            .with_filter(log_filter)
            .boxed(),
    };
    // Spans come from `tracing` at INFO and above whatever the log filter says:
    // turning logs down must not make traces fall apart. The SDK's own
    // diagnostics never become spans.
    let span_filter = Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("opentelemetry", LevelFilter::OFF)
        .with_target("opentelemetry_sdk", LevelFilter::OFF)
        .with_target("nais_otel", LevelFilter::OFF);
    let (ours, theirs) = match bridge {
        SpanBridge::NaisOtel(layer) => (layer, None),
        SpanBridge::TracingOpenTelemetry(tracer, timings, threads, location) => (
            None,
            tracer.map(|tracer| {
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_tracked_inactivity(timings)
                    .with_threads(threads)
                    .with_location(location)
            }),
        ),
    };
    Dispatch::new(
        tracing_subscriber::registry()
            .with(ours.map(|layer| layer.with_filter(span_filter.clone())))
            .with(theirs.map(|layer| layer.with_filter(span_filter)))
            .with(log_layer),
    )
}

/// `RUST_LOG`, with the SDK's own per-batch error lines turned off unless the
/// filter names them: we report outages once ourselves.
fn log_filter(config: &Config) -> EnvFilter {
    let filter = match EnvFilter::try_new(&config.log.filter) {
        Ok(filter) => filter,
        Err(error) => {
            // The subscriber is not installed yet: say it on stderr, once.
            eprintln!(
                "nais-otel: {RUST_LOG}={:?}: not a valid filter ({error}); using `{DEFAULT_LOG_FILTER}`",
                config.log.filter
            );
            EnvFilter::new(DEFAULT_LOG_FILTER)
        }
    };
    if config.log.filter.contains("opentelemetry") {
        return filter;
    }
    ["opentelemetry=off", "opentelemetry_sdk=off"]
        .iter()
        .filter_map(|directive| directive.parse().ok())
        .fold(filter, EnvFilter::add_directive)
}
