//! One request to kennels makes one trace across kennels, inventory and dogs,
//! linked through the `traceparent` each client span injects.

#[allow(dead_code)]
mod support;

use dogbook::kennels::{Dog, Kennel};
use nais_otel_console::{ReceivedSpan, ReceivedSpanKind, Trace};
use support::DogBook;

/// Root + kennel name + inventory (3) + business + 3 x (dog name, client, server, business).
const SPANS: usize = 18;

fn only_child<'a>(trace: &'a Trace, parent: &ReceivedSpan) -> &'a ReceivedSpan {
    let children = trace.children(&parent.span_id);
    assert_eq!(
        children.len(),
        1,
        "{} should have one child, has {:?}",
        parent.name,
        children.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    children[0]
}

#[test]
fn one_request_makes_one_trace_across_three_services() {
    let dogbook = DogBook::start();

    let answer = support::get(&format!("{}/api/v1/kennels?id=2", dogbook.kennels.url()));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let kennel: Kennel = serde_json::from_str(&answer.body).expect("a kennel as JSON");
    let dog = |id: u32, name: &str| Dog {
        id,
        name: name.to_owned(),
    };
    assert_eq!(
        kennel,
        Kennel {
            name: "some other kennel".to_owned(),
            dogs: vec![dog(3, "Möhre"), dog(4, "Jack"), dog(5, "Charlie")],
        }
    );

    let trace = dogbook.wait_for_trace(&answer.trace_id(), SPANS);
    assert_eq!(trace.len(), SPANS, "{trace:#?}");
    assert_eq!(trace.services(), ["dogs", "inventory", "kennels"]);
    assert!(dogbook_check(&trace), "{trace:#?}");

    // kennels' server span is the root.
    let root = trace.root().expect("a root span");
    assert_eq!(root.service_name(), Some("kennels"));
    assert_eq!(root.kind, ReceivedSpanKind::Server);
    assert_eq!(root.name, "GET /api/v1/kennels");
    assert_eq!(root.attr_str("http.route"), Some("/api/v1/kennels"));
    assert_eq!(root.attr_i64("http.response.status_code"), Some(200));

    // kennels.get-inventory -> client GET -> inventory's server span -> its business span.
    let get_inventory = trace
        .span_named("kennels.get-inventory")
        .expect("kennels.get-inventory");
    assert_eq!(
        get_inventory.parent_span_id.as_deref(),
        Some(&*root.span_id)
    );
    let client = only_child(&trace, get_inventory);
    assert_eq!(
        (client.kind, client.service_name()),
        (ReceivedSpanKind::Client, Some("kennels"))
    );
    let server = only_child(&trace, client);
    assert_eq!(
        (server.kind, server.service_name()),
        (ReceivedSpanKind::Server, Some("inventory"))
    );
    assert_eq!(server.attr_str("http.route"), Some("/api/v1/inventory"));
    let work = only_child(&trace, server);
    assert_eq!(work.name, "inventory.get-inventory-by-kennel-id");
    assert_eq!(work.service_name(), Some("inventory"));

    // Three kennels.get-dog-name, children of the root, each -> client -> dogs server -> work.
    let dog_names: Vec<&ReceivedSpan> = trace
        .children(&root.span_id)
        .into_iter()
        .filter(|s| s.name == "kennels.get-dog-name")
        .collect();
    assert_eq!(dog_names.len(), 3, "{trace:#?}");
    let mut dog_ids: Vec<i64> = dog_names
        .iter()
        .filter_map(|s| s.attr_i64("dog.id"))
        .collect();
    dog_ids.sort_unstable();
    assert_eq!(dog_ids, [3, 4, 5], "{:?}", dog_names[0].attributes);
    for dog_name in &dog_names {
        let client = only_child(&trace, dog_name);
        assert_eq!(
            (client.kind, client.service_name()),
            (ReceivedSpanKind::Client, Some("kennels"))
        );
        let server = only_child(&trace, client);
        assert_eq!(
            (server.kind, server.service_name()),
            (ReceivedSpanKind::Server, Some("dogs"))
        );
        assert_eq!(server.attr_str("http.route"), Some("/api/v1/dogs"));
        let work = only_child(&trace, server);
        assert_eq!(work.name, "dogs.get-dog-name");
    }

    // The dog lookups ran concurrently: each started before any ended.
    let last_start = dog_names.iter().map(|s| s.start_time_unix_nano).max();
    let first_end = dog_names.iter().map(|s| s.end_time_unix_nano).min();
    assert!(
        last_start < first_end,
        "the dog lookups did not overlap: {dog_names:#?}"
    );

    assert!(trace.spans.iter().all(|s| !s.is_error()), "{trace:#?}");
}

fn dogbook_check(trace: &Trace) -> bool {
    dogbook::demo::check_trace(trace).is_ok()
}
