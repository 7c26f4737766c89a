//! The dashboard in real headless Chromium (Debian's, driven by playwright-core from
//! `ui/e2e/dashboard.mjs`) against the real server: a leader logs in, the map draws its layers,
//! a filter, a unit opened, a household opened and one of its visits sent back (which the
//! volunteer's phone then receives), a street of the unit given to a volunteer of the leader's
//! team (Claims; then read back from the server), English, and the daily report downloaded; the
//! workbook is then read here by calamine, a reader other than the writer. Needs `node`,
//! `/usr/bin/chromium` and the dashboard built (`npm run build:dashboard` in ui/ before the
//! server; scripts/test.sh does all three); without them this test fails, it never skips.

use std::path::PathBuf;
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use chrono::DateTime;
use doorstep_device::VisitDraft;
use doorstep_domain::visit::LocationInput;
use doorstep_tests::{TestDevice, TestServer, create_account, root};

const LEADER: &str = "totruong.thanhpho";
const PASSWORD: &str = "mật khẩu tổ trưởng thành phố";
const SEND_BACK_NOTE: &str = "Kiểm tra lại số người trong hộ.";
/// A volunteer of the leader's team, assigned Phường Nam Hà: the leader gives them a street there.
const CLAIM_VOLUNTEER: &str = "tnv.namha";

fn located(lat: f64, lon: f64, area: &str, outcome: &str, n: usize) -> VisitDraft {
    VisitDraft {
        household_id: None,
        address: Some(format!("Số {n}, đường Phan Đình Phùng")),
        area_code: area.into(),
        outcome: outcome.into(),
        reason: None,
        people: 3,
        smartphones: 2,
        already_installed: if outcome == "already_installed" { 2 } else { 0 },
        installed_now: if outcome == "installed_now" { 2 } else { 0 },
        leaflet_given: true,
        location: LocationInput { source: "gps".into(), lat: Some(lat), lon: Some(lon), accuracy_m: Some(6.0) },
        notes: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_reads_the_dashboard_in_chromium_and_downloads_the_report() {
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(chromium.exists(), "{} is missing: run scripts/setup.sh", chromium.display());
    let script = root().join("ui/e2e/dashboard.mjs");
    assert!(script.exists(), "{} is missing", script.display());

    let mut server = TestServer::prepare_stopped();
    create_account(&server.db.url, LEADER, "leader", "436", PASSWORD);
    create_account(&server.db.url, CLAIM_VOLUNTEER, "volunteer", "436", PASSWORD);
    // The leader's team, with the volunteer assigned Phường Nam Hà: the claims form offers them.
    let admin = |args: &[&str]| {
        let mut all = vec!["admin", "--db", server.db.url.as_str()];
        all.extend_from_slice(args);
        let (ok, _, err) = doorstep_tests::doorstep(&all);
        assert!(ok, "{args:?}: {err}");
    };
    admin(&["create-team", "--name", "Đội Nam Hà", "--area", "436", "--leader", LEADER]);
    admin(&["assign", "--team", "Đội Nam Hà", "--volunteer", CLAIM_VOLUNTEER, "--area", "18073"]);
    // Targets for one of the city's communes only: its row shows them, the city's cards say the
    // roll-up is partial.
    let targets_dir = tempfile::tempdir().unwrap();
    let targets = targets_dir.path().join("chi-tieu.csv");
    std::fs::write(&targets, "Mã ĐVHC;Số hộ;Số người có điện thoại thông minh\n18073;8;10\n").unwrap();
    let (ok, _, err) =
        doorstep_tests::doorstep(&["admin", "--db", &server.db.url, "import-targets", &targets.to_string_lossy()]);
    assert!(ok, "{err}");
    // The campaign ends on 8 August: Nam Hà, 4 of its 8 target households visited on the 4th (4 a
    // week), is expected on the 11th, and named as late.
    let campaign = targets_dir.path().join("campaign.json");
    let mut definition = serde_json::to_value(doorstep_domain::Campaign::bluezone()).unwrap();
    definition["ends_on"] = "2020-08-08".into();
    std::fs::write(&campaign, definition.to_string()).unwrap();
    admin(&["campaign", "load", &campaign.to_string_lossy()]);
    server.start_again();
    let phone = TestDevice::new(71);
    server.enrol(&phone).await;
    {
        let mut s = phone.store.lock().unwrap();
        let day = DateTime::parse_from_rfc3339("2020-08-04T09:00:00+07:00").unwrap();
        let homes = [
            (18.3420, 105.9050, "18073", "installed_now"),
            (18.3440, 105.9050, "18073", "installed_now"),
            (18.3440, 105.9070, "18073", "already_installed"),
            (18.3425, 105.9065, "18073", "not_home"),
            (18.3300, 105.9000, "18077", "installed_now"),
        ];
        // Every visit has a photo, taken that day: the popup and the Photos panel show them.
        let picture = {
            let img = image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
            let mut out = std::io::Cursor::new(Vec::new());
            image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Png).unwrap();
            out.into_inner()
        };
        for (n, (lat, lon, area, outcome)) in homes.into_iter().enumerate() {
            let visit = s.record_visit(&located(lat, lon, area, outcome, n + 1), day).unwrap();
            let draft = doorstep_device::PhotoDraft {
                target_kind: doorstep_domain::photo::TargetKind::Visit,
                target_id: visit.id.to_string(),
                area_code: None,
                caption: Some(format!("Lượt thăm số {}", n + 1)),
            };
            s.attach_photo(&draft, &picture, day).unwrap();
        }
    }
    let client = phone.client(&server.url, 100);
    assert!(client.drain(&phone.store, None).await.complete);
    assert_eq!(client.upload_photos(&phone.store, None).await.sent, 5);
    {
        // A school visited the same day: the venues table and the workbook's venue sheet.
        let school = doorstep_device::VenueVisitDraft {
            venue_id: None,
            kind: "school".into(),
            name: "Trường THCS Lê Văn Thiêm".into(),
            address: None,
            area_code: "18073".into(),
            people_reached: 640,
            smartphones: 300,
            already_installed: 120,
            installed_now: 75,
            notices_posted: 3,
            visitor_log: None,
            location: LocationInput {
                source: "gps".into(),
                lat: Some(18.3431),
                lon: Some(105.9061),
                accuracy_m: Some(9.0),
            },
            notes: None,
        };
        let day = DateTime::parse_from_rfc3339("2020-08-04T14:00:00+07:00").unwrap();
        phone.store.lock().unwrap().record_venue_visit(&school, day).unwrap();
    }
    let venues = phone.client(&server.url, 100).drain_venues(&phone.store).await.unwrap();
    assert_eq!(venues.confirmed, 1, "{venues:?}");

    let dir = tempfile::tempdir().unwrap();
    let download = dir.path().join("report.xlsx");
    let shots = std::env::var_os("DOORSTEP_DASHBOARD_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/screenshots-dashboard"));
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(&script)
        .current_dir(root().join("ui"))
        .env("DOORSTEP_LATE_UNIT", "18073:11/08/2020")
        .env("CHROMIUM", &chromium)
        .env("DOORSTEP_URL", &server.url)
        .env("DOORSTEP_USER", LEADER)
        .env("DOORSTEP_PASSWORD", PASSWORD)
        .env("DOORSTEP_AREA", "18073")
        .env("DOORSTEP_REPORT_DATE", "2020-08-04")
        .env("DOORSTEP_SEND_BACK", SEND_BACK_NOTE)
        .env("DOORSTEP_VENUES", "1")
        .env("DOORSTEP_PHOTOS", "1")
        .env("DOORSTEP_TARGET_HOUSEHOLDS", "8")
        .env("DOORSTEP_CLAIM_VOLUNTEER", CLAIM_VOLUNTEER)
        .env("DOORSTEP_DOWNLOAD", &download)
        .env("DOORSTEP_SCREENSHOTS", &shots)
        .output()
        .expect("node (scripts/setup.sh checks it is there)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the browser test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("checks passed"), "{stdout}");
    assert!(!stdout.contains("WARNING"), "the map must really draw: {stdout}");
    for said in ["the map's own buttons speak Vietnamese", "18073 is named as late", "phone: 18073 is named as late"] {
        assert!(stdout.contains(said), "checked: {said}\n{stdout}");
    }
    assert!(
        stdout.contains("the venues total counts") && stdout.contains("venue(s) in"),
        "the venues table and the venue on the map were checked: {stdout}"
    );
    assert!(
        stdout.contains("target households") && stdout.contains("target coverage"),
        "the targets were checked: {stdout}"
    );

    // The street given in the page is held on the server: the volunteer's, in force, for the
    // unit's households on Phan Đình Phùng (every address there names it).
    let claimed = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("claimed street "))
        .and_then(|l| l.split(" for ").next())
        .unwrap_or_else(|| panic!("the page gave no street: {stdout}"))
        .to_string();
    let leader = server.login(LEADER, PASSWORD).await;
    let (status, claims) = server.get_as("/api/v1/claims?area=18073", Some(&leader)).await;
    assert_eq!(status, 200, "{claims}");
    let held: Vec<_> = claims["claims"].as_array().expect("claims").iter().filter(|c| c["active"] == true).collect();
    assert_eq!(held.len(), 1, "{claims}");
    assert_eq!(
        (
            held[0]["claim"]["volunteer"].as_str(),
            held[0]["claim"]["area_code"].as_str(),
            held[0]["claim"]["street_key"].as_str(),
            held[0]["households"].as_i64(),
        ),
        (Some(CLAIM_VOLUNTEER), Some("18073"), Some("phan dinh phung"), Some(4)),
        "{claims}"
    );
    assert!(claimed.ends_with("|phan dinh phung") && claimed.starts_with("18073|"), "the page chose {claimed}");

    // The visit sent back in the page is on the server, and reaches the volunteer's phone.
    let sent_back = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("sent back visit "))
        .unwrap_or_else(|| panic!("the page sent no visit back: {stdout}"))
        .to_string();
    let received = phone.client(&server.url, 100).fetch_corrections(&phone.store).await.unwrap();
    assert_eq!(received, 1);
    let held = phone.store.lock().unwrap().corrections().unwrap();
    assert_eq!(
        (held[0].correction.visit_id.as_str(), held[0].correction.comment.as_str()),
        (sent_back.as_str(), SEND_BACK_NOTE)
    );
    assert_eq!(held[0].correction.requested_by, LEADER);

    // The downloaded workbook (of Phường Nam Hà, the unit opened), read by another reader than
    // the one that wrote it: four households, two installs of two phones each, one not home.
    let mut book: Xlsx<_> = calamine::open_workbook(&download).expect("the downloaded report opens");
    let summary = book.worksheet_range("Tổng hợp").unwrap();
    assert_eq!(summary.get_value((3, 1)), Some(&Data::String("18073".into())));
    assert_eq!(summary.get_value((5, 1)), Some(&Data::Float(4.0)), "households visited");
    assert_eq!(summary.get_value((9, 1)), Some(&Data::Float(2.0)), "already installed");
    assert_eq!(summary.get_value((10, 1)), Some(&Data::Float(4.0)), "installed at the visit");
    // Its targets and the rates they give, beside found coverage: 4 visited of 8 targeted; 6
    // phones with the app of 10 owners targeted.
    assert_eq!(summary.get_value((12, 1)), Some(&Data::Float(8.0)), "target households");
    assert_eq!(summary.get_value((15, 1)), Some(&Data::Float(0.5)), "target coverage");
    assert_eq!(summary.get_value((16, 1)), Some(&Data::Float(0.6)), "install rate of owners targeted");
    let visits = book.worksheet_range("Lượt thăm").unwrap();
    assert_eq!(visits.height(), 1 + 4, "the header and the day's four visits in Nam Hà");
    let venues = book.worksheet_range("Lượt thăm cơ sở").unwrap();
    assert_eq!(
        venues.get_value((1, 2)),
        Some(&Data::String("Trường THCS Lê Văn Thiêm".into())),
        "the day's venue visit"
    );
    assert_eq!(venues.get_value((1, 4)), Some(&Data::Float(640.0)), "people reached");
    let photos = book.worksheet_range("Ảnh").unwrap();
    assert_eq!(photos.height(), 1 + 4, "the header and the four visits' photos");
    assert!(!book.pictures().unwrap_or_default().is_empty(), "the photos are embedded");
}

/// Issue 19 in Chromium, at a desktop's 1440 × 900 and a phone's 390 × 844: a leader adds a
/// volunteer and shows their phone's enrolment code on screen; a real phone (the device code)
/// enrols with that code, records and syncs; the leader disables the account in the dashboard and
/// the phone, at its next sync, sends what it holds and erases itself. An admin gives the leader a
/// password code, and the leader sets a new password with it on the sign-in page and signs in.
/// Another district's leader is refused all of it (tests/people.rs, on both databases).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_runs_their_people_from_the_dashboard_on_a_desktop_and_a_phone() {
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(chromium.exists(), "{} is missing: run scripts/setup.sh", chromium.display());
    let script = root().join("ui/e2e/accounts.mjs");
    let mut server = TestServer::prepare_stopped();
    create_account(&server.db.url, LEADER, "leader", "436", PASSWORD);
    server.start_again();
    let shots = std::env::var_os("DOORSTEP_DASHBOARD_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/screenshots-dashboard"));
    let browser = |phase: &str, (width, height): (u32, u32), extra: &[(&str, &str)]| {
        let mut cmd = Command::new("node");
        cmd.arg(&script)
            .current_dir(root().join("ui"))
            .env("CHROMIUM", &chromium)
            .env("DOORSTEP_URL", &server.url)
            .env("DOORSTEP_PHASE", phase)
            .env("DOORSTEP_WIDTH", width.to_string())
            .env("DOORSTEP_HEIGHT", height.to_string())
            .env("DOORSTEP_AREA", "18073")
            .env("DOORSTEP_SCREENSHOTS", &shots);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("node (scripts/setup.sh checks it is there)");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{phase} at {width}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("checks passed"), "{stdout}");
        stdout
    };
    let mut password = PASSWORD.to_string();
    for (size, volunteer) in [((1440, 900), "tnv.desktop"), ((390, 844), "tnv.phone")] {
        let extra =
            [("DOORSTEP_USER", LEADER), ("DOORSTEP_PASSWORD", password.as_str()), ("DOORSTEP_VOLUNTEER", volunteer)];
        let stdout = browser("add", size, &extra);
        let code = stdout
            .lines()
            .find_map(|l| l.strip_prefix("ENROLMENT_CODE="))
            .expect("the code shown on screen")
            .trim()
            .to_string();
        // The real phone code enrols with the code read off the screen, records and syncs.
        let dir = tempfile::tempdir().unwrap();
        let app = doorstep_field::FieldApp::open(
            dir.path(),
            doorstep_field::FieldConfig {
                default_server: server.url.clone(),
                fixed_location: doorstep_field::Fix::parse_fixed("18.3428,105.9057,6"),
                ..doorstep_field::FieldConfig::default()
            },
        )
        .unwrap();
        app.enrol(&server.url, &code).await.unwrap();
        assert_eq!(app.status().unwrap().volunteer.map(|v| v.username).as_deref(), Some(volunteer));
        let before = server.visit_count();
        app.record_visit(&located(18.3428, 105.9057, "18073", "installed_now", 1)).unwrap();
        app.sync_once().await;
        assert_eq!(server.visit_count(), before + 1);
        let reason = format!("Mất máy ở chợ ({})", size.0);
        let mut revoke = extra.to_vec();
        revoke.push(("DOORSTEP_REASON", reason.as_str()));
        browser("disable", size, &revoke);
        // Its next sync: what it holds goes first, then it erases itself, saying why.
        app.record_visit(&located(18.3429, 105.9058, "18073", "installed_now", 2)).unwrap();
        app.sync_once().await;
        assert_eq!(server.visit_count(), before + 2, "sent before the erase");
        let status = app.status().unwrap();
        assert!(!status.enrolled, "{status:?}");
        assert_eq!(status.wiped.and_then(|w| w.reason), Some(reason.clone()), "the leader's reason on the phone");
        // The admin gives the leader a password code; the leader sets a new password with it.
        let new_password = format!("mật khẩu mới {}", size.0);
        let admin = [
            ("DOORSTEP_USER", doorstep_tests::ADMIN),
            ("DOORSTEP_PASSWORD", doorstep_tests::ADMIN_PASSWORD),
            ("DOORSTEP_VOLUNTEER", volunteer),
            ("DOORSTEP_LEADER", LEADER),
            ("DOORSTEP_NEW_PASSWORD", new_password.as_str()),
        ];
        browser("reset", size, &admin);
        password = new_password;
    }
    assert_eq!(server.login(LEADER, &password).await.len(), 64);
}

/// The field app's UI in Chromium, the engine of Android's WebView (no machine here builds for
/// Android), at 360 × 640 with touch, over its in-memory back end (`ui/e2e/field.mjs`): the tap
/// counts of the visit form with nothing scrolled, 48 px targets, no sideways scrolling, the walk
/// list. Screenshots: `DOORSTEP_SCREENSHOTS` (default target/screenshots-phone).
#[test]
fn the_field_ui_fits_a_phone_in_chromium() {
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(chromium.exists(), "{} is missing: run scripts/setup.sh", chromium.display());
    let built = root().join("ui/dist/index.html");
    assert!(built.exists(), "{} is missing: `npm run build` in ui/ (scripts/test.sh does)", built.display());
    let shots = std::env::var_os("DOORSTEP_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/screenshots-phone"));
    // The camera: Chromium's fake capture device plays a video of a leader's card's QR code.
    let camera = tempfile::tempdir().unwrap();
    let video = camera.path().join("card.y4m");
    let link = doorstep_domain::protocol::EnrolLink {
        server: "http://10.42.0.7:8080".into(),
        code: "K7M2Q-9XB4T".into(),
        ca: None,
    };
    std::fs::write(&video, qr_video(&link.to_url())).unwrap();
    let out = Command::new("node")
        .arg(root().join("ui/e2e/field.mjs"))
        .current_dir(root().join("ui"))
        .env("CHROMIUM", &chromium)
        .env("DOORSTEP_SCREENSHOTS", &shots)
        .env("DOORSTEP_FAKE_CAMERA", &video)
        .env("DOORSTEP_CAMERA_LINK", link.to_url())
        .output()
        .expect("node (scripts/setup.sh checks it is there)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the phone-size browser test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for said in [
        "5 taps (at most 5)",
        "4 taps (at most 4)",
        "a revisit from the list: 3 taps",
        "the camera read the card",
        "checks passed",
    ] {
        assert!(stdout.contains(said), "checked: {said}\n{stdout}");
    }
}

/// A few seconds of 640 × 480 video (YUV4MPEG2, as Chromium's fake camera reads) showing a QR
/// code of `text` on white, as a card held in front of a phone.
fn qr_video(text: &str) -> Vec<u8> {
    let qr = qrcode::QrCode::new(text.as_bytes()).expect("a QR code");
    let (w, h) = (640usize, 480usize);
    let modules = qr.width();
    let colors = qr.to_colors();
    let size = 400 / (modules + 8);
    let (left, top) = ((w - size * modules) / 2, (h - size * modules) / 2);
    let mut luma = vec![235u8; w * h];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (mx, my) = (i % modules, i / modules);
            for y in top + my * size..top + (my + 1) * size {
                luma[y * w + left + mx * size..y * w + left + (mx + 1) * size].fill(16);
            }
        }
    }
    let mut out = format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..20 {
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(&luma);
        out.extend(std::iter::repeat_n(128u8, w * h / 2));
    }
    out
}
