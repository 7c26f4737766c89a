//! The base map end to end, on SQLite and (with `DOORSTEP_TEST_PG`) PostgreSQL: IT imports a
//! PMTiles file with the `doorstep` binary, the server answers what it holds and its bytes by
//! range to staff and enrolled phones only, and a new import replaces it.

use doorstep_tests::{TestServer, doorstep, small_pmtiles};
use sha2::{Digest, Sha256};

async fn get_bytes(
    server: &TestServer, token: Option<&str>, headers: &[(&str, &str)],
) -> (u16, Vec<u8>, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new().get(format!("{}/api/v1/basemap.pmtiles", server.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("GET");
    let status = resp.status().as_u16();
    let h = resp.headers().clone();
    (status, resp.bytes().await.expect("body").to_vec(), h)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_imports_a_base_map_and_staff_and_phones_read_it_by_range() {
    let mut server = TestServer::prepare_stopped();
    let dir = tempfile::tempdir().unwrap();
    let db_url = server.db.url.clone();
    let import = |path: &std::path::Path, name: &str| {
        doorstep(&["admin", "--db", &db_url, "basemap", "import", &path.to_string_lossy(), "--name", name])
    };

    // Not a PMTiles file: refused, named, nothing stored.
    let bad = dir.path().join("bad.pmtiles");
    std::fs::write(&bad, b"<html>not found</html>").unwrap();
    let (ok, _, err) = import(&bad, "bad");
    assert!(!ok && err.contains("not a PMTiles version 3 file") && err.contains("was not changed"), "{err}");

    // A real one, over 256 KiB so that it is kept in several chunks.
    let file = small_pmtiles("Hà Tĩnh 1", 600_000);
    let path = dir.path().join("ha-tinh.pmtiles");
    std::fs::write(&path, &file).unwrap();
    let (ok, out, err) = import(&path, "Hà Tĩnh, OpenStreetMap 11/2026");
    assert!(ok, "{err}");
    let printed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(printed["sha256"], hex(&Sha256::digest(&file)));
    assert_eq!((printed["size"].as_u64(), printed["tile_type"].as_str()), (Some(file.len() as u64), Some("mvt")));
    server.start_again();

    // Staff and an enrolled phone read it; nobody else.
    let admin = server.admin_token().await;
    let phone_id = uuid::Uuid::now_v7().to_string();
    let phone = server.device_token(&phone_id).await;
    for token in [&admin, &phone] {
        let (status, info) = server.get_as("/api/v1/basemap", Some(token)).await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["name"], "Hà Tĩnh, OpenStreetMap 11/2026");
        assert_eq!(info["bounds"], serde_json::json!([105.5, 17.9, 106.5, 18.6]));
    }
    let (status, body) = server.get_as("/api/v1/basemap", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthenticated")));
    assert_eq!(get_bytes(&server, None, &[("range", "bytes=0-126")]).await.0, 401);
    assert_eq!(get_bytes(&server, Some("not-a-token"), &[]).await.0, 401);

    // By range, across a chunk's edge, as a PMTiles reader and a resuming phone ask.
    let (status, bytes, h) = get_bytes(&server, Some(&phone), &[("range", "bytes=262000-262300")]).await;
    assert_eq!(status, 206);
    assert_eq!(bytes, file[262000..=262300]);
    assert_eq!(h["content-range"], format!("bytes 262000-262300/{}", file.len()));
    assert_eq!(h["accept-ranges"], "bytes");
    let etag = h["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", hex(&Sha256::digest(&file))));
    let (status, bytes, _) = get_bytes(&server, Some(&admin), &[("range", "bytes=-40")]).await;
    assert_eq!((status, bytes.as_slice()), (206, &file[file.len() - 40..]));
    let (status, bytes, _) = get_bytes(&server, Some(&admin), &[]).await;
    assert_eq!((status, bytes.len()), (200, file.len()));
    assert_eq!(bytes, file, "the whole file, as imported");
    let (status, bytes, _) = get_bytes(&server, Some(&admin), &[("range", &format!("bytes={}-", file.len()))]).await;
    assert_eq!(status, 416);
    let err: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(err["error"]["code"], "range_not_satisfiable");

    // Another import replaces it: the SHA-256 changes, and a download resumed against the old one
    // starts again from the first byte.
    server.kill();
    let newer = small_pmtiles("Hà Tĩnh 2", 300_000);
    std::fs::write(&path, &newer).unwrap();
    let (ok, _, err) = import(&path, "Hà Tĩnh, 12/2026");
    assert!(ok, "{err}");
    server.start_again();
    let (_, info) = server.get_as("/api/v1/basemap", Some(&phone)).await;
    assert_eq!(info["sha256"], hex(&Sha256::digest(&newer)));
    let (status, bytes, _) = get_bytes(&server, Some(&phone), &[("range", "bytes=1000-"), ("if-range", &etag)]).await;
    assert_eq!((status, bytes == newer), (200, true));
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM basemap_chunks"), 2, "only the new map's chunks are kept");

    // A revoked phone reads nothing more, the base map included.
    let (status, _) =
        server.post_as(&format!("/api/v1/devices/{phone_id}/revoke"), &admin, &serde_json::json!({})).await;
    assert_eq!(status, 204);
    let (status, body) = server.get_as("/api/v1/basemap", Some(&phone)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("device_revoked")));
    assert_eq!(get_bytes(&server, Some(&phone), &[("range", "bytes=0-126")]).await.0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_base_map_both_answers_say_so_in_words() {
    let server = TestServer::spawn();
    let admin = server.admin_token().await;
    let (status, body) = server.get_as("/api/v1/basemap", Some(&admin)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("no_basemap")));
    assert!(body["error"]["messages"]["vi"].as_str().unwrap().contains("chưa có bản đồ nền"));
    assert!(body["error"]["messages"]["en"].as_str().unwrap().contains("doorstep admin basemap import"));
    assert_eq!(get_bytes(&server, Some(&admin), &[]).await.0, 404);
}

/// The phone: after a sync the server's map is on it, whole and checked; a download cut short
/// resumes where it stopped; a part of the wrong bytes is caught by the SHA-256 and fetched
/// again; a new map on the server replaces the old one at the next sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_downloads_the_base_map_resumes_checks_and_replaces_it() {
    let mut server = TestServer::prepare_stopped();
    let files = tempfile::tempdir().unwrap();
    let file = small_pmtiles("Hà Tĩnh 1", 2_500_000);
    let path = files.path().join("map.pmtiles");
    std::fs::write(&path, &file).unwrap();
    let db_url = server.db.url.clone();
    let import = |name: &str| {
        let (ok, _, err) =
            doorstep(&["admin", "--db", &db_url, "basemap", "import", &path.to_string_lossy(), "--name", name]);
        assert!(ok, "{err}");
    };
    import("Hà Tĩnh 1");
    server.start_again();

    let data = tempfile::tempdir().unwrap();
    let app = doorstep_field::FieldApp::open(
        data.path(),
        doorstep_field::FieldConfig { default_server: server.url.clone(), ..doorstep_field::FieldConfig::default() },
    )
    .unwrap();
    let code = server.enrolment_code(doorstep_tests::VOLUNTEER).await;
    app.enrol(&server.url, &code).await.unwrap();
    let dir = data.path().join("basemaps");
    let reader = uuid::Uuid::now_v7().to_string();

    // A download cut short after its first piece: the part is kept with what it is of.
    std::fs::create_dir_all(&dir).unwrap();
    let (_, info) = server.get_as("/api/v1/basemap", Some(&server.device_token(&reader).await)).await;
    std::fs::write(dir.join("server.part.json"), info.to_string()).unwrap();
    std::fs::write(dir.join("server.pmtiles.part"), &file[..1_048_576]).unwrap();
    let status = app.status().unwrap().basemap.expect("the download under way is shown");
    assert_eq!((status.path, status.downloaded, status.size), (None, 1_048_576, file.len() as u64));
    app.sync_once().await;
    let status = app.status().unwrap().basemap.expect("the base map");
    let held = status.path.expect("whole and checked");
    assert_eq!(std::fs::read(&held).unwrap(), file, "resumed into the very file the server holds");
    assert_eq!((status.name.as_str(), status.downloaded), ("Hà Tĩnh 1", file.len() as u64));
    assert!(!dir.join("server.pmtiles.part").exists());

    // Already held: the next sync fetches nothing.
    let before = std::fs::metadata(&held).unwrap().modified().unwrap();
    app.sync_once().await;
    assert_eq!(std::fs::metadata(&held).unwrap().modified().unwrap(), before);

    // A new map on the server; a stale part of wrong bytes for it is caught by the SHA-256.
    server.kill();
    let newer = small_pmtiles("Hà Tĩnh 2", 1_500_000);
    std::fs::write(&path, &newer).unwrap();
    import("Hà Tĩnh 2");
    server.start_again();
    let (_, info) = server.get_as("/api/v1/basemap", Some(&server.device_token(&reader).await)).await;
    std::fs::write(dir.join("server.part.json"), info.to_string()).unwrap();
    std::fs::write(dir.join("server.pmtiles.part"), vec![7u8; 1_048_576]).unwrap();
    app.sync_once().await;
    assert!(!dir.join("server.pmtiles.part").exists(), "the wrong bytes were thrown away");
    assert_eq!(std::fs::read(&held).unwrap(), file, "the old map stays drawn meanwhile");
    app.sync_once().await;
    let status = app.status().unwrap().basemap.unwrap();
    assert_eq!(status.name, "Hà Tĩnh 2");
    assert_eq!(std::fs::read(status.path.unwrap()).unwrap(), newer, "replaced by the server's new map");
}
