//! Photo upload: register the record, then send the bytes the server does not hold yet from this
//! phone, in chunks, from the server's own offset. Bytes are named by their SHA-256, so bytes an
//! earlier, interrupted attempt (or another record of the same picture on this phone) sent are
//! not sent again; another phone's copy counts for nothing here, as knowing a hash must not
//! grant a picture. A photo leaves the queue only when the server says its bytes are complete
//! and verified, and its record is registered.

use std::sync::{Arc, Mutex};

use doorstep_domain::photo::{CHUNK_BYTES, PhotoMeta, UploadState};
use doorstep_domain::protocol::{ErrorBody, ErrorResponse};
use reqwest::header::{ACCEPT_LANGUAGE, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{
    SyncClient, SyncError, bearer, network, read_body, record_auth_problem, refusal_body, snippet, with_store,
};
use crate::store::DeviceStore;

/// The header carrying the byte offset of a chunk, and of the server's answer to a wrong one.
pub const UPLOAD_OFFSET: &str = "upload-offset";

/// The smallest chunk tried on a slow network.
const MIN_CHUNK_BYTES: usize = 32 * 1024;

/// Chunk requests per photo in one round before it waits for the next sync (a server that keeps
/// moving the offset is not followed for ever).
const MAX_REQUESTS_PER_PHOTO: usize = 64;

/// What [`SyncClient::upload_photos`] achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoUploadReport {
    /// Photos the server now holds complete (and which left the queue).
    pub sent: u64,
    /// Photos whose bytes the server held already from this phone: nothing was sent but the
    /// record.
    pub deduplicated: u64,
    /// Bytes of photo content sent in this round.
    pub bytes_sent: u64,
    pub rejected: u64,
    /// No pending photo was left when it stopped.
    pub complete: bool,
    pub last_error: Option<String>,
}

/// How one photo's attempt ended.
enum Outcome {
    Sent {
        deduplicated: bool,
    },
    Rejected,
    /// Try again at the next sync (the server disagreed about the bytes, or kept moving).
    Later(String),
}

impl SyncClient {
    /// Sends every pending photo, oldest first. Stops quietly, leaving the rest queued, on a
    /// network failure, a server error or a refused token; a photo the server refuses is marked
    /// with its reason and the others go on.
    pub async fn upload_photos(&self, store: &Arc<Mutex<DeviceStore>>, deadline: Option<Instant>) -> PhotoUploadReport {
        let mut report = PhotoUploadReport::default();
        let ids = match with_store(store, |s| s.pending_photo_ids()).await {
            Ok(ids) => ids,
            Err(e) => {
                report.last_error = Some(e.to_string());
                return report;
            }
        };
        let mut left = false;
        for id in ids {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                report.last_error = Some(SyncError::DeadlineReached.to_string());
                return report;
            }
            match self.upload_one(store, &id, &mut report.bytes_sent).await {
                Ok(Outcome::Sent { deduplicated }) => {
                    report.sent += 1;
                    report.deduplicated += u64::from(deduplicated);
                }
                Ok(Outcome::Rejected) => report.rejected += 1,
                Ok(Outcome::Later(why)) => {
                    tracing::info!(photo = %id, why, "photo left for the next sync");
                    report.last_error = Some(why);
                    left = true;
                }
                Err(e) => {
                    tracing::info!(photo = %id, error = %e, "photo upload stopped; will resume");
                    report.last_error = Some(e.to_string());
                    return report;
                }
            }
        }
        report.complete = !left;
        report
    }

    async fn upload_one(
        &self, store: &Arc<Mutex<DeviceStore>>, id: &str, bytes_sent: &mut u64,
    ) -> Result<Outcome, SyncError> {
        let owned = id.to_string();
        let Some(meta) = with_store(store, move |s| s.photo_meta(&owned)).await? else {
            return Ok(Outcome::Later("the photo is gone from the queue".into()));
        };
        let token = with_store(store, |s| s.device_token()).await?;
        let auth = bearer(&token.ok_or(SyncError::NotEnrolled)?)?;

        let (status, body) = self.register(&meta, auth.clone()).await?;
        let mut state = match status {
            200 => parse_state(&body)?,
            _ => return self.refused(store, &meta, status, &body).await,
        };
        let deduplicated = state.complete;
        if !state.complete {
            let owned = id.to_string();
            let bytes = with_store(store, move |s| s.photo_bytes(&owned)).await?.unwrap_or_default();
            if crate::store::sha256_hex(&bytes) != meta.sha256 {
                // The phone's own copy no longer matches its name: sending it would only be
                // refused. Kept, marked, for the volunteer to take again.
                let error = local_damage();
                let owned = id.to_string();
                with_store(store, move |s| s.reject_photo(&owned, &error)).await?;
                return Ok(Outcome::Rejected);
            }
            let mut requests = 0;
            let mut chunk = CHUNK_BYTES;
            while !state.complete {
                requests += 1;
                if requests > MAX_REQUESTS_PER_PHOTO {
                    return Ok(Outcome::Later("too many chunk requests for one photo".into()));
                }
                let offset = usize::try_from(state.received).unwrap_or(usize::MAX).min(bytes.len());
                let end = (offset + chunk).min(bytes.len());
                let sent =
                    self.send_chunk(&meta.sha256, offset as u64, bytes[offset..end].to_vec(), auth.clone()).await;
                let (status, headers, body) = match sent {
                    Ok(answer) => answer,
                    // A chunk that does not get through in time on a slow network: smaller ones
                    // may. If it did arrive after all, the next answer is a 409 with the
                    // server's offset, and the upload goes on from there.
                    Err(SyncError::Network(e)) if chunk > MIN_CHUNK_BYTES => {
                        chunk /= 2;
                        tracing::info!(photo = %id, chunk, error = %e, "photo chunk failed; trying smaller chunks");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                match status {
                    200 => {
                        *bytes_sent += (end - offset) as u64;
                        state = parse_state(&body)?;
                    }
                    // Someone (an earlier attempt of this phone) moved the offset: go on from the
                    // server's.
                    409 => match server_offset(&headers, &body) {
                        Some(received) => state = UploadState { received, complete: false },
                        None => return Ok(Outcome::Later(format!("409 without an offset: {}", snippet(&body)))),
                    },
                    // The assembled bytes did not hash to the name: the server discarded them.
                    // Our copy is sound (checked above), so a chunk was damaged on the way;
                    // start again at the next sync.
                    422 => {
                        return Ok(Outcome::Later(format!("the server discarded the bytes: {}", snippet(&body))));
                    }
                    _ => return self.refused(store, &meta, status, &body).await,
                }
            }
        }
        let owned = id.to_string();
        with_store(store, move |s| s.mark_photo_sent(&owned, state)).await?;
        tracing::info!(photo = %id, deduplicated, "photo sent");
        Ok(Outcome::Sent { deduplicated })
    }

    async fn register(&self, meta: &PhotoMeta, auth: HeaderValue) -> Result<(u16, Vec<u8>), SyncError> {
        let body = serde_json::to_vec(meta).map_err(|e| SyncError::Protocol(format!("photo metadata: {e}")))?;
        let response = self
            .http
            .post(self.url("/api/v1/photos")?)
            .header(AUTHORIZATION, auth)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT_LANGUAGE, "vi")
            .body(body)
            .send()
            .await
            .map_err(network)?;
        read_body(response).await
    }

    async fn send_chunk(
        &self, sha256: &str, offset: u64, chunk: Vec<u8>, auth: HeaderValue,
    ) -> Result<(u16, reqwest::header::HeaderMap, Vec<u8>), SyncError> {
        let response = self
            .http
            .patch(self.url(&format!("/api/v1/photos/{sha256}"))?)
            .header(AUTHORIZATION, auth)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(ACCEPT_LANGUAGE, "vi")
            .header(UPLOAD_OFFSET, offset.to_string())
            .body(chunk)
            .send()
            .await
            .map_err(network)?;
        let headers = response.headers().clone();
        let (status, body) = read_body(response).await?;
        Ok((status, headers, body))
    }

    /// An answer other than success: the token refused (the queue waits), a server trouble (try
    /// later), or a refusal of this photo (kept, marked, not sent again).
    async fn refused(
        &self, store: &Arc<Mutex<DeviceStore>>, meta: &PhotoMeta, status: u16, body: &[u8],
    ) -> Result<Outcome, SyncError> {
        let code = serde_json::from_slice::<ErrorResponse>(body).map(|r| r.error.code).unwrap_or_default();
        if status == 401 || status == 426 || (status == 403 && code == "device_revoked") {
            record_auth_problem(store, status, body).await?;
            return Err(SyncError::Server { status, body: snippet(body) });
        }
        // Not 404: a server without photos (older) must not make the phone give them up.
        if matches!(status, 400 | 403 | 409 | 413 | 422) {
            let error = refusal_body(status, body);
            tracing::warn!(photo = %meta.id, status, code = %error.code, "the server refused a photo");
            let id = meta.id.clone();
            with_store(store, move |s| s.reject_photo(&id, &error)).await?;
            return Ok(Outcome::Rejected);
        }
        Err(SyncError::Server { status, body: snippet(body) })
    }
}

fn parse_state(body: &[u8]) -> Result<UploadState, SyncError> {
    serde_json::from_slice(body).map_err(|e| SyncError::Protocol(format!("photo answer is not an upload state: {e}")))
}

/// The server's offset after a 409: its `Upload-Offset` header, or `received` in the body.
fn server_offset(headers: &reqwest::header::HeaderMap, body: &[u8]) -> Option<u64> {
    headers
        .get(UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or_else(|| serde_json::from_slice::<serde_json::Value>(body).ok()?.get("received")?.as_u64())
}

fn local_damage() -> ErrorBody {
    ErrorBody::new(
        "photo_damaged",
        Some("photo"),
        doorstep_domain::Messages {
            vi: "Ảnh lưu trên máy đã bị hỏng nên không gửi được; hãy chụp lại.".into(),
            en: "The photo kept on this phone is damaged and cannot be sent; take it again.".into(),
        },
        doorstep_domain::Lang::Vi,
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use doorstep_domain::account::Role;
    use doorstep_domain::photo::TargetKind;
    use doorstep_domain::protocol::{EnrolResponse, UserDto};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::store::PhotoDraft;
    use crate::sync::SyncConfig;

    /// A server over a network that loses every request with more than `limit` bytes of body
    /// (the connection drops), and otherwise takes chunks as ours does. Answers its URL and the
    /// largest chunk it took.
    async fn lossy_server(limit: usize) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let largest = Arc::new(AtomicUsize::new(0));
        let took = Arc::clone(&largest);
        // The registered size and the bytes held.
        let held = Arc::new(Mutex::new((0usize, Vec::<u8>::new())));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (held, took) = (Arc::clone(&held), Arc::clone(&took));
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if length > limit {
                        return; // lost: the connection drops without an answer
                    }
                    let mut body = vec![0u8; length];
                    if socket.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let answer = {
                        let mut h = held.lock().unwrap();
                        if head.starts_with("post") {
                            let meta: PhotoMeta = serde_json::from_slice(&body).unwrap();
                            *h = (meta.size as usize, Vec::new());
                        } else {
                            h.1.extend_from_slice(&body);
                            took.fetch_max(length, Ordering::SeqCst);
                        }
                        format!(r#"{{"received":{},"complete":{}}}"#, h.1.len(), h.1.len() == h.0)
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        (url, largest)
    }

    #[tokio::test]
    async fn chunks_shrink_when_the_network_loses_large_ones() {
        let (url, largest) = lossy_server(100 * 1024).await;
        let dir = tempfile::tempdir().unwrap();
        let mut store = DeviceStore::open(&dir.path().join("device.db")).unwrap();
        store
            .set_enrolment(&EnrolResponse {
                device_token: "t0ken".into(),
                volunteer_id: uuid::Uuid::now_v7().to_string(),
                volunteer: UserDto { username: "tnv".into(), role: Role::Volunteer, area_code: "18073".into() },
            })
            .unwrap();
        // Noise: a photo of several chunks.
        let mut x: u32 = 7;
        let img = image::RgbImage::from_fn(900, 700, |_, _| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            image::Rgb([(x >> 16) as u8, (x >> 8) as u8, x as u8])
        });
        let mut picture = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img).write_to(&mut picture, image::ImageFormat::Jpeg).unwrap();
        let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap());
        let draft = PhotoDraft {
            target_kind: TargetKind::Day,
            target_id: "2020-08-04".into(),
            area_code: Some("18073".into()),
            caption: None,
        };
        let photo = store.attach_photo(&draft, &picture.into_inner(), now).unwrap();
        assert!(photo.size as usize > 2 * CHUNK_BYTES, "{}", photo.size);
        let store = Arc::new(Mutex::new(store));
        let client = SyncClient::new(SyncConfig { server: url, ..SyncConfig::default() }).unwrap();
        let report = client.upload_photos(&store, None).await;
        assert!(report.complete && report.sent == 1, "{report:?}");
        assert_eq!(report.bytes_sent, photo.size);
        let largest = largest.load(Ordering::SeqCst);
        assert!((MIN_CHUNK_BYTES..=100 * 1024).contains(&largest), "{largest}");
        assert_eq!(store.lock().unwrap().photo_queue().unwrap().sent, 1);
    }
}
