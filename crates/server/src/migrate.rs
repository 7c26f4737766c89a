//! Moving up: a whole server state from a SQLite file to PostgreSQL, with every number kept
//! (receive order, change cursors), verified by counts and checksums at the end. Running it again
//! adds nothing and verifies again.

use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::store::StoreError;

/// Rows read from SQLite and written to PostgreSQL at a time (24 columns x 2,000 stays under
/// PostgreSQL's 65,535 parameters).
const CHUNK: i64 = 2_000;

/// Rows per copied batch: photos' bytes (up to 5 MiB each, a blob's or an unfinished upload's)
/// go a few at a time.
fn chunk_of(table: &Table) -> i64 {
    // The base map's chunks are 256 KiB each: a province's map is read back whole (tens of MB).
    if holds_photo_bytes(table) || table.name == "basemap_chunks" { 16 } else { CHUNK }
}

fn holds_photo_bytes(table: &Table) -> bool {
    matches!(table.name, "photo_blobs" | "photo_uploads")
}

/// What was copied and what was verified.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MigrateReport {
    pub tables: Vec<TableReport>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TableReport {
    pub table: &'static str,
    /// Rows in the SQLite file.
    pub source: i64,
    /// Rows written now (0 on a second run).
    pub copied: u64,
    /// Rows in PostgreSQL afterwards.
    pub target: i64,
    /// The same checksum over both sides' rows.
    pub checksum_match: bool,
}

fn db(e: impl std::error::Error) -> StoreError {
    // tokio-postgres says only "db error" at the top; the server's own words are in the source.
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    StoreError::Db(text)
}

fn uuid_of(bytes: &[u8]) -> Result<Uuid, StoreError> {
    Uuid::from_slice(bytes).map_err(|e| StoreError::Db(format!("a stored id is not a UUID: {e}")))
}

/// A value read from SQLite, kept in the type PostgreSQL wants.
enum Val {
    Text(Option<String>),
    Int(Option<i64>),
    Int4(Option<i32>),
    Real(Option<f64>),
    Bool(bool),
    Uuid(Uuid),
    OptUuid(Option<Uuid>),
    Bytes(Vec<u8>),
}

impl Val {
    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Val::Text(v) => v,
            Val::Int(v) => v,
            Val::Int4(v) => v,
            Val::Real(v) => v,
            Val::Bool(v) => v,
            Val::Uuid(v) => v,
            Val::OptUuid(v) => v,
            Val::Bytes(v) => v,
        }
    }

    /// The value as checksum input, the same on both sides.
    fn digest(&self, h: &mut Sha256) {
        match self {
            Val::Text(v) => h.update(format!("{v:?}")),
            Val::Int(v) => h.update(format!("{v:?}")),
            Val::Int4(v) => h.update(format!("{v:?}")),
            Val::Real(v) => h.update(format!("{:?}", v.map(f64::to_bits))),
            Val::Bool(v) => h.update([u8::from(*v)]),
            Val::Uuid(v) => h.update(v.as_bytes()),
            Val::OptUuid(v) => h.update(v.map(|u| *u.as_bytes()).unwrap_or_default()),
            Val::Bytes(v) => h.update(v),
        }
        h.update([0x1f]);
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Int4,
    Real,
    Bool,
    Uuid,
    OptUuid,
    Bytes,
}

struct Table {
    name: &'static str,
    key: &'static str,
    columns: &'static [(&'static str, Kind)],
    /// PostgreSQL needs this to write an identity column.
    overriding: bool,
}

impl Table {
    /// The key as PostgreSQL must sort it to match SQLite's byte order.
    fn pg_order(&self) -> String {
        match self.key {
            "path" | "username" | "sha256" => format!("{} COLLATE \"C\"", self.key),
            "sha256, device_id" => "sha256 COLLATE \"C\", device_id".to_string(),
            k => k.to_string(),
        }
    }
}

const TABLES: &[Table] = &[
    Table {
        name: "areas",
        key: "path",
        columns: &[
            ("code", Kind::Text),
            ("parent_code", Kind::Text),
            ("name", Kind::Text),
            ("name_search", Kind::Text),
            ("sort_key", Kind::Bytes),
            ("division_type", Kind::Text),
            ("level", Kind::Int4),
            ("path", Kind::Text),
            ("boundary", Kind::Text),
        ],
        overriding: false,
    },
    Table {
        name: "devices",
        key: "id",
        columns: &[
            ("id", Kind::Uuid),
            ("first_seen_ms", Kind::Int),
            ("last_seen_ms", Kind::Int),
            ("clock_skew_ms", Kind::Int),
            ("pushes", Kind::Int),
            ("app_version", Kind::Text),
        ],
        overriding: false,
    },
    Table {
        name: "households",
        key: "updated_seq",
        columns: &[
            ("id", Kind::Uuid),
            ("area_code", Kind::Text),
            ("address", Kind::Text),
            ("lat", Kind::Real),
            ("lon", Kind::Real),
            ("updated_seq", Kind::Int),
            ("visits", Kind::Int),
            ("latest_outcome", Kind::Text),
            ("people", Kind::Int),
            ("smartphones", Kind::Int),
            ("already_installed", Kind::Int),
            ("installed_now", Kind::Int),
            ("h3_cell", Kind::Int),
            ("latest_visited_at_ms", Kind::Int),
            ("latest_volunteer_id", Kind::OptUuid),
        ],
        overriding: false,
    },
    Table {
        name: "users",
        key: "username",
        columns: &[
            ("id", Kind::Uuid),
            ("username", Kind::Text),
            ("password_hash", Kind::Text),
            ("role", Kind::Text),
            ("area_code", Kind::Text),
            ("created_at_ms", Kind::Int),
            ("disabled", Kind::Bool),
            ("display_name", Kind::Text),
        ],
        overriding: false,
    },
    Table {
        name: "sessions",
        key: "token_hash",
        columns: &[
            ("token_hash", Kind::Bytes),
            ("user_id", Kind::Uuid),
            ("created_at_ms", Kind::Int),
            ("expires_at_ms", Kind::Int),
            ("revoked", Kind::Bool),
        ],
        overriding: false,
    },
    Table {
        name: "enrolments",
        key: "code_hash",
        columns: &[
            ("code_hash", Kind::Bytes),
            ("user_id", Kind::Uuid),
            ("issued_by", Kind::Text),
            ("created_at_ms", Kind::Int),
            ("expires_at_ms", Kind::Int),
            ("used_at_ms", Kind::Int),
            ("device_id", Kind::OptUuid),
        ],
        overriding: false,
    },
    Table {
        name: "password_codes",
        key: "code_hash",
        columns: &[
            ("code_hash", Kind::Bytes),
            ("user_id", Kind::Uuid),
            ("issued_by", Kind::Text),
            ("created_at_ms", Kind::Int),
            ("expires_at_ms", Kind::Int),
            ("used_at_ms", Kind::Int),
        ],
        overriding: false,
    },
    Table {
        name: "device_tokens",
        key: "token_hash",
        columns: &[
            ("token_hash", Kind::Bytes),
            ("device_id", Kind::Uuid),
            ("user_id", Kind::Uuid),
            ("created_at_ms", Kind::Int),
            ("revoked_at_ms", Kind::Int),
            ("revoke_reason", Kind::Text),
        ],
        overriding: false,
    },
    Table {
        name: "targets",
        key: "area_code",
        columns: &[
            ("area_code", Kind::Text),
            ("households", Kind::Int),
            ("population", Kind::Int),
            ("smartphone_owners", Kind::Int),
            ("imported_at_ms", Kind::Int),
        ],
        overriding: false,
    },
    Table {
        name: "campaign",
        key: "id",
        columns: &[("id", Kind::Int4), ("definition", Kind::Text), ("loaded_at_ms", Kind::Int)],
        overriding: false,
    },
    Table {
        name: "audit_log",
        key: "seq",
        columns: &[
            ("seq", Kind::Int),
            ("at_ms", Kind::Int),
            ("actor", Kind::Text),
            ("action", Kind::Text),
            ("detail", Kind::Text),
        ],
        overriding: true,
    },
    Table {
        name: "visits",
        key: "server_seq",
        columns: &[
            ("server_seq", Kind::Int),
            ("id", Kind::Uuid),
            ("revision", Kind::Int),
            ("device_id", Kind::Uuid),
            ("device_seq", Kind::Int),
            ("volunteer_id", Kind::Uuid),
            ("household_id", Kind::Uuid),
            ("area_code", Kind::Text),
            ("visited_at_ms", Kind::Int),
            ("utc_offset_min", Kind::Int4),
            ("outcome", Kind::Text),
            ("reason", Kind::Text),
            ("people", Kind::Int),
            ("smartphones", Kind::Int),
            ("already_installed", Kind::Int),
            ("installed_now", Kind::Int),
            ("leaflet_given", Kind::Bool),
            ("loc_source", Kind::Text),
            ("lat", Kind::Real),
            ("lon", Kind::Real),
            ("accuracy_m", Kind::Real),
            ("notes", Kind::Text),
            ("received_at_ms", Kind::Int),
            ("content_hash", Kind::Bytes),
        ],
        overriding: true,
    },
    Table {
        name: "teams",
        key: "id",
        columns: &[
            ("id", Kind::Uuid),
            ("name", Kind::Text),
            ("area_code", Kind::Text),
            ("leader_id", Kind::Uuid),
            ("created_at_ms", Kind::Int),
        ],
        overriding: false,
    },
    Table {
        name: "team_members",
        key: "team_id, user_id",
        columns: &[("team_id", Kind::Uuid), ("user_id", Kind::Uuid)],
        overriding: false,
    },
    Table {
        name: "assignments",
        key: "user_id, area_code",
        columns: &[
            ("user_id", Kind::Uuid),
            ("area_code", Kind::Text),
            ("team_id", Kind::Uuid),
            ("assigned_by", Kind::Text),
            ("assigned_at_ms", Kind::Int),
        ],
        overriding: false,
    },
    Table {
        name: "claims",
        key: "updated_seq",
        columns: &[
            ("id", Kind::Uuid),
            ("area_code", Kind::Text),
            ("household_id", Kind::OptUuid),
            ("street", Kind::Text),
            ("street_key", Kind::Text),
            ("volunteer_id", Kind::Uuid),
            ("given_by", Kind::Text),
            ("created_at_ms", Kind::Int),
            ("released_at_ms", Kind::Int),
            ("updated_seq", Kind::Int),
        ],
        overriding: false,
    },
    Table {
        name: "visit_flags",
        key: "server_seq",
        columns: &[("server_seq", Kind::Int), ("flags", Kind::Text)],
        overriding: false,
    },
    Table {
        name: "corrections",
        key: "id",
        columns: &[
            ("id", Kind::Uuid),
            ("visit_id", Kind::Uuid),
            ("revision", Kind::Int),
            ("volunteer_id", Kind::Uuid),
            ("area_code", Kind::Text),
            ("comment", Kind::Text),
            ("requested_by", Kind::Text),
            ("requested_at_ms", Kind::Int),
        ],
        overriding: false,
    },
    Table {
        name: "venues",
        key: "id",
        columns: &[
            ("id", Kind::Uuid),
            ("area_code", Kind::Text),
            ("kind", Kind::Text),
            ("name", Kind::Text),
            ("address", Kind::Text),
            ("lat", Kind::Real),
            ("lon", Kind::Real),
            ("registered_ms", Kind::Int),
        ],
        overriding: false,
    },
    Table {
        name: "venue_visits",
        key: "seq",
        columns: &[
            ("seq", Kind::Int),
            ("id", Kind::Uuid),
            ("revision", Kind::Int),
            ("venue_id", Kind::Uuid),
            ("area_code", Kind::Text),
            ("device_id", Kind::Uuid),
            ("device_seq", Kind::Int),
            ("volunteer_id", Kind::Uuid),
            ("visited_at", Kind::Text),
            ("local_day", Kind::Text),
            ("people_reached", Kind::Int),
            ("smartphones", Kind::Int),
            ("already_installed", Kind::Int),
            ("installed_now", Kind::Int),
            ("notices_posted", Kind::Int),
            ("visitors_came_in", Kind::Int),
            ("visitors_told", Kind::Int),
            ("visitors_installed", Kind::Int),
            ("lat", Kind::Real),
            ("lon", Kind::Real),
            ("accuracy_m", Kind::Real),
            ("notes", Kind::Text),
            ("body", Kind::Text),
            ("content_hash", Kind::Bytes),
            ("received_at_ms", Kind::Int),
        ],
        overriding: false,
    },
    Table {
        name: "photo_blobs",
        key: "sha256",
        columns: &[
            ("sha256", Kind::Text),
            ("size", Kind::Int),
            ("content_type", Kind::Text),
            ("received", Kind::Int),
            ("complete", Kind::Bool),
            ("bytes", Kind::Bytes),
            ("created_ms", Kind::Int),
        ],
        overriding: false,
    },
    Table {
        name: "photo_links",
        key: "id",
        columns: &[
            ("id", Kind::Uuid),
            ("sha256", Kind::Text),
            ("target_kind", Kind::Text),
            ("target_id", Kind::Text),
            ("area_code", Kind::Text),
            ("day", Kind::Text),
            ("volunteer_id", Kind::Uuid),
            ("device_id", Kind::Uuid),
            ("caption", Kind::Text),
            ("taken_at", Kind::Text),
            ("received_ms", Kind::Int),
            ("content_hash", Kind::Bytes),
        ],
        overriding: false,
    },
    Table {
        name: "photo_uploads",
        key: "sha256, device_id",
        columns: &[
            ("sha256", Kind::Text),
            ("device_id", Kind::Uuid),
            ("size", Kind::Int),
            ("received", Kind::Int),
            ("complete", Kind::Bool),
            ("bytes", Kind::Bytes),
            ("created_ms", Kind::Int),
        ],
        overriding: false,
    },
    Table {
        name: "basemap",
        key: "id",
        columns: &[
            ("id", Kind::Int4),
            ("name", Kind::Text),
            ("sha256", Kind::Text),
            ("size", Kind::Int),
            ("tile_type", Kind::Text),
            ("min_zoom", Kind::Int4),
            ("max_zoom", Kind::Int4),
            ("west", Kind::Real),
            ("south", Kind::Real),
            ("east", Kind::Real),
            ("north", Kind::Real),
            ("imported_at_ms", Kind::Int),
        ],
        overriding: false,
    },
    Table {
        name: "basemap_chunks",
        key: "idx",
        columns: &[("idx", Kind::Int4), ("bytes", Kind::Bytes)],
        overriding: false,
    },
];

fn read_sqlite(row: &rusqlite::Row<'_>, i: usize, kind: Kind) -> Result<Val, StoreError> {
    Ok(match kind {
        Kind::Text => Val::Text(row.get(i)?),
        Kind::Int => Val::Int(row.get(i)?),
        Kind::Int4 => Val::Int4(row.get(i)?),
        Kind::Real => Val::Real(row.get(i)?),
        Kind::Bool => Val::Bool(row.get::<_, i64>(i)? != 0),
        Kind::Uuid => Val::Uuid(uuid_of(&row.get::<_, Vec<u8>>(i)?)?),
        Kind::OptUuid => Val::OptUuid(row.get::<_, Option<Vec<u8>>>(i)?.map(|b| uuid_of(&b)).transpose()?),
        Kind::Bytes => Val::Bytes(row.get(i)?),
    })
}

fn read_pg(row: &tokio_postgres::Row, i: usize, kind: Kind) -> Val {
    match kind {
        Kind::Text => Val::Text(row.get(i)),
        Kind::Int => Val::Int(row.get(i)),
        Kind::Int4 => Val::Int4(row.get(i)),
        Kind::Real => Val::Real(row.get(i)),
        Kind::Bool => Val::Bool(row.get(i)),
        Kind::Uuid => Val::Uuid(row.get(i)),
        Kind::OptUuid => Val::OptUuid(row.get(i)),
        Kind::Bytes => Val::Bytes(row.get(i)),
    }
}

/// Copies `sqlite_path` into the PostgreSQL database `pg_url` (made or brought up to date), then
/// verifies it. The SQLite file must not be in use (its lock is taken). `progress` hears
/// (table, rows done, rows in all).
pub async fn sqlite_to_postgres(
    sqlite_path: &std::path::Path, pg_url: &str, mut progress: impl FnMut(&str, u64, u64),
) -> Result<MigrateReport, StoreError> {
    // Opening the store checks the file, migrates it, and holds its lock while we read.
    let source_store = SqliteStore::open(sqlite_path)?;
    let source =
        rusqlite::Connection::open_with_flags(source_store.path(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    drop(PgStore::open(pg_url).await?);
    let (config, tls) = crate::db::postgres::tls::split(pg_url)?;
    let (mut target, connection) = config.connect(crate::db::postgres::tls::connector(&tls)?).await.map_err(db)?;
    tokio::spawn(connection);

    let mut report = MigrateReport::default();
    for table in TABLES {
        let names: Vec<&str> = table.columns.iter().map(|(n, _)| *n).collect();
        let list = names.join(", ");
        let total: i64 = source.query_row(&format!("SELECT COUNT(*) FROM {}", table.name), [], |r| r.get(0))?;
        let mut copied = 0u64;
        let mut done = 0i64;
        let tx = target.transaction().await.map_err(db)?;
        while done < total {
            let mut st = source.prepare(&format!(
                "SELECT {list} FROM {} ORDER BY {}, rowid LIMIT {} OFFSET {done}",
                table.name,
                table.key,
                chunk_of(table)
            ))?;
            let mut rows = st.query([])?;
            let mut values: Vec<Val> = Vec::new();
            let mut n = 0;
            while let Some(r) = rows.next()? {
                for (i, (_, kind)) in table.columns.iter().enumerate() {
                    values.push(read_sqlite(r, i, *kind)?);
                }
                n += 1;
            }
            if n == 0 {
                break;
            }
            let width = table.columns.len();
            let placeholders: Vec<String> = (0..n)
                .map(|r| {
                    format!("({})", (1..=width).map(|c| format!("${}", r * width + c)).collect::<Vec<_>>().join(","))
                })
                .collect();
            let sql = format!(
                "INSERT INTO {} ({list}) {} VALUES {} ON CONFLICT DO NOTHING",
                table.name,
                if table.overriding { "OVERRIDING SYSTEM VALUE" } else { "" },
                placeholders.join(",")
            );
            let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(Val::sql).collect();
            copied += tx.execute(&sql, &params).await.map_err(db)?;
            done += n as i64;
            progress(table.name, done as u64, total as u64);
        }
        tx.commit().await.map_err(db)?;

        // Verify: the same rows in the same order give the same checksum on both sides.
        let target_count: i64 =
            target.query_one(&format!("SELECT COUNT(*) FROM {}", table.name), &[]).await.map_err(db)?.get(0);
        let mut source_sum = Sha256::new();
        let mut st =
            source.prepare(&format!("SELECT {list} FROM {} ORDER BY {}, {}", table.name, table.key, names[0]))?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            for (i, (_, kind)) in table.columns.iter().enumerate() {
                read_sqlite(r, i, *kind)?.digest(&mut source_sum);
            }
        }
        let mut target_sum = Sha256::new();
        if holds_photo_bytes(table) {
            // Photos are large: read back a few at a time (by key), not the whole table at once.
            // An upload's key is (sha256, device_id), with sha256 first: the nil UUID starts it.
            let mut after = (String::new(), Uuid::nil());
            let (sql, by_device) = if table.name == "photo_uploads" {
                (
                    format!(
                        "SELECT {list} FROM photo_uploads WHERE (sha256 COLLATE \"C\", device_id) > ($1, $2)
                         ORDER BY {} LIMIT {}",
                        table.pg_order(),
                        chunk_of(table)
                    ),
                    true,
                )
            } else {
                (
                    format!(
                        "SELECT {list} FROM photo_blobs WHERE sha256 > $1 ORDER BY {} LIMIT {}",
                        table.pg_order(),
                        chunk_of(table)
                    ),
                    false,
                )
            };
            loop {
                let rows = if by_device {
                    target.query(&sql, &[&after.0, &after.1]).await
                } else {
                    target.query(&sql, &[&after.0]).await
                }
                .map_err(db)?;
                let Some(last) = rows.last() else { break };
                after.0 = last.try_get(0).map_err(db)?;
                if by_device {
                    after.1 = last.try_get(1).map_err(db)?;
                }
                for r in &rows {
                    for (i, (_, kind)) in table.columns.iter().enumerate() {
                        read_pg(r, i, *kind).digest(&mut target_sum);
                    }
                }
            }
        } else {
            for r in target
                .query(&format!("SELECT {list} FROM {} ORDER BY {}, {}", table.name, table.pg_order(), names[0]), &[])
                .await
                .map_err(db)?
            {
                for (i, (_, kind)) in table.columns.iter().enumerate() {
                    read_pg(&r, i, *kind).digest(&mut target_sum);
                }
            }
        }
        report.tables.push(TableReport {
            table: table.name,
            source: total,
            copied,
            target: target_count,
            checksum_match: source_sum.finalize() == target_sum.finalize(),
        });
    }
    // The per-area figures are derived: rebuilt from the households just copied.
    target.batch_execute(crate::db::ingest::STATS_RECOMPUTE).await.map_err(db)?;
    // So is each household's latest visit's receive number, which only PostgreSQL keeps.
    target.batch_execute(crate::postgres::LATEST_SEQ_BACKFILL).await.map_err(db)?;
    target.batch_execute(crate::db::ingest::AREA_DAYS_REBUILD_OWN_AREA).await.map_err(db)?;
    // So is each volunteer's latest visit, where the next batch's motion flags start.
    target
        .batch_execute(&format!("DELETE FROM volunteer_trail; {}", crate::db::quality::TRAIL_FILL_SQL))
        .await
        .map_err(db)?;
    // The counters go on from where the SQLite file left them, so device cursors stay valid.
    target
        .batch_execute(
            "SELECT setval('change_seq', GREATEST((SELECT COALESCE(MAX(updated_seq), 0) FROM households),
                                           (SELECT COALESCE(MAX(updated_seq), 0) FROM claims), 1));
             SELECT setval(pg_get_serial_sequence('visits', 'server_seq'),
                           GREATEST((SELECT COALESCE(MAX(server_seq), 0) FROM visits), 1));
             SELECT setval(pg_get_serial_sequence('audit_log', 'seq'),
                           GREATEST((SELECT COALESCE(MAX(seq), 0) FROM audit_log), 1));
             SELECT setval(pg_get_serial_sequence('venue_visits', 'seq'),
                           GREATEST((SELECT COALESCE(MAX(seq), 0) FROM venue_visits), 1));",
        )
        .await
        .map_err(db)?;
    Ok(report)
}
