//! The storage trait: everything the server keeps goes through it, with one implementation per
//! database. The same test suite runs against each (ARCHITECTURE.md, invariant 10).

use std::collections::HashMap;

use async_trait::async_trait;
use doorstep_domain::Campaign;
use doorstep_domain::area::{AreaRecord, fold_for_search, order_parents_first, vietnamese_sort_key};
use doorstep_domain::protocol::{HouseholdDto, PullResponse, Receipt, VisitDto};
use doorstep_domain::values::{AreaCode, Id};
use uuid::Uuid;

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
    /// Another process serves this SQLite file (its path): `doorstep admin` then goes through
    /// that server's admin socket.
    #[error("another doorstep process is using {}; stop it first (one process serves a SQLite file; several servers need PostgreSQL)", .0.display())]
    InUse(std::path::PathBuf),
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

#[async_trait]
pub trait Store: crate::db::Db + Send + Sync + 'static {
    /// Inserts or updates areas in one transaction: all of them or, on any error, none.
    /// Importing the same file again changes nothing.
    async fn import_areas(&self, areas: Vec<AreaRecord>) -> Result<ImportSummary, StoreError>;

    /// Stores a batch in one transaction and returns a receipt per record, only after commit.
    /// A record already held with the same content is a duplicate; with other content, refused.
    async fn ingest(&self, batch: crate::db::ingest::IngestBatch) -> Result<Vec<Receipt>, StoreError>;

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

    // Hexagons, map filters and exports: the statements are `db::filter`'s, run by `db::rows`.
    /// Households of the subtree `[lo, hi)` grouped by `group` and latest outcome, under a filter.
    async fn grouped_figures(
        &self, lo: &str, hi: &str, group: crate::db::filter::GroupBy, filter: &crate::db::filter::VisitFilter,
    ) -> Result<Vec<crate::db::filter::GroupRow>, StoreError>;

    /// Sends a query's households to `sink` as they are read; stops early, and without error,
    /// when the receiver is gone.
    async fn stream_households(
        &self, q: crate::db::filter::RowQuery, sink: tokio::sync::mpsc::Sender<crate::db::filter::HouseholdRow>,
    ) -> Result<(), StoreError>;

    /// Sends a query's visits to `sink` in receive order, as [`Store::stream_households`].
    async fn stream_visits(
        &self, q: crate::db::filter::RowQuery, sink: tokio::sync::mpsc::Sender<VisitDto>,
    ) -> Result<(), StoreError>;

    /// Gives a claim: releases the unreleased claims on the same household (or the same street of
    /// the same area) and stores the new one, each with a change number, in one transaction.
    /// Returns the claims released.
    async fn give_claim(&self, claim: NewClaim) -> Result<Vec<Uuid>, StoreError>;

    /// Releases an unreleased claim with a change number; `false` if none such.
    async fn release_claim(&self, id: Uuid, now_ms: i64) -> Result<bool, StoreError>;

    /// What claims need of the households of these areas and of these households: address,
    /// visits and latest visit (volunteer and time).
    async fn claim_households(
        &self, areas: Vec<String>, households: Vec<Uuid>,
    ) -> Result<Vec<ClaimHousehold>, StoreError>;
}

/// Builds the answer for a visit row; `flags` comma-separated as stored.
#[allow(clippy::too_many_arguments)]
/// [`VISIT_COLUMNS`] 0 to 8: seq, id, revision, household, area, volunteer, device, visited at
/// (ms), its UTC offset (minutes).
pub type VisitWho = (i64, Uuid, i64, Uuid, String, Uuid, Uuid, i64, i32);
/// [`VISIT_COLUMNS`] 9 to 15 (outcome, reason, people, smartphones, already installed, installed
/// now, leaflet) and 16 to 23 (location source, lat, lon, accuracy, notes, received at (ms), flags,
/// the volunteer's name).
pub type VisitWhat = (
    (String, Option<String>, i64, i64, i64, i64, bool),
    (String, Option<f64>, Option<f64>, Option<f64>, Option<String>, i64, Option<String>, Option<String>),
);

pub fn visit_dto(who: VisitWho, what: VisitWhat) -> VisitDto {
    let (server_seq, id, revision, household_id, area_code, volunteer_id, device_id, visited_at_ms, utc_offset_min) =
        who;
    let (outcome, reason, people, smartphones, already_installed, installed_now, leaflet_given) = what.0;
    let (location_source, lat, lon, accuracy_m, notes, received_at_ms, flags, volunteer_name) = what.1;
    let offset = chrono::FixedOffset::east_opt(utc_offset_min * 60)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
    let time = |ms: i64, off: chrono::FixedOffset| {
        chrono::DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&off).to_rfc3339()).unwrap_or_default()
    };
    VisitDto {
        server_seq,
        id: id.to_string(),
        revision,
        household_id: household_id.to_string(),
        area_code,
        volunteer_id: volunteer_id.to_string(),
        volunteer_name,
        device_id: device_id.to_string(),
        visited_at: time(visited_at_ms, offset),
        outcome,
        reason,
        people,
        smartphones,
        already_installed,
        installed_now,
        leaflet_given,
        location_source,
        lat,
        lon,
        accuracy_m,
        notes,
        received_at: time(received_at_ms, chrono::FixedOffset::east_opt(0).expect("zero offset")),
        flags: flags.map(|f| f.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()).unwrap_or_default(),
    }
}

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
    mut households: Vec<HouseholdDto>, mut claims: Vec<doorstep_domain::protocol::ClaimDto>, cursor: i64, limit: u32,
) -> (Vec<HouseholdDto>, Vec<doorstep_domain::protocol::ClaimDto>, i64, bool) {
    let mut seqs: Vec<i64> =
        households.iter().map(|h| h.updated_seq).chain(claims.iter().map(|c| c.updated_seq)).collect();
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
    v.received_at_ms, f.flags, (SELECT COALESCE(u.display_name, u.username) FROM users u WHERE u.id = v.volunteer_id)";

/// How many columns [`VISIT_COLUMNS`] has: a listing's own columns follow from this index.
pub const VISIT_WIDTH: usize = 24;

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
    existing: &HashMap<String, HeldArea>, areas: Vec<AreaRecord>,
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
            sort_key: vietnamese_sort_key(&name).iter().flat_map(|k| k.to_be_bytes()).collect(),
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
                return Err(StoreError::Import(format!("area {code} sits in a cycle of parent links")));
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

/// Notes a device seen by a push: first and last time, clock skew, pushes, and the app version
/// it sent (one that sent none keeps the last known).
pub const DEVICE_SEEN: &str =
    "INSERT INTO devices (id, first_seen_ms, last_seen_ms, clock_skew_ms, pushes, app_version)
         VALUES ($1, $2, $2, $3, 1, $4)
         ON CONFLICT (id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms,
            clock_skew_ms = excluded.clock_skew_ms, pushes = devices.pushes + 1,
            app_version = COALESCE(excluded.app_version, devices.app_version)";

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

/// A claim to store.
#[derive(Debug, Clone)]
pub struct NewClaim {
    pub id: Uuid,
    pub area_code: String,
    pub household_id: Option<Uuid>,
    pub street: Option<doorstep_domain::claim::Street>,
    pub volunteer_id: Uuid,
    /// Who gave it (a username, or "cli").
    pub given_by: String,
    pub now_ms: i64,
}

/// What claims need to know of a household.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimHousehold {
    pub id: Uuid,
    pub area_code: String,
    pub address: Option<String>,
    pub visits: i64,
    pub latest_volunteer_id: Option<Uuid>,
    pub latest_visited_at_ms: Option<i64>,
}

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
                        (cursor + 1..=n).filter(|s| is_claim(*s) == claims).take(limit as usize + 1).collect()
                    };
                    let (h, c, next, more) = super::pull_page(
                        read(false).into_iter().map(household).collect(),
                        read(true).into_iter().map(claim).collect(),
                        cursor,
                        limit,
                    );
                    let mut got: Vec<i64> =
                        h.iter().map(|x| x.updated_seq).chain(c.iter().map(|x| x.updated_seq)).collect();
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
            pairs.iter().map(|(c, p)| (c.to_string(), p.map(str::to_string))).collect()
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
