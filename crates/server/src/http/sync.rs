//! Handlers: the phones' push and pull.

use crate::http::extract::{Body, Query, ReqLang};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use doorstep_domain::protocol::{ErrorResponse, PullResponse, PushRequest, PushResponse};
use serde::Deserialize;

use crate::db::ingest::IngestBatch;
use crate::store::StoreError;

use super::*;

/// Push a batch of visit records, with the device token of the phone that recorded them. A visit
/// outside its volunteer's assignment is stored and flagged for the leader; so is every visit
/// sent with a revoked device's token (`revoked_device`): a revoked phone uploads what it still
/// holds before it erases itself. Each record gets a receipt, sent only after the transaction
/// holding the batch has committed: `stored`, `duplicate` (held already, same content) or
/// `rejected` with the reason. Answers 200 when none was rejected, 422 when some were (the body
/// still has every receipt, and the first refusal as `error`).
#[utoipa::path(post, path = "/api/v1/sync/push",
    request_body(content = PushRequest, description = "JSON; `Content-Encoding: zstd` accepted"), responses(
    (status = 200, description = "Every record stored or already held", body = PushResponse),
    (status = 422, description = "Some records refused; receipts for all", body = PushResponse),
    (status = 400, description = "The batch could not be read", body = ErrorResponse),
    (status = 413, description = "Too large, before or after decompression", body = ErrorResponse),
    (status = 415, description = "Not JSON, or an unknown encoding", body = ErrorResponse),
    (status = 401, description = "No device token, or an unknown one", body = ErrorResponse),
    (status = 403, description = "The batch names another device than the token's", body = ErrorResponse),
    (status = 503, description = "Storage unavailable; send again later", body = ErrorResponse)
))]
pub(crate) async fn push(
    State(st): State<AppState>,
    // A revoked phone still uploads what it holds (flagged `revoked_device`), then erases itself.
    crate::http::auth::Uploader(mut sender): crate::http::auth::Uploader,
    headers: HeaderMap,
    ReqLang(lang): ReqLang,
    Body(body): Body,
) -> Response {
    // Read with the token, so the flags are decided against the assignments of this moment.
    let scope =
        crate::auth::scope_rule(&sender.volunteer, std::mem::take(&mut sender.assigned_paths), sender.own_path.take());
    let now = Utc::now();
    let (limits, campaign) = (st.limits.clone(), st.campaign.clone());
    let Ok(permit) = st.decoders.clone().acquire_owned().await else {
        return ApiError::store(StoreError::Task("shutting down".into()), lang).into_response();
    };
    let decoded = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        decode_push(&headers, &body, (&limits, &campaign), &sender, now, lang)
    })
    .await;
    let batch = match decoded {
        Ok(Ok(batch)) => IngestBatch { scope, ..batch },
        Ok(Err(e)) => return e.into_response(),
        Err(e) => return ApiError::store(StoreError::Task(e.to_string()), lang).into_response(),
    };
    let skew_ms = batch.clock_skew_ms;
    let receipts = match st.store.ingest(batch).await {
        Ok(r) => r,
        Err(e) => return ApiError::store(e, lang).into_response(),
    };
    st.metrics.push(&receipts);
    push_answer(&st, receipts, now, skew_ms)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// The area whose subtree the device works in.
    #[param(value_type = crate::http::params::AreaCode)]
    area: String,
    /// The `next_cursor` of the previous pull; 0 or absent for everything.
    cursor: Option<i64>,
    /// Households per page (default 1000; 0 counts as 1, more than 5,000 as 5,000).
    #[param(value_type = i64, minimum = 0, maximum = 4294967295_i64, required = false)]
    limit: Option<u32>,
}

/// What changed in an area subtree since a cursor: the area tree (when the cursor is 0) and the
/// households with their latest outcome and whether a revisit is due. Paged by `limit`.
#[utoipa::path(get, path = "/api/v1/sync/pull", params(PullQuery), responses(
    (status = 200, body = PullResponse), (status = 400, body = ErrorResponse),
    (status = 404, description = "Unknown area", body = ErrorResponse),
    (status = 401, description = "No device token, or an unknown one", body = ErrorResponse),
    (status = 403, description = "Revoked, or the area is outside the volunteer's", body = ErrorResponse)
))]
pub(crate) async fn pull(
    State(st): State<AppState>, crate::http::auth::Device(device): crate::http::auth::Device, ReqLang(lang): ReqLang,
    Query(q): Query<PullQuery>,
) -> Result<Json<PullResponse>, ApiError> {
    let (area, _) = scoped_area(&st, &device.volunteer, &q.area, "area", lang).await?;
    let cursor = q.cursor.unwrap_or(0).max(0);
    let limit = q.limit.unwrap_or(1000).clamp(1, st.limits.max_pull_limit);
    let now_ms = chrono::Utc::now().timestamp_millis();
    match st.store.pull(&area, cursor, limit, (&st.campaign, now_ms)).await {
        Ok(Some(p)) => Ok(Json(p)),
        Ok(None) => Err(unknown_area(&area, lang)),
        Err(e) => Err(ApiError::store(e, lang)),
    }
}
