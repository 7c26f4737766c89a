//! Accounts, their sessions and the audit log: who may sign in, who is signed in, and what
//! administrators did. Each statement is written once for both databases ([`crate::db`]).

use doorstep_domain::account::{Role, Username};
use doorstep_domain::values::AreaCode;
use uuid::Uuid;

use crate::db::{Db, Row, params};
use crate::store::StoreError;

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: Uuid,
    pub username: Username,
    pub password_hash: String,
    pub role: Role,
    pub area_code: AreaCode,
}

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: Uuid,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub area_code: String,
    pub disabled: bool,
}

/// Who is calling, from a live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    pub area_code: String,
    pub expires_ms: i64,
}

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// The account that acted, or `cli` for the server's own command line.
    pub actor: String,
    pub action: String,
    /// What was acted on; never a password or a token.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// Creates an account; [`StoreError::Conflict`] when the username is taken.
pub async fn create_user(db: &dyn Db, user: NewUser) -> Result<(), StoreError> {
    let now = chrono::Utc::now().timestamp_millis();
    let n = db
        .execute(
            "INSERT INTO users (id, username, password_hash, role, area_code, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING",
            params![
                user.id,
                user.username.as_str(),
                user.password_hash,
                user.role.as_str(),
                user.area_code.as_str(),
                now
            ],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::Conflict(format!("the username {} is taken", user.username.as_str())));
    }
    Ok(())
}

/// The account of a username (taken only parsed: trimmed, NFC, lower case).
pub async fn user_by_username(db: &dyn Db, username: &Username) -> Result<Option<UserRecord>, StoreError> {
    db.query_opt(
        "SELECT id, username, password_hash, role, area_code, disabled FROM users WHERE username = $1",
        params![username.as_str()],
    )
    .await?
    .map(|r| {
        let (id, username, password_hash, role, area_code, disabled) = r.columns()?;
        Ok(UserRecord { id, username, password_hash, role, area_code, disabled })
    })
    .transpose()
}

pub async fn create_session(
    db: &dyn Db, token_hash: [u8; 32], user_id: Uuid, now_ms: i64, expires_ms: i64,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)",
        params![token_hash, user_id, now_ms, expires_ms],
    )
    .await?;
    Ok(())
}

/// The account behind a live session: not revoked, not expired, not disabled.
pub async fn session_user(db: &dyn Db, token_hash: [u8; 32], now_ms: i64) -> Result<Option<SessionUser>, StoreError> {
    db.query_opt(
        "SELECT u.id, u.username, u.role, u.area_code, s.expires_at_ms
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND NOT s.revoked AND s.expires_at_ms > $2 AND NOT u.disabled",
        params![token_hash, now_ms],
    )
    .await?
    .map(|r: Row| {
        let (user_id, username, role, area_code, expires_ms) = r.columns()?;
        Ok(SessionUser { user_id, username, role, area_code, expires_ms })
    })
    .transpose()
}

/// Ends a session; false when it was not live.
pub async fn revoke_session(db: &dyn Db, token_hash: [u8; 32]) -> Result<bool, StoreError> {
    Ok(db
        .execute("UPDATE sessions SET revoked = TRUE WHERE token_hash = $1 AND NOT revoked", params![token_hash])
        .await?
        > 0)
}

pub async fn record_audit(db: &dyn Db, entry: AuditEntry) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO audit_log (at_ms, actor, action, detail) VALUES ($1, $2, $3, $4)",
        params![entry.at_ms, entry.actor, entry.action, entry.detail],
    )
    .await?;
    Ok(())
}

/// The newest entries first.
pub async fn audit_log(db: &dyn Db, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
    db.query("SELECT seq, at_ms, actor, action, detail FROM audit_log ORDER BY seq DESC LIMIT $1", params![limit])
        .await?
        .iter()
        .map(|r| {
            Ok(AuditRecord { seq: r.get(0)?, at_ms: r.get(1)?, actor: r.get(2)?, action: r.get(3)?, detail: r.get(4)? })
        })
        .collect()
}
