//! The `waiaas` daemon on PostgreSQL (`WAIAAS_DATABASE_POSTGRES_URL`), over a real socket,
//! a real PostgreSQL server and a real anvil: a send confirms on chain, its rows and audit
//! entries are in PostgreSQL (nothing in a SQLite file), the data survives a restart, and a
//! second daemon on the same database refuses to start (one daemon per database until
//! replicas are built).

use serde_json::json;
use std::time::Duration;
use waiaas_e2e::evm::Node;
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;
use waiaas_testnodes::postgres::Postgres;

const SEPOLIA: u64 = 11155111;
const ETH: u128 = 1_000_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_runs_on_postgres_and_keeps_its_data_across_a_restart() {
    let node = Node::start(SEPOLIA);
    let pg = tokio::task::block_in_place(Postgres::start);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_daemon"));
    let opts =
        || Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url()).env("WAIAAS_PRICES_ETH", "2000").env("WAIAAS_DATABASE_POSTGRES_URL", &url);
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

    // A second daemon on the same database refuses to start.
    let other = tmp.path().join("other");
    let refused = tokio::task::block_in_place(|| Daemon::start_in(&other, opts()));
    let Err((status, log)) = refused else { panic!("a second daemon started on the same database") };
    assert!(!status.success() && log.contains("another WAIaaS daemon is running on this PostgreSQL database"), "{status}: {log}");

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
    let base = || Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url()).env("WAIAAS_PRICES_ETH", "2000");
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
