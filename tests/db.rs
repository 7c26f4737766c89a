//! The store interface every feature writes its statements against (`doorstep_server::db`), on
//! SQLite and, with `DOORSTEP_TEST_PG`, on PostgreSQL: values round-trip, lists pass as one
//! parameter, and a transaction is all or nothing, whether it fails, is dropped or commits.

use doorstep_server::db::{Db, Statement, Value, json_list};
use doorstep_server::params;
use doorstep_tests::TestDb;

async fn store(db: &TestDb) -> std::sync::Arc<dyn doorstep_server::Store> {
    let store = doorstep_server::open_store(&db.url).await.expect("open");
    let tree = include_str!("../data/areas/ha-tinh-2020-three-tier.json");
    store.import_areas(doorstep_domain::area::parse_gso_tree(tree).expect("tree")).await.expect("import");
    store
}

async fn audit_rows(db: &dyn Db) -> i64 {
    db.query("SELECT COUNT(*) FROM audit_log WHERE actor = $1", params!["db-test"]).await.expect("count")[0]
        .get(0)
        .expect("an integer")
}

fn audit(action: &str) -> Statement {
    Statement::new(
        "INSERT INTO audit_log (at_ms, actor, action, detail) VALUES ($1, $2, $3, $4)",
        params![1_i64, "db-test", action, "-"],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_round_trip_and_lists_pass_as_one_parameter() {
    let tdb = TestDb::fresh();
    let store = store(&tdb).await;
    let db: &dyn Db = &*store;
    let paths = doorstep_server::areas::area_paths(db, &["42".into(), "436".into(), "18073".into(), "nowhere".into()])
        .await
        .expect("paths");
    assert_eq!(paths.len(), 3, "three held areas of four asked: {paths:?}");
    assert_eq!(paths["18073"], "/42/436/18073/");
    assert!(matches!(json_list(&["a", "b"]).unwrap(), Value::Text(t) if t == r#"["a","b"]"#));

    // A UUID, bytes, a boolean, NULL and a 64-bit integer come back as they went in.
    let id = uuid::Uuid::now_v7();
    let user = doorstep_server::accounts::NewUser {
        id,
        username: doorstep_domain::account::Username::parse("username", "db.test").unwrap(),
        password_hash: "x".into(),
        role: doorstep_domain::account::Role::Volunteer,
        area_code: doorstep_domain::values::AreaCode::parse("area", "18073").unwrap(),
    };
    doorstep_server::accounts::create_user(db, user).await.expect("user");
    let token = [7_u8; 32];
    doorstep_server::accounts::create_session(db, token, id, 10, i64::MAX - 1).await.expect("session");
    let row = db
        .query_opt(
            "SELECT s.user_id, s.token_hash, s.revoked, u.disabled, s.expires_at_ms, NULL
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
            params![token],
        )
        .await
        .expect("read")
        .expect("the session");
    assert_eq!(row.get::<uuid::Uuid>(0).unwrap(), id);
    assert_eq!(row.get::<Vec<u8>>(1).unwrap(), token.to_vec());
    assert!(!row.get::<bool>(2).unwrap());
    assert!(!row.get::<bool>(3).unwrap());
    assert_eq!(row.get::<i64>(4).unwrap(), i64::MAX - 1);
    assert_eq!(row.get::<Option<String>>(5).unwrap(), None);
    assert!(row.get::<String>(0).is_err(), "a UUID is not text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_is_all_or_nothing_whether_it_fails_is_dropped_or_commits() {
    let tdb = TestDb::fresh();
    let store = store(&tdb).await;
    let db: &dyn Db = &*store;

    // A statement that fails undoes the ones before it.
    let failed = db
        .atomically(vec![
            audit("first"),
            Statement::new("INSERT INTO audit_log (no_such_column) VALUES ($1)", params![1_i64]),
        ])
        .await;
    assert!(failed.is_err());
    assert_eq!(audit_rows(db).await, 0, "the first insert was rolled back");

    // Dropped without commit: nothing stays, and every connection comes back clean (a pooled
    // connection left inside the transaction would see its own row).
    for _ in 0..3 {
        let mut tx = db.begin().await.expect("begin");
        tx.execute(&audit("dropped").sql, audit("dropped").params).await.expect("insert");
        assert_eq!(
            tx.query("SELECT COUNT(*) FROM audit_log WHERE actor = $1", params!["db-test"]).await.unwrap()[0]
                .get::<i64>(0)
                .unwrap(),
            1,
            "the transaction sees its own write"
        );
        drop(tx);
    }
    for _ in 0..40 {
        assert_eq!(audit_rows(db).await, 0, "a dropped transaction rolled back");
    }

    // Read, decide, write, commit: it stays.
    let mut tx = db.begin().await.expect("begin");
    let held = tx.query_opt("SELECT action FROM audit_log WHERE actor = $1", params!["db-test"]).await.unwrap();
    assert!(held.is_none());
    tx.execute(&audit("committed").sql, audit("committed").params).await.unwrap();
    tx.commit().await.expect("commit");
    assert_eq!(audit_rows(db).await, 1);
    assert_eq!(doorstep_server::accounts::audit_log(db, 10).await.unwrap()[0].action, "committed");
}
