//! Enumerated buildings (issue 8): a GeoJSON of building footprints or points (an OpenStreetMap
//! extract, a survey) becomes expected households, each placed in the deepest area whose
//! boundary contains it. They are households no visit has reached yet: the phones pull them and
//! show them as not yet visited, and the area's figures count them as known.
//!
//! Three steps, each testable alone: [`parse_buildings`] (text in, one point per feature or every
//! problem by feature and line out), [`AreaIndex::place`] (point-in-polygon against the imported
//! boundaries, through an R-tree of their bounding boxes) and [`import`] (both, then the store).
//! A building's id is a UUIDv5 of its source id (or, without one, of its position), so importing
//! the same file again adds nothing.

use std::collections::{BTreeMap, HashMap};

use doorstep_domain::values::{AreaCode, Id, Text};
use geo::{BoundingRect, Centroid, Coord, LineString, MultiPolygon, Polygon};
use rstar::{RTree, primitives::GeomWithData, primitives::Rectangle};
use serde::Deserialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::db::quality::Boundary;
use crate::store::{NewHousehold, Store, StoreError};

/// The namespace of buildings' UUIDv5s (itself a UUIDv5 of "doorstep.building" in the URL
/// namespace; fixed forever, or a re-import would duplicate every building).
const BUILDING_NAMESPACE: Uuid = Uuid::from_u128(0x6f0b_7c52_4f0e_5a4c_9d3e_2b8a_1c6d_4e70);

/// At most this many problems are listed; the count says how many there were.
pub const MAX_LISTED: usize = 20;

/// One building as read: where it is in the file, its source key, its point.
#[derive(Debug, Clone, PartialEq)]
pub struct Building {
    /// 1 for the file's first feature.
    pub feature: usize,
    /// The line the feature starts on.
    pub line: usize,
    /// `id:<source id>` or, without one, `at:<lon>,<lat>` to 7 decimals (about 1 cm).
    pub key: String,
    pub lat: f64,
    pub lon: f64,
    /// From OpenStreetMap's `addr:housenumber` and `addr:street`, where present.
    pub address: Option<String>,
}

impl Building {
    /// The expected household's id: the same building gives the same id in every import.
    pub fn id(&self) -> Id {
        Id::from_uuid(Uuid::new_v5(&BUILDING_NAMESPACE, self.key.as_bytes()))
    }
}

/// A problem in a buildings file, at its feature (when one is to blame) and line, in both
/// languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {en}", feature.map(|f| format!(" (feature {f})")).unwrap_or_default())]
pub struct BuildingError {
    pub feature: Option<usize>,
    pub line: usize,
    pub vi: String,
    pub en: String,
}

#[derive(Deserialize)]
struct Collection<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    features: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct FeatureIn<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<serde_json::Value>,
    #[serde(borrow)]
    geometry: Option<GeometryIn<'a>>,
    properties: Option<Properties>,
}

#[derive(Deserialize)]
struct GeometryIn<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    coordinates: Option<&'a RawValue>,
}

/// The few properties read; the others (an OSM extract has many) are skipped unparsed.
#[derive(Deserialize, Default)]
struct Properties {
    #[serde(rename = "@id")]
    at_id: Option<serde_json::Value>,
    osm_id: Option<serde_json::Value>,
    #[serde(rename = "addr:housenumber")]
    housenumber: Option<serde_json::Value>,
    #[serde(rename = "addr:street")]
    street: Option<serde_json::Value>,
}

type Position = Vec<f64>;

/// Reads a GeoJSON FeatureCollection, or newline-delimited features (GeoJSONSeq, RFC 8142, as
/// `osmium export` and `ogr2ogr` write large extracts), of Point, Polygon or MultiPolygon
/// features: one point each (a footprint's centroid). Any problem refuses the file: the first
/// [`MAX_LISTED`] are returned by feature and line, and one more entry says how many in all.
pub fn parse_buildings(text: &str) -> Result<Vec<Building>, Vec<BuildingError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut problems = Problems::default();
    let mut out = Vec::new();
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{1e}');
    // One JSON value is a collection (or a lone feature); a first line that is a whole value on
    // its own starts a sequence; anything else is a collection with a syntax error to locate.
    match serde_json::from_str::<Collection<'_>>(text) {
        Ok(c) if c.kind == "Feature" => {
            read_feature(trimmed.trim_end(), 1, line_of(text, trimmed), &mut out, &mut problems)
        }
        Ok(c) if c.kind != "FeatureCollection" => {
            return Err(vec![BuildingError {
                feature: None,
                line: 1,
                vi: format!("cần một FeatureCollection, tệp là {}", c.kind),
                en: format!("expected a FeatureCollection, the file holds a {}", c.kind),
            }]);
        }
        Ok(c) => {
            let Some(features) = c.features else {
                return Err(vec![BuildingError {
                    feature: None,
                    line: 1,
                    vi: "FeatureCollection thiếu \"features\"".into(),
                    en: "the FeatureCollection has no \"features\"".into(),
                }]);
            };
            let mut lines = LineCounter::new(text);
            for (i, raw) in features.iter().enumerate() {
                let line = lines.line_at(raw.get());
                read_feature(raw.get(), i + 1, line, &mut out, &mut problems);
            }
        }
        Err(e) => {
            let first = trimmed.lines().next().unwrap_or_default().trim_end();
            if serde_json::from_str::<&RawValue>(first).is_err() {
                return Err(vec![BuildingError {
                    feature: None,
                    line: e.line(),
                    vi: format!("tệp không phải GeoJSON hợp lệ (cột {}): {e}", e.column()),
                    en: format!("not valid GeoJSON (column {}): {e}", e.column()),
                }]);
            }
            let mut feature = 0;
            for (i, line_text) in text.lines().enumerate() {
                let body = line_text.trim_matches(|c: char| c.is_whitespace() || c == '\u{1e}');
                if body.is_empty() {
                    continue;
                }
                feature += 1;
                read_feature(body, feature, i + 1, &mut out, &mut problems);
            }
        }
    }
    if out.is_empty() && problems.list.is_empty() {
        problems.push(BuildingError {
            feature: None,
            line: 1,
            vi: "tệp không có tòa nhà nào".into(),
            en: "the file holds no buildings".into(),
        });
    }
    problems.finish()?;
    Ok(out)
}

/// The line `part` (a slice of `text`) starts on.
fn line_of(text: &str, part: &str) -> usize {
    LineCounter::new(text).line_at(part)
}

#[derive(Default)]
struct Problems {
    list: Vec<BuildingError>,
    count: usize,
}

impl Problems {
    fn push(&mut self, e: BuildingError) {
        self.count += 1;
        if self.list.len() < MAX_LISTED {
            self.list.push(e);
        }
    }

    fn finish(mut self) -> Result<(), Vec<BuildingError>> {
        if self.count == 0 {
            return Ok(());
        }
        if self.count > self.list.len() {
            let more = self.count - self.list.len();
            let line = self.list.last().map_or(1, |e| e.line);
            self.list.push(BuildingError {
                feature: None,
                line,
                vi: format!("và {more} lỗi khác ({} lỗi tất cả)", self.count),
                en: format!("and {more} more problems ({} in all)", self.count),
            });
        }
        Err(self.list)
    }
}

/// Line numbers of sub-slices of one text, taken in increasing order (one pass over the text).
struct LineCounter<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter { text, offset: 0, line: 1 }
    }

    fn line_at(&mut self, part: &str) -> usize {
        let start = (part.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        let start = start.min(self.text.len()).max(self.offset);
        let between = self.text.as_bytes().get(self.offset..start).unwrap_or_default();
        self.line += between.iter().filter(|&&b| b == b'\n').count();
        self.offset = start;
        self.line
    }
}

fn read_feature(raw: &str, feature: usize, line: usize, out: &mut Vec<Building>, problems: &mut Problems) {
    let fail = |vi: String, en: String| BuildingError { feature: Some(feature), line, vi, en };
    let f: FeatureIn<'_> = match serde_json::from_str(raw) {
        Ok(f) => f,
        Err(e) => {
            problems.push(fail(format!("không phải một Feature GeoJSON: {e}"), format!("not a GeoJSON Feature: {e}")));
            return;
        }
    };
    if f.kind.as_deref() != Some("Feature") {
        problems.push(fail("thiếu \"type\": \"Feature\"".into(), "\"type\" is not \"Feature\"".into()));
        return;
    }
    let Some(geometry) = f.geometry else {
        problems.push(fail("không có hình (geometry)".into(), "has no geometry".into()));
        return;
    };
    let point = match point_of(&geometry) {
        Ok(p) => p,
        Err((vi, en)) => {
            problems.push(fail(vi, en));
            return;
        }
    };
    let props = f.properties.unwrap_or_default();
    let source_id = f.id.or(props.at_id).or(props.osm_id).and_then(|v| match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let key = match source_id {
        Some(id) => format!("id:{id}"),
        None => format!("at:{:.7},{:.7}", point.x, point.y),
    };
    out.push(Building {
        feature,
        line,
        key,
        lat: point.y,
        lon: point.x,
        address: address(props.housenumber, props.street),
    });
}

/// "Số 12 Phan Đình Phùng", as the visit form writes addresses; none when it would not be a
/// valid household address (the building still counts).
fn address(number: Option<serde_json::Value>, street: Option<serde_json::Value>) -> Option<String> {
    let text = |v: Option<serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let joined = match (text(number), text(street)) {
        (Some(n), Some(s)) => format!("Số {n} {s}"),
        (Some(n), None) => format!("Số {n}"),
        (None, Some(s)) => s,
        (None, None) => return None,
    };
    Text::parse("household.address", &joined, doorstep_domain::visit::MAX_ADDRESS_CHARS, false)
        .ok()
        .map(|t| t.as_str().to_string())
}

type Problem = (String, String);

fn point_of(g: &GeometryIn<'_>) -> Result<Coord<f64>, Problem> {
    let Some(raw) = g.coordinates else {
        return Err(("hình không có tọa độ".into(), "the geometry has no coordinates".into()));
    };
    let bad = |e: serde_json::Error| -> Problem {
        (
            format!("tọa độ của {} không đúng dạng: {e}", g.kind),
            format!("the {}'s coordinates are malformed: {e}", g.kind),
        )
    };
    match g.kind.as_str() {
        "Point" => {
            let p: Position = serde_json::from_str(raw.get()).map_err(bad)?;
            position(&p)
        }
        "Polygon" => {
            let rings: Vec<Vec<Position>> = serde_json::from_str(raw.get()).map_err(bad)?;
            centroid(&MultiPolygon::new(vec![polygon(&rings)?]))
        }
        "MultiPolygon" => {
            let polys: Vec<Vec<Vec<Position>>> = serde_json::from_str(raw.get()).map_err(bad)?;
            if polys.is_empty() {
                return Err(("MultiPolygon rỗng".into(), "the MultiPolygon is empty".into()));
            }
            let polys = polys.iter().map(|p| polygon(p)).collect::<Result<Vec<_>, _>>()?;
            centroid(&MultiPolygon::new(polys))
        }
        other => Err((
            format!("tòa nhà phải là Point, Polygon hoặc MultiPolygon, không phải {other}"),
            format!("a building must be a Point, Polygon or MultiPolygon, not a {other}"),
        )),
    }
}

fn position(p: &[f64]) -> Result<Coord<f64>, Problem> {
    let (Some(&x), Some(&y)) = (p.first(), p.get(1)) else {
        return Err(("một vị trí cần kinh độ và vĩ độ".into(), "a position needs a longitude and a latitude".into()));
    };
    if !(x.is_finite() && y.is_finite() && (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y)) {
        return Err((
            format!("vị trí [{x}, {y}] nằm ngoài [kinh độ, vĩ độ] (GeoJSON ghi kinh độ trước)"),
            format!("position [{x}, {y}] is not [longitude, latitude] (GeoJSON puts longitude first)"),
        ));
    }
    Ok(Coord { x, y })
}

fn polygon(rings: &[Vec<Position>]) -> Result<Polygon<f64>, Problem> {
    let mut out = Vec::with_capacity(rings.len());
    for ring in rings {
        let coords = ring.iter().map(|p| position(p)).collect::<Result<Vec<_>, _>>()?;
        // RFC 7946: a linear ring has four or more positions, the first and last the same.
        if coords.len() < 4 || coords.first() != coords.last() {
            return Err((
                "một vòng của đa giác cần ít nhất 4 vị trí, điểm đầu trùng điểm cuối".into(),
                "a polygon ring needs at least 4 positions, the last equal to the first".into(),
            ));
        }
        out.push(LineString::new(coords));
    }
    let mut rings = out.into_iter();
    let Some(exterior) = rings.next() else {
        return Err(("đa giác không có vòng nào".into(), "the polygon has no ring".into()));
    };
    Ok(Polygon::new(exterior, rings.collect()))
}

/// The footprint's centroid; where that is no point of the footprint's box (a ring that crosses
/// itself can put it anywhere, even past the poles: found by fuzzing), the box's centre; a
/// footprint with no area, its first corner.
fn centroid(shape: &MultiPolygon<f64>) -> Result<Coord<f64>, Problem> {
    let Some(bbox) = shape.bounding_rect() else {
        return Err(("hình không có điểm nào".into(), "the geometry has no point".into()));
    };
    let inside =
        |c: &Coord<f64>| (bbox.min().x..=bbox.max().x).contains(&c.x) && (bbox.min().y..=bbox.max().y).contains(&c.y);
    Ok(shape.centroid().map(|p| p.0).filter(inside).unwrap_or_else(|| bbox.center()))
}

/// The areas that have a boundary, indexed for "which area holds this point".
pub struct AreaIndex {
    /// (code, path, depth, boundary)
    areas: Vec<(String, String, usize, Boundary)>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl AreaIndex {
    /// From (code, path, boundary text) rows; returns the codes whose boundary could not be read.
    pub fn new(rows: Vec<(String, String, String)>) -> (AreaIndex, Vec<String>) {
        let mut areas = Vec::new();
        let mut unreadable = Vec::new();
        let mut boxes = Vec::new();
        for (code, path, text) in rows {
            let Some(b) = Boundary::parse(&text) else {
                unreadable.push(code);
                continue;
            };
            let Some(r) = b.bbox() else {
                unreadable.push(code);
                continue;
            };
            let depth = path.split('/').filter(|c| !c.is_empty()).count();
            boxes.push(GeomWithData::new(
                Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                areas.len(),
            ));
            areas.push((code, path, depth, b));
        }
        (AreaIndex { areas, tree: RTree::bulk_load(boxes) }, unreadable)
    }

    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// The deepest area whose boundary holds the point (on an edge two share: the smaller
    /// code), as (code, path).
    pub fn place(&self, lat: f64, lon: f64) -> Option<(&str, &str)> {
        // Deepest first, so that a province's long outline is tested only for points no
        // commune holds.
        let mut hits: Vec<&(String, String, usize, Boundary)> =
            self.tree.locate_all_at_point(&[lon, lat]).filter_map(|hit| self.areas.get(hit.data)).collect();
        hits.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        hits.into_iter()
            .find(|(_, _, _, boundary)| boundary.contains(lat, lon))
            .map(|(code, path, _, _)| (code.as_str(), path.as_str()))
    }
}

/// Households already found at the door, by a grid of about 11 m, to keep a building that one of
/// them already stands for out of the import.
struct Found {
    cells: HashMap<(i64, i64), Vec<(f64, f64)>>,
}

const GRID_DEG: f64 = 0.0001;

fn grid(lat: f64, lon: f64) -> (i64, i64) {
    ((lat / GRID_DEG).floor() as i64, (lon / GRID_DEG).floor() as i64)
}

impl Found {
    fn new(points: impl IntoIterator<Item = (f64, f64)>) -> Found {
        let mut cells: HashMap<(i64, i64), Vec<(f64, f64)>> = HashMap::new();
        for p in points {
            cells.entry(grid(p.0, p.1)).or_default().push(p);
        }
        Found { cells }
    }

    fn near(&self, lat: f64, lon: f64, within_m: f64) -> bool {
        if self.cells.is_empty() {
            return false;
        }
        // A grid step is at least about 10 m (longitude shrinks with latitude; Vietnam lies
        // below 24 degrees), so this many steps each way hold every point within reach.
        let reach = (within_m / 10.0).ceil() as i64 + 1;
        let (a, b) = grid(lat, lon);
        (a - reach..=a + reach).any(|i| {
            (b - reach..=b + reach).any(|j| {
                self.cells.get(&(i, j)).is_some_and(|pts| {
                    pts.iter().any(|p| doorstep_domain::quality::distance_m((lat, lon), *p) <= within_m)
                })
            })
        })
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImportReport {
    /// Buildings in the file.
    pub read: usize,
    /// New expected households.
    pub added: u64,
    /// Held already (the same building imported before).
    pub already_held: u64,
    /// Within reach of a household volunteers had already found there, which stands for it.
    pub already_found: usize,
    /// Inside no imported boundary: not imported. `outside_examples` lists the first few.
    pub outside: usize,
    pub outside_examples: Vec<OutsideBuilding>,
    /// Added or held, by the area that holds them.
    pub by_area: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutsideBuilding {
    pub feature: usize,
    pub line: usize,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} problem(s) in the file; nothing was imported:\n{}", .0.len(), list(.0))]
    File(Vec<BuildingError>),
    #[error(
        "no area has a boundary to place buildings in; import the areas' boundaries first \
         (doorstep admin import-areas FILE.geojson)"
    )]
    NoBoundaries,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn list(errors: &[BuildingError]) -> String {
    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
}

/// Reads, places and stores the buildings of `text`. Buildings outside every boundary are
/// reported and left out; a file with any malformed feature imports nothing.
pub async fn import(store: &dyn Store, text: &str, match_m: f64) -> Result<ImportReport, ImportError> {
    let buildings = parse_buildings(text).map_err(ImportError::File)?;
    let (index, unreadable) = AreaIndex::new(crate::areas::bounded_areas(store).await?);
    for code in unreadable {
        tracing::warn!(area = %code, "an area's stored boundary is not a readable polygon; skipped");
    }
    if index.is_empty() {
        return Err(ImportError::NoBoundaries);
    }
    let mut report = ImportReport { read: buildings.len(), ..ImportReport::default() };
    let mut placed: Vec<(&Building, AreaCode)> = Vec::with_capacity(buildings.len());
    let mut roots: Vec<&str> = Vec::new();
    for b in &buildings {
        match index.place(b.lat, b.lon) {
            Some((code, path)) => {
                let code = AreaCode::parse("area_code", code).map_err(|e| StoreError::Import(e.to_string()))?;
                placed.push((b, code));
                let top = path.split('/').find(|c| !c.is_empty()).unwrap_or_default();
                if !roots.contains(&top) {
                    roots.push(top);
                }
            }
            None => {
                report.outside += 1;
                if report.outside_examples.len() < MAX_LISTED {
                    report.outside_examples.push(OutsideBuilding {
                        feature: b.feature,
                        line: b.line,
                        lat: b.lat,
                        lon: b.lon,
                    });
                }
            }
        }
    }
    let found = Found::new(found_households(store, &roots).await?);
    let mut households = Vec::with_capacity(placed.len());
    for (b, code) in placed {
        if found.near(b.lat, b.lon, match_m) {
            report.already_found += 1;
            continue;
        }
        *report.by_area.entry(code.to_string()).or_default() += 1;
        households.push(NewHousehold {
            id: b.id(),
            area_code: code,
            address: b.address.clone(),
            lat: Some(b.lat),
            lon: Some(b.lon),
        });
    }
    let total = households.len() as u64;
    report.added = store.add_households(households).await?;
    report.already_held = total - report.added;
    Ok(report)
}

/// The located households volunteers found (at least one visit) under the given top areas.
async fn found_households(store: &dyn Store, roots: &[&str]) -> Result<Vec<(f64, f64)>, StoreError> {
    let mut out = Vec::new();
    for top in roots {
        let (lo, hi) = (format!("/{top}/"), format!("/{top}0"));
        for h in crate::visits::households_in(store, &lo, &hi, i64::MAX).await? {
            if h.visits > 0
                && let (Some(lat), Some(lon)) = (h.lat, h.lon)
            {
                out.push((lat, lon));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
