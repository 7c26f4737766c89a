//! Sending a visit back for correction, end to end: a leader marks a visit with a comment; the
//! volunteer's phone receives it on its next sync and shows it; the corrected revision syncs
//! back; the server keeps both revisions and closes the correction; the figures count the visit
//! once, with the corrected values. Who may send back what, and bad requests. On SQLite and on
//! PostgreSQL.

use chrono::{DateTime, FixedOffset, Utc};
use doorstep_device::VisitDraft;
use doorstep_domain::visit::LocationInput;
use doorstep_tests::{TestDevice, TestServer, create_account};
use serde_json::json;

const PASSWORD: &str = "mật khẩu thử gửi trả";

fn draft(area: &str, people: i64, smartphones: i64, installed_now: i64) -> VisitDraft {
    VisitDraft {
        household_id: None,
        address: Some("Số 12, đường Phan Đình Phùng".into()),
        area_code: area.into(),
        outcome: "installed_now".into(),
        reason: None,
        people,
        smartphones,
        already_installed: 0,
        installed_now,
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

fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_sent_back_reaches_the_phone_and_its_correction_comes_back_as_a_new_revision() {
    let mut server = TestServer::prepare_stopped();
    create_account(&server.db.url, "l.commune", "leader", "18073", PASSWORD);
    create_account(&server.db.url, "v.commune", "volunteer", "18073", PASSWORD);
    server.start_again();
    let phone = TestDevice::new(71);
    server.enrol_for(&phone, "v.commune").await;
    let client = phone.client(&server.url, 100);

    // The volunteer records a visit with a wrong count (1 person, 1 smartphone) and syncs.
    let visit =
        phone.store.lock().unwrap().record_visit(&draft("18073", 1, 1, 1), at("2020-08-03T10:00:00+07:00")).unwrap();
    let visit_id = visit.id.to_string();
    let report = client.drain(&phone.store, None).await;
    assert!(report.complete && report.stats.confirmed == 1, "{report:?}");
    assert_eq!(client.fetch_corrections(&phone.store).await.unwrap(), 0);

    // The leader sends it back.
    let leader = server.login("l.commune", PASSWORD).await;
    let comment = "Hộ này có 4 người và 3 điện thoại thông minh; hãy kiểm tra lại.";
    let (status, sent) =
        server.post_as(&format!("/api/v1/visits/{visit_id}/send-back"), &leader, &json!({"comment": comment})).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(
        (sent["visit_id"].as_str(), sent["revision"].as_i64(), sent["comment"].as_str(), sent["requested_by"].as_str()),
        (Some(visit_id.as_str()), Some(1), Some(comment), Some("l.commune"))
    );
    assert!(sent["answered_by_revision"].is_null());
    // Once per revision: a second click is refused, and so is naming a revision that is not the
    // latest.
    let (status, again) =
        server.post_as(&format!("/api/v1/visits/{visit_id}/send-back"), &leader, &json!({"comment": "lần nữa"})).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("already_sent_back")));
    let (status, open) = server.get_as("/api/v1/corrections?area=18073", Some(&leader)).await;
    assert_eq!(status, 200);
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");

    // The phone receives it on its next sync, with the visit as it stood.
    assert_eq!(client.fetch_corrections(&phone.store).await.unwrap(), 1);
    let held = phone.store.lock().unwrap().corrections().unwrap();
    assert_eq!(held.len(), 1);
    assert!(!held[0].answered);
    assert_eq!(held[0].correction.comment, comment);
    assert_eq!(held[0].correction.visit.people, 1);
    let correction_id = held[0].correction.id.clone();

    // The volunteer corrects it: the same visit, its next revision, the original visit time.
    let corrected = phone
        .store
        .lock()
        .unwrap()
        .correct_visit(
            &correction_id,
            &VisitDraft { household_id: Some(visit.household.id.uuid()), ..draft("18073", 4, 3, 3) },
            Utc::now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap()),
        )
        .unwrap();
    assert_eq!((corrected.id.to_string(), corrected.revision.get()), (visit_id.clone(), 2));
    assert_eq!(corrected.visited_at, at("2020-08-03T10:00:00+07:00"));
    assert!(phone.store.lock().unwrap().corrections().unwrap()[0].answered);
    // Answering twice is refused on the phone.
    let twice = phone.store.lock().unwrap().correct_visit(
        &correction_id,
        &draft("18073", 4, 3, 3),
        Utc::now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap()),
    );
    assert!(matches!(twice, Err(doorstep_device::DeviceError::NotOpen(_))), "{twice:?}");

    let report = client.drain(&phone.store, None).await;
    assert!(report.complete && report.stats.confirmed == 1, "{report:?}");
    // The server holds both revisions; the correction is closed, and the phone's list empties.
    assert_eq!(server.visit_ids(), vec![(visit_id.clone(), 1), (visit_id.clone(), 2)]);
    assert_eq!(client.fetch_corrections(&phone.store).await.unwrap(), 0);
    assert!(phone.store.lock().unwrap().corrections().unwrap().is_empty());
    let (_, open) = server.get_as("/api/v1/corrections?area=18073", Some(&leader)).await;
    assert_eq!(open, json!([]));
    let (_, all) = server.get_as("/api/v1/corrections?area=18073&open=false", Some(&leader)).await;
    assert_eq!(all[0]["answered_by_revision"], 2, "{all}");

    // The history keeps both, and the send-back.
    let (status, history) = server.get_as(&format!("/api/v1/visits/{visit_id}/history"), Some(&leader)).await;
    assert_eq!(status, 200, "{history}");
    let revisions: Vec<(i64, i64)> = history["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["revision"].as_i64().unwrap(), v["people"].as_i64().unwrap()))
        .collect();
    assert_eq!(revisions, vec![(1, 1), (2, 4)]);
    assert_eq!(history["corrections"][0]["comment"], comment);
    assert_eq!(history["corrections"][0]["answered_by_revision"], 2);

    // Opening the household shows the visit with both revisions and the send-back.
    let (status, opened) =
        server.get_as(&format!("/api/v1/households/{}/visits", visit.household.id), Some(&leader)).await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(opened.as_array().unwrap().len(), 1, "{opened}");
    assert_eq!(opened[0]["revisions"].as_array().unwrap().len(), 2);
    assert_eq!(opened[0]["corrections"][0]["answered_by_revision"], 2);

    // The figures count the visit once, with its corrected values.
    let c = server.coverage("18073").await;
    assert_eq!(
        (
            c["households_known"].as_i64(),
            c["visits"].as_i64(),
            c["smartphones_seen"].as_i64(),
            c["installed_now"].as_i64()
        ),
        (Some(1), Some(1), Some(3), Some(3)),
        "{c}"
    );

    // The corrected revision can be sent back again, and a new phone that never held the visit
    // (the volunteer re-enrolled) still receives it and can correct it.
    let (status, second) = server
        .post_as(
            &format!("/api/v1/visits/{visit_id}/send-back"),
            &leader,
            &json!({"comment": "Thiếu ghi chú.", "revision": 2}),
        )
        .await;
    assert_eq!((status, second["revision"].as_i64()), (201, Some(2)), "{second}");
    let new_phone = TestDevice::new(72);
    server.enrol_for(&new_phone, "v.commune").await;
    let new_client = new_phone.client(&server.url, 100);
    assert_eq!(new_client.fetch_corrections(&new_phone.store).await.unwrap(), 1);
    let c = new_phone.store.lock().unwrap().corrections().unwrap().remove(0);
    let third = new_phone
        .store
        .lock()
        .unwrap()
        .correct_visit(
            &c.correction.id,
            &VisitDraft {
                household_id: Some(visit.household.id.uuid()),
                notes: Some("Đã kiểm tra lại với chủ hộ.".into()),
                ..draft("18073", 4, 3, 3)
            },
            Utc::now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap()),
        )
        .unwrap();
    assert_eq!(third.revision.get(), 3);
    let report = new_client.drain(&new_phone.store, None).await;
    assert!(report.complete && report.stats.confirmed == 1, "{report:?}");
    assert_eq!(server.visit_ids().len(), 3);
    assert_eq!(server.coverage("18073").await["visits"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_leader_or_admin_of_the_visits_area_sends_it_back_and_bad_requests_are_refused() {
    let mut server = TestServer::prepare_stopped();
    for (username, role, area) in [
        ("a.province", "admin", "42"),
        ("c.district", "committee", "436"),
        ("l.commune", "leader", "18073"),
        ("v.commune", "volunteer", "18073"),
        ("l.other", "leader", "437"),
    ] {
        create_account(&server.db.url, username, role, area, PASSWORD);
    }
    server.start_again();
    let phone = TestDevice::new(73);
    server.enrol_for(&phone, "v.commune").await;
    let visit =
        phone.store.lock().unwrap().record_visit(&draft("18073", 2, 1, 1), at("2020-08-03T10:00:00+07:00")).unwrap();
    let report = phone.client(&server.url, 100).drain(&phone.store, None).await;
    assert!(report.complete, "{report:?}");
    let url = format!("/api/v1/visits/{}/send-back", visit.id);
    let body = json!({"comment": "Kiểm tra lại."});

    // Reading roles may not send back; another area's leader cannot even see the visit.
    for (username, status, code) in
        [("c.district", 403, "leader_only"), ("v.commune", 403, "leader_only"), ("l.other", 404, "no_such_visit")]
    {
        let token = server.login(username, PASSWORD).await;
        let (got, answer) = server.post_as(&url, &token, &body).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{username}");
        let (got, _) = server.get_as(&format!("/api/v1/visits/{}/history", visit.id), Some(&token)).await;
        assert_eq!(got, if username == "l.other" { 404 } else { 200 }, "{username} history");
        let (got, _) = server.get_as(&format!("/api/v1/households/{}/visits", visit.household.id), Some(&token)).await;
        assert_eq!(got, if username == "l.other" { 404 } else { 200 }, "{username} household");
    }
    let leader = server.login("l.commune", PASSWORD).await;
    // A guessed id answers like one outside the area.
    let (got, answer) =
        server.post_as(&format!("/api/v1/visits/{}/send-back", uuid::Uuid::now_v7()), &leader, &body).await;
    assert_eq!((got, answer["error"]["code"].as_str()), (404, Some("no_such_visit")));
    // Bad comments are named, in the caller's language; nothing is stored.
    for (comment, code) in [("   ", "empty"), (&"x".repeat(501)[..], "too_long"), ("a\u{7}b", "control_characters")] {
        let (got, answer) = server.post_as(&url, &leader, &json!({ "comment": comment })).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str(), answer["error"]["field"].as_str()),
            (422, Some(code), Some("comment")),
            "{answer}"
        );
    }
    let (got, answer) = server.post_as(&url, &leader, &json!({"note": "sai tên trường"})).await;
    assert_eq!((got, answer["error"]["code"].as_str()), (400, Some("malformed_json")), "{answer}");
    let (got, answer) = server.post_as(&url, &leader, &json!({"comment": "Kiểm tra lại.", "revision": 2})).await;
    assert_eq!((got, answer["error"]["code"].as_str()), (409, Some("not_latest_revision")), "{answer}");
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM corrections"), 0);

    // The admin of the province may; and the action is in the audit log, without the comment.
    let admin = server.login("a.province", PASSWORD).await;
    let (got, _) = server.post_as(&url, &admin, &body).await;
    assert_eq!(got, 201);
    let (_, audit) = server.get_as("/api/v1/audit", Some(&admin)).await;
    let entry = audit.as_array().unwrap().iter().find(|e| e["action"] == "send_back").expect("audited");
    assert_eq!(entry["actor"], "a.province");
    assert!(!entry["detail"].as_str().unwrap().contains("Kiểm tra"), "{entry}");
    // A device sees only its own volunteer's corrections: the harness volunteer has none.
    let (status, mine) = server.get("/api/v1/sync/corrections").await;
    assert_eq!((status, mine["corrections"].clone()), (200, json!([])));
    // A session is not a device.
    let (status, _) = server.get_as("/api/v1/sync/corrections", Some(&leader)).await;
    assert_eq!(status, 401);
}
