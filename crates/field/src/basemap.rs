//! The base map on the phone: downloaded from the server when there is a network, a piece at a
//! time and resumed where it stopped, checked against its SHA-256, kept for use offline, and
//! replaced when the server's changes. It lives in the data folder's `basemaps/`, which the
//! web view may read (the asset protocol's scope).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use doorstep_device::{BasemapPiece, DeviceStore, SyncClient, SyncError};
use doorstep_domain::protocol::BasemapInfo;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The folder, under the data folder.
pub const DIR: &str = "basemaps";
/// The server's map, whole and checked.
const FILE: &str = "server.pmtiles";
/// What it is (the server's [`BasemapInfo`]).
const META: &str = "server.json";
/// A download under way, and which map it is of.
const PART: &str = "server.pmtiles.part";
const PART_META: &str = "server.part.json";
/// Bytes per request: about 8 s on a 1 Mbit/s line, within the client's timeout.
pub const PIECE: u64 = 1024 * 1024;

/// The base map as the home screen and the settings show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasemapStatus {
    pub name: String,
    /// The file to draw, once it is whole and checked; `None` while it downloads.
    pub path: Option<String>,
    pub downloaded: u64,
    pub size: u64,
}

fn read_info(path: &Path) -> Option<BasemapInfo> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn write_info(path: &Path, info: &BasemapInfo) -> std::io::Result<()> {
    std::fs::write(path, serde_json::to_vec(info).unwrap_or_default())
}

/// What the phone holds: the checked file, else a download's progress; `None` when neither.
pub fn status(data_dir: &Path) -> Option<BasemapStatus> {
    let dir = data_dir.join(DIR);
    let (file, part) = (dir.join(FILE), dir.join(PART));
    if let Some(held) = read_info(&dir.join(META))
        && file.exists()
    {
        // A newer map downloading: the held one is drawn meanwhile.
        return Some(BasemapStatus {
            name: held.name,
            path: Some(file.to_string_lossy().into_owned()),
            downloaded: held.size,
            size: held.size,
        });
    }
    let coming = read_info(&dir.join(PART_META))?;
    let downloaded = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    Some(BasemapStatus { name: coming.name, path: None, downloaded, size: coming.size })
}

/// Why a download stopped.
#[derive(Debug, thiserror::Error)]
pub enum BasemapError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error("base map file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the downloaded base map does not match its SHA-256; it will be downloaded again")]
    Mismatch,
}

/// Brings the phone's base map up to the server's, until `deadline`: true when a new map is
/// whole and checked now. `progress` hears each piece. Without a network, or when the server
/// holds none, what the phone has stays.
pub async fn refresh(
    client: &SyncClient, store: &Arc<Mutex<DeviceStore>>, data_dir: &Path, deadline: tokio::time::Instant,
    progress: impl Fn(),
) -> Result<bool, BasemapError> {
    let Some(info) = client.basemap_info(store).await? else {
        return Ok(false);
    };
    let dir = data_dir.join(DIR);
    if read_info(&dir.join(META)).is_some_and(|held| held.sha256 == info.sha256) && dir.join(FILE).exists() {
        return Ok(false);
    }
    std::fs::create_dir_all(&dir)?;
    let (part, part_meta) = (dir.join(PART), dir.join(PART_META));
    // A download of another map (the server's changed meanwhile) starts again.
    if read_info(&part_meta).is_none_or(|coming| coming.sha256 != info.sha256) {
        let _ = std::fs::remove_file(&part);
        write_info(&part_meta, &info)?;
    }
    let mut len = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    if len > info.size {
        std::fs::remove_file(&part)?;
        len = 0;
    }
    let mut out = std::fs::OpenOptions::new().create(true).append(true).open(&part)?;
    while len < info.size && tokio::time::Instant::now() < deadline {
        let end = (len + PIECE).min(info.size) - 1;
        match client.basemap_range(store, &info.sha256, len, end).await? {
            BasemapPiece::Range(bytes) => {
                out.write_all(&bytes)?;
                len += bytes.len() as u64;
                progress();
            }
            BasemapPiece::Replaced => {
                drop(out);
                let _ = std::fs::remove_file(&part);
                let _ = std::fs::remove_file(&part_meta);
                return Ok(false);
            }
        }
    }
    out.sync_all()?;
    drop(out);
    if len < info.size {
        return Ok(false);
    }
    let whole = part.clone();
    let sha = tokio::task::spawn_blocking(move || hash_file(&whole))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    if sha != info.sha256 {
        std::fs::remove_file(&part)?;
        let _ = std::fs::remove_file(&part_meta);
        return Err(BasemapError::Mismatch);
    }
    std::fs::rename(&part, dir.join(FILE))?;
    write_info(&dir.join(META), &info)?;
    let _ = std::fs::remove_file(&part_meta);
    tracing::info!(name = %info.name, size = info.size, "base map downloaded");
    Ok(true)
}

fn hash_file(path: &PathBuf) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hash = Sha256::new();
    std::io::copy(&mut file, &mut hash)?;
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
