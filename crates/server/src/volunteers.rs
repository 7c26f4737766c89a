//! Volunteers and devices for leaders and committees: visits per volunteer and local day, and
//! every phone of the volunteers of an area with its last sync, flagged visits and whether it is
//! stale (no sync for longer than a threshold: `stale_hours` in the request, 24 by default).
//! Volunteers themselves may not read these (403 `staff_only`); everyone else only their subtree.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, NaiveDate, Utc};
use doorstep_domain::protocol::ErrorResponse;
use doorstep_domain::quality::{DEFAULT_STALE_HOURS, MAX_STALE_HOURS, is_stale};
use doorstep_domain::{Lang, Messages};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::api::{ApiError, AppState, lang_of, query_error, scoped_area};
use crate::auth::Caller;
use crate::db::{Db, params};
use crate::store::StoreError;
use crate::store::subtree_range;

/// One volunteer's figures on one local day, as the store reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolunteerDayRow {
    pub volunteer_id: Uuid,
    /// `None` when the visits name an id no account has (a phone used before it was enrolled).
    pub username: Option<String>,
    /// Days since 1970 on the phone's calendar.
    pub day: i64,
    pub visits: i64,
    pub households: i64,
    pub installed_now: i64,
    pub flagged: i64,
}

/// The SQL of [`volunteer_days`], the same on both databases; the day is
/// the phone's local date, as in the daily curve. `$n` placeholders, rewritten for SQLite.
pub const VOLUNTEER_DAYS_SQL: &str = "SELECT v.volunteer_id, u.username,
        (v.visited_at_ms + v.utc_offset_min * 60000) / 86400000 AS day,
        COUNT(*), COUNT(DISTINCT v.household_id), CAST(SUM(v.installed_now) AS BIGINT), COUNT(f.server_seq)
    FROM visits v JOIN areas a ON a.code = v.area_code
    LEFT JOIN users u ON u.id = v.volunteer_id
    LEFT JOIN visit_flags f ON f.server_seq = v.server_seq
    WHERE a.path >= $1 AND a.path < $2 AND v.revision = 1
      AND (v.visited_at_ms + v.utc_offset_min * 60000) / 86400000 BETWEEN $3 AND $4
    GROUP BY v.volunteer_id, u.username, day";

/// One enrolled device, as the store reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub device_id: Uuid,
    pub username: String,
    pub area_code: String,
    pub enrolled_ms: i64,
    /// Every token of the device is revoked.
    pub revoked: bool,
    /// The last push the server stored (`devices.last_seen_ms`); `None`: never synced.
    pub last_sync_ms: Option<i64>,
    pub clock_skew_ms: Option<i64>,
    pub pushes: i64,
    /// Its visits in the subtree that carry a flag.
    pub flagged: i64,
}

/// The SQL of [`devices_in`], the same on both databases (`$1`, `$2`: the
/// subtree). A volunteer belongs to an area by their account's area or by an assignment.
pub const DEVICES_SQL: &str = "SELECT t.device_id, u.username, u.area_code, MIN(t.created_at_ms),
        MIN(CASE WHEN t.revoked_at_ms IS NULL THEN 0 ELSE 1 END),
        d.last_seen_ms, d.clock_skew_ms, d.pushes, fl.n
    FROM device_tokens t JOIN users u ON u.id = t.user_id
    LEFT JOIN devices d ON d.id = t.device_id
    LEFT JOIN (SELECT v.device_id, COUNT(*) AS n FROM visit_flags f
               JOIN visits v ON v.server_seq = f.server_seq JOIN areas a ON a.code = v.area_code
               WHERE a.path >= $1 AND a.path < $2 GROUP BY v.device_id) fl ON fl.device_id = t.device_id
    WHERE t.user_id IN (SELECT x.id FROM users x JOIN areas a ON a.code = x.area_code
                        WHERE a.path >= $1 AND a.path < $2)
       OR t.user_id IN (SELECT s.user_id FROM assignments s JOIN areas a ON a.code = s.area_code
                        WHERE a.path >= $1 AND a.path < $2)
    GROUP BY t.device_id, u.username, u.area_code, d.last_seen_ms, d.clock_skew_ms, d.pushes, fl.n";

/// A volunteer's visits on one day (the phone's local date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VolunteerDay {
    pub volunteer_id: String,
    /// The volunteer's username; `null` for an id no account has.
    pub username: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// First records of visits (corrections are not visits).
    pub visits: i64,
    pub households: i64,
    /// Phones on which the app was installed during the visits.
    pub installed_now: i64,
    /// Of the visits, those flagged for a leader to check.
    pub flagged: i64,
}

/// A volunteer's phone and how recently it was heard from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceStatus {
    pub device_id: String,
    /// The volunteer the phone was enrolled for.
    pub volunteer: String,
    /// The volunteer account's area.
    pub volunteer_area: String,
    pub enrolled_at: String,
    /// The last push the server stored; `null`: never synced.
    pub last_sync: Option<String>,
    /// Whole minutes since the last sync, by the server's clock; `null`: never synced.
    pub minutes_since_sync: Option<i64>,
    pub pushes: i64,
    /// The phone's clock minus the server's at its last push, in seconds.
    pub clock_skew_seconds: Option<i64>,
    /// Its visits in the area that carry a flag (waiting for a leader's look).
    pub flagged_visits: i64,
    pub revoked: bool,
    /// Live and silent for longer than `stale_after_hours` (or never synced).
    pub stale: bool,
}

/// The devices of an area's volunteers, stale ones first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceList {
    pub area_code: String,
    pub stale_after_hours: i64,
    /// The server's clock when the list was made (what "since" counts from).
    pub checked_at: String,
    pub devices: Vec<DeviceStatus>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VolunteerDaysQuery {
    /// The area (a GSO code).
    #[param(value_type = crate::api::params::AreaCode)]
    area: String,
    /// First day, `YYYY-MM-DD` (default: 13 days before `to`); not after `to`, and at most
    /// 366 days with it.
    #[param(value_type = crate::api::params::Day, required = false)]
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today in the campaign's time zone).
    #[param(value_type = crate::api::params::Day, required = false)]
    to: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DevicesQuery {
    /// The area (a GSO code).
    #[param(value_type = crate::api::params::AreaCode)]
    area: String,
    /// A live device silent for longer than this many hours is stale (default 24, 1 to 720).
    #[param(minimum = 1, maximum = 720, required = false)]
    stale_hours: Option<i64>,
}

/// The longest range of days one request may ask for.
const MAX_DAYS: i64 = 366;

fn bad_request(field: &'static str, vi: String, en: String, lang: Lang) -> ApiError {
    ApiError::with_messages(
        StatusCode::BAD_REQUEST,
        "bad_query",
        Some(field),
        Messages { vi, en },
        lang,
    )
}

fn millis_text(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

/// Visits per volunteer and day (the phone's local date) in an area's subtree: visits,
/// households, installs and flagged visits. Sorted by volunteer, then day.
#[utoipa::path(
    get,
    path = "/api/v1/volunteers/daily",
    params(VolunteerDaysQuery),
    responses(
        (status = 200, body = [VolunteerDay]),
        (status = 400, body = ErrorResponse),
        (status = 403, description = "A volunteer, or an area outside the caller's", body = ErrorResponse),
        (status = 404, body = ErrorResponse)
    ),
    security(("bearer" = []))
)]
pub async fn get_volunteer_days(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    q: Result<Query<VolunteerDaysQuery>, QueryRejection>,
) -> Result<Json<Vec<VolunteerDay>>, ApiError> {
    let lang = lang_of(&headers);
    crate::filter::staff_only(&caller.0, lang)?;
    let Query(q) = q.map_err(|e| query_error(e, lang))?;
    let (_, path) = scoped_area(&st, &caller.0, &q.area, "area", lang).await?;
    let offset = chrono::Duration::minutes(i64::from(st.campaign.utc_offset_minutes));
    let today = (Utc::now() + offset).date_naive();
    let to = crate::report::http::parse_date("to", q.to.as_deref(), today, lang)?;
    let from = crate::report::http::parse_date("from", q.from.as_deref(), to - chrono::Duration::days(13), lang)?;
    let span = (to - from).num_days();
    if !(0..MAX_DAYS).contains(&span) {
        return Err(bad_request(
            "from",
            format!("Khoảng ngày phải từ 1 đến {MAX_DAYS} ngày và ngày đầu không sau ngày cuối."),
            format!("The range must hold 1 to {MAX_DAYS} days, the first not after the last."),
            lang,
        ));
    }
    let (lo, hi) = subtree_range(&path);
    let mut rows = crate::volunteers::volunteer_days(
        &*st.store,
        &lo,
        &hi,
        crate::report::day_number(from),
        crate::report::day_number(to),
    )
    .await
    .map_err(|e| ApiError::storage(e, lang))?;
    // In Rust, not SQL: the databases put missing usernames at different ends.
    rows.sort_by(|a, b| {
        (a.username.is_none(), &a.username, a.volunteer_id, a.day).cmp(&(
            b.username.is_none(),
            &b.username,
            b.volunteer_id,
            b.day,
        ))
    });
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    Ok(Json(
        rows.into_iter()
            .map(|r| VolunteerDay {
                volunteer_id: r.volunteer_id.to_string(),
                username: r.username,
                date: epoch
                    .checked_add_signed(chrono::Duration::days(r.day))
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                visits: r.visits,
                households: r.households,
                installed_now: r.installed_now,
                flagged: r.flagged,
            })
            .collect(),
    ))
}

/// The phones of the volunteers of an area (by their account's area or an assignment): last
/// sync, pushes, clock skew, flagged visits, revoked, and stale when live and silent for longer
/// than `stale_hours`. Stale ones first, then the longest silent.
#[utoipa::path(
    get,
    path = "/api/v1/devices",
    params(DevicesQuery),
    responses(
        (status = 200, body = DeviceList),
        (status = 400, body = ErrorResponse),
        (status = 403, description = "A volunteer, or an area outside the caller's", body = ErrorResponse),
        (status = 404, body = ErrorResponse)
    ),
    security(("bearer" = []))
)]
pub async fn get_devices(
    State(st): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    q: Result<Query<DevicesQuery>, QueryRejection>,
) -> Result<Json<DeviceList>, ApiError> {
    let lang = lang_of(&headers);
    crate::filter::staff_only(&caller.0, lang)?;
    let Query(q) = q.map_err(|e| query_error(e, lang))?;
    let stale_hours = q.stale_hours.unwrap_or(DEFAULT_STALE_HOURS);
    if !(1..=MAX_STALE_HOURS).contains(&stale_hours) {
        return Err(bad_request(
            "stale_hours",
            format!("Ngưỡng mất liên lạc phải từ 1 đến {MAX_STALE_HOURS} giờ."),
            format!("The stale threshold must be 1 to {MAX_STALE_HOURS} hours."),
            lang,
        ));
    }
    let (area, path) = scoped_area(&st, &caller.0, &q.area, "area", lang).await?;
    let (lo, hi) = subtree_range(&path);
    let rows = crate::volunteers::devices_in(&*st.store, &lo, &hi)
        .await
        .map_err(|e| ApiError::storage(e, lang))?;
    let now = Utc::now();
    let now_ms = now.timestamp_millis();
    let mut devices: Vec<DeviceStatus> = rows
        .into_iter()
        .map(|r| DeviceStatus {
            device_id: r.device_id.to_string(),
            volunteer: r.username,
            volunteer_area: r.area_code,
            enrolled_at: millis_text(r.enrolled_ms),
            last_sync: r.last_sync_ms.map(millis_text),
            minutes_since_sync: r.last_sync_ms.map(|t| (now_ms - t).max(0) / 60_000),
            pushes: r.pushes,
            clock_skew_seconds: r.clock_skew_ms.map(|s| s / 1000),
            flagged_visits: r.flagged,
            stale: is_stale(r.last_sync_ms, r.revoked, now_ms, stale_hours),
            revoked: r.revoked,
        })
        .collect();
    devices.sort_by(|a, b| {
        let silent = |d: &DeviceStatus| d.minutes_since_sync.unwrap_or(i64::MAX);
        (
            !a.stale,
            a.revoked,
            std::cmp::Reverse(silent(a)),
            &a.volunteer,
            &a.device_id,
        )
            .cmp(&(
                !b.stale,
                b.revoked,
                std::cmp::Reverse(silent(b)),
                &b.volunteer,
                &b.device_id,
            ))
    });
    Ok(Json(DeviceList {
        area_code: area.to_string(),
        stale_after_hours: stale_hours,
        checked_at: now.to_rfc3339(),
        devices,
    }))
}

/// Per volunteer and local day, in the subtree `[lo, hi)` ([`VOLUNTEER_DAYS_SQL`]).
pub async fn volunteer_days(
    db: &dyn Db,
    lo: &str,
    hi: &str,
    from_day: i64,
    to_day: i64,
) -> Result<Vec<VolunteerDayRow>, StoreError> {
    db.query(VOLUNTEER_DAYS_SQL, params![lo, hi, from_day, to_day])
        .await?
        .iter()
        .map(|r| {
            Ok(VolunteerDayRow {
                volunteer_id: r.get(0)?,
                username: r.get(1)?,
                day: r.get(2)?,
                visits: r.get(3)?,
                households: r.get(4)?,
                installed_now: r.get::<Option<i64>>(5)?.unwrap_or(0),
                flagged: r.get(6)?,
            })
        })
        .collect()
}

/// The devices enrolled for volunteers of the subtree `[lo, hi)` ([`DEVICES_SQL`]).
pub async fn devices_in(db: &dyn Db, lo: &str, hi: &str) -> Result<Vec<DeviceRow>, StoreError> {
    db.query(DEVICES_SQL, params![lo, hi])
        .await?
        .iter()
        .map(|r| {
            Ok(DeviceRow {
                device_id: r.get(0)?,
                username: r.get(1)?,
                area_code: r.get(2)?,
                enrolled_ms: r.get(3)?,
                revoked: r.get(4)?,
                last_sync_ms: r.get(5)?,
                clock_skew_ms: r.get(6)?,
                pushes: r.get::<Option<i64>>(7)?.unwrap_or(0),
                flagged: r.get::<Option<i64>>(8)?.unwrap_or(0),
            })
        })
        .collect()
}
