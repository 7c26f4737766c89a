//! Remote wipe on revocation (issue 9, part 4).
//!
//! When the server says this phone was revoked (`GET /api/v1/devices/me` answers `revoked`), the
//! phone keeps that here ([`DeviceStore::set_revoked`]), uploads what it still holds (a revoked
//! token may still push visits and venue visits and upload photos, and read nothing), and only
//! when nothing is left to send erases its data ([`DeviceStore::erase_if_drained`]):
//!
//! - nothing pending: every visit, venue visit and photo has a receipt from the server (so a
//!   network that drops mid-upload erases nothing: the entries are still pending);
//! - nothing refused still waiting for the volunteer: a record the server refused on its merits is
//!   kept (invariant 5) and the erase waits, the app showing those records, because the server
//!   does not hold them and erasing them would lose what was collected. A refused visit the
//!   volunteer fixed (its correction sent) no longer holds the erase up.
//!
//! The erase writes a small marker file first (when and why the phone was revoked, when it was
//! erased: no collected data), then deletes every row (with `secure_delete`, so freed pages are
//! zeroed), checkpoints the WAL away, closes the database and removes its files (the database,
//! `-wal`, `-shm`, `-journal`; photo bytes live in the database), and opens a fresh, empty store
//! at the same path: a new device id and sequence counter, no token. The app shows the marker
//! until the phone is enrolled again with a new code.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use doorstep_domain::protocol::RevocationDto;
use rusqlite::{Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::{DeviceError, DeviceStore, get_meta, put_meta};

/// Meta key holding the server's word that this phone was revoked (JSON of [`RevocationDto`]):
/// upload what is held, then erase.
pub const META_REVOKED: &str = "revoked";

/// What is left of an erased phone's data: why it was erased, for the app to say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WipeMarker {
    /// When the leader revoked the phone (RFC 3339, the server's).
    pub revoked_at: String,
    /// Why, if the leader said.
    #[serde(default)]
    pub reason: Option<String>,
    /// When this phone erased its data (RFC 3339, the phone's clock).
    pub wiped_at: String,
    /// How many records the server had acknowledged before the erase (visits, venue visits,
    /// photos), for the message "its data was sent to the server".
    #[serde(default)]
    pub records_sent: u64,
}

/// What still holds the erase up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WipeBlockers {
    /// Visits, venue visits and photos not yet acknowledged by the server.
    pub pending: u64,
    /// Records the server refused that the volunteer has not fixed (visits, venue visits, photos).
    pub refused: u64,
}

impl WipeBlockers {
    pub fn none(&self) -> bool {
        self.pending == 0 && self.refused == 0
    }
}

/// What [`DeviceStore::erase_if_drained`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WipeOutcome {
    /// The server never said this phone was revoked: nothing done.
    NotRevoked,
    /// Records still wait (pending or refused): nothing erased.
    Waiting(WipeBlockers),
    /// The data is gone; the marker says why.
    Erased(WipeMarker),
}

/// The marker file kept next to the database `db` (`doorstep.db` → `doorstep.db.wiped.json`).
pub fn marker_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".wiped.json");
    db.with_file_name(name)
}

/// The database's own files: itself and SQLite's companions.
fn database_files(db: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            name.push(suffix);
            db.with_file_name(name)
        })
        .collect()
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> DeviceError {
    DeviceError::Corrupt(format!("{what} {}: {e}", path.display()))
}

/// Writes `marker` durably: a temporary file synced, then renamed over the marker.
fn write_marker(path: &Path, marker: &WipeMarker) -> Result<(), DeviceError> {
    let tmp = path.with_extension("json.tmp");
    let json = serde_json::to_vec_pretty(marker)?;
    let mut f = std::fs::File::create(&tmp).map_err(|e| io_error("cannot write", &tmp, e))?;
    f.write_all(&json).map_err(|e| io_error("cannot write", &tmp, e))?;
    f.sync_all().map_err(|e| io_error("cannot sync", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error("cannot rename to", path, e))?;
    Ok(())
}

impl DeviceStore {
    /// The database file this store works on (`None` for an in-memory one).
    fn db_path(&self) -> Option<PathBuf> {
        self.conn.path().filter(|p| !p.is_empty()).map(PathBuf::from)
    }

    /// Keeps (`Some`) or forgets (`None`) the server's word that this phone was revoked.
    pub fn set_revoked(&mut self, revoked: Option<&RevocationDto>) -> Result<(), DeviceError> {
        match revoked {
            Some(r) => {
                let json = serde_json::to_string(r)?;
                if get_meta(&self.conn, META_REVOKED)?.as_deref() != Some(json.as_str()) {
                    put_meta(&self.conn, META_REVOKED, &json)?;
                    tracing::warn!(revoked_at = %r.revoked_at, "the server revoked this phone: upload, then erase");
                }
            }
            None => {
                self.conn.execute("DELETE FROM meta WHERE key = ?1", [META_REVOKED])?;
            }
        }
        Ok(())
    }

    /// The server's word that this phone was revoked, if it said so.
    pub fn revoked(&self) -> Result<Option<RevocationDto>, DeviceError> {
        match get_meta(&self.conn, META_REVOKED)? {
            Some(json) if !json.is_empty() => Ok(Some(serde_json::from_str(&json)?)),
            _ => Ok(None),
        }
    }

    /// What still holds the erase up: records not acknowledged, and refusals not fixed.
    pub fn wipe_blockers(&self) -> Result<WipeBlockers, DeviceError> {
        blockers(&self.conn)
    }

    /// The marker an earlier erase left, if any.
    pub fn wipe_marker(&self) -> Result<Option<WipeMarker>, DeviceError> {
        let Some(db) = self.db_path() else {
            return Ok(None);
        };
        read_marker(&db)
    }

    /// Forgets the marker (the phone was enrolled again).
    pub fn clear_wipe_marker(&self) -> Result<(), DeviceError> {
        if let Some(db) = self.db_path() {
            let path = marker_path(&db);
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::info!("wipe marker cleared"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("cannot remove", &path, e)),
            }
        }
        Ok(())
    }

    /// Erases this phone's data if the server said it was revoked and nothing is left to send
    /// or to fix; otherwise changes nothing. See the module's documentation for the order of the
    /// steps. After [`WipeOutcome::Erased`] this store is a fresh, empty one at the same path.
    pub fn erase_if_drained(&mut self, now: DateTime<Utc>) -> Result<WipeOutcome, DeviceError> {
        let Some(revoked) = self.revoked()? else {
            return Ok(WipeOutcome::NotRevoked);
        };
        let Some(db) = self.db_path() else {
            return Err(DeviceError::Corrupt("an in-memory store cannot be erased".into()));
        };
        // Checked and emptied in one write transaction: nothing can be queued in between.
        self.conn.execute_batch("PRAGMA secure_delete = ON;")?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let waiting = blockers(&tx)?;
        if !waiting.none() {
            tracing::info!(pending = waiting.pending, refused = waiting.refused, "revoked: erase waits");
            return Ok(WipeOutcome::Waiting(waiting));
        }
        let records_sent: i64 = tx.query_row(
            "SELECT (SELECT count(*) FROM visits) + (SELECT count(*) FROM venue_visits)
                  + (SELECT count(*) FROM photos)",
            [],
            |r| r.get(0),
        )?;
        let marker = WipeMarker {
            revoked_at: revoked.revoked_at,
            reason: revoked.reason,
            wiped_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            records_sent: u64::try_from(records_sent).unwrap_or(0),
        };
        // The marker first: should the phone die after it, the token is still held, so the next
        // sync hears "revoked" again and finishes the erase.
        write_marker(&marker_path(&db), &marker)?;
        let tables: Vec<String> = {
            let mut st =
                tx.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?;
            st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        tx.execute_batch("PRAGMA defer_foreign_keys = ON;")?;
        for table in &tables {
            // Names come from sqlite_master, quoted as identifiers.
            tx.execute(&format!("DELETE FROM \"{}\"", table.replace('"', "\"\"")), [])?;
        }
        tx.commit()?;
        // Rows are gone from the file (secure_delete zeroes freed pages); move the WAL's copies
        // into it and truncate the WAL, then drop the files.
        if let Err(e) = self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "checkpoint before the erase failed; the files are removed anyway");
        }
        let old = std::mem::replace(&mut self.conn, Connection::open_in_memory()?);
        if let Err((_, e)) = old.close() {
            tracing::warn!(error = %e, "closing the database before the erase");
        }
        for file in database_files(&db) {
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // Its rows are deleted already; a file left is empty of them.
                Err(e) => tracing::warn!(file = %file.display(), error = %e, "could not remove a database file"),
            }
        }
        // The key goes with the data: what flash storage keeps of the old pages stays unreadable.
        // The fresh store below makes a new one. (A phone's own key store given to `open_with`
        // would be asked to forget here too; none is written yet.)
        if let Err(e) = super::platform_keys(&db).forget() {
            tracing::warn!(error = %e, "could not remove the erased database's key");
        }
        *self = if self.platform_keys { DeviceStore::open_platform(&db)? } else { DeviceStore::open(&db)? };
        tracing::warn!(revoked_at = %marker.revoked_at, records_sent = marker.records_sent, "revoked phone erased");
        Ok(WipeOutcome::Erased(marker))
    }
}

/// The marker left next to the database `db`, if any; an unreadable one counts as a marker
/// without details rather than none (the data is gone either way).
pub fn read_marker(db: &Path) -> Result<Option<WipeMarker>, DeviceError> {
    let path = marker_path(db);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "wipe marker unreadable");
            WipeMarker { revoked_at: String::new(), reason: None, wiped_at: String::new(), records_sent: 0 }
        }))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("cannot read", &path, e)),
    }
}

fn blockers(conn: &Connection) -> Result<WipeBlockers, DeviceError> {
    let (pending, refused): (i64, i64) = conn.query_row(
        "SELECT (SELECT count(*) FROM outbox WHERE state = 'pending')
              + (SELECT count(*) FROM venue_outbox WHERE state = 'pending')
              + (SELECT count(*) FROM photos WHERE state = 'pending'),
                (SELECT count(*) FROM outbox o WHERE o.state = 'rejected'
                   AND NOT EXISTS (SELECT 1 FROM replaced r WHERE r.device_seq = o.device_seq))
              + (SELECT count(*) FROM venue_outbox WHERE state = 'rejected')
              + (SELECT count(*) FROM photos WHERE state = 'rejected')",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(WipeBlockers { pending: u64::try_from(pending).unwrap_or(0), refused: u64::try_from(refused).unwrap_or(0) })
}
