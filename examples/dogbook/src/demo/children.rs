//! The service processes: this executable started once per service, each
//! logging to a file, waited on until ready, and stopped with SIGTERM.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::settings::DOGBOOK_LOG_DIR;
use crate::config::Service;

/// How long a service gets to finish its requests and flush its spans after
/// SIGTERM before it is killed; the front door gets as long.
pub(super) const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The service processes; dropping this stops them.
pub(super) struct Children {
    exe: PathBuf,
    log_dir: PathBuf,
    running: Vec<Running>,
}

struct Running {
    service: Service,
    port: u16,
    process: Child,
    log: PathBuf,
}

impl Children {
    /// None running yet; they will be this executable, logging into `log_dir`,
    /// which this creates.
    ///
    /// # Errors
    ///
    /// When this executable cannot be found or `log_dir` cannot be created.
    pub(super) fn new(log_dir: &Path) -> Result<Children, String> {
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find this executable to start the services: {e}"))?;
        std::fs::create_dir_all(log_dir).map_err(|e| {
            format!(
                "cannot create the log directory {} (set {DOGBOOK_LOG_DIR}): {e}",
                log_dir.display()
            )
        })?;
        Ok(Children {
            exe,
            log_dir: log_dir.to_owned(),
            running: Vec::new(),
        })
    }

    /// Starts `service` (this executable with `serve <service>`) with `env`
    /// added to its environment, which sets its `PORT`.
    pub(super) fn spawn(&mut self, service: Service, env: &[(&str, String)]) -> Result<(), String> {
        let log = self.log_dir.join(format!("{}.log", service.name()));
        let stdout = File::create(&log)
            .map_err(|e| format!("cannot create the log file {}: {e}", log.display()))?;
        let stderr = stdout
            .try_clone()
            .map_err(|e| format!("cannot open the log file {}: {e}", log.display()))?;
        let mut command = Command::new(&self.exe);
        command
            .arg("serve")
            .arg(service.name())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Each process is its own service: no shared name, no inherited address.
            .env_remove("OTEL_SERVICE_NAME")
            .env_remove("NAIS_APP_NAME")
            .env_remove("BIND_ADDRESS");
        for (name, value) in env {
            command.env(name, value);
        }
        let port = env
            .iter()
            .find(|(name, _)| *name == "PORT")
            .and_then(|(_, port)| port.parse().ok())
            .unwrap_or_else(|| service.default_port());
        let process = command
            .spawn()
            .map_err(|e| format!("cannot start {service} ({}): {e}", self.exe.display()))?;
        self.running.push(Running {
            service,
            port,
            process,
            log,
        });
        Ok(())
    }

    /// Polls each service's `/isReady` until it answers 200, failing early when
    /// a service exits.
    pub(super) async fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let client: Client<HttpConnector, Empty<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let deadline = tokio::time::Instant::now() + timeout;
        for child in &mut self.running {
            let url = format!("http://127.0.0.1:{}/isReady", child.port);
            loop {
                if let Ok(Some(status)) = child.process.try_wait() {
                    return Err(format!(
                        "{} exited ({status}) before it was ready:\n{}",
                        child.service,
                        log_tail(&child.log)
                    ));
                }
                let request = http::Request::get(&url)
                    .body(Empty::new())
                    .map_err(|e| format!("bad URL {url}: {e}"))?;
                let ready = tokio::time::timeout(Duration::from_secs(2), client.request(request))
                    .await
                    .is_ok_and(|answer| answer.is_ok_and(|r| r.status().is_success()));
                if ready {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(format!(
                        "{} did not answer {url} within {timeout:?}:\n{}",
                        child.service,
                        log_tail(&child.log)
                    ));
                }
                // The poll interval of a readiness probe.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// SIGTERM to each service, then waits for them (a bounded time each)
    /// so they can flush their spans; kills what is left.
    pub(super) fn stop(&mut self) {
        for child in &mut self.running {
            if matches!(child.process.try_wait(), Ok(None)) {
                terminate(&mut child.process);
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        for mut child in self.running.drain(..) {
            loop {
                match child.process.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        eprintln!(
                            "dogbook: {} did not stop within {STOP_TIMEOUT:?}; killing it",
                            child.service
                        );
                        let _ = child.process.kill();
                        let _ = child.process.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `preferred` if it can be bound on loopback now, else a free port.
pub(super) fn pick_port(preferred: u16) -> u16 {
    if TcpListener::bind((Ipv4Addr::LOCALHOST, preferred)).is_ok() {
        return preferred;
    }
    match crate::ports::free_loopback_port() {
        0 => preferred,
        port => port,
    }
}

#[cfg(unix)]
fn terminate(process: &mut Child) {
    let pid = i32::try_from(process.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    match pid {
        Some(pid) => {
            if rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_err() {
                let _ = process.kill();
            }
        }
        None => {
            let _ = process.kill();
        }
    }
}

#[cfg(not(unix))]
fn terminate(process: &mut Child) {
    let _ = process.kill();
}

/// The last lines of a service's log, for an error message.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    format!("(last lines of {})\n{tail}", path.display())
}
