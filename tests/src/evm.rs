//! EVM helpers for end-to-end tests (one copy for every test file): ABI words, the ERC-20s of
//! `tests/contracts` (deployed from `tests/contracts/build/*.json`), reads through `eth_call`,
//! and [`Node`], an anvil for async tests. The free functions talk to anvil with its blocking
//! client: call them inside `tokio::task::block_in_place` from async tests (the [`Node`]
//! methods do).

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

/// Deploy an ERC-20 of `tests/contracts` (`TestToken`, `PermitToken`: constructor
/// `(name, symbol, decimals, supply)`) from dev account 0, which holds the supply.
pub fn deploy_erc20(node: &Anvil, contract: &str, name: &str, symbol: &str, decimals: u8, supply: u128) -> String {
    let code = artifact(contract)["bytecode"].as_str().unwrap().to_string();
    let (name, symbol) = (word_str(name), word_str(symbol));
    let args = format!("{}{}{}{}{}{}", word_u128(0x80), word_u128(0x80 + name.len() as u128 / 2), word_u128(decimals as u128), word_u128(supply), name, symbol);
    node.deploy(&format!("{code}{args}"), DEV_ACCOUNTS[0])
}

/// Deploy `TestToken("Test <symbol>", symbol, decimals, supply)` from dev account 0.
pub fn deploy_token(node: &Anvil, symbol: &str, decimals: u8, supply: u128) -> String {
    deploy_erc20(node, "TestToken", &format!("Test {symbol}"), symbol, decimals, supply)
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

/// anvil for async tests: every call (and the drop) runs inside `block_in_place`, so the
/// harness's blocking HTTP client never blocks the test's runtime.
pub struct Node(Option<Anvil>);

impl Node {
    pub fn start(chain_id: u64) -> Node {
        Node(Some(tokio::task::block_in_place(|| Anvil::start(chain_id))))
    }
    fn with<T>(&self, f: impl FnOnce(&Anvil) -> T) -> T {
        tokio::task::block_in_place(|| f(self.0.as_ref().expect("node running")))
    }
    pub fn url(&self) -> String {
        self.with(|n| n.url.clone())
    }
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        self.with(|n| n.rpc(method, params))
    }
    pub fn fund(&self, address: &str, wei: u128) {
        self.with(|n| n.fund(address, wei))
    }
    /// Send through an unlocked dev account and wait for success; returns the receipt.
    pub fn exec(&self, tx: Value) -> Value {
        self.with(|n| n.exec(tx))
    }
    /// The receipt of `hash`, waiting for it.
    pub fn receipt(&self, hash: &str) -> Value {
        self.with(|n| n.receipt(hash))
    }
    pub fn deploy(&self, code: &str, from: &str) -> String {
        self.with(|n| n.deploy(code, from))
    }
    /// `eth_call` answering one uint word.
    pub fn call_u128(&self, to: &str, data: &str) -> u128 {
        hex_u128(&self.rpc("eth_call", json!([{"to": to, "data": data}, "latest"])))
    }
    pub fn balance(&self, address: &str) -> u128 {
        self.with(|n| balance(n, address))
    }
    pub fn token_balance(&self, token: &str, who: &str) -> u128 {
        self.with(|n| token_balance(n, token, who))
    }
    /// Transactions sent by `address` (`eth_getTransactionCount`, latest).
    pub fn nonce(&self, address: &str) -> u128 {
        hex_u128(&self.rpc("eth_getTransactionCount", json!([address, "latest"])))
    }
    /// [`deploy_erc20`] with `symbol` = the name's first three letters, upper case.
    pub fn deploy_erc20(&self, contract: &str, name: &str, decimals: u8, supply: u128) -> String {
        let symbol = name.chars().take(3).collect::<String>().to_uppercase();
        self.with(|n| deploy_erc20(n, contract, name, &symbol, decimals, supply))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let node = self.0.take();
        tokio::task::block_in_place(move || drop(node));
    }
}
