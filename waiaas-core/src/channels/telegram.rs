//! Telegram: the Bot API client ([`BotApi`]: `sendMessage`, `getUpdates`,
//! `answerCallbackQuery`, the `{ok, result}` envelope) and the notification channel
//! ([`TelegramChannel`]) that posts to `notifications.telegram_chat_id` in MarkdownV2.
//!
//! The message (upstream's layout): `*title*`, a blank line, the body, then for wallet events
//! `name (id first 6…last 4)` and `address first 4…last 4 · network`, the time (ISO 8601)
//! and the delivery id; every part escaped for MarkdownV2. DELAY notifications carry a
//! **Cancel** button (`cancel:<txId>`, answered by the bot); the `TX_APPROVAL_REQUIRED` of a
//! wallet whose approvals go to `sdk_telegram` carries its stored sign request (id, expiry,
//! and an **Open in Wallet** button when the wallet app has a universal link), answered with
//! `/sign_response` in the chat ([`super::bot`]).
//!
//! The bot token is part of every URL: errors are reported without the URL.

use super::{http_client, Action, Attempt, Channel, ChannelsConfig, Message};
use crate::error::{Error, Result};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::Weak;
use std::time::Duration;
use zeroize::Zeroizing;

/// Escape `s` for MarkdownV2 (every character Telegram reserves).
pub fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if "_*[]()~`>#+-=|{}.!\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `first n…last m` of `s` (whole when short).
fn shorten(s: &str, first: usize, last: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= first + last + 1 {
        return s.to_string();
    }
    format!("{}…{}", chars[..first].iter().collect::<String>(), chars[chars.len() - last..].iter().collect::<String>())
}

/// The MarkdownV2 text of `m`.
pub fn render(m: &Message) -> String {
    let mut out = format!("*{}*\n\n{}", escape_md(&m.title), escape_md(&m.body));
    if let (Some(id), Some(name)) = (&m.wallet_id, &m.wallet_name) {
        out.push_str(&format!("\n\n{} \\({}\\)", escape_md(name), escape_md(&shorten(id, 6, 4))));
        if let Some(addr) = &m.wallet_address {
            let net = m.network.as_deref().map(|n| format!(" · {}", escape_md(n))).unwrap_or_default();
            out.push_str(&format!("\n{}{net}", escape_md(&shorten(addr, 4, 4))));
        }
    }
    out.push_str(&format!("\n{}", escape_md(&crate::clock::iso_ms(m.timestamp * 1000))));
    out.push_str(&format!("\n_{}_", escape_md(&format!("ref {}", m.delivery_id))));
    out
}

/// The inline keyboard of `m`'s actions, if any.
pub fn keyboard(m: &Message) -> Option<Value> {
    let rows: Vec<Value> = m
        .actions
        .iter()
        .map(|a| match a {
            Action::Cancel { tx_id } => json!([{"text": "Cancel", "callback_data": format!("cancel:{tx_id}")}]),
            Action::OpenUrl { label, url } => json!([{"text": label, "url": url}]),
        })
        .collect();
    (!rows.is_empty()).then(|| json!({ "inline_keyboard": rows }))
}

/// A Bot API client for one bot token.
pub struct BotApi {
    http: reqwest::Client,
    base: String,
    token: Zeroizing<String>,
}

impl BotApi {
    /// `base`: `telegram.api_base_url` (no trailing slash).
    pub fn new(base: &str, token: &str, allow_private: bool) -> Result<BotApi> {
        if token.is_empty() || token.contains('/') || token.chars().any(char::is_whitespace) {
            return Err(Error::validation("telegram.bot_token", "must be a bot token (digits:letters)"));
        }
        Ok(BotApi { http: http_client(allow_private)?, base: base.trim_end_matches('/').to_string(), token: Zeroizing::new(token.to_string()) })
    }

    fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.base, self.token.as_str())
    }

    /// One call whose answer only matters as an [`Attempt`].
    pub async fn call(&self, method: &str, body: &Value) -> Attempt {
        super::post_json(&self.http, &self.url(method), body).await
    }

    /// `sendMessage` in MarkdownV2.
    pub async fn send_message(&self, chat_id: &str, text: &str, reply_markup: Option<Value>) -> Attempt {
        let mut body = json!({"chat_id": chat_id, "text": text, "parse_mode": "MarkdownV2"});
        if let Some(k) = reply_markup {
            body["reply_markup"] = k;
        }
        self.call("sendMessage", &body).await
    }

    /// `answerCallbackQuery` (stops the button's spinner; `text` shows as a toast).
    pub async fn answer_callback_query(&self, id: &str, text: Option<&str>) -> Attempt {
        let mut body = json!({"callback_query_id": id});
        if let Some(t) = text {
            body["text"] = t.into();
        }
        self.call("answerCallbackQuery", &body).await
    }

    /// `getUpdates` long poll from `offset` for up to `timeout` seconds: the updates, or the
    /// error with the HTTP status when the API answered (401/409 mean: stop polling).
    pub async fn get_updates(&self, offset: i64, timeout: u64) -> std::result::Result<Vec<Value>, (Option<u16>, String)> {
        let body = json!({"offset": offset, "timeout": timeout, "allowed_updates": ["message", "callback_query"]});
        let resp = self
            .http
            .post(self.url("getUpdates"))
            .timeout(Duration::from_secs(timeout + 10))
            .json(&body)
            .send()
            .await
            .map_err(|e| (None, format!("unreachable: {}", e.without_url())))?;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.map_err(|e| (Some(status), format!("answer does not parse: {}", e.without_url())))?;
        if status != 200 || v.get("ok").and_then(Value::as_bool) != Some(true) {
            let d = v.get("description").and_then(Value::as_str).unwrap_or_default();
            return Err((Some(status), format!("{status} {d}")));
        }
        Ok(v.get("result").and_then(Value::as_array).cloned().unwrap_or_default())
    }
}

/// Notifications to `notifications.telegram_chat_id`.
pub struct TelegramChannel {
    api: BotApi,
    chat_id: String,
    /// The engine (weakly: it owns the workers that own this channel).
    engine: Weak<crate::engine::Inner>,
}

impl TelegramChannel {
    pub(crate) fn new(cfg: &ChannelsConfig, engine: Weak<crate::engine::Inner>) -> Result<TelegramChannel> {
        Ok(TelegramChannel {
            api: BotApi::new(&cfg.telegram_api_base_url, &cfg.telegram_bot_token, cfg.allow_private)?,
            chat_id: cfg.telegram_chat_id.clone(),
            engine,
        })
    }
}

#[async_trait]
impl Channel for TelegramChannel {
    fn kind(&self) -> &'static str {
        "telegram"
    }
    async fn send(&self, m: &Message) -> Attempt {
        let m = match self.with_sign_request(m).await {
            Ok(m) => m,
            // The store failed: worth another attempt (the message without its request would
            // leave the owner no way to answer).
            Err(e) => return Attempt::Retry { error: format!("sign request: {}", e.message), after: None },
        };
        self.api.send_message(&self.chat_id, &render(&m), keyboard(&m)).await
    }
}

impl TelegramChannel {
    /// `m`, and for the `TX_APPROVAL_REQUIRED` of a wallet whose approvals go to
    /// `sdk_telegram`: the stored sign request's id, how to answer, and an **Open in Wallet**
    /// button to the wallet app's universal link (when the app has one).
    async fn with_sign_request(&self, m: &Message) -> Result<Message> {
        let mut m = m.clone();
        let (Some(tx_id), Some(inner)) = (m.tx_id.clone(), self.engine.upgrade()) else { return Ok(m) };
        if m.event_type != "TX_APPROVAL_REQUIRED" {
            return Ok(m);
        }
        let engine = crate::engine::Engine { inner };
        let Some(req) = engine.telegram_sign_request(&tx_id).await? else { return Ok(m) };
        let how = match &req.url {
            Some(_) => "Open it in your wallet and sign: the wallet answers here with /sign_response",
            None => "Sign its message with the owner key in your wallet and answer here with /sign_response <base64url SignResponse>",
        };
        m.body.push_str(&format!("\n\nSign request: {}\nExpires: {}\n{how}", req.request_id, crate::clock::iso_ms(req.expires_at * 1000)));
        if let Some(url) = req.url {
            m.actions.push(Action::OpenUrl { label: "Open in Wallet".into(), url });
        }
        Ok(m)
    }
}
