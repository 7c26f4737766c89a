//! Network faults: 20 phones (the real `doorstep simulate`, each with its own SQLite store and
//! HTTP client) enrol, pull, record 100,000 visits in all and sync them through a proxy that adds
//! latency, limits bandwidth, cuts a fifth of the connections (half mid-request, half
//! mid-response, after the server stored the batch) and answers bursts of 5xx. At the end every
//! phone's queue is empty and the server holds each visit exactly once.
//!
//! `DOORSTEP_FAULT_VISITS` sets the visits per phone (5,000 by default, as in CI).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use doorstep_device::KeyStore as _;
use doorstep_tests::proxy::{FaultCounts, FaultProxy, Faults};
use doorstep_tests::{TestServer, wait_until};
use serde_json::Value;

const PHONES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_visits_through_a_faulty_network_arrive_exactly_once() {
    let per_phone: usize = std::env::var("DOORSTEP_FAULT_VISITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let server = TestServer::spawn();
    let upstream: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    let proxy = FaultProxy::start(
        upstream,
        Faults {
            latency: Duration::from_millis(40),
            bytes_per_second: 2_000_000,
            cut_share: 0.20,
            burst_share: 0.02,
            burst_length: 5,
            max_lifetime: Duration::from_secs(2),
            seed: 20_200_804,
        },
    )
    .await;
    // The phones' disks are not under test here: their stores live in memory-backed files.
    let data = match std::path::Path::new("/dev/shm").is_dir() {
        true => tempfile::tempdir_in("/dev/shm").unwrap(),
        false => tempfile::tempdir().unwrap(),
    };
    let started = Instant::now();
    let mut phones = doorstep_tests::simulate_command(&["--server", &proxy.url, "--area", "436"]);
    phones
        .args(["--devices", &PHONES.to_string(), "--visits", &per_phone.to_string()])
        .args(["--data-dir", &data.path().to_string_lossy()])
        .args([
            "--batch-size",
            "100",
            "--sync-timeout",
            "1200",
            "--max-backoff-ms",
            "1000",
        ])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = tokio::task::spawn_blocking(move || phones.output().expect("run doorstep simulate"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let counts = &proxy.counts;
    assert!(
        out.status.success(),
        "simulate failed: {stderr}\nproxy: {}",
        counts.summary()
    );
    let totals: Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap();
    assert_eq!(totals["recorded"], (PHONES * per_phone) as u64, "{stdout}");
    assert_eq!(totals["pending"], 0, "a phone still holds visits: {stdout}");
    assert_eq!(totals["not_enrolled"], 0, "{stdout}");
    assert_eq!(totals["rejected"], 0, "{stdout}");
    // Answers cut after the server stored the batch: those visits were sent again, and the server
    // said it held them already.
    let duplicates = totals["duplicates"].as_u64().unwrap();
    assert!(duplicates > 0, "no answer was lost after storing: {stdout}");

    // The faults happened, each kind many times, and about a fifth of the connections were cut.
    let g = FaultCounts::get;
    let connections = g(&counts.connections);
    let cut = g(&counts.cut_mid_request) + g(&counts.cut_mid_response);
    println!("proxy: {}", counts.summary());
    assert!(connections >= 200, "too few connections to judge: {}", counts.summary());
    assert!(g(&counts.cut_mid_request) >= 20, "{}", counts.summary());
    assert!(g(&counts.cut_mid_response) >= 20, "{}", counts.summary());
    assert!(g(&counts.answered_5xx) >= 10, "{}", counts.summary());
    let share = cut as f64 / connections as f64;
    assert!(
        (0.15..=0.25).contains(&share),
        "cut share {share:.3}: {}",
        counts.summary()
    );

    // Every phone's queues are empty, and the server holds exactly the phones' visits, once each.
    let mut on_phones = HashSet::new();
    let mut recorded = 0;
    let mut venues_on_phones = 0;
    for i in 0..PHONES {
        let store = doorstep_device::DeviceStore::open(&data.path().join(format!("device-{i}/device.db"))).unwrap();
        let queue = store.queue().unwrap();
        assert_eq!(queue.pending, 0, "phone {i} still holds visits");
        assert_eq!(queue.venue_pending, 0, "phone {i} still holds venue visits");
        assert_eq!(
            queue.rejected + queue.venue_rejected,
            0,
            "phone {i} had records refused"
        );
        drop(store);
        // The phone's file is encrypted: keyed as the store keys it, from the key file beside it.
        let path = data.path().join(format!("device-{i}/device.db"));
        let file = rusqlite::Connection::open(&path).unwrap();
        let key = doorstep_device::KeyFile::beside(&path)
            .load()
            .unwrap()
            .expect("device key");
        doorstep_device::key_connection(&file, &key).unwrap();
        venues_on_phones += file
            .query_row("SELECT count(*) FROM venue_visits", [], |r| r.get::<_, i64>(0))
            .unwrap();
        let store = doorstep_device::DeviceStore::open(&data.path().join(format!("device-{i}/device.db"))).unwrap();
        let ids = store.recorded_ids().unwrap();
        recorded += ids.len();
        on_phones.extend(ids);
    }
    assert_eq!(recorded, PHONES * per_phone);
    assert_eq!(on_phones.len(), recorded, "a phone holds a visit twice");
    let s = &server;
    assert!(wait_until(Duration::from_secs(10), || s.visit_count() as usize == recorded));
    let held = server.visit_ids();
    let unique: HashSet<_> = held.iter().cloned().collect();
    assert_eq!(held.len(), unique.len(), "the server holds a visit twice");
    assert_eq!(unique, on_phones, "the server and the phones disagree");
    let venues_on_server = server.db.i64("SELECT count(*) FROM venue_visits");
    assert!(venues_on_server > 0, "no venue visit was recorded");
    assert_eq!(venues_on_server, venues_on_phones, "venue visits lost or doubled");
    println!(
        "faults: {PHONES} phones, {recorded} visits recorded and held, {venues_on_server} venue visits, \
         {duplicates} visits sent again after a lost answer, 0 lost, 0 doubled, in {:.0} s on {}",
        started.elapsed().as_secs_f64(),
        if server.db.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
}
