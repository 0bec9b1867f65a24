//! The demo request: sent through the front door, its answer printed and its
//! trace waited for, drawn and checked.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use nais_otel_console::Trace;
use tokio::runtime::Runtime;

use super::collector::Destination;
use super::print::Printed;
use crate::config::Service;

/// The request the demo sends, as in the blog post.
pub const DEMO_REQUEST: &str = "/api/v1/kennels?id=2";

const TRACE_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends [`DEMO_REQUEST`] through the front door, prints the answer
/// and draws its trace. `Ok` when the answer is a success and, with the
/// embedded collector, its trace is what [`check_trace`] wants.
pub(super) fn send(
    runtime: &Runtime,
    front_url: &str,
    destination: &Destination,
    printed: &mut Printed,
    log_dir: &Path,
) -> Result<(), String> {
    let url = format!("{front_url}{DEMO_REQUEST}");
    println!("$ curl '{url}'");
    let answer = runtime.block_on(http_get(&url));
    let verdict = match &answer {
        Ok(answer) => {
            println!("HTTP {}", answer.status);
            println!("{}", answer.body.trim_end());
            if answer.status.is_success() {
                Ok(())
            } else {
                Err(format!("the demo request answered {}", answer.status))
            }
        }
        Err(error) => Err(error.clone()),
    };
    let trace_id = answer.as_ref().ok().and_then(|a| a.trace_id.clone());
    println!();

    match &destination.embedded {
        Some(embedded) if verdict.is_ok() => {
            match wait_for_demo_trace(&embedded.traces, trace_id.as_deref(), TRACE_TIMEOUT) {
                Some(trace) => {
                    printed.print(&trace);
                    check_trace(&trace)
                }
                None => Err(format!(
                    "no trace arrived at the collector within {TRACE_TIMEOUT:?}; see the logs in {}",
                    log_dir.display()
                )),
            }
        }
        Some(_) => verdict,
        None => {
            if let Some(id) = &trace_id {
                println!(
                    "The spans went to {}: look up trace {id} in Tempo.",
                    destination.endpoint
                );
            }
            verdict
        }
    }
}

/// Whether `trace` is what the demo request should make: whole (one root,
/// every parent present) and with spans from kennels, inventory and dogs.
///
/// # Errors
///
/// Says what is missing.
pub fn check_trace(trace: &Trace) -> Result<(), String> {
    let roots = trace.roots().len();
    let orphans = trace.orphans().len();
    if roots != 1 || orphans != 0 {
        return Err(format!(
            "the trace is not whole: {roots} root span(s), {orphans} span(s) whose parent is missing"
        ));
    }
    let services = trace.services();
    let missing: Vec<&str> = Service::ALL
        .iter()
        .map(|s| s.name())
        .filter(|name| !services.iter().any(|s| s == name))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the trace has no spans from {}",
            missing.join(", ")
        ));
    }
    Ok(())
}

/// Waits for the trace `trace_id` (or, without one, the first trace) to be
/// whole and to span all three services; returns its latest version, whole
/// or not, when `timeout` passes.
fn wait_for_demo_trace(
    traces: &mpsc::Receiver<Trace>,
    trace_id: Option<&str>,
    timeout: Duration,
) -> Option<Trace> {
    let deadline = Instant::now() + timeout;
    let mut latest: Option<Trace> = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return latest;
        }
        match traces.recv_timeout(remaining) {
            Ok(trace) => {
                let wanted = match (trace_id, &latest) {
                    (Some(id), _) => trace.trace_id == id,
                    (None, None) => true,
                    (None, Some(first)) => first.trace_id == trace.trace_id,
                };
                if wanted {
                    let done = check_trace(&trace).is_ok();
                    latest = Some(trace);
                    if done {
                        return latest;
                    }
                }
            }
            Err(_) => return latest,
        }
    }
}

struct Answer {
    status: http::StatusCode,
    body: String,
    trace_id: Option<String>,
}

async fn http_get(url: &str) -> Result<Answer, String> {
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let request = http::Request::get(url)
        .body(Empty::new())
        .map_err(|e| format!("bad URL {url}: {e}"))?;
    let call = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let status = response.status();
        // `traceparent: 00-<trace id>-<span id>-<flags>`, set by kennels' server layer.
        let trace_id = response
            .headers()
            .get("traceparent")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split('-').nth(1))
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("GET {url}: reading the body: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            trace_id,
        })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, call)
        .await
        .map_err(|_| format!("GET {url}: no answer within {REQUEST_TIMEOUT:?}"))?
}
