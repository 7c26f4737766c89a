//! The phone's database encrypted at rest: SQLCipher keyed with a random 256-bit raw key (no
//! passphrase, so no key derivation at open), kept by a [`KeyStore`]: the platform's secure
//! store where the shell provides one, else a file readable only by the user beside the
//! database ([`KeyFile`]).
//!
//! A database from before encryption (plain SQLite, perhaps with visits not yet sent) is
//! converted in place at its first open: exported into a new encrypted file, verified, then
//! renamed over the old one, so an interrupted conversion leaves either the old plain file or the
//! complete encrypted one.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use zeroize::Zeroizing;

use super::DeviceError;

/// The first 16 bytes of every plain SQLite file; an encrypted one starts with its random salt.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A device database's key: 32 random bytes. Wiped from memory when dropped; its `Debug` never
/// shows it and it has no `Display`.
pub struct DbKey(Zeroizing<[u8; 32]>);

impl DbKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<DbKey, KeyError> {
        use rand::TryRngCore;
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.try_fill_bytes(&mut bytes[..]).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(DbKey(bytes))
    }

    /// A key kept elsewhere (a platform key store gives back what it was given).
    pub fn from_bytes(bytes: [u8; 32]) -> DbKey {
        DbKey(Zeroizing::new(bytes))
    }

    /// The key itself, for a [`KeyStore`] to keep.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    pub(super) fn hex(&self) -> Zeroizing<String> {
        use std::fmt::Write as _;
        let mut s = Zeroizing::new(String::with_capacity(64));
        for b in self.0.iter() {
            // Writing to a String cannot fail.
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    pub(super) fn parse_hex(text: &str) -> Option<DbKey> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(DbKey(bytes))
    }

    /// SQLCipher's raw-key form, `x'<64 hex digits>'`.
    fn raw_key_literal(&self) -> Zeroizing<String> {
        let hex = self.hex();
        let mut s = Zeroizing::new(String::with_capacity(67));
        s.push_str("x'");
        s.push_str(&hex);
        s.push('\'');
        s
    }
}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the database key {path} could not be read or written: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not a database key this app wrote (64 hex digits); it was left as it is")]
    Malformed(PathBuf),
    /// [`KeyStore::save_new`] found a key already held; it is kept.
    #[error("a database key is held already")]
    Exists,
    #[error("the system's random source failed: {0}")]
    Random(String),
    /// A platform key store (Android Keystore, iOS Keychain) failed.
    #[error("the platform's key store: {0}")]
    Platform(String),
}

/// Where a device database's key is kept. The app's shell gives one backed by the platform's
/// secure store where it has one (Android Keystore, iOS Keychain: a plugin); [`KeyFile`] is the
/// fallback, and what tests, the simulator and desktops use.
pub trait KeyStore: Send + Sync {
    /// The key held, or `None` when none was ever made.
    fn load(&self) -> Result<Option<DbKey>, KeyError>;
    /// Keeps a new key, durably before it returns (the database is encrypted with it next).
    /// Never replaces a key held already: answers [`KeyError::Exists`] then.
    fn save_new(&self, key: &DbKey) -> Result<(), KeyError>;
    /// Forgets the key (a wipe): whatever is left of the database becomes unreadable.
    fn forget(&self) -> Result<(), KeyError>;
    /// Where the key is, for log lines and messages (never the key).
    fn describe(&self) -> String;
}

/// The key held, or a new one made and kept; a key held already is never replaced.
pub fn load_or_create(keys: &dyn KeyStore) -> Result<DbKey, KeyError> {
    if let Some(key) = keys.load()? {
        return Ok(key);
    }
    let key = DbKey::generate()?;
    match keys.save_new(&key) {
        Ok(()) => {
            tracing::info!(keys = %keys.describe(), "new device database key kept");
            Ok(key)
        }
        // Made by another open between our load and save: that one is the key.
        Err(KeyError::Exists) => keys.load()?.ok_or(KeyError::Exists),
        Err(e) => Err(e),
    }
}

/// The key in a file readable only by the user (0600), beside the database and not inside it:
/// `doorstep.db` keeps its key in `doorstep.db.key`. Written whole to a temporary file, synced,
/// then linked into place, so it is either absent or complete, and an existing key is never
/// replaced.
#[derive(Debug, Clone)]
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    pub fn new(path: impl Into<PathBuf>) -> KeyFile {
        KeyFile { path: path.into() }
    }

    /// The key file of the database at `db`: its name with `.key` appended.
    pub fn beside(db: &Path) -> KeyFile {
        let mut name = db.as_os_str().to_owned();
        name.push(".key");
        KeyFile { path: name.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> KeyError {
        KeyError::Io { path: self.path.clone(), source }
    }
}

impl KeyStore for KeyFile {
    fn load(&self) -> Result<Option<DbKey>, KeyError> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = file.metadata().map_err(|e| self.io(e))?.permissions().mode();
            if mode & 0o077 != 0 {
                // Someone loosened it (a backup restored, a copy): only the user may read it.
                tracing::warn!(path = %self.path.display(), mode = format!("{mode:o}"), "database key file readable by others; made 0600");
                std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o600)).map_err(|e| self.io(e))?;
            }
        }
        let mut text = Zeroizing::new(String::new());
        // A key file is 65 bytes; reading at most a little more keeps a wrong file from being
        // read whole.
        (&mut file).take(256).read_to_string(&mut text).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => KeyError::Malformed(self.path.clone()),
            _ => self.io(e),
        })?;
        DbKey::parse_hex(&text).map(Some).ok_or_else(|| KeyError::Malformed(self.path.clone()))
    }

    fn save_new(&self, key: &DbKey) -> Result<(), KeyError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "key".into());
        let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::now_v7().simple()));
        let written = (|| -> std::io::Result<()> {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&tmp)?;
            let mut text = key.hex();
            text.push('\n');
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(self.io(e));
        }
        // A hard link fails if the name is taken, where a rename would replace the key.
        let linked = std::fs::hard_link(&tmp, &self.path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(KeyError::Exists),
            Err(e) => return Err(self.io(e)),
        }
        sync_dir(dir).map_err(|e| self.io(e))
    }

    fn forget(&self) -> Result<(), KeyError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(self.io(e)),
        }
        sync_dir(self.path.parent().unwrap_or(Path::new("."))).map_err(|e| self.io(e))
    }

    fn describe(&self) -> String {
        format!("key file {}", self.path.display())
    }
}

/// Makes a rename or a new name in `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Keys a connection to a device database: the first statement on it. For tools and tests that
/// read a device file directly; the store keys its own.
pub fn key_connection(conn: &Connection, key: &DbKey) -> rusqlite::Result<()> {
    // PRAGMA takes no bound values; the literal is our own hex, wiped after use (SQLite's copy
    // of the statement text is not).
    let mut sql = Zeroizing::new(String::with_capacity(80));
    sql.push_str("PRAGMA key = \"");
    sql.push_str(&key.raw_key_literal());
    sql.push_str("\";");
    conn.execute_batch(&sql)
}

/// How the store opens its file.
pub(super) enum Protection<'a> {
    Encrypted(&'a dyn KeyStore),
    /// Plain SQLite, as before encryption: only to measure what encryption costs and to make the
    /// files of older versions in tests. The app never opens a store so.
    Plain,
}

/// What is at the database's path before it is opened.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Nothing,
    Plain,
    /// Encrypted, or not a database at all: without the key the two look the same.
    Other,
}

fn found(path: &Path) -> Result<Found, DeviceError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Nothing),
        Err(e) => return Err(DeviceError::Corrupt(format!("cannot read {}: {e}", path.display()))),
    };
    let mut head = Vec::with_capacity(16);
    (&mut file)
        .take(16)
        .read_to_end(&mut head)
        .map_err(|e| DeviceError::Corrupt(format!("cannot read {}: {e}", path.display())))?;
    Ok(if head.is_empty() {
        // SQLite makes an empty file a new database.
        Found::Nothing
    } else if head == PLAIN_HEADER {
        Found::Plain
    } else {
        Found::Other
    })
}

/// The file a conversion writes before it is renamed over the database.
fn converting_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".encrypting");
    name.into()
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// Opens the connection to the store's file, keyed first thing when encrypted; a plain database
/// of an earlier version is encrypted in place first. A file that does not open with the key held
/// is refused and left as it is.
pub(super) fn open_connection(path: &Path, protection: Protection<'_>) -> Result<Connection, DeviceError> {
    let keys = match protection {
        Protection::Plain => return Ok(Connection::open(path)?),
        Protection::Encrypted(keys) => keys,
    };
    discard_interrupted_conversion(path)?;
    let key = match found(path)? {
        Found::Nothing => load_or_create(keys)?,
        Found::Plain => encrypt_in_place(path, keys)?,
        Found::Other => keys.load()?.ok_or_else(|| {
            DeviceError::Locked(locked_message(path, &format!("no key is held ({})", keys.describe())))
        })?,
    };
    let conn = Connection::open(path)?;
    key_connection(&conn, &key)?;
    // SQLCipher checks the key at the first read of a page.
    readable(&conn).map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => {
            DeviceError::Locked(locked_message(path, &format!("the key held does not open it ({})", keys.describe())))
        }
        _ => DeviceError::from(e),
    })?;
    Ok(conn)
}

fn locked_message(path: &Path, why: &str) -> String {
    let shown = path.display();
    format!(
        "Không mở được dữ liệu trên máy ({shown}): khoá mã hoá không khớp, bị mất, hoặc tệp bị hỏng. Tệp được giữ nguyên. / \
         The phone's database {shown} cannot be opened: {why}; it is encrypted with another key, its key was lost, \
         or the file is damaged or not a database. The file was left as it is."
    )
}

fn readable(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
}

/// Left by a conversion that did not finish: the plain database beside it is still whole (the
/// rename is the conversion's last step), so the partial copy goes.
fn discard_interrupted_conversion(path: &Path) -> Result<(), DeviceError> {
    let tmp = converting_path(path);
    for leftover in [sidecar(&tmp, "-journal"), tmp.clone()] {
        match std::fs::remove_file(&leftover) {
            Ok(()) => tracing::warn!(path = %leftover.display(), "removed what an interrupted encryption left"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(DeviceError::Corrupt(format!("cannot remove {}: {e}", leftover.display())));
            }
        }
    }
    Ok(())
}

/// Every table's row count of schema `db` (`main` or the attached `enc`).
fn table_counts(conn: &Connection, db: &str) -> Result<Vec<(String, i64)>, DeviceError> {
    let names: Vec<String> = conn
        .prepare(&format!(
            "SELECT name FROM {db}.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ))?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    names
        .into_iter()
        .map(|name| {
            // Names from the schema itself, quoted.
            let quoted = name.replace('"', "\"\"");
            let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {db}.\"{quoted}\""), [], |r| r.get(0))?;
            Ok((name, n))
        })
        .collect()
}

/// Converts the plain database at `path` to one encrypted with the key held (made now if none
/// is), keeping every row: exported into `<path>.encrypting`, checked (every table's count, the
/// schema version, the application id, an integrity check), synced, renamed over `path`.
fn encrypt_in_place(path: &Path, keys: &dyn KeyStore) -> Result<DbKey, DeviceError> {
    let tmp = converting_path(path);
    let outcome = export_and_replace(path, &tmp, keys);
    if outcome.is_err() {
        // A partial copy would only take room (on a full phone, the room the next try needs).
        for leftover in [sidecar(&tmp, "-journal"), tmp] {
            let _ = std::fs::remove_file(leftover);
        }
    }
    outcome
}

fn export_and_replace(path: &Path, tmp: &Path, keys: &dyn KeyStore) -> Result<DbKey, DeviceError> {
    let shown = path.display();
    let plain = Connection::open(path)?;
    plain.busy_timeout(Duration::from_secs(5))?;
    // A foreign file is refused before anything is written or a key made, as for a plain open.
    super::check_ownership(&plain, path)?;
    let key = load_or_create(keys)?;
    // Everything into the main file: the export then reads it all, and no plain WAL is left to
    // be read as the encrypted file's.
    let busy: i64 = plain.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    if busy != 0 {
        return Err(DeviceError::Corrupt(format!("{shown} is in use by another connection; it was not encrypted")));
    }
    let before = table_counts(&plain, "main")?;
    let (version, app_id): (i64, i64) = plain.query_row(
        "SELECT (SELECT user_version FROM pragma_user_version), (SELECT application_id FROM pragma_application_id)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    plain.execute(
        "ATTACH DATABASE ?1 AS enc KEY ?2",
        rusqlite::params![tmp.to_string_lossy(), key.raw_key_literal().as_str()],
    )?;
    plain.query_row("SELECT sqlcipher_export('enc')", [], |_| Ok(())).map_err(|e| {
        // The export reports a full disk as a plain error with SQLite's message.
        if e.to_string().contains("database or disk is full") {
            DeviceError::StorageFull(e.to_string())
        } else {
            DeviceError::from(e)
        }
    })?;
    // The export copies tables and rows, not the header's fields. Both are integers read above.
    plain.execute_batch(&format!("PRAGMA enc.user_version = {version}; PRAGMA enc.application_id = {app_id};"))?;
    let exported = table_counts(&plain, "enc")?;
    plain.execute_batch("DETACH DATABASE enc")?;
    plain.close().map_err(|(_, e)| DeviceError::from(e))?;
    if exported != before {
        return Err(DeviceError::Corrupt(format!(
            "encrypting {shown}: the copy's rows differ ({exported:?} against {before:?}); the plain file is kept"
        )));
    }

    // Read back through a connection of its own, with the key, before it replaces anything.
    {
        let enc = Connection::open(tmp)?;
        key_connection(&enc, &key)?;
        let check: String = enc.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        let reread = table_counts(&enc, "main")?;
        let (v2, a2): (i64, i64) = enc.query_row(
            "SELECT (SELECT user_version FROM pragma_user_version), (SELECT application_id FROM pragma_application_id)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if check != "ok" || reread != before || (v2, a2) != (version, app_id) {
            return Err(DeviceError::Corrupt(format!(
                "encrypting {shown}: the encrypted copy does not read back whole ({check}); the plain file is kept"
            )));
        }
        enc.close().map_err(|(_, e)| DeviceError::from(e))?;
    }
    File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| DeviceError::Corrupt(format!("cannot sync {}: {e}", tmp.display())))?;

    // The plain WAL was emptied and the last connection closed; what is left of it must not be
    // taken for the encrypted file's.
    let wal = sidecar(path, "-wal");
    if std::fs::metadata(&wal).map(|m| m.len() > 0).unwrap_or(false) {
        return Err(DeviceError::Corrupt(format!(
            "{shown} is in use by another connection (its WAL is not empty); it was not encrypted"
        )));
    }
    for leftover in [wal, sidecar(path, "-shm")] {
        match std::fs::remove_file(&leftover) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(DeviceError::Corrupt(format!("cannot remove {}: {e}", leftover.display())));
            }
        }
    }
    std::fs::rename(tmp, path)
        .map_err(|e| DeviceError::Corrupt(format!("cannot replace {shown} with its encrypted copy: {e}")))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
        .map_err(|e| DeviceError::Corrupt(format!("cannot sync the folder of {shown}: {e}")))?;
    let rows: i64 = before.iter().map(|(_, n)| n).sum();
    tracing::info!(path = %shown, rows, "device database encrypted in place");
    Ok(key)
}

#[cfg(test)]
mod tests;
