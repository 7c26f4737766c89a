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
}

impl Campaign {
    pub fn outcome(&self, code: &str) -> Option<&OutcomeDef> {
        self.outcomes.iter().find(|o| o.code == code)
    }

    /// Vietnam's August 2020 campaign to install Bluezone, the COVID-19 contact-tracing app.
    pub fn bluezone() -> Campaign {
        fn o(code: &str, vi: &str, en: &str, reached: bool, revisit: bool) -> OutcomeDef {
            OutcomeDef {
                code: code.into(),
                label: Messages {
                    vi: vi.into(),
                    en: en.into(),
                },
                reached,
                revisit,
                requires_reason: false,
                requires_installed_now: false,
                requires_already_installed: false,
                requires_no_smartphone: false,
            }
        }
        let mut installed_now = o("installed_now", "Đã cài ngay", "Installed now", true, false);
        installed_now.requires_installed_now = true;
        let mut already = o("already_installed", "Đã cài từ trước", "Already installed", true, false);
        already.requires_already_installed = true;
        let mut refused = o("refused", "Từ chối", "Refused", true, true);
        refused.requires_reason = true;
        let mut no_phone = o(
            "no_smartphone",
            "Không có điện thoại thông minh",
            "No smartphone",
            true,
            false,
        );
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
                o(
                    "unsupported_phone",
                    "Máy không hỗ trợ",
                    "Phone not supported",
                    true,
                    false,
                ),
                o("partial", "Cài được một phần", "Some phones done", true, true),
            ],
            max_people: 60,
            max_smartphones: 60,
            accuracy_threshold_m: DEFAULT_ACCURACY_THRESHOLD_M,
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
        assert!(c.outcome("nope").is_none());
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
}
