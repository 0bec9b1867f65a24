//! The errors of starting a [`Collector`](crate::Collector) and of waiting on one.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::span::ReceivedSpan;

/// The error returned when a [`Collector`](crate::Collector) cannot start.
#[derive(Debug)]
pub struct StartError {
    kind: StartErrorKind,
    addr: Option<SocketAddr>,
    source: io::Error,
}

/// What went wrong when starting a [`Collector`](crate::Collector).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartErrorKind {
    /// An address could not be bound (often: the port is taken).
    Bind,
    /// The runtime or server thread could not be created.
    Runtime,
}

/// The error returned when a wait on a [`Collector`](crate::Collector) does not succeed.
///
/// Its message lists what did arrive, so a failing test says why.
#[derive(Debug)]
pub struct WaitError {
    kind: WaitErrorKind,
    message: String,
    spans: Vec<ReceivedSpan>,
}

/// Why a wait on a [`Collector`](crate::Collector) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitErrorKind {
    /// The deadline passed first.
    TimedOut,
    /// The collector was shut down first.
    Shutdown,
}

// === impl StartError ===

impl StartError {
    pub(crate) fn new(
        kind: StartErrorKind,
        addr: Option<SocketAddr>,
        source: io::Error,
    ) -> StartError {
        StartError { kind, addr, source }
    }

    /// What went wrong.
    pub fn kind(&self) -> StartErrorKind {
        self.kind
    }

    /// The address that could not be bound, for [`StartErrorKind::Bind`].
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Whether the address was already in use.
    pub fn is_addr_in_use(&self) -> bool {
        self.source.kind() == io::ErrorKind::AddrInUse
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, self.addr) {
            (StartErrorKind::Bind, Some(addr)) if self.is_addr_in_use() => {
                write!(f, "cannot listen on {addr}: the address is already in use")
            }
            (StartErrorKind::Bind, Some(addr)) => write!(f, "cannot listen on {addr}"),
            _ => f.write_str("cannot start the collector's server thread"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

// === impl WaitError ===

impl WaitError {
    /// A failed wait of `timeout` for `what`, listing the `spans` received in
    /// `request_count` requests.
    pub(crate) fn new(
        kind: WaitErrorKind,
        timeout: Duration,
        what: &str,
        spans: &[ReceivedSpan],
        request_count: usize,
    ) -> WaitError {
        let cause = match kind {
            WaitErrorKind::TimedOut => format!("timed out after {timeout:?}"),
            WaitErrorKind::Shutdown => "the collector shut down".to_owned(),
        };
        let mut message = format!(
            "{cause} waiting for {what}; received {} spans in {request_count} requests",
            spans.len(),
        );
        for span in spans.iter().take(20) {
            message.push_str(&format!(
                "\n  {} [{}] trace={} span={} parent={}",
                span.name,
                span.service_name().unwrap_or("?"),
                span.trace_id,
                span.span_id,
                span.parent_span_id.as_deref().unwrap_or("-"),
            ));
        }
        if spans.len() > 20 {
            message.push_str("\n  ...");
        }
        WaitError {
            kind,
            message,
            spans: spans.to_vec(),
        }
    }

    /// Why the wait failed.
    pub fn kind(&self) -> WaitErrorKind {
        self.kind
    }

    /// The spans received when the wait gave up.
    pub fn spans(&self) -> &[ReceivedSpan] {
        &self.spans
    }
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WaitError {}
