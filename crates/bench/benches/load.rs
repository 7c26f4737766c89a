//! Load: many phones syncing at once against the real server (HTTP, enrolled device tokens,
//! zstd JSON as the phones send it), for a fixed time. Each phone pushes a batch of its new
//! visits every few seconds (with jitter), as a phone does when it has a network and visits keep
//! coming, far more often than a volunteer records. Reports every push's latency (p50, p95,
//! p99), visits stored per second, and errors (any answer but 200 with every receipt stored).
//!
//! `cargo bench -p doorstep-bench --bench load` (BENCH_DEVICES, default 500; BENCH_SECONDS, 60;
//! BENCH_BATCH, 20 visits a push; BENCH_EVERY_MS, 2,000 between a phone's pushes;
//! DOORSTEP_BENCH_PG=postgres://... to run it on PostgreSQL too).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use doorstep_bench::{device_token, env_usize, machine, make_visits, percentile, pg_fresh_db, start_server_on};
use doorstep_domain::Visit;
use rand::{Rng, SeedableRng};

struct Outcome {
    latencies_ms: Vec<f64>,
    stored: usize,
    errors: usize,
    seconds: f64,
}

fn main() {
    let devices = env_usize("BENCH_DEVICES", 500);
    let seconds = env_usize("BENCH_SECONDS", 60) as u64;
    let batch = env_usize("BENCH_BATCH", 20);
    let every_ms = env_usize("BENCH_EVERY_MS", 2_000) as u64;
    // Enough visits for every push of the run (one more push for the jitter).
    let pushes = (seconds * 1000 / every_ms.max(1)) as usize + 2;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    println!("machine: {}", machine());
    println!(
        "{devices} phones, a push of {batch} visits every {every_ms} ms each (jittered), for {seconds} s; \
         server and phones on this machine"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let data = make_visits(devices * pushes * batch, devices);
    println!("visits made ahead: {} in {:.0} s", devices * pushes * batch, started.elapsed().as_secs_f64());
    let sqlite = format!("sqlite:{}", dir.path().join("server.db").display());
    let o = rt.block_on(run(&sqlite, &data, batch, every_ms, seconds));
    report("SQLite", &o);
    if let Ok(admin) = std::env::var("DOORSTEP_BENCH_PG") {
        let o = rt.block_on(async {
            let url = pg_fresh_db(&admin).await;
            run(&url, &data, batch, every_ms, seconds).await
        });
        report("PostgreSQL", &o);
    } else {
        println!("PostgreSQL: not measured (set DOORSTEP_BENCH_PG=postgres://postgres@127.0.0.1:55432/postgres)");
    }
}

fn report(db: &str, o: &Outcome) {
    let mut l = o.latencies_ms.clone();
    l.sort_by(f64::total_cmp);
    println!(
        "{db}: {} pushes, {} errors; push latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, worst {:.1} ms; \
         {:.0} visits/s stored ({} in {:.1} s)",
        l.len(),
        o.errors,
        percentile(&l, 50.0),
        percentile(&l, 95.0),
        percentile(&l, 99.0),
        l.last().copied().unwrap_or(0.0),
        o.stored as f64 / o.seconds,
        o.stored,
        o.seconds
    );
}

async fn run(db_url: &str, data: &[(uuid::Uuid, Vec<Visit>)], batch: usize, every_ms: u64, seconds: u64) -> Outcome {
    let (url, store) = start_server_on(db_url).await;
    // Every phone enrolled first, as phones are before they go out; not timed.
    let mut tokens = Vec::with_capacity(data.len());
    for (device, _) in data {
        tokens.push(device_token(&url, store.as_ref(), *device).await);
    }
    let client = reqwest::Client::builder().pool_max_idle_per_host(data.len()).build().expect("client");
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let tasks: Vec<_> = data
        .iter()
        .zip(tokens)
        .enumerate()
        .map(|(i, ((device, visits), token))| {
            let (client, url, device) = (client.clone(), url.clone(), *device);
            let bodies: Vec<Vec<u8>> = visits
                .chunks(batch)
                .map(|chunk| {
                    let records: Vec<String> = chunk.iter().map(Visit::canonical_json).collect();
                    let json = format!(
                        r#"{{"device_id":"{device}","sent_at":"{}","records":[{}]}}"#,
                        Utc::now().to_rfc3339(),
                        records.join(",")
                    );
                    zstd::bulk::compress(json.as_bytes(), 3).expect("zstd")
                })
                .collect();
            let token = Arc::new(token);
            tokio::spawn(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(i as u64);
                let mut latencies = Vec::new();
                let (mut stored, mut errors) = (0, 0);
                // Phones do not start in step.
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..every_ms.max(1)))).await;
                for body in bodies {
                    if Instant::now() >= until {
                        break;
                    }
                    let sent = Instant::now();
                    let answer = client
                        .post(format!("{url}/api/v1/sync/push"))
                        .bearer_auth(token.as_str())
                        .header("content-type", "application/json")
                        .header("content-encoding", "zstd")
                        .body(body)
                        .send()
                        .await;
                    match answer {
                        Ok(resp) if resp.status() == 200 => match resp.bytes().await {
                            Ok(bytes) => {
                                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                                let text = String::from_utf8_lossy(&bytes);
                                let n = text.matches("\"status\":\"stored\"").count();
                                stored += n;
                                if n != batch {
                                    errors += 1;
                                }
                            }
                            Err(_) => errors += 1,
                        },
                        _ => errors += 1,
                    }
                    let jitter = rng.random_range(0..every_ms.max(2) / 2);
                    tokio::time::sleep(Duration::from_millis(every_ms - every_ms / 4 + jitter / 2)).await;
                }
                (latencies, stored, errors)
            })
        })
        .collect();
    let mut o = Outcome { latencies_ms: Vec::new(), stored: 0, errors: 0, seconds: 0.0 };
    for t in tasks {
        let (l, s, e) = t.await.expect("phone task");
        o.latencies_ms.extend(l);
        o.stored += s;
        o.errors += e;
    }
    o.seconds = start.elapsed().as_secs_f64();
    let counts = doorstep_server::coverage::counts(&*store).await.expect("counts");
    assert_eq!(counts.visits as usize, o.stored, "every visit answered stored is held, once");
    o
}
