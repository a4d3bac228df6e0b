//! Notifications: every audit entry is an event, and the notification channels follow the
//! audit log as their durable outbox.
//!
//! The dispatcher ([`Notifier::dispatch_events`]) reads entries after a cursor kept in the
//! store (`notify_cursor`), hands each to every channel that wants it, and moves the cursor
//! only after the batch was handed over, so an event is delivered at least once even across
//! a crash (delivery ids are stable: `<channel>:<audit id>`, receivers can drop duplicates).
//!
//! Event names are the audit event types (spec §7 names where they exist): `TX_REQUESTED`
//! (INSTANT / NOTIFY decision, with `details.tier`), `TX_QUEUED` (DELAY), `TX_DELAY_GRACE`
//! (a DELAY that ran out while the daemon was down, with its new `details.executeAfter`),
//! `TX_APPROVAL_REQUIRED`, `TX_SUBMITTED`, `TX_CONFIRMED`, `TX_FAILED`, `TX_CANCELLED`,
//! `TX_APPROVAL_EXPIRED`, `TX_APPROVED`, `TX_REJECTED`, `POLICY_DENIED`,
//! `KILL_SWITCH_ACTIVATED|ESCALATED|RECOVERED`, `AUTO_STOP_TRIGGERED`, `SESSION_IDLE`,
//! `OWNER_REGISTERED`, `OWNER_VERIFIED`, `MASTER_AUTH_FAILED`, ...
//!
//! Channels implement [`NotificationChannel`]; outgoing webhooks ([`webhook`]) are the first.
//! Telegram, Discord, Slack and the push relay plug in through the same trait.
//!
//! [`Notifier`] is the service: the audit log (read), the webhook rows, the key/value row of
//! the cursor, metrics and the clock. It also answers `GET /v1/audit-logs` and manages the
//! webhooks.

pub mod target;
pub mod webhook;

use crate::clock::Clock;
use crate::error::Result;
use crate::metrics::Metrics;
/// The filters of [`Engine::audit_logs`] (`GET /v1/audit-logs`).
pub use crate::store::AuditQuery;
use crate::store::{AuditEntry, AuditStore, KvStore, WebhookStore};
use async_trait::async_trait;
use serde::Serialize;
use std::sync::Arc;

const KV_CURSOR: &str = "notify_cursor";
const BATCH: i64 = 200;

/// One event as channels see it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The audit entry id (monotonic).
    pub id: i64,
    pub event_type: String,
    pub timestamp: i64,
    pub actor: String,
    pub wallet_id: Option<String>,
    pub session_id: Option<String>,
    pub tx_id: Option<String>,
    pub severity: String,
    pub details: serde_json::Value,
}

impl From<AuditEntry> for Event {
    fn from(e: AuditEntry) -> Self {
        Event {
            id: e.id,
            details: e.details.as_deref().and_then(|d| serde_json::from_str(d).ok()).unwrap_or(serde_json::Value::Null),
            event_type: e.event_type,
            timestamp: e.timestamp,
            actor: e.actor,
            wallet_id: e.wallet_id,
            session_id: e.session_id,
            tx_id: e.tx_id,
            severity: e.severity,
        }
    }
}

/// A place notifications go.
#[async_trait]
pub trait NotificationChannel: Send + Sync {
    /// Stable name (used in delivery ids).
    fn name(&self) -> String;
    /// The kind of channel (`webhook`, ...): the metrics label, bounded unlike [`Self::name`].
    fn kind(&self) -> &'static str;
    /// Whether this channel takes `event`.
    fn wants(&self, event: &Event) -> bool;
    /// Deliver with the channel's own retries; the error is the final failure.
    async fn deliver(&self, event: &Event) -> Result<()>;
}

/// The notifications service.
pub struct Notifier {
    audit: Arc<dyn AuditStore>,
    webhooks: Arc<dyn WebhookStore>,
    kv: Arc<dyn KvStore>,
    metrics: Arc<Metrics>,
    /// `security.webhook_allow_private`.
    allow_private: bool,
    clock: Arc<dyn Clock>,
    /// Channels other services add ([`Notifier::add_channel`]): the wallet apps' sign requests
    /// and alerts.
    extra: std::sync::RwLock<Vec<Arc<dyn NotificationChannel>>>,
}

impl Notifier {
    /// The service, with the cursor started at the current end of the log the first time.
    pub async fn open(
        audit: Arc<dyn AuditStore>,
        webhooks: Arc<dyn WebhookStore>,
        kv: Arc<dyn KvStore>,
        metrics: Arc<Metrics>,
        allow_private: bool,
        clock: Arc<dyn Clock>,
    ) -> Result<Notifier> {
        let n = Notifier { audit, webhooks, kv, metrics, allow_private, clock, extra: Default::default() };
        n.init_cursor().await?;
        Ok(n)
    }

    /// Add a channel that takes events from now on (next batch).
    pub fn add_channel(&self, channel: Arc<dyn NotificationChannel>) {
        self.extra.write().unwrap_or_else(|e| e.into_inner()).push(channel);
    }

    /// The channels configured now.
    async fn channels(&self) -> Result<Vec<Arc<dyn NotificationChannel>>> {
        let mut out: Vec<Arc<dyn NotificationChannel>> = self.extra.read().unwrap_or_else(|e| e.into_inner()).clone();
        for w in self.webhooks.list_webhooks().await? {
            if w.enabled {
                out.push(Arc::new(webhook::WebhookChannel::new(self.webhooks.clone(), w, self.allow_private).with_metrics(self.metrics.clone())));
            }
        }
        Ok(out)
    }

    /// Hand every event after the cursor to the channels that want it; returns how many
    /// events were processed. Deliveries of one batch run concurrently.
    pub async fn dispatch_events(&self) -> Result<usize> {
        let cursor: i64 = match self.kv.kv_get(KV_CURSOR).await? {
            Some(c) => c.parse().unwrap_or(0),
            None => 0,
        };
        let events = self.audit.audit_after(cursor, BATCH).await?;
        let Some(last) = events.last().map(|e| e.id) else { return Ok(0) };
        let channels = self.channels().await?;
        let mut deliveries = tokio::task::JoinSet::new();
        let n = events.len();
        for e in events {
            let e = Arc::new(Event::from(e));
            for c in &channels {
                if c.wants(&e) {
                    let (c, e, m) = (c.clone(), e.clone(), self.metrics.clone());
                    deliveries.spawn(async move {
                        match c.deliver(&e).await {
                            Ok(()) => m.notifications.inc(&[c.kind(), "delivered"]),
                            Err(err) => {
                                m.notifications.inc(&[c.kind(), "failed"]);
                                tracing::warn!(channel = %c.name(), event = %e.event_type, "notification not delivered: {}", err.message);
                            }
                        }
                    });
                }
            }
        }
        while deliveries.join_next().await.is_some() {}
        self.kv.kv_set(KV_CURSOR, &last.to_string(), self.clock.now()).await?;
        Ok(n)
    }

    /// Start the cursor at the current end of the log the first time (history is not replayed
    /// to channels created later).
    async fn init_cursor(&self) -> Result<()> {
        start_cursor(self.audit.as_ref(), self.kv.as_ref(), KV_CURSOR, self.clock.now()).await
    }
}

/// Start the audit-log cursor kept under `key` at the current end of the log, unless it is
/// there already (a reader of the log as an outbox starts from now, not from history).
pub(crate) async fn start_cursor(audit: &dyn AuditStore, kv: &dyn KvStore, key: &str, now: i64) -> Result<()> {
    if kv.kv_get(key).await?.is_none() {
        let (latest, _) = audit.query_audit(&AuditQuery { limit: 1, ..Default::default() }).await?;
        let at = latest.first().map(|e| e.id).unwrap_or(0);
        kv.kv_cas(key, None, &at.to_string(), now).await?;
    }
    Ok(())
}

/// `GET /v1/audit-logs` answer.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub data: Vec<serde_json::Value>,
    pub next_cursor: Option<i64>,
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

impl Notifier {
    /// The audit log, newest first, with upstream's filters and id cursor.
    pub async fn audit_logs(&self, mut q: AuditQuery) -> Result<AuditPage> {
        if !(1..=200).contains(&q.limit) {
            return Err(crate::Error::validation("limit", "must be 1..200"));
        }
        if let Some(s) = &q.severity {
            if !["info", "warning", "critical"].contains(&s.as_str()) {
                return Err(crate::Error::validation("severity", "must be info, warning or critical"));
            }
        }
        if q.cursor.is_some_and(|c| c <= 0) {
            return Err(crate::Error::validation("cursor", "must be a positive integer"));
        }
        let limit = q.limit;
        q.limit += 1;
        let (mut rows, total) = self.audit.query_audit(&q).await?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if has_more { rows.last().map(|r| r.id) } else { None };
        let data = rows
            .into_iter()
            .map(|e| {
                serde_json::json!({
                    "id": e.id, "timestamp": e.timestamp, "eventType": e.event_type, "actor": e.actor,
                    "walletId": e.wallet_id, "sessionId": e.session_id, "txId": e.tx_id,
                    "details": e.details.as_deref().and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok()).unwrap_or_else(|| serde_json::json!({})),
                    "severity": e.severity, "ipAddress": e.ip_address,
                })
            })
            .collect();
        Ok(AuditPage { data, next_cursor, has_more, total })
    }
}
