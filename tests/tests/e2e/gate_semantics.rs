//! Issue 12 items 5 and 6 over the real daemon and a real anvil: a contract call is judged by
//! what it does to the wallet's tokens (sent as CONTRACT_CALL or signed only, with or without
//! trailing bytes), and a sign-only transaction counts the fee it can burn and cannot use a
//! future nonce. Every attack is shown refused next to the legitimate path going through.

use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use serde_json::{json, Value};
use std::time::Duration;
use waiaas_e2e::*;
use waiaas_testnodes::anvil::{artifact, DEV_ACCOUNTS};

const SEPOLIA: u64 = 11155111;
const ETH: u128 = 1_000_000_000_000_000_000;
const GWEI: u128 = 1_000_000_000;
/// One token (6 decimals).
const TST: u128 = 1_000_000;

/// The blocking anvil harness, used from async tests through `block_in_place`.
struct Node(Option<waiaas_testnodes::anvil::Anvil>);

impl Node {
    fn start() -> Node {
        Node(Some(tokio::task::block_in_place(|| waiaas_testnodes::anvil::Anvil::start(SEPOLIA))))
    }
    fn inner(&self) -> &waiaas_testnodes::anvil::Anvil {
        self.0.as_ref().unwrap()
    }
    fn rpc(&self, method: &str, params: Value) -> Value {
        tokio::task::block_in_place(|| self.inner().rpc(method, params))
    }
    fn exec(&self, tx: Value) -> Value {
        tokio::task::block_in_place(|| self.inner().exec(tx))
    }
    fn deploy(&self, code: &str) -> String {
        tokio::task::block_in_place(|| self.inner().deploy(code, DEV_ACCOUNTS[0]))
    }
    fn receipt(&self, hash: &str) -> Value {
        tokio::task::block_in_place(|| self.inner().receipt(hash))
    }
    fn call_u128(&self, to: &str, data: String) -> u128 {
        hex_u128(&self.rpc("eth_call", json!([{"to": to, "data": data}, "latest"])))
    }
    fn token_balance(&self, token: &str, who: &str) -> u128 {
        self.call_u128(token, format!("0x70a08231{}", word_addr(who)))
    }
    fn allowance(&self, token: &str, owner: &str, spender: &str) -> u128 {
        self.call_u128(token, format!("0xdd62ed3e{}{}", word_addr(owner), word_addr(spender)))
    }
    fn next_nonce(&self, who: &str) -> u64 {
        hex_u128(&self.rpc("eth_getTransactionCount", json!([who, "pending"]))) as u64
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let n = self.0.take();
        tokio::task::block_in_place(move || drop(n));
    }
}

fn hex_u128(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn word_addr(a: &str) -> String {
    format!("{:0>64}", a.trim_start_matches("0x").to_lowercase())
}

fn word(v: u128) -> String {
    format!("{v:064x}")
}

/// `0x` + selector + words.
fn calldata(selector: &str, words: &[String]) -> String {
    format!("0x{selector}{}", words.concat())
}

fn transfer_data(to: &str, amount: u128) -> String {
    calldata("a9059cbb", &[word_addr(to), word(amount)])
}

fn approve_data(spender: &str, amount: u128) -> String {
    calldata("095ea7b3", &[word_addr(spender), word(amount)])
}

fn set_approval_for_all_data(operator: &str) -> String {
    calldata("a22cb465", &[word_addr(operator), word(1)])
}

/// Bytes after the ABI arguments: the token contract ignores them.
fn with_trailing(data: &str) -> String {
    format!("{data}{}", hex::encode(b"ignored by the token"))
}

struct Setup {
    node: Node,
    daemon: Daemon,
    api: Api,
    token: Auth,
    wallet: String,
    address: String,
    /// TestToken (6 decimals, $1 by `[prices]`), 1000 TST held by the wallet.
    tst: String,
    vault: String,
}

impl Setup {
    async fn start() -> Setup {
        let node = Node::start();
        // Contracts first, so the daemon can be started with the token's price.
        let code = artifact("TestToken")["bytecode"].as_str().unwrap().to_string();
        let hex_str = |s: &str| format!("{}{:0<64}", word(s.len() as u128), hex::encode(s));
        let (name, symbol) = (hex_str("Test"), hex_str("TST"));
        let args = format!("{}{}{}{}{name}{symbol}", word(0x80), word(0x80 + name.len() as u128 / 2), word(6), word(1_000_000 * TST));
        let tst = node.deploy(&format!("{code}{args}"));
        let vault = node.deploy(artifact("Vault")["bytecode"].as_str().unwrap());
        let daemon = Daemon::start(
            Options::default()
                .env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &node.inner().url)
                .env("WAIAAS_PRICES_ETH", "2000")
                .env(&format!("WAIAAS_PRICES_{tst}"), "1")
                .env("WAIAAS_PRICES_UPDATED_AT", &now().to_string()),
        );
        let api = Api::new(&daemon.base);
        let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "agent", "chain": "ethereum", "environment": "testnet"}))).await;
        assert_eq!(w.status, 201, "{:?}", w.body);
        let address = w.body["publicKey"].as_str().unwrap().to_string();
        tokio::task::block_in_place(|| node.inner().fund(&address, 100 * ETH));
        node.exec(json!({"from": DEV_ACCOUNTS[0], "to": tst, "data": transfer_data(&address, 1000 * TST)}));
        let s = Setup {
            token: Auth::Session(w.body["session"]["token"].as_str().unwrap().into()),
            wallet: w.body["id"].as_str().unwrap().into(),
            address,
            node,
            daemon,
            api,
            tst,
            vault,
        };
        // The operator whitelists both contracts: calls to them are allowed...
        s.policy("CONTRACT_WHITELIST", json!({"contracts": [{"address": s.tst}, {"address": s.vault}]})).await;
        s
    }

    async fn policy(&self, ty: &str, rules: Value) {
        self.api.create_policy(&self.wallet, ty, rules).await;
    }

    /// A CONTRACT_CALL send, waited until it is final (or queued).
    async fn call(&self, to: &str, data: &str, value: u128) -> Value {
        let body = json!({"type": "CONTRACT_CALL", "to": to, "calldata": data, "value": value.to_string()});
        let r = self.api.call("POST", "/v1/transactions/send", &self.token, Some(body.clone())).await;
        assert_eq!(r.status, 201, "{body}: {:?}", r.body);
        self.api.wait_tx(&self.token, r.body["id"].as_str().unwrap(), IN_FLIGHT, Duration::from_secs(30)).await
    }

    /// An unsigned EIP-1559 transaction from the wallet, `nonce_ahead` past its next nonce.
    fn unsigned(&self, to: &str, data: &str, value: u128, max_fee_per_gas: u128, nonce_ahead: u64) -> String {
        let tx = TxEip1559 {
            chain_id: SEPOLIA,
            nonce: self.node.next_nonce(&self.address) + nonce_ahead,
            gas_limit: 100_000,
            max_fee_per_gas,
            max_priority_fee_per_gas: GWEI,
            to: TxKind::Call(to.parse::<Address>().unwrap()),
            value: U256::from(value),
            access_list: Default::default(),
            input: Bytes::from(hex::decode(data.trim_start_matches("0x")).unwrap()),
        };
        let mut raw = vec![];
        tx.encode_for_signing(&mut raw);
        format!("0x{}", hex::encode(raw))
    }

    /// `POST /v1/transactions/sign` with the next nonce and a 20 gwei max fee (at most
    /// 100k gas × 20 gwei = 0.002 ETH = $4 of fee).
    async fn sign_only(&self, to: &str, data: &str, value: u128) -> Resp {
        self.sign_raw(self.unsigned(to, data, value, 20 * GWEI, 0)).await
    }

    async fn sign_raw(&self, raw: String) -> Resp {
        self.api.call("POST", "/v1/transactions/sign", &self.token, Some(json!({"transaction": raw}))).await
    }

    /// Broadcast a signed transaction and wait for its receipt.
    fn broadcast(&self, signed: &Resp) -> Value {
        assert_eq!(signed.status, 200, "{:?}", signed.body);
        let hash = self.node.rpc("eth_sendRawTransaction", json!([signed.body["signedTransaction"]]));
        self.node.receipt(hash.as_str().unwrap())
    }

    fn decision(&self, id: &str) -> Value {
        let conn = rusqlite::Connection::open_with_flags(self.daemon.dir.join("data/waiaas.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let d: String = conn.query_row("SELECT decision FROM transactions WHERE id = ?1", [id], |r| r.get(0)).unwrap();
        serde_json::from_str(&d).unwrap()
    }

    async fn tx_count(&self) -> usize {
        let r = self.api.call("GET", "/v1/transactions?limit=100", &self.token, None).await;
        r.body["items"].as_array().unwrap().len()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A refused sign-only request: 4xx, nothing signed, and the reason names `needle`.
fn refused(r: &Resp, status: u16, needle: &str) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert!(r.body.get("signedTransaction").is_none(), "{:?}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains(needle), "expected '{needle}' in {:?}", r.body);
}

/// A CANCELLED send whose error names `needle`.
fn cancelled(tx: &Value, needle: &str) {
    assert_eq!(tx["status"], "CANCELLED", "{tx}");
    assert!(tx["txHash"].is_null(), "{tx}");
    assert!(tx["error"].as_str().unwrap().contains(needle), "expected '{needle}' in {tx}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_calls_are_judged_by_their_token_meaning() {
    let s = Setup::start().await;
    let (bob, spender, operator) = (DEV_ACCOUNTS[5], DEV_ACCOUNTS[6], DEV_ACCOUNTS[7]);

    // Attack: the token contract is whitelisted, ALLOWED_TOKENS / APPROVED_SPENDERS are not
    // configured. transfer() and approve() as CONTRACT_CALL, exact or with trailing bytes,
    // and setApprovalForAll() are all refused by the token and spender rules.
    let tx = s.call(&s.tst, &transfer_data(bob, 10 * TST), 0).await;
    cancelled(&tx, "no ALLOWED_TOKENS policy");
    assert_eq!(tx["errorCode"], "TOKEN_NOT_ALLOWED", "{tx}");
    let tx = s.call(&s.tst, &with_trailing(&transfer_data(bob, 10 * TST)), 0).await;
    cancelled(&tx, "TOKEN_TRANSFER: Token transfer not allowed");
    let tx = s.call(&s.tst, &approve_data(spender, 10 * TST), 0).await;
    cancelled(&tx, "no APPROVED_SPENDERS policy");
    assert_eq!(tx["errorCode"], "APPROVE_DISABLED", "{tx}");
    let tx = s.call(&s.tst, &with_trailing(&approve_data(spender, 10 * TST)), 0).await;
    cancelled(&tx, "APPROVE: Token approvals disabled");
    let tx = s.call(&s.tst, &set_approval_for_all_data(operator), 0).await;
    cancelled(&tx, "APPROVE: Token approvals disabled");
    // Nothing moved, nothing was approved.
    assert_eq!(s.node.token_balance(&s.tst, &s.address), 1000 * TST);
    assert_eq!(s.node.token_balance(&s.tst, bob), 0);
    assert_eq!(s.node.allowance(&s.tst, &s.address, spender), 0);

    // Control: a whitelisted call without token semantics goes through.
    let tx = s.call(&s.vault, "0xd0e30db0", 4242).await;
    assert_eq!(tx["status"], "CONFIRMED", "{tx}");
    assert_eq!(s.node.call_u128(&s.vault, format!("0xfc7e286d{}", word_addr(&s.address))), 4242, "deposits(wallet)");

    // Control: with the token allowlisted, transfer() as CONTRACT_CALL is decided as a token
    // transfer, valued as 2.5 TST at $1 (not as a call moving 0 ETH), and lands.
    s.policy("ALLOWED_TOKENS", json!({"tokens": [{"address": s.tst}]})).await;
    let tx = s.call(&s.tst, &transfer_data(bob, 2_500_000), 0).await;
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("CONFIRMED"), Some("INSTANT")), "{tx}");
    assert_eq!(s.node.token_balance(&s.tst, bob), 2_500_000);
    let decision = s.decision(tx["id"].as_str().unwrap()).to_string();
    assert!(decision.contains("$2.50 against the default thresholds"), "{decision}");
    // The value limits apply to the token amount: 200 TST = $200 waits for its DELAY.
    let tx = s.call(&s.tst, &transfer_data(bob, 200 * TST), 0).await;
    assert_eq!((tx["status"].as_str(), tx["tier"].as_str()), (Some("QUEUED"), Some("DELAY")), "{tx}");
    let id = tx["id"].as_str().unwrap();
    let c = s.api.call("POST", &format!("/v1/transactions/{id}/cancel"), &s.token, None).await;
    assert_eq!(c.status, 200, "{:?}", c.body);
    // An approval stays refused: the spender is still not approved.
    let tx = s.call(&s.tst, &approve_data(spender, TST), 0).await;
    cancelled(&tx, "no APPROVED_SPENDERS policy");
    assert_eq!(s.node.token_balance(&s.tst, bob), 2_500_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_only_is_judged_by_what_it_does_its_fee_and_its_nonce() {
    let s = Setup::start().await;
    let (bob, spender, operator) = (DEV_ACCOUNTS[5], DEV_ACCOUNTS[6], DEV_ACCOUNTS[7]);

    // Attack: the same token calls inside sign-only transactions, exact and with trailing
    // bytes: refused, nothing signed.
    refused(&s.sign_only(&s.tst, &transfer_data(bob, 10 * TST), 0).await, 403, "no ALLOWED_TOKENS policy");
    refused(&s.sign_only(&s.tst, &with_trailing(&transfer_data(bob, 10 * TST)), 0).await, 403, "no ALLOWED_TOKENS policy");
    refused(&s.sign_only(&s.tst, &approve_data(spender, 10 * TST), 0).await, 403, "no APPROVED_SPENDERS policy");
    refused(&s.sign_only(&s.tst, &with_trailing(&approve_data(spender, 10 * TST)), 0).await, 403, "no APPROVED_SPENDERS policy");
    refused(&s.sign_only(&s.tst, &set_approval_for_all_data(operator), 0).await, 403, "no APPROVED_SPENDERS policy");

    // Attack: a fee the agent chose. 1 wei to bob with 100k gas at 5000 gwei can burn
    // 0.5 ETH ($1000): above the default DELAY threshold, so it cannot be signed at once.
    let r = s.sign_raw(s.unsigned(bob, "0x", 1, 5000 * GWEI, 0)).await;
    refused(&r, 403, "a signature cannot wait");
    assert_eq!(r.body["details"]["tier"], "DELAY", "{:?}", r.body);

    // Attack: a future nonce (a signature held back to be broadcast later): refused before
    // anything is recorded.
    let before = s.tx_count().await;
    let r = s.sign_raw(s.unsigned(bob, "0x", 1, 20 * GWEI, 3)).await;
    refused(&r, 400, "is not the wallet's next nonce");
    assert_eq!(r.code(), "INVALID_TRANSACTION");
    assert_eq!(s.tx_count().await, before, "nothing recorded");

    // Control: the same transfer with an ordinary fee and the next nonce is signed and lands.
    let before = hex_u128(&s.node.rpc("eth_getBalance", json!([bob, "latest"])));
    let r = s.sign_only(bob, "0x", 1).await;
    assert_eq!(r.body["policyResult"]["tier"], "INSTANT", "{:?}", r.body);
    assert_eq!(s.broadcast(&r)["status"], "0x1");
    assert_eq!(hex_u128(&s.node.rpc("eth_getBalance", json!([bob, "latest"]))) - before, 1);

    // Control: a whitelisted call without token semantics is signed and lands.
    let r = s.sign_only(&s.vault, "0xd0e30db0", 1000).await;
    assert_eq!(r.body["operations"][0]["type"], "CONTRACT_CALL", "{:?}", r.body);
    assert_eq!(s.broadcast(&r)["status"], "0x1");
    assert_eq!(s.node.call_u128(&s.vault, format!("0xfc7e286d{}", word_addr(&s.address))), 1000);

    // Control: an allowlisted token transfer is signed as a token transfer and lands; the
    // one with trailing bytes shows both the call and what it does.
    s.policy("ALLOWED_TOKENS", json!({"tokens": [{"address": s.tst}]})).await;
    let r = s.sign_only(&s.tst, &transfer_data(bob, 3 * TST), 0).await;
    assert_eq!(r.body["operations"][0]["type"], "TOKEN_TRANSFER", "{:?}", r.body);
    assert_eq!(s.broadcast(&r)["status"], "0x1");
    assert_eq!(s.node.token_balance(&s.tst, bob), 3 * TST);
    let r = s.sign_only(&s.tst, &with_trailing(&transfer_data(bob, 4 * TST)), 0).await;
    let types: Vec<&str> = r.body["operations"].as_array().unwrap().iter().map(|o| o["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["CONTRACT_CALL", "TOKEN_TRANSFER"], "{:?}", r.body);
    assert_eq!(s.broadcast(&r)["status"], "0x1");
    assert_eq!(s.node.token_balance(&s.tst, bob), 7 * TST);
    // ... and the token amount counts: 200 TST ($200) cannot be signed at once.
    let r = s.sign_only(&s.tst, &transfer_data(bob, 200 * TST), 0).await;
    refused(&r, 403, "a signature cannot wait");
    // Approvals stay refused without APPROVED_SPENDERS.
    refused(&s.sign_only(&s.tst, &approve_data(spender, TST), 0).await, 403, "no APPROVED_SPENDERS policy");
    assert_eq!(s.node.allowance(&s.tst, &s.address, spender), 0);
    assert_eq!(s.node.token_balance(&s.tst, &s.address), 993 * TST);
}
