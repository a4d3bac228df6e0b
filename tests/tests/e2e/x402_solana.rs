//! x402 `exact` payments from Solana wallets, against the reference resource server and
//! facilitator (`tests/x402/server.mjs`: npm `@x402/express`, `@x402/core`, `@x402/svm` 2.27.0)
//! settling on a real solana-test-validator posing as solana-devnet (`solana:EtWTRABZ…`).
//!
//! Two levels:
//! - [`the_core_pieces_pay_the_reference_facilitator`]: what the daemon's x402 route calls for
//!   Solana (`ChainAdapter::x402_transfer`, `sign_external`, `protocol::svm_payment_header`),
//!   driven by hand over HTTP: the facilitator co-signs, pays the fee and submits; an SPL Token
//!   and a Token-2022 mint. Plus the refusals `x402_transfer` makes before anything is signed.
//! - [`x402_fetch_pays_a_solana_resource`]: `POST /v1/x402/fetch` of the daemon, with the
//!   policies an operator sets, for both mints; the recorded `X402_PAYMENT` transaction
//!   carries the settlement signature.
//!
//! The paying wallet never holds SOL: the facilitator pays every fee. Needs node/npm (the
//! harness installs its pinned packages with `tests/x402/install.sh`) and the validator.

use base64::Engine as _;
use serde_json::{json, Value};
use solana_pubkey::Pubkey;
use waiaas_core::chain::solana::{SolanaAdapter, SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID};
use waiaas_core::chain::ChainAdapter;
use waiaas_core::network::{Chain, Environment};
use waiaas_core::x402::protocol::{choose, parse_required, parse_settlement, svm_payment_header};
use waiaas_core::ErrorCode;
use waiaas_e2e::solana::*;
use waiaas_e2e::x402::X402Server;
use waiaas_e2e::*;

const DEVNET_CAIP2: &str = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
/// Prices of `/sol/paid` (SPL Token, 6 decimals: 0.01) and `/sol/paid-alt` (Token-2022,
/// 9 decimals: 0.0025).
const PRICE: u64 = 10_000;
const PRICE2: u64 = 2_500_000;

/// `tests/x402/server.mjs` in Solana-only mode for a [`Chainside`]'s mints and payee.
fn server(c: &Chainside) -> X402Server {
    X402Server::start(&[
        ("svm-rpc-url", node().url.as_str()),
        ("svm-mint", &c.spl.to_string()),
        ("svm-price", &PRICE.to_string()),
        ("svm-mint2", &c.t22.to_string()),
        ("svm-price2", &PRICE2.to_string()),
        ("svm-pay-to", &c.payee.to_string()),
    ])
}

/// The facilitator's fee payer (Solana key of `server.mjs`).
fn facilitator(server: &X402Server) -> String {
    server.ready["svm"]["facilitatorAddress"].as_str().unwrap().to_string()
}

/// The facilitator's successful settlements in `mint`: their transaction signatures.
async fn settlements(server: &X402Server, mint: &Pubkey) -> Vec<String> {
    let j = server.journal().await;
    j["settle"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["result"]["success"] == true && s["paymentRequirements"]["asset"] == mint.to_string())
        .map(|s| s["result"]["transaction"].as_str().unwrap().to_string())
        .collect()
}

/// The landed settlement: its fee payer and fee.
async fn settlement(a: &SolanaAdapter, signature: &str) -> (String, u64) {
    wait_confirmed(a, signature).await;
    let tx =
        a.rpc().read("getTransaction", json!([signature, {"commitment": "confirmed", "maxSupportedTransactionVersion": 0, "encoding": "json"}])).await.unwrap();
    assert!(tx["meta"]["err"].is_null(), "{tx}");
    (tx["transaction"]["message"]["accountKeys"][0].as_str().unwrap().to_string(), tx["meta"]["fee"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_pieces_pay_the_reference_facilitator() {
    let c = Chainside::new().await;
    let wallet = key();
    c.fund(&wallet.address).await;
    let server = server(&c);
    assert_eq!(server.ready["svm"]["network"], DEVNET_CAIP2);
    let facilitator = facilitator(&server);
    let http = reqwest::Client::new();

    for (path, mint, program, price, data) in
        [("/sol/paid", c.spl, SPL_TOKEN_PROGRAM_ID, PRICE, "premium-sol"), ("/sol/paid-alt", c.t22, TOKEN_2022_PROGRAM_ID, PRICE2, "premium-sol-alt")]
    {
        let url = server.url(path);
        let first = http.get(&url).send().await.unwrap();
        assert_eq!(first.status(), 402);
        let header = first.headers().get("payment-required").unwrap().to_str().unwrap().to_string();
        let required = parse_required(Some(&header), &first.bytes().await.unwrap()).unwrap();
        let (r, network) = choose(&required, Chain::Solana, Environment::Testnet).unwrap();
        assert_eq!(network.id(), "solana-devnet", "the validator's offer is devnet's CAIP-2 id");
        assert_eq!((r.asset.as_str(), r.amount, r.pay_to.as_str()), (mint.to_string().as_str(), u128::from(price), c.payee.to_string().as_str()));
        let fee_payer = r.extra["feePayer"].as_str().unwrap();
        assert_eq!(fee_payer, facilitator);

        let raw = c.a.x402_transfer(&wallet.address, &r.pay_to, &r.asset, r.amount, fee_payer).await.unwrap();
        // The mint's own program is used (read from the mint account's owner).
        let decoded = c.a.decode_external(&raw).unwrap();
        assert_eq!(decoded.operations[2].program_id, Some(program.to_string()), "{path}");
        assert_eq!(decoded.fee_payer.as_deref(), Some(facilitator.as_str()));
        let signed = c.a.sign_external(&raw, &wallet.secret).unwrap();
        assert_eq!(signed.hash, "", "the fee payer's slot stays empty");
        let payment = svm_payment_header(r, &required.resource, &base64::engine::general_purpose::STANDARD.encode(&signed.raw));

        let (payee_before, wallet_before, fees_before) =
            (c.tokens(&c.payee.to_string(), &mint).await, c.tokens(&wallet.address, &mint).await, lamports(&facilitator));
        let paid = http.get(&url).header("PAYMENT-SIGNATURE", &payment).send().await.unwrap();
        let status = paid.status().as_u16();
        let settled = parse_settlement(paid.headers().get("payment-response").and_then(|h| h.to_str().ok()));
        let body = paid.text().await.unwrap();
        assert_eq!(status, 200, "{path}: {body} {settled:?}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({"ok": true, "data": data}));
        let settled = settled.expect("PAYMENT-RESPONSE");
        assert!(settled.success, "{settled:?}");
        assert_eq!(settled.network.as_deref(), Some(DEVNET_CAIP2));
        assert_eq!(settled.payer.as_deref(), Some(wallet.address.as_str()));
        let signature = settled.transaction.unwrap();
        assert_eq!(settlements(&server, &mint).await, vec![signature.clone()]);

        let (fee_payer_on_chain, fee) = settlement(&c.a, &signature).await;
        assert_eq!(fee_payer_on_chain, facilitator, "the facilitator paid the fee");
        assert_eq!(fees_before - lamports(&facilitator), fee);
        assert_eq!(c.tokens(&c.payee.to_string(), &mint).await - payee_before, u128::from(price), "{path}: the payee got the price");
        assert_eq!(wallet_before - c.tokens(&wallet.address, &mint).await, u128::from(price), "{path}: the wallet paid the price");
        assert_eq!(lamports(&wallet.address), 0, "the wallet never holds SOL");
    }

    // Refused before anything is signed: a payee without a token account for the mint (the
    // facilitator would refuse an instruction creating it), more than the wallet holds, the
    // wallet as its own fee payer.
    let nobody = key().address;
    let e = c.a.x402_transfer(&wallet.address, &nobody, &c.spl.to_string(), 1, &facilitator).await.unwrap_err();
    assert_eq!(e.error.code, ErrorCode::X402_PAYMENT_REJECTED, "{}", e.error.message);
    assert!(e.error.message.contains("no token account"), "{}", e.error.message);
    let held = c.tokens(&wallet.address, &c.spl).await;
    let e = c.a.x402_transfer(&wallet.address, &c.payee.to_string(), &c.spl.to_string(), held + 1, &facilitator).await.unwrap_err();
    assert_eq!(e.error.code, ErrorCode::INSUFFICIENT_TOKEN_BALANCE, "{}", e.error.message);
    let e = c.a.x402_transfer(&wallet.address, &c.payee.to_string(), &c.spl.to_string(), 1, &wallet.address).await.unwrap_err();
    assert!(e.error.message.contains("fee payer"), "{}", e.error.message);
    let e = c.a.x402_transfer(&wallet.address, &c.payee.to_string(), &nobody, 1, &facilitator).await.unwrap_err();
    assert_eq!(e.error.code, ErrorCode::TOKEN_NOT_FOUND, "not a mint: {}", e.error.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x402_fetch_pays_a_solana_resource() {
    let c = Chainside::new().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let d = Daemon::start(
        Options::default()
            .env("WAIAAS_RPC_SOLANA_DEVNET", &node().url)
            .env("WAIAAS_PRICES_SOL", "100")
            .env(&format!("WAIAAS_PRICES_{}", c.spl), "1")
            .env(&format!("WAIAAS_PRICES_{}", c.t22), "1")
            .env("WAIAAS_PRICES_UPDATED_AT", &now.to_string())
            .env("WAIAAS_X402_ALLOW_INSECURE_HOSTS", "127.0.0.1")
            // The facilitator answers the paid request once the validator confirmed its
            // settlement: on a loaded machine that can exceed the default 30 s.
            .env("WAIAAS_X402_REQUEST_TIMEOUT", "120"),
    );
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "x402-sol", "chain": "solana", "environment": "testnet"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    assert_eq!(w.body["network"], "solana-devnet");
    let wallet = w.body["publicKey"].as_str().unwrap().to_string();
    let wallet_id = w.body["id"].as_str().unwrap().to_string();
    let session = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    c.fund(&wallet).await;
    for (mint, decimals) in [(c.spl, 6), (c.t22, 9)] {
        let r = api
            .call(
                "POST",
                "/v1/tokens",
                &Api::master(),
                Some(json!({"network": "solana-devnet", "address": mint.to_string(), "symbol": "TST", "name": "Test", "decimals": decimals})),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    api.create_policy(&wallet_id, "X402_ALLOWED_DOMAINS", json!({"domains": ["127.0.0.1"]})).await;
    api.create_policy(&wallet_id, "ALLOWED_TOKENS", json!({"tokens": [{"address": c.spl.to_string()}, {"address": c.t22.to_string()}]})).await;
    api.create_policy(&wallet_id, "SPENDING_LIMIT", json!({"instant_max_usd": 1000, "notify_max_usd": 10000, "delay_max_usd": 100000, "delay_seconds": 3600}))
        .await;
    let server = server(&c);
    let facilitator = facilitator(&server);

    for (path, mint, price, data) in [("/sol/paid", c.spl, PRICE, "premium-sol"), ("/sol/paid-alt", c.t22, PRICE2, "premium-sol-alt")] {
        let (payee_before, wallet_before, fees_before) = (c.tokens(&c.payee.to_string(), &mint).await, c.tokens(&wallet, &mint).await, lamports(&facilitator));
        let r = api.call("POST", "/v1/x402/fetch", &session, Some(json!({"url": server.url(path)}))).await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
        assert_eq!(r.body["status"], 200, "{path}: {:?}", r.body);
        assert_eq!(serde_json::from_str::<Value>(r.body["body"].as_str().unwrap()).unwrap(), json!({"ok": true, "data": data}));
        let p = &r.body["payment"];
        assert_eq!(p["amount"], price.to_string(), "{p}");
        assert_eq!(p["asset"], mint.to_string(), "{p}");
        assert_eq!(p["payTo"], c.payee.to_string(), "{p}");
        assert_eq!(p["network"], DEVNET_CAIP2, "{p}");

        // Settled once, by the facilitator, on chain; the daemon's record carries that signature.
        let settled = settlements(&server, &mint).await;
        assert_eq!(settled.len(), 1, "{path}: {settled:?}");
        let (fee_payer, fee) = settlement(&c.a, &settled[0]).await;
        assert_eq!(fee_payer, facilitator);
        assert_eq!(fees_before - lamports(&facilitator), fee, "the facilitator paid the fee");
        assert_eq!(c.tokens(&c.payee.to_string(), &mint).await - payee_before, u128::from(price), "{path}: the payee got the price");
        assert_eq!(wallet_before - c.tokens(&wallet, &mint).await, u128::from(price), "{path}: the wallet paid the price");
        assert_eq!(lamports(&wallet), 0, "the wallet never holds SOL");

        let tx = api.call("GET", &format!("/v1/transactions/{}", p["txId"].as_str().unwrap()), &session, None).await;
        assert_eq!(tx.status, 200, "{:?}", tx.body);
        assert_eq!(tx.body["type"], "X402_PAYMENT", "{:?}", tx.body);
        assert_eq!(tx.body["status"], "CONFIRMED", "{:?}", tx.body);
        assert_eq!(tx.body["txHash"], settled[0], "{:?}", tx.body);
    }
}
