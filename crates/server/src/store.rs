//! The storage trait: everything the server keeps goes through it, with one implementation per
//! database. The same test suite runs against each (DESIGN.md invariant 8).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use doorstep_domain::area::{AreaRecord, fold_for_search, order_parents_first, vietnamese_sort_key};
use doorstep_domain::protocol::{AreaDto, Coverage, ErrorBody, PullResponse, Receipt, ReceiptStatus};
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

/// A refusal receipt.
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

#[cfg(test)]
mod tests {
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
