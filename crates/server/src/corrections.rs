//! Sending a visit back for correction. A leader marks a visit with a comment; the volunteer's
//! phone receives it when it next syncs (`GET /api/v1/sync/corrections`) and shows it; the
//! volunteer's corrected visit is a new revision of the same visit, which syncs like any record.
//! A correction is open until a later revision of its visit reaches the server: that is read
//! from the visits themselves, never kept as a second fact that could disagree. Nothing is
//! overwritten: the history holds every revision and every send-back.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use doorstep_domain::account::Role;
use doorstep_domain::protocol::{
    CorrectionDto, CorrectionsResponse, ErrorResponse, SendBackRequest, VisitDto, VisitHistoryDto,
};
use doorstep_domain::values::{Id, Text};
use doorstep_domain::{Lang, Messages};
use serde::Deserialize;
use uuid::Uuid;

use crate::api::{ApiError, AppState, lang_of, query_error, scoped_area};
use crate::auth::{Caller, Device};
use crate::db::{Db, params};
use crate::store::StoreError;
use crate::store::{AuditEntry, subtree_range};

/// The longest comment a leader may write, in characters.
pub const MAX_COMMENT: usize = 500;
/// The most corrections one answer carries (a phone's list; a dashboard page).
pub const MAX_CORRECTIONS: i64 = 500;

/// The seventh migration's table. One send-back per revision: a second one of the same revision
/// is refused, so two leaders clicking at once cannot queue the same work twice.
pub const CORRECTIONS_TABLE_SQLITE: &str = "
CREATE TABLE corrections (
    id              BLOB PRIMARY KEY,
    visit_id        BLOB NOT NULL,
    revision        INTEGER NOT NULL,
    volunteer_id    BLOB NOT NULL,
    area_code       TEXT NOT NULL REFERENCES areas(code),
    comment         TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    requested_at_ms INTEGER NOT NULL,
    UNIQUE (visit_id, revision),
    FOREIGN KEY (visit_id, revision) REFERENCES visits(id, revision)
);
CREATE INDEX corrections_volunteer ON corrections(volunteer_id, requested_at_ms);
CREATE INDEX corrections_area ON corrections(area_code, requested_at_ms);";

pub const CORRECTIONS_TABLE_PG: &str = "
CREATE TABLE corrections (
    id              UUID PRIMARY KEY,
    visit_id        UUID NOT NULL,
    revision        BIGINT NOT NULL,
    volunteer_id    UUID NOT NULL,
    area_code       TEXT NOT NULL REFERENCES areas(code),
    comment         TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    requested_at_ms BIGINT NOT NULL,
    UNIQUE (visit_id, revision),
    FOREIGN KEY (visit_id, revision) REFERENCES visits(id, revision)
);
CREATE INDEX corrections_volunteer ON corrections(volunteer_id, requested_at_ms);
CREATE INDEX corrections_area ON corrections(area_code, requested_at_ms);";

/// The columns every correction read selects: the sent-back revision's visit columns first (in
/// `visit_dto` order, so the visit readers serve), then the correction's own from index 23.
/// `c` is corrections, `v` the visit revision sent back, `f` its flags.
pub const CORRECTION_COLUMNS: &str = "v.server_seq, v.id, v.revision, v.household_id, v.area_code, v.volunteer_id,
    v.device_id, v.visited_at_ms, v.utc_offset_min, v.outcome, v.reason, v.people, v.smartphones,
    v.already_installed, v.installed_now, v.leaflet_given, v.loc_source, v.lat, v.lon, v.accuracy_m, v.notes,
    v.received_at_ms, f.flags,
    c.id, c.comment, c.requested_by, c.requested_at_ms,
    (SELECT MIN(n.revision) FROM visits n WHERE n.id = c.visit_id AND n.revision > c.revision)";

/// The FROM clause that goes with [`CORRECTION_COLUMNS`].
pub const CORRECTION_FROM: &str = "corrections c
    JOIN visits v ON v.id = c.visit_id AND v.revision = c.revision
    JOIN areas a ON a.code = c.area_code
    LEFT JOIN visit_flags f ON f.server_seq = v.server_seq";

/// Open: no later revision of the visit has reached the server.
pub const OPEN_ONLY: &str =
    "NOT EXISTS (SELECT 1 FROM visits n2 WHERE n2.id = c.visit_id AND n2.revision > c.revision)";

/// A send-back to store.
#[derive(Debug, Clone)]
pub struct NewCorrection {
    pub id: Uuid,
    pub visit_id: Uuid,
    pub revision: i64,
    pub volunteer_id: Uuid,
    pub area_code: String,
    pub comment: String,
    pub requested_by: String,
    pub requested_at_ms: i64,
}

/// Which corrections to read.
#[derive(Debug, Clone)]
pub enum CorrectionQuery {
    /// The open ones addressed to a volunteer (what their phone shows).
    OpenForVolunteer(Uuid),
    /// Every one of a visit, oldest first (its history).
    OfVisit(Uuid),
    /// Every one of the visits to a household, by visit then oldest first.
    OfHousehold(Uuid),
    /// A subtree's, newest first; with `open_only`, only those not yet answered.
    InSubtree { lo: String, hi: String, open_only: bool },
}

impl CorrectionQuery {
    /// The WHERE and ORDER BY of this query, with `$1` (and `$2`) for its parameters; both
    /// databases read the same text once `$n` is rewritten for SQLite.
    pub fn sql(&self) -> String {
        let (filter, order) = match self {
            CorrectionQuery::OpenForVolunteer(_) => (
                format!("c.volunteer_id = $1 AND {OPEN_ONLY}"),
                "c.requested_at_ms, c.id",
            ),
            CorrectionQuery::OfVisit(_) => ("c.visit_id = $1".to_string(), "c.revision, c.requested_at_ms"),
            CorrectionQuery::OfHousehold(_) => (
                "v.household_id = $1".to_string(),
                "c.visit_id, c.revision, c.requested_at_ms",
            ),
            CorrectionQuery::InSubtree { open_only, .. } => (
                if *open_only {
                    format!("a.path >= $1 AND a.path < $2 AND {OPEN_ONLY}")
                } else {
                    "a.path >= $1 AND a.path < $2".to_string()
                },
                "c.requested_at_ms DESC, c.id",
            ),
        };
        format!(
            "SELECT {CORRECTION_COLUMNS} FROM {CORRECTION_FROM} WHERE {filter} ORDER BY {order} LIMIT {MAX_CORRECTIONS}"
        )
    }
}

/// The answer for a correction row, given the visit already read from its first 23 columns.
pub fn correction_dto(
    visit: VisitDto,
    id: Uuid,
    comment: String,
    requested_by: String,
    requested_at_ms: i64,
    answered_by_revision: Option<i64>,
) -> CorrectionDto {
    CorrectionDto {
        id: id.to_string(),
        visit_id: visit.id.clone(),
        revision: visit.revision,
        household_id: visit.household_id.clone(),
        area_code: visit.area_code.clone(),
        volunteer_id: visit.volunteer_id.clone(),
        comment,
        requested_by,
        requested_at: chrono::DateTime::from_timestamp_millis(requested_at_ms)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        answered_by_revision,
        visit,
    }
}

fn no_such_visit(lang: Lang) -> ApiError {
    ApiError::with_messages(
        StatusCode::NOT_FOUND,
        "no_such_visit",
        None,
        Messages {
            vi: "Không có lượt thăm với mã này trong địa bàn của tài khoản.".into(),
            en: "No visit with this id in the account's areas.".into(),
        },
        lang,
    )
}

/// A visit by id, answered only when it lies in the caller's scope; one outside is answered
/// exactly like one that does not exist, so ids cannot be probed.
pub(crate) async fn visit_in_scope(
    st: &AppState,
    caller: &Caller,
    raw_id: &str,
    lang: Lang,
) -> Result<VisitDto, ApiError> {
    let id = Id::parse("id", raw_id).map_err(|_| no_such_visit(lang))?;
    let Some((visit, path)) = crate::visits::visit_by_id(&*st.store, id.uuid())
        .await
        .map_err(|e| ApiError::storage(e, lang))?
    else {
        return Err(no_such_visit(lang));
    };
    if crate::auth::may_see(st.store.as_ref(), &caller.0, &path)
        .await
        .map_err(|e| ApiError::storage(e, lang))?
    {
        Ok(visit)
    } else {
        Err(no_such_visit(lang))
    }
}

fn uuid_of(raw: &str) -> Uuid {
    // Every id here was read from the database, where it is a UUID.
    Uuid::parse_str(raw).unwrap_or_default()
}

/// A leader (or an admin) sends a visit in their areas back to its volunteer, with a comment.
#[utoipa::path(
    post,
    path = "/api/v1/visits/{id}/send-back",
    params(("id" = crate::api::params::RecordId, Path, description = "The visit's UUID")),
    request_body = SendBackRequest,
    responses(
        (status = 201, body = CorrectionDto),
        (status = 403, description = "Only a team leader or an admin sends visits back", body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 409, description = "Already sent back, or not the latest revision", body = ErrorResponse),
        (status = 422, description = "The comment is empty or too long", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn send_back(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<SendBackRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<CorrectionDto>), ApiError> {
    let lang = lang_of(&headers);
    if !matches!(caller.0.role, Role::Admin | Role::Leader) {
        return Err(ApiError::with_messages(
            StatusCode::FORBIDDEN,
            "leader_only",
            None,
            Messages {
                vi: "Chỉ tổ trưởng hoặc quản trị viên gửi trả được lượt thăm.".into(),
                en: "Only a team leader or an admin may send a visit back.".into(),
            },
            lang,
        ));
    }
    let Json(request) = body.map_err(|e| crate::manage::bad_body(e, lang))?;
    let visit = visit_in_scope(&st, &caller, &id, lang).await?;
    let comment = Text::parse("comment", &request.comment, MAX_COMMENT, true)
        .map_err(|e| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, &e, lang))?;
    if request.revision.is_some_and(|r| r != visit.revision) {
        return Err(ApiError::with_messages(
            StatusCode::CONFLICT,
            "not_latest_revision",
            Some("revision"),
            Messages {
                vi: format!(
                    "Lượt thăm này đã được sửa (bản {}); hãy xem bản mới nhất trước khi gửi trả.",
                    visit.revision
                ),
                en: format!(
                    "This visit has been corrected already (revision {}); look at the latest before sending it back.",
                    visit.revision
                ),
            },
            lang,
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
        .map_err(|e| ApiError::storage(e, lang))?;
    if !stored {
        return Err(ApiError::with_messages(
            StatusCode::CONFLICT,
            "already_sent_back",
            None,
            Messages {
                vi: "Lượt thăm này đã được gửi trả và đang chờ tình nguyện viên sửa.".into(),
                en: "This visit was already sent back and waits for the volunteer's correction.".into(),
            },
            lang,
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
    .map_err(|e| ApiError::storage(e, lang))?;
    tracing::info!(visit = %visit.id, revision = visit.revision, "visit sent back for correction");
    Ok((
        StatusCode::CREATED,
        Json(correction_dto(
            visit,
            correction.id,
            correction.comment,
            correction.requested_by,
            now_ms,
            None,
        )),
    ))
}

/// Every revision of a visit, oldest first, and every time it was sent back.
#[utoipa::path(
    get,
    path = "/api/v1/visits/{id}/history",
    params(("id" = crate::api::params::RecordId, Path, description = "The visit's UUID")),
    responses((status = 200, body = VisitHistoryDto), (status = 404, body = ErrorResponse)),
    security(("bearer" = []))
)]
pub async fn visit_history(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<VisitHistoryDto>, ApiError> {
    let lang = lang_of(&headers);
    let latest = visit_in_scope(&st, &caller, &id, lang).await?;
    let visit_id = uuid_of(&latest.id);
    let revisions = crate::visits::visit_revisions(&*st.store, visit_id)
        .await
        .map_err(|e| ApiError::storage(e, lang))?;
    let corrections = crate::corrections::find(&*st.store, CorrectionQuery::OfVisit(visit_id))
        .await
        .map_err(|e| ApiError::storage(e, lang))?;
    Ok(Json(VisitHistoryDto { revisions, corrections }))
}

/// The visits to a household, each with its revisions and send-backs, oldest visit first: what
/// the dashboard shows when a household is opened. Visits outside the caller's scope are left
/// out; a household with none in scope is answered like one that does not exist.
#[utoipa::path(
    get,
    path = "/api/v1/households/{id}/visits",
    params(("id" = crate::api::params::RecordId, Path, description = "The household's UUID")),
    responses((status = 200, body = [VisitHistoryDto]), (status = 404, body = ErrorResponse)),
    security(("bearer" = []))
)]
pub async fn household_visits(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<VisitHistoryDto>>, ApiError> {
    let lang = lang_of(&headers);
    let no_such = || {
        ApiError::with_messages(
            StatusCode::NOT_FOUND,
            "no_such_household",
            None,
            Messages {
                vi: "Không có hộ với mã này trong địa bàn của tài khoản.".into(),
                en: "No household with this id in the account's areas.".into(),
            },
            lang,
        )
    };
    let id = Id::parse("id", &id).map_err(|_| no_such())?;
    let rows = crate::visits::household_visits(&*st.store, id.uuid())
        .await
        .map_err(|e| ApiError::storage(e, lang))?;
    let mut out: Vec<VisitHistoryDto> = Vec::new();
    let mut seen_paths: Vec<(String, bool)> = Vec::new();
    for (visit, path) in rows {
        let visible = match seen_paths.iter().find(|(p, _)| *p == path) {
            Some((_, v)) => *v,
            None => {
                let v = crate::auth::may_see(st.store.as_ref(), &caller.0, &path)
                    .await
                    .map_err(|e| ApiError::storage(e, lang))?;
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
            _ => out.push(VisitHistoryDto {
                revisions: vec![visit],
                corrections: Vec::new(),
            }),
        }
    }
    if out.is_empty() {
        return Err(no_such());
    }
    // One read for the whole household's send-backs, handed to their visits.
    let corrections = crate::corrections::find(&*st.store, CorrectionQuery::OfHousehold(id.uuid()))
        .await
        .map_err(|e| ApiError::storage(e, lang))?;
    for c in corrections {
        if let Some(h) = out
            .iter_mut()
            .find(|h| h.revisions.first().is_some_and(|r| r.id == c.visit_id))
        {
            h.corrections.push(c);
        }
    }
    Ok(Json(out))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CorrectionsQuery {
    /// The area whose subtree to list.
    #[param(value_type = crate::api::params::AreaCode)]
    area: String,
    /// Only those not yet corrected (default true).
    open: Option<bool>,
}

/// The visits sent back in an area subtree, newest first (at most 500).
#[utoipa::path(
    get,
    path = "/api/v1/corrections",
    params(CorrectionsQuery),
    responses(
        (status = 200, body = [CorrectionDto]),
        (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse)
    ),
    security(("bearer" = []))
)]
pub async fn list_corrections(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    q: Result<Query<CorrectionsQuery>, QueryRejection>,
) -> Result<Json<Vec<CorrectionDto>>, ApiError> {
    let lang = lang_of(&headers);
    let Query(q) = q.map_err(|e| query_error(e, lang))?;
    let (_, path) = scoped_area(&st, &caller.0, &q.area, "area", lang).await?;
    let (lo, hi) = subtree_range(&path);
    crate::corrections::find(
        &*st.store,
        CorrectionQuery::InSubtree {
            lo,
            hi,
            open_only: q.open.unwrap_or(true),
        },
    )
    .await
    .map(Json)
    .map_err(|e| ApiError::storage(e, lang))
}

/// The open corrections for the calling phone's volunteer: what their leader sent back, still
/// waiting for a corrected revision. The phone replaces its list with this one on every sync.
#[utoipa::path(
    get,
    path = "/api/v1/sync/corrections",
    responses(
        (status = 200, body = CorrectionsResponse),
        (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse)
    ),
    security(("bearer" = []))
)]
pub async fn device_corrections(
    State(st): State<AppState>,
    headers: HeaderMap,
    device: Device,
) -> Result<Json<CorrectionsResponse>, ApiError> {
    let lang = lang_of(&headers);
    let corrections = crate::corrections::find(
        &*st.store,
        CorrectionQuery::OpenForVolunteer(device.0.volunteer.user_id),
    )
    .await
    .map_err(|e| ApiError::storage(e, lang))?;
    Ok(Json(CorrectionsResponse { corrections }))
}

/// Sends a visit's revision back to its volunteer; false when it was sent back already.
pub async fn record_send_back(db: &dyn Db, c: NewCorrection) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "INSERT INTO corrections (id, visit_id, revision, volunteer_id, area_code, comment, requested_by,
                requested_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (visit_id, revision) DO NOTHING",
            params![
                c.id,
                c.visit_id,
                c.revision,
                c.volunteer_id,
                c.area_code,
                c.comment,
                c.requested_by,
                c.requested_at_ms
            ],
        )
        .await?;
    Ok(n == 1)
}

/// The corrections a query selects ([`CorrectionQuery::sql`]).
pub async fn find(db: &dyn Db, q: CorrectionQuery) -> Result<Vec<CorrectionDto>, StoreError> {
    let params = match &q {
        CorrectionQuery::OpenForVolunteer(id) | CorrectionQuery::OfVisit(id) | CorrectionQuery::OfHousehold(id) => {
            params![*id]
        }
        CorrectionQuery::InSubtree { lo, hi, .. } => params![lo, hi],
    };
    db.query(&q.sql(), params)
        .await?
        .iter()
        .map(|r| {
            Ok(correction_dto(
                crate::store::visit_from_row(r)?,
                r.get(23)?,
                r.get(24)?,
                r.get(25)?,
                r.get(26)?,
                r.get(27)?,
            ))
        })
        .collect()
}
