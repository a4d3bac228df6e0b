//! The DeFi protocols the action providers are to drive (issue 21), deployed on anvil from
//! their published npm artifacts (`waiaas_e2e::defi`): Uniswap v2 quotes by its own
//! constant-product formula, a swap delivers the quote, and a minimum above it reverts.

use serde_json::json;
use waiaas_e2e::defi::{UniswapV2, GAS};
use waiaas_e2e::evm::{word_addr, Node};
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
