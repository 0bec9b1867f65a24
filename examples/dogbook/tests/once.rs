//! `dogbook --once` starts everything, draws the demo trace across the three
//! services, and exits 0.

#[allow(dead_code)]
mod support;

use std::io::Read;
use std::process::{Command, Stdio};

use support::Process;

#[test]
fn dogbook_once_exits_zero_with_a_waterfall_of_three_services() {
    let log_dir = std::env::temp_dir().join(format!("dogbook-once-{}", std::process::id()));
    let port = support::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_dogbook"))
        .arg("--once")
        .env("DOGBOOK_PORT", port.to_string())
        .env("DOGBOOK_COLLECTOR_ADDR", "127.0.0.1:0")
        .env("DOGBOOK_LOG_DIR", &log_dir)
        .env("NO_COLOR", "1")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dogbook starts");
    let mut dogbook = Process {
        name: "dogbook",
        port,
        child,
    };
    let mut stdout = dogbook.child.stdout.take().expect("stdout");
    let mut stderr = dogbook.child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let status = dogbook.wait_exit(2 * support::DEADLINE);
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let status =
        status.unwrap_or_else(|| panic!("dogbook --once did not exit:\n{stdout}\n{stderr}"));
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");

    assert!(
        stdout.contains("\"name\":\"some other kennel\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("· 18 spans · 3 services (dogs, inventory, kennels) ·"),
        "{stdout}"
    );
    for line in [
        "GET /api/v1/kennels",
        "kennels.get-inventory",
        "inventory.get-inventory-by-kennel-id",
        "kennels.get-dog-name",
        "dogs.get-dog-name",
    ] {
        assert!(stdout.contains(line), "no {line} in\n{stdout}");
    }
    let _ = std::fs::remove_dir_all(&log_dir);
}
