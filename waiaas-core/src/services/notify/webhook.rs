//! Outgoing webhooks: `POST <url>` with the event as JSON, signed like upstream:
//! `X-WAIaaS-Signature: sha256=<hex HMAC-SHA256(secret, body)>`, plus `X-WAIaaS-Event`,
//! `X-WAIaaS-Delivery` (stable per webhook and event, for de-duplication) and
//! `X-WAIaaS-Timestamp`. The body carries its own `timestamp` and `id`, so they are covered
//! by the signature and a receiver can refuse stale or repeated deliveries.
//! Up to 4 attempts (0, 1, 2, 4 s apart), none after a 3xx or 4xx; every attempt is logged.
//! Targets on loopback, private, link-local and metadata addresses are refused at creation
//! and again at delivery on the resolved address ([`super::target`]); redirects are never
//! followed (a 3xx is a failed delivery) and no proxy is used.

use super::Notifier;
use super::{target, Event, NotificationChannel};
use crate::error::{Error, ErrorCode, Result};
use crate::store::{WebhookLog, WebhookRecord, WebhookStore};
use async_trait::async_trait;
use hmac::Mac;
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Waits before attempts 1..4.
pub const BACKOFF: [Duration; 4] = [Duration::ZERO, Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4)];
const TIMEOUT: Duration = Duration::from_secs(10);

/// Event types a webhook may subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "TX_REQUESTED",
    "TX_QUEUED",
    "TX_DELAY_GRACE",
    "TX_APPROVAL_REQUIRED",
    "TX_EXECUTING",
    "TX_SUBMITTED",
    "TX_CONFIRMED",
    "TX_FAILED",
    "TX_CANCELLED",
    "TX_APPROVAL_EXPIRED",
    "TX_APPROVED",
    "TX_REJECTED",
    "TX_SIGNED",
    "POLICY_DENIED",
    "KILL_SWITCH_ACTIVATED",
    "KILL_SWITCH_ESCALATED",
    "KILL_SWITCH_RECOVERED",
    "AUTO_STOP_TRIGGERED",
    "TX_INCOMING",
    "TX_INCOMING_SUSPICIOUS",
    "INCOMING_TX_RANGE_SKIPPED",
    "LOW_BALANCE",
    "SESSION_IDLE",
    "OWNER_REGISTERED",
    "OWNER_VERIFIED",
    "OWNER_AUTH_FAILED",
    "MASTER_AUTH_FAILED",
    "WALLET_CREATED",
    "WALLET_SUSPENDED",
    "WALLET_PURGED",
    "SESSION_CREATED",
    "SESSION_REVOKED",
    "BACKUP_CREATED",
    "SETTINGS_UPDATED",
];

/// The signature header value for `body`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = crate::mac::hmac_sha256(secret.as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub struct WebhookChannel {
    store: Arc<dyn WebhookStore>,
    hook: WebhookRecord,
    http: Option<reqwest::Client>,
    allow_private: bool,
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl WebhookChannel {
    /// `allow_private`: `security.webhook_allow_private`.
    pub fn new(store: Arc<dyn WebhookStore>, hook: WebhookRecord, allow_private: bool) -> Self {
        let http = target::guarded_client(allow_private, TIMEOUT).ok();
        WebhookChannel { store, hook, http, allow_private, metrics: None }
    }

    /// Count every delivery attempt under `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    async fn log(&self, event: &Event, ok: bool, http_status: Option<u16>, attempt: usize, error: Option<String>, took: Duration) {
        if let Some(m) = &self.metrics {
            m.webhook_attempts.inc(&[if ok { "success" } else { "failed" }]);
        }
        let row = WebhookLog {
            id: crate::new_id(),
            webhook_id: self.hook.id.clone(),
            event_type: event.event_type.clone(),
            audit_id: Some(event.id),
            status: if ok { "success" } else { "failed" }.into(),
            http_status: http_status.map(i64::from),
            attempt: attempt as i64,
            error,
            request_duration: Some(took.as_millis() as i64),
            created_at: crate::now(),
        };
        if let Err(e) = self.store.insert_webhook_log(&row).await {
            tracing::warn!("webhook log not written: {e}");
        }
    }
}

#[async_trait]
impl NotificationChannel for WebhookChannel {
    fn name(&self) -> String {
        format!("webhook-{}", self.hook.id)
    }

    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn wants(&self, event: &Event) -> bool {
        self.hook.events.is_empty() || self.hook.events.iter().any(|e| e == &event.event_type)
    }

    async fn deliver(&self, event: &Event) -> Result<()> {
        let delivery = format!("{}:{}", self.hook.id, event.id);
        let body = serde_json::to_vec(&json!({
            "id": delivery,
            "event": event.event_type,
            "timestamp": event.timestamp,
            "data": event,
        }))
        .map_err(Error::internal_from)?;
        let sig = signature(&self.hook.secret, &body);
        // The target as it resolves now (the resolver checks again on connect).
        let checked = match &self.http {
            Some(http) => target::check_url(&self.hook.url, self.allow_private).await.map(|()| http).map_err(|e| e.message),
            None => Err("HTTP client unavailable".to_string()),
        };
        let http = match checked {
            Ok(http) => http,
            Err(refused) => {
                self.log(event, false, None, 1, Some(refused.clone()), Duration::ZERO).await;
                return Err(Error::new(ErrorCode::INTERNAL_ERROR, format!("webhook {} not delivered: {refused}", self.hook.id)));
            }
        };
        let mut last = String::new();
        for (i, wait) in BACKOFF.iter().enumerate() {
            tokio::time::sleep(*wait).await;
            let started = Instant::now();
            let sent = http
                .post(&self.hook.url)
                .header("content-type", "application/json")
                .header("user-agent", concat!("WAIaaS-Webhook/", env!("CARGO_PKG_VERSION")))
                .header("x-waiaas-signature", &sig)
                .header("x-waiaas-event", &event.event_type)
                .header("x-waiaas-delivery", &delivery)
                .header("x-waiaas-timestamp", crate::now().to_string())
                .body(body.clone())
                .send()
                .await;
            let took = started.elapsed();
            match sent {
                Ok(r) if r.status().is_success() => {
                    self.log(event, true, Some(r.status().as_u16()), i + 1, None, took).await;
                    return Ok(());
                }
                Ok(r) => {
                    let st = r.status().as_u16();
                    last = if r.status().is_redirection() { format!("HTTP {st} (redirects are not followed)") } else { format!("HTTP {st}") };
                    self.log(event, false, Some(st), i + 1, Some(last.clone()), took).await;
                    if (300..500).contains(&st) {
                        break; // the receiver refused or moved it: retrying will not help
                    }
                }
                Err(e) => {
                    last = crate::redact::http_error(e);
                    self.log(event, false, None, i + 1, Some(last.clone()), took).await;
                }
            }
        }
        Err(Error::new(ErrorCode::INTERNAL_ERROR, format!("webhook {} failed: {last}", self.hook.id)))
    }
}

/// `GET /v1/webhooks` item (no secret).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Webhook))]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<&WebhookRecord> for WebhookView {
    fn from(w: &WebhookRecord) -> Self {
        WebhookView {
            id: w.id.clone(),
            url: w.url.clone(),
            events: w.events.clone(),
            description: w.description.clone(),
            enabled: w.enabled,
            created_at: w.created_at,
            updated_at: w.updated_at,
            secret: None,
        }
    }
}

/// `POST /v1/webhooks` body.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateWebhookRequest))]
pub struct CreateWebhook {
    pub url: String,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

impl Notifier {
    /// Register a webhook; the secret is returned only here.
    pub async fn create_webhook(&self, req: CreateWebhook) -> Result<WebhookView> {
        let url = req.url.trim();
        if url.len() > 2048 || !(url.starts_with("http://") || url.starts_with("https://")) || reqwest::Url::parse(url).is_err() {
            return Err(Error::validation("url", "must be an http(s) URL of at most 2048 characters"));
        }
        target::check_url(url, self.allow_private).await?;
        for e in &req.events {
            if !EVENT_TYPES.contains(&e.as_str()) {
                return Err(Error::validation("events", format!("unknown event type '{e}' (known: {})", EVENT_TYPES.join(", "))));
            }
        }
        if req.description.as_ref().is_some_and(|d| d.len() > 256) {
            return Err(Error::validation("description", "at most 256 characters"));
        }
        let mut b = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        let now = crate::now();
        let rec = WebhookRecord {
            id: uuid::Uuid::new_v4().to_string(),
            url: url.to_string(),
            secret: hex::encode(b),
            events: req.events,
            description: req.description,
            enabled: true,
            created_at: now,
            updated_at: now,
        };
        self.webhooks.insert_webhook(&rec).await?;
        let mut view = WebhookView::from(&rec);
        view.secret = Some(rec.secret.clone());
        Ok(view)
    }

    pub async fn list_webhooks(&self) -> Result<Vec<WebhookView>> {
        Ok(self.webhooks.list_webhooks().await?.iter().map(WebhookView::from).collect())
    }

    pub async fn delete_webhook(&self, id: &str) -> Result<()> {
        if !self.webhooks.delete_webhook(id).await? {
            return Err(Error::new(ErrorCode::WEBHOOK_NOT_FOUND, format!("Webhook '{id}' not found")));
        }
        Ok(())
    }

    pub async fn webhook_logs(&self, id: &str, status: Option<&str>, event_type: Option<&str>, limit: Option<i64>) -> Result<Vec<serde_json::Value>> {
        if !self.webhooks.list_webhooks().await?.iter().any(|w| w.id == id) {
            return Err(Error::new(ErrorCode::WEBHOOK_NOT_FOUND, format!("Webhook '{id}' not found")));
        }
        if let Some(s) = status {
            if s != "success" && s != "failed" {
                return Err(Error::validation("status", "must be success or failed"));
            }
        }
        let limit = limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(Error::validation("limit", "must be 1..100"));
        }
        Ok(self
            .webhooks
            .list_webhook_logs(id, status, event_type, limit)
            .await?
            .into_iter()
            .map(|l| {
                json!({"id": l.id, "webhookId": l.webhook_id, "eventType": l.event_type, "status": l.status, "httpStatus": l.http_status,
                       "attempt": l.attempt, "error": l.error, "requestDuration": l.request_duration, "createdAt": l.created_at})
            })
            .collect())
    }
}
