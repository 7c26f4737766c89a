//! Venues (cơ sở): agencies, schools, businesses and transport hubs (the letter's items 1, 3, 4
//! and 5), and the visits made to them. A venue visit is a record like a household visit (a
//! device-made UUIDv7 and revision, the device's sequence number, exactly once on the server) but
//! counts people reached, notices posted and, where the venue keeps one, its visitor log.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, FieldError, Messages};
use crate::values::{AreaCode, Count, Id, Positive, Text};
use crate::visit::{Location, LocationInput, ValidationContext, parse_visit_time};

/// A school or a bus station reaches thousands; more than this in one visit is a typo.
pub const MAX_VENUE_COUNT: u32 = 100_000;
pub const MAX_VENUE_NAME_CHARS: usize = 200;

/// What kind of place a venue is. The report groups them as the letter does ([`VenueGroup`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VenueKind {
    /// A state agency or office (cơ quan): item 1, with its visitor log.
    Agency,
    /// A school or training institution: item 3.
    School,
    Hotel,
    Restaurant,
    Shop,
    /// Any other business or organisation: item 5.
    Business,
    /// A bus station, port, railway station or vehicle: item 4.
    TransportHub,
}

/// The report's columns: the letter's four kinds of place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VenueGroup {
    Agency,
    School,
    Business,
    TransportHub,
}

impl VenueKind {
    pub const ALL: [VenueKind; 7] = [
        VenueKind::Agency,
        VenueKind::School,
        VenueKind::Hotel,
        VenueKind::Restaurant,
        VenueKind::Shop,
        VenueKind::Business,
        VenueKind::TransportHub,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VenueKind::Agency => "agency",
            VenueKind::School => "school",
            VenueKind::Hotel => "hotel",
            VenueKind::Restaurant => "restaurant",
            VenueKind::Shop => "shop",
            VenueKind::Business => "business",
            VenueKind::TransportHub => "transport_hub",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<VenueKind, FieldError> {
        let raw = raw.trim();
        VenueKind::ALL.into_iter().find(|k| k.as_str() == raw).ok_or_else(|| {
            FieldError::new(field, ErrorKind::UnknownVenueKind { value: raw.chars().take(32).collect() })
        })
    }

    pub fn group(self) -> VenueGroup {
        match self {
            VenueKind::Agency => VenueGroup::Agency,
            VenueKind::School => VenueGroup::School,
            VenueKind::Hotel | VenueKind::Restaurant | VenueKind::Shop | VenueKind::Business => VenueGroup::Business,
            VenueKind::TransportHub => VenueGroup::TransportHub,
        }
    }

    pub fn label(self) -> Messages {
        let (vi, en) = match self {
            VenueKind::Agency => ("Cơ quan", "Agency"),
            VenueKind::School => ("Trường học", "School"),
            VenueKind::Hotel => ("Khách sạn, nhà nghỉ", "Hotel"),
            VenueKind::Restaurant => ("Nhà hàng, quán ăn", "Restaurant"),
            VenueKind::Shop => ("Cửa hàng", "Shop"),
            VenueKind::Business => ("Doanh nghiệp khác", "Other business"),
            VenueKind::TransportHub => ("Bến xe, nhà ga, cảng", "Transport hub"),
        };
        Messages { vi: vi.into(), en: en.into() }
    }
}

impl VenueGroup {
    pub const ALL: [VenueGroup; 4] =
        [VenueGroup::Agency, VenueGroup::School, VenueGroup::Business, VenueGroup::TransportHub];

    pub fn as_str(self) -> &'static str {
        match self {
            VenueGroup::Agency => "agency",
            VenueGroup::School => "school",
            VenueGroup::Business => "business",
            VenueGroup::TransportHub => "transport_hub",
        }
    }

    pub fn label(self) -> Messages {
        let (vi, en) = match self {
            VenueGroup::Agency => ("Cơ quan", "Agencies"),
            VenueGroup::School => ("Trường học", "Schools"),
            VenueGroup::Business => ("Cơ sở kinh doanh", "Businesses"),
            VenueGroup::TransportHub => ("Đầu mối giao thông", "Transport hubs"),
        };
        Messages { vi: vi.into(), en: en.into() }
    }
}

/// A venue as a visit record carries it: the first visit registers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VenueInput {
    /// A UUID made on the device that registered the venue.
    pub id: String,
    /// `agency`, `school`, `hotel`, `restaurant`, `shop`, `business` or `transport_hub`.
    pub kind: String,
    /// The venue's name as on its sign, e.g. "Trường THCS Lê Văn Thiêm".
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// The figures of a venue's visitor log since the last visit (the letter's item 1: agencies keep
/// a record of who comes in; item 5: businesses recommend the app to customers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitorLogInput {
    /// People who came in.
    pub came_in: i64,
    /// Of them, people told about the app.
    pub told: i64,
    /// Of them, people who installed it.
    pub installed: i64,
}

/// A visit to a venue as it travels from device to server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VenueVisitInput {
    /// UUIDv7 made on the device; with `revision`, the record's identity.
    pub id: String,
    #[serde(default = "one")]
    pub revision: i64,
    /// The device's own sequence number, shared with its household visits.
    pub device_seq: i64,
    pub device_id: String,
    pub volunteer_id: String,
    pub area_code: String,
    pub venue: VenueInput,
    /// RFC 3339 with the device's UTC offset.
    pub visited_at: String,
    /// People told about the app during the visit (staff, pupils, customers).
    pub people_reached: i64,
    /// Smartphones seen among them.
    pub smartphones: i64,
    pub already_installed: i64,
    /// Installed during the visit, with help.
    pub installed_now: i64,
    /// Notices and install instructions posted (item 4).
    pub notices_posted: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_log: Option<VisitorLogInput>,
    pub location: LocationInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    pub id: Id,
    pub kind: VenueKind,
    pub name: Text,
    pub address: Option<Text>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitorLog {
    pub came_in: Count,
    pub told: Count,
    pub installed: Count,
}

/// A validated venue visit. Only [`VenueVisit::parse`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueVisit {
    pub id: Id,
    pub revision: Positive,
    pub device_seq: Positive,
    pub device_id: Id,
    pub volunteer_id: Id,
    pub area_code: AreaCode,
    pub venue: Venue,
    pub visited_at: DateTime<FixedOffset>,
    pub people_reached: Count,
    pub smartphones: Count,
    pub already_installed: Count,
    pub installed_now: Count,
    pub notices_posted: Count,
    pub visitor_log: Option<VisitorLog>,
    pub location: Location,
    pub notes: Option<Text>,
}

impl VenueVisit {
    /// What [`crate::visit::check_revision`] judges of this record.
    pub fn as_revision(&self) -> crate::visit::Revision<'_> {
        crate::visit::Revision {
            revision: self.revision.get(),
            volunteer: self.volunteer_id.uuid(),
            subject: (self.venue.id.uuid(), "venue.id"),
            area_code: self.area_code.as_str(),
        }
    }

    /// Validates a wire record; text is NFC-normalised, so the same record typed on two keyboards
    /// is the same record.
    pub fn parse(input: &VenueVisitInput, ctx: &ValidationContext<'_>) -> Result<VenueVisit, FieldError> {
        let count = |field: &str, v: i64| Count::parse(field, v, MAX_VENUE_COUNT);
        let id = Id::parse_v7("id", &input.id)?;
        let revision = Positive::parse("revision", input.revision, ErrorKind::RevisionNotPositive)?;
        let device_seq = Positive::parse("device_seq", input.device_seq, ErrorKind::SequenceNotPositive)?;
        let device_id = Id::parse("device_id", &input.device_id)?;
        let volunteer_id = Id::parse("volunteer_id", &input.volunteer_id)?;
        let area_code = AreaCode::parse("area_code", &input.area_code)?;
        let venue = Venue {
            id: Id::parse("venue.id", &input.venue.id)?,
            kind: VenueKind::parse("venue.kind", &input.venue.kind)?,
            name: Text::parse("venue.name", &input.venue.name, MAX_VENUE_NAME_CHARS, false)?,
            address: Text::parse_optional(
                "venue.address",
                input.venue.address.as_deref(),
                crate::visit::MAX_ADDRESS_CHARS,
                false,
            )?,
        };
        let visited_at = parse_visit_time(&input.visited_at, ctx)?;
        let people_reached = count("people_reached", input.people_reached)?;
        let smartphones = count("smartphones", input.smartphones)?;
        let already_installed = count("already_installed", input.already_installed)?;
        let installed_now = count("installed_now", input.installed_now)?;
        let notices_posted = count("notices_posted", input.notices_posted)?;
        if u64::from(already_installed.get()) + u64::from(installed_now.get()) > u64::from(smartphones.get()) {
            return Err(FieldError::new("installed_now", ErrorKind::AlreadyPlusNowExceedSmartphones));
        }
        let visitor_log = match &input.visitor_log {
            None => None,
            Some(log) => {
                let came_in = count("visitor_log.came_in", log.came_in)?;
                let told = count("visitor_log.told", log.told)?;
                let installed = count("visitor_log.installed", log.installed)?;
                if told.get() > came_in.get() {
                    return Err(FieldError::new("visitor_log.told", ErrorKind::ToldExceedsCameIn));
                }
                if installed.get() > told.get() {
                    return Err(FieldError::new("visitor_log.installed", ErrorKind::InstalledExceedsTold));
                }
                Some(VisitorLog { came_in, told, installed })
            }
        };
        let location = Location::parse(&input.location)?;
        let notes = Text::parse_optional("notes", input.notes.as_deref(), crate::visit::MAX_NOTES_CHARS, true)?;
        Ok(VenueVisit {
            id,
            revision,
            device_seq,
            device_id,
            volunteer_id,
            area_code,
            venue,
            visited_at,
            people_reached,
            smartphones,
            already_installed,
            installed_now,
            notices_posted,
            visitor_log,
            location,
            notes,
        })
    }

    pub fn to_input(&self) -> VenueVisitInput {
        let n = |c: Count| i64::from(c.get());
        VenueVisitInput {
            id: self.id.to_string(),
            revision: self.revision.get(),
            device_seq: self.device_seq.get(),
            device_id: self.device_id.to_string(),
            volunteer_id: self.volunteer_id.to_string(),
            area_code: self.area_code.to_string(),
            venue: VenueInput {
                id: self.venue.id.to_string(),
                kind: self.venue.kind.as_str().to_string(),
                name: self.venue.name.to_string(),
                address: self.venue.address.as_ref().map(Text::to_string),
            },
            visited_at: self.visited_at.to_rfc3339(),
            people_reached: n(self.people_reached),
            smartphones: n(self.smartphones),
            already_installed: n(self.already_installed),
            installed_now: n(self.installed_now),
            notices_posted: n(self.notices_posted),
            visitor_log: self.visitor_log.map(|l| VisitorLogInput {
                came_in: n(l.came_in),
                told: n(l.told),
                installed: n(l.installed),
            }),
            location: self.location.to_input(),
            notes: self.notes.as_ref().map(Text::to_string),
        }
    }

    /// The canonical JSON of the validated record: what the device stores and sends, and what the
    /// server hashes to tell a duplicate from an id re-used with other content.
    pub fn canonical_json(&self) -> String {
        // A struct of strings, numbers and bools always serialises.
        serde_json::to_string(&self.to_input()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Campaign;
    use chrono::Utc;

    fn input() -> VenueVisitInput {
        VenueVisitInput {
            id: "01890a5d-ac96-774b-bcce-b302099a8057".into(),
            revision: 1,
            device_seq: 3,
            device_id: "5c1a4d0e-8f0a-4c55-9d5e-0f4d2b8e2a11".into(),
            volunteer_id: "7f9a3c1e-2b4d-4e6f-8a0b-1c2d3e4f5a6b".into(),
            area_code: "18073".into(),
            venue: VenueInput {
                id: "0b6f2d1c-3e4a-4b5c-8d9e-0f1a2b3c4d5e".into(),
                kind: "agency".into(),
                name: "  UBND xa\u{0303} Thạch Hà ".into(),
                address: None,
            },
            visited_at: "2020-08-03T09:15:00+07:00".into(),
            people_reached: 40,
            smartphones: 35,
            already_installed: 20,
            installed_now: 10,
            notices_posted: 2,
            visitor_log: Some(VisitorLogInput { came_in: 120, told: 100, installed: 30 }),
            location: LocationInput { source: "gps".into(), lat: Some(18.34), lon: Some(105.9), accuracy_m: Some(8.0) },
            notes: None,
        }
    }

    fn parse(i: &VenueVisitInput) -> Result<VenueVisit, FieldError> {
        let c = Campaign::bluezone();
        let ctx = ValidationContext::on_device(&c, Utc::now());
        VenueVisit::parse(i, &ctx)
    }

    #[test]
    fn a_valid_venue_visit_round_trips_in_nfc() {
        let v = parse(&input()).expect("valid");
        assert_eq!(v.venue.name.as_str(), "UBND xã Thạch Hà");
        assert_eq!(v.venue.kind.group(), VenueGroup::Agency);
        let again = parse(&v.to_input()).expect("canonical form is valid");
        assert_eq!(again, v);
        assert_eq!(again.canonical_json(), v.canonical_json());
    }

    #[test]
    fn each_rule_names_its_field() {
        type Change = Box<dyn Fn(&mut VenueVisitInput)>;
        let cases: Vec<(Change, &str, &str)> = vec![
            (Box::new(|i| i.venue.kind = "church".into()), "venue.kind", "unknown_venue_kind"),
            (Box::new(|i| i.venue.name = "  ".into()), "venue.name", "empty"),
            (Box::new(|i| i.people_reached = -1), "people_reached", "negative"),
            (Box::new(|i| i.notices_posted = 1_000_000), "notices_posted", "too_large"),
            (Box::new(|i| i.installed_now = 16), "installed_now", "installs_exceed_smartphones"),
            (
                Box::new(|i| i.visitor_log = Some(VisitorLogInput { came_in: 5, told: 6, installed: 0 })),
                "visitor_log.told",
                "told_exceeds_came_in",
            ),
            (
                Box::new(|i| i.visitor_log = Some(VisitorLogInput { came_in: 9, told: 6, installed: 7 })),
                "visitor_log.installed",
                "installed_exceeds_told",
            ),
            (Box::new(|i| i.visited_at = "2099-01-01T00:00:00+07:00".into()), "visited_at", "in_future"),
            (Box::new(|i| i.id = "not a uuid".into()), "id", "not_uuid"),
        ];
        for (change, field, code) in cases {
            let mut i = input();
            change(&mut i);
            let e = parse(&i).expect_err(code);
            assert_eq!((e.field.as_str(), e.code()), (field, code));
            assert!(!e.messages().vi.is_empty() && !e.messages().en.is_empty());
        }
    }

    #[test]
    fn every_kind_parses_and_belongs_to_a_group() {
        for k in VenueKind::ALL {
            assert_eq!(VenueKind::parse("k", k.as_str()).expect("known"), k);
            assert!(VenueGroup::ALL.contains(&k.group()));
        }
        assert_eq!(VenueKind::Hotel.group(), VenueGroup::Business);
        assert_eq!(VenueKind::TransportHub.group(), VenueGroup::TransportHub);
    }
}
