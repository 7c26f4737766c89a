//! Reading the visits held, for leaders and the dashboard: by id, by page, by household, a visit's
//! revisions. Each statement is written once for both databases ([`crate::db`]).

use doorstep_domain::protocol::VisitDto;
use uuid::Uuid;

use crate::db::{Db, params};
use crate::store::{StoreError, VISIT_COLUMNS, VISIT_WIDTH};

/// A visit's latest revision, with its area's path (for the scope check).
pub async fn visit_by_id(db: &dyn Db, id: Uuid) -> Result<Option<(VisitDto, String)>, StoreError> {
    let sql = format!(
        "SELECT {VISIT_COLUMNS}, a.path FROM visits v JOIN areas a ON a.code = v.area_code
         LEFT JOIN visit_flags f ON f.server_seq = v.server_seq
         WHERE v.id = $1 ORDER BY v.revision DESC LIMIT 1"
    );
    db.query_opt(&sql, params![id]).await?.map(|r| Ok((visit_from_row(&r)?, r.get(VISIT_WIDTH)?))).transpose()
}

/// A page of a subtree's visits in receive order, or of its flagged ones.
pub async fn visits(db: &dyn Db, q: VisitQuery) -> Result<Vec<VisitDto>, StoreError> {
    let limit = i64::from(q.limit);
    // Flagged visits are few: the flags table leads. All visits: receive order leads.
    let rows = if q.flagged_only {
        db.query(flagged_visits_sql(), params![q.lo, q.hi, q.after_seq, limit, q.flag]).await?
    } else {
        let sql = format!(
            "SELECT {VISIT_COLUMNS} FROM visits v JOIN areas a ON a.code = v.area_code
             LEFT JOIN visit_flags f ON f.server_seq = v.server_seq
             WHERE a.path >= $1 AND a.path < $2 AND v.server_seq > $3 ORDER BY v.server_seq LIMIT $4"
        );
        db.query(&sql, params![q.lo, q.hi, q.after_seq, limit]).await?
    };
    rows.iter().map(visit_from_row).collect()
}

/// Every revision held of a visit, oldest first.
pub async fn visit_revisions(db: &dyn Db, id: Uuid) -> Result<Vec<VisitDto>, StoreError> {
    let sql = format!(
        "SELECT {VISIT_COLUMNS} FROM visits v LEFT JOIN visit_flags f ON f.server_seq = v.server_seq
         WHERE v.id = $1 ORDER BY v.revision, v.server_seq"
    );
    db.query(&sql, params![id]).await?.iter().map(visit_from_row).collect()
}

/// The visits to a household (every revision, by visit), each with its area's path.
pub async fn household_visits(db: &dyn Db, household: Uuid) -> Result<Vec<(VisitDto, String)>, StoreError> {
    let sql = format!(
        "SELECT {VISIT_COLUMNS}, a.path FROM visits v JOIN areas a ON a.code = v.area_code
         LEFT JOIN visit_flags f ON f.server_seq = v.server_seq
         WHERE v.household_id = $1 ORDER BY v.id, v.revision LIMIT 1000"
    );
    db.query(&sql, params![household]).await?.iter().map(|r| Ok((visit_from_row(r)?, r.get(VISIT_WIDTH)?))).collect()
}

/// The daily curve of a subtree `[lo, hi)`: per local day (days since 1970), visits, households
/// reached for the first time, installs at the visit ([`crate::visits::DAILY_PROGRESS_SQL`]).
pub async fn daily_progress(
    db: &dyn Db, lo: &str, hi: &str, from_day: i64, to_day: i64,
) -> Result<Vec<crate::visits::DayRow>, StoreError> {
    db.query(crate::visits::DAILY_PROGRESS_SQL, params![lo, hi, from_day, to_day])
        .await?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<Option<i64>>(3)?.unwrap_or(0))))
        .collect()
}

/// The households of a subtree with where they are and how they stand, at most `limit`.
pub async fn households_in(
    db: &dyn Db, lo: &str, hi: &str, limit: i64,
) -> Result<Vec<crate::visits::HouseholdPoint>, StoreError> {
    db.query(crate::visits::HOUSEHOLDS_IN_SQL, params![lo, hi, limit])
        .await?
        .iter()
        .map(|r| {
            Ok(crate::visits::HouseholdPoint {
                id: r.get(0)?,
                area_code: r.get(1)?,
                area_name: r.get(2)?,
                area_path: r.get(3)?,
                address: r.get(4)?,
                lat: r.get(5)?,
                lon: r.get(6)?,
                latest_outcome: r.get(7)?,
                visits: r.get(8)?,
                latest_visited_at_ms: r.get(9)?,
            })
        })
        .collect()
}

/// A household for the map and the walk lists, with its area's name and path.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdPoint {
    pub id: Uuid,
    pub area_code: String,
    pub area_name: String,
    pub area_path: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub latest_outcome: Option<String>,
    pub visits: i64,
    /// The latest-received visit's time (ms since 1970 UTC).
    pub latest_visited_at_ms: Option<i64>,
}

/// The SQL of [`crate::visits::households_in`] (`$n` placeholders, rewritten for SQLite).
pub const HOUSEHOLDS_IN_SQL: &str = "SELECT h.id, h.area_code, a.name, a.path, h.address, h.lat, h.lon,
        h.latest_outcome, h.visits, h.latest_visited_at_ms
    FROM households h JOIN areas a ON a.code = h.area_code
    WHERE a.path >= $1 AND a.path < $2
    LIMIT $3";

/// A day of [`crate::visits::daily_progress`]: (day number, visits, households, installed_now).
pub type DayRow = (i64, i64, i64, i64);

/// The SQL of [`crate::visits::daily_progress`], the same on both databases (integer division on both);
/// `$n` placeholders, rewritten to `?n` for SQLite.
pub const DAILY_PROGRESS_SQL: &str = "SELECT d.day, CAST(SUM(d.visits) AS BIGINT), CAST(SUM(d.households) AS BIGINT),
        CAST(SUM(d.installed_now) AS BIGINT)
    FROM area_days d JOIN areas a ON a.code = d.area_code
    WHERE a.path >= $1 AND a.path < $2 AND d.day BETWEEN $3 AND $4
    GROUP BY d.day ORDER BY d.day";

/// Which visits to list: a subtree of paths, a page after a receive number.
#[derive(Debug, Clone)]
pub struct VisitQuery {
    pub lo: String,
    pub hi: String,
    pub after_seq: i64,
    pub limit: u32,
    pub flagged_only: bool,
    /// Only visits carrying this flag (a code of `doorstep_domain::quality::Flag`).
    pub flag: Option<String>,
}

/// A row whose first columns are [`VISIT_COLUMNS`].
pub fn visit_from_row(r: &crate::db::Row) -> Result<VisitDto, StoreError> {
    Ok(crate::store::visit_dto(r.columns()?, (r.columns_at(9)?, r.columns_at(16)?)))
}

/// The flagged visits of a subtree, `$1..$2` its path range, after `$3`, at most `$4`, with the
/// flag `$5` (or any). A visit naming a household of the subtree from another area is listed
/// too: both areas' leaders see it (`household_in_other_area`). SQLite reads `$n` as `?n`.
pub fn flagged_visits_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "SELECT {VISIT_COLUMNS} FROM visit_flags f JOIN visits v ON v.server_seq = f.server_seq
             JOIN areas a ON a.code = v.area_code
             LEFT JOIN households h ON h.id = v.household_id
             LEFT JOIN areas ha ON ha.code = h.area_code
             WHERE ((a.path >= $1 AND a.path < $2) OR (ha.path >= $1 AND ha.path < $2)) AND f.server_seq > $3
               AND (CAST($5 AS TEXT) IS NULL OR (',' || f.flags || ',') LIKE ('%,' || CAST($5 AS TEXT) || ',%'))
             ORDER BY f.server_seq LIMIT $4"
        )
    })
}
