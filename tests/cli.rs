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
        &["config", "--help"],
        &["config", "check", "--help"],
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

/// A second server on one SQLite file is refused with a reason; `doorstep admin` and `doorstep
/// export` are not: the running server does them (its admin socket), so nothing needs a stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_server_holds_a_sqlite_file_admin_and_export_go_through_it() {
    // About SQLite whatever the pass: on PostgreSQL several processes share the database anyway.
    let server = TestServer::spawn_with(TestDb::sqlite());
    let file = server.db.url.trim_start_matches("sqlite:").to_string();
    let out = std::process::Command::new(doorstep_bin())
        .args(["serve", "--db", &server.db.url, "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("another doorstep process is using"), "{err}");
    // Only the service's user (and root) may use the socket.
    use std::os::unix::fs::PermissionsExt;
    let socket = std::fs::metadata(format!("{file}.admin.sock")).unwrap();
    assert_eq!(socket.permissions().mode() & 0o777, 0o600);

    let db = server.db.url.clone();
    let admin = move |args: &[&str], stdin: Option<&str>| {
        let mut child = std::process::Command::new(doorstep_bin())
            .args(["admin", "--db", &db])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(text) = stdin {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let (o, e) =
            (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
        (out.status.success(), o, e)
    };
    // A file read where the command is typed: the server imports it at once, and the writer
    // knows the new areas (a visit to one is stored right after).
    let (ok, out, err) =
        admin(&["import-areas", &root().join("data/areas/ha-tinh-2025-two-tier.json").to_string_lossy()], None);
    assert!(ok, "{err}");
    assert!(out.contains("\"inserted\""), "{out}");
    // A password from standard input, never an argument.
    let (ok, out, err) = admin(
        &["create-user", "--username", "canbo.moi", "--role", "leader", "--area", "436"],
        Some("mat-khau-moi-1\n"),
    );
    assert!(ok && out.contains("canbo.moi"), "{out} {err}");
    assert!(!server.login("canbo.moi", "mat-khau-moi-1").await.is_empty(), "signs in at once");
    // A file written where the command is typed.
    let dir = tempfile::tempdir().unwrap();
    let qr = dir.path().join("code.svg");
    let (ok, out, err) =
        admin(&["enrol-code", "--volunteer", doorstep_tests::VOLUNTEER, "--qr", &qr.to_string_lossy()], None);
    assert!(ok && out.contains("\"code\""), "{out} {err}");
    assert!(
        std::fs::read_to_string(&qr).unwrap().starts_with("<?xml")
            || std::fs::read_to_string(&qr).unwrap().contains("<svg")
    );
    // A refusal says the caller's file, not the server's copy.
    let bad = dir.path().join("bad-areas.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let (ok, _, err) = admin(&["import-areas", &bad.to_string_lossy()], None);
    assert!(!ok && err.contains(&*bad.to_string_lossy()) && err.contains("nothing was imported"), "{err}");
    let (ok, out, _) = admin(&["audit", "--limit", "5"], None);
    assert!(ok && out.contains("create-user") && out.contains("import-areas"), "{out}");
    // An export, written where it was asked.
    let csv = dir.path().join("households.csv");
    let (ok, out, err) = doorstep(&[
        "export",
        "--db",
        &server.db.url,
        "--area",
        "42",
        "--format",
        "csv",
        "--out",
        &csv.to_string_lossy(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains(&*csv.to_string_lossy()), "{out}");
    assert!(std::fs::read(&csv).unwrap().starts_with(b"\xEF\xBB\xBF"), "a CSV with its BOM");
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

/// A backup taken while phones keep pushing holds every visit acknowledged before it began: a
/// fresh server started on the copy finds each of them (and may hold some acknowledged later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_phones_push_holds_every_visit_acknowledged_before_it() {
    let server = TestServer::spawn_with(TestDb::sqlite());
    type Acks = Vec<(std::time::Instant, Vec<(String, i64)>)>;
    let acks: std::sync::Arc<std::sync::Mutex<Acks>> = Default::default();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut pushers = Vec::new();
    for seed in 0..3u64 {
        let mut device = doorstep_tests::TestDevice::new(900 + seed);
        server.enrol(&device).await;
        let (url, acks, stop) = (server.url.clone(), acks.clone(), stop.clone());
        pushers.push(tokio::spawn(async move {
            let client = device.client(&url, 50);
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                device.record(5);
                if client.push_batch(&device.store).await.is_ok() && device.pending() == 0 {
                    // Everything this phone recorded so far is acknowledged now.
                    acks.lock().unwrap().push((std::time::Instant::now(), device.recorded_ids()));
                }
            }
        }));
    }
    assert!(wait_until(Duration::from_secs(30), || acks.lock().unwrap().len() >= 6), "the phones push");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("during.db");
    let began = std::time::Instant::now();
    let db = server.db.url.clone();
    let path = copy.to_string_lossy().into_owned();
    let (ok, _, err) =
        tokio::task::spawn_blocking(move || doorstep(&["admin", "--db", &db, "backup", &path])).await.unwrap();
    let ended = std::time::Instant::now();
    assert!(ok, "{err}");
    // Pushes kept arriving while the copy was taken.
    assert!(wait_until(Duration::from_secs(30), || acks.lock().unwrap().iter().any(|(at, _)| *at > ended)));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for p in pushers {
        p.await.unwrap();
    }
    let before: std::collections::BTreeSet<(String, i64)> =
        acks.lock().unwrap().iter().filter(|(at, _)| *at < began).flat_map(|(_, ids)| ids.clone()).collect();
    assert!(before.len() >= 30, "{} acknowledged before", before.len());
    let restored = TestServer::spawn_on_existing(TestDb::sqlite_at(&copy));
    let held: std::collections::BTreeSet<(String, i64)> = restored.visit_ids().into_iter().collect();
    let missing: Vec<_> = before.difference(&held).collect();
    assert!(missing.is_empty(), "acknowledged before the backup, missing from it: {missing:?}");
    assert!(held.len() <= server.visit_count() as usize);
}

/// `backup --into DIR --keep N`: a copy named by the time, then only the newest N of the copies
/// it makes stay (other files in the folder are left alone).
#[test]
fn backups_into_a_folder_keep_the_newest() {
    let db = TestDb::sqlite();
    doorstep_tests::import_areas(&db.url, &doorstep_tests::three_tier_file());
    let dir = tempfile::tempdir().unwrap();
    for old in ["doorstep-20200801-023000.db", "doorstep-20200802-023000.db", "notes.txt"] {
        std::fs::write(dir.path().join(old), b"old").unwrap();
    }
    let folder = dir.path().to_string_lossy().into_owned();
    let (ok, _, err) = doorstep(&["admin", "--db", &db.url, "backup", "--into", &folder, "--keep", "2"]);
    assert!(ok, "{err}");
    let mut left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left.len(), 3, "{left:?}");
    assert_eq!(&left[0], "doorstep-20200802-023000.db");
    assert!(left[1].starts_with("doorstep-20") && left[1] != "doorstep-20200802-023000.db", "{left:?}");
    assert_eq!(&left[2], "notes.txt");
    let fresh = TestDb::sqlite_at(&dir.path().join(&left[1]));
    assert!(fresh.i64("SELECT count(*) FROM areas") > 200, "a real copy");
    let (ok, _, err) = doorstep(&["admin", "--db", &db.url, "backup", "--keep", "2"]);
    assert!(!ok && err.contains("--into"), "{err}");
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
