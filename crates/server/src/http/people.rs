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
    ErrorResponse, NewUserRequest, NewUserResponse, PasswordCode, PasswordResetRequest, PersonDto, UserPatch,
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
    let throttled = [(crate::auth::password_code_key(&client), crate::auth::ADDRESS_FREE_FAILURES)];
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
