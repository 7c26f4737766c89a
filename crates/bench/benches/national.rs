//! National scale: a country of about 25,000 areas (63 provinces, 630 districts, 24,570
//! communes), 10 million visits loaded through the store's own ingest (the code the push
//! endpoint runs, without HTTP), then coverage through the real HTTP API for the country, a
//! province and a commune: p50 and p95, next to the API's floor (`GET /healthz`) in the same run.
//!
//! `cargo bench -p doorstep-bench --bench national` (BENCH_NATIONAL_VISITS, default 10,000,000;
//! DOORSTEP_BENCH_PG=postgres://... to run on PostgreSQL, otherwise SQLite).

use std::sync::Arc;
use std::time::Instant;

use chrono::{FixedOffset, Utc};
use doorstep_bench::{env_usize, machine, percentile, pg_fresh_db};
use doorstep_domain::area::AreaRecord;
use doorstep_domain::values::{AreaCode, Id, Text};
use doorstep_domain::visit::{HouseholdInput, VisitInput};
use doorstep_domain::{Campaign, Lang, ValidationContext, Visit};
use doorstep_server::db::ingest::{Incoming, IngestBatch};
use doorstep_server::{AppState, Limits, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PROVINCES: usize = 63;
const DISTRICTS: usize = 10;
const COMMUNES: usize = 39;
const BATCH: usize = 1_000;

fn area(code: String, parent: Option<String>, name: String) -> AreaRecord {
    AreaRecord {
        code: AreaCode::parse("code", &code).expect("code"),
        parent: parent.map(|p| AreaCode::parse("parent", &p).expect("parent")),
        name: Text::parse("name", &name, 120, false).expect("name"),
        division_type: None,
        boundary: None,
    }
}

fn country() -> (Vec<AreaRecord>, Vec<String>) {
    let mut areas = vec![area("VN".into(), None, "Việt Nam".into())];
    let mut communes = Vec::new();
    for p in 0..PROVINCES {
        let pc = format!("P{p:02}");
        areas.push(area(pc.clone(), Some("VN".into()), format!("Tỉnh {p}")));
        for d in 0..DISTRICTS {
            let dc = format!("{pc}D{d}");
            areas.push(area(dc.clone(), Some(pc.clone()), format!("Huyện {p}-{d}")));
            for c in 0..COMMUNES {
                let cc = format!("{dc}C{c:02}");
                areas.push(area(cc.clone(), Some(dc.clone()), format!("Xã {p}-{d}-{c}")));
                communes.push(cc);
            }
        }
    }
    (areas, communes)
}

/// One push batch from one device: new households, and every fifth visit a revisit of a
/// household of the same batch, so households move between outcomes as in the field.
fn batch(rng: &mut StdRng, communes: &[String], campaign: &Campaign) -> IngestBatch {
    let device = Id::new_v7();
    let volunteer = uuid::Uuid::now_v7().to_string();
    let now = Utc::now();
    let offset = FixedOffset::east_opt(7 * 3600).expect("offset");
    let ctx = ValidationContext { campaign, device_now: now, server_now: Some(now) };
    let commune = &communes[rng.random_range(0..communes.len())];
    let mut households: Vec<String> = Vec::new();
    let records = (0..BATCH)
        .map(|i| {
            let draft = doorstep::generate::visit(rng, None, commune, (16.0, 107.0));
            let household = if i % 5 == 4 && !households.is_empty() {
                households[rng.random_range(0..households.len())].clone()
            } else {
                let h = uuid::Uuid::now_v7().to_string();
                households.push(h.clone());
                h
            };
            let input = VisitInput {
                id: uuid::Uuid::now_v7().to_string(),
                revision: 1,
                device_seq: i as i64 + 1,
                device_id: device.to_string(),
                volunteer_id: volunteer.clone(),
                area_code: commune.clone(),
                household: HouseholdInput { id: household, address: draft.address },
                visited_at: now.with_timezone(&offset).to_rfc3339(),
                outcome: draft.outcome,
                reason: draft.reason,
                people: draft.people,
                smartphones: draft.smartphones,
                already_installed: draft.already_installed,
                installed_now: draft.installed_now,
                leaflet_given: draft.leaflet_given,
                location: draft.location,
                notes: None,
            };
            Incoming::valid(Visit::parse(&input, &ctx).expect("generated visits are valid"))
        })
        .collect();
    IngestBatch {
        device_id: device,
        received_at: now,
        clock_skew_ms: 0,
        lang: Lang::Vi,
        records,
        // Loaded straight into the store, as a migration would: no sender to compare with.
        volunteer_id: None,
        scope: Vec::new(),
        rules: doorstep_domain::quality::QualityRules::for_campaign(campaign),
        revoked_device: false,
        app_version: None,
    }
}

async fn latencies(client: &reqwest::Client, url: &str, token: &str, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let resp = client.get(url).bearer_auth(token).send().await.expect("GET");
        assert_eq!(resp.status(), 200);
        let _ = resp.bytes().await.expect("body");
        out.push(t.elapsed().as_secs_f64() * 1e3);
    }
    out.sort_by(f64::total_cmp);
    out
}

fn main() {
    let visits = env_usize("BENCH_NATIONAL_VISITS", 10_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        let (db_url, kind, writers) = match std::env::var("DOORSTEP_BENCH_PG") {
            Ok(admin) => (pg_fresh_db(&admin).await, "PostgreSQL", 4),
            Err(_) => (format!("sqlite:{}", dir.path().join("national.db").display()), "SQLite", 1),
        };
        let store: Arc<dyn Store> = doorstep_server::open_store(&db_url).await.expect("store");
        let (areas, communes) = country();
        let n_areas = areas.len();
        store.import_areas(areas).await.expect("import");
        let communes = Arc::new(communes);

        // Load: `writers` tasks, each pushing batches through the store's ingest.
        let batches = visits / BATCH;
        let start = Instant::now();
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                let (store, communes, next) = (store.clone(), communes.clone(), next.clone());
                tokio::spawn(async move {
                    let campaign = Campaign::bluezone();
                    let mut rng = StdRng::seed_from_u64(w as u64);
                    loop {
                        let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if b >= batches {
                            break;
                        }
                        let batch = tokio::task::block_in_place(|| batch(&mut rng, &communes, &campaign));
                        store.ingest(batch).await.expect("ingest");
                        if b % 500 == 0 && b > 0 {
                            eprintln!("{} of {visits} visits loaded", b * BATCH);
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("loader");
        }
        let load_s = start.elapsed().as_secs_f64();
        let counts = doorstep_server::coverage::counts(&*store).await.expect("counts");

        // Queries through the real API.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = AppState::new(store.clone(), Campaign::bluezone(), Limits::default());
        tokio::spawn(doorstep_server::serve(listener, state, std::future::pending()));
        let client = reqwest::Client::new();
        // Coverage is read as a signed-in admin of the whole country, as the dashboard will.
        let password = "national benchmark admin";
        doorstep_server::accounts::create_user(&*store, doorstep_server::accounts::NewUser {
                id: uuid::Uuid::now_v7(),
                username: doorstep_domain::account::Username::parse("u", "bench.admin").expect("name"),
                password_hash: doorstep_server::auth::hash_password(password).expect("hash"),
                role: doorstep_domain::account::Role::Admin,
                area_code: AreaCode::parse("area", "VN").expect("code"),
            })
            .await
            .expect("admin");
        let login: serde_json::Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "bench.admin", "password": password}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login body");
        let token = login["token"].as_str().expect("token").to_string();
        let q = env_usize("BENCH_QUERIES", 200);
        let floor = latencies(&client, &format!("{base}/healthz"), &token, q).await;
        let country = latencies(&client, &format!("{base}/api/v1/coverage?area=VN"), &token, q).await;
        let province = latencies(&client, &format!("{base}/api/v1/coverage?area=P07"), &token, q).await;
        let commune = latencies(&client, &format!("{base}/api/v1/coverage?area=P07D3C11"), &token, q).await;
        let check: serde_json::Value = serde_json::from_slice(
            &client
                .get(format!("{base}/api/v1/coverage?area=VN"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("GET")
                .bytes()
                .await
                .expect("body"),
        )
        .expect("json");
        assert_eq!(check["visits"].as_i64(), Some(counts.visits), "country coverage counts every visit");

        let line = |name: &str, v: &[f64], target: &str| {
            println!(
                "{name:<34} p50 {:>7.2} ms   p95 {:>7.2} ms   {target}",
                percentile(v, 50.0),
                percentile(v, 95.0)
            )
        };
        println!("machine: {}", machine());
        println!(
            "{kind}: {} visits, {} households, {n_areas} areas; loaded in {load_s:.0} s ({:.0} visits/s, {writers} writer(s))",
            counts.visits,
            counts.households,
            counts.visits as f64 / load_s
        );
        line("API floor (GET /healthz)", &floor, "");
        line("coverage, whole country", &country, "(target p95 < 200 ms)");
        line("coverage, one province", &province, "");
        line("coverage, one commune", &commune, "(target p95 < 50 ms)");
    });
}
