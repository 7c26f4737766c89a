//! Device enrolment and revocation, on SQLite and on PostgreSQL: one-time codes issued by a
//! leader for a volunteer in their areas, exchanged by a phone for a device token, revocable.

use doorstep_tests::{TestServer, create_account};
use serde_json::{Value, json};

const PASSWORD: &str = "mật khẩu đăng ký thiết bị";

async fn post(server: &TestServer, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(format!("{}{path}", server.url)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_enrols_a_phone_for_a_volunteer_and_can_revoke_it() {
    let mut server = TestServer::prepare_stopped();
    for (user, role, area) in [
        ("l.namha", "leader", "18073"),
        ("v.namha", "volunteer", "18073"),
        ("v.far", "volunteer", "18115"),
        ("l.other", "leader", "437"),
    ] {
        create_account(&server.db.url, user, role, area, PASSWORD);
    }
    server.start_again();
    let leader = server.login("l.namha", PASSWORD).await;

    let (status, issued) = post(&server, "/api/v1/enrolments", Some(&leader), json!({"volunteer": "v.namha"})).await;
    assert_eq!(status, 200, "{issued}");
    let code = issued["code"].as_str().unwrap().to_string();
    assert_eq!((code.len(), &code[5..6]), (11, "-"));
    // The QR on screen holds the link with this server's address, as the printed cards do.
    let link =
        doorstep_domain::protocol::EnrolLink { server: server.url.clone(), code: code.clone(), ca: None }.to_url();
    let qr = doorstep_server::auth::enrolment_qr_svg(&link).unwrap();
    assert_eq!(issued["qr_svg"].as_str(), Some(qr.as_str()), "the on-screen QR is the link {link}");

    // Typed carelessly on the phone: lower case, no dash.
    let device_id = uuid::Uuid::now_v7().to_string();
    let typed = code.to_lowercase().replace('-', "");
    let (status, enrolled) = post(&server, "/api/v1/enrol", None, json!({"code": typed, "device_id": device_id})).await;
    assert_eq!(status, 200, "{enrolled}");
    let device_token = enrolled["device_token"].as_str().unwrap().to_string();
    assert_eq!(device_token.len(), 64);
    assert_eq!(enrolled["volunteer"]["username"], "v.namha");
    // Stored only as a hash.
    assert!(
        server.db.rows("SELECT * FROM device_tokens").iter().flatten().flatten().all(|v| !v.contains(&device_token))
    );
    let (status, me) = server.get_as("/api/v1/devices/me", Some(&device_token)).await;
    assert_eq!((status, me["device_id"].as_str()), (200, Some(device_id.as_str())));

    // The answer was lost on the way (a cut connection): the same phone uses the code again and
    // gets a new token; the one it never received no longer works.
    let (status, again) = post(&server, "/api/v1/enrol", None, json!({"code": code, "device_id": device_id})).await;
    assert_eq!(status, 200, "{again}");
    let lost_token = device_token;
    let device_token = again["device_token"].as_str().unwrap().to_string();
    assert_ne!(device_token, lost_token);
    assert_eq!(server.get_as("/api/v1/devices/me", Some(&lost_token)).await.0, 401);
    assert_eq!(server.get_as("/api/v1/devices/me", Some(&device_token)).await.0, 200);
    assert_eq!(server.db.i64("SELECT count(*) FROM device_tokens"), 1, "one token per phone");

    // A code works once: for another phone it is used.
    let (status, body) =
        post(&server, "/api/v1/enrol", None, json!({"code": code, "device_id": uuid::Uuid::now_v7().to_string()}))
            .await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("enrolment_code_invalid")));

    // Scope and role: a volunteer outside the leader's areas, a volunteer issuing, no such person.
    let (status, body) = post(&server, "/api/v1/enrolments", Some(&leader), json!({"volunteer": "v.far"})).await;
    // Answered as no such volunteer: a leader learns nothing of people outside their areas.
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("no_such_volunteer")));
    let volunteer = server.login("v.namha", PASSWORD).await;
    let (status, body) = post(&server, "/api/v1/enrolments", Some(&volunteer), json!({"volunteer": "v.namha"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("leader_only")));
    let (status, body) = post(&server, "/api/v1/enrolments", Some(&leader), json!({"volunteer": "nobody"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("no_such_volunteer")));
    let (status, _) = post(&server, "/api/v1/enrolments", None, json!({"volunteer": "v.namha"})).await;
    assert_eq!(status, 401);

    // Revocation: not by a leader of another area; by the leader; then the phone is told so.
    let other = server.login("l.other", PASSWORD).await;
    let revoke = format!("/api/v1/devices/{device_id}/revoke");
    assert_eq!(post(&server, &revoke, Some(&other), json!({})).await.0, 404);
    assert_eq!(post(&server, &revoke, Some(&leader), json!({})).await.0, 204);
    // Told it was revoked (upload, then erase), and given none of its areas.
    let (status, body) = server.get_as("/api/v1/devices/me", Some(&device_token)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["revoked"]["revoked_at"].as_str().unwrap().ends_with('Z'), "{body}");
    assert_eq!(body["areas"], json!([]));
    // It reads nothing any more.
    let (status, body) = server.get_as("/api/v1/sync/pull?area=42", Some(&device_token)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("device_revoked")), "{body}");
    assert!(body["error"]["messages"]["vi"].as_str().unwrap().contains("thu hồi"));
    assert!(body["error"]["messages"]["en"].as_str().unwrap().contains("revoked"));
    assert_eq!(post(&server, &revoke, Some(&leader), json!({})).await.0, 404, "revoked already");
    // A revoked phone cannot use its code again to get a fresh token.
    let (status, body) = post(&server, "/api/v1/enrol", None, json!({"code": code, "device_id": device_id})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("enrolment_code_invalid")), "{body}");

    // Each step an administrative action, in the audit log.
    let (_, log) = server.get("/api/v1/audit").await;
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(&actions[..2], ["revoke-device", "enrol-code"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_codes_is_slowed_down() {
    let server = TestServer::spawn();
    let mut held_up = false;
    for i in 0..=doorstep_server::auth::ADDRESS_FREE_FAILURES {
        let (status, body) = post(
            &server,
            "/api/v1/enrol",
            None,
            json!({"code": format!("AAAAA-AAA{i:02}"), "device_id": uuid::Uuid::now_v7().to_string()}),
        )
        .await;
        match status {
            401 => assert_eq!(body["error"]["code"], "enrolment_code_invalid"),
            429 => {
                held_up = true;
                break;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(held_up, "wrong codes from one address are throttled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_issues_codes_with_a_qr_image_and_revokes() {
    let mut server = TestServer::prepare_stopped();
    create_account(&server.db.url, "v.cli", "volunteer", "18073", PASSWORD);
    let dir = tempfile::tempdir().unwrap();
    let qr = dir.path().join("code.svg");
    let (ok, out, err) = doorstep_tests::doorstep(&[
        "admin",
        "--db",
        &server.db.url,
        "enrol-code",
        "--volunteer",
        "v.cli",
        "--qr",
        &qr.to_string_lossy(),
    ]);
    assert!(ok, "{err}");
    let issued: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(std::fs::read_to_string(&qr).unwrap().contains("<svg"));
    let (ok, _, err) =
        doorstep_tests::doorstep(&["admin", "--db", &server.db.url, "enrol-code", "--volunteer", "admin"]);
    assert!(!ok && err.contains("no volunteer"), "{err}");

    server.start_again();
    let device_id = uuid::Uuid::now_v7().to_string();
    let (status, enrolled) =
        post(&server, "/api/v1/enrol", None, json!({"code": issued["code"], "device_id": device_id})).await;
    assert_eq!(status, 200, "{enrolled}");
    let token = enrolled["device_token"].as_str().unwrap().to_string();
    server.kill();

    let (ok, _, err) = doorstep_tests::doorstep(&[
        "admin",
        "--db",
        &server.db.url,
        "revoke-device",
        "--device",
        &device_id,
        "--reason",
        "  Máy bị mất ở chợ  ",
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) =
        doorstep_tests::doorstep(&["admin", "--db", &server.db.url, "revoke-device", "--device", &device_id]);
    assert!(!ok && err.contains("no live device"), "{err}");
    server.start_again();
    let (status, body) = server.get_as("/api/v1/devices/me", Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revoked"]["reason"], "Máy bị mất ở chợ", "{body}");
    let (status, body) = server.get_as("/api/v1/sync/pull?area=42", Some(&token)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("device_revoked")));
}

/// A lost phone is revoked: it may still upload what it holds (stored exactly once, flagged
/// `revoked_device` for the leader), nothing it synced before is lost, it can read nothing, and
/// after enrolling again with a new code its later visits go through unflagged. A token speaks
/// for its own device only, revoked or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_phone_uploads_its_queue_flagged_and_reads_nothing() {
    let server = TestServer::spawn();
    let mut phone = doorstep_tests::TestDevice::new(41);
    server.enrol(&phone).await;
    phone.record(5);
    let client = phone.client(&server.url, 10);
    assert!(client.drain(&phone.store, None).await.complete);
    assert_eq!(server.visit_count(), 5);

    phone.record(3);
    let device_id = phone.store.lock().unwrap().device_id().to_string();
    let admin = server.admin_token().await;
    let (status, _) = server.post_as(&format!("/api/v1/devices/{device_id}/revoke"), &admin, &json!({})).await;
    assert_eq!(status, 204);
    let report = client.drain(&phone.store, None).await;
    assert!(report.complete, "{report:?}");
    assert_eq!((report.stats.confirmed, report.stats.rejected), (3, 0), "{report:?}");
    assert_eq!(phone.pending(), 0);
    assert_eq!(server.visit_count(), 8, "what it synced stays, what it held arrives");
    // Every record the phone held is on the server exactly once.
    let mut held = phone.recorded_ids();
    held.sort();
    let mut stored = server.visit_ids();
    stored.sort();
    assert_eq!(stored, held);
    let flagged = server.db.i64("SELECT count(*) FROM visit_flags WHERE flags LIKE '%revoked_device%'");
    assert_eq!(flagged, 3, "the three sent after the revocation are flagged for the leader");
    // It reads nothing: no pull, no venues, no corrections.
    let token = phone.store.lock().unwrap().device_token().unwrap().unwrap();
    for path in ["/api/v1/sync/pull?area=42", "/api/v1/sync/venues?area=42", "/api/v1/sync/corrections"] {
        let (status, body) = server.get_as(path, Some(token.expose())).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("device_revoked")), "{path}: {body}");
    }

    // Another phone's token does not open this phone's batches.
    let thief = doorstep_tests::TestDevice::new(42);
    server.enrol(&thief).await;
    let stolen = thief.store.lock().unwrap().device_token().unwrap().unwrap().expose().to_string();
    let (status, body) = server
        .post(
            "/api/v1/sync/push",
            &[("content-type", "application/json"), ("authorization", &format!("Bearer {stolen}"))],
            json!({"device_id": device_id, "sent_at": chrono::Utc::now().to_rfc3339(), "records": []})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("wrong_device")), "{body}");

    // A new code from the leader: later visits go through, unflagged.
    server.enrol(&phone).await;
    phone.record(2);
    let report = client.drain(&phone.store, None).await;
    assert!(report.complete && report.stats.confirmed == 2, "{report:?}");
    assert_eq!(server.visit_count(), 10);
    assert_eq!(server.db.i64("SELECT count(*) FROM visit_flags WHERE flags LIKE '%revoked_device%'"), 3);
}
