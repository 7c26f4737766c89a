//! The area tree (địa bàn): province > district > commune > village, or since July 2025
//! province > commune. The depth is data: a node knows only its parent.
//!
//! Two import formats are read here, from text (no I/O): the General Statistics Office trees in
//! `data/areas/` (nested JSON), and a GeoJSON FeatureCollection of areas with boundaries.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::FieldError;
use crate::values::{AreaCode, Text};

/// The longest area name taken: "Thành phố Hồ Chí Minh" and the longest commune names are under
/// 40 characters; a name of thousands is an attack on every page that lists areas.
pub const MAX_AREA_NAME_CHARS: usize = 120;

/// The longest division type ("Thành phố trực thuộc trung ương" is 31).
pub const MAX_DIVISION_TYPE_CHARS: usize = 60;

/// One node of the area tree as an importer produces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AreaRecord {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub code: AreaCode,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub parent: Option<AreaCode>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub name: Text,
    pub division_type: Option<String>,
    /// A GeoJSON Polygon or MultiPolygon, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<String>,
}

/// Why an area file was refused. Nothing of a refused file is imported.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImportError {
    #[error("line {line}, column {column}: {message}")]
    Syntax { line: usize, column: usize, message: String },
    #[error("{path}: {message}")]
    Node { path: String, message: String },
    #[error("feature {index}{}: {message}", code.as_ref().map(|c| format!(" (code {c})")).unwrap_or_default())]
    Feature { index: usize, code: Option<String>, message: String },
    #[error("{0}")]
    Format(String),
    /// A value refused where it stands in the file (its field is in `error`).
    #[error("{}", self.messages().en)]
    Invalid { at: Place, error: FieldError },
}

/// Where in an area file a refused value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A node of a GSO tree: the line its value is on, and its path (`province.districts[3]`).
    Node { line: usize, path: String },
    /// A GeoJSON feature, by index, with its code when it has one.
    Feature { index: usize, code: Option<String> },
}

impl ImportError {
    /// What is wrong and where, in both languages. Only [`ImportError::Invalid`] has a Vietnamese
    /// text of its own; the others (a file that is not JSON, a geometry) are told in English both
    /// times, as the file's own terms are.
    pub fn messages(&self) -> crate::Messages {
        match self {
            ImportError::Invalid { at, error } => {
                let m = error.messages();
                let (vi, en) = match at {
                    Place::Node { line, path } => (format!("dòng {line}, {path}"), format!("line {line}, {path}")),
                    Place::Feature { index, code } => match code {
                        Some(c) => (format!("đối tượng {index} (mã {c})"), format!("feature {index} (code {c})")),
                        None => (format!("đối tượng {index}"), format!("feature {index}")),
                    },
                };
                crate::Messages { vi: format!("{vi}: {}", m.vi), en: format!("{en}: {}", m.en) }
            }
            other => {
                let en = other.to_string();
                crate::Messages { vi: en.clone(), en }
            }
        }
    }
}

/// A code as the GSO files give it: a number or a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawCode {
    Number(u64),
    Text(String),
}

impl RawCode {
    fn as_string(&self) -> String {
        match self {
            RawCode::Number(n) => n.to_string(),
            RawCode::Text(s) => s.clone(),
        }
    }
}

/// A node's name as it stands in the file, so that a refused one is told by its line.
#[derive(Debug)]
struct LocatedText<'a> {
    text: String,
    raw: &'a serde_json::value::RawValue,
}

impl<'de: 'a, 'a> Deserialize<'de> for LocatedText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'a serde_json::value::RawValue>::deserialize(d)?;
        let text = serde_json::from_str::<String>(raw.get())
            .map_err(|_| serde::de::Error::custom(format!("expected a string, found {}", raw.get())))?;
        Ok(LocatedText { text, raw })
    }
}

#[derive(Debug, Deserialize)]
struct GsoNode<'a> {
    code: RawCode,
    #[serde(borrow)]
    name: LocatedText<'a>,
    #[serde(default)]
    division_type: Option<String>,
    // The level names the GSO files use for children; exactly one of them may be present.
    #[serde(default, borrow)]
    districts: Option<Vec<GsoNode<'a>>>,
    #[serde(default, borrow)]
    communes: Option<Vec<GsoNode<'a>>>,
    #[serde(default, borrow)]
    wards: Option<Vec<GsoNode<'a>>>,
    #[serde(default, borrow)]
    villages: Option<Vec<GsoNode<'a>>>,
    #[serde(default, borrow)]
    children: Option<Vec<GsoNode<'a>>>,
}

#[derive(Debug, Deserialize)]
struct GsoFile<'a> {
    #[serde(borrow)]
    province: GsoNode<'a>,
}

/// The line of `text` on which `part` (a slice of it) starts.
fn line_in(text: &str, part: &str) -> usize {
    let offset = (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize).min(text.len());
    text.as_bytes()[..offset].iter().filter(|b| **b == b'\n').count() + 1
}

/// A division type ("tỉnh", "xã"): checked as any name is; blank is none.
fn division_type(raw: Option<&str>, field: &str) -> Result<Option<String>, FieldError> {
    Ok(Text::parse_optional(field, raw, MAX_DIVISION_TYPE_CHARS, false)?.map(|t| t.as_str().to_string()))
}

/// Reads a GSO tree: `{"province": {"code", "name", "division_type", "districts" | "communes": [...]}}`
/// nested to any depth. Areas come out parents first.
pub fn parse_gso_tree(text: &str) -> Result<Vec<AreaRecord>, ImportError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let file: GsoFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        let path = e.path().to_string();
        ImportError::Syntax {
            line: inner.line(),
            column: inner.column(),
            message: if path == "." { inner.to_string() } else { format!("at {path}: {inner}") },
        }
    })?;
    let mut out = Vec::new();
    walk(text, &file.province, None, "province".to_string(), &mut out)?;
    check_unique(&out)?;
    Ok(out)
}

fn walk(
    text: &str, node: &GsoNode, parent: Option<&AreaCode>, path: String, out: &mut Vec<AreaRecord>,
) -> Result<(), ImportError> {
    let node_err = |message: String| ImportError::Node { path: path.clone(), message };
    let invalid = |error: FieldError| ImportError::Invalid {
        at: Place::Node { line: line_in(text, node.name.raw.get()), path: path.clone() },
        error,
    };
    let code = AreaCode::parse("code", &node.code.as_string()).map_err(invalid)?;
    let name = Text::parse("name", &node.name.text, MAX_AREA_NAME_CHARS, false).map_err(invalid)?;
    let division_type = division_type(node.division_type.as_deref(), "division_type").map_err(invalid)?;
    out.push(AreaRecord { code: code.clone(), parent: parent.cloned(), name, division_type, boundary: None });
    let lists = [
        ("districts", &node.districts),
        ("communes", &node.communes),
        ("wards", &node.wards),
        ("villages", &node.villages),
        ("children", &node.children),
    ];
    let present: Vec<_> = lists.iter().filter_map(|(k, v)| v.as_ref().map(|v| (*k, v))).collect();
    if present.len() > 1 {
        return Err(node_err(format!(
            "more than one list of children ({})",
            present.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
        )));
    }
    if let Some((key, children)) = present.first() {
        for (i, child) in children.iter().enumerate() {
            walk(text, child, Some(&code), format!("{path}.{key}[{i}]"), out)?;
        }
    }
    Ok(())
}

/// Each code once per file. Used by every importer.
fn check_unique(areas: &[AreaRecord]) -> Result<(), ImportError> {
    let mut seen = HashSet::new();
    for a in areas {
        if !seen.insert(a.code.as_str()) {
            return Err(ImportError::Format(format!("area code {} appears more than once", a.code)));
        }
    }
    Ok(())
}

/// Reads a GeoJSON FeatureCollection of areas. Each feature's properties hold `code`, `name`, and
/// optionally `parent_code` and `division_type`; its geometry is a Polygon or MultiPolygon, or null.
/// A parent code may name an area already in the database: the store checks that on import.
pub fn parse_geojson_areas(text: &str) -> Result<Vec<AreaRecord>, ImportError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ImportError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if value.get("type").and_then(|t| t.as_str()) != Some("FeatureCollection") {
        return Err(ImportError::Format(
            "expected a GeoJSON FeatureCollection (\"type\": \"FeatureCollection\")".into(),
        ));
    }
    let features = value
        .get("features")
        .and_then(|f| f.as_array())
        .ok_or_else(|| ImportError::Format("a FeatureCollection needs a \"features\" array".into()))?;
    let mut out = Vec::with_capacity(features.len());
    for (index, raw) in features.iter().enumerate() {
        let code_hint = raw.pointer("/properties/code").map(|c| match c {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let err = |message: String| ImportError::Feature { index, code: code_hint.clone(), message };
        let feature: geojson::Feature =
            serde_json::from_value(raw.clone()).map_err(|e| err(format!("not a GeoJSON Feature: {e}")))?;
        let props = feature.properties.as_ref().ok_or_else(|| err("no properties".into()))?;
        let text_prop = |key: &str| -> Option<String> {
            match props.get(key)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let invalid =
            |error: FieldError| ImportError::Invalid { at: Place::Feature { index, code: code_hint.clone() }, error };
        let code = text_prop("code").ok_or_else(|| err("properties.code is missing".into()))?;
        let code = AreaCode::parse("properties.code", &code).map_err(invalid)?;
        let name = text_prop("name").ok_or_else(|| err("properties.name is missing".into()))?;
        let name = Text::parse("properties.name", &name, MAX_AREA_NAME_CHARS, false).map_err(invalid)?;
        let parent = match text_prop("parent_code") {
            Some(p) if !p.trim().is_empty() => Some(AreaCode::parse("properties.parent_code", &p).map_err(invalid)?),
            _ => None,
        };
        let division_type =
            division_type(text_prop("division_type").as_deref(), "properties.division_type").map_err(invalid)?;
        let boundary = match &feature.geometry {
            None => None,
            Some(g) => match &g.value {
                geojson::GeometryValue::Polygon { coordinates } => {
                    check_polygon(coordinates).map_err(err)?;
                    Some(serde_json::to_string(g).map_err(|e| err(e.to_string()))?)
                }
                geojson::GeometryValue::MultiPolygon { coordinates } => {
                    if coordinates.is_empty() {
                        return Err(err("a MultiPolygon needs at least one polygon".into()));
                    }
                    for (i, polygon) in coordinates.iter().enumerate() {
                        check_polygon(polygon).map_err(|m| err(format!("polygon {i}: {m}")))?;
                    }
                    Some(serde_json::to_string(g).map_err(|e| err(e.to_string()))?)
                }
                other => {
                    return Err(err(format!("geometry must be a Polygon or MultiPolygon, not {}", other.type_name())));
                }
            },
        };
        out.push(AreaRecord { code, parent, name, division_type, boundary });
    }
    check_unique(&out)?;
    Ok(out)
}

/// A polygon as RFC 7946 has it: an outer ring, then holes; each ring closed, of at least four
/// positions, each a longitude then a latitude on Earth. The `outside_area` flag reads boundaries
/// as exactly that, so a boundary it could not read is refused here rather than stored and then
/// silently never flagging anything.
fn check_polygon(rings: &[Vec<geojson::Position>]) -> Result<(), String> {
    if rings.is_empty() {
        return Err("a polygon needs an outer ring".into());
    }
    for (r, ring) in rings.iter().enumerate() {
        if ring.len() < 4 {
            return Err(format!("ring {r} has {} positions; a closed ring needs at least 4", ring.len()));
        }
        for (k, p) in ring.iter().enumerate() {
            let (lon, lat) = match p.as_slice() {
                [lon, lat, ..] => (*lon, *lat),
                _ => {
                    return Err(format!("ring {r}, position {k}: a position needs a longitude and a latitude"));
                }
            };
            // `contains` is false for NaN too.
            if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                return Err(format!(
                    "ring {r}, position {k}: [{lon}, {lat}] is not on Earth (GeoJSON puts the longitude first)"
                ));
            }
        }
        let (first, last) = (ring[0].as_slice(), ring[ring.len() - 1].as_slice());
        if first[..2] != last[..2] {
            return Err(format!("ring {r} is not closed: its first and last positions differ"));
        }
    }
    Ok(())
}

/// Reads either format, telling them apart by their top level.
pub fn parse_area_file(text: &str) -> Result<Vec<AreaRecord>, ImportError> {
    let looks_geojson = text.contains("\"FeatureCollection\"");
    if looks_geojson { parse_geojson_areas(text) } else { parse_gso_tree(text) }
}

/// Orders areas so that every parent comes before its children, and refuses cycles. `known`
/// answers whether a parent outside the list already exists.
pub fn order_parents_first(
    areas: Vec<AreaRecord>, known: impl Fn(&AreaCode) -> bool,
) -> Result<Vec<AreaRecord>, ImportError> {
    let index: HashMap<AreaCode, usize> = areas.iter().enumerate().map(|(i, a)| (a.code.clone(), i)).collect();
    for a in &areas {
        if let Some(p) = &a.parent
            && !index.contains_key(p)
            && !known(p)
        {
            return Err(ImportError::Node {
                path: format!("area {}", a.code),
                message: format!("parent {p} is neither in the file nor already imported"),
            });
        }
    }
    // Depth-first from each node up to a root or a known area; a node seen twice on one climb is a cycle.
    let mut depth: Vec<Option<usize>> = vec![None; areas.len()];
    for start in 0..areas.len() {
        let mut chain = Vec::new();
        let mut cur = Some(start);
        let mut base = 0;
        while let Some(i) = cur {
            if let Some(d) = depth[i] {
                base = d + 1;
                break;
            }
            if chain.contains(&i) {
                return Err(ImportError::Node {
                    path: format!("area {}", areas[i].code),
                    message: "the parent links form a cycle".into(),
                });
            }
            chain.push(i);
            cur = areas[i].parent.as_ref().and_then(|p| index.get(p).copied());
        }
        for (k, i) in chain.iter().rev().enumerate() {
            depth[*i] = Some(base + k);
        }
    }
    let mut order: Vec<usize> = (0..areas.len()).collect();
    order.sort_by_key(|i| depth[*i]);
    let mut slots: Vec<Option<AreaRecord>> = areas.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// Folds a name for search: no diacritics, đ as d, lower case. "Hà Tĩnh" and "ha tinh" fold alike.
pub fn fold_for_search(s: &str) -> String {
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// A key that sorts names the Vietnamese way: letters in the Vietnamese alphabet's order
/// (a ă â b c d đ e ê ... o ô ơ ... u ư ...), then tones (none, grave, hook, tilde, acute, dot)
/// only where the letters are equal.
pub fn vietnamese_sort_key(s: &str) -> Vec<u32> {
    let mut letters = Vec::new();
    let mut tones = Vec::new();
    for c in s.nfd().flat_map(char::to_lowercase) {
        match c {
            // Tone marks, in the order dictionaries use.
            '\u{0300}' => tone(&mut tones, 1),
            '\u{0309}' => tone(&mut tones, 2),
            '\u{0303}' => tone(&mut tones, 3),
            '\u{0301}' => tone(&mut tones, 4),
            '\u{0323}' => tone(&mut tones, 5),
            // Letter modifiers make distinct letters: ă â ê ô ơ ư.
            '\u{0306}' => modify(&mut letters, 1),
            '\u{0302}' => modify(&mut letters, 2),
            '\u{031B}' => modify(&mut letters, 3),
            c if unicode_normalization::char::is_combining_mark(c) => {}
            'đ' => {
                letters.push(u32::from('d') * 4 + 1);
                tones.push(0);
            }
            c => {
                letters.push(u32::from(c) * 4);
                tones.push(0);
            }
        }
    }
    letters.push(0);
    letters.extend(tones);
    letters
}

fn tone(tones: &mut [u32], t: u32) {
    if let Some(last) = tones.last_mut() {
        *last = t;
    }
}

fn modify(letters: &mut [u32], m: u32) {
    if let Some(last) = letters.last_mut() {
        *last += m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE_TIER: &str = include_str!("../../../data/areas/ha-tinh-2020-three-tier.json");
    const TWO_TIER: &str = include_str!("../../../data/areas/ha-tinh-2025-two-tier.json");

    #[test]
    fn reads_the_2020_three_tier_tree() {
        let areas = parse_gso_tree(THREE_TIER).unwrap();
        let root: Vec<_> = areas.iter().filter(|a| a.parent.is_none()).collect();
        assert_eq!(root.len(), 1);
        assert_eq!(root[0].code.as_str(), "42");
        let districts = areas.iter().filter(|a| a.parent.as_ref().map(|p| p.as_str()) == Some("42")).count();
        assert_eq!(districts, 12, "12 districts in the 2020 file");
        assert_eq!(areas.len(), 1 + 12 + 210);
        let nam_ha = areas.iter().find(|a| a.code.as_str() == "18073").unwrap();
        assert_eq!(nam_ha.name.as_str(), "Phường Nam Hà");
        assert_eq!(nam_ha.parent.as_ref().unwrap().as_str(), "436");
    }

    #[test]
    fn reads_the_2025_two_tier_tree() {
        let areas = parse_gso_tree(TWO_TIER).unwrap();
        assert_eq!(areas.len(), 1 + 69);
        assert!(areas[1..].iter().all(|a| a.parent.as_ref().unwrap().as_str() == "42"));
    }

    #[test]
    fn a_malformed_tree_names_the_place() {
        let e =
            parse_gso_tree(r#"{"province": {"code": 42, "name": "Hà Tĩnh", "communes": [{"code": 1, "name": 5}]}}"#)
                .unwrap_err();
        match e {
            ImportError::Syntax { line: 1, message, .. } => {
                assert!(message.contains("province.communes[0].name"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        let e = parse_gso_tree("{\n \"province\": {\"code\": 42,\n \"name\": \"x\",,}}").unwrap_err();
        assert!(matches!(e, ImportError::Syntax { line: 3, .. }), "{e:?}");
        let e =
            parse_gso_tree(r#"{"province": {"code": 42, "name": "x", "communes": [{"code": "1 2", "name": "y"}]}}"#)
                .unwrap_err();
        assert_eq!(e.to_string().split(':').next().unwrap(), "line 1, province.communes[0]");
        let e = parse_gso_tree(r#"{"province": {"code": 42, "name": "x", "communes": [{"code": 42, "name": "y"}]}}"#)
            .unwrap_err();
        assert!(e.to_string().contains("more than once"), "{e}");
        let e = parse_gso_tree(r#"{"province": {"code": 42, "name": " ", "communes": []}}"#).unwrap_err();
        assert!(e.to_string().starts_with("line 1, province:"), "{e}");
    }

    /// Names that would show as something else, or fill every list they are in, are refused by
    /// the line they are on and their place, in both languages; nothing of the file is taken.
    #[test]
    fn a_name_with_hidden_or_control_characters_or_too_long_is_refused_by_line() {
        let tree = |name: &str, division: &str| {
            format!(
                "{{\"province\": {{\"code\": 42, \"name\": \"Hà Tĩnh\", \"districts\": [\n\
                 {{\"code\": 436, \"name\": \"Thành phố Hà Tĩnh\", \"communes\": [\n\
                 {{\"code\": 18070, \"name\": \"Phường Trần Phú\"}},\n\
                 {{\"code\": 18073, \"name\": {}, \"division_type\": {}}}\n\
                 ]}}]}}}}",
                serde_json::to_string(name).unwrap(),
                serde_json::to_string(division).unwrap()
            )
        };
        assert_eq!(parse_gso_tree(&tree("Phường Nam Hà", "phường")).unwrap().len(), 4);
        let long = "a".repeat(100_000);
        for (name, division, field, code) in [
            ("Nam\u{0}Hà", "phường", "name", "control_characters"),
            ("Phường \u{202E}àH maN", "phường", "name", "hidden_characters"),
            ("Nam\u{200B}Hà", "phường", "name", "hidden_characters"),
            (long.as_str(), "phường", "name", "too_long"),
            ("Phường Nam Hà", "phư\u{2066}ờng", "division_type", "hidden_characters"),
            ("Phường Nam Hà", long.as_str(), "division_type", "too_long"),
        ] {
            let e = parse_gso_tree(&tree(name, division)).unwrap_err();
            let ImportError::Invalid { at, error } = &e else { panic!("{e:?}") };
            assert_eq!(at, &Place::Node { line: 4, path: "province.districts[0].communes[1]".into() });
            assert_eq!((error.field.as_str(), error.code()), (field, code));
            let m = e.messages();
            assert!(m.en.starts_with("line 4, province.districts[0].communes[1]: "), "{}", m.en);
            assert!(m.vi.starts_with("dòng 4, province.districts[0].communes[1]: "), "{}", m.vi);
            assert!(m.vi.contains(&format!("«{field}»")) && m.en.contains(&format!("'{field}'")));
            assert_eq!(e.to_string(), m.en);
            assert!(m.en.len() < 400, "a long name is not echoed back");
        }
        // The same in a GeoJSON feature: named by its index and code.
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[{},{{"type":"Feature","properties":{{"code":"x2","name":"Th\u202eôn"}},"geometry":null}}]}}"#,
            feature("x1", None, "null")
        );
        let e = parse_geojson_areas(&text).unwrap_err();
        assert_eq!(
            e.to_string(),
            "feature 1 (code x2): The field 'properties.name' contains hidden characters (text-direction or \
             zero-width characters) that can make it display as something else; delete it and type it again."
        );
        assert!(e.messages().vi.starts_with("đối tượng 1 (mã x2): Trường «properties.name»"));
        let text = text.replace("Th\\u202eôn", "Th\\u0000ôn");
        let e = parse_geojson_areas(&text).unwrap_err();
        assert!(matches!(&e, ImportError::Invalid { error, .. } if error.code() == "control_characters"), "{e:?}");
    }

    fn feature(code: &str, parent: Option<&str>, geometry: &str) -> String {
        let parent = parent.map(|p| format!(r#","parent_code":"{p}""#)).unwrap_or_default();
        format!(
            r#"{{"type":"Feature","properties":{{"code":"{code}","name":"Thôn {code}"{parent}}},"geometry":{geometry}}}"#
        )
    }

    const SQUARE: &str =
        r#"{"type":"Polygon","coordinates":[[[105.9,18.3],[105.91,18.3],[105.91,18.31],[105.9,18.31],[105.9,18.3]]]}"#;

    #[test]
    fn reads_geojson_areas_with_boundaries() {
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[{},{}]}}"#,
            feature("18073-01", Some("18073"), SQUARE),
            feature("18073-02", Some("18073"), "null")
        );
        let areas = parse_area_file(&text).unwrap();
        assert_eq!(areas.len(), 2);
        assert!(areas[0].boundary.as_ref().unwrap().contains("Polygon"));
        assert_eq!(areas[1].boundary, None);
        assert_eq!(areas[0].parent.as_ref().unwrap().as_str(), "18073");
    }

    #[test]
    fn a_bad_feature_is_named_by_index_and_code() {
        let point = r#"{"type":"Point","coordinates":[105.9,18.3]}"#;
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[{},{}]}}"#,
            feature("a", None, SQUARE),
            feature("b", None, point)
        );
        let e = parse_geojson_areas(&text).unwrap_err();
        assert_eq!(e.to_string(), "feature 1 (code b): geometry must be a Polygon or MultiPolygon, not Point");
        let e = parse_geojson_areas(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x"},"geometry":null}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "feature 0: properties.code is missing");
        assert!(matches!(parse_geojson_areas(r#"{"type":"Feature"}"#), Err(ImportError::Format(_))));
    }

    /// Found by the `area_file` fuzz target: a MultiPolygon whose position held one number was
    /// imported, and the `outside_area` flag could not read the stored boundary. Every polygon
    /// is now checked on import, and refused with where it is wrong.
    #[test]
    fn a_boundary_the_outside_area_flag_could_not_read_is_refused() {
        let with = |geometry: &str| {
            parse_geojson_areas(&format!(
                r#"{{"type":"FeatureCollection","features":[{}]}}"#,
                feature("x", None, geometry)
            ))
        };
        let refused = |geometry: &str, says: &str| {
            let e = with(geometry).unwrap_err().to_string();
            assert!(e.starts_with("feature 0 (code x): ") && e.contains(says), "{geometry}: {e}");
        };
        refused(
            r#"{"type":"MultiPolygon","coordinates":[[[[118.2]]],[[[105.7,18.1],[105.75,18.1],[105.75,18.15],[105.7,18.1]]]]}"#,
            "polygon 0: ring 0 has 1 positions",
        );
        refused(
            r#"{"type":"Polygon","coordinates":[[[105.9],[105.91,18.3],[105.91,18.31],[105.9]]]}"#,
            "ring 0, position 0: a position needs a longitude and a latitude",
        );
        refused(r#"{"type":"Polygon","coordinates":[]}"#, "a polygon needs an outer ring");
        refused(r#"{"type":"MultiPolygon","coordinates":[]}"#, "a MultiPolygon needs at least one polygon");
        refused(
            r#"{"type":"Polygon","coordinates":[[[105.9,18.3],[105.91,18.3],[105.9,18.3]]]}"#,
            "ring 0 has 3 positions",
        );
        refused(
            r#"{"type":"Polygon","coordinates":[[[105.9,18.3],[105.91,18.3],[105.91,18.31],[105.9,18.31]]]}"#,
            "ring 0 is not closed",
        );
        refused(
            r#"{"type":"Polygon","coordinates":[[[18.3,105.9],[18.3,105.91],[18.31,105.91],[18.3,105.9]]]}"#,
            "[18.3, 105.9] is not on Earth (GeoJSON puts the longitude first)",
        );
        // An altitude after the latitude is allowed, as RFC 7946 allows it.
        let ok = with(
            r#"{"type":"Polygon","coordinates":[[[105.9,18.3,2],[105.91,18.3,2],[105.91,18.31,2],[105.9,18.3,2]]]}"#,
        );
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn ordering_puts_parents_first_and_refuses_cycles_and_orphans() {
        let rec = |c: &str, p: Option<&str>| AreaRecord {
            code: AreaCode::parse("c", c).unwrap(),
            parent: p.map(|p| AreaCode::parse("p", p).unwrap()),
            name: Text::parse("n", c, 10, false).unwrap(),
            division_type: None,
            boundary: None,
        };
        let ordered =
            order_parents_first(vec![rec("c", Some("b")), rec("b", Some("a")), rec("a", None)], |_| false).unwrap();
        let codes: Vec<_> = ordered.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(codes, ["a", "b", "c"]);
        assert!(
            order_parents_first(vec![rec("a", Some("b")), rec("b", Some("a"))], |_| false)
                .unwrap_err()
                .to_string()
                .contains("cycle")
        );
        assert!(order_parents_first(vec![rec("a", Some("zz"))], |_| false).is_err());
        assert!(order_parents_first(vec![rec("a", Some("zz"))], |c| c.as_str() == "zz").is_ok());
    }

    #[test]
    fn vietnamese_search_and_sort() {
        assert_eq!(fold_for_search("Thành phố Hà Tĩnh"), "thanh pho ha tinh");
        assert_eq!(fold_for_search("Đức Thọ"), "duc tho");
        let mut names = vec!["Đức Thọ", "Can Lộc", "Cẩm Xuyên", "Ân Thi", "An Phú", "Dương", "Hà", "Hạ", "Ha"];
        names.sort_by_key(|n| vietnamese_sort_key(n));
        assert_eq!(names, ["An Phú", "Ân Thi", "Can Lộc", "Cẩm Xuyên", "Dương", "Đức Thọ", "Ha", "Hà", "Hạ"]);
    }
}
