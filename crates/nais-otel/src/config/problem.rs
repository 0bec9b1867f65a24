//! One bad value in the environment, as reported by `init()`.

use std::borrow::Cow;
use std::fmt;

/// One bad value in the environment: the variable, the value and what was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The variable.
    pub variable: &'static str,
    /// The value as read (redacted where it could hold a secret), cut to 200 bytes with
    /// its length said when it is longer.
    pub value: String,
    /// What is wrong and what is used instead; an entry of the value it quotes (between
    /// backquotes) is cut to 200 bytes the same way.
    pub message: String,
}

/// The most of a value, or of an entry a message quotes, that a problem keeps, in bytes.
const VALUE_KEPT: usize = 200;

/// The most problems kept for one variable; one more says how many were left out.
const KEPT_PER_VARIABLE: usize = 100;

impl ConfigProblem {
    pub(crate) fn new(variable: &'static str, value: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = match cut_quoted(&message) {
            Some(cut) => cut,
            None => message,
        };
        Self {
            variable,
            value: cut(value).into_owned(),
            message,
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?}: {}",
            self.variable,
            self.value,
            printable(&self.message)
        )
    }
}

impl std::error::Error for ConfigProblem {}

/// `text` cut to [`VALUE_KEPT`] bytes (at a character boundary) with its length said,
/// when it is longer.
fn cut(text: &str) -> Cow<'_, str> {
    if text.len() <= VALUE_KEPT {
        return text.into();
    }
    let end = (0..=VALUE_KEPT)
        .rev()
        .find(|&at| text.is_char_boundary(at))
        .unwrap_or(0);
    format!("{}… ({} bytes)", &text[..end], text.len()).into()
}

/// `message` with the first entry it quotes (`` `…` ``) cut, when that entry is longer
/// than [`VALUE_KEPT`] bytes.
fn cut_quoted(message: &str) -> Option<String> {
    let open = message.find('`')?;
    let close = open + 1 + message[open + 1..].find('`')?;
    let quoted = &message[open + 1..close];
    (quoted.len() > VALUE_KEPT).then(|| {
        format!(
            "{}`{}`{}",
            &message[..open],
            cut(quoted),
            &message[close + 1..]
        )
    })
}

/// `text` with control characters and line and paragraph separators escaped as Rust
/// writes them (`\n`, `\u{1b}`): a value written into a text log line cannot start a
/// line of its own, nor move the cursor.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    let escaped = |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
    if !text.chars().any(escaped) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out.into()
}

impl ConfigProblem {
    /// Warns of this problem (target `nais_otel`), naming the variable and the value, both
    /// made [`printable`].
    pub(crate) fn warn(&self) {
        tracing::warn!(
            target: "nais_otel",
            variable = self.variable,
            value = %printable(&self.value),
            "{}", printable(&self.message)
        );
    }
}

/// How many problems each variable has, in the order the variables first come.
pub(crate) type Counts = Vec<(&'static str, usize)>;

/// Each problem with its number among its variable's (1 for the first), and the
/// [`Counts`].
pub(crate) fn per_variable<P: std::borrow::Borrow<ConfigProblem>>(
    problems: impl IntoIterator<Item = P>,
) -> (Vec<(P, usize)>, Counts) {
    let mut counts: Counts = Vec::new();
    let numbered = problems
        .into_iter()
        .map(|problem| {
            let variable = problem.borrow().variable;
            let number = match counts.iter_mut().find(|(v, _)| *v == variable) {
                Some((_, count)) => {
                    *count += 1;
                    *count
                }
                None => {
                    counts.push((variable, 1));
                    1
                }
            };
            (problem, number)
        })
        .collect();
    (numbered, counts)
}

/// `problems` with at most [`KEPT_PER_VARIABLE`] kept for each variable, and for a variable
/// that had more, one more that says how many were left out.
pub(crate) fn keep_some(problems: Vec<ConfigProblem>) -> Vec<ConfigProblem> {
    let (numbered, counts) = per_variable(problems);
    let mut kept: Vec<ConfigProblem> = numbered
        .into_iter()
        .filter(|(_, number)| *number <= KEPT_PER_VARIABLE)
        .map(|(problem, _)| problem)
        .collect();
    for (variable, count) in counts {
        if count > KEPT_PER_VARIABLE {
            kept.push(ConfigProblem::new(
                variable,
                "",
                format!(
                    "{} more problems with this variable left out",
                    count - KEPT_PER_VARIABLE
                ),
            ));
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_and_quoted_entries_are_cut() {
        let long = "a".repeat(70_000);
        let problem = ConfigProblem::new(
            "OTEL_PROPAGATORS",
            &long,
            format!("unknown propagator `{long}` skipped; known: tracecontext"),
        );
        assert_eq!(problem.value, format!("{}… (70000 bytes)", &long[..200]));
        assert_eq!(
            problem.message,
            format!(
                "unknown propagator `{}… (70000 bytes)` skipped; known: tracecontext",
                &long[..200]
            )
        );
        // At a character boundary.
        let wide = "é".repeat(150);
        assert!(ConfigProblem::new("X", &wide, "m")
            .value
            .starts_with(&"é".repeat(100)));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("plain"), "plain");
        assert_eq!(
            printable("bad\nFORGED\r\u{1b}[2J\u{7f}\u{85}\u{2028}end"),
            "bad\\nFORGED\\r\\u{1b}[2J\\u{7f}\\u{85}\\u{2028}end"
        );
        let problem = ConfigProblem::new("X", "v\nw", "unknown `a\nb`");
        assert_eq!(problem.to_string(), "X=\"v\\nw\": unknown `a\\nb`");
    }

    #[test]
    fn at_most_a_hundred_problems_a_variable_are_kept() {
        let problems = (0..13_107)
            .map(|i| ConfigProblem::new("OTEL_TRACES_EXPORTER", "v", format!("entry {i}")))
            .chain([ConfigProblem::new("OTEL_PROPAGATORS", "p", "one")])
            .collect();
        let kept = keep_some(problems);
        assert_eq!(kept.len(), KEPT_PER_VARIABLE + 2);
        assert_eq!(kept[KEPT_PER_VARIABLE].variable, "OTEL_PROPAGATORS");
        assert_eq!(
            kept[KEPT_PER_VARIABLE + 1].message,
            "13007 more problems with this variable left out"
        );
    }
}
