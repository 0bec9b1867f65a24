//! Masking costs no allocation when a value holds no identity number: counted
//! with an instrumented global allocator, in a test binary of its own.

use std::alloc::System;

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn no_allocation_without_a_number() {
    let clean = [
        "/api/v1/kennels",
        "id=2&page=10&ts=1732186400123",
        "SELECT * FROM dogs WHERE id = 12345678901234",
        "550e8400-e29b-41d4-a716-446655440000",
        "99999999999",
    ];
    let region = Region::new(GLOBAL);
    let mut masked = 0;
    for value in clean {
        masked += usize::from(nais_otel::privacy::mask(value, "[fnr]").is_some());
    }
    let stats = region.change();
    assert_eq!(masked, 0);
    assert_eq!(stats.allocations, 0, "{stats:?}");

    // And it does allocate when there is something to replace.
    let region = Region::new(GLOBAL);
    let result = nais_otel::privacy::mask("/person/01019012345", "[fnr]");
    let stats = region.change();
    assert_eq!(result.as_deref(), Some("/person/[fnr]"));
    assert!(stats.allocations >= 1, "{stats:?}");
}
