//! Notification channels for people, over real sockets: the `waiaas` daemon, anvil, a local
//! Telegram Bot API and Discord and Slack webhooks that speak those services' protocol
//! (`waiaas_e2e::fakes`), and a real SMTP server (aiosmtpd, STARTTLS and AUTH; see
//! `email_channel.rs`).
//!
//! Checked: a NOTIFY send reaches all four channels exactly once each (not only the first
//! that succeeds, as upstream); a provider's 429 is retried after its `Retry-After`, a 5xx is
//! retried, a 4xx is not, and every attempt is in `GET /v1/admin/notifications/log` under one
//! delivery id; the admin routes (status, test, log) answer upstream's shapes and refuse bad
//! input; the daemon stopped (SIGTERM) and killed (SIGKILL) in the middle of a burst of 50
//! events delivers every event to all four channels afterwards, a redelivery carrying the
//! same delivery id.

use super::email_channel::{SmtpServer, SMTP_PASSWORD, SMTP_USER};
use super::owner_control::Node;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use waiaas_e2e::fakes::telegram::FakeTelegram;
use waiaas_e2e::fakes::webhooks::{discord_delivery, discord_hook, slack_delivery, slack_hook, ChatHook, Scripted};
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

/// $10 at the configured price of 2000 USD/ETH.
const TEN_USD_WEI: &str = "5000000000000000";

struct Hooks {
    discord: ChatHook,
    slack: ChatHook,
}

async fn hooks() -> Hooks {
    Hooks { discord: discord_hook().await, slack: slack_hook().await }
}

fn options(node: Option<&Node>, h: &Hooks) -> Options {
    let mut o = Options::default()
        .env("WAIAAS_PRICES_ETH", "2000")
        .env("WAIAAS_NOTIFICATIONS_ENABLED", "true")
        .env("WAIAAS_NOTIFICATIONS_DISCORD_WEBHOOK_URL", &h.discord.url)
        .env("WAIAAS_NOTIFICATIONS_SLACK_WEBHOOK_URL", &h.slack.url)
        .env("WAIAAS_NOTIFICATIONS_RATE_LIMIT_RPM", "0")
        .env("WAIAAS_NOTIFICATIONS_RETRY_BASE_MS", "100")
        .env("WAIAAS_SECURITY_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("WAIAAS_SECURITY_MAX_SESSIONS_PER_WALLET", "1000");
    if let Some(n) = node {
        o = o.env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &n.url());
    }
    o
}

const TG_TOKEN: &str = "424242:all-channels-token";
const TG_CHAT: &str = "-100777";

/// All four channels: the webhooks, a Telegram Bot API and an SMTP server with its CA.
struct AllFour {
    hooks: Hooks,
    tg: FakeTelegram,
    smtp: SmtpServer,
    certs: tempfile::TempDir,
}

async fn all_four() -> AllFour {
    let certs = tempfile::tempdir().unwrap();
    waiaas_testnodes::tls::make_certs(certs.path());
    let smtp = SmtpServer::start(certs.path(), false);
    AllFour { hooks: hooks().await, tg: FakeTelegram::start(TG_TOKEN).await, smtp, certs }
}

impl AllFour {
    fn options(&self, node: Option<&Node>) -> Options {
        options(node, &self.hooks)
            .env("WAIAAS_TELEGRAM_BOT_TOKEN", TG_TOKEN)
            .env("WAIAAS_TELEGRAM_API_BASE_URL", &self.tg.base)
            .env("WAIAAS_NOTIFICATIONS_TELEGRAM_CHAT_ID", TG_CHAT)
            .env("WAIAAS_NOTIFICATIONS_SMTP_HOST", "127.0.0.1")
            .env("WAIAAS_NOTIFICATIONS_SMTP_PORT", &self.smtp.port.to_string())
            .env("WAIAAS_NOTIFICATIONS_SMTP_USERNAME", SMTP_USER)
            .env("WAIAAS_NOTIFICATIONS_SMTP_PASSWORD", SMTP_PASSWORD)
            .env("WAIAAS_NOTIFICATIONS_SMTP_FROM", "alerts@waiaas.test")
            .env("WAIAAS_NOTIFICATIONS_SMTP_TO", "ops@example.com")
            .env("WAIAAS_NOTIFICATIONS_SMTP_CA_FILE", self.certs.path().join("ca.pem").to_str().unwrap())
    }

    /// (title line, delivery id) of every Telegram notification to the chat.
    fn telegram(&self) -> Vec<(String, String)> {
        self.tg
            .sent_to(TG_CHAT)
            .iter()
            .map(|m| {
                let text = m["text"].as_str().unwrap_or_default().replace('\\', "");
                let title = text.lines().next().unwrap_or_default().trim_matches('*').to_string();
                let delivery = text.lines().last().unwrap_or_default().trim_matches('_').trim_start_matches("ref ").to_string();
                (format!("{title}\n{text}"), delivery)
            })
            .collect()
    }

    /// (subject and body, delivery id) of every mail.
    fn email(&self) -> Vec<(String, String)> {
        self.smtp
            .mails()
            .iter()
            .map(|m| {
                let subject = m["headers"]["Subject"].as_str().unwrap_or_default().trim_start_matches("[WAIaaS] ").to_string();
                let body = m["body"].as_str().unwrap_or_default().replace("\r\n", "\n");
                (format!("{subject}\n{body}"), m["headers"]["X-WAIaaS-Delivery"].as_str().unwrap_or_default().to_string())
            })
            .collect()
    }

    /// (text, delivery id) of what each channel received, by channel.
    fn by_channel(&self) -> Vec<(&'static str, Vec<(String, String)>)> {
        vec![
            ("telegram", self.telegram()),
            ("discord", self.hooks.discord.received().iter().map(|v| (discord_text(v), discord_delivery(v))).collect()),
            ("slack", self.hooks.slack.received().iter().map(|v| (slack_text(v), slack_delivery(v))).collect()),
            ("email", self.email()),
        ]
    }

    /// Wait until every channel received something `pred` accepts.
    async fn until_all(&self, what: &str, pred: impl Fn(&[(String, String)]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let got = self.by_channel();
            if got.iter().all(|(_, msgs)| pred(msgs)) {
                return;
            }
            let missing: Vec<_> = got.iter().filter(|(_, m)| !pred(m)).map(|(c, m)| (c, m.len())).collect();
            assert!(Instant::now() < deadline, "{what}: not on every channel in 40 s; missing on {missing:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Wait until `pred` holds for what `hook` received.
async fn until(hook: &ChatHook, what: &str, pred: impl Fn(&[Value]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = hook.received();
        if pred(&r) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: not delivered in 30 s; received {r:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn discord_text(v: &Value) -> String {
    format!("{}\n{}", v["embeds"][0]["title"].as_str().unwrap_or_default(), v["embeds"][0]["description"].as_str().unwrap_or_default())
}

fn slack_text(v: &Value) -> String {
    v["attachments"][0]["fallback"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notify_send_reaches_all_four_channels_exactly_once_each() {
    let node = Node::start();
    let all = all_four().await;
    let d = Daemon::start(all.options(Some(&node)));
    let api = Api::new(&d.base);
    let status = api.call("GET", "/v1/admin/notifications/status", &Api::master(), None).await;
    assert!(status.body["channels"].as_array().unwrap().iter().all(|c| c["enabled"] == true), "{:?}", status.body);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "ops-wallet", "chain": "ethereum"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let (wallet, addr) = (w.body["id"].as_str().unwrap().to_string(), w.body["publicKey"].as_str().unwrap().to_string());
    let token = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    node.fund(&addr);
    api.create_policy(&wallet, "SPENDING_LIMIT", json!({"instant_max_usd": 1, "notify_max_usd": 100, "delay_max_usd": 1000, "delay_seconds": 60})).await;
    let r = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[5], "amount": TEN_USD_WEI}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let tx = r.body["id"].as_str().unwrap().to_string();
    let t = api.wait_tx(&token, &tx, IN_FLIGHT, Duration::from_secs(30)).await;
    assert_eq!(t["status"], "CONFIRMED", "{t}");
    assert_eq!(t["tier"], "NOTIFY", "{t}");

    // Every channel gets the NOTIFY message and, after it, the confirmation.
    let requested = |text: &str| text.starts_with("Transaction Requested\n") && text.contains(&tx);
    let confirmed = |text: &str| text.starts_with("Transaction Confirmed\n");
    all.until_all("the confirmation", |m| m.iter().any(|(t, _)| confirmed(t))).await;
    for (channel, msgs) in all.by_channel() {
        let notify: Vec<&(String, String)> = msgs.iter().filter(|(t, _)| requested(t)).collect();
        assert_eq!(notify.len(), 1, "{channel}: {msgs:#?}");
        assert!(notify[0].0.contains("0.005 ETH") && notify[0].0.contains("Tier: NOTIFY"), "{channel}: the amount in ETH and the tier: {}", notify[0].0);
        assert!(notify[0].1.starts_with(&format!("{channel}:")), "{channel}: {:?}", notify[0].1);
        // The INSTANT tier notifies nobody; every delivery id arrives once per channel.
        let ids: Vec<&String> = msgs.iter().map(|(_, id)| id).collect();
        let unique: HashSet<&&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{channel} got a delivery twice: {ids:?}");
    }
    let d_req = all.hooks.discord.received().into_iter().find(|v| requested(&discord_text(v))).unwrap();
    let fields: Vec<(&str, &str)> =
        d_req["embeds"][0]["fields"].as_array().unwrap().iter().map(|f| (f["name"].as_str().unwrap(), f["value"].as_str().unwrap())).collect();
    assert!(fields.contains(&("Wallet", "ops-wallet")) && fields.contains(&("Network", "ethereum-sepolia")), "{fields:?}");
    assert!(all.tg.refused().is_empty(), "every Telegram message was valid MarkdownV2: {:?}", all.tg.refused());
    // The delivery log has one `sent` row per delivery.
    for (channel, msgs) in all.by_channel() {
        let log = api.call("GET", &format!("/v1/admin/notifications/log?channel={channel}&status=sent&pageSize=100"), &Api::master(), None).await;
        assert_eq!(log.status, 200, "{:?}", log.body);
        assert_eq!(log.body["total"].as_i64().unwrap() as usize, msgs.len(), "{channel}: {:?}", log.body);
        assert!(log.body["logs"].as_array().unwrap().iter().any(|l| l["eventType"] == "TX_REQUESTED" && l["walletId"] == wallet.as_str()), "{:?}", log.body);
    }
}

/// Rows of the delivery log for one channel, oldest first.
async fn log_rows(api: &Api, channel: &str) -> Vec<Value> {
    let r = api.call("GET", &format!("/v1/admin/notifications/log?channel={channel}&pageSize=100"), &Api::master(), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut rows = r.body["logs"].as_array().unwrap().clone();
    rows.reverse();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_5xx_is_retried_and_other_4xx_is_not() {
    let h = hooks().await;
    let d = Daemon::start(options(None, &h));
    let api = Api::new(&d.base);
    h.discord.script([Scripted::TooMany(1.0), Scripted::TooMany(1.0)]);
    h.slack.script([Scripted::Status(400)]);
    let started = Instant::now();
    let r = api.call("POST", "/v1/admin/kill-switch", &Api::master(), None).await;
    assert!(r.status < 300, "{:?}", r.body);
    until(&h.discord, "discord after two 429s", |r| r.iter().any(|v| discord_text(v).starts_with("Kill Switch Activated"))).await;
    assert!(started.elapsed() >= Duration::from_secs(2), "two waits of Retry-After: 1 s, took {:?}", started.elapsed());
    assert_eq!(h.discord.requests(), 3);
    let rows = log_rows(&api, "discord").await;
    let statuses: Vec<(&str, i64)> = rows.iter().map(|r| (r["status"].as_str().unwrap(), r["attempt"].as_i64().unwrap())).collect();
    assert_eq!(statuses, vec![("failed", 1), ("failed", 2), ("sent", 3)], "{rows:#?}");
    assert!(rows[0]["error"].as_str().unwrap().starts_with("429"), "{rows:#?}");
    assert!(rows.iter().all(|r| r["deliveryId"] == rows[0]["deliveryId"]), "one delivery id for every attempt");
    // The 400 was not retried (the 429s above took 2 s: time enough for a retry to show).
    assert_eq!(h.slack.requests(), 1);
    assert!(h.slack.received().is_empty());
    let rows = log_rows(&api, "slack").await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert!(rows[0]["status"] == "failed" && rows[0]["error"].as_str().unwrap().starts_with("400"), "{rows:#?}");
    // A 5xx is retried, with backoff, until it goes through.
    h.slack.script([Scripted::Status(503), Scripted::Status(502), Scripted::Status(500), Scripted::Status(503)]);
    let r = api.call("POST", "/v1/admin/kill-switch/escalate", &Api::master(), None).await;
    assert!(r.status < 300, "{:?}", r.body);
    until(&h.slack, "slack after four 5xx", |r| r.iter().any(|v| slack_text(v).starts_with("Kill Switch Locked"))).await;
    assert_eq!(h.slack.requests(), 6);
    // No secret in any log row: the webhook URLs carry their tokens.
    let all = api.call("GET", "/v1/admin/notifications/log?pageSize=100", &Api::master(), None).await;
    let text = all.body.to_string();
    assert!(!text.contains("discord-webhook-token") && !text.contains("slack-webhook-secret"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_down_holds_its_events_until_they_are_too_old_and_the_others_go_on() {
    let h = hooks().await;
    let d = Daemon::start(options(None, &h).env("WAIAAS_NOTIFICATIONS_MAX_EVENT_AGE_SEC", "3"));
    let api = Api::new(&d.base);
    // Slack is down (503 on every attempt) for longer than an event may wait.
    h.slack.script(std::iter::repeat_n(Scripted::Status(503), 1000));
    let r = api.call("POST", "/v1/admin/kill-switch", &Api::master(), None).await;
    assert!(r.status < 300, "{:?}", r.body);
    // Discord is not held up by slack.
    until(&h.discord, "discord while slack is down", |r| r.iter().any(|v| discord_text(v).starts_with("Kill Switch Activated"))).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while log_rows(&api, "slack").await.len() < 3 {
        assert!(Instant::now() < deadline, "slack is retried while down");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The outage ends after the event is older than max_event_age_sec: it was given up, and
    // the next event goes through.
    tokio::time::sleep(Duration::from_secs(4)).await;
    h.slack.clear_script();
    let r = api.call("POST", "/v1/admin/kill-switch/escalate", &Api::master(), None).await;
    assert!(r.status < 300, "{:?}", r.body);
    until(&h.slack, "slack after the outage", |r| r.iter().any(|v| slack_text(v).starts_with("Kill Switch Locked"))).await;
    let received: Vec<String> = h.slack.received().iter().map(slack_text).collect();
    assert!(!received.iter().any(|t| t.starts_with("Kill Switch Activated")), "given up, not delivered late: {received:?}");
    let rows = log_rows(&api, "slack").await;
    let activated: Vec<&Value> = rows.iter().filter(|r| r["eventType"] == "KILL_SWITCH_ACTIVATED").collect();
    assert!(activated.len() >= 3 && activated.iter().all(|r| r["status"] == "failed"), "{rows:#?}");
    assert!(rows.iter().any(|r| r["eventType"] == "KILL_SWITCH_ESCALATED" && r["status"] == "sent"), "{rows:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_answer_upstreams_shapes_and_refuse_bad_input() {
    let h = hooks().await;
    let d = Daemon::start(options(None, &h).env("WAIAAS_NOTIFICATIONS_TELEGRAM_CHAT_ID", "12345"));
    let api = Api::new(&d.base);
    let s = api.call("GET", "/v1/admin/notifications/status", &Api::master(), None).await;
    assert_eq!(s.status, 200, "{:?}", s.body);
    assert_eq!(
        s.body,
        json!({"enabled": true, "channels": [
            {"name": "telegram", "enabled": false}, {"name": "discord", "enabled": true},
            {"name": "slack", "enabled": true}, {"name": "email", "enabled": false}]})
    );
    // The webhook URLs are secrets in the settings view.
    let settings = api.call("GET", "/v1/admin/settings", &Api::master(), None).await;
    assert_eq!(settings.body["notifications"]["discord_webhook_url"], true, "{:?}", settings.body["notifications"]);
    assert!(!settings.body.to_string().contains("discord-webhook-token"));

    h.slack.script([Scripted::Status(404)]);
    let t = api.call("POST", "/v1/admin/notifications/test", &Api::master(), Some(json!({}))).await;
    assert_eq!(t.status, 200, "{:?}", t.body);
    assert_eq!(t.body["results"][0], json!({"channel": "discord", "success": true}));
    assert_eq!(t.body["results"][1]["channel"], "slack");
    assert_eq!(t.body["results"][1]["success"], false);
    assert!(t.body["results"][1]["error"].as_str().unwrap().starts_with("404"), "{:?}", t.body);
    assert_eq!(t.body["results"].as_array().unwrap().len(), 2, "only configured channels");
    let only = api.call("POST", "/v1/admin/notifications/test", &Api::master(), Some(json!({"channel": "telegram"}))).await;
    assert_eq!(only.body, json!({"results": [{"channel": "telegram", "success": false, "error": "telegram is not configured"}]}));
    assert!(discord_text(&h.discord.received()[0]).starts_with("Test Notification\n"), "{:?}", h.discord.received());

    for (method, path, body) in [
        ("POST", "/v1/admin/notifications/test", Some(json!({"channel": "sms"}))),
        ("POST", "/v1/admin/notifications/test", Some(json!({"channel": "slack", "extra": 1}))),
        ("GET", "/v1/admin/notifications/log?pageSize=101", None),
        ("GET", "/v1/admin/notifications/log?page=0", None),
        ("GET", "/v1/admin/notifications/log?status=maybe", None),
        ("GET", "/v1/admin/notifications/log?channel=fax", None),
        ("GET", "/v1/admin/notifications/log?color=red", None),
    ] {
        let r = api.call(method, path, &Api::master(), body).await;
        assert_eq!(r.status, 400, "{method} {path}: {:?}", r.body);
        assert_eq!(r.code(), "ACTION_VALIDATION_FAILED", "{path}");
    }
    for (method, path) in [("GET", "/v1/admin/notifications/status"), ("POST", "/v1/admin/notifications/test"), ("GET", "/v1/admin/notifications/log")] {
        let r = api.call(method, path, &Auth::None, None).await;
        assert_eq!(r.status, 401, "{method} {path} without the master password: {:?}", r.body);
    }
    let page = api.call("GET", "/v1/admin/notifications/log?page=1&pageSize=1", &Api::master(), None).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body["page"], 1);
    assert_eq!(page.body["pageSize"], 1);
    assert_eq!(page.body["total"], 2, "{:?}", page.body);
    assert_eq!(page.body["logs"].as_array().unwrap().len(), 1);
    let l = &page.body["logs"][0];
    for k in ["id", "eventType", "walletId", "channel", "status", "error", "message", "createdAt"] {
        assert!(l.get(k).is_some(), "upstream's field {k} in {l}");
    }
    assert_eq!(l["walletId"], "admin-test");
}

/// Delivery ids received, with how many times each came.
fn counts(ids: impl Iterator<Item = String>) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for i in ids {
        *m.entry(i).or_insert(0) += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_middle_of_a_burst_loses_nothing_on_any_channel() {
    let all = all_four().await;
    // Slow receivers (30 ms an answer), so that the stops land mid-burst.
    all.hooks.discord.set_delay(Duration::from_millis(30));
    all.hooks.slack.set_delay(Duration::from_millis(30));
    let opts = all.options(None);
    let mut d = Daemon::start(opts.clone());
    let dir = d.dir.clone();
    let _tmp = d.take_tmp();
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "burst", "chain": "ethereum"}))).await;
    let wallet = w.body["id"].as_str().unwrap().to_string();
    // Wait for the wallet's own session event everywhere, so that the burst below is all there is.
    all.until_all("the wallet's session", |m| !m.is_empty()).await;
    let earlier: HashSet<String> = all.by_channel().into_iter().flat_map(|(_, m)| m.into_iter().map(|(_, id)| id)).collect();
    let before = all.hooks.discord.received().len();
    for i in 0..50 {
        let r = api.call("POST", "/v1/sessions", &Api::master(), Some(json!({"walletId": wallet}))).await;
        assert_eq!(r.status, 201, "session {i}: {:?}", r.body);
    }
    // Stop gracefully while deliveries are under way, then kill while they are again.
    until(&all.hooks.discord, "the first of the burst", |r| r.len() >= before + 5).await;
    let status = d.stop();
    assert!(status.success(), "{status:?}");
    let mut d = Daemon::start_in(&dir, opts.clone()).unwrap_or_else(|e| panic!("restart: {e:?}"));
    until(&all.hooks.discord, "more of the burst", |r| r.len() >= before + 25).await;
    unsafe { libc::kill(d.child.id() as i32, libc::SIGKILL) };
    let _ = d.child.wait();
    let d = Daemon::start_in(&dir, opts).unwrap_or_else(|e| panic!("restart: {e:?}"));
    let _api = Api::new(&d.base);
    let burst =
        |msgs: &[(String, String)]| counts(msgs.iter().filter(|(t, id)| t.starts_with("Session Created\n") && !earlier.contains(id)).map(|(_, id)| id.clone()));
    all.until_all("the whole burst", |m| burst(m).len() >= 50).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (name, msgs) in all.by_channel() {
        let ids = burst(&msgs);
        assert_eq!(ids.len(), 50, "{name}: every event of the burst, each under its own delivery id: {ids:?}");
        // At least once: only the delivery in flight at the SIGKILL may come twice (the stop
        // on SIGTERM finishes the delivery in hand and keeps the rest for the restart).
        let repeated: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).collect();
        assert!(repeated.len() <= 1 && repeated.iter().all(|(_, n)| **n == 2), "{name}: {repeated:?}");
        println!("{name}: 50 events delivered, {} redelivered after the SIGKILL", repeated.len());
    }
}
