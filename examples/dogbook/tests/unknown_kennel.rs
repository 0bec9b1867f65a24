//! An unknown kennel is a 404 whose server span is not an error: an expected
//! 4xx is not the server's fault.

#[allow(dead_code)]
mod support;

use nais_otel_console::{ReceivedSpanKind, ReceivedStatusCode};
use support::DogBook;

#[test]
fn unknown_kennel_is_a_404_whose_span_is_not_an_error() {
    let dogbook = DogBook::start();
    for id in ["7", "abc"] {
        let answer = support::get(&format!("{}/api/v1/kennels?id={id}", dogbook.kennels.url()));
        assert_eq!(answer.status, 404, "id={id}: {}", answer.body);

        // The server span and kennels.get-kennel-name; no call to inventory or dogs.
        let trace = dogbook.wait_for_trace(&answer.trace_id(), 1);
        let root = trace.root().expect("a root span");
        assert_eq!(root.kind, ReceivedSpanKind::Server);
        assert_eq!(root.attr_i64("http.response.status_code"), Some(404));
        assert_eq!(
            root.status.code,
            ReceivedStatusCode::Unset,
            "id={id}: {root:#?}"
        );
        assert_eq!(trace.services(), ["kennels"]);
        assert!(trace.spans.iter().all(|s| !s.is_error()), "{trace:#?}");
    }
}
