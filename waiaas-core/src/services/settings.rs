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

/// Settings by section: numbers and strings as strings, booleans as booleans, arrays as JSON
/// text, secrets as `"********"` (or `""` when unset).
fn view(config: &Config) -> Result<Value> {
    let table = toml::Table::try_from(config).map_err(Error::internal_from)?;
    let mut out = Map::new();
    for (section, v) in table {
        let Some(t) = v.as_table() else { continue };
        let mut sec = Map::new();
        for (k, v) in t {
            let shown = match v {
                toml::Value::Boolean(b) => Value::Bool(*b),
                toml::Value::String(s) if is_secret(k) => Value::String(if s.is_empty() { String::new() } else { "********".into() }),
                toml::Value::String(s) => Value::String(s.clone()),
                toml::Value::Integer(i) => Value::String(i.to_string()),
                toml::Value::Float(f) => Value::String(f.to_string()),
                other => Value::String(serde_json::to_string(&other).unwrap_or_default()),
            };
            sec.insert(k.clone(), shown);
        }
        out.insert(section, Value::Object(sec));
    }
    Ok(Value::Object(out))
}

/// `GET /v1/admin/settings/schema`: every setting by section, with its type (`boolean`,
/// `integer`, `number`, `string`, `array`, `map`), default, range where it has one, and
/// whether it is a secret (never shown). Drives the admin UI's settings page.
pub fn schema() -> Result<Value> {
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
                toml::Value::String(s) => ("string", json!(if is_secret(k) { "" } else { s.as_str() })),
                toml::Value::Array(a) => ("array", serde_json::to_value(a).unwrap_or_default()),
                _ => ("map", json!({})),
            };
            let mut e = json!({"type": ty, "default": default, "secret": is_secret(k)});
            if let Some((_, lo, hi)) = RANGES.iter().find(|(key, _, _)| key.split_once('.') == Some((section.as_str(), k.as_str()))) {
                e["min"] = json!(lo);
                e["max"] = json!(hi);
            }
            sec.insert(k.clone(), e);
        }
        out.insert(section.clone(), Value::Object(sec));
    }
    // Open maps: any key (`rpc.evm_ethereum_sepolia`, `prices.eth`, `actions.lido_staking_enabled`).
    for (s, ty) in [("rpc", "string"), ("prices", "number"), ("actions", "string")] {
        out.insert(s.into(), json!({"*": {"type": ty, "default": null, "secret": false}}));
    }
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
                pending.into_iter().map(|(k, val)| (k.clone(), Value::String(if is_secret(&k) { "********".into() } else { val }))).collect();
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
        for (i, (key, value)) in settings.iter().enumerate() {
            let field = format!("settings.{i}.value");
            let known = key.split_once('.').is_some_and(|(s, k)| {
                defaults.get(s).and_then(|t| t.as_table()).is_some_and(|t| t.contains_key(k)) || matches!(s, "rpc" | "prices" | "actions")
            });
            if !known {
                return Err(Error::validation(
                    &format!("settings.{i}.key"),
                    format!("unknown setting '{key}' (use section.key, e.g. security.rate_limit_tx_rpm)"),
                ));
            }
            if let Some((_, lo, hi)) = RANGES.iter().find(|(k, _, _)| k == key) {
                let n: f64 = value.trim().parse().map_err(|_| Error::validation(&field, format!("{key} must be a number")))?;
                if !(n >= *lo && n <= *hi) {
                    return Err(Error::validation(&field, format!("{key} must be within {lo}..={hi}")));
                }
            }
        }
        let mut merged = stored(self.kv.as_ref()).await?;
        for (k, v) in settings {
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
