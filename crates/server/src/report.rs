//! Progress for the committee: an area's figures, its units one level down ranked as the
//! ministry ranked provinces (share of smartphones with the app), the daily curve, and the daily
//! report workbook (XLSX) built from them.

use chrono::{Datelike, NaiveDate};
use doorstep_domain::protocol::{AreaTargets, Coverage, DayProgress, Finish, Progress, VisitDto};
use doorstep_domain::values::AreaCode;
use doorstep_domain::{Campaign, Lang};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::store::{Store, StoreError, subtree_range};

/// Days since 1970-01-01 of a date (the phone's local calendar, as visits are counted).
pub fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - i64::from(epoch().num_days_from_ce())
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

fn date_of(day: i64) -> String {
    epoch()
        .checked_add_signed(chrono::Duration::days(day))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The progress of `area` with the days in `[from, to]`; `None` for an unknown area.
pub async fn progress(
    store: &dyn Store, campaign: &Campaign, area: &AreaCode, from: NaiveDate, to: NaiveDate,
) -> Result<Option<Progress>, StoreError> {
    let Some(coverage) = crate::coverage::coverage(store, area).await? else {
        return Ok(None);
    };
    let Some(path) = crate::areas::area_path(store, area.as_str()).await? else {
        return Ok(None);
    };
    let mut units = Vec::new();
    let mut unit_paths = Vec::new();
    for child in crate::areas::child_areas(store, Some(area)).await? {
        let Ok(code) = AreaCode::parse("area", &child.code) else {
            continue;
        };
        if let Some(c) = crate::coverage::coverage(store, &code).await? {
            units.push(c);
        }
        // A child's path is its parent's with its own code added: no query for it.
        unit_paths.push((child.code.clone(), child.name.clone(), format!("{path}{}/", child.code)));
    }
    // The subtree's targets read once; the area's and each unit's rolled up from them in Rust.
    let targets = crate::targets::subtree_targets(store, &path).await?;
    let mut paths: Vec<&str> = vec![path.as_str()];
    paths.extend(unit_paths.iter().map(|(_, _, p)| p.as_str()));
    let rolled = crate::targets::roll_up_targets_of(&paths, &targets);
    let coverage = coverage.with_campaign(campaign).with_targets(rolled[0]);
    let by_code: std::collections::HashMap<&str, _> =
        unit_paths.iter().zip(&rolled[1..]).map(|((code, _, _), t)| (code.as_str(), *t)).collect();
    let units: Vec<Coverage> = units
        .into_iter()
        .map(|c| {
            let t = by_code.get(c.area_code.as_str()).copied().flatten();
            c.with_campaign(campaign).with_targets(t)
        })
        .collect();
    let venues = crate::venues::progress_of(store, &path, &unit_paths, to).await?;
    let (lo, hi) = subtree_range(&path);
    let days = crate::visits::daily_progress(store, &lo, &hi, day_number(from), day_number(to))
        .await?
        .into_iter()
        .map(|(day, visits, households, installed_now)| DayProgress {
            date: date_of(day),
            visits,
            households,
            installed_now,
        })
        .collect();
    let mut units = Progress::rank(units);
    // Each unit's pace: the households it first visited in the 7 days ending on `to`.
    let week = (day_number(to) - 6, day_number(to));
    for unit in &mut units {
        let Some((_, _, path)) = unit_paths.iter().find(|(code, _, _)| *code == unit.coverage.area_code) else {
            continue;
        };
        let (lo, hi) = subtree_range(path);
        let last_7: i64 =
            crate::visits::daily_progress(store, &lo, &hi, week.0, week.1).await?.iter().map(|d| d.2).sum();
        unit.finish = Finish::forecast(&unit.coverage, last_7, to, campaign.ends_on);
    }
    Ok(Some(Progress { area: coverage, units, days, venues }))
}

/// The visits recorded on `date` (the phone's local day) in `area`'s subtree, in receive order.
pub async fn visits_on(store: &dyn Store, area: &AreaCode, date: NaiveDate) -> Result<Vec<VisitDto>, StoreError> {
    let Some(path) = crate::areas::area_path(store, area.as_str()).await? else {
        return Ok(Vec::new());
    };
    // The day is chosen in SQL (the phone's local date), so only that day's rows are read out.
    let day = day_number(date);
    let query = crate::filter::RowQuery::subtree(
        &path,
        crate::filter::VisitFilter { from_day: Some(day), to_day: Some(day), ..Default::default() },
        None,
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    let collect = async move {
        let mut out = Vec::new();
        while let Some(v) = rx.recv().await {
            out.push(v);
        }
        out
    };
    let (read, out) = tokio::join!(store.stream_visits(query, tx), collect);
    read?;
    Ok(out)
}

/// Everything the daily report of an area for one day is made of.
pub struct DailyReport {
    pub date: NaiveDate,
    /// The area, its units, and the curve over the 60 days before `date`.
    pub progress: Progress,
    pub visits: Vec<VisitDto>,
    pub venue_visits: Vec<crate::venues::VenueVisitRow>,
    pub photos: Vec<crate::photos::ReportPhoto>,
    /// The day's figures per volunteer, by name.
    pub volunteers: Vec<crate::volunteers::VolunteerDayRow>,
}

/// Reads the daily report of `area` for `date`; `None` for an unknown area.
pub async fn daily_report(
    store: &dyn Store, campaign: &Campaign, area: &AreaCode, date: NaiveDate,
) -> Result<Option<DailyReport>, StoreError> {
    let Some(progress) = progress(store, campaign, area, date - chrono::Duration::days(60), date).await? else {
        return Ok(None);
    };
    let Some(path) = crate::areas::area_path(store, area.as_str()).await? else {
        return Ok(None);
    };
    let visits = visits_on(store, area, date).await?;
    let venue_visits = crate::venues::visits_on(store, area, date).await?;
    let photos = crate::photos::photos_for_report(store, &path, date).await?;
    let (lo, hi) = subtree_range(&path);
    let day = day_number(date);
    let mut volunteers = crate::volunteers::volunteer_days(store, &lo, &hi, day, day).await?;
    volunteers.sort_by_cached_key(|v| {
        (v.display_name.is_none(), doorstep_domain::area::vietnamese_sort_key(v.display_name.as_deref().unwrap_or("")))
    });
    Ok(Some(DailyReport { date, progress, visits, venue_visits, photos, volunteers }))
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write the workbook: {0}")]
    Xlsx(#[from] XlsxError),
}

/// A sheet's first row: each column's name in both languages, in the header format.
fn headers(sheet: &mut rust_xlsxwriter::Worksheet, cols: &[(&str, &str)], head: &Format) -> Result<(), XlsxError> {
    for (c, (vi, en)) in cols.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, header(vi, en), head)?;
    }
    Ok(())
}

/// Both languages in one header cell: the committee's staff read Vietnamese, partners English.
fn header(vi: &str, en: &str) -> String {
    format!("{vi}\n{en}")
}

/// A rate as a number shown as a percentage (the reader's spreadsheet puts its own decimal
/// mark: a comma in Vietnamese), or a dash where there is none.
fn write_rate(
    sheet: &mut rust_xlsxwriter::Worksheet, r: u32, c: u16, rate: Option<f64>, pct: &Format,
) -> Result<(), XlsxError> {
    match rate {
        Some(v) => sheet.write_number_with_format(r, c, v, pct)?,
        None => sheet.write_string(r, c, "—")?,
    };
    Ok(())
}

/// Day first, as Vietnam writes dates, whatever the reader's spreadsheet would choose.
const DAY_FORMAT: &str = "dd/mm/yyyy";

/// An RFC 3339 time as a spreadsheet date and time in its own offset (the phone's local time,
/// as the volunteer saw it), `dd/mm/yyyy hh:mm`; text if it does not read.
pub(crate) fn write_local_time(
    sheet: &mut rust_xlsxwriter::Worksheet, r: u32, c: u16, rfc3339: &str,
) -> Result<(), XlsxError> {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(at) => sheet.write_datetime_with_format(
            r,
            c,
            at.naive_local(),
            &Format::new().set_num_format("dd/mm/yyyy hh:mm"),
        )?,
        Err(_) => sheet.write_string(r, c, rfc3339)?,
    };
    Ok(())
}

/// Where an area's target figures come from: its own, or summed over the areas below, and whether
/// that sum leaves some out (the "partial roll-up" the dashboard shows too).
fn target_note(targets: Option<&AreaTargets>, lang: Lang) -> String {
    let Some(t) = targets else {
        return match lang {
            Lang::Vi => "Chưa có mục tiêu".into(),
            Lang::En => "No target".into(),
        };
    };
    let sums = [
        ("số hộ", "households", t.households_sum),
        ("dân số", "population", t.population_sum),
        ("người có ĐTTM", "smartphone owners", t.smartphone_owners_sum),
    ];
    let parts: Vec<String> = sums
        .iter()
        .filter_map(|(vi, en, sum)| {
            let s = (*sum)?;
            Some(match lang {
                Lang::Vi => format!("{vi}: cộng từ {}/{} địa bàn cấp dưới", s.areas_with_target, s.areas),
                Lang::En => format!("{en}: summed over {} of {} areas below", s.areas_with_target, s.areas),
            })
        })
        .collect();
    let (own, partial) = match lang {
        Lang::Vi => ("Mục tiêu của chính địa bàn", "Chưa đủ: "),
        Lang::En => ("The area's own targets", "Partial: "),
    };
    if parts.is_empty() { own.into() } else { format!("{}{}", if t.partial { partial } else { "" }, parts.join("; ")) }
}

/// A unit's finish in columns 14 to 17: its goal, its pace, the date (or why there is none) and
/// whether it comes before the campaign's last day.
fn write_finish(
    sheet: &mut rust_xlsxwriter::Worksheet, r: u32, f: &Finish, has_end: bool, day_format: &Format, lang: Lang,
) -> Result<(), XlsxError> {
    let say = |vi: &'static str, en: &'static str| if lang == Lang::Vi { vi } else { en };
    sheet.write_number(r, 14, f.goal_households as f64)?;
    sheet.write_number(r, 15, f.households_last_7_days as f64)?;
    match f.finishes_on.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()) {
        Some(day) => sheet.write_datetime_with_format(r, 16, day, day_format)?,
        None if f.reached => sheet.write_string(r, 16, say("Đã đạt", "Reached"))?,
        None => sheet.write_string(r, 16, say("Không có hộ mới trong 7 ngày", "No new household in 7 days"))?,
    };
    let end = match (has_end, f.misses_end) {
        (false, _) => say("Chiến dịch chưa có ngày kết thúc", "The campaign names no last day"),
        (true, true) => say("Trễ hạn", "Misses it"),
        (true, false) => say("Kịp", "In time"),
    };
    sheet.write_string(r, 17, end)?;
    Ok(())
}

/// The daily report of an area for one day: summary, units, days, that day's visits and its
/// photos.
pub fn daily_workbook(report: &DailyReport, campaign: &Campaign, lang: Lang) -> Result<Vec<u8>, ReportError> {
    let DailyReport { date, progress, visits, venue_visits, photos, volunteers } = report;
    let date = *date;
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let head = Format::new().set_bold().set_text_wrap().set_background_color("#DDE7F3");
    let pct = Format::new().set_num_format("0.0%");
    let day_format = Format::new().set_num_format(DAY_FORMAT);
    let area: &Coverage = &progress.area;

    let sheet = book.add_worksheet();
    sheet.set_name("Tổng hợp")?;
    sheet.set_column_width(0, 42)?;
    sheet.set_column_width(1, 18)?;
    let title = match lang {
        Lang::Vi => format!("Báo cáo ngày {} — {}", date.format("%d/%m/%Y"), area.area_name),
        Lang::En => format!("Daily report {} — {}", date.format("%Y-%m-%d"), area.area_name),
    };
    sheet.write_string_with_format(0, 0, &title, &bold)?;
    sheet.write_string(1, 0, campaign.name.get(lang))?;
    enum Cell {
        Text(String),
        Count(i64),
        Rate(Option<f64>),
    }
    let targets = area.targets.unwrap_or_default();
    let target = |n: Option<i64>| n.map(Cell::Count).unwrap_or_else(|| Cell::Text("—".into()));
    let rows: Vec<(&str, &str, Cell)> = vec![
        ("Mã địa bàn", "Area code", Cell::Text(area.area_code.clone())),
        ("Hộ đã biết", "Households known", Cell::Count(area.households_known)),
        ("Hộ đã thăm", "Households visited", Cell::Count(area.households_visited)),
        (
            "Độ phủ trên số hộ đã gặp (hộ đã thăm / hộ đã biết)",
            "Found coverage (households visited / known)",
            Cell::Rate(area.coverage_rate),
        ),
        ("Lượt thăm", "Visits", Cell::Count(area.visits)),
        ("Điện thoại thông minh đã gặp", "Smartphones seen", Cell::Count(area.smartphones_seen)),
        ("Đã cài từ trước", "Already installed", Cell::Count(area.already_installed)),
        ("Cài ngay khi thăm", "Installed at the visit", Cell::Count(area.installed_now)),
        (
            "Tỷ lệ cài trên số điện thoại thông minh đã gặp",
            "Install rate of smartphones seen",
            Cell::Rate(area.install_rate),
        ),
        // The committee's targets and the two rates they give, each named for its denominator.
        ("Số hộ mục tiêu", "Target households", target(targets.households)),
        ("Dân số mục tiêu", "Target population", target(targets.population)),
        (
            "Số người có điện thoại thông minh (mục tiêu)",
            "Smartphone owners targeted",
            target(targets.smartphone_owners),
        ),
        (
            "Độ phủ trên số hộ mục tiêu (hộ đã thăm / hộ mục tiêu)",
            "Target coverage (households visited / target households)",
            Cell::Rate(area.target_coverage_rate),
        ),
        (
            "Tỷ lệ cài trên số người có điện thoại thông minh (mục tiêu)",
            "Install rate of smartphone owners targeted",
            Cell::Rate(area.install_rate_of_owners),
        ),
        ("Nguồn số mục tiêu", "Where the targets come from", Cell::Text(target_note(area.targets.as_ref(), lang))),
        (
            "Hộ đã có ứng dụng (lần thăm gần nhất ghi đã cài)",
            "Households with the app (latest visit found it installed)",
            Cell::Count(area.households_with_app),
        ),
    ];
    for (i, (vi, en, value)) in rows.iter().enumerate() {
        let r = 3 + i as u32;
        sheet.write_string(r, 0, header(vi, en))?;
        // Counts as numbers, so the committee can add them up; codes and rates as text.
        match value {
            Cell::Count(n) => {
                sheet.write_number(r, 1, *n as f64)?;
            }
            Cell::Text(t) => {
                sheet.write_string(r, 1, t)?;
            }
            Cell::Rate(v) => write_rate(sheet, r, 1, *v, &pct)?,
        }
    }
    let mut r = 3 + rows.len() as u32 + 1;
    sheet.write_string_with_format(
        r,
        0,
        header("Hộ theo kết quả lần thăm cuối", "Households by latest outcome"),
        &head,
    )?;
    for outcome in &campaign.outcomes {
        r += 1;
        sheet.write_string(r, 0, outcome.label.get(lang))?;
        sheet.write_number(r, 1, *area.by_outcome.get(&outcome.code).unwrap_or(&0) as f64)?;
    }

    let sheet = book.add_worksheet();
    sheet.set_name("Đơn vị")?;
    headers(
        sheet,
        &[
            ("Hạng", "Rank"),
            ("Mã", "Code"),
            ("Đơn vị", "Unit"),
            ("Hộ đã biết", "Households known"),
            ("Hộ đã thăm", "Households visited"),
            ("Độ phủ trên số hộ đã gặp", "Found coverage (visited / known)"),
            ("ĐTTM đã gặp", "Smartphones seen"),
            ("Có ứng dụng", "With the app"),
            ("Tỷ lệ cài trên số ĐTTM đã gặp", "Install rate of smartphones seen"),
            ("Số hộ mục tiêu", "Target households"),
            ("Độ phủ trên số hộ mục tiêu", "Target coverage (visited / target households)"),
            ("Số người có ĐTTM (mục tiêu)", "Smartphone owners targeted"),
            ("Tỷ lệ cài trên số người có ĐTTM (mục tiêu)", "Install rate of smartphone owners targeted"),
            ("Nguồn số mục tiêu", "Where the targets come from"),
            ("Số hộ cần đạt", "Goal (households)"),
            ("Hộ thăm lần đầu trong 7 ngày qua", "Households first visited in the last 7 days"),
            ("Dự kiến đạt", "Expected to reach the goal"),
            ("Kịp hạn chiến dịch", "Before the campaign's end"),
        ],
        &head,
    )?;
    sheet.set_column_width(2, 32)?;
    sheet.set_column_width(16, 14)?;
    // The units that will miss the campaign's last day first, then by rank.
    let mut units: Vec<_> = progress.units.iter().collect();
    units.sort_by_key(|u| (!u.finish.as_ref().is_some_and(|f| f.misses_end), u.rank));
    for (i, u) in units.iter().enumerate() {
        let r = 1 + i as u32;
        let c = &u.coverage;
        sheet.write_number(r, 0, f64::from(u.rank))?;
        sheet.write_string(r, 1, &c.area_code)?;
        sheet.write_string(r, 2, &c.area_name)?;
        sheet.write_number(r, 3, c.households_known as f64)?;
        sheet.write_number(r, 4, c.households_visited as f64)?;
        write_rate(sheet, r, 5, c.coverage_rate, &pct)?;
        sheet.write_number(r, 6, c.smartphones_seen as f64)?;
        sheet.write_number(r, 7, (c.already_installed + c.installed_now) as f64)?;
        write_rate(sheet, r, 8, c.install_rate, &pct)?;
        let t = c.targets.unwrap_or_default();
        // A missing target stays an empty cell, so the column still adds up.
        if let Some(n) = t.households {
            sheet.write_number(r, 9, n as f64)?;
        }
        write_rate(sheet, r, 10, c.target_coverage_rate, &pct)?;
        if let Some(n) = t.smartphone_owners {
            sheet.write_number(r, 11, n as f64)?;
        }
        write_rate(sheet, r, 12, c.install_rate_of_owners, &pct)?;
        sheet.write_string(r, 13, target_note(c.targets.as_ref(), lang))?;
        if let Some(f) = &u.finish {
            write_finish(sheet, r, f, campaign.ends_on.is_some(), &day_format, lang)?;
        }
    }

    let sheet = book.add_worksheet();
    sheet.set_name("Theo ngày")?;
    sheet.set_column_width(0, 12)?;
    headers(
        sheet,
        &[
            ("Ngày", "Date"),
            ("Lượt thăm", "Visits"),
            ("Hộ được thăm lần đầu", "Households reached for the first time"),
            ("Cài ngay", "Installed at the visit"),
            ("Cộng dồn cài ngay", "Installed, cumulative"),
        ],
        &head,
    )?;
    let mut cumulative = 0;
    for (i, d) in progress.days.iter().enumerate() {
        let r = 1 + i as u32;
        cumulative += d.installed_now;
        match NaiveDate::parse_from_str(&d.date, "%Y-%m-%d") {
            Ok(day) => sheet.write_datetime_with_format(r, 0, day, &day_format)?,
            Err(_) => sheet.write_string(r, 0, &d.date)?,
        };
        sheet.write_number(r, 1, d.visits as f64)?;
        sheet.write_number(r, 2, d.households as f64)?;
        sheet.write_number(r, 3, d.installed_now as f64)?;
        sheet.write_number(r, 4, cumulative as f64)?;
    }

    let sheet = book.add_worksheet();
    sheet.set_name("Lượt thăm")?;
    sheet.set_column_width(0, 17)?;
    // No address and no notes: the committee's report counts; it does not need to say who.
    headers(
        sheet,
        &[
            ("Giờ thăm", "Visited at"),
            ("Địa bàn", "Area"),
            ("Kết quả", "Outcome"),
            ("Số người", "People"),
            ("ĐTTM", "Smartphones"),
            ("Đã cài từ trước", "Already installed"),
            ("Cài ngay", "Installed now"),
            ("Tờ rơi", "Leaflet"),
            ("Vĩ độ", "Latitude"),
            ("Kinh độ", "Longitude"),
            ("Sai số (m)", "Accuracy (m)"),
            ("Cần xem lại", "Flags"),
        ],
        &head,
    )?;
    for (i, v) in visits.iter().enumerate() {
        let r = 1 + i as u32;
        let label =
            campaign.outcome(&v.outcome).map(|o| o.label.get(lang).to_string()).unwrap_or_else(|| v.outcome.clone());
        write_local_time(sheet, r, 0, &v.visited_at)?;
        sheet.write_string(r, 1, &v.area_code)?;
        sheet.write_string(r, 2, label)?;
        sheet.write_number(r, 3, v.people as f64)?;
        sheet.write_number(r, 4, v.smartphones as f64)?;
        sheet.write_number(r, 5, v.already_installed as f64)?;
        sheet.write_number(r, 6, v.installed_now as f64)?;
        sheet.write_boolean(r, 7, v.leaflet_given)?;
        if let (Some(lat), Some(lon)) = (v.lat, v.lon) {
            sheet.write_number(r, 8, lat)?;
            sheet.write_number(r, 9, lon)?;
        }
        if let Some(acc) = v.accuracy_m {
            sheet.write_number(r, 10, acc)?;
        }
        let flags: Vec<&str> = v
            .flags
            .iter()
            .map(|f| doorstep_domain::quality::Flag::parse(f).map(|f| f.title(lang)).unwrap_or(f.as_str()))
            .collect();
        sheet.write_string(r, 11, flags.join("; "))?;
    }

    let sheet = book.add_worksheet();
    sheet.set_name("Tình nguyện viên")?;
    sheet.set_column_width(0, 28)?;
    sheet.set_column_width(1, 18)?;
    headers(
        sheet,
        &[
            ("Tình nguyện viên", "Volunteer"),
            ("Tên đăng nhập", "Username"),
            ("Lượt thăm", "Visits"),
            ("Hộ", "Households"),
            ("Cài ngay", "Installed now"),
            ("Cần xem lại", "Flagged"),
        ],
        &head,
    )?;
    for (i, v) in volunteers.iter().enumerate() {
        let r = 1 + i as u32;
        let unknown = match lang {
            Lang::Vi => "Chưa rõ",
            Lang::En => "Unknown",
        };
        sheet.write_string(r, 0, v.display_name.as_deref().unwrap_or(unknown))?;
        sheet.write_string(r, 1, v.username.clone().unwrap_or_else(|| v.volunteer_id.to_string()))?;
        for (c, n) in [v.visits, v.households, v.installed_now, v.flagged].iter().enumerate() {
            sheet.write_number(r, 2 + c as u16, *n as f64)?;
        }
    }
    crate::venues::venue_sheets(&mut book, &progress.venues, venue_visits, lang)?;
    crate::photos::photo_sheet(&mut book, photos, &head)?;
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, DataType, Reader, Xlsx};
    use doorstep_domain::protocol::UnitProgress;
    use std::collections::BTreeMap;

    fn coverage(code: &str, name: &str, known: i64, visited: i64, phones: i64, with_app: i64) -> Coverage {
        Coverage {
            area_code: code.into(),
            area_name: name.into(),
            households_known: known,
            households_visited: visited,
            by_outcome: BTreeMap::from([("installed_now".to_string(), visited)]),
            visits: visited,
            households_with_app: 0,
            smartphones_seen: phones,
            already_installed: 0,
            installed_now: with_app,
            coverage_rate: None,
            install_rate: None,
            targets: None,
            target_coverage_rate: None,
            install_rate_of_owners: None,
        }
        .with_rates()
    }

    #[test]
    fn units_rank_by_share_of_smartphones_with_the_app() {
        let ranked = Progress::rank(vec![
            coverage("1", "Bắc", 10, 5, 10, 5),
            coverage("2", "Nam", 10, 2, 4, 4),
            coverage("3", "Đông", 10, 0, 0, 0),
            coverage("4", "Tây", 10, 8, 10, 5),
        ]);
        let ranks: Vec<(String, u32)> = ranked.iter().map(|u| (u.coverage.area_code.clone(), u.rank)).collect();
        // Nam: 100 %; Tây and Bắc 50 % (Tây covers more); Đông saw no phone.
        assert_eq!(ranks, [("1".into(), 3), ("2".into(), 1), ("3".into(), 4), ("4".into(), 2)]);
    }

    #[test]
    fn day_numbers_count_from_1970() {
        let d = NaiveDate::from_ymd_opt(2020, 8, 2).unwrap();
        assert_eq!(day_number(d), 18476);
        assert_eq!(date_of(18476), "2020-08-02");
    }

    fn flagged_visit() -> VisitDto {
        VisitDto {
            server_seq: 1,
            id: uuid::Uuid::from_u128(4).to_string(),
            revision: 1,
            household_id: uuid::Uuid::from_u128(5).to_string(),
            area_code: "18073".into(),
            volunteer_id: uuid::Uuid::from_u128(3).to_string(),
            volunteer_name: Some("Trần Thị Hà".into()),
            device_id: uuid::Uuid::from_u128(6).to_string(),
            visited_at: "2020-08-04T21:30:00+07:00".into(),
            outcome: "installed_now".into(),
            reason: None,
            people: 4,
            smartphones: 2,
            already_installed: 0,
            installed_now: 2,
            leaflet_given: true,
            location_source: "gps".into(),
            lat: None,
            lon: None,
            accuracy_m: None,
            notes: None,
            received_at: "2020-08-04T14:31:00+00:00".into(),
            flags: vec!["implausible_speed".into(), "burst".into(), "not_a_flag".into()],
        }
    }

    /// The number formats a workbook's styles declare (`numFmt formatCode`).
    fn number_formats(bytes: &[u8]) -> Vec<String> {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut styles = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("xl/styles.xml").unwrap(), &mut styles).unwrap();
        styles.split("formatCode=\"").skip(1).filter_map(|s| s.split('"').next()).map(str::to_string).collect()
    }

    #[test]
    fn the_workbook_reads_back_with_another_reader() {
        // The city's households target summed over 8 of its 12 wards; the ward has its own.
        let city_targets = AreaTargets {
            households: Some(400),
            smartphone_owners: Some(90),
            partial: true,
            households_sum: Some(doorstep_domain::protocol::TargetSum { areas_with_target: 8, areas: 12 }),
            ..Default::default()
        };
        let ward_targets = AreaTargets { households: Some(50), smartphone_owners: Some(18), ..Default::default() };
        let progress = Progress {
            area: coverage("436", "Thành phố Hà Tĩnh", 100, 40, 60, 45)
                .with_campaign(&Campaign::bluezone())
                .with_targets(Some(city_targets)),
            units: vec![
                UnitProgress {
                    coverage: coverage("18073", "Phường Nam Hà", 20, 10, 12, 9).with_targets(Some(ward_targets)),
                    rank: 1,
                    finish: None,
                },
                UnitProgress { coverage: coverage("18077", "Phường Bắc Hà", 20, 5, 0, 0), rank: 2, finish: None },
            ],
            days: vec![
                DayProgress { date: "2020-08-03".into(), visits: 25, households: 24, installed_now: 20 },
                DayProgress { date: "2020-08-04".into(), visits: 16, households: 16, installed_now: 25 },
            ],
            venues: Default::default(),
        };
        let school = crate::venues::VenueVisitRow {
            path: "/42/436/18073/".into(),
            area_code: "18073".into(),
            venue_id: uuid::Uuid::from_u128(1),
            kind: "school".into(),
            venue_name: "Trường THCS Lê Văn Thiêm".into(),
            id: uuid::Uuid::from_u128(2),
            revision: 1,
            volunteer_id: uuid::Uuid::from_u128(3),
            visited_at: "2020-08-04T08:00:00+07:00".into(),
            local_day: "2020-08-04".into(),
            counts: [600, 320, 200, 90, 4],
            visitors: [None; 3],
            lat: None,
            lon: None,
            notes: None,
        };
        let units = [("18073".to_string(), "Phường Nam Hà".to_string(), "/42/436/18073/".to_string())];
        let progress =
            Progress { venues: crate::venues::venue_progress(std::slice::from_ref(&school), &units), ..progress };
        let report = DailyReport {
            date: NaiveDate::from_ymd_opt(2020, 8, 4).unwrap(),
            progress,
            visits: vec![flagged_visit()],
            venue_visits: vec![school],
            photos: Vec::new(),
            volunteers: vec![crate::volunteers::VolunteerDayRow {
                volunteer_id: uuid::Uuid::from_u128(3),
                username: Some("tnv.ha".into()),
                display_name: Some("Trần Thị Hà".into()),
                day: day_number(NaiveDate::from_ymd_opt(2020, 8, 4).unwrap()),
                visits: 12,
                households: 11,
                installed_now: 7,
                flagged: 1,
            }],
        };
        // Nam Hà, 40 of 50 households to go at 14 a week, ends on 24/08; Bắc Hà saw nobody new
        // this week and will miss the campaign's end (31/08), so it comes first.
        let campaign = Campaign { ends_on: NaiveDate::from_ymd_opt(2020, 8, 31), ..Campaign::bluezone() };
        let mut report = report;
        for (u, last_7) in report.progress.units.iter_mut().zip([14, 0]) {
            u.finish = Finish::forecast(&u.coverage, last_7, report.date, campaign.ends_on);
        }
        let bytes = daily_workbook(&report, &campaign, Lang::Vi).unwrap();
        // Dates day first and rates as percentages, whatever the reader's locale would choose.
        let formats = number_formats(&bytes);
        for f in ["dd/mm/yyyy", "dd/mm/yyyy hh:mm", "0.0%"] {
            assert!(formats.iter().any(|x| x == f), "{f} in {formats:?}");
        }
        assert!(!formats.iter().any(|x| x.starts_with("mm/dd") || x.starts_with("m/d")), "{formats:?}");
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(
            book.sheet_names(),
            ["Tổng hợp", "Đơn vị", "Theo ngày", "Lượt thăm", "Tình nguyện viên", "Cơ sở", "Lượt thăm cơ sở", "Ảnh"]
        );
        // The visit: its local time as a date, its flags in words (an unknown code as it is).
        let visits = book.worksheet_range("Lượt thăm").unwrap();
        let at = visits.get_value((1, 0)).and_then(|d| d.as_datetime()).expect("a date and time");
        assert_eq!(at.format("%d/%m/%Y %H:%M").to_string(), "04/08/2020 21:30");
        assert_eq!(
            visits.get_value((1, 11)),
            Some(&Data::String("Di chuyển quá nhanh; Nhiều hộ ghi từ một chỗ; not_a_flag".into()))
        );
        // Who did how much that day, by name.
        let people = book.worksheet_range("Tình nguyện viên").unwrap();
        assert_eq!(people.get_value((1, 0)), Some(&Data::String("Trần Thị Hà".into())));
        assert_eq!(people.get_value((1, 1)), Some(&Data::String("tnv.ha".into())));
        assert_eq!(people.get_value((1, 2)), Some(&Data::Float(12.0)));
        let day = book.worksheet_range("Lượt thăm cơ sở").unwrap();
        assert_eq!(
            day.get_value((1, 0)).and_then(|d| d.as_datetime()).map(|t| t.format("%d/%m %H:%M").to_string()),
            Some("04/08 08:00".into())
        );
        let venues = book.worksheet_range("Cơ sở").unwrap();
        assert_eq!(venues.get_value((1, 0)), Some(&Data::String("Phường Nam Hà".into())));
        assert_eq!(venues.get_value((1, 2)), Some(&Data::Float(1.0)), "one school");
        assert_eq!(venues.get_value((2, 5)), Some(&Data::Float(600.0)), "total people reached");
        assert_eq!(venues.get_value((2, 8)), Some(&Data::Float(90.0)), "total installed now");
        let day = book.worksheet_range("Lượt thăm cơ sở").unwrap();
        assert_eq!(day.get_value((1, 2)), Some(&Data::String("Trường THCS Lê Văn Thiêm".into())));
        assert_eq!(day.get_value((1, 3)), Some(&Data::String("Trường học".into())));
        let summary = book.worksheet_range("Tổng hợp").unwrap();
        assert!(summary.get_value((0, 0)).unwrap().to_string().contains("04/08/2020"));
        assert_eq!(summary.get_value((3, 1)), Some(&Data::String("436".into())), "a code stays text");
        assert_eq!(summary.get_value((5, 1)), Some(&Data::Float(40.0)), "households visited");
        assert_eq!(summary.get_value((6, 1)), Some(&Data::Float(0.4)));
        let units = book.worksheet_range("Đơn vị").unwrap();
        let (nam, bac) = (2, 1);
        assert_eq!(units.get_value((nam, 2)), Some(&Data::String("Phường Nam Hà".into())));
        assert_eq!(units.get_value((nam, 8)), Some(&Data::Float(0.75)));
        // The three ways, each under a header naming its denominator.
        let heading = |c: u32| units.get_value((0, c)).unwrap().to_string();
        assert!(heading(5).contains("số hộ đã gặp") && heading(5).contains("Found coverage"));
        assert!(heading(8).contains("ĐTTM đã gặp") && heading(8).contains("smartphones seen"));
        assert!(heading(9).contains("Số hộ mục tiêu") && heading(9).contains("Target households"));
        assert!(heading(10).contains("Target coverage"));
        assert!(heading(12).contains("smartphone owners targeted"));
        assert_eq!(units.get_value((nam, 9)), Some(&Data::Float(50.0)), "target households");
        assert_eq!(units.get_value((nam, 10)), Some(&Data::Float(0.2)), "10 of 50");
        assert_eq!(units.get_value((nam, 11)), Some(&Data::Float(18.0)), "owners targeted");
        assert_eq!(units.get_value((nam, 12)), Some(&Data::Float(0.5)), "9 of 18");
        assert_eq!(units.get_value((nam, 13)), Some(&Data::String("Mục tiêu của chính địa bàn".into())));
        // No target: empty figure, a dash for its rates, and said so.
        assert!(matches!(units.get_value((bac, 9)), None | Some(Data::Empty)));
        assert_eq!(units.get_value((bac, 10)), Some(&Data::String("—".into())));
        assert_eq!(units.get_value((bac, 13)), Some(&Data::String("Chưa có mục tiêu".into())));
        // The finish: the goal, the week's pace, the date as a date, and who misses the end.
        assert!(heading(16).contains("Dự kiến đạt") && heading(16).contains("Expected to reach"));
        assert_eq!(units.get_value((nam, 14)), Some(&Data::Float(50.0)), "the ward's own target");
        assert_eq!(units.get_value((nam, 15)), Some(&Data::Float(14.0)));
        let on = units.get_value((nam, 16)).and_then(|d| d.as_date()).expect("a date");
        assert_eq!(on.format("%d/%m/%Y").to_string(), "24/08/2020");
        assert_eq!(units.get_value((nam, 17)), Some(&Data::String("Kịp".into())));
        assert_eq!(units.get_value((bac, 14)), Some(&Data::Float(17.0)), "85 % of 20 found");
        assert_eq!(units.get_value((bac, 16)), Some(&Data::String("Không có hộ mới trong 7 ngày".into())));
        assert_eq!(units.get_value((bac, 17)), Some(&Data::String("Trễ hạn".into())));
        // The summary: found coverage, target coverage, installs of phones seen and of owners.
        let label = |r: u32| summary.get_value((r, 0)).unwrap().to_string();
        assert!(label(6).contains("Found coverage"), "{}", label(6));
        assert!(label(11).contains("smartphones seen"), "{}", label(11));
        assert!(label(12).contains("Target households"));
        assert_eq!(summary.get_value((12, 1)), Some(&Data::Float(400.0)));
        assert_eq!(summary.get_value((13, 1)), Some(&Data::String("—".into())), "no population");
        assert_eq!(summary.get_value((14, 1)), Some(&Data::Float(90.0)));
        assert!(label(15).contains("Target coverage"));
        assert_eq!(
            summary.get_value((15, 1)),
            Some(&Data::String("—".into())),
            "400 households targeted in 8 of 12 districts: no rate drawn from part of the area"
        );
        assert!(label(16).contains("owners targeted"));
        assert_eq!(summary.get_value((16, 1)), Some(&Data::Float(0.5)), "45 of 90");
        assert_eq!(
            summary.get_value((17, 1)),
            Some(&Data::String("Chưa đủ: số hộ: cộng từ 8/12 địa bàn cấp dưới".into())),
            "the partial roll-up said"
        );
        assert!(label(18).contains("Households with the app"), "{}", label(18));
        assert_eq!(summary.get_value((18, 1)), Some(&Data::Float(40.0)), "installed_now households");
        let days = book.worksheet_range("Theo ngày").unwrap();
        assert_eq!(days.get_value((2, 4)), Some(&Data::Float(45.0)), "cumulative installs");
        let day = days.get_value((2, 0)).and_then(|d| d.as_date()).expect("a date");
        assert_eq!(day, NaiveDate::from_ymd_opt(2020, 8, 4).unwrap());
    }
}
