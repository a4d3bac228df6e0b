//! The kill switch over HTTP against anvil: activation cancels queued work, suspends the
//! wallets and closes the agent routes; recovery reopens them and sends work again.

use serde_json::json;
use std::time::{Duration, Instant};
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_switch_stops_everything_and_recovers() {
    let node = tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111));
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url).env("WAIAAS_PRICES_ETH", "2000"));
    let api = Api::new(&d.base);
    let m = Api::master();
    let w = api.call("POST", "/v1/wallets", &m, Some(json!({"name": "k", "chain": "ethereum"}))).await;
    let wid = w.body["id"].as_str().unwrap().to_string();
    let token = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    tokio::task::block_in_place(|| node.fund(w.body["publicKey"].as_str().unwrap(), 10u128.pow(21)));
    // 0.01 ETH = $20 at $2000/ETH: DELAY under this SPENDING_LIMIT, so it waits QUEUED.
    api.call("POST", "/v1/policies", &m, Some(json!({"walletId": wid, "type": "SPENDING_LIMIT", "rules": {"instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 100, "delay_seconds": 600}}))).await;
    let queued =
        api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[1], "amount": "10000000000000000"}))).await;
    let qid = queued.body["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.call("GET", &format!("/v1/transactions/{qid}"), &token, None).await.body["status"] != "QUEUED" {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let st = api.call("GET", "/v1/admin/kill-switch", &Auth::None, None).await;
    assert_eq!(st.body["state"], "ACTIVE");
    let r = api.call("POST", "/v1/admin/recover", &m, None).await;
    assert_eq!((r.status, r.code()), (409, "KILL_SWITCH_NOT_ACTIVE"));
    let r = api.call("POST", "/v1/admin/kill-switch", &m, None).await;
    assert_eq!((r.status, r.body["state"].as_str()), (200, Some("SUSPENDED")), "{:?}", r.body);
    let r = api.call("POST", "/v1/admin/kill-switch", &m, None).await;
    assert_eq!((r.status, r.code()), (409, "KILL_SWITCH_ACTIVE"));

    // Agent routes are closed; the health check and admin routes stay open.
    let r = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[1], "amount": "1"}))).await;
    assert_eq!((r.status, r.code()), (503, "SYSTEM_LOCKED"));
    assert_eq!(api.call("GET", "/v1/wallets", &m, None).await.code(), "SYSTEM_LOCKED");
    assert_eq!(api.call("GET", "/health", &Auth::None, None).await.status, 200);
    // Every declared operation answers as the core's table says: a Refused one is
    // SYSTEM_LOCKED before anything else (no credential sent), a Served one never is.
    for o in waiaas_core::api::OPERATIONS {
        let r = api.call(o.method, &concrete_path(o.path), &Auth::None, None).await;
        match o.when_locked {
            waiaas_core::api::WhenLocked::Refused => assert_eq!((r.status, r.code()), (503, "SYSTEM_LOCKED"), "{} {}", o.method, o.path),
            waiaas_core::api::WhenLocked::Served => assert_ne!(r.code(), "SYSTEM_LOCKED", "{} {} is declared served while locked", o.method, o.path),
        }
    }
    let st = api.call("GET", "/v1/admin/kill-switch", &Auth::None, None).await;
    assert_eq!((st.body["state"].as_str(), st.body["activatedBy"].as_str()), (Some("SUSPENDED"), Some("master")));
    // The queued transaction was cancelled and the wallet suspended (checked in the store).
    let conn = rusqlite::Connection::open_with_flags(d.dir.join("data/waiaas.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let (status, hash): (String, Option<String>) =
        conn.query_row("SELECT status, tx_hash FROM transactions WHERE id = ?1", [&qid], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!((status.as_str(), hash), ("CANCELLED", None));
    let ws: String = conn.query_row("SELECT status FROM wallets WHERE id = ?1", [&wid], |r| r.get(0)).unwrap();
    assert_eq!(ws, "SUSPENDED");

    // Recovery reopens everything and the wallet sends again.
    let r = api.call("POST", "/v1/admin/recover", &m, None).await;
    assert_eq!((r.status, r.body["state"].as_str()), (200, Some("ACTIVE")));
    let wallet = api.call("GET", &format!("/v1/wallets/{wid}"), &token, None).await;
    assert_eq!(wallet.body["status"], "ACTIVE");
    let s = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[1], "amount": "1000"}))).await;
    assert_eq!(s.status, 201);
    let id = s.body["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = api.call("GET", &format!("/v1/transactions/{id}"), &token, None).await;
        if t.body["status"] == "CONFIRMED" {
            break;
        }
        assert!(Instant::now() < deadline, "{:?}", t.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(d);
    tokio::task::block_in_place(move || drop(node));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autostop_suspends_after_consecutive_failures_and_the_next_send_is_refused() {
    let node = tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(11155111));
    let d = Daemon::start(
        Options::default()
            .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url)
            .env("WAIAAS_PRICES_ETH", "2000")
            .env("WAIAAS_SECURITY_AUTOSTOP_CONSECUTIVE_FAILURES_THRESHOLD", "3"),
    );
    let api = Api::new(&d.base);
    let m = Api::master();
    let w = api.call("POST", "/v1/wallets", &m, Some(json!({"name": "a", "chain": "ethereum"}))).await;
    let wid = w.body["id"].as_str().unwrap().to_string();
    let token = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    // Deploy the Vault (its fail() always reverts) and allow calls to it.
    let vault = tokio::task::block_in_place(|| {
        node.fund(w.body["publicKey"].as_str().unwrap(), 10u128.pow(21));
        let code = waiaas_testnodes::anvil::artifact("Vault")["bytecode"].as_str().unwrap().to_string();
        node.deploy(&code, DEV_ACCOUNTS[0])
    });
    api.call("POST", "/v1/policies", &m, Some(json!({"walletId": wid, "type": "CONTRACT_WHITELIST", "rules": {"contracts": [{"address": vault}]}}))).await;
    let settle = |id: String| {
        let (api, token) = (api.clone(), token.clone());
        async move { api.wait_tx(&token, &id, NOT_FINAL, Duration::from_secs(20)).await }
    };
    for i in 0..3 {
        let r = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "CONTRACT_CALL", "to": vault, "calldata": "0xa9cc4718"}))).await;
        assert_eq!(r.status, 201, "send {i}: {:?}", r.body);
        let t = settle(r.body["id"].as_str().unwrap().to_string()).await;
        assert_eq!(t["status"], "FAILED");
    }
    let det = api.call("GET", &format!("/v1/wallets/{wid}"), &m, None).await;
    assert_eq!((det.body["status"].as_str(), det.body["suspensionReason"].as_str()), (Some("SUSPENDED"), Some("CONSECUTIVE_FAILURES")));
    let r = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[1], "amount": "1"}))).await;
    assert_eq!((r.status, r.code()), (409, "WALLET_SUSPENDED"));
    // The operator resumes it and it sends again.
    assert_eq!(api.call("POST", &format!("/v1/wallets/{wid}/resume"), &m, None).await.status, 200);
    let r = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[1], "amount": "1"}))).await;
    assert_eq!(settle(r.body["id"].as_str().unwrap().to_string()).await["status"], "CONFIRMED");
    drop(d);
    tokio::task::block_in_place(move || drop(node));
}
