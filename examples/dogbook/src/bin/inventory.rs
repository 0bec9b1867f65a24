//! Run with
//!
//! ```not_rust
//! cargo run -p dogbook --bin inventory
//! ```
//!
//! The inventory service on its own (see `dogbook::inventory`); `cargo run -p dogbook` starts all three.
use std::process::ExitCode;

fn main() -> ExitCode {
    dogbook::run_service(dogbook::Service::Inventory)
}
