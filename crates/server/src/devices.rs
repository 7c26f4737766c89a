//! Enrolled phones: who a device token speaks for, where it may work, and its revocation. Each
//! statement is written once for both databases ([`crate::db`]).

use uuid::Uuid;

use crate::accounts::SessionUser;
use crate::db::{Db, Dialect, params};
use crate::store::StoreError;

/// An enrolled device, from its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCaller {
    pub device_id: Uuid,
    /// The volunteer the device was enrolled for.
    pub volunteer: SessionUser,
    pub revoked: bool,
    /// The paths of the volunteer's assigned areas and of the account's own area, read with the
    /// token so a push costs one query for who sends it and where they may work.
    pub assigned_paths: Vec<String>,
    pub own_path: Option<String>,
}

/// When and why a device was revoked (`device_tokens.revoked_at_ms`, `revoke_reason`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub at_ms: i64,
    pub reason: Option<String>,
}

/// The area of the volunteer a device (`$1`) was first enrolled for: who may revoke it follows
/// that volunteer, not whoever holds its newest token.
pub const DEVICE_AREA_SQL: &str = "SELECT u.area_code FROM device_tokens t JOIN users u ON u.id = t.user_id
    WHERE t.device_id = $1 ORDER BY t.created_at_ms LIMIT 1";

/// Whether a device id holds a token for a volunteer other than `$2` (`$1`: the device).
pub const DEVICE_OF_ANOTHER: &str =
    "SELECT EXISTS (SELECT 1 FROM device_tokens WHERE device_id = $1 AND user_id <> $2)";

/// The device a token belongs to, with its volunteer and where they work. Paths hold only area
/// codes (ASCII letters, digits, `-`, `_`) and `/`, so a comma joins them safely.
pub async fn device_by_token(db: &dyn Db, token_hash: [u8; 32]) -> Result<Option<DeviceCaller>, StoreError> {
    db.query_opt(
        "SELECT t.device_id, t.revoked_at_ms IS NOT NULL, u.id, u.username, u.role, u.area_code,
            (SELECT path FROM areas WHERE code = u.area_code),
            (SELECT string_agg(a.path, ',') FROM assignments s
             JOIN areas a ON a.code = s.area_code WHERE s.user_id = u.id)
         FROM device_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        params![token_hash],
    )
    .await?
    .map(|r| {
        let (device_id, revoked, user_id, username, role, area_code, own_path) = r.columns()?;
        Ok(DeviceCaller {
            device_id,
            revoked,
            volunteer: SessionUser { user_id, username, role, area_code, expires_ms: i64::MAX },
            own_path,
            assigned_paths: r
                .get::<Option<String>>(7)?
                .map(|a| a.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
        })
    })
    .transpose()
}

/// The area of the volunteer a device was first enrolled for ([`DEVICE_AREA_SQL`]).
pub async fn device_area(db: &dyn Db, device_id: Uuid) -> Result<Option<String>, StoreError> {
    db.query_opt(DEVICE_AREA_SQL, params![device_id]).await?.map(|r| r.get(0)).transpose()
}

/// Revokes a device's live tokens; answers how many.
pub async fn revoke_device(
    db: &dyn Db, device_id: Uuid, now_ms: i64, reason: Option<String>,
) -> Result<u64, StoreError> {
    db.execute(
        "UPDATE device_tokens SET revoked_at_ms = $2, revoke_reason = $3
         WHERE device_id = $1 AND revoked_at_ms IS NULL",
        params![device_id, now_ms, reason],
    )
    .await
}

/// When and why the token was revoked, if it was.
pub async fn revocation(db: &dyn Db, token_hash: [u8; 32]) -> Result<Option<Revocation>, StoreError> {
    db.query_opt(
        "SELECT revoked_at_ms, revoke_reason FROM device_tokens
         WHERE token_hash = $1 AND revoked_at_ms IS NOT NULL",
        params![token_hash],
    )
    .await?
    .map(|r| Ok(Revocation { at_ms: r.get(0)?, reason: r.get(1)? }))
    .transpose()
}

/// How long an enrolment code may wait to be used.
pub const ENROLMENT_TTL_HOURS: i64 = 24;

/// Stores a new enrolment code (its hash) for a volunteer.
pub async fn create_enrolment(
    db: &dyn Db, code_hash: [u8; 32], user_id: Uuid, issued_by: &str, now_ms: i64, expires_ms: i64,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO enrolments (code_hash, user_id, issued_by, created_at_ms, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5)",
        params![code_hash, user_id, issued_by, now_ms, expires_ms],
    )
    .await?;
    Ok(())
}

/// Uses a code once: if it is unused and unexpired, marks it used and binds a device token (its
/// hash) for `device_id` to the code's volunteer, in one transaction. The same device may redeem
/// it again within [`crate::devices::ENROL_RETRY_MS`] of its last use (its answer was lost on the
/// way: a cut connection must not cost the volunteer a new code); the token made by that use,
/// which the phone never received, is deleted. A device id that holds a token for another
/// volunteer (live or revoked) is not enrolled again: the code stays unused.
pub async fn redeem_enrolment(
    db: &dyn Db, code_hash: [u8; 32], device_id: Uuid, token_hash: [u8; 32], now_ms: i64,
) -> Result<Redemption, StoreError> {
    let mut tx = db.begin().await?;
    if tx.dialect() == Dialect::Postgres {
        // One enrolment of a device id at a time, across servers: two codes of two volunteers
        // redeemed at once for one id must not both succeed. (SQLite's writing transactions run
        // one at a time already.)
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))", params![device_id.to_string()])
            .await?;
    }
    // The row lock makes a code usable once, even by two servers at once.
    let sql = format!(
        "SELECT user_id, used_at_ms FROM enrolments
         WHERE code_hash = $1 AND expires_at_ms > $2
           AND (used_at_ms IS NULL OR (device_id = $3 AND used_at_ms > $2 - $4
                AND NOT EXISTS (SELECT 1 FROM device_tokens
                                WHERE device_id = $3 AND revoked_at_ms IS NOT NULL))){}",
        tx.dialect().for_update()
    );
    let Some(row) = tx.query_opt(&sql, params![code_hash, now_ms, device_id, crate::devices::ENROL_RETRY_MS]).await?
    else {
        return Ok(Redemption::Invalid);
    };
    let user: Uuid = row.get(0)?;
    let used_before: Option<i64> = row.get(1)?;
    let taken = tx
        .query_opt(DEVICE_OF_ANOTHER, params![device_id, user])
        .await?
        .map(|r| r.get::<bool>(0))
        .transpose()?
        .unwrap_or(false);
    if taken {
        return Ok(Redemption::DeviceTaken);
    }
    tx.execute(
        "UPDATE enrolments SET used_at_ms = $2, device_id = $3 WHERE code_hash = $1",
        params![code_hash, now_ms, device_id],
    )
    .await?;
    if let Some(before) = used_before {
        // The token of the use whose answer never arrived.
        tx.execute(
            "DELETE FROM device_tokens WHERE device_id = $1 AND user_id = $2 AND created_at_ms = $3",
            params![device_id, user, before],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO device_tokens (token_hash, device_id, user_id, created_at_ms) VALUES ($1, $2, $3, $4)",
        params![token_hash, device_id, user, now_ms],
    )
    .await?;
    let found = tx.query_opt("SELECT id, username, role, area_code FROM users WHERE id = $1", params![user]).await?;
    tx.commit().await?;
    let Some(r) = found else {
        return Ok(Redemption::Invalid);
    };
    let (user_id, username, role, area_code) = r.columns()?;
    Ok(Redemption::Enrolled(SessionUser { user_id, username, role, area_code, expires_ms: i64::MAX }))
}

/// How long after using an enrolment code the same device may use it again (see
/// [`crate::devices::redeem_enrolment`]).
pub const ENROL_RETRY_MS: i64 = 15 * 60 * 1000;

/// A refusal receipt.
/// What became of an enrolment code.
#[derive(Debug, Clone)]
pub enum Redemption {
    /// The device is enrolled for this volunteer.
    Enrolled(SessionUser),
    /// Unknown, used or expired.
    Invalid,
    /// The device id is enrolled for another volunteer already: a phone's id is its own, or its
    /// records and sequence numbers could be taken over.
    DeviceTaken,
}
