//! `cargo run -p dogbook`: the whole demo in one command, in five steps, each
//! a function of its own that [`run`] calls in order:
//!
//! 1. **Collector** (`demo/collector.rs`): starts the embedded collector
//!    ([`nais_otel_console::Collector`]) on `127.0.0.1:4317` (another free port
//!    if that one is taken), unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set: then
//!    the services export there.
//! 2. **Services** (`demo/children.rs`): starts kennels, inventory and dogs as
//!    separate processes (this executable with the hidden subcommand
//!    `serve <service>`), on ports 8081, 8082 and 8083 (free ones if those are
//!    taken), their logs in `target/<profile>/dogbook-logs/` (or
//!    [`DOGBOOK_LOG_DIR`]), and waits until each answers `/isReady`.
//! 3. **Front door** (`demo/front_door.rs`): fronts them on `127.0.0.1:8080`
//!    ([`DOGBOOK_PORT`]) with a reverse proxy (see [`crate::proxy`]). Its port
//!    is bound before the services start, so a taken port fails first.
//! 4. **First request** (`demo/first_request.rs`): sends [`DEMO_REQUEST`],
//!    prints the answer and the waterfall of its trace (`demo/print.rs`).
//! 5. **Watch**: draws each new trace until Ctrl-C, then stops the services
//!    with SIGTERM so they flush their last spans.
//!
//! With [`Options::once`] it stops after the first trace, with exit status 0
//! only when that trace is whole (one root, every parent present) and has
//! spans from all three services.

mod children;
mod collector;
mod first_request;
mod front_door;
mod print;
mod settings;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;

use self::children::{pick_port, Children};
use self::collector::{Destination, Embedded};
pub use self::first_request::{check_trace, DEMO_REQUEST};
use self::front_door::FrontDoor;
use self::print::Printed;
use self::settings::Settings;
pub use self::settings::{
    DEFAULT_COLLECTOR_ADDR, DEFAULT_PORT, DOGBOOK_COLLECTOR_ADDR, DOGBOOK_LOG_DIR, DOGBOOK_PORT,
};
use crate::config::Service;
use crate::proxy::Upstreams;

const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How the demo runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Stop after the first trace; exit status 0 only when it is whole and
    /// has spans from all three services.
    pub once: bool,
}

impl Options {
    /// Keep serving until Ctrl-C.
    pub fn new() -> Options {
        Options::default()
    }

    /// Stop after the first trace. Defaults to `false`.
    #[must_use]
    pub fn once(mut self, once: bool) -> Options {
        self.once = once;
        self
    }
}

/// Runs the demo; see the [module docs](self). Errors are printed, naming the
/// variable or port at fault.
pub fn run(options: Options) -> ExitCode {
    match run_demo(options) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("dogbook: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The demo, step by step; see the [module docs](self).
fn run_demo(options: Options) -> Result<ExitCode, String> {
    let settings = Settings::from_env()?;
    let destination = collector::start(&settings)?;
    let runtime = start_runtime()?;
    let mut children = Children::new(&settings.log_dir)?;
    let front = front_door::bind(settings.port)?;
    let ports = start_services(&runtime, &mut children, &destination)?;
    let front_door = front.serve(&runtime, upstreams(&ports));
    print::banner(
        &front_door.url,
        &ports,
        &destination.endpoint,
        destination.embedded.is_some(),
        &settings.log_dir,
    );
    let mut printed = Printed::default();
    let verdict = first_request::send(
        &runtime,
        &front_door.url,
        &destination,
        &mut printed,
        &settings.log_dir,
    );
    if options.once {
        front_door.stop(&runtime);
        children.stop();
        drop(destination);
        return Ok(exit_code(verdict));
    }
    if let Err(message) = &verdict {
        eprintln!("dogbook: {message}");
    }
    watch(&runtime, front_door, &mut children, destination, printed);
    Ok(ExitCode::SUCCESS)
}

fn start_runtime() -> Result<Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))
}

/// The exit status of `--once`: success only when `verdict` is; a failure is printed.
fn exit_code(verdict: Result<(), String>) -> ExitCode {
    match verdict {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dogbook: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Step 2: kennels, inventory and dogs as processes of their own, each on its
/// default port or a free one, exporting to `destination`; returns once each
/// is ready, with their ports.
fn start_services(
    runtime: &Runtime,
    children: &mut Children,
    destination: &Destination,
) -> Result<HashMap<Service, u16>, String> {
    let ports: HashMap<Service, u16> = Service::ALL
        .into_iter()
        .map(|service| (service, pick_port(service.default_port())))
        .collect();
    for service in Service::ALL {
        children.spawn(service, &service_env(service, &ports, destination))?;
    }
    runtime.block_on(children.wait_ready(READY_TIMEOUT))?;
    Ok(ports)
}

/// The environment `service` gets besides the demo's own.
fn service_env(
    service: Service,
    ports: &HashMap<Service, u16>,
    destination: &Destination,
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("PORT", ports[&service].to_string()),
        (
            "INVENTORY_URL",
            format!("http://{}", loopback(ports[&Service::Inventory])),
        ),
        (
            "DOGS_URL",
            format!("http://{}", loopback(ports[&Service::Dogs])),
        ),
    ];
    if destination.embedded.is_some() {
        env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", destination.endpoint.clone()));
        // The embedded collector speaks OTLP/gRPC, whatever the shell says.
        for protocol in [
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_PROTOCOL",
        ] {
            env.push((protocol, "grpc".to_owned()));
        }
    }
    if std::env::var_os("OTEL_BSP_SCHEDULE_DELAY").is_none() {
        // Export within 100 ms, so a trace's spans arrive together.
        env.push(("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()));
    }
    env
}

/// Where the front door (step 3) sends each prefix.
fn upstreams(ports: &HashMap<Service, u16>) -> Upstreams {
    Upstreams {
        kennels: loopback(ports[&Service::Kennels]),
        inventory: loopback(ports[&Service::Inventory]),
        dogs: loopback(ports[&Service::Dogs]),
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Step 5: draws each new trace until Ctrl-C, then stops the front door and
/// the services (SIGTERM, so they flush their last spans) and draws every
/// trace still open.
fn watch(
    runtime: &Runtime,
    front_door: FrontDoor,
    children: &mut Children,
    destination: Destination,
    printed: Printed,
) {
    print::hints(&front_door.url, destination.embedded.is_some());
    let stop_printing = Arc::new(AtomicBool::new(false));
    let (collector, printer) = match destination.embedded {
        Some(Embedded { collector, traces }) => {
            let stop = Arc::clone(&stop_printing);
            let printer = std::thread::spawn(move || printed.print_until(&traces, &stop));
            (Some(collector), Some(printer))
        }
        None => (None, None),
    };

    runtime.block_on(nais_otel::shutdown_signal());
    println!(
        "\nStopping: the services get SIGTERM, finish what is in flight and flush their spans."
    );
    front_door.stop(runtime);
    children.stop();
    if let Some(collector) = &collector {
        // Completes (and so prints) every trace still open.
        collector.shutdown();
    }
    stop_printing.store(true, Ordering::SeqCst);
    if let Some(printer) = printer {
        let _ = printer.join();
    }
}
