//! [`Builder`]: what code sets over the environment, and [`Builder::init`].

use std::{
    fmt,
    sync::atomic::{AtomicBool, Ordering},
    sync::{Arc, Mutex},
    time::Duration,
};

use opentelemetry::{trace::TracerProvider as _, KeyValue};
use opentelemetry_sdk::trace::SpanExporter;
use tracing::Dispatch;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use crate::{
    bridge::{Bridge, BridgeLayer},
    config::{
        BatchSettings, Compression, Config, ConfigProblem, EndpointSource, ExporterKind, LogFormat,
        Protocol, SamplerConfig, PROTOCOL_VARIABLES,
    },
    export::{BatchProcessor, Diagnostics, PreparingExporter, Stats},
    privacy::MaskConfig,
};

use super::{
    error::{InitError, InitErrorKind},
    guard::Guard,
    provider::{build_provider, propagator, MakeProcessor},
    SCOPE,
};
use crate::logs::{subscriber, SpanBridge};

/// Whether an `init()` in this process has installed the globals.
static GLOBALS_INSTALLED: AtomicBool = AtomicBool::new(false);

/// A function that reads one environment variable, kept by the builder.
type LookupFn = dyn Fn(&str) -> Option<String> + Send + Sync;

/// A builder for what code wants to set: code wins over the environment, which
/// wins over the defaults.
///
/// ```no_run
/// # fn main() -> Result<(), nais_otel::InitError> {
/// use opentelemetry::KeyValue;
/// let _otel = nais_otel::builder()
///     .with_service_name("dogs")
///     .with_resource_attribute(KeyValue::new("team", "dogbook"))
///     .init()?;
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct Builder {
    lookup: Box<LookupFn>,
    /// The lookup is the process environment: its values that are not UTF-8 are reported.
    reads_process_env: bool,
    service_name: Option<String>,
    resource_attributes: Vec<KeyValue>,
    sampler: Option<SamplerConfig>,
    exporter: Option<ExporterKind>,
    endpoint: Option<String>,
    protocol: Option<Protocol>,
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
    compression: Option<Compression>,
    batch: Option<BatchSettings>,
    log_format: Option<LogFormat>,
    log_filter: Option<String>,
    log_writer: Option<BoxMakeWriter>,
    install_globals: bool,
    install_subscriber: bool,
    shutdown_timeout: Option<Duration>,
    mask: Option<MaskConfig>,
    span_exporter: Option<MakeProcessor>,
    bridge: Bridge,
    span_timings: bool,
    span_threads: bool,
    span_location: bool,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("service_name", &self.service_name)
            .field(
                "endpoint",
                &self
                    .endpoint
                    .as_deref()
                    .map(crate::config::redacted_endpoint),
            )
            .field("install_globals", &self.install_globals)
            .field("install_subscriber", &self.install_subscriber)
            .field("span_exporter", &self.span_exporter.is_some())
            .field("bridge", &self.bridge)
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

/// A builder reading the process environment; the same as [`Builder::new`].
pub fn builder() -> Builder {
    Builder::new()
}

impl Builder {
    /// A builder that reads the process environment.
    pub fn new() -> Self {
        Self {
            lookup: Box::new(|name| std::env::var(name).ok()),
            reads_process_env: true,
            service_name: None,
            resource_attributes: Vec::new(),
            sampler: None,
            exporter: None,
            endpoint: None,
            protocol: None,
            headers: Vec::new(),
            timeout: None,
            compression: None,
            batch: None,
            log_format: None,
            log_filter: None,
            log_writer: None,
            install_globals: true,
            install_subscriber: true,
            span_exporter: None,
            shutdown_timeout: None,
            mask: None,
            bridge: Bridge::NaisOtel,
            span_timings: false,
            span_threads: false,
            span_location: false,
        }
    }

    /// Reads the environment through `lookup` instead of the process
    /// environment (for tests, or configuration from elsewhere).
    pub fn with_env_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.lookup = Box::new(lookup);
        self.reads_process_env = false;
        self
    }

    /// Sets `service.name`, over `OTEL_SERVICE_NAME` and `NAIS_APP_NAME`.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Adds a resource attribute, over the environment's value for the same
    /// key. Repeated calls add to earlier ones.
    pub fn with_resource_attribute(mut self, attribute: KeyValue) -> Self {
        self.resource_attributes.push(attribute);
        self
    }

    /// Sets the sampler, over `OTEL_TRACES_SAMPLER`.
    pub fn with_sampler(mut self, sampler: SamplerConfig) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Sets where spans go, over `OTEL_TRACES_EXPORTER`.
    pub fn with_traces_exporter(mut self, exporter: ExporterKind) -> Self {
        self.exporter = Some(exporter);
        self
    }

    /// Sets the collector URL, over `OTEL_EXPORTER_OTLP_*ENDPOINT`. Used as is:
    /// for OTLP/HTTP give the whole URL, `/v1/traces` included.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets the protocol, over `OTEL_EXPORTER_OTLP_*PROTOCOL`.
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Adds a collector request header, over the environment's header of the
    /// same name. Repeated calls add to earlier ones.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .push((name.into().to_ascii_lowercase(), value.into()));
        self
    }

    /// Sets how long one export request may take, over `OTEL_EXPORTER_OTLP_*TIMEOUT`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets request compression, over `OTEL_EXPORTER_OTLP_*COMPRESSION`.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// Sets the batch processor, over `OTEL_BSP_*`.
    pub fn with_batch_settings(mut self, batch: BatchSettings) -> Self {
        self.batch = Some(batch);
        self
    }

    /// Sets the log format, over `NAIS_OTEL_LOG_FORMAT`.
    pub fn with_log_format(mut self, format: LogFormat) -> Self {
        self.log_format = Some(format);
        self
    }

    /// Sets the log filter, over `RUST_LOG`.
    pub fn with_log_filter(mut self, filter: impl Into<String>) -> Self {
        self.log_filter = Some(filter.into());
        self
    }

    /// Writes log lines somewhere other than standard output.
    pub fn with_log_writer<W>(mut self, writer: W) -> Self
    where
        W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
    {
        self.log_writer = Some(BoxMakeWriter::new(writer));
        self
    }

    /// How long dropping the guard may wait for the last spans to be exported.
    /// Defaults to the export timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s), but never
    /// more than 10 s, well inside the 30 s NAIS grants a pod to stop: a longer export
    /// timeout set for a slow collector does not hold the pod up at shutdown. A timeout
    /// set here is used as it is.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Sets how national identity numbers are masked, over `NAIS_OTEL_MASK*`.
    /// See [`crate::privacy`].
    pub fn with_mask_config(mut self, mask: MaskConfig) -> Self {
        self.mask = Some(mask);
        self
    }

    /// Whether to install the global tracer provider, propagator and
    /// subscriber. Defaults to `true`. With `false`, use [`Guard::provider`]
    /// directly (tests run several pipelines in one process this way).
    pub fn with_globals(mut self, install: bool) -> Self {
        self.install_globals = install;
        self
    }

    /// Whether to build nais-otel's tracing subscriber (the log output, and the bridge
    /// from `tracing` spans to trace spans) and install it with the globals. Defaults to
    /// `true`. With `false`, the tracer provider and the propagator are still installed;
    /// bring your own subscriber with [`Guard::tracing_layer`] in it. Without the globals
    /// the subscriber is built but not installed: see [`Guard::subscriber`].
    pub fn with_subscriber(mut self, install: bool) -> Self {
        self.install_subscriber = install;
        self
    }

    /// Which layer turns `tracing` spans into trace spans. Defaults to
    /// [`Bridge::NaisOtel`]; [`Bridge::TracingOpenTelemetry`] keeps tracing-opentelemetry's,
    /// for code that calls its `OpenTelemetrySpanExt`. See [`crate::bridge`].
    pub fn with_bridge(mut self, bridge: Bridge) -> Self {
        self.bridge = bridge;
        self
    }

    /// Whether `tracing` spans get `busy_ns` and `idle_ns`. Defaults to `false`. See
    /// [`BridgeLayer::with_timings`].
    pub fn with_span_timings(mut self, on: bool) -> Self {
        self.span_timings = on;
        self
    }

    /// Whether `tracing` spans get `thread.id` and `thread.name`. Defaults to `false`.
    pub fn with_span_threads(mut self, on: bool) -> Self {
        self.span_threads = on;
        self
    }

    /// Whether `tracing` spans get `code.file.path`, `code.module.name` and
    /// `code.line.number`. Defaults to `false`.
    pub fn with_span_code_location(mut self, on: bool) -> Self {
        self.span_location = on;
        self
    }

    /// Sends spans to `exporter` instead of the one `OTEL_TRACES_EXPORTER` names (a custom
    /// backend, a test, a benchmark). The rest of the pipeline is the same: the sampler,
    /// the limits, the batch processor, the span counts, and the masking of national
    /// identity numbers, which happens before `exporter` sees a span.
    ///
    /// # Examples
    ///
    /// ```
    /// use opentelemetry_sdk::trace::InMemorySpanExporter;
    ///
    /// let exporter = InMemorySpanExporter::default();
    /// let guard = nais_otel::builder()
    ///     .with_env_lookup(|_| None)
    ///     .with_span_exporter(exporter.clone())
    ///     .with_globals(false)
    ///     .init()
    ///     .unwrap();
    /// # drop(guard);
    /// ```
    pub fn with_span_exporter<E>(mut self, exporter: E) -> Self
    where
        E: SpanExporter + 'static,
    {
        self.span_exporter = Some(Box::new(move |preparer, finisher, stats, batch| {
            BatchProcessor::start(
                PreparingExporter {
                    inner: exporter,
                    preparer,
                    stats: stats.clone(),
                },
                finisher,
                batch,
                stats,
            )
        }));
        self
    }

    /// The configuration this builder would use: the environment, then code.
    pub fn config(&self) -> Config {
        let mut config = Config::read(&*self.lookup);
        if self.reads_process_env {
            config
                .problems
                .splice(0..0, crate::config::not_utf8_problems());
        }
        if let Some(name) = &self.service_name {
            config.service_name.clone_from(name);
        }
        for attribute in &self.resource_attributes {
            if attribute.key.as_str() == "service.name" {
                config.service_name = attribute.value.as_str().into_owned();
                continue;
            }
            config
                .resource_attributes
                .retain(|kv| kv.key != attribute.key);
            config.resource_attributes.push(attribute.clone());
        }
        if let Some(sampler) = self.sampler {
            config.sampler = sampler;
        }
        if let Some(exporter) = self.exporter {
            config.exporter = exporter;
        }
        // The endpoint is resolved once code has had its say: a protocol set in
        // code decides the path and the default, as the environment's would.
        if let Some(protocol) = self.protocol {
            config.protocol = protocol;
            // The environment's protocol is not used, so its problems are moot.
            config
                .problems
                .retain(|problem| !PROTOCOL_VARIABLES.contains(&problem.variable));
        }
        if let Some(endpoint) = &self.endpoint {
            config.endpoint_source = Some(EndpointSource::from_code(endpoint));
        }
        if self.protocol.is_some() || self.endpoint.is_some() {
            config.resolve_endpoint();
        }
        for (name, value) in &self.headers {
            config.headers.0.retain(|(existing, _)| existing != name);
            config.headers.0.push((name.clone(), value.clone()));
        }
        if let Some(timeout) = self.timeout {
            config.timeout = timeout;
        }
        if let Some(compression) = self.compression {
            config.compression = compression;
        }
        if let Some(batch) = self.batch {
            config.batch = batch.sanitized();
        }
        if let Some(format) = self.log_format {
            config.log.format = format;
        }
        if let Some(filter) = &self.log_filter {
            config.log.filter.clone_from(filter);
        }
        if let Some(mask) = &self.mask {
            config.mask = mask.clone();
        }
        // A span exporter from code takes no TLS files.
        if self.span_exporter.is_none() {
            config.load_tls();
        }
        config
    }

    /// Builds and installs the pipeline. See [`init`](crate::init()).
    ///
    /// # Errors
    ///
    /// As [`init`](crate::init()).
    pub fn init(mut self) -> Result<Guard, InitError> {
        // The globals are installed once a process: a second pipeline installed over the
        // first would take the global tracer provider while `tracing`'s global subscriber,
        // which can be set only once, kept feeding the first.
        if self.install_globals && GLOBALS_INSTALLED.load(Ordering::Acquire) {
            return Err(InitError::new(
                InitErrorKind::AlreadyInitialized,
                "init() already installed the globals in this process; keep the Guard it returned, or build another pipeline with Builder::with_globals(false)".to_owned(),
            ));
        }
        let config = self.config();
        let stats = Arc::new(Stats::default());
        let diagnostics = Diagnostics::default();
        let shutdown_timeout = self
            .shutdown_timeout
            .unwrap_or(config.timeout.min(DEFAULT_SHUTDOWN_TIMEOUT_CAP));

        let (provider, pipeline) = if config.disabled {
            (None, None)
        } else {
            let (provider, pipeline) =
                build_provider(&config, &stats, &diagnostics, self.span_exporter.take())?;
            (Some(provider), Some(pipeline))
        };
        let bridge_layer = pipeline.map(|pipeline| {
            BridgeLayer::new(Arc::new(pipeline))
                .with_timings(self.span_timings)
                .with_threads(self.span_threads)
                .with_location(self.span_location)
        });

        let dispatch = self.install_subscriber.then(|| {
            let bridge = match self.bridge {
                Bridge::NaisOtel => SpanBridge::NaisOtel(bridge_layer.clone()),
                Bridge::TracingOpenTelemetry => SpanBridge::TracingOpenTelemetry(
                    provider.as_ref().map(|provider| provider.tracer(SCOPE)),
                    self.span_timings,
                    self.span_threads,
                    self.span_location,
                ),
            };
            subscriber(&config, bridge, self.log_writer.take())
        });
        if self.install_globals {
            if let Some(provider) = &provider {
                opentelemetry::global::set_tracer_provider(provider.clone());
            }
            opentelemetry::global::set_text_map_propagator(propagator(&config.propagators));
            if let Some(methods) = &config.known_http_methods {
                crate::middleware::set_known_http_methods(methods.iter().cloned());
            }
            GLOBALS_INSTALLED.store(true, Ordering::Release);
            crate::layers::set_installed(crate::layers::Installed {
                provider: provider.clone(),
                excluded_paths: config.excluded_paths.clone(),
            });
            if let Some(dispatch) = &dispatch {
                match tracing::dispatcher::set_global_default(dispatch.clone()) {
                    Ok(()) => {
                        diagnostics.set(dispatch.clone());
                        crate::logs::install_panic_hook();
                        crate::logs::forward_log_records();
                    }
                    Err(_) => {
                        diagnostics.set(tracing::dispatcher::get_default(Dispatch::clone));
                        tracing::warn!(
                            target: "nais_otel",
                            "a global tracing subscriber was already set, so nais-otel installed the tracer provider and propagator but not its log output; add `Guard::tracing_layer()` to your subscriber to turn tracing spans into trace spans"
                        );
                    }
                }
            }
        }

        if self.install_globals {
            report_problems(&config.problems);
        }
        if config.disabled {
            tracing::info!(target: "nais_otel", "OTEL_SDK_DISABLED=true: tracing is off; no spans are made or exported");
        }

        Ok(Guard {
            provider,
            bridge: bridge_layer,
            subscriber: dispatch,
            stats,
            shutdown_timeout,
            config,
            shut_down: Mutex::new(false),
        })
    }
}

/// The most the guard waits at shutdown unless code sets its timeout
/// ([`Builder::with_shutdown_timeout`]).
const DEFAULT_SHUTDOWN_TIMEOUT_CAP: Duration = Duration::from_secs(10);

/// Problems reported one by one for each variable; the rest are counted in one line.
const REPORTED_PER_VARIABLE: usize = 3;

/// Warns of each problem, naming the variable and the value: at most
/// [`REPORTED_PER_VARIABLE`] a variable, so a long list of bad entries makes a few short
/// lines, not one long line an entry. Values and quoted entries are cut to 200 bytes
/// ([`ConfigProblem`]), and their control characters escaped: a value cannot start a log
/// line of its own. [`Config::problems`] keeps up to a hundred a variable.
fn report_problems(problems: &[ConfigProblem]) {
    let (numbered, counts) = crate::config::per_variable(problems);
    for (problem, number) in numbered {
        if number <= REPORTED_PER_VARIABLE {
            problem.warn();
        }
    }
    for (variable, count) in counts {
        if count > REPORTED_PER_VARIABLE {
            tracing::warn!(
                target: "nais_otel",
                variable,
                "{} more problems with this variable, not reported one by one (`Guard::config().problems` has up to a hundred)",
                count - REPORTED_PER_VARIABLE
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Written;

    /// What `report_problems` writes in the text format.
    fn reported(problems: &[ConfigProblem]) -> String {
        let written = Written::default();
        tracing::subscriber::with_default(written.text_subscriber(), || report_problems(problems));
        written.text()
    }

    #[test]
    fn a_value_cannot_forge_a_log_line() {
        let forged = "bad\nFORGED_LINE ERROR nais_otel: forged\r\u{1b}[2K";
        let mut env: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
        env.insert("OTEL_SDK_DISABLED", forged.to_owned());
        env.insert("OTEL_PROPAGATORS", format!("tracecontext,{forged}"));
        let config = crate::Config::from_lookup(|name| env.get(name).cloned());
        assert_eq!(config.problems.len(), 2, "{:?}", config.problems);
        let text = reported(&config.problems);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains('\r') && !text.contains('\u{1b}'), "{text:?}");
        assert!(
            text.contains("bad\\nFORGED_LINE"),
            "the value, escaped: {text}"
        );
    }

    #[test]
    fn many_bad_entries_make_a_few_short_warnings() {
        let entries: Vec<String> = (0..3_000).map(|i| format!("junk{i}")).collect();
        let value = entries.join(",");
        let mut env: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
        env.insert("OTEL_RESOURCE_ATTRIBUTES", value.clone());
        env.insert("OTEL_PROPAGATORS", value.clone());
        env.insert("OTEL_TRACES_SAMPLER", "sometimes".to_owned());
        let config = crate::Config::from_lookup(|name| env.get(name).cloned());
        // A hundred a variable, and one that says how many more there were.
        assert_eq!(config.problems.len(), 2 * 101 + 1);
        let left_out = config
            .problems
            .iter()
            .find(|p| p.variable == "OTEL_PROPAGATORS" && p.message.contains("left out"))
            .expect("a count of the rest");
        assert_eq!(
            left_out.message,
            "2900 more problems with this variable left out"
        );
        let text = reported(&config.problems);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3 + 1 + 3 + 1 + 1, "{text}");
        assert!(text.len() < 4_000, "{} bytes", text.len());
        assert!(
            lines
                .iter()
                .any(|line| line.contains("more problems with this variable")
                    && line.contains("OTEL_RESOURCE_ATTRIBUTES")),
            "{text}"
        );
        assert!(
            text.contains("value=sometimes"),
            "a short value as it is: {text}"
        );
        assert!(text.contains(&format!("({} bytes)", value.len())), "{text}");
    }
}
