//! Handlers: coverage, the area tree, the campaign.

use crate::http::AreaRefusals;
use crate::http::extract::{Query, ReqLang, Scoped, scoped_query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use doorstep_domain::Campaign;
use doorstep_domain::protocol::{AreaDto, Coverage};
use doorstep_domain::values::AreaCode;
use serde::Deserialize;

use super::*;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AreaQuery {
    /// A GSO area code.
    #[param(value_type = crate::http::params::AreaCode)]
    area: String,
}

/// Coverage of an area and everything below it: households known and visited, households by
/// their latest outcome, smartphones seen and installs, and its targets (its own, or rolled up),
/// with the rates each gives: found coverage, target coverage, install rate of phones seen and of
/// smartphone owners targeted.
#[utoipa::path(get, path = "/api/v1/coverage", params(AreaQuery), responses(
    (status = 200, body = Coverage), AreaRefusals
))]
pub(crate) async fn coverage(
    State(st): State<AppState>, ReqLang(lang): ReqLang, _caller: crate::http::auth::Caller,
    Scoped { q: _, area, path, .. }: Scoped<AreaQuery>,
) -> Result<Json<Coverage>, ApiError> {
    match crate::coverage::coverage(&*st.reads(), &area).await {
        Ok(Some(c)) => {
            let targets =
                crate::targets::subtree_targets(&*st.reads(), &path).await.map_err(|e| ApiError::store(e, lang))?;
            Ok(Json(c.with_campaign(&st.campaign).with_targets(crate::targets::roll_up_targets(&path, &targets))))
        }
        Ok(None) => Err(unknown_area(&area, lang)),
        Err(e) => Err(ApiError::store(e, lang)),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChildrenQuery {
    /// The parent area; absent for the account's own area.
    #[param(value_type = crate::http::params::AreaCode, required = false)]
    parent: Option<String>,
}

/// The children of an area, in Vietnamese alphabetical order.
#[utoipa::path(get, path = "/api/v1/areas", params(ChildrenQuery), responses(
    (status = 200, body = [AreaDto]), AreaRefusals
))]
pub(crate) async fn areas(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: crate::http::auth::Caller,
    Query(q): Query<ChildrenQuery>,
) -> Result<Json<Vec<AreaDto>>, ApiError> {
    // Without a parent: the top of what this account may see, which is its own area.
    let parent = q.parent.unwrap_or_else(|| caller.0.area_code.clone());
    let parent = AreaCode::parse("parent", &parent).map_err(|e| ApiError::field(StatusCode::BAD_REQUEST, &e, lang))?;
    in_scope(&st, &caller.0, &parent, lang).await?;
    crate::areas::child_areas(&*st.reads(), Some(&parent)).await.map(Json).map_err(|e| ApiError::store(e, lang))
}

/// The campaign definition: target app, outcomes with their labels and rules.
#[utoipa::path(get, path = "/api/v1/campaign", responses((status = 200, body = Campaign)))]
pub(crate) async fn campaign(State(st): State<AppState>) -> Json<Campaign> {
    Json((*st.campaign).clone())
}

scoped_query!(AreaQuery, area);
