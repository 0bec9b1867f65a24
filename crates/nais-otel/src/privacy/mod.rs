//! Masking Norwegian national identity numbers before anything leaves the process.
//!
//! NAIS masks identity numbers in its collector, after the data has crossed the
//! network, and only in the attributes it lists. `nais-otel` masks them inside
//! the process, in every string that leaves it: spans on the export thread, log
//! lines as they are formatted.
//!
//! # What is recognised
//!
//! Eleven digits, not part of a longer run of digits, optionally split after
//! the sixth digit by one whitespace character as NAIS's `\s?` reads it
//! (JavaScript's `\s`: space, tab, newline, carriage return, vertical tab, form
//! feed, the no-break spaces, the Unicode spaces such as the thin space `U+2009`
//! and the ideographic space `U+3000`, the line and paragraph separators, the
//! byte order mark), next line (`U+0085`), or an invisible character that leaves
//! the number looking whole (zero-width space and joiners, word joiner, soft
//! hyphen); one of these percent-encoded (`+` and `%20` for a space, `%2520`
//! encoded twice, `%09`, `%C2%A0`, `%E2%80%89`, in either case), or escaped as
//! JSON, `Debug` and `tracing`'s text format write them (`\n`, `\t`, `\r`, `\f`,
//! `\u000b`, `\u00a0`, `\u202F`, `\u{b}`, `\u{a0}`, `\u{2028}`, `\x0b`, after any
//! number of backslashes, each as it is or percent-encoded as `%5C`: a text
//! escaped twice doubles them), whose first six digits are a plausible date
//! `DDMMYY`.
//!
//! Digits inside a hexadecimal id that stands alone are not read: a span id (16
//! hex digits), a trace id or a UUID without hyphens (32), a SHA-1 (40) or
//! SHA-256 (64) digest, and a UUID (`8-4-4-4-12`), with no letter, digit or `_`
//! touching it. About one random id in 200 holds eleven digits in a row that would
//! read as a number, and a request id or a `traceparent` in a log line must stay
//! whole. Digits in any other word are read (`a01019012345b` is masked).
//!
//! Percent-encoded digits (`%30` to `%39`) are read as the digits a server decodes
//! them to: `/dogs/%301019012345` holds a number. A text with one is masked as it
//! reads decoded (and as it is written), and comes out decoded.
//!
//! A `%` before digits is read both ways: as a percent-escape whose hex digits
//! are not part of the number (`%20`, `%27`, and `%25` with the two hex digits
//! after it), and as a plain `%` (`LIKE '%01019012345%'`). The date:
//!
//! * day 01–31, or 41–71 for D-numbers (day + 40);
//! * month 01–12, 41–52 for H-numbers and synthetic test numbers (month + 40),
//!   or 81–92 for synthetic test numbers (month + 80).
//!
//! The two mod-11 control digits are **not** demanded by default: privacy
//! first. A mistyped number, or one from a test generator that gets the control
//! digits wrong, is still a person's number to a reader, and masking an order
//! id that happens to look like one costs nothing but a less readable span.
//! Demanding them ([`MaskConfig::checksum`], `NAIS_OTEL_MASK_CHECKSUM=true`)
//! lets through about one in eleven numbers that merely look like identity
//! numbers, and every mistyped real one.
//!
//! # Where
//!
//! Spans, on the export thread before anything is encoded: the span name, the
//! error status description (a panic message, an error's text, a failed
//! request's URL), event names (tracing log messages become span events), the
//! trace state of the span and its links (a caller's `tracestate` is exported
//! with the span; one no longer valid once masked is dropped), every attribute
//! key (a key made at run time may hold a number), and the values of **every**
//! attribute, whatever its key, on the span, its events (`exception.message` of
//! an `#[instrument(err)]` span included) and its links: strings, strings in
//! arrays, and whole numbers (see below).
//!
//! Log lines, as they are formatted: the message and every field of a JSON
//! line ([`crate::JsonFormat`]), the whole text line ([`crate::MaskingFields`]
//! for whole numbers, [`crate::MaskingWriter`] for the text). Panics, which
//! [`crate::init`] reports as log lines instead of the standard library's
//! message on standard error.
//!
//! Not masked: the resource (`service.name` and the other attributes from the
//! environment), and the baggage and trace context headers sent to other
//! services, which are requests, not telemetry.
//!
//! A team can exempt attribute keys (and JSON log fields) whose values must
//! stay exact, with [`MaskConfig::exempt_key`] or `NAIS_OTEL_MASK_EXEMPT_KEYS`.
//! The keys NAIS masks ([`DEFAULT_KEYS`]), and keys added with
//! [`MaskConfig::key`] or `NAIS_OTEL_MASK_KEYS`, are masked even when exempted:
//! they are the floor.
//!
//! # Whole numbers
//!
//! A number stored as an integer loses its leading zero: someone born on the
//! 1st to the 9th of a month becomes ten digits. So an integer attribute is
//! masked (replaced by the replacement string) when it is
//!
//! * eleven digits whose date is plausible, or
//! * ten digits from `2_000_000_000`, read with the lost zero (`0` + ten
//!   digits), whose date is plausible, or
//! * ten digits from `1_000_000_000` (born on the 1st), read with the lost
//!   zero, whose month is a calendar month (01 to 12) or an H-number month (41
//!   to 52) and whose control digits are right, whatever the checksum setting;
//!
//! with or without a minus sign, alone or in an array. A floating-point value
//! that is a whole number is read as that integer, and so is a log field recorded through `Debug` or
//! `Display` (`?n`, `%n`, and `i128` and `u128` fields, which `tracing` records
//! so) whose text is a whole number.
//!
//! Ten digits from `1` are also what a unix time in seconds looks like from 2001
//! to 2033. The month rule leaves out every second from 2019 on (months 54 to
//! 99, synthetic months 81 to 92 included), and of the seconds of 2002 to 2005
//! and 2014 to 2018 about one in a hundred passes the control digits. The price:
//! a synthetic number of someone born on the 1st, sent as an integer, is not
//! recognised. The rule is the same for every key, NAIS's
//! `messaging.kafka.message.key` included (a Kafka key is often a time).
//! Unix times in milliseconds (13 digits) never match. Record identity numbers
//! as strings, as the tax authority writes them.
//!
//! An integer written into text (`info!("looking up {id}")`) is ten digits in
//! the text. In text, a run of exactly ten digits is masked by the same rules,
//! with the control digits checked whatever the checksum setting: ten-digit ids
//! are common, and about one in a hundred of them would pass.
//!
//! Whatever the masking settings, even with masking off: credentials
//! (`user:password@`) become `REDACTED:REDACTED@` in `url.full`, `url.original`,
//! `http.url` and `http.target`, and the values of signature and token query
//! parameters (`sig`, `Signature`, `X-Goog-Signature`, `access_token`, …:
//! [`nais_otel_tower::redact::REDACTED_QUERY_PARAMETERS`]) become `REDACTED` there and
//! in `url.query`, as the HTTP conventions ask; header attributes that carry credentials
//! (`authorization`, `cookie`, `set-cookie`, `proxy-authorization`) are dropped. Every
//! URL in free text is redacted the same way: in the string values of other attributes,
//! span and event names, status descriptions and log lines. An error's message often
//! names the URL it failed on (reqwest's does: `error sending request for url (…)`), and
//! `#[instrument(err)]` and `error!(%error)` send it on.
//!
//! # Cost
//!
//! A value with no identity number and no URL is not copied: it is scanned once
//! for numbers (when masking is on) and searched once for `://` (always), with no
//! allocation, on the export thread and in the log line. The span scan runs on
//! the export thread, off the request path.

mod config;
mod masker;
mod recognise;
mod secrets;

pub use self::{
    config::{MaskConfig, DEFAULT_KEYS, DEFAULT_REPLACEMENT},
    masker::Masker,
    recognise::{contains_identity_number, mask},
    secrets::NEVER_RECORDED_HEADERS,
};
pub(crate) use self::{recognise::whole_number, secrets::has_secret};
