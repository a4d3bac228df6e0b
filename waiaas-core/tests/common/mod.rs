//! What the engine's integration tests share.

use std::time::Duration;
use waiaas_core::transactions::TxView;
use waiaas_core::{Caller, Engine};

/// The transaction once it reaches `status` on `engine`; fails after `within` of real time.
pub async fn reaches_within(engine: &Engine, id: &str, status: &str, within: Duration) -> TxView {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let tx = engine.get_transaction(&Caller::Master, id).await.unwrap();
        if tx.status == status {
            return tx;
        }
        assert!(tokio::time::Instant::now() < deadline, "{id} stayed {} (error {:?}), expected {status}", tx.status, tx.error);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
