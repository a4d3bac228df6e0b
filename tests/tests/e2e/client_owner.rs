//! The owner's decisions through the client interface, in both modes against one real anvil:
//! an APPROVAL transaction is approved with the owner's signature through `EmbeddedAdmin`
//! (the engine in this process) and through `RemoteAdmin` (the real daemon over HTTP, which
//! sends the owner's headers and no master password), and confirms on the chain. Replays,
//! wrong actions and wrong domains are refused with the same codes; a rejection never reaches
//! the chain; `owner_domain` names what the owner must sign (the configured daemon host
//! in-process, the `Host` over HTTP); the owner's kill switch works in both modes.

use serde_json::{json, Value};
use std::time::Duration;
use waiaas_core::auth::owner::OwnerAction;
use waiaas_core::client::embedded::EmbeddedAdmin;
use waiaas_core::client::remote::{RemoteAdmin, RemoteAgent};
use waiaas_core::client::{AdminApi, AgentApi, OwnerProof};
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

const SEPOLIA: u64 = 11155111;
/// $10 at 2000 USD/ETH: APPROVAL above a $3 delay limit.
const TEN_USD_WEI: &str = "5000000000000000";
const RECIPIENT: &str = DEV_ACCOUNTS[6];

/// The blocking node harness, used only inside `block_in_place`.
struct Node(Option<waiaas_testnodes::anvil::Anvil>);

impl Node {
    fn start() -> Node {
        Node(Some(tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(SEPOLIA))))
    }
    fn url(&self) -> String {
        self.0.as_ref().unwrap().url.clone()
    }
    fn fund(&self, address: &str) {
        tokio::task::block_in_place(|| self.0.as_ref().unwrap().fund(address, 10_000_000_000_000_000_000))
    }
    fn balance(&self, address: &str) -> u128 {
        let v = tokio::task::block_in_place(|| self.0.as_ref().unwrap().rpc("eth_getBalance", json!([address, "latest"])));
        u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let n = self.0.take();
        tokio::task::block_in_place(move || drop(n));
    }
}

fn code_of(r: waiaas_core::Result<Value>) -> &'static str {
    match r {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => e.code.as_str(),
    }
}

/// The owner signs `action` for `domain` with a fresh nonce from `admin`.
async fn proof(admin: &dyn AdminApi, owner: &OwnerKey, action: OwnerAction, domain: &str) -> OwnerProof {
    let nonce = admin.get_nonce().await.unwrap();
    let text = owner.message(domain, nonce["nonce"].as_str().unwrap(), &action, 300);
    OwnerProof { address: owner.address(), signature: owner.sign(&text), message: text }
}

/// What one mode observed.
struct Run {
    codes: Vec<(&'static str, &'static str)>,
    approve: Value,
    reject: Value,
}

async fn owner_flow(node: &Node, admin: &dyn AdminApi, agent_for: &dyn Fn(String) -> Box<dyn AgentApi>) -> Run {
    let owner = OwnerKey::evm(0x42);
    let domain = admin.owner_domain().expect("both clients know their owner domain");
    let w = admin.create_wallet(json!({"name": "owned", "chain": "ethereum", "environment": "testnet", "createSession": false})).await.unwrap();
    let id = w["id"].as_str().unwrap().to_string();
    node.fund(w["publicKey"].as_str().unwrap());
    let limits = json!({"instant_max_usd": 1, "notify_max_usd": 2, "delay_max_usd": 3, "delay_seconds": 60, "approval_timeout": 600});
    admin.create_policy(json!({"walletId": id, "type": "SPENDING_LIMIT", "rules": limits})).await.unwrap();
    let s = admin.create_session(json!({"walletId": id})).await.unwrap();
    let agent = agent_for(s["token"].as_str().unwrap().to_string());

    // No owner yet: nothing to approve with.
    let set = admin.set_owner(id.clone(), owner.address()).await.unwrap();
    assert_eq!((set["ownerAddress"].as_str(), set["ownerState"].as_str()), (Some(owner.address().as_str()), Some("GRACE")), "{set}");

    let sent = agent.send_transaction(json!({"type": "TRANSFER", "to": RECIPIENT, "amount": TEN_USD_WEI}), None).await.unwrap();
    let tx_id = sent["id"].as_str().unwrap().to_string();
    let queued = agent.wait_for_transaction(tx_id.clone(), Duration::from_secs(30)).await.unwrap();
    assert_eq!((queued["status"].as_str(), queued["tier"].as_str()), (Some("QUEUED"), Some("APPROVAL")), "{queued}");

    let mut codes = vec![];
    let good = proof(admin, &owner, OwnerAction::Approve(tx_id.clone()), &domain).await;
    codes.push(("reject with an approve message", code_of(admin.reject_transaction(tx_id.clone(), good.clone()).await)));
    let elsewhere = proof(admin, &owner, OwnerAction::Approve(tx_id.clone()), "evil.example:3100").await;
    codes.push(("another domain", code_of(admin.approve_transaction(tx_id.clone(), elsewhere).await)));
    let stranger = OwnerKey::evm(0x43);
    let forged = proof(admin, &stranger, OwnerAction::Approve(tx_id.clone()), &domain).await;
    codes.push(("not the owner", code_of(admin.approve_transaction(tx_id.clone(), forged).await)));

    let before = node.balance(RECIPIENT);
    let approve = admin.approve_transaction(tx_id.clone(), good.clone()).await.unwrap();
    assert_eq!((approve["id"].as_str(), approve["status"].as_str()), (Some(tx_id.as_str()), Some("EXECUTING")), "{approve}");
    codes.push(("replay", code_of(admin.approve_transaction(tx_id.clone(), good).await)));
    let done = agent.wait_for_transaction(tx_id.clone(), Duration::from_secs(60)).await.unwrap();
    assert_eq!((done["status"].as_str(), done["tier"].as_str()), (Some("CONFIRMED"), Some("APPROVAL")), "{done}");
    assert_eq!(node.balance(RECIPIENT) - before, TEN_USD_WEI.parse::<u128>().unwrap(), "the approved amount arrived");
    assert_eq!(admin.get_wallet(id.clone()).await.unwrap()["ownerState"], "LOCKED", "approving proves the owner");

    // A second one is rejected: cancelled, never broadcast.
    let second = agent.send_transaction(json!({"type": "TRANSFER", "to": RECIPIENT, "amount": TEN_USD_WEI}), None).await.unwrap();
    let second_id = second["id"].as_str().unwrap().to_string();
    agent.wait_for_transaction(second_id.clone(), Duration::from_secs(30)).await.unwrap();
    let reject = admin.reject_transaction(second_id.clone(), proof(admin, &owner, OwnerAction::Reject(second_id.clone()), &domain).await).await.unwrap();
    assert_eq!(reject["status"], "CANCELLED", "{reject}");
    let t = agent.get_transaction(second_id).await.unwrap();
    assert_eq!(t["status"], "CANCELLED");
    assert!(t["txHash"].is_null());

    // The owner stops everything; the operator recovers.
    let ks = admin.owner_activate_kill_switch(proof(admin, &owner, OwnerAction::KillSwitchActivate, &domain).await).await.unwrap();
    assert_eq!(ks["state"], "SUSPENDED", "{ks}");
    codes.push(("agent while stopped", code_of(agent.get_address(Default::default()).await)));
    admin.recover_kill_switch().await.unwrap();
    agent.get_address(Default::default()).await.unwrap();
    Run { codes, approve, reject }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_approves_through_the_embedded_and_the_remote_admin() {
    let node = Node::start();

    // Embedded: this process opens its own data dir; owner messages name the configured host.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("embedded");
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!(
        "[daemon]\nport = 4311\nhostname = \"127.0.0.1\"\n\n[rpc]\nevm_ethereum_sepolia = \"{}\"\n\n[oracle]\nenabled = false\n\n[prices]\neth = 2000\n",
        node.url()
    );
    std::fs::write(dir.join("config.toml"), config).unwrap();
    let embedded_admin = EmbeddedAdmin::open(&dir, PASSWORD).await.unwrap();
    assert_eq!(AdminApi::owner_domain(&embedded_admin).as_deref(), Some("127.0.0.1:4311"));
    let engine = embedded_admin.engine().clone();
    let embedded = owner_flow(&node, &embedded_admin, &|token| Box::new(waiaas_core::client::EmbeddedAgent::new(engine.clone(), token))).await;

    // Remote: the real daemon over HTTP; owner messages name the Host the client sends.
    let daemon = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url()).env("WAIAAS_PRICES_ETH", "2000"));
    let remote_admin = RemoteAdmin::new(&daemon.base, PASSWORD.into()).unwrap();
    assert_eq!(remote_admin.owner_domain(), daemon.base.trim_start_matches("http://").trim_end_matches('/'));
    let base = daemon.base.clone();
    let remote = owner_flow(&node, &remote_admin, &|token| Box::new(RemoteAgent::new(&base, token).unwrap())).await;

    assert_eq!(embedded.codes, remote.codes, "the same refusals with the same codes");
    assert_eq!(
        embedded.codes,
        vec![
            ("reject with an approve message", "INVALID_SIGNATURE"),
            ("another domain", "INVALID_SIGNATURE"),
            ("not the owner", "INVALID_SIGNATURE"),
            ("replay", "INVALID_NONCE"),
            ("agent while stopped", "SYSTEM_LOCKED"),
        ]
    );
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&embedded.approve), keys(&remote.approve), "{} / {}", embedded.approve, remote.approve);
    assert_eq!(keys(&embedded.reject), keys(&remote.reject), "{} / {}", embedded.reject, remote.reject);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_requests_over_http_carry_no_master_password() {
    // A daemon whose master password the client gets wrong: owner routes still work (they
    // never send it), master routes are refused.
    let daemon = Daemon::start(Options::default());
    let good = RemoteAdmin::new(&daemon.base, PASSWORD.into()).unwrap();
    let w = good.create_wallet(json!({"name": "w", "chain": "ethereum", "environment": "testnet", "createSession": false})).await.unwrap();
    let owner = OwnerKey::evm(0x44);
    good.set_owner(w["id"].as_str().unwrap().into(), owner.address()).await.unwrap();

    let wrong = RemoteAdmin::new(&daemon.base, "not-the-master-password".into()).unwrap();
    assert_eq!(code_of(wrong.list_wallets().await), "INVALID_MASTER_PASSWORD");
    let id = w["id"].as_str().unwrap().to_string();
    let p = proof(&wrong, &owner, OwnerAction::Verify(id.clone()), &wrong.owner_domain()).await;
    let v = wrong.verify_owner(id, p).await.unwrap();
    assert_eq!((v["ownerState"].as_str(), v["ownerVerified"].as_bool()), (Some("LOCKED"), Some(true)), "{v}");
    // An unknown transaction: the owner is checked against the wallet of the transaction.
    let p = proof(&wrong, &owner, OwnerAction::Approve("01900000-0000-7000-8000-000000000000".into()), &wrong.owner_domain()).await;
    assert_eq!(code_of(wrong.approve_transaction("01900000-0000-7000-8000-000000000000".into(), p).await), "TX_NOT_FOUND");
}
