//! PostgreSQL's ingest: a push judged and written in rounds of array statements (`UNNEST`), the
//! households' and the figures' rows updated in the same transaction.

use super::*;

/// The columns of the visits of one batch, as arrays for `UNNEST`.
#[derive(Default)]
pub struct VisitColumns {
    id: Vec<Uuid>,
    revision: Vec<i64>,
    device_id: Vec<Uuid>,
    device_seq: Vec<i64>,
    volunteer_id: Vec<Uuid>,
    household_id: Vec<Uuid>,
    area_code: Vec<String>,
    visited_at_ms: Vec<i64>,
    utc_offset_min: Vec<i32>,
    outcome: Vec<String>,
    reason: Vec<Option<String>>,
    people: Vec<i64>,
    smartphones: Vec<i64>,
    already_installed: Vec<i64>,
    installed_now: Vec<i64>,
    leaflet_given: Vec<bool>,
    loc_source: Vec<String>,
    lat: Vec<Option<f64>>,
    lon: Vec<Option<f64>>,
    accuracy_m: Vec<Option<f64>>,
    notes: Vec<Option<String>>,
    received_at_ms: Vec<i64>,
    content_hash: Vec<Vec<u8>>,
}

impl VisitColumns {
    pub fn push(&mut self, device: Uuid, visit: &Visit, hash: &[u8; 32], received_at_ms: i64) {
        let p = visit.location.point;
        let c = &visit.counts;
        self.id.push(visit.id.uuid());
        self.revision.push(visit.revision.get());
        self.device_id.push(device);
        self.device_seq.push(visit.device_seq.get());
        self.volunteer_id.push(visit.volunteer_id.uuid());
        self.household_id.push(visit.household.id.uuid());
        self.area_code.push(visit.area_code.to_string());
        self.visited_at_ms.push(visit.visited_at.timestamp_millis());
        self.utc_offset_min.push(visit.visited_at.offset().local_minus_utc() / 60);
        self.outcome.push(visit.outcome.clone());
        self.reason.push(visit.reason.as_ref().map(|t| t.to_string()));
        self.people.push(i64::from(c.people.get()));
        self.smartphones.push(i64::from(c.smartphones.get()));
        self.already_installed.push(i64::from(c.already_installed.get()));
        self.installed_now.push(i64::from(c.installed_now.get()));
        self.leaflet_given.push(visit.leaflet_given);
        self.loc_source.push(visit.location.source.as_str().to_string());
        self.lat.push(p.map(|p| p.lat));
        self.lon.push(p.map(|p| p.lon));
        self.accuracy_m.push(p.and_then(|p| p.accuracy_m));
        self.notes.push(visit.notes.as_ref().map(|t| t.to_string()));
        self.received_at_ms.push(received_at_ms);
        self.content_hash.push(hash.to_vec());
    }

    /// The arrays, in the order of [`INSERT_VISITS_PLAIN`]'s parameters.
    pub fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 23] {
        [
            &self.id,
            &self.revision,
            &self.device_id,
            &self.device_seq,
            &self.volunteer_id,
            &self.household_id,
            &self.area_code,
            &self.visited_at_ms,
            &self.utc_offset_min,
            &self.outcome,
            &self.reason,
            &self.people,
            &self.smartphones,
            &self.already_installed,
            &self.installed_now,
            &self.leaflet_given,
            &self.loc_source,
            &self.lat,
            &self.lon,
            &self.accuracy_m,
            &self.notes,
            &self.received_at_ms,
            &self.content_hash,
        ]
    }
}

/// A batch of visits inserted from arrays, with nothing else: the benchmark's raw reference.
pub const INSERT_VISITS_PLAIN: &str = "INSERT INTO visits (id, revision, device_id, device_seq, volunteer_id,
        household_id, area_code, visited_at_ms, utc_offset_min, outcome, reason, people, smartphones,
        already_installed, installed_now, leaflet_given, loc_source, lat, lon, accuracy_m, notes, received_at_ms,
        content_hash)
    SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::uuid[], $4::int8[], $5::uuid[], $6::uuid[], $7::text[],
        $8::int8[], $9::int4[], $10::text[], $11::text[], $12::int8[], $13::int8[], $14::int8[], $15::int8[],
        $16::bool[], $17::text[], $18::float8[], $19::float8[], $20::float8[], $21::text[], $22::int8[], $23::bytea[])";

pub(super) fn insert_visits_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| format!("{INSERT_VISITS_PLAIN} ON CONFLICT DO NOTHING RETURNING server_seq, id, revision"))
}

pub(super) const UPSERT_HOUSEHOLDS: &str = concat!(
    "INSERT INTO households (id, area_code, address, lat, lon, updated_seq, visits,
        latest_outcome, people, smartphones, already_installed, installed_now, h3_cell, latest_visited_at_ms,
        latest_volunteer_id, latest_seq)
    SELECT id, area_code, address, lat, lon, nextval('change_seq'), visits, latest_outcome, people, smartphones,
        already_installed, installed_now, h3_cell, latest_visited_at_ms, latest_volunteer_id, latest_seq
    FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::int8[], $7::text[],
        $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::int8[], $14::uuid[], $15::int8[])
        AS t(id, area_code, address, lat, lon, visits, latest_outcome, people, smartphones, already_installed,
            installed_now, h3_cell, latest_visited_at_ms, latest_volunteer_id, latest_seq)
    ORDER BY id
    ON CONFLICT (id) DO UPDATE SET ",
    crate::household_upsert_set!(),
    ", latest_seq = excluded.latest_seq"
);

/// One household's change from the visits of a batch: the new visits counted, the latest one's
/// figures (PostgreSQL may not update one row twice in one statement, so they are merged first).
pub(super) struct HouseholdChange<'a> {
    first: &'a Visit,
    latest: &'a Visit,
    /// The latest's receive number.
    latest_seq: i64,
    new_visits: i64,
}

/// A household's latest visit's figures, as they go into its row and its area's.
#[derive(Debug, Clone)]
pub(super) struct HeldLatest {
    /// Its receive number.
    seq: Option<i64>,
    outcome: String,
    people: i64,
    smartphones: i64,
    already_installed: i64,
    installed_now: i64,
    visited_at_ms: i64,
    volunteer: Option<Uuid>,
}

impl HeldLatest {
    fn of(visit: &Visit, seq: i64) -> HeldLatest {
        let k = &visit.counts;
        HeldLatest {
            seq: Some(seq),
            outcome: visit.outcome.clone(),
            people: i64::from(k.people.get()),
            smartphones: i64::from(k.smartphones.get()),
            already_installed: i64::from(k.already_installed.get()),
            installed_now: i64::from(k.installed_now.get()),
            visited_at_ms: visit.visited_at.timestamp_millis(),
            volunteer: Some(visit.volunteer_id.uuid()),
        }
    }
}

/// Writes the data-quality flags of the visits a batch stored, with the motion flags decided
/// against each volunteer's latest visit and run from one spot held before, and keeps them for
/// the next batch. Called under the change lock, so batches of one volunteer on several servers
/// follow each other here.
pub(super) async fn write_quality(
    tx: &tokio_postgres::Transaction<'_>, rules: &doorstep_domain::quality::QualityRules,
    judged: Vec<crate::db::quality::Stored<'_>>,
) -> Result<(), StoreError> {
    let volunteers = crate::db::quality::trail_volunteers(&judged);
    let held: crate::db::quality::Trails = if volunteers.is_empty() {
        HashMap::new()
    } else {
        tx.query(
            "SELECT volunteer_id, visit_id, visited_at_ms, lat, lon, spot_run FROM volunteer_trail
             WHERE volunteer_id = ANY($1)",
            &[&volunteers],
        )
        .await
        .map_err(db)?
        .iter()
        .map(|r| {
            let point = r.get::<_, Option<f64>>(3).zip(r.get::<_, Option<f64>>(4));
            let latest = doorstep_domain::quality::TrailPoint { id: r.get(1), at_ms: r.get(2), point };
            (r.get(0), (latest, crate::db::quality::read_run(r.get::<_, Option<&str>>(5))))
        })
        .collect()
    };
    let done = crate::db::quality::finish(rules, &held, judged);
    if !done.flags.is_empty() {
        let (seqs, flags): (Vec<i64>, Vec<String>) = done.flags.into_iter().unzip();
        tx.execute(
            "INSERT INTO visit_flags (server_seq, flags) SELECT * FROM UNNEST($1::int8[], $2::text[])",
            &[&seqs, &flags],
        )
        .await
        .map_err(db)?;
    }
    for server_seq in done.earlier_bursts {
        let flags: Option<String> =
            tx.query_opt(crate::db::quality::FLAGS_READ_SQL, &[&server_seq]).await.map_err(db)?.map(|r| r.get(0));
        let merged = crate::db::quality::with_burst(flags.as_deref());
        tx.execute(crate::db::quality::FLAGS_WRITE_SQL, &[&server_seq, &merged]).await.map_err(db)?;
    }
    if !done.trail.is_empty() {
        let volunteers: Vec<Uuid> = done.trail.iter().map(|(v, _, _)| *v).collect();
        let ids: Vec<Uuid> = done.trail.iter().map(|(_, p, _)| p.id).collect();
        let times: Vec<i64> = done.trail.iter().map(|(_, p, _)| p.at_ms).collect();
        let lats: Vec<Option<f64>> = done.trail.iter().map(|(_, p, _)| p.point.map(|x| x.0)).collect();
        let lons: Vec<Option<f64>> = done.trail.iter().map(|(_, p, _)| p.point.map(|x| x.1)).collect();
        let runs: Vec<&str> = done.trail.iter().map(|(_, _, r)| r.as_str()).collect();
        tx.execute(
            "INSERT INTO volunteer_trail (volunteer_id, visit_id, visited_at_ms, lat, lon, spot_run)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::float8[], $5::float8[], $6::text[])
             ON CONFLICT (volunteer_id) DO UPDATE SET visit_id = excluded.visit_id,
                visited_at_ms = excluded.visited_at_ms, lat = excluded.lat, lon = excluded.lon,
                spot_run = excluded.spot_run",
            &[&volunteers, &ids, &times, &lats, &lons, &runs],
        )
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// The boundary that judges each area of a batch (`None`: none on its path), reading and parsing
/// only those not cached (or expired).
pub(super) async fn batch_boundaries(
    tx: &tokio_postgres::Transaction<'_>, known: &HashMap<String, String>, cache: &crate::db::quality::Boundaries,
) -> Result<HashMap<String, Option<std::sync::Arc<crate::db::quality::Boundary>>>, StoreError> {
    let missing = cache.missing(known.values().map(String::as_str));
    if !missing.is_empty() {
        let rows = tx.query("SELECT code, boundary FROM areas WHERE code = ANY($1)", &[&missing]).await.map_err(db)?;
        let texts: HashMap<String, Option<String>> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        for code in missing {
            let text = texts.get(&code).cloned().flatten();
            cache.store(code, text.as_deref());
        }
    }
    Ok(known.iter().map(|(code, path)| (code.clone(), cache.for_path(path))).collect())
}

/// A valid record of a push to insert: its index in the batch, the visit, its content hash and
/// its id as text.
pub(super) type Candidate<'a> = (usize, &'a Visit, &'a [u8; 32], &'a String);

pub(super) async fn ingest_tx(
    client: &mut tokio_postgres::Client, batch: &IngestBatch, boundaries: &crate::db::quality::Boundaries,
) -> Result<Vec<Receipt>, StoreError> {
    let device = batch.device_id.uuid();
    let received_at_ms = batch.received_at.timestamp_millis();
    let mut receipts: Vec<Option<Receipt>> = vec![None; batch.records.len()];
    let codes: Vec<String> = batch
        .records
        .iter()
        .filter_map(|r| match r {
            Incoming::Valid { visit, .. } => Some(visit.area_code.to_string()),
            Incoming::Invalid { .. } => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let tx = client.transaction().await.map_err(db)?;
    let known: HashMap<String, String> = tx
        .query("SELECT code, path FROM areas WHERE code = ANY($1)", &[&codes])
        .await
        .map_err(db)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();

    let mut candidates: Vec<Candidate<'_>> = Vec::new();
    for (index, record) in batch.records.iter().enumerate() {
        match record {
            Incoming::Invalid { id, revision, error } => {
                receipts[index] = Some(rejected(index, id.clone(), *revision, error, batch.lang));
            }
            Incoming::Valid { visit, id, .. } if !known.contains_key(visit.area_code.as_str()) => {
                let e = FieldError::new("area_code", ErrorKind::UnknownArea { code: visit.area_code.to_string() });
                receipts[index] = Some(rejected(index, Some(id.clone()), Some(visit.revision.get()), &e, batch.lang));
            }
            Incoming::Valid { visit, hash, id, .. } => candidates.push((index, visit, hash, id)),
        }
    }
    // The boundaries the data-quality flags need, parsed before the batch's rows are written.
    let boundary_of = batch_boundaries(&tx, &known, boundaries).await?;

    // One order for every server, so two replicas inserting the same records wait on each other
    // instead of deadlocking.
    candidates.sort_by_key(|(_, v, _, _)| (v.id.uuid(), v.revision.get()));

    // A later revision is judged against its visit's revisions held before anything is written:
    // only its own volunteer adds the next one. One may follow another of the same batch, so each
    // record gets a round: 0 when what it follows is held (or it is a first revision), one more
    // than the record it follows otherwise; rounds are inserted in turn, and a record whose
    // predecessor was not stored is refused as a gap.
    let later: Vec<Uuid> = candidates
        .iter()
        .filter(|(_, v, _, _)| v.revision.get() > 1)
        .map(|(_, v, _, _)| v.id.uuid())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut held_revisions: HashMap<Uuid, Vec<crate::db::ingest::HeldRevision>> = HashMap::new();
    if !later.is_empty() {
        for r in tx
            .query(
                "SELECT id, revision, volunteer_id, household_id, area_code, server_seq, content_hash
                 FROM visits WHERE id = ANY($1)",
                &[&later],
            )
            .await
            .map_err(db)?
        {
            held_revisions.entry(r.get(0)).or_default().push(crate::db::ingest::HeldRevision {
                revision: r.get(1),
                volunteer_id: r.get(2),
                subject: r.get(3),
                area_code: r.get(4),
                server_seq: r.get(5),
                content_hash: r.get(6),
            });
        }
    }
    // What the server held before this batch, for the gap's expected number.
    let held_latest: HashMap<Uuid, i64> =
        held_revisions.iter().map(|(id, h)| (*id, h.iter().map(|r| r.revision).max().unwrap_or(0))).collect();
    let mut round_of: HashMap<(Uuid, i64), usize> = HashMap::new();
    let mut rounds: Vec<Vec<Candidate<'_>>> = Vec::new();
    for (index, visit, hash, id) in candidates {
        let key = (visit.id.uuid(), visit.revision.get());
        // The same record twice in one batch: the insert itself answers the second.
        let round = if let Some(r) = round_of.get(&key) {
            *r
        } else if key.1 == 1 {
            if later.contains(&key.0) && !held_revisions.get(&key.0).is_some_and(|h| h.iter().any(|r| r.revision == 1))
            {
                // A first revision followed by another in this batch: what the next is judged by.
                held_revisions.entry(key.0).or_default().push(crate::db::ingest::HeldRevision {
                    revision: 1,
                    volunteer_id: visit.volunteer_id.uuid(),
                    subject: visit.household.id.uuid(),
                    area_code: visit.area_code.to_string(),
                    server_seq: 0,
                    content_hash: hash.to_vec(),
                });
            }
            0
        } else {
            let held = held_revisions.get(&key.0).map(Vec::as_slice).unwrap_or_default();
            if let Some(receipt) = crate::db::ingest::judge_revision(
                index,
                (id, visit.as_revision(), hash),
                held,
                batch.volunteer_id,
                batch.lang,
            ) {
                receipts[index] = Some(receipt);
                continue;
            }
            // What it follows is held already (a resend of it may be in this batch too): round 0.
            let follows_held = held_latest.get(&key.0).is_some_and(|latest| *latest >= key.1 - 1);
            let round = match round_of.get(&(key.0, key.1 - 1)) {
                Some(r) if !follows_held => r + 1,
                _ => 0,
            };
            let first = held.iter().find(|r| r.revision == 1).cloned();
            if let Some(first) = first {
                held_revisions.entry(key.0).or_default().push(crate::db::ingest::HeldRevision {
                    revision: key.1,
                    server_seq: 0,
                    content_hash: hash.to_vec(),
                    ..first
                });
            }
            round
        };
        round_of.insert(key, round);
        if rounds.len() <= round {
            rounds.resize_with(round + 1, Vec::new);
        }
        rounds[round].push((index, visit, hash, id));
    }

    let mut stored: Vec<(i64, &Visit)> = Vec::new();
    let mut stored_keys: HashSet<(Uuid, i64)> = HashSet::new();
    for (round, records) in rounds.into_iter().enumerate() {
        let mut cols = VisitColumns::default();
        let mut batch_records = Vec::with_capacity(records.len());
        for (index, visit, hash, id) in records {
            let key = (visit.id.uuid(), visit.revision.get());
            if round > 0 && !stored_keys.contains(&(key.0, key.1 - 1)) {
                // What it follows in this batch was not stored.
                let latest = stored_keys
                    .iter()
                    .filter(|(i, _)| *i == key.0)
                    .map(|(_, r)| *r)
                    .chain(held_latest.get(&key.0).copied())
                    .max()
                    .unwrap_or(0);
                let e = FieldError::new("revision", ErrorKind::RevisionGap { expected: latest + 1 });
                receipts[index] = Some(rejected(index, Some(id.clone()), Some(key.1), &e, batch.lang));
                continue;
            }
            cols.push(device, visit, hash, received_at_ms);
            batch_records.push((index, visit, hash, id));
        }
        if batch_records.is_empty() {
            continue;
        }
        let inserted: HashMap<(Uuid, i64), i64> = tx
            .query(insert_visits_sql(), &cols.params())
            .await
            .map_err(db)?
            .iter()
            .map(|r| ((r.get::<_, Uuid>(1), r.get::<_, i64>(2)), r.get::<_, i64>(0)))
            .collect();

        // What was not inserted is held already: the same content (a duplicate) or not.
        let (missing_ids, missing_revs): (Vec<Uuid>, Vec<i64>) = batch_records
            .iter()
            .filter(|(_, v, _, _)| !inserted.contains_key(&(v.id.uuid(), v.revision.get())))
            .map(|(_, v, _, _)| (v.id.uuid(), v.revision.get()))
            .unzip();
        let held: HashMap<(Uuid, i64), (i64, Vec<u8>)> = if missing_ids.is_empty() {
            HashMap::new()
        } else {
            tx.query(
                "SELECT v.id, v.revision, v.server_seq, v.content_hash FROM visits v
                 JOIN UNNEST($1::uuid[], $2::int8[]) AS k(id, revision) ON v.id = k.id AND v.revision = k.revision",
                &[&missing_ids, &missing_revs],
            )
            .await
            .map_err(db)?
            .iter()
            .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
            .collect()
        };

        for (index, visit, hash, id) in batch_records {
            let key = (visit.id.uuid(), visit.revision.get());
            let (id, revision) = (Some(id.clone()), Some(visit.revision.get()));
            receipts[index] = Some(if let Some(seq) = inserted.get(&key) {
                // A record sent twice in one batch is inserted once: the second copy is the
                // duplicate.
                if stored_keys.insert(key) {
                    stored.push((*seq, visit));
                    Receipt::stored(index, id, revision, *seq)
                } else {
                    let stored_hash =
                        stored.iter().find(|(s, _)| s == seq).map(|(_, v)| crate::db::ingest::content_hash(v));
                    not_inserted_receipt(
                        index,
                        id,
                        revision,
                        stored_hash.as_ref().map(|h| (*seq, h.as_slice())),
                        hash,
                        batch.lang,
                    )
                }
            } else {
                let found = held.get(&key).map(|(seq, h)| (*seq, h.as_slice()));
                not_inserted_receipt(index, id, revision, found, hash, batch.lang)
            });
        }
    }

    if !stored.is_empty() {
        stored.sort_by_key(|(seq, _)| *seq);
        // Held to commit: change numbers are then taken in commit order across servers, so a
        // pull never passes over a change that commits late; and the figures below are read and
        // written by one server at a time.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHANGE_LOCK]).await.map_err(db)?;
        let named: Vec<Uuid> =
            stored.iter().map(|(_, v)| v.household.id.uuid()).collect::<BTreeSet<_>>().into_iter().collect();
        let held_households = tx
            .query(
                "SELECT id, area_code, latest_outcome, visits, smartphones, already_installed, installed_now, lat, lon,
                    latest_volunteer_id, latest_visited_at_ms, people, latest_seq
                 FROM households WHERE id = ANY($1)",
                &[&named],
            )
            .await
            .map_err(db)?;
        let mut home_of: HashMap<Uuid, String> = held_households.iter().map(|r| (r.get(0), r.get(1))).collect();
        let foreign: HashSet<i64> = stored
            .iter()
            .filter(|(_, v)| {
                let home = home_of.entry(v.household.id.uuid()).or_insert_with(|| v.area_code.to_string());
                crate::db::quality::other_area(Some(home.as_str()), v)
            })
            .map(|(seq, _)| *seq)
            .collect();
        let mut changes: BTreeMap<Uuid, HouseholdChange<'_>> = BTreeMap::new();
        for (seq, visit) in stored.iter().filter(|(seq, _)| !foreign.contains(seq)) {
            let new_visit = i64::from(visit.revision.get() == 1);
            changes
                .entry(visit.household.id.uuid())
                .and_modify(|c| {
                    c.latest = visit;
                    c.latest_seq = *seq;
                    c.new_visits += new_visit;
                })
                .or_insert(HouseholdChange { first: visit, latest: visit, latest_seq: *seq, new_visits: new_visit });
        }
        // The visits were inserted before the change lock was taken, so another push may have
        // received a later visit of one of these households and applied it already (a phone's
        // two batches in flight, a visit then its revisit): its receive number, kept with the
        // household, tells. This batch's visit is then not the latest, and only its count is
        // added; the household keeps what it held of its latest visit.
        let held_latest: HashMap<Uuid, HeldLatest> = held_households
            .iter()
            .filter(|r| {
                let id: Uuid = r.get(0);
                let held_seq: Option<i64> = r.get(12);
                changes.get(&id).is_some_and(|c| held_seq.is_some_and(|held| held > c.latest_seq))
            })
            .map(|r| {
                let n = |i: usize| r.get::<_, Option<i64>>(i).unwrap_or(0);
                (
                    r.get(0),
                    HeldLatest {
                        seq: r.get(12),
                        outcome: r.get::<_, Option<String>>(2).unwrap_or_default(),
                        people: n(11),
                        smartphones: n(4),
                        already_installed: n(5),
                        installed_now: n(6),
                        visited_at_ms: n(10),
                        volunteer: r.get(9),
                    },
                )
            })
            .collect();
        let mut ids = Vec::new();
        let mut areas = Vec::new();
        let mut addresses = Vec::new();
        let (mut lats, mut lons, mut cells) = (Vec::new(), Vec::new(), Vec::new());
        let mut visits = Vec::new();
        let mut outcomes = Vec::new();
        let (mut people, mut smartphones, mut already, mut now) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut visited_at = Vec::new();
        let mut volunteers = Vec::new();
        let mut latest_seqs = Vec::new();
        for (id, c) in &changes {
            let p = c.first.location.point;
            ids.push(*id);
            areas.push(c.first.area_code.to_string());
            addresses.push(c.first.household.address.as_ref().map(|t| t.to_string()));
            lats.push(p.map(|p| p.lat));
            lons.push(p.map(|p| p.lon));
            // Made again here rather than carried from decoding: a PostgreSQL push is bound by
            // its round trips, not by this.
            cells.push(p.and_then(|p| crate::db::ingest::fine_cell(p.lat, p.lon)));
            visits.push(c.new_visits);
            let latest = held_latest.get(id).cloned().unwrap_or_else(|| HeldLatest::of(c.latest, c.latest_seq));
            latest_seqs.push(latest.seq);
            outcomes.push(latest.outcome);
            people.push(latest.people);
            smartphones.push(latest.smartphones);
            already.push(latest.already_installed);
            now.push(latest.installed_now);
            // The latest-received visit's time (a correction keeps its visit's time).
            visited_at.push(latest.visited_at_ms);
            volunteers.push(latest.volunteer);
        }
        let before: HashMap<Uuid, (String, Option<String>, Figures)> = held_households
            .iter()
            .map(|r| {
                let f = Figures {
                    households: 1,
                    visits: r.get(3),
                    smartphones: r.get::<_, Option<i64>>(4).unwrap_or(0),
                    already_installed: r.get::<_, Option<i64>>(5).unwrap_or(0),
                    installed_now: r.get::<_, Option<i64>>(6).unwrap_or(0),
                };
                (r.get(0), (r.get(1), r.get(2), f))
            })
            .collect();

        // The daily curve: each first record by its area and phone-local day; a household's
        // first when none was counted before it (as on SQLite, from the rows just read: a read
        // of earlier visits per record made the planner scan the households on every push).
        let mut days: crate::db::ingest::DayTally<&str> = BTreeMap::new();
        let mut counted: HashSet<Uuid> = HashSet::new();
        let firsts = stored.iter().filter(|(seq, v)| v.revision.get() == 1 && !foreign.contains(seq));
        for (_, visit) in firsts {
            let household = visit.household.id.uuid();
            let first = before.get(&household).is_none_or(|b| b.2.visits == 0) && counted.insert(household);
            crate::db::ingest::tally_day(&mut days, visit.area_code.as_str(), visit, first);
        }
        if !days.is_empty() {
            let areas: Vec<&str> = days.keys().map(|(area, _)| *area).collect();
            let day_numbers: Vec<i64> = days.keys().map(|(_, day)| *day).collect();
            let [visits, households, installed]: [Vec<i64>; 3] =
                [0, 1, 2].map(|i| days.values().map(|f| [f.0, f.1, f.2][i]).collect());
            tx.execute(crate::db::ingest::AREA_DAYS_ADD_PG, &[&areas, &day_numbers, &visits, &households, &installed])
                .await
                .map_err(db)?;
        }

        // The flags, visit by visit in receive order; a household's known location is what was
        // held before the visit, as on SQLite (where each visit's row is written in turn): the
        // first located visit of a new household places it.
        let mut located: HashMap<Uuid, (f64, f64)> = held_households
            .iter()
            .filter_map(|r| {
                let at = r.get::<_, Option<f64>>(7).zip(r.get::<_, Option<f64>>(8))?;
                Some((r.get(0), at))
            })
            .collect();
        // Likewise each household's latest visit (volunteer, time), for the overlap flag.
        let mut previous: HashMap<Uuid, (Uuid, i64)> = held_households
            .iter()
            .filter_map(|r| {
                let latest = r.get::<_, Option<Uuid>>(9).zip(r.get::<_, Option<i64>>(10))?;
                Some((r.get(0), latest))
            })
            .collect();
        let mut judged = Vec::with_capacity(stored.len());
        for (seq, visit) in &stored {
            let household = visit.household.id.uuid();
            let before = previous.insert(household, (visit.volunteer_id.uuid(), visit.visited_at.timestamp_millis()));
            let Some(path) = known.get(visit.area_code.as_str()) else {
                continue;
            };
            let at = located.get(&household).copied();
            let boundary = boundary_of.get(visit.area_code.as_str()).and_then(|b| b.as_deref());
            let mut flags = crate::db::quality::own_flags(batch, visit, path, (at, before), boundary);
            if foreign.contains(seq) {
                flags.push(doorstep_domain::quality::Flag::HouseholdInOtherArea);
            }
            judged.push(crate::db::quality::Stored { server_seq: *seq, visit, flags });
            if let (None, Some(p)) = (at, visit.location.point) {
                located.insert(household, (p.lat, p.lon));
            }
        }
        write_quality(&tx, &batch.rules, judged).await?;
        let home: Vec<String> = changes
            .iter()
            .map(|(id, c)| before.get(id).map(|b| b.0.clone()).unwrap_or_else(|| c.first.area_code.to_string()))
            .collect();
        let paths = area_paths(&tx, &home).await?;
        let mut deltas = StatDeltas::default();
        for ((id, c), area) in changes.iter().zip(&home) {
            let Some(path) = paths.get(area) else { continue };
            let old = before.get(id);
            let latest = held_latest.get(id).cloned().unwrap_or_else(|| HeldLatest::of(c.latest, c.latest_seq));
            let after = Figures {
                households: 1,
                visits: old.map(|b| b.2.visits).unwrap_or(0) + c.new_visits,
                smartphones: latest.smartphones,
                already_installed: latest.already_installed,
                installed_now: latest.installed_now,
            };
            deltas.replace(path, old.map(|b| (b.1.as_deref().unwrap_or(""), b.2)), (latest.outcome.as_str(), after));
        }
        tx.execute(
            UPSERT_HOUSEHOLDS,
            &[
                &ids,
                &areas,
                &addresses,
                &lats,
                &lons,
                &visits,
                &outcomes,
                &people,
                &smartphones,
                &already,
                &now,
                &cells,
                &visited_at,
                &volunteers,
                &latest_seqs,
            ],
        )
        .await
        .map_err(db)?;
        apply_stats(&tx, &deltas).await?;
    }
    tx.execute(crate::store::DEVICE_SEEN, &[&device, &received_at_ms, &batch.clock_skew_ms, &batch.app_version])
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    receipts
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| StoreError::Db("a record was left without a receipt".into()))
}

/// The paths of the named areas.
pub(super) async fn area_paths(
    client: &impl tokio_postgres::GenericClient, codes: &[String],
) -> Result<HashMap<String, String>, StoreError> {
    Ok(client
        .query("SELECT code, path FROM areas WHERE code = ANY($1)", &[&codes])
        .await
        .map_err(db)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Writes the collected figure changes in one statement, in key order.
pub(super) async fn apply_stats(
    client: &impl tokio_postgres::GenericClient, deltas: &StatDeltas,
) -> Result<(), StoreError> {
    let rows = deltas.rows();
    if rows.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&Figures) -> i64| -> Vec<i64> { rows.iter().map(|r| f(&r.2)).collect() };
    let areas: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let outcomes: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    client
        .execute(
            "INSERT INTO area_stats (area_code, outcome, households, visits, smartphones, already_installed,
                installed_now)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[])
             ON CONFLICT (area_code, outcome) DO UPDATE SET
                households = area_stats.households + excluded.households,
                visits = area_stats.visits + excluded.visits,
                smartphones = area_stats.smartphones + excluded.smartphones,
                already_installed = area_stats.already_installed + excluded.already_installed,
                installed_now = area_stats.installed_now + excluded.installed_now",
            &[
                &areas,
                &outcomes,
                &col(|f| f.households),
                &col(|f| f.visits),
                &col(|f| f.smartphones),
                &col(|f| f.already_installed),
                &col(|f| f.installed_now),
            ],
        )
        .await
        .map_err(db)?;
    Ok(())
}

pub(super) async fn area_path(
    client: &impl tokio_postgres::GenericClient, area: &AreaCode,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(client
        .query_opt(crate::store::AREA_PATH_NAME, &[&area.as_str()])
        .await
        .map_err(db)?
        .map(|r| (r.get(0), r.get(1))))
}
