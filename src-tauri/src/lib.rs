//! The field app's shell: each command forwards to [`doorstep_field::FieldApp`], and each status
//! change goes to the web view as the `status` event. No decision is made here; see the
//! `doorstep-field` crate for what the app does.

use std::sync::Arc;

use base64::Engine as _;
use doorstep_device::{
    LocalPhoto, LocalVenue, LocalVisit, PhotoDraft, RejectedVenueVisit, VenueVisitDraft, VisitDraft,
};
use doorstep_domain::Campaign;
use doorstep_domain::photo::TargetKind;
use doorstep_domain::protocol::EnrolLink;
use doorstep_domain::protocol::{AreaDto, ErrorBody};
use doorstep_field::{
    CommandResult, Correction, FieldApp, FieldConfig, Fix, Household, LocationWarning, MyClaim, Rejected, Saved,
    Settings, Status,
};
use tauri::{Emitter, Manager, State};

type App<'a> = State<'a, Arc<FieldApp>>;

#[tauri::command]
fn get_status(app: App<'_>) -> CommandResult<Status> {
    app.status()
}

#[tauri::command]
async fn enrol(app: App<'_>, server: String, code: String, ca: Option<String>) -> CommandResult<Status> {
    app.enrol_trusting(&server, &code, ca.as_deref()).await
}

#[tauri::command]
fn get_campaign(app: App<'_>) -> Campaign {
    app.campaign()
}

#[tauri::command]
fn get_areas(app: App<'_>) -> CommandResult<Vec<AreaDto>> {
    app.areas()
}

#[tauri::command]
fn get_work_areas(app: App<'_>) -> CommandResult<Vec<String>> {
    app.work_areas()
}

#[tauri::command]
fn get_households(app: App<'_>, area: Option<String>) -> CommandResult<Vec<Household>> {
    app.households(area.as_deref())
}

#[tauri::command]
fn get_nearby(app: App<'_>, lat: f64, lon: f64, limit: Option<usize>) -> CommandResult<Vec<Household>> {
    app.nearby(lat, lon, limit.unwrap_or(10))
}

#[tauri::command]
fn get_revisits(app: App<'_>) -> CommandResult<Vec<Household>> {
    app.revisits()
}

#[tauri::command]
fn get_my_claims(app: App<'_>) -> CommandResult<Vec<MyClaim>> {
    app.my_claims()
}

#[tauri::command]
fn get_today(app: App<'_>) -> CommandResult<Vec<LocalVisit>> {
    app.today()
}

#[tauri::command]
fn get_rejected(app: App<'_>) -> CommandResult<Vec<Rejected>> {
    app.rejected()
}

#[tauri::command]
async fn locate<R: tauri::Runtime>(handle: tauri::AppHandle<R>, app: App<'_>) -> CommandResult<Fix> {
    let fix = app.locate();
    #[cfg(mobile)]
    if fix.source == "webview" {
        return Ok(mobile::locate(&handle));
    }
    let _ = handle;
    Ok(fix)
}

#[tauri::command]
fn check_location(
    app: App<'_>, lat: f64, lon: f64, accuracy_m: Option<f64>, area_code: Option<String>,
) -> CommandResult<Vec<LocationWarning>> {
    app.check_location(lat, lon, accuracy_m, area_code.as_deref())
}

#[tauri::command]
fn record_visit(app: App<'_>, draft: VisitDraft) -> CommandResult<Saved> {
    app.record_visit(&draft)
}

#[tauri::command]
fn fix_rejected(app: App<'_>, device_seq: i64, draft: VisitDraft) -> CommandResult<Saved> {
    app.fix_rejected(device_seq, &draft)
}

#[tauri::command]
fn get_corrections(app: App<'_>) -> CommandResult<Vec<Correction>> {
    app.corrections()
}

#[tauri::command]
fn correct_visit(app: App<'_>, correction_id: String, draft: VisitDraft) -> CommandResult<Saved> {
    app.correct_visit(&correction_id, &draft)
}

/// The picture arrives as base64 (Android's IPC carries JSON only; a number array would be
/// three times larger). Async, and the work on a blocking thread: a sync command runs on the
/// main thread, and resizing a camera's picture must not freeze the window.
#[tauri::command]
async fn attach_photo(app: App<'_>, draft: PhotoDraft, picture: String) -> CommandResult<LocalPhoto> {
    let app = Arc::clone(&app);
    let lang = app.settings().language;
    let refused = move || {
        ErrorBody::new(
            "photo_unreadable",
            Some("photo"),
            doorstep_domain::Messages {
                vi: "Không đọc được ảnh này; hãy chụp lại.".into(),
                en: "This picture cannot be read; take it again.".into(),
            },
            lang,
        )
    };
    tauri::async_runtime::spawn_blocking(move || {
        let bytes = base64::engine::general_purpose::STANDARD.decode(picture.trim()).map_err(|_| refused())?;
        app.attach_photo(&draft, &bytes)
    })
    .await
    .map_err(|_| refused())?
}

#[tauri::command]
fn get_photos(app: App<'_>, target_kind: TargetKind, target_id: String) -> CommandResult<Vec<LocalPhoto>> {
    app.photos(target_kind, &target_id)
}

#[tauri::command]
fn get_daily_report_photos(app: App<'_>, day: String) -> CommandResult<Vec<LocalPhoto>> {
    app.daily_report_photos(&day)
}

/// A photo's JPEG as base64, for an `<img src="data:...">`.
#[tauri::command]
fn get_photo_image(app: App<'_>, id: String) -> CommandResult<String> {
    Ok(base64::engine::general_purpose::STANDARD.encode(app.photo_image(&id)?))
}

#[tauri::command]
fn record_venue_visit(app: App<'_>, draft: VenueVisitDraft) -> CommandResult<Saved> {
    app.record_venue_visit(&draft)
}

#[tauri::command]
fn get_venues(app: App<'_>, area: Option<String>) -> CommandResult<Vec<LocalVenue>> {
    app.venues(area.as_deref())
}

#[tauri::command]
fn get_rejected_venue_visits(app: App<'_>) -> CommandResult<Vec<RejectedVenueVisit>> {
    app.rejected_venue_visits()
}

#[tauri::command]
fn sync_now(app: App<'_>) -> CommandResult<Status> {
    app.sync_now();
    app.status()
}

#[tauri::command]
fn get_settings(app: App<'_>) -> Settings {
    app.settings()
}

#[tauri::command]
fn set_settings(app: App<'_>, settings: Settings) -> CommandResult<Settings> {
    app.set_settings(settings)
}

/// The platform's location on phones (tauri-plugin-geolocation).
#[cfg(mobile)]
mod mobile {
    use doorstep_field::Fix;
    use tauri::plugin::PermissionState;
    use tauri_plugin_geolocation::{GeolocationExt, PermissionType, PositionOptions};

    pub fn locate<R: tauri::Runtime>(handle: &tauri::AppHandle<R>) -> Fix {
        // The first fix asks the volunteer for the permission; a refusal means no fix, and the
        // form offers a pin on the map instead.
        let geo = handle.geolocation();
        let granted = match geo.check_permissions() {
            Ok(status) if status.location == PermissionState::Granted => true,
            _ => geo
                .request_permissions(Some(vec![PermissionType::Location]))
                .is_ok_and(|status| status.location == PermissionState::Granted),
        };
        if !granted {
            tracing::info!("location permission not granted");
            return Fix::none();
        }
        let options = PositionOptions { enable_high_accuracy: true, timeout: 10_000, maximum_age: 0 };
        match geo.get_current_position(Some(options)) {
            Ok(position) => Fix {
                source: "gps".into(),
                lat: Some(position.coords.latitude),
                lon: Some(position.coords.longitude),
                accuracy_m: Some(position.coords.accuracy),
            },
            Err(e) => {
                tracing::warn!(error = %e, "no location fix");
                Fix::none()
            }
        }
    }
}

/// An enrolment link the system handed to the app (it was started with one, or one was opened
/// while it ran), kept until the web view takes it: it may not be listening yet.
#[derive(Default)]
pub struct EnrolLinks(std::sync::Mutex<Option<EnrolLink>>);

impl EnrolLinks {
    /// Keeps the link when it is one (`doorstep://enrol?server=…&code=…`); anything else is
    /// ignored with a log line. True when kept.
    pub fn offer(&self, url: &str) -> bool {
        match EnrolLink::parse(url) {
            Some(link) => {
                if let Ok(mut pending) = self.0.lock() {
                    *pending = Some(link);
                }
                true
            }
            None => {
                tracing::info!("a link that is not an enrolment link was ignored");
                false
            }
        }
    }
}

/// The enrolment link waiting for the web view, once.
#[tauri::command]
fn take_enrol_link(links: State<'_, EnrolLinks>) -> Option<EnrolLink> {
    links.0.lock().ok()?.take()
}

/// Registers the commands on a builder: the app and the command tests build the same way.
pub fn with_commands<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        get_status,
        enrol,
        get_campaign,
        get_areas,
        get_work_areas,
        get_households,
        get_nearby,
        get_revisits,
        get_my_claims,
        get_today,
        get_rejected,
        locate,
        check_location,
        record_visit,
        fix_rejected,
        get_corrections,
        correct_visit,
        record_venue_visit,
        get_venues,
        get_rejected_venue_visits,
        attach_photo,
        get_photos,
        get_daily_report_photos,
        get_photo_image,
        sync_now,
        get_settings,
        set_settings,
        take_enrol_link
    ])
}

/// Where the phone's database lives: `DOORSTEP_DATA_DIR` when set (tests, several volunteers on
/// one computer), else the platform's app data folder.
fn data_dir(app: &tauri::App) -> Result<std::path::PathBuf, Box<dyn std::error::Error>> {
    if let Some(dir) = std::env::var_os("DOORSTEP_DATA_DIR") {
        return Ok(dir.into());
    }
    Ok(app.path().app_data_dir()?)
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    // Enrolment links (`doorstep://enrol?…`) from the leader's cards, opened by the system.
    let builder = tauri::Builder::default().plugin(tauri_plugin_deep_link::init()).manage(EnrolLinks::default());
    #[cfg(mobile)]
    let builder = builder.plugin(tauri_plugin_geolocation::init());
    let result = with_commands(builder)
        .setup(|app| {
            // The database is encrypted; its key is in the desktop keyring where one answers,
            // else in a file beside it, readable by this user only (the app's private folder on
            // a phone). A phone's key store (Android Keystore, iOS Keychain) would be given here
            // with `FieldApp::open_with_keys`.
            let dir = data_dir(app)?;
            let field = FieldApp::open(&dir, FieldConfig::from_env())?;
            // The base map the phone downloads lives there; the web view reads it by range.
            app.asset_protocol_scope().allow_directory(dir.join(doorstep_field::basemap::DIR), false)?;
            let handle = app.handle().clone();
            field.on_status(move |status| {
                if let Err(e) = handle.emit("status", status) {
                    tracing::warn!(error = %e, "status not delivered to the window");
                }
            });
            tauri::async_runtime::spawn(field.clone().run_sync_loop());
            app.manage(field);
            // Started with a link (Linux and Windows: the only argument), or given one later.
            use tauri_plugin_deep_link::DeepLinkExt as _;
            let accept = {
                let handle = app.handle().clone();
                move |urls: Vec<String>| {
                    let links = handle.state::<EnrolLinks>();
                    if urls.iter().any(|u| links.offer(u))
                        && let Err(e) = handle.emit("enrol-link", ())
                    {
                        tracing::warn!(error = %e, "enrolment link not announced to the window");
                    }
                }
            };
            if let Ok(Some(urls)) = app.deep_link().get_current() {
                accept(urls.iter().map(|u| u.to_string()).collect());
            }
            app.deep_link().on_open_url(move |event| accept(event.urls().iter().map(|u| u.to_string()).collect()));
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!(error = %e, "the app stopped");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests;
