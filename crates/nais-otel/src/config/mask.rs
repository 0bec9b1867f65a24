//! Masking of national identity numbers (`NAIS_OTEL_MASK*`).

use super::{
    parse::{self, Lookup},
    problem::ConfigProblem,
    vars::*,
};
use crate::privacy::MaskConfig;

pub(super) fn read_mask(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> MaskConfig {
    let mut mask = MaskConfig::new();
    mask.enabled = parse::bool(lookup, NAIS_OTEL_MASK, true, problems);
    mask.checksum = parse::bool(lookup, NAIS_OTEL_MASK_CHECKSUM, false, problems);
    if let Some(keys) = parse::get(lookup, NAIS_OTEL_MASK_KEYS) {
        for key in parse::entries(&keys) {
            mask = mask.key(key);
        }
    }
    if let Some(keys) = parse::get(lookup, NAIS_OTEL_MASK_EXEMPT_KEYS) {
        for key in parse::entries(&keys) {
            if mask.keys.iter().any(|k| k == key) {
                problems.push(ConfigProblem::new(
                    NAIS_OTEL_MASK_EXEMPT_KEYS,
                    &keys,
                    format!("`{key}` is always masked (NAIS masks it, or NAIS_OTEL_MASK_KEYS names it); not exempted"),
                ));
                continue;
            }
            mask = mask.exempt_key(key);
        }
    }
    // The replacement is taken as given, spaces included; unset or empty keeps the default
    // (an empty value counts as unset, as for every variable).
    if let Some(replacement) =
        lookup(NAIS_OTEL_MASK_REPLACEMENT).filter(|replacement| !replacement.is_empty())
    {
        if replacement.bytes().any(|b| b.is_ascii_digit()) {
            problems.push(ConfigProblem::new(
                NAIS_OTEL_MASK_REPLACEMENT,
                &replacement,
                "must not contain digits (it could itself look like a number); using [fnr]",
            ));
        } else if replacement
            .chars()
            .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
        {
            problems.push(ConfigProblem::new(
                NAIS_OTEL_MASK_REPLACEMENT,
                &replacement,
                "must not contain control characters or line breaks (it goes into every log line that had a number); using [fnr]",
            ));
        } else {
            mask.replacement = replacement;
        }
    }
    mask
}
