//! A fake Telegram Bot API on `127.0.0.1:<port>` speaking the real protocol at
//! `/bot<token>/<method>` with the `{ok, result}` envelope:
//! - `sendMessage`: recorded (`chat_id`, `text`, `parse_mode`, `reply_markup`), answered with
//!   a message; MarkdownV2 text is checked like Telegram does (every reserved character
//!   outside an entity escaped) and refused with 400 `can't parse entities` otherwise; the
//!   next N calls can be answered 429 with `parameters.retry_after`;
//! - `getUpdates`: a long poll honouring `offset` (updates below it are confirmed and
//!   dropped, as Telegram does) and `timeout` (waits until an update is injected);
//! - `answerCallbackQuery`: recorded;
//! - a wrong token: 401 `Unauthorized`.
//!
//! The test side injects updates (a message from a chat, a button press) and reads what the
//! bot sent.

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Characters MarkdownV2 reserves.
const RESERVED: &str = "_*[]()~`>#+-=|{}.!";

#[derive(Default)]
struct Inner {
    next_update_id: i64,
    next_message_id: i64,
    /// Updates not yet confirmed by a higher `offset`.
    pending: Vec<Value>,
    /// Every update ever injected (for [`FakeTelegram::forget_confirmations`]).
    all: Vec<Value>,
    sent: Vec<Value>,
    refused: Vec<(Value, u16, String)>,
    callback_answers: Vec<Value>,
    offsets: Vec<i64>,
    fail_sends: u32,
    /// Calls with a wrong token, by method.
    unauthorized: Vec<String>,
}

struct State {
    token: String,
    inner: Mutex<Inner>,
}

/// The running fake (stops with the test's runtime).
#[derive(Clone)]
pub struct FakeTelegram {
    /// `http://127.0.0.1:<port>`: the `telegram.api_base_url` to give the daemon.
    pub base: String,
    pub token: String,
    state: Arc<State>,
}

/// Check MarkdownV2 as Telegram does (a simple parser): `\` escapes the next character;
/// `*bold*`, `_italic_`, `` `code` `` and `[text](url)` are entities; any other reserved
/// character must be escaped. `Err` carries Telegram's description.
pub fn check_markdown_v2(text: &str) -> Result<(), String> {
    let c: Vec<char> = text.chars().collect();
    let (mut bold, mut italic, mut in_link) = (false, false, false);
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '\\' => {
                if i + 1 >= c.len() {
                    return Err("Can't parse entities: unexpected end of text after '\\'".into());
                }
                i += 1;
            }
            '*' => bold = !bold,
            '_' => italic = !italic,
            '`' => {
                // Inline code: up to the next unescaped backtick.
                let mut j = i + 1;
                while j < c.len() && c[j] != '`' {
                    j += if c[j] == '\\' { 2 } else { 1 };
                }
                if j >= c.len() {
                    return Err("Can't find end of Code entity".into());
                }
                i = j;
            }
            '[' if !in_link => in_link = true,
            ']' if in_link => {
                in_link = false;
                if c.get(i + 1) != Some(&'(') {
                    return Err("Character ']' is reserved and must be escaped with the preceding '\\'".into());
                }
                let mut j = i + 2;
                while j < c.len() && c[j] != ')' {
                    j += if c[j] == '\\' { 2 } else { 1 };
                }
                if j >= c.len() {
                    return Err("Can't find end of a URL".into());
                }
                i = j;
            }
            ch if RESERVED.contains(ch) => return Err(format!("Character '{ch}' is reserved and must be escaped with the preceding '\\'")),
            _ => {}
        }
        i += 1;
    }
    if bold || italic || in_link {
        return Err("Can't find end of the entity".into());
    }
    Ok(())
}

fn reply(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

fn error(code: u16, description: &str) -> Response {
    reply(StatusCode::from_u16(code).unwrap(), json!({"ok": false, "error_code": code, "description": description}))
}

async fn handle(state: Arc<State>, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().trim_start_matches('/');
    let Some((bot, method)) = path.split_once('/') else { return error(404, "Not Found") };
    if bot.strip_prefix("bot") != Some(state.token.as_str()) {
        state.inner.lock().unwrap().unauthorized.push(method.to_string());
        return error(401, "Unauthorized");
    }
    let body: Value = if body.is_empty() { json!({}) } else { serde_json::from_slice(&body).unwrap_or(json!({})) };
    match method {
        "sendMessage" => {
            let mut g = state.inner.lock().unwrap();
            if g.fail_sends > 0 {
                g.fail_sends -= 1;
                let d = "Too Many Requests: retry after 1";
                g.refused.push((body, 429, d.into()));
                return reply(StatusCode::TOO_MANY_REQUESTS, json!({"ok": false, "error_code": 429, "description": d, "parameters": {"retry_after": 1}}));
            }
            let text = body["text"].as_str().unwrap_or_default().to_string();
            if body["chat_id"].is_null() || text.is_empty() {
                g.refused.push((body, 400, "Bad Request: message text is empty".into()));
                return error(400, "Bad Request: message text is empty");
            }
            if body["parse_mode"] == "MarkdownV2" {
                if let Err(e) = check_markdown_v2(&text) {
                    let d = format!("Bad Request: can't parse entities: {e}");
                    g.refused.push((body, 400, d.clone()));
                    return error(400, &d);
                }
            }
            g.next_message_id += 1;
            let mut rec = body.clone();
            rec["message_id"] = g.next_message_id.into();
            g.sent.push(rec);
            let chat = body["chat_id"].clone();
            let id = g.next_message_id;
            reply(StatusCode::OK, json!({"ok": true, "result": {"message_id": id, "chat": {"id": chat, "type": "private"}, "date": 0, "text": text}}))
        }
        "answerCallbackQuery" => {
            state.inner.lock().unwrap().callback_answers.push(body);
            reply(StatusCode::OK, json!({"ok": true, "result": true}))
        }
        "getUpdates" => {
            let offset = body["offset"].as_i64().unwrap_or(0);
            let timeout = body["timeout"].as_u64().unwrap_or(0).min(60);
            let deadline = Instant::now() + Duration::from_secs(timeout);
            {
                let mut g = state.inner.lock().unwrap();
                g.offsets.push(offset);
                g.pending.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            }
            loop {
                let ready: Vec<Value> = state.inner.lock().unwrap().pending.iter().take(100).cloned().collect();
                if !ready.is_empty() || Instant::now() >= deadline {
                    return reply(StatusCode::OK, json!({"ok": true, "result": ready}));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        "getMe" => reply(StatusCode::OK, json!({"ok": true, "result": {"id": 1, "is_bot": true, "first_name": "WAIaaS", "username": "waiaas_test_bot"}})),
        _ => error(404, "Not Found: method not found"),
    }
}

impl FakeTelegram {
    /// Serve a bot with `token` on an ephemeral port.
    pub async fn start(token: &str) -> FakeTelegram {
        let state = Arc::new(State { token: token.to_string(), inner: Mutex::new(Inner { next_update_id: 1000, ..Default::default() }) });
        let s = state.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, body: Bytes| handle(s.clone(), uri, body));
        let base = super::serve(app).await;
        FakeTelegram { base, token: token.to_string(), state }
    }

    fn push(&self, make: impl FnOnce(i64) -> Value) -> i64 {
        let mut g = self.state.inner.lock().unwrap();
        g.next_update_id += 1;
        let id = g.next_update_id;
        let u = make(id);
        g.pending.push(u.clone());
        g.all.push(u);
        id
    }

    /// A text message from private chat `chat` (user `username`); returns the update id.
    pub fn message(&self, chat: i64, username: &str, text: &str) -> i64 {
        self.push(|id| {
            json!({"update_id": id, "message": {
                "message_id": id, "date": 0, "text": text,
                "from": {"id": chat, "is_bot": false, "first_name": username, "username": username},
                "chat": {"id": chat, "type": "private", "username": username}
            }})
        })
    }

    /// A press of the inline button carrying `data` in chat `chat`; returns the callback
    /// query id.
    pub fn press(&self, chat: i64, data: &str) -> String {
        let qid = format!("cbq-{}", rand::random::<u32>());
        let q = qid.clone();
        self.push(|id| {
            json!({"update_id": id, "callback_query": {
                "id": q, "data": data, "chat_instance": "1",
                "from": {"id": chat, "is_bot": false, "first_name": "u"},
                "message": {"message_id": 1, "date": 0, "chat": {"id": chat, "type": "private"}, "text": "..."}
            }})
        });
        qid
    }

    /// Answer the next `n` `sendMessage` calls with 429 (`retry_after` 1 s).
    pub fn fail_next_sends(&self, n: u32) {
        self.state.inner.lock().unwrap().fail_sends = n;
    }

    /// As if Telegram never got the bot's confirmations: every update injected so far is
    /// handed out again to an `offset` that does not skip it.
    pub fn forget_confirmations(&self) {
        let mut g = self.state.inner.lock().unwrap();
        g.pending = g.all.clone();
    }

    /// Every accepted `sendMessage` body (with its `message_id`).
    pub fn sent(&self) -> Vec<Value> {
        self.state.inner.lock().unwrap().sent.clone()
    }

    /// Accepted messages to `chat`.
    pub fn sent_to(&self, chat: &str) -> Vec<Value> {
        self.sent().into_iter().filter(|m| m["chat_id"].as_str() == Some(chat) || m["chat_id"].as_i64().is_some_and(|c| c.to_string() == chat)).collect()
    }

    /// Refused `sendMessage` calls: body, status, description.
    pub fn refused(&self) -> Vec<(Value, u16, String)> {
        self.state.inner.lock().unwrap().refused.clone()
    }

    pub fn callback_answers(&self) -> Vec<Value> {
        self.state.inner.lock().unwrap().callback_answers.clone()
    }

    /// The methods called with a wrong token, in order.
    pub fn unauthorized(&self) -> Vec<String> {
        self.state.inner.lock().unwrap().unauthorized.clone()
    }

    /// The `offset` of every `getUpdates` call, in order.
    pub fn offsets(&self) -> Vec<i64> {
        self.state.inner.lock().unwrap().offsets.clone()
    }

    /// The first message to `chat` after the first `skip` ones whose text contains `needle`,
    /// waiting up to `timeout`.
    pub async fn wait_message(&self, chat: &str, skip: usize, needle: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = self.sent_to(chat).into_iter().skip(skip).find(|m| m["text"].as_str().unwrap_or_default().contains(needle)) {
                return m;
            }
            if Instant::now() > deadline {
                panic!("no message to {chat} containing {needle:?} within {timeout:?}; sent: {:#?}; refused: {:?}", self.sent_to(chat), self.refused());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The answer to callback query `id`, waiting up to `timeout`.
    pub async fn wait_callback_answer(&self, id: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(a) = self.callback_answers().into_iter().find(|a| a["callback_query_id"] == id) {
                return a;
            }
            assert!(Instant::now() < deadline, "no answerCallbackQuery for {id}; answers {:?}", self.callback_answers());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_markdown_v2;

    #[test]
    fn markdown_v2_checker() {
        assert!(check_markdown_v2("*Title*\n\nAmount: 1\\.5 ETH \\(x\\)").is_ok());
        assert!(check_markdown_v2("[View](https://x.io/a_b.c)").is_ok());
        assert!(check_markdown_v2("_ref tg:1_").is_ok());
        assert!(check_markdown_v2("1.5 ETH").is_err());
        assert!(check_markdown_v2("a-b").is_err());
        assert!(check_markdown_v2("*open").is_err());
        assert!(check_markdown_v2("x\\").is_err());
    }
}
