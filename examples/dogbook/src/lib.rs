//! The DogBook demo from Grafana's "Intro to distributed tracing with Tempo,
//! OpenTelemetry and Grafana Cloud", in Rust on `nais-otel`.
//!
//! Three services, each its own process, each with one `nais_otel::init()`
//! line, `nais_otel::server_layer()` (with a `traceparent` response header, so
//! a caller and the demo can find the trace of its request) and, in kennels,
//! `nais_otel::client_layer()`:
//!
//! - [`kennels`]: `GET /api/v1/kennels?id=N` answers the kennel's name and its
//!   dogs, asking [`inventory`] for the dog ids and [`dogs`] for each dog's
//!   name, concurrently.
//! - [`inventory`]: `GET /api/v1/inventory?kennelId=N` answers the kennel's dog ids.
//! - [`dogs`]: `GET /api/v1/dogs?id=N` answers the dog's name.
//!
//! One request to kennels becomes one trace across the three. `cargo run -p
//! dogbook` starts them behind a small reverse proxy with an embedded
//! collector that draws each trace as a waterfall; see [`demo`].
//!
//! # Environment variables
//!
//! Read by each service ([`Config::from_env`]), besides the `OTEL_*` and
//! `NAIS_*` variables `nais_otel::init()` reads:
//!
//! | Variable | Description | Default |
//! |---|---|---|
//! | `PORT` | port to listen on | kennels `8081`, inventory `8082`, dogs `8083` |
//! | `BIND_ADDRESS` | `ip:port` (as NAIS sets it) or `ip` to listen on | `127.0.0.1:$PORT` |
//! | `INVENTORY_URL` | inventory's base URL, for kennels | `http://127.0.0.1:8082` |
//! | `DOGS_URL` | dogs' base URL, for kennels | `http://127.0.0.1:8083` |
//!
//! The service name is `kennels`, `inventory` or `dogs` unless
//! `OTEL_SERVICE_NAME`, `NAIS_APP_NAME` or `service.name` in
//! `OTEL_RESOURCE_ATTRIBUTES` says otherwise.

pub mod config;
pub mod demo;
pub mod dogs;
mod health;
mod http_client;
pub mod inventory;
pub mod kennels;
mod ports;
pub mod proxy;
mod serve;

pub use self::config::{Config, ConfigError, Service};
pub use self::health::health_routes;
pub use self::http_client::{traced_http_client, TracedHttpClient};
pub use self::ports::free_loopback_port;
pub use self::serve::{app, run_service, serve, ServeError};
