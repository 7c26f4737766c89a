//! Data-quality flags decided at ingest, in the transaction that stores the visits. The rules are
//! the domain's (`doorstep_domain::quality`); this module supplies what the server holds: the
//! household's known location, the area's boundary (parsed once and cached), and the volunteer's
//! latest visit before the batch with their run of visits from one spot (one row per volunteer,
//! read and written once per batch). Both databases go through here, so their flags are the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doorstep_domain::Visit;
use doorstep_domain::quality::{
    Flag, QualityRules, SpotRun, SpotVisit, TrailPoint, distance_m, judged_order, newest, speed_flags,
};
use geo::{BoundingRect, Closest, ClosestPoint, Intersects, LineString, MultiPolygon, Point, Polygon, Rect};
use uuid::Uuid;

use crate::db::ingest::IngestBatch;

/// Fills `volunteer_trail` (migration 0009) from the first revisions held; the same SQL
/// on both (UUIDs order as their bytes on both).
pub const TRAIL_FILL_SQL: &str = "INSERT INTO volunteer_trail (volunteer_id, visit_id, visited_at_ms, lat, lon)
    SELECT volunteer_id, id, visited_at_ms, lat, lon FROM (
        SELECT volunteer_id, id, visited_at_ms, lat, lon,
            ROW_NUMBER() OVER (PARTITION BY volunteer_id ORDER BY visited_at_ms DESC, id DESC) AS n
        FROM visits WHERE revision = 1) latest
    WHERE n = 1;";

/// Replaces a volunteer's latest visit and their run from one spot (`$n` placeholders, rewritten
/// for SQLite).
pub const TRAIL_WRITE_SQL: &str =
    "INSERT INTO volunteer_trail (volunteer_id, visit_id, visited_at_ms, lat, lon, spot_run)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (volunteer_id) DO UPDATE SET visit_id = excluded.visit_id,
        visited_at_ms = excluded.visited_at_ms, lat = excluded.lat, lon = excluded.lon,
        spot_run = excluded.spot_run";

/// The flags held for a visit stored before the batch (a run from one spot it began was flagged
/// by a later batch).
pub const FLAGS_READ_SQL: &str = "SELECT flags FROM visit_flags WHERE server_seq = $1";

/// Sets a visit's flags, replacing those held.
pub const FLAGS_WRITE_SQL: &str = "INSERT INTO visit_flags (server_seq, flags) VALUES ($1, $2)
    ON CONFLICT (server_seq) DO UPDATE SET flags = excluded.flags";

/// A visit's flags as held (`None`: none), with `burst` added.
pub fn with_burst(held: Option<&str>) -> String {
    let mut flags: Vec<Flag> = held.unwrap_or_default().split(',').filter_map(Flag::parse).collect();
    flags.push(Flag::Burst);
    Flag::join(&flags).unwrap_or_default()
}

/// A run as `volunteer_trail.spot_run` holds it; one that does not read (written by another
/// version) starts again, which loses a flag at most, never a visit.
pub fn read_run(json: Option<&str>) -> SpotRun {
    json.and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default()
}

/// An area's imported boundary, parsed for point tests.
#[derive(Debug)]
pub struct Boundary {
    shape: MultiPolygon<f64>,
    bbox: Option<Rect<f64>>,
}

impl Boundary {
    /// A GeoJSON Polygon or MultiPolygon geometry, as the importer stores it; `None` for anything
    /// else (the importer refuses other geometries, so that means a damaged row).
    pub fn parse(text: &str) -> Option<Boundary> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let coords = value.get("coordinates")?;
        let polygons = match value.get("type")?.as_str()? {
            "Polygon" => vec![polygon(coords)?],
            "MultiPolygon" => coords.as_array()?.iter().map(polygon).collect::<Option<Vec<_>>>()?,
            _ => return None,
        };
        let shape = MultiPolygon::new(polygons);
        let bbox = shape.bounding_rect();
        Some(Boundary { shape, bbox })
    }

    /// The bounding box (degrees; x is longitude).
    pub fn bbox(&self) -> Option<Rect<f64>> {
        self.bbox
    }

    /// Whether (lat, lon) lies inside or on the boundary.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let p = Point::new(lon, lat);
        self.bbox.is_some_and(|b| b.intersects(&p)) && self.shape.intersects(&p)
    }

    /// Whether (lat, lon) lies inside or on the boundary, and if outside, how far (metres).
    pub fn locate(&self, lat: f64, lon: f64) -> (bool, f64) {
        let p = Point::new(lon, lat);
        let maybe_inside = self.bbox.is_some_and(|b| b.intersects(&p));
        if maybe_inside && self.shape.intersects(&p) {
            return (true, 0.0);
        }
        // The nearest point in degrees, then its distance in metres: at a boundary's scale the
        // two agree to far better than a GPS fix.
        match self.shape.closest_point(&p) {
            Closest::Intersection(q) | Closest::SinglePoint(q) => (false, distance_m((lat, lon), (q.y(), q.x()))),
            Closest::Indeterminate => (false, f64::INFINITY),
        }
    }
}

fn ring(value: &serde_json::Value) -> Option<LineString<f64>> {
    let points = value
        .as_array()?
        .iter()
        .map(|p| {
            let p = p.as_array()?;
            Some((p.first()?.as_f64()?, p.get(1)?.as_f64()?))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(LineString::from(points))
}

fn polygon(value: &serde_json::Value) -> Option<Polygon<f64>> {
    let mut rings = value.as_array()?.iter().map(ring);
    let exterior = rings.next()??;
    let holes = rings.collect::<Option<Vec<_>>>()?;
    Some(Polygon::new(exterior, holes))
}

/// A cached area: when it was read, and its boundary if it has one.
type Entry = (Instant, Option<Arc<Boundary>>);

/// Parsed boundaries by area code (`None`: the area has none), so that no visit re-parses one.
/// On SQLite the one writer clears it when areas are imported; on PostgreSQL an import may come
/// from another process, so entries also expire.
pub struct Boundaries {
    entries: Mutex<HashMap<String, Entry>>,
    ttl: Option<Duration>,
}

/// How long a PostgreSQL server trusts a cached boundary: an import by another process shows
/// in the flags within this time.
pub const PG_BOUNDARY_TTL: Duration = Duration::from_secs(300);

impl Boundaries {
    pub fn new(ttl: Option<Duration>) -> Boundaries {
        Boundaries { entries: Mutex::new(HashMap::new()), ttl }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // Only plain inserts happen under the lock: a panic cannot leave the map half-changed.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The codes named on these area paths that are not cached (or whose entry expired).
    pub fn missing<'a>(&self, paths: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let entries = self.lock();
        let now = Instant::now();
        let mut out: Vec<String> = Vec::new();
        for path in paths {
            for code in path.split('/').filter(|c| !c.is_empty()) {
                let fresh =
                    entries.get(code).is_some_and(|(at, _)| self.ttl.is_none_or(|ttl| now.duration_since(*at) < ttl));
                if !fresh && !out.iter().any(|c| c == code) {
                    out.push(code.to_string());
                }
            }
        }
        out
    }

    /// Caches what the database holds for an area (its boundary text, or none).
    pub fn store(&self, code: String, text: Option<&str>) {
        let parsed = text.and_then(|t| {
            let b = Boundary::parse(t);
            if b.is_none() {
                tracing::warn!(area = %code, "an area's stored boundary is not a readable polygon; ignored");
            }
            b.map(Arc::new)
        });
        self.lock().insert(code, (Instant::now(), parsed));
    }

    /// The boundary that judges a visit in the area at `path`: the area's own, or that of its
    /// nearest ancestor with one (a village without an outline still lies inside its commune).
    pub fn for_path(&self, path: &str) -> Option<Arc<Boundary>> {
        let entries = self.lock();
        path.split('/').filter(|c| !c.is_empty()).rev().find_map(|code| entries.get(code).and_then(|(_, b)| b.clone()))
    }
}

/// The flags of one stored visit that need no other visit: assignment and volunteer (from the
/// sending phone), accuracy, distance from its household's known location, and the area's
/// boundary. `household` is the location held before this visit.
/// What the server held of a visit's household before it: its known location, and its latest
/// visit's volunteer and time (by receive order), against which a new visit may overlap.
pub type HouseholdBefore = (Option<(f64, f64)>, Option<(Uuid, i64)>);

/// Whether a visit names a household held in another area than the visit's (`held_area`: the
/// household's area, `None` when the household is new): such a visit is stored and flagged
/// `household_in_other_area`, and changes nothing of the household.
pub fn other_area(held_area: Option<&str>, visit: &Visit) -> bool {
    held_area.is_some_and(|a| a != visit.area_code.as_str())
}

pub fn own_flags(
    batch: &IngestBatch, visit: &Visit, area_path: &str, (household, previous): HouseholdBefore,
    boundary: Option<&Boundary>,
) -> Vec<Flag> {
    let mut flags = Vec::new();
    if visit.revision.get() == 1
        && batch.rules.overlaps(previous, visit.volunteer_id.uuid(), visit.visited_at.timestamp_millis())
    {
        flags.push(Flag::Overlap);
    }
    if !batch.scope.is_empty() && !batch.scope.iter().any(|s| area_path.starts_with(s.as_str())) {
        flags.push(Flag::OutsideAssignment);
    }
    if batch.volunteer_id.is_some_and(|v| v != visit.volunteer_id.uuid()) {
        flags.push(Flag::OtherVolunteer);
    }
    if batch.revoked_device {
        flags.push(Flag::RevokedDevice);
    }
    let rules = &batch.rules;
    let Some(point) = visit.location.point else {
        return flags;
    };
    if rules.poor_accuracy(point.accuracy_m) {
        flags.push(Flag::PoorAccuracy);
    }
    if household.is_some_and(|h| rules.far_from_household((point.lat, point.lon), h)) {
        flags.push(Flag::FarFromHousehold);
    }
    if let Some(b) = boundary {
        let (inside, outside_m) = b.locate(point.lat, point.lon);
        if rules.outside_area(inside, outside_m, point.accuracy_m) {
            flags.push(Flag::OutsideArea);
        }
    }
    flags
}

/// A visit the transaction stored, with its own flags so far.
pub struct Stored<'a> {
    pub server_seq: i64,
    pub visit: &'a Visit,
    pub flags: Vec<Flag>,
}

/// The volunteers whose latest visit the motion flags need: those of the stored first revisions.
pub fn trail_volunteers(stored: &[Stored<'_>]) -> Vec<Uuid> {
    let mut out: Vec<Uuid> = Vec::new();
    for s in stored.iter().filter(|s| s.visit.revision.get() == 1) {
        let v = s.visit.volunteer_id.uuid();
        // A batch is one phone's: nearly always one volunteer, so a short scan beats a map.
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out.sort();
    out
}

/// What the transaction writes after its visits: the flags, the volunteers' new latest visits
/// and runs, and the visits held before the batch that a run now flags.
#[derive(Debug, Default, PartialEq)]
pub struct Finished {
    /// (server_seq, flags) of every visit of the batch with at least one flag.
    pub flags: Vec<(i64, String)>,
    /// Volunteers whose latest visit changed, with it and their run from one spot (JSON), in
    /// volunteer order.
    pub trail: Vec<(Uuid, TrailPoint, String)>,
    /// Visits stored by earlier batches to flag `burst` (a run they began reached the count).
    pub earlier_bursts: Vec<i64>,
}

/// What each volunteer's trail holds before the batch: their latest visit and their run.
pub type Trails = HashMap<Uuid, (TrailPoint, SpotRun)>;

/// Adds the motion flags (implausible speed, burst) to the stored visits, against each
/// volunteer's latest visit and run held before them (`held`, read inside the transaction).
pub fn finish(rules: &QualityRules, held: &Trails, mut stored: Vec<Stored<'_>>) -> Finished {
    let mut trail = Vec::new();
    let mut earlier_bursts = Vec::new();
    for volunteer in trail_volunteers(&stored) {
        let indexes: Vec<usize> = (0..stored.len())
            .filter(|&i| stored[i].visit.revision.get() == 1 && stored[i].visit.volunteer_id.uuid() == volunteer)
            .collect();
        let new: Vec<TrailPoint> = indexes.iter().map(|&i| trail_point(stored[i].visit)).collect();
        let (latest, mut run) = held.get(&volunteer).map(|(p, r)| (Some(*p), r.clone())).unwrap_or_default();
        for (&i, fast) in indexes.iter().zip(speed_flags(rules, latest, &new)) {
            if fast {
                stored[i].flags.push(Flag::ImplausibleSpeed);
            }
        }
        for k in judged_order(latest, &new) {
            let s = &stored[indexes[k]];
            let Some(p) = s.visit.location.point else {
                run.interrupt();
                continue;
            };
            let visit = SpotVisit {
                seq: s.server_seq,
                household: s.visit.household.id.uuid(),
                at_ms: s.visit.visited_at.timestamp_millis(),
                lat: p.lat,
                lon: p.lon,
            };
            for seq in run.extend(&rules.burst, visit) {
                match stored.iter_mut().find(|x| x.server_seq == seq) {
                    Some(x) => x.flags.push(Flag::Burst),
                    None => earlier_bursts.push(seq),
                }
            }
        }
        if let Some(n) = newest(latest, &new).filter(|n| Some(*n) != latest) {
            trail.push((volunteer, n, serde_json::to_string(&run).unwrap_or_default()));
        }
    }
    let flags = stored.into_iter().filter_map(|s| Flag::join(&s.flags).map(|f| (s.server_seq, f))).collect();
    Finished { flags, trail, earlier_bursts }
}

pub fn trail_point(visit: &Visit) -> TrailPoint {
    TrailPoint {
        id: visit.id.uuid(),
        at_ms: visit.visited_at.timestamp_millis(),
        point: visit.location.point.map(|p| (p.lat, p.lon)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str =
        r#"{"type":"Polygon","coordinates":[[[105.9,18.3],[105.91,18.3],[105.91,18.31],[105.9,18.31],[105.9,18.3]]]}"#;

    #[test]
    fn points_are_located_against_a_boundary() {
        let b = Boundary::parse(SQUARE).unwrap();
        assert_eq!(b.locate(18.305, 105.905), (true, 0.0));
        // On the edge counts as inside.
        assert!(b.locate(18.3, 105.905).0);
        // About 1.1 km north of the top edge.
        let (inside, metres) = b.locate(18.32, 105.905);
        assert!(!inside);
        assert!((1_050.0..1_170.0).contains(&metres), "{metres}");
        // A hole is outside.
        let holed = r#"{"type":"MultiPolygon","coordinates":[[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]]}"#;
        let b = Boundary::parse(holed).unwrap();
        assert!(!b.locate(5.0, 5.0).0);
        assert!(b.locate(2.0, 2.0).0);
        for bad in
            ["", "{}", r#"{"type":"Point","coordinates":[1,2]}"#, r#"{"type":"Polygon","coordinates":[[["a",1]]]}"#]
        {
            assert!(Boundary::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_deepest_boundary_on_a_path_judges_and_entries_expire() {
        let cache = Boundaries::new(None);
        assert_eq!(cache.missing(["/42/436/18073/", "/42/436/"]), ["42", "436", "18073"]);
        cache.store("42".into(), None);
        cache.store("436".into(), Some(SQUARE));
        cache.store("18073".into(), None);
        assert!(cache.missing(["/42/436/18073/"]).is_empty());
        assert!(cache.for_path("/42/436/18073/").is_some(), "the district's outline");
        assert!(cache.for_path("/42/").is_none());
        cache.clear();
        assert_eq!(cache.missing(["/42/"]), ["42"]);
        let expiring = Boundaries::new(Some(Duration::ZERO));
        expiring.store("42".into(), None);
        assert_eq!(expiring.missing(["/42/"]), ["42"]);
    }
}
