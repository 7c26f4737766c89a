//! The router, its layers, and the OpenAPI document.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use doorstep_domain::protocol::{
    AreaDto, Coverage, DeviceDto, EnrolRequest, EnrolResponse, EnrolmentCode, EnrolmentRequest, ErrorBody,
    ErrorResponse, LoginRequest, LoginResponse, PullResponse, PushRequest, PushResponse, ReceiptStatus, UserDto,
};
use doorstep_domain::{Campaign, Lang, VisitInput};
use utoipa::OpenApi;

use super::*;

pub fn router(state: AppState) -> Router {
    let limits = state.limits.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/version", get(version))
        .route("/metrics", get(super::observe::metrics))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/docs", get(crate::dashboard::api_docs_page))
        .route("/api/docs/{file}", get(crate::dashboard::api_docs_file))
        .route("/api/v1/sync/push", post(sync::push))
        .route("/api/v1/sync/pull", get(sync::pull))
        .route("/api/v1/coverage", get(areas::coverage))
        .route("/api/v1/areas", get(areas::areas))
        .route("/api/v1/campaign", get(areas::campaign))
        .route("/api/v1/basemap", get(basemap::basemap_info))
        .route("/api/v1/basemap.pmtiles", get(basemap::basemap_file))
        .route("/api/v1/auth/login", post(sessions::login))
        .route("/api/v1/auth/logout", post(sessions::logout))
        .route("/api/v1/auth/me", get(sessions::me))
        .route("/api/v1/auth/reset", post(people::reset_password))
        .route("/api/v1/users", post(people::create_user).get(people::list_users))
        .route("/api/v1/users/import", post(people::import_users))
        .route("/api/v1/users/{username}", patch(people::update_user))
        .route("/api/v1/users/{username}/reset", post(people::issue_reset))
        .route("/api/v1/audit", get(sessions::audit))
        .route("/api/v1/enrolments", post(devices::issue_enrolment))
        .route("/api/v1/enrolments/cards", get(people::enrolment_cards))
        .route("/api/v1/enrol", post(devices::enrol))
        .route("/api/v1/devices/me", get(devices::device_me))
        .route("/api/v1/devices/{id}/revoke", post(devices::revoke_device))
        .route("/api/v1/teams", post(manage::post_team).get(manage::get_teams))
        .route("/api/v1/assignments", post(manage::post_assignment).delete(manage::delete_assignment))
        .route("/api/v1/teams/members", delete(manage::delete_member))
        .route("/api/v1/claims", post(claims::post_claim).get(claims::get_claims))
        .route("/api/v1/claims/{id}", delete(claims::delete_claim))
        .route("/api/v1/streets", get(claims::get_streets))
        .route("/api/v1/visits", get(manage::list_visits))
        .route("/api/v1/visits/{id}", get(manage::get_visit))
        .route("/api/v1/visits/{id}/send-back", post(corrections::send_back))
        .route("/api/v1/visits/{id}/history", get(corrections::visit_history))
        .route("/api/v1/corrections", get(corrections::list_corrections))
        .route("/api/v1/households/{id}/visits", get(corrections::household_visits))
        .route("/api/v1/sync/corrections", get(corrections::device_corrections))
        .route("/api/v1/progress", get(report::get_progress))
        .route("/api/v1/map/areas", get(map::map_areas))
        .route("/api/v1/map/households", get(map::map_households))
        .route("/api/v1/revisits", get(map::revisits))
        .route("/api/v1/reports/daily.xlsx", get(report::get_daily_report))
        // Hexagons, exports and the public aggregates.
        .route("/api/v1/map/hexagons", get(hexagons::get_hexagons))
        .route("/api/v1/exports/households.csv", get(export::households_csv))
        .route("/api/v1/exports/households.geojson", get(export::households_geojson))
        .route("/api/v1/exports/visits.csv", get(export::visits_csv))
        .route("/api/v1/exports/visits.geojson", get(export::visits_geojson))
        .route("/api/v1/public/areas", get(public::public_areas))
        .route("/api/v1/public/hexagons", get(public::public_hexagons))
        .route("/api/v1/volunteers/daily", get(volunteers::get_volunteer_days))
        .route("/api/v1/devices", get(volunteers::get_devices))
        .route("/api/v1/sync/venues", post(venues::push_venues).get(venues::device_venues))
        .route("/api/v1/venues", get(venues::get_venues))
        .route("/api/v1/photos", post(photos::register_photo).get(photos::list_photos))
        .route("/api/v1/photos/{sha256}", patch(photos::upload_chunk))
        .route("/api/v1/photos/{sha256}/image", get(photos::photo_image))
        .fallback(crate::dashboard::serve)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
        // Outside the timeout, so that its empty 408 becomes a JSON error like any other.
        .layer(axum::middleware::map_response(json_timeout))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        .layer(compression())
        .layer(axum::middleware::from_fn_with_state(state.clone(), super::observe::observe))
        .with_state(state)
}

/// Answers compressed as the client asks (zstd, br or gzip): the dashboard's scripts and JSON, a
/// week's catch-up pulled on a slow line. Not what is compressed already (images, workbooks),
/// nor the base map, whose range requests must count bytes of the file itself.
fn compression() -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{NotForContentType, Predicate as _};
    tower_http::compression::CompressionLayer::new().compress_when(
        tower_http::compression::DefaultPredicate::new()
            .and(NotForContentType::const_new("application/vnd.pmtiles"))
            .and(NotForContentType::const_new("application/octet-stream"))
            .and(NotForContentType::const_new("application/vnd.openxmlformats"))
            .and(NotForContentType::const_new("application/zip")),
    )
}

pub(crate) async fn json_timeout(response: Response) -> Response {
    if response.status() != StatusCode::REQUEST_TIMEOUT || response.headers().contains_key(header::CONTENT_TYPE) {
        return response;
    }
    ApiError::of(StatusCode::REQUEST_TIMEOUT, "timeout", Lang::Vi)
        .says("Máy chủ xử lý quá lâu; thiết bị sẽ tự gửi lại.", "The server took too long; the device will send again.")
        .into_response()
}

/// A handler that panics answers a JSON 500 instead of dropping the connection; nothing was
/// committed for it, so the client may send again.
pub(crate) fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::of(StatusCode::INTERNAL_SERVER_ERROR, "internal", Lang::Vi)
        .says("Lỗi máy chủ; thiết bị sẽ tự gửi lại sau.", "Server error; the device will send again later.")
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
        readyz,
        version,
        super::observe::metrics,
        sync::push,
        sync::pull,
        areas::coverage,
        areas::areas,
        areas::campaign,
        basemap::basemap_info,
        basemap::basemap_file,
        sessions::login,
        sessions::logout,
        sessions::me,
        sessions::audit,
        devices::issue_enrolment,
        devices::enrol,
        devices::device_me,
        devices::revoke_device,
        manage::post_team,
        manage::get_teams,
        manage::delete_assignment,
        manage::delete_member,
        manage::post_assignment,
        claims::post_claim,
        claims::get_claims,
        claims::delete_claim,
        claims::get_streets,
        manage::list_visits,
        manage::get_visit,
        corrections::send_back,
        corrections::visit_history,
        corrections::list_corrections,
        corrections::household_visits,
        corrections::device_corrections,
        report::get_progress,
        report::get_daily_report,
        map::map_areas,
        map::map_households,
        map::revisits,
        hexagons::get_hexagons,
        export::households_csv,
        export::households_geojson,
        export::visits_csv,
        export::visits_geojson,
        public::public_areas,
        public::public_hexagons,
        volunteers::get_volunteer_days,
        volunteers::get_devices,
        venues::push_venues,
        venues::device_venues,
        venues::get_venues,
        photos::register_photo,
        photos::upload_chunk,
        photos::list_photos,
        photos::photo_image,
        people::create_user,
        people::import_users,
        people::enrolment_cards,
        people::list_users,
        people::update_user,
        people::issue_reset,
        people::reset_password
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
        doorstep_domain::protocol::Finish,
        doorstep_domain::protocol::FinishGoal,
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
        doorstep_domain::protocol::NewUserRequest,
        doorstep_domain::protocol::NewUserResponse,
        doorstep_domain::protocol::UserPatch,
        doorstep_domain::protocol::PersonDto,
        doorstep_domain::protocol::PhoneDto,
        doorstep_domain::protocol::PasswordCode,
        doorstep_domain::protocol::PasswordResetRequest,
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

/// The operations anyone may call, without a token: health, readiness and the version, signing in
/// (and setting a password with a one-time code), the campaign's rules, a phone's enrolment and
/// the public view. Every other operation wants the bearer token, so the document says so once
/// here rather than on each handler.
pub(crate) const OPEN_OPERATIONS: [&str; 10] = [
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/v1/version",
    "/api/v1/auth/login",
    "/api/v1/auth/reset",
    "/api/v1/campaign",
    "/api/v1/enrol",
    "/api/v1/public/areas",
    "/api/v1/public/hexagons",
];

/// Declares the bearer token scheme, and names it on every operation that is not open.
pub(crate) struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            if OPEN_OPERATIONS.contains(&path.as_str()) {
                continue;
            }
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in operations.into_iter().flatten() {
                op.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
            }
        }
    }
}

/// What operations may answer besides their own responses, added wherever an operation does not
/// say it already, so that the document names every status the server can send: one that reads
/// parameters or a body refuses those that do not fit with a 400; a protected one checks its
/// token (in the store) before the handler runs, so a missing or stale token answers 401, and a
/// store that cannot be read answers 503.
pub(crate) struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorResponse"))).build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
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
                responses.entry("503".into()).or_insert_with(|| error("Storage unavailable; try again later").into());
            }
        }
    }
}

/// The OpenAPI document, with the outcome codes of the campaign served.
pub(crate) async fn openapi_json(State(st): State<AppState>) -> impl IntoResponse {
    let mut doc = ApiDoc::openapi();
    if let Some(components) = doc.components.as_mut() {
        components.schemas.insert("Outcomes".into(), params::Outcomes::for_campaign(&st.campaign).into());
    }
    Json(doc)
}

/// Liveness: answers while the process serves requests.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Serving", body = String)))]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// What `/readyz` and `/api/v1/version` tell about the schema.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct VersionInfo {
    /// This build's version (`doorstep --version`).
    pub server: String,
    /// The commit it was built from ("unknown" for a source tarball).
    pub commit: String,
    /// The schema version this build runs, and the one the database holds.
    pub schema_version: i64,
    pub database_schema_version: i64,
    /// `sqlite` or `postgres`.
    pub database: String,
}

async fn version_info(st: &AppState, lang: Lang) -> Result<VersionInfo, ApiError> {
    let db: &dyn crate::db::Db = &*st.store;
    let held = crate::db::migrations::schema_version(db).await.map_err(|e| ApiError::store(e, lang))?;
    Ok(VersionInfo {
        server: env!("CARGO_PKG_VERSION").into(),
        commit: env!("DOORSTEP_BUILD_COMMIT").into(),
        schema_version: crate::db::migrations::expected_version(db.dialect()),
        database_schema_version: held,
        database: db.dialect().pick("sqlite", "postgres").into(),
    })
}

/// The server's version, commit and schema versions, for IT and for support.
#[utoipa::path(get, path = "/api/v1/version", responses(
    (status = 200, body = VersionInfo),
    (status = 503, description = "The database does not answer", body = ErrorResponse)
))]
pub(crate) async fn version(State(st): State<AppState>, headers: HeaderMap) -> Result<Json<VersionInfo>, ApiError> {
    Ok(Json(version_info(&st, lang_of(&headers)).await?))
}

/// Readiness, for a load balancer or an orchestrator: the database answers and holds the schema
/// this build runs (liveness is `/healthz`).
#[utoipa::path(get, path = "/readyz", responses(
    (status = 200, description = "Ready", body = VersionInfo),
    (status = 503, description = "The database does not answer, or holds another schema version", body = ErrorResponse)
))]
pub(crate) async fn readyz(State(st): State<AppState>, headers: HeaderMap) -> Result<Json<VersionInfo>, ApiError> {
    let lang = lang_of(&headers);
    let info = version_info(&st, lang).await?;
    if info.database_schema_version != info.schema_version {
        let (held, runs) = (info.database_schema_version, info.schema_version);
        return Err(ApiError::of(StatusCode::SERVICE_UNAVAILABLE, "schema_mismatch", lang).says(
            format!("Cơ sở dữ liệu ở phiên bản lược đồ {held}, máy chủ này cần {runs}: hãy khởi động lại để nâng cấp."),
            format!("The database holds schema version {held}; this server runs {runs}: restart it to migrate."),
        ));
    }
    Ok(Json(info))
}

pub(crate) async fn not_found(headers: HeaderMap) -> ApiError {
    ApiError::of(StatusCode::NOT_FOUND, "not_found", lang_of(&headers))
        .says("Không có địa chỉ này trên máy chủ.", "No such address on this server.")
}

pub(crate) async fn method_not_allowed(headers: HeaderMap) -> ApiError {
    ApiError::of(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", lang_of(&headers))
        .says("Phương thức HTTP này không dùng được ở địa chỉ này.", "This HTTP method is not allowed here.")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The open operations are named by path: each must be in the document, without a security
    /// requirement, and every other operation must carry the bearer one.
    #[test]
    fn only_the_open_operations_go_without_the_bearer_token() {
        let doc = ApiDoc::openapi();
        for path in OPEN_OPERATIONS {
            assert!(doc.paths.paths.contains_key(path), "{path} is not in the document");
        }
        let mut protected = 0;
        for (path, item) in &doc.paths.paths {
            for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch].into_iter().flatten() {
                let open = OPEN_OPERATIONS.contains(&path.as_str());
                assert_eq!(op.security.is_none(), open, "{path}");
                protected += usize::from(!open);
            }
        }
        assert!(protected > 30, "{protected}");
    }
}
