//! OTLP/HTTP protobuf on the optional second port, spoken by hand over a TcpStream.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use nais_otel_console::Collector;
use prost::Message;

use crate::support::*;

fn post(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: &[u8],
) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(encoding) = encoding {
        head.push_str(&format!("content-encoding: {encoding}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

fn http_collector() -> Collector {
    Collector::builder()
        .http_addr("127.0.0.1:0".parse().unwrap())
        .start()
        .unwrap()
}

#[test]
fn protobuf_over_http_is_received() {
    let collector = http_collector();
    let addr = collector.http_addr().unwrap();
    assert_eq!(collector.http_endpoint(), Some(format!("http://{addr}")));
    let body = request(
        "inventory",
        vec![span(1, 1, 0, "GET /inventory", base_time(), 0, 100)],
    )
    .encode_to_vec();
    let response = post(addr, "/v1/traces", "application/x-protobuf", None, &body);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let spans = collector.wait_for_spans(1, TIMEOUT).unwrap();
    assert_eq!(spans[0].service_name(), Some("inventory"));
    assert_eq!(collector.raw_requests(), vec![body]);
}

#[test]
fn gzip_over_http_is_received() {
    let collector = http_collector();
    let body = request(
        "dogs",
        vec![span(2, 1, 0, "GET /dogs", base_time(), 0, 100)],
    )
    .encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&body).unwrap();
    let gz = gz.finish().unwrap();
    let response = post(
        collector.http_addr().unwrap(),
        "/v1/traces",
        "application/x-protobuf",
        Some("gzip"),
        &gz,
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(
        collector.wait_for_spans(1, TIMEOUT).unwrap()[0].name,
        "GET /dogs"
    );
    assert_eq!(collector.raw_requests(), vec![body]);
}

#[test]
fn bad_requests_are_rejected_without_harm() {
    let collector = http_collector();
    let addr = collector.http_addr().unwrap();
    let json = post(addr, "/v1/traces", "application/json", None, b"{}");
    assert!(json.starts_with("HTTP/1.1 415"), "{json}");
    let garbage = post(
        addr,
        "/v1/traces",
        "application/x-protobuf",
        None,
        &[0xff, 0xff, 0xff],
    );
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
    let bad_gzip = post(
        addr,
        "/v1/traces",
        "application/x-protobuf",
        Some("gzip"),
        b"not gzip",
    );
    assert!(bad_gzip.starts_with("HTTP/1.1 400"), "{bad_gzip}");
    assert_eq!(collector.request_count(), 0);
}
