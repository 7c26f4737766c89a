//! The device's SQLite store: visits, the outbox that carries them to the server, and the
//! households and areas pulled from it.
//!
//! A visit is "sent" when its visit row has no outbox row left: the outbox row is deleted only by
//! the server's receipt, so a record can never be lost between the phone and the server.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use doorstep_domain::account::Role;
use doorstep_domain::claim::{ClaimBook, Holder};
use doorstep_domain::error::ErrorKind;
use doorstep_domain::protocol::{
    AreaDto, CorrectionDto, EnrolResponse, ErrorBody, PullResponse, Receipt, ReceiptStatus,
};
use doorstep_domain::values::Positive;
use doorstep_domain::visit::{HouseholdInput, LocationInput};
use doorstep_domain::{Campaign, FieldError, Lang, Messages, ValidationContext, Visit, VisitInput};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Written to the SQLite header (`PRAGMA application_id`) so that a file of another program is
/// refused instead of being migrated into ours. The bytes spell "DSTP".
pub const APPLICATION_ID: i32 = 0x4453_5450;

/// Schema steps; step `i` takes `PRAGMA user_version` from `i` to `i + 1`. Append, never edit:
/// phones in the field hold databases at every earlier version.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE areas (
    code          TEXT PRIMARY KEY,
    parent        TEXT,
    name          TEXT NOT NULL,
    division_type TEXT,
    level         INTEGER NOT NULL
) STRICT;
CREATE INDEX areas_parent ON areas (parent);

CREATE TABLE households (
    id             TEXT PRIMARY KEY,
    area_code      TEXT NOT NULL,
    address        TEXT,
    lat            REAL,
    lon            REAL,
    latest_outcome TEXT,
    visits         INTEGER NOT NULL DEFAULT 0,
    revisit_due    INTEGER NOT NULL DEFAULT 0,
    origin         TEXT NOT NULL CHECK (origin IN ('local', 'server'))
) STRICT;
CREATE INDEX households_area ON households (area_code);

CREATE TABLE visits (
    id           TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    device_seq   INTEGER NOT NULL UNIQUE,
    household_id TEXT NOT NULL REFERENCES households (id),
    area_code    TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    visited_at   TEXT NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (id, revision)
) STRICT;

-- One row per record not yet acknowledged. The body is read from `visits` by join.
CREATE TABLE outbox (
    device_seq  INTEGER PRIMARY KEY REFERENCES visits (device_seq),
    id          TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'rejected')),
    error       TEXT,
    rejected_at TEXT
) STRICT;
CREATE INDEX outbox_state ON outbox (state, device_seq);
"#,
    // Refused records the volunteer has fixed: the corrected visit is a new record; the refused one
    // stays (the server refused it; it is no longer the volunteer's to act on).
    r#"
CREATE TABLE replaced (
    device_seq  INTEGER PRIMARY KEY REFERENCES outbox (device_seq),
    replaced_by TEXT NOT NULL,
    replaced_at TEXT NOT NULL
) STRICT;
"#,
    // Visits a leader sent back, as the server last listed them (its CorrectionDto in `body`).
    // One is done on this phone once a later revision of its visit is recorded here.
    r#"
CREATE TABLE corrections (
    id          TEXT PRIMARY KEY,
    visit_id    TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    body        TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
"#,
    // Venues (agencies, schools, businesses, transport hubs) and visits to them, with their own
    // outbox: their sequence numbers come from the same counter as the household visits'.
    r#"
CREATE TABLE venues (
    id        TEXT PRIMARY KEY,
    area_code TEXT NOT NULL,
    kind      TEXT NOT NULL,
    name      TEXT NOT NULL,
    address   TEXT,
    lat       REAL,
    lon       REAL,
    origin    TEXT NOT NULL CHECK (origin IN ('local', 'server'))
) STRICT;
CREATE INDEX venues_area ON venues (area_code);

CREATE TABLE venue_visits (
    id         TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    device_seq INTEGER NOT NULL UNIQUE,
    venue_id   TEXT NOT NULL REFERENCES venues (id),
    area_code  TEXT NOT NULL,
    visited_at TEXT NOT NULL,
    body       TEXT NOT NULL,
    PRIMARY KEY (id, revision)
) STRICT;

CREATE TABLE venue_outbox (
    device_seq  INTEGER PRIMARY KEY REFERENCES venue_visits (device_seq),
    id          TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'rejected')),
    error       TEXT,
    rejected_at TEXT
) STRICT;
CREATE INDEX venue_outbox_state ON venue_outbox (state, device_seq);
"#,
    // Photos of a visit or a day's report. The row is also the photo's outbox entry (`state`),
    // so saving a photo and queueing it are one commit; `error` keeps the server's refusal.
    r#"
CREATE TABLE photos (
    id          TEXT PRIMARY KEY,
    sha256      TEXT NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('visit', 'venue_visit', 'day')),
    target_id   TEXT NOT NULL,
    area_code   TEXT NOT NULL,
    caption     TEXT,
    taken_at    TEXT NOT NULL,
    bytes       BLOB NOT NULL,
    size        INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'rejected')),
    error       TEXT
) STRICT;
CREATE INDEX photos_state ON photos (state, id);
CREATE INDEX photos_target ON photos (target_kind, target_id);
"#,
    // When each household is due again (ms since 1970 UTC; NULL: not due): the campaign's
    // revisit delay after the latest visit, from the server's pull or from a visit recorded
    // here. `revisit_due` stays "the latest outcome is revisited". Households already due stay
    // due.
    r#"
ALTER TABLE households ADD COLUMN revisit_due_at_ms INTEGER;
UPDATE households SET revisit_due_at_ms = 0 WHERE revisit_due = 1;
"#,
    // Claims (`store/claims.rs`): the volunteer and time of each household's latest visit, and
    // the leaders' claims of the phone's areas (a released one kept with its release time).
    // Households already held learn their latest volunteer from this phone's own visits now,
    // and from the server by a full pull: the cursors start again, since households and claims
    // that changed before this version would not come again otherwise.
    r#"
ALTER TABLE households ADD COLUMN latest_volunteer_id TEXT;
ALTER TABLE households ADD COLUMN latest_volunteer TEXT;
ALTER TABLE households ADD COLUMN latest_visited_at_ms INTEGER;

CREATE TABLE claims (
    id             TEXT PRIMARY KEY,
    area_code      TEXT NOT NULL,
    household_id   TEXT,
    street         TEXT,
    street_key     TEXT,
    volunteer_id   TEXT NOT NULL,
    volunteer      TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    released_at_ms INTEGER,
    updated_seq    INTEGER NOT NULL
) STRICT;

WITH latest AS (
    SELECT household_id, json_extract(body, '$.volunteer_id') AS volunteer_id, visited_at,
           max(device_seq)
    FROM visits GROUP BY household_id
)
UPDATE households SET
    latest_volunteer_id = latest.volunteer_id,
    latest_visited_at_ms = CAST(round((julianday(latest.visited_at) - 2440587.5) * 86400000.0) AS INTEGER)
FROM latest WHERE latest.household_id = households.id;
UPDATE households SET latest_volunteer = (SELECT value FROM meta WHERE key = 'volunteer_username')
WHERE latest_volunteer_id = (SELECT value FROM meta WHERE key = 'volunteer_id');

DELETE FROM meta WHERE key = 'cursor' OR key LIKE 'cursor:%';
"#,
    // Enumerated buildings not yet visited, by area and latitude, for matching a household added
    // at the door (`store/enumerated.rs`): without it every save of a new household read every
    // household of its area (measured: 4.5 ms a save once an area held 20,000).
    r#"
CREATE INDEX households_unvisited ON households (area_code, lat) WHERE origin = 'server' AND visits = 0;
"#,
];

const META_DEVICE_ID: &str = "device_id";
const META_VOLUNTEER_ID: &str = "volunteer_id";
const META_LAST_SEQ: &str = "last_seq";
const META_CAMPAIGN: &str = "campaign";
const META_CURSOR: &str = "cursor";
const META_DEVICE_TOKEN: &str = "device_token";
const META_VOLUNTEER_USERNAME: &str = "volunteer_username";
const META_VOLUNTEER_ROLE: &str = "volunteer_role";
const META_VOLUNTEER_AREA: &str = "volunteer_area";

/// Meta key holding the server's last refusal of this phone's credentials (JSON of its
/// [`ErrorBody`], both languages), such as `device_revoked`: for the app to tell the volunteer to
/// ask their team leader for a new code. Absent when there is none; removed by a successful push
/// or pull and by a new enrolment.
pub const META_AUTH_PROBLEM: &str = "auth_problem";

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("invalid visit: {0}")]
    Invalid(#[from] FieldError),
    #[error("device database error: {0}")]
    Db(#[source] rusqlite::Error),
    #[error("device database unusable: {0}")]
    Corrupt(String),
    #[error("bad JSON in the device database: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not found: {0}")]
    NotFound(String),
    /// The server's enrolment answer cannot be kept (never holds the token).
    #[error("invalid enrolment: {0}")]
    Enrolment(String),
    /// Only a refused record, not fixed yet, can be fixed.
    #[error("record {0} is not a refused record waiting to be fixed")]
    NotRejected(i64),
    /// Only a correction the leader asked for, not answered yet, can be answered.
    #[error("correction {0} is not waiting for an answer on this phone")]
    NotOpen(String),
    /// The phone's storage is full: the write was rolled back; what was saved before is kept.
    #[error("the phone's storage is full ({0})")]
    StorageFull(String),
    /// A picture the phone cannot use (unreadable, too large, no such visit); nothing is saved.
    #[error("photo refused: {0}")]
    Photo(photos::PhotoRefusal),
    /// The database is encrypted and the key held does not open it: another key, no key (lost),
    /// or a damaged file (SQLCipher cannot tell these apart). The file is left as it is. The
    /// message is in Vietnamese and English: it is what the app says when it cannot start.
    #[error("{0}")]
    Locked(String),
    /// The database's key could not be read, made or kept.
    #[error("device database key: {0}")]
    Key(#[from] KeyError),
}

impl From<rusqlite::Error> for DeviceError {
    fn from(e: rusqlite::Error) -> Self {
        // A damaged or foreign file can surface on any statement, not only at open.
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => {
                DeviceError::Corrupt(format!("the file is not a SQLite database ({e})"))
            }
            Some(rusqlite::ErrorCode::DiskFull) => DeviceError::StorageFull(e.to_string()),
            Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
                DeviceError::Corrupt(format!("the database file is damaged ({e})"))
            }
            _ => DeviceError::Db(e),
        }
    }
}

/// What the UI or the simulator gives for a visit; the store adds the identifiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitDraft {
    /// `None` for a household met for the first time: the store makes its UUIDv7.
    pub household_id: Option<Uuid>,
    pub address: Option<String>,
    pub area_code: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub people: i64,
    pub smartphones: i64,
    pub already_installed: i64,
    pub installed_now: i64,
    pub leaflet_given: bool,
    pub location: LocationInput,
    pub notes: Option<String>,
}

/// A record waiting to be sent; `body` is the canonical JSON of its `VisitInput`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub device_seq: i64,
    pub id: String,
    pub revision: i64,
    pub body: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCounts {
    pub pending: u64,
    pub rejected: u64,
    /// Records the server has acknowledged (visit rows without an outbox row).
    pub sent: u64,
    /// Venue visits waiting to be sent, and refused.
    #[serde(default)]
    pub venue_pending: u64,
    #[serde(default)]
    pub venue_rejected: u64,
}

/// A visit as the volunteer's day lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalVisit {
    pub id: String,
    pub household_id: String,
    pub address: Option<String>,
    pub area_code: String,
    pub outcome: String,
    pub visited_at: String,
    /// `pending`, `sent` or `rejected`.
    pub state: String,
}

/// A visit a leader sent back, as this phone holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingCorrection {
    pub correction: CorrectionDto,
    /// A later revision is recorded on this phone (it may still wait in the queue).
    pub answered: bool,
}

/// A record the server refused, kept on the device with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedRecord {
    pub device_seq: i64,
    pub id: String,
    pub revision: i64,
    pub error: ErrorBody,
    pub rejected_at: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptStats {
    pub confirmed: u64,
    /// Of `confirmed`, those the server held already: sent again after an answer was lost.
    #[serde(default)]
    pub duplicates: u64,
    pub rejected: u64,
    /// Receipts that matched no pending entry of the batch; those entries stay pending.
    pub unmatched: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalHousehold {
    pub id: String,
    pub area_code: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub latest_outcome: Option<String>,
    pub visits: i64,
    /// Due again now, by the phone's clock (see `revisit_due_at_ms`).
    pub revisit_due: bool,
    /// With an outcome the campaign revisits: when the household is due again (ms since 1970
    /// UTC), so the app can say "due again at 14:30" before then.
    #[serde(default)]
    pub revisit_due_at_ms: Option<i64>,
    /// The volunteer of the latest visit known here (account id and username) and its time:
    /// from the pull, or this phone's own visit.
    #[serde(default)]
    pub latest_volunteer_id: Option<String>,
    #[serde(default)]
    pub latest_volunteer: Option<String>,
    #[serde(default)]
    pub latest_visited_at_ms: Option<i64>,
    /// Who holds the household at the time it was read (a leader's claim, or a recent visit):
    /// `None`, anyone may go.
    #[serde(default)]
    pub holder: Option<Holder>,
    /// Held by another volunteer than this phone's: someone else covers this door.
    #[serde(default)]
    pub taken: bool,
}

/// The device's bearer token for push and pull. Its `Debug` never shows it and it has no
/// `Display`, so it cannot slip into a log line or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceToken(String);

impl DeviceToken {
    pub fn new(token: String) -> DeviceToken {
        DeviceToken(token)
    }

    /// The token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceToken(<redacted>)")
    }
}

/// What this phone is enrolled as: the volunteer it records for, and its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The volunteer's account id: the `volunteer_id` of the visits recorded from now on.
    pub volunteer_id: Uuid,
    pub username: String,
    pub role: Role,
    /// The root of the area subtree the volunteer works in.
    pub area_code: String,
    /// Redacted in `Debug`.
    pub device_token: DeviceToken,
}

/// The device's database. One per phone (or per simulated volunteer).
pub struct DeviceStore {
    conn: Connection,
    device_id: Uuid,
    volunteer_id: Uuid,
    campaign: Campaign,
    /// Opened by [`DeviceStore::open_platform`]: a wipe opens the fresh store the same way.
    platform_keys: bool,
}

impl std::fmt::Debug for DeviceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceStore")
            .field("device_id", &self.device_id)
            .field("volunteer_id", &self.volunteer_id)
            .field("campaign", &self.campaign.code)
            .finish_non_exhaustive()
    }
}

impl DeviceStore {
    /// Opens (or creates) the store at `path`, encrypted with the key in the file beside it
    /// ([`KeyFile::beside`]: `doorstep.db.key`, made at the first open), migrating it to the
    /// current schema. A plain database of an earlier version is encrypted in place first.
    pub fn open(path: &Path) -> Result<DeviceStore, DeviceError> {
        DeviceStore::open_with(path, &KeyFile::beside(path))
    }

    /// As [`DeviceStore::open`], with the key where the app keeps it ([`platform_keys`]): the
    /// desktop keyring where it is built in and answers, else the file beside the database.
    pub fn open_platform(path: &Path) -> Result<DeviceStore, DeviceError> {
        let mut store = DeviceStore::open_with(path, platform_keys(path).as_ref())?;
        store.platform_keys = true;
        Ok(store)
    }

    /// As [`DeviceStore::open`], with the key kept by `keys` (the platform's secure store, where
    /// the app has one).
    pub fn open_with(path: &Path, keys: &dyn KeyStore) -> Result<DeviceStore, DeviceError> {
        DeviceStore::open_protected(path, crypt::Protection::Encrypted(keys))
    }

    /// Opens the store as plain SQLite, unencrypted, as versions before encryption did: readable
    /// by anyone who copies the file. Only to measure what encryption costs (benches) and to make
    /// an older version's file (tests); the app never calls it.
    #[doc(hidden)]
    pub fn open_unencrypted(path: &Path) -> Result<DeviceStore, DeviceError> {
        DeviceStore::open_protected(path, crypt::Protection::Plain)
    }

    fn open_protected(path: &Path, protection: crypt::Protection<'_>) -> Result<DeviceStore, DeviceError> {
        // Keyed first thing: no statement reads the file before the key is set.
        let mut conn = crypt::open_connection(path, protection)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        check_ownership(&conn, path)?;

        // WAL + FULL: a commit is on stable storage when it returns (invariant 1), and readers
        // (the UI) never wait for the writer.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "WAL journal unavailable; durability relies on synchronous=FULL");
        }
        // 8 MiB of page cache (SQLite's default is 2): with encryption every page read from the
        // file is decrypted and checked, so the pages a drain reads again stay decrypted here.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192;")?;

        migrate(&mut conn, path)?;
        let (device_id, volunteer_id) = ensure_identity(&mut conn)?;
        let campaign = load_campaign(&conn)?;
        tracing::debug!(path = %path.display(), %device_id, "device store opened");
        Ok(DeviceStore { conn, device_id, volunteer_id, campaign, platform_keys: false })
    }

    pub fn device_id(&self) -> Uuid {
        self.device_id
    }

    pub fn volunteer_id(&self) -> Uuid {
        self.volunteer_id
    }

    /// The volunteer signed in on this phone; later visits carry this id.
    pub fn set_volunteer_id(&mut self, id: Uuid) -> Result<(), DeviceError> {
        put_meta(&self.conn, META_VOLUNTEER_ID, &id.to_string())?;
        self.volunteer_id = id;
        Ok(())
    }

    /// Keeps the server's answer to an enrolment, in one transaction: the token, and the volunteer
    /// the visits recorded from now on belong to. Enrolling again (a new code, say after the phone
    /// was revoked) replaces them; the queue is untouched, and a stored authorisation problem is
    /// cleared since the new token answers it. A volunteer id that is not a UUID, or an empty
    /// token, is refused and nothing is written.
    pub fn set_enrolment(&mut self, answer: &EnrolResponse) -> Result<(), DeviceError> {
        let volunteer_id = Uuid::try_parse(answer.volunteer_id.trim()).map_err(|_| {
            DeviceError::Enrolment(format!(
                "the volunteer id {:?} is not a UUID",
                answer.volunteer_id.chars().take(64).collect::<String>()
            ))
        })?;
        if answer.device_token.trim().is_empty() {
            return Err(DeviceError::Enrolment("the device token is empty".into()));
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        put_meta(&tx, META_DEVICE_TOKEN, answer.device_token.trim())?;
        put_meta(&tx, META_VOLUNTEER_ID, &volunteer_id.to_string())?;
        put_meta(&tx, META_VOLUNTEER_USERNAME, &answer.volunteer.username)?;
        put_meta(&tx, META_VOLUNTEER_ROLE, answer.volunteer.role.as_str())?;
        put_meta(&tx, META_VOLUNTEER_AREA, &answer.volunteer.area_code)?;
        tx.execute("DELETE FROM meta WHERE key = ?1", [META_AUTH_PROBLEM])?;
        // The new token is live: the old one's revocation no longer calls for an erase.
        tx.execute("DELETE FROM meta WHERE key = ?1", [wipe::META_REVOKED])?;
        tx.commit()?;
        self.volunteer_id = volunteer_id;
        tracing::info!(%volunteer_id, volunteer = %answer.volunteer.username, "device enrolled");
        Ok(())
    }

    /// The enrolment kept by [`DeviceStore::set_enrolment`], or `None` before the first one.
    pub fn enrolment(&self) -> Result<Option<Enrolment>, DeviceError> {
        let Some(token) = self.device_token()? else {
            return Ok(None);
        };
        let role = get_meta(&self.conn, META_VOLUNTEER_ROLE)?.unwrap_or_default();
        let role = Role::parse("role", &role)
            .map_err(|_| DeviceError::Corrupt(format!("the stored volunteer role {role:?} is unknown")))?;
        Ok(Some(Enrolment {
            volunteer_id: self.volunteer_id,
            username: get_meta(&self.conn, META_VOLUNTEER_USERNAME)?.unwrap_or_default(),
            role,
            area_code: get_meta(&self.conn, META_VOLUNTEER_AREA)?.unwrap_or_default(),
            device_token: token,
        }))
    }

    /// The token for push and pull, or `None` while the phone is not enrolled. Read from the
    /// database each time, so a re-enrolment takes effect at the next request.
    pub fn device_token(&self) -> Result<Option<DeviceToken>, DeviceError> {
        Ok(get_meta(&self.conn, META_DEVICE_TOKEN)?.filter(|t| !t.is_empty()).map(DeviceToken))
    }

    /// The server's last refusal of this phone's credentials, if it still stands.
    pub fn auth_problem(&self) -> Result<Option<ErrorBody>, DeviceError> {
        match get_meta(&self.conn, META_AUTH_PROBLEM)? {
            Some(json) if !json.is_empty() => Ok(Some(serde_json::from_str(&json)?)),
            _ => Ok(None),
        }
    }

    /// Keeps (`Some`) or clears (`None`) the server's refusal of this phone's credentials.
    /// Writes only when something changes: this runs after every batch.
    pub fn set_auth_problem(&mut self, problem: Option<&ErrorBody>) -> Result<(), DeviceError> {
        match problem {
            Some(error) => {
                let json = serde_json::to_string(error)?;
                if get_meta(&self.conn, META_AUTH_PROBLEM)?.as_deref() != Some(json.as_str()) {
                    put_meta(&self.conn, META_AUTH_PROBLEM, &json)?;
                }
                Ok(())
            }
            None => {
                if get_meta(&self.conn, META_AUTH_PROBLEM)?.is_some() {
                    self.conn.execute("DELETE FROM meta WHERE key = ?1", [META_AUTH_PROBLEM])?;
                }
                Ok(())
            }
        }
    }

    pub fn campaign(&self) -> &Campaign {
        &self.campaign
    }

    /// Sets the campaign visits are validated against. It is also saved so that the next open
    /// uses it; if saving fails the in-memory campaign still applies and a warning is logged.
    pub fn set_campaign(&mut self, c: Campaign) {
        match serde_json::to_string(&c) {
            Ok(json) => {
                if let Err(e) = put_meta(&self.conn, META_CAMPAIGN, &json) {
                    tracing::warn!(error = %e, campaign = %c.code, "could not save the campaign");
                }
            }
            Err(e) => tracing::warn!(error = %e, campaign = %c.code, "could not serialise the campaign"),
        }
        self.campaign = c;
    }

    /// Validates and records a visit. Returns only after the visit and its outbox entry are
    /// committed together; on a validation error nothing is written.
    pub fn record_visit(&mut self, draft: &VisitDraft, now: DateTime<FixedOffset>) -> Result<Visit, DeviceError> {
        self.record(draft, now, None, None)
    }

    /// Records the corrected visit for a refused record, and sets the refused one aside, in one
    /// transaction: the refused record is kept, but no longer listed for the volunteer to fix.
    pub fn fix_rejected(
        &mut self, device_seq: i64, draft: &VisitDraft, now: DateTime<FixedOffset>,
    ) -> Result<Visit, DeviceError> {
        let refused: Option<(String, i64, String)> = self
            .conn
            .query_row(
                "SELECT o.id, o.revision, v.visited_at FROM outbox o JOIN visits v ON v.device_seq = o.device_seq
                 WHERE o.device_seq = ?1 AND o.state = 'rejected'
                   AND NOT EXISTS (SELECT 1 FROM replaced r WHERE r.device_seq = o.device_seq)",
                [device_seq],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((id, revision, visited_at)) = refused else {
            return Err(DeviceError::NotRejected(device_seq));
        };
        // A refused correction is fixed by a further revision of the same visit; a refused first
        // record by a new visit (the server holds nothing under its id).
        let revises = if revision > 1 {
            let at = DateTime::parse_from_rfc3339(&visited_at)
                .map_err(|e| DeviceError::Corrupt(format!("a stored visit time: {e}")))?;
            let (household, area) = self.revised_subject(&id, None)?;
            Some(Revises { revision: next_revision(&self.conn, &id, None)?, id, visited_at: at, household, area })
        } else {
            None
        };
        self.record(draft, now, Some(device_seq), revises)
    }

    /// The household and area of a visit being revised: those of its first revision held here,
    /// else of the refused or sent-back copy (`sent_back`). A revision never moves a visit: the
    /// server refuses one naming another household or area.
    fn revised_subject(&self, id: &str, sent_back: Option<&CorrectionDto>) -> Result<(Uuid, String), DeviceError> {
        let held: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT household_id, area_code FROM visits WHERE id = ?1 AND revision > 0
                 ORDER BY revision LIMIT 1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (household, area) = match (held, sent_back) {
            (Some(h), _) => h,
            (None, Some(c)) => (c.household_id.clone(), c.area_code.clone()),
            (None, None) => return Err(DeviceError::NotFound(format!("visit {id}"))),
        };
        let household =
            Uuid::parse_str(&household).map_err(|e| DeviceError::Corrupt(format!("a stored household id: {e}")))?;
        Ok((household, area))
    }

    /// Records the volunteer's answer to a correction: a new revision of the sent-back visit
    /// (same id, same visit time, the next revision number), queued like any record. The
    /// correction is done on this phone from then on; the server closes it when the revision
    /// arrives.
    pub fn correct_visit(
        &mut self, correction_id: &str, draft: &VisitDraft, now: DateTime<FixedOffset>,
    ) -> Result<Visit, DeviceError> {
        let open = self
            .corrections()?
            .into_iter()
            .find(|c| c.correction.id == correction_id && !c.answered)
            .ok_or_else(|| DeviceError::NotOpen(correction_id.to_string()))?;
        let c = open.correction;
        let revision = next_revision(&self.conn, &c.visit_id, Some(c.revision))?;
        let visited_at = DateTime::parse_from_rfc3339(&c.visit.visited_at)
            .map_err(|e| DeviceError::Corrupt(format!("the correction's visit time: {e}")))?;
        let (household, area) = self.revised_subject(&c.visit_id, Some(&c))?;
        let revises = Revises { id: c.visit_id, revision, visited_at, household, area };
        self.record(draft, now, None, Some(revises))
    }

    /// Replaces the sent-back visits with the server's list (it names every open one).
    pub fn apply_corrections(&mut self, list: &[CorrectionDto]) -> Result<(), DeviceError> {
        let now = Utc::now().to_rfc3339();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM corrections", [])?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO corrections (id, visit_id, revision, body, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for c in list {
                insert.execute(params![c.id, c.visit_id, c.revision, serde_json::to_string(c)?, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The visits sent back, oldest first; `answered` once a later revision is recorded here.
    pub fn corrections(&self) -> Result<Vec<PendingCorrection>, DeviceError> {
        let mut st = self.conn.prepare(
            "SELECT c.body, EXISTS (SELECT 1 FROM visits v WHERE v.id = c.visit_id AND v.revision > c.revision)
             FROM corrections c ORDER BY c.rowid",
        )?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (body, answered) = row?;
            out.push(PendingCorrection { correction: serde_json::from_str(&body)?, answered });
        }
        Ok(out)
    }

    fn record(
        &mut self, draft: &VisitDraft, now: DateTime<FixedOffset>, replaces: Option<i64>, revises: Option<Revises>,
    ) -> Result<Visit, DeviceError> {
        // A revision keeps its visit's household and area; a new household at an enumerated
        // building is that building's (`enumerated.rs`).
        let (household_id, area_code) = match (&revises, draft.household_id) {
            (Some(r), _) => (r.household, r.area.clone()),
            (None, Some(id)) => (id, draft.area_code.clone()),
            (None, None) => (
                self.enumerated_at(&draft.area_code, &draft.location)?.unwrap_or_else(Uuid::now_v7),
                draft.area_code.clone(),
            ),
        };
        // Validation needs a sequence number; the one actually used is taken inside the write
        // transaction below, so validating first writes nothing and consumes nothing.
        let provisional_seq = last_seq(&self.conn)? + 1;
        let (id, revision, visited_at) = match &revises {
            Some(r) => (r.id.clone(), r.revision, r.visited_at),
            None => (Uuid::now_v7().to_string(), 1, now),
        };
        let input = VisitInput {
            id,
            revision,
            device_seq: provisional_seq,
            device_id: self.device_id.to_string(),
            volunteer_id: self.volunteer_id.to_string(),
            area_code,
            household: HouseholdInput { id: household_id.to_string(), address: draft.address.clone() },
            visited_at: visited_at.to_rfc3339(),
            outcome: draft.outcome.clone(),
            reason: draft.reason.clone(),
            people: draft.people,
            smartphones: draft.smartphones,
            already_installed: draft.already_installed,
            installed_now: draft.installed_now,
            leaflet_given: draft.leaflet_given,
            location: draft.location.clone(),
            notes: draft.notes.clone(),
        };
        let ctx = ValidationContext { campaign: &self.campaign, device_now: now.with_timezone(&Utc), server_now: None };
        let mut visit = Visit::parse(&input, &ctx)?;
        // A correction keeps its visit's time, so it keeps that visit's due time too.
        let due_at = self
            .campaign
            .outcome(&visit.outcome)
            .and_then(|o| o.revisit_due_at_ms(visit.visited_at.timestamp_millis()));
        let revisit_due = due_at.is_some();

        // IMMEDIATE: take the write lock before reading the sequence, so two writers on the same
        // file cannot both take the same number.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seq = last_seq(&tx)? + 1;
        if seq != visit.device_seq.get() {
            visit.device_seq = Positive::parse("device_seq", seq, ErrorKind::SequenceNotPositive)?;
        }
        let point = visit.location.point;
        // The visit makes this volunteer the household's latest at once (it is theirs for the
        // campaign's claim_hours), as the server will when the visit arrives.
        let username = get_meta(&tx, META_VOLUNTEER_USERNAME)?.filter(|u| !u.is_empty());
        tx.execute(
            "INSERT INTO households (id, area_code, address, lat, lon, latest_outcome, visits, revisit_due,
                 revisit_due_at_ms, latest_volunteer_id, latest_volunteer, latest_visited_at_ms, origin)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?9, ?10, ?11, ?12, 'local')
             ON CONFLICT (id) DO UPDATE SET
                 area_code = excluded.area_code,
                 address = COALESCE(excluded.address, address),
                 lat = COALESCE(excluded.lat, lat),
                 lon = COALESCE(excluded.lon, lon),
                 latest_outcome = excluded.latest_outcome,
                 revisit_due = excluded.revisit_due,
                 revisit_due_at_ms = excluded.revisit_due_at_ms,
                 latest_volunteer_id = excluded.latest_volunteer_id,
                 latest_volunteer = excluded.latest_volunteer,
                 latest_visited_at_ms = excluded.latest_visited_at_ms,
                 visits = visits + ?8",
            params![
                visit.household.id.to_string(),
                visit.area_code.as_str(),
                visit.household.address.as_ref().map(|a| a.as_str()),
                point.map(|p| p.lat),
                point.map(|p| p.lon),
                visit.outcome,
                revisit_due,
                // A correction is the same visit again, not another one.
                i64::from(visit.revision.get() == 1),
                due_at,
                self.volunteer_id.to_string(),
                username,
                visit.visited_at.timestamp_millis(),
            ],
        )?;
        let id = visit.id.to_string();
        if revises.is_some() {
            // A refused revision holding this number gives it back: the server never stored it,
            // and it takes revisions in order. The refused record stays (its body keeps the
            // number it was sent with), under a number no record can have: minus its sequence.
            tx.execute(
                "UPDATE outbox SET revision = -device_seq
                 WHERE state = 'rejected' AND id = ?1 AND revision = ?2",
                params![id, visit.revision.get()],
            )?;
            tx.execute(
                "UPDATE visits SET revision = -device_seq
                 WHERE id = ?1 AND revision = ?2
                   AND device_seq IN (SELECT device_seq FROM outbox WHERE state = 'rejected')",
                params![id, visit.revision.get()],
            )?;
        }
        tx.execute(
            "INSERT INTO visits (id, revision, device_seq, household_id, area_code, outcome, visited_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id,
                visit.revision.get(),
                seq,
                visit.household.id.to_string(),
                visit.area_code.as_str(),
                visit.outcome,
                visit.visited_at.to_rfc3339(),
                visit.canonical_json(),
            ],
        )?;
        tx.execute(
            "INSERT INTO outbox (device_seq, id, revision, state) VALUES (?1, ?2, ?3, 'pending')",
            params![seq, id, visit.revision.get()],
        )?;
        put_meta(&tx, META_LAST_SEQ, &seq.to_string())?;
        if let Some(refused) = replaces {
            tx.execute(
                "INSERT INTO replaced (device_seq, replaced_by, replaced_at) VALUES (?1, ?2, ?3)",
                params![refused, id, now.to_rfc3339()],
            )?;
        }
        tx.commit()?;
        tracing::debug!(%id, device_seq = seq, outcome = %visit.outcome, "visit recorded");
        Ok(visit)
    }

    /// The oldest pending records, in sequence order. Rejected ones are skipped so they never
    /// hold up the queue.
    pub fn next_batch(&self, limit: usize) -> Result<Vec<OutboxEntry>, DeviceError> {
        self.next_batch_after(0, limit)
    }

    /// Pending entries after `after_seq`, oldest first: the next batch while earlier ones are
    /// still on their way to the server.
    pub fn next_batch_after(&self, after_seq: i64, limit: usize) -> Result<Vec<OutboxEntry>, DeviceError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.device_seq, o.id, o.revision, v.body
             FROM outbox o JOIN visits v ON v.device_seq = o.device_seq
             WHERE o.state = 'pending' AND o.device_seq > ?2
             ORDER BY o.device_seq
             LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit, after_seq], |r| {
            Ok(OutboxEntry { device_seq: r.get(0)?, id: r.get(1)?, revision: r.get(2)?, body: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Applies the server's receipts for `batch` in one transaction. A receipt is matched by its
    /// index in the batch and, when it names them, by id and revision; anything that does not
    /// match leaves the entry pending, to be sent again (the server treats a resend as a duplicate).
    pub fn apply_receipts(&mut self, batch: &[OutboxEntry], receipts: &[Receipt]) -> Result<ReceiptStats, DeviceError> {
        self.settle("outbox", batch, receipts)
    }

    /// Applies receipts to the entries of one outbox table (`outbox` or `venue_outbox`).
    fn settle(
        &mut self, table: &'static str, batch: &[OutboxEntry], receipts: &[Receipt],
    ) -> Result<ReceiptStats, DeviceError> {
        let mut stats = ReceiptStats::default();
        let now = Utc::now().to_rfc3339();
        let mut matched = vec![false; batch.len()];
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut clear = tx.prepare(&format!(
                "DELETE FROM {table} WHERE device_seq = ?1 AND id = ?2 AND revision = ?3 AND state = 'pending'"
            ))?;
            let mut reject = tx.prepare(&format!(
                "UPDATE {table} SET state = 'rejected', error = ?4, rejected_at = ?5
                 WHERE device_seq = ?1 AND id = ?2 AND revision = ?3 AND state = 'pending'"
            ))?;
            for receipt in receipts {
                let index = usize::try_from(receipt.index).unwrap_or(usize::MAX);
                let Some(entry) = batch.get(index) else {
                    tracing::warn!(index = receipt.index, batch = batch.len(), "receipt index outside the batch");
                    stats.unmatched += 1;
                    continue;
                };
                let id_differs = receipt.id.as_deref().is_some_and(|id| id != entry.id);
                let revision_differs = receipt.revision.is_some_and(|rev| rev != entry.revision);
                // Clearing an entry needs the receipt to name it: an index alone is not enough.
                let unnamed = matches!(receipt.status, ReceiptStatus::Stored | ReceiptStatus::Duplicate)
                    && (receipt.id.is_none() || receipt.revision.is_none());
                if matched[index] || id_differs || revision_differs || unnamed {
                    tracing::warn!(index, expected = %entry.id, got = ?receipt.id, "receipt does not match its entry");
                    stats.unmatched += 1;
                    continue;
                }
                matched[index] = true;
                let changed = match receipt.status {
                    ReceiptStatus::Stored | ReceiptStatus::Duplicate => {
                        let n = clear.execute(params![entry.device_seq, entry.id, entry.revision])?;
                        stats.confirmed += n as u64;
                        if receipt.status == ReceiptStatus::Duplicate {
                            stats.duplicates += n as u64;
                        }
                        n
                    }
                    ReceiptStatus::Rejected => {
                        let error = receipt.error.clone().unwrap_or_else(unexplained_rejection);
                        tracing::warn!(id = %entry.id, code = %error.code, field = ?error.field, "record rejected by the server");
                        let json = serde_json::to_string(&error)?;
                        let n = reject.execute(params![entry.device_seq, entry.id, entry.revision, json, now])?;
                        stats.rejected += n as u64;
                        n
                    }
                };
                if changed == 0 {
                    // Already settled by an earlier receipt (a concurrent push): not counted twice.
                    stats.unmatched += 1;
                }
            }
        }
        tx.commit()?;
        Ok(stats)
    }

    /// Marks one pending entry rejected with `error`: for when the server refuses a batch holding
    /// only this record, without a receipt.
    pub fn reject_entry(&mut self, device_seq: i64, error: &ErrorBody) -> Result<(), DeviceError> {
        self.reject_in("outbox", device_seq, error)
    }

    /// [`DeviceStore::reject_entry`] for a venue visit.
    pub fn reject_venue_entry(&mut self, device_seq: i64, error: &ErrorBody) -> Result<(), DeviceError> {
        self.reject_in("venue_outbox", device_seq, error)
    }

    /// `table` is `outbox` or `venue_outbox` (ours, never outside input).
    fn reject_in(&mut self, table: &str, device_seq: i64, error: &ErrorBody) -> Result<(), DeviceError> {
        let json = serde_json::to_string(error)?;
        let n = self.conn.execute(
            &format!(
                "UPDATE {table} SET state = 'rejected', error = ?2, rejected_at = ?3
                 WHERE device_seq = ?1 AND state = 'pending'"
            ),
            params![device_seq, json, Utc::now().to_rfc3339()],
        )?;
        if n == 0 {
            return Err(DeviceError::NotFound(format!("no pending {table} entry with device_seq {device_seq}")));
        }
        tracing::warn!(table, device_seq, code = %error.code, "record rejected");
        Ok(())
    }

    pub fn queue(&self) -> Result<QueueCounts, DeviceError> {
        let (pending, rejected, visits): (i64, i64, (i64, i64)) = self.conn.query_row(
            "SELECT
                 (SELECT count(*) FROM outbox WHERE state = 'pending'),
                 (SELECT count(*) FROM outbox WHERE state = 'rejected'),
                 (SELECT count(*) FROM visits),
                 (SELECT count(*) FROM replaced)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, (r.get(2)?, r.get::<_, i64>(3)?))),
        )?;
        let (visits, replaced) = visits;
        let (venue_pending, venue_rejected): (i64, i64) = self.conn.query_row(
            "SELECT (SELECT count(*) FROM venue_outbox WHERE state = 'pending'),
                    (SELECT count(*) FROM venue_outbox WHERE state = 'rejected')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(QueueCounts {
            pending: count(pending),
            // Fixed ones are no longer the volunteer's to act on.
            rejected: count(rejected - replaced),
            sent: count(visits - pending - rejected),
            venue_pending: count(venue_pending),
            venue_rejected: count(venue_rejected),
        })
    }

    /// The refused records, oldest first, with the server's reasons.
    pub fn rejected(&self) -> Result<Vec<RejectedRecord>, DeviceError> {
        let mut stmt = self.conn.prepare(
            "SELECT o.device_seq, o.id, o.revision, o.error, o.rejected_at FROM outbox o
             WHERE o.state = 'rejected'
               AND NOT EXISTS (SELECT 1 FROM replaced r WHERE r.device_seq = o.device_seq)
             ORDER BY o.device_seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (device_seq, id, revision, error, rejected_at) = row?;
            let error = stored_error(error)?;
            out.push(RejectedRecord { device_seq, id, revision, error, rejected_at: rejected_at.unwrap_or_default() });
        }
        Ok(out)
    }

    /// The record as it was saved (and sent), by its sequence number.
    pub fn visit_input(&self, device_seq: i64) -> Result<Option<VisitInput>, DeviceError> {
        let body: Option<String> = self
            .conn
            .query_row("SELECT body FROM visits WHERE device_seq = ?1", [device_seq], |r| r.get(0))
            .optional()?;
        body.map(|b| serde_json::from_str(&b).map_err(DeviceError::from)).transpose()
    }

    /// The visits recorded at or after `since` (by the phone's clock, as recorded), newest first,
    /// with where each stands: `pending`, `sent` or `rejected`.
    pub fn visits_since(&self, since: DateTime<FixedOffset>) -> Result<Vec<LocalVisit>, DeviceError> {
        let mut stmt = self.conn.prepare(
            "SELECT v.id, v.household_id, h.address, v.area_code, v.outcome, v.visited_at,
                    CASE WHEN o.device_seq IS NULL THEN 'sent' ELSE o.state END
             FROM visits v LEFT JOIN outbox o ON o.device_seq = v.device_seq
             LEFT JOIN households h ON h.id = v.household_id
             ORDER BY v.device_seq DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(LocalVisit {
                id: r.get(0)?,
                household_id: r.get(1)?,
                address: r.get(2)?,
                area_code: r.get(3)?,
                outcome: r.get(4)?,
                visited_at: r.get(5)?,
                state: r.get(6)?,
            })
        })?;
        let mut out = Vec::new();
        for row in rows {
            let v = row?;
            // Offsets differ between visits, so times are compared as instants, not as text.
            let at = DateTime::parse_from_rfc3339(&v.visited_at)
                .map_err(|e| DeviceError::Corrupt(format!("stored visit time {:?}: {e}", v.visited_at)))?;
            if at < since {
                break;
            }
            out.push(v);
        }
        Ok(out)
    }

    /// Every visit held, as (id, revision), in sequence order.
    pub fn recorded_ids(&self) -> Result<Vec<(String, i64)>, DeviceError> {
        let mut stmt = self.conn.prepare("SELECT id, revision FROM visits ORDER BY device_seq")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Applies one page of a pull in one transaction and moves the cursor past it.
    pub fn apply_pull(&mut self, pull: &PullResponse) -> Result<(), DeviceError> {
        self.apply_pull_for(None, pull)
    }

    /// As [`DeviceStore::apply_pull`], moving the cursor of one area: a volunteer assigned two
    /// areas pulls each from its own cursor.
    pub fn apply_pull_for(&mut self, area: Option<&str>, pull: &PullResponse) -> Result<(), DeviceError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut area = tx.prepare(
                "INSERT INTO areas (code, parent, name, division_type, level) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (code) DO UPDATE SET
                     parent = excluded.parent, name = excluded.name,
                     division_type = excluded.division_type, level = excluded.level",
            )?;
            for a in &pull.areas {
                area.execute(params![a.code, a.parent, a.name, a.division_type, a.level])?;
            }
            // Visits recorded here but not yet counted by the server must not disappear from the
            // volunteer's list: the larger count wins, and with it its latest outcome.
            let mut household = tx.prepare(
                "INSERT INTO households (id, area_code, address, lat, lon, latest_outcome, visits, revisit_due,
                     revisit_due_at_ms, latest_volunteer_id, latest_volunteer, latest_visited_at_ms, origin)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'server')
                 ON CONFLICT (id) DO UPDATE SET
                     area_code = excluded.area_code,
                     address = COALESCE(excluded.address, address),
                     lat = COALESCE(excluded.lat, lat),
                     lon = COALESCE(excluded.lon, lon),
                     latest_outcome = CASE WHEN excluded.visits >= visits
                         THEN excluded.latest_outcome ELSE latest_outcome END,
                     revisit_due = CASE WHEN excluded.visits >= visits
                         THEN excluded.revisit_due ELSE revisit_due END,
                     revisit_due_at_ms = CASE WHEN excluded.visits >= visits
                         THEN excluded.revisit_due_at_ms ELSE revisit_due_at_ms END,
                     -- A server before claims sends no latest volunteer: what is known stays.
                     latest_volunteer_id = CASE WHEN excluded.visits >= visits AND excluded.latest_volunteer_id IS NOT NULL
                         THEN excluded.latest_volunteer_id ELSE latest_volunteer_id END,
                     latest_volunteer = CASE WHEN excluded.visits >= visits AND excluded.latest_volunteer_id IS NOT NULL
                         THEN excluded.latest_volunteer ELSE latest_volunteer END,
                     latest_visited_at_ms = CASE WHEN excluded.visits >= visits AND excluded.latest_volunteer_id IS NOT NULL
                         THEN excluded.latest_visited_at_ms ELSE latest_visited_at_ms END,
                     visits = max(visits, excluded.visits)",
            )?;
            for h in &pull.households {
                // The due time when the server sends it; from a server before it, a household it
                // calls due is due at once, as it was.
                let due_at = h.revisit_due_at_ms.or(h.revisit_due.then_some(0));
                household.execute(params![
                    h.id,
                    h.area_code,
                    h.address,
                    h.lat,
                    h.lon,
                    h.latest_outcome,
                    h.visits,
                    due_at.is_some(),
                    due_at,
                    h.latest_volunteer_id,
                    h.latest_volunteer,
                    h.latest_visited_at_ms,
                ])?;
            }
        }
        claims::store_claims(&tx, &pull.claims)?;
        put_meta(&tx, &cursor_key(area), &pull.next_cursor.to_string())?;
        tx.commit()?;
        tracing::debug!(
            areas = pull.areas.len(),
            households = pull.households.len(),
            claims = pull.claims.len(),
            cursor = pull.next_cursor,
            "pull applied"
        );
        Ok(())
    }

    /// The furthest pull cursor of any area: 0 before the first pull.
    pub fn cursor(&self) -> Result<i64, DeviceError> {
        let mut stmt = self.conn.prepare("SELECT value FROM meta WHERE key = ?1 OR key LIKE ?1 || ':%'")?;
        let values = stmt.query_map([META_CURSOR], |r| r.get::<_, String>(0))?;
        let mut furthest = 0;
        for v in values {
            furthest = furthest.max(parse_cursor(&v?)?);
        }
        Ok(furthest)
    }

    /// The pull cursor of one area (`None`: the cursor [`DeviceStore::apply_pull`] moves).
    pub fn cursor_for(&self, area: Option<&str>) -> Result<i64, DeviceError> {
        match get_meta(&self.conn, &cursor_key(area))? {
            None => Ok(0),
            Some(v) => parse_cursor(&v),
        }
    }

    pub fn areas(&self) -> Result<Vec<AreaDto>, DeviceError> {
        let mut stmt =
            self.conn.prepare("SELECT code, parent, name, division_type, level FROM areas ORDER BY level, code")?;
        let rows = stmt.query_map([], |r| {
            Ok(AreaDto {
                code: r.get(0)?,
                parent: r.get(1)?,
                name: r.get(2)?,
                division_type: r.get(3)?,
                level: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Households in `area` and the areas below it (`None`: all). GSO codes do not nest as
    /// prefixes, so the subtree comes from the pulled areas' parent links; before any area is
    /// known, every household is returned.
    pub fn households(&self, area: Option<&str>) -> Result<Vec<LocalHousehold>, DeviceError> {
        self.households_at(area, Utc::now())
    }

    /// As [`DeviceStore::households`], with `revisit_due` and who holds each household
    /// (`holder`, `taken`) judged at `now` (the phone's clock).
    pub fn households_at(&self, area: Option<&str>, now: DateTime<Utc>) -> Result<Vec<LocalHousehold>, DeviceError> {
        Ok(self.judged_households(area, now)?.0)
    }

    /// The households of `area` judged at `now`, and the claims' book they were judged by.
    fn judged_households(
        &self, area: Option<&str>, now: DateTime<Utc>,
    ) -> Result<(Vec<LocalHousehold>, ClaimBook), DeviceError> {
        const COLUMNS: &str =
            "h.id, h.area_code, h.address, h.lat, h.lon, h.latest_outcome, h.visits, h.revisit_due_at_ms,
             h.latest_volunteer_id, h.latest_volunteer, h.latest_visited_at_ms";
        let areas_known: bool = self.conn.query_row("SELECT EXISTS (SELECT 1 FROM areas)", [], |r| r.get(0))?;
        let (sql, arg) = match area {
            Some(code) if areas_known => (
                format!(
                    "WITH RECURSIVE sub (code) AS (
                         SELECT ?1 UNION SELECT a.code FROM areas a JOIN sub ON a.parent = sub.code
                     )
                     SELECT {COLUMNS} FROM households h WHERE h.area_code IN (SELECT code FROM sub)
                     ORDER BY h.area_code, h.id"
                ),
                Some(code),
            ),
            _ => (format!("SELECT {COLUMNS} FROM households h ORDER BY h.area_code, h.id"), None),
        };
        let mut stmt = self.conn.prepare(&sql)?;
        let now_ms = now.timestamp_millis();
        let map = |r: &rusqlite::Row<'_>| {
            let due_at: Option<i64> = r.get(7)?;
            Ok(LocalHousehold {
                id: r.get(0)?,
                area_code: r.get(1)?,
                address: r.get(2)?,
                lat: r.get(3)?,
                lon: r.get(4)?,
                latest_outcome: r.get(5)?,
                visits: r.get(6)?,
                revisit_due: due_at.is_some_and(|at| at <= now_ms),
                revisit_due_at_ms: due_at,
                latest_volunteer_id: r.get(8)?,
                latest_volunteer: r.get(9)?,
                latest_visited_at_ms: r.get(10)?,
                holder: None,
                taken: false,
            })
        };
        let mut rows = match arg {
            Some(code) => stmt.query_map([code], map)?.collect::<Result<Vec<_>, _>>()?,
            None => stmt.query_map([], map)?.collect::<Result<Vec<_>, _>>()?,
        };
        let book = self.judge_holders(&mut rows, now_ms)?;
        Ok((rows, book))
    }

    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), DeviceError> {
        put_meta(&self.conn, key, value)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, DeviceError> {
        get_meta(&self.conn, key)
    }

    pub fn delete_meta(&mut self, key: &str) -> Result<(), DeviceError> {
        self.conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
        Ok(())
    }
}

/// Refuses a file that is not ours before anything is written to it.
fn check_ownership(conn: &Connection, path: &Path) -> Result<(), DeviceError> {
    let shown = path.display();
    let app_id: i32 =
        conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => DeviceError::Corrupt(format!(
                "{shown} is not a SQLite database (damaged, encrypted or another kind of file)"
            )),
            _ => DeviceError::from(e),
        })?;
    if app_id == APPLICATION_ID {
        return Ok(());
    }
    if app_id != 0 {
        return Err(DeviceError::Corrupt(format!(
            "{shown} belongs to another application (SQLite application_id {app_id:#010x}, Doorstep's is {APPLICATION_ID:#010x})"
        )));
    }
    // No id: only an empty database may become ours. The id is written in the same transaction
    // as the first schema step, so a Doorstep file is never left with tables and no id.
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    if objects > 0 {
        return Err(DeviceError::Corrupt(format!(
            "{shown} is a SQLite database of another application (it has tables but no Doorstep application_id)"
        )));
    }
    Ok(())
}

fn cursor_key(area: Option<&str>) -> String {
    match area {
        None => META_CURSOR.to_string(),
        Some(a) => format!("{META_CURSOR}:{a}"),
    }
}

fn parse_cursor(v: &str) -> Result<i64, DeviceError> {
    v.parse().map_err(|_| DeviceError::Corrupt(format!("the pull cursor {v:?} is not a number")))
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), DeviceError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(DeviceError::Corrupt(format!(
            "{} has schema version {version}, newer than this app knows ({known}); update the app",
            path.display()
        )));
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(version).unwrap_or(0)) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        // Pragmas cannot take bound parameters; both values are our own integers.
        tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {};", step + 1))?;
        tx.commit()?;
        tracing::info!(path = %path.display(), version = step + 1, "device store migrated");
    }
    Ok(())
}

fn ensure_identity(conn: &mut Connection) -> Result<(Uuid, Uuid), DeviceError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for key in [META_DEVICE_ID, META_VOLUNTEER_ID] {
        tx.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
            params![key, Uuid::now_v7().to_string()],
        )?;
    }
    tx.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?1, '0')", [META_LAST_SEQ])?;
    let read = |tx: &Transaction<'_>, key: &str| -> Result<Uuid, DeviceError> {
        let v = get_meta(tx, key)?.unwrap_or_default();
        Uuid::try_parse(&v).map_err(|_| DeviceError::Corrupt(format!("the stored {key} {v:?} is not a UUID")))
    };
    let ids = (read(&tx, META_DEVICE_ID)?, read(&tx, META_VOLUNTEER_ID)?);
    tx.commit()?;
    Ok(ids)
}

fn load_campaign(conn: &Connection) -> Result<Campaign, DeviceError> {
    let Some(json) = get_meta(conn, META_CAMPAIGN)? else {
        return Ok(Campaign::bluezone());
    };
    match serde_json::from_str(&json) {
        Ok(c) => Ok(c),
        Err(e) => {
            // A campaign saved by another app version must not stop the volunteer from working;
            // the next set_campaign (after a sync) replaces it.
            tracing::warn!(error = %e, "stored campaign unreadable; using the default campaign");
            Ok(Campaign::bluezone())
        }
    }
}

/// A new revision of a visit: which, its number, and what it keeps of the visit (its time,
/// household and area).
struct Revises {
    id: String,
    revision: i64,
    visited_at: DateTime<FixedOffset>,
    household: Uuid,
    area: String,
}

/// The next revision of a visit: one past the highest the server holds or will (this phone's
/// own revisions, acknowledged or still waiting, and the one a leader sent back), so the
/// server, which takes a visit's revisions in order, never sees a gap. A refused revision is not
/// counted: the server never stored it, and its number is used again.
fn next_revision(conn: &Connection, id: &str, sent_back: Option<i64>) -> Result<i64, DeviceError> {
    let held: Option<i64> = conn.query_row(
        "SELECT MAX(v.revision) FROM visits v LEFT JOIN outbox o ON o.device_seq = v.device_seq
         WHERE v.id = ?1 AND v.revision > 0 AND (o.state IS NULL OR o.state = 'pending')",
        [id],
        |r| r.get(0),
    )?;
    Ok(held.unwrap_or(0).max(sent_back.unwrap_or(0)) + 1)
}

fn last_seq(conn: &Connection) -> Result<i64, DeviceError> {
    match get_meta(conn, META_LAST_SEQ)? {
        None => Ok(0),
        Some(v) => v.parse().map_err(|_| DeviceError::Corrupt(format!("the sequence counter {v:?} is not a number"))),
    }
}

fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>, DeviceError> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

fn put_meta(conn: &Connection, key: &str, value: &str) -> Result<(), DeviceError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// For a rejection that came without a reason, so the volunteer still sees something to act on.
/// A refusal as the outbox keeps it (the server's error as JSON), or the unexplained one.
fn stored_error(json: Option<String>) -> Result<ErrorBody, DeviceError> {
    match json {
        Some(json) => Ok(serde_json::from_str(&json)?),
        None => Ok(unexplained_rejection()),
    }
}

fn unexplained_rejection() -> ErrorBody {
    ErrorBody::new(
        "rejected",
        None,
        Messages {
            vi: "Máy chủ từ chối bản ghi này mà không nêu lý do; hãy báo cho tổ trưởng.".into(),
            en: "The server refused this record without giving a reason; tell your team leader.".into(),
        },
        Lang::Vi,
    )
}

pub mod crypt;
pub use crypt::{DbKey, KeyError, KeyFile, KeyStore, key_connection};
mod keyring;
#[cfg(all(feature = "desktop-keyring", target_os = "linux"))]
pub use keyring::DesktopKeyring;
pub use keyring::platform_keys;
mod claims;
pub use claims::MyClaim;
mod enumerated;
mod venues;
pub use venues::{LocalVenue, RejectedVenueVisit, VenueVisitDraft};
mod photos;
pub use photos::{LocalPhoto, PhotoDraft, PhotoQueue, PhotoRefusal, PreparedPhoto, prepare_photo, sha256_hex};
mod wipe;
pub use wipe::{META_REVOKED, WipeBlockers, WipeMarker, WipeOutcome, marker_path, read_marker};

#[cfg(test)]
mod tests;
