//! Remote wipe on revocation (issue 9, parts 4 and 5), through the field app against the real
//! server, on both databases: a phone records offline (visits, a venue visit, a photo), is
//! revoked, and when it next reaches the server it uploads everything it holds (each record
//! stored exactly once, flagged for the leader), then erases its data and says why. A phone
//! whose network drops mid-upload erases nothing. A revoked phone can read nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use doorstep_device::{PhotoDraft, VenueVisitDraft, VisitDraft};
use doorstep_domain::photo::TargetKind;
use doorstep_domain::visit::LocationInput;
use doorstep_field::{FieldApp, FieldConfig, Fix};
use doorstep_tests::{TestServer, VOLUNTEER};
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn location() -> LocationInput {
    LocationInput { source: "gps".into(), lat: Some(18.3428), lon: Some(105.9057), accuracy_m: Some(6.0) }
}

fn draft(n: usize) -> VisitDraft {
    VisitDraft {
        household_id: None,
        address: Some(format!("Số {n} Hà Huy Tập, nhà bà Nguyễn Thị Kín")),
        area_code: "18073".into(),
        outcome: "installed_now".into(),
        reason: None,
        people: 2,
        smartphones: 1,
        already_installed: 0,
        installed_now: 1,
        leaflet_given: true,
        location: location(),
        notes: None,
    }
}

fn school() -> VenueVisitDraft {
    VenueVisitDraft {
        venue_id: None,
        kind: "school".into(),
        name: "Trường THCS Lê Văn Thiêm".into(),
        address: None,
        area_code: "18073".into(),
        people_reached: 40,
        smartphones: 30,
        already_installed: 10,
        installed_now: 5,
        notices_posted: 2,
        visitor_log: None,
        location: location(),
        notes: None,
    }
}

/// Noise does not compress: its JPEG is hundreds of kilobytes, several chunks.
fn noise_png(seed: u64) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let img = image::RgbImage::from_fn(1200, 900, |_, _| image::Rgb([rng.random(), rng.random(), rng.random()]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A TCP relay whose plug the test pulls: once more than `cut_after` bytes have gone towards the
/// server, every connection is closed mid-stream and new ones are dropped, until restored.
struct Plug {
    addr: SocketAddr,
    up_bytes: Arc<AtomicU64>,
    cut_after: Arc<AtomicU64>,
    cut: Arc<AtomicBool>,
}

impl Plug {
    async fn start(upstream: SocketAddr) -> Plug {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let plug = Plug {
            addr: listener.local_addr().unwrap(),
            up_bytes: Arc::new(AtomicU64::new(0)),
            cut_after: Arc::new(AtomicU64::new(u64::MAX)),
            cut: Arc::new(AtomicBool::new(false)),
        };
        let (up_bytes, cut_after, cut) = (plug.up_bytes.clone(), plug.cut_after.clone(), plug.cut.clone());
        tokio::spawn(async move {
            while let Ok((phone, _)) = listener.accept().await {
                if cut.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (up_bytes, cut_after, cut) = (up_bytes.clone(), cut_after.clone(), cut.clone());
                tokio::spawn(async move {
                    let (mut pr, mut pw) = phone.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let cut_up = cut.clone();
                    let up = async move {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match pr.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            let total = up_bytes.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                            if total > cut_after.load(Ordering::SeqCst) {
                                cut_up.store(true, Ordering::SeqCst);
                            }
                            if cut_up.load(Ordering::SeqCst) || sw.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    let down = async move {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match sr.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if cut.load(Ordering::SeqCst) || pw.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    // Either way closing ends both: the connection is gone.
                    tokio::select! { () = up => {}, () = down => {} }
                });
            }
        });
        plug
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Pull the plug once `more` further bytes have gone towards the server.
    fn cut_after(&self, more: u64) {
        self.cut_after.store(self.up_bytes.load(Ordering::SeqCst) + more, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.cut_after.store(u64::MAX, Ordering::SeqCst);
        self.cut.store(false, Ordering::SeqCst);
    }

    fn was_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

fn upstream(server: &TestServer) -> SocketAddr {
    server.url.trim_start_matches("http://").parse().unwrap()
}

/// One sync of the app, as its loop runs it, bounded: each took under a second here (the whole
/// test 5 s on the project's 2-core VM); the app's own limits (a 20 s drain deadline, 20 s per
/// request) would let a hang hold the test for minutes.
async fn sync(app: &FieldApp) {
    tokio::time::timeout(Duration::from_secs(30), app.sync_once()).await.expect("a sync ended within 30 s");
}

fn field_app(dir: &tempfile::TempDir, server: &str) -> Arc<FieldApp> {
    FieldApp::open(
        dir.path(),
        FieldConfig {
            default_server: server.into(),
            fixed_location: Fix::parse_fixed("18.3428,105.9057,6"),
            sync_deadline: Duration::from_secs(20),
            ..FieldConfig::default()
        },
    )
    .unwrap()
}

/// Whether `needle` is in any file of `dir` (the database, its WAL, the marker).
fn on_disk(dir: &std::path::Path, needle: &str) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let bytes = std::fs::read(e.unwrap().path()).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_phone_uploads_everything_it_holds_then_erases_itself_and_says_why() {
    let server = TestServer::spawn();
    let plug = Plug::start(upstream(&server)).await;
    let dir = tempfile::tempdir().unwrap();
    let app = field_app(&dir, &plug.url());
    let code = server.enrolment_code(VOLUNTEER).await;
    app.enrol(&plug.url(), &code).await.unwrap();
    sync(&app).await;
    assert!(app.status().unwrap().online);

    // Sent before the revocation: stays on the server, unflagged.
    app.record_visit(&draft(1)).unwrap();
    sync(&app).await;
    assert_eq!(server.visit_count(), 1);

    // Offline in the field: three visits, a venue visit and a photo wait.
    plug.cut_after(0);
    let mut held = vec![app.record_visit(&draft(2)).unwrap().id];
    held.push(app.record_visit(&draft(3)).unwrap().id);
    held.push(app.record_visit(&draft(4)).unwrap().id);
    app.record_venue_visit(&school()).unwrap();
    let photo = app
        .attach_photo(
            &PhotoDraft {
                target_kind: TargetKind::Visit,
                target_id: held[0].clone(),
                area_code: None,
                caption: Some("Tờ rơi dán ở cửa".into()),
            },
            &noise_png(7),
        )
        .unwrap();
    sync(&app).await;
    let status = app.status().unwrap();
    assert!(!status.online && status.queue.pending == 3, "{status:?}");

    // The leader revokes the lost phone, saying why (a reason of two lines is refused first).
    let device_id = status.device_id.clone();
    let token = app.store().lock().unwrap().device_token().unwrap().unwrap().expose().to_string();
    let admin = server.admin_token().await;
    let revoke = format!("/api/v1/devices/{device_id}/revoke");
    let (status, body) = server.post_as(&revoke, &admin, &json!({"reason": "Mất máy\nở chợ"})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("reason")), "{body}");
    let (status, _) = server.post_as(&revoke, &admin, &json!({"reason": " Mất máy ở chợ Hà Tĩnh "})).await;
    assert_eq!(status, 204);
    // A body of JSON `null` is the optional body left out (schemathesis sends it): not a 400.
    let unknown = format!("/api/v1/devices/{}/revoke", uuid::Uuid::now_v7());
    let (status, body) = server.post_as(&unknown, &admin, &serde_json::Value::Null).await;
    assert_eq!(status, 404, "{body}");
    // A revoked token reads nothing: no pull, no venues, no corrections; whoami says "revoked".
    for path in ["/api/v1/sync/pull?area=42", "/api/v1/sync/venues?area=42", "/api/v1/sync/corrections"] {
        let (status, body) = server.get_as(path, Some(&token)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("device_revoked")), "{path}: {body}");
    }
    let (status, me) = server.get_as("/api/v1/devices/me", Some(&token)).await;
    assert_eq!(status, 200, "{me}");
    assert!(me["revoked"]["revoked_at"].is_string() && me["areas"] == json!([]), "{me}");

    // The network comes back, then drops in the middle of the photo's bytes (the visits and the
    // venue visit went first, a few kilobytes): nothing is erased.
    plug.restore();
    plug.cut_after(60 * 1024);
    sync(&app).await;
    assert!(plug.was_cut(), "the upload was cut");
    let status = app.status().unwrap();
    assert!(status.enrolled, "{status:?}");
    assert!(status.wiped.is_none(), "{status:?}");
    let revoked = status.revoked.clone().expect("the phone knows it was revoked");
    assert_eq!(revoked.pending, 1, "the photo still waits: {status:?}");
    assert_eq!(status.photos.pending, 1);
    assert_eq!(app.today().unwrap().len(), 4, "nothing erased");
    assert_eq!(server.visit_count(), 4, "the visits went first");
    // It records nothing more.
    let e = app.record_visit(&draft(9)).unwrap_err();
    assert_eq!(e.code, "device_revoked");
    assert!(e.messages.vi.contains("thu hồi") && e.messages.en.contains("revoked"));

    // Back for good: the photo goes, then the phone erases itself.
    plug.restore();
    sync(&app).await;
    let status = app.status().unwrap();
    assert!(!status.enrolled, "{status:?}");
    assert!(status.revoked.is_none());
    let wiped = status.wiped.clone().expect("the phone says why it is empty");
    assert_eq!(wiped.revoked_at, me["revoked"]["revoked_at"].as_str().unwrap());
    assert_eq!(wiped.reason.as_deref(), Some("Mất máy ở chợ Hà Tĩnh"));
    assert_eq!(me["revoked"]["reason"], "Mất máy ở chợ Hà Tĩnh");
    assert_eq!(wiped.records_sent, 4 + 1 + 1, "four visits, a venue visit, a photo");
    assert_eq!((status.queue.pending, status.queue.sent, status.queue.rejected), (0, 0, 0));
    assert_eq!(status.photos, Default::default());
    assert!(app.today().unwrap().is_empty());
    assert!(app.households(None).unwrap().is_empty());
    assert!(app.store().lock().unwrap().recorded_ids().unwrap().is_empty());
    assert_ne!(status.device_id, device_id, "a fresh identity for a new enrolment");
    assert_eq!(status.server, plug.url(), "the settings are kept");
    assert!(!on_disk(dir.path(), "Nguyễn Thị Kín"), "no household's text left on the disk");
    assert!(!on_disk(dir.path(), &token), "no token left on the disk");

    // Every record it held is on the server exactly once, flagged for the leader.
    let mut stored: Vec<String> = server.visit_ids().into_iter().map(|(id, _)| id).collect();
    assert_eq!(stored.len(), 4);
    stored.sort();
    stored.dedup();
    assert_eq!(stored.len(), 4, "each once");
    for id in &held {
        assert!(stored.contains(id), "{id} on the server");
    }
    assert_eq!(
        server.db.i64("SELECT count(*) FROM visit_flags WHERE flags LIKE '%revoked_device%'"),
        3,
        "the three sent after the revocation"
    );
    assert_eq!(server.db.i64("SELECT count(*) FROM venue_visits"), 1);
    assert_eq!(server.db.i64("SELECT count(*) FROM photo_links"), 1);
    let complete = server.db.text(&format!("SELECT complete FROM photo_blobs WHERE sha256 = '{}'", photo.sha256));
    assert!(
        matches!(complete.as_deref(), Some("1" | "t" | "true")),
        "the photo's bytes are whole on the server: {complete:?}"
    );

    // Another sync does nothing (not enrolled); the marker stays until a new enrolment.
    sync(&app).await;
    assert!(app.status().unwrap().wiped.is_some());
    let code = server.enrolment_code(VOLUNTEER).await;
    app.enrol(&plug.url(), &code).await.unwrap();
    let status = app.status().unwrap();
    assert!(status.enrolled && status.wiped.is_none() && status.revoked.is_none(), "{status:?}");
    app.record_visit(&draft(10)).unwrap();
    sync(&app).await;
    assert_eq!(server.visit_count(), 5);
    assert_eq!(
        server.db.i64("SELECT count(*) FROM visit_flags WHERE flags LIKE '%revoked_device%'"),
        3,
        "the new enrolment's visits are not flagged"
    );
}

/// A refused record is never lost (invariant 5): the revoked phone keeps it, shows it, and waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_phone_with_a_refused_record_keeps_it_and_waits() {
    let server = TestServer::spawn();
    let dir = tempfile::tempdir().unwrap();
    let app = field_app(&dir, &server.url);
    let code = server.enrolment_code(VOLUNTEER).await;
    app.enrol(&server.url, &code).await.unwrap();
    sync(&app).await;
    let device_id = app.status().unwrap().device_id;
    let admin = server.admin_token().await;
    assert_eq!(server.post_as(&format!("/api/v1/devices/{device_id}/revoke"), &admin, &json!({})).await.0, 204);
    // A day photo of an area the server does not know: refused (422), kept with its reason.
    app.attach_photo(
        &PhotoDraft {
            target_kind: TargetKind::Day,
            target_id: chrono::Utc::now().format("%Y-%m-%d").to_string(),
            area_code: Some("99999".into()),
            caption: None,
        },
        &noise_png(3),
    )
    .unwrap();
    sync(&app).await;
    let status = app.status().unwrap();
    assert_eq!(status.photos.rejected, 1, "{status:?}");
    let revoked = status.revoked.clone().expect("revoked");
    assert_eq!((revoked.pending, revoked.refused), (0, 1), "{status:?}");
    assert!(status.enrolled && status.wiped.is_none(), "kept, not erased: {status:?}");
    // Still so at the next sync.
    sync(&app).await;
    assert!(app.status().unwrap().wiped.is_none());
}
