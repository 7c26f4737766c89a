//! The HTTP layer's kit: shared state, errors, body decoding, parameters; the router and one
//! handler file per area of the API. Every error is JSON: `{"error": {"code", "message", "field", "messages"}}`.

pub mod areas;
pub mod auth;
pub mod basemap;
pub mod claims;
pub mod corrections;
pub mod devices;
pub mod export;
pub mod extract;
pub mod filter;
pub mod hexagons;
pub mod manage;
pub mod map;
pub mod observe;
pub mod people;
pub mod photos;
pub mod public;
pub mod report;
pub mod router;
pub mod sessions;
pub mod sync;
pub mod venues;
pub mod volunteers;

pub use router::{ApiDoc, router};

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use doorstep_domain::protocol::{ErrorBody, ErrorResponse, PushResponse};
use doorstep_domain::values::{AreaCode, Id};
use doorstep_domain::{Campaign, FieldError, Lang, Messages, ValidationContext, Visit, VisitInput};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::accounts::SessionUser;
use crate::db::ingest::{Incoming, IngestBatch};
use crate::store::{Store, StoreError};

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
    /// Proxies whose forwarding headers name the client (`crate::http::auth::client_ip`); none by
    /// default.
    pub trusted_proxies: crate::auth::TrustedProxies,
    /// How long a connection may take to send a request's headers, counted from when it opens
    /// or its first byte after an idle wait (`crate::conn`).
    pub header_read_timeout: Duration,
    /// How long a connection may sit idle between requests.
    pub keep_alive_timeout: Duration,
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// Sign-in failures allowed before waiting starts: for one account from one address, and
    /// from one address (also for enrolment and password codes).
    pub account_free_failures: u32,
    pub address_free_failures: u32,
    /// How long the map's outlines and the hexagons' figures are reused before being read again.
    pub outlines_for: Duration,
    pub hexagons_for: Duration,
    /// Phones whose app is older are refused (426) until updated; they keep what they hold.
    pub min_app_version: Option<String>,
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
            account_free_failures: crate::auth::ACCOUNT_FREE_FAILURES,
            address_free_failures: crate::auth::ADDRESS_FREE_FAILURES,
            outlines_for: crate::map::OUTLINES_FOR,
            hexagons_for: crate::hexagons::TALLIES_FOR,
            min_app_version: None,
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
    /// What `/metrics` gives (`crate::metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// A streaming standby for the dashboard's reads (`--db-read`, `crate::replica`).
    pub replica: Option<Arc<crate::replica::ReadReplica>>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, campaign: Campaign, limits: Limits) -> AppState {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let limits = Arc::new(limits);
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let commits = metrics.commit_seconds.clone();
        store.time_commits(Arc::new(move |took| commits.observe(took.as_secs_f64())));
        AppState {
            store,
            campaign: crate::campaign::RunningCampaign::new(campaign),
            limits: limits.clone(),
            decoders: Arc::new(tokio::sync::Semaphore::new(cores.max(1))),
            logins: Arc::new(crate::auth::LoginThrottle::default()),
            passwords: Arc::new(crate::auth::PasswordGate::for_this_machine()),
            public: None,
            outlines: Arc::new(crate::map::OutlineCache::serving_stale(
                limits.outlines_for,
                crate::map::OUTLINES_STALE,
                crate::map::OUTLINES_MAX,
            )),
            hexagon_tallies: Arc::new(crate::hexagons::TallyCache::serving_stale(
                limits.hexagons_for,
                crate::hexagons::TALLIES_STALE,
                crate::hexagons::TALLIES_MAX,
            )),
            metrics,
            replica: None,
        }
    }

    /// Where the dashboard's, reports' and exports' reads go: the standby while it keeps up, else
    /// the primary. Anything that must see its own write reads `store`.
    pub fn reads(&self) -> Arc<dyn Store> {
        match &self.replica {
            Some(r) if r.usable() => r.store.clone(),
            _ => self.store.clone(),
        }
    }
}

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Box<ErrorBody>,
}

/// An error being written: its status, code, language and field, waiting for what it says.
pub(crate) struct Refusal<'a> {
    status: StatusCode,
    code: &'a str,
    field: Option<&'a str>,
    lang: Lang,
}

impl<'a> Refusal<'a> {
    /// The request's field it is about.
    pub(crate) fn on(self, field: impl Into<Option<&'a str>>) -> Refusal<'a> {
        Refusal { field: field.into(), ..self }
    }

    /// What it says, in Vietnamese and English; the request's language is answered.
    pub(crate) fn says(self, vi: impl Into<String>, en: impl Into<String>) -> ApiError {
        self.messages(Messages { vi: vi.into(), en: en.into() })
    }

    pub(crate) fn messages(self, messages: Messages) -> ApiError {
        ApiError { status: self.status, body: Box::new(ErrorBody::new(self.code, self.field, messages, self.lang)) }
    }
}

impl ApiError {
    /// An error answered with `status` and the stable `code`, in `lang`:
    /// `ApiError::of(StatusCode::NOT_FOUND, "no_such_team", lang).on("team").says(vi, en)`.
    pub(crate) fn of(status: StatusCode, code: &str, lang: Lang) -> Refusal<'_> {
        Refusal { status, code, field: None, lang }
    }

    pub(crate) fn field(status: StatusCode, e: &FieldError, lang: Lang) -> ApiError {
        ApiError { status, body: Box::new(ErrorBody::from_field_error(e, lang)) }
    }

    pub(crate) fn store(e: StoreError, lang: Lang) -> ApiError {
        tracing::error!(error = %e, "storage failed");
        ApiError::of(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", lang).says(
            "Máy chủ tạm thời không lưu được dữ liệu; thiết bị sẽ tự gửi lại sau.",
            "The server cannot store data just now; the device will send again later.",
        )
    }
}

impl ApiError {
    pub(crate) fn unauthenticated(lang: Lang) -> ApiError {
        ApiError::of(StatusCode::UNAUTHORIZED, "unauthenticated", lang).says(
            "Cần đăng nhập: phiên đăng nhập không có, đã hết hạn hoặc đã bị thu hồi.",
            "Sign-in needed: the session is missing, expired or revoked.",
        )
    }

    pub(crate) fn out_of_scope(lang: Lang) -> ApiError {
        ApiError::of(StatusCode::FORBIDDEN, "out_of_scope", lang)
            .says("Địa bàn này nằm ngoài phạm vi của tài khoản.", "This area is outside your account's areas.")
    }

    pub(crate) fn app_outdated(version: &str, least: &str, lang: Lang) -> ApiError {
        ApiError::of(StatusCode::UPGRADE_REQUIRED, doorstep_domain::protocol::APP_OUTDATED, lang).says(
            format!(
                "Ứng dụng trên điện thoại này (phiên bản {version}) đã cũ: máy chủ cần phiên bản {least} trở lên. \
                 Hãy cập nhật ứng dụng; các lượt thăm vẫn được giữ trên máy và sẽ tự gửi sau khi cập nhật."
            ),
            format!(
                "The app on this phone (version {version}) is too old: the server needs version {least} or newer. \
                 Update the app; the visits stay on the phone and are sent once it is updated."
            ),
        )
    }

    pub(crate) fn device_revoked(lang: Lang) -> ApiError {
        ApiError::of(StatusCode::FORBIDDEN, "device_revoked", lang).says(
            "Thiết bị này đã bị thu hồi; dữ liệu đã gửi vẫn được giữ. Hãy liên hệ tổ trưởng.",
            "This device was revoked; what it already sent is kept. Contact your team leader.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorResponse { error: *self.body })).into_response()
    }
}

/// The refusals a read of an area's data may answer, named once for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
pub enum AreaRefusals {
    /// A parameter or a body that does not read.
    #[response(status = 400)]
    BadQuery(ErrorResponse),
    /// A volunteer where only staff may read, or an area outside the caller's.
    #[response(status = 403)]
    Forbidden(ErrorResponse),
    /// No area has that code.
    #[response(status = 404)]
    UnknownArea(ErrorResponse),
}

pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default()
}

/// The envelope is read first; each record is then read on its own so that one bad record
/// cannot spoil the others.
#[derive(Deserialize)]
pub(crate) struct Envelope<'a> {
    device_id: String,
    sent_at: String,
    #[serde(borrow)]
    records: Vec<&'a RawValue>,
}

pub(crate) fn decode_body(headers: &HeaderMap, body: &[u8], limits: &Limits, lang: Lang) -> Result<Vec<u8>, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json") {
        return Err(ApiError::of(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", lang)
            .on("content-type")
            .says(
                "Nội dung phải là JSON (Content-Type: application/json).",
                "The body must be JSON (Content-Type: application/json).",
            ));
    }
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "identity" | "" => Ok(body.to_vec()),
        "zstd" => {
            let too_large = || {
                ApiError::of(StatusCode::PAYLOAD_TOO_LARGE, "too_large_decompressed", lang).says(
                    format!(
                        "Nội dung sau khi giải nén vượt quá {} byte; hãy gửi lô nhỏ hơn.",
                        limits.max_decompressed_bytes
                    ),
                    format!(
                        "The body exceeds {} bytes once decompressed; send smaller batches.",
                        limits.max_decompressed_bytes
                    ),
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
            decoder.take(limits.max_decompressed_bytes as u64 + 1).read_to_end(&mut out).map_err(|_| bad_zstd(lang))?;
            if out.len() > limits.max_decompressed_bytes {
                return Err(too_large());
            }
            Ok(out)
        }
        other => Err(ApiError::of(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding", lang)
            .on("content-encoding")
            .says(
                format!("Kiểu nén «{other}» không được hỗ trợ; dùng zstd hoặc không nén."),
                format!("Content-Encoding '{other}' is not supported; use zstd or none."),
            )),
    }
}

pub(crate) fn bad_zstd(lang: Lang) -> ApiError {
    ApiError::of(StatusCode::BAD_REQUEST, "bad_compression", lang)
        .says("Nội dung nén zstd bị hỏng hoặc không đầy đủ.", "The zstd-compressed body is corrupt or truncated.")
}

pub(crate) fn body_rejection(e: BytesRejection, limits: &Limits, lang: Lang) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::of(StatusCode::PAYLOAD_TOO_LARGE, "too_large", lang).says(
            format!("Nội dung vượt quá {} byte; hãy gửi lô nhỏ hơn.", limits.max_body_bytes),
            format!("The body exceeds {} bytes; send smaller batches.", limits.max_body_bytes),
        )
    } else {
        ApiError::of(StatusCode::BAD_REQUEST, "unreadable_body", lang)
            .says("Không đọc được nội dung yêu cầu.", format!("The request body could not be read: {e}"))
    }
}

pub(crate) fn malformed_json(e: &serde_path_to_error::Error<serde_json::Error>, lang: Lang) -> ApiError {
    let path = e.path().to_string();
    let inner = e.inner();
    // The root is ".", and an empty key ("") gives an empty path: neither names a field.
    let field = (path != "." && !path.is_empty()).then_some(path.as_str());
    let place = format!("line {}, column {}", inner.line(), inner.column());
    ApiError::of(StatusCode::BAD_REQUEST, "malformed_json", lang).on(field).says(
        format!("JSON không hợp lệ ({place}{}): {inner}", field.map(|f| format!(", trường «{f}»")).unwrap_or_default()),
        format!("Malformed JSON ({place}{}): {inner}", field.map(|f| format!(", field '{f}'")).unwrap_or_default()),
    )
}

pub(crate) fn malformed_json_plain(lang: Lang) -> ApiError {
    ApiError::of(StatusCode::BAD_REQUEST, "malformed_json", lang).says("JSON không hợp lệ.", "Malformed JSON.")
}

/// One record of a batch as read from its JSON: the record, or why it could not be read (with its
/// id when that much could be read).
pub(crate) type ReadRecord<I> = Result<I, (Option<String>, FieldError)>;

/// Reads a batch body (`{device_id, sent_at, records}`) of any record type: the encoding, the
/// envelope, the sending device and the batch size are checked here; each record is read on its
/// own and handed to `each` with the validation context, so one bad record spoils nothing else.
/// CPU work only: runs off the async threads. Returns the device, its clock, and `each`'s results.
pub(crate) fn decode_batch<I: serde::de::DeserializeOwned, T>(
    headers: &HeaderMap, body: &[u8], (limits, campaign): (&Limits, &Campaign), sender: &crate::devices::DeviceCaller,
    now: DateTime<Utc>, lang: Lang, mut each: impl FnMut(ReadRecord<I>, &ValidationContext<'_>) -> T,
) -> Result<(Id, DateTime<Utc>, Vec<T>), ApiError> {
    let raw = decode_body(headers, body, limits, lang)?;
    let text = std::str::from_utf8(&raw).map_err(|e| {
        ApiError::of(StatusCode::BAD_REQUEST, "invalid_utf8", lang).says(
            format!("Nội dung không phải UTF-8 hợp lệ (tại byte {}).", e.valid_up_to()),
            format!("The body is not valid UTF-8 (at byte {}).", e.valid_up_to()),
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
        return Err(ApiError::of(StatusCode::PAYLOAD_TOO_LARGE, "too_many_records", lang).on("records").says(
            format!("Một lô không được quá {} bản ghi.", limits.max_records_per_push),
            format!("A batch may hold at most {} records.", limits.max_records_per_push),
        ));
    }
    let device_now = sent_at.with_timezone(&Utc);
    let ctx = ValidationContext { campaign, device_now, server_now: Some(now) };
    let records = envelope.records.iter().map(|raw| each(read_record::<I>(raw.get()), &ctx)).collect();
    Ok((device_id, device_now, records))
}

/// Reads one record; on failure, names the field and the record (if its id can be read at all).
pub(crate) fn read_record<I: serde::de::DeserializeOwned>(raw: &str) -> ReadRecord<I> {
    // The plain decoder is the fast path; the path-tracking one only names a bad field.
    serde_json::from_str::<I>(raw).map_err(|_| {
        let de = &mut serde_json::Deserializer::from_str(raw);
        let e = serde_path_to_error::deserialize::<_, I>(de).err();
        let loose: Option<serde_json::Value> = serde_json::from_str(raw).ok();
        let id = loose.as_ref().and_then(|v| v.get("id")).and_then(|v| v.as_str()).map(str::to_string);
        let (field, detail) = match e {
            Some(e) => {
                let path = e.path().to_string();
                let detail = e.inner().to_string();
                let detail = detail.split(" at line").next().unwrap_or(&detail).to_string();
                (if path == "." { "record".to_string() } else { path }, detail)
            }
            None => ("record".to_string(), "unreadable record".to_string()),
        };
        (id, FieldError::new(field, doorstep_domain::error::ErrorKind::Malformed { detail }))
    })
}

/// Decodes and validates a push body. CPU work only: runs off the async threads.
pub(crate) fn decode_push(
    headers: &HeaderMap, body: &[u8], config: (&Limits, &Campaign), sender: &crate::devices::DeviceCaller,
    now: DateTime<Utc>, lang: Lang,
) -> Result<IngestBatch, ApiError> {
    let (device_id, device_now, records) =
        decode_batch(headers, body, config, sender, now, lang, |read: ReadRecord<VisitInput>, ctx| match read {
            Err((id, error)) => Incoming::Invalid { id, revision: None, error },
            Ok(input) => match Visit::parse(&input, ctx) {
                Ok(v) if v.device_id.uuid() != sender.device_id => Incoming::Invalid {
                    id: Some(input.id.clone()),
                    revision: Some(input.revision),
                    error: FieldError::new("device_id", doorstep_domain::error::ErrorKind::NotTheSendingDevice),
                },
                Ok(v) => Incoming::valid(v),
                Err(error) => Incoming::Invalid { id: Some(input.id.clone()), revision: Some(input.revision), error },
            },
        })?;
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
        app_version: headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(doorstep_domain::protocol::field_app_version)
            .map(str::to_string),
    })
}

/// The answer to a push of any record type: the receipts, the server's time and the device's
/// clock skew (with a warning to show when it is large); 422 when any record was refused.
pub(crate) fn push_answer(
    st: &AppState, receipts: Vec<doorstep_domain::protocol::Receipt>, now: DateTime<Utc>, skew_ms: i64,
) -> Response {
    let skew_s = skew_ms / 1000;
    let clock_warning = (skew_ms.unsigned_abs() > st.limits.clock_warning_after.as_millis() as u64).then(|| Messages {
        vi: format!("Đồng hồ của điện thoại lệch {} phút so với máy chủ; hãy chỉnh lại giờ.", skew_s / 60),
        en: format!("The phone's clock is {} minutes off the server's; set the time right.", skew_s / 60),
    });
    let error = receipts.iter().find_map(|r| r.error.clone());
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let response =
        PushResponse { receipts, server_time: now.to_rfc3339(), clock_skew_seconds: skew_s, clock_warning, error };
    (status, Json(response)).into_response()
}

pub(crate) fn query_error(e: QueryRejection, lang: Lang) -> ApiError {
    ApiError::of(StatusCode::BAD_REQUEST, "bad_query", lang).says(
        format!("Tham số truy vấn không hợp lệ: {}", e.body_text()),
        format!("Invalid query parameters: {}", e.body_text()),
    )
}

pub(crate) fn unknown_area(code: &AreaCode, lang: Lang) -> ApiError {
    ApiError::field(
        StatusCode::NOT_FOUND,
        &FieldError::new("area", doorstep_domain::error::ErrorKind::UnknownArea { code: code.to_string() }),
        lang,
    )
}

/// The one check of area scope: 404 for an unknown area, 403 for one outside the user's scope.
/// Answers the area's path, which the caller needs next for its subtree.
pub(crate) async fn in_scope(
    st: &AppState, user: &SessionUser, area: &AreaCode, lang: Lang,
) -> Result<String, ApiError> {
    let Some(path) = crate::areas::area_path(&*st.store, area.as_str()).await.map_err(|e| ApiError::store(e, lang))?
    else {
        return Err(unknown_area(area, lang));
    };
    if crate::auth::may_see(st.store.as_ref(), user, &path).await.map_err(|e| ApiError::store(e, lang))? {
        Ok(path)
    } else {
        Err(ApiError::out_of_scope(lang))
    }
}

/// A query's area parsed (400 naming `field`) and checked against the caller's scope; with its
/// path.
pub(crate) async fn scoped_area(
    st: &AppState, user: &SessionUser, raw: &str, field: &str, lang: Lang,
) -> Result<(AreaCode, String), ApiError> {
    let area = AreaCode::parse(field, raw).map_err(|e| ApiError::field(StatusCode::BAD_REQUEST, &e, lang))?;
    let path = in_scope(st, user, &area, lang).await?;
    Ok((area, path))
}

pub(crate) fn forbidden(code: &str, vi: &str, en: &str, lang: Lang) -> ApiError {
    ApiError::of(StatusCode::FORBIDDEN, code, lang).says(vi, en)
}

/// A JSON body read into `T`, which must be an object: serde would read a struct from an array
/// too (`[null, null]`), which the document rules out. 400 `malformed_json` otherwise.
pub(crate) fn json_object<T: serde::de::DeserializeOwned>(body: &[u8], lang: Lang) -> Result<T, ApiError> {
    let malformed = |detail: String| {
        ApiError::of(StatusCode::BAD_REQUEST, "malformed_json", lang)
            .says(format!("Nội dung không hợp lệ: {detail}"), format!("Invalid body: {detail}"))
    };
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| malformed(e.to_string()))?;
    if !value.is_object() {
        return Err(malformed("a JSON object is expected".into()));
    }
    serde_json::from_value(value).map_err(|e| malformed(e.to_string()))
}

/// What only a team leader or an admin does: anyone else is refused with 403 `leader_only`,
/// saying what (`vi`, `en`).
pub(crate) fn leader_only(user: &SessionUser, vi: &str, en: &str, lang: Lang) -> Result<(), ApiError> {
    use doorstep_domain::account::Role;
    match user.role {
        Role::Admin | Role::Leader => Ok(()),
        _ => Err(forbidden("leader_only", vi, en, lang)),
    }
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
        ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern)).description(Some(description))
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
            let codes = one_of(campaign.outcomes.iter().map(|o| o.code.as_str()).chain([crate::filter::NOT_VISITED]));
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
