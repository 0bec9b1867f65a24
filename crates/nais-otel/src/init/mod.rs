//! `init()`: the builder that reads the environment and code, the provider it
//! assembles, the guard that flushes on drop and the error it may return.
//!
//! - `builder.rs`: [`Builder`], its overrides, and [`Builder::init`], which installs it all.
//! - `provider.rs`: the tracer provider, resource, sampler and propagator from a [`Config`].
//! - `guard.rs`: [`Guard`], which owns the provider and shuts it down.
//! - `error.rs`: [`InitError`].
//!
//! The subscriber `init` installs is in [`crate::logs`].

mod builder;
mod error;
mod guard;
mod provider;

pub use self::{
    builder::{builder, Builder},
    error::{InitError, InitErrorKind},
    guard::Guard,
};
#[cfg(doc)]
use crate::config::Config;

/// The instrumentation scope of spans made by `nais-otel` itself.
pub(crate) const SCOPE: &str = "nais-otel";

/// Sets up tracing from the environment: the OTLP tracer provider, the
/// propagator and a `tracing` subscriber with JSON logs on NAIS.
///
/// Call it first in `main` and keep the guard alive: dropping it flushes the
/// spans still queued and shuts export down, within a bounded time.
///
/// It also replaces the panic hook: a panic is reported as an `ERROR` log line
/// (target `panic`), its message masked and its URLs redacted, rather than
/// written to standard error as it is.
///
/// ```no_run
/// fn main() -> Result<(), nais_otel::InitError> {
///     let _otel = nais_otel::init()?;
///     tracing::info!("started");
///     Ok(())
/// }
/// ```
///
/// See [`Builder`] to override what the environment says, and the
/// [crate docs](crate#environment-variables) for the variables.
///
/// # Errors
///
/// Only for what the user must fix: a malformed collector endpoint while
/// export is on, an operating system that refuses a thread, or a second `init()`
/// in a process (the globals are installed once: keep the first [`Guard`]). Bad values
/// elsewhere are warnings, and their defaults are used. A collector that is
/// down is not an error: `init` never waits on the network.
pub fn init() -> Result<Guard, InitError> {
    Builder::new().init()
}
