//! Server ingest through the real HTTP push endpoint on SQLite, next to raw rusqlite prepared
//! inserts of the same rows into the same schema in one transaction, measured in the same run.
//!
//! `cargo bench -p doorstep-bench --bench ingest` (BENCH_RECORDS, BENCH_BATCH, BENCH_CONNECTIONS,
//! BENCH_REPEAT). Each run uses fresh databases; the medians are compared.

use std::time::Instant;

use chrono::Utc;
use doorstep_bench::{
    device_token, env_usize, machine, make_visits, pg_fresh_db, raw_insert, raw_insert_pg, start_server_on,
};
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
    let mut bodies: Vec<Vec<Body>> = vec![Vec::new(); connections];
    for (i, (device, visits)) in data.iter().enumerate() {
        for chunk in visits.chunks(batch) {
            let records: Vec<String> = chunk.iter().map(Visit::canonical_json).collect();
            let json = format!(r#"{{"device_id":"{device}","sent_at":"{sent_at}","records":[{}]}}"#, records.join(","));
            // As the device does: one frame that declares its size.
            bodies[i % connections].push((*device, zstd::bulk::compress(json.as_bytes(), 3).expect("zstd")));
        }
    }

    let repeats = env_usize("BENCH_REPEAT", 3).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    println!("machine: {}", machine());
    println!(
        "rows: {n} visits from {devices} devices, batches of {batch}, {connections} connections, SQLite WAL synchronous=FULL"
    );
    let (mut raws, mut servers) = (Vec::new(), Vec::new());
    for run in 1..=repeats {
        // Fresh databases each run, in their own folder.
        let dir = tempfile::tempdir_in(dir.path()).expect("tempdir");
        let raw = n as f64 / raw_insert(dir.path(), &data);
        let server = n as f64 / rt.block_on(server_run(dir.path(), bodies.clone(), n));
        println!("run {run}: raw {raw:>8.0} visits/s, server {server:>8.0} visits/s, {:.1} %", 100.0 * server / raw);
        raws.push(raw);
        servers.push(server);
    }
    let (raw_rate, server_rate) = (median(raws), median(servers));
    println!("SQLite, median of {repeats} runs:");
    println!("raw rusqlite prepared inserts, same rows and schema, one transaction: {raw_rate:>10.0} visits/s");
    println!("server ingest via HTTP push (zstd JSON, validated, receipts after commit): {server_rate:>10.0} visits/s");
    println!("ratio: {:.1} % of raw (target >= 70 %)", 100.0 * server_rate / raw_rate);

    // PostgreSQL, when a server is named (scripts/pg-test-cluster.sh starts one).
    let Ok(admin) = std::env::var("DOORSTEP_BENCH_PG") else {
        println!("PostgreSQL: not measured (set DOORSTEP_BENCH_PG=postgres://postgres@127.0.0.1:55432/postgres)");
        return;
    };
    let (mut raws, mut servers) = (Vec::new(), Vec::new());
    for run in 1..=repeats {
        let raw = n as f64 / rt.block_on(async { raw_insert_pg(&pg_fresh_db(&admin).await, &data).await });
        let server = n as f64
            / rt.block_on(async {
                let url = pg_fresh_db(&admin).await;
                server_run_on(&url, bodies.clone(), n).await
            });
        println!(
            "PostgreSQL run {run}: raw {raw:>8.0} visits/s, server {server:>8.0} visits/s, {:.1} %",
            100.0 * server / raw
        );
        raws.push(raw);
        servers.push(server);
    }
    let (raw_rate, server_rate) = (median(raws), median(servers));
    println!("PostgreSQL, median of {repeats} runs:");
    println!(
        "raw batched inserts (UNNEST, 1,000 rows a statement), same rows and schema, one transaction: {raw_rate:>10.0} visits/s"
    );
    println!("server ingest via HTTP push on PostgreSQL: {server_rate:>10.0} visits/s");
    println!("ratio: {:.1} % of raw (target >= 60 %)", 100.0 * server_rate / raw_rate);
}

/// A push body and the device that sends it.
type Body = (uuid::Uuid, Vec<u8>);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Pushes every body through the real endpoint, one task per connection; returns the seconds.
async fn server_run(dir: &std::path::Path, bodies: Vec<Vec<Body>>, n: usize) -> f64 {
    server_run_on(&format!("sqlite:{}", dir.join("server.db").display()), bodies, n).await
}

async fn server_run_on(db_url: &str, bodies: Vec<Vec<Body>>, n: usize) -> f64 {
    let (url, store) = start_server_on(db_url).await;
    // Every device enrolled first, as phones are before they go out; not timed.
    let mut tokens = std::collections::HashMap::new();
    for (device, _) in bodies.iter().flatten() {
        if !tokens.contains_key(device) {
            tokens.insert(*device, device_token(&url, store.as_ref(), *device).await);
        }
    }
    let tokens = std::sync::Arc::new(tokens);
    let client = reqwest::Client::new();
    let start = Instant::now();
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|bodies| {
            let (client, url, tokens) = (client.clone(), url.clone(), tokens.clone());
            tokio::spawn(async move {
                let mut stored = 0;
                for (device, body) in bodies {
                    let resp = client
                        .post(format!("{url}/api/v1/sync/push"))
                        .bearer_auth(&tokens[&device])
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
    assert_eq!(doorstep_server::coverage::counts(&*store).await.expect("counts").visits as usize, n);
    elapsed
}
