//! National identity numbers in a path, a query string, a SQL statement, a
//! Kafka key and a span name never reach the collector: a real axum service
//! behind our server layer exports over real gRPC to a real receiver, and the
//! received bytes are searched, not only the parsed attributes.

mod support;

use std::{
    io::{Read as _, Write as _},
    net::TcpStream,
    time::Duration,
};

use axum::{extract::Path, routing::get, Router};
use nais_otel::middleware::ServerLayer;
use nais_otel_console::Collector;
use opentelemetry::{
    trace::{Span as _, Tracer as _, TracerProvider as _},
    KeyValue,
};

const FNR: &str = "01019012345";
const D_NUMBER: &str = "41019012345";

fn get_request(port: u16, path_and_query: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path_and_query} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn identity_numbers_never_leave_the_process() {
    let collector = Collector::start().expect("collector");
    let guard = support::live(&collector.endpoint(), &[])
        .init()
        .expect("init");
    let provider = guard.provider().expect("provider").clone();
    let tracer = provider.tracer("dogbook-db");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handler_tracer = tracer.clone();
    let app = Router::new()
        .route(
            "/person/{id}",
            get(move |Path(id): Path<String>| {
                let tracer = handler_tracer.clone();
                async move {
                    let mut query = tracer.start("SELECT person");
                    query.set_attribute(KeyValue::new(
                        "db.query.text",
                        format!("SELECT * FROM person WHERE fnr = '{id}' OR dnr = '{D_NUMBER}'"),
                    ));
                    query.set_attribute(KeyValue::new("db.statement", format!("select {id}")));
                    query.end();
                    let mut produce = tracer.start(format!("publish person.{id}"));
                    produce.set_attribute(KeyValue::new("messaging.kafka.message.key", id.clone()));
                    produce.end();
                    "found"
                }
            }),
        )
        .fallback(|| async { "fallback" })
        .layer(ServerLayer::new().tracer(provider.tracer("server")));
    runtime.spawn(async move { axum::serve(listener, app).await });

    let found = get_request(port, &format!("/person/{FNR}?other=010190%2012345&x=1"));
    assert!(found.starts_with("HTTP/1.1 200"), "{found}");
    let fallback = get_request(port, &format!("/raw/{FNR}?fnr=010190+12345"));
    assert!(fallback.starts_with("HTTP/1.1 200"), "{fallback}");

    drop(guard);
    runtime.shutdown_timeout(Duration::from_secs(1));
    let spans = collector
        .wait_for_spans(4, Duration::from_secs(10))
        .expect("server, db and kafka spans");

    let server = spans
        .iter()
        .find(|s| s.attr_str("http.route") == Some("/person/{id}"))
        .expect("server span with a route");
    assert_eq!(server.attr_str("url.path"), Some("/person/[fnr]"));
    assert_eq!(server.attr_str("url.query"), Some("other=[fnr]&x=1"));
    let db = spans
        .iter()
        .find(|s| s.name == "SELECT person")
        .expect("db span");
    assert_eq!(
        db.attr_str("db.query.text"),
        Some("SELECT * FROM person WHERE fnr = '[fnr]' OR dnr = '[fnr]'")
    );
    assert_eq!(db.attr_str("db.statement"), Some("select [fnr]"));
    let kafka = spans
        .iter()
        .find(|s| s.attr("messaging.kafka.message.key").is_some())
        .expect("kafka span");
    assert_eq!(kafka.name, "publish person.[fnr]");
    assert_eq!(kafka.attr_str("messaging.kafka.message.key"), Some("[fnr]"));
    let raw = spans
        .iter()
        .find(|s| s.attr_str("url.path") == Some("/raw/[fnr]"))
        .expect("route-less server span");
    assert_eq!(raw.attr_str("url.query"), Some("fnr=[fnr]"));

    // The bytes the receiver got hold no number in any form.
    let bytes: Vec<u8> = collector.raw_requests().concat();
    assert!(!bytes.is_empty());
    for needle in [
        FNR,
        D_NUMBER,
        "010190 12345",
        "010190+12345",
        "010190%2012345",
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} reached the collector"
        );
    }
}

#[test]
fn masking_can_be_turned_off_and_keys_added() {
    let collector = Collector::start().expect("collector");
    let guard = support::live(
        &collector.endpoint(),
        &[
            ("NAIS_OTEL_MASK_KEYS", "person.id"),
            ("NAIS_OTEL_MASK_REPLACEMENT", "***"),
        ],
    )
    .init()
    .expect("init");
    let tracer = guard.provider().expect("provider").tracer("t");
    let mut span = tracer.start("custom key");
    span.set_attribute(KeyValue::new("person.id", FNR));
    span.end();
    drop(guard);
    let spans = collector
        .wait_for_spans(1, Duration::from_secs(10))
        .expect("span");
    assert_eq!(spans[0].attr_str("person.id"), Some("***"));

    let collector = Collector::start().expect("collector");
    let guard = support::live(&collector.endpoint(), &[("NAIS_OTEL_MASK", "false")])
        .init()
        .expect("init");
    let tracer = guard.provider().expect("provider").tracer("t");
    let mut span = tracer.start("masking off");
    span.set_attribute(KeyValue::new("url.path", format!("/person/{FNR}")));
    span.end();
    drop(guard);
    let spans = collector
        .wait_for_spans(1, Duration::from_secs(10))
        .expect("span");
    assert_eq!(spans[0].attr_str("url.path"), Some("/person/01019012345"));
}
