//! The campaign is data: a second campaign, different from Bluezone in every name, loaded with
//! `doorstep admin campaign load`, is what the server validates visits against and serves; a bad
//! campaign file is refused with its place and changes nothing. On SQLite and on PostgreSQL.

use doorstep_tests::{TestDevice, TestServer, doorstep, root};
use serde_json::{Value, json};

fn load(db: &str, file: &std::path::Path) -> (bool, String, String) {
    doorstep(&["admin", "--db", db, "campaign", "load", &file.to_string_lossy()])
}

fn show(db: &str) -> Value {
    let (ok, out, err) = doorstep(&["admin", "--db", db, "campaign", "show"]);
    assert!(ok, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// A record the phone made (under the default campaign), with its outcome changed.
fn record_with(device: &mut TestDevice, outcome: &str, reason: Option<&str>) -> Value {
    device.record(1);
    let store = device.store.lock().unwrap();
    let entry = store.next_batch(usize::MAX).unwrap().pop().unwrap();
    let mut record: Value = serde_json::from_str(&entry.body).unwrap();
    record["outcome"] = outcome.into();
    record["reason"] = reason.map(Value::from).unwrap_or(Value::Null);
    record["counts"] = json!({"people": 3, "smartphones": 2, "already_installed": 0, "installed_now": 0});
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_campaign_loaded_from_a_file_is_the_one_the_server_runs() {
    let mut server = TestServer::prepare_stopped();
    let db = server.db.url.clone();
    assert_eq!(show(&db)["code"], "bluezone-2020", "the default before any load");

    // A bad file: refused with the field named; the campaign is unchanged.
    let dir = tempfile::tempdir().unwrap();
    let good: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/data/pc-covid-2021.json")).unwrap()).unwrap();
    let mut bad = good.clone();
    bad["outcomes"][3]["code"] = "cai_moi".into();
    let bad_file = dir.path().join("bad.json");
    std::fs::write(&bad_file, serde_json::to_string_pretty(&bad).unwrap()).unwrap();
    let (ok, _, err) = load(&db, &bad_file);
    assert!(!ok);
    assert!(err.contains("outcomes[3].code") && err.contains("listed twice"), "{err}");
    assert!(err.contains("the campaign was not changed"), "{err}");
    std::fs::write(&bad_file, "{\n  \"code\": \"x\",\n  oops\n}").unwrap();
    let (ok, _, err) = load(&db, &bad_file);
    assert!(!ok && err.contains("line 3"), "{err}");
    assert_eq!(show(&db)["code"], "bluezone-2020");

    // The second campaign.
    let (ok, out, err) = load(&db, &root().join("tests/data/pc-covid-2021.json"));
    assert!(ok, "{err}");
    assert!(out.contains("pc-covid-2021"), "{out}");
    let shown = show(&db);
    assert_eq!(shown["target_app"], "PC-Covid");
    assert_eq!(shown["outcomes"][2]["revisit_after_hours"], 48);

    server.start_again();
    let (status, served) = server.get("/api/v1/campaign").await;
    assert_eq!(status, 200);
    assert_eq!(served["code"], "pc-covid-2021");
    assert_eq!(served["coverage_bands"]["low_percent"], 40.0);
    assert_eq!(served["store_links"][0]["store"], "Google Play");

    // Visits are judged by its outcomes: its own are stored, Bluezone's are not known.
    let mut device = TestDevice::new(7);
    server.enrol(&device).await;
    let device_id = device.store.lock().unwrap().device_id().to_string();
    let records = vec![
        record_with(&mut device, "khong_gap", None),
        record_with(&mut device, "hen_lai", Some("Bận đi làm, hẹn tối mai")),
        record_with(&mut device, "hen_lai", None),
        record_with(&mut device, "not_home", None),
    ];
    let body = json!({"device_id": device_id, "sent_at": chrono::Utc::now().to_rfc3339(), "records": records});
    let (status, answer) = server.push_json(&body).await;
    assert_eq!(status, 422, "{answer}");
    let statuses: Vec<&str> =
        answer["receipts"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["stored", "stored", "rejected", "rejected"], "{answer}");
    assert_eq!(answer["receipts"][2]["error"]["field"], "reason", "{answer}");
    assert_eq!(answer["receipts"][3]["error"]["field"], "outcome", "{answer}");
    assert_eq!(server.visit_count(), 2);

    // The audit log names the load.
    let (_, log) = server.get("/api/v1/audit").await;
    assert!(log.as_array().unwrap().iter().any(|e| e["action"] == "load-campaign"), "{log}");
}

/// The second campaign's "come back later" is due 48 hours after the visit: a household visited
/// 47 hours ago is not due, one visited 49 hours ago is, and "nobody met" is due at once; in the
/// pull (with the due time, for the phone to judge by its own clock), on the map and in the walk
/// list. On SQLite and on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revisit_is_due_only_after_its_outcomes_delay() {
    let mut server = TestServer::prepare_stopped();
    let (ok, _, err) = load(&server.db.url, &root().join("tests/data/pc-covid-2021.json"));
    assert!(ok, "{err}");
    server.start_again();
    let mut device = TestDevice::new(11);
    server.enrol(&device).await;
    let device_id = device.store.lock().unwrap().device_id().to_string();
    let now = chrono::Utc::now();
    let vietnam = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
    let visited = |hours_ago: i64| now - chrono::Duration::hours(hours_ago);
    let mut records = Vec::new();
    for (outcome, reason, hours_ago) in [
        ("hen_lai", Some("Hẹn tối mai"), 47),
        ("hen_lai", Some("Đi vắng, hẹn hôm khác"), 49),
        ("khong_gap", None, 1),
        ("cai_moi", None, 49),
    ] {
        let mut r = record_with(&mut device, outcome, reason);
        r["visited_at"] = visited(hours_ago).with_timezone(&vietnam).to_rfc3339().into();
        if outcome == "cai_moi" {
            (r["smartphones"], r["already_installed"], r["installed_now"]) = (2.into(), 0.into(), 1.into());
        }
        records.push(r);
    }
    let household = |i: usize| records[i]["household"]["id"].as_str().unwrap().to_string();
    let body = json!({"device_id": device_id, "sent_at": now.to_rfc3339(), "records": records});
    let (status, answer) = server.push_json(&body).await;
    assert_eq!(status, 200, "{answer}");

    // The pull: due now by the server's clock, and when.
    let (_, page) = server.get("/api/v1/sync/pull?area=42&limit=100").await;
    let pulled = |i: usize| {
        page["households"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == household(i).as_str())
            .unwrap_or_else(|| panic!("household {i} pulled: {page}"))
            .clone()
    };
    let ms = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis();
    let due: Vec<bool> = (0..4).map(|i| pulled(i)["revisit_due"] == true).collect();
    assert_eq!(due, [false, true, true, false], "{page}");
    assert_eq!(pulled(0)["revisit_due_at_ms"], ms(visited(47)) + 48 * 3_600_000);
    assert_eq!(pulled(1)["revisit_due_at_ms"], ms(visited(49)) + 48 * 3_600_000);
    assert_eq!(pulled(2)["revisit_due_at_ms"], ms(visited(1)));
    assert_eq!(pulled(3)["revisit_due_at_ms"], Value::Null, "installed: never due");

    // A phone given the page judges by its own clock: not due now, due in an hour and more.
    {
        let mut store = device.store.lock().unwrap();
        store.set_campaign(
            doorstep_domain::Campaign::parse_file(
                &std::fs::read_to_string(root().join("tests/data/pc-covid-2021.json")).unwrap(),
            )
            .unwrap(),
        );
        store.apply_pull(&serde_json::from_value(page.clone()).unwrap()).unwrap();
        let due_at = |when: chrono::DateTime<chrono::Utc>| -> Vec<String> {
            store.households_at(None, when).unwrap().into_iter().filter(|h| h.revisit_due).map(|h| h.id).collect()
        };
        assert!(!due_at(now).contains(&household(0)));
        assert!(due_at(now + chrono::Duration::minutes(61)).contains(&household(0)));
    }

    // The walk list: the households due now, with their due time.
    let (status, walk) = server.get("/api/v1/revisits?area=42").await;
    assert_eq!(status, 200, "{walk}");
    let mut listed: Vec<String> =
        walk.as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap().to_string()).collect();
    listed.sort();
    let mut expected = vec![household(1), household(2)];
    expected.sort();
    assert_eq!(listed, expected, "{walk}");
    assert!(walk.as_array().unwrap().iter().all(|h| h["due_at_ms"].as_i64().unwrap() <= ms(chrono::Utc::now())));

    // The map's points say the same, with and without a filter.
    for query in ["", "&outcome=hen_lai,khong_gap,cai_moi"] {
        let (status, map) = server.get(&format!("/api/v1/map/households?area=42{query}")).await;
        assert_eq!(status, 200, "{map}");
        let due_on_map = |i: usize| {
            map["features"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["properties"]["id"] == household(i).as_str())
                .map(|f| f["properties"]["revisit_due"] == true)
        };
        let shown: Vec<_> = (0..4).map(due_on_map).collect();
        assert_eq!(shown, [Some(false), Some(true), Some(true), Some(false)], "{query}: {map}");
    }

    // The household keeps its latest visit's time, as the phone sent it.
    let held =
        server.db.i64(&format!("SELECT COUNT(*) FROM households WHERE latest_visited_at_ms = {}", ms(visited(47))));
    assert_eq!(held, 1);
}

/// A campaign loaded while the server runs is run within seconds: served to phones and judging
/// visits, no restart. On PostgreSQL the command writes the database the servers follow; on
/// SQLite, whose file the one server holds, the server loads it itself (its admin socket).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_loaded_while_the_server_runs_is_run_without_a_restart() {
    let server = TestServer::spawn();
    let (_, served) = server.get("/api/v1/campaign").await;
    assert_eq!(served["code"], "bluezone-2020");
    let (ok, _, err) = load(&server.db.url, &root().join("tests/data/pc-covid-2021.json"));
    assert!(ok, "{err}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, served) = server.get("/api/v1/campaign").await;
        if served["code"] == "pc-covid-2021" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still serving {}", served["code"]);
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    // Visits are judged by it too.
    let mut device = TestDevice::new(12);
    server.enrol(&device).await;
    let device_id = device.store.lock().unwrap().device_id().to_string();
    let records = vec![record_with(&mut device, "khong_gap", None), record_with(&mut device, "not_home", None)];
    let body = json!({"device_id": device_id, "sent_at": chrono::Utc::now().to_rfc3339(), "records": records});
    let (status, answer) = server.push_json(&body).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["receipts"][0]["status"], "stored", "{answer}");
    assert_eq!(answer["receipts"][1]["status"], "rejected", "{answer}");
}
