//! The one test harness: spawns the real `doorstep serve` binary on a random port of 127.0.0.1
//! with a fresh database per test (the Hà Tĩnh 2020 tree imported), and stops it on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use std::time::{Duration, Instant};

use chrono::{FixedOffset, Utc};
use doorstep_device::{DeviceStore, SyncClient, SyncConfig, VisitDraft};
use rand::SeedableRng;
use rand::rngs::StdRng;

pub mod proxy;
pub mod tlsfront;

/// The workspace root, for data files.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

pub fn three_tier_file() -> PathBuf {
    root().join("data/areas/ha-tinh-2020-three-tier.json")
}

/// The `doorstep` binary under test. `DOORSTEP_BIN` names it when the test script has built it;
/// otherwise it is built here (once per test process; cargo makes that a no-op when fresh), since
/// cargo builds another package's binaries only on request.
pub fn doorstep_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("DOORSTEP_BIN") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("test binary path");
        let dir = exe.parent().and_then(Path::parent).expect("target directory");
        let profile_release = dir.file_name().is_some_and(|n| n == "release");
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo.args(["build", "--quiet", "-p", "doorstep", "--bin", "doorstep"]).current_dir(root());
        if profile_release {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("run cargo build");
        assert!(status.success(), "building the doorstep binary failed");
        dir.join("doorstep")
    })
    .clone()
}

/// Runs `doorstep` with arguments to completion; returns (success, stdout, stderr).
pub fn doorstep(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(doorstep_bin()).args(args).env("RUST_LOG", "warn").output().expect("run doorstep");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `doorstep simulate` with `args`, its devices enrolling for [`VOLUNTEER`] with codes the admin
/// issues; to be started by the caller.
pub fn simulate_command(args: &[&str]) -> Command {
    let mut command = Command::new(doorstep_bin());
    command
        .arg("simulate")
        .args(args)
        .args(["--login", ADMIN, "--volunteer", VOLUNTEER])
        .env("DOORSTEP_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "warn");
    command
}

/// Runs `doorstep simulate` with the given arguments ([`simulate_command`]) to the end. Returns
/// (success, stdout, stderr).
pub fn simulate(args: &[&str]) -> (bool, String, String) {
    let out = simulate_command(args).output().expect("run doorstep simulate");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh database for one test: a SQLite file, or, when `DOORSTEP_TEST_PG` names a PostgreSQL
/// server (`postgres://user@127.0.0.1:port/postgres`), a new database on it, dropped afterwards.
/// The same tests run on both (`scripts/test.sh` runs them twice).
pub struct TestDb {
    /// The `--db` URL for `doorstep`.
    pub url: String,
    pg: Option<(String, String)>,
    // Kept so the folder outlives the database.
    _dir: tempfile::TempDir,
}

/// The PostgreSQL admin URL the tests run against, if any.
pub fn test_pg() -> Option<String> {
    std::env::var("DOORSTEP_TEST_PG").ok().filter(|s| !s.is_empty())
}

fn try_psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-F",
            "\u{1f}",
            "-P",
            "null=\u{1e}",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("psql {sql}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn psql(url: &str, sql: &str) -> String {
    try_psql(url, sql).unwrap_or_else(|e| panic!("{e}"))
}

impl TestDb {
    /// A SQLite database whatever the environment says: for what only SQLite does.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("server.db");
        TestDb { url: format!("sqlite:{}", path.display()), pg: None, _dir: dir }
    }

    /// An existing SQLite file (a backup, say).
    pub fn sqlite_at(path: &Path) -> TestDb {
        TestDb { url: format!("sqlite:{}", path.display()), pg: None, _dir: tempfile::tempdir().expect("tempdir") }
    }

    pub fn fresh() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        match test_pg() {
            Some(admin) => {
                let name = format!("doorstep_t_{}", uuid::Uuid::now_v7().simple());
                psql(&admin, &format!("CREATE DATABASE {name}"));
                let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).expect("database in the URL");
                TestDb { url: format!("{base}/{name}"), pg: Some((admin, name)), _dir: dir }
            }
            None => {
                let path = dir.path().join("server.db");
                TestDb { url: format!("sqlite:{}", path.display()), pg: None, _dir: dir }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// Runs a query and returns its rows as text (NULL as `None`). The SQL must read the same
    /// on both databases; ids differ (a BLOB on SQLite, a UUID on PostgreSQL), so leave them out.
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        self.try_rows(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub fn try_rows(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        match &self.pg {
            Some(_) => Ok(try_psql(&self.url, sql)?
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| l.split('\u{1f}').map(|v| (v != "\u{1e}").then(|| v.to_string())).collect())
                .collect()),
            None => {
                let path = self.url.trim_start_matches("sqlite:");
                let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .map_err(|e| e.to_string())?;
                let mut st = conn.prepare(sql).map_err(|e| e.to_string())?;
                let n = st.column_count();
                let rows = st
                    .query_map([], |r| {
                        (0..n)
                            .map(|i| {
                                Ok(match r.get_ref(i)? {
                                    rusqlite::types::ValueRef::Null => None,
                                    rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
                                    rusqlite::types::ValueRef::Real(v) => Some(v.to_string()),
                                    rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                                    rusqlite::types::ValueRef::Blob(b) => Some(format!("{b:?}")),
                                })
                            })
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .map_err(|e| e.to_string())?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(|e| e.to_string())?;
                Ok(rows)
            }
        }
    }

    /// The first column of the first row as a number, if the query runs (the tables may not be
    /// there yet).
    pub fn try_i64(&self, sql: &str) -> Option<i64> {
        self.try_rows(sql).ok()?.first()?.first()?.as_deref()?.parse().ok()
    }

    /// The first column of the first row as a number.
    pub fn i64(&self, sql: &str) -> i64 {
        self.rows(sql)
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no number from {sql}"))
    }

    /// The first column of the first row as text.
    pub fn text(&self, sql: &str) -> Option<String> {
        self.rows(sql).first().and_then(|r| r.first().cloned().flatten())
    }

    /// Every (id, revision) the server holds, in receive order.
    pub fn visit_ids(&self) -> Vec<(String, i64)> {
        match &self.pg {
            Some(_) => self
                .rows("SELECT id::text, revision FROM visits ORDER BY server_seq")
                .into_iter()
                .map(|r| (r[0].clone().unwrap_or_default(), r[1].as_deref().and_then(|v| v.parse().ok()).unwrap_or(0)))
                .collect(),
            None => {
                let path = self.url.trim_start_matches("sqlite:");
                let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .expect("open test db");
                doorstep_server::sqlite::visit_ids(&conn).expect("visit ids")
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            // Best effort: the cluster is a throw-away one anyway.
            let _ = Command::new("psql")
                .args(["-X", "-q", "-d", admin, "-c", &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")])
                .output();
        }
    }
}

pub struct TestServer {
    pub url: String,
    pub port: u16,
    pub db: TestDb,
    child: Option<Child>,
    /// The admin session the helpers below use, made at the first request.
    token: tokio::sync::OnceCell<String>,
    /// Device tokens by device id, for raw pushes and pulls.
    devices: tokio::sync::Mutex<std::collections::HashMap<String, String>>,
    /// The device raw requests speak for when their body names none.
    default_device: String,
}

/// Every test database has this admin account, for the whole Hà Tĩnh tree (code 42).
pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "quản trị viên thử nghiệm";
/// Every test database also has this volunteer, for the whole tree: test devices enrol for it.
pub const VOLUNTEER: &str = "volunteer";
pub const VOLUNTEER_PASSWORD: &str = "tình nguyện viên thử nghiệm";

/// The accounts every test database starts with.
fn create_base_accounts(db_url: &str) {
    create_account(db_url, ADMIN, "admin", "42", ADMIN_PASSWORD);
    create_account(db_url, VOLUNTEER, "volunteer", "42", VOLUNTEER_PASSWORD);
}

/// Runs `doorstep admin create-user` (the server must not be running on a SQLite file); returns
/// (success, stdout, stderr).
pub fn try_create_account(
    db_url: &str, username: &str, role: &str, area: &str, password: &str,
) -> (bool, String, String) {
    let out = Command::new(doorstep_bin())
        .args(["admin", "--db", db_url, "create-user", "--username", username, "--role", role, "--area", area])
        .env("DOORSTEP_PASSWORD", password)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run doorstep admin create-user");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Creates an account, or fails the test.
pub fn create_account(db_url: &str, username: &str, role: &str, area: &str, password: &str) {
    let (ok, _, err) = try_create_account(db_url, username, role, area, password);
    assert!(ok, "create-user {username}: {err}");
}

impl TestServer {
    /// A fresh database with the Hà Tĩnh 2020 tree, served on a random port.
    pub fn spawn() -> TestServer {
        TestServer::spawn_with(TestDb::fresh())
    }

    /// A server on the given database, with the Hà Tĩnh 2020 tree imported.
    pub fn spawn_with(db: TestDb) -> TestServer {
        import_areas(&db.url, &three_tier_file());
        create_base_accounts(&db.url);
        let mut s = TestServer {
            url: String::new(),
            port: 0,
            db,
            child: None,
            token: Default::default(),
            devices: Default::default(),
            default_device: uuid::Uuid::now_v7().to_string(),
        };
        s.start(0);
        s
    }

    /// A server on a database that already holds a state (after a migration, say).
    pub fn spawn_on_existing(db: TestDb) -> TestServer {
        let mut s = TestServer {
            url: String::new(),
            port: 0,
            db,
            child: None,
            token: Default::default(),
            devices: Default::default(),
            default_device: uuid::Uuid::now_v7().to_string(),
        };
        s.start(0);
        s
    }

    /// Another server process on the same database (a replica, for PostgreSQL).
    pub fn replica_of(other: &TestServer) -> TestServer {
        let db = TestDb { url: other.db.url.clone(), pg: None, _dir: tempfile::tempdir().expect("tempdir") };
        let mut s = TestServer {
            url: String::new(),
            port: 0,
            db,
            child: None,
            token: Default::default(),
            devices: Default::default(),
            default_device: uuid::Uuid::now_v7().to_string(),
        };
        s.start(0);
        s
    }

    /// Prepares a database and a port but does not start the server: for "the server is down".
    pub fn prepare_stopped() -> TestServer {
        let db = TestDb::fresh();
        import_areas(&db.url, &three_tier_file());
        create_base_accounts(&db.url);
        let port = free_port();
        TestServer {
            url: format!("http://127.0.0.1:{port}"),
            port,
            db,
            child: None,
            token: Default::default(),
            devices: Default::default(),
            default_device: uuid::Uuid::now_v7().to_string(),
        }
    }

    /// Starts (again) on the same database, on `port` (0 = any free one).
    pub fn start(&mut self, port: u16) {
        self.start_with(port, &[]);
    }

    /// Starts with more `doorstep serve` arguments (`--public-aggregates`, say).
    pub fn start_with(&mut self, port: u16, extra: &[&str]) {
        let mut child = Command::new(doorstep_bin())
            .args(["serve", "--db", &self.db.url, "--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn doorstep serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("doorstep listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(30)).expect("server did not start within 30 s");
        self.port = url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        self.url = url;
        self.child = Some(child);
    }

    /// Starts on the port chosen before (see [`TestServer::prepare_stopped`] and [`TestServer::kill`]).
    pub fn start_again(&mut self) {
        let port = self.port;
        // The port was just released; a moment of TIME_WAIT does not stop a listener on Linux.
        self.start(port);
    }

    /// SIGKILL: no goodbye, no flush, like a power cut of the process.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The server process's id, while it runs (to read its memory in `/proc/PID/status`, say).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn visit_count(&self) -> i64 {
        self.db.i64("SELECT COUNT(*) FROM visits")
    }

    /// Every (id, revision) the server holds, in receive order.
    pub fn visit_ids(&self) -> Vec<(String, i64)> {
        self.db.visit_ids()
    }

    /// A bearer token for `username`.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let resp = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", self.url))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(resp.status().as_u16(), 200, "login {username}");
        let body: serde_json::Value = resp.json().await.expect("login body");
        body["token"].as_str().expect("token").to_string()
    }

    /// The admin's token (the account every test database has).
    pub async fn admin_token(&self) -> String {
        self.token.get_or_init(|| self.login(ADMIN, ADMIN_PASSWORD)).await.clone()
    }

    /// GET as the admin; sync paths as the harness device (enrolled for [`VOLUNTEER`]).
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let token = if path.starts_with("/api/v1/sync/") {
            self.device_token(&self.default_device.clone()).await
        } else {
            self.admin_token().await
        };
        self.get_as(path, Some(&token)).await
    }

    /// POST JSON with a bearer token.
    pub async fn post_as(&self, path: &str, token: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let resp = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("POST");
        let status = resp.status().as_u16();
        let body = resp.bytes().await.expect("body");
        (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
    }

    /// A one-time enrolment code for `volunteer`, issued by the admin.
    pub async fn enrolment_code(&self, volunteer: &str) -> String {
        let token = self.admin_token().await;
        let (status, body) =
            self.post_as("/api/v1/enrolments", &token, &serde_json::json!({"volunteer": volunteer})).await;
        assert_eq!(status, 200, "enrolment code for {volunteer}: {body}");
        body["code"].as_str().expect("code").to_string()
    }

    /// Enrols a test device for [`VOLUNTEER`], as a phone is enrolled before it goes out.
    pub async fn enrol(&self, device: &TestDevice) {
        self.enrol_for(device, VOLUNTEER).await;
    }

    /// Enrols a test device for the given volunteer.
    pub async fn enrol_for(&self, device: &TestDevice, volunteer: &str) {
        let code = self.enrolment_code(volunteer).await;
        device.client(&self.url, 100).enrol(&device.store, &code).await.expect("enrol the test device");
    }

    /// The token of a device id (enrolled for [`VOLUNTEER`] on first use), for raw requests.
    pub async fn device_token(&self, device_id: &str) -> String {
        let mut devices = self.devices.lock().await;
        if let Some(t) = devices.get(device_id) {
            return t.clone();
        }
        let code = self.enrolment_code(VOLUNTEER).await;
        let resp = reqwest::Client::new()
            .post(format!("{}/api/v1/enrol", self.url))
            .json(&serde_json::json!({"code": code, "device_id": device_id}))
            .send()
            .await
            .expect("enrol");
        assert_eq!(resp.status().as_u16(), 200, "enrol {device_id}");
        let body: serde_json::Value = resp.json().await.expect("enrol body");
        let token = body["device_token"].as_str().expect("device_token").to_string();
        devices.insert(device_id.to_string(), token.clone());
        token
    }

    /// GET with the given token, or none.
    pub async fn get_as(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let mut req = reqwest::Client::new().get(format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("GET");
        let status = resp.status().as_u16();
        let body = resp.bytes().await.expect("body");
        (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
    }

    /// POST, unauthenticated, except that a push without an authorization header carries the
    /// token of the device its body names (enrolled on first use), or of a harness device.
    pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, serde_json::Value) {
        let mut auth = None;
        if path.starts_with("/api/v1/sync/") && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization")) {
            let zstd = headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v.eq_ignore_ascii_case("zstd"));
            let device = named_device(&body, zstd).unwrap_or_else(|| self.default_device.clone());
            auth = Some(self.device_token(&device).await);
        }
        let mut req = reqwest::Client::new().post(format!("{}{path}", self.url)).body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(token) = auth {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.expect("POST");
        let status = resp.status().as_u16();
        let body = resp.bytes().await.expect("body");
        (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
    }

    pub async fn push_json(&self, body: &serde_json::Value) -> (u16, serde_json::Value) {
        self.post("/api/v1/sync/push", &[("content-type", "application/json")], body.to_string().into_bytes()).await
    }

    pub async fn coverage(&self, area: &str) -> serde_json::Value {
        let (status, body) = self.get(&format!("/api/v1/coverage?area={area}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The device a raw push body names, if it can be read.
fn named_device(body: &[u8], zstd: bool) -> Option<String> {
    let plain;
    let bytes = if zstd {
        plain = zstd::bulk::decompress(body, 64 << 20).ok()?;
        &plain[..]
    } else {
        body
    };
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) {
        let id = v.get("device_id")?.as_str()?;
        return uuid::Uuid::parse_str(id).ok().map(|u| u.to_string());
    }
    // A body the decoder refuses (a number out of range, say) may still name its device.
    let text = std::str::from_utf8(bytes).ok()?;
    let after = text.split_once("\"device_id\"")?.1.trim_start().strip_prefix(':')?.trim_start();
    let id = after.strip_prefix('"')?.split('"').next()?;
    uuid::Uuid::parse_str(id).ok().map(|u| u.to_string())
}

pub fn import_areas(db_url: &str, file: &Path) {
    let (ok, out, err) = doorstep(&["admin", "--db", db_url, "import-areas", &file.to_string_lossy()]);
    assert!(ok, "import failed: {out} {err}");
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A device on disk, as the app or the simulator holds it.
pub struct TestDevice {
    pub store: Arc<Mutex<DeviceStore>>,
    pub dir: tempfile::TempDir,
    rng: StdRng,
}

/// Communes of Thành phố Hà Tĩnh (district 436) in the 2020 tree.
pub const COMMUNES_436: &[&str] = &["18073", "18077", "18079", "18082", "18085"];

impl TestDevice {
    pub fn new(seed: u64) -> TestDevice {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DeviceStore::open(&dir.path().join("device.db")).expect("open device");
        TestDevice { store: Arc::new(Mutex::new(store)), dir, rng: StdRng::seed_from_u64(seed) }
    }

    pub fn draft(&mut self, n: usize) -> VisitDraft {
        let area = COMMUNES_436[n % COMMUNES_436.len()];
        doorstep::generate::visit(&mut self.rng, None, area, doorstep::generate::base_point(area, Some("436")))
    }

    /// Records `n` random visits and returns the drafts.
    pub fn record(&mut self, n: usize) -> Vec<VisitDraft> {
        let offset = FixedOffset::east_opt(7 * 3600).expect("offset");
        (0..n)
            .map(|i| {
                let d = self.draft(i);
                self.store.lock().expect("lock").record_visit(&d, Utc::now().with_timezone(&offset)).expect("record");
                d
            })
            .collect()
    }

    pub fn client(&self, server: &str, batch_size: usize) -> SyncClient {
        SyncClient::new(SyncConfig {
            server: server.to_string(),
            batch_size,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            request_timeout: Duration::from_secs(10),
            ..SyncConfig::default()
        })
        .expect("client")
    }

    /// The push the phone would send now (up to `n` records), as the JSON body and its records.
    pub fn push_body(&self, n: usize) -> (serde_json::Value, Vec<serde_json::Value>) {
        let store = self.store.lock().expect("lock");
        let records: Vec<serde_json::Value> = store
            .next_batch(n)
            .expect("batch")
            .iter()
            .map(|e| serde_json::from_str(&e.body).expect("record"))
            .collect();
        let body = serde_json::json!({"device_id": store.device_id().to_string(),
            "sent_at": chrono::Utc::now().to_rfc3339(), "records": records});
        (body, records)
    }

    pub fn pending(&self) -> u64 {
        self.store.lock().expect("lock").queue().expect("queue").pending
    }

    pub fn recorded_ids(&self) -> Vec<(String, i64)> {
        self.store.lock().expect("lock").recorded_ids().expect("ids")
    }
}

/// Waits until `f` holds or the time is up.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

// The figures the server derives from visits, checked against what the phones themselves hold
// (issue 17, item 13). `UNIQUE (id, revision)` makes "the server holds a record twice" a check that
// cannot fail; what can go wrong after kills, cut answers and duplicates is the figures kept on
// ingest: a household's visit count and latest visit, `area_stats`, coverage. Those are compared
// with what the phones' own stores say, which the server never wrote.

/// A UUID as the tests compare it (hyphenated, lower case), whatever form the database printed.
fn uuid_text(s: &str) -> String {
    uuid::Uuid::parse_str(s.trim()).map_or_else(|_| s.to_string(), |u| u.to_string())
}

/// What phones hold, read from their own stores: every visit as saved and sent (each phone's in
/// its sequence order) and every venue visit's (id, revision).
#[derive(Debug, Default, Clone)]
pub struct PhoneRecords {
    pub visits: Vec<doorstep_domain::VisitInput>,
    pub venue_visits: Vec<(String, i64)>,
}

impl PhoneRecords {
    /// The records of the store at `db` (a phone's `device.db`, keyed as the store keys it, with
    /// the key in the file beside it); a second connection, so the phone's store may be open.
    pub fn read(db: &Path) -> PhoneRecords {
        let key = doorstep_device::KeyStore::load(&doorstep_device::KeyFile::beside(db))
            .expect("read the phone's key")
            .unwrap_or_else(|| panic!("no key beside {}", db.display()));
        let conn = rusqlite::Connection::open(db).expect("open the phone's store");
        doorstep_device::key_connection(&conn, &key).expect("key the phone's store");
        let visits = conn
            .prepare("SELECT body FROM visits ORDER BY device_seq")
            .and_then(|mut st| st.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>())
            .expect("the phone's visits")
            .iter()
            .map(|body| serde_json::from_str(body).expect("a visit as the phone saved it"))
            .collect();
        let venue_visits = conn
            .prepare("SELECT id, revision FROM venue_visits ORDER BY device_seq")
            .and_then(|mut st| {
                st.query_map([], |r| Ok((uuid_text(&r.get::<_, String>(0)?), r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .expect("the phone's venue visits");
        PhoneRecords { visits, venue_visits }
    }

    /// The records of several phones together.
    pub fn of_phones<P: AsRef<Path>>(dbs: impl IntoIterator<Item = P>) -> PhoneRecords {
        let mut all = PhoneRecords::default();
        for db in dbs {
            let one = PhoneRecords::read(db.as_ref());
            all.visits.extend(one.visits);
            all.venue_visits.extend(one.venue_visits);
        }
        all
    }

    /// Every visit's (id, revision); a set, since each phone's store keys them so.
    pub fn visit_ids(&self) -> std::collections::BTreeSet<(String, i64)> {
        self.visits.iter().map(|v| (uuid_text(&v.id), v.revision)).collect()
    }

    pub fn venue_visit_ids(&self) -> std::collections::BTreeSet<(String, i64)> {
        self.venue_visits.iter().cloned().collect()
    }
}

impl TestDevice {
    /// What this phone holds ([`PhoneRecords::read`]).
    pub fn records(&self) -> PhoneRecords {
        PhoneRecords::read(&self.dir.path().join("device.db"))
    }
}

/// A household's figures as the server keeps them (`households`), or as the phones' records say
/// they must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdFigures {
    pub area_code: String,
    /// Visits counted: first revisions only (a later revision corrects a visit).
    pub visits: i64,
    /// From the latest-received visit (any revision).
    pub latest_outcome: Option<String>,
    pub people: Option<i64>,
    pub smartphones: Option<i64>,
    pub already_installed: Option<i64>,
    pub installed_now: Option<i64>,
    pub latest_visited_at_ms: Option<i64>,
}

/// The households' figures the phones' visits call for. What the phones alone decide: which
/// households exist and how many visits each had (first revisions), and every figure of each
/// visit. What they cannot decide is which visit of a household is its latest when it had more
/// than one (two phones, or one phone's batches retried out of order): that is the server's
/// receive order, `received` (every (id, revision) it holds, in `server_seq` order), and the
/// household's area is that of its first-received visit. Visits the server does not hold are left
/// out; the caller checks the two sets of ids separately.
pub fn expected_households(
    phones: &PhoneRecords, received: &[(String, i64)],
) -> std::collections::BTreeMap<String, HouseholdFigures> {
    let rank: std::collections::HashMap<(String, i64), usize> =
        received.iter().enumerate().map(|(i, (id, rev))| ((uuid_text(id), *rev), i)).collect();
    // Per household: (first rank, its area), (latest rank, its visit), first revisions.
    type Seen<'a> = ((usize, &'a str), (usize, &'a doorstep_domain::VisitInput), i64);
    let mut seen: std::collections::BTreeMap<String, Seen<'_>> = std::collections::BTreeMap::new();
    for v in &phones.visits {
        let Some(&r) = rank.get(&(uuid_text(&v.id), v.revision)) else {
            continue;
        };
        let counted = i64::from(v.revision == 1);
        let e = seen.entry(uuid_text(&v.household.id)).or_insert(((r, &v.area_code), (r, v), 0));
        if r < e.0.0 {
            e.0 = (r, &v.area_code);
        }
        if r > e.1.0 {
            e.1 = (r, v);
        }
        e.2 += counted;
    }
    seen.into_iter()
        .map(|(id, ((_, area), (_, latest), visits))| {
            let at = chrono::DateTime::parse_from_rfc3339(&latest.visited_at)
                .expect("a visit time the server accepted")
                .timestamp_millis();
            let figures = HouseholdFigures {
                area_code: area.to_string(),
                visits,
                latest_outcome: Some(latest.outcome.clone()),
                people: Some(latest.people),
                smartphones: Some(latest.smartphones),
                already_installed: Some(latest.already_installed),
                installed_now: Some(latest.installed_now),
                latest_visited_at_ms: Some(at),
            };
            (id, figures)
        })
        .collect()
}

/// The coverage figures compared: every count of `GET /api/v1/coverage` (the rates and targets
/// follow from them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoverageFigures {
    pub households_known: i64,
    pub households_visited: i64,
    pub visits: i64,
    pub by_outcome: std::collections::BTreeMap<String, i64>,
    pub households_with_app: i64,
    pub smartphones_seen: i64,
    pub already_installed: i64,
    pub installed_now: i64,
}

impl CoverageFigures {
    /// The figures of a coverage answer.
    pub fn of(coverage: &serde_json::Value) -> CoverageFigures {
        let n = |k: &str| coverage[k].as_i64().unwrap_or_else(|| panic!("coverage without {k}: {coverage}"));
        CoverageFigures {
            households_known: n("households_known"),
            households_visited: n("households_visited"),
            visits: n("visits"),
            by_outcome: serde_json::from_value(coverage["by_outcome"].clone())
                .unwrap_or_else(|e| panic!("coverage by_outcome: {e}: {coverage}")),
            households_with_app: n("households_with_app"),
            smartphones_seen: n("smartphones_seen"),
            already_installed: n("already_installed"),
            installed_now: n("installed_now"),
        }
    }

    /// What coverage must say for these households (the campaign's installed outcomes give
    /// `households_with_app`).
    pub fn expected<'a>(
        households: impl IntoIterator<Item = &'a HouseholdFigures>, campaign: &doorstep_domain::Campaign,
    ) -> CoverageFigures {
        let mut c = CoverageFigures::default();
        for h in households {
            c.households_known += 1;
            c.visits += h.visits;
            c.smartphones_seen += h.smartphones.unwrap_or(0);
            c.already_installed += h.already_installed.unwrap_or(0);
            c.installed_now += h.installed_now.unwrap_or(0);
            if let Some(o) = &h.latest_outcome {
                c.households_visited += 1;
                *c.by_outcome.entry(o.clone()).or_default() += 1;
                if campaign.outcome(o).is_some_and(|d| d.installed) {
                    c.households_with_app += 1;
                }
            }
        }
        c
    }
}

impl TestDb {
    /// An id column as text (a BLOB on SQLite, a UUID on PostgreSQL), to go through `uuid_text`.
    fn id_text(&self, column: &str) -> String {
        if self.is_postgres() { format!("{column}::text") } else { format!("lower(hex({column}))") }
    }

    fn number(v: &Option<String>) -> Option<i64> {
        v.as_deref().map(|s| s.parse().unwrap_or_else(|_| panic!("not a number: {s}")))
    }

    /// Every venue visit's (id, revision) the server holds.
    pub fn venue_visit_ids(&self) -> std::collections::BTreeSet<(String, i64)> {
        self.rows(&format!("SELECT {}, revision FROM venue_visits", self.id_text("id")))
            .into_iter()
            .map(|r| (uuid_text(r[0].as_deref().unwrap_or_default()), TestDb::number(&r[1]).unwrap_or(0)))
            .collect()
    }

    /// Every household's figures as the server keeps them, by id.
    pub fn household_figures(&self) -> std::collections::BTreeMap<String, HouseholdFigures> {
        self.rows(&format!(
            "SELECT {}, area_code, visits, latest_outcome, people, smartphones, already_installed, installed_now,
                    latest_visited_at_ms
             FROM households",
            self.id_text("id")
        ))
        .into_iter()
        .map(|r| {
            let figures = HouseholdFigures {
                area_code: r[1].clone().unwrap_or_default(),
                visits: TestDb::number(&r[2]).unwrap_or(0),
                latest_outcome: r[3].clone(),
                people: TestDb::number(&r[4]),
                smartphones: TestDb::number(&r[5]),
                already_installed: TestDb::number(&r[6]),
                installed_now: TestDb::number(&r[7]),
                latest_visited_at_ms: TestDb::number(&r[8]),
            };
            (uuid_text(r[0].as_deref().unwrap_or_default()), figures)
        })
        .collect()
    }

    /// Every area's materialised path, by code.
    pub fn area_paths(&self) -> std::collections::BTreeMap<String, String> {
        self.rows("SELECT code, path FROM areas")
            .into_iter()
            .map(|r| (r[0].clone().unwrap_or_default(), r[1].clone().unwrap_or_default()))
            .collect()
    }

    /// Invariant 12: `area_stats` equals a full recount over the households, for every area and
    /// outcome (rows left at zero by households that moved on are no figure). The recount is
    /// written here, not taken from the server, so a mistake in the server's own rebuild would not
    /// hide one in ingest.
    pub fn check_area_stats(&self) -> Result<(), String> {
        self.check_area_stats_in(&self.area_paths())
    }

    /// [`TestDb::check_area_stats`] with the areas' paths read already.
    fn check_area_stats_in(&self, paths: &std::collections::BTreeMap<String, String>) -> Result<(), String> {
        type Key = (String, String);
        let read = |sql: &str| -> std::collections::BTreeMap<Key, [i64; 5]> {
            self.rows(sql)
                .into_iter()
                .map(|r| {
                    let n = |i: usize| TestDb::number(&r[i]).unwrap_or(0);
                    let key = (r[0].clone().unwrap_or_default(), r[1].clone().unwrap_or_default());
                    (key, [n(2), n(3), n(4), n(5), n(6)])
                })
                .filter(|(_, f)| f.iter().any(|n| *n != 0))
                .collect()
        };
        let kept = read(
            "SELECT area_code, outcome, households, visits, smartphones, already_installed, installed_now
             FROM area_stats",
        );
        // Households summed per area and outcome (a few rows), then into the area and each of
        // its ancestors, which its path names.
        let mut recount: std::collections::BTreeMap<Key, [i64; 5]> = std::collections::BTreeMap::new();
        for ((area, outcome), figures) in read(
            "SELECT area_code, COALESCE(latest_outcome, ''), COUNT(*), SUM(visits),
                    SUM(COALESCE(smartphones, 0)), SUM(COALESCE(already_installed, 0)),
                    SUM(COALESCE(installed_now, 0))
             FROM households GROUP BY area_code, COALESCE(latest_outcome, '')",
        ) {
            let path =
                paths.get(&area).ok_or_else(|| format!("households in {area}, an area the server does not hold"))?;
            for code in path.split('/').filter(|c| !c.is_empty()) {
                let sum = recount.entry((code.to_string(), outcome.clone())).or_default();
                for (s, f) in sum.iter_mut().zip(figures) {
                    *s += f;
                }
            }
        }
        if kept == recount {
            return Ok(());
        }
        let keys: std::collections::BTreeSet<&Key> = kept.keys().chain(recount.keys()).collect();
        let differ: Vec<String> = keys
            .into_iter()
            .filter(|k| kept.get(*k) != recount.get(*k))
            .take(8)
            .map(|k| format!("{k:?}: kept {:?}, recount {:?}", kept.get(k), recount.get(k)))
            .collect();
        Err(format!(
            "area_stats differs from a recount over the households (households, visits, smartphones, \
             already installed, installed now): {}",
            differ.join("; ")
        ))
    }
}

/// The areas whose coverage is compared: every area above the phones' visits (their own, each
/// ancestor, up to the province).
pub fn areas_above(db: &TestDb, phones: &PhoneRecords) -> Vec<String> {
    let paths = db.area_paths();
    let mut out = std::collections::BTreeSet::new();
    for v in &phones.visits {
        if let Some(path) = paths.get(&v.area_code) {
            out.extend(path.split('/').filter(|c| !c.is_empty()).map(str::to_string));
        }
    }
    out.into_iter().collect()
}

/// Every figure the server derives from visits against the phones' records: each household's
/// (no household missing, none the phones never visited, [`expected_households`]), `area_stats`
/// against a recount, and the coverage answers given (by area code; [`areas_above`]) against the
/// households the phones' records call for under each area. The server's visits must be exactly
/// the phones' (checked by the caller); `received` is their receive order.
pub fn check_figures(
    db: &TestDb, phones: &PhoneRecords, received: &[(String, i64)],
    coverage: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Result<(), String> {
    let expected = expected_households(phones, received);
    let held = db.household_figures();
    if held != expected {
        let ids: std::collections::BTreeSet<&String> = held.keys().chain(expected.keys()).collect();
        let differ: Vec<_> = ids.iter().filter(|id| held.get(**id) != expected.get(**id)).collect();
        let shown: Vec<String> = differ
            .iter()
            .take(5)
            .map(|id| format!("household {id}: server {:?}, phones {:?}", held.get(**id), expected.get(**id)))
            .collect();
        return Err(format!(
            "{} of {} households differ from the phones' records: {}",
            differ.len(),
            ids.len(),
            shown.join("; ")
        ));
    }
    let paths = db.area_paths();
    db.check_area_stats_in(&paths)?;
    let campaign = doorstep_domain::Campaign::bluezone();
    for (code, answer) in coverage {
        let path = paths.get(code).ok_or_else(|| format!("no area {code}"))?;
        let under = expected.values().filter(|h| paths.get(&h.area_code).is_some_and(|p| p.starts_with(path.as_str())));
        let want = CoverageFigures::expected(under, &campaign);
        let got = CoverageFigures::of(answer);
        if got != want {
            return Err(format!(
                "coverage of {code} differs from the phones' records: server {got:?}, phones {want:?}"
            ));
        }
    }
    Ok(())
}

impl TestServer {
    /// The server holds exactly the phones' visits and venue visits (none missing, none the
    /// phones did not make), and every figure it derives from them is what the phones' records
    /// say ([`check_figures`]; coverage through the API, as the admin). Panics with what differs.
    pub async fn assert_matches_phones(&self, phones: &PhoneRecords) {
        let received = self.visit_ids();
        let held: std::collections::BTreeSet<(String, i64)> =
            received.iter().map(|(id, rev)| (uuid_text(id), *rev)).collect();
        let recorded = phones.visit_ids();
        assert_eq!(
            received.len(),
            recorded.len(),
            "the server holds {} visits, the phones {}",
            received.len(),
            recorded.len()
        );
        let missing: Vec<_> = recorded.difference(&held).take(5).collect();
        let foreign: Vec<_> = held.difference(&recorded).take(5).collect();
        assert!(
            missing.is_empty() && foreign.is_empty(),
            "visits on the phones but not on the server: {missing:?}; on the server but on no phone: {foreign:?}"
        );
        let venues_held = self.db.venue_visit_ids();
        let venues_recorded = phones.venue_visit_ids();
        let missing: Vec<_> = venues_recorded.difference(&venues_held).take(5).collect();
        let foreign: Vec<_> = venues_held.difference(&venues_recorded).take(5).collect();
        assert!(
            missing.is_empty() && foreign.is_empty(),
            "venue visits on the phones but not on the server: {missing:?}; on the server but on no phone: {foreign:?}"
        );
        let mut coverage = std::collections::BTreeMap::new();
        for area in areas_above(&self.db, phones) {
            let answer = self.coverage(&area).await;
            coverage.insert(area, answer);
        }
        if let Err(e) = check_figures(&self.db, phones, &received, &coverage) {
            panic!("{e}");
        }
    }
}

/// Waits for `child` to end, as `Child::wait_with_output` does, but no longer than `limit`: past
/// it the child is killed and the test fails, saying what hung and what it printed, so that a hang
/// fails the run at once instead of holding it.
pub fn wait_within(mut child: Child, limit: Duration, what: &str) -> std::process::Output {
    fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut out);
            }
            out
        })
    }
    let (stdout, stderr) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
    match status {
        Some(status) => std::process::Output { status, stdout, stderr },
        None => {
            let tail = |b: &[u8]| {
                let text = String::from_utf8_lossy(b);
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(20)..].join("\n")
            };
            panic!(
                "{what} still ran after {} s, its bound; killed.\nstdout:\n{}\nstderr:\n{}",
                limit.as_secs(),
                tail(&stdout),
                tail(&stderr)
            )
        }
    }
}

impl TestServer {
    /// Sends again, with the phone's own token, the first `n` visits of the phone whose store is
    /// `phone_db`, all of which the server must hold already: what a phone killed between the
    /// server's commit and its own receipt does. Every receipt must say `duplicate`. Tests of
    /// random kills call it so that their figures' checks meet a duplicate whatever the timing.
    pub async fn send_again(&self, phone_db: &Path, n: usize) {
        let (device_id, token) = {
            let store = DeviceStore::open(phone_db).expect("open the phone's store");
            let token = store.device_token().expect("read the phone's token").expect("an enrolled phone");
            (store.device_id().to_string(), token.expose().to_string())
        };
        let records: Vec<_> = PhoneRecords::read(phone_db).visits.into_iter().take(n).collect();
        assert!(!records.is_empty(), "no visit on the phone to send again");
        let body = serde_json::json!({
            "device_id": device_id,
            "sent_at": Utc::now().to_rfc3339(),
            "records": records,
        });
        let (status, answer) = self.post_as("/api/v1/sync/push", &token, &body).await;
        assert_eq!(status, 200, "{answer}");
        let receipts = answer["receipts"].as_array().expect("receipts");
        assert_eq!(receipts.len(), records.len(), "{answer}");
        assert!(
            receipts.iter().all(|r| r["status"] == "duplicate"),
            "a visit the server held was not answered duplicate: {answer}"
        );
    }
}

/// A small, valid PMTiles (version 3) file written here, for the base map tests: one vector
/// tile at zoom 0 holding a `water` square over the whole world (drawn blue: a screenshot shows
/// it), over Hà Tĩnh's bounds, `padding` bytes longer so that it spans several of the server's
/// 256 KiB chunks, and `name` in the metadata, so two files differ.
pub fn small_pmtiles(name: &str, padding: usize) -> Vec<u8> {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    // The tile: one layer "water", one polygon feature, the square of the extent (4096).
    let mut geometry = Vec::new();
    for v in [9u64, 0, 0, 26, 8192, 0, 0, 8192, 8191, 0, 15] {
        varint(v, &mut geometry);
    }
    let mut feature = vec![0x18, 3, 0x22];
    varint(geometry.len() as u64, &mut feature);
    feature.extend_from_slice(&geometry);
    let mut layer = vec![0x78, 2, 0x0A, 5];
    layer.extend_from_slice(b"water");
    layer.push(0x12);
    varint(feature.len() as u64, &mut layer);
    layer.extend_from_slice(&feature);
    layer.extend_from_slice(&[0x28, 0x80, 0x20]);
    let mut tile = vec![0x1A];
    varint(layer.len() as u64, &mut tile);
    tile.extend_from_slice(&layer);
    // The root directory: one entry, tile 0, run 1, its length, offset 0 (written as 0 + 1).
    let mut dir = Vec::new();
    for v in [1u64, 0, 1, tile.len() as u64, 1] {
        varint(v, &mut dir);
    }
    let metadata =
        serde_json::json!({"name": name, "vector_layers": [{"id": "water", "fields": {}}]}).to_string().into_bytes();
    // The padding is an unreferenced leaf-directory section: readers never fetch it, and the
    // metadata stays small (the app's asset protocol answers at most 1 MB a range, as real
    // metadata and tiles are).
    let (root, meta) = (127u64, 127 + dir.len() as u64);
    let leaves = meta + metadata.len() as u64;
    let data = leaves + padding as u64;
    let mut h = b"PMTiles".to_vec();
    h.push(3);
    for v in
        [root, dir.len() as u64, meta, metadata.len() as u64, leaves, padding as u64, data, tile.len() as u64, 1, 1, 1]
    {
        h.extend_from_slice(&v.to_le_bytes());
    }
    // Clustered, no internal compression, no tile compression, vector tiles, zooms 0 to 0.
    h.extend_from_slice(&[1, 1, 1, 1, 0, 0]);
    for deg in [105.5f64, 17.9, 106.5, 18.6] {
        h.extend_from_slice(&((deg * 1e7) as i32).to_le_bytes());
    }
    h.push(0);
    for deg in [106.0f64, 18.3] {
        h.extend_from_slice(&((deg * 1e7) as i32).to_le_bytes());
    }
    assert_eq!(h.len(), 127);
    [h, dir, metadata, vec![0u8; padding], tile].concat()
}
