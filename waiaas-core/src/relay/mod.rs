//! The push relay (upstream `@waiaas/push-relay`), wire-compatible and hardened: the device
//! registry, push fan-out through FCM or Pushwoosh, and the sign-response mailbox the
//! daemon long-polls. The `waiaas-relay` binary only translates HTTP to a [`Relay`].
//!
//! The relay never sees key material and never opens the daemon's store: it has its own
//! SQLite file ([`store::RelayStore`]). Hardening over upstream: 128-bit subscription tokens,
//! constant-time key checks, per-IP rate limits, first-write-wins sign responses (a later
//! post for the same request is a 409, even after the daemon read the first), an optional
//! daemon key on `/v1/push` and the long poll, push tokens logged only as [`token_ref`]s,
//! provider failures answered as 502, every input validated ([`validate`]).

pub mod config;
mod error;
pub mod message;
pub mod providers;
pub mod store;
pub mod validate;

pub use config::RelayConfig;
pub use error::RelayError;
pub use message::{token_ref, PushMessage};

use providers::{Delivery, Provider};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use store::{Device, RelayStore, Stored};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

/// How often the long poll looks at the store when no post woke it (upstream: every second).
const POLL_EVERY: Duration = Duration::from_secs(1);
/// How often expired sign responses are deleted.
const CLEANUP_EVERY: Duration = Duration::from_secs(60);

/// The relay: configuration, store, provider, limits.
pub struct Relay {
    config: RelayConfig,
    store: RelayStore,
    provider: Provider,
    limiter: crate::ratelimit::RateLimiter,
    api_key: [u8; 32],
    daemon_key: Option<[u8; 32]>,
    /// Woken by every stored sign response (the long polls look again at once).
    answered: tokio::sync::Notify,
    /// True once the relay is shutting down: long polls answer 204 at once.
    stopping: tokio::sync::watch::Sender<bool>,
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// Constant-time comparison of a presented key with the expected key's digest (both sides
/// hashed, so neither content nor length leaks through timing).
fn key_matches(given: Option<&str>, expected: &[u8; 32]) -> bool {
    given.is_some_and(|g| bool::from(digest(g).ct_eq(expected)))
}

/// A fresh subscription token: 128 random bits as 32 hex characters (upstream: 32 bits).
fn new_subscription_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

impl Relay {
    /// Open the relay's store at `db` and build its provider (a bad provider key fails here).
    pub fn open(config: RelayConfig, db: &Path) -> Result<Arc<Relay>, RelayError> {
        let store = RelayStore::open(db)?;
        let provider = Provider::from_config(&config.push)?;
        let limiter = crate::ratelimit::RateLimiter::new(config.server.rate_limit_per_minute);
        let api_key = digest(&config.server.api_key);
        let daemon_key = config.server.daemon_api_key.as_deref().map(digest);
        let (stopping, _) = tokio::sync::watch::channel(false);
        Ok(Arc::new(Relay { config, store, provider, limiter, api_key, daemon_key, answered: tokio::sync::Notify::new(), stopping }))
    }

    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// Count a request from `peer` (or, behind a trusted proxy, the address it forwarded);
    /// 429 with the seconds to wait once over `rate_limit_per_minute`.
    pub fn admit(&self, peer: std::net::IpAddr, forwarded_for: Option<&str>) -> Result<(), RelayError> {
        let ip = crate::ratelimit::client_ip(peer, forwarded_for, &self.config.server.trusted_proxies);
        self.limiter.check(&ip).map_err(|retry_after| {
            // Debug: a flood must not turn into a flood of log lines.
            tracing::debug!(client = %ip, "rate limit exceeded");
            RelayError::rate_limited(retry_after)
        })
    }

    /// The wallet apps' `X-API-Key`.
    pub fn check_api_key(&self, given: Option<&str>) -> Result<(), RelayError> {
        if key_matches(given, &self.api_key) {
            Ok(())
        } else {
            Err(RelayError::unauthorized())
        }
    }

    /// `Authorization: Bearer <daemon_api_key>` on the daemon's routes, when a key is configured.
    pub fn check_daemon_key(&self, authorization: Option<&str>) -> Result<(), RelayError> {
        let Some(expected) = &self.daemon_key else { return Ok(()) };
        let token = authorization.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))).map(str::trim);
        if key_matches(token, expected) {
            Ok(())
        } else {
            Err(RelayError::unauthorized())
        }
    }

    /// `POST /devices`: register (or update) a device; 201 body.
    pub fn register(&self, body: &Value) -> Result<Value, RelayError> {
        let r = validate::register(body)?;
        let device = Device { push_token: r.push_token, wallet_name: r.wallet_name, platform: r.platform };
        let token = self.store.upsert_device(&device, &new_subscription_token(), crate::now())?;
        tracing::info!(device = %token_ref(&device.push_token), platform = %device.platform, wallet = %device.wallet_name, "device registered");
        Ok(json!({ "status": "registered", "subscription_token": token }))
    }

    /// `GET /devices/{pushToken}/subscription-token`.
    pub fn subscription_token(&self, push_token: &str) -> Result<Value, RelayError> {
        validate::push_token_param(push_token)?;
        match self.store.subscription_token(push_token)? {
            // `null` for a device from an upstream file registered before tokens existed (as upstream).
            Some(t) => Ok(json!({ "subscription_token": t })),
            None => Err(RelayError::not_found("Device not found")),
        }
    }

    /// `DELETE /devices/{pushToken}`.
    pub fn unregister(&self, push_token: &str) -> Result<(), RelayError> {
        validate::push_token_param(push_token)?;
        if !self.store.delete_device(push_token)? {
            return Err(RelayError::not_found("Token not found"));
        }
        tracing::info!(device = %token_ref(push_token), "device unregistered");
        Ok(())
    }

    /// `POST /v1/push`: the push to the device of the subscription token; a device the
    /// provider calls unknown is removed (`sent: 0, failed: 1`).
    pub async fn push(&self, body: &Value) -> Result<Value, RelayError> {
        let r = validate::push(body)?;
        let Some(device) = self.store.device_by_subscription(&r.subscription_token)? else {
            tracing::info!(subscription = %token_ref(&r.subscription_token), "push for an unknown subscription token");
            return Err(RelayError::not_found("Device not found for subscription token"));
        };
        let message = PushMessage::build(&r.category, &r.payload, &self.config.push.payload);
        let device_ref = token_ref(&device.push_token);
        match self.provider.send(&device.push_token, &message).await {
            Ok(Delivery::Sent) => {
                tracing::info!(device = %device_ref, category = %r.category, provider = self.provider.name(), "push sent");
                Ok(json!({ "status": "sent", "sent": 1, "failed": 0 }))
            }
            Ok(Delivery::InvalidToken) => {
                self.store.remove_tokens(std::slice::from_ref(&device.push_token))?;
                tracing::info!(device = %device_ref, provider = self.provider.name(), "the provider does not know this device: removed");
                Ok(json!({ "status": "sent", "sent": 0, "failed": 1 }))
            }
            Err(e) => {
                // A provider's error text could quote the token: never let it through.
                let why = e.message.replace(&device.push_token, &device_ref);
                tracing::warn!(device = %device_ref, provider = self.provider.name(), "push failed: {why}");
                Err(RelayError::provider(format!("push provider {} failed: {why}", self.provider.name())))
            }
        }
    }

    /// `POST /v1/sign-response`: store the owner's answer, once (409 for any later post).
    pub fn store_response(&self, body: &Value) -> Result<Value, RelayError> {
        let r = validate::sign_response(body)?;
        let mut response = json!({ "version": "1", "requestId": r.request_id, "action": r.action });
        if let Some(sig) = &r.signature {
            response["signature"] = json!(sig);
        }
        response["signerAddress"] = json!(r.signer_address);
        response["signedAt"] = json!(crate::clock::iso_now());
        match self.store.store_response(&r.request_id, &response.to_string(), crate::now(), self.config.server.sign_response_ttl_secs)? {
            Stored::Stored => {
                tracing::info!(request_id = %r.request_id, action = %r.action, "sign response stored");
                self.answered.notify_waiters();
                Ok(json!({ "status": "stored", "requestId": r.request_id }))
            }
            Stored::AlreadyAnswered => {
                tracing::warn!(request_id = %r.request_id, action = %r.action, "a second sign response for the same request refused");
                Err(RelayError::conflict("A sign response for this requestId was already received"))
            }
        }
    }

    /// `GET /v1/sign-response/{requestId}?timeout=N`: the response (read once), or `None`
    /// after the timeout (or at once when the relay is stopping).
    pub async fn wait_response(&self, request_id: &str, timeout: Option<&str>) -> Result<Option<Value>, RelayError> {
        validate::request_id_param(request_id)?;
        let deadline = Instant::now() + Duration::from_secs(validate::poll_timeout(timeout));
        let mut stopping = self.stopping.subscribe();
        loop {
            // Registered before the look, so a post between the look and the wait wakes it.
            let woken = self.answered.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if let Some(text) = self.store.take_response(request_id, crate::now())? {
                tracing::info!(request_id = %request_id, "sign response delivered");
                return serde_json::from_str(&text).map(Some).map_err(|_| RelayError::internal("a stored sign response is not JSON"));
            }
            let now = Instant::now();
            if now >= deadline || *stopping.borrow() {
                return Ok(None);
            }
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep_until(deadline.min(now + POLL_EVERY)) => {}
                _ = stopping.changed() => {}
            }
        }
    }

    /// `GET /health`.
    pub fn health(&self) -> Result<Value, RelayError> {
        Ok(json!({
            "status": "ok",
            "version": crate::VERSION,
            "push": { "provider": self.provider.name(), "configured": true },
            "devices": self.store.device_count()?,
            "sign_responses": self.store.pending_responses(crate::now())?,
        }))
    }

    /// Delete expired sign responses every minute until [`Relay::shutdown`].
    pub fn start_cleanup(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let relay = self.clone();
        let mut stopping = self.stopping.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(CLEANUP_EVERY) => {}
                    _ = stopping.changed() => return,
                }
                match relay.store.cleanup(crate::now()) {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!("{n} expired sign responses deleted"),
                    Err(e) => tracing::warn!("sign response cleanup failed: {e}"),
                }
            }
        })
    }

    /// Stop: pending long polls answer 204 now, the cleanup task ends.
    pub fn shutdown(&self) {
        self.stopping.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keys_and_time() {
        let t = new_subscription_token();
        assert_eq!(t.len(), 32);
        assert!(t.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(t, new_subscription_token());
        let k = digest("secret");
        assert!(key_matches(Some("secret"), &k));
        assert!(!key_matches(Some("secreT"), &k));
        assert!(!key_matches(None, &k));
        let iso = crate::clock::iso_now();
        assert_eq!(iso.len(), 24, "{iso}");
        assert!(iso.ends_with('Z') && iso.as_bytes()[10] == b'T');
    }
}
