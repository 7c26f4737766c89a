//! Progress and the daily report, checked against figures worked out by hand from a fixed set of
//! visits: the daily curve by the phones' local dates, the units ranked by the share of
//! smartphones with the app, and the workbook read back by another reader (calamine). On SQLite
//! and on PostgreSQL.

use calamine::{Data, DataType, Reader, Xlsx};
use chrono::{DateTime, FixedOffset};
use doorstep_device::VisitDraft;
use doorstep_domain::visit::LocationInput;
use doorstep_tests::{TestDevice, TestServer, create_account};
use serde_json::json;

fn visit(household: Option<uuid::Uuid>, area: &str, outcome: &str, smartphones: i64, installed_now: i64) -> VisitDraft {
    VisitDraft {
        household_id: household,
        address: None,
        area_code: area.into(),
        outcome: outcome.into(),
        reason: (outcome == "refused").then(|| "không muốn".to_string()),
        people: 2,
        smartphones,
        already_installed: 0,
        installed_now,
        leaflet_given: true,
        location: LocationInput { source: "none".into(), lat: None, lon: None, accuracy_m: None },
        notes: None,
    }
}

fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_and_the_daily_report_match_figures_worked_out_by_hand() {
    let mut server = TestServer::prepare_stopped();
    create_account(&server.db.url, "l.other", "leader", "437", "mật khẩu tổ trưởng khác");
    // Bluezone ending on 20 August, and Nam Hà's own target of 20 households: the finish dates.
    let dir = tempfile::tempdir().unwrap();
    let campaign = dir.path().join("campaign.json");
    let mut definition = serde_json::to_value(doorstep_domain::Campaign::bluezone()).unwrap();
    definition["ends_on"] = json!("2020-08-20");
    std::fs::write(&campaign, definition.to_string()).unwrap();
    let targets = dir.path().join("chi-tieu.csv");
    std::fs::write(&targets, "Mã ĐVHC;Số hộ\n18073;20\n").unwrap();
    let (campaign, targets) = (campaign.to_string_lossy().to_string(), targets.to_string_lossy().to_string());
    let db = server.db.url.clone();
    for args in [
        vec!["admin", "--db", &db, "campaign", "load", &campaign],
        vec!["admin", "--db", &db, "import-targets", &targets],
    ] {
        let (ok, _, err) = doorstep_tests::doorstep(&args);
        assert!(ok, "{err}");
    }
    server.start_again();
    let phone = TestDevice::new(61);
    server.enrol(&phone).await;
    {
        let mut s = phone.store.lock().unwrap();
        // 3 August (local): three installs in Nam Hà (18073), nobody home at one house in 18077.
        for _ in 0..3 {
            s.record_visit(&visit(None, "18073", "installed_now", 1, 1), at("2020-08-03T10:00:00+07:00")).unwrap();
        }
        let away = s.record_visit(&visit(None, "18077", "not_home", 0, 0), at("2020-08-03T11:00:00+07:00")).unwrap();
        // 4 August (local; 00:30 there is still the 3rd in UTC): two more installs in Nam Hà,
        // and the 18077 household found at home, refusing.
        s.record_visit(&visit(None, "18073", "installed_now", 2, 2), at("2020-08-04T00:30:00+07:00")).unwrap();
        s.record_visit(&visit(None, "18073", "installed_now", 1, 1), at("2020-08-04T09:00:00+07:00")).unwrap();
        s.record_visit(
            &visit(Some(away.household.id.uuid()), "18077", "refused", 1, 0),
            at("2020-08-04T15:00:00+07:00"),
        )
        .unwrap();
    }
    let report = phone.client(&server.url, 100).drain(&phone.store, None).await;
    assert!(report.complete && report.stats.confirmed == 7, "{report:?}");

    let (status, p) = server.get("/api/v1/progress?area=436&from=2020-08-01&to=2020-08-05").await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        p["days"],
        json!([
            {"date": "2020-08-03", "visits": 4, "households": 4, "installed_now": 3},
            // The refusal at the 18077 house is a revisit: a visit, not a newly reached household.
            {"date": "2020-08-04", "visits": 3, "households": 2, "installed_now": 3},
        ])
    );
    assert_eq!(p["area"]["households_visited"], 6);
    // The days add up to the households visited, as the cumulative curve shows them.
    let reached: i64 = p["days"].as_array().unwrap().iter().map(|d| d["households"].as_i64().unwrap()).sum();
    assert_eq!(reached, 6);
    assert_eq!(p["area"]["smartphones_seen"], 1 + 1 + 1 + 2 + 1 + 1);
    assert_eq!(p["area"]["installed_now"], 5 + 1);
    let units = p["units"].as_array().unwrap();
    assert_eq!(units.len(), 27, "every commune of district 436");
    let unit = |code: &str| units.iter().find(|u| u["area_code"] == code).unwrap().clone();
    // Nam Hà: 6 of 6 smartphones with the app; 18077: 0 of 1; the others saw no phone.
    assert_eq!((unit("18073")["rank"].as_i64(), unit("18073")["install_rate"].as_f64()), (Some(1), Some(1.0)));
    assert_eq!((unit("18077")["rank"].as_i64(), unit("18077")["install_rate"].as_f64()), (Some(2), Some(0.0)));
    assert!(units.iter().filter(|u| u["rank"].as_i64().unwrap() > 2).all(|u| u["install_rate"].is_null()));
    // Nam Hà: 5 of its 20 target households, all 5 in the 7 days to the 5th: 15 more at 5 a
    // week take 21 days, to the 26th, after the campaign's end. 18077: its one household found
    // is visited (85 % of 1 rounds up to 1). The communes nobody entered: no goal, no forecast.
    assert_eq!(
        unit("18073")["finish"],
        json!({"goal": "target", "goal_households": 20, "households_last_7_days": 5,
               "finishes_on": "2020-08-26", "reached": false, "misses_end": true})
    );
    assert_eq!(unit("18077")["finish"]["goal"], "found85");
    assert_eq!(
        (unit("18077")["finish"]["reached"].as_bool(), unit("18077")["finish"]["misses_end"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(units.iter().filter(|u| u["rank"].as_i64().unwrap() > 2).all(|u| u.get("finish").is_none()), "{units:?}");
    // A week later nobody has visited anyone new: no pace, so no date.
    let (_, later) = server.get("/api/v1/progress?area=436&from=2020-08-01&to=2020-08-12").await;
    let nam_ha = later["units"].as_array().unwrap().iter().find(|u| u["area_code"] == "18073").unwrap().clone();
    assert_eq!(
        (nam_ha["finish"]["households_last_7_days"].as_i64(), nam_ha["finish"]["finishes_on"].is_null()),
        (Some(0), true)
    );
    assert_eq!(nam_ha["finish"]["misses_end"], true);
    // A narrower window holds only its days.
    let (_, p) = server.get("/api/v1/progress?area=18077&from=2020-08-04&to=2020-08-04").await;
    assert_eq!(p["days"], json!([{"date": "2020-08-04", "visits": 1, "households": 0, "installed_now": 0}]));

    // The daily report, read back by calamine.
    let token = server.admin_token().await;
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/reports/daily.xlsx?area=436&date=2020-08-04", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-disposition"].to_str().unwrap().contains("doorstep-436-2020-08-04.xlsx"),
        "{:?}",
        resp.headers()
    );
    let bytes = resp.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let summary = book.worksheet_range("Tổng hợp").unwrap();
    assert_eq!(summary.get_value((5, 1)), Some(&Data::Float(6.0)), "households visited");
    assert_eq!(summary.get_value((10, 1)), Some(&Data::Float(6.0)), "installed at the visit");
    // A rate is a number the spreadsheet shows as a percentage (with the reader's decimal mark).
    assert!(
        matches!(summary.get_value((11, 1)), Some(Data::Float(r)) if (r - 6.0 / 7.0).abs() < 1e-9),
        "6 of 7 phones: {:?}",
        summary.get_value((11, 1))
    );
    let units = book.worksheet_range("Đơn vị").unwrap();
    assert_eq!(units.get_value((1, 1)), Some(&Data::String("18073".into())), "ranked first, and late");
    assert_eq!(units.get_value((1, 7)), Some(&Data::Float(6.0)));
    // On the 4th the week's pace is the same 5 households: the 25th, after the end.
    let on = units.get_value((1, 16)).and_then(|d| d.as_date()).expect("a date");
    assert_eq!(on.format("%d/%m/%Y").to_string(), "25/08/2020");
    assert_eq!(units.get_value((1, 17)), Some(&Data::String("Trễ hạn".into())));
    let days = book.worksheet_range("Theo ngày").unwrap();
    assert_eq!(days.get_value((2, 4)), Some(&Data::Float(6.0)), "cumulative installs");
    assert_eq!(days.get_value((2, 2)), Some(&Data::Float(2.0)), "households reached on the 4th");
    let visits = book.worksheet_range("Lượt thăm").unwrap();
    assert_eq!(visits.height(), 1 + 3, "the header and the three visits of the 4th");
    assert_eq!(visits.get_value((3, 2)), Some(&Data::String("Từ chối".into())));

    // Out of scope, and a date that is not one.
    let other = server.login("l.other", "mật khẩu tổ trưởng khác").await;
    for path in ["/api/v1/progress?area=436", "/api/v1/reports/daily.xlsx?area=436"] {
        let (status, body) = server.get_as(path, Some(&other)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("out_of_scope")), "{path}");
    }
    let (status, body) = server.get("/api/v1/progress?area=436&from=3/8/2020").await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("from")), "{body}");
    assert!(body["error"]["messages"]["vi"].as_str().unwrap().contains("YYYY-MM-DD"));

    // The same report from the command line, with the server stopped (a SQLite file has one user).
    server.kill();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.xlsx");
    let out_arg = out.to_string_lossy().to_string();
    let args = ["export", "--db", &server.db.url, "--area", "436", "--date", "2020-08-04", "--out", &out_arg];
    let (ok, stdout, err) = doorstep_tests::doorstep(&args);
    assert!(ok, "{err}");
    assert!(stdout.contains("\"visits\":3"), "{stdout}");
    let mut book: Xlsx<_> = calamine::open_workbook(&out).unwrap();
    let summary = book.worksheet_range("Tổng hợp").unwrap();
    assert_eq!(summary.get_value((5, 1)), Some(&Data::Float(6.0)));
    let (ok, _, err) = doorstep_tests::doorstep(&args);
    assert!(!ok && err.contains("exists already"), "never overwritten: {err}");
}

/// The map's layers and the walk list, against a fixed set of located visits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_draws_areas_and_households_and_the_walk_list_holds_the_revisits() {
    let mut server = TestServer::prepare_stopped();
    create_account(&server.db.url, "l.other", "leader", "437", "mật khẩu tổ trưởng khác");
    server.start_again();
    let phone = TestDevice::new(62);
    server.enrol(&phone).await;
    let located = |lat: f64, lon: f64, area: &str, outcome: &str| {
        let mut v = visit(None, area, outcome, 1, if outcome == "installed_now" { 1 } else { 0 });
        v.address = Some(format!("Số {}", (lat * 10_000.0) as i64 % 100));
        v.location = LocationInput { source: "gps".into(), lat: Some(lat), lon: Some(lon), accuracy_m: Some(5.0) };
        v
    };
    {
        let mut s = phone.store.lock().unwrap();
        let now = at("2020-08-03T10:00:00+07:00");
        // Three corners of a block in Nam Hà, and one house in 18077 where nobody was home.
        for (lat, lon) in [(18.3420, 105.9050), (18.3440, 105.9050), (18.3440, 105.9070)] {
            s.record_visit(&located(lat, lon, "18073", "installed_now"), now).unwrap();
        }
        s.record_visit(&located(18.3300, 105.9000, "18077", "not_home"), now).unwrap();
    }
    assert!(phone.client(&server.url, 100).drain(&phone.store, None).await.complete);

    let (status, areas) = server.get("/api/v1/map/areas?parent=436").await;
    assert_eq!(status, 200, "{areas}");
    assert_eq!(areas["type"], "FeatureCollection");
    let features = areas["features"].as_array().unwrap();
    assert_eq!(features.len(), 27);
    let area = |code: &str| features.iter().find(|f| f["properties"]["code"] == code).unwrap().clone();
    let nam_ha = area("18073");
    assert_eq!(nam_ha["properties"]["households_visited"], 3);
    assert_eq!(nam_ha["properties"]["with_app"], 3);

    let (_, points) = server.get("/api/v1/map/households?area=436").await;
    // Without boundaries, an area's outline is the hull of the H3 cells its households are in:
    // a closed ring around every one of them (a single household's is its cell, a hexagon).
    let ring = |code: &str| -> Vec<(f64, f64)> {
        let f = area(code);
        assert_eq!(f["geometry"]["type"], "Polygon", "{code}: {f}");
        let ring: Vec<(f64, f64)> = f["geometry"]["coordinates"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
            .collect();
        assert_eq!(ring.first(), ring.last(), "{code}: a closed ring");
        ring
    };
    // Inside a convex ring, counter-clockwise as geo writes it: left of every edge.
    let inside = |ring: &[(f64, f64)], (x, y): (f64, f64)| {
        ring.windows(2).all(|e| (e[1].0 - e[0].0) * (y - e[0].1) - (e[1].1 - e[0].1) * (x - e[0].0) >= 0.0)
    };
    for code in ["18073", "18077"] {
        let ring = ring(code);
        let homes: Vec<(f64, f64)> = points["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["properties"]["area_code"] == code)
            .map(|p| {
                let c = &p["geometry"]["coordinates"];
                (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
            })
            .collect();
        assert!(!homes.is_empty());
        assert!(homes.iter().all(|h| inside(&ring, *h)), "{code}: {homes:?} inside {ring:?}");
    }
    assert_eq!(ring("18077").len(), 7, "one household: its cell's six corners, closed");
    assert_eq!(points["truncated"], false);
    let points = points["features"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    let away = points.iter().find(|p| p["properties"]["area_code"] == "18077").unwrap();
    assert_eq!(away["geometry"]["coordinates"], json!([105.9, 18.33]));
    assert_eq!(
        (away["properties"]["outcome"].as_str(), away["properties"]["revisit_due"].as_bool()),
        (Some("not_home"), Some(true))
    );

    let (_, walk) = server.get("/api/v1/revisits?area=436").await;
    let walk = walk.as_array().unwrap();
    assert_eq!(walk.len(), 1, "{walk:?}");
    assert_eq!(walk[0]["area_code"], "18077");
    assert!(!walk[0]["area_name"].as_str().unwrap().is_empty());

    let other = server.login("l.other", "mật khẩu tổ trưởng khác").await;
    for path in ["/api/v1/map/areas?parent=436", "/api/v1/map/households?area=18073", "/api/v1/revisits?area=436"] {
        assert_eq!(server.get_as(path, Some(&other)).await.0, 403, "{path}");
    }
}
