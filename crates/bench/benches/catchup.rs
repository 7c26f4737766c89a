//! A phone's catch-up after a week offline (issue 9, part 2): 10,000 households changed in its
//! commune (and 2,000 in the next, which it must not receive), pulled from its old cursor by the
//! real sync client in pages of 1,000, compressed with zstd, and applied to the real device
//! store. Printed next to what bounds it, measured in the same run: the same pages fetched
//! without applying them (server and HTTP only), and raw rusqlite inserts of the same rows into
//! a table like the phone's in one transaction. Bytes: as sent, and the same JSON uncompressed.
//!
//! `cargo bench -p doorstep-bench --bench catchup` (BENCH_CHANGES, default 10,000).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use doorstep_bench::{env_usize, machine, start_server};
use doorstep_device::{DeviceStore, SyncClient, SyncConfig};
use doorstep_domain::protocol::PullResponse;
use doorstep_domain::values::{AreaCode, Id};
use doorstep_server::store::NewHousehold;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const MINE: &str = "18073";
const PAGE: usize = 1_000;

fn households(area: &str, n: usize, rng: &mut StdRng) -> Vec<NewHousehold> {
    let (lat, lon) = doorstep::generate::base_point(area, Some("436"));
    (0..n)
        .map(|_| NewHousehold {
            id: Id::new_v7(),
            area_code: AreaCode::parse("area", area).expect("area"),
            address: Some(doorstep::generate::address(rng)),
            lat: Some(lat + rng.random_range(-0.01..0.01)),
            lon: Some(lon + rng.random_range(-0.01..0.01)),
        })
        .collect()
}

/// Every page from cursor 0, as sent (`zstd`) or plain: (bytes, pages).
async fn fetch(url: &str, token: &str, zstd: bool) -> (usize, Vec<PullResponse>) {
    let http = reqwest::Client::builder().zstd(false).build().expect("client");
    let (mut bytes, mut pages, mut cursor) = (0, Vec::new(), 0);
    loop {
        let mut req =
            http.get(format!("{url}/api/v1/sync/pull?area={MINE}&cursor={cursor}&limit={PAGE}")).bearer_auth(token);
        if zstd {
            req = req.header("accept-encoding", "zstd");
        }
        let body = req.send().await.expect("pull").bytes().await.expect("body");
        bytes += body.len();
        let plain = if zstd { zstd::decode_all(&body[..]).expect("zstd") } else { body.to_vec() };
        let page: PullResponse = serde_json::from_slice(&plain).expect("page");
        let (more, next) = (page.has_more, page.next_cursor);
        pages.push(page);
        if !more {
            return (bytes, pages);
        }
        cursor = next;
    }
}

/// The floor of applying: the same rows into a table like the phone's, prepared, one transaction.
fn raw_apply(dir: &std::path::Path, pages: &[PullResponse]) -> f64 {
    let mut conn = rusqlite::Connection::open(dir.join("raw-device.db")).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
    conn.pragma_update(None, "synchronous", "FULL").expect("sync");
    conn.execute_batch(
        "CREATE TABLE households (id TEXT PRIMARY KEY, area_code TEXT NOT NULL, address TEXT, lat REAL,
            lon REAL, latest_outcome TEXT, visits INTEGER NOT NULL DEFAULT 0, revisit_due INTEGER NOT NULL
            DEFAULT 0, origin TEXT NOT NULL) STRICT;
         CREATE INDEX households_area ON households (area_code);",
    )
    .expect("schema");
    let start = Instant::now();
    let tx = conn.transaction().expect("tx");
    {
        let mut st = tx
            .prepare(
                "INSERT INTO households (id, area_code, address, lat, lon, latest_outcome, visits, revisit_due, origin)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'server')",
            )
            .expect("prepare");
        for h in pages.iter().flat_map(|p| &p.households) {
            st.execute(rusqlite::params![
                h.id,
                h.area_code,
                h.address,
                h.lat,
                h.lon,
                h.latest_outcome,
                h.visits,
                h.revisit_due
            ])
            .expect("insert");
        }
    }
    tx.commit().expect("commit");
    start.elapsed().as_secs_f64()
}

fn main() {
    let n = env_usize("BENCH_CHANGES", 10_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let (url, server) = rt.block_on(start_server(&dir.path().join("server.db")));
    let mut rng = StdRng::seed_from_u64(9);
    rt.block_on(async {
        server.add_households(households(MINE, n, &mut rng)).await.expect("mine");
        server.add_households(households("18077", n / 5, &mut rng)).await.expect("next door");
    });
    println!("Catch-up after a week: {n} changes in the phone's commune ({})", machine());

    let mut runs = Vec::new();
    let mut token = String::new();
    for run in 0..3 {
        // A phone whose cursor predates every change, as after a week away.
        let store = Arc::new(Mutex::new(
            DeviceStore::open(&dir.path().join(format!("device-{run}.db"))).expect("device store"),
        ));
        let client = SyncClient::new(SyncConfig { server: url.clone(), ..SyncConfig::default() }).expect("client");
        let received = rt.block_on(async {
            let code = doorstep_bench::enrolment_code(server.as_ref()).await;
            client.enrol(&store, &code).await.expect("enrol");
            let start = Instant::now();
            let received = client.pull(&store, MINE).await.expect("pull");
            runs.push(start.elapsed().as_secs_f64());
            received
        });
        assert_eq!(received, n);
        token = store.lock().expect("lock").device_token().expect("token").expect("enrolled").expose().to_string();
    }
    runs.sort_by(f64::total_cmp);
    let pull = runs[1];
    let start = Instant::now();
    let (sent, pages) = rt.block_on(fetch(&url, &token, true));
    let fetch_s = start.elapsed().as_secs_f64();
    let (plain, _) = rt.block_on(fetch(&url, &token, false));
    let raw = raw_apply(dir.path(), &pages);
    println!(
        "  pages fetched and decoded, not applied (server + HTTP)   {fetch_s:>6.2} s   floor\n  \
         raw rusqlite insert of the same rows, one transaction    {raw:>6.2} s   floor\n  \
         the phone's pull, applied to its store (median of 3)     {pull:>6.2} s   ({:.0} households/s; floor {:.2} s)\n  \
         bytes: {sent} as sent (zstd), {plain} plain JSON ({:.1}x smaller), {:.0} bytes per household, {} pages",
        n as f64 / pull,
        fetch_s + raw,
        plain as f64 / sent as f64,
        sent as f64 / n as f64,
        pages.len()
    );
}
