//! The trace store: the spans received, the traces open and completed, and who waits for them.
//!
//! The servers write to it ([`Store::ingest`]); the finisher task completes quiet traces
//! ([`Store::complete_due`]); the [`Collector`](crate::Collector) reads it and waits on it.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::{mpsc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use crate::span::{attributes_from_proto, ReceivedSpan};
use crate::trace::Trace;
use crate::waterfall::{render_waterfall, RenderOptions};

/// What the collector received, shared by the servers, the finisher task and the API.
pub(crate) struct Store {
    state: Mutex<State>,
    changed: Condvar,
    wake_finisher: tokio::sync::Notify,
    quiet_period: Duration,
    incomplete_timeout: Duration,
    print: Option<RenderOptions>,
}

/// The store's contents, behind its lock.
#[derive(Default)]
pub(crate) struct State {
    /// Every span received, in arrival order.
    pub(crate) spans: Vec<ReceivedSpan>,
    /// The protobuf encoding of each export request.
    pub(crate) raw_requests: Vec<Vec<u8>>,
    pub(crate) request_count: usize,
    open: HashMap<String, OpenTrace>,
    /// Every completion, in order; a trace that got late spans completes again.
    pub(crate) completed: Vec<Trace>,
    /// How many of `completed` were handed out by `wait_for_trace`.
    pub(crate) delivered: usize,
    subscribers: Vec<mpsc::Sender<Trace>>,
    pub(crate) stopped: bool,
}

struct OpenTrace {
    spans: Vec<ReceivedSpan>,
    last_span_at: Instant,
}

// === impl Store ===

impl Store {
    /// An empty store. A trace completes after `quiet_period` without a new span, or after
    /// `incomplete_timeout` when it is not whole; with `print`, each completed trace is drawn
    /// on stdout.
    pub(crate) fn new(
        quiet_period: Duration,
        incomplete_timeout: Duration,
        print: Option<RenderOptions>,
    ) -> Store {
        Store {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            wake_finisher: tokio::sync::Notify::new(),
            quiet_period,
            incomplete_timeout,
            print,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wait until the contents change, at most `timeout` (forever with `None`).
    pub(crate) fn wait_changed<'a>(
        &self,
        state: MutexGuard<'a, State>,
        timeout: Option<Duration>,
    ) -> MutexGuard<'a, State> {
        match timeout {
            Some(timeout) => {
                self.changed
                    .wait_timeout(state, timeout)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// A channel that gets every trace completed from now on.
    pub(crate) fn subscribe(&self) -> mpsc::Receiver<Trace> {
        let (tx, rx) = mpsc::channel();
        self.lock().subscribers.push(tx);
        rx
    }

    /// Record one export request. `raw` is its protobuf encoding.
    pub(crate) fn ingest(&self, request: &ExportTraceServiceRequest, raw: Vec<u8>) {
        let mut spans = Vec::new();
        for resource_spans in &request.resource_spans {
            let resource = resource_spans
                .resource
                .as_ref()
                .map(|r| attributes_from_proto(&r.attributes))
                .unwrap_or_default();
            for scope_spans in &resource_spans.scope_spans {
                for span in &scope_spans.spans {
                    spans.push(ReceivedSpan::from_proto(
                        span,
                        &resource,
                        scope_spans.scope.as_ref(),
                    ));
                }
            }
        }

        let now = Instant::now();
        let mut state = self.lock();
        state.request_count += 1;
        state.raw_requests.push(raw);
        for span in spans {
            let state = &mut *state;
            let open = state
                .open
                .entry(span.trace_id.clone())
                .or_insert_with(|| OpenTrace {
                    // Late spans reopen a completed trace; it completes again with all spans.
                    spans: state
                        .completed
                        .iter()
                        .rev()
                        .find(|t| t.trace_id == span.trace_id)
                        .map(|t| t.spans.clone())
                        .unwrap_or_default(),
                    last_span_at: now,
                });
            open.spans.push(span.clone());
            open.last_span_at = now;
            state.spans.push(span);
        }
        drop(state);
        self.changed.notify_all();
        self.wake_finisher.notify_one();
    }

    /// Complete the open traces that are due (all of them if `all`). Returns the next deadline.
    pub(crate) fn complete_due(&self, all: bool) -> Option<Instant> {
        let now = Instant::now();
        let mut done = Vec::new();
        let mut next: Option<Instant> = None;
        let mut state = self.lock();
        let ids: Vec<String> = state.open.keys().cloned().collect();
        for id in ids {
            let Some(open) = state.open.get(&id) else {
                continue;
            };
            let trace = Trace::new(id.clone(), open.spans.clone());
            let wait = if trace.is_complete() {
                self.quiet_period
            } else {
                self.incomplete_timeout
            };
            let due = open.last_span_at + wait;
            if all || now >= due {
                state.open.remove(&id);
                done.push(trace);
            } else {
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        if done.is_empty() {
            return next;
        }
        done.sort_by_key(|t| t.start_time_unix_nano());
        state.completed.extend(done.iter().cloned());
        state
            .subscribers
            .retain(|tx| done.iter().all(|t| tx.send(t.clone()).is_ok()));
        drop(state);
        self.changed.notify_all();

        if let Some(options) = &self.print {
            let mut out = io::stdout().lock();
            for trace in &done {
                // A closed stdout must not take the collector down.
                let _ = writeln!(out, "{}", render_waterfall(trace, options));
            }
            let _ = out.flush();
        }
        next
    }

    pub(crate) fn wake_finisher(&self) -> &tokio::sync::Notify {
        &self.wake_finisher
    }

    /// Complete every open trace and mark the store stopped, which ends every wait.
    pub(crate) fn stop(&self) {
        self.complete_due(true);
        self.lock().stopped = true;
        self.changed.notify_all();
    }
}

// === impl State ===

impl State {
    /// Forget everything received: spans, traces, raw requests and the count.
    pub(crate) fn clear(&mut self) {
        self.spans.clear();
        self.raw_requests.clear();
        self.request_count = 0;
        self.open.clear();
        self.completed.clear();
        self.delivered = 0;
    }

    /// The completed traces, in order of (latest) completion, one per trace id.
    pub(crate) fn latest_completions(&self) -> Vec<Trace> {
        let mut out: Vec<Trace> = Vec::new();
        for trace in &self.completed {
            out.retain(|t| t.trace_id != trace.trace_id);
            out.push(trace.clone());
        }
        out
    }
}
