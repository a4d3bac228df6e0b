//! Incoming-monitor bench (issue 20) against a real anvil (not a test: it measures, and
//! checks only that every transfer is recorded exactly once). `scripts/bench-incoming.sh`
//! runs it on a release build.
//!
//! `incoming-bench [--wallets W] [--blocks B] [--per-block K] [--wss]`
//!
//! 1. W wallets (default 1,000) with `monitorIncoming` on, created through the API; the
//!    daemon's one watcher for the network polls every second (`poll_interval = 1`, the
//!    smallest), confirmation depth 1. With `--wss`, it also follows anvil's `newHeads` over
//!    a WebSocket, and each block wakes it at once.
//! 2. Automining off, B blocks (default 20), each holding K transfers (default 50) into
//!    wallets picked at random: half native ETH (dev accounts 2..9), half ERC-20 `Transfer`s
//!    (dev account 0's test token). Each block is mined with `evm_mine`, at a random moment of
//!    the watcher's cycle, and the bench waits
//!    (polling the operator's list every 20 ms) until the block's K records are there.
//!    Reported: time from the mine to the last record of its block (p50, p90, max; the
//!    one-second poll interval is part of it: on average half a second of waiting), and the
//!    node RPC calls the daemon made per block (its `waiaas_rpc_requests_total` for the
//!    network, over the blocks phase, divided by B) and per second while no block comes.
//!
//! The daemon is `$WAIAAS_BIN` or target/<profile>/waiaas.

use serde_json::json;
use std::time::{Duration, Instant};
use waiaas_e2e::bench::{arg, rpc};
use waiaas_e2e::evm::{deploy_token, word_addr, word_u128};
use waiaas_e2e::*;
use waiaas_testnodes::anvil::{Anvil, DEV_ACCOUNTS};

/// The daemon's node calls so far for ethereum-sepolia (its `/metrics`).
async fn rpc_calls(api: &Api) -> f64 {
    let text = reqwest::get(format!("{}/metrics", api.base)).await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("waiaas_rpc_requests_total{") && l.contains("network=\"ethereum-sepolia\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Every record the operator's list holds (its total).
async fn recorded(api: &Api) -> i64 {
    let r = api.call("GET", "/v1/admin/incoming?limit=1", &Api::master(), None).await;
    r.body["total"].as_i64().unwrap_or_else(|| panic!("{:?}", r.body))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (wallets, blocks, per_block) = (arg(&args, "--wallets", 1000), arg(&args, "--blocks", 20), arg(&args, "--per-block", 50));
    let node = tokio::task::block_in_place(|| Anvil::start(11155111));
    let url = node.url.clone();
    let token = tokio::task::block_in_place(|| deploy_token(&node, "TT", 6, 10u128.pow(30)));
    let wss = args.iter().any(|a| a == "--wss");
    let mut options = Options::default();
    if wss {
        options = options.env("WAIAAS_INCOMING_WSS_URL_ETHEREUM_SEPOLIA", &url.replacen("http://", "ws://", 1));
    }
    let d = Daemon::start(
        options
            .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &url)
            .env("WAIAAS_PRICES_ETH", "2000")
            .env("WAIAAS_DAEMON_LOG_LEVEL", "warn")
            .env("WAIAAS_SECURITY_RATE_LIMIT_GLOBAL_IP_RPM", "0")
            .env("WAIAAS_SECURITY_MONITORING_ENABLED", "false")
            .env("WAIAAS_METRICS_ENABLED", "true")
            .env("WAIAAS_INCOMING_ENABLED", "true")
            .env("WAIAAS_INCOMING_POLL_INTERVAL", "1")
            .env("WAIAAS_INCOMING_CONFIRMATIONS", "1"),
    );
    let api = Api::new(&d.base);

    let t0 = Instant::now();
    let mut addresses = vec![];
    for chunk in (0..wallets).collect::<Vec<_>>().chunks(16) {
        let mut set = tokio::task::JoinSet::new();
        for &i in chunk {
            let api = api.clone();
            set.spawn(async move {
                let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": format!("w{i}"), "chain": "ethereum"}))).await;
                assert_eq!(w.status, 201, "{:?}", w.body);
                let id = w.body["id"].as_str().unwrap().to_string();
                let r = api.call("PATCH", &format!("/v1/wallets/{id}"), &Api::master(), Some(json!({"monitorIncoming": true}))).await;
                assert_eq!(r.status, 200, "{:?}", r.body);
                w.body["publicKey"].as_str().unwrap().to_string()
            });
        }
        addresses.extend(set.join_all().await);
    }
    println!("{wallets} monitored wallets created in {:.1} s", t0.elapsed().as_secs_f64());
    // Two rounds: every wallet has its cursor at the head.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let http = reqwest::Client::new();
    let idle_from = (rpc_calls(&api).await, Instant::now());
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle_rate = (rpc_calls(&api).await - idle_from.0) / idle_from.1.elapsed().as_secs_f64();

    rpc(&http, &url, "evm_setAutomine", json!([false])).await;
    let calls_before = rpc_calls(&api).await;
    let mut latencies = vec![];
    let mut expected = recorded(&api).await;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut pick = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as usize
    };
    for b in 0..blocks {
        for k in 0..per_block {
            let to = &addresses[pick() % addresses.len()];
            let tx = if k % 2 == 0 {
                json!({"from": DEV_ACCOUNTS[2 + k / 2 % 8], "to": to, "value": format!("0x{:x}", 10u128.pow(15) + (b * per_block + k) as u128)})
            } else {
                json!({"from": DEV_ACCOUNTS[0], "to": token, "data": format!("0xa9059cbb{}{}", word_addr(to), word_u128(1_000_000))})
            };
            rpc(&http, &url, "eth_sendTransaction", json!([tx])).await;
        }
        // At a random moment of the watcher's one-second cycle (right after a round, every
        // block would wait the whole interval).
        tokio::time::sleep(Duration::from_millis((pick() % 1000) as u64)).await;
        rpc(&http, &url, "evm_mine", json!([])).await;
        let mined = Instant::now();
        expected += per_block as i64;
        loop {
            let n = recorded(&api).await;
            assert!(n <= expected, "more records than transfers: {n} > {expected}");
            if n == expected {
                break;
            }
            assert!(mined.elapsed() < Duration::from_secs(60), "block {b}: {n} of {expected} records after 60 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        latencies.push(mined.elapsed().as_secs_f64() * 1000.0);
    }
    let per_block_calls = (rpc_calls(&api).await - calls_before) / blocks as f64;
    // Later rounds record nothing twice.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let total = recorded(&api).await;
    println!("{blocks} blocks x {per_block} transfers (half ETH, half ERC-20) into {wallets} monitored wallets");
    println!(
        "  block mined -> last record of the block, ms: p50 {:.0}  p90 {:.0}  max {:.0} (poll interval 1000{})",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 1.0),
        if wss { ", newHeads over WebSocket" } else { "" }
    );
    println!("  node RPC calls per block: {per_block_calls:.1}; per second with no new block: {idle_rate:.2}");
    println!("  records: {total} for {} transfers (exactly once: {})", blocks * per_block, total == (blocks * per_block) as i64);
}
