//! What the dashboard's map and walk lists read: child areas as GeoJSON with their figures and
//! outlines (the imported boundary, or a hull around the area's known households), households
//! as points, and the households due for a revisit.

use std::collections::HashMap;
use std::sync::Arc;

use geo::{ConvexHull, MultiPoint, Point};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::store::subtree_range;

/// How long outlines are answered while they are drawn again (from the time they were drawn).
pub const OUTLINES_STALE: std::time::Duration = std::time::Duration::from_secs(3600);

/// The outlines of the children of the area at `path`, drawn from the H3 cells their households
/// fall in (the cells' corners, so every household is inside), read once for the whole parent: a
/// few thousand cells rather than every household of a province; kept in `cache`.
pub async fn hulls(
    store: &Arc<dyn crate::store::Store>, cache: &OutlineCache, path: &str,
    children: &[doorstep_domain::protocol::AreaDto],
) -> Result<Arc<HashMap<String, Value>>, crate::store::StoreError> {
    let (store, path, children) = (store.clone(), path.to_string(), children.to_vec());
    cache
        .get_or_try_make(&path.clone(), move || async move {
            let (lo, hi) = subtree_range(&path);
            let cells = crate::hexagons::area_cells(&*store, &lo, &hi).await?;
            let mut hulls = HashMap::new();
            for child in &children {
                // A child's path is its parent's with its own code added: '/42/436/' + '18073/'.
                let child_path = format!("{path}{}/", child.code);
                let corners: Vec<(f64, f64)> = cells
                    .iter()
                    .filter(|(p, _)| p.starts_with(&child_path))
                    .filter_map(|(_, cell)| h3o::CellIndex::try_from(u64::try_from(*cell).ok()?).ok())
                    .flat_map(|cell| cell.boundary().iter().map(|ll| (ll.lat(), ll.lng())).collect::<Vec<_>>())
                    .collect();
                if let Some(h) = hull(&corners) {
                    hulls.insert(child.code.clone(), h);
                }
            }
            Ok::<_, crate::store::StoreError>(hulls)
        })
        .await
}

/// The most household points one map answer carries.
pub const MAX_POINTS: i64 = 50_000;
/// How long outlines drawn from households are reused. They are geometry, which moves only as
/// new households are found at an area's edge; the figures beside them are always read fresh.
pub const OUTLINES_FOR: std::time::Duration = std::time::Duration::from_secs(300);
/// Parents whose outlines are kept at most.
pub const OUTLINES_MAX: usize = 2_000;

/// The outlines drawn from households' H3 cells, per parent path: each child's hull.
pub type OutlineCache = crate::cache::TtlCache<HashMap<String, Value>>;

/// The most households a walk list holds: more is not a list anyone walks (a leader opens a
/// smaller area).
pub const MAX_REVISITS: i64 = 5_000;

/// The outline of a set of points: their convex hull as a GeoJSON polygon, or none for fewer
/// than three distinct points.
pub fn hull(points: &[(f64, f64)]) -> Option<Value> {
    let mp = MultiPoint::from(points.iter().map(|&(lat, lon)| Point::new(lon, lat)).collect::<Vec<_>>());
    let polygon = mp.convex_hull();
    let ring: Vec<[f64; 2]> = polygon.exterior().points().map(|p| [p.x(), p.y()]).collect();
    // A hull of fewer than three distinct points is a line or a point, not an area.
    (ring.len() >= 4).then(|| json!({"type": "Polygon", "coordinates": [ring]}))
}

/// A household due again, for the walk list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Revisit {
    pub id: String,
    pub area_code: String,
    pub area_name: String,
    pub address: Option<String>,
    pub latest_outcome: Option<String>,
    pub visits: i64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Due since (ms since 1970 UTC): the latest visit's time plus the outcome's
    /// `revisit_after_hours`.
    pub due_at_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hull_needs_three_points() {
        assert!(hull(&[]).is_none());
        assert!(hull(&[(18.34, 105.90), (18.35, 105.91)]).is_none());
        assert!(hull(&[(18.34, 105.90), (18.34, 105.90), (18.34, 105.90)]).is_none());
        let h = hull(&[(18.34, 105.90), (18.35, 105.90), (18.35, 105.91), (18.348, 105.902)]).unwrap();
        let ring = h["coordinates"][0].as_array().unwrap();
        assert_eq!(ring.len(), 4, "three corners and the closing point; the inner point is not one");
        assert_eq!(ring.first(), ring.last());
        // GeoJSON order: longitude first.
        assert!(ring.iter().all(|p| p[0].as_f64().unwrap() > 100.0));
    }
}
