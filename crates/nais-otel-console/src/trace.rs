//! Spans grouped by trace id.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use crate::span::ReceivedSpan;

/// The spans of one trace, in the order they were received.
///
/// A trace the collector hands out as *completed* (see
/// [`Collector::wait_for_trace`](crate::Collector::wait_for_trace)) saw no new span for the
/// quiet period; whether it is also *whole* is [`Trace::is_complete`].
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The trace id, 32 lowercase hex characters.
    pub trace_id: String,
    /// The spans, in arrival order.
    pub spans: Vec<ReceivedSpan>,
}

impl Trace {
    /// A trace from spans that share `trace_id`. Spans with another trace id are dropped.
    pub fn new(trace_id: impl Into<String>, spans: Vec<ReceivedSpan>) -> Trace {
        let trace_id = trace_id.into();
        let spans = spans
            .into_iter()
            .filter(|s| s.trace_id == trace_id)
            .collect();
        Trace { trace_id, spans }
    }

    /// Group `spans` by trace id, in order of each trace's first span.
    pub fn group(spans: &[ReceivedSpan]) -> Vec<Trace> {
        let mut traces: Vec<Trace> = Vec::new();
        for span in spans {
            match traces.iter_mut().find(|t| t.trace_id == span.trace_id) {
                Some(trace) => trace.spans.push(span.clone()),
                None => traces.push(Trace {
                    trace_id: span.trace_id.clone(),
                    spans: vec![span.clone()],
                }),
            }
        }
        traces
    }

    /// The number of spans.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no spans.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The first span without a parent, if any.
    pub fn root(&self) -> Option<&ReceivedSpan> {
        self.spans.iter().find(|s| s.is_root())
    }

    /// All spans without a parent.
    pub fn roots(&self) -> Vec<&ReceivedSpan> {
        self.spans.iter().filter(|s| s.is_root()).collect()
    }

    /// The span with id `span_id`.
    pub fn span(&self, span_id: &str) -> Option<&ReceivedSpan> {
        self.spans.iter().find(|s| s.span_id == span_id)
    }

    /// The first span named `name`.
    pub fn span_named(&self, name: &str) -> Option<&ReceivedSpan> {
        self.spans.iter().find(|s| s.name == name)
    }

    /// The parent of `span`, if it was received.
    pub fn parent_of(&self, span: &ReceivedSpan) -> Option<&ReceivedSpan> {
        span.parent_span_id.as_deref().and_then(|id| self.span(id))
    }

    /// The direct children of `span_id`, ordered by start time.
    pub fn children(&self, span_id: &str) -> Vec<&ReceivedSpan> {
        let mut children: Vec<&ReceivedSpan> = self
            .spans
            .iter()
            .filter(|s| s.parent_span_id.as_deref() == Some(span_id))
            .collect();
        children.sort_by_key(|s| s.start_time_unix_nano);
        children
    }

    /// Spans whose parent id is set but whose parent was not received, ordered by start time.
    pub fn orphans(&self) -> Vec<&ReceivedSpan> {
        let ids: HashSet<&str> = self.spans.iter().map(|s| s.span_id.as_str()).collect();
        let mut orphans: Vec<&ReceivedSpan> = self
            .spans
            .iter()
            .filter(|s| {
                s.parent_span_id
                    .as_deref()
                    .is_some_and(|p| !ids.contains(p))
            })
            .collect();
        orphans.sort_by_key(|s| s.start_time_unix_nano);
        orphans
    }

    /// The distinct `service.name`s, sorted.
    pub fn services(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self.spans.iter().filter_map(|s| s.service_name()).collect();
        set.into_iter().map(str::to_owned).collect()
    }

    /// Whether the trace is whole: exactly one root, and every parent was received.
    pub fn is_complete(&self) -> bool {
        self.spans.iter().filter(|s| s.is_root()).count() == 1 && self.orphans().is_empty()
    }

    /// The earliest start, in nanoseconds since the Unix epoch (0 when empty).
    pub fn start_time_unix_nano(&self) -> u64 {
        self.spans
            .iter()
            .map(|s| s.start_time_unix_nano)
            .min()
            .unwrap_or(0)
    }

    /// The latest end, in nanoseconds since the Unix epoch (0 when empty).
    pub fn end_time_unix_nano(&self) -> u64 {
        self.spans
            .iter()
            .map(|s| s.end_time_unix_nano.max(s.start_time_unix_nano))
            .max()
            .unwrap_or(0)
    }

    /// From the earliest start to the latest end of any span.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(
            self.end_time_unix_nano()
                .saturating_sub(self.start_time_unix_nano()),
        )
    }

    /// The spans in tree order with their depth: each root (then each orphan, at depth 0)
    /// followed by its descendants depth-first, siblings ordered by start time.
    ///
    /// Every span appears exactly once, even if the parent links form a cycle.
    pub fn walk(&self) -> Vec<(usize, &ReceivedSpan)> {
        let mut tops: Vec<&ReceivedSpan> = self.roots();
        tops.sort_by_key(|s| s.start_time_unix_nano);
        tops.extend(self.orphans());

        let mut out = Vec::with_capacity(self.spans.len());
        let mut seen: HashSet<*const ReceivedSpan> = HashSet::new();
        let mut stack: Vec<(usize, &ReceivedSpan)> =
            tops.into_iter().rev().map(|s| (0, s)).collect();
        loop {
            while let Some((depth, span)) = stack.pop() {
                if !seen.insert(span as *const _) {
                    continue;
                }
                out.push((depth, span));
                for child in self.children(&span.span_id).into_iter().rev() {
                    stack.push((depth + 1, child));
                }
            }
            // Spans only reachable through a cycle (or duplicate ids): show them at the top.
            match self
                .spans
                .iter()
                .find(|s| !seen.contains(&(*s as *const _)))
            {
                Some(span) => stack.push((0, span)),
                None => break,
            }
        }
        out
    }
}
