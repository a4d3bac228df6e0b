//! Notification channels for people: Telegram, Discord, Slack and email (upstream's
//! `notifications/*`, plus email), each fed from the audit log like the webhooks.
//!
//! Every enabled channel runs an **outbox worker** of its own ([`Engine::start_channels`]):
//! it reads the audit log after a cursor kept in the store under `notify_cursor:<channel>`,
//! renders each event it wants from a template ([`templates`]) and delivers it, and moves
//! its cursor only after the event was handed over (or given up on). So every event reaches
//! every channel that subscribes to it (upstream: only the first channel that succeeds), at
//! least once across restarts, and a slow or dead channel holds up only itself: the
//! transaction pipeline only writes the audit row it writes anyway.
//!
//! Delivery: a token bucket of `notifications.rate_limit_rpm` per channel (an event waits for
//! a token; upstream drops it); retries with exponential backoff and jitter on network errors
//! and 5xx, and on 429 after the provider's `retry_after` / `Retry-After`; no retry on other
//! 4xx. A channel that is down holds its next event and tries it again and again (backoff up
//! to a minute), so an outage loses nothing and keeps the order, until the event is older than
//! `notifications.max_event_age_sec` (a day by default): then it is given up and the channel
//! moves on. Every attempt is a row of the
//! notification log (`GET /v1/admin/notifications/log`). The delivery id
//! `<channel>:<audit id>` is the same for every attempt and redelivery of an event, and
//! travels with the message (Discord/Slack footer, an email's `Message-ID`), so a receiver
//! can tell a redelivery from a new event.
//!
//! Which events: those with a template ([`templates`]), minus `TX_REQUESTED` of INSTANT
//! transactions (no notification is the point of INSTANT), filtered by
//! `notifications.notify_events` (upstream event names, or ours) else
//! `notifications.notify_categories`; kill-switch and AutoStop events always go out.
//!
//! Configuration (`[notifications]`, `[telegram]`; read at start like every setting):
//! `enabled`, `telegram_bot_token` (or `telegram.bot_token`), `telegram_chat_id`,
//! `discord_webhook_url`, `slack_webhook_url`, `smtp_*` (see [`email`]), `rate_limit_rpm`,
//! `notify_events`, `notify_categories`, `locale`, `templates_file`, `max_event_age_sec`,
//! `retry_base_ms`; `telegram.api_base_url` (default `https://api.telegram.org`). Targets
//! are checked like webhook targets ([`crate::services::notify::target`]): loopback and
//! private addresses only with `security.webhook_allow_private`.

pub mod bot;
pub mod discord;
pub mod email;
pub mod slack;
pub mod telegram;
pub mod templates;

pub(crate) use crate::config::setting;
pub use crate::config::ChannelsConfig;
use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::pipeline::pause;
use crate::services::notify::{target, Event};
use crate::store::{NotificationLog, NotificationLogQuery};
use async_trait::async_trait;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use templates::Template;

/// The channels a person reads, in upstream's order.
pub const KINDS: &[&str] = &["telegram", "discord", "slack", "email"];
/// Events read per round of an outbox worker.
const BATCH: i64 = 100;
/// The longest wait between two attempts, whatever a provider asks.
const MAX_WAIT: Duration = Duration::from_secs(300);
/// The longest backoff between two attempts of our own choosing.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// A button under a message (rendered by channels that have buttons: Telegram).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Cancel a DELAY transaction (`cancel:<txId>`, answered by the Telegram bot).
    Cancel { tx_id: String },
    /// A link, e.g. "Open in wallet" for a sign request.
    OpenUrl { label: String, url: String },
}

/// One event, rendered for people.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `<channel>:<audit id>`.
    pub delivery_id: String,
    /// This installation's id (random, made once, kept in the store): with the delivery id,
    /// unique across installations (an email's `Message-ID`).
    pub origin: String,
    pub audit_id: i64,
    /// Our event type (the audit event).
    pub event_type: String,
    /// Upstream's name of the event.
    pub event: String,
    pub category: String,
    pub title: String,
    pub body: String,
    pub wallet_id: Option<String>,
    pub wallet_name: Option<String>,
    pub wallet_address: Option<String>,
    pub network: Option<String>,
    pub tx_id: Option<String>,
    pub timestamp: i64,
    /// Label and value pairs shown as fields (Discord, Slack, email).
    pub fields: Vec<(String, String)>,
    pub actions: Vec<Action>,
}

impl Message {
    /// `title\nbody`: upstream's `message`, and what the log keeps.
    pub fn text(&self) -> String {
        format!("{}\n{}", self.title, self.body)
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Sent,
    /// Worth another attempt (network error, 5xx, 429), after `after` if the provider said.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// Refused for good (other 4xx, a malformed target): no retry.
    Refused(String),
}

/// A place messages for people go.
#[async_trait]
pub trait Channel: Send + Sync {
    /// `telegram`, `discord`, `slack` or `email`.
    fn kind(&self) -> &'static str;
    /// One attempt.
    async fn send(&self, m: &Message) -> Attempt;
}

/// The HTTP client of the channels: the webhooks' ([`target::guarded_client`]), 10 s a request.
pub(crate) fn http_client(allow_private: bool) -> Result<reqwest::Client> {
    target::guarded_client(allow_private, HTTP_TIMEOUT)
}

/// POST `body` as JSON and classify the answer. Errors never carry the URL (webhook URLs
/// and the bot token are secrets).
pub(crate) async fn post_json(http: &reqwest::Client, url: &str, body: &Value) -> Attempt {
    match http.post(url).json(body).send().await {
        Ok(r) => classify(r).await,
        Err(e) => Attempt::Retry { error: format!("unreachable: {}", e.without_url()), after: None },
    }
}

/// 2xx → sent; 429 → retry after the provider's wait (Telegram `parameters.retry_after`,
/// Discord's body `retry_after`, the `Retry-After` header, in seconds); 5xx → retry; other
/// → refused.
pub(crate) async fn classify(r: reqwest::Response) -> Attempt {
    let status = r.status();
    if status.is_success() {
        return Attempt::Sent;
    }
    let header = r.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok());
    let text = r.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or_default();
    let from_body = body.pointer("/parameters/retry_after").or_else(|| body.get("retry_after")).and_then(Value::as_f64);
    let after = from_body.or(header).filter(|s| s.is_finite() && *s >= 0.0).map(|s| Duration::from_secs_f64(s).min(MAX_WAIT));
    let shown: String = body.get("description").and_then(Value::as_str).map(str::to_string).unwrap_or(text).chars().take(200).collect();
    let error = format!("{} {}", status.as_u16(), shown.trim());
    match status.as_u16() {
        429 => Attempt::Retry { error, after },
        500..=599 => Attempt::Retry { error, after: None },
        _ => Attempt::Refused(error),
    }
}

/// An incoming webhook that takes one JSON body per message (Discord, Slack): the channel's
/// renderer makes the body, [`post_json`] delivers it.
pub(crate) struct JsonWebhook {
    kind: &'static str,
    http: reqwest::Client,
    url: String,
    render: fn(&Message) -> Value,
}

impl JsonWebhook {
    pub(crate) fn new(kind: &'static str, url: &str, render: fn(&Message) -> Value, allow_private: bool) -> Result<JsonWebhook> {
        Ok(JsonWebhook { kind, http: http_client(allow_private)?, url: url.to_string(), render })
    }
}

#[async_trait]
impl Channel for JsonWebhook {
    fn kind(&self) -> &'static str {
        self.kind
    }
    async fn send(&self, m: &Message) -> Attempt {
        post_json(&self.http, &self.url, &(self.render)(m)).await
    }
}

/// One channel's outbox worker: what it delivers with, and this installation's id (read once).
struct Outbox {
    channel: Arc<dyn Channel>,
    cfg: ChannelsConfig,
    templates: Arc<templates::Templates>,
    origin: String,
    limit: RateLimit,
}

/// A token bucket of `rpm` per minute (burst `rpm`); 0 = unlimited.
pub(crate) struct RateLimit {
    rpm: u32,
    tokens: f64,
    at: tokio::time::Instant,
}

impl RateLimit {
    pub(crate) fn new(rpm: u32) -> RateLimit {
        RateLimit { rpm, tokens: rpm as f64, at: tokio::time::Instant::now() }
    }

    /// How long to wait before the next send (0 when a token is there; taking it).
    pub(crate) fn take(&mut self) -> Duration {
        if self.rpm == 0 {
            return Duration::ZERO;
        }
        let now = tokio::time::Instant::now();
        let per_sec = self.rpm as f64 / 60.0;
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * per_sec).min(self.rpm as f64);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / per_sec)
        }
    }
}

/// The backoff before attempt `n + 1` (n ≥ 1): base·2^(n-1), plus up to half of it as
/// jitter, at most [`MAX_BACKOFF`].
fn backoff(base_ms: u64, n: u32) -> Duration {
    let d = base_ms.saturating_mul(1u64 << (n - 1).min(16));
    let jitter = rand::random::<u64>() % (d / 2 + 1);
    Duration::from_millis(d.saturating_add(jitter)).min(MAX_BACKOFF)
}

/// `GET /v1/admin/notifications/status`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationStatus {
    pub enabled: bool,
    pub channels: Vec<ChannelStatus>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelStatus {
    pub name: String,
    pub enabled: bool,
}

/// `POST /v1/admin/notifications/test` answer.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationTestResult {
    pub results: Vec<ChannelTestResult>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelTestResult {
    pub channel: String,
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `GET /v1/admin/notifications/log` answer (upstream's shape).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NotificationLogPage {
    pub logs: Vec<NotificationLog>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// `GET /v1/admin/notifications/log` query.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotificationLogParams {
    /// 1-based, default 1.
    pub page: Option<i64>,
    /// 1..100, default 20.
    pub page_size: Option<i64>,
    /// `telegram`, `discord`, `slack` or `email`.
    pub channel: Option<String>,
    /// `sent` or `failed`.
    pub status: Option<String>,
    /// Upstream's event name, e.g. `TX_CONFIRMED`.
    pub event_type: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Engine {
    fn channels_config(&self) -> Result<ChannelsConfig> {
        ChannelsConfig::from_config(self.config())
    }

    /// The channel object of `kind` (configured or not: `None` when it lacks its settings).
    fn channel(&self, kind: &str, cfg: &ChannelsConfig) -> Result<Option<Arc<dyn Channel>>> {
        if !cfg.configured(kind, self.config()) {
            return Ok(None);
        }
        Ok(Some(match kind {
            "telegram" => Arc::new(telegram::TelegramChannel::new(cfg, Arc::downgrade(&self.inner))?),
            "discord" => Arc::new(JsonWebhook::new("discord", &cfg.discord_webhook_url, discord::render, cfg.allow_private)?),
            "slack" => Arc::new(JsonWebhook::new("slack", &cfg.slack_webhook_url, slack::render, cfg.allow_private)?),
            "email" => return email_channel(self.config()),
            _ => return Ok(None),
        }))
    }

    /// Start one outbox worker per enabled channel (with `notifications.enabled`). A channel
    /// whose settings do not parse is logged and left off; the others start.
    pub fn start_channels(&self) {
        let cfg = match self.channels_config() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("notification channels off: {}", e.message);
                return;
            }
        };
        if !cfg.enabled {
            return;
        }
        let templates = match templates::Templates::load(&cfg) {
            Ok(t) => Arc::new(t),
            Err(e) => {
                tracing::error!("notification channels off: {}", e.message);
                return;
            }
        };
        let mut handles = vec![];
        for kind in KINDS {
            let channel = match self.channel(kind, &cfg) {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(channel = kind, "notification channel off: {}", e.message);
                    continue;
                }
            };
            tracing::info!(channel = kind, "notification channel on");
            let (engine, cfg, templates) = (self.clone(), cfg.clone(), templates.clone());
            let mut stop = self.inner.stop.subscribe();
            handles.push(tokio::spawn(async move {
                let origin = engine.install_id().await;
                let mut outbox = Outbox { limit: RateLimit::new(cfg.rate_limit_rpm), channel, cfg, templates, origin };
                loop {
                    // One daemon of those sharing the store delivers (see `Engine::leads`).
                    if !engine.leads().await {
                        if !pause(&mut stop, Duration::from_secs(1)).await {
                            break;
                        }
                        continue;
                    }
                    let wait = match engine.outbox_round(&mut outbox, &mut stop).await {
                        Ok(0) => Duration::from_millis(250),
                        Ok(_) => Duration::ZERO,
                        Err(e) => {
                            tracing::warn!(channel = outbox.channel.kind(), "notification round failed: {e}");
                            Duration::from_secs(1)
                        }
                    };
                    if !pause(&mut stop, wait).await {
                        break;
                    }
                }
            }));
        }
        self.inner.workers.lock().unwrap_or_else(|e| e.into_inner()).extend(handles);
    }

    /// One round of a channel's outbox: the events after its cursor, each delivered (with
    /// retries) before the cursor moves past it. Returns how many events were read.
    async fn outbox_round(&self, o: &mut Outbox, stop: &mut tokio::sync::watch::Receiver<bool>) -> Result<usize> {
        let channel = o.channel.as_ref();
        let store = &self.inner.store;
        let key = format!("notify_cursor:{}", channel.kind());
        let cursor = match store.kv_get(&key).await? {
            Some(c) => c.parse::<i64>().unwrap_or(0),
            None => {
                // First start of this channel: from now on (history is not replayed).
                crate::services::notify::start_cursor(store.as_ref(), store.as_ref(), &key, self.now()).await?;
                return Ok(0);
            }
        };
        let events = store.audit_after(cursor, BATCH).await?;
        let n = events.len();
        let mut moved = cursor;
        for e in events {
            if *stop.borrow() {
                // Stopping: what is left is delivered after the restart.
                break;
            }
            let event = Event::from(e);
            if let Some(t) = o.templates.for_event(&event, &o.cfg) {
                let m = self.message(channel.kind(), &event, t, &o.origin).await;
                if !self.deliver(channel, &m, &o.cfg, &mut o.limit, stop).await {
                    // Stopping: the event is delivered again after the restart.
                    break;
                }
                store.kv_set(&key, &event.id.to_string(), self.now()).await?;
            }
            moved = event.id;
        }
        if moved != cursor {
            store.kv_set(&key, &moved.to_string(), self.now()).await?;
        }
        Ok(n)
    }

    /// Deliver `m` with the retry rules; every attempt is logged. `false` when the engine is
    /// stopping (the event was not given up on).
    async fn deliver(
        &self,
        channel: &dyn Channel,
        m: &Message,
        cfg: &ChannelsConfig,
        limit: &mut RateLimit,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> bool {
        let metrics = &self.inner.metrics;
        let mut n = 0u32;
        loop {
            n += 1;
            let wait = limit.take();
            if !wait.is_zero() && !pause(stop, wait).await {
                return false;
            }
            let outcome = channel.send(m).await;
            self.log_attempt(channel.kind(), m, n, &outcome).await;
            let (error, after) = match outcome {
                Attempt::Sent => {
                    metrics.notifications.inc(&[channel.kind(), "delivered"]);
                    return true;
                }
                Attempt::Refused(error) => {
                    metrics.notifications.inc(&[channel.kind(), "failed"]);
                    tracing::warn!(channel = channel.kind(), event = %m.event_type, delivery = %m.delivery_id, "notification refused: {error}");
                    return true;
                }
                Attempt::Retry { error, after } => (error, after),
            };
            let wait = after.unwrap_or_else(|| backoff(cfg.retry_base_ms, n));
            let age = self.now().saturating_sub(m.timestamp).max(0) as u64;
            if age.saturating_add(wait.as_secs()) > cfg.max_event_age_sec {
                metrics.notifications.inc(&[channel.kind(), "failed"]);
                tracing::warn!(channel = channel.kind(), event = %m.event_type, delivery = %m.delivery_id, attempts = n, "notification given up (older than notifications.max_event_age_sec): {error}");
                return true;
            }
            if n == 1 {
                tracing::warn!(channel = channel.kind(), event = %m.event_type, delivery = %m.delivery_id, "notification not delivered, retrying: {error}");
            }
            if !pause(stop, wait).await {
                return false;
            }
        }
    }

    async fn log_attempt(&self, kind: &str, m: &Message, attempt: u32, outcome: &Attempt) {
        let (status, error) = match outcome {
            Attempt::Sent => ("sent", None),
            Attempt::Retry { error, .. } | Attempt::Refused(error) => ("failed", Some(error.clone())),
        };
        let row = NotificationLog {
            id: crate::new_id(),
            event_type: m.event.clone(),
            wallet_id: m.wallet_id.clone(),
            channel: kind.to_string(),
            status: status.into(),
            error,
            message: Some(m.text()),
            delivery_id: Some(m.delivery_id.clone()),
            attempt: attempt as i64,
            created_at: self.now(),
        };
        if let Err(e) = self.inner.store.insert_notification_log(&row).await {
            tracing::warn!("notification log not written: {e}");
        }
    }

    /// Render `event` with template `t` for channel `kind`: the wallet's name, address and
    /// network, the transaction's type, amount and recipient, and the event's details.
    /// `origin`: this installation's id ([`Engine::install_id`]).
    pub(crate) async fn message(&self, kind: &str, event: &Event, t: &Template, origin: &str) -> Message {
        let store = &self.inner.store;
        let mut vars: Vec<(&str, String)> = vec![("actor", event.actor.clone()), ("channel", kind.to_string())];
        let d = &event.details;
        for key in ["tier", "error", "txHash", "reason", "rule", "executeAfter"] {
            let v = d.get(key).or_else(|| d.pointer(&format!("/decision/{key}")));
            if let Some(v) = v.filter(|v| !v.is_null()) {
                let s = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) if key == "executeAfter" => n.as_i64().map(|t| crate::clock::iso_ms(t * 1000)).unwrap_or_default(),
                    other => other.to_string(),
                };
                vars.push((key, s));
            }
        }
        let (mut wallet_name, mut wallet_address, mut network) = (None, None, None);
        let wallet = match &event.wallet_id {
            Some(id) => store.get_wallet(id).await.ok().flatten(),
            None => None,
        };
        if let Some(w) = &wallet {
            wallet_name = Some(w.name.clone());
            wallet_address = Some(w.public_key.clone());
            vars.push(("wallet", w.name.clone()));
        }
        if let (Some(tx_id), Some(w)) = (&event.tx_id, &wallet) {
            vars.push(("txId", tx_id.clone()));
            if let Ok(Some(tx)) = store.get_tx(tx_id).await {
                let s = self.tx_summary(&tx, w).await;
                let amount = match (&s.amount, &s.symbol) {
                    (Some(a), Some(sym)) => format!("{a} {sym}"),
                    (Some(a), None) => a.clone(),
                    _ => "-".into(),
                };
                vars.push(("amount", amount));
                vars.push(("to", if s.to.is_empty() { "-".into() } else { s.to.clone() }));
                vars.push(("type", s.tx_type.clone()));
                network = Some(s.network.clone());
                let meta: Value = tx.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default();
                if let Some(secs) = meta.get("delaySeconds").and_then(Value::as_u64) {
                    vars.push(("delaySeconds", secs.to_string()));
                }
                if tx.tier.is_some() && !vars.iter().any(|(k, _)| *k == "tier") {
                    vars.push(("tier", tx.tier.clone().unwrap_or_default()));
                }
            }
        }
        let (title, body) = (templates::fill(&t.title, &vars), templates::fill(&t.body, &vars));
        let mut fields = vec![];
        if let Some(n) = &wallet_name {
            fields.push(("Wallet".to_string(), n.clone()));
        }
        if let Some(a) = &wallet_address {
            fields.push(("Address".to_string(), a.clone()));
        }
        if let Some(n) = &network {
            fields.push(("Network".to_string(), n.clone()));
        }
        fields.push(("Event".to_string(), t.event.clone()));
        let mut actions = vec![];
        if event.event_type == "TX_QUEUED" || event.event_type == "TX_DELAY_GRACE" {
            if let Some(tx_id) = &event.tx_id {
                actions.push(Action::Cancel { tx_id: tx_id.clone() });
            }
        }
        Message {
            delivery_id: format!("{kind}:{}", event.id),
            origin: origin.to_string(),
            audit_id: event.id,
            event_type: event.event_type.clone(),
            event: t.event.clone(),
            category: t.category.clone(),
            title,
            body,
            wallet_id: event.wallet_id.clone(),
            wallet_name,
            wallet_address,
            network,
            tx_id: event.tx_id.clone(),
            timestamp: event.timestamp,
            fields,
            actions,
        }
    }

    /// This installation's id, made at first use (`notify_install_id`): audit ids start
    /// again in a new data dir, so they alone do not tell two installations' mails apart.
    async fn install_id(&self) -> String {
        const KEY: &str = "notify_install_id";
        let store = &self.inner.store;
        if let Ok(Some(id)) = store.kv_get(KEY).await {
            return id;
        }
        let fresh = crate::new_id();
        let _ = store.kv_cas(KEY, None, &fresh, self.now()).await;
        store.kv_get(KEY).await.ok().flatten().unwrap_or(fresh)
    }

    /// `GET /v1/admin/notifications/status`.
    pub fn notification_status(&self) -> Result<NotificationStatus> {
        let cfg = self.channels_config()?;
        let channels = KINDS.iter().map(|k| ChannelStatus { name: k.to_string(), enabled: cfg.enabled && cfg.configured(k, self.config()) }).collect();
        Ok(NotificationStatus { enabled: cfg.enabled, channels })
    }

    /// `POST /v1/admin/notifications/test {channel?}`: one test message to the channel named
    /// (or to every configured one), one attempt each, logged like any delivery.
    pub async fn notification_test(&self, channel: Option<&str>) -> Result<NotificationTestResult> {
        let cfg = self.channels_config()?;
        let kinds: Vec<&str> = match channel {
            Some(c) if KINDS.contains(&c) => vec![c],
            Some(_) => return Err(Error::validation("channel", format!("must be one of {}", KINDS.join(", ")))),
            None => KINDS.iter().copied().filter(|k| cfg.configured(k, self.config())).collect(),
        };
        let templates = templates::Templates::load(&cfg)?;
        let t = templates.get("NOTIFICATION_TEST").ok_or_else(|| Error::internal("no NOTIFICATION_TEST template"))?;
        let origin = self.install_id().await;
        let mut results = vec![];
        for kind in kinds {
            let Some(ch) = self.channel(kind, &cfg)? else {
                results.push(ChannelTestResult { channel: kind.into(), success: false, error: Some(format!("{kind} is not configured")) });
                continue;
            };
            let event = Event {
                id: 0,
                event_type: "NOTIFICATION_TEST".into(),
                timestamp: self.now(),
                actor: "admin".into(),
                wallet_id: None,
                session_id: None,
                tx_id: None,
                severity: "info".into(),
                details: json!({}),
            };
            let mut m = self.message(kind, &event, t, &origin).await;
            m.delivery_id = format!("{kind}:test-{}", crate::new_id());
            m.wallet_id = Some("admin-test".into());
            let outcome = ch.send(&m).await;
            self.log_attempt(kind, &m, 1, &outcome).await;
            results.push(match outcome {
                Attempt::Sent => ChannelTestResult { channel: kind.into(), success: true, error: None },
                Attempt::Retry { error, .. } | Attempt::Refused(error) => ChannelTestResult { channel: kind.into(), success: false, error: Some(error) },
            });
        }
        Ok(NotificationTestResult { results })
    }

    /// `GET /v1/admin/notifications/log`: newest first, `pageSize` ≤ 100.
    pub async fn notification_log(&self, p: NotificationLogParams) -> Result<NotificationLogPage> {
        let page = p.page.unwrap_or(1);
        let page_size = p.page_size.unwrap_or(20);
        if page < 1 {
            return Err(Error::validation("page", "must be 1 or more"));
        }
        if !(1..=100).contains(&page_size) {
            return Err(Error::validation("pageSize", "must be 1..100"));
        }
        if let Some(s) = &p.status {
            if s != "sent" && s != "failed" {
                return Err(Error::validation("status", "must be sent or failed"));
            }
        }
        if let Some(c) = &p.channel {
            if !KINDS.contains(&c.as_str()) {
                return Err(Error::validation("channel", format!("must be one of {}", KINDS.join(", "))));
            }
        }
        let q = NotificationLogQuery {
            channel: p.channel,
            status: p.status,
            event_type: p.event_type,
            since: p.since,
            until: p.until,
            offset: (page - 1).saturating_mul(page_size),
            limit: page_size,
        };
        let (logs, total) = self.inner.store.query_notification_logs(&q).await?;
        Ok(NotificationLogPage { logs, total, page, page_size })
    }
}

/// The email channel, when built (see `email`).
fn email_channel(config: &Config) -> Result<Option<Arc<dyn Channel>>> {
    Ok(email::EmailChannel::from_config(config)?.map(|c| Arc::new(c) as Arc<dyn Channel>))
}

#[cfg(test)]
mod tests;
