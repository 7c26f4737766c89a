//! The HTTP face of `crate::venues`: `POST /api/v1/sync/venues`, `GET /api/v1/sync/venues`,
//! `GET /api/v1/venues`.

use crate::http::AreaRefusals;
use crate::http::extract::{Body, Query, ReqLang, Scoped, scoped_query};
use crate::http::{ApiError, AppState, scoped_area};
use crate::store::{StoreError, subtree_range};
use crate::venues::{FIRST_DAY, VenueBatch, read_venue_record, venue_list};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use doorstep_domain::Lang;
use doorstep_domain::protocol::{ErrorResponse, PushResponse, VenueDto};
use serde::Deserialize;

/// Push a batch of venue visits, with the device token of the phone that recorded them. Read
/// and answered like `/api/v1/sync/push`: a receipt per record after commit (`stored`,
/// `duplicate`, `rejected` with the reason), 200 when none was refused, 422 when some were.
#[utoipa::path(post, path = "/api/v1/sync/venues",
    request_body(content = doorstep_domain::protocol::VenuePushRequest, description = "JSON; `Content-Encoding: zstd` accepted"),
    responses(
    (status = 200, description = "Every record stored or already held", body = PushResponse),
    (status = 422, description = "Some records refused; receipts for all", body = PushResponse),
    (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
    (status = 413, body = ErrorResponse),
    (status = 415, description = "Not JSON, or an unknown encoding", body = ErrorResponse)
))]
pub async fn push_venues(
    State(st): State<AppState>,
    // A revoked phone may still upload what it holds before it erases itself.
    crate::http::auth::Uploader(sender): crate::http::auth::Uploader,
    headers: HeaderMap,
    ReqLang(lang): ReqLang,
    Body(body): Body,
) -> Response {
    let now = Utc::now();
    let volunteer_id = sender.volunteer.user_id;
    let scope = crate::auth::scope_rule(&sender.volunteer, sender.assigned_paths.clone(), sender.own_path.clone());
    let (limits, campaign) = (st.limits.clone(), st.campaign.clone());
    let decoded = tokio::task::spawn_blocking(move || {
        crate::http::decode_batch(&headers, &body, (&limits, &campaign), &sender, now, lang, |read, ctx| {
            read_venue_record(read, ctx, sender.device_id)
        })
        .map(|(device, device_now, records)| (device, device_now, records, sender.device_id))
    })
    .await;
    let (device_now, batch) = match decoded {
        Ok(Ok((_, device_now, records, device_id))) => (
            device_now,
            VenueBatch { device_id, received_at_ms: now.timestamp_millis(), lang, records, volunteer_id, scope },
        ),
        Ok(Err(e)) => return e.into_response(),
        Err(e) => return ApiError::store(StoreError::Task(e.to_string()), lang).into_response(),
    };
    let receipts = match crate::venues::push_venue_visits(&*st.store, batch).await {
        Ok(r) => r,
        Err(e) => return ApiError::store(e, lang).into_response(),
    };
    crate::http::push_answer(&st, receipts, now, (device_now - now).num_milliseconds())
}

/// The venues registered in an area the device's volunteer works in, with their visits'
/// figures, so a volunteer sees the venues already on the list before walking out.
#[utoipa::path(get, path = "/api/v1/sync/venues", params(VenueQuery), responses(
    (status = 200, body = [VenueDto]), AreaRefusals
))]
pub async fn device_venues(
    State(st): State<AppState>, crate::http::auth::Device(device): crate::http::auth::Device, ReqLang(lang): ReqLang,
    Query(q): Query<VenueQuery>,
) -> Result<Json<Vec<VenueDto>>, ApiError> {
    let (_, path) = scoped_area(&st, &device.volunteer, &q.area, "area", lang).await?;
    list(&st, &path, lang).await.map(Json)
}

/// The venues of an area (its subtree) with their visits' figures: for leaders and committees.
#[utoipa::path(get, path = "/api/v1/venues", params(VenueQuery), responses(
    (status = 200, body = [VenueDto]), AreaRefusals
))]
pub async fn get_venues(
    State(st): State<AppState>, ReqLang(lang): ReqLang, _caller: crate::http::auth::Caller,
    Scoped { q: _, path, .. }: Scoped<VenueQuery>,
) -> Result<Json<Vec<VenueDto>>, ApiError> {
    list(&st, &path, lang).await.map(Json)
}

async fn list(st: &AppState, path: &str, lang: Lang) -> Result<Vec<VenueDto>, ApiError> {
    let (lo, hi) = subtree_range(path);
    let venues = crate::venues::venues_in(&*st.store, &lo, &hi).await.map_err(|e| ApiError::store(e, lang))?;
    let visits = crate::venues::venue_visits_in(&*st.store, &lo, &hi, FIRST_DAY, "9999-12-31")
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    Ok(venue_list(venues, &visits))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VenueQuery {
    /// The area (a GSO code); its whole subtree is listed.
    #[param(value_type = crate::http::params::AreaCode)]
    pub area: String,
}

scoped_query!(VenueQuery, area);
