//! Collector down at start-up: the service starts and serves normally, its
//! memory stays bounded by the span queue while spans pile up, the outage gives
//! one warning (not one a batch), and when the collector comes up the spans
//! made after that arrive and the spans lost are reported.

mod support;

use std::time::{Duration, Instant};

use support::{Load, Rotel};

/// Not a test: the entry point of the DogBook services this file starts as
/// child processes (see `support::dogbook_child_main`). Does nothing otherwise.
#[test]
fn dogbook_child_process() {
    support::dogbook_child_main();
}

const QUEUE: usize = 256;
const BATCH: usize = 128;
/// Each request's server span carries this much query string (`url.query`,
/// `url.full`), so spans that piled up would show in the RSS.
const PAD: usize = 8_000;
/// Requests made while the collector is down: 20 times what the queue holds.
const REQUESTS: usize = 5_000;

/// The field `key=value` (numbers) of a JSON log line.
fn field(line: &str, key: &str) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value.get(key)?.as_u64()
}

#[test]
fn collector_down_at_start_up() {
    // Fail now, not after the load, when rotel is missing.
    support::rotel_agent();
    let collector_port = support::free_port();
    let endpoint = format!("http://127.0.0.1:{collector_port}");
    // kennels alone: an unknown kennel is answered (404) without calling
    // upstream, with two spans (server, kennels.get-kennel-name).
    let mut kennels = support::spawn_service(
        "kennels",
        &endpoint,
        &[
            ("OTEL_BSP_MAX_QUEUE_SIZE", QUEUE.to_string()),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", BATCH.to_string()),
            ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
        ],
    );
    kennels.proc.wait_ready(kennels.port);
    let port = kennels.port;
    let path = format!("/api/v1/kennels?id=99&pad={}", "p".repeat(PAD));
    for _ in 0..20 {
        let answer = support::must_get(port, &path);
        assert_eq!(answer.status, 404, "{answer:?}");
        answer.trace_id();
    }
    let ok = support::must_get(port, "/api/v1/kennels?id=0");
    // Upstreams are not running: kennels still answers, with a nameless kennel.
    assert_eq!(ok.status, 200, "{ok:?}");
    let rss_before = kennels.proc.status_kib("VmRSS");

    // Load while the collector is down, well past what the queue holds.
    let started = Instant::now();
    let load = Load::start(port, &path, 4, Duration::ZERO);
    load.run_until(REQUESTS, Duration::from_secs(30));
    let samples = load.stop();
    let elapsed = started.elapsed();
    let answered = samples
        .iter()
        .filter(|s| matches!(s.result, Ok((404, _))))
        .count();
    assert_eq!(
        answered,
        samples.len(),
        "every request answered while the collector is down: {:?}",
        samples.iter().find(|s| !matches!(s.result, Ok((404, _))))
    );
    // 404s make two spans; the kennel with its upstreams down four (server,
    // kennel name, get-inventory and its failed client span).
    let made = 2 * (answered + 20) + 4;
    let hwm = kennels.proc.status_kib("VmHWM");
    let growth = hwm.saturating_sub(rss_before);
    // The queue plus the batch being retried, each span at most twice its
    // padded query (url.query and url.full) plus 2 KiB of the rest, plus 16 MiB
    // for buffers and allocator slack.
    let per_span = (2 * PAD + 2048) as u64 / 1024;
    let bound = (QUEUE + BATCH) as u64 * per_span + 8 * 1024;
    eprintln!(
        "collector down: {answered} requests in {elapsed:?}, {made} spans; RSS {rss_before} KiB before, peak {hwm} KiB, bound +{bound} KiB"
    );
    assert!(
        (answered * PAD / 1024) as u64 > 2 * bound,
        "too few spans ({made}) to tell a bounded queue from an unbounded one; the machine is too slow"
    );
    assert!(
        growth < bound,
        "RSS grew {growth} KiB with the collector down, more than the queue explains ({bound} KiB)"
    );

    // One warning for the whole outage.
    let warnings = kennels.proc.output.matching("cannot export spans");
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("WARN"), "{}", warnings[0]);

    // The collector comes up on the configured port. The exporter notices at
    // its next retry (backoff at most 2 s): until then the queue is still full
    // and new spans are dropped, so "after" means after that notice.
    let rotel = Rotel::start_on(collector_port);
    let recovered = kennels
        .proc
        .output
        .wait_for_line("span export works again", support::DEADLINE);
    let lost_at_recovery = field(&recovered, "spans_lost");
    assert!(
        lost_at_recovery.is_some_and(|n| n > 0),
        "the recovery notice gives the spans lost: {recovered}"
    );
    // The notice comes from the first export that gets through; the queue is
    // still full of outage spans until the batch thread has taken the next
    // batch, and a span ending in that moment is dropped (the queue drops the
    // newest). So wait for the backlog (the queue and the batch that was being
    // retried) to reach rotel before making the request whose spans must arrive.
    rotel.wait_for("the backlog of the outage", support::DEADLINE, |spans| {
        (spans.len() >= QUEUE).then_some(())
    });
    let after = support::must_get(port, "/api/v1/kennels?id=99");
    let trace = rotel.wait_for_trace(&after.trace_id(), 2);
    assert!(trace.iter().all(|s| s.service() == "kennels"), "{trace:#?}");
    let made = made + 2;
    assert_eq!(
        kennels.proc.output.matching("cannot export spans").len(),
        1,
        "still one warning:\n{}",
        kennels.proc.output.text()
    );

    // At shutdown, the total lost is reported, and it is what rotel is missing.
    kennels.proc.stop_cleanly();
    // Delivery is at least once: a batch resent after a slow answer counts once.
    let received = rotel
        .spans()
        .into_iter()
        .map(|span| span.span_id)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let report = kennels
        .proc
        .output
        .wait_for_line("spans were not exported", Duration::from_secs(5));
    let lost = field(&report, "spans_lost").expect("spans_lost in the report");
    eprintln!(
        "made {made}, rotel received {received}, lost at recovery {lost_at_recovery:?}, lost reported at shutdown {lost}"
    );
    assert_eq!(
        lost as usize,
        made - received,
        "the spans lost reported at shutdown ({report}) are the spans rotel never got ({made} made, {received} received)"
    );
    // The recovery notice may not count as lost the spans still waiting in the
    // queue, which are exported right after it.
    let lost_at_recovery = lost_at_recovery.unwrap_or_default();
    assert!(
        lost_at_recovery <= lost,
        "the recovery notice said {lost_at_recovery} spans were lost, but only {lost} were"
    );
}

/// A collector that answers every export with 401 (a wrong token) refuses the spans; that
/// is not an outage to wait out. The service says once that the collector refused them and
/// that they are dropped, not retried, and it says nothing of retrying.
#[test]
fn a_collector_that_refuses_is_said_to_refuse() {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let posts = Arc::new(AtomicUsize::new(0));
    let counted = posts.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let counted = counted.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut writer = stream;
                // Each request on the connection: its head, its body, a 401.
                loop {
                    let mut length = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    counted.fetch_add(1, Ordering::SeqCst);
                    let answer = "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n";
                    if writer.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let mut kennels = support::spawn_service(
        "kennels",
        &endpoint,
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
        ],
    );
    kennels.proc.wait_ready(kennels.port);
    let first = support::must_get(kennels.port, "/api/v1/kennels?id=99");
    assert_eq!(first.status, 404, "{first:?}");
    let warning = kennels
        .proc
        .output
        .wait_for_line("the collector refused spans", support::DEADLINE);
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("not retried"), "{warning}");
    assert!(warning.contains("401"), "the collector's answer: {warning}");
    // Another request's spans: refused too, and not said again.
    let refused = posts.load(Ordering::SeqCst);
    let second = support::must_get(kennels.port, "/api/v1/kennels?id=98");
    assert_eq!(second.status, 404, "{second:?}");
    let deadline = Instant::now() + support::DEADLINE;
    while posts.load(Ordering::SeqCst) == refused {
        assert!(Instant::now() < deadline, "the second export never came");
        std::thread::yield_now();
    }
    kennels.proc.stop_cleanly();
    let output = kennels.proc.output.text();
    assert_eq!(
        kennels
            .proc
            .output
            .matching("the collector refused spans")
            .len(),
        1,
        "{output}"
    );
    assert!(!output.contains("retrying"), "{output}");
}
