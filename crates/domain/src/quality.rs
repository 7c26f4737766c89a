//! Data-quality rules for visits: when a stored visit is flagged for a leader to check, and when
//! a phone counts as out of touch. Pure decisions over numbers; the server supplies what it holds
//! (the household's known location, the area's boundary, the volunteer's earlier visits).
//!
//! A flag never refuses a visit (it happened); it only asks a person to look.

use serde::{Deserialize, Serialize};

use crate::Campaign;

/// How close, in metres, a visit must be to its household's known location.
pub const FAR_FROM_HOUSEHOLD_M: f64 = 100.0;
/// Faster than this between two visits (km/h) is no walk and no motorbike ride in a town.
pub const MAX_PLAUSIBLE_SPEED_KMH: f64 = 60.0;
/// Jumps shorter than this (metres) are never called a speed: two GPS fixes at neighbouring doors,
/// each up to the accuracy threshold off, can lie this far apart seconds after each other.
pub const MIN_SPEED_DISTANCE_M: f64 = 200.0;
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
    /// One of several visits to different households recorded from one spot within seconds
    /// (the campaign's `burst` rule): what visits made up at a table look like. A quick honest
    /// walk moves from door to door and is not flagged.
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
            Flag::Burst => ("Nhiều hộ ghi từ một chỗ", "Several households from one spot"),
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
    pub burst: BurstRule,
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
            burst: BurstRule::default(),
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
            burst: campaign.burst,
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

/// The new visits of one volunteer that are judged, as indexes into `new` in time order (ties by
/// id, so every database and every arrival order agree). `latest` is the volunteer's latest visit
/// held before them. A new visit that is not later than it arrived after a later one (a second
/// phone synced late, a clock set back, or the same visit sent again): what came just before it
/// is not known without reading the volunteer's whole history, so it is not judged (no flag
/// rather than a wrong one).
pub fn judged_order(latest: Option<TrailPoint>, new: &[TrailPoint]) -> Vec<usize> {
    let key = |p: &TrailPoint| (p.at_ms, p.id);
    let mut order: Vec<usize> = (0..new.len()).filter(|&i| latest.is_none_or(|l| key(&new[i]) > key(&l))).collect();
    order.sort_by_key(|&i| key(&new[i]));
    order
}

/// The implausible-speed flag of each of one volunteer's new visits, in `new`'s order: each judged
/// visit ([`judged_order`]) is compared with the visit just before it (the latest held, or
/// another new one).
pub fn speed_flags(rules: &QualityRules, latest: Option<TrailPoint>, new: &[TrailPoint]) -> Vec<bool> {
    let mut out = vec![false; new.len()];
    let mut previous = latest;
    for i in judged_order(latest, new) {
        let this = new[i];
        if let Some(prev) = previous {
            out[i] = match (prev.point, this.point) {
                (Some(a), Some(b)) => rules.implausible_speed(a, prev.at_ms, b, this.at_ms),
                _ => false,
            };
        }
        previous = Some(this);
    }
    out
}

/// The campaign's rule for `burst`: this many visits or more, to different households, each
/// within `seconds` of the one before, all within `metres` of where the run's visits were recorded
/// on average. Someone filling the form again and again at one table does that; a volunteer
/// walking a street moves a door's width (ten metres or more) between visits and takes longer
/// than that at a door, however quick.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BurstRule {
    pub visits: u32,
    pub seconds: u32,
    pub metres: f64,
}

impl Default for BurstRule {
    fn default() -> Self {
        // Three households: two may share a house. 30 s: a knock, a wait and a "not at home"
        // with the walk to the next door take longer. 6 m: GPS on a phone held still wanders
        // less; neighbouring doors are further apart.
        BurstRule { visits: 3, seconds: 30, metres: 6.0 }
    }
}

/// A visit as the `burst` rule sees it: the server's number for it (to flag it later), its
/// household, its time and where it was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpotVisit {
    pub seq: i64,
    pub household: uuid::Uuid,
    pub at_ms: i64,
    pub lat: f64,
    pub lon: f64,
}

/// A volunteer's latest visits from one spot, kept between batches so that a run is seen
/// whichever batches its visits came in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpotRun {
    /// The run's visits in time order until it is flagged; then only its latest.
    pub visits: Vec<SpotVisit>,
    /// The run reached the rule's count: its visits were flagged, and each that joins it is.
    pub flagged: bool,
    /// The sums of its visits' latitudes and longitudes, and how many: its centre.
    pub sum: (f64, f64),
    pub count: u32,
}

impl SpotRun {
    /// The longest run kept unflagged (visits to the same few households over and over).
    const MAX_KEPT: usize = 64;

    fn start(visit: SpotVisit) -> SpotRun {
        SpotRun { visits: vec![visit], flagged: false, sum: (visit.lat, visit.lon), count: 1 }
    }

    /// Adds the volunteer's next visit (in time order); returns the visits to flag now: the whole
    /// run when this visit brings it to the rule's count, this one when the run is flagged already.
    pub fn extend(&mut self, rule: &BurstRule, visit: SpotVisit) -> Vec<i64> {
        let joins = self.visits.last().is_some_and(|last| {
            let centre = (self.sum.0 / f64::from(self.count), self.sum.1 / f64::from(self.count));
            (0..=i64::from(rule.seconds) * 1000).contains(&(visit.at_ms - last.at_ms))
                && distance_m(centre, (visit.lat, visit.lon)) <= rule.metres
        });
        if !joins || (!self.flagged && self.visits.len() >= Self::MAX_KEPT) {
            *self = SpotRun::start(visit);
            return Vec::new();
        }
        self.sum = (self.sum.0 + visit.lat, self.sum.1 + visit.lon);
        self.count += 1;
        if self.flagged {
            self.visits = vec![visit];
            return vec![visit.seq];
        }
        self.visits.push(visit);
        let mut households: Vec<uuid::Uuid> = self.visits.iter().map(|v| v.household).collect();
        households.sort();
        households.dedup();
        if households.len() < rule.visits.max(2) as usize {
            return Vec::new();
        }
        self.flagged = true;
        let all = self.visits.iter().map(|v| v.seq).collect();
        self.visits = vec![visit];
        all
    }

    /// A visit without a location: no spot to compare, so the run ends.
    pub fn interrupt(&mut self) {
        *self = SpotRun::default();
    }
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
    fn speed_between_two_visits() {
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
    }

    #[test]
    fn each_new_visit_is_compared_with_the_one_just_before_it() {
        let r = QualityRules::default();
        let far = north(NAM_HA, 5_000.0);
        let latest = at(1, 0, Some(NAM_HA));
        let new = [
            // Arrives first but happened last: its neighbour before it is the one at 80 s.
            at(5, 600, Some(north(NAM_HA, 40.0))),
            // 20 s after the held one, next door.
            at(3, 20, Some(north(NAM_HA, 20.0))),
            // 5 km a minute after that: too fast.
            at(4, 80, Some(far)),
        ];
        // From `far` at 80 s to Nam Hà at 600 s: 5 km in under 9 minutes, 35 km/h.
        assert_eq!(speed_flags(&r, Some(latest), &new), [false, false, true]);
        assert_eq!(judged_order(Some(latest), &new), [1, 2, 0]);
        assert_eq!(newest(Some(latest), &new), Some(new[0]));
        assert_eq!(newest(None, &[]), None);
    }

    #[test]
    fn the_first_visit_and_visits_without_a_location_are_not_judged_on_speed() {
        let r = QualityRules::default();
        let new = [at(2, 0, Some(NAM_HA)), at(3, 10, None), at(4, 11, Some(north(NAM_HA, 5_000.0)))];
        assert_eq!(speed_flags(&r, None, &new), [false; 3]);
    }

    #[test]
    fn a_visit_arriving_after_a_later_one_is_not_judged() {
        let r = QualityRules::default();
        let latest = at(9, 3_600, Some(NAM_HA));
        // Both happened before the latest held visit: what lay between is not known here, even
        // though they are 10 s and 5 km apart.
        let late = [at(2, 0, Some(NAM_HA)), at(3, 10, Some(north(NAM_HA, 5_000.0)))];
        assert_eq!(speed_flags(&r, Some(latest), &late), [false; 2]);
        assert!(judged_order(Some(latest), &late).is_empty());
        assert_eq!(newest(Some(latest), &late), Some(latest), "the latest stays");
        // The same visit sent again is no neighbour of itself.
        assert!(judged_order(Some(latest), &[latest]).is_empty());
    }

    #[test]
    fn ties_in_time_go_by_id_whatever_the_order() {
        let (a, b) = (at(8, 0, Some(NAM_HA)), at(9, 0, Some(NAM_HA)));
        assert_eq!(judged_order(None, &[b, a]), [1, 0]);
        assert_eq!(judged_order(Some(a), &[b]), [0]);
        assert!(judged_order(Some(b), &[a]).is_empty(), "a is not after b");
    }

    /// A small deterministic generator (no dependency for a test): uniform in [0, 1).
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }

        /// About normal, mean 0, standard deviation `sd` (the sum of twelve uniforms).
        fn normal(&mut self, sd: f64) -> f64 {
            ((0..12).map(|_| self.next()).sum::<f64>() - 6.0) * sd
        }
    }

    /// Runs the rule over one volunteer's visits in order; the visits flagged.
    fn flagged(rule: &BurstRule, visits: &[SpotVisit]) -> Vec<i64> {
        let mut run = SpotRun::default();
        let mut out: Vec<i64> = visits.iter().flat_map(|v| run.extend(rule, *v)).collect();
        out.sort();
        out.dedup();
        out
    }

    fn spot(seq: i64, household: u128, seconds: i64, (lat, lon): (f64, f64)) -> SpotVisit {
        SpotVisit {
            seq,
            household: uuid::Uuid::from_u128(household),
            at_ms: 1_596_420_000_000 + seconds * 1000,
            lat,
            lon,
        }
    }

    /// A metres east of `from` (a degree of longitude at 18.3° N is about 105.6 km).
    fn east(from: (f64, f64), metres: f64) -> (f64, f64) {
        (from.0, from.1 + metres / 105_560.0)
    }

    #[test]
    fn a_quick_honest_walk_down_a_street_is_not_flagged() {
        // 300 doors down a street, 9 to 15 m apart, visited 15 to 40 s apart (a door nobody
        // answers takes seconds), each fix off by about 4 m (either way, north and east); now and
        // then two households share a house (the same door, 40 s later).
        let rule = BurstRule::default();
        let mut noise = Noise(20_200_804);
        let (mut along, mut t) = (0.0, 0.0);
        let mut walk = Vec::new();
        for n in 0..300 {
            let shared = n > 0 && noise.next() < 0.1;
            if shared {
                t += 40.0;
            } else {
                along += 9.0 + 6.0 * noise.next();
                t += 15.0 + 25.0 * noise.next();
            }
            let (e, s) = (along + noise.normal(4.0), noise.normal(4.0));
            walk.push(spot(n, n as u128 + 1, t as i64, north(east(NAM_HA, e), s)));
        }
        let got = flagged(&rule, &walk);
        eprintln!("a quick honest walk: {} of {} visits flagged", got.len(), walk.len());
        assert!(got.len() * 100 < walk.len() * 2, "{} of {} flagged: {got:?}", got.len(), walk.len());
    }

    #[test]
    fn visits_made_up_at_one_table_are_all_flagged() {
        // Ten households "visited" 8 to 20 s apart without moving: the fix of a phone held still
        // drifts, here by about 0.7 m each way from one fix to the next.
        let rule = BurstRule::default();
        let mut noise = Noise(7);
        let (mut t, mut drift) = (3_600.0, (0.0, 0.0));
        let made_up: Vec<SpotVisit> = (0..10)
            .map(|n| {
                t += 8.0 + 12.0 * noise.next();
                drift = (drift.0 + noise.normal(0.7), drift.1 + noise.normal(0.7));
                spot(100 + n, 500 + n as u128, t as i64, north(east(NAM_HA, drift.0), drift.1))
            })
            .collect();
        assert_eq!(flagged(&rule, &made_up), (100..110).collect::<Vec<_>>());
    }

    #[test]
    fn a_run_is_flagged_whole_when_it_reaches_the_count_across_batches() {
        let rule = BurstRule::default();
        let mut run = SpotRun::default();
        // Two households from one spot: nothing yet (two may share a house).
        assert!(run.extend(&rule, spot(1, 1, 0, NAM_HA)).is_empty());
        assert!(run.extend(&rule, spot(2, 2, 20, north(NAM_HA, 3.0))).is_empty());
        // Kept between batches as JSON, the third flags all three.
        let mut run: SpotRun = serde_json::from_str(&serde_json::to_string(&run).unwrap()).unwrap();
        assert_eq!(run.extend(&rule, spot(3, 3, 40, north(NAM_HA, 1.0))), [1, 2, 3]);
        // The run goes on: each that joins is flagged, and only its latest is kept.
        assert_eq!(run.extend(&rule, spot(4, 4, 55, NAM_HA)), [4]);
        assert_eq!(run.visits.iter().map(|v| v.seq).collect::<Vec<_>>(), [4]);
        // Too late (over 30 s after the last), too far (over 6 m from the centre), no location,
        // or the same household again and again: each ends the run or makes none.
        assert!(run.extend(&rule, spot(5, 5, 100, NAM_HA)).is_empty(), "45 s later");
        assert!(run.extend(&rule, spot(6, 6, 110, north(NAM_HA, 12.0))).is_empty(), "next door");
        assert!(run.extend(&rule, spot(7, 7, 120, north(NAM_HA, 12.0))).is_empty());
        run.interrupt();
        assert!(run.extend(&rule, spot(8, 8, 125, north(NAM_HA, 12.0))).is_empty(), "after a visit without a fix");
        let mut same = SpotRun::default();
        for n in 0..5 {
            assert!(same.extend(&rule, spot(20 + n, 9, 300 + n * 10, NAM_HA)).is_empty(), "one household, seen again");
        }
        // The rule is the campaign's: with two households, two from one spot are a run.
        let strict = BurstRule { visits: 2, ..rule };
        let mut run = SpotRun::default();
        assert!(run.extend(&strict, spot(30, 30, 0, NAM_HA)).is_empty());
        assert_eq!(run.extend(&strict, spot(31, 31, 10, NAM_HA)), [30, 31]);
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
