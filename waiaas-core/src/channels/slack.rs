//! Slack: an incoming-webhook POST with one attachment (upstream's layout: `[WAIaaS] title`,
//! the body as text, colour by event, short fields), the delivery id as footer.

use super::{http_client, post_json, Attempt, Channel, ChannelsConfig, Message};
use crate::error::Result;
use async_trait::async_trait;
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

pub struct SlackChannel {
    http: reqwest::Client,
    url: String,
}

impl SlackChannel {
    pub fn new(cfg: &ChannelsConfig) -> Result<SlackChannel> {
        Ok(SlackChannel { http: http_client(cfg.allow_private)?, url: cfg.slack_webhook_url.clone() })
    }
}

#[async_trait]
impl Channel for SlackChannel {
    fn kind(&self) -> &'static str {
        "slack"
    }
    async fn send(&self, m: &Message) -> Attempt {
        post_json(&self.http, &self.url, &render(m)).await
    }
}
