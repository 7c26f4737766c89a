//! Server ingest through the real HTTP push endpoint on SQLite, next to raw rusqlite prepared
//! inserts of the same rows into the same schema in one transaction, measured in the same run.
//!
//! `cargo bench -p doorstep-bench --bench ingest` (BENCH_RECORDS, BENCH_BATCH, BENCH_CONNECTIONS).

use std::time::Instant;

use chrono::Utc;
use doorstep_bench::{env_usize, machine, make_visits, raw_insert, start_server};
use doorstep_domain::Visit;

fn main() {
    let records = env_usize("BENCH_RECORDS", 100_000);
    let batch = env_usize("BENCH_BATCH", 1_000);
    let connections = env_usize("BENCH_CONNECTIONS", 2);
    let devices = 20;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = make_visits(records, devices);
    let n: usize = data.iter().map(|(_, v)| v.len()).sum();

    // Bodies as a device sends them: zstd-compressed JSON, one device per batch.
    let sent_at = Utc::now().to_rfc3339();
    let mut bodies: Vec<Vec<Vec<u8>>> = vec![Vec::new(); connections];
    for (i, (device, visits)) in data.iter().enumerate() {
        for chunk in visits.chunks(batch) {
            let records: Vec<String> = chunk.iter().map(Visit::canonical_json).collect();
            let json = format!(
                r#"{{"device_id":"{device}","sent_at":"{sent_at}","records":[{}]}}"#,
                records.join(",")
            );
            bodies[i % connections].push(zstd::encode_all(json.as_bytes(), 3).expect("zstd"));
        }
    }

    let raw_s = raw_insert(dir.path(), &data);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let server_s = rt.block_on(async {
        let (url, store) = start_server(&dir.path().join("server.db")).await;
        let client = reqwest::Client::new();
        let start = Instant::now();
        let tasks: Vec<_> = bodies
            .into_iter()
            .map(|bodies| {
                let (client, url) = (client.clone(), url.clone());
                tokio::spawn(async move {
                    let mut stored = 0;
                    for body in bodies {
                        let resp = client
                            .post(format!("{url}/api/v1/sync/push"))
                            .header("content-type", "application/json")
                            .header("content-encoding", "zstd")
                            .body(body)
                            .send()
                            .await
                            .expect("push");
                        assert_eq!(resp.status(), 200);
                        let bytes = resp.bytes().await.expect("body");
                        // Counting receipts by their text keeps the client's share of the CPU small.
                        let text = std::str::from_utf8(&bytes).expect("utf-8");
                        stored += text.matches(r#""status":"stored""#).count();
                    }
                    stored
                })
            })
            .collect();
        let mut stored = 0;
        for t in tasks {
            stored += t.await.expect("task");
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert_eq!(stored, n, "every record stored");
        assert_eq!(store.counts().await.expect("counts").visits as usize, n);
        elapsed
    });

    let raw_rate = n as f64 / raw_s;
    let server_rate = n as f64 / server_s;
    println!("machine: {}", machine());
    println!(
        "rows: {n} visits from {devices} devices, batches of {batch}, {connections} connections, SQLite WAL synchronous=FULL"
    );
    println!(
        "raw rusqlite prepared inserts, same rows and schema, one transaction: {raw_rate:>10.0} visits/s ({raw_s:.3} s)"
    );
    println!(
        "server ingest via HTTP push (zstd JSON, validated, receipts after commit): {server_rate:>10.0} visits/s ({server_s:.3} s)"
    );
    println!("ratio: {:.1} % of raw (target >= 70 %)", 100.0 * server_rate / raw_rate);
}
