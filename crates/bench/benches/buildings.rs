//! Importing enumerated buildings for a province: 365,000 footprints (about Hà Tĩnh's
//! households) as one GeoJSON file, placed by point-in-polygon among the province's 2020 communes
//! (boundaries of 256 vertices each, synthetic: no real ones are bundled) and stored as expected
//! households, through `doorstep_server::buildings::import`, the code `doorstep admin
//! import-buildings` runs. Target: under 10 s. Printed next to the floor measured in the same
//! run: reading the same file with serde_json doing nothing with it, and raw rusqlite inserts
//! of the same household rows into the same schema in one transaction.
//!
//! `cargo bench -p doorstep-bench --bench buildings` (BENCH_BUILDINGS, default 365,000;
//! DOORSTEP_BENCH_PG=postgres://... to measure PostgreSQL as well).

use std::fmt::Write as _;
use std::time::Instant;

use doorstep_bench::{HA_TINH_2020, env_usize, machine, pg_fresh_db};
use doorstep_domain::area::{AreaRecord, parse_gso_tree};
use doorstep_server::Store;
use doorstep_server::buildings::{AreaIndex, parse_buildings};
use doorstep_server::db::migrations::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::params;

/// Hà Tĩnh's extent, roughly (degrees).
const WEST: f64 = 105.10;
const EAST: f64 = 106.50;
const SOUTH: f64 = 17.90;
const NORTH: f64 = 18.80;
const EDGE_POINTS: usize = 64;

/// A rectangle as a GeoJSON polygon with `per_edge` points on each edge, so point-in-polygon
/// costs what a surveyed boundary's does.
fn ring(w: f64, s: f64, e: f64, n: f64, per_edge: usize) -> String {
    let mut pts = Vec::with_capacity(per_edge * 4 + 1);
    for i in 0..per_edge {
        pts.push((w + (e - w) * i as f64 / per_edge as f64, s));
    }
    for i in 0..per_edge {
        pts.push((e, s + (n - s) * i as f64 / per_edge as f64));
    }
    for i in 0..per_edge {
        pts.push((e - (e - w) * i as f64 / per_edge as f64, n));
    }
    for i in 0..per_edge {
        pts.push((w, n - (n - s) * i as f64 / per_edge as f64));
    }
    pts.push((w, s));
    let coords: Vec<String> = pts.iter().map(|(x, y)| format!("[{x:.6},{y:.6}]")).collect();
    format!("{{\"type\":\"Polygon\",\"coordinates\":[[{}]]}}", coords.join(","))
}

/// The 2020 tree with a boundary for the province and each commune: the province's rectangle
/// cut into a grid, one cell per commune.
fn areas_with_boundaries() -> Vec<AreaRecord> {
    let mut areas = parse_gso_tree(HA_TINH_2020).expect("tree");
    let communes = areas.iter().filter(|a| a.code.as_str().len() == 5).count();
    let cols = 15;
    let rows = communes.div_ceil(cols);
    let (dx, dy) = ((EAST - WEST) / cols as f64, (NORTH - SOUTH) / rows as f64);
    let mut n = 0;
    for a in &mut areas {
        if a.parent.is_none() {
            a.boundary = Some(ring(WEST, SOUTH, EAST, NORTH, EDGE_POINTS * 8));
        } else if a.code.as_str().len() == 5 {
            let (c, r) = ((n % cols) as f64, (n / cols) as f64);
            let (w, s) = (WEST + c * dx, SOUTH + r * dy);
            a.boundary = Some(ring(w, s, w + dx, s + dy, EDGE_POINTS));
            n += 1;
        }
    }
    areas
}

/// `n` footprints of about 10 m, one per line; one in a hundred out at sea (outside).
fn buildings_file(n: usize) -> String {
    let mut rng = StdRng::seed_from_u64(365);
    let mut out = String::with_capacity(n * 260);
    out.push_str("{\"type\":\"FeatureCollection\",\"features\":[\n");
    for i in 0..n {
        let (x, y) = if i % 100 == 99 {
            (rng.random_range(106.6..106.9), rng.random_range(SOUTH..NORTH))
        } else {
            (rng.random_range(WEST..EAST - 0.0001), rng.random_range(SOUTH..NORTH - 0.0001))
        };
        let props = if i % 3 == 0 {
            format!(
                "{{\"building\":\"house\",\"addr:housenumber\":\"{}\",\"addr:street\":\"Phan Đình Phùng\"}}",
                i % 400 + 1
            )
        } else {
            "{\"building\":\"yes\"}".to_string()
        };
        let (e, nn) = (x + 0.0001, y + 0.0001);
        let _ = write!(
            out,
            "{}{{\"type\":\"Feature\",\"id\":\"way/{i}\",\"properties\":{props},\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[[{x:.7},{y:.7}],[{e:.7},{y:.7}],[{e:.7},{nn:.7}],[{x:.7},{nn:.7}],[{x:.7},{y:.7}]]]}}}}",
            if i == 0 { "" } else { ",\n" }
        );
    }
    out.push_str("\n]}\n");
    out
}

/// The floor of storing: the same household rows, same schema and pragmas, prepared, one
/// transaction, no placement and no figures.
fn raw_insert(dir: &std::path::Path, rows: &[(uuid::Uuid, String, Option<String>, f64, f64)]) -> f64 {
    let mut conn = rusqlite::Connection::open(dir.join("raw.db")).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
    conn.pragma_update(None, "synchronous", "FULL").expect("sync");
    conn.execute_batch(&doorstep_server::sqlite::schema_sql()).expect("schema");
    // The households' columns as the server's later migrations leave them.
    doorstep_server::db::migrations::each_statement("0007_h3_cell", Engine::Sqlite, |sql| {
        conn.execute_batch(sql).expect("h3 column")
    });
    let mut codes: Vec<&String> = rows.iter().map(|r| &r.1).collect();
    codes.sort();
    codes.dedup();
    for c in codes {
        conn.execute(
            "INSERT INTO areas (code, name, name_search, sort_key, level, path) VALUES (?1, ?1, ?1, x'00', 2, ?1)",
            [c],
        )
        .expect("area");
    }
    let start = Instant::now();
    let tx = conn.transaction().expect("tx");
    {
        let mut st = tx
            .prepare(
                "INSERT INTO households (id, area_code, address, lat, lon, updated_seq, h3_cell)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .expect("prepare");
        for (i, (id, area, address, lat, lon)) in rows.iter().enumerate() {
            st.execute(params![
                id.as_bytes().as_slice(),
                area,
                address,
                lat,
                lon,
                i as i64,
                doorstep_server::hexagons::fine_cell(*lat, *lon)
            ])
            .expect("insert");
        }
    }
    tx.commit().expect("commit");
    start.elapsed().as_secs_f64()
}

async fn import_into(store: &dyn Store, text: &str) -> (f64, doorstep_server::buildings::ImportReport) {
    store.import_areas(areas_with_boundaries()).await.expect("areas");
    let start = Instant::now();
    let report = doorstep_server::buildings::import(store, text, 10.0).await.expect("import");
    (start.elapsed().as_secs_f64(), report)
}

fn main() {
    let n = env_usize("BENCH_BUILDINGS", 365_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    println!("Buildings import: {n} footprints, Hà Tĩnh 2020 tree ({})", machine());
    let text = buildings_file(n);
    println!("file: {:.1} MB", text.len() as f64 / 1e6);

    // The floor: reading the file with nothing kept.
    let start = Instant::now();
    serde_json::from_str::<serde::de::IgnoredAny>(&text).expect("json");
    let skim = start.elapsed().as_secs_f64();

    // The steps alone.
    let start = Instant::now();
    let buildings = parse_buildings(&text).expect("parse");
    let parse = start.elapsed().as_secs_f64();
    let areas = areas_with_boundaries();
    let paths: std::collections::HashMap<String, String> = {
        let mut by_code = std::collections::HashMap::new();
        for a in &areas {
            let parent = a.parent.as_ref().and_then(|p| by_code.get(p.as_str()).cloned());
            let path = format!("{}{}/", parent.unwrap_or_else(|| "/".to_string()), a.code);
            by_code.insert(a.code.to_string(), path);
        }
        by_code
    };
    let rows = areas
        .iter()
        .filter_map(|a| {
            let path = paths.get(a.code.as_str())?.clone();
            Some((a.code.to_string(), path, a.boundary.clone()?))
        })
        .collect();
    let start = Instant::now();
    let (index, _) = AreaIndex::new(rows);
    let placed: Vec<_> =
        buildings.iter().filter_map(|b| index.place(b.lat, b.lon).map(|(code, _)| (b, code.to_string()))).collect();
    let place = start.elapsed().as_secs_f64();
    let raw_rows: Vec<_> =
        placed.iter().map(|(b, code)| (b.id().uuid(), code.clone(), b.address.clone(), b.lat, b.lon)).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = raw_insert(dir.path(), &raw_rows);

    // The whole import on a fresh database.
    let (sqlite, report) = rt.block_on(async {
        let store = doorstep_server::open_store(&format!("sqlite:{}", dir.path().join("server.db").display()))
            .await
            .expect("store");
        import_into(store.as_ref(), &text).await
    });
    assert_eq!(report.added as usize, placed.len(), "{report:?}");
    assert_eq!(report.outside, n - placed.len());

    println!(
        "  read the file (serde_json, nothing kept)     {skim:>6.2} s   floor\n  \
         raw rusqlite insert of the {} rows      {raw:>6.2} s   floor\n  \
         parse to points (centroids)                {parse:>6.2} s\n  \
         place among {} boundaries (R-tree + PIP)   {place:>6.2} s\n  \
         whole import, SQLite                       {sqlite:>6.2} s   ({:.0} buildings/s; target < 10 s; floor {:.2} s, {:.1}x)",
        placed.len(),
        index_len(),
        n as f64 / sqlite,
        skim + raw,
        sqlite / (skim + raw)
    );
    println!("  added {}, outside {}, already found {}", report.added, report.outside, report.already_found);

    if let Ok(admin) = std::env::var("DOORSTEP_BENCH_PG") {
        let pg = rt.block_on(async {
            let url = pg_fresh_db(&admin).await;
            let store = doorstep_server::open_store(&url).await.expect("pg store");
            import_into(store.as_ref(), &text).await.0
        });
        println!(
            "  whole import, PostgreSQL                   {pg:>6.2} s   ({:.0} buildings/s; target < 10 s)",
            n as f64 / pg
        );
    } else {
        println!("  PostgreSQL: not measured (set DOORSTEP_BENCH_PG=postgres://postgres@127.0.0.1:55432/postgres)");
    }
}

fn index_len() -> usize {
    areas_with_boundaries().iter().filter(|a| a.boundary.is_some()).count()
}
