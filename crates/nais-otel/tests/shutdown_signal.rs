//! `shutdown_signal()` waits for a signal, completes on SIGTERM and on SIGINT,
//! and listens from the call on: a signal sent before its first poll is not
//! missed (nor does it end the process). One test in its binary, since it
//! signals its own process.

use std::time::Duration;

use rustix::process::{getpid, kill_process, Signal};

#[tokio::test]
async fn sigterm_and_sigint_complete_it() {
    let mut waiting = std::pin::pin!(nais_otel::shutdown_signal());
    assert!(
        tokio::time::timeout(Duration::from_millis(100), &mut waiting)
            .await
            .is_err(),
        "completed without a signal"
    );
    for signal in [Signal::TERM, Signal::INT] {
        let shutdown = nais_otel::shutdown_signal();
        kill_process(getpid(), signal).expect("signal this process");
        tokio::time::timeout(Duration::from_secs(30), shutdown)
            .await
            .unwrap_or_else(|_| panic!("{signal:?} did not complete shutdown_signal()"));
    }
    // Every listener hears the signal.
    tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("the first listener heard it too");
}
