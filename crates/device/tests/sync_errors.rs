//! The sync client's error paths against a scripted HTTP responder. The happy path against the
//! real server is covered by the workspace's integration tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{FixedOffset, Utc};
use doorstep_device::{DeviceStore, QueueCounts, SyncClient, SyncConfig, SyncError, VisitDraft};
use doorstep_domain::VisitInput;
use doorstep_domain::account::Role;
use doorstep_domain::protocol::{
    EnrolRequest, EnrolResponse, HouseholdDto, PullResponse, PushRequest, PushResponse, Receipt, ReceiptStatus, UserDto,
};
use doorstep_domain::visit::LocationInput;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as the responder saw it, body decompressed when it was zstd.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn push(&self) -> PushRequest {
        serde_json::from_slice(&self.body).expect("push body is a PushRequest")
    }
}

/// The response: status, extra headers, body.
type Reply = (u16, Vec<(&'static str, String)>, Vec<u8>);

/// Serves HTTP/1.1, one request per connection, answering with `handler(n, request)`.
async fn responder<F>(handler: F) -> (String, Arc<Mutex<Vec<Seen>>>)
where
    F: Fn(usize, &Seen) -> Reply + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let handler = Arc::new(handler);
    let count = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (log, handler, count) = (Arc::clone(&log), Arc::clone(&handler), Arc::clone(&count));
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let head_end = loop {
                    let mut chunk = [0u8; 4096];
                    let n = sock.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let mut lines = head.split("\r\n");
                let target = lines.next().unwrap().split(' ').nth(1).unwrap().to_string();
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .collect();
                let len = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.parse::<usize>().unwrap());
                while buf.len() < head_end + len {
                    let mut chunk = [0u8; 65536];
                    let n = sock.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "body cut short");
                    buf.extend_from_slice(&chunk[..n]);
                }
                let mut body = buf[head_end..head_end + len].to_vec();
                if headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v == "zstd") {
                    body = zstd::stream::decode_all(&body[..]).unwrap();
                }
                let seen = Seen { target, headers, body };
                let n = count.fetch_add(1, Ordering::SeqCst);
                let (status, extra, reply) = handler(n, &seen);
                log.lock().unwrap().push(seen);
                let mut out = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                    reply.len()
                );
                for (k, v) in extra {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let _ = sock.write_all(out.as_bytes()).await;
                let _ = sock.write_all(&reply).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (url, seen)
}

fn json(status: u16, body: impl serde::Serialize) -> Reply {
    (status, vec![], serde_json::to_vec(&body).unwrap())
}

/// Receipts as the server gives them: `stored`, except `rejected` for the ids in `refuse`.
fn receipts(req: &PushRequest, refuse: &[String]) -> Reply {
    let receipts: Vec<Receipt> = req
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let rejected = refuse.contains(&r.id);
            Receipt {
                index: i as u32,
                id: Some(r.id.clone()),
                revision: Some(r.revision),
                status: if rejected { ReceiptStatus::Rejected } else { ReceiptStatus::Stored },
                server_seq: None,
                error: None,
            }
        })
        .collect();
    let status = if refuse.iter().any(|id| req.records.iter().any(|r| &r.id == id)) { 422 } else { 200 };
    json(
        status,
        PushResponse {
            receipts,
            server_time: Utc::now().to_rfc3339(),
            clock_skew_seconds: 0,
            clock_warning: None,
            error: None,
        },
    )
}

fn draft() -> VisitDraft {
    VisitDraft {
        household_id: None,
        address: Some("Xóm Đông, Thạch Hạ".into()),
        area_code: "18073".into(),
        outcome: "installed_now".into(),
        reason: None,
        people: 4,
        smartphones: 3,
        already_installed: 1,
        installed_now: 2,
        leaflet_given: true,
        location: LocationInput {
            source: "gps".into(),
            lat: Some(18.3428),
            lon: Some(105.9057),
            accuracy_m: Some(8.0),
        },
        notes: None,
    }
}

/// The token every enrolled test store holds.
const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn enrol_answer(token: &str) -> EnrolResponse {
    EnrolResponse {
        device_token: token.into(),
        volunteer_id: uuid::Uuid::now_v7().to_string(),
        volunteer: UserDto { username: "tinhnguyen.namha".into(), role: Role::Volunteer, area_code: "18073".into() },
    }
}

fn store_with(n: usize) -> (tempfile::TempDir, Arc<Mutex<DeviceStore>>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = DeviceStore::open(&dir.path().join("device.db")).unwrap();
    s.set_enrolment(&enrol_answer(TOKEN)).unwrap();
    let now = Utc::now().with_timezone(&FixedOffset::east_opt(7 * 3600).unwrap());
    let ids = (0..n).map(|_| s.record_visit(&draft(), now).unwrap().id.to_string()).collect();
    (dir, Arc::new(Mutex::new(s)), ids)
}

fn config(server: &str, batch_size: usize) -> SyncConfig {
    SyncConfig {
        server: server.into(),
        batch_size,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(40),
        request_timeout: Duration::from_secs(10),
        zstd_level: 3,
        trusted_ca: None,
    }
}

fn queue(store: &Arc<Mutex<DeviceStore>>) -> QueueCounts {
    store.lock().unwrap().queue().unwrap()
}

#[tokio::test]
async fn push_sends_compressed_records_verbatim_with_the_headers() {
    let (url, seen) = responder(|_, req| receipts(&req.push(), &[])).await;
    let (_dir, store, ids) = store_with(3);
    let client = SyncClient::new(config(&url, 500)).unwrap();
    let stats = client.push_batch(&store).await.unwrap();
    assert_eq!((stats.batches, stats.sent, stats.confirmed, stats.rejected), (1, 3, 3, 0));
    assert_eq!(queue(&store), QueueCounts { pending: 0, rejected: 0, sent: 3, ..Default::default() });
    assert!(store.lock().unwrap().meta("last_sync_ok").unwrap().is_some());

    let req = &seen.lock().unwrap()[0].clone();
    assert_eq!(req.target, "/api/v1/sync/push");
    assert_eq!(req.header("content-encoding"), Some("zstd"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("accept-language"), Some("vi"));
    assert_eq!(req.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    let push = req.push();
    assert_eq!(push.device_id, store.lock().unwrap().device_id().to_string());
    assert!(chrono::DateTime::parse_from_rfc3339(&push.sent_at).is_ok());
    assert_eq!(push.records.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), ids);
    assert_eq!(push.records.iter().map(|r| r.device_seq).collect::<Vec<_>>(), [1, 2, 3]);
    // The records travel exactly as stored.
    let raw: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    let first: VisitInput = serde_json::from_value(raw["records"][0].clone()).unwrap();
    assert_eq!(first.household.address.as_deref(), Some("Xóm Đông, Thạch Hạ"));

    // Nothing left: an empty push sends nothing.
    assert_eq!(client.push_batch(&store).await.unwrap().batches, 0);
}

#[tokio::test]
async fn too_large_halves_the_batch_until_it_fits() {
    // The "server" takes at most 2 records per request.
    let (url, seen) = responder(|_, req| {
        let push = req.push();
        if push.records.len() > 2 {
            json(413, serde_json::json!({"error": {"code": "too_large"}}))
        } else {
            receipts(&push, &[])
        }
    })
    .await;
    let (_dir, store, _) = store_with(7);
    let client = SyncClient::new(config(&url, 8)).unwrap();
    assert!(matches!(client.push_batch(&store).await, Err(SyncError::Server { status: 413, .. })));
    assert_eq!(client.batch_size(), 3, "7 records refused: next try at most 3");
    assert_eq!(queue(&store).pending, 7, "nothing cleared without a receipt");

    let report = client.drain(&store, None).await;
    assert!(report.complete, "{report:?}");
    assert_eq!(queue(&store), QueueCounts { pending: 0, rejected: 0, sent: 7, ..Default::default() });
    let sizes: Vec<usize> = seen.lock().unwrap().iter().map(|s| s.push().records.len()).collect();
    // 7 refused; two batches of 3 were in flight together (the pipeline) and both refused;
    // then one at a time under the lowered ceiling.
    assert_eq!(sizes, [7, 3, 3, 1, 1, 1, 1, 1, 1, 1]);
    // The ceiling stays: later batches do not grow past what the server took.
    assert_eq!(client.batch_size(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let (url, seen) =
        responder(|n, req| if n < 3 { (500, vec![], b"boom".to_vec()) } else { receipts(&req.push(), &[]) }).await;
    let (_dir, store, _) = store_with(4);
    let client = SyncClient::new(config(&url, 500)).unwrap();
    let report = client.drain(&store, None).await;
    assert!(report.complete, "{report:?}");
    assert_eq!(report.stats.retries, 3);
    assert_eq!((report.stats.batches, report.stats.confirmed), (1, 4));
    assert!(report.last_error.as_deref().is_some_and(|e| e.contains("500") && e.contains("boom")));
    assert_eq!(seen.lock().unwrap().len(), 4);
    assert_eq!(queue(&store).sent, 4);
}

#[tokio::test]
async fn a_deadline_stops_retries_and_keeps_everything_pending() {
    let (url, _seen) = responder(|_, _| (503, vec![], b"down".to_vec())).await;
    let (_dir, store, _) = store_with(2);
    let client = SyncClient::new(config(&url, 500)).unwrap();
    let start = tokio::time::Instant::now();
    let report = client.drain(&store, Some(start + Duration::from_millis(300))).await;
    assert!(!report.complete);
    assert!(report.stats.retries >= 2, "{report:?}");
    let err = report.last_error.unwrap();
    assert!(err.contains("deadline") && err.contains("503"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(3));
    assert_eq!(queue(&store), QueueCounts { pending: 2, rejected: 0, sent: 0, ..Default::default() });

    // Nobody listening: a network error, also retryable, also bounded by the deadline.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = SyncClient::new(config(&dead, 500)).unwrap();
    assert!(matches!(client.push_batch(&store).await, Err(SyncError::Network(_))));
    let report = client.drain(&store, Some(tokio::time::Instant::now() + Duration::from_millis(100))).await;
    assert!(!report.complete && report.last_error.unwrap().contains("network"));
    assert_eq!(queue(&store).pending, 2);
}

#[tokio::test]
async fn a_single_record_refused_as_a_whole_is_marked_rejected() {
    let (url, _seen) = responder(|_, _| {
        json(
            400,
            serde_json::json!({"error": {"code": "malformed_json", "field": "records", "message": "Sai định dạng",
                "messages": {"vi": "Sai định dạng", "en": "Malformed"}}}),
        )
    })
    .await;
    let (_dir, store, ids) = store_with(1);
    let client = SyncClient::new(config(&url, 500)).unwrap();
    let stats = client.push_batch(&store).await.unwrap();
    assert_eq!((stats.sent, stats.rejected, stats.confirmed), (1, 1, 0));
    assert_eq!(queue(&store), QueueCounts { pending: 0, rejected: 1, sent: 0, ..Default::default() });
    let r = store.lock().unwrap().rejected().unwrap();
    assert_eq!(r[0].id, ids[0]);
    assert_eq!((r[0].error.code.as_str(), r[0].error.messages.en.as_str()), ("malformed_json", "Malformed"));
    assert_eq!(r[0].error.messages.vi, "Sai định dạng");
}

#[tokio::test]
async fn a_refused_batch_is_split_until_the_bad_record_is_alone() {
    let bad = Arc::new(Mutex::new(String::new()));
    let culprit = Arc::clone(&bad);
    let (url, _seen) = responder(move |_, req| {
        let push = req.push();
        let bad = culprit.lock().unwrap().clone();
        if push.records.iter().any(|r| r.id == bad) {
            json(
                400,
                serde_json::json!({"error": {"code": "malformed_json", "message": "unreadable",
                    "messages": {"vi": "không đọc được", "en": "unreadable"}}}),
            )
        } else {
            receipts(&push, &[])
        }
    })
    .await;
    let (_dir, store, ids) = store_with(9);
    *bad.lock().unwrap() = ids[5].clone();
    let client = SyncClient::new(config(&url, 8)).unwrap();
    let report = client.drain(&store, Some(tokio::time::Instant::now() + Duration::from_secs(20))).await;
    assert!(report.complete, "{report:?}");
    assert_eq!(queue(&store), QueueCounts { pending: 0, rejected: 1, sent: 8, ..Default::default() });
    let r = store.lock().unwrap().rejected().unwrap();
    assert_eq!(r[0].id, ids[5]);
    assert_eq!(r[0].error.code, "malformed_json");
    assert_eq!(r[0].error.messages.vi, "không đọc được");
    assert_eq!((report.stats.confirmed, report.stats.rejected), (8, 1));
}

#[tokio::test]
async fn per_record_rejections_do_not_block_the_queue() {
    let bad = Arc::new(Mutex::new(Vec::<String>::new()));
    let refuse = Arc::clone(&bad);
    let (url, _seen) = responder(move |_, req| receipts(&req.push(), &refuse.lock().unwrap())).await;
    let (_dir, store, ids) = store_with(5);
    *bad.lock().unwrap() = vec![ids[0].clone(), ids[3].clone()];
    let client = SyncClient::new(config(&url, 2)).unwrap();
    let report = client.drain(&store, None).await;
    assert!(report.complete);
    assert_eq!((report.stats.batches, report.stats.confirmed, report.stats.rejected), (3, 3, 2));
    assert_eq!(queue(&store), QueueCounts { pending: 0, rejected: 2, sent: 3, ..Default::default() });
    let rejected: Vec<String> = store.lock().unwrap().rejected().unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(rejected, [ids[0].clone(), ids[3].clone()]);
}

#[tokio::test]
async fn receipts_that_match_nothing_are_retried_not_trusted() {
    let (url, _seen) = responder(|n, req| {
        let mut push = req.push();
        if n == 0 {
            // Receipts for other ids: nothing may be cleared.
            for r in &mut push.records {
                r.id = uuid::Uuid::now_v7().to_string();
            }
        }
        receipts(&push, &[])
    })
    .await;
    let (_dir, store, _) = store_with(2);
    let client = SyncClient::new(config(&url, 500)).unwrap();
    assert!(matches!(client.push_batch(&store).await, Err(SyncError::Protocol(_))));
    assert_eq!(queue(&store).pending, 2);
    let report = client.drain(&store, None).await;
    assert!(report.complete);
    assert_eq!(queue(&store).sent, 2);
}

#[tokio::test]
async fn pull_pages_through_and_reads_zstd() {
    let (url, seen) = responder(|n, req| {
        let cursor: i64 = req.target.split("cursor=").nth(1).unwrap().split('&').next().unwrap().parse().unwrap();
        assert_eq!(cursor, [0, 5][n]);
        let page = PullResponse {
            areas: vec![],
            households: (0..3)
                .map(|i| HouseholdDto {
                    id: format!("h-{n}-{i}"),
                    area_code: "18073".into(),
                    address: None,
                    lat: None,
                    lon: None,
                    visits: 1,
                    latest_outcome: Some("not_home".into()),
                    revisit_due: true,
                    revisit_due_at_ms: None,
                    latest_volunteer_id: None,
                    latest_volunteer: None,
                    latest_visited_at_ms: None,
                    updated_seq: 1,
                })
                .collect(),
            claims: vec![],
            next_cursor: [5, 9][n],
            has_more: n == 0,
        };
        let body = zstd::bulk::compress(&serde_json::to_vec(&page).unwrap(), 3).unwrap();
        (200, vec![("Content-Encoding", "zstd".to_string())], body)
    })
    .await;
    let (_dir, store, _) = store_with(0);
    let client = SyncClient::new(config(&url, 500)).unwrap();
    assert_eq!(client.pull(&store, "18073").await.unwrap(), 6);
    assert_eq!(store.lock().unwrap().cursor().unwrap(), 9);
    assert_eq!(store.lock().unwrap().households(None).unwrap().len(), 6);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].target, "/api/v1/sync/pull?area=18073&cursor=0&limit=1000");
    assert_eq!(seen[1].target, "/api/v1/sync/pull?area=18073&cursor=5&limit=1000");
    for s in seen.iter() {
        assert_eq!(s.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    }
}

/// A refusal that is not our server's word about a record (a proxy's 415, a 400 with no error
/// body, a 409) never marks a record refused: the queue waits and tries again.
#[tokio::test]
async fn refusals_not_about_a_record_are_retried_never_marked() {
    for reply in [
        (415, vec![], b"unsupported".to_vec()),
        (400, vec![], b"<html>bad request</html>".to_vec()),
        json(
            409,
            serde_json::json!({"error": {"code": "conflict", "message": "x", "messages": {"vi": "x", "en": "x"}}}),
        ),
        json(
            400,
            serde_json::json!({"error": {"code": "bad_compression", "message": "x", "messages": {"vi": "x", "en": "x"}}}),
        ),
    ] {
        let status = reply.0;
        let (url, seen) = responder(move |_, _| reply.clone()).await;
        let (_dir, store, _) = store_with(1);
        let client = SyncClient::new(config(&url, 500)).unwrap();
        let report = client.drain(&store, Some(tokio::time::Instant::now() + Duration::from_millis(300))).await;
        assert!(!report.complete, "{status}");
        assert_eq!(queue(&store).pending, 1, "{status}: the record is still waiting");
        assert_eq!(queue(&store).rejected, 0, "{status}");
        assert!(seen.lock().unwrap().len() >= 2, "{status}: retried");
    }
}

/// A 413 for one record refuses that record, and the others go back to full batches.
#[tokio::test]
async fn a_record_too_large_alone_is_refused_and_batches_grow_back() {
    let bad = Arc::new(Mutex::new(String::new()));
    let culprit = Arc::clone(&bad);
    let (url, _seen) = responder(move |_, req| {
        let push = req.push();
        if push.records.iter().any(|r| r.id == *culprit.lock().unwrap()) {
            json(413, serde_json::json!({"error": {"code": "too_large", "message": "x", "messages": {"vi": "quá lớn", "en": "too large"}}}))
        } else {
            receipts(&push, &[])
        }
    })
    .await;
    let (_dir, store, ids) = store_with(6);
    *bad.lock().unwrap() = ids[0].clone();
    let client = SyncClient::new(config(&url, 4)).unwrap();
    let report = client.drain(&store, Some(tokio::time::Instant::now() + Duration::from_secs(20))).await;
    assert!(report.complete, "{report:?}");
    assert_eq!((report.stats.confirmed, report.stats.rejected), (5, 1));
    assert_eq!(client.batch_size(), 4, "the ceiling came back once the culprit was found");
}

/// The server's warning about the phone's clock is kept in the store for the app to show, and
/// cleared once the clock is right again.
#[tokio::test]
async fn a_clock_warning_is_kept_for_the_app_and_cleared_when_right() {
    let (url, _seen) = responder(|n, req| {
        let (status, headers, body) = receipts(&req.push(), &[]);
        let mut answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if n == 0 {
            answer["clock_skew_seconds"] = serde_json::json!(7200);
            answer["clock_warning"] =
                serde_json::json!({"vi": "Đồng hồ lệch 120 phút", "en": "The clock is 120 minutes off"});
        }
        (status, headers, serde_json::to_vec(&answer).unwrap())
    })
    .await;
    let (_dir, store, _) = store_with(2);
    let client = SyncClient::new(config(&url, 1)).unwrap();
    client.push_batch(&store).await.unwrap();
    let kept = store.lock().unwrap().meta(doorstep_device::META_CLOCK_WARNING).unwrap().unwrap();
    let warning: doorstep_domain::Messages = serde_json::from_str(&kept).unwrap();
    assert_eq!(warning.vi, "Đồng hồ lệch 120 phút");
    client.push_batch(&store).await.unwrap();
    let kept = store.lock().unwrap().meta(doorstep_device::META_CLOCK_WARNING).unwrap().unwrap();
    assert_eq!(kept, "");
}

fn error_json(status: u16, code: &str, en: &str) -> Reply {
    json(
        status,
        serde_json::json!({"error": {"code": code, "message": en, "messages": {"vi": format!("vi: {en}"), "en": en}}}),
    )
}

/// A revoked phone: every push is refused with 403 and retried; no record is marked refused, the
/// problem is kept for the app, and after a new enrolment the next request carries the new token,
/// goes through and clears the problem.
#[tokio::test]
async fn a_revoked_device_keeps_its_queue_and_syncs_after_re_enrolment() {
    let (url, seen) = responder(|_, req| {
        if req.header("authorization") == Some("Bearer new-token") {
            receipts(&req.push(), &[])
        } else {
            error_json(403, "device_revoked", "This phone was revoked")
        }
    })
    .await;
    let (_dir, store, _) = store_with(3);
    let client = SyncClient::new(config(&url, 2)).unwrap();
    assert!(matches!(client.push_batch(&store).await, Err(SyncError::Server { status: 403, .. })));
    let report = client.drain(&store, Some(tokio::time::Instant::now() + Duration::from_millis(300))).await;
    assert!(!report.complete);
    assert!(report.stats.retries >= 2, "{report:?}");
    assert!(report.last_error.as_deref().is_some_and(|e| e.contains("403")));
    assert!(!report.last_error.unwrap().contains(TOKEN));
    assert_eq!(queue(&store), QueueCounts { pending: 3, rejected: 0, sent: 0, ..Default::default() });
    let problem = store.lock().unwrap().auth_problem().unwrap().expect("kept for the app");
    assert_eq!(problem.code, "device_revoked");
    assert_eq!(problem.messages.en, "This phone was revoked");

    // The phone is enrolled again; a set-in-between token is read by the very next request.
    store.lock().unwrap().set_enrolment(&enrol_answer("new-token")).unwrap();
    store.lock().unwrap().set_auth_problem(Some(&problem)).unwrap();
    let report = client.drain(&store, None).await;
    assert!(report.complete, "{report:?}");
    assert_eq!(queue(&store).sent, 3);
    assert_eq!(store.lock().unwrap().auth_problem().unwrap(), None, "cleared by the push");
    let seen = seen.lock().unwrap();
    assert!(seen.iter().any(|s| s.header("authorization") == Some(&format!("Bearer {TOKEN}"))));
    assert_eq!(seen.last().unwrap().header("authorization"), Some("Bearer new-token"));
}

/// 401 to a push (an unknown token, or one from a proxy without our error body) is retried too.
#[tokio::test]
async fn an_unauthenticated_push_is_retried_never_marked() {
    for reply in [
        error_json(401, "unauthenticated", "Sign in"),
        (401, vec![], b"no".to_vec()),
        error_json(403, "wrong_device", "Wrong device"),
    ] {
        let status = reply.0;
        let (url, _seen) = responder(move |_, _| reply.clone()).await;
        // One record: the case in which a record-level refusal would mark it.
        let (_dir, store, _) = store_with(1);
        let client = SyncClient::new(config(&url, 500)).unwrap();
        let report = client.drain(&store, Some(tokio::time::Instant::now() + Duration::from_millis(200))).await;
        assert!(!report.complete, "{status}");
        assert_eq!(queue(&store), QueueCounts { pending: 1, rejected: 0, sent: 0, ..Default::default() }, "{status}");
        let problem = store.lock().unwrap().auth_problem().unwrap().expect("kept");
        assert!(problem.code == "unauthenticated" || problem.code == "http_401" || problem.code == "wrong_device");
        assert!(problem.messages.vi.len() > 3 && problem.messages.en.len() > 3);
    }
}

#[tokio::test]
async fn a_pull_refused_for_the_area_is_a_server_error_and_kept() {
    let (url, _seen) = responder(|_, _| error_json(403, "out_of_scope", "Not your area")).await;
    let (_dir, store, _) = store_with(0);
    let client = SyncClient::new(config(&url, 500)).unwrap();
    let e = client.pull(&store, "437").await.unwrap_err();
    assert!(matches!(e, SyncError::Server { status: 403, .. }), "{e:?}");
    assert_eq!(store.lock().unwrap().auth_problem().unwrap().map(|p| p.code), Some("out_of_scope".to_string()));
}

#[tokio::test]
async fn enrol_posts_the_code_and_keeps_the_token_and_volunteer() {
    let volunteer = uuid::Uuid::now_v7();
    let (url, seen) = responder(move |_, req| {
        let asked: EnrolRequest = serde_json::from_slice(&req.body).unwrap();
        if asked.code == "ABCDE-FGHJK" {
            let mut answer = enrol_answer("fresh-token");
            answer.volunteer_id = volunteer.to_string();
            json(200, answer)
        } else {
            error_json(401, "enrolment_code_invalid", "The enrolment code is wrong")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let s = DeviceStore::open(&dir.path().join("device.db")).unwrap();
    let device = s.device_id();
    let store = Arc::new(Mutex::new(s));
    let client = SyncClient::new(config(&url, 500)).unwrap();

    let e = client.enrol(&store, "WRONG-CODE1").await.unwrap_err();
    assert!(matches!(e, SyncError::Server { status: 401, .. }), "{e:?}");
    assert!(e.to_string().contains("enrolment_code_invalid"));
    assert_eq!(store.lock().unwrap().enrolment().unwrap(), None);

    let enrolled = client.enrol(&store, " ABCDE-FGHJK ").await.unwrap();
    assert_eq!(enrolled.volunteer_id, volunteer);
    assert_eq!(enrolled.username, "tinhnguyen.namha");
    assert_eq!(enrolled.device_token.expose(), "fresh-token");
    assert!(!format!("{enrolled:?}").contains("fresh-token"));
    assert_eq!(store.lock().unwrap().volunteer_id(), volunteer);
    assert_eq!(
        store.lock().unwrap().device_token().unwrap().map(|t| t.expose().to_string()),
        Some("fresh-token".to_string())
    );

    let seen = seen.lock().unwrap();
    assert_eq!(seen[1].target, "/api/v1/enrol");
    assert_eq!(seen[1].header("authorization"), None);
    let asked: EnrolRequest = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!((asked.code.as_str(), asked.device_id), ("ABCDE-FGHJK", device.to_string()));
}

/// An answer that cannot be read is an error that does not quote it: it may hold the token.
#[tokio::test]
async fn an_unreadable_enrol_answer_does_not_leak_the_token() {
    let (url, _seen) = responder(|_, _| {
        json(
            200,
            serde_json::json!({"device_token": "leaky-token", "volunteer_id": "0190d7a1-0000-7000-8000-000000000000", "volunteer": "leaky-token"}),
        )
    })
    .await;
    let (_dir, store, _) = store_with(0);
    let client = SyncClient::new(config(&url, 500)).unwrap();
    let e = client.enrol(&store, "ABCDE-FGHJK").await.unwrap_err();
    assert!(matches!(e, SyncError::Protocol(_)), "{e:?}");
    assert!(!e.to_string().contains("leaky") && !format!("{e:?}").contains("leaky"), "{e}");
    assert_eq!(
        store.lock().unwrap().device_token().unwrap().map(|t| t.expose().to_string()),
        Some(TOKEN.to_string()),
        "the old enrolment stays"
    );
}
