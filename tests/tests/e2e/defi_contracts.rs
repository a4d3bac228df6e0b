//! The DeFi protocols the action providers are to drive (issue 21), deployed on anvil from
//! their published npm artifacts (`waiaas_e2e::defi`): Uniswap v2 quotes by its own
//! constant-product formula, a swap delivers the quote, and a minimum above it reverts.

use serde_json::json;
use waiaas_e2e::defi::UniswapV2;
use waiaas_e2e::evm::Node;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

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
    node.exec(json!({"from": buyer, "to": uni.router, "value": format!("0x{wei_in:x}"), "data": uni.swap_exact_eth_for_tokens(quote, &path, buyer)}));
    assert_eq!(node.token_balance(&token, buyer) - before, quote, "the swap delivers what the router quoted");

    // A minimum above the next quote: the router refuses (the slippage bound holds on chain).
    let next = uni.amount_out(&node, wei_in, &path);
    assert!(next < quote, "the price moved against the second buyer");
    let call = json!({"from": buyer, "to": uni.router, "value": format!("0x{wei_in:x}"), "data": uni.swap_exact_eth_for_tokens(next + 1, &path, buyer)});
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, "latest"]});
    let answer: serde_json::Value = reqwest::Client::new().post(node.url()).json(&body).send().await.unwrap().json().await.unwrap();
    assert!(answer["error"].to_string().contains("INSUFFICIENT_OUTPUT_AMOUNT"), "{answer}");
}
