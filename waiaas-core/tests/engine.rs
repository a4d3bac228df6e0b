#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test: a failed setup fails it")]
//! The engine as a Rust agent uses it: a real data dir, real SQLite, real keys.

use waiaas_core::config::Config;
use waiaas_core::sessions::CreateSession;
use waiaas_core::transactions::SignMessage;
use waiaas_core::wallets::CreateWallet;
use waiaas_core::{Engine, ErrorCode, SessionCtx};

async fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), Config::default(), "engine-test-password").await.unwrap();
    (dir, e)
}

fn wallet(name: &str, chain: &str) -> CreateWallet {
    CreateWallet { name: name.into(), chain: Some(chain.into()), create_session: Some(false), ..Default::default() }
}

/// A session of one wallet (keys are only reachable through an agent's gated request).
async fn agent(e: &Engine, wallet_id: &str) -> SessionCtx {
    let s = e.create_session(CreateSession { wallet_id: Some(wallet_id.into()), ..Default::default() }).await.unwrap();
    e.authenticate(&s.token).await.unwrap()
}

/// sign-message (personal) through the policy gate.
async fn sign_text(e: &Engine, ctx: &SessionCtx, wallet_id: &str, text: &str) -> waiaas_core::Result<String> {
    let req = SignMessage { message: Some(text.into()), wallet_id: Some(wallet_id.into()), ..Default::default() };
    Ok(e.sign_message(ctx, req).await?.signature)
}

#[tokio::test]
async fn only_active_wallets_sign_and_signatures_verify() {
    let (_d, e) = engine().await;
    let evm = e.create_wallet(wallet("evm", "ethereum")).await.unwrap().wallet;
    let sol = e.create_wallet(wallet("sol", "solana")).await.unwrap().wallet;
    let (evm_agent, sol_agent) = (agent(&e, &evm.id).await, agent(&e, &sol.id).await);

    // EVM: EIP-191 personal_sign recovers to the wallet address.
    let sig = sign_text(&e, &evm_agent, &evm.id, "hello agent").await.unwrap();
    let raw = hex::decode(sig.trim_start_matches("0x")).unwrap();
    assert_eq!(raw.len(), 65);
    let signature = k256::ecdsa::Signature::from_slice(&raw[..64]).unwrap();
    let recid = k256::ecdsa::RecoveryId::from_byte(raw[64] - 27).unwrap();
    let digest = alloy_primitives::eip191_hash_message(b"hello agent");
    let vk = k256::ecdsa::VerifyingKey::recover_from_prehash(digest.as_slice(), &signature, recid).unwrap();
    assert_eq!(waiaas_core::keystore::evm_address_of(&vk), evm.public_key);

    // Solana: ed25519 verifies against the base58 public key.
    let sig = sign_text(&e, &sol_agent, &sol.id, "hello agent").await.unwrap();
    let pk: [u8; 32] = bs58::decode(&sol.public_key).into_vec().unwrap().try_into().unwrap();
    let sig: [u8; 64] = bs58::decode(&sig).into_vec().unwrap().try_into().unwrap();
    use ed25519_dalek::Verifier;
    ed25519_dalek::VerifyingKey::from_bytes(&pk).unwrap().verify(b"hello agent", &ed25519_dalek::Signature::from_bytes(&sig)).unwrap();

    // Suspended: refused. Resumed: signs again. Terminated: refused for ever.
    e.suspend_wallet(&evm.id, Some("test")).await.unwrap();
    let err = sign_text(&e, &evm_agent, &evm.id, "x").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::WALLET_SUSPENDED);
    e.resume_wallet(&evm.id).await.unwrap();
    sign_text(&e, &evm_agent, &evm.id, "x").await.unwrap();
    e.terminate_wallet(&evm.id).await.unwrap();
    assert_eq!(sign_text(&e, &evm_agent, &evm.id, "x").await.unwrap_err().code, ErrorCode::WALLET_TERMINATED);
}

#[tokio::test]
async fn sessions_are_scoped_to_their_wallets() {
    let (_d, e) = engine().await;
    let a = e.create_wallet(wallet("a", "solana")).await.unwrap().wallet;
    let b = e.create_wallet(wallet("b", "solana")).await.unwrap().wallet;
    let s = e.create_session(CreateSession { wallet_ids: Some(vec![a.id.clone(), b.id.clone()]), ..Default::default() }).await.unwrap();
    let ctx = e.authenticate(&s.token).await.unwrap();
    assert_eq!(e.resolve_wallet(&ctx, None).await.unwrap_err().code, ErrorCode::WALLET_ID_REQUIRED);
    assert_eq!(e.resolve_wallet(&ctx, Some(&b.id)).await.unwrap().id, b.id);
    let single = e.create_session(CreateSession { wallet_id: Some(a.id.clone()), ..Default::default() }).await.unwrap();
    let ctx1 = e.authenticate(&single.token).await.unwrap();
    assert_eq!(e.resolve_wallet(&ctx1, None).await.unwrap().id, a.id);
    assert_eq!(e.resolve_wallet(&ctx1, Some(&b.id)).await.unwrap_err().code, ErrorCode::WALLET_ACCESS_DENIED);
    // Signing through a session is limited to its wallets too.
    assert_eq!(sign_text(&e, &ctx1, &b.id, "x").await.unwrap_err().code, ErrorCode::WALLET_ACCESS_DENIED);
}

#[tokio::test]
async fn reopening_checks_the_password_and_an_upstream_keystore_migrates() {
    let dir = tempfile::tempdir().unwrap();
    // An upstream data dir: its key files, no database yet.
    let vectors = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/upstream");
    let readme: serde_json::Value = serde_json::from_slice(&std::fs::read(format!("{vectors}/README.json")).unwrap()).unwrap();
    std::fs::create_dir_all(dir.path().join("keystore")).unwrap();
    for f in ["keystore-evm.json", "keystore-solana.json"] {
        let id = readme[f]["walletId"].as_str().unwrap();
        std::fs::copy(format!("{vectors}/{f}"), dir.path().join(format!("keystore/{id}.json"))).unwrap();
    }
    let err = Engine::open(dir.path(), Config::default(), "wrong-password").await.err().unwrap();
    assert_eq!(err.code, ErrorCode::INVALID_MASTER_PASSWORD);
    let pw = readme["password"].as_str().unwrap();
    drop(Engine::open(dir.path(), Config::default(), pw).await.unwrap());
    // The hash is now stored: a wrong password is refused without touching keys.
    assert_eq!(Engine::open(dir.path(), Config::default(), "wrong-password").await.err().unwrap().code, ErrorCode::INVALID_MASTER_PASSWORD);
    Engine::open(dir.path(), Config::default(), pw).await.unwrap();
}

#[tokio::test]
async fn metrics_count_gated_requests_and_only_the_token_reads_them() {
    use waiaas_core::metrics::Access;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.metrics.enabled = true;
    config.metrics.token = "scrape-t0k3n".into();
    let e = Engine::open(dir.path(), config, "engine-test-password").await.unwrap();
    assert_eq!(e.metrics_access(None), Access::Unauthorized);
    assert_eq!(e.metrics_access(Some("Bearer scrape-t0k3")), Access::Unauthorized);
    assert_eq!(e.metrics_access(Some("Bearer scrape-t0k3nX")), Access::Unauthorized);
    assert_eq!(e.metrics_access(Some("Basic scrape-t0k3n")), Access::Unauthorized);
    assert_eq!(e.metrics_access(Some("Bearer scrape-t0k3n")), Access::Allowed);

    let w = e.create_wallet(wallet("evm", "ethereum")).await.unwrap().wallet;
    let ctx = agent(&e, &w.id).await;
    sign_text(&e, &ctx, &w.id, "counted").await.unwrap();
    let m = e.metrics();
    assert_eq!(m.transactions.get(&["PENDING", "none"]), 1);
    assert_eq!(m.policy_decisions.get(&["allowed", "INSTANT"]), 1);
    assert_eq!(m.transactions.get(&["SIGNED", "INSTANT"]), 1);
    let text = e.render_metrics().await.unwrap();
    assert!(text.contains("waiaas_transactions_total{status=\"SIGNED\",tier=\"INSTANT\"} 1\n"), "{text}");
    assert!(text.contains("waiaas_queue_depth{tier=\"DELAY\"} 0\n"), "{text}");
    assert!(!text.contains(&w.id) && !text.contains(&w.public_key), "no ids or addresses in labels");

    let h = e.health().await;
    assert!(h.ready && h.live);
    assert_eq!((h.checks.store, h.checks.migrations, h.checks.kill_switch.as_str()), ("ok", "ok", "ACTIVE"));
    assert!(h.failed.is_empty());

    // Off by default: no scrape at all, whatever the header.
    let (_d2, off) = engine().await;
    assert_eq!(off.metrics_access(Some("Bearer scrape-t0k3n")), Access::Disabled);
}
