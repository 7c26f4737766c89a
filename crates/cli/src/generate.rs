//! Believable visits for the simulator, the demo and the benchmarks: every outcome, counts that
//! obey the rules, addresses and points around real Hà Tĩnh towns.

use doorstep_device::VisitDraft;
use doorstep_domain::visit::LocationInput;
use rand::Rng;
use rand::seq::IndexedRandom;

/// Approximate centres of the 2020 district seats of Hà Tĩnh (GSO code, lat, lon). Demo data
/// only: real boundaries come from an imported GeoJSON.
pub const DISTRICT_SEATS: &[(&str, f64, f64)] = &[
    ("436", 18.3428, 105.9057), // Thành phố Hà Tĩnh
    ("437", 18.5330, 105.7100), // Thị xã Hồng Lĩnh
    ("439", 18.5120, 105.4330), // Hương Sơn (Phố Châu)
    ("440", 18.5390, 105.5810), // Đức Thọ
    ("441", 18.3960, 105.4700), // Vũ Quang
    ("442", 18.6570, 105.7560), // Nghi Xuân (Xuân An)
    ("443", 18.4470, 105.7760), // Can Lộc (Nghèn)
    ("444", 18.1800, 105.7100), // Hương Khê
    ("445", 18.3580, 105.8740), // Thạch Hà
    ("446", 18.2510, 106.0010), // Cẩm Xuyên
    ("447", 18.0780, 106.1700), // Kỳ Anh (huyện)
    ("449", 18.0700, 106.2960), // Thị xã Kỳ Anh
];

/// Hà Tĩnh city, for areas with no better point.
pub const PROVINCE_CENTRE: (f64, f64) = (18.3428, 105.9057);

const STREETS: &[&str] = &[
    "Phan Đình Phùng",
    "Trần Phú",
    "Nguyễn Du",
    "Hà Huy Tập",
    "Lê Duẩn",
    "Xuân Diệu",
    "Hải Thượng Lãn Ông",
    "Nguyễn Công Trứ",
    "Quang Trung",
    "Lý Tự Trọng",
];

const REFUSALS: &[&str] =
    &["Không muốn cài", "Lo ngại về quyền riêng tư", "Máy yếu, sợ hết pin", "Để người nhà về rồi cài"];

/// A point for an area: near its district seat when the code is a known district or sits under
/// one (by the `parent` lookup), spread deterministically so communes don't stack.
pub fn base_point(area_code: &str, district: Option<&str>) -> (f64, f64) {
    let seat = district
        .and_then(|d| DISTRICT_SEATS.iter().find(|(c, _, _)| *c == d))
        .or_else(|| DISTRICT_SEATS.iter().find(|(c, _, _)| *c == area_code))
        .map(|(_, lat, lon)| (*lat, *lon))
        .unwrap_or(PROVINCE_CENTRE);
    // A stable spread of up to ~6 km from the seat, from the code's digits.
    let h = area_code.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let angle = (h % 360) as f64 * std::f64::consts::PI / 180.0;
    let r = 0.01 + ((h / 360) % 50) as f64 * 0.001;
    (seat.0 + r * angle.sin(), seat.1 + r * angle.cos())
}

/// A point within about `metres` of `centre`.
pub fn jitter(rng: &mut impl Rng, centre: (f64, f64), metres: f64) -> (f64, f64) {
    let d = metres / 111_000.0;
    (centre.0 + rng.random_range(-d..=d), centre.1 + rng.random_range(-d..=d))
}

pub fn address(rng: &mut impl Rng) -> String {
    if rng.random_bool(0.6) {
        format!("Số {}, đường {}", rng.random_range(1..300), STREETS.choose(rng).copied().unwrap_or("Trần Phú"))
    } else {
        format!("Thôn {}, xóm {}", rng.random_range(1..15), rng.random_range(1..9))
    }
}

/// A visit with a random outcome (weighted like a real street) and consistent counts.
pub fn visit(rng: &mut impl Rng, household_id: Option<uuid::Uuid>, area_code: &str, near: (f64, f64)) -> VisitDraft {
    let roll = rng.random_range(0..100);
    let people = rng.random_range(1..=6);
    let sp = rng.random_range(1..=people.min(4));
    let (outcome, people, smartphones, already, now, reason) = match roll {
        0..35 => {
            let already = rng.random_range(0..sp);
            let now = rng.random_range(1..=sp - already);
            ("installed_now", people, sp, already, now, None)
        }
        35..55 => ("already_installed", people, sp, sp, 0, None),
        55..73 => ("not_home", 0, 0, 0, 0, None),
        73..80 => ("refused", people, sp, 0, 0, REFUSALS.choose(rng).map(|s| s.to_string())),
        80..88 => ("no_smartphone", people, 0, 0, 0, None),
        88..92 => ("unsupported_phone", people, sp, 0, 0, None),
        _ => {
            let sp = sp.max(2);
            ("partial", people.max(2), sp, 0, rng.random_range(1..sp), None)
        }
    };
    let (lat, lon) = jitter(rng, near, 25.0);
    VisitDraft {
        household_id,
        address: household_id.is_none().then(|| address(rng)),
        area_code: area_code.to_string(),
        outcome: outcome.to_string(),
        reason,
        people,
        smartphones,
        already_installed: already,
        installed_now: now,
        leaflet_given: outcome != "not_home" && rng.random_bool(0.8),
        location: LocationInput {
            source: "gps".into(),
            lat: Some(lat),
            lon: Some(lon),
            accuracy_m: Some(rng.random_range(4.0..45.0_f64).round()),
        },
        notes: None,
    }
}

/// Venue names of each kind, as their signs read around Hà Tĩnh (the number makes each unique).
const VENUES: &[(&str, &[&str])] = &[
    ("agency", &["UBND xã", "Trạm Y tế", "Bưu điện văn hoá", "Công an"]),
    ("school", &["Trường Tiểu học", "Trường THCS", "Trường Mầm non"]),
    ("hotel", &["Khách sạn", "Nhà nghỉ"]),
    ("restaurant", &["Quán cơm", "Nhà hàng", "Quán cà phê"]),
    ("shop", &["Tạp hoá", "Cửa hàng điện thoại"]),
    ("business", &["Công ty TNHH", "Hợp tác xã"]),
    ("transport_hub", &["Bến xe", "Bến đò"]),
];

/// A believable visit to a new venue: people reached, installs, notices, and for agencies (who
/// keep one, as the letter asks) a visitor log.
pub fn venue_visit(rng: &mut impl Rng, area_code: &str, near: (f64, f64)) -> doorstep_device::VenueVisitDraft {
    let (kind, names) = VENUES.choose(rng).copied().unwrap_or(("agency", &["UBND xã"]));
    let base = names.choose(rng).copied().unwrap_or("Cơ sở");
    let people = match kind {
        "school" => rng.random_range(150..900),
        "agency" | "transport_hub" => rng.random_range(15..120),
        _ => rng.random_range(3..40),
    };
    let smartphones = rng.random_range(people / 3..=people);
    let already = rng.random_range(0..=smartphones / 2);
    let now = rng.random_range(0..=(smartphones - already) / 2);
    let visitor_log = (kind == "agency").then(|| {
        let came_in = rng.random_range(20..300);
        let told = rng.random_range(came_in / 2..=came_in);
        doorstep_domain::venue::VisitorLogInput { came_in, told, installed: rng.random_range(0..=told / 3) }
    });
    let (lat, lon) = jitter(rng, near, 400.0);
    doorstep_device::VenueVisitDraft {
        venue_id: None,
        kind: kind.into(),
        name: format!("{base} số {}", rng.random_range(1..30)),
        address: Some(address(rng)),
        area_code: area_code.into(),
        people_reached: people,
        smartphones,
        already_installed: already,
        installed_now: now,
        notices_posted: rng.random_range(0..5),
        visitor_log,
        location: LocationInput {
            source: "gps".into(),
            lat: Some(lat),
            lon: Some(lon),
            accuracy_m: Some(rng.random_range(4.0..30.0_f64).round()),
        },
        notes: None,
    }
}
