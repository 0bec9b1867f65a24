//! Small parsers shared by the configuration code. Each one takes the variable's
//! name so that a bad value is reported with the name and the value.

use std::time::Duration;

use super::problem::ConfigProblem;

/// A function that reads one environment variable.
pub(crate) type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Reads a variable; an empty or all-blank value counts as unset, as the
/// OpenTelemetry specification asks.
pub(crate) fn get(lookup: &Lookup<'_>, name: &'static str) -> Option<String> {
    lookup(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// The entries of a comma-separated list, trimmed, empty ones skipped.
pub(crate) fn entries(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
}

/// The first of several variables that is set, with its name.
pub(super) fn first(lookup: &Lookup<'_>, names: &[&'static str]) -> Option<(&'static str, String)> {
    names
        .iter()
        .find_map(|name| get(lookup, name).map(|value| (*name, value)))
}

/// A boolean: `true` or `false`, case-insensitively. Anything else is a problem
/// and counts as `default`.
pub(super) fn bool(
    lookup: &Lookup<'_>,
    name: &'static str,
    default: bool,
    problems: &mut Vec<ConfigProblem>,
) -> bool {
    first_accepted(lookup, &[name], &format!("`{default}`"), problems, boolean).unwrap_or(default)
}

/// `true` or `false`, case-insensitively, or why `value` is neither.
pub(super) fn boolean(value: &str) -> Result<bool, String> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("expected `true` or `false`".to_owned())
    }
}

/// A whole number within `min..=max`.
pub(super) fn number(
    name: &'static str,
    value: &str,
    min: u64,
    max: u64,
    problems: &mut Vec<ConfigProblem>,
) -> Option<u64> {
    or_default(name, value, number_within(value, min, max), problems)
}

/// What `read` gave for `name`'s `value`; a refusal is reported, and the default is used.
fn or_default<T>(
    name: &'static str,
    value: &str,
    read: Result<T, String>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<T> {
    read.map_err(|why| {
        problems.push(ConfigProblem::new(
            name,
            value,
            format!("{why}; using the default"),
        ))
    })
    .ok()
}

/// A whole number within `min..=max`, or why `value` is not one.
fn number_within(value: &str, min: u64, max: u64) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(number) if (min..=max).contains(&number) => Ok(number),
        Ok(_) => Err(format!("must be between {min} and {max}")),
        Err(_) => Err("not a whole number".to_owned()),
    }
}

/// The value of the first of `names` (the most specific first, as a `TRACES_` variable
/// before its generic twin) that `read` accepts. A value `read` refuses is reported with
/// why, and with what is used instead: the next variable set, or `default`.
pub(super) fn first_accepted<T>(
    lookup: &Lookup<'_>,
    names: &[&'static str],
    default: &str,
    problems: &mut Vec<ConfigProblem>,
    read: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    let set: Vec<(&'static str, String)> = names
        .iter()
        .filter_map(|name| get(lookup, name).map(|value| (*name, value)))
        .collect();
    for (at, (name, value)) in set.iter().enumerate() {
        match read(value) {
            Ok(accepted) => return Some(accepted),
            Err(why) => {
                let instead = set.get(at + 1).map_or(default, |(next, _)| *next);
                problems.push(ConfigProblem::new(
                    name,
                    value,
                    format!("{why}; using {instead}"),
                ));
            }
        }
    }
    None
}

/// A whole number read from one variable.
pub(super) fn number_var(
    lookup: &Lookup<'_>,
    name: &'static str,
    min: u64,
    max: u64,
    problems: &mut Vec<ConfigProblem>,
) -> Option<u64> {
    get(lookup, name).and_then(|value| number(name, &value, min, max, problems))
}

/// A duration in milliseconds within a day, or why `value` is not one. A day is far
/// beyond any useful timeout or delay and keeps the arithmetic safe.
pub(super) fn millis_within(value: &str) -> Result<Duration, String> {
    number_within(value, 0, 86_400_000).map(Duration::from_millis)
}

/// A duration in milliseconds, the unit every OpenTelemetry timeout uses.
pub(crate) fn millis(
    name: &'static str,
    value: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<Duration> {
    or_default(name, value, millis_within(value), problems)
}

/// Splits `key=value,key=value` lists as used by `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS`, percent-decoding keys and values. A member
/// that has no `=` or an empty key, or that does not decode to UTF-8, is given
/// to `bad` (with its position) and skipped.
pub(super) fn key_value_list(
    value: &str,
    mut bad: impl FnMut(usize, &str),
) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (index, member) in value.split(',').enumerate() {
        let member = member.trim();
        if member.is_empty() {
            continue;
        }
        let Some((key, value)) = member.split_once('=') else {
            bad(index, member);
            continue;
        };
        let (Some(key), Some(value)) = (decode(key.trim()), decode(value.trim())) else {
            bad(index, member);
            continue;
        };
        if key.is_empty() {
            bad(index, member);
            continue;
        }
        pairs.push((key, value));
    }
    pairs
}

/// `text` percent-decoded; `None` when it does not decode to UTF-8 or holds a `%` that
/// does not start an escape (`%ZZ`), which the decoder would keep as it is.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let escapes_ok = bytes.iter().enumerate().all(|(at, &byte)| {
        byte != b'%'
            || bytes
                .get(at + 1..at + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_ok {
        return None;
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_list_decodes_and_skips_bad_members() {
        let mut bad = Vec::new();
        let pairs = key_value_list(
            "a=1, b = two%20words ,broken,=novalue,c=%E2%9C%93,d=%FF,e=x=y,f=50%,g=%ZZ,h=100%25",
            |index, member| bad.push((index, member.to_owned())),
        );
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "two words".into()),
                ("c".into(), "✓".into()),
                ("e".into(), "x=y".into()),
                ("h".into(), "100%".into()),
            ]
        );
        assert_eq!(
            bad,
            vec![
                (2, "broken".to_owned()),
                (3, "=novalue".to_owned()),
                (5, "d=%FF".to_owned()),
                (7, "f=50%".to_owned()),
                (8, "g=%ZZ".to_owned()),
            ]
        );
    }
}
