//! Doorstep's server, in three layers (ARCHITECTURE.md has the map):
//!
//! - [`http`]: the router, the OpenAPI document, the shared kit and the handlers; with [`auth`]
//!   (who calls), [`conn`] (connections) and [`dashboard`].
//! - Features: each with its rules and its statements written once: [`accounts`], [`devices`],
//!   [`areas`], [`coverage`], [`visits`], [`manage`] (teams), [`claims`], [`corrections`],
//!   [`venues`], [`photos`], [`basemap`], [`report`], [`export`], [`map`], [`hexagons`], [`public`],
//!   [`volunteers`], [`targets`], [`campaign`], [`buildings`], [`quality`], [`filter`].
//! - [`db`]: the `Db` interface the features use and the two databases behind it
//!   ([`db::sqlite`], the default; [`db::postgres`], for the nation), with [`store`] (what is
//!   truly per database: ingest, the pull, streaming, imports) and [`migrate`].
//! - `fuzzing` (hidden): the push decoder's entry points for the fuzz targets in `fuzz/`.

pub mod accounts;
pub mod areas;
pub mod auth;
pub mod basemap;
pub mod buildings;
pub mod cache;
pub mod campaign;
pub mod cards;
pub mod claims;
pub mod conn;
pub mod corrections;
pub mod coverage;
pub mod dashboard;
pub mod db;
pub mod devices;
pub mod export;
pub mod filter;
#[doc(hidden)]
pub mod fuzzing;
pub mod hexagons;
pub mod http;
pub mod manage;
pub mod map;
pub mod metrics;
pub mod migrate;
pub mod people;
pub mod photos;
pub mod public;
pub mod replica;
pub mod report;
pub mod store;
pub mod targets;
pub mod venues;
pub mod visits;
pub mod volunteers;

use std::sync::Arc;

pub use db::{postgres, quality, sqlite};
pub use http::{AppState, Limits, router};
pub use store::{Store, StoreError};

/// Opens the store a `--db` URL names: `postgres://...` or `sqlite:PATH` (or a bare path), and
/// brings its schema up to date.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(postgres::PgStore::open(url).await?));
    }
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    if path.is_empty() {
        return Err(StoreError::Config("the database URL names no file: use sqlite:PATH".into()));
    }
    Ok(Arc::new(sqlite::SqliteStore::open(std::path::Path::new(path))?))
}

/// Serves until `shutdown` completes, then finishes the requests under way. Connections are held
/// to `state.limits` (header-read and idle timeouts, how many at once: [`conn`]).
pub async fn serve(
    listener: tokio::net::TcpListener, state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let warm = tokio::spawn(keep_warm(state.clone()));
    // A campaign loaded into the database while this server runs is run without a restart.
    let follow = tokio::spawn(campaign::follow(state.store.clone(), state.campaign.clone()));
    // Each request carries its peer's address: the sign-in and enrolment throttles read it.
    let limits = conn::ConnLimits::from(state.limits.as_ref());
    let served = conn::serve(listener, router(state), limits, shutdown).await;
    warm.abort();
    follow.abort();
    served
}

/// How often the top areas' map figures are made again in the background.
pub const WARM_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// Top areas with fewer households than this are not made ahead: reading them is quick anyway.
pub const WARM_FROM_HOUSEHOLDS: i64 = 10_000;

/// Makes ahead what the dashboard's first page needs at a province's scale (the top areas'
/// outlines and hexagon figures), from the server's start and then every minute, so the first
/// person to open the map does not wait for a province's households to be read.
async fn keep_warm(state: http::AppState) {
    loop {
        if let Err(e) = warm_once(&state).await {
            tracing::warn!(error = %e, "the map's figures were not made ahead");
        }
        tokio::time::sleep(WARM_EVERY).await;
    }
}

async fn warm_once(st: &http::AppState) -> Result<(), StoreError> {
    for root in crate::areas::child_areas(&*st.store, None).await? {
        let Ok(code) = doorstep_domain::values::AreaCode::parse("area", &root.code) else {
            continue;
        };
        let big = crate::coverage::coverage(&*st.store, &code)
            .await?
            .is_some_and(|c| c.households_known >= WARM_FROM_HOUSEHOLDS);
        let Some(path) = crate::areas::area_path(&*st.store, &root.code).await? else {
            continue;
        };
        if !big {
            continue;
        }
        let started = std::time::Instant::now();
        let children = crate::areas::child_areas(&*st.store, Some(&code)).await?;
        let codes: Vec<String> = children.iter().map(|c| c.code.clone()).collect();
        let bounded: std::collections::HashSet<String> =
            crate::areas::boundaries(&*st.store, codes).await?.into_iter().map(|(c, _)| c).collect();
        if children.iter().any(|c| !bounded.contains(&c.code)) {
            map::hulls(&st.store, &st.outlines, &path, &children).await?;
        }
        hexagons::fine_tallies(&st.store, &st.hexagon_tallies, &path, &filter::VisitFilter::default()).await?;
        tracing::debug!(area = %root.code, ms = started.elapsed().as_millis() as u64, "map figures made ahead");
    }
    Ok(())
}

#[cfg(test)]
mod warm_tests {
    use super::*;

    /// A big top area's outlines and hexagon figures are made ahead; a small one's are not.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_provinces_map_figures_are_made_ahead_only_where_reading_them_is_costly() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(sqlite::SqliteStore::open(&dir.path().join("s.db")).unwrap());
        let tree = include_str!("../../../data/areas/ha-tinh-2020-three-tier.json");
        store.import_areas(doorstep_domain::area::parse_gso_tree(tree).unwrap()).await.unwrap();
        let st = http::AppState::new(store.clone(), doorstep_domain::Campaign::bluezone(), http::Limits::default());
        let path = crate::areas::area_path(&*store, "42").await.unwrap().unwrap();
        let key = format!("{path}|{:?}", filter::VisitFilter::default());

        let few = |n: usize| -> Vec<store::NewHousehold> {
            (0..n)
                .map(|i| store::NewHousehold {
                    id: doorstep_domain::values::Id::parse("id", &uuid::Uuid::now_v7().to_string()).unwrap(),
                    area_code: doorstep_domain::values::AreaCode::parse("area", "18073").unwrap(),
                    address: None,
                    lat: Some(18.34 + (i % 100) as f64 * 1e-4),
                    lon: Some(105.90 + (i / 100) as f64 * 1e-4),
                })
                .collect()
        };
        store.add_households(few(100)).await.unwrap();
        warm_once(&st).await.unwrap();
        assert!(!st.hexagon_tallies.holds(&key), "100 households: nothing made ahead");

        store.add_households(few(WARM_FROM_HOUSEHOLDS as usize)).await.unwrap();
        warm_once(&st).await.unwrap();
        assert!(st.hexagon_tallies.holds(&key), "the province's hexagon figures are made ahead");
        assert!(st.outlines.holds(&path), "and its districts' outlines");
    }
}
