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
    outage: Option<(Instant, u64)>,
}

impl Health {
    /// An attempt failed; `in_flight` spans are in the export, which is retried when
    /// `retrying` (they count as failed until it ends, but are not lost yet). A failure
    /// that is not retried (the collector refused the request: a bad token, a malformed
    /// request) is said as one: its spans are dropped.
    fn failed(
        &mut self,
        error: &str,
        retrying: bool,
        in_flight: usize,
        settings: &OtlpSettings,
        stats: &Stats,
        diagnostics: &Diagnostics,
    ) {
        if self.outage.is_some() {
            return;
        }
        let lost_before = stats
            .snapshot()
            .lost_for_good()
            .saturating_sub(in_flight as u64);
        self.outage = Some((Instant::now(), lost_before));
        let endpoint = &redacted_endpoint(&settings.endpoint);
        let queue = settings.queue_size;
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
                    queue_size = queue,
                    "cannot export spans; retrying. Spans wait in the queue and are dropped when it is full. Said once until export works again"
                )
            },
            || format!("cannot export spans to {endpoint}: {error}; retrying (said once until export works again)"),
        );
    }

    fn succeeded(&mut self, settings: &OtlpSettings, stats: &Stats, diagnostics: &Diagnostics) {
        let Some((since, lost_before)) = self.outage.take() else {
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
