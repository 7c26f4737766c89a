//! The sync protocol and API bodies: what the device and the server both import.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{FieldError, Lang, Messages};

/// `POST /api/v1/sync/push` body (JSON, optionally `Content-Encoding: zstd`). The server reads each
/// record on its own, so one malformed record is refused without touching the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest {
    #[cfg_attr(feature = "openapi", schema(format = Uuid))]
    pub device_id: String,
    /// The device's clock when it sent the batch (RFC 3339 with offset); the server compares it
    /// with its own to detect skew, and judges visit times against it.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub sent_at: String,
    /// At most 5,000 records (more answers 413).
    #[cfg_attr(feature = "openapi", schema(max_items = 5000))]
    pub records: Vec<crate::visit::VisitInput>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// Committed now.
    Stored,
    /// Already held with the same content; nothing changed.
    Duplicate,
    /// Refused; `error` says why. The device keeps the record and shows the reason.
    Rejected,
}

/// One record's fate. Sent only after the transaction holding the batch has committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    /// The record's position in the batch.
    pub index: u32,
    /// The record id, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    pub status: ReceiptStatus,
    /// The server's receive order; never a device clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

impl Receipt {
    /// The receipt of a record stored now, at `server_seq`.
    pub fn stored(index: usize, id: Option<String>, revision: Option<i64>, server_seq: i64) -> Receipt {
        Receipt {
            index: index as u32,
            id,
            revision,
            status: ReceiptStatus::Stored,
            server_seq: Some(server_seq),
            error: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    pub receipts: Vec<Receipt>,
    pub server_time: String,
    /// Device clock minus server clock, in seconds.
    pub clock_skew_seconds: i64,
    /// Set when the skew is large enough to show the volunteer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_warning: Option<Messages>,
    /// When any record was refused: the first refusal, so a plain HTTP client sees it at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

/// The error shape of every endpoint: `{"error": {"code", "message", "field"}}`, plus the message
/// in both languages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: String,
    /// In the language the request asked for (Vietnamese unless English was preferred).
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub messages: Messages,
}

/// A file refused whole (a roster, `POST /api/v1/users/import`): the error as every endpoint
/// gives it, with every line that does not hold, in line order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileRefusal {
    pub error: FileRefusalBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileRefusalBody {
    #[serde(flatten)]
    pub body: ErrorBody,
    /// Absent when the file does not read at all (`file_unreadable`).
    #[serde(default)]
    pub lines: Vec<LineError>,
}

/// A line of an uploaded file that does not hold, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineError {
    /// 1 = the file's first row (its header).
    pub line: u64,
    /// The column, as the API names it, when one is at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub messages: Messages,
}

impl ErrorBody {
    pub fn new(code: &str, field: Option<&str>, messages: Messages, lang: Lang) -> ErrorBody {
        ErrorBody {
            code: code.to_string(),
            message: messages.get(lang).to_string(),
            field: field.map(str::to_string),
            messages,
        }
    }

    pub fn from_field_error(e: &FieldError, lang: Lang) -> ErrorBody {
        ErrorBody::new(e.code(), Some(&e.field), e.messages(), lang)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

/// An area as the pull and the area list give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AreaDto {
    pub code: String,
    pub parent: Option<String>,
    pub name: String,
    pub division_type: Option<String>,
    pub level: i64,
}

/// A household as the server knows it, with the latest visit's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HouseholdDto {
    pub id: String,
    pub area_code: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub visits: i64,
    pub latest_outcome: Option<String>,
    /// Due for a revisit now, by the server's clock when it answered: the latest outcome is one
    /// the campaign revisits and its `revisit_after_hours` have passed since that visit. A phone
    /// that knows `revisit_due_at_ms` judges by its own clock instead.
    pub revisit_due: bool,
    /// With an outcome the campaign revisits: when the household is due again (ms since 1970
    /// UTC: the latest-received visit's time plus the outcome's `revisit_after_hours`). Due-ness
    /// changes with time, not with a change number, so the phone keeps this rather than the
    /// boolean. Absent from servers before it (then `revisit_due` says it).
    #[serde(default)]
    pub revisit_due_at_ms: Option<i64>,
    /// The volunteer of the latest-received visit (their account id and username): they hold
    /// the household for the campaign's `claim_hours` after it (see `doorstep_domain::claim`).
    #[serde(default)]
    pub latest_volunteer_id: Option<String>,
    #[serde(default)]
    pub latest_volunteer: Option<String>,
    /// The latest-received visit's time (ms since 1970 UTC).
    #[serde(default)]
    pub latest_visited_at_ms: Option<i64>,
    /// The change cursor at which this row last changed.
    pub updated_seq: i64,
}

/// A leader's claim: a household, or a street of an area, given to one volunteer. It is never
/// deleted: a hand-over or a release marks it released, so phones learn of it at their next pull.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimDto {
    pub id: String,
    /// The household's area, or the street's.
    pub area_code: String,
    /// Set for a household's claim.
    #[serde(default)]
    pub household_id: Option<String>,
    /// Set for a street's claim: its name as the leader gave it, and the key that matches
    /// households' addresses (`doorstep_domain::claim::street_of`).
    #[serde(default)]
    pub street: Option<String>,
    #[serde(default)]
    pub street_key: Option<String>,
    pub volunteer_id: String,
    pub volunteer: String,
    /// When it was given (ms since 1970 UTC, the server's clock).
    pub created_at_ms: i64,
    /// When it was released or handed to someone else.
    #[serde(default)]
    pub released_at_ms: Option<i64>,
    /// The change cursor at which this claim last changed.
    pub updated_seq: i64,
}

/// `POST /api/v1/claims`: gives a household, or a street of an area, to a volunteer, releasing
/// whoever held it. Name either `household_id`, or `area_code` and `street`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewClaimRequest {
    /// The volunteer's username.
    pub volunteer: String,
    #[serde(default)]
    pub household_id: Option<String>,
    #[serde(default)]
    pub area_code: Option<String>,
    /// A street as addresses name it ("Trần Phú"); house numbers and "đường" are not needed.
    #[serde(default)]
    pub street: Option<String>,
}

/// A leader's claim with where it stands now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimStatusDto {
    pub claim: ClaimDto,
    /// The volunteer's display name (or username).
    #[serde(default)]
    pub volunteer_name: String,
    /// When it runs out if its volunteer records nothing more in it; absent once released.
    pub expires_at_ms: Option<i64>,
    /// In force now: not released and not run out.
    pub active: bool,
    /// Households it covers that the server knows.
    pub households: i64,
    /// Of those, visited.
    pub visited: i64,
}

/// `GET /api/v1/claims?area=CODE`: the claims given in a subtree, the latest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimsResponse {
    /// The campaign's: hours without a visit after which a claim runs out.
    pub claim_hours: u32,
    pub claims: Vec<ClaimStatusDto>,
}

/// `GET /api/v1/streets?area=CODE`: the streets of an area's households, to give one out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreetDto {
    pub area_code: String,
    /// The name as most addresses write it.
    pub street: String,
    pub street_key: String,
    pub households: i64,
    pub visited: i64,
}

/// `GET /api/v1/sync/pull` answer: what changed in the device's area since its cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    /// The area subtree, sent whole when the cursor is 0 (it is small and rarely changes).
    pub areas: Vec<AreaDto>,
    pub households: Vec<HouseholdDto>,
    /// Leaders' claims in the area that changed since the cursor (given, handed over, released).
    #[serde(default)]
    pub claims: Vec<ClaimDto>,
    pub next_cursor: i64,
    pub has_more: bool,
}

/// `GET /api/v1/coverage?area=CODE`: one area subtree's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coverage {
    pub area_code: String,
    pub area_name: String,
    /// Households known in the subtree (enumerated or found at the door).
    pub households_known: i64,
    /// Households with at least one visit.
    pub households_visited: i64,
    /// Households counted by their latest visit's outcome.
    pub by_outcome: BTreeMap<String, i64>,
    /// All visit records, revisits included.
    pub visits: i64,
    /// Households whose latest outcome the campaign counts as installed (its `installed`
    /// outcomes), from `by_outcome`.
    #[serde(default)]
    pub households_with_app: i64,
    /// From each household's latest visit.
    pub smartphones_seen: i64,
    pub already_installed: i64,
    pub installed_now: i64,
    /// households_visited / households_known; absent when nothing is known.
    pub coverage_rate: Option<f64>,
    /// (already_installed + installed_now) / smartphones_seen; absent when no smartphone was seen.
    pub install_rate: Option<f64>,
    /// The area's targets: its own, or rolled up from the areas below that have them; absent when
    /// none is known (`doorstep admin import-targets`).
    #[serde(default)]
    pub targets: Option<AreaTargets>,
    /// Target coverage: households_visited / targets.households; absent without that target, or
    /// when it is a sum that leaves out some areas below (the visits of the whole area over the
    /// target of part of it would overstate coverage).
    #[serde(default)]
    pub target_coverage_rate: Option<f64>,
    /// (already_installed + installed_now) / targets.smartphone_owners; absent without that
    /// target, or when it is a sum that leaves out some areas below.
    #[serde(default)]
    pub install_rate_of_owners: Option<f64>,
}

/// What an area is known to have, from the committee's table; each figure its own or the sum of
/// the areas below that have it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AreaTargets {
    pub households: Option<i64>,
    pub population: Option<i64>,
    pub smartphone_owners: Option<i64>,
    /// Some figure is a sum over areas below, and some areas at the level summed have none: that
    /// sum counts only part of the area (see the `*_sum` fields for how much).
    #[serde(default)]
    pub partial: bool,
    /// How far the households figure's sum reaches; absent when it is the area's own or unknown.
    #[serde(default)]
    pub households_sum: Option<TargetSum>,
    /// How far the population figure's sum reaches; absent when it is the area's own or unknown.
    #[serde(default)]
    pub population_sum: Option<TargetSum>,
    /// How far the smartphone owners figure's sum reaches; absent when it is the area's own or
    /// unknown.
    #[serde(default)]
    pub smartphone_owners_sum: Option<TargetSum>,
}

/// A target figure summed over areas below: of the areas at the level summed (the deepest level
/// that has the figure, with any shallower area that has nothing below it), how many it counts
/// ("the target covers 8 of 12 communes").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetSum {
    /// Areas at the level summed that have the figure (their own, or one above them, below the
    /// area, has it).
    pub areas_with_target: i64,
    /// Areas at the level summed.
    pub areas: i64,
}

impl AreaTargets {
    /// Whether any summed figure leaves out some areas at its level.
    pub fn any_partial(&self) -> bool {
        [self.households_sum, self.population_sum, self.smartphone_owners_sum]
            .iter()
            .flatten()
            .any(|s| s.areas_with_target < s.areas)
    }
}

impl Coverage {
    /// Fills in the rates from the counts (and the targets, when known).
    pub fn with_rates(mut self) -> Coverage {
        self.coverage_rate = ratio(self.households_visited, self.households_known);
        self.install_rate = ratio(self.already_installed + self.installed_now, self.smartphones_seen);
        let t = self.targets.unwrap_or_default();
        // A partial sum is shown with its reach, never divided into the whole area's figures.
        let whole = |sum: Option<TargetSum>| sum.is_none_or(|s| s.areas_with_target >= s.areas);
        self.target_coverage_rate =
            t.households.filter(|_| whole(t.households_sum)).and_then(|h| ratio(self.households_visited, h));
        self.install_rate_of_owners = t
            .smartphone_owners
            .filter(|_| whole(t.smartphone_owners_sum))
            .and_then(|o| ratio(self.already_installed + self.installed_now, o));
        self
    }

    /// Counts the households whose latest outcome `campaign` counts as installed.
    pub fn with_campaign(mut self, campaign: &crate::Campaign) -> Coverage {
        self.households_with_app = self
            .by_outcome
            .iter()
            .filter(|(code, _)| campaign.outcome(code).is_some_and(|o| o.installed))
            .map(|(_, n)| n)
            .sum();
        self
    }

    /// The same figures with the area's targets, and the rates they give.
    pub fn with_targets(mut self, targets: Option<AreaTargets>) -> Coverage {
        self.targets = targets;
        self.with_rates()
    }
}

fn ratio(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// `POST /api/v1/auth/login` body.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

// Never print a password, not even in a debug log.
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest").field("username", &self.username).finish_non_exhaustive()
    }
}

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserDto {
    pub username: String,
    pub role: crate::account::Role,
    /// The root of the area subtree the role applies to.
    pub area_code: String,
}

/// `POST /api/v1/auth/login` answer: a bearer token for `Authorization: Bearer ...`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    pub token: String,
    /// RFC 3339.
    pub expires_at: String,
    pub user: UserDto,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The product name the field app gives in its `User-Agent` (`doorstep-field/0.1.0`): the server
/// reads the app's version from it on every push.
pub const FIELD_APP_AGENT: &str = "doorstep-field";

/// The field app's version in a `User-Agent` header's value, when it names one: the token after
/// `doorstep-field/`, 1 to 32 characters of letters, digits, `.`, `+` and `-`.
pub fn field_app_version(user_agent: &str) -> Option<&str> {
    let rest =
        user_agent.split_whitespace().find_map(|product| product.strip_prefix(FIELD_APP_AGENT)?.strip_prefix('/'))?;
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-');
    (!rest.is_empty() && rest.len() <= 32 && rest.chars().all(ok)).then_some(rest)
}

/// Whether app version `version` comes before `than`, compared number by number (0.10.0 after
/// 0.9.2; a part's leading digits count, so `0.2.0-beta` is 0.2.0; missing parts are 0).
pub fn older_version(version: &str, than: &str) -> bool {
    fn parts(v: &str) -> Vec<u64> {
        let mut p: Vec<u64> = v
            .split(['.', '-', '+'])
            .take(4)
            .map(|x| x.chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap_or(0))
            .collect();
        p.resize(4, 0);
        p
    }
    parts(version) < parts(than)
}

/// The code of the refusal a phone hears when its app is older than the server allows (HTTP 426):
/// it keeps everything it holds and shows the message until it is updated.
pub const APP_OUTDATED: &str = "app_outdated";

/// The base map the server holds (`GET /api/v1/basemap`): a PMTiles file of the province's
/// streets, imported by IT, served with range requests at `/api/v1/basemap.pmtiles`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BasemapInfo {
    /// What IT called it at import ("Hà Tĩnh, OpenStreetMap 11/2026").
    pub name: String,
    /// The file's SHA-256, hex: a phone fetches it again when this changes.
    pub sha256: String,
    pub size: u64,
    /// `mvt` (vector), `png`, `jpg`, `webp` or `avif`.
    pub tile_type: String,
    pub min_zoom: u8,
    pub max_zoom: u8,
    /// West, south, east, north (degrees).
    pub bounds: [f64; 4],
    /// When it was imported (RFC 3339).
    pub imported_at: String,
}

/// The scheme of the link an enrolment QR code carries; the field app opens it (Tauri's
/// deep-link plugin), so nobody types the server's address.
pub const ENROL_LINK_SCHEME: &str = "doorstep";

/// What an enrolment link carries: `doorstep://enrol?server=…&code=…[&ca=…]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolLink {
    /// The server's address, `http://` or `https://`.
    pub server: String,
    /// The one-time code as printed (the server forgives case, spaces and dashes).
    pub code: String,
    /// The province's own certificate authority (PEM), when its server's certificate is not
    /// from one the phone already trusts: the phone trusts it besides the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
}

/// The longest CA a link may carry (a chain of a few certificates in PEM).
pub const ENROL_LINK_MAX_CA: usize = 8 * 1024;

impl EnrolLink {
    /// The link, its values escaped as a URL's query needs.
    pub fn to_url(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("server", &self.server).append_pair("code", &self.code);
        if let Some(ca) = &self.ca {
            query.append_pair("ca", ca);
        }
        format!("{ENROL_LINK_SCHEME}://enrol?{}", query.finish())
    }

    /// Reads a link (from a QR code, or handed to the app by the system); `None` for anything
    /// else: another scheme or path, a server that is not an http(s) address, no code. The app
    /// only fills the enrolment form with it; the volunteer still sees the server and confirms.
    pub fn parse(text: &str) -> Option<EnrolLink> {
        let query = text.trim().strip_prefix(ENROL_LINK_SCHEME)?.strip_prefix("://enrol")?;
        let query = query.strip_prefix('/').unwrap_or(query).strip_prefix('?')?;
        let (mut server, mut code, mut ca) = (None, None, None);
        for (k, v) in form_urlencoded::parse(query.split('#').next().unwrap_or_default().as_bytes()) {
            match &*k {
                "server" => server = Some(v.trim().to_string()),
                "code" => code = Some(v.trim().to_string()),
                "ca" => ca = Some(v.trim().to_string()),
                _ => {}
            }
        }
        // Only what looks like a certificate; the phone checks it whole before trusting it.
        let ca = ca.filter(|c| c.len() <= ENROL_LINK_MAX_CA && c.contains("-----BEGIN CERTIFICATE-----"));
        let server = server.filter(|s| {
            let host = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or_default();
            s.len() <= 2048
                && !host.is_empty()
                && !host.starts_with('/')
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        })?;
        let code = code.filter(|c| !c.is_empty() && c.chars().count() <= 32)?;
        Some(EnrolLink { server, code, ca })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enrolment_link_carries_the_server_and_the_code_and_reads_back() {
        let link =
            EnrolLink { server: "https://doorstep.hatinh.gov.vn:8443/x".into(), code: "ABCDE-12345".into(), ca: None };
        let url = link.to_url();
        assert_eq!(url, "doorstep://enrol?server=https%3A%2F%2Fdoorstep.hatinh.gov.vn%3A8443%2Fx&code=ABCDE-12345");
        assert_eq!(EnrolLink::parse(&url), Some(link));
        assert_eq!(
            EnrolLink::parse("doorstep://enrol?code=abcde%2012345&server=http://127.0.0.1:8080"),
            Some(EnrolLink { server: "http://127.0.0.1:8080".into(), code: "abcde 12345".into(), ca: None })
        );
        // A province's own CA travels with it; anything else under that name is dropped.
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB+z\n-----END CERTIFICATE-----\n";
        let with_ca = EnrolLink {
            server: "https://dt.example.vn".into(),
            code: "K7M2Q-9XB4T".into(),
            ca: Some(pem.trim().into()),
        };
        assert_eq!(EnrolLink::parse(&with_ca.to_url()), Some(with_ca));
        let odd = EnrolLink::parse("doorstep://enrol?server=https://a.vn&code=X&ca=hello").unwrap();
        assert_eq!(odd.ca, None);
        for bad in [
            "https://enrol?server=http://a&code=X",
            "doorstep://other?server=http://a&code=X",
            "doorstep://enrol?server=file:///etc/passwd&code=X",
            "doorstep://enrol?server=javascript:alert(1)&code=X",
            "doorstep://enrol?code=X",
            "doorstep://enrol?server=http://a",
            "doorstep://enrol?server=http:///x&code=X",
            "doorstep://enrolment?server=http://a&code=X",
            "ABCDE-12345",
            "",
        ] {
            assert_eq!(EnrolLink::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_field_apps_version_is_read_from_its_user_agent() {
        assert_eq!(field_app_version("doorstep-field/0.1.0"), Some("0.1.0"));
        assert_eq!(field_app_version("doorstep-field/1.2.3-rc.1 (Android 10)"), Some("1.2.3-rc.1"));
        assert_eq!(field_app_version("Mozilla/5.0 doorstep-field/0.4.2"), Some("0.4.2"));
        for other in ["curl/8.0", "doorstep-field", "doorstep-field/", "doorstep-fieldx/1.0", "doorstep-field/<script>"]
        {
            assert_eq!(field_app_version(other), None, "{other}");
        }
        assert_eq!(field_app_version(&format!("doorstep-field/{}", "9".repeat(33))), None, "too long to be a version");
    }

    fn unit(known: i64, visited: i64, target: Option<i64>) -> Coverage {
        Coverage {
            area_code: "18073".into(),
            area_name: "Phường Nam Hà".into(),
            households_known: known,
            households_visited: visited,
            by_outcome: BTreeMap::new(),
            visits: visited,
            households_with_app: 0,
            smartphones_seen: 0,
            already_installed: 0,
            installed_now: 0,
            coverage_rate: None,
            install_rate: None,
            targets: None,
            target_coverage_rate: None,
            install_rate_of_owners: None,
        }
        .with_rates()
        .with_targets(target.map(|n| AreaTargets { households: Some(n), ..Default::default() }))
    }

    #[test]
    fn a_unit_finishes_at_its_last_seven_days_pace() {
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2020, 8, d).unwrap();
        // A target of 100, 40 visited, 21 new households in the last 7 days (3 a day): 60 left is
        // 20 days after 10/08, the 30th; the campaign ends on the 31st.
        let f = Finish::forecast(&unit(200, 40, Some(100)), 21, day(10), Some(day(31))).unwrap();
        assert_eq!((f.goal, f.goal_households, f.households_last_7_days), (FinishGoal::Target, 100, 21));
        assert_eq!((f.finishes_on.as_deref(), f.reached, f.misses_end), (Some("2020-08-30"), false, false));
        // Ending on the 29th, it misses; a part day counts as a day (61 left: the 31st).
        let f = Finish::forecast(&unit(200, 40, Some(100)), 21, day(10), Some(day(29))).unwrap();
        assert!(f.misses_end);
        let f = Finish::forecast(&unit(200, 39, Some(100)), 21, day(10), None).unwrap();
        assert_eq!((f.finishes_on.as_deref(), f.misses_end), (Some("2020-08-31"), false), "no last day: never missed");
        // No target: 85 % of the households found (ceil(0.85 × 30) = 26).
        let f = Finish::forecast(&unit(30, 20, None), 7, day(10), Some(day(31))).unwrap();
        assert_eq!(
            (f.goal, f.goal_households, f.finishes_on.as_deref()),
            (FinishGoal::Found85, 26, Some("2020-08-16"))
        );
        // Reached: no date, never missing.
        let f = Finish::forecast(&unit(30, 26, None), 0, day(10), Some(day(31))).unwrap();
        assert_eq!((f.reached, f.finishes_on, f.misses_end), (true, None, false));
        // No new household in 7 days: no date, and it misses the end.
        let f = Finish::forecast(&unit(30, 3, None), 0, day(10), Some(day(31))).unwrap();
        assert_eq!((f.reached, f.finishes_on, f.misses_end), (false, None, true));
        // Nothing known and no target: no goal, no forecast.
        assert_eq!(Finish::forecast(&unit(0, 0, None), 5, day(10), Some(day(31))), None);
        // A target summed over part of the unit is no goal: the households found are.
        let mut partial = unit(30, 20, Some(100));
        partial.targets = Some(AreaTargets {
            households: Some(100),
            partial: true,
            households_sum: Some(TargetSum { areas_with_target: 1, areas: 2 }),
            ..Default::default()
        });
        let partial = partial.with_rates();
        assert_eq!(Finish::forecast(&partial, 7, day(10), None).unwrap().goal, FinishGoal::Found85);
    }

    #[test]
    fn rates_are_absent_without_a_denominator() {
        let c = Coverage {
            area_code: "42".into(),
            area_name: "Hà Tĩnh".into(),
            households_known: 0,
            households_visited: 0,
            by_outcome: BTreeMap::new(),
            visits: 0,
            households_with_app: 0,
            smartphones_seen: 0,
            already_installed: 0,
            installed_now: 0,
            coverage_rate: Some(9.0),
            install_rate: Some(9.0),
            targets: None,
            target_coverage_rate: Some(9.0),
            install_rate_of_owners: Some(9.0),
        }
        .with_rates();
        assert_eq!((c.coverage_rate, c.install_rate), (None, None));
        assert_eq!((c.target_coverage_rate, c.install_rate_of_owners), (None, None));
        let c = Coverage {
            households_known: 4,
            households_visited: 1,
            smartphones_seen: 10,
            already_installed: 2,
            installed_now: 3,
            ..c
        }
        .with_rates();
        assert_eq!((c.coverage_rate, c.install_rate), (Some(0.25), Some(0.5)));
        // Three ways, never one number: found, target, and installs against owners targeted.
        let c = c.with_targets(Some(AreaTargets {
            households: Some(10),
            population: None,
            smartphone_owners: Some(20),
            ..Default::default()
        }));
        assert_eq!(
            (c.coverage_rate, c.target_coverage_rate, c.install_rate, c.install_rate_of_owners),
            (Some(0.25), Some(0.1), Some(0.5), Some(0.25))
        );
        // A sum over 3 of 4 areas below: its reach is shown, no rate drawn from it; a whole sum
        // still gives one.
        let c = c.with_targets(Some(AreaTargets {
            households: Some(10),
            population: None,
            smartphone_owners: Some(20),
            partial: true,
            households_sum: Some(TargetSum { areas_with_target: 3, areas: 4 }),
            smartphone_owners_sum: Some(TargetSum { areas_with_target: 4, areas: 4 }),
            ..Default::default()
        }));
        assert_eq!((c.target_coverage_rate, c.install_rate_of_owners), (None, Some(0.25)));
    }

    #[test]
    fn households_with_the_app_follow_the_campaigns_installed_outcomes() {
        let mut c = Coverage {
            area_code: "18073".into(),
            area_name: "Phường Nam Hà".into(),
            households_known: 20,
            households_visited: 12,
            by_outcome: BTreeMap::from([
                ("installed_now".to_string(), 5),
                ("already_installed".to_string(), 3),
                ("not_home".to_string(), 4),
            ]),
            visits: 15,
            households_with_app: 0,
            smartphones_seen: 20,
            already_installed: 4,
            installed_now: 7,
            coverage_rate: None,
            install_rate: None,
            targets: None,
            target_coverage_rate: None,
            install_rate_of_owners: None,
        };
        let bluezone = crate::Campaign::bluezone();
        c = c.with_campaign(&bluezone);
        assert_eq!(c.households_with_app, 8);
        // Another campaign's rules, not the outcome codes' names, decide.
        let mut other = bluezone.clone();
        for o in &mut other.outcomes {
            o.installed = o.code == "installed_now";
        }
        assert_eq!(c.with_campaign(&other).households_with_app, 5);
    }

    #[test]
    fn language_negotiation_prefers_vietnamese() {
        assert_eq!(Lang::from_accept_language(""), Lang::Vi);
        assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("vi-VN,en;q=0.8"), Lang::Vi);
        assert_eq!(Lang::from_accept_language("fr"), Lang::Vi);
    }

    #[test]
    fn error_body_carries_both_languages() {
        let e = FieldError::new("people", crate::error::ErrorKind::Negative);
        let b = ErrorBody::from_field_error(&e, Lang::En);
        assert_eq!(b.code, "negative");
        assert_eq!(b.field.as_deref(), Some("people"));
        assert_eq!(b.message, b.messages.en);
        assert!(b.messages.vi.contains("không được âm"));
        let json = serde_json::to_value(ErrorResponse { error: b }).unwrap();
        assert_eq!(json["error"]["field"], "people");
    }
}

/// `POST /api/v1/users`: a new account. No password: a volunteer's phone enrols with a code, and
/// a staff account's first password is set with the one-time code the answer holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewUserRequest {
    pub username: String,
    /// The name people see (NFC, at most 80 characters); the username when left out.
    #[serde(default)]
    pub display_name: Option<String>,
    pub role: crate::account::Role,
    /// The root of the area subtree the role applies to.
    pub area_code: String,
}

/// `PATCH /api/v1/users/{username}`: what changes; a field left out stays as it is. Disabling an
/// account ends its sessions and revokes its phones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserPatch {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub area_code: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// A phone enrolled for an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhoneDto {
    pub device_id: String,
    pub enrolled_at: String,
    /// The last push the server stored; `null`: never synced.
    pub last_sync: Option<String>,
    /// Every token of the phone is revoked.
    pub revoked: bool,
}

/// An account as the dashboard lists it: who, where, in which teams, with which phones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonDto {
    pub username: String,
    pub display_name: String,
    pub role: crate::account::Role,
    pub area_code: String,
    pub area_name: String,
    pub disabled: bool,
    /// Whether a password is set (volunteers have none: their phones enrol with codes).
    pub has_password: bool,
    pub teams: Vec<String>,
    pub phones: Vec<PhoneDto>,
}

/// The answer to `POST /api/v1/users/import`: everyone added, and for staff the codes their first
/// passwords are set with (shown once).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportResponse {
    pub people: Vec<PersonDto>,
    pub password_codes: Vec<PasswordCode>,
}

/// A one-time code to set a password with (`POST /api/v1/auth/reset`), shown once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordCode {
    pub username: String,
    /// Ten characters as `XXXXX-XXXXX`; usable once, until `expires_at`.
    pub code: String,
    pub expires_at: String,
}

/// The answer to `POST /api/v1/users`: the account, and for a staff role the code its first
/// password is set with.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewUserResponse {
    pub user: PersonDto,
    pub password_code: Option<PasswordCode>,
}

/// `POST /api/v1/auth/reset`: a new password, with the one-time code. Its `Debug` hides both.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordResetRequest {
    pub username: String,
    pub code: String,
    pub new_password: String,
}

impl std::fmt::Debug for PasswordResetRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordResetRequest").field("username", &self.username).finish_non_exhaustive()
    }
}

/// `POST /api/v1/enrolments`: a leader asks for a one-time code for a volunteer's phone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolmentRequest {
    /// The volunteer's username.
    pub volunteer: String,
}

/// `POST /api/v1/devices/{id}/revoke`: why, optionally; shown on the phone once it has erased
/// itself. An empty body is the same as no reason.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeRequest {
    /// One line, at most 200 characters; blank is none.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A one-time enrolment code, typeable and as a QR image.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolmentCode {
    /// Ten characters as `XXXXX-XXXXX`; usable once, until `expires_at`.
    pub code: String,
    pub expires_at: String,
    pub volunteer: String,
    /// The code as a QR image (SVG) for the phone's camera.
    pub qr_svg: Option<String>,
}

/// `POST /api/v1/enrol`: a phone exchanges a code for its device token. Its `Debug` hides the code.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolRequest {
    pub code: String,
    /// The device's own UUID (`DeviceStore::device_id`).
    #[cfg_attr(feature = "openapi", schema(format = Uuid))]
    pub device_id: String,
}

impl std::fmt::Debug for EnrolRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolRequest").field("code", &"<redacted>").field("device_id", &self.device_id).finish()
    }
}

/// The answer to an enrolment. Not `Debug`: it holds the token.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolResponse {
    /// The device's bearer token for push and pull; shown once, stored by the server only as a hash.
    pub device_token: String,
    /// The volunteer's account id: the `volunteer_id` of the visits this phone records.
    pub volunteer_id: String,
    pub volunteer: UserDto,
}

/// `GET /api/v1/devices/me`: the enrolled device calling, and its volunteer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceDto {
    pub device_id: String,
    pub volunteer: UserDto,
    /// The areas the phone works in and pulls: the volunteer's assignments, or their account's
    /// area before any.
    #[serde(default)]
    pub areas: Vec<String>,
    /// Present when the device was revoked: it may still upload what it holds (visits, venue
    /// visits, photos), then must erase its local data and say why. `areas` is then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<RevocationDto>,
}

/// Why and when a device was revoked, as `GET /api/v1/devices/me` tells the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevocationDto {
    /// RFC 3339, UTC.
    pub revoked_at: String,
    /// What the leader or admin wrote, if anything (free text, as typed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One visit as a leader reads it (`GET /api/v1/visits`, `GET /api/v1/visits/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitDto {
    /// The server's receive number: the paging cursor of the list.
    pub server_seq: i64,
    pub id: String,
    pub revision: i64,
    pub household_id: String,
    pub area_code: String,
    pub volunteer_id: String,
    /// The volunteer's display name (or username); `null` for an id no account has.
    #[serde(default)]
    pub volunteer_name: Option<String>,
    pub device_id: String,
    /// RFC 3339 with the phone's UTC offset.
    pub visited_at: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub people: i64,
    pub smartphones: i64,
    pub already_installed: i64,
    pub installed_now: i64,
    pub leaflet_given: bool,
    pub location_source: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub notes: Option<String>,
    pub received_at: String,
    /// Why a leader should look: `outside_assignment`, `other_volunteer`. Empty for most.
    pub flags: Vec<String>,
}

/// A team as its leader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamDto {
    pub name: String,
    pub area_code: String,
    pub leader: String,
    pub members: Vec<TeamMemberDto>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamMemberDto {
    pub username: String,
    /// The areas assigned to the volunteer, in code order.
    pub areas: Vec<String>,
}

/// `POST /api/v1/teams`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewTeamRequest {
    /// 1 to 80 characters, white space around them not counted.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[\s\S]{0,78}[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
        )
    )]
    pub name: String,
    pub area_code: String,
    /// The leader's username; a leader creating a team leads it, and may leave this out.
    pub leader: Option<String>,
}

/// `POST /api/v1/assignments`: puts a volunteer in a team and assigns an area.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignmentRequest {
    pub team: String,
    pub volunteer: String,
    pub area_code: String,
}

/// One day of a subtree's progress (`GET /api/v1/progress`): days are the phones' local dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayProgress {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// First records of visits that day (corrections not counted again).
    pub visits: i64,
    /// Households visited that day for the first time (so the days add up to the households
    /// visited; a revisit is a visit, not another household).
    pub households: i64,
    /// Phones on which the app was installed with the volunteer's help that day.
    pub installed_now: i64,
}

/// A unit of the progress table, with its place in the ranking by install rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitProgress {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// 1 for the highest share of smartphones with the app; units with no smartphone seen last.
    pub rank: u32,
    /// When the unit reaches its goal at its last 7 days' pace; absent when it has no goal (no
    /// household known and no target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<Finish>,
}

/// What a unit's finish date aims at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FinishGoal {
    /// The households of the unit's target (its own, or a sum over every area below).
    Target,
    /// 85 % of the households found (known) in the unit, where it has no target.
    Found85,
}

/// A unit's finish date: the day it reaches its goal if it keeps its last 7 days' pace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finish {
    pub goal: FinishGoal,
    /// Households to visit to reach the goal, in all.
    pub goal_households: i64,
    /// Households visited for the first time in the 7 days ending on the range's last day.
    pub households_last_7_days: i64,
    /// `YYYY-MM-DD`: the day the goal is reached at that pace; absent when it is reached already
    /// or nobody visited a new household in those 7 days.
    pub finishes_on: Option<String>,
    /// The goal is reached already.
    pub reached: bool,
    /// The unit will not reach its goal by the campaign's last day (`ends_on`): its date is
    /// later, or it has no pace. Always false when the campaign names no last day.
    pub misses_end: bool,
}

impl Finish {
    /// The share of the households found that counts as done where a unit has no target.
    pub const FOUND_SHARE: f64 = 0.85;

    /// The finish of a unit from its coverage, the households it first visited in the 7 days
    /// ending on `last_day`, and the campaign's last day.
    pub fn forecast(
        unit: &Coverage, households_last_7_days: i64, last_day: chrono::NaiveDate, ends_on: Option<chrono::NaiveDate>,
    ) -> Option<Finish> {
        // A target counts only where its rate does: a sum over part of the unit would understate it.
        let (goal, goal_households) = match unit.targets.and_then(|t| t.households) {
            Some(n) if unit.target_coverage_rate.is_some() && n > 0 => (FinishGoal::Target, n),
            _ if unit.households_known > 0 => {
                (FinishGoal::Found85, (unit.households_known as f64 * Self::FOUND_SHARE).ceil() as i64)
            }
            _ => return None,
        };
        let left = goal_households - unit.households_visited;
        let pace = households_last_7_days.max(0);
        let finishes_on = if left <= 0 || pace == 0 {
            None
        } else {
            // Whole days at pace/7 a day, counted from the day after the last one measured.
            let days = (left * 7 + pace - 1) / pace;
            last_day.checked_add_signed(chrono::Duration::days(days))
        };
        let reached = left <= 0;
        let misses_end = match ends_on {
            None => false,
            Some(end) => !reached && finishes_on.is_none_or(|d| d > end),
        };
        Some(Finish {
            goal,
            goal_households,
            households_last_7_days: pace,
            finishes_on: finishes_on.map(|d| d.format("%Y-%m-%d").to_string()),
            reached,
            misses_end,
        })
    }
}

/// `GET /api/v1/progress?area=CODE`: the area, its units one level down, and the daily curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    pub area: Coverage,
    pub units: Vec<UnitProgress>,
    pub days: Vec<DayProgress>,
    /// Venues visited in the area and in each unit, by the letter's four kinds of place.
    #[serde(default)]
    pub venues: VenueProgress,
}

impl Progress {
    /// Ranks units by install rate (ties by coverage rate, then name), as the ministry's daily
    /// ranking did; units with no smartphone seen come last, unranked among themselves by name.
    pub fn rank(units: Vec<Coverage>) -> Vec<UnitProgress> {
        let mut order: Vec<usize> = (0..units.len()).collect();
        let key = |c: &Coverage| (c.install_rate.unwrap_or(-1.0), c.coverage_rate.unwrap_or(-1.0));
        order.sort_by(|&a, &b| {
            let (ka, kb) = (key(&units[a]), key(&units[b]));
            kb.0.total_cmp(&ka.0).then(kb.1.total_cmp(&ka.1)).then(units[a].area_name.cmp(&units[b].area_name))
        });
        let mut ranks = vec![0u32; units.len()];
        for (place, &i) in order.iter().enumerate() {
            ranks[i] = place as u32 + 1;
        }
        units.into_iter().zip(ranks).map(|(coverage, rank)| UnitProgress { coverage, rank, finish: None }).collect()
    }
}

/// `POST /api/v1/visits/{id}/send-back`: a leader returns a visit to its volunteer to correct.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendBackRequest {
    /// What to check or change, for the volunteer to read (at most 500 characters).
    pub comment: String,
    /// The revision being sent back; absent means the latest. Naming an older one is refused,
    /// so a leader never sends back what the volunteer has already corrected.
    #[serde(default, deserialize_with = "crate::values::whole::option_i64")]
    pub revision: Option<i64>,
}

/// A visit sent back for correction: the leader's comment and the visit as it stood. Open until
/// a later revision of the visit reaches the server; the history keeps both revisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CorrectionDto {
    pub id: String,
    pub visit_id: String,
    /// The revision sent back.
    pub revision: i64,
    pub household_id: String,
    pub area_code: String,
    pub volunteer_id: String,
    pub comment: String,
    /// The leader's username.
    pub requested_by: String,
    /// RFC 3339, UTC.
    pub requested_at: String,
    /// The revision that answered it; absent while it is open.
    pub answered_by_revision: Option<i64>,
    /// The visit as it was sent back, so a phone that no longer holds it can still correct it.
    pub visit: VisitDto,
}

/// `GET /api/v1/sync/corrections`: the open corrections for the calling device's volunteer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CorrectionsResponse {
    pub corrections: Vec<CorrectionDto>,
}

/// `GET /api/v1/visits/{id}/history`: every revision, oldest first, and every send-back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitHistoryDto {
    pub revisions: Vec<VisitDto>,
    pub corrections: Vec<CorrectionDto>,
}

/// `POST /api/v1/sync/venues` body: visits to venues, read record by record like a push.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VenuePushRequest {
    #[cfg_attr(feature = "openapi", schema(format = Uuid))]
    pub device_id: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub sent_at: String,
    /// At most 5,000 records (more answers 413).
    #[cfg_attr(feature = "openapi", schema(max_items = 5000))]
    pub records: Vec<crate::venue::VenueVisitInput>,
}

/// A venue as the server knows it, with the figures of its visits (latest revisions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VenueDto {
    pub id: String,
    pub area_code: String,
    pub kind: crate::venue::VenueKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    pub visits: i64,
    /// The latest visit's time (RFC 3339, the phone's offset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_visited_at: Option<String>,
    pub people_reached: i64,
    pub installed_now: i64,
    pub notices_posted: i64,
}

/// Venue figures of one kind of place: venues visited, and the sums over their visits (the
/// latest revision of each). Visitor-log figures add up what each visit reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VenueFigures {
    pub venues: i64,
    pub visits: i64,
    pub people_reached: i64,
    pub smartphones: i64,
    pub already_installed: i64,
    pub installed_now: i64,
    pub notices_posted: i64,
    pub visitors_came_in: i64,
    pub visitors_told: i64,
    pub visitors_installed: i64,
}

/// An area's venue figures by group (always the four groups, in the letter's order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VenueGroupFigures {
    pub group: crate::venue::VenueGroup,
    pub figures: VenueFigures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitVenues {
    pub area_code: String,
    pub area_name: String,
    pub groups: Vec<VenueGroupFigures>,
}

/// Venues of an area: its totals by group and each unit's.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VenueProgress {
    pub totals: Vec<VenueGroupFigures>,
    pub units: Vec<UnitVenues>,
}
