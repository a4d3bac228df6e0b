use super::*;
use alloy_primitives::{address, Address, B256, U256};
use alloy_sol_types::{eip712_domain, sol, SolStruct};

const TOKEN: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const PAYEE: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const PAYER: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

fn offer(network: &str, amount: &str) -> Value {
    json!({"scheme": "exact", "network": network, "amount": amount, "asset": TOKEN, "payTo": PAYEE,
           "maxTimeoutSeconds": 60, "extra": {"name": "USD Coin", "version": "2"}})
}

fn required(accepts: Vec<Value>) -> Value {
    json!({"x402Version": 2, "error": "Payment required", "resource": {"url": "https://api.example.com/paid"}, "accepts": accepts})
}

#[test]
fn the_header_wins_over_the_body_and_only_version_2_is_spoken() {
    let header = base64::engine::general_purpose::STANDARD.encode(required(vec![offer("eip155:84532", "1000")]).to_string());
    let body = required(vec![offer("eip155:84532", "5")]).to_string();
    let p = parse_required(Some(&header), body.as_bytes()).unwrap();
    assert_eq!(p.accepts.len(), 1);
    assert_eq!(p.accepts[0].amount, 1000, "from the header");
    assert_eq!(p.accepts[0].raw, offer("eip155:84532", "1000"), "kept as offered, to be echoed");
    let from_body = parse_required(None, body.as_bytes()).unwrap();
    assert_eq!(from_body.accepts[0].amount, 5);
    let v1 = json!({"x402Version": 1, "accepts": []}).to_string();
    assert_eq!(parse_required(None, v1.as_bytes()).unwrap_err().code, ErrorCode::X402_UNSUPPORTED_SCHEME);
    assert_eq!(parse_required(None, b"<html>pay me</html>").unwrap_err().code, ErrorCode::X402_SERVER_ERROR);
    // Offers without a positive amount, an asset or a payee are left out.
    let mut bad = offer("eip155:84532", "0");
    let p = parse_required(None, required(vec![bad.clone()]).to_string().as_bytes()).unwrap();
    assert!(p.accepts.is_empty());
    bad["amount"] = "-1".into();
    assert!(parse_required(None, required(vec![bad]).to_string().as_bytes()).unwrap().accepts.is_empty());
}

#[test]
fn only_the_wallets_chain_and_environment_are_chosen_then_the_cheapest() {
    let p = parse_required(
        None,
        required(vec![
            offer("eip155:8453", "10"),    // base mainnet: wrong environment for a testnet wallet
            offer("eip155:84532", "3000"), // base sepolia
            json!({"scheme": "upto", "network": "eip155:84532", "amount": "1", "asset": TOKEN, "payTo": PAYEE}),
            offer("eip155:11155111", "2000"), // ethereum sepolia: cheapest of the testnet EVM ones
            offer("solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1", "1"),
            offer("eip155:424242", "1"), // unknown network
        ])
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let (r, n) = choose(&p, Chain::Ethereum, Environment::Testnet).unwrap();
    assert_eq!((r.amount, n.id()), (2000, "ethereum-sepolia"));
    let (r, n) = choose(&p, Chain::Ethereum, Environment::Mainnet).unwrap();
    assert_eq!((r.amount, n.id()), (10, "base-mainnet"));
    let (r, n) = choose(&p, Chain::Solana, Environment::Testnet).unwrap();
    assert_eq!((r.amount, n.id()), (1, "solana-devnet"));
    let e = choose(&p, Chain::Solana, Environment::Mainnet).unwrap_err();
    assert_eq!(e.code, ErrorCode::X402_UNSUPPORTED_SCHEME);
    assert!(e.message.contains("exact on eip155:8453"), "{}", e.message);
}

sol! {
    struct TransferWithAuthorization {
        address from;
        address to;
        uint256 value;
        uint256 validAfter;
        uint256 validBefore;
        bytes32 nonce;
    }
}

#[test]
fn the_authorization_hashes_like_an_independent_eip712_implementation() {
    let r = requirement(&offer("eip155:84532", "1500000")).unwrap();
    let n = Network::parse("eip155:84532").unwrap();
    let auth = Authorization::new(&r, PAYER, 1_700_000_000);
    assert_eq!(auth.valid_before, 1_700_000_060, "the server's 60 s, under our 300 s cap");
    assert_eq!((auth.valid_after, auth.value, auth.to.as_str()), (0, 1_500_000, PAYEE));
    let ours = crate::chain::evm::typed_data_hash(&auth.typed_data(&r, n).unwrap()).unwrap();
    let token: Address = TOKEN.parse().unwrap();
    let domain = eip712_domain! { name: "USD Coin", version: "2", chain_id: 84532, verifying_contract: token, };
    let msg = TransferWithAuthorization {
        from: PAYER.parse().unwrap(),
        to: address!("70997970C51812dc3A010C7d01b50e0d17dc79C8"),
        value: U256::from(1_500_000u64),
        validAfter: U256::ZERO,
        validBefore: U256::from(1_700_000_060u64),
        nonce: auth.nonce.parse::<B256>().unwrap(),
    };
    assert_eq!(ours, msg.eip712_signing_hash(&domain));
    // A fresh nonce each time; the validity never beyond 300 s.
    assert_ne!(Authorization::new(&r, PAYER, 0).nonce, Authorization::new(&r, PAYER, 0).nonce);
    let mut long = r.clone();
    long.max_timeout_seconds = Some(86_400);
    assert_eq!(Authorization::new(&long, PAYER, 0).valid_before, MAX_VALIDITY_SECS);
}

#[test]
fn no_domain_or_a_malformed_address_is_refused_not_guessed() {
    let n = Network::parse("eip155:84532").unwrap();
    let mut raw = offer("eip155:84532", "1");
    raw["extra"] = json!({});
    let r = requirement(&raw).unwrap();
    let e = Authorization::new(&r, PAYER, 0).typed_data(&r, n).unwrap_err();
    assert_eq!(e.code, ErrorCode::X402_UNSUPPORTED_SCHEME);
    let mut raw = offer("eip155:84532", "1");
    raw["payTo"] = "0xnot-an-address".into();
    let r = requirement(&raw).unwrap();
    assert!(Authorization::new(&r, PAYER, 0).typed_data(&r, n).unwrap_err().message.contains("payTo"));
}

#[test]
fn the_payment_header_echoes_the_offer_and_the_settlement_is_read() {
    let raw = offer("eip155:84532", "7");
    let r = requirement(&raw).unwrap();
    let auth = Authorization::new(&r, PAYER, 100);
    let h = auth.payment_header(&r, &serde_json::json!({"url": "https://api.example.com/paid"}), "0xsig");
    let v = b64_json(&h).unwrap();
    assert_eq!(v["x402Version"], 2);
    assert_eq!(v["accepted"], raw);
    assert_eq!(v["resource"]["url"], "https://api.example.com/paid");
    assert_eq!(v["payload"]["authorization"]["value"], "7");
    assert_eq!(v["payload"]["authorization"]["validAfter"], "0");
    assert_eq!(v["payload"]["signature"], "0xsig");
    let s = base64::engine::general_purpose::STANDARD
        .encode(json!({"success": true, "transaction": "0xabc", "network": "eip155:84532", "payer": PAYER}).to_string());
    let st = parse_settlement(Some(&s)).unwrap();
    assert!(st.success && st.transaction.as_deref() == Some("0xabc"));
    assert_eq!(parse_settlement(Some("not base64!")), None);
    assert_eq!(parse_settlement(None), None);
}

const SOL_DEVNET: &str = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";

fn sol_offer() -> Value {
    json!({"scheme": "exact", "network": SOL_DEVNET, "amount": "2500", "asset": "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU",
           "payTo": "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin", "maxTimeoutSeconds": 300,
           "extra": {"feePayer": "2wKupLR9q6wXYppw8Gr2NvWxKBUqm4PPJKkQfoxHDBg4"}})
}

#[test]
fn the_solana_payment_header_is_the_reference_clients_payload() {
    let raw = sol_offer();
    let r = requirement(&raw).unwrap();
    let resource = json!({"url": "http://127.0.0.1:1/sol/paid", "description": "premium data (Solana)", "mimeType": "application/json"});
    let v = b64_json(&svm_payment_header(&r, &resource, "AQID")).unwrap();
    // Exactly the keys `x402Client.createPaymentPayload` sends (`extensions` is undefined there
    // and so absent from its JSON).
    assert_eq!(v, json!({"x402Version": 2, "resource": resource, "accepted": raw, "payload": {"transaction": "AQID"}}));
    // Standard base64 with padding, like the reference client's `btoa`-style encoding.
    let h = svm_payment_header(&r, &resource, "AQID");
    assert!(base64::engine::general_purpose::STANDARD.decode(&h).is_ok());
    // No resource in the 402 answer: none in the payload either.
    let v = b64_json(&svm_payment_header(&r, &Value::Null, "AQID")).unwrap();
    assert_eq!(v, json!({"x402Version": 2, "accepted": raw, "payload": {"transaction": "AQID"}}));
}

/// The `PAYMENT-SIGNATURE` the reference client (`@x402/core` `x402Client` + `@x402/svm`
/// `ExactSvmScheme` 2.27.0) sent in `tests/x402/selftest_svm.mjs`, decoded (captured with
/// `X402_CAPTURE_SVM`; the transaction is the one `chain::solana::tests` checks our builder
/// against). Rebuilt from its parts, ours is the same JSON.
#[test]
fn the_solana_payment_header_equals_the_captured_reference_one() {
    let reference: Value = serde_json::from_str(REFERENCE_SVM_PAYMENT).unwrap();
    let r = requirement(&reference["accepted"]).unwrap();
    let ours = b64_json(&svm_payment_header(&r, &reference["resource"], reference["payload"]["transaction"].as_str().unwrap())).unwrap();
    assert_eq!(ours, reference);
}

const REFERENCE_SVM_PAYMENT: &str = r#"{"x402Version":2,"payload":{"transaction":"AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADCeEtNzK4Vs+mj53Yw/mW0UbJdrPxTmnMAFW//NJ/cZP1o4gdrEcLr7/MVVNIYvQSs5eT42g//MYTXEYg0D8DgAIBBAhQDiimnNinO5kH4I6029FTjTLt972jCCAnZRIKxwQPXD01SRDzLl5wTKUnwNDopzoFr/4DzsiEff5RQdETnB1ueA94PjAUf1G8V2ZzfEFx2sGKBIVs/8y7d01UHKqqdPR8du+T0gg6sxBkZrbHb7YnHz+dPmggoN8IGOolC1TvKFCZikgVhkqhmVC4qEs0IlN6JTXVTdAWLQVeUCr+Oov+AwZGb+UhFzL/7K26csOb57yM5bvF9xJrLEObOkAAAAAFSlNamSkhBk0k6HFg2jh8fDW13bySu4HkH6hAQQVEjQbd9uHXZaGT2cvhRs7reawctIXtX1s3kTqM9YV+/wCpFAVF62Lu5XktmbtAYUuDfs0DsiigBHnzKbIe7BOmdmwEBQAFAiBOAAAFAAkDAQAAAAAAAAAHBAIEAwEKDBAnAAAAAAAABgYAIDI4ZDM2MzUxYWM4NjllYmFmNGJlOTFjZDcyM2ZjYWRmAA=="},"resource":{"url":"http://127.0.0.1:42693/sol/paid","description":"premium data (Solana)","mimeType":"application/json"},"accepted":{"scheme":"exact","network":"solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1","amount":"10000","asset":"6RdQdtpw2Ez6QDGgZN3hSp3u8c76tncJCywucQPk39kZ","payTo":"8zbiRcWu5Uc5vurqjr7mNeJB3oGYkCtMRVMmP3fqA5c7","maxTimeoutSeconds":300,"extra":{"feePayer":"6PW8zzXNbxfgCiapT6hxfY8aTipLEQH3S1TEtC33jwMD"}}}"#;
