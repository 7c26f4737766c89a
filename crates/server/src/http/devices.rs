//! Handlers: enrolment codes, enrolling a phone, a phone's own state, revoking one.

use crate::http::extract::{Body, ReqLang};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use doorstep_domain::protocol::{
    DeviceDto, EnrolRequest, EnrolResponse, EnrolmentCode, EnrolmentRequest, ErrorResponse, UserDto,
};
use doorstep_domain::values::{AreaCode, Id};

use crate::devices::Redemption;

use super::sessions::too_many_attempts;
use super::*;

use crate::devices::ENROLMENT_TTL_HOURS;

/// A team leader or admin issues a one-time code with which a volunteer's phone enrols.
#[utoipa::path(post, path = "/api/v1/enrolments", request_body = EnrolmentRequest, responses(
    (status = 200, body = EnrolmentCode), (status = 403, description = "Not a leader or admin", body = ErrorResponse),
    (status = 404, description = "No such volunteer in the caller's areas", body = ErrorResponse)
))]
pub(crate) async fn issue_enrolment(
    State(st): State<AppState>, headers: HeaderMap, caller: crate::http::auth::Caller,
    body: Result<Json<EnrolmentRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<EnrolmentCode>, ApiError> {
    use doorstep_domain::account::Role;
    let lang = lang_of(&headers);
    crate::http::leader_only(
        &caller.0,
        "Chỉ tổ trưởng hoặc quản trị viên cấp được mã đăng ký thiết bị.",
        "Only a team leader or an admin may issue enrolment codes.",
        lang,
    )?;
    let Json(request) = body.map_err(|e| {
        ApiError::of(StatusCode::BAD_REQUEST, "malformed_json", lang)
            .says(format!("Nội dung không hợp lệ: {}", e.body_text()), format!("Invalid body: {}", e.body_text()))
    })?;
    let no_such = || {
        ApiError::of(StatusCode::NOT_FOUND, "no_such_volunteer", lang)
            .on("volunteer")
            .says("Không có tình nguyện viên với tên đăng nhập này.", "No volunteer has this username.")
    };
    let name = doorstep_domain::account::Username::parse("volunteer", &request.volunteer).map_err(|_| no_such())?;
    let volunteer = crate::accounts::user_by_username(&*st.store, &name).await.map_err(|e| ApiError::store(e, lang))?;
    let Some(volunteer) = volunteer.filter(|u| u.role == Role::Volunteer && !u.disabled) else {
        return Err(no_such());
    };
    // A volunteer outside the caller's areas is answered as one that does not exist.
    let area = AreaCode::parse("area", &volunteer.area_code).map_err(|_| no_such())?;
    in_scope(&st, &caller.0, &area, lang).await.map_err(|_| no_such())?;
    let (code, hash) = crate::auth::new_enrolment_code();
    let now = Utc::now();
    let expires = now + chrono::Duration::hours(ENROLMENT_TTL_HOURS);
    crate::devices::create_enrolment(
        &*st.store,
        hash,
        volunteer.id,
        &caller.0.username,
        now.timestamp_millis(),
        expires.timestamp_millis(),
    )
    .await
    .map_err(|e| ApiError::store(e, lang))?;
    crate::accounts::record_audit(
        &*st.store,
        crate::accounts::AuditEntry {
            at_ms: now.timestamp_millis(),
            actor: caller.0.username.clone(),
            action: "enrol-code".into(),
            detail: format!("for {}", volunteer.username),
        },
    )
    .await
    .map_err(|e| ApiError::store(e, lang))?;
    // The link with the server's address, as on the printed cards: nobody types it.
    let qr_svg =
        crate::auth::enrolment_qr_svg(&crate::cards::card_link(&super::people::server_address(&headers), &code));
    Ok(Json(EnrolmentCode { code, expires_at: expires.to_rfc3339(), volunteer: volunteer.username, qr_svg }))
}

/// A phone exchanges a one-time code for its device token.
#[utoipa::path(post, path = "/api/v1/enrol", request_body = EnrolRequest, responses(
    (status = 200, body = EnrolResponse),
    (status = 401, description = "Unknown, used or expired code", body = ErrorResponse),
    (status = 409, description = "The device id is enrolled for another volunteer", body = ErrorResponse),
    (status = 429, description = "Too many wrong codes from this address", body = ErrorResponse),
    (status = 503, description = "Storage unavailable; try again later", body = ErrorResponse)
))]
pub(crate) async fn enrol(
    State(st): State<AppState>, client: crate::auth::ClientAddr, ReqLang(lang): ReqLang,
    body: Result<Json<EnrolRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    // Shares the sign-in's throttle (no Argon2 here: a code is 50 random bits, hashed with
    // SHA-256). Counted as it arrives; an enrolment that succeeds takes it back.
    let throttled = [(crate::auth::enrol_key(&client), st.limits.address_free_failures)];
    if let Err(wait) = st.logins.attempt(&throttled) {
        return too_many_attempts(wait, lang);
    }
    let Ok(Json(request)) = body else {
        return ApiError::of(StatusCode::BAD_REQUEST, "malformed_json", lang)
            .says("Cần JSON {\"code\": ..., \"device_id\": ...}.", "Expected JSON {\"code\": ..., \"device_id\": ...}.")
            .into_response();
    };
    let device_id = match Id::parse("device_id", &request.device_id) {
        Ok(id) => id,
        Err(e) => return ApiError::field(StatusCode::BAD_REQUEST, &e, lang).into_response(),
    };
    let (token, token_hash) = crate::auth::new_token();
    let now = Utc::now().timestamp_millis();
    let code_hash = crate::auth::enrolment_code_hash(&request.code);
    match crate::devices::redeem_enrolment(&*st.store, code_hash, device_id.uuid(), token_hash, now).await {
        Ok(Redemption::Enrolled(user)) => {
            st.logins.refund(&throttled);
            tracing::info!(volunteer = %user.username, "a device enrolled");
            Json(EnrolResponse {
                device_token: token,
                volunteer_id: user.user_id.to_string(),
                volunteer: UserDto { username: user.username, role: user.role, area_code: user.area_code },
            })
            .into_response()
        }
        Ok(Redemption::DeviceTaken) => {
            // A right code with the wrong phone is no guess: not counted against the address.
            st.logins.refund(&throttled);
            tracing::warn!(device = %device_id, "an enrolment named a device enrolled for another volunteer");
            ApiError::of(StatusCode::CONFLICT, "device_taken", lang)
                .on("device_id")
                .says(
                    "Điện thoại này đang được đăng ký cho một tình nguyện viên khác. Hãy nhờ tổ trưởng thu hồi máy \
                     trước: máy sẽ gửi hết dữ liệu, tự xoá, rồi mới đăng ký lại được.",
                    "This phone is enrolled for another volunteer. Ask the team leader to revoke it first: it sends \
                     what it holds, erases itself, and can then be enrolled again.",
                )
                .into_response()
        }
        Ok(Redemption::Invalid) => ApiError::of(StatusCode::UNAUTHORIZED, "enrolment_code_invalid", lang)
            .on("code")
            .says(
                "Mã đăng ký không đúng, đã dùng hoặc đã hết hạn; hãy xin tổ trưởng mã mới.",
                "The enrolment code is wrong, used or expired; ask your team leader for a new one.",
            )
            .into_response(),
        Err(e) => ApiError::store(e, lang).into_response(),
    }
}

/// The enrolled device calling, and its volunteer. A revoked device is told so (`revoked`: when,
/// and why if the leader said), with no areas: it uploads what it still holds, then erases its
/// data. The first call of a phone's sync.
#[utoipa::path(get, path = "/api/v1/devices/me", responses(
    (status = 200, body = DeviceDto), (status = 401, body = ErrorResponse),
    (status = 503, description = "Storage unavailable; ask again later", body = ErrorResponse)
))]
pub(crate) async fn device_me(
    State(st): State<AppState>, headers: HeaderMap, crate::http::auth::Uploader(device): crate::http::auth::Uploader,
) -> Result<Json<DeviceDto>, ApiError> {
    if device.revoked {
        // Nothing of its scope: a thief's phone learns only that it must erase itself.
        let lang = lang_of(&headers);
        let token = crate::http::auth::bearer_token(&headers).unwrap_or_default();
        let revocation = crate::devices::revocation(&*st.store, crate::auth::token_hash(token))
            .await
            .map_err(|e| ApiError::store(e, lang))?;
        let (at_ms, reason) = revocation.map(|r| (r.at_ms, r.reason)).unwrap_or((0, None));
        let revoked_at = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or_default();
        let v = device.volunteer;
        return Ok(Json(DeviceDto {
            areas: Vec::new(),
            device_id: device.device_id.to_string(),
            volunteer: UserDto { username: v.username, role: v.role, area_code: v.area_code },
            revoked: Some(doorstep_domain::protocol::RevocationDto {
                revoked_at: revoked_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                reason,
            }),
        }));
    }
    let scope = crate::auth::scope_rule(&device.volunteer, device.assigned_paths, device.own_path);
    // A path ends with its area's code: '/42/436/18073/'.
    let areas = scope.iter().filter_map(|p| p.trim_end_matches('/').rsplit('/').next()).map(str::to_string).collect();
    let v = device.volunteer;
    Ok(Json(DeviceDto {
        areas,
        device_id: device.device_id.to_string(),
        volunteer: UserDto { username: v.username, role: v.role, area_code: v.area_code },
        revoked: None,
    }))
}

/// A leader or admin revokes a lost phone: its token reads nothing any more; what it synced stays,
/// and when it next reaches the server it uploads what it still holds, then erases itself.
#[utoipa::path(post, path = "/api/v1/devices/{id}/revoke",
    params(("id" = params::RecordId, Path, description = "The device's UUID")),
    request_body(content = Option<doorstep_domain::protocol::RevokeRequest>, description = "Optional: why (JSON); an empty body gives no reason"),
    responses(
    (status = 204), (status = 400, description = "The body is not a RevokeRequest", body = ErrorResponse),
    (status = 422, description = "The reason is not one line of at most 200 characters", body = ErrorResponse),
    (status = 403, body = ErrorResponse), (status = 413, description = "The body is too large", body = ErrorResponse),
    (status = 404, body = ErrorResponse)
))]
pub(crate) async fn revoke_device(
    State(st): State<AppState>, headers: HeaderMap, caller: crate::http::auth::Caller,
    axum::extract::Path(id): axum::extract::Path<String>, Body(body): Body,
) -> Result<StatusCode, ApiError> {
    let lang = lang_of(&headers);
    // The body is optional: older callers send `{}` or nothing.
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        // `null` is the documented optional body left out, as much as an empty one.
        let request: Option<doorstep_domain::protocol::RevokeRequest> = serde_json::from_slice(&body).map_err(|e| {
            ApiError::of(StatusCode::BAD_REQUEST, "malformed_json", lang)
                .says(format!("Nội dung không hợp lệ: {e}"), format!("Invalid body: {e}"))
        })?;
        // Well-formed but refused on its merits: 422, as the send-back's comment.
        crate::auth::revoke_reason(request.and_then(|r| r.reason).as_deref())
            .map_err(|e| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, &e, lang))?
    };
    crate::http::leader_only(
        &caller.0,
        "Chỉ tổ trưởng hoặc quản trị viên thu hồi được thiết bị.",
        "Only a team leader or an admin may revoke a device.",
        lang,
    )?;
    let device = Id::parse("id", &id).map_err(|e| ApiError::field(StatusCode::BAD_REQUEST, &e, lang))?;
    let no_such = || {
        ApiError::of(StatusCode::NOT_FOUND, "no_such_device", lang)
            .says("Không có thiết bị đang hoạt động với mã này.", "No live device has this id.")
    };
    // Only devices of volunteers within the caller's areas; others look like no device at all.
    let area = crate::devices::device_area(&*st.store, device.uuid())
        .await
        .map_err(|e| ApiError::store(e, lang))?
        .ok_or_else(no_such)?;
    let area = AreaCode::parse("area", &area).map_err(|_| no_such())?;
    if in_scope(&st, &caller.0, &area, lang).await.is_err() {
        return Err(no_such());
    }
    let revoked = crate::devices::revoke_device(&*st.store, device.uuid(), Utc::now().timestamp_millis(), reason)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    if revoked == 0 {
        return Err(no_such());
    }
    crate::accounts::record_audit(
        &*st.store,
        crate::accounts::AuditEntry {
            at_ms: Utc::now().timestamp_millis(),
            actor: caller.0.username.clone(),
            action: "revoke-device".into(),
            detail: device.to_string(),
        },
    )
    .await
    .map_err(|e| ApiError::store(e, lang))?;
    Ok(StatusCode::NO_CONTENT)
}
