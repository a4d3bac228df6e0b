//! The DeFi protocols the action providers are to drive (issue 21), deployed on anvil from
//! their published npm artifacts (`waiaas_e2e::defi`): Uniswap v2 quotes by its own
//! constant-product formula, a swap delivers the quote, and a minimum above it reverts; Aave v3
//! supplies, borrows up to the LTV and no further, accrues interest, repays and withdraws.

use alloy_primitives::U256;
use serde_json::json;
use waiaas_e2e::aave::{AaveV3, RAY};
use waiaas_e2e::defi::{UniswapV2, GAS};
use waiaas_e2e::evm::{hex_u128, word_addr, word_u128, Node};
use waiaas_testnodes::anvil::{artifact, DEV_ACCOUNTS};

/// The 4-byte selector of `signature`, hashed by the node (`web3_sha3`), as 0x hex.
fn selector(node: &Node, signature: &str) -> String {
    let hash = node.rpc("web3_sha3", json!([format!("0x{}", hex::encode(signature))]));
    hash.as_str().unwrap()[..10].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uniswap_v2_from_its_published_artifacts_swaps_eth_for_a_token_at_its_quote() {
    let node = Node::start(11155111);
    let uni = UniswapV2::deploy(&node);
    let token = node.deploy_erc20("TestToken", "Swap", 6, 10u128.pow(18));
    let (pool_tokens, pool_wei) = (1_000_000 * 10u128.pow(6), 100 * 10u128.pow(18));
    uni.add_liquidity_eth(&node, &token, pool_tokens, pool_wei);
    let path = [uni.weth.as_str(), token.as_str()];
    let wei_in = 10u128.pow(18);
    let quote = uni.amount_out(&node, wei_in, &path);
    // Uniswap v2's formula: 0.3 % fee, then the constant product.
    assert_eq!(quote, 997 * wei_in * pool_tokens / (1000 * pool_wei + 997 * wei_in));

    let buyer = DEV_ACCOUNTS[5];
    let before = node.token_balance(&token, buyer);
    node.exec(
        json!({"from": buyer, "to": uni.router, "value": format!("0x{wei_in:x}"), "gas": GAS, "data": uni.swap_exact_eth_for_tokens(quote, &path, buyer)}),
    );
    assert_eq!(node.token_balance(&token, buyer) - before, quote, "the swap delivers what the router quoted");

    // A minimum above the next quote: the router refuses (the slippage bound holds on chain).
    let next = uni.amount_out(&node, wei_in, &path);
    assert!(next < quote, "the price moved against the second buyer");
    let call = json!({"from": buyer, "to": uni.router, "value": format!("0x{wei_in:x}"), "data": uni.swap_exact_eth_for_tokens(next + 1, &path, buyer)});
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, "latest"]});
    let answer: serde_json::Value = reqwest::Client::new().post(node.url()).json(&body).send().await.unwrap().json().await.unwrap();
    assert!(answer["error"].to_string().contains("INSUFFICIENT_OUTPUT_AMOUNT"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steth_style_submit_mints_shares_and_rewards_grow_balances_pro_rata() {
    let node = Node::start(11155111);
    let steth = node.deploy(artifact("StakedEther")["bytecode"].as_str().unwrap(), DEV_ACCOUNTS[0]);
    // Lido's own selector: the provider will call exactly this.
    assert_eq!(selector(&node, "submit(address)"), "0xa1903eab");
    let (alice, bob) = (DEV_ACCOUNTS[5], DEV_ACCOUNTS[6]);
    let stake = |who: &str, wei: u128| {
        let data = format!("0xa1903eab{}", word_addr(DEV_ACCOUNTS[9]));
        node.exec(json!({"from": who, "to": steth, "value": format!("0x{wei:x}"), "data": data}))
    };
    let of = |signature: &str, who: &str| node.call_u128(&steth, &format!("{}{}", selector(&node, signature), word_addr(who)));
    let receipt = stake(alice, 10u128.pow(18));
    let submitted = selector(&node, "Submitted(address,uint256,address)");
    let topic = node.rpc("web3_sha3", json!([format!("0x{}", hex::encode("Submitted(address,uint256,address)"))]));
    assert!(receipt["logs"].as_array().unwrap().iter().any(|l| l["topics"][0] == topic), "a Submitted event ({submitted}): {receipt}");
    assert_eq!((of("sharesOf(address)", alice), of("balanceOf(address)", alice)), (10u128.pow(18), 10u128.pow(18)));
    // Rewards of 0.1 ETH: alice's balance grows; bob's 1.1 ETH then buys 1 share-ETH's worth.
    node.exec(json!({"from": DEV_ACCOUNTS[0], "to": steth, "value": format!("0x{:x}", 10u128.pow(17)), "data": selector(&node, "addRewards()")}));
    assert_eq!(of("balanceOf(address)", alice), 11 * 10u128.pow(17));
    stake(bob, 11 * 10u128.pow(17));
    assert_eq!((of("sharesOf(address)", bob), of("balanceOf(address)", bob)), (10u128.pow(18), 11 * 10u128.pow(17)));
    assert_eq!(node.balance(&steth), 22 * 10u128.pow(17), "the contract holds every staked and rewarded wei");
}

const SECONDS_PER_YEAR: u128 = 365 * 24 * 3600;

/// Aave's `rayMul`: a × b / 1e27, rounded half up.
fn ray_mul(a: U256, b: U256) -> U256 {
    (a * b + U256::from(RAY / 2)) / U256::from(RAY)
}

/// Aave's `MathUtils.calculateCompoundedInterest` (a ray): the binomial expansion of
/// (1 + rate / year)^seconds to its third term, each term truncated as the contract does.
fn compounded_interest(rate: U256, seconds: u128) -> U256 {
    let (year, exp) = (U256::from(SECONDS_PER_YEAR), U256::from(seconds));
    let base_power_two = ray_mul(rate, rate) / (year * year);
    let base_power_three = ray_mul(base_power_two, rate) / year;
    let second = exp * (exp - U256::from(1)) * base_power_two / U256::from(2);
    let third = exp * (exp - U256::from(1)) * (exp - U256::from(2)) * base_power_three / U256::from(6);
    U256::from(RAY) + rate * exp / year + second + third
}

/// `eth_call` of `tx` at `block`: the node's whole JSON-RPC answer (`result` or `error`).
async fn eth_call(node: &Node, tx: serde_json::Value, block: &str) -> serde_json::Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [tx, block]});
    reqwest::Client::new().post(node.url()).json(&body).send().await.unwrap().json().await.unwrap()
}

/// The revert data of Solidity's `Error(string)` with `reason` (Aave's numeric error codes).
fn revert_data(reason: &str) -> String {
    format!("0x08c379a0{}{}{:0<64}", word_u128(0x20), word_u128(reason.len() as u128), hex::encode(reason))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aave_v3_from_its_published_artifacts_supplies_borrows_repays_and_withdraws() {
    let node = Node::start(11155111);
    let (weth_unit, usd_unit) = (10u128.pow(18), 10u128.pow(6));
    let weth = node.deploy_erc20("TestToken", "Wrapped Ether", 18, 1_000 * weth_unit);
    let usd = node.deploy_erc20("TestToken", "Usd Coin", 6, 1_000_000 * usd_unit);
    let started = std::time::Instant::now();
    let aave = AaveV3::deploy(&node, &[(&weth, 2_000 * 10u128.pow(8)), (&usd, 10u128.pow(8))]);
    eprintln!("Aave v3 deployed in {:?}: pool {}, provider {}", started.elapsed(), aave.pool, aave.addresses_provider);
    assert_eq!((aave.price(&node, &weth), aave.price(&node, &usd)), (2_000 * 10u128.pow(8), 10u128.pow(8)));
    // The selectors a lending provider will encode are Aave's own.
    for (signature, sel) in [
        ("supply(address,uint256,address,uint16)", "0x617ba037"),
        ("borrow(address,uint256,uint256,uint16,address)", "0xa415bcad"),
        ("repay(address,uint256,uint256,address)", "0x573ade81"),
        ("withdraw(address,uint256,address)", "0x69328dec"),
        ("getUserAccountData(address)", "0xbf92857c"),
        ("approve(address,uint256)", "0x095ea7b3"),
        ("transfer(address,uint256)", "0xa9059cbb"),
    ] {
        assert_eq!(selector(&node, signature), sel, "{signature}");
    }
    let (lender, borrower) = (DEV_ACCOUNTS[0], DEV_ACCOUNTS[5]);
    let pool = aave.pool.as_str();
    let approve = |who: &str, token: &str, amount: &str| node.exec(json!({"from": who, "to": token, "data": format!("0x095ea7b3{}{amount}", word_addr(pool))}));
    let send = |who: &str, data: String| node.exec(json!({"from": who, "to": pool, "data": data}));
    let block_of = |receipt: &serde_json::Value| receipt["blockNumber"].as_str().unwrap().to_string();
    let (a_weth, a_usd, debt_usd) = (aave.a_token(&node, &weth), aave.a_token(&node, &usd), aave.variable_debt_token(&node, &usd));
    // initReserves' tuples landed field by field: each reserve's tokens carry its symbol.
    assert_eq!(
        (aave.symbol(&node, &a_weth), aave.symbol(&node, &a_usd), aave.symbol(&node, &debt_usd)),
        ("aWRA".into(), "aUSD".into(), "variableDebtUSD".into())
    );

    // Liquidity to borrow: the deployer supplies 10 000 USD.
    let liquidity = 10_000 * usd_unit;
    approve(lender, &usd, &word_u128(liquidity));
    send(lender, aave.supply(&usd, liquidity, lender));
    assert_eq!(node.token_balance(&a_usd, lender), liquidity);
    assert_eq!(node.token_balance(&usd, &a_usd), liquidity, "the aToken holds the underlying");

    // The borrower: 1 WETH of collateral, 100 USD for the interest.
    for (token, amount) in [(&weth, weth_unit), (&usd, 100 * usd_unit)] {
        node.exec(json!({"from": lender, "to": token, "data": format!("0xa9059cbb{}{}", word_addr(borrower), word_u128(amount))}));
    }
    approve(borrower, &weth, &word_u128(weth_unit));
    send(borrower, aave.supply(&weth, weth_unit, borrower));
    assert_eq!((node.token_balance(&weth, borrower), node.token_balance(&a_weth, borrower)), (0, weth_unit));
    // 1 WETH at $2000 (8 decimals), 80 % of it borrowable; no debt: health factor uint256 max.
    assert_eq!(aave.user_account_data(&node, borrower), [2_000 * 10u128.pow(8), 0, 1_600 * 10u128.pow(8), 8500, 8000, u128::MAX]);

    // Borrow 1000 USD at the variable rate.
    let borrowed = 1_000 * usd_unit;
    let receipt = send(borrower, aave.borrow(&usd, borrowed, borrower));
    let block = block_of(&receipt);
    assert_eq!(node.token_balance(&usd, borrower), 100 * usd_unit + borrowed);
    assert_eq!(node.token_balance(&usd, &a_usd), liquidity - borrowed);
    // At the borrow's block: debt $1000, $600 left to borrow, health factor 2000 × 0.85 / 1000.
    assert_eq!(
        aave.user_account_data_at(&node, borrower, &block),
        [2_000 * 10u128.pow(8), 1_000 * 10u128.pow(8), 600 * 10u128.pow(8), 8500, 8000, 17 * 10u128.pow(17)]
    );
    assert!(node.token_balance(&debt_usd, borrower) >= borrowed);
    // 10 % of the reserve lent: variable rate 4 % × 0.1 / 0.8 = 0.5 %, suppliers earn 0.5 % × 0.1.
    assert_eq!(aave.rates(&node, &usd), (5 * 10u128.pow(23), 5 * 10u128.pow(24)));

    // Beyond the LTV: exactly the $600 left passes, one unit more is Aave's error 36
    // (COLLATERAL_CANNOT_COVER_NEW_BORROW); withdrawing the collateral is error 35 (health factor).
    let call = |data: String| json!({"from": borrower, "to": pool, "data": data});
    let answer = eth_call(&node, call(aave.borrow(&usd, 600 * usd_unit, borrower)), &block).await;
    assert!(answer["error"].is_null() && answer["result"].is_string(), "{answer}");
    let answer = eth_call(&node, call(aave.borrow(&usd, 600 * usd_unit + 1, borrower)), &block).await;
    assert_eq!(answer["error"]["data"], revert_data("36"), "{answer}");
    let answer = eth_call(&node, call(aave.withdraw(&weth, None, borrower)), &block).await;
    assert_eq!(answer["error"]["data"], revert_data("35"), "{answer}");
    // And on chain: the transaction is mined, reverted, and nothing moves.
    let before = node.token_balance(&usd, borrower);
    let hash = node.rpc("eth_sendTransaction", json!([{"from": borrower, "to": pool, "gas": GAS, "data": aave.borrow(&usd, 601 * usd_unit, borrower)}]));
    assert_eq!(node.receipt(hash.as_str().unwrap())["status"], "0x0");
    assert_eq!(node.token_balance(&usd, borrower), before);

    // A year later the debt has grown by Aave's compounding of the 0.5 %: repay all of it.
    node.rpc("evm_increaseTime", json!([365 * 24 * 3600]));
    approve(borrower, &usd, &"f".repeat(64));
    let before = node.token_balance(&usd, borrower);
    let receipt = send(borrower, aave.repay(&usd, None, borrower));
    let paid = before - node.token_balance(&usd, borrower);
    let timestamp = |block: &str| hex_u128(&node.rpc("eth_getBlockByNumber", json!([block, false]))["timestamp"]);
    let elapsed = timestamp(&block_of(&receipt)) - timestamp(&block);
    assert!(elapsed >= 365 * 24 * 3600, "{elapsed} s");
    let ray = U256::from(RAY);
    let (borrow_rate, supply_rate) = (U256::from(5 * 10u128.pow(24)), U256::from(5 * 10u128.pow(23)));
    let debt = ray_mul(U256::from(borrowed), compounded_interest(borrow_rate, elapsed));
    assert_eq!(U256::from(paid), debt, "1000 USD after {elapsed} s at 0.5 %");
    assert_eq!(paid / 1000, 1_005_012, "about 0.50125 % more");
    assert_eq!(node.token_balance(&debt_usd, borrower), 0);
    assert_eq!(aave.user_account_data(&node, borrower), [2_000 * 10u128.pow(8), 0, 1_600 * 10u128.pow(8), 8500, 8000, u128::MAX]);
    // The lender's aTokens earned the supply rate, linearly: less than the borrower paid.
    let earned = ray_mul(U256::from(liquidity), ray + supply_rate * U256::from(elapsed) / U256::from(SECONDS_PER_YEAR));
    assert_eq!(U256::from(node.token_balance(&a_usd, lender)), earned);
    assert!(node.token_balance(&a_usd, lender) - liquidity < paid - borrowed);

    // Withdraw all the collateral: the WETH comes back, the aTokens are burnt.
    send(borrower, aave.withdraw(&weth, None, borrower));
    assert_eq!((node.token_balance(&weth, borrower), node.token_balance(&a_weth, borrower)), (weth_unit, 0));
    assert_eq!(node.token_balance(&weth, &a_weth), 0);
    assert_eq!(aave.user_account_data(&node, borrower), [0, 0, 0, 0, 0, u128::MAX]);
}
