//! The relay's configuration: upstream's `config.toml` (`[relay.server]`, `[relay.push]`,
//! `[relay.push.pushwoosh|fcm]`, `[relay.push.payload]`) plus our hardening keys, all
//! optional. Keys upstream left stale in its example (`ntfy_server`, `*_topic_prefix`,
//! `wallet_names`) are ignored, as upstream does. Environment overrides: `RELAY_API_KEY`,
//! `RELAY_DAEMON_API_KEY` (each also as `<NAME>_FILE=/path`: the key is that file's contents
//! with one trailing line ending removed, for Docker secrets; setting both is an error, and
//! errors name the variable and the path, never the contents) and `RELAY_HOST` (the listen
//! address, `relay.server.host`; the container image sets `0.0.0.0`).

use super::RelayError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The whole file: everything sits under `[relay]`.
#[derive(Debug, Clone, Deserialize)]
struct File {
    relay: RelayConfig,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RelayConfig {
    pub server: ServerConfig,
    pub push: PushConfig,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerConfig {
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default = "default_host")]
    pub host: String,
    /// The key wallet apps send as `X-API-Key` (embedded in the apps: effectively public).
    #[serde(default)]
    pub api_key: String,
    /// When set, `POST /v1/push` and the long poll need `Authorization: Bearer <key>`
    /// (our daemon sends it; upstream daemons do not, hence off by default).
    #[serde(default, alias = "daemon_key")]
    pub daemon_api_key: Option<String>,
    /// Requests per minute per client IP on every route (0: no limit).
    #[serde(default = "default_rate_limit")]
    pub rate_limit_per_minute: u32,
    /// Peers whose `X-Forwarded-For` is believed (a reverse proxy in front of the relay).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Largest request body, in bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Seconds a client has to send its request headers (and an idle keep-alive connection
    /// stays open); a slow-trickling client is disconnected after it.
    #[serde(default = "default_read_timeout")]
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send its request body.
    #[serde(default = "default_read_timeout")]
    pub body_read_timeout_secs: u64,
    /// Seconds a stored sign response waits for the daemon's read (upstream: 300).
    #[serde(default = "default_response_ttl")]
    pub sign_response_ttl_secs: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Pushwoosh,
    Fcm,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Pushwoosh => "pushwoosh",
            ProviderKind::Fcm => "fcm",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PushConfig {
    pub provider: ProviderKind,
    #[serde(default)]
    pub pushwoosh: Option<PushwooshConfig>,
    #[serde(default)]
    pub fcm: Option<FcmConfig>,
    #[serde(default)]
    pub payload: PayloadConfig,
    /// Retries of a provider call answering 5xx (or not reachable), after waits of
    /// `retry_base_ms`, twice that, four times that (upstream: 3 retries at 1/2/4 s).
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    #[serde(default = "default_retry_base_ms")]
    pub retry_base_ms: u64,
    /// Timeout of one provider HTTP call, in seconds.
    #[serde(default = "default_provider_timeout")]
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PushwooshConfig {
    #[serde(default)]
    pub api_token: String,
    #[serde(default)]
    pub application_code: String,
    #[serde(default = "default_pushwoosh_url")]
    pub api_url: String,
    /// Merged into the notification object (before `devices` and the root params).
    #[serde(default)]
    pub extra_fields: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FcmConfig {
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub service_account_key_path: String,
    /// `https://fcm.googleapis.com` unless set (tests point it at a local fake).
    #[serde(default = "default_fcm_base")]
    pub api_base_url: String,
}

/// `data = {...static_fields, ...category_map[category], ...original}` (the original wins).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PayloadConfig {
    #[serde(default)]
    pub static_fields: BTreeMap<String, String>,
    #[serde(default)]
    pub category_map: BTreeMap<String, BTreeMap<String, String>>,
}

fn default_port() -> u16 {
    3200
}
fn default_host() -> String {
    "0.0.0.0".into()
}
fn default_rate_limit() -> u32 {
    600
}
fn default_max_body() -> usize {
    64 * 1024
}
fn default_read_timeout() -> u64 {
    10
}
fn default_response_ttl() -> i64 {
    300
}
fn default_retries() -> u32 {
    3
}
fn default_retry_base_ms() -> u64 {
    1000
}
fn default_provider_timeout() -> u64 {
    10
}
fn default_pushwoosh_url() -> String {
    "https://api.pushwoosh.com/json/1.3/createMessage".into()
}
fn default_fcm_base() -> String {
    "https://fcm.googleapis.com".into()
}

impl RelayConfig {
    /// Read and validate `path`, then apply the environment overrides.
    pub fn load(path: &Path) -> Result<RelayConfig, RelayError> {
        let text = std::fs::read_to_string(path).map_err(|e| RelayError::config(format!("cannot read {}: {e}", path.display())))?;
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        RelayConfig::parse(&text, env)
    }

    /// Parse `text` with `env` as the environment (`RELAY_API_KEY`, `RELAY_DAEMON_API_KEY`,
    /// their `_FILE` forms, `RELAY_HOST`).
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<RelayConfig, RelayError> {
        let file: File = toml::from_str(text).map_err(|e| RelayError::config(format!("invalid config: {e}")))?;
        let mut c = file.relay;
        if let Some(k) = secret_from_env(&env, "RELAY_API_KEY")? {
            c.server.api_key = k;
        }
        if let Some(k) = secret_from_env(&env, "RELAY_DAEMON_API_KEY")? {
            c.server.daemon_api_key = Some(k);
        }
        if let Some(h) = env("RELAY_HOST") {
            c.server.host = h;
        }
        c.server.daemon_api_key = c.server.daemon_api_key.filter(|k| !k.is_empty());
        c.validate()?;
        Ok(c)
    }

    fn validate(&self) -> Result<(), RelayError> {
        if self.server.api_key.is_empty() {
            return Err(RelayError::config("relay.server.api_key is required (or RELAY_API_KEY)"));
        }
        if self.server.sign_response_ttl_secs < 1 {
            return Err(RelayError::config("relay.server.sign_response_ttl_secs must be at least 1"));
        }
        match self.push.provider {
            ProviderKind::Pushwoosh => {
                let p =
                    self.push.pushwoosh.as_ref().ok_or_else(|| RelayError::config("relay.push.provider is pushwoosh but [relay.push.pushwoosh] is missing"))?;
                if p.api_token.is_empty() || p.application_code.is_empty() {
                    return Err(RelayError::config("relay.push.pushwoosh needs api_token and application_code"));
                }
                check_url("relay.push.pushwoosh.api_url", &p.api_url)?;
            }
            ProviderKind::Fcm => {
                let f = self.push.fcm.as_ref().ok_or_else(|| RelayError::config("relay.push.provider is fcm but [relay.push.fcm] is missing"))?;
                if f.project_id.is_empty() || f.service_account_key_path.is_empty() {
                    return Err(RelayError::config("relay.push.fcm needs project_id and service_account_key_path"));
                }
                check_url("relay.push.fcm.api_base_url", &f.api_base_url)?;
            }
        }
        Ok(())
    }
}

/// `var` itself, or the contents of the file `<var>_FILE` names (one trailing line ending
/// removed); both set is an error. Errors name the variable and the path, never the contents.
fn secret_from_env(env: &impl Fn(&str) -> Option<String>, var: &str) -> Result<Option<String>, RelayError> {
    let file_var = format!("{var}_FILE");
    match (env(var), env(&file_var)) {
        (Some(_), Some(_)) => Err(RelayError::config(format!("both {var} and {file_var} are set: set only one of them"))),
        (Some(v), None) => Ok(Some(v)),
        (None, None) => Ok(None),
        (None, Some(path)) => {
            let bytes = std::fs::read(&path).map_err(|e| RelayError::config(format!("{file_var}: cannot read {path}: {e}")))?;
            let mut text = String::from_utf8(bytes).map_err(|_| RelayError::config(format!("{file_var}: {path} is not UTF-8 text")))?;
            if text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            Ok(Some(text))
        }
    }
}

fn check_url(key: &str, raw: &str) -> Result<(), RelayError> {
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        _ => Err(RelayError::config(format!("{key} is not an http(s) URL"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUSHWOOSH: &str = r#"
[relay.server]
port = 3300
api_key = "k"
ntfy_server = "https://ntfy.sh"   # stale upstream key: ignored
[relay.push]
provider = "pushwoosh"
[relay.push.pushwoosh]
api_token = "t"
application_code = "A-B"
[relay.push.pushwoosh.extra_fields]
ios_badges = 1
[relay.push.payload.static_fields]
app = "dcent"
[relay.push.payload.category_map.sign_request]
sound = "alert"
"#;

    #[test]
    fn upstream_shape_with_defaults_and_env() {
        let c = RelayConfig::parse(PUSHWOOSH, |_| None).unwrap();
        assert_eq!(c.server.port, 3300);
        assert_eq!(c.server.host, "0.0.0.0");
        assert!(c.server.daemon_api_key.is_none());
        let p = c.push.pushwoosh.unwrap();
        assert_eq!(p.api_url, "https://api.pushwoosh.com/json/1.3/createMessage");
        assert_eq!(p.extra_fields["ios_badges"], 1);
        assert_eq!(c.push.payload.category_map["sign_request"]["sound"], "alert");
        let c = RelayConfig::parse(PUSHWOOSH, |k| (k == "RELAY_DAEMON_API_KEY").then(|| "d".to_string())).unwrap();
        assert_eq!(c.server.daemon_api_key.as_deref(), Some("d"));
    }

    #[test]
    fn keys_from_files_and_host_from_env() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("api_key");
        std::fs::write(&key, "from-file\n").unwrap();
        let daemon = dir.path().join("daemon_key");
        std::fs::write(&daemon, "daemon-from-file\r\n").unwrap();
        let (key_s, daemon_s) = (key.to_str().unwrap().to_string(), daemon.to_str().unwrap().to_string());
        let env = |vars: Vec<(&'static str, String)>| move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        let c = RelayConfig::parse(
            PUSHWOOSH,
            env(vec![("RELAY_API_KEY_FILE", key_s.clone()), ("RELAY_DAEMON_API_KEY_FILE", daemon_s.clone()), ("RELAY_HOST", "127.0.0.1".into())]),
        )
        .unwrap();
        assert_eq!(c.server.api_key, "from-file");
        assert_eq!(c.server.daemon_api_key.as_deref(), Some("daemon-from-file"));
        assert_eq!(c.server.host, "127.0.0.1");
        // The file alone is enough: no api_key in the config.
        let c = RelayConfig::parse(&PUSHWOOSH.replace("api_key = \"k\"", ""), env(vec![("RELAY_API_KEY_FILE", key_s.clone())])).unwrap();
        assert_eq!(c.server.api_key, "from-file");
        // Both forms set: refused, naming both.
        let e = RelayConfig::parse(PUSHWOOSH, env(vec![("RELAY_API_KEY", "inline".into()), ("RELAY_API_KEY_FILE", key_s)])).unwrap_err();
        assert!(e.message.contains("RELAY_API_KEY and RELAY_API_KEY_FILE") && !e.message.contains("from-file"), "{}", e.message);
        // An unreadable file: the variable and the path, never contents.
        let missing = dir.path().join("missing").to_str().unwrap().to_string();
        let e = RelayConfig::parse(PUSHWOOSH, env(vec![("RELAY_DAEMON_API_KEY_FILE", missing.clone())])).unwrap_err();
        assert!(e.message.contains("RELAY_DAEMON_API_KEY_FILE") && e.message.contains(&missing), "{}", e.message);
    }

    #[test]
    fn missing_pieces_are_refused() {
        assert!(RelayConfig::parse(&PUSHWOOSH.replace("api_key = \"k\"", ""), |_| None).is_err());
        assert!(RelayConfig::parse(&PUSHWOOSH.replace("provider = \"pushwoosh\"", "provider = \"fcm\""), |_| None).is_err());
        assert!(RelayConfig::parse(&PUSHWOOSH.replace("provider = \"pushwoosh\"", "provider = \"ntfy\""), |_| None).is_err());
    }
}
