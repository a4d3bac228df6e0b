//! Issue 12 items 5 and 6 on Solana, over the real daemon: SPL Token / System instructions
//! are judged by what they do even when the token and system programs are whitelisted (sent
//! as CONTRACT_CALL or signed only), a sign-only transaction's priority fee counts as value,
//! and durable-nonce transactions are refused. Every attack is shown refused next to the
//! legitimate path going through.
//!
//! The policy decisions of sign-only requests and the refusals of sends read nothing from
//! the chain (the mint's decimals come from the token registry, the blockhash is in the
//! transaction), so `decisions_need_no_chain_read` runs its daemon against an RPC port
//! nobody listens on: a chain read would fail it. `legitimate_paths_land_on_the_validator`
//! broadcasts the controls to a real solana-test-validator.

use base64::Engine as _;
use serde_json::{json, Value};
use solana_hash::Hash;
use solana_instruction::{AccountMeta, Instruction};
use solana_message::{Message, VersionedMessage};
use solana_pubkey::Pubkey;
use solana_system_interface::instruction as system;
use solana_transaction::versioned::VersionedTransaction;
use spl_token_interface::instruction as token;
use std::str::FromStr;
use std::time::Duration;
use waiaas_e2e::solana::{lamports, node};
use waiaas_e2e::*;

const SPL_TOKEN: &str = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
const MEMO: &str = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr";
const COMPUTE_BUDGET: &str = "ComputeBudget111111111111111111111111111111";
const SYSTEM: &str = "11111111111111111111111111111111";

fn rpc(method: &str, params: Value) -> Value {
    tokio::task::block_in_place(|| node().rpc(method, params))
}

fn fresh() -> Pubkey {
    Pubkey::new_from_array(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng).verifying_key().to_bytes())
}

struct Setup {
    _daemon: Daemon,
    api: Api,
    auth: Auth,
    wallet: String,
    me: Pubkey,
    /// A mint the token registry knows (6 decimals, $1 by `[prices]`): classification needs no chain read.
    mint: Pubkey,
}

impl Setup {
    /// A daemon on `rpc` with a Solana wallet (funded by the validator's faucet when `fund`).
    async fn start(rpc: &str, fund: bool) -> Setup {
        let mint = fresh();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let daemon = Daemon::start(
            Options::default()
                .env("WAIAAS_RPC_SOLANA_DEVNET", rpc)
                .env("WAIAAS_PRICES_SOL", "100")
                .env(&format!("WAIAAS_PRICES_{mint}"), "1")
                .env("WAIAAS_PRICES_UPDATED_AT", &now.to_string()),
        );
        let api = Api::new(&daemon.base);
        let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "sol", "chain": "solana", "environment": "testnet"}))).await;
        assert_eq!(w.status, 201, "{:?}", w.body);
        let me = Pubkey::from_str(w.body["publicKey"].as_str().unwrap()).unwrap();
        if fund {
            tokio::task::block_in_place(|| node().airdrop(&me.to_string(), 2_000_000_000));
        }
        let r = api
            .call(
                "POST",
                "/v1/tokens",
                &Api::master(),
                Some(json!({"network": "solana-devnet", "address": mint.to_string(), "symbol": "TST", "name": "Test", "decimals": 6})),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let s = Setup {
            auth: Auth::Session(w.body["session"]["token"].as_str().unwrap().into()),
            wallet: w.body["id"].as_str().unwrap().into(),
            me,
            mint,
            api,
            _daemon: daemon,
        };
        // Program-level whitelist: the token, system and memo programs.
        s.policy("CONTRACT_WHITELIST", json!({"contracts": [{"address": SPL_TOKEN}, {"address": SYSTEM}, {"address": MEMO}]})).await;
        s
    }

    async fn policy(&self, ty: &str, rules: Value) {
        self.api.create_policy(&self.wallet, ty, rules).await;
    }

    /// A base64 unsigned legacy transaction paid by the wallet, on `blockhash`.
    fn unsigned(&self, ixs: &[Instruction], blockhash: Hash) -> String {
        let message = VersionedMessage::Legacy(Message::new_with_blockhash(ixs, Some(&self.me), &blockhash));
        let n = usize::from(message.header().num_required_signatures);
        let tx = VersionedTransaction { signatures: vec![Default::default(); n], message };
        base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&tx).unwrap())
    }

    /// `POST /v1/transactions/sign` of `ixs` on a made-up blockhash (nothing is broadcast).
    async fn sign_only(&self, ixs: &[Instruction]) -> Resp {
        self.sign_raw(self.unsigned(ixs, Hash::new_from_array([7; 32]))).await
    }

    async fn sign_raw(&self, raw: String) -> Resp {
        self.api.call("POST", "/v1/transactions/sign", &self.auth, Some(json!({"transaction": raw}))).await
    }

    /// A signed answer: 200 and the wallet's valid signature over the message.
    fn signed_by_wallet(&self, r: &Resp) {
        assert_eq!(r.status, 200, "{:?}", r.body);
        let raw = base64::engine::general_purpose::STANDARD.decode(r.body["signedTransaction"].as_str().unwrap()).unwrap();
        let tx: VersionedTransaction = bincode::deserialize(&raw).unwrap();
        let key = ed25519_dalek::VerifyingKey::from_bytes(&self.me.to_bytes()).unwrap();
        let signature = ed25519_dalek::Signature::from_slice(tx.signatures[0].as_ref()).unwrap();
        key.verify_strict(&tx.message.serialize(), &signature).expect("the wallet signed the message");
    }

    /// A CONTRACT_CALL send of one instruction, waited until final (or queued).
    async fn call(&self, ix: &Instruction) -> Value {
        let accounts: Vec<Value> =
            ix.accounts.iter().map(|a| json!({"pubkey": a.pubkey.to_string(), "isSigner": a.is_signer, "isWritable": a.is_writable})).collect();
        let body = json!({"type": "CONTRACT_CALL", "programId": ix.program_id.to_string(),
            "instructionData": base64::engine::general_purpose::STANDARD.encode(&ix.data), "accounts": accounts});
        let r = self.api.call("POST", "/v1/transactions/send", &self.auth, Some(body.clone())).await;
        assert_eq!(r.status, 201, "{body}: {:?}", r.body);
        self.api.wait_tx(&self.auth, r.body["id"].as_str().unwrap(), IN_FLIGHT, Duration::from_secs(60)).await
    }

    /// Broadcast a signed transaction and wait until it is confirmed.
    fn broadcast(&self, signed: &Resp) {
        assert_eq!(signed.status, 200, "{:?}", signed.body);
        let sig = rpc("sendTransaction", json!([signed.body["signedTransaction"], {"encoding": "base64", "preflightCommitment": "confirmed"}]));
        tokio::task::block_in_place(|| node().wait_confirmed(sig.as_str().unwrap(), Duration::from_secs(30)));
    }
}

fn refused(r: &Resp, status: u16, needle: &str) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert!(r.body.get("signedTransaction").is_none(), "{:?}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains(needle), "expected '{needle}' in {:?}", r.body);
}

fn budget(tag: u8, value: &[u8]) -> Instruction {
    Instruction::new_with_bytes(Pubkey::from_str(COMPUTE_BUDGET).unwrap(), &[&[tag][..], value].concat(), vec![])
}

fn memo(me: &Pubkey, text: &str) -> Instruction {
    Instruction::new_with_bytes(Pubkey::from_str(MEMO).unwrap(), text.as_bytes(), vec![AccountMeta::new_readonly(*me, true)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_need_no_chain_read() {
    // An RPC port nobody listens on: any chain read fails the request.
    let dead = format!("http://127.0.0.1:{}", waiaas_testnodes::free_port());
    let s = Setup::start(&dead, false).await;
    let program = Pubkey::from_str(SPL_TOKEN).unwrap();
    let (source, attacker) = (fresh(), fresh());
    let me = s.me;

    // Attacks in sign-only transactions, with the token and system programs whitelisted:
    // each is refused and nothing is signed.
    let transfer_checked = token::transfer_checked(&program, &source, &s.mint, &fresh(), &me, &[], 5_000_000, 6).unwrap();
    refused(&s.sign_only(std::slice::from_ref(&transfer_checked)).await, 403, "no ALLOWED_TOKENS policy");
    let transfer = token::transfer(&program, &source, &fresh(), &me, &[], 5_000_000).unwrap();
    refused(&s.sign_only(&[transfer]).await, 403, "use transferChecked");
    let approve = token::approve(&program, &source, &attacker, &me, &[], 5).unwrap();
    refused(&s.sign_only(&[approve]).await, 403, "no APPROVED_SPENDERS policy");
    let set_authority = token::set_authority(&program, &source, Some(&attacker), token::AuthorityType::AccountOwner, &me, &[]).unwrap();
    refused(&s.sign_only(std::slice::from_ref(&set_authority)).await, 403, "no APPROVED_SPENDERS policy");
    let close = token::close_account(&program, &source, &attacker, &me, &[]).unwrap();
    refused(&s.sign_only(std::slice::from_ref(&close)).await, 403, "no APPROVED_SPENDERS policy");
    refused(&s.sign_only(&[system::assign(&me, &attacker)]).await, 403, "no APPROVED_SPENDERS policy");
    // Even with the attacker an approved spender, handing over an account is an unlimited approval.
    s.policy("APPROVED_SPENDERS", json!({"spenders": [{"address": attacker.to_string()}]})).await;
    refused(&s.sign_only(std::slice::from_ref(&set_authority)).await, 403, "Unlimited token approval is blocked");

    // Attack: a durable nonce (the signature would never expire).
    let durable = [system::advance_nonce_account(&fresh(), &me), memo(&me, "later")];
    let r = s.sign_only(&durable).await;
    refused(&r, 400, "durable-nonce");
    assert_eq!(r.code(), "INVALID_TRANSACTION");

    // Attack: a priority fee the agent chose, 1.4M units at 10^10 micro-lamports = 14 SOL
    // ($1400): above the DELAY threshold, so it cannot be signed at once.
    let expensive = [budget(2, &1_400_000u32.to_le_bytes()), budget(3, &10_000_000_000u64.to_le_bytes()), memo(&me, "fee")];
    refused(&s.sign_only(&expensive).await, 403, "a signature cannot wait");

    // Controls: a whitelisted program call without token semantics, a SOL transfer with an
    // ordinary priority fee and, once the mint is allowlisted, the same transferChecked are
    // signed by the wallet.
    s.signed_by_wallet(&s.sign_only(&[budget(3, &1_000u64.to_le_bytes()), memo(&me, "hello")]).await);
    let r = s.sign_only(&[budget(3, &1_000u64.to_le_bytes()), system::transfer(&me, &fresh(), 1_000_000)]).await;
    s.signed_by_wallet(&r);
    assert_eq!(r.body["policyResult"]["tier"], "INSTANT", "{:?}", r.body);
    s.policy("ALLOWED_TOKENS", json!({"tokens": [{"address": s.mint.to_string()}]})).await;
    let r = s.sign_only(std::slice::from_ref(&transfer_checked)).await;
    s.signed_by_wallet(&r);
    assert_eq!(r.body["operations"][0]["type"], "TOKEN_TRANSFER");

    // The same instructions as CONTRACT_CALL sends to the whitelisted programs.
    let tx = s.call(&close).await;
    assert_eq!(tx["status"], "CANCELLED", "{tx}");
    assert!(tx["error"].as_str().unwrap().contains("Unlimited token approval is blocked"), "{tx}");
    let tx = s.call(&system::transfer(&me, &fresh(), 5_000_000_000)).await;
    assert_eq!(
        (tx["status"].as_str(), tx["tier"].as_str()),
        (Some("QUEUED"), Some("DELAY")),
        "5 SOL ($500) as a System program call is valued as a transfer: {tx}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legitimate_paths_land_on_the_validator() {
    let s = Setup::start(&node().url, true).await;
    let me = s.me;
    let latest = || {
        let r = rpc("getLatestBlockhash", json!([{"commitment": "confirmed"}]));
        Hash::from_str(r["value"]["blockhash"].as_str().unwrap()).unwrap()
    };
    // A whitelisted program call without token semantics, signed only, lands.
    s.broadcast(&s.sign_raw(s.unsigned(&[memo(&me, "hello")], latest())).await);
    // A SOL transfer with a priority fee, signed only, lands with its amount.
    let bob = fresh();
    let ixs = [budget(3, &1_000u64.to_le_bytes()), system::transfer(&me, &bob, 1_000_000)];
    s.broadcast(&s.sign_raw(s.unsigned(&ixs, latest())).await);
    assert_eq!(lamports(&bob.to_string()), 1_000_000);
    // The same memo as a CONTRACT_CALL send is confirmed.
    let tx = s.call(&memo(&me, "as a call")).await;
    assert_eq!(tx["status"], "CONFIRMED", "{tx}");
}
