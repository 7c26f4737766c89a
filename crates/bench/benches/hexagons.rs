//! The map's hexagons at Hà Tĩnh's scale: 365,000 households and 1,000,000 visits over twenty
//! days of August 2020, loaded through the store's own ingest into every commune of the 2020
//! tree, by 50 volunteers of whom 10 form a team. Then, through the real HTTP API as a signed-in
//! admin: hexagons of the whole province at resolutions 6 to 8, under each filter, for one
//! commune, and a CSV export of the province's households; p50 and p95 next to the API's floor
//! (`GET /healthz`) and the province's coverage in the same run.
//!
//! `cargo bench -p doorstep-bench --bench hexagons` (BENCH_HEX_VISITS, default 1,000,000;
//! BENCH_QUERIES, default 20; DOORSTEP_BENCH_PG=postgres://... for PostgreSQL, else SQLite, in a
//! temporary folder or BENCH_HEX_DIR).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, FixedOffset, TimeZone, Utc};
use doorstep_bench::{HA_TINH_2020, env_usize, machine, percentile, pg_fresh_db};
use doorstep_domain::account::{Role, Username};
use doorstep_domain::values::{AreaCode, Id};
use doorstep_domain::visit::{HouseholdInput, VisitInput};
use doorstep_domain::{Campaign, Lang, ValidationContext, Visit};
use doorstep_server::accounts::NewUser;
use doorstep_server::db::ingest::{Incoming, IngestBatch};
use doorstep_server::manage::{NewAssignment, NewTeam};
use doorstep_server::{AppState, Limits, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const BATCH: usize = 1_000;
/// 365 new households a batch, the rest revisits: 365,000 households for 1,000,000 visits.
const NEW_PER_BATCH: usize = 365;
const VOLUNTEERS: usize = 50;
const TEAM: usize = 10;

/// One batch of one volunteer in one commune, around the commune's point, over 20 days.
fn batch(rng: &mut StdRng, commune: &(String, (f64, f64)), volunteer: uuid::Uuid, campaign: &Campaign) -> IngestBatch {
    let device = Id::new_v7();
    let offset = FixedOffset::east_opt(7 * 3600).expect("offset");
    let start = offset.with_ymd_and_hms(2020, 8, 1, 7, 0, 0).single().expect("date");
    let now = Utc::now();
    let ctx = ValidationContext { campaign, device_now: now, server_now: Some(now) };
    let mut households: Vec<String> = Vec::new();
    let records = (0..BATCH)
        .map(|i| {
            // A village of a few streets: a couple of kilometres around the commune's point.
            let near = (commune.1.0 + rng.random_range(-0.02..0.02), commune.1.1 + rng.random_range(-0.02..0.02));
            let draft = doorstep::generate::visit(rng, None, &commune.0, near);
            let household = if i >= NEW_PER_BATCH && !households.is_empty() {
                households[rng.random_range(0..households.len())].clone()
            } else {
                let h = uuid::Uuid::now_v7().to_string();
                households.push(h.clone());
                h
            };
            let visited_at = start + Duration::minutes(rng.random_range(0..20 * 24 * 60));
            let input = VisitInput {
                id: uuid::Uuid::now_v7().to_string(),
                revision: 1,
                device_seq: i as i64 + 1,
                device_id: device.to_string(),
                volunteer_id: volunteer.to_string(),
                area_code: commune.0.clone(),
                household: HouseholdInput { id: household, address: draft.address },
                visited_at: visited_at.to_rfc3339(),
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
        volunteer_id: None,
        scope: Vec::new(),
        rules: doorstep_domain::quality::QualityRules::for_campaign(campaign),
        revoked_device: false,
        app_version: None,
    }
}

async fn latencies(client: &reqwest::Client, url: &str, token: &str, n: usize) -> (Vec<f64>, usize) {
    let mut out = Vec::with_capacity(n);
    let mut bytes = 0;
    for _ in 0..n {
        let t = Instant::now();
        let resp = client.get(url).bearer_auth(token).send().await.expect("GET");
        assert_eq!(resp.status(), 200, "{url}");
        bytes = resp.bytes().await.expect("body").len();
        out.push(t.elapsed().as_secs_f64() * 1e3);
    }
    out.sort_by(f64::total_cmp);
    (out, bytes)
}

async fn user(store: &dyn Store, name: &str, role: Role, password_hash: &str) -> uuid::Uuid {
    let id = uuid::Uuid::now_v7();
    doorstep_server::accounts::create_user(
        store,
        NewUser {
            id,
            username: Username::parse("u", name).expect("name"),
            password_hash: password_hash.to_string(),
            role,
            area_code: AreaCode::parse("area", "42").expect("code"),
        },
    )
    .await
    .expect("user");
    id
}

fn main() {
    let visits = env_usize("BENCH_HEX_VISITS", 1_000_000);
    let queries = env_usize("BENCH_QUERIES", 20);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        let (db_url, kind) = match std::env::var("DOORSTEP_BENCH_PG") {
            Ok(admin) => (pg_fresh_db(&admin).await, "PostgreSQL"),
            // BENCH_HEX_DIR keeps the database, to look at the queries' plans afterwards.
            Err(_) => {
                let dir =
                    std::env::var("BENCH_HEX_DIR").map(std::path::PathBuf::from).unwrap_or(dir.path().to_path_buf());
                (format!("sqlite:{}", dir.join("hexagons.db").display()), "SQLite")
            }
        };
        let store: Arc<dyn Store> = doorstep_server::open_store(&db_url).await.expect("store");
        let areas = doorstep_domain::area::parse_gso_tree(HA_TINH_2020).expect("tree");
        // Communes (the leaves), each at a point near its district's seat.
        let mut communes = Vec::new();
        for a in &areas {
            if let Some(parent) = &a.parent
                && !areas.iter().any(|c| c.parent.as_ref() == Some(&a.code))
            {
                let p = doorstep::generate::base_point(a.code.as_str(), Some(parent.as_str()));
                communes.push((a.code.to_string(), p));
            }
        }
        store.import_areas(areas).await.expect("import");

        // The people: an admin who reads, 50 volunteers, 10 of them in one team.
        let password = "hexagon benchmark admin";
        let hash = doorstep_server::auth::hash_password(password).expect("hash");
        let admin = user(store.as_ref(), "bench.admin", Role::Admin, &hash).await;
        let mut volunteers = Vec::new();
        for i in 0..VOLUNTEERS {
            volunteers.push(user(store.as_ref(), &format!("bench.v{i}"), Role::Volunteer, &hash).await);
        }
        let team = uuid::Uuid::now_v7();
        doorstep_server::manage::insert_team(
            &*store,
            NewTeam {
                id: team,
                name: "Đội đo".into(),
                area_code: AreaCode::parse("area", "42").expect("code"),
                leader_id: admin,
                created_ms: 0,
            },
        )
        .await
        .expect("team");
        for v in &volunteers[..TEAM] {
            doorstep_server::manage::insert_assignment(
                &*store,
                NewAssignment {
                    team_id: team,
                    user_id: *v,
                    area_code: AreaCode::parse("area", "42").expect("code"),
                    assigned_by: "bench".into(),
                    at_ms: 0,
                },
            )
            .await
            .expect("assign");
        }

        let start = Instant::now();
        let campaign = Campaign::bluezone();
        let mut rng = StdRng::seed_from_u64(11);
        for b in 0..visits / BATCH {
            let commune = &communes[b % communes.len()];
            let volunteer = volunteers[b % VOLUNTEERS];
            let batch = batch(&mut rng, commune, volunteer, &campaign);
            store.ingest(batch).await.expect("ingest");
        }
        let load_s = start.elapsed().as_secs_f64();
        let counts = doorstep_server::coverage::counts(&*store).await.expect("counts");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = AppState::new(store.clone(), Campaign::bluezone(), Limits::default());
        tokio::spawn(doorstep_server::serve(listener, state, std::future::pending()));
        let client = reqwest::Client::new();
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

        println!("machine: {}", machine());
        println!(
            "{kind}: {} visits, {} households, {} communes; loaded in {load_s:.0} s",
            counts.visits,
            counts.households,
            communes.len()
        );
        let commune = &communes[0].0;
        let cases: Vec<(String, String)> = vec![
            ("API floor (GET /healthz)".into(), "/healthz".into()),
            ("coverage, the province".into(), "/api/v1/coverage?area=42".into()),
            ("hexagons, province, res 6".into(), "/api/v1/map/hexagons?area=42&res=6".into()),
            ("hexagons, province, res 7".into(), "/api/v1/map/hexagons?area=42&res=7".into()),
            ("hexagons, province, res 8".into(), "/api/v1/map/hexagons?area=42&res=8".into()),
            ("  + outcome filter".into(), "/api/v1/map/hexagons?area=42&res=7&outcome=refused,not_home".into()),
            ("  + 7 days".into(), "/api/v1/map/hexagons?area=42&res=7&from=2020-08-05&to=2020-08-11".into()),
            ("  + team".into(), "/api/v1/map/hexagons?area=42&res=7&team=%C4%90%E1%BB%99i%20%C4%91o".into()),
            (format!("hexagons, commune {commune}, res 9"), format!("/api/v1/map/hexagons?area={commune}&res=9")),
            (
                format!("  + 7 days, commune {commune}"),
                format!("/api/v1/map/hexagons?area={commune}&res=9&from=2020-08-05&to=2020-08-11"),
            ),
        ];
        for (name, path) in cases {
            let (v, bytes) = latencies(&client, &format!("{base}{path}"), &token, queries).await;
            println!(
                "{name:<40} p50 {:>8.1} ms   p95 {:>8.1} ms   {:>9} bytes",
                percentile(&v, 50.0),
                percentile(&v, 95.0),
                bytes
            );
        }
        let (v, bytes) = latencies(&client, &format!("{base}/api/v1/exports/households.csv?area=42"), &token, 3).await;
        println!(
            "{:<40} p50 {:>8.1} ms   {:>9} bytes",
            "export, province households (CSV)",
            percentile(&v, 50.0),
            bytes
        );
    });
}
