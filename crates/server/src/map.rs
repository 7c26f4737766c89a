//! What the dashboard's map and walk lists read: child areas as GeoJSON with their figures and
//! outlines (the imported boundary, or a hull around the area's known households), households
//! as points, and the households due for a revisit.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use doorstep_domain::protocol::ErrorResponse;
use doorstep_domain::values::AreaCode;
use geo::{ConvexHull, MultiPoint, Point};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{ApiError, AppState, lang_of, query_error, scoped_area};
use crate::auth::Caller;
use crate::store::subtree_range;

/// How long outlines are answered while they are drawn again (from the time they were drawn).
pub const OUTLINES_STALE: std::time::Duration = std::time::Duration::from_secs(3600);

/// The outlines of the children of the area at `path`, drawn from the H3 cells their households
/// fall in (the cells' corners, so every household is inside), read once for the whole parent: a
/// few thousand cells rather than every household of a province; kept in `st.outlines`.
pub async fn hulls(
    st: &AppState,
    path: &str,
    children: &[doorstep_domain::protocol::AreaDto],
) -> Result<Arc<HashMap<String, Value>>, crate::store::StoreError> {
    let (store, path, children) = (st.store.clone(), path.to_string(), children.to_vec());
    st.outlines
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
                    .flat_map(|cell| {
                        cell.boundary()
                            .iter()
                            .map(|ll| (ll.lat(), ll.lng()))
                            .collect::<Vec<_>>()
                    })
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ParentQuery {
    /// The area whose children are drawn.
    #[param(value_type = crate::api::params::AreaCode)]
    parent: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AreaQuery {
    /// The area (a GSO code).
    #[param(value_type = crate::api::params::AreaCode)]
    area: String,
}

/// The outline of a set of points: their convex hull as a GeoJSON polygon, or none for fewer
/// than three distinct points.
pub fn hull(points: &[(f64, f64)]) -> Option<Value> {
    let mp = MultiPoint::from(
        points
            .iter()
            .map(|&(lat, lon)| Point::new(lon, lat))
            .collect::<Vec<_>>(),
    );
    let polygon = mp.convex_hull();
    let ring: Vec<[f64; 2]> = polygon.exterior().points().map(|p| [p.x(), p.y()]).collect();
    // A hull of fewer than three distinct points is a line or a point, not an area.
    (ring.len() >= 4).then(|| json!({"type": "Polygon", "coordinates": [ring]}))
}

/// The children of an area as GeoJSON features, with their coverage and their outline.
#[utoipa::path(
    get,
    path = "/api/v1/map/areas",
    params(ParentQuery, crate::filter::FilterQuery),
    responses(
        (status = 200, description = "A GeoJSON FeatureCollection"),
        (status = 403, body = ErrorResponse),
        (status = 404, description = "Unknown area, or team", body = ErrorResponse)
    ),
    security(("bearer" = []))
)]
pub async fn map_areas(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    q: Result<Query<ParentQuery>, QueryRejection>,
    fq: Result<Query<crate::filter::FilterQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let lang = lang_of(&headers);
    let Query(q) = q.map_err(|e| query_error(e, lang))?;
    let (parent, path) = scoped_area(&st, &caller.0, &q.parent, "parent", lang).await?;
    let store = st.store.as_ref();
    let storage = |e| ApiError::storage(e, lang);
    // Under a filter the children's figures come from one grouped read of the subtree.
    let filtered =
        crate::filter::filtered_tallies(&st, &caller.0, fq, &path, crate::filter::GroupBy::Area, lang).await?;
    let children = crate::areas::child_areas(store, Some(&parent)).await.map_err(storage)?;
    let codes: Vec<String> = children.iter().map(|c| c.code.clone()).collect();
    let boundaries: std::collections::HashMap<String, String> = crate::areas::boundaries(store, codes)
        .await
        .map_err(storage)?
        .into_iter()
        .collect();
    // Outlines for the rest from the H3 cells their households fall in (the cells' corners, so
    // every household is inside), read once for the whole parent: a few thousand cells rather
    // than every household of a province; reused for a few minutes.
    let needs_hull = children.iter().any(|c| !boundaries.contains_key(&c.code));
    let hulls = if needs_hull {
        hulls(&st, &path, &children).await.map_err(storage)?
    } else {
        Arc::new(HashMap::new())
    };
    let mut features = Vec::new();
    for child in children {
        let Ok(code) = AreaCode::parse("area", &child.code) else {
            continue;
        };
        let Some(mut c) = crate::coverage::coverage(store, &code).await.map_err(storage)? else {
            continue;
        };
        if let Some(by_path) = &filtered {
            crate::filter::roll_up(by_path, &format!("{path}{}/", child.code)).apply_to(&mut c);
        }
        let geometry = match boundaries.get(&child.code) {
            Some(text) => serde_json::from_str::<Value>(text).ok(),
            None => hulls.get(&child.code).cloned(),
        };
        features.push(json!({
            "type": "Feature",
            "geometry": geometry,
            "properties": {
                "code": child.code,
                "name": child.name,
                "level": child.level,
                "households_known": c.households_known,
                "households_visited": c.households_visited,
                "coverage_rate": c.coverage_rate,
                "install_rate": c.install_rate,
                "smartphones_seen": c.smartphones_seen,
                "with_app": c.already_installed + c.installed_now,
            },
        }));
    }
    Ok(Json(json!({"type": "FeatureCollection", "features": features})))
}

/// The households of an area with a location, as GeoJSON points (at most 50,000; `truncated`
/// says when there were more).
#[utoipa::path(
    get,
    path = "/api/v1/map/households",
    params(AreaQuery, crate::filter::FilterQuery),
    responses(
        (status = 200, description = "A GeoJSON FeatureCollection"),
        (status = 403, body = ErrorResponse),
        (status = 404, description = "Unknown area, or team", body = ErrorResponse)
    ),
    security(("bearer" = []))
)]
pub async fn map_households(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    q: Result<Query<AreaQuery>, QueryRejection>,
    fq: Result<Query<crate::filter::FilterQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let lang = lang_of(&headers);
    let Query(q) = q.map_err(|e| query_error(e, lang))?;
    let (_, path) = scoped_area(&st, &caller.0, &q.area, "area", lang).await?;
    if let Some(points) = crate::filter::filtered_points(&st, &caller.0, fq, &path, MAX_POINTS, lang).await? {
        return Ok(Json(points));
    }
    let (lo, hi) = subtree_range(&path);
    let mut points = crate::visits::households_in(&*st.store, &lo, &hi, MAX_POINTS + 1)
        .await
        .map_err(|e| ApiError::storage(e, lang))?;
    let truncated = points.len() as i64 > MAX_POINTS;
    points.truncate(MAX_POINTS as usize);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let features: Vec<Value> = points
        .iter()
        .filter_map(|p| {
            let (lat, lon) = (p.lat?, p.lon?);
            Some(json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "id": p.id.to_string(),
                    "area_code": p.area_code,
                    "address": p.address,
                    "outcome": p.latest_outcome,
                    "visits": p.visits,
                    "revisit_due": st.campaign.revisit_due(p.latest_outcome.as_deref(), p.latest_visited_at_ms, now_ms),
                },
            }))
        })
        .collect();
    Ok(Json(
        json!({"type": "FeatureCollection", "features": features, "truncated": truncated}),
    ))
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

/// Households of an area due again now, by the server's clock: their latest outcome calls for
/// another visit (not home, refused, partly installed) and that outcome's `revisit_after_hours`
/// have passed since the visit; by area then address: the walk list; at most 5,000 (open a
/// smaller area for the rest).
#[utoipa::path(
    get,
    path = "/api/v1/revisits",
    params(AreaQuery),
    responses(
        (status = 200, body = [Revisit]),
        (status = 403, body = ErrorResponse),
        (status = 404, description = "Unknown area", body = ErrorResponse)
    ),
    security(("bearer" = []))
)]
pub async fn revisits(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    q: Result<Query<AreaQuery>, QueryRejection>,
) -> Result<Json<Vec<Revisit>>, ApiError> {
    let lang = lang_of(&headers);
    let Query(q) = q.map_err(|e| query_error(e, lang))?;
    let (_, path) = scoped_area(&st, &caller.0, &q.area, "area", lang).await?;
    // Only the households due again are read, chosen in SQL.
    let now_ms = chrono::Utc::now().timestamp_millis();
    let query = crate::filter::RowQuery::subtree(&path, crate::filter::VisitFilter::default(), Some(MAX_REVISITS))
        .due_at(&st.campaign, now_ms);
    let mut due: Vec<Revisit> = Vec::new();
    if !query.due_by.is_empty() {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
        let collect = async {
            while let Some(h) = rx.recv().await {
                let h: crate::filter::HouseholdRow = h;
                let due_at_ms = st.campaign.revisit_due_at_ms(h.outcome.as_deref(), h.visited_at_ms);
                due.push(Revisit {
                    id: h.id.to_string(),
                    area_code: h.area_code,
                    area_name: h.area_name,
                    address: h.address,
                    latest_outcome: h.outcome,
                    visits: h.visits,
                    lat: h.lat,
                    lon: h.lon,
                    due_at_ms,
                });
            }
        };
        let (read, ()) = tokio::join!(st.store.stream_households(query, tx), collect);
        read.map_err(|e| ApiError::storage(e, lang))?;
    }
    due.sort_by(|a, b| {
        doorstep_domain::area::vietnamese_sort_key(&a.area_name)
            .cmp(&doorstep_domain::area::vietnamese_sort_key(&b.area_name))
            .then_with(|| a.address.cmp(&b.address))
    });
    Ok(Json(due))
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
        assert_eq!(
            ring.len(),
            4,
            "three corners and the closing point; the inner point is not one"
        );
        assert_eq!(ring.first(), ring.last());
        // GeoJSON order: longitude first.
        assert!(ring.iter().all(|p| p[0].as_f64().unwrap() > 100.0));
    }
}
