//! Run with
//!
//! ```not_rust
//! cargo run -p dogbook --bin dogs
//! ```
//!
//! The dogs service on its own (see `dogbook::dogs`); `cargo run -p dogbook` starts all three.
use std::process::ExitCode;

fn main() -> ExitCode {
    dogbook::run_service(dogbook::Service::Dogs)
}
