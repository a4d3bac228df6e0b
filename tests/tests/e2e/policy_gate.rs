//! The policy gate through the daemon over HTTP, against a real anvil: limits hold under
//! concurrent load from several sessions, RATE_LIMIT is enforced, DELAY waits and can be
//! cancelled, and policies are validated on create and update alike.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

struct Node(Option<waiaas_testnodes::anvil::Anvil>);
impl Node {
    fn start() -> Node {
        Node(Some(tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111))))
    }
    fn url(&self) -> String {
        self.0.as_ref().unwrap().url.clone()
    }
    fn fund(&self, a: &str) {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().fund(a, 1_000_000_000_000_000_000_000))
    }
}
impl Drop for Node {
    fn drop(&mut self) {
        let n = self.0.take();
        tokio::task::block_in_place(move || drop(n));
    }
}

/// $10 at the configured price of 2000 USD/ETH.
const TEN_USD_WEI: &str = "5000000000000000";

async fn wallet(api: &Api, node: &Node) -> (String, String) {
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "w", "chain": "ethereum", "createSession": false}))).await;
    let id = w.body["id"].as_str().unwrap().to_string();
    node.fund(w.body["publicKey"].as_str().unwrap());
    (id, w.body["publicKey"].as_str().unwrap().to_string())
}

async fn session(api: &Api, wallet: &str) -> Auth {
    let s = api.call("POST", "/v1/sessions", &Api::master(), Some(json!({"walletId": wallet}))).await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    Auth::Session(s.body["token"].as_str().unwrap().into())
}

async fn settle(api: &Api, auth: &Auth, ids: &[String], timeout: Duration) -> Vec<Value> {
    // One deadline for all of them.
    let deadline = Instant::now() + timeout;
    let mut out = vec![];
    for id in ids {
        out.push(api.wait_tx(auth, id, IN_FLIGHT, deadline.saturating_duration_since(Instant::now())).await);
    }
    out
}

fn db(d: &Daemon) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(d.dir.join("data/waiaas.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_limit_holds_under_200_concurrent_sends_from_several_sessions() {
    let node = Node::start();
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url()).env("WAIAAS_PRICES_ETH", "2000"));
    let api = Api::new(&d.base);
    let (w, _) = wallet(&api, &node).await;
    let p = api
        .call(
            "POST",
            "/v1/policies",
            &Api::master(),
            Some(json!({"walletId": w, "type": "SPENDING_LIMIT", "rules": {
                "instant_max_usd": 100, "notify_max_usd": 500, "delay_max_usd": 2000, "delay_seconds": 900, "daily_limit_usd": 1000
            }})),
        )
        .await;
    assert_eq!(p.status, 201, "{:?}", p.body);
    let sessions = [session(&api, &w).await, session(&api, &w).await, session(&api, &w).await, session(&api, &w).await];
    let mut tasks = vec![];
    for i in 0..200 {
        let (api, auth) = (api.clone(), sessions[i % sessions.len()].clone());
        tasks.push(tokio::spawn(async move {
            let r = api.call("POST", "/v1/transactions/send", &auth, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[2], "amount": TEN_USD_WEI}))).await;
            assert_eq!(r.status, 201, "{:?}", r.body);
            (auth, r.body["id"].as_str().unwrap().to_string())
        }));
    }
    let mut all = vec![];
    for t in tasks {
        all.push(t.await.unwrap());
    }
    let mut txs = vec![];
    for (auth, id) in &all {
        txs.extend(settle(&api, auth, std::slice::from_ref(id), Duration::from_secs(120)).await);
    }
    let passed = txs.iter().filter(|t| t["tier"] == "INSTANT").count();
    let held = txs.iter().filter(|t| t["status"] == "QUEUED").count();
    assert_eq!(passed, 100, "exactly $1000 of $10 sends pass the gate");
    assert_eq!(held, 100, "the rest wait (cumulative limit -> APPROVAL, no owner -> DELAY)");
    assert!(txs.iter().filter(|t| t["tier"] == "INSTANT").all(|t| t["status"] == "CONFIRMED"));
    assert!(txs.iter().filter(|t| t["status"] == "QUEUED").all(|t| t["tier"] == "DELAY"));
    // The store's totals are exact.
    let conn = db(&d);
    let (n, usd): (i64, f64) = conn
        .query_row("SELECT COUNT(*), SUM(amount_usd) FROM transactions WHERE tier = 'INSTANT' AND status = 'CONFIRMED'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(n, 100);
    assert!((usd - 1000.0).abs() < 1e-6, "{usd}");
    let decision: String = conn.query_row("SELECT decision FROM transactions WHERE status = 'QUEUED' LIMIT 1", [], |r| r.get(0)).unwrap();
    let decision: Value = serde_json::from_str(&decision).unwrap();
    // The stored decision explains itself: the daily limit asked for APPROVAL, and with no
    // owner registered it was downgraded to DELAY.
    assert_eq!(decision["approvalReason"], "cumulative_daily", "{decision}");
    assert_eq!(decision["downgraded"], true, "{decision}");
    assert_eq!(decision["tier"], "DELAY");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_enforced_under_concurrency() {
    let node = Node::start();
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url()).env("WAIAAS_PRICES_ETH", "2000"));
    let api = Api::new(&d.base);
    let (w, _) = wallet(&api, &node).await;
    let p = api
        .call("POST", "/v1/policies", &Api::master(), Some(json!({"walletId": w, "type": "RATE_LIMIT", "rules": {"max_requests": 50, "window_seconds": 3600}})))
        .await;
    assert_eq!(p.status, 201, "{:?}", p.body);
    let sessions = [session(&api, &w).await, session(&api, &w).await];
    let mut tasks = vec![];
    for i in 0..120 {
        let (api, auth) = (api.clone(), sessions[i % 2].clone());
        tasks.push(tokio::spawn(async move {
            let r = api.call("POST", "/v1/transactions/send", &auth, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[3], "amount": "1000"}))).await;
            (auth, r.body["id"].as_str().unwrap().to_string())
        }));
    }
    let mut txs = vec![];
    for t in tasks {
        let (auth, id) = t.await.unwrap();
        txs.extend(settle(&api, &auth, &[id], Duration::from_secs(120)).await);
    }
    let ok = txs.iter().filter(|t| t["status"] == "CONFIRMED").count();
    let denied: Vec<_> = txs.iter().filter(|t| t["status"] == "CANCELLED").collect();
    assert_eq!(ok, 50);
    assert_eq!(denied.len(), 70);
    assert!(denied.iter().all(|t| t["errorCode"] == "RATE_LIMIT_EXCEEDED"), "{:?}", denied[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_waits_then_executes_and_a_cancelled_delay_never_reaches_the_chain() {
    let node = Node::start();
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url()).env("WAIAAS_PRICES_ETH", "2000"));
    let api = Api::new(&d.base);
    let (w, _) = wallet(&api, &node).await;
    // $10 is DELAY (instant/notify at $1), delay 60 s minimum by schema: use the smallest.
    let p = api
        .call(
            "POST",
            "/v1/policies",
            &Api::master(),
            Some(json!({"walletId": w, "type": "SPENDING_LIMIT", "rules": {
                "instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 1000, "delay_seconds": 60
            }})),
        )
        .await;
    assert_eq!(p.status, 201, "{:?}", p.body);
    let auth = session(&api, &w).await;
    // Simulate explains the decision without sending.
    let sim = api.call("POST", "/v1/transactions/simulate", &auth, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[4], "amount": TEN_USD_WEI}))).await;
    assert_eq!(sim.status, 200, "{:?}", sim.body);
    assert_eq!(sim.body["policy"]["tier"], "DELAY");
    assert_eq!(sim.body["policy"]["delaySeconds"], 60);
    assert_eq!(sim.body["simulation"]["success"], true);
    assert!(sim.body["fee"]["estimatedFee"].is_string());
    let listed = api.call("GET", "/v1/transactions", &auth, None).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 0, "simulate records nothing");

    let send = |amount: &'static str| {
        let (api, auth) = (api.clone(), auth.clone());
        async move {
            let r = api.call("POST", "/v1/transactions/send", &auth, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[4], "amount": amount}))).await;
            r.body["id"].as_str().unwrap().to_string()
        }
    };
    let keep = send(TEN_USD_WEI).await;
    let drop_it = send(TEN_USD_WEI).await;
    let t = settle(&api, &auth, &[keep.clone(), drop_it.clone()], Duration::from_secs(20)).await;
    assert!(t.iter().all(|x| x["status"] == "QUEUED" && x["tier"] == "DELAY"), "{t:?}");
    let pending = api.call("GET", "/v1/transactions/pending", &auth, None).await;
    assert_eq!(pending.body["items"].as_array().unwrap().len(), 2);
    let c = api.call("POST", &format!("/v1/transactions/{drop_it}/cancel"), &auth, None).await;
    assert_eq!(c.body, json!({"id": drop_it, "status": "CANCELLED"}));
    let c = api.call("POST", &format!("/v1/transactions/{drop_it}/cancel"), &auth, None).await;
    assert_eq!((c.status, c.code()), (409, "TX_ALREADY_PROCESSED"));
    // Not before the delay: still queued after a few seconds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = api.call("GET", &format!("/v1/transactions/{keep}"), &auth, None).await;
    assert_eq!(r.body["status"], "QUEUED");
    assert!(r.body["txHash"].is_null());
    // Shorten the wait by moving the deadline in the store would be cheating; wait it out.
    let deadline = Instant::now() + Duration::from_secs(75);
    loop {
        let r = api.call("GET", &format!("/v1/transactions/{keep}"), &auth, None).await;
        if r.body["status"] == "CONFIRMED" {
            break;
        }
        assert!(Instant::now() < deadline, "DELAY never executed: {:?}", r.body);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let r = api.call("GET", &format!("/v1/transactions/{drop_it}"), &auth, None).await;
    assert_eq!(r.body["status"], "CANCELLED");
    assert!(r.body["txHash"].is_null(), "a cancelled DELAY never reaches the chain");
}

#[tokio::test]
async fn policies_are_validated_on_create_and_update_and_change_nothing_when_refused() {
    let d = Daemon::start(Options::default());
    let api = Api::new(&d.base);
    let m = Api::master();
    let bad = [
        (json!({"type": "SPENDING_LIMIT", "rules": {"instant_max_usd": -1}}), "rules.instant_max_usd"),
        (json!({"type": "SPENDING_LIMIT", "rules": {"instant_max_usd": 10, "delay_seconds": 5}}), "rules.delay_seconds"),
        (json!({"type": "RATE_LIMIT", "rules": {"max_requests": 0, "window_seconds": 60}}), "rules.max_requests"),
        (json!({"type": "ALLOWED_TOKENS", "rules": {"tokens": []}}), "rules.tokens"),
        (json!({"type": "NOPE", "rules": {}}), "type"),
    ];
    let before = store_snapshot(&d.dir);
    for (body, field) in bad {
        let r = api.call("POST", "/v1/policies", &m, Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
        let path: Vec<String> = r.body["details"]["issues"][0]["path"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
        assert_eq!(path.join("."), field, "{body}: {:?}", r.body);
    }
    assert_eq!(store_snapshot(&d.dir), before);
    let p = api.call("POST", "/v1/policies", &m, Some(json!({"type": "RATE_LIMIT", "rules": {"max_requests": 5, "window_seconds": 60}}))).await;
    assert_eq!(p.status, 201);
    for k in ["id", "walletId", "type", "rules", "priority", "enabled", "network", "createdAt", "updatedAt"] {
        assert!(p.body.get(k).is_some(), "policy lacks {k}");
    }
    let id = p.body["id"].as_str().unwrap();
    // Update validates like create (upstream does not).
    let r = api.call("PUT", &format!("/v1/policies/{id}"), &m, Some(json!({"rules": {"max_requests": -3, "window_seconds": 60}}))).await;
    assert_eq!(r.status, 400);
    let r = api.call("PUT", &format!("/v1/policies/{id}"), &m, Some(json!({"rules": {"max_requests": 9, "window_seconds": 60}, "enabled": false}))).await;
    assert_eq!((r.status, r.body["rules"]["max_requests"].as_i64(), r.body["enabled"].as_bool()), (200, Some(9), Some(false)));
    let l = api.call("GET", "/v1/policies", &m, None).await;
    assert_eq!(l.body["total"], 1);
    let r = api.call("DELETE", &format!("/v1/policies/{id}"), &m, None).await;
    assert_eq!(r.body, json!({"id": id, "deleted": true}));
    let r = api.call("GET", &format!("/v1/policies/{id}"), &m, None).await;
    assert_eq!((r.status, r.code()), (404, "POLICY_NOT_FOUND"));
}
