//! Hostile input: 10,000 requests with random, oversized and malformed
//! `traceparent`, `tracestate` and `baggage` headers, and many copies of each,
//! through `nais_otel::server_layer()` in an axum app. No panic, no 5xx, every
//! request gets a valid trace (a new one when the header was invalid, the
//! caller's when it was valid whatever came with it), every span is exported,
//! and memory stays flat.
//!
//! The requests go through `oneshot`, not a socket: hyper would refuse the
//! largest of them (431) before the layer sees them, and the layer is what is
//! under test.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use axum::{body::Body, routing::get, Router};
use http::{HeaderName, HeaderValue, Request};
use nais_otel::config::BatchSettings;
use nais_otel_console::Collector;
use tower::ServiceExt as _;

const REQUESTS: usize = 10_000;
const PHASE: usize = 2_000;
const SEED: u64 = 0x6e61_6973_6f74_656c;

/// xorshift64*: deterministic, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn hex(&mut self, digits: usize) -> String {
        (0..digits)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16)]))
            .collect()
    }

    fn junk_upto(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max);
        self.junk(len)
    }

    /// Bytes a header value may hold: visible ASCII, space, tab and obs-text.
    fn junk(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| match self.below(10) {
                0 => b'\t',
                1 => 0x80 + self.below(128) as u8,
                2 => b'-',
                3 => b',',
                4 => b'=',
                _ => 0x20 + self.below(95) as u8,
            })
            .collect()
    }

    fn valid_traceparent(&mut self) -> (String, String, String) {
        let trace = loop {
            let t = self.hex(32);
            if t != "0".repeat(32) {
                break t;
            }
        };
        let span = loop {
            let s = self.hex(16);
            if s != "0".repeat(16) {
                break s;
            }
        };
        (format!("00-{trace}-{span}-01"), trace, span)
    }
}

/// What the answer's trace must be.
#[derive(Debug)]
enum Expect {
    /// The caller's trace, the span a child of the caller's span.
    Continue { trace: String, parent: String },
    /// A new trace: not this trace id (the header as sent, for messages).
    New { not: String, sent: String },
    /// Any valid trace (several traceparents, a future version...).
    Valid,
}

fn hostile_request(rng: &mut Rng) -> (Vec<(HeaderName, HeaderValue)>, Expect) {
    let tp = HeaderName::from_static("traceparent");
    let ts = HeaderName::from_static("tracestate");
    let bg = HeaderName::from_static("baggage");
    let value = |bytes: Vec<u8>| HeaderValue::from_bytes(&bytes).expect("a header value");
    let mut headers = Vec::new();
    let expect = match rng.below(8) {
        // A valid traceparent with hostile tracestate and baggage: the trace continues.
        0 | 1 => {
            let (traceparent, trace, parent) = rng.valid_traceparent();
            headers.push((tp.clone(), value(traceparent.into_bytes())));
            for _ in 0..rng.below(40) {
                let len = [0, 10, 600][rng.below(3)];
                let junk = rng.junk(len);
                headers.push((ts.clone(), value(junk)));
            }
            if rng.below(4) == 0 {
                let junk = rng.junk(70_000);
                headers.push((ts.clone(), value(junk)));
            }
            let members = [3, 40, 300, 5_000][rng.below(4)];
            let baggage: Vec<String> = (0..members)
                .map(|i| format!("k{i}=%{}%zz{}", rng.hex(1), rng.hex(8)))
                .collect();
            headers.push((bg.clone(), value(baggage.join(",").into_bytes())));
            let junk = rng.junk_upto(9_000);
            headers.push((bg.clone(), value(junk)));
            Expect::Continue { trace, parent }
        }
        // Random bytes: a new trace.
        2 => {
            let junk = rng.junk_upto(300);
            let sent = String::from_utf8_lossy(&junk).into_owned();
            headers.push((tp.clone(), value(junk)));
            Expect::New {
                not: String::new(),
                sent,
            }
        }
        // A valid one with one character changed or the line cut or padded.
        3 => {
            let (traceparent, trace, _) = rng.valid_traceparent();
            let mut bytes = traceparent.into_bytes();
            match rng.below(3) {
                0 => {
                    let at = rng.below(bytes.len());
                    let with = b"xX-G \t"[rng.below(6)];
                    // Never the same character: that would leave it valid.
                    bytes[at] = if bytes[at] == with { b'x' } else { with };
                }
                1 => bytes.truncate(rng.below(bytes.len())),
                _ => bytes.extend(std::iter::repeat_n(b'0', 1 + rng.below(100_000))),
            }
            let sent = String::from_utf8_lossy(&bytes[..bytes.len().min(80)]).into_owned();
            headers.push((tp.clone(), value(bytes)));
            Expect::New { not: trace, sent }
        }
        // Invalid by the letter of W3C: zero ids, version ff, upper case.
        4 => {
            let (_, trace, span) = rng.valid_traceparent();
            let (traceparent, not) = match rng.below(4) {
                0 => (format!("00-{}-{span}-01", "0".repeat(32)), String::new()),
                1 => (format!("00-{trace}-{}-01", "0".repeat(16)), trace),
                2 => (format!("ff-{trace}-{span}-01"), trace),
                _ => (format!("00-{}-{span}-01", trace.to_uppercase()), trace),
            };
            headers.push((tp.clone(), value(traceparent.clone().into_bytes())));
            Expect::New {
                not,
                sent: traceparent,
            }
        }
        // Many copies of the header, each valid but different.
        5 => {
            for _ in 0..(2 + rng.below(200)) {
                let (traceparent, _, _) = rng.valid_traceparent();
                headers.push((tp.clone(), value(traceparent.into_bytes())));
            }
            Expect::Valid
        }
        // Many copies of everything, mostly junk.
        6 => {
            for _ in 0..rng.below(300) {
                let name = [&tp, &ts, &bg][rng.below(3)].clone();
                let junk = rng.junk_upto(2_000);
                headers.push((name, value(junk)));
            }
            Expect::Valid
        }
        // A future version with extra fields: allowed, the ids are kept or a new trace.
        _ => {
            let (_, trace, span) = rng.valid_traceparent();
            let extra = rng.junk_upto(5_000);
            let mut bytes = format!("cc-{trace}-{span}-01-").into_bytes();
            bytes.extend(extra);
            headers.push((tp.clone(), value(bytes)));
            Expect::Valid
        }
    };
    (headers, expect)
}

fn is_hex(text: &str, digits: usize) -> bool {
    text.len() == digits
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn rss_kib() -> u64 {
    support::proc_status_kib("/proc/self/status", "VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_trace_headers_get_valid_traces() {
    let collector = Collector::start().expect("the collector starts");
    let guard = nais_otel::builder()
        .with_env_lookup(|_| None)
        .with_endpoint(collector.endpoint())
        .with_service_name("hostile")
        .with_batch_settings(
            BatchSettings::new()
                .with_schedule_delay(Duration::from_millis(100))
                .with_max_queue_size(2 * PHASE),
        )
        .init()
        .expect("init");
    let app = Router::new()
        .route("/api/thing", get(|| async { "ok" }))
        .layer(nais_otel::server_layer().traceparent_response_header(true));

    let mut rng = Rng(SEED);
    let mut rss_after_warmup = 0;
    for phase in 0..REQUESTS / PHASE {
        // trace id -> expected parent span id (empty for a new trace)
        let mut expected: HashMap<String, String> = HashMap::new();
        for i in 0..PHASE {
            let n = phase * PHASE + i;
            let (headers, expect) = hostile_request(&mut rng);
            let mut request = Request::get("/api/thing").body(Body::empty()).unwrap();
            for (name, value) in headers {
                request.headers_mut().append(name, value);
            }
            let response = app
                .clone()
                .oneshot(request)
                .await
                .unwrap_or_else(|e| panic!("request {n} (seed {SEED:#x}) failed: {e}"));
            assert_eq!(response.status(), 200, "request {n}: {expect:?}");
            let traceparent = response
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("request {n}: no traceparent in the answer"));
            let parts: Vec<&str> = traceparent.split('-').collect();
            assert!(
                parts.len() == 4
                    && parts[0] == "00"
                    && is_hex(parts[1], 32)
                    && is_hex(parts[2], 16)
                    && is_hex(parts[3], 2)
                    && parts[1] != "0".repeat(32)
                    && parts[2] != "0".repeat(16),
                "request {n}: not a valid traceparent: {traceparent}"
            );
            let trace = parts[1].to_owned();
            let parent = match expect {
                Expect::Continue {
                    trace: caller,
                    parent,
                } => {
                    assert_eq!(trace, caller, "request {n}: the caller's trace was lost");
                    parent
                }
                Expect::New { not, sent } => {
                    assert_ne!(
                        trace, not,
                        "request {n}: the invalid traceparent {sent:?} was used"
                    );
                    String::new()
                }
                Expect::Valid => "?".to_owned(),
            };
            assert!(
                expected.insert(trace.clone(), parent).is_none(),
                "request {n}: trace {trace} given twice"
            );
        }

        // Every request's span arrived, with the right parent.
        guard.force_flush();
        let spans = collector
            .wait_for_spans(PHASE, support::DEADLINE)
            .unwrap_or_else(|e| panic!("phase {phase}: {e}"));
        assert_eq!(
            spans.len(),
            PHASE,
            "phase {phase}: more spans than requests"
        );
        for span in &spans {
            let parent = expected
                .get(&span.trace_id)
                .unwrap_or_else(|| panic!("phase {phase}: a span of no request: {span:?}"));
            match parent.as_str() {
                "?" => {}
                "" => assert_eq!(span.parent_span_id, None, "{span:?}"),
                parent => assert_eq!(span.parent_span_id.as_deref(), Some(parent), "{span:?}"),
            }
        }
        collector.clear();
        if phase == 0 {
            rss_after_warmup = rss_kib();
        }
    }

    // Flat: 8,000 requests after the warm-up add no more than a few MiB
    // (allocator slack), where keeping even one 1 KiB header a request would
    // add 8 MiB and the headers sent weigh hundreds of MiB.
    let growth = rss_kib().saturating_sub(rss_after_warmup);
    assert!(
        growth < 8 * 1024,
        "RSS grew {growth} KiB over {} requests after the warm-up",
        REQUESTS - PHASE
    );
    let counts = guard.shutdown();
    assert_eq!(counts.ended, REQUESTS as u64, "{counts:?}");
    assert_eq!(counts.exported, REQUESTS as u64, "{counts:?}");
    assert_eq!(counts.lost(), 0, "{counts:?}");
}
