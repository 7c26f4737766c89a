//! The HTTP face of `crate::public`: `GET /api/v1/public/areas`, `GET /api/v1/public/hexagons`.

use crate::filter::{GroupBy, VisitFilter, tallies};
use crate::hexagons::{cell_polygon, fold_cells};
use crate::http::extract::{Query, ReqLang};
use crate::http::hexagons::resolution;
use crate::http::{ApiError, AppState, lang_of, unknown_area};
use crate::public::{PublicView, hidden_json, suppress, tally_of, with_figures};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use doorstep_domain::protocol::ErrorResponse;
use doorstep_domain::values::AreaCode;
use serde::Deserialize;
use serde_json::{Value, json};

/// The public view, when the server serves one; while it is off, 404 as if it did not exist.
/// Checked before the query is read.
pub struct Public(std::sync::Arc<PublicView>);

impl axum::extract::FromRequestParts<AppState> for Public {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, st: &AppState) -> Result<Self, ApiError> {
        st.public.clone().map(Public).ok_or_else(|| {
            ApiError::of(StatusCode::NOT_FOUND, "not_found", lang_of(&parts.headers))
                .says("Không có trang này.", "There is no such page.")
        })
    }
}

/// What the public view refuses, named once for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
pub enum PublicRefusals {
    /// A parameter that does not read.
    #[response(status = 400)]
    BadQuery(ErrorResponse),
    /// Unknown area, or the public view is off.
    #[response(status = 404)]
    NotFound(ErrorResponse),
}

/// Public: the units of an area with their figures (households known and visited, smartphones,
/// phones with the app, the two rates); units of fewer than k households hidden. 404 unless the
/// server runs with `--public-aggregates`.
#[utoipa::path(get, path = "/api/v1/public/areas", params(PublicAreasQuery), responses(
    (status = 200, description = "The area, its units shown and the hidden ones merged"),
    PublicRefusals
))]
pub async fn public_areas(
    State(st): State<AppState>, Public(view): Public, ReqLang(lang): ReqLang, Query(q): Query<PublicAreasQuery>,
) -> Result<Json<Value>, ApiError> {
    let k = view.k;
    let key = format!("areas {}", q.parent.as_deref().unwrap_or(""));
    if let Some(v) = view.cached(&key) {
        return Ok(Json(v));
    }
    let reads = st.reads();
    let store = reads.as_ref();
    let storage = |e| ApiError::store(e, lang);
    let parent = match q.parent.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(raw) => {
            let code =
                AreaCode::parse("parent", raw).map_err(|e| ApiError::field(StatusCode::BAD_REQUEST, &e, lang))?;
            let c = crate::coverage::coverage(store, &code).await.map_err(storage)?;
            let c = c.ok_or_else(|| unknown_area(&code, lang))?;
            Some((code, c))
        }
    };
    let mut units = Vec::new();
    for child in crate::areas::child_areas(store, parent.as_ref().map(|(c, _)| c)).await.map_err(storage)? {
        let Ok(code) = AreaCode::parse("area", &child.code) else {
            continue;
        };
        if let Some(c) = crate::coverage::coverage(store, &code).await.map_err(storage)? {
            units.push(((child.code, child.name, child.level), tally_of(&c)));
        }
    }
    let s = suppress(units, k);
    let areas: Vec<Value> = s
        .shown
        .iter()
        .map(|((code, name, level), t)| with_figures(json!({"code": code, "name": name, "level": level}), t))
        .collect();
    let area = parent.map(|(code, c)| {
        let t = tally_of(&c);
        let v = json!({"code": code.to_string(), "name": c.area_name});
        if t.households_known >= k {
            with_figures(v, &t)
        } else {
            json!({"code": code.to_string(), "name": c.area_name, "hidden": true})
        }
    });
    let answer = json!({
        "k": k,
        "area": area,
        "areas": areas,
        "hidden": hidden_json(s.hidden, s.hidden_total.as_ref(), "areas"),
    });
    view.keep(key, &answer);
    Ok(Json(answer))
}

/// Public: an area's households as H3 hexagons with their figures; cells of fewer than k
/// households hidden. 404 unless the server runs with `--public-aggregates`.
#[utoipa::path(get, path = "/api/v1/public/hexagons", params(PublicHexagonQuery), responses(
    (status = 200, description = "A GeoJSON FeatureCollection of the cells shown, and the hidden ones merged"),
    PublicRefusals
))]
pub async fn public_hexagons(
    State(st): State<AppState>, Public(view): Public, ReqLang(lang): ReqLang, Query(q): Query<PublicHexagonQuery>,
) -> Result<Json<Value>, ApiError> {
    let res = resolution(q.res, 7, lang)?;
    let key = format!("hexagons {} {}", q.area, u8::from(res));
    if let Some(v) = view.cached(&key) {
        return Ok(Json(v));
    }
    let code = AreaCode::parse("area", &q.area).map_err(|e| ApiError::field(StatusCode::BAD_REQUEST, &e, lang))?;
    let storage = |e| ApiError::store(e, lang);
    let path = crate::areas::area_path(&*st.reads(), code.as_str())
        .await
        .map_err(storage)?
        .ok_or_else(|| unknown_area(&code, lang))?;
    let by_cell = tallies(st.reads().as_ref(), &path, GroupBy::Cell, &VisitFilter::default()).await.map_err(storage)?;
    let s = suppress(fold_cells(&by_cell, res).into_iter().collect(), view.k);
    let features: Vec<Value> = s
        .shown
        .iter()
        .map(|(cell, t)| {
            let props = with_figures(json!({"cell": cell.to_string()}), t);
            json!({"type": "Feature", "geometry": cell_polygon(*cell), "properties": props})
        })
        .collect();
    let answer = json!({
        "type": "FeatureCollection",
        "k": view.k,
        "res": u8::from(res),
        "features": features,
        "hidden": hidden_json(s.hidden, s.hidden_total.as_ref(), "cells"),
    });
    view.keep(key, &answer);
    Ok(Json(answer))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicAreasQuery {
    /// The area whose units are listed; absent for the top of the tree.
    #[param(value_type = crate::http::params::AreaCodeOrBlank, required = false)]
    pub parent: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicHexagonQuery {
    /// The area (a GSO code).
    #[param(value_type = crate::http::params::AreaCode)]
    pub area: String,
    /// H3 resolution, 5 to 9; default 7.
    #[param(value_type = i64, minimum = 5, maximum = 9, required = false)]
    pub res: Option<u8>,
}
