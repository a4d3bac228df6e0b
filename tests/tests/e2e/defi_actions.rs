//! DeFi actions end to end (issue 21): the providers resolve real protocol contracts deployed
//! on anvil (Uniswap v2 from its published artifacts, a stETH-style staking contract, a 0x
//! quote server answering for the local Uniswap), and every step passes the policy engine as
//! one bundle run in order.

use serde_json::{json, Value};
use std::time::Duration;
use waiaas_e2e::defi::UniswapV2;
use waiaas_e2e::evm::{word_addr, Node};
use waiaas_e2e::fakes::zerox::{Tamper, ZeroXApi};
use waiaas_e2e::*;
use waiaas_testnodes::anvil::{artifact, DEV_ACCOUNTS};

const ETH: u128 = 1_000_000_000_000_000_000;
/// TestToken units (6 decimals).
const TST: u128 = 1_000_000;
const ZEROX_KEY: &str = "zx-test-key";
const WAIT: Duration = Duration::from_secs(60);
const RUNNING: &[&str] = &["PENDING", "QUEUED", "EXECUTING", "SUBMITTED"];

struct World {
    node: Node,
    uni: UniswapV2,
    /// TestToken (6 decimals, $1 by `[prices]`; the pool prices 2,000 TST per ETH = $2,000).
    tst: String,
    steth: String,
    zerox: ZeroXApi,
}

impl World {
    async fn start() -> World {
        let node = Node::start(11155111);
        let uni = UniswapV2::deploy(&node);
        let tst = node.deploy_erc20("TestToken", "Swap", 6, 10_000_000 * TST);
        uni.add_liquidity_eth(&node, &tst, 200_000 * TST, 100 * ETH);
        let steth = node.deploy(artifact("StakedEther")["bytecode"].as_str().unwrap(), DEV_ACCOUNTS[0]);
        let zerox = ZeroXApi::start(&node.url(), &uni.router, &uni.weth, ZEROX_KEY).await;
        World { node, uni, tst, steth, zerox }
    }

    fn options(&self) -> Options {
        Options::default()
            .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &self.node.url())
            .env("WAIAAS_PRICES_ETH", "2000")
            .env(&format!("WAIAAS_PRICES_{}", self.tst), "1")
            .env("WAIAAS_ACTIONS_UNISWAP_V2_ENABLED", "true")
            .env("WAIAAS_ACTIONS_UNISWAP_V2_ROUTER_ADDRESS", &self.uni.router)
            .env("WAIAAS_ACTIONS_LIDO_STAKING_ENABLED", "true")
            .env("WAIAAS_ACTIONS_LIDO_STAKING_STETH_ADDRESS", &self.steth)
            .env("WAIAAS_ACTIONS_ZEROX_SWAP_ENABLED", "true")
            .env("WAIAAS_ACTIONS_ZEROX_SWAP_API_URL", &self.zerox.base)
            .env("WAIAAS_ACTIONS_ZEROX_SWAP_API_KEY", ZEROX_KEY)
    }

    /// A funded wallet (10 ETH, 1,000 TST) whose policies let it use the router and stETH:
    /// CONTRACT_WHITELIST, ALLOWED_TOKENS and APPROVED_SPENDERS (the router).
    async fn agent(&self, api: &Api) -> Agent {
        let (wallet, address, auth) = api.evm_wallet("defi").await;
        self.node.fund(&address, 10 * ETH);
        self.node.exec(json!({"from": DEV_ACCOUNTS[0], "to": self.tst, "data": format!("0xa9059cbb{}{:064x}", word_addr(&address), 1000 * TST)}));
        api.create_policy(&wallet, "CONTRACT_WHITELIST", json!({"contracts": [{"address": self.uni.router}, {"address": self.steth}]})).await;
        api.create_policy(&wallet, "ALLOWED_TOKENS", json!({"tokens": [{"address": self.tst}]})).await;
        Agent { wallet, address, auth }
    }

    /// A daemon started with `opts` (see [`World::options`]), its API, and a funded agent.
    async fn open(&self, opts: Options) -> (Daemon, Api, Agent) {
        let d = Daemon::start(opts);
        let api = Api::new(&d.base);
        let a = self.agent(&api).await;
        (d, api, a)
    }

    /// APPROVED_SPENDERS: the router.
    async fn allow_router(&self, api: &Api, a: &Agent) {
        api.create_policy(&a.wallet, "APPROVED_SPENDERS", json!({"spenders": [{"address": self.uni.router}]})).await;
    }

    /// `(block, index)` of a mined transaction.
    fn position(&self, hash: &str) -> (u128, u128) {
        let r = self.node.receipt(hash);
        assert_eq!(r["status"], "0x1", "{r}");
        (evm::hex_u128(&r["blockNumber"]), evm::hex_u128(&r["transactionIndex"]))
    }

    /// Wei the wallet paid in fees for `hash`.
    fn fee(&self, hash: &str) -> u128 {
        let r = self.node.receipt(hash);
        evm::hex_u128(&r["gasUsed"]) * evm::hex_u128(&r["effectiveGasPrice"])
    }
}

struct Agent {
    wallet: String,
    address: String,
    auth: Auth,
}

async fn act(api: &Api, a: &Agent, path: &str, params: Value) -> Resp {
    api.call("POST", &format!("/v1/actions/{path}"), &a.auth, Some(json!({ "params": params }))).await
}

/// The steps of a 201 answer: `pipeline` when several, else the one `{id, status}`.
fn steps(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 201, "{:?}", r.body);
    match r.body["pipeline"].as_array() {
        Some(p) => {
            assert_eq!(r.body["id"], p.last().unwrap()["id"], "the answer's id is the last step's: {}", r.body);
            p.iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
        }
        None => vec![r.body["id"].as_str().unwrap().to_string()],
    }
}

async fn settle(api: &Api, a: &Agent, ids: &[String]) -> Vec<Value> {
    let mut out = vec![];
    for id in ids {
        out.push(api.wait_tx(&a.auth, id, RUNNING, WAIT).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_are_listed_as_enabled_and_bad_requests_change_nothing() {
    let w = World::start().await;
    let (_d, api, a) = w.open(w.options().env("WAIAAS_ACTIONS_ZEROX_SWAP_API_KEY", "")).await;
    let list = api.call("GET", "/v1/actions/providers", &a.auth, None).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let by_name = |n: &str| list.body["providers"].as_array().unwrap().iter().find(|p| p["name"] == n).cloned().unwrap_or_else(|| panic!("{n}: {}", list.body));
    let uni = by_name("uniswap_v2");
    assert_eq!(
        (uni["isEnabled"].clone(), uni["actions"][0]["name"].clone(), uni["actions"][0]["defaultTier"].clone()),
        (json!(true), json!("swap"), json!("NOTIFY"))
    );
    assert_eq!(uni["actions"][0]["inputSchema"]["required"], json!(["tokenIn", "tokenOut", "amountIn"]), "{uni}");
    // The agent learns of them from connect-info.
    let info = api.call("GET", "/v1/connect-info", &a.auth, None).await;
    assert!(info.body["capabilities"].as_array().unwrap().contains(&json!("actions")), "{:?}", info.body);
    assert!(info.body["prompt"].as_str().unwrap().contains("uniswap_v2 (swap)"), "{:?}", info.body["prompt"]);
    let zx = by_name("zerox_swap");
    assert_eq!((zx["requiresApiKey"].clone(), zx["hasApiKey"].clone()), (json!(true), json!(false)));

    for (path, params, status, code) in [
        ("nope/swap", json!({}), 404, "ACTION_NOT_FOUND"),
        ("uniswap_v2/nope", json!({}), 404, "ACTION_NOT_FOUND"),
        ("uniswap_v2/swap", json!({"tokenIn": w.tst, "tokenOut": "ETH"}), 400, "ACTION_VALIDATION_FAILED"),
        ("uniswap_v2/swap", json!({"tokenIn": w.tst, "tokenOut": "ETH", "amountIn": "1.5"}), 400, "ACTION_VALIDATION_FAILED"),
        ("uniswap_v2/swap", json!({"tokenIn": w.tst, "tokenOut": "ETH", "amountIn": "1", "extra": 1}), 400, "ACTION_VALIDATION_FAILED"),
        ("uniswap_v2/swap", json!({"tokenIn": w.tst, "tokenOut": "ETH", "amountIn": "1", "slippageBps": 9000}), 400, "ACTION_VALIDATION_FAILED"),
        ("uniswap_v2/swap", json!({"tokenIn": "ETH", "tokenOut": w.steth, "amountIn": "1"}), 502, "ACTION_RESOLVE_FAILED"),
        ("lido_staking/stake", json!({"amount": "0"}), 400, "ACTION_VALIDATION_FAILED"),
        ("zerox_swap/swap", json!({"sellToken": "ETH", "buyToken": w.tst, "sellAmount": "1"}), 403, "API_KEY_REQUIRED"),
    ] {
        let r = act(&api, &a, path, params.clone()).await;
        assert_eq!((r.status, r.body["code"].as_str()), (status, Some(code)), "{path} {params}: {:?}", r.body);
    }
    let bad = act(&api, &a, "uniswap_v2/swap", json!({"tokenIn": w.tst, "tokenOut": "ETH"})).await;
    assert_eq!(bad.body["details"]["issues"][0]["path"], json!(["params", "amountIn"]), "{:?}", bad.body);
    let txs = api.call("GET", "/v1/transactions", &a.auth, None).await;
    assert_eq!(txs.body["items"], json!([]), "no refused action records anything");
    // The operator's runtime settings take the [actions] keys, checked like config.toml's.
    let master = Api::master();
    let put = |key: &str, value: &str| api.call("PUT", "/v1/admin/settings", &master, Some(json!({"settings": [{"key": key, "value": value}]})));
    let ok = put("actions.uniswap_v2_swap_tier", "DELAY").await;
    assert_eq!((ok.status, ok.body["restartRequired"].clone()), (200, json!(true)), "{:?}", ok.body);
    let bad = put("actions.uniswap_v2_swap_tier", "SOON").await;
    assert_eq!((bad.status, bad.body["code"].as_str()), (400, Some("ACTION_VALIDATION_FAILED")), "{:?}", bad.body);
    assert!(bad.body["message"].as_str().unwrap().contains("actions.uniswap_v2_swap_tier"), "{:?}", bad.body);
    assert_eq!(w.zerox.requests().len(), 0, "no quote is asked without the API key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_swap_runs_approve_then_swap_as_one_bundle_at_the_pools_quote() {
    let w = World::start().await;
    let (_d, api, a) = w.open(w.options()).await;
    w.allow_router(&api, &a).await;
    let amount = 100 * TST;
    let quote = w.uni.amount_out(&w.node, amount, &[&w.tst, &w.uni.weth]);
    let params = json!({"tokenIn": w.tst, "tokenOut": "ETH", "amountIn": amount.to_string()});

    // The dry run decides the whole bundle ($100: NOTIFY) and records nothing.
    let dry = api.call("POST", "/v1/actions/uniswap_v2/swap?dryRun=true", &a.auth, Some(json!({ "params": params }))).await;
    assert_eq!(dry.status, 200, "{:?}", dry.body);
    assert_eq!((dry.body["decision"]["allowed"].clone(), dry.body["decision"]["tier"].clone()), (json!(true), json!("NOTIFY")), "{}", dry.body);
    // Upstream's dry-run shape: the first step's simulation under the bundle's policy.
    assert_eq!(
        (dry.body["success"].clone(), dry.body["policy"]["tier"].clone(), dry.body["meta"]["transactionType"].clone()),
        (json!(true), json!("NOTIFY"), json!("APPROVE")),
        "{}",
        dry.body
    );
    let types: Vec<&str> = dry.body["steps"].as_array().unwrap().iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["APPROVE", "CONTRACT_CALL"]);
    assert_eq!(api.call("GET", "/v1/transactions", &a.auth, None).await.body["items"], json!([]));

    let (eth_before, tst_before) = (w.node.balance(&a.address), w.node.token_balance(&w.tst, &a.address));
    let ids = steps(&act(&api, &a, "uniswap_v2/swap", params).await);
    assert_eq!(ids.len(), 2);
    let rows = settle(&api, &a, &ids).await;
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["status"], "CONFIRMED", "step {i}: {r}");
        assert_eq!((r["action"]["provider"].clone(), r["action"]["action"].clone()), (json!("uniswap_v2"), json!("swap")), "{r}");
        assert_eq!((r["action"]["bundleId"].clone(), r["action"]["step"].clone()), (json!(ids[0]), json!(i)), "{r}");
        assert_eq!(r["action"]["steps"], json!(ids));
        assert_eq!(r["tier"], "NOTIFY", "every step runs under the bundle's one decision: {r}");
    }
    assert_eq!((rows[0]["type"].clone(), rows[1]["type"].clone()), (json!("APPROVE"), json!("CONTRACT_CALL")));
    // The swap was built after the approve was confirmed: a later block.
    let (approve_hash, swap_hash) = (rows[0]["txHash"].as_str().unwrap(), rows[1]["txHash"].as_str().unwrap());
    let (approved, swapped) = (w.position(approve_hash), w.position(swap_hash));
    assert!(swapped.0 > approved.0, "swap {swapped:?} mined after the approve {approved:?}");
    // Balances moved as the quote said.
    assert_eq!(w.node.token_balance(&w.tst, &a.address), tst_before - amount);
    let fees = w.fee(approve_hash) + w.fee(swap_hash);
    assert_eq!(w.node.balance(&a.address), eth_before + quote - fees, "the wallet received the quoted {quote} wei");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spender_policy_without_the_router_refuses_the_whole_bundle_before_anything_is_signed() {
    let w = World::start().await;
    let (_d, api, a) = w.open(w.options()).await;
    api.create_policy(&a.wallet, "APPROVED_SPENDERS", json!({"spenders": [{"address": DEV_ACCOUNTS[7]}]})).await;
    let params = json!({"tokenIn": w.tst, "tokenOut": "ETH", "amountIn": (10 * TST).to_string()});
    let dry = api.call("POST", "/v1/actions/uniswap_v2/swap?dryRun=true", &a.auth, Some(json!({ "params": params }))).await;
    assert_eq!(dry.body["decision"]["allowed"], false, "{}", dry.body);
    let ids = steps(&act(&api, &a, "uniswap_v2/swap", params).await);
    let rows = settle(&api, &a, &ids).await;
    assert_eq!(rows[0]["status"], "CANCELLED", "{}", rows[0]);
    assert!(rows[0]["error"].as_str().unwrap().contains("APPROVE"), "the approval is judged as an APPROVE: {}", rows[0]);
    assert_eq!(rows[1]["status"], "CANCELLED", "{}", rows[1]);
    assert_eq!(w.node.nonce(&a.address), 0, "nothing was signed or sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_beyond_the_slippage_bound_reverts_the_swap_and_releases_the_reservation() {
    let w = World::start().await;
    let (_d, api, a) = w.open(w.options()).await;
    w.allow_router(&api, &a).await;
    // $150 a day: one $100 swap fits, two do not, unless the first one's value is released.
    api.create_policy(&a.wallet, "SPENDING_LIMIT", json!({"instant_max_usd": 1000, "notify_max_usd": 2000, "delay_max_usd": 5000, "daily_limit_usd": 150}))
        .await;
    let params = json!({"sellToken": w.tst, "buyToken": "ETH", "sellAmount": (100 * TST).to_string(), "slippageBps": 50});
    // The quote is 10 % above what the pool gives when the swap runs: its minimum is out of reach.
    w.zerox.overquote(1000);
    let tst_before = w.node.token_balance(&w.tst, &a.address);
    let ids = steps(&act(&api, &a, "zerox_swap/swap", params.clone()).await);
    let rows = settle(&api, &a, &ids).await;
    assert_eq!(rows[0]["status"], "CONFIRMED", "the approve ran: {}", rows[0]);
    assert_eq!(rows[1]["status"], "FAILED", "{}", rows[1]);
    assert!(rows[1]["error"].as_str().unwrap().contains("INSUFFICIENT_OUTPUT_AMOUNT"), "the router refused the minimum: {}", rows[1]);
    assert_eq!(w.node.token_balance(&w.tst, &a.address), tst_before, "no token left the wallet");
    let q = &w.zerox.requests()[0];
    assert_eq!((q["taker"].to_lowercase(), q["chainId"].as_str(), q["slippageBps"].as_str()), (a.address.to_lowercase(), "11155111", "50"));

    // The reservation was released: the same $100 swap at an honest quote fits the $150 day.
    w.zerox.overquote(0);
    let ids = steps(&act(&api, &a, "zerox_swap/swap", params.clone()).await);
    let rows = settle(&api, &a, &ids).await;
    assert!(rows.iter().all(|r| r["status"] == "CONFIRMED"), "{rows:?}");
    assert_eq!(w.node.token_balance(&w.tst, &a.address), tst_before - 100 * TST);
    // A third one does not fit: $200 > $150 asks for more than NOTIFY.
    let dry = api.call("POST", "/v1/actions/zerox_swap/swap?dryRun=true", &a.auth, Some(json!({ "params": params }))).await;
    assert_eq!(dry.body["decision"]["approvalReason"], "cumulative_daily", "{}", dry.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lido_stake_is_a_payable_call_that_mints_steth_and_providers_are_no_exemption() {
    let w = World::start().await;
    let (_d, api, a) = w.open(w.options()).await;
    // 0.01 ETH ($20): NOTIFY, the action's default tier.
    let stake = ETH / 100;
    let ids = steps(&act(&api, &a, "lido_staking/stake", json!({"amount": stake.to_string()})).await);
    let row = &settle(&api, &a, &ids).await[0];
    assert_eq!((row["status"].as_str(), row["tier"].as_str(), row["type"].as_str()), (Some("CONFIRMED"), Some("NOTIFY"), Some("CONTRACT_CALL")), "{row}");
    assert_eq!(row["amount"], stake.to_string());
    assert_eq!(w.node.token_balance(&w.steth, &a.address), stake, "ETH staked is as much stETH");
    assert_eq!(w.node.balance(&w.steth), stake);

    // A stETH the wallet's CONTRACT_WHITELIST does not list: the provider built the call, the
    // policy still refuses it.
    let other = w.node.deploy(artifact("StakedEther")["bytecode"].as_str().unwrap(), DEV_ACCOUNTS[0]);
    let (_d2, api2, b) = w.open(w.options().env("WAIAAS_ACTIONS_LIDO_STAKING_STETH_ADDRESS", &other)).await;
    let ids = steps(&act(&api2, &b, "lido_staking/stake", json!({"amount": stake.to_string()})).await);
    let row = &settle(&api2, &b, &ids).await[0];
    assert_eq!((row["status"].as_str(), row["errorCode"].as_str()), (Some("CANCELLED"), Some("CONTRACT_NOT_WHITELISTED")), "{row}");

    // A client naming an action provider on a plain contract call gets no exemption either.
    let body = json!({"type": "CONTRACT_CALL", "to": other, "calldata": format!("0xa1903eab{}", word_addr(&b.address)), "value": "1000", "actionProvider": "lido_staking", "actionName": "stake"});
    let r = api2.call("POST", "/v1/transactions/send", &b.auth, Some(body)).await;
    if r.status == 201 {
        let row = api2.wait_tx(&b.auth, r.body["id"].as_str().unwrap(), RUNNING, WAIT).await;
        assert_eq!((row["status"].as_str(), row["errorCode"].as_str()), (Some("CANCELLED"), Some("CONTRACT_NOT_WHITELISTED")), "{row}");
        assert!(row.get("action").is_none(), "a client cannot give its call an action's provenance: {row}");
    } else {
        assert_eq!(r.status, 400, "{:?}", r.body);
    }
    assert_eq!(w.node.nonce(&b.address), 0, "nothing was signed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eth_swap_through_the_0x_quote_is_one_payable_call() {
    let w = World::start().await;
    let (_d, api, a) = w.open(w.options()).await;
    let wei = ETH / 100;
    let quote = w.uni.amount_out(&w.node, wei, &[&w.uni.weth, &w.tst]);
    let before = w.node.token_balance(&w.tst, &a.address);
    let ids = steps(&act(&api, &a, "zerox_swap/swap", json!({"sellToken": "ETH", "buyToken": w.tst, "sellAmount": wei.to_string()})).await);
    assert_eq!(ids.len(), 1, "selling ETH needs no approval");
    let row = &settle(&api, &a, &ids).await[0];
    assert_eq!(row["status"], "CONFIRMED", "{row}");
    assert_eq!(w.node.token_balance(&w.tst, &a.address), before + quote);
}

/// A bundle whose first step is on chain when the daemon is SIGKILLed: after the restart the
/// second step runs, once, and the first is not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_killed_between_its_steps_finishes_exactly_once_after_restart() {
    let w = World::start().await;
    let opts = w.options();
    let mut d = Daemon::start(opts.clone());
    let _tmp = d.take_tmp();
    let dir = d.dir.clone();
    let api = Api::new(&d.base);
    let a = w.agent(&api).await;
    w.allow_router(&api, &a).await;
    let amount = 50 * TST;
    let quote = w.uni.amount_out(&w.node, amount, &[&w.tst, &w.uni.weth]);
    let tst_before = w.node.token_balance(&w.tst, &a.address);
    // Blocks only when asked: the approve waits in the pool, SUBMITTED.
    w.node.rpc("evm_setAutomine", json!([false]));
    let ids = steps(&act(&api, &a, "uniswap_v2/swap", json!({"tokenIn": w.tst, "tokenOut": "ETH", "amountIn": amount.to_string()})).await);
    let first = api.wait_tx(&a.auth, &ids[0], &["PENDING", "EXECUTING"], WAIT).await;
    assert_eq!(first["status"], "SUBMITTED", "{first}");
    // Longer than the background re-check's period (5 s), which runs every unfinished row: the
    // swap is looked at and stays PENDING while the approve is not confirmed.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let second = api.call("GET", &format!("/v1/transactions/{}", ids[1]), &a.auth, None).await.body;
    assert_eq!((second["status"].as_str(), second["txHash"].as_str()), (Some("PENDING"), None), "{second}");
    unsafe { libc::kill(d.child.id() as i32, libc::SIGKILL) };
    let _ = d.child.wait();
    // The approve lands while no daemon runs; the swap was never built.
    w.node.rpc("evm_mine", json!([]));
    w.node.rpc("evm_setAutomine", json!([true]));
    assert_eq!(w.node.nonce(&a.address), 1);
    let d = Daemon::start_in(&dir, opts).unwrap_or_else(|e| panic!("restart: {e:?}"));
    let api = Api::new(&d.base);
    let rows = settle(&api, &a, &ids).await;
    assert!(rows.iter().all(|r| r["status"] == "CONFIRMED"), "{rows:?}");
    assert_eq!(w.node.nonce(&a.address), 2, "two transactions in all: the approve was not sent again");
    assert_eq!(w.node.token_balance(&w.tst, &a.address), tst_before - amount, "swapped once");
    let swap = w.node.receipt(rows[1]["txHash"].as_str().unwrap());
    assert_eq!(swap["status"], "0x1");
    assert!(quote > 0);
}

/// The provider checks what a quote server returns before anything is recorded: a call that
/// would send more ETH than is sold, or an approval for another contract than the one the swap
/// calls, is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dishonest_quote_is_refused_before_anything_is_recorded() {
    let w = World::start().await;
    let (_d, api, a) = w.open(w.options()).await;
    for (tamper, params, says) in [
        (Tamper::Value, json!({"sellToken": "ETH", "buyToken": w.tst, "sellAmount": "1000000000000"}), "would send 1000000000001 wei"),
        (Tamper::Value, json!({"sellToken": w.tst, "buyToken": "ETH", "sellAmount": "1000"}), "would send 1 wei"),
        (Tamper::Spender, json!({"sellToken": w.tst, "buyToken": "ETH", "sellAmount": "1000"}), "the approval would be for"),
    ] {
        w.zerox.tamper(Some(tamper));
        let r = act(&api, &a, "zerox_swap/swap", params.clone()).await;
        assert_eq!((r.status, r.body["code"].as_str()), (502, Some("ACTION_RESOLVE_FAILED")), "{tamper:?} {params}: {:?}", r.body);
        assert!(r.body["message"].as_str().unwrap().contains(says), "{:?}", r.body);
    }
    assert_eq!(api.call("GET", "/v1/transactions", &a.auth, None).await.body["items"], json!([]));
    assert_eq!(w.node.nonce(&a.address), 0);
    // The same requests with an honest server go through.
    w.zerox.tamper(None);
    let ids = steps(&act(&api, &a, "zerox_swap/swap", json!({"sellToken": w.tst, "buyToken": "ETH", "sellAmount": "1000"})).await);
    assert_eq!(ids.len(), 2);
}

/// `aave_v3` on Aave v3 deployed from its published artifacts: supply (approve + supply),
/// borrow, repay (approve + repay) and withdraw through the daemon, with
/// LENDING_ASSET_WHITELIST and LENDING_LTV_LIMIT judged on the Pool's own account data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aave_v3_lends_under_the_lending_policies_from_the_pools_own_figures() {
    use waiaas_e2e::aave::AaveV3;
    let node = Node::start(11155111);
    let (wra_unit, usd_unit) = (10u128.pow(18), 10u128.pow(6));
    let wra = node.deploy_erc20("TestToken", "Wrapped Ether", 18, 1_000 * wra_unit);
    let usd = node.deploy_erc20("TestToken", "Usd Coin", 6, 10_000_000 * usd_unit);
    let other = node.deploy_erc20("TestToken", "Other", 18, 1_000 * wra_unit);
    let aave = AaveV3::deploy(&node, &[(&wra, 2_000 * 10u128.pow(8)), (&usd, 10u128.pow(8))]);
    // A lender provides the USD the wallet borrows.
    let lender = DEV_ACCOUNTS[0];
    node.exec(json!({"from": lender, "to": usd, "data": format!("0x095ea7b3{}{}", word_addr(&aave.pool), evm::word_u128(1_000_000 * usd_unit))}));
    node.exec(json!({"from": lender, "to": aave.pool, "data": aave.supply(&usd, 1_000_000 * usd_unit, lender)}));

    let d = Daemon::start(
        Options::default()
            .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.url())
            .env("WAIAAS_PRICES_ETH", "2000")
            .env(&format!("WAIAAS_PRICES_{wra}"), "2000")
            .env(&format!("WAIAAS_PRICES_{usd}"), "1")
            .env("WAIAAS_ACTIONS_AAVE_V3_ENABLED", "true")
            .env("WAIAAS_ACTIONS_AAVE_V3_POOL_ADDRESS", &aave.pool),
    );
    let api = Api::new(&d.base);
    let (wallet, address, auth) = api.evm_wallet("lender").await;
    let a = Agent { wallet, address, auth };
    node.fund(&a.address, 10 * ETH);
    for token in [&wra, &other] {
        node.exec(json!({"from": lender, "to": token, "data": format!("0xa9059cbb{}{}", word_addr(&a.address), evm::word_u128(10 * wra_unit))}));
    }
    for (ty, rules) in [
        ("CONTRACT_WHITELIST", json!({"contracts": [{"address": aave.pool}]})),
        ("APPROVED_SPENDERS", json!({"spenders": [{"address": aave.pool}]})),
        ("LENDING_ASSET_WHITELIST", json!({"assets": [{"address": wra}, {"address": usd}]})),
        ("LENDING_LTV_LIMIT", json!({"maxLtv": 0.5, "warningLtv": 0.4})),
        ("SPENDING_LIMIT", json!({"instant_max_usd": 100000, "notify_max_usd": 200000, "delay_max_usd": 300000})),
    ] {
        api.create_policy(&a.wallet, ty, rules).await;
    }
    let lend = |action: &'static str, asset: &str, amount: u128| {
        let (api, a, asset) = (api.clone(), &a, asset.to_string());
        async move { act(&api, a, &format!("aave_v3/{action}"), json!({"asset": asset, "amount": amount.to_string()})).await }
    };
    let done = |r: Resp| {
        let api = api.clone();
        let a = &a;
        async move {
            let rows = settle(&api, a, &steps(&r)).await;
            assert!(rows.iter().all(|r| r["status"] == "CONFIRMED"), "{rows:?}");
            rows
        }
    };

    // Supply 1 WRA ($2,000): approve + supply.
    let rows = done(lend("supply", &wra, wra_unit).await).await;
    assert_eq!((rows[0]["type"].as_str(), rows[1]["type"].as_str()), (Some("APPROVE"), Some("CONTRACT_CALL")));
    assert_eq!(node.token_balance(&aave.a_token(&node, &wra), &a.address), wra_unit);
    assert_eq!(aave.user_account_data(&node, &a.address)[0], 2_000 * 10u128.pow(8), "collateral in the pool's base currency");

    // Borrow $500: LTV 0.25 after it.
    let before = node.token_balance(&usd, &a.address);
    done(lend("borrow", &usd, 500 * usd_unit).await).await;
    assert_eq!(node.token_balance(&usd, &a.address), before + 500 * usd_unit);
    // $600 more would make it 0.55 > 0.5: refused before anything is signed.
    let sent = node.nonce(&a.address);
    let ids = steps(&lend("borrow", &usd, 600 * usd_unit).await);
    let row = &settle(&api, &a, &ids).await[0];
    assert_eq!((row["status"].as_str(), row["errorCode"].as_str()), (Some("CANCELLED"), Some("POLICY_DENIED")), "{row}");
    assert!(row["error"].as_str().unwrap().to_lowercase().contains("ltv"), "{row}");
    assert_eq!(node.nonce(&a.address), sent);
    // $400 more (0.45): above the warning, so it would wait (DELAY).
    let dry = api
        .call("POST", "/v1/actions/aave_v3/borrow?dryRun=true", &a.auth, Some(json!({"params": {"asset": usd, "amount": (400 * usd_unit).to_string()}})))
        .await;
    assert_eq!((dry.body["decision"]["allowed"].clone(), dry.body["decision"]["tier"].clone()), (json!(true), json!("DELAY")), "{}", dry.body);
    // An asset LENDING_ASSET_WHITELIST does not list.
    let ids = steps(&lend("supply", &other, wra_unit).await);
    let row = &settle(&api, &a, &ids).await[0];
    assert_eq!(row["status"], "CANCELLED", "{row}");
    assert!(row["error"].as_str().unwrap().contains("lending asset whitelist"), "{row}");
    assert_eq!(node.nonce(&a.address), sent);

    // Repay the $500 (approve + repay), then withdraw half the collateral.
    let before = node.token_balance(&usd, &a.address);
    done(lend("repay", &usd, 500 * usd_unit).await).await;
    assert_eq!(node.token_balance(&usd, &a.address), before - 500 * usd_unit);
    assert!(node.token_balance(&aave.variable_debt_token(&node, &usd), &a.address) < usd_unit, "at most the seconds' interest is left");
    // The withdrawal through a real MCP client.
    let before = node.token_balance(&wra, &a.address);
    let setup = crate::mcp::mcp_setup_for(&d, &a.wallet, &[]);
    let args = json!({"params": {"asset": wra, "amount": (wra_unit / 2).to_string()}});
    let report = crate::mcp::client(crate::mcp::scenario(&setup, None, json!([{"op": "call", "name": "action_aave_v3_withdraw", "args": args}])));
    let step = &report["steps"][0];
    assert_eq!(step["isError"], false, "{step}");
    let row = &settle(&api, &a, &[step["json"]["id"].as_str().unwrap().to_string()]).await[0];
    assert_eq!((row["status"].as_str(), row["action"]["action"].as_str()), (Some("CONFIRMED"), Some("withdraw")), "{row}");
    assert_eq!(node.token_balance(&wra, &a.address), before + wra_unit / 2);
    assert_eq!(node.token_balance(&aave.a_token(&node, &wra), &a.address), wra_unit / 2);
}

/// Each swap and staking provider through a real MCP client (`action_<provider>_<action>`
/// tools of `waiaas mcp serve`), one at a time: the balances move by the pool's quote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_providers_run_as_mcp_tools() {
    let w = World::start().await;
    let (d, api, a) = w.open(w.options()).await;
    w.allow_router(&api, &a).await;
    let setup = crate::mcp::mcp_setup_for(&d, &a.wallet, &[]);
    let call = |name: &str, params: Value| {
        let report = crate::mcp::client(crate::mcp::scenario(&setup, None, json!([{"op": "call", "name": name, "args": {"params": params}}])));
        let step = report["steps"][0].clone();
        assert_eq!(step["isError"], false, "{name}: {step}");
        step["json"].clone()
    };
    let (api, a) = (&api, &a);
    let run = |answer: Value| async move {
        let ids: Vec<String> = match answer["pipeline"].as_array() {
            Some(p) => p.iter().map(|s| s["id"].as_str().unwrap().to_string()).collect(),
            None => vec![answer["id"].as_str().unwrap().to_string()],
        };
        settle(api, a, &ids).await
    };

    // uniswap_v2: 10 TST for ETH (approve + swap).
    let (eth0, tst0) = (w.node.balance(&a.address), w.node.token_balance(&w.tst, &a.address));
    let quote = w.uni.amount_out(&w.node, 10 * TST, &[&w.tst, &w.uni.weth]);
    let rows = run(call("action_uniswap_v2_swap", json!({"tokenIn": w.tst, "tokenOut": "ETH", "amountIn": (10 * TST).to_string()}))).await;
    assert!(rows.iter().all(|r| r["status"] == "CONFIRMED" && r["action"]["provider"] == "uniswap_v2"), "{rows:?}");
    let fees: u128 = rows.iter().map(|r| w.fee(r["txHash"].as_str().unwrap())).sum();
    assert_eq!((w.node.token_balance(&w.tst, &a.address), w.node.balance(&a.address)), (tst0 - 10 * TST, eth0 + quote - fees));

    // zerox_swap: 0.001 ETH for TST at the 0x quote of that pool.
    let tst1 = w.node.token_balance(&w.tst, &a.address);
    let quote = w.uni.amount_out(&w.node, ETH / 1000, &[&w.uni.weth, &w.tst]);
    let rows = run(call("action_zerox_swap_swap", json!({"sellToken": "ETH", "buyToken": w.tst, "sellAmount": (ETH / 1000).to_string()}))).await;
    assert_eq!((rows[0]["status"].as_str(), rows[0]["action"]["provider"].as_str()), (Some("CONFIRMED"), Some("zerox_swap")), "{rows:?}");
    assert_eq!(w.node.token_balance(&w.tst, &a.address), tst1 + quote);

    // lido_staking: 0.001 ETH staked is 0.001 stETH.
    let rows = run(call("action_lido_staking_stake", json!({"amount": (ETH / 1000).to_string()}))).await;
    assert_eq!(rows[0]["status"], "CONFIRMED", "{rows:?}");
    assert_eq!(w.node.token_balance(&w.steth, &a.address), ETH / 1000);
}

/// `[actions] uniswap_v2_swap_tier = APPROVAL` raises a $10 swap to APPROVAL: the bundle waits,
/// nothing signed, until the wallet's owner approves its first step; then approve and swap run
/// in order under that one approval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_tier_bundle_waits_for_the_owner_then_runs_in_order() {
    use waiaas_core::auth::owner::OwnerAction;
    let w = World::start().await;
    let (_d, api, a) = w.open(w.options().env("WAIAAS_ACTIONS_UNISWAP_V2_SWAP_TIER", "APPROVAL")).await;
    w.allow_router(&api, &a).await;
    let owner = OwnerKey::evm(0x61);
    let r = api.call("PUT", &format!("/v1/wallets/{}/owner", a.wallet), &Api::master(), Some(json!({"owner_address": owner.address()}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    let ids = steps(&act(&api, &a, "uniswap_v2/swap", json!({"tokenIn": w.tst, "tokenOut": "ETH", "amountIn": (10 * TST).to_string()})).await);
    let first = api.wait_tx(&a.auth, &ids[0], &["PENDING"], WAIT).await;
    assert_eq!((first["status"].as_str(), first["tier"].as_str()), (Some("QUEUED"), Some("APPROVAL")), "{first}");
    tokio::time::sleep(Duration::from_secs(6)).await;
    let second = api.call("GET", &format!("/v1/transactions/{}", ids[1]), &a.auth, None).await.body;
    assert_eq!(second["status"], "PENDING", "the swap waits with its bundle: {second}");
    assert_eq!(w.node.nonce(&a.address), 0, "nothing is signed before the owner approves");

    let h = owner.headers(&api, &OwnerAction::Approve(ids[0].clone())).await;
    let r = api.call_with("POST", &format!("/v1/transactions/{}/approve", ids[0]), &Auth::None, None, &h).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let rows = settle(&api, &a, &ids).await;
    assert!(rows.iter().all(|r| r["status"] == "CONFIRMED" && r["tier"] == "APPROVAL"), "{rows:?}");
    let (approved, swapped) = (w.position(rows[0]["txHash"].as_str().unwrap()), w.position(rows[1]["txHash"].as_str().unwrap()));
    assert!(swapped.0 > approved.0, "{swapped:?} after {approved:?}");
    assert_eq!(w.node.nonce(&a.address), 2);
}
