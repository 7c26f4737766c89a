//! Shared set-up for the benchmarks: an in-process server on a fresh SQLite file, the machine
//! description, and percentiles.

use std::path::Path;
use std::sync::Arc;

use doorstep_domain::Campaign;
use doorstep_server::{AppState, Limits, Store};

pub const HA_TINH_2020: &str = include_str!("../../../data/areas/ha-tinh-2020-three-tier.json");

/// Starts the real router on 127.0.0.1 with a fresh database at `db`; returns its URL.
pub async fn start_server(db: &Path) -> (String, Arc<dyn Store>) {
    let store = doorstep_server::open_store(&format!("sqlite:{}", db.display())).expect("open store");
    let areas = doorstep_domain::area::parse_gso_tree(HA_TINH_2020).expect("tree");
    store.import_areas(areas).await.expect("import");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let state = AppState::new(store.clone(), Campaign::bluezone(), Limits::default());
    tokio::spawn(doorstep_server::serve(listener, state, std::future::pending()));
    (url, store)
}

/// One line about the machine, printed with every figure.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cpu}, {cores} cores")
}

/// The p-th percentile (0..=100) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Reads `NAME=value` from the environment, or the default.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
