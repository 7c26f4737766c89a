//! The `doorstep` command as a user meets it: help, area import, simulate, the demo.

use std::time::Duration;

use doorstep_tests::{TestDb, TestServer, doorstep, doorstep_bin, root, simulate, wait_until};
use serde_json::Value;

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["admin", "--help"],
        &["admin", "import-areas", "--help"],
        &["admin", "backup", "--help"],
        &["admin", "create-user", "--help"],
        &["admin", "enrol-code", "--help"],
        &["admin", "create-team", "--help"],
        &["admin", "assign", "--help"],
        &["admin", "revoke-device", "--help"],
        &["admin", "audit", "--help"],
        &["admin", "migrate", "--help"],
        &["simulate", "--help"],
        &["export", "--help"],
    ] {
        let (ok, out, err) = doorstep(args);
        assert!(ok, "{args:?}: {err}");
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
}

fn import(db: &str, file: &std::path::Path) -> (bool, String, String) {
    doorstep(&["admin", "--db", db, "import-areas", &file.to_string_lossy()])
}

fn area_count(db: &TestDb) -> i64 {
    db.i64("SELECT COUNT(*) FROM areas")
}

#[test]
fn both_trees_import_and_reimport_changes_nothing() {
    for (file, count) in [("ha-tinh-2020-three-tier.json", 223), ("ha-tinh-2025-two-tier.json", 70)] {
        let tdb = TestDb::fresh();
        let db = tdb.url.clone();
        let file = root().join("data/areas").join(file);
        let (ok, out, err) = import(&db, &file);
        assert!(ok, "{err}");
        let first: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(first["inserted"], count, "{out}");
        let (ok, out, _) = import(&db, &file);
        assert!(ok);
        let again: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(
            (again["inserted"].as_i64(), again["updated"].as_i64(), again["unchanged"].as_i64()),
            (Some(0), Some(0), Some(count))
        );
        assert_eq!(area_count(&tdb), count);
    }
}

#[test]
fn a_malformed_area_file_is_refused_whole_with_the_place_named() {
    let dir = tempfile::tempdir().unwrap();
    let tdb = TestDb::fresh();
    let db = tdb.url.clone();
    let bad = dir.path().join("bad.json");
    // The third commune's code is not a code: nothing of the file may land.
    std::fs::write(
        &bad,
        r#"{"province": {"code": 42, "name": "Hà Tĩnh", "communes": [
            {"code": 1, "name": "Xã Một"},
            {"code": 2, "name": "Xã Hai"},
            {"code": "3 3", "name": "Xã Ba"}]}}"#,
    )
    .unwrap();
    let (ok, _, err) = import(&db, &bad);
    assert!(!ok);
    assert!(err.contains("province.communes[2]"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(area_count(&tdb), 0);

    std::fs::write(&bad, "{\"province\": {\"code\": 42,\n\"name\": \"x\"\n\"communes\": []}}").unwrap();
    let (ok, _, err) = import(&db, &bad);
    assert!(!ok);
    assert!(err.contains("line 3"), "{err}");

    // GeoJSON villages under a commune that is not there are refused; after the tree, accepted.
    let villages = dir.path().join("villages.geojson");
    std::fs::write(
        &villages,
        r#"{"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "18073-01", "name": "Tổ dân phố 1", "parent_code": "18073"},
             "geometry": {"type": "Polygon", "coordinates": [[[105.90,18.34],[105.91,18.34],[105.91,18.35],[105.90,18.34]]]}}]}"#,
    )
    .unwrap();
    let (ok, _, err) = import(&db, &villages);
    assert!(!ok);
    assert!(err.contains("parent 18073"), "{err}");
    assert!(import(&db, &root().join("data/areas/ha-tinh-2020-three-tier.json")).0);
    let (ok, out, err) = import(&db, &villages);
    assert!(ok, "{err}");
    assert!(out.contains("\"inserted\":1"), "{out}");
    let level = tdb.i64("SELECT level FROM areas WHERE code = '18073-01'");
    assert_eq!(level, 3, "province 0 > district 1 > commune 2 > village 3");
}

#[test]
fn simulate_prints_json_last_and_records_even_with_no_server() {
    let port = doorstep_tests::free_port();
    let (ok, out, err) = simulate(&[
        "--server",
        &format!("http://127.0.0.1:{port}"),
        "--devices",
        "2",
        "--visits",
        "5",
        "--sync-timeout",
        "1",
    ]);
    assert!(ok, "{err}");
    let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["recorded"], 10);
    assert_eq!(last["confirmed"], 0);
    assert_eq!(last["pending"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_against_a_server_confirms_everything() {
    let server = TestServer::spawn();
    let (ok, out, err) = simulate(&["--server", &server.url, "--devices", "3", "--visits", "40", "--area", "443"]);
    assert!(ok, "{err}");
    let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(
        (last["recorded"].as_i64(), last["confirmed"].as_i64(), last["rejected"].as_i64()),
        (Some(120), Some(120), Some(0))
    );
    assert_eq!(server.coverage("443").await["visits"], 120);
}

#[test]
fn serve_demo_shows_data_at_once() {
    let db = TestDb::fresh();
    let mut child = std::process::Command::new(doorstep_bin())
        .args(["serve", "--demo", "--db", &db.url, "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Outcomes seen and visits stored, once the server has made its tables.
    let visits = || db.try_i64("SELECT COUNT(DISTINCT outcome) * 100000 + COUNT(*) FROM visits").unwrap_or(0);
    let ready = wait_until(Duration::from_secs(120), || visits() >= 7 * 100_000 + 2_000);
    let households = db.i64("SELECT COUNT(*) FROM households");
    // The demo's leader has a team, and its volunteer an assignment; the simulated volunteers
    // are enrolled devices, one account per district.
    let assigned = db.i64("SELECT COUNT(*) FROM assignments a JOIN teams t ON t.id = a.team_id");
    let enrolled = || db.try_i64("SELECT COUNT(*) FROM device_tokens").unwrap_or(0);
    let all_enrolled = wait_until(Duration::from_secs(120), || enrolled() == 24);
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready, "demo visits: {}", visits());
    assert!(households >= 4_000, "{households}");
    assert_eq!(assigned, 1);
    assert!(all_enrolled, "two phones in each of the 12 districts: {}", enrolled());
}

#[test]
fn a_second_process_on_one_sqlite_file_is_refused_with_a_reason() {
    // About SQLite whatever the pass: on PostgreSQL several servers are the point.
    let server = TestServer::spawn_with(TestDb::sqlite());
    let (ok, _, err) =
        doorstep(&["admin", "--db", &server.db.url, "import-areas", "data/areas/ha-tinh-2025-two-tier.json"]);
    assert!(!ok);
    assert!(err.contains("another doorstep process is using"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_taken_while_the_server_runs_and_serves_the_same_state() {
    let server = TestServer::spawn_with(TestDb::sqlite());
    let (ok, out, err) = simulate(&["--server", &server.url, "--devices", "2", "--visits", "30", "--area", "436"]);
    assert!(ok, "{err}: {out}");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    let (ok, out, err) = doorstep(&["admin", "--db", &server.db.url, "backup", &copy.to_string_lossy()]);
    assert!(ok, "{err}");
    assert!(out.contains("\"bytes\""), "{out}");
    // A second backup to the same file is refused rather than overwriting it.
    let (ok, _, err) = doorstep(&["admin", "--db", &server.db.url, "backup", &copy.to_string_lossy()]);
    assert!(!ok && err.contains("exists already"), "{err}");
    let restored = TestServer::spawn_on_existing(TestDb::sqlite_at(&copy));
    assert_eq!(restored.coverage("42").await, server.coverage("42").await);
    assert_eq!(restored.visit_count(), 60);
}

/// Readiness and the version: `/readyz` answers 200 while the database answers with the schema
/// this build runs, and 503 naming both versions when it does not; `/api/v1/version` names the
/// build, its commit and the schema. Neither needs a token. On both databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_and_the_version_name_the_schema() {
    let server = doorstep_tests::TestServer::spawn();
    let (status, ready) = server.get_as("/readyz", None).await;
    assert_eq!(status, 200, "{ready}");
    let runs = ready["schema_version"].as_i64().unwrap();
    assert!(runs >= 22, "{ready}");
    assert_eq!(ready["database_schema_version"].as_i64(), Some(runs));
    assert_eq!(ready["database"], if server.db.is_postgres() { "postgres" } else { "sqlite" });
    let (status, version) = server.get_as("/api/v1/version", None).await;
    assert_eq!(status, 200, "{version}");
    assert_eq!(version["server"], env!("CARGO_PKG_VERSION"));
    let commit = version["commit"].as_str().unwrap();
    assert!(commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())), "{commit}");

    // The database one version behind (a server started on a copy not yet migrated, say).
    if server.db.is_postgres() {
        server.db.rows("DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations) RETURNING version");
    } else {
        let conn = rusqlite::Connection::open(server.db.url.trim_start_matches("sqlite:")).unwrap();
        conn.pragma_update(None, "user_version", runs - 1).unwrap();
    }
    let (status, body) = server.get_as("/readyz", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("schema_mismatch")), "{body}");
    let vi = body["error"]["messages"]["vi"].as_str().unwrap();
    assert!(vi.contains(&format!("phiên bản lược đồ {}", runs - 1)) && vi.contains(&format!("cần {runs}")), "{vi}");
    assert_eq!(server.get_as("/healthz", None).await.0, 200, "alive all the same");
}
