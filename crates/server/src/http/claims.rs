//! The HTTP face of `crate::claims`: `GET /api/v1/claims`, `GET /api/v1/streets`,
//! `POST /api/v1/claims`, `DELETE /api/v1/claims/{id}`.

use crate::claims::{give, list, release, streets};
use crate::http::auth::Caller;
use crate::http::extract::{ReqLang, Scoped, scoped_query};
use crate::http::manage::bad_body;
use crate::http::{ApiError, AppState, AreaRefusals, lang_of};
use crate::manage::Actor;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use doorstep_domain::protocol::{ClaimDto, ClaimsResponse, ErrorResponse, NewClaimRequest, StreetDto};
use doorstep_domain::{Campaign, Lang};
use serde::Deserialize;

/// The claims given in an area's subtree: the latest first, released ones included, each with
/// when it runs out (its volunteer's latest visit in it plus the campaign's `claim_hours`) and
/// the households it covers.
#[utoipa::path(get, path = "/api/v1/claims", params(ClaimsQuery), responses(
    (status = 200, body = ClaimsResponse), AreaRefusals
))]
pub async fn get_claims(
    State(st): State<AppState>, ReqLang(lang): ReqLang, _caller: Caller, Scoped { q: _, path, .. }: Scoped<ClaimsQuery>,
) -> Result<Json<ClaimsResponse>, ApiError> {
    let campaign: &Campaign = &st.campaign;
    list(st.store.as_ref(), &path, campaign, Utc::now().timestamp_millis())
        .await
        .map(Json)
        .map_err(|e| e.into_api(lang))
}

/// The streets (or hamlets) of an area's households, from their addresses without house
/// numbers, to give one to a volunteer.
#[utoipa::path(get, path = "/api/v1/streets", params(ClaimsQuery), responses(
    (status = 200, body = [StreetDto]), AreaRefusals
))]
pub async fn get_streets(
    State(st): State<AppState>, ReqLang(lang): ReqLang, _caller: Caller, Scoped { q: _, area, .. }: Scoped<ClaimsQuery>,
) -> Result<Json<Vec<StreetDto>>, ApiError> {
    streets(st.store.as_ref(), area.as_str()).await.map(Json).map_err(|e| e.into_api(lang))
}

/// A leader gives a household, or a street of an area, to a volunteer of theirs. Whoever held
/// it is released (the hand-over); phones learn of both at their next pull.
#[utoipa::path(post, path = "/api/v1/claims", request_body = NewClaimRequest, responses(
    (status = 201, body = ClaimDto), AreaRefusals,
    (status = 422, description = "No such volunteer or household, or the volunteer does not cover the area", body = ErrorResponse)
))]
pub async fn post_claim(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Caller,
    body: Result<Json<NewClaimRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ClaimDto>), ApiError> {
    let Json(request) = body.map_err(|e| bad_body(e, lang))?;
    give(st.store.as_ref(), Actor::User(&caller.0), &request)
        .await
        .map(|c| (StatusCode::CREATED, Json(c)))
        .map_err(|e| e.into_api(lang))
}

/// A leader releases a claim; its doors are free at the phones' next pull.
#[utoipa::path(delete, path = "/api/v1/claims/{id}",
    params(("id" = crate::http::params::RecordId, Path, description = "The claim's id")), responses(
    (status = 204), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)
))]
pub async fn delete_claim(
    State(st): State<AppState>, headers: HeaderMap, caller: Caller, Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let lang: Lang = lang_of(&headers);
    release(st.store.as_ref(), Actor::User(&caller.0), &id).await.map_err(|e| e.into_api(lang))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClaimsQuery {
    /// The area (a GSO code).
    #[param(value_type = crate::http::params::AreaCode)]
    pub area: String,
}

scoped_query!(ClaimsQuery, area);
