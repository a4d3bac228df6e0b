//! Owner approvals from a phone through the push relay, over real sockets: the `waiaas`
//! daemon, the `waiaas-relay` binary pushing through a fake FCM HTTP v1 (the relay tests'
//! fake: OAuth JWT grant + `messages:send`), anvil or the Solana validator, and the phone =
//! upstream's wallet SDK from npm (`@waiaas/wallet-sdk` 2.12.0, driven by
//! `waiaas-relay/tests/compat/phone.mjs`): it registers the device, parses the sign request
//! from the pushed `universalLinkUrl` and sends the answer through the relay; the owner's key
//! (held by the test) signs the request's `message`.
//!
//! Checked: approve → CONFIRMED on chain, audited `owner:<addr> via sdk_push`; reject →
//! CANCELLED; an answer signed by another key is refused and the transaction keeps waiting; a
//! replayed answer moves money once; an expired request does nothing; the daemon restarted
//! between the push and the answer approves exactly once; the same loop for a Solana owner
//! (base58 signature); the operator's test sign request (`test-sign-request`: answered and
//! verified, another key not verified, a timeout, 401/404/400) decides nothing; with two
//! daemons on PostgreSQL, the answer to a request pushed by the lead, killed with SIGKILL, is
//! taken by the other, once. Skipped,
//! saying so, when node/npm are not installed.

#[path = "../../../waiaas-relay/tests/common/shared.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod relay_harness;

use super::owner_control::{approval_wallet, queued, send, Node};
use relay_harness::API_KEY as RELAY_API_KEY;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use waiaas_core::auth::owner::OwnerAction;
use waiaas_e2e::*;

const DAEMON_KEY: &str = "phone-test-daemon-key-0123456789";

/// The wallet SDK's cache dir (installed by `install.sh`), or `None` (with the reason printed)
/// when node or npm are missing.
fn wallet_sdk() -> Option<PathBuf> {
    if Command::new("node").arg("--version").output().map(|o| !o.status.success()).unwrap_or(true) {
        println!("SKIPPED the phone approvals: node is not installed");
        return None;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../waiaas-relay/tests/compat/install.sh");
    let out = Command::new("bash").arg(script).output().expect("run install.sh");
    if !out.status.success() {
        println!("SKIPPED the phone approvals: the wallet SDK could not be installed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()))
}

/// The phone: one `node phone.mjs ...` call, its JSON line.
fn phone(sdk: &PathBuf, args: &[&str]) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../waiaas-relay/tests/compat/phone.mjs");
    let out = tokio::task::block_in_place(|| Command::new("node").arg(script).args(args).env("WALLET_SDK_DIR", sdk).output().expect("run node"));
    assert!(out.status.success(), "phone {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("phone {args:?} printed {:?}: {e}", String::from_utf8_lossy(&out.stdout)))
}

/// The relay binary with FCM (the fake) and a daemon key; stopped on drop.
struct Relay {
    proc: relay_harness::RelayProc,
    _sa: relay_harness::ServiceAccount,
    fcm: relay_harness::FakeFcm,
}

async fn relay() -> Relay {
    let (fcm, sa) = relay_harness::fcm_with_account().await;
    let config = relay_harness::config(&format!("daemon_key = \"{DAEMON_KEY}\""), &relay_harness::fcm_block(&sa.json_path, &fcm.base, ""));
    let bin = workspace_bin("waiaas-relay", "WAIAAS_RELAY_BIN");
    let proc = tokio::task::block_in_place(|| relay_harness::start_relay_at(&bin, &config, &[], &[]));
    Relay { proc, _sa: sa, fcm }
}

impl Relay {
    /// The sign-request pushes FCM received, by transaction id.
    async fn push_for(&self, api: &Api, tx_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            for s in self.fcm.sends() {
                let data = &s["message"]["data"];
                if data["metadata"].as_str().is_some_and(|m| m.contains(tx_id)) {
                    return s;
                }
            }
            if Instant::now() > deadline {
                let log = api.call("GET", &format!("/v1/audit-logs?tx_id={tx_id}&limit=50"), &Api::master(), None).await;
                panic!("no push for {tx_id}; FCM got {:?}; audit {:?}; relay log {}", self.fcm.sends(), log.body, self.proc.log_text());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    fn pushes_for(&self, tx_id: &str) -> usize {
        self.fcm.sends().iter().filter(|s| s["message"]["data"]["metadata"].as_str().is_some_and(|m| m.contains(tx_id))).count()
    }
}

/// The phone's device on the relay and the wallet app carrying its subscription token.
async fn pair_phone(api: &Api, relay: &Relay, sdk: &PathBuf) {
    let push_token = format!("fcm-device-{}", waiaas_core::new_id());
    let reg = phone(sdk, &["register", &relay.proc.base, RELAY_API_KEY, &push_token]);
    let sub = reg["subscriptionToken"].as_str().expect("subscription token").to_string();
    let created = api
        .call("POST", "/v1/admin/wallet-apps", &Api::master(), Some(json!({"name": "dcent", "display_name": "D'CENT Wallet", "wallet_type": "dcent"})))
        .await;
    let id = match created.status {
        201 => created.body["app"]["id"].as_str().unwrap().to_string(),
        _ => {
            assert_eq!(created.code(), "WALLET_APP_DUPLICATE", "{:?}", created.body);
            let apps = api.call("GET", "/v1/admin/wallet-apps", &Api::master(), None).await;
            apps.body["apps"].as_array().unwrap().iter().find(|a| a["name"] == "dcent").unwrap()["id"].as_str().unwrap().to_string()
        }
    };
    let r = api
        .call("PUT", &format!("/v1/admin/wallet-apps/{id}"), &Api::master(), Some(json!({"subscription_token": sub, "push_relay_url": relay.proc.base})))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["app"]["signing_enabled"], true);
    assert_eq!(r.body["app"]["subscription_token"], sub.as_str());
}

/// Owner registered with the D'CENT preset (approvals through sdk_push) and verified.
async fn register_owner(api: &Api, wallet: &str, owner: &OwnerKey) {
    let r =
        api.call("PUT", &format!("/v1/wallets/{wallet}/owner"), &Api::master(), Some(json!({"owner_address": owner.address(), "wallet_type": "dcent"}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["approvalMethod"], "sdk_push");
    assert_eq!(r.body["walletType"], "dcent");
    let h = owner.headers(api, &OwnerAction::Verify(wallet.to_string())).await;
    let v = api.call_with("POST", &format!("/v1/wallets/{wallet}/owner/verify"), &Auth::None, None, &h).await;
    assert_eq!(v.status, 200, "{:?}", v.body);
}

/// The phone reads the push: the sign request from its universal link (parsed by the SDK).
fn read_push(sdk: &PathBuf, push: &Value) -> Value {
    let data = &push["message"]["data"];
    assert_eq!(data["title"], "WAIaaS Sign Request");
    let link = data["universalLinkUrl"].as_str().expect("universalLinkUrl");
    assert!(link.starts_with("https://link.dcentwallet.com/waiaas/sign?data="), "{link}");
    let req = phone(sdk, &["parse", link]);
    assert_eq!(req["message"], data["message"], "the link and the flat payload carry the same message");
    req
}

fn answer(sdk: &PathBuf, req: &Value, action: &str, key: &OwnerKey, signer: &str) -> Value {
    let relay = req["responseChannel"]["pushRelayUrl"].as_str().unwrap();
    let sig = key.sign(req["message"].as_str().unwrap());
    phone(sdk, &["send", relay, RELAY_API_KEY, req["requestId"].as_str().unwrap(), action, &sig, signer])
}

async fn audit(api: &Api, tx: &str, event: &str) -> Vec<Value> {
    let a = api.call("GET", &format!("/v1/audit-logs?tx_id={tx}&event_type={event}&limit=50"), &Api::master(), None).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body["data"].as_array().unwrap().clone()
}

async fn wait_audit(api: &Api, tx: &str, event: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = audit(api, tx, event).await;
        if !got.is_empty() {
            return got;
        }
        assert!(Instant::now() < deadline, "no {event} for {tx}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn daemon_opts(node: &Node) -> Options {
    Options::default()
        .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url())
        .env("WAIAAS_PRICES_ETH", "2000")
        .env("WAIAAS_SIGNING_SDK_RELAY_DAEMON_TOKEN", DAEMON_KEY)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_approves_and_rejects_from_the_phone_and_forgeries_and_replays_fail() {
    let Some(sdk) = wallet_sdk() else { return };
    let node = Node::start();
    let relay = relay().await;
    let d = Daemon::start(daemon_opts(&node));
    let api = Api::new(&d.base);
    let (wallet, addr, agent) = approval_wallet(&api, &node, 3600).await;
    let owner = OwnerKey::evm(0x51);
    // Bad input is refused with a clear 400 and stores nothing; wallet apps are the master's.
    let path = format!("/v1/wallets/{wallet}/owner");
    for bad in
        [json!({"owner_address": owner.address(), "approval_method": "carrier_pigeon"}), json!({"owner_address": owner.address(), "wallet_type": "Not A Type"})]
    {
        let r = api.call("PUT", &path, &Api::master(), Some(bad)).await;
        assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"), "{:?}", r.body);
    }
    let w = api.call("GET", &format!("/v1/wallets/{wallet}"), &Api::master(), None).await;
    assert_eq!((w.body["ownerAddress"].clone(), w.body["approvalMethod"].clone()), (Value::Null, Value::Null), "{:?}", w.body);
    let apps = "/v1/admin/wallet-apps";
    assert_eq!(api.call("GET", apps, &Auth::None, None).await.status, 401, "upstream served wallet apps without auth");
    let r = api.call("POST", apps, &Auth::None, Some(json!({"name": "x", "display_name": "X"}))).await;
    assert_eq!(r.status, 401);
    let r = api.call("POST", apps, &Api::master(), Some(json!({"name": "Bad Name", "display_name": "X"}))).await;
    assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"), "{:?}", r.body);
    let r = api.call("POST", apps, &Api::master(), Some(json!({"name": "x", "display_name": "X", "push_relay_url": "ftp://relay"}))).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(api.call("GET", apps, &Api::master(), None).await.body, json!({"apps": []}), "nothing stored");
    pair_phone(&api, &relay, &sdk).await;
    let dup = api.call("POST", apps, &Api::master(), Some(json!({"name": "dcent", "display_name": "Again"}))).await;
    assert_eq!((dup.status, dup.code()), (409, "WALLET_APP_DUPLICATE"));
    register_owner(&api, &wallet, &owner).await;
    let w = api.call("GET", &format!("/v1/wallets/{wallet}"), &Api::master(), None).await;
    assert_eq!((w.body["approvalMethod"].clone(), w.body["walletType"].clone()), (json!("sdk_push"), json!("dcent")), "{:?}", w.body);
    let listed = api.call("GET", apps, &Api::master(), None).await;
    assert_eq!(listed.body["apps"][0]["used_by"], json!([{"id": wallet, "label": "w"}]), "{:?}", listed.body);

    // Approve: pushed, parsed by the SDK, signed by the owner, answered through the relay.
    let tx = send(&api, &agent).await;
    assert_eq!(queued(&api, &agent, &tx).await["tier"], "APPROVAL");
    let push = relay.push_for(&api, &tx).await;
    assert_eq!(push["message"]["android"]["priority"], "HIGH", "sign requests are high priority");
    let req = read_push(&sdk, &push);
    assert_eq!(req["signerAddress"], owner.address().as_str());
    assert_eq!(req["metadata"]["txId"], tx.as_str());
    assert_eq!(req["metadata"]["from"], addr.as_str());
    assert_eq!(req["caip2ChainId"], "eip155:11155111");
    assert!(req["message"].as_str().unwrap().contains(&format!("Transaction: {tx}\n")));
    // Alerts too from now on (upstream's `notification` payload), and a test notification.
    let app_id = listed.body["apps"][0]["id"].as_str().unwrap().to_string();
    let r = api.call("PUT", &format!("{apps}/{app_id}"), &Api::master(), Some(json!({"alerts_enabled": true}))).await;
    assert_eq!(r.body["app"]["alerts_enabled"], true, "{:?}", r.body);
    let t = api.call("POST", &format!("{apps}/{app_id}/test-notification"), &Api::master(), None).await;
    assert_eq!((t.status, t.body.clone()), (200, json!({"success": true})));
    assert!(relay.fcm.sends().iter().any(|s| s["message"]["data"]["eventType"] == "TEST"), "{:?}", relay.fcm.sends());
    assert_eq!(answer(&sdk, &req, "approve", &owner, &owner.address())["sent"], true);
    let t = api.wait_tx(&agent, &tx, &["QUEUED", "PENDING", "EXECUTING", "SUBMITTED"], Duration::from_secs(60)).await;
    assert_eq!(t["status"], "CONFIRMED", "{t}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let alert = loop {
        let found = relay.fcm.sends().into_iter().find(|s| s["message"]["data"]["eventType"] == "TX_CONFIRMED");
        if let Some(a) = found {
            break a;
        }
        assert!(Instant::now() < deadline, "no TX_CONFIRMED alert: {:?}", relay.fcm.sends());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let data = &alert["message"]["data"];
    assert_eq!(
        (data["walletId"].as_str(), data["walletName"].as_str(), data["category"].as_str()),
        (Some(wallet.as_str()), Some("w"), Some("transaction")),
        "{data}"
    );
    assert_eq!(alert["message"]["android"]["priority"], "NORMAL", "alerts are normal priority");
    let approved = audit(&api, &tx, "TX_APPROVED").await;
    assert_eq!(approved.len(), 1, "{approved:?}");
    assert_eq!(approved[0]["actor"], format!("owner:{} via sdk_push", owner.address()));
    // Replay: the relay keeps the first answer only, and the daemon never acts twice.
    let replay = answer(&sdk, &req, "approve", &owner, &owner.address());
    assert_eq!(replay["sent"], false, "{replay}");
    assert!(replay["error"].as_str().unwrap().contains("409"), "{replay}");
    let sent = node.sent_by(&addr);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(node.sent_by(&addr), sent, "the replay moved no money");
    assert_eq!(audit(&api, &tx, "TX_APPROVED").await.len(), 1);
    assert_eq!(relay.pushes_for(&tx), 1, "one push per transaction");

    // Reject, signed like an approval: CANCELLED, nothing on chain.
    let tx2 = send(&api, &agent).await;
    queued(&api, &agent, &tx2).await;
    let req2 = read_push(&sdk, &relay.push_for(&api, &tx2).await);
    assert_eq!(answer(&sdk, &req2, "reject", &owner, &owner.address())["sent"], true);
    let t2 = api.wait_tx(&agent, &tx2, &["QUEUED"], Duration::from_secs(60)).await;
    assert_eq!(t2["status"], "CANCELLED", "{t2}");
    assert_eq!(audit(&api, &tx2, "TX_REJECTED").await[0]["actor"], format!("owner:{} via sdk_push", owner.address()));
    assert_eq!(node.sent_by(&addr), sent);

    // Another key, claiming to be the owner: refused, audited, the transaction keeps waiting
    // (and the owner can still decide through REST).
    let tx3 = send(&api, &agent).await;
    queued(&api, &agent, &tx3).await;
    let req3 = read_push(&sdk, &relay.push_for(&api, &tx3).await);
    let impostor = OwnerKey::evm(0x52);
    assert_eq!(answer(&sdk, &req3, "approve", &impostor, &owner.address())["sent"], true);
    let refused = wait_audit(&api, &tx3, "OWNER_AUTH_FAILED").await;
    assert!(refused[0]["details"]["reason"].as_str().unwrap().contains("signature"), "{refused:?}");
    let t3 = api.call("GET", &format!("/v1/transactions/{tx3}"), &agent, None).await;
    assert_eq!(t3.body["status"], "QUEUED", "{:?}", t3.body);
    assert!(audit(&api, &tx3, "TX_APPROVED").await.is_empty());
    let h = owner.headers(&api, &OwnerAction::Reject(tx3.clone())).await;
    let r = api.call_with("POST", &format!("/v1/transactions/{tx3}/reject"), &Auth::None, None, &h).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(node.sent_by(&addr), sent);
    assert!(d.stop().success(), "the daemon stops cleanly with its long polls running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_while_the_daemon_was_down_lands_once_and_an_expired_request_does_nothing() {
    let Some(sdk) = wallet_sdk() else { return };
    let node = Node::start();
    let relay = relay().await;
    let opts = daemon_opts(&node);
    let mut d = Daemon::start(opts.clone());
    let _tmp = d.take_tmp();
    let dir = d.dir.clone();
    let api = Api::new(&d.base);
    let (wallet, addr, agent) = approval_wallet(&api, &node, 3600).await;
    let owner = OwnerKey::evm(0x53);
    pair_phone(&api, &relay, &sdk).await;
    register_owner(&api, &wallet, &owner).await;
    let tx = send(&api, &agent).await;
    queued(&api, &agent, &tx).await;
    let req = read_push(&sdk, &relay.push_for(&api, &tx).await);
    assert!(d.stop().success());
    // The owner answers while the daemon is down; the restarted daemon polls again.
    assert_eq!(answer(&sdk, &req, "approve", &owner, &owner.address())["sent"], true);
    let d = Daemon::start_in(&dir, opts.clone()).unwrap_or_else(|e| panic!("restart: {e:?}"));
    let api = Api::new(&d.base);
    let t = api.wait_tx(&agent, &tx, &["QUEUED", "PENDING", "EXECUTING", "SUBMITTED"], Duration::from_secs(60)).await;
    assert_eq!(t["status"], "CONFIRMED", "{t}");
    assert_eq!(audit(&api, &tx, "TX_APPROVED").await.len(), 1);
    assert_eq!(node.sent_by(&addr), 1, "exactly one transaction on chain");
    assert_eq!(relay.pushes_for(&tx), 1, "the restart pushed nothing again");

    // A request that expires (the approval window is 8 s): nothing happens after it.
    let (wallet2, addr2, agent2) = approval_wallet(&api, &node, 8).await;
    register_owner(&api, &wallet2, &owner).await;
    let tx2 = send(&api, &agent2).await;
    queued(&api, &agent2, &tx2).await;
    let req2 = read_push(&sdk, &relay.push_for(&api, &tx2).await);
    wait_audit(&api, &tx2, "SIGN_REQUEST_EXPIRED").await;
    // The SDK itself refuses the expired request; an answer sent anyway changes nothing.
    let link = relay.push_for(&api, &tx2).await["message"]["data"]["universalLinkUrl"].as_str().unwrap().to_string();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../waiaas-relay/tests/compat/phone.mjs");
    let parsed = Command::new("node").arg(script).args(["parse", &link]).env("WALLET_SDK_DIR", &sdk).output().unwrap();
    assert!(!parsed.status.success(), "the SDK parses an expired request");
    answer(&sdk, &req2, "approve", &owner, &owner.address());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let t2 = api.call("GET", &format!("/v1/transactions/{tx2}"), &agent2, None).await;
    assert_ne!(t2.body["status"], "CONFIRMED", "{:?}", t2.body);
    assert!(audit(&api, &tx2, "TX_APPROVED").await.is_empty());
    assert_eq!(node.sent_by(&addr2), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_replicas_the_answer_to_a_request_of_the_killed_lead_is_taken_by_the_other_once() {
    let Some(sdk) = wallet_sdk() else { return };
    let node = Node::start();
    let relay = relay().await;
    let pg = tokio::task::block_in_place(waiaas_testnodes::postgres::Postgres::start);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_phone"));
    let tmp = tempfile::tempdir().unwrap();
    let opts = || daemon_opts(&node).env("WAIAAS_DATABASE_POSTGRES_URL", &url);
    let mut daemons = tokio::task::block_in_place(|| start_replicas(tmp.path(), 2, opts));
    // The first daemon started first, so it leads: it pushes the sign requests (the
    // notifier's work) and polls their answers.
    let (doomed, survivor) = (Api::new(&daemons[0].base), Api::new(&daemons[1].base));
    let (wallet, addr, agent) = approval_wallet(&survivor, &node, 3600).await;
    let owner = OwnerKey::evm(0x54);
    pair_phone(&survivor, &relay, &sdk).await;
    register_owner(&survivor, &wallet, &owner).await;
    let tx = send(&survivor, &agent).await;
    queued(&survivor, &agent, &tx).await;
    let req = read_push(&sdk, &relay.push_for(&doomed, &tx).await);
    // The lead is killed with SIGKILL while it waits for the answer.
    daemons[0].child.kill().unwrap();
    daemons[0].child.wait().unwrap();
    // The owner answers; the other daemon, now the lead, polls the dead one's request and
    // approves it once.
    assert_eq!(answer(&sdk, &req, "approve", &owner, &owner.address())["sent"], true);
    let t = survivor.wait_tx(&agent, &tx, &["QUEUED", "PENDING", "EXECUTING", "SUBMITTED"], Duration::from_secs(60)).await;
    assert_eq!(t["status"], "CONFIRMED", "{t}");
    assert_eq!(audit(&survivor, &tx, "TX_APPROVED").await.len(), 1);
    assert_eq!(node.sent_by(&addr), 1, "exactly one transaction on chain");
    assert_eq!(relay.pushes_for(&tx), 1, "nothing pushed again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solana_owner_approves_from_the_phone_with_a_base58_signature() {
    let Some(sdk) = wallet_sdk() else { return };
    let sol = tokio::task::block_in_place(waiaas_testnodes::solana::shared);
    let relay = relay().await;
    let d = Daemon::start(
        Options::default().env("WAIAAS_RPC_SOLANA_DEVNET", &sol.url).env("WAIAAS_PRICES_SOL", "100").env("WAIAAS_SIGNING_SDK_RELAY_DAEMON_TOKEN", DAEMON_KEY),
    );
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "sol", "chain": "solana", "environment": "testnet"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let wallet = w.body["id"].as_str().unwrap().to_string();
    let addr = w.body["publicKey"].as_str().unwrap().to_string();
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    tokio::task::block_in_place(|| sol.airdrop(&addr, 5_000_000_000));
    let p = api
        .call(
            "POST",
            "/v1/policies",
            &Api::master(),
            Some(json!({"walletId": wallet, "type": "SPENDING_LIMIT", "rules": {
                "instant_max_usd": 1, "notify_max_usd": 2, "delay_max_usd": 3, "delay_seconds": 60, "approval_timeout": 3600
            }})),
        )
        .await;
    assert_eq!(p.status, 201, "{:?}", p.body);
    let owner = OwnerKey::solana(0x54);
    pair_phone(&api, &relay, &sdk).await;
    register_owner(&api, &wallet, &owner).await;
    let to = bs58::encode(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng).verifying_key().to_bytes()).into_string();
    let s = api.call("POST", "/v1/transactions/send", &agent, Some(json!({"type": "TRANSFER", "to": to, "humanAmount": "0.1"}))).await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    let tx = s.body["id"].as_str().unwrap().to_string();
    assert_eq!(queued(&api, &agent, &tx).await["tier"], "APPROVAL");
    let req = read_push(&sdk, &relay.push_for(&api, &tx).await);
    assert_eq!(req["caip2ChainId"].as_str().unwrap().split(':').next(), Some("solana"));
    assert!(req["message"].as_str().unwrap().contains("Amount: 0.1 SOL"), "{}", req["message"]);
    // base58 this time (upstream's wallets send base64, the unit tests cover both).
    use base64::Engine as _;
    let b64 = owner.sign(req["message"].as_str().unwrap());
    let b58 = bs58::encode(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).into_string();
    let relay_url = req["responseChannel"]["pushRelayUrl"].as_str().unwrap();
    let sent = phone(&sdk, &["send", relay_url, RELAY_API_KEY, req["requestId"].as_str().unwrap(), "approve", &b58, &owner.address()]);
    assert_eq!(sent["sent"], true, "{sent}");
    let t = api.wait_tx(&agent, &tx, &["QUEUED", "PENDING", "EXECUTING", "SUBMITTED"], Duration::from_secs(60)).await;
    assert_eq!(t["status"], "CONFIRMED", "{t}");
    let balance = tokio::task::block_in_place(|| sol.rpc("getBalance", json!([to, {"commitment": "confirmed"}]))["value"].as_u64().unwrap());
    assert_eq!(balance, 100_000_000);
    assert_eq!(audit(&api, &tx, "TX_APPROVED").await[0]["actor"], format!("owner:{} via sdk_push", owner.address()));
}

/// The test sign requests FCM received (their request ids), in order.
fn test_pushes(relay: &Relay) -> Vec<Value> {
    relay.fcm.sends().into_iter().filter(|s| s["message"]["data"]["title"] == "WAIaaS Test Sign Request").collect()
}

/// The next test sign request pushed after `seen` of them, as the phone reads it.
async fn next_test_push(relay: &Relay, sdk: &PathBuf, seen: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(push) = test_pushes(relay).get(seen) {
            let link = push["message"]["data"]["universalLinkUrl"].as_str().expect("universalLinkUrl");
            let req = phone(sdk, &["parse", link]);
            assert_eq!(req["message"], push["message"]["data"]["message"], "the link and the flat payload carry the same message");
            return req;
        }
        assert!(Instant::now() < deadline, "no test sign request pushed: {:?}; relay log {}", relay.fcm.sends(), relay.proc.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_tests_the_signing_loop_and_it_decides_nothing() {
    let Some(sdk) = wallet_sdk() else { return };
    let relay = relay().await;
    let d = Daemon::start(Options::default().env("WAIAAS_SIGNING_SDK_RELAY_DAEMON_TOKEN", DAEMON_KEY));
    let api = Api::new(&d.base);
    let apps = "/v1/admin/wallet-apps";
    // Unknown app, no auth, bad bodies; an app without a device is a failure in the answer.
    let unknown = format!("{apps}/{}/test-sign-request", waiaas_core::new_id());
    let r = api.call("POST", &unknown, &Api::master(), None).await;
    assert_eq!((r.status, r.code()), (404, "WALLET_APP_NOT_FOUND"), "{:?}", r.body);
    let bare = api.call("POST", apps, &Api::master(), Some(json!({"name": "bare", "display_name": "Bare"}))).await;
    let bare = format!("{apps}/{}/test-sign-request", bare.body["app"]["id"].as_str().unwrap());
    assert_eq!(api.call("POST", &bare, &Auth::None, None).await.status, 401);
    for bad in [json!({"nope": 1}), json!({"timeoutSeconds": 0}), json!({"ownerAddress": "not an address"})] {
        let r = api.call("POST", &bare, &Api::master(), Some(bad.clone())).await;
        assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"), "{bad}: {:?}", r.body);
    }
    let r = api.call("POST", &bare, &Api::master(), None).await;
    assert_eq!((r.status, r.body["success"].clone()), (200, json!(false)), "{:?}", r.body);
    assert!(r.body["error"].as_str().unwrap().contains("subscription_token"), "{:?}", r.body);

    pair_phone(&api, &relay, &sdk).await;
    let listed = api.call("GET", apps, &Api::master(), None).await;
    let app = listed.body["apps"].as_array().unwrap().iter().find(|a| a["name"] == "dcent").unwrap()["id"].as_str().unwrap().to_string();
    let path = format!("{apps}/{app}/test-sign-request");
    let owner = OwnerKey::evm(0x55);
    let ask = |body: Value| {
        let (api, path) = (api.clone(), path.clone());
        tokio::spawn(async move { api.call("POST", &path, &Api::master(), Some(body)).await })
    };

    // The owner's phone answers: success, upstream's fields, and the signature verifies.
    let call = ask(json!({"ownerAddress": owner.address()}));
    let req = next_test_push(&relay, &sdk, 0).await;
    assert_eq!(req["signerAddress"], owner.address().as_str());
    assert_eq!(req["metadata"]["txId"], req["requestId"], "no transaction's id");
    assert!(req["message"].as_str().unwrap().starts_with("WAIaaS Test Sign Request for D'CENT Wallet\n"), "{req}");
    let started = Instant::now();
    assert_eq!(answer(&sdk, &req, "approve", &owner, &owner.address())["sent"], true);
    let r = call.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(15), "the wait ends when the relay answers");
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["success"], true, "{:?}", r.body);
    let res = &r.body["result"];
    assert_eq!(
        (res["action"].clone(), res["signerAddress"].clone(), res["verified"].clone()),
        (json!("approve"), json!(owner.address()), json!(true)),
        "{res}"
    );
    assert_eq!(res["signature"], owner.sign(req["message"].as_str().unwrap()).as_str());

    // Another key claiming the owner's address: answered, but it does not verify.
    let call = ask(json!({"ownerAddress": owner.address()}));
    let req = next_test_push(&relay, &sdk, 1).await;
    assert_eq!(answer(&sdk, &req, "reject", &OwnerKey::evm(0x56), &owner.address())["sent"], true);
    let r = call.await.unwrap();
    assert_eq!((r.status, r.body["success"].clone()), (200, json!(true)), "{:?}", r.body);
    assert_eq!((r.body["result"]["action"].clone(), r.body["result"]["verified"].clone()), (json!("reject"), json!(false)), "{:?}", r.body);
    assert!(r.body["result"]["verifyError"].is_string(), "{:?}", r.body);

    // Nobody answers: a timeout, after the shortened wait.
    let started = Instant::now();
    let r = ask(json!({"timeoutSeconds": 2})).await.unwrap();
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((r.body["success"].clone(), r.body["timeout"].clone()), (json!(false), json!(true)), "{:?}", r.body);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(test_pushes(&relay).len(), 3);

    // Nothing was decided or stored as a transaction's sign request.
    for event in ["TX_APPROVED", "TX_REJECTED", "OWNER_AUTH_FAILED", "SIGN_REQUEST_SENT"] {
        let a = api.call("GET", &format!("/v1/audit-logs?event_type={event}&limit=5"), &Api::master(), None).await;
        assert_eq!(a.body["data"], json!([]), "{event}: {:?}", a.body);
    }
    let a = api.call("GET", "/v1/audit-logs?event_type=WALLET_APP_TEST_SIGN_REQUEST&limit=5", &Api::master(), None).await;
    assert_eq!(a.body["data"].as_array().unwrap().len(), 2, "{:?}", a.body);
}
