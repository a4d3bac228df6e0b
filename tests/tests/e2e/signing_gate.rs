//! Issue 12, items 1, 2 and 9 over the real daemon: every signature passes the policy gate.
//!
//! - An EIP-2612 permit signed through sign-message is an approval: refused under default
//!   policies; within an APPROVED_SPENDERS limit it is signed and `permit()` +
//!   `transferFrom()` succeed on anvil; above the limit, unlimited, or for another chain it is
//!   refused and nothing can be pulled.
//! - Text messages pass the request guards (networks, rate), and are audited with their hash;
//!   unknown typed data needs its verifyingContract allowlisted; huge or deep type graphs and
//!   deep JSON are a fast 400 and the daemon stays up.
//! - Solana: text signs, a transaction message is refused.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use waiaas_e2e::evm::{word_addr, word_u128, Node};
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

const SEPOLIA: u64 = 11155111;
const TOKENS: u128 = 1_000_000_000_000_000_000; // one token of 18 decimals

async fn policy(api: &Api, wallet: &str, ty: &str, rules: Value) -> String {
    api.create_policy(wallet, ty, rules).await
}

async fn drop_policy(api: &Api, id: &str) {
    assert_eq!(api.call("DELETE", &format!("/v1/policies/{id}"), &Api::master(), None).await.status, 200);
}

fn permit(token: &str, chain_id: u64, owner: &str, spender: &str, value: &str, nonce: u64) -> Value {
    json!({
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}, {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "Permit": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}, {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"}, {"name": "deadline", "type": "uint256"}]
        },
        "primaryType": "Permit",
        "domain": {"name": "Permit Token", "version": "1", "chainId": chain_id, "verifyingContract": token},
        "message": {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": "99999999999"}
    })
}

async fn sign_typed(api: &Api, auth: &Auth, typed: &Value) -> Resp {
    api.call("POST", "/v1/transactions/sign-message", auth, Some(json!({"signType": "typedData", "typedData": typed}))).await
}

/// `permit(owner, spender, value, deadline, v, r, s)` sent by the spender (an unlocked dev account).
fn submit_permit(node: &Node, token: &str, owner: &str, spender: &str, value: u128, signature: &str) -> Value {
    let sig = signature.trim_start_matches("0x");
    assert_eq!(sig.len(), 130, "{signature}");
    let (r, s, v) = (&sig[..64], &sig[64..128], u8::from_str_radix(&sig[128..], 16).unwrap());
    let data = format!("0xd505accf{}{}{}{}{}{r}{s}", word_addr(owner), word_addr(spender), word_u128(value), word_u128(99_999_999_999), word_u128(v as u128));
    node.rpc("eth_sendTransaction", json!([{"from": spender, "to": token, "data": data, "gas": "0x30000"}]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eip2612_permit_is_an_approval_decided_by_policy_and_honoured_on_chain() {
    let node = Node::start(SEPOLIA);
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url()).env("WAIAAS_PRICES_ETH", "2000"));
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "permits", "chain": "ethereum"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let (wallet, owner) = (w.body["id"].as_str().unwrap().to_string(), w.body["publicKey"].as_str().unwrap().to_string());
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    let token = node.deploy_erc20("PermitToken", "Permit Token", 18, 1_000_000 * TOKENS);
    node.exec(json!({"from": DEV_ACCOUNTS[0], "to": token, "data": format!("0xa9059cbb{}{}", word_addr(&owner), word_u128(1000 * TOKENS))}));
    assert_eq!(node.token_balance(&token, &owner), 1000 * TOKENS);
    let (spender, thief_to) = (DEV_ACCOUNTS[1], DEV_ACCOUNTS[2]);

    // The attack, default policies: an approval of 100 tokens to a stranger is refused and
    // recorded CANCELLED; no signature comes back.
    let r = sign_typed(&api, &agent, &permit(&token, SEPOLIA, &owner, spender, &(100 * TOKENS).to_string(), 0)).await;
    assert_eq!((r.status, r.code()), (403, "APPROVE_DISABLED"), "{:?}", r.body);
    assert!(r.body.get("signature").is_none());
    // The case: a testnet wallet asked for an unlimited permit on mainnet (chain 1).
    let max = format!("0x{}", "f".repeat(64));
    let r = sign_typed(&api, &agent, &permit(&token, 1, &owner, spender, &max, 0)).await;
    assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"), "{:?}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("chainId"), "{:?}", r.body);
    // Typed data without any chain id is refused the same way.
    let mut no_chain = permit(&token, SEPOLIA, &owner, spender, "1", 0);
    no_chain["domain"].as_object_mut().unwrap().remove("chainId");
    no_chain["types"]["EIP712Domain"].as_array_mut().unwrap().remove(2);
    assert_eq!(sign_typed(&api, &agent, &no_chain).await.code(), "ACTION_VALIDATION_FAILED");

    // With an APPROVED_SPENDERS limit of 500 tokens for that spender.
    policy(&api, &wallet, "APPROVED_SPENDERS", json!({"spenders": [{"address": spender, "maxAmount": (500 * TOKENS).to_string()}]})).await;
    let over = sign_typed(&api, &agent, &permit(&token, SEPOLIA, &owner, spender, &(501 * TOKENS).to_string(), 0)).await;
    assert_eq!(over.status, 403, "above the spender's limit: {:?}", over.body);
    let unlimited = sign_typed(&api, &agent, &permit(&token, SEPOLIA, &owner, spender, &max, 0)).await;
    assert_eq!(unlimited.status, 403, "unlimited: {:?}", unlimited.body);
    let other_spender = sign_typed(&api, &agent, &permit(&token, SEPOLIA, &owner, thief_to, &TOKENS.to_string(), 0)).await;
    assert_eq!((other_spender.status, other_spender.code()), (403, "SPENDER_NOT_APPROVED"), "{:?}", other_spender.body);
    // Nothing refused left anything usable on chain: the allowance is still 0.
    assert_eq!(node.call_u128(&token, &format!("0xdd62ed3e{}{}", word_addr(&owner), word_addr(spender))), 0);

    // Within the limit: signed, recorded SIGNED with its tier, and the chain honours it.
    let ok = sign_typed(&api, &agent, &permit(&token, SEPOLIA, &owner, spender, &(100 * TOKENS).to_string(), 0)).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let row = api.call("GET", &format!("/v1/transactions/{}", ok.body["id"].as_str().unwrap()), &agent, None).await;
    assert_eq!((row.body["status"].as_str(), row.body["tier"].as_str()), (Some("SIGNED"), Some("INSTANT")), "{:?}", row.body);
    let hash = submit_permit(&node, &token, &owner, spender, 100 * TOKENS, ok.body["signature"].as_str().unwrap());
    assert_eq!(node.receipt(hash.as_str().unwrap())["status"], "0x1");
    assert_eq!(node.call_u128(&token, &format!("0xdd62ed3e{}{}", word_addr(&owner), word_addr(spender))), 100 * TOKENS);
    node.exec(json!({"from": spender, "to": token, "data": format!("0x23b872dd{}{}{}", word_addr(&owner), word_addr(thief_to), word_u128(100 * TOKENS))}));
    assert_eq!(node.token_balance(&token, thief_to), 100 * TOKENS);
    assert_eq!(node.token_balance(&token, &owner), 900 * TOKENS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_pass_the_request_guards_and_typed_data_is_bounded() {
    let node = Node::start(SEPOLIA);
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url()));
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "texts", "chain": "ethereum"}))).await;
    let (wallet, address) = (w.body["id"].as_str().unwrap().to_string(), w.body["publicKey"].as_str().unwrap().to_string());
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    let sign_text = |text: String| {
        let (api, agent) = (api.clone(), agent.clone());
        async move { api.call("POST", "/v1/transactions/sign-message", &agent, Some(json!({"message": text}))).await }
    };

    // Control: a SIWE login message is signed, and audited with the hash of what was signed.
    let siwe = format!("app.example wants you to sign in with your Ethereum account:\n{address}\n\nURI: https://app.example\nVersion: 1\nChain ID: 11155111\nNonce: 12345678\nIssued At: 2026-12-06T12:00:00Z");
    let r = sign_text(siwe.clone()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let audit = api.call("GET", &format!("/v1/audit-logs?tx_id={id}"), &Api::master(), None).await;
    let expected = format!("{}", alloy_primitives::eip191_hash_message(siwe.as_bytes()));
    let events: Vec<&Value> = audit.body["data"].as_array().unwrap().iter().collect();
    assert!(events.iter().any(|e| e["eventType"] == "TX_REQUESTED"), "the decision is audited: {events:?}");
    let signed = events.iter().find(|e| e["eventType"] == "TX_SIGNED").expect("TX_SIGNED audited");
    assert!(signed["details"].to_string().contains(&expected), "message hash {expected} in {signed}");
    // The same text again (a message hash is not unique like a transaction hash).
    assert_eq!(sign_text(siwe.clone()).await.status, 200);

    // ALLOWED_NETWORKS without the wallet's network: refused, nothing signed.
    let p = policy(&api, &wallet, "ALLOWED_NETWORKS", json!({"networks": [{"network": "polygon-amoy"}]})).await;
    let r = sign_text("hello".into()).await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    drop_policy(&api, &p).await;
    // RATE_LIMIT counts signatures like any request: the two signed above and two more fit
    // in 4 (the refused one holds no budget); the next is refused.
    let p = policy(&api, &wallet, "RATE_LIMIT", json!({"max_requests": 4, "window_seconds": 3600})).await;
    assert_eq!(sign_text("one".into()).await.status, 200);
    assert_eq!(sign_text("two".into()).await.status, 200);
    let r = sign_text("three".into()).await;
    assert_eq!((r.status, r.code()), (429, "RATE_LIMIT_EXCEEDED"), "{:?}", r.body);
    drop_policy(&api, &p).await;

    // Unknown typed data (the EIP-712 "Mail" example) is a call to its verifyingContract:
    // refused by default, signed once that contract is allowlisted.
    let mail = json!({
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "Mail": [{"name": "contents", "type": "string"}]
        },
        "primaryType": "Mail",
        "domain": {"name": "Ether Mail", "chainId": SEPOLIA, "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
        "message": {"contents": "Hello, Bob!"}
    });
    let r = sign_typed(&api, &agent, &mail).await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    policy(&api, &wallet, "CONTRACT_WHITELIST", json!({"contracts": [{"address": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"}]})).await;
    assert_eq!(sign_typed(&api, &agent, &mail).await.status, 200);

    // The crash of the issue: one request with a 20,000-type chained graph. Now a quick 400.
    let mut types = serde_json::Map::new();
    for i in 0..20_000 {
        types.insert(format!("T{i}"), json!([{"name": "next", "type": format!("T{}", i + 1)}]));
    }
    types.insert("T20000".into(), json!([{"name": "x", "type": "uint256"}]));
    let chained = json!({"types": types, "primaryType": "T0", "domain": {"chainId": SEPOLIA}, "message": {}});
    let t = Instant::now();
    let r = sign_typed(&api, &agent, &chained).await;
    assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"), "{:?}", r.body);
    // A bound that catches a hang or an exponential walk, not a benchmark (the machine may be loaded).
    assert!(t.elapsed() < Duration::from_secs(15), "took {:?}", t.elapsed());
    // 2 MiB of chained types: still a quick 400.
    let mut types = serde_json::Map::new();
    let mut i = 0;
    while serde_json::to_vec(&types).unwrap().len() < 2 * 1024 * 1024 {
        for _ in 0..1000 {
            types.insert(format!("Type{i:07}"), json!([{"name": "next", "type": format!("Type{:07}", i + 1)}]));
            i += 1;
        }
    }
    let big = json!({"types": types, "primaryType": "Type0000000", "domain": {"chainId": SEPOLIA}, "message": {}});
    let t = Instant::now();
    let r = sign_typed(&api, &agent, &big).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    // Refused before its body was read: the connection is closed, and the answer says so (a
    // CI run saw the next request on the same pooled connection fail without it).
    assert_eq!(r.headers.get("connection").and_then(|v| v.to_str().ok()), Some("close"), "{:?}", r.headers);
    assert!(t.elapsed() < Duration::from_secs(15), "took {:?}", t.elapsed());
    // Deep JSON in a body (100,000 nested arrays) is refused by the JSON depth limit.
    let deep = format!("{{\"signType\":\"typedData\",\"typedData\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let r = reqwest::Client::new()
        .post(d.url("/v1/transactions/sign-message"))
        .header(
            "Authorization",
            match &agent {
                Auth::Session(t) => format!("Bearer {t}"),
                _ => unreachable!(),
            },
        )
        .header("Content-Type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // Deep within the type-count cap: 20 levels of struct nesting.
    let mut types = serde_json::Map::new();
    for i in 0..20 {
        types.insert(format!("T{i}"), json!([{"name": "n", "type": format!("T{}", i + 1)}]));
    }
    types.insert("T20".into(), json!([{"name": "x", "type": "uint256"}]));
    let r = sign_typed(&api, &agent, &json!({"types": types, "primaryType": "T0", "domain": {"chainId": SEPOLIA}, "message": {}})).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    // The daemon is alive and still signs.
    assert_eq!(api.call("GET", "/health", &Auth::None, None).await.status, 200);
    assert_eq!(sign_text("still here".into()).await.status, 200);
}

/// A legacy Solana message whose bytes are all ASCII (so it travels as a JSON string): two
/// accounts, a System transfer. Built by hand so its bytes are known.
fn ascii_transaction_message() -> String {
    let mut m = vec![1u8, 0, 1]; // header: 1 signer, 0 readonly signed, 1 readonly unsigned
    m.push(3); // 3 account keys
    m.extend([b'A'; 32]); // fee payer
    m.extend([b'B'; 32]); // recipient
    m.extend([0u8; 32]); // the System program
    m.extend([b'C'; 32]); // recent blockhash
    m.push(1); // one instruction
    m.extend([2, 2, 0, 1]); // program index 2, accounts [0, 1]
    m.push(12); // data: transfer(lamports)
    m.extend([2, 0, 0, 0]);
    m.extend([b'D'; 8]);
    String::from_utf8(m).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solana_text_is_signed_and_a_transaction_message_is_refused() {
    let d = Daemon::start(Options::default());
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "sol", "chain": "solana"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let pk = w.body["publicKey"].as_str().unwrap().to_string();
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    let r = api.call("POST", "/v1/transactions/sign-message", &agent, Some(json!({"message": "hello agent"}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let key: [u8; 32] = bs58::decode(&pk).into_vec().unwrap().try_into().unwrap();
    let sig: [u8; 64] = bs58::decode(r.body["signature"].as_str().unwrap()).into_vec().unwrap().try_into().unwrap();
    use ed25519_dalek::Verifier;
    ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap().verify(b"hello agent", &ed25519_dalek::Signature::from_bytes(&sig)).unwrap();

    let r = api.call("POST", "/v1/transactions/sign-message", &agent, Some(json!({"message": ascii_transaction_message()}))).await;
    assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"), "{:?}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("transaction message"), "{:?}", r.body);
    // Typed data is EVM only.
    let r = api.call("POST", "/v1/transactions/sign-message", &agent, Some(json!({"signType": "typedData", "typedData": {}}))).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
}
