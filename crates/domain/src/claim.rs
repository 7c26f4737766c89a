//! Claims: who covers which doors, so that no door is knocked twice.
//!
//! A household is *taken* by one volunteer at a time, for one of three reasons, strongest first:
//! 1. a leader gave them the household ([`ClaimDto`] with a `household_id`);
//! 2. a leader gave them the household's street in its area ([`ClaimDto`] with a `street_key`);
//! 3. they visited it: the volunteer of the household's latest visit holds it.
//!
//! Every claim runs out when its volunteer has recorded nothing in it for the campaign's
//! `claim_hours`: a leader's claim at `max(given, the holder's latest visit in it) + claim_hours`,
//! a visit's at the visit's time + `claim_hours`. A leader's hand-over releases the earlier claim
//! on the same household or street and gives a new one.
//!
//! The rules are here, pure, so that a phone (judging by its own clock, offline) and the server
//! (the leader's list) reach the same answer from the same facts: the claims, and each
//! household's address and latest visit (volunteer and time), which the pull carries.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::area::fold_for_search;
use crate::protocol::ClaimDto;

/// A claim runs out after this many hours without a visit recorded in it, unless the campaign
/// says otherwise: canvassing tools that lock doors to one canvasser lock them for some days.
pub const DEFAULT_CLAIM_HOURS: u32 = 72;

/// A street as claims name it: the first part of an address (up to a comma) without its house
/// number, e.g. "Trần Phú" of "Số 12 Trần Phú, P. Bắc Hà". A hamlet's address ("Xóm 3") is its
/// own street. `key` is what matches: folded (no diacritics, lower case), single-spaced, without
/// a leading "đường".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Street {
    pub name: String,
    pub key: String,
}

/// The street of an address; `None` for an address that is only a number, or empty.
pub fn street_of(address: &str) -> Option<Street> {
    let mut parts = address.split([',', ';', '\n']).map(str::trim).filter(|p| !p.is_empty());
    let mut name = without_number(parts.next()?);
    if name.is_empty() {
        // "Số 12, Trần Phú": the number stood alone; the street is the next part.
        name = without_number(parts.next()?);
    }
    let mut key_words: Vec<String> = name
        .split_whitespace()
        .map(|w| fold_for_search(w).trim_matches(['.', ',', '-']).to_string())
        .filter(|w| !w.is_empty())
        .collect();
    if key_words.len() > 1 && matches!(key_words[0].as_str(), "duong" | "d") {
        key_words.remove(0);
    }
    if key_words.is_empty() {
        return None;
    }
    Some(Street { name, key: key_words.join(" ") })
}

/// A part of an address without the house number that opens it, and the words before that
/// number ("số", "số nhà", "nhà số", "sn").
fn without_number(part: &str) -> String {
    let words: Vec<&str> = part.split_whitespace().collect();
    let folded: Vec<String> = words.iter().map(|w| fold_for_search(w)).collect();
    let mut i = 0;
    while i < words.len() && matches!(folded[i].trim_end_matches(['.', ':']), "so" | "nha" | "sn") {
        i += 1;
    }
    if i < words.len() && is_house_number(&folded[i]) {
        i += 1;
    } else {
        // Words before a number that is not there are part of the name ("Nhà văn hoá").
        i = 0;
    }
    words[i..].join(" ").trim_matches(|c: char| c == '-' || c == '.' || c == ':' || c.is_whitespace()).to_string()
}

/// "12", "12a", "12/3", "45-47", "k12/3", "12," : a token holding a digit, and no more than
/// one letter before it.
fn is_house_number(folded: &str) -> bool {
    let t = folded.trim_end_matches([',', '.', ':']);
    let Some(first_digit) = t.find(|c: char| c.is_ascii_digit()) else {
        return false;
    };
    first_digit <= 1 && t.chars().all(|c| c.is_alphanumeric() || matches!(c, '/' | '-' | '_'))
}

/// Why a volunteer holds a household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    /// A leader gave them this household.
    Household,
    /// A leader gave them the household's street.
    Street,
    /// They visited it.
    Visit,
}

/// Who holds a household now, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Holder {
    pub volunteer_id: String,
    /// The volunteer's username, where known.
    pub volunteer: Option<String>,
    /// When the claim runs out if they record nothing more in it (ms since 1970 UTC).
    pub until_ms: i64,
    pub kind: ClaimKind,
    /// The leader's claim, for kinds `household` and `street`.
    pub claim_id: Option<String>,
}

/// What the rules need to know of a household.
#[derive(Debug, Clone, Copy)]
pub struct HouseholdFacts<'a> {
    pub id: &'a str,
    pub area_code: &'a str,
    pub address: Option<&'a str>,
    pub latest_volunteer_id: Option<&'a str>,
    pub latest_volunteer: Option<&'a str>,
    pub latest_visited_at_ms: Option<i64>,
}

/// The claims in force over a set of households, with each claim's latest activity (the holder's
/// latest visit in it), ready to say who holds a household at a given time.
#[derive(Debug, Clone)]
pub struct ClaimBook {
    claim_ms: i64,
    /// Unreleased claims by household id, the latest given first.
    by_household: HashMap<String, Vec<Entry>>,
    /// Unreleased claims by (area code, street key), the latest given first.
    by_street: HashMap<(String, String), Vec<Entry>>,
}

#[derive(Debug, Clone)]
struct Entry {
    claim: ClaimDto,
    until_ms: i64,
}

impl ClaimBook {
    /// `claims` as held (released ones are passed over); `households`: every household the
    /// claims may cover, whose latest visits by a claim's holder keep it alive.
    pub fn new<'a>(
        claims: impl IntoIterator<Item = ClaimDto>, households: impl IntoIterator<Item = HouseholdFacts<'a>> + Clone,
        claim_hours: u32,
    ) -> ClaimBook {
        let claim_ms = i64::from(claim_hours) * 3_600_000;
        let mut by_household: HashMap<String, Vec<Entry>> = HashMap::new();
        let mut by_street: HashMap<(String, String), Vec<Entry>> = HashMap::new();
        for claim in claims.into_iter().filter(|c| c.released_at_ms.is_none()) {
            let entry = Entry { until_ms: claim.created_at_ms.saturating_add(claim_ms), claim };
            if let Some(h) = &entry.claim.household_id {
                by_household.entry(h.clone()).or_default().push(entry);
            } else if let Some(k) = &entry.claim.street_key {
                by_street.entry((entry.claim.area_code.clone(), k.clone())).or_default().push(entry);
            }
        }
        // A visit by the holder keeps the claim alive: until that visit + claim_hours.
        for h in households {
            let (Some(v), Some(at)) = (h.latest_volunteer_id, h.latest_visited_at_ms) else {
                continue;
            };
            let renew = |entries: &mut Vec<Entry>| {
                for e in entries.iter_mut().filter(|e| e.claim.volunteer_id == v) {
                    e.until_ms = e.until_ms.max(at.saturating_add(claim_ms));
                }
            };
            if let Some(entries) = by_household.get_mut(h.id) {
                renew(entries);
            }
            // Most areas have no street claims: no address is read for them.
            if !by_street.is_empty()
                && let Some(street) = h.address.and_then(street_of)
                && let Some(entries) = by_street.get_mut(&(h.area_code.to_string(), street.key))
            {
                renew(entries);
            }
        }
        for entries in by_household.values_mut().chain(by_street.values_mut()) {
            entries.sort_by(|a, b| (b.claim.created_at_ms, &b.claim.id).cmp(&(a.claim.created_at_ms, &a.claim.id)));
        }
        ClaimBook { claim_ms, by_household, by_street }
    }

    /// Who holds the household at `now_ms`; `None`: nobody, anyone may go.
    pub fn holder(&self, h: &HouseholdFacts<'_>, now_ms: i64) -> Option<Holder> {
        let live = |entries: Option<&Vec<Entry>>, kind| {
            entries?.iter().find(|e| e.until_ms > now_ms).map(|e| Holder {
                volunteer_id: e.claim.volunteer_id.clone(),
                volunteer: Some(e.claim.volunteer.clone()),
                until_ms: e.until_ms,
                kind,
                claim_id: Some(e.claim.id.clone()),
            })
        };
        if let Some(holder) = live(self.by_household.get(h.id), ClaimKind::Household) {
            return Some(holder);
        }
        if !self.by_street.is_empty()
            && let Some(street) = h.address.and_then(street_of)
            && let Some(holder) = live(self.by_street.get(&(h.area_code.to_string(), street.key)), ClaimKind::Street)
        {
            return Some(holder);
        }
        let (v, at) = (h.latest_volunteer_id?, h.latest_visited_at_ms?);
        let until_ms = at.saturating_add(self.claim_ms);
        (until_ms > now_ms).then(|| Holder {
            volunteer_id: v.to_string(),
            volunteer: h.latest_volunteer.map(str::to_string),
            until_ms,
            kind: ClaimKind::Visit,
            claim_id: None,
        })
    }

    /// When a leader's claim runs out (`None`: released, or not among those given).
    pub fn until_ms(&self, claim_id: &str) -> Option<i64> {
        self.by_household
            .values()
            .chain(self.by_street.values())
            .flatten()
            .find(|e| e.claim.id == claim_id)
            .map(|e| e.until_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn streets_are_addresses_without_their_house_numbers() {
        let cases = [
            ("12 Trần Phú", Some(("Trần Phú", "tran phu"))),
            ("Số 12, Trần Phú", Some(("Trần Phú", "tran phu"))),
            ("Số 12 Trần Phú, P. Bắc Hà", Some(("Trần Phú", "tran phu"))),
            ("số nhà 45A đường Trần Phú", Some(("đường Trần Phú", "tran phu"))),
            ("12/3 Nguyễn Du", Some(("Nguyễn Du", "nguyen du"))),
            ("K12/3 Nguyễn Du", Some(("Nguyễn Du", "nguyen du"))),
            ("45-47  Hà Huy Tập", Some(("Hà Huy Tập", "ha huy tap"))),
            ("Xóm 3, thôn Đông", Some(("Xóm 3", "xom 3"))),
            ("Nhà văn hoá thôn 2", Some(("Nhà văn hoá thôn 2", "nha van hoa thon 2"))),
            ("TRẦN PHÚ", Some(("TRẦN PHÚ", "tran phu"))),
            ("12", None),
            ("   ", None),
            ("", None),
        ];
        for (address, want) in cases {
            let got = street_of(address);
            assert_eq!(got.as_ref().map(|s| (s.name.as_str(), s.key.as_str())), want, "{address:?}");
        }
        assert_eq!(street_of("Trần Phú").unwrap().key, street_of("18 Trần Phú").unwrap().key);
    }

    fn claim(id: &str, volunteer: &str, household: Option<&str>, street: Option<&str>, at: i64) -> ClaimDto {
        ClaimDto {
            id: id.into(),
            area_code: "18073".into(),
            household_id: household.map(Into::into),
            street: street.map(Into::into),
            street_key: street.and_then(street_of).map(|s| s.key),
            volunteer_id: format!("id-{volunteer}"),
            volunteer: volunteer.into(),
            created_at_ms: at,
            released_at_ms: None,
            updated_seq: 1,
        }
    }

    fn facts<'a>(id: &'a str, address: &'a str, latest: Option<(&'a str, i64)>) -> HouseholdFacts<'a> {
        HouseholdFacts {
            id,
            area_code: "18073",
            address: Some(address),
            latest_volunteer_id: latest.map(|l| l.0),
            latest_volunteer: None,
            latest_visited_at_ms: latest.map(|l| l.1),
        }
    }

    #[test]
    fn a_household_claim_beats_a_street_claim_which_beats_a_visit() {
        let h1 = facts("h1", "12 Trần Phú", Some(("id-cuong", 0)));
        let h2 = facts("h2", "14 Trần Phú", Some(("id-cuong", 0)));
        let h3 = facts("h3", "3 Nguyễn Du", Some(("id-cuong", 0)));
        let all = [h1, h2, h3];
        let book = ClaimBook::new(
            [claim("c1", "lan", None, Some("đường Trần Phú"), 0), claim("c2", "minh", Some("h1"), None, 0)],
            all,
            72,
        );
        let who = |h: &HouseholdFacts<'_>| book.holder(h, H).map(|x| (x.volunteer_id, x.kind));
        assert_eq!(who(&h1), Some(("id-minh".into(), ClaimKind::Household)));
        assert_eq!(who(&h2), Some(("id-lan".into(), ClaimKind::Street)));
        assert_eq!(who(&h3), Some(("id-cuong".into(), ClaimKind::Visit)));
    }

    #[test]
    fn a_claim_runs_out_when_nothing_was_recorded_in_it() {
        // Given at 0; the holder visits a household of the street at 10 h.
        let visited = facts("h1", "12 Trần Phú", Some(("id-lan", 10 * H)));
        let untouched = facts("h2", "14 Trần Phú", None);
        let book = ClaimBook::new([claim("c1", "lan", None, Some("Trần Phú"), 0)], [visited, untouched], 72);
        assert_eq!(book.until_ms("c1"), Some(82 * H));
        assert!(book.holder(&untouched, 81 * H).is_some());
        assert_eq!(book.holder(&untouched, 82 * H), None);
        // Another's visit does not keep it alive.
        let other = facts("h1", "12 Trần Phú", Some(("id-minh", 10 * H)));
        let book = ClaimBook::new([claim("c1", "lan", None, Some("Trần Phú"), 0)], [other], 72);
        assert_eq!(book.until_ms("c1"), Some(72 * H));
        // A visit's own claim runs out claim_hours after it.
        assert_eq!(book.holder(&other, 81 * H).map(|h| h.kind), Some(ClaimKind::Visit));
        assert_eq!(book.holder(&other, 82 * H), None);
    }

    #[test]
    fn a_hand_over_wins_and_a_release_frees() {
        let h = facts("h1", "12 Trần Phú", None);
        let mut old = claim("c1", "lan", Some("h1"), None, 0);
        let new = claim("c2", "minh", Some("h1"), None, H);
        let book = ClaimBook::new([old.clone(), new.clone()], [h], 72);
        assert_eq!(book.holder(&h, 2 * H).unwrap().volunteer, Some("minh".into()));
        // Released on the server: the pull carries it with its release time.
        old.released_at_ms = Some(H);
        let mut released_new = new;
        released_new.released_at_ms = Some(2 * H);
        let book = ClaimBook::new([old, released_new], [h], 72);
        assert_eq!(book.holder(&h, 3 * H), None);
        assert_eq!(book.until_ms("c2"), None);
    }

    #[test]
    fn streets_are_matched_within_their_area_only() {
        let book = ClaimBook::new([claim("c1", "lan", None, Some("Trần Phú"), 0)], [], 72);
        let mut elsewhere = facts("h9", "12 Trần Phú", None);
        elsewhere.area_code = "18074";
        assert_eq!(book.holder(&elsewhere, H), None);
        assert!(book.holder(&facts("h8", "99 TRAN PHU", None), H).is_some());
    }
}
