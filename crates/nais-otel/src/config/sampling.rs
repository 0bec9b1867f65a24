//! The sampler and the propagators.

use super::{
    parse::{self, Lookup},
    problem::ConfigProblem,
    vars::*,
};

/// The sampler (`OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum SamplerConfig {
    /// `always_on`.
    AlwaysOn,
    /// `always_off`.
    AlwaysOff,
    /// `traceidratio` with its ratio.
    TraceIdRatio(f64),
    /// `parentbased_always_on` (the default).
    ParentBasedAlwaysOn,
    /// `parentbased_always_off`.
    ParentBasedAlwaysOff,
    /// `parentbased_traceidratio` with its ratio.
    ParentBasedTraceIdRatio(f64),
}

/// A propagator named in `OTEL_PROPAGATORS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PropagatorKind {
    /// W3C Trace Context.
    TraceContext,
    /// W3C Baggage.
    Baggage,
}

pub(super) fn read_sampler(
    lookup: &Lookup<'_>,
    problems: &mut Vec<ConfigProblem>,
) -> SamplerConfig {
    let default = SamplerConfig::ParentBasedAlwaysOn;
    let Some(value) = parse::get(lookup, OTEL_TRACES_SAMPLER) else {
        return default;
    };
    let ratio =
        |problems: &mut Vec<ConfigProblem>| match parse::get(lookup, OTEL_TRACES_SAMPLER_ARG) {
            None => 1.0,
            Some(arg) => match arg.parse::<f64>() {
                Ok(ratio) if (0.0..=1.0).contains(&ratio) => ratio,
                _ => {
                    problems.push(ConfigProblem::new(
                        OTEL_TRACES_SAMPLER_ARG,
                        &arg,
                        "expected a ratio from 0 to 1; using 1.0",
                    ));
                    1.0
                }
            },
        };
    match value.to_ascii_lowercase().as_str() {
        "always_on" => SamplerConfig::AlwaysOn,
        "always_off" => SamplerConfig::AlwaysOff,
        "traceidratio" => SamplerConfig::TraceIdRatio(ratio(problems)),
        "parentbased_always_on" => SamplerConfig::ParentBasedAlwaysOn,
        "parentbased_always_off" => SamplerConfig::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => SamplerConfig::ParentBasedTraceIdRatio(ratio(problems)),
        "jaeger_remote" | "parentbased_jaeger_remote" | "xray" => {
            problems.push(ConfigProblem::new(
                OTEL_TRACES_SAMPLER,
                &value,
                "this sampler is not supported; using parentbased_always_on",
            ));
            default
        }
        _ => {
            problems.push(ConfigProblem::new(
                OTEL_TRACES_SAMPLER,
                &value,
                "unknown sampler; using parentbased_always_on",
            ));
            default
        }
    }
}

pub(super) fn read_propagators(
    lookup: &Lookup<'_>,
    problems: &mut Vec<ConfigProblem>,
) -> Vec<PropagatorKind> {
    let default = vec![PropagatorKind::TraceContext, PropagatorKind::Baggage];
    let Some(value) = parse::get(lookup, OTEL_PROPAGATORS) else {
        return default;
    };
    let mut propagators = Vec::new();
    let mut none = false;
    for name in parse::entries(&value) {
        let kind = match name.to_ascii_lowercase().as_str() {
            "tracecontext" => PropagatorKind::TraceContext,
            "baggage" => PropagatorKind::Baggage,
            "none" => {
                none = true;
                continue;
            }
            _ => {
                problems.push(ConfigProblem::new(
                    OTEL_PROPAGATORS,
                    &value,
                    format!(
                        "unknown propagator `{name}` skipped; known: tracecontext, baggage, none"
                    ),
                ));
                continue;
            }
        };
        if !propagators.contains(&kind) {
            propagators.push(kind);
        }
    }
    if none {
        if !propagators.is_empty() {
            problems.push(ConfigProblem::new(
                OTEL_PROPAGATORS,
                &value,
                "`none` given with other propagators; using none",
            ));
        }
        return Vec::new();
    }
    if propagators.is_empty() {
        // Nothing usable was named: keep the default rather than silently
        // breaking every trace across services.
        return default;
    }
    propagators
}
