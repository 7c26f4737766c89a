//! What both ingest engines share (`db/sqlite`'s writer thread, `db/postgres`'s rounds): a push
//! as the engines take it, the revision rules judged against what is held, the receipts, each
//! household's H3 cell, and the figures a batch adds (`area_stats`, `area_days`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use doorstep_domain::protocol::{ErrorBody, Receipt, ReceiptStatus};
use doorstep_domain::values::Id;
use doorstep_domain::{FieldError, Lang, Visit};
use h3o::{LatLng, Resolution};

use uuid::Uuid;

use crate::store::StoreError;

/// The resolution stored per household (about 0.1 km² a cell, a few streets): the finest a map
/// may ask for.
pub const FINE_RES: Resolution = Resolution::Nine;

/// A household's cell at [`FINE_RES`], as stored (an H3 index fits in 63 bits); `None` for a
/// coordinate that is not a number.
pub fn fine_cell(lat: f64, lon: f64) -> Option<i64> {
    let ll = LatLng::new(lat, lon).ok()?;
    i64::try_from(u64::from(ll.to_cell(FINE_RES))).ok()
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
        /// The H3 cell of the visit's location ([`fine_cell`]), if it has one.
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
        let cell = visit.location.point.and_then(|p| fine_cell(p.lat, p.lon));
        Incoming::Valid { id: visit.id.to_string(), visit: Box::new(visit), hash, cell }
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
    /// The thresholds of the data-quality flags (`crate::db::quality`), from the campaign.
    pub rules: doorstep_domain::quality::QualityRules,
    /// Sent with a revoked device's token (uploading what it held before it erases itself):
    /// every visit is stored as usual and flagged `revoked_device`.
    pub revoked_device: bool,
    /// The field app's version the phone sent (`User-Agent: doorstep-field/X.Y.Z`), if any.
    pub app_version: Option<String>,
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

/// What a household row takes from a newer visit's upsert (`excluded`), in both databases'
/// ingest: visits add up, the latest visit's outcome and figures replace the old, and an address,
/// a place or a cell once known is kept. A macro, so that `concat!` joins it into a constant.
#[macro_export]
macro_rules! household_upsert_set {
    () => {
        "updated_seq = excluded.updated_seq,
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
        latest_volunteer_id = excluded.latest_volunteer_id"
    };
}

/// The held revisions of one visit (`?1`, SQLite's form; PostgreSQL reads many at once with
/// `WHERE id = ANY($1)`): revision, volunteer, household, area, seq, hash.
pub const HELD_REVISIONS_SQL: &str = "SELECT revision, volunteer_id, household_id, area_code, server_seq, content_hash
    FROM visits WHERE id = ?1";

/// A row of [`HELD_REVISIONS_SQL`] (or `venues::VENUE_REVISIONS`: the same columns).
pub fn held_revision(r: &crate::db::Row) -> Result<HeldRevision, StoreError> {
    let (revision, volunteer_id, subject, area_code, server_seq, content_hash) = r.columns()?;
    Ok(HeldRevision { revision, volunteer_id, subject, area_code, server_seq, content_hash })
}

/// What a push answers for a later revision (revision > 1) before storing it, given every
/// revision of its visit held: the receipt when it is answered without being stored (held
/// already: a duplicate, or the id re-used; or refused by [`doorstep_domain::visit::check_revision`]:
/// not the visit's volunteer, another household or area, a gap in the numbers), `None` to store it.
pub fn judge_revision(
    index: usize, (id, revision, hash): (&str, doorstep_domain::visit::Revision<'_>, &[u8; 32]), held: &[HeldRevision],
    sender: Option<Uuid>, lang: Lang,
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
    let base = held.iter().find(|h| h.revision == 1).map(|first| doorstep_domain::visit::HeldVisit {
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
        let mut rows: Vec<_> = all.into_iter().filter(|(_, f)| !f.is_zero()).map(|((a, o), f)| (a, o, f)).collect();
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

/// The receipt for a record that was not inserted because something is held already: the same
/// content is a duplicate (pointing at the held record); other content under the same id is an
/// id re-used; nothing under the id means another record holds this device's sequence number.
/// Both databases answer through here.
pub fn not_inserted_receipt(
    index: usize, id: Option<String>, revision: Option<i64>, held: Option<(i64, &[u8])>, hash: &[u8; 32], lang: Lang,
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
        None => rejected(index, id, revision, &FieldError::new("device_seq", ErrorKind::SequenceReused), lang),
    }
}

#[cfg(test)]
mod stats_tests {
    use super::*;

    #[test]
    fn a_household_moves_between_buckets_in_every_ancestor() {
        let mut d = StatDeltas::default();
        let f = |h, v, s| Figures { households: h, visits: v, smartphones: s, already_installed: 0, installed_now: 0 };
        d.replace("/42/436/18073/", None, ("", f(1, 0, 0)));
        d.replace("/42/436/18073/", Some(("", f(1, 0, 0))), ("not_home", f(1, 1, 0)));
        let rows = d.rows();
        // The empty bucket nets to zero and is left out; the new one is in all three areas.
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|(_, o, fig)| o == "not_home" && *fig == f(1, 1, 0)));
        assert_eq!(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["18073", "42", "436"]);
    }
}
