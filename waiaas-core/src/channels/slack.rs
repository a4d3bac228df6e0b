//! Slack: the body of an incoming-webhook POST ([`super::JsonWebhook`]): one attachment
//! (upstream's layout: `[WAIaaS] title`, the body as text, colour by event, short fields),
//! the delivery id as footer.

use super::Message;
use serde_json::{json, Value};

/// The webhook body of `m`.
pub fn render(m: &Message) -> Value {
    let fields: Vec<Value> = m.fields.iter().map(|(k, v)| json!({"title": k, "value": v, "short": true})).collect();
    json!({
        "attachments": [{
            "fallback": m.text(),
            "color": format!("#{:06x}", super::discord::color(&m.event)),
            "title": format!("[WAIaaS] {}", m.title),
            "text": m.body,
            "fields": fields,
            "footer": m.delivery_id,
            "ts": m.timestamp,
        }]
    })
}
