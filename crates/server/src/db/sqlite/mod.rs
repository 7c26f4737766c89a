//! The SQLite implementation of [`Store`]: one writer connection (SQLite has one writer at a
//! time anyway) and a few readers, all in WAL mode with `synchronous=FULL`, because a receipt
//! promises the record survives a power cut.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::db::{Db, Dialect, Done, Row, Tx, Value, sqlite_placeholders};
use async_trait::async_trait;
use doorstep_domain::Campaign;
use doorstep_domain::area::AreaRecord;
use doorstep_domain::error::{ErrorKind, FieldError};
use doorstep_domain::protocol::{AreaDto, HouseholdDto, PullResponse, Receipt, ReceiptStatus};
use doorstep_domain::values::AreaCode;
use rusqlite::{Connection, OptionalExtension, params};

pub use crate::store::content_hash;
use crate::store::{
    AREA_STATS_TABLE, Figures, HeldArea, ImportSummary, Incoming, IngestBatch, NewHousehold, STATS_RECOMPUTE,
    STATS_UPSERT, StatDeltas, Store, StoreError, compute_paths, not_inserted_receipt, plan_import, rejected,
    subtree_range, visit_dto,
};
use doorstep_domain::protocol::VisitDto;

/// `PRAGMA application_id` of a Doorstep server database ("DSRV"), so a foreign file is refused.
const APPLICATION_ID: i32 = 0x4453_5256;

/// Versioned migrations: step N brings `user_version` from N to N+1. Never edit a shipped step.
const MIGRATIONS: &[&[&str]] = &[
    &[r#"
CREATE TABLE areas (
    code          TEXT PRIMARY KEY,
    parent_code   TEXT REFERENCES areas(code),
    name          TEXT NOT NULL,
    name_search   TEXT NOT NULL,
    sort_key      BLOB NOT NULL,
    division_type TEXT,
    level         INTEGER NOT NULL,
    -- '/42/436/18073/': a subtree is a range of paths, which any database can index.
    path          TEXT NOT NULL,
    boundary      TEXT
);
CREATE INDEX areas_path ON areas(path);
CREATE INDEX areas_parent ON areas(parent_code);

CREATE TABLE devices (
    id            BLOB PRIMARY KEY,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL,
    clock_skew_ms INTEGER NOT NULL,
    pushes        INTEGER NOT NULL
);

-- Households carry their latest visit's figures, maintained on ingest, so coverage is one scan.
CREATE TABLE households (
    id                BLOB PRIMARY KEY,
    area_code         TEXT NOT NULL REFERENCES areas(code),
    address           TEXT,
    lat               REAL,
    lon               REAL,
    updated_seq       INTEGER NOT NULL,
    visits            INTEGER NOT NULL DEFAULT 0,
    latest_outcome    TEXT,
    people            INTEGER,
    smartphones       INTEGER,
    already_installed INTEGER,
    installed_now     INTEGER
);
CREATE INDEX households_area ON households(area_code, updated_seq);

-- Visits are immutable; a correction is a new revision. server_seq is the receive order.
CREATE TABLE visits (
    server_seq        INTEGER PRIMARY KEY,
    id                BLOB NOT NULL,
    revision          INTEGER NOT NULL,
    device_id         BLOB NOT NULL,
    device_seq        INTEGER NOT NULL,
    volunteer_id      BLOB NOT NULL,
    household_id      BLOB NOT NULL,
    area_code         TEXT NOT NULL,
    visited_at_ms     INTEGER NOT NULL,
    utc_offset_min    INTEGER NOT NULL,
    outcome           TEXT NOT NULL,
    reason            TEXT,
    people            INTEGER NOT NULL,
    smartphones       INTEGER NOT NULL,
    already_installed INTEGER NOT NULL,
    installed_now     INTEGER NOT NULL,
    leaflet_given     INTEGER NOT NULL,
    loc_source        TEXT NOT NULL,
    lat               REAL,
    lon               REAL,
    accuracy_m        REAL,
    notes             TEXT,
    received_at_ms    INTEGER NOT NULL,
    content_hash      BLOB NOT NULL,
    UNIQUE (id, revision),
    UNIQUE (device_id, device_seq)
);
CREATE INDEX visits_household ON visits(household_id);
"#],
    // Per-area figures for every area and its ancestors, kept on ingest: coverage is one read.
    &[AREA_STATS_TABLE, STATS_RECOMPUTE],
    // Accounts, sessions (token hashes only) and the audit log.
    &[crate::store::ACCOUNTS_TABLES_SQLITE],
    // Enrolment codes and device tokens, as hashes.
    &[crate::store::DEVICE_TABLES_SQLITE],
    // Teams, assignments, flagged visits.
    &[crate::store::TEAM_TABLES_SQLITE],
    // Visits sent back for correction.
    &[crate::corrections::CORRECTIONS_TABLE_SQLITE],
    // Each household's H3 cell, for the map's hexagons; the rows held get theirs here.
    &[crate::store::H3_CELL_COLUMN, crate::store::H3_CELL_BACKFILL],
    // Per area and day figures for the daily curve, built from the visits held.
    &[crate::store::AREA_DAYS_TABLE, crate::store::AREA_DAYS_REBUILD],
    // Data-quality flags: each volunteer's latest visit, which the next batch's are compared with.
    &[crate::quality::TRAIL_TABLE_SQLITE, crate::quality::TRAIL_FILL_SQL],
    // Venues and the visits made to them.
    &[crate::venues::VENUE_TABLES_SQLITE],
    // Photos: content-addressed bytes, and each phone's record of one.
    &[crate::photos::PHOTO_TABLES_SQLITE],
    // The campaign as data, loaded from a file.
    &[crate::store::CAMPAIGN_TABLE_SQLITE],
    // Targets per area.
    &[crate::store::TARGETS_TABLE_SQLITE],
    // Each household's latest visit's time, for the campaign's revisit delays; filled from visits.
    &[
        crate::store::LATEST_VISITED_AT_COLUMN,
        crate::store::LATEST_VISITED_AT_BACKFILL,
    ],
    // Why a device was revoked, told to the phone before it erases itself.
    &[crate::store::REVOKE_REASON_COLUMN],
    // Claims: each household's latest volunteer, filled from visits; leaders' claims.
    &[
        crate::store::LATEST_VOLUNTEER_COLUMN_SQLITE,
        crate::store::LATEST_VOLUNTEER_BACKFILL,
        crate::store::CLAIMS_TABLE_SQLITE,
    ],
    // Team names unique within an area.
    &[crate::store::TEAM_NAMES_PER_AREA_SQLITE],
    // Photos: each phone's own upload of a picture (knowing a hash grants nothing), from links held.
    &[crate::photos::PHOTO_UPLOADS_SQLITE],
];

/// The schema the ingest benchmark compares against: the same tables, so "raw" means the same
/// rows through the same indexes with nothing else in the way.
pub fn schema_sql() -> &'static str {
    MIGRATIONS[0][0]
}

struct Writer {
    conn: Connection,
    /// The next change number for households (the pull cursor). Only the writer advances it.
    next_change: i64,
    /// Area codes held, with their paths: validating a visit's area and finding its ancestors
    /// for the figures cost no query.
    areas: HashMap<String, String>,
    /// Parsed area boundaries for the `outside_area` flag; cleared when areas are imported.
    boundaries: crate::quality::Boundaries,
}

type Reply = tokio::sync::oneshot::Sender<Result<Vec<Receipt>, StoreError>>;

pub struct SqliteStore {
    writer: Arc<Mutex<Writer>>,
    /// Push batches for the writer thread; see [`ingest_thread`].
    ingest_queue: std::sync::mpsc::Sender<(IngestBatch, Reply)>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: AtomicUsize,
    path: PathBuf,
    /// Dropping it stops the checkpointer thread.
    _checkpointer: std::sync::mpsc::Sender<()>,
    /// Held while the store is open; see [`SqliteStore::open`].
    _lock: std::fs::File,
}

/// The one thread that stores push batches. It takes every batch that queued while it was busy
/// and stores them in one transaction (group commit), so the commit's fsync is shared; and, being
/// one long-lived thread, it keeps SQLite's pages warm in its core's cache.
fn ingest_thread(writer: Arc<Mutex<Writer>>) -> Result<std::sync::mpsc::Sender<(IngestBatch, Reply)>, StoreError> {
    let (queue, jobs) = std::sync::mpsc::channel::<(IngestBatch, Reply)>();
    std::thread::Builder::new()
        .name("doorstep-writer".into())
        .spawn(move || {
            // Ends when the store, and so the sending side, is dropped.
            while let Ok(first) = jobs.recv() {
                let mut group = vec![first];
                group.extend(jobs.try_iter());
                let (batches, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
                let mut w = lock(&writer);
                // A panic here must not stop all storing: the transaction rolls back as it
                // unwinds, the senders hear of an error (their devices send again), and the
                // thread goes on with the next batches.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ingest_group(&mut w, &batches)))
                    .unwrap_or_else(|_| Err(StoreError::Task("storing the batch panicked".into())));
                match result {
                    Ok(all) => {
                        for (receipts, reply) in all.into_iter().zip(replies) {
                            let _ = reply.send(Ok(receipts));
                        }
                    }
                    // One batch's failure must not fail its neighbours: try each alone.
                    Err(_) if batches.len() > 1 => {
                        for (batch, reply) in batches.into_iter().zip(replies) {
                            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                ingest_group(&mut w, std::slice::from_ref(&batch)).map(|mut r| r.remove(0))
                            }))
                            .unwrap_or_else(|_| Err(StoreError::Task("storing the batch panicked".into())));
                            let _ = reply.send(result);
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "storing a push failed");
                        for reply in replies {
                            let _ = reply.send(Err(StoreError::Db(e.to_string())));
                        }
                    }
                }
            }
        })
        .map_err(|e| StoreError::Config(format!("cannot start the writer thread: {e}")))?;
    Ok(queue)
}

/// How often the write-ahead log is copied back into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Copies the WAL back into the database off the writer's path, so a push never waits for a
/// checkpoint. PASSIVE never blocks the writer or readers; it does what it can each time.
fn checkpointer(path: &Path) -> Result<std::sync::mpsc::Sender<()>, StoreError> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("doorstep-checkpoint".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "checkpoint failed; will try again");
                }
            }
        })
        .map_err(|e| StoreError::Config(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(stop)
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// A reader connection not in use, looking from `start` round the pool; when all are busy, the
/// one at `start`. A short read never queues behind a province-wide one while another reader
/// sits idle.
fn free_reader(readers: &[Mutex<Connection>], start: usize) -> std::sync::MutexGuard<'_, Connection> {
    let n = readers.len();
    for k in 0..n {
        match readers[(start + k) % n].try_lock() {
            Ok(guard) => return guard,
            Err(std::sync::TryLockError::Poisoned(e)) => return e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {}
        }
    }
    lock(&readers[start % n])
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves SQLite itself consistent (the transaction rolls
    // back on drop), so the guard is safe to take over.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn uuid_of(bytes: Vec<u8>) -> String {
    uuid::Uuid::from_slice(&bytes)
        .map(|u| u.to_string())
        .unwrap_or_default()
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates a server database. Refuses a file that is not a
    /// SQLite database or belongs to another application.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        // One process per SQLite file: the writer keeps state in memory (the change counter, the
        // area list) that a second process would not see. Several servers need PostgreSQL.
        let lock_path = PathBuf::from(format!("{}.lock", path.display()));
        let lock = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::Config(format!("cannot open {}: {e}", lock_path.display())))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Config(format!(
                    "another doorstep process is using {}; stop it first (one process serves a SQLite \
                     file; several servers need PostgreSQL)",
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StoreError::Config(format!("cannot lock {}: {e}", lock_path.display())));
            }
        }
        let mut conn = Connection::open(path)?;
        let app_id: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| StoreError::Config(format!("{} is not a Doorstep database: {e}", path.display())))?;
        if app_id != 0 && app_id != APPLICATION_ID {
            return Err(StoreError::Config(format!(
                "{} belongs to another application (application_id {app_id:#x}); refusing to use it",
                path.display()
            )));
        }
        configure(&conn)?;
        // Checkpoints run on their own thread (see `checkpointer`), not inside a push's commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        migrate(&mut conn)?;
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        let next_change: i64 = conn.query_row("SELECT COALESCE(MAX(updated_seq), 0) + 1 FROM households", [], |r| {
            r.get(0)
        })?;
        let areas = area_paths(&conn)?;
        let mut readers = Vec::new();
        for _ in 0..4 {
            let r = Connection::open(path)?;
            configure(&r)?;
            readers.push(Mutex::new(r));
        }
        let writer = Arc::new(Mutex::new(Writer {
            conn,
            next_change,
            areas,
            boundaries: crate::quality::Boundaries::new(None),
        }));
        Ok(SqliteStore {
            writer: writer.clone(),
            ingest_queue: ingest_thread(writer.clone())?,
            readers: Arc::new(readers),
            next_reader: AtomicUsize::new(0),
            path: path.to_path_buf(),
            _checkpointer: checkpointer(path)?,
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Writer) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || f(&mut lock(&writer)))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.readers.clone();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || f(&free_reader(&readers, start)))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if version > MIGRATIONS.len() {
        return Err(StoreError::Config(format!(
            "the database is at schema version {version}, newer than this program knows ({}); upgrade doorstep",
            MIGRATIONS.len()
        )));
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for sql in *step {
            if *sql == crate::store::H3_CELL_BACKFILL {
                crate::hexagons::backfill_sqlite(&tx)?;
            } else {
                tx.execute_batch(sql)?;
            }
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "migrated server database");
    }
    Ok(())
}

/// Stores several push batches in one transaction: under load the batches that queued while the
/// previous commit was syncing share the next commit (group commit), so the fsync is paid once.
/// Receipts are answered only after the commit.
fn ingest_group(w: &mut Writer, batches: &[IngestBatch]) -> Result<Vec<Vec<Receipt>>, StoreError> {
    let tx = w
        .conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut next_change = w.next_change;
    let mut deltas = StatDeltas::default();
    // Per area and local day, what this commit adds to the daily curve (`area_days`).
    let mut days: DayDeltas = BTreeMap::new();
    let receipts = batches
        .iter()
        .map(|b| {
            ingest_batch(
                &tx,
                (&w.areas, &w.boundaries),
                &mut next_change,
                (&mut deltas, &mut days),
                b,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    apply_stats(&tx, &deltas)?;
    {
        let mut add_day = tx.prepare_cached(crate::store::AREA_DAYS_ADD)?;
        for ((area, day), (visits, households, installed_now)) in &days {
            add_day.execute(params![area, day, visits, households, installed_now])?;
        }
    }
    tx.commit()?;
    // Only after commit: a rolled-back group leaves the counter where it was.
    w.next_change = next_change;
    Ok(receipts)
}

/// Writes the data-quality flags of the visits a batch stored, with the motion flags decided
/// against each volunteer's latest visit held before (read here, inside the transaction), and
/// keeps those latest visits for the next batch.
fn write_quality(
    tx: &rusqlite::Transaction<'_>,
    rules: &doorstep_domain::quality::QualityRules,
    judged: Vec<crate::quality::Stored<'_>>,
) -> Result<(), StoreError> {
    let mut latest = HashMap::new();
    {
        let mut read =
            tx.prepare_cached("SELECT visit_id, visited_at_ms, lat, lon FROM volunteer_trail WHERE volunteer_id = ?1")?;
        for volunteer in crate::quality::trail_volunteers(&judged) {
            let row = read
                .query_row([volunteer.as_bytes().as_slice()], |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Option<f64>>(2)?.zip(r.get::<_, Option<f64>>(3)?),
                    ))
                })
                .optional()?;
            if let Some((id, at_ms, point)) = row {
                let id = uuid_from(&id)?;
                latest.insert(volunteer, doorstep_domain::quality::TrailPoint { id, at_ms, point });
            }
        }
    }
    let done = crate::quality::finish(rules, &latest, judged);
    let mut flag_visit = tx.prepare_cached("INSERT INTO visit_flags (server_seq, flags) VALUES (?1, ?2)")?;
    for (server_seq, flags) in done.flags {
        flag_visit.execute(params![server_seq, flags])?;
    }
    static WRITE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let mut write = tx.prepare_cached(WRITE.get_or_init(|| crate::quality::TRAIL_WRITE_SQL.replace('$', "?")))?;
    for (volunteer, p) in done.trail {
        write.execute(params![
            volunteer.as_bytes().as_slice(),
            p.id.as_bytes().as_slice(),
            p.at_ms,
            p.point.map(|x| x.0),
            p.point.map(|x| x.1),
        ])?;
    }
    Ok(())
}

/// The boundary that judges each area of a batch (`None`: none on its path), parsing only those
/// not cached yet.
fn batch_boundaries<'a>(
    tx: &rusqlite::Transaction<'_>,
    (areas, cache): (&'a HashMap<String, String>, &crate::quality::Boundaries),
    batch: &IngestBatch,
) -> Result<HashMap<&'a str, Option<Arc<crate::quality::Boundary>>>, StoreError> {
    let mut paths: HashMap<&str, &str> = HashMap::new();
    for record in &batch.records {
        if let Incoming::Valid { visit, .. } = record
            && let Some((code, path)) = areas.get_key_value(visit.area_code.as_str())
        {
            paths.insert(code, path);
        }
    }
    let missing = cache.missing(paths.values().copied());
    if !missing.is_empty() {
        let mut st = tx.prepare_cached("SELECT boundary FROM areas WHERE code = ?1")?;
        for code in missing {
            let text: Option<String> = st.query_row([&code], |r| r.get(0)).optional()?.flatten();
            cache.store(code, text.as_deref());
        }
    }
    Ok(paths
        .into_iter()
        .map(|(code, path)| (code, cache.for_path(path)))
        .collect())
}

/// The revisions held of one visit or venue visit (`HELD_REVISIONS_SQL`, `VENUE_REVISIONS`: the
/// same columns), read when a later revision of it arrives.
fn held_revisions_of(
    statement: &mut rusqlite::CachedStatement<'_>,
    id: uuid::Uuid,
) -> Result<Vec<crate::store::HeldRevision>, StoreError> {
    statement
        .query_map([id.as_bytes().as_slice()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Vec<u8>>(5)?,
            ))
        })?
        .map(|row| {
            let (revision, volunteer, subject, area_code, server_seq, content_hash) = row?;
            Ok(crate::store::HeldRevision {
                revision,
                volunteer_id: uuid_from(&volunteer)?,
                subject: uuid_from(&subject)?,
                area_code,
                server_seq,
                content_hash,
            })
        })
        .collect()
}

/// What a commit adds to `area_days`: (area, local day) to (visits, households, installs).
type DayDeltas<'a> = crate::store::DayTally<&'a str>;

fn ingest_batch<'b>(
    tx: &rusqlite::Transaction<'_>,
    (areas, boundaries): (&HashMap<String, String>, &crate::quality::Boundaries),
    next_change: &mut i64,
    (deltas, days): (&mut StatDeltas, &mut DayDeltas<'b>),
    batch: &'b IngestBatch,
) -> Result<Vec<Receipt>, StoreError> {
    let now_ms = batch.received_at.timestamp_millis();
    let device = batch.device_id.uuid();
    let mut receipts = Vec::with_capacity(batch.records.len());
    // The boundaries the data-quality flags need, parsed before the batch's rows are written.
    let boundary_of = batch_boundaries(tx, (areas, boundaries), batch)?;
    let mut judged: Vec<crate::quality::Stored<'_>> = Vec::new();
    {
        let mut insert_visit = tx.prepare_cached(
            "INSERT INTO visits (id, revision, device_id, device_seq, volunteer_id, household_id, area_code,
                visited_at_ms, utc_offset_min, outcome, reason, people, smartphones, already_installed,
                installed_now, leaflet_given, loc_source, lat, lon, accuracy_m, notes, received_at_ms, content_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)
             ON CONFLICT DO NOTHING",
        )?;
        let mut existing =
            tx.prepare_cached("SELECT server_seq, content_hash FROM visits WHERE id = ?1 AND revision = ?2")?;
        let mut held_revisions = tx.prepare_cached(crate::store::HELD_REVISIONS_SQL)?;
        let mut old_household = tx.prepare_cached(
            "SELECT area_code, latest_outcome, visits, smartphones, already_installed, installed_now, lat, lon,
                latest_volunteer_id, latest_visited_at_ms
             FROM households WHERE id = ?1",
        )?;
        let mut upsert_household = tx.prepare_cached(
            "INSERT INTO households (id, area_code, address, lat, lon, updated_seq, visits, latest_outcome,
                people, smartphones, already_installed, installed_now, h3_cell, latest_visited_at_ms,
                latest_volunteer_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT (id) DO UPDATE SET
                updated_seq = excluded.updated_seq,
                visits = households.visits + excluded.visits,
                address = COALESCE(households.address, excluded.address),
                lat = COALESCE(households.lat, excluded.lat),
                lon = COALESCE(households.lon, excluded.lon),
                h3_cell = COALESCE(households.h3_cell, excluded.h3_cell),
                latest_outcome = excluded.latest_outcome,
                people = excluded.people,
                smartphones = excluded.smartphones,
                already_installed = excluded.already_installed,
                installed_now = excluded.installed_now,
                latest_visited_at_ms = excluded.latest_visited_at_ms,
                latest_volunteer_id = excluded.latest_volunteer_id",
        )?;
        for (index, record) in batch.records.iter().enumerate() {
            let (visit, hash, id, cell) = match record {
                Incoming::Invalid { id, revision, error } => {
                    receipts.push(rejected(index, id.clone(), *revision, error, batch.lang));
                    continue;
                }
                Incoming::Valid { visit, hash, id, cell } => (visit, hash, id, cell),
            };
            let id_text = id.as_str();
            let id = Some(id.clone());
            let revision = Some(visit.revision.get());
            let Some(area_path) = areas.get(visit.area_code.as_str()) else {
                let e = FieldError::new(
                    "area_code",
                    ErrorKind::UnknownArea {
                        code: visit.area_code.to_string(),
                    },
                );
                receipts.push(rejected(index, id, revision, &e, batch.lang));
                continue;
            };
            // A later revision is judged against its visit's revisions held (this transaction's
            // included) before anything is written: only its own volunteer adds the next one.
            if visit.revision.get() > 1 {
                let held = held_revisions_of(&mut held_revisions, visit.id.uuid())?;
                if let Some(receipt) = crate::store::judge_revision(
                    index,
                    (id_text, visit.as_revision(), hash),
                    &held,
                    batch.volunteer_id,
                    batch.lang,
                ) {
                    receipts.push(receipt);
                    continue;
                }
            }
            let point = visit.location.point;
            let c = &visit.counts;
            let changed = insert_visit.execute(params![
                visit.id.uuid().as_bytes().as_slice(),
                visit.revision.get(),
                device.as_bytes().as_slice(),
                visit.device_seq.get(),
                visit.volunteer_id.uuid().as_bytes().as_slice(),
                visit.household.id.uuid().as_bytes().as_slice(),
                visit.area_code.as_str(),
                visit.visited_at.timestamp_millis(),
                visit.visited_at.offset().local_minus_utc() / 60,
                visit.outcome,
                visit.reason.as_ref().map(|t| t.as_str()),
                c.people.get(),
                c.smartphones.get(),
                c.already_installed.get(),
                c.installed_now.get(),
                visit.leaflet_given,
                visit.location.source.as_str(),
                point.map(|p| p.lat),
                point.map(|p| p.lon),
                point.and_then(|p| p.accuracy_m),
                visit.notes.as_ref().map(|t| t.as_str()),
                now_ms,
                hash.as_slice(),
            ])?;
            if changed == 0 {
                let held: Option<(i64, Vec<u8>)> = existing
                    .query_row(
                        params![visit.id.uuid().as_bytes().as_slice(), visit.revision.get()],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let held = held.as_ref().map(|(seq, h)| (*seq, h.as_slice()));
                receipts.push(not_inserted_receipt(index, id, revision, held, hash, batch.lang));
                continue;
            }
            let server_seq = tx.last_insert_rowid();
            // The household's figures before this visit, to move it between buckets, and its
            // known location, to judge the visit's.
            let household_id = visit.household.id.uuid();
            type Held = (
                (String, Option<String>, Figures),
                Option<(f64, f64)>,
                Option<(Vec<u8>, i64)>,
            );
            let held_household: Option<Held> = old_household
                .query_row([household_id.as_bytes().as_slice()], |r| {
                    Ok((
                        (
                            r.get(0)?,
                            r.get(1)?,
                            Figures {
                                households: 1,
                                visits: r.get(2)?,
                                smartphones: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
                                already_installed: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
                                installed_now: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
                            },
                        ),
                        r.get::<_, Option<f64>>(6)?.zip(r.get::<_, Option<f64>>(7)?),
                        r.get::<_, Option<Vec<u8>>>(8)?.zip(r.get::<_, Option<i64>>(9)?),
                    ))
                })
                .optional()?;
            let (before, household_at, previous) = match held_household {
                Some((b, at, latest)) => (Some(b), at, latest),
                None => (None, None, None),
            };
            let previous = match previous {
                Some((v, at)) => Some((uuid_from(&v)?, at)),
                None => None,
            };
            let boundary = boundary_of.get(visit.area_code.as_str()).and_then(|b| b.as_deref());
            let mut flags = crate::quality::own_flags(batch, visit, area_path, (household_at, previous), boundary);
            // A household of another area: the visit is kept and flagged for both leaders, and
            // changes nothing of the household, its area's figures or the daily curve.
            let foreign = crate::quality::other_area(before.as_ref().map(|b| b.0.as_str()), visit);
            if foreign {
                flags.push(doorstep_domain::quality::Flag::HouseholdInOtherArea);
            }
            judged.push(crate::quality::Stored {
                server_seq,
                visit,
                flags,
            });
            if foreign {
                receipts.push(Receipt {
                    index: index as u32,
                    id,
                    revision,
                    status: ReceiptStatus::Stored,
                    server_seq: Some(server_seq),
                    error: None,
                });
                continue;
            }
            let new_visit = i64::from(visit.revision.get() == 1);
            if new_visit == 1 {
                // The household's first visit when none was held before it (receive order), as
                // the households' figures count it; the day is the phone's local date.
                let first = before.as_ref().is_none_or(|b| b.2.visits == 0);
                crate::store::tally_day(days, visit.area_code.as_str(), visit, first);
            }
            let home_area = before
                .as_ref()
                .map(|b| b.0.as_str())
                .unwrap_or(visit.area_code.as_str());
            if let Some(path) = areas.get(home_area) {
                let after = Figures {
                    households: 1,
                    visits: before.as_ref().map(|b| b.2.visits).unwrap_or(0) + new_visit,
                    smartphones: i64::from(c.smartphones.get()),
                    already_installed: i64::from(c.already_installed.get()),
                    installed_now: i64::from(c.installed_now.get()),
                };
                let old = before.as_ref().map(|b| (b.1.as_deref().unwrap_or(""), b.2));
                deltas.replace(path, old, (visit.outcome.as_str(), after));
            }
            upsert_household.execute(params![
                visit.household.id.uuid().as_bytes().as_slice(),
                visit.area_code.as_str(),
                visit.household.address.as_ref().map(|t| t.as_str()),
                point.map(|p| p.lat),
                point.map(|p| p.lon),
                *next_change,
                // A later revision corrects a visit; it is not another visit.
                i64::from(visit.revision.get() == 1),
                visit.outcome,
                c.people.get(),
                c.smartphones.get(),
                c.already_installed.get(),
                c.installed_now.get(),
                // A household keeps the cell of its first location, as it keeps the location.
                *cell,
                // The latest-received visit's time (a correction keeps its visit's time).
                visit.visited_at.timestamp_millis(),
                visit.volunteer_id.uuid().as_bytes().as_slice(),
            ])?;
            *next_change += 1;
            receipts.push(Receipt {
                index: index as u32,
                id,
                revision,
                status: ReceiptStatus::Stored,
                server_seq: Some(server_seq),
                error: None,
            });
        }
        write_quality(tx, &batch.rules, judged)?;
        tx.prepare_cached(&sqlite_placeholders(crate::store::DEVICE_SEEN))?
            .execute(params![device.as_bytes().as_slice(), now_ms, batch.clock_skew_ms])?;
    }
    Ok(receipts)
}

fn import_tx(w: &mut Writer, areas: Vec<AreaRecord>) -> Result<ImportSummary, StoreError> {
    let tx = w
        .conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let summary;
    {
        let mut existing: HashMap<String, HeldArea> = HashMap::new();
        {
            let mut st = tx.prepare(&sqlite_placeholders(crate::store::AREAS_HELD))?;
            let rows = st.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            })?;
            for row in rows {
                let (code, rest) = row?;
                existing.insert(code, rest);
            }
        }
        let (rows, planned) = plan_import(&existing, areas)?;
        summary = planned;
        let mut upsert = tx.prepare(&sqlite_placeholders(crate::store::AREA_INSERT))?;
        for a in &rows {
            upsert.execute(params![
                a.code,
                a.parent,
                a.name,
                a.name_search,
                a.sort_key,
                a.division_type,
                a.boundary
            ])?;
        }
        if !rows.is_empty() {
            let mut parent_of: HashMap<String, Option<String>> = HashMap::new();
            let mut st = tx.prepare(&sqlite_placeholders(crate::store::AREA_PARENTS))?;
            for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))? {
                let (c, p) = row?;
                parent_of.insert(c, p);
            }
            let mut update = tx.prepare(&sqlite_placeholders(crate::store::AREA_PATH_UPDATE))?;
            for (code, path, level) in compute_paths(&parent_of)? {
                update.execute(params![code, path, level])?;
            }
            // The tree changed: the rolled-up figures follow it.
            tx.execute_batch(STATS_RECOMPUTE)?;
        }
    }
    tx.commit()?;
    w.areas = area_paths(&w.conn)?;
    w.boundaries.clear();
    Ok(summary)
}

fn area_paths(conn: &Connection) -> Result<HashMap<String, String>, StoreError> {
    let mut st = conn.prepare("SELECT code, path FROM areas")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<Result<HashMap<_, _>, _>>()?)
}

/// Writes the collected figure changes; inside the caller's transaction.
fn apply_stats(tx: &rusqlite::Transaction<'_>, deltas: &StatDeltas) -> Result<(), StoreError> {
    let mut st = tx.prepare_cached(STATS_UPSERT)?;
    for (area, outcome, f) in deltas.rows() {
        st.execute(params![
            area,
            outcome,
            f.households,
            f.visits,
            f.smartphones,
            f.already_installed,
            f.installed_now
        ])?;
    }
    Ok(())
}

fn area_path(conn: &Connection, area: &AreaCode) -> Result<Option<(String, String)>, StoreError> {
    Ok(conn
        .prepare_cached(&sqlite_placeholders(crate::store::AREA_PATH_NAME))?
        .query_row([area.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

fn area_dto(r: &rusqlite::Row<'_>) -> rusqlite::Result<AreaDto> {
    Ok(AreaDto {
        code: r.get(0)?,
        parent: r.get(1)?,
        name: r.get(2)?,
        division_type: r.get(3)?,
        level: r.get(4)?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn import_areas(&self, areas: Vec<AreaRecord>) -> Result<ImportSummary, StoreError> {
        self.write(move |w| import_tx(w, areas)).await
    }

    async fn ingest(&self, batch: IngestBatch) -> Result<Vec<Receipt>, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.ingest_queue
            .send((batch, reply))
            .map_err(|_| StoreError::Task("the writer thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Task("the writer dropped the batch".into()))?
    }

    async fn pull(
        &self,
        area: &AreaCode,
        cursor: i64,
        limit: u32,
        (campaign, now_ms): (&Campaign, i64),
    ) -> Result<Option<PullResponse>, StoreError> {
        let area = area.clone();
        let campaign = campaign.clone();
        self.read(move |conn| {
            let Some((path, _)) = area_path(conn, &area)? else {
                return Ok(None);
            };
            let (lo, hi) = subtree_range(&path);
            let areas = if cursor == 0 {
                let mut st = conn.prepare_cached(&sqlite_placeholders(crate::store::PULL_AREAS))?;
                st.query_map(params![lo, hi], area_dto)?
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                Vec::new()
            };
            let mut st = conn.prepare_cached(&sqlite_placeholders(crate::store::PULL_HOUSEHOLDS))?;
            let households = st
                .query_map(params![lo, hi, cursor, i64::from(limit) + 1], |r| {
                    let latest_outcome: Option<String> = r.get(6)?;
                    let due_at = campaign.revisit_due_at_ms(latest_outcome.as_deref(), r.get(8)?);
                    Ok(HouseholdDto {
                        id: uuid_of(r.get(0)?),
                        area_code: r.get(1)?,
                        address: r.get(2)?,
                        lat: r.get(3)?,
                        lon: r.get(4)?,
                        visits: r.get(5)?,
                        revisit_due: due_at.is_some_and(|at| at <= now_ms),
                        revisit_due_at_ms: due_at,
                        latest_outcome,
                        latest_volunteer_id: r.get::<_, Option<Vec<u8>>>(9)?.map(uuid_of),
                        latest_volunteer: r.get(10)?,
                        latest_visited_at_ms: r.get(8)?,
                        updated_seq: r.get(7)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            static CLAIMS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let mut st = conn.prepare_cached(CLAIMS.get_or_init(|| crate::store::PULL_CLAIMS_SQL.replace('$', "?")))?;
            let claims = st
                .query_map(params![lo, hi, cursor, i64::from(limit) + 1], claim_dto)?
                .collect::<Result<Vec<_>, _>>()?;
            let (households, claims, next_cursor, has_more) =
                crate::store::pull_page(households, claims, cursor, limit);
            Ok(Some(PullResponse {
                areas,
                households,
                claims,
                next_cursor,
                has_more,
            }))
        })
        .await
    }

    async fn add_households(&self, households: Vec<NewHousehold>) -> Result<u64, StoreError> {
        self.write(move |w| {
            let tx = w
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut added = 0;
            let mut next_change = w.next_change;
            let mut deltas = StatDeltas::default();
            {
                let mut st = tx.prepare_cached(
                    "INSERT INTO households (id, area_code, address, lat, lon, updated_seq, h3_cell)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
                )?;
                for h in &households {
                    let Some(path) = w.areas.get(h.area_code.as_str()) else {
                        return Err(StoreError::Import(format!(
                            "household {}: unknown area {}",
                            h.id, h.area_code
                        )));
                    };
                    let n = st.execute(params![
                        h.id.uuid().as_bytes().as_slice(),
                        h.area_code.as_str(),
                        h.address,
                        h.lat,
                        h.lon,
                        next_change,
                        h.lat
                            .zip(h.lon)
                            .and_then(|(lat, lon)| crate::hexagons::fine_cell(lat, lon))
                    ])?;
                    if n > 0 {
                        added += 1;
                        next_change += 1;
                        deltas.apply(
                            path,
                            "",
                            1,
                            Figures {
                                households: 1,
                                ..Figures::default()
                            },
                        );
                    }
                }
            }
            apply_stats(&tx, &deltas)?;
            tx.commit()?;
            w.next_change = next_change;
            Ok(added)
        })
        .await
    }

    async fn give_claim(&self, claim: crate::claims::NewClaim) -> Result<Vec<uuid::Uuid>, StoreError> {
        self.write(move |w| {
            let tx = w
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut next_change = w.next_change;
            let household = claim.household_id.map(|h| h.as_bytes().to_vec());
            let street_key = claim.street.as_ref().map(|s| s.key.clone());
            let held: Vec<Vec<u8>> = match &household {
                Some(h) => tx
                    .prepare_cached("SELECT id FROM claims WHERE household_id = ?1 AND released_at_ms IS NULL")?
                    .query_map([h], |r| r.get(0))?
                    .collect::<Result<_, _>>()?,
                None => tx
                    .prepare_cached(
                        "SELECT id FROM claims
                         WHERE area_code = ?1 AND street_key = ?2 AND household_id IS NULL AND released_at_ms IS NULL",
                    )?
                    .query_map(params![claim.area_code, street_key], |r| r.get(0))?
                    .collect::<Result<_, _>>()?,
            };
            for id in &held {
                tx.execute(
                    "UPDATE claims SET released_at_ms = ?2, updated_seq = ?3 WHERE id = ?1",
                    params![id, claim.now_ms, next_change],
                )?;
                next_change += 1;
            }
            tx.execute(
                "INSERT INTO claims (id, area_code, household_id, street, street_key, volunteer_id, given_by,
                    created_at_ms, updated_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    claim.id.as_bytes().as_slice(),
                    claim.area_code,
                    household,
                    claim.street.as_ref().map(|s| s.name.clone()),
                    street_key,
                    claim.volunteer_id.as_bytes().as_slice(),
                    claim.given_by,
                    claim.now_ms,
                    next_change,
                ],
            )?;
            next_change += 1;
            tx.commit()?;
            // Only after commit, as for visits.
            w.next_change = next_change;
            held.iter().map(|id| uuid_from(id)).collect()
        })
        .await
    }

    async fn release_claim(&self, id: uuid::Uuid, now_ms: i64) -> Result<bool, StoreError> {
        self.write(move |w| {
            let changed = w.conn.execute(
                "UPDATE claims SET released_at_ms = ?2, updated_seq = ?3 WHERE id = ?1 AND released_at_ms IS NULL",
                params![id.as_bytes().as_slice(), now_ms, w.next_change],
            )?;
            // One statement, committed on its own: the number is taken only if it was.
            if changed > 0 {
                w.next_change += 1;
            }
            Ok(changed > 0)
        })
        .await
    }

    async fn claim_households(
        &self,
        areas: Vec<String>,
        households: Vec<uuid::Uuid>,
    ) -> Result<Vec<crate::claims::ClaimHousehold>, StoreError> {
        self.read(move |conn| {
            const COLUMNS: &str = "id, area_code, address, visits, latest_volunteer_id, latest_visited_at_ms";
            let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(Vec<u8>, String, Option<String>, i64, Option<Vec<u8>>, Option<i64>)> {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            };
            let mut raw = Vec::new();
            let mut by_area = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM households WHERE area_code = ?1"))?;
            for area in &areas {
                raw.extend(by_area.query_map([area], row)?.collect::<Result<Vec<_>, _>>()?);
            }
            let mut by_id = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM households WHERE id = ?1"))?;
            for id in &households {
                raw.extend(by_id.query_row([id.as_bytes().as_slice()], row).optional()?);
            }
            let mut out: Vec<crate::claims::ClaimHousehold> = Vec::with_capacity(raw.len());
            for (id, area_code, address, visits, volunteer, at) in raw {
                out.push(crate::claims::ClaimHousehold {
                    id: uuid_from(&id)?,
                    area_code,
                    address,
                    visits,
                    latest_volunteer_id: volunteer.as_deref().map(uuid_from).transpose()?,
                    latest_visited_at_ms: at,
                });
            }
            out.sort_by_key(|h| h.id);
            out.dedup_by_key(|h| h.id);
            Ok(out)
        })
        .await
    }

    async fn grouped_figures(
        &self,
        lo: &str,
        hi: &str,
        group: crate::filter::GroupBy,
        filter: &crate::filter::VisitFilter,
    ) -> Result<Vec<crate::filter::GroupRow>, StoreError> {
        let st = crate::filter::grouped_sql(lo, hi, group, filter);
        self.read(move |conn| crate::rows::sqlite_grouped(conn, &st, group))
            .await
    }

    async fn stream_households(
        &self,
        q: crate::filter::RowQuery,
        sink: tokio::sync::mpsc::Sender<crate::filter::HouseholdRow>,
    ) -> Result<(), StoreError> {
        let (path, st) = (self.path.clone(), crate::filter::households_sql(&q));
        tokio::task::spawn_blocking(move || crate::rows::sqlite_stream_households(&path, &st, &sink))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn stream_visits(
        &self,
        q: crate::filter::RowQuery,
        sink: tokio::sync::mpsc::Sender<VisitDto>,
    ) -> Result<(), StoreError> {
        let (path, st) = (self.path.clone(), crate::filter::visits_sql(&q));
        tokio::task::spawn_blocking(move || crate::rows::sqlite_stream_visits(&path, &st, &sink, visit_row))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

fn claim_dto(r: &rusqlite::Row<'_>) -> rusqlite::Result<doorstep_domain::protocol::ClaimDto> {
    Ok(doorstep_domain::protocol::ClaimDto {
        id: uuid_of(r.get(0)?),
        area_code: r.get(1)?,
        household_id: r.get::<_, Option<Vec<u8>>>(2)?.map(uuid_of),
        street: r.get(3)?,
        street_key: r.get(4)?,
        volunteer_id: uuid_of(r.get(5)?),
        volunteer: r.get(6)?,
        created_at_ms: r.get(7)?,
        released_at_ms: r.get(8)?,
        updated_seq: r.get(9)?,
    })
}

fn uuid_from(bytes: &[u8]) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::from_slice(bytes).map_err(|e| StoreError::Db(format!("stored id: {e}")))
}

/// A row of [`VISIT_COLUMNS`].
pub(crate) fn visit_row(r: &rusqlite::Row<'_>) -> Result<VisitDto, StoreError> {
    let id = |i: usize| -> Result<uuid::Uuid, StoreError> { uuid_from(&r.get::<_, Vec<u8>>(i)?) };
    Ok(visit_dto(
        r.get(0)?,
        id(1)?,
        r.get(2)?,
        id(3)?,
        r.get(4)?,
        id(5)?,
        id(6)?,
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

/// Writes a consistent, compacted copy of the database at `path` to `dest`, while a server may
/// go on writing to it (a read transaction, so writers are not blocked in WAL mode).
pub fn backup(path: &Path, dest: &Path) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    if app_id != APPLICATION_ID {
        return Err(StoreError::Config(format!(
            "{} is not a Doorstep server database",
            path.display()
        )));
    }
    let dest = dest
        .to_str()
        .ok_or_else(|| StoreError::Config("the backup path is not valid UTF-8".into()))?;
    conn.execute("VACUUM INTO ?1", [dest])?;
    Ok(())
}

/// For tests and tools: the ids held for a device, in receive order.
pub fn visit_ids(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let mut st = conn.prepare("SELECT id, revision FROM visits ORDER BY server_seq")?;
    let rows = st.query_map([], |r| Ok((uuid_of(r.get(0)?), r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod h3_cell_migration_tests {
    use super::*;

    /// The step that adds `households.h3_cell` fills it for the households held before it,
    /// wherever it sits in the list.
    #[test]
    fn households_held_before_the_step_get_their_cell() {
        let mut conn = Connection::open_in_memory().unwrap();
        let step = MIGRATIONS
            .iter()
            .position(|s| s.contains(&crate::store::H3_CELL_BACKFILL))
            .unwrap();
        for sql in MIGRATIONS[..step].iter().flat_map(|s| s.iter()) {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", step as i64).unwrap();
        conn.execute_batch(
            "INSERT INTO areas (code, name, name_search, sort_key, level, path) VALUES ('42', 'Hà Tĩnh', 'ha tinh', x'00', 0, '/42/');
             INSERT INTO households (id, area_code, lat, lon, updated_seq) VALUES (x'01', '42', 18.342, 105.905, 1), (x'02', '42', NULL, NULL, 2);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let cells: Vec<Option<i64>> = conn
            .prepare("SELECT h3_cell FROM households ORDER BY updated_seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(cells, [crate::hexagons::fine_cell(18.342, 105.905), None]);
        assert!(cells[0].is_some());
    }
}

#[cfg(test)]
mod latest_visited_at_migration_tests {
    use super::*;

    /// The step that adds `households.latest_visited_at_ms` fills it from each household's
    /// latest-received visit (receive order, not the phones' clocks), wherever it sits in the list.
    #[test]
    fn households_held_before_the_step_get_their_latest_visits_time() {
        let mut conn = Connection::open_in_memory().unwrap();
        let step = MIGRATIONS
            .iter()
            .position(|s| s.contains(&crate::store::LATEST_VISITED_AT_BACKFILL))
            .unwrap();
        for sql in MIGRATIONS[..step].iter().flat_map(|s| s.iter()) {
            if *sql == crate::store::H3_CELL_BACKFILL {
                continue;
            }
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", step as i64).unwrap();
        let visit = |seq: i64, household: &str, at_ms: i64| {
            format!(
                "INSERT INTO visits (server_seq, id, revision, device_id, device_seq, volunteer_id, household_id,
                    area_code, visited_at_ms, utc_offset_min, outcome, people, smartphones, already_installed,
                    installed_now, leaflet_given, loc_source, received_at_ms, content_hash)
                 VALUES ({seq}, x'0{seq}', 1, x'aa', {seq}, x'b{seq}', {household}, '42', {at_ms}, 420, 'not_home',
                    0, 0, 0, 0, 0, 'none', 0, x'00');"
            )
        };
        conn.execute_batch(&format!(
            "INSERT INTO areas (code, name, name_search, sort_key, level, path) VALUES ('42', 'Hà Tĩnh', 'ha tinh', x'00', 0, '/42/');
             INSERT INTO households (id, area_code, updated_seq, visits, latest_outcome)
                VALUES (x'01', '42', 1, 2, 'not_home'), (x'02', '42', 2, 0, NULL);
             {}{}",
            visit(1, "x'01'", 5_000),
            // Received later, with an earlier time on its phone: still the latest.
            visit(2, "x'01'", 3_000),
        ))
        .unwrap();
        migrate(&mut conn).unwrap();
        let times: Vec<Option<i64>> = conn
            .prepare("SELECT latest_visited_at_ms FROM households ORDER BY updated_seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(times, [Some(3_000), None]);
        // The later step that adds the latest volunteer fills it the same way.
        let volunteers: Vec<Option<Vec<u8>>> = conn
            .prepare("SELECT latest_volunteer_id FROM households ORDER BY updated_seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(volunteers, [Some(vec![0xb2]), None]);
    }
}

#[cfg(test)]
mod reader_pool_tests {
    use super::*;

    #[test]
    fn a_read_takes_an_idle_reader_rather_than_queue_behind_a_busy_one() {
        let readers: Vec<Mutex<Connection>> = (0..3)
            .map(|_| Mutex::new(Connection::open_in_memory().unwrap()))
            .collect();
        let busy0 = readers[0].lock().unwrap();
        let busy1 = readers[1].lock().unwrap();
        // Round-robin would have waited on reader 0; the idle reader 2 is taken instead.
        let got = free_reader(&readers, 0);
        assert!(readers[2].try_lock().is_err(), "reader 2 is the one taken");
        drop(got);
        drop((busy0, busy1));
        // All idle: the one at the start (4 mod 3).
        let got = free_reader(&readers, 4);
        assert!(readers[1].try_lock().is_err());
        assert!(readers[0].try_lock().is_ok() && readers[2].try_lock().is_ok());
        drop(got);
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Float(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::Uuid(u) => ToSqlOutput::Borrowed(ValueRef::Blob(u.as_bytes())),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(*b as i64)),
        })
    }
}

fn value_of(v: rusqlite::types::ValueRef<'_>) -> Result<Value, StoreError> {
    use rusqlite::types::ValueRef;
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Text(
            String::from_utf8(t.to_vec()).map_err(|e| StoreError::Db(format!("text that is not UTF-8: {e}")))?,
        ),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    })
}

/// Runs a prepared statement: its rows when it answers columns, else the rows it changed.
fn run(st: &mut rusqlite::CachedStatement<'_>, params: &[Value]) -> Result<Done, StoreError> {
    let params = rusqlite::params_from_iter(params.iter());
    if st.column_count() == 0 {
        return Ok(Done {
            rows: Vec::new(),
            changed: st.execute(params)? as u64,
        });
    }
    let width = st.column_count();
    let mut rows = Vec::new();
    let mut answer = st.query(params)?;
    while let Some(r) = answer.next()? {
        rows.push(Row((0..width)
            .map(|i| value_of(r.get_ref(i)?))
            .collect::<Result<_, StoreError>>()?));
    }
    Ok(Done {
        changed: rows.len() as u64,
        rows,
    })
}

#[async_trait]
impl Db for SqliteStore {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        let sql = sqlite_placeholders(sql);
        self.read(move |conn| Ok(run(&mut conn.prepare_cached(&sql)?, &params)?.rows))
            .await
    }

    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        let sql = sqlite_placeholders(sql);
        self.write(move |w| Ok(run(&mut w.conn.prepare_cached(&sql)?, &params)?.changed))
            .await
    }

    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        let (commands, mut received) = tokio::sync::mpsc::channel::<TxCommand>(1);
        let (opened, open) = tokio::sync::oneshot::channel::<Result<(), StoreError>>();
        let writer = self.writer.clone();
        // The transaction lives on a blocking thread that holds the writer; its statements
        // arrive by channel. A dropped sender ends it, and an uncommitted transaction rolls back.
        tokio::task::spawn_blocking(move || {
            let mut w = lock(&writer);
            let tx = match w
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            {
                Ok(tx) => tx,
                Err(e) => {
                    let _ = opened.send(Err(e.into()));
                    return;
                }
            };
            let _ = opened.send(Ok(()));
            while let Some(command) = received.blocking_recv() {
                match command {
                    TxCommand::Run { sql, params, reply } => {
                        let done = tx
                            .prepare_cached(&sqlite_placeholders(&sql))
                            .map_err(StoreError::from)
                            .and_then(|mut st| run(&mut st, &params));
                        let _ = reply.send(done);
                    }
                    TxCommand::Commit(reply) => {
                        let _ = reply.send(tx.commit().map_err(StoreError::from));
                        return;
                    }
                }
            }
        });
        open.await.map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(Box::new(SqliteTx { commands }))
    }
}

enum TxCommand {
    Run {
        sql: String,
        params: Vec<Value>,
        reply: tokio::sync::oneshot::Sender<Result<Done, StoreError>>,
    },
    Commit(tokio::sync::oneshot::Sender<Result<(), StoreError>>),
}

/// A transaction on the writer's thread ([`Db::begin`]).
struct SqliteTx {
    commands: tokio::sync::mpsc::Sender<TxCommand>,
}

impl SqliteTx {
    async fn ask<T>(
        &self,
        command: impl FnOnce(tokio::sync::oneshot::Sender<Result<T, StoreError>>) -> TxCommand,
    ) -> Result<T, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let gone = |_| StoreError::Task("the transaction's thread stopped".into());
        self.commands.send(command(reply)).await.map_err(gone)?;
        answer
            .await
            .map_err(|_| StoreError::Task("the transaction's thread stopped".into()))?
    }
}

#[async_trait]
impl Tx for SqliteTx {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn run(&mut self, sql: &str, params: Vec<Value>) -> Result<Done, StoreError> {
        let sql = sql.to_string();
        self.ask(|reply| TxCommand::Run { sql, params, reply }).await
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.ask(TxCommand::Commit).await
    }
}
