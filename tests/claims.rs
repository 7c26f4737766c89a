//! Claims (issue 9, parts 1 and 5): a leader gives streets and households to volunteers, hands
//! them over and releases them; every phone sees, after its next sync, which doors another
//! volunteer holds (given by the leader, or visited); two phones that both visited one household
//! while offline keep both visits and the leader sees the overlap. On SQLite and on PostgreSQL.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use doorstep_device::VisitDraft;
use doorstep_domain::visit::LocationInput;
use doorstep_tests::{TestDevice, TestServer, create_account, doorstep};
use serde_json::json;

const PASSWORD: &str = "mật khẩu kiểm tra phân công";
const AREA: &str = "18073";

fn at(minutes_ago: i64) -> DateTime<FixedOffset> {
    (Utc::now() - Duration::minutes(minutes_ago)).with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap())
}

fn visit(household: Option<uuid::Uuid>, address: &str, outcome: &str) -> VisitDraft {
    let installed = i64::from(outcome == "installed_now");
    VisitDraft {
        household_id: household,
        address: Some(address.into()),
        area_code: AREA.into(),
        outcome: outcome.into(),
        reason: None,
        people: 3,
        smartphones: 1,
        already_installed: 0,
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
            let target = c["claim"]["street"]
                .as_str()
                .or(c["claim"]["household_id"].as_str())
                .unwrap()
                .to_string();
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
        lan_phone
            .store
            .lock()
            .unwrap()
            .record_visit(&visit(None, address, "not_home"), at(30))
            .unwrap();
    }
    assert!(lan.drain(&lan_phone.store, None).await.complete);

    // The streets of the area, from the addresses, for the leader to pick from.
    let (status, streets) = server
        .get_as(&format!("/api/v1/streets?area={AREA}"), Some(&leader))
        .await;
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
    let (status, first) = server
        .post_as("/api/v1/claims", &leader, &give("v.lan", "Trần Phú"))
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["street_key"], "tran phu");
    assert_eq!(
        listed(&server, &leader).await,
        [("v.lan".into(), "Trần Phú".into(), true, 2)]
    );

    // Handed to Minh: Lan's claim is released, Minh's is in force.
    let (status, second) = server
        .post_as("/api/v1/claims", &leader, &give("v.minh", "tran phu"))
        .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(
        listed(&server, &leader).await,
        [
            ("v.minh".into(), "tran phu".into(), true, 2),
            ("v.lan".into(), "Trần Phú".into(), false, 2)
        ]
    );

    // Released: nobody's; releasing again changes nothing; an unknown claim is not found.
    let id = second["id"].as_str().unwrap();
    assert_eq!(delete_as(&server, &format!("/api/v1/claims/{id}"), &leader).await, 204);
    assert_eq!(delete_as(&server, &format!("/api/v1/claims/{id}"), &leader).await, 204);
    assert!(listed(&server, &leader).await.iter().all(|c| !c.2));
    let unknown = uuid::Uuid::now_v7();
    assert_eq!(
        delete_as(&server, &format!("/api/v1/claims/{unknown}"), &leader).await,
        404
    );
    assert_eq!(
        server
            .db
            .i64("SELECT count(*) FROM audit_log WHERE action IN ('give-claim', 'release-claim')"),
        3
    );

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
        (give("v.xa", "Trần Phú"), 422, "volunteer_not_in_area", "volunteer"),
        (
            json!({"volunteer": "v.lan", "household_id": unknown.to_string()}),
            422,
            "unknown_household",
            "household_id",
        ),
        (
            json!({"volunteer": "v.lan", "area_code": "99999", "street": "Trần Phú"}),
            404,
            "unknown_area",
            "area_code",
        ),
    ];
    let before = server.db.i64("SELECT count(*) FROM claims");
    for (body, status, code, field) in cases {
        let (got, answer) = server.post_as("/api/v1/claims", &leader, &body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {answer}"
        );
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    // A volunteer may not give claims.
    let volunteer = server.login("v.minh", PASSWORD).await;
    let (status, _) = server
        .post_as("/api/v1/claims", &volunteer, &give("v.minh", "Trần Phú"))
        .await;
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
    assert_eq!(
        (given["volunteer"].as_str(), given["street_key"].as_str()),
        (Some("v.lan"), Some("nguyen du"))
    );
    let id = given["id"].as_str().unwrap();
    let (ok, _, err) = doorstep(&["admin", "--db", &db, "release-claim", "--claim", id]);
    assert!(ok, "{err}");
    let (ok, _, err) = doorstep(&[
        "admin",
        "--db",
        &db,
        "give-claim",
        "--volunteer",
        "v.xa",
        "--area",
        AREA,
        "--street",
        "Nguyễn Du",
    ]);
    assert!(!ok && err.contains("does not cover that area"), "{err}");
    let (ok, _, err) = doorstep(&[
        "admin",
        "--db",
        &db,
        "give-claim",
        "--volunteer",
        "v.lan",
        "--street",
        "Lê Lợi",
    ]);
    assert!(!ok && err.contains("--area"), "{err}");
    server.start_again();
    assert_eq!(listed(&server, &leader).await.iter().filter(|c| c.2).count(), 0);
}
