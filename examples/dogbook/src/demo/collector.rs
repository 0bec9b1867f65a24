//! Where the services send their spans: the embedded collector, or the OTLP
//! endpoint the environment names.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use nais_otel_console::{Collector, Trace};

use super::settings::{Settings, DOGBOOK_COLLECTOR_ADDR};

/// Where the services send their spans.
pub(super) struct Destination {
    /// The OTLP/gRPC endpoint.
    pub(super) endpoint: String,
    /// The embedded collector, when no endpoint came from the environment.
    pub(super) embedded: Option<Embedded>,
}

/// The embedded collector, and what it completes.
pub(super) struct Embedded {
    pub(super) collector: Collector,
    /// Every trace the collector completes.
    pub(super) traces: mpsc::Receiver<Trace>,
}

/// The embedded collector, unless the environment names an OTLP endpoint.
pub(super) fn start(settings: &Settings) -> Result<Destination, String> {
    match &settings.external_endpoint {
        Some(endpoint) => Ok(Destination {
            endpoint: endpoint.clone(),
            embedded: None,
        }),
        None => {
            let collector = start_embedded_collector(
                settings.collector_addr,
                settings.collector_addr_explicit,
            )?;
            // Subscribe before anything can send a span.
            let traces = collector.subscribe();
            Ok(Destination {
                endpoint: collector.endpoint(),
                embedded: Some(Embedded { collector, traces }),
            })
        }
    }
}

fn start_embedded_collector(addr: SocketAddr, explicit: bool) -> Result<Collector, String> {
    let builder = |addr: SocketAddr| {
        Collector::builder()
            .addr(addr)
            .quiet_period(Duration::from_millis(500))
            .incomplete_timeout(Duration::from_secs(5))
    };
    match builder(addr).start() {
        Ok(collector) => Ok(collector),
        Err(error) if error.is_addr_in_use() && !explicit => {
            let collector = builder(SocketAddr::new(addr.ip(), 0))
                .start()
                .map_err(|e| format!("cannot start the embedded collector: {e}"))?;
            println!(
                "note: {addr} is taken (another collector?), so the embedded collector listens on {} instead",
                collector.local_addr()
            );
            Ok(collector)
        }
        Err(error) => Err(format!(
            "cannot start the embedded collector ({DOGBOOK_COLLECTOR_ADDR}={addr}): {error}"
        )),
    }
}
