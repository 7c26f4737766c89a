//! A read replica (`doorstep serve --db-read postgres://...`): the dashboard's, reports' and
//! exports' reads go to a PostgreSQL streaming standby while it keeps up, and to the primary
//! otherwise. What must see its own write (sign-in and every token check, a send-back and the
//! list after it, claims, accounts, everything a phone does) always reads the primary.
//!
//! Kept up means: the standby is reachable and has replayed, at the last check, everything the
//! primary had written at the check before (checks every [`CHECK_EVERY`]); behind for longer
//! than the allowed lag, or unreachable, it is left aside, with a log line, until it catches up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::db::{Db, params};
use crate::store::{Store, StoreError};

/// How often the standby's replay is compared with the primary's writes.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

pub struct ReadReplica {
    pub store: Arc<dyn Store>,
    usable: AtomicBool,
}

impl ReadReplica {
    pub fn new(store: Arc<dyn Store>) -> ReadReplica {
        // Not used until a first check says it keeps up.
        ReadReplica { store, usable: AtomicBool::new(false) }
    }

    /// Whether reads go to the standby now.
    pub fn usable(&self) -> bool {
        self.usable.load(Ordering::Relaxed)
    }

    /// Follows the standby for the life of the server: `max_lag` is how far behind it may be.
    pub async fn follow(self: Arc<Self>, primary: Arc<dyn Store>, max_lag: Duration) {
        // The primary's write position at the previous check, and when the standby last had it.
        let mut previous: Option<(String, Instant)> = None;
        let mut caught_up = Instant::now();
        let mut said_down = false;
        loop {
            let now = Instant::now();
            let state = async {
                let written = current_lsn(primary.as_ref()).await?;
                let replayed = replay_lsn(self.store.as_ref()).await?;
                Ok::<_, StoreError>((written, replayed))
            }
            .await;
            match state {
                Ok((written, replayed)) => {
                    said_down = false;
                    let behind = match &previous {
                        Some((lsn, at)) => {
                            if lsn_reached(primary.as_ref(), &replayed, lsn).await.unwrap_or(false) {
                                caught_up = *at;
                            }
                            now.duration_since(caught_up)
                        }
                        None => Duration::ZERO,
                    };
                    previous = Some((written, now));
                    let keeps_up = behind <= max_lag;
                    if keeps_up != self.usable.swap(keeps_up, Ordering::Relaxed) {
                        if keeps_up {
                            tracing::info!("the read replica keeps up: the dashboard's reads go to it");
                        } else {
                            tracing::warn!(
                                behind_secs = behind.as_secs_f64(),
                                "the read replica lags: the dashboard's reads go to the primary until it catches up"
                            );
                        }
                    }
                }
                Err(e) => {
                    self.usable.store(false, Ordering::Relaxed);
                    previous = None;
                    if !said_down {
                        tracing::warn!(error = %e, "the read replica does not answer: the dashboard's reads go to the primary");
                        said_down = true;
                    }
                }
            }
            tokio::time::sleep(CHECK_EVERY).await;
        }
    }
}

async fn current_lsn(primary: &dyn Db) -> Result<String, StoreError> {
    let row = primary.query_opt("SELECT pg_current_wal_lsn()::TEXT", params![]).await?;
    row.ok_or_else(|| StoreError::Db("no write position".into()))?.get(0)
}

async fn replay_lsn(standby: &dyn Db) -> Result<String, StoreError> {
    let row = standby
        .query_opt("SELECT pg_is_in_recovery(), COALESCE(pg_last_wal_replay_lsn()::TEXT, '0/0')", params![])
        .await?
        .ok_or_else(|| StoreError::Db("no replay position".into()))?;
    let (recovering, lsn): (bool, String) = row.columns()?;
    if !recovering {
        return Err(StoreError::Config("--db-read names a database that is not a standby".into()));
    }
    Ok(lsn)
}

/// Whether `replayed` is at or past `target` (asked of the primary, which reads pg_lsn).
async fn lsn_reached(primary: &dyn Db, replayed: &str, target: &str) -> Result<bool, StoreError> {
    let row = primary
        .query_opt("SELECT $1::TEXT::pg_lsn >= $2::TEXT::pg_lsn", params![replayed.to_string(), target.to_string()])
        .await?
        .ok_or_else(|| StoreError::Db("no comparison".into()))?;
    row.get(0)
}
