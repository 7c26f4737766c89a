//! Targets per area from the committee's table (issue 8): the file read into rows, as CSV or as
//! the first sheet of a spreadsheet; `doorstep_domain::targets::parse_targets` reads the rows.

use std::path::Path;

use doorstep_domain::targets::Target;

use crate::db::{Db, Statement, params};
use crate::store::{Store, StoreError, TargetRow, subtree_range};

/// The rows whose area code names no area, by line ("line 3: no area has the code 99999"):
/// every code checked in one read, however long the table.
pub async fn unknown_areas(store: &dyn Store, targets: &[Target]) -> Result<Vec<String>, StoreError> {
    let codes: Vec<String> = targets.iter().map(|t| t.area_code.as_str().to_string()).collect();
    let known = crate::areas::area_paths(store, &codes).await?;
    Ok(targets
        .iter()
        .filter(|t| !known.contains_key(t.area_code.as_str()))
        .map(|t| {
            format!(
                "line {}: no area has the code {} (import the area tree first)",
                t.line, t.area_code
            )
        })
        .collect())
}

/// Rows of a table file with their line numbers (1 = the first row). `.xlsx` is read as a
/// spreadsheet, anything else as CSV (comma, or semicolon as Vietnamese Excel writes it).
pub fn read_table(path: &Path) -> Result<Vec<(usize, Vec<String>)>, String> {
    let is_xlsx = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if is_xlsx { read_xlsx(path) } else { read_csv(path) }
}

fn read_csv(path: &Path) -> Result<Vec<(usize, Vec<String>)>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // Excel's "CSV UTF-8" starts with a byte-order mark.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
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

fn read_xlsx(path: &Path) -> Result<Vec<(usize, Vec<String>)>, String> {
    use calamine::{Data, Reader};
    let mut book = calamine::open_workbook_auto(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let sheet = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| format!("{} has no sheet", path.display()))?;
    let range = book
        .worksheet_range(&sheet)
        .map_err(|e| format!("cannot read the sheet '{sheet}': {e}"))?;
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
                params![
                    t.area_code.as_str(),
                    big(t.households),
                    big(t.population),
                    big(t.smartphone_owners),
                    now_ms
                ],
            )
        })
        .collect();
    db.atomically(statements).await?;
    Ok(targets.len())
}

/// Every area of the subtree at `path` with its targets, by path ([`crate::store::roll_up_targets`]).
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
