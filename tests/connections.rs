//! Slow and idle connections over raw TCP: the header-read timeout (partial headers, headers a
//! byte at a time), the idle keep-alive timeout (its own value, not the header timeout's), the
//! limit on open connections (the next one waits, the server says so in its log, and is served
//! once one closes), and graceful shutdown with idle connections open.
//!
//! SQLite only: nothing here reaches the database (every request is `/healthz`), so PostgreSQL
//! would test the same code again.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use doorstep_tests::{TestDb, doorstep_bin, wait_until};

/// A `doorstep serve` with the given connection options, its log (stderr) in a file.
struct Served {
    child: Child,
    addr: String,
    log: std::path::PathBuf,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start(extra: &[&str]) -> Served {
        let db = TestDb::sqlite();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let mut child = Command::new(doorstep_bin())
            .args(["serve", "--db", &db.url, "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        let addr =
            line.trim().strip_prefix("doorstep listening on http://").unwrap_or_else(|| panic!("{line}")).to_string();
        Served { child, addr, log, _db: db, _dir: dir }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: doorstep\r\n\r\n";

/// Reads one response (head and a `Content-Length` body) from a kept-alive connection.
fn read_response(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before a whole answer: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
                })
                .expect("a content-length");
            if body.len() >= length {
                return text;
            }
        }
    }
}

/// Waits for the server to close `s` (end of file or a reset), sending nothing; how long it took.
fn closed_after(s: &mut TcpStream) -> Duration {
    let from = Instant::now();
    let mut buf = [0u8; 1024];
    match s.read(&mut buf) {
        Ok(0) => from.elapsed(),
        Ok(n) => panic!("an answer instead: {}", String::from_utf8_lossy(&buf[..n])),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => from.elapsed(),
        Err(e) => panic!("not closed within the read timeout: {e}"),
    }
}

/// Header-read timeout 2 s, keep-alive 4 s: partial headers and headers a byte at a time are
/// closed at about 2 s from the connection's start; an idle kept-alive connection at about 4 s
/// (hyper's own header timeout would have closed it at 2: `conn::tests`), and a request sent
/// after an idle second is served as usual.
#[test]
fn slow_headers_and_idle_connections_are_closed_on_time() {
    let server = Served::start(&["--header-read-timeout", "2", "--keep-alive-timeout", "4"]);

    // A normal request works, and the connection is kept alive for the next.
    let mut kept = server.connect();
    kept.write_all(HEALTHZ).unwrap();
    assert!(read_response(&mut kept).starts_with("HTTP/1.1 200"));
    std::thread::sleep(Duration::from_secs(1));
    kept.write_all(HEALTHZ).unwrap();
    assert!(read_response(&mut kept).starts_with("HTTP/1.1 200"), "served again after an idle second");

    // Nothing at all after connecting.
    let silent = server.connect();
    let silent = watch_close(silent, Instant::now());
    // Headers begun and never ended.
    let mut partial = server.connect();
    let opened = Instant::now();
    partial.write_all(b"GET /healthz HTTP/1.1\r\nHost: doorstep\r\nX-Slow: ").unwrap();
    let partial = watch_close(partial, opened);
    // Headers a byte every 100 ms, for ever.
    let dribble = server.connect();
    let opened = Instant::now();
    let writer = dribble.try_clone().unwrap();
    let dribbling = std::thread::spawn(move || {
        let mut writer = writer;
        let mut header = b"GET /healthz HTTP/1.1\r\nHost: doorstep\r\nX-Slow: ".iter().chain(std::iter::repeat(&b'a'));
        while opened.elapsed() < Duration::from_secs(8) {
            let byte = [*header.next().unwrap()];
            if writer.write_all(&byte).is_err() {
                return Some(opened.elapsed());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    });
    let dribble = watch_close(dribble, opened);
    // The kept-alive connection, idle from its last answer.
    let idle = watch_close(kept, Instant::now());

    let (silent, partial, dribble) = (silent.join().unwrap(), partial.join().unwrap(), dribble.join().unwrap());
    let (idle, dribble_write) = (idle.join().unwrap(), dribbling.join().unwrap());
    eprintln!(
        "closed after: silent {silent:?}, partial headers {partial:?}, a byte at a time {dribble:?} (its writes \
         failing at {dribble_write:?}), idle {idle:?}"
    );
    for (what, took) in [("silent", silent), ("partial", partial), ("a byte at a time", dribble)] {
        assert!(
            took >= Duration::from_millis(1800) && took <= Duration::from_millis(3000),
            "{what}: closed {took:?} after it opened; the header timeout is 2 s"
        );
    }
    assert!(
        idle >= Duration::from_millis(3000) && idle <= Duration::from_millis(5000),
        "idle: closed after {idle:?}: the keep-alive timeout (4 s), not the header one"
    );
    assert!(dribble_write.is_some_and(|t| t <= Duration::from_secs(4)), "the dribbler was cut off: {dribble_write:?}");
    // None of it was worth a line at warn.
    assert!(!server.log().contains("WARN"), "{}", server.log());
}

/// Waits on its own thread for the server to close `s`; the time from `opened`.
fn watch_close(mut s: TcpStream, opened: Instant) -> std::thread::JoinHandle<Duration> {
    std::thread::spawn(move || {
        closed_after(&mut s);
        opened.elapsed()
    })
}

/// The header clock starts again with the first byte after an idle wait: a request begun after
/// 1.5 s idle and never finished is closed 2 s later, not at once and not at the keep-alive's 4.
#[test]
fn the_header_clock_starts_with_the_first_byte_after_an_idle_wait() {
    let server = Served::start(&["--header-read-timeout", "2", "--keep-alive-timeout", "4"]);
    let mut s = server.connect();
    s.write_all(HEALTHZ).unwrap();
    assert!(read_response(&mut s).starts_with("HTTP/1.1 200"));
    std::thread::sleep(Duration::from_millis(1500));
    s.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    let took = closed_after(&mut s);
    assert!(
        took >= Duration::from_millis(1500) && took <= Duration::from_millis(3000),
        "closed {took:?} after the first byte"
    );
}

/// With `--max-connections 3`, three connections held open make the fourth wait (it is not
/// served), the log says the limit was reached, and once one of the three closes the fourth is
/// served.
#[test]
fn past_the_connection_limit_the_next_waits_until_one_closes() {
    let server =
        Served::start(&["--max-connections", "3", "--header-read-timeout", "30", "--keep-alive-timeout", "30"]);
    let mut held: Vec<TcpStream> = (0..3).map(|_| server.connect()).collect();
    // Kept alive after a request each, so all three are surely accepted.
    for s in &mut held {
        s.write_all(HEALTHZ).unwrap();
        assert!(read_response(s).starts_with("HTTP/1.1 200"));
    }
    let mut fourth = server.connect();
    fourth.write_all(HEALTHZ).unwrap();
    fourth.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
    let mut buf = [0u8; 64];
    let waited = fourth.read(&mut buf);
    assert!(
        matches!(&waited, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
        "the fourth was answered: {waited:?}"
    );
    assert!(
        wait_until(Duration::from_secs(5), || server.log().contains("open connections at the limit (3)")),
        "the limit was logged: {}",
        server.log()
    );
    drop(held.pop());
    fourth.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let at = Instant::now();
    assert!(read_response(&mut fourth).starts_with("HTTP/1.1 200"));
    assert!(at.elapsed() < Duration::from_secs(2), "served {:?} after a slot freed", at.elapsed());
    // Said once, not once per waiting connection.
    assert_eq!(server.log().matches("open connections at the limit").count(), 1);
}

/// SIGTERM with idle keep-alive connections open (a 30 s keep-alive): the server closes them and
/// stops at once, rather than waiting for them to time out.
#[test]
fn a_graceful_stop_does_not_wait_for_idle_connections() {
    let mut server = Served::start(&["--keep-alive-timeout", "30"]);
    let mut idle: Vec<TcpStream> = (0..3).map(|_| server.connect()).collect();
    for s in &mut idle {
        s.write_all(HEALTHZ).unwrap();
        assert!(read_response(s).starts_with("HTTP/1.1 200"));
    }
    let at = Instant::now();
    let status = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let stopped = wait_until(Duration::from_secs(5), || matches!(server.child.try_wait(), Ok(Some(_))));
    assert!(stopped, "still running 5 s after SIGTERM: {}", server.log());
    assert!(at.elapsed() < Duration::from_secs(3), "stopped after {:?}", at.elapsed());
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}: {}", server.log());
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let mut buf = [0u8; 16];
        assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)), "closed");
    }
}
