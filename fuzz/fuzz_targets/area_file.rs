//! An area file as `doorstep admin import-areas FILE` reads it: a GSO tree or a GeoJSON
//! FeatureCollection (`parse_area_file` tells them apart), then the import's plan as every
//! database makes it (`plan_import`: parents first, cycles and orphans refused), and each imported
//! boundary as the `outside_area` flag reads it.
#![no_main]

use std::collections::{HashMap, HashSet};

use doorstep_domain::area::parse_area_file;
use doorstep_server::quality::Boundary;
use doorstep_server::store::{HeldArea, plan_import};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The command reads the file as UTF-8 text and stops there if it is not.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(areas) = parse_area_file(text) else {
        return;
    };
    let codes: HashSet<&str> = areas.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(codes.len(), areas.len(), "each code once");
    for a in &areas {
        assert!(!a.name.as_str().trim().is_empty(), "area {}: a name", a.code);
        if let Some(b) = &a.boundary {
            // A boundary the importer took is one the flag can read, and a point test on it
            // (as each located visit makes) ends.
            let shape = Boundary::parse(b).unwrap_or_else(|| panic!("area {}: unreadable boundary {b}", a.code));
            let _ = shape.locate(18.34, 105.9);
        }
    }

    let Ok((rows, summary)) = plan_import(&HashMap::new(), areas.clone()) else {
        // Parents outside the file, or a cycle: refused whole. A GSO tree has neither.
        assert!(text.contains("\"FeatureCollection\""), "a GSO tree's plan is refused");
        return;
    };
    assert_eq!(rows.len(), areas.len(), "every area planned");
    assert_eq!(summary.inserted as usize, areas.len(), "all new to an empty database");
    let mut written = HashSet::new();
    for r in &rows {
        if let Some(p) = &r.parent {
            assert!(written.contains(p.as_str()), "area {}: its parent {p} comes first", r.code);
        }
        written.insert(r.code.as_str());
    }

    // Importing the same file again changes nothing.
    let held: HashMap<String, HeldArea> = rows
        .iter()
        .map(|r| (r.code.clone(), (r.parent.clone(), r.name.clone(), r.division_type.clone(), r.boundary.clone())))
        .collect();
    let (again, summary) = plan_import(&held, areas).expect("the same file plans again");
    assert!(again.is_empty(), "nothing to write the second time");
    assert_eq!(summary.unchanged as usize, rows.len(), "all unchanged the second time");
});
