//! Targets per area from the committee's table (issue 8): the file read into rows, as CSV or as
//! the first sheet of a spreadsheet; `doorstep_domain::targets::parse_targets` reads the rows.

use std::path::Path;

use doorstep_domain::targets::Target;

use crate::db::{Db, Statement, params};
use crate::store::{Store, StoreError, subtree_range};

/// The rows whose area code names no area, by line ("line 3: no area has the code 99999"):
/// every code checked in one read, however long the table.
pub async fn unknown_areas(store: &dyn Store, targets: &[Target]) -> Result<Vec<String>, StoreError> {
    let codes: Vec<String> = targets.iter().map(|t| t.area_code.as_str().to_string()).collect();
    let known = crate::areas::area_paths(store, &codes).await?;
    Ok(targets
        .iter()
        .filter(|t| !known.contains_key(t.area_code.as_str()))
        .map(|t| format!("line {}: no area has the code {} (import the area tree first)", t.line, t.area_code))
        .collect())
}

/// Rows of a table file with their line numbers (1 = the first row). `.xlsx` is read as a
/// spreadsheet, anything else as CSV (comma, or semicolon as Vietnamese Excel writes it).
pub fn read_table(path: &Path) -> Result<Vec<(usize, Vec<String>)>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    read_table_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Rows of a table sent as bytes: a spreadsheet (an XLSX file is a zip, `PK`), else CSV.
pub fn read_table_bytes(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, String> {
    if bytes.starts_with(b"PK\x03\x04") { read_xlsx(bytes) } else { read_csv(bytes) }
}

fn read_csv(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, String> {
    // Excel's "CSV UTF-8" starts with a byte-order mark.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let semicolons = first_line.iter().filter(|b| **b == b';').count();
    let commas = first_line.iter().filter(|b| **b == b',').count();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(if semicolons > commas { b';' } else { b',' })
        .from_reader(bytes);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.position() {
            Some(p) => format!("line {}: {e}", p.line()),
            None => e.to_string(),
        })?;
        let line = record.position().map(|p| p.line() as usize).unwrap_or(rows.len() + 1);
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(rows)
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, String> {
    use calamine::{Data, Reader};
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a readable spreadsheet: {e}"))?;
    let sheet = book.sheet_names().first().cloned().ok_or_else(|| "the spreadsheet has no sheet".to_string())?;
    let range = book.worksheet_range(&sheet).map_err(|e| format!("cannot read the sheet '{sheet}': {e}"))?;
    let first_row = range.start().map(|(r, _)| r as usize).unwrap_or(0);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, row)| {
            let cells = row
                .iter()
                .map(|c| match c {
                    // Whole numbers as people wrote them, not "12345.0".
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", *f as i64),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect();
            (first_row + i + 1, cells)
        })
        .collect())
}

/// Stores targets by area, replacing what an area had; all or nothing.
pub async fn import_targets(db: &dyn Db, targets: Vec<Target>, now_ms: i64) -> Result<usize, StoreError> {
    let big = |n: Option<u64>| n.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let statements = targets
        .iter()
        .map(|t| {
            Statement::new(
                "INSERT INTO targets (area_code, households, population, smartphone_owners, imported_at_ms)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (area_code) DO UPDATE SET households = excluded.households,
                    population = excluded.population, smartphone_owners = excluded.smartphone_owners,
                    imported_at_ms = excluded.imported_at_ms",
                params![t.area_code.as_str(), big(t.households), big(t.population), big(t.smartphone_owners), now_ms],
            )
        })
        .collect();
    db.atomically(statements).await?;
    Ok(targets.len())
}

/// Every area of the subtree at `path` with its targets, by path ([`crate::targets::roll_up_targets`]).
pub async fn subtree_targets(db: &dyn Db, path: &str) -> Result<Vec<TargetRow>, StoreError> {
    let (lo, hi) = subtree_range(path);
    db.query(
        "SELECT a.path, t.households, t.population, t.smartphone_owners
         FROM areas a LEFT JOIN targets t ON t.area_code = a.code
         WHERE a.path >= $1 AND a.path < $2 ORDER BY a.path",
        params![lo, hi],
    )
    .await?
    .iter()
    .map(|r| Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?])))
    .collect()
}

/// An area's path and its targets: households, population, smartphone owners (all `None` for an
/// area without any).
pub type TargetRow = (String, [Option<i64>; 3]);

/// The targets of the area at `path`, from the areas of its subtree ([`crate::targets::subtree_targets`]):
/// for each figure, the area's own, or else the sum over the highest areas below that have it (a
/// child's own figure stands for its subtree), with how many areas at the level summed it covers.
/// `None` when nothing in the subtree has any.
pub fn roll_up_targets(path: &str, rows: &[TargetRow]) -> Option<doorstep_domain::protocol::AreaTargets> {
    let rows: Vec<&TargetRow> = rows.iter().filter(|(p, _)| p.starts_with(path)).collect();
    roll_up(path, &rows)
}

/// [`roll_up_targets`] for each of `paths` (an area's units), reading the subtree's rows once:
/// sorted by path, each unit's subtree is one contiguous run.
pub fn roll_up_targets_of(paths: &[&str], rows: &[TargetRow]) -> Vec<Option<doorstep_domain::protocol::AreaTargets>> {
    let mut sorted: Vec<&TargetRow> = rows.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    paths
        .iter()
        .map(|path| {
            let start = sorted.partition_point(|(p, _)| p.as_str() < *path);
            let len = sorted[start..].partition_point(|(p, _)| p.starts_with(*path));
            roll_up(path, &sorted[start..start + len])
        })
        .collect()
}

/// Depth of a path: `/42/` is 1, `/42/436/` 2.
fn depth(path: &str) -> usize {
    path.matches('/').count().saturating_sub(1)
}

/// The paths strictly between `path` (excluded) and `p` (included), from `p` up.
fn up_to<'a>(path: &str, p: &'a str) -> impl Iterator<Item = &'a str> {
    let mut next = Some(p);
    std::iter::from_fn(move || {
        let current = next.filter(|c| c.len() > path.len())?;
        let stem = current.trim_end_matches('/');
        next = stem.rfind('/').map(|cut| &current[..=cut]);
        Some(current)
    })
}

/// The roll-up over `rows`, the subtree of `path` (every row's path starts with it).
fn roll_up(path: &str, rows: &[&TargetRow]) -> Option<doorstep_domain::protocol::AreaTargets> {
    use doorstep_domain::protocol::{AreaTargets, TargetSum};
    use std::collections::HashSet;
    let own = rows.iter().find(|(p, _)| p == path).map(|(_, v)| *v).unwrap_or_default();
    // An area that is some row's parent is not a leaf.
    let parents: HashSet<&str> = rows
        .iter()
        .filter_map(|(p, _)| {
            let stem = p.trim_end_matches('/');
            stem.rfind('/').map(|cut| &p[..=cut])
        })
        .collect();
    let mut figures = [None::<i64>; 3];
    let mut sums = [None::<TargetSum>; 3];
    for field in 0..3 {
        if own[field].is_some() {
            figures[field] = own[field];
            continue;
        }
        let has: HashSet<&str> =
            rows.iter().filter(|(p, v)| v[field].is_some() && p.len() > path.len()).map(|(p, _)| p.as_str()).collect();
        if has.is_empty() {
            continue;
        }
        let covered = |p: &str| up_to(path, p).any(|a| has.contains(a));
        let mut total = 0i64;
        let mut level = 0;
        for (p, v) in rows {
            let Some(n) = v[field] else { continue };
            // Counted only where no area between it and `path` has the figure.
            if p.len() > path.len() && !up_to(path, p).skip(1).any(|a| has.contains(a)) {
                total = total.saturating_add(n);
                level = level.max(depth(p));
            }
        }
        // The level summed: its areas, and shallower ones with nothing below them.
        let (mut areas, mut with) = (0, 0);
        for (p, _) in rows {
            let d = depth(p);
            if p.len() > path.len() && (d == level || (d < level && !parents.contains(p.as_str()))) {
                areas += 1;
                with += i64::from(covered(p));
            }
        }
        figures[field] = Some(total);
        sums[field] = Some(TargetSum { areas_with_target: with, areas });
    }
    if figures.iter().all(Option::is_none) {
        return None;
    }
    let mut t = AreaTargets {
        households: figures[0],
        population: figures[1],
        smartphone_owners: figures[2],
        partial: false,
        households_sum: sums[0],
        population_sum: sums[1],
        smartphone_owners_sum: sums[2],
    };
    t.partial = t.any_partial();
    Some(t)
}

#[cfg(test)]
mod roll_up_tests {
    use super::*;

    #[test]
    fn targets_roll_up_where_the_parent_has_none() {
        let rows: Vec<TargetRow> = vec![
            ("/42/436/".into(), [None, Some(100_000), None]),
            ("/42/436/18073/".into(), [Some(1_000), Some(4_000), None]),
            ("/42/436/18077/".into(), [Some(500), None, Some(900)]),
            // Below a commune that has its own household target: not counted again.
            ("/42/436/18073/x1/".into(), [Some(7), None, None]),
            ("/42/437/".into(), [Some(20_000), None, None]),
            ("/42/437/18100/".into(), [Some(30), None, Some(50)]),
        ];
        let t = |path: &str| roll_up_targets(path, &rows).map(|t| (t.households, t.population, t.smartphone_owners));
        assert_eq!(t("/42/"), Some((Some(21_500), Some(100_000), Some(950))));
        assert_eq!(t("/42/436/"), Some((Some(1_500), Some(100_000), Some(900))));
        assert_eq!(t("/42/436/18073/"), Some((Some(1_000), Some(4_000), None)));
        assert_eq!(t("/42/437/18100/"), Some((Some(30), None, Some(50))));
        assert_eq!(t("/42/438/"), None);
    }

    /// A sum over part of the level it is taken at says so, and how much it covers.
    #[test]
    fn a_roll_up_over_some_communes_only_is_partial() {
        use doorstep_domain::protocol::TargetSum;
        // Every area of the subtree, as `subtree_targets` reads it; targets on 3 of 4 communes
        // (one district has its own households figure), a village below one commune.
        let rows: Vec<TargetRow> = vec![
            ("/42/".into(), [None, None, None]),
            ("/42/436/".into(), [None, None, None]),
            ("/42/436/18073/".into(), [Some(1_000), None, Some(600)]),
            ("/42/436/18073/v1/".into(), [None, None, None]),
            ("/42/436/18077/".into(), [Some(500), None, None]),
            ("/42/437/".into(), [Some(2_000), None, None]),
            ("/42/437/18100/".into(), [None, None, None]),
            ("/42/437/18101/".into(), [None, None, None]),
            // A district with no commune and no target: it counts at the communes' level.
            ("/42/438/".into(), [None, None, None]),
        ];
        let province = roll_up_targets("/42/", &rows).unwrap();
        assert_eq!(province.households, Some(3_500));
        // Communes (and the empty district): 18073, 18077, and 437's two through its own figure.
        assert_eq!(province.households_sum, Some(TargetSum { areas_with_target: 4, areas: 5 }));
        assert_eq!(province.smartphone_owners_sum, Some(TargetSum { areas_with_target: 1, areas: 5 }));
        assert_eq!((province.population, province.population_sum), (None, None));
        assert!(province.partial);
        let units = roll_up_targets_of(&["/42/436/", "/42/437/", "/42/438/", "/42/436/18073/"], &rows);
        let district = units[0].unwrap();
        assert_eq!(district.households, Some(1_500));
        assert_eq!(district.households_sum, Some(TargetSum { areas_with_target: 2, areas: 2 }));
        // Owners on one commune of two: partial.
        assert_eq!(district.smartphone_owners, Some(600));
        assert!(district.partial);
        // Its own figure: no sum, nothing partial.
        let own = units[1].unwrap();
        assert_eq!((own.households, own.households_sum, own.partial), (Some(2_000), None, false));
        assert_eq!(units[2], None);
        let commune = units[3].unwrap();
        assert_eq!((commune.households, commune.partial), (Some(1_000), false));
        // The same as one at a time.
        for (path, t) in ["/42/436/", "/42/437/", "/42/438/", "/42/436/18073/"].iter().zip(&units) {
            assert_eq!(&roll_up_targets(path, &rows), t, "{path}");
        }
        // All communes with a target: complete.
        let full: Vec<_> = rows
            .iter()
            .filter(|(p, _)| p.as_str() != "/42/438/")
            .map(|(p, v)| (p.clone(), [v[0], v[1], None]))
            .collect();
        let province = roll_up_targets("/42/", &full).unwrap();
        assert_eq!(province.households_sum, Some(TargetSum { areas_with_target: 4, areas: 4 }));
        assert!(!province.partial);
    }
}
