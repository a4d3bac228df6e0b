//! Sends through the daemon's HTTP API against a real solana-test-validator posing as
//! solana-devnet. Balances are read back from the node. (SPL / Token-2022 transfers,
//! approvals and failing programs are covered against the same validator at the adapter
//! level, waiaas-core/tests/solana_validator.rs.)

use serde_json::{json, Value};
use std::time::Duration;
use waiaas_e2e::solana::{lamports, node};
use waiaas_e2e::*;

async fn wait_final(api: &Api, auth: &Auth, id: &str) -> Value {
    api.wait_tx(auth, id, NOT_FINAL, Duration::from_secs(60)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solana_transfers_and_batches_confirm_with_exact_amounts() {
    let url = node().url.clone();
    // Priced (cheaply, so 900 SOL stays under the default INSTANT threshold): unpriced value waits.
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_SOLANA_DEVNET", &url).env("WAIAAS_PRICES_SOL", "0.01"));
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "sol", "chain": "solana", "environment": "testnet"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    assert_eq!(w.body["network"], "solana-devnet");
    let addr = w.body["publicKey"].as_str().unwrap().to_string();
    let token = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    tokio::task::block_in_place(|| node().airdrop(&addr, 5_000_000_000));

    // Fresh recipients (random keys: nobody else touches them).
    let r1 = bs58::encode(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng).verifying_key().to_bytes()).into_string();
    let r2 = bs58::encode(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng).verifying_key().to_bytes()).into_string();

    let s = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": r1, "humanAmount": "0.25"}))).await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    let tx = wait_final(&api, &token, s.body["id"].as_str().unwrap()).await;
    assert_eq!(tx["status"], "CONFIRMED", "{tx}");
    assert_eq!(lamports(&r1), 250_000_000);
    assert_eq!(tx["amountFormatted"], "0.25");
    assert_eq!(tx["amountSymbol"], "SOL");

    // A batch of two transfers lands as one transaction.
    let s = api
        .call(
            "POST",
            "/v1/transactions/send",
            &token,
            Some(json!({"type": "BATCH", "instructions": [
                {"to": r1, "amount": "1000000"}, {"to": r2, "amount": "3000000"}
            ]})),
        )
        .await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    let tx = wait_final(&api, &token, s.body["id"].as_str().unwrap()).await;
    assert_eq!(tx["status"], "CONFIRMED", "{tx}");
    assert_eq!(lamports(&r1), 251_000_000);
    assert_eq!(lamports(&r2), 3_000_000);

    // The balance route matches the node.
    let b = api.call("GET", "/v1/wallet/balance", &token, None).await;
    assert_eq!(b.body["balance"].as_str().unwrap().parse::<u64>().unwrap(), lamports(&addr));
    assert_eq!(b.body["symbol"], "SOL");

    // sign-message: ed25519 over the bytes, verified against the wallet key.
    let m = api.call("POST", "/v1/transactions/sign-message", &token, Some(json!({"message": "hello solana"}))).await;
    assert_eq!(m.status, 200, "{:?}", m.body);
    let sig: [u8; 64] = bs58::decode(m.body["signature"].as_str().unwrap()).into_vec().unwrap().try_into().unwrap();
    let pk: [u8; 32] = bs58::decode(&addr).into_vec().unwrap().try_into().unwrap();
    use ed25519_dalek::Verifier;
    ed25519_dalek::VerifyingKey::from_bytes(&pk).unwrap().verify(b"hello solana", &ed25519_dalek::Signature::from_bytes(&sig)).unwrap();

    // More than the wallet holds: refused before anything is broadcast.
    let s = api.call("POST", "/v1/transactions/send", &token, Some(json!({"type": "TRANSFER", "to": r2, "amount": "900000000000"}))).await;
    let tx = wait_final(&api, &token, s.body["id"].as_str().unwrap()).await;
    assert_eq!(tx["status"], "FAILED", "{tx}");
    assert!(tx["txHash"].is_null(), "{tx}");
    assert_eq!(lamports(&r2), 3_000_000);
}
