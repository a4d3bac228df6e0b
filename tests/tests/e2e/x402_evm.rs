//! x402 on EVM (issue "x402"), over the real daemon, a real anvil and the real x402 reference
//! packages (`tests/x402/server.mjs`: `@x402/express` resource server, `@x402/core` facilitator
//! with `@x402/evm`, settling on anvil) paid in an EIP-3009 token compiled from
//! `tests/contracts/Eip3009Token.sol`.
//!
//! A paid fetch returns the body, moves exactly the price to the payee on chain, uses the
//! authorization's nonce on chain and records an `X402_PAYMENT` row holding the settlement's
//! hash; every refusal leaves nothing signed (no row reaches the signer, the facilitator never
//! sees a payment).

use serde_json::{json, Value};
use std::time::Duration;
use waiaas_e2e::evm::{word_addr, Node};
use waiaas_e2e::x402::X402Server;
use waiaas_e2e::*;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

const SEPOLIA: u64 = 11155111;
const ETH: u128 = 1_000_000_000_000_000_000;
const USD: u128 = 1_000_000;
const PAYEE: &str = "0x00000000000000000000000000000000000Fee01";
/// $0.01 of the 6-decimals token.
const PRICE: u128 = 10_000;

struct World {
    node: Node,
    usd: String,
    dai: String,
    server: X402Server,
}

/// anvil (chain id of ethereum-sepolia), the two EIP-3009 tokens, the x402 server.
fn world() -> World {
    let node = Node::start(SEPOLIA);
    let usd = node.deploy_erc20("Eip3009Token", "Test USD Coin", 6, 1_000_000_000 * USD);
    let dai = node.deploy_erc20("Eip3009Token", "Test Dai", 18, 1_000_000_000 * ETH);
    let url = node.url();
    let price = PRICE.to_string();
    let server = tokio::task::block_in_place(|| {
        X402Server::start(&[("rpc-url", &url), ("token", &usd), ("price", &price), ("token2", &dai), ("price2", "5000000000000000"), ("pay-to", PAYEE)])
    });
    World { node, usd, dai, server }
}

impl World {
    fn daemon(&self, extra: &[(&str, &str)]) -> Daemon {
        let mut o = Options::default()
            .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &self.node.url())
            .env("WAIAAS_PRICES_ETH", "2000")
            .env(&format!("WAIAAS_PRICES_{}", self.usd), "1");
        for (k, v) in extra {
            o = o.env(k, v);
        }
        Daemon::start(o)
    }

    /// Move `amount` of `token` from dev account 0 to `to`.
    fn give(&self, token: &str, to: &str, amount: u128) {
        self.node.exec(json!({"from": DEV_ACCOUNTS[0], "to": token, "data": format!("0xa9059cbb{}{:064x}", word_addr(to), amount)}));
    }

    /// `authorizationState(authorizer, nonce)` of `token`.
    fn nonce_used(&self, token: &str, authorizer: &str, nonce: &str) -> bool {
        self.node.call_u128(token, &format!("0xe94a0102{}{}", word_addr(authorizer), nonce.trim_start_matches("0x"))) == 1
    }
}

struct Agent {
    id: String,
    address: String,
    auth: Auth,
}

async fn agent(api: &Api, w: &World) -> Agent {
    let r = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "x402-agent", "chain": "ethereum", "environment": "testnet"}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let a = Agent {
        id: r.body["id"].as_str().unwrap().into(),
        address: r.body["publicKey"].as_str().unwrap().into(),
        auth: Auth::Session(r.body["session"]["token"].as_str().unwrap().into()),
    };
    w.node.fund(&a.address, ETH);
    w.give(&w.usd, &a.address, 100 * USD);
    w.give(&w.dai, &a.address, ETH);
    a
}

async fn fetch(api: &Api, a: &Agent, body: Value) -> Resp {
    api.call("POST", "/v1/x402/fetch", &a.auth, Some(body)).await
}

/// Every X402_PAYMENT row: (status, error_code, signed).
fn payment_rows(d: &Daemon) -> Vec<(String, Option<String>, bool)> {
    let db = rusqlite::Connection::open_with_flags(d.dir.join("data/waiaas.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut st =
        db.prepare("SELECT status, error_code, signed_tx IS NOT NULL FROM transactions WHERE type = 'X402_PAYMENT' ORDER BY created_at, rowid").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_pays_for_a_resource_and_the_settlement_is_on_chain() {
    let w = world();
    let d = w.daemon(&[("WAIAAS_X402_ALLOW_INSECURE_HOSTS", "127.0.0.1")]);
    let api = Api::new(&d.base);
    let a = agent(&api, &w).await;
    api.create_policy(&a.id, "X402_ALLOWED_DOMAINS", json!({"domains": ["127.0.0.1"]})).await;
    api.create_policy(&a.id, "ALLOWED_TOKENS", json!({"tokens": [{"address": w.usd}]})).await;

    // A free resource passes through; nothing is recorded.
    let r = fetch(&api, &a, json!({"url": w.server.url("/free")})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(serde_json::from_str::<Value>(r.body["body"].as_str().unwrap()).unwrap()["data"], "free");
    assert!(r.body.get("payment").is_none() && payment_rows(&d).is_empty());

    let (payee0, payer0) = (w.node.token_balance(&w.usd, PAYEE), w.node.token_balance(&w.usd, &a.address));
    let r = fetch(&api, &a, json!({"url": w.server.url("/paid")})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], 200);
    assert_eq!(serde_json::from_str::<Value>(r.body["body"].as_str().unwrap()).unwrap()["data"], "premium");
    let p = &r.body["payment"];
    assert_eq!(p["amount"], "10000");
    assert!(p["asset"].as_str().unwrap().eq_ignore_ascii_case(&w.usd) && p["payTo"].as_str().unwrap().eq_ignore_ascii_case(PAYEE), "{p}");
    assert_eq!(p["network"], format!("eip155:{SEPOLIA}"));
    assert_eq!(p["status"], "CONFIRMED");
    // The payee got exactly the price, from the agent.
    assert_eq!(w.node.token_balance(&w.usd, PAYEE), payee0 + PRICE);
    assert_eq!(w.node.token_balance(&w.usd, &a.address), payer0 - PRICE);
    // The settlement is the facilitator's transferWithAuthorization on chain; its nonce is used.
    let settled = w.server.journal().await["settle"].as_array().unwrap().clone();
    assert_eq!(settled.len(), 1);
    let auth = &settled[0]["paymentPayload"]["payload"]["authorization"];
    assert_eq!(auth["from"].as_str().unwrap().to_lowercase(), a.address.to_lowercase());
    assert!(w.nonce_used(&w.usd, &a.address, auth["nonce"].as_str().unwrap()));
    let hash = p["txHash"].as_str().expect("settlement hash");
    assert_eq!(settled[0]["result"]["transaction"], hash);
    assert_eq!(w.node.receipt(hash)["status"], "0x1");
    // The row: X402_PAYMENT, CONFIRMED, the settlement's hash, the amount and payee.
    let tx = api.call("GET", &format!("/v1/transactions/{}", p["txId"].as_str().unwrap()), &a.auth, None).await;
    assert_eq!(tx.status, 200);
    assert_eq!(
        (tx.body["type"].as_str(), tx.body["status"].as_str(), tx.body["txHash"].as_str()),
        (Some("X402_PAYMENT"), Some("CONFIRMED"), Some(hash)),
        "{:?}",
        tx.body
    );
    assert_eq!(tx.body["toAddress"].as_str().map(str::to_lowercase), Some(PAYEE.to_lowercase()));

    // POST with a body reaches the paid handler with that body.
    let r = fetch(&api, &a, json!({"url": w.server.url("/paid"), "method": "POST", "body": "hello", "headers": {"content-type": "text/plain"}})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let body: Value = serde_json::from_str(r.body["body"].as_str().unwrap()).unwrap();
    assert_eq!((body["method"].as_str(), body["body"].as_str()), (Some("POST"), Some("hello")));
    assert_eq!(w.node.token_balance(&w.usd, PAYEE), payee0 + 2 * PRICE);

    // Of several offers, one this wallet can pay: the cheapest (1 unit) is on another chain,
    // the other token is not allowed; the allowed token's offer is paid.
    let r = fetch(&api, &a, json!({"url": w.server.url("/paid-choice")})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body["payment"]["asset"].as_str().unwrap().eq_ignore_ascii_case(&w.usd), "{:?}", r.body);
    assert_eq!(payment_rows(&d).iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["CONFIRMED"; 3]);

    // A POST answered 303 goes on as a GET without its body, and the paid request is that
    // GET: the resource that asked to be paid, asked the way it was reached.
    let r = fetch(&api, &a, json!({"url": w.server.url("/see-other"), "method": "POST", "body": "hello", "headers": {"content-type": "text/plain"}})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let body: Value = serde_json::from_str(r.body["body"].as_str().unwrap()).unwrap();
    assert_eq!((body["data"].as_str(), body.get("method")), (Some("premium"), None), "{body}");
    assert_eq!(payment_rows(&d).iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["CONFIRMED"; 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_payments_sign_nothing() {
    let w = world();
    let d = w.daemon(&[("WAIAAS_X402_ALLOW_INSECURE_HOSTS", "127.0.0.1")]);
    let api = Api::new(&d.base);
    let a = agent(&api, &w).await;
    let (payee0, payer0) = (w.node.token_balance(&w.usd, PAYEE), w.node.token_balance(&w.usd, &a.address));
    let paid = json!({"url": w.server.url("/paid")});

    // No X402_ALLOWED_DOMAINS policy: denied by default, before any request is made.
    let r = fetch(&api, &a, paid.clone()).await;
    assert_eq!((r.status, r.code()), (403, "X402_DOMAIN_NOT_ALLOWED"), "{:?}", r.body);
    assert!(payment_rows(&d).is_empty());

    api.create_policy(&a.id, "X402_ALLOWED_DOMAINS", json!({"domains": ["127.0.0.1"]})).await;
    // No ALLOWED_TOKENS: the asset is not allowed (default deny), the row is CANCELLED unsigned.
    let r = fetch(&api, &a, paid.clone()).await;
    assert_eq!((r.status, r.code()), (403, "TOKEN_NOT_ALLOWED"), "{:?}", r.body);
    let tokens = api.create_policy(&a.id, "ALLOWED_TOKENS", json!({"tokens": [{"address": w.usd}]})).await;
    // The other token (on /paid-alt) is still not allowed.
    let r = fetch(&api, &a, json!({"url": w.server.url("/paid-alt")})).await;
    assert_eq!((r.status, r.code()), (403, "TOKEN_NOT_ALLOWED"), "{:?}", r.body);
    // Allowed but without a price: the value fails closed (APPROVAL, here DELAY without an
    // owner, longer than the request may wait).
    let r =
        api.call("PUT", &format!("/v1/policies/{tokens}"), &Api::master(), Some(json!({"rules": {"tokens": [{"address": w.usd}, {"address": w.dai}]}}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = fetch(&api, &a, json!({"url": w.server.url("/paid-alt")})).await;
    assert_eq!((r.status, r.code()), (408, "X402_DELAY_TIMEOUT"), "{:?}", r.body);

    // Only another chain's requirement: nothing to pay with, no row.
    let rows = payment_rows(&d).len();
    let r = fetch(&api, &a, json!({"url": w.server.url("/wrong-chain")})).await;
    assert_eq!((r.status, r.code()), (400, "X402_UNSUPPORTED_SCHEME"), "{:?}", r.body);
    // A redirect to a host the allowlist does not name.
    let r = fetch(&api, &a, json!({"url": w.server.url("/redirect")})).await;
    assert_eq!((r.status, r.code()), (403, "X402_DOMAIN_NOT_ALLOWED"), "{:?}", r.body);
    assert_eq!(payment_rows(&d).len(), rows);

    // Above the limit: APPROVAL (the wallet has an owner) is refused at once.
    api.create_policy(&a.id, "SPENDING_LIMIT", json!({"instant_max_usd": 0.001, "notify_max_usd": 0.002, "delay_max_usd": 0.005})).await;
    let r = api.call("PUT", &format!("/v1/wallets/{}/owner", a.id), &Api::master(), Some(json!({"owner_address": OwnerKey::evm(0x42).address()}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = fetch(&api, &a, paid.clone()).await;
    assert_eq!((r.status, r.code()), (403, "X402_APPROVAL_REQUIRED"), "{:?}", r.body);

    // Every refusal so far: no row ever signed, the facilitator saw nothing, nothing moved.
    let rows = payment_rows(&d);
    assert!(rows.iter().all(|(st, _, signed)| st == "CANCELLED" && !signed), "{rows:?}");
    assert_eq!(
        rows.iter().map(|r| r.1.as_deref().unwrap()).collect::<Vec<_>>(),
        ["TOKEN_NOT_ALLOWED", "TOKEN_NOT_ALLOWED", "X402_DELAY_TIMEOUT", "X402_APPROVAL_REQUIRED"]
    );
    assert_eq!(w.server.journal().await["verify"].as_array().unwrap().len(), 0);
    assert_eq!((w.node.token_balance(&w.usd, PAYEE), w.node.token_balance(&w.usd, &a.address)), (payee0, payer0));

    // A server that answers 402 again after the payment: FAILED X402_PAYMENT_REJECTED.
    let r = api.call("GET", "/v1/policies", &Api::master(), None).await;
    for p in r.body["data"].as_array().unwrap().iter().filter(|p| p["type"] == "SPENDING_LIMIT") {
        api.call("DELETE", &format!("/v1/policies/{}", p["id"].as_str().unwrap()), &Api::master(), None).await;
    }
    let r = fetch(&api, &a, json!({"url": w.server.url("/always-402")})).await;
    assert_eq!((r.status, r.code()), (402, "X402_PAYMENT_REJECTED"), "{:?}", r.body);
    let last = payment_rows(&d).pop().unwrap();
    assert_eq!((last.0.as_str(), last.1.as_deref()), ("FAILED", Some("X402_PAYMENT_REJECTED")));
    // The facilitator refusing the settlement: also rejected, nothing moves.
    let r = fetch(&api, &a, json!({"url": w.server.url("/settle-fails")})).await;
    assert_eq!((r.status, r.code()), (402, "X402_PAYMENT_REJECTED"), "{:?}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("test_facilitator_refuses_settlement"), "{:?}", r.body);
    // The resource failing after verification: X402_SERVER_ERROR, not settled.
    let r = fetch(&api, &a, json!({"url": w.server.url("/error-500")})).await;
    assert_eq!((r.status, r.code()), (502, "X402_SERVER_ERROR"), "{:?}", r.body);
    assert_eq!(w.server.journal().await["settle"].as_array().unwrap().iter().filter(|s| s["result"]["success"] == true).count(), 0);
    assert_eq!((w.node.token_balance(&w.usd, PAYEE), w.node.token_balance(&w.usd, &a.address)), (payee0, payer0));

    // The kill switch: refused before anything.
    let rows = payment_rows(&d).len();
    let r = api.call("POST", "/v1/admin/kill-switch", &Api::master(), Some(json!({"reason": "test"}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = fetch(&api, &a, paid).await;
    assert_eq!((r.status, r.code()), (503, "SYSTEM_LOCKED"), "{:?}", r.body);
    assert_eq!(payment_rows(&d).len(), rows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_rules_hold_without_the_test_allowlist_and_a_delay_can_be_cancelled() {
    let w = world();
    // No allow_insecure_hosts: http and 127.0.0.1 are refused even for an allowed domain.
    let d = w.daemon(&[("WAIAAS_X402_REQUEST_TIMEOUT", "120")]);
    let api = Api::new(&d.base);
    let a = agent(&api, &w).await;
    api.create_policy(&a.id, "X402_ALLOWED_DOMAINS", json!({"domains": ["127.0.0.1", "localhost"]})).await;
    let r = fetch(&api, &a, json!({"url": w.server.url("/paid")})).await;
    assert_eq!((r.status, r.code()), (403, "X402_SSRF_BLOCKED"), "{:?}", r.body);
    let https = w.server.url("/paid").replace("http://", "https://");
    let r = fetch(&api, &a, json!({"url": https})).await;
    assert_eq!((r.status, r.code()), (403, "X402_SSRF_BLOCKED"), "{:?}", r.body);
    let r = fetch(&api, &a, json!({"url": "https://user:pw@127.0.0.1/paid"})).await;
    assert_eq!((r.status, r.code()), (403, "X402_SSRF_BLOCKED"), "{:?}", r.body);
    assert!(payment_rows(&d).is_empty());
    drop(d);

    // A DELAY shorter than the request timeout is waited out inside the request, and
    // cancelling the row meanwhile ends the fetch with nothing signed.
    let d = w.daemon(&[("WAIAAS_X402_ALLOW_INSECURE_HOSTS", "127.0.0.1"), ("WAIAAS_X402_REQUEST_TIMEOUT", "120")]);
    let api = Api::new(&d.base);
    let a = agent(&api, &w).await;
    api.create_policy(&a.id, "X402_ALLOWED_DOMAINS", json!({"domains": ["127.0.0.1"]})).await;
    api.create_policy(&a.id, "ALLOWED_TOKENS", json!({"tokens": [{"address": w.usd}]})).await;
    api.create_policy(&a.id, "SPENDING_LIMIT", json!({"instant_max_usd": 0.001, "notify_max_usd": 0.002, "delay_max_usd": 1, "delay_seconds": 60})).await;
    let (api2, auth, url) = (api.clone(), a.auth.clone(), w.server.url("/paid"));
    let pending = tokio::spawn(async move { api2.call("POST", "/v1/x402/fetch", &auth, Some(json!({"url": url}))).await });
    let started = std::time::Instant::now();
    let id = loop {
        let r = api.call("GET", "/v1/transactions/pending", &a.auth, None).await;
        if let Some(t) = r.body["items"].as_array().and_then(|i| i.first()).cloned() {
            break t["id"].as_str().unwrap().to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no queued payment: {:?}", r.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let r = api.call("POST", &format!("/v1/transactions/{id}/cancel"), &a.auth, None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = pending.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "the fetch waited out the whole delay");
    assert_eq!((r.status, r.code()), (409, "TX_ALREADY_PROCESSED"), "{:?}", r.body);
    let rows = payment_rows(&d);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].0.as_str(), rows[0].2), ("CANCELLED", false));
    assert_eq!(w.server.journal().await["verify"].as_array().unwrap().len(), 0);
}
