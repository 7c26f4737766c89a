//! The real field app (the `doorstep-app` binary, its web view and bundled UI) driven through
//! WebDriver: Xvfb, `tauri-driver` and Debian's `WebKitWebDriver`, against a real server.
//! Enrol with a code, record visits with the server stopped and see them wait, start the server
//! and see them sent, check the server's coverage, switch to English and back. Screenshots of the
//! main screens go to `target/screenshots/` (or `DOORSTEP_SCREENSHOTS`, to refresh the committed
//! set in `docs/screenshots/`).
//!
//! Needs `Xvfb`, `tauri-driver` and `WebKitWebDriver` (scripts/setup.sh installs them) and the
//! app built with its UI (scripts/test.sh does both); without them this test fails, it never
//! skips.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use doorstep_tests::{TestServer, VOLUNTEER, free_port, root};
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A child process stopped on drop with SIGTERM, then waited for: SIGKILL would leave
/// WebKitWebDriver running behind tauri-driver.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn app_binary() -> PathBuf {
    match std::env::var_os("DOORSTEP_APP_BIN") {
        Some(p) => PathBuf::from(p),
        None => root().join("target/debug/doorstep-app"),
    }
}

fn require(path: &Path, how: &str) {
    assert!(path.exists(), "{} is missing: {how}", path.display());
}

fn which(cmd: &str) -> PathBuf {
    let out = Command::new("sh").args(["-c", &format!("command -v {cmd}")]).output().expect("sh");
    let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!found.is_empty(), "{cmd} is not installed: run scripts/setup.sh (the end-to-end app test needs it)");
    PathBuf::from(found)
}

/// A free X display number.
fn free_display() -> u32 {
    (90..200)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .expect("a free X display")
}

struct Driver {
    http: reqwest::Client,
    base: String,
    session: String,
    /// Taps made with [`Driver::tap`], as a volunteer's thumb would count them.
    taps: std::sync::atomic::AtomicUsize,
}

impl Driver {
    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("WebDriver request");
        let status = resp.status();
        let v: Value = resp.json().await.expect("WebDriver JSON");
        assert!(status.is_success(), "{path}: {status} {v}");
        v["value"].clone()
    }

    /// A command on an element that the UI may re-render meanwhile: found again and retried
    /// when the reference went stale.
    async fn on_element(&self, testid: &str, method: reqwest::Method, action: &str, body: Option<Value>) -> Value {
        self.on_element_scrolled(testid, method, action, body, true).await
    }

    async fn on_element_scrolled(
        &self, testid: &str, method: reqwest::Method, action: &str, body: Option<Value>, scroll: bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let id = self.wait(testid).await;
            if scroll && action == "/click" {
                // WebKitWebDriver does not scroll inside a scrolling box (the form is one, between
                // the header and the Save footer): bring the element into view first, as a
                // thumb would.
                let url = format!("{}/session/{}/execute/sync", self.base, self.session);
                let script = json!({
                    "script": "arguments[0].scrollIntoView({block: 'center'})",
                    "args": [{ ELEMENT: id }],
                });
                let _ = self.http.post(&url).json(&script).send().await;
            }
            let url = format!("{}/session/{}/element/{id}{action}", self.base, self.session);
            let mut req = self.http.request(method.clone(), &url);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req.send().await.expect("WebDriver request");
            let status = resp.status();
            let v: Value = resp.json().await.expect("WebDriver JSON");
            if status.is_success() {
                return v["value"].clone();
            }
            // Re-rendered under the finger, or still appearing: find it again and retry.
            let transient = matches!(
                v["value"]["error"].as_str(),
                Some("stale element reference" | "element not interactable" | "element click intercepted")
            );
            if !(transient && start.elapsed() < Duration::from_secs(30)) {
                // What the screen showed, for whoever reads the failure.
                self.screenshot(&root().join("target"), "app-test-failure").await;
            }
            assert!(transient && start.elapsed() < Duration::from_secs(30), "{testid}{action}: {status} {v}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn find(&self, testid: &str) -> Option<String> {
        let url = format!("{}/session/{}/element", self.base, self.session);
        let resp = self
            .http
            .post(&url)
            .json(&json!({"using": "css selector", "value": format!("[data-testid=\"{testid}\"]")}))
            .send()
            .await
            .expect("find");
        if !resp.status().is_success() {
            return None;
        }
        let v: Value = resp.json().await.ok()?;
        v["value"][ELEMENT].as_str().map(str::to_string)
    }

    /// Waits for an element to be there and shown.
    async fn wait(&self, testid: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(id) = self.find(testid).await {
                let url = format!("{}/session/{}/element/{id}/displayed", self.base, self.session);
                let shown = match self.http.get(&url).send().await {
                    Ok(r) => r.json::<Value>().await.ok().map(|v| v["value"] == json!(true)),
                    Err(_) => None,
                };
                if shown == Some(true) {
                    return id;
                }
            }
            if start.elapsed() >= Duration::from_secs(30) {
                // What the screen showed, for whoever reads the failure.
                self.screenshot(&root().join("target"), "app-test-failure").await;
                panic!("{testid} never appeared");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, testid: &str) {
        self.on_element(testid, reqwest::Method::POST, "/click", Some(json!({}))).await;
    }

    /// A counted tap on something the volunteer sees without scrolling: the screen is at its
    /// top and the element lies wholly inside it (or in the Save footer).
    async fn tap(&self, testid: &str) {
        let id = self.wait(testid).await;
        let url = format!("{}/session/{}/execute/sync", self.base, self.session);
        let script = json!({
            "script": "const r = arguments[0].getBoundingClientRect();
                       const screen = document.querySelector('.screen');
                       const s = screen.getBoundingClientRect();
                       const inFooter = !!arguments[0].closest('.screen-footer');
                       return { top: r.top, bottom: r.bottom, screenTop: s.top, screenBottom: s.bottom,
                                scrolled: screen.scrollTop, inFooter, width: window.innerWidth, height: window.innerHeight };",
            "args": [{ ELEMENT: id }],
        });
        let v: Value = self.http.post(&url).json(&script).send().await.expect("WebDriver").json().await.expect("JSON");
        let g = &v["value"];
        let f = |k: &str| g[k].as_f64().unwrap_or(f64::NAN);
        let seen = g["inFooter"] == json!(true)
            || (f("scrolled") == 0.0 && f("top") >= f("screenTop") && f("bottom") <= f("screenBottom") + 0.5);
        if !seen {
            self.screenshot(&root().join("target"), "app-test-failure").await;
        }
        assert!(seen, "{testid} is not in view without scrolling at {}×{}: {g}", f("width"), f("height"));
        self.taps.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // As it lies: a thumb does not scroll first.
        self.on_element_scrolled(testid, reqwest::Method::POST, "/click", Some(json!({})), false).await;
    }

    /// Taps counted since the last call.
    fn taps_since(&self) -> usize {
        self.taps.swap(0, std::sync::atomic::Ordering::SeqCst)
    }

    /// The `data-testid` of the first element whose testid starts with `prefix`.
    async fn first_testid(&self, prefix: &str) -> String {
        let start = Instant::now();
        loop {
            let js = format!(
                "const e = document.querySelector('[data-testid^=\"{prefix}\"]'); return e ? e.dataset.testid : null;"
            );
            if let Some(t) = self.script(&js).await.as_str() {
                return t.to_string();
            }
            assert!(start.elapsed() < Duration::from_secs(30), "nothing starting {prefix}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn type_into(&self, testid: &str, text: &str) {
        self.on_element(testid, reqwest::Method::POST, "/clear", Some(json!({}))).await;
        self.on_element(testid, reqwest::Method::POST, "/value", Some(json!({"text": text}))).await;
    }

    async fn text(&self, testid: &str) -> String {
        self.on_element(testid, reqwest::Method::GET, "/text", None)
            .await
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    async fn script(&self, js: &str) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(json!({"script": js, "args": []}))).await
    }

    /// Waits until the element's text is `want`.
    async fn wait_text(&self, testid: &str, want: &str) {
        let start = Instant::now();
        loop {
            let got = self.text(testid).await;
            if got == want {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "{testid}: {got:?}, expected {want:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn screenshot(&self, dir: &Path, name: &str) {
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64_decode(b64.as_str().unwrap_or_default());
        assert!(bytes.starts_with(b"\x89PNG"), "{name}: not a PNG");
        std::fs::write(dir.join(format!("{name}.png")), bytes).expect("write screenshot");
    }
}

/// Standard base64, as WebDriver sends screenshots; a tiny decoder rather than a dependency.
fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let Some(v) = ALPHABET.iter().position(|&a| a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volunteer_enrols_records_offline_and_the_visits_reach_the_server() {
    let app = app_binary();
    require(&app, "build it with `cargo build -p doorstep-app` after `npm run build` in ui/ (scripts/test.sh does)");
    let (xvfb, tauri_driver) = (which("Xvfb"), which("tauri-driver"));
    which("WebKitWebDriver");

    let mut server = TestServer::spawn();
    // IT has loaded a base map: the phone fetches it by itself at its first sync.
    server.kill();
    let map_file = tempfile::NamedTempFile::new().unwrap();
    let map = doorstep_tests::small_pmtiles("Hà Tĩnh (thử)", 1_200_000);
    std::fs::write(map_file.path(), &map).unwrap();
    let (ok, _, err) = doorstep_tests::doorstep(&[
        "admin",
        "--db",
        &server.db.url,
        "basemap",
        "import",
        &map_file.path().to_string_lossy(),
        "--name",
        "Hà Tĩnh (thử)",
    ]);
    assert!(ok, "{err}");
    server.start_again();
    let code = server.enrolment_code(VOLUNTEER).await;
    let data = tempfile::tempdir().unwrap();
    // The test's GPS (a machine here has no GPS chip): a file the app reads at every fix, so the
    // volunteer walks by rewriting it. Phường Nam Hà; the next door north is 44 m up the street.
    let (door_a, door_b) = ("18.3428,105.9057,6", "18.3432,105.9057,6");
    let here = data.path().join("here.txt");
    let walk_to = |spot: &str| std::fs::write(&here, spot).unwrap();
    walk_to(door_a);
    let shots = match std::env::var_os("DOORSTEP_SCREENSHOTS") {
        Some(d) => PathBuf::from(d),
        None => root().join("target/screenshots"),
    };
    std::fs::create_dir_all(&shots).unwrap();

    // The app is opened with the leader's card's link, as the system does when its QR is scanned
    // (Tauri's deep-link plugin reads it from the command line on Linux); the code written
    // carelessly, as a person might.
    let link = doorstep_domain::protocol::EnrolLink {
        server: server.url.clone(),
        code: code.to_lowercase().replace('-', " "),
        ca: None,
    }
    .to_url();
    let display = free_display();
    let _x = Proc(
        Command::new(xvfb)
            .args([
                format!(":{display}"),
                "-screen".into(),
                "0".into(),
                "1024x900x24".into(),
                "-nolisten".into(),
                "tcp".into(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb"),
    );
    let (port, native) = (free_port(), free_port());
    let _driver = Proc(
        Command::new(tauri_driver)
            .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("DISPLAY", format!(":{display}"))
            .env("DOORSTEP_DATA_DIR", data.path())
            .env("DOORSTEP_SERVER", &server.url)
            .env("DOORSTEP_FIXED_LOCATION_FILE", &here)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tauri-driver"),
    );
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let session = loop {
        let resp = http
            .post(format!("{base}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {"tauri:options": {"application": app, "args": [&link]}}}}))
            .send()
            .await;
        if let Ok(r) = resp
            && r.status().is_success()
        {
            let v: Value = r.json().await.unwrap();
            break v["value"]["sessionId"].as_str().unwrap().to_string();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no WebDriver session");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let d = Driver { http, base, session, taps: Default::default() };

    // Enrolment: Vietnamese first.
    d.wait("enrol-code").await;
    assert_eq!(d.script("return document.documentElement.lang").await, "vi");
    d.screenshot(&shots, "1-enrol").await;
    // Enrolment from the link: the form is filled, nobody types the server; the volunteer sees it
    // and taps Enrol.
    d.wait("enrol-from-link").await;
    let filled = d.script("return [document.querySelector('[data-testid=enrol-server]').value, document.querySelector('[data-testid=enrol-code]').value]").await;
    assert_eq!(filled, json!([server.url, code]), "the link filled the form");
    d.click("enrol-submit").await;
    d.wait("home").await;
    assert!(d.text("home-volunteer").await.contains(VOLUNTEER));
    d.wait_text("queue-pending", "0").await;

    // The base map came with the first sync, whole and checked, and stays for use offline.
    d.click("nav-settings").await;
    let start = Instant::now();
    while !d.text("settings-server-map").await.contains("đã tải về máy") {
        assert!(start.elapsed() < Duration::from_secs(60), "the base map never arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(d.text("settings-server-map").await.starts_with("Bản đồ nền của máy chủ: Hà Tĩnh (thử)"));
    assert_eq!(std::fs::read(data.path().join("basemaps/server.pmtiles")).unwrap(), map, "the server's very file");
    d.click("nav-home").await;
    d.wait("home").await;
    let note = d.script("return document.querySelector('[data-testid=map-note]')?.textContent ?? ''").await;
    assert!(!note.as_str().unwrap_or_default().contains("Chưa có bản đồ nền"), "drawn, not said to be missing: {note}");

    // A phone's screen: 360 × 640, where every tap below is counted and must need no scrolling.
    d.cmd(reqwest::Method::POST, "/window/rect", Some(json!({"width": 360, "height": 640}))).await;
    // The window manager-less X server applies it a moment later.
    let start = Instant::now();
    loop {
        let size = d.script("return [window.innerWidth, window.innerHeight]").await;
        if size[0].as_i64().unwrap_or(0) <= 360 && size[1].as_i64().unwrap_or(0) <= 640 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the window stayed {size}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The server goes away. A household of 4 people, 2 phones, both given the app now: 5 taps
    // (new visit, the outcome, 4, 2, Save); "installed now" follows from the phones.
    server.kill();
    d.taps_since();
    d.tap("new-visit").await;
    d.wait("visit-form").await;
    d.wait_text("household-current", "Hộ mới").await;
    d.tap("outcome-installed_now").await;
    d.tap("count-people-4").await;
    d.tap("count-smartphones-2").await;
    assert_eq!(
        d.script("return document.querySelector('[data-testid=count-installed_now-2]').getAttribute('aria-pressed')")
            .await,
        "true"
    );
    d.screenshot(&shots, "3-visit").await;
    d.tap("visit-save").await;
    d.wait("home").await;
    assert_eq!(d.taps_since(), 5, "the household of 4, 2 phones, 2 installed now");
    d.wait_text("queue-pending", "1").await;
    // Offline now: the base map is the phone's own copy, still drawn.
    let note = d.script("return document.querySelector('[data-testid=map-note]')?.textContent ?? ''").await;
    assert!(!note.as_str().unwrap_or_default().contains("bản đồ nền"), "offline, the base map stays: {note}");
    assert!(data.path().join("basemaps/server.pmtiles").exists());
    let drawn = d.script("const m = document.querySelector('[data-testid=map]'); return !!m && !m.classList.contains('nomap') && !!m.querySelector('canvas')").await;
    assert_eq!(drawn, json!(true), "the home map is drawn (WebGL in the web view)");
    let start = Instant::now();
    d.script("document.querySelector('[data-testid=map]').scrollIntoView({block: 'center'}); return 0").await;
    loop {
        let drawn = d.script("const m = window.__doorstepFieldMap; return m ? m.basemapDrawn() : 0").await;
        if drawn.as_i64().unwrap_or(0) > 0 {
            break;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let error = d.script("const m = window.__doorstepFieldMap; return m ? m.lastError() : 'no map'").await;
            panic!("the base map was never drawn from the phone's copy; the map's last error: {error}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    d.script("document.querySelector('[data-testid=map]').scrollIntoView({block: 'center'}); return 0").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    d.screenshot(&shots, "12-home-map-offline").await;
    d.script("document.querySelector('.screen').scrollTop = 0; return 0").await;

    // Next door up the street: a refusal with a listed reason, 4 taps; the address prompt shows
    // (a refusal is visited again) but is not required.
    walk_to(door_b);
    d.tap("new-visit").await;
    d.wait("visit-form").await;
    d.tap("outcome-refused").await;
    d.wait("address-row").await;
    d.screenshot(&shots, "9-refusal").await;
    d.tap("reason-0").await;
    d.tap("visit-save").await;
    d.wait("home").await;
    assert_eq!(d.taps_since(), 4, "a refusal with a listed reason");
    d.wait_text("queue-pending", "2").await;

    // Back at the first door, another household (a flat in the same house): the app asks whether
    // it is the same household rather than choosing.
    walk_to(door_a);
    d.click("new-visit").await;
    d.wait("household-ask").await;
    d.screenshot(&shots, "10-same-household").await;
    d.click("household-new").await;
    d.click("outcome-installed_now").await;
    d.click("visit-save").await;
    d.wait("home").await;
    d.wait_text("queue-pending", "3").await;

    // The refusal is due again: the home count agrees with the list, which says where it is
    // from here and walks there first; a revisit from the list is 3 taps.
    d.wait_text("revisits-count", "1").await;
    d.click("nav-revisits").await;
    let visit = d.first_testid("revisit-visit-").await;
    let id = visit.trim_start_matches("revisit-visit-").to_string();
    let where_ = d.text(&format!("revisit-where-{id}")).await;
    assert!(where_.starts_with("44 m về phía Bắc"), "{where_}");
    d.screenshot(&shots, "11-revisits").await;
    d.taps_since();
    d.tap(&visit).await;
    d.wait("visit-form").await;
    d.tap("outcome-installed_now").await;
    d.tap("visit-save").await;
    d.wait("home").await;
    assert_eq!(d.taps_since(), 3, "a revisit from the list");
    d.wait_text("queue-pending", "4").await;
    d.wait_text("queue-sent", "0").await;
    // A school on the way: registered by its first visit, saved on the phone like the households.
    d.click("open-venues").await;
    d.wait("venues").await;
    d.click("venue-add").await;
    d.wait("venue-form").await;
    d.type_into("venue-name", "Trường THCS Lê Văn Thiêm").await;
    d.type_into("venue-people_reached", "35").await;
    d.screenshot(&shots, "8-venue").await;
    d.click("venue-save").await;
    d.wait("venues").await;
    d.click("nav-home").await;
    d.wait("venues-pending").await;
    let start = Instant::now();
    while !d.text("venues-pending").await.contains('1') {
        assert!(start.elapsed() < Duration::from_secs(30), "the venue visit never shown waiting");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let start = Instant::now();
    while d.script("return document.querySelector('[data-testid=online-state]').dataset.online").await != "false" {
        assert!(start.elapsed() < Duration::from_secs(60), "never shown offline");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    d.screenshot(&shots, "2-home-waiting").await;
    d.click("nav-today").await;
    d.screenshot(&shots, "4-today").await;
    d.click("nav-home").await;

    // Back: sync now (the app would also retry by itself), and everything is sent.
    server.start_again();
    d.click("nav-settings").await;
    d.screenshot(&shots, "5-settings").await;
    d.click("sync-now").await;
    d.click("nav-home").await;
    d.wait_text("queue-sent", "4").await;
    d.wait_text("queue-pending", "0").await;
    let coverage = server.coverage("42").await;
    assert_eq!((coverage["visits"].as_i64(), coverage["installed_now"].as_i64()), (Some(4), Some(4)), "{coverage}");
    assert_eq!(server.visit_count(), 4);
    let counted = "SELECT count(*) FROM visits WHERE people = 4 AND smartphones = 2 AND already_installed = 0 AND installed_now = 2";
    assert_eq!(server.db.i64(counted), 1, "the household of four reached the server as recorded");
    assert_eq!(
        server.db.text("SELECT reason FROM visits WHERE outcome = 'refused'").as_deref(),
        Some("Lo lộ thông tin cá nhân")
    );
    let start = Instant::now();
    while server.db.i64("SELECT count(*) FROM venue_visits") != 1 {
        assert!(start.elapsed() < Duration::from_secs(60), "the venue visit never reached the server");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(server.db.text("SELECT name FROM venues").as_deref(), Some("Trường THCS Lê Văn Thiêm"));
    assert_eq!(server.db.i64("SELECT people_reached FROM venue_visits"), 35);
    d.screenshot(&shots, "6-home-sent").await;

    // English and back.
    d.click("nav-settings").await;
    d.click("settings-language-en").await;
    d.click("nav-home").await;
    assert_eq!(d.script("return document.documentElement.lang").await, "en");
    let english = d.text("new-visit").await;
    d.screenshot(&shots, "7-home-english").await;
    d.click("nav-settings").await;
    d.click("settings-language-vi").await;
    d.click("nav-home").await;
    assert_eq!(d.script("return document.documentElement.lang").await, "vi");
    let vietnamese = d.text("new-visit").await;
    assert_ne!(english, vietnamese, "the label changed language");

    let _ = d.http.delete(format!("{}/session/{}", d.base, d.session)).send().await;
}
