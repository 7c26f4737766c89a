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

/// The workspace root, for data files.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
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
        cargo
            .args(["build", "--quiet", "-p", "doorstep", "--bin", "doorstep"])
            .current_dir(root());
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
    let out = Command::new(doorstep_bin())
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run doorstep");
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
        TestDb {
            url: format!("sqlite:{}", path.display()),
            pg: None,
            _dir: dir,
        }
    }

    /// An existing SQLite file (a backup, say).
    pub fn sqlite_at(path: &Path) -> TestDb {
        TestDb {
            url: format!("sqlite:{}", path.display()),
            pg: None,
            _dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn fresh() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        match test_pg() {
            Some(admin) => {
                let name = format!("doorstep_t_{}", uuid::Uuid::now_v7().simple());
                psql(&admin, &format!("CREATE DATABASE {name}"));
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .expect("database in the URL");
                TestDb {
                    url: format!("{base}/{name}"),
                    pg: Some((admin, name)),
                    _dir: dir,
                }
            }
            None => {
                let path = dir.path().join("server.db");
                TestDb {
                    url: format!("sqlite:{}", path.display()),
                    pg: None,
                    _dir: dir,
                }
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
                .map(|l| {
                    l.split('\u{1f}')
                        .map(|v| (v != "\u{1e}").then(|| v.to_string()))
                        .collect()
                })
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
                .map(|r| {
                    (
                        r[0].clone().unwrap_or_default(),
                        r[1].as_deref().and_then(|v| v.parse().ok()).unwrap_or(0),
                    )
                })
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
                .args([
                    "-X",
                    "-q",
                    "-d",
                    admin,
                    "-c",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ])
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
    db_url: &str,
    username: &str,
    role: &str,
    area: &str,
    password: &str,
) -> (bool, String, String) {
    let out = Command::new(doorstep_bin())
        .args([
            "admin",
            "--db",
            db_url,
            "create-user",
            "--username",
            username,
            "--role",
            role,
            "--area",
            area,
        ])
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
        let db = TestDb {
            url: other.db.url.clone(),
            pg: None,
            _dir: tempfile::tempdir().expect("tempdir"),
        };
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
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server did not start within 30 s");
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
        self.token
            .get_or_init(|| self.login(ADMIN, ADMIN_PASSWORD))
            .await
            .clone()
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
        let (status, body) = self
            .post_as(
                "/api/v1/enrolments",
                &token,
                &serde_json::json!({"volunteer": volunteer}),
            )
            .await;
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
        device
            .client(&self.url, 100)
            .enrol(&device.store, &code)
            .await
            .expect("enrol the test device");
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
        self.post(
            "/api/v1/sync/push",
            &[("content-type", "application/json")],
            body.to_string().into_bytes(),
        )
        .await
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
    let after = text
        .split_once("\"device_id\"")?
        .1
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
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
        TestDevice {
            store: Arc::new(Mutex::new(store)),
            dir,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn draft(&mut self, n: usize) -> VisitDraft {
        let area = COMMUNES_436[n % COMMUNES_436.len()];
        doorstep::generate::visit(
            &mut self.rng,
            None,
            area,
            doorstep::generate::base_point(area, Some("436")),
        )
    }

    /// Records `n` random visits and returns the drafts.
    pub fn record(&mut self, n: usize) -> Vec<VisitDraft> {
        let offset = FixedOffset::east_opt(7 * 3600).expect("offset");
        (0..n)
            .map(|i| {
                let d = self.draft(i);
                self.store
                    .lock()
                    .expect("lock")
                    .record_visit(&d, Utc::now().with_timezone(&offset))
                    .expect("record");
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
