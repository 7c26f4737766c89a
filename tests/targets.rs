//! Targets per area imported from the committee's table (`doorstep admin import-targets`), as CSV
//! (Vietnamese headers, semicolons, Excel's byte-order mark) or as a spreadsheet; a table with
//! any problem imports nothing and says where each is. On SQLite and on PostgreSQL.

use doorstep_tests::{TestServer, doorstep};

fn import(db: &str, file: &std::path::Path) -> (bool, String, String) {
    doorstep(&["admin", "--db", db, "import-targets", &file.to_string_lossy()])
}

fn held(server: &TestServer) -> Vec<Vec<Option<String>>> {
    server.db.rows("SELECT area_code, households, population, smartphone_owners FROM targets ORDER BY area_code")
}

fn row(code: &str, h: Option<i64>, p: Option<i64>, o: Option<i64>) -> Vec<Option<String>> {
    vec![Some(code.to_string()), h.map(|n| n.to_string()), p.map(|n| n.to_string()), o.map(|n| n.to_string())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_come_from_csv_or_a_spreadsheet_whole_or_not_at_all() {
    let mut server = TestServer::prepare_stopped();
    let db = server.db.url.clone();
    let dir = tempfile::tempdir().unwrap();

    // A table with problems: each named by line, nothing imported.
    let bad = dir.path().join("chi-tieu-loi.csv");
    std::fs::write(&bad, "Mã ĐVHC;Số hộ;Dân số\n18073;1.200;4.100\n99999;10;20\n18077;mười;\n").unwrap();
    let (ok, _, err) = import(&db, &bad);
    assert!(!ok);
    assert!(err.contains("line 4") && err.contains("'mười'"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(held(&server).is_empty());
    // Only the unknown area left: still nothing imported, and its line named.
    // Every code checked in one read; each unknown one still named by its line, in order.
    std::fs::write(&bad, "Mã ĐVHC;Số hộ;Dân số\n18073;1.200;4.100\n99999;10;20\n18077;5;\n4X9;1;\n").unwrap();
    let (ok, _, err) = import(&db, &bad);
    assert!(!ok && err.contains("2 problem(s)"), "{err}");
    let third = err.find("line 3: no area has the code 99999").expect(&err);
    let fifth = err.find("line 5: no area has the code 4X9").expect(&err);
    assert!(third < fifth, "{err}");
    assert!(!err.contains("line 4"), "18077 exists: {err}");
    assert!(held(&server).is_empty());

    // CSV as Excel writes it in Vietnam: a byte-order mark, semicolons, grouped thousands.
    let csv = dir.path().join("chi-tieu.csv");
    std::fs::write(
        &csv,
        "\u{feff}Mã ĐVHC;Số hộ;Dân số;Số người có điện thoại thông minh\n\
         18073;1.200;4.100;2.050\n18077;950;;\n",
    )
    .unwrap();
    let (ok, out, err) = import(&db, &csv);
    assert!(ok, "{err}");
    assert!(out.contains("\"areas\":2"), "{out}");
    assert_eq!(held(&server), [row("18073", Some(1200), Some(4100), Some(2050)), row("18077", Some(950), None, None)]);

    // A spreadsheet, English headers, numbers as numbers: replaces what it names, keeps the rest.
    let xlsx = dir.path().join("targets.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["area_code", "households", "population"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "18073").unwrap();
    sheet.write_number(1, 1, 1250.0).unwrap();
    sheet.write_number(1, 2, 4200.0).unwrap();
    sheet.write_string(2, 0, "436").unwrap();
    sheet.write_number(2, 1, 25000.0).unwrap();
    book.save(&xlsx).unwrap();
    let (ok, _, err) = import(&db, &xlsx);
    assert!(ok, "{err}");
    assert_eq!(
        held(&server),
        [
            row("18073", Some(1250), Some(4200), None),
            row("18077", Some(950), None, None),
            row("436", Some(25000), None, None)
        ]
    );

    // Coverage, three ways: found (visited / found), target (visited / target households) and
    // installs against smartphone owners targeted; a parent without a target sums its children's.
    server.start_again();
    let mut device = doorstep_tests::TestDevice::new(3);
    server.enrol(&device).await;
    device.record(25);
    let report = device.client(&server.url, 100).drain(&device.store, None).await;
    assert!(report.complete, "{report:?}");
    let c = server.coverage("18073").await;
    let visited = c["households_visited"].as_f64().unwrap();
    assert!(visited > 0.0, "{c}");
    assert_eq!(c["targets"]["households"], 1250, "{c}");
    assert_eq!(c["coverage_rate"].as_f64().unwrap(), visited / c["households_known"].as_f64().unwrap());
    assert_eq!(c["target_coverage_rate"].as_f64().unwrap(), visited / 1250.0);
    // Households with the app: those whose latest outcome the campaign counts as installed.
    let with_app: i64 = ["installed_now", "already_installed"].iter().filter_map(|o| c["by_outcome"][o].as_i64()).sum();
    assert!(with_app > 0, "the seeded visits include installs: {c}");
    assert_eq!(c["households_with_app"].as_i64(), Some(with_app), "{c}");
    assert!(c["install_rate_of_owners"].is_null(), "no owners target for 18073 any more: {c}");
    let district = server.coverage("436").await;
    assert_eq!(district["targets"]["households"], 25000, "its own target: {district}");
    assert_eq!(district["targets"]["population"], 4200, "rolled up from 18073: {district}");
    let province = server.coverage("42").await;
    assert_eq!(province["targets"]["households"], 25000, "{province}");
    let other = server.coverage("437").await;
    assert!(other["targets"].is_null() && other["target_coverage_rate"].is_null(), "{other}");
    // A sum over part of its level says how much it covers: the population of 1 of the city's
    // 27 communes; the province's households from 1 of its 12 districts.
    assert_eq!(district["targets"]["partial"], true, "{district}");
    assert!(district["targets"]["households_sum"].is_null(), "its own: {district}");
    assert_eq!(
        district["targets"]["population_sum"],
        serde_json::json!({"areas_with_target": 1, "areas": 27}),
        "{district}"
    );
    assert_eq!(
        province["targets"]["households_sum"],
        serde_json::json!({"areas_with_target": 1, "areas": 12}),
        "{province}"
    );
    // A target over 1 of 12 districts is shown with its reach, never divided into the whole
    // province's visits.
    assert!(province["target_coverage_rate"].is_null(), "{province}");
    let commune = server.coverage("18073").await;
    assert_eq!(commune["targets"]["partial"], false, "{commune}");

    // Progress carries the same, for the area and for every unit, three ways each.
    let (status, progress) = server.get("/api/v1/progress?area=436").await;
    assert_eq!(status, 200, "{progress}");
    assert_eq!(progress["area"]["targets"], district["targets"], "{progress}");
    assert_eq!(progress["area"]["target_coverage_rate"], district["target_coverage_rate"]);
    let units = progress["units"].as_array().unwrap();
    assert_eq!(units.len(), 27);
    let unit = |code: &str| {
        units.iter().find(|u| u["area_code"] == code).unwrap_or_else(|| panic!("no unit {code}: {progress}"))
    };
    let u = unit("18073");
    assert_eq!(u["targets"], commune["targets"], "{u}");
    let visited = u["households_visited"].as_f64().unwrap();
    assert_eq!(u["target_coverage_rate"].as_f64().unwrap(), visited / 1250.0, "{u}");
    assert_eq!(u["coverage_rate"].as_f64().unwrap(), visited / u["households_known"].as_f64().unwrap());
    assert!(u["install_rate_of_owners"].is_null(), "{u}");
    let u = unit("18077");
    assert_eq!((u["targets"]["households"].as_i64(), u["targets"]["population"].as_i64()), (Some(950), None), "{u}");
    let u = unit("18079");
    assert!(
        u["targets"].is_null() && u["target_coverage_rate"].is_null() && u["install_rate_of_owners"].is_null(),
        "no target: {u}"
    );
    let (status, progress) = server.get("/api/v1/progress?area=42").await;
    assert_eq!(status, 200, "{progress}");
    assert_eq!(progress["area"]["targets"], province["targets"], "{progress}");
    let city = progress["units"].as_array().unwrap().iter().find(|u| u["area_code"] == "436").unwrap();
    assert_eq!(city["targets"], district["targets"], "the unit as the area itself: {city}");
}
