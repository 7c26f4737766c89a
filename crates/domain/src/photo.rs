//! Photos attached to a visit, a venue visit or a day's activity report: the metadata both sides
//! exchange, its validation, and the limits of the upload protocol.
//!
//! A photo is content-addressed: its bytes are named by their SHA-256 (lowercase hex), so the same
//! picture sent by two phones is stored once; each phone's record of it (a "link": id, target,
//! caption, time) is stored once per id, like a visit.

use chrono::DateTime;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, FieldError};
use crate::values::{AreaCode, Id, Text};

/// The longest edge of a stored photo, in pixels: enough to read a poster on a wall, small enough
/// for a day's photos on a slow network.
pub const MAX_EDGE_PX: u32 = 1280;
/// JPEG quality of the re-encoded photo.
pub const JPEG_QUALITY: u8 = 80;
/// The largest picture the phone agrees to decode (a camera's original).
pub const MAX_INPUT_BYTES: usize = 20 * 1024 * 1024;
/// The largest stored photo the server accepts: a resized one is far below it.
pub const MAX_PHOTO_BYTES: u64 = 5 * 1024 * 1024;
/// The chunk a phone sends per request; the server takes up to [`MAX_CHUNK_BYTES`].
pub const CHUNK_BYTES: usize = 256 * 1024;
/// The largest chunk the server accepts in one request.
pub const MAX_CHUNK_BYTES: usize = 1024 * 1024;
/// Captions are short: what the photo shows.
pub const MAX_CAPTION_CHARS: usize = 200;
/// The only stored format: phones re-encode every picture as JPEG.
pub const CONTENT_TYPE: &str = "image/jpeg";

/// What a photo belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TargetKind {
    /// A household visit; the target is the visit's id.
    Visit,
    /// A visit to a venue; the target is that visit's id.
    VenueVisit,
    /// A day's activity report; the target is the local date, `YYYY-MM-DD`.
    Day,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Visit => "visit",
            TargetKind::VenueVisit => "venue_visit",
            TargetKind::Day => "day",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<TargetKind, FieldError> {
        match raw.trim() {
            "visit" => Ok(TargetKind::Visit),
            "venue_visit" => Ok(TargetKind::VenueVisit),
            "day" => Ok(TargetKind::Day),
            other => Err(FieldError::new(
                field,
                ErrorKind::Malformed {
                    detail: format!("{:?}: visit, venue_visit, day", other.chars().take(20).collect::<String>()),
                },
            )),
        }
    }
}

/// A photo's record as the phone registers it (`POST /api/v1/photos`); also what the phone keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoMeta {
    /// UUIDv7 made on the phone.
    pub id: String,
    /// SHA-256 of the stored JPEG, lowercase hex.
    pub sha256: String,
    /// Bytes of the stored JPEG: at most 5 MiB (more answers 413).
    #[serde(deserialize_with = "crate::values::whole::u64")]
    #[cfg_attr(feature = "openapi", schema(maximum = 5242880))]
    pub size: u64,
    pub content_type: String,
    pub target_kind: TargetKind,
    /// A visit id, a venue-visit id, or for `day` the local date `YYYY-MM-DD`.
    pub target_id: String,
    pub area_code: String,
    #[serde(default)]
    pub caption: Option<String>,
    /// When the photo was attached, RFC 3339 with the phone's offset.
    pub taken_at: String,
}

/// The server's answer to a registration or a chunk: how many bytes it holds for this content,
/// and whether they are all there and verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadState {
    pub received: u64,
    pub complete: bool,
}

/// A photo as staff read it (`GET /api/v1/photos`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoDto {
    pub id: String,
    pub sha256: String,
    pub size: u64,
    pub target_kind: TargetKind,
    pub target_id: String,
    pub area_code: String,
    pub caption: Option<String>,
    pub taken_at: String,
    /// The phone's local date of `taken_at`, `YYYY-MM-DD`.
    pub day: String,
    pub volunteer_id: String,
    pub device_id: String,
    /// The server's receive time, RFC 3339 UTC.
    pub received_at: String,
    /// All bytes are held and verified: the image can be shown.
    pub complete: bool,
}

/// Whether `s` is a SHA-256 in lowercase hex.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl PhotoMeta {
    /// The metadata checked and normalised (caption in NFC, trimmed; blank caption dropped).
    /// The phone runs it before saving, the server before storing.
    pub fn validate(&self) -> Result<PhotoMeta, FieldError> {
        let id = Id::parse_v7("id", &self.id)?;
        let sha = self.sha256.trim().to_ascii_lowercase();
        if !is_sha256_hex(&sha) {
            return Err(FieldError::new("sha256", ErrorKind::Malformed { detail: "64 hex digits".into() }));
        }
        if self.size == 0 {
            return Err(FieldError::new("size", ErrorKind::Empty));
        }
        if self.size > MAX_PHOTO_BYTES {
            return Err(FieldError::new("size", ErrorKind::TooLarge { max: MAX_PHOTO_BYTES }));
        }
        if self.content_type.trim() != CONTENT_TYPE {
            return Err(FieldError::new("content_type", ErrorKind::Malformed { detail: CONTENT_TYPE.into() }));
        }
        let target_id = match self.target_kind {
            TargetKind::Visit | TargetKind::VenueVisit => Id::parse("target_id", &self.target_id)?.to_string(),
            TargetKind::Day => {
                let t = self.target_id.trim();
                chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .map_err(|_| FieldError::new("target_id", ErrorKind::Malformed { detail: "YYYY-MM-DD".into() }))?;
                t.to_string()
            }
        };
        let area = AreaCode::parse("area_code", &self.area_code)?;
        let caption = Text::parse_optional("caption", self.caption.as_deref(), MAX_CAPTION_CHARS, false)?;
        let taken = DateTime::parse_from_rfc3339(self.taken_at.trim())
            .map_err(|_| FieldError::new("taken_at", ErrorKind::NotATimestamp))?;
        Ok(PhotoMeta {
            id: id.to_string(),
            sha256: sha,
            size: self.size,
            content_type: CONTENT_TYPE.into(),
            target_kind: self.target_kind,
            target_id,
            area_code: area.as_str().to_string(),
            caption: caption.map(|c| c.as_str().to_string()),
            taken_at: taken.to_rfc3339(),
        })
    }

    /// The phone's local date of `taken_at` (the campaign day the photo belongs to).
    pub fn local_day(&self) -> Option<String> {
        DateTime::parse_from_rfc3339(&self.taken_at).ok().map(|t| t.date_naive().format("%Y-%m-%d").to_string())
    }

    /// The bytes the server hashes to tell the same registration sent again from an id re-used
    /// with other content. Over the validated form, so spelling differences do not count.
    pub fn content_bytes(&self) -> Vec<u8> {
        let caption = self.caption.as_deref().unwrap_or("");
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.id,
            self.sha256,
            self.size,
            self.target_kind.as_str(),
            self.target_id,
            self.area_code,
            caption,
            self.taken_at
        )
        .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> PhotoMeta {
        PhotoMeta {
            id: "0190d6a0-0000-7000-8000-000000000001".into(),
            sha256: "A".repeat(64),
            size: 1000,
            content_type: "image/jpeg".into(),
            target_kind: TargetKind::Day,
            target_id: "2020-08-04".into(),
            area_code: "18073".into(),
            caption: Some("  Tuyên truyê\u{300}n  ".into()),
            taken_at: "2020-08-04T09:15:00+07:00".into(),
        }
    }

    #[test]
    fn validation_normalises_and_keeps_the_local_day() {
        let m = meta().validate().unwrap();
        assert_eq!(m.sha256, "a".repeat(64));
        assert_eq!(m.caption.as_deref(), Some("Tuyên truyền"));
        assert_eq!(m.local_day().as_deref(), Some("2020-08-04"));
        // The same record typed otherwise hashes the same.
        assert_eq!(m.content_bytes(), m.validate().unwrap().content_bytes());
    }

    #[test]
    fn validation_names_the_bad_field() {
        type Change = fn(&mut PhotoMeta);
        let cases: Vec<(Change, &str)> = vec![
            (|m| m.sha256 = "xyz".into(), "sha256"),
            (|m| m.size = MAX_PHOTO_BYTES + 1, "size"),
            (|m| m.target_id = "4/8/2020".into(), "target_id"),
            (|m| m.caption = Some("a".repeat(201)), "caption"),
            (|m| m.taken_at = "yesterday".into(), "taken_at"),
            (|m| m.content_type = "image/png".into(), "content_type"),
            (|m| m.id = "6f9619ff-8b86-4d01-b42d-00cf4fc964ff".into(), "id"),
        ];
        for (change, field) in cases {
            let mut m = meta();
            change(&mut m);
            assert_eq!(m.validate().unwrap_err().field, field);
        }
        assert!(TargetKind::parse("target_kind", "house").is_err());
    }
}
