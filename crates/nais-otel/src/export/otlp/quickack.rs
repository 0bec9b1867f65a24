//! The gRPC connection acknowledges what the collector sends at once.
//!
//! A collector that writes with Nagle's algorithm on (rotel does, and so does any tonic
//! server at its defaults) holds its short answer to an export back while an earlier
//! short frame of its own, an HTTP/2 `WINDOW_UPDATE`, waits to be acknowledged. Linux
//! delays that acknowledgement by up to 40 ms when this side has nothing to send. The
//! export then takes 40 ms instead of one, and while spans are ended faster than that the
//! queue fills and drops them. Setting `TCP_QUICKACK` after every read acknowledges at
//! once. The OpenTelemetry Collector turns Nagle's algorithm off and is not affected.
//!
//! The kernel leaves quick-acknowledgement mode again on its own, so the option is set
//! after each read, not once. It is Linux's; elsewhere the stream is used as it is.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Connects as tonic's own connector does (TCP, `TCP_NODELAY`), and hands out the stream
/// as [`QuickAck`]. tonic adds TLS and the connect timeout around it.
#[derive(Clone, Debug)]
pub(super) struct Connector {
    http: HttpConnector,
}

impl Connector {
    pub(super) fn new() -> Self {
        let mut http = HttpConnector::new();
        // `https` is tonic's TLS layer's to handle, outside this connector.
        http.enforce_http(false);
        http.set_nodelay(true);
        Self { http }
    }
}

impl tonic::codegen::Service<Uri> for Connector {
    type Response = QuickAck;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = Pin<Box<dyn Future<Output = Result<QuickAck, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.http.call(uri);
        Box::pin(async move { connecting.await.map(QuickAck).map_err(Into::into) })
    }
}

/// A TCP stream that asks the kernel for quick acknowledgements after every read.
#[derive(Debug)]
pub(super) struct QuickAck(TokioIo<TcpStream>);

impl QuickAck {
    #[cfg(target_os = "linux")]
    fn acknowledge(&self) {
        // A failure leaves acknowledgements as the kernel times them: slower, not wrong.
        let _ = socket2::SockRef::from(self.0.inner()).set_tcp_quickack(true);
    }

    #[cfg(not(target_os = "linux"))]
    fn acknowledge(&self) {}
}

impl Read for QuickAck {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let read = Pin::new(&mut this.0).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            this.acknowledge();
        }
        read
    }
}

impl Write for QuickAck {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use tonic::codegen::Service as _;

    /// After a read, the socket is in quick-acknowledgement mode: the kernel acknowledges
    /// what arrived at once instead of up to 40 ms later.
    #[tokio::test]
    async fn a_read_turns_quick_acknowledgements_on() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::io::AsyncWriteExt::write_all(&mut socket, b"answer")
                .await
                .unwrap();
            socket
        });
        let uri: Uri = format!("http://{address}").parse().unwrap();
        let mut stream = Connector::new().call(uri).await.unwrap();
        {
            let socket = socket2::SockRef::from(stream.0.inner());
            assert!(socket.tcp_nodelay().unwrap(), "Nagle's algorithm is off");
            // Leave quick-acknowledgement mode, as the kernel does on its own.
            socket.set_tcp_quickack(false).unwrap();
            assert!(!socket.tcp_quickack().unwrap());
        }

        let mut buf = [0u8; 16];
        let mut tokio_io = TokioIo::new(&mut stream);
        let read = tokio::io::AsyncReadExt::read(&mut tokio_io, &mut buf)
            .await
            .unwrap();
        assert_eq!(&buf[..read], b"answer");
        assert!(
            socket2::SockRef::from(stream.0.inner())
                .tcp_quickack()
                .unwrap(),
            "quick acknowledgements are on again after the read"
        );
        drop(server.await.unwrap());
    }
}
