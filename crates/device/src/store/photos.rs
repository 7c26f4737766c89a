//! Photos on the phone: made small here (the network is the scarce thing), kept in the `photos`
//! table, whose row is also the photo's outbox entry (`state`), so a photo is durable and queued
//! in one commit. Once the server holds a photo whole, the phone keeps only a thumbnail of it
//! (storage is the other scarce thing on a cheap phone).

use std::io::Cursor;

use chrono::{DateTime, FixedOffset};
use doorstep_domain::photo::{
    CONTENT_TYPE, JPEG_QUALITY, MAX_EDGE_PX, MAX_INPUT_BYTES, PhotoMeta, TargetKind, UploadState,
};
use doorstep_domain::protocol::ErrorBody;
use doorstep_domain::{Lang, Messages};
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{DeviceError, DeviceStore};

/// Why the phone refuses a picture, in both languages (shown to the volunteer at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoRefusal {
    pub code: &'static str,
    pub messages: Messages,
}

impl std::fmt::Display for PhotoRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.messages.en)
    }
}

impl PhotoRefusal {
    pub fn body(&self, lang: Lang) -> ErrorBody {
        ErrorBody::new(self.code, Some("photo"), self.messages.clone(), lang)
    }

    fn unreadable() -> PhotoRefusal {
        PhotoRefusal {
            code: "photo_unreadable",
            messages: Messages {
                vi: "Không đọc được ảnh này (chỉ nhận ảnh JPEG hoặc PNG); hãy chụp lại.".into(),
                en: "This picture cannot be read (only JPEG or PNG are taken); take it again.".into(),
            },
        }
    }

    fn too_large(size: usize) -> PhotoRefusal {
        let mb = MAX_INPUT_BYTES / (1024 * 1024);
        let got = size.div_ceil(1024 * 1024);
        PhotoRefusal {
            code: "photo_too_large",
            messages: Messages {
                vi: format!("Ảnh quá lớn ({got} MB, tối đa {mb} MB); hãy chụp với độ phân giải thấp hơn."),
                en: format!("The picture is too large ({got} MB, at most {mb} MB); take it at a lower resolution."),
            },
        }
    }

    fn unknown_visit() -> PhotoRefusal {
        PhotoRefusal {
            code: "photo_target_unknown",
            messages: Messages {
                vi: "Không tìm thấy lượt thăm để gắn ảnh trên máy này; hãy lưu lượt thăm trước.".into(),
                en: "The visit to attach the photo to is not on this phone; save the visit first.".into(),
            },
        }
    }
}

/// What the app gives to attach a photo; the store adds the id, the hash and the time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoDraft {
    pub target_kind: TargetKind,
    /// A visit id, a venue-visit id, or for `day` the local date `YYYY-MM-DD`.
    pub target_id: String,
    /// The area of a day report; for a visit, the visit's own area is used.
    pub area_code: Option<String>,
    pub caption: Option<String>,
}

/// A photo as the phone lists it (without its bytes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalPhoto {
    pub id: String,
    pub sha256: String,
    pub size: u64,
    pub target_kind: TargetKind,
    pub target_id: String,
    pub area_code: String,
    pub caption: Option<String>,
    pub taken_at: String,
    /// `pending`, `sent` or `rejected`.
    pub state: String,
    /// The server's refusal, for the volunteer.
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoQueue {
    pub pending: u64,
    pub sent: u64,
    pub rejected: u64,
}

/// A picture made ready to keep: the JPEG and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedPhoto {
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`, lowercase hex.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
}

/// A picture decoded, turned upright, made at most [`MAX_EDGE_PX`] on its long edge and encoded
/// as JPEG. Re-encoding keeps only pixels, so the camera's EXIF block (GPS position, phone
/// model, time) does not leave the phone. CPU work of a second or so on a cheap phone: the app
/// runs it without holding the store.
pub fn prepare_photo(input: &[u8]) -> Result<PreparedPhoto, PhotoRefusal> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(PhotoRefusal::too_large(input.len()));
    }
    let mut reader =
        ImageReader::new(Cursor::new(input)).with_guessed_format().map_err(|_| PhotoRefusal::unreadable())?;
    if !matches!(reader.format(), Some(image::ImageFormat::Jpeg | image::ImageFormat::Png)) {
        return Err(PhotoRefusal::unreadable());
    }
    // A small file can claim huge dimensions; a phone has little memory.
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(400 << 20);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| PhotoRefusal::unreadable())?;
    // The camera often stores a portrait photo sideways with an orientation tag; the tag goes
    // with the EXIF block, so the pixels are turned here.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|_| PhotoRefusal::unreadable())?;
    img.apply_orientation(orientation);
    if img.width().max(img.height()) > MAX_EDGE_PX {
        img = img.resize(MAX_EDGE_PX, MAX_EDGE_PX, image::imageops::FilterType::Triangle);
    }
    // JPEG has no alpha: flatten to RGB.
    let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
    rgb.write_with_encoder(encoder).map_err(|_| PhotoRefusal::unreadable())?;
    let sha256 = sha256_hex(&out);
    Ok(PreparedPhoto { bytes: out, sha256, width: rgb.width(), height: rgb.height() })
}

/// The long edge of what the phone keeps of a photo the server holds whole (for its lists).
pub const THUMBNAIL_EDGE_PX: u32 = 320;

/// A small JPEG of a stored photo; `None` when it does not decode (then the photo is kept whole).
pub fn thumbnail(stored: &[u8]) -> Option<Vec<u8>> {
    let img = image::load_from_memory_with_format(stored, image::ImageFormat::Jpeg).ok()?;
    let small = img.thumbnail(THUMBNAIL_EDGE_PX, THUMBNAIL_EDGE_PX).to_rgb8();
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 70);
    DynamicImage::ImageRgb8(small).write_with_encoder(encoder).ok()?;
    // A picture already smaller than its thumbnail stays as it is.
    (out.len() < stored.len()).then_some(out)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

const PHOTO_COLUMNS: &str = "id, sha256, size, target_kind, target_id, area_code, caption, taken_at, state, error";

fn photo_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(LocalPhoto, String)> {
    let kind: String = r.get(3)?;
    let error: Option<String> = r.get(9)?;
    Ok((
        LocalPhoto {
            id: r.get(0)?,
            sha256: r.get(1)?,
            size: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            // The table's CHECK holds it to the three kinds.
            target_kind: TargetKind::parse("target_kind", &kind).unwrap_or(TargetKind::Day),
            target_id: r.get(4)?,
            area_code: r.get(5)?,
            caption: r.get(6)?,
            taken_at: r.get(7)?,
            state: r.get(8)?,
            error: None,
        },
        error.unwrap_or_default(),
    ))
}

impl DeviceStore {
    /// Makes the picture small, hashes it and saves it with its outbox state in one commit;
    /// returns after the commit (invariant 1). A picture that cannot be read, or is too large, is
    /// refused with words for the volunteer and nothing is written.
    pub fn attach_photo(
        &mut self, draft: &PhotoDraft, picture: &[u8], now: DateTime<FixedOffset>,
    ) -> Result<LocalPhoto, DeviceError> {
        let prepared = prepare_photo(picture).map_err(DeviceError::Photo)?;
        self.save_photo(draft, prepared, now)
    }

    /// Saves a picture [`prepare_photo`] made ready, with its outbox state, in one commit.
    pub fn save_photo(
        &mut self, draft: &PhotoDraft, prepared: PreparedPhoto, now: DateTime<FixedOffset>,
    ) -> Result<LocalPhoto, DeviceError> {
        // A visit's or a venue visit's photo is in the area of the visit as this phone saved it.
        let saved_in = match draft.target_kind {
            TargetKind::Visit => Some("visits"),
            TargetKind::VenueVisit => Some("venue_visits"),
            _ => None,
        };
        let area_code = match saved_in {
            Some(table) => {
                let area: Option<String> = self
                    .conn
                    .query_row(
                        &format!("SELECT area_code FROM {table} WHERE id = ?1 ORDER BY revision DESC LIMIT 1"),
                        [draft.target_id.trim()],
                        |r| r.get(0),
                    )
                    .optional()?;
                area.ok_or_else(|| DeviceError::Photo(PhotoRefusal::unknown_visit()))?
            }
            None => draft.area_code.clone().unwrap_or_default(),
        };
        let PreparedPhoto { bytes, sha256, .. } = prepared;
        let meta = PhotoMeta {
            id: Uuid::now_v7().to_string(),
            sha256,
            size: bytes.len() as u64,
            content_type: CONTENT_TYPE.into(),
            target_kind: draft.target_kind,
            target_id: draft.target_id.clone(),
            area_code,
            caption: draft.caption.clone(),
            taken_at: now.to_rfc3339(),
        }
        .validate()?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO photos (id, sha256, target_kind, target_id, area_code, caption, taken_at, bytes, size, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending')",
            params![
                meta.id,
                meta.sha256,
                meta.target_kind.as_str(),
                meta.target_id,
                meta.area_code,
                meta.caption,
                meta.taken_at,
                bytes,
                meta.size as i64,
            ],
        )?;
        tx.commit()?;
        tracing::info!(id = %meta.id, size = meta.size, kind = meta.target_kind.as_str(), "photo saved");
        Ok(LocalPhoto {
            id: meta.id,
            sha256: meta.sha256,
            size: meta.size,
            target_kind: meta.target_kind,
            target_id: meta.target_id,
            area_code: meta.area_code,
            caption: meta.caption,
            taken_at: meta.taken_at,
            state: "pending".into(),
            error: None,
        })
    }

    /// The photos of a visit or a day, oldest first, with their state.
    pub fn photos_for(&self, kind: TargetKind, target_id: &str) -> Result<Vec<LocalPhoto>, DeviceError> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {PHOTO_COLUMNS} FROM photos WHERE target_kind = ?1 AND target_id = ?2 ORDER BY id"
        ))?;
        let rows = st.query_map(params![kind.as_str(), target_id.trim()], photo_row)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(with_error).collect()
    }

    /// The photos the server refused, with its reasons.
    pub fn rejected_photos(&self) -> Result<Vec<LocalPhoto>, DeviceError> {
        let mut st =
            self.conn.prepare(&format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE state = 'rejected' ORDER BY id"))?;
        let rows = st.query_map([], photo_row)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(with_error).collect()
    }

    /// The stored JPEG of a photo.
    pub fn photo_bytes(&self, id: &str) -> Result<Option<Vec<u8>>, DeviceError> {
        Ok(self.conn.query_row("SELECT bytes FROM photos WHERE id = ?1", [id], |r| r.get(0)).optional()?)
    }

    pub fn photo_queue(&self) -> Result<PhotoQueue, DeviceError> {
        let (pending, sent, rejected): (i64, i64, i64) = self.conn.query_row(
            "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'sent'),
                    count(*) FILTER (WHERE state = 'rejected') FROM photos",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(PhotoQueue { pending: n(pending), sent: n(sent), rejected: n(rejected) })
    }

    /// Ids of the photos waiting to be sent, oldest first (UUIDv7 sort by time).
    pub fn pending_photo_ids(&self) -> Result<Vec<String>, DeviceError> {
        let mut st = self.conn.prepare("SELECT id FROM photos WHERE state = 'pending' ORDER BY id")?;
        let ids = st.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
        Ok(ids)
    }

    /// A pending photo's metadata as it is registered with the server.
    pub fn photo_meta(&self, id: &str) -> Result<Option<PhotoMeta>, DeviceError> {
        let row = self
            .conn
            .query_row(&format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE id = ?1"), [id], photo_row)
            .optional()?;
        Ok(row.map(|(p, _)| PhotoMeta {
            id: p.id,
            sha256: p.sha256,
            size: p.size,
            content_type: CONTENT_TYPE.into(),
            target_kind: p.target_kind,
            target_id: p.target_id,
            area_code: p.area_code,
            caption: p.caption,
            taken_at: p.taken_at,
        }))
    }

    /// Clears a photo from the queue: only once the server has said its bytes are complete and
    /// its record registered (invariant 4). The phone then keeps a thumbnail of it in place of
    /// the photo (`size` and `sha256` still name what the server holds).
    pub fn mark_photo_sent(&mut self, id: &str, server: UploadState) -> Result<(), DeviceError> {
        if !server.complete {
            return Err(DeviceError::Corrupt(format!(
                "photo {id} marked sent while the server holds {} bytes of it",
                server.received
            )));
        }
        let pending: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT bytes FROM photos WHERE id = ?1 AND state = 'pending'", [id], |r| r.get(0))
            .optional()?;
        let small = pending.as_deref().and_then(thumbnail);
        self.conn.execute(
            "UPDATE photos SET state = 'sent', error = NULL, bytes = COALESCE(?2, bytes)
             WHERE id = ?1 AND state = 'pending'",
            params![id, small],
        )?;
        Ok(())
    }

    /// Keeps the server's refusal of a photo: it stays, marked, and is not sent again.
    pub fn reject_photo(&mut self, id: &str, error: &ErrorBody) -> Result<(), DeviceError> {
        self.conn.execute(
            "UPDATE photos SET state = 'rejected', error = ?2 WHERE id = ?1 AND state = 'pending'",
            params![id, serde_json::to_string(error)?],
        )?;
        Ok(())
    }
}

fn with_error((mut p, error): (LocalPhoto, String)) -> Result<LocalPhoto, DeviceError> {
    if !error.is_empty() {
        p.error = Some(serde_json::from_str(&error)?);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use image::{Rgb, RgbImage};

    use super::*;

    fn now() -> DateTime<FixedOffset> {
        Utc::now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap())
    }

    /// A picture with a gradient (so JPEG has something to encode), as a camera would give it.
    fn picture(w: u32, h: u32, format: image::ImageFormat) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]));
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(img).write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    /// A JPEG with an EXIF block holding a GPS position, inserted after the start marker.
    fn with_exif(jpeg: &[u8]) -> Vec<u8> {
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend_from_slice(b"MM\0*\0\0\0\x08GPSLatitude 18.3428 GPSLongitude 105.9057");
        let len = u16::try_from(payload.len() + 2).unwrap();
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    fn day(area: &str) -> PhotoDraft {
        PhotoDraft {
            target_kind: TargetKind::Day,
            target_id: "2020-08-04".into(),
            area_code: Some(area.into()),
            caption: Some("Tuyên truyê\u{300}n tại chợ".into()),
        }
    }

    /// A venue visit's photo takes the venue visit's area; an unknown one is refused.
    #[test]
    fn a_venue_visits_photo_is_in_its_area() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = DeviceStore::open(&dir.path().join("device.db")).unwrap();
        let visit = s
            .record_venue_visit(
                &crate::store::VenueVisitDraft {
                    venue_id: None,
                    kind: "transport_hub".into(),
                    name: "Bến xe Hà Tĩnh".into(),
                    address: None,
                    area_code: "18077".into(),
                    people_reached: 50,
                    smartphones: 40,
                    already_installed: 10,
                    installed_now: 6,
                    notices_posted: 4,
                    visitor_log: None,
                    location: doorstep_domain::visit::LocationInput {
                        source: "none".into(),
                        lat: None,
                        lon: None,
                        accuracy_m: None,
                    },
                    notes: None,
                },
                now(),
            )
            .unwrap();
        let draft = |id: String| PhotoDraft {
            target_kind: TargetKind::VenueVisit,
            target_id: id,
            area_code: Some("99999".into()),
            caption: Some("Thông báo dán ở cửa bến".into()),
        };
        let jpeg = picture(64, 48, image::ImageFormat::Jpeg);
        let photo = s.attach_photo(&draft(visit.id.to_string()), &jpeg, now()).unwrap();
        assert_eq!(photo.area_code, "18077", "the venue visit's area, not the one the draft named");
        match s.attach_photo(&draft(Uuid::now_v7().to_string()), &jpeg, now()) {
            Err(DeviceError::Photo(r)) => assert_eq!(r.code, "photo_target_unknown"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_large_picture_is_bounded_and_keeps_its_aspect() {
        let p = prepare_photo(&picture(2000, 1000, image::ImageFormat::Png)).unwrap();
        let jpeg = p.bytes;
        assert_eq!((p.width, p.height), (1280, 640));
        let back = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (1280, 640));
        assert_eq!(image::guess_format(&jpeg).unwrap(), image::ImageFormat::Jpeg);
        // Portrait too, and a small picture is not enlarged.
        let p = prepare_photo(&picture(600, 1500, image::ImageFormat::Jpeg)).unwrap();
        assert_eq!((p.width, p.height), (512, 1280));
        let p = prepare_photo(&picture(300, 200, image::ImageFormat::Jpeg)).unwrap();
        assert_eq!((p.width, p.height), (300, 200));
    }

    #[test]
    fn exif_and_its_gps_position_do_not_leave_the_phone() {
        let source = with_exif(&picture(320, 240, image::ImageFormat::Jpeg));
        assert!(contains(&source, b"Exif\0\0") && contains(&source, b"GPSLatitude"));
        image::load_from_memory(&source).expect("the source with EXIF still decodes");
        let jpeg = prepare_photo(&source).unwrap().bytes;
        assert!(!contains(&jpeg, b"Exif"), "EXIF kept");
        assert!(!contains(&jpeg, b"GPSLatitude"), "GPS kept");
    }

    #[test]
    fn the_hash_is_of_the_stored_bytes_and_stable() {
        let source = picture(640, 480, image::ImageFormat::Png);
        let a = prepare_photo(&source).unwrap();
        let b = prepare_photo(&source).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.sha256, sha256_hex(&a.bytes));
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn garbage_and_oversized_input_are_refused_in_both_languages() {
        for bad in [&b"not a picture at all"[..], &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0][..], &[][..]] {
            let e = prepare_photo(bad).unwrap_err();
            assert_eq!(e.code, "photo_unreadable");
            assert!(e.messages.vi.contains("Không đọc được ảnh"), "{}", e.messages.vi);
            assert!(e.messages.en.contains("cannot be read"), "{}", e.messages.en);
        }
        let huge = vec![0u8; MAX_INPUT_BYTES + 1];
        assert_eq!(prepare_photo(&huge).unwrap_err().code, "photo_too_large");
        // A GIF is a picture, but not one the phone takes.
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert_eq!(prepare_photo(gif).unwrap_err().code, "photo_unreadable");

        let dir = tempfile::tempdir().unwrap();
        let mut store = DeviceStore::open(&dir.path().join("device.db")).unwrap();
        let e = store.attach_photo(&day("18073"), b"garbage", now()).unwrap_err();
        assert!(matches!(e, DeviceError::Photo(ref r) if r.code == "photo_unreadable"), "{e}");
        // Nothing was written.
        assert_eq!(store.photo_queue().unwrap(), PhotoQueue::default());
        // A visit that is not on the phone.
        let mut draft = day("18073");
        draft.target_kind = TargetKind::Visit;
        draft.target_id = Uuid::now_v7().to_string();
        let e = store.attach_photo(&draft, &picture(10, 10, image::ImageFormat::Png), now()).unwrap_err();
        assert!(matches!(e, DeviceError::Photo(ref r) if r.code == "photo_target_unknown"), "{e}");
    }

    #[test]
    fn a_photo_is_durable_across_reopen_and_queued_until_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.db");
        let saved = {
            let mut store = DeviceStore::open(&path).unwrap();
            store.attach_photo(&day("18073"), &picture(1600, 1200, image::ImageFormat::Jpeg), now()).unwrap()
        };
        let mut store = DeviceStore::open(&path).unwrap();
        assert_eq!(store.photo_queue().unwrap(), PhotoQueue { pending: 1, sent: 0, rejected: 0 });
        let listed = store.photos_for(TargetKind::Day, "2020-08-04").unwrap();
        assert_eq!(listed, vec![saved.clone()]);
        assert_eq!(listed[0].caption.as_deref(), Some("Tuyên truyền tại chợ"), "caption in NFC");
        let bytes = store.photo_bytes(&saved.id).unwrap().unwrap();
        assert_eq!(sha256_hex(&bytes), saved.sha256);
        assert_eq!(bytes.len() as u64, saved.size);
        assert_eq!(store.pending_photo_ids().unwrap(), vec![saved.id.clone()]);
        let meta = store.photo_meta(&saved.id).unwrap().unwrap();
        assert_eq!(meta.validate().unwrap(), meta);

        // Not cleared while the server holds only part of it.
        let partial = UploadState { received: 10, complete: false };
        assert!(store.mark_photo_sent(&saved.id, partial).is_err());
        store.mark_photo_sent(&saved.id, UploadState { received: saved.size, complete: true }).unwrap();
        assert_eq!(store.photo_queue().unwrap().sent, 1);
        assert!(store.pending_photo_ids().unwrap().is_empty());
        // The server holds it whole: the phone keeps a thumbnail, a fraction of the photo, still
        // listed with what the server holds.
        let kept = store.photo_bytes(&saved.id).unwrap().unwrap();
        let small = image::load_from_memory(&kept).expect("a picture");
        assert_eq!((small.width(), small.height()), (THUMBNAIL_EDGE_PX, 240), "1280 × 960 made 320 × 240");
        assert!(kept.len() * 4 < bytes.len(), "{} bytes kept of {}", kept.len(), bytes.len());
        let listed = store.photos_for(TargetKind::Day, "2020-08-04").unwrap();
        assert_eq!(
            (listed[0].size, listed[0].sha256.as_str(), listed[0].state.as_str()),
            (saved.size, saved.sha256.as_str(), "sent")
        );
    }

    #[test]
    fn a_refused_photo_stays_with_its_reason_and_others_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = DeviceStore::open(&dir.path().join("device.db")).unwrap();
        let a = store.attach_photo(&day("18073"), &picture(50, 40, image::ImageFormat::Png), now()).unwrap();
        let b = store.attach_photo(&day("18073"), &picture(40, 50, image::ImageFormat::Png), now()).unwrap();
        let reason = ErrorBody::new(
            "out_of_scope",
            None,
            Messages {
                vi: "Địa bàn này nằm ngoài phạm vi.".into(), en: "This area is outside your areas.".into()
            },
            Lang::Vi,
        );
        store.reject_photo(&a.id, &reason).unwrap();
        assert_eq!(store.pending_photo_ids().unwrap(), vec![b.id]);
        let rejected = store.rejected_photos().unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].error.as_ref(), Some(&reason));
        assert_eq!(store.photo_queue().unwrap().rejected, 1);
    }
}
