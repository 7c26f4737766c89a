//! How each database runs [`crate::db::filter`]'s statements: binding its parameters, reading its
//! rows, streaming large answers (exports) to a channel as they are read, so memory stays
//! bounded whatever the area's size.

use std::path::Path;

use doorstep_domain::protocol::VisitDto;
use tokio::sync::mpsc::Sender;

use crate::db::filter::{GroupBy, GroupKey, GroupRow, HouseholdRow, SqlParam, Statement};
use crate::store::StoreError;

/// SQLite: parameters as rusqlite values.
fn sqlite_params(st: &Statement) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value;
    st.params
        .iter()
        .map(|p| match p {
            SqlParam::Int(v) => Value::Integer(*v),
            SqlParam::Text(v) => Value::Text(v.clone()),
            SqlParam::Id(v) => Value::Blob(v.as_bytes().to_vec()),
        })
        .collect()
}

fn sqlite_key(r: &rusqlite::Row<'_>, group: GroupBy) -> rusqlite::Result<GroupKey> {
    Ok(match group {
        GroupBy::Cell => GroupKey::Cell(r.get(0)?),
        GroupBy::Area => GroupKey::Area(r.get(0)?),
    })
}

/// SQLite: the rows of [`crate::db::filter::grouped_sql`].
pub fn sqlite_grouped(
    conn: &rusqlite::Connection, st: &Statement, group: GroupBy,
) -> Result<Vec<GroupRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&st.sqlite())?;
    let rows = stmt.query_map(rusqlite::params_from_iter(sqlite_params(st)), |r| {
        Ok(GroupRow {
            key: sqlite_key(r, group)?,
            outcome: r.get(1)?,
            households: r.get(2)?,
            smartphones: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
            already_installed: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
            installed_now: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A read-only connection of its own for a long read, so that an export does not hold one of
/// the server's readers.
fn sqlite_reader(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// SQLite: runs a statement and sends each row, as `read` makes it, until the rows or the
/// receiver run out. Blocking: call from a blocking thread.
fn sqlite_stream<T>(
    path: &Path, st: &Statement, sink: &Sender<T>, read: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<(), StoreError> {
    let conn = sqlite_reader(path)?;
    let mut stmt = conn.prepare(&st.sqlite())?;
    let mut rows = stmt.query(rusqlite::params_from_iter(sqlite_params(st)))?;
    while let Some(r) = rows.next()? {
        if sink.blocking_send(read(r)?).is_err() {
            // The reader went away (a download cancelled): nothing more to do.
            break;
        }
    }
    Ok(())
}

fn sqlite_household(r: &rusqlite::Row<'_>) -> Result<HouseholdRow, StoreError> {
    let id: Vec<u8> = r.get(0)?;
    Ok(HouseholdRow {
        id: uuid::Uuid::from_slice(&id).map_err(|e| StoreError::Db(format!("stored id: {e}")))?,
        area_code: r.get(1)?,
        area_name: r.get(2)?,
        address: r.get(3)?,
        lat: r.get(4)?,
        lon: r.get(5)?,
        h3_cell: r.get(6)?,
        visits: r.get(7)?,
        outcome: r.get(8)?,
        people: r.get(9)?,
        smartphones: r.get(10)?,
        already_installed: r.get(11)?,
        installed_now: r.get(12)?,
        visited_at_ms: r.get(13)?,
    })
}

/// SQLite: streams the households of [`crate::db::filter::households_sql`].
pub fn sqlite_stream_households(path: &Path, st: &Statement, sink: &Sender<HouseholdRow>) -> Result<(), StoreError> {
    sqlite_stream(path, st, sink, sqlite_household)
}

/// SQLite: streams the visits of [`crate::db::filter::visits_sql`], each read by `read` (the store's
/// own reader of [`crate::store::VISIT_COLUMNS`]).
pub fn sqlite_stream_visits(
    path: &Path, st: &Statement, sink: &Sender<VisitDto>,
    read: impl Fn(&rusqlite::Row<'_>) -> Result<VisitDto, StoreError>,
) -> Result<(), StoreError> {
    sqlite_stream(path, st, sink, read)
}

/// PostgreSQL: parameters as boxed `ToSql` values.
fn pg_params(st: &Statement) -> Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> {
    st.params
        .iter()
        .map(|p| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
            match p {
                SqlParam::Int(v) => Box::new(*v),
                SqlParam::Text(v) => Box::new(v.clone()),
                SqlParam::Id(v) => Box::new(*v),
            }
        })
        .collect()
}

fn db(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

/// PostgreSQL: runs a statement as a stream of rows.
async fn pg_rows(client: &tokio_postgres::Client, st: &Statement) -> Result<tokio_postgres::RowStream, StoreError> {
    let params = pg_params(st);
    client
        .query_raw(st.sql.as_str(), params.iter().map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync)))
        .await
        .map_err(db)
}

/// PostgreSQL: the rows of [`crate::db::filter::grouped_sql`].
pub async fn pg_grouped(
    client: &tokio_postgres::Client, st: &Statement, group: GroupBy,
) -> Result<Vec<GroupRow>, StoreError> {
    use futures_util::TryStreamExt;
    let rows: Vec<tokio_postgres::Row> = pg_rows(client, st).await?.try_collect().await.map_err(db)?;
    Ok(rows
        .iter()
        .map(|r| GroupRow {
            key: match group {
                GroupBy::Cell => GroupKey::Cell(r.get(0)),
                GroupBy::Area => GroupKey::Area(r.get(0)),
            },
            outcome: r.get(1),
            households: r.get(2),
            smartphones: r.get::<_, Option<i64>>(3).unwrap_or(0),
            already_installed: r.get::<_, Option<i64>>(4).unwrap_or(0),
            installed_now: r.get::<_, Option<i64>>(5).unwrap_or(0),
        })
        .collect())
}

/// PostgreSQL: sends each row, as `read` makes it, until the rows or the receiver run out.
async fn pg_stream<T>(
    client: &tokio_postgres::Client, st: &Statement, sink: &Sender<T>, read: impl Fn(&tokio_postgres::Row) -> T,
) -> Result<(), StoreError> {
    use futures_util::TryStreamExt;
    let rows = pg_rows(client, st).await?;
    futures_util::pin_mut!(rows);
    while let Some(r) = rows.try_next().await.map_err(db)? {
        if sink.send(read(&r)).await.is_err() {
            break;
        }
    }
    Ok(())
}

/// PostgreSQL: streams the households of [`crate::db::filter::households_sql`].
pub async fn pg_stream_households(
    client: &tokio_postgres::Client, st: &Statement, sink: &Sender<HouseholdRow>,
) -> Result<(), StoreError> {
    pg_stream(client, st, sink, |r| HouseholdRow {
        id: r.get(0),
        area_code: r.get(1),
        area_name: r.get(2),
        address: r.get(3),
        lat: r.get(4),
        lon: r.get(5),
        h3_cell: r.get(6),
        visits: r.get(7),
        outcome: r.get(8),
        people: r.get(9),
        smartphones: r.get(10),
        already_installed: r.get(11),
        installed_now: r.get(12),
        visited_at_ms: r.get(13),
    })
    .await
}

/// PostgreSQL: streams the visits of [`crate::db::filter::visits_sql`], each read by `read`.
pub async fn pg_stream_visits(
    client: &tokio_postgres::Client, st: &Statement, sink: &Sender<VisitDto>,
    read: impl Fn(&tokio_postgres::Row) -> VisitDto,
) -> Result<(), StoreError> {
    pg_stream(client, st, sink, read).await
}

/// Collects a household stream (for the map's points, bounded by the query's limit).
pub async fn collect_households(
    store: &dyn crate::store::Store, q: crate::db::filter::RowQuery,
) -> Result<Vec<HouseholdRow>, StoreError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let produce = store.stream_households(q, tx);
    let consume = async {
        let mut out = Vec::new();
        while let Some(r) = rx.recv().await {
            out.push(r);
        }
        out
    };
    let (done, rows) = tokio::join!(produce, consume);
    done.map(|()| rows)
}
