//! Teams and assignments: a leader's team over part of their area, volunteers assigned areas in
//! it, reads narrowed to the assignment, and visits outside it accepted but flagged. On SQLite and
//! on PostgreSQL, from the command line and over HTTP.

use chrono::{FixedOffset, Utc};
use doorstep_tests::{TestDevice, TestServer, create_account, doorstep};
use serde_json::{Value, json};

const PASSWORD: &str = "mật khẩu của đội thử nghiệm";
const TEAM: &str = "Đội Nam Hà";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volunteers_work_their_assignments_and_strays_are_flagged_for_the_leader() {
    let mut server = TestServer::prepare_stopped();
    let db = server.db.url.clone();
    for (username, role, area) in [
        ("l.namha", "leader", "436"),
        ("l.other", "leader", "437"),
        ("v.a", "volunteer", "436"),
        ("v.b", "volunteer", "436"),
        ("c.province", "committee", "42"),
    ] {
        create_account(&db, username, role, area, PASSWORD);
    }
    let admin = |args: &[&str]| {
        let mut all = vec!["admin", "--db", db.as_str()];
        all.extend_from_slice(args);
        doorstep(&all)
    };
    // The command line: a team in district 436, v.a assigned commune 18073.
    let (ok, out, err) = admin(&["create-team", "--name", TEAM, "--area", "436", "--leader", "l.namha"]);
    assert!(ok, "{err}");
    assert!(out.contains(TEAM), "{out}");
    let (ok, _, err) = admin(&["create-team", "--name", TEAM, "--area", "436", "--leader", "l.namha"]);
    assert!(!ok && err.contains("exists already"), "the name is taken: {err}");
    let (ok, _, err) = admin(&["create-team", "--name", "Đội lạc", "--area", "436", "--leader", "l.other"]);
    assert!(!ok && err.contains("covers that area"), "a leader of 437 cannot lead in 436: {err}");
    let (ok, _, err) = admin(&["assign", "--team", TEAM, "--volunteer", "v.a", "--area", "18073"]);
    assert!(ok, "{err}");
    let (ok, _, err) = admin(&["assign", "--team", TEAM, "--volunteer", "v.a", "--area", "18115"]);
    assert!(!ok && err.contains("inside the team's area"), "18115 is in 437: {err}");
    let (ok, _, err) = admin(&["assign", "--team", TEAM, "--volunteer", "l.other", "--area", "18073"]);
    assert!(!ok && err.contains("No volunteer"), "{err}");
    server.start_again();

    // Over HTTP: the team's leader assigns v.b commune 18077; others may not.
    let leader = server.login("l.namha", PASSWORD).await;
    let other = server.login("l.other", PASSWORD).await;
    let committee = server.login("c.province", PASSWORD).await;
    let volunteer = server.login("v.a", PASSWORD).await;
    let assign_b = json!({"team": TEAM, "volunteer": "v.b", "area_code": "18077"});
    for (token, status, code) in
        [(&other, 404, "no_such_team"), (&committee, 403, "leader_only"), (&volunteer, 403, "leader_only")]
    {
        let (got, body) = server.post_as("/api/v1/assignments", token, &assign_b).await;
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some(code)), "{body}");
    }
    let (status, body) = server.post_as("/api/v1/assignments", &leader, &assign_b).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = server
        .post_as("/api/v1/assignments", &leader, &json!({"team": TEAM, "volunteer": "v.b", "area_code": "18115"}))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("outside_team_area")));
    let (status, body) = server.post_as("/api/v1/teams", &other, &json!({"name": "Đội 437", "area_code": "436"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("out_of_scope")), "{body}");
    // A name that would show as something else (a right-to-left override) is refused.
    let (status, body) =
        server.post_as("/api/v1/teams", &other, &json!({"name": "Đội \u{202e}734", "area_code": "437"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("hidden_characters")), "{body}");
    let (status, body) = server.post_as("/api/v1/teams", &other, &json!({"name": "Đội 437", "area_code": "437"})).await;
    assert_eq!((status, body["leader"].as_str()), (200, Some("l.other")), "{body}");

    let (_, teams) = server.get_as("/api/v1/teams", Some(&leader)).await;
    assert_eq!(
        teams,
        json!([{"name": TEAM, "area_code": "436", "leader": "l.namha", "members": [
            {"username": "v.a", "areas": ["18073"]},
            {"username": "v.b", "areas": ["18077"]},
        ]}])
    );
    let (_, teams) = server.get_as("/api/v1/teams", Some(&other)).await;
    assert_eq!(teams.as_array().unwrap().len(), 1, "only its own team: {teams}");
    assert_eq!(teams[0]["name"], "Đội 437");

    // v.a reads only 18073 now, signed in or through the phone.
    let (status, _) = server.get_as("/api/v1/coverage?area=18073", Some(&volunteer)).await;
    assert_eq!(status, 200);
    let (status, _) = server.get_as("/api/v1/coverage?area=436", Some(&volunteer)).await;
    assert_eq!(status, 403, "the account's area is no longer the scope once assigned");
    let mut phone = TestDevice::new(21);
    server.enrol_for(&phone, "v.a").await;
    let client = phone.client(&server.url, 50);
    assert!(client.pull(&phone.store, "18073").await.is_ok());
    assert!(client.pull(&phone.store, "436").await.is_err());
    let me = client.whoami(&phone.store).await.unwrap();
    assert_eq!((me.volunteer.username.as_str(), me.areas), ("v.a", vec!["18073".to_string()]));

    // Three visits in 18073 and one across the road in 18077: all stored, the stray flagged.
    // Half an hour apart, as in the field (visits seconds apart, or kilometres apart minutes
    // apart, would carry flags of their own).
    let offset = FixedOffset::east_opt(7 * 3600).unwrap();
    let mut ids = Vec::new();
    for (n, area) in ["18073", "18073", "18077", "18073"].iter().enumerate() {
        let mut draft = phone.draft(n);
        draft.area_code = area.to_string();
        let when = Utc::now() - chrono::Duration::minutes(30 * (4 - n as i64));
        let v = phone.store.lock().unwrap().record_visit(&draft, when.with_timezone(&offset)).unwrap();
        ids.push(v.id.to_string());
    }
    let report = client.drain(&phone.store, None).await;
    assert!(report.complete && report.stats.confirmed == 4, "{report:?}");
    assert_eq!(report.stats.rejected, 0, "a visit outside the assignment still happened");

    let (status, flagged) = server.get_as("/api/v1/visits?area=436&flagged=true", Some(&leader)).await;
    assert_eq!(status, 200, "{flagged}");
    let flagged = flagged.as_array().unwrap();
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(flagged[0]["id"], ids[2]);
    assert_eq!(flagged[0]["area_code"], "18077");
    assert_eq!(flagged[0]["flags"], json!(["outside_assignment"]));
    let (_, all) = server.get_as("/api/v1/visits?area=436", Some(&leader)).await;
    assert_eq!(all.as_array().unwrap().len(), 4);
    // Paging by receive number.
    let first: i64 = all[1]["server_seq"].as_i64().unwrap();
    let (_, rest) = server.get_as(&format!("/api/v1/visits?area=436&after={first}&limit=1"), Some(&leader)).await;
    assert_eq!(rest.as_array().unwrap().len(), 1);
    assert_eq!(rest[0]["server_seq"], all[2]["server_seq"]);
    let (status, _) = server.get_as("/api/v1/visits?area=436&flagged=true", Some(&other)).await;
    assert_eq!(status, 403);
    let (status, body): (u16, Value) = server.get_as(&format!("/api/v1/visits/{}", ids[2]), Some(&leader)).await;
    assert_eq!((status, body["flags"].clone()), (200, json!(["outside_assignment"])));
    let (status, _) = server.get_as(&format!("/api/v1/visits/{}", ids[2]), Some(&volunteer)).await;
    assert_eq!(status, 404, "v.a is not assigned 18077");

    // Every step is in the audit log.
    let (_, log) = server.get("/api/v1/audit").await;
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["create-team", "assign"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
}

/// A visit sent by a phone enrolled for one volunteer that names another is kept and flagged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_naming_another_volunteer_is_flagged() {
    let server = TestServer::spawn();
    let mut phone = TestDevice::new(31);
    // Recorded before the phone was enrolled: the visit carries the phone's own placeholder id.
    phone.record(1);
    server.enrol(&phone).await;
    phone.record(1);
    let report = phone.client(&server.url, 10).drain(&phone.store, None).await;
    assert!(report.complete && report.stats.confirmed == 2, "{report:?}");
    let (_, flagged) = server.get("/api/v1/visits?area=42&flagged=true").await;
    assert_eq!(flagged.as_array().unwrap().len(), 1, "{flagged}");
    assert_eq!(flagged[0]["flags"], json!(["other_volunteer"]));
}

/// A team's leader takes back one assigned area, then the volunteer's place in the team; no one
/// else can (another district's leader finds no such team, a committee member may not), and
/// what is already taken back is 404. Both databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_takes_back_an_area_and_a_member() {
    let mut server = TestServer::prepare_stopped();
    for (username, role, area) in [
        ("l.namha", "leader", "436"),
        ("l.other", "leader", "437"),
        ("v.a", "volunteer", "436"),
        ("c.province", "committee", "42"),
    ] {
        create_account(&server.db.url, username, role, area, PASSWORD);
    }
    server.start_again();
    let leader = server.login("l.namha", PASSWORD).await;
    let (status, body) =
        server.post_as("/api/v1/teams", &leader, &json!({"name": "Đội Nam Hà", "area_code": "436"})).await;
    assert_eq!(status, 200, "{body}");
    for area in ["18073", "18077"] {
        let assign = json!({"team": "Đội Nam Hà", "volunteer": "v.a", "area_code": area});
        let (status, body) = server.post_as("/api/v1/assignments", &leader, &assign).await;
        assert_eq!(status, 204, "{body}");
    }
    let delete = |path: String, token: String| {
        let url = format!("{}{path}", server.url);
        async move {
            let resp = reqwest::Client::new().delete(url).bearer_auth(token).send().await.expect("delete");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let team = "%C4%90%E1%BB%99i%20Nam%20H%C3%A0";
    let unassign = format!("/api/v1/assignments?team={team}&volunteer=v.a&area_code=18077");
    let other = server.login("l.other", PASSWORD).await;
    let committee = server.login("c.province", PASSWORD).await;
    for (token, status, code) in [(&other, 404, "no_such_team"), (&committee, 403, "leader_only")] {
        let (got, body) = delete(unassign.clone(), token.clone()).await;
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some(code)), "{body}");
    }
    let (status, body) = delete(unassign.clone(), leader.clone()).await;
    assert_eq!(status, 204, "{body}");
    let (_, teams) = server.get_as("/api/v1/teams", Some(&leader)).await;
    assert_eq!(teams[0]["members"], json!([{"username": "v.a", "areas": ["18073"]}]), "{teams}");
    let (status, body) = delete(unassign, leader.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("no_such_assignment")));
    // Out of the team, with the area it still held.
    let (status, body) =
        delete(format!("/api/v1/teams/members?team={team}&volunteer=v.a&area_code=436"), leader.clone()).await;
    assert_eq!(status, 204, "{body}");
    let (_, teams) = server.get_as("/api/v1/teams", Some(&leader)).await;
    assert_eq!(teams[0]["members"], json!([]), "{teams}");
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM assignments"), 0);
    assert_eq!(server.db.i64("SELECT COUNT(*) FROM audit_log WHERE action IN ('unassign', 'remove-member')"), 2);
}
