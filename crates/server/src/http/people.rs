//! The HTTP face of `crate::people`: `POST|GET /api/v1/users`, `PATCH /api/v1/users/{username}`,
//! `POST /api/v1/users/{username}/reset`, and `POST /api/v1/auth/reset` (open: a password set
//! with a one-time code).

use crate::http::auth::Caller;
use crate::http::extract::{Body, ReqLang, Scoped, Staff, scoped_query};
use crate::http::sessions::{sign_in_busy, too_many_attempts};
use crate::http::{ApiError, AppState, AreaRefusals, json_object};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use doorstep_domain::protocol::{
    ErrorResponse, FileRefusal, ImportResponse, NewUserRequest, NewUserResponse, PasswordCode, PasswordResetRequest,
    PersonDto, UserPatch,
};
use serde::Deserialize;

/// A leader adds a volunteer of their areas; an admin adds anyone. No password is sent: a staff
/// account answers a one-time code its owner sets their password with (`POST /api/v1/auth/reset`),
/// a volunteer's phone enrols with an enrolment code.
#[utoipa::path(post, path = "/api/v1/users", request_body = NewUserRequest, responses(
    (status = 201, body = NewUserResponse), AreaRefusals,
    (status = 409, description = "The username is taken", body = ErrorResponse),
    (status = 422, description = "The username or display name does not read", body = ErrorResponse)
))]
pub async fn create_user(
    State(st): State<AppState>, ReqLang(lang): ReqLang, Caller(caller): Caller, Body(body): Body,
) -> Result<(StatusCode, Json<NewUserResponse>), ApiError> {
    let request: NewUserRequest = json_object(&body, lang)?;
    let now = Utc::now().timestamp_millis();
    let (user, password_code) =
        crate::people::create(&*st.store, &caller, &request, now).await.map_err(|e| e.into_api(lang))?;
    tracing::info!(by = %caller.username, user = %user.username, "an account was made");
    Ok((StatusCode::CREATED, Json(NewUserResponse { user, password_code })))
}

/// Adds the people of a roster file (CSV or XLSX; Vietnamese or English headers: tên đăng nhập /
/// username, họ tên / display name, vai trò / role, mã địa bàn / area code, tổ / team), all or
/// none: a refusal lists every line that does not hold, in both languages.
#[utoipa::path(post, path = "/api/v1/users/import",
    request_body(content = String, description = "The file: CSV (UTF-8, comma or semicolon) or XLSX (its first sheet)",
        content_type = "text/csv"),
    responses(
    (status = 201, body = ImportResponse),
    (status = 403, description = "Not a leader or admin", body = ErrorResponse),
    (status = 413, description = "The file is too large", body = ErrorResponse),
    (status = 422, description = "The file does not read (`file_unreadable`), or lines of it do not hold (`file_refused`, with `error.lines`)", body = FileRefusal)
))]
pub async fn import_users(
    State(st): State<AppState>, ReqLang(lang): ReqLang, Caller(caller): Caller, Body(body): Body,
) -> Result<(StatusCode, Json<ImportResponse>), Response> {
    let rows = crate::targets::read_table_bytes(&body).map_err(|e| {
        ApiError::of(StatusCode::UNPROCESSABLE_ENTITY, "file_unreadable", lang)
            .says(
                format!("Không đọc được tệp: {e}. Hãy gửi tệp CSV (UTF-8) hoặc XLSX."),
                format!("The file does not read: {e}. Send a CSV (UTF-8) or XLSX file."),
            )
            .into_response()
    })?;
    let now = Utc::now().timestamp_millis();
    let done = crate::people::import(&*st.store, &caller, rows, now)
        .await
        .map_err(|e| crate::http::manage::refusal_response(e, lang))?;
    tracing::info!(by = %caller.username, people = done.people.len(), "a roster was imported");
    Ok((StatusCode::CREATED, Json(ImportResponse { people: done.people, password_codes: done.password_codes })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CardsQuery {
    /// The area whose volunteers without a live phone get a card.
    #[param(value_type = crate::http::params::AreaCode)]
    pub area: String,
    /// Only this team's members (a team of the area, by name).
    pub team: Option<String>,
}
scoped_query!(CardsQuery, area);

/// The server's address as the phone should reach it: as the request reached us.
pub(super) fn server_address(headers: &axum::http::HeaderMap) -> String {
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let https =
        headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// A printable page of enrolment cards (A4, eight a sheet): for every volunteer of the area (or
/// of one team of it) without a live phone, a fresh one-time code with its QR, the server's
/// address, the volunteer's name and area, and two lines of instructions. Each code is audited.
#[utoipa::path(get, path = "/api/v1/enrolments/cards", params(CardsQuery), responses(
    (status = 200, description = "The page, made for print", content_type = "text/html"), AreaRefusals,
    (status = 422, description = "Too many cards for one page: print by commune or team", body = ErrorResponse)
))]
pub async fn enrolment_cards(
    State(st): State<AppState>, ReqLang(lang): ReqLang, headers: axum::http::HeaderMap,
    Scoped { q, path, caller, area }: Scoped<CardsQuery>,
) -> Result<Response, ApiError> {
    let now = Utc::now().timestamp_millis();
    let team = q.team.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let cards = crate::cards::issue_cards(&*st.store, &caller, &path, team, now).await.map_err(|e| e.into_api(lang))?;
    let area_name = crate::areas::area_name(&*st.store, area.as_str())
        .await
        .map_err(|e| ApiError::store(e, lang))?
        .unwrap_or_else(|| area.to_string());
    tracing::info!(by = %caller.username, area = %area, cards = cards.len(), "enrolment cards were printed");
    let page = crate::cards::cards_page(&cards, &server_address(&headers), &area_name, st.campaign.utc_offset_minutes);
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// The area whose subtree's accounts are listed.
    #[param(value_type = crate::http::params::AreaCode)]
    pub area: String,
}
scoped_query!(UsersQuery, area);

/// The accounts of an area's subtree (staff only), by area then username, each with its teams
/// and phones (enrolled, last sync, revoked).
#[utoipa::path(get, path = "/api/v1/users", params(UsersQuery), responses((status = 200, body = [PersonDto]), AreaRefusals))]
pub async fn list_users(
    State(st): State<AppState>, ReqLang(lang): ReqLang, _staff: Staff, Scoped { path, .. }: Scoped<UsersQuery>,
) -> Result<Json<Vec<PersonDto>>, ApiError> {
    crate::people::list(&*st.store, &path).await.map(Json).map_err(|e| ApiError::store(e, lang))
}

/// Renames, moves or disables an account (a leader: the volunteers of their areas; an admin:
/// anyone). Disabling ends its sessions and revokes its phones.
#[utoipa::path(patch, path = "/api/v1/users/{username}", request_body = UserPatch,
    params(("username" = String, Path, description = "The account's username")), responses(
    (status = 200, body = PersonDto), AreaRefusals,
    (status = 422, description = "The display name does not read, or an account disables or moves itself", body = ErrorResponse)
))]
pub async fn update_user(
    State(st): State<AppState>, ReqLang(lang): ReqLang, Caller(caller): Caller, Path(username): Path<String>,
    Body(body): Body,
) -> Result<Json<PersonDto>, ApiError> {
    let patch: UserPatch = json_object(&body, lang)?;
    let now = Utc::now().timestamp_millis();
    crate::people::update(&*st.store, &caller, &username, &patch, now).await.map(Json).map_err(|e| e.into_api(lang))
}

/// A one-time code, valid 24 hours and shown once, with which the account's owner sets a new
/// password at the sign-in page. An admin issues it for anyone with a password; a committee
/// member for the leaders of their areas.
#[utoipa::path(post, path = "/api/v1/users/{username}/reset",
    params(("username" = String, Path, description = "The account's username")), responses(
    (status = 200, body = PasswordCode), AreaRefusals,
    (status = 422, description = "A volunteer (no password) or a disabled account", body = ErrorResponse)
))]
pub async fn issue_reset(
    State(st): State<AppState>, ReqLang(lang): ReqLang, Caller(caller): Caller, Path(username): Path<String>,
) -> Result<Json<PasswordCode>, ApiError> {
    let now = Utc::now().timestamp_millis();
    let code =
        crate::people::issue_password_code(&*st.store, &caller, &username, now).await.map_err(|e| e.into_api(lang))?;
    tracing::info!(by = %caller.username, user = %code.username, "a password code was issued");
    Ok(Json(code))
}

/// Sets a new password with a one-time code; every session of the account ends. Throttled per
/// address as enrolment codes are; a wrong code costs no password hashing.
#[utoipa::path(post, path = "/api/v1/auth/reset", request_body = PasswordResetRequest, responses(
    (status = 204, description = "The password is set; sign in with it"),
    (status = 401, description = "Unknown, used or expired code", body = ErrorResponse),
    (status = 422, description = "The new password is too short or too long", body = ErrorResponse),
    (status = 429, description = "Too many wrong codes from this address", body = ErrorResponse),
    (status = 503, description = "Storage unavailable, or too many passwords being hashed; see Retry-After", body = ErrorResponse)
))]
pub async fn reset_password(
    State(st): State<AppState>, client: crate::auth::ClientAddr, ReqLang(lang): ReqLang, Body(body): Body,
) -> Response {
    let throttled = [(crate::auth::password_code_key(&client), st.limits.address_free_failures)];
    if let Err(wait) = st.logins.attempt(&throttled) {
        return too_many_attempts(wait, lang);
    }
    let Ok(request) = serde_json::from_slice::<PasswordResetRequest>(&body) else {
        st.logins.refund(&throttled);
        return ApiError::of(StatusCode::BAD_REQUEST, "malformed_json", lang)
            .says(
                "Cần JSON {\"username\": ..., \"code\": ..., \"new_password\": ...}.",
                "Expected JSON {\"username\": ..., \"code\": ..., \"new_password\": ...}.",
            )
            .into_response();
    };
    if let Err(e) = doorstep_domain::account::check_new_password("new_password", &request.new_password) {
        st.logins.refund(&throttled);
        return ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, &e, lang).into_response();
    }
    let invalid = || {
        ApiError::of(StatusCode::UNAUTHORIZED, "password_code_invalid", lang)
            .on("code")
            .says(
                "Mã đặt mật khẩu không đúng, đã dùng hoặc đã hết hạn; hãy xin quản trị viên mã mới.",
                "The password code is wrong, used or expired; ask an admin for a new one.",
            )
            .into_response()
    };
    let username = match doorstep_domain::account::Username::parse("username", &request.username) {
        Ok(name) => name,
        Err(_) => return invalid(),
    };
    let code_hash = crate::auth::enrolment_code_hash(&request.code);
    let now = Utc::now().timestamp_millis();
    match crate::people::code_is_live(&*st.store, username.as_str(), code_hash, now).await {
        Ok(true) => {}
        Ok(false) => return invalid(),
        Err(e) => return ApiError::store(e, lang).into_response(),
    }
    // Hashed only for a live code, one at a time per slot of the sign-in's gate.
    let password = request.new_password;
    let hash = match st.passwords.run(move |_| crate::auth::hash_password(&password)).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(e)) => return ApiError::store(e, lang).into_response(),
        Err(crate::auth::GateBusy) => return sign_in_busy(lang),
    };
    match crate::people::set_password(&*st.store, username.as_str(), code_hash, &hash, now).await {
        Ok(true) => {
            st.logins.refund(&throttled);
            tracing::info!(user = %username.as_str(), "a password was set with a code");
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(false) => invalid(),
        Err(e) => ApiError::store(e, lang).into_response(),
    }
}
