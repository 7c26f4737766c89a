//! The HTTP face of `crate::filter`: the map's and the exports' filter parameters, read and
//! checked (dates, team, outcomes) into a `VisitFilter`.

use crate::accounts::SessionUser;
use crate::filter::{GroupBy, GroupKey, NOT_VISITED, RowQuery, Tally, VisitFilter, parse_ymd, tallies};
use crate::http::{ApiError, AppState};
use axum::http::StatusCode;
use doorstep_domain::Lang;
use doorstep_domain::account::Role;
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

type FilterParams = Result<axum::extract::Query<FilterQuery>, axum::extract::rejection::QueryRejection>;

/// A request's filter, or `None` when it asks for none.
async fn requested(
    st: &AppState, user: &SessionUser, fq: FilterParams, lang: Lang,
) -> Result<Option<VisitFilter>, ApiError> {
    let axum::extract::Query(fq) = fq.map_err(|e| crate::http::query_error(e, lang))?;
    let f = parse_filter(st, user, &fq, lang).await?;
    Ok((!f.is_empty()).then_some(f))
}

/// The map's child areas under a filter: tallies by area path, or `None` without a filter.
pub async fn filtered_tallies(
    st: &AppState, user: &SessionUser, fq: FilterParams, path: &str, group: GroupBy, lang: Lang,
) -> Result<Option<BTreeMap<GroupKey, Tally>>, ApiError> {
    let Some(f) = requested(st, user, fq, lang).await? else {
        return Ok(None);
    };
    tallies(st.store.as_ref(), path, group, &f).await.map(Some).map_err(|e| ApiError::store(e, lang))
}

/// The map's household points under a filter (at most `max`; `truncated` says when there were
/// more), or `None` without a filter.
pub async fn filtered_points(
    st: &AppState, user: &SessionUser, fq: FilterParams, path: &str, max: i64, lang: Lang,
) -> Result<Option<serde_json::Value>, ApiError> {
    let Some(f) = requested(st, user, fq, lang).await? else {
        return Ok(None);
    };
    let mut rows = crate::db::rows::collect_households(st.store.as_ref(), RowQuery::subtree(path, f, Some(max + 1)))
        .await
        .map_err(|e| ApiError::store(e, lang))?;
    let truncated = rows.len() as i64 > max;
    rows.truncate(usize::try_from(max).unwrap_or(0));
    let now_ms = chrono::Utc::now().timestamp_millis();
    let features: Vec<serde_json::Value> = rows
        .iter()
        .filter_map(|r| {
            let (lat, lon) = (r.lat?, r.lon?);
            let revisit = r.revisit_due(&st.campaign, now_ms);
            Some(serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "id": r.id.to_string(),
                    "area_code": r.area_code,
                    "address": r.address,
                    "outcome": r.outcome,
                    "visits": r.visits,
                    "revisit_due": revisit,
                },
            }))
        })
        .collect();
    Ok(Some(serde_json::json!({"type": "FeatureCollection", "features": features, "truncated": truncated})))
}

fn bad_request(code: &str, field: &str, vi: String, en: String, lang: Lang) -> ApiError {
    ApiError::of(StatusCode::BAD_REQUEST, code, lang).on(field).says(vi, en)
}

/// A `YYYY-MM-DD` parameter as a day number; blank counts as absent.
pub fn parse_day(field: &str, raw: Option<&str>, lang: Lang) -> Result<Option<i64>, ApiError> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    parse_ymd(text).map(|d| Some(crate::report::day_number(d))).ok_or_else(|| {
        bad_request(
            "bad_date",
            field,
            format!("Ngày không hợp lệ: {text:?}; hãy viết YYYY-MM-DD, ví dụ 2020-08-04."),
            format!("Not a date: {text:?}; write YYYY-MM-DD, for example 2020-08-04."),
            lang,
        )
    })
}

/// `from` not after `to` (day numbers; either may be absent), else 400 `bad_range` naming `from`:
/// the exports' rule, which the progress endpoint shares.
pub fn days_in_order(from: Option<i64>, to: Option<i64>, lang: Lang) -> Result<(), ApiError> {
    match (from, to) {
        (Some(a), Some(b)) if a > b => Err(bad_request(
            "bad_range",
            "from",
            "Ngày bắt đầu sau ngày kết thúc.".into(),
            "The first day is after the last.".into(),
            lang,
        )),
        _ => Ok(()),
    }
}

/// The filter of a request, checked: dates, a date range in order, a team the caller may see
/// (any other answers like one that does not exist), outcomes the campaign knows.
pub async fn parse_filter(
    st: &AppState, user: &SessionUser, q: &FilterQuery, lang: Lang,
) -> Result<VisitFilter, ApiError> {
    let from_day = parse_day("from", q.from.as_deref(), lang)?;
    let to_day = parse_day("to", q.to.as_deref(), lang)?;
    days_in_order(from_day, to_day, lang)?;
    let team = match q.team.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(name) => Some(visible_team(st, user, name, lang).await?),
    };
    let mut outcomes = Vec::new();
    for code in q.outcome.as_deref().unwrap_or("").split(',').map(str::trim).filter(|c| !c.is_empty()) {
        if code != NOT_VISITED && st.campaign.outcome(code).is_none() {
            return Err(bad_request(
                "bad_outcome",
                "outcome",
                format!("Chiến dịch không có kết quả {code:?}."),
                format!("The campaign has no outcome {code:?}."),
                lang,
            ));
        }
        if !outcomes.iter().any(|o| o == code) {
            outcomes.push(code.to_string());
        }
    }
    Ok(VisitFilter { from_day, to_day, team, outcomes })
}

async fn visible_team(st: &AppState, user: &SessionUser, name: &str, lang: Lang) -> Result<Uuid, ApiError> {
    let no_such = || {
        ApiError::of(StatusCode::NOT_FOUND, "no_such_team", lang).on("team").says(
            format!("Không có đội {name:?} trong địa bàn của tài khoản."),
            format!("No team {name:?} in the account's areas."),
        )
    };
    let actor = crate::manage::Actor::User(user);
    let (team, _) = crate::manage::team_named(st.store.as_ref(), actor, name, None)
        .await
        .map_err(|e| ApiError::store(e, lang))?
        .ok_or_else(no_such)?;
    Ok(team.id)
}

/// Hexagons and exports are for the people who lead and report: a volunteer reads households
/// one by one on the phone, not the area's data in bulk.
pub fn staff_only(user: &SessionUser, lang: Lang) -> Result<(), ApiError> {
    if user.role == Role::Volunteer {
        return Err(ApiError::of(StatusCode::FORBIDDEN, "staff_only", lang).says(
            "Chỉ tổ trưởng, ban chỉ đạo hoặc quản trị viên xem được phần này.",
            "Only team leaders, committee staff and admins may read this.",
        ));
    }
    Ok(())
}

/// The map's and the exports' filter parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterQuery {
    /// First day of visits to count, `YYYY-MM-DD` on the phones' calendar; not after `to`.
    #[param(value_type = crate::http::params::DayOrBlank, required = false)]
    pub from: Option<String>,
    /// Last day of visits to count, `YYYY-MM-DD`.
    #[param(value_type = crate::http::params::DayOrBlank, required = false)]
    pub to: Option<String>,
    /// A team's name: only visits by its members.
    pub team: Option<String>,
    /// Latest outcomes to keep, comma-separated campaign codes (`none`: not visited yet).
    #[param(value_type = crate::http::params::Outcomes, required = false)]
    pub outcome: Option<String>,
}
