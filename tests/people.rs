//! Issue 19, accounts and password codes: leaders add and edit the volunteers of their areas,
//! admins anyone; staff set their first password, or a new one, with a one-time code; disabling
//! an account ends its sessions and revokes its phones. Every refusal from another role or
//! district. Runs on SQLite and on PostgreSQL.

use doorstep_tests::{TestServer, create_account};
use serde_json::{Value, json};

const PASSWORD: &str = "mật khẩu thử tài khoản";
const NEW_PASSWORD: &str = "mật khẩu mới của tổ trưởng";

/// Province 42 > district 436 > commune 18073; district 437 and its commune 18115 lie outside.
const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("a.province", "admin", "42"),
    ("c.district", "committee", "436"),
    ("l.commune", "leader", "18073"),
    ("l.other", "leader", "437"),
];

async fn server_with_accounts() -> TestServer {
    let mut server = TestServer::prepare_stopped();
    for (username, role, area) in ACCOUNTS {
        create_account(&server.db.url, username, role, area, PASSWORD);
    }
    server.start_again();
    server
}

async fn send(server: &TestServer, method: &str, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", server.url);
    let mut req = match method {
        "PATCH" => client.patch(url),
        _ => client.post(url),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.json(&body).send().await.expect("request");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn try_login(server: &TestServer, username: &str, password: &str) -> u16 {
    send(server, "POST", "/api/v1/auth/login", None, json!({"username": username, "password": password})).await.0
}

fn code_of(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

/// A leader adds the volunteers of their commune (no password: the phone enrols), and no one
/// else; an admin adds a leader, who sets their first password with the code the answer holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaders_add_volunteers_and_admins_add_staff_who_set_their_password_with_a_code() {
    let server = server_with_accounts().await;
    let leader = server.login("l.commune", PASSWORD).await;
    // NFD on the way in, NFC stored.
    let nfd = "Nguye\u{302}\u{303}n Thi\u{323} Lan";
    let new_volunteer = json!({"username": "V.Lan", "display_name": nfd, "role": "volunteer", "area_code": "18073"});
    let (status, made) = send(&server, "POST", "/api/v1/users", Some(&leader), new_volunteer.clone()).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["user"]["username"], "v.lan");
    assert_eq!(made["user"]["display_name"], "Nguyễn Thị Lan");
    assert_eq!(
        (made["user"]["role"].as_str(), made["user"]["has_password"].as_bool()),
        (Some("volunteer"), Some(false))
    );
    assert!(made["password_code"].is_null(), "{made}");
    // A volunteer has no password to sign in with, whatever is tried.
    assert_eq!(try_login(&server, "v.lan", "").await, 401);
    assert_eq!(try_login(&server, "v.lan", PASSWORD).await, 401);

    let refusals = [
        // The name is taken.
        (&leader, new_volunteer.clone(), 409, "username_taken"),
        // A leader adds volunteers only.
        (&leader, json!({"username": "l.x", "role": "leader", "area_code": "18073"}), 403, "volunteers_only"),
        // Only within their areas.
        (&leader, json!({"username": "v.x", "role": "volunteer", "area_code": "18115"}), 403, "out_of_scope"),
        (&leader, json!({"username": "v.x", "role": "volunteer", "area_code": "99999"}), 404, "unknown_area"),
        (&leader, json!({"username": "a b", "role": "volunteer", "area_code": "18073"}), 422, "bad_username"),
        (
            &leader,
            json!({"username": "v.y", "display_name": "Lan\u{202E}", "role": "volunteer", "area_code": "18073"}),
            422,
            "hidden_characters",
        ),
    ];
    for (token, body, status, code) in refusals {
        let (got, answer) = send(&server, "POST", "/api/v1/users", Some(token), body.clone()).await;
        assert_eq!((got, code_of(&answer)), (status, Some(code)), "{body}: {answer}");
        assert!(answer["error"]["messages"]["vi"].is_string() && answer["error"]["messages"]["en"].is_string());
    }
    let committee = server.login("c.district", PASSWORD).await;
    let (status, answer) = send(
        &server,
        "POST",
        "/api/v1/users",
        Some(&committee),
        json!({"username": "v.z", "role": "volunteer", "area_code": "18073"}),
    )
    .await;
    assert_eq!((status, code_of(&answer)), (403, Some("leader_only")));
    let (status, _) = send(&server, "POST", "/api/v1/users", None, new_volunteer.clone()).await;
    assert_eq!(status, 401);

    // An admin adds a leader; the answer holds the code the leader's first password is set with.
    let admin = server.login("a.province", PASSWORD).await;
    let (status, made) = send(
        &server,
        "POST",
        "/api/v1/users",
        Some(&admin),
        json!({"username": "l.new", "display_name": "Trần Văn Bình", "role": "leader", "area_code": "436"}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let code = made["password_code"]["code"].as_str().expect("a code").to_string();
    assert_eq!(try_login(&server, "l.new", NEW_PASSWORD).await, 401);
    let reset = json!({"username": "l.new", "code": code, "new_password": NEW_PASSWORD});
    let (status, answer) = send(&server, "POST", "/api/v1/auth/reset", None, reset.clone()).await;
    assert_eq!(status, 204, "{answer}");
    assert_eq!(try_login(&server, "l.new", NEW_PASSWORD).await, 200);
    // Once only.
    let (status, answer) = send(&server, "POST", "/api/v1/auth/reset", None, reset).await;
    assert_eq!((status, code_of(&answer)), (401, Some("password_code_invalid")));

    // The list: staff only, within their areas, with display names, teams and phones.
    let code = {
        let (status, body) = server.post_as("/api/v1/enrolments", &leader, &json!({"volunteer": "v.lan"})).await;
        assert_eq!(status, 200, "{body}");
        body["code"].as_str().unwrap().to_string()
    };
    let device_id = uuid::Uuid::now_v7().to_string();
    let (status, _) = send(&server, "POST", "/api/v1/enrol", None, json!({"code": code, "device_id": device_id})).await;
    assert_eq!(status, 200);
    let (status, listed) = server.get_as("/api/v1/users?area=18073", Some(&leader)).await;
    assert_eq!(status, 200, "{listed}");
    let lan = listed.as_array().unwrap().iter().find(|p| p["username"] == "v.lan").expect("v.lan listed").clone();
    assert_eq!(lan["display_name"], "Nguyễn Thị Lan");
    assert_eq!(lan["phones"][0]["device_id"], device_id.as_str());
    assert_eq!(lan["phones"][0]["revoked"], false);
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|p| p["username"].as_str().unwrap()).collect();
    assert!(names.contains(&"l.commune") && !names.contains(&"l.other") && !names.contains(&"l.new"), "{names:?}");
    let (status, listed) = server.get_as("/api/v1/users?area=436", Some(&committee)).await;
    assert_eq!(status, 200);
    assert!(listed.as_array().unwrap().iter().any(|p| p["username"] == "l.new" && p["has_password"] == true));
    let (status, answer) = server.get_as("/api/v1/users?area=437", Some(&leader)).await;
    assert_eq!((status, code_of(&answer)), (403, Some("out_of_scope")));
    let volunteer = server.login(doorstep_tests::VOLUNTEER, doorstep_tests::VOLUNTEER_PASSWORD).await;
    let (status, answer) = server.get_as("/api/v1/users?area=18073", Some(&volunteer)).await;
    assert_eq!((status, code_of(&answer)), (403, Some("staff_only")));

    let (_, audit) = server.get_as("/api/v1/audit", Some(&admin)).await;
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["create-user", "password-set"] {
        assert!(actions.contains(&action), "{actions:?}");
    }
}

/// Editing: a leader renames and moves the volunteers of their areas and nobody else; disabling
/// an account ends its sessions and revokes its phones; an admin cannot lock themselves out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_an_account_ends_its_sessions_and_revokes_its_phones() {
    let mut server = TestServer::prepare_stopped();
    for (username, role, area) in ACCOUNTS {
        create_account(&server.db.url, username, role, area, PASSWORD);
    }
    create_account(&server.db.url, "l.second", "leader", "18073", PASSWORD);
    server.start_again();
    let leader = server.login("l.commune", PASSWORD).await;
    let admin = server.login("a.province", PASSWORD).await;
    let (status, _) = send(
        &server,
        "POST",
        "/api/v1/users",
        Some(&leader),
        json!({"username": "v.minh", "role": "volunteer", "area_code": "18073"}),
    )
    .await;
    assert_eq!(status, 201);
    let (_, code) = server.post_as("/api/v1/enrolments", &leader, &json!({"volunteer": "v.minh"})).await;
    let device_id = uuid::Uuid::now_v7().to_string();
    let (_, enrolled) =
        send(&server, "POST", "/api/v1/enrol", None, json!({"code": code["code"], "device_id": device_id})).await;
    let phone = enrolled["device_token"].as_str().expect("device token").to_string();

    // Renamed and moved within the leader's commune's district? No: only within the commune.
    let (status, person) =
        send(&server, "PATCH", "/api/v1/users/v.minh", Some(&leader), json!({"display_name": "Lê Văn Minh"})).await;
    assert_eq!((status, person["display_name"].as_str()), (200, Some("Lê Văn Minh")), "{person}");
    let (status, answer) =
        send(&server, "PATCH", "/api/v1/users/v.minh", Some(&leader), json!({"area_code": "18115"})).await;
    assert_eq!((status, code_of(&answer)), (403, Some("out_of_scope")));
    // Another district's leader does not see the volunteer at all.
    let other = server.login("l.other", PASSWORD).await;
    let (status, answer) =
        send(&server, "PATCH", "/api/v1/users/v.minh", Some(&other), json!({"disabled": true})).await;
    assert_eq!((status, code_of(&answer)), (404, Some("no_such_user")));
    // A leader edits volunteers only, and a committee member nobody.
    let (status, answer) =
        send(&server, "PATCH", "/api/v1/users/l.second", Some(&leader), json!({"disabled": true})).await;
    assert_eq!((status, code_of(&answer)), (403, Some("volunteers_only")));
    let committee = server.login("c.district", PASSWORD).await;
    let (status, answer) =
        send(&server, "PATCH", "/api/v1/users/v.minh", Some(&committee), json!({"disabled": true})).await;
    assert_eq!((status, code_of(&answer)), (403, Some("leader_only")));
    let (status, answer) =
        send(&server, "PATCH", "/api/v1/users/a.province", Some(&admin), json!({"disabled": true})).await;
    assert_eq!((status, code_of(&answer)), (422, Some("cannot_disable_self")));
    let (status, answer) =
        send(&server, "PATCH", "/api/v1/users/a.province", Some(&admin), json!({"area_code": "18073"})).await;
    assert_eq!((status, code_of(&answer)), (422, Some("cannot_move_self")));
    // A body the document rules out: an array is no object, though serde would read one.
    let (status, answer) = send(&server, "PATCH", "/api/v1/users/v.minh", Some(&leader), json!([null, null])).await;
    assert_eq!((status, code_of(&answer)), (400, Some("malformed_json")));

    // Neither a volunteer's session nor a phone's token changes anyone: not their own account,
    // not another's, not a password.
    let volunteer = server.login(doorstep_tests::VOLUNTEER, doorstep_tests::VOLUNTEER_PASSWORD).await;
    let new_one = json!({"username": "v.sneaky", "role": "volunteer", "area_code": "18073"});
    let writes = [
        ("PATCH", "/api/v1/users/v.minh", json!({"display_name": "X"})),
        ("PATCH", "/api/v1/users/volunteer", json!({"area_code": "18073"})),
        ("POST", "/api/v1/users", new_one),
        ("POST", "/api/v1/users/l.second/reset", Value::Null),
    ];
    for (method, path, body) in writes {
        let (status, answer) = send(&server, method, path, Some(&volunteer), body.clone()).await;
        assert_eq!(status, 403, "a volunteer's {method} {path}: {answer}");
        let (status, _) = send(&server, method, path, Some(&phone), body).await;
        assert_eq!(status, 401, "a phone's {method} {path}");
    }
    let (_, person) = server.get_as("/api/v1/users?area=18073", Some(&leader)).await;
    assert!(person.as_array().unwrap().iter().all(|p| p["username"] != "v.sneaky" && p["display_name"] != "X"));

    // Disabling the volunteer revokes the phone: it learns so at its next call.
    let (status, me) = server.get_as("/api/v1/devices/me", Some(&phone)).await;
    assert_eq!((status, me["revoked"].is_null()), (200, true), "{me}");
    let (status, person) =
        send(&server, "PATCH", "/api/v1/users/v.minh", Some(&leader), json!({"disabled": true})).await;
    assert_eq!((status, person["disabled"].as_bool()), (200, Some(true)));
    assert_eq!(person["phones"][0]["revoked"], true);
    let (status, me) = server.get_as("/api/v1/devices/me", Some(&phone)).await;
    assert_eq!(status, 200);
    assert!(me["revoked"]["revoked_at"].is_string(), "{me}");

    // Disabling a leader ends their sessions; they cannot sign in again.
    let second = server.login("l.second", PASSWORD).await;
    assert_eq!(server.get_as("/api/v1/auth/me", Some(&second)).await.0, 200);
    let (status, _) = send(&server, "PATCH", "/api/v1/users/l.second", Some(&admin), json!({"disabled": true})).await;
    assert_eq!(status, 200);
    assert_eq!(server.get_as("/api/v1/auth/me", Some(&second)).await.0, 401);
    assert_eq!(try_login(&server, "l.second", PASSWORD).await, 401);
    let (status, person) =
        send(&server, "PATCH", "/api/v1/users/l.second", Some(&admin), json!({"disabled": false})).await;
    assert_eq!((status, person["disabled"].as_bool()), (200, Some(false)));
    assert_eq!(try_login(&server, "l.second", PASSWORD).await, 200);
}

/// Who gives whom a password code, and what a code does: the newest one only, once, within a
/// day; it ends the sessions the old password opened; guesses are throttled per address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_codes_go_to_the_right_people_and_work_once() {
    let server = server_with_accounts().await;
    let admin = server.login("a.province", PASSWORD).await;
    let committee = server.login("c.district", PASSWORD).await;
    let leader = server.login("l.commune", PASSWORD).await;
    let reset = |who: &str| format!("/api/v1/users/{who}/reset");
    let refusals = [
        (&committee, "l.other", 404, "no_such_user"),
        (&committee, "a.province", 404, "no_such_user"),
        (&committee, "c.district", 403, "reset_not_allowed"),
        (&leader, "l.commune", 403, "reset_not_allowed"),
        (&admin, doorstep_tests::VOLUNTEER, 422, "volunteer_has_no_password"),
        (&admin, "nobody.here", 404, "no_such_user"),
    ];
    for (token, who, status, code) in refusals {
        let (got, answer) = send(&server, "POST", &reset(who), Some(token), Value::Null).await;
        assert_eq!((got, code_of(&answer)), (status, Some(code)), "{who}: {answer}");
    }
    // A committee member gives a leader of the district a code; a second one replaces it.
    let (status, first) = send(&server, "POST", &reset("l.commune"), Some(&committee), Value::Null).await;
    assert_eq!(status, 200, "{first}");
    let (_, audit) = server.get_as("/api/v1/audit", Some(&admin)).await;
    assert_eq!((audit[0]["action"].as_str(), audit[0]["detail"].as_str()), (Some("password-code"), Some("l.commune")));
    let (_, second) = send(&server, "POST", &reset("l.commune"), Some(&admin), Value::Null).await;
    let with = |code: &Value, password: &str| json!({"username": "l.commune", "code": code, "new_password": password});
    let (status, answer) = send(&server, "POST", "/api/v1/auth/reset", None, with(&first["code"], NEW_PASSWORD)).await;
    assert_eq!((status, code_of(&answer)), (401, Some("password_code_invalid")));
    let (status, answer) = send(&server, "POST", "/api/v1/auth/reset", None, with(&second["code"], "short")).await;
    assert_eq!((status, answer["error"]["field"].as_str()), (422, Some("new_password")));
    // Typed in lower case with spaces, as a person reads it out.
    let typed = second["code"].as_str().unwrap().to_lowercase().replace('-', " ");
    let (status, _) = send(&server, "POST", "/api/v1/auth/reset", None, with(&json!(typed), NEW_PASSWORD)).await;
    assert_eq!(status, 204);
    assert_eq!(server.get_as("/api/v1/auth/me", Some(&leader)).await.0, 401, "the old session ended");
    assert_eq!(try_login(&server, "l.commune", PASSWORD).await, 401);
    assert_eq!(try_login(&server, "l.commune", NEW_PASSWORD).await, 200);

    // Guessing: after 20 wrong codes from one address (one was tried above), the next waits.
    let mut statuses = Vec::new();
    for i in 0..20 {
        let guess = json!({"username": "l.other", "code": format!("AAAAA-{i:05}"), "new_password": NEW_PASSWORD});
        statuses.push(send(&server, "POST", "/api/v1/auth/reset", None, guess).await.0);
    }
    assert!(statuses[..19].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[19], 429);
}

/// A volunteer is shown by their display name (with the username beside it, which no two share)
/// wherever leaders read who did what: the visits (flagged or not), the phones, the volunteers'
/// days, the claims and the visits export. Never an id's first eight characters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volunteers_are_shown_by_name_wherever_leaders_read_them() {
    let server = server_with_accounts().await;
    let leader = server.login("l.commune", PASSWORD).await;
    let made = json!({"username": "v.ha", "display_name": "Trần Thị Hà", "role": "volunteer", "area_code": "18073"});
    let (status, body) = send(&server, "POST", "/api/v1/users", Some(&leader), made).await;
    assert_eq!(status, 201, "{body}");
    let mut phone = doorstep_tests::TestDevice::new(19);
    server.enrol_for(&phone, "v.ha").await;
    // The first draft falls in commune 18073.
    phone.record(1);
    assert!(phone.client(&server.url, 100).drain(&phone.store, None).await.complete);

    let (status, visits) = server.get_as("/api/v1/visits?area=18073", Some(&leader)).await;
    assert_eq!(status, 200, "{visits}");
    assert_eq!(visits[0]["volunteer_name"], "Trần Thị Hà", "{visits}");
    let household = visits[0]["household_id"].as_str().expect("household").to_string();

    let (_, devices) = server.get_as("/api/v1/devices?area=18073", Some(&leader)).await;
    let device = devices["devices"].as_array().and_then(|d| d.iter().find(|d| d["volunteer"] == "v.ha")).cloned();
    assert_eq!(device.map(|d| d["volunteer_name"].clone()), Some(json!("Trần Thị Hà")), "{devices}");

    let (_, days) = server.get_as("/api/v1/volunteers/daily?area=18073", Some(&leader)).await;
    let day = days.as_array().and_then(|d| d.iter().find(|d| d["username"] == "v.ha")).cloned();
    assert_eq!(day.map(|d| d["display_name"].clone()), Some(json!("Trần Thị Hà")), "{days}");

    let (status, body) =
        server.post_as("/api/v1/claims", &leader, &json!({"volunteer": "v.ha", "household_id": household})).await;
    assert!(status == 200 || status == 201, "{status} {body}");
    let (_, claims) = server.get_as("/api/v1/claims?area=18073", Some(&leader)).await;
    assert_eq!(claims["claims"][0]["volunteer_name"], "Trần Thị Hà", "{claims}");

    let csv = reqwest::Client::new()
        .get(format!("{}/api/v1/exports/visits.csv?area=18073", server.url))
        .bearer_auth(&leader)
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("csv");
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let header = reader.headers().expect("a header").clone();
    let row = reader.records().next().expect("a row").expect("a record");
    let at = header.iter().position(|h| h == "volunteer_name").expect("a volunteer_name column");
    assert_eq!(row.get(at), Some("Trần Thị Hà"), "{csv}");
}

async fn upload(server: &TestServer, token: Option<&str>, body: Vec<u8>, lang: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api/v1/users/import", server.url))
        .header("accept-language", lang)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("import");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn cards(server: &TestServer, token: &str, query: &str) -> (u16, String) {
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/enrolments/cards?{query}", server.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("cards");
    (resp.status().as_u16(), resp.text().await.expect("page"))
}

/// The code printed on `user`'s card.
fn card_code(page: &str, user: &str) -> Option<String> {
    let at = page.find(&format!("data-testid=\"card-code-{user}\">"))?;
    let rest = &page[at..];
    let start = rest.find('>')? + 1;
    Some(rest[start..start + rest[start..].find('<')?].to_string())
}

/// A leader adds a commune's volunteers from one file (Vietnamese headers, CSV as Excel writes
/// it; English headers in XLSX), all or none with every problem by line, then prints their
/// enrolment cards for one team or the whole area; a card's code enrols a phone, and a phone
/// enrolled leaves the next print. Another district's leader, a committee member and a
/// volunteer get none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_imports_a_roster_and_prints_enrolment_cards() {
    let server = server_with_accounts().await;
    let leader = server.login("l.commune", PASSWORD).await;
    let (status, body) = server.post_as("/api/v1/teams", &leader, &json!({"name": "Tổ 1", "area_code": "18073"})).await;
    assert!(status == 200 || status == 201, "{status} {body}");

    // A file with every kind of problem: nothing of it is kept, and each line says what.
    let bad = "\u{feff}Tên đăng nhập;Họ và tên;Vai trò;Mã địa bàn;Tổ\n\
               tnv.mot;Nguyễn Văn Một;;18073;Tổ 1\n\
               tnv.mot;Trùng Tên;;18073;\n\
               tt.hai;Tổ Trưởng Hai;tổ trưởng;18073;\n\
               tnv.ba;Ngoài Huyện;;18115;\n\
               tnv.bon;Không Có Tổ;;18073;Tổ 9\n";
    let (status, refused) = upload(&server, Some(&leader), bad.as_bytes().to_vec(), "vi").await;
    assert_eq!((status, code_of(&refused)), (422, Some("file_refused")), "{refused}");
    let lines: Vec<(u64, &str)> = refused["error"]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| (l["line"].as_u64().unwrap(), l["field"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(lines, [(3, "username"), (4, "role"), (5, "area_code"), (6, "team")], "{refused}");
    for l in refused["error"]["lines"].as_array().unwrap() {
        assert!(l["messages"]["vi"].is_string() && l["messages"]["en"].is_string(), "{l}");
    }
    let (_, listed) = server.get_as("/api/v1/users?area=18073", Some(&leader)).await;
    assert!(!listed.to_string().contains("tnv.mot"), "nothing was added: {listed}");

    let good = "\u{feff}Tên đăng nhập;Họ và tên;Vai trò;Mã địa bàn;Tổ\n\
                tnv.mot;Nguyễn Văn Một;Tình nguyện viên;18073;Tổ 1\n\
                tnv.hai;Trần Thị Hai;;18073;Tổ 1\n\
                tnv.ba;Lê Văn Ba;;18073;\n";
    let (status, made) = upload(&server, Some(&leader), good.as_bytes().to_vec(), "vi").await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["people"].as_array().map(Vec::len), Some(3));
    assert_eq!(made["people"][1]["display_name"], "Trần Thị Hai");
    assert_eq!(made["people"][0]["teams"], json!(["Tổ 1"]), "{made}");
    assert_eq!(made["password_codes"], json!([]));
    // The same file again: every username is taken now.
    let (status, again) = upload(&server, Some(&leader), good.as_bytes().to_vec(), "en").await;
    assert_eq!((status, again["error"]["lines"].as_array().map(Vec::len)), (422, Some(3)), "{again}");
    assert!(again["error"]["message"].as_str().unwrap().starts_with("No one was added"), "{again}");

    // An admin's XLSX with English headers adds a leader, whose answer holds their password code.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["username", "display name", "role", "area code"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (c, v) in ["l.import", "Phan Văn Dẫn", "leader"].iter().enumerate() {
        sheet.write_string(1, c as u16, *v).unwrap();
    }
    sheet.write_number(1, 3, 18073.0).unwrap();
    let admin = server.login("a.province", PASSWORD).await;
    let (status, made) = upload(&server, Some(&admin), book.save_to_buffer().unwrap(), "vi").await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["people"][0]["area_code"], "18073", "a number cell reads as the code");
    assert_eq!(made["password_codes"][0]["username"], "l.import");

    // A team of the area led by someone else: a leader's roster may not put people in it.
    let theirs = json!({"name": "Tổ B", "area_code": "18073", "leader": "l.import"});
    let (status, body) = server.post_as("/api/v1/teams", &admin, &theirs).await;
    assert_eq!(status, 200, "{body}");
    let into_b = "username,area code,team\ntnv.lac2,18073,Tổ B\n";
    let (status, refused) = upload(&server, Some(&leader), into_b.as_bytes().to_vec(), "vi").await;
    assert_eq!((status, refused["error"]["lines"][0]["field"].as_str()), (422, Some("team")), "{refused}");
    assert!(refused["error"]["lines"][0]["messages"]["vi"].as_str().unwrap().contains("Chỉ tổ trưởng của đội này"));

    // Cards for the team: its two members, each with a fresh code that enrols a phone.
    let (status, page) = cards(&server, &leader, "area=18073&team=T%E1%BB%95%201").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page.matches("<article class=\"card\"").count(), 2, "{page}");
    assert!(page.contains("Nguyễn Văn Một") && page.contains("Trần Thị Hai") && !page.contains("Lê Văn Ba"));
    assert!(page.contains(&server.url), "the server's address is printed");
    let code = card_code(&page, "tnv.mot").expect("tnv.mot's code");
    let device_id = uuid::Uuid::now_v7().to_string();
    let (status, enrolled) =
        send(&server, "POST", "/api/v1/enrol", None, json!({"code": code, "device_id": device_id})).await;
    assert_eq!(status, 200, "{enrolled}");
    assert_eq!(enrolled["volunteer"]["username"], "tnv.mot");
    // The whole area: everyone without a live phone (tnv.mot has one now); every code audited.
    let (status, page) = cards(&server, &leader, "area=18073").await;
    assert_eq!(status, 200);
    let on_cards: Vec<&str> =
        ["tnv.mot", "tnv.hai", "tnv.ba"].into_iter().filter(|u| card_code(&page, u).is_some()).collect();
    assert_eq!(on_cards, ["tnv.hai", "tnv.ba"]);
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM audit_log WHERE action = 'enrol-card'"), 4);
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM audit_log WHERE action = 'import-users'"), 2);

    // Nobody else: another district's leader (the area is not theirs; their own rows refused by
    // line), a committee member, a volunteer's phone, no token.
    let other = server.login("l.other", PASSWORD).await;
    let (status, body) = cards(&server, &other, "area=18073").await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = cards(&server, &leader, "area=18073&team=Kh%C3%B4ng").await;
    assert_eq!(status, 404, "an unknown team: {body}");
    let theirs = "username,area code\ntnv.lac,18073\n";
    let (status, refused) = upload(&server, Some(&other), theirs.as_bytes().to_vec(), "vi").await;
    assert_eq!((status, refused["error"]["lines"][0]["field"].as_str()), (422, Some("area_code")), "{refused}");
    let committee = server.login("c.district", PASSWORD).await;
    let (status, body) = upload(&server, Some(&committee), theirs.as_bytes().to_vec(), "vi").await;
    assert_eq!((status, code_of(&body)), (403, Some("leader_only")));
    let (status, _) = cards(&server, &committee, "area=18073").await;
    assert_eq!(status, 403);
    let phone = enrolled["device_token"].as_str().expect("a device token").to_string();
    let (status, _) = upload(&server, Some(&phone), theirs.as_bytes().to_vec(), "vi").await;
    assert_eq!(status, 401, "a phone's token is no session");
    let (status, _) = cards(&server, &phone, "area=18073").await;
    assert_eq!(status, 401);
    let (status, _) = upload(&server, None, theirs.as_bytes().to_vec(), "vi").await;
    assert_eq!(status, 401);
    // A file that is no table at all.
    let (status, body) = upload(&server, Some(&leader), b"PK\x03\x04 not a zip".to_vec(), "vi").await;
    assert_eq!((status, code_of(&body)), (422, Some("file_unreadable")), "{body}");
}
