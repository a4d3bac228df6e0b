//! The Telegram bot (upstream's `TelegramBotService`): a long poll on `getUpdates`, commands
//! by role, inline buttons, and the admin routes of its users.
//!
//! It runs whenever a bot token is set (`notifications.telegram_bot_token` or
//! `telegram.bot_token`), as upstream, started by [`Engine::start_telegram_bot`] and stopped
//! with the engine's other workers. `getUpdates` is asked with `timeout=30`; the offset
//! (last update id + 1) is kept in the store under `telegram_bot_offset` after every handled
//! update, so a restart neither loses nor replays one (upstream kept it in memory). Errors
//! back off 1 s → 30 s with jitter; 401 (bad token) and 409 (another poller or a webhook)
//! stop the bot with an error log. The token is in every URL: no error carries a URL.
//!
//! Roles (`telegram_users`): `/start` registers the chat as `PENDING`; the operator sets
//! `ADMIN` or `READONLY` (`PUT /v1/admin/telegram-users/{chatId}`). A role belongs to a chat
//! (upstream's rule): commands and buttons are judged by the chat they come from, so a group
//! granted a role grants it to every member — grant private chats.
//! - everyone: `/start`, `/help`;
//! - `READONLY` and `ADMIN`: `/status` (kill switch, wallets, approvals waiting), `/wallets`;
//! - `ADMIN`: `/pending` (QUEUED transactions, DELAY and APPROVAL, each with a Cancel
//!   button), `/killswitch` (Yes/No: `killswitch:confirm|cancel`; Yes activates it as
//!   `POST /v1/admin/kill-switch` does), `/sign_response <base64url(SignResponse)>` (the
//!   owner's answer to an `sdk_telegram` sign request, checked by
//!   [`Engine::answer_sign_request`] exactly like a relay answer), and the `cancel:<txId>`
//!   button of DELAY notifications (cancels as `POST /v1/admin/transactions/{id}/cancel`
//!   does, the reservation released).
//!
//! Every action from a chat is audited (`TELEGRAM_ACTION`, actor `telegram:<chatId>`, with
//! what was asked and how it ended, refusals included); the kill switch itself records
//! `telegram:<chatId>` as its actor.
//!
//! Not built, on purpose (upstream's holes): `/approve`, `/reject` and Approve/Reject
//! buttons — an approval needs the owner's signature, which only `/sign_response` (or the
//! REST and relay paths) carries; and `/newsession`, which minted an unlimited session token
//! and posted it in the chat.

use super::telegram::{escape_md, BotApi};
use super::ChannelsConfig;
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::signing_sdk::SignResponse;
use crate::store::tx::TxStatus;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

/// The store key of the next `getUpdates` offset.
pub const OFFSET_KEY: &str = "telegram_bot_offset";
/// `getUpdates` `timeout` (seconds).
const POLL_TIMEOUT: u64 = 30;
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Transactions listed by `/pending` (with a button each).
const PENDING_SHOWN: usize = 20;
const ROLES: &[&str] = &["ADMIN", "READONLY"];

/// A chat's role, ordered by what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    /// Not registered (no `/start` yet).
    None,
    Pending,
    ReadOnly,
    Admin,
}

impl Role {
    fn parse(s: &str) -> Role {
        match s {
            "ADMIN" => Role::Admin,
            "READONLY" => Role::ReadOnly,
            "PENDING" => Role::Pending,
            _ => Role::None,
        }
    }
}

/// A reply: MarkdownV2 text (already escaped) and an optional inline keyboard.
struct Reply {
    text: String,
    keyboard: Option<Value>,
}

fn plain(text: &str) -> Reply {
    Reply { text: escape_md(text), keyboard: None }
}

/// `GET /v1/admin/telegram-users` (upstream's shape; `chat_id` a number).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelegramUserList {
    pub users: Vec<TelegramUserView>,
    pub total: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelegramUserView {
    pub chat_id: i64,
    pub username: Option<String>,
    /// `PENDING`, `ADMIN` or `READONLY`.
    pub role: String,
    pub registered_at: i64,
    pub approved_at: Option<i64>,
}

/// `PUT /v1/admin/telegram-users/{chatId}` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateTelegramUser {
    /// `ADMIN` or `READONLY`.
    pub role: String,
}

/// `PUT /v1/admin/telegram-users/{chatId}` answer.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelegramUserUpdated {
    pub success: bool,
    pub chat_id: i64,
    pub role: String,
}

/// `DELETE /v1/admin/telegram-users/{chatId}` answer.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TelegramUserDeleted {
    pub success: bool,
}

/// A chat id as Telegram gives it: a whole number (negative for groups).
fn chat_id(raw: &str) -> Result<i64> {
    raw.trim().parse::<i64>().map_err(|_| Error::validation("chatId", "must be a Telegram chat id (a whole number)"))
}

/// Upstream had no code of its own for an unknown chat; `WALLET_NOT_FOUND` is its 404.
fn user_not_found(chat: i64) -> Error {
    Error::new(ErrorCode::TELEGRAM_USER_NOT_FOUND, format!("Telegram user '{chat}' not found"))
}

/// The `SignResponse` of `/sign_response <arg>`: base64url (padded or not) of its JSON.
pub fn decode_sign_response(arg: &str) -> std::result::Result<SignResponse, String> {
    let arg = arg.trim();
    if arg.is_empty() {
        return Err("usage: /sign_response <base64url of the SignResponse JSON>".into());
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(arg.trim_end_matches('=')).map_err(|_| "the argument is not base64url".to_string())?;
    serde_json::from_slice::<SignResponse>(&bytes).map_err(|e| format!("the decoded text is not a SignResponse: {e}"))
}

/// The command of a message text: `/cmd@botname args` → (`/cmd`, `args`).
fn command(text: &str) -> (String, String) {
    let text = text.trim();
    let (head, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let cmd = head.split('@').next().unwrap_or_default().to_ascii_lowercase();
    (cmd, rest.trim().to_string())
}

const HELP: &str = "WAIaaS bot\n\n\
/start: register this chat (an administrator then grants a role)\n\
/help: this list\n\
/status: kill switch, wallets, approvals waiting (READONLY, ADMIN)\n\
/wallets: the wallets (READONLY, ADMIN)\n\
/pending: transactions waiting, with a Cancel button each (ADMIN)\n\
/killswitch: activate the kill switch, after a confirmation (ADMIN)\n\
/sign_response <base64url>: the owner's signed answer to a sign request (ADMIN)\n\n\
Approvals need the owner's signature: open the sign request in the owner's wallet; there is no approve command.";

impl Engine {
    /// Start the bot when a bot token is set (see the module docs). A token the Bot API
    /// client refuses is logged and the bot stays off.
    pub fn start_telegram_bot(&self) {
        let cfg = match ChannelsConfig::from_config(self.config()) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("telegram bot off: {}", e.message);
                return;
            }
        };
        if cfg.telegram_bot_token.is_empty() {
            return;
        }
        let api = match BotApi::new(&cfg.telegram_api_base_url, &cfg.telegram_bot_token, cfg.allow_private) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!("telegram bot off: {}", e.message);
                return;
            }
        };
        tracing::info!("telegram bot on");
        let engine = self.clone();
        let stop = self.inner.stop.subscribe();
        let handle = tokio::spawn(async move { engine.run_bot(api, stop).await });
        self.inner.workers.lock().unwrap_or_else(|e| e.into_inner()).push(handle);
    }

    /// The long-poll loop, until the engine stops or the API says 401/409.
    async fn run_bot(&self, api: BotApi, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut errors: u32 = 0;
        loop {
            if *stop.borrow() {
                return;
            }
            // One daemon of those sharing the store polls the bot (Telegram answers one poller).
            if !self.leads().await {
                if !crate::pipeline::pause(&mut stop, Duration::from_secs(1)).await {
                    return;
                }
                continue;
            }
            let offset = match self.inner.store.kv_get(OFFSET_KEY).await {
                Ok(v) => v.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0),
                Err(e) => {
                    tracing::warn!("telegram bot: offset not read: {e}");
                    errors = errors.saturating_add(1);
                    if !crate::pipeline::pause(&mut stop, bot_backoff(errors)).await {
                        return;
                    }
                    continue;
                }
            };
            let polled = tokio::select! {
                r = api.get_updates(offset, POLL_TIMEOUT) => r,
                _ = stop.changed() => return,
            };
            match polled {
                Ok(updates) => {
                    errors = 0;
                    for u in updates {
                        let Some(id) = u.get("update_id").and_then(Value::as_i64) else { continue };
                        if id < offset {
                            continue;
                        }
                        if let Err(e) = self.handle_update(&api, &u).await {
                            tracing::warn!(update = id, "telegram bot: update not handled: {e}");
                        }
                        if let Err(e) = self.inner.store.kv_set(OFFSET_KEY, &(id + 1).to_string(), self.now()).await {
                            tracing::warn!("telegram bot: offset not stored: {e}");
                        }
                    }
                }
                Err((Some(status @ (401 | 409)), msg)) => {
                    tracing::error!(status, "telegram bot stopped: getUpdates answered {msg}");
                    return;
                }
                Err((_, msg)) => {
                    errors = errors.saturating_add(1);
                    tracing::warn!(errors, "telegram bot: getUpdates failed: {msg}");
                    if !crate::pipeline::pause(&mut stop, bot_backoff(errors)).await {
                        return;
                    }
                }
            }
        }
    }

    /// One update: a message (a command) or a callback query (a button).
    async fn handle_update(&self, api: &BotApi, u: &Value) -> Result<()> {
        if let Some(q) = u.get("callback_query") {
            let id = q.get("id").and_then(Value::as_str).unwrap_or_default();
            let chat = q.pointer("/message/chat/id").or_else(|| q.pointer("/from/id")).and_then(Value::as_i64);
            let data = q.get("data").and_then(Value::as_str).unwrap_or_default();
            let Some(chat) = chat else { return Ok(()) };
            let (toast, reply) = self.on_callback(chat, data).await?;
            answer_callback(api, id, &toast).await;
            if let Some(r) = reply {
                send(api, chat, r).await;
            }
            return Ok(());
        }
        let Some(m) = u.get("message") else { return Ok(()) };
        let (Some(chat), Some(text)) = (m.pointer("/chat/id").and_then(Value::as_i64), m.get("text").and_then(Value::as_str)) else { return Ok(()) };
        let username = m.pointer("/from/username").or_else(|| m.pointer("/chat/username")).and_then(Value::as_str);
        let reply = self.on_command(chat, username, text).await?;
        send(api, chat, reply).await;
        Ok(())
    }

    async fn role_of(&self, chat: i64) -> Result<Role> {
        Ok(self.inner.store.get_telegram_user(&chat.to_string()).await?.map(|u| Role::parse(&u.role)).unwrap_or(Role::None))
    }

    /// Audit one action of a chat.
    async fn audit_chat(&self, chat: i64, action: &str, tx: Option<(&str, &str)>, outcome: std::result::Result<&str, &str>) {
        let actor = format!("telegram:{chat}");
        let (result, severity) = match outcome {
            Ok(r) => (json!({"action": action, "result": r}), "info"),
            Err(e) => (json!({"action": action, "result": "refused", "reason": e}), "warning"),
        };
        match tx {
            Some((wallet, tx)) => self.audit_tx("TELEGRAM_ACTION", &actor, wallet, tx, Some(result), severity).await,
            None => self.inner.audit.record("TELEGRAM_ACTION", &actor, None, None, Some(result), severity, None).await,
        }
    }

    /// Refusal text when `role` is below `needed`.
    fn refused(role: Role, needed: Role) -> Option<Reply> {
        if role >= needed {
            return None;
        }
        let need = if needed == Role::Admin { "ADMIN" } else { "READONLY or ADMIN" };
        Some(plain(&match role {
            Role::None => format!("This chat is not registered. Send /start, then ask the operator for the {need} role."),
            Role::Pending => format!("This chat is waiting for the operator's approval (role PENDING); this command needs {need}."),
            _ => format!("Not allowed: this command needs the {need} role."),
        }))
    }

    async fn on_command(&self, chat: i64, username: Option<&str>, text: &str) -> Result<Reply> {
        let (cmd, arg) = command(text);
        if cmd == "/start" {
            let existing = self.inner.store.get_telegram_user(&chat.to_string()).await?;
            let user = self.inner.store.register_telegram_user(&chat.to_string(), username, self.now()).await?;
            if existing.is_none() {
                self.audit_chat(chat, "register", None, Ok("PENDING")).await;
                return Ok(plain(&format!("Registered (role PENDING). Chat id: {chat}. The operator grants a role with PUT /v1/admin/telegram-users/{chat}.")));
            }
            return Ok(plain(&format!("Already registered (role {}).", user.role)));
        }
        if cmd == "/help" {
            return Ok(plain(HELP));
        }
        let needed = match cmd.as_str() {
            "/status" | "/wallets" => Role::ReadOnly,
            "/pending" | "/killswitch" | "/sign_response" => Role::Admin,
            "/approve" | "/reject" => {
                return Ok(plain("There is no approve or reject here: an approval needs the owner's signature. Open the sign request in the owner's wallet (Open in Wallet) and send its /sign_response."))
            }
            "/newsession" => return Ok(plain("Not offered: session tokens are never handed out in a chat. Use the CLI or the REST API.")),
            _ => return Ok(plain(&format!("Unknown command {}. Send /help for the list.", if cmd.is_empty() { text.trim() } else { &cmd }))),
        };
        let role = self.role_of(chat).await?;
        if let Some(r) = Self::refused(role, needed) {
            if needed == Role::Admin {
                self.audit_chat(chat, cmd.trim_start_matches('/'), None, Err("role")).await;
            }
            return Ok(r);
        }
        match cmd.as_str() {
            "/status" => self.bot_status().await,
            "/wallets" => self.bot_wallets().await,
            "/pending" => self.bot_pending().await,
            "/killswitch" => Ok(Reply {
                text: escape_md(
                    "Activate the kill switch? Queued transactions are cancelled, wallets suspended, and the API refuses work until the operator recovers.",
                ),
                keyboard: Some(json!({"inline_keyboard": [[
                    {"text": "Yes, activate", "callback_data": "killswitch:confirm"},
                    {"text": "No", "callback_data": "killswitch:cancel"}
                ]]})),
            }),
            _ => Ok(self.bot_sign_response(chat, &arg).await),
        }
    }

    async fn bot_status(&self) -> Result<Reply> {
        let ks = self.kill_switch_status().await?;
        let wallets = self.inner.store.list_wallets(None).await?;
        let queued = self.inner.store.txs_in_status(&[TxStatus::Queued]).await?;
        let approvals = queued.iter().filter(|t| t.metadata.as_deref().is_some_and(|m| m.contains("\"approvalRequired\":true"))).count();
        Ok(plain(&format!(
            "WAIaaS status\nKill switch: {}\nWallets: {}\nApprovals waiting: {approvals}\nQueued transactions: {}",
            ks.state,
            wallets.len(),
            queued.len()
        )))
    }

    async fn bot_wallets(&self) -> Result<Reply> {
        let wallets = self.inner.store.list_wallets(None).await?;
        if wallets.is_empty() {
            return Ok(plain("No wallets."));
        }
        let lines: Vec<String> = wallets.iter().map(|w| format!("{} ({}) {}\n  {}", w.name, w.network, w.status.as_str(), w.public_key)).collect();
        Ok(plain(&format!("Wallets ({}):\n{}", wallets.len(), lines.join("\n"))))
    }

    async fn bot_pending(&self) -> Result<Reply> {
        let queued = self.inner.store.txs_in_status(&[TxStatus::Queued]).await?;
        if queued.is_empty() {
            return Ok(plain("No transactions waiting."));
        }
        let mut lines = vec![format!("Transactions waiting ({}):", queued.len())];
        let mut buttons = vec![];
        for tx in queued.iter().take(PENDING_SHOWN) {
            let approval = tx.metadata.as_deref().is_some_and(|m| m.contains("\"approvalRequired\":true"));
            let tier = if approval { "APPROVAL" } else { tx.tier.as_deref().unwrap_or("DELAY") };
            let summary = match self.inner.store.get_wallet(&tx.wallet_id).await? {
                Some(w) => {
                    let s = self.tx_summary(tx, &w).await;
                    let amount = match (s.amount, s.symbol) {
                        (Some(a), Some(sym)) => format!("{a} {sym}"),
                        (Some(a), None) => a,
                        _ => "-".into(),
                    };
                    format!("{} {amount} to {} (wallet {})", s.tx_type, if s.to.is_empty() { "-" } else { &s.to }, w.name)
                }
                None => tx.tx_type.as_str().to_string(),
            };
            lines.push(format!("{tier}: {summary}\n  {}", tx.id));
            buttons.push(json!([{"text": format!("Cancel {}", short_id(&tx.id)), "callback_data": format!("cancel:{}", tx.id)}]));
        }
        if queued.len() > PENDING_SHOWN {
            lines.push(format!("... and {} more", queued.len() - PENDING_SHOWN));
        }
        lines.push("Approvals need the owner's signature (Open in Wallet, /sign_response).".into());
        Ok(Reply { text: escape_md(&lines.join("\n")), keyboard: Some(json!({ "inline_keyboard": buttons })) })
    }

    async fn bot_sign_response(&self, chat: i64, arg: &str) -> Reply {
        let resp = match decode_sign_response(arg) {
            Ok(r) => r,
            Err(e) => {
                self.audit_chat(chat, "sign_response", None, Err(&e)).await;
                return plain(&format!("Refused: {e}"));
            }
        };
        let tx = self.inner.store.get_sign_request(resp.request_id.trim()).await.ok().flatten().map(|r| (r.wallet_id, r.tx_id));
        let tx_ref = tx.as_ref().map(|(w, t)| (w.as_str(), t.as_str()));
        match self.answer_sign_request(&resp).await {
            Ok(a) => {
                self.audit_chat(chat, "sign_response", tx_ref, Ok(&a.status)).await;
                let what = if a.status == "APPROVED" { "approved by the owner: it executes now" } else { "rejected by the owner: it is cancelled" };
                plain(&format!("Transaction {} {what}.", a.tx_id))
            }
            Err(e) => {
                self.audit_chat(chat, "sign_response", tx_ref, Err(&e.message)).await;
                plain(&format!("Refused ({}): {}", e.code, e.message))
            }
        }
    }

    /// A button: the toast for `answerCallbackQuery`, and a message for the chat if any.
    async fn on_callback(&self, chat: i64, data: &str) -> Result<(String, Option<Reply>)> {
        let (kind, arg) = data.split_once(':').unwrap_or((data, ""));
        let known = matches!((kind, arg), ("cancel", _) | ("killswitch", "confirm" | "cancel"));
        if !known || arg.is_empty() {
            return Ok(("Unknown button".into(), None));
        }
        let role = self.role_of(chat).await?;
        let action = if kind == "cancel" { "cancel" } else { "killswitch" };
        if role < Role::Admin {
            let tx = if kind == "cancel" { self.inner.store.get_tx(arg).await?.map(|t| (t.wallet_id, t.id)) } else { None };
            self.audit_chat(chat, action, tx.as_ref().map(|(w, t)| (w.as_str(), t.as_str())), Err("role")).await;
            return Ok(("Not allowed: this needs the ADMIN role".into(), None));
        }
        match (kind, arg) {
            ("killswitch", "cancel") => Ok(("Kill switch not activated".into(), Some(plain("Kill switch not activated.")))),
            ("killswitch", _) => match self.activate_kill_switch(&format!("telegram:{chat}")).await {
                Ok(st) => {
                    self.audit_chat(chat, "killswitch", None, Ok(&st.state)).await;
                    Ok(("Kill switch activated".into(), Some(plain(&format!("Kill switch activated: {}.", st.state)))))
                }
                Err(e) => {
                    self.audit_chat(chat, "killswitch", None, Err(&e.message)).await;
                    Ok((format!("Refused: {}", e.message), Some(plain(&format!("Kill switch: {}", e.message)))))
                }
            },
            _ => {
                let Some(tx) = self.inner.store.get_tx(arg).await? else {
                    self.audit_chat(chat, "cancel", None, Err("no such transaction")).await;
                    return Ok((format!("No transaction {arg}"), None));
                };
                match self.cancel_transaction(&crate::Caller::Master, &tx.id).await {
                    Ok(c) => {
                        self.audit_chat(chat, "cancel", Some((&tx.wallet_id, &tx.id)), Ok(&c.status)).await;
                        Ok(("Cancelled".into(), Some(plain(&format!("Transaction {} cancelled.", tx.id)))))
                    }
                    Err(e) => {
                        self.audit_chat(chat, "cancel", Some((&tx.wallet_id, &tx.id)), Err(&e.message)).await;
                        Ok((format!("Not cancelled: {}", e.message), None))
                    }
                }
            }
        }
    }

    /// `GET /v1/admin/telegram-users`.
    pub async fn list_telegram_users(&self) -> Result<TelegramUserList> {
        let users: Vec<TelegramUserView> = self
            .inner
            .store
            .list_telegram_users()
            .await?
            .into_iter()
            .filter_map(|u| {
                Some(TelegramUserView {
                    chat_id: u.chat_id.parse().ok()?,
                    username: u.username,
                    role: u.role,
                    registered_at: u.registered_at,
                    approved_at: u.approved_at,
                })
            })
            .collect();
        Ok(TelegramUserList { total: users.len(), users })
    }

    /// `PUT /v1/admin/telegram-users/{chatId}`: grant `ADMIN` or `READONLY` (audited).
    pub async fn update_telegram_user(&self, chat: &str, req: UpdateTelegramUser) -> Result<TelegramUserUpdated> {
        let id = chat_id(chat)?;
        let role = req.role.trim();
        if !ROLES.contains(&role) {
            return Err(Error::validation("role", "must be ADMIN or READONLY"));
        }
        let before = self.inner.store.get_telegram_user(&id.to_string()).await?.ok_or_else(|| user_not_found(id))?;
        if !self.inner.store.set_telegram_role(&id.to_string(), role, self.now()).await? {
            return Err(user_not_found(id));
        }
        let details = json!({"chatId": id, "from": before.role, "to": role});
        self.inner.audit.record("TELEGRAM_USER_ROLE_CHANGED", "master", None, None, Some(details), "info", None).await;
        Ok(TelegramUserUpdated { success: true, chat_id: id, role: role.to_string() })
    }

    /// `DELETE /v1/admin/telegram-users/{chatId}` (audited).
    pub async fn delete_telegram_user(&self, chat: &str) -> Result<TelegramUserDeleted> {
        let id = chat_id(chat)?;
        if !self.inner.store.delete_telegram_user(&id.to_string()).await? {
            return Err(user_not_found(id));
        }
        self.inner.audit.record("TELEGRAM_USER_DELETED", "master", None, None, Some(json!({"chatId": id})), "info", None).await;
        Ok(TelegramUserDeleted { success: true })
    }
}

fn short_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return id.to_string();
    }
    chars[chars.len() - 8..].iter().collect()
}

/// 1 s, 2 s, 4 s ... up to 30 s, plus up to a second of jitter.
fn bot_backoff(errors: u32) -> Duration {
    let base = Duration::from_secs(1u64 << errors.saturating_sub(1).min(5)).min(MAX_BACKOFF);
    base + Duration::from_millis(rand::random::<u64>() % 1000)
}

/// Send a reply, once more after a 429's `retry_after` (at most 5 s) or a network error.
async fn send(api: &BotApi, chat: i64, r: Reply) {
    for attempt in 0..3 {
        match api.send_message(&chat.to_string(), &r.text, r.keyboard.clone()).await {
            super::Attempt::Sent => return,
            super::Attempt::Refused(e) => {
                tracing::warn!(chat, "telegram bot: reply refused: {e}");
                return;
            }
            super::Attempt::Retry { error, after } => {
                tracing::warn!(chat, attempt, "telegram bot: reply not sent: {error}");
                tokio::time::sleep(after.unwrap_or(Duration::from_millis(500)).min(Duration::from_secs(5))).await;
            }
        }
    }
}

async fn answer_callback(api: &BotApi, id: &str, text: &str) {
    if let super::Attempt::Refused(e) | super::Attempt::Retry { error: e, .. } = api.answer_callback_query(id, Some(text)).await {
        tracing::warn!("telegram bot: answerCallbackQuery failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_sign_responses_parse() {
        assert_eq!(command("/status@waiaas_bot  "), ("/status".to_string(), String::new()));
        assert_eq!(command("/sign_response abc"), ("/sign_response".to_string(), "abc".to_string()));
        let r = json!({"version": "1", "requestId": "r1", "action": "approve", "signature": "0x00", "signerAddress": "0xab"});
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r.to_string());
        assert_eq!(decode_sign_response(&b).map(|r| r.request_id), Ok("r1".to_string()));
        assert_eq!(decode_sign_response(&format!("{b}==")).map(|r| r.action), Ok("approve".to_string()));
        assert!(decode_sign_response("").is_err());
        assert!(decode_sign_response("%%%").is_err());
        assert!(decode_sign_response(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("{}")).is_err());
        assert!(Role::Admin > Role::ReadOnly && Role::ReadOnly > Role::Pending && Role::Pending > Role::None);
        let d = bot_backoff(10);
        assert!(d >= Duration::from_secs(30) && d < Duration::from_secs(31));
    }
}
