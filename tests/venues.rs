//! Venues end to end: a phone records visits to an agency (with its visitor log), a school and a
//! hotel; they reach the server exactly once through their own push; progress, the venue list
//! and the daily workbook count them by the letter's four kinds of place and by unit, checked
//! against figures worked out by hand. A bad record is refused with its reason and the records
//! beside it are stored. The field app records a venue visit offline and it arrives once the
//! server is back. On SQLite and on PostgreSQL.

use std::sync::Arc;

use calamine::{Data, Reader, Xlsx};
use chrono::DateTime;
use doorstep_device::VenueVisitDraft;
use doorstep_domain::venue::VisitorLogInput;
use doorstep_domain::visit::LocationInput;
use doorstep_field::{FieldApp, FieldConfig, Fix};
use doorstep_tests::{TestDevice, TestServer, VOLUNTEER, create_account};
use serde_json::json;

const PASSWORD: &str = "mật khẩu thử cơ sở";

fn venue(kind: &str, name: &str, area: &str, people: i64, installed_now: i64) -> VenueVisitDraft {
    VenueVisitDraft {
        venue_id: None,
        kind: kind.into(),
        name: name.into(),
        address: Some("Đường Trần Phú".into()),
        area_code: area.into(),
        people_reached: people,
        smartphones: people,
        already_installed: 0,
        installed_now,
        notices_posted: 1,
        visitor_log: None,
        location: LocationInput {
            source: "gps".into(),
            lat: Some(18.3428),
            lon: Some(105.9057),
            accuracy_m: Some(10.0),
        },
        notes: None,
    }
}

fn at(text: &str) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

async fn xlsx(server: &TestServer, path: &str) -> Xlsx<std::io::Cursor<Vec<u8>>> {
    let token = server.admin_token().await;
    let resp = reqwest::Client::new().get(format!("{}{path}", server.url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let bytes = resp.bytes().await.unwrap().to_vec();
    calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venue_visits_arrive_once_and_are_counted_by_kind_and_unit() {
    let server = TestServer::spawn();
    let phone = TestDevice::new(81);
    server.enrol(&phone).await;
    let client = phone.client(&server.url, 100);

    // By hand: on 4 August, the commune office of 18073 (visitor log 120 in, 100 told, 30
    // installed; 40 staff reached, 10 installed), a school in 18073 (600 reached, 90 installed)
    // and a hotel in 18077 (12 reached, 3 installed); on 5 August the office again (20 reached,
    // 5 installed, log 50/40/10).
    let office = {
        let mut d = venue("agency", "UBND phường Nam Hà", "18073", 40, 10);
        d.visitor_log = Some(VisitorLogInput { came_in: 120, told: 100, installed: 30 });
        d
    };
    let recorded = {
        let mut s = phone.store.lock().unwrap();
        let first = s.record_venue_visit(&office, at("2020-08-04T08:00:00+07:00")).unwrap();
        s.record_venue_visit(
            &venue("school", "Trường THCS Lê Văn Thiêm", "18073", 600, 90),
            at("2020-08-04T09:00:00+07:00"),
        )
        .unwrap();
        s.record_venue_visit(&venue("hotel", "Khách sạn Hồng Ngọc", "18077", 12, 3), at("2020-08-04T10:00:00+07:00"))
            .unwrap();
        let again = VenueVisitDraft {
            venue_id: Some(first.venue.id.uuid()),
            people_reached: 20,
            smartphones: 20,
            installed_now: 5,
            visitor_log: Some(VisitorLogInput { came_in: 50, told: 40, installed: 10 }),
            ..office.clone()
        };
        s.record_venue_visit(&again, at("2020-08-05T08:00:00+07:00")).unwrap();
        assert_eq!(s.queue().unwrap().venue_pending, 4);
        first
    };

    let stats = client.drain_venues(&phone.store).await.unwrap();
    assert_eq!((stats.sent, stats.confirmed, stats.rejected), (4, 4, 0), "{stats:?}");
    assert_eq!(phone.store.lock().unwrap().queue().unwrap().venue_pending, 0);
    // Nothing left: a second drain sends nothing.
    assert_eq!(client.drain_venues(&phone.store).await.unwrap().sent, 0);
    assert_eq!(server.db.i64("SELECT count(*) FROM venue_visits"), 4);
    assert_eq!(server.db.i64("SELECT count(*) FROM venues"), 3);

    // The same record sent again, in another batch: a duplicate, nothing changes.
    let body = json!({
        "device_id": phone.store.lock().unwrap().device_id().to_string(),
        "sent_at": "2020-08-05T09:00:00+07:00",
        "records": [recorded.to_input()],
    });
    let (status, answer) = server
        .post("/api/v1/sync/venues", &[("content-type", "application/json")], body.to_string().into_bytes())
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["receipts"][0]["status"], "duplicate");
    assert_eq!(server.db.i64("SELECT count(*) FROM venue_visits"), 4);

    // Progress of the city: the four groups, and each unit's.
    let (status, p) = server.get("/api/v1/progress?area=436&to=2020-08-05").await;
    assert_eq!(status, 200, "{p}");
    let group = |groups: &serde_json::Value, g: &str| -> serde_json::Value {
        groups.as_array().unwrap().iter().find(|x| x["group"] == g).unwrap()["figures"].clone()
    };
    let totals = &p["venues"]["totals"];
    let agency = group(totals, "agency");
    assert_eq!(
        (agency["venues"].as_i64(), agency["visits"].as_i64(), agency["people_reached"].as_i64()),
        (Some(1), Some(2), Some(60))
    );
    assert_eq!(
        (agency["visitors_came_in"].as_i64(), agency["visitors_told"].as_i64(), agency["visitors_installed"].as_i64()),
        (Some(170), Some(140), Some(40))
    );
    assert_eq!(group(totals, "school")["installed_now"], 90);
    assert_eq!(group(totals, "business")["venues"], 1, "a hotel is a business");
    assert_eq!(group(totals, "transport_hub")["visits"], 0);
    let unit = |code: &str| {
        p["venues"]["units"].as_array().unwrap().iter().find(|u| u["area_code"] == code).unwrap()["groups"].clone()
    };
    assert_eq!(group(&unit("18073"), "agency")["visits"], 2);
    assert_eq!(group(&unit("18073"), "business")["visits"], 0);
    assert_eq!(group(&unit("18077"), "business")["people_reached"], 12);
    // Up to 4 August only: the second office visit is not counted yet.
    let (_, p4) = server.get("/api/v1/progress?area=436&to=2020-08-04").await;
    assert_eq!(group(&p4["venues"]["totals"], "agency")["visits"], 1);

    // The venue list, by Vietnamese name order, with its visits' figures.
    let (status, list) = server.get("/api/v1/venues?area=436").await;
    assert_eq!(status, 200, "{list}");
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Khách sạn Hồng Ngọc", "Trường THCS Lê Văn Thiêm", "UBND phường Nam Hà"]);
    assert_eq!(
        (list[2]["visits"].as_i64(), list[2]["installed_now"].as_i64(), list[2]["kind"].as_str()),
        (Some(2), Some(15), Some("agency"))
    );
    assert_eq!(list[2]["last_visited_at"], "2020-08-05T08:00:00+07:00");

    // The phone lists them too once it fetches the area's venues.
    assert_eq!(client.fetch_venues(&phone.store, "436").await.unwrap(), 3);
    let local = phone.store.lock().unwrap().venues(None).unwrap();
    assert_eq!(local.len(), 3);
    assert_eq!(local.iter().find(|v| v.kind == "agency").unwrap().visits_here, 2);

    // The daily report of 4 August, read back by calamine.
    let mut book = xlsx(&server, "/api/v1/reports/daily.xlsx?area=436&date=2020-08-04").await;
    let sheet = book.worksheet_range("Cơ sở").unwrap();
    let total_row = (1..sheet.height() as u32)
        .find(|&r| sheet.get_value((r, 0)) == Some(&Data::String("Tổng cộng".into())))
        .expect("a total row");
    // Columns: unit, agencies, schools, businesses, hubs, people reached, smartphones, already,
    // installed now, notices, log came in, told, installed. Every day up to the report's.
    let cell = |c: u32| sheet.get_value((total_row, c)).cloned();
    assert_eq!(
        (cell(1), cell(2), cell(3), cell(4)),
        (Some(Data::Float(1.0)), Some(Data::Float(1.0)), Some(Data::Float(1.0)), Some(Data::Float(0.0)))
    );
    assert_eq!(cell(5), Some(Data::Float(652.0)), "40 + 600 + 12 reached");
    assert_eq!(cell(8), Some(Data::Float(103.0)), "10 + 90 + 3 installed");
    assert_eq!(cell(10), Some(Data::Float(120.0)), "the log of the 4th only");
    let day = book.worksheet_range("Lượt thăm cơ sở").unwrap();
    assert_eq!(day.height(), 4, "a header and the three visits of the 4th");
    assert_eq!(day.get_value((1, 2)), Some(&Data::String("UBND phường Nam Hà".into())));
    assert_eq!(day.get_value((1, 3)), Some(&Data::String("Cơ quan".into())));
    assert_eq!(day.get_value((1, 9)), Some(&Data::Float(120.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_venue_record_is_refused_with_its_reason_and_the_others_are_stored() {
    let server = TestServer::spawn();
    let device = uuid::Uuid::now_v7().to_string();
    let good = |seq: i64, area: &str| {
        json!({
            "id": uuid::Uuid::now_v7().to_string(), "revision": 1, "device_seq": seq, "device_id": device,
            "volunteer_id": uuid::Uuid::now_v7().to_string(), "area_code": area,
            "venue": {"id": uuid::Uuid::now_v7().to_string(), "kind": "transport_hub", "name": "Bến xe Hà Tĩnh"},
            "visited_at": "2020-08-04T07:30:00+07:00", "people_reached": 80, "smartphones": 60,
            "already_installed": 20, "installed_now": 15, "notices_posted": 6,
            "location": {"source": "none"}
        })
    };
    let mut bad_kind = good(2, "18073");
    bad_kind["venue"]["kind"] = json!("church");
    let mut bad_log = good(3, "18073");
    bad_log["visitor_log"] = json!({"came_in": 10, "told": 12, "installed": 0});
    let mut not_a_number = good(4, "18073");
    not_a_number["people_reached"] = json!("many");
    let unknown_area = good(5, "99999");
    let body = json!({
        "device_id": device, "sent_at": "2020-08-04T08:00:00+07:00",
        "records": [good(1, "18073"), bad_kind, bad_log, not_a_number, unknown_area, good(6, "18077")],
    });
    let (status, answer) = server
        .post(
            "/api/v1/sync/venues",
            &[("content-type", "application/json"), ("accept-language", "en")],
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    let receipts = answer["receipts"].as_array().unwrap();
    let seen: Vec<(&str, Option<&str>, Option<&str>)> = receipts
        .iter()
        .map(|r| (r["status"].as_str().unwrap(), r["error"]["code"].as_str(), r["error"]["field"].as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("stored", None, None),
            ("rejected", Some("unknown_venue_kind"), Some("venue.kind")),
            ("rejected", Some("told_exceeds_came_in"), Some("visitor_log.told")),
            ("rejected", Some("malformed"), Some("people_reached")),
            ("rejected", Some("unknown_area"), Some("area_code")),
            ("stored", None, None),
        ]
    );
    assert!(
        receipts[2]["error"]["message"].as_str().unwrap().contains("visitor log"),
        "a message a person can act on: {}",
        receipts[2]["error"]
    );
    assert_eq!(server.db.i64("SELECT count(*) FROM venue_visits"), 2);

    // The same id and revision with other content is refused, and the stored one kept.
    let mut first = body["records"][0].clone();
    first["people_reached"] = json!(81);
    let again = json!({"device_id": device, "sent_at": "2020-08-04T08:05:00+07:00", "records": [first]});
    let (status, answer) = server
        .post("/api/v1/sync/venues", &[("content-type", "application/json")], again.to_string().into_bytes())
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["receipts"][0]["error"]["code"], "id_reused");
    assert_eq!(server.db.i64("SELECT sum(people_reached) FROM venue_visits"), 160, "80 + 80, unchanged");
}

/// A venue visit that makes its whole batch unreadable (here its stored body, broken on the
/// phone) is found by halving the batch, marked refused with the server's reason, and the others
/// arrive: one bad record never holds back the rest, as in the visits' drain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_batch_refused_whole_is_split_until_the_bad_record_is_alone() {
    let server = TestServer::spawn();
    let phone = TestDevice::new(91);
    server.enrol(&phone).await;
    {
        let mut s = phone.store.lock().unwrap();
        for n in 0..5 {
            let draft = venue("school", &format!("Trường số {n}"), "18073", 100 + n, 10);
            s.record_venue_visit(&draft, at("2020-08-04T08:00:00+07:00")).unwrap();
        }
    }
    // The third one's body, as the phone would send it, is no longer JSON.
    let db = phone.dir.path().join("device.db");
    let key = doorstep_device::KeyStore::load(&doorstep_device::KeyFile::beside(&db)).unwrap().unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    doorstep_device::key_connection(&conn, &key).unwrap();
    let third: i64 = conn
        .query_row("SELECT device_seq FROM venue_visits ORDER BY device_seq LIMIT 1 OFFSET 2", [], |r| r.get(0))
        .unwrap();
    conn.execute("UPDATE venue_visits SET body = '{\"id\": ' WHERE device_seq = ?1", [third]).unwrap();
    drop(conn);

    let stats = phone.client(&server.url, 100).drain_venues(&phone.store).await.expect("the drain goes on past it");
    assert_eq!((stats.confirmed, stats.rejected), (4, 1), "{stats:?}");
    let queue = phone.store.lock().unwrap().queue().unwrap();
    assert_eq!((queue.venue_pending, queue.venue_rejected), (0, 1));
    assert_eq!(server.db.i64("SELECT count(*) FROM venue_visits"), 4);
    // Sending again sends nothing: the refused one waits for the volunteer, not the network.
    let again = phone.client(&server.url, 100).drain_venues(&phone.store).await.unwrap();
    assert_eq!(again.sent, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venue_lists_stay_inside_the_callers_areas() {
    let mut server = TestServer::prepare_stopped();
    create_account(&server.db.url, "l.namha", "leader", "18073", PASSWORD);
    server.start_again();
    let leader = server.login("l.namha", PASSWORD).await;
    let (status, _) = server.get_as("/api/v1/venues?area=18073", Some(&leader)).await;
    assert_eq!(status, 200);
    let (status, body) = server.get_as("/api/v1/venues?area=18077", Some(&leader)).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = server.get_as("/api/v1/venues?area=18073", None).await;
    assert_eq!(status, 401);
    // A phone reads venues with its device token only, inside its volunteer's areas.
    let (status, _) = server.get_as("/api/v1/sync/venues?area=18073", Some(&leader)).await;
    assert_eq!(status, 401, "a person's session is not a device token");
    let (status, list) = server.get("/api/v1/sync/venues?area=42").await;
    assert_eq!((status, list), (200, json!([])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_field_app_records_a_venue_visit_offline_and_it_arrives_once() {
    let mut server = TestServer::spawn();
    let dir = tempfile::tempdir().unwrap();
    let app: Arc<FieldApp> = FieldApp::open(
        dir.path(),
        FieldConfig {
            default_server: server.url.clone(),
            fixed_location: Fix::parse_fixed("18.3428,105.9057,6"),
            ..FieldConfig::default()
        },
    )
    .unwrap();
    let code = server.enrolment_code(VOLUNTEER).await;
    app.enrol(&server.url, &code).await.unwrap();
    app.sync_once().await;

    server.kill();
    let mut d = venue("restaurant", "Quán ăn Bà Ba", "18073", 25, 4);
    d.notes = Some("Chủ quán hứa nhắc khách cài.".into());
    app.record_venue_visit(&d).unwrap();
    // A bad one is refused on the phone, named, and nothing is saved.
    let mut bad = d.clone();
    bad.kind = "church".into();
    let e = app.record_venue_visit(&bad).unwrap_err();
    assert_eq!((e.code.as_str(), e.field.as_deref()), ("unknown_venue_kind", Some("venue.kind")));
    app.sync_once().await;
    let status = app.status().unwrap();
    assert_eq!((status.queue.venues_pending, status.online), (1, false), "{status:?}");
    assert_eq!(app.venues(Some("18073")).unwrap().len(), 1, "listed on the phone at once");

    server.start_again();
    app.sync_once().await;
    app.sync_once().await;
    let status = app.status().unwrap();
    assert_eq!(status.queue.venues_pending, 0, "{status:?}");
    assert_eq!(server.db.i64("SELECT count(*) FROM venue_visits"), 1);
    assert_eq!(server.db.text("SELECT notes FROM venue_visits").as_deref(), Some("Chủ quán hứa nhắc khách cài."));
    assert!(app.rejected_venue_visits().unwrap().is_empty());
}
