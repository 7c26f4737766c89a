//! Device drain: visits queued on a device (the real device store, durable saves) pushed to a
//! local server by the real sync client, next to raw rusqlite inserts of the same rows on the
//! server's schema, measured in the same run.
//!
//! `cargo bench -p doorstep-bench --bench drain` (BENCH_VISITS, BENCH_BATCH).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{FixedOffset, Utc};
use doorstep_bench::{COMMUNES, env_usize, machine, raw_insert, start_server};
use doorstep_device::{DeviceStore, SyncClient, SyncConfig};
use doorstep_domain::{Campaign, ValidationContext, Visit, VisitInput};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn main() {
    let n = env_usize("BENCH_VISITS", 100_000);
    let batch = env_usize("BENCH_BATCH", SyncConfig::default().batch_size);
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = Arc::new(Mutex::new(
        DeviceStore::open(&dir.path().join("device.db")).expect("device store"),
    ));
    // The phone is enrolled before it records, as in the field.
    let (url, server) = rt.block_on(start_server(&dir.path().join("server.db")));
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
        store_ref
            .record_visit(&draft, Utc::now().with_timezone(&offset))
            .expect("record");
    }
    let record_s = start.elapsed().as_secs_f64();

    // The same rows, validated as the server would, for the raw reference.
    let campaign = Campaign::bluezone();
    let ctx = ValidationContext {
        campaign: &campaign,
        device_now: Utc::now(),
        server_now: None,
    };
    let visits: Vec<Visit> = store_ref
        .next_batch(n)
        .expect("queue")
        .iter()
        .map(|e| Visit::parse(&serde_json::from_str::<VisitInput>(&e.body).expect("json"), &ctx).expect("valid"))
        .collect();
    assert_eq!(visits.len(), n);
    let raw_s = raw_insert(dir.path(), &[(store_ref.device_id(), visits)]);
    drop(guard);

    let (drain_s, report) = rt.block_on(async {
        let start = Instant::now();
        let report = client.drain(&store, None).await;
        let elapsed = start.elapsed().as_secs_f64();
        assert!(report.complete, "{:?}", report.last_error);
        assert_eq!(server.counts().await.expect("counts").visits as usize, n);
        (elapsed, report)
    });
    assert_eq!(report.stats.confirmed as usize, n);
    let queue = store.lock().expect("lock").queue().expect("queue");
    assert_eq!((queue.pending, queue.sent as usize), (0, n));

    println!("machine: {}", machine());
    println!(
        "{n} visits queued on one device by durable saves in {record_s:.1} s; batches of {batch}, zstd, two batches in flight"
    );
    println!(
        "raw rusqlite prepared inserts of the same rows on the server schema: {:>8.0} visits/s",
        n as f64 / raw_s
    );
    println!(
        "device drain through HTTP to a local server, receipts applied:   {:>8.0} visits/s ({drain_s:.2} s, {} batches, {} retries) (target >= 60000)",
        n as f64 / drain_s,
        report.stats.batches,
        report.stats.retries
    );
}
