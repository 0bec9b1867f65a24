//! `serve` in one process, with the shutdown started in code
//! (`with_shutdown_signal`): a request in flight is answered, an idle
//! keep-alive connection is closed at once, and the drain timeout bounds a
//! handler slower than it and a client that never finishes its request.

use std::time::{Duration, Instant};

use axum::{routing::get, Router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// A server on 127.0.0.1 whose `/wait` handler says it started, then waits
/// for a word on `release` (or forever); `/` answers at once.
struct Server {
    port: u16,
    stop: Option<oneshot::Sender<()>>,
    started: mpsc::UnboundedReceiver<()>,
    release: mpsc::UnboundedSender<()>,
    done: tokio::task::JoinHandle<(std::io::Result<()>, Instant)>,
}

async fn start(drain: Duration) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (started_tx, started) = mpsc::unbounded_channel();
    let (release, release_rx) = mpsc::unbounded_channel::<()>();
    let release_rx = std::sync::Arc::new(tokio::sync::Mutex::new(release_rx));
    let app = Router::new().route("/", get(|| async { "ok" })).route(
        "/wait",
        get(move || {
            let started = started_tx.clone();
            let release = release_rx.clone();
            async move {
                let _ = started.send(());
                release.lock().await.recv().await;
                "waited"
            }
        }),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        // The router traced as docs/nais.md suggests for cheap health checks.
        let app = nais_otel::server_layer().trace_router(app);
        let result = nais_otel::serve(listener, app)
            .with_drain_timeout(drain)
            .with_shutdown_signal(async {
                let _ = stopped.await;
            })
            .await;
        (result, Instant::now())
    });
    Server {
        port,
        stop: Some(stop),
        started,
        release,
        done,
    }
}

impl Server {
    fn shut_down(&mut self) -> Instant {
        self.stop.take().unwrap().send(()).unwrap();
        Instant::now()
    }
}

async fn send(port: u16, request: &str) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Reads until the server closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_request_in_flight_is_answered_before_serve_returns() {
    let mut server = start(Duration::from_secs(30)).await;
    let mut client = send(server.port, "GET /wait HTTP/1.1\r\nHost: a\r\n\r\n").await;
    server.started.recv().await.unwrap();

    let shut_down = server.shut_down();
    // The listener closes: a new connection is refused (or reset unanswered).
    let refused = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match TcpStream::connect(("127.0.0.1", server.port)).await {
                Err(_) => break,
                Ok(mut late) => {
                    let _ = late.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
                    if read_to_close(&mut late).await.is_empty() {
                        break;
                    }
                }
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(refused.is_ok(), "still accepting after the shutdown began");
    assert!(
        !server.done.is_finished(),
        "returned with a request in flight"
    );

    server.release.send(()).unwrap();
    let answer = read_to_close(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("waited"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    let (result, returned) = server.done.await.unwrap();
    result.unwrap();
    assert!(returned - shut_down < Duration::from_secs(10));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_once() {
    let drain = Duration::from_secs(30);
    let mut server = start(drain).await;
    let mut idle = send(server.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let mut head = [0u8; 64];
    let n = idle.read(&mut head).await.unwrap();
    assert!(head[..n].starts_with(b"HTTP/1.1 200"));

    let shut_down = server.shut_down();
    let rest = tokio::time::timeout(Duration::from_secs(10), read_to_close(&mut idle))
        .await
        .expect("the idle connection is closed");
    assert!(!rest.starts_with("HTTP"), "{rest}");
    let (result, returned) = server.done.await.unwrap();
    result.unwrap();
    assert!(returned - shut_down < Duration::from_secs(10));
}

#[tokio::test]
async fn the_drain_timeout_bounds_a_slow_handler_and_a_slow_client() {
    let drain = Duration::from_millis(300);
    let mut server = start(drain).await;
    let _in_flight = send(server.port, "GET /wait HTTP/1.1\r\nHost: a\r\n\r\n").await;
    server.started.recv().await.unwrap();
    // The first bytes of a request head that never ends.
    let _slow = send(server.port, "GET / HTTP/1.1\r\nHo").await;

    let shut_down = server.shut_down();
    let (result, returned) = tokio::time::timeout(Duration::from_secs(10), &mut server.done)
        .await
        .expect("serve returns after the drain timeout")
        .unwrap();
    result.unwrap();
    let took = returned - shut_down;
    assert!(took >= drain, "{took:?}");
    assert!(took < drain + Duration::from_secs(5), "{took:?}");
}
