use super::*;
use crate::auth::owner::tests::personal_sign;
use crate::store::sqlite::SqliteStore;
use crate::store::SigningStore;

fn summary() -> TxSummary {
    TxSummary {
        tx_id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
        tx_type: "TRANSFER".into(),
        from: "0xAbCdEf1234567890aBcDeF1234567890AbCdEf12".into(),
        to: "0x1234567890123456789012345678901234567890".into(),
        amount: Some("1.5".into()),
        symbol: Some("ETH".into()),
        network: "ethereum-sepolia".into(),
    }
}

#[test]
fn the_message_is_upstreams_text_line_for_line() {
    let m = sign_message(&summary(), "0190ffff-0000-7000-8000-000000000001", "2026-12-07T00:00:00.000Z");
    assert_eq!(
        m,
        "WAIaaS Transaction Approval\n\nTransaction: 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\nType: TRANSFER\nFrom: 0xAbCdEf1234567890aBcDeF1234567890AbCdEf12\n\
         To: 0x1234567890123456789012345678901234567890\nAmount: 1.5 ETH\nNetwork: ethereum-sepolia\nPolicy Tier: APPROVAL\n\n\
         Approve this transaction by signing this message.\nTimestamp: 2026-12-07T00:00:00.000Z\nNonce: 0190ffff-0000-7000-8000-000000000001"
    );
    let no_amount = TxSummary { amount: None, symbol: None, ..summary() };
    assert!(!sign_message(&no_amount, "r", "t").contains("Amount:"), "the Amount line only with an amount");
    assert_eq!(display_message(&summary()), "TRANSFER 1.5 ETH from 0xAbCdEf12... to 0x12345678...");
}

fn request() -> SignRequest {
    let s = summary();
    SignRequest {
        version: "1".into(),
        request_id: "0190ffff-0000-7000-8000-000000000001".into(),
        caip2_chain_id: "eip155:11155111".into(),
        network_name: s.network.clone(),
        signer_address: "0x52908400098527886E0F7030069857D2E4169EE7".into(),
        message: sign_message(&s, "0190ffff-0000-7000-8000-000000000001", "2026-12-07T00:00:00.000Z"),
        display_message: display_message(&s),
        metadata: SignRequestMetadata {
            tx_id: s.tx_id.clone(),
            tx_type: s.tx_type.clone(),
            from: s.from.clone(),
            to: s.to.clone(),
            amount: s.amount.clone(),
            symbol: s.symbol.clone(),
            policy_tier: "APPROVAL".into(),
        },
        response_channel: json!({"type": "push_relay", "pushRelayUrl": "http://relay:3200", "requestId": "0190ffff-0000-7000-8000-000000000001"}),
        expires_at: "2026-12-07T00:30:00.000Z".into(),
    }
}

#[test]
fn the_push_payload_is_flat_strings_and_the_link_carries_the_request() {
    let req = request();
    let url = universal_link_url("https://link.dcentwallet.com/", "/waiaas/sign", &req);
    assert!(url.starts_with("https://link.dcentwallet.com/waiaas/sign?data="), "{url}");
    let data = url.split_once("?data=").unwrap().1;
    let decoded: SignRequest = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(data).unwrap()).unwrap();
    assert_eq!(decoded, req);
    let p = push_payload(&req, Some(url.clone()));
    assert!(p.values().all(Value::is_string), "D'CENT needs every value a string: {p:?}");
    assert_eq!(p["title"], "WAIaaS Sign Request");
    assert_eq!(p["body"], req.display_message.as_str());
    assert_eq!(p["message"], req.message.as_str());
    assert_eq!(p["universalLinkUrl"], url.as_str());
    let meta: Value = serde_json::from_str(p["metadata"].as_str().unwrap()).unwrap();
    assert_eq!(
        meta,
        json!({"txId": req.metadata.tx_id, "type": "TRANSFER", "from": req.metadata.from, "to": req.metadata.to, "amount": "1.5", "symbol": "ETH", "policyTier": "APPROVAL"})
    );
    let channel: Value = serde_json::from_str(p["responseChannel"].as_str().unwrap()).unwrap();
    assert_eq!(channel["type"], "push_relay");
    assert!(!push_payload(&req, None).contains_key("universalLinkUrl"));
}

#[test]
fn universal_links_come_from_the_settings_or_the_dcent_preset() {
    let app = |name: &str, ty: &str| app("a", name, ty);
    assert_eq!(universal_link("[]", &app("dcent", "dcent")), Some(("https://link.dcentwallet.com".into(), "/waiaas/sign".into())));
    assert_eq!(universal_link("[]", &app("other", "other")), None);
    let cfg = r#"[{"name":"other","displayName":"O","universalLink":{"base":"https://o.example","signPath":"/s"}}]"#;
    assert_eq!(universal_link(cfg, &app("mine", "other")), Some(("https://o.example".into(), "/s".into())));
}

fn evm_key(seed: u8) -> (k256::ecdsa::SigningKey, String) {
    let key = k256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
    let addr = alloy_primitives::Address::from_private_key(&key).to_checksum(None);
    (key, addr)
}

fn row(owner: &str, message: &str) -> SignRequestRecord {
    SignRequestRecord {
        request_id: "0190ffff-0000-7000-8000-000000000001".into(),
        tx_id: "tx-1".into(),
        wallet_id: "w-1".into(),
        channel: CHANNEL_PUSH.into(),
        app_id: Some("app".into()),
        relay_url: Some("http://relay".into()),
        message: message.into(),
        signer_address: owner.into(),
        caip2: "eip155:11155111".into(),
        expires_at: 2000,
        status: "PENDING".into(),
        error: None,
        created_at: 1000,
        resolved_at: None,
    }
}

fn answer(r: &SignRequestRecord, action: &str, signature: Option<String>, signer: &str) -> SignResponse {
    SignResponse {
        version: Some("1".into()),
        request_id: r.request_id.clone(),
        action: action.into(),
        signature,
        signer_address: signer.into(),
        signed_at: None,
    }
}

#[test]
fn an_answer_counts_only_from_the_owner_over_the_stored_message_unexpired_and_unused() {
    let (key, owner) = evm_key(7);
    let r = row(&owner, "WAIaaS Transaction Approval\n\nNonce: x");
    let sig = personal_sign(&key, &r.message);
    let code = |res: Result<bool>| res.unwrap_err().code;
    // The owner approves and rejects, in either spelling of the address.
    assert!(check_answer(&r, Chain::Ethereum, Some(&owner), &answer(&r, "approve", Some(sig.clone()), &owner), 1500).unwrap());
    assert!(!check_answer(&r, Chain::Ethereum, Some(&owner), &answer(&r, "reject", Some(sig.clone()), &owner.to_lowercase()), 1500).unwrap());
    // A reject needs the signature too (upstream took any reject).
    assert_eq!(code(check_answer(&r, Chain::Ethereum, Some(&owner), &answer(&r, "reject", None, &owner), 1500)), ErrorCode::INVALID_SIGNATURE);
    // Another key, naming itself or naming the owner.
    let (other, other_addr) = evm_key(8);
    let forged = personal_sign(&other, &r.message);
    assert_eq!(
        code(check_answer(&r, Chain::Ethereum, Some(&owner), &answer(&r, "approve", Some(forged.clone()), &other_addr), 1500)),
        ErrorCode::SIGNER_ADDRESS_MISMATCH
    );
    assert_eq!(code(check_answer(&r, Chain::Ethereum, Some(&owner), &answer(&r, "reject", Some(forged), &owner), 1500)), ErrorCode::INVALID_SIGNATURE);
    // The owner's signature of another text does not cover the stored message.
    let elsewhere = personal_sign(&key, "WAIaaS Transaction Approval\n\nNonce: y");
    assert_eq!(code(check_answer(&r, Chain::Ethereum, Some(&owner), &answer(&r, "approve", Some(elsewhere), &owner), 1500)), ErrorCode::INVALID_SIGNATURE);
    // Expired, used, unknown action, another request, no owner.
    assert_eq!(code(check_answer(&r, Chain::Ethereum, Some(&owner), &answer(&r, "approve", Some(sig.clone()), &owner), 2000)), ErrorCode::SIGN_REQUEST_EXPIRED);
    let used = SignRequestRecord { status: "APPROVED".into(), ..r.clone() };
    assert_eq!(
        code(check_answer(&used, Chain::Ethereum, Some(&owner), &answer(&r, "approve", Some(sig.clone()), &owner), 1500)),
        ErrorCode::SIGN_REQUEST_ALREADY_PROCESSED
    );
    assert_eq!(code(check_answer(&r, Chain::Ethereum, Some(&owner), &answer(&r, "maybe", Some(sig.clone()), &owner), 1500)), ErrorCode::INVALID_SIGN_RESPONSE);
    let mut elsewhere_req = answer(&r, "approve", Some(sig.clone()), &owner);
    elsewhere_req.request_id = "0190ffff-0000-7000-8000-000000000002".into();
    assert_eq!(code(check_answer(&r, Chain::Ethereum, Some(&owner), &elsewhere_req, 1500)), ErrorCode::INVALID_SIGN_RESPONSE);
    assert_eq!(code(check_answer(&r, Chain::Ethereum, None, &answer(&r, "approve", Some(sig.clone()), &owner), 1500)), ErrorCode::OWNER_NOT_CONNECTED);
    // The owner changed since the request was made: the request named the old one.
    let (_, new_owner) = evm_key(9);
    assert_eq!(code(check_answer(&r, Chain::Ethereum, Some(&new_owner), &answer(&r, "approve", Some(sig), &owner), 1500)), ErrorCode::SIGNER_ADDRESS_MISMATCH);
}

#[test]
fn solana_owners_sign_ed25519_in_base64_or_base58() {
    use ed25519_dalek::Signer;
    let key = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]);
    let owner = bs58::encode(key.verifying_key().to_bytes()).into_string();
    let r = row(&owner, "WAIaaS Transaction Approval\n\nNonce: s");
    let raw = key.sign(r.message.as_bytes()).to_bytes();
    let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
    let b58 = bs58::encode(raw).into_string();
    assert!(check_answer(&r, Chain::Solana, Some(&owner), &answer(&r, "approve", Some(b64), &owner), 1500).unwrap());
    assert!(!check_answer(&r, Chain::Solana, Some(&owner), &answer(&r, "reject", Some(b58), &owner), 1500).unwrap());
    let other = ed25519_dalek::SigningKey::from_bytes(&[6u8; 32]);
    let forged = base64::engine::general_purpose::STANDARD.encode(other.sign(r.message.as_bytes()).to_bytes());
    assert_eq!(
        check_answer(&r, Chain::Solana, Some(&owner), &answer(&r, "approve", Some(forged), &owner), 1500).unwrap_err().code,
        ErrorCode::INVALID_SIGNATURE
    );
}

fn app(id: &str, name: &str, ty: &str) -> WalletAppRecord {
    WalletAppRecord {
        id: id.into(),
        name: name.into(),
        display_name: name.into(),
        wallet_type: ty.into(),
        signing_enabled: true,
        alerts_enabled: false,
        sign_topic: None,
        notify_topic: None,
        subscription_token: None,
        push_relay_url: None,
        created_at: 1,
        updated_at: 1,
    }
}

#[tokio::test]
async fn one_signing_app_per_wallet_type_and_names_are_unique() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    assert!(store.insert_wallet_app(&app("a", "dcent", "dcent")).await.unwrap());
    assert!(!store.insert_wallet_app(&app("b", "dcent", "dcent")).await.unwrap(), "duplicate name");
    assert!(store.insert_wallet_app(&app("c", "dcent-2", "dcent")).await.unwrap());
    let signing = |apps: &[WalletAppRecord]| apps.iter().filter(|a| a.signing_enabled).map(|a| a.id.clone()).collect::<Vec<_>>();
    assert_eq!(signing(&store.list_wallet_apps().await.unwrap()), vec!["a"], "the second app of a type starts without signing");
    let mut c = store.get_wallet_app("c").await.unwrap().unwrap();
    c.signing_enabled = true;
    assert!(store.update_wallet_app(&c).await.unwrap());
    assert_eq!(signing(&store.list_wallet_apps().await.unwrap()), vec!["c"], "enabling one disables the other in the same transaction");
    assert!(store.delete_wallet_app("c").await.unwrap());
    assert!(!store.delete_wallet_app("c").await.unwrap());
}

#[tokio::test]
async fn a_sign_request_is_stored_once_per_transaction_and_resolved_once() {
    use crate::store::{TxStore, WalletStore};
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    let w = crate::store::sqlite::tests::wallet("w-1");
    store.insert_wallet(&w).await.unwrap();
    let tx = crate::store::tx::TxRecord {
        id: "tx-1".into(),
        wallet_id: "w-1".into(),
        chain: "ethereum".into(),
        network: "ethereum-sepolia".into(),
        status: TxStatus::Pending,
        request: "{}".into(),
        created_at: 1,
        updated_at: 1,
        ..Default::default()
    };
    store.insert_tx(&tx).await.unwrap();
    let r = row("0xowner", "m");
    assert_eq!(store.insert_sign_request(&r).await.unwrap(), None);
    let again = SignRequestRecord { request_id: "0190ffff-0000-7000-8000-000000000009".into(), ..r.clone() };
    assert_eq!(store.insert_sign_request(&again).await.unwrap(), Some(r.clone()), "the event came twice: the first request stands");
    assert_eq!(store.pending_sign_requests().await.unwrap(), vec![r.clone()]);
    // Single use: of two claims, one wins.
    let (a, b) = tokio::join!(
        store.resolve_sign_request(&r.request_id, "PENDING", "APPROVED", None, 5),
        store.resolve_sign_request(&r.request_id, "PENDING", "REJECTED", None, 5)
    );
    assert!(a.unwrap() ^ b.unwrap());
    assert!(store.pending_sign_requests().await.unwrap().is_empty());
    let done = store.get_sign_request(&r.request_id).await.unwrap().unwrap();
    assert_eq!(done.resolved_at, Some(5));
    assert!(!store.resolve_sign_request(&r.request_id, "PENDING", "EXPIRED", None, 6).await.unwrap());
}

fn test_request(signer: &str) -> SignRequest {
    let id = "0190ffff-0000-7000-8000-0000000000aa";
    SignRequest { request_id: id.into(), signer_address: signer.into(), message: apps::test_sign_message("D'CENT Wallet", id), ..request() }
}

fn test_answer(req: &SignRequest, signature: Option<String>, signer: &str) -> SignResponse {
    SignResponse {
        version: Some("1".into()),
        request_id: req.request_id.clone(),
        action: "approve".into(),
        signature,
        signer_address: signer.into(),
        signed_at: None,
    }
}

#[test]
fn a_test_answer_verifies_only_when_the_signer_signed_the_test_message() {
    use apps::verify_test_answer;
    let (key, owner) = evm_key(7);
    let req = test_request(&owner);
    assert!(req.message.starts_with("WAIaaS Test Sign Request for D'CENT Wallet\n"), "{}", req.message);
    assert!(req.message.ends_with(&format!("Nonce: {}", req.request_id)));
    let sig = personal_sign(&key, &req.message);
    assert_eq!(verify_test_answer(&req, true, &test_answer(&req, Some(sig.clone()), &owner.to_lowercase())), Ok(()));
    // Another key: naming itself (not the address asked) or naming the owner (no match).
    let (other, other_addr) = evm_key(8);
    let forged = personal_sign(&other, &req.message);
    assert!(verify_test_answer(&req, true, &test_answer(&req, Some(forged.clone()), &other_addr)).unwrap_err().contains("address asked"));
    assert!(verify_test_answer(&req, true, &test_answer(&req, Some(forged.clone()), &owner)).is_err());
    // No address asked (upstream's zero address): any signer's own signature verifies.
    let anyone = test_request("0x0000000000000000000000000000000000000000");
    let forged_any = personal_sign(&other, &anyone.message);
    assert_eq!(verify_test_answer(&anyone, false, &test_answer(&anyone, Some(forged_any), &other_addr)), Ok(()));
    // Another text, no signature, another request.
    let elsewhere = personal_sign(&key, "WAIaaS Test Sign Request for X");
    assert!(verify_test_answer(&req, true, &test_answer(&req, Some(elsewhere), &owner)).is_err());
    assert!(verify_test_answer(&req, true, &test_answer(&req, None, &owner)).unwrap_err().contains("no signature"));
    let mut other_req = test_answer(&req, Some(sig), &owner);
    other_req.request_id = "0190ffff-0000-7000-8000-0000000000bb".into();
    assert!(verify_test_answer(&req, true, &other_req).unwrap_err().contains("another request"));
    // Solana: Ed25519 in base64 or base58.
    use ed25519_dalek::Signer;
    let sk = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]);
    let sol = bs58::encode(sk.verifying_key().to_bytes()).into_string();
    let sreq = test_request(&sol);
    let raw = sk.sign(sreq.message.as_bytes()).to_bytes();
    let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
    assert_eq!(verify_test_answer(&sreq, true, &test_answer(&sreq, Some(b64), &sol)), Ok(()));
    assert_eq!(verify_test_answer(&sreq, true, &test_answer(&sreq, Some(bs58::encode(raw).into_string()), &sol)), Ok(()));
    let bad = ed25519_dalek::SigningKey::from_bytes(&[6u8; 32]).sign(sreq.message.as_bytes()).to_bytes();
    assert!(verify_test_answer(&sreq, true, &test_answer(&sreq, Some(bs58::encode(bad).into_string()), &sol)).is_err());
}
