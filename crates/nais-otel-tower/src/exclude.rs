//! Which requests are not traced: NAIS path globs, the environment variable and filters.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::{Extensions, HeaderMap, Method, Uri};

use crate::glob::Glob;

/// The environment variable read by [`ServerLayer::from_env`](crate::ServerLayer::from_env):
/// `NAIS_OTEL_EXCLUDED_PATHS`.
///
/// A comma-separated list of path globs whose requests are not traced, added to
/// [`DEFAULT_EXCLUDED_PATHS`]. The entry `-defaults` drops the defaults. See the
/// [crate docs](crate#environment-variables) for the syntax.
pub const EXCLUDED_PATHS_ENV: &str = "NAIS_OTEL_EXCLUDED_PATHS";

/// The path globs not traced by default: the ones the NAIS collector drops anyway, plus
/// the gRPC health service.
///
/// Matched against the request path without regard to ASCII case.
pub const DEFAULT_EXCLUDED_PATHS: &[&str] = &[
    "*/isAlive",
    "*/isReady",
    "*/prometheus",
    "*/metrics",
    "*/actuator/*",
    "*/internal/health*",
    "*/internal/status*",
    "*/grpc.health.v1.Health/*",
];

/// The `NAIS_OTEL_EXCLUDED_PATHS` entry that drops [`DEFAULT_EXCLUDED_PATHS`].
const DROP_DEFAULTS: &str = "-defaults";

/// A borrowed view of a request head, passed to a [filter](crate::ServerLayer::filter).
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

impl<'a> RequestHead<'a> {
    pub(crate) fn new<B>(req: &'a http::Request<B>) -> Self {
        Self {
            method: req.method(),
            uri: req.uri(),
            headers: req.headers(),
            extensions: req.extensions(),
        }
    }

    /// The request method.
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The request URI.
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The request headers.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The request extensions (for example axum's `MatchedPath`).
    pub fn extensions(&self) -> &'a Extensions {
        self.extensions
    }
}

type Filter = Arc<dyn Fn(&RequestHead<'_>) -> bool + Send + Sync>;

/// The exclusion rules of a layer: path globs and an optional filter.
#[derive(Clone)]
pub(crate) struct Exclusions {
    patterns: Vec<Glob>,
    filter: Option<Filter>,
}

impl fmt::Debug for Exclusions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exclusions")
            .field(
                "patterns",
                &self.patterns.iter().map(Glob::as_str).collect::<Vec<_>>(),
            )
            .field("filter", &self.filter.as_ref().map(|_| ".."))
            .finish()
    }
}

impl Exclusions {
    pub(crate) fn nais_defaults() -> Self {
        let patterns: Vec<Glob> = DEFAULT_EXCLUDED_PATHS
            .iter()
            .map(|p| Glob::new(Cow::Borrowed(*p)))
            .collect();
        Self {
            patterns,
            filter: None,
        }
    }

    pub(crate) fn add(&mut self, pattern: Cow<'static, str>) {
        self.patterns.push(Glob::new(pattern));
    }

    pub(crate) fn replace(&mut self, patterns: impl IntoIterator<Item = Cow<'static, str>>) {
        self.patterns = patterns.into_iter().map(Glob::new).collect();
    }

    pub(crate) fn set_filter(&mut self, filter: Filter) {
        self.filter = Some(filter);
    }

    pub(crate) fn apply_env(&mut self, env: ExcludedPathsEnv) {
        if !env.keep_defaults {
            self.patterns
                .retain(|p| !DEFAULT_EXCLUDED_PATHS.contains(&p.as_str()));
        }
        self.patterns
            .extend(env.patterns.into_iter().map(|p| Glob::new(Cow::Owned(p))));
    }

    /// Whether a path glob excludes `path` (the filter is not asked). Does not allocate.
    #[inline]
    pub(crate) fn excludes_path(&self, path: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(path))
    }

    /// Whether the request is traced. Does not allocate.
    pub(crate) fn is_traced<B>(&self, req: &http::Request<B>) -> bool {
        if self.excludes_path(req.uri().path()) {
            return false;
        }
        match &self.filter {
            Some(filter) => filter(&RequestHead::new(req)),
            None => true,
        }
    }
}

/// A problem found in an environment variable; the offending entry was ignored.
///
/// Its [`Display`](fmt::Display) text names the variable and the value, ready to be
/// logged as a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvProblem {
    variable: &'static str,
    value: String,
    reason: &'static str,
}

impl EnvProblem {
    /// The name of the environment variable.
    pub fn variable(&self) -> &'static str {
        self.variable
    }

    /// The ignored value (one entry of the list).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Why the value was ignored.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for EnvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: ignoring {:?}: {}",
            self.variable, self.value, self.reason
        )
    }
}

impl std::error::Error for EnvProblem {}

/// The parsed value of [`EXCLUDED_PATHS_ENV`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExcludedPathsEnv {
    pub(crate) keep_defaults: bool,
    pub(crate) patterns: Vec<String>,
}

/// Parses [`EXCLUDED_PATHS_ENV`] through `lookup`; never reads the process environment itself.
pub(crate) fn parse_excluded_paths_env(
    lookup: impl Fn(&str) -> Option<String>,
) -> (ExcludedPathsEnv, Vec<EnvProblem>) {
    let mut parsed = ExcludedPathsEnv {
        keep_defaults: true,
        patterns: Vec::new(),
    };
    let mut problems = Vec::new();
    let Some(value) = lookup(EXCLUDED_PATHS_ENV) else {
        return (parsed, problems);
    };
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if entry.eq_ignore_ascii_case(DROP_DEFAULTS) {
            parsed.keep_defaults = false;
        } else if !(entry.starts_with('/') || entry.starts_with('*')) {
            problems.push(EnvProblem {
                variable: EXCLUDED_PATHS_ENV,
                value: entry.to_owned(),
                reason: "a path glob must start with '/' or '*' (or be -defaults)",
            });
        } else if entry.chars().any(char::is_whitespace) {
            problems.push(EnvProblem {
                variable: EXCLUDED_PATHS_ENV,
                value: entry.to_owned(),
                reason: "a path glob must not contain whitespace",
            });
        } else {
            parsed.patterns.push(entry.to_owned());
        }
    }
    (parsed, problems)
}

/// The excluded path globs that [`EXCLUDED_PATHS_ENV`] asks for, read through `lookup`:
/// the NAIS defaults (unless the entry `-defaults` drops them) and the globs it adds, ready
/// for [`ServerLayer::exclusions`](crate::ServerLayer::exclusions); with the entries it
/// ignored. A pure function: it never reads the process environment itself.
///
/// # Examples
///
/// ```
/// let (globs, problems) = nais_otel_tower::excluded_paths_from_env(|name| {
///     (name == "NAIS_OTEL_EXCLUDED_PATHS").then(|| "-defaults,/internal/*,ready".to_owned())
/// });
/// assert_eq!(globs, ["/internal/*"]);
/// assert_eq!(problems[0].value(), "ready");
/// ```
pub fn excluded_paths_from_env(
    lookup: impl Fn(&str) -> Option<String>,
) -> (Vec<String>, Vec<EnvProblem>) {
    let (env, problems) = parse_excluded_paths_env(lookup);
    let defaults = DEFAULT_EXCLUDED_PATHS
        .iter()
        .filter(|_| env.keep_defaults)
        .map(|glob| (*glob).to_owned());
    (defaults.chain(env.patterns).collect(), problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: Option<&str>) -> (ExcludedPathsEnv, Vec<EnvProblem>) {
        parse_excluded_paths_env(|name| {
            assert_eq!(name, EXCLUDED_PATHS_ENV);
            value.map(str::to_owned)
        })
    }

    #[rustfmt::skip]
    #[allow(clippy::type_complexity)] // a table of cases
    #[test]
    fn env_table() {
        let cases: &[(Option<&str>, bool, &[&str], usize, &str)] = &[
            (None,                              true,  &[],                      0, "unset keeps the defaults"),
            (Some(""),                          true,  &[],                      0, "empty keeps the defaults"),
            (Some("/ready"),                    true,  &["/ready"],              0, "one glob is added"),
            (Some(" /a/* , */b ,,"),            true,  &["/a/*", "*/b"],         0, "entries are trimmed, empty ones skipped"),
            (Some("-defaults"),                 false, &[],                      0, "-defaults drops the defaults"),
            (Some("-DEFAULTS,/only"),           false, &["/only"],               0, "-defaults is case-insensitive and combines"),
            (Some("ready,/ok"),                 true,  &["/ok"],                 1, "a glob without a leading slash is a problem"),
            (Some("/a b"),                      true,  &[],                      1, "whitespace inside a glob is a problem"),
        ];
        for (value, keep, patterns, problems, reason) in cases {
            let (parsed, found) = parse(*value);
            assert_eq!(parsed.keep_defaults, *keep, "{reason}");
            assert_eq!(parsed.patterns, *patterns, "{reason}");
            assert_eq!(found.len(), *problems, "{reason}: {found:?}");
        }
    }

    #[test]
    fn problem_message_names_variable_and_value() {
        let (_, problems) = parse(Some("isready"));
        assert_eq!(
            problems[0].to_string(),
            "NAIS_OTEL_EXCLUDED_PATHS: ignoring \"isready\": a path glob must start with '/' or '*' (or be -defaults)"
        );
        assert_eq!(problems[0].variable(), EXCLUDED_PATHS_ENV);
        assert_eq!(problems[0].value(), "isready");
    }

    #[test]
    fn apply_env_drops_only_defaults() {
        let mut exclusions = Exclusions::nais_defaults();
        exclusions.add(Cow::Borrowed("/mine"));
        let (env, _) = parse(Some("-defaults,/env"));
        exclusions.apply_env(env);
        let patterns: Vec<_> = exclusions.patterns.iter().map(Glob::as_str).collect();
        assert_eq!(patterns, ["/mine", "/env"]);
    }
}
