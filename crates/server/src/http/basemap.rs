//! The HTTP face of `crate::basemap`: `GET /api/v1/basemap` (what is held) and
//! `GET /api/v1/basemap.pmtiles` (its bytes, with range requests), for staff and enrolled phones.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use doorstep_domain::Lang;
use doorstep_domain::protocol::{BasemapInfo, ErrorResponse};

use crate::basemap::{MAX_RANGE, parse_range};
use crate::http::auth::{Caller, Device};
use crate::http::extract::ReqLang;
use crate::http::{ApiError, AppState, lang_of};

/// Someone the base map is for: a signed-in person or an enrolled, unrevoked phone. Anyone else
/// gets 401 before a byte is read (a province's map is tens of megabytes).
pub struct MapReader;

impl FromRequestParts<AppState> for MapReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if Caller::from_request_parts(parts, state).await.is_ok() {
            return Ok(MapReader);
        }
        match Device::from_request_parts(parts, state).await {
            Ok(_) => Ok(MapReader),
            Err(e) if e.status == StatusCode::FORBIDDEN => Err(e),
            Err(_) => Err(ApiError::unauthenticated(lang_of(&parts.headers))),
        }
    }
}

/// What both base map answers may refuse, named once for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
pub enum MapRefusals {
    /// Not signed in, and no enrolled phone's token.
    #[response(status = 401)]
    Unauthenticated(ErrorResponse),
    /// The phone was revoked.
    #[response(status = 403)]
    Revoked(ErrorResponse),
    /// No base map loaded (`no_basemap`).
    #[response(status = 404)]
    NoBasemap(ErrorResponse),
    /// The database did not answer.
    #[response(status = 503)]
    Unavailable(ErrorResponse),
}

fn no_basemap(lang: Lang) -> ApiError {
    ApiError::of(StatusCode::NOT_FOUND, "no_basemap", lang).says(
        "Máy chủ chưa có bản đồ nền: bộ phận CNTT nạp bằng `doorstep admin basemap import TỆP.pmtiles`.",
        "The server has no base map yet: IT loads one with `doorstep admin basemap import FILE.pmtiles`.",
    )
}

/// The base map the server holds: its name, SHA-256, size, tile type, zooms and bounds.
#[utoipa::path(get, path = "/api/v1/basemap", responses((status = 200, body = BasemapInfo), MapRefusals),
    security(("bearer" = [])))]
pub async fn basemap_info(
    State(st): State<AppState>, ReqLang(lang): ReqLang, _reader: MapReader,
) -> Result<Json<BasemapInfo>, ApiError> {
    let info = crate::basemap::info(&*st.store).await.map_err(|e| ApiError::store(e, lang))?;
    info.map(Json).ok_or_else(|| no_basemap(lang))
}

/// The base map's bytes. One range per request (`Range: bytes=a-b`, at most 8 MiB: 206 with
/// `Content-Range`); `If-Range` with another ETag (the map was replaced) gives 200 from the
/// start; without a range, the whole file if it is at most 8 MiB, else 416 telling its size.
#[utoipa::path(get, path = "/api/v1/basemap.pmtiles", responses(
    (status = 200, description = "The whole file", content_type = "application/vnd.pmtiles"),
    (status = 206, description = "The range asked for", content_type = "application/vnd.pmtiles"),
    (status = 416, description = "The range lies outside the file, or is over 8 MiB", body = ErrorResponse),
    MapRefusals
), security(("bearer" = [])))]
pub async fn basemap_file(
    State(st): State<AppState>, ReqLang(lang): ReqLang, headers: HeaderMap, _reader: MapReader,
) -> Result<Response, ApiError> {
    let db = &*st.store;
    let info = crate::basemap::info(db).await.map_err(|e| ApiError::store(e, lang))?.ok_or_else(|| no_basemap(lang))?;
    let etag = format!("\"{}\"", info.sha256);
    let size = info.size;
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    // A resumed download of a map since replaced starts again from the first byte.
    let same = text(header::IF_RANGE).is_none_or(|v| v.trim() == etag);
    let asked = text(header::RANGE).filter(|_| same);
    let unsatisfiable = |why_vi: &str, why_en: &str| {
        ApiError::of(StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable", lang)
            .says(format!("{why_vi} (tệp có {size} byte)."), format!("{why_en} (the file is {size} bytes)."))
    };
    let (start, end, partial) = match asked {
        Some(r) => match parse_range(r, size) {
            Some((a, b)) if b - a < MAX_RANGE => (a, b, true),
            Some(_) => return Err(unsatisfiable("Mỗi lần chỉ lấy tối đa 8 MiB", "At most 8 MiB per request")),
            None => return Err(unsatisfiable("Khoảng byte không hợp lệ", "The byte range is not valid")),
        },
        None if size == 0 => (0, 0, false),
        None if size <= MAX_RANGE => (0, size - 1, false),
        None => return Err(unsatisfiable("Hãy tải theo từng khoảng byte (Range)", "Download it in ranges (Range)")),
    };
    let bytes = if size == 0 {
        Vec::new()
    } else {
        crate::basemap::read_range(db, start, end).await.map_err(|e| ApiError::store(e, lang))?
    };
    let mut response = bytes.into_response();
    if partial {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.pmtiles"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if partial && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(response)
}
