//! `/isAlive`, `/isReady` and `/metrics` answer, and make no spans.

#[allow(dead_code)]
mod support;

use support::DogBook;

#[test]
fn health_and_metrics_routes_make_no_spans() {
    let dogbook = DogBook::start();
    for service in [&dogbook.kennels, &dogbook.inventory, &dogbook.dogs] {
        for path in ["/isAlive", "/isReady", "/metrics"] {
            let answer = support::get(&format!("{}{path}", service.url()));
            assert_eq!(answer.status, 200, "{} {path}", service.name);
            assert!(
                answer.traceparent.is_none(),
                "{} {path} was traced",
                service.name
            );
        }
        let metrics = support::get(&format!("{}/metrics", service.url()));
        assert!(
            metrics
                .body
                .contains(&format!("dogbook_up{{service=\"{}\"}} 1", service.name)),
            "{}",
            metrics.body
        );
    }

    // A real request after them: once its trace is in, the probes' spans would be too
    // (each service exports its spans in the order they end).
    let answer = support::get(&format!("{}/api/v1/kennels?id=0", dogbook.kennels.url()));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let trace_id = answer.trace_id();
    dogbook.wait_for_trace(&trace_id, 10);

    let spans = dogbook.collector.spans();
    let probes: Vec<_> = spans
        .iter()
        .filter(|s| {
            s.attr_str("url.path")
                .is_some_and(|p| ["/isAlive", "/isReady", "/metrics"].contains(&p))
        })
        .collect();
    assert!(probes.is_empty(), "probe spans: {probes:#?}");
    let others: Vec<_> = spans.iter().filter(|s| s.trace_id != trace_id).collect();
    assert!(others.is_empty(), "spans of other traces: {others:#?}");
}
