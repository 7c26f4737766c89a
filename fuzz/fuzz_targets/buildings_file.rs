//! A buildings file as `doorstep admin import-buildings FILE` reads it: a GeoJSON
//! FeatureCollection or feature sequence of footprints and points (`parse_buildings`), then each
//! building placed among two fixed areas as the import places it.
#![no_main]

use std::sync::OnceLock;

use doorstep_server::buildings::{AreaIndex, parse_buildings};
use libfuzzer_sys::fuzz_target;

fn index() -> &'static AreaIndex {
    static INDEX: OnceLock<AreaIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let square = |w: f64, s: f64, side: f64| {
            format!(
                r#"{{"type":"Polygon","coordinates":[[[{w},{s}],[{e},{s}],[{e},{n}],[{w},{n}],[{w},{s}]]]}}"#,
                e = w + side,
                n = s + side
            )
        };
        AreaIndex::new(vec![
            ("42".into(), "/42/".into(), square(105.0, 17.9, 1.5)),
            ("18073".into(), "/42/436/18073/".into(), square(105.9, 18.3, 0.1)),
        ])
        .0
    })
}

fuzz_target!(|data: &[u8]| {
    // The command reads the file as UTF-8 text and stops there if it is not.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = parse_buildings(text);
    match &first {
        Ok(buildings) => {
            assert!(!buildings.is_empty(), "an accepted file holds a building");
            let mut last_feature = 0;
            for b in buildings {
                assert!(b.feature > last_feature, "features in file order");
                last_feature = b.feature;
                assert!(b.line >= 1);
                assert!(b.lat.is_finite() && b.lon.is_finite(), "a building's point is a number");
                assert!((-90.0..=90.0).contains(&b.lat) && (-180.0..=180.0).contains(&b.lon));
                if let Some((code, path)) = index().place(b.lat, b.lon) {
                    assert!(path.ends_with(&format!("/{code}/")));
                }
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "a refusal names a problem");
            assert!(errors.len() <= doorstep_server::buildings::MAX_LISTED + 1);
            assert!(errors.iter().all(|e| e.line >= 1 && !e.vi.is_empty() && !e.en.is_empty()));
        }
    }
    // The same file reads the same way (the ids of a second import depend on it).
    let again = parse_buildings(text);
    match (&first, &again) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.len(), b.len());
            assert!(a.iter().zip(b).all(|(x, y)| x.id() == y.id()));
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("the same file read two ways"),
    }
});
