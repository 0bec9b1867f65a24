//! The batch span processor and the span limits, and their sanity rules.

use std::time::Duration;

use super::{
    parse::{self, Lookup},
    problem::ConfigProblem,
    vars::*,
};

/// The batch span processor's settings (`OTEL_BSP_*`).
///
/// Start from [`BatchSettings::new`] (the defaults) and change what you need.
/// [`Builder::with_batch_settings`](crate::Builder::with_batch_settings) replaces values that
/// cannot work, as each setter says.
///
/// ```
/// use std::time::Duration;
/// use nais_otel::config::BatchSettings;
///
/// let batch = BatchSettings::new()
///     .with_schedule_delay(Duration::from_millis(500))
///     .with_max_queue_size(4_096);
/// assert_eq!(batch.max_export_batch_size, 512);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchSettings {
    /// Time between two exports. Default 5 s.
    pub schedule_delay: Duration,
    /// Time one export may take, retries included. Default 30 s.
    pub export_timeout: Duration,
    /// Spans kept while waiting; more are dropped and counted. Default 2048.
    pub max_queue_size: usize,
    /// Spans in one request. Default 512.
    pub max_export_batch_size: usize,
}

impl BatchSettings {
    /// The defaults: a 5 s delay, a 30 s export timeout, a queue of 2048 spans and batches of
    /// 512.
    pub fn new() -> Self {
        Self {
            schedule_delay: Duration::from_millis(5_000),
            export_timeout: Duration::from_millis(30_000),
            max_queue_size: 2_048,
            max_export_batch_size: 512,
        }
    }

    /// Sets the time between two exports. The builder replaces zero by the default.
    #[must_use]
    pub fn with_schedule_delay(mut self, delay: Duration) -> Self {
        self.schedule_delay = delay;
        self
    }

    /// Sets the time one export may take, retries included. The builder replaces zero by the
    /// default, and more than a day by a day.
    #[must_use]
    pub fn with_export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = timeout;
        self
    }

    /// Sets how many spans wait for export before more are dropped. The builder replaces zero
    /// by the default.
    #[must_use]
    pub fn with_max_queue_size(mut self, size: usize) -> Self {
        self.max_queue_size = size;
        self
    }

    /// Sets how many spans one request carries; the builder holds it to at least 1 and at most
    /// the queue size.
    #[must_use]
    pub fn with_max_export_batch_size(mut self, size: usize) -> Self {
        self.max_export_batch_size = size;
        self
    }

    /// A batch configuration from code, with the same limits as from the
    /// environment: a zero delay would spin, a zero timeout would give up at once,
    /// and a batch cannot be larger than the queue.
    pub(crate) fn sanitized(self) -> Self {
        let default = BatchSettings::default();
        let max_queue_size = if self.max_queue_size == 0 {
            default.max_queue_size
        } else {
            self.max_queue_size
        };
        BatchSettings {
            schedule_delay: if self.schedule_delay.is_zero() {
                default.schedule_delay
            } else {
                self.schedule_delay
            },
            export_timeout: if self.export_timeout.is_zero() {
                default.export_timeout
            } else {
                self.export_timeout.min(Duration::from_secs(86_400))
            },
            max_queue_size,
            max_export_batch_size: self.max_export_batch_size.clamp(1, max_queue_size),
        }
    }
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self::new()
    }
}

/// Limits on what a span keeps (`OTEL_*_LIMIT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Attributes a span keeps. Default 128.
    pub span_attribute_count: u32,
    /// Characters a string attribute value keeps. Default: no limit.
    pub attribute_value_length: Option<usize>,
    /// Events a span keeps. Default 128.
    pub span_event_count: u32,
    /// Links a span keeps. Default 128.
    pub span_link_count: u32,
    /// Attributes an event keeps. Default 128.
    pub event_attribute_count: u32,
    /// Attributes a link keeps. Default 128.
    pub link_attribute_count: u32,
}

impl Limits {
    /// The defaults: 128 attributes, events and links a span, 128 attributes an event or link,
    /// and no limit on a value's length.
    pub fn new() -> Self {
        Self {
            span_attribute_count: 128,
            attribute_value_length: None,
            span_event_count: 128,
            span_link_count: 128,
            event_attribute_count: 128,
            link_attribute_count: 128,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new()
    }
}

pub(super) fn read_batch(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> BatchSettings {
    let mut batch = BatchSettings::default();
    if let Some(value) = parse::get(lookup, OTEL_BSP_SCHEDULE_DELAY) {
        match parse::millis(OTEL_BSP_SCHEDULE_DELAY, &value, problems) {
            // A zero delay makes the batch processor spin on a core.
            Some(delay) if delay.is_zero() => problems.push(ConfigProblem::new(
                OTEL_BSP_SCHEDULE_DELAY,
                &value,
                "must be at least 1 ms; using the default",
            )),
            Some(delay) => batch.schedule_delay = delay,
            None => {}
        }
    }
    if let Some(timeout) = parse::get(lookup, OTEL_BSP_EXPORT_TIMEOUT)
        .and_then(|value| parse::millis(OTEL_BSP_EXPORT_TIMEOUT, &value, problems))
        .filter(|timeout| !timeout.is_zero())
    {
        batch.export_timeout = timeout;
    }
    if let Some(size) = parse::number_var(lookup, OTEL_BSP_MAX_QUEUE_SIZE, 1, 1 << 24, problems) {
        batch.max_queue_size = size as usize;
    }
    if let Some(size) =
        parse::number_var(lookup, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 1, 1 << 24, problems)
    {
        batch.max_export_batch_size = size as usize;
    }
    if batch.max_export_batch_size > batch.max_queue_size {
        problems.push(ConfigProblem::new(
            OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
            &batch.max_export_batch_size.to_string(),
            format!(
                "larger than {OTEL_BSP_MAX_QUEUE_SIZE} ({}); using the queue size",
                batch.max_queue_size
            ),
        ));
        batch.max_export_batch_size = batch.max_queue_size;
    }
    batch
}

pub(super) fn read_limits(lookup: &Lookup<'_>, problems: &mut Vec<ConfigProblem>) -> Limits {
    let defaults = Limits::default();
    let max = u64::from(u32::MAX);
    // The general limits apply where the specific ones are not set; each variable
    // is read once so that a bad value is reported once.
    let general_count = parse::number_var(lookup, OTEL_ATTRIBUTE_COUNT_LIMIT, 0, max, problems);
    let general_length =
        parse::number_var(lookup, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, 0, max, problems);
    let mut read = |name: &'static str, fallback: Option<u64>, default: u32| {
        parse::number_var(lookup, name, 0, max, problems)
            .or(fallback)
            .map_or(default, |n| n as u32)
    };
    let span_attribute_count = read(
        OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT,
        general_count,
        defaults.span_attribute_count,
    );
    let event_attribute_count = read(
        OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT,
        general_count,
        defaults.event_attribute_count,
    );
    let link_attribute_count = read(
        OTEL_LINK_ATTRIBUTE_COUNT_LIMIT,
        general_count,
        defaults.link_attribute_count,
    );
    let span_event_count = read(OTEL_SPAN_EVENT_COUNT_LIMIT, None, defaults.span_event_count);
    let span_link_count = read(OTEL_SPAN_LINK_COUNT_LIMIT, None, defaults.span_link_count);
    let attribute_value_length = parse::number_var(
        lookup,
        OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
        0,
        max,
        problems,
    )
    .or(general_length)
    .map(|n| n as usize);
    Limits {
        span_attribute_count,
        attribute_value_length,
        span_event_count,
        span_link_count,
        event_attribute_count,
        link_attribute_count,
    }
}
