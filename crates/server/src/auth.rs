//! Passwords, session tokens and the one extractor every protected endpoint goes through.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::api::{ApiError, AppState};
use crate::store::{SessionUser, StoreError};

/// OWASP's minimum for Argon2id: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    // The parameters are constants within Argon2's limits; the fallback is never taken.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| StoreError::Config(format!("cannot make a salt: {e}")))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Config(format!("cannot hash the password: {e}")))
}

/// Checks a password against a stored hash. A hash that cannot be read verifies nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
}

/// Spends the same time as a real check, for unknown usernames: a login must not tell whether a
/// name exists by how fast it fails.
pub fn verify_against_nothing(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash_password("not a real password at all").unwrap_or_default());
    let _ = verify_password(password, stored);
}

/// A new session token: 256 random bits, as 64 hex characters, and the hash that is stored.
pub fn new_token() -> (String, [u8; 32]) {
    let mut bytes = [0u8; 32];
    // The thread generator is a CSPRNG (ChaCha12) seeded from the operating system.
    rand::rng().fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hash = token_hash(&token);
    (token, hash)
}

/// Tokens are stored only as this hash: a copy of the database opens no session.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The caller of a protected endpoint: a live session's user. Every protected handler takes one;
/// no handler reads the Authorization header itself.
#[derive(Debug, Clone)]
pub struct Caller(pub SessionUser);

fn bearer(parts: &Parts) -> Option<&str> {
    bearer_token(&parts.headers)
}

/// The bearer token of a request's `Authorization` header, if it has one.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = crate::api::lang_of(&parts.headers);
        let Some(token) = bearer(parts) else {
            return Err(ApiError::unauthenticated(lang));
        };
        let now = chrono::Utc::now().timestamp_millis();
        match state.store.session_user(token_hash(token), now).await {
            Ok(Some(user)) => Ok(Caller(user)),
            Ok(None) => Err(ApiError::unauthenticated(lang)),
            Err(e) => Err(ApiError::storage(e, lang)),
        }
    }
}

/// The roots of the area subtrees a user may read: the account's area, or, for a volunteer with
/// assignments, the assigned areas. The one definition of scope; every endpoint that reads or
/// writes area data asks [`may_see`], with paths from the store, never from the request.
pub async fn scope_paths(store: &dyn crate::store::Store, user: &SessionUser) -> Result<Vec<String>, StoreError> {
    let assigned = if user.role == doorstep_domain::account::Role::Volunteer {
        store.assigned_paths(user.user_id).await?
    } else {
        Vec::new()
    };
    let own = if assigned.is_empty() {
        store.area_path(&user.area_code).await?
    } else {
        None
    };
    Ok(scope_rule(user, assigned, own))
}

/// The rule itself, on paths already read: a volunteer's assignments when there are any, else
/// the account's own area.
pub fn scope_rule(user: &SessionUser, assigned: Vec<String>, own_path: Option<String>) -> Vec<String> {
    if user.role == doorstep_domain::account::Role::Volunteer && !assigned.is_empty() {
        assigned
    } else {
        own_path.into_iter().collect()
    }
}

/// Whether the area whose path is `area_path` lies in the user's scope.
pub async fn may_see(store: &dyn crate::store::Store, user: &SessionUser, area_path: &str) -> Result<bool, StoreError> {
    Ok(scope_paths(store, user)
        .await?
        .iter()
        .any(|root| area_path.starts_with(root.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_owasp_argon2id_and_verify() {
        let h = hash_password("mật khẩu đủ dài").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("mật khẩu đủ dài", &h));
        assert!(!verify_password("mật khẩu sai", &h));
        assert!(!verify_password("mật khẩu đủ dài", "not a hash"));
        // Salted: the same password hashes differently each time.
        assert_ne!(h, hash_password("mật khẩu đủ dài").unwrap());
    }

    #[test]
    fn tokens_are_256_bits_and_stored_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(ha, token_hash(&a));
        assert_ne!(ha.as_slice(), a.as_bytes());
    }

    #[test]
    fn bearer_header_forms() {
        let parts = |v: &str| {
            let (parts, ()) = axum::http::Request::builder()
                .header("authorization", v)
                .body(())
                .unwrap()
                .into_parts();
            parts
        };
        assert_eq!(bearer(&parts("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&parts("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(&parts("Basic abc")), None);
        assert_eq!(bearer(&parts("Bearer ")), None);
    }
}

/// Failed sign-ins, counted per client address and per account: past a threshold each further
/// attempt must wait, twice as long each time, up to a cap. In memory, per server process.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: std::sync::Mutex<std::collections::HashMap<String, Attempts>>,
}

#[derive(Debug, Clone, Copy)]
struct Attempts {
    failures: u32,
    blocked_until: std::time::Instant,
    last: std::time::Instant,
}

/// Failures allowed before waiting starts: for one account, and from one address (which may be
/// a whole commune's volunteers behind one mobile gateway, so more).
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
pub const ADDRESS_FREE_FAILURES: u32 = 20;
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl LoginThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Attempts>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long the caller must still wait, if at all, before trying these keys.
    pub fn wait(&self, keys: &[String]) -> Option<std::time::Duration> {
        let now = std::time::Instant::now();
        let entries = self.lock();
        keys.iter()
            .filter_map(|k| entries.get(k))
            .filter(|a| a.blocked_until > now)
            .map(|a| a.blocked_until - now)
            .max()
    }

    /// Counts a failure against each key (with its free allowance).
    pub fn failed(&self, keys: &[(String, u32)]) {
        let now = std::time::Instant::now();
        let mut entries = self.lock();
        // Forget the quiet: an hour without failures clears a key.
        if entries.len() > 10_000 {
            entries.retain(|_, a| now.duration_since(a.last) < std::time::Duration::from_secs(3600));
        }
        for (key, free) in keys {
            let a = entries.entry(key.clone()).or_insert(Attempts {
                failures: 0,
                blocked_until: now,
                last: now,
            });
            a.failures += 1;
            a.last = now;
            if a.failures >= *free {
                let doublings = (a.failures - free).min(20);
                let wait = std::time::Duration::from_secs(1u64 << doublings).min(MAX_WAIT);
                a.blocked_until = now + wait;
            }
        }
    }

    /// A good sign-in clears the account's count (not the address's).
    pub fn succeeded(&self, account_key: &str) {
        self.lock().remove(account_key);
    }
}

/// Letters of an enrolment code: Crockford's base32, without I, L, O and U, so nothing is
/// misread when a leader reads it out or a volunteer types it.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A one-time enrolment code: 10 characters (50 random bits) shown as `XXXXX-XXXXX`, and its hash.
pub fn new_enrolment_code() -> (String, [u8; 32]) {
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(b & 31)] as char)
        .collect();
    let shown = format!("{}-{}", &chars[..5], &chars[5..]);
    let hash = enrolment_code_hash(&shown);
    (shown, hash)
}

/// The hash of a code as typed: case, spaces and dashes do not matter; O reads as 0, I and L as 1.
pub fn enrolment_code_hash(typed: &str) -> [u8; 32] {
    let normal: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    Sha256::digest(normal.as_bytes()).into()
}

/// The code as a QR image (SVG), for the phone's camera. The QR holds only the code.
pub fn enrolment_qr_svg(code: &str) -> Option<String> {
    let qr = qrcode::QrCode::new(code.as_bytes()).ok()?;
    Some(
        qr.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
    )
}

/// The caller of a device endpoint: an enrolled, unrevoked device.
#[derive(Debug, Clone)]
pub struct Device(pub crate::store::DeviceCaller);

impl FromRequestParts<AppState> for Device {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // An uploader that is not revoked: the token is looked up in one place.
        let Uploader(d) = Uploader::from_request_parts(parts, state).await?;
        if d.revoked {
            return Err(ApiError::device_revoked(crate::api::lang_of(&parts.headers)));
        }
        Ok(Device(d))
    }
}

/// The caller of an upload endpoint (visit and venue pushes, photo register and chunks): an
/// enrolled device, revoked or not. A revoked phone uploads what it still holds before it erases
/// itself (nothing collected is lost); what it sends is stored like anything else and flagged for
/// the leader, and it can read nothing (every other device endpoint takes [`Device`]).
#[derive(Debug, Clone)]
pub struct Uploader(pub crate::store::DeviceCaller);

impl FromRequestParts<AppState> for Uploader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = crate::api::lang_of(&parts.headers);
        let Some(token) = bearer(parts) else {
            return Err(ApiError::unauthenticated(lang));
        };
        match state.store.device_by_token(token_hash(token)).await {
            Ok(Some(d)) => Ok(Uploader(d)),
            Ok(None) => Err(ApiError::unauthenticated(lang)),
            Err(e) => Err(ApiError::storage(e, lang)),
        }
    }
}

/// The longest revocation reason kept, in characters.
pub const REVOKE_REASON_MAX: usize = 200;

/// A revocation's reason as typed: trimmed, NFC, one line, at most [`REVOKE_REASON_MAX`]
/// characters; blank or absent gives `None`.
pub fn revoke_reason(raw: Option<&str>) -> Result<Option<String>, doorstep_domain::FieldError> {
    Ok(
        doorstep_domain::values::Text::parse_optional("reason", raw, REVOKE_REASON_MAX, false)?
            .map(|t| t.as_str().to_string()),
    )
}

#[cfg(test)]
mod code_tests {
    use super::*;

    #[test]
    fn enrolment_codes_are_typeable_and_forgiving() {
        let (code, hash) = new_enrolment_code();
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        assert!(
            code.chars()
                .filter(|c| *c != '-')
                .all(|c| CODE_ALPHABET.contains(&(c as u8)))
        );
        assert_eq!(enrolment_code_hash(&code.to_lowercase().replace('-', " ")), hash);
        assert_eq!(enrolment_code_hash("ABCDE-OIL23"), enrolment_code_hash("abcde01123"));
        assert_ne!(new_enrolment_code().0, code);
        let svg = enrolment_qr_svg(&code).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{svg}");
    }
}
