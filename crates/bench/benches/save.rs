//! Durable device save: one visit and its outbox entry in one transaction, WAL with
//! synchronous=FULL, encrypted (SQLCipher, as the phone stores it) and plain (as before
//! encryption), next to the disk's own fdatasync latency and a raw one-row SQLite commit in the
//! same folder, measured in the same run.
//!
//! `cargo bench -p doorstep-bench --bench save` (BENCH_SAVES).

use std::io::Write;
use std::time::Instant;

use chrono::{FixedOffset, Utc};
use doorstep_bench::{COMMUNES, env_usize, machine, percentile};
use doorstep_device::DeviceStore;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn summary(mut samples: Vec<f64>) -> String {
    samples.sort_by(f64::total_cmp);
    format!(
        "p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&samples, 50.0),
        percentile(&samples, 99.0),
        samples.last().copied().unwrap_or(f64::NAN)
    )
}

fn main() {
    let n = env_usize("BENCH_SAVES", 5_000);
    let dir = tempfile::tempdir().expect("tempdir");

    // The disk: append 512 bytes and fdatasync, as a WAL commit does at least.
    let mut file = std::fs::File::create(dir.path().join("fsync.bin")).expect("file");
    let fsync: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            file.write_all(&[7u8; 512]).expect("write");
            file.sync_data().expect("fdatasync");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();

    // Raw SQLite: one row per transaction, same pragmas.
    let conn = rusqlite::Connection::open(dir.path().join("raw.db")).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
    conn.pragma_update(None, "synchronous", "FULL").expect("full");
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)").expect("table");
    let body = "x".repeat(450);
    let raw: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            conn.execute("INSERT INTO t (body) VALUES (?1)", [&body]).expect("insert");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();

    // The device: validation, household, visit and outbox entry in one durable transaction, in
    // an encrypted store (the phone's) and a plain one (before encryption). The two take turns,
    // so that whatever else the machine does weighs on both alike.
    let mut encrypted = DeviceStore::open(&dir.path().join("device.db")).expect("device store");
    let mut plain = DeviceStore::open_unencrypted(&dir.path().join("plain.db")).expect("plain device store");
    let mut rng = StdRng::seed_from_u64(3);
    let offset = FixedOffset::east_opt(7 * 3600).expect("offset");
    let drafts: Vec<_> = (0..n)
        .map(|i| {
            let area = COMMUNES[i % COMMUNES.len()];
            doorstep::generate::visit(&mut rng, None, area, doorstep::generate::base_point(area, None))
        })
        .collect();
    let save = |store: &mut DeviceStore, d: &doorstep_device::VisitDraft| {
        let t = Instant::now();
        store.record_visit(d, Utc::now().with_timezone(&offset)).expect("record");
        t.elapsed().as_secs_f64() * 1e3
    };
    let (mut saves, mut plain_saves) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (i, d) in drafts.iter().enumerate() {
        if i % 2 == 0 {
            saves.push(save(&mut encrypted, d));
            plain_saves.push(save(&mut plain, d));
        } else {
            plain_saves.push(save(&mut plain, d));
            saves.push(save(&mut encrypted, d));
        }
    }

    println!("machine: {}", machine());
    println!("{n} samples each, in one folder on this machine's disk");
    println!("disk fdatasync of 512 bytes:                          {}", summary(fsync));
    println!("raw SQLite one-row commit (WAL, FULL):                {}", summary(raw));
    println!("durable device save, plain SQLite (before issue 9):   {}", summary(plain_saves));
    println!("durable device save, encrypted (SQLCipher, the phone): {} (target p99 < 2 ms)", summary(saves));
}
