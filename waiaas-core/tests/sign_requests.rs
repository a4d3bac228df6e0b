#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test: a failed setup fails it")]
//! Sign requests at the engine, below the relay: the relay refuses a second answer for a
//! request (first write wins), so the daemon's own single-use claim is shown here, where
//! answers reach it directly. A local stand-in for the relay records pushes and answers
//! every long poll with 204 (the relay's protocol is exercised for real in the end-to-end
//! phone approvals); the chain is scripted and the clock manual.

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use waiaas_core::chain::scripted::ScriptedAdapter;
use waiaas_core::chain::ChainAdapter;
use waiaas_core::clock::ManualClock;
use waiaas_core::config::Config;
use waiaas_core::policies::CreatePolicy;
use waiaas_core::sessions::CreateSession;
use waiaas_core::signing_sdk::apps::UpdateWalletApp;
use waiaas_core::signing_sdk::SignResponse;
use waiaas_core::wallets::CreateWallet;
use waiaas_core::{Caller, Engine, ErrorCode};

/// $2000 at 2000 USD/ETH: APPROVAL.
const LARGE: &str = "1000000000000000000";

async fn stand_in_relay() -> (String, Arc<Mutex<Vec<Value>>>) {
    let pushes: Arc<Mutex<Vec<Value>>> = Default::default();
    let seen = pushes.clone();
    let app = Router::new()
        .route(
            "/v1/push",
            post(move |Json(body): Json<Value>| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(body);
                    Json(json!({"status": "sent", "sent": 1, "failed": 0}))
                }
            }),
        )
        .route(
            "/v1/sign-response/{id}",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                axum::http::StatusCode::NO_CONTENT
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, pushes)
}

fn sign(key: &k256::ecdsa::SigningKey, text: &str) -> String {
    let (sig, rec) = key.sign_prehash_recoverable(alloy_primitives::eip191_hash_message(text.as_bytes()).as_slice()).unwrap();
    format!("0x{}{:02x}", hex::encode(sig.to_bytes()), 27 + rec.to_byte())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_is_used_once_even_when_two_arrive_together_and_not_after_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::default());
    let chain = Arc::new(ScriptedAdapter::new(waiaas_core::network::Network::parse("ethereum-sepolia").unwrap()));
    let factory = {
        let chain = chain.clone();
        move |_network| chain.clone() as Arc<dyn ChainAdapter>
    };
    let config = Config::from_toml("[oracle]\nenabled = false\n[prices]\neth = 2000\n", &[]).unwrap().config;
    let engine = Engine::builder(dir.path(), config).clock(clock.clone()).adapters(Arc::new(factory)).open("sign-request-password").await.unwrap();
    let create = CreateWallet { name: "phone".into(), chain: Some("ethereum".into()), create_session: Some(false), ..Default::default() };
    let wallet = engine.create_wallet(create).await.unwrap().wallet.id;
    let rules = json!({"instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 1000, "delay_seconds": 60, "approval_timeout": 300});
    engine.create_policy(CreatePolicy { wallet_id: Some(wallet.clone()), policy_type: "SPENDING_LIMIT".into(), rules, ..Default::default() }).await.unwrap();
    let session = engine.create_session(CreateSession { wallet_id: Some(wallet.clone()), ..Default::default() }).await.unwrap();
    let agent = engine.authenticate(&session.token).await.unwrap();

    let key = k256::ecdsa::SigningKey::from_slice(&[0x61; 32]).unwrap();
    let owner = alloy_primitives::Address::from_private_key(&key).to_checksum(None);
    let (relay, pushes) = stand_in_relay().await;
    // Bad values store nothing.
    assert_eq!(engine.register_owner(&wallet, &owner, Some("fax"), None).await.unwrap_err().code, ErrorCode::ACTION_VALIDATION_FAILED);
    assert_eq!(engine.get_wallet(&Caller::Master, &wallet).await.unwrap().wallet.owner_address, None);
    let registered = engine.register_owner(&wallet, &owner, None, Some("dcent")).await.unwrap();
    assert_eq!((registered.approval_method.as_deref(), registered.warning), (Some("sdk_push"), None));
    let app = engine.list_wallet_apps().await.unwrap().apps.remove(0).app;
    let update = UpdateWalletApp { subscription_token: Some("sub-1".into()), push_relay_url: Some(relay.clone()), ..Default::default() };
    engine.update_wallet_app(&app.id, update).await.unwrap();

    let send = || async {
        let id = engine
            .send_transaction(&agent, json!({"type": "TRANSFER", "to": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "amount": LARGE}), None)
            .await
            .unwrap()
            .id;
        for _ in 0..500 {
            if engine.get_transaction(&Caller::Master, &id).await.unwrap().status == "QUEUED" {
                return id;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{id} never queued");
    };
    let tx = send().await;
    let request = engine.request_owner_signature(&tx).await.unwrap().expect("a sign request");
    assert_eq!(engine.request_owner_signature(&tx).await.unwrap(), Some(request.clone()), "the event again: the same request");
    assert_eq!(pushes.lock().unwrap().len(), 1, "pushed once");
    let payload = pushes.lock().unwrap()[0]["payload"].clone();
    let message = payload["message"].as_str().unwrap().to_string();
    let answer = |action: &str, signature: String| SignResponse {
        version: Some("1".into()),
        request_id: request.clone(),
        action: action.into(),
        signature: Some(signature),
        signer_address: owner.clone(),
        signed_at: None,
    };
    // Another key: refused, the request stays usable.
    let other = k256::ecdsa::SigningKey::from_slice(&[0x62; 32]).unwrap();
    assert_eq!(engine.answer_sign_request(&answer("approve", sign(&other, &message))).await.unwrap_err().code, ErrorCode::INVALID_SIGNATURE);
    // Approve and reject at once: one wins, the other is refused.
    let (a, b) = (answer("approve", sign(&key, &message)), answer("reject", sign(&key, &message)));
    let (ra, rb) = tokio::join!(engine.answer_sign_request(&a), engine.answer_sign_request(&b));
    assert!(ra.is_ok() ^ rb.is_ok(), "{ra:?} {rb:?}");
    let approved = ra.is_ok();
    let loser = if approved { rb.unwrap_err() } else { ra.unwrap_err() };
    assert_eq!(loser.code, ErrorCode::SIGN_REQUEST_ALREADY_PROCESSED);
    // And a replay later.
    assert_eq!(engine.answer_sign_request(&a).await.unwrap_err().code, ErrorCode::SIGN_REQUEST_ALREADY_PROCESSED);
    let final_status = if approved { "CONFIRMED" } else { "CANCELLED" };
    for _ in 0..1000 {
        if engine.get_transaction(&Caller::Master, &tx).await.unwrap().status == final_status {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(engine.get_transaction(&Caller::Master, &tx).await.unwrap().status, final_status);
    assert_eq!(chain.broadcast_calls(), usize::from(approved), "money moved at most once");

    // Expired: the answer counts for nothing, the transaction is left to its own expiry.
    let tx2 = send().await;
    let request2 = engine.request_owner_signature(&tx2).await.unwrap().unwrap();
    let message2 = pushes.lock().unwrap()[1]["payload"]["message"].as_str().unwrap().to_string();
    clock.advance(301);
    let late = SignResponse { request_id: request2, ..answer("approve", sign(&key, &message2)) };
    assert_eq!(engine.answer_sign_request(&late).await.unwrap_err().code, ErrorCode::SIGN_REQUEST_EXPIRED);
    assert_eq!(engine.get_transaction(&Caller::Master, &tx2).await.unwrap().status, "QUEUED");
}
