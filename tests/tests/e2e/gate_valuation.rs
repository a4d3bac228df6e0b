//! Issue 12, items 3 and 4, over the real daemon and a real anvil: a request's token decimals
//! never value it (the token's own decimals do), a value that cannot be priced fails closed
//! (APPROVAL, DELAY without an owner, unless a raw-unit limit classifies it), a stale or zero
//! price is no price, and the allowlists run before any price oracle is asked.

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use waiaas_e2e::evm::{balance, deploy_token, give_tokens, token_balance};
use waiaas_e2e::*;
use waiaas_testnodes::anvil::{Anvil, DEV_ACCOUNTS};

const SEPOLIA: u64 = 11155111;
const ETH: u128 = 1_000_000_000_000_000_000;

/// Run a blocking anvil call off the async runtime's worker.
fn chain<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// Stop a node without blocking the runtime.
fn stop(node: Anvil) {
    chain(move || drop(node));
}

/// A wallet created by the operator (no owner) and its agent session.
struct Agent {
    id: String,
    address: String,
    auth: Auth,
}

async fn agent(api: &Api, environment: &str) -> Agent {
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "agent", "chain": "ethereum", "environment": environment}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    Agent {
        id: w.body["id"].as_str().unwrap().into(),
        address: w.body["publicKey"].as_str().unwrap().into(),
        auth: Auth::Session(w.body["session"]["token"].as_str().unwrap().into()),
    }
}

async fn policy(api: &Api, wallet: &str, ty: &str, rules: Value) -> String {
    let r = api.call("POST", "/v1/policies", &Api::master(), Some(json!({"walletId": wallet, "type": ty, "rules": rules}))).await;
    assert_eq!(r.status, 201, "{ty} {rules}: {:?}", r.body);
    r.body["id"].as_str().unwrap().into()
}

/// Send and wait until the transaction leaves PENDING/EXECUTING/SUBMITTED.
async fn send_settled(api: &Api, auth: &Auth, body: Value) -> Value {
    let r = api.call("POST", "/v1/transactions/send", auth, Some(body.clone())).await;
    assert_eq!(r.status, 201, "{body}: {:?}", r.body);
    api.wait_tx(auth, r.body["id"].as_str().unwrap(), IN_FLIGHT, Duration::from_secs(30)).await
}

async fn simulate(api: &Api, auth: &Auth, body: Value) -> Value {
    let r = api.call("POST", "/v1/transactions/simulate", auth, Some(body.clone())).await;
    assert_eq!(r.status, 200, "{body}: {:?}", r.body);
    r.body["policy"].clone()
}

fn db(d: &Daemon) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(d.dir.join("data/waiaas.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

fn tx_count(d: &Daemon) -> i64 {
    db(d).query_row("SELECT COUNT(*) FROM transactions", [], |r| r.get(0)).unwrap()
}

/// The stored decision of a transaction.
fn decision(d: &Daemon, id: &str) -> Value {
    let text: String = db(d).query_row("SELECT decision FROM transactions WHERE id = ?1", [id], |r| r.get(0)).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimed_decimals_are_refused_and_the_tokens_own_decimals_value_it() {
    let node = chain(|| Anvil::start(SEPOLIA));
    // A $1 token with 6 decimals (priced by the operator's table), 10 million of them.
    let usd6 = chain(|| deploy_token(&node, "USD6", 6, 10_000_000 * 1_000_000));
    let d = Daemon::start(
        Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url).env("WAIAAS_PRICES_ETH", "2000").env(&format!("WAIAAS_PRICES_{usd6}"), "1"),
    );
    let api = Api::new(&d.base);
    let a = agent(&api, "testnet").await;
    chain(|| {
        node.fund(&a.address, 10 * ETH);
        give_tokens(&node, &usd6, &a.address, 2_000_000 * 1_000_000);
    });
    policy(&api, &a.id, "ALLOWED_TOKENS", json!({"tokens": [{"address": usd6}]})).await;
    policy(&api, &a.id, "SPENDING_LIMIT", json!({"instant_max_usd": 10, "notify_max_usd": 100, "delay_max_usd": 1000, "delay_seconds": 3600})).await;
    let to = DEV_ACCOUNTS[5];
    let held = chain(|| token_balance(&node, &usd6, &a.address));

    // The attack: 1,000,000 tokens ($1,000,000) claimed as 18 decimals would be worth
    // $0.000001 and go INSTANT, while the transfer moves the raw units. Raw or human amount,
    // send or simulate: refused naming token.decimals, nothing recorded, nothing moved.
    let attacks = [
        json!({"type": "TOKEN_TRANSFER", "to": to, "amount": "1000000000000", "token": {"address": usd6, "decimals": 18}}),
        json!({"type": "TOKEN_TRANSFER", "to": to, "humanAmount": "0.000001", "token": {"address": usd6, "decimals": 18, "symbol": "USD6"}}),
    ];
    for body in &attacks {
        for route in ["/v1/transactions/send", "/v1/transactions/simulate"] {
            let r = api.call("POST", route, &a.auth, Some(body.clone())).await;
            assert_eq!((r.status, r.code()), (400, "ACTION_VALIDATION_FAILED"), "{route} {body}: {:?}", r.body);
            assert_eq!(r.body["details"]["issues"][0]["path"], json!(["token", "decimals"]), "{:?}", r.body);
            assert!(r.body["message"].as_str().unwrap().contains("has 6 decimals, not 18"), "{:?}", r.body);
        }
    }
    assert_eq!(tx_count(&d), 0, "nothing recorded");
    assert_eq!(chain(|| token_balance(&node, &usd6, &a.address)), held, "nothing moved");

    // Control: the token's own decimals (omitted, or given right) value it as its USD says.
    let five = json!({"type": "TOKEN_TRANSFER", "to": to, "amount": "5000000", "token": {"address": usd6}});
    let p = simulate(&api, &a.auth, five.clone()).await;
    assert_eq!((p["tier"].as_str(), p["allowed"].as_bool()), (Some("INSTANT"), Some(true)), "{p}");
    assert!(p["reason"].as_str().unwrap().contains("$5.00"), "{p}");
    let p = simulate(&api, &a.auth, json!({"type": "TOKEN_TRANSFER", "to": to, "humanAmount": "50", "token": {"address": usd6, "decimals": 6}})).await;
    assert_eq!(p["tier"], "NOTIFY", "{p}");
    let million = json!({"type": "TOKEN_TRANSFER", "to": to, "amount": "1000000000000", "token": {"address": usd6}});
    let p = simulate(&api, &a.auth, million.clone()).await;
    assert_eq!((p["tier"].as_str(), p["approvalReason"].as_str(), p["downgraded"].as_bool()), (Some("DELAY"), Some("per_tx"), Some(true)), "{p}");
    assert!(p["reasons"].to_string().contains("$1000000.00"), "{p}");

    // And sends: $5 executes at once, $1,000,000 waits (APPROVAL, no owner: DELAY).
    let tx = send_settled(&api, &a.auth, json!({"type": "TOKEN_TRANSFER", "to": to, "amount": "5000000", "token": {"address": usd6, "decimals": 6}})).await;
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("CONFIRMED"), Some("INSTANT")), "{tx}");
    let usd: f64 = db(&d).query_row("SELECT amount_usd FROM transactions WHERE id = ?1", [tx["id"].as_str().unwrap()], |r| r.get(0)).unwrap();
    assert!((usd - 5.0).abs() < 1e-9, "{usd}");
    assert_eq!(chain(|| token_balance(&node, &usd6, to)), 5_000_000);
    let tx = send_settled(&api, &a.auth, million).await;
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("QUEUED"), Some("DELAY")), "{tx}");
    assert!(tx["txHash"].is_null());
    assert_eq!(chain(|| token_balance(&node, &usd6, to)), 5_000_000, "the million did not move");
    drop(d);
    stop(node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_eth_with_no_price_waits_unless_a_raw_limit_classifies_it() {
    let node = chain(|| Anvil::start(SEPOLIA));
    // No `[prices]` and the harness turns network oracles off: ETH has no price.
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url));
    let api = Api::new(&d.base);
    let fifty = |to: &str| json!({"type": "TRANSFER", "to": to, "amount": (50 * ETH).to_string()});
    let usd_only = json!({"instant_max_usd": 10, "notify_max_usd": 100, "delay_max_usd": 500, "delay_seconds": 3600});

    // Without an owner: APPROVAL downgraded to DELAY, queued, nothing on chain.
    let a = agent(&api, "testnet").await;
    chain(|| node.fund(&a.address, 100 * ETH));
    let limit = policy(&api, &a.id, "SPENDING_LIMIT", usd_only.clone()).await;
    let to = DEV_ACCOUNTS[6];
    let before = chain(|| balance(&node, to));
    let p = simulate(&api, &a.auth, fifty(to)).await;
    assert_eq!((p["tier"].as_str(), p["approvalReason"].as_str(), p["downgraded"].as_bool()), (Some("DELAY"), Some("unpriced"), Some(true)), "{p}");
    let tx = send_settled(&api, &a.auth, fifty(to)).await;
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("QUEUED"), Some("DELAY")), "{tx}");
    assert!(tx["txHash"].is_null());
    let dec = decision(&d, tx["id"].as_str().unwrap());
    assert_eq!(
        (dec["approvalReason"].as_str(), dec["downgraded"].as_bool(), dec["delaySeconds"].as_u64()),
        (Some("unpriced"), Some(true), Some(3600)),
        "{dec}"
    );
    assert_eq!(chain(|| balance(&node, to)), before, "nothing sent");

    // With an owner: APPROVAL.
    let b = agent(&api, "testnet").await;
    chain(|| node.fund(&b.address, 100 * ETH));
    let r = api.call("PUT", &format!("/v1/wallets/{}/owner", b.id), &Api::master(), Some(json!({"owner_address": OwnerKey::evm(0x42).address()}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let b_limit = policy(&api, &b.id, "SPENDING_LIMIT", usd_only.clone()).await;
    let tx = send_settled(&api, &b.auth, fifty(to)).await;
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("QUEUED"), Some("APPROVAL")), "{tx}");
    assert_eq!(decision(&d, tx["id"].as_str().unwrap())["approvalReason"], "unpriced");
    // A raw-unit threshold classifies it: its tier applies, not APPROVAL (DELAY here: 50 ETH
    // plus the 50 ETH already queued is above notify_max = 10 ETH, within delay_max = 1000 ETH).
    let with_raw = |instant: u128, notify: u128, delay: u128| {
        let mut rules = usd_only.clone();
        rules["instant_max"] = json!((instant * ETH).to_string());
        rules["notify_max"] = json!((notify * ETH).to_string());
        rules["delay_max"] = json!((delay * ETH).to_string());
        json!({"rules": rules})
    };
    let r = api.call("PUT", &format!("/v1/policies/{b_limit}"), &Api::master(), Some(with_raw(1, 10, 1000))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let p = simulate(&api, &b.auth, fifty(to)).await;
    assert_eq!((p["tier"].as_str(), p["approvalReason"].as_str()), (Some("DELAY"), None), "{p}");

    // Wallet a: cancel the queued 50 ETH (releases its reservation); with a raw INSTANT
    // threshold above 50 ETH it executes at once (NOTIFY: unpriced value is at least NOTIFY).
    let c = api.call("POST", &format!("/v1/transactions/{}/cancel", tx_id_of_queued(&api, &a.auth).await), &a.auth, None).await;
    assert_eq!(c.status, 200, "{:?}", c.body);
    let r = api.call("PUT", &format!("/v1/policies/{limit}"), &Api::master(), Some(with_raw(100, 100, 100))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let tx = send_settled(&api, &a.auth, fifty(to)).await;
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("CONFIRMED"), Some("NOTIFY")), "{tx}");
    assert_eq!(chain(|| balance(&node, to)) - before, 50 * ETH);
    drop(d);

    // Control: priced, the same USD-only limit lets a $2 send through at once.
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url).env("WAIAAS_PRICES_ETH", "2000"));
    let api = Api::new(&d.base);
    let c = agent(&api, "testnet").await;
    chain(|| node.fund(&c.address, 10 * ETH));
    policy(&api, &c.id, "SPENDING_LIMIT", usd_only).await;
    let before = chain(|| balance(&node, to));
    let tx = send_settled(&api, &c.auth, json!({"type": "TRANSFER", "to": to, "amount": (ETH / 1000).to_string()})).await;
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("CONFIRMED"), Some("INSTANT")), "{tx}");
    assert_eq!(chain(|| balance(&node, to)) - before, ETH / 1000);
    drop(d);
    stop(node);
}

/// The id of the agent's one QUEUED transaction.
async fn tx_id_of_queued(api: &Api, auth: &Auth) -> String {
    let p = api.call("GET", "/v1/transactions/pending", auth, None).await;
    let items = p.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{:?}", p.body);
    items[0]["id"].as_str().unwrap().into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_or_zero_price_is_no_price() {
    let node = chain(|| Anvil::start(SEPOLIA));
    let two_dollars = |to: &str| json!({"type": "TRANSFER", "to": to, "amount": (ETH / 1000).to_string()});
    let to = DEV_ACCOUNTS[7];
    let two_hours_ago = (waiaas_core::now() - 7200).to_string();
    // Fresh enough (max age 3 h), stale (default 30 min), zero.
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("WAIAAS_PRICES_ETH", "2000"), ("WAIAAS_PRICES_UPDATED_AT", two_hours_ago.as_str()), ("WAIAAS_ORACLE_MAX_AGE_SECONDS", "10800")], "INSTANT"),
        (&[("WAIAAS_PRICES_ETH", "2000"), ("WAIAAS_PRICES_UPDATED_AT", two_hours_ago.as_str())], "DELAY"),
        (&[("WAIAAS_PRICES_ETH", "0")], "DELAY"),
    ];
    for (env, tier) in cases {
        let mut opts = Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url);
        for (k, v) in env {
            opts = opts.env(k, v);
        }
        let d = Daemon::start(opts);
        let api = Api::new(&d.base);
        let a = agent(&api, "testnet").await;
        chain(|| node.fund(&a.address, 10 * ETH));
        let before = chain(|| balance(&node, to));
        let p = simulate(&api, &a.auth, two_dollars(to)).await;
        assert_eq!(p["tier"], tier, "{env:?}: {p}");
        let tx = send_settled(&api, &a.auth, two_dollars(to)).await;
        if tier == "INSTANT" {
            assert_eq!(tx["status"], "CONFIRMED", "{env:?}: {tx}");
            assert_eq!(chain(|| balance(&node, to)) - before, ETH / 1000);
        } else {
            assert_eq!(p["approvalReason"], "unpriced", "{env:?}: {p}");
            assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("QUEUED"), Some("DELAY")), "{env:?}: {tx}");
            assert_eq!(chain(|| balance(&node, to)), before, "{env:?}: nothing sent");
        }
    }
    stop(node);
}

/// A local CoinGecko: a real HTTP server on a loopback socket that records every request's
/// path and query and prices every token at $1 and ETH at $2000, dated now.
async fn oracle() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let log = log.clone();
        async move {
            let path = uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
            log.lock().unwrap().push(path.clone());
            let now = waiaas_core::now();
            let query: Vec<(String, String)> =
                uri.query().unwrap_or("").split('&').filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect();
            let arg = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.clone()).unwrap_or_default();
            let (key, usd) = if uri.path().starts_with("/simple/token_price/") { (arg("contract_addresses"), 1.0) } else { (arg("ids"), 2000.0) };
            let mut body = serde_json::Map::new();
            body.insert(key, json!({"usd": usd, "last_updated_at": now}));
            axum::Json(Value::Object(body))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowlists_run_before_any_oracle_lookup() {
    let (oracle_url, seen) = oracle().await;
    // CoinGecko prices mainnet tokens only: anvil poses as ethereum-mainnet (chain id 1).
    let node = chain(|| Anvil::start(1));
    let (allowed, others) = chain(|| {
        let allowed = deploy_token(&node, "OK", 6, 1_000_000_000);
        let others: Vec<String> = ["RNDA", "RNDB", "RNDC"].iter().map(|s| deploy_token(&node, s, 6, 1_000_000_000)).collect();
        (allowed, others)
    });
    let d = Daemon::start(
        Options::default()
            .env("WAIAAS_RPC_EVM_ETHEREUM_MAINNET", &node.url)
            .env("WAIAAS_ORACLE_ENABLED", "true")
            .env("WAIAAS_ORACLE_PYTH_URL", "")
            .env("WAIAAS_ORACLE_COINGECKO_URL", &oracle_url),
    );
    let api = Api::new(&d.base);
    let a = agent(&api, "mainnet").await;
    chain(|| {
        node.fund(&a.address, 10 * ETH);
        give_tokens(&node, &allowed, &a.address, 100_000_000);
        for t in &others {
            give_tokens(&node, t, &a.address, 100_000_000);
        }
    });
    policy(&api, &a.id, "ALLOWED_TOKENS", json!({"tokens": [{"address": allowed}]})).await;
    let to = DEV_ACCOUNTS[8];
    let transfer = |token: &str| json!({"type": "TOKEN_TRANSFER", "to": to, "amount": "5000000", "token": {"address": token}});

    // Real tokens nobody allowed: denied (send and simulate) without a single price request.
    for t in &others {
        let tx = send_settled(&api, &a.auth, transfer(t)).await;
        assert_eq!((tx["status"].as_str(), tx["errorCode"].as_str()), (Some("CANCELLED"), Some("TOKEN_NOT_ALLOWED")), "{tx}");
        let p = simulate(&api, &a.auth, transfer(t)).await;
        assert_eq!((p["allowed"].as_bool(), p["errorCode"].as_str()), (Some(false), Some("TOKEN_NOT_ALLOWED")), "{p}");
    }
    // Random addresses are no tokens at all: refused before the policy, no price request either.
    for i in 1..=3u8 {
        let random = format!("0x{}", hex::encode([0xa0 + i; 20]));
        let r = api.call("POST", "/v1/transactions/send", &a.auth, Some(transfer(&random))).await;
        assert_eq!((r.status, r.code()), (404, "TOKEN_NOT_FOUND"), "{:?}", r.body);
    }
    assert_eq!(*seen.lock().unwrap(), Vec::<String>::new(), "no oracle request for denied tokens");

    // Control: the allowlisted token is priced (one request, for that token) and sent.
    let tx = send_settled(&api, &a.auth, transfer(&allowed)).await;
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("CONFIRMED"), Some("INSTANT")), "{tx}");
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].starts_with("/simple/token_price/ethereum?"), "{requests:?}");
    assert!(requests[0].to_lowercase().contains(&allowed.to_lowercase()), "{requests:?}");
    let usd: f64 = db(&d).query_row("SELECT amount_usd FROM transactions WHERE id = ?1", [tx["id"].as_str().unwrap()], |r| r.get(0)).unwrap();
    assert!((usd - 5.0).abs() < 1e-9, "priced at the oracle's $1: {usd}");
    assert_eq!(chain(|| token_balance(&node, &allowed, to)), 5_000_000);
    drop(d);
    stop(node);
}

/// Solana, against the real solana-test-validator: unpriced SOL waits, a `native:solana` token
/// limit classifies it, and priced SOL goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solana_unpriced_value_waits_unless_a_token_limit_classifies_it() {
    let validator = chain(waiaas_testnodes::solana::shared);
    let lamports = |addr: &str| chain(|| validator.rpc("getBalance", json!([addr, {"commitment": "confirmed"}]))["value"].as_u64().unwrap());
    let fresh = || bs58::encode(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng).verifying_key().to_bytes()).into_string();
    let sol_agent = |api: Api| async move {
        let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "sol", "chain": "solana", "environment": "testnet"}))).await;
        assert_eq!(w.status, 201, "{:?}", w.body);
        let a = Agent {
            id: w.body["id"].as_str().unwrap().into(),
            address: w.body["publicKey"].as_str().unwrap().into(),
            auth: Auth::Session(w.body["session"]["token"].as_str().unwrap().into()),
        };
        chain(|| validator.airdrop(&a.address, 5_000_000_000));
        a
    };
    let one_sol = |to: &str| json!({"type": "TRANSFER", "to": to, "amount": "1000000000"});

    // No price for SOL: 1 SOL waits (no owner: DELAY), nothing lands.
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_SOLANA_DEVNET", &validator.url));
    let api = Api::new(&d.base);
    let a = sol_agent(api.clone()).await;
    let to = fresh();
    let tx = send_settled(&api, &a.auth, one_sol(&to)).await;
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("QUEUED"), Some("DELAY")), "{tx}");
    assert_eq!(decision(&d, tx["id"].as_str().unwrap())["approvalReason"], "unpriced");
    assert_eq!(lamports(&to), 0, "nothing sent");
    let c = api.call("POST", &format!("/v1/transactions/{}/cancel", tx["id"].as_str().unwrap()), &a.auth, None).await;
    assert_eq!(c.status, 200, "{:?}", c.body);
    // A `native:solana` token limit classifies it: INSTANT up to 2 SOL (at least NOTIFY, unpriced).
    policy(
        &api,
        &a.id,
        "SPENDING_LIMIT",
        json!({"instant_max_usd": 10, "token_limits": {"native:solana": {"instant_max": "2", "notify_max": "2", "delay_max": "2"}}}),
    )
    .await;
    let tx = send_settled(&api, &a.auth, one_sol(&to)).await;
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("CONFIRMED"), Some("NOTIFY")), "{tx}");
    assert_eq!(lamports(&to), 1_000_000_000);
    drop(d);

    // Control: priced at $5 per SOL, 1 SOL is $5, INSTANT.
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_SOLANA_DEVNET", &validator.url).env("WAIAAS_PRICES_SOL", "5"));
    let api = Api::new(&d.base);
    let b = sol_agent(api.clone()).await;
    let to = fresh();
    let tx = send_settled(&api, &b.auth, one_sol(&to)).await;
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("CONFIRMED"), Some("INSTANT")), "{tx}");
    assert_eq!(lamports(&to), 1_000_000_000);
}
