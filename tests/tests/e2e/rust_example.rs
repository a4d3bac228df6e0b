//! `examples/rust-agent` runs as a user would run it, against a daemon and with the engine
//! embedded, and does what it says: a send under the limit confirms on anvil, a DELAY send is
//! held and cancelled, nothing else moves.

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use waiaas_e2e::evm::Node;
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

const ETH: u128 = 1_000_000_000_000_000_000;

/// The network, prices and limits both modes use (the daemon's and the example's process).
fn chain_env(node: &Node) -> Vec<(String, String)> {
    [
        ("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", node.url()),
        ("WAIAAS_PRICES_ETH", "2000".to_string()),
        ("WAIAAS_ORACLE_ENABLED", "false".to_string()),
        ("WAIAAS_SECURITY_RATE_LIMIT_SESSION_RPM", "0".to_string()),
        ("WAIAAS_SECURITY_RATE_LIMIT_TX_RPM", "0".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The operator's side through a daemon on `dir`: a wallet with a spending limit (a $1 instant
/// tier, $1000 delay tier) and a session. Returns (address, token); the daemon keeps running.
async fn provision(dir: &Path, node: &Node) -> (Daemon, String, String) {
    let opts = chain_env(node).into_iter().fold(Options::default(), |o, (k, v)| o.env(&k, &v));
    let d = Daemon::start_in(dir, opts).unwrap_or_else(|(s, log)| panic!("daemon ({s}): {log}"));
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "example", "chain": "ethereum", "createSession": false}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let id = w.body["id"].as_str().unwrap();
    api.create_policy(id, "SPENDING_LIMIT", json!({"instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 1000, "delay_seconds": 60})).await;
    let s = api.call("POST", "/v1/sessions", &Api::master(), Some(json!({"walletId": id}))).await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    (d, w.body["publicKey"].as_str().unwrap().to_string(), s.body["token"].as_str().unwrap().to_string())
}

fn run_example(args: &[&str], env: &[(String, String)]) -> Value {
    let out = Command::new(workspace_bin("waiaas-rust-agent", "WAIAAS_RUST_AGENT_BIN"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the example failed ({}):\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    print!("{stdout}");
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("a JSON summary on the last line")
}

fn check(summary: &Value, node: &Node, mode: &str, recipient_before: u128) {
    assert_eq!(summary["mode"], mode);
    assert_eq!(summary["balance"], (10 * ETH).to_string());
    assert_eq!((summary["sent"]["status"].as_str(), summary["sent"]["tier"].as_str()), (Some("CONFIRMED"), Some("INSTANT")), "{summary}");
    assert_eq!(node.receipt(summary["sent"]["txHash"].as_str().unwrap())["status"], "0x1", "{summary}");
    let delayed = &summary["delayed"];
    assert_eq!(
        (delayed["queued"].as_str(), delayed["tier"].as_str(), delayed["final"].as_str()),
        (Some("QUEUED"), Some("DELAY"), Some("CANCELLED")),
        "{summary}"
    );
    // Only the small send moved money.
    assert_eq!(node.balance(DEV_ACCOUNTS[3]) - recipient_before, 1_000_000_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_example_agent_against_a_daemon() {
    let node = Node::start(11155111);
    let tmp = tempfile::tempdir().unwrap();
    let (d, address, token) = provision(&tmp.path().join("data"), &node).await;
    node.fund(&address, 10 * ETH);
    let before = node.balance(DEV_ACCOUNTS[3]);
    let summary = tokio::task::block_in_place(|| run_example(&["--url", &d.base, "--token", &token, "--to", DEV_ACCOUNTS[3]], &[]));
    check(&summary, &node, "remote", before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_example_agent_embedded() {
    let node = Node::start(11155111);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (d, address, token) = provision(&dir, &node).await;
    // The daemon releases the data dir; the example opens it in its own process.
    assert!(d.stop().success());
    node.fund(&address, 10 * ETH);
    let before = node.balance(DEV_ACCOUNTS[3]);
    let mut env = chain_env(&node);
    env.push(("WAIAAS_MASTER_PASSWORD".into(), PASSWORD.into()));
    let summary = tokio::task::block_in_place(|| run_example(&["--data-dir", dir.to_str().unwrap(), "--token", &token, "--to", DEV_ACCOUNTS[3]], &env));
    check(&summary, &node, "embedded", before);
}
