//! Local stand-ins for third-party SaaS that speak its real wire protocol (the only fakes the
//! suite allows): the Telegram Bot API ([`telegram`]) and the Discord and Slack incoming
//! webhooks ([`webhooks`]).

pub mod telegram;
pub mod webhooks;
