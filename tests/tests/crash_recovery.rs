//! SIGKILL the daemon in the middle of a burst of sends, several times; after restarts every
//! transaction ends CONFIRMED exactly once on the chain (checked on the node), none is lost.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

fn hex_u128(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_daemons_resume_without_loss_or_double_sends() {
    let node = tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111));
    let rpc = node.url.clone();
    let opts = Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &rpc);
    let mut d = Daemon::start(opts.clone());
    let dir = d.dir.clone();
    let _tmp = d.take_tmp();
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "crash", "chain": "ethereum"}))).await;
    let addr = w.body["publicKey"].as_str().unwrap().to_string();
    let token = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    tokio::task::block_in_place(|| node.fund(&addr, 10u128.pow(21)));
    let to = DEV_ACCOUNTS[9];
    let start_balance = tokio::task::block_in_place(|| hex_u128(&node.rpc("eth_getBalance", json!([to, "latest"]))));

    let mut ids = vec![];
    let mut expected: u128 = 0;
    let mut resumed = 0;
    for round in 0..3u128 {
        // A burst of sends, and a SIGKILL while they are in flight.
        let mut tasks = vec![];
        for i in 0..30u128 {
            let (api, token) = (api_for(&d), token.clone());
            let amount = 1_000 + round * 100 + i;
            expected += amount;
            tasks.push(tokio::spawn(async move {
                let r = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": to, "amount": amount.to_string()}))).await;
                assert_eq!(r.status, 201, "{:?}", r.body);
                r.body["id"].as_str().unwrap().to_string()
            }));
        }
        for t in tasks {
            ids.push(t.await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(40 + 60 * round as u64)).await;
        unsafe { libc::kill(d.child.id() as i32, libc::SIGKILL) };
        let _ = d.child.wait();
        d = Daemon::start_in(&dir, opts.clone()).unwrap_or_else(|e| panic!("restart: {e:?}"));
        if let Some(line) = d.startup_log.lines().find(|l| l.contains("resuming")) {
            resumed += line.split("resuming ").nth(1).and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
        }
    }
    // Every transaction reaches CONFIRMED after the restarts.
    let api = api_for(&d);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut nonces = vec![];
    for id in &ids {
        loop {
            let r = api.call("GET", &format!("/v1/transactions/{id}"), &token, None).await;
            let st = r.body["status"].as_str().unwrap_or("").to_string();
            if st == "CONFIRMED" {
                nonces.push(r.body["nonce"].as_i64().unwrap());
                break;
            }
            assert!(!["FAILED", "CANCELLED", "EXPIRED"].contains(&st.as_str()), "{:?}", r.body);
            assert!(Instant::now() < deadline, "stuck: {:?}", r.body);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!(resumed > 0, "the kills must hit transactions in flight for this test to mean anything");
    nonces.sort();
    assert_eq!(nonces, (0..90).collect::<Vec<i64>>(), "contiguous, each once");
    let (count, balance) = tokio::task::block_in_place(|| {
        (hex_u128(&node.rpc("eth_getTransactionCount", json!([addr, "latest"]))), hex_u128(&node.rpc("eth_getBalance", json!([to, "latest"]))))
    });
    assert_eq!(count, 90, "the chain saw exactly 90 transactions from the wallet");
    assert_eq!(balance - start_balance, expected, "every amount moved exactly once");
    drop(d);
    tokio::task::block_in_place(move || drop(node));
}

fn api_for(d: &Daemon) -> Api {
    Api::new(&d.base)
}
