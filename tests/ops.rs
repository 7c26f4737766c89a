//! What a provincial IT office sees of a running server: `/metrics`, request ids, access logs
//! (as JSON too), 404s for unknown paths, compressed answers, and the configuration file.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use doorstep_tests::{TestDb, TestDevice, TestServer, doorstep, doorstep_bin, free_port};
use serde_json::{Value, json};

/// The value of a metric line `name{labels} value` (labels as printed, in their order).
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn metrics(server: &TestServer) -> String {
    let resp = reqwest::get(format!("{}/metrics", server.url)).await.unwrap();
    assert_eq!(resp.status(), 200);
    let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    resp.text().await.unwrap()
}

/// Requests by route and status, visits stored, duplicate and refused by reason, batch sizes,
/// commit times, sign-in failures, phones and the pool: counted as they happen, on both databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_visits_refusals_and_sign_in_failures() {
    let server = TestServer::spawn();
    let mut device = TestDevice::new(71);
    server.enrol(&device).await;
    device.record(3);
    let (body, records) = device.push_body(10);
    assert_eq!(server.push_json(&body).await.0, 200);
    // The same three again (duplicates), and one of them changed (refused: id_reused).
    let mut changed = records[0].clone();
    changed["notes"] = json!("sửa đè");
    let mut again = body.clone();
    again["records"] = json!([records[0], records[1], records[2], changed]);
    assert_eq!(server.push_json(&again).await.0, 422);
    let wrong = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", server.url))
        .json(&json!({"username": "admin", "password": "not the password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let text = metrics(&server).await;
    let at = |series: &str| metric(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert_eq!(at(r#"doorstep_visits_total{result="stored",reason=""}"#), 3.0);
    assert_eq!(at(r#"doorstep_visits_total{result="duplicate",reason=""}"#), 3.0);
    assert_eq!(at(r#"doorstep_visits_total{result="refused",reason="id_reused"}"#), 1.0);
    assert_eq!(at("doorstep_push_batch_records_count"), 2.0);
    assert_eq!(at("doorstep_push_batch_records_sum"), 7.0);
    assert_eq!(at(r#"doorstep_http_requests_total{route="/api/v1/sync/push",method="POST",status="200"}"#), 1.0);
    assert_eq!(at(r#"doorstep_http_requests_total{route="/api/v1/sync/push",method="POST",status="422"}"#), 1.0);
    assert_eq!(at(r#"doorstep_http_requests_total{route="/api/v1/auth/login",method="POST",status="401"}"#), 1.0);
    assert_eq!(at("doorstep_sign_in_failures_total"), 1.0);
    assert!(at(r#"doorstep_http_request_duration_seconds_count{route="/api/v1/sync/push",method="POST"}"#) >= 2.0);
    assert_eq!(at("doorstep_store_commit_duration_seconds_count"), 2.0, "one commit per push");
    assert_eq!(at("doorstep_phones_enrolled"), 1.0);
    assert_eq!(at("doorstep_phones_stale"), 0.0, "it has just synced");
    assert_eq!(at("doorstep_corrections_open"), 0.0);
    assert_eq!(at("doorstep_sqlite_writer_queue"), 0.0);
    if server.db.is_postgres() {
        assert_eq!(at("doorstep_pg_pool_max"), 16.0);
        assert!(at("doorstep_pg_pool_connections") >= 1.0);
    } else {
        assert_eq!(at("doorstep_pg_pool_max"), 0.0);
    }
    // The raw path of an unknown address never becomes a label.
    let _ = reqwest::get(format!("{}/api/v1/no/such/{}", server.url, uuid::Uuid::now_v7())).await.unwrap();
    let text = metrics(&server).await;
    assert_eq!(
        metric(&text, r#"doorstep_http_requests_total{route="unmatched",method="GET",status="404"}"#),
        Some(1.0)
    );
    assert!(!text.contains("/api/v1/no/such"), "{text}");
    // Nor does a made-up method.
    let brew = reqwest::Method::from_bytes(b"BREW").unwrap();
    let _ = reqwest::Client::new().request(brew, format!("{}/api/v1/campaign", server.url)).send().await.unwrap();
    let text = metrics(&server).await;
    assert!(!text.contains("BREW"), "{text}");
    assert!(text.contains(r#"method="other",status="405""#), "{text}");
}

/// Too many wrong sign-ins: the throttle's refusals are counted by route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_refusals_are_counted() {
    let mut server = TestServer::spawn();
    server.kill();
    // One free failure for the account, from the flag.
    server.start_with(server.port, &["--sign-in-account-failures", "1"]);
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = client
            .post(format!("{}/api/v1/auth/login", server.url))
            .json(&json!({"username": "admin", "password": "not the password"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 429, 429]);
    let text = metrics(&server).await;
    assert_eq!(metric(&text, r#"doorstep_throttled_total{route="/api/v1/auth/login"}"#), Some(2.0), "{text}");
}

/// Paths the server does not have answer 404 (a page for a browser, JSON for anything else);
/// the dashboard's page and its assets are still served, the assets cached for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_answer_404_and_the_dashboard_is_served() {
    let server = TestServer::spawn();
    let client = reqwest::Client::new();
    let page = client.get(format!("{}/", server.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let html = page.text().await.unwrap();
    let asset = html.split('"').find(|s| s.starts_with("/assets/") && s.ends_with(".js")).expect("a script");
    let script = client.get(format!("{}{asset}", server.url)).send().await.unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(script.headers()["cache-control"], "public, max-age=31536000, immutable");

    for path in ["/metrics.php", "/wp-login.php", "/some/page", "/index.htm"] {
        let browser = client.get(format!("{}{path}", server.url)).header("accept", "text/html").send().await.unwrap();
        assert_eq!(browser.status(), 404, "{path}");
        let body = browser.text().await.unwrap();
        assert!(body.contains("Không có trang này") && body.contains("No such page"), "{body}");
        let (status, body) = server.get_as(path, None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{path}: {body}");
    }
    let (status, body) = server.get_as("/api/v1/nothing", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));

    // The API page and its files, built into the binary; nothing else under /api/docs/.
    let docs = client.get(format!("{}/api/docs", server.url)).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = docs.text().await.unwrap();
    assert!(page.contains("/api/docs/swagger-ui-bundle.js") && !page.contains("http"), "{page}");
    for file in ["swagger-ui-bundle.js", "swagger-ui.css", "init.js"] {
        let r = client.get(format!("{}/api/docs/{file}", server.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{file}");
    }
    let (status, _) = server.get_as("/api/docs/other.js", None).await;
    assert_eq!(status, 404);
}

/// Every answer carries `x-request-id`: the caller's when it is plain, else one made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_a_request_id() {
    let server = TestServer::spawn();
    let client = reqwest::Client::new();
    let given = client.get(format!("{}/healthz", server.url)).header("x-request-id", "lb-7f3a.1").send().await.unwrap();
    assert_eq!(given.headers()["x-request-id"], "lb-7f3a.1");
    let made = client.get(format!("{}/api/v1/campaign", server.url)).send().await.unwrap();
    let id = made.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    let odd = client.get(format!("{}/healthz", server.url)).header("x-request-id", "a b<script>").send().await.unwrap();
    assert_ne!(odd.headers()["x-request-id"], "a b<script>");
    let refused =
        client.get(format!("{}/api/v1/users", server.url)).header("x-request-id", "r-401").send().await.unwrap();
    assert_eq!((refused.status().as_u16(), refused.headers()["x-request-id"].to_str().unwrap()), (401, "r-401"));
}

/// The dashboard's scripts and the JSON answers are compressed as the client asks (zstd, br or
/// gzip) and sent plain when it asks nothing; the base map's bytes never are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_compressed_as_the_client_asks() {
    let server = TestServer::spawn();
    // The bytes as sent: the device crate's reqwest decodes zstd by itself, and features unify.
    let client = reqwest::Client::builder().no_gzip().no_brotli().no_zstd().no_deflate().build().unwrap();
    let html = client.get(format!("{}/", server.url)).send().await.unwrap().text().await.unwrap();
    let asset = html.split('"').find(|s| s.starts_with("/assets/") && s.ends_with(".js")).expect("a script");
    let url = format!("{}{asset}", server.url);
    let plain = client.get(&url).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    for encoding in ["gzip", "br", "zstd"] {
        let r = client.get(&url).header("accept-encoding", encoding).send().await.unwrap();
        assert_eq!(
            r.headers().get("content-encoding").map(|v| v.to_str().unwrap()),
            Some(encoding),
            "{url}: {:?}",
            r.headers()
        );
        assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
        let body = r.bytes().await.unwrap();
        assert!(body.len() * 2 < plain.len(), "{encoding}: {} of {}", body.len(), plain.len());
        if encoding == "zstd" {
            assert_eq!(zstd::decode_all(&body[..]).unwrap(), plain, "the same script");
        }
    }
    let token = server.admin_token().await;
    let json = client
        .get(format!("{}/api/v1/areas", server.url))
        .bearer_auth(&token)
        .header("accept-encoding", "gzip, br;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 200);
    assert_eq!(json.headers()["content-encoding"], "gzip");
}

/// Spawns `doorstep serve` with stderr kept, for what it logs.
fn serve_logging(
    db: &str, extra: &[&str], env: &[(&str, &str)],
) -> (std::process::Child, String, std::sync::mpsc::Receiver<String>) {
    let port = free_port();
    let mut child = Command::new(doorstep_bin())
        .args(["serve", "--db", db, "--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let url = format!("http://127.0.0.1:{port}");
    assert!(
        doorstep_tests::wait_until(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port))
            .is_ok()),
        "the server did not start"
    );
    (child, url, rx)
}

/// `--log-format json`: one JSON object per line, the access line of each request with its
/// method, path, status and time, and the request id on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_one_access_line_per_request_with_its_id() {
    let db = TestDb::sqlite();
    let (mut child, url, lines) = serve_logging(&db.url, &["--log-format", "json"], &[("RUST_LOG", "info")]);
    let r =
        reqwest::Client::new().get(format!("{url}/readyz")).header("x-request-id", "trace-me-1").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut access = None;
    let mut seen = Vec::new();
    let start = std::time::Instant::now();
    while access.is_none() && start.elapsed() < Duration::from_secs(20) {
        let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) else { continue };
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if v["target"] == "doorstep::access" && v["span"]["request_id"] == "trace-me-1" {
            access = Some(v);
        }
        seen.push(line);
    }
    let _ = child.kill();
    let v = access.unwrap_or_else(|| panic!("no access line for trace-me-1 in {seen:#?}"));
    assert_eq!(v["level"], "INFO");
    assert_eq!((v["fields"]["method"].as_str(), v["fields"]["path"].as_str()), (Some("GET"), Some("/readyz")));
    assert_eq!(v["fields"]["status"], 200);
    assert!(v["fields"]["ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{v}");
    assert_eq!(v["fields"]["client"], "127.0.0.1");
}

/// `--config FILE`: the file's settings run the server, a flag beats the file; a bad value, an
/// unknown key or a wrong type is refused at start naming the key, the value and what is allowed
/// (from the file, the environment or a flag); `doorstep config check` says the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_file_runs_the_server_and_bad_values_are_refused() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doorstep.toml");
    let port = free_port();
    std::fs::write(
        &file,
        format!(
            "db = \"{}\"\nlisten = \"127.0.0.1:{port}\"\nmax_records_per_push = 2\nsession_ttl_secs = 7200\n",
            db.url
        ),
    )
    .unwrap();
    let (ok, out, err) = doorstep(&["config", "check", &file.to_string_lossy()]);
    assert!(ok, "{err}");
    assert!(out.contains("max_records_per_push = 2") && out.contains("keep_alive_timeout = 30"), "{out}");

    // Served from the file alone (its database and address).
    let mut child = Command::new(doorstep_bin())
        .args(["serve", "--config", &file.to_string_lossy()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let up = doorstep_tests::wait_until(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "not listening where the file says");

    // Its limit holds, and a flag beats it.
    let mut server = TestServer::spawn();
    server.kill();
    let limit = dir.path().join("limit.toml");
    std::fs::write(&limit, "max_records_per_push = 2\n").unwrap();
    server.start_with(server.port, &["--config", &limit.to_string_lossy()]);
    let mut device = TestDevice::new(72);
    server.enrol(&device).await;
    device.record(3);
    let (body, _) = device.push_body(10);
    let (status, answer) = server.push_json(&body).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (413, Some("too_many_records")), "{answer}");
    assert!(answer["error"]["messages"]["en"].as_str().unwrap().contains("at most 2 records"), "{answer}");
    server.kill();
    server.start_with(server.port, &["--config", &limit.to_string_lossy(), "--max-records-per-push", "3"]);
    assert_eq!(server.push_json(&body).await.0, 200);

    let refused = |args: &[&str], env: &[(&str, &str)]| {
        let out = Command::new(doorstep_bin()).args(args).envs(env.iter().copied()).output().unwrap();
        assert!(!out.status.success(), "{args:?} {env:?} was accepted");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "session_ttl_secs = 0\nmax_connections = 0\n").unwrap();
    let err = refused(&["serve", "--config", &bad.to_string_lossy()], &[]);
    assert!(err.contains("session_ttl_secs = 0: must be a whole number of seconds from 1 to 2592000"), "{err}");
    assert!(err.contains("max_connections = 0: must be a whole number of connections from 1 to"), "{err}");
    let err = refused(&["config", "check", &bad.to_string_lossy()], &[]);
    assert!(err.contains("2 bad setting(s)") && err.contains("session_ttl_secs = 0"), "{err}");
    std::fs::write(&bad, "sesion_ttl_secs = 600\n").unwrap();
    let err = refused(&["config", "check", &bad.to_string_lossy()], &[]);
    assert!(
        err.contains("sesion_ttl_secs") && err.contains("session_ttl_secs"),
        "the unknown key and the known ones: {err}"
    );
    std::fs::write(&bad, "max_body_bytes = \"8M\"\n").unwrap();
    let err = refused(&["serve", "--config", &bad.to_string_lossy()], &[]);
    assert!(err.contains("max_body_bytes"), "{err}");
    // From the environment (it used to be ignored silently) and from a flag.
    let err = refused(&["serve", "--db", &db.url, "--listen", "127.0.0.1:0"], &[("DOORSTEP_SESSION_TTL_SECS", "soon")]);
    assert!(err.contains("soon") && err.contains("--session-ttl-secs"), "{err}");
    let err = refused(&["serve", "--db", &db.url, "--listen", "127.0.0.1:0", "--max-pull-limit", "0"], &[]);
    assert!(err.contains("max_pull_limit = 0: must be a whole number of households from 1 to 100000"), "{err}");
}

/// `--min-app-version`: a phone whose app is older is refused (426) with words telling the
/// volunteer to update, keeps every record and shows the refusal; once the server allows it
/// (here: the setting removed, as an update would), the same records go through exactly once.
/// A client naming no version (a script) is not judged. On both databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_older_than_the_servers_minimum_is_told_to_update_and_keeps_its_records() {
    let mut server = TestServer::spawn();
    server.kill();
    server.start_with(server.port, &["--min-app-version", "99.0"]);
    let mut device = TestDevice::new(73);
    server.enrol(&device).await;
    device.record(4);
    let client = device.client(&server.url, 10);
    let err = client.push_batch(&device.store).await.unwrap_err().to_string();
    assert!(err.contains("426"), "{err}");
    assert_eq!(device.pending(), 4, "nothing is given up");
    let problem = device.store.lock().unwrap().auth_problem().unwrap().expect("the refusal is kept for the app");
    assert_eq!(problem.code, "app_outdated");
    assert!(problem.messages.vi.contains("cần phiên bản 99.0 trở lên") && problem.messages.vi.contains("vẫn được giữ"));
    assert!(
        problem.messages.en.contains(&format!("(version {})", env!("CARGO_PKG_VERSION"))),
        "{}",
        problem.messages.en
    );
    assert_eq!(server.visit_count(), 0);
    // A script without the app's User-Agent is not judged by version.
    let token = device.store.lock().unwrap().device_token().unwrap().expect("enrolled");
    let (status, _) = server.get_as("/api/v1/devices/me", Some(token.expose())).await;
    assert_eq!(status, 200);

    server.kill();
    server.start_with(server.port, &["--min-app-version", "0.0.1"]);
    let report = client.drain(&device.store, Some(tokio::time::Instant::now() + Duration::from_secs(30))).await;
    assert!(report.complete, "{:?}", report.last_error);
    assert_eq!((device.pending(), server.visit_count()), (0, 4));
    client.whoami(&device.store).await.unwrap();
    assert_eq!(device.store.lock().unwrap().auth_problem().unwrap(), None, "the refusal is gone once accepted");
}
