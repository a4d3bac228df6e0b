//! DeFi protocols deployed on anvil from their published npm artifacts (`tests/defi/install.sh`;
//! the bytecode as published, not recompiled), for the action providers' end-to-end tests.
//!
//! Uniswap v2: WETH9, `UniswapV2Factory` and `UniswapV2Router02` from `@uniswap/v2-core` 1.0.1
//! and `@uniswap/v2-periphery` 1.1.0-beta.0. The router computes pair addresses from the
//! pair's init code hash (0x96e8ac42…), which the published `UniswapV2Pair` bytecode hashes to,
//! so the factory's pairs are the router's.

use crate::evm::{word_addr, word_u128, Node};
use serde_json::{json, Value};
use std::path::PathBuf;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

/// The harness's node_modules (`tests/defi/install.sh`, a no-op once installed).
fn modules() -> PathBuf {
    crate::npm_harness("defi").join("node_modules")
}

/// The creation bytecode (0x hex) of `package`'s `build/<name>.json`.
fn bytecode(package: &str, name: &str) -> String {
    let path = modules().join(package).join("build").join(format!("{name}.json"));
    let artifact: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).expect("artifact JSON");
    let code = artifact["bytecode"].as_str().or_else(|| artifact["evm"]["bytecode"]["object"].as_str()).expect("bytecode");
    format!("0x{}", code.trim_start_matches("0x"))
}

/// An `address[]` as the tail of ABI-encoded arguments: its length, then each address.
fn address_array(addresses: &[&str]) -> String {
    let mut out = word_u128(addresses.len() as u128);
    for a in addresses {
        out.push_str(&word_addr(a));
    }
    out
}

/// The gas limit of the router calls the tests send: set, not estimated, so a call never
/// runs short of an estimate made against another state.
pub const GAS: &str = "0x4c4b40";

/// Uniswap v2 on one anvil; deployer and liquidity provider: dev account 0.
pub struct UniswapV2 {
    pub weth: String,
    pub factory: String,
    pub router: String,
}

impl UniswapV2 {
    pub fn deploy(node: &Node) -> UniswapV2 {
        let owner = DEV_ACCOUNTS[0];
        let weth = node.deploy(&bytecode("@uniswap/v2-periphery", "WETH9"), owner);
        let factory = node.deploy(&format!("{}{}", bytecode("@uniswap/v2-core", "UniswapV2Factory"), word_addr(owner)), owner);
        let router = node.deploy(&format!("{}{}{}", bytecode("@uniswap/v2-periphery", "UniswapV2Router02"), word_addr(&factory), word_addr(&weth)), owner);
        UniswapV2 { weth, factory, router }
    }

    /// Create the `token`/WETH pool (or add to it) with `tokens` of dev account 0's `token` and
    /// `wei` of its ETH (`addLiquidityETH`).
    pub fn add_liquidity_eth(&self, node: &Node, token: &str, tokens: u128, wei: u128) {
        let owner = DEV_ACCOUNTS[0];
        node.exec(json!({"from": owner, "to": token, "data": format!("0x095ea7b3{}{}", word_addr(&self.router), word_u128(tokens))}));
        let args = [word_addr(token), word_u128(tokens), word_u128(0), word_u128(0), word_addr(owner), word_u128(u64::MAX as u128)].concat();
        node.exec(json!({"from": owner, "to": self.router, "value": format!("0x{wei:x}"), "gas": GAS, "data": format!("0xf305d719{args}")}));
    }

    /// The router's quote (`getAmountsOut`): what `amount_in` of `path[0]` buys of the last.
    pub fn amount_out(&self, node: &Node, amount_in: u128, path: &[&str]) -> u128 {
        let data = format!("0xd06ca61f{}{}{}", word_u128(amount_in), word_u128(0x40), address_array(path));
        let out = node.rpc("eth_call", json!([{"to": self.router, "data": data}, "latest"]));
        let hex = out.as_str().expect("getAmountsOut answer").trim_start_matches("0x");
        // (offset, length, amounts...): the last word is the amount out.
        u128::from_str_radix(&hex[hex.len() - 32..], 16).expect("amount out")
    }

    /// Calldata of `swapExactETHForTokens(amount_out_min, path, to, deadline)`.
    pub fn swap_exact_eth_for_tokens(&self, amount_out_min: u128, path: &[&str], to: &str) -> String {
        format!("0x7ff36ab5{}{}{}{}{}", word_u128(amount_out_min), word_u128(0x80), word_addr(to), word_u128(u64::MAX as u128), address_array(path))
    }
}
