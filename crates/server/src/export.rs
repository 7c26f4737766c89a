//! Exports of an area's households and visits, as CSV and GeoJSON, under the map's filters.
//! Rows are encoded as the database yields them and leave in chunks, so an export of a province
//! holds a chunk in memory, not the province. CSV is UTF-8 with a byte-order mark (without it
//! Excel reads Vietnamese as mojibake) and a header row; outcome labels are in the asked language.

use std::path::Path;

use doorstep_domain::protocol::VisitDto;
use doorstep_domain::{Campaign, Lang};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::filter::{HouseholdRow, RowQuery};
use crate::store::{Store, StoreError};

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Households,
    Visits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
}

impl What {
    pub fn name(self) -> &'static str {
        match self {
            What::Households => "households",
            What::Visits => "visits",
        }
    }
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::GeoJson => "geojson",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::GeoJson => "application/geo+json",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write GeoJSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write the file: {0}")]
    Io(#[from] std::io::Error),
}

/// An export to make.
#[derive(Debug, Clone)]
pub struct ExportSpec {
    pub query: RowQuery,
    pub what: What,
    pub format: Format,
    pub lang: Lang,
}

/// One value of a row, typed for GeoJSON, written plainly for CSV.
enum Field {
    /// Codes, ids, times: written as they are.
    Text(Option<String>),
    /// Typed by a person (addresses, notes, reasons, names): guarded against spreadsheet formulas.
    Free(Option<String>),
    Int(Option<i64>),
    Real(Option<f64>),
    Bool(bool),
}

impl Field {
    fn csv(&self) -> String {
        match self {
            Field::Text(v) => v.clone().unwrap_or_default(),
            // A cell that starts like a formula would run as one when a spreadsheet opens the file.
            Field::Free(v) => match v.as_deref() {
                Some(t) if starts_like_a_formula(t) => format!("'{t}"),
                Some(t) => t.to_string(),
                None => String::new(),
            },
            Field::Int(v) => v.map(|n| n.to_string()).unwrap_or_default(),
            Field::Real(v) => v.map(|n| n.to_string()).unwrap_or_default(),
            Field::Bool(b) => b.to_string(),
        }
    }

    fn json(self) -> Value {
        match self {
            Field::Text(v) | Field::Free(v) => v.map(Value::from).unwrap_or(Value::Null),
            Field::Int(v) => v.map(Value::from).unwrap_or(Value::Null),
            Field::Real(v) => v.map(Value::from).unwrap_or(Value::Null),
            Field::Bool(b) => Value::from(b),
        }
    }
}

/// Whether a spreadsheet may read a cell as a formula: it starts with one of OWASP's triggers
/// (`=`, `+`, `-`, `@`, tab, carriage return; a line feed too), or their full-width and small
/// forms (`＝＋－＠`, `﹦﹢﹣﹫`: a spreadsheet with an East Asian input method takes `＝` for `=`), after
/// any spaces or hidden characters a cell held before they were refused.
fn starts_like_a_formula(text: &str) -> bool {
    const TRIGGERS: [char; 12] = [
        '=', '+', '-', '@', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}', '\u{FE66}', '\u{FE62}', '\u{FE63}',
        '\u{FE6B}',
    ];
    if text.starts_with(['\t', '\r', '\n']) {
        return true;
    }
    text.trim_start_matches(|c: char| c.is_whitespace() || doorstep_domain::values::is_hidden_char(c))
        .starts_with(TRIGGERS)
}

/// The household columns, in order.
pub const HOUSEHOLD_COLUMNS: &[&str] = &[
    "household_id",
    "area_code",
    "area_name",
    "address",
    "lat",
    "lon",
    "h3_cell",
    "visits",
    "latest_outcome",
    "latest_outcome_label",
    "people",
    "smartphones",
    "already_installed",
    "installed_now",
];

/// The visit columns, in order.
pub const VISIT_COLUMNS: &[&str] = &[
    "server_seq",
    "visit_id",
    "revision",
    "household_id",
    "area_code",
    "visited_at",
    "outcome",
    "outcome_label",
    "reason",
    "people",
    "smartphones",
    "already_installed",
    "installed_now",
    "leaflet_given",
    "location_source",
    "lat",
    "lon",
    "accuracy_m",
    "volunteer_id",
    "device_id",
    "notes",
    "received_at",
    "flags",
    // Last, so that readers of the older columns by position are unaffected.
    "volunteer_name",
];

fn label(campaign: &Campaign, outcome: Option<&str>, lang: Lang) -> Option<String> {
    let code = outcome?;
    Some(campaign.outcome(code).map(|o| o.label.get(lang).to_string()).unwrap_or_else(|| code.to_string()))
}

fn household_fields(r: &HouseholdRow, campaign: &Campaign, lang: Lang) -> Vec<Field> {
    let cell = r
        .h3_cell
        .and_then(|c| u64::try_from(c).ok())
        .and_then(|c| h3o::CellIndex::try_from(c).ok())
        .map(|c| c.to_string());
    vec![
        Field::Text(Some(r.id.to_string())),
        Field::Text(Some(r.area_code.clone())),
        Field::Free(Some(r.area_name.clone())),
        Field::Free(r.address.clone()),
        Field::Real(r.lat),
        Field::Real(r.lon),
        Field::Text(cell),
        Field::Int(Some(r.visits)),
        Field::Text(r.outcome.clone()),
        Field::Text(label(campaign, r.outcome.as_deref(), lang)),
        Field::Int(r.people),
        Field::Int(r.smartphones),
        Field::Int(r.already_installed),
        Field::Int(r.installed_now),
    ]
}

fn visit_fields(v: &VisitDto, campaign: &Campaign, lang: Lang) -> Vec<Field> {
    vec![
        Field::Int(Some(v.server_seq)),
        Field::Text(Some(v.id.clone())),
        Field::Int(Some(v.revision)),
        Field::Text(Some(v.household_id.clone())),
        Field::Text(Some(v.area_code.clone())),
        Field::Text(Some(v.visited_at.clone())),
        Field::Text(Some(v.outcome.clone())),
        Field::Text(label(campaign, Some(&v.outcome), lang)),
        Field::Free(v.reason.clone()),
        Field::Int(Some(v.people)),
        Field::Int(Some(v.smartphones)),
        Field::Int(Some(v.already_installed)),
        Field::Int(Some(v.installed_now)),
        Field::Bool(v.leaflet_given),
        Field::Text(Some(v.location_source.clone())),
        Field::Real(v.lat),
        Field::Real(v.lon),
        Field::Real(v.accuracy_m),
        Field::Text(Some(v.volunteer_id.clone())),
        Field::Text(Some(v.device_id.clone())),
        Field::Free(v.notes.clone()),
        Field::Text(Some(v.received_at.clone())),
        Field::Text(Some(v.flags.join(","))),
        Field::Free(v.volunteer_name.clone()),
    ]
}

/// Encodes rows into chunks of CSV or GeoJSON.
struct Encoder {
    format: Format,
    columns: &'static [&'static str],
    buf: Vec<u8>,
    features: u64,
}

/// A chunk leaves once it holds this much.
const CHUNK: usize = 64 << 10;

impl Encoder {
    fn new(format: Format, columns: &'static [&'static str]) -> Result<Encoder, ExportError> {
        let mut e = Encoder { format, columns, buf: Vec::with_capacity(CHUNK + 4096), features: 0 };
        match format {
            Format::Csv => {
                e.buf.extend_from_slice("\u{feff}".as_bytes());
                e.csv_record(columns.iter().map(|c| c.to_string()))?;
            }
            Format::GeoJson => e.buf.extend_from_slice(br#"{"type":"FeatureCollection","features":["#),
        }
        Ok(e)
    }

    fn csv_record(&mut self, fields: impl IntoIterator<Item = String>) -> Result<(), ExportError> {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut self.buf);
        w.write_record(fields)?;
        w.flush()?;
        Ok(())
    }

    fn row(&mut self, fields: Vec<Field>, point: Option<(f64, f64)>) -> Result<(), ExportError> {
        match self.format {
            Format::Csv => self.csv_record(fields.iter().map(Field::csv)),
            Format::GeoJson => {
                let properties: serde_json::Map<String, Value> =
                    self.columns.iter().zip(fields).map(|(c, f)| (c.to_string(), f.json())).collect();
                let feature = geojson::Feature {
                    bbox: None,
                    geometry: point.map(|(lat, lon)| geojson::Geometry::new_point([lon, lat])),
                    id: None,
                    properties: Some(properties),
                    foreign_members: None,
                };
                if self.features > 0 {
                    self.buf.push(b',');
                }
                self.features += 1;
                serde_json::to_writer(&mut self.buf, &feature)?;
                Ok(())
            }
        }
    }

    fn full(&self) -> bool {
        self.buf.len() >= CHUNK
    }

    fn take(&mut self) -> Vec<u8> {
        std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + 4096))
    }

    fn finish(mut self) -> Vec<u8> {
        if self.format == Format::GeoJson {
            self.buf.extend_from_slice(b"]}");
        }
        self.buf
    }
}

/// Runs an export: reads the rows, encodes them and sends the chunks to `out`; the last chunk
/// (which closes a GeoJSON document) only once every row was read. Returns the rows written.
/// Stops early, without error, when `out`'s receiver is gone.
pub async fn run(
    store: &dyn Store, campaign: &Campaign, spec: ExportSpec, out: &mpsc::Sender<Vec<u8>>,
) -> Result<u64, ExportError> {
    let lang = spec.lang;
    match spec.what {
        What::Households => {
            let (tx, rx) = mpsc::channel(1024);
            let produce = store.stream_households(spec.query, tx);
            let consume = encode(rx, spec.format, HOUSEHOLD_COLUMNS, out, |r: &HouseholdRow| {
                (household_fields(r, campaign, lang), r.lat.zip(r.lon))
            });
            finish(tokio::join!(produce, consume), out).await
        }
        What::Visits => {
            let (tx, rx) = mpsc::channel(1024);
            let produce = store.stream_visits(spec.query, tx);
            let consume = encode(rx, spec.format, VISIT_COLUMNS, out, |v: &VisitDto| {
                (visit_fields(v, campaign, lang), v.lat.zip(v.lon))
            });
            finish(tokio::join!(produce, consume), out).await
        }
    }
}

type Encoded = Result<Option<(Encoder, u64)>, ExportError>;

async fn encode<T>(
    mut rx: mpsc::Receiver<T>, format: Format, columns: &'static [&'static str], out: &mpsc::Sender<Vec<u8>>,
    fields: impl Fn(&T) -> (Vec<Field>, Option<(f64, f64)>),
) -> Encoded {
    let mut enc = Encoder::new(format, columns)?;
    let mut rows = 0;
    while let Some(r) = rx.recv().await {
        let (f, point) = fields(&r);
        enc.row(f, point)?;
        rows += 1;
        if enc.full() && out.send(enc.take()).await.is_err() {
            return Ok(None);
        }
    }
    Ok(Some((enc, rows)))
}

async fn finish(done: (Result<(), StoreError>, Encoded), out: &mpsc::Sender<Vec<u8>>) -> Result<u64, ExportError> {
    let (read, encoded) = done;
    read?;
    let Some((enc, rows)) = encoded? else { return Ok(0) };
    // A receiver gone now has all it wanted.
    let _ = out.send(enc.finish()).await;
    Ok(rows)
}

/// Writes an export to a new file (the command line's `doorstep export`); returns (rows, bytes).
pub async fn write_file(
    store: &dyn Store, campaign: &Campaign, spec: ExportSpec, path: &Path,
) -> Result<(u64, u64), ExportError> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create_new(path)?);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(4);
    let write = async move {
        let mut bytes = 0u64;
        while let Some(chunk) = rx.recv().await {
            file.write_all(&chunk)?;
            bytes += chunk.len() as u64;
        }
        file.flush()?;
        Ok::<u64, std::io::Error>(bytes)
    };
    let export = async move { run(store, campaign, spec, &tx).await };
    let (rows, bytes) = tokio::join!(export, write);
    Ok((rows?, bytes?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_starts_with_a_bom_and_guards_formulas() {
        let mut e = Encoder::new(Format::Csv, &["a", "b"]).unwrap();
        e.row(vec![Field::Free(Some("=1+1".into())), Field::Free(Some("Số 5, Hà Tĩnh".into()))], None).unwrap();
        let text = String::from_utf8(e.finish()).unwrap();
        assert_eq!(text, "\u{feff}a,b\r\n'=1+1,\"Số 5, Hà Tĩnh\"\r\n");
    }

    #[test]
    fn formulas_in_full_width_and_behind_spaces_are_guarded_too() {
        let csv = |t: &str| Field::Free(Some(t.into())).csv();
        for formula in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-1+2",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "\nx",
            "＝1+1",
            "＋1",
            "－1",
            "＠SUM(A1)",
            "﹦1",
            "﹢1",
            "﹣1",
            "﹫x",
            " =1+1",
            "\u{200B}=1+1",
            "\u{FEFF}＝1",
        ] {
            assert_eq!(csv(formula), format!("'{formula}"), "{formula:?}");
        }
        for plain in ["Số 5, Hà Tĩnh", "1+1", "a=b", "Email: x@y.vn", "", "Ngõ 3 - Trần Phú"] {
            assert_eq!(csv(plain), plain, "{plain:?}");
        }
        // Codes, ids and times are not free text: written as they are.
        assert_eq!(Field::Text(Some("-05:00".into())).csv(), "-05:00");
    }

    #[test]
    fn geojson_is_one_collection_of_features() {
        let mut e = Encoder::new(Format::GeoJson, &["n", "name"]).unwrap();
        e.row(vec![Field::Int(Some(1)), Field::Free(Some("Nam Hà".into()))], Some((18.34, 105.9))).unwrap();
        e.row(vec![Field::Int(None), Field::Free(None)], None).unwrap();
        let v: Value = serde_json::from_slice(&e.finish()).unwrap();
        assert_eq!(v["features"][0]["geometry"]["coordinates"], serde_json::json!([105.9, 18.34]));
        assert_eq!(v["features"][0]["properties"]["name"], "Nam Hà");
        assert!(v["features"][1]["geometry"].is_null());
        assert!(v["features"][1]["properties"]["n"].is_null());
    }
}
