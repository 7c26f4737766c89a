use super::*;

fn app(dir: &tempfile::TempDir, fixed: Option<&str>) -> Arc<FieldApp> {
    let config = FieldConfig { fixed_location: fixed.and_then(Fix::parse_fixed), ..FieldConfig::default() };
    FieldApp::open(dir.path(), config).unwrap()
}

#[test]
fn fixed_positions_parse_and_bad_ones_are_refused() {
    let fix = Fix::parse_fixed("18.3428, 105.9057, 8").unwrap();
    assert_eq!(
        (fix.source.as_str(), fix.lat, fix.lon, fix.accuracy_m),
        ("fixed", Some(18.3428), Some(105.9057), Some(8.0))
    );
    assert_eq!(Fix::parse_fixed("18.3,105.9").unwrap().accuracy_m, Some(10.0));
    for bad in ["", "18.3", "a,b", "91,0", "0,181", "1,2,-3", "1,2,3,4"] {
        assert!(Fix::parse_fixed(bad).is_none(), "{bad}");
    }
}

#[test]
fn the_provider_is_chosen_by_configuration() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(app(&dir, Some("18.34,105.90,6")).locate().source, "fixed");
    let dir = tempfile::tempdir().unwrap();
    let plain = app(&dir, None);
    assert_eq!(plain.locate().source, "webview", "desktop: the web view asks its own geolocation");
    let mut s = plain.settings();
    s.location_provider = LocationProviderKind::Fixed;
    plain.set_settings(s).unwrap();
    assert_eq!(plain.locate().source, "none", "fixed chosen but no position configured");
}

/// A walk for tests and demonstrations: the file is read at every fix, so moving is rewriting it.
#[test]
fn a_fixed_location_file_is_read_at_every_fix() {
    let (dir, walk) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = walk.path().join("here.txt");
    std::fs::write(&file, "18.3428,105.9057,6\n").unwrap();
    let config = FieldConfig { fixed_location_file: Some(file.clone()), ..FieldConfig::default() };
    let walker = FieldApp::open(dir.path(), config).unwrap();
    assert_eq!(walker.settings().location_provider, LocationProviderKind::Fixed);
    assert_eq!((walker.locate().lat, walker.locate().accuracy_m), (Some(18.3428), Some(6.0)));
    std::fs::write(&file, "18.3431,105.9057").unwrap();
    assert_eq!(walker.locate().lat, Some(18.3431));
    std::fs::write(&file, "somewhere").unwrap();
    assert_eq!(walker.locate().source, "none", "a file with no position gives none, not the last one");
}

#[test]
fn poor_accuracy_and_points_outside_the_area_are_warned() {
    // Four households around a block of Phường Nam Hà, about 200 m across.
    let known = [(18.3420, 105.9050), (18.3420, 105.9070), (18.3438, 105.9070), (18.3438, 105.9050)];
    let inside = check_location((18.3430, 105.9060), Some(8.0), 50.0, &known);
    assert!(inside.is_empty(), "{inside:?}");
    let vague = check_location((18.3430, 105.9060), Some(120.0), 50.0, &known);
    assert_eq!(vague.iter().map(|w| w.code.as_str()).collect::<Vec<_>>(), ["poor_accuracy"]);
    assert!(vague[0].messages.vi.contains("120 m") && vague[0].messages.en.contains("120 m"));
    // Just outside the hull but near a household: fine. Two kilometres away: warned.
    assert!(check_location((18.3441, 105.9060), Some(8.0), 50.0, &known).is_empty());
    let far = check_location((18.3600, 105.9060), Some(8.0), 50.0, &known);
    assert_eq!(far.iter().map(|w| w.code.as_str()).collect::<Vec<_>>(), ["outside_area"]);
    // Too few households to draw a shape: nothing said.
    assert!(check_location((18.3600, 105.9060), None, 50.0, &known[..2]).is_empty());
}

#[test]
fn settings_are_checked_kept_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let a = app(&dir, None);
    let mut s = a.settings();
    assert_eq!((s.language, s.accuracy_threshold_m), (Lang::Vi, 50.0));
    s.language = Lang::En;
    s.server = "  https://doorstep.example.vn/ ".into();
    let saved = a.set_settings(s.clone()).unwrap();
    assert_eq!(saved.server, "https://doorstep.example.vn");
    assert_eq!(a.status().unwrap().language, Lang::En);
    let mut bad = saved.clone();
    bad.server = "doorstep.example.vn".into();
    let e = a.set_settings(bad).unwrap_err();
    assert_eq!((e.code.as_str(), e.field.as_deref()), ("bad_setting", Some("server")));
    assert!(e.message.contains("http://"), "English, as chosen: {}", e.message);
    let mut bad = saved;
    bad.accuracy_threshold_m = 0.5;
    assert_eq!(a.set_settings(bad).unwrap_err().field.as_deref(), Some("accuracy_threshold_m"));
    drop(a);
    // Kept across a restart.
    assert_eq!(app(&dir, None).settings().language, Lang::En);
}

#[test]
fn nothing_is_recorded_before_enrolment_and_bad_fields_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let a = app(&dir, None);
    let draft = VisitDraft {
        household_id: None,
        address: Some("Số 3 ngõ 5 Nguyễn Du".into()),
        area_code: "18073".into(),
        outcome: "installed_now".into(),
        reason: None,
        people: 1,
        smartphones: 1,
        already_installed: 0,
        installed_now: 1,
        leaflet_given: true,
        location: doorstep_domain::visit::LocationInput {
            source: "none".into(),
            lat: None,
            lon: None,
            accuracy_m: None,
        },
        notes: None,
    };
    assert_eq!(a.record_visit(&draft).unwrap_err().code, "not_enrolled");
    // As if enrolled (the end-to-end tests enrol against a real server).
    lock(&a.store)
        .set_enrolment(&doorstep_domain::protocol::EnrolResponse {
            device_token: "t".repeat(64),
            volunteer_id: uuid::Uuid::now_v7().to_string(),
            volunteer: doorstep_domain::protocol::UserDto {
                username: "v.a".into(),
                role: doorstep_domain::account::Role::Volunteer,
                area_code: "18073".into(),
            },
        })
        .unwrap();
    let mut bad = draft.clone();
    bad.installed_now = 3;
    let e = a.record_visit(&bad).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("installed_now"), "{e:?}");
    assert!(!e.messages.vi.is_empty() && !e.messages.en.is_empty());
    assert_eq!(a.status().unwrap().queue, Queue::default(), "nothing saved");
    let saved = a.record_visit(&draft).unwrap();
    let status = a.status().unwrap();
    assert_eq!(status.queue.pending, 1);
    assert_eq!(status.volunteer.unwrap().username, "v.a");
    let today = a.today().unwrap();
    assert_eq!((today.len(), today[0].id.as_str(), today[0].state.as_str()), (1, saved.id.as_str(), "pending"));
    assert_eq!(a.work_areas().unwrap(), ["18073"], "the account's area before the server says more");
}

#[test]
fn a_full_phone_is_told_in_words_that_say_what_to_do() {
    let e = super::device_error(
        doorstep_device::DeviceError::StorageFull("database or disk is full".into()),
        doorstep_domain::Lang::Vi,
    );
    assert_eq!(e.code, "storage_full");
    assert!(e.message.contains("Bộ nhớ điện thoại đã đầy"), "{}", e.message);
    assert!(e.messages.en.contains("storage is full") && e.messages.en.contains("kept"));
}

/// The app's data folder holds the database encrypted and its key beside it, readable by the
/// user only; a key that does not open the database is told in both languages, and the database
/// is left as it is.
#[test]
fn the_data_folder_is_encrypted_and_a_wrong_key_is_told_in_both_languages() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    drop(app(&dir, None));
    let db = dir.path().join(DB_FILE);
    let head = std::fs::read(&db).unwrap();
    assert!(!head.starts_with(b"SQLite format 3"), "the database is plain SQLite");
    let key = dir.path().join("doorstep.db.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");

    let keys = doorstep_device::KeyFile::new(&key);
    keys.forget().unwrap();
    keys.save_new(&doorstep_device::DbKey::generate().unwrap()).unwrap();
    let e = FieldApp::open(dir.path(), FieldConfig::default()).unwrap_err();
    assert!(e.to_string().contains("Không mở được") && e.to_string().contains("cannot be opened"), "{e}");
    let body = super::device_error(e, doorstep_domain::Lang::Vi);
    assert_eq!(body.code, "store_locked");
    assert!(body.message.contains("khoá mã hoá"), "{}", body.message);
    assert!(body.messages.en.contains("Nothing was deleted"), "{}", body.messages.en);
    assert_eq!(std::fs::read(&db).unwrap(), head);
}

/// The revisits list judges each household's due time at the phone's now.
#[test]
fn the_revisits_list_holds_households_once_their_due_time_has_come() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, None);
    let due_at = chrono::DateTime::parse_from_rfc3339("2021-10-05T14:30:00+07:00").unwrap().to_utc();
    let household = |id: &str, outcome: &str, due: Option<i64>| doorstep_domain::protocol::HouseholdDto {
        id: id.into(),
        area_code: "18073".into(),
        address: None,
        lat: None,
        lon: None,
        visits: 1,
        latest_outcome: Some(outcome.into()),
        revisit_due: false,
        revisit_due_at_ms: due,
        latest_volunteer_id: None,
        latest_volunteer: None,
        latest_visited_at_ms: None,
        updated_seq: 1,
    };
    lock(app.store())
        .apply_pull(&doorstep_domain::protocol::PullResponse {
            areas: vec![],
            households: vec![
                household("later", "hen_lai", Some(due_at.timestamp_millis())),
                household("done", "cai_moi", None),
            ],
            claims: vec![],
            next_cursor: 1,
            has_more: false,
        })
        .unwrap();
    let ids = |at: chrono::DateTime<Utc>| -> Vec<String> {
        app.revisits_at(at).unwrap().into_iter().map(|h| h.household.id).collect()
    };
    assert!(ids(due_at - chrono::Duration::minutes(1)).is_empty());
    assert_eq!(ids(due_at), ["later"]);
}

/// Claims reach the app: each household says who holds it (in the JSON the web view reads), the
/// walk list puts another volunteer's households last, and "Assigned to you" lists this
/// volunteer's claims.
#[test]
fn households_say_who_holds_them_and_the_walk_list_puts_anothers_last() {
    use doorstep_domain::protocol::{ClaimDto, HouseholdDto, PullResponse};
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, None);
    let me = uuid::Uuid::now_v7().to_string();
    lock(app.store())
        .set_enrolment(&doorstep_domain::protocol::EnrolResponse {
            device_token: "t".repeat(64),
            volunteer_id: me.clone(),
            volunteer: doorstep_domain::protocol::UserDto {
                username: "minh".into(),
                role: doorstep_domain::account::Role::Volunteer,
                area_code: "18073".into(),
            },
        })
        .unwrap();
    let t0 = chrono::DateTime::parse_from_rfc3339("2020-11-27T14:30:00+07:00").unwrap().to_utc();
    let t0_ms = t0.timestamp_millis();
    // Three households nobody met, due again at once: two on Lan's street, one on this phone's.
    let household = |id: &str, address: &str| HouseholdDto {
        id: id.into(),
        area_code: "18073".into(),
        address: Some(address.into()),
        lat: None,
        lon: None,
        visits: 1,
        latest_outcome: Some("not_home".into()),
        revisit_due: true,
        revisit_due_at_ms: Some(t0_ms),
        latest_volunteer_id: None,
        latest_volunteer: None,
        latest_visited_at_ms: None,
        updated_seq: 1,
    };
    let claim = |id: &str, volunteer_id: &str, volunteer: &str, street: &str| ClaimDto {
        id: id.into(),
        area_code: "18073".into(),
        household_id: None,
        street: Some(street.into()),
        street_key: doorstep_domain::claim::street_of(street).map(|s| s.key),
        volunteer_id: volunteer_id.into(),
        volunteer: volunteer.into(),
        created_at_ms: t0_ms,
        released_at_ms: None,
        updated_seq: 1,
    };
    let lan = uuid::Uuid::now_v7().to_string();
    lock(app.store())
        .apply_pull(&PullResponse {
            areas: vec![],
            households: vec![household("a", "3 Trần Phú"), household("b", "9 Nguyễn Du"), household("c", "5 Trần Phú")],
            claims: vec![claim("lans", &lan, "lan", "Trần Phú"), claim("mine", &me, "minh", "Nguyễn Du")],
            next_cursor: 1,
            has_more: false,
        })
        .unwrap();
    let at = t0 + chrono::Duration::hours(1);
    let walk: Vec<(String, bool)> =
        app.revisits_at(at).unwrap().into_iter().map(|h| (h.household.id, h.household.taken)).collect();
    assert_eq!(
        walk,
        [("b".into(), false), ("a".into(), true), ("c".into(), true)],
        "this volunteer's first, Lan's after"
    );

    let json = serde_json::to_value(app.households_at(None, at).unwrap()).unwrap();
    assert_eq!(json[0]["taken"], true);
    assert_eq!(json[0]["holder"]["volunteer"], "lan");
    assert_eq!(json[0]["holder"]["kind"], "street");
    assert_eq!(json[0]["holder"]["until_ms"], t0_ms + 72 * 3_600_000);
    assert_eq!(json[1]["taken"], false);
    assert_eq!(json[1]["holder"]["volunteer_id"], me);

    let mine = app.my_claims_at(at).unwrap();
    assert_eq!(
        mine.iter().map(|c| (c.claim.id.as_str(), c.households, c.until_ms)).collect::<Vec<_>>(),
        [("mine", 1, t0_ms + 72 * 3_600_000)]
    );
    // Run out 72 hours on: nobody holds anything; nothing is assigned.
    let later = t0 + chrono::Duration::hours(72);
    assert!(app.revisits_at(later).unwrap().iter().all(|h| !h.household.taken));
    assert!(app.my_claims_at(later).unwrap().is_empty());
}
