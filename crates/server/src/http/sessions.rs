//! Handlers: signing in and out, who is signed in, the audit log.

use crate::http::extract::{Body, ReqLang};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use doorstep_domain::Lang;
use doorstep_domain::protocol::{ErrorResponse, LoginRequest, LoginResponse, UserDto};
use serde::Deserialize;

use super::*;

pub(crate) fn too_many_attempts(wait: Duration, lang: Lang) -> Response {
    let secs = wait.as_secs().max(1);
    let mut response = ApiError::of(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", lang)
        .says(
            format!("Đăng nhập sai quá nhiều lần; hãy thử lại sau {secs} giây."),
            format!("Too many failed sign-ins; try again in {secs} seconds."),
        )
        .into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// Every password check is taken and the line behind them is full: nothing was checked.
pub(crate) fn sign_in_busy(lang: Lang) -> Response {
    let mut response = ApiError::of(StatusCode::SERVICE_UNAVAILABLE, "sign_in_busy", lang)
        .says(
            "Máy chủ đang bận kiểm tra các lượt đăng nhập khác; hãy thử lại sau 1 giây.",
            "The server is busy checking other sign-ins; try again in a second.",
        )
        .into_response();
    response.headers_mut().insert(header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
    response
}

pub(crate) fn invalid_credentials(lang: Lang) -> ApiError {
    // One answer for an unknown name, a wrong password and a disabled account.
    ApiError::of(StatusCode::UNAUTHORIZED, "invalid_credentials", lang)
        .says("Tên đăng nhập hoặc mật khẩu không đúng.", "The username or password is wrong.")
}

/// Sign in with a username and password; answers a bearer token that expires.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest, responses(
    (status = 200, body = LoginResponse), (status = 400, body = ErrorResponse),
    (status = 401, description = "Wrong username or password", body = ErrorResponse),
    (status = 429, description = "Too many failed sign-ins; see Retry-After", body = ErrorResponse),
    (status = 503, description = "Storage unavailable, or too many sign-ins being checked; see Retry-After", body = ErrorResponse)
))]
pub(crate) async fn login(
    State(st): State<AppState>, client: crate::auth::ClientAddr, ReqLang(lang): ReqLang, Body(body): Body,
) -> Response {
    let request: LoginRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) => {
            return ApiError::of(StatusCode::BAD_REQUEST, "malformed_json", lang)
                .says(
                    "Cần JSON {\"username\": ..., \"password\": ...}.",
                    "Expected JSON {\"username\": ..., \"password\": ...}.",
                )
                .into_response();
        }
    };
    let address = (crate::auth::address_key(&client), st.limits.address_free_failures);
    let account = (crate::auth::account_key(&request.username, &client), st.limits.account_free_failures);
    // Counted as a failure before it is checked, so that a burst is held up as it arrives; a
    // right password takes it back.
    let throttled = [address, account];
    if let Err(wait) = st.logins.attempt(&throttled) {
        return too_many_attempts(wait, lang);
    }
    let user = match doorstep_domain::account::Username::parse("username", &request.username) {
        Ok(name) => match crate::accounts::user_by_username(&*st.store, &name).await {
            Ok(u) => u,
            Err(e) => {
                st.logins.refund(&throttled);
                return ApiError::store(e, lang).into_response();
            }
        },
        Err(_) => None,
    };
    // An unknown name and a disabled account are checked against a hash nobody knows, in the
    // same time: one answer, one duration.
    // An account with no password yet (a volunteer's, or a new one whose code is unused) is
    // checked the same way.
    let stored = user.as_ref().filter(|u| !u.disabled && !u.password_hash.is_empty()).map(|u| u.password_hash.clone());
    let checked = match st.passwords.verify(request.password, stored).await {
        Ok(checked) => checked,
        Err(crate::auth::GateBusy) => {
            st.logins.refund(&throttled);
            return sign_in_busy(lang);
        }
    };
    let Some(user) = user.filter(|_| checked) else {
        tracing::info!("a login failed");
        return invalid_credentials(lang).into_response();
    };
    st.logins.refund(&throttled);
    st.logins.succeeded(&throttled[1].0);
    let (token, hash) = crate::auth::new_token();
    let now = Utc::now();
    let expires = now + chrono::Duration::from_std(st.limits.session_ttl).unwrap_or(chrono::Duration::hours(14));
    if let Err(e) =
        crate::accounts::create_session(&*st.store, hash, user.id, now.timestamp_millis(), expires.timestamp_millis())
            .await
    {
        return ApiError::store(e, lang).into_response();
    }
    tracing::info!(user = %user.username, "signed in");
    Json(LoginResponse {
        token,
        expires_at: expires.to_rfc3339(),
        user: UserDto { username: user.username, role: user.role, area_code: user.area_code },
    })
    .into_response()
}

/// End this session: its token opens nothing any more.
#[utoipa::path(post, path = "/api/v1/auth/logout", responses(
    (status = 204, description = "Signed out"), (status = 401, body = ErrorResponse)
))]
pub(crate) async fn logout(
    State(st): State<AppState>, headers: HeaderMap, ReqLang(lang): ReqLang, _caller: crate::http::auth::Caller,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| t.trim().to_string())
        .unwrap_or_default();
    match crate::accounts::revoke_session(&*st.store, crate::auth::token_hash(&token)).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError::store(e, lang).into_response(),
    }
}

/// Who this session belongs to: username, role and the area it covers.
#[utoipa::path(get, path = "/api/v1/auth/me", responses(
    (status = 200, body = UserDto), (status = 401, body = ErrorResponse)
))]
pub(crate) async fn me(crate::http::auth::Caller(user): crate::http::auth::Caller) -> Json<UserDto> {
    Json(UserDto { username: user.username, role: user.role, area_code: user.area_code })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// How many entries, newest first (default 100; 0 counts as 1, more than 1,000 as 1,000).
    #[param(value_type = i64, minimum = 0, maximum = 4294967295_i64, required = false)]
    limit: Option<u32>,
}

/// The audit log of administrative actions, newest first. Admins only.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery), responses(
    (status = 200, body = [crate::accounts::AuditRecord]), (status = 401, body = ErrorResponse),
    (status = 403, description = "Not an admin", body = ErrorResponse)
))]
pub(crate) async fn audit(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: crate::http::auth::Caller,
    q: Result<axum::extract::Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<crate::accounts::AuditRecord>>, ApiError> {
    if caller.0.role != doorstep_domain::account::Role::Admin {
        return Err(ApiError::of(StatusCode::FORBIDDEN, "admin_only", lang)
            .says("Chỉ quản trị viên xem được nhật ký quản trị.", "Only an admin may read the audit log."));
    }
    let axum::extract::Query(q) = q.map_err(|e| query_error(e, lang))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    crate::accounts::audit_log(&*st.store, limit).await.map(Json).map_err(|e| ApiError::store(e, lang))
}
