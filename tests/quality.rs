//! Data quality, volunteers and devices, against figures worked out by hand: the flags computed
//! at ingest (poor accuracy, far from the household, outside the imported boundary, burst (a run
//! from one spot, across batches), implausible speed) on fixed visits, clean visits left alone,
//! the flagged list filtered by flag; visits per volunteer and local day; and phones fresh,
//! stale, never synced and revoked.
//! On SQLite and on PostgreSQL.

use chrono::{DateTime, FixedOffset, Utc};
use doorstep_device::VisitDraft;
use doorstep_domain::visit::LocationInput;
use doorstep_tests::{TestDb, TestDevice, TestServer, create_account};
use serde_json::{Value, json};

const PASSWORD: &str = "mật khẩu kiểm tra chất lượng";

/// The village 18073-01 of Phường Nam Hà (18073), with a square boundary about 1.05 km wide
/// (lon 105.90 to 105.91) and 1.1 km high (lat 18.34 to 18.35).
const VILLAGE: &str = r#"{"type": "FeatureCollection", "features": [{"type": "Feature",
  "properties": {"code": "18073-01", "name": "Tổ dân phố 1", "parent_code": "18073", "division_type": "Tổ dân phố"},
  "geometry": {"type": "Polygon", "coordinates": [[[105.90, 18.34], [105.91, 18.34], [105.91, 18.35], [105.90, 18.35], [105.90, 18.34]]]}}]}"#;

/// Inside the village.
const P0: (f64, f64) = (18.345, 105.905);

/// `metres` north of P0 (a degree of latitude is about 111.2 km).
fn north(metres: f64) -> (f64, f64) {
    (P0.0 + metres / 111_195.0, P0.1)
}

fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

/// A located visit; an install count of 0 records nobody at home.
fn visit(
    area: &str, household: Option<uuid::Uuid>, (lat, lon): (f64, f64), accuracy: f64, installed: i64,
) -> VisitDraft {
    VisitDraft {
        household_id: household,
        address: None,
        area_code: area.into(),
        outcome: if installed > 0 { "installed_now" } else { "not_home" }.into(),
        reason: None,
        people: if installed > 0 { 3 } else { 0 },
        smartphones: installed,
        already_installed: 0,
        installed_now: installed,
        leaflet_given: installed > 0,
        location: LocationInput { source: "gps".into(), lat: Some(lat), lon: Some(lon), accuracy_m: Some(accuracy) },
        notes: None,
    }
}

/// Sets a device's last sync straight in the database (a phone silent for a day cannot be
/// waited for in a test).
fn set_last_sync(db: &TestDb, device: &str, ms: i64) {
    if db.is_postgres() {
        db.rows(&format!("UPDATE devices SET last_seen_ms = {ms} WHERE id = '{device}' RETURNING 1"));
    } else {
        let conn = rusqlite::Connection::open(db.url.trim_start_matches("sqlite:")).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
        let id = uuid::Uuid::parse_str(device).unwrap();
        let n = conn
            .execute(
                "UPDATE devices SET last_seen_ms = ?1 WHERE id = ?2",
                rusqlite::params![ms, id.as_bytes().as_slice()],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
}

fn device_id(phone: &TestDevice) -> String {
    phone.store.lock().unwrap().device_id().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_daily_figures_and_devices_match_what_was_worked_out_by_hand() {
    let mut server = TestServer::prepare_stopped();
    let dir = tempfile::tempdir().unwrap();
    let village = dir.path().join("village.geojson");
    std::fs::write(&village, VILLAGE).unwrap();
    doorstep_tests::import_areas(&server.db.url, &village);
    for (name, role, area) in [
        ("l.thanhpho", "leader", "436"),
        ("l.other", "leader", "437"),
        ("c.province", "committee", "42"),
        ("v.a", "volunteer", "18073"),
        ("v.b", "volunteer", "18073"),
    ] {
        create_account(&server.db.url, name, role, area, PASSWORD);
    }
    server.start_again();

    let phone_a = TestDevice::new(81);
    let phone_b = TestDevice::new(82);
    let never = TestDevice::new(83);
    let lost = TestDevice::new(84);
    server.enrol_for(&phone_a, "v.a").await;
    server.enrol_for(&phone_b, "v.b").await;
    server.enrol_for(&never, "v.b").await;
    server.enrol_for(&lost, "v.a").await;

    // v.a's day, 5 August 2020 (local): (visit, time, flags expected).
    let v = "18073-01";
    let mut ids: Vec<(String, Vec<&str>)> = Vec::new();
    {
        let mut s = phone_a.store.lock().unwrap();
        let mut rec = |draft: VisitDraft, time: &str, flags: Vec<&'static str>| {
            let visit = s.record_visit(&draft, at(time)).unwrap();
            ids.push((visit.id.to_string(), flags));
            visit
        };
        // 1. Clean: the first visit, inside the village, a good fix.
        let h1 = rec(visit(v, None, P0, 10.0, 1), "2020-08-05T08:00:00+07:00", vec![]);
        // 2. An 80 m fix; the threshold is 50 m.
        rec(visit(v, None, north(30.0), 80.0, 1), "2020-08-05T08:10:00+07:00", vec!["poor_accuracy"]);
        // 3. Clean.
        rec(visit(v, None, north(60.0), 8.0, 0), "2020-08-05T08:20:00+07:00", vec![]);
        // 4. Household 1 again, recorded 500 m from where it is known to be (P0).
        rec(
            visit(v, Some(h1.household.id.uuid()), north(500.0), 6.0, 1),
            "2020-08-05T08:30:00+07:00",
            vec!["far_from_household"],
        );
        // 5. About 1.2 km north of P0: 0.67 km outside the village's boundary, fix 10 m.
        rec(visit(v, None, (18.356, 105.905), 10.0, 1), "2020-08-05T08:40:00+07:00", vec!["outside_area"]);
        // 6. Clean; 7. next door 20 s later: a quick walk, not a burst.
        rec(visit(v, None, P0, 5.0, 2), "2020-08-05T09:00:00+07:00", vec![]);
        rec(visit(v, None, north(15.0), 5.0, 0), "2020-08-05T09:00:20+07:00", vec![]);
        // 8, 9, 10. Three households from one spot, 10 s apart: a burst, all three. 8 and 9 go
        // in one batch and 10 in the next, so the server flags 8 and 9 after storing them.
        rec(visit(v, None, north(40.0), 5.0, 1), "2020-08-05T09:30:00+07:00", vec!["burst"]);
        rec(visit(v, None, north(41.0), 5.0, 1), "2020-08-05T09:30:10+07:00", vec!["burst"]);
        rec(visit(v, None, north(40.0), 5.0, 0), "2020-08-05T09:30:20+07:00", vec!["burst"]);
        // 11. Clean; 12. 5 km away a minute later (300 km/h), in the commune, which has no
        // boundary: only the speed is wrong.
        rec(visit(v, None, P0, 5.0, 1), "2020-08-05T10:00:00+07:00", vec![]);
        rec(visit("18073", None, north(5_000.0), 5.0, 1), "2020-08-05T10:01:00+07:00", vec!["implausible_speed"]);
        // 13. Clean: back 89 minutes later (3.4 km/h).
        rec(visit(v, None, north(20.0), 5.0, 0), "2020-08-05T11:30:00+07:00", vec![]);
        // 6 August (local; 00:30 there is still the 5th in UTC): two clean visits.
        rec(visit(v, None, north(40.0), 5.0, 1), "2020-08-06T00:30:00+07:00", vec![]);
        rec(visit(v, None, north(80.0), 5.0, 2), "2020-08-06T09:00:00+07:00", vec![]);
    }
    // Batches of three: the visit before a batch's first comes from the server, not the batch.
    // One batch at a time, each answered before the next leaves (a drain keeps two in flight,
    // and the server may store the second first: the figures above assume recording order).
    let client = phone_a.client(&server.url, 3);
    let mut confirmed = 0;
    while phone_a.pending() > 0 {
        confirmed += client.push_batch(&phone_a.store).await.unwrap().confirmed;
    }
    assert_eq!(confirmed, 15);
    {
        // v.b's day: three clean visits minutes apart; v.a's trail is not v.b's.
        let mut s = phone_b.store.lock().unwrap();
        s.record_visit(&visit(v, None, P0, 5.0, 1), at("2020-08-05T08:00:05+07:00")).unwrap();
        s.record_visit(&visit(v, None, north(50.0), 5.0, 0), at("2020-08-05T08:05:00+07:00")).unwrap();
        s.record_visit(&visit(v, None, north(100.0), 5.0, 2), at("2020-08-05T08:10:00+07:00")).unwrap();
    }
    let report = phone_b.client(&server.url, 100).drain(&phone_b.store, None).await;
    assert!(report.complete && report.stats.confirmed == 3, "{report:?}");
    {
        let mut s = lost.store.lock().unwrap();
        s.record_visit(&visit(v, None, P0, 5.0, 1), at("2020-08-04T10:00:00+07:00")).unwrap();
    }
    assert!(lost.client(&server.url, 10).drain(&lost.store, None).await.complete);

    // Every visit carries exactly the flags worked out above, on either database.
    let leader = server.login("l.thanhpho", PASSWORD).await;
    let (status, flagged) = server.get_as("/api/v1/visits?area=436&flagged=true", Some(&leader)).await;
    assert_eq!(status, 200, "{flagged}");
    let got: Vec<(String, Value)> = flagged
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].as_str().unwrap().to_string(), v["flags"].clone()))
        .collect();
    let want: Vec<(String, Value)> =
        ids.iter().filter(|(_, f)| !f.is_empty()).map(|(id, f)| (id.clone(), json!(f))).collect();
    assert_eq!(got.len(), 7, "{flagged}");
    for w in &want {
        assert!(got.contains(w), "{w:?} in {got:?}");
    }
    for (id, flags) in &ids {
        let (_, body) = server.get_as(&format!("/api/v1/visits/{id}"), Some(&leader)).await;
        assert_eq!(body["flags"], json!(flags), "{id}: {body}");
    }
    // One flag at a time, and a flag that does not exist.
    for (flag, n) in [
        ("burst", 3),
        ("implausible_speed", 1),
        ("poor_accuracy", 1),
        ("outside_area", 1),
        ("far_from_household", 1),
        ("other_volunteer", 0),
    ] {
        let (status, list) = server.get_as(&format!("/api/v1/visits?area=436&flag={flag}"), Some(&leader)).await;
        assert_eq!(status, 200, "{list}");
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), n, "{flag}: {list:?}");
        assert!(list.iter().all(|v| v["flags"].as_array().unwrap().contains(&json!(flag))));
    }
    let (status, body) = server.get_as("/api/v1/visits?area=436&flag=fast", Some(&leader)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str(), body["error"]["field"].as_str()),
        (400, Some("unknown_flag"), Some("flag"))
    );

    // Visits per volunteer and local day.
    let (status, days) =
        server.get_as("/api/v1/volunteers/daily?area=436&from=2020-08-05&to=2020-08-06", Some(&leader)).await;
    assert_eq!(status, 200, "{days}");
    let rows: Vec<Value> = days
        .as_array()
        .unwrap()
        .iter()
        .map(|d| json!([d["username"], d["date"], d["visits"], d["households"], d["installed_now"], d["flagged"]]))
        .collect();
    assert_eq!(
        rows,
        [
            // Thirteen visits to twelve households (the 4th was household 1 again),
            // 1+1+0+1+1+2+0+1+1+0+1+1+0 installs, seven flagged.
            json!(["v.a", "2020-08-05", 13, 12, 10, 7]),
            json!(["v.a", "2020-08-06", 2, 2, 3, 0]),
            json!(["v.b", "2020-08-05", 3, 3, 3, 0]),
        ]
    );
    // The lost phone's visit of the 4th is outside the range; a narrower range holds only its day.
    let (_, days) =
        server.get_as("/api/v1/volunteers/daily?area=18073&from=2020-08-06&to=2020-08-06", Some(&leader)).await;
    assert_eq!(days.as_array().unwrap().len(), 1, "{days}");
    let (_, days) = server.get("/api/v1/volunteers/daily?area=437&from=2020-08-01&to=2020-08-09").await;
    assert_eq!(days, json!([]), "nothing in another district's subtree");
    for query in ["from=5/8/2020", "from=2020-08-07&to=2020-08-05", "from=2019-01-01&to=2020-08-05"] {
        let (status, body) = server.get_as(&format!("/api/v1/volunteers/daily?area=436&{query}"), Some(&leader)).await;
        assert_eq!(status, 400, "{query}: {body}");
    }

    // Devices: the lost phone revoked; v.b's phone silent for 30 hours; one never synced.
    let (status, _) =
        server.post_as(&format!("/api/v1/devices/{}/revoke", device_id(&lost)), &leader, &json!({})).await;
    assert_eq!(status, 204);
    let now = Utc::now().timestamp_millis();
    set_last_sync(&server.db, &device_id(&phone_b), now - 30 * 3_600_000);
    let (status, list) = server.get_as("/api/v1/devices?area=436", Some(&leader)).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["stale_after_hours"], 24);
    let devices = list["devices"].as_array().unwrap();
    let summary: Vec<Value> = devices
        .iter()
        .map(|d| json!([d["device_id"], d["volunteer"], d["stale"], d["revoked"], d["last_sync"].is_null()]))
        .collect();
    // Stale first (never synced before silent for 30 h), then the fresh, then the revoked.
    assert_eq!(
        summary,
        [
            json!([device_id(&never), "v.b", true, false, true]),
            json!([device_id(&phone_b), "v.b", true, false, false]),
            json!([device_id(&phone_a), "v.a", false, false, false]),
            json!([device_id(&lost), "v.a", false, true, false]),
        ]
    );
    let by_id = |id: String| devices.iter().find(|d| d["device_id"] == id).unwrap().clone();
    let b = by_id(device_id(&phone_b));
    let minutes = b["minutes_since_sync"].as_i64().unwrap();
    assert!((30 * 60 - 1..30 * 60 + 5).contains(&minutes), "{b}");
    let a = by_id(device_id(&phone_a));
    assert_eq!(a["flagged_visits"], 7);
    assert!(a["minutes_since_sync"].as_i64().unwrap() < 10, "{a}");
    assert!(a["pushes"].as_i64().unwrap() >= 5, "fifteen visits in batches of three: {a}");
    assert_eq!(b["flagged_visits"], 0);
    // The app version each phone sent in its User-Agent (`doorstep-field/X.Y.Z`); none yet for
    // the phone never heard from.
    assert_eq!(a["app_version"], env!("CARGO_PKG_VERSION"), "{a}");
    assert_eq!(by_id(device_id(&never))["app_version"], Value::Null);
    // A push that names no version (another client) keeps the last one known; one that names
    // another replaces it.
    let token = phone_a.store.lock().unwrap().device_token().unwrap().unwrap().expose().to_string();
    let empty =
        json!({"device_id": device_id(&phone_a), "sent_at": Utc::now().to_rfc3339(), "records": []}).to_string();
    for agent in [None, Some("doorstep-field/9.1.0 (Android 10)")] {
        let mut push = reqwest::Client::new()
            .post(format!("{}/api/v1/sync/push", server.url))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(empty.clone());
        if let Some(agent) = agent {
            push = push.header("user-agent", agent);
        }
        assert_eq!(push.send().await.unwrap().status().as_u16(), 200);
        let (_, list) = server.get_as("/api/v1/devices?area=436", Some(&leader)).await;
        let a =
            list["devices"].as_array().unwrap().iter().find(|d| d["device_id"] == device_id(&phone_a)).unwrap().clone();
        assert_eq!(a["app_version"], if agent.is_some() { "9.1.0" } else { env!("CARGO_PKG_VERSION") }, "{agent:?}");
    }
    // A longer threshold makes the 30-hour silence fresh; the one never heard from stays stale.
    let (_, list) = server.get_as("/api/v1/devices?area=436&stale_hours=48", Some(&leader)).await;
    let stale: Vec<&Value> =
        list["devices"].as_array().unwrap().iter().filter(|d| d["stale"] == true).map(|d| &d["device_id"]).collect();
    assert_eq!(stale, [&json!(device_id(&never))]);
    let (status, body) = server.get_as("/api/v1/devices?area=436&stale_hours=0", Some(&leader)).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("stale_hours")));
    let (_, other_district) = server.get("/api/v1/devices?area=437").await;
    assert_eq!(other_district["devices"], json!([]));

    // Who may read them: not a volunteer, not a leader of another district; the committee may.
    let volunteer = server.login("v.a", PASSWORD).await;
    let other = server.login("l.other", PASSWORD).await;
    let committee = server.login("c.province", PASSWORD).await;
    for path in ["/api/v1/devices?area=18073", "/api/v1/volunteers/daily?area=18073"] {
        let (status, body) = server.get_as(path, Some(&volunteer)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("staff_only")), "{path}");
        let (status, body) = server.get_as(path, Some(&other)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("out_of_scope")), "{path}");
        let (status, body) = server.get_as(path, Some(&committee)).await;
        assert_eq!(status, 200, "{path}: {body}");
        let (status, _) = server.get_as(path, None).await;
        assert_eq!(status, 401);
    }
    // The OpenAPI document names them.
    let (_, spec) = server.get_as("/api/openapi.json", None).await;
    for path in ["/api/v1/devices", "/api/v1/volunteers/daily"] {
        assert!(spec["paths"][path]["get"]["security"].is_array(), "{path}");
    }
}

/// A visit sent again changes no flag, and the visit before a batch is found on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_again_changes_no_flag() {
    let server = TestServer::spawn();
    let phone = TestDevice::new(85);
    server.enrol(&phone).await;
    {
        // Two households from one spot, ten seconds apart: no flag yet.
        let mut s = phone.store.lock().unwrap();
        s.record_visit(&visit("18073", None, P0, 5.0, 1), at("2020-08-05T08:00:00+07:00")).unwrap();
        s.record_visit(&visit("18073", None, north(2.0), 5.0, 1), at("2020-08-05T08:00:10+07:00")).unwrap();
    }
    assert!(phone.client(&server.url, 10).drain(&phone.store, None).await.complete);
    {
        let mut s = phone.store.lock().unwrap();
        // A third, ten seconds after those already on the server: all three are a burst.
        s.record_visit(&visit("18073", None, north(1.0), 5.0, 1), at("2020-08-05T08:00:20+07:00")).unwrap();
    }
    let records: Vec<Value> = {
        let s = phone.store.lock().unwrap();
        s.next_batch(10).unwrap().iter().map(|e| serde_json::from_str(&e.body).unwrap()).collect()
    };
    let body = json!({"device_id": device_id(&phone), "sent_at": Utc::now().to_rfc3339(), "records": records});
    for _ in 0..2 {
        let (status, resp) = server.push_json(&body).await;
        assert_eq!(status, 200, "{resp}");
    }
    let (_, flagged) = server.get("/api/v1/visits?area=42&flagged=true").await;
    let flagged = flagged.as_array().unwrap();
    assert_eq!(flagged.len(), 3, "{flagged:?}");
    assert!(flagged.iter().all(|v| v["flags"] == json!(["burst"])), "{flagged:?}");
}
