//! Notification channels for people, over real sockets: the `waiaas` daemon, anvil, and local
//! Discord and Slack webhooks that speak those services' protocol (`waiaas_e2e::fakes`).
//!
//! Checked: a NOTIFY send reaches every channel exactly once (not only the first that
//! succeeds, as upstream); a provider's 429 is retried after its `Retry-After`, a 5xx is
//! retried, a 4xx is not, and every attempt is in `GET /v1/admin/notifications/log` under one
//! delivery id; the admin routes (status, test, log) answer upstream's shapes and refuse bad
//! input; the daemon stopped (SIGTERM) and killed (SIGKILL) in the middle of a burst of 50
//! events delivers every event to every channel afterwards, a redelivery carrying the same
//! delivery id.

use super::owner_control::Node;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
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
async fn a_notify_send_reaches_every_channel_exactly_once() {
    let node = Node::start();
    let h = hooks().await;
    let d = Daemon::start(options(Some(&node), &h));
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "ops-wallet", "chain": "ethereum"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let (wallet, addr) = (w.body["id"].as_str().unwrap().to_string(), w.body["publicKey"].as_str().unwrap().to_string());
    let token = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    node.fund(&addr);
    let p = api
        .call(
            "POST",
            "/v1/policies",
            &Api::master(),
            Some(json!({"walletId": wallet, "type": "SPENDING_LIMIT", "rules": {"instant_max_usd": 1, "notify_max_usd": 100, "delay_max_usd": 1000, "delay_seconds": 60}})),
        )
        .await;
    assert_eq!(p.status, 201, "{:?}", p.body);
    let r = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[5], "amount": TEN_USD_WEI}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let tx = r.body["id"].as_str().unwrap().to_string();
    let t = api.wait_tx(&token, &tx, IN_FLIGHT, Duration::from_secs(30)).await;
    assert_eq!(t["status"], "CONFIRMED", "{t}");
    assert_eq!(t["tier"], "NOTIFY", "{t}");

    // Both channels get the NOTIFY message and, after it, the confirmation.
    let requested = |text: &str| text.starts_with("Transaction Requested\n") && text.contains(&tx);
    let confirmed = |text: &str| text.starts_with("Transaction Confirmed\n");
    until(&h.discord, "discord confirmation", |r| r.iter().any(|v| confirmed(&discord_text(v)))).await;
    until(&h.slack, "slack confirmation", |r| r.iter().any(|v| confirmed(&slack_text(v)))).await;
    let d_msgs: Vec<String> = h.discord.received().iter().map(discord_text).collect();
    let s_msgs: Vec<String> = h.slack.received().iter().map(slack_text).collect();
    assert_eq!(d_msgs.iter().filter(|m| requested(m)).count(), 1, "{d_msgs:#?}");
    assert_eq!(s_msgs.iter().filter(|m| requested(m)).count(), 1, "{s_msgs:#?}");
    let d_req = h.discord.received().into_iter().find(|v| requested(&discord_text(v))).unwrap();
    assert!(discord_text(&d_req).contains("0.005 ETH"), "the amount in the native unit: {d_req}");
    assert!(discord_text(&d_req).contains("Tier: NOTIFY"), "{d_req}");
    let fields: Vec<(&str, &str)> =
        d_req["embeds"][0]["fields"].as_array().unwrap().iter().map(|f| (f["name"].as_str().unwrap(), f["value"].as_str().unwrap())).collect();
    assert!(fields.contains(&("Wallet", "ops-wallet")) && fields.contains(&("Network", "ethereum-sepolia")), "{fields:?}");
    // The INSTANT tier notifies nobody; every delivery id arrives once per channel.
    for (name, ids) in
        [("discord", h.discord.received().iter().map(discord_delivery).collect::<Vec<_>>()), ("slack", h.slack.received().iter().map(slack_delivery).collect())]
    {
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{name} got a delivery twice: {ids:?}");
        assert!(ids.iter().all(|i| i.starts_with(&format!("{name}:"))), "{ids:?}");
    }
    // The delivery log has one `sent` row per delivery.
    let log = api.call("GET", "/v1/admin/notifications/log?channel=slack&status=sent&pageSize=100", &Api::master(), None).await;
    assert_eq!(log.status, 200, "{:?}", log.body);
    assert_eq!(log.body["total"].as_i64().unwrap() as usize, h.slack.received().len(), "{:?}", log.body);
    assert!(log.body["logs"].as_array().unwrap().iter().any(|l| l["eventType"] == "TX_REQUESTED" && l["walletId"] == wallet.as_str()), "{:?}", log.body);
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
    assert_eq!(settings.body["notifications"]["discord_webhook_url"], "********", "{:?}", settings.body["notifications"]);
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
async fn a_restart_in_the_middle_of_a_burst_loses_nothing() {
    let h = hooks().await;
    // Slow receivers (30 ms an answer), so that the stops land mid-burst.
    h.discord.set_delay(Duration::from_millis(30));
    h.slack.set_delay(Duration::from_millis(30));
    let opts = options(None, &h);
    let mut d = Daemon::start(opts.clone());
    let dir = d.dir.clone();
    let _tmp = d.take_tmp();
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "burst", "chain": "ethereum"}))).await;
    let wallet = w.body["id"].as_str().unwrap().to_string();
    // Wait for the wallet's own session event, so that the burst below is all there is.
    until(&h.discord, "the wallet's session", |r| !r.is_empty()).await;
    until(&h.slack, "the wallet's session", |r| !r.is_empty()).await;
    let before = (h.discord.received().len(), h.slack.received().len());
    let earlier: HashSet<String> = h.discord.received().iter().map(discord_delivery).chain(h.slack.received().iter().map(slack_delivery)).collect();
    for i in 0..50 {
        let r = api.call("POST", "/v1/sessions", &Api::master(), Some(json!({"walletId": wallet}))).await;
        assert_eq!(r.status, 201, "session {i}: {:?}", r.body);
    }
    // Stop gracefully while deliveries are under way, then kill while they are again.
    until(&h.discord, "the first of the burst", |r| r.len() >= before.0 + 5).await;
    let status = d.stop();
    assert!(status.success(), "{status:?}");
    let mut d = Daemon::start_in(&dir, opts.clone()).unwrap_or_else(|e| panic!("restart: {e:?}"));
    until(&h.discord, "more of the burst", |r| r.len() >= before.0 + 25).await;
    unsafe { libc::kill(d.child.id() as i32, libc::SIGKILL) };
    let _ = d.child.wait();
    let d = Daemon::start_in(&dir, opts).unwrap_or_else(|e| panic!("restart: {e:?}"));
    let _api = Api::new(&d.base);
    let burst = |text: &str, id: &String| text.starts_with("Session Created\n") && !earlier.contains(id);
    let on_discord = |r: &[Value]| counts(r.iter().filter(|v| burst(&discord_text(v), &discord_delivery(v))).map(discord_delivery));
    let on_slack = |r: &[Value]| counts(r.iter().filter(|v| burst(&slack_text(v), &slack_delivery(v))).map(slack_delivery));
    until(&h.discord, "the whole burst on discord", |r| on_discord(r).len() >= 50).await;
    until(&h.slack, "the whole burst on slack", |r| on_slack(r).len() >= 50).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (name, ids) in [("discord", on_discord(&h.discord.received())), ("slack", on_slack(&h.slack.received()))] {
        assert_eq!(ids.len(), 50, "{name}: every event of the burst, each under its own delivery id: {ids:?}");
        // At least once: only the delivery in flight at the SIGKILL may come twice (the stop
        // on SIGTERM finishes the delivery in hand and keeps the rest for the restart).
        let repeated: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).collect();
        assert!(repeated.len() <= 1 && repeated.iter().all(|(_, n)| **n == 2), "{name}: {repeated:?}");
        println!("{name}: 50 events delivered, {} redelivered after the SIGKILL", repeated.len());
    }
}
