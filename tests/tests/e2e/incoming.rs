//! The incoming transaction monitor (issue 20) against a real anvil: native and ERC-20
//! transfers into a monitored wallet are recorded once, DETECTED then CONFIRMED at the
//! configured depth, and listed to the wallet's session and to the operator; a wallet not
//! monitored records nothing. Dust and tokens the registry does not list are suspicious and
//! raise `TX_INCOMING_SUSPICIOUS` (a webhook receives it); a plain transfer raises
//! `TX_INCOMING`. A daemon SIGKILLed five times while 50 transfers arrive over about a minute
//! (some while it is down) resumes from its durable cursor and records each exactly once.
//! Against the Solana validator: SOL, SPL Token and Token-2022 transfers the same way; a
//! listed token the wallet's ALLOWED_TOKENS does not allow is suspicious. Also: the
//! low-balance warning, and new blocks announced over a `wss://` subscription.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use waiaas_e2e::evm::{deploy_token, give_tokens, hex_u128};
use waiaas_e2e::*;
use waiaas_testnodes::anvil::{Anvil, DEV_ACCOUNTS};

fn options(node: &Anvil, confirmations: u32) -> Options {
    Options::default()
        .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url)
        .env("WAIAAS_PRICES_ETH", "2000")
        .env("WAIAAS_INCOMING_ENABLED", "true")
        .env("WAIAAS_INCOMING_POLL_INTERVAL", "1")
        .env("WAIAAS_INCOMING_CONFIRMATIONS", &confirmations.to_string())
        // The webhook receiver listens on loopback.
        .env("WAIAAS_SECURITY_WEBHOOK_ALLOW_PRIVATE", "true")
}

/// A local webhook receiver: every delivery's `X-WAIaaS-Event` and body, answered 200.
async fn webhook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>) {
    let got = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                let event = headers.get("x-waiaas-event").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                sink.lock().unwrap().push((event, body));
                axum::http::StatusCode::OK
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, got)
}

/// An EVM wallet with `monitorIncoming` on; returns (id, address, session).
async fn monitored_wallet(api: &Api, name: &str) -> (String, String, Auth) {
    monitored_wallet_on(api, name, "ethereum").await
}

/// A wallet on `chain` with `monitorIncoming` on; returns (id, address, session).
async fn monitored_wallet_on(api: &Api, name: &str, chain: &str) -> (String, String, Auth) {
    let (id, address, session) = api.wallet_on(name, chain).await;
    let r = api.call("PATCH", &format!("/v1/wallets/{id}"), &Api::master(), Some(json!({"monitorIncoming": true}))).await;
    assert_eq!((r.status, &r.body["monitorIncoming"]), (200, &json!(true)), "{:?}", r.body);
    (id, address, session)
}

/// Send `wei` from dev account 3 to `to` (mined at once).
fn pay(node: &Anvil, to: &str, wei: u128) -> String {
    node.exec(json!({"from": DEV_ACCOUNTS[3], "to": to, "value": format!("0x{wei:x}")}))["transactionHash"].as_str().unwrap().to_string()
}

/// Every record of the operator's list with `status` (the tests hold at most 50: one page of
/// 200), checking that the page and its total agree (one snapshot, even while the monitor
/// writes).
async fn all_records(api: &Api, status: &str) -> Vec<Value> {
    let r = api.call("GET", &format!("/v1/admin/incoming?status={status}&limit=200"), &Api::master(), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let items = r.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len() as i64, r.body["total"].as_i64().unwrap(), "{:?}", r.body);
    assert!(items.iter().all(|i| i["walletName"].is_string()), "{:?}", r.body);
    items
}

/// The details of `wallet`'s audit events of type `kind`.
async fn events(api: &Api, wallet: &str, kind: &str) -> Vec<Value> {
    let r = api.call("GET", &format!("/v1/audit-logs?event_type={kind}&wallet_id={wallet}"), &Api::master(), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["data"].as_array().unwrap().iter().map(|e| e["details"].clone()).collect()
}

/// Wait until `check` holds of the operator's `status` list (panics after `limit`).
async fn wait_records(api: &Api, status: &str, limit: Duration, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let t0 = Instant::now();
    loop {
        let rows = all_records(api, status).await;
        if check(&rows) {
            return rows;
        }
        assert!(t0.elapsed() < limit, "{status} records never matched: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_and_token_transfers_into_a_monitored_wallet_are_recorded_once_and_confirmed_at_depth() {
    let node = tokio::task::block_in_place(|| Anvil::start(11155111));
    let d = Daemon::start(options(&node, 3));
    let api = Api::new(&d.base);
    let (a, a_addr, a_session) = monitored_wallet(&api, "watched").await;
    let (_, b_addr, b_session) = api.evm_wallet("not-watched").await;
    let token = tokio::task::block_in_place(|| deploy_token(&node, "TT", 6, 1_000_000_000));
    let (hook_url, hooked) = webhook_receiver().await;
    let r = api.call("POST", "/v1/webhooks", &Api::master(), Some(json!({"url": hook_url, "events": ["TX_INCOMING_SUSPICIOUS"]}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    // The watcher's first round puts the new wallet's cursor at the head.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let (native, to_b) = tokio::task::block_in_place(|| {
        let native = pay(&node, &a_addr, 10u128.pow(18));
        let to_b = pay(&node, &b_addr, 2 * 10u128.pow(18));
        node.exec(json!({"from": DEV_ACCOUNTS[3], "to": a_addr, "value": "0x0"})); // no value: not a transfer
        pay(&node, &a_addr, 1); // one wei: dust at 2,000 USD an ETH
        give_tokens(&node, &token, &a_addr, 500);
        (native, to_b)
    });
    // The native transfer's block is 4 deep by the time the token one is mined (and may be
    // CONFIRMED already); the token transfer's block is the head: DETECTED.
    let token_block = tokio::task::block_in_place(|| hex_u128(&node.rpc("eth_blockNumber", json!([])))) as i64;
    // Wait for the token transfer itself: a round may have scanned up to the dust block before
    // the token block was mined (a fresh-clone run saw 2 of 3 records).
    let detected = wait_records(&api, "DETECTED", Duration::from_secs(20), |rows| rows.iter().any(|r| !r["tokenAddress"].is_null())).await;
    let recorded = [detected.clone(), all_records(&api, "CONFIRMED").await].concat();
    assert_eq!(recorded.len(), 3, "{recorded:#?}");
    let native_row = recorded.iter().find(|r| r["tokenAddress"].is_null() && r["amount"] != json!("1")).expect("the native transfer");
    let dust_row = recorded.iter().find(|r| r["amount"] == json!("1")).expect("the dust transfer");
    assert_eq!(dust_row["suspicious"], json!(true), "{dust_row}");
    assert_eq!(native_row["txHash"].as_str().unwrap(), native.to_lowercase());
    assert_eq!(
        (&native_row["walletId"], &native_row["amount"], &native_row["chain"], &native_row["network"], &native_row["suspicious"]),
        (&json!(a), &json!("1000000000000000000"), &json!("ethereum"), &json!("ethereum-sepolia"), &json!(false))
    );
    assert!(native_row["fromAddress"].as_str().unwrap().eq_ignore_ascii_case(DEV_ACCOUNTS[3]), "{native_row}");
    assert_eq!(native_row["walletName"], json!("watched"));
    let token_row = detected.iter().find(|r| !r["tokenAddress"].is_null()).expect("the token transfer, DETECTED");
    assert!(token_row["tokenAddress"].as_str().unwrap().eq_ignore_ascii_case(&token), "{token_row}");
    assert_eq!((&token_row["amount"], &token_row["walletId"], &token_row["blockNumber"]), (&json!("500"), &json!(a), &json!(token_block)));
    assert!(token_row["fromAddress"].as_str().unwrap().eq_ignore_ascii_case(DEV_ACCOUNTS[0]), "{token_row}");
    assert!(token_row["confirmedAt"].is_null());
    assert_eq!(token_row["suspicious"], json!(true), "a token the registry does not list: {token_row}");
    assert!(recorded.iter().all(|r| r["txHash"] != json!(to_b.to_lowercase())), "wallet b is not monitored");

    // Three blocks deep (the head counts as one): CONFIRMED, with the time it was.
    tokio::task::block_in_place(|| (0..3).for_each(|_| node.mine()));
    let confirmed = wait_records(&api, "CONFIRMED", Duration::from_secs(20), |rows| rows.len() == 3).await;
    assert!(confirmed.iter().all(|r| r["confirmedAt"].as_i64().is_some()), "{confirmed:#?}");
    assert!(all_records(&api, "DETECTED").await.is_empty());
    // Later rounds rescan nothing into a second record.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(all_records(&api, "CONFIRMED").await.len(), 3);
    // One event per new record: the plain transfer TX_INCOMING, the dust and the unknown
    // token TX_INCOMING_SUSPICIOUS with their reasons (to every channel: a security event).
    let plain = events(&api, &a, "TX_INCOMING").await;
    assert_eq!(plain.len(), 1, "{plain:?}");
    let mut alarms: Vec<String> = events(&api, &a, "TX_INCOMING_SUSPICIOUS").await.iter().map(|d| d.to_string()).collect();
    alarms.sort();
    assert_eq!(alarms.len(), 2, "{alarms:?}");
    assert!(alarms.iter().any(|d| d.contains("dust")) && alarms.iter().any(|d| d.contains("unknown_token")), "{alarms:?}");
    // The webhook received both alarms (and nothing it did not subscribe to).
    let t0 = Instant::now();
    loop {
        let got = hooked.lock().unwrap().clone();
        if got.len() >= 2 {
            assert!(got.iter().all(|(event, _)| event == "TX_INCOMING_SUSPICIOUS"), "{got:?}");
            assert!(got.iter().any(|(_, body)| body.contains("dust")) && got.iter().any(|(_, body)| body.contains("unknown_token")), "{got:?}");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "webhook deliveries missing: {got:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The session's view: its wallet's records (CONFIRMED by default), paged by cursor.
    let page = api.call("GET", "/v1/wallet/incoming?limit=2", &a_session, None).await;
    assert_eq!((page.status, page.body["data"].as_array().unwrap().len(), &page.body["hasMore"]), (200, 2, &json!(true)), "{:?}", page.body);
    let cursor = page.body["nextCursor"].as_str().unwrap().to_string();
    let next = api.call("GET", &format!("/v1/wallet/incoming?limit=2&cursor={cursor}"), &a_session, None).await;
    assert_eq!(
        (next.status, next.body["data"].as_array().unwrap().len(), &next.body["hasMore"], &next.body["nextCursor"]),
        (200, 1, &json!(false), &Value::Null),
        "{:?}",
        next.body
    );
    let ids: BTreeSet<&str> = [&page.body, &next.body].iter().flat_map(|b| b["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap())).collect();
    assert_eq!(ids.len(), 3, "two pages, three different records");
    let tokens_only = api.call("GET", &format!("/v1/wallet/incoming?token={}", token_row["tokenAddress"].as_str().unwrap()), &a_session, None).await;
    assert_eq!(tokens_only.body["data"].as_array().unwrap().len(), 1, "{:?}", tokens_only.body);
    // The summary: today's CONFIRMED transfers; the native sum; no USD total, since the test
    // token has no price.
    let today = api.call("GET", "/v1/wallet/incoming/summary", &a_session, None).await;
    assert_eq!((today.status, &today.body["period"]), (200, &json!("daily")), "{:?}", today.body);
    let entries = today.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{:?}", today.body);
    assert_eq!(
        (&entries[0]["totalCount"], &entries[0]["totalAmountNative"], &entries[0]["totalAmountUsd"], &entries[0]["suspiciousCount"]),
        (&json!(3), &json!("1000000000000000001"), &Value::Null, &json!(2))
    );
    let weekly = api.call("GET", "/v1/wallet/incoming/summary?period=weekly", &a_session, None).await;
    let week = weekly.body["entries"][0]["date"].as_str().unwrap_or_default().to_string();
    assert!(week.len() == 8 && &week[4..6] == "-W", "{:?}", weekly.body);
    assert_eq!(api.call("GET", "/v1/wallet/incoming/summary?period=hourly", &a_session, None).await.status, 400);
    // Wallet b's session sees nothing; it cannot ask for wallet a's.
    let none = api.call("GET", "/v1/wallet/incoming", &b_session, None).await;
    assert_eq!((none.status, none.body["data"].as_array().unwrap().len()), (200, 0));
    let denied = api.call("GET", &format!("/v1/wallet/incoming?wallet_id={a}"), &b_session, None).await;
    assert_eq!((denied.status, &denied.body["code"]), (403, &json!("WALLET_ACCESS_DENIED")), "{:?}", denied.body);
    // Bad input is refused with the field named.
    for (query, field) in [("status=LOST", "status"), ("limit=0", "limit"), ("cursor=not-a-cursor", "cursor"), ("network=moon", "network")] {
        let r = api.call("GET", &format!("/v1/wallet/incoming?{query}"), &a_session, None).await;
        assert_eq!(r.status, 400, "{query}: {:?}", r.body);
        assert!(r.body["message"].as_str().unwrap_or_default().to_lowercase().contains(field) || r.body.to_string().contains(field), "{query}: {:?}", r.body);
    }
    let r = api.call("GET", "/v1/admin/incoming?limit=201", &Api::master(), None).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    let suspicious = api.call("GET", "/v1/admin/incoming?suspicious=true", &Api::master(), None).await;
    assert_eq!((suspicious.body["total"].as_i64(), suspicious.body["items"].as_array().map(Vec::len)), (Some(2), Some(2)), "{:?}", suspicious.body);
    // A second plain transfer within the cooldown (5 minutes by default) is recorded without
    // a second TX_INCOMING; while the kill switch is engaged, transfers are recorded and
    // nothing is announced, not even a suspicious one.
    tokio::task::block_in_place(|| pay(&node, &a_addr, 2 * 10u128.pow(18)));
    wait_records(&api, "DETECTED", Duration::from_secs(20), |rows| rows.len() == 1).await;
    assert_eq!(events(&api, &a, "TX_INCOMING").await.len(), 1);
    let r = api.call("POST", "/v1/admin/kill-switch", &Api::master(), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    tokio::task::block_in_place(|| pay(&node, &a_addr, 1));
    wait_records(&api, "DETECTED", Duration::from_secs(20), |rows| rows.len() == 2).await;
    let r = api.call("POST", "/v1/admin/recover", &Api::master(), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((events(&api, &a, "TX_INCOMING").await.len(), events(&api, &a, "TX_INCOMING_SUSPICIOUS").await.len()), (1, 2));
    // Each list needs its credential.
    assert_eq!(api.call("GET", "/v1/wallet/incoming", &Auth::None, None).await.status, 401);
    assert_eq!(api.call("GET", "/v1/admin/incoming", &a_session, None).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_monitor_resumes_from_its_cursor_and_records_each_of_50_transfers_once() {
    let node = tokio::task::block_in_place(|| Anvil::start(11155111));
    let opts = options(&node, 1);
    let mut d = Daemon::start(opts.clone());
    let dir = d.dir.clone();
    let _tmp = d.take_tmp();
    let api = Api::new(&d.base);
    let (_, addr, session) = monitored_wallet(&api, "killed").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let mut hashes = BTreeSet::new();
    for round in 0..5u128 {
        // Ten transfers while the daemon runs (a round may be mid-scan), then a SIGKILL; in
        // two rounds, five of the ten arrive while no daemon runs.
        for i in 0..10u128 {
            if round % 2 == 1 && i == 5 {
                unsafe { libc::kill(d.child.id() as i32, libc::SIGKILL) };
                let _ = d.child.wait();
            }
            hashes.insert(tokio::task::block_in_place(|| pay(&node, &addr, 1_000_000 + round * 100 + i)).to_lowercase());
            // The 50 arrive over about a minute, so the kills fall at every phase of the
            // monitor's one-second rounds.
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        if round % 2 == 0 {
            unsafe { libc::kill(d.child.id() as i32, libc::SIGKILL) };
            let _ = d.child.wait();
        }
        d = Daemon::start_in(&dir, opts.clone()).unwrap_or_else(|e| panic!("restart: {e:?}"));
    }
    let api = Api::new(&d.base);
    let rows = wait_records(&api, "CONFIRMED", Duration::from_secs(30), |rows| rows.len() >= 50).await;
    // Once more after a last round: still exactly the 50.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let rows_after = all_records(&api, "CONFIRMED").await;
    assert_eq!(rows_after.len(), 50, "{rows:#?}");
    let seen: BTreeSet<String> = rows_after.iter().map(|r| r["txHash"].as_str().unwrap().to_string()).collect();
    assert_eq!(seen, hashes, "each transfer recorded, once");
    let total: u128 = rows_after.iter().map(|r| r["amount"].as_str().unwrap().parse::<u128>().unwrap()).sum();
    assert_eq!(total, (0..5u128).map(|r| (0..10u128).map(|i| 1_000_000 + r * 100 + i).sum::<u128>()).sum::<u128>());
    assert!(all_records(&api, "DETECTED").await.is_empty());
    // The summary values the native transfers at the configured price (2,000 USD an ETH).
    let summary = api.call("GET", "/v1/wallet/incoming/summary?period=monthly", &session, None).await;
    let entry = &summary.body["entries"][0];
    assert_eq!((&entry["totalCount"], &entry["totalAmountNative"]), (&json!(50), &json!(total.to_string())), "{:?}", summary.body);
    let usd = entry["totalAmountUsd"].as_f64().unwrap();
    assert!((usd - total as f64 / 1e18 * 2000.0).abs() < 1e-12, "{usd}");
    // A transfer far above the wallet's usual inflow (about 1,000,000 wei each) is flagged.
    let big = tokio::task::block_in_place(|| pay(&node, &addr, 1_000_000_000)).to_lowercase();
    wait_records(&api, "CONFIRMED", Duration::from_secs(20), |rows| rows.len() == 51).await;
    let wallet = rows_after[0]["walletId"].as_str().unwrap().to_string();
    let alarm =
        events(&api, &wallet, "TX_INCOMING_SUSPICIOUS").await.into_iter().find(|d| d.to_string().contains(&big)).expect("an alarm for the big transfer");
    assert!(alarm.to_string().contains("large_amount"), "{alarm}");
    let usual = events(&api, &wallet, "TX_INCOMING_SUSPICIOUS").await.into_iter().find(|d| !d.to_string().contains(&big)).expect("alarms for the dust");
    assert!(!usual.to_string().contains("large_amount"), "{usual}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sol_spl_and_token_2022_transfers_into_a_monitored_solana_wallet_are_recorded_once() {
    let c = waiaas_e2e::solana::Chainside::new().await;
    let d = Daemon::start(
        Options::default()
            .env("WAIAAS_RPC_SOLANA_DEVNET", &waiaas_e2e::solana::node().url)
            .env("WAIAAS_PRICES_SOL", "100")
            .env("WAIAAS_INCOMING_ENABLED", "true")
            .env("WAIAAS_INCOMING_POLL_INTERVAL", "1")
            .env("WAIAAS_INCOMING_CONFIRMATIONS", "4"),
    );
    let api = Api::new(&d.base);
    let (a, a_addr, _) = monitored_wallet_on(&api, "watched-sol", "solana").await;
    let (_, b_addr, _) = api.wallet_on("not-watched-sol", "solana").await;
    // Both mints are listed in the registry; only the Token-2022 one is on a's ALLOWED_TOKENS.
    for (mint, symbol, decimals) in [(c.spl, "TSPL", 6), (c.t22, "T22", 9)] {
        let body = json!({"network": "solana-devnet", "address": mint.to_string(), "symbol": symbol, "name": symbol, "decimals": decimals});
        let r = api.call("POST", "/v1/tokens", &Api::master(), Some(body)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    api.create_policy(&a, "ALLOWED_TOKENS", json!({"tokens": [{"address": c.t22.to_string()}]})).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let sol = c.pay(&a_addr, 2_000_000_000).await;
    let dust = c.pay(&a_addr, 1).await; // 1 lamport: 1e-7 USD at 100 USD a SOL
    let spl = c.give(&a_addr, &c.spl, 5_000_000).await;
    let t22 = c.give(&a_addr, &c.t22, 7_000_000_000).await;
    let to_b = c.pay(&b_addr, 1_000_000_000).await;

    let rows = wait_records(&api, "CONFIRMED", Duration::from_secs(30), |rows| rows.len() >= 4).await;
    assert_eq!(rows.len(), 4, "{rows:#?}");
    let by_hash = |h: &str| rows.iter().find(|r| r["txHash"] == json!(h)).unwrap_or_else(|| panic!("no record of {h}: {rows:#?}"));
    let funder = c.funder.address.clone();
    for (hash, amount, token, suspicious) in [
        (&sol, "2000000000", Value::Null, false),
        (&dust, "1", Value::Null, true),
        (&spl, "5000000", json!(c.spl.to_string()), true),
        (&t22, "7000000000", json!(c.t22.to_string()), false),
    ] {
        let r = by_hash(hash);
        assert_eq!(
            (&r["walletId"], &r["amount"], &r["tokenAddress"], &r["fromAddress"], &r["suspicious"]),
            (&json!(a), &json!(amount), &token, &json!(funder), &json!(suspicious)),
            "{r}"
        );
        assert_eq!((&r["chain"], &r["network"]), (&json!("solana"), &json!("solana-devnet")), "{r}");
        assert!(r["blockNumber"].as_i64().unwrap() > 0 && r["confirmedAt"].as_i64().is_some(), "{r}");
    }
    assert!(rows.iter().all(|r| r["txHash"] != json!(to_b)), "wallet b is not monitored");
    // Later rounds record nothing twice.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(all_records(&api, "CONFIRMED").await.len(), 4);
    assert!(all_records(&api, "DETECTED").await.is_empty());
    // The listed SPL token is suspicious for what the wallet's policy says, not for being
    // unknown; the dust for its value.
    let alarms: Vec<String> = events(&api, &a, "TX_INCOMING_SUSPICIOUS").await.iter().map(|d| d.to_string()).collect();
    assert_eq!(alarms.len(), 2, "{alarms:?}");
    let spl_alarm = alarms.iter().find(|d| d.contains(&spl)).expect("the SPL transfer's alarm");
    assert!(spl_alarm.contains("token_not_allowed") && !spl_alarm.contains("unknown_token"), "{spl_alarm}");
    assert!(alarms.iter().any(|d| d.contains(&dust) && d.contains("dust")), "{alarms:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_under_its_low_balance_threshold_is_warned_once_per_cooldown_and_again_after_a_top_up() {
    let node = tokio::task::block_in_place(|| Anvil::start(11155111));
    let d = Daemon::start(
        Options::default()
            .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url)
            .env("WAIAAS_SECURITY_MONITORING_CHECK_INTERVAL_SEC", "1")
            .env("WAIAAS_SECURITY_MONITORING_LOW_BALANCE_THRESHOLD_ETH", "0.005"),
    );
    let api = Api::new(&d.base);
    let set_balance = |addr: &str, wei: u128| tokio::task::block_in_place(|| node.rpc("anvil_setBalance", json!([addr, format!("0x{wei:x}")])));
    let (a, a_addr, _) = api.evm_wallet("low").await;
    let (b, b_addr, _) = api.evm_wallet("high").await;
    set_balance(&b_addr, 10u128.pow(18));
    let warnings = |wallet: String| {
        let api = &api;
        async move { events(api, &wallet, "LOW_BALANCE").await }
    };
    let wait_for = |wallet: String, n: usize| {
        let warnings = &warnings;
        async move {
            let t0 = Instant::now();
            loop {
                let got = warnings(wallet.clone()).await;
                if got.len() >= n {
                    return got;
                }
                assert!(t0.elapsed() < Duration::from_secs(15), "{n} LOW_BALANCE warnings never came: {got:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    // A new wallet holds nothing: warned, with the network, balance and threshold.
    let first = wait_for(a.clone(), 1).await;
    assert_eq!(
        (&first[0]["network"], &first[0]["balance"], &first[0]["threshold"], &first[0]["symbol"], &first[0]["thresholdFormatted"]),
        (&json!("ethereum-sepolia"), &json!("0"), &json!("5000000000000000"), &json!("ETH"), &json!("0.005")),
        "{first:?}"
    );
    // Within the cooldown (24 h by default) it stays one warning. b holds 1 ETH: a check
    // made before its top-up may have warned it once, none after.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(warnings(a.clone()).await.len(), 1);
    let b_before = warnings(b.clone()).await.len();
    assert!(b_before <= 1);
    // Topped up above the threshold, then drained under it again: warned again at once.
    set_balance(&a_addr, 10u128.pow(18));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(warnings(a.clone()).await.len(), 1, "no warning while the balance is above the threshold");
    set_balance(&a_addr, 10u128.pow(15));
    let again = wait_for(a.clone(), 2).await;
    assert!(again.iter().any(|e| e["balance"] == json!("1000000000000000")), "{again:?}");
    assert_eq!(warnings(b.clone()).await.len(), b_before, "a wallet above its threshold is not warned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_blocks_announced_over_a_wss_subscription_are_scanned_without_waiting_for_the_poll() {
    use waiaas_testnodes::tls::{make_certs, terminator};
    let node = tokio::task::block_in_place(|| Anvil::start(11155111));
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    // anvil serves WebSocket on its HTTP port; the terminator puts TLS in front of it.
    let port = terminator(certs.path(), node.url.trim_start_matches("http://").trim_end_matches('/').to_string()).await;
    // Polling once an hour: only the subscription can wake the monitor within the test.
    let d = Daemon::start(
        options(&node, 1)
            .env("WAIAAS_INCOMING_POLL_INTERVAL", "3600")
            .env("WAIAAS_INCOMING_WSS_URL_ETHEREUM_SEPOLIA", &format!("wss://localhost:{port}"))
            .env("SSL_CERT_FILE", certs.path().join("ca.pem").to_str().unwrap()),
    );
    let api = Api::new(&d.base);
    let (a, a_addr, _) = monitored_wallet(&api, "subscribed").await;
    // A first block puts the wallet's cursor at the head (the round it wakes).
    tokio::task::block_in_place(|| node.mine());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let t0 = Instant::now();
    let hash = tokio::task::block_in_place(|| pay(&node, &a_addr, 3 * 10u128.pow(17)));
    let rows = wait_records(&api, "CONFIRMED", Duration::from_secs(10), |rows| !rows.is_empty()).await;
    println!("block to record over wss: {} ms", t0.elapsed().as_millis());
    assert_eq!((&rows[0]["txHash"], &rows[0]["walletId"], &rows[0]["amount"]), (&json!(hash.to_lowercase()), &json!(a), &json!("300000000000000000")));
}
