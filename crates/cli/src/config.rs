//! `doorstep serve`'s settings, in one place: each is a key of the configuration file
//! (`--config FILE`, TOML, flat keys named like the long flags with underscores), a `DOORSTEP_*`
//! variable and a flag. A flag beats its variable, which beats the file, which beats the default.
//! Every value, wherever it came from, is checked against the same bounds before the server
//! starts; a bad one is refused with its key, its value and what is allowed.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use doorstep_server::Limits;
use doorstep_server::auth::TrustedProxies;
use serde::{Deserialize, Serialize};

/// How log lines are written: for a person reading a terminal, or one JSON object per line for a
/// log collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Every setting as given (flags and variables by clap, the file by serde); `None` where not.
#[derive(Debug, Clone, Default, clap::Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeOptions {
    /// Database: sqlite:PATH (default sqlite:doorstep.db) or postgres://...
    #[arg(long, env = "DOORSTEP_DB", value_name = "URL")]
    pub db: Option<String>,
    /// A PostgreSQL streaming standby for the dashboard's, reports' and exports' reads
    /// (postgres://...); what must see its own write still reads --db. None by default.
    #[arg(long, env = "DOORSTEP_DB_READ", value_name = "URL")]
    pub db_read: Option<String>,
    /// How many seconds the standby may be behind before reads go to the primary (default 10).
    #[arg(long, env = "DOORSTEP_DB_READ_MAX_LAG_SECS", value_name = "SECS")]
    pub db_read_max_lag_secs: Option<u64>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "DOORSTEP_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Load the demo campaign on Hà Tĩnh (areas, households, visits from simulated volunteers).
    #[arg(long, env = "DOORSTEP_DEMO", num_args = 0..=1, default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: Option<bool>,
    /// Log lines as text (default) or as one JSON object per line.
    #[arg(long, env = "DOORSTEP_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Serve area and hexagon figures without a login at /api/v1/public/ (no points, no ids;
    /// groups of fewer than --public-k households hidden). Off by default.
    #[arg(long, env = "DOORSTEP_PUBLIC_AGGREGATES", num_args = 0..=1, default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new())]
    pub public_aggregates: Option<bool>,
    /// The least households a public figure may describe (at least 2; default 5).
    #[arg(long, env = "DOORSTEP_PUBLIC_K", value_name = "N")]
    pub public_k: Option<i64>,
    /// Reverse proxies in front of the server (CIDR blocks or addresses, comma-separated): only
    /// for a connection from one of them is the client's address read from its Forwarded or
    /// X-Forwarded-For header, for the sign-in and enrolment throttles. None by default: the
    /// connecting address is the client (a header sent by anyone else is never read).
    #[arg(long, env = "DOORSTEP_TRUSTED_PROXIES", value_name = "CIDR[,CIDR...]")]
    pub trusted_proxies: Option<String>,
    /// Seconds a connection may take to send a request's headers (from when it opens, or from
    /// its first byte after an idle wait). Default 10.
    #[arg(long, env = "DOORSTEP_HEADER_READ_TIMEOUT", value_name = "SECS")]
    pub header_read_timeout: Option<u64>,
    /// Seconds a connection may stay open idle between requests. Default 30.
    #[arg(long, env = "DOORSTEP_KEEP_ALIVE_TIMEOUT", value_name = "SECS")]
    pub keep_alive_timeout: Option<u64>,
    /// Connections open at once; further ones wait to be accepted until one closes (logged).
    /// Default 512.
    #[arg(long, env = "DOORSTEP_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<u64>,
    /// How long a sign-in lasts, in seconds (default 50400: a field day and then some).
    #[arg(long, env = "DOORSTEP_SESSION_TTL_SECS", value_name = "SECS")]
    pub session_ttl_secs: Option<u64>,
    /// Seconds a request may take before it is answered 408 (default 30).
    #[arg(long, env = "DOORSTEP_REQUEST_TIMEOUT_SECS", value_name = "SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Largest request body as sent, compressed or not (default 8388608).
    #[arg(long, env = "DOORSTEP_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<u64>,
    /// Largest push body once decompressed (default 33554432).
    #[arg(long, env = "DOORSTEP_MAX_DECOMPRESSED_BYTES", value_name = "BYTES")]
    pub max_decompressed_bytes: Option<u64>,
    /// Most records in one push (default 5000).
    #[arg(long, env = "DOORSTEP_MAX_RECORDS_PER_PUSH", value_name = "N")]
    pub max_records_per_push: Option<u64>,
    /// Most households in one pull page (default 5000).
    #[arg(long, env = "DOORSTEP_MAX_PULL_LIMIT", value_name = "N")]
    pub max_pull_limit: Option<u64>,
    /// A phone whose clock is off by more than this many seconds is told to set it (default 300).
    #[arg(long, env = "DOORSTEP_CLOCK_WARNING_SECS", value_name = "SECS")]
    pub clock_warning_secs: Option<u64>,
    /// Failed sign-ins to one account from one address before each further try waits, doubling
    /// (default 5).
    #[arg(long, env = "DOORSTEP_SIGN_IN_ACCOUNT_FAILURES", value_name = "N")]
    pub sign_in_account_failures: Option<u32>,
    /// Failed sign-ins, enrolment codes or password codes from one address before it waits
    /// (default 20: a commune behind one mobile gateway).
    #[arg(long, env = "DOORSTEP_SIGN_IN_ADDRESS_FAILURES", value_name = "N")]
    pub sign_in_address_failures: Option<u32>,
    /// Seconds the map's area outlines are reused before being drawn again (default 300).
    #[arg(long, env = "DOORSTEP_OUTLINES_CACHE_SECS", value_name = "SECS")]
    pub outlines_cache_secs: Option<u64>,
    /// Seconds the hexagons' figures are reused before being counted again (default 30).
    #[arg(long, env = "DOORSTEP_HEXAGONS_CACHE_SECS", value_name = "SECS")]
    pub hexagons_cache_secs: Option<u64>,
    /// Phones whose field app is older than this version (0.2.0) are refused until updated,
    /// with a message telling the volunteer so; they keep everything they hold. None by default.
    #[arg(long, env = "DOORSTEP_MIN_APP_VERSION", value_name = "X.Y.Z")]
    pub min_app_version: Option<String>,
}

/// The settings the server runs with, every one decided and checked.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub db: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_read: Option<String>,
    pub db_read_max_lag_secs: u64,
    pub listen: SocketAddr,
    pub demo: bool,
    pub log_format: LogFormat,
    pub public_aggregates: bool,
    pub public_k: i64,
    pub trusted_proxies: String,
    pub header_read_timeout: u64,
    pub keep_alive_timeout: u64,
    pub max_connections: u64,
    pub session_ttl_secs: u64,
    pub request_timeout_secs: u64,
    pub max_body_bytes: u64,
    pub max_decompressed_bytes: u64,
    pub max_records_per_push: u64,
    pub max_pull_limit: u64,
    pub clock_warning_secs: u64,
    pub sign_in_account_failures: u32,
    pub sign_in_address_failures: u32,
    pub outlines_cache_secs: u64,
    pub hexagons_cache_secs: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_app_version: Option<String>,
}

const DAY: u64 = 86_400;

/// Reads a configuration file: TOML, only known keys, each of the right type.
pub fn read_file(path: &Path) -> anyhow::Result<ServeOptions> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

impl ServeOptions {
    /// These options over `under`: where one is given here, it wins.
    pub fn over(self, under: ServeOptions) -> ServeOptions {
        // Field by field through their serialised form, so a new key cannot be forgotten here.
        let (Ok(serde_json::Value::Object(top)), Ok(serde_json::Value::Object(mut merged))) =
            (serde_json::to_value(&self), serde_json::to_value(&under))
        else {
            return self;
        };
        for (key, value) in top {
            if !value.is_null() {
                merged.insert(key, value);
            }
        }
        serde_json::from_value(serde_json::Value::Object(merged)).unwrap_or(self)
    }

    /// Decides every setting, checking each against its bounds; every bad one is named.
    pub fn settle(self) -> Result<Settings, Vec<String>> {
        let mut bad = Vec::new();
        let mut within = |key: &str, value: Option<u64>, default: u64, (lo, hi): (u64, u64), unit: &str| -> u64 {
            let v = value.unwrap_or(default);
            if !(lo..=hi).contains(&v) {
                bad.push(format!("{key} = {v}: must be a whole number of {unit} from {lo} to {hi}"));
            }
            v
        };
        let header_read_timeout = within("header_read_timeout", self.header_read_timeout, 10, (1, 3600), "seconds");
        let keep_alive_timeout = within("keep_alive_timeout", self.keep_alive_timeout, 30, (1, 3600), "seconds");
        let max_connections = within("max_connections", self.max_connections, 512, (1, 1_000_000), "connections");
        let session_ttl_secs = within("session_ttl_secs", self.session_ttl_secs, 14 * 3600, (1, 30 * DAY), "seconds");
        let request_timeout_secs = within("request_timeout_secs", self.request_timeout_secs, 30, (1, 3600), "seconds");
        let max_body_bytes = within("max_body_bytes", self.max_body_bytes, 8 << 20, (64 << 10, 1 << 30), "bytes");
        let max_decompressed_bytes =
            within("max_decompressed_bytes", self.max_decompressed_bytes, 32 << 20, (64 << 10, 4 << 30), "bytes");
        let max_records_per_push =
            within("max_records_per_push", self.max_records_per_push, 5_000, (1, 100_000), "records");
        let max_pull_limit = within("max_pull_limit", self.max_pull_limit, 5_000, (1, 100_000), "households");
        let clock_warning_secs = within("clock_warning_secs", self.clock_warning_secs, 300, (10, DAY), "seconds");
        let sign_in_account_failures = within(
            "sign_in_account_failures",
            self.sign_in_account_failures.map(u64::from),
            u64::from(doorstep_server::auth::ACCOUNT_FREE_FAILURES),
            (1, 1000),
            "failures",
        ) as u32;
        let sign_in_address_failures = within(
            "sign_in_address_failures",
            self.sign_in_address_failures.map(u64::from),
            u64::from(doorstep_server::auth::ADDRESS_FREE_FAILURES),
            (1, 100_000),
            "failures",
        ) as u32;
        let outlines_cache_secs = within("outlines_cache_secs", self.outlines_cache_secs, 300, (0, DAY), "seconds");
        let hexagons_cache_secs = within("hexagons_cache_secs", self.hexagons_cache_secs, 30, (0, DAY), "seconds");
        let db_read_max_lag_secs = within("db_read_max_lag_secs", self.db_read_max_lag_secs, 10, (1, 3600), "seconds");
        let public_k = self.public_k.unwrap_or(doorstep_server::public::DEFAULT_K);
        if public_k < 2 {
            bad.push(format!("public_k = {public_k}: must be a whole number of households, 2 or more"));
        }
        let trusted_proxies = self.trusted_proxies.unwrap_or_default();
        if let Err(e) = TrustedProxies::parse(&trusted_proxies) {
            bad.push(format!("trusted_proxies = {trusted_proxies:?}: {e}"));
        }
        if max_decompressed_bytes < max_body_bytes {
            bad.push(format!(
                "max_decompressed_bytes = {max_decompressed_bytes}: must be at least max_body_bytes ({max_body_bytes})"
            ));
        }
        let min_app_version = self.min_app_version.filter(|v| !v.trim().is_empty());
        if let Some(v) = &min_app_version {
            let parts: Vec<&str> = v.split('.').collect();
            if !(1..=4).contains(&parts.len())
                || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
            {
                bad.push(format!("min_app_version = {v:?}: must be a version such as 0.2.0 (numbers and dots)"));
            }
        }
        let db = self.db.unwrap_or_else(|| "sqlite:doorstep.db".into());
        let postgres = |u: &str| u.starts_with("postgres://") || u.starts_with("postgresql://");
        let db_read = self.db_read.filter(|u| !u.trim().is_empty());
        if let Some(read) = &db_read
            && !(postgres(read) && postgres(&db))
        {
            bad.push(format!(
                "db_read = {read:?}: a read replica is a PostgreSQL standby of a PostgreSQL db (postgres://...)"
            ));
        }
        if db.trim().is_empty() {
            bad.push("db = \"\": must be sqlite:PATH or postgres://...".into());
        }
        if !bad.is_empty() {
            return Err(bad);
        }
        Ok(Settings {
            db,
            db_read,
            db_read_max_lag_secs,
            listen: self.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            demo: self.demo.unwrap_or(false),
            log_format: self.log_format.unwrap_or_default(),
            public_aggregates: self.public_aggregates.unwrap_or(false),
            public_k,
            trusted_proxies,
            header_read_timeout,
            keep_alive_timeout,
            max_connections,
            session_ttl_secs,
            request_timeout_secs,
            max_body_bytes,
            max_decompressed_bytes,
            max_records_per_push,
            max_pull_limit,
            clock_warning_secs,
            sign_in_account_failures,
            sign_in_address_failures,
            outlines_cache_secs,
            hexagons_cache_secs,
            min_app_version,
        })
    }
}

impl Settings {
    /// The limits the server holds clients to.
    pub fn limits(&self) -> Limits {
        let secs = Duration::from_secs;
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Limits {
            max_body_bytes: size(self.max_body_bytes),
            max_decompressed_bytes: size(self.max_decompressed_bytes),
            max_records_per_push: size(self.max_records_per_push),
            max_pull_limit: u32::try_from(self.max_pull_limit).unwrap_or(u32::MAX),
            request_timeout: secs(self.request_timeout_secs),
            clock_warning_after: secs(self.clock_warning_secs),
            session_ttl: secs(self.session_ttl_secs),
            // Checked in `settle`.
            trusted_proxies: TrustedProxies::parse(&self.trusted_proxies).unwrap_or_default(),
            header_read_timeout: secs(self.header_read_timeout),
            keep_alive_timeout: secs(self.keep_alive_timeout),
            max_connections: size(self.max_connections),
            account_free_failures: self.sign_in_account_failures,
            address_free_failures: self.sign_in_address_failures,
            outlines_for: secs(self.outlines_cache_secs),
            hexagons_for: secs(self.hexagons_cache_secs),
            min_app_version: self.min_app_version.clone(),
        }
    }

    /// As a configuration file would hold them.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_beats_the_file_and_the_file_beats_the_default() {
        let file: ServeOptions = toml::from_str("session_ttl_secs = 3600\nmax_connections = 64\n").unwrap();
        let flags = ServeOptions { max_connections: Some(8), ..Default::default() };
        let s = flags.over(file).settle().unwrap();
        assert_eq!((s.session_ttl_secs, s.max_connections, s.keep_alive_timeout), (3600, 8, 30));
        assert_eq!(s.limits().session_ttl, Duration::from_secs(3600));
    }

    #[test]
    fn a_bad_value_is_refused_with_its_key_its_value_and_what_is_allowed() {
        let options = ServeOptions {
            session_ttl_secs: Some(0),
            public_k: Some(1),
            trusted_proxies: Some("10.0.0.0/99".into()),
            ..Default::default()
        };
        let bad = options.settle().unwrap_err();
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[0].starts_with("session_ttl_secs = 0: must be a whole number of seconds from 1 to"), "{bad:?}");
        assert!(bad.iter().any(|b| b.starts_with("public_k = 1")), "{bad:?}");
        assert!(bad.iter().any(|b| b.starts_with("trusted_proxies = \"10.0.0.0/99\"")), "{bad:?}");
    }

    #[test]
    fn an_unknown_key_or_a_wrong_type_in_the_file_is_named() {
        let unknown = toml::from_str::<ServeOptions>("session_ttl = 5\n").unwrap_err().to_string();
        assert!(unknown.contains("session_ttl"), "{unknown}");
        let wrong = toml::from_str::<ServeOptions>("max_connections = \"many\"\n").unwrap_err().to_string();
        assert!(wrong.contains("max_connections"), "{wrong}");
    }

    #[test]
    fn the_settings_written_out_read_back_the_same() {
        let s = ServeOptions::default().settle().unwrap();
        let again: ServeOptions = toml::from_str(&s.to_toml()).unwrap();
        assert_eq!(again.settle().unwrap().to_toml(), s.to_toml());
    }
}
