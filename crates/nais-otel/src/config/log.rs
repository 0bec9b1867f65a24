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

/// `RUST_LOG`, when it is a valid `EnvFilter`; else [`DEFAULT_LOG_FILTER`], with a problem
/// that names the value (reported as a warning through the log output, so masked there).
pub(super) fn read_log_filter(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> String {
    let Some(value) = parse::get(lookup, RUST_LOG) else {
        return DEFAULT_LOG_FILTER.to_owned();
    };
    match tracing_subscriber::EnvFilter::try_new(&value) {
        Ok(_) => value,
        Err(error) => {
            problems.push(ConfigProblem::new(
                RUST_LOG,
                &value,
                format!("not a valid filter ({error}); using `{DEFAULT_LOG_FILTER}`"),
            ));
            DEFAULT_LOG_FILTER.to_owned()
        }
    }
}
