//! The HTTP face of `crate::manage`: `POST /api/v1/teams`, `GET /api/v1/teams`,
//! `POST`/`DELETE /api/v1/assignments`,
//! `DELETE /api/v1/teams/members`, `GET /api/v1/visits`, `GET /api/v1/visits/{id}`.

use crate::http::auth::Caller;
use crate::http::extract::{Query, ReqLang};
use crate::http::{ApiError, AppState, lang_of, scoped_area};
use crate::manage::{Actor, ManageError, Removal, assign, create_team, unassign};
use crate::store::subtree_range;
use crate::visits::VisitQuery;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use doorstep_domain::Lang;
use doorstep_domain::protocol::ErrorResponse;
use doorstep_domain::protocol::{AssignmentRequest, NewTeamRequest, TeamDto, VisitDto};
use serde::Deserialize;

pub(crate) fn bad_body(e: JsonRejection, lang: Lang) -> ApiError {
    ApiError::of(StatusCode::BAD_REQUEST, "malformed_json", lang)
        .says(format!("Nội dung không hợp lệ: {}", e.body_text()), format!("Invalid body: {}", e.body_text()))
}

/// A leader creates a team over an area of theirs; an admin names its leader.
#[utoipa::path(post, path = "/api/v1/teams", request_body = NewTeamRequest, responses(
    (status = 200, body = TeamDto),
    (status = 400, description = "The name is empty or longer than 80 characters", body = ErrorResponse),
    (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
    (status = 409, description = "The name is taken in that area", body = ErrorResponse),
    (status = 422, description = "The name has control or hidden characters", body = ErrorResponse)
))]
pub async fn post_team(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Caller,
    body: Result<Json<NewTeamRequest>, JsonRejection>,
) -> Result<Json<TeamDto>, ApiError> {
    let Json(request) = body.map_err(|e| bad_body(e, lang))?;
    create_team(st.store.as_ref(), Actor::User(&caller.0), &request).await.map(Json).map_err(|e| e.into_api(lang))
}

/// The teams whose area lies in the caller's scope, with members and their assigned areas.
#[utoipa::path(get, path = "/api/v1/teams", responses(
    (status = 200, body = [TeamDto]), (status = 401, body = ErrorResponse)
))]
pub async fn get_teams(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Caller,
) -> Result<Json<Vec<TeamDto>>, ApiError> {
    let roots = crate::auth::scope_paths(st.store.as_ref(), &caller.0).await.map_err(|e| ApiError::store(e, lang))?;
    let mut teams = Vec::new();
    for root in roots {
        let (lo, hi) = subtree_range(&root);
        teams.extend(crate::manage::teams_in(&*st.store, &lo, &hi).await.map_err(|e| ApiError::store(e, lang))?);
    }
    teams.sort_by(|a, b| a.name.cmp(&b.name));
    teams.dedup_by(|a, b| a.name == b.name);
    Ok(Json(teams))
}

/// A team's leader (or an admin) assigns an area to a volunteer, adding them to the team.
#[utoipa::path(post, path = "/api/v1/assignments", request_body = AssignmentRequest, responses(
    (status = 204), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
    (status = 422, description = "The area is not inside the team's", body = ErrorResponse)
))]
pub async fn post_assignment(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Caller,
    body: Result<Json<AssignmentRequest>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(request) = body.map_err(|e| bad_body(e, lang))?;
    assign(st.store.as_ref(), Actor::User(&caller.0), &request).await.map_err(|e| e.into_api(lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which assignment, or which member of which team, to take back.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssignmentQuery {
    /// The team's name.
    pub team: String,
    /// The volunteer's username.
    pub volunteer: String,
    /// The assigned area (for a member: the team's own area, which tells teams of one name apart).
    pub area_code: String,
}

impl AssignmentQuery {
    fn request(self) -> AssignmentRequest {
        AssignmentRequest { team: self.team, volunteer: self.volunteer, area_code: self.area_code }
    }
}

/// What taking back an assignment or a member answers.
#[derive(utoipa::IntoResponses)]
pub enum TakeBackAnswers {
    /// Taken back, and written to the audit log.
    #[response(status = 204)]
    Done,
    /// A parameter is missing.
    #[response(status = 400)]
    BadQuery(ErrorResponse),
    /// The caller neither leads the team nor is an admin.
    #[response(status = 403)]
    Forbidden(ErrorResponse),
    /// No such team, volunteer, assignment or member in the caller's areas.
    #[response(status = 404)]
    NotFound(ErrorResponse),
}

/// A team's leader (or an admin) takes back an area assigned to a volunteer; the volunteer stays
/// in the team.
#[utoipa::path(delete, path = "/api/v1/assignments", params(AssignmentQuery), responses(TakeBackAnswers))]
pub async fn delete_assignment(st: State<AppState>, lang: ReqLang, caller: Caller, q: Query<AssignmentQuery>) -> Taken {
    take_back(st, lang, caller, q, Removal::Area).await
}

/// A team's leader (or an admin) takes a volunteer out of the team, with every area it gave them.
#[utoipa::path(delete, path = "/api/v1/teams/members", params(AssignmentQuery), responses(TakeBackAnswers))]
pub async fn delete_member(st: State<AppState>, lang: ReqLang, caller: Caller, q: Query<AssignmentQuery>) -> Taken {
    take_back(st, lang, caller, q, Removal::Member).await
}

type Taken = Result<StatusCode, ApiError>;

async fn take_back(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Caller, Query(q): Query<AssignmentQuery>,
    removal: Removal,
) -> Taken {
    unassign(st.store.as_ref(), Actor::User(&caller.0), &q.request(), removal).await.map_err(|e| e.into_api(lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The visits of an area subtree, in receive order; with `flagged=true`, only those a leader
/// should look at.
#[utoipa::path(get, path = "/api/v1/visits", params(VisitsQuery), responses(
    (status = 200, body = [VisitDto]), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)
))]
pub async fn list_visits(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Caller, Query(q): Query<VisitsQuery>,
) -> Result<Json<Vec<VisitDto>>, ApiError> {
    let flag = match q.flag.as_deref().filter(|f| !f.trim().is_empty()) {
        None => None,
        Some(f) => Some(doorstep_domain::quality::Flag::parse(f).ok_or_else(|| {
            ApiError::of(StatusCode::BAD_REQUEST, "unknown_flag", lang)
                .on("flag")
                .says(format!("Không có loại cờ «{f}»."), format!("There is no flag '{f}'."))
        })?),
    };
    let (_, path) = scoped_area(&st, &caller.0, &q.area, "area", lang).await?;
    let (lo, hi) = subtree_range(&path);
    crate::visits::visits(
        &*st.store,
        VisitQuery {
            lo,
            hi,
            after_seq: q.after.unwrap_or(0).max(0),
            limit: q.limit.unwrap_or(100).clamp(1, 1000),
            flagged_only: q.flagged.unwrap_or(false) || flag.is_some(),
            flag: flag.map(|f| f.code().to_string()),
        },
    )
    .await
    .map(Json)
    .map_err(|e| ApiError::store(e, lang))
}

/// One visit by id (its latest revision). A visit outside the caller's scope is answered exactly
/// like one that does not exist, so ids cannot be probed.
#[utoipa::path(get, path = "/api/v1/visits/{id}",
    params(("id" = crate::http::params::RecordId, Path, description = "The visit's UUID")), responses(
    (status = 200, body = VisitDto), (status = 404, body = ErrorResponse)
))]
pub async fn get_visit(
    State(st): State<AppState>, headers: HeaderMap, caller: Caller, Path(id): Path<String>,
) -> Result<Json<VisitDto>, ApiError> {
    crate::http::corrections::visit_in_scope(&st, &caller, &id, lang_of(&headers)).await.map(Json)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VisitsQuery {
    /// The area whose subtree to list.
    #[param(value_type = crate::http::params::AreaCode)]
    pub area: String,
    /// Only visits flagged for a leader (outside the assignment, another volunteer, poor
    /// accuracy, far from the household, outside the area, implausible speed, burst).
    pub flagged: Option<bool>,
    /// Only visits with this flag (implies `flagged`): `outside_assignment`, `other_volunteer`,
    /// `poor_accuracy`, `far_from_household`, `outside_area`, `implausible_speed`, `burst`,
    /// `revoked_device`, `overlap` or `household_in_other_area`.
    #[param(value_type = crate::http::params::FlagOrBlank, required = false)]
    pub flag: Option<String>,
    /// The `server_seq` of the last visit of the previous page; absent for the first.
    pub after: Option<i64>,
    /// Visits per page (default 100; 0 counts as 1, more than 1,000 as 1,000).
    #[param(value_type = i64, minimum = 0, maximum = 4294967295_i64, required = false)]
    pub limit: Option<u32>,
}

/// A refusal of the rules, answered in the request's language.
impl ManageError {
    pub fn into_api(self, lang: Lang) -> ApiError {
        match self {
            ManageError::Refused { status, code, field, messages } => {
                ApiError::of(status, code, lang).on(field).messages(messages)
            }
            ManageError::Field(status, e) => ApiError::field(status, &e, lang),
            ManageError::Store(e) => ApiError::store(e, lang),
            // Its lines are given by `file_refusal`, which the file's handler calls instead.
            ManageError::Lines(lines) => file_refused(lines.len(), lang),
        }
    }
}

/// The refusal of a file as a whole (a roster), without its lines.
fn file_refused(n: usize, lang: Lang) -> ApiError {
    ApiError::of(StatusCode::UNPROCESSABLE_ENTITY, "file_refused", lang).says(
        format!("Không thêm ai: {n} chỗ trong tệp cần sửa (xem từng dòng), rồi gửi lại cả tệp."),
        format!("No one was added: {n} problem(s) in the file to fix (see each line), then send it again whole."),
    )
}

/// A refusal as a response; a file refused whole carries every line that does not hold
/// (`error.lines`), which the common error shape has no room for.
pub(crate) fn refusal_response(e: ManageError, lang: Lang) -> axum::response::Response {
    use axum::response::IntoResponse;
    let ManageError::Lines(lines) = e else {
        return e.into_api(lang).into_response();
    };
    let body = *file_refused(lines.len(), lang).body;
    let lines = lines
        .into_iter()
        .map(|l| doorstep_domain::protocol::LineError {
            line: l.line as u64,
            field: l.field.map(str::to_string),
            messages: doorstep_domain::Messages { vi: l.vi, en: l.en },
        })
        .collect();
    let refusal =
        doorstep_domain::protocol::FileRefusal { error: doorstep_domain::protocol::FileRefusalBody { body, lines } };
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(refusal)).into_response()
}
