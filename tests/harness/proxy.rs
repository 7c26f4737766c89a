//! A fault-injecting TCP proxy for the tests: it stands between the phones and the real server on
//! 127.0.0.1 and does to their connections what a mobile network does. Each connection is given
//! a fate when it opens, drawn from a seeded generator:
//!
//! - **cut mid-request**: part of the first request reaches the server, then both sides are
//!   closed (the phone never learns whether anything arrived; the server never saw a whole
//!   request);
//! - **cut mid-response**: the request reaches the server whole and is stored, then part of the
//!   answer reaches the phone and both sides are closed (the dangerous one: stored, but the
//!   receipts are lost, so the phone sends the same records again);
//! - **5xx burst**: this connection and the next few are answered `503`/`502` by the proxy
//!   itself, as an overloaded gateway does;
//! - **pass**: relayed, but slowly (latency on every chunk each way, a bandwidth limit), and
//!   closed once idle after a random lifetime, as carrier NATs drop idle connections; a phone that
//!   keeps the connection busy past that lifetime finds it gone when it starts its next request
//!   (nothing of that request reaches the server), as it would after the NAT forgot it.
//!
//! Plain TCP, no HTTP parsing: a cut falls inside the first chunk read in its direction, so it is
//! always inside a request or an answer, never between two.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// What the proxy does to connections.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Added before every chunk is passed on, each way.
    pub latency: Duration,
    /// Bytes per second each way on one connection.
    pub bytes_per_second: u64,
    /// Share of connections cut, half mid-request and half mid-response.
    pub cut_share: f64,
    /// Share of connections that start a burst of 5xx answers.
    pub burst_share: f64,
    /// Connections answered 5xx in one burst.
    pub burst_length: u32,
    /// A passing connection is closed when idle after a lifetime drawn up to this.
    pub max_lifetime: Duration,
    pub seed: u64,
}

/// What the proxy did, counted as it happened.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub connections: AtomicU64,
    pub cut_mid_request: AtomicU64,
    pub cut_mid_response: AtomicU64,
    pub answered_5xx: AtomicU64,
    /// Passing connections closed when idle at the end of their lifetime.
    pub closed_idle: AtomicU64,
    pub bytes_to_server: AtomicU64,
    pub bytes_to_phones: AtomicU64,
}

impl FaultCounts {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    pub fn summary(&self) -> String {
        let g = Self::get;
        format!(
            "{} connections: {} cut mid-request, {} cut mid-response, {} answered 5xx, {} closed when idle; \
             {} bytes to the server, {} to the phones",
            g(&self.connections),
            g(&self.cut_mid_request),
            g(&self.cut_mid_response),
            g(&self.answered_5xx),
            g(&self.closed_idle),
            g(&self.bytes_to_server),
            g(&self.bytes_to_phones),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Pass { lifetime: Duration },
    CutRequest,
    CutResponse,
    Answer5xx,
}

/// The proxy, listening on 127.0.0.1 until dropped.
pub struct FaultProxy {
    pub url: String,
    pub counts: Arc<FaultCounts>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (a `host:port` on 127.0.0.1). Needs a running tokio runtime.
    pub async fn start(upstream: SocketAddr, faults: Faults) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let counts = Arc::new(FaultCounts::default());
        let rng = Arc::new(Mutex::new(StdRng::seed_from_u64(faults.seed)));
        let burst_left = Arc::new(AtomicU64::new(0));
        let task = {
            let counts = Arc::clone(&counts);
            tokio::spawn(async move {
                loop {
                    let Ok((phone, _)) = listener.accept().await else {
                        continue;
                    };
                    counts.connections.fetch_add(1, Ordering::Relaxed);
                    let fate = {
                        let mut rng = rng.lock().unwrap_or_else(|e| e.into_inner());
                        choose(&mut rng, &faults, &burst_left)
                    };
                    let seed = rng.lock().unwrap_or_else(|e| e.into_inner()).random();
                    let (faults, counts) = (faults.clone(), Arc::clone(&counts));
                    tokio::spawn(async move {
                        // A connection that fails is what this proxy is for: nothing to report.
                        let _ = relay(phone, upstream, fate, &faults, &counts, seed).await;
                    });
                }
            })
        };
        FaultProxy { url, counts, task }
    }
}

fn choose(rng: &mut StdRng, faults: &Faults, burst_left: &AtomicU64) -> Fate {
    if burst_left.load(Ordering::Relaxed) > 0 {
        burst_left.fetch_sub(1, Ordering::Relaxed);
        return Fate::Answer5xx;
    }
    let roll: f64 = rng.random();
    if roll < faults.burst_share {
        burst_left.store(u64::from(faults.burst_length.saturating_sub(1)), Ordering::Relaxed);
        Fate::Answer5xx
    } else if roll < faults.burst_share + faults.cut_share / 2.0 {
        Fate::CutRequest
    } else if roll < faults.burst_share + faults.cut_share {
        Fate::CutResponse
    } else {
        let max = faults.max_lifetime.as_millis().max(1) as u64;
        Fate::Pass { lifetime: Duration::from_millis(rng.random_range(max / 10..=max)) }
    }
}

/// Passes `bytes` on after the latency and at the bandwidth limit.
async fn pass_on(to: &mut TcpStream, bytes: &[u8], faults: &Faults) -> std::io::Result<()> {
    tokio::time::sleep(faults.latency).await;
    for chunk in bytes.chunks(4096) {
        to.write_all(chunk).await?;
        let secs = chunk.len() as f64 / faults.bytes_per_second.max(1) as f64;
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    }
    Ok(())
}

async fn relay(
    mut phone: TcpStream, upstream: SocketAddr, fate: Fate, faults: &Faults, counts: &FaultCounts, seed: u64,
) -> std::io::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut up = vec![0u8; 16 * 1024];
    let mut down = vec![0u8; 16 * 1024];
    if fate == Fate::Answer5xx {
        // Read what the phone sends (until it pauses), as a gateway would, then refuse it: so
        // the phone reads the answer rather than a reset.
        while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(50), phone.read(&mut up)).await {
            if n == 0 {
                break;
            }
        }
        let (status, reason) = if rng.random_bool(0.5) { (503, "Service Unavailable") } else { (502, "Bad Gateway") };
        let body = format!("{status} {reason} (fault proxy)");
        let answer = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        counts.answered_5xx.fetch_add(1, Ordering::Relaxed);
        phone.write_all(answer.as_bytes()).await?;
        return phone.shutdown().await;
    }
    let mut server = TcpStream::connect(upstream).await?;
    let lifetime_end = match fate {
        Fate::Pass { lifetime } => Some(Instant::now() + lifetime),
        _ => None,
    };
    let (mut first_up, mut first_down) = (true, true);
    // After an answer went down, the connection counts as idle when nothing moves for this long.
    const IDLE: Duration = Duration::from_millis(30);
    let mut last_down: Option<Instant> = None;
    let (mut phone_open, mut server_open) = (true, true);
    loop {
        let idle_close_at = match (lifetime_end, last_down) {
            (Some(end), Some(last)) => Some((last + IDLE).max(end)),
            _ => None,
        };
        tokio::select! {
            r = phone.read(&mut up), if phone_open => {
                let n = r?;
                if n == 0 {
                    phone_open = false;
                    server.shutdown().await?;
                    continue;
                }
                // Past its lifetime, with an answer already down: this is a new request on a
                // connection the network has forgotten. Nothing of it is passed on.
                if last_down.is_some() && lifetime_end.is_some_and(|end| Instant::now() >= end) {
                    counts.closed_idle.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                last_down = None;
                if first_up && fate == Fate::CutRequest {
                    let keep = rng.random_range(0..n);
                    pass_on(&mut server, &up[..keep], faults).await?;
                    counts.bytes_to_server.fetch_add(keep as u64, Ordering::Relaxed);
                    counts.cut_mid_request.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                first_up = false;
                pass_on(&mut server, &up[..n], faults).await?;
                counts.bytes_to_server.fetch_add(n as u64, Ordering::Relaxed);
            }
            r = server.read(&mut down), if server_open => {
                let n = r?;
                if n == 0 {
                    server_open = false;
                    phone.shutdown().await?;
                    if !phone_open {
                        return Ok(());
                    }
                    continue;
                }
                if first_down && fate == Fate::CutResponse {
                    let keep = rng.random_range(0..n);
                    pass_on(&mut phone, &down[..keep], faults).await?;
                    counts.bytes_to_phones.fetch_add(keep as u64, Ordering::Relaxed);
                    counts.cut_mid_response.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                first_down = false;
                pass_on(&mut phone, &down[..n], faults).await?;
                counts.bytes_to_phones.fetch_add(n as u64, Ordering::Relaxed);
                last_down = Some(Instant::now());
            }
            _ = async {
                match idle_close_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                counts.closed_idle.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
        }
        if !phone_open && !server_open {
            return Ok(());
        }
    }
}
