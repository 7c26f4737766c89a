//! Bad input over HTTP: each is answered with a 4xx and a JSON error that names what is wrong,
//! and the server keeps serving.

use doorstep_tests::{TestDevice, TestServer};
use serde_json::{Value, json};

const JSON: (&str, &str) = ("content-type", "application/json");

fn valid_record(device: &mut TestDevice) -> (String, Value) {
    device.record(1);
    let store = device.store.lock().unwrap();
    let entry = store.next_batch(1).unwrap().remove(0);
    (store.device_id().to_string(), serde_json::from_str(&entry.body).unwrap())
}

fn envelope(device_id: &str, records: Vec<Value>) -> Value {
    json!({"device_id": device_id, "sent_at": chrono::Utc::now().to_rfc3339(), "records": records})
}

async fn expect_error(server: &TestServer, headers: &[(&str, &str)], body: Vec<u8>, status: u16, code: &str) -> Value {
    let (got, resp) = server.post("/api/v1/sync/push", headers, body).await;
    assert_eq!(got, status, "{resp}");
    let err = &resp["error"];
    assert_eq!(err["code"], code, "{resp}");
    assert!(!err["message"].as_str().unwrap_or("").is_empty(), "{resp}");
    assert!(!err["messages"]["en"].as_str().unwrap_or("").is_empty());
    assert!(!err["messages"]["vi"].as_str().unwrap_or("").is_empty());
    assert_eq!(server.get("/healthz").await.0, 200, "the server keeps serving");
    resp
}

/// A record with one field changed is refused with that field named, in a 422 with receipts,
/// and a valid record sent beside it in the same batch is stored.
async fn expect_field(server: &TestServer, device: &mut TestDevice, record: Value, field: &str, code: &str) {
    device.record(1);
    let beside: Value = {
        let store = device.store.lock().unwrap();
        let last = store.next_batch(usize::MAX).unwrap().pop().unwrap();
        serde_json::from_str(&last.body).unwrap()
    };
    let device_id = device.store.lock().unwrap().device_id().to_string();
    let before = server.visit_count();
    let body = envelope(&device_id, vec![record, beside]).to_string().into_bytes();
    let resp = expect_error(server, &[JSON], body, 422, code).await;
    assert_eq!(resp["error"]["field"], field, "{resp}");
    assert_eq!(resp["receipts"][0]["status"], "rejected");
    assert_eq!(resp["receipts"][1]["status"], "stored", "the record beside it: {resp}");
    assert_eq!(server.visit_count(), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_envelopes() {
    let server = TestServer::spawn();
    let mut device = TestDevice::new(1);
    let (device_id, record) = valid_record(&mut device);

    let r = expect_error(&server, &[JSON], b"{\"device_id\": ".to_vec(), 400, "malformed_json").await;
    assert!(r["error"]["message"].as_str().unwrap().contains("line 1"), "{r}");
    expect_error(&server, &[JSON], b"[1,2,3]".to_vec(), 400, "malformed_json").await;
    // Wrong type in the envelope names the field.
    let r = expect_error(
        &server,
        &[JSON],
        br#"{"device_id": 5, "sent_at": "x", "records": []}"#.to_vec(),
        400,
        "malformed_json",
    )
    .await;
    assert_eq!(r["error"]["field"], "device_id");
    // Duplicate keys are refused, not silently merged.
    let dup = format!(
        r#"{{"device_id": "{device_id}", "device_id": "{device_id}", "sent_at": "2020-08-03T09:00:00+07:00", "records": []}}"#
    );
    expect_error(&server, &[JSON], dup.into_bytes(), 400, "malformed_json").await;
    // Invalid UTF-8.
    let mut bytes = envelope(&device_id, vec![record.clone()]).to_string().into_bytes();
    bytes.splice(10..10, [0xff, 0xfe]);
    expect_error(&server, &[JSON], bytes, 400, "invalid_utf8").await;
    // Wrong content type and encoding.
    let body = envelope(&device_id, vec![record.clone()]).to_string().into_bytes();
    expect_error(&server, &[("content-type", "text/plain")], body.clone(), 415, "unsupported_media_type").await;
    expect_error(&server, &[JSON, ("content-encoding", "br")], body.clone(), 415, "unsupported_encoding").await;
    // Bad device id and clock.
    let mut e = envelope(&device_id, vec![]);
    e["device_id"] = json!("nope");
    let r = expect_error(&server, &[JSON], e.to_string().into_bytes(), 400, "not_uuid").await;
    assert_eq!(r["error"]["field"], "device_id");
    let mut e = envelope(&device_id, vec![]);
    e["sent_at"] = json!("yesterday");
    expect_error(&server, &[JSON], e.to_string().into_bytes(), 400, "not_a_timestamp").await;
    // Deep nesting stops at the decoder's depth limit.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    expect_error(&server, &[JSON], deep.into_bytes(), 400, "malformed_json").await;
    // NaN is not JSON.
    let nan = envelope(&device_id, vec![record.clone()]).to_string().replace("\"lat\":", "\"lat\":NaN,\"x\":");
    expect_error(&server, &[JSON], nan.into_bytes(), 400, "malformed_json").await;
    assert_eq!(server.visit_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_fields_are_named() {
    let server = TestServer::spawn();
    let mut device = TestDevice::new(2);
    let (device_id, record) = valid_record(&mut device);
    let with = |path: &[&str], v: Value| {
        let mut r = record.clone();
        let mut cur = &mut r;
        for p in &path[..path.len() - 1] {
            cur = &mut cur[*p];
        }
        cur[path[path.len() - 1]] = v;
        r
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (with(&["people"], json!("four")), "people", "malformed"),
        (with(&["people"], json!(-3)), "people", "negative"),
        (with(&["installed_now"], json!(1e300)), "installed_now", "malformed"),
        (
            with(&["smartphones"], json!(99_999_999_999_999_999_999_u128.to_string().parse::<f64>().unwrap())),
            "smartphones",
            "malformed",
        ),
        (with(&["outcome"], json!("maybe_later")), "outcome", "unknown_outcome"),
        (with(&["location", "lat"], json!(1e300)), "location.lat", "out_of_range"),
        (with(&["location", "lon"], json!(200.0)), "location.lon", "out_of_range"),
        (with(&["location", "accuracy_m"], json!(-1.0)), "location.accuracy_m", "accuracy_not_positive"),
        (with(&["visited_at"], json!("9999-12-31T23:59:59+07:00")), "visited_at", "in_future"),
        (with(&["household", "address"], json!("a\u{0007}b")), "household.address", "control_characters"),
        (with(&["notes"], json!("x".repeat(5000))), "notes", "too_long"),
        (with(&["leaflet_given"], json!("yes")), "leaflet_given", "malformed"),
        (with(&["id"], json!("67e55044-10b1-426f-9247-bb680e5fe0c8")), "id", "not_uuid_v7"),
        (with(&["area_code"], json!("<script>")), "area_code", "bad_area_code"),
    ];
    let n = cases.len() as i64;
    for (r, field, code) in cases {
        expect_field(&server, &mut device, r, field, code).await;
    }
    assert_eq!(server.visit_count(), n, "every valid record beside a bad one was stored");
    // Infinity written as a number too large for f64 is refused by the decoder, naming the field.
    let text = envelope(&device_id, vec![record.clone()]).to_string();
    let lat = record["location"]["lat"].to_string();
    let inf = text.replacen(&format!("\"lat\":{lat}"), "\"lat\":1e999", 1);
    assert_ne!(inf, text);
    let (status, resp) = server.post("/api/v1/sync/push", &[JSON], inf.into_bytes()).await;
    assert!(status == 400 || status == 422, "{resp}");
    assert!(
        resp["error"]["field"].as_str().unwrap_or("").contains("lat") || resp["error"]["code"] == "malformed_json",
        "{resp}"
    );
    assert_eq!(server.visit_count(), n);
    // NFD Vietnamese text is stored as NFC.
    let nfd = with(&["household", "address"], json!("Xo\u{0301}m \u{0110}o\u{0302}ng"));
    let (status, resp) = server.push_json(&envelope(&device_id, vec![nfd])).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(server.db.i64("SELECT count(*) FROM households WHERE address = 'Xóm Đông'"), 1, "stored in NFC");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_hold_before_and_after_decompression() {
    let server = TestServer::spawn();
    let mut device = TestDevice::new(3);
    let (device_id, record) = valid_record(&mut device);

    // Over the raw limit (8 MiB).
    let mut big = envelope(&device_id, vec![record.clone()]);
    big["padding"] = json!("x".repeat(9 << 20));
    expect_error(&server, &[JSON], big.to_string().into_bytes(), 413, "too_large").await;

    // A zstd bomb: 1 GiB of spaces compresses to about 40 KiB; refused at the 32 MiB limit.
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..1024 {
        std::io::Write::write_all(&mut encoder, &chunk).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    expect_error(&server, &[JSON, ("content-encoding", "zstd")], bomb, 413, "too_large_decompressed").await;

    // A frame that declares 40 MiB is refused before anything is decompressed.
    let declared = zstd::bulk::compress(&vec![b' '; 40 << 20], 3).unwrap();
    expect_error(&server, &[JSON, ("content-encoding", "zstd")], declared, 413, "too_large_decompressed").await;

    // Truncated zstd.
    let good = zstd::encode_all(envelope(&device_id, vec![record.clone()]).to_string().as_bytes(), 3).unwrap();
    expect_error(
        &server,
        &[JSON, ("content-encoding", "zstd")],
        good[..good.len() / 2].to_vec(),
        400,
        "bad_compression",
    )
    .await;
    // The whole one is fine.
    let (status, resp) = server.post("/api/v1/sync/push", &[JSON, ("content-encoding", "zstd")], good).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(server.visit_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_and_routes() {
    let server = TestServer::spawn();
    for (path, status, code) in [
        ("/api/v1/coverage?area=77777", 404, "unknown_area"),
        ("/api/v1/coverage?area=%3Cx%3E", 400, "bad_area_code"),
        ("/api/v1/coverage", 400, "bad_query"),
        ("/api/v1/sync/pull?area=42&cursor=abc", 400, "bad_query"),
        ("/api/v1/nothing-here", 404, "not_found"),
    ] {
        let (got, body) = server.get(path).await;
        assert_eq!((got, body["error"]["code"].as_str().unwrap_or("")), (status, code), "{path}: {body}");
    }
    let (got, body) = server.post("/api/v1/coverage?area=42", &[], vec![]).await;
    assert_eq!((got, body["error"]["code"].as_str().unwrap()), (405, "method_not_allowed"));
    // Outside /api/, the dashboard: its page at the root, with a strict policy; it is one page,
    // so any other path is a 404 (tests/ops.rs has the page a browser sees).
    let (got, body) = server.get("/khu-vuc/436").await;
    assert_eq!((got, body["error"]["code"].as_str()), (404, Some("not_found")));
    for path in ["/"] {
        let resp = reqwest::get(format!("{}{path}", server.url)).await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(resp.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
        assert!(resp.text().await.unwrap().to_lowercase().starts_with("<!doctype html"), "{path}");
    }
    let resp = reqwest::get(format!("{}/assets/no-such-file.js", server.url)).await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let (got, body) = server.post("/some/page", &[], vec![]).await;
    assert_eq!((got, body["error"]["code"].as_str()), (404, Some("not_found")), "only GET serves pages");
    let (got, spec) = server.get("/api/openapi.json").await;
    assert_eq!(got, 200);
    for path in ["/api/v1/sync/push", "/api/v1/sync/pull", "/api/v1/coverage", "/healthz"] {
        assert!(spec["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
    // Vietnamese by default, English when asked.
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/coverage?area=77777", server.url))
        .bearer_auth(server.admin_token().await)
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("not known"), "{body}");
    let (_, body) = server.get("/api/v1/coverage?area=77777").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("không có"), "{body}");
}

/// Sign-in and pull with malformed requests: each a 4xx with a code and a message in both
/// languages, and the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sign_ins_and_pulls() {
    let server = TestServer::spawn();
    let long = "a".repeat(100_000);
    // Headers, body, the status expected.
    type SignIn<'a> = (&'a [(&'a str, &'a str)], Vec<u8>, u16);
    let login_cases: Vec<SignIn<'_>> = vec![
        (&[JSON], Vec::new(), 400),
        (&[JSON], b"{\"username\": \"admin\"}".to_vec(), 400),
        // The decoder reads an array as the fields in order: a wrong password, answered as one.
        (&[JSON], b"[\"admin\", \"password\"]".to_vec(), 401),
        // Sign-in reads its JSON whatever the declared type (as curl sends it): a wrong password.
        (&[("content-type", "text/plain")], b"{\"username\": \"a\", \"password\": \"b\"}".to_vec(), 401),
        (&[JSON], format!("{{\"username\": \"{long}\", \"password\": \"x\"}}").into_bytes(), 401),
        (&[JSON], br#"{"username": "admin\u0000", "password": "x"}"#.to_vec(), 401),
    ];
    for (i, (headers, body, status)) in login_cases.into_iter().enumerate() {
        let (got, resp) = server.post("/api/v1/auth/login", headers, body).await;
        assert_eq!(got, status, "sign-in case {i}: {resp}");
        assert!(resp["error"]["code"].is_string(), "{resp}");
        assert!(!resp["error"]["messages"]["vi"].as_str().unwrap_or("").is_empty(), "{resp}");
        assert!(!resp["error"]["messages"]["en"].as_str().unwrap_or("").is_empty(), "{resp}");
    }
    for (path, status, code) in [
        ("/api/v1/sync/pull", 400, "bad_query"),
        ("/api/v1/sync/pull?area=42&cursor=-5&limit=0", 200, ""),
        ("/api/v1/sync/pull?area=42&limit=99999999999", 400, "bad_query"),
        ("/api/v1/sync/pull?area=9999999999999999999999", 400, "bad_area_code"),
        ("/api/v1/sync/pull?area=42&cursor=1e3", 400, "bad_query"),
    ] {
        let (got, body) = server.get(path).await;
        assert_eq!(got, status, "{path}: {body}");
        if status != 200 {
            assert_eq!(body["error"]["code"], code, "{path}: {body}");
        }
    }
    assert_eq!(server.get("/healthz").await.0, 200);
}

/// Days outside the years 0000 to 9999 are refused like any other bad date. chrono reads
/// `-262143-01-01` and `+262142-12-31` too, and the reports' date arithmetic near those ends
/// overflowed: a panic, answered 500 (found by schemathesis, `scripts/schemathesis.sh`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn days_at_the_ends_of_the_calendar_are_refused_not_a_server_error() {
    let server = TestServer::spawn();
    for path in [
        "/api/v1/progress?area=42&to=-262143-01-01",
        "/api/v1/progress?area=42&from=%2B262142-12-31",
        "/api/v1/volunteers/daily?area=42&to=-262143-01-05",
        "/api/v1/reports/daily.xlsx?area=42&date=-262143-01-01",
        "/api/v1/map/hexagons?area=42&from=-262143-01-01",
        "/api/v1/photos?area=42&day=10000-01-01",
    ] {
        let (got, body) = server.get(path).await;
        assert_eq!((got, body["error"]["code"].as_str()), (400, Some("bad_date")), "{path}: {body}");
    }
    // The first and last days the document allows are answered.
    for path in [
        "/api/v1/progress?area=42&from=0000-01-01&to=0000-03-01",
        "/api/v1/volunteers/daily?area=42&from=9999-12-01&to=9999-12-31",
        "/api/v1/map/hexagons?area=42&from=0000-01-01&to=9999-12-31",
    ] {
        let (got, body) = server.get(path).await;
        assert_eq!(got, 200, "{path}: {body}");
    }
    assert_eq!(server.get("/healthz").await.0, 200);
}

/// The OpenAPI document describes the parameters where they are sent (query parameters were
/// once all declared in the path, and every optional one as required), with the schema the
/// server applies, and names the statuses every protected operation may answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_says_where_each_parameter_goes_and_what_may_be_answered() {
    let server = TestServer::spawn();
    let (_, spec) = server.get_as("/api/openapi.json", None).await;
    let param = |path: &str, name: &str| -> Value {
        spec["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name).cloned())
            .unwrap_or_else(|| panic!("{path} has no parameter {name}"))
    };
    let area = param("/api/v1/coverage", "area");
    assert_eq!((area["in"].as_str(), area["required"].as_bool()), (Some("query"), Some(true)));
    assert_eq!(area["schema"]["$ref"], "#/components/schemas/AreaCode");
    let limit = param("/api/v1/visits", "limit");
    assert_eq!((limit["in"].as_str(), limit["required"].as_bool()), (Some("query"), Some(false)));
    assert_eq!(param("/api/v1/visits/{id}", "id")["in"], "path");
    // The outcome codes are the campaign's.
    let outcomes = spec["components"]["schemas"]["Outcomes"]["pattern"].as_str().unwrap();
    assert!(outcomes.contains("installed_now") && outcomes.contains("none"), "{outcomes}");
    let mut protected = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["security"].is_array() {
                protected += 1;
                for status in ["401", "503"] {
                    assert!(op["responses"][status].is_object(), "{method} {path} names no {status}");
                }
            }
            if op["parameters"].is_array() || op["requestBody"].is_object() {
                assert!(op["responses"]["400"].is_object(), "{method} {path} names no 400");
            }
        }
    }
    assert!(protected > 30, "{protected}");
}

/// Issue 17, item 12: bidirectional controls and zero-width characters let a text display as
/// something else ("gpj.exe" shown as "exe.jpg"). They are refused wherever typed text is
/// validated, naming the field in both languages, and the records beside the refused one are
/// stored: a visit's note and address, a venue's name, a claim's street.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_characters_are_refused_where_text_is_typed() {
    let server = TestServer::spawn();
    let mut device = TestDevice::new(12);
    let (device_id, record) = valid_record(&mut device);
    // The phone refuses it first, with the same domain rule and the same words.
    let mut draft = device.draft(0);
    draft.notes = Some("Hẹn quay lại lúc \u{202E}00:51".into());
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap());
    match device.store.lock().unwrap().record_visit(&draft, now) {
        Err(doorstep_device::DeviceError::Invalid(e)) => {
            assert_eq!((e.field.as_str(), e.code()), ("notes", "hidden_characters"))
        }
        other => panic!("{other:?}"),
    }
    let mut note = record.clone();
    note["notes"] = json!("Hẹn quay lại lúc \u{202E}00:51");
    expect_field(&server, &mut device, note, "notes", "hidden_characters").await;
    for hidden in ['\u{200B}', '\u{2066}', '\u{FEFF}'] {
        let mut address = record.clone();
        address["id"] = json!(uuid::Uuid::now_v7().to_string());
        address["household"]["address"] = json!(format!("Số 5{hidden} Trần Phú"));
        expect_field(&server, &mut device, address, "household.address", "hidden_characters").await;
    }
    assert_eq!(server.visit_count(), 4, "the four visits beside the refused ones");
    let mut embedded = record.clone();
    embedded["notes"] = json!("a\u{202A}b");
    let body = envelope(&device_id, vec![embedded]).to_string().into_bytes();
    let (_, refused) = server.post("/api/v1/sync/push", &[JSON, ("accept-language", "en")], body).await;
    let messages = &refused["error"]["messages"];
    assert!(
        messages["en"].as_str().unwrap().contains("'notes'") && messages["vi"].as_str().unwrap().contains("«notes»"),
        "{refused}"
    );

    // A venue's name, in a venue push: refused by field, the other record stored.
    let phone = uuid::Uuid::now_v7().to_string();
    let venue_visit = |seq: i64, name: &str| {
        json!({
            "id": uuid::Uuid::now_v7().to_string(), "revision": 1, "device_seq": seq, "device_id": phone,
            "volunteer_id": uuid::Uuid::now_v7().to_string(), "area_code": "18073",
            "venue": {"id": uuid::Uuid::now_v7().to_string(), "kind": "school", "name": name},
            "visited_at": "2020-08-04T07:30:00+07:00", "people_reached": 80, "smartphones": 60,
            "already_installed": 20, "installed_now": 15, "notices_posted": 6,
            "location": {"source": "none"}
        })
    };
    let body = json!({
        "device_id": phone, "sent_at": "2020-08-04T08:00:00+07:00",
        "records": [venue_visit(1, "Trường \u{202E}ộđac"), venue_visit(2, "Trường Tiểu học Nam Hà")],
    });
    let (status, answer) = server.post("/api/v1/sync/venues", &[JSON], body.to_string().into_bytes()).await;
    assert_eq!(status, 422, "{answer}");
    let receipts = &answer["receipts"];
    assert_eq!(
        (receipts[0]["status"].as_str(), receipts[0]["error"]["code"].as_str(), receipts[0]["error"]["field"].as_str()),
        (Some("rejected"), Some("hidden_characters"), Some("venue.name")),
        "{answer}"
    );
    assert_eq!(receipts[1]["status"], "stored", "{answer}");
    assert_eq!(server.db.text("SELECT name FROM venues").as_deref(), Some("Trường Tiểu học Nam Hà"));

    // A claim's street, as a leader (here the admin) types it.
    let admin = server.admin_token().await;
    let claim = |street: &str| json!({"volunteer": "volunteer", "area_code": "18073", "street": street});
    let (status, body) = server.post_as("/api/v1/claims", &admin, &claim("Trần\u{200D} Phú")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str(), body["error"]["field"].as_str()),
        (422, Some("hidden_characters"), Some("street")),
        "{body}"
    );
    let (status, body) = server.post_as("/api/v1/claims", &admin, &claim("Trần Phú")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(server.get("/healthz").await.0, 200);
}

/// A targets table with a figure no area can have (it was once stored as 9223372036854775807)
/// is refused by its line and column, and nothing of it is imported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_too_large_for_any_area_is_refused_by_line() {
    let server = TestServer::prepare_stopped();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("targets.csv");
    std::fs::write(&file, "mã;số hộ;dân số\n18077;1.200;4.800\n18073;18446744073709551615;5000\n").unwrap();
    let (ok, _, err) =
        doorstep_tests::doorstep(&["admin", "--db", &server.db.url, "import-targets", &file.to_string_lossy()]);
    assert!(!ok, "refused");
    assert!(err.contains("line 3: Households '18446744073709551615' is larger than any area can have"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert_eq!(server.db.i64("SELECT count(*) FROM targets"), 0);
}

/// Area names with NUL, a right-to-left override or 100,000 characters are refused by line (a
/// GSO tree) or feature (GeoJSON), naming the field; nothing of the file is imported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_area_name_with_control_or_hidden_characters_or_too_long_is_refused() {
    let server = TestServer::prepare_stopped();
    let dir = tempfile::tempdir().unwrap();
    let areas = server.db.i64("SELECT count(*) FROM areas");
    let import = |name: &str, text: String| {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        doorstep_tests::doorstep(&["admin", "--db", &server.db.url, "import-areas", &file.to_string_lossy()])
    };
    // A GSO tree: the line of the name.
    let tree = "{\"province\": {\"code\": 42, \"name\": \"Hà Tĩnh\", \"districts\": [\n\
                {\"code\": 436, \"name\": \"Thành phố Hà Tĩnh\"},\n\
                {\"code\": 437, \"name\": \"Thị xã\\u0000Hồng Lĩnh\"}\n]}}";
    let (ok, _, err) = import("tree.json", tree.to_string());
    assert!(!ok);
    assert!(err.contains("line 3, province.districts[1]: The field 'name' contains control characters"), "{err}");
    // GeoJSON: the feature, by index and code.
    let village = |name: &str| {
        json!({"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null,
            "properties": {"code": "18073-01", "parent_code": "18073", "name": name}}]})
        .to_string()
    };
    let long = "Thôn ".repeat(20_000);
    for (name, says) in [
        ("Thôn\u{0}Một", "contains control characters"),
        ("Thôn \u{202E}tộM", "contains hidden characters"),
        (long.as_str(), "is longer than 120 characters"),
    ] {
        let (ok, _, err) = import("village.geojson", village(name));
        assert!(!ok);
        assert!(err.contains(&format!("feature 0 (code 18073-01): The field 'properties.name' {says}")), "{err}");
        assert!(!err.contains("Thôn Thôn"), "the name is not echoed back");
    }
    assert_eq!(server.db.i64("SELECT count(*) FROM areas"), areas, "nothing imported");
    // The same village with a good name is taken.
    let (ok, _, err) = import("village.geojson", village("Thôn Một"));
    assert!(ok, "{err}");
    assert_eq!(server.db.i64("SELECT count(*) FROM areas"), areas + 1);
    assert_eq!(server.db.text("SELECT name FROM areas WHERE code = '18073-01'").as_deref(), Some("Thôn Một"));
}

/// `/api/v1/progress` refuses a first day after the last, as the exports do (400 `bad_range`,
/// naming `from`, in both languages); the same day at both ends is a day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_refuses_a_first_day_after_the_last() {
    let server = TestServer::spawn();
    for path in [
        "/api/v1/progress?area=42&from=2020-08-05&to=2020-08-04",
        "/api/v1/progress?area=42&from=9999-12-31",
        "/api/v1/exports/visits.csv?area=42&from=2020-08-05&to=2020-08-04",
    ] {
        let (status, body) = server.get(path).await;
        assert_eq!(
            (status, body["error"]["code"].as_str(), body["error"]["field"].as_str()),
            (400, Some("bad_range"), Some("from")),
            "{path}: {body}"
        );
        let m = &body["error"]["messages"];
        assert_eq!(m["en"], "The first day is after the last.");
        assert_eq!(m["vi"], "Ngày bắt đầu sau ngày kết thúc.");
    }
    let (status, body) = server.get("/api/v1/progress?area=42&from=2020-08-04&to=2020-08-04").await;
    assert_eq!(status, 200, "{body}");
}

/// Text that starts like a formula in its full-width form (`＝`, `＋`, `－`, `＠`) is exported to
/// CSV behind an apostrophe, as the ASCII forms are: a spreadsheet would run it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_width_formulas_are_guarded_in_csv_exports() {
    let server = TestServer::spawn();
    let mut device = TestDevice::new(13);
    let (device_id, record) = valid_record(&mut device);
    let mut r = record.clone();
    r["notes"] = json!("＝HYPERLINK(\"http://x.example\";\"Bấm vào\")");
    r["household"]["address"] = json!("＋84 Trần Phú");
    let (status, body) = server.push_json(&envelope(&device_id, vec![r])).await;
    assert_eq!(status, 200, "{body}");
    let admin = server.admin_token().await;
    let csv = |path: &str| {
        let (url, admin) = (format!("{}{path}", server.url), admin.clone());
        async move {
            let resp = reqwest::Client::new().get(url).bearer_auth(admin).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            resp.text().await.unwrap()
        }
    };
    let visits = csv("/api/v1/exports/visits.csv?area=42").await;
    assert!(visits.contains("\"'＝HYPERLINK(\"\"http://x.example\"\";\"\"Bấm vào\"\")\""), "{visits}");
    let households = csv("/api/v1/exports/households.csv?area=42").await;
    assert!(households.contains(",'＋84 Trần Phú,"), "{households}");
}

/// A username with a NUL in it names nobody, on both databases: PostgreSQL text holds no NUL, and
/// the query that looked it up failed (503 `storage_unavailable`) where SQLite found nobody. Found
/// by scripts/schemathesis.sh on PostgreSQL (a claim for a volunteer so named).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_username_with_a_nul_names_nobody_rather_than_failing_the_server() {
    let server = TestServer::spawn();
    let admin = server.admin_token().await;
    let named = "volunteer\u{0}";
    for (path, body, status) in [
        ("/api/v1/enrolments", json!({"volunteer": named}), 404),
        ("/api/v1/claims", json!({"volunteer": named, "area_code": "18073", "street": "đường Xuân Diệu"}), 422),
    ] {
        let (got, answer) = server.post_as(path, &admin, &body).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some("no_such_volunteer")), "{path}: {answer}");
    }
    let (got, answer) = server
        .post_as("/api/v1/teams", &admin, &json!({"name": "Đội Nam Hà", "area_code": "18073", "leader": named}))
        .await;
    assert_eq!((got, answer["error"]["code"].as_str()), (404, Some("no_such_leader")), "{answer}");
    // A team's name and a claim's street with a NUL: refused, or naming nothing.
    let (got, answer) =
        server.post_as("/api/v1/teams", &admin, &json!({"name": "Đội\u{0}", "area_code": "18073"})).await;
    assert_eq!((got, answer["error"]["code"].as_str()), (422, Some("control_characters")), "{answer}");
    let (got, answer) = server
        .post_as(
            "/api/v1/assignments",
            &admin,
            &json!({"team": "Đội\u{0}", "volunteer": "volunteer", "area_code": "18073"}),
        )
        .await;
    assert_eq!((got, answer["error"]["code"].as_str()), (404, Some("no_such_team")), "{answer}");
    let (got, answer) = server
        .post_as(
            "/api/v1/claims",
            &admin,
            &json!({"volunteer": "volunteer", "area_code": "18073", "street": "Trần\u{0}Phú"}),
        )
        .await;
    assert_eq!(got, 422, "{answer}");
    let (got, answer) = server.get("/api/v1/exports/visits.csv?area=18073&team=%C4%90%E1%BB%99i%00").await;
    assert_eq!((got, answer["error"]["code"].as_str()), (404, Some("no_such_team")), "{answer}");
}
