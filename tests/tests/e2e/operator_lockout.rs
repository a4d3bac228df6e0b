//! Nobody on localhost can lock the operator out (issue 12, item 7), over the real daemon and
//! a real anvil:
//! - a bounded flood from 20 other loopback addresses (127.0.0.2-21, the client socket bound
//!   with reqwest's `local_address`) of wrong master passwords and `GET /v1/nonce` requests:
//!   meanwhile the operator cancels a queued transaction with the master password, the owner
//!   gets a nonce and rejects another, and the real CLI activates the kill switch; each
//!   flooding address is blocked (429 `MASTER_PASSWORD_LOCKED`) after its budget, even for
//!   the right password, while other addresses are not;
//! - nonces bound to an owner (`GET /v1/nonce?address=`) serve only that owner, once;
//! - a DELAY whose deadline passes while the daemon is stopped waits the start-up grace,
//!   is announced (`TX_DELAY_GRACE`) and can be cancelled meanwhile; a DELAY that runs out
//!   while the daemon runs executes as before.

use serde_json::{json, Value};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use waiaas_core::auth::owner::OwnerAction;
use waiaas_e2e::evm::Node;
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

/// 0.01 ETH = $20 at 2000 USD/ETH: DELAY under [`delay_wallet`]'s SPENDING_LIMIT.
const TWENTY_USD_WEI: &str = "10000000000000000";

fn options(node: &Node) -> Options {
    Options::default()
        .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url())
        .env("WAIAAS_PRICES_ETH", "2000")
        // The owner's webhook receiver listens on loopback.
        .env("WAIAAS_SECURITY_WEBHOOK_ALLOW_PRIVATE", "true")
}

/// An API client whose requests come from `ip` (a loopback address).
fn from(base: &str, ip: &str) -> Api {
    let http = reqwest::Client::builder().local_address(ip.parse::<IpAddr>().unwrap()).build().unwrap();
    Api { base: base.into(), http }
}

/// A funded EVM wallet with an owner, whose $20 sends wait a DELAY of `delay` seconds.
async fn delay_wallet(api: &Api, node: &Node, owner: &OwnerKey, delay: u64) -> (String, String, Auth) {
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "w", "chain": "ethereum"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let id = w.body["id"].as_str().unwrap().to_string();
    let addr = w.body["publicKey"].as_str().unwrap().to_string();
    node.fund(&addr, 1_000_000_000_000_000_000_000);
    let p = api
        .call(
            "POST",
            "/v1/policies",
            &Api::master(),
            Some(json!({"walletId": id, "type": "SPENDING_LIMIT", "rules": {
                "instant_max_usd": 1, "notify_max_usd": 2, "delay_max_usd": 1000, "delay_seconds": delay
            }})),
        )
        .await;
    assert_eq!(p.status, 201, "{:?}", p.body);
    let r = api.call("PUT", &format!("/v1/wallets/{id}/owner"), &Api::master(), Some(json!({"owner_address": owner.address()}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    (id, addr, Auth::Session(w.body["session"]["token"].as_str().unwrap().into()))
}

/// Send $20 to a dev account and wait until it is QUEUED as a DELAY.
async fn queue_delay(api: &Api, agent: &Auth) -> String {
    let r = api.call("POST", "/v1/transactions/send", agent, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[5], "amount": TWENTY_USD_WEI}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let t = api.wait_tx(agent, &id, IN_FLIGHT, Duration::from_secs(20)).await;
    assert_eq!((t["status"].as_str(), t["tier"].as_str()), (Some("QUEUED"), Some("DELAY")), "{t}");
    id
}

fn domain(api: &Api) -> String {
    api.base.trim_start_matches("http://").trim_end_matches('/').to_string()
}

async fn audit(api: &Api, query: &str) -> Vec<Value> {
    let r = api.call("GET", &format!("/v1/audit-logs?limit=200&{query}"), &Api::master(), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["data"].as_array().unwrap().clone()
}

/// A local webhook receiver: the body of every delivery.
async fn webhook_receiver() -> (String, Arc<std::sync::Mutex<Vec<Value>>>) {
    let got = Arc::new(std::sync::Mutex::new(vec![]));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(serde_json::from_slice::<Value>(&body).unwrap_or_default());
                axum::http::StatusCode::OK
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, got)
}

/// What one flooding address saw.
struct Flooded {
    ip: String,
    /// `code` of each wrong-password answer, in order.
    password_answers: Vec<String>,
    nonce_failures: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_local_flood_of_wrong_passwords_and_nonce_requests_cannot_lock_the_operator_out() {
    let node = Node::start(11155111);
    // Three wrong passwords per address; the first block lasts 1600/16 = 100 s, longer than the flood.
    let d =
        Daemon::start(options(&node).env("WAIAAS_SECURITY_MASTER_PASSWORD_MAX_ATTEMPTS", "3").env("WAIAAS_SECURITY_MASTER_PASSWORD_LOCKOUT_SECONDS", "1600"));
    let api = Api::new(&d.base);
    let owner = OwnerKey::evm(0x51);
    let (_wallet, addr, agent) = delay_wallet(&api, &node, &owner, 600).await;
    let by_operator = queue_delay(&api, &agent).await;
    let by_owner = queue_delay(&api, &agent).await;

    // The flood, bounded (at most 3,000 requests per address), loopback only: every tenth
    // request a wrong master password on an admin route, the others nonce requests, until
    // told to stop and past 12,000 nonces (a stored pool used to hold 10,000 at most).
    let stop = Arc::new(AtomicBool::new(false));
    let nonces = Arc::new(AtomicUsize::new(0));
    let mut flood = vec![];
    for i in 2..22 {
        let (ip, base, stop, nonces) = (format!("127.0.0.{i}"), d.base.clone(), stop.clone(), nonces.clone());
        flood.push(tokio::spawn(async move {
            let api = from(&base, &ip);
            let mut out = Flooded { ip: ip.clone(), password_answers: vec![], nonce_failures: vec![] };
            for n in 0..3000 {
                if stop.load(Ordering::SeqCst) && nonces.load(Ordering::SeqCst) >= 12_000 {
                    break;
                }
                if n % 10 == 0 {
                    let r = api.call("GET", "/v1/admin/status", &Auth::Master(format!("guess-{ip}-{n}")), None).await;
                    assert_ne!(r.status, 200, "a guess was accepted: {:?}", r.body);
                    out.password_answers.push(r.code().to_string());
                } else {
                    let r = api.call("GET", "/v1/nonce", &Auth::None, None).await;
                    if r.status == 200 {
                        nonces.fetch_add(1, Ordering::SeqCst);
                    } else {
                        out.nonce_failures.push(format!("{} {}", r.status, r.code()));
                    }
                }
            }
            out
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    while nonces.load(Ordering::SeqCst) < 10_500 {
        assert!(Instant::now() < deadline, "the flood did not get going");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let flooded_before = nonces.load(Ordering::SeqCst);

    // During the flood: the operator (127.0.0.1) cancels a queued transaction with the master password.
    let r = api.call("POST", &format!("/v1/admin/transactions/{by_operator}/cancel"), &Api::master(), None).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("CANCELLED")), "{:?}", r.body);
    // A flooding address is blocked even with the right password; an address that never guessed is not.
    let r = from(&d.base, "127.0.0.2").call("GET", "/v1/admin/status", &Api::master(), None).await;
    assert_eq!((r.status, r.code()), (429, "MASTER_PASSWORD_LOCKED"), "{:?}", r.body);
    assert!(r.headers.get("retry-after").is_some());
    let r = from(&d.base, "127.0.0.99").call("GET", "/v1/admin/status", &Api::master(), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // The owner gets a nonce (bound to its address) and rejects the other transaction.
    let n = api.call("GET", &format!("/v1/nonce?address={}", owner.address()), &Auth::None, None).await;
    assert_eq!(n.status, 200, "{:?}", n.body);
    let text = owner.message(&domain(&api), n.body["nonce"].as_str().unwrap(), &OwnerAction::Reject(by_owner.clone()), 300);
    let r = api.call_with("POST", &format!("/v1/transactions/{by_owner}/reject"), &Auth::None, None, &owner.headers_for(&text)).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("CANCELLED")), "{:?}", r.body);
    // The real CLI activates the kill switch.
    let dir = d.dir.to_str().unwrap().to_string();
    let out = tokio::task::block_in_place(|| {
        run_cli(
            &["kill-switch", "activate", "--yes", "--json", "--base-url", &d.base, "--data-dir", &dir],
            &[("WAIAAS_MASTER_PASSWORD".into(), PASSWORD.into())],
        )
    });
    assert!(out.status.success(), "kill-switch activate: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(nonces.load(Ordering::SeqCst) > flooded_before, "the flood was still running while the operator acted");
    stop.store(true, Ordering::SeqCst);

    let mut flooded = vec![];
    for f in flood {
        flooded.push(f.await.unwrap());
    }
    assert!(nonces.load(Ordering::SeqCst) >= 12_000);
    for f in &flooded {
        // Exactly its budget was evaluated (two wrong, the third blocks it); after that it is
        // refused without evaluation.
        let a: Vec<&str> = f.password_answers.iter().map(String::as_str).collect();
        assert!(a.len() >= 4, "{}: {a:?}", f.ip);
        assert_eq!(a[..3], ["INVALID_MASTER_PASSWORD", "INVALID_MASTER_PASSWORD", "MASTER_PASSWORD_LOCKED"], "{}", f.ip);
        assert!(a[3..].iter().all(|c| *c == "MASTER_PASSWORD_LOCKED"), "{}: {a:?}", f.ip);
        assert!(f.nonce_failures.is_empty(), "{}: nonce requests refused: {:?}", f.ip, &f.nonce_failures[..f.nonce_failures.len().min(5)]);
    }

    // The outcome: nothing on chain, the kill switch engaged.
    assert_eq!(node.nonce(&addr), 0);
    let ks = api.call("GET", "/v1/admin/kill-switch", &Auth::None, None).await;
    assert_eq!(ks.body["state"], "SUSPENDED", "{:?}", ks.body);
    // Only evaluated guesses are audited (three per address), each with its address (read
    // from the store: the kill switch now closes the audit route too).
    let db = rusqlite::Connection::open_with_flags(d.dir.join("data/waiaas.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let failed: Vec<String> = db
        .prepare("SELECT COALESCE(ip_address, '') FROM audit_log WHERE event_type = 'MASTER_AUTH_FAILED'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(failed.len(), 20 * 3, "{failed:?}");
    assert!(failed.iter().all(|ip| ip.starts_with("127.0.0.") && ip != "127.0.0.1"), "{failed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_bound_to_an_owner_serves_only_that_owner_and_only_once() {
    let node = Node::start(11155111);
    let d = Daemon::start(options(&node));
    let api = Api::new(&d.base);
    let owner = OwnerKey::evm(0x52);
    let (_wallet, addr, agent) = delay_wallet(&api, &node, &owner, 600).await;
    let tx = queue_delay(&api, &agent).await;
    let path = format!("/v1/transactions/{tx}/reject");
    let sign = |nonce: &str| owner.headers_for(&owner.message(&domain(&api), nonce, &OwnerAction::Reject(tx.clone()), 300));

    let r = api.call("GET", "/v1/nonce?address=not-an-address", &Auth::None, None).await;
    assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"), "{:?}", r.body);
    assert_eq!(r.body["details"]["issues"][0]["path"][0], "address", "{:?}", r.body);
    // A nonce bound to someone else is refused for this owner.
    let other = OwnerKey::evm(0x53);
    let n = api.call("GET", &format!("/v1/nonce?address={}", other.address()), &Auth::None, None).await;
    assert_eq!(n.status, 200);
    let r = api.call_with("POST", &path, &Auth::None, None, &sign(n.body["nonce"].as_str().unwrap())).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_NONCE"), "{:?}", r.body);
    assert_eq!(api.call("GET", &format!("/v1/transactions/{tx}"), &agent, None).await.body["status"], "QUEUED");
    // Bound to the owner (either spelling of the address): accepted once, a replay is refused.
    let n = api.call("GET", &format!("/v1/nonce?address={}", owner.address().to_lowercase()), &Auth::None, None).await;
    assert_eq!((n.body["nonce"].as_str().unwrap().len(), n.body["expiresAt"].is_i64()), (64, true), "upstream's shape: {:?}", n.body);
    let h = sign(n.body["nonce"].as_str().unwrap());
    let r = api.call_with("POST", &path, &Auth::None, None, &h).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("CANCELLED")), "{:?}", r.body);
    let r = api.call_with("POST", &path, &Auth::None, None, &h).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_NONCE"), "{:?}", r.body);
    // Upstream clients' unbound nonce still works.
    let tx2 = queue_delay(&api, &agent).await;
    let h = owner.headers(&api, &OwnerAction::Reject(tx2.clone())).await;
    let r = api.call_with("POST", &format!("/v1/transactions/{tx2}/reject"), &Auth::None, None, &h).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(node.nonce(&addr), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_that_ran_out_while_the_daemon_was_down_waits_its_grace_and_can_be_cancelled() {
    const GRACE: i64 = 20;
    let node = Node::start(11155111);
    let opts = options(&node).env("WAIAAS_SECURITY_DELAY_GRACE_AFTER_START_SEC", &GRACE.to_string());
    let mut d = Daemon::start(opts.clone());
    let dir = d.dir.clone();
    let _keep = d.take_tmp();
    let api = Api::new(&d.base);
    let owner = OwnerKey::evm(0x54);
    // 60 s: the shortest delay a SPENDING_LIMIT takes.
    let (_wallet, addr, agent) = delay_wallet(&api, &node, &owner, 60).await;

    // The owner's notification channel: a webhook for the grace announcements.
    let (hook_url, deliveries) = webhook_receiver().await;
    let r = api.call("POST", "/v1/webhooks", &Api::master(), Some(json!({"url": hook_url, "events": ["TX_DELAY_GRACE"]}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    // Control: a DELAY that runs out while the daemon runs executes as before.
    let control = queue_delay(&api, &agent).await;
    tokio::time::sleep(Duration::from_secs(40)).await;
    let held = queue_delay(&api, &agent).await;
    let cancelled = queue_delay(&api, &agent).await;
    let t = api.wait_tx(&agent, &control, &["QUEUED", "PENDING", "EXECUTING", "SUBMITTED"], Duration::from_secs(60)).await;
    assert_eq!(t["status"], "CONFIRMED", "{t}");
    assert_eq!(node.nonce(&addr), 1);

    // The daemon stops; the two delays run out while it is down.
    assert!(d.stop().success());
    let due: Vec<i64> = {
        let db = rusqlite::Connection::open_with_flags(dir.join("data/waiaas.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        [&held, &cancelled]
            .iter()
            .map(|id| db.query_row("SELECT json_extract(metadata, '$.executeAfter') FROM transactions WHERE id = ?1", [id], |r| r.get(0)).unwrap())
            .collect()
    };
    while waiaas_core::now() <= due.iter().copied().max().unwrap() + 1 {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let started = waiaas_core::now();
    let d = Daemon::start_in(&dir, opts.clone()).unwrap_or_else(|e| panic!("restart: {e:?}"));
    let api = Api::new(&d.base);

    // Not executed at start: announced, with the new execute time.
    for (id, due) in [(&held, due[0]), (&cancelled, due[1])] {
        let t = api.call("GET", &format!("/v1/transactions/{id}"), &agent, None).await;
        assert_eq!(t.body["status"], "QUEUED", "{:?}", t.body);
        let events = audit(&api, &format!("event_type=TX_DELAY_GRACE&tx_id={id}")).await;
        assert_eq!(events.len(), 1, "{events:?}");
        let e = &events[0]["details"];
        let until = e["executeAfter"].as_i64().unwrap();
        assert!((started + GRACE..=waiaas_core::now() + GRACE).contains(&until), "{e}");
        assert_eq!((e["delayExpiredAt"].as_i64(), e["graceSeconds"].as_i64()), (Some(due), Some(GRACE)), "{e}");
        assert_eq!(events[0]["severity"], "warning");
    }
    assert!(audit(&api, &format!("event_type=TX_DELAY_GRACE&tx_id={control}")).await.is_empty(), "the control had no grace");
    // The notification channel carries the announcements, with the new execute time.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = deliveries.lock().unwrap().clone();
        let announced: Vec<&str> = got.iter().filter(|b| b["event"] == "TX_DELAY_GRACE").filter_map(|b| b["data"]["txId"].as_str()).collect();
        if announced.contains(&held.as_str()) && announced.contains(&cancelled.as_str()) {
            assert!(got.iter().all(|b| b["data"]["details"]["executeAfter"].as_i64().is_some_and(|t| t >= started + GRACE)), "{got:?}");
            break;
        }
        assert!(Instant::now() < deadline, "grace announcements not delivered: {got:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The owner cancels one within the grace window.
    let h = owner.headers(&api, &OwnerAction::Reject(cancelled.clone())).await;
    let r = api.call_with("POST", &format!("/v1/transactions/{cancelled}/reject"), &Auth::None, None, &h).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("CANCELLED")), "{:?}", r.body);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(api.call("GET", &format!("/v1/transactions/{held}"), &agent, None).await.body["status"], "QUEUED", "still within the grace");
    assert_eq!(node.nonce(&addr), 1, "nothing executed within the grace");

    // After the grace, the other one executes.
    let t = api.wait_tx(&agent, &held, &["QUEUED", "PENDING", "EXECUTING", "SUBMITTED"], Duration::from_secs(GRACE as u64 + 40)).await;
    assert_eq!(t["status"], "CONFIRMED", "{t}");
    let executing = audit(&api, &format!("event_type=TX_EXECUTING&tx_id={held}")).await;
    assert!(executing.iter().all(|e| e["timestamp"].as_i64().unwrap() >= started + GRACE), "{executing:?}");
    assert_eq!(api.call("GET", &format!("/v1/transactions/{cancelled}"), &agent, None).await.body["status"], "CANCELLED");
    assert_eq!(node.nonce(&addr), 2, "the cancelled one never reached the chain");
}
