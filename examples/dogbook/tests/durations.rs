//! The 100 ms of work in inventory and dogs shows in the span durations.

#[allow(dead_code)]
mod support;

use std::time::Duration;

use support::DogBook;

#[test]
fn business_steps_take_at_least_100_ms() {
    let dogbook = DogBook::start();
    let answer = support::get(&format!("{}/api/v1/kennels?id=1", dogbook.kennels.url()));
    assert_eq!(answer.status, 200, "{}", answer.body);

    // Root + kennel name + inventory (3) + business + 2 x 4.
    let trace = dogbook.wait_for_trace(&answer.trace_id(), 14);
    let work = Duration::from_millis(100);

    let inventory = trace
        .span_named("inventory.get-inventory-by-kennel-id")
        .expect("inventory's work span");
    assert!(inventory.duration() >= work, "{:?}", inventory.duration());
    let inventory_server = trace.parent_of(inventory).expect("its server span");
    assert!(inventory_server.duration() >= inventory.duration());

    let dogs: Vec<_> = trace
        .spans
        .iter()
        .filter(|s| s.name == "dogs.get-dog-name")
        .collect();
    assert_eq!(dogs.len(), 2);
    for dog in dogs {
        assert!(dog.duration() >= work, "{:?}", dog.duration());
    }

    // The dogs are asked for after the inventory answered: at least 200 ms in all.
    let root = trace.root().expect("a root span");
    assert!(root.duration() >= 2 * work, "{:?}", root.duration());
    assert!(trace.duration() >= 2 * work);
}
