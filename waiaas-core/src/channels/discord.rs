//! Discord: the body of an incoming-webhook POST ([`super::JsonWebhook`]): one embed
//! (upstream's layout: title, the body as description, colour by event, a field per wallet
//! detail), the delivery id as footer. Buttons are not rendered (upstream rendered the
//! Telegram keyboard as a field).

use super::Message;
use serde_json::{json, Value};

/// Upstream's colours: red for kill switch, AutoStop and suspension; orange for failures,
/// violations and expiries; green for confirmations and recoveries; blue otherwise.
pub fn color(event: &str) -> u32 {
    if ["KILL_SWITCH", "AUTO_STOP", "SUSPENDED"].iter().any(|k| event.contains(k)) {
        0xff0000
    } else if ["FAILED", "VIOLATION", "EXPIRED", "DENIED"].iter().any(|k| event.contains(k)) {
        0xff8c00
    } else if ["CONFIRMED", "RECOVERED", "VERIFIED"].iter().any(|k| event.contains(k)) {
        0x00ff00
    } else {
        0x0099ff
    }
}

/// The webhook body of `m` (at most 25 fields, Discord's limit).
pub fn render(m: &Message) -> Value {
    let fields: Vec<Value> = m.fields.iter().take(25).map(|(k, v)| json!({"name": k, "value": v, "inline": true})).collect();
    json!({
        "embeds": [{
            "title": m.title,
            "description": m.body,
            "color": color(&m.event),
            "fields": fields,
            "footer": {"text": m.delivery_id},
            "timestamp": crate::clock::iso_ms(m.timestamp * 1000),
        }]
    })
}
