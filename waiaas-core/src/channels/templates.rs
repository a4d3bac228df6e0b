//! Message templates: data, not code. The English set is built in (`templates/en.json`);
//! `notifications.templates_file` names a JSON file of the same shape whose entries replace
//! or add to it (a second language is one such file).
//!
//! An entry, keyed by our event type: `{event, category, title, body, broadcast?}` where
//! `event` is upstream's name of the event (what `notify_events` may list and the log
//! shows), `category` one of upstream's categories, and `title`/`body` text with
//! `{placeholders}`: `wallet`, `txId`, `type`, `amount`, `to`, `tier`, `delaySeconds`,
//! `executeAfter`, `txHash`, `error`, `reason`, `rule`, `actor`, `channel`. A placeholder
//! without a value reads `-`. `broadcast` events pass every filter.

use super::ChannelsConfig;
use crate::error::{Error, Result};
use crate::services::notify::Event;
use serde::Deserialize;
use std::collections::HashMap;

const EN: &str = include_str!("templates/en.json");

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Template {
    pub event: String,
    pub category: String,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub broadcast: bool,
}

/// The template set in effect.
#[derive(Debug, Clone)]
pub struct Templates {
    by_event: HashMap<String, Template>,
}

fn parse(what: &str, text: &str) -> Result<HashMap<String, Template>> {
    serde_json::from_str(text).map_err(|e| Error::validation("notifications.templates_file", format!("{what} does not parse: {e}")))
}

impl Templates {
    /// The built-in set, with `notifications.templates_file` applied over it.
    pub fn load(cfg: &ChannelsConfig) -> Result<Templates> {
        let mut by_event = parse("the built-in template set", EN)?;
        if !cfg.templates_file.is_empty() {
            let text = std::fs::read_to_string(&cfg.templates_file)
                .map_err(|e| Error::validation("notifications.templates_file", format!("{} cannot be read: {e}", cfg.templates_file)))?;
            by_event.extend(parse(&cfg.templates_file, &text)?);
        }
        Ok(Templates { by_event })
    }

    pub fn get(&self, event_type: &str) -> Option<&Template> {
        self.by_event.get(event_type)
    }

    /// The template of `event` if the channels deliver it under `cfg`'s filters.
    pub fn for_event(&self, event: &Event, cfg: &ChannelsConfig) -> Option<&Template> {
        if event.event_type == "NOTIFICATION_TEST" {
            return None;
        }
        let t = self.by_event.get(&event.event_type)?;
        if event.event_type == "TX_REQUESTED" && event.details.get("tier").and_then(|v| v.as_str()) == Some("INSTANT") {
            return None;
        }
        if t.broadcast {
            return Some(t);
        }
        if !cfg.notify_events.is_empty() {
            return cfg.notify_events.iter().any(|e| *e == t.event || *e == event.event_type).then_some(t);
        }
        if !cfg.notify_categories.is_empty() {
            return cfg.notify_categories.contains(&t.category).then_some(t);
        }
        Some(t)
    }
}

/// `text` with each `{name}` replaced by its value in `vars` (`-` when it has none).
pub fn fill(text: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && close > 0 => {
                let name = &after[..close];
                match vars.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) if !v.is_empty() => out.push_str(v),
                    _ => out.push('-'),
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
