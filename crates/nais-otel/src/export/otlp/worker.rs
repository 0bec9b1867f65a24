//! The export thread's loop: one export at a time, retried with backoff until its
//! deadline, and one warning an outage.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use opentelemetry_sdk::error::OTelSdkError;
use tokio::sync::mpsc;

use super::transport::{Connection, Transport};
use super::{Job, OtlpSettings};
use crate::config::redacted_endpoint;
use crate::export::{Diagnostics, Stats};

/// The export loop: one export at a time (the batch processor waits for each),
/// each retried with backoff until its deadline.
pub(super) async fn run(
    mut jobs: mpsc::UnboundedReceiver<Job>,
    settings: OtlpSettings,
    endpoint: Connection,
    stats: Arc<Stats>,
    diagnostics: Diagnostics,
) {
    let mut transport = match Transport::new(&settings, endpoint) {
        Ok(transport) => transport,
        Err(error) => {
            diagnostics.emit(
                || tracing::error!(target: "nais_otel", endpoint = %redacted_endpoint(&settings.endpoint), %error, "cannot export spans"),
                || format!("cannot export spans to {}: {error}", redacted_endpoint(&settings.endpoint)),
            );
            while let Some(job) = jobs.recv().await {
                let _ = job
                    .reply
                    .send(Err(OTelSdkError::InternalFailure(error.clone())));
            }
            return;
        }
    };
    let mut health = Health::default();
    while let Some(job) = jobs.recv().await {
        // Encoded once; every attempt sends the same bytes.
        let payload = job.body;
        let now = Instant::now();
        let deadline = now
            .checked_add(settings.export_deadline)
            .unwrap_or_else(|| now + Duration::from_secs(86_400));
        let mut backoff = Duration::from_millis(100);
        let outcome = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Err(format!(
                    "gave up after {:?} of retries",
                    settings.export_deadline
                ));
            }
            match tokio::time::timeout(left, transport.send(&payload, settings.timeout.min(left)))
                .await
            {
                Ok(Ok(rejected)) => break Ok(rejected),
                Ok(Err(failure)) => {
                    health.failed(
                        &failure.message,
                        failure.retry,
                        job.count,
                        &settings,
                        &stats,
                        &diagnostics,
                    );
                    if !failure.retry {
                        break Err(failure.message);
                    }
                }
                Err(_) => {
                    let message = format!("no answer within {left:?}");
                    health.failed(&message, true, job.count, &settings, &stats, &diagnostics);
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            tokio::time::sleep(backoff.min(left)).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        };
        let reply = match outcome {
            Ok(rejected) => {
                let rejected = rejected.min(job.count as u64);
                stats.exported(job.count as u64 - rejected);
                stats.rejected(rejected);
                health.succeeded(&settings, &stats, &diagnostics);
                Ok(())
            }
            Err(message) => Err(OTelSdkError::InternalFailure(message)),
        };
        let _ = job.reply.send(reply);
    }
}

/// Turns a stream of export results into one warning an outage and one notice
/// on recovery, instead of a log line a failed batch.
#[derive(Default)]
struct Health {
    outage: Option<Outage>,
}

/// An outage under way: when it began, the spans lost before it, and which of its
/// two warnings (retrying, refused) it has given.
struct Outage {
    since: Instant,
    lost_before: u64,
    said_retrying: bool,
    said_refused: bool,
}

impl Health {
    /// An attempt failed; `in_flight` spans are in the export, which is retried when
    /// `retrying` (they count as failed until it ends, but are not lost yet). A failure
    /// that is not retried (the collector refused the request: a bad token, a malformed
    /// request) is said as one: its spans are dropped. Each of the two is said once an
    /// outage, so a collector that refuses and then goes away gives both.
    fn failed(
        &mut self,
        error: &str,
        retrying: bool,
        in_flight: usize,
        settings: &OtlpSettings,
        stats: &Stats,
        diagnostics: &Diagnostics,
    ) {
        let outage = self.outage.get_or_insert_with(|| Outage {
            since: Instant::now(),
            lost_before: stats
                .snapshot()
                .lost_for_good()
                .saturating_sub(in_flight as u64),
            said_retrying: false,
            said_refused: false,
        });
        let said = if retrying {
            &mut outage.said_retrying
        } else {
            &mut outage.said_refused
        };
        if std::mem::replace(said, true) {
            return;
        }
        let endpoint = &redacted_endpoint(&settings.endpoint);
        if !retrying {
            diagnostics.emit(
                || {
                    tracing::warn!(
                        target: "nais_otel",
                        endpoint = %endpoint,
                        %error,
                        spans = in_flight,
                        "the collector refused spans; they are dropped, not retried. Said once until export works again"
                    )
                },
                || format!("the collector at {endpoint} refused {in_flight} spans: {error}; they are dropped, not retried (said once until export works again)"),
            );
            return;
        }
        diagnostics.emit(
            || {
                tracing::warn!(
                    target: "nais_otel",
                    endpoint = %endpoint,
                    %error,
                    queue_size = settings.queue_size,
                    "cannot export spans; retrying. Spans wait in the queue and are dropped when it is full. Said once until export works again"
                )
            },
            || format!("cannot export spans to {endpoint}: {error}; retrying (said once until export works again)"),
        );
    }

    fn succeeded(&mut self, settings: &OtlpSettings, stats: &Stats, diagnostics: &Diagnostics) {
        let Some(Outage {
            since, lost_before, ..
        }) = self.outage.take()
        else {
            return;
        };
        let lost = stats.snapshot().lost_for_good().saturating_sub(lost_before);
        let endpoint = &redacted_endpoint(&settings.endpoint);
        let outage_ms = since.elapsed().as_millis() as u64;
        diagnostics.emit(
            || {
                tracing::info!(
                    target: "nais_otel",
                    endpoint = %endpoint,
                    outage_ms,
                    spans_lost = lost,
                    "span export works again"
                )
            },
            || {
                format!(
                    "span export to {endpoint} works again after {outage_ms} ms; {lost} spans lost"
                )
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Compression, Protocol};
    use crate::testing::Written;

    /// An outage says each of its two warnings once, in the order they first happen,
    /// and the recovery ends it: the next outage says them again.
    #[test]
    fn an_outage_says_retrying_and_refused_once_each() {
        let said = Written::default();
        let diagnostics = Diagnostics::default();
        diagnostics.set(tracing::Dispatch::new(said.text_subscriber()));
        let settings = OtlpSettings {
            protocol: Protocol::Grpc,
            endpoint: "http://collector:4317".to_owned(),
            headers: Vec::new(),
            timeout: Duration::from_secs(1),
            export_deadline: Duration::from_secs(1),
            compression: Compression::None,
            tls: None,
            queue_size: 2048,
        };
        let stats = Stats::default();
        let mut health = Health::default();
        // Each step, and the one line it says, if any.
        let mut said_after = |step: &str| {
            match step {
                "refused" => health.failed("boom", false, 3, &settings, &stats, &diagnostics),
                "retrying" => health.failed("boom", true, 3, &settings, &stats, &diagnostics),
                _ => health.succeeded(&settings, &stats, &diagnostics),
            }
            let lines = said.take_lines();
            assert!(lines.len() <= 1, "{step}: {lines:?}");
            lines.into_iter().next()
        };
        let steps = [
            ("refused", Some("the collector refused spans")),
            ("refused", None),
            ("retrying", Some("cannot export spans; retrying")),
            ("retrying", None),
            ("refused", None),
            ("works", Some("span export works again")),
            ("works", None),
            ("retrying", Some("cannot export spans; retrying")),
            ("refused", Some("the collector refused spans")),
        ];
        for (n, (step, expected)) in steps.into_iter().enumerate() {
            let line = said_after(step);
            match expected {
                Some(text) => assert!(
                    line.as_deref().is_some_and(|line| line.contains(text)),
                    "step {n} ({step}): {line:?}"
                ),
                None => assert_eq!(line, None, "step {n} ({step})"),
            }
        }
    }
}
