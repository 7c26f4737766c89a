//! Crashes at random points: the phone's process (the real `doorstep simulate`, two phones with
//! their SQLite stores on disk) is SIGKILLed at a random moment while it records and syncs, and
//! every fourth cycle the server is SIGKILLed too while it stores what arrives; both are started
//! again and the next cycle goes on from what they kept. At the end the phones drain, and the
//! server holds exactly the records the phones hold: none lost, none twice.
//!
//! `DOORSTEP_CRASH_CYCLES` kills (50 by default, as in CI); the long run is
//! `DOORSTEP_CRASH_CYCLES=1000 cargo nextest run -p doorstep-tests -E 'binary(crashes)'`
//! (docs/RELIABILITY.md has its figures).

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use doorstep_tests::{TestServer, wait_until};
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// The bound on the phones' last sync, which sends what the last kill left: after 50 cycles it
/// took 2.7 s on SQLite and 16.9 s on PostgreSQL on the project's 2-core VM (other builds
/// running). Past it the phones are killed and the test fails.
const LAST_SYNC_BOUND: Duration = Duration::from_secs(75);

fn simulate(server: &str, data_dir: &str, visits: usize) -> Child {
    doorstep_tests::simulate_command(&["--server", server, "--devices", "2", "--area", "436"])
        .args(["--visits", &visits.to_string()])
        .args(["--data-dir", data_dir, "--batch-size", "10", "--sync-timeout", "120"])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn doorstep simulate")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kills_of_phones_and_server_lose_and_double_nothing() {
    let cycles: usize = std::env::var("DOORSTEP_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let seed: u64 = std::env::var("DOORSTEP_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(20_200_804);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut server = TestServer::spawn();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_string_lossy().to_string();
    let started = Instant::now();
    let (mut phone_kills, mut server_kills) = (0, 0);

    for cycle in 0..cycles {
        let mut phones = simulate(&server.url, &data_dir, rng.random_range(100..400));
        // A random moment: while the phones start, record (before their first push) or sync.
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..500))).await;
        if cycle % 4 == 3 {
            // The server dies while it stores a batch, then the phones too.
            server.kill();
            server_kills += 1;
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..200))).await;
        }
        // SIGKILL, counted only when it caught the process at work.
        if phones.try_wait().ok().flatten().is_none() {
            phone_kills += 1;
        }
        let _ = phones.kill();
        let _ = phones.wait();
        if !server.is_running() {
            server.start_again();
        }
    }

    assert!(phone_kills * 2 >= cycles, "most kills must catch the phones at work ({phone_kills} of {cycles})");

    // The network stays: the phones drain everything they hold.
    let last_sync = Instant::now();
    let out =
        doorstep_tests::wait_within(simulate(&server.url, &data_dir, 0), LAST_SYNC_BOUND, "the phones' last sync");
    assert!(out.status.success(), "the last sync failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap();
    assert_eq!(last["pending"], 0, "{stdout}");
    let last_sync = last_sync.elapsed().as_secs_f64();

    let mut stores = Vec::new();
    for i in 0..2 {
        let path = data.path().join(format!("device-{i}/device.db"));
        if !path.exists() {
            continue;
        }
        let queue = doorstep_device::DeviceStore::open(&path).unwrap().queue().unwrap();
        assert_eq!((queue.pending, queue.venue_pending), (0, 0), "phone {i} still holds records");
        assert_eq!(queue.rejected + queue.venue_rejected, 0, "phone {i} had records refused");
        stores.push(path);
    }
    let phones = doorstep_tests::PhoneRecords::of_phones(&stores);
    let recorded = phones.visits.len();
    assert!(recorded > 0, "no visit was ever recorded");
    assert!(!phones.venue_visits.is_empty(), "no venue visit was ever recorded");
    let s = &server;
    assert!(wait_until(Duration::from_secs(10), || s.visit_count() as usize == recorded));
    // A kill between the server's commit and the phone's receipt makes the phone send again what
    // the server holds; whether a random kill lands there is chance (50 cycles may see none).
    // Each phone sends again, as such a phone would, its first visits, which must change nothing.
    for path in &stores {
        server.send_again(path, 10).await;
    }
    // Exactly the phones' visits and venue visits, and every figure derived from them (each
    // household's visits and latest visit, area_stats, coverage) as the phones' records say:
    // a duplicate counted twice or a household update lost on a kill would show here.
    server.assert_matches_phones(&phones).await;
    let revisited = phones.visits.len() - doorstep_tests::expected_households(&phones, &server.visit_ids()).len();
    assert!(revisited > 0, "no household was visited twice: the latest visit went unchecked");
    let held = server.visit_ids();
    // The figures for docs/RELIABILITY.md.
    println!(
        "crashes: {phone_kills} phone kills (of {cycles} cycles, the rest had finished) and {server_kills} server \
         kills in {:.0} s (the last sync {last_sync:.1} s); {recorded} visits recorded, {} held, {revisited} of them revisits, {} venue \
         visits; 0 lost, 0 doubled, figures equal to the phones' records",
        started.elapsed().as_secs_f64(),
        held.len(),
        phones.venue_visits.len()
    );
}
