//! Enumerated buildings (`doorstep admin import-buildings`): a GeoJSON of footprints and points
//! becomes expected households, each in the deepest area whose boundary holds it; a malformed
//! file imports nothing and names each problem by line; buildings outside every boundary, and
//! those a household found at the door already stands for, are reported and left out; the same
//! file imported again adds nothing. On a phone, the buildings arrive with the pull as households
//! not yet visited, and a household added at the door beside one of them is that building.
//! On SQLite and on PostgreSQL.

use chrono::{FixedOffset, Utc};
use doorstep_device::VisitDraft;
use doorstep_domain::visit::LocationInput;
use doorstep_tests::{TestDevice, TestServer, create_account, doorstep};
use serde_json::Value;

const PASSWORD: &str = "mật khẩu kiểm tra tòa nhà";

/// Two villages of Phường Nam Hà (18073), side by side: 18073-01 spans longitude 105.90 to
/// 105.91, 18073-02 105.91 to 105.92, both latitude 18.34 to 18.35.
const VILLAGES: &str = r#"{"type": "FeatureCollection", "features": [
{"type": "Feature", "properties": {"code": "18073-01", "name": "Tổ dân phố 1", "parent_code": "18073", "division_type": "Tổ dân phố"},
 "geometry": {"type": "Polygon", "coordinates": [[[105.90, 18.34], [105.91, 18.34], [105.91, 18.35], [105.90, 18.35], [105.90, 18.34]]]}},
{"type": "Feature", "properties": {"code": "18073-02", "name": "Tổ dân phố 2", "parent_code": "18073", "division_type": "Tổ dân phố"},
 "geometry": {"type": "Polygon", "coordinates": [[[105.91, 18.34], [105.92, 18.34], [105.92, 18.35], [105.91, 18.35], [105.91, 18.34]]]}}]}"#;

/// Where a volunteer found a household before the buildings were imported.
const FOUND_AT: (f64, f64) = (18.3470, 105.9050);

/// Six buildings, one per line: a footprint with an address and a point in village 1, a point
/// 4 m from the household already found, two points in village 2, one outside both.
fn buildings_file() -> String {
    let point = |id: &str, (lat, lon): (f64, f64)| {
        format!(
            r#"{{"type": "Feature", "id": "{id}", "properties": {{"building": "yes"}}, "geometry": {{"type": "Point", "coordinates": [{lon}, {lat}]}}}}"#
        )
    };
    let lines = [
        r#"{"type": "Feature", "id": "way/1", "properties": {"building": "house", "addr:housenumber": "12", "addr:street": "Phan Đình Phùng"}, "geometry": {"type": "Polygon", "coordinates": [[[105.9010, 18.3410], [105.9011, 18.3410], [105.9011, 18.3411], [105.9010, 18.3411], [105.9010, 18.3410]]]}}"#.to_string(),
        point("node/2", (18.3450, 105.9050)),
        point("node/3", (FOUND_AT.0 + 4.0 / 111_195.0, FOUND_AT.1)),
        point("node/4", (18.3450, 105.9150)),
        point("node/5", (18.3460, 105.9160)),
        point("node/6", (18.3600, 105.9050)),
    ];
    format!("{{\"type\": \"FeatureCollection\", \"features\": [\n{}\n]}}\n", lines.join(",\n"))
}

fn import(db: &str, file: &std::path::Path) -> (bool, String, String) {
    doorstep(&["admin", "--db", db, "import-buildings", &file.to_string_lossy()])
}

fn visit_at(area: &str, household: Option<uuid::Uuid>, (lat, lon): (f64, f64)) -> VisitDraft {
    VisitDraft {
        household_id: household,
        address: None,
        area_code: area.into(),
        outcome: "installed_now".into(),
        reason: None,
        people: 3,
        smartphones: 1,
        already_installed: 0,
        installed_now: 1,
        leaflet_given: true,
        location: LocationInput { source: "gps".into(), lat: Some(lat), lon: Some(lon), accuracy_m: Some(6.0) },
        notes: None,
    }
}

fn now() -> chrono::DateTime<FixedOffset> {
    Utc::now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buildings_become_expected_households_matched_at_the_door() {
    let mut server = TestServer::prepare_stopped();
    let db = server.db.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let households = |server: &TestServer| server.db.i64("SELECT count(*) FROM households");

    // Without any boundary there is nowhere to put a building: said so, nothing imported.
    let file = dir.path().join("toa-nha.geojson");
    std::fs::write(&file, buildings_file()).unwrap();
    let (ok, _, err) = import(&db, &file);
    assert!(!ok && err.contains("import the areas' boundaries first"), "{err}");

    let villages = dir.path().join("villages.geojson");
    std::fs::write(&villages, VILLAGES).unwrap();
    doorstep_tests::import_areas(&db, &villages);
    create_account(&db, "v.nha", "volunteer", "18073", PASSWORD);

    // A malformed file: every problem by line and feature, nothing imported.
    let bad = dir.path().join("loi.geojson");
    std::fs::write(
        &bad,
        "{\"type\": \"FeatureCollection\", \"features\": [\n\
         {\"type\": \"Feature\", \"geometry\": {\"type\": \"Point\", \"coordinates\": [105.905, 18.345]}},\n\
         {\"type\": \"Feature\", \"geometry\": {\"type\": \"LineString\", \"coordinates\": [[105.9, 18.3], [105.8, 18.3]]}},\n\
         {\"type\": \"Feature\", \"geometry\": {\"type\": \"Point\", \"coordinates\": [18.345, 105.905]}}\n]}",
    )
    .unwrap();
    let (ok, _, err) = import(&db, &bad);
    assert!(!ok, "{err}");
    assert!(err.contains("2 problem(s)") && err.contains("nothing was imported"), "{err}");
    assert!(
        err.contains("line 3 (feature 2): a building must be a Point, Polygon or MultiPolygon, not a LineString"),
        "{err}"
    );
    assert!(err.contains("line 4 (feature 3)") && err.contains("longitude first"), "{err}");
    assert_eq!(households(&server), 0);

    // A volunteer finds a household in village 1 before the buildings arrive.
    server.start_again();
    let phone = TestDevice::new(91);
    server.enrol_for(&phone, "v.nha").await;
    let found = phone.store.lock().unwrap().record_visit(&visit_at("18073-01", None, FOUND_AT), now()).unwrap();
    let client = phone.client(&server.url, 50);
    assert!(client.drain(&phone.store, None).await.complete);
    assert_eq!(households(&server), 1);
    // One process serves a SQLite file: the import runs with the server stopped.
    server.kill();

    // The import: four new households, the one beside the found household left out, the one
    // outside both villages reported with its line.
    let (ok, out, err) = import(&db, &file);
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["read"], 6, "{report}");
    assert_eq!(report["added"], 4, "{report}");
    assert_eq!(report["already_found"], 1, "{report}");
    assert_eq!(report["outside"], 1, "{report}");
    assert_eq!(report["outside_examples"][0]["line"], 7, "{report}");
    assert_eq!(report["outside_examples"][0]["feature"], 6, "{report}");
    assert_eq!(report["by_area"]["18073-01"], 2, "{report}");
    assert_eq!(report["by_area"]["18073-02"], 2, "{report}");
    assert!(err.contains("line 7 (feature 6)"), "{err}");
    assert_eq!(households(&server), 5);
    let footprint =
        server.db.rows("SELECT area_code, address, visits FROM households WHERE address IS NOT NULL AND visits = 0");
    assert_eq!(footprint, vec![vec![Some("18073-01".into()), Some("Số 12 Phan Đình Phùng".into()), Some("0".into())]]);

    // The same file again adds nothing.
    let (ok, out, _) = import(&db, &file);
    assert!(ok);
    let again: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((again["added"].as_i64(), again["already_held"].as_i64()), (Some(0), Some(4)), "{again}");
    assert_eq!(households(&server), 5);
    server.start_again();

    // Coverage counts them as known, not visited.
    let village = server.coverage("18073-01").await;
    assert_eq!(
        (village["households_known"].as_i64(), village["households_visited"].as_i64()),
        (Some(3), Some(1)),
        "{village}"
    );
    let commune = server.coverage("18073").await;
    assert_eq!(commune["households_known"], 5, "{commune}");

    // The phone pulls them as households not yet visited...
    client.pull(&phone.store, "18073").await.unwrap();
    let held = phone.store.lock().unwrap().households(None).unwrap();
    let waiting: Vec<_> = held.iter().filter(|h| h.visits == 0 && h.latest_outcome.is_none()).collect();
    assert_eq!(waiting.len(), 4, "{held:?}");
    // ...and a household added as new 5 m from building node/2 is that building.
    let node2 = waiting.iter().find(|h| h.lat == Some(18.3450) && h.lon == Some(105.9050)).unwrap().id.clone();
    let at_door = phone
        .store
        .lock()
        .unwrap()
        .record_visit(&visit_at("18073-01", None, (18.3450 + 5.0 / 111_195.0, 105.9050)), now())
        .unwrap();
    assert_eq!(at_door.household.id.to_string(), node2);
    assert_ne!(at_door.household.id, found.household.id);
    assert!(client.drain(&phone.store, None).await.complete);
    assert_eq!(households(&server), 5, "matched, not added");
    let village = server.coverage("18073-01").await;
    assert_eq!(
        (village["households_known"].as_i64(), village["households_visited"].as_i64()),
        (Some(3), Some(2)),
        "{village}"
    );
}
