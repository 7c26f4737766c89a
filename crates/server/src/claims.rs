//! Leaders' claims: a household, or a street of an area, given to one volunteer so that nobody
//! else knocks on those doors. The rules of who holds a household are the domain's
//! (`doorstep_domain::claim`); here are giving (a hand-over releases whoever held it), releasing,
//! and the leader's list, shared by the API and the tests. Claims reach the phones with the pull
//! (`Store::pull`), on the households' change counter.

use ::http::StatusCode;
use chrono::Utc;
use doorstep_domain::Campaign;
use doorstep_domain::claim::{ClaimBook, HouseholdFacts, street_of};
use doorstep_domain::protocol::{ClaimDto, ClaimStatusDto, ClaimsResponse, NewClaimRequest, StreetDto};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

use crate::accounts::AuditEntry;
use crate::db::{Db, Row, params};
use crate::manage::{Actor, ManageError, actor_sees, area_path, leader_or_admin, refused, volunteer_named};
use crate::store::StoreError;
use crate::store::{ClaimHousehold, NewClaim, Store, subtree_range};

/// A claim held, with its area's path (for scope checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldClaim {
    pub dto: ClaimDto,
    pub area_path: String,
    /// The volunteer's display name, or username.
    pub volunteer_name: String,
}

/// The most claims a list shows: a commune's streets and odd households, many times over.
const MAX_CLAIMS: i64 = 2_000;

/// Gives a household, or a street of an area, to a volunteer; whoever held it is released.
fn unknown_household() -> ManageError {
    refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_household",
        Some("household_id"),
        "Không có hộ với mã này.",
        "No household has this id.",
    )
}

pub async fn give(store: &dyn Store, actor: Actor<'_>, request: &NewClaimRequest) -> Result<ClaimDto, ManageError> {
    leader_or_admin(actor)?;
    let bad_target = || {
        refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "claim_target",
            Some("household_id"),
            "Hãy chọn một hộ, hoặc một địa bàn và tên đường (xóm) trong đó, không phải cả hai.",
            "Choose one household, or an area and a street (hamlet) in it; not both.",
        )
    };
    let blank = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let (household, area, street) = (blank(&request.household_id), blank(&request.area_code), blank(&request.street));
    let (area_code, household_id, street) = match (household, area, street) {
        (Some(h), None, None) => {
            let id = Uuid::try_parse(&h).map_err(|_| unknown_household())?;
            let held = store.claim_households(Vec::new(), vec![id]).await?;
            let h = held.into_iter().next().ok_or_else(unknown_household)?;
            (h.area_code, Some(id), None)
        }
        (None, Some(area), Some(street)) => {
            // Shown on the phones and the dashboard: typed text, checked as an address is.
            let street = doorstep_domain::values::Text::parse(
                "street",
                &street,
                doorstep_domain::visit::MAX_ADDRESS_CHARS,
                false,
            )
            .map_err(|e| ManageError::Refused {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: e.code(),
                field: Some("street"),
                messages: e.messages(),
            })?;
            let street = street_of(street.as_str()).ok_or_else(|| {
                refused(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "street",
                    Some("street"),
                    "Hãy ghi tên đường hoặc xóm (không chỉ số nhà).",
                    "Give the street's or hamlet's name (not just a house number).",
                )
            })?;
            (area, None, Some(street))
        }
        _ => return Err(bad_target()),
    };
    let (area, path) = area_path(store, &area_code).await?;
    if !actor_sees(store, actor, &path).await? {
        // A household outside the caller's areas is answered as one that does not exist.
        if household_id.is_some() {
            return Err(unknown_household());
        }
        return Err(crate::manage::out_of_scope());
    }
    let volunteer = volunteer_named(store, &request.volunteer, StatusCode::UNPROCESSABLE_ENTITY).await?;
    // The claim reaches the volunteer's phone only inside the areas it pulls.
    let own = crate::areas::area_path(store, &volunteer.area_code).await?;
    let assigned = crate::manage::assigned_paths(store, volunteer.id).await?;
    // A volunteer working nowhere in the caller's areas is answered as one that does not exist.
    let mut visible = false;
    for p in own.iter().chain(assigned.iter()) {
        visible = visible || actor_sees(store, actor, p).await?;
    }
    if !visible {
        return Err(crate::manage::no_such_volunteer(StatusCode::UNPROCESSABLE_ENTITY));
    }
    if !own.iter().chain(assigned.iter()).any(|p| path.starts_with(p.as_str())) {
        return Err(refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "volunteer_not_in_area",
            Some("volunteer"),
            "Tình nguyện viên này không phụ trách địa bàn đó, nên điện thoại của họ sẽ không nhận được. Hãy phân công địa bàn trước.",
            "This volunteer does not cover that area, so their phone would not receive it. Assign them the area first.",
        ));
    }
    let now_ms = Utc::now().timestamp_millis();
    let id = Uuid::now_v7();
    let what = match (&household_id, &street) {
        (Some(h), _) => format!("household {h}"),
        (_, Some(s)) => format!("street {} in {area}", s.name),
        _ => String::new(),
    };
    let released = store
        .give_claim(NewClaim {
            id,
            area_code: area.to_string(),
            household_id,
            street,
            volunteer_id: volunteer.id,
            given_by: actor.name(),
            now_ms,
        })
        .await?;
    crate::accounts::record_audit(
        store,
        AuditEntry {
            at_ms: now_ms,
            actor: actor.name(),
            action: "give-claim".into(),
            detail: format!("{what} to {} (released {})", volunteer.username, released.len()),
        },
    )
    .await?;
    let held = crate::claims::claim(store, id)
        .await?
        .ok_or_else(|| ManageError::Store(crate::store::StoreError::Task("the claim just given is not held".into())))?;
    Ok(held.dto)
}

fn no_claim() -> ManageError {
    refused(
        StatusCode::NOT_FOUND,
        "no_such_claim",
        None,
        "Không có phân công này trong phạm vi của tài khoản.",
        "No such claim in this account's scope.",
    )
}

/// Releases a claim: its doors are free again (unless a recent visit holds them). Releasing a
/// released claim changes nothing.
pub async fn release(store: &dyn Store, actor: Actor<'_>, id: &str) -> Result<(), ManageError> {
    leader_or_admin(actor)?;
    let id = Uuid::try_parse(id.trim()).map_err(|_| no_claim())?;
    let held = crate::claims::claim(store, id).await?.ok_or_else(no_claim)?;
    if !actor_sees(store, actor, &held.area_path).await? {
        return Err(no_claim());
    }
    if held.dto.released_at_ms.is_some() {
        return Ok(());
    }
    let now_ms = Utc::now().timestamp_millis();
    if store.release_claim(id, now_ms).await? {
        crate::accounts::record_audit(
            store,
            AuditEntry {
                at_ms: now_ms,
                actor: actor.name(),
                action: "release-claim".into(),
                detail: format!("{id} of {}", held.dto.volunteer),
            },
        )
        .await?;
    }
    Ok(())
}

/// The claims given in a subtree, each with when it runs out and the households it covers.
pub async fn list(
    store: &dyn Store, path: &str, campaign: &Campaign, now_ms: i64,
) -> Result<ClaimsResponse, ManageError> {
    let (lo, hi) = subtree_range(path);
    let held = crate::claims::claims_in(store, &lo, &hi, MAX_CLAIMS).await?;
    let names: HashMap<String, String> =
        held.iter().map(|c| (c.dto.volunteer_id.clone(), c.volunteer_name.clone())).collect();
    let claims: Vec<ClaimDto> = held.into_iter().map(|c| c.dto).collect();
    let mut areas: Vec<String> =
        claims.iter().filter(|c| c.street_key.is_some()).map(|c| c.area_code.clone()).collect();
    areas.sort();
    areas.dedup();
    let ids: Vec<Uuid> =
        claims.iter().filter_map(|c| c.household_id.as_deref().and_then(|h| Uuid::try_parse(h).ok())).collect();
    let households = store.claim_households(areas, ids).await?;
    let texts: Vec<(String, Option<String>)> =
        households.iter().map(|h| (h.id.to_string(), h.latest_volunteer_id.map(|v| v.to_string()))).collect();
    let facts: Vec<HouseholdFacts<'_>> = households.iter().zip(&texts).map(|(h, t)| facts(h, t)).collect();
    let book = ClaimBook::new(claims.iter().cloned(), facts.iter().copied(), campaign.claim_hours);
    // What each claim covers: households by id, and by (area, street key).
    let mut by_street: HashMap<(&str, String), (i64, i64)> = HashMap::new();
    let mut by_id: HashMap<&str, (i64, i64)> = HashMap::new();
    for (h, f) in households.iter().zip(&facts) {
        let seen = (1, i64::from(h.visits > 0));
        by_id.insert(f.id, seen);
        if let Some(s) = f.address.and_then(street_of) {
            let e = by_street.entry((f.area_code, s.key)).or_default();
            e.0 += seen.0;
            e.1 += seen.1;
        }
    }
    let claims = claims
        .into_iter()
        .map(|claim| {
            let expires_at_ms = book.until_ms(&claim.id);
            let (households, visited) = match (&claim.household_id, &claim.street_key) {
                (Some(h), _) => by_id.get(h.as_str()).copied().unwrap_or_default(),
                (_, Some(k)) => by_street.get(&(claim.area_code.as_str(), k.clone())).copied().unwrap_or_default(),
                _ => (0, 0),
            };
            ClaimStatusDto {
                volunteer_name: names.get(&claim.volunteer_id).cloned().unwrap_or_else(|| claim.volunteer.clone()),
                active: expires_at_ms.is_some_and(|at| at > now_ms),
                expires_at_ms,
                households,
                visited,
                claim,
            }
        })
        .collect();
    Ok(ClaimsResponse { claim_hours: campaign.claim_hours, claims })
}

fn facts<'a>(h: &'a ClaimHousehold, text: &'a (String, Option<String>)) -> HouseholdFacts<'a> {
    HouseholdFacts {
        id: &text.0,
        area_code: &h.area_code,
        address: h.address.as_deref(),
        latest_volunteer_id: text.1.as_deref(),
        latest_volunteer: None,
        latest_visited_at_ms: h.latest_visited_at_ms,
    }
}

/// The streets of one area's households, with the name most addresses give, in Vietnamese order.
pub async fn streets(store: &dyn Store, area_code: &str) -> Result<Vec<StreetDto>, ManageError> {
    let households = store.claim_households(vec![area_code.to_string()], Vec::new()).await?;
    // key -> (name -> count, households, visited)
    let mut found: BTreeMap<String, (HashMap<String, i64>, i64, i64)> = BTreeMap::new();
    for h in households.iter().filter(|h| h.area_code == area_code) {
        let Some(s) = h.address.as_deref().and_then(street_of) else {
            continue;
        };
        let e = found.entry(s.key).or_default();
        *e.0.entry(s.name).or_default() += 1;
        e.1 += 1;
        e.2 += i64::from(h.visits > 0);
    }
    let mut streets: Vec<StreetDto> = found
        .into_iter()
        .map(|(key, (names, households, visited))| {
            let street = names
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                .map(|(n, _)| n)
                .unwrap_or_else(|| key.clone());
            StreetDto { area_code: area_code.to_string(), street, street_key: key, households, visited }
        })
        .collect();
    streets.sort_by_cached_key(|s| doorstep_domain::area::vietnamese_sort_key(&s.street));
    Ok(streets)
}

/// The columns [`held_claim`] reads, with the FROM clause (the pull reads them too).
pub const CLAIM_COLUMNS: &str = "c.id, c.area_code, c.household_id, c.street, c.street_key, c.volunteer_id, u.username,
        c.created_at_ms, c.released_at_ms, c.updated_seq, a.path, COALESCE(u.display_name, u.username)
    FROM claims c JOIN areas a ON a.code = c.area_code JOIN users u ON u.id = c.volunteer_id";

/// A row of [`CLAIM_COLUMNS`].
pub fn held_claim(r: &Row) -> Result<HeldClaim, StoreError> {
    Ok(HeldClaim {
        dto: ClaimDto {
            id: r.get::<Uuid>(0)?.to_string(),
            area_code: r.get(1)?,
            household_id: r.get::<Option<Uuid>>(2)?.map(|h| h.to_string()),
            street: r.get(3)?,
            street_key: r.get(4)?,
            volunteer_id: r.get::<Uuid>(5)?.to_string(),
            volunteer: r.get(6)?,
            created_at_ms: r.get(7)?,
            released_at_ms: r.get(8)?,
            updated_seq: r.get(9)?,
        },
        area_path: r.get(10)?,
        volunteer_name: r.get(11)?,
    })
}

/// A claim by id, released or not.
pub async fn claim(db: &dyn Db, id: Uuid) -> Result<Option<HeldClaim>, StoreError> {
    db.query_opt(&format!("SELECT {CLAIM_COLUMNS} WHERE c.id = $1"), params![id])
        .await?
        .map(|r| held_claim(&r))
        .transpose()
}

/// The claims of the subtree `[lo, hi)`, newest first, at most `limit`.
pub async fn claims_in(db: &dyn Db, lo: &str, hi: &str, limit: i64) -> Result<Vec<HeldClaim>, StoreError> {
    let sql = format!(
        "SELECT {CLAIM_COLUMNS} WHERE a.path >= $1 AND a.path < $2 ORDER BY c.created_at_ms DESC, c.id DESC LIMIT $3"
    );
    db.query(&sql, params![lo, hi, limit]).await?.iter().map(held_claim).collect()
}
