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
use uuid::Uuid;

use crate::store::subtree_range;

/// The outcome filter's word for households nobody has visited yet.
pub const NOT_VISITED: &str = "none";

/// The filters of a map or export request, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitFilter {
    /// First and last local day (days since 1970 on the phone's calendar), inclusive.
    pub from_day: Option<i64>,
    pub to_day: Option<i64>,
    /// Only visits by this team's members.
    pub team: Option<Uuid>,
    /// Latest outcomes to keep ([`NOT_VISITED`] for households not visited yet); empty keeps all.
    pub outcomes: Vec<String>,
}

impl VisitFilter {
    /// Whether visits decide which households count (a date range or a team).
    pub fn by_visits(&self) -> bool {
        self.from_day.is_some() || self.to_day.is_some() || self.team.is_some()
    }

    pub fn is_empty(&self) -> bool {
        !self.by_visits() && self.outcomes.is_empty()
    }

    /// Whether a latest outcome (`None`: not visited) passes the outcome filter.
    pub fn keeps(&self, outcome: Option<&str>) -> bool {
        self.outcomes.is_empty() || self.outcomes.iter().any(|o| o == outcome.unwrap_or(NOT_VISITED))
    }
}

/// A statement parameter, bound by each database its own way.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Int(i64),
    Text(String),
    /// A UUID: a BLOB on SQLite, a UUID on PostgreSQL.
    Id(Uuid),
}

/// SQL with `$n` placeholders (SQLite reads them as `?n`) and its parameters in order.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<SqlParam>,
}

impl Statement {
    /// The text for SQLite, whose numbered placeholders are `?n`.
    pub fn sqlite(&self) -> String {
        self.sql.replace('$', "?")
    }
}

#[derive(Default)]
struct Params(Vec<SqlParam>);

impl Params {
    fn add(&mut self, p: SqlParam) -> String {
        self.0.push(p);
        format!("${}", self.0.len())
    }
}

/// The date and team conditions on a visits alias; the placeholders are made once, so the same
/// conditions can be written on two aliases.
struct VisitConds {
    from: Option<String>,
    to: Option<String>,
    team: Option<String>,
}

impl VisitConds {
    fn new(p: &mut Params, f: &VisitFilter) -> VisitConds {
        VisitConds {
            from: f.from_day.map(|d| p.add(SqlParam::Int(d))),
            to: f.to_day.map(|d| p.add(SqlParam::Int(d))),
            team: f.team.map(|t| p.add(SqlParam::Id(t))),
        }
    }

    fn on(&self, a: &str) -> String {
        // Integer division on both databases: the phone's local day, as DAILY_PROGRESS_SQL.
        let day = format!("({a}.visited_at_ms + {a}.utc_offset_min * 60000) / 86400000");
        let mut s = String::new();
        if let Some(p) = &self.from {
            s += &format!(" AND {day} >= {p}");
        }
        if let Some(p) = &self.to {
            s += &format!(" AND {day} <= {p}");
        }
        if let Some(p) = &self.team {
            s += &format!(" AND {a}.volunteer_id IN (SELECT m.user_id FROM team_members m WHERE m.team_id = {p})");
        }
        s
    }
}

/// ` AND (col IN (...) OR col IS NULL)` for the outcome filter, or nothing.
fn outcome_cond(p: &mut Params, f: &VisitFilter, col: &str) -> String {
    if f.outcomes.is_empty() {
        return String::new();
    }
    let codes: Vec<String> = f
        .outcomes
        .iter()
        .filter(|o| *o != NOT_VISITED)
        .map(|o| p.add(SqlParam::Text(o.clone())))
        .collect();
    let mut parts = Vec::new();
    if !codes.is_empty() {
        parts.push(format!("{col} IN ({})", codes.join(", ")));
    }
    if f.outcomes.iter().any(|o| o == NOT_VISITED) {
        parts.push(format!("{col} IS NULL"));
    }
    format!(" AND ({})", parts.join(" OR "))
}

/// From which row a household's figures come: itself (its latest visit's figures, kept on
/// ingest), or, under a date or team filter, its latest visit `v` that passes them.
fn household_source(p: &mut Params, f: &VisitFilter) -> (&'static str, String) {
    if !f.by_visits() {
        return ("h", String::new());
    }
    let c = VisitConds::new(p, f);
    // "No later visit passes": an anti-join both databases run from the household index.
    let join = format!(
        " JOIN visits v ON v.household_id = h.id{}
          AND NOT EXISTS (SELECT 1 FROM visits w WHERE w.household_id = v.household_id
                          AND w.server_seq > v.server_seq{})",
        c.on("v"),
        c.on("w")
    );
    ("v", join)
}

/// What households are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The household's H3 cell at [`crate::hexagons::FINE_RES`]; households without one are left out.
    Cell,
    /// The household's area (its path).
    Area,
}

/// A group's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKey {
    Cell(i64),
    Area(String),
}

/// The figures of the households of one group with one latest outcome (`None`: not visited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub key: GroupKey,
    pub outcome: Option<String>,
    pub households: i64,
    pub smartphones: i64,
    pub already_installed: i64,
    pub installed_now: i64,
}

/// Households of the subtree `[lo, hi)` grouped by `group` and latest outcome.
pub fn grouped_sql(lo: &str, hi: &str, group: GroupBy, f: &VisitFilter) -> Statement {
    let mut p = Params::default();
    let (lo, hi) = (p.add(SqlParam::Text(lo.into())), p.add(SqlParam::Text(hi.into())));
    let key = match group {
        GroupBy::Cell => "h.h3_cell",
        GroupBy::Area => "a.path",
    };
    let (src, join) = household_source(&mut p, f);
    let outcome = if src == "h" { "h.latest_outcome" } else { "v.outcome" };
    let cond = outcome_cond(&mut p, f, outcome);
    let cell = if group == GroupBy::Cell {
        " AND h.h3_cell IS NOT NULL"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {key}, {outcome}, COUNT(*), CAST(SUM(COALESCE({src}.smartphones, 0)) AS BIGINT),
            CAST(SUM(COALESCE({src}.already_installed, 0)) AS BIGINT),
            CAST(SUM(COALESCE({src}.installed_now, 0)) AS BIGINT)
         FROM households h JOIN areas a ON a.code = h.area_code{join}
         WHERE a.path >= {lo} AND a.path < {hi}{cell}{cond}
         GROUP BY {key}, {outcome}"
    );
    Statement { sql, params: p.0 }
}

/// A household as the map's points and the exports give it; the figures are those of its latest
/// visit (that passes the filter).
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdRow {
    pub id: Uuid,
    pub area_code: String,
    pub area_name: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub h3_cell: Option<i64>,
    /// All its visits, corrections not counted again.
    pub visits: i64,
    pub outcome: Option<String>,
    pub people: Option<i64>,
    pub smartphones: Option<i64>,
    pub already_installed: Option<i64>,
    pub installed_now: Option<i64>,
    /// The time of the visit these figures come from (ms since 1970 UTC).
    pub visited_at_ms: Option<i64>,
}

impl HouseholdRow {
    /// Whether the campaign has this household due again at `now_ms`.
    pub fn revisit_due(&self, campaign: &doorstep_domain::Campaign, now_ms: i64) -> bool {
        campaign.revisit_due(self.outcome.as_deref(), self.visited_at_ms, now_ms)
    }
}

/// Which households and visits to read.
#[derive(Debug, Clone)]
pub struct RowQuery {
    pub lo: String,
    pub hi: String,
    pub filter: VisitFilter,
    /// At most this many rows; `None` for all of them.
    pub limit: Option<i64>,
    /// Households only: when not empty, only those due again, as (latest outcome, latest visit
    /// at or before this time, ms): the walk list, chosen in SQL so its limit counts due ones.
    pub due_by: Vec<(String, i64)>,
}

impl RowQuery {
    pub fn subtree(path: &str, filter: VisitFilter, limit: Option<i64>) -> RowQuery {
        let (lo, hi) = subtree_range(path);
        RowQuery {
            lo,
            hi,
            filter,
            limit,
            due_by: Vec::new(),
        }
    }

    /// Only the households the campaign has due again at `now_ms`: each outcome it revisits,
    /// with its latest visit `revisit_after_hours` or more before.
    pub fn due_at(mut self, campaign: &doorstep_domain::Campaign, now_ms: i64) -> RowQuery {
        self.due_by = campaign
            .outcomes
            .iter()
            .filter(|o| o.revisit)
            .map(|o| {
                let hours = i64::from(o.revisit_after_hours);
                (o.code.clone(), now_ms.saturating_sub(hours * 3_600_000))
            })
            .collect();
        self
    }
}

/// ` AND ((outcome = $a AND time <= $b) OR ...)` for [`RowQuery::due_by`], or nothing. A
/// household held without its latest visit's time is due at once, as the domain rules.
fn due_cond(p: &mut Params, due_by: &[(String, i64)], outcome: &str, time: &str) -> String {
    if due_by.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = due_by
        .iter()
        .map(|(code, by)| {
            let code = p.add(SqlParam::Text(code.clone()));
            let by = p.add(SqlParam::Int(*by));
            format!("({outcome} = {code} AND COALESCE({time}, 0) <= {by})")
        })
        .collect();
    format!(" AND ({})", parts.join(" OR "))
}

/// The households of [`RowQuery`], by area then change order, in [`HouseholdRow`]'s column order.
pub fn households_sql(q: &RowQuery) -> Statement {
    let mut p = Params::default();
    let (lo, hi) = (p.add(SqlParam::Text(q.lo.clone())), p.add(SqlParam::Text(q.hi.clone())));
    let (src, join) = household_source(&mut p, &q.filter);
    let (outcome, time) = if src == "h" {
        ("h.latest_outcome", "h.latest_visited_at_ms")
    } else {
        ("v.outcome", "v.visited_at_ms")
    };
    let cond = outcome_cond(&mut p, &q.filter, outcome);
    let due = due_cond(&mut p, &q.due_by, outcome, time);
    let limit = q
        .limit
        .map(|n| format!(" LIMIT {}", p.add(SqlParam::Int(n))))
        .unwrap_or_default();
    let sql = format!(
        "SELECT h.id, h.area_code, a.name, h.address, h.lat, h.lon, h.h3_cell, h.visits, {outcome},
            {src}.people, {src}.smartphones, {src}.already_installed, {src}.installed_now, {time}
         FROM households h JOIN areas a ON a.code = h.area_code{join}
         WHERE a.path >= {lo} AND a.path < {hi}{cond}{due}
         ORDER BY a.path, h.updated_seq{limit}"
    );
    Statement { sql, params: p.0 }
}

/// The visits of [`RowQuery`] (by their own area, date, volunteer's team and outcome) in receive
/// order, in [`crate::store::VISIT_COLUMNS`]'s order.
pub fn visits_sql(q: &RowQuery) -> Statement {
    let mut p = Params::default();
    let (lo, hi) = (p.add(SqlParam::Text(q.lo.clone())), p.add(SqlParam::Text(q.hi.clone())));
    let conds = VisitConds::new(&mut p, &q.filter).on("v");
    let cond = outcome_cond(&mut p, &q.filter, "v.outcome");
    let limit = q
        .limit
        .map(|n| format!(" LIMIT {}", p.add(SqlParam::Int(n))))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {cols} FROM visits v JOIN areas a ON a.code = v.area_code
         LEFT JOIN visit_flags f ON f.server_seq = v.server_seq
         WHERE a.path >= {lo} AND a.path < {hi}{conds}{cond}
         ORDER BY v.server_seq{limit}",
        cols = crate::store::VISIT_COLUMNS
    );
    Statement { sql, params: p.0 }
}

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
    store: &dyn crate::store::Store,
    path: &str,
    group: GroupBy,
    f: &VisitFilter,
) -> Result<BTreeMap<GroupKey, Tally>, crate::store::StoreError> {
    let (lo, hi) = subtree_range(path);
    let all = store.grouped_figures(&lo, &hi, group, &VisitFilter::default()).await?;
    let filtered = if f.by_visits() {
        Some(store.grouped_figures(&lo, &hi, group, f).await?)
    } else {
        None
    };
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
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| (0..=9999).contains(&d.year()))
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
        let team = Uuid::now_v7();
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
        let f = VisitFilter {
            outcomes: vec!["installed_now".into()],
            ..VisitFilter::default()
        };
        let t = tally_groups(&all, None, &f);
        let one = &t[&GroupKey::Cell(1)];
        assert_eq!(
            (one.households_known, one.households_visited, one.smartphones_seen),
            (6, 2, 4)
        );
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
