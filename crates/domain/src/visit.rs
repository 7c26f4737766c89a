//! Households and visits: the wire form (`VisitInput`, exactly what travels and is stored) and the
//! validated form (`Visit`), made only by [`Visit::parse`].

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::campaign::Campaign;
use crate::error::{ErrorKind, FieldError};
use crate::values::{AreaCode, Count, Id, Positive, Text};

pub const MAX_ADDRESS_CHARS: usize = 200;
pub const MAX_NOTES_CHARS: usize = 1000;
pub const MAX_REASON_CHARS: usize = 200;
/// An accuracy worse than this is not a location at all (metres).
pub const MAX_ACCURACY_M: f64 = 100_000.0;
/// How far ahead of the device's own clock a visit time may be.
pub const FUTURE_TOLERANCE_MINUTES: i64 = 10;
/// How far ahead of the server's clock a visit time may be. Wide on purpose: a phone that ran
/// fast while offline and was set right before it synced must not have its visits refused (they
/// happened); the skew is reported instead. Beyond this, a time is not a clock error but garbage.
pub const SERVER_FUTURE_TOLERANCE_HOURS: i64 = 48;

/// A household as a visit record carries it: the first visit to a household creates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HouseholdInput {
    /// A UUID made on the device that first recorded the household.
    pub id: String,
    /// House number and street, or hamlet. No names or phone numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// Where a visit was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocationInput {
    /// `gps`, `manual` (a pin on the map) or `none`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
}

/// A visit record as it travels from device to server. Counts are signed here so that a negative
/// one is refused with a message that says so, rather than as a type error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitInput {
    /// UUIDv7 made on the device; with `revision`, the record's identity.
    pub id: String,
    #[serde(default = "one")]
    pub revision: i64,
    /// The device's own sequence number for this record, from 1 up.
    pub device_seq: i64,
    pub device_id: String,
    pub volunteer_id: String,
    pub area_code: String,
    pub household: HouseholdInput,
    /// RFC 3339 with the device's UTC offset, e.g. `2020-08-03T09:15:00+07:00`.
    pub visited_at: String,
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub people: i64,
    pub smartphones: i64,
    pub already_installed: i64,
    pub installed_now: i64,
    pub leaflet_given: bool,
    pub location: LocationInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocationSource {
    Gps,
    Manual,
    None,
}

impl LocationSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationSource::Gps => "gps",
            LocationSource::Manual => "manual",
            LocationSource::None => "none",
        }
    }
}

/// A validated point: finite, on Earth, not 0,0, with a positive accuracy where known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    pub source: LocationSource,
    pub point: Option<Point>,
}

impl Location {
    pub fn parse(input: &LocationInput) -> Result<Location, FieldError> {
        let source = match input.source.trim() {
            "gps" => LocationSource::Gps,
            "manual" => LocationSource::Manual,
            "none" => LocationSource::None,
            other => {
                return Err(FieldError::new(
                    "location.source",
                    ErrorKind::UnknownLocationSource { value: other.chars().take(32).collect() },
                ));
            }
        };
        let coordinate = |field: &str, v: Option<f64>, limit: f64| -> Result<Option<f64>, FieldError> {
            match v {
                None => Ok(None),
                Some(x) if !x.is_finite() => Err(FieldError::new(field, ErrorKind::NotFinite)),
                Some(x) if !(-limit..=limit).contains(&x) => {
                    Err(FieldError::new(field, ErrorKind::OutOfRange { min: -limit, max: limit }))
                }
                Some(x) => Ok(Some(x)),
            }
        };
        let lat = coordinate("location.lat", input.lat, 90.0)?;
        let lon = coordinate("location.lon", input.lon, 180.0)?;
        let accuracy_m = match input.accuracy_m {
            None => None,
            Some(a) if !a.is_finite() => return Err(FieldError::new("location.accuracy_m", ErrorKind::NotFinite)),
            Some(a) if a <= 0.0 => {
                return Err(FieldError::new("location.accuracy_m", ErrorKind::AccuracyNotPositive));
            }
            Some(a) if a > MAX_ACCURACY_M => {
                return Err(FieldError::new(
                    "location.accuracy_m",
                    ErrorKind::OutOfRange { min: 0.0, max: MAX_ACCURACY_M },
                ));
            }
            Some(a) => Some(a),
        };
        let point = match (source, lat, lon) {
            (LocationSource::None, None, None) => None,
            (LocationSource::None, _, _) => {
                return Err(FieldError::new("location.source", ErrorKind::CoordinatesWithoutSource));
            }
            (_, Some(lat), Some(lon)) => {
                if lat == 0.0 && lon == 0.0 {
                    return Err(FieldError::new("location", ErrorKind::NullIsland));
                }
                if source == LocationSource::Gps && accuracy_m.is_none() {
                    return Err(FieldError::new("location.accuracy_m", ErrorKind::AccuracyRequired));
                }
                Some(Point { lat, lon, accuracy_m })
            }
            (_, lat, _) => {
                let field = if lat.is_none() { "location.lat" } else { "location.lon" };
                return Err(FieldError::new(field, ErrorKind::CoordinatesRequired));
            }
        };
        Ok(Location { source, point })
    }

    pub fn to_input(&self) -> LocationInput {
        LocationInput {
            source: self.source.as_str().to_string(),
            lat: self.point.map(|p| p.lat),
            lon: self.point.map(|p| p.lon),
            accuracy_m: self.point.and_then(|p| p.accuracy_m),
        }
    }
}

/// The counts a visit records. Invariant: `already_installed + installed_now <= smartphones`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub people: Count,
    pub smartphones: Count,
    pub already_installed: Count,
    pub installed_now: Count,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Household {
    pub id: Id,
    pub address: Option<Text>,
}

/// What validation needs to know beyond the record.
#[derive(Debug, Clone, Copy)]
pub struct ValidationContext<'a> {
    pub campaign: &'a Campaign,
    /// The device's own clock: when it recorded the visit, or when it sent the batch.
    pub device_now: DateTime<Utc>,
    /// The server's clock, when the server validates. A visit time may then be up to
    /// [`SERVER_FUTURE_TOLERANCE_HOURS`] ahead of it, whatever the device's clock says now.
    pub server_now: Option<DateTime<Utc>>,
}

impl<'a> ValidationContext<'a> {
    /// Validation on the device, against its own clock.
    pub fn on_device(campaign: &'a Campaign, device_now: DateTime<Utc>) -> Self {
        ValidationContext { campaign, device_now, server_now: None }
    }

    /// The latest visit time accepted: on the device, its own clock and a few minutes; on the
    /// server, the server's clock and [`SERVER_FUTURE_TOLERANCE_HOURS`], whatever the phone's
    /// clock says (a phone whose clock reads 9999 does not move the limit).
    pub fn future_limit(&self) -> DateTime<Utc> {
        match self.server_now {
            Some(server) => server + Duration::hours(SERVER_FUTURE_TOLERANCE_HOURS),
            None => self.device_now + Duration::minutes(FUTURE_TOLERANCE_MINUTES),
        }
    }

    /// How far ahead of the clock that judges it a visit time may be, in minutes.
    fn future_tolerance_minutes(&self) -> i64 {
        match self.server_now {
            Some(_) => SERVER_FUTURE_TOLERANCE_HOURS * 60,
            None => FUTURE_TOLERANCE_MINUTES,
        }
    }
}

/// A validated visit record. Only [`Visit::parse`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub id: Id,
    pub revision: Positive,
    pub device_seq: Positive,
    pub device_id: Id,
    pub volunteer_id: Id,
    pub area_code: AreaCode,
    pub household: Household,
    pub visited_at: DateTime<FixedOffset>,
    pub outcome: String,
    pub reason: Option<Text>,
    pub counts: Counts,
    pub leaflet_given: bool,
    pub location: Location,
    pub notes: Option<Text>,
}

/// The earliest believable visit time: before this no campaign of this kind ran on this software.
pub fn earliest_visit_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A visit's time (`visited_at`): RFC 3339 with the phone's offset, not ahead of what
/// [`ValidationContext::future_limit`] allows, not before [`earliest_visit_time`].
pub fn parse_visit_time(raw: &str, ctx: &ValidationContext<'_>) -> Result<DateTime<FixedOffset>, FieldError> {
    let visited_at = DateTime::parse_from_rfc3339(raw.trim())
        .map_err(|_| FieldError::new("visited_at", ErrorKind::NotATimestamp))?;
    let utc = visited_at.with_timezone(&Utc);
    if utc > ctx.future_limit() {
        return Err(FieldError::new(
            "visited_at",
            ErrorKind::InFuture { tolerance_minutes: ctx.future_tolerance_minutes() },
        ));
    }
    if utc < earliest_visit_time() {
        return Err(FieldError::new("visited_at", ErrorKind::TooOld));
    }
    if let Some((start, day)) = ctx.campaign.start()
        && utc < start
    {
        return Err(FieldError::new(
            "visited_at",
            ErrorKind::BeforeCampaignStart { date: day.format("%d/%m/%Y").to_string() },
        ));
    }
    Ok(visited_at)
}

/// What the server holds of a visit when a later revision of it arrives: who recorded its first
/// revision, of what (a household, or a venue) and where, and the latest revision held.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldVisit {
    /// The volunteer of revision 1.
    pub owner: uuid::Uuid,
    /// The household (or venue) of revision 1.
    pub subject: uuid::Uuid,
    pub area_code: String,
    /// The highest revision held.
    pub latest: i64,
}

/// What [`check_revision`] reads of a revision: a household visit's or a venue visit's.
#[derive(Debug, Clone, Copy)]
pub struct Revision<'a> {
    pub revision: i64,
    pub volunteer: uuid::Uuid,
    /// The household or venue visited, and the field that names it (for the refusal).
    pub subject: (uuid::Uuid, &'static str),
    pub area_code: &'a str,
}

/// Whether a revision may be stored, judged against what is held of its visit (`None`: nothing)
/// and the volunteer whose phone sent it (`None`: not known, as in benchmarks). Revision 1 opens
/// a visit; every later one must come from a phone of revision 1's volunteer, for the same
/// household (or venue) and area, and be the next number: so nobody else can rewrite a visit,
/// move it to another district, answer a leader's send-back for its volunteer, or jump the
/// numbers so that the owner's next honest revision is refused.
pub fn check_revision(r: Revision<'_>, held: Option<&HeldVisit>, sender: Option<uuid::Uuid>) -> Result<(), FieldError> {
    if r.revision == 1 {
        return Ok(());
    }
    let Some(held) = held else {
        return Err(FieldError::new("revision", ErrorKind::RevisionGap { expected: 1 }));
    };
    if r.volunteer != held.owner || sender.is_some_and(|s| s != held.owner) {
        return Err(FieldError::new("volunteer_id", ErrorKind::NotYourVisit));
    }
    if r.subject.0 != held.subject || r.area_code != held.area_code {
        return Err(FieldError::new(r.subject.1, ErrorKind::RevisionOtherHousehold));
    }
    let expected = held.latest.saturating_add(1);
    if r.revision != expected {
        return Err(FieldError::new("revision", ErrorKind::RevisionGap { expected }));
    }
    Ok(())
}

impl Visit {
    /// What [`check_revision`] judges of this record.
    pub fn as_revision(&self) -> Revision<'_> {
        Revision {
            revision: self.revision.get(),
            volunteer: self.volunteer_id.uuid(),
            subject: (self.household.id.uuid(), "household.id"),
            area_code: self.area_code.as_str(),
        }
    }

    /// Validates a wire record. Text is NFC-normalised on the way in, so the same visit typed on
    /// two keyboards is the same record.
    pub fn parse(input: &VisitInput, ctx: &ValidationContext<'_>) -> Result<Visit, FieldError> {
        let campaign = ctx.campaign;
        let id = Id::parse_v7("id", &input.id)?;
        let revision = Positive::parse("revision", input.revision, ErrorKind::RevisionNotPositive)?;
        let device_seq = Positive::parse("device_seq", input.device_seq, ErrorKind::SequenceNotPositive)?;
        let device_id = Id::parse("device_id", &input.device_id)?;
        let volunteer_id = Id::parse("volunteer_id", &input.volunteer_id)?;
        let area_code = AreaCode::parse("area_code", &input.area_code)?;
        let household = Household {
            id: Id::parse("household.id", &input.household.id)?,
            address: Text::parse_optional(
                "household.address",
                input.household.address.as_deref(),
                MAX_ADDRESS_CHARS,
                false,
            )?,
        };

        let visited_at = parse_visit_time(&input.visited_at, ctx)?;

        let outcome_code = input.outcome.trim();
        let outcome = campaign.outcome(outcome_code).ok_or_else(|| {
            FieldError::new("outcome", ErrorKind::UnknownOutcome { code: outcome_code.chars().take(40).collect() })
        })?;
        let reason = Text::parse_optional("reason", input.reason.as_deref(), MAX_REASON_CHARS, false)?;
        if outcome.requires_reason && reason.is_none() {
            return Err(FieldError::new("reason", ErrorKind::ReasonRequired));
        }

        let counts = Counts {
            people: Count::parse("people", input.people, campaign.max_people)?,
            smartphones: Count::parse("smartphones", input.smartphones, campaign.max_smartphones)?,
            already_installed: Count::parse("already_installed", input.already_installed, campaign.max_smartphones)?,
            installed_now: Count::parse("installed_now", input.installed_now, campaign.max_smartphones)?,
        };
        // In u64: the bounds are campaign data and may be large.
        if u64::from(counts.already_installed.get()) + u64::from(counts.installed_now.get())
            > u64::from(counts.smartphones.get())
        {
            return Err(FieldError::new("installed_now", ErrorKind::AlreadyPlusNowExceedSmartphones));
        }
        // A household of n people is unlikely to hold more than 3n smartphones; a typo usually is.
        if counts.people.get() > 0 && u64::from(counts.smartphones.get()) > u64::from(counts.people.get()) * 3 {
            return Err(FieldError::new("smartphones", ErrorKind::SmartphonesExceedPeople));
        }
        if outcome.requires_installed_now && counts.installed_now.get() == 0 {
            return Err(FieldError::new("installed_now", ErrorKind::OutcomeNeedsInstall));
        }
        if outcome.requires_already_installed && counts.already_installed.get() == 0 {
            return Err(FieldError::new("already_installed", ErrorKind::OutcomeNeedsAlreadyInstalled));
        }
        if outcome.requires_no_smartphone && counts.smartphones.get() != 0 {
            return Err(FieldError::new("smartphones", ErrorKind::OutcomeNeedsNoSmartphone));
        }

        let location = Location::parse(&input.location)?;
        let notes = Text::parse_optional("notes", input.notes.as_deref(), MAX_NOTES_CHARS, true)?;

        Ok(Visit {
            id,
            revision,
            device_seq,
            device_id,
            volunteer_id,
            area_code,
            household,
            visited_at,
            outcome: outcome.code.clone(),
            reason,
            counts,
            leaflet_given: input.leaflet_given,
            location,
            notes,
        })
    }

    /// The canonical wire form: what the device stores and sends, and what the server hashes to
    /// tell a duplicate from an identifier re-used with other content.
    pub fn to_input(&self) -> VisitInput {
        VisitInput {
            id: self.id.to_string(),
            revision: self.revision.get(),
            device_seq: self.device_seq.get(),
            device_id: self.device_id.to_string(),
            volunteer_id: self.volunteer_id.to_string(),
            area_code: self.area_code.to_string(),
            household: HouseholdInput {
                id: self.household.id.to_string(),
                address: self.household.address.as_ref().map(|t| t.to_string()),
            },
            visited_at: self.visited_at.to_rfc3339(),
            outcome: self.outcome.clone(),
            reason: self.reason.as_ref().map(|t| t.to_string()),
            people: i64::from(self.counts.people.get()),
            smartphones: i64::from(self.counts.smartphones.get()),
            already_installed: i64::from(self.counts.already_installed.get()),
            installed_now: i64::from(self.counts.installed_now.get()),
            leaflet_given: self.leaflet_given,
            location: self.location.to_input(),
            notes: self.notes.as_ref().map(|t| t.to_string()),
        }
    }

    /// Every field of the record in a compact, unambiguous binary form (lengths before bytes),
    /// for hashing: cheaper than the canonical JSON and equal exactly when the content is.
    pub fn content_bytes(&self, out: &mut Vec<u8>) {
        fn bytes(out: &mut Vec<u8>, b: &[u8]) {
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(b);
        }
        fn text(out: &mut Vec<u8>, t: Option<&str>) {
            match t {
                None => out.push(0),
                Some(s) => {
                    out.push(1);
                    bytes(out, s.as_bytes());
                }
            }
        }
        fn f64_opt(out: &mut Vec<u8>, v: Option<f64>) {
            match v {
                None => out.push(0),
                Some(x) => {
                    out.push(1);
                    out.extend_from_slice(&x.to_bits().to_le_bytes());
                }
            }
        }
        out.push(1); // the encoding's version
        out.extend_from_slice(self.id.uuid().as_bytes());
        out.extend_from_slice(&self.revision.get().to_le_bytes());
        out.extend_from_slice(&self.device_seq.get().to_le_bytes());
        out.extend_from_slice(self.device_id.uuid().as_bytes());
        out.extend_from_slice(self.volunteer_id.uuid().as_bytes());
        bytes(out, self.area_code.as_str().as_bytes());
        out.extend_from_slice(self.household.id.uuid().as_bytes());
        text(out, self.household.address.as_ref().map(Text::as_str));
        out.extend_from_slice(&self.visited_at.timestamp().to_le_bytes());
        out.extend_from_slice(&self.visited_at.timestamp_subsec_nanos().to_le_bytes());
        out.extend_from_slice(&self.visited_at.offset().local_minus_utc().to_le_bytes());
        bytes(out, self.outcome.as_bytes());
        text(out, self.reason.as_ref().map(Text::as_str));
        for c in [self.counts.people, self.counts.smartphones, self.counts.already_installed, self.counts.installed_now]
        {
            out.extend_from_slice(&c.get().to_le_bytes());
        }
        out.push(u8::from(self.leaflet_given));
        out.push(self.location.source as u8);
        f64_opt(out, self.location.point.map(|p| p.lat));
        f64_opt(out, self.location.point.map(|p| p.lon));
        f64_opt(out, self.location.point.and_then(|p| p.accuracy_m));
        text(out, self.notes.as_ref().map(Text::as_str));
    }

    /// The canonical JSON of the record.
    pub fn canonical_json(&self) -> String {
        // Serialising a struct of strings, numbers and bools cannot fail.
        serde_json::to_string(&self.to_input()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Lang;

    fn campaign() -> Campaign {
        Campaign::bluezone()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2020, 8, 3, 3, 0, 0).unwrap()
    }

    pub(crate) fn good() -> VisitInput {
        VisitInput {
            id: Id::new_v7().to_string(),
            revision: 1,
            device_seq: 1,
            device_id: "0190a5d4-0000-7000-8000-000000000001".into(),
            volunteer_id: "0190a5d4-0000-7000-8000-000000000002".into(),
            area_code: "18073".into(),
            household: HouseholdInput {
                id: Id::new_v7().to_string(), address: Some("Số 12 Phan Đình Phùng".into())
            },
            visited_at: "2020-08-03T09:15:00+07:00".into(),
            outcome: "installed_now".into(),
            reason: None,
            people: 4,
            smartphones: 3,
            already_installed: 1,
            installed_now: 2,
            leaflet_given: true,
            location: LocationInput {
                source: "gps".into(),
                lat: Some(18.3428),
                lon: Some(105.9057),
                accuracy_m: Some(8.0),
            },
            notes: None,
        }
    }

    fn err(input: &VisitInput) -> FieldError {
        let c = campaign();
        Visit::parse(input, &ValidationContext::on_device(&c, now())).unwrap_err()
    }

    fn check(mutate: impl FnOnce(&mut VisitInput), field: &str, code: &str) {
        let mut v = good();
        mutate(&mut v);
        let e = err(&v);
        assert_eq!((e.field.as_str(), e.code()), (field, code), "{e}");
        let m = e.messages();
        assert!(!m.vi.is_empty() && !m.en.is_empty() && m.vi != m.en, "{m:?}");
        assert_eq!(m.get(Lang::Vi), m.vi);
    }

    #[test]
    fn a_good_visit_parses_and_round_trips() {
        let c = campaign();
        let ctx = ValidationContext::on_device(&c, now());
        let v = Visit::parse(&good(), &ctx).unwrap();
        assert_eq!(v.counts.installed_now.get(), 2);
        assert_eq!(v.visited_at.offset().local_minus_utc(), 7 * 3600);
        let again = Visit::parse(&v.to_input(), &ctx).unwrap();
        assert_eq!(again, v);
        assert_eq!(again.canonical_json(), v.canonical_json());
    }

    #[test]
    fn content_bytes_differ_exactly_when_content_does() {
        let c = campaign();
        let ctx = ValidationContext::on_device(&c, now());
        let bytes = |input: &VisitInput| {
            let mut out = Vec::new();
            Visit::parse(input, &ctx).unwrap().content_bytes(&mut out);
            out
        };
        let base = good();
        assert_eq!(bytes(&base), bytes(&base.clone()));
        let mut same_instant_other_text = base.clone();
        same_instant_other_text.visited_at = "2020-08-03T09:15:00.000+07:00".into();
        assert_eq!(bytes(&base), bytes(&same_instant_other_text));
        type Change = Box<dyn Fn(&mut VisitInput)>;
        let changes: Vec<Change> = vec![
            Box::new(|v| v.notes = Some("x".into())),
            Box::new(|v| v.household.address = None),
            Box::new(|v| v.leaflet_given = false),
            Box::new(|v| v.location.accuracy_m = Some(9.0)),
            Box::new(|v| v.visited_at = "2020-08-03T09:15:00+08:00".into()),
            Box::new(|v| v.people = 5),
            // Moving text between adjacent fields must not collide.
            Box::new(|v| {
                v.household.address = Some("Số 12 Phan Đình".into());
                v.notes = Some("Phùng".into());
            }),
        ];
        for change in changes {
            let mut other = base.clone();
            change(&mut other);
            assert_ne!(bytes(&base), bytes(&other), "{other:?}");
        }
    }

    #[test]
    fn nfd_text_gives_the_same_canonical_record() {
        let c = campaign();
        let ctx = ValidationContext::on_device(&c, now());
        let mut a = good();
        a.household.address = Some("Xóm Đông, Thạch Hạ".into());
        let mut b = a.clone();
        b.household.address = Some("Xo\u{0301}m \u{0110}o\u{0302}ng, Tha\u{0323}ch Ha\u{0323}".into());
        assert_ne!(a.household.address, b.household.address);
        let (va, vb) = (Visit::parse(&a, &ctx).unwrap(), Visit::parse(&b, &ctx).unwrap());
        assert_eq!(va.canonical_json(), vb.canonical_json());
    }

    #[test]
    fn identity_rules() {
        check(|v| v.id = "67e55044-10b1-426f-9247-bb680e5fe0c8".into(), "id", "not_uuid_v7");
        check(|v| v.id = "x".into(), "id", "not_uuid");
        check(|v| v.revision = 0, "revision", "revision_not_positive");
        check(|v| v.device_seq = 0, "device_seq", "sequence_not_positive");
        check(|v| v.device_id = "00000000-0000-0000-0000-000000000000".into(), "device_id", "nil_uuid");
        check(|v| v.volunteer_id = "".into(), "volunteer_id", "not_uuid");
        check(|v| v.household.id = "h1".into(), "household.id", "not_uuid");
        check(|v| v.area_code = "18 073".into(), "area_code", "bad_area_code");
    }

    #[test]
    fn count_rules() {
        check(|v| v.people = -1, "people", "negative");
        check(|v| v.smartphones = -2, "smartphones", "negative");
        check(|v| v.already_installed = -1, "already_installed", "negative");
        check(|v| v.installed_now = -1, "installed_now", "negative");
        check(|v| v.smartphones = 61, "smartphones", "too_large");
        check(|v| v.people = 1_000_000, "people", "too_large");
        check(|v| v.installed_now = 3, "installed_now", "installs_exceed_smartphones");
        check(
            |v| {
                v.people = 1;
                v.smartphones = 4;
                v.already_installed = 0;
                v.installed_now = 1;
            },
            "smartphones",
            "smartphones_exceed_people",
        );
    }

    #[test]
    fn outcome_rules() {
        check(|v| v.outcome = "maybe".into(), "outcome", "unknown_outcome");
        check(|v| v.outcome = "refused".into(), "reason", "reason_required");
        check(|v| v.installed_now = 0, "installed_now", "outcome_needs_install");
        check(
            |v| {
                v.outcome = "already_installed".into();
                v.already_installed = 0;
                v.installed_now = 0;
            },
            "already_installed",
            "outcome_needs_already_installed",
        );
        check(|v| v.outcome = "no_smartphone".into(), "smartphones", "outcome_needs_no_smartphone");
        let c = campaign();
        let mut refused = good();
        refused.outcome = "refused".into();
        refused.reason = Some("Không muốn".into());
        refused.installed_now = 0;
        assert!(Visit::parse(&refused, &ValidationContext::on_device(&c, now())).is_ok());
    }

    #[test]
    fn location_rules() {
        check(|v| v.location.lat = Some(f64::NAN), "location.lat", "not_finite");
        check(|v| v.location.lon = Some(f64::INFINITY), "location.lon", "not_finite");
        check(|v| v.location.lat = Some(91.0), "location.lat", "out_of_range");
        check(|v| v.location.lon = Some(-180.5), "location.lon", "out_of_range");
        check(
            |v| {
                v.location.lat = Some(0.0);
                v.location.lon = Some(0.0);
            },
            "location",
            "null_island",
        );
        check(|v| v.location.accuracy_m = Some(0.0), "location.accuracy_m", "accuracy_not_positive");
        check(|v| v.location.accuracy_m = Some(-3.0), "location.accuracy_m", "accuracy_not_positive");
        check(|v| v.location.accuracy_m = Some(f64::NAN), "location.accuracy_m", "not_finite");
        check(|v| v.location.accuracy_m = Some(1e9), "location.accuracy_m", "out_of_range");
        check(|v| v.location.accuracy_m = None, "location.accuracy_m", "accuracy_required");
        check(|v| v.location.source = "none".into(), "location.source", "coordinates_without_source");
        check(|v| v.location.lon = None, "location.lon", "coordinates_required");
        check(|v| v.location.source = "wifi".into(), "location.source", "unknown_location_source");
        let c = campaign();
        let ctx = ValidationContext::on_device(&c, now());
        let mut manual = good();
        manual.location =
            LocationInput { source: "manual".into(), lat: Some(18.3), lon: Some(105.9), accuracy_m: None };
        assert!(Visit::parse(&manual, &ctx).is_ok());
        let mut none = good();
        none.location = LocationInput { source: "none".into(), lat: None, lon: None, accuracy_m: None };
        assert_eq!(Visit::parse(&none, &ctx).unwrap().location.point, None);
    }

    #[test]
    fn text_rules() {
        check(|v| v.household.address = Some("x".repeat(201)), "household.address", "too_long");
        check(|v| v.notes = Some("a\u{0000}b".into()), "notes", "control_characters");
        check(|v| v.notes = Some("n".repeat(1001)), "notes", "too_long");
        check(
            |v| {
                v.outcome = "refused".into();
                v.installed_now = 0;
                v.reason = Some("r".repeat(201));
            },
            "reason",
            "too_long",
        );
    }

    #[test]
    fn time_rules() {
        check(|v| v.visited_at = "03/08/2020 09:15".into(), "visited_at", "not_a_timestamp");
        // No offset: the device must say which clock it read.
        check(|v| v.visited_at = "2020-08-03T09:15:00".into(), "visited_at", "not_a_timestamp");
        check(|v| v.visited_at = "9999-12-31T23:59:59+07:00".into(), "visited_at", "in_future");
        // 11 minutes ahead of the device's clock is refused; 9 minutes is tolerated.
        check(|v| v.visited_at = "2020-08-03T10:11:00+07:00".into(), "visited_at", "in_future");
        let c = campaign();
        let ctx = ValidationContext::on_device(&c, now());
        let mut ok = good();
        ok.visited_at = "2020-08-03T10:09:00+07:00".into();
        assert!(Visit::parse(&ok, &ctx).is_ok());
        check(|v| v.visited_at = "1970-01-01T00:00:00Z".into(), "visited_at", "too_old");
    }

    #[test]
    fn the_server_judges_future_times_by_its_own_clock() {
        let c = campaign();
        let server = ValidationContext {
            campaign: &c,
            // A phone whose clock says 9999 does not move the server's limit.
            device_now: Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap(),
            server_now: Some(now()),
        };
        let at = |t: &str| {
            let mut v = good();
            v.visited_at = t.into();
            Visit::parse(&v, &server)
        };
        for far in ["9999-12-31T00:00:00+07:00", "2090-01-01T00:00:00+07:00"] {
            let e = at(far).unwrap_err();
            assert_eq!((e.field.as_str(), e.code()), ("visited_at", "in_future"), "{far}");
            assert!(e.messages().en.contains("48 hours"), "{}", e.messages().en);
            assert!(e.messages().vi.contains("48 giờ"), "{}", e.messages().vi);
        }
        // 47 hours ahead of the server: a phone that ran fast offline; 49: refused.
        assert!(at("2020-08-05T09:00:00+07:00").is_ok());
        assert_eq!(at("2020-08-05T11:00:00+07:00").unwrap_err().code(), "in_future");
    }

    #[test]
    fn a_visit_before_the_campaigns_first_day_is_refused() {
        let c = campaign();
        assert_eq!(c.starts_on, chrono::NaiveDate::from_ymd_opt(2020, 8, 2));
        let ctx = ValidationContext::on_device(&c, now());
        let at = |t: &str| {
            let mut v = good();
            v.visited_at = t.into();
            Visit::parse(&v, &ctx)
        };
        // The first day starts at midnight in the campaign's time zone (UTC+7).
        assert!(at("2020-08-02T00:00:00+07:00").is_ok());
        assert!(at("2020-08-01T17:00:00Z").is_ok());
        let e = at("2020-08-01T23:59:00+07:00").unwrap_err();
        assert_eq!((e.field.as_str(), e.code()), ("visited_at", "before_campaign_start"));
        assert!(e.messages().vi.contains("02/08/2020"), "{}", e.messages().vi);
        assert!(e.messages().en.contains("02/08/2020"), "{}", e.messages().en);
        // A campaign naming no first day keeps only the software's earliest date.
        let open = Campaign { starts_on: None, ..campaign() };
        let ctx = ValidationContext::on_device(&open, now());
        let mut v = good();
        v.visited_at = "2020-03-01T09:00:00+07:00".into();
        assert!(Visit::parse(&v, &ctx).is_ok());
    }

    #[test]
    fn only_the_visits_own_volunteer_adds_the_next_revision() {
        let c = campaign();
        let ctx = ValidationContext::on_device(&c, now());
        let first = Visit::parse(&good(), &ctx).unwrap();
        let owner = first.volunteer_id.uuid();
        let held =
            HeldVisit { owner, subject: first.household.id.uuid(), area_code: first.area_code.to_string(), latest: 1 };
        let revision = |n: i64, change: &dyn Fn(&mut VisitInput)| {
            let mut input = first.to_input();
            input.revision = n;
            change(&mut input);
            Visit::parse(&input, &ctx).unwrap()
        };
        let code = |r: Result<(), FieldError>| r.err().map(|e| (e.field.clone(), e.code()));
        // Revision 1 opens a visit, whatever is held.
        assert_eq!(code(check_revision(first.as_revision(), None, Some(owner))), None);
        // The owner's next revision.
        let second = revision(2, &|_| {});
        assert_eq!(code(check_revision(second.as_revision(), Some(&held), Some(owner))), None);
        // Sent by another volunteer's phone, even naming the owner; or naming another volunteer.
        let stranger = uuid::Uuid::now_v7();
        assert_eq!(
            code(check_revision(second.as_revision(), Some(&held), Some(stranger))),
            Some(("volunteer_id".into(), "not_your_visit"))
        );
        let theirs = revision(2, &|v| v.volunteer_id = stranger.to_string());
        assert_eq!(
            code(check_revision(theirs.as_revision(), Some(&held), Some(stranger))),
            Some(("volunteer_id".into(), "not_your_visit"))
        );
        // Moved to another household or area.
        let moved = revision(2, &|v| v.area_code = "18115".into());
        assert_eq!(
            code(check_revision(moved.as_revision(), Some(&held), Some(owner))),
            Some(("household.id".into(), "revision_other_household"))
        );
        let other = revision(2, &|v| v.household.id = Id::new_v7().to_string());
        assert_eq!(
            code(check_revision(other.as_revision(), Some(&held), Some(owner))),
            Some(("household.id".into(), "revision_other_household"))
        );
        // Numbers that skip, or jump to the end of the range, or come before their visit.
        for n in [3, i64::MAX] {
            let e = check_revision(revision(n, &|_| {}).as_revision(), Some(&held), Some(owner)).unwrap_err();
            assert_eq!(e.code(), "revision_gap");
            assert!(e.messages().en.contains("revision 2"), "{}", e.messages().en);
        }
        assert_eq!(
            code(check_revision(second.as_revision(), None, Some(owner))),
            Some(("revision".into(), "revision_gap"))
        );
        // Without a known sender (benchmarks), the record's own volunteer still decides.
        assert_eq!(code(check_revision(second.as_revision(), Some(&held), None)), None);
        assert_eq!(
            code(check_revision(theirs.as_revision(), Some(&held), None)),
            Some(("volunteer_id".into(), "not_your_visit"))
        );
    }
}
