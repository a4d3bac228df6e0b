//! Runtime settings (`GET/PUT /v1/admin/settings`): every config key, typed and range
//! checked (upstream stores any value it is given), persisted in the store and applied
//! over config.toml and the environment at the next start.
//!
//! A setting is named `section.key` (e.g. `security.rate_limit_tx_rpm`) and its value is a
//! string, converted like a `WAIAAS_SECTION_KEY` environment override. Values of secret keys
//! (API keys, tokens, passwords) are never shown, only whether they are set.
//!
//! [`Settings`] is the service: it holds the key/value rows where the settings are kept,
//! the running configuration, and the kill switch (settings freeze while it is LOCKED).

use crate::clock::Clock;
use crate::config::{is_secret, Config};
use crate::error::{Error, Result};
use crate::services::audit::Audit;
use crate::services::killswitch::KillSwitch;
use crate::store::KvStore;
use serde_json::{json, Map, Value};
use std::sync::Arc;

const KV_SETTINGS: &str = "admin_settings";

/// Inclusive ranges of the numeric settings that have more than a type.
pub const RANGES: &[(&str, f64, f64)] = &[
    ("daemon.port", 0.0, 65535.0),
    ("daemon.shutdown_timeout", 1.0, 600.0),
    ("daemon.header_read_timeout", 1.0, 600.0),
    ("daemon.body_read_timeout", 1.0, 3600.0),
    ("daemon.max_body_bytes", 1024.0, 67_108_864.0),
    ("daemon.admin_timeout", 60.0, 7200.0),
    ("security.max_sessions_per_wallet", 1.0, 1000.0),
    ("security.session_ttl_min", 60.0, 86_400.0),
    ("security.master_password_max_attempts", 1.0, 1000.0),
    ("security.master_password_lockout_seconds", 1.0, 86_400.0),
    ("security.rate_limit_global_ip_rpm", 0.0, 1_000_000.0),
    ("security.rate_limit_session_rpm", 0.0, 1_000_000.0),
    ("security.rate_limit_tx_rpm", 0.0, 100_000.0),
    ("security.autostop_consecutive_failures_threshold", 0.0, 1000.0),
    ("security.autostop_unusual_activity_threshold", 0.0, 100_000.0),
    ("security.autostop_unusual_activity_window_sec", 1.0, 86_400.0),
    ("security.autostop_idle_timeout_sec", 0.0, 2_592_000.0),
    ("security.nonce_ttl_sec", 30.0, 3600.0),
    ("security.owner_message_max_ttl_sec", 60.0, 86_400.0),
    ("security.delay_grace_after_start_sec", 0.0, 86_400.0),
    ("pipeline.transient_retry_sec", 0.0, 86_400.0),
    ("pipeline.max_in_flight", 1.0, 1_000_000.0),
    ("policy.default_instant_max_usd", 0.0, 1e12),
    ("policy.default_notify_max_usd", 0.0, 1e12),
    ("policy.default_delay_max_usd", 0.0, 1e12),
    ("policy.default_delay_seconds", 60.0, 86_400.0),
    ("policy.default_approval_timeout", 60.0, 604_800.0),
    ("oracle.cache_ttl_seconds", 1.0, 86_400.0),
    ("oracle.max_age_seconds", 1.0, 604_800.0),
    ("signing_sdk.request_expiry_min", 1.0, 10_080.0),
];

/// What a value of a free-table key is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    Int,
    Num,
    Text,
    /// A JSON array of strings.
    List,
}

/// `(key, kind, default, inclusive range)`.
type FreeKey = (&'static str, Kind, &'static str, Option<(f64, f64)>);

/// Keys of the sections [`Config`] keeps as free tables (`[notifications]`, `[telegram]`,
/// `[incoming]`, `[display]`): upstream's names, the kind, the default and the range. Their
/// readers (`ChannelsConfig`, `IncomingSettings`, the email channel) check the rest.
const FREE: &[FreeKey] = &[
    ("notifications.enabled", Kind::Bool, "false", None),
    ("notifications.telegram_bot_token", Kind::Text, "", None),
    ("notifications.telegram_chat_id", Kind::Text, "", None),
    ("notifications.discord_webhook_url", Kind::Text, "", None),
    ("notifications.slack_webhook_url", Kind::Text, "", None),
    ("notifications.locale", Kind::Text, "en", None),
    ("notifications.rate_limit_rpm", Kind::Int, "20", Some((1.0, 10_000.0))),
    ("notifications.notify_events", Kind::List, "[]", None),
    ("notifications.notify_categories", Kind::List, "[]", None),
    ("notifications.max_event_age_sec", Kind::Int, "86400", Some((1.0, 604_800.0))),
    ("notifications.retry_base_ms", Kind::Int, "1000", Some((1.0, 60_000.0))),
    ("notifications.smtp_host", Kind::Text, "", None),
    ("notifications.smtp_port", Kind::Int, "587", Some((1.0, 65_535.0))),
    ("notifications.smtp_security", Kind::Text, "starttls", None),
    ("notifications.smtp_username", Kind::Text, "", None),
    ("notifications.smtp_password", Kind::Text, "", None),
    ("notifications.smtp_from", Kind::Text, "", None),
    ("notifications.smtp_to", Kind::Text, "", None),
    ("telegram.bot_token", Kind::Text, "", None),
    ("telegram.api_base_url", Kind::Text, "", None),
    ("incoming.enabled", Kind::Bool, "false", None),
    ("incoming.poll_interval", Kind::Int, "30", Some((1.0, 3600.0))),
    ("incoming.confirmations", Kind::Int, "12", Some((1.0, 1000.0))),
    ("incoming.retention_days", Kind::Int, "90", Some((0.0, 36_500.0))),
    ("incoming.suspicious_dust_usd", Kind::Num, "0.01", Some((0.0, 1e12))),
    ("incoming.suspicious_amount_multiplier", Kind::Num, "10", Some((1.0, 1e6))),
    ("incoming.cooldown_minutes", Kind::Int, "5", Some((0.0, 10_080.0))),
    ("display.currency", Kind::Text, "USD", None),
];

/// Upstream's Admin Settings names of settings this daemon keeps under another name
/// (`autostop.*` and `monitoring.*` are `[security]` keys here, as in upstream's config.toml).
const ALIASES: &[(&str, &str)] = &[
    ("autostop.enabled", "security.autostop_enabled"),
    ("autostop.consecutive_failures_threshold", "security.autostop_consecutive_failures_threshold"),
    ("autostop.unusual_activity_threshold", "security.autostop_unusual_activity_threshold"),
    ("autostop.unusual_activity_window_sec", "security.autostop_unusual_activity_window_sec"),
    ("autostop.idle_timeout_sec", "security.autostop_idle_timeout_sec"),
    ("monitoring.enabled", "security.monitoring_enabled"),
    ("monitoring.check_interval_sec", "security.monitoring_check_interval_sec"),
    ("monitoring.low_balance_threshold_sol", "security.monitoring_low_balance_threshold_sol"),
    ("monitoring.low_balance_threshold_eth", "security.monitoring_low_balance_threshold_eth"),
    ("monitoring.cooldown_hours", "security.monitoring_cooldown_hours"),
    ("security.policy_defaults_delay_seconds", "policy.default_delay_seconds"),
    ("security.policy_defaults_approval_timeout", "policy.default_approval_timeout"),
];

/// Upstream setting categories of features this daemon does not have: refused by name.
const MISSING_FEATURES: &[(&str, &str)] = &[
    ("walletconnect", "WalletConnect"),
    ("gas_condition", "gas-conditional execution"),
    ("rpc_pool", "Admin Settings RPC pools (list several endpoints in rpc.<key>, comma separated)"),
    ("smart_account", "smart accounts (ERC-4337)"),
    ("erc8128", "ERC-8128 signed HTTP requests"),
    ("rpc_proxy", "the RPC proxy"),
];

/// The setting a name given over the API stands for: an upstream alias becomes ours
/// (`incoming.wss_url.<network>` is `incoming.wss_url_<network>`); anything else is itself.
fn canonical(key: &str) -> String {
    if let Some((_, ours)) = ALIASES.iter().find(|(up, _)| *up == key) {
        return (*ours).to_string();
    }
    if let Some(net) = key.strip_prefix("incoming.wss_url.") {
        return format!("incoming.wss_url_{}", net.replace('-', "_"));
    }
    key.to_string()
}

/// Check a setting's name (and, for free-table keys, its value's kind and range). `key` is
/// canonical; `field` names the value in errors.
fn check_setting(defaults: &toml::Table, i: usize, key: &str, value: &str) -> Result<()> {
    let field = format!("settings.{i}.value");
    let (section, name) = key.split_once('.').unwrap_or((key, ""));
    let fixed = defaults.get(section).and_then(|t| t.as_table()).is_some_and(|t| t.contains_key(name));
    let open = matches!(section, "rpc" | "prices" | "actions") || (section == "incoming" && name.starts_with("wss_url_"));
    let free = FREE.iter().find(|(k, ..)| *k == key);
    if !fixed && !open && free.is_none() {
        let why = match MISSING_FEATURES.iter().find(|(c, _)| *c == section) {
            Some((_, what)) => format!("'{key}' is a setting of {what}, which this daemon does not have: nothing was stored"),
            None => format!("unknown setting '{key}' (use section.key, e.g. security.rate_limit_tx_rpm; GET /v1/admin/settings/schema lists them)"),
        };
        return Err(Error::validation(&format!("settings.{i}.key"), why));
    }
    let range = range_of(key);
    let kind = free.map(|f| f.1);
    let v = value.trim();
    match kind {
        Some(Kind::Bool) if !matches!(v, "true" | "false") => return Err(Error::validation(&field, format!("{key} must be true or false"))),
        Some(Kind::Int) if v.parse::<i64>().is_err() => return Err(Error::validation(&field, format!("{key} must be a whole number"))),
        Some(Kind::List) if serde_json::from_str::<Vec<String>>(v).is_err() => {
            return Err(Error::validation(&field, format!("{key} must be a JSON array of strings")))
        }
        _ => {}
    }
    if key == "display.currency" && v != "USD" {
        return Err(Error::validation(&field, "display.currency: only USD (this daemon prices in USD and has no exchange rates)"));
    }
    if let Some((lo, hi)) = range {
        let n: f64 = v.parse().map_err(|_| Error::validation(&field, format!("{key} must be a number")))?;
        if !(n >= lo && n <= hi) {
            return Err(Error::validation(&field, format!("{key} must be within {lo}..={hi}")));
        }
    }
    Ok(())
}

/// The stored settings, oldest first.
async fn stored(store: &dyn KvStore) -> Result<Vec<(String, String)>> {
    Ok(match store.kv_get(KV_SETTINGS).await? {
        Some(s) => serde_json::from_str::<Map<String, Value>>(&s)
            .map_err(|e| Error::internal(format!("stored settings: {e}")))?
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
            .collect(),
        None => vec![],
    })
}

/// `config` with the stored settings applied (at start-up).
pub(crate) async fn apply_stored(store: &dyn KvStore, config: Config) -> Result<Config> {
    let s = stored(store).await?;
    if s.is_empty() {
        return Ok(config);
    }
    config.with_settings(&s)
}

/// `out[section][name]` of the setting `section.name`.
fn put(out: &mut Map<String, Value>, key: &str, value: Value) {
    let Some((section, name)) = key.split_once('.') else { return };
    if let Value::Object(sec) = out.entry(section.to_string()).or_insert_with(|| Value::Object(Map::new())) {
        sec.insert(name.to_string(), value);
    }
}

/// Upstream's alias names (`autostop.*`, ...) repeat what `out` holds for the settings they
/// name; with `mark`, each also says which (`alias`).
fn add_aliases(out: &mut Map<String, Value>, mark: bool) {
    for (alias, ours) in ALIASES {
        let (section, name) = ours.split_once('.').unwrap_or((ours, ""));
        let mut value = out.get(section).and_then(|s| s.get(name)).cloned().unwrap_or(Value::Null);
        if mark {
            value["alias"] = json!(ours);
        }
        put(out, alias, value);
    }
}

/// The inclusive range of a setting, if it has one.
fn range_of(key: &str) -> Option<(f64, f64)> {
    RANGES.iter().find(|(k, _, _)| *k == key).map(|(_, lo, hi)| (*lo, *hi)).or_else(|| FREE.iter().find(|f| f.0 == key).and_then(|f| f.3))
}

/// Settings by category, upstream's shape: numbers and strings as strings, booleans as
/// booleans, arrays as JSON text, secrets as `true` when set and `false` when not (never
/// their value). The free-table sections list every key (their defaults when unset), and
/// upstream's alias categories (`autostop`, `monitoring`) repeat the values they name.
fn view(config: &Config) -> Result<Value> {
    let table = toml::Table::try_from(config).map_err(Error::internal_from)?;
    let shown = |k: &str, v: &toml::Value| match v {
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::String(s) if is_secret(k) => Value::Bool(!s.is_empty()),
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::String(i.to_string()),
        toml::Value::Float(f) => Value::String(f.to_string()),
        other => Value::String(serde_json::to_string(&other).unwrap_or_default()),
    };
    let mut out = Map::new();
    for (section, v) in &table {
        let Some(t) = v.as_table() else { continue };
        let sec: Map<String, Value> = t.iter().map(|(k, v)| (k.clone(), shown(k, v))).collect();
        out.insert(section.clone(), Value::Object(sec));
    }
    for (key, kind, default, _) in FREE {
        let Some((section, name)) = key.split_once('.') else { continue };
        let raw = crate::config::setting(config, section, name);
        let raw = if raw.is_empty() { default.to_string() } else { raw };
        let value = match kind {
            Kind::Bool => Value::Bool(raw == "true"),
            _ if is_secret(name) => Value::Bool(!raw.is_empty()),
            _ => Value::String(raw),
        };
        put(&mut out, key, value);
    }
    add_aliases(&mut out, false);
    Ok(Value::Object(out))
}

/// `GET /v1/admin/settings/schema`: every setting by section, with its type (`boolean`,
/// `integer`, `number`, `string`, `array`, `map`), default, range where it has one, and
/// whether it is a secret (never shown). Drives the admin UI's settings page.
pub fn schema() -> Result<Value> {
    let entry = |key: &str, ty: &str, default: Value| {
        let secret = is_secret(key.split_once('.').map_or(key, |(_, name)| name));
        // A secret's default is never shown either.
        let default = if secret && default.is_string() { json!("") } else { default };
        let mut e = json!({"type": ty, "default": default, "secret": secret});
        if let Some((lo, hi)) = range_of(key) {
            e["min"] = json!(lo);
            e["max"] = json!(hi);
        }
        e
    };
    let defaults = toml::Table::try_from(Config::default()).map_err(Error::internal_from)?;
    let mut out = Map::new();
    for (section, v) in &defaults {
        let Some(t) = v.as_table() else { continue };
        let mut sec = Map::new();
        for (k, v) in t {
            let (ty, default) = match v {
                toml::Value::Boolean(b) => ("boolean", json!(b)),
                toml::Value::Integer(i) => ("integer", json!(i)),
                toml::Value::Float(f) => ("number", json!(f)),
                toml::Value::String(s) => ("string", json!(s)),
                toml::Value::Array(a) => ("array", serde_json::to_value(a).unwrap_or_default()),
                _ => ("map", json!({})),
            };
            sec.insert(k.clone(), entry(&format!("{section}.{k}"), ty, default));
        }
        out.insert(section.clone(), Value::Object(sec));
    }
    for (key, kind, default, _) in FREE {
        let (ty, default) = match kind {
            Kind::Bool => ("boolean", json!(*default == "true")),
            Kind::Int => ("integer", default.parse::<f64>().map(|n| json!(n)).unwrap_or(Value::Null)),
            Kind::Num => ("number", default.parse::<f64>().map(|n| json!(n)).unwrap_or(Value::Null)),
            Kind::Text => ("string", json!(default)),
            Kind::List => ("array", serde_json::from_str(default).unwrap_or(json!([]))),
        };
        put(&mut out, key, entry(key, ty, default));
    }
    // Upstream's names of settings kept here under another: the entry of the setting, plus `alias`.
    add_aliases(&mut out, true);
    // Open maps: any key (`rpc.evm_ethereum_sepolia`, `prices.eth`, `actions.lido_staking_enabled`).
    for (s, ty) in [("rpc", "string"), ("prices", "number"), ("actions", "string")] {
        out.insert(s.into(), json!({"*": {"type": ty, "default": null, "secret": false}}));
    }
    put(&mut out, "incoming.wss_url.*", json!({"type": "string", "default": "", "secret": false}));
    Ok(Value::Object(out))
}

/// The runtime settings service.
pub struct Settings {
    kv: Arc<dyn KvStore>,
    /// The configuration in effect (stored settings apply at the next start).
    config: Config,
    kill_switch: Arc<KillSwitch>,
    audit: Arc<Audit>,
    clock: Arc<dyn Clock>,
}

impl Settings {
    pub fn new(kv: Arc<dyn KvStore>, config: Config, kill_switch: Arc<KillSwitch>, audit: Arc<Audit>, clock: Arc<dyn Clock>) -> Settings {
        Settings { kv, config, kill_switch, audit, clock }
    }

    /// `GET /v1/admin/settings`: the settings in effect, and those that apply at the next start.
    pub async fn current(&self) -> Result<Value> {
        let pending = stored(self.kv.as_ref()).await?;
        let mut v = view(&self.config)?;
        if let Value::Object(m) = &mut v {
            let p: Map<String, Value> =
                pending.into_iter().map(|(k, val)| (k.clone(), if is_secret(&k) { Value::Bool(!val.is_empty()) } else { Value::String(val) })).collect();
            m.insert("pending".into(), Value::Object(p));
        }
        Ok(v)
    }

    /// `PUT /v1/admin/settings`: check every `(key, value)` (known key, type, range, and the
    /// resulting config as a whole), then store them all or none. Refused while the kill
    /// switch is LOCKED.
    pub async fn update(&self, settings: &[(String, String)]) -> Result<Value> {
        self.kill_switch.ensure_not_escalated("changing the settings").await?;
        if settings.is_empty() {
            return Err(Error::validation("settings", "must contain at least one {key, value}"));
        }
        let defaults = toml::Table::try_from(Config::default()).map_err(Error::internal_from)?;
        // Upstream's names become ours, so that one setting has one stored value.
        let settings: Vec<(String, String)> = settings.iter().map(|(k, v)| (canonical(k), v.clone())).collect();
        for (i, (key, value)) in settings.iter().enumerate() {
            check_setting(&defaults, i, key, value)?;
        }
        let mut merged = stored(self.kv.as_ref()).await?;
        for (k, v) in &settings {
            merged.retain(|(mk, _)| mk != k);
            merged.push((k.clone(), v.clone()));
        }
        // Type and cross-field checks: the running config with every stored setting must load.
        let next = self.config.with_settings(&merged).map_err(|e| Error::validation("settings", e.message))?;
        let obj: Map<String, Value> = merged.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        self.kv.kv_set(KV_SETTINGS, &Value::Object(obj).to_string(), self.clock.now()).await?;
        let keys: Vec<&str> = settings.iter().map(|(k, _)| k.as_str()).collect();
        self.audit.record("SETTINGS_UPDATED", "master", None, None, Some(json!({"keys": keys})), "info", None).await;
        Ok(json!({"updated": settings.len(), "settings": view(&next)?, "restartRequired": true}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> toml::Table {
        toml::Table::try_from(Config::default()).unwrap()
    }

    #[test]
    fn upstream_names_map_to_ours_and_missing_features_are_refused_by_name() {
        assert_eq!(canonical("autostop.enabled"), "security.autostop_enabled");
        assert_eq!(canonical("security.policy_defaults_delay_seconds"), "policy.default_delay_seconds");
        assert_eq!(canonical("incoming.wss_url.ethereum-sepolia"), "incoming.wss_url_ethereum_sepolia");
        assert_eq!(canonical("notifications.enabled"), "notifications.enabled");
        let d = defaults();
        for (key, value) in [
            ("notifications.enabled", "true"),
            ("notifications.notify_events", r#"["TX_CONFIRMED"]"#),
            ("incoming.poll_interval", "10"),
            ("display.currency", "USD"),
            ("security.autostop_enabled", "false"),
            ("incoming.wss_url_ethereum_sepolia", "wss://x"),
        ] {
            check_setting(&d, 0, key, value).unwrap_or_else(|e| panic!("{key}: {e:?}"));
        }
        let refused = |key: &str, value: &str| check_setting(&d, 0, key, value).unwrap_err().message;
        assert!(refused("walletconnect.project_id", "x").contains("WalletConnect, which this daemon does not have"));
        assert!(refused("security.session_ttl", "60").contains("unknown setting"));
        assert!(refused("notifications.enabled", "yes").contains("true or false"));
        assert!(refused("incoming.poll_interval", "0").contains("1..=3600"));
        assert!(refused("notifications.notify_events", "TX_CONFIRMED").contains("JSON array"));
        assert!(refused("display.currency", "EUR").contains("only USD"));
    }

    #[test]
    fn the_view_has_upstream_categories_and_never_a_secret() {
        let mut c = Config::default();
        c.oracle.coingecko_api_key = "cg-secret".into();
        let c = c.with_settings(&[("notifications.discord_webhook_url".into(), "https://discord.example/hook".into())]).unwrap();
        let v = view(&c).unwrap();
        assert_eq!(v["oracle"]["coingecko_api_key"], json!(true));
        assert_eq!(v["notifications"]["discord_webhook_url"], json!(true));
        assert_eq!(v["notifications"]["slack_webhook_url"], json!(false));
        assert_eq!(v["notifications"]["enabled"], json!(false));
        assert_eq!(v["display"]["currency"], json!("USD"));
        assert_eq!(v["autostop"]["enabled"], v["security"]["autostop_enabled"]);
        assert_eq!(v["monitoring"]["cooldown_hours"], v["security"]["monitoring_cooldown_hours"]);
        let text = v.to_string();
        assert!(!text.contains("cg-secret") && !text.contains("discord.example"), "{text}");
        let schema = schema().unwrap();
        assert_eq!(schema["notifications"]["telegram_bot_token"]["secret"], json!(true));
        assert_eq!(schema["autostop"]["enabled"]["alias"], json!("security.autostop_enabled"));
        assert_eq!(schema["daemon"]["admin_timeout"]["min"], json!(60.0));
    }
}
