//! Binary placeholder.
fn main() {}
