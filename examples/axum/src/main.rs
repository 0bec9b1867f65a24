//! Run with
//!
//! ```not_rust
//! cargo run -p example-axum
//! ```
fn main() {}
