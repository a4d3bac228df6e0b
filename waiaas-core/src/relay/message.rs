//! The native push built from a `/v1/push` request: title, body, flat string data (every
//! payload entry; non-strings as their JSON text), the category and its priority, with the
//! configured payload transformer applied. And [`token_ref`], the only way a push token (or
//! subscription token) reaches a log line.

use super::config::PayloadConfig;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The category whose pushes are urgent (an owner approval waits on them).
pub const SIGN_REQUEST: &str = "sign_request";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    High,
    Normal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PushMessage {
    pub title: String,
    pub body: String,
    pub data: BTreeMap<String, String>,
    pub category: String,
    pub priority: Priority,
}

/// A payload value as push data: strings as they are, anything else as its JSON text.
fn flat(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// JavaScript's `payload[k] || fallback` for the title and body.
fn text_or(payload: &Map<String, Value>, key: &str, fallback: &str) -> String {
    match payload.get(key) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => fallback.to_string(),
        Some(Value::String(s)) if s.is_empty() => fallback.to_string(),
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => fallback.to_string(),
        Some(v) => flat(v),
    }
}

impl PushMessage {
    /// The message for `category` and `payload`, transformed by `transform`:
    /// `data = {...static_fields, ...category_map[category], ...payload}` (the payload wins).
    pub fn build(category: &str, payload: &Map<String, Value>, transform: &PayloadConfig) -> PushMessage {
        let sign = category == SIGN_REQUEST;
        let default_body = if sign { "Transaction approval required" } else { "WAIaaS notification" };
        let mut data: BTreeMap<String, String> = transform.static_fields.clone();
        if let Some(extra) = transform.category_map.get(category) {
            data.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        data.extend(payload.iter().map(|(k, v)| (k.clone(), flat(v))));
        PushMessage {
            title: text_or(payload, "title", category),
            body: text_or(payload, "body", default_body),
            data,
            category: category.to_string(),
            priority: if sign { Priority::High } else { Priority::Normal },
        }
    }
}

/// `tok:<8 hex>`: a short hash standing for a token in logs (never the token itself).
pub fn token_ref(token: &str) -> String {
    let h = Sha256::digest(token.as_bytes());
    format!("tok:{}", hex::encode(&h[..4]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_priorities_flat_data_and_transformer() {
        let mut t = PayloadConfig::default();
        t.static_fields.insert("app".into(), "dcent".into());
        t.static_fields.insert("requestId".into(), "static".into());
        t.category_map.insert("sign_request".into(), BTreeMap::from([("sound".into(), "alert".into()), ("app".into(), "over".into())]));
        let p = json!({"requestId": "r1", "metadata": {"a": 1}, "n": 5}).as_object().unwrap().clone();
        let m = PushMessage::build("sign_request", &p, &t);
        assert_eq!((m.title.as_str(), m.body.as_str(), m.priority), ("sign_request", "Transaction approval required", Priority::High));
        assert_eq!(m.data["requestId"], "r1");
        assert_eq!(m.data["metadata"], r#"{"a":1}"#);
        assert_eq!(m.data["n"], "5");
        assert_eq!(m.data["app"], "over");
        assert_eq!(m.data["sound"], "alert");
        let p = json!({"title": "T", "body": "B"}).as_object().unwrap().clone();
        let m = PushMessage::build("notification", &p, &t);
        assert_eq!((m.title.as_str(), m.body.as_str(), m.priority), ("T", "B", Priority::Normal));
        assert!(!m.data.contains_key("sound"));
        assert_eq!(PushMessage::build("notification", &Map::new(), &t).body, "WAIaaS notification");
    }

    #[test]
    fn token_ref_hides_the_token() {
        let r = token_ref("fcm-token-abcdef");
        assert!(r.starts_with("tok:") && r.len() == 12 && !r.contains("abcdef"));
    }
}
