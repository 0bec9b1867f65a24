//! Drawing a trace as a waterfall in the terminal.
//!
//! ```text
//! trace 4bf92f3577b34da6a3ce929d0e0e4736 · 3 spans · 2 services (inventory, kennels) · 210.0ms
//! kennels    GET /api/v1/kennels           +0.0ms   210.0ms │████████████████████████████████│
//! kennels      kennels.get-inventory       +5.0ms   105.0ms │ ████████████████               │
//! inventory      GET /api/v1/inventory     +6.0ms   100.0ms │ ███████████████                │
//! ```

use std::io::{self, IsTerminal};
use std::time::Duration;

use crate::trace::Trace;

const RESET: &str = "\x1b[0m";
const RED: &str = "\x1b[31m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const PALETTE: [&str; 6] = [
    "\x1b[36m", "\x1b[35m", "\x1b[33m", "\x1b[32m", "\x1b[34m", "\x1b[96m",
];

/// The marker in front of the name of a span whose status is an error.
pub const ERROR_MARKER: &str = "✖";

/// The note after the name of a span whose parent was not received.
pub const PARENT_MISSING: &str = "(parent missing)";

/// How [`render_waterfall`] draws: total width and whether to use ANSI colours.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenderOptions {
    /// The total line width in columns; the bar gets what the text leaves (at least 10).
    pub width: usize,
    /// Whether to use ANSI colours.
    pub color: bool,
}

impl RenderOptions {
    /// 120 columns, no colour.
    pub fn new() -> RenderOptions {
        RenderOptions {
            width: 120,
            color: false,
        }
    }

    /// For printing to stdout: colour when stdout is a terminal and `NO_COLOR` is unset or
    /// empty; width from `COLUMNS`, else 120.
    pub fn for_stdout() -> RenderOptions {
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse().ok())
            .filter(|w| *w >= 40)
            .unwrap_or(120);
        RenderOptions {
            width,
            color: stdout_wants_color(),
        }
    }

    /// Set the width in columns. Defaults to 120.
    #[must_use]
    pub fn width(mut self, width: usize) -> Self {
        self.width = width;
        self
    }

    /// Use ANSI colours. Defaults to `false`.
    #[must_use]
    pub fn color(mut self, color: bool) -> Self {
        self.color = color;
        self
    }
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions::new()
    }
}

/// Whether stdout is a terminal and `NO_COLOR` is unset or empty.
fn stdout_wants_color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Draw `trace` as a waterfall: a header line, then one line a span in tree order.
///
/// Each span line shows the service, the span name indented by depth (children ordered by
/// start time), the start offset from the trace's start, the duration, and a bar scaled to
/// the trace's length. Errors are marked with [`ERROR_MARKER`] (and red, with colour); spans
/// whose parent was not received are drawn at the top level, marked [`PARENT_MISSING`].
///
/// The result has no trailing newline.
///
/// # Examples
///
/// ```
/// use nais_otel_console::{render_waterfall, RenderOptions, Trace};
///
/// let text = render_waterfall(&Trace::new("00", vec![]), &RenderOptions::new());
/// assert!(text.starts_with("trace 00"));
/// ```
pub fn render_waterfall(trace: &Trace, options: &RenderOptions) -> String {
    let services = trace.services();
    let start = trace.start_time_unix_nano();
    let total = trace.end_time_unix_nano().saturating_sub(start);
    let paint = |code: &str, text: &str| -> String {
        if options.color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_owned()
        }
    };

    let mut out = String::new();
    let header = format!(
        "trace {} · {} span{} · {} service{} ({}) · {}{}",
        trace.trace_id,
        trace.len(),
        if trace.len() == 1 { "" } else { "s" },
        services.len(),
        if services.len() == 1 { "" } else { "s" },
        services.join(", "),
        format_duration(Duration::from_nanos(total)),
        if trace.is_complete() {
            ""
        } else {
            " · incomplete"
        },
    );
    out.push_str(&paint(BOLD, &header));

    let rows = trace.walk();
    if rows.is_empty() {
        return out;
    }
    let orphans: Vec<&str> = trace
        .orphans()
        .into_iter()
        .map(|s| s.span_id.as_str())
        .collect();

    // Lay out the text columns, then give the bar whatever width is left.
    struct Row {
        service: String,
        label: String,
        offset: String,
        duration: String,
        from: u64,
        to: u64,
        error: bool,
        color: &'static str,
    }
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|(depth, span)| {
            let service = span.service_name().unwrap_or("?").to_owned();
            let mut label = "  ".repeat(depth);
            if span.is_error() {
                label.push_str(ERROR_MARKER);
                label.push(' ');
            }
            label.push_str(&span.name);
            if orphans.contains(&span.span_id.as_str()) {
                label.push(' ');
                label.push_str(PARENT_MISSING);
            }
            let from = span.start_time_unix_nano.saturating_sub(start);
            let to = span
                .end_time_unix_nano
                .max(span.start_time_unix_nano)
                .saturating_sub(start);
            let color = services
                .iter()
                .position(|s| *s == service)
                .map_or(PALETTE[0], |i| PALETTE[i % PALETTE.len()]);
            Row {
                service,
                label,
                offset: format!("+{}", format_duration(Duration::from_nanos(from))),
                duration: format_duration(Duration::from_nanos(to - from)),
                from,
                to,
                error: span.is_error(),
                color,
            }
        })
        .collect();

    const MIN_BAR: usize = 10;
    let service_width = rows
        .iter()
        .map(|r| width(&r.service))
        .max()
        .unwrap_or(0)
        .min(20);
    let offset_width = rows.iter().map(|r| width(&r.offset)).max().unwrap_or(0);
    let duration_width = rows.iter().map(|r| width(&r.duration)).max().unwrap_or(0);
    // service, label, offset, duration, bar: four gaps and two bar borders.
    let fixed = service_width + offset_width + duration_width + 4 + 2;
    let label_room = options.width.saturating_sub(fixed + MIN_BAR).max(12);
    let label_width = rows
        .iter()
        .map(|r| width(&r.label))
        .max()
        .unwrap_or(0)
        .min(label_room);
    let bar_width = options
        .width
        .saturating_sub(fixed + label_width)
        .max(MIN_BAR);

    for row in rows {
        out.push('\n');
        let service = pad(&truncate(&row.service, service_width), service_width);
        out.push_str(&paint(row.color, &service));
        out.push(' ');
        let label = pad(&truncate(&row.label, label_width), label_width);
        out.push_str(&if row.error { paint(RED, &label) } else { label });
        out.push(' ');
        out.push_str(&paint(DIM, &format!("{:>offset_width$}", row.offset)));
        out.push(' ');
        out.push_str(&format!("{:>duration_width$}", row.duration));
        out.push(' ');
        let (lead, fill) = bar_span(row.from, row.to, total, bar_width);
        let bar = "█".repeat(fill);
        out.push('│');
        out.push_str(&" ".repeat(lead));
        out.push_str(&paint(if row.error { RED } else { row.color }, &bar));
        out.push_str(&" ".repeat(bar_width - lead - fill));
        out.push('│');
    }
    out
}

/// Columns before the bar and columns of bar, for a span from `from` to `to` of `total`.
/// Every span gets at least one column.
fn bar_span(from: u64, to: u64, total: u64, width: usize) -> (usize, usize) {
    if total == 0 || width == 0 {
        return (0, width.min(1));
    }
    let scale = |t: u64| -> usize {
        let col = u128::from(t) * width as u128 / u128::from(total);
        usize::try_from(col).unwrap_or(width).min(width)
    };
    let lead = scale(from).min(width - 1);
    let end = {
        // Round the end up so a span that reaches the trace's end fills the last column.
        let col = (u128::from(to) * width as u128).div_ceil(u128::from(total));
        usize::try_from(col).unwrap_or(width).min(width)
    };
    (lead, end.saturating_sub(lead).max(1))
}

/// `1.5s`, `12.3ms`, `45µs`.
pub(crate) fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        "0ms".to_owned()
    } else if nanos < 1_000_000 {
        format!("{}µs", nanos / 1_000)
    } else if nanos < 1_000_000_000 {
        format!("{:.1}ms", d.as_secs_f64() * 1_000.0)
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn pad(s: &str, to: usize) -> String {
    let mut out = s.to_owned();
    out.push_str(&" ".repeat(to.saturating_sub(width(s))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_trace() {
        assert_eq!(bar_span(0, 100, 100, 40), (0, 40));
        assert_eq!(bar_span(0, 50, 100, 40), (0, 20));
        assert_eq!(bar_span(50, 100, 100, 40), (20, 20));
        assert_eq!(bar_span(100, 100, 100, 40), (39, 1));
        assert_eq!(bar_span(0, 0, 0, 40), (0, 1));
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(format_duration(Duration::from_micros(45)), "45µs");
        assert_eq!(format_duration(Duration::from_micros(12_345)), "12.3ms");
        assert_eq!(format_duration(Duration::from_millis(1_500)), "1.50s");
    }
}
