//! The SQLite implementation of [`Store`]: one writer connection (SQLite has one writer at a
//! time anyway) and a few readers, all in WAL mode with `synchronous=FULL`, because a receipt
//! promises the record survives a power cut.

mod ingest;

use ingest::*;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::db::migrations::{Backfill, Engine};
use crate::db::{Db, Dialect, Done, Row, Tx, Value, sqlite_placeholders};
use async_trait::async_trait;
use doorstep_domain::Campaign;
use doorstep_domain::area::AreaRecord;
use doorstep_domain::error::{ErrorKind, FieldError};
use doorstep_domain::protocol::{AreaDto, HouseholdDto, PullResponse, Receipt};
use doorstep_domain::values::AreaCode;
use rusqlite::{Connection, OptionalExtension, params};

pub use crate::db::ingest::content_hash;
use crate::db::ingest::{
    Figures, Incoming, IngestBatch, STATS_RECOMPUTE, STATS_UPSERT, StatDeltas, not_inserted_receipt, rejected,
};
use crate::store::{
    HeldArea, ImportSummary, NewHousehold, Store, StoreError, compute_paths, plan_import, subtree_range, visit_dto,
};
use doorstep_domain::protocol::VisitDto;

/// `PRAGMA application_id` of a Doorstep server database ("DSRV"), so a foreign file is refused.
const APPLICATION_ID: i32 = 0x4453_5256;

/// The schema the ingest benchmark compares against: the same tables, so "raw" means the same
/// rows through the same indexes with nothing else in the way.
pub fn schema_sql() -> String {
    crate::db::migrations::sqlite_base()
}

struct Writer {
    conn: Connection,
    /// The next change number for households (the pull cursor). Only the writer advances it.
    next_change: i64,
    /// Area codes held, with their paths: validating a visit's area and finding its ancestors
    /// for the figures cost no query.
    areas: HashMap<String, String>,
    /// Parsed area boundaries for the `outside_area` flag; cleared when areas are imported.
    boundaries: crate::db::quality::Boundaries,
}

type Reply = tokio::sync::oneshot::Sender<Result<Vec<Receipt>, StoreError>>;

pub struct SqliteStore {
    writer: Arc<Mutex<Writer>>,
    /// Push batches for the writer thread; see [`ingest_thread`].
    ingest_queue: std::sync::mpsc::Sender<(IngestBatch, Reply)>,
    /// What the writer thread shares with `/metrics`.
    writer_load: Arc<WriterLoad>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: AtomicUsize,
    path: PathBuf,
    /// Dropping it stops the checkpointer thread.
    _checkpointer: std::sync::mpsc::Sender<()>,
    /// Held while the store is open; see [`SqliteStore::open`].
    _lock: std::fs::File,
}

/// The writer's queue depth and who hears its commit times.
#[derive(Default)]
struct WriterLoad {
    queued: std::sync::atomic::AtomicI64,
    timer: std::sync::RwLock<Option<crate::db::CommitTimer>>,
}

/// The one thread that stores push batches. It takes every batch that queued while it was busy
/// and stores them in one transaction (group commit), so the commit's fsync is shared; and, being
/// one long-lived thread, it keeps SQLite's pages warm in its core's cache.
fn ingest_thread(
    writer: Arc<Mutex<Writer>>, load: Arc<WriterLoad>,
) -> Result<std::sync::mpsc::Sender<(IngestBatch, Reply)>, StoreError> {
    let (queue, jobs) = std::sync::mpsc::channel::<(IngestBatch, Reply)>();
    std::thread::Builder::new()
        .name("doorstep-writer".into())
        .spawn(move || {
            // Ends when the store, and so the sending side, is dropped.
            while let Ok(first) = jobs.recv() {
                let mut group = vec![first];
                group.extend(jobs.try_iter());
                load.queued.fetch_sub(group.len() as i64, std::sync::atomic::Ordering::Relaxed);
                let (batches, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
                let mut w = lock(&writer);
                let started = std::time::Instant::now();
                // A panic here must not stop all storing: the transaction rolls back as it
                // unwinds, the senders hear of an error (their devices send again), and the
                // thread goes on with the next batches.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ingest_group(&mut w, &batches)))
                    .unwrap_or_else(|_| Err(StoreError::Task("storing the batch panicked".into())));
                if result.is_ok()
                    && let Some(timer) = load.timer.read().unwrap_or_else(|e| e.into_inner()).as_ref()
                {
                    timer(started.elapsed());
                }
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
    uuid::Uuid::from_slice(&bytes).map(|u| u.to_string()).unwrap_or_default()
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
            Err(std::fs::TryLockError::WouldBlock) => return Err(StoreError::InUse(path.to_path_buf())),
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
        let next_change: i64 =
            conn.query_row("SELECT COALESCE(MAX(updated_seq), 0) + 1 FROM households", [], |r| r.get(0))?;
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
            boundaries: crate::db::quality::Boundaries::new(None),
        }));
        let writer_load = Arc::new(WriterLoad::default());
        Ok(SqliteStore {
            writer: writer.clone(),
            ingest_queue: ingest_thread(writer.clone(), writer_load.clone())?,
            writer_load,
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
        &self, f: impl FnOnce(&mut Writer) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || f(&mut lock(&writer))).await.map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn read<T: Send + 'static>(
        &self, f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.readers.clone();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || f(&free_reader(&readers, start)))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// Fills in the cells of the households held (in the migration that adds the column, inside
/// its transaction). Returns how many were filled.
fn backfill_h3_cells(conn: &rusqlite::Connection) -> Result<u64, StoreError> {
    let rows: Vec<(i64, f64, f64)> = conn
        .prepare(
            "SELECT rowid, lat, lon FROM households WHERE lat IS NOT NULL AND lon IS NOT NULL AND h3_cell IS NULL",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut update = conn.prepare("UPDATE households SET h3_cell = ?2 WHERE rowid = ?1")?;
    let mut filled = 0;
    for (rowid, lat, lon) in rows {
        if let Some(cell) = crate::db::ingest::fine_cell(lat, lon) {
            update.execute(rusqlite::params![rowid, cell])?;
            filled += 1;
        }
    }
    tracing::info!(filled, "households given their H3 cell");
    Ok(filled)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let versions = crate::db::migrations::versions(Engine::Sqlite);
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if version > versions.len() {
        return Err(StoreError::Config(format!(
            "the database is at schema version {version}, newer than this program knows ({}); upgrade doorstep",
            versions.len()
        )));
    }
    for (i, step) in versions.iter().enumerate().skip(version) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for sql in step.statements(Engine::Sqlite) {
            tx.execute_batch(&sql)?;
        }
        match step.then {
            Some(Backfill::AreaStats) => tx.execute_batch(STATS_RECOMPUTE)?,
            Some(Backfill::H3Cells) => drop(backfill_h3_cells(&tx)?),
            None => {}
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, name = step.name, "migrated server database");
    }
    Ok(())
}

fn area_dto(r: &rusqlite::Row<'_>) -> rusqlite::Result<AreaDto> {
    Ok(AreaDto { code: r.get(0)?, parent: r.get(1)?, name: r.get(2)?, division_type: r.get(3)?, level: r.get(4)? })
}

#[async_trait]
impl Store for SqliteStore {
    async fn import_areas(&self, areas: Vec<AreaRecord>) -> Result<ImportSummary, StoreError> {
        self.write(move |w| import_tx(w, areas)).await
    }

    async fn ingest(&self, batch: IngestBatch) -> Result<Vec<Receipt>, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.writer_load.queued.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.ingest_queue.send((batch, reply)).is_err() {
            self.writer_load.queued.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            return Err(StoreError::Task("the writer thread has stopped".into()));
        }
        answer.await.map_err(|_| StoreError::Task("the writer dropped the batch".into()))?
    }

    async fn pull(
        &self, area: &AreaCode, cursor: i64, limit: u32, (campaign, now_ms): (&Campaign, i64),
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
                st.query_map(params![lo, hi], area_dto)?.collect::<Result<Vec<_>, _>>()?
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
            Ok(Some(PullResponse { areas, households, claims, next_cursor, has_more }))
        })
        .await
    }

    async fn add_households(&self, households: Vec<NewHousehold>) -> Result<u64, StoreError> {
        self.write(move |w| {
            let tx = w.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
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
                        return Err(StoreError::Import(format!("household {}: unknown area {}", h.id, h.area_code)));
                    };
                    let n = st.execute(params![
                        h.id.uuid().as_bytes().as_slice(),
                        h.area_code.as_str(),
                        h.address,
                        h.lat,
                        h.lon,
                        next_change,
                        h.lat.zip(h.lon).and_then(|(lat, lon)| crate::db::ingest::fine_cell(lat, lon))
                    ])?;
                    if n > 0 {
                        added += 1;
                        next_change += 1;
                        deltas.apply(path, "", 1, Figures { households: 1, ..Figures::default() });
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

    async fn give_claim(&self, claim: crate::store::NewClaim) -> Result<Vec<uuid::Uuid>, StoreError> {
        self.write(move |w| {
            let tx = w.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
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
        &self, areas: Vec<String>, households: Vec<uuid::Uuid>,
    ) -> Result<Vec<crate::store::ClaimHousehold>, StoreError> {
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
            let mut out: Vec<crate::store::ClaimHousehold> = Vec::with_capacity(raw.len());
            for (id, area_code, address, visits, volunteer, at) in raw {
                out.push(crate::store::ClaimHousehold {
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
        &self, lo: &str, hi: &str, group: crate::db::filter::GroupBy, filter: &crate::db::filter::VisitFilter,
    ) -> Result<Vec<crate::db::filter::GroupRow>, StoreError> {
        let st = crate::db::filter::grouped_sql(lo, hi, group, filter);
        self.read(move |conn| crate::db::rows::sqlite_grouped(conn, &st, group)).await
    }

    async fn stream_households(
        &self, q: crate::db::filter::RowQuery, sink: tokio::sync::mpsc::Sender<crate::db::filter::HouseholdRow>,
    ) -> Result<(), StoreError> {
        let (path, st) = (self.path.clone(), crate::db::filter::households_sql(&q));
        tokio::task::spawn_blocking(move || crate::db::rows::sqlite_stream_households(&path, &st, &sink))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    async fn stream_visits(
        &self, q: crate::db::filter::RowQuery, sink: tokio::sync::mpsc::Sender<VisitDto>,
    ) -> Result<(), StoreError> {
        let (path, st) = (self.path.clone(), crate::db::filter::visits_sql(&q));
        tokio::task::spawn_blocking(move || crate::db::rows::sqlite_stream_visits(&path, &st, &sink, visit_row))
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
    let who = (r.get(0)?, id(1)?, r.get(2)?, id(3)?, r.get(4)?, id(5)?, id(6)?, r.get(7)?, r.get(8)?);
    let what = (r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?, r.get(14)?, r.get(15)?);
    Ok(visit_dto(
        who,
        (what, (r.get(16)?, r.get(17)?, r.get(18)?, r.get(19)?, r.get(20)?, r.get(21)?, r.get(22)?, r.get(23)?)),
    ))
}

/// Writes a consistent, compacted copy of the database at `path` to `dest`, while a server may
/// go on writing to it (a read transaction, so writers are not blocked in WAL mode).
pub fn backup(path: &Path, dest: &Path) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    if app_id != APPLICATION_ID {
        return Err(StoreError::Config(format!("{} is not a Doorstep server database", path.display())));
    }
    let dest = dest.to_str().ok_or_else(|| StoreError::Config("the backup path is not valid UTF-8".into()))?;
    conn.execute("VACUUM INTO ?1", [dest])?;
    Ok(())
}

/// For tests and tools: the ids held for a device, in receive order.
pub fn visit_ids(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let mut st = conn.prepare("SELECT id, revision FROM visits ORDER BY server_seq")?;
    let rows = st.query_map([], |r| Ok((uuid_of(r.get(0)?), r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
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
        return Ok(Done { rows: Vec::new(), changed: st.execute(params)? as u64 });
    }
    let width = st.column_count();
    let mut rows = Vec::new();
    let mut answer = st.query(params)?;
    while let Some(r) = answer.next()? {
        rows.push(Row((0..width).map(|i| value_of(r.get_ref(i)?)).collect::<Result<_, StoreError>>()?));
    }
    Ok(Done { changed: rows.len() as u64, rows })
}

#[async_trait]
impl Db for SqliteStore {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn load(&self) -> crate::db::Load {
        let queued = self.writer_load.queued.load(std::sync::atomic::Ordering::Relaxed);
        crate::db::Load { writer_queue: queued.max(0), ..Default::default() }
    }

    fn time_commits(&self, timer: crate::db::CommitTimer) {
        *self.writer_load.timer.write().unwrap_or_else(|e| e.into_inner()) = Some(timer);
    }

    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        let sql = sqlite_placeholders(sql);
        self.read(move |conn| Ok(run(&mut conn.prepare_cached(&sql)?, &params)?.rows)).await
    }

    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        let sql = sqlite_placeholders(sql);
        self.write(move |w| Ok(run(&mut w.conn.prepare_cached(&sql)?, &params)?.changed)).await
    }

    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        let (commands, mut received) = tokio::sync::mpsc::channel::<TxCommand>(1);
        let (opened, open) = tokio::sync::oneshot::channel::<Result<(), StoreError>>();
        let writer = self.writer.clone();
        // The transaction lives on a blocking thread that holds the writer; its statements
        // arrive by channel. A dropped sender ends it, and an uncommitted transaction rolls back.
        tokio::task::spawn_blocking(move || {
            let mut w = lock(&writer);
            let tx = match w.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
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
    Run { sql: String, params: Vec<Value>, reply: tokio::sync::oneshot::Sender<Result<Done, StoreError>> },
    Commit(tokio::sync::oneshot::Sender<Result<(), StoreError>>),
}

/// A transaction on the writer's thread ([`Db::begin`]).
struct SqliteTx {
    commands: tokio::sync::mpsc::Sender<TxCommand>,
}

impl SqliteTx {
    async fn ask<T>(
        &self, command: impl FnOnce(tokio::sync::oneshot::Sender<Result<T, StoreError>>) -> TxCommand,
    ) -> Result<T, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let gone = |_| StoreError::Task("the transaction's thread stopped".into());
        self.commands.send(command(reply)).await.map_err(gone)?;
        answer.await.map_err(|_| StoreError::Task("the transaction's thread stopped".into()))?
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

#[cfg(test)]
mod h3_cell_migration_tests {
    use super::*;

    /// The step that adds `households.h3_cell` fills it for the households held before it,
    /// wherever it sits in the list.
    #[test]
    fn households_held_before_the_step_get_their_cell() {
        let mut conn = Connection::open_in_memory().unwrap();
        let versions = crate::db::migrations::versions(Engine::Sqlite);
        let step = versions.iter().position(|v| v.then == Some(Backfill::H3Cells)).unwrap();
        for sql in versions[..step].iter().flat_map(|v| v.statements(Engine::Sqlite)) {
            conn.execute_batch(&sql).unwrap();
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
        assert_eq!(cells, [crate::db::ingest::fine_cell(18.342, 105.905), None]);
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
        let versions = crate::db::migrations::versions(Engine::Sqlite);
        let step = versions.iter().position(|v| v.name.ends_with("_latest_visited_at")).unwrap();
        for sql in versions[..step].iter().flat_map(|v| v.statements(Engine::Sqlite)) {
            conn.execute_batch(&sql).unwrap();
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
        let readers: Vec<Mutex<Connection>> =
            (0..3).map(|_| Mutex::new(Connection::open_in_memory().unwrap())).collect();
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
