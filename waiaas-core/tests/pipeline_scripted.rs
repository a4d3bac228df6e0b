#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test: a failed setup fails it")]
//! The transaction pipeline's state machine on a scripted chain and a manual clock: every
//! transition (PENDING → EXECUTING → SUBMITTED → CONFIRMED, FAILED at each step, QUEUED →
//! EXECUTING / CANCELLED / EXPIRED), broadcast retries, a stale rebuild, DELAY and approval
//! timeouts without waiting for them, and recovery after a restart, in milliseconds. The real
//! chains (anvil, solana-test-validator) are the layer above, in `tests/`.

mod common;

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
    /// The wallet's address (the sender the scripted chain counts nonces for).
    address: String,
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
    let created = engine.create_wallet(create).await.unwrap().wallet;
    let (wallet, address) = (created.id, created.public_key);
    let rules = json!({"instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 1000, "delay_seconds": 60, "approval_timeout": 300});
    let policy = CreatePolicy { wallet_id: Some(wallet.clone()), policy_type: "SPENDING_LIMIT".into(), rules, ..Default::default() };
    engine.create_policy(policy).await.unwrap();
    let session = engine.create_session(CreateSession { wallet_id: Some(wallet.clone()), ..Default::default() }).await.unwrap();
    let agent = engine.authenticate(&session.token).await.unwrap();
    World { dir, clock, chain, engine, wallet, address, agent }
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

    /// A send whose three broadcast attempts met a refused connection: its signed bytes are
    /// kept, EXECUTING, for the background check. Its id and stored hash.
    async fn kept_after_three_refused_connections(&self) -> (String, String) {
        for _ in 0..3 {
            self.chain.push_broadcast_error(ChainError::transient("connection refused"));
        }
        let id = self.send(SMALL).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let (true, Some(hash)) = (self.chain.broadcast_calls() >= 3, self.tx(&id).await.tx_hash) {
                return (id, hash);
            }
            assert!(tokio::time::Instant::now() < deadline, "three broadcast attempts, the bytes stored");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The transaction once it reaches `status` on `engine` (fails after 5 s of real time).
async fn reaches(engine: &Engine, id: &str, status: &str) -> TxView {
    common::reaches_within(engine, id, status, Duration::from_secs(5)).await
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
    let (id, hash) = w.kept_after_three_refused_connections().await;
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

/// Waits (real time, at most 5 s) until `f` holds.
async fn until(what: &str, f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "waited 5 s for: {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A send whose broadcast hangs (the process is killed while its signed bytes are on the
/// way), then the "kill": the old engine's runner stays stuck in that broadcast forever and
/// never writes again, and a new engine opens the same data dir and scripted chain.
async fn killed_in_broadcast(w: World, lands: bool) -> (World, String, TxView) {
    if lands {
        w.chain.push_broadcast_hang_after_landing();
    } else {
        w.chain.push_broadcast_hang();
    }
    let id = w.send(SMALL).await;
    until("the broadcast started", || w.chain.broadcast_calls() == 1).await;
    let before = w.tx(&id).await;
    assert_eq!((before.status.as_str(), before.nonce), ("EXECUTING", Some(0)), "signed and stored before the broadcast");
    assert!(before.tx_hash.is_some());
    let World { dir, clock, chain, engine, wallet, address, agent } = w;
    assert_eq!(engine.stop_workers(tokio::time::Instant::now()).await, 1, "the runner is stuck in the broadcast");
    let engine = open(dir.path(), clock.clone(), chain.clone()).await;
    (World { dir, clock, chain, engine, wallet, address, agent }, id, before)
}

/// The interleaving of the crash-recovery failure (issue 15): a transaction signed and
/// stored with nonce 0 was killed before its bytes reached the node; after the restart a
/// new send took the nonce owner's lock before the recovery resumed the first one. The
/// chain's pending count and the committed nonces both said 0, so the new send got nonce 0
/// too, landed, and the recovered bytes were refused with `nonce too low` and FAILED. The
/// stored bytes hold their nonce: the new send gets 1, and both land, each once.
#[tokio::test]
async fn a_transaction_killed_before_its_broadcast_keeps_its_nonce_across_the_restart() {
    let (w, a, before) = killed_in_broadcast(world().await, false).await;
    assert!(w.chain.landed().is_empty(), "nothing reached the chain before the kill");
    // The restarted daemon takes a new send before it resumes the killed one.
    let b = w.send(SMALL).await;
    until("the new send is broadcast", || w.chain.broadcast_calls() == 2).await;
    let tx_b = w.tx(&b).await;
    assert_eq!(tx_b.nonce, Some(1), "the nonce held by the stored bytes is not handed out again");
    assert_eq!(w.engine.recover().await.unwrap(), 2);
    let tx_a = w.reaches(&a, "CONFIRMED").await;
    let tx_b = w.reaches(&b, "CONFIRMED").await;
    assert_eq!(tx_a.tx_hash, before.tx_hash, "the stored bytes landed, not a rebuilt transaction");
    assert_eq!(tx_a.nonce, Some(0));
    assert_eq!(w.chain.nonces_used(&w.address), vec![tx_a.tx_hash.unwrap(), tx_b.tx_hash.unwrap()], "nonce 0 then 1, each once");
    assert_eq!(w.chain.landed().len(), 2);
}

/// The other side of a refused re-broadcast: the stored bytes did not land and their nonce
/// was used by another transaction (here the key was used outside the daemon while it was
/// down). Those bytes can never land, so the transaction is rebuilt with a fresh nonce
/// from the chain and the store, and sent once; it is not FAILED.
#[tokio::test]
async fn stored_bytes_whose_nonce_was_used_meanwhile_are_rebuilt_with_a_fresh_nonce_not_failed() {
    let (w, a, before) = killed_in_broadcast(world().await, false).await;
    assert_eq!(w.chain.use_next_nonce_elsewhere(&w.address), 0);
    assert_eq!(w.engine.recover().await.unwrap(), 1);
    let tx = w.reaches(&a, "CONFIRMED").await;
    assert_eq!(tx.nonce, Some(1), "a fresh nonce");
    assert_ne!(tx.tx_hash, before.tx_hash, "rebuilt and signed again");
    let used = w.chain.nonces_used(&w.address);
    assert_eq!(used.len(), 2);
    assert_eq!(used[1], tx.tx_hash.clone().unwrap());
    assert!(!w.chain.landed().contains(&before.tx_hash.unwrap()), "the old bytes never landed");
    assert_eq!(w.chain.landed().len(), 2, "the foreign transaction and the rebuilt one: the amount moved once");
}

/// Bytes that reached the chain just before the kill, on a node that does not report them
/// at the first status check: re-sending them is refused as a used nonce, yet they are the
/// very bytes that used it, so the transaction is SUBMITTED and confirmed, not rebuilt.
#[tokio::test]
async fn bytes_that_landed_before_the_kill_are_confirmed_even_if_the_node_reports_them_late() {
    let (w, a, before) = killed_in_broadcast(world().await, true).await;
    assert_eq!(w.chain.landed(), vec![before.tx_hash.clone().unwrap()]);
    w.chain.push_status(Ok(TxStatus::NotFound));
    assert_eq!(w.engine.recover().await.unwrap(), 1);
    let tx = w.reaches(&a, "CONFIRMED").await;
    assert_eq!(tx.tx_hash, before.tx_hash);
    assert_eq!(w.chain.landed(), vec![before.tx_hash.unwrap()], "once");
    // A new send after it takes the next nonce.
    let b = w.send(SMALL).await;
    assert_eq!(w.reaches(&b, "CONFIRMED").await.nonce, Some(1));
}

/// Issue 15 item 2: transient node errors before the broadcast (the nonce, the build, the
/// simulation) are retried with backoff; the transaction goes through once the node answers.
#[tokio::test]
async fn transient_node_errors_before_the_broadcast_are_retried_not_failed() {
    let w = world().await;
    w.chain.push_nonce_error(ChainError::transient("all RPC endpoints failed for eth_getTransactionCount: connection refused"));
    w.chain.push_build_error(ChainError::transient("HTTP 503"));
    w.chain.push_simulation(Err(ChainError::transient("eth_call: request timed out")));
    let id = w.send(SMALL).await;
    let tx = w.reaches(&id, "CONFIRMED").await;
    // Built and simulated before the nonce is asked for (outside the nonce owner's lock):
    // the failed build, the failed simulation, the build before the failed nonce, the last.
    assert_eq!(w.chain.build_calls(), 4, "built again after the failed build, the failed simulation and the failed nonce");
    assert_eq!(w.chain.broadcast_calls(), 1);
    assert_eq!(w.chain.landed(), vec![tx.tx_hash.unwrap()]);
    assert_eq!(tx.nonce, Some(0));
}

/// A node that stays down before the broadcast: the transaction keeps retrying until
/// `[pipeline] transient_retry_sec` (120 s by default) has passed on the engine's clock,
/// then fails with a reason naming the network and the last error; nothing was signed or
/// sent.
#[tokio::test]
async fn a_node_down_before_the_broadcast_fails_the_transaction_only_at_the_retry_deadline() {
    let w = world().await;
    for _ in 0..1000 {
        w.chain.push_build_error(ChainError::transient("all RPC endpoints failed for eth_estimateGas: connection refused"));
    }
    let id = w.send(SMALL).await;
    until("a second build attempt", || w.chain.build_calls() >= 2).await;
    w.clock.advance(119);
    until("a third build attempt", || w.chain.build_calls() >= 3).await;
    let tx = w.tx(&id).await;
    assert_eq!((tx.status.as_str(), tx.error.as_deref()), ("EXECUTING", None), "one second before the deadline it still retries");
    w.clock.advance(1);
    let tx = w.reaches(&id, "FAILED").await;
    assert_eq!(tx.error_code.as_deref(), Some("CHAIN_ERROR"));
    let error = tx.error.unwrap();
    assert!(error.contains("ethereum-sepolia") && error.contains("nothing was signed or sent") && error.contains("connection refused"), "{error}");
    assert!(tx.tx_hash.is_none());
    assert_eq!(w.chain.broadcast_calls(), 0);
}

/// Issue 15 item 5: the nonce owner remembers the next nonce after a broadcast instead of
/// asking the node each time. When the wallet's key used that nonce outside the daemon
/// meanwhile, the refused bytes are rebuilt with a fresh nonce (asked of the node again),
/// never failed, and the amount moves once.
#[tokio::test]
async fn a_remembered_nonce_used_elsewhere_meanwhile_is_rebuilt_not_failed() {
    let w = world().await;
    let a = w.send(SMALL).await;
    assert_eq!(w.reaches(&a, "CONFIRMED").await.nonce, Some(0));
    assert_eq!(w.chain.use_next_nonce_elsewhere(&w.address), 1);
    let b = w.send(SMALL).await;
    let tx = w.reaches(&b, "CONFIRMED").await;
    assert_eq!(tx.nonce, Some(2), "a fresh nonce past the foreign one");
    let used = w.chain.nonces_used(&w.address);
    assert_eq!(used.len(), 3);
    assert_eq!(used[2], tx.tx_hash.unwrap());
    assert_eq!(w.chain.landed().len(), 3, "a, the foreign transaction and b: each once");
}

/// Concurrent sends of one wallet, built and simulated outside the nonce owner's lock, get
/// contiguous nonces 0..n-1, each landing once.
#[tokio::test]
async fn concurrent_sends_of_one_wallet_get_contiguous_nonces() {
    let w = world().await;
    let mut ids = vec![];
    for _ in 0..20 {
        ids.push(w.send(SMALL).await);
    }
    let mut nonces = vec![];
    for id in &ids {
        nonces.push(w.reaches(id, "CONFIRMED").await.nonce.unwrap());
    }
    nonces.sort();
    assert_eq!(nonces, (0..20).collect::<Vec<i64>>());
    assert_eq!(w.chain.nonces_used(&w.address).len(), 20);
    assert_eq!(w.chain.landed().len(), 20);
}

/// Issue 15 item 5: fresh sends waiting for the nonce owner are signed, stored and broadcast
/// as a batch. A broadcast the node refuses for good ends the batch there: that send FAILS,
/// the sends behind it (signed and stored, never broadcast) forget their bytes and are built
/// again, so the refused nonce is reused and no nonce is skipped.
#[tokio::test]
async fn a_refused_broadcast_inside_a_batch_leaves_no_nonce_gap() {
    let w = world().await;
    w.chain.push_broadcast_error(ChainError::permanent(ErrorCode::INSUFFICIENT_BALANCE, "insufficient funds for gas * price + value"));
    let mut ids = vec![];
    for _ in 0..20 {
        ids.push(w.send(SMALL).await);
    }
    let (mut failed, mut nonces) = (vec![], vec![]);
    for id in &ids {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let tx = loop {
            let tx = w.tx(id).await;
            if tx.status == "CONFIRMED" || tx.status == "FAILED" {
                break tx;
            }
            assert!(tokio::time::Instant::now() < deadline, "{id} stayed {}", tx.status);
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        match tx.status.as_str() {
            "FAILED" => failed.push(tx),
            _ => nonces.push(tx.nonce.unwrap()),
        }
    }
    assert_eq!(failed.len(), 1, "exactly the refused one fails: {:?}", failed.iter().map(|t| (t.error.clone(), t.nonce)).collect::<Vec<_>>());
    assert!(failed[0].error.as_deref().unwrap_or("").contains("insufficient funds"), "{:?}", failed[0].error);
    nonces.sort();
    assert_eq!(nonces, (0..19).collect::<Vec<i64>>(), "the refused nonce is reused, none skipped");
    assert_eq!(w.chain.nonces_used(&w.address).len(), 19);
    assert_eq!(w.chain.landed().len(), 19, "each of the others lands once");
}

/// Bytes kept after transient errors hold their nonce; a later send takes the next one and
/// waits behind them on the node. When the kept bytes are then refused for good, their send
/// fails and its nonce is filled by a 0-value transfer to the wallet itself, so the later
/// send lands instead of waiting forever.
#[tokio::test]
async fn kept_bytes_refused_for_good_below_a_later_nonce_fail_and_their_nonce_is_filled() {
    let w = world().await;
    let (first, _) = w.kept_after_three_refused_connections().await;
    let second = w.send(SMALL).await;
    until("the second broadcast", || w.chain.broadcast_calls() >= 4).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(w.tx(&second).await.status, "SUBMITTED", "held by the node behind the first's nonce");
    assert!(w.chain.landed().is_empty());
    // The background check sends the first's bytes again; the node refuses them for good.
    w.chain.push_broadcast_error(ChainError::permanent(ErrorCode::INVALID_TRANSACTION, "intrinsic gas too low"));
    w.engine.recover().await.unwrap();
    let failed = w.reaches(&first, "FAILED").await;
    assert!(failed.error.unwrap().contains("intrinsic gas too low"));
    let landed = w.reaches(&second, "CONFIRMED").await;
    let hashes = w.chain.landed();
    assert_eq!(hashes.len(), 2, "the filler and the second: {hashes:?}");
    assert_eq!(hashes[1], landed.tx_hash.unwrap());
    assert_ne!(Some(hashes[0].clone()), failed.tx_hash, "the first's bytes never landed");
}
