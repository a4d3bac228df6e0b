//! A real anvil for async end-to-end tests, and the few ABI words tests need to deploy and
//! call the contracts in `tests/contracts` (one copy for every test file).

use serde_json::{json, Value};
use waiaas_testnodes::anvil::{artifact, DEV_ACCOUNTS};

/// anvil behind `block_in_place`: the harness's blocking HTTP client never blocks the
/// async tests' runtime (the node is also dropped there).
pub struct Node(Option<waiaas_testnodes::anvil::Anvil>);

impl Node {
    pub fn start(chain_id: u64) -> Node {
        Node(Some(tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(chain_id))))
    }
    fn inner(&self) -> &waiaas_testnodes::anvil::Anvil {
        self.0.as_ref().expect("node running")
    }
    pub fn url(&self) -> String {
        self.inner().url.clone()
    }
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        tokio::task::block_in_place(|| self.inner().rpc(method, params))
    }
    pub fn fund(&self, address: &str, wei: u128) {
        tokio::task::block_in_place(|| self.inner().fund(address, wei))
    }
    /// Send through an unlocked dev account and wait for success; returns the receipt.
    pub fn exec(&self, tx: Value) -> Value {
        tokio::task::block_in_place(|| self.inner().exec(tx))
    }
    /// The receipt of `hash`, waiting for it.
    pub fn receipt(&self, hash: &str) -> Value {
        tokio::task::block_in_place(|| self.inner().receipt(hash))
    }
    pub fn deploy(&self, code: &str, from: &str) -> String {
        tokio::task::block_in_place(|| self.inner().deploy(code, from))
    }
    /// `eth_call` answering one uint word.
    pub fn call_u128(&self, to: &str, data: &str) -> u128 {
        hex_u128(&self.rpc("eth_call", json!([{"to": to, "data": data}, "latest"])))
    }
    pub fn balance(&self, address: &str) -> u128 {
        hex_u128(&self.rpc("eth_getBalance", json!([address, "latest"])))
    }
    /// ERC-20 `balanceOf(who)`.
    pub fn token_balance(&self, token: &str, who: &str) -> u128 {
        self.call_u128(token, &format!("0x70a08231{}", word_addr(who)))
    }
    /// Transactions sent by `address` (`eth_getTransactionCount`, latest).
    pub fn nonce(&self, address: &str) -> u128 {
        hex_u128(&self.rpc("eth_getTransactionCount", json!([address, "latest"])))
    }
    /// Deploy one of the ERC-20s of `tests/contracts` (`TestToken`, `PermitToken`: constructor
    /// `(name, symbol, decimals, supply)`) from dev account 0, which holds the supply.
    pub fn deploy_erc20(&self, contract: &str, name: &str, decimals: u8, supply: u128) -> String {
        let code = artifact(contract)["bytecode"].as_str().expect("bytecode").to_string();
        let (n, s) = (word_str(name), word_str(&name[..name.len().min(3)].to_uppercase()));
        let args = format!("{}{}{}{}{}{}", word_u128(0x80), word_u128(0x80 + n.len() as u128 / 2), word_u128(decimals as u128), word_u128(supply), n, s);
        self.deploy(&format!("{code}{args}"), DEV_ACCOUNTS[0])
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let node = self.0.take();
        tokio::task::block_in_place(move || drop(node));
    }
}

pub fn hex_u128(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().expect("hex string").trim_start_matches("0x"), 16).expect("hex number")
}

/// An address as a 32-byte ABI word (hex, no 0x).
pub fn word_addr(a: &str) -> String {
    format!("{:0>64}", a.trim_start_matches("0x").to_lowercase())
}

pub fn word_u128(v: u128) -> String {
    format!("{v:064x}")
}

/// A dynamic string's length word and padded bytes.
pub fn word_str(s: &str) -> String {
    let mut hex = hex::encode(s.as_bytes());
    while hex.len() % 64 != 0 || hex.is_empty() {
        hex.push('0');
    }
    format!("{}{}", word_u128(s.len() as u128), hex)
}
