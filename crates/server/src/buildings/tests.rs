use super::*;

fn square(x: f64, y: f64, side: f64) -> String {
    format!(
        r#"{{"type":"Polygon","coordinates":[[[{x},{y}],[{x2},{y}],[{x2},{y2}],[{x},{y2}],[{x},{y}]]]}}"#,
        x2 = x + side,
        y2 = y + side
    )
}

#[test]
fn a_collection_gives_one_point_per_feature_with_its_line_and_key() {
    let text = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature", "id": "way/1", "properties": {"building": "yes", "addr:housenumber": "12", "addr:street": "Phan Đình Phùng"},
   "geometry": {"type": "Polygon", "coordinates": [[[105.0, 18.0], [105.0002, 18.0], [105.0002, 18.0002], [105.0, 18.0002], [105.0, 18.0]]]}},

  {"type": "Feature", "properties": {"@id": "node/7"}, "geometry": {"type": "Point", "coordinates": [105.9, 18.3]}},
  {"type": "Feature", "properties": null, "geometry": {"type": "MultiPolygon", "coordinates": [[[[106.0, 18.0], [106.0002, 18.0], [106.0002, 18.0002], [106.0, 18.0]]]]}}
]}"#;
    let b = parse_buildings(text).unwrap();
    assert_eq!(b.len(), 3);
    assert_eq!((b[0].feature, b[0].line, b[0].key.as_str()), (1, 2, "id:way/1"));
    assert!((b[0].lon - 105.0001).abs() < 1e-9 && (b[0].lat - 18.0001).abs() < 1e-9);
    assert_eq!(b[0].address.as_deref(), Some("Số 12 Phan Đình Phùng"));
    assert_eq!((b[1].line, b[1].key.as_str(), b[1].lat, b[1].lon), (5, "id:node/7", 18.3, 105.9));
    assert_eq!(b[1].address, None);
    assert_eq!(b[2].line, 6);
    assert!(b[2].key.starts_with("at:106.0001333,18.0000667"), "{}", b[2].key);
}

#[test]
fn the_same_building_gets_the_same_id_in_every_import_and_another_a_different_one() {
    let one = r#"{"type":"Feature","id":17,"geometry":{"type":"Point","coordinates":[105.9,18.3]}}"#;
    let a = parse_buildings(one).unwrap();
    let b = parse_buildings(one).unwrap();
    assert_eq!(a[0].id(), b[0].id());
    assert_eq!(a[0].key, "id:17");
    let other = parse_buildings(r#"{"type":"Feature","id":18,"geometry":{"type":"Point","coordinates":[105.9,18.3]}}"#)
        .unwrap();
    assert_ne!(a[0].id(), other[0].id());
    assert_eq!(a[0].id().uuid().get_version_num(), 5);
}

#[test]
fn a_feature_sequence_is_read_line_by_line_with_record_separators() {
    let text = "\u{1e}{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[105.1,18.1]}}\n\n\u{1e}{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[105.2,18.2]}}\n";
    let b = parse_buildings(text).unwrap();
    assert_eq!(b.len(), 2);
    assert_eq!((b[0].feature, b[0].line), (1, 1));
    assert_eq!((b[1].feature, b[1].line), (2, 3));
}

#[test]
fn every_bad_feature_is_named_by_feature_and_line_and_nothing_is_returned() {
    let text = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature", "geometry": {"type": "Point", "coordinates": [105.9, 18.3]}},
  {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[105.9, 18.3], [105.8, 18.3]]}},
  {"type": "Feature", "geometry": null},
  {"type": "Feature", "geometry": {"type": "Point", "coordinates": [18.3, 105.9]}},
  {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[105.0, 18.0], [105.1, 18.0], [105.0, 18.1]]]}},
  {"type": "Feature", "geometry": {"type": "Point", "coordinates": "here"}},
  {"type": "Feat", "geometry": {"type": "Point", "coordinates": [105.9, 18.3]}}
]}"#;
    let errors = parse_buildings(text).unwrap_err();
    let got: Vec<(Option<usize>, usize)> = errors.iter().map(|e| (e.feature, e.line)).collect();
    assert_eq!(got, vec![(Some(2), 3), (Some(3), 4), (Some(4), 5), (Some(5), 6), (Some(6), 7), (Some(7), 8)]);
    assert!(errors[0].en.contains("not a LineString"), "{}", errors[0].en);
    assert!(errors[0].vi.contains("không phải LineString"), "{}", errors[0].vi);
    assert!(errors[2].en.contains("longitude first"), "{}", errors[2].en);
    assert!(errors[3].en.contains("at least 4 positions"), "{}", errors[3].en);
    assert_eq!(errors[0].to_string(), format!("line 3 (feature 2): {}", errors[0].en));
}

#[test]
fn malformed_json_is_located_and_many_problems_are_counted_not_all_listed() {
    let e = parse_buildings("{\"type\": \"FeatureCollection\",\n \"features\": [ {\"type\": }]}").unwrap_err();
    assert_eq!((e.len(), e[0].feature, e[0].line), (1, None, 2));
    let bad = r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[500,0]}}"#;
    let many = std::iter::repeat_n(bad, 30).collect::<Vec<_>>().join("\n");
    let e = parse_buildings(&many).unwrap_err();
    assert_eq!(e.len(), MAX_LISTED + 1);
    assert!(e[MAX_LISTED].en.contains("10 more problems (30 in all)"), "{}", e[MAX_LISTED].en);
    let e = parse_buildings(r#"{"type":"FeatureCollection","features":[]}"#).unwrap_err();
    assert!(e[0].en.contains("no buildings"));
    let e = parse_buildings(r#"{"type":"Polygon","coordinates":[]}"#).unwrap_err();
    assert!(e[0].en.contains("expected a FeatureCollection"), "{}", e[0].en);
}

#[test]
fn a_building_is_placed_in_the_deepest_area_holding_it_or_in_none() {
    // A province 0..10 x 0..10 (degrees, for the arithmetic's sake), a district covering its
    // left half, two communes in the district; the right half has no district boundary.
    let rows = vec![
        ("1".to_string(), "/1/".to_string(), square(0.0, 0.0, 10.0)),
        ("11".to_string(), "/1/11/".to_string(), square(0.0, 0.0, 5.0)),
        ("111".to_string(), "/1/11/111/".to_string(), square(0.0, 0.0, 2.0)),
        ("112".to_string(), "/1/11/112/".to_string(), square(2.0, 0.0, 2.0)),
        ("9".to_string(), "/9/".to_string(), "{\"type\":\"LineString\"}".to_string()),
    ];
    let (index, unreadable) = AreaIndex::new(rows);
    assert_eq!(unreadable, vec!["9".to_string()]);
    assert_eq!(index.place(1.0, 1.0), Some(("111", "/1/11/111/")));
    assert_eq!(index.place(1.0, 3.0).map(|p| p.0), Some("112"));
    // On the edge the two communes share: the smaller code, every time.
    assert_eq!(index.place(1.0, 2.0).map(|p| p.0), Some("111"));
    assert_eq!(index.place(4.0, 4.0).map(|p| p.0), Some("11"));
    assert_eq!(index.place(8.0, 8.0).map(|p| p.0), Some("1"));
    assert_eq!(index.place(11.0, 8.0), None);
    assert_eq!(index.place(-0.5, 1.0), None);
}

#[test]
fn a_found_household_within_reach_stands_for_a_building_and_one_beyond_does_not() {
    let found = Found::new(vec![(18.3400, 105.9000)]);
    // About 5.6 m north, then about 22 m north.
    assert!(found.near(18.34005, 105.9000, 10.0));
    assert!(!found.near(18.3402, 105.9000, 10.0));
    // Across a grid line: 4 m east of a point just west of one.
    let edge = Found::new(vec![(18.3400, 105.89999)]);
    assert!(edge.near(18.3400, 105.90003, 10.0));
    assert!(!Found::new(Vec::new()).near(18.34, 105.9, 10.0));
}

#[test]
fn a_footprint_crossing_itself_still_gives_a_point_inside_its_box() {
    // Found by fuzzing: the centroid of this ring lies past the pole.
    let text = r#"{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[105.901,18.341],[105.9011,19.341],[105.9011,18.3411],[104.901,18.3411],[105.901,18.341]]]}}"#;
    let b = parse_buildings(text).unwrap();
    assert!((104.901..=105.9011).contains(&b[0].lon), "{b:?}");
    assert!((18.341..=19.341).contains(&b[0].lat), "{b:?}");
}
