//! The demo's own environment variables, read once at start.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use crate::config::parse_port;

/// The front door's port. Defaults to [`DEFAULT_PORT`]; `0` picks a free one.
pub const DOGBOOK_PORT: &str = "DOGBOOK_PORT";
/// The embedded collector's OTLP/gRPC address. Defaults to
/// [`DEFAULT_COLLECTOR_ADDR`] (a free port if it is taken); `127.0.0.1:0` picks
/// a free port.
pub const DOGBOOK_COLLECTOR_ADDR: &str = "DOGBOOK_COLLECTOR_ADDR";
/// Where the services' logs go. Defaults to `dogbook-logs/` next to this executable.
pub const DOGBOOK_LOG_DIR: &str = "DOGBOOK_LOG_DIR";

/// The default of [`DOGBOOK_PORT`].
pub const DEFAULT_PORT: u16 = 8080;
/// The default of [`DOGBOOK_COLLECTOR_ADDR`].
pub const DEFAULT_COLLECTOR_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 4317);

/// What the environment asks of the demo.
pub(super) struct Settings {
    /// The front door's port.
    pub(super) port: u16,
    /// Where the embedded collector listens.
    pub(super) collector_addr: SocketAddr,
    /// Whether [`DOGBOOK_COLLECTOR_ADDR`] chose `collector_addr`; if not, a taken
    /// default falls back to a free port.
    pub(super) collector_addr_explicit: bool,
    /// The OTLP endpoint of the shell's environment, which replaces the embedded collector.
    pub(super) external_endpoint: Option<String>,
    /// Where the services' logs go.
    pub(super) log_dir: PathBuf,
}

impl Settings {
    /// Reads the `DOGBOOK_*` variables and the OTLP endpoint.
    ///
    /// # Errors
    ///
    /// Names the variable and the value that cannot be used.
    pub(super) fn from_env() -> Result<Settings, String> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let port = match get(DOGBOOK_PORT) {
            Some(value) => parse_port(DOGBOOK_PORT, &value).map_err(|e| e.to_string())?,
            None => DEFAULT_PORT,
        };
        let (collector_addr, collector_addr_explicit) = match get(DOGBOOK_COLLECTOR_ADDR) {
            Some(value) => (
                value.trim().parse().map_err(|_| {
                    format!(
                        "{DOGBOOK_COLLECTOR_ADDR}={value:?}: not an address such as 127.0.0.1:4317"
                    )
                })?,
                true,
            ),
            None => (DEFAULT_COLLECTOR_ADDR, false),
        };
        let external_endpoint = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| get("OTEL_EXPORTER_OTLP_ENDPOINT"));
        let log_dir = match get(DOGBOOK_LOG_DIR) {
            Some(dir) => PathBuf::from(dir),
            None => std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|dir| dir.join("dogbook-logs")))
                .unwrap_or_else(|| std::env::temp_dir().join("dogbook-logs")),
        };
        Ok(Settings {
            port,
            collector_addr,
            collector_addr_explicit,
            external_endpoint,
            log_dir,
        })
    }
}
