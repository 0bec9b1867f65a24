//! An `https` collector outside the cluster (a hosted Tempo, say): trusted
//! through `OTEL_EXPORTER_OTLP_CERTIFICATE`, spans arrive over TLS; without the
//! certificate the same collector is not trusted and nothing is exported.

mod support;

use std::time::Duration;

use nais_otel_console::Collector;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};

fn tls_collector() -> (Collector, std::path::PathBuf) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("certificate");
    let cert_pem = certified.cert.pem();
    let key_pem = certified.signing_key.serialize_pem();
    let collector = Collector::builder()
        .tls(cert_pem.clone(), key_pem)
        .start()
        .expect("collector");
    let path = std::env::temp_dir().join(format!(
        "nais-otel-test-ca-{}-{}.pem",
        std::process::id(),
        collector.local_addr().port()
    ));
    std::fs::write(&path, cert_pem).expect("write the CA file");
    (collector, path)
}

#[test]
fn https_collector_trusted_through_the_certificate_variable() {
    let (collector, ca) = tls_collector();
    assert!(collector.endpoint().starts_with("https://"));
    let ca_path = ca.display().to_string();
    let guard = support::live(
        &collector.endpoint(),
        &[("OTEL_EXPORTER_OTLP_CERTIFICATE", ca_path.as_str())],
    )
    .init()
    .expect("init");
    assert!(
        guard.config().problems.is_empty(),
        "{:?}",
        guard.config().problems
    );
    let tracer = guard.provider().expect("provider").tracer("tls");
    tracer.in_span("over-tls", |_| {});
    let counts = guard.shutdown();
    assert_eq!(counts.exported, 1, "{counts:?}");
    let spans = collector
        .wait_for_spans(1, Duration::from_secs(10))
        .expect("the span arrives over TLS");
    assert_eq!(spans[0].name, "over-tls");
    let _ = std::fs::remove_file(ca);
}

#[test]
fn untrusted_certificate_is_refused() {
    let (collector, ca) = tls_collector();
    let guard = support::builder(&collector.endpoint(), &[])
        .init()
        .expect("init");
    let tracer = guard.provider().expect("provider").tracer("tls");
    tracer.in_span("must-not-arrive", |_| {});
    let counts = guard.shutdown();
    assert_eq!(counts.exported, 0, "{counts:?}");
    assert_eq!(counts.lost(), 1, "{counts:?}");
    assert!(collector.spans().is_empty());
    let _ = std::fs::remove_file(ca);
}
