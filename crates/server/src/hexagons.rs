//! H3 hexagons for the map at province zoom. Each household keeps its cell at [`FINE_RES`]
//! (`households.h3_cell`, set on ingest from its location, in the same transaction); a request
//! groups the area's households by that cell in SQL and folds the groups into their parents at
//! the asked resolution here, so no request reads every household or runs H3 over them. (H3
//! cells do not nest exactly: a household near a coarse cell's edge counts in its fine cell's
//! parent, which may differ from the coarse cell its point falls in. Every household still
//! counts once at every resolution.)

use std::collections::BTreeMap;

use h3o::{CellIndex, Resolution};
use serde_json::{Value, json};

use crate::db::{Db, params};
use crate::filter::{GroupBy, GroupKey, Tally, tallies};
use crate::store::StoreError;

pub use crate::db::ingest::{FINE_RES, fine_cell};

/// The coarsest resolution a map may ask for (about 250 km² a cell: a district).
pub const MIN_RES: u8 = 5;
/// The finest resolution a map may ask for.
pub const MAX_RES: u8 = 9;

/// A stored cell's ancestor at `res` (itself at its own resolution).
pub fn parent_of(stored: i64, res: Resolution) -> Option<CellIndex> {
    let cell = CellIndex::try_from(u64::try_from(stored).ok()?).ok()?;
    cell.parent(res)
}

/// A cell's outline as a GeoJSON polygon: longitude first, the ring closed.
pub fn cell_polygon(cell: CellIndex) -> Value {
    let mut ring: Vec<[f64; 2]> = cell.boundary().iter().map(|ll| [ll.lng(), ll.lat()]).collect();
    if let Some(first) = ring.first().copied() {
        ring.push(first);
    }
    json!({"type": "Polygon", "coordinates": [ring]})
}

/// Folds tallies by stored cell into their ancestors at `res`.
pub fn fold_cells(by_cell: &BTreeMap<GroupKey, Tally>, res: Resolution) -> BTreeMap<CellIndex, Tally> {
    let mut out: BTreeMap<CellIndex, Tally> = BTreeMap::new();
    for (key, t) in by_cell {
        let GroupKey::Cell(stored) = key else { continue };
        // A value that is not a cell (a damaged row) is left out rather than guessed.
        let Some(parent) = parent_of(*stored, res) else {
            continue;
        };
        out.entry(parent).or_default().merge(t);
    }
    out
}

/// A cell as a GeoJSON feature with its figures.
pub fn cell_feature(cell: CellIndex, t: &Tally) -> Value {
    json!({
        "type": "Feature",
        "geometry": cell_polygon(cell),
        "properties": {
            "cell": cell.to_string(),
            "res": u8::from(cell.resolution()),
            "households_known": t.households_known,
            "households_visited": t.households_visited,
            "by_outcome": t.by_outcome,
            "smartphones_seen": t.smartphones_seen,
            "already_installed": t.already_installed,
            "installed_now": t.installed_now,
            "with_app": t.with_app(),
            "coverage_rate": t.coverage_rate(),
            "install_rate": t.install_rate(),
        },
    })
}

/// How long an area's fine-cell figures are reused by the hexagon answers: a dashboard's loads
/// and zooms within it read the households once. The cards and the progress are read fresh.
pub const TALLIES_FOR: std::time::Duration = std::time::Duration::from_secs(30);
/// Areas and filters whose figures are kept at most.
pub const TALLIES_MAX: usize = 256;

/// How long fine-cell figures are answered while they are read again (from the time they were read).
pub const TALLIES_STALE: std::time::Duration = std::time::Duration::from_secs(600);

/// The fine cells' figures of the area at `path` under `filter`, kept in `cache`.
pub async fn fine_tallies(
    store: &std::sync::Arc<dyn crate::store::Store>, cache: &TallyCache, path: &str,
    filter: &crate::filter::VisitFilter,
) -> Result<std::sync::Arc<BTreeMap<GroupKey, Tally>>, crate::store::StoreError> {
    let key = format!("{path}|{filter:?}");
    let (store, area_path, cell_filter) = (store.clone(), path.to_string(), filter.clone());
    cache
        .get_or_try_make(
            &key,
            move || async move { tallies(store.as_ref(), &area_path, GroupBy::Cell, &cell_filter).await },
        )
        .await
}

/// Fine-cell figures per area path and filter.
pub type TallyCache = crate::cache::TtlCache<BTreeMap<GroupKey, Tally>>;

/// Households per fine H3 cell in the subtree `[lo, hi)` ([`crate::hexagons::AREA_CELLS_SQL`]).
pub async fn area_cells(db: &dyn Db, lo: &str, hi: &str) -> Result<Vec<(String, i64)>, StoreError> {
    db.query(crate::hexagons::AREA_CELLS_SQL, params![lo, hi])
        .await?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect()
}

/// The SQL of [`crate::hexagons::area_cells`] (`$n` placeholders, rewritten for SQLite).
pub const AREA_CELLS_SQL: &str = "SELECT DISTINCT a.path, h.h3_cell
    FROM households h JOIN areas a ON a.code = h.area_code
    WHERE a.path >= $1 AND a.path < $2 AND h.h3_cell IS NOT NULL";

#[cfg(test)]
mod tests {
    use super::*;
    use h3o::LatLng;

    #[test]
    fn a_household_cell_folds_into_its_parents() {
        // Hà Tĩnh city.
        let stored = fine_cell(18.3420, 105.9050).unwrap();
        let cell = CellIndex::try_from(stored as u64).unwrap();
        assert_eq!(cell.resolution(), FINE_RES);
        let p7 = parent_of(stored, Resolution::Seven).unwrap();
        assert_eq!(p7.resolution(), Resolution::Seven);
        assert_eq!(LatLng::new(18.3420, 105.9050).unwrap().to_cell(Resolution::Seven), p7);
        assert_eq!(parent_of(stored, FINE_RES), Some(cell));
        assert!(fine_cell(f64::NAN, 105.9).is_none());
        assert!(parent_of(-1, Resolution::Seven).is_none());
    }

    #[test]
    fn the_outline_is_a_closed_ring_around_the_point() {
        let cell = LatLng::new(18.3420, 105.9050).unwrap().to_cell(Resolution::Eight);
        let poly = cell_polygon(cell);
        let ring = poly["coordinates"][0].as_array().unwrap();
        assert_eq!(ring.len(), 7, "six corners and the closing point");
        assert_eq!(ring.first(), ring.last());
        let lons: Vec<f64> = ring.iter().map(|p| p[0].as_f64().unwrap()).collect();
        let lats: Vec<f64> = ring.iter().map(|p| p[1].as_f64().unwrap()).collect();
        let within = |v: f64, xs: &[f64]| {
            xs.iter().cloned().fold(f64::MAX, f64::min) < v && v < xs.iter().cloned().fold(f64::MIN, f64::max)
        };
        assert!(within(105.9050, &lons) && within(18.3420, &lats));
    }
}
