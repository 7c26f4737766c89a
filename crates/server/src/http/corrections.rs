//! The HTTP face of `crate::corrections`: `POST /api/v1/visits/{id}/send-back`,
//! `GET /api/v1/visits/{id}/history`, `GET /api/v1/households/{id}/visits`,
//! `GET /api/v1/corrections`, `GET /api/v1/sync/corrections`.

use crate::accounts::AuditEntry;
use crate::corrections::{CorrectionQuery, MAX_COMMENT, correction_dto, uuid_of};
use crate::http::auth::{Caller, Device};
use crate::http::extract::{ReqLang, Scoped, scoped_query};
use crate::http::{ApiError, AppState};
use crate::store::subtree_range;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use doorstep_domain::Lang;
use doorstep_domain::protocol::{
    CorrectionDto, CorrectionsResponse, ErrorResponse, SendBackRequest, VisitDto, VisitHistoryDto,
};
use doorstep_domain::values::{Id, Text};
use serde::Deserialize;
use uuid::Uuid;

fn no_such_visit(lang: Lang) -> ApiError {
    ApiError::of(StatusCode::NOT_FOUND, "no_such_visit", lang).says(
        "Không có lượt thăm với mã này trong địa bàn của tài khoản.",
        "No visit with this id in the account's areas.",
    )
}

/// A visit by id, answered only when it lies in the caller's scope; one outside is answered
/// exactly like one that does not exist, so ids cannot be probed.
pub(crate) async fn visit_in_scope(
    st: &AppState, caller: &Caller, raw_id: &str, lang: Lang,
) -> Result<VisitDto, ApiError> {
    let id = Id::parse("id", raw_id).map_err(|_| no_such_visit(lang))?;
    let Some((visit, path)) =
        crate::visits::visit_by_id(&*st.store, id.uuid()).await.map_err(|e| ApiError::store(e, lang))?
    else {
        return Err(no_such_visit(lang));
    };
    if crate::auth::may_see(st.store.as_ref(), &caller.0, &path).await.map_err(|e| ApiError::store(e, lang))? {
        Ok(visit)
    } else {
        Err(no_such_visit(lang))
    }
}

/// A leader (or an admin) sends a visit in their areas back to its volunteer, with a comment.
#[utoipa::path(post, path = "/api/v1/visits/{id}/send-back",
    params(("id" = crate::http::params::RecordId, Path, description = "The visit's UUID")),
    request_body = SendBackRequest, responses(
    (status = 201, body = CorrectionDto),
    (status = 403, description = "Only a team leader or an admin sends visits back", body = ErrorResponse),
    (status = 404, body = ErrorResponse),
    (status = 409, description = "Already sent back, or not the latest revision", body = ErrorResponse),
    (status = 422, description = "The comment is empty or too long", body = ErrorResponse)
))]
pub async fn send_back(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Caller, Path(id): Path<String>,
    body: Result<Json<SendBackRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<CorrectionDto>), ApiError> {
    crate::http::leader_only(
        &caller.0,
        "Chỉ tổ trưởng hoặc quản trị viên gửi trả được lượt thăm.",
        "Only a team leader or an admin may send a visit back.",
        lang,
    )?;
    let Json(request) = body.map_err(|e| crate::http::manage::bad_body(e, lang))?;
    let visit = visit_in_scope(&st, &caller, &id, lang).await?;
    let comment = Text::parse("comment", &request.comment, MAX_COMMENT, true)
        .map_err(|e| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, &e, lang))?;
    if request.revision.is_some_and(|r| r != visit.revision) {
        return Err(ApiError::of(StatusCode::CONFLICT, "not_latest_revision", lang).on("revision").says(
            format!("Lượt thăm này đã được sửa (bản {}); hãy xem bản mới nhất trước khi gửi trả.", visit.revision),
            format!(
                "This visit has been corrected already (revision {}); look at the latest before sending it back.",
                visit.revision
            ),
        ));
    }
    let now_ms = Utc::now().timestamp_millis();
    let correction = crate::corrections::NewCorrection {
        id: Uuid::now_v7(),
        visit_id: uuid_of(&visit.id),
        revision: visit.revision,
        volunteer_id: uuid_of(&visit.volunteer_id),
        area_code: visit.area_code.clone(),
        comment: comment.as_str().to_string(),
        requested_by: caller.0.username.clone(),
        requested_at_ms: now_ms,
    };
    let stored = crate::corrections::record_send_back(&*st.store, correction.clone())
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    if !stored {
        return Err(ApiError::of(StatusCode::CONFLICT, "already_sent_back", lang).says(
            "Lượt thăm này đã được gửi trả và đang chờ tình nguyện viên sửa.",
            "This visit was already sent back and waits for the volunteer's correction.",
        ));
    }
    crate::accounts::record_audit(
        &*st.store,
        AuditEntry {
            at_ms: now_ms,
            actor: caller.0.username.clone(),
            action: "send_back".into(),
            // The visit and revision only: the comment may name people.
            detail: format!("visit {} revision {}", visit.id, visit.revision),
        },
    )
    .await
    .map_err(|e| ApiError::store(e, lang))?;
    tracing::info!(visit = %visit.id, revision = visit.revision, "visit sent back for correction");
    Ok((
        StatusCode::CREATED,
        Json(correction_dto(visit, correction.id, correction.comment, correction.requested_by, now_ms, None)),
    ))
}

/// Every revision of a visit, oldest first, and every time it was sent back.
#[utoipa::path(get, path = "/api/v1/visits/{id}/history",
    params(("id" = crate::http::params::RecordId, Path, description = "The visit's UUID")), responses(
    (status = 200, body = VisitHistoryDto), (status = 404, body = ErrorResponse)
))]
pub async fn visit_history(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Caller, Path(id): Path<String>,
) -> Result<Json<VisitHistoryDto>, ApiError> {
    let latest = visit_in_scope(&st, &caller, &id, lang).await?;
    let visit_id = uuid_of(&latest.id);
    let revisions = crate::visits::visit_revisions(&*st.store, visit_id).await.map_err(|e| ApiError::store(e, lang))?;
    let corrections = crate::corrections::find(&*st.store, CorrectionQuery::OfVisit(visit_id))
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    Ok(Json(VisitHistoryDto { revisions, corrections }))
}

/// The visits to a household, each with its revisions and send-backs, oldest visit first: what
/// the dashboard shows when a household is opened. Visits outside the caller's scope are left
/// out; a household with none in scope is answered like one that does not exist.
#[utoipa::path(get, path = "/api/v1/households/{id}/visits",
    params(("id" = crate::http::params::RecordId, Path, description = "The household's UUID")), responses(
    (status = 200, body = [VisitHistoryDto]), (status = 404, body = ErrorResponse)
))]
pub async fn household_visits(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Caller, Path(id): Path<String>,
) -> Result<Json<Vec<VisitHistoryDto>>, ApiError> {
    let no_such = || {
        ApiError::of(StatusCode::NOT_FOUND, "no_such_household", lang).says(
            "Không có hộ với mã này trong địa bàn của tài khoản.",
            "No household with this id in the account's areas.",
        )
    };
    let id = Id::parse("id", &id).map_err(|_| no_such())?;
    let rows = crate::visits::household_visits(&*st.store, id.uuid()).await.map_err(|e| ApiError::store(e, lang))?;
    let mut out: Vec<VisitHistoryDto> = Vec::new();
    let mut seen_paths: Vec<(String, bool)> = Vec::new();
    for (visit, path) in rows {
        let visible = match seen_paths.iter().find(|(p, _)| *p == path) {
            Some((_, v)) => *v,
            None => {
                let v = crate::auth::may_see(st.store.as_ref(), &caller.0, &path)
                    .await
                    .map_err(|e| ApiError::store(e, lang))?;
                seen_paths.push((path, v));
                v
            }
        };
        if !visible {
            continue;
        }
        // Rows come grouped by visit, revisions in order.
        match out.last_mut() {
            Some(last) if last.revisions.first().is_some_and(|r| r.id == visit.id) => last.revisions.push(visit),
            _ => out.push(VisitHistoryDto { revisions: vec![visit], corrections: Vec::new() }),
        }
    }
    if out.is_empty() {
        return Err(no_such());
    }
    // One read for the whole household's send-backs, handed to their visits.
    let corrections = crate::corrections::find(&*st.store, CorrectionQuery::OfHousehold(id.uuid()))
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    for c in corrections {
        if let Some(h) = out.iter_mut().find(|h| h.revisions.first().is_some_and(|r| r.id == c.visit_id)) {
            h.corrections.push(c);
        }
    }
    Ok(Json(out))
}

/// The visits sent back in an area subtree, newest first (at most 500).
#[utoipa::path(get, path = "/api/v1/corrections", params(CorrectionsQuery), responses(
    (status = 200, body = [CorrectionDto]), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)
))]
pub async fn list_corrections(
    State(st): State<AppState>, ReqLang(lang): ReqLang, _caller: Caller,
    Scoped { q, path, .. }: Scoped<CorrectionsQuery>,
) -> Result<Json<Vec<CorrectionDto>>, ApiError> {
    let (lo, hi) = subtree_range(&path);
    crate::corrections::find(&*st.store, CorrectionQuery::InSubtree { lo, hi, open_only: q.open.unwrap_or(true) })
        .await
        .map(Json)
        .map_err(|e| ApiError::store(e, lang))
}

/// The open corrections for the calling phone's volunteer: what their leader sent back, still
/// waiting for a corrected revision. The phone replaces its list with this one on every sync.
#[utoipa::path(get, path = "/api/v1/sync/corrections", responses(
    (status = 200, body = CorrectionsResponse), (status = 401, body = ErrorResponse),
    (status = 403, body = ErrorResponse)
))]
pub async fn device_corrections(
    State(st): State<AppState>, ReqLang(lang): ReqLang, device: Device,
) -> Result<Json<CorrectionsResponse>, ApiError> {
    let corrections =
        crate::corrections::find(&*st.store, CorrectionQuery::OpenForVolunteer(device.0.volunteer.user_id))
            .await
            .map_err(|e| ApiError::store(e, lang))?;
    Ok(Json(CorrectionsResponse { corrections }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CorrectionsQuery {
    /// The area whose subtree to list.
    #[param(value_type = crate::http::params::AreaCode)]
    pub area: String,
    /// Only those not yet corrected (default true).
    pub open: Option<bool>,
}

scoped_query!(CorrectionsQuery, area);
