//! Load bench against a real anvil (not a test: it measures, it asserts nothing but the
//! exactly-once outcome it reports). `scripts/bench-load.sh` runs it on a release build.
//!
//! `load-bench [--wallets W] [--per-wallet N] [--kills K] [--single S] [--poll-ms P]`
//!
//! 1. `--single S` (default 50): S sequential sends from one wallet; accept latency (POST ->
//!    201) and send-to-CONFIRMED latency, p50/p99.
//! 2. W wallets (default 1) x N concurrent sends each (default 300), all posted at once;
//!    accept p50/p99, send-to-CONFIRMED p50/p99 (first poll that saw CONFIRMED), the time
//!    until every send is CONFIRMED and transactions per second. With `--kills K`, the daemon
//!    is SIGKILLed K times while the sends are in flight and restarted on the same data dir.
//!    Reported: confirmed, failed and other final statuses, whether each wallet's on-chain
//!    nonces are exactly 0..N-1 (gapless, each send once).
//! 3. anvil's own time for the same total of pre-signed transfers from one key, on a fresh
//!    anvil (`eth_signTransaction` by an unlocked dev account, then `eth_sendRawTransaction`
//!    64 at a time, until the account's nonce reaches the total); then the same, on another
//!    fresh anvil, sent one by one in nonce order (the floor of a sender that never shows
//!    the node a nonce gap, as the daemon's broadcasts do).
//!
//! The daemon is `$WAIAAS_BIN` or target/<profile>/waiaas. Rate limits are off for the bench.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use waiaas_e2e::bench::{arg, nonce, rpc};
use waiaas_e2e::*;

/// How often the node is asked for a sender's nonce while the bench waits for its
/// transfers to be mined, in both measures: often enough for a 10 ms resolution, rarely
/// enough not to load the node under test (every 2 ms, it was 500 calls a second).
const WATCH_MS: u64 = 10;

const TO: &str = waiaas_testnodes::anvil::DEV_ACCOUNTS[1];

fn options(rpc: &str) -> Options {
    Options::default()
        .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", rpc)
        .env("WAIAAS_PRICES_ETH", "2000")
        .env("WAIAAS_DAEMON_LOG_LEVEL", "warn")
        .env("WAIAAS_SECURITY_RATE_LIMIT_GLOBAL_IP_RPM", "0")
        .env("WAIAAS_SECURITY_RATE_LIMIT_SESSION_RPM", "0")
        .env("WAIAAS_SECURITY_RATE_LIMIT_TX_RPM", "0")
}

/// A wallet with a session, funded on the node.
async fn wallet(api: &Api, http: &reqwest::Client, url: &str, name: &str) -> (String, String) {
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": name, "chain": "ethereum"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let addr = w.body["publicKey"].as_str().unwrap().to_string();
    rpc(http, url, "anvil_setBalance", json!([addr, "0x3635C9ADC5DEA00000"])).await;
    (addr, w.body["session"]["token"].as_str().unwrap().to_string())
}

/// POST one send with an idempotency key, retried (same key, so never sent twice) while the
/// daemon is being restarted or refuses for load; returns its id and the accept latency.
async fn send(http: &reqwest::Client, base: &Mutex<String>, token: &str, key: &str, i: usize) -> (String, f64) {
    let t0 = Instant::now();
    loop {
        let url = format!("{}/v1/transactions/send", base.lock().await);
        let body = json!({"type": "TRANSFER", "to": TO, "amount": (1_000_000 + i).to_string()});
        let res = http.post(url).bearer_auth(token).header("Idempotency-Key", key).json(&body).send().await;
        if let Ok(res) = res {
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            if status == 201 || status == 200 {
                return (body["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_string(), t0.elapsed().as_secs_f64() * 1000.0);
            }
            assert!(status >= 500 || status == 429, "send {key}: {status} {body}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (wallets, per_wallet, kills, single) =
        (arg(&args, "--wallets", 1), arg(&args, "--per-wallet", 300), arg(&args, "--kills", 0), arg(&args, "--single", 50));
    // Pause between rounds of status polls of the concurrent sends (each round asks for
    // every unfinished one): the polls cost the daemon CPU the sends compete for.
    let poll_ms = arg(&args, "--poll-ms", 5) as u64;
    // How long to wait for every send to be final.
    let wait_s = arg(&args, "--wait-s", 300) as u64;
    let node = tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111));
    let url = node.url.clone();
    let http = reqwest::Client::new();
    let mut d = Daemon::start(options(&url));
    let dir = d.dir.clone();
    let _keep = d.take_tmp();
    let base = Arc::new(Mutex::new(d.base.clone()));
    let api = Api::new(&d.base);

    // 1. Single sends.
    if single > 0 {
        let (_, token) = wallet(&api, &http, &url, "single").await;
        let (mut accept, mut confirm) = (vec![], vec![]);
        for i in 0..single {
            let t0 = Instant::now();
            let (id, a) = send(&http, &base, &token, &format!("single-{i}"), i).await;
            let auth = Auth::Session(token.clone());
            loop {
                let t = api.call("GET", &format!("/v1/transactions/{id}"), &auth, None).await;
                match t.body["status"].as_str() {
                    Some("CONFIRMED") => break,
                    Some("FAILED" | "CANCELLED" | "EXPIRED") => panic!("single send {i}: {:?}", t.body),
                    _ => tokio::time::sleep(Duration::from_millis(1)).await,
                }
            }
            accept.push(a);
            confirm.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "single sends: {single}; accept p50 {:.1} ms p99 {:.1} ms; send->CONFIRMED p50 {:.1} ms p90 {:.1} ms p99 {:.1} ms max {:.1} ms; over 50 ms: {:?}",
            percentile(&accept, 0.5),
            percentile(&accept, 0.99),
            percentile(&confirm, 0.5),
            percentile(&confirm, 0.9),
            percentile(&confirm, 0.99),
            percentile(&confirm, 1.0),
            confirm.iter().enumerate().filter(|(_, c)| **c > 50.0).map(|(i, c)| format!("#{i}: {c:.0} ms")).collect::<Vec<_>>()
        );
    }

    // 2. Concurrent sends.
    let mut ws = vec![];
    for i in 0..wallets {
        ws.push(wallet(&api, &http, &url, &format!("load-{i}")).await);
    }
    let total = wallets * per_wallet;
    let started = Instant::now();
    // On chain: the time until every wallet's nonce on the node reached N (what anvil's own
    // figure below measures too), watched on the node, not through the daemon.
    let on_chain = {
        let (http, url, addrs) = (http.clone(), url.clone(), ws.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>());
        tokio::spawn(async move {
            for addr in addrs {
                while nonce(&http, &url, &addr).await < per_wallet as u64 {
                    tokio::time::sleep(Duration::from_millis(WATCH_MS)).await;
                }
            }
            started.elapsed().as_secs_f64()
        })
    };
    let mut tasks = vec![];
    for (w, (_, token)) in ws.iter().enumerate() {
        for i in 0..per_wallet {
            let (base, token, http) = (base.clone(), token.clone(), http.clone());
            tasks.push(tokio::spawn(async move {
                let (id, a) = send(&http, &base, &token, &format!("load-{w}-{i}"), i).await;
                (w, id, a, Instant::now())
            }));
        }
    }
    // SIGKILLs while the sends are in flight: spread over the first second or so.
    for k in 0..kills {
        tokio::time::sleep(Duration::from_millis(300 + 200 * k as u64)).await;
        unsafe { libc::kill(d.child.id() as i32, libc::SIGKILL) };
        let _ = d.child.wait();
        d = Daemon::start_in(&dir, options(&url)).unwrap_or_else(|e| panic!("restart: {e:?}"));
        *base.lock().await = d.base.clone();
        println!("kill {} of {kills}: restarted at {:.2} s", k + 1, started.elapsed().as_secs_f64());
    }
    let mut accept = vec![];
    let mut pending: HashMap<String, (usize, Instant)> = HashMap::new();
    for t in tasks {
        let (w, id, a, at) = t.await.unwrap();
        accept.push(a);
        pending.insert(id, (w, at - Duration::from_secs_f64(a / 1000.0)));
    }
    let accepted_all = started.elapsed().as_secs_f64();
    let mut confirm = vec![];
    let mut finals: HashMap<String, usize> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(wait_s);
    while !pending.is_empty() && Instant::now() < deadline {
        let api = Api::new(&base.lock().await.clone());
        let ids: Vec<(String, usize)> = pending.iter().map(|(id, (w, _))| (id.clone(), *w)).collect();
        let mut done = vec![];
        for chunk in ids.chunks(32) {
            let mut polls = tokio::task::JoinSet::new();
            for (id, w) in chunk {
                let (api, token, id) = (api.clone(), Auth::Session(ws[*w].1.clone()), id.clone());
                polls.spawn(async move {
                    let status = api.call("GET", &format!("/v1/transactions/{id}"), &token, None).await.body["status"].as_str().unwrap_or("").to_string();
                    (id, status)
                });
            }
            while let Some(Ok((id, status))) = polls.join_next().await {
                if matches!(status.as_str(), "CONFIRMED" | "FAILED" | "CANCELLED" | "EXPIRED") {
                    done.push((id, status));
                }
            }
        }
        for (id, status) in done {
            if let Some((_, t0)) = pending.remove(&id) {
                if status == "CONFIRMED" {
                    confirm.push(t0.elapsed().as_secs_f64() * 1000.0);
                }
                *finals.entry(status).or_default() += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(poll_ms)).await;
    }
    let all = started.elapsed().as_secs_f64();
    let on_chain = if pending.is_empty() { on_chain.await.unwrap_or(f64::NAN) } else { f64::NAN };
    let mut gapless = true;
    for (addr, _) in &ws {
        gapless &= nonce(&http, &url, addr).await == per_wallet as u64;
    }
    let confirmed = finals.get("CONFIRMED").copied().unwrap_or(0);
    println!(
        "concurrent: {wallets} wallet(s) x {per_wallet} = {total} sends, {kills} kill(s); accepted in {accepted_all:.2} s (accept p50 {:.1} ms p99 {:.1} ms); on chain in {on_chain:.2} s; all final in {all:.2} s; {confirmed} CONFIRMED, final statuses {finals:?}, {} not final; send->CONFIRMED p50 {:.0} ms p99 {:.0} ms; {:.0} tx/s; on-chain nonces exactly 0..{}: {gapless}",
        percentile(&accept, 0.5),
        percentile(&accept, 0.99),
        pending.len(),
        percentile(&confirm, 0.5),
        percentile(&confirm, 0.99),
        confirmed as f64 / all,
        per_wallet - 1
    );
    if !pending.is_empty() || !gapless {
        // Why: the unfinished sends, the node's pool, and the daemon's warnings and errors.
        let api = Api::new(&d.base);
        let mut left: HashMap<String, Vec<i64>> = HashMap::new();
        let mut lowest: Option<(i64, String)> = None;
        for (id, (w, _)) in pending.iter() {
            let t = api.call("GET", &format!("/v1/transactions/{id}"), &Auth::Session(ws[*w].1.clone()), None).await.body;
            let n = t["nonce"].as_i64().unwrap_or(-1);
            if lowest.as_ref().is_none_or(|(l, _)| n < *l) {
                lowest = Some((n, t["txHash"].as_str().unwrap_or("").to_string()));
            }
            left.entry(t["status"].as_str().unwrap_or("?").to_string()).or_default().push(n);
        }
        for v in left.values_mut() {
            v.sort();
        }
        eprintln!("not final: {left:?}");
        for (addr, _) in &ws {
            let pending_count = rpc(&http, &url, "eth_getTransactionCount", json!([addr, "pending"])).await;
            eprintln!(
                "{addr}: latest {} pending {pending_count} txpool {}",
                nonce(&http, &url, addr).await,
                rpc(&http, &url, "txpool_status", json!([])).await
            );
        }
        if let Some((n, hash)) = lowest {
            eprintln!("lowest not final: nonce {n} {hash}: by hash {}", rpc(&http, &url, "eth_getTransactionByHash", json!([hash])).await);
            eprintln!("txpool_content: {}", rpc(&http, &url, "txpool_inspect", json!([])).await.to_string().chars().take(600).collect::<String>());
            rpc(&http, &url, "evm_mine", json!([])).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            for (addr, _) in &ws {
                eprintln!("after evm_mine {addr}: latest {}", nonce(&http, &url, addr).await);
            }
        }
        let lines: Vec<String> = d.log.try_iter().collect();
        eprintln!("daemon log ({} lines), its warnings and errors:", lines.len());
        for line in lines.iter().filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("warn") || l.contains("error")).take(100) {
            eprintln!("daemon: {line}");
        }
    }
    drop(d);

    // 3. anvil alone, each measure on a fresh anvil (anvil slows down as its chain grows:
    // 1,000 transfers one by one took 1.4 s, the next 1,000 2.5 s, the next 3.9 s): the same
    // number of pre-signed transfers from one key, sent 64 at a time (the issue's
    // yardstick; anvil then mines many in one block), then one by one in nonce order (the
    // floor of a sender that never shows the node a nonce gap, as the daemon's broadcasts
    // do; one block each).
    drop(node);
    let alone = |one_by_one: bool| {
        let http = http.clone();
        async move {
            let node = tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111));
            let (url, from) = (node.url.clone(), waiaas_testnodes::anvil::DEV_ACCOUNTS[9]);
            let mut raw = vec![];
            for n in 0..total {
                let tx = json!({"from": from, "to": TO, "value": format!("0x{:x}", 1_000_000 + n), "nonce": format!("0x{n:x}"), "gas": "0x5208", "maxFeePerGas": "0x174876e800", "maxPriorityFeePerGas": "0x3b9aca00", "chainId": "0xaa36a7"});
                raw.push(rpc(&http, &url, "eth_signTransaction", json!([tx])).await.as_str().unwrap().to_string());
            }
            let t0 = Instant::now();
            for chunk in raw.chunks(if one_by_one { 1 } else { 64 }) {
                let mut sends = tokio::task::JoinSet::new();
                for r in chunk {
                    let (http, url, r) = (http.clone(), url.clone(), r.clone());
                    sends.spawn(async move { rpc(&http, &url, "eth_sendRawTransaction", json!([r])).await });
                }
                while sends.join_next().await.is_some() {}
            }
            while nonce(&http, &url, from).await < total as u64 {
                tokio::time::sleep(Duration::from_millis(WATCH_MS)).await;
            }
            t0.elapsed().as_secs_f64()
        }
    };
    let anvil = alone(false).await;
    println!(
        "anvil alone: {total} pre-signed transfers from one key mined in {anvil:.2} s; on chain/anvil = {:.1}x; all final/anvil = {:.1}x",
        on_chain / anvil,
        all / anvil
    );
    let one_by_one = alone(true).await;
    println!("anvil alone, one by one in nonce order: mined in {one_by_one:.2} s; on chain/that = {:.1}x", on_chain / one_by_one);
}
