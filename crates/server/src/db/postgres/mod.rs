//! The PostgreSQL implementation of [`Store`], for the nation and for several stateless
//! `doorstep serve` processes on one database.
//!
//! tokio-postgres (with deadpool for the pool) rather than sqlx: it is async all the way, needs
//! no database at compile time, and passes arrays as parameters, which is what batched ingest
//! (`INSERT ... SELECT FROM UNNEST(...)`) is built on.

mod ingest;
pub mod tls;

use ingest::*;
pub use ingest::{INSERT_VISITS_PLAIN, VisitColumns};

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::db::migrations::{Backfill, Engine};
use crate::db::{Db, Dialect, Done, Row, Tx, Value};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use doorstep_domain::area::AreaRecord;
use doorstep_domain::error::{ErrorKind, FieldError};
use doorstep_domain::protocol::{AreaDto, HouseholdDto, PullResponse, Receipt, VisitDto};
use doorstep_domain::values::AreaCode;
use doorstep_domain::{Campaign, Visit};
use tokio_postgres::types::{IsNull, Type};
use uuid::Uuid;

use crate::db::ingest::{Figures, Incoming, IngestBatch, STATS_RECOMPUTE, StatDeltas, not_inserted_receipt, rejected};
use crate::store::{
    HeldArea, ImportSummary, NewHousehold, Store, StoreError, compute_paths, plan_import, subtree_range, visit_dto,
};

/// Each household held gets its H3 cell (migration 0007), in chunks of array updates.
async fn backfill_h3_cells(tx: &tokio_postgres::Transaction<'_>) -> Result<u64, StoreError> {
    let db = |e: tokio_postgres::Error| StoreError::Db(e.to_string());
    let rows = tx
        .query("SELECT id, lat, lon FROM households WHERE lat IS NOT NULL AND lon IS NOT NULL AND h3_cell IS NULL", &[])
        .await
        .map_err(db)?;
    let cells: Vec<(uuid::Uuid, i64)> =
        rows.iter().filter_map(|r| Some((r.get(0), crate::db::ingest::fine_cell(r.get(1), r.get(2))?))).collect();
    for chunk in cells.chunks(10_000) {
        let (ids, values): (Vec<uuid::Uuid>, Vec<i64>) = chunk.iter().copied().unzip();
        tx.execute(
            "UPDATE households h SET h3_cell = t.cell FROM UNNEST($1::uuid[], $2::int8[]) AS t(id, cell)
             WHERE h.id = t.id",
            &[&ids, &values],
        )
        .await
        .map_err(db)?;
    }
    tracing::info!(filled = cells.len(), "households given their H3 cell");
    Ok(cells.len() as u64)
}

fn claim_dto(r: &tokio_postgres::Row) -> doorstep_domain::protocol::ClaimDto {
    doorstep_domain::protocol::ClaimDto {
        id: r.get::<_, Uuid>(0).to_string(),
        area_code: r.get(1),
        household_id: r.get::<_, Option<Uuid>>(2).map(|h| h.to_string()),
        street: r.get(3),
        street_key: r.get(4),
        volunteer_id: r.get::<_, Uuid>(5).to_string(),
        volunteer: r.get(6),
        created_at_ms: r.get(7),
        released_at_ms: r.get(8),
        updated_seq: r.get(9),
    }
}

/// Fills [`LATEST_SEQ_COLUMN`] from the visits held (a household's own area's, as it counts them);
/// also run after the move from SQLite.
pub const LATEST_SEQ_BACKFILL: &str = "UPDATE households h SET latest_seq = v.seq
    FROM (SELECT household_id, area_code, MAX(server_seq) AS seq FROM visits GROUP BY household_id, area_code) v
    WHERE v.household_id = h.id AND v.area_code = h.area_code;";

/// Advisory lock keys: migrations, and the section that takes change numbers.
const MIGRATION_LOCK: i64 = 0x4453_0001;
const CHANGE_LOCK: i64 = 0x4453_0002;

pub struct PgStore {
    pool: Pool,
    /// Parsed area boundaries for the `outside_area` flag; they expire, since another process
    /// may import areas.
    boundaries: crate::db::quality::Boundaries,
    /// Told each push's commit time (for `/metrics`).
    commit_timer: std::sync::RwLock<Option<crate::db::CommitTimer>>,
}

/// An error with what caused it ("error performing TLS handshake: invalid peer certificate:
/// NotValidForName"), so IT sees the reason, not only the step.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
}

fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

impl PgStore {
    /// Connects, and brings the schema up to date (safe when several servers start at once).
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let store = PgStore::connect(url)?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects to a streaming standby, for reads only (`--db-read`): nothing is migrated
    /// (it cannot be written; the primary's schema arrives by replication).
    pub async fn open_standby(url: &str) -> Result<PgStore, StoreError> {
        let store = PgStore::connect(url)?;
        drop(store.client().await?);
        Ok(store)
    }

    fn connect(url: &str) -> Result<PgStore, StoreError> {
        let (config, tls) = tls::split(url)?;
        let connector = tls::connector(&tls)?;
        let manager =
            Manager::from_config(config, connector, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(|e| StoreError::Config(format!("cannot build the connection pool: {e}")))?;
        let store = PgStore {
            pool,
            boundaries: crate::db::quality::Boundaries::new(Some(crate::db::quality::PG_BOUNDARY_TTL)),
            commit_timer: std::sync::RwLock::new(None),
        };
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| StoreError::Db(format!("cannot reach PostgreSQL: {}", with_causes(&e))))
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        // Held across the steps: a second server starting now waits, then finds nothing to do.
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await.map_err(db)?;
        let result = async {
            client
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (
                        version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                )
                .await
                .map_err(db)?;
            let version: i32 = client
                .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])
                .await
                .map_err(db)?
                .get(0);
            let versions = crate::db::migrations::versions(Engine::Postgres);
            if version as usize > versions.len() {
                return Err(StoreError::Config(format!(
                    "the database is at schema version {version}, newer than this program knows ({}); upgrade doorstep",
                    versions.len()
                )));
            }
            for (i, step) in versions.iter().enumerate().skip(version as usize) {
                let tx = client.transaction().await.map_err(db)?;
                for sql in step.statements(Engine::Postgres) {
                    tx.batch_execute(&sql).await.map_err(db)?;
                }
                match step.then {
                    Some(Backfill::AreaStats) => tx.batch_execute(STATS_RECOMPUTE).await.map_err(db)?,
                    Some(Backfill::H3Cells) => drop(backfill_h3_cells(&tx).await?),
                    None => {}
                }
                tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&(i as i32 + 1)])
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                tracing::info!(version = i + 1, "migrated PostgreSQL database");
            }
            Ok(())
        }
        .await;
        client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await.map_err(db)?;
        result
    }
}

fn area_dto(r: &tokio_postgres::Row) -> AreaDto {
    AreaDto {
        code: r.get(0),
        parent: r.get(1),
        name: r.get(2),
        division_type: r.get(3),
        level: i64::from(r.get::<_, i32>(4)),
    }
}

#[async_trait]
impl Store for PgStore {
    async fn import_areas(&self, areas: Vec<AreaRecord>) -> Result<ImportSummary, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // One import at a time across servers: the plan depends on what is held.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(db)?;
        let existing: HashMap<String, HeldArea> = tx
            .query(crate::store::AREAS_HELD, &[])
            .await
            .map_err(db)?
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3), r.get(4))))
            .collect();
        let (rows, summary) = plan_import(&existing, areas)?;
        let upsert = tx.prepare(crate::store::AREA_INSERT).await.map_err(db)?;
        for a in &rows {
            tx.execute(
                &upsert,
                &[&a.code, &a.parent, &a.name, &a.name_search, &a.sort_key, &a.division_type, &a.boundary],
            )
            .await
            .map_err(db)?;
        }
        if !rows.is_empty() {
            let parent_of: HashMap<String, Option<String>> = tx
                .query(crate::store::AREA_PARENTS, &[])
                .await
                .map_err(db)?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let update = tx.prepare(crate::store::AREA_PATH_UPDATE).await.map_err(db)?;
            for (code, path, level) in compute_paths(&parent_of)? {
                tx.execute(&update, &[&code, &path, &(level as i32)]).await.map_err(db)?;
            }
            // The tree changed: the rolled-up figures follow it. Under the change lock, so no
            // ingest adds to them meanwhile.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHANGE_LOCK]).await.map_err(db)?;
            tx.batch_execute(STATS_RECOMPUTE).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        self.boundaries.clear();
        Ok(summary)
    }

    async fn ingest(&self, batch: IngestBatch) -> Result<Vec<Receipt>, StoreError> {
        let mut client = self.client().await?;
        let started = std::time::Instant::now();
        let receipts = ingest_tx(&mut client, &batch, &self.boundaries).await?;
        if let Some(timer) = self.commit_timer.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            timer(started.elapsed());
        }
        Ok(receipts)
    }

    async fn pull(
        &self, area: &AreaCode, cursor: i64, limit: u32, (campaign, now_ms): (&Campaign, i64),
    ) -> Result<Option<PullResponse>, StoreError> {
        let client = self.client().await?;
        let Some((path, _)) = area_path(&**client, area).await? else {
            return Ok(None);
        };
        let (lo, hi) = subtree_range(&path);
        let areas = if cursor == 0 {
            client.query(crate::store::PULL_AREAS, &[&lo, &hi]).await.map_err(db)?.iter().map(area_dto).collect()
        } else {
            Vec::new()
        };
        let rows = client
            .query(crate::store::PULL_HOUSEHOLDS, &[&lo, &hi, &cursor, &(i64::from(limit) + 1)])
            .await
            .map_err(db)?;
        let households: Vec<HouseholdDto> = rows
            .iter()
            .map(|r| {
                let latest_outcome: Option<String> = r.get(6);
                let due_at = campaign.revisit_due_at_ms(latest_outcome.as_deref(), r.get(8));
                HouseholdDto {
                    id: r.get::<_, Uuid>(0).to_string(),
                    area_code: r.get(1),
                    address: r.get(2),
                    lat: r.get(3),
                    lon: r.get(4),
                    visits: r.get(5),
                    revisit_due: due_at.is_some_and(|at| at <= now_ms),
                    revisit_due_at_ms: due_at,
                    latest_outcome,
                    latest_volunteer_id: r.get::<_, Option<Uuid>>(9).map(|v| v.to_string()),
                    latest_volunteer: r.get(10),
                    latest_visited_at_ms: r.get(8),
                    updated_seq: r.get(7),
                }
            })
            .collect();
        let claims = client
            .query(crate::store::PULL_CLAIMS_SQL, &[&lo, &hi, &cursor, &(i64::from(limit) + 1)])
            .await
            .map_err(db)?
            .iter()
            .map(claim_dto)
            .collect();
        let (households, claims, next_cursor, has_more) = crate::store::pull_page(households, claims, cursor, limit);
        Ok(Some(PullResponse { areas, households, claims, next_cursor, has_more }))
    }

    async fn add_households(&self, households: Vec<NewHousehold>) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let mut sorted = households;
        sorted.sort_by_key(|h| h.id.uuid());
        sorted.dedup_by_key(|h| h.id.uuid());
        let ids: Vec<Uuid> = sorted.iter().map(|h| h.id.uuid()).collect();
        let areas: Vec<String> = sorted.iter().map(|h| h.area_code.to_string()).collect();
        let addresses: Vec<Option<String>> = sorted.iter().map(|h| h.address.clone()).collect();
        let lats: Vec<Option<f64>> = sorted.iter().map(|h| h.lat).collect();
        let lons: Vec<Option<f64>> = sorted.iter().map(|h| h.lon).collect();
        let cells: Vec<Option<i64>> = sorted
            .iter()
            .map(|h| h.lat.zip(h.lon).and_then(|(lat, lon)| crate::db::ingest::fine_cell(lat, lon)))
            .collect();
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHANGE_LOCK]).await.map_err(db)?;
        let inserted: Vec<String> = tx
            .query(
                "INSERT INTO households (id, area_code, address, lat, lon, updated_seq, h3_cell)
                 SELECT id, area_code, address, lat, lon, nextval('change_seq'), h3_cell
                 FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::int8[])
                    AS t(id, area_code, address, lat, lon, h3_cell)
                 ON CONFLICT (id) DO NOTHING
                 RETURNING area_code",
                &[&ids, &areas, &addresses, &lats, &lons, &cells],
            )
            .await
            .map_err(|e| StoreError::Import(format!("households: {e}")))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let paths = area_paths(&*tx, &inserted).await?;
        let mut deltas = StatDeltas::default();
        for area in &inserted {
            if let Some(path) = paths.get(area) {
                deltas.apply(path, "", 1, Figures { households: 1, ..Figures::default() });
            }
        }
        apply_stats(&*tx, &deltas).await?;
        tx.commit().await.map_err(db)?;
        Ok(inserted.len() as u64)
    }

    async fn give_claim(&self, claim: crate::store::NewClaim) -> Result<Vec<Uuid>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // Change numbers in commit order, as for visits.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHANGE_LOCK]).await.map_err(db)?;
        let street_key = claim.street.as_ref().map(|s| s.key.clone());
        let released: Vec<Uuid> = tx
            .query(
                "UPDATE claims SET released_at_ms = $4, updated_seq = nextval('change_seq')
                 WHERE released_at_ms IS NULL AND (
                    ($1::uuid IS NOT NULL AND household_id = $1)
                    OR ($1::uuid IS NULL AND household_id IS NULL AND area_code = $2 AND street_key = $3))
                 RETURNING id",
                &[&claim.household_id, &claim.area_code, &street_key, &claim.now_ms],
            )
            .await
            .map_err(db)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        tx.execute(
            "INSERT INTO claims (id, area_code, household_id, street, street_key, volunteer_id, given_by,
                created_at_ms, updated_seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nextval('change_seq'))",
            &[
                &claim.id,
                &claim.area_code,
                &claim.household_id,
                &claim.street.as_ref().map(|s| s.name.clone()),
                &street_key,
                &claim.volunteer_id,
                &claim.given_by,
                &claim.now_ms,
            ],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(released)
    }

    async fn release_claim(&self, id: Uuid, now_ms: i64) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHANGE_LOCK]).await.map_err(db)?;
        let n = tx
            .execute(
                "UPDATE claims SET released_at_ms = $2, updated_seq = nextval('change_seq')
                 WHERE id = $1 AND released_at_ms IS NULL",
                &[&id, &now_ms],
            )
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(n > 0)
    }

    async fn claim_households(
        &self, areas: Vec<String>, households: Vec<Uuid>,
    ) -> Result<Vec<crate::store::ClaimHousehold>, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query(
                "SELECT id, area_code, address, visits, latest_volunteer_id, latest_visited_at_ms
                 FROM households WHERE area_code = ANY($1) OR id = ANY($2) ORDER BY id",
                &[&areas, &households],
            )
            .await
            .map_err(db)?
            .iter()
            .map(|r| crate::store::ClaimHousehold {
                id: r.get(0),
                area_code: r.get(1),
                address: r.get(2),
                visits: r.get(3),
                latest_volunteer_id: r.get(4),
                latest_visited_at_ms: r.get(5),
            })
            .collect())
    }

    async fn grouped_figures(
        &self, lo: &str, hi: &str, group: crate::db::filter::GroupBy, filter: &crate::db::filter::VisitFilter,
    ) -> Result<Vec<crate::db::filter::GroupRow>, StoreError> {
        let client = self.client().await?;
        crate::db::rows::pg_grouped(&client, &crate::db::filter::grouped_sql(lo, hi, group, filter), group).await
    }

    async fn stream_households(
        &self, q: crate::db::filter::RowQuery, sink: tokio::sync::mpsc::Sender<crate::db::filter::HouseholdRow>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        crate::db::rows::pg_stream_households(&client, &crate::db::filter::households_sql(&q), &sink).await
    }

    async fn stream_visits(
        &self, q: crate::db::filter::RowQuery, sink: tokio::sync::mpsc::Sender<VisitDto>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        crate::db::rows::pg_stream_visits(&client, &crate::db::filter::visits_sql(&q), &sink, pg_visit_row).await
    }
}

/// A row of [`VISIT_COLUMNS`].
pub(crate) fn pg_visit_row(r: &tokio_postgres::Row) -> VisitDto {
    let who = (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7), r.get(8));
    let what = (r.get(9), r.get(10), r.get(11), r.get(12), r.get(13), r.get(14), r.get(15));
    visit_dto(who, (what, (r.get(16), r.get(17), r.get(18), r.get(19), r.get(20), r.get(21), r.get(22), r.get(23))))
}

impl tokio_postgres::types::ToSql for Value {
    /// Written as the type PostgreSQL expects of the parameter, so one `Value::Int` serves an
    /// INTEGER, a BIGINT or a DOUBLE PRECISION column.
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Value::Float(f) => match *ty {
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ => f.to_sql(ty, out),
            },
            Value::Text(s) => match *ty {
                Type::UUID => Uuid::parse_str(s)?.to_sql(ty, out),
                _ => s.to_sql(ty, out),
            },
            Value::Bytes(b) => match *ty {
                Type::UUID => Uuid::from_slice(b)?.to_sql(ty, out),
                _ => b.as_slice().to_sql(ty, out),
            },
            Value::Uuid(u) => match *ty {
                Type::BYTEA => u.as_bytes().as_slice().to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => u.to_string().to_sql(ty, out),
                _ => u.to_sql(ty, out),
            },
            Value::Bool(b) => match *ty {
                Type::INT2 | Type::INT4 | Type::INT8 => Value::Int(*b as i64).to_sql(ty, out),
                _ => b.to_sql(ty, out),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

impl<'a> tokio_postgres::types::FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Value, Box<dyn std::error::Error + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Float(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Float(f32::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
            Type::BYTEA => Value::Bytes(<Vec<u8>>::from_sql(ty, raw)?),
            Type::UUID => Value::Uuid(Uuid::from_sql(ty, raw)?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Value::Text(String::from_sql(ty, raw)?),
            // What `SELECT pg_advisory_xact_lock(...)` answers.
            Type::VOID => Value::Null,
            // A shared statement casts what would come back otherwise (SUM is NUMERIC here).
            _ => return Err(format!("a column of type {ty} (cast it in the statement)").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Value, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Value::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn pg_params(params: &[Value]) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync)).collect()
}

fn row_of(r: &tokio_postgres::Row) -> Result<Row, StoreError> {
    (0..r.len()).map(|i| r.try_get::<_, Value>(i).map_err(db)).collect::<Result<_, _>>().map(Row)
}

#[async_trait]
impl Db for PgStore {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn load(&self) -> crate::db::Load {
        let s = self.pool.status();
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        crate::db::Load {
            writer_queue: 0,
            pool_size: n(s.size),
            pool_idle: n(s.available),
            pool_waiting: n(s.waiting),
            pool_max: n(s.max_size),
        }
    }

    fn time_commits(&self, timer: crate::db::CommitTimer) {
        *self.commit_timer.write().unwrap_or_else(|e| e.into_inner()) = Some(timer);
    }

    async fn query(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let st = client.prepare_cached(sql).await.map_err(db)?;
        let rows = client.query(&st, &pg_params(&params)).await.map_err(db)?;
        rows.iter().map(row_of).collect()
    }

    async fn execute(&self, sql: &str, params: Vec<Value>) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let st = client.prepare_cached(sql).await.map_err(db)?;
        client.execute(&st, &pg_params(&params)).await.map_err(db)
    }

    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        let client = self.client().await?;
        client.batch_execute("BEGIN").await.map_err(db)?;
        Ok(Box::new(PgTx { client: Some(client) }))
    }
}

/// A transaction on one pooled connection ([`Db::begin`]): BEGIN, its statements, COMMIT.
struct PgTx {
    /// Taken by commit; still here when dropped means the transaction did not end.
    client: Option<deadpool_postgres::Object>,
}

impl PgTx {
    fn client(&self) -> Result<&deadpool_postgres::Object, StoreError> {
        self.client.as_ref().ok_or_else(|| StoreError::Task("the transaction has ended".into()))
    }
}

#[async_trait]
impl Tx for PgTx {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn run(&mut self, sql: &str, params: Vec<Value>) -> Result<Done, StoreError> {
        let client = self.client()?;
        let st = client.prepare_cached(sql).await.map_err(db)?;
        if st.columns().is_empty() {
            return Ok(Done { rows: Vec::new(), changed: client.execute(&st, &pg_params(&params)).await.map_err(db)? });
        }
        let rows = client
            .query(&st, &pg_params(&params))
            .await
            .map_err(db)?
            .iter()
            .map(row_of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Done { changed: rows.len() as u64, rows })
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let client = self.client.take().ok_or_else(|| StoreError::Task("the transaction has ended".into()))?;
        client.batch_execute("COMMIT").await.map_err(db)
    }
}

impl Drop for PgTx {
    /// Not committed: rolled back before the connection goes back to the pool; with no runtime
    /// to do it on, the connection is closed instead (which rolls back too).
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if client.batch_execute("ROLLBACK").await.is_err() {
                        drop(deadpool_postgres::Object::take(client));
                    }
                });
            }
            Err(_) => drop(deadpool_postgres::Object::take(client)),
        }
    }
}
