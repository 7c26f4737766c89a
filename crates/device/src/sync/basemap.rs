//! The base map from the server: what it holds (`GET /api/v1/basemap`) and its bytes by range
//! (`GET /api/v1/basemap.pmtiles`), for the field app to download, resume and check
//! (`doorstep-field`'s `basemap`).

use std::sync::{Arc, Mutex};

use doorstep_domain::protocol::BasemapInfo;
use reqwest::header::{AUTHORIZATION, IF_RANGE, RANGE};

use super::{SyncClient, SyncError, bearer, network, read_body, record_auth_problem, snippet, with_store};
use crate::store::DeviceStore;

/// A piece of the base map as the server answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BasemapPiece {
    /// The bytes asked for (206).
    Range(Vec<u8>),
    /// The map is no longer the one named (its ETag changed): start again.
    Replaced,
}

impl SyncClient {
    /// The base map the server holds; `None` when it has none (404 `no_basemap`).
    pub async fn basemap_info(&self, store: &Arc<Mutex<DeviceStore>>) -> Result<Option<BasemapInfo>, SyncError> {
        match self.authorised_get(store, self.url("/api/v1/basemap")?).await {
            Ok(body) => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| SyncError::Protocol(format!("basemap answer is not a BasemapInfo: {e}"))),
            Err(SyncError::Server { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Bytes `start..=end` of the base map whose SHA-256 is `sha256` (sent as `If-Range`, so a
    /// map replaced meanwhile is answered whole or refused, never spliced into the old one).
    pub async fn basemap_range(
        &self, store: &Arc<Mutex<DeviceStore>>, sha256: &str, start: u64, end: u64,
    ) -> Result<BasemapPiece, SyncError> {
        let token = with_store(store, |s| s.device_token()).await?;
        let auth = bearer(&token.ok_or(SyncError::NotEnrolled)?)?;
        let response = self
            .http
            .get(self.url("/api/v1/basemap.pmtiles")?)
            .header(AUTHORIZATION, auth)
            .header(RANGE, format!("bytes={start}-{end}"))
            .header(IF_RANGE, format!("\"{sha256}\""))
            .send()
            .await
            .map_err(network)?;
        let (status, body) = read_body(response).await?;
        match status {
            206 if body.len() as u64 == end - start + 1 => Ok(BasemapPiece::Range(body)),
            206 => Err(SyncError::Protocol(format!(
                "asked for {} bytes of the base map, got {}",
                end - start + 1,
                body.len()
            ))),
            200 | 416 => Ok(BasemapPiece::Replaced),
            401 | 403 | 426 => {
                record_auth_problem(store, status, &body).await?;
                Err(SyncError::Server { status, body: snippet(&body) })
            }
            _ => Err(SyncError::Server { status, body: snippet(&body) }),
        }
    }
}
