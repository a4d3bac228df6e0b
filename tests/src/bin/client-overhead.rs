//! Per-call cost of the two client modes against one real anvil: the engine embedded in
//! this process (`EmbeddedAgent`) vs the daemon over HTTP on loopback (`RemoteAgent`).
//! Both do the same work per call (session check against the store, then the operation:
//! `get_address` touches only the store, `get_balance` asks the node, `simulate` prices,
//! evaluates policy, builds and simulates on the node), so the difference is the HTTP
//! face's overhead. Prints medians and p90 in microseconds.
//!
//! Usage: `client-overhead [iterations]` (default 300; uses $WAIAAS_BIN or
//! target/<profile>/waiaas). Build with `cargo build --release -p waiaas-e2e`.

use serde_json::{json, Value};
use std::time::Instant;
use waiaas_core::client::embedded::EmbeddedAdmin;
use waiaas_core::client::remote::{RemoteAdmin, RemoteAgent};
use waiaas_core::client::{AdminApi, AgentApi, WalletQuery};
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

/// A wallet (funded on the node) and an agent for it.
async fn agent_of(admin: &dyn AdminApi, rpc: &str, make: &dyn Fn(String) -> Box<dyn AgentApi>) -> Box<dyn AgentApi> {
    let w = admin.create_wallet(json!({"name": "bench", "chain": "ethereum", "environment": "testnet"})).await.unwrap();
    let addr = w["publicKey"].as_str().unwrap();
    reqwest::Client::new()
        .post(rpc)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "anvil_setBalance", "params": [addr, "0x3635C9ADC5DEA00000"]}))
        .send()
        .await
        .unwrap();
    make(w["session"]["token"].as_str().unwrap().to_string())
}

async fn measure(agent: &dyn AgentApi, op: &str, n: usize) -> (f64, f64) {
    let body = json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[3], "amount": "1000000000000"});
    let mut t = Vec::with_capacity(n);
    for i in 0..n + n / 10 {
        let t0 = Instant::now();
        let r: Value = match op {
            "get_address" => agent.get_address(WalletQuery::default()).await.unwrap(),
            "get_balance" => agent.get_balance(WalletQuery::default()).await.unwrap(),
            "simulate" => agent.simulate_transaction(body.clone()).await.unwrap(),
            _ => unreachable!(),
        };
        let us = t0.elapsed().as_secs_f64() * 1e6;
        assert!(r.is_object());
        // The first 10 % warm caches and connections.
        if i >= n / 10 {
            t.push(us);
        }
    }
    (percentile(&t, 0.5), percentile(&t, 0.9))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(300);
    let node = tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111));
    let rpc = node.url.clone();

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("embedded");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), format!("[rpc]\nevm_ethereum_sepolia = \"{rpc}\"\n\n[oracle]\nenabled = false\n\n[prices]\neth = 2000\n")).unwrap();
    let admin = EmbeddedAdmin::open(&dir, PASSWORD).await.unwrap();
    let engine = admin.engine().clone();
    let embedded = agent_of(&admin, &rpc, &|t| Box::new(waiaas_core::client::EmbeddedAgent::new(engine.clone(), t))).await;

    let daemon =
        Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &rpc).env("WAIAAS_PRICES_ETH", "2000").env("WAIAAS_DAEMON_LOG_LEVEL", "warn"));
    let remote_admin = RemoteAdmin::new(&daemon.base, PASSWORD.into()).unwrap();
    let base = daemon.base.clone();
    let remote = agent_of(&remote_admin, &rpc, &|t| Box::new(RemoteAgent::new(&base, t).unwrap())).await;

    println!("client call overhead, {n} sequential calls each (after {} warm-up), microseconds", n / 10);
    println!("{:<12} {:>16} {:>16} {:>16} {:>9}", "operation", "embedded median", "remote median", "remote-embedded", "ratio");
    for op in ["get_address", "get_balance", "simulate"] {
        let (em, ep) = measure(embedded.as_ref(), op, n).await;
        let (rm, rp) = measure(remote.as_ref(), op, n).await;
        println!("{op:<12} {em:>16.1} {rm:>16.1} {:>16.1} {:>8.2}x   (p90 {ep:.1} / {rp:.1})", rm - em, rm / em);
    }
    drop(daemon);
    tokio::task::block_in_place(move || drop(node));
}
