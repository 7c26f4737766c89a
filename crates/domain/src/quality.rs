//! Data-quality rules for visits: when a stored visit is flagged for a leader to check, and when
//! a phone counts as out of touch. Pure decisions over numbers; the server supplies what it holds
//! (the household's known location, the area's boundary, the volunteer's earlier visits).
//!
//! A flag never refuses a visit (it happened); it only asks a person to look.

use crate::Campaign;

/// How close, in metres, a visit must be to its household's known location.
pub const FAR_FROM_HOUSEHOLD_M: f64 = 100.0;
/// Faster than this between two visits (km/h) is no walk and no motorbike ride in a town.
pub const MAX_PLAUSIBLE_SPEED_KMH: f64 = 60.0;
/// Jumps shorter than this (metres) are never called a speed: two GPS fixes at neighbouring doors,
/// each up to the accuracy threshold off, can lie this far apart seconds after each other.
pub const MIN_SPEED_DISTANCE_M: f64 = 200.0;
/// Two visits by one volunteer closer in time than this (seconds) are too fast to be real: a
/// knock, the talk, the app installed and the form filled take longer.
pub const BURST_SECONDS: i64 = 30;
/// A phone that has not synced for longer than this (hours) is shown as stale.
pub const DEFAULT_STALE_HOURS: i64 = 24;
/// The longest stale threshold a request may ask for (hours): a month.
pub const MAX_STALE_HOURS: i64 = 720;

/// Why a leader should look at a visit. The codes are stable: they are stored and sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flag {
    /// The visit lies outside the areas assigned to its volunteer.
    OutsideAssignment,
    /// The visit names another volunteer than the one its phone was enrolled for.
    OtherVolunteer,
    /// The GPS accuracy is worse than the campaign's threshold.
    PoorAccuracy,
    /// The visit was recorded far from its household's known location.
    FarFromHousehold,
    /// The location lies outside the imported boundary of the visit's area.
    OutsideArea,
    /// Reaching it from the volunteer's previous visit would need an implausible speed.
    ImplausibleSpeed,
    /// It came too soon after the volunteer's previous visit.
    Burst,
    /// It was uploaded by a phone already revoked (lost, stolen, or handed back): stored like any
    /// other (nothing collected is lost), for the leader to judge.
    RevokedDevice,
    /// Another volunteer visited the same household within the campaign's `claim_hours` of this
    /// visit (both phones were offline, or one did not look): both visits are kept, since both
    /// happened; the leader sees the overlap.
    Overlap,
    /// The visit names a household held in another area: stored (it happened), shown to the
    /// leaders of both areas, and it changes nothing of that household (its area, latest outcome
    /// and figures stay its own area's).
    HouseholdInOtherArea,
}

impl Flag {
    /// Every flag, in the order a visit's flags are listed.
    pub const ALL: [Flag; 10] = [
        Flag::OutsideAssignment,
        Flag::OtherVolunteer,
        Flag::PoorAccuracy,
        Flag::FarFromHousehold,
        Flag::OutsideArea,
        Flag::ImplausibleSpeed,
        Flag::Burst,
        Flag::RevokedDevice,
        Flag::Overlap,
        Flag::HouseholdInOtherArea,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Flag::OutsideAssignment => "outside_assignment",
            Flag::OtherVolunteer => "other_volunteer",
            Flag::PoorAccuracy => "poor_accuracy",
            Flag::FarFromHousehold => "far_from_household",
            Flag::OutsideArea => "outside_area",
            Flag::ImplausibleSpeed => "implausible_speed",
            Flag::Burst => "burst",
            Flag::RevokedDevice => "revoked_device",
            Flag::Overlap => "overlap",
            Flag::HouseholdInOtherArea => "household_in_other_area",
        }
    }

    /// The flag's name as people read it (in reports), in the dashboard's words.
    pub fn title(self, lang: crate::Lang) -> &'static str {
        let (vi, en) = match self {
            Flag::OutsideAssignment => ("Ngoài địa bàn được giao", "Outside the assignment"),
            Flag::OtherVolunteer => ("Khác người", "Another person"),
            Flag::PoorAccuracy => ("Vị trí kém chính xác", "Poor accuracy"),
            Flag::FarFromHousehold => ("Xa hộ", "Far from the household"),
            Flag::OutsideArea => ("Ngoài ranh giới", "Outside the area"),
            Flag::ImplausibleSpeed => ("Di chuyển quá nhanh", "Implausible speed"),
            Flag::Burst => ("Quá dồn dập", "Too fast"),
            Flag::RevokedDevice => ("Gửi từ điện thoại đã bị thu hồi", "Sent by a revoked phone"),
            Flag::Overlap => ("Hai tình nguyện viên cùng thăm", "Two volunteers visited"),
            Flag::HouseholdInOtherArea => ("Hộ của địa bàn khác", "Household of another area"),
        };
        match lang {
            crate::Lang::Vi => vi,
            crate::Lang::En => en,
        }
    }

    pub fn parse(code: &str) -> Option<Flag> {
        Flag::ALL.into_iter().find(|f| f.code() == code.trim())
    }

    /// Flags as stored: their codes, comma-separated, in [`Flag::ALL`]'s order; `None` for none.
    pub fn join(flags: &[Flag]) -> Option<String> {
        let mut sorted = flags.to_vec();
        sorted.sort();
        sorted.dedup();
        (!sorted.is_empty()).then(|| sorted.iter().map(|f| f.code()).collect::<Vec<_>>().join(","))
    }
}

/// The thresholds the rules use; the campaign sets the accuracy, the rest are the constants above.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityRules {
    pub accuracy_m: f64,
    pub far_from_household_m: f64,
    pub max_speed_kmh: f64,
    pub min_speed_distance_m: f64,
    pub burst_ms: i64,
    /// The campaign's `claim_hours`, in ms: two volunteers' visits to one household closer in
    /// time than this overlap.
    pub claim_ms: i64,
}

impl Default for QualityRules {
    fn default() -> Self {
        QualityRules {
            accuracy_m: crate::campaign::DEFAULT_ACCURACY_THRESHOLD_M,
            far_from_household_m: FAR_FROM_HOUSEHOLD_M,
            max_speed_kmh: MAX_PLAUSIBLE_SPEED_KMH,
            min_speed_distance_m: MIN_SPEED_DISTANCE_M,
            burst_ms: BURST_SECONDS * 1000,
            claim_ms: i64::from(crate::claim::DEFAULT_CLAIM_HOURS) * 3_600_000,
        }
    }
}

/// Metres between two (lat, lon) points on a sphere of the Earth's mean radius (haversine): at
/// the distances here (metres to tens of kilometres) within a fraction of a percent.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.1 - a.1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

impl QualityRules {
    pub fn for_campaign(campaign: &Campaign) -> QualityRules {
        QualityRules {
            accuracy_m: campaign.accuracy_threshold_m,
            far_from_household_m: campaign.far_from_household_m,
            claim_ms: i64::from(campaign.claim_hours) * 3_600_000,
            ..QualityRules::default()
        }
    }

    /// A visit by `volunteer` at `at_ms` overlaps the household's visit held before it (by
    /// receive order: its volunteer and time) when another volunteer made that one within the
    /// claim window, before or after: the two went to one door while it was claimed.
    pub fn overlaps(&self, held: Option<(uuid::Uuid, i64)>, volunteer: uuid::Uuid, at_ms: i64) -> bool {
        held.is_some_and(|(other, other_ms)| {
            other != volunteer && at_ms.abs_diff(other_ms) < self.claim_ms.unsigned_abs()
        })
    }

    /// A fix worse than the threshold. A location without an accuracy (a pin set by hand) is
    /// not a GPS fix and is not judged here.
    pub fn poor_accuracy(&self, accuracy_m: Option<f64>) -> bool {
        accuracy_m.is_some_and(|a| a > self.accuracy_m)
    }

    /// The visit's location is further than the limit from the household's known location.
    pub fn far_from_household(&self, at: (f64, f64), household: (f64, f64)) -> bool {
        distance_m(at, household) > self.far_from_household_m
    }

    /// Outside the area's boundary by more than the fix's own error: a visit to a house on the
    /// boundary street, recorded a few metres outside, is not a visit elsewhere.
    pub fn outside_area(&self, inside: bool, metres_outside: f64, accuracy_m: Option<f64>) -> bool {
        !inside && metres_outside > accuracy_m.unwrap_or(0.0)
    }

    /// Too little time since the previous visit.
    pub fn burst(&self, previous_ms: i64, at_ms: i64) -> bool {
        at_ms - previous_ms < self.burst_ms
    }

    /// The speed needed to come from the previous visit exceeds the plausible one. Both visits at
    /// the same instant but apart count as infinitely fast.
    pub fn implausible_speed(&self, from: (f64, f64), from_ms: i64, to: (f64, f64), to_ms: i64) -> bool {
        let d = distance_m(from, to);
        if d <= self.min_speed_distance_m {
            return false;
        }
        let seconds = (to_ms - from_ms).abs() as f64 / 1000.0;
        seconds == 0.0 || d / seconds * 3.6 > self.max_speed_kmh
    }
}

/// A visit as the motion rules see it: its id (to order visits at the same instant), its time
/// and its location, if it has one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrailPoint {
    pub id: uuid::Uuid,
    pub at_ms: i64,
    pub point: Option<(f64, f64)>,
}

/// What the motion rules say of one new visit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Motion {
    pub burst: bool,
    pub implausible_speed: bool,
}

/// The motion flags of one volunteer's new visits, one [`Motion`] per visit in `new`'s order.
/// `latest` is the volunteer's latest visit held before them (by time, ties by id, so every
/// database and every arrival order agree). A new visit later than it is compared with the visit
/// just before it: that latest one, or another new one. A new visit that is not later arrived
/// after a later one (a second phone synced late, a clock set back, or the same visit sent
/// again): what came just before it is not known without reading the volunteer's whole history,
/// so it is not judged (no flag rather than a wrong one).
pub fn motion_flags(rules: &QualityRules, latest: Option<TrailPoint>, new: &[TrailPoint]) -> Vec<Motion> {
    let key = |p: &TrailPoint| (p.at_ms, p.id);
    let mut order: Vec<usize> = (0..new.len()).filter(|&i| latest.is_none_or(|l| key(&new[i]) > key(&l))).collect();
    order.sort_by_key(|&i| key(&new[i]));
    let mut out = vec![Motion::default(); new.len()];
    let mut previous = latest;
    for i in order {
        let this = new[i];
        if let Some(prev) = previous {
            out[i] = Motion {
                burst: rules.burst(prev.at_ms, this.at_ms),
                implausible_speed: match (prev.point, this.point) {
                    (Some(a), Some(b)) => rules.implausible_speed(a, prev.at_ms, b, this.at_ms),
                    _ => false,
                },
            };
        }
        previous = Some(this);
    }
    out
}

/// The volunteer's latest visit once `new` are held too: what to keep for the next batch.
pub fn newest(latest: Option<TrailPoint>, new: &[TrailPoint]) -> Option<TrailPoint> {
    latest.into_iter().chain(new.iter().copied()).max_by_key(|p| (p.at_ms, p.id))
}

/// A phone is stale when it is live (not revoked) and has not synced for longer than the
/// threshold, or never has. A revoked phone is expected to be silent.
pub fn is_stale(last_sync_ms: Option<i64>, revoked: bool, now_ms: i64, stale_after_hours: i64) -> bool {
    !revoked && last_sync_ms.is_none_or(|t| now_ms - t > stale_after_hours * 3_600_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAM_HA: (f64, f64) = (18.3420, 105.9050);

    /// A point `metres` north of `from` (a degree of latitude is about 111.2 km).
    fn north(from: (f64, f64), metres: f64) -> (f64, f64) {
        (from.0 + metres / 111_195.0, from.1)
    }

    fn at(id: u128, seconds: i64, point: Option<(f64, f64)>) -> TrailPoint {
        TrailPoint { id: uuid::Uuid::from_u128(id), at_ms: 1_596_420_000_000 + seconds * 1000, point }
    }

    #[test]
    fn distances_match_known_ones() {
        // One degree of latitude; Hà Tĩnh city to Hồng Lĩnh, 0.1902° north and 0.1957° west:
        // 21.15 km and 20.65 km on a flat map at that latitude, so about 29.56 km.
        assert!((distance_m((18.0, 105.0), (19.0, 105.0)) - 111_195.0).abs() < 5.0);
        let d = distance_m((18.3428, 105.9057), (18.5330, 105.7100));
        assert!((29_450.0..29_650.0).contains(&d), "{d}");
        assert_eq!(distance_m(NAM_HA, NAM_HA), 0.0);
        assert!((distance_m(NAM_HA, north(NAM_HA, 500.0)) - 500.0).abs() < 1.0);
    }

    #[test]
    fn two_volunteers_at_one_door_within_the_claim_window_overlap() {
        let rules = QualityRules::for_campaign(&Campaign::bluezone());
        let (lan, minh) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
        let h = 3_600_000;
        // Minh's visit arrives after Lan's, made an hour later or an hour earlier.
        assert!(rules.overlaps(Some((lan, 10 * h)), minh, 11 * h));
        assert!(rules.overlaps(Some((lan, 10 * h)), minh, 9 * h));
        // Lan again, nobody before, or after Lan's claim ran out (72 h): no overlap.
        assert!(!rules.overlaps(Some((lan, 10 * h)), lan, 11 * h));
        assert!(!rules.overlaps(None, minh, 11 * h));
        assert!(!rules.overlaps(Some((lan, 10 * h)), minh, 82 * h));
        assert!(rules.overlaps(Some((lan, 10 * h)), minh, 82 * h - 1));
    }

    #[test]
    fn accuracy_is_judged_against_the_campaigns_threshold() {
        let rules = QualityRules::for_campaign(&Campaign::bluezone());
        assert_eq!(rules.accuracy_m, 50.0);
        assert!(rules.poor_accuracy(Some(80.0)));
        assert!(rules.poor_accuracy(Some(50.1)));
        assert!(!rules.poor_accuracy(Some(50.0)), "at the threshold is good enough");
        assert!(!rules.poor_accuracy(Some(8.0)));
        assert!(!rules.poor_accuracy(None), "a pin set by hand has no accuracy");
        let mut strict = Campaign::bluezone();
        strict.accuracy_threshold_m = 20.0;
        assert!(QualityRules::for_campaign(&strict).poor_accuracy(Some(30.0)));
    }

    #[test]
    fn a_visit_far_from_its_household_is_flagged() {
        let rules = QualityRules::default();
        assert!(rules.far_from_household(north(NAM_HA, 500.0), NAM_HA));
        assert!(!rules.far_from_household(north(NAM_HA, 90.0), NAM_HA));
        assert!(!rules.far_from_household(NAM_HA, NAM_HA));
    }

    #[test]
    fn outside_the_boundary_means_beyond_the_fixs_own_error() {
        let rules = QualityRules::default();
        assert!(rules.outside_area(false, 2_000.0, Some(10.0)));
        assert!(!rules.outside_area(false, 8.0, Some(10.0)), "within its error of the line");
        assert!(rules.outside_area(false, 8.0, None));
        assert!(!rules.outside_area(true, 0.0, None));
    }

    #[test]
    fn speed_and_burst_between_two_visits() {
        let r = QualityRules::default();
        let t0 = 1_596_420_000_000;
        // 5 km in a minute is 300 km/h.
        assert!(r.implausible_speed(NAM_HA, t0, north(NAM_HA, 5_000.0), t0 + 60_000));
        // 5 km in ten minutes is 30 km/h: a motorbike.
        assert!(!r.implausible_speed(NAM_HA, t0, north(NAM_HA, 5_000.0), t0 + 600_000));
        // Next door, seconds later, with GPS noise: no speed is inferred from 150 m.
        assert!(!r.implausible_speed(NAM_HA, t0, north(NAM_HA, 150.0), t0 + 5_000));
        // Apart at the same instant.
        assert!(r.implausible_speed(NAM_HA, t0, north(NAM_HA, 300.0), t0));
        assert!(r.burst(t0, t0 + 20_000));
        assert!(r.burst(t0, t0));
        assert!(!r.burst(t0, t0 + 30_000), "30 s is enough");
        assert!(!r.burst(t0, t0 + 120_000));
    }

    #[test]
    fn each_new_visit_is_compared_with_the_one_just_before_it() {
        let r = QualityRules::default();
        let far = north(NAM_HA, 5_000.0);
        let latest = at(1, 0, Some(NAM_HA));
        let new = [
            // Arrives first but happened last: its neighbour before it is the one at 80 s.
            at(5, 600, Some(north(NAM_HA, 40.0))),
            // 20 s after the held one, next door: a burst.
            at(3, 20, Some(north(NAM_HA, 20.0))),
            // 5 km a minute after that: too fast (and not a burst).
            at(4, 80, Some(far)),
        ];
        let got = motion_flags(&r, Some(latest), &new);
        assert_eq!(
            got,
            [
                // From `far` at 80 s to Nam Hà at 600 s: 5 km in under 9 minutes, 35 km/h.
                Motion::default(),
                Motion { burst: true, implausible_speed: false },
                Motion { burst: false, implausible_speed: true },
            ]
        );
        assert_eq!(newest(Some(latest), &new), Some(new[0]));
        assert_eq!(newest(None, &[]), None);
    }

    #[test]
    fn the_first_visit_and_visits_without_a_location_are_judged_on_time_only() {
        let r = QualityRules::default();
        let new = [at(2, 0, Some(NAM_HA)), at(3, 10, None), at(4, 3_600, Some(NAM_HA))];
        assert_eq!(
            motion_flags(&r, None, &new),
            [Motion::default(), Motion { burst: true, implausible_speed: false }, Motion::default()]
        );
    }

    #[test]
    fn a_visit_arriving_after_a_later_one_is_not_judged() {
        let r = QualityRules::default();
        let latest = at(9, 3_600, Some(NAM_HA));
        // Both happened before the latest held visit: what lay between is not known here, even
        // though they are 10 s and 5 km apart.
        let late = [at(2, 0, Some(NAM_HA)), at(3, 10, Some(north(NAM_HA, 5_000.0)))];
        assert_eq!(motion_flags(&r, Some(latest), &late), [Motion::default(); 2]);
        assert_eq!(newest(Some(latest), &late), Some(latest), "the latest stays");
        // The same visit sent again is no neighbour of itself.
        assert_eq!(motion_flags(&r, Some(latest), &[latest]), [Motion::default()]);
    }

    #[test]
    fn ties_in_time_go_by_id_whatever_the_order() {
        let r = QualityRules::default();
        let (a, b) = (at(8, 0, Some(NAM_HA)), at(9, 0, Some(NAM_HA)));
        let burst = Motion { burst: true, implausible_speed: false };
        assert_eq!(motion_flags(&r, None, &[b, a]), [burst, Motion::default()]);
        assert_eq!(motion_flags(&r, Some(a), &[b]), [burst]);
        assert_eq!(motion_flags(&r, Some(b), &[a]), [Motion::default()], "a is not after b");
    }

    #[test]
    fn flags_are_stored_in_one_order_once_each() {
        assert_eq!(Flag::join(&[Flag::Burst, Flag::PoorAccuracy, Flag::Burst]).as_deref(), Some("poor_accuracy,burst"));
        assert_eq!(Flag::join(&[]), None);
        for f in Flag::ALL {
            assert_eq!(Flag::parse(f.code()), Some(f));
        }
        assert_eq!(Flag::parse("nope"), None);
    }

    #[test]
    fn a_phone_is_stale_after_the_threshold_unless_revoked() {
        let now = 1_596_500_000_000;
        let hour = 3_600_000;
        assert!(!is_stale(Some(now - 23 * hour), false, now, 24));
        assert!(is_stale(Some(now - 25 * hour), false, now, 24));
        assert!(!is_stale(Some(now - 25 * hour), false, now, 48));
        assert!(is_stale(None, false, now, 24), "never synced");
        assert!(!is_stale(None, true, now, 24), "revoked phones are silent by design");
    }
}
