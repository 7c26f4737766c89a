//! `doorstep simulate`: headless volunteers on the real device code. Each enrols (unless its
//! store already holds a token), records its visits first, whether or not the server answers,
//! then syncs; the last line printed is JSON.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{FixedOffset, Utc};
use doorstep_device::{DeviceStore, SyncClient, SyncConfig, SyncError};
use doorstep_domain::protocol::{EnrolmentCode, EnrolmentRequest, LoginRequest, LoginResponse};
use rand::SeedableRng;
use rand::rngs::StdRng;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use tokio::time::Instant;

use crate::generate;

/// The environment variable holding the `--login` account's password (never an argument, so it
/// stays out of the process list and shell history).
pub const PASSWORD_ENV: &str = "DOORSTEP_PASSWORD";

/// The longest wait for the server before recording offline (pull, enrolment).
const ONLINE_WAIT: Duration = Duration::from_secs(10);

#[derive(clap::Args, Clone)]
pub struct SimulateArgs {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Number of simulated devices (volunteers).
    #[arg(long, default_value_t = 1)]
    pub devices: usize,
    /// Visits each device records before it syncs.
    #[arg(long, default_value_t = 10)]
    pub visits: usize,
    /// The area the volunteers work in (a GSO code).
    #[arg(long, default_value = "42")]
    pub area: String,
    /// Where each device keeps its database (device-N/device.db); a temporary folder when absent.
    /// Running again with the same folder resumes the same devices and their queues.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Records per push.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Give up syncing after this many seconds (what is left stays queued on the device).
    #[arg(long, default_value_t = 120)]
    pub sync_timeout: u64,
    /// Longest wait between retries, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub max_backoff_ms: u64,
    /// Seed for the random visits; the same seed gives the same visits.
    #[arg(long, default_value_t = 2020)]
    pub seed: u64,
    /// Pre-issued one-time enrolment codes (`doorstep admin enrol-code`), one per device not yet
    /// enrolled; used before any --login. Repeat for several devices.
    #[arg(long = "enrol-code", value_name = "CODE")]
    pub enrol_codes: Vec<String>,
    /// With --login: the volunteer (username) the simulated phones are enrolled for.
    #[arg(long, value_name = "USERNAME")]
    pub volunteer: Option<String>,
    /// A team leader or admin who issues a code for each device left without one; signs in once,
    /// with the password from the DOORSTEP_PASSWORD environment variable.
    #[arg(long, value_name = "USERNAME", requires = "volunteer")]
    pub login: Option<String>,
}

// Enrolment codes are secrets: shown only as a count.
impl std::fmt::Debug for SimulateArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulateArgs")
            .field("server", &self.server)
            .field("devices", &self.devices)
            .field("visits", &self.visits)
            .field("area", &self.area)
            .field("data_dir", &self.data_dir)
            .field("batch_size", &self.batch_size)
            .field("sync_timeout", &self.sync_timeout)
            .field("max_backoff_ms", &self.max_backoff_ms)
            .field("seed", &self.seed)
            .field("enrol_codes", &format_args!("<{} redacted>", self.enrol_codes.len()))
            .field("volunteer", &self.volunteer)
            .field("login", &self.login)
            .finish()
    }
}

#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub recorded: u64,
    pub sent: u64,
    pub confirmed: u64,
    /// Of `confirmed`, visits the server held already: sent again after an answer was lost.
    pub duplicates: u64,
    pub rejected: u64,
    /// Still queued on the devices at the end.
    pub pending: u64,
    /// Devices that could not enrol before the deadline (their visits are all pending).
    pub not_enrolled: u64,
}

pub async fn run(args: SimulateArgs) -> Result<()> {
    let totals = simulate(&args).await?;
    println!("{}", serde_json::to_string(&totals)?);
    Ok(())
}

pub async fn simulate(args: &SimulateArgs) -> Result<Totals> {
    let codes = Arc::new(Codes::new(args)?);
    let temp;
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let mut tasks = Vec::new();
    for i in 0..args.devices {
        let (args, codes) = (args.clone(), Arc::clone(&codes));
        let path = dir.join(format!("device-{i}"));
        tasks.push(tokio::spawn(async move { run_device(&args, &codes, i, &path).await }));
    }
    let mut totals = Totals::default();
    let mut tasks = tasks.into_iter();
    while let Some(t) = tasks.next() {
        let d = match t.await.context("a simulated device crashed").and_then(|r| r) {
            Ok(d) => d,
            Err(e) => {
                // One device's error ends the run: the others stop too (their records are safe
                // in their stores) rather than run on unseen.
                for t in tasks {
                    t.abort();
                }
                return Err(e);
            }
        };
        totals.recorded += d.recorded;
        totals.sent += d.sent;
        totals.confirmed += d.confirmed;
        totals.duplicates += d.duplicates;
        totals.rejected += d.rejected;
        totals.pending += d.pending;
        totals.not_enrolled += d.not_enrolled;
    }
    Ok(totals)
}

async fn run_device(args: &SimulateArgs, codes: &Codes, index: usize, dir: &Path) -> Result<Totals> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let store = DeviceStore::open(&dir.join("device.db")).with_context(|| format!("opening device {index}"))?;
    let store = Arc::new(Mutex::new(store));
    let client = SyncClient::new(SyncConfig {
        server: args.server.trim_end_matches('/').to_string(),
        batch_size: args.batch_size.max(1),
        max_backoff: Duration::from_millis(args.max_backoff_ms.max(1)),
        ..SyncConfig::default()
    })?;

    let mut totals = Totals::default();
    let mut enrolment = DeviceEnrolment { index, held: None, done: lock(&store).device_token()?.is_some() };
    if !enrolment.done {
        // A device nothing could ever enrol is a mistake in the arguments: said before any work.
        if !codes.any_left() {
            bail!("{}", Codes::none_left(index));
        }
        match tokio::time::timeout(ONLINE_WAIT, enrolment.attempt(&client, &store, codes)).await {
            Ok(Ok(Attempt::Enrolled)) => {}
            Ok(Ok(Attempt::Later(why))) => tracing::info!(device = index, why, "not enrolled yet; recording offline"),
            Ok(Err(e)) => return Err(e),
            Err(_) => tracing::info!(device = index, "enrolment timed out; recording offline"),
        }
    }
    if args.visits > 0 {
        // Learn the area and its households if the server answers; work regardless.
        if enrolment.done {
            match tokio::time::timeout(ONLINE_WAIT, client.pull(&store, &args.area)).await {
                Ok(Ok(n)) => tracing::debug!(device = index, households = n, "pulled"),
                Ok(Err(e)) => tracing::info!(device = index, error = %e, "no pull; recording offline"),
                Err(_) => tracing::info!(device = index, "pull timed out; recording offline"),
            }
        }
        let (store2, args2) = (store.clone(), args.clone());
        totals.recorded =
            tokio::task::spawn_blocking(move || record(&store2, &args2, index)).await.context("recording")??;
    }

    // A timeout too large to add is no timeout.
    let deadline = Instant::now().checked_add(Duration::from_secs(args.sync_timeout));
    // Not enrolled yet (the server was down): keep trying within the sync window.
    let mut failures: u32 = 0;
    while !enrolment.done && deadline.is_none_or(|d| Instant::now() < d) {
        let attempt = enrolment.attempt(&client, &store, codes);
        let attempt = match deadline {
            Some(d) => match tokio::time::timeout_at(d, attempt).await {
                Ok(a) => a?,
                Err(_) => break,
            },
            None => attempt.await?,
        };
        if let Attempt::Later(why) = attempt {
            let mut delay = backoff(args.max_backoff_ms, failures);
            failures = failures.saturating_add(1);
            if let Some(d) = deadline {
                delay = delay.min(d.saturating_duration_since(Instant::now()));
            }
            tracing::debug!(device = index, why, ?delay, "enrolment failed; will retry");
            tokio::time::sleep(delay).await;
        }
    }
    if enrolment.done {
        let report = client.drain(&store, deadline).await;
        if let Some(e) = &report.last_error {
            tracing::info!(device = index, error = %e, complete = report.complete, "sync ended with an error");
        }
        totals.sent = report.stats.sent;
        totals.confirmed = report.stats.confirmed;
        totals.duplicates = report.stats.duplicates;
        totals.rejected = report.stats.rejected;
        // Venue visits follow the household visits; they are not in the totals (which count
        // visits). A failure that waiting may fix is tried again within the sync window, as the
        // app's sync loop does.
        let mut failures: u32 = 0;
        loop {
            match client.drain_venues(&store).await {
                Ok(_) => break,
                Err(e) => {
                    let again = match &e {
                        SyncError::Network(_) => true,
                        SyncError::Server { status, .. } => retry_later(*status),
                        _ => false,
                    };
                    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                    if !again || left.is_some_and(|l| l.is_zero()) {
                        tracing::info!(device = index, error = %e, "venue visits not sent");
                        break;
                    }
                    let mut delay = backoff(args.max_backoff_ms, failures);
                    failures = failures.saturating_add(1);
                    if let Some(left) = left {
                        delay = delay.min(left);
                    }
                    tracing::debug!(device = index, error = %e, ?delay, "venue visits not sent; will retry");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    } else {
        tracing::warn!(device = index, "{}; its visits stay queued", SyncError::NotEnrolled);
        totals.not_enrolled = 1;
    }
    let queue = lock(&store).queue()?;
    totals.pending = queue.pending;
    Ok(totals)
}

/// Full jitter, capped by `--max-backoff-ms`.
fn backoff(max_ms: u64, failures: u32) -> Duration {
    let cap = 100u64.saturating_mul(1 << failures.min(20)).min(max_ms.max(1));
    Duration::from_millis(rand::random_range(0..=cap))
}

enum Attempt {
    Enrolled,
    /// The server could not be reached or was busy: try again later.
    Later(String),
}

/// One device's enrolment in progress.
struct DeviceEnrolment {
    index: usize,
    /// A code taken but not yet redeemed (the server did not answer): tried again before taking
    /// another, so that an outage does not use up the pre-issued codes.
    held: Option<String>,
    done: bool,
}

impl DeviceEnrolment {
    /// One try: `Err` for what waiting will not fix (no code left, a refused code or sign-in).
    async fn attempt(
        &mut self, client: &SyncClient, store: &Arc<Mutex<DeviceStore>>, codes: &Codes,
    ) -> Result<Attempt> {
        let index = self.index;
        let code = match &self.held {
            Some(code) => code.clone(),
            None => match codes.take().await? {
                Take::Code(code) => {
                    // Held before it is sent, so a cancelled attempt keeps it.
                    self.held = Some(code.clone());
                    code
                }
                Take::Later(why) => return Ok(Attempt::Later(why)),
                Take::NoneLeft => bail!("{}", Codes::none_left(index)),
            },
        };
        match client.enrol(store, &code).await {
            Ok(enrolment) => {
                self.held = None;
                self.done = true;
                tracing::debug!(device = index, volunteer = %enrolment.username, "simulated device enrolled");
                Ok(Attempt::Enrolled)
            }
            Err(e @ SyncError::Network(_)) => Ok(Attempt::Later(e.to_string())),
            Err(e @ SyncError::Server { status, .. }) if retry_later(status) => Ok(Attempt::Later(e.to_string())),
            Err(SyncError::Server { status: 401, body }) => {
                self.held = None;
                bail!("device {index}: the enrolment code was refused (wrong, used or expired): {body}")
            }
            Err(e) => bail!("device {index} cannot enrol: {e}"),
        }
    }
}

/// Statuses that say "not now" rather than "no".
fn retry_later(status: u16) -> bool {
    status == 408 || status == 429 || status >= 500
}

enum Take {
    Code(String),
    Later(String),
    NoneLeft,
}

/// Where the devices' enrolment codes come from: the pre-issued ones first, then codes issued by
/// the `--login` account. Holds secrets, so it is not `Debug`.
struct Codes {
    preissued: Mutex<VecDeque<String>>,
    issuer: Option<Issuer>,
}

struct Issuer {
    base: String,
    login: String,
    password: String,
    volunteer: String,
    http: reqwest::Client,
    /// Signed in once for all devices; `None` until then, or after the session expired.
    session: tokio::sync::Mutex<Option<HeaderValue>>,
}

impl Codes {
    fn new(args: &SimulateArgs) -> Result<Codes> {
        let preissued = args.enrol_codes.iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
        let issuer = match (&args.login, &args.volunteer) {
            (Some(login), Some(volunteer)) => {
                let password = std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()).with_context(|| {
                    format!("--login {login} needs the password in the {PASSWORD_ENV} environment variable")
                })?;
                let http =
                    reqwest::Client::builder().timeout(ONLINE_WAIT).build().context("building the HTTP client")?;
                Some(Issuer {
                    base: args.server.trim().trim_end_matches('/').to_string(),
                    login: login.clone(),
                    password,
                    volunteer: volunteer.clone(),
                    http,
                    session: tokio::sync::Mutex::new(None),
                })
            }
            (Some(_), None) => bail!("--login needs --volunteer: the volunteer the devices are enrolled for"),
            (None, Some(volunteer)) => {
                tracing::warn!(volunteer, "--volunteer is used only with --login; the codes decide the volunteer");
                None
            }
            (None, None) => None,
        };
        Ok(Codes { preissued: Mutex::new(preissued), issuer })
    }

    fn none_left(index: usize) -> String {
        format!("device {index} is not enrolled: give --enrol-code, or --login and --volunteer")
    }

    fn any_left(&self) -> bool {
        self.issuer.is_some() || !self.preissued.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    async fn take(&self) -> Result<Take> {
        let next = self.preissued.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        if let Some(code) = next {
            return Ok(Take::Code(code));
        }
        match &self.issuer {
            Some(issuer) => issuer.issue().await,
            None => Ok(Take::NoneLeft),
        }
    }
}

impl Issuer {
    /// A fresh code for `self.volunteer`, signing in first if needed.
    async fn issue(&self) -> Result<Take> {
        for _ in 0..2 {
            let session = match self.session().await? {
                Ok(s) => s,
                Err(why) => return Ok(Take::Later(why)),
            };
            let body = serde_json::to_vec(&EnrolmentRequest { volunteer: self.volunteer.clone() })?;
            let answer = self
                .http
                .post(format!("{}/api/v1/enrolments", self.base))
                .header(AUTHORIZATION, session)
                .header(CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await;
            let (status, bytes) = match read(answer).await {
                Ok(a) => a,
                Err(why) => return Ok(Take::Later(why)),
            };
            match status {
                200 => {
                    let issued: EnrolmentCode = serde_json::from_slice(&bytes).map_err(|e| {
                        anyhow::anyhow!(
                            "the server's enrolment code answer is unreadable (line {}, column {})",
                            e.line(),
                            e.column()
                        )
                    })?;
                    tracing::debug!(volunteer = %issued.volunteer, expires_at = %issued.expires_at, "enrolment code issued");
                    return Ok(Take::Code(issued.code));
                }
                // The session expired: sign in again, once.
                401 => *self.session.lock().await = None,
                s if retry_later(s) => return Ok(Take::Later(format!("issuing a code: HTTP {s}"))),
                s => bail!(
                    "{} cannot issue an enrolment code for {}: HTTP {s}: {}",
                    self.login,
                    self.volunteer,
                    snippet(&bytes)
                ),
            }
        }
        bail!("{}'s session was refused right after signing in", self.login)
    }

    /// The shared session: `Ok(Err(why))` when the server cannot be reached now.
    async fn session(&self) -> Result<Result<HeaderValue, String>> {
        // Held across the sign-in, so that the devices share one.
        let mut session = self.session.lock().await;
        if let Some(s) = &*session {
            return Ok(Ok(s.clone()));
        }
        let body = serde_json::to_vec(&LoginRequest { username: self.login.clone(), password: self.password.clone() })?;
        let answer = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let (status, bytes) = match read(answer).await {
            Ok(a) => a,
            Err(why) => return Ok(Err(why)),
        };
        match status {
            200 => {}
            s if retry_later(s) => return Ok(Err(format!("signing in: HTTP {s}"))),
            s => bail!("signing in as {} failed: HTTP {s}: {}", self.login, snippet(&bytes)),
        }
        // serde's message could quote the token: only the position is kept.
        let answer: LoginResponse = serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!("the sign-in answer is unreadable (line {}, column {})", e.line(), e.column())
        })?;
        let mut value = HeaderValue::from_str(&format!("Bearer {}", answer.token))
            .map_err(|_| anyhow::anyhow!("the session token is not a valid header value"))?;
        value.set_sensitive(true);
        tracing::info!(login = %self.login, role = answer.user.role.as_str(), "signed in to issue enrolment codes");
        *session = Some(value.clone());
        Ok(Ok(value))
    }
}

/// Status and body of an answer, or why there was none (for a retry later).
async fn read(answer: reqwest::Result<reqwest::Response>) -> std::result::Result<(u16, Vec<u8>), String> {
    let response = answer.map_err(|e| format!("network error: {e}"))?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| format!("network error: {e}"))?;
    Ok((status, bytes.to_vec()))
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(300).collect()
}

/// Records `args.visits` visits: households the pull brought first (this device's share of
/// them, unvisited or due again), then new households found at the door.
/// One venue visit per this many household visits.
const VISITS_PER_VENUE: usize = 40;

fn record(store: &Mutex<DeviceStore>, args: &SimulateArgs, index: usize) -> Result<u64> {
    let mut store = lock(store);
    let mut rng =
        StdRng::seed_from_u64(args.seed.wrapping_add(index as u64 * 7919).wrapping_add(store.cursor()? as u64));
    let areas = store.areas()?;
    let parent_of = |code: &str| areas.iter().find(|a| a.code == code).and_then(|a| a.parent.clone());
    let leaves: Vec<String> = {
        let under: Vec<_> = areas
            .iter()
            .filter(|a| is_under(&areas, &a.code, &args.area))
            .filter(|a| !areas.iter().any(|c| c.parent.as_deref() == Some(a.code.as_str())))
            .map(|a| a.code.clone())
            .collect();
        if under.is_empty() { vec![args.area.clone()] } else { under }
    };
    // Not visited yet, or due again by now (the campaign's revisit delay passed).
    let known: Vec<_> = store
        .households_at(Some(&args.area), Utc::now())?
        .into_iter()
        .filter(|h| h.latest_outcome.is_none() || h.revisit_due)
        .enumerate()
        .filter(|(i, _)| i % args.devices.max(1) == index)
        .map(|(_, h)| h)
        .collect();
    let offset = FixedOffset::east_opt(7 * 3600).context("offset")?;
    // Its own stream, so the household visits a seed gives stay the same with or without venues.
    let mut venue_rng = StdRng::seed_from_u64(args.seed.wrapping_add(index as u64 * 7919) ^ 0x5645_4e55);
    let mut recorded = 0;
    for n in 0..args.visits {
        let draft = if let Some(h) = known.get(n) {
            let near = match (h.lat, h.lon) {
                (Some(lat), Some(lon)) => (lat, lon),
                _ => generate::base_point(&h.area_code, parent_of(&h.area_code).as_deref()),
            };
            let id = uuid::Uuid::parse_str(&h.id).ok();
            generate::visit(&mut rng, id, &h.area_code, near)
        } else {
            let leaf = &leaves[rand::Rng::random_range(&mut rng, 0..leaves.len())];
            let near = generate::jitter(&mut rng, generate::base_point(leaf, parent_of(leaf).as_deref()), 1500.0);
            generate::visit(&mut rng, None, leaf, near)
        };
        store.record_visit(&draft, Utc::now().with_timezone(&offset))?;
        recorded += 1;
        // Volunteers stop at an agency, a school or a shop now and then: one venue per 40 doors.
        if n % VISITS_PER_VENUE == VISITS_PER_VENUE - 1 {
            let venue = generate::venue_visit(
                &mut venue_rng,
                &draft.area_code,
                (draft.location.lat.unwrap_or(18.34), draft.location.lon.unwrap_or(105.9)),
            );
            store.record_venue_visit(&venue, Utc::now().with_timezone(&offset))?;
        }
    }
    Ok(recorded)
}

fn is_under(areas: &[doorstep_domain::protocol::AreaDto], code: &str, ancestor: &str) -> bool {
    let mut cur = Some(code.to_string());
    let mut steps = 0;
    while let Some(c) = cur {
        if c == ancestor {
            return true;
        }
        steps += 1;
        if steps > 64 {
            return false;
        }
        cur = areas.iter().find(|a| a.code == c).and_then(|a| a.parent.clone());
    }
    false
}

fn lock(m: &Mutex<DeviceStore>) -> std::sync::MutexGuard<'_, DeviceStore> {
    // SQLite rolls back whatever a panicking holder left open, so the store is still sound.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimulateArgs,
    }

    fn args(extra: &[&str]) -> SimulateArgs {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let mut argv = vec!["simulate", "--server", &server, "--devices", "2", "--visits", "2", "--sync-timeout", "1"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).unwrap().args
    }

    #[test]
    fn debug_hides_the_enrolment_codes() {
        let a = args(&["--enrol-code", "ABCDE-FGHJK", "--enrol-code", "KLMNP-QRSTV"]);
        assert_eq!(a.enrol_codes.len(), 2);
        let shown = format!("{a:?}");
        assert!(!shown.contains("ABCDE") && !shown.contains("KLMNP"), "{shown}");
        assert!(shown.contains("<2 redacted>"), "{shown}");
    }

    #[test]
    fn login_needs_a_volunteer() {
        assert!(Cli::try_parse_from(["simulate", "--login", "l.namha"]).is_err());
    }

    #[tokio::test]
    async fn without_codes_or_login_a_device_is_not_enrolled() {
        let e = simulate(&args(&[])).await.unwrap_err().to_string();
        assert!(e.contains("is not enrolled: give --enrol-code, or --login and --volunteer"), "{e}");
    }

    /// The server is down: the device with a code records offline, keeps trying to enrol until
    /// the deadline, and reports its visits pending; the device without a code is an error.
    #[tokio::test]
    async fn a_device_that_cannot_reach_the_server_records_offline_and_reports_pending() {
        let mut a = args(&["--enrol-code", "ABCDE-FGHJK"]);
        a.devices = 1;
        let started = std::time::Instant::now();
        let totals = simulate(&a).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(totals, Totals { recorded: 2, pending: 2, not_enrolled: 1, ..Totals::default() });
        a.devices = 2;
        assert!(simulate(&a).await.is_err(), "one code for two devices");
    }
}
