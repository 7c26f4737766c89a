//! What the map and the exports narrow to: visits by the phones' local dates (as the daily curve
//! counts them) and by a team's members, households by their latest outcome; the SQL both
//! databases run for it; and the tally of grouped rows into figures.
//!
//! With a date range or a team, a household's "latest outcome" is that of its latest visit that
//! passes them (by receive order, as on ingest), and only households with such a visit count as
//! visited. Households known stay all the households of the area or cell: the denominator of
//! coverage does not depend on who visited when.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::store::subtree_range;

pub use crate::db::filter::*;

/// Figures of a set of households: an area's or a cell's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tally {
    pub households_known: i64,
    pub households_visited: i64,
    /// Visited households by their latest outcome.
    pub by_outcome: BTreeMap<String, i64>,
    pub smartphones_seen: i64,
    pub already_installed: i64,
    pub installed_now: i64,
}

impl Tally {
    /// Counts a row's households as known.
    pub fn add_known(&mut self, r: &GroupRow) {
        self.households_known += r.households;
    }

    /// Adds a row's figures (its households as visited when it has an outcome).
    pub fn add_figures(&mut self, r: &GroupRow) {
        let Some(outcome) = &r.outcome else { return };
        self.households_visited += r.households;
        *self.by_outcome.entry(outcome.clone()).or_default() += r.households;
        self.smartphones_seen += r.smartphones;
        self.already_installed += r.already_installed;
        self.installed_now += r.installed_now;
    }

    pub fn merge(&mut self, o: &Tally) {
        self.households_known += o.households_known;
        self.households_visited += o.households_visited;
        for (k, v) in &o.by_outcome {
            *self.by_outcome.entry(k.clone()).or_default() += v;
        }
        self.smartphones_seen += o.smartphones_seen;
        self.already_installed += o.already_installed;
        self.installed_now += o.installed_now;
    }

    pub fn with_app(&self) -> i64 {
        self.already_installed + self.installed_now
    }

    /// Visited / known; `None` when nothing is known.
    pub fn coverage_rate(&self) -> Option<f64> {
        (self.households_known > 0).then(|| self.households_visited as f64 / self.households_known as f64)
    }

    /// Phones with the app / smartphones seen; `None` when no smartphone was seen.
    pub fn install_rate(&self) -> Option<f64> {
        (self.smartphones_seen > 0).then(|| self.with_app() as f64 / self.smartphones_seen as f64)
    }
}

/// Tallies by group: every household of `all` (read without a filter) known; the figures from
/// `all` through the outcome filter, or, when visits decide, from `filtered`.
pub fn tally_groups(all: &[GroupRow], filtered: Option<&[GroupRow]>, f: &VisitFilter) -> BTreeMap<GroupKey, Tally> {
    let mut out: BTreeMap<GroupKey, Tally> = BTreeMap::new();
    for r in all {
        let t = out.entry(r.key.clone()).or_default();
        t.add_known(r);
        if filtered.is_none() && f.keeps(r.outcome.as_deref()) {
            t.add_figures(r);
        }
    }
    for r in filtered.unwrap_or_default() {
        out.entry(r.key.clone()).or_default().add_figures(r);
    }
    out
}

/// Reads and tallies the households of a subtree by `group` under a filter: one grouped read,
/// and a second one when visits decide.
pub async fn tallies(
    store: &dyn crate::store::Store, path: &str, group: GroupBy, f: &VisitFilter,
) -> Result<BTreeMap<GroupKey, Tally>, crate::store::StoreError> {
    let (lo, hi) = subtree_range(path);
    let all = store.grouped_figures(&lo, &hi, group, &VisitFilter::default()).await?;
    let filtered = if f.by_visits() { Some(store.grouped_figures(&lo, &hi, group, f).await?) } else { None };
    Ok(tally_groups(&all, filtered.as_deref(), f))
}

/// The sum of the tallies of the areas under `path` (tallies by [`GroupKey::Area`]).
pub fn roll_up(by_path: &BTreeMap<GroupKey, Tally>, path: &str) -> Tally {
    let mut t = Tally::default();
    for (key, v) in by_path.range(GroupKey::Area(path.to_string())..) {
        match key {
            GroupKey::Area(p) if p.starts_with(path) => t.merge(v),
            _ => break,
        }
    }
    t
}

impl Tally {
    /// Puts these figures in an area's coverage (its name and code kept; visits are not
    /// filtered, so they are left as they were).
    pub fn apply_to(&self, c: &mut doorstep_domain::protocol::Coverage) {
        c.households_known = self.households_known;
        c.households_visited = self.households_visited;
        c.by_outcome = self.by_outcome.clone();
        c.smartphones_seen = self.smartphones_seen;
        c.already_installed = self.already_installed;
        c.installed_now = self.installed_now;
        c.coverage_rate = self.coverage_rate();
        c.install_rate = self.install_rate();
    }
}

/// A `YYYY-MM-DD` day of the years 0000 to 9999 (the OpenAPI document's `Day`). chrono alone
/// would also read `+262142-12-31` or `-262143-01-01`, at the ends of its range.
pub fn parse_ymd(text: &str) -> Option<NaiveDate> {
    use chrono::Datelike;
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().filter(|d| (0..=9999).contains(&d.year()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: i64, outcome: Option<&str>, households: i64, phones: i64) -> GroupRow {
        GroupRow {
            key: GroupKey::Cell(key),
            outcome: outcome.map(str::to_string),
            households,
            smartphones: phones,
            already_installed: 0,
            installed_now: phones,
        }
    }

    #[test]
    fn without_a_filter_the_sql_reads_only_households() {
        let s = grouped_sql("/42/", "/420", GroupBy::Cell, &VisitFilter::default());
        assert!(!s.sql.contains("visits"), "{}", s.sql);
        assert_eq!(s.params.len(), 2);
    }

    #[test]
    fn date_and_team_conditions_are_written_on_both_aliases_with_one_set_of_placeholders() {
        let team = uuid::Uuid::now_v7();
        let f = VisitFilter {
            from_day: Some(18_476),
            to_day: None,
            team: Some(team),
            outcomes: vec!["refused".into(), NOT_VISITED.into()],
        };
        let s = grouped_sql("/42/", "/420", GroupBy::Area, &f);
        assert_eq!(
            s.params,
            [
                SqlParam::Text("/42/".into()),
                SqlParam::Text("/420".into()),
                SqlParam::Int(18_476),
                SqlParam::Id(team),
                SqlParam::Text("refused".into())
            ]
        );
        assert_eq!(s.sql.matches(">= $3").count(), 2, "{}", s.sql);
        assert_eq!(s.sql.matches("team_id = $4").count(), 2);
        assert!(s.sql.contains("(v.outcome IN ($5) OR v.outcome IS NULL)"), "{}", s.sql);
        assert!(s.sqlite().contains(">= ?3") && !s.sqlite().contains('$'));
    }

    #[test]
    fn tallies_count_every_household_known_and_only_the_kept_ones_visited() {
        let all = [
            row(1, None, 3, 0),
            row(1, Some("installed_now"), 2, 4),
            row(1, Some("refused"), 1, 1),
            row(2, Some("refused"), 5, 2),
        ];
        let f = VisitFilter { outcomes: vec!["installed_now".into()], ..VisitFilter::default() };
        let t = tally_groups(&all, None, &f);
        let one = &t[&GroupKey::Cell(1)];
        assert_eq!((one.households_known, one.households_visited, one.smartphones_seen), (6, 2, 4));
        assert_eq!(one.coverage_rate(), Some(2.0 / 6.0));
        let two = &t[&GroupKey::Cell(2)];
        assert_eq!((two.households_known, two.households_visited), (5, 0));
        assert_eq!(two.install_rate(), None);
        // When visits decide, the figures come from the filtered rows only.
        let t = tally_groups(&all, Some(&[row(2, Some("refused"), 1, 1)]), &VisitFilter::default());
        assert_eq!(t[&GroupKey::Cell(1)].households_visited, 0);
        assert_eq!(t[&GroupKey::Cell(2)].households_visited, 1);
    }
}
