//! Accounts and sessions, on SQLite and on PostgreSQL: Argon2id hashes, tokens stored only as
//! hashes, expiry, logout, one answer for every failed login, and nothing secret in the logs.

use std::time::Duration;

use doorstep_tests::{TestDb, TestServer, doorstep, doorstep_bin, three_tier_file};
use serde_json::{Value, json};

const PASSWORD: &str = "mật khẩu của Lan 2020";

fn create_user(db: &str, username: &str, role: &str, area: &str, password: &str) -> (bool, String, String) {
    doorstep_tests::try_create_account(db, username, role, area, password)
}

async fn login(server: &TestServer, username: &str, password: &str) -> (u16, Value) {
    server
        .post(
            "/api/v1/auth/login",
            &[("content-type", "application/json")],
            json!({"username": username, "password": password}).to_string().into_bytes(),
        )
        .await
}

async fn me(server: &TestServer, token: &str) -> (u16, Value) {
    let resp =
        reqwest::Client::new().get(format!("{}/api/v1/auth/me", server.url)).bearer_auth(token).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_use_the_session_and_sign_out() {
    // Accounts are made with the server stopped: on SQLite one process holds the file.
    let mut server = TestServer::prepare_stopped();
    let (ok, out, err) = create_user(&server.db.url, "Lan.Nguyen", "leader", "436", PASSWORD);
    assert!(ok, "{err}");
    assert!(out.contains("lan.nguyen as leader of 436"), "{out}");
    server.start_again();

    // The password is kept as an Argon2id hash with OWASP's parameters, never in clear.
    let stored = server.db.text("SELECT password_hash FROM users WHERE username = 'lan.nguyen'").unwrap();
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
    assert!(!stored.contains(PASSWORD));

    let (status, body) = login(&server, "LAN.NGUYEN", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 64, "256 random bits");
    assert_eq!(body["user"], json!({"username": "lan.nguyen", "role": "leader", "area_code": "436"}));
    // Only a hash of the token is stored.
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM sessions"), 1);
    let held = server.db.rows("SELECT * FROM sessions");
    assert!(held.iter().flatten().flatten().all(|v| !v.contains(&token)));

    let (status, who) = me(&server, &token).await;
    assert_eq!((status, who["role"].as_str()), (200, Some("leader")));

    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/logout", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let (status, body) = me(&server, &token).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthenticated")));
    let (status, _) = me(&server, "not-a-token").await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failed_sign_in_gets_the_same_answer() {
    let mut server = TestServer::prepare_stopped();
    assert!(create_user(&server.db.url, "minh", "volunteer", "18073", PASSWORD).0);
    server.start_again();
    let (s1, wrong) = login(&server, "minh", "sai mật khẩu rồi").await;
    let (s2, unknown) = login(&server, "nobody-here", PASSWORD).await;
    let (s3, bad_name) = login(&server, "x", PASSWORD).await;
    for (s, b) in [(s1, &wrong), (s2, &unknown), (s3, &bad_name)] {
        assert_eq!(s, 401, "{b}");
        assert_eq!(b["error"]["code"], "invalid_credentials");
    }
    assert_eq!(wrong, unknown, "the answer does not tell whether the name exists");
    let (status, body) =
        server.post("/api/v1/auth/login", &[("content-type", "application/json")], b"{\"username\": 5}".to_vec()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("malformed_json")));
}

#[test]
fn accounts_are_refused_with_reasons_and_audited() {
    let db = TestDb::fresh();
    doorstep_tests::import_areas(&db.url, &three_tier_file());
    assert!(create_user(&db.url, "hoa", "committee", "42", PASSWORD).0);
    for (username, role, area, password, says) in [
        ("hoa", "committee", "42", PASSWORD, "taken"),
        ("ab", "leader", "436", PASSWORD, "3 to 64"),
        ("new-one", "king", "436", PASSWORD, "Unknown role"),
        ("new-one", "leader", "436", "short", "at least 10"),
        ("new-one", "leader", "99999", PASSWORD, ""),
    ] {
        let (ok, _, err) = create_user(&db.url, username, role, area, password);
        assert!(!ok, "{username} {role} {area}");
        assert!(err.contains(says), "{err}");
        assert!(!err.contains(PASSWORD));
    }
    let (ok, out, _) = doorstep(&["admin", "--db", &db.url, "audit"]);
    assert!(ok);
    let entries: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // Newest first: the one account made, then the area import; the refused ones left no trace.
    let actions: Vec<(&str, &str)> =
        entries.iter().map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap())).collect();
    assert_eq!(actions, [("cli", "create-user"), ("cli", "import-areas")], "{out}");
    assert!(!out.contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_and_nothing_secret_or_personal_is_logged() {
    let db = TestDb::fresh();
    doorstep_tests::import_areas(&db.url, &three_tier_file());
    assert!(create_user(&db.url, "expiring", "admin", "42", PASSWORD).0);
    assert!(create_user(&db.url, "v.logged", "volunteer", "42", PASSWORD).0);
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = std::process::Command::new(doorstep_bin())
        .args(["serve", "--db", &db.url, "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "debug")
        .env("DOORSTEP_SESSION_TTL_SECS", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let url = line.trim().strip_prefix("doorstep listening on ").unwrap().to_string();
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"username": "expiring", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let token = resp.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let status = |t: String| {
        let (client, url) = (client.clone(), url.clone());
        async move { client.get(format!("{url}/api/v1/auth/me")).bearer_auth(t).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(token.clone()).await, 200);
    // An enrolment code, a phone's token and a visit's personal fields cross the server too.
    let code = client
        .post(format!("{url}/api/v1/enrolments"))
        .bearer_auth(&token)
        .json(&json!({"volunteer": "v.logged"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let mut phone = doorstep_tests::TestDevice::new(51);
    let sync = phone.client(&url, 10);
    sync.enrol(&phone.store, &code).await.unwrap();
    let (address, notes) = ("Số 17 ngõ Bí Mật", "ghi chú riêng 4242");
    let mut draft = phone.draft(0);
    draft.address = Some(address.into());
    draft.notes = Some(notes.into());
    let offset = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
    phone.store.lock().unwrap().record_visit(&draft, chrono::Utc::now().with_timezone(&offset)).unwrap();
    assert!(sync.drain(&phone.store, None).await.complete);
    let device_token = phone.store.lock().unwrap().device_token().unwrap().unwrap().expose().to_string();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(status(token.clone()).await, 401, "the session expired");
    let _ = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"username": "expiring", "password": "wrong password here"}))
        .send()
        .await;
    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert!(logged.contains("signed in"), "the log was captured: {logged}");
    assert!(logged.contains("a device enrolled"), "the enrolment was logged: {logged}");
    let code_typed = code.replace('-', "");
    for (what, secret) in [
        ("the password", PASSWORD),
        ("the session token", token.as_str()),
        ("a wrong password", "wrong password here"),
        ("the enrolment code", code.as_str()),
        ("the enrolment code", code_typed.as_str()),
        ("the device token", device_token.as_str()),
        ("an address", address),
        ("a note", notes),
    ] {
        // The label, never the value: a failing test must not print the secret either.
        assert!(!logged.contains(secret), "{what} reached the log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_make_sign_in_wait() {
    let mut server = TestServer::prepare_stopped();
    assert!(create_user(&server.db.url, "target", "leader", "436", PASSWORD).0);
    server.start_again();
    let client = reqwest::Client::new();
    let attempt = |password: &'static str, username: &str| {
        let username = username.to_string();
        let (client, url) = (client.clone(), server.url.clone());
        async move {
            let resp = client
                .post(format!("{url}/api/v1/auth/login"))
                .json(&json!({"username": username, "password": password}))
                .send()
                .await
                .unwrap();
            let retry =
                resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            (status, retry, body)
        }
    };
    for _ in 0..doorstep_server::auth::ACCOUNT_FREE_FAILURES {
        assert_eq!(attempt("wrong password!!", "target").await.0, 401);
    }
    // Now even the right password must wait, and is told how long, without being checked.
    let (status, retry, body) = attempt(PASSWORD, "target").await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("too_many_attempts")), "{body}");
    let retry = retry.expect("Retry-After");
    assert!((1..=2).contains(&retry), "{retry}");
    // Another account from the same address is not held up by it.
    assert_eq!(server.login(doorstep_tests::ADMIN, doorstep_tests::ADMIN_PASSWORD).await.len(), 64);
    tokio::time::sleep(Duration::from_millis(retry * 1000 + 200)).await;
    assert_eq!(attempt(PASSWORD, "target").await.0, 200, "after the wait the right password works");
    // Many names tried from one address: the address waits too, whichever account it names.
    let mut held_up = false;
    for i in 0..doorstep_server::auth::ADDRESS_FREE_FAILURES {
        if attempt("wrong password!!", &format!("guess{i}")).await.0 == 429 {
            held_up = true;
            break;
        }
    }
    assert!(held_up, "the address was never held up");
    let (status, _, _) = attempt(doorstep_tests::ADMIN_PASSWORD, doorstep_tests::ADMIN).await;
    assert_eq!(status, 429, "the address is held up after too many failures");
}

/// A sign-in as a client at `from` (an `X-Forwarded-For` the server believes only from a trusted
/// proxy): (status, Retry-After, body).
async fn login_from(
    client: &reqwest::Client, url: &str, from: Option<&str>, username: &str, password: &str,
) -> (u16, Option<u64>, Value) {
    let mut request =
        client.post(format!("{url}/api/v1/auth/login")).json(&json!({"username": username, "password": password}));
    if let Some(from) = from {
        request = request.header("x-forwarded-for", from);
    }
    let resp = request.send().await.unwrap();
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let status = resp.status().as_u16();
    (status, retry, resp.json().await.unwrap_or(Value::Null))
}

/// The same server seen through a "proxy": the test talks from 127.0.0.1, which the server is
/// told to trust, and names the client in `X-Forwarded-For` as nginx would.
fn behind_a_proxy() -> TestServer {
    let mut server = TestServer::prepare_stopped();
    assert!(create_user(&server.db.url, "target", "leader", "436", PASSWORD).0);
    let port = server.port;
    server.start_with(port, &["--trusted-proxies", "127.0.0.1/32"]);
    server
}

fn vm_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"))
}

/// 200 sign-ins at once, each from its own address (so the throttle lets them all through and
/// only the gate on password checks stands), unknown names and long passwords: the server's
/// memory stays under 150 MB at its peak and after, and the admin's right password, sent in the
/// middle of them, is answered within 2 s. (It may be told 503 with `Retry-After` when every
/// check and place in line is taken: the client honours that once, as the dashboard does.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sign_ins_at_once_keep_memory_bounded_and_a_right_one_gets_through() {
    let server = behind_a_proxy();
    let pid = server.pid().unwrap();
    let before = vm_kib(pid, "VmRSS:");
    let client = reqwest::Client::new();
    let long_password = "x".repeat(1000);
    let mut flood = Vec::new();
    let mut admin = None;
    for i in 0..200u32 {
        let (c, url, password) = (client.clone(), server.url.clone(), long_password.clone());
        flood.push(tokio::spawn(async move {
            let from = format!("203.0.{}.{}", i / 200, i % 200 + 1);
            login_from(&c, &url, Some(&from), &format!("nobody{i}"), &password).await
        }));
        if i == 100 {
            // Half of them are in; the admin signs in from elsewhere.
            let (c, url) = (client.clone(), server.url.clone());
            admin = Some(tokio::spawn(async move {
                let started = std::time::Instant::now();
                let from = Some("198.51.100.7");
                let (admin, password) = (doorstep_tests::ADMIN, doorstep_tests::ADMIN_PASSWORD);
                let mut answer = login_from(&c, &url, from, admin, password).await;
                let first = answer.0;
                if answer.0 == 503 {
                    let retry = answer.1.expect("a 503 says when to come back");
                    assert!(retry <= 1, "{retry}");
                    tokio::time::sleep(Duration::from_secs(retry)).await;
                    answer = login_from(&c, &url, from, admin, password).await;
                }
                (answer, first, started.elapsed())
            }));
        }
    }
    let mut statuses = std::collections::BTreeMap::new();
    for task in flood {
        let (status, retry, body) = task.await.unwrap();
        *statuses.entry(status).or_insert(0) += 1;
        match status {
            401 => assert_eq!(body["error"]["code"], "invalid_credentials"),
            503 => {
                assert_eq!(body["error"]["code"], "sign_in_busy", "{body}");
                assert_eq!(retry, Some(1), "503 says when to come back");
                assert!(body["error"]["messages"]["vi"].is_string() && body["error"]["messages"]["en"].is_string());
            }
            other => panic!("{other}: {body}"),
        }
    }
    let ((status, _, body), first, took) = admin.unwrap().await.unwrap();
    assert_eq!(status, 200, "the admin signed in: {body}");
    assert!(took < Duration::from_secs(2), "the admin waited {took:?}");
    let peak = vm_kib(pid, "VmHWM:");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = vm_kib(pid, "VmRSS:");
    eprintln!(
        "200 sign-ins at once: {statuses:?}; the admin first told {first}, signed in after {took:?}; \
         resident {before} kB before, peak {peak} kB, {after} kB after"
    );
    assert!(peak < 150 * 1024, "peak resident {peak} kB");
    assert!(after < 150 * 1024, "resident after {after} kB");
    assert_eq!(statuses.values().sum::<i32>(), 200);
}

/// Behind a trusted proxy, failures from other clients lock no one else out: 30 failed sign-ins
/// with random names from random addresses leave the admin free; 30 from one address hold that
/// address up, not the admin at another; and 5 wrong passwords for an account from address A
/// hold its owner up at A only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_is_throttled_on_its_own() {
    let server = behind_a_proxy();
    let client = reqwest::Client::new();
    let url = server.url.as_str();
    for i in 0..30u32 {
        let from = format!("203.0.113.{}", i + 1);
        let (status, _, body) = login_from(&client, url, Some(&from), &format!("guess{i}"), "wrong password!!").await;
        assert_eq!(status, 401, "{body}");
    }
    let (status, _, body) =
        login_from(&client, url, Some("198.51.100.7"), doorstep_tests::ADMIN, doorstep_tests::ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "random clients' failures do not lock the admin out: {body}");

    // One client failing again and again is held up itself...
    let mut held_up = None;
    for i in 0..=doorstep_server::auth::ADDRESS_FREE_FAILURES {
        let (status, retry, _) =
            login_from(&client, url, Some("203.0.113.200"), &format!("other{i}"), "wrong password!!").await;
        if status == 429 {
            held_up = retry;
            break;
        }
    }
    assert!(held_up.is_some(), "one address's failures hold that address up");
    let (status, _, _) =
        login_from(&client, url, Some("203.0.113.200"), doorstep_tests::ADMIN, doorstep_tests::ADMIN_PASSWORD).await;
    assert_eq!(status, 429, "whichever account it names");
    // ...and no one else.
    let (status, _, _) =
        login_from(&client, url, Some("198.51.100.8"), doorstep_tests::ADMIN, doorstep_tests::ADMIN_PASSWORD).await;
    assert_eq!(status, 200);

    // 5 wrong passwords for "target" from A: A must wait, even with the right password...
    let a = Some("192.0.2.10");
    for _ in 0..doorstep_server::auth::ACCOUNT_FREE_FAILURES {
        assert_eq!(login_from(&client, url, a, "target", "wrong password!!").await.0, 401);
    }
    let (status, retry, body) = login_from(&client, url, a, "target", PASSWORD).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("too_many_attempts")));
    assert!(retry.is_some());
    // ...while the owner, at B, signs in.
    let (status, _, body) = login_from(&client, url, Some("192.0.2.20"), "target", PASSWORD).await;
    assert_eq!(status, 200, "the owner is not locked out from elsewhere: {body}");
    // An IPv6 client's neighbours in its /64 are the same client to the throttle.
    let v6 = |n: u32| format!("2001:db8:1:2::{n:x}");
    for n in 0..doorstep_server::auth::ACCOUNT_FREE_FAILURES {
        let from = v6(n + 1);
        assert_eq!(login_from(&client, url, Some(&from), "target", "wrong password!!").await.0, 401);
    }
    let from = v6(0xffff);
    assert_eq!(login_from(&client, url, Some(&from), "target", PASSWORD).await.0, 429);
    let (status, _, _) = login_from(&client, url, Some("2001:db8:1:3::1"), "target", PASSWORD).await;
    assert_eq!(status, 200);
}

/// Behind a trusted proxy, wrong enrolment codes from one client do not block another's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_wrong_codes_from_one_client_do_not_block_another() {
    let server = behind_a_proxy();
    let client = reqwest::Client::new();
    let enrol = |from: &'static str, code: String| {
        let (client, url) = (client.clone(), server.url.clone());
        async move {
            let resp = client
                .post(format!("{url}/api/v1/enrol"))
                .header("x-forwarded-for", from)
                .json(&json!({"code": code, "device_id": uuid::Uuid::now_v7().to_string()}))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let mut held_up = false;
    for i in 0..=doorstep_server::auth::ADDRESS_FREE_FAILURES {
        let (status, body) = enrol("203.0.113.5", format!("AAAAA-AAA{i:02}")).await;
        match status {
            401 => assert_eq!(body["error"]["code"], "enrolment_code_invalid"),
            429 => {
                held_up = true;
                break;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(held_up, "the guessing client is held up");
    let code = server.enrolment_code(doorstep_tests::VOLUNTEER).await;
    let (status, body) = enrol("203.0.113.5", code.clone()).await;
    assert_eq!(status, 429, "even with a good code: {body}");
    let (status, body) = enrol("198.51.100.9", code).await;
    assert_eq!(status, 200, "another client's phone enrols: {body}");
    assert!(body["device_token"].is_string());
}

/// Without `--trusted-proxies`, or from a peer it does not name, a forged `X-Forwarded-For` (or
/// `Forwarded`, or `X-Real-IP`) changes nothing: the throttle counts the real peer, so new
/// forged addresses do not buy new allowances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_forwarding_header_changes_nothing_unless_the_peer_is_trusted() {
    let mut server = TestServer::prepare_stopped();
    let port = server.port;
    for extra in [&[][..], &["--trusted-proxies", "10.0.0.0/8,fd00::/8"][..]] {
        server.start_with(port, extra);
        let client = reqwest::Client::new();
        let mut held_up = false;
        for i in 0..=doorstep_server::auth::ADDRESS_FREE_FAILURES {
            let resp = client
                .post(format!("{}/api/v1/auth/login", server.url))
                .header("x-forwarded-for", format!("203.0.113.{}", i + 1))
                .header("forwarded", format!("for=198.51.100.{}", i + 1))
                .header("x-real-ip", format!("192.0.2.{}", i + 1))
                .json(&json!({"username": format!("guess{i}"), "password": "wrong password!!"}))
                .send()
                .await
                .unwrap();
            if resp.status().as_u16() == 429 {
                held_up = true;
                break;
            }
            assert_eq!(resp.status().as_u16(), 401);
        }
        assert!(held_up, "{extra:?}: the real peer was held up whatever the headers said");
        let (status, _, _) = login_from(
            &client,
            &server.url,
            Some("198.51.100.250"),
            doorstep_tests::ADMIN,
            doorstep_tests::ADMIN_PASSWORD,
        )
        .await;
        assert_eq!(status, 429, "{extra:?}: another forged address is the same peer");
        server.kill();
    }
}

/// A range that is not one is refused at start, naming it and what is allowed, from the flag and
/// from the environment alike.
#[test]
fn a_bad_trusted_proxy_range_is_refused_at_start() {
    let db = TestDb::sqlite();
    let out = std::process::Command::new(doorstep_bin())
        .args(["serve", "--db", &db.url, "--listen", "127.0.0.1:0"])
        .args(["--trusted-proxies", "10.0.0.0/8,10.0.0.0/33"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("`10.0.0.0/33` is not an address range") && err.contains("192.168.1.10/32"), "{err}");
    let out = std::process::Command::new(doorstep_bin())
        .args(["serve", "--db", &db.url, "--listen", "127.0.0.1:0"])
        .env("DOORSTEP_TRUSTED_PROXIES", "nginx.local")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("`nginx.local` is not an address range") && err.contains("không phải"), "{err}");
}
