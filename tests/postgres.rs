//! What only PostgreSQL does: several `doorstep serve` processes on one database, and the move
//! from a SQLite file. Needs `DOORSTEP_TEST_PG` (`scripts/test.sh` starts a cluster); without it
//! these tests fail rather than skip.

use std::collections::{BTreeMap, HashMap, HashSet};

use doorstep_tests::{TestDevice, TestServer, test_pg};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_store_overlapping_batches_exactly_once() {
    assert!(test_pg().is_some(), "the replica test needs PostgreSQL: set DOORSTEP_TEST_PG (scripts/test.sh does)");
    let a = TestServer::spawn();
    let b = TestServer::replica_of(&a);

    const DEVICES: usize = 4;
    const VISITS: usize = 300;
    let mut devices: Vec<TestDevice> = (0..DEVICES).map(|i| TestDevice::new(1000 + i as u64)).collect();
    let mut tokens = std::collections::HashMap::new();
    for d in &devices {
        let id = d.store.lock().unwrap().device_id().to_string();
        tokens.insert(id.clone(), a.device_token(&id).await);
    }
    let mut drafts = Vec::new();
    for d in &mut devices {
        drafts.extend(d.record(VISITS));
    }

    // Overlapping windows of 50 records, every one sent to both servers at once, twice over.
    let mut pushes = Vec::new();
    for d in &devices {
        let store = d.store.lock().unwrap();
        let device_id = store.device_id().to_string();
        let records: Vec<Value> =
            store.next_batch(VISITS).unwrap().iter().map(|e| serde_json::from_str(&e.body).unwrap()).collect();
        for start in (0..VISITS).step_by(25) {
            let window = &records[start..(start + 50).min(VISITS)];
            let body = json!({"device_id": device_id, "sent_at": chrono::Utc::now().to_rfc3339(), "records": window});
            for _round in 0..2 {
                for url in [&a.url, &b.url] {
                    pushes.push((url.clone(), tokens[&device_id].clone(), body.to_string()));
                }
            }
        }
    }
    let client = reqwest::Client::new();
    let tasks: Vec<_> = pushes
        .into_iter()
        .map(|(url, token, body)| {
            let client = client.clone();
            tokio::spawn(async move {
                // A server may refuse while it waits on the other (a deadlock it broke, say):
                // the device would send again, and so do we.
                for _ in 0..20 {
                    let resp = client
                        .post(format!("{url}/api/v1/sync/push"))
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    let status = resp.status().as_u16();
                    let answer: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
                    if status == 200 {
                        return answer;
                    }
                    assert_eq!(status, 503, "{answer}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                panic!("no answer after 20 tries");
            })
        })
        .collect();

    // Every receipt stored or duplicate; each record stored exactly once, and every receipt for
    // it names the same server_seq.
    let mut stored: HashMap<String, usize> = HashMap::new();
    let mut seq_of: HashMap<String, i64> = HashMap::new();
    for t in tasks {
        let answer = t.await.unwrap();
        for r in answer["receipts"].as_array().unwrap() {
            let id = r["id"].as_str().unwrap().to_string();
            let seq = r["server_seq"].as_i64().unwrap();
            match r["status"].as_str().unwrap() {
                "stored" => *stored.entry(id.clone()).or_default() += 1,
                "duplicate" => {}
                other => panic!("receipt {other}: {r}"),
            }
            assert_eq!(*seq_of.entry(id).or_insert(seq), seq, "receipts disagree on where a record is");
        }
    }
    let total = DEVICES * VISITS;
    assert_eq!(stored.len(), total);
    assert!(stored.values().all(|n| *n == 1), "a record was stored twice");

    let held = a.visit_ids();
    let unique: HashSet<_> = held.iter().cloned().collect();
    assert_eq!((held.len(), unique.len()), (total, total));
    let recorded: HashSet<_> = devices.iter().flat_map(|d| d.recorded_ids()).collect();
    assert_eq!(unique, recorded);

    // Coverage is exact, and both servers agree.
    let mut by_outcome: BTreeMap<String, i64> = BTreeMap::new();
    for d in &drafts {
        *by_outcome.entry(d.outcome.clone()).or_default() += 1;
    }
    for server in [&a, &b] {
        let cov = server.coverage("42").await;
        assert_eq!(cov["households_visited"], total as i64);
        assert_eq!(cov["visits"], total as i64);
        assert_eq!(serde_json::from_value::<BTreeMap<String, i64>>(cov["by_outcome"].clone()).unwrap(), by_outcome);
        assert_eq!(cov["smartphones_seen"], drafts.iter().map(|d| d.smartphones).sum::<i64>());
        assert_eq!(cov["installed_now"], drafts.iter().map(|d| d.installed_now).sum::<i64>());
    }

    // A pull through either replica pages through every household once, in change order.
    let mut seen = HashSet::new();
    let mut cursor = 0;
    loop {
        let server = if cursor % 2 == 0 { &a } else { &b };
        let (status, page) = server.get(&format!("/api/v1/sync/pull?area=42&cursor={cursor}&limit=97")).await;
        assert_eq!(status, 200);
        for h in page["households"].as_array().unwrap() {
            assert!(seen.insert(h["id"].as_str().unwrap().to_string()), "a household came twice");
        }
        cursor = page["next_cursor"].as_i64().unwrap();
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(seen.len(), total);
}

/// Servers started at the same moment on a new database agree on one schema: the migrations run
/// once, under a lock, and every server comes up.
#[test]
fn servers_started_together_migrate_once() {
    assert!(test_pg().is_some(), "needs PostgreSQL: set DOORSTEP_TEST_PG (scripts/test.sh does)");
    let db = doorstep_tests::TestDb::fresh();
    let children: Vec<_> = (0..3)
        .map(|_| {
            std::process::Command::new(doorstep_tests::doorstep_bin())
                .args(["serve", "--db", &db.url, "--listen", "127.0.0.1:0"])
                .env("RUST_LOG", "warn")
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
        assert!(line.starts_with("doorstep listening on "), "{line}");
        let _ = child.kill();
        let _ = child.wait();
    }
    // Each step applied once, by one of them.
    let steps = db.i64("SELECT MAX(version) FROM schema_migrations");
    assert!(steps >= 2);
    assert_eq!(db.i64("SELECT COUNT(*) FROM schema_migrations"), steps);
}

/// A SQLite server's whole state moves to PostgreSQL: the same coverage, a device's pull cursor
/// still good, records whose receipts were lost are duplicates on the new server; migrating again
/// changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_server_moves_to_postgresql_with_everything() {
    assert!(test_pg().is_some(), "needs PostgreSQL: set DOORSTEP_TEST_PG (scripts/test.sh does)");
    let mut old = TestServer::spawn_with(doorstep_tests::TestDb::sqlite());
    let mut device = TestDevice::new(77);
    old.enrol(&device).await;
    device.record(120);
    let client = device.client(&old.url, 50);
    assert!(client.drain(&device.store, None).await.complete);
    // A street given to the volunteer moves too.
    let (status, claim) = old
        .post_as(
            "/api/v1/claims",
            &old.admin_token().await,
            &json!({"volunteer": doorstep_tests::VOLUNTEER, "area_code": "18077", "street": "Lê Lợi"}),
        )
        .await;
    assert_eq!(status, 201, "{claim}");
    client.pull(&device.store, "436").await.unwrap();
    assert!(device.store.lock().unwrap().cursor().unwrap() > 0);
    // A venue and a visit to it.
    let school = doorstep_device::VenueVisitDraft {
        venue_id: None,
        kind: "school".into(),
        name: "Trường Tiểu học Bắc Hà".into(),
        address: None,
        area_code: "18077".into(),
        people_reached: 400,
        smartphones: 150,
        already_installed: 60,
        installed_now: 40,
        notices_posted: 3,
        visitor_log: None,
        location: doorstep_domain::visit::LocationInput {
            source: "none".into(),
            lat: None,
            lon: None,
            accuracy_m: None,
        },
        notes: None,
    };
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap());
    device.store.lock().unwrap().record_venue_visit(&school, now).unwrap();
    assert_eq!(client.drain_venues(&device.store).await.unwrap().confirmed, 1);

    // A second device whose records reached the old server but whose receipts were lost.
    let mut unlucky = TestDevice::new(79);
    old.enrol(&unlucky).await;
    unlucky.record(10);
    let body = {
        let store = unlucky.store.lock().unwrap();
        let records: Vec<Value> =
            store.next_batch(10).unwrap().iter().map(|e| serde_json::from_str(&e.body).unwrap()).collect();
        json!({"device_id": store.device_id().to_string(), "sent_at": chrono::Utc::now().to_rfc3339(), "records": records})
    };
    assert_eq!(old.push_json(&body).await.0, 200);
    assert_eq!(unlucky.pending(), 10);
    // A visit sent back for correction moves too.
    let sent_back = device.recorded_ids()[0].0.clone();
    let admin = old.admin_token().await;
    let (status, _) = old
        .post_as(
            &format!("/api/v1/visits/{sent_back}/send-back"),
            &admin,
            &json!({"comment": "Kiểm tra lại số người."}),
        )
        .await;
    assert_eq!(status, 201);
    // Photos move too, bytes and records: more than one batch of the move's (16 blobs).
    let offset = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
    let mut shas = Vec::new();
    for n in 0..20u8 {
        let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8, y as u8, n * 10]));
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Png).unwrap();
        let photo = device
            .store
            .lock()
            .unwrap()
            .attach_photo(
                &doorstep_device::PhotoDraft {
                    target_kind: doorstep_domain::photo::TargetKind::Visit,
                    target_id: sent_back.clone(),
                    area_code: None,
                    caption: Some(format!("Ảnh lượt thăm {n}")),
                },
                &out.into_inner(),
                chrono::Utc::now().with_timezone(&offset),
            )
            .unwrap();
        shas.push(photo.sha256);
    }
    assert_eq!(client.upload_photos(&device.store, None).await.sent, 20);
    let coverage = old.coverage("42").await;
    old.kill();
    // A campaign of its own (the default one, renamed, so the phone's visits still fit it).
    let mut campaign = doorstep_domain::Campaign::bluezone();
    campaign.code = "bluezone-2020-moved".into();
    let campaign_dir = tempfile::tempdir().unwrap();
    let campaign_file = campaign_dir.path().join("campaign.json");
    std::fs::write(&campaign_file, serde_json::to_string(&campaign).unwrap()).unwrap();
    let (ok, _, err) =
        doorstep_tests::doorstep(&["admin", "--db", &old.db.url, "campaign", "load", &campaign_file.to_string_lossy()]);
    assert!(ok, "{err}");
    // A base map over two of its chunks.
    let map = doorstep_tests::small_pmtiles("Hà Tĩnh", 400_000);
    let map_file = campaign_dir.path().join("map.pmtiles");
    std::fs::write(&map_file, &map).unwrap();
    let (ok, _, err) =
        doorstep_tests::doorstep(&["admin", "--db", &old.db.url, "basemap", "import", &map_file.to_string_lossy()]);
    assert!(ok, "{err}");

    let target = doorstep_tests::TestDb::fresh();
    for run in 0..2 {
        let (ok, out, err) =
            doorstep_tests::doorstep(&["admin", "migrate", "--from", &old.db.url, "--to", &target.url]);
        assert!(ok, "{err}");
        let report: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(
            report["tables"].as_array().unwrap().len(),
            25,
            "areas, devices, households, users, sessions, enrolments, password codes, device tokens, targets, \
             campaign, audit log, visits, teams, team members, assignments, claims, visit flags, corrections, venues, \
             venue visits, photo blobs, photo links, photo uploads, base map, its chunks"
        );
        for t in report["tables"].as_array().unwrap() {
            assert_eq!(t["source"], t["target"], "{t}");
            assert_eq!(t["checksum_match"], true, "{t}");
            if run == 1 {
                assert_eq!(t["copied"], 0, "a second run copies nothing: {t}");
            }
        }
    }

    let new = TestServer::spawn_on_existing(target);
    assert_eq!(new.coverage("42").await, coverage);
    assert_eq!(new.get("/api/v1/campaign").await.1["code"], "bluezone-2020-moved", "the campaign moved");
    let (_, basemap) = new.get("/api/v1/basemap").await;
    assert_eq!(basemap["size"], map.len(), "the base map moved: {basemap}");
    let whole = reqwest::Client::new()
        .get(format!("{}/api/v1/basemap.pmtiles", new.url))
        .bearer_auth(new.admin_token().await)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(whole.as_ref() == map.as_slice(), "byte for byte");
    let (_, claims) = new.get("/api/v1/claims?area=42").await;
    assert_eq!(claims["claims"][0]["claim"], claim, "the claim moved: {claims}");
    assert_eq!(claims["claims"][0]["active"], true, "{claims}");
    let (_, moved) = new.get("/api/v1/corrections?area=42").await;
    assert_eq!(moved[0]["visit_id"], sent_back.as_str(), "{moved}");
    let (_, photos) = new.get(&format!("/api/v1/photos?area=42&target_kind=visit&target_id={sent_back}")).await;
    let mut held: Vec<String> = photos
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["complete"] == true)
        .map(|p| p["sha256"].as_str().unwrap().to_string())
        .collect();
    held.sort();
    shas.sort();
    assert_eq!(held, shas, "every photo moved, complete");
    assert_eq!(new.visit_count(), 130);
    // The lost receipts: the unlucky device sends again and hears "duplicate".
    let report = unlucky.client(&new.url, 50).drain(&unlucky.store, None).await;
    assert!(report.complete && report.stats.confirmed == 10, "{report:?}");
    assert_eq!(new.visit_count(), 130);
    // The first device's cursor is still good: exactly what changed after it (the unlucky
    // device's 10 households, not the 120 it knows), then exactly its own new visit.
    let client = device.client(&new.url, 50);
    assert_eq!(client.pull(&device.store, "436").await.unwrap(), 10);
    assert_eq!(client.pull(&device.store, "436").await.unwrap(), 0);
    device.record(1);
    assert!(client.drain(&device.store, None).await.complete);
    assert_eq!(new.visit_count(), 131);
    assert_eq!(client.pull(&device.store, "436").await.unwrap(), 1);
    // The venue visit moved, and the next one gets a number after it.
    let (_, venues) = new.get("/api/v1/venues?area=42").await;
    assert_eq!((venues[0]["name"].as_str(), venues[0]["visits"].as_i64()), (Some("Trường Tiểu học Bắc Hà"), Some(1)));
    device.store.lock().unwrap().record_venue_visit(&school, now).unwrap();
    assert_eq!(client.drain_venues(&device.store).await.unwrap().confirmed, 1);
    assert_eq!(new.db.i64("SELECT max(seq) FROM venue_visits"), 2);
}

/// A push inserts its visits (taking their receive numbers) before it takes the change lock, so
/// a later-received visit of a household may be applied first: a phone's two batches in flight,
/// a visit in the first and the household's revisit in the second. The household keeps its
/// latest visit (the highest receive number, kept as `latest_seq`), and the earlier one only
/// adds to its count. The race is hard to time from outside, so its result is set by hand: the
/// household already holds a latest visit received after the one pushed next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_received_before_a_households_latest_does_not_replace_it() {
    assert!(test_pg().is_some(), "needs PostgreSQL: set DOORSTEP_TEST_PG (scripts/test.sh does)");
    let server = TestServer::spawn();
    let mut phone = TestDevice::new(21);
    server.enrol(&phone).await;
    let offset = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
    let mut first = phone.draft(0);
    first.outcome = "installed_now".into();
    (first.people, first.smartphones, first.already_installed, first.installed_now) = (4, 3, 1, 2);
    let held = phone.store.lock().unwrap().record_visit(&first, chrono::Utc::now().with_timezone(&offset)).unwrap();
    let client = phone.client(&server.url, 100);
    assert!(client.drain(&phone.store, None).await.complete);
    let household = held.household.id.to_string();
    let row = |db: &doorstep_tests::TestDb| {
        db.rows(&format!("SELECT latest_outcome, visits, latest_seq FROM households WHERE id = '{household}'::uuid"))
            .remove(0)
    };
    let seq: i64 = row(&server.db)[2].as_deref().unwrap().parse().unwrap();
    // A later-received visit's number, as the other push would have left it.
    server
        .db
        .rows(&format!("UPDATE households SET latest_seq = {} WHERE id = '{household}'::uuid RETURNING 1", seq + 1000));
    let mut revisit = first.clone();
    revisit.household_id = Some(held.household.id.uuid());
    revisit.outcome = "refused".into();
    revisit.reason = Some("Lo ngại quyền riêng tư".into());
    revisit.installed_now = 0;
    revisit.already_installed = 0;
    phone.store.lock().unwrap().record_visit(&revisit, chrono::Utc::now().with_timezone(&offset)).unwrap();
    assert!(client.drain(&phone.store, None).await.complete);
    assert_eq!(
        row(&server.db),
        vec![Some("installed_now".to_string()), Some("2".to_string()), Some((seq + 1000).to_string())],
        "the later-received latest stays; the earlier visit is counted"
    );
    server.db.check_area_stats().unwrap();
    // Without such a race, a revisit is the latest as always.
    revisit.outcome = "not_home".into();
    revisit.reason = None;
    server.db.rows(&format!("UPDATE households SET latest_seq = {seq} WHERE id = '{household}'::uuid RETURNING 1"));
    phone.store.lock().unwrap().record_visit(&revisit, chrono::Utc::now().with_timezone(&offset)).unwrap();
    assert!(client.drain(&phone.store, None).await.complete);
    let now = row(&server.db);
    assert_eq!((now[0].as_deref(), now[1].as_deref()), (Some("not_home"), Some("3")));
    server.db.check_area_stats().unwrap();
}

/// TLS to PostgreSQL, checked as the URL asks (libpq's words). The test makes a CA and a server
/// certificate naming `localhost`, and turns TLS on in the test cluster (its data folder, ALTER
/// SYSTEM, a reload). Then: `verify-full` with that CA connects to `localhost`, and the server's
/// connections are encrypted (pg_stat_ssl); `verify-full` to `127.0.0.1`, which the certificate
/// does not name, is refused while `verify-ca` takes it; another CA is refused; `require`
/// encrypts without checking; `disable` stays plain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_postgresql_is_checked_as_the_url_asks() {
    let admin = test_pg().expect("needs PostgreSQL: set DOORSTEP_TEST_PG (scripts/test.sh does)");
    let psql = |sql: &str| {
        let out = std::process::Command::new("psql")
            .args(["-X", "-q", "-A", "-t", "-d", &admin, "-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    use doorstep_tests::tlsfront::{make_ca, make_server_cert};
    let (ca_key, ca) = make_ca(dir.path(), "ca");
    let (_, other_ca) = make_ca(dir.path(), "other-ca");
    let (key, crt) = make_server_cert(dir.path(), (&ca_key, &ca), "DNS:localhost");
    // Into the cluster's own folder (it outlives this test), readable by its user only.
    let data = std::path::PathBuf::from(psql("SHOW data_directory"));
    let uid = |flag: &str| -> u32 {
        let out = std::process::Command::new("id").args([flag, "postgres"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().expect("the postgres user")
    };
    for (from, name, mode) in [(&crt, "doorstep-test-server.crt", 0o644), (&key, "doorstep-test-server.key", 0o600)] {
        let to = data.join(name);
        std::fs::copy(from, &to).unwrap();
        std::os::unix::fs::chown(&to, Some(uid("-u")), Some(uid("-g"))).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    psql("ALTER SYSTEM SET ssl_cert_file = 'doorstep-test-server.crt'");
    psql("ALTER SYSTEM SET ssl_key_file = 'doorstep-test-server.key'");
    psql("ALTER SYSTEM SET ssl = on");
    psql("SELECT pg_reload_conf()");
    assert!(
        doorstep_tests::wait_until(std::time::Duration::from_secs(20), || psql("SHOW ssl") == "on"),
        "TLS never came on"
    );

    let db = doorstep_tests::TestDb::fresh();
    let by_name = db.url.replace("@127.0.0.1:", "@localhost:");
    let ca = ca.to_string_lossy().into_owned();
    let opens = |url: String| doorstep_tests::doorstep(&["admin", "--db", &url, "audit", "--limit", "1"]);
    let (ok, _, err) = opens(format!("{by_name}?sslmode=verify-full&sslrootcert={ca}"));
    assert!(ok, "verify-full with the CA: {err}");
    let (ok, _, err) = opens(format!("{}?sslmode=verify-full&sslrootcert={ca}", db.url));
    assert!(!ok && err.to_lowercase().contains("certificate"), "a name the certificate does not hold: {err}");
    let (ok, _, err) = opens(format!("{}?sslmode=verify-ca&sslrootcert={ca}", db.url));
    assert!(ok, "verify-ca checks the chain only: {err}");
    let (ok, _, err) = opens(format!("{by_name}?sslmode=verify-full&sslrootcert={}", other_ca.display()));
    assert!(!ok && err.to_lowercase().contains("certificate"), "another CA: {err}");
    let (ok, _, err) = opens(format!("{}?sslmode=require", db.url));
    assert!(ok, "require encrypts without checking: {err}");

    // The server's own connections, encrypted; and plain when asked.
    let serve = |url: String| {
        let port = doorstep_tests::free_port();
        let child = std::process::Command::new(doorstep_tests::doorstep_bin())
            .args(["serve", "--db", &url, "--listen", &format!("127.0.0.1:{port}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        assert!(doorstep_tests::wait_until(std::time::Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        }));
        child
    };
    let ssl_of = |app: &str| {
        psql(&format!(
            "SELECT count(*) || ' ' || bool_and(s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid \
             WHERE a.application_name = '{app}'"
        ))
    };
    let mut child = serve(format!("{by_name}?sslmode=verify-full&sslrootcert={ca}&application_name=doorstep-tls"));
    let encrypted = ssl_of("doorstep-tls");
    let _ = child.kill();
    let _ = child.wait();
    assert!(encrypted.ends_with(" true") && !encrypted.starts_with("0 "), "the server's connections: {encrypted}");
    let mut child = serve(format!("{}?sslmode=disable&application_name=doorstep-plain", db.url));
    let plain = ssl_of("doorstep-plain");
    let _ = child.kill();
    let _ = child.wait();
    assert!(plain.ends_with(" false"), "sslmode=disable: {plain}");
}

/// The standby's cluster (Debian's version and name), stopped and started by the replica test.
fn standby_cluster() -> (String, String) {
    let out = std::process::Command::new("pg_lsclusters").arg("-h").output().expect("pg_lsclusters");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line =
        text.lines().find(|l| l.split_whitespace().nth(1) == Some("doorstep-standby")).expect("the standby cluster");
    let mut parts = line.split_whitespace();
    (parts.next().unwrap_or_default().to_string(), "doorstep-standby".to_string())
}

/// Starts the standby again however the test ends.
struct StandbyBack((String, String));

impl Drop for StandbyBack {
    fn drop(&mut self) {
        let (version, name) = &self.0;
        let _ = std::process::Command::new("pg_ctlcluster").args([version, name, "start"]).output();
    }
}

/// `--db-read`: the dashboard's reads go to a streaming standby while it keeps up (a visit the
/// paused standby has not replayed is not in the coverage read at once), what must see its own
/// write goes to the primary meanwhile (a new sign-in and its token, a send-back and the list
/// after it), a standby behind for longer than allowed is left for the primary, and so is one
/// that is down; reads never fail for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_a_standby_while_it_keeps_up_and_to_the_primary_otherwise() {
    let standby_admin = std::env::var("DOORSTEP_TEST_PG_STANDBY")
        .expect("needs a standby: set DOORSTEP_TEST_PG_STANDBY (scripts/test.sh starts one)");
    let mut server = TestServer::spawn();
    let name = server.db.url.rsplit('/').next().unwrap().to_string();
    let standby_base = standby_admin.rsplit_once('/').unwrap().0.to_string();
    let standby_db = format!("{standby_base}/{name}");
    let on_standby = |sql: &str| {
        std::process::Command::new("psql")
            .args(["-X", "-q", "-A", "-t", "-d", &standby_db, "-c", sql])
            .output()
            .map(|o| (o.status.success(), String::from_utf8_lossy(&o.stdout).trim().to_string()))
            .unwrap_or((false, String::new()))
    };
    assert!(
        doorstep_tests::wait_until(std::time::Duration::from_secs(30), || on_standby("SELECT count(*) FROM areas").1
            == server.db.i64("SELECT count(*) FROM areas").to_string()),
        "the standby never had the database"
    );
    server.kill();
    server.start_with(server.port, &["--db-read", &standby_db, "--db-read-max-lag-secs", "3"]);
    let visits = |c: Value| c["visits"].as_i64().unwrap_or(-1);

    let mut phone = TestDevice::new(4242);
    server.enrol(&phone).await;
    let client = phone.client(&server.url, 50);
    phone.record(1);
    assert!(client.drain(&phone.store, None).await.complete);
    let start = std::time::Instant::now();
    while visits(server.coverage("42").await) != 1 {
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "the first visit never read back");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Let the follower see it keeping up for a few checks.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;

    // The standby stops replaying: a second visit is on the primary only.
    assert!(on_standby("SELECT pg_wal_replay_pause()").0);
    phone.record(1);
    assert!(client.drain(&phone.store, None).await.complete);
    assert_eq!(server.visit_count(), 2);
    assert_eq!(visits(server.coverage("42").await), 1, "the coverage was read from the standby");
    // What must see its own write reads the primary: a new sign-in's token works at once, and a
    // visit the standby does not have yet is sent back and listed.
    let leader = server.login(doorstep_tests::ADMIN, doorstep_tests::ADMIN_PASSWORD).await;
    assert_eq!(server.get_as("/api/v1/auth/me", Some(&leader)).await.0, 200);
    let newest = server.db.text("SELECT id::text FROM visits ORDER BY server_seq DESC LIMIT 1").unwrap();
    let (status, sent) = server
        .post_as(&format!("/api/v1/visits/{newest}/send-back"), &leader, &json!({"comment": "kiểm tra lại"}))
        .await;
    assert_eq!(status, 201, "{sent}");
    let (status, listed) = server.get_as("/api/v1/corrections?area=42", Some(&leader)).await;
    assert_eq!(status, 200, "{listed}");
    assert!(listed.to_string().contains(&newest), "{listed}");
    // Behind for longer than allowed: the reads go to the primary.
    let start = std::time::Instant::now();
    while visits(server.coverage("42").await) != 2 {
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "reads stayed on the lagging standby");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(on_standby("SELECT pg_wal_replay_resume()").0);

    // The standby down: reads still answer, from the primary.
    let cluster = standby_cluster();
    let _back = StandbyBack(cluster.clone());
    let out = std::process::Command::new("pg_ctlcluster").args([&cluster.0, &cluster.1, "stop"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    phone.record(1);
    assert!(client.drain(&phone.store, None).await.complete);
    let start = std::time::Instant::now();
    loop {
        let (status, body) = server.get("/api/v1/coverage?area=42").await;
        if status == 200 && visits(body.clone()) == 3 {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "no reads without the standby: {status} {body}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
