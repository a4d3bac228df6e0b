//! An x402 payment's row belongs to the fetch that made it: no pipeline runner (the queue, the
//! re-check, a start-up) drives it while the fetch holds it, and one left behind by a stopped
//! process is ended, never executed as if it were a send.

use crate::chain::scripted::ScriptedAdapter;
use crate::chain::ChainAdapter;
use crate::clock::ManualClock;
use crate::config::Config;
use crate::engine::Engine;
use crate::network::Network;
use crate::store::tx::{TxRecord, TxStatus, TxType};
use crate::wallets::CreateWallet;
use std::sync::Arc;
use std::time::Duration;

async fn engine(dir: &std::path::Path) -> (Engine, String) {
    let config = Config::from_toml("[oracle]\nenabled = false\n[prices]\neth = 2000\n", &[]).unwrap().config;
    let chain = Arc::new(ScriptedAdapter::new(Network::parse("ethereum-sepolia").unwrap()));
    let factory = move |_network| chain.clone() as Arc<dyn ChainAdapter>;
    let engine = Engine::builder(dir, config).clock(Arc::new(ManualClock::default())).adapters(Arc::new(factory)).open("x402-test-password").await.unwrap();
    let create = CreateWallet { name: "x402".into(), chain: Some("ethereum".into()), create_session: Some(false), ..Default::default() };
    let wallet = engine.create_wallet(create).await.unwrap().wallet.id;
    (engine, wallet)
}

async fn row(engine: &Engine, wallet: &str, status: TxStatus, signed: bool, metadata: Option<&str>) -> String {
    let now = engine.now();
    let rec = TxRecord {
        id: crate::new_id(),
        wallet_id: wallet.into(),
        chain: "ethereum".into(),
        network: "ethereum-sepolia".into(),
        tx_type: TxType::X402Payment,
        status,
        tier: Some("INSTANT".into()),
        request: "{}".into(),
        amount: Some("10000".into()),
        amount_usd: Some(0.01),
        reserved_usd: Some(0.01),
        signed_tx: signed.then(|| b"PAYMENT-SIGNATURE header".to_vec()),
        metadata: metadata.map(str::to_string),
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    engine.inner.store.insert_tx(&rec).await.unwrap();
    rec.id
}

async fn get(engine: &Engine, id: &str) -> TxRecord {
    engine.inner.store.get_tx(id).await.unwrap().unwrap()
}

/// The row once it left `status` (fails after 5 s).
async fn left(engine: &Engine, id: &str, status: TxStatus) -> TxRecord {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let t = get(engine, id).await;
        if t.status() != status {
            return t;
        }
        assert!(tokio::time::Instant::now() < deadline, "{id} stayed {status}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn rows_left_by_a_stopped_fetch_are_ended_and_a_signed_one_keeps_its_reservation() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, wallet) = engine(dir.path()).await;
    let pending = row(&engine, &wallet, TxStatus::Pending, false, None).await;
    let unsigned = row(&engine, &wallet, TxStatus::Executing, false, None).await;
    let signed = row(&engine, &wallet, TxStatus::Executing, true, None).await;
    let due = format!("{{\"delaySeconds\": 60, \"executeAfter\": {}}}", engine.now() - 1);
    let queued = row(&engine, &wallet, TxStatus::Queued, false, Some(&due)).await;
    // One a live fetch holds: untouched.
    let held_id = row(&engine, &wallet, TxStatus::Executing, true, None).await;
    let held = engine.claim(&held_id).await.unwrap().unwrap();
    assert!(engine.claim(&held_id).await.unwrap().is_none(), "a held row cannot be claimed twice");

    engine.recover().await.unwrap();
    assert_eq!(engine.process_queue().await.unwrap(), 0, "an x402 DELAY is never executed by the queue");
    for (id, was) in [(&pending, TxStatus::Pending), (&unsigned, TxStatus::Executing)] {
        let t = left(&engine, id, was).await;
        assert_eq!((t.status(), t.reserved_usd.unwrap_or_default()), (TxStatus::Cancelled, 0.0), "{id}: {t:?}");
    }
    let t = left(&engine, &signed, TxStatus::Executing).await;
    assert_eq!(t.status(), TxStatus::Failed);
    assert_eq!(t.reserved_usd, Some(0.01), "the server may still settle it: the reservation stays");
    assert!(t.error.unwrap().contains("may still settle"));
    let t = get(&engine, &queued).await;
    assert_eq!((t.status(), t.reserved_usd.unwrap_or_default()), (TxStatus::Cancelled, 0.0), "{t:?}");

    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(get(&engine, &held_id).await.status(), TxStatus::Executing, "the live fetch's row was left alone");
    drop(held);
    assert!(engine.claim(&held_id).await.unwrap().is_some(), "released with its claim");
}
