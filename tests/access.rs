//! Who may read what: every role, bound to an area, against areas inside and outside its
//! subtree, on every area-reading endpoint. Runs on SQLite and on PostgreSQL.

use doorstep_tests::{TestServer, create_account};

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

    let endpoints: &[&dyn Fn(&str) -> String] = &[&|a| format!("/api/v1/coverage?area={a}"), &|a| {
        format!("/api/v1/areas?parent={a}")
    }];
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
        assert!(
            body.as_array().unwrap().iter().all(|a| a["parent"] == *own),
            "{username}: {body}"
        );
    }
    assert_eq!(checked, ACCOUNTS.len() * AREAS.len() * 2);

    // Without a session, or with a made-up one, nothing is read.
    for token in [None, Some("0".repeat(64).as_str()), Some("not even hex")] {
        for url in [
            "/api/v1/coverage?area=18073",
            "/api/v1/areas?parent=42",
            "/api/v1/auth/me",
        ] {
            let (status, body) = server.get_as(url, token).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (401, Some("unauthenticated")),
                "{url}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_reads_the_audit_log() {
    let mut server = TestServer::prepare_stopped();
    create_account(&server.db.url, "l.commune", "leader", "18073", PASSWORD);
    server.start_again();
    let (status, log) = server.get("/api/v1/audit").await;
    assert_eq!(status, 200, "{log}");
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Newest first: the leader's account, the admin's, and the area import before them.
    assert_eq!(actions, ["create-user", "create-user", "import-areas"]);
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
