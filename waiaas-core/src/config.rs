//! `config.toml` and its `WAIAAS_<SECTION>_<KEY>` environment overrides.
//!
//! The file is flat like upstream's: top-level sections of scalar or array keys, no
//! nested tables. Environment overrides are typed by the key they override: a numeric-
//! looking value for a string key stays a string (upstream turns it into a number and
//! then fails validation).
//!
//! Any override can instead name a file: `WAIAAS_<SECTION>_<KEY>_FILE=/run/secrets/x` sets
//! `<section>.<key>` to that file's contents with one trailing line ending removed (Docker
//! secrets, Kubernetes secret volumes). Setting both `WAIAAS_X` and `WAIAAS_X_FILE` is an
//! error, and so is a file that cannot be read; errors name the variable and the path, never
//! the contents. A name whose key exists as written (`WAIAAS_DAEMON_PID_FILE` is
//! `daemon.pid_file`) is that key, not a file reference.

use crate::error::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The sections upstream accepts; unknown sections are refused.
pub const SECTIONS: &[&str] = &[
    "daemon",
    "keystore",
    "database",
    "rpc",
    "notifications",
    "security",
    "walletconnect",
    "x402",
    "display",
    "telegram",
    "incoming",
    "backup",
    "actions",
    // Ours: policy defaults (upstream keeps them in Admin Settings) and offline USD prices.
    "policy",
    "prices",
    "oracle",
    // Ours: the Prometheus endpoint, EVM fee limits, the transaction pipeline's retries.
    "metrics",
    "evm",
    "pipeline",
    // Owner approvals through wallet apps and the push relay (upstream Admin Settings `signing_sdk.*`).
    "signing_sdk",
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DaemonConfig {
    pub port: u16,
    pub hostname: String,
    pub log_level: String,
    /// `text` (default) or `json`: one JSON object per log line.
    pub log_format: String,
    /// One log line per HTTP request (request id, method, route template, status, latency).
    pub access_log: bool,
    pub pid_file: String,
    /// Seconds from SIGTERM/SIGINT to exit: requests in flight finish, new connections are
    /// refused, background workers stop; what is left at the deadline is dropped.
    pub shutdown_timeout: u64,
    /// Extra `Host` header names the host guard accepts besides the localhost names
    /// (e.g. a Docker service name). Upstream accepts localhost only.
    pub allowed_hosts: Vec<String>,
    /// The daemon's canonical origin (`https://wallet.example.com`): the domain owner
    /// messages must name. Empty = the address it listens on.
    pub public_url: String,
    /// Seconds a client has to send a request's headers (slowloris guard).
    pub header_read_timeout: u64,
    /// Seconds a client has to send a request's whole body.
    pub body_read_timeout: u64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Serve the admin web UI at `/admin` (from assets inside the binary).
    pub admin_ui: bool,
    /// Seconds without a request after which an admin UI session ends (60..=7200).
    pub admin_timeout: u64,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            port: 3100,
            hostname: "127.0.0.1".into(),
            log_level: "info".into(),
            log_format: "text".into(),
            access_log: true,
            pid_file: "daemon.pid".into(),
            shutdown_timeout: 10,
            allowed_hosts: vec![],
            public_url: String::new(),
            header_read_timeout: 10,
            body_read_timeout: 30,
            max_body_bytes: 2 * 1024 * 1024,
            admin_ui: true,
            admin_timeout: 900,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SecurityConfig {
    pub max_sessions_per_wallet: i64,
    /// Smallest `ttl` a session may be created with (upstream: 300 s).
    pub session_ttl_min: i64,
    /// Wrong master passwords one source (client address) may try before it is blocked.
    pub master_password_max_attempts: u32,
    /// Longest block of a guessing source (the first lasts 1/16 of it, each next one twice
    /// as long); other sources are never blocked by it.
    pub master_password_lockout_seconds: u64,
    pub cors_origins: Vec<String>,
    pub rate_limit_global_ip_rpm: u32,
    pub rate_limit_session_rpm: u32,
    pub rate_limit_tx_rpm: u32,
    /// Peers whose `X-Forwarded-For` is believed (e.g. your reverse proxy). Empty: none.
    pub trusted_proxies: Vec<String>,
    /// AutoStop: suspend a wallet after this many consecutive failed transactions.
    pub autostop_enabled: bool,
    pub autostop_consecutive_failures_threshold: u32,
    /// AutoStop: suspend a wallet that requests more than this many transactions within
    /// `autostop_unusual_activity_window_sec` (0 = off).
    pub autostop_unusual_activity_threshold: u32,
    pub autostop_unusual_activity_window_sec: u64,
    /// AutoStop: a session unused this long raises SESSION_IDLE (0 = off).
    pub autostop_idle_timeout_sec: u64,
    /// Lifetime of a `/v1/nonce` nonce for owner signatures.
    pub nonce_ttl_sec: i64,
    /// Longest validity an owner-signed message may declare (Expiration Time - now).
    pub owner_message_max_ttl_sec: i64,
    /// Allow webhook targets on loopback, private and link-local addresses (e.g. a receiver
    /// on this host). Cloud metadata endpoints stay refused either way.
    pub webhook_allow_private: bool,
    /// A DELAY transaction whose delay ran out while the daemon was down waits this long
    /// after start before it executes (announced as `TX_DELAY_GRACE`), so the owner can
    /// still cancel it. 0 = execute at once.
    pub delay_grace_after_start_sec: i64,
    /// The low-balance warning (`LOW_BALANCE`, see [`crate::low_balance`]), upstream's keys:
    /// on or off, seconds between checks (1..86400), the thresholds in SOL and in the native
    /// coin of EVM networks, and the hours before the same wallet and network is warned again
    /// (0..8760) while its balance stays low.
    pub monitoring_enabled: bool,
    pub monitoring_check_interval_sec: u64,
    pub monitoring_low_balance_threshold_sol: f64,
    pub monitoring_low_balance_threshold_eth: f64,
    pub monitoring_cooldown_hours: u64,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            max_sessions_per_wallet: 5,
            session_ttl_min: 300,
            master_password_max_attempts: 5,
            master_password_lockout_seconds: 300,
            cors_origins: vec!["http://localhost:3100".into(), "http://127.0.0.1:3100".into()],
            rate_limit_global_ip_rpm: 1000,
            rate_limit_session_rpm: 300,
            rate_limit_tx_rpm: 10,
            trusted_proxies: vec![],
            autostop_enabled: true,
            autostop_consecutive_failures_threshold: 5,
            autostop_unusual_activity_threshold: 20,
            autostop_unusual_activity_window_sec: 300,
            autostop_idle_timeout_sec: 3600,
            nonce_ttl_sec: 300,
            owner_message_max_ttl_sec: 3600,
            webhook_allow_private: false,
            delay_grace_after_start_sec: 300,
            monitoring_enabled: true,
            monitoring_check_interval_sec: 300,
            monitoring_low_balance_threshold_sol: 0.01,
            monitoring_low_balance_threshold_eth: 0.005,
            monitoring_cooldown_hours: 24,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct DatabaseConfig {
    /// The SQLite file, relative to the data dir (the default store).
    pub path: String,
    /// `postgres://user[:password]@host[:port]/db`: the PostgreSQL store instead of SQLite
    /// (a secret: masked in the settings, taken out of the environment). Any number of
    /// daemons (replicas) may share one database; they share the keystore directory too.
    pub postgres_url: String,
    /// Connections of the PostgreSQL pool.
    pub postgres_pool_size: u64,
    /// PEM certificates that verify the server with `sslmode=require` in `postgres_url`,
    /// instead of the system's roots (relative to the data dir, or absolute).
    pub postgres_ca_file: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig { path: "data/waiaas.db".into(), postgres_url: String::new(), postgres_pool_size: 16, postgres_ca_file: String::new() }
    }
}

/// `[policy]`: defaults of the policy engine (see `crate::policy`): every
/// [`crate::policy::PolicySettings`] field, plus the typed-data rule of the signing gate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PolicyConfig {
    pub default_instant_max_usd: f64,
    pub default_notify_max_usd: f64,
    pub default_delay_max_usd: f64,
    pub default_delay_seconds: u64,
    pub default_approval_timeout: u64,
    pub default_deny_tokens: bool,
    pub default_deny_contracts: bool,
    pub default_deny_spenders: bool,
    pub default_deny_x402_domains: bool,
    pub default_deny_erc8128_domains: bool,
    pub venue_whitelist_enabled: bool,
    /// EIP-712 typed data that is no known authorization (permits, Permit2, EIP-3009) is a
    /// call to its `verifyingContract`: refused unless that contract is on CONTRACT_WHITELIST.
    /// `false` signs it under the request guards alone.
    pub default_deny_typed_data: bool,
    /// TIME_RESTRICTION time zone, minutes east of UTC.
    pub utc_offset_minutes: i32,
    /// Tier of every NFT_TRANSFER.
    pub nft_transfer_default_tier: crate::policy::Tier,
    /// Tier floor of every CONTRACT_DEPLOY.
    pub deploy_default_tier: crate::policy::Tier,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig::from_settings(crate::policy::PolicySettings::default(), true)
    }
}

impl PolicyConfig {
    /// Both directions list every field with no `..Default::default()`: a setting added to
    /// `PolicySettings` does not compile until it is reachable from config.toml.
    fn from_settings(d: crate::policy::PolicySettings, default_deny_typed_data: bool) -> PolicyConfig {
        let crate::policy::PolicySettings {
            default_instant_max_usd,
            default_notify_max_usd,
            default_delay_max_usd,
            default_delay_seconds,
            default_approval_timeout,
            default_deny_tokens,
            default_deny_contracts,
            default_deny_spenders,
            default_deny_x402_domains,
            default_deny_erc8128_domains,
            venue_whitelist_enabled,
            utc_offset_minutes,
            nft_transfer_default_tier,
            deploy_default_tier,
        } = d;
        PolicyConfig {
            default_instant_max_usd,
            default_notify_max_usd,
            default_delay_max_usd,
            default_delay_seconds,
            default_approval_timeout,
            default_deny_tokens,
            default_deny_contracts,
            default_deny_spenders,
            default_deny_x402_domains,
            default_deny_erc8128_domains,
            venue_whitelist_enabled,
            default_deny_typed_data,
            utc_offset_minutes,
            nft_transfer_default_tier,
            deploy_default_tier,
        }
    }

    pub fn settings(&self) -> crate::policy::PolicySettings {
        let PolicyConfig {
            default_instant_max_usd,
            default_notify_max_usd,
            default_delay_max_usd,
            default_delay_seconds,
            default_approval_timeout,
            default_deny_tokens,
            default_deny_contracts,
            default_deny_spenders,
            default_deny_x402_domains,
            default_deny_erc8128_domains,
            venue_whitelist_enabled,
            default_deny_typed_data: _,
            utc_offset_minutes,
            nft_transfer_default_tier,
            deploy_default_tier,
        } = self.clone();
        crate::policy::PolicySettings {
            default_instant_max_usd,
            default_notify_max_usd,
            default_delay_max_usd,
            default_delay_seconds,
            default_approval_timeout,
            default_deny_tokens,
            default_deny_contracts,
            default_deny_spenders,
            default_deny_x402_domains,
            default_deny_erc8128_domains,
            venue_whitelist_enabled,
            utc_offset_minutes,
            nft_transfer_default_tier,
            deploy_default_tier,
        }
    }
}

/// `[evm]`: EVM fee limits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct EvmConfig {
    /// The highest `maxFeePerGas` a transaction may offer, in gwei (0 = no cap). A network
    /// whose base fee plus tip exceeds it fails the build with the fee and the cap named.
    pub max_fee_per_gas_gwei: u64,
}

impl EvmConfig {
    /// The cap in wei, `None` when there is none.
    pub fn max_fee_cap_wei(&self) -> Option<u128> {
        (self.max_fee_per_gas_gwei > 0).then(|| u128::from(self.max_fee_per_gas_gwei) * 1_000_000_000)
    }
}

/// `[pipeline]`: how the transaction pipeline rides out an unreachable or failing node.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PipelineConfig {
    /// How long (seconds) a transaction keeps retrying transient node errors before its
    /// broadcast (nonce, build, fee, simulation: timeouts, refused connections, 429/5xx),
    /// with exponential backoff and jitter, before it fails with `CHAIN_ERROR` naming the
    /// network and the last error. Nothing is signed or sent meanwhile. 0 = fail at the
    /// first transient error. After the broadcast nothing fails on a transient error: the
    /// stored bytes are re-sent until the chain answers.
    pub transient_retry_sec: u64,
    /// How many transactions the engine's pipeline may drive at once (accepted and not yet
    /// CONFIRMED, FAILED or waiting QUEUED). A send beyond it is refused at once with 503
    /// `SEND_QUEUE_FULL` (retryable, `Retry-After`), nothing stored, instead of queueing
    /// without bound.
    pub max_in_flight: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig { transient_retry_sec: 120, max_in_flight: 1000 }
    }
}

/// `[oracle]`: network price oracles tried before the `[prices]` table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct OracleConfig {
    pub enabled: bool,
    /// Base URL of Pyth Hermes (`""` = do not ask it).
    pub pyth_url: String,
    /// Base URL of the CoinGecko API (`""` = do not ask it).
    pub coingecko_url: String,
    pub coingecko_api_key: String,
    pub cache_ttl_seconds: u64,
    /// A price whose source timestamp is older than this many seconds is unknown (as is a price
    /// `<= 0`): the policy engine then fails closed (APPROVAL unless a raw-unit or token limit
    /// classifies the value). Applies to `[prices]` too when it sets `updated_at`.
    pub max_age_seconds: u64,
}

impl Default for OracleConfig {
    fn default() -> Self {
        OracleConfig {
            enabled: true,
            pyth_url: "https://hermes.pyth.network".into(),
            coingecko_url: "https://api.coingecko.com/api/v3".into(),
            coingecko_api_key: String::new(),
            cache_ttl_seconds: 300,
            max_age_seconds: 1800,
        }
    }
}

/// `[metrics]`: `GET /metrics` in the Prometheus text format.
#[derive(Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct MetricsConfig {
    /// Off by default: `/metrics` answers 404.
    pub enabled: bool,
    /// When set, a scrape must send `Authorization: Bearer <token>`. Required unless
    /// `daemon.hostname` is a loopback address.
    pub token: String,
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig").field("enabled", &self.enabled).field("token", &if self.token.is_empty() { "" } else { "<redacted>" }).finish()
    }
}

/// `[x402]`: paying for HTTP resources (`POST /v1/x402/fetch`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct X402Config {
    /// Off: the route answers 403 `X402_DISABLED`.
    pub enabled: bool,
    /// Seconds one fetch may take, both requests and a DELAY wait included; a DELAY longer
    /// than this is refused with 408 `X402_DELAY_TIMEOUT`.
    pub request_timeout: u64,
    /// Largest answer body read, in bytes.
    pub max_response_bytes: u64,
    /// Hosts fetched over plain http and on loopback/private addresses. For tests only:
    /// production leaves it empty (https to public addresses only).
    pub allow_insecure_hosts: Vec<String>,
}

impl Default for X402Config {
    fn default() -> Self {
        X402Config { enabled: true, request_timeout: 30, max_response_bytes: 10 * 1024 * 1024, allow_insecure_hosts: vec![] }
    }
}

/// `[signing_sdk]`: owner approvals answered from a wallet app through the push relay
/// (upstream's `signing_sdk.*` settings).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SigningSdkConfig {
    /// Route approvals of wallets without an explicit `approval_method` to a signing-enabled
    /// wallet app (a wallet registered with `approval_method = sdk_push` is routed regardless).
    pub enabled: bool,
    /// Minutes a sign request is valid (capped by the transaction's approval window).
    pub request_expiry_min: u64,
    /// `push_relay` (the only channel built) or `telegram`.
    pub preferred_channel: String,
    /// Notification events also go to wallet apps with `alerts_enabled`.
    pub notifications_enabled: bool,
    /// JSON array of upstream WalletLinkConfig (`[{name, universalLink: {base, signPath}}]`);
    /// the `dcent` preset is built in.
    pub wallets: String,
    /// Deprecated upstream key, accepted and ignored.
    pub preferred_wallet: String,
    /// The relay's `relay.server.daemon_key`, sent as `Authorization: Bearer` on `/v1/push`
    /// and the long poll (empty = none).
    pub relay_daemon_token: String,
}

impl Default for SigningSdkConfig {
    fn default() -> Self {
        SigningSdkConfig {
            enabled: false,
            request_expiry_min: 30,
            preferred_channel: "push_relay".into(),
            notifications_enabled: true,
            wallets: "[]".into(),
            preferred_wallet: String::new(),
            relay_daemon_token: String::new(),
        }
    }
}

impl std::fmt::Debug for SigningSdkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningSdkConfig")
            .field("enabled", &self.enabled)
            .field("request_expiry_min", &self.request_expiry_min)
            .field("preferred_channel", &self.preferred_channel)
            .field("notifications_enabled", &self.notifications_enabled)
            .field("relay_daemon_token", &if self.relay_daemon_token.is_empty() { "" } else { "<redacted>" })
            .finish()
    }
}

/// `[notifications]` and `[telegram]` as the channels read them.
#[derive(Clone, Default)]
pub struct ChannelsConfig {
    pub enabled: bool,
    pub telegram_bot_token: String,
    pub telegram_chat_id: String,
    pub telegram_api_base_url: String,
    pub discord_webhook_url: String,
    pub slack_webhook_url: String,
    pub rate_limit_rpm: u32,
    pub notify_events: Vec<String>,
    pub notify_categories: Vec<String>,
    pub locale: String,
    pub templates_file: String,
    /// Seconds an event is retried for (network errors, 5xx, 429) before it is given up.
    pub max_event_age_sec: u64,
    pub retry_base_ms: u64,
    /// `security.webhook_allow_private`.
    pub allow_private: bool,
}

impl std::fmt::Debug for ChannelsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |s: &str| if s.is_empty() { "" } else { "<set>" };
        f.debug_struct("ChannelsConfig")
            .field("enabled", &self.enabled)
            .field("telegram_bot_token", &set(&self.telegram_bot_token))
            .field("telegram_chat_id", &self.telegram_chat_id)
            .field("discord_webhook_url", &set(&self.discord_webhook_url))
            .field("slack_webhook_url", &set(&self.slack_webhook_url))
            .field("rate_limit_rpm", &self.rate_limit_rpm)
            .finish()
    }
}

/// A key of a flat config section as text (`""` when absent).
pub fn setting(config: &Config, section: &str, key: &str) -> String {
    match config.other.get(section).and_then(|t| t.get(key)) {
        Some(toml::Value::String(s)) => s.trim().to_string(),
        Some(toml::Value::Integer(i)) => i.to_string(),
        Some(toml::Value::Float(f)) => f.to_string(),
        Some(toml::Value::Boolean(b)) => b.to_string(),
        Some(toml::Value::Array(a)) => serde_json::to_string(a).unwrap_or_default(),
        _ => String::new(),
    }
}

/// A JSON array of strings given as text (`'["a","b"]'`) or as a TOML array; `""` = none.
fn string_list(field: &str, raw: &str) -> Result<Vec<String>> {
    if raw.is_empty() {
        return Ok(vec![]);
    }
    serde_json::from_str::<Vec<String>>(raw).map_err(|_| Error::validation(field, "must be a JSON array of strings"))
}

fn number<T: std::str::FromStr>(field: &str, raw: &str, default: T) -> Result<T> {
    if raw.is_empty() {
        return Ok(default);
    }
    raw.parse().map_err(|_| Error::validation(field, "must be a whole number"))
}

impl ChannelsConfig {
    pub fn from_config(c: &Config) -> Result<ChannelsConfig> {
        let n = |k: &str| setting(c, "notifications", k);
        let mut token = n("telegram_bot_token");
        if token.is_empty() {
            token = setting(c, "telegram", "bot_token");
        }
        let base = setting(c, "telegram", "api_base_url");
        let cfg = ChannelsConfig {
            enabled: n("enabled") == "true",
            telegram_bot_token: token,
            telegram_chat_id: n("telegram_chat_id"),
            telegram_api_base_url: if base.is_empty() { "https://api.telegram.org".into() } else { base.trim_end_matches('/').to_string() },
            discord_webhook_url: n("discord_webhook_url"),
            slack_webhook_url: n("slack_webhook_url"),
            rate_limit_rpm: number("notifications.rate_limit_rpm", &n("rate_limit_rpm"), 20)?,
            notify_events: string_list("notifications.notify_events", &n("notify_events"))?,
            notify_categories: string_list("notifications.notify_categories", &n("notify_categories"))?,
            locale: if n("locale").is_empty() { "en".into() } else { n("locale") },
            templates_file: n("templates_file"),
            max_event_age_sec: number("notifications.max_event_age_sec", &n("max_event_age_sec"), 86_400u64)?,
            retry_base_ms: number("notifications.retry_base_ms", &n("retry_base_ms"), 1000u64)?.clamp(1, 60_000),
            allow_private: c.security.webhook_allow_private,
        };
        for (field, url) in [("notifications.discord_webhook_url", &cfg.discord_webhook_url), ("notifications.slack_webhook_url", &cfg.slack_webhook_url)] {
            if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
                return Err(Error::validation(field, "must be an http(s) URL"));
            }
        }
        Ok(cfg)
    }

    /// Whether channel `kind` has what it needs to deliver (the global switch aside).
    pub fn configured(&self, kind: &str, config: &Config) -> bool {
        match kind {
            "telegram" => !self.telegram_bot_token.is_empty() && !self.telegram_chat_id.is_empty(),
            "discord" => !self.discord_webhook_url.is_empty(),
            "slack" => !self.slack_webhook_url.is_empty(),
            "email" => email_configured(config),
            _ => false,
        }
    }
}

/// Whether `[notifications] smtp_host` and a recipient are set.
fn email_configured(config: &Config) -> bool {
    !setting(config, "notifications", "smtp_host").is_empty() && !setting(config, "notifications", "smtp_to").is_empty()
}

/// `[incoming]`: the monitor's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingSettings {
    /// `enabled` (default false): the global switch; each wallet also needs `monitorIncoming`.
    pub enabled: bool,
    /// `poll_interval` seconds between rounds (default 30, 1..3600).
    pub poll_interval: Duration,
    /// `confirmations` (default 12, 1..1000): how deep an EVM block must be (the head counts
    /// as 1) for its transfers to be CONFIRMED.
    pub confirmations: u64,
    /// `suspicious_dust_usd` (default 0.01, >= 0): a transfer worth less is suspicious.
    pub suspicious_dust_usd: f64,
    /// `suspicious_amount_multiplier` (default 10, >= 1): a transfer above this many times
    /// the wallet's average earlier inflow of the same asset is suspicious.
    pub suspicious_amount_multiplier: f64,
    /// `cooldown_minutes` (default 5): at most one `TX_INCOMING` per wallet within it
    /// (`TX_INCOMING_SUSPICIOUS` is never held back).
    pub cooldown: Duration,
    /// `retention_days` (default 90, 0..36500; 0 keeps every record): records detected longer
    /// ago are deleted, once an hour.
    pub retention: Option<Duration>,
    /// `wss_url_<network>` (upstream's `incoming.wss_url.<network>` setting, e.g.
    /// `wss_url_ethereum_sepolia`; env `WAIAAS_INCOMING_WSS_URL_ETHEREUM_SEPOLIA`): a
    /// `ws://` or `wss://` endpoint of an EVM network whose new blocks wake the monitor at once
    /// (polling goes on beside it). By canonical network id.
    pub wss_urls: BTreeMap<String, String>,
}

impl IncomingSettings {
    pub fn from_config(config: &Config) -> Result<IncomingSettings> {
        let number = |key: &str, default: u64, range: std::ops::RangeInclusive<u64>| -> Result<u64> {
            let raw = setting(config, "incoming", key);
            if raw.is_empty() {
                return Ok(default);
            }
            raw.parse::<u64>().ok().filter(|v| range.contains(v)).ok_or_else(|| {
                Error::new(ErrorCode::VALIDATION_FAILED, format!("config: incoming.{key} must be {}..{} (got '{raw}')", range.start(), range.end()))
            })
        };
        let enabled = match setting(config, "incoming", "enabled").as_str() {
            "" | "false" => false,
            "true" => true,
            other => return Err(Error::new(ErrorCode::VALIDATION_FAILED, format!("config: incoming.enabled must be true or false (got '{other}')"))),
        };
        let real = |key: &str, default: f64, min: f64| -> Result<f64> {
            let raw = setting(config, "incoming", key);
            if raw.is_empty() {
                return Ok(default);
            }
            raw.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= min)
                .ok_or_else(|| Error::new(ErrorCode::VALIDATION_FAILED, format!("config: incoming.{key} must be a number >= {min} (got '{raw}')")))
        };
        let mut wss_urls = BTreeMap::new();
        let section = config.other.get("incoming");
        for (network, value) in section.into_iter().flatten().filter_map(|(k, v)| Some((k.strip_prefix("wss_url_")?.replace('_', "-"), v))) {
            let bad = |why: String| Error::new(ErrorCode::VALIDATION_FAILED, format!("config: incoming.wss_url.{network}: {why}"));
            let net = crate::network::Network::parse(&network).map_err(|e| bad(e.message))?;
            if net.chain() != crate::network::Chain::Ethereum {
                return Err(bad("a newHeads subscription is for EVM networks only (Solana is polled)".into()));
            }
            let url = value
                .as_str()
                .map(str::trim)
                .filter(|u| u.starts_with("ws://") || u.starts_with("wss://"))
                .ok_or_else(|| bad("must be a ws:// or wss:// URL".into()))?;
            wss_urls.insert(net.id().to_string(), url.to_string());
        }
        Ok(IncomingSettings {
            enabled,
            wss_urls,
            poll_interval: Duration::from_secs(number("poll_interval", 30, 1..=3600)?),
            confirmations: number("confirmations", 12, 1..=1000)?,
            suspicious_dust_usd: real("suspicious_dust_usd", 0.01, 0.0)?,
            suspicious_amount_multiplier: real("suspicious_amount_multiplier", 10.0, 1.0)?,
            cooldown: Duration::from_secs(60 * number("cooldown_minutes", 5, 0..=10_080)?),
            retention: Some(number("retention_days", 90, 0..=36_500)?).filter(|d| *d > 0).map(|d| Duration::from_secs(86_400 * d)),
        })
    }
}

/// `[actions]`: the action providers' settings (`<provider>_enabled`, `<provider>_<action>_tier`
/// and each provider's own keys), checked by their shape so a bad value stops the start (or
/// the settings update) instead of the first action: `*_enabled` is a boolean, `*_tier` a tier,
/// `*_address` an address, `*_bps` / `*_sec` whole numbers, `*_url` an http(s) URL.
fn check_actions(config: &Config) -> Result<()> {
    for (key, value) in config.other.get("actions").into_iter().flatten() {
        let bad = |why: &str| Error::new(ErrorCode::VALIDATION_FAILED, format!("config: actions.{key} {why}"));
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(bad("is not a setting name (lower case, digits and _)"));
        }
        let text = setting(config, "actions", key);
        let ok = if key.ends_with("_enabled") {
            matches!(text.as_str(), "true" | "false")
        } else if key.ends_with("_tier") {
            crate::policy::Tier::parse(&text.to_ascii_uppercase()).is_some()
        } else if key.ends_with("_address") {
            crate::network::check_address(crate::network::Chain::Ethereum, key, &text).is_ok()
                || crate::network::check_address(crate::network::Chain::Solana, key, &text).is_ok()
        } else if key.ends_with("_bps") || key.ends_with("_sec") {
            text.parse::<u64>().is_ok()
        } else if key.ends_with("_url") {
            text.starts_with("https://") || text.starts_with("http://")
        } else {
            matches!(value, toml::Value::String(_) | toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_))
        };
        if !ok {
            let want = [
                ("_enabled", "must be true or false"),
                ("_tier", "must be INSTANT, NOTIFY, DELAY or APPROVAL"),
                ("_address", "must be an EVM or Solana address"),
                ("_bps", "must be a whole number"),
                ("_sec", "must be a whole number"),
                ("_url", "must be an http(s) URL"),
            ];
            let why = want.iter().find(|(s, _)| key.ends_with(s)).map(|(_, w)| *w).unwrap_or("must be a plain value");
            return Err(bad(&format!("{why} (got '{text}')")));
        }
    }
    Ok(())
}

/// The daemon configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default)]
pub struct Config {
    pub daemon: DaemonConfig,
    pub security: SecurityConfig,
    pub database: DatabaseConfig,
    /// `[rpc]` URLs by key (`solana_devnet`, `evm_ethereum_sepolia`, ...); a value may
    /// list several endpoints separated by commas.
    pub rpc: BTreeMap<String, String>,
    pub policy: PolicyConfig,
    /// `[prices]`: offline USD prices by native symbol (`eth`, `sol`, `pol`), token address or
    /// CAIP-19 id (case-insensitive keys); `updated_at` (unix s) says how fresh they are: with it
    /// they age out after `[oracle] max_age_seconds`, without it they are the operator's fixed
    /// prices. A price of 0 counts as unknown.
    pub prices: BTreeMap<String, f64>,
    pub oracle: OracleConfig,
    pub metrics: MetricsConfig,
    pub evm: EvmConfig,
    pub pipeline: PipelineConfig,
    pub signing_sdk: SigningSdkConfig,
    pub x402: X402Config,
    /// Sections read by later features; kept so that an upstream config.toml loads.
    #[serde(flatten)]
    pub other: BTreeMap<String, toml::Table>,
}

/// A loaded config plus the keys it did not recognise (logged as warnings).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

fn invalid(msg: String) -> Error {
    Error::new(ErrorCode::VALIDATION_FAILED, format!("config: {msg}"))
}

/// `localhost` or a loopback IP address (`127.0.0.0/8`, `::1`).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Config {
    /// The config.toml `waiaas init` writes.
    pub fn default_toml() -> String {
        let d = Config::default();
        format!(
            "# WAIaaS daemon configuration. Every key can be overridden by WAIAAS_<SECTION>_<KEY>.\n\
             [daemon]\nport = {}\nhostname = \"{}\"\nlog_level = \"{}\"\n\n\
             [database]\npath = \"{}\"\n\n\
             [security]\nmax_sessions_per_wallet = {}\n\n[rpc]\n",
            d.daemon.port, d.daemon.hostname, d.daemon.log_level, d.database.path, d.security.max_sessions_per_wallet
        )
    }

    /// This config with `settings` (`("section.key", value)`, as `PUT /v1/admin/settings`
    /// takes them) applied exactly like environment overrides, then validated.
    pub fn with_settings(&self, settings: &[(String, String)]) -> Result<Config> {
        let mut table = toml::Table::try_from(self).map_err(|e| invalid(e.to_string()))?;
        let defaults = toml::Table::try_from(Config::default()).map_err(|e| invalid(e.to_string()))?;
        let as_env: Vec<(String, String)> =
            settings.iter().map(|(k, v)| (format!("WAIAAS_{}", k.replacen('.', "_", 1).to_ascii_uppercase()), v.clone())).collect();
        // Settings come over the API: they never name files on the daemon's host.
        apply_env(&mut table, &defaults, &as_env, false)?;
        let config: Config = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| invalid(e.message().to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Load `path` (absent = defaults) and apply overrides from `env`.
    pub fn load(path: &Path, env: &[(String, String)]) -> Result<Loaded> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e.into()),
        };
        Config::from_toml(&text, env)
    }

    pub fn from_toml(text: &str, env: &[(String, String)]) -> Result<Loaded> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| invalid(e.message().to_string()))?;
        let defaults = toml::Table::try_from(Config::default()).map_err(|e| invalid(e.to_string()))?;
        let mut warnings = vec![];
        for (section, value) in &table {
            if !SECTIONS.contains(&section.as_str()) {
                return Err(invalid(format!("unknown section [{section}]")));
            }
            let toml::Value::Table(t) = value else {
                return Err(invalid(format!("'{section}' must be a [section]")));
            };
            for (k, v) in t {
                if v.is_table() {
                    return Err(invalid(format!("nested table [{section}.{k}] is not allowed")));
                }
                let known = defaults.get(section).and_then(|d| d.as_table()).map(|d| d.contains_key(k));
                if known == Some(false) && section != "rpc" {
                    warnings.push(format!("unknown key {section}.{k} ignored"));
                }
            }
        }
        apply_env(&mut table, &defaults, env, true)?;
        let config: Config = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| invalid(e.message().to_string()))?;
        config.validate()?;
        Ok(Loaded { config, warnings })
    }

    fn validate(&self) -> Result<()> {
        if !["push_relay", "telegram"].contains(&self.signing_sdk.preferred_channel.as_str()) {
            return Err(invalid("signing_sdk.preferred_channel must be push_relay or telegram".into()));
        }
        if !serde_json::from_str::<serde_json::Value>(&self.signing_sdk.wallets).is_ok_and(|v| v.is_array()) {
            return Err(invalid("signing_sdk.wallets must be a JSON array of wallet link configs".into()));
        }
        // The notification channels' settings (`[notifications]`, `[telegram]`) parse.
        ChannelsConfig::from_config(self)?;
        IncomingSettings::from_config(self)?;
        check_actions(self)?;
        if !matches!(setting(self, "display", "currency").as_str(), "" | "USD") {
            return Err(invalid("display.currency must be USD (this daemon prices in USD and has no exchange rates)".into()));
        }
        if self.daemon.port != 0 && self.daemon.port < 1024 {
            return Err(invalid("daemon.port must be 1024..65535 (or 0 for an ephemeral port)".into()));
        }
        if !self.daemon.public_url.is_empty() && public_authority(&self.daemon.public_url).is_none() {
            return Err(invalid("daemon.public_url must be an origin like https://wallet.example.com[:port]".into()));
        }
        if !["trace", "debug", "info", "warn", "error"].contains(&self.daemon.log_level.as_str()) {
            return Err(invalid("daemon.log_level must be trace|debug|info|warn|error".into()));
        }
        if !["text", "json"].contains(&self.daemon.log_format.as_str()) {
            return Err(invalid(format!("daemon.log_format must be text or json (got '{}')", self.daemon.log_format)));
        }
        if !(1..=600).contains(&self.daemon.shutdown_timeout) {
            return Err(invalid("daemon.shutdown_timeout must be 1..600 seconds".into()));
        }
        if self.metrics.enabled && self.metrics.token.is_empty() && !is_loopback_host(&self.daemon.hostname) {
            return Err(invalid(format!(
                "metrics.enabled on daemon.hostname '{}' (not a loopback address) needs metrics.token: set a token (WAIAAS_METRICS_TOKEN) or listen on 127.0.0.1",
                self.daemon.hostname
            )));
        }
        let p = &self.policy;
        if !(p.default_instant_max_usd >= 0.0 && p.default_instant_max_usd <= p.default_notify_max_usd && p.default_notify_max_usd <= p.default_delay_max_usd) {
            return Err(invalid("policy: default thresholds must satisfy 0 <= instant <= notify <= delay".into()));
        }
        if !(60..=86_400).contains(&p.default_delay_seconds) || !(60..=604_800).contains(&p.default_approval_timeout) {
            return Err(invalid("policy.default_delay_seconds must be 60..86400 and default_approval_timeout 60..604800".into()));
        }
        if self.prices.values().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(invalid("prices must be finite and >= 0".into()));
        }
        let d = &self.daemon;
        if !(1..=600).contains(&d.header_read_timeout) || !(1..=3600).contains(&d.body_read_timeout) {
            return Err(invalid("daemon.header_read_timeout must be 1..600 and daemon.body_read_timeout 1..3600 seconds".into()));
        }
        if !(1024..=64 * 1024 * 1024).contains(&d.max_body_bytes) {
            return Err(invalid("daemon.max_body_bytes must be 1024..67108864".into()));
        }
        if !(60..=7200).contains(&d.admin_timeout) {
            return Err(invalid("daemon.admin_timeout must be 60..7200".into()));
        }
        if self.oracle.max_age_seconds < 1 {
            return Err(invalid("oracle.max_age_seconds must be >= 1".into()));
        }
        if self.security.max_sessions_per_wallet < 1 {
            return Err(invalid("security.max_sessions_per_wallet must be >= 1".into()));
        }
        if self.security.session_ttl_min < 1 {
            return Err(invalid("security.session_ttl_min must be >= 1".into()));
        }
        if self.security.master_password_max_attempts < 1 {
            return Err(invalid("security.master_password_max_attempts must be >= 1".into()));
        }
        let sec = &self.security;
        if !(1..=86_400).contains(&sec.monitoring_check_interval_sec) || sec.monitoring_cooldown_hours > 8760 {
            return Err(invalid("security.monitoring_check_interval_sec must be 1..86400 and monitoring_cooldown_hours 0..8760".into()));
        }
        if ![sec.monitoring_low_balance_threshold_sol, sec.monitoring_low_balance_threshold_eth].iter().all(|t| t.is_finite() && *t >= 0.0) {
            return Err(invalid("security.monitoring_low_balance_threshold_sol and _eth must be numbers >= 0".into()));
        }
        if !(0..=86_400).contains(&self.security.delay_grace_after_start_sec) {
            return Err(invalid("security.delay_grace_after_start_sec must be 0..86400".into()));
        }
        if self.pipeline.transient_retry_sec > 86_400 {
            return Err(invalid("pipeline.transient_retry_sec must be 0..86400".into()));
        }
        if !(1..=1_000_000).contains(&self.pipeline.max_in_flight) {
            return Err(invalid("pipeline.max_in_flight must be 1..1000000".into()));
        }
        let db = &self.database;
        if !(db.postgres_url.is_empty() || db.postgres_url.starts_with("postgres://") || db.postgres_url.starts_with("postgresql://")) {
            return Err(invalid("database.postgres_url must be a postgres:// URL (or empty for SQLite)".into()));
        }
        if !(1..=1000).contains(&db.postgres_pool_size) {
            return Err(invalid("database.postgres_pool_size must be 1..1000".into()));
        }
        if !(1..=600).contains(&self.x402.request_timeout) || !(1024..=256 * 1024 * 1024).contains(&self.x402.max_response_bytes) {
            return Err(invalid("x402.request_timeout must be 1..600 seconds and x402.max_response_bytes 1024..268435456".into()));
        }
        Ok(())
    }
}

/// `host[:port]` of a `scheme://host[:port][/path]` URL (`None` when empty or malformed).
pub(crate) fn public_authority(url: &str) -> Option<String> {
    let rest = url.trim().split_once("://").map(|(_, r)| r)?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty() && !authority.contains('@')).then(|| authority.to_ascii_lowercase())
}

/// Whether a setting's key names a secret (password, secret, token, API key, private key):
/// its value is never shown.
pub(crate) fn is_secret(key: &str) -> bool {
    ["password", "secret", "token", "api_key", "apikey", "private", "webhook_url", "postgres_url"].iter().any(|s| key.contains(s))
}

/// Secret settings a face took out of the process environment at start
/// ([`remember_taken_env`]); [`process_env`] still sees them.
static TAKEN_ENV: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// Whether the variable `name` holds a secret setting's value: a `WAIAAS_<SECTION>_<KEY>`
/// whose key names a password, secret, token, API key or private key (the keys
/// `GET /v1/admin/settings` masks). A `..._FILE` variable holds a path, not a secret.
pub fn is_secret_env(name: &str) -> bool {
    let defaults = toml::Table::try_from(Config::default()).unwrap_or_default();
    setting_of(name).is_some_and(|(section, key)| {
        let file_ref = key.strip_suffix("_file").is_some() && !known_key(&defaults, &section, &key);
        !file_ref && is_secret(&key)
    })
}

/// Keep settings taken out of the environment (so that `/proc/<pid>/environ` no longer
/// shows them) for the config loader.
pub fn remember_taken_env(vars: Vec<(String, String)>) {
    TAKEN_ENV.lock().unwrap_or_else(|e| e.into_inner()).extend(vars);
}

/// The settings taken out of the environment at start.
pub fn taken_env() -> Vec<(String, String)> {
    TAKEN_ENV.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The process environment as the config loader sees it: `std::env::vars()` plus the secret
/// settings taken out of it at start.
pub fn process_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    env.extend(taken_env());
    env
}

/// Variables the config loader leaves alone: the CLI and the daemon read them themselves.
const NOT_SETTINGS: &[&str] = &["WAIAAS_DATA_DIR", "WAIAAS_MASTER_PASSWORD", "WAIAAS_MASTER_PASSWORD_FILE", "WAIAAS_AUTO_PROVISION"];

/// Where a setting's value came from: the variable itself, or the file its `_FILE` names.
enum Source<'a> {
    Value(&'a str),
    File(&'a str),
}

/// The `(section, key)` a `WAIAAS_<SECTION>_<KEY>` name sets, if it is a setting.
fn setting_of(name: &str) -> Option<(String, String)> {
    if NOT_SETTINGS.contains(&name) {
        return None;
    }
    // The longest section the name starts with (`signing_sdk` before a `signing`).
    let rest = name.strip_prefix("WAIAAS_")?.to_ascii_lowercase();
    let section = SECTIONS.iter().filter(|s| rest.len() > s.len() + 1 && rest.starts_with(*s) && rest.as_bytes()[s.len()] == b'_').max_by_key(|s| s.len())?;
    Some((section.to_string(), rest[section.len() + 1..].to_string()))
}

/// Whether `section.key` is a key the config knows by name (fixed sections only).
fn known_key(defaults: &toml::Table, section: &str, key: &str) -> bool {
    defaults.get(section).and_then(|d| d.as_table()).is_some_and(|d| d.contains_key(key))
}

/// The contents of the file `var` names, with one trailing line ending removed.
fn read_setting_file(var: &str, path: &str) -> Result<String> {
    if path.is_empty() {
        return Err(invalid(format!("{var} is set but empty: it must name a file")));
    }
    let bytes = std::fs::read(path).map_err(|e| invalid(format!("{var}: cannot read {path}: {e}")))?;
    let mut text = String::from_utf8(bytes).map_err(|_| invalid(format!("{var}: {path} is not UTF-8 text")))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

/// Apply `WAIAAS_<SECTION>_<KEY>` pairs to a config table, each typed like the key it sets;
/// with `files`, also `WAIAAS_<SECTION>_<KEY>_FILE` (see the module doc).
fn apply_env(table: &mut toml::Table, defaults: &toml::Table, env: &[(String, String)], files: bool) -> Result<()> {
    // Resolve every name to (variable, setting, source) first, so that a value and a file
    // for the same setting are caught whatever their order.
    let mut resolved: Vec<(&str, String, String, Source)> = vec![];
    for (name, raw) in env {
        let Some((section, key)) = setting_of(name) else {
            continue;
        };
        let file_key = key.strip_suffix("_file").filter(|k| files && !k.is_empty() && !known_key(defaults, &section, &key));
        match file_key {
            Some(k) => resolved.push((name, section, k.to_string(), Source::File(raw))),
            None => resolved.push((name, section, key, Source::Value(raw))),
        }
    }
    for (i, (name, section, key, source)) in resolved.iter().enumerate() {
        if let Source::File(_) = source {
            if let Some((other, ..)) = resolved.iter().enumerate().find(|(j, r)| *j != i && r.1 == *section && r.2 == *key).map(|(_, r)| r) {
                return Err(invalid(format!("both {other} and {name} are set: set only one of them")));
            }
        }
    }
    for (name, section, key, source) in resolved {
        let price = toml::Value::Float(0.0);
        let like = defaults.get(&section).and_then(|d| d.as_table()).and_then(|d| d.get(&key)).or(
            // Every `[prices]` value is a number.
            (section == "prices").then_some(&price),
        );
        let value = match source {
            Source::Value(raw) => coerce(raw, like).map_err(|m| invalid(format!("{name}: {m}")))?,
            // A file may hold a secret: errors name the file, never what it holds.
            Source::File(path) => coerce(&read_setting_file(name, path)?, like)
                .map_err(|_| invalid(format!("{name}: the contents of {path} are not a valid {section}.{key} ({})", kind_of(like))))?,
        };
        table
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| invalid(format!("{name}: section is not a table")))?
            .insert(key, value);
    }
    Ok(())
}

/// What a key's values look like, for error messages.
fn kind_of(like: Option<&toml::Value>) -> &'static str {
    match like {
        Some(toml::Value::Integer(_)) => "integer",
        Some(toml::Value::Float(_)) => "number",
        Some(toml::Value::Boolean(_)) => "true/false",
        Some(toml::Value::Array(_)) => "list",
        _ => "string",
    }
}

/// Convert an environment string to the type of the key it overrides.
fn coerce(raw: &str, like: Option<&toml::Value>) -> std::result::Result<toml::Value, String> {
    Ok(match like {
        Some(toml::Value::Integer(_)) => toml::Value::Integer(raw.trim().parse().map_err(|_| format!("'{raw}' is not an integer"))?),
        Some(toml::Value::Float(_)) => toml::Value::Float(raw.trim().parse().map_err(|_| format!("'{raw}' is not a number"))?),
        Some(toml::Value::Boolean(_)) => match raw.trim() {
            "true" | "1" => toml::Value::Boolean(true),
            "false" | "0" => toml::Value::Boolean(false),
            _ => return Err(format!("'{raw}' is not true/false")),
        },
        Some(toml::Value::Array(_)) => {
            let items: Vec<String> = if raw.trim_start().starts_with('[') {
                serde_json::from_str(raw).map_err(|e| format!("not a JSON array of strings: {e}"))?
            } else {
                raw.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
            };
            toml::Value::Array(items.into_iter().map(toml::Value::String).collect())
        }
        _ => toml::Value::String(raw.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn incoming_settings_default_off_and_bad_values_refuse_the_config() {
        let d = IncomingSettings::from_config(&Config::default()).unwrap();
        let defaults = IncomingSettings {
            enabled: false,
            poll_interval: Duration::from_secs(30),
            confirmations: 12,
            suspicious_dust_usd: 0.01,
            suspicious_amount_multiplier: 10.0,
            cooldown: Duration::from_secs(300),
            retention: Some(Duration::from_secs(90 * 86_400)),
            wss_urls: BTreeMap::new(),
        };
        assert_eq!(d, defaults);
        // Upstream's file and env overrides.
        let l = Config::from_toml(
            "[incoming]\nenabled = true\npoll_interval = 5\nretention_days = 90\nsuspicious_dust_usd = 0.01\n",
            &env(&[("WAIAAS_INCOMING_CONFIRMATIONS", "2")]),
        )
        .unwrap();
        assert_eq!(
            IncomingSettings::from_config(&l.config).unwrap(),
            IncomingSettings { enabled: true, poll_interval: Duration::from_secs(5), confirmations: 2, ..defaults.clone() }
        );
        // WebSocket endpoints: one key per network (the file is flat: no nested tables).
        let l = Config::from_toml(
            "[incoming]\nwss_url_ethereum_sepolia = \"wss://a.example/key\"\n",
            &env(&[("WAIAAS_INCOMING_WSS_URL_BASE_SEPOLIA", "ws://127.0.0.1:8545")]),
        )
        .unwrap();
        let urls = IncomingSettings::from_config(&l.config).unwrap().wss_urls;
        let keep_all = Config::from_toml("[incoming]\nretention_days = 0\n", &[]).unwrap();
        assert_eq!(IncomingSettings::from_config(&keep_all.config).unwrap().retention, None);
        assert_eq!(urls.get("ethereum-sepolia").map(String::as_str), Some("wss://a.example/key"));
        assert_eq!(urls.get("base-sepolia").map(String::as_str), Some("ws://127.0.0.1:8545"));
        for (toml, key) in [
            ("enabled = \"yes\"", "incoming.enabled"),
            ("poll_interval = 0", "incoming.poll_interval"),
            ("confirmations = -1", "incoming.confirmations"),
            ("suspicious_dust_usd = -1", "incoming.suspicious_dust_usd"),
            ("suspicious_amount_multiplier = 0.5", "incoming.suspicious_amount_multiplier"),
            ("wss_url_ethereum_sepolia = \"https://node\"", "incoming.wss_url.ethereum-sepolia"),
            ("wss_url_solana_devnet = \"wss://node\"", "incoming.wss_url.solana-devnet"),
            ("wss_url_moon = \"wss://node\"", "incoming.wss_url.moon"),
            ("retention_days = -1", "incoming.retention_days"),
        ] {
            let e = Config::from_toml(&format!("[incoming]\n{toml}\n"), &[]).unwrap_err();
            assert!(e.message.contains(key), "{toml}: {}", e.message);
        }
    }

    #[test]
    fn defaults_and_default_file_parse() {
        let l = Config::from_toml(&Config::default_toml(), &[]).unwrap();
        assert_eq!(l.config.daemon.port, 3100);
        assert_eq!(l.config.database.path, "data/waiaas.db");
        assert!(l.warnings.is_empty());
    }

    #[test]
    fn env_overrides_are_typed_by_the_key() {
        let l = Config::from_toml(
            "[daemon]\nport = 3100\n[notifications]\nenabled = false\n",
            &env(&[
                ("WAIAAS_DAEMON_PORT", "4100"),
                ("WAIAAS_DAEMON_HOSTNAME", "0.0.0.0"),
                ("WAIAAS_NOTIFICATIONS_TELEGRAM_CHAT_ID", "987654321"),
                ("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", "http://127.0.0.1:8545"),
                ("WAIAAS_SECURITY_CORS_ORIGINS", "[\"http://a\",\"http://b\"]"),
                ("WAIAAS_DAEMON_ALLOWED_HOSTS", "waiaas,daemon"),
                ("WAIAAS_MASTER_PASSWORD", "ignored"),
            ]),
        )
        .unwrap();
        let c = l.config;
        assert_eq!(c.daemon.port, 4100);
        assert_eq!(c.daemon.hostname, "0.0.0.0");
        assert_eq!(c.rpc["evm_ethereum_sepolia"], "http://127.0.0.1:8545");
        assert_eq!(c.security.cors_origins, vec!["http://a", "http://b"]);
        assert_eq!(c.daemon.allowed_hosts, vec!["waiaas", "daemon"]);
        // A numeric-looking chat id stays a string.
        assert_eq!(c.other["notifications"]["telegram_chat_id"].as_str(), Some("987654321"));
    }

    #[test]
    fn bad_files_and_values_are_refused_with_the_key_named() {
        assert!(Config::from_toml("[nope]\na = 1\n", &[]).unwrap_err().message.contains("[nope]"));
        assert!(Config::from_toml("[daemon.sub]\na = 1\n", &[]).unwrap_err().message.contains("nested"));
        let e = Config::from_toml("", &env(&[("WAIAAS_DAEMON_PORT", "abc")])).unwrap_err();
        assert!(e.message.contains("WAIAAS_DAEMON_PORT"));
        assert!(Config::from_toml("[daemon]\nlog_level = \"loud\"\n", &[]).is_err());
        let l = Config::from_toml("[daemon]\ntypo_key = 1\n", &[]).unwrap();
        assert_eq!(l.warnings, vec!["unknown key daemon.typo_key ignored"]);
    }

    #[test]
    fn metrics_off_by_default_and_refused_on_a_public_hostname_without_token() {
        let c = Config::default();
        assert!(!c.metrics.enabled);
        assert_eq!(c.daemon.log_format, "text");
        assert_eq!(c.daemon.shutdown_timeout, 10);
        assert!(Config::from_toml("[metrics]\nenabled = true\n", &[]).is_ok(), "loopback without a token is fine");
        let e = Config::from_toml("[metrics]\nenabled = true\n", &env(&[("WAIAAS_DAEMON_HOSTNAME", "0.0.0.0")])).unwrap_err();
        assert!(e.message.contains("metrics.token"), "{}", e.message);
        let l = Config::from_toml("[metrics]\nenabled = true\n", &env(&[("WAIAAS_DAEMON_HOSTNAME", "0.0.0.0"), ("WAIAAS_METRICS_TOKEN", "s3cret-scrape")]))
            .unwrap();
        assert_eq!(l.config.metrics.token, "s3cret-scrape");
        assert!(!format!("{:?}", l.config).contains("s3cret-scrape"), "the token is not in Debug output");
        assert!(Config::from_toml("[daemon]\nhostname = \"::1\"\n[metrics]\nenabled = true\n", &[]).is_ok());
        let e = Config::from_toml("[daemon]\nlog_format = \"xml\"\n", &[]).unwrap_err();
        assert!(e.message.contains("daemon.log_format"), "{}", e.message);
        let l = Config::from_toml("", &env(&[("WAIAAS_DAEMON_LOG_FORMAT", "json")])).unwrap();
        assert_eq!(l.config.daemon.log_format, "json");
    }

    #[test]
    fn the_pipeline_retry_deadline_comes_from_config_and_is_range_checked() {
        assert_eq!(Config::default().pipeline.transient_retry_sec, 120);
        let l = Config::from_toml("[pipeline]\ntransient_retry_sec = 30\n", &[]).unwrap();
        assert_eq!(l.config.pipeline.transient_retry_sec, 30);
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let l = Config::from_toml("", &env(&[("WAIAAS_PIPELINE_TRANSIENT_RETRY_SEC", "0")])).unwrap();
        assert_eq!(l.config.pipeline.transient_retry_sec, 0);
        let e = Config::from_toml("[pipeline]\ntransient_retry_sec = 90000\n", &[]).unwrap_err();
        assert!(e.message.contains("pipeline.transient_retry_sec"), "{}", e.message);
    }

    #[test]
    fn action_settings_are_checked_by_their_shape() {
        let good = "[actions]\nuniswap_v2_enabled = true\nuniswap_v2_router_address = \"0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D\"\nuniswap_v2_slippage_bps = 50\nuniswap_v2_swap_tier = \"delay\"\nzerox_swap_api_url = \"https://api.0x.org\"\nzerox_swap_api_key = \"k\"\n";
        assert!(Config::from_toml(good, &[]).is_ok());
        for (bad, key) in [
            ("uniswap_v2_enabled = \"yes\"", "actions.uniswap_v2_enabled"),
            ("uniswap_v2_swap_tier = \"SOON\"", "actions.uniswap_v2_swap_tier"),
            ("uniswap_v2_router_address = \"0x12\"", "actions.uniswap_v2_router_address"),
            ("uniswap_v2_slippage_bps = -5", "actions.uniswap_v2_slippage_bps"),
            ("zerox_swap_api_url = \"ftp://x\"", "actions.zerox_swap_api_url"),
            ("Bad_Key = 1", "actions.Bad_Key"),
        ] {
            let e = Config::from_toml(&format!("[actions]\n{bad}\n"), &[]).unwrap_err();
            assert!(e.message.contains(key), "{bad}: {}", e.message);
        }
        // The environment's values are checked the same way.
        let e = Config::from_toml("", &env(&[("WAIAAS_ACTIONS_LIDO_STAKING_ENABLED", "maybe")])).unwrap_err();
        assert!(e.message.contains("actions.lido_staking_enabled"), "{}", e.message);
    }

    #[test]
    fn every_policy_setting_and_the_fee_cap_come_from_config() {
        let toml = "[policy]\nnft_transfer_default_tier = \"DELAY\"\ndefault_deny_x402_domains = false\n[evm]\nmax_fee_per_gas_gwei = 30\n";
        let l = Config::from_toml(toml, &env(&[("WAIAAS_POLICY_DEPLOY_DEFAULT_TIER", "NOTIFY"), ("WAIAAS_POLICY_VENUE_WHITELIST_ENABLED", "true")])).unwrap();
        let s = l.config.policy.settings();
        assert_eq!((s.nft_transfer_default_tier, s.deploy_default_tier), (crate::policy::Tier::Delay, crate::policy::Tier::Notify));
        assert!(!s.default_deny_x402_domains && s.venue_whitelist_enabled);
        assert_eq!(l.config.evm.max_fee_cap_wei(), Some(30_000_000_000));
        assert_eq!(Config::default().evm.max_fee_cap_wei(), None);
        // Defaults are the policy engine's own.
        assert_eq!(Config::default().policy.settings(), crate::policy::PolicySettings::default());
        assert!(Config::from_toml("[policy]\nnft_transfer_default_tier = \"SOMETIMES\"\n", &[]).is_err());
    }

    #[test]
    fn price_max_age_is_configurable_and_positive() {
        assert_eq!(Config::default().oracle.max_age_seconds, 1800);
        let l = Config::from_toml("[oracle]\nmax_age_seconds = 60\n", &env(&[("WAIAAS_ORACLE_MAX_AGE_SECONDS", "120")])).unwrap();
        assert_eq!(l.config.oracle.max_age_seconds, 120);
        let e = Config::from_toml("[oracle]\nmax_age_seconds = 0\n", &[]).unwrap_err();
        assert!(e.message.contains("oracle.max_age_seconds"), "{}", e.message);
    }

    /// A file `name` holding `contents` in the test's temp dir.
    fn secret_file(dir: &tempfile::TempDir, name: &str, contents: &[u8]) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    #[test]
    fn every_setting_can_come_from_a_file_with_one_trailing_newline_stripped() {
        let tmp = tempfile::tempdir().unwrap();
        let port = secret_file(&tmp, "port", b"4200\n");
        let token = secret_file(&tmp, "token", b"123:abc\n\n");
        let key = secret_file(&tmp, "key", b"cg-key\r\n");
        let rpc = secret_file(&tmp, "rpc", b"http://10.0.0.1:8545");
        let hosts = secret_file(&tmp, "hosts", b"daemon,waiaas\n");
        let l = Config::from_toml(
            "",
            &env(&[
                ("WAIAAS_DAEMON_PORT_FILE", port.to_str().unwrap()),
                ("WAIAAS_TELEGRAM_BOT_TOKEN_FILE", token.to_str().unwrap()),
                ("WAIAAS_ORACLE_COINGECKO_API_KEY_FILE", key.to_str().unwrap()),
                ("WAIAAS_RPC_EVM_ETHEREUM_MAINNET_FILE", rpc.to_str().unwrap()),
                ("WAIAAS_DAEMON_ALLOWED_HOSTS_FILE", hosts.to_str().unwrap()),
            ]),
        )
        .unwrap();
        let c = l.config;
        // Typed like the key it sets.
        assert_eq!(c.daemon.port, 4200);
        // Exactly one line ending goes: the second newline is part of the value.
        assert_eq!(c.other["telegram"]["bot_token"].as_str(), Some("123:abc\n"));
        assert_eq!(c.oracle.coingecko_api_key, "cg-key");
        // No trailing newline: taken as is.
        assert_eq!(c.rpc["evm_ethereum_mainnet"], "http://10.0.0.1:8545");
        assert_eq!(c.daemon.allowed_hosts, vec!["daemon", "waiaas"]);
        // No key named `..._file` appears.
        assert!(!c.rpc.contains_key("evm_ethereum_mainnet_file"));
    }

    #[test]
    fn a_key_that_ends_in_file_is_that_key_not_a_file_reference() {
        let tmp = tempfile::tempdir().unwrap();
        let l = Config::from_toml("", &env(&[("WAIAAS_DAEMON_PID_FILE", "/run/waiaas.pid")])).unwrap();
        assert_eq!(l.config.daemon.pid_file, "/run/waiaas.pid");
        let f = secret_file(&tmp, "pidpath", b"/var/run/w.pid\n");
        let l = Config::from_toml("", &env(&[("WAIAAS_DAEMON_PID_FILE_FILE", f.to_str().unwrap())])).unwrap();
        assert_eq!(l.config.daemon.pid_file, "/var/run/w.pid");
    }

    #[test]
    fn a_value_and_a_file_for_the_same_setting_are_refused_naming_both() {
        let tmp = tempfile::tempdir().unwrap();
        let f = secret_file(&tmp, "both", b"s3cret-value\n");
        for pairs in [
            [("WAIAAS_TELEGRAM_BOT_TOKEN", "inline"), ("WAIAAS_TELEGRAM_BOT_TOKEN_FILE", f.to_str().unwrap())],
            [("WAIAAS_TELEGRAM_BOT_TOKEN_FILE", f.to_str().unwrap()), ("WAIAAS_TELEGRAM_BOT_TOKEN", "inline")],
        ] {
            let e = Config::from_toml("", &env(&pairs)).unwrap_err();
            assert!(e.message.contains("WAIAAS_TELEGRAM_BOT_TOKEN ") || e.message.contains("WAIAAS_TELEGRAM_BOT_TOKEN and"), "{}", e.message);
            assert!(e.message.contains("WAIAAS_TELEGRAM_BOT_TOKEN_FILE"), "{}", e.message);
            assert!(!e.message.contains("s3cret"), "{}", e.message);
        }
    }

    #[test]
    fn an_unreadable_file_is_refused_naming_the_variable_and_path_never_the_contents() {
        let tmp = tempfile::tempdir().unwrap();
        let e = Config::from_toml("", &env(&[("WAIAAS_ORACLE_COINGECKO_API_KEY_FILE", "/nonexistent/waiaas/key")])).unwrap_err();
        assert!(e.message.contains("WAIAAS_ORACLE_COINGECKO_API_KEY_FILE"), "{}", e.message);
        assert!(e.message.contains("/nonexistent/waiaas/key"), "{}", e.message);
        let e = Config::from_toml("", &env(&[("WAIAAS_ORACLE_COINGECKO_API_KEY_FILE", "")])).unwrap_err();
        assert!(e.message.contains("WAIAAS_ORACLE_COINGECKO_API_KEY_FILE") && e.message.contains("empty"), "{}", e.message);
        // A directory cannot be read as a file.
        let dir = tmp.path().to_path_buf();
        let e = Config::from_toml("", &env(&[("WAIAAS_DAEMON_HOSTNAME_FILE", dir.to_str().unwrap())])).unwrap_err();
        assert!(e.message.contains("WAIAAS_DAEMON_HOSTNAME_FILE") && e.message.contains(dir.to_str().unwrap()), "{}", e.message);
        // Contents of the wrong type: the key and path are named, the contents are not.
        let f = secret_file(&tmp, "badport", b"hunter2-not-a-port\n");
        let e = Config::from_toml("", &env(&[("WAIAAS_DAEMON_PORT_FILE", f.to_str().unwrap())])).unwrap_err();
        assert!(e.message.contains("WAIAAS_DAEMON_PORT_FILE") && e.message.contains("daemon.port"), "{}", e.message);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        let f = secret_file(&tmp, "binary", &[0xff, 0xfe, 0x00]);
        let e = Config::from_toml("", &env(&[("WAIAAS_DAEMON_HOSTNAME_FILE", f.to_str().unwrap())])).unwrap_err();
        assert!(e.message.contains("not UTF-8"), "{}", e.message);
    }

    #[test]
    fn file_references_are_not_followed_for_settings_from_the_api() {
        let tmp = tempfile::tempdir().unwrap();
        let f = secret_file(&tmp, "api", b"http://evil\n");
        // `rpc.x_file` through PUT /v1/admin/settings is a plain (odd) RPC key, never a file read.
        let c = Config::default().with_settings(&[("rpc.evm_ethereum_mainnet_file".into(), f.to_str().unwrap().into())]).unwrap();
        assert_eq!(c.rpc["evm_ethereum_mainnet_file"], f.to_str().unwrap());
        assert!(!c.rpc.contains_key("evm_ethereum_mainnet"));
    }

    #[test]
    fn the_master_password_file_is_left_to_the_daemon() {
        // Read by the daemon itself (never a config key): the loader does not open it.
        let l = Config::from_toml("", &env(&[("WAIAAS_MASTER_PASSWORD_FILE", "/nonexistent/pw")])).unwrap();
        assert!(!l.config.other.contains_key("master"));
    }

    #[test]
    fn every_variable_of_the_docker_env_example_is_a_real_setting() {
        let example = include_str!("../../docker/.env.example");
        // Read by the binary itself, or by Compose only.
        let not_config = ["WAIAAS_AUTO_PROVISION", "WAIAAS_ENV_FILE", "WAIAAS_IMAGE", "WAIAAS_HOST_PORT", "WAIAAS_CONTAINER_NAME"];
        let defaults = toml::Table::try_from(Config::default()).unwrap();
        let mut seen = 0;
        for line in example.lines() {
            let line = line.trim_start_matches(['#', ' ']);
            let Some((name, _)) = line.split_once('=') else { continue };
            if !name.starts_with("WAIAAS_") || name.contains(' ') || not_config.contains(&name) {
                continue;
            }
            let (section, key) = setting_of(name).unwrap_or_else(|| panic!("{name} is no WAIAAS_<SECTION>_<KEY>"));
            let key = key.strip_suffix("_file").filter(|_| !known_key(&defaults, &section, &key)).map(str::to_string).unwrap_or(key);
            let real = known_key(&defaults, &section, &key) || (section == "rpc" && crate::network::NETWORKS.iter().any(|n| n.rpc_key == key));
            assert!(real, "{name} in docker/.env.example sets no known setting ({section}.{key})");
            seen += 1;
        }
        assert!(seen >= 8, "read {seen} settings");
    }

    #[test]
    fn a_section_with_an_underscore_is_read_from_the_environment_and_settings() {
        assert_eq!(setting_of("WAIAAS_SIGNING_SDK_RELAY_DAEMON_TOKEN"), Some(("signing_sdk".into(), "relay_daemon_token".into())));
        assert_eq!(setting_of("WAIAAS_DAEMON_PORT"), Some(("daemon".into(), "port".into())));
        assert_eq!(setting_of("WAIAAS_SIGNING_SDK"), None);
        let env = [("WAIAAS_SIGNING_SDK_ENABLED".to_string(), "true".to_string()), ("WAIAAS_SIGNING_SDK_REQUEST_EXPIRY_MIN".into(), "5".into())];
        let c = Config::from_toml("", &env).unwrap().config;
        assert!(c.signing_sdk.enabled);
        assert_eq!(c.signing_sdk.request_expiry_min, 5);
        let c = c.with_settings(&[("signing_sdk.notifications_enabled".into(), "false".into())]).unwrap();
        assert!(!c.signing_sdk.notifications_enabled);
        assert!(Config::default().with_settings(&[("signing_sdk.preferred_channel".into(), "carrier_pigeon".into())]).is_err());
    }

    #[test]
    fn secret_settings_are_recognised_by_name() {
        for name in ["WAIAAS_ORACLE_COINGECKO_API_KEY", "WAIAAS_TELEGRAM_BOT_TOKEN", "WAIAAS_WALLETCONNECT_PROJECT_SECRET"] {
            assert!(is_secret_env(name), "{name}");
        }
        for name in [
            "WAIAAS_ORACLE_COINGECKO_API_KEY_FILE", // a path
            "WAIAAS_DAEMON_PORT",
            "WAIAAS_RPC_EVM_ETHEREUM_MAINNET",
            "WAIAAS_MASTER_PASSWORD", // the CLI's own, not a setting
            "WAIAAS_SESSION_TOKEN",   // MCP serve's, not a setting
            "PATH",
        ] {
            assert!(!is_secret_env(name), "{name}");
        }
    }
}
