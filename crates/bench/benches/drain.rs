//! Device drain: visits queued on a device (the real device store, durable saves) pushed to a
//! local server by the real sync client, from an encrypted store (SQLCipher, as the phone keeps
//! it) and from a plain one (before encryption), next to raw rusqlite inserts of the same rows on
//! the server's schema, measured in the same run.
//!
//! `cargo bench -p doorstep-bench --bench drain` (BENCH_VISITS, BENCH_BATCH).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{FixedOffset, Utc};
use doorstep_bench::{COMMUNES, env_usize, machine, raw_insert, start_server};
use doorstep_device::{DeviceStore, SyncClient, SyncConfig};
use doorstep_domain::{Campaign, ValidationContext, Visit, VisitInput};
use rand::SeedableRng;
use rand::rngs::StdRng;
use uuid::Uuid;

/// One device's run: `n` visits saved durably, then drained to its own fresh server.
struct Run {
    record_s: f64,
    drain_s: f64,
    report: doorstep_device::DrainReport,
}

fn run(rt: &tokio::runtime::Runtime, dir: &Path, encrypted: bool, n: usize, batch: usize) -> (Run, Vec<Visit>, Uuid) {
    let path = dir.join(if encrypted { "device.db" } else { "plain.db" });
    let store = if encrypted { DeviceStore::open(&path) } else { DeviceStore::open_unencrypted(&path) };
    let store = Arc::new(Mutex::new(store.expect("device store")));
    // The phone is enrolled before it records, as in the field.
    let server_db = dir.join(if encrypted { "server.db" } else { "server-plain.db" });
    let (url, server) = rt.block_on(start_server(&server_db));
    let client = SyncClient::new(SyncConfig {
        server: url,
        batch_size: batch,
        max_backoff: Duration::from_millis(100),
        ..SyncConfig::default()
    })
    .expect("client");
    rt.block_on(async {
        let code = doorstep_bench::enrolment_code(server.as_ref()).await;
        client.enrol(&store, &code).await.expect("enrol");
    });
    let mut guard = store.lock().expect("lock");
    let store_ref = &mut *guard;
    let mut rng = StdRng::seed_from_u64(11);
    let offset = FixedOffset::east_opt(7 * 3600).expect("offset");
    let start = Instant::now();
    for i in 0..n {
        let area = COMMUNES[i % COMMUNES.len()];
        let draft = doorstep::generate::visit(&mut rng, None, area, doorstep::generate::base_point(area, None));
        store_ref.record_visit(&draft, Utc::now().with_timezone(&offset)).expect("record");
    }
    let record_s = start.elapsed().as_secs_f64();

    // The same rows, validated as the server would, for the raw reference.
    let campaign = Campaign::bluezone();
    let ctx = ValidationContext { campaign: &campaign, device_now: Utc::now(), server_now: None };
    let visits: Vec<Visit> = store_ref
        .next_batch(n)
        .expect("queue")
        .iter()
        .map(|e| Visit::parse(&serde_json::from_str::<VisitInput>(&e.body).expect("json"), &ctx).expect("valid"))
        .collect();
    assert_eq!(visits.len(), n);
    let device_id = store_ref.device_id();
    drop(guard);

    let (drain_s, report) = rt.block_on(async {
        let start = Instant::now();
        let report = client.drain(&store, None).await;
        let elapsed = start.elapsed().as_secs_f64();
        assert!(report.complete, "{:?}", report.last_error);
        assert_eq!(doorstep_server::coverage::counts(&*server).await.expect("counts").visits as usize, n);
        (elapsed, report)
    });
    assert_eq!(report.stats.confirmed as usize, n);
    let queue = store.lock().expect("lock").queue().expect("queue");
    assert_eq!((queue.pending, queue.sent as usize), (0, n));
    (Run { record_s, drain_s, report }, visits, device_id)
}

fn main() {
    let n = env_usize("BENCH_VISITS", 100_000);
    let batch = env_usize("BENCH_BATCH", SyncConfig::default().batch_size);
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    // Plain first (as before encryption), then the phone's encrypted store, each to its own
    // fresh server.
    let (plain, visits, device_id) = run(&rt, dir.path(), false, n, batch);
    let raw_s = raw_insert(dir.path(), &[(device_id, visits)]);
    let (encrypted, _, _) = run(&rt, dir.path(), true, n, batch);

    println!("machine: {}", machine());
    println!(
        "{n} visits queued on each device by durable saves in {:.1} s plain, {:.1} s encrypted; batches of {batch}, zstd, two batches in flight",
        plain.record_s, encrypted.record_s
    );
    println!("raw rusqlite prepared inserts of the same rows on the server schema: {:>8.0} visits/s", n as f64 / raw_s);
    for (label, r, target) in [
        ("plain SQLite (before issue 9)", &plain, ""),
        ("encrypted (SQLCipher, the phone)", &encrypted, " (target >= 60000)"),
    ] {
        println!(
            "device drain through HTTP to a local server, receipts applied, {label:<32}: {:>8.0} visits/s ({:.2} s, {} batches, {} retries){target}",
            n as f64 / r.drain_s,
            r.drain_s,
            r.report.stats.batches,
            r.report.stats.retries
        );
    }
}
