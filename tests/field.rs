//! The field app's behaviour (the `doorstep-field` crate the Tauri shell forwards to) against the
//! real server: enrol with a code, record with the server down, sync by itself when it is back,
//! pull the volunteer's areas, erase a revoked phone, fix a refused record. On both databases.

use std::sync::Arc;

use doorstep_device::VisitDraft;
use doorstep_domain::visit::LocationInput;
use doorstep_field::{FieldApp, FieldConfig, Fix};
use doorstep_tests::{TestServer, VOLUNTEER};
use serde_json::json;

fn draft(area: &str, outcome: &str) -> VisitDraft {
    VisitDraft {
        household_id: None,
        address: Some("Số 8 Hà Huy Tập".into()),
        area_code: area.into(),
        outcome: outcome.into(),
        reason: None,
        people: 2,
        smartphones: 1,
        already_installed: 0,
        installed_now: if outcome == "installed_now" { 1 } else { 0 },
        leaflet_given: true,
        location: LocationInput {
            source: "gps".into(),
            lat: Some(18.3428),
            lon: Some(105.9057),
            accuracy_m: Some(6.0),
        },
        notes: None,
    }
}

fn field_app(dir: &tempfile::TempDir, server: &str) -> Arc<FieldApp> {
    FieldApp::open(
        dir.path(),
        FieldConfig {
            default_server: server.into(),
            fixed_location: Fix::parse_fixed("18.3428,105.9057,6"),
            ..FieldConfig::default()
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_record_offline_and_sync_when_the_server_is_back() {
    let mut server = TestServer::spawn();
    let dir = tempfile::tempdir().unwrap();
    let app = field_app(&dir, &server.url);
    let statuses = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = statuses.clone();
    app.on_status(move |s| seen.lock().unwrap().push(s.clone()));

    // A wrong code is refused with a reason in both languages; the right one enrols.
    let e = app.enrol(&server.url, "AAAAA-AAAAA").await.unwrap_err();
    assert_eq!(e.code, "enrolment_code_invalid");
    assert!(!e.messages.vi.is_empty() && !e.messages.en.is_empty());
    let code = server.enrolment_code(VOLUNTEER).await;
    let status = app.enrol(&server.url, &code.to_lowercase()).await.unwrap();
    assert!(status.enrolled && status.volunteer.as_ref().unwrap().username == VOLUNTEER);
    app.sync_once().await;
    let status = app.status().unwrap();
    assert!(status.online && !status.syncing, "{status:?}");
    assert!(status.last_sync_ok.is_some(), "a sync with nothing to send still went through");
    assert_eq!(app.work_areas().unwrap(), ["42"]);
    assert!(!app.areas().unwrap().is_empty(), "the volunteer's areas were pulled");

    // The server goes away; visits are saved and wait.
    server.kill();
    for _ in 0..3 {
        app.record_visit(&draft("18073", "installed_now")).unwrap();
    }
    app.record_visit(&draft("18077", "not_home")).unwrap();
    app.sync_once().await;
    let status = app.status().unwrap();
    assert!(!status.online, "{status:?}");
    assert_eq!((status.queue.pending, status.queue.sent), (4, 0));
    let today = app.today().unwrap();
    assert_eq!(today.len(), 4);
    assert!(today.iter().all(|v| v.state == "pending"));
    assert_eq!(app.revisits().unwrap().len(), 1, "not home: due again");

    // Back: the next sync sends everything, and the server counts it.
    server.start_again();
    app.sync_once().await;
    let status = app.status().unwrap();
    assert!(status.online && status.last_sync_ok.is_some(), "{status:?}");
    assert_eq!((status.queue.pending, status.queue.sent), (0, 4));
    assert!(app.today().unwrap().iter().all(|v| v.state == "sent"));
    let coverage = server.coverage("436").await;
    assert_eq!((coverage["visits"].as_i64(), coverage["installed_now"].as_i64()), (Some(4), Some(3)));
    let seen = statuses.lock().unwrap();
    assert!(seen.iter().any(|s| s.syncing), "the web view heard the sync start");
    assert!(seen.iter().any(|s| !s.online) && seen.iter().any(|s| s.online));
}

/// Revoked: the phone sends what it holds, erases itself and says why; a new code enrols it again
/// (tests/wipe.rs goes through the rest: a venue visit, a photo, the network dropping).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_phone_sends_its_visits_then_says_why_it_is_empty() {
    let server = TestServer::spawn();
    let dir = tempfile::tempdir().unwrap();
    let app = field_app(&dir, &server.url);
    let code = server.enrolment_code(VOLUNTEER).await;
    app.enrol(&server.url, &code).await.unwrap();
    let device_id = app.status().unwrap().device_id;
    let admin = server.admin_token().await;
    let (status, _) = server.post_as(&format!("/api/v1/devices/{device_id}/revoke"), &admin, &json!({})).await;
    assert_eq!(status, 204);
    app.record_visit(&draft("18073", "installed_now")).unwrap();
    app.sync_once().await;
    let status = app.status().unwrap();
    assert_eq!(server.visit_count(), 1, "sent before the erase");
    assert!(!status.enrolled && status.auth_problem.is_none(), "{status:?}");
    let wiped = status.wiped.expect("the phone says why it is empty");
    assert_eq!(wiped.records_sent, 1);
    assert!(app.today().unwrap().is_empty());
    // A new code from the leader: enrolled again, the marker gone.
    let code = server.enrolment_code(VOLUNTEER).await;
    app.enrol(&server.url, &code).await.unwrap();
    app.record_visit(&draft("18073", "installed_now")).unwrap();
    app.sync_once().await;
    let status = app.status().unwrap();
    assert!(status.enrolled && status.wiped.is_none(), "{status:?}");
    assert_eq!(status.queue.pending, 0);
    assert_eq!(server.visit_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_record_is_shown_with_its_reason_and_fixed() {
    let server = TestServer::spawn();
    let dir = tempfile::tempdir().unwrap();
    let app = field_app(&dir, &server.url);
    let code = server.enrolment_code(VOLUNTEER).await;
    app.enrol(&server.url, &code).await.unwrap();
    // An area code the server does not know: valid on the phone, refused by the server.
    app.record_visit(&draft("99999", "installed_now")).unwrap();
    app.sync_once().await;
    let refused = app.rejected().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].error.field.as_deref(), Some("area_code"));
    assert!(!refused[0].error.messages.vi.is_empty());
    assert_eq!(refused[0].draft.area_code, "99999", "the form can be filled from it");
    let mut fixed = refused[0].draft.clone();
    fixed.area_code = "18073".into();
    app.fix_rejected(refused[0].device_seq, &fixed).unwrap();
    app.sync_once().await;
    let status = app.status().unwrap();
    assert_eq!((status.queue.pending, status.queue.rejected), (0, 0));
    assert!(app.rejected().unwrap().is_empty());
    assert_eq!(server.visit_count(), 1);
    // Nearby: the household just visited, a few metres away.
    let near = app.nearby(18.3429, 105.9057, 5).unwrap();
    assert_eq!(near.len(), 1);
    assert!(near[0].distance_m.unwrap() < 20.0, "{:?}", near[0].distance_m);
}

/// A visit the leader sends back arrives with the app's own sync, is listed with the form's
/// starting values, and its correction goes back by itself as the visit's next revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_sent_back_arrives_with_sync_and_its_correction_goes_back() {
    let server = TestServer::spawn();
    let dir = tempfile::tempdir().unwrap();
    let app = field_app(&dir, &server.url);
    let code = server.enrolment_code(VOLUNTEER).await;
    app.enrol(&server.url, &code).await.unwrap();
    let saved = app.record_visit(&draft("18073", "installed_now")).unwrap();
    app.sync_once().await;
    assert_eq!(app.status().unwrap().queue.pending, 0);
    assert_eq!(app.status().unwrap().corrections_open, 0);

    let admin = server.admin_token().await;
    let (status, body) = server
        .post_as(
            &format!("/api/v1/visits/{}/send-back", saved.id),
            &admin,
            &json!({"comment": "Sai số người: hộ có 5 người."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    app.sync_once().await;
    assert_eq!(app.status().unwrap().corrections_open, 1);
    let list = app.corrections().unwrap();
    assert_eq!(list.len(), 1);
    let c = &list[0];
    assert_eq!(c.comment, "Sai số người: hộ có 5 người.");
    assert_eq!(c.requested_by, "admin");
    assert!(!c.answered);
    // The form starts from the visit as recorded, its address included.
    assert_eq!(c.draft.people, 2);
    assert_eq!(c.draft.address.as_deref(), Some("Số 8 Hà Huy Tập"));
    assert_eq!(c.draft.location.lat, Some(18.3428));

    let mut fixed = c.draft.clone();
    fixed.people = 5;
    app.correct_visit(&c.id, &fixed).unwrap();
    let status = app.status().unwrap();
    assert_eq!((status.corrections_open, status.queue.pending), (0, 1));
    assert!(app.corrections().unwrap()[0].answered);
    let again = app.correct_visit(&c.id, &fixed).unwrap_err();
    assert_eq!(again.code, "correction_not_open");
    assert!(!again.messages.vi.is_empty() && !again.messages.en.is_empty());

    app.sync_once().await;
    assert_eq!(app.status().unwrap().queue.pending, 0);
    assert!(app.corrections().unwrap().is_empty(), "closed on the server, so gone from the list");
    assert_eq!(server.visit_ids(), vec![(saved.id.clone(), 1), (saved.id.clone(), 2)]);
    assert_eq!(server.db.i64("SELECT people FROM visits WHERE revision = 2"), 5);
}

/// A province that runs its own certificate authority: its server's HTTPS is refused by a phone
/// that was not given the CA (the message says it is the certificate, and the code is not used
/// up); a certificate that is not one is refused with words; enrolled with the CA from the
/// card, the phone syncs over HTTPS, and keeps trusting it for that server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_trusts_the_provinces_own_ca_given_at_enrolment() {
    let server = TestServer::spawn();
    let front = doorstep_tests::tlsfront::TlsFront::start(server.port).await;
    let dir = tempfile::tempdir().unwrap();
    let app = field_app(&dir, &front.url);
    let code = server.enrolment_code(VOLUNTEER).await;
    let e = app.enrol(&front.url, &code).await.unwrap_err();
    assert_eq!((e.code.as_str(), e.field.as_deref()), ("server_certificate_untrusted", Some("ca")), "{e:?}");
    assert!(e.messages.vi.contains("chứng chỉ") && e.messages.en.contains("certificate"), "{e:?}");
    let e = app.enrol_trusting(&front.url, &code, Some("not a certificate")).await.unwrap_err();
    assert_eq!(e.code, "server_ca_invalid");
    // The card's CA: enrolled over HTTPS with the same code (it was never used), and syncing.
    let status = app.enrol_trusting(&front.url, &code, Some(&front.ca_pem)).await.unwrap();
    assert!(status.enrolled);
    app.record_visit(&draft("18073", "installed_now")).unwrap();
    app.sync_once().await;
    assert_eq!(app.status().unwrap().queue.pending, 0);
    assert_eq!(server.visit_count(), 1);
    // Opened again (the app restarted): the CA is still trusted for its server.
    drop(app);
    let app = field_app(&dir, &front.url);
    app.record_visit(&draft("18073", "not_home")).unwrap();
    app.sync_once().await;
    assert_eq!(server.visit_count(), 2);
}
