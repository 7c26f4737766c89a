//! Venues on the phone: the venue visits the volunteer records (each with its outbox entry, in
//! one transaction, like a household visit) and the venues of the area the server lists.

use chrono::{DateTime, FixedOffset, Utc};
use doorstep_domain::ValidationContext;
use doorstep_domain::error::ErrorKind;
use doorstep_domain::protocol::{ErrorBody, Receipt, VenueDto};
use doorstep_domain::values::Positive;
use doorstep_domain::venue::{VenueInput, VenueVisit, VenueVisitInput, VisitorLogInput};
use doorstep_domain::visit::LocationInput;
use rusqlite::{TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{DeviceError, DeviceStore, META_LAST_SEQ, OutboxEntry, ReceiptStats, last_seq, put_meta, stored_error};

/// What the volunteer enters for a venue visit; the store adds ids, sequence and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VenueVisitDraft {
    /// `None` for a venue registered by this visit: the store makes its UUIDv7.
    pub venue_id: Option<Uuid>,
    pub kind: String,
    pub name: String,
    pub address: Option<String>,
    pub area_code: String,
    pub people_reached: i64,
    pub smartphones: i64,
    pub already_installed: i64,
    pub installed_now: i64,
    pub notices_posted: i64,
    pub visitor_log: Option<VisitorLogInput>,
    pub location: LocationInput,
    pub notes: Option<String>,
}

/// A venue as the phone lists it: registered here or listed by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalVenue {
    pub id: String,
    pub area_code: String,
    pub kind: String,
    pub name: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Visits recorded on this phone.
    pub visits_here: i64,
    pub last_visited_at: Option<String>,
}

/// A venue visit the server refused, with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedVenueVisit {
    pub device_seq: i64,
    pub id: String,
    pub venue_name: String,
    pub error: ErrorBody,
}

impl DeviceStore {
    /// Validates and saves a venue visit with its outbox entry, in one transaction; the venue is
    /// registered on the phone by its first visit.
    pub fn record_venue_visit(
        &mut self, draft: &VenueVisitDraft, now: DateTime<FixedOffset>,
    ) -> Result<VenueVisit, DeviceError> {
        let venue_id = draft.venue_id.unwrap_or_else(Uuid::now_v7);
        let provisional_seq = last_seq(&self.conn)? + 1;
        let input = VenueVisitInput {
            id: Uuid::now_v7().to_string(),
            revision: 1,
            device_seq: provisional_seq,
            device_id: self.device_id.to_string(),
            volunteer_id: self.volunteer_id.to_string(),
            area_code: draft.area_code.clone(),
            venue: VenueInput {
                id: venue_id.to_string(),
                kind: draft.kind.clone(),
                name: draft.name.clone(),
                address: draft.address.clone(),
            },
            visited_at: now.to_rfc3339(),
            people_reached: draft.people_reached,
            smartphones: draft.smartphones,
            already_installed: draft.already_installed,
            installed_now: draft.installed_now,
            notices_posted: draft.notices_posted,
            visitor_log: draft.visitor_log,
            location: draft.location.clone(),
            notes: draft.notes.clone(),
        };
        let ctx = ValidationContext::on_device(&self.campaign, now.with_timezone(&Utc));
        let mut visit = VenueVisit::parse(&input, &ctx)?;
        // IMMEDIATE: the sequence number is read and taken under the write lock.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seq = last_seq(&tx)? + 1;
        if seq != visit.device_seq.get() {
            visit.device_seq = Positive::parse("device_seq", seq, ErrorKind::SequenceNotPositive)?;
        }
        let point = visit.location.point;
        tx.execute(
            "INSERT INTO venues (id, area_code, kind, name, address, lat, lon, origin)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'local')
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name,
                 address = COALESCE(excluded.address, address),
                 lat = COALESCE(excluded.lat, lat), lon = COALESCE(excluded.lon, lon)",
            params![
                visit.venue.id.to_string(),
                visit.area_code.as_str(),
                visit.venue.kind.as_str(),
                visit.venue.name.as_str(),
                visit.venue.address.as_ref().map(|a| a.as_str()),
                point.map(|p| p.lat),
                point.map(|p| p.lon),
            ],
        )?;
        let id = visit.id.to_string();
        tx.execute(
            "INSERT INTO venue_visits (id, revision, device_seq, venue_id, area_code, visited_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                visit.revision.get(),
                seq,
                visit.venue.id.to_string(),
                visit.area_code.as_str(),
                visit.visited_at.to_rfc3339(),
                visit.canonical_json(),
            ],
        )?;
        tx.execute(
            "INSERT INTO venue_outbox (device_seq, id, revision, state) VALUES (?1, ?2, ?3, 'pending')",
            params![seq, id, visit.revision.get()],
        )?;
        put_meta(&tx, META_LAST_SEQ, &seq.to_string())?;
        tx.commit()?;
        tracing::debug!(%id, device_seq = seq, "venue visit recorded");
        Ok(visit)
    }

    /// The oldest pending venue visits, in sequence order (refused ones never hold up the rest).
    pub fn next_venue_batch(&self, limit: usize) -> Result<Vec<OutboxEntry>, DeviceError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.device_seq, o.id, o.revision, v.body
             FROM venue_outbox o JOIN venue_visits v ON v.device_seq = o.device_seq
             WHERE o.state = 'pending' ORDER BY o.device_seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(OutboxEntry { device_seq: r.get(0)?, id: r.get(1)?, revision: r.get(2)?, body: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Applies the server's receipts for a batch of venue visits (the same rules as visits').
    pub fn apply_venue_receipts(
        &mut self, batch: &[OutboxEntry], receipts: &[Receipt],
    ) -> Result<ReceiptStats, DeviceError> {
        self.settle("venue_outbox", batch, receipts)
    }

    /// Keeps the server's list of an area's venues (a venue the server holds is the server's).
    pub fn apply_venue_list(&mut self, list: &[VenueDto]) -> Result<(), DeviceError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut upsert = tx.prepare(
                "INSERT INTO venues (id, area_code, kind, name, address, lat, lon, origin)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'server')
                 ON CONFLICT (id) DO UPDATE SET area_code = excluded.area_code, kind = excluded.kind,
                     name = excluded.name, address = excluded.address,
                     lat = COALESCE(excluded.lat, lat), lon = COALESCE(excluded.lon, lon), origin = 'server'",
            )?;
            for v in list {
                upsert.execute(params![v.id, v.area_code, v.kind.as_str(), v.name, v.address, v.lat, v.lon])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The venues of an area (all, when `None`), by name, with what this phone recorded there.
    pub fn venues(&self, area: Option<&str>) -> Result<Vec<LocalVenue>, DeviceError> {
        let mut stmt = self.conn.prepare(
            "SELECT w.id, w.area_code, w.kind, w.name, w.address, w.lat, w.lon,
                    (SELECT count(*) FROM venue_visits v WHERE v.venue_id = w.id),
                    (SELECT max(v.visited_at) FROM venue_visits v WHERE v.venue_id = w.id)
             FROM venues w WHERE ?1 IS NULL OR w.area_code = ?1",
        )?;
        let rows = stmt.query_map([area], |r| {
            Ok(LocalVenue {
                id: r.get(0)?,
                area_code: r.get(1)?,
                kind: r.get(2)?,
                name: r.get(3)?,
                address: r.get(4)?,
                lat: r.get(5)?,
                lon: r.get(6)?,
                visits_here: r.get(7)?,
                last_visited_at: r.get(8)?,
            })
        })?;
        let mut out = rows.collect::<Result<Vec<_>, _>>()?;
        out.sort_by_cached_key(|v| doorstep_domain::area::vietnamese_sort_key(&v.name));
        Ok(out)
    }

    /// The venue visits the server refused, oldest first, with its reasons.
    pub fn rejected_venue_visits(&self) -> Result<Vec<RejectedVenueVisit>, DeviceError> {
        let mut stmt = self.conn.prepare(
            "SELECT o.device_seq, o.id, w.name, o.error FROM venue_outbox o
             JOIN venue_visits v ON v.device_seq = o.device_seq JOIN venues w ON w.id = v.venue_id
             WHERE o.state = 'rejected' ORDER BY o.device_seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (device_seq, id, venue_name, error) = row?;
            let error = stored_error(error)?;
            out.push(RejectedVenueVisit { device_seq, id, venue_name, error });
        }
        Ok(out)
    }
}
