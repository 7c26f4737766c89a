//! The campaign a running server judges visits by and serves, and how it follows a campaign
//! loaded into the database while it runs (`doorstep admin campaign load` against the
//! PostgreSQL several servers share: each picks it up within [`FOLLOW_EVERY`], no restart).
//! A SQLite file is held by one process, so there a load needs the server stopped anyway.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use doorstep_domain::Campaign;

use crate::db::{Db, params};
use crate::store::{Store, StoreError};

/// How often a server reads the campaign held in the database to see whether it changed.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(3);

/// The campaign being run, replaceable while requests read it. Each campaign run is kept for the
/// life of the process (a few kilobytes, replaced only by an admin's load), so a request holds a
/// plain `&Campaign` that no replacement can pull from under it.
#[derive(Clone)]
pub struct RunningCampaign(Arc<RwLock<&'static Campaign>>);

impl RunningCampaign {
    pub fn new(campaign: Campaign) -> RunningCampaign {
        RunningCampaign(Arc::new(RwLock::new(Box::leak(Box::new(campaign)))))
    }

    /// The campaign now; later replacements do not change what this returns.
    pub fn current(&self) -> &'static Campaign {
        *self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `campaign` from now on, if it differs from the one running; says whether it did.
    pub fn replace(&self, campaign: Campaign) -> bool {
        let mut held = self.0.write().unwrap_or_else(|e| e.into_inner());
        if **held == campaign {
            return false;
        }
        *held = Box::leak(Box::new(campaign));
        true
    }
}

impl std::ops::Deref for RunningCampaign {
    type Target = Campaign;

    fn deref(&self) -> &Campaign {
        self.current()
    }
}

impl std::fmt::Debug for RunningCampaign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RunningCampaign").field(&self.current().code).finish()
    }
}

/// Reads the campaign held in the database and runs it if it changed; says whether it did. No
/// campaign held (none loaded yet) leaves the running one as it is; one that cannot be used is
/// logged and left aside, the running one kept.
pub async fn follow_once(store: &dyn Store, running: &RunningCampaign) -> Result<bool, StoreError> {
    let Some(json) = crate::campaign::definition(store).await? else {
        return Ok(false);
    };
    match Campaign::parse_file(&json) {
        Ok(campaign) => {
            let code = campaign.code.clone();
            let changed = running.replace(campaign);
            if changed {
                tracing::info!(campaign = %code, "a campaign was loaded into the database: running it now");
            }
            Ok(changed)
        }
        Err(e) => {
            tracing::warn!(error = %e, "the campaign held in the database cannot be used; keeping the one running");
            Ok(false)
        }
    }
}

/// Follows the database's campaign for the life of the server.
pub async fn follow(store: Arc<dyn Store>, running: RunningCampaign) {
    loop {
        tokio::time::sleep(FOLLOW_EVERY).await;
        if let Err(e) = follow_once(store.as_ref(), &running).await {
            tracing::warn!(error = %e, "the campaign held in the database was not read");
        }
    }
}

/// The campaign definition loaded into the database (JSON), if any.
pub async fn definition(db: &dyn Db) -> Result<Option<String>, StoreError> {
    db.query_opt("SELECT definition FROM campaign WHERE id = 1", params![]).await?.map(|r| r.get(0)).transpose()
}

/// Loads a campaign definition (JSON), replacing the one held.
pub async fn set_definition(db: &dyn Db, json: String, now_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO campaign (id, definition, loaded_at_ms) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, loaded_at_ms = excluded.loaded_at_ms",
        params![json, now_ms],
    )
    .await?;
    Ok(())
}

/// The campaign the server runs: the one loaded with `doorstep admin campaign load`, or the
/// default (Bluezone, August 2020) when none was.
pub async fn running_campaign(store: &dyn Store) -> Result<doorstep_domain::Campaign, StoreError> {
    match crate::campaign::definition(store).await? {
        None => Ok(doorstep_domain::Campaign::bluezone()),
        // Checked when loaded; checked again, since another version of doorstep may have loaded it.
        Some(json) => doorstep_domain::Campaign::parse_file(&json).map_err(|e| {
            StoreError::Config(format!(
                "the campaign held in the database cannot be used ({e}); load a campaign file again"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_campaign_is_seen_by_new_readers_and_old_ones_keep_theirs() {
        let running = RunningCampaign::new(Campaign::bluezone());
        let before = running.current();
        let other =
            Campaign::parse_file(include_str!("../../../tests/data/pc-covid-2021.json")).expect("the test campaign");
        assert!(!running.replace(Campaign::bluezone()), "the same campaign: nothing changes");
        assert!(running.replace(other));
        assert_eq!(running.code, "pc-covid-2021");
        assert_eq!(before.code, "bluezone-2020");
    }
}
