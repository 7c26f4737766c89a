//! The statements that select visits and households by a map filter, built once for both
//! databases (`$n` placeholders, bound by `db::rows`), and the rows they give.

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
    let codes: Vec<String> =
        f.outcomes.iter().filter(|o| *o != NOT_VISITED).map(|o| p.add(SqlParam::Text(o.clone()))).collect();
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
    /// The household's H3 cell at [`crate::db::ingest::FINE_RES`]; households without one are left out.
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
    let cell = if group == GroupBy::Cell { " AND h.h3_cell IS NOT NULL" } else { "" };
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
        RowQuery { lo, hi, filter, limit, due_by: Vec::new() }
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
    let (outcome, time) =
        if src == "h" { ("h.latest_outcome", "h.latest_visited_at_ms") } else { ("v.outcome", "v.visited_at_ms") };
    let cond = outcome_cond(&mut p, &q.filter, outcome);
    let due = due_cond(&mut p, &q.due_by, outcome, time);
    let limit = q.limit.map(|n| format!(" LIMIT {}", p.add(SqlParam::Int(n)))).unwrap_or_default();
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
    let limit = q.limit.map(|n| format!(" LIMIT {}", p.add(SqlParam::Int(n)))).unwrap_or_default();
    let sql = format!(
        "SELECT {cols} FROM visits v JOIN areas a ON a.code = v.area_code
         LEFT JOIN visit_flags f ON f.server_seq = v.server_seq
         WHERE a.path >= {lo} AND a.path < {hi}{conds}{cond}
         ORDER BY v.server_seq{limit}",
        cols = crate::store::VISIT_COLUMNS
    );
    Statement { sql, params: p.0 }
}
