//! Passwords, session tokens, scope, and the sign-in's guards (the throttle, the client's address
//! and the proxies trusted to name it, the gate on password hashing). The extractors that read
//! them from a request are in `http::auth`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::accounts::SessionUser;
use crate::store::StoreError;

/// Argon2id's memory, in 1 KiB blocks: OWASP's minimum, 19 MiB.
pub const M_COST: u32 = 19 * 1024;

/// OWASP's minimum for Argon2id: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    // The parameters are constants within Argon2's limits; the fallback is never taken.
    let params = Params::new(M_COST, 2, 1, None).unwrap_or_default();
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
/// Allocates Argon2's memory for the one check: the sign-in uses [`PasswordGate`] instead.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash of a random password nobody knows, with the parameters above: an unknown username is
/// checked against it, so that a sign-in does not tell whether a name exists by how fast it
/// fails. A constant, so that no hashing (and no 19 MiB) is spent making it.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$5XclfCMnynUj8kTx/7JsAg$9YgfxgRH2h5FVqGFlL2EzW4X3n7kPafZseRc9Aiwk/c";

/// Checks `password` against the PHC string `stored` (or, for `None`, against [`DUMMY_HASH`], in
/// the same time) with Argon2's memory in `memory`: nothing is allocated, so concurrent checks
/// cost no more than the buffers given to them. The hash is compared in constant time. A hash that
/// cannot be read verifies nothing; one that needs more memory than given is checked the
/// allocating way.
pub fn verify_password_in(password: &str, stored: Option<&str>, memory: &mut [Block]) -> bool {
    let known = stored.is_some();
    let Ok(hash) = PasswordHash::new(stored.unwrap_or(DUMMY_HASH)) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(hash.algorithm), Params::try_from(&hash)) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    if params.block_count() > memory.len() {
        return known && argon2().verify_password(password.as_bytes(), &hash).is_ok();
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = [0u8; 64];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    if Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut *out, memory)
        .is_err()
    {
        return false;
    }
    // `Output`'s equality is constant-time.
    known && argon2::password_hash::Output::new(out).is_ok_and(|o| o == expected)
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

/// The roots of the area subtrees a user may read: the account's area, or, for a volunteer with
/// assignments, the assigned areas. The one definition of scope; every endpoint that reads or
/// writes area data asks [`may_see`], with paths from the store, never from the request.
pub async fn scope_paths(store: &dyn crate::store::Store, user: &SessionUser) -> Result<Vec<String>, StoreError> {
    let assigned = if user.role == doorstep_domain::account::Role::Volunteer {
        crate::manage::assigned_paths(store, user.user_id).await?
    } else {
        Vec::new()
    };
    let own = if assigned.is_empty() { crate::areas::area_path(store, &user.area_code).await? } else { None };
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
    Ok(scope_paths(store, user).await?.iter().any(|root| area_path.starts_with(root.as_str())))
}

/// Failed sign-ins (and wrong enrolment codes), counted per client address and per account
/// from that address: past a threshold each further attempt must wait, twice as long each time,
/// up to a cap. In memory, per server process.
///
/// An attempt is counted when it arrives ([`LoginThrottle::attempt`]), before its password is
/// checked, so that a burst from one address is held up as it comes rather than after every
/// check in it has run; one that turns out right (or is not judged) is taken back
/// ([`LoginThrottle::refund`]).
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

/// Failures allowed before waiting starts: for one account from one address, and from one
/// address (which may be a whole commune's volunteers behind one mobile gateway, so more).
pub const ACCOUNT_FREE_FAILURES: u32 = 5;
pub const ADDRESS_FREE_FAILURES: u32 = 20;
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The throttle's key for sign-ins from `client`.
pub fn address_key(client: &ClientAddr) -> String {
    format!("address:{}", client.key())
}

/// The throttle's key for sign-ins to one account from `client`: failures from one address do
/// not hold the account's owner up elsewhere (the address's own count still holds the guesser).
pub fn account_key(username: &str, client: &ClientAddr) -> String {
    format!("account:{}@{}", username.trim().to_lowercase(), client.key())
}

/// The throttle's key for password codes tried from `client`.
pub fn password_code_key(client: &ClientAddr) -> String {
    format!("password-code-address:{}", client.key())
}

/// The throttle's key for enrolment codes tried from `client`.
pub fn enrol_key(client: &ClientAddr) -> String {
    format!("enrol-address:{}", client.key())
}

fn wait_for(failures: u32, free: u32) -> Option<std::time::Duration> {
    (failures >= free).then(|| {
        let doublings = (failures - free).min(20);
        std::time::Duration::from_secs(1u64 << doublings).min(MAX_WAIT)
    })
}

impl LoginThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Attempts>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long the caller must still wait, if at all, before trying these keys.
    pub fn wait(&self, keys: &[String]) -> Option<std::time::Duration> {
        let now = std::time::Instant::now();
        let entries = self.lock();
        Self::wait_in(&entries, keys.iter().map(String::as_str), now)
    }

    fn wait_in<'a>(
        entries: &std::collections::HashMap<String, Attempts>, keys: impl Iterator<Item = &'a str>,
        now: std::time::Instant,
    ) -> Option<std::time::Duration> {
        keys.filter_map(|k| entries.get(k)).filter(|a| a.blocked_until > now).map(|a| a.blocked_until - now).max()
    }

    /// An attempt on `keys` (each with its free allowance): `Err(wait)` if one of them must still
    /// wait (nothing is counted then), else the attempt is counted as a failure against each key
    /// at once, before it is judged. Take it back with [`LoginThrottle::refund`] when it succeeds.
    pub fn attempt(&self, keys: &[(String, u32)]) -> Result<(), std::time::Duration> {
        let now = std::time::Instant::now();
        let mut entries = self.lock();
        if let Some(wait) = Self::wait_in(&entries, keys.iter().map(|(k, _)| k.as_str()), now) {
            return Err(wait);
        }
        // Forget the quiet: an hour without failures clears a key.
        if entries.len() > 10_000 {
            entries.retain(|_, a| now.duration_since(a.last) < std::time::Duration::from_secs(3600));
        }
        for (key, free) in keys {
            let a = entries.entry(key.clone()).or_insert(Attempts { failures: 0, blocked_until: now, last: now });
            a.failures += 1;
            a.last = now;
            if let Some(wait) = wait_for(a.failures, *free) {
                a.blocked_until = now + wait;
            }
        }
        Ok(())
    }

    /// Takes back one attempt counted by [`LoginThrottle::attempt`] on `keys`: it succeeded, or it
    /// was never judged (the server was too busy to check it). A wait that only this attempt
    /// started ends.
    pub fn refund(&self, keys: &[(String, u32)]) {
        let now = std::time::Instant::now();
        let mut entries = self.lock();
        for (key, free) in keys {
            let Some(a) = entries.get_mut(key) else { continue };
            a.failures = a.failures.saturating_sub(1);
            if a.failures == 0 {
                entries.remove(key);
            } else if wait_for(a.failures, *free).is_none() {
                a.blocked_until = a.blocked_until.min(now);
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
    let chars: String = bytes.iter().map(|b| CODE_ALPHABET[usize::from(b & 31)] as char).collect();
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

/// A QR image (SVG) of an enrolment code or of its link (`doorstep://enrol?…`), for the phone's
/// camera.
pub fn enrolment_qr_svg(code: &str) -> Option<String> {
    let qr = qrcode::QrCode::new(code.as_bytes()).ok()?;
    Some(qr.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build())
}

/// The longest revocation reason kept, in characters.
pub const REVOKE_REASON_MAX: usize = 200;

/// A revocation's reason as typed: trimmed, NFC, one line, at most [`REVOKE_REASON_MAX`]
/// characters; blank or absent gives `None`.
pub fn revoke_reason(raw: Option<&str>) -> Result<Option<String>, doorstep_domain::FieldError> {
    Ok(doorstep_domain::values::Text::parse_optional("reason", raw, REVOKE_REASON_MAX, false)?
        .map(|t| t.as_str().to_string()))
}

/// Proxies whose word on the client's address is taken (`doorstep serve --trusted-proxies`):
/// address ranges. None by default: then no header is read and the TCP peer is the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// `CIDR[,CIDR...]`; a bare address is one host, blank entries are skipped. An entry that is
    /// not an address range is refused, naming it and what is allowed.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = if entry.contains('/') {
                entry.parse::<ipnet::IpNet>().ok()
            } else {
                entry.parse::<IpAddr>().ok().map(ipnet::IpNet::from)
            };
            match net {
                Some(net) => nets.push(net),
                None => {
                    return Err(format!(
                        "`{entry}` không phải là một dải địa chỉ; hãy ghi các khối CIDR như 10.0.0.0/8, \
                         192.168.1.10/32 hoặc fd00::/8 (hay từng địa chỉ), cách nhau bằng dấu phẩy / \
                         `{entry}` is not an address range: give CIDR blocks such as 10.0.0.0/8, \
                         192.168.1.10/32 or fd00::/8 (or single addresses), separated by commas"
                    ));
                }
            }
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&list.join(","))
    }
}

/// An IPv4 address reached over IPv6 (`::ffff:a.b.c.d`) is that IPv4 address.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client of a request, as the sign-in and enrolment throttles count it: the TCP peer, or,
/// when that peer is a trusted proxy, the address its forwarding headers name (see
/// [`client_ip`]). The one place a handler learns who is calling from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// What the throttles count under: an IPv4 address, or an IPv6 address's /64. A phone or a
    /// home is given a whole /64; counting single IPv6 addresses would give one guesser 2^64
    /// allowances.
    pub fn key(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                ipnet::Ipv6Net::new(v6, 64).map(|n| n.trunc().to_string()).unwrap_or_else(|_| v6.to_string())
            }
        }
    }
}

/// The most password checks run at once however many cores there are: sign-ins are few (the
/// dashboard's people; phones enrol with codes), four checks at once are some 100 sign-ins a
/// second, and each more would hold another 19 MiB.
pub const MOST_CHECKS_AT_ONCE: usize = 4;

/// The server is checking as many passwords as it may at once, and enough more wait for their
/// turn: this one is not checked. Answered 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many password checks under way")]
pub struct GateBusy;

/// Password checks running at once, each on a buffer of Argon2's memory kept for the next.
///
/// An Argon2id check needs 19 MiB. Run unbounded, 50 failed sign-ins at once took the server
/// from 15 MB to 968 MB resident, and it stayed there: glibc keeps what each blocking thread
/// freed in that thread's arena. Here at most `slots` checks run (one per core: more would only
/// share the cores), on `slots` buffers made once and reused, so the memory is bounded by them
/// whatever comes; a few more wait their turn (at most `max_wait`), the rest are refused at once
/// with [`GateBusy`] (nothing queued holds memory). A slot is held by the blocking task itself,
/// so a client that hangs up mid-check does not free a slot while its check still runs.
pub struct PasswordGate {
    slots: Arc<tokio::sync::Semaphore>,
    in_line: Arc<AtomicUsize>,
    most_in_line: usize,
    max_wait: Duration,
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    made: Arc<AtomicUsize>,
    blocks: usize,
}

/// A place in the gate's line (waiting or being checked), given back when dropped.
struct InLine(Arc<AtomicUsize>);

impl Drop for InLine {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordGate {
    /// `slots` checks at once, `queue` more waiting (each at most `max_wait`), buffers of
    /// `blocks` KiB.
    pub fn new(slots: usize, queue: usize, max_wait: Duration, blocks: usize) -> PasswordGate {
        let slots = slots.max(1);
        PasswordGate {
            slots: Arc::new(tokio::sync::Semaphore::new(slots)),
            in_line: Arc::new(AtomicUsize::new(0)),
            most_in_line: slots + queue,
            max_wait,
            memory: Arc::new(Mutex::new(Vec::new())),
            made: Arc::new(AtomicUsize::new(0)),
            blocks,
        }
    }

    /// One check per core, up to [`MOST_CHECKS_AT_ONCE`], and four per slot waiting (a check
    /// takes tens of milliseconds, so a place in the line is a wait of a fraction of a second),
    /// on [`M_COST`] buffers.
    pub fn for_this_machine() -> PasswordGate {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let slots = cores.clamp(1, MOST_CHECKS_AT_ONCE);
        PasswordGate::new(slots, 4 * slots, Duration::from_secs(2), M_COST as usize)
    }

    /// Runs `work` on a blocking thread with one of the gate's buffers, when a slot is free.
    pub async fn run<T: Send + 'static>(
        &self, work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, GateBusy> {
        if self.in_line.fetch_add(1, Ordering::AcqRel) >= self.most_in_line {
            self.in_line.fetch_sub(1, Ordering::AcqRel);
            return Err(GateBusy);
        }
        let place = InLine(self.in_line.clone());
        let slot = tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| GateBusy)?
            .map_err(|_| GateBusy)?;
        let (memory, made, blocks) = (self.memory.clone(), self.made.clone(), self.blocks);
        tokio::task::spawn_blocking(move || {
            let taken = memory.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut buffer = taken.unwrap_or_else(|| {
                made.fetch_add(1, Ordering::AcqRel);
                vec![Block::default(); blocks]
            });
            let out = work(&mut buffer);
            // What a check leaves in memory is derived from the password: not kept till the next.
            buffer.fill(Block::default());
            memory.lock().unwrap_or_else(|e| e.into_inner()).push(buffer);
            // The buffer is back before the slot is free, so the next holder finds it.
            drop(slot);
            drop(place);
            out
        })
        .await
        .map_err(|_| GateBusy)
    }

    /// Checks `password` against the PHC string `stored`, or, for `None` (an unknown or disabled
    /// account), against a hash nobody knows in the same time; `false` then.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, GateBusy> {
        self.run(move |memory| verify_password_in(&password, stored.as_deref(), memory)).await
    }

    /// How many buffers were ever made: at most the number of slots.
    pub fn buffers_made(&self) -> usize {
        self.made.load(Ordering::Acquire)
    }
}

impl std::fmt::Debug for PasswordGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordGate")
            .field("in_line", &self.in_line.load(Ordering::Acquire))
            .field("most_in_line", &self.most_in_line)
            .field("buffers_made", &self.buffers_made())
            .finish()
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn trusted_proxies_parse_ranges_and_addresses_and_refuse_the_rest() {
        let t = TrustedProxies::parse(" 10.0.0.0/8, 192.168.1.10 ,fd00::/8,,::1").unwrap();
        assert!(t.trusts(ip("10.200.3.4")));
        assert!(t.trusts(ip("192.168.1.10")));
        assert!(!t.trusts(ip("192.168.1.11")));
        assert!(t.trusts(ip("fd12::7")));
        assert!(t.trusts(ip("::1")));
        // An IPv4 peer seen through an IPv6 socket is that IPv4 address.
        assert!(t.trusts(ip("::ffff:10.1.2.3")));
        assert!(!t.trusts(ip("11.0.0.1")));
        assert_eq!(t.to_string(), "10.0.0.0/8,192.168.1.10/32,fd00::/8,::1/128");
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        for bad in ["10.0.0.0/33", "nginx", "10.0.0.0/8;10.1.0.0/16", "1.2.3", "fd00::/129", "10.0.0.0/"] {
            let e = TrustedProxies::parse(bad).unwrap_err();
            assert!(e.contains("is not an address range") && e.contains("không phải"), "{e}");
            assert!(e.contains("10.0.0.0/8"), "says what is allowed: {e}");
        }
        assert!(TrustedProxies::parse("10.0.0.0/8,bad").unwrap_err().contains("`bad`"));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a = ClientAddr(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 3, 4, 5, 6)));
        let b = ClientAddr(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9)));
        let c = ClientAddr(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 3, 4, 5, 6)));
        assert_eq!(a.key(), "2001:db8:1:2::/64");
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), c.key());
        assert_eq!(ClientAddr(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))).key(), "192.0.2.7");
    }

    #[test]
    fn an_attempt_is_counted_before_it_is_judged_and_a_success_takes_it_back() {
        let t = LoginThrottle::default();
        let keys = |k: &str| vec![(k.to_string(), 3)];
        // Three attempts in flight at once: the third starts the wait as it arrives.
        assert!(t.attempt(&keys("a")).is_ok());
        assert!(t.attempt(&keys("a")).is_ok());
        assert!(t.attempt(&keys("a")).is_ok());
        let wait = t.attempt(&keys("a")).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(500), "{wait:?}");
        // The third was right after all: the wait it alone started ends.
        t.refund(&keys("a"));
        assert!(t.attempt(&keys("a")).is_ok());
        // A key whose every attempt was taken back is forgotten.
        t.refund(&keys("b"));
        assert!(t.attempt(&keys("b")).is_ok());
        t.refund(&keys("b"));
        assert!(!t.lock().contains_key("b"));
        // A wait earned by failures stays when a later success is taken back.
        for _ in 0..3 {
            let _ = t.attempt(&keys("c"));
        }
        assert!(t.wait(&["c".to_string()]).is_some());
        t.lock().get_mut("c").unwrap().failures = 5;
        t.refund(&keys("c"));
        assert!(t.wait(&["c".to_string()]).is_some());
    }

    #[test]
    fn the_account_key_is_per_address() {
        let a = ClientAddr(ip("192.0.2.1"));
        let b = ClientAddr(ip("192.0.2.2"));
        assert_eq!(account_key(" Lan.Nguyen ", &a), account_key("lan.nguyen", &a));
        assert_ne!(account_key("lan.nguyen", &a), account_key("lan.nguyen", &b));
        assert_ne!(address_key(&a), enrol_key(&a));
    }

    #[test]
    fn checks_on_reused_memory_agree_with_argon2() {
        let stored = hash_password("mật khẩu đủ dài").unwrap();
        let mut memory = vec![Block::default(); M_COST as usize];
        assert!(verify_password_in("mật khẩu đủ dài", Some(&stored), &mut memory));
        assert!(!verify_password_in("mật khẩu sai", Some(&stored), &mut memory));
        // The same buffer again, dirty from the last check: still right.
        assert!(verify_password_in("mật khẩu đủ dài", Some(&stored), &mut memory));
        assert!(!verify_password_in("x", Some("not a hash"), &mut memory));
        assert!(!verify_password_in("x", Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ"), &mut memory));
        // Nobody's password matches the hash nobody knows, whose parameters are the real ones (so
        // an unknown name costs what a known one does).
        assert!(!verify_password_in("not a real password at all", None, &mut memory));
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        // A hash that needs more memory than the buffer is checked the allocating way.
        let mut small = vec![Block::default(); 8];
        assert!(verify_password_in("mật khẩu đủ dài", Some(&stored), &mut small));
        assert!(!verify_password_in("mật khẩu sai", Some(&stored), &mut small));
        // Another hash with other parameters (a smaller one) is read from its PHC string.
        let cheap = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(64, 1, 1, None).unwrap())
            .hash_password("ngắn mà đúng".as_bytes(), &SaltString::encode_b64(b"0123456789abcdef").unwrap())
            .unwrap()
            .to_string();
        assert!(verify_password_in("ngắn mà đúng", Some(&cheap), &mut small));
        assert!(!verify_password_in("ngắn mà sai", Some(&cheap), &mut small));
    }

    /// The gate: at most `slots` run, `queue` more wait, the rest are refused at once; a waiter
    /// gives up after `max_wait`; a caller that goes away frees its place; the buffers are made
    /// once per slot and reused, and handed over clean.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_gate_bounds_checks_at_once_and_reuses_its_memory() {
        let gate = Arc::new(PasswordGate::new(2, 2, Duration::from_millis(300), 16));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let started = Arc::new(AtomicUsize::new(0));
        let held = |gate: &Arc<PasswordGate>| {
            let (gate, rx, started) = (gate.clone(), release_rx.clone(), started.clone());
            tokio::spawn(async move {
                gate.run(move |memory| {
                    started.fetch_add(1, Ordering::AcqRel);
                    let clean = memory.iter().all(|b| b.as_ref().iter().all(|w| *w == 0));
                    // Dirty it, as a real check does.
                    memory[0].as_mut()[0] = 7;
                    let _ = rx.lock().unwrap().recv();
                    clean
                })
                .await
            })
        };
        // Two run and hold their slots; two more wait in line.
        let running: Vec<_> = (0..2).map(|_| held(&gate)).collect();
        while started.load(Ordering::Acquire) < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let waiting: Vec<_> = (0..2).map(|_| held(&gate)).collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The fifth is refused at once, without waiting.
        let at = std::time::Instant::now();
        assert_eq!(gate.run(|_| ()).await, Err(GateBusy));
        assert!(at.elapsed() < Duration::from_millis(100));
        // The waiters give up after max_wait: their places are free again.
        for w in waiting {
            assert_eq!(w.await.unwrap(), Err(GateBusy));
        }
        // A caller that goes away while waiting gives its place back.
        let gone = held(&gate);
        tokio::time::sleep(Duration::from_millis(20)).await;
        gone.abort();
        let _ = gone.await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(gate.in_line.load(Ordering::Acquire), 2, "only the two running");
        // Release the two running; each saw a clean buffer.
        release_tx.send(()).unwrap();
        release_tx.send(()).unwrap();
        for r in running {
            assert_eq!(r.await.unwrap(), Ok(true));
        }
        // Many more, a few at a time: still only two buffers ever made, handed over clean.
        for _ in 0..5 {
            let before = started.load(Ordering::Acquire);
            let batch: Vec<_> = (0..2).map(|_| held(&gate)).collect();
            while started.load(Ordering::Acquire) < before + 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            release_tx.send(()).unwrap();
            release_tx.send(()).unwrap();
            for r in batch {
                assert_eq!(r.await.unwrap(), Ok(true), "a clean buffer");
            }
        }
        assert_eq!(gate.buffers_made(), 2);
        assert_eq!(gate.in_line.load(Ordering::Acquire), 0);
        // And a real check through it.
        let stored = hash_password("mật khẩu đủ dài").unwrap();
        let real = PasswordGate::new(1, 0, Duration::from_secs(1), M_COST as usize);
        assert_eq!(real.verify("mật khẩu đủ dài".into(), Some(stored.clone())).await, Ok(true));
        assert_eq!(real.verify("mật khẩu sai".into(), Some(stored)).await, Ok(false));
        assert_eq!(real.verify("mật khẩu đủ dài".into(), None).await, Ok(false));
        assert_eq!(real.buffers_made(), 1);
    }
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
}

#[cfg(test)]
mod code_tests {
    use super::*;

    #[test]
    fn enrolment_codes_are_typeable_and_forgiving() {
        let (code, hash) = new_enrolment_code();
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        assert!(code.chars().filter(|c| *c != '-').all(|c| CODE_ALPHABET.contains(&(c as u8))));
        assert_eq!(enrolment_code_hash(&code.to_lowercase().replace('-', " ")), hash);
        assert_eq!(enrolment_code_hash("ABCDE-OIL23"), enrolment_code_hash("abcde01123"));
        assert_ne!(new_enrolment_code().0, code);
        let svg = enrolment_qr_svg(&code).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "{svg}");
    }
}
