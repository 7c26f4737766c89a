//! The HTTP face of `crate::map`: `GET /api/v1/map/areas`, `GET /api/v1/map/households`,
//! `GET /api/v1/revisits`.

use crate::http::auth::Caller;
use crate::http::extract::{ReqLang, Scoped, scoped_query};
use crate::http::{ApiError, AppState, AreaRefusals};
use crate::map::{MAX_POINTS, MAX_REVISITS, Revisit, hulls};
use crate::store::subtree_range;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::QueryRejection;
use doorstep_domain::protocol::ErrorResponse;
use doorstep_domain::values::AreaCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The children of an area as GeoJSON features, with their coverage and their outline.
#[utoipa::path(get, path = "/api/v1/map/areas", params(ParentQuery, crate::http::filter::FilterQuery), responses(
    (status = 200, description = "A GeoJSON FeatureCollection"), (status = 403, body = ErrorResponse),
    (status = 404, description = "Unknown area, or team", body = ErrorResponse)
))]
pub async fn map_areas(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Caller,
    Scoped { q: _, area: parent, path, .. }: Scoped<ParentQuery>,
    fq: Result<axum::extract::Query<crate::http::filter::FilterQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let reads = st.reads();
    let store = reads.as_ref();
    let storage = |e| ApiError::store(e, lang);
    // Under a filter the children's figures come from one grouped read of the subtree.
    let filtered =
        crate::http::filter::filtered_tallies(&st, &caller.0, fq, &path, crate::filter::GroupBy::Area, lang).await?;
    let children = crate::areas::child_areas(store, Some(&parent)).await.map_err(storage)?;
    let codes: Vec<String> = children.iter().map(|c| c.code.clone()).collect();
    let boundaries: std::collections::HashMap<String, String> =
        crate::areas::boundaries(store, codes).await.map_err(storage)?.into_iter().collect();
    // Outlines for the rest from the H3 cells their households fall in (the cells' corners, so
    // every household is inside), read once for the whole parent: a few thousand cells rather
    // than every household of a province; reused for a few minutes.
    let needs_hull = children.iter().any(|c| !boundaries.contains_key(&c.code));
    let hulls = if needs_hull {
        hulls(&reads, &st.outlines, &path, &children).await.map_err(storage)?
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
#[utoipa::path(get, path = "/api/v1/map/households", params(AreaQuery, crate::http::filter::FilterQuery), responses(
    (status = 200, description = "A GeoJSON FeatureCollection"), (status = 403, body = ErrorResponse),
    (status = 404, description = "Unknown area, or team", body = ErrorResponse)
))]
pub async fn map_households(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Caller, Scoped { q: _, path, .. }: Scoped<AreaQuery>,
    fq: Result<axum::extract::Query<crate::http::filter::FilterQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    if let Some(points) = crate::http::filter::filtered_points(&st, &caller.0, fq, &path, MAX_POINTS, lang).await? {
        return Ok(Json(points));
    }
    let (lo, hi) = subtree_range(&path);
    let mut points = crate::visits::households_in(&*st.reads(), &lo, &hi, MAX_POINTS + 1)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
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
    Ok(Json(json!({"type": "FeatureCollection", "features": features, "truncated": truncated})))
}

/// Households of an area due again now, by the server's clock: their latest outcome calls for
/// another visit (not home, refused, partly installed) and that outcome's `revisit_after_hours`
/// have passed since the visit; by area then address: the walk list; at most 5,000 (open a
/// smaller area for the rest).
#[utoipa::path(get, path = "/api/v1/revisits", params(AreaQuery), responses(
    (status = 200, body = [Revisit]), AreaRefusals
))]
pub async fn revisits(
    State(st): State<AppState>, ReqLang(lang): ReqLang, _caller: Caller, Scoped { q: _, path, .. }: Scoped<AreaQuery>,
) -> Result<Json<Vec<Revisit>>, ApiError> {
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
        let reads = st.reads();
        let (read, ()) = tokio::join!(reads.stream_households(query, tx), collect);
        read.map_err(|e| ApiError::store(e, lang))?;
    }
    due.sort_by(|a, b| {
        doorstep_domain::area::vietnamese_sort_key(&a.area_name)
            .cmp(&doorstep_domain::area::vietnamese_sort_key(&b.area_name))
            .then_with(|| a.address.cmp(&b.address))
    });
    Ok(Json(due))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ParentQuery {
    /// The area whose children are drawn.
    #[param(value_type = crate::http::params::AreaCode)]
    pub parent: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AreaQuery {
    /// The area (a GSO code).
    #[param(value_type = crate::http::params::AreaCode)]
    pub area: String,
}

scoped_query!(ParentQuery, parent);

scoped_query!(AreaQuery, area);
