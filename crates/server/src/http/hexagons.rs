//! The HTTP face of `crate::hexagons`: `GET /api/v1/map/hexagons`.

use crate::hexagons::{MAX_RES, MIN_RES, cell_feature, fine_tallies, fold_cells};
use crate::http::AreaRefusals;
#[allow(unused_imports)]
use crate::http::extract::{Query, ReqLang, Staff};
use crate::http::filter::FilterQuery;
use crate::http::filter::parse_filter;
use crate::http::{ApiError, AppState, scoped_area};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use doorstep_domain::Lang;
use h3o::Resolution;
use serde::Deserialize;
use serde_json::{Value, json};

/// A resolution from a request: [`MIN_RES`] to [`MAX_RES`], else 400.
pub fn resolution(raw: Option<u8>, default: u8, lang: Lang) -> Result<Resolution, ApiError> {
    let res = raw.unwrap_or(default);
    if !(MIN_RES..=MAX_RES).contains(&res) {
        return Err(ApiError::of(StatusCode::BAD_REQUEST, "bad_resolution", lang).on("res").says(
            format!("Độ phân giải lục giác phải từ {MIN_RES} đến {MAX_RES}, không phải {res}."),
            format!("The hexagon resolution must be {MIN_RES} to {MAX_RES}, not {res}."),
        ));
    }
    Resolution::try_from(res).map_err(|_| query_error_res(lang))
}

fn query_error_res(lang: Lang) -> ApiError {
    ApiError::of(StatusCode::BAD_REQUEST, "bad_resolution", lang)
        .on("res")
        .says("Độ phân giải lục giác không hợp lệ.", "Not a hexagon resolution.")
}

/// The households of an area as H3 hexagons at a resolution, each with its figures: households
/// known and visited, visited ones by latest outcome, smartphones, phones with the app, coverage
/// and install rates. Filtered by the phones' dates, a team, latest outcomes.
#[utoipa::path(get, path = "/api/v1/map/hexagons", params(HexagonQuery, FilterQuery), responses(
    (status = 200, description = "A GeoJSON FeatureCollection of H3 cells with figures"), AreaRefusals
))]
pub async fn get_hexagons(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Staff, Query(q): Query<HexagonQuery>,
    Query(fq): Query<FilterQuery>,
) -> Result<Json<Value>, ApiError> {
    let res = resolution(q.res, 7, lang)?;
    let (_, path) = scoped_area(&st, &caller.0, &q.area, "area", lang).await?;
    let filter = parse_filter(&st, &caller.0, &fq, lang).await?;
    let started = std::time::Instant::now();
    // The fine cells' figures serve every resolution: the map asks again at another one as soon
    // as it has fitted the area, which then costs a fold, not another read of the households.
    let by_cell =
        fine_tallies(&st.reads(), &st.hexagon_tallies, &path, &filter).await.map_err(|e| ApiError::store(e, lang))?;
    let cells = fold_cells(&by_cell, res);
    let features: Vec<Value> = cells.iter().map(|(c, t)| cell_feature(*c, t)).collect();
    tracing::debug!(area = %q.area, res = u8::from(res), fine = by_cell.len(), cells = cells.len(),
        ms = started.elapsed().as_millis() as u64, "hexagons");
    Ok(Json(json!({"type": "FeatureCollection", "res": u8::from(res), "features": features})))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HexagonQuery {
    /// The area (a GSO code) whose households are drawn.
    #[param(value_type = crate::http::params::AreaCode)]
    pub area: String,
    /// H3 resolution, 5 (coarse) to 9 (fine); default 7.
    #[param(value_type = i64, minimum = 5, maximum = 9, required = false)]
    pub res: Option<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_are_bounded() {
        assert_eq!(resolution(None, 7, Lang::En).unwrap(), Resolution::Seven);
        assert!(resolution(Some(4), 7, Lang::En).is_err());
        assert!(resolution(Some(10), 7, Lang::En).is_err());
        assert_eq!(resolution(Some(9), 7, Lang::En).unwrap(), Resolution::Nine);
    }
}
