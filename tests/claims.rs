//! Claims (issue 9, parts 1 and 5): a leader gives streets and households to volunteers, hands
//! them over and releases them; every phone sees, after its next sync, which doors another
//! volunteer holds (given by the leader, or visited); two phones that both visited one household
//! while offline keep both visits and the leader sees the overlap. On SQLite and on PostgreSQL.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use doorstep_device::VisitDraft;
use doorstep_domain::claim::ClaimKind;
use doorstep_domain::visit::LocationInput;
use doorstep_tests::{TestDevice, TestServer, create_account, doorstep};
use serde_json::{Value, json};

const PASSWORD: &str = "mật khẩu kiểm tra phân công";
const AREA: &str = "18073";

fn at(minutes_ago: i64) -> DateTime<FixedOffset> {
    (Utc::now() - Duration::minutes(minutes_ago)).with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap())
}

fn visit(household: Option<uuid::Uuid>, address: &str, outcome: &str) -> VisitDraft {
    let installed = i64::from(outcome == "installed_now");
    let already = i64::from(outcome == "already_installed");
    VisitDraft {
        household_id: household,
        address: Some(address.into()),
        area_code: AREA.into(),
        outcome: outcome.into(),
        reason: None,
        people: 3,
        smartphones: 1,
        already_installed: already,
        installed_now: installed,
        leaflet_given: true,
        location: LocationInput {
            source: "gps".into(),
            lat: Some(18.3428),
            lon: Some(105.9057),
            accuracy_m: Some(8.0),
        },
        notes: None,
    }
}

/// A server with a leader and two volunteers of Phường Nam Hà, and a volunteer of another commune.
async fn server_with_team() -> TestServer {
    let mut server = TestServer::prepare_stopped();
    let db = server.db.url.clone();
    create_account(&db, "to.truong", "leader", AREA, PASSWORD);
    create_account(&db, "v.lan", "volunteer", AREA, PASSWORD);
    create_account(&db, "v.minh", "volunteer", AREA, PASSWORD);
    create_account(&db, "v.xa", "volunteer", "18077", PASSWORD);
    server.start_again();
    server
}

async fn delete_as(server: &TestServer, path: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .delete(format!("{}{path}", server.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("DELETE")
        .status()
        .as_u16()
}

/// The claims listed for the area, by (volunteer, street or household) → (active, households).
async fn listed(server: &TestServer, token: &str) -> Vec<(String, String, bool, i64)> {
    let (status, body) = server.get_as(&format!("/api/v1/claims?area={AREA}"), Some(token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["claim_hours"], 72);
    body["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let target = c["claim"]["street"].as_str().or(c["claim"]["household_id"].as_str()).unwrap().to_string();
            (
                c["claim"]["volunteer"].as_str().unwrap().to_string(),
                target,
                c["active"].as_bool().unwrap(),
                c["households"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaders_give_hand_over_and_release_claims_and_refuse_bad_ones() {
    let server = server_with_team().await;
    let leader = server.login("to.truong", PASSWORD).await;
    let lan_phone = TestDevice::new(1);
    server.enrol_for(&lan_phone, "v.lan").await;
    let lan = lan_phone.client(&server.url, 50);

    // Lan finds two households on Trần Phú; a third is on Nguyễn Du.
    for address in ["12 Trần Phú", "Số 14, đường Trần Phú", "3 Nguyễn Du"] {
        lan_phone.store.lock().unwrap().record_visit(&visit(None, address, "not_home"), at(30)).unwrap();
    }
    assert!(lan.drain(&lan_phone.store, None).await.complete);

    // The streets of the area, from the addresses, for the leader to pick from.
    let (status, streets) = server.get_as(&format!("/api/v1/streets?area={AREA}"), Some(&leader)).await;
    assert_eq!(status, 200, "{streets}");
    let names: Vec<(&str, i64)> = streets
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["street_key"].as_str().unwrap(), s["households"].as_i64().unwrap()))
        .collect();
    assert_eq!(names, [("nguyen du", 1), ("tran phu", 2)]);

    // Trần Phú to Lan: both of its households.
    let give = |volunteer: &str, street: &str| json!({"volunteer": volunteer, "area_code": AREA, "street": street});
    let (status, first) = server.post_as("/api/v1/claims", &leader, &give("v.lan", "Trần Phú")).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["street_key"], "tran phu");
    assert_eq!(listed(&server, &leader).await, [("v.lan".into(), "Trần Phú".into(), true, 2)]);

    // Handed to Minh: Lan's claim is released, Minh's is in force.
    let (status, second) = server.post_as("/api/v1/claims", &leader, &give("v.minh", "tran phu")).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(
        listed(&server, &leader).await,
        [("v.minh".into(), "tran phu".into(), true, 2), ("v.lan".into(), "Trần Phú".into(), false, 2)]
    );

    // Released: nobody's; releasing again changes nothing; an unknown claim is not found.
    let id = second["id"].as_str().unwrap();
    assert_eq!(delete_as(&server, &format!("/api/v1/claims/{id}"), &leader).await, 204);
    assert_eq!(delete_as(&server, &format!("/api/v1/claims/{id}"), &leader).await, 204);
    assert!(listed(&server, &leader).await.iter().all(|c| !c.2));
    let unknown = uuid::Uuid::now_v7();
    assert_eq!(delete_as(&server, &format!("/api/v1/claims/{unknown}"), &leader).await, 404);
    assert_eq!(server.db.i64("SELECT count(*) FROM audit_log WHERE action IN ('give-claim', 'release-claim')"), 3);

    // Bad requests: refused with the field to fix, in the caller's language; nothing stored.
    let cases = [
        (json!({"volunteer": "v.lan"}), 422, "claim_target", "household_id"),
        (
            json!({"volunteer": "v.lan", "household_id": unknown.to_string(), "area_code": AREA, "street": "Trần Phú"}),
            422,
            "claim_target",
            "household_id",
        ),
        (give("v.lan", "12"), 422, "street", "street"),
        (give("ai.do", "Trần Phú"), 422, "no_such_volunteer", "volunteer"),
        // A volunteer outside the leader's areas is answered as one that does not exist
        // (invariant 14); one who does not cover the street is refused below (the CLI's case).
        (give("v.xa", "Trần Phú"), 422, "no_such_volunteer", "volunteer"),
        (json!({"volunteer": "v.lan", "household_id": unknown.to_string()}), 422, "unknown_household", "household_id"),
        (json!({"volunteer": "v.lan", "area_code": "99999", "street": "Trần Phú"}), 404, "unknown_area", "area_code"),
    ];
    let before = server.db.i64("SELECT count(*) FROM claims");
    for (body, status, code, field) in cases {
        let (got, answer) = server.post_as("/api/v1/claims", &leader, &body).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    // A volunteer may not give claims.
    let volunteer = server.login("v.minh", PASSWORD).await;
    let (status, _) = server.post_as("/api/v1/claims", &volunteer, &give("v.minh", "Trần Phú")).await;
    assert_eq!(status, 403);
    assert_eq!(server.db.i64("SELECT count(*) FROM claims"), before);

    // The same from the server's command line (a SQLite file is held by its one server).
    let mut server = server;
    server.kill();
    let db = server.db.url.clone();
    let (ok, out, err) = doorstep(&[
        "admin",
        "--db",
        &db,
        "give-claim",
        "--volunteer",
        "v.lan",
        "--area",
        AREA,
        "--street",
        "Nguyễn Du",
    ]);
    assert!(ok, "{err}");
    let given: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((given["volunteer"].as_str(), given["street_key"].as_str()), (Some("v.lan"), Some("nguyen du")));
    let id = given["id"].as_str().unwrap();
    let (ok, _, err) = doorstep(&["admin", "--db", &db, "release-claim", "--claim", id]);
    assert!(ok, "{err}");
    let (ok, _, err) =
        doorstep(&["admin", "--db", &db, "give-claim", "--volunteer", "v.xa", "--area", AREA, "--street", "Nguyễn Du"]);
    assert!(!ok && err.contains("does not cover that area"), "{err}");
    let (ok, _, err) = doorstep(&["admin", "--db", &db, "give-claim", "--volunteer", "v.lan", "--street", "Lê Lợi"]);
    assert!(!ok && err.contains("--area"), "{err}");
    server.start_again();
    assert_eq!(listed(&server, &leader).await.iter().filter(|c| c.2).count(), 0);
}

/// Who holds a household on a phone: (volunteer's username, kind), or none; and whether it is
/// taken from this phone's volunteer.
/// (address, holder, taken) of one household on a phone.
type Seen = (String, Option<(String, ClaimKind)>, bool);

fn holders(phone: &TestDevice) -> Vec<Seen> {
    let mut held: Vec<_> = phone
        .store
        .lock()
        .unwrap()
        .households(Some(AREA))
        .unwrap()
        .into_iter()
        .map(|h| {
            let holder = h.holder.map(|x| (x.volunteer.unwrap_or_default(), x.kind));
            (h.address.unwrap_or_default(), holder, h.taken)
        })
        .collect();
    held.sort_by(|a, b| a.0.cmp(&b.0));
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_volunteers_on_overlapping_streets_see_each_others_claims_after_sync() {
    let server = server_with_team().await;
    let leader = server.login("to.truong", PASSWORD).await;
    let (lan_phone, minh_phone) = (TestDevice::new(2), TestDevice::new(3));
    server.enrol_for(&lan_phone, "v.lan").await;
    server.enrol_for(&minh_phone, "v.minh").await;
    let (lan, minh) = (lan_phone.client(&server.url, 50), minh_phone.client(&server.url, 50));

    // The leader gives Trần Phú to Lan and Nguyễn Du to Minh before anyone goes out.
    for (volunteer, street) in [("v.lan", "Trần Phú"), ("v.minh", "Nguyễn Du")] {
        let (status, body) = server
            .post_as("/api/v1/claims", &leader, &json!({"volunteer": volunteer, "area_code": AREA, "street": street}))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    // Each finds households: Lan on her street, Minh on his and, at the corner, one on Trần Phú.
    let record = |phone: &TestDevice, address: &str| {
        phone.store.lock().unwrap().record_visit(&visit(None, address, "not_home"), at(20)).unwrap().household.id.uuid()
    };
    record(&lan_phone, "12 Trần Phú");
    record(&minh_phone, "5 Nguyễn Du");
    let corner = record(&minh_phone, "2 Trần Phú");
    // A household a volunteer just visited is theirs on their own phone at once.
    assert!(holders(&minh_phone).iter().all(|h| !h.2), "{:?}", holders(&minh_phone));

    for (phone, client) in [(&lan_phone, &lan), (&minh_phone, &minh)] {
        assert!(client.drain(&phone.store, None).await.complete);
    }
    for (phone, client) in [(&lan_phone, &lan), (&minh_phone, &minh)] {
        client.pull(&phone.store, AREA).await.unwrap();
    }
    let lan_view = [
        ("12 Trần Phú".to_string(), Some(("v.lan".to_string(), ClaimKind::Street)), false),
        ("2 Trần Phú".to_string(), Some(("v.lan".to_string(), ClaimKind::Street)), false),
        ("5 Nguyễn Du".to_string(), Some(("v.minh".to_string(), ClaimKind::Street)), true),
    ];
    assert_eq!(holders(&lan_phone), lan_view);
    // Minh sees the same doors taken by Lan, his corner household included (her street).
    let minh_view: Vec<_> = lan_view.iter().map(|(a, h, t)| (a.clone(), h.clone(), !t)).collect();
    assert_eq!(holders(&minh_phone), minh_view);

    // The leader hands the corner household to Minh: after the next sync both phones agree.
    let (status, body) = server
        .post_as("/api/v1/claims", &leader, &json!({"volunteer": "v.minh", "household_id": corner.to_string()}))
        .await;
    assert_eq!(status, 201, "{body}");
    for (phone, client) in [(&lan_phone, &lan), (&minh_phone, &minh)] {
        client.pull(&phone.store, AREA).await.unwrap();
    }
    let corner_on = |phone: &TestDevice| holders(phone).into_iter().find(|h| h.0 == "2 Trần Phú").unwrap();
    assert_eq!(corner_on(&lan_phone), ("2 Trần Phú".into(), Some(("v.minh".into(), ClaimKind::Household)), true));
    assert_eq!(corner_on(&minh_phone), ("2 Trần Phú".into(), Some(("v.minh".into(), ClaimKind::Household)), false));

    // Released, the street falls back to the volunteer who visited each door (for 72 hours).
    let (_, claims) = server.get_as(&format!("/api/v1/claims?area={AREA}"), Some(&leader)).await;
    let lan_street = claims["claims"].as_array().unwrap().iter().find(|c| c["claim"]["volunteer"] == "v.lan").unwrap()
        ["claim"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(delete_as(&server, &format!("/api/v1/claims/{lan_street}"), &leader).await, 204);
    minh.pull(&minh_phone.store, AREA).await.unwrap();
    let twelve = holders(&minh_phone).into_iter().find(|h| h.0 == "12 Trần Phú").unwrap();
    assert_eq!(twelve, ("12 Trần Phú".into(), Some(("v.lan".into(), ClaimKind::Visit)), true));

    // And every claim runs out when nothing was recorded in it: judged at the phone's clock.
    let later = Utc::now() + Duration::hours(73);
    let free = minh_phone
        .store
        .lock()
        .unwrap()
        .households_at(Some(AREA), later)
        .unwrap()
        .into_iter()
        .filter(|h| h.holder.is_none())
        .count();
    assert_eq!(free, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_phones_offline_at_one_door_keep_both_visits_and_the_leader_sees_the_overlap() {
    let server = server_with_team().await;
    let leader = server.login("to.truong", PASSWORD).await;
    let (lan_phone, minh_phone, first_phone) = (TestDevice::new(4), TestDevice::new(5), TestDevice::new(6));
    server.enrol_for(&lan_phone, "v.lan").await;
    server.enrol_for(&minh_phone, "v.minh").await;
    server.enrol_for(&first_phone, doorstep_tests::VOLUNTEER).await;

    // Four days ago a household was found nobody was home: its claim has run out since.
    let household = first_phone
        .store
        .lock()
        .unwrap()
        .record_visit(&visit(None, "7 Lê Lợi", "not_home"), at(4 * 24 * 60))
        .unwrap()
        .household
        .id
        .uuid();
    assert!(first_phone.client(&server.url, 50).drain(&first_phone.store, None).await.complete);
    let (lan, minh) = (lan_phone.client(&server.url, 50), minh_phone.client(&server.url, 50));
    for (phone, client) in [(&lan_phone, &lan), (&minh_phone, &minh)] {
        client.pull(&phone.store, AREA).await.unwrap();
        assert_eq!(holders(phone), [("7 Lê Lợi".into(), None, false)]);
    }

    // Both go out without a network and both knock on that door, an hour apart.
    let lan_visit = lan_phone
        .store
        .lock()
        .unwrap()
        .record_visit(&visit(Some(household), "7 Lê Lợi", "installed_now"), at(90))
        .unwrap();
    let minh_visit = minh_phone
        .store
        .lock()
        .unwrap()
        .record_visit(&visit(Some(household), "7 Lê Lợi", "already_installed"), at(30))
        .unwrap();
    // Minh's phone reaches the network first, then Lan's.
    assert!(minh.drain(&minh_phone.store, None).await.complete);
    assert!(lan.drain(&lan_phone.store, None).await.complete);

    // Both visits are kept: they happened.
    let visits = server.db.i64(&format!(
        "SELECT count(*) FROM visits WHERE household_id = {}",
        if server.db.is_postgres() { format!("'{household}'") } else { format!("x'{}'", household.simple()) }
    ));
    assert_eq!(visits, 3);
    // The later-received one is flagged; the first is not (the earlier visit's claim had run out).
    let (status, flagged) = server.get_as(&format!("/api/v1/visits?area={AREA}&flag=overlap"), Some(&leader)).await;
    assert_eq!(status, 200, "{flagged}");
    let ids: Vec<&str> = flagged.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [lan_visit.id.to_string()]);
    assert!(flagged[0]["flags"].as_array().unwrap().contains(&Value::from("overlap")));
    let (_, all) = server.get_as(&format!("/api/v1/visits?area={AREA}&flagged=true"), Some(&leader)).await;
    assert!(all.as_array().unwrap().iter().all(|v| v["id"] != minh_visit.id.to_string()), "{all}");
}
