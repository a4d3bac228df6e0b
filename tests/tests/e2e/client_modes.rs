//! One agent scenario run twice against one real anvil: through the engine embedded in this
//! process (`EmbeddedAdmin` / `EmbeddedAgent` on its own data dir) and through the real
//! daemon binary over HTTP (`RemoteAdmin` / `RemoteAgent` on another data dir: a daemon and
//! an embedded engine never share one). Both must return the same fields, the same
//! statuses and tiers, and the same error codes.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use waiaas_core::client::embedded::EmbeddedAdmin;
use waiaas_core::client::remote::{RemoteAdmin, RemoteAgent};
use waiaas_core::client::{AdminApi, AgentApi, TxListQuery, WalletQuery};
use waiaas_core::ErrorCode;
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

const SEPOLIA: u64 = 11155111;
const ETH: u128 = 1_000_000_000_000_000_000;
/// $0.000002 at 2000 USD/ETH: INSTANT under a $1 instant limit.
const SMALL_WEI: &str = "1000000000000";
/// $10 at 2000 USD/ETH: DELAY between a $1 notify limit and a $1000 delay limit.
const TEN_USD_WEI: &str = "5000000000000000";
const ALLOWED: &str = DEV_ACCOUNTS[4];
const NOT_ALLOWED: &str = DEV_ACCOUNTS[7];

/// The blocking node harness, used only inside `block_in_place`.
struct Node(Option<waiaas_testnodes::anvil::Anvil>);

impl Node {
    fn start() -> Node {
        Node(Some(tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(SEPOLIA))))
    }
    fn url(&self) -> String {
        self.0.as_ref().unwrap().url.clone()
    }
    fn rpc(&self, method: &str, params: Value) -> Value {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().rpc(method, params))
    }
    fn fund(&self, address: &str, wei: u128) {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().fund(address, wei))
    }
    fn balance(&self, address: &str) -> u128 {
        let v = self.rpc("eth_getBalance", json!([address, "latest"]));
        u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let n = self.0.take();
        tokio::task::block_in_place(move || drop(n));
    }
}

/// What one run observed, by step name: a JSON result, or `{"error": CODE}`.
type Outcome = BTreeMap<&'static str, Value>;

fn code_of(r: waiaas_core::Result<Value>) -> Value {
    match r {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => json!({"error": e.code.as_str(), "status": e.status(), "retryable": e.retryable()}),
    }
}

async fn scenario(node: &Node, admin: &dyn AdminApi, agent_for: &dyn Fn(String) -> Box<dyn AgentApi>) -> Outcome {
    let mut out = Outcome::new();
    let w = admin.create_wallet(json!({"name": "agent", "chain": "ethereum", "environment": "testnet", "createSession": false})).await.unwrap();
    let (wallet, address) = (w["id"].as_str().unwrap().to_string(), w["publicKey"].as_str().unwrap().to_string());
    node.fund(&address, 100 * ETH);
    out.insert("create_wallet", w);
    let p = admin.create_policy(json!({"walletId": wallet, "type": "WHITELIST", "rules": {"allowed_addresses": [ALLOWED]}})).await.unwrap();
    out.insert("create_policy", p);
    let limits = json!({"instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 1000, "delay_seconds": 60});
    admin.create_policy(json!({"walletId": wallet, "type": "SPENDING_LIMIT", "rules": limits})).await.unwrap();
    out.insert("list_policies", admin.list_policies(Some(wallet.clone())).await.unwrap());
    let s = admin.create_session(json!({"walletId": wallet})).await.unwrap();
    let (session, token) = (s["id"].as_str().unwrap().to_string(), s["token"].as_str().unwrap().to_string());
    out.insert("create_session", s);
    let agent = agent_for(token);

    // Balance and address, read back from the node.
    let b = agent.get_balance(WalletQuery::default()).await.unwrap();
    assert_eq!(b["balance"], (100 * ETH).to_string(), "{b}");
    assert_eq!(b["address"], address.as_str());
    out.insert("get_balance", b);
    out.insert("get_address", agent.get_address(WalletQuery::default()).await.unwrap());
    out.insert("get_assets", agent.get_assets(WalletQuery::default()).await.unwrap());
    out.insert("connect_info", agent.connect_info().await.unwrap());

    // A send under the limit: INSTANT, confirmed, and the money moved on the chain.
    let sim = agent.simulate_transaction(json!({"type": "TRANSFER", "to": ALLOWED, "amount": SMALL_WEI})).await.unwrap();
    assert_eq!((sim["policy"]["tier"].as_str(), sim["policy"]["allowed"].as_bool()), (Some("INSTANT"), Some(true)), "{sim}");
    out.insert("simulate_instant", sim);
    let before = node.balance(ALLOWED);
    let sent = agent.send_transaction(json!({"type": "TRANSFER", "to": ALLOWED, "amount": SMALL_WEI}), None).await.unwrap();
    assert_eq!(sent["status"], "PENDING", "{sent}");
    let tx = agent.wait_for_transaction(sent["id"].as_str().unwrap().into(), Duration::from_secs(60)).await.unwrap();
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("CONFIRMED"), Some("INSTANT")), "{tx}");
    assert_eq!(node.balance(ALLOWED) - before, SMALL_WEI.parse::<u128>().unwrap(), "the amount arrived");
    let receipt = node.rpc("eth_getTransactionReceipt", json!([tx["txHash"]]));
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    out.insert("send", sent);
    out.insert("confirmed", tx);

    // A policy denial: not whitelisted. Simulate explains it; a send ends CANCELLED with the
    // code and nothing reaches the chain.
    let sim = agent.simulate_transaction(json!({"type": "TRANSFER", "to": NOT_ALLOWED, "amount": SMALL_WEI})).await.unwrap();
    assert_eq!((sim["policy"]["allowed"].as_bool(), sim["policy"]["errorCode"].as_str()), (Some(false), Some("WHITELIST_DENIED")), "{sim}");
    out.insert("simulate_denied", sim);
    let nonce_before = node.rpc("eth_getTransactionCount", json!([address, "latest"]));
    let denied = agent.send_transaction(json!({"type": "TRANSFER", "to": NOT_ALLOWED, "amount": SMALL_WEI}), None).await.unwrap();
    let tx = agent.wait_for_transaction(denied["id"].as_str().unwrap().into(), Duration::from_secs(30)).await.unwrap();
    assert_eq!((tx["status"].as_str(), tx["errorCode"].as_str()), (Some("CANCELLED"), Some("WHITELIST_DENIED")), "{tx}");
    assert!(tx["txHash"].is_null());
    assert_eq!(node.rpc("eth_getTransactionCount", json!([address, "latest"])), nonce_before, "nothing was broadcast");
    out.insert("denied", tx);

    // A DELAY send waits QUEUED, shows in the pending list, and is cancelled.
    let delayed = agent.send_transaction(json!({"type": "TRANSFER", "to": ALLOWED, "amount": TEN_USD_WEI}), None).await.unwrap();
    let id = delayed["id"].as_str().unwrap().to_string();
    let tx = agent.wait_for_transaction(id.clone(), Duration::from_secs(30)).await.unwrap();
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("QUEUED"), Some("DELAY")), "{tx}");
    out.insert("queued", tx);
    let pending = agent.list_pending_transactions(None).await.unwrap();
    assert_eq!(pending["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect::<Vec<_>>(), vec![id.as_str()]);
    out.insert("pending", pending);
    let c = agent.cancel_transaction(id.clone()).await.unwrap();
    assert_eq!(c, json!({"id": id, "status": "CANCELLED"}));
    out.insert("cancel", c);
    out.insert("cancel_again", code_of(agent.cancel_transaction(id.clone()).await));
    let tx = agent.get_transaction(id.clone()).await.unwrap();
    assert_eq!(tx["status"], "CANCELLED");
    assert!(tx["txHash"].is_null(), "a cancelled DELAY never reaches the chain");
    out.insert("cancelled", tx);
    let list = agent.list_transactions(TxListQuery::default()).await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "{list}");
    out.insert("list_transactions", list);

    // Errors raised before anything is recorded carry the same codes.
    out.insert("unknown_tx", code_of(agent.get_transaction("01900000-0000-7000-8000-000000000000".into()).await));
    out.insert("bad_address", code_of(agent.send_transaction(json!({"type": "TRANSFER", "to": "0x12", "amount": "1"}), None).await));
    out.insert("bad_field", code_of(agent.sign_message(json!({"message": 7})).await));
    out.insert(
        "foreign_wallet",
        code_of(agent.get_balance(WalletQuery { wallet_id: Some("01900000-0000-7000-8000-000000000001".into()), network: None }).await),
    );
    out.insert("unlimited_renew", code_of(agent.renew_session().await));
    out.insert("sign_message", agent.sign_message(json!({"message": "hello"})).await.unwrap());
    out.insert(
        "encode_calldata",
        agent
            .encode_calldata(json!({"abi": [{"type": "function", "name": "transfer", "inputs": [{"name": "to", "type": "address"}, {"name": "v", "type": "uint256"}], "outputs": [], "stateMutability": "nonpayable"}], "functionName": "transfer", "args": [ALLOWED, "1"]}))
            .await
            .unwrap(),
    );
    out.insert("nonce", agent.get_nonce().await.unwrap());

    // Revoking the session stops its token at once.
    out.insert("revoke", admin.revoke_session(session).await.unwrap());
    out.insert("revoked_token", code_of(agent.get_balance(WalletQuery::default()).await));
    let r = admin.suspend_wallet(wallet.clone(), Some("test".into())).await.unwrap();
    assert_eq!(r["status"], "SUSPENDED");
    out.insert("suspend", r);
    out.insert("resume", admin.resume_wallet(wallet).await.unwrap());
    out.insert("kill_switch_status", admin.kill_switch_status().await.unwrap());
    out
}

/// The JSON shape: object keys (recursively; ids used as keys count as one key), array
/// element shapes, scalar types.
fn shape(v: &Value) -> Value {
    let key = |k: &String| if k.len() == 36 && k.matches('-').count() == 4 { "<id>".to_string() } else { k.clone() };
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (key(k), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
    }
}

/// Fields that must be equal between the runs (ids, hashes, addresses and times differ).
const SAME_VALUES: &[&str] =
    &["status", "tier", "errorCode", "type", "amount", "network", "chain", "symbol", "decimals", "error", "retryable", "allowed", "state"];

fn compare(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in SAME_VALUES {
                if let (Some(va), Some(vb)) = (x.get(*k), y.get(*k)) {
                    if !va.is_object() && !va.is_array() {
                        assert_eq!(va, vb, "{path}.{k}");
                    }
                }
            }
            for (k, va) in x {
                if let Some(vb) = y.get(k) {
                    compare(va, vb, &format!("{path}.{k}"));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}: array lengths");
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                compare(va, vb, &format!("{path}[{i}]"));
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_and_remote_clients_see_the_same_results_and_errors() {
    let node = Node::start();

    // Embedded: this process opens its own data dir, configured in config.toml.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("embedded");
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!("[rpc]\nevm_ethereum_sepolia = \"{}\"\n\n[oracle]\nenabled = false\n\n[prices]\neth = 2000\n", node.url());
    std::fs::write(dir.join("config.toml"), config).unwrap();
    let admin = EmbeddedAdmin::open(&dir, PASSWORD).await.unwrap();
    // The data dir is now locked: a daemon on it is refused while this process holds it.
    let refused = Daemon::start_in(&dir, Options::default());
    match refused {
        Err((_, log)) => assert!(log.contains("SYSTEM_LOCKED"), "{log}"),
        Ok(_) => panic!("a daemon started on a data dir an embedded engine holds"),
    }
    let engine = admin.engine().clone();
    let embedded = scenario(&node, &admin, &|token| Box::new(waiaas_core::client::EmbeddedAgent::new(engine.clone(), token))).await;

    // Remote: the real daemon binary on another data dir, over HTTP.
    let daemon = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url()).env("WAIAAS_PRICES_ETH", "2000"));
    let remote_admin = RemoteAdmin::new(&daemon.base, PASSWORD.into()).unwrap();
    let base = daemon.base.clone();
    let remote = scenario(&node, &remote_admin, &|token| Box::new(RemoteAgent::new(&base, token).unwrap())).await;

    assert_eq!(embedded.keys().collect::<Vec<_>>(), remote.keys().collect::<Vec<_>>());
    for (step, e) in &embedded {
        let r = &remote[step];
        assert_eq!(shape(e), shape(r), "step {step}: the same fields\nembedded: {e}\nremote:   {r}");
        compare(e, r, step);
    }
    // The error steps carry identical codes, statuses and retry flags.
    for step in ["cancel_again", "unknown_tx", "bad_address", "bad_field", "foreign_wallet", "unlimited_renew", "revoked_token"] {
        assert_eq!(embedded[step], remote[step], "{step}");
    }
    assert_eq!(embedded["cancel_again"]["error"], "TX_ALREADY_PROCESSED");
    assert_eq!(embedded["unknown_tx"]["error"], "TX_NOT_FOUND");
    assert_eq!(embedded["bad_field"]["error"], "ACTION_VALIDATION_FAILED");
    assert_eq!(embedded["foreign_wallet"]["error"], "WALLET_ACCESS_DENIED");
    assert_eq!(embedded["unlimited_renew"]["error"], "RENEWAL_NOT_REQUIRED");
    assert_eq!(embedded["revoked_token"]["error"], "SESSION_REVOKED");
    assert_eq!(embedded["connect_info"]["daemon"]["baseUrl"], "embedded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_agents_obey_the_kill_switch_and_token_rotation_like_the_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let admin = EmbeddedAdmin::open(&dir, PASSWORD).await.unwrap();
    assert!(dir.join("config.toml").exists(), "a missing data dir is initialised like `waiaas init`");
    let w = admin.create_wallet(json!({"name": "a", "chain": "solana", "environment": "testnet"})).await.unwrap();
    let agent = admin.agent(w["session"]["token"].as_str().unwrap().into());
    agent.get_address(WalletQuery::default()).await.unwrap();
    // A wrong password on the open data dir is refused; the right one returns the same engine.
    assert_eq!(EmbeddedAdmin::open(&dir, "not-the-password").await.err().unwrap().code, ErrorCode::INVALID_MASTER_PASSWORD);
    let again = EmbeddedAdmin::open(&dir, PASSWORD).await.unwrap();
    assert_eq!(again.list_wallets().await.unwrap()["items"].as_array().unwrap().len(), 1);

    admin.activate_kill_switch().await.unwrap();
    let e = agent.get_address(WalletQuery::default()).await.unwrap_err();
    assert_eq!((e.code, e.status()), (ErrorCode::SYSTEM_LOCKED, 503));
    assert_eq!(admin.list_wallets().await.unwrap_err().code, ErrorCode::SYSTEM_LOCKED, "only the kill-switch routes stay open");
    assert_eq!(admin.kill_switch_status().await.unwrap()["state"], "SUSPENDED");
    admin.recover_kill_switch().await.unwrap();
    agent.get_address(WalletQuery::default()).await.unwrap();

    // A second, finite session: too early to renew; once rotated, its old token is refused
    // with the daemon's code and the new one works.
    let s = admin.create_session(json!({"walletId": w["id"], "ttl": 300})).await.unwrap();
    let a2 = admin.agent(s["token"].as_str().unwrap().into());
    assert_eq!(a2.renew_session().await.unwrap_err().code, ErrorCode::RENEWAL_TOO_EARLY, "renewal opens at half the TTL");
    let sessions = admin.list_sessions(Some(w["id"].as_str().unwrap().into())).await.unwrap();
    assert_eq!(sessions["data"].as_array().unwrap().len(), 2);
    let rotated = admin.engine().rotate_session(s["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(a2.get_address(WalletQuery::default()).await.unwrap_err().code, ErrorCode::INVALID_TOKEN);
    admin.agent(rotated.token).get_address(WalletQuery::default()).await.unwrap();
    admin.revoke_session(s["id"].as_str().unwrap().into()).await.unwrap();
    assert_eq!(a2.get_address(WalletQuery::default()).await.unwrap_err().code, ErrorCode::SESSION_REVOKED);
}
