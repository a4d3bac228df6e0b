//! Replica bench (issue "PostgreSQL and several daemons on one database"), against a real
//! anvil and a real PostgreSQL; not a test: it prints figures. `scripts/bench-replicas.sh`
//! runs it on a release build.
//!
//! `replica-bench [--decisions N] [--single S] [--concurrent C]`, for each setup in turn: SQLite
//! (one daemon), PostgreSQL with one daemon, PostgreSQL with three daemons (a fresh database
//! each, sends spread round-robin across the daemons as a load balancer would):
//! 1. decisions per second: N (default 600) concurrent $10 sends of one wallet whose spending
//!    limit puts them all in DELAY, so each is a policy decision with its reservation and no
//!    chain work; timed from the first POST until the daemons' `waiaas_policy_decisions_total`
//!    (summed over `/metrics` of every daemon) reaches N;
//! 2. send latency: S (default 50) sequential sends of another wallet (no policy: INSTANT),
//!    POST to CONFIRMED (polled every millisecond), p50 and p99;
//! 3. concurrent sends: C (default 300) INSTANT sends of a third wallet at once, the time until
//!    the wallet's nonce on the node reaches C, and whether every one confirmed.

use serde_json::json;
use std::time::{Duration, Instant};
use waiaas_e2e::bench::{arg, nonce, rpc};
use waiaas_e2e::*;

const TO: &str = waiaas_testnodes::anvil::DEV_ACCOUNTS[1];

/// A funded wallet and its session token.
async fn wallet(api: &Api, http: &reqwest::Client, node: &str, name: &str) -> (String, String, Auth) {
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": name, "chain": "ethereum"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let addr = w.body["publicKey"].as_str().unwrap().to_string();
    rpc(http, node, "anvil_setBalance", json!([addr, "0x3635C9ADC5DEA00000000"])).await;
    (w.body["id"].as_str().unwrap().to_string(), addr, Auth::Session(w.body["session"]["token"].as_str().unwrap().into()))
}

/// The policy decisions the daemons made so far (their `/metrics`, summed).
async fn decisions(apis: &[Api]) -> f64 {
    let mut n = 0.0;
    for api in apis {
        let text = reqwest::get(format!("{}/metrics", api.base)).await.unwrap().text().await.unwrap();
        n += text.lines().filter(|l| l.starts_with("waiaas_policy_decisions_total{")).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum::<f64>();
    }
    n
}

async fn send(api: &Api, agent: &Auth, amount: &str) -> String {
    let r = api.call("POST", "/v1/transactions/send", agent, Some(json!({"type": "TRANSFER", "to": TO, "amount": amount}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (n_decisions, single, concurrent) = (arg(&args, "--decisions", 600), arg(&args, "--single", 50), arg(&args, "--concurrent", 300));
    let node = tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111));
    let http = reqwest::Client::new();
    let pg = tokio::task::block_in_place(waiaas_testnodes::postgres::Postgres::start);
    for (setup, replicas) in [("SQLite, 1 daemon", 0), ("PostgreSQL, 1 daemon", 1), ("PostgreSQL, 3 daemons", 3)] {
        let tmp = tempfile::tempdir().unwrap();
        let db = if replicas > 0 { tokio::task::block_in_place(|| pg.create_database(&format!("bench{replicas}"))) } else { String::new() };
        let opts = || {
            let o = Options::default()
                .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url)
                .env("WAIAAS_PRICES_ETH", "2000")
                .env("WAIAAS_DAEMON_LOG_LEVEL", "warn")
                .env("WAIAAS_METRICS_ENABLED", "true");
            if db.is_empty() {
                o
            } else {
                o.env("WAIAAS_DATABASE_POSTGRES_URL", &db)
            }
        };
        let daemons = tokio::task::block_in_place(|| start_replicas(tmp.path(), replicas.max(1), opts));
        let apis: Vec<Api> = daemons.iter().map(|d| Api::new(&d.base)).collect();

        // 1. Decisions per second.
        let (held, _, agent) = wallet(&apis[0], &http, &node.url, "decisions").await;
        let rules = json!({"instant_max_usd": 1, "notify_max_usd": 2, "delay_max_usd": 1000000000, "delay_seconds": 86400});
        apis[0].create_policy(&held, "SPENDING_LIMIT", rules).await;
        let before = decisions(&apis).await;
        let t0 = Instant::now();
        let mut sends = tokio::task::JoinSet::new();
        for i in 0..n_decisions {
            let (api, agent) = (apis[i % apis.len()].clone(), agent.clone());
            sends.spawn(async move { send(&api, &agent, "5000000000000000").await });
        }
        while sends.join_next().await.is_some() {}
        while decisions(&apis).await - before < n_decisions as f64 {
            assert!(t0.elapsed() < Duration::from_secs(300), "decisions did not finish");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let decided = t0.elapsed().as_secs_f64();

        // 2. Send latency.
        let (_, _, agent) = wallet(&apis[0], &http, &node.url, "single").await;
        let mut latency = vec![];
        for i in 0..single {
            let api = &apis[i % apis.len()];
            let t = Instant::now();
            let id = send(api, &agent, "1000000").await;
            loop {
                match api.call("GET", &format!("/v1/transactions/{id}"), &agent, None).await.body["status"].as_str() {
                    Some("CONFIRMED") => break,
                    Some("FAILED" | "CANCELLED" | "EXPIRED") => panic!("send {id} did not confirm"),
                    _ => tokio::time::sleep(Duration::from_millis(1)).await,
                }
            }
            latency.push(t.elapsed().as_secs_f64() * 1000.0);
        }

        // 3. Concurrent sends of one wallet.
        let (_, addr, agent) = wallet(&apis[0], &http, &node.url, "concurrent").await;
        let t0 = Instant::now();
        let mut sends = tokio::task::JoinSet::new();
        for i in 0..concurrent {
            let (api, agent) = (apis[i % apis.len()].clone(), agent.clone());
            sends.spawn(async move { send(&api, &agent, &(1_000_000 + i).to_string()).await });
        }
        while sends.join_next().await.is_some() {}
        while nonce(&http, &node.url, &addr).await < concurrent as u64 {
            assert!(t0.elapsed() < Duration::from_secs(300), "concurrent sends did not land");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let landed = t0.elapsed().as_secs_f64();
        println!(
            "{setup}: {n_decisions} decisions in {decided:.2} s = {:.0} decisions/s; send->CONFIRMED p50 {:.1} ms p99 {:.1} ms ({single} sequential); {concurrent} concurrent sends of one wallet on chain in {landed:.2} s = {:.0} tx/s",
            n_decisions as f64 / decided,
            percentile(&latency, 0.5),
            percentile(&latency, 0.99),
            concurrent as f64 / landed
        );
        drop(daemons);
    }
}
