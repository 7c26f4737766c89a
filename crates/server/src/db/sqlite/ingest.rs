//! SQLite's ingest, on the writer thread: the batches that queued while the last commit synced
//! are written in one transaction (group commit), judged against the rows held.

use super::*;

/// Stores several push batches in one transaction: under load the batches that queued while the
/// previous commit was syncing share the next commit (group commit), so the fsync is paid once.
/// Receipts are answered only after the commit.
pub(super) fn ingest_group(w: &mut Writer, batches: &[IngestBatch]) -> Result<Vec<Vec<Receipt>>, StoreError> {
    let tx = w.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut next_change = w.next_change;
    let mut deltas = StatDeltas::default();
    // Per area and local day, what this commit adds to the daily curve (`area_days`).
    let mut days: DayDeltas = BTreeMap::new();
    let receipts = batches
        .iter()
        .map(|b| ingest_batch(&tx, (&w.areas, &w.boundaries), &mut next_change, (&mut deltas, &mut days), b))
        .collect::<Result<Vec<_>, _>>()?;
    apply_stats(&tx, &deltas)?;
    {
        let mut add_day = tx.prepare_cached(crate::db::ingest::AREA_DAYS_ADD)?;
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
/// against each volunteer's latest visit and run from one spot held before (read here, inside the
/// transaction), and keeps them for the next batch.
pub(super) fn write_quality(
    tx: &rusqlite::Transaction<'_>, rules: &doorstep_domain::quality::QualityRules,
    judged: Vec<crate::db::quality::Stored<'_>>,
) -> Result<(), StoreError> {
    let mut held = crate::db::quality::Trails::new();
    {
        let mut read = tx.prepare_cached(
            "SELECT visit_id, visited_at_ms, lat, lon, spot_run FROM volunteer_trail WHERE volunteer_id = ?1",
        )?;
        for volunteer in crate::db::quality::trail_volunteers(&judged) {
            let row = read
                .query_row([volunteer.as_bytes().as_slice()], |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Option<f64>>(2)?.zip(r.get::<_, Option<f64>>(3)?),
                        r.get::<_, Option<String>>(4)?,
                    ))
                })
                .optional()?;
            if let Some((id, at_ms, point, run)) = row {
                let id = uuid_from(&id)?;
                let latest = doorstep_domain::quality::TrailPoint { id, at_ms, point };
                held.insert(volunteer, (latest, crate::db::quality::read_run(run.as_deref())));
            }
        }
    }
    let done = crate::db::quality::finish(rules, &held, judged);
    let mut flag_visit = tx.prepare_cached("INSERT INTO visit_flags (server_seq, flags) VALUES (?1, ?2)")?;
    for (server_seq, flags) in done.flags {
        flag_visit.execute(params![server_seq, flags])?;
    }
    for server_seq in done.earlier_bursts {
        let flags: Option<String> = tx
            .prepare_cached(&sqlite_placeholders(crate::db::quality::FLAGS_READ_SQL))?
            .query_row([server_seq], |r| r.get(0))
            .optional()?;
        tx.prepare_cached(&sqlite_placeholders(crate::db::quality::FLAGS_WRITE_SQL))?
            .execute(params![server_seq, crate::db::quality::with_burst(flags.as_deref())])?;
    }
    let mut write = tx.prepare_cached(&sqlite_placeholders(crate::db::quality::TRAIL_WRITE_SQL))?;
    for (volunteer, p, run) in done.trail {
        write.execute(params![
            volunteer.as_bytes().as_slice(),
            p.id.as_bytes().as_slice(),
            p.at_ms,
            p.point.map(|x| x.0),
            p.point.map(|x| x.1),
            run,
        ])?;
    }
    Ok(())
}

/// The boundary that judges each area of a batch (`None`: none on its path), parsing only those
/// not cached yet.
pub(super) fn batch_boundaries<'a>(
    tx: &rusqlite::Transaction<'_>, (areas, cache): (&'a HashMap<String, String>, &crate::db::quality::Boundaries),
    batch: &IngestBatch,
) -> Result<HashMap<&'a str, Option<Arc<crate::db::quality::Boundary>>>, StoreError> {
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
    Ok(paths.into_iter().map(|(code, path)| (code, cache.for_path(path))).collect())
}

/// The revisions held of one visit or venue visit (`HELD_REVISIONS_SQL`, `VENUE_REVISIONS`: the
/// same columns), read when a later revision of it arrives.
pub(super) fn held_revisions_of(
    statement: &mut rusqlite::CachedStatement<'_>, id: uuid::Uuid,
) -> Result<Vec<crate::db::ingest::HeldRevision>, StoreError> {
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
            Ok(crate::db::ingest::HeldRevision {
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
pub(super) type DayDeltas<'a> = crate::db::ingest::DayTally<&'a str>;

pub(super) fn ingest_batch<'b>(
    tx: &rusqlite::Transaction<'_>, (areas, boundaries): (&HashMap<String, String>, &crate::db::quality::Boundaries),
    next_change: &mut i64, (deltas, days): (&mut StatDeltas, &mut DayDeltas<'b>), batch: &'b IngestBatch,
) -> Result<Vec<Receipt>, StoreError> {
    let now_ms = batch.received_at.timestamp_millis();
    let device = batch.device_id.uuid();
    let mut receipts = Vec::with_capacity(batch.records.len());
    // The boundaries the data-quality flags need, parsed before the batch's rows are written.
    let boundary_of = batch_boundaries(tx, (areas, boundaries), batch)?;
    let mut judged: Vec<crate::db::quality::Stored<'_>> = Vec::new();
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
        let mut held_revisions = tx.prepare_cached(crate::db::ingest::HELD_REVISIONS_SQL)?;
        let mut old_household = tx.prepare_cached(
            "SELECT area_code, latest_outcome, visits, smartphones, already_installed, installed_now, lat, lon,
                latest_volunteer_id, latest_visited_at_ms
             FROM households WHERE id = ?1",
        )?;
        let mut upsert_household = tx.prepare_cached(concat!(
            "INSERT INTO households (id, area_code, address, lat, lon, updated_seq, visits, latest_outcome,
                people, smartphones, already_installed, installed_now, h3_cell, latest_visited_at_ms,
                latest_volunteer_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT (id) DO UPDATE SET ",
            crate::household_upsert_set!()
        ))?;
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
                let e = FieldError::new("area_code", ErrorKind::UnknownArea { code: visit.area_code.to_string() });
                receipts.push(rejected(index, id, revision, &e, batch.lang));
                continue;
            };
            // A later revision is judged against its visit's revisions held (this transaction's
            // included) before anything is written: only its own volunteer adds the next one.
            if visit.revision.get() > 1 {
                let held = held_revisions_of(&mut held_revisions, visit.id.uuid())?;
                if let Some(receipt) = crate::db::ingest::judge_revision(
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
                    .query_row(params![visit.id.uuid().as_bytes().as_slice(), visit.revision.get()], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?;
                let held = held.as_ref().map(|(seq, h)| (*seq, h.as_slice()));
                receipts.push(not_inserted_receipt(index, id, revision, held, hash, batch.lang));
                continue;
            }
            let server_seq = tx.last_insert_rowid();
            // The household's figures before this visit, to move it between buckets, and its
            // known location, to judge the visit's.
            let household_id = visit.household.id.uuid();
            type Held = ((String, Option<String>, Figures), Option<(f64, f64)>, Option<(Vec<u8>, i64)>);
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
            let mut flags = crate::db::quality::own_flags(batch, visit, area_path, (household_at, previous), boundary);
            // A household of another area: the visit is kept and flagged for both leaders, and
            // changes nothing of the household, its area's figures or the daily curve.
            let foreign = crate::db::quality::other_area(before.as_ref().map(|b| b.0.as_str()), visit);
            if foreign {
                flags.push(doorstep_domain::quality::Flag::HouseholdInOtherArea);
            }
            judged.push(crate::db::quality::Stored { server_seq, visit, flags });
            if foreign {
                receipts.push(Receipt::stored(index, id, revision, server_seq));
                continue;
            }
            let new_visit = i64::from(visit.revision.get() == 1);
            if new_visit == 1 {
                // The household's first visit when none was held before it (receive order), as
                // the households' figures count it; the day is the phone's local date.
                let first = before.as_ref().is_none_or(|b| b.2.visits == 0);
                crate::db::ingest::tally_day(days, visit.area_code.as_str(), visit, first);
            }
            let home_area = before.as_ref().map(|b| b.0.as_str()).unwrap_or(visit.area_code.as_str());
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
            receipts.push(Receipt::stored(index, id, revision, server_seq));
        }
        write_quality(tx, &batch.rules, judged)?;
        tx.prepare_cached(&sqlite_placeholders(crate::store::DEVICE_SEEN))?.execute(params![
            device.as_bytes().as_slice(),
            now_ms,
            batch.clock_skew_ms,
            batch.app_version
        ])?;
    }
    Ok(receipts)
}

pub(super) fn import_tx(w: &mut Writer, areas: Vec<AreaRecord>) -> Result<ImportSummary, StoreError> {
    let tx = w.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let summary;
    {
        let mut existing: HashMap<String, HeldArea> = HashMap::new();
        {
            let mut st = tx.prepare(&sqlite_placeholders(crate::store::AREAS_HELD))?;
            let rows =
                st.query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))))?;
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

pub(super) fn area_paths(conn: &Connection) -> Result<HashMap<String, String>, StoreError> {
    let mut st = conn.prepare("SELECT code, path FROM areas")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<Result<HashMap<_, _>, _>>()?)
}

/// Writes the collected figure changes; inside the caller's transaction.
pub(super) fn apply_stats(tx: &rusqlite::Transaction<'_>, deltas: &StatDeltas) -> Result<(), StoreError> {
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

pub(super) fn area_path(conn: &Connection, area: &AreaCode) -> Result<Option<(String, String)>, StoreError> {
    Ok(conn
        .prepare_cached(&sqlite_placeholders(crate::store::AREA_PATH_NAME))?
        .query_row([area.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}
