//! The front door: the reverse proxy of [`crate::proxy`] on [`DOGBOOK_PORT`],
//! bound before anything starts and served once the services are ready.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};

use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::children::STOP_TIMEOUT;
use super::settings::DOGBOOK_PORT;
use crate::proxy::{self, Upstreams};

/// The front door's port, bound and not yet served.
pub(super) struct Bound {
    listener: StdTcpListener,
    addr: SocketAddr,
}

/// The front door while it serves.
pub(super) struct FrontDoor {
    /// `http://127.0.0.1:<port>`.
    pub(super) url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

/// Binds `127.0.0.1:<port>`, so that a taken port fails before anything starts.
///
/// # Errors
///
/// When the port cannot be bound; the message names [`DOGBOOK_PORT`].
pub(super) fn bind(port: u16) -> Result<Bound, String> {
    let listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, port)).map_err(|e| {
        format!("cannot listen on 127.0.0.1:{port} ({e}); set {DOGBOOK_PORT} to another port")
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the front door's address: {e}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cannot set up the front door: {e}"))?;
    Ok(Bound { listener, addr })
}

impl Bound {
    /// Serves the proxy to `upstreams` on `runtime` until [`FrontDoor::stop`].
    pub(super) fn serve(self, runtime: &Runtime, upstreams: Upstreams) -> FrontDoor {
        let (stop, stopped) = oneshot::channel::<()>();
        let listener = self.listener;
        let task = runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            nais_otel::serve(listener, proxy::router(upstreams))
                .with_shutdown_signal(async {
                    let _ = stopped.await;
                })
                .await
        });
        FrontDoor {
            url: format!("http://{}", self.addr),
            stop,
            task,
        }
    }
}

impl FrontDoor {
    /// Stops taking requests and waits, a bounded time, for those in flight.
    pub(super) fn stop(self, runtime: &Runtime) {
        let _ = self.stop.send(());
        let _ = runtime.block_on(async { tokio::time::timeout(STOP_TIMEOUT, self.task).await });
    }
}
