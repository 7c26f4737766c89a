//! Photos end to end, on both databases: a phone's photo made small and uploaded in chunks that
//! resume from the server's offset; wrong offsets, wrong bytes and too large photos refused;
//! the same picture from two phones stored once, each phone sending it; knowing a picture's hash
//! granting neither its bytes nor an answer that tells it is known; staff reading in scope only;
//! the daily report's photo sheet read back with calamine; and the field app attaching a photo
//! offline.

use std::sync::Arc;

use chrono::{FixedOffset, Utc};
use doorstep_device::{LocalPhoto, PhotoDraft, UPLOAD_OFFSET};
use doorstep_domain::photo::{CHUNK_BYTES, TargetKind};
use doorstep_field::{FieldApp, FieldConfig, Fix};
use doorstep_tests::{TestDevice, TestServer, VOLUNTEER, create_account};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

const PASSWORD: &str = "mật khẩu thử ảnh hoạt động";

fn now() -> chrono::DateTime<FixedOffset> {
    Utc::now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap())
}

fn today() -> String {
    now().date_naive().format("%Y-%m-%d").to_string()
}

/// A camera-like JPEG of noise: noise compresses badly, so the stored photo spans several chunks.
fn noise_jpeg(seed: u64, w: u32, h: u32) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let img = image::RgbImage::from_fn(w, h, |_, _| image::Rgb([rng.random(), rng.random(), rng.random()]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn day_draft(area: &str, caption: &str) -> PhotoDraft {
    PhotoDraft {
        target_kind: TargetKind::Day,
        target_id: today(),
        area_code: Some(area.into()),
        caption: Some(caption.into()),
    }
}

fn attach(device: &TestDevice, draft: &PhotoDraft, picture: &[u8]) -> LocalPhoto {
    device.store.lock().unwrap().attach_photo(draft, picture, now()).unwrap()
}

fn token_of(device: &TestDevice) -> String {
    device.store.lock().unwrap().device_token().unwrap().unwrap().expose().to_string()
}

fn bytes_of(device: &TestDevice, photo: &LocalPhoto) -> Vec<u8> {
    device.store.lock().unwrap().photo_bytes(&photo.id).unwrap().unwrap()
}

fn meta_json(device: &TestDevice, photo: &LocalPhoto) -> Value {
    let meta = device.store.lock().unwrap().photo_meta(&photo.id).unwrap().unwrap();
    serde_json::to_value(meta).unwrap()
}

async fn register(server: &TestServer, token: &str, meta: &Value) -> (u16, Value) {
    server.post_as("/api/v1/photos", token, meta).await
}

/// PATCH a chunk; answers the status, the `Upload-Offset` header and the JSON body.
async fn patch(server: &TestServer, token: &str, sha: &str, offset: u64, chunk: &[u8]) -> (u16, Option<u64>, Value) {
    let resp = reqwest::Client::new()
        .patch(format!("{}/api/v1/photos/{sha}", server.url))
        .bearer_auth(token)
        .header(UPLOAD_OFFSET, offset.to_string())
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let header = resp.headers().get(UPLOAD_OFFSET).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let body = resp.bytes().await.unwrap();
    (status, header, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn get_bytes(server: &TestServer, path: &str, token: &str) -> (u16, Vec<u8>) {
    let resp = reqwest::Client::new().get(format!("{}{path}", server.url)).bearer_auth(token).send().await.unwrap();
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

async fn enrolled_device(server: &TestServer, seed: u64) -> TestDevice {
    let device = TestDevice::new(seed);
    server.enrol(&device).await;
    device
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_upload_resumes_from_the_servers_offset() {
    let server = TestServer::spawn();
    let device = enrolled_device(&server, 1).await;
    let photo = attach(&device, &day_draft("18073", "Tuyên truyền tại chợ"), &noise_jpeg(1, 1000, 800));
    let bytes = bytes_of(&device, &photo);
    assert!(bytes.len() > 2 * CHUNK_BYTES, "several chunks: {} bytes", bytes.len());
    let token = token_of(&device);

    // The first attempt registers and sends one chunk, then the network goes.
    let (status, body) = register(&server, &token, &meta_json(&device, &photo)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"received": 0, "complete": false}));
    let (status, _, body) = patch(&server, &token, &photo.sha256, 0, &bytes[..CHUNK_BYTES]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["received"], CHUNK_BYTES as u64);
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_blobs WHERE complete"), 0);

    // The next sync resumes where the server is: only the rest is sent.
    let report = device.client(&server.url, 100).upload_photos(&device.store, None).await;
    assert!(report.complete, "{report:?}");
    assert_eq!((report.sent, report.deduplicated), (1, 0));
    assert_eq!(report.bytes_sent, (bytes.len() - CHUNK_BYTES) as u64);
    let queue = device.store.lock().unwrap().photo_queue().unwrap();
    assert_eq!((queue.pending, queue.sent), (0, 1));

    // The server holds exactly the phone's bytes, and shows them to staff in scope.
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_blobs WHERE complete"), 1);
    let admin = server.admin_token().await;
    let (status, image) = get_bytes(&server, &format!("/api/v1/photos/{}/image", photo.sha256), &admin).await;
    assert_eq!(status, 200);
    assert_eq!(image, bytes);
    let (status, list) = server.get_as(&format!("/api/v1/photos?area=436&day={}", today()), Some(&admin)).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], photo.id.as_str());
    assert_eq!(list[0]["caption"], "Tuyên truyền tại chợ");
    assert_eq!(list[0]["complete"], true);
    assert_eq!(list[0]["target_kind"], "day");

    // Sending again changes nothing.
    let report = device.client(&server.url, 100).upload_photos(&device.store, None).await;
    assert_eq!(report.sent, 0);
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_links"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_offsets_wrong_bytes_and_oversize_are_refused() {
    let server = TestServer::spawn();
    let device = enrolled_device(&server, 2).await;
    let photo = attach(&device, &day_draft("18073", "Họp tổ"), &noise_jpeg(2, 700, 500));
    let bytes = bytes_of(&device, &photo);
    let token = token_of(&device);
    let (status, _) = register(&server, &token, &meta_json(&device, &photo)).await;
    assert_eq!(status, 200);

    // A chunk not at the server's offset: 409 with the offset, in the header and the body.
    let (status, header, body) = patch(&server, &token, &photo.sha256, 100, &bytes[100..200]).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!((header, body["received"].as_u64()), (Some(0), Some(0)));
    assert_eq!(body["error"]["code"], "wrong_offset");
    let (status, _, _) = patch(&server, &token, &photo.sha256, 0, &bytes[..1000]).await;
    assert_eq!(status, 200);
    let (status, header, _) = patch(&server, &token, &photo.sha256, 0, &bytes[..1000]).await;
    assert_eq!((status, header), (409, Some(1000)));

    // More bytes than registered: 413.
    let mut long = bytes[1000..].to_vec();
    long.extend_from_slice(b"extra");
    let (status, _, body) = patch(&server, &token, &photo.sha256, 1000, &long).await;
    assert_eq!(status, 413, "{body}");

    // Bytes that do not hash to the name: 422, and nothing is kept.
    let mut wrong = bytes[1000..].to_vec();
    wrong[10] ^= 0xFF;
    let (status, _, body) = patch(&server, &token, &photo.sha256, 1000, &wrong).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "sha256_mismatch");
    assert!(!body["error"]["messages"]["vi"].as_str().unwrap().is_empty());
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_blobs WHERE complete OR received > 0"), 0);
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_uploads WHERE complete OR received > 0"), 0);
    let admin = server.admin_token().await;
    let (status, _) = get_bytes(&server, &format!("/api/v1/photos/{}/image", photo.sha256), &admin).await;
    assert_eq!(status, 404);

    // A chunk of a picture this phone never registered, and a bad name.
    let (status, _, _) = patch(&server, &token, &"0".repeat(64), 0, b"abc").await;
    assert_eq!(status, 404);
    let (status, _, _) = patch(&server, &token, "not-a-hash", 0, b"abc").await;
    assert_eq!(status, 400);

    // A registration over the size limit: 413.
    let mut meta = meta_json(&device, &photo);
    meta["size"] = json!(6 * 1024 * 1024);
    meta["id"] = json!(uuid::Uuid::now_v7().to_string());
    let (status, _) = register(&server, &token, &meta).await;
    assert_eq!(status, 413);

    // The phone still sends it whole afterwards (its copy is sound).
    let report = device.client(&server.url, 100).upload_photos(&device.store, None).await;
    assert!(report.complete && report.sent == 1, "{report:?}");
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_blobs WHERE complete"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_idempotent_and_an_id_is_never_reused() {
    let server = TestServer::spawn();
    let device = enrolled_device(&server, 3).await;
    let photo = attach(&device, &day_draft("18073", "Phát tờ rơi"), &noise_jpeg(3, 300, 200));
    let token = token_of(&device);
    let meta = meta_json(&device, &photo);
    for _ in 0..3 {
        let (status, body) = register(&server, &token, &meta).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_links"), 1);
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_blobs"), 1);
    // The same record in NFD is the same record.
    let mut nfd = meta.clone();
    nfd["caption"] = json!("Pha\u{301}t tờ rơi");
    let (status, _) = register(&server, &token, &nfd).await;
    assert_eq!(status, 200);
    // The same id with other content: refused, and nothing changes.
    let mut other = meta.clone();
    other["caption"] = json!("Một chú thích khác");
    let (status, body) = register(&server, &token, &other).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "id_reused");
    let caption = server.db.text("SELECT caption FROM photo_links");
    assert_eq!(caption.as_deref(), Some("Phát tờ rơi"));
    // Bad metadata names its field.
    let mut bad = meta.clone();
    bad["target_id"] = json!("04/08/2020");
    bad["id"] = json!(uuid::Uuid::now_v7().to_string());
    let (status, body) = register(&server, &token, &bad).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("target_id")));
    // A caption that would show as something else (a right-to-left override) names its field.
    let mut hidden = meta.clone();
    hidden["caption"] = json!("Phát tờ rơi \u{202E}gpj.exe");
    hidden["id"] = json!(uuid::Uuid::now_v7().to_string());
    let (status, body) = register(&server, &token, &hidden).await;
    assert_eq!(
        (status, body["error"]["field"].as_str(), body["error"]["code"].as_str()),
        (422, Some("caption"), Some("hidden_characters"))
    );

    // The OpenAPI document names the four, with the bearer token.
    let (_, spec) = server.get_as("/api/openapi.json", None).await;
    let paths = &spec["paths"];
    assert!(paths["/api/v1/photos"]["post"]["security"].is_array());
    assert!(paths["/api/v1/photos"]["get"]["security"].is_array());
    assert!(paths["/api/v1/photos/{sha256}"]["patch"]["security"].is_array());
    assert!(paths["/api/v1/photos/{sha256}/image"]["get"]["security"].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_picture_from_two_phones_is_stored_once_and_each_phone_sends_it() {
    let server = TestServer::spawn();
    let a = enrolled_device(&server, 4).await;
    let b = enrolled_device(&server, 5).await;
    let picture = noise_jpeg(4, 900, 700);
    let pa = attach(&a, &day_draft("18073", "Ảnh chung của tổ"), &picture);
    let pb = attach(&b, &day_draft("18077", "Ảnh chung của tổ"), &picture);
    assert_eq!(pa.sha256, pb.sha256, "the same picture makes the same bytes");
    assert_ne!(pa.id, pb.id);

    let ra = a.client(&server.url, 100).upload_photos(&a.store, None).await;
    assert_eq!((ra.sent, ra.deduplicated, ra.bytes_sent), (1, 0, pa.size), "{ra:?}");
    // The second phone is told nothing of the first's bytes: it sends its own, and only then is
    // its record linked to the picture.
    let token_b = token_of(&b);
    let (status, body) = register(&server, &token_b, &meta_json(&b, &pb)).await;
    assert_eq!((status, body), (200, json!({"received": 0, "complete": false})));
    let admin = server.admin_token().await;
    let (_, one) =
        server.get_as(&format!("/api/v1/photos?area=18077&target_kind=day&target_id={}", today()), Some(&admin)).await;
    assert_eq!(one[0]["complete"], false, "not linked before its bytes: {one}");
    let rb = b.client(&server.url, 100).upload_photos(&b.store, None).await;
    assert_eq!((rb.sent, rb.deduplicated, rb.bytes_sent), (1, 0, pb.size), "{rb:?}");
    assert_eq!(b.store.lock().unwrap().photo_queue().unwrap().sent, 1);

    // One copy of the bytes; each phone's upload complete; both records listed complete.
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_blobs"), 1);
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_links"), 2);
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_uploads WHERE complete"), 2);
    assert_eq!(
        server.db.i64("SELECT COALESCE(SUM(length(bytes)), 0) FROM photo_uploads"),
        0,
        "an upload keeps no copy once the blob has the bytes"
    );
    let (_, list) = server.get_as(&format!("/api/v1/photos?area=436&day={}", today()), Some(&admin)).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|p| p["sha256"] == pa.sha256.as_str() && p["complete"] == true));
    let (_, one) =
        server.get_as(&format!("/api/v1/photos?area=18077&target_kind=day&target_id={}", today()), Some(&admin)).await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["id"], pb.id.as_str());
    assert_eq!(one[0]["complete"], true);

    // A second record of the same picture on one phone sends nothing again: that phone has.
    let again = attach(&b, &day_draft("18077", "Ảnh chung, lần hai"), &picture);
    assert_eq!(again.sha256, pb.sha256);
    let rb = b.client(&server.url, 100).upload_photos(&b.store, None).await;
    assert_eq!((rb.sent, rb.deduplicated, rb.bytes_sent), (1, 1, 0), "{rb:?}");
}

/// Issue 17, item 7: a phone of another district that learns a photo's SHA-256 and size once
/// registered them and heard `complete: true`, and its leader downloaded the picture; the answers
/// told a known hash from an unknown one. Now a registration answers the phone's own progress
/// (the same for a known and an unknown hash), wrong bytes are refused and change nothing, and
/// only a phone that sends the bytes is linked to the picture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knowing_a_photos_hash_grants_neither_its_bytes_nor_a_telling_answer() {
    let mut server = TestServer::prepare_stopped();
    create_account(&server.db.url, "l.436", "leader", "436", PASSWORD);
    create_account(&server.db.url, "l.437", "leader", "437", PASSWORD);
    create_account(&server.db.url, "v.436", "volunteer", "436", PASSWORD);
    create_account(&server.db.url, "v.437", "volunteer", "437", PASSWORD);
    server.start_again();
    let today = today();

    // The owner's phone (district 436) sends a picture.
    let owner = TestDevice::new(21);
    server.enrol_for(&owner, "v.436").await;
    let picture = noise_jpeg(21, 700, 500);
    let photo = attach(&owner, &day_draft("18073", "Ảnh của xã Nam Hà"), &picture);
    // What the phone sends (once sent, it keeps a thumbnail only).
    let original = bytes_of(&owner, &photo);
    let report = owner.client(&server.url, 100).upload_photos(&owner.store, None).await;
    assert_eq!((report.sent, report.deduplicated), (1, 0), "{report:?}");
    let image = format!("/api/v1/photos/{}/image", photo.sha256);

    // A phone of district 437 registers the picture's hash and size in its own area, and a made-up
    // hash beside it: the same answer, status and body.
    let attacker = TestDevice::new(22);
    server.enrol_for(&attacker, "v.437").await;
    let token = token_of(&attacker);
    let mut known = meta_json(&owner, &photo);
    known["id"] = json!(uuid::Uuid::now_v7().to_string());
    known["area_code"] = json!("18115");
    known["caption"] = json!("Không phải ảnh của tôi");
    let mut unknown = known.clone();
    unknown["id"] = json!(uuid::Uuid::now_v7().to_string());
    let unknown_sha = "0123456789abcdef".repeat(4);
    unknown["sha256"] = json!(unknown_sha);
    let answer_known = register(&server, &token, &known).await;
    let answer_unknown = register(&server, &token, &unknown).await;
    assert_eq!(answer_known, (200, json!({"received": 0, "complete": false})));
    assert_eq!(answer_known, answer_unknown, "a known hash answers as an unknown one");
    // Another size for the known hash once answered 409 `size_mismatch`: no longer.
    for (meta, sha) in [(&known, photo.sha256.as_str()), (&unknown, unknown_sha.as_str())] {
        let mut other_size = meta.clone();
        other_size["id"] = json!(uuid::Uuid::now_v7().to_string());
        other_size["size"] = json!(photo.size + 1);
        other_size["sha256"] = json!(sha);
        // This phone already registered this hash with the real size: its own record differs.
        let (status, body) = register(&server, &token, &other_size).await;
        assert_eq!((status, &body["error"]["code"]), (409, &json!("size_mismatch")), "{body}");
    }
    let fresh = TestDevice::new(23);
    server.enrol_for(&fresh, "v.437").await;
    let fresh_token = token_of(&fresh);
    let mut other_size = known.clone();
    other_size["id"] = json!(uuid::Uuid::now_v7().to_string());
    other_size["size"] = json!(photo.size + 1);
    let mut other_size_unknown = other_size.clone();
    other_size_unknown["id"] = json!(uuid::Uuid::now_v7().to_string());
    other_size_unknown["sha256"] = json!("fedcba9876543210".repeat(4));
    let a = register(&server, &fresh_token, &other_size).await;
    let b = register(&server, &fresh_token, &other_size_unknown).await;
    assert_eq!(a, (200, json!({"received": 0, "complete": false})));
    assert_eq!(a, b, "another size for a known hash answers as for an unknown one");

    // Its leader sees its record, not complete, and cannot download the picture.
    let leader_437 = server.login("l.437", PASSWORD).await;
    let (status, list) = server.get_as(&format!("/api/v1/photos?area=437&day={today}"), Some(&leader_437)).await;
    assert_eq!(status, 200, "{list}");
    let listed: Vec<&Value> =
        list.as_array().unwrap().iter().filter(|p| p["sha256"] == photo.sha256.as_str()).collect();
    assert_eq!(listed.len(), 2, "{list}");
    assert!(listed.iter().all(|p| p["complete"] == false), "{list}");
    assert_eq!(get_bytes(&server, &image, &leader_437).await.0, 404);
    assert_eq!(
        get_bytes(&server, &image, &leader_437).await,
        get_bytes(&server, &format!("/api/v1/photos/{unknown_sha}/image"), &leader_437).await,
        "the same 404 as a picture nobody sent"
    );

    // Chunks follow its own offset (0), not the owner's; wrong bytes of the right size are
    // refused 422 as for the unknown hash, and change nothing.
    let (status, header, _) = patch(&server, &token, &photo.sha256, photo.size / 2, &original[..10]).await;
    assert_eq!((status, header), (409, Some(0)));
    let mut wrong = original.clone();
    wrong[100] ^= 0xFF;
    let refused_known = patch(&server, &token, &photo.sha256, 0, &wrong).await;
    let refused_unknown = patch(&server, &token, &unknown_sha, 0, &wrong).await;
    assert_eq!(refused_known.0, 422, "{:?}", refused_known.2);
    assert_eq!(refused_known.2["error"]["code"], "sha256_mismatch");
    assert_eq!(refused_known, refused_unknown);
    assert_eq!(get_bytes(&server, &image, &leader_437).await.0, 404);
    assert_eq!(
        server.db.i64(&format!(
            "SELECT COUNT(*) FROM photo_uploads WHERE sha256 = '{}' AND (complete OR received > 0)",
            photo.sha256
        )),
        1,
        "only the owner's upload"
    );

    // The owner's leader still downloads the owner's bytes.
    let leader_436 = server.login("l.436", PASSWORD).await;
    assert_eq!(get_bytes(&server, &image, &leader_436).await, (200, original.clone()));
    let (_, list) = server.get_as(&format!("/api/v1/photos?area=436&day={today}"), Some(&leader_436)).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["complete"], true);

    // An honest phone of district 437 that has the picture sends it, and is then linked: its
    // leader downloads it.
    let honest = TestDevice::new(24);
    server.enrol_for(&honest, "v.437").await;
    let mine = attach(&honest, &day_draft("18115", "Cùng một ảnh"), &picture);
    assert_eq!(mine.sha256, photo.sha256);
    let report = honest.client(&server.url, 100).upload_photos(&honest.store, None).await;
    assert!(report.complete, "{report:?}");
    assert_eq!((report.sent, report.deduplicated, report.bytes_sent), (1, 0, mine.size));
    assert_eq!(get_bytes(&server, &image, &leader_437).await, (200, original));
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_blobs WHERE complete"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_are_read_and_sent_only_in_scope() {
    let mut server = TestServer::prepare_stopped();
    create_account(&server.db.url, "l.18073", "leader", "18073", PASSWORD);
    create_account(&server.db.url, "l.18077", "leader", "18077", PASSWORD);
    create_account(&server.db.url, "v.18077", "volunteer", "18077", PASSWORD);
    create_account(&server.db.url, "v.reader", "volunteer", "42", PASSWORD);
    server.start_again();

    let device = enrolled_device(&server, 6).await;
    let photo = attach(&device, &day_draft("18073", "Ở xã 18073"), &noise_jpeg(6, 200, 150));
    let report = device.client(&server.url, 100).upload_photos(&device.store, None).await;
    assert_eq!(report.sent, 1, "{report:?}");
    let image = format!("/api/v1/photos/{}/image", photo.sha256);
    let list = format!("/api/v1/photos?area=18073&day={}", today());

    let inside = server.login("l.18073", PASSWORD).await;
    let (status, body) = server.get_as(&list, Some(&inside)).await;
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(1)));
    assert_eq!(get_bytes(&server, &image, &inside).await.0, 200);

    let outside = server.login("l.18077", PASSWORD).await;
    let (status, body) = server.get_as(&list, Some(&outside)).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = server.get_as(&format!("/api/v1/photos?area=18077&day={}", today()), Some(&outside)).await;
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(0)));
    // Outside the scope answers like a photo that does not exist.
    assert_eq!(get_bytes(&server, &image, &outside).await.0, 404);
    assert_eq!(get_bytes(&server, &format!("/api/v1/photos/{}/image", "a".repeat(64)), &outside).await.0, 404);
    // No session: 401; a volunteer does not read the area's photos in bulk.
    assert_eq!(server.get_as(&list, None).await.0, 401);
    let volunteer = server.login("v.reader", PASSWORD).await;
    assert_eq!(server.get_as(&list, Some(&volunteer)).await.0, 403);

    // A phone sends photos only in its volunteer's areas: refused, kept with the reason, and
    // the next photo still goes.
    let other = TestDevice::new(7);
    server.enrol_for(&other, "v.18077").await;
    let refused = attach(&other, &day_draft("18073", "Ngoài địa bàn"), &noise_jpeg(7, 200, 150));
    let fine = attach(&other, &day_draft("18077", "Trong địa bàn"), &noise_jpeg(8, 200, 150));
    let report = other.client(&server.url, 100).upload_photos(&other.store, None).await;
    assert_eq!((report.sent, report.rejected), (1, 1), "{report:?}");
    let store = other.store.lock().unwrap();
    let rejected = store.rejected_photos().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].id, refused.id);
    let error = rejected[0].error.as_ref().unwrap();
    assert_eq!(error.code, "out_of_scope");
    assert!(!error.messages.vi.is_empty() && !error.messages.en.is_empty());
    assert_eq!(store.photo_queue().unwrap().sent, 1);
    assert_eq!(
        store.photos_for(TargetKind::Day, &today()).unwrap().iter().find(|p| p.id == fine.id).unwrap().state,
        "sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_report_holds_the_days_photos() {
    use calamine::{Data, Reader, Xlsx};

    let server = TestServer::spawn();
    let mut device = enrolled_device(&server, 9).await;
    device.record(2);
    let visit_id = device.recorded_ids()[0].0.clone();
    let visit_photo = attach(
        &device,
        &PhotoDraft {
            target_kind: TargetKind::Visit,
            target_id: visit_id.clone(),
            area_code: None,
            caption: Some("Hướng dẫn cài Bluezone".into()),
        },
        &noise_jpeg(9, 640, 480),
    );
    let day_photo = attach(&device, &day_draft("18073", "Loa phát thanh"), &noise_jpeg(10, 480, 640));
    // What the phone sends (once sent, it keeps a thumbnail only).
    let stored: Vec<Vec<u8>> = [&visit_photo, &day_photo].iter().map(|p| bytes_of(&device, p)).collect();
    let client = device.client(&server.url, 100);
    assert!(client.drain(&device.store, None).await.complete);
    let report = client.upload_photos(&device.store, None).await;
    assert_eq!(report.sent, 2, "{report:?}");

    // The visit's photos, as the household popup asks for them.
    let admin = server.admin_token().await;
    let (status, list) =
        server.get_as(&format!("/api/v1/photos?area=436&target_kind=visit&target_id={visit_id}"), Some(&admin)).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], visit_photo.id.as_str());

    let (status, bytes) =
        get_bytes(&server, &format!("/api/v1/reports/daily.xlsx?area=436&date={}", today()), &admin).await;
    assert_eq!(status, 200);
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert!(book.sheet_names().contains(&"Ảnh".to_string()), "{:?}", book.sheet_names());
    let pictures = book.pictures().unwrap_or_default();
    assert_eq!(pictures.len(), 2, "two photos embedded");
    for (ext, data) in &pictures {
        assert!(ext == "jpeg" || ext == "jpg", "{ext}");
        assert!(stored.contains(data), "an embedded picture is a stored photo, byte for byte");
    }
    let sheet = book.worksheet_range("Ảnh").unwrap();
    let cell = |r: u32, c: u32| match sheet.get_value((r, c)) {
        Some(Data::String(s)) => s.clone(),
        other => format!("{other:?}"),
    };
    let captions: Vec<String> = (1..=2).map(|r| cell(r, 4)).collect();
    assert!(captions.contains(&"Hướng dẫn cài Bluezone".to_string()), "{captions:?}");
    assert!(captions.contains(&"Loa phát thanh".to_string()), "{captions:?}");
    let kinds: Vec<String> = (1..=2).map(|r| cell(r, 2)).collect();
    assert!(kinds.iter().any(|k| k.starts_with("Lượt thăm hộ")), "{kinds:?}");
    assert!(kinds.iter().any(|k| k.starts_with("Báo cáo ngày")), "{kinds:?}");
}

fn field_app(dir: &tempfile::TempDir, server: &str) -> Arc<FieldApp> {
    FieldApp::open(
        dir.path(),
        FieldConfig {
            default_server: server.into(),
            fixed_location: Fix::parse_fixed("18.3428,105.9057,6"),
            ..FieldConfig::default()
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_attaches_offline_and_the_photo_arrives_once() {
    let mut server = TestServer::spawn();
    let dir = tempfile::tempdir().unwrap();
    let app = field_app(&dir, &server.url);
    let code = server.enrolment_code(VOLUNTEER).await;
    app.enrol(&server.url, &code).await.unwrap();
    app.sync_once().await;

    server.kill();
    let e = app.attach_photo(&day_draft("18073", "x"), b"not a picture").unwrap_err();
    assert_eq!(e.code, "photo_unreadable");
    assert!(!e.messages.vi.is_empty() && !e.messages.en.is_empty());
    let photo = app.attach_photo(&day_draft("18073", "Báo cáo hôm nay"), &noise_jpeg(11, 800, 600)).unwrap();
    app.sync_once().await;
    let status = app.status().unwrap();
    assert!(!status.online, "{status:?}");
    assert_eq!((status.photos.pending, status.photos.sent), (1, 0));
    assert_eq!(app.daily_report_photos(&today()).unwrap()[0].state, "pending");

    server.start_again();
    app.sync_once().await;
    let status = app.status().unwrap();
    assert!(status.online, "{status:?}");
    assert_eq!((status.photos.pending, status.photos.sent, status.photos.rejected), (0, 1, 0));
    assert_eq!(app.daily_report_photos(&today()).unwrap()[0].state, "sent");
    app.sync_once().await;
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_links"), 1);
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM photo_blobs WHERE complete"), 1);
    let admin = server.admin_token().await;
    let (status, image) = get_bytes(&server, &format!("/api/v1/photos/{}/image", photo.sha256), &admin).await;
    assert_eq!(status, 200);
    assert_eq!(doorstep_device::sha256_hex(&image), photo.sha256, "the server holds the photo whole");
    // The phone keeps a thumbnail of it, still shown in its list.
    let kept = app.photo_image(&photo.id).unwrap();
    assert!(kept.len() * 2 < image.len(), "{} bytes kept of {}", kept.len(), image.len());
}
