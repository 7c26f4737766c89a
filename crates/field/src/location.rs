//! Where the volunteer stands, and whether that looks right.

use doorstep_domain::Messages;
use geo::{Contains, ConvexHull, Distance, Haversine, MultiPoint, Point};
use serde::{Deserialize, Serialize};

/// Past this distance from every known household of the assigned areas, and outside their hull,
/// a fix is "outside the area". Generous: a hamlet's edge households are not its boundary.
const OUTSIDE_MARGIN_M: f64 = 300.0;

/// A position from a provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// `gps` (the platform), `fixed` (configuration), `webview` (ask the web view), `none`.
    pub source: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
}

impl Fix {
    pub fn none() -> Fix {
        Fix { source: "none".into(), lat: None, lon: None, accuracy_m: None }
    }

    pub fn webview() -> Fix {
        Fix { source: "webview".into(), ..Fix::none() }
    }

    /// "lat,lon[,accuracy_m]", as `DOORSTEP_FIXED_LOCATION` holds it.
    pub fn parse_fixed(text: &str) -> Option<Fix> {
        let parts: Vec<f64> = text.split(',').map(|p| p.trim().parse::<f64>()).collect::<Result<_, _>>().ok()?;
        let (lat, lon, acc) = match parts[..] {
            [lat, lon] => (lat, lon, 10.0),
            [lat, lon, acc] => (lat, lon, acc),
            _ => return None,
        };
        let valid = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) && acc.is_finite() && acc >= 0.0;
        valid.then(|| Fix { source: "fixed".into(), lat: Some(lat), lon: Some(lon), accuracy_m: Some(acc) })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationWarning {
    /// `poor_accuracy` or `outside_area`.
    pub code: String,
    pub messages: Messages,
}

/// Metres between two (lat, lon) points on the sphere.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    Haversine.distance(Point::new(a.1, a.0), Point::new(b.1, b.0))
}

/// The warnings for a fix, given the accuracy threshold and the known households (lat, lon) of
/// the areas the volunteer works in. With fewer than three known households nothing is said
/// about the area: there is no shape to compare with.
pub fn check_location(
    at: (f64, f64), accuracy_m: Option<f64>, threshold_m: f64, known: &[(f64, f64)],
) -> Vec<LocationWarning> {
    let mut warnings = Vec::new();
    if let Some(acc) = accuracy_m
        && acc > threshold_m
    {
        warnings.push(LocationWarning {
            code: "poor_accuracy".into(),
            messages: Messages {
                vi: format!("Vị trí chưa chính xác (sai số {acc:.0} m, ngưỡng {threshold_m:.0} m). Hãy ra chỗ thoáng và chờ một chút."),
                en: format!("The location is not precise yet ({acc:.0} m, threshold {threshold_m:.0} m). Step into the open and wait a moment."),
            },
        });
    }
    if known.len() >= 3 {
        let hull =
            MultiPoint::from(known.iter().map(|&(lat, lon)| Point::new(lon, lat)).collect::<Vec<_>>()).convex_hull();
        let here = Point::new(at.1, at.0);
        let nearest = known.iter().map(|&p| distance_m(at, p)).fold(f64::INFINITY, f64::min);
        if !hull.contains(&here) && nearest > OUTSIDE_MARGIN_M {
            warnings.push(LocationWarning {
                code: "outside_area".into(),
                messages: Messages {
                    vi: format!("Vị trí này nằm ngoài địa bàn được phân công (cách hộ gần nhất {nearest:.0} m)."),
                    en: format!(
                        "This location is outside your assigned area ({nearest:.0} m from the nearest household)."
                    ),
                },
            });
        }
    }
    warnings
}
