//! Volunteers and devices for leaders and committees: visits per volunteer and local day, and
//! every phone of the volunteers of an area with its last sync, flagged visits and whether it is
//! stale (no sync for longer than a threshold: `stale_hours` in the request, 24 by default).
//! Volunteers themselves may not read these (403 `staff_only`); everyone else only their subtree.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::{Db, params};
use crate::store::StoreError;

/// One volunteer's figures on one local day, as the store reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolunteerDayRow {
    pub volunteer_id: Uuid,
    /// `None` when the visits name an id no account has (a phone used before it was enrolled).
    pub username: Option<String>,
    /// The account's display name, or its username; `None` as `username`.
    pub display_name: Option<String>,
    /// Days since 1970 on the phone's calendar.
    pub day: i64,
    pub visits: i64,
    pub households: i64,
    pub installed_now: i64,
    pub flagged: i64,
}

/// The SQL of [`volunteer_days`], the same on both databases; the day is
/// the phone's local date, as in the daily curve. `$n` placeholders, rewritten for SQLite.
pub const VOLUNTEER_DAYS_SQL: &str = "SELECT v.volunteer_id, u.username, COALESCE(u.display_name, u.username),
        (v.visited_at_ms + v.utc_offset_min * 60000) / 86400000 AS day,
        COUNT(*), COUNT(DISTINCT v.household_id), CAST(SUM(v.installed_now) AS BIGINT), COUNT(f.server_seq)
    FROM visits v JOIN areas a ON a.code = v.area_code
    LEFT JOIN users u ON u.id = v.volunteer_id
    LEFT JOIN visit_flags f ON f.server_seq = v.server_seq
    WHERE a.path >= $1 AND a.path < $2 AND v.revision = 1
      AND (v.visited_at_ms + v.utc_offset_min * 60000) / 86400000 BETWEEN $3 AND $4
    GROUP BY v.volunteer_id, u.username, u.display_name, day";

/// One enrolled device, as the store reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub device_id: Uuid,
    /// The field app's version at its last push that named one.
    pub app_version: Option<String>,
    pub username: String,
    /// The account's display name, or its username.
    pub display_name: String,
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
    /// Why a leader revoked it, as they wrote it.
    pub revoke_reason: Option<String>,
}

/// The SQL of [`devices_in`], the same on both databases (`$1`, `$2`: the
/// subtree). A volunteer belongs to an area by their account's area or by an assignment.
pub const DEVICES_SQL: &str = "SELECT t.device_id, u.username, u.area_code, MIN(t.created_at_ms),
        MIN(CASE WHEN t.revoked_at_ms IS NULL THEN 0 ELSE 1 END),
        d.last_seen_ms, d.clock_skew_ms, d.pushes, fl.n, COALESCE(u.display_name, u.username), MAX(t.revoke_reason),
        d.app_version
    FROM device_tokens t JOIN users u ON u.id = t.user_id
    LEFT JOIN devices d ON d.id = t.device_id
    LEFT JOIN (SELECT v.device_id, COUNT(*) AS n FROM visit_flags f
               JOIN visits v ON v.server_seq = f.server_seq JOIN areas a ON a.code = v.area_code
               WHERE a.path >= $1 AND a.path < $2 GROUP BY v.device_id) fl ON fl.device_id = t.device_id
    WHERE t.user_id IN (SELECT x.id FROM users x JOIN areas a ON a.code = x.area_code
                        WHERE a.path >= $1 AND a.path < $2)
       OR t.user_id IN (SELECT s.user_id FROM assignments s JOIN areas a ON a.code = s.area_code
                        WHERE a.path >= $1 AND a.path < $2)
    GROUP BY t.device_id, u.username, u.display_name, u.area_code, d.last_seen_ms, d.clock_skew_ms, d.pushes, fl.n,
        d.app_version";

/// A volunteer's visits on one day (the phone's local date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VolunteerDay {
    pub volunteer_id: String,
    /// The volunteer's username; `null` for an id no account has.
    pub username: Option<String>,
    /// The volunteer's display name (or username); `null` as `username`.
    pub display_name: Option<String>,
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
    /// The field app's version it last synced with (`null`: never synced, or a version too old
    /// to say).
    pub app_version: Option<String>,
    /// The volunteer the phone was enrolled for (username).
    pub volunteer: String,
    /// Their display name (or username).
    pub volunteer_name: String,
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
    /// Why a leader revoked it; `null` while live or when no reason was given.
    pub revoke_reason: Option<String>,
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

/// The longest range of days one request may ask for.
pub(crate) const MAX_DAYS: i64 = 366;

/// Per volunteer and local day, in the subtree `[lo, hi)` ([`VOLUNTEER_DAYS_SQL`]).
pub async fn volunteer_days(
    db: &dyn Db, lo: &str, hi: &str, from_day: i64, to_day: i64,
) -> Result<Vec<VolunteerDayRow>, StoreError> {
    let rows = db.query(VOLUNTEER_DAYS_SQL, params![lo, hi, from_day, to_day]).await?;
    rows.iter()
        .map(|r| {
            let (volunteer_id, username, display_name, day, visits, households, installed_now, flagged) =
                r.columns()?;
            let installed_now = Option::<i64>::unwrap_or(installed_now, 0);
            Ok(VolunteerDayRow {
                volunteer_id,
                username,
                display_name,
                day,
                visits,
                households,
                installed_now,
                flagged,
            })
        })
        .collect()
}

/// The devices enrolled for volunteers of the subtree `[lo, hi)` ([`DEVICES_SQL`]).
pub async fn devices_in(db: &dyn Db, lo: &str, hi: &str) -> Result<Vec<DeviceRow>, StoreError> {
    let rows = db.query(DEVICES_SQL, params![lo, hi]).await?;
    rows.iter()
        .map(|r| {
            let (device_id, username, area_code, enrolled_ms, revoked, last_sync_ms, clock_skew_ms) = r.columns()?;
            let (pushes, flagged) = (r.get::<Option<i64>>(7)?.unwrap_or(0), r.get::<Option<i64>>(8)?.unwrap_or(0));
            let (display_name, revoke_reason, app_version) = r.columns_at(9)?;
            Ok(DeviceRow {
                device_id,
                username,
                display_name,
                revoke_reason,
                app_version,
                area_code,
                enrolled_ms,
                revoked,
                last_sync_ms,
                clock_skew_ms,
                pushes,
                flagged,
            })
        })
        .collect()
}

/// Phones enrolled and not revoked, everywhere: how many, and how many have not synced since
/// `before_ms` (or never), for `/metrics`.
pub async fn phones_quiet(db: &dyn Db, before_ms: i64) -> Result<(i64, i64), StoreError> {
    let row = db
        .query_opt(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN d.last_seen_ms IS NULL OR d.last_seen_ms < $1 THEN 1 ELSE 0 END), 0)
             FROM (SELECT DISTINCT device_id FROM device_tokens WHERE revoked_at_ms IS NULL) t
             LEFT JOIN devices d ON d.id = t.device_id",
            params![before_ms],
        )
        .await?;
    match row {
        Some(r) => r.columns(),
        None => Ok((0, 0)),
    }
}
