//! The base map: a province's streets as one PMTiles file (an OpenStreetMap extract), imported by
//! IT with `doorstep admin basemap import`, served to staff and enrolled phones with HTTP range
//! requests (`http::basemap`). Kept in the database in 256 KiB chunks: a tile request reads one or
//! two, both databases answer the same statements, and a backup holds the map. One at a time:
//! importing another replaces it in one transaction, and phones fetch it again (its SHA-256
//! changed).

use std::io::Read;

use doorstep_domain::protocol::BasemapInfo;
use sha2::{Digest, Sha256};

use crate::db::{Db, params};
use crate::store::StoreError;

/// Bytes per stored chunk.
pub const CHUNK: u64 = 256 * 1024;
/// The largest file taken: a province at street level is tens of megabytes.
pub const MAX_SIZE: u64 = 1 << 30;
/// The most bytes one range answers: a PMTiles reader asks for kilobytes, a phone downloads in
/// pieces of a few megabytes; memory per request stays bounded.
pub const MAX_RANGE: u64 = 8 * 1024 * 1024;
/// The fixed part of a PMTiles version 3 file.
const HEADER_LEN: usize = 127;

/// Why a file was not taken, in words IT can act on (English, then Vietnamese).
#[derive(Debug, thiserror::Error)]
pub enum BasemapError {
    #[error("cannot read the file: {0} / không đọc được tệp")]
    Io(#[from] std::io::Error),
    #[error(
        "not a PMTiles version 3 file ({0}); make one with `pmtiles extract` or tilemaker (README, \"Base map\") / \
         không phải tệp PMTiles phiên bản 3"
    )]
    NotPmtiles(String),
    #[error("the file is {0} bytes, over the 1 GiB limit: cut a smaller area or fewer zoom levels / tệp quá lớn")]
    TooLarge(u64),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// What a PMTiles header says that the server checks and tells.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub tile_type: &'static str,
    pub min_zoom: u8,
    pub max_zoom: u8,
    /// West, south, east, north.
    pub bounds: [f64; 4],
}

/// Reads and checks a PMTiles v3 header against the file's size: the magic and version, the
/// sections within the file, a known tile type, zooms and bounds that make sense.
pub fn read_header(bytes: &[u8], file_size: u64) -> Result<Header, BasemapError> {
    let bad = |why: &str| BasemapError::NotPmtiles(why.to_string());
    if bytes.len() < HEADER_LEN || &bytes[..7] != b"PMTiles" {
        return Err(bad("it does not start with PMTiles"));
    }
    if bytes[7] != 3 {
        return Err(bad(&format!("version {}, not 3", bytes[7])));
    }
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    let i32_at = |at: usize| i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
    // Root directory, metadata, leaf directories, tile data: (offset, length) pairs.
    for (name, at) in [("root directory", 8), ("metadata", 24), ("leaf directories", 40), ("tile data", 56)] {
        let (offset, length) = (u64_at(at), u64_at(at + 8));
        if offset.checked_add(length).is_none_or(|end| end > file_size) {
            return Err(bad(&format!("its {name} lies past the end of the file")));
        }
    }
    let tile_type = match bytes[99] {
        1 => "mvt",
        2 => "png",
        3 => "jpg",
        4 => "webp",
        5 => "avif",
        t => return Err(bad(&format!("unknown tile type {t}"))),
    };
    let (min_zoom, max_zoom) = (bytes[100], bytes[101]);
    if min_zoom > max_zoom || max_zoom > 30 {
        return Err(bad(&format!("zooms {min_zoom} to {max_zoom}")));
    }
    let deg = |at: usize| f64::from(i32_at(at)) / 10_000_000.0;
    let bounds = [deg(102), deg(106), deg(110), deg(114)];
    let [w, s, e, n] = bounds;
    let on_earth =
        [w, e].iter().all(|x| (-180.0..=180.0).contains(x)) && [s, n].iter().all(|y| (-90.0..=90.0).contains(y));
    if !on_earth || w >= e || s >= n {
        return Err(bad(&format!("bounds {bounds:?}")));
    }
    Ok(Header { tile_type, min_zoom, max_zoom, bounds })
}

/// Imports a PMTiles file as the base map, replacing the one held, all or nothing.
pub async fn import(db: &dyn Db, name: &str, path: &std::path::Path, now_ms: i64) -> Result<BasemapInfo, BasemapError> {
    let size = std::fs::metadata(path)?.len();
    if size > MAX_SIZE {
        return Err(BasemapError::TooLarge(size));
    }
    let mut file = std::fs::File::open(path)?;
    let mut head = vec![0u8; HEADER_LEN];
    file.read_exact(&mut head).map_err(|_| BasemapError::NotPmtiles("it is shorter than a header".into()))?;
    let header = read_header(&head, size)?;
    let mut file = std::fs::File::open(path)?;
    let mut tx = db.begin().await?;
    tx.execute("DELETE FROM basemap_chunks", vec![]).await?;
    tx.execute("DELETE FROM basemap", vec![]).await?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; CHUNK as usize];
    let mut idx = 0i64;
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            let n = file.read(&mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        hash.update(&buf[..filled]);
        tx.execute("INSERT INTO basemap_chunks (idx, bytes) VALUES ($1, $2)", params![idx, &buf[..filled]]).await?;
        idx += 1;
        if filled < buf.len() {
            break;
        }
    }
    let sha256 = hex(&hash.finalize());
    let [west, south, east, north] = header.bounds;
    tx.execute(
        "INSERT INTO basemap (id, name, sha256, size, tile_type, min_zoom, max_zoom, west, south, east, north,
                              imported_at_ms)
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        params![
            name,
            sha256.as_str(),
            i64::try_from(size).unwrap_or(i64::MAX),
            header.tile_type,
            i64::from(header.min_zoom),
            i64::from(header.max_zoom),
            west,
            south,
            east,
            north,
            now_ms
        ],
    )
    .await?;
    tx.commit().await?;
    info(db).await?.ok_or_else(|| BasemapError::Store(StoreError::Db("the base map just stored is missing".into())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The base map held, if any.
pub async fn info(db: &dyn Db) -> Result<Option<BasemapInfo>, StoreError> {
    let Some(row) = db
        .query_opt(
            "SELECT name, sha256, size, tile_type, min_zoom, max_zoom, west, south, east, north, imported_at_ms
             FROM basemap WHERE id = 1",
            vec![],
        )
        .await?
    else {
        return Ok(None);
    };
    let (name, sha256, size, tile_type, min_zoom, max_zoom, west, south, east, north, at): (
        String,
        String,
        i64,
        String,
        i64,
        i64,
        f64,
        f64,
        f64,
        f64,
        i64,
    ) = row.columns()?;
    let imported_at = chrono::DateTime::from_timestamp_millis(at).unwrap_or_default().to_rfc3339();
    Ok(Some(BasemapInfo {
        name,
        sha256,
        size: u64::try_from(size).unwrap_or_default(),
        tile_type,
        min_zoom: u8::try_from(min_zoom).unwrap_or_default(),
        max_zoom: u8::try_from(max_zoom).unwrap_or_default(),
        bounds: [west, south, east, north],
        imported_at,
    }))
}

/// The bytes `start..=end` of the base map (within its size, at most [`MAX_RANGE`]): the
/// chunks that hold them, cut to the range.
pub async fn read_range(db: &dyn Db, start: u64, end: u64) -> Result<Vec<u8>, StoreError> {
    let (first, last) = (start / CHUNK, end / CHUNK);
    let rows = db
        .query(
            "SELECT idx, bytes FROM basemap_chunks WHERE idx >= $1 AND idx <= $2 ORDER BY idx",
            params![i64::try_from(first).unwrap_or(i64::MAX), i64::try_from(last).unwrap_or(i64::MAX)],
        )
        .await?;
    let mut out = Vec::with_capacity(usize::try_from(end - start + 1).unwrap_or_default());
    for row in rows {
        let (idx, bytes): (i64, Vec<u8>) = row.columns()?;
        let base = u64::try_from(idx).unwrap_or_default() * CHUNK;
        let from = usize::try_from(start.saturating_sub(base)).unwrap_or_default().min(bytes.len());
        let to = usize::try_from((end + 1).saturating_sub(base)).unwrap_or_default().min(bytes.len());
        out.extend_from_slice(&bytes[from..to]);
    }
    Ok(out)
}

/// A `Range` header's one range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) within `size`, as
/// `start..=end`; `None` when it is not one satisfiable range.
pub fn parse_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (size.saturating_sub(n), size - 1)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() { size - 1 } else { b.parse::<u64>().ok()?.min(size - 1) };
        (start, end)
    };
    (start <= end && start < size).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(tile_type: u8, zooms: (u8, u8), bounds: [i32; 4]) -> Vec<u8> {
        let mut h = vec![0u8; HEADER_LEN];
        h[..7].copy_from_slice(b"PMTiles");
        h[7] = 3;
        h[99] = tile_type;
        (h[100], h[101]) = zooms;
        for (i, v) in bounds.iter().enumerate() {
            h[102 + 4 * i..106 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        h
    }

    #[test]
    fn a_pmtiles_header_is_read_and_a_bad_one_named() {
        let ha_tinh = [1_055_000_000, 179_000_000, 1_065_000_000, 186_000_000];
        let h = read_header(&header(1, (0, 14), ha_tinh), 1000).unwrap();
        assert_eq!((h.tile_type, h.min_zoom, h.max_zoom), ("mvt", 0, 14));
        assert_eq!(h.bounds, [105.5, 17.9, 106.5, 18.6]);
        let mut past = header(1, (0, 14), ha_tinh);
        past[56..64].copy_from_slice(&900u64.to_le_bytes());
        past[64..72].copy_from_slice(&200u64.to_le_bytes());
        for (bytes, said) in [
            (b"PMTiles".to_vec(), "does not start"),
            (
                {
                    let mut v = header(1, (0, 14), ha_tinh);
                    v[7] = 2;
                    v
                },
                "version 2",
            ),
            (header(9, (0, 14), ha_tinh), "unknown tile type 9"),
            (header(1, (15, 14), ha_tinh), "zooms 15 to 14"),
            (header(1, (0, 14), [0, 0, 0, 0]), "bounds"),
            (past, "tile data lies past the end"),
        ] {
            let e = read_header(&bytes, 1000).unwrap_err().to_string();
            assert!(e.contains(said) && e.contains("PMTiles"), "{e}");
        }
    }

    #[test]
    fn ranges_are_read_as_http_says() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=990-2000", 1000), Some((990, 999)));
        for bad in ["bytes=1000-", "bytes=5-4", "bytes=0-1,5-6", "items=0-1", "bytes=a-b", "bytes=-"] {
            assert_eq!(parse_range(bad, 1000), None, "{bad}");
        }
    }
}
