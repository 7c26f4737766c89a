//! The dashboard at Hà Tĩnh's scale: 365,000 households in the province's real 2020 tree, and
//! 1,000,000 visits over twenty days of August 2020, loaded through the store's own ingest (the
//! code the push endpoint runs). Then, through the real HTTP API as a signed-in admin of the
//! province: coverage and progress (target p95 under 100 ms), the map's reads, the daily report
//! of the whole province (target under 5 s), and, in real headless Chromium, the map's first full
//! render (target under 2 s). Each figure is printed next to its floor, measured in the same run:
//! `GET /healthz` for the API, the raw SQL read of the day's visits for the report, and the
//! arrival of the map's data for the render.
//!
//! `cargo bench -p doorstep-bench --bench dashboard` (BENCH_HOUSEHOLDS, default 365,000;
//! BENCH_VISITS, default 1,000,000; DOORSTEP_BENCH_PG=postgres://... for PostgreSQL). The
//! Chromium part needs `node`, `/usr/bin/chromium` and the dashboard built into the server
//! (`npm run build:dashboard` in ui/ before building); BENCH_NO_BROWSER=1 leaves it out.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use doorstep_bench::{env_usize, machine, percentile, pg_fresh_db};
use doorstep_domain::values::{AreaCode, Id};
use doorstep_domain::visit::{HouseholdInput, LocationInput, VisitInput};
use doorstep_domain::{Campaign, Lang, ValidationContext, Visit};
use doorstep_server::db::ingest::{Incoming, IngestBatch};
use doorstep_server::{AppState, Limits, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const BATCH: usize = 1_000;
const PASSWORD: &str = "dashboard benchmark admin";

/// A household: its commune and its place.
struct Home {
    id: uuid::Uuid,
    commune: usize,
    lat: f64,
    lon: f64,
}

/// The communes of the tree (areas that are nobody's parent), with their district.
fn communes() -> Vec<(String, String)> {
    let areas = doorstep_domain::area::parse_gso_tree(doorstep_bench::HA_TINH_2020).expect("tree");
    let parents: HashSet<String> =
        areas.iter().filter_map(|a| a.parent.as_ref().map(|p| p.as_str().to_string())).collect();
    areas
        .iter()
        .filter(|a| !parents.contains(a.code.as_str()))
        .filter_map(|a| Some((a.code.as_str().to_string(), a.parent.as_ref()?.as_str().to_string())))
        .collect()
}

fn homes(rng: &mut StdRng, n: usize, communes: &[(String, String)]) -> Vec<Home> {
    let bases: Vec<(f64, f64)> = communes.iter().map(|(c, d)| doorstep::generate::base_point(c, Some(d))).collect();
    (0..n)
        .map(|_| {
            let commune = rng.random_range(0..communes.len());
            let (lat, lon) = bases[commune];
            // Within about 1.5 km of the commune's point.
            Home {
                id: uuid::Uuid::now_v7(),
                commune,
                lat: lat + rng.random_range(-0.0135..0.0135),
                lon: lon + rng.random_range(-0.0142..0.0142),
            }
        })
        .collect()
}

/// One device's batch: the visits to `homes[i]` for each index, on `day` (0 = 1 August 2020).
fn batch(
    rng: &mut StdRng, homes: &[Home], picks: &[usize], day: i64, communes: &[(String, String)], campaign: &Campaign,
) -> IngestBatch {
    let device = Id::new_v7();
    let volunteer = uuid::Uuid::now_v7().to_string();
    let offset = FixedOffset::east_opt(7 * 3600).expect("offset");
    let start: DateTime<FixedOffset> =
        offset.with_ymd_and_hms(2020, 8, 1, 7, 30, 0).single().expect("date") + Duration::days(day);
    let now = Utc::now();
    let ctx = ValidationContext { campaign, device_now: now, server_now: Some(now) };
    let records = picks
        .iter()
        .enumerate()
        .map(|(i, &h)| {
            let home = &homes[h];
            let (commune, _) = &communes[home.commune];
            let draft = doorstep::generate::visit(rng, None, commune, (home.lat, home.lon));
            let at = start + Duration::seconds(i as i64 * 40);
            let input = VisitInput {
                id: uuid::Uuid::now_v7().to_string(),
                revision: 1,
                device_seq: i as i64 + 1,
                device_id: device.to_string(),
                volunteer_id: volunteer.clone(),
                area_code: commune.clone(),
                household: HouseholdInput { id: home.id.to_string(), address: draft.address },
                visited_at: at.to_rfc3339(),
                outcome: draft.outcome,
                reason: draft.reason,
                people: draft.people,
                smartphones: draft.smartphones,
                already_installed: draft.already_installed,
                installed_now: draft.installed_now,
                leaflet_given: draft.leaflet_given,
                location: LocationInput {
                    source: "gps".into(),
                    lat: Some(home.lat),
                    lon: Some(home.lon),
                    accuracy_m: Some(8.0),
                },
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

async fn timed(client: &reqwest::Client, url: &str, token: &str, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let resp = client.get(url).bearer_auth(token).send().await.expect("GET");
        let status = resp.status();
        let body = resp.bytes().await.expect("body");
        assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]));
        out.push(t.elapsed().as_secs_f64() * 1e3);
    }
    out.sort_by(f64::total_cmp);
    out
}

fn line(name: &str, v: &[f64], note: &str) {
    println!("{name:<44} p50 {:>8.2} ms   p95 {:>8.2} ms   {note}", percentile(v, 50.0), percentile(v, 95.0));
}

/// The map's first full render in Chromium (`ui/e2e/map-bench.mjs`): the sign-in's (render,
/// data), then (render, data) per load.
type Rendered = ((f64, f64), Vec<f64>, Vec<f64>);

fn browser(base: &str, user: &str) -> Option<Rendered> {
    let ui = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui");
    let out = std::process::Command::new("node")
        .arg("e2e/map-bench.mjs")
        .current_dir(&ui)
        .env("DOORSTEP_URL", base)
        .env("DOORSTEP_USER", user)
        .env("DOORSTEP_PASSWORD", PASSWORD)
        .env("DOORSTEP_RUNS", env_usize("BENCH_BROWSER_RUNS", 5).to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("node");
    assert!(out.status.success(), "the map benchmark in Chromium failed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the map benchmark's JSON line");
    let list = |k: &str| -> Vec<f64> {
        // In load order: the first load is the one of a server that has read nothing yet.
        v[k].as_array().expect("list").iter().filter_map(|x| x.as_f64()).collect::<Vec<f64>>()
    };
    let (runs, data) = (list("runs"), list("data"));
    assert!(!runs.is_empty() && runs.len() == data.len(), "the map benchmark timed no load: {v}");
    let sign_in = (v["sign_in"].as_f64().expect("sign_in"), v["sign_in_data"].as_f64().expect("sign_in_data"));
    Some((sign_in, runs, data))
}

fn main() {
    let households = env_usize("BENCH_HOUSEHOLDS", 365_000);
    let visits = env_usize("BENCH_VISITS", 1_000_000).max(households);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    rt.block_on(async {
        let (db_url, kind) = match std::env::var("DOORSTEP_BENCH_PG") {
            Ok(admin) => (pg_fresh_db(&admin).await, "PostgreSQL"),
            Err(_) => (
                format!("sqlite:{}", dir.path().join("dashboard.db").display()),
                "SQLite",
            ),
        };
        let store: Arc<dyn Store> = doorstep_server::open_store(&db_url).await.expect("store");
        let areas = doorstep_domain::area::parse_gso_tree(doorstep_bench::HA_TINH_2020).expect("tree");
        store.import_areas(areas).await.expect("import");
        let communes = communes();
        let mut rng = StdRng::seed_from_u64(2020);
        let homes = homes(&mut rng, households, &communes);
        let campaign = Campaign::bluezone();

        // Every household once over days 0-9, then the revisits over days 10-19, each batch one
        // device's day: households are found first and some visited again, as in the field.
        let start = Instant::now();
        let mut order: Vec<usize> = (0..homes.len()).collect();
        order.sort_by_key(|&h| (homes[h].commune, h));
        let first_batches: Vec<&[usize]> = order.chunks(BATCH).collect();
        let per_day = first_batches.len().div_ceil(10).max(1);
        let mut loaded = 0usize;
        for (b, picks) in first_batches.iter().enumerate() {
            let day = (b / per_day) as i64;
            let batch = batch(&mut rng, &homes, picks, day, &communes, &campaign);
            store.ingest(batch).await.expect("ingest");
            loaded += picks.len();
        }
        let rest = visits - loaded;
        let second = rest.div_ceil(BATCH);
        for b in 0..second {
            let n = BATCH.min(rest - b * BATCH);
            let picks: Vec<usize> = (0..n).map(|_| rng.random_range(0..homes.len())).collect();
            let day = 10 + (b * 10 / second.max(1)) as i64;
            let batch = batch(&mut rng, &homes, &picks, day, &communes, &campaign);
            store.ingest(batch).await.expect("ingest");
            loaded += n;
            if b % 100 == 0 {
                eprintln!("{loaded} of {visits} visits loaded");
            }
        }
        let load_s = start.elapsed().as_secs_f64();
        let counts = doorstep_server::coverage::counts(&*store).await.expect("counts");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = AppState::new(store.clone(), Campaign::bluezone(), Limits::default());
        tokio::spawn(doorstep_server::serve(listener, state, std::future::pending()));
        doorstep_server::accounts::create_user(&*store, doorstep_server::accounts::NewUser {
                id: uuid::Uuid::now_v7(),
                username: doorstep_domain::account::Username::parse("u", "bench.province").expect("name"),
                password_hash: doorstep_server::auth::hash_password(PASSWORD).expect("hash"),
                role: doorstep_domain::account::Role::Admin,
                area_code: AreaCode::parse("area", "42").expect("code"),
            })
            .await
            .expect("admin");
        let client = reqwest::Client::new();
        let login: serde_json::Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "bench.province", "password": PASSWORD}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login body");
        let token = login["token"].as_str().expect("token").to_string();
        // The browser first, so that its first load finds nothing read or kept by the API rows.
        let rendered = if std::env::var_os("BENCH_NO_BROWSER").is_none() {
            browser(&base, "bench.province").map(|(first, mut render, mut data)| {
                render.sort_by(f64::total_cmp);
                data.sort_by(f64::total_cmp);
                (first, render, data)
            })
        } else {
            None
        };

        println!("machine: {}", machine());
        println!(
            "{kind}: {} visits, {} households, {} communes; loaded in {load_s:.0} s ({:.0} visits/s)",
            counts.visits,
            counts.households,
            communes.len(),
            counts.visits as f64 / load_s
        );
        let q = env_usize("BENCH_QUERIES", 100);
        let (commune, district) = communes[communes.len() / 2].clone();
        let api = |path: String| format!("{base}{path}");
        line(
            "API floor (GET /healthz)",
            &timed(&client, &api("/healthz".into()), &token, q).await,
            "",
        );
        let cov = timed(&client, &api("/api/v1/coverage?area=42".into()), &token, q).await;
        line("coverage, the province", &cov, "(target p95 < 100 ms)");
        line(
            "coverage, a district",
            &timed(&client, &api(format!("/api/v1/coverage?area={district}")), &token, q).await,
            "",
        );
        let prog = timed(
            &client,
            &api("/api/v1/progress?area=42&from=2020-08-01&to=2020-08-20".into()),
            &token,
            q,
        )
        .await;
        line(
            "progress, the province (20 days, 13 units)",
            &prog,
            "(target p95 < 100 ms)",
        );
        line(
            "progress, a district",
            &timed(
                &client,
                &api(format!(
                    "/api/v1/progress?area={district}&from=2020-08-01&to=2020-08-20"
                )),
                &token,
                q,
            )
            .await,
            "",
        );
        let map_q = q.min(20);
        line(
            "map: the province's districts (GeoJSON)",
            &timed(&client, &api("/api/v1/map/areas?parent=42".into()), &token, map_q).await,
            "",
        );
        line(
            "map: a district's communes (GeoJSON)",
            &timed(
                &client,
                &api(format!("/api/v1/map/areas?parent={district}")),
                &token,
                map_q,
            )
            .await,
            "",
        );
        line(
            "map: a commune's households (GeoJSON)",
            &timed(
                &client,
                &api(format!("/api/v1/map/households?area={commune}")),
                &token,
                map_q,
            )
            .await,
            "",
        );
        line(
            "walk list: a commune's revisits",
            &timed(&client, &api(format!("/api/v1/revisits?area={commune}")), &token, map_q).await,
            "",
        );

        // The daily report of the whole province, for a day of the first round.
        let day = "2020-08-05";
        let mut report = Vec::new();
        let mut size = 0;
        for _ in 0..env_usize("BENCH_REPORT_RUNS", 3) {
            let t = Instant::now();
            let resp = client
                .get(api(format!("/api/v1/reports/daily.xlsx?area=42&date={day}")))
                .bearer_auth(&token)
                .send()
                .await
                .expect("report");
            assert_eq!(resp.status(), 200);
            size = resp.bytes().await.expect("body").len();
            report.push(t.elapsed().as_secs_f64() * 1e3);
        }
        report.sort_by(f64::total_cmp);
        let floor = if kind == "SQLite" {
            // The rows the report must read, read raw: the day's visits of the province.
            let path = dir.path().join("dashboard.db");
            let t = Instant::now();
            let conn = rusqlite::Connection::open(&path).expect("open");
            let from = Utc
                .with_ymd_and_hms(2020, 8, 4, 17, 0, 0)
                .single()
                .expect("t")
                .timestamp_millis();
            let n: i64 = conn
                .query_row(
                    "SELECT COUNT(*), SUM(length(notes)), SUM(people) FROM visits
                     WHERE visited_at_ms >= ?1 AND visited_at_ms < ?2",
                    [from, from + 86_400_000],
                    |r| r.get(0),
                )
                .expect("raw read");
            format!(
                "floor: raw scan of the day's {n} visits {:.0} ms",
                t.elapsed().as_secs_f64() * 1e3
            )
        } else {
            String::new()
        };
        println!(
            "{:<44} best {:>8.0} ms   worst {:>6.0} ms   {} KiB   (target < 5 s)   {floor}",
            format!("daily report XLSX, the province, {day}"),
            report[0],
            report[report.len() - 1],
            size / 1024
        );

        if let Some((first, render, data)) = &rendered {
            println!(
                "{:<44} p50 {:>8.0} ms   worst {:>6.0} ms   (target < 2 s)   floor: map data in at p50 {:.0} ms",
                "map first full render, Chromium (province)",
                percentile(render, 50.0),
                render[render.len() - 1],
                percentile(data, 50.0)
            );
            println!(
                "{:<44} {:>12.0} ms   (from the sign-in's click, the server just started)   floor: map data in at {:.0} ms",
                "first load after sign-in, cold server", first.0, first.1
            );
        }
        assert_eq!(counts.households as usize, households, "every household was visited");
    });
}
