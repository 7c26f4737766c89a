//! `doorstep simulate`: headless volunteers on the real device code. Each records its visits
//! first, whether or not the server answers, then syncs; the last line printed is JSON.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{FixedOffset, Utc};
use doorstep_device::{DeviceStore, SyncClient, SyncConfig};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use crate::generate;

#[derive(clap::Args, Debug, Clone)]
pub struct SimulateArgs {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Number of simulated devices (volunteers).
    #[arg(long, default_value_t = 1)]
    pub devices: usize,
    /// Visits each device records before it syncs.
    #[arg(long, default_value_t = 10)]
    pub visits: usize,
    /// The area the volunteers work in (a GSO code).
    #[arg(long, default_value = "42")]
    pub area: String,
    /// Where each device keeps its database (device-N/device.db); a temporary folder when absent.
    /// Running again with the same folder resumes the same devices and their queues.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Records per push.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Give up syncing after this many seconds (what is left stays queued on the device).
    #[arg(long, default_value_t = 120)]
    pub sync_timeout: u64,
    /// Longest wait between retries, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub max_backoff_ms: u64,
    /// Seed for the random visits; the same seed gives the same visits.
    #[arg(long, default_value_t = 2020)]
    pub seed: u64,
}

#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub recorded: u64,
    pub sent: u64,
    pub confirmed: u64,
    pub rejected: u64,
    /// Still queued on the devices at the end.
    pub pending: u64,
}

pub async fn run(args: SimulateArgs) -> Result<()> {
    let totals = simulate(&args).await?;
    println!("{}", serde_json::to_string(&totals)?);
    Ok(())
}

pub async fn simulate(args: &SimulateArgs) -> Result<Totals> {
    let temp;
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let mut tasks = Vec::new();
    for i in 0..args.devices {
        let args = args.clone();
        let path = dir.join(format!("device-{i}"));
        tasks.push(tokio::spawn(async move { run_device(&args, i, &path).await }));
    }
    let mut totals = Totals::default();
    for t in tasks {
        let d = t.await.context("a simulated device crashed")??;
        totals.recorded += d.recorded;
        totals.sent += d.sent;
        totals.confirmed += d.confirmed;
        totals.rejected += d.rejected;
        totals.pending += d.pending;
    }
    Ok(totals)
}

async fn run_device(args: &SimulateArgs, index: usize, dir: &Path) -> Result<Totals> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let store = DeviceStore::open(&dir.join("device.db")).with_context(|| format!("opening device {index}"))?;
    let store = Arc::new(Mutex::new(store));
    let client = SyncClient::new(SyncConfig {
        server: args.server.trim_end_matches('/').to_string(),
        batch_size: args.batch_size.max(1),
        max_backoff: Duration::from_millis(args.max_backoff_ms.max(1)),
        ..SyncConfig::default()
    })?;

    let mut totals = Totals::default();
    if args.visits > 0 {
        // Learn the area and its households if the server answers; work regardless.
        match tokio::time::timeout(Duration::from_secs(10), client.pull(&store, &args.area)).await {
            Ok(Ok(n)) => tracing::debug!(device = index, households = n, "pulled"),
            Ok(Err(e)) => tracing::info!(device = index, error = %e, "no pull; recording offline"),
            Err(_) => tracing::info!(device = index, "pull timed out; recording offline"),
        }
        let (store2, args2) = (store.clone(), args.clone());
        totals.recorded = tokio::task::spawn_blocking(move || record(&store2, &args2, index))
            .await
            .context("recording")??;
    }

    // A timeout too large to add is no timeout.
    let deadline = tokio::time::Instant::now().checked_add(Duration::from_secs(args.sync_timeout));
    let report = client.drain(&store, deadline).await;
    if let Some(e) = &report.last_error {
        tracing::info!(device = index, error = %e, complete = report.complete, "sync ended with an error");
    }
    totals.sent = report.stats.sent;
    totals.confirmed = report.stats.confirmed;
    totals.rejected = report.stats.rejected;
    let queue = lock(&store).queue()?;
    totals.pending = queue.pending;
    Ok(totals)
}

/// Records `args.visits` visits: households the pull brought first (this device's share of
/// them, unvisited or due again), then new households found at the door.
fn record(store: &Mutex<DeviceStore>, args: &SimulateArgs, index: usize) -> Result<u64> {
    let mut store = lock(store);
    let mut rng = StdRng::seed_from_u64(
        args.seed
            .wrapping_add(index as u64 * 7919)
            .wrapping_add(store.cursor()? as u64),
    );
    let areas = store.areas()?;
    let parent_of = |code: &str| areas.iter().find(|a| a.code == code).and_then(|a| a.parent.clone());
    let leaves: Vec<String> = {
        let under: Vec<_> = areas
            .iter()
            .filter(|a| is_under(&areas, &a.code, &args.area))
            .filter(|a| !areas.iter().any(|c| c.parent.as_deref() == Some(a.code.as_str())))
            .map(|a| a.code.clone())
            .collect();
        if under.is_empty() {
            vec![args.area.clone()]
        } else {
            under
        }
    };
    let known: Vec<_> = store
        .households(Some(&args.area))?
        .into_iter()
        .filter(|h| h.latest_outcome.is_none() || h.revisit_due)
        .enumerate()
        .filter(|(i, _)| i % args.devices.max(1) == index)
        .map(|(_, h)| h)
        .collect();
    let offset = FixedOffset::east_opt(7 * 3600).context("offset")?;
    let mut recorded = 0;
    for n in 0..args.visits {
        let draft = if let Some(h) = known.get(n) {
            let near = match (h.lat, h.lon) {
                (Some(lat), Some(lon)) => (lat, lon),
                _ => generate::base_point(&h.area_code, parent_of(&h.area_code).as_deref()),
            };
            let id = uuid::Uuid::parse_str(&h.id).ok();
            generate::visit(&mut rng, id, &h.area_code, near)
        } else {
            let leaf = &leaves[rand::Rng::random_range(&mut rng, 0..leaves.len())];
            let near = generate::jitter(&mut rng, generate::base_point(leaf, parent_of(leaf).as_deref()), 1500.0);
            generate::visit(&mut rng, None, leaf, near)
        };
        store.record_visit(&draft, Utc::now().with_timezone(&offset))?;
        recorded += 1;
    }
    Ok(recorded)
}

fn is_under(areas: &[doorstep_domain::protocol::AreaDto], code: &str, ancestor: &str) -> bool {
    let mut cur = Some(code.to_string());
    let mut steps = 0;
    while let Some(c) = cur {
        if c == ancestor {
            return true;
        }
        steps += 1;
        if steps > 64 {
            return false;
        }
        cur = areas.iter().find(|a| a.code == c).and_then(|a| a.parent.clone());
    }
    false
}

fn lock(m: &Mutex<DeviceStore>) -> std::sync::MutexGuard<'_, DeviceStore> {
    // SQLite rolls back whatever a panicking holder left open, so the store is still sound.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
