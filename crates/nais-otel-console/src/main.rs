//! `otel-console`: receive OTLP traces and draw each one as a waterfall in the terminal.
//!
//! Run with
//!
//! ```text
//! cargo run -p nais-otel-console -- [--addr 127.0.0.1:4317] [--http-addr 127.0.0.1:4318]
//! ```
//!
//! then point any OTLP app at it: `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317`.
//!
//! | Variable                 | Description                         | Default          |
//! |--------------------------|-------------------------------------|------------------|
//! | `OTEL_CONSOLE_ADDR`      | OTLP/gRPC listen address            | `127.0.0.1:4317` |
//! | `OTEL_CONSOLE_HTTP_ADDR` | OTLP/HTTP listen address (optional) | off              |
//! | `NO_COLOR`               | disable colour when set, non-empty  | unset            |
//!
//! Flags take precedence over the environment.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use nais_otel_console::{Collector, RenderOptions};

/// The OTLP/gRPC listen address.
const ADDR_ENV: &str = "OTEL_CONSOLE_ADDR";
/// The OTLP/HTTP listen address; no HTTP server when unset.
const HTTP_ADDR_ENV: &str = "OTEL_CONSOLE_HTTP_ADDR";
const DEFAULT_ADDR: &str = "127.0.0.1:4317";
/// Spans from several processes trickle in; a human can wait a little longer than a test.
const DEFAULT_QUIET_MS: u64 = 500;

const USAGE: &str = "\
Usage: otel-console [OPTIONS]

Receives OTLP traces and prints each completed trace as a waterfall.

Options:
  --addr <ADDR>        OTLP/gRPC listen address [env: OTEL_CONSOLE_ADDR] [default: 127.0.0.1:4317]
  --http-addr <ADDR>   also serve OTLP/HTTP protobuf here, e.g. 127.0.0.1:4318 [env: OTEL_CONSOLE_HTTP_ADDR]
  --quiet-ms <MS>      a trace is complete after this long without new spans [default: 500]
  --no-color           never use colour (also: NO_COLOR=1)
  -h, --help           print this help";

#[derive(Debug, PartialEq)]
struct Args {
    addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    quiet: Duration,
    no_color: bool,
}

#[derive(Debug, PartialEq)]
enum Parsed {
    Run(Args),
    Help,
}

fn parse_args(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Parsed, String> {
    let addr_of = |what: &str, value: &str| -> Result<SocketAddr, String> {
        value
            .trim()
            .parse()
            .map_err(|_| format!("{what}: `{value}` is not an address like 127.0.0.1:4317"))
    };
    let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());

    let mut addr = None;
    let mut http_addr = None;
    let mut quiet = Duration::from_millis(DEFAULT_QUIET_MS);
    let mut no_color = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--addr" => addr = Some(addr_of("--addr", &value("--addr")?)?),
            "--http-addr" => http_addr = Some(addr_of("--http-addr", &value("--http-addr")?)?),
            "--quiet-ms" => {
                let ms = value("--quiet-ms")?;
                let ms: u64 = ms
                    .parse()
                    .map_err(|_| format!("--quiet-ms: `{ms}` is not a number of milliseconds"))?;
                quiet = Duration::from_millis(ms);
            }
            "--no-color" => no_color = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let addr = match addr {
        Some(addr) => addr,
        None => addr_of(
            ADDR_ENV,
            &non_empty(ADDR_ENV).unwrap_or_else(|| DEFAULT_ADDR.to_owned()),
        )?,
    };
    let http_addr = match http_addr {
        Some(addr) => Some(addr),
        None => non_empty(HTTP_ADDR_ENV)
            .map(|v| addr_of(HTTP_ADDR_ENV, &v))
            .transpose()?,
    };
    Ok(Parsed::Run(Args {
        addr,
        http_addr,
        quiet,
        no_color,
    }))
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1), |name| std::env::var(name).ok()) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("otel-console: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let mut render = RenderOptions::for_stdout();
    if args.no_color {
        render = render.color(false);
    }
    let mut builder = Collector::builder()
        .addr(args.addr)
        .quiet_period(args.quiet)
        .print_waterfalls(true)
        .render_options(render);
    if let Some(http_addr) = args.http_addr {
        builder = builder.http_addr(http_addr);
    }
    let collector = match builder.start() {
        Ok(collector) => collector,
        Err(e) => {
            eprintln!("otel-console: {e}");
            if e.is_addr_in_use() {
                eprintln!(
                    "  Another collector (or otel-console) may be running; stop it, \
                     or pick another port with --addr or {ADDR_ENV}."
                );
            } else if let Some(source) = std::error::Error::source(&e) {
                eprintln!("  cause: {source}");
            }
            return ExitCode::FAILURE;
        }
    };

    eprintln!(
        "otel-console: receiving OTLP/gRPC on {}",
        collector.endpoint()
    );
    if let Some(http) = collector.http_endpoint() {
        eprintln!("otel-console: receiving OTLP/HTTP on {http}/v1/traces");
    }
    eprintln!(
        "otel-console: send traces with OTEL_EXPORTER_OTLP_ENDPOINT={}; Ctrl-C to stop",
        collector.endpoint()
    );

    if let Err(e) = wait_for_signal() {
        eprintln!("otel-console: cannot listen for Ctrl-C: {e}");
    }
    // Draws the traces still waiting for their quiet period, then frees the ports.
    collector.shutdown();
    eprintln!(
        "otel-console: stopped after {} spans in {} requests",
        collector.spans().len(),
        collector.request_count()
    );
    ExitCode::SUCCESS
}

/// Block until Ctrl-C (or SIGTERM on Unix).
fn wait_for_signal() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                result = tokio::signal::ctrl_c() => result,
                _ = term.recv() => Ok(()),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Env<'a> = &'a [(&'a str, &'a str)];

    fn parse(args: &[&str], env: Env<'_>) -> Result<Parsed, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        parse_args(args.iter().map(|a| (*a).to_owned()), move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn run(args: &[&str], env: Env<'_>) -> Args {
        match parse(args, env) {
            Ok(Parsed::Run(args)) => args,
            other => panic!("expected Run, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let args = run(&[], &[]);
        assert_eq!(args.addr, "127.0.0.1:4317".parse().unwrap());
        assert_eq!(args.http_addr, None);
        assert_eq!(args.quiet, Duration::from_millis(500));
        assert!(!args.no_color);
    }

    #[rustfmt::skip]
    #[test]
    fn precedence_is_flag_then_env_then_default() {
        let cases: &[(&[&str], Env<'_>, &str, &str)] = &[
            (&[], &[("OTEL_CONSOLE_ADDR", "127.0.0.1:5000")], "127.0.0.1:5000", "env is used"),
            (&["--addr", "127.0.0.1:6000"], &[("OTEL_CONSOLE_ADDR", "127.0.0.1:5000")], "127.0.0.1:6000", "flag beats env"),
            (&["--addr=0.0.0.0:7000"], &[], "0.0.0.0:7000", "inline value"),
            (&[], &[("OTEL_CONSOLE_ADDR", "  ")], "127.0.0.1:4317", "blank env is unset"),
        ];
        for (args, env, want, reason) in cases {
            assert_eq!(run(args, env).addr, want.parse().unwrap(), "{reason}");
        }
    }

    #[test]
    fn http_quiet_and_color_flags() {
        let args = run(
            &[
                "--http-addr",
                "127.0.0.1:4318",
                "--quiet-ms",
                "50",
                "--no-color",
            ],
            &[],
        );
        assert_eq!(args.http_addr, Some("127.0.0.1:4318".parse().unwrap()));
        assert_eq!(args.quiet, Duration::from_millis(50));
        assert!(args.no_color);
        let from_env = run(&[], &[("OTEL_CONSOLE_HTTP_ADDR", "127.0.0.1:4318")]);
        assert_eq!(from_env.http_addr, Some("127.0.0.1:4318".parse().unwrap()));
    }

    #[rustfmt::skip]
    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let cases: &[(&[&str], Env<'_>, &str)] = &[
            (&["--addr"], &[], "missing value"),
            (&["--addr", "localhost"], &[], "not a socket address"),
            (&["--quiet-ms", "soon"], &[], "not a number"),
            (&["--frobnicate"], &[], "unknown flag"),
            (&[], &[("OTEL_CONSOLE_ADDR", "nope")], "bad env"),
        ];
        for (args, env, reason) in cases {
            assert!(parse(args, env).is_err(), "{reason}");
        }
        assert_eq!(parse(&["--help"], &[]), Ok(Parsed::Help));
    }
}
