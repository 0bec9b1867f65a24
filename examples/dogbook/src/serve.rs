//! Running one service: init, its router ([`app`]), listen, drain on SIGTERM or Ctrl-C
//! (`nais_otel::serve`), flush.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use tokio::net::TcpListener;

use crate::config::{Config, Service};
use crate::{dogs, inventory, kennels};

/// The router of `service`, with its health routes and the server layer.
///
/// Build it after `nais_otel::init()`: the layers take the global tracer when
/// they are made.
pub fn app(service: Service, config: &Config) -> Router {
    match service {
        Service::Kennels => kennels::router(&config.inventory_url, &config.dogs_url),
        Service::Inventory => inventory::router(),
        Service::Dogs => dogs::router(),
    }
}

/// Runs `service` until SIGTERM or Ctrl-C: reads its [`Config`] from the
/// environment, calls `nais_otel::init()`, serves [`app`], drains in-flight
/// requests, then drops the guard, which flushes the spans still queued.
///
/// A bad variable or a port that cannot be bound ends the process with a
/// message naming it, and exit status 2 or 1.
pub fn run_service(service: Service) -> ExitCode {
    let config = match Config::from_env(service) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{service}: {error}");
            return ExitCode::from(2);
        }
    };

    let mut builder = nais_otel::builder();
    // Code wins over the environment in `nais_otel::Builder`, so name the
    // service only when the environment does not: on NAIS it does.
    if builder.config().service_name.starts_with("unknown_service") {
        builder = builder.with_service_name(service.name());
    }
    let guard = match builder.init() {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("{service}: {error}");
            return ExitCode::from(2);
        }
    };

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{service}: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        // After `init()`: the layers take the global tracer when they are made.
        let router = app(service, &config);
        serve(service.name(), router, config.bind_address).await
    });
    drop(runtime);
    // Flushes the last spans, bounded by the export timeout.
    drop(guard);

    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{service}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Serves `router` on `addr` with [`nais_otel::serve`]: until SIGTERM or
/// Ctrl-C, then it waits for the requests in flight, at most the drain timeout
/// (`NAIS_OTEL_DRAIN_TIMEOUT`, 10 s).
///
/// # Errors
///
/// When `addr` cannot be bound, or the server fails.
pub async fn serve(name: &str, router: Router, addr: SocketAddr) -> Result<(), ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError { addr, source })?;
    nais_otel::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .map_err(|source| ServeError { addr, source })?;
    tracing::info!(service = name, "stopped");
    Ok(())
}

/// A service could not listen or serve.
#[derive(Debug)]
pub struct ServeError {
    addr: SocketAddr,
    source: io::Error,
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.source.kind() == io::ErrorKind::AddrInUse {
            write!(
                f,
                "cannot listen on {}: the address is already in use (set PORT or BIND_ADDRESS)",
                self.addr
            )
        } else {
            write!(f, "cannot serve on {}: {}", self.addr, self.source)
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
