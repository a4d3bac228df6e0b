//! Send latency on real local chains: accept latency (POST /v1/transactions/send -> 201) and
//! send-to-CONFIRMED latency, sequential sends, medians and p90.
//! Usage: `send-latency [evm|solana] [count]` (uses $WAIAAS_BIN or target/<profile>/waiaas).

use serde_json::json;
use std::time::{Duration, Instant};
use waiaas_e2e::*;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let chain = args.get(1).map(String::as_str).unwrap_or("evm").to_string();
    let count: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(50);
    let (_node_guard, rpc_env, rpc, to, create): (Box<dyn std::any::Any + Send>, &str, String, &str, serde_json::Value) = if chain == "evm" {
        let n = tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111));
        let url = n.url.clone();
        (Box::new(n), "WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", url, waiaas_testnodes::anvil::DEV_ACCOUNTS[1], json!({"name": "lat", "chain": "ethereum"}))
    } else {
        let n = tokio::task::block_in_place(waiaas_testnodes::solana::Validator::start);
        let url = n.url.clone();
        (Box::new(n), "WAIAAS_RPC_SOLANA_DEVNET", url, "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T", json!({"name": "lat", "chain": "solana"}))
    };
    // Priced, so that the sends are INSTANT (an unpriced value waits for a delay or an owner).
    let d = Daemon::start(
        Options::default().env(rpc_env, &rpc).env("WAIAAS_DAEMON_LOG_LEVEL", "warn").env("WAIAAS_PRICES_ETH", "2000").env("WAIAAS_PRICES_SOL", "150"),
    );
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(create)).await;
    let addr = w.body["publicKey"].as_str().unwrap().to_string();
    let token = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    // Fund through the node's own RPC.
    let http = reqwest::Client::new();
    if chain == "evm" {
        http.post(&rpc).json(&json!({"jsonrpc":"2.0","id":1,"method":"anvil_setBalance","params":[addr, "0x3635C9ADC5DEA00000"]})).send().await.unwrap();
    } else {
        http.post(&rpc).json(&json!({"jsonrpc":"2.0","id":1,"method":"requestAirdrop","params":[addr, 100_000_000_000u64]})).send().await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let (mut accept, mut confirm) = (vec![], vec![]);
    for i in 0..count {
        let t0 = Instant::now();
        let r = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": to, "amount": (1_000_000 + i).to_string()}))).await;
        let t1 = Instant::now();
        let id = r.body["id"].as_str().unwrap_or_else(|| panic!("{:?}", r.body)).to_string();
        loop {
            let t = api.call("GET", &format!("/v1/transactions/{id}"), &token, None).await;
            match t.body["status"].as_str() {
                Some("CONFIRMED") => break,
                Some("FAILED") | Some("CANCELLED") => panic!("{:?}", t.body),
                _ => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        }
        accept.push(t1.duration_since(t0).as_secs_f64() * 1000.0);
        confirm.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    println!("{chain}: {count} sequential transfers");
    println!("  accept (201) ms: median {:.2}  p90 {:.2}", percentile(&accept, 0.5), percentile(&accept, 0.9));
    println!("  send->CONFIRMED ms: median {:.2}  p90 {:.2}", percentile(&confirm, 0.5), percentile(&confirm, 0.9));
}
