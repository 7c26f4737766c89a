//! The HTTP API. Every error is JSON: `{"error": {"code", "message", "field", "messages"}}`.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use doorstep_domain::protocol::{
    AreaDto, Coverage, DeviceDto, EnrolRequest, EnrolResponse, EnrolmentCode, EnrolmentRequest, ErrorBody,
    ErrorResponse, LoginRequest, LoginResponse, PullResponse, PushRequest, PushResponse, ReceiptStatus, UserDto,
};
use doorstep_domain::values::{AreaCode, Id};
use doorstep_domain::{Campaign, FieldError, Lang, Messages, ValidationContext, Visit, VisitInput};
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::OpenApi;

use crate::store::{Incoming, IngestBatch, Redemption, SessionUser, Store, StoreError};

/// Limits that protect the server from a client, careless or hostile.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body as sent (compressed or not).
    pub max_body_bytes: usize,
    /// Largest push body after decompression: a zstd bomb stops here.
    pub max_decompressed_bytes: usize,
    pub max_records_per_push: usize,
    pub max_pull_limit: u32,
    pub request_timeout: Duration,
    /// Clock skew beyond which the device is told to fix its clock.
    pub clock_warning_after: Duration,
    /// How long a login lasts: a field day and then some.
    pub session_ttl: Duration,
    /// Proxies whose forwarding headers name the client (`crate::auth::client_ip`); none by
    /// default.
    pub trusted_proxies: crate::auth::TrustedProxies,
    /// How long a connection may take to send a request's headers, counted from when it opens
    /// or its first byte after an idle wait (`crate::conn`).
    pub header_read_timeout: Duration,
    /// How long a connection may sit idle between requests.
    pub keep_alive_timeout: Duration,
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 8 << 20,
            max_decompressed_bytes: 32 << 20,
            max_records_per_push: 5_000,
            max_pull_limit: 5_000,
            request_timeout: Duration::from_secs(30),
            clock_warning_after: Duration::from_secs(5 * 60),
            session_ttl: Duration::from_secs(14 * 3600),
            trusted_proxies: crate::auth::TrustedProxies::default(),
            header_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(30),
            max_connections: 512,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The campaign run: the database's, followed while the server runs (`crate::campaign`).
    pub campaign: crate::campaign::RunningCampaign,
    pub limits: Arc<Limits>,
    /// Push bodies decoded at once: one per core, so a flood of pushes queues here instead of
    /// piling up decoded batches in memory. (One fewer was measured slower: decoding then
    /// becomes the limit instead of the database writer.)
    decoders: Arc<tokio::sync::Semaphore>,
    /// Failed sign-ins per address and per account.
    pub logins: Arc<crate::auth::LoginThrottle>,
    /// Password checks at once, on reused memory (`crate::auth::PasswordGate`).
    pub passwords: Arc<crate::auth::PasswordGate>,
    /// The public aggregates (`crate::public`); `None` while they are off.
    pub public: Option<Arc<crate::public::PublicView>>,
    /// Outlines drawn from households, reused for a few minutes (`crate::map`).
    pub outlines: Arc<crate::map::OutlineCache>,
    /// Fine-cell figures reused by the hexagon answers for half a minute (`crate::hexagons`).
    pub hexagon_tallies: Arc<crate::hexagons::TallyCache>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, campaign: Campaign, limits: Limits) -> AppState {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        AppState {
            store,
            campaign: crate::campaign::RunningCampaign::new(campaign),
            limits: Arc::new(limits),
            decoders: Arc::new(tokio::sync::Semaphore::new(cores.max(1))),
            logins: Arc::new(crate::auth::LoginThrottle::default()),
            passwords: Arc::new(crate::auth::PasswordGate::for_this_machine()),
            public: None,
            outlines: Arc::new(crate::map::OutlineCache::serving_stale(
                crate::map::OUTLINES_FOR,
                crate::map::OUTLINES_STALE,
                crate::map::OUTLINES_MAX,
            )),
            hexagon_tallies: Arc::new(crate::hexagons::TallyCache::serving_stale(
                crate::hexagons::TALLIES_FOR,
                crate::hexagons::TALLIES_STALE,
                crate::hexagons::TALLIES_MAX,
            )),
        }
    }
}

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Box<ErrorBody>,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, field: Option<&str>, vi: String, en: String, lang: Lang) -> ApiError {
        ApiError {
            status,
            body: Box::new(ErrorBody::new(code, field, Messages { vi, en }, lang)),
        }
    }

    pub(crate) fn field(status: StatusCode, e: &FieldError, lang: Lang) -> ApiError {
        ApiError {
            status,
            body: Box::new(ErrorBody::from_field_error(e, lang)),
        }
    }

    pub(crate) fn store(e: StoreError, lang: Lang) -> ApiError {
        tracing::error!(error = %e, "storage failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            None,
            "Máy chủ tạm thời không lưu được dữ liệu; thiết bị sẽ tự gửi lại sau.".into(),
            "The server cannot store data just now; the device will send again later.".into(),
            lang,
        )
    }
}

impl ApiError {
    pub(crate) fn unauthenticated(lang: Lang) -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            None,
            "Cần đăng nhập: phiên đăng nhập không có, đã hết hạn hoặc đã bị thu hồi.".into(),
            "Sign-in needed: the session is missing, expired or revoked.".into(),
            lang,
        )
    }

    pub(crate) fn out_of_scope(lang: Lang) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "out_of_scope",
            None,
            "Địa bàn này nằm ngoài phạm vi của tài khoản.".into(),
            "This area is outside your account's areas.".into(),
            lang,
        )
    }

    pub(crate) fn device_revoked(lang: Lang) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "device_revoked",
            None,
            "Thiết bị này đã bị thu hồi; dữ liệu đã gửi vẫn được giữ. Hãy liên hệ tổ trưởng.".into(),
            "This device was revoked; what it already sent is kept. Contact your team leader.".into(),
            lang,
        )
    }

    pub(crate) fn storage(e: StoreError, lang: Lang) -> ApiError {
        ApiError::store(e, lang)
    }

    pub(crate) fn with_messages(
        status: StatusCode,
        code: &str,
        field: Option<&str>,
        messages: Messages,
        lang: Lang,
    ) -> ApiError {
        ApiError {
            status,
            body: Box::new(ErrorBody::new(code, field, messages, lang)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorResponse { error: *self.body })).into_response()
    }
}

pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default()
}

pub fn router(state: AppState) -> Router {
    let limits = state.limits.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/v1/sync/push", post(push))
        // Compressed when the phone asks (zstd or gzip): a week's catch-up on a slow line.
        .route(
            "/api/v1/sync/pull",
            get(pull).layer(tower_http::compression::CompressionLayer::new()),
        )
        .route("/api/v1/coverage", get(coverage))
        .route("/api/v1/areas", get(areas))
        .route("/api/v1/campaign", get(campaign))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/me", get(me))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/enrolments", post(issue_enrolment))
        .route("/api/v1/enrol", post(enrol))
        .route("/api/v1/devices/me", get(device_me))
        .route("/api/v1/devices/{id}/revoke", post(revoke_device))
        .route(
            "/api/v1/teams",
            post(crate::manage::post_team).get(crate::manage::get_teams),
        )
        .route("/api/v1/assignments", post(crate::manage::post_assignment))
        .route(
            "/api/v1/claims",
            post(crate::claims::post_claim).get(crate::claims::get_claims),
        )
        .route("/api/v1/claims/{id}", delete(crate::claims::delete_claim))
        .route("/api/v1/streets", get(crate::claims::get_streets))
        .route("/api/v1/visits", get(crate::manage::list_visits))
        .route("/api/v1/visits/{id}", get(crate::manage::get_visit))
        .route("/api/v1/visits/{id}/send-back", post(crate::corrections::send_back))
        .route("/api/v1/visits/{id}/history", get(crate::corrections::visit_history))
        .route("/api/v1/corrections", get(crate::corrections::list_corrections))
        .route(
            "/api/v1/households/{id}/visits",
            get(crate::corrections::household_visits),
        )
        .route("/api/v1/sync/corrections", get(crate::corrections::device_corrections))
        .route("/api/v1/progress", get(crate::report::http::get_progress))
        .route("/api/v1/map/areas", get(crate::map::map_areas))
        .route("/api/v1/map/households", get(crate::map::map_households))
        .route("/api/v1/revisits", get(crate::map::revisits))
        .route("/api/v1/reports/daily.xlsx", get(crate::report::http::get_daily_report))
        // Hexagons, exports and the public aggregates.
        .route("/api/v1/map/hexagons", get(crate::hexagons::get_hexagons))
        .route("/api/v1/exports/households.csv", get(crate::export::households_csv))
        .route(
            "/api/v1/exports/households.geojson",
            get(crate::export::households_geojson),
        )
        .route("/api/v1/exports/visits.csv", get(crate::export::visits_csv))
        .route("/api/v1/exports/visits.geojson", get(crate::export::visits_geojson))
        .route("/api/v1/public/areas", get(crate::public::public_areas))
        .route("/api/v1/public/hexagons", get(crate::public::public_hexagons))
        .route("/api/v1/volunteers/daily", get(crate::volunteers::get_volunteer_days))
        .route("/api/v1/devices", get(crate::volunteers::get_devices))
        .route(
            "/api/v1/sync/venues",
            post(crate::venues::push_venues).get(crate::venues::device_venues),
        )
        .route("/api/v1/venues", get(crate::venues::get_venues))
        .route(
            "/api/v1/photos",
            post(crate::photos::register_photo).get(crate::photos::list_photos),
        )
        .route("/api/v1/photos/{sha256}", patch(crate::photos::upload_chunk))
        .route("/api/v1/photos/{sha256}/image", get(crate::photos::photo_image))
        .fallback(crate::dashboard::serve)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        // Outside the timeout, so that its empty 408 becomes a JSON error like any other.
        .layer(axum::middleware::map_response(json_timeout))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

async fn json_timeout(response: Response) -> Response {
    if response.status() != StatusCode::REQUEST_TIMEOUT || response.headers().contains_key(header::CONTENT_TYPE) {
        return response;
    }
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "timeout",
        None,
        "Máy chủ xử lý quá lâu; thiết bị sẽ tự gửi lại.".into(),
        "The server took too long; the device will send again.".into(),
        Lang::Vi,
    )
    .into_response()
}

/// A handler that panics answers a JSON 500 instead of dropping the connection; nothing was
/// committed for it, so the client may send again.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        None,
        "Lỗi máy chủ; thiết bị sẽ tự gửi lại sau.".into(),
        "Server error; the device will send again later.".into(),
        Lang::Vi,
    )
    .into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Doorstep",
        description = "Door-to-door campaign visits: sync, coverage and areas."
    ),
    paths(
        healthz,
        push,
        pull,
        coverage,
        areas,
        campaign,
        login,
        logout,
        me,
        audit,
        issue_enrolment,
        enrol,
        device_me,
        revoke_device,
        crate::manage::post_team,
        crate::manage::get_teams,
        crate::manage::post_assignment,
        crate::claims::post_claim,
        crate::claims::get_claims,
        crate::claims::delete_claim,
        crate::claims::get_streets,
        crate::manage::list_visits,
        crate::manage::get_visit,
        crate::corrections::send_back,
        crate::corrections::visit_history,
        crate::corrections::list_corrections,
        crate::corrections::household_visits,
        crate::corrections::device_corrections,
        crate::report::http::get_progress,
        crate::report::http::get_daily_report,
        crate::map::map_areas,
        crate::map::map_households,
        crate::map::revisits,
        crate::hexagons::get_hexagons,
        crate::export::households_csv,
        crate::export::households_geojson,
        crate::export::visits_csv,
        crate::export::visits_geojson,
        crate::public::public_areas,
        crate::public::public_hexagons,
        crate::volunteers::get_volunteer_days,
        crate::volunteers::get_devices,
        crate::venues::push_venues,
        crate::venues::device_venues,
        crate::venues::get_venues,
        crate::photos::register_photo,
        crate::photos::upload_chunk,
        crate::photos::list_photos,
        crate::photos::photo_image
    ),
    modifiers(&BearerAuth, &CommonResponses),
    components(schemas(
        PushRequest,
        PushResponse,
        PullResponse,
        Coverage,
        AreaDto,
        ErrorResponse,
        ErrorBody,
        Campaign,
        VisitInput,
        ReceiptStatus,
        LoginRequest,
        LoginResponse,
        UserDto,
        EnrolmentRequest,
        EnrolmentCode,
        EnrolRequest,
        EnrolResponse,
        DeviceDto,
        doorstep_domain::protocol::RevokeRequest,
        doorstep_domain::protocol::RevocationDto,
        doorstep_domain::protocol::VisitDto,
        doorstep_domain::protocol::TeamDto,
        doorstep_domain::protocol::TeamMemberDto,
        doorstep_domain::protocol::NewTeamRequest,
        doorstep_domain::protocol::AssignmentRequest,
        doorstep_domain::protocol::ClaimDto,
        doorstep_domain::protocol::NewClaimRequest,
        doorstep_domain::protocol::ClaimStatusDto,
        doorstep_domain::protocol::ClaimsResponse,
        doorstep_domain::protocol::StreetDto,
        doorstep_domain::protocol::Progress,
        doorstep_domain::protocol::UnitProgress,
        doorstep_domain::protocol::DayProgress,
        crate::map::Revisit,
        doorstep_domain::protocol::SendBackRequest,
        doorstep_domain::protocol::CorrectionDto,
        doorstep_domain::protocol::CorrectionsResponse,
        doorstep_domain::protocol::VisitHistoryDto,
        crate::volunteers::VolunteerDay,
        crate::volunteers::DeviceStatus,
        crate::volunteers::DeviceList,
        doorstep_domain::protocol::VenuePushRequest,
        doorstep_domain::protocol::VenueDto,
        doorstep_domain::protocol::VenueFigures,
        doorstep_domain::protocol::VenueGroupFigures,
        doorstep_domain::protocol::UnitVenues,
        doorstep_domain::protocol::VenueProgress,
        doorstep_domain::venue::VenueVisitInput,
        doorstep_domain::venue::VenueInput,
        doorstep_domain::venue::VisitorLogInput,
        doorstep_domain::venue::VenueKind,
        doorstep_domain::venue::VenueGroup,
        doorstep_domain::photo::PhotoMeta,
        doorstep_domain::photo::UploadState,
        doorstep_domain::photo::PhotoDto,
        doorstep_domain::photo::TargetKind,
        params::AreaCode,
        params::AreaCodeOrBlank,
        params::Day,
        params::DayOrBlank,
        params::RecordId,
        params::Sha256,
        params::FlagOrBlank,
        params::TargetKindOrBlank,
        params::Outcomes
    ))
)]
pub struct ApiDoc;

/// Declares the bearer token scheme the protected endpoints name.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// What operations may answer besides their own responses, added wherever an operation does not
/// say it already, so that the document names every status the server can send: one that reads
/// parameters or a body refuses those that do not fit with a 400; a protected one checks its
/// token (in the store) before the handler runs, so a missing or stale token answers 401, and a
/// store that cannot be read answers 503.
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorResponse")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let reads_input = op.parameters.as_ref().is_some_and(|p| !p.is_empty()) || op.request_body.is_some();
                let responses = &mut op.responses.responses;
                if reads_input {
                    responses
                        .entry("400".into())
                        .or_insert_with(|| error("A parameter or the body does not match this document").into());
                }
                if op.security.as_ref().is_none_or(|s| s.is_empty()) {
                    continue;
                }
                responses
                    .entry("401".into())
                    .or_insert_with(|| error("No bearer token, or an unknown, expired or revoked one").into());
                responses
                    .entry("503".into())
                    .or_insert_with(|| error("Storage unavailable; try again later").into());
            }
        }
    }
}

/// The OpenAPI document, with the outcome codes of the campaign served.
async fn openapi_json(State(st): State<AppState>) -> impl IntoResponse {
    let mut doc = ApiDoc::openapi();
    if let Some(components) = doc.components.as_mut() {
        components
            .schemas
            .insert("Outcomes".into(), params::Outcomes::for_campaign(&st.campaign).into());
    }
    Json(doc)
}

/// Liveness: answers while the process serves requests.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Serving", body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

pub(crate) async fn not_found(headers: HeaderMap) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        None,
        "Không có địa chỉ này trên máy chủ.".into(),
        "No such address on this server.".into(),
        lang_of(&headers),
    )
}

async fn method_not_allowed(headers: HeaderMap) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        None,
        "Phương thức HTTP này không dùng được ở địa chỉ này.".into(),
        "This HTTP method is not allowed here.".into(),
        lang_of(&headers),
    )
}

/// The envelope is read first; each record is then read on its own so that one bad record
/// cannot spoil the others.
#[derive(Deserialize)]
struct Envelope<'a> {
    device_id: String,
    sent_at: String,
    #[serde(borrow)]
    records: Vec<&'a RawValue>,
}

fn decode_body(headers: &HeaderMap, body: &[u8], limits: &Limits, lang: Lang) -> Result<Vec<u8>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/json")
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            Some("content-type"),
            "Nội dung phải là JSON (Content-Type: application/json).".into(),
            "The body must be JSON (Content-Type: application/json).".into(),
            lang,
        ));
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "identity" | "" => Ok(body.to_vec()),
        "zstd" => {
            let too_large = || {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large_decompressed",
                    None,
                    format!(
                        "Nội dung sau khi giải nén vượt quá {} byte; hãy gửi lô nhỏ hơn.",
                        limits.max_decompressed_bytes
                    ),
                    format!(
                        "The body exceeds {} bytes once decompressed; send smaller batches.",
                        limits.max_decompressed_bytes
                    ),
                    lang,
                )
            };
            // A frame that declares its size (as the device's do) is refused at once when too
            // large, and otherwise decoded in one go into a buffer of exactly that size.
            if let Ok(Some(size)) = zstd::zstd_safe::get_frame_content_size(body) {
                if size > limits.max_decompressed_bytes as u64 {
                    return Err(too_large());
                }
                if let Ok(out) = zstd::bulk::decompress(body, size as usize) {
                    return Ok(out);
                }
            }
            // Otherwise stream, reading one byte past the limit to know it was exceeded, never more.
            let decoder = zstd::stream::read::Decoder::new(body).map_err(|_| bad_zstd(lang))?;
            let mut out = Vec::with_capacity(body.len() * 4);
            decoder
                .take(limits.max_decompressed_bytes as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|_| bad_zstd(lang))?;
            if out.len() > limits.max_decompressed_bytes {
                return Err(too_large());
            }
            Ok(out)
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            Some("content-encoding"),
            format!("Kiểu nén «{other}» không được hỗ trợ; dùng zstd hoặc không nén."),
            format!("Content-Encoding '{other}' is not supported; use zstd or none."),
            lang,
        )),
    }
}

fn bad_zstd(lang: Lang) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_compression",
        None,
        "Nội dung nén zstd bị hỏng hoặc không đầy đủ.".into(),
        "The zstd-compressed body is corrupt or truncated.".into(),
        lang,
    )
}

pub(crate) fn body_rejection(e: BytesRejection, limits: &Limits, lang: Lang) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            None,
            format!("Nội dung vượt quá {} byte; hãy gửi lô nhỏ hơn.", limits.max_body_bytes),
            format!(
                "The body exceeds {} bytes; send smaller batches.",
                limits.max_body_bytes
            ),
            lang,
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "unreadable_body",
            None,
            "Không đọc được nội dung yêu cầu.".into(),
            format!("The request body could not be read: {e}"),
            lang,
        )
    }
}

fn malformed_json(e: &serde_path_to_error::Error<serde_json::Error>, lang: Lang) -> ApiError {
    let path = e.path().to_string();
    let inner = e.inner();
    // The root is ".", and an empty key ("") gives an empty path: neither names a field.
    let field = (path != "." && !path.is_empty()).then_some(path.as_str());
    let place = format!("line {}, column {}", inner.line(), inner.column());
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        field,
        format!(
            "JSON không hợp lệ ({place}{}): {inner}",
            field.map(|f| format!(", trường «{f}»")).unwrap_or_default()
        ),
        format!(
            "Malformed JSON ({place}{}): {inner}",
            field.map(|f| format!(", field '{f}'")).unwrap_or_default()
        ),
        lang,
    )
}

fn malformed_json_plain(lang: Lang) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        None,
        "JSON không hợp lệ.".into(),
        "Malformed JSON.".into(),
        lang,
    )
}

/// One record of a batch as read from its JSON: the record, or why it could not be read (with its
/// id when that much could be read).
pub(crate) type ReadRecord<I> = Result<I, (Option<String>, FieldError)>;

/// Reads a batch body (`{device_id, sent_at, records}`) of any record type: the encoding, the
/// envelope, the sending device and the batch size are checked here; each record is read on its
/// own and handed to `each` with the validation context, so one bad record spoils nothing else.
/// CPU work only: runs off the async threads. Returns the device, its clock, and `each`'s results.
pub(crate) fn decode_batch<I: serde::de::DeserializeOwned, T>(
    headers: &HeaderMap,
    body: &[u8],
    (limits, campaign): (&Limits, &Campaign),
    sender: &crate::store::DeviceCaller,
    now: DateTime<Utc>,
    lang: Lang,
    mut each: impl FnMut(ReadRecord<I>, &ValidationContext<'_>) -> T,
) -> Result<(Id, DateTime<Utc>, Vec<T>), ApiError> {
    let raw = decode_body(headers, body, limits, lang)?;
    let text = std::str::from_utf8(&raw).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_utf8",
            None,
            format!("Nội dung không phải UTF-8 hợp lệ (tại byte {}).", e.valid_up_to()),
            format!("The body is not valid UTF-8 (at byte {}).", e.valid_up_to()),
            lang,
        )
    })?;
    // The plain decoder is the fast path; the path-tracking one only explains a failure.
    let envelope: Envelope<'_> = match serde_json::from_str(text) {
        Ok(e) => e,
        Err(_) => {
            let de = &mut serde_json::Deserializer::from_str(text);
            return Err(match serde_path_to_error::deserialize::<_, Envelope<'_>>(de) {
                Err(e) => malformed_json(&e, lang),
                Ok(_) => malformed_json_plain(lang),
            });
        }
    };
    let device_id =
        Id::parse("device_id", &envelope.device_id).map_err(|e| ApiError::field(StatusCode::BAD_REQUEST, &e, lang))?;
    if device_id.uuid() != sender.device_id {
        // A token speaks for one phone only; the batch is not read further.
        return Err(forbidden(
            "wrong_device",
            "Lô này ghi mã thiết bị khác với thiết bị đã đăng ký; hãy đăng ký lại điện thoại.",
            "This batch names another device than the one enrolled; enrol the phone again.",
            lang,
        ));
    }
    let sent_at = DateTime::parse_from_rfc3339(envelope.sent_at.trim()).map_err(|_| {
        ApiError::field(
            StatusCode::BAD_REQUEST,
            &FieldError::new("sent_at", doorstep_domain::error::ErrorKind::NotATimestamp),
            lang,
        )
    })?;
    if envelope.records.len() > limits.max_records_per_push {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_records",
            Some("records"),
            format!("Một lô không được quá {} bản ghi.", limits.max_records_per_push),
            format!("A batch may hold at most {} records.", limits.max_records_per_push),
            lang,
        ));
    }
    let device_now = sent_at.with_timezone(&Utc);
    let ctx = ValidationContext {
        campaign,
        device_now,
        server_now: Some(now),
    };
    let records = envelope
        .records
        .iter()
        .map(|raw| each(read_record::<I>(raw.get()), &ctx))
        .collect();
    Ok((device_id, device_now, records))
}

/// Reads one record; on failure, names the field and the record (if its id can be read at all).
fn read_record<I: serde::de::DeserializeOwned>(raw: &str) -> ReadRecord<I> {
    // The plain decoder is the fast path; the path-tracking one only names a bad field.
    serde_json::from_str::<I>(raw).map_err(|_| {
        let de = &mut serde_json::Deserializer::from_str(raw);
        let e = serde_path_to_error::deserialize::<_, I>(de).err();
        let loose: Option<serde_json::Value> = serde_json::from_str(raw).ok();
        let id = loose
            .as_ref()
            .and_then(|v| v.get("id"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let (field, detail) = match e {
            Some(e) => {
                let path = e.path().to_string();
                let detail = e.inner().to_string();
                let detail = detail.split(" at line").next().unwrap_or(&detail).to_string();
                (if path == "." { "record".to_string() } else { path }, detail)
            }
            None => ("record".to_string(), "unreadable record".to_string()),
        };
        (
            id,
            FieldError::new(field, doorstep_domain::error::ErrorKind::Malformed { detail }),
        )
    })
}

/// Decodes and validates a push body. CPU work only: runs off the async threads.
pub(crate) fn decode_push(
    headers: &HeaderMap,
    body: &[u8],
    config: (&Limits, &Campaign),
    sender: &crate::store::DeviceCaller,
    now: DateTime<Utc>,
    lang: Lang,
) -> Result<IngestBatch, ApiError> {
    let (device_id, device_now, records) = decode_batch(
        headers,
        body,
        config,
        sender,
        now,
        lang,
        |read: ReadRecord<VisitInput>, ctx| match read {
            Err((id, error)) => Incoming::Invalid {
                id,
                revision: None,
                error,
            },
            Ok(input) => match Visit::parse(&input, ctx) {
                Ok(v) if v.device_id.uuid() != sender.device_id => Incoming::Invalid {
                    id: Some(input.id.clone()),
                    revision: Some(input.revision),
                    error: FieldError::new("device_id", doorstep_domain::error::ErrorKind::NotTheSendingDevice),
                },
                Ok(v) => Incoming::valid(v),
                Err(error) => Incoming::Invalid {
                    id: Some(input.id.clone()),
                    revision: Some(input.revision),
                    error,
                },
            },
        },
    )?;
    let campaign = config.1;
    Ok(IngestBatch {
        device_id,
        received_at: now,
        clock_skew_ms: (device_now - now).num_milliseconds(),
        lang,
        records,
        volunteer_id: Some(sender.volunteer.user_id),
        scope: Vec::new(),
        rules: doorstep_domain::quality::QualityRules::for_campaign(campaign),
        revoked_device: sender.revoked,
    })
}

/// Push a batch of visit records, with the device token of the phone that recorded them. A visit
/// outside its volunteer's assignment is stored and flagged for the leader; so is every visit
/// sent with a revoked device's token (`revoked_device`): a revoked phone uploads what it still
/// holds before it erases itself. Each record gets a receipt, sent only after the transaction
/// holding the batch has committed: `stored`, `duplicate` (held already, same content) or
/// `rejected` with the reason. Answers 200 when none was rejected, 422 when some were (the body
/// still has every receipt, and the first refusal as `error`).
#[utoipa::path(
    post,
    path = "/api/v1/sync/push",
    request_body(content = PushRequest, description = "JSON; `Content-Encoding: zstd` accepted"),
    responses(
        (status = 200, description = "Every record stored or already held", body = PushResponse),
        (status = 422, description = "Some records refused; receipts for all", body = PushResponse),
        (status = 400, description = "The batch could not be read", body = ErrorResponse),
        (status = 413, description = "Too large, before or after decompression", body = ErrorResponse),
        (status = 415, description = "Not JSON, or an unknown encoding", body = ErrorResponse),
        (status = 401, description = "No device token, or an unknown one", body = ErrorResponse),
        (status = 403, description = "The batch names another device than the token's", body = ErrorResponse),
        (status = 503, description = "Storage unavailable; send again later", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
async fn push(
    State(st): State<AppState>,
    // A revoked phone still uploads what it holds (flagged `revoked_device`), then erases itself.
    crate::auth::Uploader(mut sender): crate::auth::Uploader,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let lang = lang_of(&headers);
    let body = match body {
        Ok(b) => b,
        Err(e) => return body_rejection(e, &st.limits, lang).into_response(),
    };
    // Read with the token, so the flags are decided against the assignments of this moment.
    let scope = crate::auth::scope_rule(
        &sender.volunteer,
        std::mem::take(&mut sender.assigned_paths),
        sender.own_path.take(),
    );
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
    push_answer(&st, receipts, now, skew_ms)
}

/// The answer to a push of any record type: the receipts, the server's time and the device's
/// clock skew (with a warning to show when it is large); 422 when any record was refused.
pub(crate) fn push_answer(
    st: &AppState,
    receipts: Vec<doorstep_domain::protocol::Receipt>,
    now: DateTime<Utc>,
    skew_ms: i64,
) -> Response {
    let skew_s = skew_ms / 1000;
    let clock_warning = (skew_ms.unsigned_abs() > st.limits.clock_warning_after.as_millis() as u64).then(|| Messages {
        vi: format!(
            "Đồng hồ của điện thoại lệch {} phút so với máy chủ; hãy chỉnh lại giờ.",
            skew_s / 60
        ),
        en: format!(
            "The phone's clock is {} minutes off the server's; set the time right.",
            skew_s / 60
        ),
    });
    let error = receipts.iter().find_map(|r| r.error.clone());
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let response = PushResponse {
        receipts,
        server_time: now.to_rfc3339(),
        clock_skew_seconds: skew_s,
        clock_warning,
        error,
    };
    (status, Json(response)).into_response()
}

pub(crate) fn query_error(e: QueryRejection, lang: Lang) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_query",
        None,
        format!("Tham số truy vấn không hợp lệ: {}", e.body_text()),
        format!("Invalid query parameters: {}", e.body_text()),
        lang,
    )
}

pub(crate) fn unknown_area(code: &AreaCode, lang: Lang) -> ApiError {
    ApiError::field(
        StatusCode::NOT_FOUND,
        &FieldError::new(
            "area",
            doorstep_domain::error::ErrorKind::UnknownArea { code: code.to_string() },
        ),
        lang,
    )
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// The area whose subtree the device works in.
    #[param(value_type = crate::api::params::AreaCode)]
    area: String,
    /// The `next_cursor` of the previous pull; 0 or absent for everything.
    cursor: Option<i64>,
    /// Households per page (default 1000; 0 counts as 1, more than 5,000 as 5,000).
    #[param(value_type = i64, minimum = 0, maximum = 4294967295_i64, required = false)]
    limit: Option<u32>,
}

/// What changed in an area subtree since a cursor: the area tree (when the cursor is 0) and the
/// households with their latest outcome and whether a revisit is due. Paged by `limit`.
#[utoipa::path(
    get,
    path = "/api/v1/sync/pull",
    params(PullQuery),
    responses(
        (status = 200, body = PullResponse),
        (status = 400, body = ErrorResponse),
        (status = 404, description = "Unknown area", body = ErrorResponse),
        (status = 401, description = "No device token, or an unknown one", body = ErrorResponse),
        (status = 403, description = "Revoked, or the area is outside the volunteer's", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
async fn pull(
    State(st): State<AppState>,
    crate::auth::Device(device): crate::auth::Device,
    headers: HeaderMap,
    q: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Json<PullResponse>, ApiError> {
    let lang = lang_of(&headers);
    let Query(q) = q.map_err(|e| query_error(e, lang))?;
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AreaQuery {
    /// A GSO area code.
    #[param(value_type = crate::api::params::AreaCode)]
    area: String,
}

/// Coverage of an area and everything below it: households known and visited, households by
/// their latest outcome, smartphones seen and installs, and its targets (its own, or rolled up),
/// with the rates each gives: found coverage, target coverage, install rate of phones seen and of
/// smartphone owners targeted.
#[utoipa::path(
    get,
    path = "/api/v1/coverage",
    params(AreaQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Coverage),
        (status = 400, body = ErrorResponse),
        (status = 403, description = "Outside the account's areas", body = ErrorResponse),
        (status = 404, description = "Unknown area", body = ErrorResponse)
    )
)]
async fn coverage(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: crate::auth::Caller,
    q: Result<Query<AreaQuery>, QueryRejection>,
) -> Result<Json<Coverage>, ApiError> {
    let lang = lang_of(&headers);
    let Query(q) = q.map_err(|e| query_error(e, lang))?;
    let (area, path) = scoped_area(&st, &caller.0, &q.area, "area", lang).await?;
    match crate::coverage::coverage(&*st.store, &area).await {
        Ok(Some(c)) => {
            let targets = crate::targets::subtree_targets(&*st.store, &path)
                .await
                .map_err(|e| ApiError::store(e, lang))?;
            Ok(Json(
                c.with_campaign(&st.campaign)
                    .with_targets(crate::store::roll_up_targets(&path, &targets)),
            ))
        }
        Ok(None) => Err(unknown_area(&area, lang)),
        Err(e) => Err(ApiError::store(e, lang)),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChildrenQuery {
    /// The parent area; absent for the account's own area.
    #[param(value_type = crate::api::params::AreaCode, required = false)]
    parent: Option<String>,
}

/// The children of an area, in Vietnamese alphabetical order.
#[utoipa::path(
    get,
    path = "/api/v1/areas",
    params(ChildrenQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = [AreaDto]),
        (status = 400, body = ErrorResponse),
        (status = 403, description = "Outside the account's areas", body = ErrorResponse),
        (status = 404, description = "Unknown area", body = ErrorResponse)
    )
)]
async fn areas(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: crate::auth::Caller,
    q: Result<Query<ChildrenQuery>, QueryRejection>,
) -> Result<Json<Vec<AreaDto>>, ApiError> {
    let lang = lang_of(&headers);
    let Query(q) = q.map_err(|e| query_error(e, lang))?;
    // Without a parent: the top of what this account may see, which is its own area.
    let parent = q.parent.unwrap_or_else(|| caller.0.area_code.clone());
    let parent = AreaCode::parse("parent", &parent).map_err(|e| ApiError::field(StatusCode::BAD_REQUEST, &e, lang))?;
    in_scope(&st, &caller.0, &parent, lang).await?;
    crate::areas::child_areas(&*st.store, Some(&parent))
        .await
        .map(Json)
        .map_err(|e| ApiError::store(e, lang))
}

/// The one check of area scope: 404 for an unknown area, 403 for one outside the user's scope.
/// Answers the area's path, which the caller needs next for its subtree.
pub(crate) async fn in_scope(
    st: &AppState,
    user: &SessionUser,
    area: &AreaCode,
    lang: Lang,
) -> Result<String, ApiError> {
    let Some(path) = crate::areas::area_path(&*st.store, area.as_str())
        .await
        .map_err(|e| ApiError::store(e, lang))?
    else {
        return Err(unknown_area(area, lang));
    };
    if crate::auth::may_see(st.store.as_ref(), user, &path)
        .await
        .map_err(|e| ApiError::store(e, lang))?
    {
        Ok(path)
    } else {
        Err(ApiError::out_of_scope(lang))
    }
}

/// A query's area parsed (400 naming `field`) and checked against the caller's scope; with its
/// path.
pub(crate) async fn scoped_area(
    st: &AppState,
    user: &SessionUser,
    raw: &str,
    field: &str,
    lang: Lang,
) -> Result<(AreaCode, String), ApiError> {
    let area = AreaCode::parse(field, raw).map_err(|e| ApiError::field(StatusCode::BAD_REQUEST, &e, lang))?;
    let path = in_scope(st, user, &area, lang).await?;
    Ok((area, path))
}

/// The campaign definition: target app, outcomes with their labels and rules.
#[utoipa::path(get, path = "/api/v1/campaign", responses((status = 200, body = Campaign)))]
async fn campaign(State(st): State<AppState>) -> Json<Campaign> {
    Json((*st.campaign).clone())
}

fn too_many_attempts(wait: Duration, lang: Lang) -> Response {
    let secs = wait.as_secs().max(1);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        None,
        format!("Đăng nhập sai quá nhiều lần; hãy thử lại sau {secs} giây."),
        format!("Too many failed sign-ins; try again in {secs} seconds."),
        lang,
    )
    .into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// Every password check is taken and the line behind them is full: nothing was checked.
fn sign_in_busy(lang: Lang) -> Response {
    let mut response = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "sign_in_busy",
        None,
        "Máy chủ đang bận kiểm tra các lượt đăng nhập khác; hãy thử lại sau 1 giây.".into(),
        "The server is busy checking other sign-ins; try again in a second.".into(),
        lang,
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
    response
}

fn invalid_credentials(lang: Lang) -> ApiError {
    // One answer for an unknown name, a wrong password and a disabled account.
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        None,
        "Tên đăng nhập hoặc mật khẩu không đúng.".into(),
        "The username or password is wrong.".into(),
        lang,
    )
}

/// Sign in with a username and password; answers a bearer token that expires.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 400, body = ErrorResponse),
        (status = 401, description = "Wrong username or password", body = ErrorResponse),
        (status = 429, description = "Too many failed sign-ins; see Retry-After", body = ErrorResponse),
        (status = 503, description = "Storage unavailable, or too many sign-ins being checked; see Retry-After", body = ErrorResponse),
    )
)]
async fn login(
    State(st): State<AppState>,
    client: crate::auth::ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let lang = lang_of(&headers);
    let body = match body {
        Ok(b) => b,
        Err(e) => return body_rejection(e, &st.limits, lang).into_response(),
    };
    let request: LoginRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                None,
                "Cần JSON {\"username\": ..., \"password\": ...}.".into(),
                "Expected JSON {\"username\": ..., \"password\": ...}.".into(),
                lang,
            )
            .into_response();
        }
    };
    let address = (crate::auth::address_key(&client), crate::auth::ADDRESS_FREE_FAILURES);
    let account = (
        crate::auth::account_key(&request.username, &client),
        crate::auth::ACCOUNT_FREE_FAILURES,
    );
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
    let stored = user.as_ref().filter(|u| !u.disabled).map(|u| u.password_hash.clone());
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
    if let Err(e) = crate::accounts::create_session(
        &*st.store,
        hash,
        user.id,
        now.timestamp_millis(),
        expires.timestamp_millis(),
    )
    .await
    {
        return ApiError::store(e, lang).into_response();
    }
    tracing::info!(user = %user.username, "signed in");
    Json(LoginResponse {
        token,
        expires_at: expires.to_rfc3339(),
        user: UserDto {
            username: user.username,
            role: user.role,
            area_code: user.area_code,
        },
    })
    .into_response()
}

/// End this session: its token opens nothing any more.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorResponse)),
    security(("bearer" = []))
)]
async fn logout(State(st): State<AppState>, headers: HeaderMap, _caller: crate::auth::Caller) -> Response {
    let lang = lang_of(&headers);
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
#[utoipa::path(
    get,
    path = "/api/v1/auth/me",
    responses((status = 200, body = UserDto), (status = 401, body = ErrorResponse)),
    security(("bearer" = []))
)]
async fn me(crate::auth::Caller(user): crate::auth::Caller) -> Json<UserDto> {
    Json(UserDto {
        username: user.username,
        role: user.role,
        area_code: user.area_code,
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// How many entries, newest first (default 100; 0 counts as 1, more than 1,000 as 1,000).
    #[param(value_type = i64, minimum = 0, maximum = 4294967295_i64, required = false)]
    limit: Option<u32>,
}

/// The audit log of administrative actions, newest first. Admins only.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    params(AuditQuery),
    responses(
        (status = 200, body = [crate::store::AuditRecord]),
        (status = 401, body = ErrorResponse),
        (status = 403, description = "Not an admin", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
async fn audit(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: crate::auth::Caller,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<crate::store::AuditRecord>>, ApiError> {
    let lang = lang_of(&headers);
    if caller.0.role != doorstep_domain::account::Role::Admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_only",
            None,
            "Chỉ quản trị viên xem được nhật ký quản trị.".into(),
            "Only an admin may read the audit log.".into(),
            lang,
        ));
    }
    let Query(q) = q.map_err(|e| query_error(e, lang))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    crate::accounts::audit_log(&*st.store, limit)
        .await
        .map(Json)
        .map_err(|e| ApiError::store(e, lang))
}

/// How long an enrolment code may wait to be used.
const ENROLMENT_TTL_HOURS: i64 = 24;

pub(crate) fn forbidden(code: &str, vi: &str, en: &str, lang: Lang) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, None, vi.into(), en.into(), lang)
}

/// A team leader or admin issues a one-time code with which a volunteer's phone enrols.
#[utoipa::path(
    post,
    path = "/api/v1/enrolments",
    request_body = EnrolmentRequest,
    responses(
        (status = 200, body = EnrolmentCode),
        (status = 403, description = "Not a leader or admin", body = ErrorResponse),
        (status = 404, description = "No such volunteer in the caller's areas", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
async fn issue_enrolment(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: crate::auth::Caller,
    body: Result<Json<EnrolmentRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<EnrolmentCode>, ApiError> {
    use doorstep_domain::account::Role;
    let lang = lang_of(&headers);
    if !matches!(caller.0.role, Role::Admin | Role::Leader) {
        return Err(forbidden(
            "leader_only",
            "Chỉ tổ trưởng hoặc quản trị viên cấp được mã đăng ký thiết bị.",
            "Only a team leader or an admin may issue enrolment codes.",
            lang,
        ));
    }
    let Json(request) = body.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            None,
            format!("Nội dung không hợp lệ: {}", e.body_text()),
            format!("Invalid body: {}", e.body_text()),
            lang,
        )
    })?;
    let no_such = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_volunteer",
            Some("volunteer"),
            "Không có tình nguyện viên với tên đăng nhập này.".into(),
            "No volunteer has this username.".into(),
            lang,
        )
    };
    let name = doorstep_domain::account::Username::parse("volunteer", &request.volunteer).map_err(|_| no_such())?;
    let volunteer = crate::accounts::user_by_username(&*st.store, &name)
        .await
        .map_err(|e| ApiError::store(e, lang))?;
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
        crate::store::AuditEntry {
            at_ms: now.timestamp_millis(),
            actor: caller.0.username.clone(),
            action: "enrol-code".into(),
            detail: format!("for {}", volunteer.username),
        },
    )
    .await
    .map_err(|e| ApiError::store(e, lang))?;
    let qr_svg = crate::auth::enrolment_qr_svg(&code);
    Ok(Json(EnrolmentCode {
        code,
        expires_at: expires.to_rfc3339(),
        volunteer: volunteer.username,
        qr_svg,
    }))
}

/// A phone exchanges a one-time code for its device token.
#[utoipa::path(
    post,
    path = "/api/v1/enrol",
    request_body = EnrolRequest,
    responses(
        (status = 200, body = EnrolResponse),
        (status = 401, description = "Unknown, used or expired code", body = ErrorResponse),
        (status = 409, description = "The device id is enrolled for another volunteer", body = ErrorResponse),
        (status = 429, description = "Too many wrong codes from this address", body = ErrorResponse),
        (status = 503, description = "Storage unavailable; try again later", body = ErrorResponse),
    )
)]
async fn enrol(
    State(st): State<AppState>,
    client: crate::auth::ClientAddr,
    headers: HeaderMap,
    body: Result<Json<EnrolRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let lang = lang_of(&headers);
    // Shares the sign-in's throttle (no Argon2 here: a code is 50 random bits, hashed with
    // SHA-256). Counted as it arrives; an enrolment that succeeds takes it back.
    let throttled = [(crate::auth::enrol_key(&client), crate::auth::ADDRESS_FREE_FAILURES)];
    if let Err(wait) = st.logins.attempt(&throttled) {
        return too_many_attempts(wait, lang);
    }
    let Ok(Json(request)) = body else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            None,
            "Cần JSON {\"code\": ..., \"device_id\": ...}.".into(),
            "Expected JSON {\"code\": ..., \"device_id\": ...}.".into(),
            lang,
        )
        .into_response();
    };
    let device_id = match Id::parse("device_id", &request.device_id) {
        Ok(id) => id,
        Err(e) => return ApiError::field(StatusCode::BAD_REQUEST, &e, lang).into_response(),
    };
    let (token, token_hash) = crate::auth::new_token();
    let now = Utc::now().timestamp_millis();
    let code_hash = crate::auth::enrolment_code_hash(&request.code);
    match st
        .store
        .redeem_enrolment(code_hash, device_id.uuid(), token_hash, now)
        .await
    {
        Ok(Redemption::Enrolled(user)) => {
            st.logins.refund(&throttled);
            tracing::info!(volunteer = %user.username, "a device enrolled");
            Json(EnrolResponse {
                device_token: token,
                volunteer_id: user.user_id.to_string(),
                volunteer: UserDto {
                    username: user.username,
                    role: user.role,
                    area_code: user.area_code,
                },
            })
            .into_response()
        }
        Ok(Redemption::DeviceTaken) => {
            // A right code with the wrong phone is no guess: not counted against the address.
            st.logins.refund(&throttled);
            tracing::warn!(device = %device_id, "an enrolment named a device enrolled for another volunteer");
            ApiError::new(
                StatusCode::CONFLICT,
                "device_taken",
                Some("device_id"),
                "Điện thoại này đang được đăng ký cho một tình nguyện viên khác. Hãy nhờ tổ trưởng thu hồi máy trước: máy sẽ gửi hết dữ liệu, tự xoá, rồi mới đăng ký lại được."
                    .into(),
                "This phone is enrolled for another volunteer. Ask the team leader to revoke it first: it sends what it holds, erases itself, and can then be enrolled again."
                    .into(),
                lang,
            )
            .into_response()
        }
        Ok(Redemption::Invalid) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "enrolment_code_invalid",
            Some("code"),
            "Mã đăng ký không đúng, đã dùng hoặc đã hết hạn; hãy xin tổ trưởng mã mới.".into(),
            "The enrolment code is wrong, used or expired; ask your team leader for a new one.".into(),
            lang,
        )
        .into_response(),
        Err(e) => ApiError::store(e, lang).into_response(),
    }
}

/// The enrolled device calling, and its volunteer. A revoked device is told so (`revoked`: when,
/// and why if the leader said), with no areas: it uploads what it still holds, then erases its
/// data. The first call of a phone's sync.
#[utoipa::path(
    get,
    path = "/api/v1/devices/me",
    responses(
        (status = 200, body = DeviceDto),
        (status = 401, body = ErrorResponse),
        (status = 503, description = "Storage unavailable; ask again later", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
async fn device_me(
    State(st): State<AppState>,
    headers: HeaderMap,
    crate::auth::Uploader(device): crate::auth::Uploader,
) -> Result<Json<DeviceDto>, ApiError> {
    if device.revoked {
        // Nothing of its scope: a thief's phone learns only that it must erase itself.
        let lang = lang_of(&headers);
        let token = crate::auth::bearer_token(&headers).unwrap_or_default();
        let revocation = crate::devices::revocation(&*st.store, crate::auth::token_hash(token))
            .await
            .map_err(|e| ApiError::store(e, lang))?;
        let (at_ms, reason) = revocation.map(|r| (r.at_ms, r.reason)).unwrap_or((0, None));
        let revoked_at = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap_or_default();
        let v = device.volunteer;
        return Ok(Json(DeviceDto {
            areas: Vec::new(),
            device_id: device.device_id.to_string(),
            volunteer: UserDto {
                username: v.username,
                role: v.role,
                area_code: v.area_code,
            },
            revoked: Some(doorstep_domain::protocol::RevocationDto {
                revoked_at: revoked_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                reason,
            }),
        }));
    }
    let scope = crate::auth::scope_rule(&device.volunteer, device.assigned_paths, device.own_path);
    // A path ends with its area's code: '/42/436/18073/'.
    let areas = scope
        .iter()
        .filter_map(|p| p.trim_end_matches('/').rsplit('/').next())
        .map(str::to_string)
        .collect();
    let v = device.volunteer;
    Ok(Json(DeviceDto {
        areas,
        device_id: device.device_id.to_string(),
        volunteer: UserDto {
            username: v.username,
            role: v.role,
            area_code: v.area_code,
        },
        revoked: None,
    }))
}

/// A leader or admin revokes a lost phone: its token reads nothing any more; what it synced stays,
/// and when it next reaches the server it uploads what it still holds, then erases itself.
#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/revoke",
    params(("id" = params::RecordId, Path, description = "The device's UUID")),
    request_body(content = Option<doorstep_domain::protocol::RevokeRequest>, description = "Optional: why (JSON); an empty body gives no reason"),
    responses(
        (status = 204),
        (status = 400, description = "The body is not a RevokeRequest", body = ErrorResponse),
        (status = 422, description = "The reason is not one line of at most 200 characters", body = ErrorResponse),
        (status = 403, body = ErrorResponse),
        (status = 413, description = "The body is too large", body = ErrorResponse),
        (status = 404, body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
async fn revoke_device(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: crate::auth::Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    use doorstep_domain::account::Role;
    let lang = lang_of(&headers);
    let body = body.map_err(|e| body_rejection(e, &st.limits, lang))?;
    // The body is optional: older callers send `{}` or nothing.
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        // `null` is the documented optional body left out, as much as an empty one.
        let request: Option<doorstep_domain::protocol::RevokeRequest> = serde_json::from_slice(&body).map_err(|e| {
            ApiError::with_messages(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                None,
                Messages {
                    vi: format!("Nội dung không hợp lệ: {e}"),
                    en: format!("Invalid body: {e}"),
                },
                lang,
            )
        })?;
        // Well-formed but refused on its merits: 422, as the send-back's comment.
        crate::auth::revoke_reason(request.and_then(|r| r.reason).as_deref())
            .map_err(|e| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, &e, lang))?
    };
    if !matches!(caller.0.role, Role::Admin | Role::Leader) {
        return Err(forbidden(
            "leader_only",
            "Chỉ tổ trưởng hoặc quản trị viên thu hồi được thiết bị.",
            "Only a team leader or an admin may revoke a device.",
            lang,
        ));
    }
    let device = Id::parse("id", &id).map_err(|e| ApiError::field(StatusCode::BAD_REQUEST, &e, lang))?;
    let no_such = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_device",
            None,
            "Không có thiết bị đang hoạt động với mã này.".into(),
            "No live device has this id.".into(),
            lang,
        )
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
        crate::store::AuditEntry {
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

/// The schemas of query and path parameters, each written once and named in the OpenAPI
/// document: what the server accepts, exactly, so that a client reading the document knows which
/// values are answered and which are refused with a 400. The server trims white space around a
/// value (Rust's `str::trim`, Unicode's White_Space), so the patterns allow it too.
pub mod params {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};

    /// Unicode's White_Space, which `str::trim` removes, as a regular-expression class.
    pub const WHITE_SPACE: &str = r"[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

    /// A pattern matching `inner` with white space around it.
    pub fn trimmed(inner: &str) -> String {
        format!("^{WHITE_SPACE}*(?:{inner}){WHITE_SPACE}*$")
    }

    /// A pattern matching `inner`, or nothing, with white space around it: a blank value counts as
    /// absent.
    pub fn blank_or(inner: &str) -> String {
        format!("^{WHITE_SPACE}*(?:{inner})?{WHITE_SPACE}*$")
    }

    /// `values` as alternatives of a regular expression.
    pub fn one_of(values: impl IntoIterator<Item = impl AsRef<str>>) -> String {
        values
            .into_iter()
            .map(|v| {
                v.as_ref()
                    .chars()
                    .flat_map(|c| {
                        let special = r"\^$.|?*+()[]{}".contains(c);
                        special.then_some('\\').into_iter().chain([c])
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("|")
    }

    fn string(pattern: String, description: &str) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(pattern))
            .description(Some(description))
    }

    /// The pattern of an area code: see `doorstep_domain::values::AreaCode`.
    pub fn area_code_pattern() -> String {
        trimmed("[A-Za-z0-9_-]{1,16}")
    }

    /// A day of the Gregorian calendar, `YYYY-MM-DD`, as chrono reads it: months of their
    /// length, 29 February in leap years only.
    pub const DATE: &str = concat!(
        "[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])",
        "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)",
        "|02-(?:0[1-9]|1[0-9]|2[0-8]))",
        "|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29",
    );

    macro_rules! named {
        ($(#[$doc:meta])* $name:ident, $schema:expr) => {
            $(#[$doc])*
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    $schema.into()
                }
            }

            impl utoipa::ToSchema for $name {}
        };
    }

    named!(
        /// A GSO area code (or a local code below the commune): 1 to 16 ASCII letters, digits,
        /// `-` and `_`.
        AreaCode,
        string(area_code_pattern(), "A GSO area code: 1 to 16 ASCII letters, digits, `-` and `_`.").build()
    );

    named!(
        /// An area code, or blank for none.
        AreaCodeOrBlank,
        string(
            blank_or("[A-Za-z0-9_-]{1,16}"),
            "A GSO area code; blank counts as absent."
        )
        .build()
    );

    named!(
        /// A day, `YYYY-MM-DD`.
        Day,
        string(trimmed(DATE), "A day, `YYYY-MM-DD`.").build()
    );

    named!(
        /// A day, `YYYY-MM-DD`, or blank for none.
        DayOrBlank,
        string(blank_or(DATE), "A day, `YYYY-MM-DD`; blank counts as absent.").build()
    );

    named!(
        /// A record's id: a UUID, not nil.
        RecordId,
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .description(Some("A UUID, not the nil one."))
            .build()
    );

    named!(
        /// A photo's name: its SHA-256, 64 lowercase hex digits.
        Sha256,
        string(
            "^[0-9a-f]{64}$".into(),
            "SHA-256 of the photo: 64 lowercase hex digits."
        )
        .build()
    );

    named!(
        /// A quality flag's code, or blank for any flag.
        FlagOrBlank,
        string(
            blank_or(&one_of(doorstep_domain::quality::Flag::ALL.map(|f| f.code()))),
            "A quality flag's code; blank counts as absent."
        )
        .build()
    );

    named!(
        /// What a photo shows, or blank for any.
        TargetKindOrBlank,
        string(
            blank_or(&one_of(["visit", "venue_visit", "day"])),
            "`visit`, `venue_visit` or `day`; blank counts as absent."
        )
        .build()
    );

    /// Outcome codes, comma-separated: those of the campaign served, and `none` (not visited yet).
    pub struct Outcomes;

    impl Outcomes {
        pub fn for_campaign(campaign: &doorstep_domain::Campaign) -> Schema {
            let codes = one_of(
                campaign
                    .outcomes
                    .iter()
                    .map(|o| o.code.as_str())
                    .chain([crate::filter::NOT_VISITED]),
            );
            let one = format!("{WHITE_SPACE}*(?:{codes})?{WHITE_SPACE}*");
            string(
                format!("^{one}(?:,{one})*$"),
                "The campaign's outcome codes (and `none`, not visited yet), comma-separated.",
            )
            .build()
            .into()
        }
    }

    impl utoipa::PartialSchema for Outcomes {
        fn schema() -> RefOr<Schema> {
            Outcomes::for_campaign(&doorstep_domain::Campaign::bluezone()).into()
        }
    }

    impl utoipa::ToSchema for Outcomes {}

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn patterns_escape_and_trim() {
            assert_eq!(one_of(["a_b", "c.d"]), r"a_b|c\.d");
            let re = area_code_pattern();
            assert!(re.starts_with('^') && re.ends_with('$'));
            assert!(re.contains(r"\u3000"));
        }
    }
}
