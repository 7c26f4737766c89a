//! Writes across owners, tried as an attacker would (issue 17): with accounts and enrolled phones
//! in two districts of one province, each test has a phone, a volunteer or a leader change what
//! is not theirs (a visit's revisions, a phone's id, a venue, a household of another area, a
//! claim), or probe what exists outside their areas, and checks it is refused with a clear code
//! in both languages and that nothing changed. Runs on SQLite and on PostgreSQL.
//!
//! The province is Hà Tĩnh (2020 tree): district A is 436 (Thành phố Hà Tĩnh) with its commune
//! 18073; district B is 437 with its commune 18115.

use chrono::{FixedOffset, SecondsFormat, Utc};
use doorstep_tests::{TestServer, create_account, doorstep};
use serde_json::{Value, json};

const PASSWORD: &str = "mật khẩu thử tấn công";
const COMMUNE_A: &str = "18073";
const COMMUNE_A2: &str = "18077";
const COMMUNE_B: &str = "18115";

/// The people of both districts: a leader and volunteers in A, a leader and a volunteer in B.
fn accounts(db: &str) {
    create_account(db, "l.a", "leader", "436", PASSWORD);
    create_account(db, "l.b", "leader", "437", PASSWORD);
    create_account(db, "v.a", "volunteer", COMMUNE_A, PASSWORD);
    create_account(db, "v.a2", "volunteer", COMMUNE_A, PASSWORD);
    create_account(db, "v.b", "volunteer", COMMUNE_B, PASSWORD);
}

async fn server() -> TestServer {
    let mut server = TestServer::prepare_stopped();
    accounts(&server.db.url);
    server.start_again();
    server
}

/// An enrolled phone, spoken for with its own token.
struct Phone {
    device_id: String,
    volunteer_id: String,
    token: String,
    seq: i64,
}

/// Enrols `device_id` for `volunteer` with a code their leader issues; answers the phone.
async fn enrol(server: &TestServer, leader: &str, volunteer: &str, device_id: &str) -> Result<Phone, (u16, Value)> {
    let code = code_from(server, leader, volunteer).await;
    let (status, body) = redeem(server, &code, device_id).await;
    if status != 200 {
        return Err((status, body));
    }
    Ok(Phone {
        device_id: device_id.to_string(),
        volunteer_id: body["volunteer_id"].as_str().unwrap().to_string(),
        token: body["device_token"].as_str().unwrap().to_string(),
        seq: 0,
    })
}

async fn code_from(server: &TestServer, leader: &str, volunteer: &str) -> String {
    let token = server.login(leader, PASSWORD).await;
    let (status, body) = server.post_as("/api/v1/enrolments", &token, &json!({"volunteer": volunteer})).await;
    assert_eq!(status, 200, "{leader} issues a code for {volunteer}: {body}");
    body["code"].as_str().unwrap().to_string()
}

async fn redeem(server: &TestServer, code: &str, device_id: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/enrol", server.url))
        .json(&json!({"code": code, "device_id": device_id}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn new_phone(server: &TestServer, leader: &str, volunteer: &str) -> Phone {
    enrol(server, leader, volunteer, &uuid::Uuid::now_v7().to_string())
        .await
        .unwrap_or_else(|e| panic!("enrol a phone for {volunteer}: {e:?}"))
}

fn now_text() -> String {
    Utc::now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap()).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// A household visit record as a phone sends it.
struct Record<'a> {
    id: &'a str,
    revision: i64,
    area: &'a str,
    household: &'a str,
    outcome: &'a str,
    volunteer: Option<&'a str>,
    visited_at: Option<&'a str>,
}

impl Phone {
    fn visit(&mut self, r: &Record<'_>) -> Value {
        self.seq += 1;
        let (people, phones, already, now, reason) = match r.outcome {
            "installed_now" => (4, 3, 1, 2, None),
            "refused" => (3, 2, 0, 0, Some("Lo ngại quyền riêng tư")),
            _ => (2, 1, 0, 0, None),
        };
        json!({
            "id": r.id, "revision": r.revision, "device_seq": self.seq,
            "device_id": self.device_id,
            "volunteer_id": r.volunteer.unwrap_or(&self.volunteer_id),
            "area_code": r.area,
            "household": {"id": r.household, "address": "Số 12, đường Trần Phú"},
            "visited_at": r.visited_at.map(str::to_string).unwrap_or_else(now_text),
            "outcome": r.outcome, "reason": reason,
            "people": people, "smartphones": phones, "already_installed": already, "installed_now": now,
            "leaflet_given": true,
            "location": {"source": "gps", "lat": 18.3428, "lon": 105.9057, "accuracy_m": 8.0},
        })
    }

    /// Pushes records to `path` with this phone's token; answers the status and the receipts.
    async fn push_to(&self, server: &TestServer, path: &str, records: Vec<Value>, sent_at: &str) -> (u16, Value) {
        let body = json!({"device_id": self.device_id, "sent_at": sent_at, "records": records});
        let auth = format!("Bearer {}", self.token);
        server
            .post(
                path,
                &[("content-type", "application/json"), ("authorization", &auth)],
                body.to_string().into_bytes(),
            )
            .await
    }

    async fn push(&self, server: &TestServer, records: Vec<Value>) -> (u16, Value) {
        self.push_to(server, "/api/v1/sync/push", records, &now_text()).await
    }
}

/// The receipt of each record: its status and its error's code, and that every refusal says
/// what is wrong in Vietnamese and in English.
fn receipts(body: &Value) -> Vec<(String, Option<String>)> {
    body["receipts"]
        .as_array()
        .unwrap_or_else(|| panic!("no receipts: {body}"))
        .iter()
        .map(|r| {
            if let Some(e) = r["error"].as_object() {
                let (vi, en) = (e["messages"]["vi"].as_str(), e["messages"]["en"].as_str());
                assert!(
                    vi.is_some_and(|m| !m.is_empty()) && en.is_some_and(|m| !m.is_empty()) && vi != en,
                    "a refusal in both languages: {r}"
                );
            }
            (r["status"].as_str().unwrap().to_string(), r["error"]["code"].as_str().map(str::to_string))
        })
        .collect()
}

fn stored() -> (String, Option<String>) {
    ("stored".into(), None)
}

fn refused(code: &str) -> (String, Option<String>) {
    ("rejected".into(), Some(code.into()))
}

/// What a leader reads of an area: its coverage (households, visits, outcomes, phones).
async fn coverage(server: &TestServer, token: &str, area: &str) -> Value {
    let (status, body) = server.get_as(&format!("/api/v1/coverage?area={area}"), Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The latest outcome of a household as the server holds it.
fn household_outcome(server: &TestServer, household: &str) -> (Option<String>, Option<String>, i64) {
    let id = if server.db.is_postgres() {
        format!("'{household}'::uuid")
    } else {
        format!("x'{}'", household.replace('-', ""))
    };
    let rows = server.db.rows(&format!("SELECT area_code, latest_outcome, visits FROM households WHERE id = {id}"));
    let row = rows.first().unwrap_or_else(|| panic!("household {household} held"));
    (row[0].clone(), row[1].clone(), row[2].as_deref().unwrap().parse().unwrap())
}

fn revisions_held(server: &TestServer, visit: &str) -> Vec<i64> {
    let mut held: Vec<i64> = server.visit_ids().into_iter().filter(|(id, _)| id == visit).map(|(_, r)| r).collect();
    held.sort();
    held
}

/// Item 1: a phone that learns a visit's id cannot add a revision to it, whatever volunteer,
/// area, outcome or revision number it names; only the visit's own volunteer adds the next one,
/// from any of their phones, and only that answers a leader's send-back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_visits_own_volunteer_adds_its_revisions() {
    let server = server().await;
    let mut owner = new_phone(&server, "l.a", "v.a").await;
    let mut neighbour = new_phone(&server, "l.a", "v.a2").await;
    let mut other_district = new_phone(&server, "l.b", "v.b").await;
    let (visit, household) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
    let first = Record {
        id: &visit,
        revision: 1,
        area: COMMUNE_A,
        household: &household,
        outcome: "installed_now",
        volunteer: None,
        visited_at: None,
    };
    let record = owner.visit(&first);
    let (status, body) = owner.push(&server, vec![record]).await;
    assert_eq!((status, receipts(&body)), (200, vec![stored()]), "{body}");
    let leader_a = server.login("l.a", PASSWORD).await;
    let (status, body) = server
        .post_as(
            &format!("/api/v1/visits/{visit}/send-back"),
            &leader_a,
            &json!({"comment": "Kiểm tra lại số máy đã cài"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let before = (coverage(&server, &leader_a, "436").await, household_outcome(&server, &household));

    // Another district's phone: the next number, the largest number, naming the owner, moving
    // the visit to its own district with another outcome.
    let owner_id = owner.volunteer_id.clone();
    let attempts = [(2, COMMUNE_B, None), (i64::MAX, COMMUNE_A, None), (2, COMMUNE_A, Some(owner_id.as_str()))];
    for (revision, area, volunteer) in attempts {
        let r = other_district.visit(&Record { revision, area, outcome: "refused", volunteer, ..first });
        let (status, body) = other_district.push(&server, vec![r]).await;
        assert_eq!(
            (status, receipts(&body)),
            (422, vec![refused("not_your_visit")]),
            "revision {revision} in {area}: {body}"
        );
    }
    // A phone of another volunteer of the same commune, and one re-enrolled over nothing.
    let r = neighbour.visit(&Record { revision: 2, outcome: "refused", ..first });
    let (status, body) = neighbour.push(&server, vec![r]).await;
    assert_eq!((status, receipts(&body)), (422, vec![refused("not_your_visit")]), "{body}");

    // Nothing changed: the visit, its household, the district's figures, the open send-back.
    assert_eq!(revisions_held(&server, &visit), vec![1]);
    assert_eq!((coverage(&server, &leader_a, "436").await, household_outcome(&server, &household)), before);
    let (status, got) = server.get_as(&format!("/api/v1/visits/{visit}"), Some(&leader_a)).await;
    assert_eq!((status, got["revision"].as_i64()), (200, Some(1)), "{got}");
    let (_, open) = server.get_as(&format!("/api/v1/corrections?area={COMMUNE_A}"), Some(&leader_a)).await;
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert!(open[0]["answered_by_revision"].is_null(), "{open}");

    // The owner's second phone: a gap and a move are refused with their reasons; the next
    // revision is stored, answers the send-back, and changes the household.
    let mut owners_other_phone = new_phone(&server, "l.a", "v.a").await;
    let gap = owners_other_phone.visit(&Record { revision: 3, outcome: "refused", ..first });
    let moved = owners_other_phone.visit(&Record { revision: 2, area: COMMUNE_A2, outcome: "refused", ..first });
    let other_household = uuid::Uuid::now_v7().to_string();
    let elsewhere =
        owners_other_phone.visit(&Record { revision: 2, household: &other_household, outcome: "refused", ..first });
    let (status, body) = owners_other_phone.push(&server, vec![gap, moved, elsewhere]).await;
    assert_eq!(
        (status, receipts(&body)),
        (422, vec![refused("revision_gap"), refused("revision_other_household"), refused("revision_other_household")]),
        "{body}"
    );
    assert!(body["receipts"][0]["error"]["messages"]["en"].as_str().unwrap().contains("revision 2"), "{body}");
    let second = owners_other_phone.visit(&Record { revision: 2, outcome: "refused", ..first });
    let (status, body) = owners_other_phone.push(&server, vec![second.clone()]).await;
    assert_eq!((status, receipts(&body)), (200, vec![stored()]), "{body}");
    // Sent again (its answer lost): a duplicate, not a gap.
    let (status, body) = owners_other_phone.push(&server, vec![second]).await;
    assert_eq!((status, receipts(&body)), (200, vec![("duplicate".to_string(), None)]), "{body}");
    assert_eq!(revisions_held(&server, &visit), vec![1, 2]);
    let (area, outcome, visits) = household_outcome(&server, &household);
    assert_eq!((area.as_deref(), outcome.as_deref(), visits), (Some(COMMUNE_A), Some("refused"), 1));
    let (_, open) = server.get_as(&format!("/api/v1/corrections?area={COMMUNE_A}"), Some(&leader_a)).await;
    assert_eq!(open, json!([]), "answered");
    let (_, all) = server.get_as(&format!("/api/v1/corrections?area={COMMUNE_A}&open=false"), Some(&leader_a)).await;
    assert_eq!(all[0]["answered_by_revision"].as_i64(), Some(2), "{all}");
    // The owner's first phone goes on from there.
    let third = owner.visit(&Record { revision: 3, outcome: "installed_now", ..first });
    let (status, body) = owner.push(&server, vec![third]).await;
    assert_eq!((status, receipts(&body)), (200, vec![stored()]), "{body}");

    // Venue visits follow the same rule.
    let (venue_visit, venue) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
    let registered = venue_record(&mut owner, &venue_visit, 1, COMMUNE_A, &venue, "school", "Trường THCS Nam Hà");
    let (status, body) = owner.push_to(&server, "/api/v1/sync/venues", vec![registered], &now_text()).await;
    assert_eq!((status, receipts(&body)), (200, vec![stored()]), "{body}");
    let theirs = venue_record(&mut neighbour, &venue_visit, 2, COMMUNE_A, &venue, "school", "Trường THCS Nam Hà");
    let (status, body) = neighbour.push_to(&server, "/api/v1/sync/venues", vec![theirs], &now_text()).await;
    assert_eq!((status, receipts(&body)), (422, vec![refused("not_your_visit")]), "{body}");
}

#[allow(clippy::too_many_arguments)]
fn venue_record(phone: &mut Phone, id: &str, revision: i64, area: &str, venue: &str, kind: &str, name: &str) -> Value {
    phone.seq += 1;
    json!({
        "id": id, "revision": revision, "device_seq": phone.seq, "device_id": phone.device_id,
        "volunteer_id": phone.volunteer_id, "area_code": area,
        "venue": {"id": venue, "kind": kind, "name": name},
        "visited_at": now_text(),
        "people_reached": 30, "smartphones": 25, "already_installed": 10, "installed_now": 5,
        "notices_posted": 2,
        "location": {"source": "gps", "lat": 18.3428, "lon": 105.9057, "accuracy_m": 8.0},
    })
}

/// Item 2: a phone's id is its own. A code for another volunteer cannot enrol it (the code
/// stays usable); the same volunteer may enrol it again (a reinstall); who may revoke it follows
/// the volunteer it was enrolled for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phones_id_cannot_be_enrolled_for_another_volunteer() {
    let server = server().await;
    let phone = new_phone(&server, "l.a", "v.a").await;
    let code = code_from(&server, "l.b", "v.b").await;
    let (status, body) = redeem(&server, &code, &phone.device_id).await;
    assert_eq!(
        (status, body["error"]["code"].as_str(), body["error"]["field"].as_str()),
        (409, Some("device_taken"), Some("device_id")),
        "{body}"
    );
    let m = &body["error"]["messages"];
    assert!(m["vi"].as_str().is_some_and(|s| !s.is_empty()) && m["en"].as_str().is_some_and(|s| !s.is_empty()));
    // The code was not used up: it enrols a phone of its own.
    let (status, body) = redeem(&server, &code, &uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(status, 200, "{body}");
    // A reinstall: the same volunteer enrols the same id again, and both tokens are theirs.
    let again = enrol(&server, "l.a", "v.a", &phone.device_id).await;
    assert!(again.is_ok(), "{again:?}", again = again.err());
    // The other district's leader cannot revoke it (answered as no such device); its own can.
    let revoke = |leader: &'static str| {
        let (server, device) = (&server, phone.device_id.clone());
        async move {
            let token = server.login(leader, PASSWORD).await;
            server.post_as(&format!("/api/v1/devices/{device}/revoke"), &token, &json!({})).await
        }
    };
    let (status, body) = revoke("l.b").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("no_such_device")));
    let (status, _) = revoke("l.a").await;
    assert_eq!(status, 204);
    // Revoked, the id still belongs to its volunteer: no other volunteer's code takes it.
    let code = code_from(&server, "l.b", "v.b").await;
    let (status, body) = redeem(&server, &code, &phone.device_id).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("device_taken")));
    let held =
        server.db.i64("SELECT count(*) FROM device_tokens t JOIN users u ON u.id = t.user_id WHERE u.username = 'v.b'");
    assert_eq!(held, 1, "only the fresh phone is v.b's");
}

/// Item 5: a venue's name, kind and area change only through visits in its own area by phones
/// working there; anything else is refused and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_changes_only_from_its_own_area() {
    let server = server().await;
    let mut owner = new_phone(&server, "l.a", "v.a").await;
    let mut colleague = new_phone(&server, "l.a", "v.a2").await;
    let mut other_district = new_phone(&server, "l.b", "v.b").await;
    let venue = uuid::Uuid::now_v7().to_string();
    let push = |phone: &Phone, record: Value| {
        let (server, phone_token, device) = (&server, phone.token.clone(), phone.device_id.clone());
        async move {
            let body = json!({"device_id": device, "sent_at": now_text(), "records": [record]});
            let auth = format!("Bearer {phone_token}");
            let (status, body) = server
                .post(
                    "/api/v1/sync/venues",
                    &[("content-type", "application/json"), ("authorization", &auth)],
                    body.to_string().into_bytes(),
                )
                .await;
            (status, receipts(&body))
        }
    };
    let id = || uuid::Uuid::now_v7().to_string();
    let school = "Trường THCS Nam Hà";
    let r = venue_record(&mut owner, &id(), 1, COMMUNE_A, &venue, "school", school);
    assert_eq!(push(&owner, r).await, (200, vec![stored()]));
    let listed = |token: String, area: &'static str| {
        let server = &server;
        async move {
            let (status, body) = server.get_as(&format!("/api/v1/venues?area={area}"), Some(&token)).await;
            assert_eq!(status, 200, "{body}");
            body.as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    (
                        v["area_code"].as_str().unwrap().to_string(),
                        v["kind"].as_str().unwrap().to_string(),
                        v["name"].as_str().unwrap().to_string(),
                        v["visits"].as_i64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let (leader_a, leader_b) = (server.login("l.a", PASSWORD).await, server.login("l.b", PASSWORD).await);

    // From the other district: renamed into a shop in its own area, or in the venue's area.
    for area in [COMMUNE_B, COMMUNE_A] {
        let r = venue_record(&mut other_district, &id(), 1, area, &venue, "shop", "Cửa hàng tạp hoá");
        assert_eq!(push(&other_district, r).await, (422, vec![refused("venue_out_of_area")]), "{area}");
    }
    // From the venue's district but another commune's area, by a phone working there.
    let r = venue_record(&mut colleague, &id(), 1, COMMUNE_A2, &venue, "shop", "Cửa hàng tạp hoá");
    assert_eq!(push(&colleague, r).await, (422, vec![refused("venue_out_of_area")]));
    assert_eq!(listed(leader_a.clone(), "436").await, vec![(COMMUNE_A.into(), "school".into(), school.into(), 1)]);
    assert!(listed(leader_b.clone(), "437").await.is_empty());
    // A visit from outside that changes nothing of the venue is a visit like any other.
    let r = venue_record(&mut other_district, &id(), 1, COMMUNE_A, &venue, "school", school);
    assert_eq!(push(&other_district, r).await, (200, vec![stored()]));
    // A phone working in the venue's area corrects its name.
    let renamed = "Trường THCS Nam Hà (cơ sở 2)";
    let r = venue_record(&mut colleague, &id(), 1, COMMUNE_A, &venue, "school", renamed);
    assert_eq!(push(&colleague, r).await, (200, vec![stored()]));
    assert_eq!(listed(leader_a, "436").await, vec![(COMMUNE_A.into(), "school".into(), renamed.into(), 3)]);
    assert!(listed(leader_b, "437").await.is_empty());
}

/// Item 6: a visit time is judged by the server's clock (48 hours' grace), whatever the phone's
/// clock says, and not before the campaign's first day; the records beside them are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visit_times_are_judged_by_the_servers_clock_and_the_campaigns_first_day() {
    let server = server().await;
    let mut phone = new_phone(&server, "l.a", "v.a").await;
    let times = ["9999-12-31T10:00:00+07:00", "2090-06-01T10:00:00+07:00", "2020-08-01T23:00:00+07:00"];
    let mut records: Vec<Value> = Vec::new();
    for t in times {
        let (id, household) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
        records.push(phone.visit(&Record {
            id: &id,
            revision: 1,
            area: COMMUNE_A,
            household: &household,
            outcome: "installed_now",
            volunteer: None,
            visited_at: Some(t),
        }));
    }
    let (id, household) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
    records.push(phone.visit(&Record {
        id: &id,
        revision: 1,
        area: COMMUNE_A,
        household: &household,
        outcome: "installed_now",
        volunteer: None,
        visited_at: None,
    }));
    // The phone's clock says the year 9999 too.
    let (status, body) = phone.push_to(&server, "/api/v1/sync/push", records, "9999-12-31T10:00:00+07:00").await;
    assert_eq!(
        (status, receipts(&body)),
        (422, vec![refused("in_future"), refused("in_future"), refused("before_campaign_start"), stored()]),
        "{body}"
    );
    let e = &body["receipts"];
    assert!(e[0]["error"]["messages"]["vi"].as_str().unwrap().contains("48 giờ"), "{body}");
    assert!(e[2]["error"]["messages"]["en"].as_str().unwrap().contains("02/08/2020"), "{body}");
    assert_eq!(server.visit_count(), 1);
    // The daily curve holds only today.
    let leader = server.login("l.a", PASSWORD).await;
    let (status, p) = server.get_as("/api/v1/progress?area=436&from=2020-01-01&to=9999-12-31", Some(&leader)).await;
    assert_eq!(status, 200, "{p}");
    let days: Vec<&str> = p["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["visits"].as_i64() > Some(0))
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(days.len(), 1, "{p}");
    assert!(days[0].starts_with("20"), "{days:?}");
    // Venue visits too.
    let mut venue = venue_record(
        &mut phone,
        &uuid::Uuid::now_v7().to_string(),
        1,
        COMMUNE_A,
        &uuid::Uuid::now_v7().to_string(),
        "agency",
        "UBND phường Nam Hà",
    );
    venue["visited_at"] = json!("2090-06-01T10:00:00+07:00");
    let (status, body) = phone.push_to(&server, "/api/v1/sync/venues", vec![venue], "2090-06-01T10:00:00+07:00").await;
    assert_eq!((status, receipts(&body)), (422, vec![refused("in_future")]), "{body}");
}

/// Item 9: a phone of district B recording a visit in B on a household of district A: the visit
/// is stored (it happened) and flagged for both leaders, and the household keeps its area,
/// latest outcome and figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_in_one_area_does_not_change_another_areas_household() {
    let server = server().await;
    let mut owner = new_phone(&server, "l.a", "v.a").await;
    let mut other_district = new_phone(&server, "l.b", "v.b").await;
    let household = uuid::Uuid::now_v7().to_string();
    let first = owner.visit(&Record {
        id: &uuid::Uuid::now_v7().to_string(),
        revision: 1,
        area: COMMUNE_A,
        household: &household,
        outcome: "installed_now",
        volunteer: None,
        visited_at: None,
    });
    assert_eq!(owner.push(&server, vec![first]).await.0, 200);
    let (leader_a, leader_b) = (server.login("l.a", PASSWORD).await, server.login("l.b", PASSWORD).await);
    let before = (
        coverage(&server, &leader_a, "436").await,
        coverage(&server, &leader_b, "437").await,
        household_outcome(&server, &household),
    );
    let stray = uuid::Uuid::now_v7().to_string();
    let r = other_district.visit(&Record {
        id: &stray,
        revision: 1,
        area: COMMUNE_B,
        household: &household,
        outcome: "refused",
        volunteer: None,
        visited_at: None,
    });
    let (status, body) = other_district.push(&server, vec![r]).await;
    assert_eq!((status, receipts(&body)), (200, vec![stored()]), "{body}");
    assert_eq!(
        (
            coverage(&server, &leader_a, "436").await,
            coverage(&server, &leader_b, "437").await,
            household_outcome(&server, &household),
        ),
        before,
        "the household, its area's figures and the other area's are unchanged"
    );
    // Both leaders see it among the flagged visits.
    for (token, area) in [(&leader_a, "436"), (&leader_b, "437")] {
        let (status, flagged) = server
            .get_as(&format!("/api/v1/visits?area={area}&flagged=true&flag=household_in_other_area"), Some(token))
            .await;
        assert_eq!(status, 200, "{flagged}");
        let ids: Vec<&str> = flagged.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![stray.as_str()], "{area}: {flagged}");
        assert!(flagged[0]["flags"].as_array().unwrap().contains(&json!("household_in_other_area")), "{flagged}");
    }
    // The daily curve of B does not count it as a household reached.
    let (_, p) = server.get_as("/api/v1/progress?area=437&from=2020-01-01&to=2100-01-01", Some(&leader_b)).await;
    let reached: i64 = p["days"].as_array().unwrap().iter().map(|d| d["households"].as_i64().unwrap_or(0)).sum();
    assert_eq!(reached, 0, "{p}");
    // Its own area's next visit is counted as usual.
    let next = owner.visit(&Record {
        id: &uuid::Uuid::now_v7().to_string(),
        revision: 1,
        area: COMMUNE_A,
        household: &household,
        outcome: "refused",
        volunteer: None,
        visited_at: None,
    });
    assert_eq!(owner.push(&server, vec![next]).await.0, 200);
    let (area, outcome, visits) = household_outcome(&server, &household);
    assert_eq!((area.as_deref(), outcome.as_deref(), visits), (Some(COMMUNE_A), Some("refused"), 2));
}

/// Item 10 (and item 13's writes by another owner): what lies outside a leader's areas answers
/// exactly as what does not exist, and a claim is released only by its area's leaders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_ones_areas_answers_as_unknown() {
    let server = server().await;
    let mut owner = new_phone(&server, "l.a", "v.a").await;
    let household = uuid::Uuid::now_v7().to_string();
    let r = owner.visit(&Record {
        id: &uuid::Uuid::now_v7().to_string(),
        revision: 1,
        area: COMMUNE_A,
        household: &household,
        outcome: "not_home",
        volunteer: None,
        visited_at: None,
    });
    assert_eq!(owner.push(&server, vec![r]).await.0, 200);
    let (leader_a, leader_b) = (server.login("l.a", PASSWORD).await, server.login("l.b", PASSWORD).await);
    let answer = |status: u16, body: &Value| (status, body["error"].clone());
    // A household of district A, and one that does not exist.
    let (s1, b1) =
        server.post_as("/api/v1/claims", &leader_b, &json!({"volunteer": "v.b", "household_id": household})).await;
    let (s2, b2) = server
        .post_as(
            "/api/v1/claims",
            &leader_b,
            &json!({"volunteer": "v.b", "household_id": uuid::Uuid::now_v7().to_string()}),
        )
        .await;
    assert_eq!(answer(s1, &b1), answer(s2, &b2));
    assert_eq!((s1, b1["error"]["code"].as_str()), (422, Some("unknown_household")));
    // A volunteer of district A, and nobody: for a claim and for an enrolment code.
    let claim_for = |volunteer: &'static str| {
        let (server, token) = (&server, leader_b.clone());
        async move {
            let (s, b) = server
                .post_as(
                    "/api/v1/claims",
                    &token,
                    &json!({"volunteer": volunteer, "area_code": COMMUNE_B, "street": "Trần Phú"}),
                )
                .await;
            (s, b["error"].clone())
        }
    };
    assert_eq!(claim_for("v.a").await, claim_for("nobody.here").await);
    assert_eq!(claim_for("v.a").await.1["code"], "no_such_volunteer");
    let code_for = |volunteer: &'static str| {
        let (server, token) = (&server, leader_b.clone());
        async move {
            let (s, b) = server.post_as("/api/v1/enrolments", &token, &json!({"volunteer": volunteer})).await;
            (s, b["error"].clone())
        }
    };
    assert_eq!(code_for("v.a").await, code_for("nobody.here").await);
    assert_eq!(code_for("v.a").await.0, 404);
    // A team name used in another district is free here; in one's own area it is taken.
    let team = |token: &str, area: &str| {
        let (server, token, area) = (&server, token.to_string(), area.to_string());
        async move { server.post_as("/api/v1/teams", &token, &json!({"name": "Tổ 1", "area_code": area})).await.0 }
    };
    assert_eq!(team(&leader_a, COMMUNE_A).await, 200);
    assert_eq!(team(&leader_b, COMMUNE_B).await, 200);
    assert_eq!(team(&leader_a, COMMUNE_A).await, 409);
    // Each leader assigns in their own "Tổ 1".
    for (token, volunteer, area) in [(&leader_a, "v.a", COMMUNE_A), (&leader_b, "v.b", COMMUNE_B)] {
        let (status, body) = server
            .post_as("/api/v1/assignments", token, &json!({"team": "Tổ 1", "volunteer": volunteer, "area_code": area}))
            .await;
        assert_eq!(status, 204, "{volunteer}: {body}");
    }

    // A claim of district A: another district's leader and a volunteer cannot release it.
    let (status, claim) =
        server.post_as("/api/v1/claims", &leader_a, &json!({"volunteer": "v.a", "household_id": household})).await;
    assert_eq!(status, 201, "{claim}");
    let claim_id = claim["id"].as_str().unwrap().to_string();
    let release = |token: String| {
        let (url, id) = (server.url.clone(), claim_id.clone());
        async move {
            let resp = reqwest::Client::new()
                .delete(format!("{url}/api/v1/claims/{id}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null)["error"]["code"].clone())
        }
    };
    let unknown = {
        let resp = reqwest::Client::new()
            .delete(format!("{}/api/v1/claims/{}", server.url, uuid::Uuid::now_v7()))
            .bearer_auth(&leader_b)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null)["error"]["code"].clone())
    };
    assert_eq!(release(leader_b.clone()).await, unknown);
    assert_eq!(unknown.0, 404);
    let volunteer = server.login("v.a", PASSWORD).await;
    assert_eq!(release(volunteer).await, (403, json!("leader_only")));
    let (_, listed) = server.get_as(&format!("/api/v1/claims?area={COMMUNE_A}"), Some(&leader_a)).await;
    assert_eq!(listed["claims"][0]["active"], true, "{listed}");
    assert_eq!(release(leader_a).await.0, 204);
}

/// Item 11: one rule for usernames everywhere: `LeadB` and `leadb` name one account, at sign-in,
/// enrolment, assignments, claims and the command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usernames_are_one_account_whatever_their_case() {
    let mut server = TestServer::prepare_stopped();
    let db = server.db.url.clone();
    create_account(&db, "LeadB", "leader", "437", PASSWORD);
    create_account(&db, "VolB", "volunteer", COMMUNE_B, PASSWORD);
    let (ok, _, err) = doorstep(&[
        "admin",
        "--db",
        &db,
        "create-team",
        "--name",
        "Đội Cẩm Xuyên",
        "--area",
        COMMUNE_B,
        "--leader",
        "LeadB",
    ]);
    assert!(ok, "create-team --leader LeadB: {err}");
    let (ok, _, err) = doorstep(&[
        "admin",
        "--db",
        &db,
        "assign",
        "--team",
        "Đội Cẩm Xuyên",
        "--volunteer",
        "VOLB",
        "--area",
        COMMUNE_B,
    ]);
    assert!(ok, "assign --volunteer VOLB: {err}");
    server.start_again();
    let leader = server.login("LEADB", PASSWORD).await;
    let (_, me) = server.get_as("/api/v1/auth/me", Some(&leader)).await;
    assert_eq!(me["username"], "leadb");
    let (status, body) = server
        .post_as(
            "/api/v1/assignments",
            &leader,
            &json!({"team": "Đội Cẩm Xuyên", "volunteer": "VolB", "area_code": COMMUNE_B}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = server.post_as("/api/v1/enrolments", &leader, &json!({"volunteer": "VolB"})).await;
    assert_eq!((status, body["volunteer"].as_str()), (200, Some("volb")), "{body}");
    let (status, body) = server
        .post_as(
            "/api/v1/claims",
            &leader,
            &json!({"volunteer": " VOLB ", "area_code": COMMUNE_B, "street": "Trần Phú"}),
        )
        .await;
    assert_eq!((status, body["volunteer"].as_str()), (201, Some("volb")), "{body}");
    let (status, body) = server
        .post_as("/api/v1/teams", &leader, &json!({"name": "Tổ 2", "area_code": COMMUNE_B, "leader": "LEADB"}))
        .await;
    assert_eq!(status, 200, "a leader names themselves in any case: {body}");
}

/// A visit and its corrections may travel in one batch (a phone offline while its leader sent a
/// visit back, with the first answer lost): they are judged in order, against what is held and
/// what the batch stored before them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revisions_in_one_batch_are_taken_in_order() {
    let server = server().await;
    let mut phone = new_phone(&server, "l.a", "v.a").await;
    let (visit, household) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
    let at = |revision: i64, outcome: &'static str| Record {
        id: &visit,
        revision,
        area: COMMUNE_A,
        household: &household,
        outcome,
        volunteer: None,
        visited_at: Some("2026-01-02T09:00:00+07:00"),
    };
    let first = phone.visit(&at(1, "not_home"));
    let (status, body) = phone.push(&server, vec![first.clone()]).await;
    assert_eq!((status, receipts(&body)), (200, vec![stored()]), "{body}");
    // The first sent again (its answer was lost) with the next two and one out of order.
    let second = phone.visit(&at(2, "refused"));
    let third = phone.visit(&at(3, "installed_now"));
    let fifth = phone.visit(&at(5, "installed_now"));
    let (status, body) = phone.push(&server, vec![first, second, third, fifth]).await;
    assert_eq!(
        (status, receipts(&body)),
        (422, vec![("duplicate".to_string(), None), stored(), stored(), refused("revision_gap")]),
        "{body}"
    );
    assert_eq!(revisions_held(&server, &visit), vec![1, 2, 3]);
    let (area, outcome, visits) = household_outcome(&server, &household);
    assert_eq!((area.as_deref(), outcome.as_deref(), visits), (Some(COMMUNE_A), Some("installed_now"), 1));
}
