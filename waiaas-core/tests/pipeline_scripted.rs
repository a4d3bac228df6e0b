#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test: a failed setup fails it")]
//! The transaction pipeline's state machine on a scripted chain and a manual clock: every
//! transition (PENDING → EXECUTING → SUBMITTED → CONFIRMED, FAILED at each step, QUEUED →
//! EXECUTING / CANCELLED / EXPIRED), broadcast retries, a stale rebuild, DELAY and approval
//! timeouts without waiting for them, and recovery after a restart, in milliseconds. The real
//! chains (anvil, solana-test-validator) are the layer above, in `tests/`.

use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use waiaas_core::chain::scripted::ScriptedAdapter;
use waiaas_core::chain::{ChainAdapter, ChainError, Simulation, TxStatus};
use waiaas_core::clock::ManualClock;
use waiaas_core::config::Config;
use waiaas_core::policies::CreatePolicy;
use waiaas_core::sessions::CreateSession;
use waiaas_core::transactions::TxView;
use waiaas_core::wallets::CreateWallet;
use waiaas_core::{Caller, Engine, ErrorCode, SessionCtx};

const PASSWORD: &str = "scripted-pipeline-password";
const TO: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
/// $0.000002 at 2000 USD/ETH: INSTANT under a $1 instant limit.
const SMALL: &str = "1000000000000";
/// $10: DELAY (between the $1 notify and the $1000 delay limits).
const DELAYED: &str = "5000000000000000";
/// $2000: APPROVAL (over the $1000 delay limit).
const LARGE: &str = "1000000000000000000";

struct World {
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    chain: Arc<ScriptedAdapter>,
    engine: Engine,
    wallet: String,
    agent: SessionCtx,
}

fn config() -> Config {
    Config::from_toml("[oracle]\nenabled = false\n[prices]\neth = 2000\n[security]\ndelay_grace_after_start_sec = 30\n", &[]).unwrap().config
}

async fn open(dir: &std::path::Path, clock: Arc<ManualClock>, chain: Arc<ScriptedAdapter>) -> Engine {
    let factory = move |_network| chain.clone() as Arc<dyn ChainAdapter>;
    Engine::builder(dir, config()).clock(clock).adapters(Arc::new(factory)).open(PASSWORD).await.unwrap()
}

/// An EVM wallet with a spending limit ($1 instant, $1000 delay, 60 s delay, 300 s approval
/// window) and an agent session, on a scripted Sepolia.
async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::default());
    let chain = Arc::new(ScriptedAdapter::new(waiaas_core::network::Network::parse("ethereum-sepolia").unwrap()));
    let engine = open(dir.path(), clock.clone(), chain.clone()).await;
    let create = CreateWallet { name: "scripted".into(), chain: Some("ethereum".into()), create_session: Some(false), ..Default::default() };
    let wallet = engine.create_wallet(create).await.unwrap().wallet.id;
    let rules = json!({"instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 1000, "delay_seconds": 60, "approval_timeout": 300});
    let policy = CreatePolicy { wallet_id: Some(wallet.clone()), policy_type: "SPENDING_LIMIT".into(), rules, ..Default::default() };
    engine.create_policy(policy).await.unwrap();
    let session = engine.create_session(CreateSession { wallet_id: Some(wallet.clone()), ..Default::default() }).await.unwrap();
    let agent = engine.authenticate(&session.token).await.unwrap();
    World { dir, clock, chain, engine, wallet, agent }
}

impl World {
    async fn send(&self, amount: &str) -> String {
        let body = json!({"type": "TRANSFER", "to": TO, "amount": amount});
        self.engine.send_transaction(&self.agent, body, None).await.unwrap().id
    }

    async fn tx(&self, id: &str) -> TxView {
        self.engine.get_transaction(&Caller::Master, id).await.unwrap()
    }

    async fn reaches(&self, id: &str, status: &str) -> TxView {
        reaches(&self.engine, id, status).await
    }
}

/// The transaction once it reaches `status` on `engine` (fails after 5 s of real time).
async fn reaches(engine: &Engine, id: &str, status: &str) -> TxView {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let tx = engine.get_transaction(&Caller::Master, id).await.unwrap();
        if tx.status == status {
            return tx;
        }
        assert!(tokio::time::Instant::now() < deadline, "{id} stayed {} (error {:?}), expected {status}", tx.status, tx.error);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn an_instant_send_is_signed_broadcast_once_and_confirmed() {
    let w = world().await;
    let id = w.send(SMALL).await;
    let tx = w.reaches(&id, "CONFIRMED").await;
    assert_eq!(tx.tier.as_deref(), Some("INSTANT"));
    assert_eq!(w.chain.landed(), vec![tx.tx_hash.clone().unwrap()]);
    assert_eq!(w.chain.broadcast_calls(), 1);
}

#[tokio::test]
async fn transient_broadcast_errors_are_retried_with_the_same_bytes() {
    let w = world().await;
    w.chain.push_broadcast_error(ChainError::transient("connection reset"));
    w.chain.push_broadcast_error(ChainError::transient("503 from the node"));
    let id = w.send(SMALL).await;
    let tx = w.reaches(&id, "CONFIRMED").await;
    assert_eq!(w.chain.broadcast_calls(), 3);
    assert_eq!(w.chain.landed(), vec![tx.tx_hash.unwrap()]);
}

#[tokio::test]
async fn a_refused_broadcast_fails_and_nothing_lands() {
    let w = world().await;
    w.chain.push_broadcast_error(ChainError::permanent(ErrorCode::INSUFFICIENT_BALANCE, "insufficient funds for gas"));
    let id = w.send(SMALL).await;
    let tx = w.reaches(&id, "FAILED").await;
    assert!(tx.error.unwrap().contains("insufficient funds"));
    assert!(w.chain.landed().is_empty());
}

#[tokio::test]
async fn a_failed_simulation_fails_before_anything_is_signed_or_sent() {
    let w = world().await;
    w.chain.push_simulation(Ok(Simulation { success: false, error: Some("execution reverted".into()), ..Default::default() }));
    let id = w.send(SMALL).await;
    let tx = w.reaches(&id, "FAILED").await;
    assert!(tx.error.unwrap().contains("execution reverted"));
    assert!(tx.tx_hash.is_none());
    assert_eq!(w.chain.broadcast_calls(), 0);
}

#[tokio::test]
async fn a_transaction_reverted_on_chain_ends_failed() {
    let w = world().await;
    w.chain.push_status(Ok(TxStatus::Failed { reason: "out of gas".into() }));
    let id = w.send(SMALL).await;
    let tx = w.reaches(&id, "FAILED").await;
    assert!(tx.error.unwrap().contains("out of gas"));
    assert_eq!(w.chain.landed().len(), 1);
}

#[tokio::test]
async fn a_stale_transaction_is_rebuilt_once_with_a_fresh_nonce() {
    let w = world().await;
    w.chain.push_broadcast_error(ChainError::stale("nonce too low"));
    let id = w.send(SMALL).await;
    let tx = w.reaches(&id, "CONFIRMED").await;
    assert_eq!(w.chain.broadcast_calls(), 2);
    assert_eq!(w.chain.landed(), vec![tx.tx_hash.unwrap()], "only the rebuilt bytes landed");
}

#[tokio::test]
async fn a_delay_executes_only_once_the_clock_has_passed_it() {
    let w = world().await;
    let id = w.send(DELAYED).await;
    let tx = w.reaches(&id, "QUEUED").await;
    assert_eq!(tx.tier.as_deref(), Some("DELAY"));
    assert_eq!(w.engine.process_queue().await.unwrap(), 0, "the delay has not passed");
    w.clock.advance(59);
    assert_eq!(w.engine.process_queue().await.unwrap(), 0, "one second left");
    w.clock.advance(1);
    assert_eq!(w.engine.process_queue().await.unwrap(), 1);
    w.reaches(&id, "CONFIRMED").await;
    assert_eq!(w.chain.landed().len(), 1);
}

#[tokio::test]
async fn a_cancelled_delay_never_executes() {
    let w = world().await;
    let id = w.send(DELAYED).await;
    w.reaches(&id, "QUEUED").await;
    w.engine.cancel_transaction(&Caller::Session(&w.agent), &id).await.unwrap();
    w.clock.advance(3600);
    assert_eq!(w.engine.process_queue().await.unwrap(), 0);
    assert_eq!(w.tx(&id).await.status, "CANCELLED");
    assert_eq!(w.chain.broadcast_calls(), 0);
    // Cancelling twice is refused and changes nothing.
    let again = w.engine.cancel_transaction(&Caller::Session(&w.agent), &id).await.unwrap_err();
    assert_eq!(again.code, ErrorCode::TX_ALREADY_PROCESSED);
}

#[tokio::test]
async fn an_unapproved_transaction_expires_when_its_window_closes() {
    let w = world().await;
    w.engine.set_owner(&w.wallet, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8").await.unwrap();
    let id = w.send(LARGE).await;
    let tx = w.reaches(&id, "QUEUED").await;
    assert_eq!(tx.tier.as_deref(), Some("APPROVAL"));
    w.clock.advance(299);
    assert_eq!(w.engine.process_queue().await.unwrap(), 0);
    w.clock.advance(1);
    assert_eq!(w.engine.process_queue().await.unwrap(), 1);
    let tx = w.tx(&id).await;
    assert_eq!(tx.status, "EXPIRED");
    assert_eq!(w.chain.broadcast_calls(), 0);
}

#[tokio::test]
async fn bytes_that_landed_before_a_crash_are_confirmed_after_restart_not_sent_again() {
    let w = world().await;
    // The node took the transaction but its answer was lost, then the node went away: the
    // pipeline keeps the signed bytes, EXECUTING, for the background check.
    w.chain.push_broadcast_lost_answer(ChainError::transient("timeout"));
    w.chain.push_broadcast_error(ChainError::transient("connection refused"));
    w.chain.push_broadcast_error(ChainError::transient("timeout"));
    let id = w.send(SMALL).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while w.chain.broadcast_calls() < 3 {
        assert!(tokio::time::Instant::now() < deadline, "three broadcast attempts");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let tx = w.tx(&id).await;
    assert_eq!(tx.status, "EXECUTING", "kept for a retry with the same bytes");
    let hash = tx.tx_hash.clone().unwrap();
    // The restart: a new engine on the same data dir and chain recovers it.
    let World { dir, clock, chain, engine, .. } = w;
    engine.stop_workers(tokio::time::Instant::now()).await;
    drop(engine);
    let engine = open(dir.path(), clock.clone(), chain.clone()).await;
    assert_eq!(engine.recover().await.unwrap(), 1);
    reaches(&engine, &id, "CONFIRMED").await;
    assert_eq!(chain.landed(), vec![hash], "the same bytes, once");
    assert_eq!(chain.broadcast_calls(), 3, "the chain was asked first: no fourth broadcast");
}

#[tokio::test]
async fn bytes_that_never_reached_the_chain_are_sent_again_after_restart() {
    let w = world().await;
    for _ in 0..3 {
        w.chain.push_broadcast_error(ChainError::transient("connection refused"));
    }
    let id = w.send(SMALL).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while w.chain.broadcast_calls() < 3 || w.tx(&id).await.tx_hash.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "three broadcast attempts");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let hash = w.tx(&id).await.tx_hash.unwrap();
    let World { dir, clock, chain, engine, .. } = w;
    engine.stop_workers(tokio::time::Instant::now()).await;
    drop(engine);
    let engine = open(dir.path(), clock.clone(), chain.clone()).await;
    engine.recover().await.unwrap();
    reaches(&engine, &id, "CONFIRMED").await;
    assert_eq!(chain.landed(), vec![hash], "the stored bytes, not a rebuilt transaction");
    assert_eq!(chain.broadcast_calls(), 4);
}

#[tokio::test]
async fn a_delay_that_ran_out_while_down_gets_the_start_up_grace() {
    let w = world().await;
    let id = w.send(DELAYED).await;
    w.reaches(&id, "QUEUED").await;
    let World { dir, clock, chain, engine, .. } = w;
    drop(engine);
    // Down for an hour: the delay ran out meanwhile.
    clock.advance(3600);
    let engine = open(dir.path(), clock.clone(), chain.clone()).await;
    engine.recover().await.unwrap();
    assert_eq!(engine.process_queue().await.unwrap(), 0, "not at once: the owner gets the grace to cancel");
    clock.advance(30);
    assert_eq!(engine.process_queue().await.unwrap(), 1);
    reaches(&engine, &id, "CONFIRMED").await;
    assert_eq!(chain.landed().len(), 1);
}
