//! Venues (cơ sở): agencies, schools, businesses and transport hubs, and the visits made to them.
//!
//! A venue visit travels like a household visit (a device-made UUIDv7 and revision, the phone's
//! sequence number, a receipt per record after commit, exactly once) but through its own push
//! (`POST /api/v1/sync/venues`) and tables. Venues are few (tens per commune, against hundreds
//! of households per village), so their figures are computed when read, from the latest
//! revision of each visit, rather than kept on ingest like the households' `area_stats`.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use doorstep_domain::error::ErrorKind;
use doorstep_domain::protocol::{Receipt, UnitVenues, VenueDto, VenueFigures, VenueGroupFigures, VenueProgress};
use doorstep_domain::venue::{VenueGroup, VenueKind, VenueVisit, VenueVisitInput};
use doorstep_domain::{FieldError, Lang};
use uuid::Uuid;

use crate::db::ingest::rejected;
use crate::db::{Db, params};
use crate::store::{StoreError, subtree_range};

/// Registers a venue the first time a visit names it; later visits update its details.
pub const VENUE_INSERT: &str = "INSERT INTO venues (id, area_code, kind, name, address, lat, lon, registered_ms)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING";
/// A stored visit's venue details win over the ones registered before it: a correction of a
/// name arrives as a later visit. Its area stays the one it was registered in.
pub const VENUE_UPDATE: &str = "UPDATE venues SET kind = $2, name = $3, address = $4,
    lat = COALESCE($5, lat), lon = COALESCE($6, lon) WHERE id = $1";
pub const VENUE_VISIT_INSERT: &str = "INSERT INTO venue_visits (id, revision, venue_id, area_code, device_id,
    device_seq, volunteer_id, visited_at, local_day, people_reached, smartphones, already_installed, installed_now,
    notices_posted, visitors_came_in, visitors_told, visitors_installed, lat, lon, accuracy_m, notes, body,
    content_hash, received_at_ms)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
        $23, $24)
    ON CONFLICT DO NOTHING RETURNING seq";
pub const VENUE_VISIT_BY_ID: &str = "SELECT seq, content_hash FROM venue_visits WHERE id = $1 AND revision = $2";

/// The venues of a subtree.
pub const VENUES_IN_SQL: &str = "SELECT w.id, w.area_code, w.kind, w.name, w.address, w.lat, w.lon
    FROM venues w JOIN areas a ON a.code = w.area_code
    WHERE a.path >= $1 AND a.path < $2";

/// The latest revision of each venue visit of a subtree between two local days (inclusive).
pub const VENUE_VISITS_IN_SQL: &str = "SELECT a.path, v.area_code, v.venue_id, w.kind, w.name, v.id, v.revision,
        v.volunteer_id, v.visited_at, v.local_day, v.people_reached, v.smartphones, v.already_installed,
        v.installed_now, v.notices_posted, v.visitors_came_in, v.visitors_told, v.visitors_installed, v.lat, v.lon,
        v.notes
    FROM venue_visits v JOIN areas a ON a.code = v.area_code JOIN venues w ON w.id = v.venue_id
    WHERE a.path >= $1 AND a.path < $2 AND v.local_day >= $3 AND v.local_day <= $4
      AND NOT EXISTS (SELECT 1 FROM venue_visits n WHERE n.id = v.id AND n.revision > v.revision)
    ORDER BY v.seq";

/// One record of a venue push after decoding and validation.
#[derive(Debug, Clone)]
pub enum VenueIncoming {
    Valid {
        visit: Box<VenueVisit>,
        /// SHA-256 of the canonical JSON: same id and revision with another hash is refused.
        hash: [u8; 32],
        body: String,
    },
    Invalid {
        id: Option<String>,
        revision: Option<i64>,
        error: FieldError,
    },
}

impl VenueIncoming {
    pub fn valid(visit: VenueVisit) -> VenueIncoming {
        use sha2::Digest;
        let body = visit.canonical_json();
        let hash = sha2::Sha256::digest(body.as_bytes()).into();
        VenueIncoming::Valid { visit: Box::new(visit), hash, body }
    }
}

#[derive(Debug, Clone)]
pub struct VenueBatch {
    pub device_id: Uuid,
    pub received_at_ms: i64,
    pub lang: Lang,
    pub records: Vec<VenueIncoming>,
    /// The volunteer the sending phone was enrolled for: only they add revisions to their visits.
    pub volunteer_id: Uuid,
    /// The roots of the areas that volunteer works in (`auth::scope_rule`): only phones working
    /// in a venue's area change its details.
    pub scope: Vec<String>,
}

/// A venue as held, when a visit names it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldVenue {
    pub area_code: String,
    pub kind: String,
    pub name: String,
    pub address: Option<String>,
}

/// The venue a visit names, as held ([`HeldVenue`]).
pub const VENUE_HELD: &str = "SELECT area_code, kind, name, address FROM venues WHERE id = $1";
/// The revisions held of one venue visit, as [`crate::db::ingest::HeldRevision`]s.
pub const VENUE_REVISIONS: &str =
    "SELECT revision, volunteer_id, venue_id, area_code, seq, content_hash FROM venue_visits WHERE id = $1";

/// What a venue visit may do to the venue it names (`held`; `None`: a new venue, which this
/// visit registers in its area): `Ok(true)` store it and take its details (kind, name, address,
/// place), `Ok(false)` store it and leave the venue as it is, `Err` refuse it. A venue keeps the
/// area it was registered in, so a visit naming it from another area is refused; its details
/// change only through visits from phones that work in its area (`area_path` under one of
/// `scope`'s roots); a phone from elsewhere (a volunteer who registered it outside their
/// assignment, say) may record a visit that changes nothing.
pub fn venue_check(
    held: Option<&HeldVenue>, visit: &VenueVisit, area_path: &str, scope: &[String],
) -> Result<bool, FieldError> {
    let Some(held) = held else { return Ok(true) };
    let refused = || FieldError::new("venue.id", ErrorKind::VenueOutOfArea);
    if held.area_code != visit.area_code.as_str() {
        return Err(refused());
    }
    if scope.iter().any(|root| area_path.starts_with(root.as_str())) {
        return Ok(true);
    }
    let same = held.kind == visit.venue.kind.as_str()
        && held.name == visit.venue.name.as_str()
        && held.address.as_deref() == visit.venue.address.as_ref().map(|a| a.as_str());
    if same { Ok(false) } else { Err(refused()) }
}

/// What a stored venue visit's row holds, in the order of `VENUE_VISIT_INSERT`'s columns.
pub struct VenueVisitValues {
    pub local_day: String,
    pub visitors: [Option<i64>; 3],
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
}

impl VenueVisitValues {
    pub fn of(v: &VenueVisit) -> VenueVisitValues {
        let p = v.location.point;
        let log = v.visitor_log;
        VenueVisitValues {
            // The phone's own calendar day, as the household visits' days are counted.
            local_day: v.visited_at.date_naive().format("%Y-%m-%d").to_string(),
            visitors: [
                log.map(|l| i64::from(l.came_in.get())),
                log.map(|l| i64::from(l.told.get())),
                log.map(|l| i64::from(l.installed.get())),
            ],
            lat: p.map(|p| p.lat),
            lon: p.map(|p| p.lon),
            accuracy_m: p.and_then(|p| p.accuracy_m),
        }
    }
}

/// What became of a record whose insert did nothing: the same rules as a visit's.
pub fn not_inserted(
    index: usize, visit: &VenueVisit, existing: Option<(i64, Vec<u8>)>, hash: &[u8; 32], lang: Lang,
) -> Receipt {
    crate::db::ingest::not_inserted_receipt(
        index,
        Some(visit.id.to_string()),
        Some(visit.revision.get()),
        existing.as_ref().map(|(seq, held)| (*seq, held.as_slice())),
        hash,
        lang,
    )
}

pub fn stored(index: usize, visit: &VenueVisit, seq: i64) -> Receipt {
    Receipt::stored(index, Some(visit.id.to_string()), Some(visit.revision.get()), seq)
}

pub fn unknown_area(index: usize, visit: &VenueVisit, lang: Lang) -> Receipt {
    rejected(
        index,
        Some(visit.id.to_string()),
        Some(visit.revision.get()),
        &FieldError::new("area_code", ErrorKind::UnknownArea { code: visit.area_code.to_string() }),
        lang,
    )
}

/// A venue as the store reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueRow {
    pub id: Uuid,
    pub area_code: String,
    pub kind: String,
    pub name: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// The latest revision of one venue visit, as the store reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueVisitRow {
    pub path: String,
    pub area_code: String,
    pub venue_id: Uuid,
    pub kind: String,
    pub venue_name: String,
    pub id: Uuid,
    pub revision: i64,
    pub volunteer_id: Uuid,
    pub visited_at: String,
    pub local_day: String,
    /// people reached, smartphones, already installed, installed now, notices posted.
    pub counts: [i64; 5],
    /// came in, told, installed (the visitor log), when the visit reported one.
    pub visitors: [Option<i64>; 3],
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub notes: Option<String>,
}

impl VenueVisitRow {
    pub fn group(&self) -> VenueGroup {
        VenueKind::parse("kind", &self.kind).map(VenueKind::group).unwrap_or(VenueGroup::Business)
    }
}

/// Figures of a set of venue visits: venues counted once however often visited.
fn figures<'a>(rows: impl Iterator<Item = &'a VenueVisitRow>) -> VenueFigures {
    let mut f = VenueFigures::default();
    let mut seen = HashSet::new();
    for r in rows {
        if seen.insert(r.venue_id) {
            f.venues += 1;
        }
        f.visits += 1;
        f.people_reached += r.counts[0];
        f.smartphones += r.counts[1];
        f.already_installed += r.counts[2];
        f.installed_now += r.counts[3];
        f.notices_posted += r.counts[4];
        f.visitors_came_in += r.visitors[0].unwrap_or(0);
        f.visitors_told += r.visitors[1].unwrap_or(0);
        f.visitors_installed += r.visitors[2].unwrap_or(0);
    }
    f
}

/// The four groups' figures of a set of visits, in the letter's order.
pub fn by_group(rows: &[&VenueVisitRow]) -> Vec<VenueGroupFigures> {
    VenueGroup::ALL
        .into_iter()
        .map(|group| VenueGroupFigures { group, figures: figures(rows.iter().copied().filter(|r| r.group() == group)) })
        .collect()
}

/// An area's venue figures and its units' (`units`: code, name and path of each child area).
pub fn venue_progress(rows: &[VenueVisitRow], units: &[(String, String, String)]) -> VenueProgress {
    let all: Vec<&VenueVisitRow> = rows.iter().collect();
    VenueProgress {
        totals: by_group(&all),
        units: units
            .iter()
            .map(|(code, name, path)| {
                let mine: Vec<&VenueVisitRow> = rows.iter().filter(|r| r.path.starts_with(path.as_str())).collect();
                UnitVenues { area_code: code.clone(), area_name: name.clone(), groups: by_group(&mine) }
            })
            .collect(),
    }
}

/// The venues of a subtree with the figures of their visits, by name.
pub fn venue_list(venues: Vec<VenueRow>, visits: &[VenueVisitRow]) -> Vec<VenueDto> {
    let mut of: BTreeMap<Uuid, Vec<&VenueVisitRow>> = BTreeMap::new();
    for v in visits {
        of.entry(v.venue_id).or_default().push(v);
    }
    let mut out: Vec<VenueDto> = venues
        .into_iter()
        .filter_map(|w| {
            let kind = VenueKind::parse("kind", &w.kind).ok()?;
            let mine = of.get(&w.id).map(Vec::as_slice).unwrap_or(&[]);
            let f = figures(mine.iter().copied());
            Some(VenueDto {
                id: w.id.to_string(),
                area_code: w.area_code,
                kind,
                name: w.name,
                address: w.address,
                lat: w.lat,
                lon: w.lon,
                visits: f.visits,
                // RFC 3339 texts of one offset compare as times; across offsets nearly so.
                last_visited_at: mine.iter().map(|v| v.visited_at.clone()).max(),
                people_reached: f.people_reached,
                installed_now: f.installed_now,
                notices_posted: f.notices_posted,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        doorstep_domain::area::vietnamese_sort_key(&a.name)
            .cmp(&doorstep_domain::area::vietnamese_sort_key(&b.name))
            .then(a.id.cmp(&b.id))
    });
    out
}

/// The first local day any visit could have: the lower end of "all days".
pub const FIRST_DAY: &str = "2020-01-01";

/// An area's venue progress up to `to` (every day before it included).
pub async fn progress_of(
    store: &dyn crate::store::Store, path: &str, units: &[(String, String, String)], to: NaiveDate,
) -> Result<VenueProgress, StoreError> {
    let (lo, hi) = subtree_range(path);
    let rows = crate::venues::venue_visits_in(store, &lo, &hi, FIRST_DAY, &day(to)).await?;
    Ok(venue_progress(&rows, units))
}

/// The venue visits of `area`'s subtree on one local day, in receive order.
pub async fn visits_on(
    store: &dyn crate::store::Store, area: &doorstep_domain::values::AreaCode, date: NaiveDate,
) -> Result<Vec<VenueVisitRow>, StoreError> {
    let Some(path) = crate::areas::area_path(store, area.as_str()).await? else {
        return Ok(Vec::new());
    };
    let (lo, hi) = subtree_range(&path);
    crate::venues::venue_visits_in(store, &lo, &hi, &day(date), &day(date)).await
}

pub fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// One venue record of a push as the push decoder read it: parsed and checked, the
/// sending device's among the checks.
pub(crate) fn read_venue_record(
    read: Result<VenueVisitInput, (Option<String>, doorstep_domain::FieldError)>,
    ctx: &doorstep_domain::ValidationContext<'_>, sender: uuid::Uuid,
) -> VenueIncoming {
    match read {
        Err((id, error)) => VenueIncoming::Invalid { id, revision: None, error },
        Ok(input) => match VenueVisit::parse(&input, ctx) {
            Ok(v) if v.device_id.uuid() != sender => VenueIncoming::Invalid {
                id: Some(input.id.clone()),
                revision: Some(input.revision),
                error: FieldError::new("device_id", ErrorKind::NotTheSendingDevice),
            },
            Ok(v) => VenueIncoming::valid(v),
            Err(error) => VenueIncoming::Invalid { id: Some(input.id.clone()), revision: Some(input.revision), error },
        },
    }
}

/// The daily report's venue sheets: each unit's venues by group (every day up to the report's),
/// and the day's venue visits.
pub fn venue_sheets(
    book: &mut rust_xlsxwriter::Workbook, progress: &VenueProgress, day_visits: &[VenueVisitRow], lang: Lang,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::Format;
    let head = Format::new().set_bold().set_text_wrap().set_background_color("#DDE7F3");
    let bold = Format::new().set_bold();
    let h = |vi: &str, en: &str| format!("{vi}\n{en}");

    let sheet = book.add_worksheet();
    sheet.set_name("Cơ sở")?;
    sheet.set_column_width(0, 30)?;
    let mut headers = vec![h("Đơn vị", "Unit")];
    for g in VenueGroup::ALL {
        let label = g.label();
        headers.push(h(&format!("{}: số cơ sở", label.vi), &format!("{}: venues", label.en)));
    }
    for (vi, en) in [
        ("Người được tuyên truyền", "People reached"),
        ("Điện thoại thông minh", "Smartphones"),
        ("Đã cài trước", "Already installed"),
        ("Cài mới", "Installed now"),
        ("Thông báo đã dán", "Notices posted"),
        ("Sổ theo dõi: người đến", "Visitor log: came in"),
        ("Sổ theo dõi: được tuyên truyền", "Visitor log: told"),
        ("Sổ theo dõi: đã cài", "Visitor log: installed"),
    ] {
        headers.push(h(vi, en));
    }
    for (c, text) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, text, &head)?;
    }
    let total_row = |groups: &[VenueGroupFigures]| -> (Vec<i64>, VenueFigures) {
        let mut sum = VenueFigures::default();
        for g in groups {
            let f = g.figures;
            sum.people_reached += f.people_reached;
            sum.smartphones += f.smartphones;
            sum.already_installed += f.already_installed;
            sum.installed_now += f.installed_now;
            sum.notices_posted += f.notices_posted;
            sum.visitors_came_in += f.visitors_came_in;
            sum.visitors_told += f.visitors_told;
            sum.visitors_installed += f.visitors_installed;
        }
        (groups.iter().map(|g| g.figures.venues).collect(), sum)
    };
    let mut rows: Vec<(String, &[VenueGroupFigures], bool)> =
        progress.units.iter().map(|u| (u.area_name.clone(), u.groups.as_slice(), false)).collect();
    rows.push((
        match lang {
            Lang::Vi => "Tổng cộng".to_string(),
            Lang::En => "Total".to_string(),
        },
        progress.totals.as_slice(),
        true,
    ));
    for (i, (name, groups, total)) in rows.iter().enumerate() {
        let r = 1 + i as u32;
        if *total {
            sheet.write_string_with_format(r, 0, name, &bold)?;
        } else {
            sheet.write_string(r, 0, name)?;
        }
        let (venues, f) = total_row(groups);
        let mut values = venues;
        values.extend([
            f.people_reached,
            f.smartphones,
            f.already_installed,
            f.installed_now,
            f.notices_posted,
            f.visitors_came_in,
            f.visitors_told,
            f.visitors_installed,
        ]);
        for (c, v) in values.iter().enumerate() {
            sheet.write_number(r, 1 + c as u16, *v as f64)?;
        }
    }

    let sheet = book.add_worksheet();
    sheet.set_name("Lượt thăm cơ sở")?;
    sheet.set_column_width(2, 30)?;
    let headers = [
        h("Giờ", "Time"),
        h("Địa bàn", "Area"),
        h("Cơ sở", "Venue"),
        h("Loại", "Kind"),
        h("Người được tuyên truyền", "People reached"),
        h("Điện thoại thông minh", "Smartphones"),
        h("Đã cài trước", "Already installed"),
        h("Cài mới", "Installed now"),
        h("Thông báo đã dán", "Notices posted"),
        h("Sổ: người đến", "Log: came in"),
        h("Sổ: được tuyên truyền", "Log: told"),
        h("Sổ: đã cài", "Log: installed"),
        h("Ghi chú", "Notes"),
    ];
    for (c, text) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, text, &head)?;
    }
    for (i, v) in day_visits.iter().enumerate() {
        let r = 1 + i as u32;
        crate::report::write_local_time(sheet, r, 0, &v.visited_at)?;
        sheet.write_string(r, 1, &v.area_code)?;
        sheet.write_string(r, 2, &v.venue_name)?;
        let kind = VenueKind::parse("kind", &v.kind)
            .map(|k| k.label().get(lang).to_string())
            .unwrap_or_else(|_| v.kind.clone());
        sheet.write_string(r, 3, kind)?;
        for (c, n) in v.counts.iter().enumerate() {
            sheet.write_number(r, 4 + c as u16, *n as f64)?;
        }
        for (c, n) in v.visitors.iter().enumerate() {
            if let Some(n) = n {
                sheet.write_number(r, 9 + c as u16, *n as f64)?;
            }
        }
        if let Some(notes) = &v.notes {
            sheet.write_string(r, 12, notes)?;
        }
    }
    Ok(())
}

/// The venues of the subtree `[lo, hi)` ([`VENUES_IN_SQL`]).
pub async fn venues_in(db: &dyn Db, lo: &str, hi: &str) -> Result<Vec<VenueRow>, StoreError> {
    let rows = db.query(VENUES_IN_SQL, params![lo, hi]).await?;
    rows.iter()
        .map(|r| {
            let (id, area_code, kind, name, address, lat, lon) = r.columns()?;
            Ok(VenueRow { id, area_code, kind, name, address, lat, lon })
        })
        .collect()
}

/// The venue visits of the subtree `[lo, hi)` between two local days ([`VENUE_VISITS_IN_SQL`]).
pub async fn venue_visits_in(
    db: &dyn Db, lo: &str, hi: &str, from_day: &str, to_day: &str,
) -> Result<Vec<VenueVisitRow>, StoreError> {
    let rows = db.query(VENUE_VISITS_IN_SQL, params![lo, hi, from_day, to_day]).await?;
    rows.iter()
        .map(|r| {
            let (path, area_code, venue_id, kind, venue_name, id, revision, volunteer_id, visited_at, local_day) =
                r.columns()?;
            let counts = [r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?, r.get(14)?];
            let visitors = [r.get(15)?, r.get(16)?, r.get(17)?];
            let (lat, lon, notes) = (r.get(18)?, r.get(19)?, r.get(20)?);
            Ok(VenueVisitRow {
                path,
                area_code,
                venue_id,
                kind,
                venue_name,
                id,
                revision,
                volunteer_id,
                visited_at,
                local_day,
                counts,
                visitors,
                lat,
                lon,
                notes,
            })
        })
        .collect()
}

/// Stores a phone's venue visits in one transaction, each judged like a visit (a later revision
/// only from its own volunteer, next in order) and against its venue (only from its own area);
/// a receipt per record.
pub async fn push_venue_visits(db: &dyn Db, batch: VenueBatch) -> Result<Vec<Receipt>, StoreError> {
    let mut tx = db.begin().await?;
    let codes: Vec<String> = batch
        .records
        .iter()
        .filter_map(|r| match r {
            VenueIncoming::Valid { visit, .. } => Some(visit.area_code.to_string()),
            VenueIncoming::Invalid { .. } => None,
        })
        .collect();
    let sql = format!("SELECT code, path FROM areas WHERE code IN (SELECT value FROM {})", tx.dialect().json_texts(1));
    let known = tx
        .query(&sql, vec![crate::db::json_list(&codes)?])
        .await?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect::<Result<std::collections::HashMap<String, String>, StoreError>>()?;
    let mut receipts = Vec::with_capacity(batch.records.len());
    for (index, record) in batch.records.iter().enumerate() {
        let (v, hash, body) = match record {
            VenueIncoming::Invalid { id, revision, error } => {
                receipts.push(rejected(index, id.clone(), *revision, error, batch.lang));
                continue;
            }
            VenueIncoming::Valid { visit, hash, body } => (visit, hash, body),
        };
        let Some(area_path) = known.get(v.area_code.as_str()) else {
            receipts.push(unknown_area(index, v, batch.lang));
            continue;
        };
        let venue_id = v.venue.id.uuid();
        if v.revision.get() > 1 {
            let held = tx
                .query(VENUE_REVISIONS, params![v.id.uuid()])
                .await?
                .iter()
                .map(crate::db::ingest::held_revision)
                .collect::<Result<Vec<_>, _>>()?;
            let id = v.id.to_string();
            if let Some(receipt) = crate::db::ingest::judge_revision(
                index,
                (&id, v.as_revision(), hash),
                &held,
                Some(batch.volunteer_id),
                batch.lang,
            ) {
                receipts.push(receipt);
                continue;
            }
        }
        let venue = tx
            .query_opt(VENUE_HELD, params![venue_id])
            .await?
            .map(|r| {
                Ok::<_, StoreError>(HeldVenue {
                    area_code: r.get(0)?,
                    kind: r.get(1)?,
                    name: r.get(2)?,
                    address: r.get(3)?,
                })
            })
            .transpose()?;
        let updates = match venue_check(venue.as_ref(), v, area_path, &batch.scope) {
            Ok(updates) => updates,
            Err(e) => {
                let (id, revision) = (Some(v.id.to_string()), Some(v.revision.get()));
                receipts.push(rejected(index, id, revision, &e, batch.lang));
                continue;
            }
        };
        let x = VenueVisitValues::of(v);
        let address = v.venue.address.as_ref().map(|a| a.as_str());
        let n = |c: doorstep_domain::values::Count| i64::from(c.get());
        tx.execute(
            VENUE_INSERT,
            params![
                venue_id,
                v.area_code.as_str(),
                v.venue.kind.as_str(),
                v.venue.name.as_str(),
                address,
                x.lat,
                x.lon,
                batch.received_at_ms
            ],
        )
        .await?;
        let seq = tx
            .query_opt(
                VENUE_VISIT_INSERT,
                params![
                    v.id.uuid(),
                    v.revision.get(),
                    venue_id,
                    v.area_code.as_str(),
                    batch.device_id,
                    v.device_seq.get(),
                    v.volunteer_id.uuid(),
                    v.visited_at.to_rfc3339(),
                    &x.local_day,
                    n(v.people_reached),
                    n(v.smartphones),
                    n(v.already_installed),
                    n(v.installed_now),
                    n(v.notices_posted),
                    x.visitors[0],
                    x.visitors[1],
                    x.visitors[2],
                    x.lat,
                    x.lon,
                    x.accuracy_m,
                    v.notes.as_ref().map(|t| t.as_str()),
                    body.as_str(),
                    hash.as_slice(),
                    batch.received_at_ms
                ],
            )
            .await?;
        match seq {
            Some(row) => {
                if updates {
                    tx.execute(
                        VENUE_UPDATE,
                        params![venue_id, v.venue.kind.as_str(), v.venue.name.as_str(), address, x.lat, x.lon],
                    )
                    .await?;
                }
                receipts.push(stored(index, v, row.get(0)?));
            }
            None => {
                let existing = tx
                    .query_opt(VENUE_VISIT_BY_ID, params![v.id.uuid(), v.revision.get()])
                    .await?
                    .map(|r| Ok::<_, StoreError>((r.get(0)?, r.get(1)?)))
                    .transpose()?;
                receipts.push(not_inserted(index, v, existing, hash, batch.lang));
            }
        }
    }
    tx.commit().await?;
    Ok(receipts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(path: &str, venue: u128, kind: &str, counts: [i64; 5], log: Option<[i64; 3]>) -> VenueVisitRow {
        VenueVisitRow {
            path: path.into(),
            area_code: "x".into(),
            venue_id: Uuid::from_u128(venue),
            kind: kind.into(),
            venue_name: "v".into(),
            id: Uuid::from_u128(venue * 1000 + counts[0] as u128),
            revision: 1,
            volunteer_id: Uuid::from_u128(9),
            visited_at: "2020-08-03T09:00:00+07:00".into(),
            local_day: "2020-08-03".into(),
            counts,
            visitors: log.map(|l| [Some(l[0]), Some(l[1]), Some(l[2])]).unwrap_or([None; 3]),
            lat: None,
            lon: None,
            notes: None,
        }
    }

    /// Figures worked out by hand: two visits to one agency count one venue; hotels and shops
    /// add up under businesses; each unit holds only the visits under its path.
    #[test]
    fn figures_by_group_and_unit_match_hand_counts() {
        let rows = vec![
            row("/1/2/", 1, "agency", [10, 8, 3, 2, 1], Some([100, 80, 20])),
            row("/1/2/", 1, "agency", [5, 5, 1, 1, 0], Some([50, 40, 10])),
            row("/1/3/", 2, "hotel", [7, 7, 2, 3, 2], None),
            row("/1/3/", 3, "shop", [4, 3, 0, 1, 1], None),
            row("/1/3/", 4, "transport_hub", [30, 25, 5, 5, 4], None),
        ];
        let units = vec![
            ("2".to_string(), "Two".to_string(), "/1/2/".to_string()),
            ("3".to_string(), "Three".to_string(), "/1/3/".to_string()),
        ];
        let p = venue_progress(&rows, &units);
        let total = |g: VenueGroup| p.totals.iter().find(|x| x.group == g).map(|x| x.figures).unwrap_or_default();
        let agency = total(VenueGroup::Agency);
        assert_eq!((agency.venues, agency.visits, agency.people_reached), (1, 2, 15));
        assert_eq!((agency.visitors_came_in, agency.visitors_told, agency.visitors_installed), (150, 120, 30));
        let business = total(VenueGroup::Business);
        assert_eq!((business.venues, business.installed_now, business.notices_posted), (2, 4, 3));
        assert_eq!(total(VenueGroup::School), VenueFigures::default());
        assert_eq!(total(VenueGroup::TransportHub).people_reached, 30);
        let unit2: i64 = p.units[0].groups.iter().map(|g| g.figures.visits).sum();
        let unit3: i64 = p.units[1].groups.iter().map(|g| g.figures.visits).sum();
        assert_eq!((unit2, unit3), (2, 3));
    }
}
