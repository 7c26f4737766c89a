//! The commands through Tauri's own IPC (its test runtime, no display): arguments and answers
//! cross as the web view sends and reads them.

use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;

use super::*;

fn app(dir: &tempfile::TempDir) -> (tauri::App<MockRuntime>, tauri::WebviewWindow<MockRuntime>) {
    let field = FieldApp::open(
        dir.path(),
        FieldConfig { fixed_location: Fix::parse_fixed("18.3428,105.9057,6"), ..FieldConfig::default() },
    )
    .expect("field app");
    let app = with_commands(mock_builder())
        .manage(field)
        .manage(EnrolLinks::default())
        .build(mock_context(noop_assets()))
        .expect("app");
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("window");
    (app, window)
}

fn invoke(window: &tauri::WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    tauri::test::get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // On Linux the IPC origin must be the custom protocol's.
            url: "tauri://localhost".parse().expect("url"),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().expect("JSON answer"))
}

#[test]
fn status_settings_and_location_cross_the_ipc() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(&dir);
    let status = invoke(&w, "get_status", json!({})).unwrap();
    assert_eq!(status["enrolled"], false);
    assert_eq!(status["language"], "vi");
    assert_eq!(
        status["queue"],
        json!({"pending": 0, "sent": 0, "rejected": 0, "venues_pending": 0, "venues_rejected": 0})
    );

    let mut settings = invoke(&w, "get_settings", json!({})).unwrap();
    assert_eq!(settings["location_provider"], "fixed");
    settings["language"] = json!("en");
    let saved = invoke(&w, "set_settings", json!({ "settings": settings })).unwrap();
    assert_eq!(saved["language"], "en");
    assert_eq!(invoke(&w, "get_status", json!({})).unwrap()["language"], "en");
    settings["server"] = json!("not a url");
    let e = invoke(&w, "set_settings", json!({ "settings": settings })).unwrap_err();
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("bad_setting"), Some("server")));
    assert!(e["messages"]["vi"].as_str().unwrap().contains("http://"));

    let fix = invoke(&w, "locate", json!({})).unwrap();
    assert_eq!((fix["source"].as_str(), fix["accuracy_m"].as_f64()), (Some("fixed"), Some(6.0)));
    // camelCase arguments, as the web view sends them.
    let warnings = invoke(&w, "check_location", json!({"lat": 18.34, "lon": 105.9, "accuracyM": 120.0})).unwrap();
    assert_eq!(warnings[0]["code"], "poor_accuracy");
}

/// A link the system handed over waits for the web view, which takes it once; anything else is
/// not kept.
#[test]
fn an_enrolment_link_is_kept_until_the_window_takes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (app, w) = app(&dir);
    assert_eq!(invoke(&w, "take_enrol_link", json!({})).unwrap(), Value::Null);
    let links = app.state::<EnrolLinks>();
    assert!(!links.offer("https://example.org/?code=ABCDE-12345"));
    assert!(!links.offer("doorstep://enrol?server=file:///etc&code=ABCDE-12345"));
    assert!(links.offer("doorstep://enrol?server=http%3A%2F%2F10.0.0.5%3A8080&code=ABCDE-12345"));
    assert_eq!(
        invoke(&w, "take_enrol_link", json!({})).unwrap(),
        json!({"server": "http://10.0.0.5:8080", "code": "ABCDE-12345"})
    );
    assert_eq!(invoke(&w, "take_enrol_link", json!({})).unwrap(), Value::Null, "taken once");
}

#[test]
fn visits_are_refused_with_reasons_before_enrolment_and_for_bad_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(&dir);
    let draft = json!({
        "household_id": null, "address": "Số 8 Hà Huy Tập", "area_code": "18073", "outcome": "installed_now",
        "reason": null, "people": 1, "smartphones": 1, "already_installed": 0, "installed_now": 1,
        "leaflet_given": true, "location": {"source": "none"}, "notes": null
    });
    let e = invoke(&w, "record_visit", json!({ "draft": draft })).unwrap_err();
    assert_eq!(e["code"], "not_enrolled");
    assert!(!e["messages"]["en"].as_str().unwrap().is_empty());
    let e = invoke(&w, "enrol", json!({"server": "not a url", "code": "ABCDE-FGHJK"})).unwrap_err();
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("bad_server_url"), Some("server")));
    // A malformed draft never reaches the store: Tauri refuses the arguments.
    assert!(invoke(&w, "record_visit", json!({ "draft": {"outcome": 5} })).is_err());
    assert_eq!(invoke(&w, "get_today", json!({})).unwrap(), json!([]));
    assert_eq!(invoke(&w, "get_rejected", json!({})).unwrap(), json!([]));
    let campaign = invoke(&w, "get_campaign", json!({})).unwrap();
    assert!(campaign["outcomes"].as_array().unwrap().iter().any(|o| o["code"] == "installed_now"));
}

#[test]
fn corrections_cross_the_ipc_and_an_unknown_one_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(&dir);
    assert_eq!(invoke(&w, "get_corrections", json!({})).unwrap(), json!([]));
    assert_eq!(invoke(&w, "get_status", json!({})).unwrap()["corrections_open"], 0);
    let draft = json!({
        "household_id": null, "address": "Số 8 Hà Huy Tập", "area_code": "18073", "outcome": "installed_now",
        "reason": null, "people": 1, "smartphones": 1, "already_installed": 0, "installed_now": 1,
        "leaflet_given": true, "location": {"source": "none"}, "notes": null
    });
    // camelCase arguments, as the web view sends them.
    let e =
        invoke(&w, "correct_visit", json!({ "correctionId": "0190f5a0-0000-7000-8000-0000000000c1", "draft": draft }))
            .unwrap_err();
    assert_eq!(e["code"], "correction_not_open");
    assert!(!e["messages"]["vi"].as_str().unwrap().is_empty());
}

#[test]
fn venue_commands_cross_the_ipc_and_a_visit_needs_an_enrolled_phone() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(&dir);
    assert_eq!(invoke(&w, "get_venues", json!({ "area": null })).unwrap(), json!([]));
    assert_eq!(invoke(&w, "get_rejected_venue_visits", json!({})).unwrap(), json!([]));
    let status = invoke(&w, "get_status", json!({})).unwrap();
    assert_eq!(status["queue"]["venues_pending"], 0);
    let draft = json!({
        "venue_id": null, "kind": "school", "name": "Trường THCS Lê Văn Thiêm", "address": null,
        "area_code": "18073", "people_reached": 300, "smartphones": 120, "already_installed": 40,
        "installed_now": 30, "notices_posted": 2, "visitor_log": null, "location": {"source": "none"}, "notes": null
    });
    let e = invoke(&w, "record_venue_visit", json!({ "draft": draft })).unwrap_err();
    assert_eq!(e["code"], "not_enrolled");
    assert!(!e["messages"]["en"].as_str().unwrap().is_empty());
    // A malformed draft never reaches the store.
    assert!(invoke(&w, "record_venue_visit", json!({ "draft": {"kind": 5} })).is_err());
}

#[test]
fn photos_cross_the_ipc_as_base64_with_reasons_for_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(&dir);
    let draft = json!({"target_kind": "day", "target_id": "2020-08-04", "area_code": "18073", "caption": "Họp tổ"});
    let e = invoke(&w, "attach_photo", json!({ "draft": draft, "picture": "%%% not base64" })).unwrap_err();
    assert_eq!(e["code"], "photo_unreadable");
    assert!(!e["messages"]["vi"].as_str().unwrap().is_empty());
    // A picture, but the phone is not enrolled yet: nothing is saved.
    let e = invoke(&w, "attach_photo", json!({ "draft": draft, "picture": "aGVsbG8=" })).unwrap_err();
    assert_eq!(e["code"], "not_enrolled");
    assert_eq!(invoke(&w, "get_status", json!({})).unwrap()["photos"], json!({"pending": 0, "sent": 0, "rejected": 0}));
    assert_eq!(invoke(&w, "get_photos", json!({"targetKind": "visit", "targetId": "x"})).unwrap(), json!([]));
    assert_eq!(invoke(&w, "get_daily_report_photos", json!({"day": "2020-08-04"})).unwrap(), json!([]));
    let e = invoke(&w, "get_photo_image", json!({"id": "nope"})).unwrap_err();
    assert_eq!(e["code"], "photo_not_found");
}

#[test]
fn claims_cross_the_ipc() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = app(&dir);
    assert_eq!(invoke(&w, "get_my_claims", json!({})).unwrap(), json!([]));
    assert_eq!(invoke(&w, "get_households", json!({ "area": null })).unwrap(), json!([]));
}
