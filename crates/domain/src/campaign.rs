//! A campaign is data: the app it promotes, its outcome list and its rules. The Bluezone campaign
//! of August 2020 is the default; nothing else in the code names an outcome.

use serde::{Deserialize, Serialize};

use crate::error::Messages;

/// A GPS fix worse than this (metres) is shown with a warning on the phone and flags the visit
/// on the server (`poor_accuracy`), unless the campaign sets another threshold.
pub const DEFAULT_ACCURACY_THRESHOLD_M: f64 = 50.0;

fn default_accuracy_threshold_m() -> f64 {
    DEFAULT_ACCURACY_THRESHOLD_M
}

/// One possible result of a visit, with the rules that go with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutcomeDef {
    pub code: String,
    pub label: Messages,
    /// The door was answered and the household heard the message.
    pub reached: bool,
    /// A household whose latest visit had this outcome is due for another visit.
    pub revisit: bool,
    /// A reason must be given (a refusal, say).
    #[serde(default)]
    pub requires_reason: bool,
    /// At least one phone must have been installed during the visit.
    #[serde(default)]
    pub requires_installed_now: bool,
    /// At least one phone must already have had the app.
    #[serde(default)]
    pub requires_already_installed: bool,
    /// The smartphone count must be zero.
    #[serde(default)]
    pub requires_no_smartphone: bool,
    /// The household counts as having the app after this outcome.
    #[serde(default)]
    pub installed: bool,
    /// With `revisit`: how long after the visit the household is due again (0: at once).
    #[serde(default)]
    pub revisit_after_hours: u32,
    /// With `requires_reason`: the reasons heard most, offered as one-tap choices (the phone
    /// also offers "other", typed). The visit keeps the chosen reason's Vietnamese text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Messages>,
}

/// An hour in milliseconds, as visit times and due times are kept.
const HOUR_MS: i64 = 3_600_000;

impl OutcomeDef {
    /// When a household whose latest visit (at `visited_at_ms`, ms since 1970 UTC) had this
    /// outcome is due again: that time plus `revisit_after_hours`; `None` for an outcome that is
    /// not revisited.
    pub fn revisit_due_at_ms(&self, visited_at_ms: i64) -> Option<i64> {
        self.revisit.then(|| visited_at_ms.saturating_add(i64::from(self.revisit_after_hours) * HOUR_MS))
    }
}

/// Where the target app is installed from, shown to volunteers and on the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoreLink {
    /// The store's name as people know it ("Google Play", "App Store").
    pub store: String,
    pub url: String,
}

/// The coverage colours: red below `low_percent`, amber below `high_percent`, green from there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageBands {
    pub low_percent: f64,
    pub high_percent: f64,
}

impl Default for CoverageBands {
    fn default() -> Self {
        CoverageBands { low_percent: 30.0, high_percent: 70.0 }
    }
}

/// A visit further than this (metres) from its household's known place is flagged
/// `far_from_household`, unless the campaign sets another distance.
pub const DEFAULT_FAR_FROM_HOUSEHOLD_M: f64 = crate::quality::FAR_FROM_HOUSEHOLD_M;

fn default_far_from_household_m() -> f64 {
    DEFAULT_FAR_FROM_HOUSEHOLD_M
}

/// A household added at the door this close (metres) to an enumerated building that no visit has
/// reached, and to no other, is taken to be that building, unless the campaign says otherwise.
pub const DEFAULT_MATCH_ENUMERATED_M: f64 = 10.0;

fn default_match_enumerated_m() -> f64 {
    DEFAULT_MATCH_ENUMERATED_M
}

fn default_claim_hours() -> u32 {
    crate::claim::DEFAULT_CLAIM_HOURS
}

/// Why a campaign file was refused: where, and what to change.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CampaignError {
    #[error("the campaign file is not valid JSON for a campaign (line {line}, column {column}, at {path}): {detail}")]
    Malformed { line: usize, column: usize, path: String, detail: String },
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> CampaignError {
    CampaignError::Invalid { field: field.into(), problem: problem.into() }
}

/// The campaign's definition: what the software needs to know to validate and count visits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Campaign {
    pub code: String,
    pub name: Messages,
    pub target_app: String,
    /// The campaign's time zone as a fixed offset from UTC, in minutes (Vietnam: +420, no DST).
    pub utc_offset_minutes: i32,
    pub outcomes: Vec<OutcomeDef>,
    /// The largest believable counts for one household.
    pub max_people: u32,
    pub max_smartphones: u32,
    /// GPS accuracy (metres) beyond which a visit is flagged `poor_accuracy`.
    #[serde(default = "default_accuracy_threshold_m")]
    pub accuracy_threshold_m: f64,
    /// Distance (metres) from the household's known place beyond which a visit is flagged
    /// `far_from_household`.
    #[serde(default = "default_far_from_household_m")]
    pub far_from_household_m: f64,
    /// A new household this close (metres) to exactly one enumerated building not yet visited
    /// is recorded as that building's household rather than as another.
    #[serde(default = "default_match_enumerated_m")]
    pub match_enumerated_m: f64,
    /// Hours after which a claim on doors (a leader's, or a visit's) runs out when its volunteer
    /// has recorded nothing in it; within them a second volunteer's visit is flagged `overlap`.
    #[serde(default = "default_claim_hours")]
    pub claim_hours: u32,
    /// Where the target app is installed from.
    #[serde(default)]
    pub store_links: Vec<StoreLink>,
    /// The coverage colours of the maps and tables.
    #[serde(default)]
    pub coverage_bands: CoverageBands,
    /// When visits are flagged `burst`: several households recorded from one spot within seconds.
    #[serde(default)]
    pub burst: crate::quality::BurstRule,
    /// The campaign's first day, in its time zone: a visit dated before it is refused (a phone
    /// whose clock was reset). Absent: no bound but the software's earliest date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub starts_on: Option<chrono::NaiveDate>,
    /// The day the campaign means to be done by, in its time zone: the progress table forecasts
    /// which units will miss it. Visits after it are still taken (a campaign may run late).
    /// Absent: the forecast still gives each unit's date, and nothing is said to miss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub ends_on: Option<chrono::NaiveDate>,
}

impl Campaign {
    /// The instant the campaign starts (its first day's midnight in its time zone), with that
    /// day; `None` when it names no first day.
    pub fn start(&self) -> Option<(chrono::DateTime<chrono::Utc>, chrono::NaiveDate)> {
        let day = self.starts_on?;
        let midnight = day.and_hms_opt(0, 0, 0)?;
        let utc = midnight - chrono::Duration::minutes(i64::from(self.utc_offset_minutes));
        Some((utc.and_utc(), day))
    }

    pub fn outcome(&self, code: &str) -> Option<&OutcomeDef> {
        self.outcomes.iter().find(|o| o.code == code)
    }

    /// When a household is due again, from its latest outcome and that visit's time (`None`:
    /// not visited, or an outcome not revisited or not in this campaign). A household held
    /// without its latest visit's time is due at once.
    pub fn revisit_due_at_ms(&self, latest_outcome: Option<&str>, latest_visited_at_ms: Option<i64>) -> Option<i64> {
        self.outcome(latest_outcome?)?.revisit_due_at_ms(latest_visited_at_ms.unwrap_or(0))
    }

    /// Whether a household is due again at `now_ms` (see [`Campaign::revisit_due_at_ms`]).
    pub fn revisit_due(&self, latest_outcome: Option<&str>, latest_visited_at_ms: Option<i64>, now_ms: i64) -> bool {
        self.revisit_due_at_ms(latest_outcome, latest_visited_at_ms).is_some_and(|at| at <= now_ms)
    }

    /// Reads and checks a campaign file (JSON, as `data/campaigns/bluezone-2020.json`): the
    /// first problem found is named with its place, so the person loading it can fix the file.
    pub fn parse_file(text: &str) -> Result<Campaign, CampaignError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let campaign: Campaign = serde_path_to_error::deserialize(de).map_err(|e| {
            let inner = e.inner();
            CampaignError::Malformed {
                line: inner.line(),
                column: inner.column(),
                path: e.path().to_string(),
                detail: inner.to_string().split(" at line").next().unwrap_or_default().to_string(),
            }
        })?;
        campaign.check()?;
        Ok(campaign)
    }

    /// The rules a campaign must follow to be used: the ones validation and the figures rely on.
    pub fn check(&self) -> Result<(), CampaignError> {
        let code_ok = |c: &str| {
            !c.is_empty()
                && c.len() <= 64
                && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        };
        if !code_ok(&self.code) {
            return Err(invalid("code", "use 1 to 64 lower-case letters, digits, '-' or '_'"));
        }
        let labelled = |field: &str, m: &Messages| {
            if m.vi.trim().is_empty() || m.en.trim().is_empty() {
                Err(invalid(field, "needs both a Vietnamese (vi) and an English (en) text"))
            } else {
                Ok(())
            }
        };
        labelled("name", &self.name)?;
        if self.target_app.trim().is_empty() {
            return Err(invalid("target_app", "name the app the campaign asks people to install"));
        }
        if !(-12 * 60..=14 * 60).contains(&self.utc_offset_minutes) {
            return Err(invalid("utc_offset_minutes", "must be between -720 and 840 (Vietnam: 420)"));
        }
        if self.outcomes.is_empty() {
            return Err(invalid("outcomes", "list at least one outcome"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, o) in self.outcomes.iter().enumerate() {
            let field = format!("outcomes[{i}]");
            if !code_ok(&o.code) || o.code.contains('-') {
                return Err(invalid(format!("{field}.code"), "use 1 to 64 lower-case letters, digits or '_'"));
            }
            if !seen.insert(o.code.as_str()) {
                return Err(invalid(format!("{field}.code"), format!("'{}' is listed twice", o.code)));
            }
            labelled(&format!("{field}.label"), &o.label)?;
            if o.revisit_after_hours > 0 && !o.revisit {
                return Err(invalid(format!("{field}.revisit_after_hours"), "is set but revisit is false"));
            }
            if o.requires_no_smartphone && (o.requires_installed_now || o.requires_already_installed) {
                return Err(invalid(field, "cannot require no smartphone and an installed phone at once"));
            }
            if !o.reasons.is_empty() && !o.requires_reason {
                return Err(invalid(format!("{field}.reasons"), "are listed but requires_reason is false"));
            }
            let mut said = std::collections::HashSet::new();
            for (j, r) in o.reasons.iter().enumerate() {
                labelled(&format!("{field}.reasons[{j}]"), r)?;
                // The visit keeps the reason's text, which the server takes up to 200 characters.
                if r.vi.chars().count() > 200 || r.en.chars().count() > 200 || !said.insert(r.vi.trim()) {
                    return Err(invalid(format!("{field}.reasons[{j}]"), "is over 200 characters or listed twice"));
                }
            }
        }
        if self.max_people == 0 || self.max_smartphones == 0 {
            return Err(invalid("max_people", "max_people and max_smartphones must be above 0"));
        }
        let positive = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 { Ok(()) } else { Err(invalid(field, "must be a number of metres above 0")) }
        };
        positive("accuracy_threshold_m", self.accuracy_threshold_m)?;
        positive("far_from_household_m", self.far_from_household_m)?;
        positive("match_enumerated_m", self.match_enumerated_m)?;
        if !(1..=24 * 60).contains(&self.claim_hours) {
            return Err(invalid("claim_hours", "must be a number of hours from 1 to 1440 (60 days)"));
        }
        for (i, l) in self.store_links.iter().enumerate() {
            if l.store.trim().is_empty() || !(l.url.starts_with("https://") || l.url.starts_with("http://")) {
                return Err(invalid(format!("store_links[{i}]"), "needs the store's name and an http(s) address"));
            }
        }
        if let (Some(start), Some(end)) = (self.starts_on, self.ends_on)
            && end < start
        {
            return Err(invalid("ends_on", "the campaign cannot end before it starts (starts_on)"));
        }
        let burst = self.burst;
        if burst.visits < 2 || !(1..=3600).contains(&burst.seconds) || !(burst.metres > 0.0 && burst.metres <= 1000.0) {
            return Err(invalid(
                "burst",
                "visits is 2 or more, seconds 1 to 3600, metres above 0 and at most 1000 (Bluezone: 3, 30, 6)",
            ));
        }
        let b = self.coverage_bands;
        let pct = |v: f64| v.is_finite() && (0.0..=100.0).contains(&v);
        if !pct(b.low_percent) || !pct(b.high_percent) || b.low_percent > b.high_percent {
            return Err(invalid(
                "coverage_bands",
                "low_percent and high_percent are percentages (0 to 100), low first",
            ));
        }
        Ok(())
    }

    /// Vietnam's August 2020 campaign to install Bluezone, the COVID-19 contact-tracing app.
    pub fn bluezone() -> Campaign {
        fn o(code: &str, vi: &str, en: &str, reached: bool, revisit: bool) -> OutcomeDef {
            OutcomeDef {
                code: code.into(),
                label: Messages { vi: vi.into(), en: en.into() },
                reached,
                revisit,
                requires_reason: false,
                requires_installed_now: false,
                requires_already_installed: false,
                requires_no_smartphone: false,
                installed: false,
                revisit_after_hours: 0,
                reasons: Vec::new(),
            }
        }
        let mut installed_now = o("installed_now", "Đã cài ngay", "Installed now", true, false);
        installed_now.requires_installed_now = true;
        installed_now.installed = true;
        let mut already = o("already_installed", "Đã cài từ trước", "Already installed", true, false);
        already.requires_already_installed = true;
        already.installed = true;
        let mut refused = o("refused", "Từ chối", "Refused", true, true);
        refused.requires_reason = true;
        // What volunteers heard most at the door in August 2020.
        refused.reasons = [
            ("Lo lộ thông tin cá nhân", "Worried about privacy"),
            ("Không có dữ liệu di động", "No mobile data"),
            ("Máy cũ hoặc đầy bộ nhớ", "Phone too old or full"),
            ("Sẽ tự cài sau", "Will install later"),
        ]
        .into_iter()
        .map(|(vi, en)| Messages { vi: vi.into(), en: en.into() })
        .collect();
        let mut no_phone = o("no_smartphone", "Không có điện thoại thông minh", "No smartphone", true, false);
        no_phone.requires_no_smartphone = true;
        Campaign {
            code: "bluezone-2020".into(),
            name: Messages {
                vi: "Cài đặt Bluezone phòng, chống COVID-19 (Hà Tĩnh, 8/2020)".into(),
                en: "Install Bluezone against COVID-19 (Hà Tĩnh, August 2020)".into(),
            },
            target_app: "Bluezone".into(),
            utc_offset_minutes: 7 * 60,
            outcomes: vec![
                installed_now,
                already,
                refused,
                o("not_home", "Vắng nhà", "Not at home", false, true),
                no_phone,
                o("unsupported_phone", "Máy không hỗ trợ", "Phone not supported", true, false),
                o("partial", "Cài được một phần", "Some phones done", true, true),
            ],
            max_people: 60,
            max_smartphones: 60,
            accuracy_threshold_m: DEFAULT_ACCURACY_THRESHOLD_M,
            far_from_household_m: DEFAULT_FAR_FROM_HOUSEHOLD_M,
            match_enumerated_m: DEFAULT_MATCH_ENUMERATED_M,
            claim_hours: crate::claim::DEFAULT_CLAIM_HOURS,
            store_links: vec![
                StoreLink {
                    store: "Google Play".into(),
                    url: "https://play.google.com/store/apps/details?id=com.mic.bluezone".into(),
                },
                StoreLink { store: "bluezone.gov.vn".into(), url: "https://bluezone.gov.vn".into() },
            ],
            coverage_bands: CoverageBands::default(),
            burst: crate::quality::BurstRule::default(),
            // The day of the Hà Tĩnh Fatherland Front's letter that asked for the campaign.
            starts_on: chrono::NaiveDate::from_ymd_opt(2020, 8, 2),
            // The letter names no last day.
            ends_on: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bluezone_has_the_seven_outcomes_with_both_labels() {
        let c = Campaign::bluezone();
        let codes: Vec<_> = c.outcomes.iter().map(|o| o.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "installed_now",
                "already_installed",
                "refused",
                "not_home",
                "no_smartphone",
                "unsupported_phone",
                "partial"
            ]
        );
        for o in &c.outcomes {
            assert!(!o.label.vi.is_empty() && !o.label.en.is_empty() && o.label.vi != o.label.en);
        }
        assert!(c.outcome("not_home").unwrap().revisit);
        assert!(c.outcome("refused").unwrap().requires_reason);
        assert_eq!(c.outcome("refused").unwrap().reasons.len(), 4);
        assert!(c.outcome("nope").is_none());
    }

    /// The shipped file is the default campaign, and it passes its own checks.
    #[test]
    fn the_bluezone_file_is_the_default_campaign() {
        let text = include_str!("../../../data/campaigns/bluezone-2020.json");
        assert_eq!(Campaign::parse_file(text).unwrap(), Campaign::bluezone());
    }

    /// Each rule refuses a file that breaks it, naming the field.
    #[test]
    fn a_bad_campaign_file_is_refused_with_its_place() {
        let good = serde_json::to_value(Campaign::bluezone()).unwrap();
        let refused = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            change(&mut v);
            Campaign::parse_file(&serde_json::to_string_pretty(&v).unwrap()).unwrap_err()
        };
        let field = |e: CampaignError| match e {
            CampaignError::Invalid { field, .. } => field,
            CampaignError::Malformed { path, .. } => format!("malformed {path}"),
        };
        type Change = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(&str, Change)> = vec![
            ("code", Box::new(|v| v["code"] = "Bluezone 2020".into())),
            ("name", Box::new(|v| v["name"]["en"] = "".into())),
            ("target_app", Box::new(|v| v["target_app"] = " ".into())),
            ("utc_offset_minutes", Box::new(|v| v["utc_offset_minutes"] = 10_000.into())),
            ("outcomes", Box::new(|v| v["outcomes"] = serde_json::json!([]))),
            ("outcomes[1].code", Box::new(|v| v["outcomes"][1]["code"] = "installed_now".into())),
            ("outcomes[2].code", Box::new(|v| v["outcomes"][2]["code"] = "Từ chối".into())),
            ("outcomes[3].label", Box::new(|v| v["outcomes"][3]["label"]["vi"] = "".into())),
            ("outcomes[0].revisit_after_hours", Box::new(|v| v["outcomes"][0]["revisit_after_hours"] = 24.into())),
            ("outcomes[4]", Box::new(|v| v["outcomes"][4]["requires_installed_now"] = true.into())),
            (
                "outcomes[0].reasons",
                Box::new(|v| v["outcomes"][0]["reasons"] = serde_json::json!([{"vi": "x", "en": "x"}])),
            ),
            ("outcomes[2].reasons[1]", Box::new(|v| v["outcomes"][2]["reasons"][1]["en"] = "".into())),
            (
                "outcomes[2].reasons[3]",
                Box::new(|v| v["outcomes"][2]["reasons"][3]["vi"] = "Lo lộ thông tin cá nhân".into()),
            ),
            ("max_people", Box::new(|v| v["max_people"] = 0.into())),
            ("accuracy_threshold_m", Box::new(|v| v["accuracy_threshold_m"] = (-5.0).into())),
            ("far_from_household_m", Box::new(|v| v["far_from_household_m"] = 0.0.into())),
            ("match_enumerated_m", Box::new(|v| v["match_enumerated_m"] = (-1.0).into())),
            ("claim_hours", Box::new(|v| v["claim_hours"] = 0.into())),
            ("store_links[0]", Box::new(|v| v["store_links"][0]["url"] = "play store".into())),
            ("coverage_bands", Box::new(|v| v["coverage_bands"]["low_percent"] = 90.0.into())),
            ("coverage_bands", Box::new(|v| v["coverage_bands"]["high_percent"] = 101.0.into())),
            ("burst", Box::new(|v| v["burst"]["visits"] = 1.into())),
            ("burst", Box::new(|v| v["burst"]["seconds"] = 0.into())),
            ("burst", Box::new(|v| v["burst"]["metres"] = 0.0.into())),
            ("ends_on", Box::new(|v| v["ends_on"] = "2020-08-01".into())),
            ("malformed outcomes[0].reached", Box::new(|v| v["outcomes"][0]["reached"] = "yes".into())),
            ("malformed .", Box::new(|v| *v = serde_json::json!({"code": "x"}))),
        ];
        for (expected, change) in &cases {
            assert_eq!(field(refused(change.as_ref())), *expected);
        }
        // Malformed JSON says where.
        match Campaign::parse_file("{\n  \"code\": \"x\",\n  oops\n}") {
            Err(CampaignError::Malformed { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn campaign_round_trips_as_json() {
        let c = Campaign::bluezone();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Campaign>(&json).unwrap(), c);
        // A campaign written before the accuracy threshold existed reads with the default.
        let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
        old.as_object_mut().unwrap().remove("accuracy_threshold_m");
        let read: Campaign = serde_json::from_value(old).unwrap();
        assert_eq!(read.accuracy_threshold_m, DEFAULT_ACCURACY_THRESHOLD_M);
    }

    #[test]
    fn a_household_is_due_again_after_its_outcomes_hours() {
        let c = Campaign::parse_file(include_str!("../../../tests/data/pc-covid-2021.json")).unwrap();
        let visited = 1_600_000_000_000;
        let h = 3_600_000;
        // Come back later: 48 hours.
        assert_eq!(c.revisit_due_at_ms(Some("hen_lai"), Some(visited)), Some(visited + 48 * h));
        assert!(!c.revisit_due(Some("hen_lai"), Some(visited), visited + 48 * h - 1));
        assert!(c.revisit_due(Some("hen_lai"), Some(visited), visited + 48 * h));
        // Nobody met: at once.
        assert!(c.revisit_due(Some("khong_gap"), Some(visited), visited));
        // Installed, not visited, or an outcome of another campaign: never.
        assert_eq!(c.revisit_due_at_ms(Some("cai_moi"), Some(visited)), None);
        assert_eq!(c.revisit_due_at_ms(None, None), None);
        assert_eq!(c.revisit_due_at_ms(Some("not_home"), Some(visited)), None);
        // Held without its visit's time: due at once.
        assert!(c.revisit_due(Some("hen_lai"), None, 48 * h));
    }
}
