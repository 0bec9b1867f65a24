//! The `tracing` subscriber `init()` installs: the span bridge and the log output,
//! each with its own filter.

use opentelemetry_sdk::trace::SdkTracer;
use tracing::Dispatch;
use tracing_subscriber::{
    filter::{filter_fn, EnvFilter, FilterExt as _, LevelFilter, Targets},
    fmt::writer::BoxMakeWriter,
    layer::SubscriberExt as _,
    Layer, Registry,
};

use crate::{
    bridge::{wanted, BridgeLayer, EXCLUDED_TARGETS},
    config::{Config, LogFormat, DEFAULT_LOG_FILTER, RUST_LOG},
    logs::{json_layer::JsonLayer, JsonFormat, MaskingFields, MaskingWriter, PANIC_TARGET},
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
    let writer = writer.unwrap_or_else(|| BoxMakeWriter::new(std::io::stdout));
    // With `RUST_LOG` unset or `info` the log output wants INFO and above everywhere
    // (but the SDK's targets), and so does nais-otel's bridge (but its excluded targets):
    // each decides its own interest and neither needs a per-layer filter, which would
    // look every span up in the registry again in each of its callbacks.
    let own_interest = log_filter_is_info(config) && matches!(bridge, SpanBridge::NaisOtel(_));
    let filter_text = log_filter_text(config);
    // The level up to which the registry keeps every span, whatever its name, under a span
    // directive (`[load]=trace`): the log filter follows which spans are entered.
    let kept_spans = if filter_text.contains('[') {
        log_filter(filter_text, config)
            .max_level_hint()
            .unwrap_or(LevelFilter::TRACE)
    } else {
        LevelFilter::OFF
    };
    // Spans come from `tracing` at INFO and above whatever the log filter says:
    // turning logs down must not make traces fall apart. The SDK's own
    // diagnostics never become spans.
    let span_filter = EXCLUDED_TARGETS.iter().fold(
        Targets::new().with_default(LevelFilter::INFO),
        |filter, target| filter.with_target(*target, LevelFilter::OFF),
    );
    // One layer for the spans, whichever bridge: each layer stacked on the registry costs
    // every span's close a walk down the stack (`Layered::try_close` looks for the
    // registry beneath it), so the stack is kept to the span layer and the log layer.
    let span_layer: Option<Box<dyn Layer<Registry> + Send + Sync>> = match bridge {
        SpanBridge::NaisOtel(layer) if own_interest => {
            layer.map(|layer| layer.deciding_interest().boxed())
        }
        // Every span the log output wants too, so that a DEBUG span, which the bridge
        // passes through, passes its parent's context on (see `BridgeLayer::wanted_only`),
        // and the spans a span directive makes the registry keep.
        SpanBridge::NaisOtel(layer) => layer.map(|layer| {
            let kept = filter_fn(move |meta| meta.is_span() && *meta.level() <= kept_spans);
            layer
                .wanted_only()
                .with_filter(span_filter.or(log_filter(filter_text, config)).or(kept))
                .boxed()
        }),
        SpanBridge::TracingOpenTelemetry(tracer, timings, threads, location) => {
            tracer.map(|tracer| {
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_tracked_inactivity(timings)
                    .with_threads(threads)
                    .with_location(location)
                    .with_filter(span_filter)
                    .boxed()
            })
        }
    };
    let log_layer = match config.log.format {
        LogFormat::Json => {
            let layer = JsonLayer::new(
                JsonFormat::new().with_mask_config(config.mask.clone()),
                writer,
            );
            if own_interest {
                layer.deciding_interest().boxed()
            } else {
                // The spans the bridge sees too, whatever the log filter says: a line
                // logged in one (under `RUST_LOG=warn`, a WARN event in an INFO span) names
                // it and carries its ids, which an event that names it as its parent
                // finds only through it. The layer formats events alone: a span costs it
                // nothing.
                let bridged = filter_fn(move |meta| {
                    meta.is_span() && (wanted(meta) || *meta.level() <= kept_spans)
                });
                layer
                    .with_filter(log_filter(filter_text, config).or(bridged))
                    .boxed()
            }
        }
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .fmt_fields(MaskingFields::new(config.mask.clone()))
            .with_writer(MaskingWriter::new(writer, config.mask.clone()))
            .with_filter(log_filter(filter_text, config))
            .boxed(),
    };
    Dispatch::new(
        tracing_subscriber::registry()
            .with(span_layer)
            .with(log_layer),
    )
}

/// Whether the log filter enables exactly INFO and above for every target (besides the
/// SDK's, which it turns off): `RUST_LOG` unset, or `info`.
fn log_filter_is_info(config: &Config) -> bool {
    config.log.filter.trim().eq_ignore_ascii_case("info")
}

/// The log filter when it is valid; else, said once on stderr, the default. A bad
/// `RUST_LOG` is a `Config` problem, reported with the others, and never gets here: a bad
/// filter here is one set in code (`Builder::with_log_filter`).
fn log_filter_text(config: &Config) -> &str {
    match EnvFilter::try_new(&config.log.filter) {
        Ok(_) => &config.log.filter,
        Err(error) => {
            // The subscriber is not installed yet: say it on stderr, once.
            eprintln!(
                "nais-otel: {RUST_LOG}={:?}: not a valid filter ({error}); using `{DEFAULT_LOG_FILTER}`",
                config.log.filter
            );
            DEFAULT_LOG_FILTER
        }
    }
}

/// The log filter `text` (from [`log_filter_text`]), with the SDK's own per-batch error
/// lines turned off unless `RUST_LOG` names them (we report outages once ourselves), and
/// panics on unless it names them: the panic hook reports a panic as an event of target
/// `panic`, and a filter for one crate (`my_app=debug`) must not make panics vanish.
fn log_filter(text: &str, config: &Config) -> EnvFilter {
    let named = |target: &str| names_target(&config.log.filter, target);
    let sdk_off = ["opentelemetry=off", "opentelemetry_sdk=off"];
    let directives = (!(named("opentelemetry") || named("opentelemetry_sdk")))
        .then_some(sdk_off)
        .into_iter()
        .flatten()
        .chain((!named(PANIC_TARGET)).then_some("panic=error"));
    directives
        .filter_map(|directive| directive.parse().ok())
        .fold(EnvFilter::new(text), EnvFilter::add_directive)
}

/// Whether a directive of the filter `text` is for `target`: its target is `target` or a
/// prefix of it (as `EnvFilter` matches targets), not merely text that holds it
/// (`my_panic_app=debug` is not for `panic`). A bare level (`debug`) is for no target.
fn names_target(text: &str, target: &str) -> bool {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    text.split(',').any(|directive| {
        let named = directive
            .split(['[', '='])
            .next()
            .unwrap_or_default()
            .trim();
        !named.is_empty()
            && !LEVELS.iter().any(|level| named.eq_ignore_ascii_case(level))
            && target.starts_with(named)
    })
}

#[cfg(test)]
mod tests {
    use super::names_target;

    #[test]
    fn a_directive_names_a_target_it_matches() {
        for (filter, named) in [
            ("info,panic=off", true),
            ("panic", true),
            ("warn,pan=error", true),
            ("my_panic_app=debug", false),
            ("nopanic=info", false),
            ("app=debug,panicky_dep=warn", false),
            ("off,panic_handler=trace", false),
            ("debug", false),
            ("info,[panic]=debug", false),
            ("panic[span]=debug", true),
        ] {
            assert_eq!(names_target(filter, "panic"), named, "{filter}");
        }
        assert!(names_target("opentelemetry_sdk=debug", "opentelemetry_sdk"));
        assert!(!names_target("opentelemetry_otlp=debug", "opentelemetry"));
    }
}
