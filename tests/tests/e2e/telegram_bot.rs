//! The Telegram bot and the Telegram channel over real sockets: the `waiaas` daemon, anvil,
//! and a fake Telegram Bot API speaking the real protocol (`waiaas_e2e::fakes::telegram`:
//! `getUpdates` long poll with offsets, `sendMessage` checked as MarkdownV2,
//! `answerCallbackQuery`, 429 with `retry_after`).
//!
//! Checked: `/start` registers a chat as PENDING and a PENDING chat's `/pending` is refused
//! until the operator grants ADMIN (`PUT /v1/admin/telegram-users/{chatId}`, bad role 400,
//! unknown chat 404); there is no approve command; a DELAY send's notification carries the
//! Cancel button, a READONLY chat's press changes nothing, an ADMIN's cancels it (CANCELLED,
//! nothing on chain, the reservation released, audited as `telegram:<chatId>`); a 429 on
//! `sendMessage` is retried after `retry_after` and the notification delivered once;
//! `/killswitch` + Yes activates the kill switch; a restart neither replays handled updates
//! (the offset is stored) nor loses new ones; a token the API refuses (401) stops the bot
//! with an error log that does not carry the token. With `approval_method = sdk_telegram`: the
//! approval notification carries an Open in Wallet link to the stored sign request, a
//! `/sign_response` with another key's signature is refused and the transaction keeps
//! waiting, the owner's signed answer confirms it on anvil, a replay is refused.

use super::owner_control::{approval_wallet, queued, send, Node};
use base64::Engine as _;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use waiaas_core::auth::owner::OwnerAction;
use waiaas_core::channels::telegram::escape_md;
use waiaas_e2e::fakes::telegram::FakeTelegram;
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

const TOKEN: &str = "123456:test-bot-token-ABCdef";
/// The chat notifications go to.
const NOTIFY: &str = "-100200300";
const ADMIN: i64 = 4242;
const READER: i64 = 777;
const WAIT: Duration = Duration::from_secs(30);
/// $10 at 2000 USD/ETH.
const TEN_USD_WEI: &str = "5000000000000000";

fn opts(node_url: &str, tg: &FakeTelegram) -> Options {
    Options::default()
        .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", node_url)
        .env("WAIAAS_PRICES_ETH", "2000")
        .env("WAIAAS_NOTIFICATIONS_ENABLED", "true")
        .env("WAIAAS_TELEGRAM_BOT_TOKEN", TOKEN)
        .env("WAIAAS_NOTIFICATIONS_TELEGRAM_CHAT_ID", NOTIFY)
        .env("WAIAAS_TELEGRAM_API_BASE_URL", &tg.base)
        .env("WAIAAS_SECURITY_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("WAIAAS_NOTIFICATIONS_RATE_LIMIT_RPM", "0")
        .env("WAIAAS_NOTIFICATIONS_RETRY_BASE_MS", "100")
}

/// Send `text` from `chat` and wait for the reply containing `needle` (MarkdownV2-escaped
/// here).
async fn ask(tg: &FakeTelegram, chat: i64, text: &str, needle: &str) -> Value {
    let before = tg.sent_to(&chat.to_string()).len();
    tg.message(chat, &format!("user{chat}"), text);
    tg.wait_message(&chat.to_string(), before, &escape_md(needle), WAIT).await
}

/// Press the button `data` in `chat`: the toast of `answerCallbackQuery`.
async fn press(tg: &FakeTelegram, chat: i64, data: &str) -> String {
    let id = tg.press(chat, data);
    tg.wait_callback_answer(&id, WAIT).await["text"].as_str().unwrap_or_default().to_string()
}

async fn tx_status(api: &Api, agent: &Auth, id: &str) -> Value {
    let r = api.call("GET", &format!("/v1/transactions/{id}"), agent, None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

async fn audit(api: &Api, query: &str) -> Vec<Value> {
    let a = api.call("GET", &format!("/v1/audit-logs?limit=100&{query}"), &Api::master(), None).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body["data"].as_array().unwrap().clone()
}

/// The notification to `NOTIFY` of `title` about `tx`, waiting for it.
async fn notification(tg: &FakeTelegram, title: &str, tx: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    let (title, tx) = (format!("*{}*", escape_md(title)), escape_md(tx));
    loop {
        let found = tg.sent_to(NOTIFY).into_iter().find(|m| {
            let t = m["text"].as_str().unwrap_or_default();
            t.starts_with(&title) && t.contains(&tx)
        });
        if let Some(m) = found {
            return m;
        }
        assert!(Instant::now() < deadline, "no {title} for {tx}; sent {:#?}; refused {:?}", tg.sent_to(NOTIFY), tg.refused());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn set_role(api: &Api, chat: i64, role: &str) -> Value {
    let r = api.call("PUT", &format!("/v1/admin/telegram-users/{chat}"), &Api::master(), Some(json!({ "role": role }))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_bot_roles_cancel_button_killswitch_429_and_restart() {
    let node = waiaas_e2e::evm::Node::start(11155111);
    let tg = FakeTelegram::start(TOKEN).await;
    let o = opts(&node.url(), &tg);
    let mut d = Daemon::start(o.clone());
    let dir = d.dir.clone();
    let _tmp = d.take_tmp();
    let api = Api::new(&d.base);
    let (admin, reader) = (ADMIN.to_string(), READER.to_string());

    // Public commands; an unregistered chat is told to /start.
    ask(&tg, ADMIN, "/help", "there is no approve command").await;
    ask(&tg, ADMIN, "/pending", "not registered").await;
    ask(&tg, ADMIN, "/start", "Registered (role PENDING)").await;
    ask(&tg, ADMIN, "/start", "Already registered (role PENDING)").await;
    let users = api.call("GET", "/v1/admin/telegram-users", &Api::master(), None).await;
    assert_eq!(users.status, 200, "{:?}", users.body);
    assert_eq!(users.body["total"], 1);
    let u = &users.body["users"][0];
    assert_eq!(
        (u["chat_id"].clone(), u["role"].clone(), u["username"].clone(), u["approved_at"].clone()),
        (json!(ADMIN), json!("PENDING"), json!("user4242"), Value::Null)
    );
    assert_eq!(api.call("GET", "/v1/admin/telegram-users", &Auth::None, None).await.status, 401);
    // PENDING may not see or do anything.
    ask(&tg, ADMIN, "/pending", "waiting for the operator's approval (role PENDING)").await;
    ask(&tg, ADMIN, "/status", "waiting for the operator's approval").await;
    // No approval without the owner's signature, whatever the role.
    ask(&tg, ADMIN, "/approve 0190", "There is no approve or reject here").await;
    ask(&tg, ADMIN, "/frobnicate", "Unknown command /frobnicate").await;

    // Role changes: checked, then applied and audited.
    let path = format!("/v1/admin/telegram-users/{ADMIN}");
    for (body, status) in [(json!({"role": "OWNER"}), 400), (json!({"role": "PENDING"}), 400), (json!({}), 400), (json!({"role": "ADMIN", "x": 1}), 400)] {
        let r = api.call("PUT", &path, &Api::master(), Some(body.clone())).await;
        assert_eq!(r.status, status, "{body}: {:?}", r.body);
    }
    let r = api.call("PUT", "/v1/admin/telegram-users/999", &Api::master(), Some(json!({"role": "ADMIN"}))).await;
    assert_eq!(r.status, 404, "{:?}", r.body);
    assert_eq!(r.code(), "TELEGRAM_USER_NOT_FOUND");
    let r = api.call("PUT", &path, &Auth::None, Some(json!({"role": "ADMIN"}))).await;
    assert_eq!(r.status, 401);
    assert_eq!(api.call("GET", "/v1/admin/telegram-users", &Api::master(), None).await.body["users"][0]["role"], "PENDING", "refused changes changed nothing");
    assert_eq!(set_role(&api, ADMIN, "ADMIN").await, json!({"success": true, "chat_id": ADMIN, "role": "ADMIN"}));
    let changed = audit(&api, "event_type=TELEGRAM_USER_ROLE_CHANGED").await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    ask(&tg, ADMIN, "/pending", "No transactions waiting").await;
    ask(&tg, READER, "/start", "role PENDING").await;
    set_role(&api, READER, "READONLY").await;
    ask(&tg, READER, "/status", "Kill switch: ACTIVE").await;
    ask(&tg, READER, "/pending", "this command needs the ADMIN role").await;
    ask(&tg, READER, "/killswitch", "this command needs the ADMIN role").await;
    // Delete: 404 for an unknown chat; a deleted chat is unregistered again.
    assert_eq!(api.call("DELETE", "/v1/admin/telegram-users/31337", &Api::master(), None).await.status, 404);
    ask(&tg, 31337, "/start", "role PENDING").await;
    let r = api.call("DELETE", "/v1/admin/telegram-users/31337", &Api::master(), None).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({"success": true})));
    ask(&tg, 31337, "/status", "not registered").await;
    assert_eq!(api.call("GET", "/v1/admin/telegram-users", &Api::master(), None).await.body["total"], 2);

    // A wallet whose $10 sends wait 600 s (DELAY), with $15 a day: a second $10 while the
    // first is reserved needs the owner's approval.
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "tg", "chain": "ethereum"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let (wallet, addr) = (w.body["id"].as_str().unwrap().to_string(), w.body["publicKey"].as_str().unwrap().to_string());
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    node.fund(&addr, 1_000_000_000_000_000_000_000);
    let rules = json!({"instant_max_usd": 1, "notify_max_usd": 2, "delay_max_usd": 100, "delay_seconds": 600, "daily_limit_usd": 15, "approval_timeout": 3600});
    let p = api.call("POST", "/v1/policies", &Api::master(), Some(json!({"walletId": wallet, "type": "SPENDING_LIMIT", "rules": rules}))).await;
    assert_eq!(p.status, 201, "{:?}", p.body);
    let owner = OwnerKey::evm(0x71);
    let r = api.call("PUT", &format!("/v1/wallets/{wallet}/owner"), &Api::master(), Some(json!({"owner_address": owner.address()}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let send_ten = || async {
        let r = api.call("POST", "/v1/transactions/send", &agent, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[5], "amount": TEN_USD_WEI}))).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let id = r.body["id"].as_str().unwrap().to_string();
        let t = api.wait_tx(&agent, &id, IN_FLIGHT, WAIT).await;
        assert_eq!(t["status"], "QUEUED", "{t}");
        (id, t["tier"].as_str().unwrap().to_string())
    };
    let (tx1, tier) = send_ten().await;
    assert_eq!(tier, "DELAY");
    let n = notification(&tg, "Transaction Delayed", &tx1).await;
    assert_eq!(n["parse_mode"], "MarkdownV2");
    assert_eq!(n["reply_markup"], json!({"inline_keyboard": [[{"text": "Cancel", "callback_data": format!("cancel:{tx1}")}]]}), "{n}");

    // READONLY presses Cancel: refused, nothing changes.
    let toast = press(&tg, READER, &format!("cancel:{tx1}")).await;
    assert!(toast.contains("needs the ADMIN role"), "{toast}");
    assert_eq!(tx_status(&api, &agent, &tx1).await["status"], "QUEUED");
    let refused = audit(&api, &format!("tx_id={tx1}&event_type=TELEGRAM_ACTION")).await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["actor"], format!("telegram:{READER}"));
    assert!(refused[0]["details"].to_string().contains("refused"), "{:?}", refused[0]);
    // The ADMIN's /pending lists it with its button; the press cancels it.
    let pending = ask(&tg, ADMIN, "/pending", "Transactions waiting (1)").await;
    assert!(pending["text"].as_str().unwrap().contains(&escape_md(&tx1)));
    assert_eq!(pending["reply_markup"]["inline_keyboard"][0][0]["callback_data"], format!("cancel:{tx1}"));
    let toast = press(&tg, ADMIN, &format!("cancel:{tx1}")).await;
    assert_eq!(toast, "Cancelled");
    let t = tx_status(&api, &agent, &tx1).await;
    assert_eq!(t["status"], "CANCELLED", "{t}");
    tg.wait_message(&admin, 0, &escape_md(&format!("Transaction {tx1} cancelled.")), WAIT).await;
    let acted = audit(&api, &format!("tx_id={tx1}&event_type=TELEGRAM_ACTION")).await;
    assert!(acted.iter().any(|e| e["actor"] == format!("telegram:{ADMIN}") && e["details"].to_string().contains("CANCELLED")), "{acted:?}");
    assert_eq!(audit(&api, &format!("tx_id={tx1}&event_type=TX_CANCELLED")).await.len(), 1);
    // Pressed again: refused, still cancelled once.
    let toast = press(&tg, ADMIN, &format!("cancel:{tx1}")).await;
    assert!(toast.starts_with("Not cancelled"), "{toast}");

    // The reservation went with it: another $10 is within the day's $15 (DELAY again, not
    // APPROVAL). Its notification meets one 429 first: retried after retry_after, delivered
    // once.
    notification(&tg, "Transaction Cancelled", &tx1).await;
    let refused_before = tg.refused().len();
    tg.fail_next_sends(1);
    let (tx2, tier) = send_ten().await;
    assert_eq!(tier, "DELAY", "the cancelled transaction's reservation was released");
    let n2 = notification(&tg, "Transaction Delayed", &tx2).await;
    let delivered: Vec<Value> = tg.sent_to(NOTIFY).into_iter().filter(|m| m["text"] == n2["text"]).collect();
    assert_eq!(delivered.len(), 1, "delivered once");
    let r429: Vec<_> = tg.refused().into_iter().skip(refused_before).collect();
    assert_eq!(r429.len(), 1, "{r429:?}");
    assert_eq!((r429[0].1, r429[0].0["text"].clone()), (429, n2["text"].clone()));
    let log = api.call("GET", "/v1/admin/notifications/log?channel=telegram&eventType=TX_QUEUED&pageSize=100", &Api::master(), None).await;
    assert_eq!(log.status, 200, "{:?}", log.body);
    let mut attempts: Vec<(i64, String)> = log.body["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["message"].as_str().is_some_and(|m| m.contains(&tx2)))
        .map(|l| (l["attempt"].as_i64().unwrap(), l["status"].as_str().unwrap().to_string()))
        .collect();
    attempts.sort();
    assert_eq!(attempts, vec![(1, "failed".to_string()), (2, "sent".to_string())]);
    // While tx2 is reserved, a third $10 goes over the day's $15: APPROVAL.
    let (tx3, tier) = send_ten().await;
    assert_eq!(tier, "APPROVAL", "reservations count");
    assert_eq!(node.nonce(&addr), 0, "nothing reached the chain");

    // Kill switch: asked, confirmed, activated as telegram:<chatId>. "No" does nothing.
    let q = ask(&tg, ADMIN, "/killswitch", "Activate the kill switch?").await;
    let buttons = &q["reply_markup"]["inline_keyboard"][0];
    assert_eq!((buttons[0]["callback_data"].clone(), buttons[1]["callback_data"].clone()), (json!("killswitch:confirm"), json!("killswitch:cancel")));
    assert_eq!(press(&tg, ADMIN, "killswitch:cancel").await, "Kill switch not activated");
    assert_eq!(press(&tg, READER, "killswitch:confirm").await, "Not allowed: this needs the ADMIN role");
    assert_eq!(api.call("GET", "/v1/admin/kill-switch", &Auth::None, None).await.body["state"], "ACTIVE");
    assert_eq!(press(&tg, ADMIN, "killswitch:confirm").await, "Kill switch activated");
    let ks = api.call("GET", "/v1/admin/kill-switch", &Auth::None, None).await;
    assert_eq!((ks.body["state"].clone(), ks.body["activatedBy"].clone()), (json!("SUSPENDED"), json!(format!("telegram:{ADMIN}"))), "{:?}", ks.body);
    for tx in [&tx2, &tx3] {
        // (The API is closed now: the chat tells.)
        notification(&tg, "Transaction Cancelled", tx).await;
    }
    notification(&tg, "Kill Switch Activated", &format!("telegram:{ADMIN}")).await;
    ask(&tg, READER, "/status", "Kill switch: SUSPENDED").await;

    // Restart: the handled updates are not handled again even if Telegram hands them out
    // again (the stored offset skips them); new ones are.
    let stored_offset = tg.offsets().last().copied().unwrap();
    let (admin_msgs, reader_msgs, answers) = (tg.sent_to(&admin).len(), tg.sent_to(&reader).len(), tg.callback_answers().len());
    let calls_before = tg.offsets().len();
    d.stop();
    tg.forget_confirmations();
    let d = Daemon::start_in(&dir, o.clone()).unwrap_or_else(|e| panic!("restart: {e:?}"));
    let api = Api::new(&d.base);
    ask(&tg, READER, "/help", "there is no approve command").await;
    let after: Vec<i64> = tg.offsets().into_iter().skip(calls_before).collect();
    assert_eq!(after[0], stored_offset, "the first poll after the restart starts at the stored offset");
    assert_eq!(tg.sent_to(&admin).len(), admin_msgs, "nothing replayed to the admin chat");
    assert_eq!(tg.sent_to(&reader).len(), reader_msgs + 1, "only the new command answered");
    assert_eq!(tg.callback_answers().len(), answers, "no button pressed again");
    assert_eq!(api.call("GET", "/v1/admin/telegram-users", &Api::master(), None).await.body["total"], 2);
    assert!(tg.refused().iter().all(|(_, status, _)| *status == 429), "every message parsed as MarkdownV2: {:?}", tg.refused());
    assert_eq!(node.nonce(&addr), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_telegram_approval_open_in_wallet_and_sign_response() {
    let node = Node::start();
    let tg = FakeTelegram::start(TOKEN).await;
    let d = Daemon::start(opts(&node.url(), &tg));
    let api = Api::new(&d.base);
    ask(&tg, ADMIN, "/start", "role PENDING").await;
    set_role(&api, ADMIN, "ADMIN").await;

    let (wallet, addr, agent) = approval_wallet(&api, &node, 3600).await;
    // The owner's wallet app (the D'CENT preset's universal link), no push relay: approvals go
    // through the Telegram chat.
    let app = api
        .call("POST", "/v1/admin/wallet-apps", &Api::master(), Some(json!({"name": "dcent", "display_name": "D'CENT Wallet", "wallet_type": "dcent"})))
        .await;
    assert_eq!(app.status, 201, "{:?}", app.body);
    let owner = OwnerKey::evm(0x72);
    let r = api
        .call("PUT", &format!("/v1/wallets/{wallet}/owner"), &Api::master(), Some(json!({"owner_address": owner.address(), "approval_method": "sdk_telegram"})))
        .await;
    assert_eq!((r.status, r.body["approvalMethod"].clone()), (200, json!("sdk_telegram")), "{:?}", r.body);
    let h = owner.headers(&api, &OwnerAction::Verify(wallet.clone())).await;
    let v = api.call_with("POST", &format!("/v1/wallets/{wallet}/owner/verify"), &Auth::None, None, &h).await;
    assert_eq!(v.status, 200, "{:?}", v.body);

    let tx = send(&api, &agent).await;
    assert_eq!(queued(&api, &agent, &tx).await["tier"], "APPROVAL");
    let n = notification(&tg, "Approval Required", &tx).await;
    let button = &n["reply_markup"]["inline_keyboard"][0][0];
    assert_eq!(button["text"], "Open in Wallet", "{n}");
    let url = button["url"].as_str().unwrap();
    let data = url.strip_prefix("https://link.dcentwallet.com/waiaas/sign?data=").unwrap_or_else(|| panic!("{url}"));
    let req: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(data).unwrap()).unwrap();
    assert_eq!(req["metadata"]["txId"], tx.as_str());
    assert_eq!(req["responseChannel"]["type"], "telegram");
    assert_eq!(req["signerAddress"], owner.address());
    let request_id = req["requestId"].as_str().unwrap();
    assert!(n["text"].as_str().unwrap().contains(&escape_md(&format!("Sign request: {request_id}"))), "{n}");
    let sent = audit(&api, &format!("tx_id={tx}&event_type=SIGN_REQUEST_SENT")).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0]["details"].to_string().contains("sdk_telegram"));

    let answer = |key: &OwnerKey, action: &str| {
        let resp = json!({"version": "1", "requestId": request_id, "action": action, "signature": key.sign(req["message"].as_str().unwrap()),
            "signerAddress": owner.address(), "signedAt": "2026-01-01T00:00:00Z"});
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(resp.to_string())
    };
    // Bad input and another key's signature are refused; the transaction keeps waiting.
    ask(&tg, ADMIN, "/sign_response", "Refused: usage").await;
    ask(&tg, ADMIN, "/sign_response not*base64", "Refused: the argument is not base64url").await;
    ask(&tg, ADMIN, &format!("/sign_response {}", answer(&OwnerKey::evm(0x73), "approve")), "Refused (INVALID_SIGNATURE)").await;
    assert_eq!(tx_status(&api, &agent, &tx).await["status"], "QUEUED");
    assert_eq!(node.sent_by(&addr), 0);
    // A READONLY chat may not answer.
    ask(&tg, READER, "/start", "role PENDING").await;
    set_role(&api, READER, "READONLY").await;
    ask(&tg, READER, &format!("/sign_response {}", answer(&owner, "approve")), "this command needs the ADMIN role").await;
    assert_eq!(tx_status(&api, &agent, &tx).await["status"], "QUEUED");

    // The owner's signed answer: approved, executed on anvil.
    let good = answer(&owner, "approve");
    ask(&tg, ADMIN, &format!("/sign_response {good}"), &format!("Transaction {tx} approved by the owner")).await;
    let t = api.wait_tx(&agent, &tx, &["QUEUED", "PENDING", "EXECUTING", "SUBMITTED"], Duration::from_secs(60)).await;
    assert_eq!(t["status"], "CONFIRMED", "{t}");
    assert_eq!(node.sent_by(&addr), 1);
    let all = audit(&api, &format!("tx_id={tx}")).await;
    assert!(all.iter().any(|e| e["actor"].as_str().is_some_and(|a| a.contains("via sdk_telegram"))), "{all:?}");
    assert!(all.iter().any(|e| e["eventType"] == "TELEGRAM_ACTION" && e["actor"] == format!("telegram:{ADMIN}")), "{all:?}");
    // A replay moves nothing.
    ask(&tg, ADMIN, &format!("/sign_response {good}"), "Refused (SIGN_REQUEST_ALREADY_PROCESSED)").await;
    assert_eq!(node.sent_by(&addr), 1);
    assert!(tg.refused().is_empty(), "every message parsed as MarkdownV2: {:?}", tg.refused());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_stops_the_bot_with_an_error_and_the_token_is_never_logged() {
    let tg = FakeTelegram::start(TOKEN).await;
    let wrong = "999999:wrong-token-XYZ";
    let o = opts("http://127.0.0.1:9", &tg).env("WAIAAS_TELEGRAM_BOT_TOKEN", wrong);
    let d = Daemon::start(o);
    let deadline = Instant::now() + WAIT;
    let mut log = d.startup_log.clone();
    while !log.contains("telegram bot stopped") {
        assert!(Instant::now() < deadline, "no stop logged:\n{log}");
        if let Ok(line) = d.log.recv_timeout(Duration::from_millis(100)) {
            log.push_str(&line);
            log.push('\n');
        }
    }
    assert!(log.contains("401"), "{log}");
    // Stopped for good: one getUpdates, not a retry loop.
    assert_eq!(tg.unauthorized(), vec!["getUpdates".to_string()]);
    assert!(tg.offsets().is_empty());
    while let Ok(line) = d.log.try_recv() {
        log.push_str(&line);
    }
    assert!(!log.contains("wrong-token"), "the token is never logged:\n{log}");
}
