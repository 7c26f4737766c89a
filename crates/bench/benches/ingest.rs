//! Server ingest through the real HTTP push endpoint on SQLite, next to raw rusqlite prepared
//! inserts of the same rows into the same schema in one transaction, measured in the same run.
//!
//! `cargo bench -p doorstep-bench --bench ingest` (BENCH_RECORDS, BENCH_BATCH, BENCH_CONNECTIONS).

use std::time::Instant;

use chrono::{FixedOffset, Utc};
use doorstep_bench::{env_usize, machine, start_server};
use doorstep_domain::visit::{HouseholdInput, VisitInput};
use doorstep_domain::{Campaign, ValidationContext, Visit};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rusqlite::params;

const COMMUNES: &[&str] = &["18073", "18077", "18079", "18082", "18085", "18406", "18673"];

fn make_visits(n: usize, devices: usize) -> Vec<(uuid::Uuid, Vec<Visit>)> {
    let campaign = Campaign::bluezone();
    let now = Utc::now().with_timezone(&FixedOffset::east_opt(7 * 3600).expect("offset"));
    let ctx = ValidationContext {
        campaign: &campaign,
        device_now: Utc::now(),
    };
    let mut rng = StdRng::seed_from_u64(7);
    (0..devices)
        .map(|_| {
            let device = uuid::Uuid::now_v7();
            let volunteer = uuid::Uuid::now_v7();
            let visits = (0..n / devices)
                .map(|i| {
                    let area = COMMUNES[i % COMMUNES.len()];
                    let draft =
                        doorstep::generate::visit(&mut rng, None, area, doorstep::generate::base_point(area, None));
                    let input = VisitInput {
                        id: uuid::Uuid::now_v7().to_string(),
                        revision: 1,
                        device_seq: i as i64 + 1,
                        device_id: device.to_string(),
                        volunteer_id: volunteer.to_string(),
                        area_code: draft.area_code,
                        household: HouseholdInput {
                            id: uuid::Uuid::now_v7().to_string(),
                            address: draft.address,
                        },
                        visited_at: now.to_rfc3339(),
                        outcome: draft.outcome,
                        reason: draft.reason,
                        people: draft.people,
                        smartphones: draft.smartphones,
                        already_installed: draft.already_installed,
                        installed_now: draft.installed_now,
                        leaflet_given: draft.leaflet_given,
                        location: draft.location,
                        notes: draft.notes,
                    };
                    Visit::parse(&input, &ctx).expect("generated visits are valid")
                })
                .collect();
            (device, visits)
        })
        .collect()
}

/// The physical limit: the same rows, same schema and pragmas, prepared statements, one transaction.
fn raw_insert(dir: &std::path::Path, data: &[(uuid::Uuid, Vec<Visit>)]) -> f64 {
    let mut conn = rusqlite::Connection::open(dir.join("raw.db")).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
    conn.pragma_update(None, "synchronous", "FULL").expect("sync");
    conn.pragma_update(None, "foreign_keys", "ON").expect("fk");
    conn.execute_batch(doorstep_server::sqlite::schema_sql())
        .expect("schema");
    for c in COMMUNES {
        conn.execute(
            "INSERT INTO areas (code, name, name_search, sort_key, level, path) VALUES (?1, ?1, ?1, x'00', 2, ?1)",
            [c],
        )
        .expect("area");
    }
    let hashes: Vec<Vec<[u8; 32]>> = data
        .iter()
        .map(|(_, vs)| vs.iter().map(doorstep_server::store::content_hash).collect())
        .collect();
    let received = Utc::now().timestamp_millis();
    let start = Instant::now();
    let tx = conn.transaction().expect("tx");
    {
        let mut v = tx
            .prepare(
                "INSERT INTO visits (id, revision, device_id, device_seq, volunteer_id, household_id, area_code,
                visited_at_ms, utc_offset_min, outcome, reason, people, smartphones, already_installed,
                installed_now, leaflet_given, loc_source, lat, lon, accuracy_m, notes, received_at_ms, content_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
            )
            .expect("prepare");
        let mut h = tx
            .prepare(
                "INSERT INTO households (id, area_code, address, lat, lon, updated_seq, visits, latest_outcome,
                people, smartphones, already_installed, installed_now)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .expect("prepare");
        let mut seq = 0i64;
        for ((device, visits), hashes) in data.iter().zip(&hashes) {
            for (visit, hash) in visits.iter().zip(hashes) {
                let p = visit.location.point;
                let c = &visit.counts;
                v.execute(params![
                    visit.id.uuid().as_bytes().as_slice(),
                    visit.revision.get(),
                    device.as_bytes().as_slice(),
                    visit.device_seq.get(),
                    visit.volunteer_id.uuid().as_bytes().as_slice(),
                    visit.household.id.uuid().as_bytes().as_slice(),
                    visit.area_code.as_str(),
                    visit.visited_at.timestamp_millis(),
                    visit.visited_at.offset().local_minus_utc() / 60,
                    visit.outcome,
                    visit.reason.as_ref().map(|t| t.as_str()),
                    c.people.get(),
                    c.smartphones.get(),
                    c.already_installed.get(),
                    c.installed_now.get(),
                    visit.leaflet_given,
                    visit.location.source.as_str(),
                    p.map(|p| p.lat),
                    p.map(|p| p.lon),
                    p.and_then(|p| p.accuracy_m),
                    visit.notes.as_ref().map(|t| t.as_str()),
                    received,
                    hash.as_slice(),
                ])
                .expect("insert visit");
                seq += 1;
                h.execute(params![
                    visit.household.id.uuid().as_bytes().as_slice(),
                    visit.area_code.as_str(),
                    visit.household.address.as_ref().map(|t| t.as_str()),
                    p.map(|p| p.lat),
                    p.map(|p| p.lon),
                    seq,
                    1,
                    visit.outcome,
                    c.people.get(),
                    c.smartphones.get(),
                    c.already_installed.get(),
                    c.installed_now.get(),
                ])
                .expect("insert household");
            }
        }
    }
    tx.commit().expect("commit");
    start.elapsed().as_secs_f64()
}

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
