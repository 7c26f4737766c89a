//! The HTTP face of `crate::report`: `GET /api/v1/progress`, `GET /api/v1/reports/daily.xlsx`.

use crate::http::AreaRefusals;
use crate::http::extract::{ReqLang, Scoped, scoped_query};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use doorstep_domain::protocol::Progress;
use serde::Deserialize;

use crate::http::auth::Caller;
use crate::http::{ApiError, AppState};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProgressQuery {
    /// The area (a GSO code).
    #[param(value_type = crate::http::params::AreaCode)]
    area: String,
    /// First day of the curve, `YYYY-MM-DD` (default: 60 days before `to`); not after `to`.
    #[param(value_type = crate::http::params::Day, required = false)]
    from: Option<String>,
    /// Last day of the curve, `YYYY-MM-DD` (default: today in the campaign's time zone).
    #[param(value_type = crate::http::params::Day, required = false)]
    to: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The area (a GSO code).
    #[param(value_type = crate::http::params::AreaCode)]
    area: String,
    /// The day, `YYYY-MM-DD` (default: today in the campaign's time zone).
    #[param(value_type = crate::http::params::Day, required = false)]
    date: Option<String>,
}

fn today(st: &AppState) -> NaiveDate {
    let offset = chrono::Duration::minutes(i64::from(st.campaign.utc_offset_minutes));
    (chrono::Utc::now() + offset).date_naive()
}

/// A `YYYY-MM-DD` query parameter, or `default` when it is absent. Years 0000 to 9999 only,
/// as documented: chrono also reads signed and longer years, near whose ends the date
/// arithmetic of the callers would overflow.
pub(crate) fn parse_date(
    field: &'static str, raw: Option<&str>, default: NaiveDate, lang: doorstep_domain::Lang,
) -> Result<NaiveDate, ApiError> {
    match raw {
        None => Ok(default),
        Some(text) => crate::filter::parse_ymd(text.trim()).ok_or_else(|| {
            ApiError::of(StatusCode::BAD_REQUEST, "bad_date", lang).on(field).says(
                format!("Ngày không hợp lệ: {text:?}; hãy viết YYYY-MM-DD, ví dụ 2020-08-04."),
                format!("Not a date: {text:?}; write YYYY-MM-DD, for example 2020-08-04."),
            )
        }),
    }
}

/// An area's figures, its units one level down with their rank by the share of smartphones
/// with the app, and the daily curve. The area and every unit carry their targets (own or
/// rolled up, `partial` when the sum leaves areas out) and coverage three ways: found
/// (`coverage_rate`), target (`target_coverage_rate`), installs of smartphones seen
/// (`install_rate`) and of owners targeted (`install_rate_of_owners`).
#[utoipa::path(get, path = "/api/v1/progress", params(ProgressQuery), responses(
    (status = 200, body = Progress), AreaRefusals
))]
pub async fn get_progress(
    State(st): State<AppState>, ReqLang(lang): ReqLang, _caller: Caller, Scoped { q, area, .. }: Scoped<ProgressQuery>,
) -> Result<Json<Progress>, ApiError> {
    let to = parse_date("to", q.to.as_deref(), today(&st), lang)?;
    let from = parse_date("from", q.from.as_deref(), to - chrono::Duration::days(60), lang)?;
    crate::http::filter::days_in_order(
        Some(crate::report::day_number(from)),
        Some(crate::report::day_number(to)),
        lang,
    )?;
    match crate::report::progress(st.reads().as_ref(), &st.campaign, &area, from, to).await {
        Ok(Some(p)) => Ok(Json(p)),
        Ok(None) => Err(ApiError::out_of_scope(lang)),
        Err(e) => Err(ApiError::store(e, lang)),
    }
}

/// The daily report of an area as an XLSX workbook: summary, units, days, the day's visits.
#[utoipa::path(get, path = "/api/v1/reports/daily.xlsx", params(ReportQuery), responses(
    (status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    AreaRefusals
))]
pub async fn get_daily_report(
    State(st): State<AppState>, ReqLang(lang): ReqLang, _caller: Caller, Scoped { q, area, .. }: Scoped<ReportQuery>,
) -> Result<Response, ApiError> {
    let date = parse_date("date", q.date.as_deref(), today(&st), lang)?;
    let report = crate::report::daily_report(st.reads().as_ref(), &st.campaign, &area, date)
        .await
        .map_err(|e| ApiError::store(e, lang))?
        .ok_or_else(|| ApiError::out_of_scope(lang))?;
    let campaign = st.campaign.clone();
    let bytes = tokio::task::spawn_blocking(move || crate::report::daily_workbook(&report, &campaign, lang))
        .await
        .map_err(|e| ApiError::store(crate::store::StoreError::Task(e.to_string()), lang))?
        .map_err(|e| ApiError::store(crate::store::StoreError::Task(e.to_string()), lang))?;
    let name = format!("doorstep-{}-{}.xlsx", area, date.format("%Y-%m-%d"));
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

scoped_query!(ProgressQuery, area);

scoped_query!(ReportQuery, area);
