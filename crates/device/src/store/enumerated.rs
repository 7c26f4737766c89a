//! Enumerated buildings at the door (issue 8): the server sends a building imported from a map
//! as a household no visit has reached. A household the volunteer adds as new, this close to
//! exactly one such building in the same area, is recorded as that building's household, so the
//! building is not counted twice. Two or more within reach (a row of town houses, closer
//! together than a phone's fix can tell apart) match none: the volunteer picks from the list.

use doorstep_domain::quality::distance_m;
use doorstep_domain::visit::LocationInput;
use rusqlite::params;
use uuid::Uuid;

use super::{DeviceError, DeviceStore};

/// Enumerated buildings not yet visited in an area, in a box: read through the partial index
/// `households_unvisited`, so a save does not slow as its area fills with visited households.
const NEAR_UNVISITED: &str = "SELECT id, lat, lon FROM households
    WHERE area_code = ?1 AND origin = 'server' AND visits = 0
      AND lat BETWEEN ?2 AND ?3 AND lon BETWEEN ?4 AND ?5";

impl DeviceStore {
    /// The one enumerated building not yet visited within the campaign's `match_enumerated_m`
    /// of `location` in `area_code`, if there is exactly one.
    pub fn enumerated_at(&self, area_code: &str, location: &LocationInput) -> Result<Option<Uuid>, DeviceError> {
        let (Some(lat), Some(lon)) = (location.lat, location.lon) else {
            return Ok(None);
        };
        if location.source == "none" || !(lat.is_finite() && lon.is_finite()) {
            return Ok(None);
        }
        let within = self.campaign().match_enumerated_m;
        // A box a little larger than the circle (a degree of longitude shrinks with latitude;
        // Vietnam lies below 24 degrees), then the exact distance.
        let dlat = within / 111_000.0;
        let dlon = within / (111_000.0 * lat.to_radians().cos().max(0.1));
        let mut st = self.conn.prepare_cached(NEAR_UNVISITED)?;
        let boxed = st
            .query_map(params![area_code, lat - dlat, lat + dlat, lon - dlon, lon + dlon], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?, r.get::<_, f64>(2)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let near: Vec<String> = boxed
            .into_iter()
            .filter(|(_, hlat, hlon)| distance_m((lat, lon), (*hlat, *hlon)) <= within)
            .map(|(id, _, _)| id)
            .collect();
        match near.as_slice() {
            [one] => Ok(Uuid::parse_str(one).ok()),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, Utc};
    use doorstep_domain::protocol::{HouseholdDto, PullResponse};

    use crate::store::{DeviceStore, VisitDraft};

    use super::*;

    /// (lat, lon) `metres` east of (18.34, 105.90).
    fn east(metres: f64) -> (f64, f64) {
        (18.34, 105.90 + metres / (111_195.0 * 18.34_f64.to_radians().cos()))
    }

    /// A building as the server sends it (through JSON, so fields added later take defaults).
    fn building(id: Uuid, area: &str, (lat, lon): (f64, f64)) -> HouseholdDto {
        serde_json::from_value(serde_json::json!({
            "id": id.to_string(), "area_code": area, "address": null, "lat": lat, "lon": lon,
            "visits": 0, "latest_outcome": null, "revisit_due": false, "updated_seq": 1
        }))
        .unwrap()
    }

    fn new_household_at(area: &str, (lat, lon): (f64, f64)) -> VisitDraft {
        VisitDraft {
            household_id: None,
            address: None,
            area_code: area.into(),
            outcome: "not_home".into(),
            reason: None,
            people: 0,
            smartphones: 0,
            already_installed: 0,
            installed_now: 0,
            leaflet_given: true,
            location: LocationInput { source: "gps".into(), lat: Some(lat), lon: Some(lon), accuracy_m: Some(6.0) },
            notes: None,
        }
    }

    /// The search reads the unvisited buildings of the area near the fix, not every household
    /// of the area: a save must not slow as the area fills.
    #[test]
    fn the_search_reads_the_unvisited_buildings_index_only() {
        let dir = tempfile::tempdir().unwrap();
        let s = DeviceStore::open(&dir.path().join("device.db")).unwrap();
        let plan: Vec<String> = s
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {NEAR_UNVISITED}"))
            .unwrap()
            .query_map(params!["18073", 18.0, 18.1, 105.0, 105.1], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(plan.iter().any(|p| p.contains("households_unvisited") && p.contains("lat>? AND lat<?")), "{plan:?}");
    }

    #[test]
    fn a_new_household_at_one_enumerated_building_is_that_building_and_otherwise_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = DeviceStore::open(&dir.path().join("device.db")).unwrap();
        let now = Utc::now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap());
        let lone = Uuid::now_v7();
        // Two town houses 6 m apart, 100 m away from the lone house.
        let (row_a, row_b) = (Uuid::now_v7(), Uuid::now_v7());
        let other_area = Uuid::now_v7();
        s.apply_pull(&PullResponse {
            areas: vec![],
            households: vec![
                building(lone, "18073", east(0.0)),
                building(row_a, "18073", east(100.0)),
                building(row_b, "18073", east(106.0)),
                building(other_area, "18077", east(200.0)),
            ],
            claims: vec![],
            next_cursor: 1,
            has_more: false,
        })
        .unwrap();
        assert_eq!(s.campaign().match_enumerated_m, 10.0);

        // 7 m from the lone house and nothing else in reach: that house.
        let v = s.record_visit(&new_household_at("18073", east(7.0)), now).unwrap();
        assert_eq!(v.household.id.uuid(), lone);
        // Now visited, it is no longer a building waiting: the next new household there is new.
        let again = s.record_visit(&new_household_at("18073", east(3.0)), now).unwrap();
        assert_ne!(again.household.id.uuid(), lone);
        // Between the two town houses: both in reach, neither chosen.
        let between = s.record_visit(&new_household_at("18073", east(103.0)), now).unwrap();
        assert!(![row_a, row_b].contains(&between.household.id.uuid()));
        // 12 m from the nearest: beyond reach.
        let far = s.record_visit(&new_household_at("18073", east(118.0)), now).unwrap();
        assert!(![row_a, row_b].contains(&far.household.id.uuid()));
        // Another area's building is never taken, however close.
        let elsewhere = s.record_visit(&new_household_at("18073", east(201.0)), now).unwrap();
        assert_ne!(elsewhere.household.id.uuid(), other_area);
        // Without a location nothing can be matched.
        let mut unlocated = new_household_at("18077", east(200.0));
        unlocated.location = LocationInput { source: "none".into(), lat: None, lon: None, accuracy_m: None };
        assert_ne!(s.record_visit(&unlocated, now).unwrap().household.id.uuid(), other_area);
        // A household chosen by the volunteer stays theirs.
        let mut chosen = new_household_at("18073", east(100.0));
        chosen.household_id = Some(row_b);
        assert_eq!(s.record_visit(&chosen, now).unwrap().household.id.uuid(), row_b);
    }
}
