//! The HTTP face of `crate::photos`: `POST /api/v1/photos`, `PATCH /api/v1/photos/{sha256}`,
//! `GET /api/v1/photos`, `GET /api/v1/photos/{sha256}/image`.

use crate::http::AreaRefusals;
use crate::http::auth::Caller;
use crate::http::extract::{Query, ReqLang};
use crate::http::{ApiError, AppState, scoped_area};
use crate::photos::{Chunk, MAX_LISTED, NewPhotoLink, Registration, UPLOAD_OFFSET};
use crate::store::subtree_range;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use doorstep_domain::photo::{
    MAX_CHUNK_BYTES, MAX_PHOTO_BYTES, PhotoDto, PhotoMeta, TargetKind, UploadState, is_sha256_hex,
};
use doorstep_domain::protocol::ErrorResponse;
use doorstep_domain::values::AreaCode;
use doorstep_domain::{FieldError, Lang};
use serde::Deserialize;

fn photo_error(status: StatusCode, code: &str, vi: String, en: String, lang: Lang) -> ApiError {
    ApiError::of(status, code, lang).says(vi, en)
}

fn not_found(lang: Lang) -> ApiError {
    photo_error(
        StatusCode::NOT_FOUND,
        "photo_not_found",
        "Không có ảnh này (hoặc ảnh nằm ngoài phạm vi của tài khoản).".into(),
        "No such photo (or it is outside your account's areas).".into(),
        lang,
    )
}

fn bad_sha(lang: Lang) -> ApiError {
    photo_error(
        StatusCode::BAD_REQUEST,
        "bad_sha256",
        "Tên ảnh phải là mã SHA-256 gồm 64 chữ số hex viết thường.".into(),
        "A photo is named by its SHA-256: 64 lowercase hex digits.".into(),
        lang,
    )
}

fn too_large(lang: Lang) -> ApiError {
    let mb = MAX_PHOTO_BYTES / (1024 * 1024);
    photo_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "photo_too_large",
        format!("Ảnh vượt quá kích thước đã đăng ký hoặc quá {mb} MB."),
        format!("The photo is larger than registered, or than {mb} MB."),
        lang,
    )
}

/// Registers a photo's record from a phone, in its volunteer's areas. Answers how many bytes of
/// this picture the server holds from this phone: none for a picture it has not sent (whether
/// or not another phone has: knowing a hash is not having the picture), all of them
/// (`complete`) when an earlier attempt or another record of this phone sent them.
#[utoipa::path(post, path = "/api/v1/photos", request_body = PhotoMeta, responses(
    (status = 200, body = UploadState), (status = 400, body = ErrorResponse), (status = 403, body = ErrorResponse),
    (status = 409, description = "The id is taken by other content, or this phone registered this SHA-256 with another size", body = ErrorResponse),
    (status = 413, body = ErrorResponse), (status = 422, body = ErrorResponse)
))]
pub async fn register_photo(
    State(st): State<AppState>,
    ReqLang(lang): ReqLang,
    // A revoked phone may still upload what it holds before it erases itself.
    device: crate::http::auth::Uploader,
    body: Result<Json<PhotoMeta>, JsonRejection>,
) -> Result<Json<UploadState>, ApiError> {
    let Json(meta) = body.map_err(|e| crate::http::manage::bad_body(e, lang))?;
    if meta.size > MAX_PHOTO_BYTES {
        return Err(too_large(lang));
    }
    let meta = meta.validate().map_err(|e| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, &e, lang))?;
    let d = &device.0;
    let area = AreaCode::parse("area_code", &meta.area_code)
        .map_err(|e| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, &e, lang))?;
    let Some(path) = crate::areas::area_path(&*st.store, area.as_str()).await.map_err(|e| ApiError::store(e, lang))?
    else {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            &FieldError::new(
                "area_code",
                doorstep_domain::error::ErrorKind::UnknownArea { code: area.as_str().to_string() },
            ),
            lang,
        ));
    };
    let scope = crate::auth::scope_rule(&d.volunteer, d.assigned_paths.clone(), d.own_path.clone());
    if !scope.iter().any(|root| path.starts_with(root.as_str())) {
        return Err(ApiError::out_of_scope(lang));
    }
    let link = NewPhotoLink::new(meta, d.volunteer.user_id, d.device_id, chrono::Utc::now().timestamp_millis())
        .map_err(|e| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, &e, lang))?;
    match crate::photos::register(&*st.store, &link).await.map_err(|e| ApiError::store(e, lang))? {
        Registration::Stored(s) | Registration::Duplicate(s) => Ok(Json(s)),
        Registration::IdReused => Err(photo_error(
            StatusCode::CONFLICT,
            "id_reused",
            "Máy chủ đã có một ảnh khác với mã này; mã không được dùng lại.".into(),
            "The server holds another photo under this id; ids are never re-used.".into(),
            lang,
        )),
        Registration::SizeMismatch => Err(photo_error(
            StatusCode::CONFLICT,
            "size_mismatch",
            "Điện thoại này đã gửi một ảnh cùng mã SHA-256 nhưng khác kích thước; hãy chụp lại.".into(),
            "This phone registered a photo with this SHA-256 but another size; take the photo again.".into(),
            lang,
        )),
    }
}

/// One chunk of a registered photo's bytes from this phone, at `Upload-Offset`. A wrong offset
/// answers 409 with the server's for this phone's upload (in the `Upload-Offset` header and as
/// `received`), so the phone resumes there. The last chunk makes the server hash the whole: a
/// mismatch discards this phone's upload (422) and nothing else.
#[utoipa::path(patch, path = "/api/v1/photos/{sha256}",
    params(("sha256" = crate::http::params::Sha256, Path, description = "SHA-256 of the photo, lowercase hex"), ("Upload-Offset" = u64, Header, description = "Byte offset of this chunk")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"), responses(
    (status = 200, body = UploadState),
    (status = 401, description = "No device token, or an unknown one", body = ErrorResponse),
    (status = 404, body = ErrorResponse),
    (status = 409, description = "Wrong offset; the server's is in Upload-Offset", body = ErrorResponse),
    (status = 413, body = ErrorResponse),
    (status = 422, description = "The bytes do not hash to the name; this phone's upload is discarded", body = ErrorResponse)
))]
pub async fn upload_chunk(
    State(st): State<AppState>,
    headers: HeaderMap,
    ReqLang(lang): ReqLang,
    // A revoked phone may still upload what it holds before it erases itself.
    device: crate::http::auth::Uploader,
    Path(sha256): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<UploadState>, Response> {
    if !is_sha256_hex(&sha256) {
        return Err(bad_sha(lang).into_response());
    }
    let Some(offset) =
        headers.get(UPLOAD_OFFSET).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok())
    else {
        return Err(photo_error(
            StatusCode::BAD_REQUEST,
            "upload_offset_required",
            "Thiếu tiêu đề Upload-Offset (vị trí byte của phần gửi).".into(),
            "The Upload-Offset header (the chunk's byte offset) is required.".into(),
            lang,
        )
        .into_response());
    };
    let chunk = body.map_err(|_| too_large(lang).into_response())?;
    if chunk.len() > MAX_CHUNK_BYTES {
        return Err(too_large(lang).into_response());
    }
    let outcome = crate::photos::append(&*st.store, &sha256, device.0.device_id, offset, &chunk)
        .await
        .map_err(|e| ApiError::store(e, lang).into_response())?;
    match outcome {
        Chunk::Accepted(state) => {
            if state.complete {
                tracing::info!(sha256, "photo complete");
            }
            Ok(Json(state))
        }
        Chunk::WrongOffset(received) => {
            let mut response = (
                StatusCode::CONFLICT,
                Json(serde_json::json!({
                    "error": {
                        "code": "wrong_offset",
                        "message": match lang {
                            Lang::Vi => format!("Máy chủ đang giữ {received} byte của ảnh này; hãy gửi tiếp từ đó."),
                            Lang::En => format!("The server holds {received} bytes of this photo; go on from there."),
                        },
                        "messages": {
                            "vi": format!("Máy chủ đang giữ {received} byte của ảnh này; hãy gửi tiếp từ đó."),
                            "en": format!("The server holds {received} bytes of this photo; go on from there."),
                        }
                    },
                    "received": received,
                })),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&received.to_string()) {
                response.headers_mut().insert(UPLOAD_OFFSET, v);
            }
            Err(response)
        }
        Chunk::TooLarge => Err(too_large(lang).into_response()),
        Chunk::Mismatch => {
            tracing::warn!(sha256, device = %device.0.device_id, "photo bytes did not match their SHA-256; discarded");
            Err(photo_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "sha256_mismatch",
                "Dữ liệu ảnh nhận được không khớp mã SHA-256 nên đã bị bỏ; thiết bị sẽ gửi lại.".into(),
                "The photo's bytes did not match its SHA-256 and were discarded; the phone will send again.".into(),
                lang,
            )
            .into_response())
        }
        Chunk::Unknown => Err(not_found(lang).into_response()),
    }
}

/// The photos in an area's subtree, for a day and/or a target, oldest first.
#[utoipa::path(get, path = "/api/v1/photos", params(PhotoQuery), responses(
    (status = 200, body = Vec<PhotoDto>), AreaRefusals
))]
pub async fn list_photos(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Caller, Query(q): Query<PhotoQuery>,
) -> Result<Json<Vec<PhotoDto>>, ApiError> {
    crate::http::filter::staff_only(&caller.0, lang)?;
    let (_, path) = scoped_area(&st, &caller.0, &q.area, "area", lang).await?;
    let day = match q.day.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => Some(
            crate::http::report::parse_date("day", Some(d), chrono::NaiveDate::MIN, lang)?
                .format("%Y-%m-%d")
                .to_string(),
        ),
        None => None,
    };
    let kind = match q.target_kind.as_deref().filter(|k| !k.trim().is_empty()) {
        Some(k) => Some(
            TargetKind::parse("target_kind", k)
                .map_err(|e| ApiError::field(StatusCode::BAD_REQUEST, &e, lang))?
                .as_str()
                .to_string(),
        ),
        None => None,
    };
    let target = q.target_id.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    let (lo, hi) = subtree_range(&path);
    let photos =
        crate::photos::list(&*st.store, &lo, &hi, day.as_deref(), kind.as_deref(), target.as_deref(), MAX_LISTED)
            .await
            .map_err(|e| ApiError::store(e, lang))?;
    Ok(Json(photos))
}

/// A photo's JPEG, if one of its records whose phone sent the bytes lies in the caller's areas
/// (otherwise 404, as for a photo that does not exist). Content-addressed, so it never changes:
/// cached for a year.
#[utoipa::path(get, path = "/api/v1/photos/{sha256}/image",
    params(("sha256" = crate::http::params::Sha256, Path, description = "SHA-256 of the photo, lowercase hex")),
    responses(
    (status = 200, description = "The JPEG", content_type = "image/jpeg"), (status = 404, body = ErrorResponse)
))]
pub async fn photo_image(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Caller, Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    if !is_sha256_hex(&sha256) {
        return Err(bad_sha(lang));
    }
    crate::http::filter::staff_only(&caller.0, lang)?;
    let Some((paths, bytes)) = crate::photos::image(&*st.store, &sha256).await.map_err(|e| ApiError::store(e, lang))?
    else {
        return Err(not_found(lang));
    };
    let scope = crate::auth::scope_paths(st.store.as_ref(), &caller.0).await.map_err(|e| ApiError::store(e, lang))?;
    if !paths.iter().any(|p| scope.iter().any(|root| p.starts_with(root.as_str()))) {
        return Err(not_found(lang));
    }
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    Ok(response)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PhotoQuery {
    /// The area whose subtree to list.
    #[param(value_type = crate::http::params::AreaCode)]
    pub area: String,
    /// The phones' local day, `YYYY-MM-DD`.
    #[param(value_type = crate::http::params::DayOrBlank, required = false)]
    pub day: Option<String>,
    /// `visit`, `venue_visit` or `day`.
    #[param(value_type = crate::http::params::TargetKindOrBlank, required = false)]
    pub target_kind: Option<String>,
    /// A visit id, a venue-visit id, or a date.
    pub target_id: Option<String>,
}
