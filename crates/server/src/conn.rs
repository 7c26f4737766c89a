//! Accepting and serving connections, with what `axum::serve` lacks: a time limit on a request's
//! headers, one on the idle wait between keep-alive requests, and a limit on open connections.
//! Without them idle connections, partial headers and headers sent a byte at a time were held
//! for as long as the client liked (the 30 s request limit starts once the headers are in).
//!
//! Each connection keeps its own clock of what it is doing: reading a request's headers (from
//! when it opened, or from the first byte after an idle wait), serving requests (from the
//! headers' end to the response's last byte: the request limit and the handlers govern that), or
//! idle. hyper's own `header_read_timeout` was measured to count the idle wait as header time too
//! (`tests::hypers_header_timeout_also_counts_the_idle_wait`), which would close every idle
//! connection at the header limit whatever the keep-alive limit said; so it is off here.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// The limits on connections (from [`crate::http::Limits`]).
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub max_connections: usize,
}

impl From<&crate::http::Limits> for ConnLimits {
    fn from(l: &crate::http::Limits) -> ConnLimits {
        ConnLimits {
            header_read_timeout: l.header_read_timeout,
            keep_alive_timeout: l.keep_alive_timeout,
            max_connections: l.max_connections,
        }
    }
}

/// How often, at most, the server says that it is at its connection limit.
const FULL_SAID_EVERY: Duration = Duration::from_secs(60);

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests under way finish
/// (idle connections are closed at once). At most `max_connections` are open: the next one waits
/// in the listen queue, not accepted, until one closes. Every request carries its peer's
/// [`ConnectInfo`], as `into_make_service_with_connect_info` gave it.
pub async fn serve(
    listener: TcpListener, app: Router, limits: ConnLimits, shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // `stop` tells connections to finish; each holds an `open` receiver until it ends.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (open_tx, open_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    let mut full_said: Option<Instant> = None;
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if full_said.is_none_or(|at| at.elapsed() >= FULL_SAID_EVERY) {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "open connections at the limit ({}): new connections wait to be accepted until one \
                         closes (--max-connections)",
                        limits.max_connections
                    );
                    full_said = Some(Instant::now());
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tokio::spawn(connection(stream, peer, app.clone(), limits, stop_rx.clone(), open_rx.clone(), slot));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(open_rx);
    open_tx.closed().await;
    Ok(())
}

/// A connection the client gave up on is no matter; anything else (out of file descriptors,
/// say) is said, and accepting pauses a second rather than spinning.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn connection(
    stream: TcpStream, peer: SocketAddr, app: Router, limits: ConnLimits, mut stop: watch::Receiver<bool>,
    _open: watch::Receiver<()>, _slot: OwnedSemaphorePermit,
) {
    let clock = Arc::new(Clock::new());
    let io = TokioIo::new(Watched { inner: stream, clock: clock.clone() });
    let service = PerConnection { app, peer, clock: clock.clone() };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.header_read_timeout(None);
    let mut conn = pin!(builder.serve_connection(io, service));
    let mut expired = pin!(clock.expired(limits));
    let mut closing = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, "a connection ended with an error");
                }
                break;
            }
            why = &mut expired => {
                // Dropping the connection closes its socket.
                tracing::debug!(why, "a connection was closed");
                break;
            }
            _ = stop.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// What a connection is doing, and since when.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Reading a request's headers: since the connection opened, or since the first byte after
    /// an idle wait.
    Head(Instant),
    /// Serving this many requests (hyper serves one at a time on HTTP/1).
    Busy(usize),
    /// Between requests, since the last response's last byte.
    Idle(Instant),
}

struct Clock {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Clock {
    fn new() -> Clock {
        Clock { phase: Mutex::new(Phase::Head(Instant::now())), changed: Notify::new() }
    }

    fn change(&self, to: impl FnOnce(Phase) -> Option<Phase>) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(next) = to(*phase) {
            *phase = next;
            drop(phase);
            self.changed.notify_one();
        }
    }

    fn bytes_arrived(&self) {
        self.change(|p| matches!(p, Phase::Idle(_)).then(|| Phase::Head(Instant::now())));
    }

    fn request_started(self: &Arc<Self>) -> Serving {
        self.change(|p| {
            Some(match p {
                Phase::Busy(n) => Phase::Busy(n + 1),
                _ => Phase::Busy(1),
            })
        });
        Serving(self.clone())
    }

    fn request_ended(&self) {
        self.change(|p| {
            Some(match p {
                Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
                _ => Phase::Idle(Instant::now()),
            })
        });
    }

    fn deadline(&self, limits: ConnLimits) -> Option<(Instant, &'static str)> {
        match *self.phase.lock().unwrap_or_else(|e| e.into_inner()) {
            Phase::Head(since) => Some((since + limits.header_read_timeout, "the request's headers took too long")),
            Phase::Idle(since) => Some((since + limits.keep_alive_timeout, "idle too long")),
            Phase::Busy(_) => None,
        }
    }

    /// Completes when the connection has overstayed its phase, saying which.
    async fn expired(&self, limits: ConnLimits) -> &'static str {
        loop {
            // Made before the phase is read, so that a change in between is not missed
            // (`notify_one` keeps a permit for it).
            let changed = self.changed.notified();
            match self.deadline(limits) {
                Some((at, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {
                            if let Some((at, why)) = self.deadline(limits)
                                && at <= Instant::now()
                            {
                                return why;
                            }
                        }
                        () = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }
}

/// A request being served; dropped with the response's body (after its last byte is written,
/// or when the connection ends).
struct Serving(Arc<Clock>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// The socket, telling the clock when bytes arrive.
struct Watched {
    inner: TcpStream,
    clock: Arc<Clock>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.clock.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The router as one connection's service: each request gets the peer's address and marks the
/// connection busy until its response is written.
#[derive(Clone)]
struct PerConnection {
    app: Router,
    peer: SocketAddr,
    clock: Arc<Clock>,
}

impl hyper::service::Service<Request<Incoming>> for PerConnection {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        let serving = self.clock.request_started();
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let app = self.app.clone();
        Box::pin(async move {
            let response = match app.oneshot(request.map(Body::new)).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            Ok(response.map(|body| Tracked { body, _serving: serving }))
        })
    }
}

/// A response body that holds its request's [`Serving`] until hyper drops it.
struct Tracked {
    body: Body,
    _serving: Serving,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>, cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Why hyper's own header timeout is not used: measured, it counts the idle wait between
    /// keep-alive requests as header time (its timer starts when hyper starts waiting for the
    /// next request, not at the next request's first byte), so an idle connection is closed at
    /// the header limit. If this ever fails, hyper changed, and `ConnLimits` could lean on it.
    #[tokio::test]
    async fn hypers_header_timeout_also_counts_the_idle_wait() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(Duration::from_millis(400));
            let service = hyper::service::service_fn(|_request: Request<Incoming>| async {
                Ok::<_, Infallible>(Response::new(Body::from("ok")))
            });
            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = client.read(&mut buf).await.unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(head.starts_with("HTTP/1.1 200") && head.ends_with("ok"), "{head}");
        // Keep-alive, and then nothing at all: not one byte of another request.
        let idle_from = Instant::now();
        let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
            .await
            .expect("closed within 5 s")
            .unwrap();
        assert_eq!(n, 0, "closed without another answer");
        let idle = idle_from.elapsed();
        eprintln!("hyper's header_read_timeout of 400 ms closed an idle kept-alive connection after {idle:?}");
        assert!(
            idle >= Duration::from_millis(350) && idle < Duration::from_millis(1500),
            "hyper closed the idle connection after {idle:?}"
        );
    }
}
