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
    assert!(
        err.contains("outcomes[3].code") && err.contains("listed twice"),
        "{err}"
    );
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
    let statuses: Vec<&str> = answer["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["stored", "stored", "rejected", "rejected"], "{answer}");
    assert_eq!(answer["receipts"][2]["error"]["field"], "reason", "{answer}");
    assert_eq!(answer["receipts"][3]["error"]["field"], "outcome", "{answer}");
    assert_eq!(server.visit_count(), 2);

    // The audit log names the load.
    let (_, log) = server.get("/api/v1/audit").await;
    assert!(
        log.as_array().unwrap().iter().any(|e| e["action"] == "load-campaign"),
        "{log}"
    );
}
