//! The `otel-console` binary: prints waterfalls, exits cleanly, explains a taken port.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::*;

fn spawn(args: &[&str]) -> (Child, mpsc::Receiver<String>, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_otel-console"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("OTEL_CONSOLE_ADDR")
        .env_remove("OTEL_CONSOLE_HTTP_ADDR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = lines(child_stdout(&mut child));
    let stderr = lines(child_stderr(&mut child));
    (child, stdout, stderr)
}

fn child_stdout(child: &mut Child) -> Box<dyn std::io::Read + Send> {
    Box::new(child.stdout.take().unwrap())
}

fn child_stderr(child: &mut Child) -> Box<dyn std::io::Read + Send> {
    Box::new(child.stderr.take().unwrap())
}

fn lines(read: Box<dyn std::io::Read + Send>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(read).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next line containing `needle`, with a deadline.
fn line_with(rx: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(e) => panic!("no line containing {needle:?}: {e}"),
        }
    }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "otel-console did not exit");
        // Polling a child process has no blocking-with-deadline API in std.
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn prints_each_trace_and_exits_cleanly_on_ctrl_c() {
    let (mut child, stdout, stderr) = spawn(&["--addr", "127.0.0.1:0", "--quiet-ms", "100"]);
    let line = line_with(&stderr, "receiving OTLP/gRPC on ");
    let endpoint = line.rsplit(' ').next().unwrap().to_owned();

    let base = base_time();
    send(
        &endpoint,
        request(
            "kennels",
            vec![
                span(1, 1, 0, "GET /api/v1/kennels", base, 0, 200),
                span(1, 2, 1, "kennels.get-inventory", base, 10, 110),
            ],
        ),
        false,
    );
    let header = line_with(&stdout, &hex(&trace_id(1)));
    assert!(header.contains("2 spans"), "{header}");
    line_with(&stdout, "kennels.get-inventory");

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_exit(&mut child);
    assert!(exit.success(), "{exit:?}");
    line_with(&stderr, "stopped after 2 spans");
}

#[test]
fn a_taken_port_is_explained_not_a_panic() {
    let taken = nais_otel_console::Collector::start().unwrap();
    let addr = taken.local_addr().to_string();
    let (mut child, _stdout, stderr) = spawn(&["--addr", &addr]);
    let line = line_with(&stderr, "already in use");
    assert!(line.contains(&addr), "{line}");
    let exit = wait_exit(&mut child);
    assert_eq!(exit.code(), Some(1));
}

#[test]
fn bad_arguments_exit_with_usage() {
    let (mut child, _stdout, stderr) = spawn(&["--addr", "nope"]);
    line_with(&stderr, "not an address");
    assert_eq!(wait_exit(&mut child).code(), Some(2));
}
