#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test: a failed setup fails it")]
//! The engine on the PostgreSQL store (`database.postgres_url`), against a real PostgreSQL
//! server (`waiaas_testnodes::postgres`) and a scripted chain on a manual clock: wallets,
//! policies, sessions, an INSTANT send to CONFIRMED, a DELAY that executes once its delay has
//! passed, a denial, the audit trail, restart on the same database; and a second daemon on the
//! same database refused (one daemon per database until replicas are built).

use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use waiaas_core::chain::scripted::ScriptedAdapter;
use waiaas_core::chain::ChainAdapter;
use waiaas_core::clock::ManualClock;
use waiaas_core::config::Config;
use waiaas_core::policies::CreatePolicy;
use waiaas_core::sessions::CreateSession;
use waiaas_core::wallets::CreateWallet;
use waiaas_core::{Caller, Engine, ErrorCode};
use waiaas_testnodes::postgres::Postgres;

const PASSWORD: &str = "postgres-engine-password";
const TO: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const NOT_ALLOWED: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

fn config(url: &str) -> Config {
    let toml = format!("[oracle]\nenabled = false\n[prices]\neth = 2000\n[database]\npostgres_url = \"{url}\"\npostgres_pool_size = 4\n");
    Config::from_toml(&toml, &[]).unwrap().config
}

async fn open(dir: &std::path::Path, url: &str, clock: Arc<ManualClock>, chain: Arc<ScriptedAdapter>) -> waiaas_core::Result<Engine> {
    let factory = move |_network| chain.clone() as Arc<dyn ChainAdapter>;
    Engine::builder(dir, config(url)).clock(clock).adapters(Arc::new(factory)).open(PASSWORD).await
}

async fn reaches(engine: &Engine, id: &str, status: &str) -> waiaas_core::transactions::TxView {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let tx = engine.get_transaction(&Caller::Master, id).await.unwrap();
        if tx.status == status {
            return tx;
        }
        assert!(tokio::time::Instant::now() < deadline, "{id} stayed {} (error {:?}), expected {status}", tx.status, tx.error);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_runs_on_postgres_and_a_second_daemon_on_the_same_database_is_refused() {
    let pg = tokio::task::block_in_place(Postgres::start);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_engine"));
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::default());
    let chain = Arc::new(ScriptedAdapter::new(waiaas_core::network::Network::parse("ethereum-sepolia").unwrap()));
    let engine = open(dir.path(), &url, clock.clone(), chain.clone()).await.unwrap();

    // A second daemon on the same database: refused, with the reason.
    let other = tempfile::tempdir().unwrap();
    let e = open(other.path(), &url, clock.clone(), chain.clone()).await.err().expect("refused");
    assert_eq!(e.code, ErrorCode::DATABASE_IN_USE, "{e:?}");

    let create = CreateWallet { name: "pg".into(), chain: Some("ethereum".into()), create_session: Some(false), ..Default::default() };
    let wallet = engine.create_wallet(create).await.unwrap().wallet.id;
    let rules = json!({"instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 1000, "delay_seconds": 60});
    engine.create_policy(CreatePolicy { wallet_id: Some(wallet.clone()), policy_type: "SPENDING_LIMIT".into(), rules, ..Default::default() }).await.unwrap();
    let whitelist = json!({"allowed_addresses": [TO]});
    engine
        .create_policy(CreatePolicy { wallet_id: Some(wallet.clone()), policy_type: "WHITELIST".into(), rules: whitelist, ..Default::default() })
        .await
        .unwrap();
    let session = engine.create_session(CreateSession { wallet_id: Some(wallet.clone()), ..Default::default() }).await.unwrap();
    let agent = engine.authenticate(&session.token).await.unwrap();
    let send = |amount: &str, to: &str| json!({"type": "TRANSFER", "to": to, "amount": amount});

    // INSTANT: signed, broadcast once, confirmed.
    let id = engine.send_transaction(&agent, send("1000000000000", TO), None).await.unwrap().id;
    let tx = reaches(&engine, &id, "CONFIRMED").await;
    assert_eq!(tx.tier.as_deref(), Some("INSTANT"));
    assert_eq!(chain.landed(), vec![tx.tx_hash.clone().unwrap()]);
    // DELAY ($10): waits for the clock, then executes once.
    let delayed = engine.send_transaction(&agent, send("5000000000000000", TO), None).await.unwrap().id;
    reaches(&engine, &delayed, "QUEUED").await;
    assert_eq!(engine.process_queue().await.unwrap(), 0);
    clock.advance(60);
    assert_eq!(engine.process_queue().await.unwrap(), 1);
    reaches(&engine, &delayed, "CONFIRMED").await;
    assert_eq!(chain.landed().len(), 2);
    // Denied: CANCELLED with the policy's code, nothing sent.
    let denied = engine.send_transaction(&agent, send("1000", NOT_ALLOWED), None).await.unwrap().id;
    let tx = reaches(&engine, &denied, "CANCELLED").await;
    assert_eq!(tx.error_code.as_deref(), Some("WHITELIST_DENIED"));
    assert_eq!(chain.landed().len(), 2);
    // The audit trail is in the database.
    let events = tokio::task::block_in_place(|| {
        pg.psql("waiaas_engine", &format!("SELECT string_agg(event_type, ',' ORDER BY id) FROM audit_log WHERE tx_id = '{delayed}'"))
    });
    assert_eq!(events, "TX_QUEUED,TX_EXECUTING,TX_SUBMITTED,TX_CONFIRMED");

    // A restart on the same database: the lock is released with the first daemon, the data is there.
    engine.stop_workers(tokio::time::Instant::now()).await;
    drop(engine);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let engine = loop {
        match open(dir.path(), &url, clock.clone(), chain.clone()).await {
            Ok(e) => break e,
            Err(e) if e.code == ErrorCode::DATABASE_IN_USE && tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => panic!("reopen: {e:?}"),
        }
    };
    assert_eq!(engine.get_transaction(&Caller::Master, &delayed).await.unwrap().status, "CONFIRMED");
    let agent = engine.authenticate(&session.token).await.unwrap();
    assert_eq!(agent.session_id, session.id);
}
