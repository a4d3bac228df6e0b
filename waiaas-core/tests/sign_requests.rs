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
use waiaas_core::signing_sdk::apps::{TestSignRequestBody, UpdateWalletApp};
use waiaas_core::signing_sdk::SignResponse;
use waiaas_core::wallets::CreateWallet;
use waiaas_core::{Caller, Engine, ErrorCode};

/// $2000 at 2000 USD/ETH: APPROVAL.
const LARGE: &str = "1000000000000000000";

async fn stand_in_relay() -> (String, Arc<Mutex<Vec<Value>>>) {
    // No answer is ever held here: every long poll gets 204 after a short wait.
    let (url, pushes, _answers) = answering_relay().await;
    (url, pushes)
}

fn sign(key: &k256::ecdsa::SigningKey, text: &str) -> String {
    let (sig, rec) = key.sign_prehash_recoverable(alloy_primitives::eip191_hash_message(text.as_bytes()).as_slice()).unwrap();
    format!("0x{}{:02x}", hex::encode(sig.to_bytes()), 27 + rec.to_byte())
}

/// An engine on a scripted chain with a wallet whose sends above 1 USD wait for the owner's
/// approval (up to 300 s), an agent session, and the owner's key (from `seed`).
struct Phone {
    _dir: tempfile::TempDir,
    engine: Engine,
    chain: Arc<ScriptedAdapter>,
    wallet: String,
    agent: waiaas_core::SessionCtx,
    key: k256::ecdsa::SigningKey,
    owner: String,
}

async fn phone(clock: Option<Arc<ManualClock>>, seed: u8) -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(ScriptedAdapter::new(waiaas_core::network::Network::parse("ethereum-sepolia").unwrap()));
    let factory = {
        let chain = chain.clone();
        move |_network| chain.clone() as Arc<dyn ChainAdapter>
    };
    let config = Config::from_toml("[oracle]\nenabled = false\n[prices]\neth = 2000\n", &[]).unwrap().config;
    let mut builder = Engine::builder(dir.path(), config).adapters(Arc::new(factory));
    if let Some(clock) = clock {
        builder = builder.clock(clock);
    }
    let engine = builder.open("sign-request-password").await.unwrap();
    let create = CreateWallet { name: "phone".into(), chain: Some("ethereum".into()), create_session: Some(false), ..Default::default() };
    let wallet = engine.create_wallet(create).await.unwrap().wallet.id;
    let rules = json!({"instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 1000, "delay_seconds": 60, "approval_timeout": 300});
    engine.create_policy(CreatePolicy { wallet_id: Some(wallet.clone()), policy_type: "SPENDING_LIMIT".into(), rules, ..Default::default() }).await.unwrap();
    let session = engine.create_session(CreateSession { wallet_id: Some(wallet.clone()), ..Default::default() }).await.unwrap();
    let agent = engine.authenticate(&session.token).await.unwrap();
    let key = k256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
    let owner = alloy_primitives::Address::from_private_key(&key).to_checksum(None);
    Phone { _dir: dir, engine, chain, wallet, agent, key, owner }
}

/// A send that needs the owner's approval, once it is QUEUED; its id.
async fn queued_send(engine: &Engine, agent: &waiaas_core::SessionCtx) -> String {
    let id = engine
        .send_transaction(agent, json!({"type": "TRANSFER", "to": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "amount": LARGE}), None)
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_is_used_once_even_when_two_arrive_together_and_not_after_expiry() {
    let clock = Arc::new(ManualClock::default());
    let Phone { _dir, engine, chain, wallet, agent, key, owner } = phone(Some(clock.clone()), 0x61).await;
    let (relay, pushes) = stand_in_relay().await;
    // Bad values store nothing.
    assert_eq!(engine.register_owner(&wallet, &owner, Some("fax"), None).await.unwrap_err().code, ErrorCode::ACTION_VALIDATION_FAILED);
    assert_eq!(engine.get_wallet(&Caller::Master, &wallet).await.unwrap().wallet.owner_address, None);
    let registered = engine.register_owner(&wallet, &owner, None, Some("dcent")).await.unwrap();
    assert_eq!((registered.approval_method.as_deref(), registered.warning), (Some("sdk_push"), None));
    let app = engine.list_wallet_apps().await.unwrap().apps.remove(0).app;
    let update = UpdateWalletApp { subscription_token: Some("sub-1".into()), push_relay_url: Some(relay.clone()), ..Default::default() };
    engine.update_wallet_app(&app.id, update).await.unwrap();

    let send = || queued_send(&engine, &agent);
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

/// A stand-in relay that hands back the answers the test puts in `answers` (by request id),
/// else 204 after a short wait.
async fn answering_relay() -> (String, Arc<Mutex<Vec<Value>>>, Arc<Mutex<std::collections::HashMap<String, Value>>>) {
    let pushes: Arc<Mutex<Vec<Value>>> = Default::default();
    let answers: Arc<Mutex<std::collections::HashMap<String, Value>>> = Default::default();
    let (seen, held) = (pushes.clone(), answers.clone());
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
            get(move |axum::extract::Path(id): axum::extract::Path<String>| {
                let held = held.clone();
                async move {
                    use axum::response::IntoResponse;
                    if let Some(a) = held.lock().unwrap().remove(&id) {
                        return Json(a).into_response();
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    axum::http::StatusCode::NO_CONTENT.into_response()
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, pushes, answers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_sign_request_is_answered_and_verified_and_decides_no_transaction() {
    // The real clock: the test request's wait runs on it.
    let Phone { _dir, engine, chain, wallet, agent, key, owner } = phone(None, 0x63).await;
    let (relay, pushes, answers) = answering_relay().await;
    engine.register_owner(&wallet, &owner, None, Some("dcent")).await.unwrap();
    let app = engine.list_wallet_apps().await.unwrap().apps.remove(0).app;
    let body = |timeout: u64| TestSignRequestBody { owner_address: Some(owner.clone()), timeout_seconds: Some(timeout) };
    // Without a device: a failure in the answer; bad input and unknown apps are errors.
    let r = engine.test_wallet_app_sign_request(&app.id, body(5)).await.unwrap();
    assert!(!r.success && r.error.is_some(), "{r:?}");
    assert_eq!(engine.test_wallet_app_sign_request(&app.id, body(0)).await.unwrap_err().code, ErrorCode::ACTION_VALIDATION_FAILED);
    assert_eq!(engine.test_wallet_app_sign_request("nope", body(5)).await.unwrap_err().code, ErrorCode::WALLET_APP_NOT_FOUND);
    let update = UpdateWalletApp { subscription_token: Some("sub-1".into()), push_relay_url: Some(relay.clone()), ..Default::default() };
    engine.update_wallet_app(&app.id, update).await.unwrap();

    // A transaction waits for the owner, with its own sign request.
    let tx = engine
        .send_transaction(&agent, json!({"type": "TRANSFER", "to": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "amount": LARGE}), None)
        .await
        .unwrap()
        .id;
    for _ in 0..500 {
        if engine.get_transaction(&Caller::Master, &tx).await.unwrap().status == "QUEUED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let tx_request = engine.request_owner_signature(&tx).await.unwrap().expect("a sign request");

    // The test request: the owner approves it, signed; the answer verifies.
    let phone = async {
        for _ in 0..200 {
            let push = pushes.lock().unwrap().iter().find(|p| p["payload"]["title"] == "WAIaaS Test Sign Request").cloned();
            if let Some(p) = push {
                let (id, message) = (p["payload"]["requestId"].as_str().unwrap().to_string(), p["payload"]["message"].as_str().unwrap().to_string());
                let answer = json!({"version": "1", "requestId": id, "action": "approve", "signature": sign(&key, &message), "signerAddress": owner});
                answers.lock().unwrap().insert(id.clone(), answer);
                return id;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no test push: {:?}", pushes.lock().unwrap());
    };
    let (r, test_id) = tokio::join!(engine.test_wallet_app_sign_request(&app.id, body(10)), phone);
    let r = r.unwrap();
    assert!(r.success, "{r:?}");
    let res = r.result.unwrap();
    assert_eq!((res.action.as_str(), res.verified, res.signer_address.as_str()), ("approve", true, owner.as_str()));
    assert_ne!(test_id, tx_request);
    // It decided nothing: the test id is no sign request, the transaction still waits and
    // its own request still takes the owner's answer.
    let replayed =
        SignResponse { version: None, request_id: test_id, action: "approve".into(), signature: res.signature, signer_address: owner.clone(), signed_at: None };
    assert_eq!(engine.answer_sign_request(&replayed).await.unwrap_err().code, ErrorCode::SIGN_REQUEST_NOT_FOUND);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(engine.get_transaction(&Caller::Master, &tx).await.unwrap().status, "QUEUED");
    assert_eq!(chain.broadcast_calls(), 0);
    let message =
        pushes.lock().unwrap().iter().find(|p| p["payload"]["requestId"] == tx_request.as_str()).unwrap()["payload"]["message"].as_str().unwrap().to_string();
    let real = SignResponse { request_id: tx_request, signature: Some(sign(&key, &message)), ..replayed };
    assert_eq!(engine.answer_sign_request(&real).await.unwrap().status, "APPROVED");

    // Nobody answers: a timeout after the wait asked.
    let started = std::time::Instant::now();
    let r = engine.test_wallet_app_sign_request(&app.id, body(1)).await.unwrap();
    assert_eq!((r.success, r.timeout), (false, Some(true)), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

/// `sdk_telegram`: the request the Telegram notification carries is stored once per
/// transaction (a redelivered notification shows the same one), has a universal link only
/// when the wallet's app has one, is never polled from a relay, and is answered like any
/// other (the owner's signature of the stored message).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sdk_telegram_request_is_stored_once_and_linked_only_through_a_wallet_app() {
    let Phone { _dir, engine, wallet, agent, key, owner, .. } = phone(None, 0x63).await;
    let registered = engine.register_owner(&wallet, &owner, Some("sdk_telegram"), None).await.unwrap();
    assert_eq!(registered.approval_method.as_deref(), Some("sdk_telegram"));
    let send = || queued_send(&engine, &agent);
    // No wallet app: no link, the request id is what the message shows.
    let tx = send().await;
    let req = engine.telegram_sign_request(&tx).await.unwrap().expect("a telegram sign request");
    assert_eq!(req.url, None);
    assert_eq!(engine.telegram_sign_request(&tx).await.unwrap(), Some(req.clone()), "the notification again: the same request");
    assert_eq!(engine.request_owner_signature(&tx).await.unwrap(), None, "not routed to the push relay");
    assert_eq!(engine.resume_sign_requests().await.unwrap(), 0, "nothing to poll for a Telegram request");
    let row = engine.store().get_sign_request(&req.request_id).await.unwrap().unwrap();
    assert_eq!((row.channel.as_str(), row.relay_url.clone()), ("sdk_telegram", None));
    let answer = SignResponse {
        version: Some("1".into()),
        request_id: req.request_id.clone(),
        action: "approve".into(),
        signature: Some(sign(&key, &row.message)),
        signer_address: owner.clone(),
        signed_at: None,
    };
    assert_eq!(engine.answer_sign_request(&answer).await.unwrap().status, "APPROVED");
    assert_eq!(engine.telegram_sign_request(&tx).await.unwrap(), None, "answered: nothing more to show");

    // With the D'CENT app (signing enabled, no relay needed): an Open in Wallet link carrying
    // the stored request.
    let create = waiaas_core::signing_sdk::apps::CreateWalletApp {
        name: "dcent".into(),
        display_name: "D'CENT Wallet".into(),
        wallet_type: Some("dcent".into()),
        ..Default::default()
    };
    engine.create_wallet_app(create).await.unwrap();
    let tx2 = send().await;
    let req2 = engine.telegram_sign_request(&tx2).await.unwrap().unwrap();
    let url = req2.url.clone().expect("a universal link");
    let data = url.strip_prefix("https://link.dcentwallet.com/waiaas/sign?data=").unwrap();
    use base64::Engine as _;
    let linked: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(data).unwrap()).unwrap();
    let row2 = engine.store().get_sign_request(&req2.request_id).await.unwrap().unwrap();
    assert_eq!((linked["requestId"].as_str(), linked["message"].as_str()), (Some(req2.request_id.as_str()), Some(row2.message.as_str())));
    assert_eq!(linked["responseChannel"]["type"], "telegram");
    assert_eq!(engine.telegram_sign_request(&tx2).await.unwrap().map(|r| r.url), Some(Some(url)), "the same link again");
}
