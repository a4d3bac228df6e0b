#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test: a failed setup fails it")]
//! The engine on the PostgreSQL store (`database.postgres_url`), against a real PostgreSQL
//! server (`waiaas_testnodes::postgres`) and a scripted chain on a manual clock: wallets,
//! policies, sessions, an INSTANT send to CONFIRMED, a DELAY that executes once its delay has
//! passed, a denial, the audit trail, restart on the same database; and two daemons (replicas)
//! on one database sharing one chain: a first start of both at once, gapless nonces, the queue
//! run once, the kill switch and a revocation seen by both.

mod common;

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
    let toml = format!(
        "[oracle]\nenabled = false\n[prices]\neth = 2000\n[security]\nautostop_enabled = false\n[database]\npostgres_url = \"{url}\"\npostgres_pool_size = 4\n"
    );
    Config::from_toml(&toml, &[]).unwrap().config
}

async fn open(dir: &std::path::Path, url: &str, clock: Arc<ManualClock>, chain: Arc<ScriptedAdapter>) -> waiaas_core::Result<Engine> {
    let factory = move |_network| chain.clone() as Arc<dyn ChainAdapter>;
    Engine::builder(dir, config(url)).clock(clock).adapters(Arc::new(factory)).open(PASSWORD).await
}

async fn reaches(engine: &Engine, id: &str, status: &str) -> waiaas_core::transactions::TxView {
    common::reaches_within(engine, id, status, Duration::from_secs(10)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_runs_on_postgres_and_restarts_on_its_database() {
    let pg = tokio::task::block_in_place(Postgres::start);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_engine"));
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::default());
    let chain = Arc::new(ScriptedAdapter::new(waiaas_core::network::Network::parse("ethereum-sepolia").unwrap()));
    let engine = open(dir.path(), &url, clock.clone(), chain.clone()).await.unwrap();

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

    // A restart on the same database: the data is there.
    engine.stop_workers(tokio::time::Instant::now()).await;
    drop(engine);
    let engine = open(dir.path(), &url, clock.clone(), chain.clone()).await.unwrap();
    assert_eq!(engine.get_transaction(&Caller::Master, &delayed).await.unwrap().status, "CONFIRMED");
    let agent = engine.authenticate(&session.token).await.unwrap();
    assert_eq!(agent.session_id, session.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_on_one_database_keep_nonces_gapless_run_the_queue_once_and_follow_each_others_kill_switch() {
    let pg = tokio::task::block_in_place(Postgres::start);
    let url = tokio::task::block_in_place(|| pg.create_database("waiaas_two"));
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let clock = Arc::new(ManualClock::default());
    let chain = Arc::new(ScriptedAdapter::new(waiaas_core::network::Network::parse("ethereum-sepolia").unwrap()));
    // The replicas share the key files (a shared volume in a deployment).
    std::fs::create_dir_all(dir_a.path().join("keystore")).unwrap();
    std::os::unix::fs::symlink(dir_a.path().join("keystore"), dir_b.path().join("keystore")).unwrap();
    // Both start at once on the empty database: the schema is migrated once and the master
    // password recorded once, and both open.
    let (a, b) = tokio::join!(open(dir_a.path(), &url, clock.clone(), chain.clone()), open(dir_b.path(), &url, clock.clone(), chain.clone()));
    let (a, b) = (a.unwrap(), b.unwrap());
    a.start_workers();
    b.start_workers();

    let create = CreateWallet { name: "shared".into(), chain: Some("ethereum".into()), create_session: Some(false), ..Default::default() };
    let created = a.create_wallet(create).await.unwrap().wallet;
    let rules = json!({"instant_max_usd": 5, "notify_max_usd": 5, "delay_max_usd": 1000, "delay_seconds": 60});
    a.create_policy(CreatePolicy { wallet_id: Some(created.id.clone()), policy_type: "SPENDING_LIMIT".into(), rules, ..Default::default() }).await.unwrap();
    let session = a.create_session(CreateSession { wallet_id: Some(created.id.clone()), ..Default::default() }).await.unwrap();
    let (agent_a, agent_b) = (a.authenticate(&session.token).await.unwrap(), b.authenticate(&session.token).await.unwrap());
    let send = |amount: &str| json!({"type": "TRANSFER", "to": TO, "amount": amount});

    // 40 concurrent INSTANT sends, half through each daemon: every one lands once, with the
    // sender's nonces 0..39 and no gap.
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..40 {
        let (engine, agent) = if i % 2 == 0 { (a.clone(), agent_a.clone()) } else { (b.clone(), agent_b.clone()) };
        let body = send("1000000000000");
        sends.spawn(async move { engine.send_transaction(&agent, body, None).await.unwrap().id });
    }
    let mut hashes = vec![];
    while let Some(id) = sends.join_next().await {
        hashes.push(reaches(&a, &id.unwrap(), "CONFIRMED").await.tx_hash.unwrap());
    }
    let mut used = chain.nonces_used(&created.public_key);
    assert_eq!(used.len(), 40, "nonces 0..39 used, no gap and none twice");
    used.sort();
    hashes.sort();
    assert_eq!(used, hashes, "each transaction used one nonce");
    assert_eq!(chain.landed().len(), 40);

    // A DELAY: both daemons run the queue; it executes once.
    let delayed = b.send_transaction(&agent_b, send("5000000000000000"), None).await.unwrap().id;
    reaches(&a, &delayed, "QUEUED").await;
    clock.advance(60);
    let (ma, mb) = tokio::join!(a.process_queue(), b.process_queue());
    assert_eq!(ma.unwrap() + mb.unwrap(), 1, "moved by one daemon");
    reaches(&b, &delayed, "CONFIRMED").await;
    assert_eq!(chain.landed().len(), 41);

    // A revocation through one is refused by the other at once.
    let other = a.create_session(CreateSession { wallet_id: Some(created.id.clone()), ..Default::default() }).await.unwrap();
    b.authenticate(&other.token).await.unwrap();
    a.revoke_session(&other.id).await.unwrap();
    assert!(b.authenticate(&other.token).await.is_err(), "revoked on a, refused on b");

    // The kill switch activated through one holds on the other within a second.
    assert!(!b.kill_switch_engaged());
    let activated = tokio::time::Instant::now();
    a.activate_kill_switch("master").await.unwrap();
    while !b.kill_switch_engaged() {
        assert!(activated.elapsed() < Duration::from_secs(1), "b did not see the kill switch within 1 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(b.admit(waiaas_core::api::Op::SendTransaction).unwrap_err().code, ErrorCode::SYSTEM_LOCKED);
    a.stop_workers(tokio::time::Instant::now()).await;
    b.stop_workers(tokio::time::Instant::now()).await;
}
