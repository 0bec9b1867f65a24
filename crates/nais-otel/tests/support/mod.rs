//! Shared helpers for the core crate's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::{collections::HashMap, net::TcpListener, time::Duration};

use nais_otel::{config::BatchSettings, Builder};
use opentelemetry::{KeyValue, Value};

/// The value of attribute `key` among `attributes`.
pub fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// A lookup over a fixed set of variables.
pub fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

/// A builder that installs nothing global, exports to `endpoint` and reads
/// only `vars`, with short delays so tests run fast: 1 s a request, 2 s an
/// export, 2 s for the shutdown. For a collector that is down or silent.
pub fn builder(endpoint: &str, vars: &[(&str, &str)]) -> Builder {
    timed(endpoint, vars, [1, 2, 2].map(Duration::from_secs))
}

/// [`builder`] for a collector that is up: the same short batch delay, and room for
/// a slow first connection (a TLS handshake on a loaded machine) before the export
/// or the shutdown gives up. A test that asserts delivery uses this one.
pub fn live(endpoint: &str, vars: &[(&str, &str)]) -> Builder {
    timed(endpoint, vars, [10, 20, 30].map(Duration::from_secs))
}

/// A builder with a 100 ms batch delay and `[request, export, shutdown]` timeouts.
fn timed(
    endpoint: &str,
    vars: &[(&str, &str)],
    [request, export, shutdown]: [Duration; 3],
) -> Builder {
    nais_otel::builder()
        .with_env_lookup(env(vars))
        .with_globals(false)
        .with_endpoint(endpoint)
        .with_batch_settings(
            BatchSettings::new()
                .with_schedule_delay(Duration::from_millis(100))
                .with_export_timeout(export),
        )
        .with_timeout(request)
        .with_shutdown_timeout(shutdown)
}

/// An address where nothing listens: connections are refused.
pub fn refused_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// An address that accepts TCP connections and then never answers: the worst
/// kind of collector outage, where only timeouts help. Keep the listener alive.
pub fn silent_endpoint() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, format!("http://127.0.0.1:{port}"))
}

/// A log writer that keeps what is written, for `Builder::with_log_writer`.
#[derive(Clone, Default)]
pub struct Lines(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    /// Everything written, as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}
