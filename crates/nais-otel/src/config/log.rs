//! The log output: its format and its filter.

use super::{
    parse::{self, Lookup},
    problem::ConfigProblem,
    vars::*,
};

/// Log output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// One JSON object a line, or readable text.
    pub format: LogFormat,
    /// The filter, in `EnvFilter` syntax.
    pub filter: String,
}

/// The log line format (`NAIS_OTEL_LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object a line with `trace_id` and `span_id` (the default on NAIS).
    Json,
    /// Readable text (the default elsewhere).
    Text,
}

pub(super) fn read_log_format(
    lookup: &Lookup<'_>,
    on_nais: bool,
    problems: &mut Vec<ConfigProblem>,
) -> LogFormat {
    let default = if on_nais {
        LogFormat::Json
    } else {
        LogFormat::Text
    };
    match parse::get(lookup, NAIS_OTEL_LOG_FORMAT) {
        None => default,
        Some(value) => match value.to_ascii_lowercase().as_str() {
            "json" => LogFormat::Json,
            "text" => LogFormat::Text,
            _ => {
                problems.push(ConfigProblem::new(
                    NAIS_OTEL_LOG_FORMAT,
                    &value,
                    format!("expected `json` or `text`; using {default:?}"),
                ));
                default
            }
        },
    }
}
