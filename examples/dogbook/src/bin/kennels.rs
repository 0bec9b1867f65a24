//! Run with
//!
//! ```not_rust
//! cargo run -p dogbook --bin kennels
//! ```
//!
//! The kennels service on its own (see `dogbook::kennels`); `cargo run -p dogbook` starts all three.
use std::process::ExitCode;

fn main() -> ExitCode {
    dogbook::run_service(dogbook::Service::Kennels)
}
