//! The core loop across processes: record offline, sync by itself, stored exactly once, counted.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use doorstep_tests::{PhoneRecords, TestDevice, TestServer, wait_until};
use serde_json::{Value, json};

/// The server holds exactly the devices' visits (none missing, none foreign) and derives from
/// them the figures their records call for: each household's visits and latest visit,
/// `area_stats`, coverage (`TestServer::assert_matches_phones`).
async fn assert_matches_devices(server: &TestServer, devices: &[&TestDevice]) {
    let phones = PhoneRecords::of_phones(devices.iter().map(|d| d.dir.path().join("device.db")));
    server.assert_matches_phones(&phones).await;
}

/// How long a drain of this file's tests may take: the largest, 3,000 visits in batches of 25
/// through a server killed and started again, took 1.1 s on SQLite and 4.2 s on PostgreSQL on
/// the project's 2-core VM (other builds running). A drain past this has hung, and its report
/// says why (`complete` false, the last error).
const DRAIN_BOUND: Duration = Duration::from_secs(30);

/// How long a `doorstep simulate` run of this file's tests may take to its end (the phones' own
/// sync window is 120 s): the longest, the second sync of two phones killed while sending 1,500
/// visits each, took 0.9 s on SQLite and 3.9 s on PostgreSQL on the project's 2-core VM.
const SIM_BOUND: Duration = Duration::from_secs(30);

/// How long until the first visit of a sync reaches the server: the phones first record 1,500
/// visits each (4.9 s on PostgreSQL, 1.7 s on SQLite); the drain of visits recorded before starts
/// at once.
const FIRST_PUSH_BOUND: Duration = Duration::from_secs(20);

fn drain_deadline() -> Option<tokio::time::Instant> {
    Some(tokio::time::Instant::now() + DRAIN_BOUND)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_offline_then_synced_counts_exactly() {
    let mut server = TestServer::prepare_stopped();
    let mut device = TestDevice::new(1);
    // The phone is enrolled at the training session, then goes where there is no network.
    server.start_again();
    server.enrol(&device).await;
    server.kill();
    let client = device.client(&server.url, 10);

    // The server is down: visits are saved and wait.
    let mut drafts = device.record(25);
    let report = client.drain(&device.store, Some(tokio::time::Instant::now() + Duration::from_millis(300))).await;
    assert!(!report.complete);
    assert_eq!(report.stats.confirmed, 0);
    assert_eq!(device.pending(), 25);
    drafts.extend(device.record(10));

    server.start_again();
    let report = client.drain(&device.store, drain_deadline()).await;
    assert!(report.complete, "{:?}", report.last_error);
    assert_eq!(report.stats.confirmed, 35);
    assert_eq!(device.pending(), 0);
    assert_matches_devices(&server, &[&device]).await;

    // Coverage equals exactly what was recorded: each draft made a new household.
    let cov = server.coverage("436").await;
    let mut by_outcome: BTreeMap<String, i64> = BTreeMap::new();
    for d in &drafts {
        *by_outcome.entry(d.outcome.clone()).or_default() += 1;
    }
    assert_eq!(cov["households_known"], 35);
    assert_eq!(cov["households_visited"], 35);
    assert_eq!(cov["visits"], 35);
    assert_eq!(serde_json::from_value::<BTreeMap<String, i64>>(cov["by_outcome"].clone()).unwrap(), by_outcome);
    assert_eq!(cov["smartphones_seen"], drafts.iter().map(|d| d.smartphones).sum::<i64>());
    assert_eq!(cov["already_installed"], drafts.iter().map(|d| d.already_installed).sum::<i64>());
    assert_eq!(cov["installed_now"], drafts.iter().map(|d| d.installed_now).sum::<i64>());
    // The province counts the same visits; a district elsewhere counts none.
    assert_eq!(server.coverage("42").await["visits"], 35);
    assert_eq!(server.coverage("437").await["visits"], 0);
}

/// Batch boundaries: 0, 1, size-1, size, size+1 and two full batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_boundaries() {
    const SIZE: usize = 4;
    let server = TestServer::spawn();
    let mut total = 0;
    for (n, batches) in [(0, 0), (1, 1), (SIZE - 1, 1), (SIZE, 1), (SIZE + 1, 2), (2 * SIZE, 2)] {
        let mut device = TestDevice::new(n as u64 + 100);
        server.enrol(&device).await;
        device.record(n);
        let report = device.client(&server.url, SIZE).drain(&device.store, drain_deadline()).await;
        assert!(report.complete, "n={n}: {:?}", report.last_error);
        assert_eq!((report.stats.confirmed, report.stats.batches), (n as u64, batches), "n={n}");
        assert_eq!(device.pending(), 0);
        total += n as i64;
        assert_eq!(server.visit_count(), total, "n={n}");
    }
}

async fn one_record_body(device: &TestDevice) -> (Value, Value) {
    let entry = device.store.lock().unwrap().next_batch(1).unwrap().remove(0);
    let record: Value = serde_json::from_str(&entry.body).unwrap();
    let device_id = device.store.lock().unwrap().device_id().to_string();
    let body = json!({"device_id": device_id, "sent_at": chrono::Utc::now().to_rfc3339(), "records": [record.clone()]});
    (body, record)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_batch_twice_changes_nothing() {
    let server = TestServer::spawn();
    let mut device = TestDevice::new(2);
    server.enrol(&device).await;
    device.record(3);
    let batch = device.store.lock().unwrap().next_batch(10).unwrap();
    let records: Vec<Value> = batch.iter().map(|e| serde_json::from_str(&e.body).unwrap()).collect();
    let device_id = device.store.lock().unwrap().device_id().to_string();
    let body = json!({"device_id": device_id, "sent_at": chrono::Utc::now().to_rfc3339(), "records": records});

    let (status, first) = server.push_json(&body).await;
    assert_eq!(status, 200, "{first}");
    assert!(first["receipts"].as_array().unwrap().iter().all(|r| r["status"] == "stored"));
    let coverage_before = server.coverage("42").await;
    for _ in 0..3 {
        let (status, again) = server.push_json(&body).await;
        assert_eq!(status, 200, "{again}");
        for (a, b) in first["receipts"].as_array().unwrap().iter().zip(again["receipts"].as_array().unwrap()) {
            assert_eq!(b["status"], "duplicate");
            assert_eq!(a["server_seq"], b["server_seq"], "a duplicate points at the stored record");
        }
    }
    assert_eq!(server.visit_count(), 3);
    assert_eq!(server.coverage("42").await, coverage_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_reused_with_other_content_is_rejected_not_overwritten() {
    let server = TestServer::spawn();
    let mut device = TestDevice::new(3);
    server.enrol(&device).await;
    device.record(1);
    let (body, record) = one_record_body(&device).await;
    assert_eq!(server.push_json(&body).await.0, 200);

    let mut changed = record.clone();
    changed["notes"] = json!("sửa đè");
    let mut body2 = body.clone();
    body2["records"] = json!([changed]);
    let (status, resp) = server.push_json(&body2).await;
    assert_eq!(status, 422, "{resp}");
    let receipt = &resp["receipts"][0];
    assert_eq!(receipt["status"], "rejected");
    assert_eq!(receipt["error"]["code"], "id_reused");
    assert_eq!(receipt["error"]["field"], "id");
    assert!(receipt["error"]["messages"]["vi"].as_str().unwrap().contains("ghi đè"));
    let notes = server.db.text("SELECT notes FROM visits");
    assert_eq!(notes, None, "the stored record was not overwritten");

    // Another record claiming the same device sequence number is refused too.
    let mut other = record.clone();
    other["id"] = json!(uuid::Uuid::now_v7().to_string());
    body2["records"] = json!([other]);
    let (status, resp) = server.push_json(&body2).await;
    assert_eq!(status, 422);
    assert_eq!(resp["receipts"][0]["error"]["code"], "sequence_reused");
    assert_eq!(server.visit_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_batch_stores_the_valid_and_refuses_each_invalid() {
    let server = TestServer::spawn();
    let mut device = TestDevice::new(4);
    server.enrol(&device).await;
    device.record(4);
    let batch = device.store.lock().unwrap().next_batch(10).unwrap();
    let mut records: Vec<Value> = batch.iter().map(|e| serde_json::from_str(&e.body).unwrap()).collect();
    records[1]["smartphones"] = json!(-1);
    records[3]["outcome"] = json!("abducted_by_aliens");
    records.push(json!({"id": "not even close"}));
    records.push(json!("a string, not a record"));
    let device_id = device.store.lock().unwrap().device_id().to_string();
    let body = json!({"device_id": device_id, "sent_at": chrono::Utc::now().to_rfc3339(), "records": records});
    let (status, resp) = server.push_json(&body).await;
    assert_eq!(status, 422, "{resp}");
    let r = resp["receipts"].as_array().unwrap();
    assert_eq!(r.len(), 6);
    let statuses: Vec<_> = r.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["stored", "rejected", "stored", "rejected", "rejected", "rejected"]);
    assert_eq!(r[1]["error"]["field"], "smartphones");
    assert_eq!(r[1]["error"]["code"], "negative");
    assert_eq!(r[3]["error"]["field"], "outcome");
    assert_eq!(r[4]["error"]["code"], "malformed");
    assert_eq!(r[4]["id"], "not even close");
    assert_eq!(r[5]["error"]["code"], "malformed");
    assert_eq!(resp["error"]["field"], "smartphones", "the first refusal is surfaced");
    assert_eq!(server.visit_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_record_stays_on_the_device_and_does_not_block_the_queue() {
    let server = TestServer::spawn();
    let mut device = TestDevice::new(5);
    server.enrol(&device).await;
    // An area the device may think exists but the server does not know.
    let mut bad = device.draft(0);
    bad.area_code = "99999".into();
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap());
    device.store.lock().unwrap().record_visit(&bad, now).unwrap();
    device.record(5);
    let report = device.client(&server.url, 2).drain(&device.store, drain_deadline()).await;
    assert!(report.complete, "{:?}", report.last_error);
    assert_eq!((report.stats.confirmed, report.stats.rejected), (5, 1));
    let store = device.store.lock().unwrap();
    let rejected = store.rejected().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].error.code, "unknown_area");
    assert!(rejected[0].error.messages.vi.contains("99999"));
    assert!(rejected[0].error.messages.en.contains("not known to the server"));
    assert_eq!(store.queue().unwrap().pending, 0);
    assert_eq!(server.visit_count(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_killed_mid_sync_loses_and_doubles_nothing() {
    let mut server = TestServer::spawn();
    let mut device = TestDevice::new(6);
    server.enrol(&device).await;
    device.record(3000);
    let client = device.client(&server.url, 25);
    let store = device.store.clone();
    let sync = tokio::spawn(async move { client.drain(&store, drain_deadline()).await });

    let s = &server;
    assert!(wait_until(FIRST_PUSH_BOUND, || s.visit_count() > 0), "sync never started");
    server.kill();
    let at_kill = server.visit_count();
    assert!(at_kill < 3000, "the kill came too late to be mid-sync ({at_kill})");
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.start_again();

    // Bounded by the drain's own deadline (DRAIN_BOUND).
    let report = sync.await.unwrap();
    assert!(report.complete, "{:?}", report.last_error);
    assert!(report.stats.retries > 0, "the device retried through the outage");
    assert_eq!(device.pending(), 0);
    assert_eq!(server.visit_count(), 3000);
    // A batch stored just before the kill whose answer was lost is sent again; whether the kill
    // lands there is chance, so the phone's first batch is sent again here too.
    server.send_again(&device.dir.path().join("device.db"), 25).await;
    assert_matches_devices(&server, &[&device]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_killed_mid_sync_resumes_and_nothing_is_lost_or_doubled() {
    let server = TestServer::spawn();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_string_lossy().to_string();
    let sim = |visits: &str| {
        doorstep_tests::simulate_command(&["--server", &server.url, "--devices", "2", "--visits", visits])
            .args(["--area", "436", "--data-dir", &data_dir, "--batch-size", "10", "--sync-timeout", "120"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut child = sim("1500");
    let s = &server;
    assert!(wait_until(FIRST_PUSH_BOUND, || s.visit_count() > 0), "sync never started");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = server.visit_count();

    let out = doorstep_tests::wait_within(sim("0"), SIM_BOUND, "the phones' second sync");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["pending"], 0, "{stdout}");

    // A device killed while still recording holds fewer than 1500; every one it holds counts.
    let mut stores = Vec::new();
    for i in 0..2 {
        let path = data.path().join(format!("device-{i}/device.db"));
        let queue = doorstep_device::DeviceStore::open(&path).unwrap().queue().unwrap();
        assert_eq!((queue.pending, queue.venue_pending), (0, 0), "phone {i}");
        stores.push(path);
    }
    let phones = PhoneRecords::of_phones(&stores);
    assert!(phones.visits.len() > 1500, "{}", phones.visits.len());
    assert!((at_kill as usize) < phones.visits.len(), "the kill came too late to be mid-sync ({at_kill})");
    server.assert_matches_phones(&phones).await;
}

/// Pull pages over their boundaries: every household arrives once, in change order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_pages_over_boundaries() {
    const LIMIT: usize = 5;
    for n in [0, 1, LIMIT - 1, LIMIT, LIMIT + 1, 3 * LIMIT] {
        let server = TestServer::spawn();
        let mut device = TestDevice::new(7 + n as u64);
        server.enrol(&device).await;
        device.record(n);
        let report = device.client(&server.url, 50).drain(&device.store, drain_deadline()).await;
        assert!(report.complete);

        let mut cursor = 0;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let (status, page) = server.get(&format!("/api/v1/sync/pull?area=436&cursor={cursor}&limit={LIMIT}")).await;
            assert_eq!(status, 200, "{page}");
            pages += 1;
            if cursor == 0 {
                assert_eq!(page["areas"][0]["code"], "436");
                assert_eq!(page["areas"].as_array().unwrap().len(), 1 + 27);
            }
            for h in page["households"].as_array().unwrap() {
                assert!(h["updated_seq"].as_i64().unwrap() > cursor);
                seen.push(h["id"].as_str().unwrap().to_string());
            }
            cursor = page["next_cursor"].as_i64().unwrap();
            if !page["has_more"].as_bool().unwrap() {
                break;
            }
            assert!(pages < 100);
        }
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!((seen.len(), unique.len()), (n, n), "n={n}");
        assert_eq!(pages, n.div_ceil(LIMIT).max(1), "n={n}");

        // The device's own pull reaches the same households and keeps the cursor.
        let got = device.client(&server.url, 50).pull(&device.store, "436").await.unwrap();
        assert_eq!(got, n);
        assert_eq!(device.store.lock().unwrap().cursor().unwrap(), cursor);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revisits_due_come_down_in_the_pull() {
    let server = TestServer::spawn();
    let mut device = TestDevice::new(8);
    server.enrol(&device).await;
    let drafts = device.record(40);
    device.client(&server.url, 50).drain(&device.store, drain_deadline()).await;
    let (_, page) = server.get("/api/v1/sync/pull?area=42&limit=100").await;
    let due = page["households"].as_array().unwrap().iter().filter(|h| h["revisit_due"] == true).count();
    let expected = drafts.iter().filter(|d| matches!(d.outcome.as_str(), "not_home" | "refused" | "partial")).count();
    assert_eq!(due, expected);
    assert!(expected > 0, "the seed should give some revisits");
}

/// A phone whose clock runs two hours fast: its visits are accepted (judged against its own
/// clock), the skew is recorded for the device, and the volunteer is told to fix the clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_skew_is_detected_and_shown_not_used_for_order() {
    let server = TestServer::spawn();
    let mut device = TestDevice::new(9);
    server.enrol(&device).await;
    let fast = chrono::Utc::now() + chrono::Duration::hours(2);
    let offset = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
    let draft = device.draft(0);
    device.store.lock().unwrap().record_visit(&draft, fast.with_timezone(&offset)).unwrap();
    let entry = device.store.lock().unwrap().next_batch(1).unwrap().remove(0);
    let device_id = device.store.lock().unwrap().device_id().to_string();
    let body = json!({
        "device_id": device_id,
        "sent_at": fast.to_rfc3339(),
        "records": [serde_json::from_str::<Value>(&entry.body).unwrap()],
    });
    let (status, resp) = server.push_json(&body).await;
    assert_eq!(status, 200, "{resp}");
    let skew = resp["clock_skew_seconds"].as_i64().unwrap();
    assert!((7190..=7210).contains(&skew), "{skew}");
    assert!(resp["clock_warning"]["vi"].as_str().unwrap().contains("Đồng hồ"), "{resp}");
    let stored_skew = server.db.i64("SELECT clock_skew_ms FROM devices");
    assert!((7_190_000..=7_210_000).contains(&stored_skew));
    // The receive time is the server's, not the phone's.
    let received = server.db.i64("SELECT received_at_ms FROM visits");
    let visited = server.db.i64("SELECT visited_at_ms FROM visits");
    assert!(visited - received > 7_000_000);

    // A device with a right clock syncing through the client is given no warning. (That a
    // warning reaches the device's store is tested in the device crate, where the clock of the
    // answer can be chosen.)
    let mut other = TestDevice::new(10);
    server.enrol(&other).await;
    other.record(1);
    other.client(&server.url, 10).drain(&other.store, drain_deadline()).await;
    let warning = other.store.lock().unwrap().meta(doorstep_device::META_CLOCK_WARNING).unwrap();
    assert_eq!(warning.unwrap_or_default(), "", "a correct clock gets no warning");
}

/// The figures kept on ingest (per area and every ancestor) equal a full count over the
/// households, after first visits and revisits that move households between outcomes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coverage_kept_on_ingest_equals_a_full_count() {
    let server = TestServer::spawn();
    let data = tempfile::tempdir().unwrap();
    for visits in ["150", "80"] {
        let phones = doorstep_tests::simulate_command(&[
            "--server",
            &server.url,
            "--devices",
            "2",
            "--visits",
            visits,
            "--area",
            "436",
            "--data-dir",
            &data.path().to_string_lossy(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        let out = doorstep_tests::wait_within(phones, SIM_BOUND, "doorstep simulate");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{stderr}: {stdout}");
    }
    let revisits = server.db.i64("SELECT COUNT(*) FROM households WHERE visits > 1");
    assert!(revisits > 0, "the second round should revisit some households");
    for (area, path) in [("42", "/42/"), ("436", "/42/436/"), ("18073", "/42/436/18073/")] {
        let cov = server.coverage(area).await;
        let scope = format!("FROM households h JOIN areas a ON a.code = h.area_code WHERE a.path LIKE '{path}%'");
        let row = server.db.rows(&format!(
            "SELECT COUNT(*), COUNT(h.latest_outcome), SUM(h.visits), SUM(COALESCE(h.smartphones, 0)),
                    SUM(COALESCE(h.already_installed, 0)), SUM(COALESCE(h.installed_now, 0)) {scope}"
        ));
        let n = |i: usize| row[0][i].as_deref().unwrap_or("0").parse::<i64>().unwrap();
        assert_eq!(cov["households_known"], n(0), "{area}");
        assert_eq!(cov["households_visited"], n(1), "{area}");
        assert_eq!(cov["visits"], n(2), "{area}");
        assert_eq!(cov["smartphones_seen"], n(3), "{area}");
        assert_eq!(cov["already_installed"], n(4), "{area}");
        assert_eq!(cov["installed_now"], n(5), "{area}");
        let by: BTreeMap<String, i64> = server
            .db
            .rows(&format!(
                "SELECT h.latest_outcome, COUNT(*) {scope} AND h.latest_outcome IS NOT NULL GROUP BY h.latest_outcome"
            ))
            .into_iter()
            .map(|r| (r[0].clone().unwrap(), r[1].as_deref().unwrap().parse().unwrap()))
            .collect();
        assert_eq!(serde_json::from_value::<BTreeMap<String, i64>>(cov["by_outcome"].clone()).unwrap(), by, "{area}");
    }
    assert_eq!(server.coverage("42").await["visits"], 460);
    // And all of it is what the phones' own records say, revisits by receive order.
    let phones = PhoneRecords::of_phones((0..2).map(|i| data.path().join(format!("device-{i}/device.db"))));
    server.assert_matches_phones(&phones).await;
}
