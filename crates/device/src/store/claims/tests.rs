use chrono::TimeZone;
use doorstep_domain::claim::ClaimKind;
use doorstep_domain::protocol::{EnrolResponse, HouseholdDto, PullResponse, UserDto};
use rusqlite::Connection;

use super::super::tests::{draft, now};
use super::super::{APPLICATION_ID, MIGRATIONS};
use super::*;
use doorstep_domain::account::Role;

const H: i64 = 3_600_000;
/// When the claims below are given (server clock, ms).
const T0: i64 = 1_606_700_000_000;
const LAN: &str = "0191d5a0-0000-7000-8000-00000000001a";

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap()
}

/// A phone enrolled as "minh".
fn phone(dir: &tempfile::TempDir) -> (DeviceStore, String) {
    let mut s = DeviceStore::open(&dir.path().join("device.db")).unwrap();
    let me = Uuid::now_v7().to_string();
    s.set_enrolment(&EnrolResponse {
        device_token: "t".repeat(64),
        volunteer_id: me.clone(),
        volunteer: UserDto { username: "minh".into(), role: Role::Volunteer, area_code: "18073".into() },
    })
    .unwrap();
    (s, me)
}

fn household(id: &str, area: &str, address: &str) -> HouseholdDto {
    HouseholdDto {
        id: id.into(),
        area_code: area.into(),
        address: Some(address.into()),
        lat: None,
        lon: None,
        visits: 0,
        latest_outcome: None,
        revisit_due: false,
        revisit_due_at_ms: None,
        latest_volunteer_id: None,
        latest_volunteer: None,
        latest_visited_at_ms: None,
        updated_seq: 1,
    }
}

fn visited(mut h: HouseholdDto, volunteer_id: &str, volunteer: &str, at_ms: i64) -> HouseholdDto {
    h.visits += 1;
    h.latest_outcome = Some("installed_now".into());
    h.latest_volunteer_id = Some(volunteer_id.into());
    h.latest_volunteer = Some(volunteer.into());
    h.latest_visited_at_ms = Some(at_ms);
    h
}

fn street_claim(id: &str, volunteer_id: &str, volunteer: &str, street: &str, created: i64) -> ClaimDto {
    ClaimDto {
        id: id.into(),
        area_code: "18073".into(),
        household_id: None,
        street: Some(street.into()),
        street_key: street_of(street).map(|s| s.key),
        volunteer_id: volunteer_id.into(),
        volunteer: volunteer.into(),
        created_at_ms: created,
        released_at_ms: None,
        updated_seq: 1,
    }
}

fn pull(s: &mut DeviceStore, households: Vec<HouseholdDto>, claims: Vec<ClaimDto>) {
    let next = s.cursor().unwrap() + 1;
    s.apply_pull(&PullResponse { areas: vec![], households, claims, next_cursor: next, has_more: false }).unwrap();
}

/// (id, taken, holder's username) of each household at `when`, by id.
fn who(s: &DeviceStore, when: i64) -> Vec<(String, bool, Option<String>)> {
    s.households_at(None, at(when))
        .unwrap()
        .into_iter()
        .map(|h| (h.id, h.taken, h.holder.and_then(|x| x.volunteer)))
        .collect()
}

fn taken(s: &DeviceStore, id: &str, when: i64) -> bool {
    s.households_at(None, at(when)).unwrap().into_iter().find(|h| h.id == id).unwrap().taken
}

/// Three households of one street, one of another street, and one of the same street in
/// another area.
fn street(s: &mut DeviceStore) {
    pull(
        s,
        vec![
            household("a1", "18073", "12 Trần Phú"),
            household("a2", "18073", "Số 14, Trần Phú"),
            household("a3", "18073", "16 đường Trần Phú, P. Bắc Hà"),
            household("b1", "18073", "3 Nguyễn Du"),
            household("z1", "18077", "12 Trần Phú"),
        ],
        vec![],
    );
}

#[test]
fn a_street_claim_pulled_takes_the_streets_households_in_its_area() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = phone(&dir);
    street(&mut s);
    assert!(who(&s, T0).iter().all(|(_, taken, holder)| !taken && holder.is_none()));

    pull(&mut s, vec![], vec![street_claim("c1", LAN, "lan", "Trần Phú", T0)]);
    let lan = Some("lan".to_string());
    assert_eq!(
        who(&s, T0 + H),
        [
            ("a1".into(), true, lan.clone()),
            ("a2".into(), true, lan.clone()),
            ("a3".into(), true, lan.clone()),
            ("b1".into(), false, None),
            ("z1".into(), false, None),
        ]
    );
    let a1 = s.households_at(None, at(T0 + H)).unwrap().remove(0);
    let holder = a1.holder.unwrap();
    assert_eq!(
        (holder.kind, holder.claim_id.as_deref(), holder.until_ms),
        (ClaimKind::Street, Some("c1"), T0 + 72 * H)
    );
    assert_eq!(s.claims().unwrap().len(), 1);
    assert!(s.my_claims(at(T0 + H)).unwrap().is_empty(), "given to Lan, not to this phone");
}

#[test]
fn a_hand_over_moves_the_households_and_a_release_frees_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, me) = phone(&dir);
    street(&mut s);
    let old = street_claim("c1", LAN, "lan", "Trần Phú", T0);
    pull(&mut s, vec![], vec![old.clone()]);
    assert!(taken(&s, "a1", T0 + H));

    // The leader hands the street to this phone's volunteer: the old claim arrives released.
    let mut released = old;
    released.released_at_ms = Some(T0 + 2 * H);
    released.updated_seq = 2;
    let mut new = street_claim("c2", &me, "minh", "Trần Phú", T0 + 2 * H);
    new.updated_seq = 2;
    pull(&mut s, vec![], vec![released, new.clone()]);
    let hh = s.households_at(None, at(T0 + 3 * H)).unwrap();
    let a1 = hh.iter().find(|h| h.id == "a1").unwrap();
    assert!(!a1.taken, "it is this phone's now");
    assert_eq!(a1.holder.as_ref().map(|x| x.volunteer_id.as_str()), Some(me.as_str()));
    assert_eq!(
        s.my_claims(at(T0 + 3 * H)).unwrap(),
        [MyClaim { claim: new.clone(), until_ms: T0 + 74 * H, households: 3, visited: 0 }]
    );

    // Released: nobody holds the street any more.
    let mut freed = new;
    freed.released_at_ms = Some(T0 + 4 * H);
    freed.updated_seq = 3;
    pull(&mut s, vec![], vec![freed.clone()]);
    assert!(who(&s, T0 + 5 * H).iter().all(|(_, taken, holder)| !taken && holder.is_none()));
    assert!(s.my_claims(at(T0 + 5 * H)).unwrap().is_empty());
    // Kept with its release time, and an older copy arriving late does not bring it back.
    let mut stale = freed.clone();
    stale.released_at_ms = None;
    stale.updated_seq = 2;
    pull(&mut s, vec![], vec![stale]);
    assert_eq!(s.claims().unwrap().iter().find(|c| c.id == "c2"), Some(&freed));
    assert!(!taken(&s, "a1", T0 + 5 * H));
}

#[test]
fn a_claim_runs_out_after_claim_hours_by_the_phones_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = phone(&dir);
    assert_eq!(s.campaign().claim_hours, 72);
    street(&mut s);
    pull(&mut s, vec![], vec![street_claim("c1", LAN, "lan", "Trần Phú", T0)]);
    assert!(taken(&s, "a2", T0 + 72 * H - 1));
    assert!(!taken(&s, "a2", T0 + 72 * H));

    // The campaign's hours, not a constant.
    let mut campaign = s.campaign().clone();
    campaign.claim_hours = 24;
    s.set_campaign(campaign);
    assert!(taken(&s, "a2", T0 + 24 * H - 1));
    assert!(!taken(&s, "a2", T0 + 24 * H));
}

#[test]
fn a_visit_by_the_holder_renews_the_claim_and_anothers_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = phone(&dir);
    street(&mut s);
    pull(&mut s, vec![], vec![street_claim("c1", LAN, "lan", "Trần Phú", T0)]);
    // Lan visits a1 ten hours in: the whole street stays hers until 10 h + 72 h.
    pull(&mut s, vec![visited(household("a1", "18073", "12 Trần Phú"), LAN, "lan", T0 + 10 * H)], vec![]);
    assert!(taken(&s, "a2", T0 + 82 * H - 1));
    assert!(!taken(&s, "a2", T0 + 82 * H));

    // Someone else's visit to a3 keeps nothing of Lan's alive (a3 is still Lan's by the street).
    let other = Uuid::now_v7().to_string();
    pull(&mut s, vec![visited(household("a3", "18073", "16 Trần Phú"), &other, "cuong", T0 + 20 * H)], vec![]);
    let a3 = s.households_at(None, at(T0 + 30 * H)).unwrap();
    let a3 = a3.iter().find(|h| h.id == "a3").unwrap();
    assert_eq!(a3.holder.as_ref().and_then(|x| x.volunteer.as_deref()), Some("lan"));
    assert!(!taken(&s, "a2", T0 + 82 * H));
}

#[test]
fn the_phones_own_visit_makes_it_hold_the_household_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, me) = phone(&dir);
    let id = Uuid::now_v7();
    let t = now();
    let t_ms = t.timestamp_millis();
    // Lan visited it an hour ago: hers.
    pull(&mut s, vec![visited(household(&id.to_string(), "18073", "5 Lê Lợi"), LAN, "lan", t_ms - H)], vec![]);
    assert!(taken(&s, &id.to_string(), t_ms));

    // This volunteer is at the door anyway: the visit is recorded, and the household is theirs.
    let mut d = draft();
    d.household_id = Some(id);
    s.record_visit(&d, t).unwrap();
    let hh = s.households_at(None, at(t_ms)).unwrap();
    let h = hh.iter().find(|h| h.id == id.to_string()).unwrap();
    assert!(!h.taken);
    assert_eq!(
        (h.latest_volunteer_id.as_deref(), h.latest_volunteer.as_deref(), h.latest_visited_at_ms),
        (Some(me.as_str()), Some("minh"), Some(t_ms))
    );
    let holder = h.holder.as_ref().unwrap();
    assert_eq!((holder.kind, holder.until_ms), (ClaimKind::Visit, t_ms + 72 * H));

    // A pull from before the server counted this visit does not take it back; one after does.
    pull(&mut s, vec![visited(household(&id.to_string(), "18073", "5 Lê Lợi"), LAN, "lan", t_ms - H)], vec![]);
    assert!(!taken(&s, &id.to_string(), t_ms));
    let mut later = visited(household(&id.to_string(), "18073", "5 Lê Lợi"), LAN, "lan", t_ms - H);
    later = visited(later, LAN, "lan", t_ms + H);
    pull(&mut s, vec![later], vec![]);
    assert!(taken(&s, &id.to_string(), t_ms + 2 * H));
    // A server before claims says nothing of the latest volunteer: what is known stays.
    let mut old_server = household(&id.to_string(), "18073", "5 Lê Lợi");
    old_server.visits = 3;
    pull(&mut s, vec![old_server], vec![]);
    assert!(taken(&s, &id.to_string(), t_ms + 2 * H));
}

#[test]
fn a_leaders_claim_beats_the_phones_own_visit_and_its_own_visits_renew_its_claim() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, me) = phone(&dir);
    let t = now();
    let t_ms = t.timestamp_millis();
    let (mine, lans) = (Uuid::now_v7(), Uuid::now_v7());
    pull(
        &mut s,
        vec![
            household(&mine.to_string(), "18073", "1 Phan Đình Phùng"),
            household(&lans.to_string(), "18073", "7 Hà Huy Tập"),
        ],
        vec![
            street_claim("given", &me, "minh", "Phan Đình Phùng", t_ms - 70 * H),
            street_claim("lans", LAN, "lan", "Hà Huy Tập", t_ms - H),
        ],
    );
    // At Lan's street: recorded, and it stays Lan's (the leader will see the overlap).
    let mut d = draft();
    d.household_id = Some(lans);
    d.address = Some("7 Hà Huy Tập".into());
    s.record_visit(&d, t).unwrap();
    assert!(taken(&s, &lans.to_string(), t_ms));
    // On this volunteer's own street, their visit keeps the claim alive past its first 72 hours.
    d.household_id = Some(mine);
    d.address = Some("1 Phan Đình Phùng".into());
    s.record_visit(&d, t).unwrap();
    let mine_now = s.my_claims(at(t_ms + 3 * H)).unwrap();
    assert_eq!(mine_now.len(), 1);
    assert_eq!((mine_now[0].until_ms, mine_now[0].households, mine_now[0].visited), (t_ms + 72 * H, 1, 1));
}

/// A phone's database from before claims keeps its rows, learns its own visits' households,
/// and pulls again from the start.
#[test]
fn the_claims_migration_keeps_rows_and_starts_the_pull_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let me = Uuid::now_v7().to_string();
    // The schema before claims: every step before the one that makes the claims table.
    let before = MIGRATIONS.iter().position(|step| step.contains("CREATE TABLE claims")).unwrap();
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..before] {
            conn.execute_batch(sql).unwrap();
        }
        let body = serde_json::json!({ "volunteer_id": me, "household": { "id": "mine" } }).to_string();
        conn.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {before};
             INSERT INTO meta (key, value) VALUES ('volunteer_id', '{me}'), ('volunteer_username', 'minh'),
                 ('cursor', '40'), ('cursor:18073', '41'), ('device_id', '{}');
             INSERT INTO households (id, area_code, address, latest_outcome, visits, revisit_due, revisit_due_at_ms, origin)
             VALUES ('mine', '18073', '12 Trần Phú', 'installed_now', 2, 0, NULL, 'local'),
                    ('theirs', '18073', '14 Trần Phú', 'not_home', 1, 1, 0, 'server');",
            Uuid::now_v7()
        ))
        .unwrap();
        for (seq, at) in [(1, "2020-11-30T08:00:00+07:00"), (2, "2020-11-30T14:30:00.250+07:00")] {
            conn.execute(
                "INSERT INTO visits (id, revision, device_seq, household_id, area_code, outcome, visited_at, body)
                 VALUES (?1, 1, ?2, 'mine', '18073', 'installed_now', ?3, ?4)",
                rusqlite::params![Uuid::now_v7().to_string(), seq, at, body],
            )
            .unwrap();
        }
    }
    let s = DeviceStore::open_unencrypted(&path).unwrap();
    assert_eq!(s.volunteer_id().to_string(), me);
    let hh = s.households(None).unwrap();
    assert_eq!(hh.len(), 2, "every household kept");
    let mine = hh.iter().find(|h| h.id == "mine").unwrap();
    let visited_ms = chrono::DateTime::parse_from_rfc3339("2020-11-30T14:30:00.250+07:00").unwrap().timestamp_millis();
    assert_eq!(
        (mine.visits, mine.latest_volunteer_id.as_deref(), mine.latest_volunteer.as_deref(), mine.latest_visited_at_ms),
        (2, Some(me.as_str()), Some("minh"), Some(visited_ms))
    );
    let theirs = hh.iter().find(|h| h.id == "theirs").unwrap();
    assert_eq!((theirs.latest_volunteer_id.as_deref(), theirs.revisit_due), (None, true));
    assert_eq!((s.cursor().unwrap(), s.cursor_for(Some("18073")).unwrap()), (0, 0));
    assert_eq!(s.recorded_ids().unwrap().len(), 2);
    assert!(s.claims().unwrap().is_empty());
}
