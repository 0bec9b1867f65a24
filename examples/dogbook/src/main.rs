//! Run with
//!
//! ```not_rust
//! cargo run -p dogbook
//! ```
//!
//! Starts kennels, inventory and dogs as separate processes behind a reverse
//! proxy on `127.0.0.1:8080`, with an embedded collector that draws each trace
//! as a waterfall, sends `GET /api/v1/kennels?id=2` and draws its trace. Then
//! keeps serving until Ctrl-C. `--once` stops after the first trace.
//!
//! Set `OTEL_EXPORTER_OTLP_ENDPOINT` to send the spans to a real collector or
//! Tempo instead.
use std::process::ExitCode;

use dogbook::demo::{self, Options};
use dogbook::Service;

const USAGE: &str = "\
usage: dogbook [--once]

Starts the DogBook demo: kennels, inventory and dogs as separate processes
behind http://127.0.0.1:8080 (DOGBOOK_PORT), an embedded OTLP collector on
127.0.0.1:4317 (DOGBOOK_COLLECTOR_ADDR) unless OTEL_EXPORTER_OTLP_ENDPOINT is
set, sends GET /api/v1/kennels?id=2 and draws its trace, then draws each new
trace until Ctrl-C.

  --once   stop after the first trace; exit status 0 only when it is whole
           and has spans from all three services
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => demo::run(Options::new()),
        ["--once"] => demo::run(Options::new().once(true)),
        ["-h" | "--help"] => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        // Hidden: how the demo starts each service as a process of its own.
        ["serve", name] => match Service::from_name(name) {
            Some(service) => dogbook::run_service(service),
            None => {
                eprintln!("dogbook: unknown service {name:?}; use kennels, inventory or dogs");
                ExitCode::from(2)
            }
        },
        _ => {
            eprint!("dogbook: unexpected arguments {args:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
