//! The area tree as held: paths, children, outlines. Each statement is written once for both
//! databases ([`crate::db`]); importing a tree is per database ([`crate::store::Store::import_areas`]).

use std::collections::HashMap;

use doorstep_domain::protocol::AreaDto;
use doorstep_domain::values::AreaCode;

use crate::db::{Db, Row, json_list, params};
use crate::store::StoreError;

fn area_dto(r: &Row) -> Result<AreaDto, StoreError> {
    Ok(AreaDto { code: r.get(0)?, parent: r.get(1)?, name: r.get(2)?, division_type: r.get(3)?, level: r.get(4)? })
}

/// The areas under `parent` (the top areas for `None`), in Vietnamese order.
pub async fn child_areas(db: &dyn Db, parent: Option<&AreaCode>) -> Result<Vec<AreaDto>, StoreError> {
    db.query(
        "SELECT code, parent_code, name, division_type, level FROM areas
         WHERE parent_code IS NOT DISTINCT FROM $1 ORDER BY sort_key",
        params![parent.map(AreaCode::as_str)],
    )
    .await?
    .iter()
    .map(area_dto)
    .collect()
}

/// An area's path (`/42/436/18073/`), if it is held.
pub async fn area_path(db: &dyn Db, code: &str) -> Result<Option<String>, StoreError> {
    db.query_opt("SELECT path FROM areas WHERE code = $1", params![code]).await?.map(|r| r.get(0)).transpose()
}

/// The paths of those of `codes` that are held, in one statement whatever their number.
/// An area's name, if the code is known.
pub async fn area_name(db: &dyn Db, code: &str) -> Result<Option<String>, StoreError> {
    db.query_opt("SELECT name FROM areas WHERE code = $1", params![code]).await?.map(|r| r.get(0)).transpose()
}

pub async fn area_paths(db: &dyn Db, codes: &[String]) -> Result<HashMap<String, String>, StoreError> {
    let sql = format!("SELECT code, path FROM areas WHERE code IN (SELECT value FROM {})", db.dialect().json_texts(1));
    db.query(&sql, vec![json_list(codes)?]).await?.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
}

/// Every area with an outline: code, path, the outline's GeoJSON.
pub async fn bounded_areas(db: &dyn Db) -> Result<Vec<(String, String, String)>, StoreError> {
    db.query("SELECT code, path, boundary FROM areas WHERE boundary IS NOT NULL", params![])
        .await?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .collect()
}

/// The outlines of those of `codes` that have one.
pub async fn boundaries(db: &dyn Db, codes: Vec<String>) -> Result<Vec<(String, String)>, StoreError> {
    let sql = format!(
        "SELECT code, boundary FROM areas WHERE code IN (SELECT value FROM {}) AND boundary IS NOT NULL",
        db.dialect().json_texts(1)
    );
    db.query(&sql, vec![json_list(&codes)?]).await?.iter().map(|r| Ok((r.get(0)?, r.get(1)?))).collect()
}
