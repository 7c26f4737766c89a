//! The map's hexagons and filters, the exports and the public aggregates, against households at
//! known places whose H3 cells the test works out itself (with h3o), and figures worked out by
//! hand. On SQLite and on PostgreSQL.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use doorstep_device::VisitDraft;
use doorstep_domain::visit::LocationInput;
use doorstep_tests::{TestDevice, TestServer, create_account};
use h3o::{CellIndex, LatLng, Resolution};
use serde_json::{Value, json};

const PASSWORD: &str = "mật khẩu bản đồ lục giác";

fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

fn cell(lat: f64, lon: f64, res: Resolution) -> CellIndex {
    LatLng::new(lat, lon).unwrap().to_cell(res)
}

/// A visit; `counts` are (smartphones, already installed, installed now).
fn draft(
    household: Option<uuid::Uuid>, area: &str, place: Option<(f64, f64)>, address: &str, outcome: &str,
    counts: (i64, i64, i64),
) -> VisitDraft {
    VisitDraft {
        household_id: household,
        address: Some(address.to_string()),
        area_code: area.into(),
        outcome: outcome.into(),
        reason: (outcome == "refused").then(|| "không muốn cài".to_string()),
        people: 3,
        smartphones: counts.0,
        already_installed: counts.1,
        installed_now: counts.2,
        leaflet_given: true,
        location: match place {
            Some((lat, lon)) => {
                LocationInput { source: "gps".into(), lat: Some(lat), lon: Some(lon), accuracy_m: Some(6.0) }
            }
            None => LocationInput { source: "none".into(), lat: None, lon: None, accuracy_m: None },
        },
        notes: None,
    }
}

// Three households of block A (one res-9 cell), two of block B (another), one in 18077, one
// without a location.
const A: (f64, f64) = (18.34200, 105.90500);
const B: (f64, f64) = (18.34600, 105.91100);
const C: (f64, f64) = (18.33000, 105.90000);

fn near(p: (f64, f64), i: u32) -> (f64, f64) {
    (p.0 + f64::from(i) * 0.00001, p.1 + f64::from(i) * 0.00001)
}

/// Households by name: (id, the place if any).
type Households = BTreeMap<&'static str, (String, Option<(f64, f64)>)>;

/// The fixed campaign of these tests: phone T (a member of team "Đội Nam Hà") and phone O (not).
///
/// | household | visits (local time, phone, outcome, phones/already/now)                 |
/// |-----------|--------------------------------------------------------------------------|
/// | a1 (A)    | 3 Aug 10:00 T installed_now 2/0/2                                        |
/// | a2 (A)    | 3 Aug 11:00 O not_home 0/0/0; 5 Aug 09:00 T refused 1/0/0                |
/// | a3 (A)    | 4 Aug 10:00 O already_installed 1/1/0                                    |
/// | b1 (B)    | 4 Aug 00:30 T installed_now 1/0/1 (still the 3rd in UTC)                 |
/// | b2 (B)    | 5 Aug 15:00 O no_smartphone 0/0/0                                        |
/// | c1 (C)    | 3 Aug 12:00 T not_home 0/0/0 (commune 18077)                             |
/// | d1 (none) | 4 Aug 09:00 T installed_now 1/0/1 (no location)                          |
async fn campaign(server: &TestServer) -> Households {
    let team = TestDevice::new(71);
    let other = TestDevice::new(72);
    server.enrol_for(&team, "v.team").await;
    server.enrol_for(&other, "v.other").await;
    let mut ids = Households::new();
    {
        let mut t = team.store.lock().unwrap();
        let mut o = other.store.lock().unwrap();
        let mut rec = |phone: &mut doorstep_device::DeviceStore,
                       name: &'static str,
                       area: &str,
                       place: Option<(f64, f64)>,
                       outcome: &str,
                       counts: (i64, i64, i64),
                       when: &str|
         -> String {
            let household = ids.get(name).map(|(id, _)| uuid::Uuid::parse_str(id).unwrap());
            let address = format!("Số {} đường Nguyễn Du, {name}", name.len());
            let v = phone.record_visit(&draft(household, area, place, &address, outcome, counts), at(when)).unwrap();
            let id = v.household.id.uuid().to_string();
            ids.insert(name, (id.clone(), place));
            id
        };
        rec(&mut t, "a1", "18073", Some(near(A, 0)), "installed_now", (2, 0, 2), "2020-08-03T10:00:00+07:00");
        rec(&mut o, "a2", "18073", Some(near(A, 1)), "not_home", (0, 0, 0), "2020-08-03T11:00:00+07:00");
        rec(&mut o, "a3", "18073", Some(near(A, 2)), "already_installed", (1, 1, 0), "2020-08-04T10:00:00+07:00");
        rec(&mut t, "b1", "18073", Some(near(B, 0)), "installed_now", (1, 0, 1), "2020-08-04T00:30:00+07:00");
        rec(&mut o, "b2", "18073", Some(near(B, 1)), "no_smartphone", (0, 0, 0), "2020-08-05T15:00:00+07:00");
        rec(&mut t, "c1", "18077", Some(C), "not_home", (0, 0, 0), "2020-08-03T12:00:00+07:00");
        rec(&mut t, "d1", "18073", None, "installed_now", (1, 0, 1), "2020-08-04T09:00:00+07:00");
        // a2 again, by the team, on the 5th (the same place: the household keeps its first one).
        rec(&mut t, "a2", "18073", Some(near(A, 1)), "refused", (1, 0, 0), "2020-08-05T09:00:00+07:00");
    }
    // The phone that is not in the team syncs first, so a2's refusal is received last.
    for phone in [&other, &team] {
        let report = phone.client(&server.url, 100).drain(&phone.store, None).await;
        assert!(report.complete, "{report:?}");
    }
    ids
}

/// A server with the team: leader l.team (436) leads "Đội Nam Hà", v.team is in it (assigned
/// 18073), v.other is not; l.other leads 437.
fn prepare() -> TestServer {
    let server = TestServer::prepare_stopped();
    let url = server.db.url.clone();
    create_account(&url, "l.team", "leader", "436", PASSWORD);
    create_account(&url, "v.team", "volunteer", "436", PASSWORD);
    create_account(&url, "v.other", "volunteer", "436", PASSWORD);
    create_account(&url, "l.other", "leader", "437", PASSWORD);
    for args in [
        ["create-team", "--name", "Đội Nam Hà", "--area", "436", "--leader", "l.team"].as_slice(),
        ["assign", "--team", "Đội Nam Hà", "--volunteer", "v.team", "--area", "18073"].as_slice(),
    ] {
        let mut all = vec!["admin", "--db", url.as_str()];
        all.extend_from_slice(args);
        let (ok, out, err) = doorstep_tests::doorstep(&all);
        assert!(ok, "{out} {err}");
    }
    server
}

/// Cells of a hexagon answer by id: (known, visited, by_outcome, smartphones, with_app).
fn cells(fc: &Value) -> BTreeMap<String, (i64, i64, Value, i64, i64)> {
    assert_eq!(fc["type"], "FeatureCollection", "{fc}");
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (
                p["cell"].as_str().unwrap().to_string(),
                (
                    p["households_known"].as_i64().unwrap(),
                    p["households_visited"].as_i64().unwrap(),
                    p["by_outcome"].clone(),
                    p["smartphones_seen"].as_i64().unwrap(),
                    p["with_app"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hexagons_and_filters_match_figures_worked_out_by_hand() {
    let mut server = prepare();
    server.start_again();
    let ids = campaign(&server).await;
    let res9 = |p: (f64, f64)| cell(p.0, p.1, Resolution::Nine).to_string();
    let (ca, cb, cc) = (res9(A), res9(B), res9(C));
    // What the figures below rest on: the blocks are one cell each, three different ones.
    assert!((0..3).all(|i| res9(near(A, i)) == ca) && res9(near(B, 1)) == cb);
    assert!(ca != cb && cb != cc && ca != cc);

    let token = server.login("l.team", PASSWORD).await;
    let hex = |query: String| {
        let (server, token) = (&server, &token);
        async move {
            let (status, body) = server.get_as(&format!("/api/v1/map/hexagons?area=436{query}"), Some(token)).await;
            assert_eq!(status, 200, "{query}: {body}");
            cells(&body)
        }
    };

    // No filter, resolution 9: every household with a location, by its latest outcome.
    let all = hex("&res=9".into()).await;
    let want: BTreeMap<String, _> = [
        (ca.clone(), (3, 3, json!({"installed_now": 1, "refused": 1, "already_installed": 1}), 4, 3)),
        (cb.clone(), (2, 2, json!({"installed_now": 1, "no_smartphone": 1}), 1, 1)),
        (cc.clone(), (1, 1, json!({"not_home": 1}), 0, 0)),
    ]
    .into();
    assert_eq!(all, want);
    let (_, body) = server.get_as("/api/v1/map/hexagons?area=436&res=9", Some(&token)).await;
    let a = body["features"].as_array().unwrap().iter().find(|f| f["properties"]["cell"] == ca.as_str()).unwrap();
    assert_eq!(a["properties"]["coverage_rate"], 1.0);
    assert_eq!(a["properties"]["install_rate"], 0.75);
    assert_eq!(a["geometry"]["type"], "Polygon");
    let ring: Vec<(f64, f64)> = a["geometry"]["coordinates"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    let boundary: Vec<(f64, f64)> = CellIndex::try_from(u64::from_str_radix(&ca, 16).unwrap())
        .unwrap()
        .boundary()
        .iter()
        .map(|ll| (ll.lng(), ll.lat()))
        .collect();
    assert_eq!(ring.len(), boundary.len() + 1, "{ring:?}");
    for (got, want) in ring.iter().zip(boundary.iter().chain(boundary.first())) {
        assert!((got.0 - want.0).abs() < 1e-9 && (got.1 - want.1).abs() < 1e-9, "the cell's own outline: {ring:?}");
    }

    // Coarser: the households' fine cells folded into their parents. (H3 cells do not nest
    // exactly: a parent need not be the coarse cell that holds the point, as C shows at res 7.)
    for res in [Resolution::Five, Resolution::Seven, Resolution::Eight] {
        let got = hex(format!("&res={}", u8::from(res))).await;
        let mut want: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for (_, place) in ids.values() {
            if let Some((lat, lon)) = place {
                let parent = cell(*lat, *lon, Resolution::Nine).parent(res).unwrap();
                let e = want.entry(parent.to_string()).or_default();
                e.0 += 1;
                e.1 += 1;
            }
        }
        let got: BTreeMap<String, (i64, i64)> = got.into_iter().map(|(k, v)| (k, (v.0, v.1))).collect();
        assert_eq!(got, want, "res {res}");
    }

    // One local day (the 4th): a3 and b1 (00:30 on the 4th there, the 3rd in UTC); all known.
    let day = hex("&res=9&from=2020-08-04&to=2020-08-04".into()).await;
    assert_eq!(day[&ca], (3, 1, json!({"already_installed": 1}), 1, 1));
    assert_eq!(day[&cb], (2, 1, json!({"installed_now": 1}), 1, 1));
    assert_eq!(day[&cc], (1, 0, json!({}), 0, 0));
    // Up to the 3rd: a2's latest visit then was "not at home", not its later refusal.
    let early = hex("&res=9&to=2020-08-03".into()).await;
    assert_eq!(early[&ca], (3, 2, json!({"installed_now": 1, "not_home": 1}), 2, 2));
    assert_eq!(early[&cb].1, 0);
    assert_eq!(early[&cc].1, 1);

    // The team's visits only: a1, a2 (its refusal), b1, c1.
    let team = hex("&res=9&team=Đội%20Nam%20Hà".into()).await;
    assert_eq!(team[&ca], (3, 2, json!({"installed_now": 1, "refused": 1}), 3, 2));
    assert_eq!(team[&cb], (2, 1, json!({"installed_now": 1}), 1, 1));
    assert_eq!(team[&cc], (1, 1, json!({"not_home": 1}), 0, 0));
    // The team up to the 3rd: a1 and c1; a2's visit that day was the other phone's.
    let both = hex("&res=9&team=Đội%20Nam%20Hà&to=2020-08-03".into()).await;
    assert_eq!((both[&ca].1, both[&cb].1, both[&cc].1), (1, 0, 1));

    // Latest outcome: installed now or refused.
    let out = hex("&res=9&outcome=installed_now,refused".into()).await;
    assert_eq!(out[&ca], (3, 2, json!({"installed_now": 1, "refused": 1}), 3, 2));
    assert_eq!(out[&cb], (2, 1, json!({"installed_now": 1}), 1, 1));
    assert_eq!(out[&cc], (1, 0, json!({}), 0, 0));

    // The points follow the same filters.
    let points = |query: &'static str| {
        let (server, token) = (&server, &token);
        async move {
            let (status, body) = server.get_as(&format!("/api/v1/map/households?area=436{query}"), Some(token)).await;
            assert_eq!(status, 200, "{body}");
            let mut got: Vec<(String, String)> = body["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let p = &f["properties"];
                    (p["id"].as_str().unwrap().to_string(), p["outcome"].as_str().unwrap_or("").to_string())
                })
                .collect();
            got.sort();
            got
        }
    };
    let id = |n: &str| ids[n].0.clone();
    let sorted = |mut v: Vec<(String, String)>| {
        v.sort();
        v
    };
    assert_eq!(points("&outcome=refused").await, [(id("a2"), "refused".into())]);
    assert_eq!(
        points("&to=2020-08-03").await,
        sorted(vec![(id("a1"), "installed_now".into()), (id("a2"), "not_home".into()), (id("c1"), "not_home".into())])
    );
    assert_eq!(
        points("&team=Đội%20Nam%20Hà&from=2020-08-04").await,
        sorted(vec![(id("a2"), "refused".into()), (id("b1"), "installed_now".into())]),
        "d1 was visited on the 4th by the team, but has no place on a map"
    );
    assert_eq!(points("").await.len(), 6, "no filter: every located household");

    // The child areas under a filter, d1 (no location) included.
    let (_, areas) = server.get_as("/api/v1/map/areas?parent=436&team=Đội%20Nam%20Hà", Some(&token)).await;
    let area = |code: &str| {
        areas["features"].as_array().unwrap().iter().find(|f| f["properties"]["code"] == code).unwrap()["properties"]
            .clone()
    };
    assert_eq!(
        (area("18073")["households_known"].as_i64(), area("18073")["households_visited"].as_i64()),
        (Some(6), Some(4))
    );
    assert_eq!(area("18073")["with_app"], 2 + 1 + 1);
    assert_eq!(area("18077")["households_visited"], 1);
    let (_, plain) = server.get_as("/api/v1/map/areas?parent=436", Some(&token)).await;
    assert_eq!(
        plain["features"].as_array().unwrap().iter().find(|f| f["properties"]["code"] == "18073").unwrap()["properties"]
            ["households_visited"],
        6
    );

    // Refusals: bad values, a team out of sight, a volunteer, a leader of elsewhere.
    for (query, status, code) in [
        ("&res=10", 400, "bad_resolution"),
        ("&res=4", 400, "bad_resolution"),
        ("&from=4/8/2020", 400, "bad_date"),
        ("&from=2020-08-05&to=2020-08-04", 400, "bad_range"),
        ("&outcome=installed", 400, "bad_outcome"),
        ("&team=Không%20có", 404, "no_such_team"),
    ] {
        let (s, body) = server.get_as(&format!("/api/v1/map/hexagons?area=436{query}"), Some(&token)).await;
        assert_eq!((s, body["error"]["code"].as_str()), (status, Some(code)), "{query}: {body}");
        assert!(!body["error"]["messages"]["vi"].as_str().unwrap().is_empty());
    }
    let volunteer = server.login("v.team", PASSWORD).await;
    let (s, body) = server.get_as("/api/v1/map/hexagons?area=18073", Some(&volunteer)).await;
    assert_eq!((s, body["error"]["code"].as_str()), (403, Some("staff_only")));
    let other = server.login("l.other", PASSWORD).await;
    let (s, _) = server.get_as("/api/v1/map/hexagons?area=436", Some(&other)).await;
    assert_eq!(s, 403);
    // A team outside the caller's areas is no team at all to them.
    let (s, body) = server.get_as("/api/v1/map/hexagons?area=437&team=Đội%20Nam%20Hà", Some(&other)).await;
    assert_eq!((s, body["error"]["code"].as_str()), (404, Some("no_such_team")));
    server.kill();
}

async fn download(server: &TestServer, token: &str, path: &str) -> (String, String, Vec<u8>) {
    let resp = reqwest::Client::new().get(format!("{}{path}", server.url)).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{path}");
    let h = |name: &str| resp.headers()[name].to_str().unwrap().to_string();
    let (ctype, disposition) = (h("content-type"), h("content-disposition"));
    (ctype, disposition, resp.bytes().await.unwrap().to_vec())
}

fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let text = std::str::from_utf8(bytes).unwrap();
    let body = text.strip_prefix('\u{feff}').expect("a byte-order mark first, for Excel");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header.iter().cloned().zip(r.iter().map(str::to_string)).collect()
        })
        .collect();
    (header, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_read_back_row_by_row_and_the_command_line_writes_the_same() {
    let mut server = prepare();
    server.start_again();
    let ids = campaign(&server).await;
    let token = server.login("l.team", PASSWORD).await;
    let by_id: BTreeMap<String, &str> = ids.iter().map(|(n, (id, _))| (id.clone(), *n)).collect();

    // Households, CSV: one row each, their latest visit's figures, labels in Vietnamese.
    let (ctype, disposition, bytes) = download(&server, &token, "/api/v1/exports/households.csv?area=436").await;
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    assert!(disposition.contains("doorstep-households-436.csv"), "{disposition}");
    let (header, rows) = read_csv(&bytes);
    assert_eq!(header[..4], ["household_id", "area_code", "area_name", "address"]);
    assert_eq!(rows.len(), 7);
    // name: (area, latest outcome, label, smartphones, already, now, visits)
    let want: BTreeMap<&str, [&str; 7]> = [
        ("a1", ["18073", "installed_now", "Đã cài ngay", "2", "0", "2", "1"]),
        ("a2", ["18073", "refused", "Từ chối", "1", "0", "0", "2"]),
        ("a3", ["18073", "already_installed", "Đã cài từ trước", "1", "1", "0", "1"]),
        ("b1", ["18073", "installed_now", "Đã cài ngay", "1", "0", "1", "1"]),
        ("b2", ["18073", "no_smartphone", "Không có điện thoại thông minh", "0", "0", "0", "1"]),
        ("c1", ["18077", "not_home", "Vắng nhà", "0", "0", "0", "1"]),
        ("d1", ["18073", "installed_now", "Đã cài ngay", "1", "0", "1", "1"]),
    ]
    .into();
    for row in &rows {
        let name = by_id[&row["household_id"]];
        let w = want[name];
        let got = [
            row["area_code"].as_str(),
            row["latest_outcome"].as_str(),
            row["latest_outcome_label"].as_str(),
            row["smartphones"].as_str(),
            row["already_installed"].as_str(),
            row["installed_now"].as_str(),
            row["visits"].as_str(),
        ];
        assert_eq!(got, w, "{name}");
        assert_eq!(row["address"], format!("Số 2 đường Nguyễn Du, {name}"));
        assert!(row["area_name"].starts_with(if name == "c1" { "" } else { "Phường" }), "{row:?}");
        match ids[name].1 {
            Some((lat, lon)) => {
                assert!((row["lat"].parse::<f64>().unwrap() - lat).abs() < 1e-7, "{row:?}");
                assert!((row["lon"].parse::<f64>().unwrap() - lon).abs() < 1e-7, "{row:?}");
                assert_eq!(row["h3_cell"], cell(lat, lon, Resolution::Nine).to_string());
            }
            None => assert!(row["lat"].is_empty() && row["h3_cell"].is_empty(), "{row:?}"),
        }
    }

    // Households, GeoJSON, under a filter: the team's, as the map counts them.
    let (ctype, _, bytes) =
        download(&server, &token, "/api/v1/exports/households.geojson?area=436&team=%C4%90%E1%BB%99i%20Nam%20H%C3%A0")
            .await;
    assert_eq!(ctype, "application/geo+json");
    let geo: geojson::GeoJson = std::str::from_utf8(&bytes).unwrap().parse().unwrap();
    let geojson::GeoJson::FeatureCollection(fc) = geo else { panic!("not a FeatureCollection") };
    let mut names = Vec::new();
    for f in &fc.features {
        let props = f.properties.as_ref().unwrap();
        let name = by_id[props["household_id"].as_str().unwrap()];
        names.push(name);
        match (&f.geometry, ids[name].1) {
            (Some(g), Some((lat, lon))) => {
                let geojson::GeometryValue::Point { coordinates } = &g.value else { panic!("{g:?}") };
                assert!((coordinates[0] - lon).abs() < 1e-7 && (coordinates[1] - lat).abs() < 1e-7, "{name}");
            }
            (None, None) => {}
            (g, p) => panic!("{name}: {g:?} for {p:?}"),
        }
        if name == "a2" {
            assert_eq!(props["latest_outcome"], "refused");
            assert_eq!(props["smartphones"], 1);
        }
    }
    names.sort();
    assert_eq!(names, ["a1", "a2", "b1", "c1", "d1"]);

    // Visits of one day, CSV: a3, b1 and d1 on the 4th (local), in receive order.
    let (_, disposition, bytes) =
        download(&server, &token, "/api/v1/exports/visits.csv?area=436&date=2020-08-04").await;
    assert!(disposition.contains("doorstep-visits-436-2020-08-04.csv"), "{disposition}");
    let (header, rows) = read_csv(&bytes);
    assert_eq!(header.len(), 24);
    // Who recorded it, by name, in the last column (the older columns keep their places).
    assert_eq!(header.last().map(String::as_str), Some("volunteer_name"));
    let got: Vec<(&str, &str, &str)> =
        rows.iter().map(|r| (by_id[&r["household_id"]], r["outcome"].as_str(), r["visited_at"].as_str())).collect();
    // The other phone synced first: a3, then the team's b1 and d1.
    assert_eq!(
        got,
        [
            ("a3", "already_installed", "2020-08-04T10:00:00+07:00"),
            ("b1", "installed_now", "2020-08-04T00:30:00+07:00"),
            ("d1", "installed_now", "2020-08-04T09:00:00+07:00"),
        ]
    );
    assert_eq!(rows[0]["leaflet_given"], "true");
    assert_eq!(rows[0]["outcome_label"], "Đã cài từ trước");

    // Visits, GeoJSON: all eight, each at its place; in English when asked.
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/exports/visits.geojson?area=436&outcome=refused", server.url))
        .bearer_auth(&token)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let geo: geojson::GeoJson = resp.text().await.unwrap().parse().unwrap();
    let geojson::GeoJson::FeatureCollection(fc) = geo else { panic!("not a FeatureCollection") };
    assert_eq!(fc.features.len(), 1);
    let props = fc.features[0].properties.as_ref().unwrap();
    assert_eq!(props["outcome_label"], "Refused");
    assert_eq!(props["reason"], "không muốn cài");
    let (_, _, bytes) = download(&server, &token, "/api/v1/exports/visits.geojson?area=18073").await;
    let geo: geojson::GeoJson = std::str::from_utf8(&bytes).unwrap().parse().unwrap();
    let geojson::GeoJson::FeatureCollection(fc) = geo else { panic!("not a FeatureCollection") };
    assert_eq!(fc.features.len(), 7, "every visit of Nam Hà: c1's is in 18077");
    assert_eq!(fc.features.iter().filter(|f| f.geometry.is_none()).count(), 1, "d1's");

    // Scope: a leader of another district, and a volunteer.
    let other = server.login("l.other", PASSWORD).await;
    let volunteer = server.login("v.team", PASSWORD).await;
    for (who, status, code) in [(&other, 403, "out_of_scope"), (&volunteer, 403, "staff_only")] {
        let (s, body) = server.get_as("/api/v1/exports/households.csv?area=18073", Some(who)).await;
        assert_eq!((s, body["error"]["code"].as_str()), (status, Some(code)));
    }

    // The command line, through the real binary, writes what the dashboard downloads.
    let (_, _, web) = download(&server, &token, "/api/v1/exports/households.csv?area=436").await;
    server.kill();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hộ.csv");
    let out_arg = out.to_string_lossy().to_string();
    let args = [
        "export",
        "--db",
        &server.db.url,
        "--area",
        "436",
        "--format",
        "csv",
        "--what",
        "households",
        "--out",
        &out_arg,
    ];
    let (ok, stdout, err) = doorstep_tests::doorstep(&args);
    assert!(ok, "{err}");
    assert!(stdout.contains("\"rows\":7"), "{stdout}");
    assert_eq!(std::fs::read(&out).unwrap(), web, "the same bytes as the download");
    let (ok, _, err) = doorstep_tests::doorstep(&args);
    assert!(!ok && err.contains("exists already"), "never overwritten: {err}");
    // Visits of a day as GeoJSON, in English.
    let out = dir.path().join("visits.geojson");
    let out_arg = out.to_string_lossy().to_string();
    let (ok, stdout, err) = doorstep_tests::doorstep(&[
        "export",
        "--db",
        &server.db.url,
        "--area",
        "18073",
        "--format",
        "geojson",
        "--what",
        "visits",
        "--date",
        "2020-08-05",
        "--lang",
        "en",
        "--out",
        &out_arg,
    ]);
    assert!(ok, "{err}");
    assert!(stdout.contains("\"rows\":2"), "a2 refused and b2: {stdout}");
    let geo: geojson::GeoJson = std::fs::read_to_string(&out).unwrap().parse().unwrap();
    let geojson::GeoJson::FeatureCollection(fc) = geo else { panic!("not a FeatureCollection") };
    let labels: Vec<&str> =
        fc.features.iter().map(|f| f.properties.as_ref().unwrap()["outcome_label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["No smartphone", "Refused"]);
}

/// `n` households with a location in the res-9 cell around `p`, in `area`.
fn located(phone: &TestDevice, area: &str, p: (f64, f64), n: u32) {
    let center = LatLng::from(cell(p.0, p.1, Resolution::Nine));
    let mut s = phone.store.lock().unwrap();
    for i in 0..n {
        let place = (center.lat() + f64::from(i) * 0.00001, center.lng() + f64::from(i) * 0.00001);
        s.record_visit(
            &draft(None, area, Some(place), "Thôn 1", "installed_now", (1, 0, 1)),
            at("2020-08-03T10:00:00+07:00"),
        )
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_aggregates_hide_small_groups_and_are_off_unless_asked() {
    let mut server = TestServer::prepare_stopped();
    // Off: the public paths answer as if they did not exist.
    server.start_again();
    for path in ["/api/v1/public/areas?parent=436", "/api/v1/public/hexagons?area=436&res=9"] {
        let (status, body) = server.get_as(path, None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{path}");
    }
    let phone = TestDevice::new(73);
    server.enrol(&phone).await;
    // 18073: cells of 5, 4 and 1 households; 18077: cells of 5 and 4; 18079: 3 households.
    let (p, q, r) = ((18.3420, 105.9050), (18.3470, 105.9150), (18.3380, 105.8990));
    let (s, t, u) = ((18.3300, 105.9000), (18.3250, 105.8900), (18.3550, 105.8800));
    located(&phone, "18073", p, 5);
    located(&phone, "18073", q, 4);
    located(&phone, "18073", r, 1);
    located(&phone, "18077", s, 5);
    located(&phone, "18077", t, 4);
    located(&phone, "18079", u, 3);
    assert!(phone.client(&server.url, 100).drain(&phone.store, None).await.complete);
    let id = |p: (f64, f64)| cell(p.0, p.1, Resolution::Nine).to_string();
    let all = [p, q, r, s, t, u].map(id);
    assert!((1..all.len()).all(|i| !all[..i].contains(&all[i])), "six different cells");
    server.kill();
    server.start_with(server.port, &["--public-aggregates", "--public-k", "5"]);

    let hexagons = |area: &'static str| {
        let server = &server;
        async move {
            let (status, body) = server.get_as(&format!("/api/v1/public/hexagons?area={area}&res=9"), None).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    // 18073: the cell of 5 shown; those of 4 and 1 hidden, merged (5 households: at least k).
    let h = hexagons("18073").await;
    assert_eq!(h["k"], 5);
    let shown: Vec<(&str, i64)> = h["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["properties"]["cell"].as_str().unwrap(), f["properties"]["households_known"].as_i64().unwrap()))
        .collect();
    assert_eq!(shown, [(id(p).as_str(), 5)]);
    assert_eq!(
        h["hidden"],
        json!({"cells": 2, "households_known": 5, "households_visited": 5,
        "smartphones_seen": 5, "with_app": 5, "coverage_rate": 1.0, "install_rate": 1.0})
    );
    // Nothing that names a household or a person.
    let text = h.to_string();
    for word in ["id\"", "address", "volunteer", "lat\"", "by_outcome"] {
        assert!(!text.contains(word), "{word} in {text}");
    }
    // 18077: the cell of 4 alone could be read off the commune's total minus the cell of 5, so
    // that one is hidden too.
    let h = hexagons("18077").await;
    assert_eq!(h["features"], json!([]));
    assert_eq!((h["hidden"]["cells"].as_i64(), h["hidden"]["households_known"].as_i64()), (Some(2), Some(9)));
    // The district: the two cells of 5 shown; 4 + 1 + 4 + 3 hidden.
    let h = hexagons("436").await;
    let mut shown: Vec<&str> =
        h["features"].as_array().unwrap().iter().map(|f| f["properties"]["cell"].as_str().unwrap()).collect();
    shown.sort();
    let mut want = [id(p), id(s)];
    want.sort();
    assert_eq!(shown, want);
    assert_eq!(h["hidden"]["households_known"], 12);

    // Areas: 18073 (10) shown; 18079 (3) hidden, which would leave 3 to read off the district's
    // total, so 18077 (9, the smallest shown) is hidden with it; the empty communes too.
    let (status, a) = server.get_as("/api/v1/public/areas?parent=436", None).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["area"]["households_known"], 22);
    let codes: Vec<&str> = a["areas"].as_array().unwrap().iter().map(|x| x["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["18073"]);
    assert_eq!(a["areas"][0]["households_visited"], 10);
    assert_eq!(a["hidden"]["areas"], 26);
    assert_eq!(a["hidden"]["households_known"], 12);
    let (_, small) = server.get_as("/api/v1/public/areas?parent=18079", None).await;
    assert_eq!(small["area"], json!({"code": "18079", "name": small["area"]["name"], "hidden": true}));
    let (status, _) = server.get_as("/api/v1/public/areas?parent=99999", None).await;
    assert_eq!(status, 404);
    let (status, body) = server.get_as("/api/v1/public/hexagons?area=436&res=12", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_resolution")));
}
