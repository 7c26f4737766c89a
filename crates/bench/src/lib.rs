//! Shared set-up for the benchmarks: an in-process server on a fresh SQLite file, the machine
//! description, and percentiles.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{FixedOffset, Utc};
use doorstep_domain::visit::{HouseholdInput, VisitInput};
use doorstep_domain::{ValidationContext, Visit};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rusqlite::params;

use doorstep_domain::Campaign;
use doorstep_server::{AppState, Limits, Store};

pub const HA_TINH_2020: &str = include_str!("../../../data/areas/ha-tinh-2020-three-tier.json");

/// Starts the real router on 127.0.0.1 with a fresh database at `db`; returns its URL.
pub async fn start_server(db: &Path) -> (String, Arc<dyn Store>) {
    start_server_on(&format!("sqlite:{}", db.display())).await
}

/// Starts the real router on 127.0.0.1 on the database `db_url` names; returns its URL.
pub async fn start_server_on(db_url: &str) -> (String, Arc<dyn Store>) {
    let store = doorstep_server::open_store(db_url).await.expect("open store");
    let areas = doorstep_domain::area::parse_gso_tree(HA_TINH_2020).expect("tree");
    store.import_areas(areas).await.expect("import");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let state = AppState::new(store.clone(), Campaign::bluezone(), Limits::default());
    tokio::spawn(doorstep_server::serve(listener, state, std::future::pending()));
    (url, store)
}

/// The volunteer the benchmarks' devices enrol for (the whole province), and the id its
/// generated visits carry: so no visit is flagged, as in the field.
const BENCH_VOLUNTEER: &str = "bench.volunteer";
pub const BENCH_VOLUNTEER_ID: uuid::Uuid = uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0b3c);

/// A fresh one-time enrolment code for the benchmarks' volunteer, made straight in the store as
/// `doorstep admin enrol-code` does.
pub async fn enrolment_code(store: &dyn Store) -> String {
    let name = doorstep_domain::account::Username::parse("username", BENCH_VOLUNTEER).expect("name");
    let user = match doorstep_server::accounts::user_by_username(store, &name).await.expect("user") {
        Some(u) => u.id,
        None => {
            let id = BENCH_VOLUNTEER_ID;
            doorstep_server::accounts::create_user(
                store,
                doorstep_server::accounts::NewUser {
                    id,
                    username: doorstep_domain::account::Username::parse("username", BENCH_VOLUNTEER).expect("name"),
                    password_hash: doorstep_server::auth::hash_password(&uuid::Uuid::now_v7().to_string())
                        .expect("hash"),
                    role: doorstep_domain::account::Role::Volunteer,
                    area_code: doorstep_domain::values::AreaCode::parse("area", "42").expect("area"),
                },
            )
            .await
            .expect("create the bench volunteer");
            id
        }
    };
    let (code, hash) = doorstep_server::auth::new_enrolment_code();
    let now = chrono::Utc::now().timestamp_millis();
    doorstep_server::devices::create_enrolment(store, hash, user, "bench", now, now + 3_600_000)
        .await
        .expect("enrolment code");
    code
}

/// Enrols a device id over HTTP, as a phone does; returns its token.
pub async fn device_token(url: &str, store: &dyn Store, device_id: uuid::Uuid) -> String {
    let code = enrolment_code(store).await;
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/api/v1/enrol"))
        .json(&serde_json::json!({"code": code, "device_id": device_id.to_string()}))
        .send()
        .await
        .expect("enrol")
        .json()
        .await
        .expect("enrol answer");
    body["device_token"].as_str().expect("device_token").to_string()
}

/// One line about the machine, printed with every figure.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cpu}, {cores} cores")
}

/// The p-th percentile (0..=100) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Reads `NAME=value` from the environment, or the default.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Communes the generated visits fall in (raw_insert creates exactly these areas).
pub const COMMUNES: &[&str] = &["18073", "18077", "18079", "18082", "18085", "18406", "18673"];

/// `n` valid visits from `devices` devices, as the server would hold them.
pub fn make_visits(n: usize, devices: usize) -> Vec<(uuid::Uuid, Vec<Visit>)> {
    let campaign = Campaign::bluezone();
    let now = Utc::now().with_timezone(&FixedOffset::east_opt(7 * 3600).expect("offset"));
    let ctx = ValidationContext { campaign: &campaign, device_now: Utc::now(), server_now: None };
    let mut rng = StdRng::seed_from_u64(7);
    let per_device = n / devices;
    (0..devices)
        .map(|d| {
            let device = uuid::Uuid::now_v7();
            let volunteer = BENCH_VOLUNTEER_ID;
            // As in the field, so that no visit is flagged: a phone works one commune, a visit a
            // minute; the phones' days follow each other, so the one volunteer they all speak for
            // is never in two places at once.
            let area = COMMUNES[d % COMMUNES.len()];
            let visits = (0..per_device)
                .map(|i| {
                    let minutes_ago = ((devices - d) * per_device - i) as i64;
                    let visited_at = now - chrono::Duration::minutes(minutes_ago);
                    let draft =
                        doorstep::generate::visit(&mut rng, None, area, doorstep::generate::base_point(area, None));
                    let input = VisitInput {
                        id: uuid::Uuid::now_v7().to_string(),
                        revision: 1,
                        device_seq: i as i64 + 1,
                        device_id: device.to_string(),
                        volunteer_id: volunteer.to_string(),
                        area_code: draft.area_code,
                        household: HouseholdInput { id: uuid::Uuid::now_v7().to_string(), address: draft.address },
                        visited_at: visited_at.to_rfc3339(),
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
pub fn raw_insert(dir: &std::path::Path, data: &[(uuid::Uuid, Vec<Visit>)]) -> f64 {
    let mut conn = rusqlite::Connection::open(dir.join("raw.db")).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
    conn.pragma_update(None, "synchronous", "FULL").expect("sync");
    conn.pragma_update(None, "foreign_keys", "ON").expect("fk");
    conn.pragma_update(None, "wal_autocheckpoint", 0).expect("ckpt");
    conn.execute_batch(&doorstep_server::sqlite::schema_sql()).expect("schema");
    for c in COMMUNES {
        conn.execute(
            "INSERT INTO areas (code, name, name_search, sort_key, level, path) VALUES (?1, ?1, ?1, x'00', 2, ?1)",
            [c],
        )
        .expect("area");
    }
    let hashes: Vec<Vec<[u8; 32]>> =
        data.iter().map(|(_, vs)| vs.iter().map(doorstep_server::db::ingest::content_hash).collect()).collect();
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

/// A new, empty PostgreSQL database on the server `admin` names (a URL ending in a database).
pub async fn pg_fresh_db(admin: &str) -> String {
    let (client, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls).await.expect("connect to PostgreSQL");
    tokio::spawn(conn);
    let name = format!("doorstep_bench_{}", uuid::Uuid::now_v7().simple());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).expect("database in the URL");
    format!("{base}/{name}")
}

/// The physical limit on PostgreSQL: the same rows into the same schema, batched from arrays
/// (1,000 rows a statement), plain inserts, one transaction. Returns seconds.
pub async fn raw_insert_pg(url: &str, data: &[(uuid::Uuid, Vec<Visit>)]) -> f64 {
    // The server's own migrations make the schema.
    drop(doorstep_server::postgres::PgStore::open(url).await.expect("schema"));
    let (mut client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    for c in COMMUNES {
        client
            .execute(
                "INSERT INTO areas (code, name, name_search, sort_key, level, path) VALUES ($1, $1, $1, '\\x00', 2, $1)",
                &[c],
            )
            .await
            .expect("area");
    }
    let hashes: Vec<Vec<[u8; 32]>> =
        data.iter().map(|(_, vs)| vs.iter().map(doorstep_server::db::ingest::content_hash).collect()).collect();
    let received = Utc::now().timestamp_millis();
    let start = Instant::now();
    let tx = client.transaction().await.expect("tx");
    let mut seq = 0i64;
    for ((device, visits), hashes) in data.iter().zip(&hashes) {
        for (chunk, hash_chunk) in visits.chunks(1000).zip(hashes.chunks(1000)) {
            let mut cols = doorstep_server::postgres::VisitColumns::default();
            for (v, h) in chunk.iter().zip(hash_chunk) {
                cols.push(*device, v, h, received);
            }
            tx.execute(doorstep_server::postgres::INSERT_VISITS_PLAIN, &cols.params()).await.expect("visits");
            let ids: Vec<uuid::Uuid> = chunk.iter().map(|v| v.household.id.uuid()).collect();
            let areas: Vec<String> = chunk.iter().map(|v| v.area_code.to_string()).collect();
            let addresses: Vec<Option<String>> =
                chunk.iter().map(|v| v.household.address.as_ref().map(|t| t.to_string())).collect();
            let lats: Vec<Option<f64>> = chunk.iter().map(|v| v.location.point.map(|p| p.lat)).collect();
            let lons: Vec<Option<f64>> = chunk.iter().map(|v| v.location.point.map(|p| p.lon)).collect();
            let seqs: Vec<i64> = (0..chunk.len() as i64).map(|i| seq + i + 1).collect();
            seq += chunk.len() as i64;
            let outcomes: Vec<String> = chunk.iter().map(|v| v.outcome.clone()).collect();
            let count = |f: fn(&Visit) -> u32| -> Vec<i64> { chunk.iter().map(|v| i64::from(f(v))).collect() };
            let (people, phones, already, now) = (
                count(|v| v.counts.people.get()),
                count(|v| v.counts.smartphones.get()),
                count(|v| v.counts.already_installed.get()),
                count(|v| v.counts.installed_now.get()),
            );
            let ones: Vec<i64> = vec![1; chunk.len()];
            tx.execute(
                "INSERT INTO households (id, area_code, address, lat, lon, updated_seq, visits, latest_outcome,
                    people, smartphones, already_installed, installed_now)
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::int8[],
                    $7::int8[], $8::text[], $9::int8[], $10::int8[], $11::int8[], $12::int8[])",
                &[&ids, &areas, &addresses, &lats, &lons, &seqs, &ones, &outcomes, &people, &phones, &already, &now],
            )
            .await
            .expect("households");
        }
    }
    tx.commit().await.expect("commit");
    start.elapsed().as_secs_f64()
}
