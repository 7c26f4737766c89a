//! Reading the visits held, for leaders and the dashboard: by id, by page, by household, a visit's
//! revisions. Each statement is written once for both databases ([`crate::db`]).

use doorstep_domain::protocol::VisitDto;
use uuid::Uuid;

use crate::db::{Db, params};
use crate::store::{StoreError, VISIT_COLUMNS, VisitQuery, flagged_visits_sql, visit_from_row};

/// A visit's latest revision, with its area's path (for the scope check).
pub async fn visit_by_id(db: &dyn Db, id: Uuid) -> Result<Option<(VisitDto, String)>, StoreError> {
    let sql = format!(
        "SELECT {VISIT_COLUMNS}, a.path FROM visits v JOIN areas a ON a.code = v.area_code
         LEFT JOIN visit_flags f ON f.server_seq = v.server_seq
         WHERE v.id = $1 ORDER BY v.revision DESC LIMIT 1"
    );
    db.query_opt(&sql, params![id])
        .await?
        .map(|r| Ok((visit_from_row(&r)?, r.get(23)?)))
        .transpose()
}

/// A page of a subtree's visits in receive order, or of its flagged ones.
pub async fn visits(db: &dyn Db, q: VisitQuery) -> Result<Vec<VisitDto>, StoreError> {
    let limit = i64::from(q.limit);
    // Flagged visits are few: the flags table leads. All visits: receive order leads.
    let rows = if q.flagged_only {
        db.query(flagged_visits_sql(), params![q.lo, q.hi, q.after_seq, limit, q.flag])
            .await?
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
    db.query(&sql, params![household])
        .await?
        .iter()
        .map(|r| Ok((visit_from_row(r)?, r.get(23)?)))
        .collect()
}

/// The daily curve of a subtree `[lo, hi)`: per local day (days since 1970), visits, households
/// reached for the first time, installs at the visit ([`crate::store::DAILY_PROGRESS_SQL`]).
pub async fn daily_progress(
    db: &dyn Db,
    lo: &str,
    hi: &str,
    from_day: i64,
    to_day: i64,
) -> Result<Vec<crate::store::DayRow>, StoreError> {
    db.query(crate::store::DAILY_PROGRESS_SQL, params![lo, hi, from_day, to_day])
        .await?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<Option<i64>>(3)?.unwrap_or(0))))
        .collect()
}

/// The households of a subtree with where they are and how they stand, at most `limit`.
pub async fn households_in(
    db: &dyn Db,
    lo: &str,
    hi: &str,
    limit: i64,
) -> Result<Vec<crate::store::HouseholdPoint>, StoreError> {
    db.query(crate::store::HOUSEHOLDS_IN_SQL, params![lo, hi, limit])
        .await?
        .iter()
        .map(|r| {
            Ok(crate::store::HouseholdPoint {
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
