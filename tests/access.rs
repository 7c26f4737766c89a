//! Who may read what: every role, bound to an area, against areas inside and outside its
//! subtree, on every area-reading endpoint, list and by id (with guessed ids), and on the device
//! endpoints with device tokens. Runs on SQLite and on PostgreSQL.

use chrono::{FixedOffset, Utc};
use doorstep_tests::{TestDevice, TestServer, create_account};
use serde_json::{Value, json};

const PASSWORD: &str = "mật khẩu thử quyền truy cập";

/// (username, role, area): the Hà Tĩnh 2020 tree, province 42 > district 436 > commune 18073;
/// 437 is another district, 18115 a commune of it.
const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("a.province", "admin", "42"),
    ("c.district", "committee", "436"),
    ("l.commune", "leader", "18073"),
    ("v.commune", "volunteer", "18073"),
    ("l.other", "leader", "437"),
];

const AREAS: &[(&str, &str)] = &[
    ("42", "/42/"),
    ("436", "/42/436/"),
    ("18073", "/42/436/18073/"),
    ("437", "/42/437/"),
    ("18115", "/42/437/18115/"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_account_reads_outside_its_subtree() {
    let mut server = TestServer::prepare_stopped();
    for (username, role, area) in ACCOUNTS {
        create_account(&server.db.url, username, role, area, PASSWORD);
    }
    server.start_again();

    let endpoints: &[&dyn Fn(&str) -> String] = &[
        &|a| format!("/api/v1/coverage?area={a}"),
        &|a| format!("/api/v1/areas?parent={a}"),
        &|a| format!("/api/v1/visits?area={a}"),
        &|a| format!("/api/v1/visits?area={a}&flagged=true"),
        &|a| format!("/api/v1/corrections?area={a}"),
    ];
    // One visit in every area, so that list and by-id reads have something to show or hide.
    let visits = seed_visits(&server).await;
    let mut checked = 0;
    for (username, _, own) in ACCOUNTS {
        let token = server.login(username, PASSWORD).await;
        let own_path = AREAS.iter().find(|(c, _)| c == own).map(|(_, p)| *p).unwrap();
        for (area, path) in AREAS {
            let allowed = path.starts_with(own_path);
            for endpoint in endpoints {
                let url = endpoint(area);
                let (status, body) = server.get_as(&url, Some(&token)).await;
                if allowed {
                    assert_eq!(status, 200, "{username} {url}: {body}");
                } else {
                    assert_eq!(status, 403, "{username} {url}: {body}");
                    assert_eq!(body["error"]["code"], "out_of_scope");
                }
                checked += 1;
            }
        }
        // With no area named, the area list starts at the account's own area.
        let (status, body) = server.get_as("/api/v1/areas", Some(&token)).await;
        assert_eq!(status, 200);
        assert!(body.as_array().unwrap().iter().all(|a| a["parent"] == *own), "{username}: {body}");
    }
    assert_eq!(checked, ACCOUNTS.len() * AREAS.len() * endpoints.len());

    // By id: a visit outside the account's areas answers exactly like one that does not exist,
    // and so does a guessed id.
    let mut by_id = 0;
    for (username, _, own) in ACCOUNTS {
        let token = server.login(username, PASSWORD).await;
        let own_path = AREAS.iter().find(|(c, _)| c == own).map(|(_, p)| *p).unwrap();
        let guessed = uuid::Uuid::now_v7().to_string();
        for (area, id) in visits.iter().map(|(a, id)| (a.as_str(), id.as_str())).chain([("42", guessed.as_str())]) {
            let path = AREAS.iter().find(|(c, _)| *c == area).map(|(_, p)| *p).unwrap();
            let exists = id != guessed;
            let url = format!("/api/v1/visits/{id}");
            let (status, body) = server.get_as(&url, Some(&token)).await;
            if exists && path.starts_with(own_path) {
                assert_eq!((status, body["id"].as_str()), (200, Some(id)), "{username} {area}: {body}");
                assert_eq!(body["area_code"], area);
            } else {
                assert_eq!(status, 404, "{username} {area}: {body}");
                assert_eq!(body["error"]["code"], "no_such_visit");
            }
            // Its history, likewise.
            let (status, body) = server.get_as(&format!("/api/v1/visits/{id}/history"), Some(&token)).await;
            if exists && path.starts_with(own_path) {
                assert_eq!(status, 200, "{username} {area} history: {body}");
                assert_eq!(body["revisions"][0]["id"], id);
            } else {
                assert_eq!(
                    (status, body["error"]["code"].as_str()),
                    (404, Some("no_such_visit")),
                    "{username} {area} history"
                );
            }
            by_id += 1;
        }
        // The list of a subtree holds exactly the visits of that subtree.
        let (_, listed) = server.get_as(&format!("/api/v1/visits?area={own}"), Some(&token)).await;
        let mut got: Vec<&str> = listed.as_array().unwrap().iter().map(|v| v["area_code"].as_str().unwrap()).collect();
        got.sort();
        let mut want: Vec<&str> = AREAS.iter().filter(|(_, p)| p.starts_with(own_path)).map(|(c, _)| *c).collect();
        want.sort();
        assert_eq!(got, want, "{username}");
    }
    assert_eq!(by_id, ACCOUNTS.len() * (AREAS.len() + 1));

    // The device endpoints: a phone enrolled for the volunteer of 18073 pulls only there, and a
    // session token (of any role) is no device token.
    let phone = TestDevice::new(4);
    server.enrol_for(&phone, "v.commune").await;
    let client = phone.client(&server.url, 10);
    for (area, path) in AREAS {
        let result = client.pull(&phone.store, area).await;
        if path.starts_with("/42/436/18073/") {
            assert!(result.is_ok(), "{area}: {result:?}");
        } else {
            let err = result.expect_err(area).to_string();
            assert!(err.contains("403") && err.contains("out_of_scope"), "{area}: {err}");
        }
    }
    for (username, _, _) in ACCOUNTS {
        let token = server.login(username, PASSWORD).await;
        let (status, _) = server.get_as("/api/v1/sync/pull?area=42", Some(&token)).await;
        assert_eq!(status, 401, "{username}: a session is not a device");
        let resp = reqwest::Client::new()
            .post(format!("{}/api/v1/sync/push", server.url))
            .bearer_auth(&token)
            .json(&json!({"device_id": uuid::Uuid::now_v7().to_string(), "sent_at": Utc::now().to_rfc3339(), "records": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{username} pushes");
    }

    // Without a session, or with a made-up one, nothing is read.
    for token in [None, Some("0".repeat(64).as_str()), Some("not even hex")] {
        for url in [
            "/api/v1/coverage?area=18073",
            "/api/v1/areas?parent=42",
            "/api/v1/auth/me",
            "/api/v1/visits?area=42",
            "/api/v1/teams",
            "/api/v1/sync/pull?area=42",
        ] {
            let (status, body) = server.get_as(url, token).await;
            assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthenticated")), "{url}");
        }
    }
}

/// Pushes one visit into each of [`AREAS`] (through a device of the harness volunteer, whose
/// area is the whole province); returns (area, visit id).
async fn seed_visits(server: &TestServer) -> Vec<(String, String)> {
    let mut device = TestDevice::new(3);
    let offset = FixedOffset::east_opt(7 * 3600).unwrap();
    let mut out = Vec::new();
    for (n, (area, _)) in AREAS.iter().enumerate() {
        let mut draft = device.draft(n);
        draft.area_code = area.to_string();
        let visit = device.store.lock().unwrap().record_visit(&draft, Utc::now().with_timezone(&offset)).unwrap();
        out.push((area.to_string(), visit.id.to_string()));
    }
    let (device_id, records) = {
        let store = device.store.lock().unwrap();
        let records: Vec<Value> =
            store.next_batch(100).unwrap().iter().map(|e| serde_json::from_str(&e.body).unwrap()).collect();
        (store.device_id().to_string(), records)
    };
    let body = json!({"device_id": device_id, "sent_at": Utc::now().to_rfc3339(), "records": records});
    let (status, resp) = server.push_json(&body).await;
    assert_eq!(status, 200, "{resp}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_reads_the_audit_log() {
    let mut server = TestServer::prepare_stopped();
    create_account(&server.db.url, "l.commune", "leader", "18073", PASSWORD);
    server.start_again();
    let (status, log) = server.get("/api/v1/audit").await;
    assert_eq!(status, 200, "{log}");
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    // Newest first: the leader's account, the volunteer's and the admin's, and the area import
    // before them.
    assert_eq!(actions, ["create-user", "create-user", "create-user", "import-areas"]);
    let token = server.login("l.commune", PASSWORD).await;
    let (status, body) = server.get_as("/api/v1/audit", Some(&token)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("admin_only")));
    let (status, _) = server.get_as("/api/v1/audit", None).await;
    assert_eq!(status, 401);
    // The OpenAPI document says which endpoints want the bearer token.
    let (_, spec) = server.get_as("/api/openapi.json", None).await;
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
    assert!(spec["paths"]["/api/v1/coverage"]["get"]["security"].is_array());
}

/// Who may write what: every account against every area, issuing enrolment codes (for a
/// volunteer of that area) and creating teams. Only leaders and admins write, leaders only in
/// their subtree; what lies outside answers 403 or, where a name was looked up, 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_account_writes_outside_its_subtree() {
    let mut server = TestServer::prepare_stopped();
    for (username, role, area) in ACCOUNTS {
        create_account(&server.db.url, username, role, area, PASSWORD);
    }
    for (area, _) in AREAS {
        create_account(&server.db.url, &format!("v.at.{area}"), "volunteer", area, PASSWORD);
    }
    server.start_again();
    let mut checked = 0;
    for (username, role, own) in ACCOUNTS {
        let token = server.login(username, PASSWORD).await;
        let own_path = AREAS.iter().find(|(c, _)| c == own).map(|(_, p)| *p).unwrap();
        let writer = matches!(*role, "admin" | "leader");
        for (area, path) in AREAS {
            let inside = path.starts_with(own_path);
            // An enrolment code for the volunteer of that area.
            let (status, body) =
                server.post_as("/api/v1/enrolments", &token, &json!({"volunteer": format!("v.at.{area}")})).await;
            // A volunteer outside the caller's areas is answered as one that does not exist.
            let expected = match (writer, inside) {
                (true, true) => (200, None),
                (true, false) => (404, Some("no_such_volunteer")),
                (false, _) => (403, Some("leader_only")),
            };
            assert_eq!((status, body["error"]["code"].as_str()), expected, "{username} enrols in {area}: {body}");
            // A team over that area: a leader leads it; an admin names the leader of 437.
            let leader = if *role == "admin" { Some("l.other") } else { None };
            let name = format!("{username} {area}");
            let (status, body) = server
                .post_as("/api/v1/teams", &token, &json!({"name": name, "area_code": area, "leader": leader}))
                .await;
            let expected = match (*role, inside) {
                ("admin", _) if path.starts_with("/42/437/") => (200, None),
                ("admin", _) => (404, Some("no_such_leader")),
                ("leader", true) => (200, None),
                ("leader", false) => (403, Some("out_of_scope")),
                _ => (403, Some("leader_only")),
            };
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                expected,
                "{username} creates a team in {area}: {body}"
            );
            checked += 2;
        }
    }
    assert_eq!(checked, ACCOUNTS.len() * AREAS.len() * 2);
}

/// The hexagons and the exports: leaders, committee staff and admins read them in their subtree
/// only; a volunteer reads none (403 `staff_only`), even of their own area; a leader of another
/// district sees nothing of this one; and an export holds only the subtree asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hexagons_and_exports_are_for_staff_in_their_subtree() {
    let mut server = TestServer::prepare_stopped();
    for (username, role, area) in ACCOUNTS {
        create_account(&server.db.url, username, role, area, PASSWORD);
    }
    server.start_again();
    seed_visits(&server).await;
    let endpoints: &[&dyn Fn(&str) -> String] = &[
        &|a| format!("/api/v1/map/hexagons?area={a}&res=7"),
        &|a| format!("/api/v1/exports/households.csv?area={a}"),
        &|a| format!("/api/v1/exports/households.geojson?area={a}"),
        &|a| format!("/api/v1/exports/visits.csv?area={a}"),
        &|a| format!("/api/v1/exports/visits.geojson?area={a}"),
        // The photo list reads the same way (photos.rs tests the images by id).
        &|a| format!("/api/v1/photos?area={a}"),
    ];
    let mut checked = 0;
    for (username, role, own) in ACCOUNTS {
        let token = server.login(username, PASSWORD).await;
        let own_path = AREAS.iter().find(|(c, _)| c == own).map(|(_, p)| *p).unwrap();
        for (area, path) in AREAS {
            for endpoint in endpoints {
                let url = endpoint(area);
                let resp = reqwest::Client::new()
                    .get(format!("{}{url}", server.url))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let body = resp.text().await.unwrap();
                let expected = match (*role, path.starts_with(own_path)) {
                    ("volunteer", _) => (403, Some("staff_only")),
                    (_, true) => (200, None),
                    (_, false) => (403, Some("out_of_scope")),
                };
                let code = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v["error"]["code"].as_str().map(str::to_string));
                assert_eq!((status, code.as_deref()), expected, "{username} {url}: {body}");
                // What is answered lies in the subtree: every area code named is one of it.
                if status == 200 && url.contains("/exports/") {
                    for (other, other_path) in AREAS {
                        if !other_path.starts_with(path) {
                            assert!(
                                !body.contains(&format!("\"{other}\"")) && !body.contains(&format!(",{other},")),
                                "{username} {url} names {other}: {body}"
                            );
                        }
                    }
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, ACCOUNTS.len() * AREAS.len() * endpoints.len());
    for url in ["/api/v1/map/hexagons?area=42", "/api/v1/exports/visits.csv?area=42"] {
        let (status, body) = server.get_as(url, None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthenticated")), "{url}");
    }
    // The OpenAPI document names them, with the bearer token where one is needed.
    let (_, spec) = server.get_as("/api/openapi.json", None).await;
    for path in [
        "/api/v1/map/hexagons",
        "/api/v1/exports/households.csv",
        "/api/v1/exports/households.geojson",
        "/api/v1/exports/visits.csv",
        "/api/v1/exports/visits.geojson",
    ] {
        assert!(spec["paths"][path]["get"]["security"].is_array(), "{path}");
    }
    for path in ["/api/v1/public/areas", "/api/v1/public/hexagons"] {
        assert!(spec["paths"][path]["get"].is_object() && spec["paths"][path]["get"]["security"].is_null(), "{path}");
    }
}

/// Volunteers and devices (visits per volunteer and day, phones' last sync): every account
/// against every area. A volunteer reads none of it (403 `staff_only`), anywhere; the others
/// read their subtree and nothing outside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volunteers_and_devices_are_for_staff_and_their_subtree() {
    let mut server = TestServer::prepare_stopped();
    for (username, role, area) in ACCOUNTS {
        create_account(&server.db.url, username, role, area, PASSWORD);
    }
    server.start_again();
    let endpoints: &[&dyn Fn(&str) -> String] =
        &[&|a| format!("/api/v1/volunteers/daily?area={a}"), &|a| format!("/api/v1/devices?area={a}")];
    let mut checked = 0;
    for (username, role, own) in ACCOUNTS {
        let token = server.login(username, PASSWORD).await;
        let own_path = AREAS.iter().find(|(c, _)| c == own).map(|(_, p)| *p).unwrap();
        for (area, path) in AREAS {
            for endpoint in endpoints {
                let url = endpoint(area);
                let (status, body) = server.get_as(&url, Some(&token)).await;
                let expected = match (*role, path.starts_with(own_path)) {
                    ("volunteer", _) => (403, Some("staff_only")),
                    (_, true) => (200, None),
                    (_, false) => (403, Some("out_of_scope")),
                };
                assert_eq!((status, body["error"]["code"].as_str()), expected, "{username} {url}: {body}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, ACCOUNTS.len() * AREAS.len() * endpoints.len());
}
