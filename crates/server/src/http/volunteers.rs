//! The HTTP face of `crate::volunteers`: `GET /api/v1/volunteers/daily`, `GET /api/v1/devices`.

use crate::http::AreaRefusals;
use crate::http::extract::{Query, ReqLang, Scoped, Staff, scoped_query};
use crate::http::{ApiError, AppState, scoped_area};
use crate::store::subtree_range;
use crate::volunteers::{DeviceList, DeviceStatus, MAX_DAYS, VolunteerDay};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use doorstep_domain::Lang;
use doorstep_domain::quality::{DEFAULT_STALE_HOURS, MAX_STALE_HOURS, is_stale};
use serde::Deserialize;

fn bad_request(field: &'static str, vi: String, en: String, lang: Lang) -> ApiError {
    ApiError::of(StatusCode::BAD_REQUEST, "bad_query", lang).on(field).says(vi, en)
}

fn millis_text(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.to_rfc3339()).unwrap_or_default()
}

/// Visits per volunteer and day (the phone's local date) in an area's subtree: visits,
/// households, installs and flagged visits. Sorted by volunteer, then day.
#[utoipa::path(get, path = "/api/v1/volunteers/daily", params(VolunteerDaysQuery), responses(
    (status = 200, body = [VolunteerDay]), AreaRefusals
))]
pub async fn get_volunteer_days(
    State(st): State<AppState>, ReqLang(lang): ReqLang, _caller: Staff,
    Scoped { q, path, .. }: Scoped<VolunteerDaysQuery>,
) -> Result<Json<Vec<VolunteerDay>>, ApiError> {
    let offset = chrono::Duration::minutes(i64::from(st.campaign.utc_offset_minutes));
    let today = (Utc::now() + offset).date_naive();
    let to = crate::http::report::parse_date("to", q.to.as_deref(), today, lang)?;
    let from = crate::http::report::parse_date("from", q.from.as_deref(), to - chrono::Duration::days(13), lang)?;
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
        &*st.reads(),
        &lo,
        &hi,
        crate::report::day_number(from),
        crate::report::day_number(to),
    )
    .await
    .map_err(|e| ApiError::store(e, lang))?;
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
                display_name: r.display_name,
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
#[utoipa::path(get, path = "/api/v1/devices", params(DevicesQuery), responses(
    (status = 200, body = DeviceList), AreaRefusals
))]
pub async fn get_devices(
    State(st): State<AppState>, ReqLang(lang): ReqLang, caller: Staff, Query(q): Query<DevicesQuery>,
) -> Result<Json<DeviceList>, ApiError> {
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
    // On the primary, not a read replica: a leader reads this list right after revoking a phone.
    let rows = crate::volunteers::devices_in(&*st.store, &lo, &hi).await.map_err(|e| ApiError::store(e, lang))?;
    let now = Utc::now();
    let now_ms = now.timestamp_millis();
    let mut devices: Vec<DeviceStatus> = rows
        .into_iter()
        .map(|r| DeviceStatus {
            device_id: r.device_id.to_string(),
            volunteer: r.username,
            volunteer_name: r.display_name,
            volunteer_area: r.area_code,
            enrolled_at: millis_text(r.enrolled_ms),
            last_sync: r.last_sync_ms.map(millis_text),
            minutes_since_sync: r.last_sync_ms.map(|t| (now_ms - t).max(0) / 60_000),
            pushes: r.pushes,
            clock_skew_seconds: r.clock_skew_ms.map(|s| s / 1000),
            flagged_visits: r.flagged,
            stale: is_stale(r.last_sync_ms, r.revoked, now_ms, stale_hours),
            revoked: r.revoked,
            revoke_reason: r.revoke_reason,
            app_version: r.app_version,
        })
        .collect();
    devices.sort_by(|a, b| {
        let silent = |d: &DeviceStatus| d.minutes_since_sync.unwrap_or(i64::MAX);
        (!a.stale, a.revoked, std::cmp::Reverse(silent(a)), &a.volunteer, &a.device_id).cmp(&(
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VolunteerDaysQuery {
    /// The area (a GSO code).
    #[param(value_type = crate::http::params::AreaCode)]
    pub area: String,
    /// First day, `YYYY-MM-DD` (default: 13 days before `to`); not after `to`, and at most
    /// 366 days with it.
    #[param(value_type = crate::http::params::Day, required = false)]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today in the campaign's time zone).
    #[param(value_type = crate::http::params::Day, required = false)]
    pub to: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DevicesQuery {
    /// The area (a GSO code).
    #[param(value_type = crate::http::params::AreaCode)]
    pub area: String,
    /// A live device silent for longer than this many hours is stale (default 24, 1 to 720).
    #[param(minimum = 1, maximum = 720, required = false)]
    pub stale_hours: Option<i64>,
}

scoped_query!(VolunteerDaysQuery, area);
