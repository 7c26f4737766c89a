//! Coverage as read: an area's figures from `area_stats` (kept by ingest, invariant 12) and the
//! store's totals. Each statement is written once for both databases ([`crate::db`]).

use doorstep_domain::protocol::Coverage;
use doorstep_domain::values::AreaCode;

use crate::db::ingest::Figures;
use crate::db::{Db, params};
use crate::store::StoreError;

/// An area's coverage: its name and its figures by latest outcome, in one statement. `None` when
/// the area is not held.
pub async fn coverage(db: &dyn Db, area: &AreaCode) -> Result<Option<Coverage>, StoreError> {
    let rows = db
        .query(
            "SELECT a.name, s.outcome, s.households, s.visits, s.smartphones, s.already_installed, s.installed_now
             FROM areas a LEFT JOIN area_stats s ON s.area_code = a.code WHERE a.code = $1",
            params![area.as_str()],
        )
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let name: String = first.get(0)?;
    let mut stats = Vec::with_capacity(rows.len());
    for r in &rows {
        // An area without figures yet: one row, its stats NULL.
        let Some(outcome) = r.get::<Option<String>>(1)? else {
            continue;
        };
        stats.push((
            outcome,
            Figures {
                households: r.get(2)?,
                visits: r.get(3)?,
                smartphones: r.get(4)?,
                already_installed: r.get(5)?,
                installed_now: r.get(6)?,
            },
        ));
    }
    Ok(Some(coverage_from_stats(area.as_str(), name, &stats)))
}

/// How many areas, households, visits and devices are held.
pub async fn counts(db: &dyn Db) -> Result<StoreCounts, StoreError> {
    let r = db
        .query_opt(
            "SELECT (SELECT COUNT(*) FROM areas), (SELECT COUNT(*) FROM households),
                    (SELECT COUNT(*) FROM visits), (SELECT COUNT(*) FROM devices)",
            params![],
        )
        .await?
        .ok_or_else(|| StoreError::Db("no counts".into()))?;
    Ok(StoreCounts { areas: r.get(0)?, households: r.get(1)?, visits: r.get(2)?, devices: r.get(3)? })
}

/// Coverage from an area's `area_stats` rows: (outcome, figures).
pub fn coverage_from_stats(area_code: &str, area_name: String, rows: &[(String, Figures)]) -> Coverage {
    let mut cov = Coverage {
        area_code: area_code.to_string(),
        area_name,
        households_known: 0,
        households_visited: 0,
        by_outcome: std::collections::BTreeMap::new(),
        visits: 0,
        households_with_app: 0,
        smartphones_seen: 0,
        already_installed: 0,
        installed_now: 0,
        coverage_rate: None,
        install_rate: None,
        targets: None,
        target_coverage_rate: None,
        install_rate_of_owners: None,
    };
    for (outcome, f) in rows {
        if f.households == 0 {
            continue;
        }
        cov.households_known += f.households;
        cov.visits += f.visits;
        cov.smartphones_seen += f.smartphones;
        cov.already_installed += f.already_installed;
        cov.installed_now += f.installed_now;
        if !outcome.is_empty() {
            cov.households_visited += f.households;
            cov.by_outcome.insert(outcome.clone(), f.households);
        }
    }
    cov.with_rates()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreCounts {
    pub areas: i64,
    pub households: i64,
    pub visits: i64,
    pub devices: i64,
}
