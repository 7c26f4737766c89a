//! Photos: phones register a photo's record, then send its bytes in chunks that resume from the
//! server's offset; staff list them and read the images, in scope.
//!
//! Bytes are kept once per SHA-256 (`photo_blobs`), but knowing a hash grants nothing: each
//! phone uploads the bytes of every photo it registers (`photo_uploads`, one per SHA-256 and
//! device, with its own offset and chunks). A registration answers that phone's own progress,
//! so the answer for a picture another phone sent is the answer for one nobody sent. When an
//! upload's last byte arrives the server hashes the whole: a mismatch discards that upload's
//! bytes (422) and nothing else; a match completes the upload and gives the blob its bytes if it
//! had none, so a complete blob always hashes to its name. Each registration is a `photo_links`
//! row, stored exactly once per id like a visit (the same id with the same content is a
//! duplicate; with other content, a conflict); a link counts (for scope, for the listing's
//! `complete`, for the report) only once its own phone's upload is complete.

use doorstep_domain::FieldError;
use doorstep_domain::photo::{PhotoDto, PhotoMeta, TargetKind, UploadState};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::{Db, params};
use crate::store::{StoreError, subtree_range};

/// The header carrying a chunk's offset, and the server's offset in a 409.
pub const UPLOAD_OFFSET: &str = "upload-offset";

/// A complete photo's bytes (second) with the area paths of its records (first), for the scope
/// check before they are shown.
pub type HeldImage = (Vec<String>, Vec<u8>);

/// The most photos one list answers.
pub const MAX_LISTED: i64 = 500;

/// The columns of a listed photo, in [`PhotoDto`] order after the row is read; `l` is
/// `photo_links`, `u` its own phone's upload, `a` its area.
pub const LIST_COLUMNS: &str = "l.id, l.sha256, u.size, l.target_kind, l.target_id, l.area_code, l.caption, \
     l.taken_at, l.day, l.volunteer_id, l.device_id, l.received_ms, u.complete";

/// The list's SQL with `$n` placeholders (SQLite takes them as `?n`): subtree range, then the
/// optional day, kind and target (cast, or PostgreSQL cannot type a bare `$n IS NULL`), then the
/// limit.
pub fn list_sql() -> String {
    format!(
        "SELECT {LIST_COLUMNS} FROM photo_links l
         JOIN photo_uploads u ON u.sha256 = l.sha256 AND u.device_id = l.device_id
         JOIN areas a ON a.code = l.area_code
         WHERE a.path >= $1 AND a.path < $2
           AND (CAST($3 AS TEXT) IS NULL OR l.day = $3)
           AND (CAST($4 AS TEXT) IS NULL OR l.target_kind = $4)
           AND (CAST($5 AS TEXT) IS NULL OR l.target_id = $5)
         ORDER BY l.taken_at, l.id
         LIMIT $6"
    )
}

/// A registration to store: the validated metadata and who sent it.
#[derive(Debug, Clone)]
pub struct NewPhotoLink {
    pub id: Uuid,
    pub meta: PhotoMeta,
    pub day: String,
    pub volunteer_id: Uuid,
    pub device_id: Uuid,
    pub received_ms: i64,
    pub content_hash: Vec<u8>,
}

impl NewPhotoLink {
    pub fn new(meta: PhotoMeta, volunteer_id: Uuid, device_id: Uuid, received_ms: i64) -> Result<Self, FieldError> {
        let id =
            Uuid::try_parse(&meta.id).map_err(|_| FieldError::new("id", doorstep_domain::error::ErrorKind::NotUuid))?;
        let day = meta
            .local_day()
            .ok_or_else(|| FieldError::new("taken_at", doorstep_domain::error::ErrorKind::NotATimestamp))?;
        let content_hash = Sha256::digest(meta.content_bytes()).to_vec();
        Ok(NewPhotoLink { id, meta, day, volunteer_id, device_id, received_ms, content_hash })
    }
}

/// How a registration went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Stored now, or the same registration again: this phone's upload's state either way.
    Stored(UploadState),
    Duplicate(UploadState),
    /// The id is taken by other content.
    IdReused,
    /// This phone registered this SHA-256 before with another size: one of the two is not the
    /// picture it names. Only the phone's own uploads are compared, so it learns nothing of
    /// another's.
    SizeMismatch,
}

/// The paths of a picture's records that count for scope: those whose own phone's upload is
/// complete. `$n` placeholders (SQLite takes them as `?n`).
const COUNTED_PATHS_SQL: &str = "SELECT DISTINCT a.path FROM photo_links l
     JOIN photo_uploads u ON u.sha256 = l.sha256 AND u.device_id = l.device_id AND u.complete
     JOIN areas a ON a.code = l.area_code
     WHERE l.sha256 = $1";

/// How a chunk went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    /// Appended (or this phone's upload was complete already).
    Accepted(UploadState),
    /// Not at the server's offset for this phone's upload, which is this.
    WrongOffset(u64),
    /// Past the registered size.
    TooLarge,
    /// The whole did not hash to its name: this phone's upload is discarded.
    Mismatch,
    /// This device registered no photo of this name.
    Unknown,
}

/// What the writer stores after a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkWrite {
    /// The bytes this upload holds now, and whether they are all there and verified (then the
    /// blob takes them if it has none, and the upload keeps none).
    Append { bytes: Vec<u8>, complete: bool },
    /// The whole did not hash to its name: empty the upload (answered 422); the blob and other
    /// phones' uploads are untouched.
    Discard,
}

/// What the writer does with a chunk of one phone's upload, on the bytes that upload holds
/// (shared by both databases), or the answer when nothing is to be written.
pub fn apply_chunk(
    sha256: &str, size: u64, held: &[u8], complete: bool, offset: u64, chunk: &[u8],
) -> Result<ChunkWrite, Chunk> {
    if complete {
        return Err(Chunk::Accepted(UploadState { received: size, complete: true }));
    }
    let received = held.len() as u64;
    if offset != received {
        return Err(Chunk::WrongOffset(received));
    }
    if received + chunk.len() as u64 > size {
        return Err(Chunk::TooLarge);
    }
    let mut bytes = Vec::with_capacity(held.len() + chunk.len());
    bytes.extend_from_slice(held);
    bytes.extend_from_slice(chunk);
    if bytes.len() as u64 == size {
        let digest = Sha256::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        if hex != sha256 {
            return Ok(ChunkWrite::Discard);
        }
        return Ok(ChunkWrite::Append { bytes, complete: true });
    }
    Ok(ChunkWrite::Append { bytes, complete: false })
}

/// A photo for the daily report: its record and its bytes.
#[derive(Debug, Clone)]
pub struct ReportPhoto {
    pub photo: PhotoDto,
    pub bytes: Vec<u8>,
}

/// The complete photos of `area`'s subtree on `day`, with their bytes, for the workbook.
pub async fn photos_for_report(
    store: &dyn crate::store::Store, path: &str, day: chrono::NaiveDate,
) -> Result<Vec<ReportPhoto>, crate::store::StoreError> {
    let (lo, hi) = subtree_range(path);
    let listed =
        crate::photos::list(store, &lo, &hi, Some(&day.format("%Y-%m-%d").to_string()), None, None, MAX_LISTED).await?;
    let mut out = Vec::new();
    for photo in listed.into_iter().filter(|p| p.complete) {
        if let Some((_, bytes)) = crate::photos::image(store, &photo.sha256).await? {
            out.push(ReportPhoto { photo, bytes });
        }
    }
    Ok(out)
}

/// The "Ảnh" sheet: each photo scaled into a row, with its time, kind, area and caption.
pub fn photo_sheet(
    book: &mut rust_xlsxwriter::Workbook, photos: &[ReportPhoto], head: &rust_xlsxwriter::Format,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let sheet = book.add_worksheet();
    sheet.set_name("Ảnh")?;
    let cols = [
        ("Ảnh", "Photo", 42.0),
        ("Thời gian", "Time", 26.0),
        ("Loại", "Kind", 22.0),
        ("Địa bàn", "Area", 12.0),
        ("Chú thích", "Caption", 50.0),
    ];
    for (c, (vi, en, width)) in cols.iter().enumerate() {
        sheet.set_column_width(c as u16, *width)?;
        sheet.write_string_with_format(0, c as u16, format!("{vi}\n{en}"), head)?;
    }
    let wrap = rust_xlsxwriter::Format::new().set_text_wrap().set_align(rust_xlsxwriter::FormatAlign::Top);
    for (i, p) in photos.iter().enumerate() {
        let r = 1 + i as u32;
        // About 300 x 200 px per row; the image keeps its aspect inside it.
        sheet.set_row_height_pixels(r, 210)?;
        match rust_xlsxwriter::Image::new_from_buffer(&p.bytes) {
            Ok(image) => {
                let image =
                    image.set_scale_to_size(300, 200, true).set_alt_text(p.photo.caption.clone().unwrap_or_default());
                sheet.insert_image_with_offset(r, 0, &image, 4, 4)?;
            }
            // A stored photo is a JPEG the server verified; one the writer cannot read is named.
            Err(e) => {
                tracing::warn!(sha256 = %p.photo.sha256, error = %e, "photo not embeddable");
                sheet.write_string(r, 0, &p.photo.sha256)?;
            }
        }
        let kind = match p.photo.target_kind {
            TargetKind::Visit => "Lượt thăm hộ / Household visit",
            TargetKind::VenueVisit => "Lượt thăm cơ sở / Venue visit",
            TargetKind::Day => "Báo cáo ngày / Daily report",
        };
        sheet.write_string_with_format(r, 1, &p.photo.taken_at, &wrap)?;
        sheet.write_string_with_format(r, 2, kind, &wrap)?;
        sheet.write_string_with_format(r, 3, &p.photo.area_code, &wrap)?;
        sheet.write_string_with_format(r, 4, p.photo.caption.clone().unwrap_or_default(), &wrap)?;
    }
    Ok(())
}

fn received_at(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn kind_of(raw: &str) -> Result<TargetKind, StoreError> {
    TargetKind::parse("target_kind", raw).map_err(|_| StoreError::Db(format!("stored photo kind {raw:?}")))
}

fn state(size: i64, received: i64, complete: bool) -> UploadState {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    UploadState { received: if complete { n(size) } else { n(received) }, complete }
}

// The photos' statements, written once for both databases ([`crate::db`]). An upload's row is
// locked while a chunk is appended (`FOR UPDATE` on PostgreSQL; SQLite's writing transactions
// run one at a time), so two attempts of one phone at once take turns, and one of them hears 409
// and resumes.

/// Registers a photo's link for the phone that sends it, with the blob and the phone's own
/// upload it names; rolled back on a size mismatch or a reused id.
pub async fn register(db: &dyn Db, link: &NewPhotoLink) -> Result<Registration, StoreError> {
    let mut tx = db.begin().await?;
    let m = &link.meta;
    let empty: &[u8] = &[];
    // The blob row is only the name the links refer to; its bytes come from a verified upload.
    tx.execute(
        "INSERT INTO photo_blobs (sha256, size, content_type, received, complete, bytes, created_ms)
         VALUES ($1, $2, $3, 0, FALSE, $4, $5) ON CONFLICT (sha256) DO NOTHING",
        params![&m.sha256, m.size as i64, &m.content_type, empty, link.received_ms],
    )
    .await?;
    tx.execute(
        "INSERT INTO photo_uploads (sha256, device_id, size, received, complete, bytes, created_ms)
         VALUES ($1, $2, $3, 0, FALSE, $4, $5) ON CONFLICT (sha256, device_id) DO NOTHING",
        params![&m.sha256, link.device_id, m.size as i64, empty, link.received_ms],
    )
    .await?;
    let row = tx
        .query_opt(
            "SELECT size, received, complete FROM photo_uploads WHERE sha256 = $1 AND device_id = $2",
            params![&m.sha256, link.device_id],
        )
        .await?
        .ok_or_else(|| StoreError::Db("the upload just made is not held".into()))?;
    let size: i64 = row.get(0)?;
    let held = state(size, row.get(1)?, row.get(2)?);
    let inserted = tx
        .execute(
            "INSERT INTO photo_links (id, sha256, target_kind, target_id, area_code, day, volunteer_id, device_id,
                 caption, taken_at, received_ms, content_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING",
            params![
                link.id,
                &m.sha256,
                m.target_kind.as_str(),
                &m.target_id,
                &m.area_code,
                &link.day,
                link.volunteer_id,
                link.device_id,
                m.caption.clone(),
                &m.taken_at,
                link.received_ms,
                link.content_hash.clone(),
            ],
        )
        .await?;
    let outcome = if inserted == 1 {
        if size as u64 != m.size {
            return Ok(Registration::SizeMismatch);
        }
        Registration::Stored(held)
    } else {
        let hash: Option<Vec<u8>> = tx
            .query_opt("SELECT content_hash FROM photo_links WHERE id = $1", params![link.id])
            .await?
            .map(|r| r.get(0))
            .transpose()?;
        if hash.as_deref() != Some(link.content_hash.as_slice()) {
            return Ok(Registration::IdReused);
        }
        Registration::Duplicate(held)
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Appends a chunk to a phone's upload of a picture; a verified last chunk completes the blob.
pub async fn append(
    db: &dyn Db, sha256: &str, device_id: Uuid, offset: u64, chunk: &[u8],
) -> Result<Chunk, StoreError> {
    let mut tx = db.begin().await?;
    let empty: &[u8] = &[];
    let sql = format!(
        "SELECT size, complete, bytes FROM photo_uploads WHERE sha256 = $1 AND device_id = $2{}",
        tx.dialect().for_update()
    );
    let Some(row) = tx.query_opt(&sql, params![sha256, device_id]).await? else {
        return Ok(Chunk::Unknown);
    };
    let (size, complete, held): (i64, bool, Vec<u8>) = (row.get(0)?, row.get(1)?, row.get(2)?);
    let answer = match apply_chunk(sha256, u64::try_from(size).unwrap_or(0), &held, complete, offset, chunk) {
        Err(answer) => return Ok(answer),
        Ok(ChunkWrite::Append { bytes, complete: false }) => {
            let n = bytes.len() as i64;
            tx.execute(
                "UPDATE photo_uploads SET bytes = $3, received = $4 WHERE sha256 = $1 AND device_id = $2",
                params![sha256, device_id, bytes, n],
            )
            .await?;
            Chunk::Accepted(UploadState { received: n as u64, complete: false })
        }
        Ok(ChunkWrite::Append { bytes, complete: true }) => {
            let n = bytes.len() as i64;
            // Verified: the one copy goes to the blob unless it has it already (two phones
            // finishing at once take turns on the blob's row; the second changes nothing).
            tx.execute(
                "UPDATE photo_blobs SET bytes = $2, size = $3, received = $3, complete = TRUE
                 WHERE sha256 = $1 AND NOT complete",
                params![sha256, bytes, n],
            )
            .await?;
            tx.execute(
                "UPDATE photo_uploads SET bytes = $4, received = $3, complete = TRUE
                 WHERE sha256 = $1 AND device_id = $2",
                params![sha256, device_id, n, empty],
            )
            .await?;
            Chunk::Accepted(UploadState { received: n as u64, complete: true })
        }
        Ok(ChunkWrite::Discard) => {
            tx.execute(
                "UPDATE photo_uploads SET bytes = $3, received = 0 WHERE sha256 = $1 AND device_id = $2",
                params![sha256, device_id, empty],
            )
            .await?;
            Chunk::Mismatch
        }
    };
    tx.commit().await?;
    Ok(answer)
}

/// The photos of the subtree `[lo, hi)`, by day, target kind and target if asked ([`list_sql`]).
pub async fn list(
    db: &dyn Db, lo: &str, hi: &str, day: Option<&str>, kind: Option<&str>, target: Option<&str>, limit: i64,
) -> Result<Vec<PhotoDto>, StoreError> {
    db.query(&list_sql(), params![lo, hi, day, kind, target, limit])
        .await?
        .iter()
        .map(|r| {
            Ok(PhotoDto {
                id: r.get::<Uuid>(0)?.to_string(),
                sha256: r.get(1)?,
                size: u64::try_from(r.get::<i64>(2)?).unwrap_or(0),
                target_kind: kind_of(&r.get::<String>(3)?)?,
                target_id: r.get(4)?,
                area_code: r.get(5)?,
                caption: r.get(6)?,
                taken_at: r.get(7)?,
                day: r.get(8)?,
                volunteer_id: r.get::<Uuid>(9)?.to_string(),
                device_id: r.get::<Uuid>(10)?.to_string(),
                received_at: received_at(r.get(11)?),
                complete: r.get(12)?,
            })
        })
        .collect()
}

/// A verified picture's bytes, with the paths of the areas whose records name it.
pub async fn image(db: &dyn Db, sha256: &str) -> Result<Option<HeldImage>, StoreError> {
    let Some(row) =
        db.query_opt("SELECT bytes FROM photo_blobs WHERE sha256 = $1 AND complete", params![sha256]).await?
    else {
        return Ok(None);
    };
    let paths = db
        .query(COUNTED_PATHS_SQL, params![sha256])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect::<Result<Vec<String>, _>>()?;
    Ok(Some((paths, row.get(0)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn chunks_append_at_the_offset_and_the_whole_is_verified() {
        let data = b"0123456789";
        let sha = hex(data);
        let Ok(ChunkWrite::Append { bytes: held, complete }) = apply_chunk(&sha, 10, b"", false, 0, &data[..4]) else {
            panic!("not appended")
        };
        assert_eq!((held.as_slice(), complete), (&data[..4], false));
        assert_eq!(apply_chunk(&sha, 10, &held, false, 2, b"xx"), Err(Chunk::WrongOffset(4)));
        assert_eq!(apply_chunk(&sha, 10, &held, false, 4, &[0; 7]), Err(Chunk::TooLarge));
        let Ok(ChunkWrite::Append { bytes: held, complete }) = apply_chunk(&sha, 10, &held, false, 4, &data[4..])
        else {
            panic!("not appended")
        };
        assert_eq!((held.as_slice(), complete), (&data[..], true));
        // Complete: any chunk answers the final state and writes nothing.
        assert_eq!(
            apply_chunk(&sha, 10, &held, true, 0, b"zz"),
            Err(Chunk::Accepted(UploadState { received: 10, complete: true }))
        );
        // Other bytes under this name: discarded.
        assert_eq!(apply_chunk(&sha, 10, &data[..4], false, 4, b"XXXXXX"), Ok(ChunkWrite::Discard));
    }

    /// The step that adds `photo_uploads` keeps what was complete complete, for every phone that
    /// had a record of it, and starts every unfinished upload again at 0 (its bytes, from
    /// whichever phone, are dropped).
    #[test]
    fn links_held_before_uploads_were_per_phone_keep_complete_pictures_and_restart_the_rest() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE areas (code TEXT PRIMARY KEY); INSERT INTO areas VALUES ('42');").unwrap();
        crate::db::migrations::each_statement("0011_photos", crate::db::migrations::Engine::Sqlite, |sql| {
            conn.execute_batch(sql).unwrap()
        });
        let (done, half) = (hex(b"abc"), hex(b"abcde"));
        conn.execute_batch(&format!(
            "INSERT INTO photo_blobs VALUES ('{done}', 3, 'image/jpeg', 3, 1, x'616263', 1),
                                            ('{half}', 5, 'image/jpeg', 2, 0, x'6162', 1);
             INSERT INTO photo_links VALUES
                (x'01', '{done}', 'day', '2020-08-04', '42', '2020-08-04', x'aa', x'd1', NULL, 't', 10, x'00'),
                (x'02', '{done}', 'day', '2020-08-05', '42', '2020-08-05', x'aa', x'd1', NULL, 't', 20, x'00'),
                (x'03', '{done}', 'day', '2020-08-04', '42', '2020-08-04', x'bb', x'd2', NULL, 't', 30, x'00'),
                (x'04', '{half}', 'day', '2020-08-04', '42', '2020-08-04', x'cc', x'd3', NULL, 't', 40, x'00');"
        ))
        .unwrap();
        crate::db::migrations::each_statement("0019_photo_uploads", crate::db::migrations::Engine::Sqlite, |sql| {
            conn.execute_batch(sql).unwrap()
        });
        // sha256, device, size, received, complete, bytes held, created.
        type Upload = (String, Vec<u8>, i64, i64, bool, usize, i64);
        let uploads: Vec<Upload> = conn
            .prepare(
                "SELECT sha256, device_id, size, received, complete, length(bytes), created_ms FROM photo_uploads
                 ORDER BY created_ms",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            uploads,
            [
                (done.clone(), vec![0xd1], 3, 3, true, 0, 10),
                (done.clone(), vec![0xd2], 3, 3, true, 0, 30),
                (half.clone(), vec![0xd3], 5, 0, false, 0, 40),
            ]
        );
        let blobs: Vec<(i64, bool, Vec<u8>)> = conn
            .prepare("SELECT received, complete, bytes FROM photo_blobs ORDER BY size")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(blobs, [(3, true, b"abc".to_vec()), (0, false, Vec::new())]);
    }
}
