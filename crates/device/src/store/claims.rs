//! Claims on the phone: who holds which doors, so that no door is knocked twice.
//!
//! The pull brings the leaders' claims of the phone's areas (given, handed over, released) and,
//! with each household, the volunteer and time of its latest visit; a visit recorded here makes
//! this phone's volunteer the household's latest at once. Who holds a household is judged when
//! the households are read, at the phone's now, by the domain's rules
//! ([`doorstep_domain::claim::ClaimBook`]): nothing judged is stored, so a claim runs out on an
//! offline phone exactly when it does on the server.

use chrono::{DateTime, Utc};
use doorstep_domain::claim::{ClaimBook, HouseholdFacts, street_of};
use doorstep_domain::protocol::ClaimDto;
use rusqlite::{Transaction, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{DeviceError, DeviceStore, LocalHousehold};

/// A leader's claim given to this phone's volunteer and in force: for "Assigned to you".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MyClaim {
    pub claim: ClaimDto,
    /// When it runs out if the volunteer records nothing more in it (ms since 1970 UTC).
    pub until_ms: i64,
    /// Households on the phone that this claim gives the volunteer now (a household given to
    /// someone else in the street is not counted).
    pub households: u64,
    /// Of those, visited since the claim was given (by anyone).
    pub visited: u64,
}

/// Keeps a pull's claims, in the pull's transaction. A claim is upserted by id and never deleted:
/// a released one keeps its release time (the rules pass over it), and an older copy of a claim
/// (a page received out of order) never replaces a newer one.
pub(super) fn store_claims(tx: &Transaction<'_>, claims: &[ClaimDto]) -> Result<(), DeviceError> {
    if claims.is_empty() {
        return Ok(());
    }
    let mut upsert = tx.prepare(
        "INSERT INTO claims (id, area_code, household_id, street, street_key, volunteer_id, volunteer,
             created_at_ms, released_at_ms, updated_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (id) DO UPDATE SET
             area_code = excluded.area_code, household_id = excluded.household_id,
             street = excluded.street, street_key = excluded.street_key,
             volunteer_id = excluded.volunteer_id, volunteer = excluded.volunteer,
             created_at_ms = excluded.created_at_ms, released_at_ms = excluded.released_at_ms,
             updated_seq = excluded.updated_seq
         WHERE excluded.updated_seq >= claims.updated_seq",
    )?;
    for c in claims {
        // The key is what matches addresses; made here from the name if a server left it out.
        let key = c.street_key.clone().or_else(|| c.street.as_deref().and_then(street_of).map(|s| s.key));
        upsert.execute(params![
            c.id,
            c.area_code,
            c.household_id,
            c.street,
            key,
            c.volunteer_id,
            c.volunteer,
            c.created_at_ms,
            c.released_at_ms,
            c.updated_seq,
        ])?;
    }
    Ok(())
}

impl DeviceStore {
    /// Every claim held, released ones included, in the order given.
    pub fn claims(&self) -> Result<Vec<ClaimDto>, DeviceError> {
        self.read_claims(false)
    }

    fn read_claims(&self, unreleased_only: bool) -> Result<Vec<ClaimDto>, DeviceError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, area_code, household_id, street, street_key, volunteer_id, volunteer,
                    created_at_ms, released_at_ms, updated_seq
             FROM claims WHERE NOT ?1 OR released_at_ms IS NULL
             ORDER BY created_at_ms, id",
        )?;
        let rows = stmt.query_map([unreleased_only], |r| {
            Ok(ClaimDto {
                id: r.get(0)?,
                area_code: r.get(1)?,
                household_id: r.get(2)?,
                street: r.get(3)?,
                street_key: r.get(4)?,
                volunteer_id: r.get(5)?,
                volunteer: r.get(6)?,
                created_at_ms: r.get(7)?,
                released_at_ms: r.get(8)?,
                updated_seq: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Whether `volunteer_id` (as the server writes it) is this phone's volunteer.
    pub fn is_me(&self, volunteer_id: &str) -> bool {
        Uuid::try_parse(volunteer_id.trim()).is_ok_and(|id| id == self.volunteer_id)
    }

    /// Sets `holder` and `taken` on households read by `households_at`, judged at `now_ms`; the
    /// book is returned for [`DeviceStore::my_claims`]. The households given must be every one
    /// the claims may cover that is known here: a holder's visit to any of them keeps a claim
    /// alive. A street claim covers households of its own area only, and `households_at` reads
    /// whole subtrees, so the subtree read is enough.
    pub(super) fn judge_holders(
        &self, households: &mut [LocalHousehold], now_ms: i64,
    ) -> Result<ClaimBook, DeviceError> {
        let claims = self.read_claims(true)?;
        let book = ClaimBook::new(claims, households.iter().map(facts), self.campaign.claim_hours);
        for h in households.iter_mut() {
            let holder = book.holder(&facts(h), now_ms);
            h.taken = holder.as_ref().is_some_and(|x| !self.is_me(&x.volunteer_id));
            h.holder = holder;
        }
        Ok(book)
    }

    /// The leaders' claims given to this phone's volunteer that are in force at `now` (not
    /// released, not run out), the soonest to run out first, with the households each gives
    /// them now: the "Assigned to you" list.
    pub fn my_claims(&self, now: DateTime<Utc>) -> Result<Vec<MyClaim>, DeviceError> {
        let now_ms = now.timestamp_millis();
        let mine: Vec<ClaimDto> = self.read_claims(true)?.into_iter().filter(|c| self.is_me(&c.volunteer_id)).collect();
        if mine.is_empty() {
            return Ok(Vec::new());
        }
        let (households, book) = self.judged_households(None, now)?;
        let mut out: Vec<MyClaim> = mine
            .into_iter()
            .filter_map(|claim| {
                let until_ms = book.until_ms(&claim.id).filter(|&u| u > now_ms)?;
                let covered = households
                    .iter()
                    .filter(|h| h.holder.as_ref().and_then(|x| x.claim_id.as_deref()) == Some(claim.id.as_str()));
                let (mut n, mut visited) = (0, 0);
                for h in covered {
                    n += 1;
                    if h.latest_visited_at_ms.is_some_and(|at| at >= claim.created_at_ms) {
                        visited += 1;
                    }
                }
                Some(MyClaim { claim, until_ms, households: n, visited })
            })
            .collect();
        out.sort_by(|a, b| (a.until_ms, &a.claim.id).cmp(&(b.until_ms, &b.claim.id)));
        Ok(out)
    }
}

/// What the rules need of a household as the phone holds it.
fn facts(h: &LocalHousehold) -> HouseholdFacts<'_> {
    HouseholdFacts {
        id: &h.id,
        area_code: &h.area_code,
        address: h.address.as_deref(),
        latest_volunteer_id: h.latest_volunteer_id.as_deref(),
        latest_volunteer: h.latest_volunteer.as_deref(),
        latest_visited_at_ms: h.latest_visited_at_ms,
    }
}

#[cfg(test)]
mod tests;
