//! The tracer provider, its resource and sampler, and the propagator, from a [`Config`].

use std::io;
use std::sync::Arc;

use opentelemetry::{
    propagation::{TextMapCompositePropagator, TextMapPropagator},
    InstrumentationScope, KeyValue,
};
use opentelemetry_sdk::{
    resource::{ResourceDetector, TelemetryResourceDetector},
    trace::{Sampler, SdkTracerProvider, SpanLimits},
    Resource,
};

use crate::{
    bridge::{Chain, Finisher, Pipeline, SharedProcessor},
    config::{BatchSettings, Config, ExporterKind, PropagatorKind, SamplerConfig},
    export::{
        BatchProcessor, ConsoleExporter, Diagnostics, OtlpExporter, OtlpSettings, Preparer, Stats,
    },
};

use super::{
    error::{InitError, InitErrorKind},
    SCOPE,
};

/// Starts the batch processor around an exporter given in code.
pub(super) type MakeProcessor =
    Box<dyn FnOnce(Preparer, Finisher, Arc<Stats>, BatchSettings) -> io::Result<Chain> + Send>;

pub(super) fn build_provider(
    config: &Config,
    stats: &Arc<Stats>,
    diagnostics: &Diagnostics,
    span_exporter: Option<MakeProcessor>,
) -> Result<(SdkTracerProvider, Pipeline), InitError> {
    let preparer = Preparer::new(config.mask.clone(), config.limits.attribute_value_length);
    let batch = config.batch;
    let resource = resource(config);
    let sampler = sampler(config.sampler);
    let limits = SpanLimits {
        max_events_per_span: config.limits.span_event_count,
        max_attributes_per_span: config.limits.span_attribute_count,
        max_links_per_span: config.limits.span_link_count,
        max_attributes_per_event: config.limits.event_attribute_count,
        max_attributes_per_link: config.limits.link_attribute_count,
    };
    let builder = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_sampler(sampler.clone())
        .with_span_limits(limits);
    // The bridge's spans are finished on the export thread, with the provider's limits.
    let finisher = Finisher::new(limits, InstrumentationScope::builder(SCOPE).build());
    let processor = match config.exporter {
        _ if span_exporter.is_some() => {
            span_exporter.map(|make| make(preparer, finisher, stats.clone(), batch))
        }
        ExporterKind::Otlp => {
            if let Some(problem) = &config.endpoint_error {
                return Err(
                    InitError::new(InitErrorKind::InvalidEndpoint, problem.to_string())
                        .with_source(problem.clone()),
                );
            }
            let settings = OtlpSettings {
                protocol: config.protocol,
                endpoint: config.endpoint.clone(),
                headers: config.headers.0.clone(),
                timeout: config.timeout,
                export_deadline: batch.export_timeout,
                compression: config.compression,
                tls: config.tls_material.clone(),
                queue_size: batch.max_queue_size,
            };
            let exporter =
                OtlpExporter::start(settings, preparer, stats.clone(), diagnostics.clone())
                    .map_err(|why| {
                        InitError::new(
                            InitErrorKind::Exporter,
                            format!("{} ({}): {why}", config.endpoint, config.protocol.as_str()),
                        )
                        .with_source(why)
                    })?;
            Some(BatchProcessor::start(
                exporter,
                finisher,
                batch,
                stats.clone(),
            ))
        }
        ExporterKind::Console => Some(BatchProcessor::start(
            ConsoleExporter::new(preparer, stats.clone()),
            finisher,
            batch,
            stats.clone(),
        )),
        ExporterKind::None => None,
    };
    let processor = processor.transpose().map_err(|why| {
        InitError::new(
            InitErrorKind::Exporter,
            format!("the export thread could not be started: {why}"),
        )
        .with_source(why)
    })?;
    // The provider and the bridge end their spans into the same processors.
    let processor = processor.map(|processor| SharedProcessor::new(processor, &resource));
    let builder = match &processor {
        Some(processor) => builder.with_span_processor(processor.clone()),
        None => builder,
    };
    let pipeline = Pipeline::new(
        sampler,
        matches!(config.sampler, SamplerConfig::ParentBasedAlwaysOn),
        processor,
    );
    Ok((builder.build(), pipeline))
}

fn resource(config: &Config) -> Resource {
    let mut attributes = TelemetryResourceDetector
        .detect()
        .iter()
        .map(|(key, value)| KeyValue::new(key.clone(), value.clone()))
        .collect::<Vec<_>>();
    attributes.extend(config.resource_attributes.iter().cloned());
    Resource::builder_empty()
        .with_attributes(attributes)
        .with_service_name(config.service_name.clone())
        .build()
}

fn sampler(config: SamplerConfig) -> Sampler {
    match config {
        SamplerConfig::AlwaysOn => Sampler::AlwaysOn,
        SamplerConfig::AlwaysOff => Sampler::AlwaysOff,
        SamplerConfig::TraceIdRatio(ratio) => Sampler::TraceIdRatioBased(ratio),
        SamplerConfig::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerConfig::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerConfig::ParentBasedTraceIdRatio(ratio) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio)))
        }
    }
}

/// The propagator for `OTEL_PROPAGATORS`.
pub(crate) fn propagator(kinds: &[PropagatorKind]) -> TextMapCompositePropagator {
    let propagators = kinds
        .iter()
        .map(|kind| -> Box<dyn TextMapPropagator + Send + Sync> {
            match kind {
                PropagatorKind::TraceContext => {
                    Box::new(crate::propagation::TraceContextPropagator::new())
                }
                PropagatorKind::Baggage => Box::new(crate::propagation::BaggagePropagator::new()),
            }
        })
        .collect();
    TextMapCompositePropagator::new(propagators)
}
