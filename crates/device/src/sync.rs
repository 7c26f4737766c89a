//! The sync client: pushes the outbox to the server in batches and pulls the area's households.
//!
//! Safety rests on two facts: an entry is cleared only by a receipt naming it (invariant 4), and
//! the server stores a record once however often it is sent (invariant 3). So every failure,
//! including a cancelled request or a lost answer, is handled by sending again.
//!
//! Push and pull carry the device token (`Authorization: Bearer`) that [`SyncClient::enrol`]
//! obtained; before enrolment they send nothing and answer [`SyncError::NotEnrolled`]. A refused
//! token is kept in [`crate::store::META_AUTH_PROBLEM`] for the app to show, and the queue waits,
//! untouched, for a new enrolment. A revoked one is told so by [`SyncClient::whoami`] (kept in
//! [`crate::store::META_REVOKED`]); it may still push and upload photos, and once nothing is left
//! to send the app erases the phone's data (`store/wipe.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use doorstep_domain::protocol::{
    CorrectionsResponse, DeviceDto, EnrolRequest, EnrolResponse, ErrorBody, ErrorResponse, PullResponse, PushResponse,
};
use doorstep_domain::{Lang, Messages};
use reqwest::header::{ACCEPT_ENCODING, ACCEPT_LANGUAGE, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::store::{DeviceError, DeviceStore, DeviceToken, Enrolment, OutboxEntry};

mod basemap;
mod photos;
pub use basemap::BasemapPiece;
pub use photos::{PhotoUploadReport, UPLOAD_OFFSET};

/// Meta key holding the server's warning about this phone's clock (JSON `{"vi", "en"}`), or "".
pub const META_CLOCK_WARNING: &str = "clock_warning";

/// Meta key holding the time (RFC 3339) of the last batch the server answered with receipts.
pub const META_LAST_SYNC_OK: &str = "last_sync_ok";

/// A batch on its way to the server, and the request carrying it.
type InFlight = (Vec<OutboxEntry>, tokio::task::JoinHandle<Result<(u16, Vec<u8>), SyncError>>);

/// Error codes with which our server refuses a batch because of what a record in it holds; only
/// these, isolated to one record, mark a record refused. None of them comes with 401 or 403
/// (and only 400, 413 and 422 are read for them), so a refused or revoked token never marks a
/// record refused: the queue waits for a new enrolment.
const RECORD_LEVEL_CODES: &[&str] = &["malformed_json", "too_large", "too_large_decompressed", "too_many_records"];

/// Batches on their way to the server at once.
const PIPELINE_DEPTH: usize = 2;

/// Households asked for per pull page.
const PULL_LIMIT: &str = "1000";

/// The largest answer read from the server, before or after decompression.
const MAX_RESPONSE_BYTES: u64 = 64 << 20;

/// How much of an unexpected response body is kept in an error.
const ERROR_BODY_CHARS: usize = 500;

#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Base URL, such as `http://127.0.0.1:8080`.
    pub server: String,
    pub batch_size: usize,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub request_timeout: Duration,
    pub zstd_level: i32,
    /// A certificate authority (PEM) trusted besides the system's and the ones built in: a
    /// province that runs its own, given at enrolment.
    pub trusted_ca: Option<String>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            server: "http://127.0.0.1:8080".into(),
            batch_size: 1000,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            zstd_level: 3,
            trusted_ca: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("network error: {0}")]
    Network(String),
    #[error("server answered HTTP {status}: {body}")]
    Server { status: u16, body: String },
    #[error("device store: {0}")]
    Device(#[from] DeviceError),
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    #[error("sync deadline reached before the queue was empty")]
    DeadlineReached,
    /// No device token yet: push and pull send nothing until the phone is enrolled with a code
    /// from a team leader ([`SyncClient::enrol`]). What is recorded stays queued.
    #[error("this device is not enrolled: enrol it with a code from a team leader before syncing")]
    NotEnrolled,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainStats {
    /// Batches the server answered with receipts (or refused as a whole, one record).
    pub batches: u64,
    /// Records in those batches.
    pub sent: u64,
    pub confirmed: u64,
    /// Of `confirmed`, records the server held already (sent again after an answer was lost).
    #[serde(default)]
    pub duplicates: u64,
    pub rejected: u64,
    /// Failed attempts that were tried again.
    pub retries: u64,
}

impl DrainStats {
    fn add(&mut self, other: DrainStats) {
        self.batches += other.batches;
        self.sent += other.sent;
        self.confirmed += other.confirmed;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
        self.retries += other.retries;
    }
}

/// What [`SyncClient::drain`] achieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainReport {
    pub stats: DrainStats,
    /// No pending entry was left when it stopped.
    pub complete: bool,
    /// The last error met, even if a retry then succeeded; on a deadline it says so.
    pub last_error: Option<String>,
}

/// A failed push attempt, and whether the next attempt may follow at once because the batch
/// size changed (so the same request is not simply repeated).
struct Failure {
    error: SyncError,
    retry_now: bool,
}

impl Failure {
    fn backoff(error: SyncError) -> Failure {
        Failure { error, retry_now: false }
    }
}

impl From<SyncError> for Failure {
    fn from(error: SyncError) -> Self {
        Failure::backoff(error)
    }
}

pub struct SyncClient {
    config: SyncConfig,
    base: String,
    http: reqwest::Client,
    /// The largest batch to send: the configured size, halved each time the server answers 413.
    ceiling: AtomicUsize,
    /// The batch size of the next attempt: below the ceiling while isolating a record that makes
    /// the server refuse a whole batch.
    current: AtomicUsize,
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient")
            .field("config", &self.config)
            .field("batch_size", &self.current.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The certificates of a CA given at enrolment (PEM, one or a chain); an error names what is wrong.
pub fn trusted_ca(pem: &str) -> Result<Vec<reqwest::Certificate>, SyncError> {
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
        SyncError::Protocol(format!("the server's certificate authority is not a PEM certificate: {e}"))
    })?;
    if certs.is_empty() {
        return Err(SyncError::Protocol("the server's certificate authority holds no certificate".into()));
    }
    Ok(certs)
}

impl SyncClient {
    pub fn new(config: SyncConfig) -> Result<SyncClient, SyncError> {
        let base = config.server.trim().trim_end_matches('/').to_string();
        reqwest::Url::parse(&base).map_err(|e| SyncError::Protocol(format!("invalid server URL {base:?}: {e}")))?;
        let mut http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            // The server reads the app's version from this on every push (the devices list shows it).
            .user_agent(format!("{}/{}", doorstep_domain::protocol::FIELD_APP_AGENT, env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &config.trusted_ca {
            for cert in trusted_ca(pem)? {
                http = http.add_root_certificate(cert);
            }
        }
        let http = http.build().map_err(|e| SyncError::Network(format!("cannot build the HTTP client: {e}")))?;
        let size = config.batch_size.max(1);
        Ok(SyncClient { config, base, http, ceiling: AtomicUsize::new(size), current: AtomicUsize::new(size) })
    }

    /// The batch size the next push will use.
    pub fn batch_size(&self) -> usize {
        self.current.load(Ordering::Relaxed).max(1)
    }

    /// Exchanges a one-time enrolment code (from a team leader) for this device's token and keeps
    /// it with the volunteer's details ([`DeviceStore::set_enrolment`]); visits recorded from then
    /// on carry that volunteer's id. Enrolling an enrolled phone again (after a revocation, say)
    /// replaces the token and leaves the queue as it is.
    ///
    /// A wrong, used or expired code is [`SyncError::Server`] with status 401 (error code
    /// `enrolment_code_invalid`), too many wrong codes 429. Neither the code nor the token ever
    /// appears in a log line or an error.
    pub async fn enrol(&self, store: &Arc<Mutex<DeviceStore>>, code: &str) -> Result<Enrolment, SyncError> {
        let device_id = with_store(store, |s| Ok(s.device_id())).await?;
        let request = EnrolRequest { code: code.trim().to_string(), device_id: device_id.to_string() };
        let body = serde_json::to_vec(&request)
            .map_err(|e| SyncError::Protocol(format!("cannot write the enrolment request: {e}")))?;
        let response = self
            .http
            .post(self.url("/api/v1/enrol")?)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT_LANGUAGE, "vi")
            .header(ACCEPT_ENCODING, "zstd")
            .body(body)
            .send()
            .await
            .map_err(network)?;
        let (status, bytes) = read_body(response).await?;
        if status != 200 {
            // An error answer holds no token; it is safe to quote.
            return Err(SyncError::Server { status, body: snippet(&bytes) });
        }
        // serde's message may quote a value of the answer, which holds the token: only the
        // position is kept.
        let answer: EnrolResponse = serde_json::from_slice(&bytes).map_err(|e| {
            SyncError::Protocol(format!(
                "enrol answer is not an EnrolResponse ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        let enrolment = with_store(store, move |s| {
            s.set_enrolment(&answer)?;
            s.enrolment()?.ok_or_else(|| DeviceError::Corrupt("the enrolment just saved cannot be read".into()))
        })
        .await?;
        Ok(enrolment)
    }

    /// Asks the server who this phone is enrolled for and which areas it works in (the areas to
    /// pull). A 401 or 403 is [`SyncError::Server`] and is kept in
    /// [`crate::store::META_AUTH_PROBLEM`]; a success clears it.
    pub async fn whoami(&self, store: &Arc<Mutex<DeviceStore>>) -> Result<DeviceDto, SyncError> {
        let body = self.authorised_get(store, self.url("/api/v1/devices/me")?).await?;
        let me: DeviceDto = serde_json::from_slice(&body)
            .map_err(|e| SyncError::Protocol(format!("devices/me answer is not a DeviceDto: {e}")))?;
        // Revoked: kept, so the phone uploads what it holds, then erases itself
        // (`DeviceStore::erase_if_drained`).
        let revoked = me.revoked.clone();
        with_store(store, move |s| {
            s.set_auth_problem(None)?;
            s.set_revoked(revoked.as_ref())
        })
        .await?;
        Ok(me)
    }

    /// A GET with this phone's token (read for every request: a re-enrolment may have replaced
    /// it). [`SyncError::NotEnrolled`] without one; a 401 or 403 is kept in
    /// [`crate::store::META_AUTH_PROBLEM`] and answered as [`SyncError::Server`], like any other
    /// status but 200.
    async fn authorised_get(&self, store: &Arc<Mutex<DeviceStore>>, url: reqwest::Url) -> Result<Vec<u8>, SyncError> {
        let token = with_store(store, |s| s.device_token()).await?;
        let auth = bearer(&token.ok_or(SyncError::NotEnrolled)?)?;
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, auth)
            .header(ACCEPT_LANGUAGE, "vi")
            .header(ACCEPT_ENCODING, "zstd")
            .send()
            .await
            .map_err(network)?;
        let (status, body) = read_body(response).await?;
        if status != 200 {
            if matches!(status, 401 | 403 | 426) {
                record_auth_problem(store, status, &body).await?;
            }
            return Err(SyncError::Server { status, body: snippet(&body) });
        }
        Ok(body)
    }

    /// Fetches the campaign definition (outcomes and their rules) and keeps it in the store, so
    /// the form and the validation on the phone follow the server's campaign.
    pub async fn fetch_campaign(&self, store: &Arc<Mutex<DeviceStore>>) -> Result<(), SyncError> {
        let response = self
            .http
            .get(self.url("/api/v1/campaign")?)
            .header(ACCEPT_ENCODING, "zstd")
            .send()
            .await
            .map_err(network)?;
        let (status, body) = read_body(response).await?;
        if status != 200 {
            return Err(SyncError::Server { status, body: snippet(&body) });
        }
        let campaign: doorstep_domain::Campaign = serde_json::from_slice(&body)
            .map_err(|e| SyncError::Protocol(format!("campaign answer is not a Campaign: {e}")))?;
        with_store(store, move |s| {
            s.set_campaign(campaign);
            Ok(())
        })
        .await
    }

    /// Sends one batch and applies its receipts. Returns zeroed stats when nothing is pending.
    /// Every error is safe to retry; [`SyncError::NotEnrolled`] only succeeds after enrolment.
    pub async fn push_batch(&self, store: &Arc<Mutex<DeviceStore>>) -> Result<DrainStats, SyncError> {
        self.attempt(store).await.map_err(|f| f.error)
    }

    /// Pushes until nothing is pending, retrying failures with exponential backoff and full
    /// jitter, until `deadline` if one is given. Stops early only on a device store error or when
    /// the device is not enrolled (its `last_error` then says so).
    pub async fn drain(&self, store: &Arc<Mutex<DeviceStore>>, deadline: Option<Instant>) -> DrainReport {
        let mut stats = DrainStats::default();
        let mut last_error: Option<String> = None;
        let mut failures: u32 = 0;
        let deadline_report = |stats: DrainStats, last_error: &Option<String>| DrainReport {
            stats,
            complete: false,
            last_error: Some(match last_error {
                Some(e) => format!("{}; last error: {e}", SyncError::DeadlineReached),
                None => SyncError::DeadlineReached.to_string(),
            }),
        };
        // Two batches in flight: the next is read, compressed and sent while the server stores
        // the previous one. Entries of the two never overlap (the second starts after the
        // first's last sequence number), and each is cleared only by its own receipts.
        let mut in_flight: std::collections::VecDeque<InFlight> = std::collections::VecDeque::new();
        let mut after_seq = 0;
        let mut refill = true;
        let result = loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break deadline_report(stats, &last_error);
            }
            while refill && in_flight.len() < PIPELINE_DEPTH {
                let url = match self.url("/api/v1/sync/push") {
                    Ok(u) => u,
                    Err(e) => {
                        return DrainReport { stats, complete: false, last_error: Some(e.to_string()) };
                    }
                };
                match self.prepare(store, after_seq).await {
                    Ok(Some((batch, body, auth))) => {
                        after_seq = batch.last().map(|e| e.device_seq).unwrap_or(after_seq);
                        in_flight.push_back((batch, tokio::spawn(send(self.http.clone(), url, body, auth))));
                    }
                    Ok(None) => refill = false,
                    Err(error) => {
                        // Neither the local database failing nor a missing enrolment is
                        // something waiting will fix.
                        if matches!(error, SyncError::NotEnrolled) {
                            tracing::warn!(%error, "sync stopped");
                        } else {
                            tracing::error!(%error, "sync stopped");
                        }
                        for (_, request) in in_flight {
                            request.abort();
                        }
                        return DrainReport { stats, complete: false, last_error: Some(error.to_string()) };
                    }
                }
            }
            let Some((batch, request)) = in_flight.pop_front() else {
                // Nothing in flight and nothing more to read: done, unless the store failed.
                let pending = with_store(store, |s| Ok(s.next_batch(1)?.len())).await;
                match pending {
                    Ok(0) => {
                        break DrainReport { stats, complete: true, last_error };
                    }
                    Ok(_) => {
                        refill = true;
                        after_seq = 0;
                        continue;
                    }
                    Err(e) => {
                        break DrainReport { stats, complete: false, last_error: Some(e.to_string()) };
                    }
                }
            };
            let answer = match deadline {
                Some(d) => match tokio::time::timeout_at(d, request).await {
                    Ok(r) => r,
                    Err(_) => break deadline_report(stats, &last_error),
                },
                None => request.await,
            };
            let result = match answer {
                Ok(Ok((status, bytes))) => self.handle(store, batch, status, bytes).await,
                Ok(Err(e)) => Err(Failure::backoff(e)),
                Err(e) => Err(Failure::backoff(SyncError::Protocol(format!("push task failed: {e}")))),
            };
            match result {
                Ok(s) => {
                    stats.add(s);
                    failures = 0;
                }
                Err(Failure { error: error @ SyncError::Device(_), .. }) => {
                    tracing::error!(%error, "sync stopped");
                    break DrainReport { stats, complete: false, last_error: Some(error.to_string()) };
                }
                Err(Failure { error, retry_now }) => {
                    stats.retries += 1;
                    tracing::warn!(%error, retry_now, "push failed; will retry");
                    last_error = Some(error.to_string());
                    // Let the batch behind finish (its receipts are as good as any), then start
                    // again from the oldest pending entry.
                    while let Some((batch, request)) = in_flight.pop_front() {
                        let answer = match deadline {
                            Some(d) => match tokio::time::timeout_at(d, request).await {
                                Ok(a) => a,
                                Err(_) => break,
                            },
                            None => request.await,
                        };
                        if let Ok(Ok((status, bytes))) = answer
                            && let Ok(s) = self.handle(store, batch, status, bytes).await
                        {
                            stats.add(s);
                        }
                    }
                    after_seq = 0;
                    refill = true;
                    if !retry_now {
                        let mut delay = self.backoff_delay(failures);
                        failures = failures.saturating_add(1);
                        if let Some(d) = deadline {
                            delay = delay.min(d.saturating_duration_since(Instant::now()));
                        }
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        };
        // Abandoning requests at the deadline is safe: their entries stay pending and a later
        // resend is answered as a duplicate.
        for (_, request) in in_flight {
            request.abort();
        }
        result
    }

    /// Pulls the households of `area` changed since the store's cursor, page by page. Returns how
    /// many households were received. [`SyncError::NotEnrolled`] without a token; a 401 or 403 is
    /// [`SyncError::Server`] and is kept in [`crate::store::META_AUTH_PROBLEM`].
    /// Fetches the visits a leader sent back to this phone's volunteer and keeps them, replacing
    /// the list held. Answers how many are listed.
    pub async fn fetch_corrections(&self, store: &Arc<Mutex<DeviceStore>>) -> Result<usize, SyncError> {
        let body = self.authorised_get(store, self.url("/api/v1/sync/corrections")?).await?;
        let answer: CorrectionsResponse = serde_json::from_slice(&body)
            .map_err(|e| SyncError::Protocol(format!("corrections answer is not a CorrectionsResponse: {e}")))?;
        let n = answer.corrections.len();
        with_store(store, move |s| s.apply_corrections(&answer.corrections)).await?;
        Ok(n)
    }

    /// Sends the pending venue visits, a batch at a time, until none is left. A failure stops it
    /// (the visits stay pending for the next sync); a record the server refuses is marked with the
    /// reason and never holds up the rest.
    pub async fn drain_venues(&self, store: &Arc<Mutex<DeviceStore>>) -> Result<DrainStats, SyncError> {
        const VENUE_BATCH: usize = 200;
        let mut stats = DrainStats::default();
        // Halved while a batch is refused whole for what a record holds, until that record is
        // alone and marked refused, as the visits' drain does; grows back after.
        let mut size = VENUE_BATCH;
        loop {
            let level = self.config.zstd_level;
            let prepared = with_store(store, move |s| {
                let batch = s.next_venue_batch(size)?;
                if batch.is_empty() {
                    return Ok(None);
                }
                let Some(token) = s.device_token()? else {
                    return Ok(Some(Err(())));
                };
                let body = envelope(&s.device_id().to_string(), &chrono::Local::now().to_rfc3339(), &batch);
                let compressed = zstd::bulk::compress(body.as_bytes(), level)
                    .map_err(|e| DeviceError::Corrupt(format!("cannot compress the batch: {e}")))?;
                Ok(Some(Ok((batch, compressed, token))))
            })
            .await?;
            let (batch, body, token) = match prepared {
                None => return Ok(stats),
                Some(Err(())) => return Err(SyncError::NotEnrolled),
                Some(Ok(prepared)) => prepared,
            };
            let url = self.url("/api/v1/sync/venues")?;
            let (status, bytes) = send(self.http.clone(), url, body, bearer(&token)?).await?;
            if let (200 | 422, Ok(answer)) = (status, serde_json::from_slice::<PushResponse>(&bytes)) {
                let sent = batch.len() as u64;
                let applied = with_store(store, move |s| s.apply_venue_receipts(&batch, &answer.receipts)).await?;
                stats.add(DrainStats {
                    batches: 1,
                    sent,
                    confirmed: applied.confirmed,
                    duplicates: applied.duplicates,
                    rejected: applied.rejected,
                    retries: 0,
                });
                if applied.confirmed + applied.rejected == 0 {
                    // Receipts that settle nothing would have us send the same batch forever.
                    return Err(SyncError::Protocol("venue receipts matched no record".into()));
                }
                size = (size * 2).min(VENUE_BATCH);
                continue;
            }
            if matches!(status, 401 | 403 | 426) {
                record_auth_problem(store, status, &bytes).await?;
            }
            let ours = serde_json::from_slice::<ErrorResponse>(&bytes).ok().map(|r| r.error);
            let about_records = matches!(status, 400 | 413 | 422)
                && ours.as_ref().is_some_and(|e| RECORD_LEVEL_CODES.contains(&e.code.as_str()));
            if about_records && batch.len() == 1 {
                let (seq, error) = (batch[0].device_seq, refusal_body(status, &bytes));
                with_store(store, move |s| s.reject_venue_entry(seq, &error)).await?;
                stats.add(DrainStats { batches: 1, sent: 1, rejected: 1, ..DrainStats::default() });
                size = VENUE_BATCH;
                continue;
            }
            if about_records {
                size = (batch.len() / 2).max(1);
                tracing::warn!(status, batch_size = size, "server refused the venue batch; isolating");
                continue;
            }
            return Err(SyncError::Server { status, body: snippet(&bytes) });
        }
    }

    /// Fetches the venues registered in `area` and keeps them, so the volunteer sees the venues
    /// others registered. Answers how many are listed.
    pub async fn fetch_venues(&self, store: &Arc<Mutex<DeviceStore>>, area: &str) -> Result<usize, SyncError> {
        let mut url = self.url("/api/v1/sync/venues")?;
        url.query_pairs_mut().append_pair("area", area);
        let body = self.authorised_get(store, url).await?;
        let list: Vec<doorstep_domain::protocol::VenueDto> = serde_json::from_slice(&body)
            .map_err(|e| SyncError::Protocol(format!("venue list is not a list of VenueDto: {e}")))?;
        let n = list.len();
        with_store(store, move |s| s.apply_venue_list(&list)).await?;
        Ok(n)
    }

    pub async fn pull(&self, store: &Arc<Mutex<DeviceStore>>, area: &str) -> Result<usize, SyncError> {
        let mut received = 0;
        loop {
            let key = area.to_string();
            let cursor = with_store(store, move |s| s.cursor_for(Some(&key))).await?;
            let mut url = self.url("/api/v1/sync/pull")?;
            url.query_pairs_mut()
                .append_pair("area", area)
                .append_pair("cursor", &cursor.to_string())
                .append_pair("limit", PULL_LIMIT);
            let body = self.authorised_get(store, url).await?;
            let page: PullResponse = serde_json::from_slice(&body)
                .map_err(|e| SyncError::Protocol(format!("pull answer is not a PullResponse: {e}")))?;
            received += page.households.len();
            let (has_more, next) = (page.has_more, page.next_cursor);
            let key = area.to_string();
            with_store(store, move |s| {
                s.apply_pull_for(Some(&key), &page)?;
                s.set_auth_problem(None)
            })
            .await?;
            if !has_more {
                return Ok(received);
            }
            if next <= cursor {
                // Without this a server bug would make us ask for the same page forever.
                return Err(SyncError::Protocol(format!("pull cursor did not advance ({cursor} -> {next})")));
            }
        }
    }

    async fn attempt(&self, store: &Arc<Mutex<DeviceStore>>) -> Result<DrainStats, Failure> {
        let Some((batch, body, auth)) = self.prepare(store, 0).await? else {
            return Ok(DrainStats::default());
        };
        let (status, bytes) = send(self.http.clone(), self.url("/api/v1/sync/push")?, body, auth).await?;
        self.handle(store, batch, status, bytes).await
    }

    /// The next batch after `after_seq`, its compressed body and the `Authorization` header to
    /// send it with, or `None` when nothing is pending. [`SyncError::NotEnrolled`] when there is
    /// something to send but no token to send it with.
    async fn prepare(
        &self, store: &Arc<Mutex<DeviceStore>>, after_seq: i64,
    ) -> Result<Option<(Vec<OutboxEntry>, Vec<u8>, HeaderValue)>, SyncError> {
        let size = self.batch_size();
        let level = self.config.zstd_level;
        let prepared = with_store(store, move |s| {
            let batch = s.next_batch_after(after_seq, size)?;
            if batch.is_empty() {
                return Ok(None);
            }
            // Read with the batch, for every request: a re-enrolment may have replaced it.
            let Some(token) = s.device_token()? else {
                return Ok(Some(Err(())));
            };
            let body = envelope(&s.device_id().to_string(), &chrono::Local::now().to_rfc3339(), &batch);
            let compressed = zstd::bulk::compress(body.as_bytes(), level)
                .map_err(|e| DeviceError::Corrupt(format!("cannot compress the batch: {e}")))?;
            tracing::debug!(records = batch.len(), bytes = body.len(), compressed = compressed.len(), "pushing batch");
            Ok(Some(Ok((batch, compressed, token))))
        })
        .await?;
        match prepared {
            None => Ok(None),
            Some(Err(())) => Err(SyncError::NotEnrolled),
            Some(Ok((batch, body, token))) => Ok(Some((batch, body, bearer(&token)?))),
        }
    }

    /// What the server's answer to one batch means for its entries.
    async fn handle(
        &self, store: &Arc<Mutex<DeviceStore>>, batch: Vec<OutboxEntry>, status: u16, bytes: Vec<u8>,
    ) -> Result<DrainStats, Failure> {
        if status == 200 || status == 422 {
            match serde_json::from_slice::<PushResponse>(&bytes) {
                Ok(answer) => return self.apply(store, batch, answer).await,
                // A 200 must carry receipts; a 422 without them is a refusal of the whole batch.
                Err(e) if status == 200 => {
                    return Err(SyncError::Protocol(format!("push answer is not a PushResponse: {e}")).into());
                }
                Err(_) => {}
            }
        }
        let server_error = || SyncError::Server { status, body: snippet(&bytes) };
        if matches!(status, 401 | 403 | 426) {
            // Unknown or revoked token, or the wrong device: a batch-level failure, retried like
            // any other, never a refusal of the records. Kept so the app can tell the volunteer.
            record_auth_problem(store, status, &bytes).await?;
            return Err(server_error().into());
        }
        // Only our server's own word about the records' content may refuse a record for good;
        // anything else (a proxy, a version mismatch, a body damaged on the way) is waited out.
        let ours = serde_json::from_slice::<ErrorResponse>(&bytes).ok().map(|r| r.error);
        let about_records = matches!(status, 400 | 413 | 422)
            && ours.as_ref().is_some_and(|e| RECORD_LEVEL_CODES.contains(&e.code.as_str()));
        match status {
            _ if about_records && batch.len() == 1 => {
                let entry = &batch[0];
                let error = refusal_body(status, &bytes);
                let seq = entry.device_seq;
                match with_store(store, move |s| s.reject_entry(seq, &error)).await {
                    Ok(()) | Err(SyncError::Device(DeviceError::NotFound(_))) => {}
                    Err(e) => return Err(e.into()),
                }
                // The culprit was this one record: the others may travel in full batches again.
                if status == 413 {
                    self.ceiling.store(self.config.batch_size.max(1), Ordering::Relaxed);
                }
                self.current.store(self.ceiling.load(Ordering::Relaxed), Ordering::Relaxed);
                Ok(DrainStats { batches: 1, sent: 1, rejected: 1, ..DrainStats::default() })
            }
            413 if batch.len() > 1 => {
                let ceiling = (batch.len() / 2).max(1);
                self.ceiling.fetch_min(ceiling, Ordering::Relaxed);
                self.current.fetch_min(ceiling, Ordering::Relaxed);
                tracing::warn!(batch_size = ceiling, "server refused the batch as too large; halving");
                Err(Failure { error: server_error(), retry_now: true })
            }
            _ if about_records => {
                // One record may make the whole body unreadable: halve until it is alone.
                self.current.fetch_min((batch.len() / 2).max(1), Ordering::Relaxed);
                tracing::warn!(status, batch_size = self.batch_size(), "server refused the batch; isolating");
                Err(Failure { error: server_error(), retry_now: true })
            }
            // Not about a record: wait and try again.
            _ => Err(server_error().into()),
        }
    }

    async fn apply(
        &self, store: &Arc<Mutex<DeviceStore>>, batch: Vec<OutboxEntry>, answer: PushResponse,
    ) -> Result<DrainStats, Failure> {
        if let Some(warning) = &answer.clock_warning {
            tracing::warn!(skew_seconds = answer.clock_skew_seconds, message = %warning.en, "device clock skew");
        }
        let sent = batch.len() as u64;
        let receipts = answer.receipts;
        // Kept for the app to show: the server's words, in both languages, or nothing.
        let clock_warning =
            answer.clock_warning.as_ref().and_then(|w| serde_json::to_string(w).ok()).unwrap_or_default();
        let stats = with_store(store, move |s| {
            let stats = s.apply_receipts(&batch, &receipts)?;
            if stats.confirmed + stats.rejected > 0 {
                s.set_meta(META_LAST_SYNC_OK, &chrono::Local::now().to_rfc3339())?;
                s.set_auth_problem(None)?;
                if s.meta(META_CLOCK_WARNING)?.unwrap_or_default() != clock_warning {
                    s.set_meta(META_CLOCK_WARNING, &clock_warning)?;
                }
            }
            Ok(stats)
        })
        .await?;
        if stats.confirmed + stats.rejected == 0 {
            return Err(SyncError::Protocol(format!("none of the receipts matched the {sent} records sent")).into());
        }
        // Grow back after isolating a refused record, in case the refusal was passing.
        let ceiling = self.ceiling.load(Ordering::Relaxed);
        let _ = self.current.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| Some((c * 2).min(ceiling)));
        tracing::debug!(sent, confirmed = stats.confirmed, rejected = stats.rejected, "batch acknowledged");
        Ok(DrainStats {
            batches: 1,
            sent,
            confirmed: stats.confirmed,
            duplicates: stats.duplicates,
            rejected: stats.rejected,
            retries: 0,
        })
    }

    fn url(&self, path: &str) -> Result<reqwest::Url, SyncError> {
        reqwest::Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| SyncError::Protocol(format!("invalid server URL {:?}: {e}", self.base)))
    }

    /// Full jitter: uniform in [0, min(max, initial * 2^failures)].
    fn backoff_delay(&self, failures: u32) -> Duration {
        let initial = self.config.initial_backoff;
        let cap = initial.saturating_mul(2u32.saturating_pow(failures.min(31))).min(self.config.max_backoff);
        let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::random_range(0..=cap_ms))
    }
}

/// The push body, assembled from the stored canonical JSON so records go out byte for byte as
/// they were validated and saved.
fn envelope(device_id: &str, sent_at: &str, batch: &[OutboxEntry]) -> String {
    let records: usize = batch.iter().map(|e| e.body.len() + 1).sum();
    let mut body = String::with_capacity(records + 128);
    body.push_str("{\"device_id\":");
    body.push_str(&json_string(device_id));
    body.push_str(",\"sent_at\":");
    body.push_str(&json_string(sent_at));
    body.push_str(",\"records\":[");
    for (i, entry) in batch.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&entry.body);
    }
    body.push_str("]}");
    body
}

fn json_string(s: &str) -> String {
    // Serialising a string cannot fail; the fallback only keeps the body well-formed.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The reason to store for a record the server refused without a receipt.
fn refusal_body(status: u16, body: &[u8]) -> ErrorBody {
    if let Ok(ErrorResponse { error }) = serde_json::from_slice::<ErrorResponse>(body) {
        return error;
    }
    let detail = snippet(body);
    ErrorBody::new(
        &format!("http_{status}"),
        None,
        Messages {
            vi: format!("Máy chủ từ chối bản ghi (HTTP {status}): {detail}"),
            en: format!("The server refused the record (HTTP {status}): {detail}"),
        },
        Lang::Vi,
    )
}

/// Posts one compressed batch and reads the answer.
async fn send(
    http: reqwest::Client, url: reqwest::Url, body: Vec<u8>, auth: HeaderValue,
) -> Result<(u16, Vec<u8>), SyncError> {
    let response = http
        .post(url)
        .header(AUTHORIZATION, auth)
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_ENCODING, "zstd")
        .header(ACCEPT_LANGUAGE, "vi")
        .header(ACCEPT_ENCODING, "zstd")
        .body(body)
        .send()
        .await
        .map_err(network)?;
    read_body(response).await
}

async fn read_body(response: reqwest::Response) -> Result<(u16, Vec<u8>), SyncError> {
    let status = response.status().as_u16();
    // reqwest is built without decompression; we asked for zstd, so undo it here.
    let zstd = response
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("zstd"));
    // A phone has little memory: an answer larger than any the server sends is refused.
    if response.content_length().is_some_and(|n| n > MAX_RESPONSE_BYTES) {
        return Err(SyncError::Protocol(format!("answer larger than {MAX_RESPONSE_BYTES} bytes")));
    }
    let bytes = response.bytes().await.map_err(network)?;
    if bytes.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(SyncError::Protocol(format!("answer larger than {MAX_RESPONSE_BYTES} bytes")));
    }
    let body = if zstd {
        let mut out = Vec::new();
        zstd::stream::read::Decoder::new(&bytes[..])
            .and_then(|d| std::io::Read::read_to_end(&mut std::io::Read::take(d, MAX_RESPONSE_BYTES + 1), &mut out))
            .map_err(|e| SyncError::Protocol(format!("bad zstd body: {e}")))?;
        if out.len() as u64 > MAX_RESPONSE_BYTES {
            return Err(SyncError::Protocol(format!("answer larger than {MAX_RESPONSE_BYTES} bytes")));
        }
        out
    } else {
        bytes.to_vec()
    };
    Ok((status, body))
}

/// The `Authorization` header for `token`, marked sensitive so that no `Debug` of the request
/// shows it. The error does not quote the token.
fn bearer(token: &DeviceToken) -> Result<HeaderValue, SyncError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| SyncError::Protocol("the stored device token is not a valid header value".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Keeps the server's refusal of this phone's credentials for the app to show.
async fn record_auth_problem(store: &Arc<Mutex<DeviceStore>>, status: u16, body: &[u8]) -> Result<(), SyncError> {
    let problem = auth_problem_body(status, body);
    tracing::warn!(status, code = %problem.code, "server refused this device's credentials; records stay queued");
    with_store(store, move |s| s.set_auth_problem(Some(&problem))).await
}

/// The server's own error when it gave one; otherwise words for the volunteer in both languages.
fn auth_problem_body(status: u16, body: &[u8]) -> ErrorBody {
    if let Ok(ErrorResponse { error }) = serde_json::from_slice::<ErrorResponse>(body) {
        return error;
    }
    ErrorBody::new(
        &format!("http_{status}"),
        None,
        Messages {
            vi: format!("Máy chủ không chấp nhận điện thoại này (HTTP {status}); hãy xin tổ trưởng mã đăng ký mới."),
            en: format!(
                "The server does not accept this phone (HTTP {status}); ask your team leader for a new enrolment code."
            ),
        },
        Lang::Vi,
    )
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(ERROR_BODY_CHARS).collect()
}

fn network(e: reqwest::Error) -> SyncError {
    // With its causes: "invalid peer certificate: UnknownIssuer" is what tells a certificate the
    // phone does not trust from a network that is down.
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    SyncError::Network(text)
}

/// Runs `f` on the store off the async threads: SQLite calls block (fsync on every commit).
async fn with_store<T, F>(store: &Arc<Mutex<DeviceStore>>, f: F) -> Result<T, SyncError>
where
    T: Send + 'static,
    F: FnOnce(&mut DeviceStore) -> Result<T, DeviceError> + Send + 'static,
{
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || {
        // A panic while the lock was held cannot have left a half-written record: every write is
        // one SQLite transaction, rolled back when dropped. So a poisoned lock is still usable.
        let mut guard = store.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    })
    .await
    .map_err(|e| SyncError::Protocol(format!("store task failed: {e}")))?
    .map_err(SyncError::Device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_is_valid_json_with_the_records_verbatim() {
        let batch = vec![
            OutboxEntry { device_seq: 1, id: "a".into(), revision: 1, body: r#"{"x":1}"#.into() },
            OutboxEntry { device_seq: 2, id: "b".into(), revision: 1, body: r#"{"x":"Hà Tĩnh"}"#.into() },
        ];
        let body = envelope("dev", "2020-08-03T09:15:00+07:00", &batch);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["device_id"], "dev");
        assert_eq!(v["records"][1]["x"], "Hà Tĩnh");
        assert!(body.contains(r#"[{"x":1},{"x":"Hà Tĩnh"}]"#));
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let client = SyncClient::new(SyncConfig {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..SyncConfig::default()
        })
        .unwrap();
        for failures in [0, 1, 3, 10, 40, u32::MAX] {
            let cap = (100u64 << failures.min(10)).min(1000);
            for _ in 0..50 {
                assert!(client.backoff_delay(failures).as_millis() as u64 <= cap);
            }
        }
        let delays: std::collections::HashSet<_> = (0..50).map(|_| client.backoff_delay(10)).collect();
        assert!(delays.len() > 1, "no jitter");
    }

    /// Without a token nothing is sent: the server URL is a closed port, so an attempt to send
    /// would be a network error, not `NotEnrolled`.
    #[tokio::test]
    async fn push_and_pull_without_enrolment_send_nothing() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let dir = tempfile::tempdir().unwrap();
        let mut s = DeviceStore::open(&dir.path().join("device.db")).unwrap();
        let draft = crate::store::VisitDraft {
            household_id: None,
            address: None,
            area_code: "18073".into(),
            outcome: "not_home".into(),
            reason: None,
            people: 0,
            smartphones: 0,
            already_installed: 0,
            installed_now: 0,
            leaflet_given: false,
            location: doorstep_domain::visit::LocationInput {
                source: "gps".into(),
                lat: Some(18.3428),
                lon: Some(105.9057),
                accuracy_m: Some(8.0),
            },
            notes: None,
        };
        let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap());
        s.record_visit(&draft, now).unwrap();
        let store = Arc::new(Mutex::new(s));
        let client = SyncClient::new(SyncConfig { server: dead, ..SyncConfig::default() }).unwrap();

        let e = client.push_batch(&store).await.unwrap_err();
        assert!(matches!(e, SyncError::NotEnrolled), "{e:?}");
        assert!(e.to_string().contains("not enrolled"));
        let e = client.pull(&store, "18073").await.unwrap_err();
        assert!(matches!(e, SyncError::NotEnrolled), "{e:?}");

        // No deadline, yet it returns at once: waiting would not enrol the phone.
        let report = tokio::time::timeout(Duration::from_secs(5), client.drain(&store, None))
            .await
            .expect("drain returns without enrolment");
        assert!(!report.complete);
        assert_eq!(report.stats, DrainStats::default());
        assert!(report.last_error.unwrap().contains("not enrolled"));
        assert_eq!(store.lock().unwrap().queue().unwrap().pending, 1);
    }

    #[test]
    fn the_bearer_header_is_sensitive() {
        let h = bearer(&DeviceToken::new("s3cret-token".into())).unwrap();
        assert!(h.is_sensitive());
        assert_eq!(h.to_str().unwrap(), "Bearer s3cret-token");
        assert!(!format!("{h:?}").contains("s3cret"));
        let e = bearer(&DeviceToken::new("bad\ntoken s3cret".into())).unwrap_err();
        assert!(!e.to_string().contains("s3cret"));
    }

    #[test]
    fn refusal_body_prefers_the_servers_error() {
        let b = refusal_body(400, br#"{"error":{"code":"malformed","message":"m","messages":{"vi":"v","en":"e"}}}"#);
        assert_eq!((b.code.as_str(), b.messages.vi.as_str()), ("malformed", "v"));
        let b = refusal_body(415, b"nope");
        assert_eq!(b.code, "http_415");
        assert!(b.messages.en.contains("415") && b.messages.vi.contains("nope"));
    }
}
