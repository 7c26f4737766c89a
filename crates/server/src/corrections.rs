//! Sending a visit back for correction. A leader marks a visit with a comment; the volunteer's
//! phone receives it when it next syncs (`GET /api/v1/sync/corrections`) and shows it; the
//! volunteer's corrected visit is a new revision of the same visit, which syncs like any record.
//! A correction is open until a later revision of its visit reaches the server: that is read
//! from the visits themselves, never kept as a second fact that could disagree. Nothing is
//! overwritten: the history holds every revision and every send-back.

use doorstep_domain::protocol::{CorrectionDto, VisitDto};
use uuid::Uuid;

use crate::db::{Db, params};
use crate::store::StoreError;

/// The longest comment a leader may write, in characters.
pub const MAX_COMMENT: usize = 500;
/// The most corrections one answer carries (a phone's list; a dashboard page).
pub const MAX_CORRECTIONS: i64 = 500;

/// The correction's own columns, after the sent-back revision's [`crate::store::VISIT_COLUMNS`]
/// (so the visit readers serve) from index [`crate::store::VISIT_WIDTH`]. `c` is corrections.
const CORRECTION_OWN_COLUMNS: &str = "c.id, c.comment, c.requested_by, c.requested_at_ms,
    (SELECT MIN(n.revision) FROM visits n WHERE n.id = c.visit_id AND n.revision > c.revision)";

/// The FROM clause of a correction read: `v` is the visit revision sent back, `f` its flags.
pub const CORRECTION_FROM: &str = "corrections c
    JOIN visits v ON v.id = c.visit_id AND v.revision = c.revision
    JOIN areas a ON a.code = c.area_code
    LEFT JOIN visit_flags f ON f.server_seq = v.server_seq";

/// Open: no later revision of the visit has reached the server.
pub const OPEN_ONLY: &str =
    "NOT EXISTS (SELECT 1 FROM visits n2 WHERE n2.id = c.visit_id AND n2.revision > c.revision)";

/// A send-back to store.
#[derive(Debug, Clone)]
pub struct NewCorrection {
    pub id: Uuid,
    pub visit_id: Uuid,
    pub revision: i64,
    pub volunteer_id: Uuid,
    pub area_code: String,
    pub comment: String,
    pub requested_by: String,
    pub requested_at_ms: i64,
}

/// Which corrections to read.
#[derive(Debug, Clone)]
pub enum CorrectionQuery {
    /// The open ones addressed to a volunteer (what their phone shows).
    OpenForVolunteer(Uuid),
    /// Every one of a visit, oldest first (its history).
    OfVisit(Uuid),
    /// Every one of the visits to a household, by visit then oldest first.
    OfHousehold(Uuid),
    /// A subtree's, newest first; with `open_only`, only those not yet answered.
    InSubtree { lo: String, hi: String, open_only: bool },
}

impl CorrectionQuery {
    /// The WHERE and ORDER BY of this query, with `$1` (and `$2`) for its parameters; both
    /// databases read the same text once `$n` is rewritten for SQLite.
    pub fn sql(&self) -> String {
        let (filter, order) = match self {
            CorrectionQuery::OpenForVolunteer(_) => {
                (format!("c.volunteer_id = $1 AND {OPEN_ONLY}"), "c.requested_at_ms, c.id")
            }
            CorrectionQuery::OfVisit(_) => ("c.visit_id = $1".to_string(), "c.revision, c.requested_at_ms"),
            CorrectionQuery::OfHousehold(_) => {
                ("v.household_id = $1".to_string(), "c.visit_id, c.revision, c.requested_at_ms")
            }
            CorrectionQuery::InSubtree { open_only, .. } => (
                if *open_only {
                    format!("a.path >= $1 AND a.path < $2 AND {OPEN_ONLY}")
                } else {
                    "a.path >= $1 AND a.path < $2".to_string()
                },
                "c.requested_at_ms DESC, c.id",
            ),
        };
        format!(
            "SELECT {cols}, {CORRECTION_OWN_COLUMNS} FROM {CORRECTION_FROM} WHERE {filter} ORDER BY {order} LIMIT {MAX_CORRECTIONS}",
            cols = crate::store::VISIT_COLUMNS
        )
    }
}

/// The answer for a correction row, given the visit already read from its first [`crate::store::VISIT_WIDTH`] columns.
pub fn correction_dto(
    visit: VisitDto, id: Uuid, comment: String, requested_by: String, requested_at_ms: i64,
    answered_by_revision: Option<i64>,
) -> CorrectionDto {
    CorrectionDto {
        id: id.to_string(),
        visit_id: visit.id.clone(),
        revision: visit.revision,
        household_id: visit.household_id.clone(),
        area_code: visit.area_code.clone(),
        volunteer_id: visit.volunteer_id.clone(),
        comment,
        requested_by,
        requested_at: chrono::DateTime::from_timestamp_millis(requested_at_ms)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        answered_by_revision,
        visit,
    }
}

pub(crate) fn uuid_of(raw: &str) -> Uuid {
    // Every id here was read from the database, where it is a UUID.
    Uuid::parse_str(raw).unwrap_or_default()
}

/// Sends a visit's revision back to its volunteer; false when it was sent back already.
pub async fn record_send_back(db: &dyn Db, c: NewCorrection) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "INSERT INTO corrections (id, visit_id, revision, volunteer_id, area_code, comment, requested_by,
                requested_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (visit_id, revision) DO NOTHING",
            params![
                c.id,
                c.visit_id,
                c.revision,
                c.volunteer_id,
                c.area_code,
                c.comment,
                c.requested_by,
                c.requested_at_ms
            ],
        )
        .await?;
    Ok(n == 1)
}

/// The corrections a query selects ([`CorrectionQuery::sql`]).
pub async fn find(db: &dyn Db, q: CorrectionQuery) -> Result<Vec<CorrectionDto>, StoreError> {
    let params = match &q {
        CorrectionQuery::OpenForVolunteer(id) | CorrectionQuery::OfVisit(id) | CorrectionQuery::OfHousehold(id) => {
            params![*id]
        }
        CorrectionQuery::InSubtree { lo, hi, .. } => params![lo, hi],
    };
    db.query(&q.sql(), params)
        .await?
        .iter()
        .map(|r| {
            let (id, comment, requested_by, requested_at_ms, answered_by) = r.columns_at(crate::store::VISIT_WIDTH)?;
            Ok(correction_dto(
                crate::visits::visit_from_row(r)?,
                id,
                comment,
                requested_by,
                requested_at_ms,
                answered_by,
            ))
        })
        .collect()
}

/// Corrections not yet answered, everywhere (`/metrics`).
pub async fn open_count(db: &dyn Db) -> Result<i64, StoreError> {
    let row = db.query_opt(&format!("SELECT COUNT(*) FROM corrections c WHERE {OPEN_ONLY}"), params![]).await?;
    match row {
        Some(r) => r.get(0),
        None => Ok(0),
    }
}
