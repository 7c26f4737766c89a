//! The storage trait: everything the server keeps goes through it, with one implementation per
//! database. The same test suite runs against each (ARCHITECTURE.md, invariant 10).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use doorstep_domain::area::{AreaRecord, fold_for_search, order_parents_first, vietnamese_sort_key};
use doorstep_domain::protocol::{Coverage, ErrorBody, HouseholdDto, PullResponse, Receipt, ReceiptStatus, VisitDto};
use doorstep_domain::values::{AreaCode, Id};
use doorstep_domain::{Campaign, FieldError, Lang, Visit};
use uuid::Uuid;

pub use crate::accounts::{AuditEntry, AuditRecord, NewUser, SessionUser, UserRecord, role_from_db};
pub use crate::devices::{DEVICE_AREA_SQL, DEVICE_OF_ANOTHER, DeviceCaller, Revocation};
pub use crate::manage::{NewAssignment, NewTeam, TeamRecord, TeamRow, group_teams};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(String),
    #[error("import refused: {0}")]
    Import(String),
    #[error("the storage task stopped: {0}")]
    Task(String),
    #[error("{0}")]
    Config(String),
    /// A unique name is taken already.
    #[error("{0}")]
    Conflict(String),
}

impl From<tokio::task::JoinError> for StoreError {
    fn from(e: tokio::task::JoinError) -> Self {
        StoreError::Task(e.to_string())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

/// One record of a push batch after decoding and validation.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A valid visit, its [`content_hash`], its id as text for the receipt and its household's
    /// H3 cell, all made before the write lock is taken (see [`Incoming::valid`]).
    Valid {
        visit: Box<Visit>,
        hash: [u8; 32],
        id: String,
        /// The H3 cell of the visit's location (`crate::hexagons::fine_cell`), if it has one.
        cell: Option<i64>,
    },
    Invalid {
        id: Option<String>,
        revision: Option<i64>,
        error: FieldError,
    },
}

impl Incoming {
    /// A valid record with what the writer needs made here, off the writer thread: computing the
    /// H3 cell on the writer cost 10 to 20 % of SQLite ingest's rate, measured (the writer's
    /// cache as much as the arithmetic); here, in the decoders, it is lost in the noise.
    pub fn valid(visit: Visit) -> Incoming {
        let hash = content_hash(&visit);
        let cell = visit
            .location
            .point
            .and_then(|p| crate::hexagons::fine_cell(p.lat, p.lon));
        Incoming::Valid {
            id: visit.id.to_string(),
            visit: Box::new(visit),
            hash,
            cell,
        }
    }
}

/// The hash that tells a duplicate from an id re-used with other content: over the validated,
/// NFC-normalised record, so the same visit typed in NFD or NFC hashes alike.
pub fn content_hash(visit: &Visit) -> [u8; 32] {
    use sha2::Digest;
    let mut bytes = Vec::with_capacity(256);
    visit.content_bytes(&mut bytes);
    sha2::Sha256::digest(&bytes).into()
}

/// A push batch, ready to store.
#[derive(Debug, Clone)]
pub struct IngestBatch {
    pub device_id: Id,
    pub received_at: DateTime<Utc>,
    /// Device clock minus server clock.
    pub clock_skew_ms: i64,
    /// The language of refusal messages.
    pub lang: Lang,
    pub records: Vec<Incoming>,
    /// The volunteer the sending device was enrolled for; a visit naming another is flagged.
    pub volunteer_id: Option<Uuid>,
    /// The area paths the volunteer is assigned to; a visit outside them is stored and flagged.
    /// Empty: nothing to compare with (no flag).
    pub scope: Vec<String>,
    /// The thresholds of the data-quality flags (`crate::quality`), from the campaign.
    pub rules: doorstep_domain::quality::QualityRules,
    /// Sent with a revoked device's token (uploading what it held before it erases itself):
    /// every visit is stored as usual and flagged `revoked_device`.
    pub revoked_device: bool,
}

/// An expected household that no visit has reached yet (enumerated, or demo data).
#[derive(Debug, Clone)]
pub struct NewHousehold {
    pub id: Id,
    pub area_code: AreaCode,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreCounts {
    pub areas: i64,
    pub households: i64,
    pub visits: i64,
    pub devices: i64,
}

/// The campaign the server runs: the one loaded with `doorstep admin campaign load`, or the
/// default (Bluezone, August 2020) when none was.
pub async fn running_campaign(store: &dyn Store) -> Result<doorstep_domain::Campaign, StoreError> {
    match crate::campaign::definition(store).await? {
        None => Ok(doorstep_domain::Campaign::bluezone()),
        // Checked when loaded; checked again, since another version of doorstep may have loaded it.
        Some(json) => doorstep_domain::Campaign::parse_file(&json).map_err(|e| {
            StoreError::Config(format!(
                "the campaign held in the database cannot be used ({e}); load a campaign file again"
            ))
        }),
    }
}

/// An area's path and its targets: households, population, smartphone owners (all `None` for an
/// area without any).
pub type TargetRow = (String, [Option<i64>; 3]);

/// The targets of the area at `path`, from the areas of its subtree ([`crate::targets::subtree_targets`]):
/// for each figure, the area's own, or else the sum over the highest areas below that have it (a
/// child's own figure stands for its subtree), with how many areas at the level summed it covers.
/// `None` when nothing in the subtree has any.
pub fn roll_up_targets(path: &str, rows: &[TargetRow]) -> Option<doorstep_domain::protocol::AreaTargets> {
    let rows: Vec<&TargetRow> = rows.iter().filter(|(p, _)| p.starts_with(path)).collect();
    roll_up(path, &rows)
}

/// [`roll_up_targets`] for each of `paths` (an area's units), reading the subtree's rows once:
/// sorted by path, each unit's subtree is one contiguous run.
pub fn roll_up_targets_of(paths: &[&str], rows: &[TargetRow]) -> Vec<Option<doorstep_domain::protocol::AreaTargets>> {
    let mut sorted: Vec<&TargetRow> = rows.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    paths
        .iter()
        .map(|path| {
            let start = sorted.partition_point(|(p, _)| p.as_str() < *path);
            let len = sorted[start..].partition_point(|(p, _)| p.starts_with(*path));
            roll_up(path, &sorted[start..start + len])
        })
        .collect()
}

/// Depth of a path: `/42/` is 1, `/42/436/` 2.
fn depth(path: &str) -> usize {
    path.matches('/').count().saturating_sub(1)
}

/// The paths strictly between `path` (excluded) and `p` (included), from `p` up.
fn up_to<'a>(path: &str, p: &'a str) -> impl Iterator<Item = &'a str> {
    let mut next = Some(p);
    std::iter::from_fn(move || {
        let current = next.filter(|c| c.len() > path.len())?;
        let stem = current.trim_end_matches('/');
        next = stem.rfind('/').map(|cut| &current[..=cut]);
        Some(current)
    })
}

/// The roll-up over `rows`, the subtree of `path` (every row's path starts with it).
fn roll_up(path: &str, rows: &[&TargetRow]) -> Option<doorstep_domain::protocol::AreaTargets> {
    use doorstep_domain::protocol::{AreaTargets, TargetSum};
    use std::collections::HashSet;
    let own = rows
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, v)| *v)
        .unwrap_or_default();
    // An area that is some row's parent is not a leaf.
    let parents: HashSet<&str> = rows
        .iter()
        .filter_map(|(p, _)| {
            let stem = p.trim_end_matches('/');
            stem.rfind('/').map(|cut| &p[..=cut])
        })
        .collect();
    let mut figures = [None::<i64>; 3];
    let mut sums = [None::<TargetSum>; 3];
    for field in 0..3 {
        if own[field].is_some() {
            figures[field] = own[field];
            continue;
        }
        let has: HashSet<&str> = rows
            .iter()
            .filter(|(p, v)| v[field].is_some() && p.len() > path.len())
            .map(|(p, _)| p.as_str())
            .collect();
        if has.is_empty() {
            continue;
        }
        let covered = |p: &str| up_to(path, p).any(|a| has.contains(a));
        let mut total = 0i64;
        let mut level = 0;
        for (p, v) in rows {
            let Some(n) = v[field] else { continue };
            // Counted only where no area between it and `path` has the figure.
            if p.len() > path.len() && !up_to(path, p).skip(1).any(|a| has.contains(a)) {
                total = total.saturating_add(n);
                level = level.max(depth(p));
            }
        }
        // The level summed: its areas, and shallower ones with nothing below them.
        let (mut areas, mut with) = (0, 0);
        for (p, _) in rows {
            let d = depth(p);
            if p.len() > path.len() && (d == level || (d < level && !parents.contains(p.as_str()))) {
                areas += 1;
                with += i64::from(covered(p));
            }
        }
        figures[field] = Some(total);
        sums[field] = Some(TargetSum {
            areas_with_target: with,
            areas,
        });
    }
    if figures.iter().all(Option::is_none) {
        return None;
    }
    let mut t = AreaTargets {
        households: figures[0],
        population: figures[1],
        smartphone_owners: figures[2],
        partial: false,
        households_sum: sums[0],
        population_sum: sums[1],
        smartphone_owners_sum: sums[2],
    };
    t.partial = t.any_partial();
    Some(t)
}

/// How long after using an enrolment code the same device may use it again (see
/// [`crate::devices::redeem_enrolment`]).
pub const ENROL_RETRY_MS: i64 = 15 * 60 * 1000;

#[async_trait]
pub trait Store: crate::db::Db + Send + Sync + 'static {
    /// Inserts or updates areas in one transaction: all of them or, on any error, none.
    /// Importing the same file again changes nothing.
    async fn import_areas(&self, areas: Vec<AreaRecord>) -> Result<ImportSummary, StoreError>;

    /// Stores a batch in one transaction and returns a receipt per record, only after commit.
    /// A record already held with the same content is a duplicate; with other content, refused.
    async fn ingest(&self, batch: IngestBatch) -> Result<Vec<Receipt>, StoreError>;

    /// Households that changed in an area subtree after `cursor`, oldest change first; `None`
    /// when the area is unknown.
    async fn pull(
        &self,
        area: &AreaCode,
        cursor: i64,
        limit: u32,
        // Due-ness is judged at `now_ms` (the server's clock); the due time goes with it.
        (campaign, now_ms): (&Campaign, i64),
    ) -> Result<Option<PullResponse>, StoreError>;

    /// Adds expected households; ones already held are left as they are. Returns how many were new.
    async fn add_households(&self, households: Vec<NewHousehold>) -> Result<u64, StoreError>;

    // Corrections (`corrections.rs`): a visit sent back, and the revisions that answer it.

    // Hexagons, map filters and exports: the statements are `crate::filter`'s, run by `crate::rows`.
    /// Households of the subtree `[lo, hi)` grouped by `group` and latest outcome, under a filter.
    async fn grouped_figures(
        &self,
        lo: &str,
        hi: &str,
        group: crate::filter::GroupBy,
        filter: &crate::filter::VisitFilter,
    ) -> Result<Vec<crate::filter::GroupRow>, StoreError>;

    /// Sends a query's households to `sink` as they are read; stops early, and without error,
    /// when the receiver is gone.
    async fn stream_households(
        &self,
        q: crate::filter::RowQuery,
        sink: tokio::sync::mpsc::Sender<crate::filter::HouseholdRow>,
    ) -> Result<(), StoreError>;

    /// Sends a query's visits to `sink` in receive order, as [`Store::stream_households`].
    async fn stream_visits(
        &self,
        q: crate::filter::RowQuery,
        sink: tokio::sync::mpsc::Sender<VisitDto>,
    ) -> Result<(), StoreError>;

    /// Gives a claim: releases the unreleased claims on the same household (or the same street of
    /// the same area) and stores the new one, each with a change number, in one transaction.
    /// Returns the claims released.
    async fn give_claim(&self, claim: crate::claims::NewClaim) -> Result<Vec<Uuid>, StoreError>;

    /// Releases an unreleased claim with a change number; `false` if none such.
    async fn release_claim(&self, id: Uuid, now_ms: i64) -> Result<bool, StoreError>;

    /// What claims need of the households of these areas and of these households: address,
    /// visits and latest visit (volunteer and time).
    async fn claim_households(
        &self,
        areas: Vec<String>,
        households: Vec<Uuid>,
    ) -> Result<Vec<crate::claims::ClaimHousehold>, StoreError>;
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

/// The SQL of [`crate::hexagons::area_cells`] (`$n` placeholders, rewritten for SQLite).
pub const AREA_CELLS_SQL: &str = "SELECT DISTINCT a.path, h.h3_cell
    FROM households h JOIN areas a ON a.code = h.area_code
    WHERE a.path >= $1 AND a.path < $2 AND h.h3_cell IS NOT NULL";

/// A day of [`crate::visits::daily_progress`]: (day number, visits, households, installed_now).
pub type DayRow = (i64, i64, i64, i64);

/// The SQL of [`crate::visits::daily_progress`], the same on both databases (integer division on both);
/// `$n` placeholders, rewritten to `?n` for SQLite.
pub const DAILY_PROGRESS_SQL: &str = "SELECT d.day, CAST(SUM(d.visits) AS BIGINT), CAST(SUM(d.households) AS BIGINT),
        CAST(SUM(d.installed_now) AS BIGINT)
    FROM area_days d JOIN areas a ON a.code = d.area_code
    WHERE a.path >= $1 AND a.path < $2 AND d.day BETWEEN $3 AND $4
    GROUP BY d.day ORDER BY d.day";

/// Per area (the visit's own, a leaf) and local day: first records of visits, households reached
/// for the first time, installs at the visit. Kept in the transaction that stores the visits
/// ([`AREA_DAYS_ADD`], [`AREA_DAYS_ADD_PG`]), so the daily curve of a province reads a row per unit and day
/// instead of its visits; summed over a subtree at read time, so a change of the tree needs no
/// rebuild. Its own migration step builds it from the visits held.
pub const AREA_DAYS_TABLE: &str = "CREATE TABLE area_days (
    area_code     TEXT NOT NULL,
    day           BIGINT NOT NULL,
    visits        BIGINT NOT NULL,
    households    BIGINT NOT NULL,
    installed_now BIGINT NOT NULL,
    PRIMARY KEY (area_code, day)
)";

/// Adds to [`AREA_DAYS_TABLE`] the first records named by `$seqs`, a condition on
/// `v.server_seq`. A visit is a household's first when no visit of it was received before
/// (`server_seq`), as the households' figures count it.
macro_rules! area_days_insert {
    ($seqs:literal) => {
        concat!(
            "INSERT INTO area_days (area_code, day, visits, households, installed_now)
    SELECT v.area_code, (v.visited_at_ms + v.utc_offset_min * 60000) / 86400000, COUNT(*),
           SUM(CASE WHEN EXISTS (SELECT 1 FROM visits p WHERE p.household_id = v.household_id
                                 AND p.server_seq < v.server_seq) THEN 0 ELSE 1 END),
           SUM(v.installed_now)
    FROM visits v
    WHERE ",
            $seqs,
            " AND v.revision = 1
    GROUP BY v.area_code, (v.visited_at_ms + v.utc_offset_min * 60000) / 86400000
    ON CONFLICT (area_code, day) DO UPDATE SET
        visits = area_days.visits + excluded.visits,
        households = area_days.households + excluded.households,
        installed_now = area_days.installed_now + excluded.installed_now"
        )
    };
}

/// Adds one (area, day)'s figures, as the ingest collects them while it stores the visits (it
/// holds each household's row already, so it knows a first visit without another read).
pub const AREA_DAYS_ADD: &str = "INSERT INTO area_days (area_code, day, visits, households, installed_now)
    VALUES (?1, ?2, ?3, ?4, ?5)
    ON CONFLICT (area_code, day) DO UPDATE SET
        visits = area_days.visits + excluded.visits,
        households = area_days.households + excluded.households,
        installed_now = area_days.installed_now + excluded.installed_now";
/// [`AREA_DAYS_ADD`] for many (area, day)s at once, from arrays: PostgreSQL's push.
pub const AREA_DAYS_ADD_PG: &str = "INSERT INTO area_days (area_code, day, visits, households, installed_now)
    SELECT * FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[])
    ON CONFLICT (area_code, day) DO UPDATE SET
        visits = area_days.visits + excluded.visits,
        households = area_days.households + excluded.households,
        installed_now = area_days.installed_now + excluded.installed_now";
/// The migration step's build from every visit held (a shipped step: never edited).
pub const AREA_DAYS_REBUILD: &str = concat!("DELETE FROM area_days; ", area_days_insert!("v.server_seq > 0"), ";");
/// The move's build from every visit held, but those naming a household of another area
/// (flagged `household_in_other_area`), which count for nothing, there or here; a first visit is
/// one with no earlier visit of its household from its own area.
pub const AREA_DAYS_REBUILD_OWN_AREA: &str = "DELETE FROM area_days;
INSERT INTO area_days (area_code, day, visits, households, installed_now)
    SELECT v.area_code, (v.visited_at_ms + v.utc_offset_min * 60000) / 86400000, COUNT(*),
           SUM(CASE WHEN EXISTS (SELECT 1 FROM visits p WHERE p.household_id = v.household_id
                                 AND p.area_code = v.area_code AND p.server_seq < v.server_seq)
                    THEN 0 ELSE 1 END),
           SUM(v.installed_now)
    FROM visits v JOIN households h ON h.id = v.household_id AND h.area_code = v.area_code
    WHERE v.revision = 1
    GROUP BY v.area_code, (v.visited_at_ms + v.utc_offset_min * 60000) / 86400000;";

/// What a push adds to the daily curve (`area_days`): per (area, phone-local day), first records,
/// households reached for the first time, installs.
pub type DayTally<K> = BTreeMap<(K, i64), (i64, i64, i64)>;

/// Counts one stored first record (revision 1) into `days`; `first` when its household had no
/// visit counted before it.
pub fn tally_day<K: Ord>(days: &mut DayTally<K>, area: K, visit: &Visit, first: bool) {
    let local_ms = visit.visited_at.timestamp_millis() + i64::from(visit.visited_at.offset().local_minus_utc()) * 1000;
    let e = days.entry((area, local_ms.div_euclid(86_400_000))).or_default();
    e.0 += 1;
    e.1 += i64::from(first);
    e.2 += i64::from(visit.counts.installed_now.get());
}

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
    Ok(visit_dto(
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        [r.get(11)?, r.get(12)?, r.get(13)?, r.get(14)?],
        r.get(15)?,
        (r.get(16)?, r.get(17)?, r.get(18)?, r.get(19)?),
        r.get(20)?,
        r.get(21)?,
        r.get(22)?,
    ))
}

/// Builds the answer for a visit row; `flags` comma-separated as stored.
#[allow(clippy::too_many_arguments)]
pub fn visit_dto(
    server_seq: i64,
    id: Uuid,
    revision: i64,
    household_id: Uuid,
    area_code: String,
    volunteer_id: Uuid,
    device_id: Uuid,
    visited_at_ms: i64,
    utc_offset_min: i32,
    outcome: String,
    reason: Option<String>,
    counts: [i64; 4],
    leaflet_given: bool,
    location: (String, Option<f64>, Option<f64>, Option<f64>),
    notes: Option<String>,
    received_at_ms: i64,
    flags: Option<String>,
) -> VisitDto {
    let offset = chrono::FixedOffset::east_opt(utc_offset_min * 60)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
    let time = |ms: i64, off: chrono::FixedOffset| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.with_timezone(&off).to_rfc3339())
            .unwrap_or_default()
    };
    VisitDto {
        server_seq,
        id: id.to_string(),
        revision,
        household_id: household_id.to_string(),
        area_code,
        volunteer_id: volunteer_id.to_string(),
        device_id: device_id.to_string(),
        visited_at: time(visited_at_ms, offset),
        outcome,
        reason,
        people: counts[0],
        smartphones: counts[1],
        already_installed: counts[2],
        installed_now: counts[3],
        leaflet_given,
        location_source: location.0,
        lat: location.1,
        lon: location.2,
        accuracy_m: location.3,
        notes,
        received_at: time(received_at_ms, chrono::FixedOffset::east_opt(0).expect("zero offset")),
        flags: flags
            .map(|f| f.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default(),
    }
}

/// The SQL of the third migration's tables; the same shape on both databases, types apart.
pub const ACCOUNTS_TABLES_SQLITE: &str = "
CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    area_code     TEXT NOT NULL REFERENCES areas(code),
    created_at_ms INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sessions (
    token_hash    BLOB PRIMARY KEY,
    user_id       BLOB NOT NULL REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    revoked       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE audit_log (
    seq    INTEGER PRIMARY KEY,
    at_ms  INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);";

/// The campaign definition loaded from a file (one row; none: the default campaign).
pub const CAMPAIGN_TABLE_SQLITE: &str = "
CREATE TABLE campaign (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    definition   TEXT NOT NULL,
    loaded_at_ms INTEGER NOT NULL
);";

pub const CAMPAIGN_TABLE_PG: &str = "
CREATE TABLE campaign (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    definition   TEXT NOT NULL,
    loaded_at_ms BIGINT NOT NULL
);";

/// Targets per area (issue 8): what the committee knows an area has.
pub const TARGETS_TABLE_SQLITE: &str = "
CREATE TABLE targets (
    area_code         TEXT PRIMARY KEY REFERENCES areas(code),
    households        INTEGER,
    population        INTEGER,
    smartphone_owners INTEGER,
    imported_at_ms    INTEGER NOT NULL
);";

pub const TARGETS_TABLE_PG: &str = "
CREATE TABLE targets (
    area_code         TEXT PRIMARY KEY REFERENCES areas(code),
    households        BIGINT,
    population        BIGINT,
    smartphone_owners BIGINT,
    imported_at_ms    BIGINT NOT NULL
);";

/// The fourth migration: enrolment codes and device tokens (hashes only).
pub const DEVICE_TABLES_SQLITE: &str = "
CREATE TABLE enrolments (
    code_hash     BLOB PRIMARY KEY,
    user_id       BLOB NOT NULL REFERENCES users(id),
    issued_by     TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER,
    device_id     BLOB
);
CREATE TABLE device_tokens (
    token_hash    BLOB PRIMARY KEY,
    device_id     BLOB NOT NULL,
    user_id       BLOB NOT NULL REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);
CREATE INDEX device_tokens_device ON device_tokens(device_id);";

pub const DEVICE_TABLES_PG: &str = "
CREATE TABLE enrolments (
    code_hash     BYTEA PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users(id),
    issued_by     TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms    BIGINT,
    device_id     UUID
);
CREATE TABLE device_tokens (
    token_hash    BYTEA PRIMARY KEY,
    device_id     UUID NOT NULL,
    user_id       UUID NOT NULL REFERENCES users(id),
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);
CREATE INDEX device_tokens_device ON device_tokens(device_id);";

pub const ACCOUNTS_TABLES_PG: &str = "
CREATE TABLE users (
    id            UUID PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    area_code     TEXT NOT NULL REFERENCES areas(code),
    created_at_ms BIGINT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE sessions (
    token_hash    BYTEA PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users(id),
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    revoked       BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE audit_log (
    seq    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms  BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);";

/// The fifth migration: teams, assignments, and the flags on visits a leader should look at
/// (a table of its own, so the hot insert path of visits is unchanged).
pub const TEAM_TABLES_SQLITE: &str = "
CREATE TABLE teams (
    id            BLOB PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    area_code     TEXT NOT NULL REFERENCES areas(code),
    leader_id     BLOB NOT NULL REFERENCES users(id),
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE team_members (
    team_id BLOB NOT NULL REFERENCES teams(id),
    user_id BLOB NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);
CREATE TABLE assignments (
    user_id        BLOB NOT NULL REFERENCES users(id),
    area_code      TEXT NOT NULL REFERENCES areas(code),
    team_id        BLOB NOT NULL REFERENCES teams(id),
    assigned_by    TEXT NOT NULL,
    assigned_at_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, area_code)
);
CREATE TABLE visit_flags (
    server_seq INTEGER PRIMARY KEY REFERENCES visits(server_seq),
    flags      TEXT NOT NULL
);";

/// Team names are unique within an area, not across the country: "Tổ 1" is a name every commune
/// uses, and a name taken in another district must not be refused (that would tell a leader
/// what exists outside their areas). SQLite cannot drop a column's UNIQUE, so the table is made
/// again (its rows keep their ids; the references to it are checked at commit).
pub const TEAM_NAMES_PER_AREA_SQLITE: &str = "
PRAGMA defer_foreign_keys = ON;
CREATE TABLE teams_per_area (
    id            BLOB PRIMARY KEY,
    name          TEXT NOT NULL,
    area_code     TEXT NOT NULL REFERENCES areas(code),
    leader_id     BLOB NOT NULL REFERENCES users(id),
    created_at_ms INTEGER NOT NULL,
    UNIQUE (area_code, name)
);
INSERT INTO teams_per_area (id, name, area_code, leader_id, created_at_ms)
    SELECT id, name, area_code, leader_id, created_at_ms FROM teams;
DROP TABLE teams;
ALTER TABLE teams_per_area RENAME TO teams;
CREATE INDEX teams_name ON teams(name);";

pub const TEAM_NAMES_PER_AREA_PG: &str = "
ALTER TABLE teams DROP CONSTRAINT teams_name_key;
ALTER TABLE teams ADD CONSTRAINT teams_area_name UNIQUE (area_code, name);
CREATE INDEX teams_name ON teams(name);";

pub const TEAM_TABLES_PG: &str = "
CREATE TABLE teams (
    id            UUID PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    area_code     TEXT NOT NULL REFERENCES areas(code),
    leader_id     UUID NOT NULL REFERENCES users(id),
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE team_members (
    team_id UUID NOT NULL REFERENCES teams(id),
    user_id UUID NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);
CREATE TABLE assignments (
    user_id        UUID NOT NULL REFERENCES users(id),
    area_code      TEXT NOT NULL REFERENCES areas(code),
    team_id        UUID NOT NULL REFERENCES teams(id),
    assigned_by    TEXT NOT NULL,
    assigned_at_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, area_code)
);
CREATE TABLE visit_flags (
    server_seq BIGINT PRIMARY KEY REFERENCES visits(server_seq),
    flags      TEXT NOT NULL
);";

/// The migration step that gives each household its H3 cell (`crate::hexagons::FINE_RES`), kept
/// on ingest from its location so the map groups by it in SQL; the same on both databases.
pub const H3_CELL_COLUMN: &str = "ALTER TABLE households ADD COLUMN h3_cell BIGINT;";

/// Not SQL to run (a comment, if it were): tells a migration to fill `households.h3_cell` of the
/// rows already held, in Rust (`crate::hexagons`), in the step's transaction.
pub const H3_CELL_BACKFILL: &str = "-- backfill households.h3_cell from lat and lon";

/// Why a device was revoked (`doorstep admin revoke-device --reason`), told to the phone, which
/// shows it when it has erased itself. The same on both databases.
pub const REVOKE_REASON_COLUMN: &str = "ALTER TABLE device_tokens ADD COLUMN revoke_reason TEXT;";

/// Each household's latest visit's time (the visit time of its latest-received visit, invariant
/// 6), from which the campaign's `revisit_after_hours` make it due again; set on ingest.
pub const LATEST_VISITED_AT_COLUMN: &str = "ALTER TABLE households ADD COLUMN latest_visited_at_ms BIGINT;";

/// Fills [`LATEST_VISITED_AT_COLUMN`] for the households held, from their latest-received visit
/// (the same on both databases; `visits_household` finds each one's visits).
pub const LATEST_VISITED_AT_BACKFILL: &str = "UPDATE households SET latest_visited_at_ms = (
        SELECT v.visited_at_ms FROM visits v WHERE v.household_id = households.id
        ORDER BY v.server_seq DESC LIMIT 1)
    WHERE latest_outcome IS NOT NULL;";

/// Each household's latest-received visit's volunteer, who holds it for the campaign's
/// `claim_hours` (`doorstep_domain::claim`), and whose visit a second volunteer's may overlap;
/// set on ingest.
pub const LATEST_VOLUNTEER_COLUMN_SQLITE: &str = "ALTER TABLE households ADD COLUMN latest_volunteer_id BLOB;";
pub const LATEST_VOLUNTEER_COLUMN_PG: &str = "ALTER TABLE households ADD COLUMN latest_volunteer_id UUID;";

/// Fills the latest volunteer of the households held (the same on both databases).
pub const LATEST_VOLUNTEER_BACKFILL: &str = "UPDATE households SET latest_volunteer_id = (
        SELECT v.volunteer_id FROM visits v WHERE v.household_id = households.id
        ORDER BY v.server_seq DESC LIMIT 1)
    WHERE latest_outcome IS NOT NULL;";

/// Leaders' claims: a household, or a street of an area, given to a volunteer. Never deleted:
/// a hand-over or a release sets `released_at_ms` and a new change number, which the pull carries
/// (`updated_seq` is from the households' change counter, so one cursor covers both).
pub const CLAIMS_TABLE_SQLITE: &str = "CREATE TABLE claims (
    id             BLOB PRIMARY KEY,
    area_code      TEXT NOT NULL REFERENCES areas(code),
    household_id   BLOB,
    street         TEXT,
    street_key     TEXT,
    volunteer_id   BLOB NOT NULL REFERENCES users(id),
    given_by       TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    released_at_ms INTEGER,
    updated_seq    INTEGER NOT NULL
);
CREATE INDEX claims_seq ON claims(updated_seq);
CREATE INDEX claims_household ON claims(household_id) WHERE released_at_ms IS NULL;
CREATE INDEX claims_street ON claims(area_code, street_key) WHERE released_at_ms IS NULL;";

pub const CLAIMS_TABLE_PG: &str = "CREATE TABLE claims (
    id             UUID PRIMARY KEY,
    area_code      TEXT NOT NULL REFERENCES areas(code),
    household_id   UUID,
    street         TEXT,
    street_key     TEXT,
    volunteer_id   UUID NOT NULL REFERENCES users(id),
    given_by       TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    released_at_ms BIGINT,
    updated_seq    BIGINT NOT NULL
);
CREATE INDEX claims_seq ON claims(updated_seq);
CREATE INDEX claims_household ON claims(household_id) WHERE released_at_ms IS NULL;
CREATE INDEX claims_street ON claims(area_code, street_key) WHERE released_at_ms IS NULL;";

/// The claims of a subtree that changed after a cursor (`$n` placeholders, rewritten for SQLite).
pub const PULL_CLAIMS_SQL: &str = "SELECT c.id, c.area_code, c.household_id, c.street, c.street_key,
        c.volunteer_id, u.username, c.created_at_ms, c.released_at_ms, c.updated_seq
    FROM claims c JOIN areas a ON a.code = c.area_code JOIN users u ON u.id = c.volunteer_id
    WHERE a.path >= $1 AND a.path < $2 AND c.updated_seq > $3
    ORDER BY c.updated_seq LIMIT $4";

/// One page of the pull from the two streams that share the change counter, each read in
/// change order up to `limit + 1` rows past the cursor: the first `limit` changes of both,
/// and whether more follow. (Any change left unread by one stream comes after that stream's
/// `limit + 1` read ones, so after the page.)
pub fn pull_page(
    mut households: Vec<HouseholdDto>,
    mut claims: Vec<doorstep_domain::protocol::ClaimDto>,
    cursor: i64,
    limit: u32,
) -> (Vec<HouseholdDto>, Vec<doorstep_domain::protocol::ClaimDto>, i64, bool) {
    let mut seqs: Vec<i64> = households
        .iter()
        .map(|h| h.updated_seq)
        .chain(claims.iter().map(|c| c.updated_seq))
        .collect();
    seqs.sort_unstable();
    let has_more = seqs.len() > limit as usize;
    let Some(&last) = seqs.get((limit as usize).min(seqs.len()).wrapping_sub(1)) else {
        return (households, claims, cursor, false);
    };
    households.retain(|h| h.updated_seq <= last);
    claims.retain(|c| c.updated_seq <= last);
    (households, claims, last, has_more)
}

/// The columns every visit listing selects, in [`visit_dto`]'s order; `v` is visits, `f` the
/// flags (left-joined).
pub const VISIT_COLUMNS: &str = "v.server_seq, v.id, v.revision, v.household_id, v.area_code, v.volunteer_id,
    v.device_id, v.visited_at_ms, v.utc_offset_min, v.outcome, v.reason, v.people, v.smartphones,
    v.already_installed, v.installed_now, v.leaflet_given, v.loc_source, v.lat, v.lon, v.accuracy_m, v.notes,
    v.received_at_ms, f.flags";

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

/// A refusal receipt.
/// What became of an enrolment code.
#[derive(Debug, Clone)]
pub enum Redemption {
    /// The device is enrolled for this volunteer.
    Enrolled(SessionUser),
    /// Unknown, used or expired.
    Invalid,
    /// The device id is enrolled for another volunteer already: a phone's id is its own, or its
    /// records and sequence numbers could be taken over.
    DeviceTaken,
}

/// One revision of a visit (or venue visit) as held, read when a later revision arrives.
#[derive(Debug, Clone)]
pub struct HeldRevision {
    pub revision: i64,
    pub volunteer_id: Uuid,
    /// Its household (or venue).
    pub subject: Uuid,
    pub area_code: String,
    pub server_seq: i64,
    pub content_hash: Vec<u8>,
}

/// The held revisions of one visit (`?1`, SQLite's form; PostgreSQL reads many at once with
/// `WHERE id = ANY($1)`): revision, volunteer, household, area, seq, hash.
pub const HELD_REVISIONS_SQL: &str = "SELECT revision, volunteer_id, household_id, area_code, server_seq, content_hash
    FROM visits WHERE id = ?1";

/// A row of [`HELD_REVISIONS_SQL`] (or `venues::VENUE_REVISIONS`: the same columns).
pub fn held_revision(r: &crate::db::Row) -> Result<HeldRevision, StoreError> {
    Ok(HeldRevision {
        revision: r.get(0)?,
        volunteer_id: r.get(1)?,
        subject: r.get(2)?,
        area_code: r.get(3)?,
        server_seq: r.get(4)?,
        content_hash: r.get(5)?,
    })
}

/// What a push answers for a later revision (revision > 1) before storing it, given every
/// revision of its visit held: the receipt when it is answered without being stored (held
/// already: a duplicate, or the id re-used; or refused by [`doorstep_domain::visit::check_revision`]:
/// not the visit's volunteer, another household or area, a gap in the numbers), `None` to store it.
pub fn judge_revision(
    index: usize,
    (id, revision, hash): (&str, doorstep_domain::visit::Revision<'_>, &[u8; 32]),
    held: &[HeldRevision],
    sender: Option<Uuid>,
    lang: Lang,
) -> Option<Receipt> {
    let (id, rev) = (Some(id.to_string()), Some(revision.revision));
    if let Some(same) = held.iter().find(|h| h.revision == revision.revision) {
        return Some(not_inserted_receipt(
            index,
            id,
            rev,
            Some((same.server_seq, same.content_hash.as_slice())),
            hash,
            lang,
        ));
    }
    let base = held
        .iter()
        .find(|h| h.revision == 1)
        .map(|first| doorstep_domain::visit::HeldVisit {
            owner: first.volunteer_id,
            subject: first.subject,
            area_code: first.area_code.clone(),
            latest: held.iter().map(|h| h.revision).max().unwrap_or(1),
        });
    doorstep_domain::visit::check_revision(revision, base.as_ref(), sender)
        .err()
        .map(|e| rejected(index, id, rev, &e, lang))
}

pub fn rejected(index: usize, id: Option<String>, revision: Option<i64>, e: &FieldError, lang: Lang) -> Receipt {
    Receipt {
        index: index as u32,
        id,
        revision,
        status: ReceiptStatus::Rejected,
        server_seq: None,
        error: Some(ErrorBody::from_field_error(e, lang)),
    }
}

/// Lowest and highest path of a subtree, as a half-open range: '/' sorts just below '0'.
pub fn subtree_range(path: &str) -> (String, String) {
    // Paths always end in '/'; one that does not (a damaged row) matches only itself.
    match path.strip_suffix('/') {
        Some(stem) => (path.to_string(), format!("{stem}0")),
        None => (path.to_string(), format!("{path}\0")),
    }
}

/// An area as held: parent, name, division type, boundary.
pub type HeldArea = (Option<String>, String, Option<String>, Option<String>);

/// One area row to write on import.
#[derive(Debug, Clone)]
pub struct AreaRow {
    pub code: String,
    pub parent: Option<String>,
    pub name: String,
    pub name_search: String,
    pub sort_key: Vec<u8>,
    pub division_type: Option<String>,
    pub boundary: Option<String>,
}

/// What an import changes, given what is held: the rows to write, parents first, and the count of
/// inserted, updated and unchanged areas. Every database's import goes through here.
pub fn plan_import(
    existing: &HashMap<String, HeldArea>,
    areas: Vec<AreaRecord>,
) -> Result<(Vec<AreaRow>, ImportSummary), StoreError> {
    let ordered = order_parents_first(areas, |c| existing.contains_key(c.as_str()))
        .map_err(|e| StoreError::Import(e.to_string()))?;
    let mut summary = ImportSummary::default();
    let mut rows = Vec::new();
    for a in ordered {
        let parent = a.parent.as_ref().map(|p| p.to_string());
        let name = a.name.to_string();
        match existing.get(a.code.as_str()) {
            Some((p, n, d, b))
                if *p == parent
                    && *n == name
                    && *d == a.division_type
                    && (a.boundary.is_none() || *b == a.boundary) =>
            {
                summary.unchanged += 1;
                continue;
            }
            Some(_) => summary.updated += 1,
            None => summary.inserted += 1,
        }
        rows.push(AreaRow {
            code: a.code.to_string(),
            parent,
            name_search: fold_for_search(&name),
            sort_key: vietnamese_sort_key(&name)
                .iter()
                .flat_map(|k| k.to_be_bytes())
                .collect(),
            name,
            division_type: a.division_type,
            boundary: a.boundary,
        });
    }
    Ok((rows, summary))
}

/// Every area's materialised path and level from the parent links; recomputed whole so a
/// re-parented area carries its descendants along.
pub fn compute_paths(parent_of: &HashMap<String, Option<String>>) -> Result<Vec<(String, String, i64)>, StoreError> {
    let mut out = Vec::with_capacity(parent_of.len());
    for code in parent_of.keys() {
        let mut chain = vec![code.clone()];
        let mut cur = parent_of.get(code).cloned().flatten();
        while let Some(p) = cur {
            if chain.len() > 64 {
                return Err(StoreError::Import(format!(
                    "area {code} sits in a cycle of parent links"
                )));
            }
            cur = parent_of.get(&p).cloned().flatten();
            chain.push(p);
        }
        chain.reverse();
        out.push((code.clone(), format!("/{}/", chain.join("/")), (chain.len() - 1) as i64));
    }
    Ok(out)
}

// Statements both engines run inside their own transactions (import, ingest, pull), written
// once; SQLite reads `$N` as `?N` (`db::sqlite_placeholders`).

/// Inserts an imported area (both engines' `import_areas`).
pub const AREA_INSERT: &str =
    "INSERT INTO areas (code, parent_code, name, name_search, sort_key, division_type, level, path, boundary)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, '', $7)
                 ON CONFLICT (code) DO UPDATE SET parent_code = excluded.parent_code, name = excluded.name,
                    name_search = excluded.name_search, sort_key = excluded.sort_key,
                    division_type = excluded.division_type, boundary = COALESCE(excluded.boundary, areas.boundary)";

/// Notes a device seen by a push: first and last time, clock skew, pushes.
pub const DEVICE_SEEN: &str =
    "INSERT INTO devices (id, first_seen_ms, last_seen_ms, clock_skew_ms, pushes) VALUES ($1, $2, $2, $3, 1)
         ON CONFLICT (id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms,
            clock_skew_ms = excluded.clock_skew_ms, pushes = devices.pushes + 1";

/// Every area's parent, for the paths an import computes.
pub const AREA_PARENTS: &str = "SELECT code, parent_code FROM areas";

/// The areas held, as an import compares them with the file's.
pub const AREAS_HELD: &str = "SELECT code, parent_code, name, division_type, boundary FROM areas";

/// The areas of a pull's subtree, parents first.
pub const PULL_AREAS: &str = "SELECT code, parent_code, name, division_type, level FROM areas
                     WHERE path >= $1 AND path < $2 ORDER BY level, sort_key";

/// A page of the households of a pull's subtree after its cursor.
pub const PULL_HOUSEHOLDS: &str =
    "SELECT h.id, h.area_code, h.address, h.lat, h.lon, h.visits, h.latest_outcome, h.updated_seq,
                    h.latest_visited_at_ms, h.latest_volunteer_id, u.username
                 FROM households h JOIN areas a ON a.code = h.area_code
                    LEFT JOIN users u ON u.id = h.latest_volunteer_id
                 WHERE a.path >= $1 AND a.path < $2 AND h.updated_seq > $3
                 ORDER BY h.updated_seq LIMIT $4";

/// An area's path and name.
pub const AREA_PATH_NAME: &str = "SELECT path, name FROM areas WHERE code = $1";

/// Sets an area's path and level where they changed (an import that moves it).
pub const AREA_PATH_UPDATE: &str =
    "UPDATE areas SET path = $2, level = $3 WHERE code = $1 AND (path <> $2 OR level <> $3)";

#[cfg(test)]
mod tests {
    /// The pull's two streams (households and claims, one change counter) paged at every limit
    /// over every interleaving shape: each change arrives once, in order, and `has_more` is
    /// false exactly on the last page.
    #[test]
    fn pull_pages_merge_households_and_claims_over_page_boundaries() {
        use doorstep_domain::protocol::{ClaimDto, HouseholdDto};
        let household = |seq: i64| HouseholdDto {
            id: format!("h{seq}"),
            area_code: "18073".into(),
            address: None,
            lat: None,
            lon: None,
            visits: 0,
            latest_outcome: None,
            revisit_due: false,
            revisit_due_at_ms: None,
            latest_volunteer_id: None,
            latest_volunteer: None,
            latest_visited_at_ms: None,
            updated_seq: seq,
        };
        let claim = |seq: i64| ClaimDto {
            id: format!("c{seq}"),
            area_code: "18073".into(),
            household_id: None,
            street: Some("Trần Phú".into()),
            street_key: Some("tran phu".into()),
            volunteer_id: "v".into(),
            volunteer: "v".into(),
            created_at_ms: 0,
            released_at_ms: None,
            updated_seq: seq,
        };
        // Which of the changes 1..=n are claims.
        type Shape = (&'static str, i64, fn(i64) -> bool);
        let shapes: [Shape; 6] = [
            ("households only", 7, |_| false),
            ("claims only", 7, |_| true),
            ("alternating", 9, |s| s % 2 == 0),
            ("claims first", 8, |s| s <= 3),
            ("claims last", 8, |s| s > 5),
            ("nothing", 0, |_| false),
        ];
        for (name, n, is_claim) in shapes {
            for limit in 1..=(n as u32 + 2) {
                let mut cursor = 0;
                let mut seen = Vec::new();
                for page in 0.. {
                    assert!(page <= n, "{name}, limit {limit}: no end");
                    let read = |claims: bool| -> Vec<i64> {
                        (cursor + 1..=n)
                            .filter(|s| is_claim(*s) == claims)
                            .take(limit as usize + 1)
                            .collect()
                    };
                    let (h, c, next, more) = super::pull_page(
                        read(false).into_iter().map(household).collect(),
                        read(true).into_iter().map(claim).collect(),
                        cursor,
                        limit,
                    );
                    let mut got: Vec<i64> = h
                        .iter()
                        .map(|x| x.updated_seq)
                        .chain(c.iter().map(|x| x.updated_seq))
                        .collect();
                    got.sort_unstable();
                    assert!(got.len() <= limit as usize, "{name}, limit {limit}");
                    assert!(c.iter().all(|x| is_claim(x.updated_seq)), "{name}");
                    assert_eq!(next, got.last().copied().unwrap_or(cursor), "{name}, limit {limit}");
                    seen.extend(got);
                    cursor = next;
                    if !more {
                        break;
                    }
                }
                assert_eq!(seen, (1..=n).collect::<Vec<_>>(), "{name}, limit {limit}");
            }
        }
    }

    /// A figure is the area's own, or the sum over the highest areas below that have it.
    #[test]
    fn targets_roll_up_where_the_parent_has_none() {
        let rows: Vec<crate::store::TargetRow> = vec![
            ("/42/436/".into(), [None, Some(100_000), None]),
            ("/42/436/18073/".into(), [Some(1_000), Some(4_000), None]),
            ("/42/436/18077/".into(), [Some(500), None, Some(900)]),
            // Below a commune that has its own household target: not counted again.
            ("/42/436/18073/x1/".into(), [Some(7), None, None]),
            ("/42/437/".into(), [Some(20_000), None, None]),
            ("/42/437/18100/".into(), [Some(30), None, Some(50)]),
        ];
        let t = |path: &str| {
            crate::store::roll_up_targets(path, &rows).map(|t| (t.households, t.population, t.smartphone_owners))
        };
        assert_eq!(t("/42/"), Some((Some(21_500), Some(100_000), Some(950))));
        assert_eq!(t("/42/436/"), Some((Some(1_500), Some(100_000), Some(900))));
        assert_eq!(t("/42/436/18073/"), Some((Some(1_000), Some(4_000), None)));
        assert_eq!(t("/42/437/18100/"), Some((Some(30), None, Some(50))));
        assert_eq!(t("/42/438/"), None);
    }

    /// A sum over part of the level it is taken at says so, and how much it covers.
    #[test]
    fn a_roll_up_over_some_communes_only_is_partial() {
        use doorstep_domain::protocol::TargetSum;
        // Every area of the subtree, as `subtree_targets` reads it; targets on 3 of 4 communes
        // (one district has its own households figure), a village below one commune.
        let rows: Vec<crate::store::TargetRow> = vec![
            ("/42/".into(), [None, None, None]),
            ("/42/436/".into(), [None, None, None]),
            ("/42/436/18073/".into(), [Some(1_000), None, Some(600)]),
            ("/42/436/18073/v1/".into(), [None, None, None]),
            ("/42/436/18077/".into(), [Some(500), None, None]),
            ("/42/437/".into(), [Some(2_000), None, None]),
            ("/42/437/18100/".into(), [None, None, None]),
            ("/42/437/18101/".into(), [None, None, None]),
            // A district with no commune and no target: it counts at the communes' level.
            ("/42/438/".into(), [None, None, None]),
        ];
        let province = crate::store::roll_up_targets("/42/", &rows).unwrap();
        assert_eq!(province.households, Some(3_500));
        // Communes (and the empty district): 18073, 18077, and 437's two through its own figure.
        assert_eq!(
            province.households_sum,
            Some(TargetSum {
                areas_with_target: 4,
                areas: 5
            })
        );
        assert_eq!(
            province.smartphone_owners_sum,
            Some(TargetSum {
                areas_with_target: 1,
                areas: 5
            })
        );
        assert_eq!((province.population, province.population_sum), (None, None));
        assert!(province.partial);
        let units = crate::store::roll_up_targets_of(&["/42/436/", "/42/437/", "/42/438/", "/42/436/18073/"], &rows);
        let district = units[0].unwrap();
        assert_eq!(district.households, Some(1_500));
        assert_eq!(
            district.households_sum,
            Some(TargetSum {
                areas_with_target: 2,
                areas: 2
            })
        );
        // Owners on one commune of two: partial.
        assert_eq!(district.smartphone_owners, Some(600));
        assert!(district.partial);
        // Its own figure: no sum, nothing partial.
        let own = units[1].unwrap();
        assert_eq!(
            (own.households, own.households_sum, own.partial),
            (Some(2_000), None, false)
        );
        assert_eq!(units[2], None);
        let commune = units[3].unwrap();
        assert_eq!((commune.households, commune.partial), (Some(1_000), false));
        // The same as one at a time.
        for (path, t) in ["/42/436/", "/42/437/", "/42/438/", "/42/436/18073/"]
            .iter()
            .zip(&units)
        {
            assert_eq!(&crate::store::roll_up_targets(path, &rows), t, "{path}");
        }
        // All communes with a target: complete.
        let full: Vec<_> = rows
            .iter()
            .filter(|(p, _)| p.as_str() != "/42/438/")
            .map(|(p, v)| (p.clone(), [v[0], v[1], None]))
            .collect();
        let province = crate::store::roll_up_targets("/42/", &full).unwrap();
        assert_eq!(
            province.households_sum,
            Some(TargetSum {
                areas_with_target: 4,
                areas: 4
            })
        );
        assert!(!province.partial);
    }

    #[test]
    fn subtree_ranges_hold_the_subtree_and_nothing_else() {
        let (lo, hi) = super::subtree_range("/42/436/");
        for inside in ["/42/436/", "/42/436/18073/", "/42/436/18073/18073-01/"] {
            assert!(lo.as_str() <= inside && inside < hi.as_str(), "{inside}");
        }
        for outside in ["/42/", "/42/4360/", "/42/437/", "/42/436-1/", "/42/43/"] {
            assert!(!(lo.as_str() <= outside && outside < hi.as_str()), "{outside}");
        }
        // A damaged path matches itself only, and does not panic.
        let (lo, hi) = super::subtree_range("");
        assert!(lo.as_str() <= "" && "" < hi.as_str());
        assert!(!(lo.as_str() <= "/42/" && "/42/" < hi.as_str()));
    }

    #[test]
    fn paths_follow_parents_and_cycles_are_refused() {
        let map = |pairs: &[(&str, Option<&str>)]| {
            pairs
                .iter()
                .map(|(c, p)| (c.to_string(), p.map(str::to_string)))
                .collect()
        };
        let mut paths =
            super::compute_paths(&map(&[("42", None), ("436", Some("42")), ("18073", Some("436"))])).unwrap();
        paths.sort();
        assert_eq!(
            paths,
            [
                ("18073".to_string(), "/42/436/18073/".to_string(), 2),
                ("42".to_string(), "/42/".to_string(), 0),
                ("436".to_string(), "/42/436/".to_string(), 1)
            ]
        );
        assert!(super::compute_paths(&map(&[("a", Some("b")), ("b", Some("a"))])).is_err());
    }
}

/// What one household adds to its area's figures: one household in the bucket of its latest
/// outcome ("" while nobody has visited), with its visits and latest counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub households: i64,
    pub visits: i64,
    pub smartphones: i64,
    pub already_installed: i64,
    pub installed_now: i64,
}

impl Figures {
    fn is_zero(&self) -> bool {
        *self == Figures::default()
    }
}

/// Changes to `area_stats`, the per-area figures kept for every area and all its ancestors so
/// that coverage of any subtree is one read. Collected over a transaction, written at its end.
/// Kept by leaf path while collecting (no allocation per record once a key is known) and spread
/// to the ancestors only when written.
#[derive(Debug, Default)]
pub struct StatDeltas(HashMap<String, HashMap<String, Figures>>);

impl StatDeltas {
    /// Adds (`sign` 1) or removes (`sign` -1) a household's figures in the area whose path is
    /// `path`, and so in each of its ancestors (the path names them all).
    pub fn apply(&mut self, path: &str, outcome: &str, sign: i64, f: Figures) {
        if !self.0.contains_key(path) {
            self.0.insert(path.to_string(), HashMap::new());
        }
        let Some(by_outcome) = self.0.get_mut(path) else { return };
        if !by_outcome.contains_key(outcome) {
            by_outcome.insert(outcome.to_string(), Figures::default());
        }
        let Some(e) = by_outcome.get_mut(outcome) else { return };
        e.households += sign * f.households;
        e.visits += sign * f.visits;
        e.smartphones += sign * f.smartphones;
        e.already_installed += sign * f.already_installed;
        e.installed_now += sign * f.installed_now;
    }

    /// Moves a household from its old bucket (if it had one) to its new one.
    pub fn replace(&mut self, path: &str, old: Option<(&str, Figures)>, new: (&str, Figures)) {
        if let Some((outcome, f)) = old {
            self.apply(path, outcome, -1, f);
        }
        self.apply(path, new.0, 1, new.1);
    }

    /// The non-zero changes for every area and ancestor, in key order (so concurrent writers
    /// lock rows in one order).
    pub fn rows(&self) -> Vec<(String, String, Figures)> {
        let mut all: HashMap<(String, String), Figures> = HashMap::new();
        for (path, by_outcome) in &self.0 {
            for (outcome, f) in by_outcome {
                for code in path.split('/').filter(|c| !c.is_empty()) {
                    let e = all.entry((code.to_string(), outcome.clone())).or_default();
                    e.households += f.households;
                    e.visits += f.visits;
                    e.smartphones += f.smartphones;
                    e.already_installed += f.already_installed;
                    e.installed_now += f.installed_now;
                }
            }
        }
        let mut rows: Vec<_> = all
            .into_iter()
            .filter(|(_, f)| !f.is_zero())
            .map(|((a, o), f)| (a, o, f))
            .collect();
        rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        rows
    }
}

/// Adds one change to `area_stats` (the same SQL on both databases).
pub const STATS_UPSERT: &str = "INSERT INTO area_stats (area_code, outcome, households, visits, smartphones,
        already_installed, installed_now) VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (area_code, outcome) DO UPDATE SET
        households = area_stats.households + excluded.households,
        visits = area_stats.visits + excluded.visits,
        smartphones = area_stats.smartphones + excluded.smartphones,
        already_installed = area_stats.already_installed + excluded.already_installed,
        installed_now = area_stats.installed_now + excluded.installed_now";

/// Rebuilds `area_stats` from the households (after an import that changed the tree, or a move
/// between databases). The same SQL on both databases.
pub const STATS_RECOMPUTE: &str = "DELETE FROM area_stats;
    INSERT INTO area_stats (area_code, outcome, households, visits, smartphones, already_installed, installed_now)
    SELECT anc.code, COALESCE(h.latest_outcome, ''), COUNT(*), SUM(h.visits), SUM(COALESCE(h.smartphones, 0)),
           SUM(COALESCE(h.already_installed, 0)), SUM(COALESCE(h.installed_now, 0))
    FROM households h
    JOIN areas a ON a.code = h.area_code
    JOIN areas anc ON a.path >= anc.path AND a.path < substr(anc.path, 1, length(anc.path) - 1) || '0'
    GROUP BY anc.code, COALESCE(h.latest_outcome, '');";

/// Coverage from an area's `area_stats` rows: (outcome, figures).
pub fn coverage_from_stats(area_code: &str, area_name: String, rows: &[(String, Figures)]) -> Coverage {
    let mut cov = Coverage {
        area_code: area_code.to_string(),
        area_name,
        households_known: 0,
        households_visited: 0,
        by_outcome: std::collections::BTreeMap::new(),
        visits: 0,
        households_with_app: 0,
        smartphones_seen: 0,
        already_installed: 0,
        installed_now: 0,
        coverage_rate: None,
        install_rate: None,
        targets: None,
        target_coverage_rate: None,
        install_rate_of_owners: None,
    };
    for (outcome, f) in rows {
        if f.households == 0 {
            continue;
        }
        cov.households_known += f.households;
        cov.visits += f.visits;
        cov.smartphones_seen += f.smartphones;
        cov.already_installed += f.already_installed;
        cov.installed_now += f.installed_now;
        if !outcome.is_empty() {
            cov.households_visited += f.households;
            cov.by_outcome.insert(outcome.clone(), f.households);
        }
    }
    cov.with_rates()
}

/// The area_stats table; the second migration of both databases.
pub const AREA_STATS_TABLE: &str = "CREATE TABLE area_stats (
    area_code         TEXT NOT NULL REFERENCES areas(code),
    outcome           TEXT NOT NULL,
    households        BIGINT NOT NULL,
    visits            BIGINT NOT NULL,
    smartphones       BIGINT NOT NULL,
    already_installed BIGINT NOT NULL,
    installed_now     BIGINT NOT NULL,
    PRIMARY KEY (area_code, outcome)
);";

#[cfg(test)]
mod stats_tests {
    use super::*;

    #[test]
    fn a_household_moves_between_buckets_in_every_ancestor() {
        let mut d = StatDeltas::default();
        let f = |h, v, s| Figures {
            households: h,
            visits: v,
            smartphones: s,
            already_installed: 0,
            installed_now: 0,
        };
        d.replace("/42/436/18073/", None, ("", f(1, 0, 0)));
        d.replace("/42/436/18073/", Some(("", f(1, 0, 0))), ("not_home", f(1, 1, 0)));
        let rows = d.rows();
        // The empty bucket nets to zero and is left out; the new one is in all three areas.
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|(_, o, fig)| o == "not_home" && *fig == f(1, 1, 0)));
        assert_eq!(
            rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["18073", "42", "436"]
        );
    }
}

/// The receipt for a record that was not inserted because something is held already: the same
/// content is a duplicate (pointing at the held record); other content under the same id is an
/// id re-used; nothing under the id means another record holds this device's sequence number.
/// Both databases answer through here.
pub fn not_inserted_receipt(
    index: usize,
    id: Option<String>,
    revision: Option<i64>,
    held: Option<(i64, &[u8])>,
    hash: &[u8; 32],
    lang: Lang,
) -> Receipt {
    use doorstep_domain::error::ErrorKind;
    match held {
        Some((seq, h)) if h == hash.as_slice() => Receipt {
            index: index as u32,
            id,
            revision,
            status: ReceiptStatus::Duplicate,
            server_seq: Some(seq),
            error: None,
        },
        Some(_) => rejected(index, id, revision, &FieldError::new("id", ErrorKind::IdReused), lang),
        None => rejected(
            index,
            id,
            revision,
            &FieldError::new("device_seq", ErrorKind::SequenceReused),
            lang,
        ),
    }
}
