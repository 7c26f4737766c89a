//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz; see docs/RELIABILITY.md): the real
//! push decoding and validation, run on bytes without a network, a database or a clock. Not an
//! API: nothing but the fuzz targets calls it, and it may change with them.
//!
//! A push is read here exactly as the HTTP handlers read it (the body's encoding, the zstd bomb
//! guard, UTF-8, the envelope, each record on its own, validation, the content hash), and what
//! came out is returned as plain data so that a target can check it without knowing the server's
//! types.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, TimeZone, Utc};
use doorstep_domain::venue::VenueVisit;
use doorstep_domain::{Campaign, FieldError, Lang, ValidationContext, Visit};
use uuid::Uuid;

use crate::accounts::SessionUser;
use crate::db::ingest::{Incoming, content_hash};
use crate::devices::DeviceCaller;
use crate::http::{ApiError, Limits, decode_batch, decode_push};
use crate::venues::VenueIncoming;

/// The device every fuzzed batch comes from. A batch naming another device is refused whole, as
/// on the server, so the seed corpus names this one to get past the envelope.
pub const DEVICE_ID: &str = "0192f0c0-0000-7000-8000-00000000d00d";

/// The volunteer the fuzzing device was enrolled for.
pub const VOLUNTEER_ID: &str = "0192f0c0-0000-7000-8000-0000000000aa";

/// The server's clock during fuzzing, fixed so that a crash found once replays the same way.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).single().unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// The server's limits, shrunk so that inputs of a few kilobytes reach them: the guards are the
/// same code whatever the numbers, and a fuzzer never makes a 32 MiB body.
pub fn limits() -> Limits {
    Limits {
        max_body_bytes: 256 << 10,
        max_decompressed_bytes: 64 << 10,
        max_records_per_push: 64,
        ..Limits::default()
    }
}

/// How the body travels, as its `Content-Encoding` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Zstd,
}

/// A refusal as the client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status (whole batches) or 422 (single records).
    pub status: u16,
    pub code: String,
    pub field: Option<String>,
    pub vi: String,
    pub en: String,
}

/// One record of a batch that was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Valid and ready to store. `canonical_stable`: its canonical wire form (what the device
    /// stores and sends again) validates to the same record with the same content hash, which the
    /// server's duplicate detection relies on.
    Valid {
        id: String,
        canonical_stable: bool,
    },
    Refused {
        id: Option<String>,
        refusal: Refusal,
    },
}

/// Decodes and validates a visit push (`POST /api/v1/sync/push`) from [`DEVICE_ID`]:
/// `Err` when the batch is refused whole, else one [`Record`] per record, in order.
pub fn visit_push(body: &[u8], encoding: Encoding) -> Result<Vec<Record>, Refusal> {
    let campaign = Campaign::bluezone();
    let batch = decode_push(&headers(encoding), body, (&limits(), &campaign), &caller(), now(), Lang::Vi)
        .map_err(batch_refusal)?;
    Ok(batch
        .records
        .into_iter()
        .map(|r| match r {
            Incoming::Valid { visit, hash, id, .. } => {
                Record::Valid { id, canonical_stable: visit_is_stable(&visit, hash, &campaign) }
            }
            Incoming::Invalid { id, error, .. } => Record::Refused { id, refusal: record_refusal(&error) },
        })
        .collect())
}

/// Decodes and validates a venue push (`POST /api/v1/sync/venues`) from [`DEVICE_ID`], as
/// [`visit_push`] does, with the push handler's per-record step.
pub fn venue_push(body: &[u8], encoding: Encoding) -> Result<Vec<Record>, Refusal> {
    let campaign = Campaign::bluezone();
    let sender = caller();
    let (_, _, records) =
        decode_batch(&headers(encoding), body, (&limits(), &campaign), &sender, now(), Lang::Vi, |read, ctx| {
            crate::venues::read_venue_record(read, ctx, sender.device_id)
        })
        .map_err(batch_refusal)?;
    Ok(records
        .into_iter()
        .map(|r| match r {
            VenueIncoming::Valid { visit, body, .. } => {
                Record::Valid { id: visit.id.to_string(), canonical_stable: venue_is_stable(&visit, &body, &campaign) }
            }
            VenueIncoming::Invalid { id, error, .. } => Record::Refused { id, refusal: record_refusal(&error) },
        })
        .collect())
}

fn headers(encoding: Encoding) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if encoding == Encoding::Zstd {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("zstd"));
    }
    h
}

fn caller() -> DeviceCaller {
    DeviceCaller {
        device_id: Uuid::parse_str(DEVICE_ID).unwrap_or_default(),
        volunteer: SessionUser {
            user_id: Uuid::parse_str(VOLUNTEER_ID).unwrap_or_default(),
            username: "fuzz".into(),
            role: doorstep_domain::account::Role::Volunteer,
            area_code: "42".into(),
            expires_ms: i64::MAX,
        },
        revoked: false,
        assigned_paths: Vec::new(),
        own_path: None,
    }
}

fn batch_refusal(e: ApiError) -> Refusal {
    Refusal {
        status: e.status.as_u16(),
        code: e.body.code,
        field: e.body.field,
        vi: e.body.messages.vi,
        en: e.body.messages.en,
    }
}

fn record_refusal(e: &FieldError) -> Refusal {
    let m = e.messages();
    Refusal { status: 422, code: e.code().to_string(), field: Some(e.field.clone()), vi: m.vi, en: m.en }
}

/// Validation against the record's own time, so that only the record decides: a valid record's
/// canonical form must be valid whenever the record was.
fn own_time(campaign: &Campaign, at: DateTime<Utc>) -> ValidationContext<'_> {
    ValidationContext::on_device(campaign, at)
}

fn visit_is_stable(visit: &Visit, hash: [u8; 32], campaign: &Campaign) -> bool {
    let ctx = own_time(campaign, visit.visited_at.with_timezone(&Utc));
    Visit::parse(&visit.to_input(), &ctx).is_ok_and(|again| again == *visit && content_hash(&again) == hash)
}

fn venue_is_stable(visit: &VenueVisit, body: &str, campaign: &Campaign) -> bool {
    let ctx = own_time(campaign, visit.visited_at.with_timezone(&Utc));
    VenueVisit::parse(&visit.to_input(), &ctx).is_ok_and(|again| again == *visit && again.canonical_json() == body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(id: &str) -> String {
        format!(
            r#"{{"id":"{id}","revision":1,"device_seq":1,"device_id":"{DEVICE_ID}","volunteer_id":"{VOLUNTEER_ID}",
            "area_code":"18073","household":{{"id":"0192f0c0-0000-7000-8000-0000000000b1","address":"12 Phan Đình Phùng"}},
            "visited_at":"2026-11-28T09:15:00+07:00","outcome":"installed_now","people":4,"smartphones":3,
            "already_installed":1,"installed_now":2,"leaflet_given":true,
            "location":{{"source":"gps","lat":18.34,"lon":105.9,"accuracy_m":8.0}}}}"#
        )
    }

    /// The entry point reads what the server reads: a good record, a bad one beside it, and a
    /// batch from another device refused whole.
    #[test]
    fn the_fuzzing_entry_reads_a_push_as_the_server_does() {
        let body = format!(
            r#"{{"device_id":"{DEVICE_ID}","sent_at":"2026-11-28T12:00:00+07:00","records":[{},{}]}}"#,
            visit("0192f0c0-0000-7000-8000-000000000001"),
            visit("0192f0c0-0000-7000-8000-000000000002").replace(r#""people":4"#, r#""people":-1"#)
        );
        let records = visit_push(body.as_bytes(), Encoding::Identity).unwrap();
        assert!(matches!(&records[0], Record::Valid { canonical_stable: true, .. }), "{records:?}");
        match &records[1] {
            Record::Refused { refusal, .. } => assert_eq!(refusal.field.as_deref(), Some("people")),
            other => panic!("{other:?}"),
        }
        let zstd = zstd::encode_all(body.as_bytes(), 1).unwrap();
        assert_eq!(visit_push(&zstd, Encoding::Zstd).unwrap(), records);

        let other = body.replace(DEVICE_ID, "0192f0c0-0000-7000-8000-00000000beef");
        assert_eq!(visit_push(other.as_bytes(), Encoding::Identity).unwrap_err().code, "wrong_device");
        assert_eq!(venue_push(b"{", Encoding::Identity).unwrap_err().code, "malformed_json");
    }

    /// Found by the push fuzz targets: a syntax error under an empty key (`{"": *}`) was refused
    /// as naming the field "" (`field ''` in both messages). Neither a batch nor a record refusal
    /// names an empty field now.
    #[test]
    fn a_refusal_never_names_an_empty_field() {
        let e = visit_push(br#"{"":*0133333s0-00000000d00d","sent_a:[]}"#, Encoding::Identity).unwrap_err();
        assert_eq!((e.code.as_str(), e.field.as_deref()), ("malformed_json", None), "{e:?}");
        assert!(!e.en.contains("field ''") && !e.vi.contains("«»"), "{e:?}");

        for record in [r#"{"\ud800":1}"#, r#"{"":"\ud800"}"#, r#"{"":{"":[1,{"":"\udc00"}]}}"#] {
            let body =
                format!(r#"{{"device_id":"{DEVICE_ID}","sent_at":"2026-11-28T12:00:00Z","records":[{record}]}}"#);
            let records = visit_push(body.as_bytes(), Encoding::Identity).unwrap();
            match &records[..] {
                [Record::Refused { refusal, .. }] => {
                    assert!(refusal.field.as_deref().is_some_and(|f| !f.is_empty()), "{record}: {refusal:?}")
                }
                other => panic!("{record}: {other:?}"),
            }
        }
    }
}
