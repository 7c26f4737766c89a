//! The field app's behaviour without a window. The Tauri shell (`src-tauri/`) forwards each
//! command to a [`FieldApp`] method and each [`Status`] change to the web view; everything the
//! volunteer's phone decides is decided here, where tests reach it without a display.
//!
//! - Enrolment with a leader's code, then push and pull with the device token.
//! - The volunteer's day: households of their areas, those nearby, revisits due, today's
//!   visits, refused records to fix.
//! - Location: a provider (a fixed position chosen by configuration, the web view's own
//!   geolocation on desktop, the platform's on mobile via the shell) and the checks on a fix
//!   (poor accuracy, outside the assigned areas).
//! - Sync by itself: at start, when asked (a visit saved, the network back), and periodically;
//!   never in the way of the form.

pub mod basemap;
mod enrol;
mod location;
mod photos;
mod settings;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{FixedOffset, Local, TimeZone, Utc};
use doorstep_device::{
    DeviceError, DeviceStore, KeyStore, LocalHousehold, LocalVenue, LocalVisit, PhotoQueue, RejectedVenueVisit,
    SyncClient, SyncError, VenueVisitDraft, VisitDraft, WipeMarker, WipeOutcome,
};
use doorstep_domain::protocol::{AreaDto, ErrorBody, ErrorResponse};
use doorstep_domain::{Campaign, Lang, Messages};
use serde::{Deserialize, Serialize};

pub use doorstep_device::MyClaim;
pub use location::{Fix, LocationWarning, check_location, distance_m};
pub use settings::{LocationProviderKind, Settings};

/// Meta key: the areas the phone works in, as the server last said (JSON list of codes).
const META_WORK_AREAS: &str = "work_areas";
/// The certificate authority (PEM) given at enrolment for the server, if any.
const META_SERVER_CA: &str = "server_ca";
/// The phone's database in the app's data folder; its key is `doorstep.db.key` beside it unless
/// the shell keeps it in the platform's secure store.
pub const DB_FILE: &str = "doorstep.db";

/// How the app is set up on this machine (not the volunteer's settings).
#[derive(Debug, Clone)]
pub struct FieldConfig {
    /// The server address offered before the volunteer types one.
    pub default_server: String,
    /// The position the `fixed` provider answers: tests and demonstrations (a phone has GPS).
    pub fixed_location: Option<Fix>,
    /// A file holding that position ("lat,lon[,accuracy_m]"), read at every fix: a walk down a
    /// street for tests and demonstrations. Takes the place of `fixed_location`.
    pub fixed_location_file: Option<std::path::PathBuf>,
    /// Between syncs while the server answers.
    pub sync_interval: Duration,
    /// Between attempts while it does not.
    pub retry_interval: Duration,
    /// Longest a sync may push before it reports and starts again.
    pub sync_deadline: Duration,
}

impl Default for FieldConfig {
    fn default() -> Self {
        FieldConfig {
            default_server: "http://127.0.0.1:8080".into(),
            fixed_location: None,
            fixed_location_file: None,
            sync_interval: Duration::from_secs(60),
            retry_interval: Duration::from_secs(15),
            sync_deadline: Duration::from_secs(120),
        }
    }
}

impl FieldConfig {
    /// Reads `DOORSTEP_SERVER`, `DOORSTEP_FIXED_LOCATION` ("lat,lon[,accuracy_m]") and
    /// `DOORSTEP_FIXED_LOCATION_FILE` (a file holding one, read at every fix).
    pub fn from_env() -> FieldConfig {
        let mut config = FieldConfig::default();
        if let Ok(server) = std::env::var("DOORSTEP_SERVER") {
            config.default_server = server;
        }
        if let Ok(fixed) = std::env::var("DOORSTEP_FIXED_LOCATION") {
            config.fixed_location = Fix::parse_fixed(&fixed);
            if config.fixed_location.is_none() {
                tracing::warn!("DOORSTEP_FIXED_LOCATION is not lat,lon[,accuracy_m]; ignored");
            }
        }
        if let Some(file) = std::env::var_os("DOORSTEP_FIXED_LOCATION_FILE") {
            config.fixed_location_file = Some(file.into());
        }
        config
    }
}

/// Everything the home screen shows, sent to the web view on every change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub enrolled: bool,
    pub device_id: String,
    pub volunteer: Option<Volunteer>,
    pub server: String,
    /// The server answered the last attempt.
    pub online: bool,
    pub syncing: bool,
    pub sync_progress: Option<Progress>,
    pub last_sync_ok: Option<String>,
    pub queue: Queue,
    pub clock_warning: Option<Messages>,
    /// Why the server refused this phone (revoked, say); its records are kept.
    pub auth_problem: Option<ErrorBody>,
    pub language: Lang,
    /// Visits the team leader sent back that wait for the volunteer's correction.
    pub corrections_open: u64,
    /// Photos waiting to be sent, sent, and refused by the server.
    pub photos: PhotoQueue,
    /// The server said this phone was revoked: it uploads what it holds, then erases its data.
    #[serde(default)]
    pub revoked: Option<Revoked>,
    /// This phone's data was erased after it was revoked (until it is enrolled again): why.
    #[serde(default)]
    pub wiped: Option<WipeMarker>,
    /// The server's base map on this phone, or its download (`basemap`); `None`: none yet.
    #[serde(default)]
    pub basemap: Option<basemap::BasemapStatus>,
}

/// A revoked phone before its erase: when and why, and what still holds the erase up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub revoked_at: String,
    pub reason: Option<String>,
    /// Records not yet acknowledged by the server (visits, venue visits, photos).
    pub pending: u64,
    /// Records the server refused, kept until fixed or shown to the leader: the erase waits.
    pub refused: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volunteer {
    pub username: String,
    pub role: String,
    pub area_code: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub sent: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queue {
    pub pending: u64,
    pub sent: u64,
    pub rejected: u64,
    /// Venue visits waiting to be sent, and refused (their reasons: [`FieldApp::rejected_venue_visits`]).
    pub venues_pending: u64,
    pub venues_rejected: u64,
}

/// A household for the lists and the map, with its distance from a fix when asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Household {
    #[serde(flatten)]
    pub household: LocalHousehold,
    pub distance_m: Option<f64>,
}

/// A refused record with what is needed to fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejected {
    pub device_seq: i64,
    pub id: String,
    pub error: ErrorBody,
    pub rejected_at: String,
    pub draft: VisitDraft,
}

/// A visit the team leader sent back, with the form's starting values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    pub id: String,
    pub visit_id: String,
    pub revision: i64,
    pub comment: String,
    pub requested_by: String,
    pub requested_at: String,
    /// When the visit happened (it keeps this time when corrected).
    pub visited_at: String,
    /// Corrected on this phone already (the correction may still wait in the queue).
    pub answered: bool,
    pub draft: VisitDraft,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    pub id: String,
}

/// State that lives only while the app runs.
#[derive(Debug, Default)]
struct Live {
    online: bool,
    syncing: bool,
    progress: Option<Progress>,
}

type Listener = Box<dyn Fn(&Status) + Send + Sync>;

pub struct FieldApp {
    store: Arc<Mutex<DeviceStore>>,
    config: FieldConfig,
    live: Mutex<Live>,
    wake: tokio::sync::Notify,
    listener: Mutex<Option<Listener>>,
    /// Where the store and the base map live.
    data_dir: PathBuf,
}

impl std::fmt::Debug for FieldApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldApp").field("config", &self.config).finish_non_exhaustive()
    }
}

/// A command's failure, as the web view shows it: a code, and a message in both languages,
/// naming the field when there is one.
pub type CommandResult<T> = Result<T, ErrorBody>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every write to the device store is one SQLite transaction, rolled back if its holder
    // panicked, so a poisoned lock still guards a sound store.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn error(code: &str, field: Option<&str>, vi: &str, en: &str, lang: Lang) -> ErrorBody {
    ErrorBody::new(code, field, Messages { vi: vi.into(), en: en.into() }, lang)
}

fn device_error(e: DeviceError, lang: Lang) -> ErrorBody {
    match e {
        DeviceError::Invalid(field) => ErrorBody::from_field_error(&field, lang),
        DeviceError::Photo(refusal) => refusal.body(lang),
        DeviceError::NotRejected(_) => error(
            "not_rejected",
            None,
            "Bản ghi này không còn chờ sửa.",
            "This record is no longer waiting to be fixed.",
            lang,
        ),
        DeviceError::StorageFull(_) => error(
            "storage_full",
            None,
            "Bộ nhớ điện thoại đã đầy: lượt này chưa được lưu. Những gì đã lưu trước vẫn còn. Hãy xoá bớt ảnh, video hoặc ứng dụng không dùng, rồi lưu lại.",
            "The phone's storage is full: this was not saved. What was saved before is kept. Free some space (photos, videos, unused apps), then save again.",
            lang,
        ),
        DeviceError::Locked(_) => error(
            "store_locked",
            None,
            "Không mở được dữ liệu trên máy: khoá mã hoá không khớp, bị mất, hoặc tệp bị hỏng. Dữ liệu không bị xoá. Đừng gỡ hay cài lại ứng dụng; hãy báo cho tổ trưởng.",
            "The phone's data cannot be opened: its encryption key does not match, was lost, or the file is damaged. Nothing was deleted. Do not uninstall or reinstall the app; tell your team leader.",
            lang,
        ),
        DeviceError::Key(e) => {
            tracing::error!(error = %e, "device database key");
            error(
                "store_key",
                None,
                "Không đọc hoặc lưu được khoá mã hoá dữ liệu trên máy. Dữ liệu không bị xoá; hãy khởi động lại ứng dụng.",
                "The key that encrypts the phone's data could not be read or kept. Nothing was deleted; restart the app.",
                lang,
            )
        }
        DeviceError::NotOpen(_) => error(
            "correction_not_open",
            None,
            "Lượt thăm này không còn chờ sửa (đã sửa, hoặc tổ trưởng đã rút yêu cầu).",
            "This visit no longer waits for a correction (corrected already, or the leader withdrew it).",
            lang,
        ),
        other => {
            tracing::error!(error = %other, "device store");
            error(
                "device_store",
                None,
                "Không đọc/ghi được dữ liệu trên máy. Hãy khởi động lại ứng dụng; dữ liệu đã lưu vẫn còn.",
                "The phone's data could not be read or written. Restart the app; what was saved is kept.",
                lang,
            )
        }
    }
}

/// A sync client failure as the volunteer reads it.
fn sync_error(e: SyncError, lang: Lang) -> ErrorBody {
    match e {
        SyncError::Server { body, .. } => match serde_json::from_str::<ErrorResponse>(&body) {
            Ok(r) => ErrorBody::new(&r.error.code, r.error.field.as_deref(), r.error.messages, lang),
            Err(_) => error(
                "server_error",
                None,
                "Máy chủ trả lời không như mong đợi; hãy thử lại sau.",
                "The server gave an unexpected answer; try again later.",
                lang,
            ),
        },
        SyncError::Network(e) if e.contains("certificate") => error(
            "server_certificate_untrusted",
            Some("ca"),
            "Điện thoại không tin chứng chỉ của máy chủ này. Nếu tỉnh dùng chứng chỉ riêng, hãy quét thẻ đăng ký có kèm chứng chỉ, hoặc hỏi cán bộ kỹ thuật.",
            "This phone does not trust the server's certificate. If the province uses its own, scan an enrolment card that carries it, or ask IT.",
            lang,
        ),
        SyncError::Network(_) => error(
            "network",
            None,
            "Không kết nối được máy chủ. Kiểm tra địa chỉ và mạng rồi thử lại.",
            "Cannot reach the server. Check the address and the network, then try again.",
            lang,
        ),
        SyncError::Device(e) => device_error(e, lang),
        other => {
            tracing::warn!(error = %other, "sync");
            error(
                "server_error",
                None,
                "Máy chủ trả lời không như mong đợi; hãy thử lại sau.",
                "The server gave an unexpected answer; try again later.",
                lang,
            )
        }
    }
}

impl FieldApp {
    /// Opens (or creates) the phone's store in `data_dir`, encrypted with the key in the desktop
    /// keyring where the app has one, else in a file beside it (`doorstep.db.key`, readable by
    /// the user only): `doorstep_device::platform_keys`.
    pub fn open(data_dir: &Path, config: FieldConfig) -> Result<Arc<FieldApp>, DeviceError> {
        FieldApp::create_dir(data_dir)?;
        FieldApp::with_store(DeviceStore::open_platform(&data_dir.join(DB_FILE))?, config, data_dir)
    }

    /// As [`FieldApp::open`], with the database key kept by `keys`: the platform's secure store
    /// where the shell has one (Android Keystore, iOS Keychain).
    pub fn open_with_keys(
        data_dir: &Path, config: FieldConfig, keys: &dyn KeyStore,
    ) -> Result<Arc<FieldApp>, DeviceError> {
        FieldApp::create_dir(data_dir)?;
        FieldApp::with_store(DeviceStore::open_with(&data_dir.join(DB_FILE), keys)?, config, data_dir)
    }

    fn create_dir(data_dir: &Path) -> Result<(), DeviceError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| DeviceError::Corrupt(format!("cannot create {}: {e}", data_dir.display())))
    }

    fn with_store(store: DeviceStore, config: FieldConfig, data_dir: &Path) -> Result<Arc<FieldApp>, DeviceError> {
        Ok(Arc::new(FieldApp {
            store: Arc::new(Mutex::new(store)),
            config,
            live: Mutex::new(Live::default()),
            wake: tokio::sync::Notify::new(),
            listener: Mutex::new(None),
            data_dir: data_dir.to_path_buf(),
        }))
    }

    /// Where status changes go (the shell emits them to the web view).
    pub fn on_status(&self, listener: impl Fn(&Status) + Send + Sync + 'static) {
        *lock(&self.listener) = Some(Box::new(listener));
    }

    fn notify(&self) {
        match self.status() {
            Ok(status) => {
                if let Some(l) = lock(&self.listener).as_ref() {
                    l(&status);
                }
            }
            Err(e) => tracing::warn!(code = %e.code, "status not readable"),
        }
    }

    /// The store, for tests and the shell's own checks.
    pub fn store(&self) -> &Arc<Mutex<DeviceStore>> {
        &self.store
    }

    pub fn settings(&self) -> Settings {
        let store = lock(&self.store);
        Settings::load(&store, &self.config)
    }

    fn lang(&self) -> Lang {
        self.settings().language
    }

    pub fn set_settings(&self, new: Settings) -> CommandResult<Settings> {
        let lang = new.language;
        let new = new.validated().map_err(|(field, vi, en)| error("bad_setting", Some(field), vi, en, lang))?;
        {
            let mut store = lock(&self.store);
            new.save(&mut store).map_err(|e| device_error(e, lang))?;
        }
        self.notify();
        Ok(new)
    }

    pub fn status(&self) -> CommandResult<Status> {
        let live = {
            let l = lock(&self.live);
            (l.online, l.syncing, l.progress)
        };
        let store = lock(&self.store);
        let settings = Settings::load(&store, &self.config);
        let lang = settings.language;
        let read = || -> Result<Status, DeviceError> {
            let enrolment = store.enrolment()?;
            let enrolled = enrolment.is_some();
            let q = store.queue()?;
            let clock_warning = store
                .meta(doorstep_device::META_CLOCK_WARNING)?
                .filter(|w| !w.is_empty())
                .and_then(|w| serde_json::from_str::<Messages>(&w).ok());
            Ok(Status {
                enrolled: enrolment.is_some(),
                device_id: store.device_id().to_string(),
                volunteer: enrolment.map(|e| Volunteer {
                    username: e.username,
                    role: e.role.as_str().to_string(),
                    area_code: e.area_code,
                }),
                server: settings.server.clone(),
                online: live.0,
                syncing: live.1,
                sync_progress: live.2,
                last_sync_ok: store.meta(doorstep_device::META_LAST_SYNC_OK)?,
                queue: Queue {
                    pending: q.pending,
                    sent: q.sent,
                    rejected: q.rejected,
                    venues_pending: q.venue_pending,
                    venues_rejected: q.venue_rejected,
                },
                clock_warning,
                auth_problem: store.auth_problem()?,
                language: lang,
                corrections_open: store.corrections()?.iter().filter(|c| !c.answered).count() as u64,
                photos: store.photo_queue()?,
                revoked: match store.revoked()? {
                    Some(r) => {
                        let waiting = store.wipe_blockers()?;
                        Some(Revoked {
                            revoked_at: r.revoked_at,
                            reason: r.reason,
                            pending: waiting.pending,
                            refused: waiting.refused,
                        })
                    }
                    None => None,
                },
                // A marker with a token still held is an erase cut short: the next sync ends it.
                wiped: if enrolled { None } else { store.wipe_marker()? },
                basemap: basemap::status(&self.data_dir),
            })
        };
        read().map_err(|e| device_error(e, lang))
    }

    pub fn campaign(&self) -> Campaign {
        lock(&self.store).campaign().clone()
    }

    /// The areas the phone knows (pulled), parents first.
    pub fn areas(&self) -> CommandResult<Vec<AreaDto>> {
        let lang = self.lang();
        lock(&self.store).areas().map_err(|e| device_error(e, lang))
    }

    /// The areas the volunteer works in, as the server last said; before that, their account's.
    pub fn work_areas(&self) -> CommandResult<Vec<String>> {
        let lang = self.lang();
        let store = lock(&self.store);
        let saved = store.meta(META_WORK_AREAS).map_err(|e| device_error(e, lang))?;
        if let Some(list) = saved.and_then(|s| serde_json::from_str::<Vec<String>>(&s).ok())
            && !list.is_empty()
        {
            return Ok(list);
        }
        Ok(store.enrolment().map_err(|e| device_error(e, lang))?.map(|e| vec![e.area_code]).unwrap_or_default())
    }

    /// The households of `area` (`None`: all), each with who holds it now (`holder`, `taken`).
    pub fn households(&self, area: Option<&str>) -> CommandResult<Vec<Household>> {
        self.households_at(area, Utc::now())
    }

    /// As [`FieldApp::households`], judged at `now`.
    pub fn households_at(&self, area: Option<&str>, now: chrono::DateTime<Utc>) -> CommandResult<Vec<Household>> {
        let lang = self.lang();
        let list = lock(&self.store).households_at(area, now).map_err(|e| device_error(e, lang))?;
        Ok(list.into_iter().map(|household| Household { household, distance_m: None }).collect())
    }

    /// Known households closest to a point, nearest first.
    pub fn nearby(&self, lat: f64, lon: f64, limit: usize) -> CommandResult<Vec<Household>> {
        let mut list: Vec<Household> = self
            .households(None)?
            .into_iter()
            .filter_map(|h| {
                let d = distance_m((lat, lon), (h.household.lat?, h.household.lon?));
                Some(Household { distance_m: Some(d), ..h })
            })
            .collect();
        list.sort_by(|a, b| a.distance_m.unwrap_or(f64::MAX).total_cmp(&b.distance_m.unwrap_or(f64::MAX)));
        list.truncate(limit.max(1));
        Ok(list)
    }

    /// Households due again now, by the phone's clock.
    pub fn revisits(&self) -> CommandResult<Vec<Household>> {
        self.revisits_at(Utc::now())
    }

    /// Households due again at `now`: their latest outcome is revisited and its delay has passed.
    /// This is the volunteer's walk list, so those another volunteer holds come last (kept, not
    /// dropped: the volunteer may be at that door already; the app greys them).
    pub fn revisits_at(&self, now: chrono::DateTime<Utc>) -> CommandResult<Vec<Household>> {
        let lang = self.lang();
        let list = lock(&self.store).households_at(None, now).map_err(|e| device_error(e, lang))?;
        let mut due: Vec<Household> = list
            .into_iter()
            .filter(|h| h.revisit_due)
            .map(|household| Household { household, distance_m: None })
            .collect();
        // Stable: within each group the store's order (area, id) stays.
        due.sort_by_key(|h| h.household.taken);
        Ok(due)
    }

    /// The leaders' claims given to this volunteer and in force now (street or household, until
    /// when, households covered and visited), the soonest to run out first.
    pub fn my_claims(&self) -> CommandResult<Vec<MyClaim>> {
        self.my_claims_at(Utc::now())
    }

    /// As [`FieldApp::my_claims`], judged at `now`.
    pub fn my_claims_at(&self, now: chrono::DateTime<Utc>) -> CommandResult<Vec<MyClaim>> {
        let lang = self.lang();
        lock(&self.store).my_claims(now).map_err(|e| device_error(e, lang))
    }

    /// Visits recorded since local midnight, newest first.
    pub fn today(&self) -> CommandResult<Vec<LocalVisit>> {
        let lang = self.lang();
        let now = Local::now();
        let midnight = now
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .and_then(|m| now.offset().from_local_datetime(&m).single())
            .map(|m| m.fixed_offset())
            .unwrap_or_else(|| now.fixed_offset());
        lock(&self.store).visits_since(midnight).map_err(|e| device_error(e, lang))
    }

    pub fn rejected(&self) -> CommandResult<Vec<Rejected>> {
        let lang = self.lang();
        let store = lock(&self.store);
        let read = || -> Result<Vec<Rejected>, DeviceError> {
            let mut out = Vec::new();
            for r in store.rejected()? {
                let Some(input) = store.visit_input(r.device_seq)? else {
                    continue;
                };
                out.push(Rejected {
                    device_seq: r.device_seq,
                    id: r.id,
                    error: r.error,
                    rejected_at: r.rejected_at,
                    draft: VisitDraft {
                        household_id: uuid::Uuid::parse_str(&input.household.id).ok(),
                        address: input.household.address,
                        area_code: input.area_code,
                        outcome: input.outcome,
                        reason: input.reason,
                        people: input.people,
                        smartphones: input.smartphones,
                        already_installed: input.already_installed,
                        installed_now: input.installed_now,
                        leaflet_given: input.leaflet_given,
                        location: input.location,
                        notes: input.notes,
                    },
                });
            }
            Ok(out)
        };
        read().map_err(|e| device_error(e, lang))
    }

    /// The visits the team leader sent back, oldest first, with the form's starting values.
    pub fn corrections(&self) -> CommandResult<Vec<Correction>> {
        let lang = self.lang();
        let store = lock(&self.store);
        let read = || -> Result<Vec<Correction>, DeviceError> {
            let households = store.households(None)?;
            let mut out = Vec::new();
            for p in store.corrections()? {
                let c = p.correction;
                let v = &c.visit;
                let address = households.iter().find(|h| h.id == v.household_id).and_then(|h| h.address.clone());
                out.push(Correction {
                    draft: VisitDraft {
                        household_id: uuid::Uuid::parse_str(&v.household_id).ok(),
                        address,
                        area_code: v.area_code.clone(),
                        outcome: v.outcome.clone(),
                        reason: v.reason.clone(),
                        people: v.people,
                        smartphones: v.smartphones,
                        already_installed: v.already_installed,
                        installed_now: v.installed_now,
                        leaflet_given: v.leaflet_given,
                        location: doorstep_domain::visit::LocationInput {
                            source: v.location_source.clone(),
                            lat: v.lat,
                            lon: v.lon,
                            accuracy_m: v.accuracy_m,
                        },
                        notes: v.notes.clone(),
                    },
                    id: c.id,
                    visit_id: c.visit_id,
                    revision: c.revision,
                    comment: c.comment,
                    requested_by: c.requested_by,
                    requested_at: c.requested_at,
                    visited_at: v.visited_at.clone(),
                    answered: p.answered,
                });
            }
            Ok(out)
        };
        read().map_err(|e| device_error(e, lang))
    }

    /// Saves the volunteer's correction of a sent-back visit as its next revision (then sync is
    /// woken). A bad field is named, in both languages, and nothing is saved.
    pub fn correct_visit(&self, correction_id: &str, draft: &VisitDraft) -> CommandResult<Saved> {
        let lang = self.lang();
        let visit =
            lock(&self.store).correct_visit(correction_id, draft, Self::now()).map_err(|e| device_error(e, lang))?;
        self.notify();
        self.sync_now();
        Ok(Saved { id: visit.id.to_string() })
    }

    fn now() -> chrono::DateTime<FixedOffset> {
        Utc::now().with_timezone(Local::now().offset())
    }

    /// Saves a visit durably (then sync is woken). A bad field is named, in both languages, and
    /// nothing is saved.
    pub fn record_visit(&self, draft: &VisitDraft) -> CommandResult<Saved> {
        let lang = self.lang();
        self.require_enrolment(lang)?;
        let visit = lock(&self.store).record_visit(draft, Self::now()).map_err(|e| device_error(e, lang))?;
        self.notify();
        self.sync_now();
        Ok(Saved { id: visit.id.to_string() })
    }

    /// Only the enrolment is needed before saving, not the whole status with its counts.
    /// A revoked phone records nothing more: it uploads what it holds, then erases itself.
    fn require_enrolment(&self, lang: Lang) -> CommandResult<()> {
        let (enrolment, revoked) = {
            let store = lock(&self.store);
            let read = || -> Result<_, DeviceError> { Ok((store.enrolment()?, store.revoked()?)) };
            read().map_err(|e| device_error(e, lang))?
        };
        if revoked.is_some() {
            return Err(error(
                "device_revoked",
                None,
                "Điện thoại này đã bị thu hồi: không ghi thêm được. Những gì đã ghi sẽ được gửi về máy chủ rồi xoá khỏi máy.",
                "This phone was revoked: nothing more can be recorded. What was recorded is sent to the server, then erased from the phone.",
                lang,
            ));
        }
        if enrolment.is_none() {
            return Err(error(
                "not_enrolled",
                None,
                "Điện thoại chưa được đăng ký; hãy nhập mã của tổ trưởng trước.",
                "This phone is not enrolled yet; enter your team leader's code first.",
                lang,
            ));
        }
        Ok(())
    }

    /// Saves a visit to a venue durably (registering the venue on its first visit), then wakes
    /// sync. A bad field is named in both languages and nothing is saved.
    pub fn record_venue_visit(&self, draft: &VenueVisitDraft) -> CommandResult<Saved> {
        let lang = self.lang();
        self.require_enrolment(lang)?;
        let visit = lock(&self.store).record_venue_visit(draft, Self::now()).map_err(|e| device_error(e, lang))?;
        self.notify();
        self.sync_now();
        Ok(Saved { id: visit.id.to_string() })
    }

    /// The venues of an area (or of all the volunteer's), by name.
    pub fn venues(&self, area: Option<&str>) -> CommandResult<Vec<LocalVenue>> {
        let lang = self.lang();
        lock(&self.store).venues(area).map_err(|e| device_error(e, lang))
    }

    /// Venue visits the server refused, with its reasons in both languages.
    pub fn rejected_venue_visits(&self) -> CommandResult<Vec<RejectedVenueVisit>> {
        let lang = self.lang();
        lock(&self.store).rejected_venue_visits().map_err(|e| device_error(e, lang))
    }

    /// Records the corrected visit for a refused record.
    pub fn fix_rejected(&self, device_seq: i64, draft: &VisitDraft) -> CommandResult<Saved> {
        let lang = self.lang();
        let visit =
            lock(&self.store).fix_rejected(device_seq, draft, Self::now()).map_err(|e| device_error(e, lang))?;
        self.notify();
        self.sync_now();
        Ok(Saved { id: visit.id.to_string() })
    }

    /// The position from the configured provider; `webview` tells the web view to ask its own
    /// geolocation (desktop), and the mobile shell answers with the platform's instead.
    pub fn locate(&self) -> Fix {
        match (self.settings().location_provider, &self.config.fixed_location_file, &self.config.fixed_location) {
            (LocationProviderKind::Fixed, Some(file), _) => {
                let fix = std::fs::read_to_string(file).ok().and_then(|text| Fix::parse_fixed(text.trim()));
                fix.unwrap_or_else(|| {
                    tracing::warn!(file = %file.display(), "the fixed location file holds no lat,lon[,accuracy_m]");
                    Fix::none()
                })
            }
            (LocationProviderKind::Fixed, None, Some(fix)) => fix.clone(),
            (LocationProviderKind::Fixed, None, None) => Fix::none(),
            (LocationProviderKind::Auto, ..) => Fix::webview(),
        }
    }

    /// Warnings about a fix: accuracy worse than the threshold, or outside the volunteer's areas.
    pub fn check_location(
        &self, lat: f64, lon: f64, accuracy_m: Option<f64>, area_code: Option<&str>,
    ) -> CommandResult<Vec<LocationWarning>> {
        let settings = self.settings();
        let areas = match area_code {
            Some(a) => vec![a.to_string()],
            None => self.work_areas()?,
        };
        let mut known = Vec::new();
        for area in &areas {
            known.extend(
                self.households(Some(area))?.into_iter().filter_map(|h| Some((h.household.lat?, h.household.lon?))),
            );
        }
        Ok(check_location((lat, lon), accuracy_m, settings.accuracy_threshold_m, &known))
    }

    /// Wakes the sync loop now.
    pub fn sync_now(&self) {
        self.wake.notify_one();
    }

    /// One sync: who am I (revocation, areas), the campaign, a pull of each area, then the
    /// queue. Never fails: what happened is in the status.
    pub async fn sync_once(&self) {
        let (enrolled, server) = {
            let store = lock(&self.store);
            let enrolled = store.enrolment().ok().flatten().is_some();
            (enrolled, Settings::load(&store, &self.config).server)
        };
        if !enrolled {
            return;
        }
        let Ok(client) = self.client(&server) else {
            tracing::warn!("the server address in the settings is not a URL");
            return;
        };
        {
            let mut live = lock(&self.live);
            live.syncing = true;
            live.progress = None;
        }
        self.notify();
        let online = self.sync_with(&client).await;
        {
            let mut live = lock(&self.live);
            live.syncing = false;
            live.progress = None;
            live.online = online;
        }
        self.notify();
        // Last, the base map: the records go first on a slow line; each piece shows progress.
        if online && lock(&self.store).revoked().ok().flatten().is_none() {
            let deadline = tokio::time::Instant::now() + self.config.sync_deadline;
            match basemap::refresh(&client, &self.store, &self.data_dir, deadline, || self.notify()).await {
                Ok(true) => self.notify(),
                Ok(false) => {}
                Err(e) => tracing::info!(error = %e, "base map not downloaded this time"),
            }
        }
    }

    /// Returns whether the server answered.
    async fn sync_with(&self, client: &SyncClient) -> bool {
        let me = match client.whoami(&self.store).await {
            Ok(me) => me,
            Err(SyncError::Server { status, .. }) if matches!(status, 401 | 403) => {
                // Revoked or unknown: the server answered; the queue waits for a new code.
                tracing::warn!(status, "the server refused this phone");
                return true;
            }
            Err(e) => {
                tracing::info!(error = %e, "no server");
                return false;
            }
        };
        lock(&self.live).online = true;
        self.notify();
        if me.revoked.is_some() {
            // Nothing to pull (the server gives a revoked phone nothing to read): upload, then erase.
            self.drain_then_erase(client).await;
            return true;
        }
        if let Err(e) = client.fetch_campaign(&self.store).await {
            tracing::warn!(error = %e, "campaign not fetched");
        }
        {
            let mut store = lock(&self.store);
            if let Ok(json) = serde_json::to_string(&me.areas)
                && let Err(e) = store.set_meta(META_WORK_AREAS, &json)
            {
                tracing::warn!(error = %e, "work areas not kept");
            }
        }
        for area in &me.areas {
            if let Err(e) = client.pull(&self.store, area).await {
                tracing::warn!(%area, error = %e, "pull failed");
            }
            if let Err(e) = client.fetch_venues(&self.store, area).await {
                tracing::warn!(%area, error = %e, "venues not fetched");
            }
        }
        self.notify();
        let deadline = tokio::time::Instant::now() + self.config.sync_deadline;
        let total = lock(&self.store).queue().map(|q| q.pending).unwrap_or(0);
        if total == 0 {
            let venues_sent = self.drain_venues(client).await;
            let photos_done = self.upload_photos(client, deadline).await;
            self.fetch_corrections(client).await;
            if venues_sent && photos_done {
                self.synced_now();
            }
            return true;
        }
        // Progress: what left the queue since the start, read while the drain runs.
        let watch = async {
            loop {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let pending = lock(&self.store).queue().map(|q| q.pending).unwrap_or(total);
                lock(&self.live).progress = Some(Progress { sent: total.saturating_sub(pending), total });
                self.notify();
            }
        };
        let report = tokio::select! {
            report = client.drain(&self.store, Some(deadline)) => report,
            () = watch => unreachable_watch(),
        };
        if let Some(e) = &report.last_error {
            tracing::info!(error = %e, complete = report.complete, "sync ended with an error");
        }
        let venues_sent = self.drain_venues(client).await;
        // Photos after the visits they belong to.
        let photos_done = report.complete && self.upload_photos(client, deadline).await;
        // After the drain, so a correction just sent is already closed in the answer.
        self.fetch_corrections(client).await;
        if report.complete && venues_sent && photos_done {
            self.synced_now();
        }
        report.complete || report.stats.batches > 0
    }

    /// A revoked phone: sends everything still pending (visits, venue visits, photos) as any sync
    /// would, then erases the phone's data only if nothing is left pending or refused
    /// (`DeviceStore::erase_if_drained`); a network that drops midway leaves everything in place
    /// for the next attempt. The settings (server, language) are kept: they hold nothing collected,
    /// and enrolling again needs the server's address.
    async fn drain_then_erase(&self, client: &SyncClient) {
        let deadline = tokio::time::Instant::now() + self.config.sync_deadline;
        let report = client.drain(&self.store, Some(deadline)).await;
        if let Some(e) = &report.last_error {
            tracing::info!(error = %e, complete = report.complete, "revoked: upload ended with an error");
        }
        self.notify();
        let venues_sent = self.drain_venues(client).await;
        let photos_done = report.complete && self.upload_photos(client, deadline).await;
        if !(report.complete && venues_sent && photos_done) {
            return;
        }
        let outcome = {
            let mut store = lock(&self.store);
            let settings = Settings::load(&store, &self.config);
            match store.erase_if_drained(Utc::now()) {
                Ok(WipeOutcome::Erased(marker)) => {
                    if let Err(e) = settings.save(&mut store) {
                        tracing::warn!(error = %e, "settings not kept after the erase");
                    }
                    Some(marker)
                }
                Ok(other) => {
                    tracing::info!(?other, "revoked: not erased yet");
                    None
                }
                Err(e) => {
                    tracing::error!(error = %e, "revoked: the erase failed; tried again at the next sync");
                    None
                }
            }
        };
        if outcome.is_some() {
            tracing::warn!("this phone's data was sent to the server, then erased");
        }
        self.notify();
    }

    /// Sends the venue visits waiting; answers whether none is left pending.
    async fn drain_venues(&self, client: &SyncClient) -> bool {
        let sent = match client.drain_venues(&self.store).await {
            Ok(stats) => {
                tracing::debug!(?stats, "venue visits sent");
                true
            }
            Err(e) => {
                tracing::info!(error = %e, "venue visits not sent");
                false
            }
        };
        self.notify();
        sent
    }

    /// Sends the queued photos; stops quietly on a network failure (the next sync resumes from
    /// the server's offset). Returns whether none is left waiting.
    async fn upload_photos(&self, client: &SyncClient, deadline: tokio::time::Instant) -> bool {
        let report = client.upload_photos(&self.store, Some(deadline)).await;
        if let Some(e) = &report.last_error {
            tracing::info!(error = %e, sent = report.sent, "photo upload ended with an error");
        }
        self.notify();
        report.complete
    }

    /// The visits the leader sent back, kept for the volunteer; a failure waits for the next sync.
    async fn fetch_corrections(&self, client: &SyncClient) {
        if let Err(e) = client.fetch_corrections(&self.store).await {
            tracing::warn!(error = %e, "corrections not fetched");
        }
        self.notify();
    }

    /// A sync went through: the server answered and nothing is left to send.
    fn synced_now(&self) {
        let now = Local::now().to_rfc3339();
        if let Err(e) = lock(&self.store).set_meta(doorstep_device::META_LAST_SYNC_OK, &now) {
            tracing::warn!(error = %e, "last sync time not kept");
        }
    }

    /// Syncs at start, then whenever woken, and periodically: every `sync_interval` while the
    /// server answers, every `retry_interval` while it does not. Runs until the app closes.
    pub async fn run_sync_loop(self: Arc<Self>) {
        loop {
            self.sync_once().await;
            let wait = if lock(&self.live).online { self.config.sync_interval } else { self.config.retry_interval };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.wake.notified() => {}
            }
        }
    }
}

/// The progress watcher loops forever; `select!` needs a value for its arm.
fn unreachable_watch() -> doorstep_device::DrainReport {
    doorstep_device::DrainReport { stats: Default::default(), complete: false, last_error: None }
}

#[cfg(test)]
mod tests;
