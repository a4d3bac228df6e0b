//! Discord and Slack incoming webhooks, speaking their real protocol on 127.0.0.1:
//! - Discord `POST /api/webhooks/{id}/{token}`: a JSON body with `content` or `embeds`
//!   (at most 10 embeds, 25 fields each, non-empty field names and values, description
//!   ≤ 4096), answered 204; invalid bodies get Discord's 400 `{"code": 50035, ...}`; a 429
//!   carries `Retry-After` and the body's `retry_after` (seconds, as Discord sends them).
//! - Slack `POST /services/{team}/{bot}/{secret}`: a JSON body with `text` or `attachments`,
//!   answered 200 `ok`; otherwise 400 `no_text`; a 429 carries `Retry-After`.
//!
//! A test scripts the next answers ([`ChatHook::script`]), slows every answer down
//! ([`ChatHook::set_delay`]) and reads what was delivered ([`ChatHook::received`]).

use super::serve;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An answer the next request gets instead of the normal one.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// 429 with `Retry-After: secs` (and Discord's body `retry_after`).
    TooMany(f64),
    /// Any other status, with a short body.
    Status(u16),
}

#[derive(Default)]
struct HookState {
    received: Mutex<Vec<Value>>,
    /// Every request, valid or not (bodies), in order.
    requests: Mutex<Vec<Value>>,
    script: Mutex<VecDeque<Scripted>>,
    delay_ms: AtomicU64,
}

/// One fake webhook endpoint (Discord or Slack).
#[derive(Clone)]
pub struct ChatHook {
    /// The webhook URL to configure.
    pub url: String,
    state: Arc<HookState>,
}

impl ChatHook {
    /// Bodies delivered (accepted), in order.
    pub fn received(&self) -> Vec<Value> {
        self.state.received.lock().unwrap().clone()
    }
    /// How many requests came in (accepted or not).
    pub fn requests(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }
    /// Answer the next requests with these, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Scripted>) {
        self.state.script.lock().unwrap().extend(answers);
    }
    /// Forget the answers scripted and not yet given.
    pub fn clear_script(&self) {
        self.state.script.lock().unwrap().clear();
    }
    /// Wait this long before answering each request.
    pub fn set_delay(&self, d: Duration) {
        self.state.delay_ms.store(d.as_millis() as u64, Ordering::SeqCst);
    }
}

/// Take the scripted answer, after the configured delay.
async fn scripted(s: &HookState, body: &[u8]) -> Option<Scripted> {
    let delay = s.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    s.requests.lock().unwrap().push(v);
    s.script.lock().unwrap().pop_front()
}

fn too_many(secs: f64, discord: bool) -> Response {
    let body = if discord { json!({"message": "You are being rate limited.", "retry_after": secs, "global": false}) } else { json!("rate_limited") };
    (StatusCode::TOO_MANY_REQUESTS, [("retry-after", format!("{}", secs.ceil() as u64))], axum::Json(body)).into_response()
}

/// Discord's checks of an execute-webhook body; the error, if any.
fn discord_invalid(v: &Value) -> Option<String> {
    let embeds = v.get("embeds").and_then(Value::as_array);
    let content = v.get("content").and_then(Value::as_str).unwrap_or_default();
    if embeds.is_none_or(|e| e.is_empty()) && content.is_empty() {
        return Some("Cannot send an empty message".into());
    }
    for e in embeds.into_iter().flatten() {
        if e.get("description").and_then(Value::as_str).is_some_and(|d| d.chars().count() > 4096) {
            return Some("description: Must be 4096 or fewer in length.".into());
        }
        if e.get("title").and_then(Value::as_str).is_some_and(|t| t.chars().count() > 256) {
            return Some("title: Must be 256 or fewer in length.".into());
        }
        let fields = e.get("fields").and_then(Value::as_array).cloned().unwrap_or_default();
        if fields.len() > 25 {
            return Some("fields: Must be 25 or fewer in length.".into());
        }
        for f in fields {
            for k in ["name", "value"] {
                match f.get(k).and_then(Value::as_str) {
                    Some(s) if !s.is_empty() && s.chars().count() <= 1024 => {}
                    _ => return Some(format!("fields.{k}: This field is required and must be 1..1024 characters")),
                }
            }
        }
    }
    None
}

async fn discord(State(s): State<Arc<HookState>>, Path((_id, _token)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    match scripted(&s, &body).await {
        Some(Scripted::TooMany(secs)) => return too_many(secs, true),
        Some(Scripted::Status(code)) => return (StatusCode::from_u16(code).unwrap(), axum::Json(json!({"message": "scripted", "code": 0}))).into_response(),
        None => {}
    }
    if !headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("application/json")) {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"message": "Cannot send an empty message", "code": 50006}))).into_response();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"message": "The request body contains invalid JSON.", "code": 50109}))).into_response();
    };
    if let Some(e) = discord_invalid(&v) {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"message": "Invalid Form Body", "code": 50035, "errors": e}))).into_response();
    }
    s.received.lock().unwrap().push(v);
    StatusCode::NO_CONTENT.into_response()
}

async fn slack(State(s): State<Arc<HookState>>, Path((_t, _b, _x)): Path<(String, String, String)>, body: Bytes) -> Response {
    match scripted(&s, &body).await {
        Some(Scripted::TooMany(secs)) => return too_many(secs, false),
        Some(Scripted::Status(code)) => return (StatusCode::from_u16(code).unwrap(), "scripted").into_response(),
        None => {}
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else { return (StatusCode::BAD_REQUEST, "invalid_payload").into_response() };
    let has_text = v.get("text").and_then(Value::as_str).is_some_and(|t| !t.is_empty());
    let has_attachments = v.get("attachments").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    if !has_text && !has_attachments {
        return (StatusCode::BAD_REQUEST, "no_text").into_response();
    }
    s.received.lock().unwrap().push(v);
    (StatusCode::OK, "ok").into_response()
}

/// A Discord webhook: `<base>/api/webhooks/<id>/<token>`.
pub async fn discord_hook() -> ChatHook {
    let state = Arc::new(HookState::default());
    let base = serve(Router::new().route("/api/webhooks/{id}/{token}", post(discord)).with_state(state.clone())).await;
    ChatHook { url: format!("{base}/api/webhooks/1234567890/discord-webhook-token"), state }
}

/// A Slack webhook: `<base>/services/<team>/<bot>/<secret>`.
pub async fn slack_hook() -> ChatHook {
    let state = Arc::new(HookState::default());
    let base = serve(Router::new().route("/services/{t}/{b}/{x}", post(slack)).with_state(state.clone())).await;
    ChatHook { url: format!("{base}/services/T0000/B0000/slack-webhook-secret"), state }
}

/// The delivery id a Discord body carries (its embed footer).
pub fn discord_delivery(v: &Value) -> String {
    v["embeds"][0]["footer"]["text"].as_str().unwrap_or_default().to_string()
}

/// The delivery id a Slack body carries (its attachment footer).
pub fn slack_delivery(v: &Value) -> String {
    v["attachments"][0]["footer"].as_str().unwrap_or_default().to_string()
}
