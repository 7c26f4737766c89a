//! The storage trait: everything the server keeps goes through it, with one implementation per
//! database. The same test suite runs against each (DESIGN.md invariant 8).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use doorstep_domain::area::AreaRecord;
use doorstep_domain::protocol::{AreaDto, Coverage, PullResponse, Receipt};
use doorstep_domain::values::{AreaCode, Id};
use doorstep_domain::{Campaign, FieldError, Lang, Visit};

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
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

/// One record of a push batch after decoding and validation.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A valid visit, its [`content_hash`] and its id as text for the receipt, all made before
    /// the write lock is taken.
    Valid {
        visit: Box<Visit>,
        hash: [u8; 32],
        id: String,
    },
    Invalid {
        id: Option<String>,
        revision: Option<i64>,
        error: FieldError,
    },
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

#[async_trait]
pub trait Store: Send + Sync + 'static {
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
        campaign: &Campaign,
    ) -> Result<Option<PullResponse>, StoreError>;

    /// Coverage of an area subtree; `None` when the area is unknown.
    async fn coverage(&self, area: &AreaCode) -> Result<Option<Coverage>, StoreError>;

    /// The children of an area (the roots when `parent` is `None`), in Vietnamese order.
    async fn child_areas(&self, parent: Option<&AreaCode>) -> Result<Vec<AreaDto>, StoreError>;

    /// Adds expected households; ones already held are left as they are. Returns how many were new.
    async fn add_households(&self, households: Vec<NewHousehold>) -> Result<u64, StoreError>;

    async fn counts(&self) -> Result<StoreCounts, StoreError>;
}
