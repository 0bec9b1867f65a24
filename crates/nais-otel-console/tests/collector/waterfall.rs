//! Drawing a hand-built trace: structure, indentation, proportions, errors, orphans.

use nais_otel_console::{
    render_waterfall, AttributeValue, ReceivedSpan, ReceivedSpanKind, ReceivedStatus,
    ReceivedStatusCode, RenderOptions, Trace, ERROR_MARKER, PARENT_MISSING,
};

const MS: u64 = 1_000_000;
const T0: u64 = 1_700_000_000_000 * MS;
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn span(
    id: &str,
    parent: Option<&str>,
    service: &str,
    name: &str,
    start_ms: u64,
    end_ms: u64,
) -> ReceivedSpan {
    ReceivedSpan {
        trace_id: TRACE.to_owned(),
        span_id: id.to_owned(),
        parent_span_id: parent.map(str::to_owned),
        trace_state: String::new(),
        flags: 1,
        name: name.to_owned(),
        kind: ReceivedSpanKind::Server,
        start_time_unix_nano: T0 + start_ms * MS,
        end_time_unix_nano: T0 + end_ms * MS,
        attributes: vec![],
        events: vec![],
        links: vec![],
        status: ReceivedStatus::default(),
        resource: vec![(
            "service.name".to_owned(),
            AttributeValue::String(service.to_owned()),
        )],
        scope_name: String::new(),
        scope_version: String::new(),
    }
}

/// kennels root (0-400) > get-inventory (10-210) > inventory server (20-200)
///                      > get-dog (220-400) > dogs server ✖ (230-390)
fn dogbook() -> Trace {
    let mut failing = span("05", Some("04"), "dogs", "GET /api/v1/dogs", 230, 390);
    failing.status = ReceivedStatus {
        code: ReceivedStatusCode::Error,
        message: "boom".to_owned(),
    };
    // Received out of order, on purpose.
    Trace::new(
        TRACE,
        vec![
            failing,
            span(
                "03",
                Some("02"),
                "inventory",
                "GET /api/v1/inventory",
                20,
                200,
            ),
            span("04", Some("01"), "kennels", "kennels.get-dog", 220, 400),
            span(
                "02",
                Some("01"),
                "kennels",
                "kennels.get-inventory",
                10,
                210,
            ),
            span("01", None, "kennels", "GET /api/v1/kennels", 0, 400),
        ],
    )
}

fn bar(line: &str) -> &str {
    let start = line.find('│').unwrap();
    &line[start..]
}

fn filled(line: &str) -> usize {
    bar(line).chars().filter(|c| *c == '█').count()
}

fn lead(line: &str) -> usize {
    bar(line).chars().skip(1).take_while(|c| *c == ' ').count()
}

#[test]
fn header_names_trace_spans_services_and_duration() {
    let text = render_waterfall(&dogbook(), &RenderOptions::new().width(100));
    let header = text.lines().next().unwrap();
    assert!(header.contains(TRACE), "{header}");
    assert!(header.contains("5 spans"), "{header}");
    assert!(header.contains("dogs, inventory, kennels"), "{header}");
    assert!(header.contains("400.0ms"), "{header}");
    assert!(!header.contains("incomplete"), "{header}");
}

#[test]
fn lines_follow_the_tree_with_children_by_start_time_indented_by_depth() {
    let text = render_waterfall(&dogbook(), &RenderOptions::new().width(100));
    println!("{text}");
    let lines: Vec<&str> = text.lines().skip(1).collect();
    let order = [
        "GET /api/v1/kennels",
        "kennels.get-inventory",
        "GET /api/v1/inventory",
        "kennels.get-dog",
        "GET /api/v1/dogs",
    ];
    assert_eq!(lines.len(), order.len());
    let depths = [0, 1, 2, 1, 2];
    let service_width = "inventory".len();
    for ((line, name), depth) in lines.iter().zip(order).zip(depths) {
        assert!(line.contains(name), "{line} should be {name}");
        let label: String = line.chars().skip(service_width + 1).collect();
        let indent = label.chars().take_while(|c| *c == ' ').count();
        assert_eq!(indent, depth * 2, "indent of {name}: {line}");
    }
    assert!(lines[2].starts_with("inventory "));
    assert!(lines[2].contains("+20.0ms"));
    assert!(lines[2].contains("180.0ms"));
}

#[test]
fn bars_are_proportional_to_the_trace() {
    let text = render_waterfall(&dogbook(), &RenderOptions::new().width(100));
    let lines: Vec<&str> = text.lines().skip(1).collect();
    let full = filled(lines[0]);
    assert!(full >= 10);
    assert_eq!(
        bar(lines[0]).chars().count(),
        full + 2,
        "the root fills its bar"
    );
    // get-inventory covers 10..210 of 400: about half the bar, starting near the left.
    let half = filled(lines[1]);
    assert!(half.abs_diff(full / 2) <= 1, "{half} vs {full}");
    assert!(lead(lines[1]) <= 1);
    // get-dog starts at 220 of 400: past the middle.
    assert!(
        lead(lines[3]).abs_diff(full * 220 / 400) <= 1,
        "{}",
        lines[3]
    );
    // Every bar has the same width.
    assert!(lines.iter().all(|l| bar(l).chars().count() == full + 2));
}

#[test]
fn errors_are_marked_and_plain_text_has_no_escapes() {
    let text = render_waterfall(&dogbook(), &RenderOptions::new());
    let failing = text
        .lines()
        .find(|l| l.contains("GET /api/v1/dogs"))
        .unwrap();
    assert!(failing.contains(ERROR_MARKER), "{failing}");
    assert_eq!(text.matches(ERROR_MARKER).count(), 1);
    assert!(!text.contains('\x1b'));
}

#[test]
fn colour_uses_ansi_and_red_for_errors() {
    let text = render_waterfall(&dogbook(), &RenderOptions::new().color(true));
    assert!(text.contains("\x1b[31m"));
    let failing = text
        .lines()
        .find(|l| l.contains("GET /api/v1/dogs"))
        .unwrap();
    assert!(failing.contains("\x1b[31m"), "{failing:?}");
}

#[test]
fn orphans_are_drawn_at_the_top_marked_parent_missing() {
    let mut spans = dogbook().spans;
    spans.retain(|s| s.span_id != "02"); // drop kennels.get-inventory
    let trace = Trace::new(TRACE, spans);
    let text = render_waterfall(&trace, &RenderOptions::new().width(100));
    assert!(text.lines().next().unwrap().contains("incomplete"));
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), 4);
    let orphan = lines
        .iter()
        .find(|l| l.contains("GET /api/v1/inventory"))
        .unwrap();
    assert!(orphan.contains(PARENT_MISSING), "{orphan}");
    // Top level: no indentation after the service column.
    assert!(orphan.starts_with("inventory GET"), "{orphan}");
    // After the root's subtree.
    assert_eq!(lines.last().unwrap(), orphan);
}

#[test]
fn narrow_widths_and_empty_traces_do_not_panic() {
    for width in [0, 1, 20, 40] {
        let text = render_waterfall(&dogbook(), &RenderOptions::new().width(width));
        assert_eq!(text.lines().count(), 6);
    }
    let empty = render_waterfall(&Trace::new(TRACE, vec![]), &RenderOptions::new());
    assert_eq!(empty.lines().count(), 1);
    let zero = Trace::new(TRACE, vec![span("01", None, "a", "instant", 5, 5)]);
    assert!(render_waterfall(&zero, &RenderOptions::new()).contains('█'));
}
