//! What the demo prints: the banner, the hints, and each trace's waterfall.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use nais_otel_console::{render_waterfall, RenderOptions, Trace};

use crate::config::Service;

/// Where everything listens, once the services are ready.
pub(super) fn banner(
    front_url: &str,
    ports: &HashMap<Service, u16>,
    endpoint: &str,
    embedded: bool,
    log_dir: &Path,
) {
    println!("DogBook is up: three services, each its own process.");
    println!("  front door  {front_url}  (/api/v1/kennels, /api/v1/inventory, /api/v1/dogs)");
    for service in [Service::Kennels, Service::Inventory, Service::Dogs] {
        println!(
            "  {:<10}  http://127.0.0.1:{}",
            service.name(),
            ports[&service]
        );
    }
    if embedded {
        println!("  collector   {endpoint}  (embedded, OTLP/gRPC)");
    } else {
        println!("  collector   {endpoint}  (from OTEL_EXPORTER_OTLP_ENDPOINT)");
    }
    println!("  logs        {}", log_dir.display());
    println!();
}

/// Requests to try while the demo keeps serving.
pub(super) fn hints(front_url: &str, embedded: bool) {
    println!();
    println!("Try:");
    println!("  curl '{front_url}/api/v1/kennels?id=0'");
    println!("  curl '{front_url}/api/v1/kennels?id=7'      # unknown kennel: 404, not an error");
    println!("  curl '{front_url}/api/v1/inventory?kennelId=1'");
    println!("  curl '{front_url}/api/v1/dogs?id=3'");
    if embedded {
        println!("Each new trace is drawn here. Ctrl-C to stop.");
    } else {
        println!("Ctrl-C to stop.");
    }
    let _ = io::stdout().flush();
}

/// The traces drawn so far, so a trace that completes again with no new span
/// is not drawn twice.
#[derive(Default)]
pub(super) struct Printed {
    spans: HashMap<String, usize>,
}

impl Printed {
    /// Draws `trace` as a waterfall, unless it was drawn with as many spans before.
    pub(super) fn print(&mut self, trace: &Trace) {
        let seen = self.spans.insert(trace.trace_id.clone(), trace.len());
        if seen.is_some_and(|n| n >= trace.len()) {
            return;
        }
        let mut out = io::stdout().lock();
        if seen.is_some() {
            let _ = writeln!(out, "(late spans arrived; the whole trace again)");
        }
        let _ = writeln!(
            out,
            "{}",
            render_waterfall(trace, &RenderOptions::for_stdout())
        );
        let _ = writeln!(out);
        let _ = out.flush();
    }

    /// Draws each trace from `traces` until `stop` is set or the channel closes.
    pub(super) fn print_until(mut self, traces: &mpsc::Receiver<Trace>, stop: &AtomicBool) {
        loop {
            match traces.recv_timeout(Duration::from_millis(200)) {
                Ok(trace) => self.print(&trace),
                Err(mpsc::RecvTimeoutError::Timeout) if stop.load(Ordering::SeqCst) => return,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}
