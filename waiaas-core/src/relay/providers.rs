//! The push providers: FCM HTTP v1 (a service-account JWT signed RS256, exchanged at the
//! account's `token_uri` for an access token kept until shortly before it expires, then
//! `messages:send`) and Pushwoosh (`createMessage`). A call answering 5xx, or not reaching
//! the provider at all, is retried `max_retries` times after `retry_base_ms`, 2x, 4x; any
//! other answer (401/403 included) is final. A provider failure is a [`RelayError`] 502
//! naming the provider and the cause, never a panic; a token the provider calls unknown is
//! [`Delivery::InvalidToken`] (the relay then forgets the device).

use super::config::{FcmConfig, PushConfig, PushwooshConfig};
use super::message::{token_ref, Priority, PushMessage};
use super::RelayError;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};
use std::future::Future;
use std::time::{Duration, Instant};

/// What became of one push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// The provider does not know the token (app uninstalled, token rotated).
    InvalidToken,
}

/// The configured provider.
pub enum Provider {
    Fcm(Box<Fcm>),
    Pushwoosh(Pushwoosh),
}

#[derive(Debug, Clone, Copy)]
struct Retry {
    max_retries: u32,
    base: Duration,
}

/// One HTTP attempt: an answer to interpret, or a failure worth retrying.
enum Attempt {
    Answer(u16, Value),
    Retryable(String),
}

impl Provider {
    /// The provider `config` selects, ready to send (the FCM key is read and parsed here,
    /// so a bad key stops the relay at start).
    pub fn from_config(config: &PushConfig) -> Result<Provider, RelayError> {
        let retry = Retry { max_retries: config.max_retries, base: Duration::from_millis(config.retry_base_ms) };
        let timeout = Duration::from_secs(config.timeout_secs.max(1));
        let client = crate::http_client(timeout, timeout);
        match config.provider {
            super::config::ProviderKind::Fcm => {
                let f = config.fcm.as_ref().ok_or_else(|| RelayError::config("[relay.push.fcm] is missing"))?;
                Ok(Provider::Fcm(Box::new(Fcm::new(f, client, retry)?)))
            }
            super::config::ProviderKind::Pushwoosh => {
                let p = config.pushwoosh.as_ref().ok_or_else(|| RelayError::config("[relay.push.pushwoosh] is missing"))?;
                Ok(Provider::Pushwoosh(Pushwoosh { config: p.clone(), client, retry }))
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Provider::Fcm(_) => "fcm",
            Provider::Pushwoosh(_) => "pushwoosh",
        }
    }

    /// Push `message` to the device of `token`.
    pub async fn send(&self, token: &str, message: &PushMessage) -> Result<Delivery, RelayError> {
        match self {
            Provider::Fcm(f) => f.send(token, message).await,
            Provider::Pushwoosh(p) => p.send(token, message).await,
        }
    }
}

/// `f` until it answers, or fails for good: a retryable failure is tried again up to
/// `retry.max_retries` times, after `base`, `2 base`, `4 base`, ...
async fn with_retry<F, Fut>(retry: Retry, what: &str, mut f: F) -> Result<(u16, Value), RelayError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt>,
{
    let mut done = 0u32;
    loop {
        match f().await {
            Attempt::Answer(status, body) => return Ok((status, body)),
            Attempt::Retryable(why) if done >= retry.max_retries => {
                let after = if done == 0 { String::new() } else { format!(" (after {done} retries)") };
                return Err(RelayError::provider(format!("{what}: {why}{after}")));
            }
            Attempt::Retryable(why) => {
                let wait = retry.base.saturating_mul(1u32 << done.min(16));
                done += 1;
                tracing::warn!("{what}: {why}; retry {done}/{} in {} ms", retry.max_retries, wait.as_millis());
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// Send `request`; 5xx and transport failures are retryable, every other status an answer.
async fn attempt(request: reqwest::RequestBuilder) -> Attempt {
    match request.send().await {
        Err(e) => Attempt::Retryable(format!("not reachable ({})", crate::redact::http_error(e))),
        Ok(res) => {
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            if status >= 500 {
                let snippet: String = text.chars().take(200).collect();
                return Attempt::Retryable(format!("answered HTTP {status} {snippet}").trim_end().to_string());
            }
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            Attempt::Answer(status, body)
        }
    }
}

/// The text of a provider's error body, for a 502 message (at most 200 characters).
fn describe(body: &Value) -> String {
    let text = body
        .pointer("/error/message")
        .and_then(Value::as_str)
        .or_else(|| body.get("error_description").and_then(Value::as_str))
        .or_else(|| body.get("status_message").and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_else(|| match body {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    text.chars().take(200).collect()
}

// ---------------------------------------------------------------------------------------
// FCM HTTP v1

const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// An access token is used until this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(120);

pub struct Fcm {
    client: reqwest::Client,
    retry: Retry,
    send_url: String,
    client_email: String,
    token_uri: String,
    key: ring::signature::RsaKeyPair,
    cached: tokio::sync::Mutex<Option<(String, Instant)>>,
}

impl Fcm {
    fn new(config: &FcmConfig, client: reqwest::Client, retry: Retry) -> Result<Fcm, RelayError> {
        let path = &config.service_account_key_path;
        let text = std::fs::read_to_string(path).map_err(|e| RelayError::config(format!("cannot read the FCM service account key {path}: {e}")))?;
        let sa: Value = serde_json::from_str(&text).map_err(|e| RelayError::config(format!("{path} is not JSON: {e}")))?;
        let field = |k: &str| sa.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let client_email = field("client_email").ok_or_else(|| RelayError::config(format!("{path}: no client_email")))?;
        let pem = field("private_key").ok_or_else(|| RelayError::config(format!("{path}: no private_key")))?;
        let token_uri = field("token_uri").unwrap_or_else(|| GOOGLE_TOKEN_URI.to_string());
        let key = rsa_key(&pem).map_err(|why| RelayError::config(format!("{path}: private_key: {why}")))?;
        let send_url = format!("{}/v1/projects/{}/messages:send", config.api_base_url.trim_end_matches('/'), config.project_id);
        Ok(Fcm { client, retry, send_url, client_email, token_uri, key, cached: tokio::sync::Mutex::new(None) })
    }

    /// The signed assertion for the token endpoint.
    fn assertion(&self, now: i64) -> Result<String, RelayError> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = json!({ "iss": self.client_email, "scope": FCM_SCOPE, "aud": self.token_uri, "iat": now, "exp": now + 3600 });
        let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), input.as_bytes(), &mut sig)
            .map_err(|_| RelayError::internal("cannot sign the FCM assertion"))?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    async fn access_token(&self) -> Result<String, RelayError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let jwt = self.assertion(crate::now())?;
        let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", jwt.as_str())];
        let what = format!("FCM token endpoint {}", crate::redact::url(&self.token_uri));
        let (status, body) = with_retry(self.retry, &what, || attempt(self.client.post(&self.token_uri).form(&form))).await?;
        if !(200..300).contains(&status) {
            return Err(RelayError::provider(format!("{what} refused the service account: HTTP {status} {}", describe(&body))));
        }
        let token = body.get("access_token").and_then(Value::as_str).filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err(RelayError::provider(format!("{what} answered without an access_token")));
        };
        let lifetime = Duration::from_secs(body.get("expires_in").and_then(Value::as_u64).unwrap_or(3600));
        let keep = lifetime.saturating_sub(TOKEN_MARGIN).min(Duration::from_secs(58 * 60));
        *cached = Some((token.to_string(), Instant::now() + keep));
        Ok(token.to_string())
    }

    async fn send(&self, token: &str, m: &PushMessage) -> Result<Delivery, RelayError> {
        let access = self.access_token().await?;
        let (android, apns) = match m.priority {
            Priority::High => ("HIGH", "10"),
            Priority::Normal => ("NORMAL", "5"),
        };
        let body = json!({ "message": {
            "token": token,
            "notification": { "title": m.title, "body": m.body },
            "data": m.data,
            "android": { "priority": android },
            "apns": { "headers": { "apns-priority": apns } },
        }});
        let (status, answer) =
            with_retry(self.retry, "FCM messages:send", || attempt(self.client.post(&self.send_url).bearer_auth(&access).json(&body))).await?;
        let fcm_status = answer.pointer("/error/status").and_then(Value::as_str).unwrap_or("");
        let unregistered = answer
            .pointer("/error/details")
            .and_then(Value::as_array)
            .is_some_and(|d| d.iter().any(|x| x.get("errorCode").and_then(Value::as_str) == Some("UNREGISTERED")));
        match status {
            200..=299 => Ok(Delivery::Sent),
            404 => Ok(Delivery::InvalidToken),
            _ if matches!(fcm_status, "NOT_FOUND" | "UNREGISTERED") || unregistered => Ok(Delivery::InvalidToken),
            401 | 403 => {
                // A revoked or expired access token: the next push fetches a new one.
                *self.cached.lock().await = None;
                Err(RelayError::provider(format!("FCM refused the credentials: HTTP {status} {}", describe(&answer))))
            }
            _ => {
                tracing::warn!(device = %token_ref(token), "FCM refused a push: HTTP {status}");
                Err(RelayError::provider(format!("FCM refused the push: HTTP {status} {}", describe(&answer))))
            }
        }
    }
}

/// An RSA private key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`, what Google issues) or PKCS#1.
fn rsa_key(pem: &str) -> Result<ring::signature::RsaKeyPair, String> {
    let pkcs8 = pem.contains("BEGIN PRIVATE KEY");
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).flat_map(|l| l.trim().chars()).collect();
    let der = STANDARD.decode(b64.as_bytes()).map_err(|e| format!("not PEM: {e}"))?;
    let key = if pkcs8 { ring::signature::RsaKeyPair::from_pkcs8(&der) } else { ring::signature::RsaKeyPair::from_der(&der) };
    key.map_err(|e| format!("not an RSA private key ({e})"))
}

// ---------------------------------------------------------------------------------------
// Pushwoosh

pub struct Pushwoosh {
    config: PushwooshConfig,
    client: reqwest::Client,
    retry: Retry,
}

impl Pushwoosh {
    async fn send(&self, token: &str, m: &PushMessage) -> Result<Delivery, RelayError> {
        let priority = match m.priority {
            Priority::High => "high",
            Priority::Normal => "normal",
        };
        let mut notification = json!({ "send_date": "now", "content": m.body, "data": m.data });
        if let Value::Object(n) = &mut notification {
            n.extend(self.config.extra_fields.clone());
            n.insert("devices".into(), json!([token]));
            n.insert("ios_root_params".into(), json!({ "aps": { "alert": { "title": m.title, "body": m.body }, "sound": "default", "content-available": 1 } }));
            n.insert("android_root_params".into(), json!({ "title": m.title, "priority": priority }));
        }
        let body = json!({ "request": { "application": self.config.application_code, "auth": self.config.api_token, "notifications": [notification] } });
        let what = format!("Pushwoosh {}", crate::redact::url(&self.config.api_url));
        let (status, answer) = with_retry(self.retry, &what, || attempt(self.client.post(&self.config.api_url).json(&body))).await?;
        if status == 401 || status == 403 {
            return Err(RelayError::provider(format!("{what} refused the credentials: HTTP {status}")));
        }
        if !(200..300).contains(&status) {
            return Err(RelayError::provider(format!("{what} refused the push: HTTP {status} {}", describe(&answer))));
        }
        if answer.get("status_code").and_then(Value::as_i64) != Some(200) {
            return Err(RelayError::provider(format!("{what} API error: {}", describe(&answer))));
        }
        // `response.UnknownDevices: {<message code>: [tokens]}`: devices Pushwoosh does not know.
        let unknown = answer
            .pointer("/response/UnknownDevices")
            .and_then(Value::as_object)
            .is_some_and(|m| m.values().filter_map(Value::as_array).flatten().any(|t| t.as_str() == Some(token)));
        Ok(if unknown { Delivery::InvalidToken } else { Delivery::Sent })
    }
}
