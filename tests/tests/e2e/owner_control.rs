//! The human in the loop, over HTTP against a real anvil: APPROVAL waits for the owner's
//! signature (SIWE + EIP-191) and nothing else; replayed, mismatched, expired and unsigned
//! approvals are refused; rejection and expiry never reach the chain; the owner's kill switch
//! cancels queued work, escalation revokes sessions and recovery from LOCKED needs the owner
//! too; AutoStop stops unusual activity; the audit log and signed webhooks see all of it.

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use waiaas_core::auth::owner::OwnerAction;
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

pub(crate) struct Node(Option<waiaas_testnodes::anvil::Anvil>);
impl Node {
    pub(crate) fn start() -> Node {
        Node(Some(tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111))))
    }
    pub(crate) fn url(&self) -> String {
        self.0.as_ref().unwrap().url.clone()
    }
    pub(crate) fn fund(&self, a: &str) {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().fund(a, 1_000_000_000_000_000_000_000))
    }
    /// Transactions the node has seen from `addr` (its nonce).
    pub(crate) fn sent_by(&self, addr: &str) -> u64 {
        let v = tokio::task::block_in_place(|| self.0.as_ref().unwrap().rpc("eth_getTransactionCount", json!([addr, "latest"])));
        u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
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

fn daemon(node: &Node, extra: &[(&str, &str)]) -> Daemon {
    let mut o = Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url()).env("WAIAAS_PRICES_ETH", "2000");
    for (k, v) in extra {
        o = o.env(k, v);
    }
    Daemon::start(o)
}

/// An EVM wallet with a session, funded, whose $10 sends need APPROVAL (timeout given).
pub(crate) async fn approval_wallet(api: &Api, node: &Node, approval_timeout: u64) -> (String, String, Auth) {
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "w", "chain": "ethereum"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let id = w.body["id"].as_str().unwrap().to_string();
    let addr = w.body["publicKey"].as_str().unwrap().to_string();
    node.fund(&addr);
    let p = api
        .call(
            "POST",
            "/v1/policies",
            &Api::master(),
            Some(json!({"walletId": id, "type": "SPENDING_LIMIT", "rules": {
                "instant_max_usd": 1, "notify_max_usd": 2, "delay_max_usd": 3, "delay_seconds": 60, "approval_timeout": approval_timeout
            }})),
        )
        .await;
    assert_eq!(p.status, 201, "{:?}", p.body);
    (id, addr, Auth::Session(w.body["session"]["token"].as_str().unwrap().into()))
}

pub(crate) async fn send(api: &Api, auth: &Auth) -> String {
    let r = api.call("POST", "/v1/transactions/send", auth, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[5], "amount": TEN_USD_WEI}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

pub(crate) async fn queued(api: &Api, auth: &Auth, id: &str) -> Value {
    let t = api.wait_tx(auth, id, IN_FLIGHT, Duration::from_secs(20)).await;
    assert_eq!(t["status"], "QUEUED", "{t}");
    t
}

async fn set_owner(api: &Api, wallet: &str, owner: &OwnerKey) {
    let r = api.call("PUT", &format!("/v1/wallets/{wallet}/owner"), &Api::master(), Some(json!({"owner_address": owner.address()}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["ownerAddress"], owner.address());
    assert_eq!(r.body["ownerVerified"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_needs_a_fresh_owner_signature_for_that_transaction_and_nothing_else() {
    let node = Node::start();
    let d = daemon(&node, &[]);
    let api = Api::new(&d.base);
    let (wallet, addr, agent) = approval_wallet(&api, &node, 3600).await;
    let owner = OwnerKey::evm(0x42);
    // Without an owner, APPROVAL is downgraded to DELAY (upstream rule, and nothing could approve it).
    let t = queued(&api, &agent, &send(&api, &agent).await).await;
    assert_eq!(t["tier"], "DELAY");
    set_owner(&api, &wallet, &owner).await;
    let w = api.call("GET", &format!("/v1/wallets/{wallet}"), &Api::master(), None).await;
    assert_eq!(w.body["ownerState"], "GRACE");

    let tx = send(&api, &agent).await;
    let other = send(&api, &agent).await;
    assert_eq!(queued(&api, &agent, &tx).await["tier"], "APPROVAL");
    queued(&api, &agent, &other).await;
    let pending = api.call("GET", "/v1/transactions/pending", &agent, None).await;
    assert!(pending.body["items"].as_array().unwrap().iter().any(|t| t["id"] == tx.as_str()));
    let path = format!("/v1/transactions/{tx}/approve");

    // No owner headers (even with the agent's own token): refused.
    let r = api.call("POST", &path, &agent, None).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_SIGNATURE"));
    // The agent cannot sign as the owner with another key.
    let impostor = OwnerKey::evm(0x43);
    let mut h = impostor.headers(&api, &OwnerAction::Approve(tx.clone())).await;
    h[0].1 = owner.address();
    let r = api.call_with("POST", &path, &Auth::None, None, &h).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_SIGNATURE"), "{:?}", r.body);
    // A signature for another transaction does not approve this one.
    let h = owner.headers(&api, &OwnerAction::Approve(other.clone())).await;
    let r = api.call_with("POST", &path, &Auth::None, None, &h).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_SIGNATURE"), "{:?}", r.body);
    // A reject signature is not an approval.
    let h = owner.headers(&api, &OwnerAction::Reject(tx.clone())).await;
    let r = api.call_with("POST", &path, &Auth::None, None, &h).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_SIGNATURE"));
    // A nonce the daemon never issued.
    let domain = d.base.trim_start_matches("http://").to_string();
    let h = owner.headers_for(&owner.message(&domain, "00ff00ff", &OwnerAction::Approve(tx.clone()), 300));
    let r = api.call_with("POST", &path, &Auth::None, None, &h).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_NONCE"), "{:?}", r.body);
    // Another domain (a phishing site relaying the owner's signature).
    let n = api.call("GET", "/v1/nonce", &Auth::None, None).await;
    let h = owner.headers_for(&owner.message("wallet.example", n.body["nonce"].as_str().unwrap(), &OwnerAction::Approve(tx.clone()), 300));
    let r = api.call_with("POST", &path, &Auth::None, None, &h).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_SIGNATURE"));
    // An expired message.
    let n = api.call("GET", "/v1/nonce", &Auth::None, None).await;
    let h = owner.headers_for(&owner.message(&domain, n.body["nonce"].as_str().unwrap(), &OwnerAction::Approve(tx.clone()), -5));
    let r = api.call_with("POST", &path, &Auth::None, None, &h).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_SIGNATURE"));
    // Nothing moved so far.
    assert_eq!(api.call("GET", &format!("/v1/transactions/{tx}"), &agent, None).await.body["status"], "QUEUED");
    assert_eq!(node.sent_by(&addr), 0);

    // The owner's signature alone (no agent token) approves it, and it lands.
    let h = owner.headers(&api, &OwnerAction::Approve(tx.clone())).await;
    let r = api.call_with("POST", &path, &Auth::None, None, &h).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "EXECUTING");
    let t = api.wait_tx(&agent, &tx, &["QUEUED", "PENDING", "EXECUTING", "SUBMITTED"], Duration::from_secs(20)).await;
    assert_eq!(t["status"], "CONFIRMED", "{t}");
    assert_eq!(node.sent_by(&addr), 1);
    // The same headers again: the nonce is spent.
    let r = api.call_with("POST", &path, &Auth::None, None, &h).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_NONCE"));
    // Approving proved the owner: LOCKED, and the operator can no longer swap the owner.
    let w = api.call("GET", &format!("/v1/wallets/{wallet}"), &Api::master(), None).await;
    assert_eq!(w.body["ownerState"], "LOCKED");
    let r = api.call("PUT", &format!("/v1/wallets/{wallet}/owner"), &Api::master(), Some(json!({"owner_address": impostor.address()}))).await;
    assert_eq!((r.status, r.code()), (409, "OWNER_ALREADY_CONNECTED"));

    // Rejection: cancelled, reservation released, never on the chain.
    let h = owner.headers(&api, &OwnerAction::Reject(other.clone())).await;
    let r = api.call_with("POST", &format!("/v1/transactions/{other}/reject"), &Auth::None, None, &h).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "CANCELLED");
    let t = api.call("GET", &format!("/v1/transactions/{other}"), &agent, None).await;
    assert_eq!(t.body["status"], "CANCELLED");
    assert!(t.body["txHash"].is_null());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(node.sent_by(&addr), 1, "a rejected transaction never reaches the chain");

    // The audit log names who did what.
    let a = api.call("GET", &format!("/v1/audit-logs?tx_id={tx}&limit=50"), &Api::master(), None).await;
    let events: Vec<&str> = a.body["data"].as_array().unwrap().iter().map(|e| e["eventType"].as_str().unwrap()).collect();
    for e in ["TX_APPROVAL_REQUIRED", "TX_APPROVED", "TX_SUBMITTED", "TX_CONFIRMED"] {
        assert!(events.contains(&e), "{e} missing from {events:?}");
    }
    let approved = a.body["data"].as_array().unwrap().iter().find(|e| e["eventType"] == "TX_APPROVED").unwrap();
    assert_eq!(approved["actor"], owner.address());
    let failures = api.call("GET", &format!("/v1/audit-logs?event_type=OWNER_AUTH_FAILED&wallet_id={wallet}"), &Api::master(), None).await;
    assert!(failures.body["data"].as_array().unwrap().len() >= 5, "{:?}", failures.body);
    let r = api.call("GET", "/v1/audit-logs", &agent, None).await;
    assert_eq!(r.status, 401, "the audit log is for the operator");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unapproved_transaction_expires_and_solana_owners_verify_with_ed25519() {
    let node = Node::start();
    let d = daemon(&node, &[]);
    let api = Api::new(&d.base);
    let (wallet, addr, agent) = approval_wallet(&api, &node, 2).await;
    let owner = OwnerKey::evm(0x51);
    set_owner(&api, &wallet, &owner).await;
    let tx = send(&api, &agent).await;
    assert_eq!(queued(&api, &agent, &tx).await["tier"], "APPROVAL");
    let t = api.wait_tx(&agent, &tx, &["QUEUED"], Duration::from_secs(10)).await;
    assert_eq!(t["status"], "EXPIRED", "{t}");
    let h = owner.headers(&api, &OwnerAction::Approve(tx.clone())).await;
    let r = api.call_with("POST", &format!("/v1/transactions/{tx}/approve"), &Auth::None, None, &h).await;
    assert_eq!((r.status, r.code()), (404, "APPROVAL_NOT_FOUND"), "{:?}", r.body);
    assert_eq!(node.sent_by(&addr), 0);

    // A Solana wallet's owner proves itself with an Ed25519 signature (GRACE -> LOCKED).
    let sw = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "s", "chain": "solana", "createSession": false}))).await;
    let sid = sw.body["id"].as_str().unwrap().to_string();
    let sol_owner = OwnerKey::solana(0x61);
    let r = api
        .call("PUT", &format!("/v1/wallets/{sid}/owner"), &Api::master(), Some(json!({"owner_address": "0x00000000000000000000000000000000000000aa"})))
        .await;
    assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"), "an EVM address cannot own a Solana wallet");
    set_owner(&api, &sid, &sol_owner).await;
    // An EVM signature over the right message does not verify a Solana owner.
    let mut h = sol_owner.headers(&api, &OwnerAction::Verify(sid.clone())).await;
    h[2].1 = owner.sign("whatever");
    let r = api.call_with("POST", &format!("/v1/wallets/{sid}/owner/verify"), &Auth::None, None, &h).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_SIGNATURE"));
    let h = sol_owner.headers(&api, &OwnerAction::Verify(sid.clone())).await;
    let r = api.call_with("POST", &format!("/v1/wallets/{sid}/owner/verify"), &Auth::None, None, &h).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body, json!({"ownerState": "LOCKED", "ownerAddress": sol_owner.address(), "ownerVerified": true}));
}

/// A local webhook receiver that checks the HMAC of every delivery; the first delivery of
/// each event gets a 500, so retries are exercised.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, String, bool)>>>,
    seen: Arc<Mutex<std::collections::HashSet<String>>>,
    secret: Arc<Mutex<String>>,
}

impl Receiver {
    async fn start(&self) -> String {
        use axum::http::{HeaderMap, StatusCode};
        let me = self.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let me = me.clone();
                async move {
                    use hmac::Mac;
                    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(me.secret.lock().unwrap().as_bytes()).unwrap();
                    mac.update(&body);
                    let ok = h("x-waiaas-signature") == format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                    let delivery = h("x-waiaas-delivery");
                    let first = me.seen.lock().unwrap().insert(delivery.clone());
                    me.got.lock().unwrap().push((h("x-waiaas-event"), delivery, ok));
                    if first {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        url
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_switch_by_the_owner_escalation_recovery_autostop_and_signed_webhooks() {
    let node = Node::start();
    // The receiver listens on loopback: allowed only with webhook_allow_private.
    let d = daemon(&node, &[("WAIAAS_SECURITY_AUTOSTOP_UNUSUAL_ACTIVITY_THRESHOLD", "6"), ("WAIAAS_SECURITY_WEBHOOK_ALLOW_PRIVATE", "true")]);
    let api = Api::new(&d.base);
    let rx = Receiver::default();
    let url = rx.start().await;
    // Webhook CRUD (also under /v1/admin/webhooks); the secret is shown once.
    let r = api.call("POST", "/v1/admin/webhooks", &Api::master(), Some(json!({"url": "ftp://x"}))).await;
    assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"));
    let r = api.call("POST", "/v1/webhooks", &Api::master(), Some(json!({"url": url, "events": ["NOT_AN_EVENT"]}))).await;
    assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"));
    let r = api.call("POST", "/v1/webhooks", &Auth::None, Some(json!({"url": url}))).await;
    assert_eq!(r.status, 401);
    let hook = api
        .call("POST", "/v1/webhooks", &Api::master(), Some(json!({"url": url, "events": ["TX_QUEUED", "KILL_SWITCH_ACTIVATED", "AUTO_STOP_TRIGGERED"]})))
        .await;
    assert_eq!(hook.status, 201, "{:?}", hook.body);
    let hook_id = hook.body["id"].as_str().unwrap().to_string();
    *rx.secret.lock().unwrap() = hook.body["secret"].as_str().unwrap().to_string();
    let listed = api.call("GET", "/v1/admin/webhooks", &Api::master(), None).await;
    assert_eq!(listed.body["data"][0]["id"], hook_id.as_str());
    assert!(listed.body["data"][0].get("secret").is_none(), "the secret is never listed");

    // A wallet with a DELAY send queued, and an owner.
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "w", "chain": "ethereum"}))).await;
    let (wallet, addr) = (w.body["id"].as_str().unwrap().to_string(), w.body["publicKey"].as_str().unwrap().to_string());
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    node.fund(&addr);
    api.call(
        "POST",
        "/v1/policies",
        &Api::master(),
        Some(json!({"walletId": wallet, "type": "SPENDING_LIMIT", "rules": {
        "instant_max_usd": 1, "notify_max_usd": 2, "delay_max_usd": 1000, "delay_seconds": 60}})),
    )
    .await;
    let owner = OwnerKey::evm(0x71);
    set_owner(&api, &wallet, &owner).await;
    let delayed = send(&api, &agent).await;
    assert_eq!(queued(&api, &agent, &delayed).await["tier"], "DELAY");

    // The owner pulls the kill switch with a signature alone.
    let stranger = OwnerKey::evm(0x72);
    let h = stranger.headers(&api, &OwnerAction::KillSwitchActivate).await;
    let r = api.call_with("POST", "/v1/owner/kill-switch", &Auth::None, None, &h).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_SIGNATURE"), "only a registered owner");
    let h = owner.headers(&api, &OwnerAction::KillSwitchActivate).await;
    let r = api.call_with("POST", "/v1/owner/kill-switch", &Auth::None, None, &h).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["state"], "SUSPENDED");
    let r = api.call("POST", "/v1/transactions/send", &agent, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[5], "amount": "1"}))).await;
    assert_eq!((r.status, r.code()), (503, "SYSTEM_LOCKED"));
    // Escalation locks it and revokes every session.
    let r = api.call("POST", "/v1/admin/kill-switch/escalate", &Api::master(), None).await;
    assert_eq!(r.body["state"], "LOCKED", "{:?}", r.body);
    // From LOCKED the master alone cannot recover while an owner exists.
    let r = api.call("POST", "/v1/admin/recover", &Api::master(), None).await;
    assert_eq!((r.status, r.code()), (401, "INVALID_SIGNATURE"));
    let h = owner.headers(&api, &OwnerAction::KillSwitchRecover).await;
    let body = json!({"ownerAddress": h[0].1, "message": h[1].1, "ownerSignature": h[2].1, "chain": "ethereum"});
    let r = api.call("POST", "/v1/admin/recover", &Auth::None, Some(body.clone())).await;
    assert_eq!(r.status, 401, "the owner alone cannot recover either");
    let r = api.call("POST", "/v1/admin/recover", &Api::master(), Some(body)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["state"], "ACTIVE");
    let r = api.call("GET", "/v1/wallet/balance", &agent, None).await;
    assert_eq!((r.status, r.code()), (401, "SESSION_REVOKED"), "LOCKED revoked the agent's session");
    let w = api.call("GET", &format!("/v1/wallets/{wallet}"), &Api::master(), None).await;
    assert_eq!(w.body["status"], "ACTIVE", "the wallets the switch suspended are resumed");
    assert_eq!(node.sent_by(&addr), 0);

    // AutoStop: more than 6 requests within the window suspends the wallet.
    let s = api.call("POST", "/v1/sessions", &Api::master(), Some(json!({"walletId": wallet}))).await;
    let agent = Auth::Session(s.body["token"].as_str().unwrap().into());
    let t = api.call("GET", &format!("/v1/transactions/{delayed}"), &agent, None).await;
    assert_eq!(t.body["status"], "CANCELLED", "the kill switch cancelled queued work: {:?}", t.body);
    let mut codes = vec![];
    for _ in 0..8 {
        let r = api.call("POST", "/v1/transactions/send", &agent, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[5], "amount": "1000"}))).await;
        codes.push(r.code().to_string());
    }
    assert_eq!(codes.iter().filter(|c| c.is_empty()).count(), 5, "5 more accepted (1 before): {codes:?}");
    assert_eq!(codes[5], "WALLET_SUSPENDED", "{codes:?}");
    let w = api.call("GET", &format!("/v1/wallets/{wallet}"), &Api::master(), None).await;
    assert_eq!(w.body["status"], "SUSPENDED");
    assert_eq!(w.body["suspensionReason"], "UNUSUAL_ACTIVITY");

    // Every subscribed event arrived, signed; the first attempt's 500 was retried.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = rx.got.lock().unwrap().clone();
        let delivered: Vec<&str> = got.iter().filter(|g| g.2).map(|g| g.0.as_str()).collect();
        if ["TX_QUEUED", "KILL_SWITCH_ACTIVATED", "AUTO_STOP_TRIGGERED"].iter().all(|e| delivered.iter().filter(|d| *d == e).count() >= 2) {
            assert!(got.iter().all(|g| g.2), "every delivery carries a valid HMAC: {got:?}");
            assert!(!got.iter().any(|g| g.0 == "TX_CONFIRMED" || g.0 == "KILL_SWITCH_ESCALATED"), "only subscribed events: {got:?}");
            break;
        }
        assert!(Instant::now() < deadline, "webhook deliveries missing: {got:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let logs = api.call("GET", &format!("/v1/webhooks/{hook_id}/logs?event_type=KILL_SWITCH_ACTIVATED"), &Api::master(), None).await;
    let attempts: Vec<(i64, &str)> =
        logs.body["data"].as_array().unwrap().iter().map(|l| (l["attempt"].as_i64().unwrap(), l["status"].as_str().unwrap())).collect();
    assert!(attempts.contains(&(1, "failed")) && attempts.contains(&(2, "success")), "{attempts:?}");

    // Audit log: filters and cursor pagination walk the whole log exactly once.
    let all = api.call("GET", "/v1/audit-logs?limit=200&include_total=true", &Api::master(), None).await;
    let total = all.body["total"].as_i64().unwrap();
    let mut seen = vec![];
    let mut cursor: Option<i64> = None;
    loop {
        let q = match cursor {
            Some(c) => format!("/v1/audit-logs?limit=7&cursor={c}"),
            None => "/v1/audit-logs?limit=7".into(),
        };
        let p = api.call("GET", &q, &Api::master(), None).await;
        for e in p.body["data"].as_array().unwrap() {
            seen.push(e["id"].as_i64().unwrap());
        }
        if p.body["hasMore"] == false {
            assert!(p.body["nextCursor"].is_null());
            break;
        }
        cursor = p.body["nextCursor"].as_i64();
    }
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats");
    assert_eq!(seen.len() as i64, total);
    let ks = api.call("GET", "/v1/audit-logs?event_type=KILL_SWITCH_ACTIVATED", &Api::master(), None).await;
    assert_eq!(ks.body["data"][0]["actor"], format!("owner:{}", owner.address()));
    let r = api.call("GET", "/v1/audit-logs?limit=0", &Api::master(), None).await;
    assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"));
    let r = api.call("DELETE", &format!("/v1/webhooks/{hook_id}"), &Api::master(), None).await;
    assert_eq!(r.status, 204);
    let r = api.call("DELETE", &format!("/v1/webhooks/{hook_id}"), &Api::master(), None).await;
    assert_eq!((r.status, r.code()), (404, "WEBHOOK_NOT_FOUND"));
}
