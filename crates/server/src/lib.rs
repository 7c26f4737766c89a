//! Doorstep's server: the HTTP API over a [`store::Store`].
//!
//! - [`api`]: routes, request decoding, limits, the OpenAPI document.
//! - [`manage`]: teams, assignments, and the leader's reading of visits.
//! - [`store`]: the storage trait every database implements.
//! - [`sqlite`]: the SQLite implementation (the default; a province fits with room to spare).
//! - [`postgres`]: the PostgreSQL implementation (the nation; several servers on one database).
//! - [`hexagons`], [`filter`], [`export`], [`public`]: the map's H3 hexagons and filters, CSV and
//!   GeoJSON exports, and the optional public aggregates.
//! - [`quality`]: data-quality flags decided at ingest; [`volunteers`]: visits per volunteer and
//!   the devices' last sync, for leaders.

pub mod api;
pub mod auth;
pub mod cache;
pub mod corrections;
pub mod dashboard;
pub mod export;
pub mod filter;
pub mod hexagons;
pub mod manage;
pub mod map;
pub mod migrate;
pub mod photos;
pub mod postgres;
pub mod public;
pub mod quality;
pub mod report;
pub mod rows;
pub mod sqlite;
pub mod store;
pub mod venues;
pub mod volunteers;

use std::sync::Arc;

pub use api::{AppState, Limits, router};
pub use store::{Store, StoreError};

/// Opens the store a `--db` URL names: `postgres://...` or `sqlite:PATH` (or a bare path), and
/// brings its schema up to date.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(postgres::PgStore::open(url).await?));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() {
        return Err(StoreError::Config(
            "the database URL names no file: use sqlite:PATH".into(),
        ));
    }
    Ok(Arc::new(sqlite::SqliteStore::open(std::path::Path::new(path))?))
}

/// Serves until `shutdown` completes, then finishes the requests under way.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address feeds the sign-in throttle.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
