//! EVM helpers for end-to-end tests: ABI words, the `TestToken` ERC-20 (deployed from
//! `tests/contracts/build/TestToken.json`) and reads through `eth_call`. They talk to anvil
//! with its blocking client: call them inside `tokio::task::block_in_place` from async tests.

use serde_json::{json, Value};
use waiaas_testnodes::anvil::{artifact, Anvil, DEV_ACCOUNTS};

/// An address as a 32-byte ABI word (hex, no 0x).
pub fn word_addr(a: &str) -> String {
    format!("{:0>64}", a.trim_start_matches("0x").to_lowercase())
}

/// A number as a 32-byte ABI word (hex, no 0x).
pub fn word_u128(v: u128) -> String {
    format!("{v:064x}")
}

/// A string's ABI tail: length word, then the bytes padded to whole words.
pub fn word_str(s: &str) -> String {
    let mut hex = hex::encode(s.as_bytes());
    while !hex.len().is_multiple_of(64) || hex.is_empty() {
        hex.push('0');
    }
    format!("{}{}", word_u128(s.len() as u128), hex)
}

/// A JSON-RPC quantity (`"0x..."`) as a number.
pub fn hex_u128(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// Deploy `TestToken(name, symbol, decimals, supply)` from dev account 0, which holds the supply.
pub fn deploy_token(node: &Anvil, symbol: &str, decimals: u8, supply: u128) -> String {
    let code = artifact("TestToken")["bytecode"].as_str().unwrap().to_string();
    let (name, symbol) = (word_str(&format!("Test {symbol}")), word_str(symbol));
    let args = format!("{}{}{}{}{}{}", word_u128(0x80), word_u128(0x80 + name.len() as u128 / 2), word_u128(decimals as u128), word_u128(supply), name, symbol);
    node.deploy(&format!("{code}{args}"), DEV_ACCOUNTS[0])
}

/// Move `amount` raw units of `token` from dev account 0 to `to`.
pub fn give_tokens(node: &Anvil, token: &str, to: &str, amount: u128) {
    node.exec(json!({"from": DEV_ACCOUNTS[0], "to": token, "data": format!("0xa9059cbb{}{}", word_addr(to), word_u128(amount))}));
}

/// `token.balanceOf(who)`.
pub fn token_balance(node: &Anvil, token: &str, who: &str) -> u128 {
    hex_u128(&node.rpc("eth_call", json!([{"to": token, "data": format!("0x70a08231{}", word_addr(who))}, "latest"])))
}

/// Native balance of `who` in wei.
pub fn balance(node: &Anvil, who: &str) -> u128 {
    hex_u128(&node.rpc("eth_getBalance", json!([who, "latest"])))
}
