//! The `waiaas` daemon on PostgreSQL (`WAIAAS_DATABASE_POSTGRES_URL`), over a real socket,
//! a real PostgreSQL server and a real anvil: a send confirms on chain, its rows and audit
//! entries are in PostgreSQL (nothing in a SQLite file), the data survives a restart, and
//! `db migrate` moves a SQLite data dir over. Three daemons (replicas) on one database and one
//! anvil: a daily limit holds exactly under 300 concurrent sends spread across them with the
//! wallet's nonces gapless, and a replica killed with SIGKILL mid-burst leaves its work to the
//! others, nothing sent twice.

use serde_json::json;
use std::time::Duration;
use waiaas_e2e::evm::Node;
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;
use waiaas_testnodes::postgres::Postgres;

const SEPOLIA: u64 = 11155111;
const ETH: u128 = 1_000_000_000_000_000_000;

/// A daemon's options on `node` (Sepolia), ETH at $2,000.
fn on_anvil(node: &Node) -> Options {
    Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url()).env("WAIAAS_PRICES_ETH", "2000")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_runs_on_postgres_and_keeps_its_data_across_a_restart() {
    let node = Node::start(SEPOLIA);
    let pg = tokio::task::block_in_place(Postgres::start);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_daemon"));
    let opts = || on_anvil(&node).env("WAIAAS_DATABASE_POSTGRES_URL", &url);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let d = tokio::task::block_in_place(|| Daemon::start_in(&dir, opts())).unwrap_or_else(|(s, log)| panic!("start ({s}):\n{log}"));
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "pg", "chain": "ethereum", "environment": "testnet"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let (wallet, address) = (w.body["id"].as_str().unwrap().to_string(), w.body["publicKey"].as_str().unwrap().to_string());
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    node.fund(&address, ETH);
    let before = node.balance(DEV_ACCOUNTS[1]);
    let r = api.call("POST", "/v1/transactions/send", &agent, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[1], "amount": "1000000000000"}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let tx = api.wait_tx(&agent, &id, IN_FLIGHT, Duration::from_secs(30)).await;
    assert_eq!(tx["status"], "CONFIRMED", "{tx}");
    assert_eq!(node.balance(DEV_ACCOUNTS[1]), before + 1_000_000_000_000);
    // The rows are in PostgreSQL, with their audit trail; no SQLite store was created.
    let psql = |sql: &str| tokio::task::block_in_place(|| pg.psql("waiaas_daemon", sql));
    assert_eq!(psql(&format!("SELECT status FROM transactions WHERE id = '{id}'")), "CONFIRMED");
    assert_eq!(psql(&format!("SELECT COUNT(*) FROM audit_log WHERE tx_id = '{id}' AND event_type = 'TX_CONFIRMED'")), "1");
    assert!(!dir.join("data/waiaas.db").exists(), "no SQLite database beside PostgreSQL");
    // Backups of a SQLite file are refused, with the reason.
    let b = api.call("POST", "/v1/admin/backup", &Api::master(), None).await;
    assert_eq!((b.status, b.code()), (409, "BACKUP_UNSUPPORTED"), "{:?}", b.body);

    // Restart: same data dir (keys) and database (everything else).
    tokio::task::block_in_place(|| d.stop());
    let d = tokio::task::block_in_place(|| Daemon::start_in(&dir, opts())).unwrap_or_else(|(s, log)| panic!("restart ({s}):\n{log}"));
    let api = Api::new(&d.base);
    let tx = api.call("GET", &format!("/v1/transactions/{id}"), &agent, None).await;
    assert_eq!((tx.status, tx.body["status"].as_str()), (200, Some("CONFIRMED")), "{:?}", tx.body);
    let again = api.call("POST", "/v1/transactions/send", &agent, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[1], "amount": "1000000000000"}))).await;
    assert_eq!(again.status, 201, "{:?}", again.body);
    let tx = api.wait_tx(&agent, again.body["id"].as_str().unwrap(), IN_FLIGHT, Duration::from_secs(30)).await;
    assert_eq!(tx["status"], "CONFIRMED", "the key (a file in the data dir) and the session (in PostgreSQL) still work: {tx}");
    assert_eq!(psql(&format!("SELECT COUNT(*) FROM transactions WHERE wallet_id = '{wallet}'")), "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_migrate_moves_a_sqlite_data_dir_to_postgres_and_the_daemon_carries_on() {
    let node = Node::start(SEPOLIA);
    let pg = tokio::task::block_in_place(Postgres::start);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_moved"));
    let base = || on_anvil(&node);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    // On SQLite: a wallet, a policy, a confirmed send.
    let d = tokio::task::block_in_place(|| Daemon::start_in(&dir, base())).unwrap_or_else(|(s, log)| panic!("start ({s}):\n{log}"));
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "moved", "chain": "ethereum", "environment": "testnet"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let (wallet, address) = (w.body["id"].as_str().unwrap().to_string(), w.body["publicKey"].as_str().unwrap().to_string());
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    api.create_policy(&wallet, "WHITELIST", json!({"allowed_addresses": [DEV_ACCOUNTS[1]]})).await;
    node.fund(&address, ETH);
    let send = json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[1], "amount": "1000000000000"});
    let r = api.call("POST", "/v1/transactions/send", &agent, Some(send.clone())).await;
    let first = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(api.wait_tx(&agent, &first, IN_FLIGHT, Duration::from_secs(30)).await["status"], "CONFIRMED");

    // The copy refuses while the daemon holds the data dir, then runs once it is stopped.
    let env = [("WAIAAS_DATABASE_POSTGRES_URL".to_string(), url.clone())];
    let migrate = |extra: &[&str]| {
        let mut args = vec!["db", "migrate", "--data-dir", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        tokio::task::block_in_place(|| run_cli(&args, &env))
    };
    let busy = migrate(&[]);
    assert!(!busy.status.success(), "copied under a running daemon");
    tokio::task::block_in_place(|| d.stop());
    let out = migrate(&["--json"]);
    assert!(out.status.success(), "db migrate: {}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = |t: &str| report["tables"].as_array().unwrap().iter().find(|e| e[0] == t).map(|e| e[1].as_u64().unwrap()).unwrap();
    assert_eq!((rows("wallets"), rows("transactions"), rows("policies")), (1, 1, 1), "{report}");
    assert!(rows("audit_log") >= 4, "{report}");
    // Into a database that has rows: refused.
    let again = migrate(&[]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("not empty"), "{}", String::from_utf8_lossy(&again.stderr));

    // The daemon on PostgreSQL: the same wallet, session, policy and history; sends go on.
    let d = tokio::task::block_in_place(|| Daemon::start_in(&dir, base().env("WAIAAS_DATABASE_POSTGRES_URL", &url)))
        .unwrap_or_else(|(s, log)| panic!("on PostgreSQL ({s}):\n{log}"));
    let api = Api::new(&d.base);
    let tx = api.call("GET", &format!("/v1/transactions/{first}"), &agent, None).await;
    assert_eq!((tx.status, tx.body["status"].as_str()), (200, Some("CONFIRMED")), "{:?}", tx.body);
    let r = api.call("POST", "/v1/transactions/send", &agent, Some(send)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(api.wait_tx(&agent, r.body["id"].as_str().unwrap(), IN_FLIGHT, Duration::from_secs(30)).await["status"], "CONFIRMED");
    // The whitelist came along: another destination is still denied.
    let r = api.call("POST", "/v1/transactions/send", &agent, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[2], "amount": "1"}))).await;
    let denied = api.wait_tx(&agent, r.body["id"].as_str().unwrap(), IN_FLIGHT, Duration::from_secs(30)).await;
    assert_eq!((denied["status"].as_str(), denied["errorCode"].as_str()), (Some("CANCELLED"), Some("WHITELIST_DENIED")), "{denied}");
}

/// The nonce of each of `hashes` on chain, sorted.
fn chain_nonces(node: &Node, hashes: &[String]) -> Vec<u64> {
    let mut nonces: Vec<u64> = hashes
        .iter()
        .map(|h| {
            let tx = node.rpc("eth_getTransactionByHash", json!([h]));
            u64::from_str_radix(tx["nonce"].as_str().unwrap_or_else(|| panic!("{h} is not on chain: {tx}")).trim_start_matches("0x"), 16).unwrap()
        })
        .collect();
    nonces.sort();
    nonces
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_hold_a_daily_limit_exactly_under_300_concurrent_sends_with_gapless_nonces() {
    let node = Node::start(SEPOLIA);
    let pg = tokio::task::block_in_place(Postgres::start);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_three"));
    let opts = || on_anvil(&node).env("WAIAAS_DATABASE_POSTGRES_URL", &url);
    let tmp = tempfile::tempdir().unwrap();
    let daemons = tokio::task::block_in_place(|| start_replicas(tmp.path(), 3, opts));
    let apis: Vec<Api> = daemons.iter().map(|d| Api::new(&d.base)).collect();
    let w = apis[0].call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "shared", "chain": "ethereum", "createSession": false}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let (wallet, address) = (w.body["id"].as_str().unwrap().to_string(), w.body["publicKey"].as_str().unwrap().to_string());
    node.fund(&address, 1000 * ETH);
    let rules = json!({"instant_max_usd": 100, "notify_max_usd": 500, "delay_max_usd": 2000, "delay_seconds": 900, "daily_limit_usd": 1000});
    apis[1].create_policy(&wallet, "SPENDING_LIMIT", rules).await;
    // A session made through one replica works on every one.
    let s = apis[2].call("POST", "/v1/sessions", &Api::master(), Some(json!({"walletId": wallet}))).await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    let agent = Auth::Session(s.body["token"].as_str().unwrap().into());

    // 300 concurrent $10 sends, spread across the three (as a load balancer would).
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..300 {
        let (api, agent) = (apis[i % 3].clone(), agent.clone());
        sends.spawn(async move {
            let r =
                api.call("POST", "/v1/transactions/send", &agent, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[2], "amount": "5000000000000000"}))).await;
            assert_eq!(r.status, 201, "{:?}", r.body);
            r.body["id"].as_str().unwrap().to_string()
        });
    }
    let mut ids = vec![];
    while let Some(id) = sends.join_next().await {
        ids.push(id.unwrap());
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    let mut txs = vec![];
    for (i, id) in ids.iter().enumerate() {
        txs.push(apis[i % 3].wait_tx(&agent, id, IN_FLIGHT, deadline.saturating_duration_since(std::time::Instant::now())).await);
    }
    let confirmed: Vec<String> = txs.iter().filter(|t| t["status"] == "CONFIRMED").map(|t| t["txHash"].as_str().unwrap().to_string()).collect();
    let queued = txs.iter().filter(|t| t["status"] == "QUEUED" && t["tier"] == "DELAY").count();
    let not_final: Vec<String> = txs
        .iter()
        .filter(|t| t["status"] != "CONFIRMED" && t["status"] != "QUEUED")
        .map(|t| format!("{} {} nonce {} {}", t["id"], t["status"], t["nonce"], t["txHash"]))
        .collect();
    assert_eq!(confirmed.len(), 100, "exactly $1,000 of $10 sends confirmed; neither CONFIRMED nor QUEUED: {not_final:?}");
    assert_eq!(queued, 200, "the rest wait as the policy says (over the daily limit: APPROVAL, no owner: DELAY)");
    assert!(txs.iter().filter(|t| t["status"] == "CONFIRMED").all(|t| t["tier"] == "INSTANT"));
    // The stored sum is exact, and the chain holds the wallet's nonces 0..99, no gap, none twice.
    let psql = |sql: &str| tokio::task::block_in_place(|| pg.psql("waiaas_three", sql));
    assert_eq!(psql("SELECT SUM(amount_usd)::numeric(12,2) FROM transactions WHERE status = 'CONFIRMED'"), "1000.00");
    assert_eq!(chain_nonces(&node, &confirmed), (0..100).collect::<Vec<u64>>());
    assert_eq!(node.nonce(&address), 100);

    // A session revoked through one replica is refused by the others at once.
    let other = apis[0].call("POST", "/v1/sessions", &Api::master(), Some(json!({"walletId": wallet}))).await;
    let other_agent = Auth::Session(other.body["token"].as_str().unwrap().into());
    assert_eq!(apis[2].call("GET", "/v1/wallet/balance", &other_agent, None).await.status, 200);
    let r = apis[1].call("DELETE", &format!("/v1/sessions/{}", other.body["id"].as_str().unwrap()), &Api::master(), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    for api in &apis {
        assert_eq!(api.call("GET", "/v1/wallet/balance", &other_agent, None).await.status, 401, "revoked everywhere");
    }
    // The kill switch activated through one replica refuses sends on the others within a second.
    let activated = std::time::Instant::now();
    let r = apis[0].call("POST", "/v1/admin/kill-switch", &Api::master(), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    for api in &apis[1..] {
        loop {
            let r = api.call("POST", "/v1/transactions/send", &agent, Some(json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[2], "amount": "1"}))).await;
            if (r.status, r.code()) == (503, "SYSTEM_LOCKED") {
                break;
            }
            // Refused all the same meanwhile (the activation cancels and suspends in the store).
            assert_ne!(r.status, 201, "a send was accepted after the activation: {:?}", r.body);
            assert!(activated.elapsed() < Duration::from_secs(1), "not locked within 1 s: {} {:?}", r.status, r.body);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(node.nonce(&address), 100, "nothing more sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_burst_leaves_its_work_to_the_others_and_nothing_is_sent_twice() {
    let node = Node::start(SEPOLIA);
    let pg = tokio::task::block_in_place(Postgres::start);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_chaos"));
    let opts = || on_anvil(&node).env("WAIAAS_DATABASE_POSTGRES_URL", &url);
    let tmp = tempfile::tempdir().unwrap();
    let mut daemons = tokio::task::block_in_place(|| start_replicas(tmp.path(), 3, opts));
    let apis: Vec<Api> = daemons.iter().map(|d| Api::new(&d.base)).collect();
    let w = apis[0].call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "chaos", "chain": "ethereum"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let (wallet, address) = (w.body["id"].as_str().unwrap().to_string(), w.body["publicKey"].as_str().unwrap().to_string());
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    node.fund(&address, 1000 * ETH);
    // A block a second: what a replica broadcast waits SUBMITTED for its block, so the one
    // killed surely leaves sends unfinished.
    node.rpc("evm_setIntervalMining", json!([1]));

    // 150 sends spread across the three; replica 1 is killed with SIGKILL while they run,
    // once it has accepted some.
    let killed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let on_one = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..150 {
        let (apis, agent, killed, on_one) = (apis.clone(), agent.clone(), killed.clone(), on_one.clone());
        sends.spawn(async move {
            tokio::time::sleep(Duration::from_millis(5 * i as u64)).await;
            // After the kill the load balancer sends replica 1's share to replica 0.
            let to = if i % 3 == 1 && killed.load(std::sync::atomic::Ordering::SeqCst) { 0 } else { i % 3 };
            let body = json!({"type": "TRANSFER", "to": DEV_ACCOUNTS[2], "amount": "1000000000000"});
            // A request cut by the kill may or may not have been stored: counted from the store below.
            let r = apis[to].try_call("POST", "/v1/transactions/send", &agent, Some(body), &[]).await.ok()?;
            if r.status == 201 && to == 1 {
                on_one.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            (r.status == 201).then(|| (to, r.body["id"].as_str().unwrap().to_string()))
        });
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while on_one.load(std::sync::atomic::Ordering::SeqCst) < 10 {
        assert!(std::time::Instant::now() < deadline, "replica 1 accepted no sends");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    daemons[1].child.kill().unwrap();
    daemons[1].child.wait().unwrap();
    killed.store(true, std::sync::atomic::Ordering::SeqCst);
    let psql = |sql: &str| tokio::task::block_in_place(|| pg.psql("waiaas_chaos", sql));
    let unfinished = psql("SELECT string_agg(id, ',') FROM transactions WHERE status NOT IN ('CONFIRMED', 'FAILED', 'CANCELLED')");
    let mut accepted = vec![];
    let mut orphaned = 0;
    while let Some(sent) = sends.join_next().await {
        if let Some((to, id)) = sent.unwrap() {
            orphaned += usize::from(to == 1 && unfinished.contains(id.as_str()));
            accepted.push(id);
        }
    }
    assert!(accepted.len() >= 100, "most sends were accepted ({})", accepted.len());
    assert!(orphaned > 0, "the kill left none of replica 1's transactions unfinished: nothing was taken over");
    eprintln!("replica 1 left {orphaned} transactions unfinished");

    // Every stored transaction (those the killed replica accepted too) ends in one state:
    // the survivors take over what it held.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let open = psql(&format!("SELECT COUNT(*) FROM transactions WHERE wallet_id = '{wallet}' AND status NOT IN ('CONFIRMED', 'FAILED', 'CANCELLED')"));
        if open == "0" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{open} transactions never finished: {}", psql("SELECT string_agg(status, ',') FROM transactions"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stored: u64 = psql(&format!("SELECT COUNT(*) FROM transactions WHERE wallet_id = '{wallet}'")).parse().unwrap();
    let confirmed: u64 = psql(&format!("SELECT COUNT(*) FROM transactions WHERE wallet_id = '{wallet}' AND status = 'CONFIRMED'")).parse().unwrap();
    assert!(stored >= accepted.len() as u64);
    assert_eq!(
        confirmed,
        stored,
        "every send confirmed: {}",
        psql("SELECT string_agg(status || ':' || COALESCE(error, ''), ',') FROM transactions WHERE status <> 'CONFIRMED'")
    );
    for id in &accepted {
        assert_eq!(psql(&format!("SELECT status FROM transactions WHERE id = '{id}'")), "CONFIRMED", "{id}");
    }
    // The chain shows each exactly once: as many transactions from the wallet as confirmed
    // rows, with distinct hashes and nonces 0..n.
    let hashes: Vec<String> =
        psql(&format!("SELECT string_agg(tx_hash, ',') FROM transactions WHERE wallet_id = '{wallet}'")).split(',').map(str::to_string).collect();
    assert_eq!(node.nonce(&address), u128::from(confirmed), "nothing sent twice");
    assert_eq!(chain_nonces(&node, &hashes), (0..confirmed).collect::<Vec<u64>>());
}
