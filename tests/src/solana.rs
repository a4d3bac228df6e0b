//! The Solana side of the end-to-end tests: the shared `solana-test-validator` (posing as
//! solana-devnet), keys, and a funder with an SPL Token and a Token-2022 mint of its own.

use serde_json::json;
use solana_hash::Hash;
use solana_instruction::Instruction;
use solana_message::{Message, VersionedMessage};
use solana_pubkey::Pubkey;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Signature;
use spl_associated_token_account_interface::address::get_associated_token_address_with_program_id as ata;
use std::str::FromStr;
use std::time::{Duration, Instant};
use waiaas_core::chain::rpc::RpcClient;
use waiaas_core::chain::solana::{SolanaAdapter, SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID};
use waiaas_core::chain::{ChainAdapter, TokenInfo, TxKind, TxStatus};
use waiaas_core::keys::{derive_public_key, generate_secret, SecretKey};
use waiaas_core::network::{Chain, Network};

pub fn node() -> &'static waiaas_testnodes::solana::Validator {
    tokio::task::block_in_place(waiaas_testnodes::solana::shared)
}

pub fn adapter() -> SolanaAdapter {
    SolanaAdapter::new(Network::parse("solana-devnet").unwrap(), RpcClient::new(vec![node().url.clone()]))
}

pub fn lamports(addr: &str) -> u64 {
    tokio::task::block_in_place(|| node().rpc("getBalance", json!([addr, {"commitment": "confirmed"}]))["value"].as_u64().unwrap())
}

pub struct Key {
    pub secret: SecretKey,
    pub address: String,
    pub pubkey: Pubkey,
}

pub fn key() -> Key {
    let secret = generate_secret(Chain::Solana);
    let address = derive_public_key(Chain::Solana, &secret).unwrap();
    let pubkey = Pubkey::from_str(&address).unwrap();
    Key { secret, address, pubkey }
}

pub async fn wait_confirmed(a: &SolanaAdapter, signature: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match a.status(signature).await.unwrap() {
            TxStatus::Confirmed { .. } => return,
            TxStatus::Failed { reason } => panic!("{signature} failed: {reason}"),
            s => assert!(Instant::now() < deadline, "{signature} still {s:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The chain side of a test: a funder (faucet SOL, mint authority), an SPL Token mint
/// (6 decimals) and a Token-2022 mint (9 decimals), and a payee whose token accounts exist
/// (the facilitator accepts no instruction that would create them).
pub struct Chainside {
    pub a: SolanaAdapter,
    pub funder: Key,
    pub spl: Pubkey,
    pub t22: Pubkey,
    pub payee: Pubkey,
}

impl Chainside {
    pub async fn new() -> Chainside {
        let a = adapter();
        let funder = key();
        tokio::task::block_in_place(|| node().airdrop(&funder.address, 10_000_000_000));
        let payee = key().pubkey;
        let spl = create_mint(&a, &funder, SPL_TOKEN_PROGRAM_ID, 6, &payee).await;
        let t22 = create_mint(&a, &funder, TOKEN_2022_PROGRAM_ID, 9, &payee).await;
        Chainside { a, funder, spl, t22, payee }
    }

    /// Give `to` 100 tokens of both mints (creating its token accounts; the funder pays).
    pub async fn fund(&self, to: &str) {
        for mint in [self.spl, self.t22] {
            self.give(to, &mint, 100 * 10u128.pow(u32::from(self.decimals(&mint)))).await;
        }
    }

    /// The decimals of one of the two mints (6 for SPL Token, 9 for Token-2022).
    pub fn decimals(&self, mint: &Pubkey) -> u8 {
        if *mint == self.spl {
            6
        } else {
            9
        }
    }

    /// Send `to` `amount` (smallest units) of `mint` from the funder; returns the signature,
    /// confirmed.
    pub async fn give(&self, to: &str, mint: &Pubkey, amount: u128) -> String {
        let token = TokenInfo { address: mint.to_string(), decimals: self.decimals(mint), symbol: None, program_id: None };
        self.send(&TxKind::TokenTransfer { to: to.to_string(), amount, token, memo: None }).await
    }

    /// Send `to` `lamports` from the funder; returns the signature, confirmed.
    pub async fn pay(&self, to: &str, lamports: u64) -> String {
        self.send(&TxKind::Transfer { to: to.to_string(), amount: u128::from(lamports), memo: None }).await
    }

    async fn send(&self, kind: &TxKind) -> String {
        let tx = self.a.build(&self.funder.address, kind, None).await.unwrap();
        let signed = self.a.sign(&tx, &self.funder.secret).unwrap();
        self.a.broadcast(&signed).await.unwrap();
        wait_confirmed(&self.a, &signed.hash).await;
        signed.hash
    }

    pub async fn tokens(&self, owner: &str, mint: &Pubkey) -> u128 {
        self.a.token_balance(owner, &mint.to_string()).await.unwrap()
    }
}

/// A mint of `program` with `decimals` (authority: the funder, who gets 1,000,000 tokens),
/// and `payee`'s associated token account for it.
pub async fn create_mint(a: &SolanaAdapter, funder: &Key, program: Pubkey, decimals: u8, payee: &Pubkey) -> Pubkey {
    const MINT_LEN: u64 = 82;
    let mint_key = key();
    let mint = mint_key.pubkey;
    let rent = a.rpc().read("getMinimumBalanceForRentExemption", json!([MINT_LEN])).await.unwrap().as_u64().unwrap();
    // The SPL Token builders insist on the SPL Token id; Token-2022 shares these layouts.
    let retarget = |mut ix: Instruction| {
        ix.program_id = program;
        ix
    };
    let me = funder.pubkey;
    let ixs = [
        solana_system_interface::instruction::create_account(&me, &mint, rent, MINT_LEN, &program),
        retarget(spl_token_interface::instruction::initialize_mint2(&SPL_TOKEN_PROGRAM_ID, &mint, &me, None, decimals).unwrap()),
        spl_associated_token_account_interface::instruction::create_associated_token_account_idempotent(&me, &me, &mint, &program),
        spl_associated_token_account_interface::instruction::create_associated_token_account_idempotent(&me, payee, &mint, &program),
        retarget(
            spl_token_interface::instruction::mint_to(
                &SPL_TOKEN_PROGRAM_ID,
                &mint,
                &ata(&me, &mint, &program),
                &me,
                &[],
                1_000_000 * 10u64.pow(u32::from(decimals)),
            )
            .unwrap(),
        ),
    ];
    let v = a.rpc().read("getLatestBlockhash", json!([{"commitment": "confirmed"}])).await.unwrap();
    let blockhash = Hash::from_str(v["value"]["blockhash"].as_str().unwrap()).unwrap();
    let message = VersionedMessage::Legacy(Message::new_with_blockhash(&ixs, Some(&me), &blockhash));
    let raw = bincode::serialize(&VersionedTransaction { signatures: vec![Signature::default(); 2], message }).unwrap();
    let half = a.sign_external(&raw, &mint_key.secret).unwrap();
    let signed = a.sign_external(&half.raw, &funder.secret).unwrap();
    a.broadcast(&signed).await.unwrap();
    wait_confirmed(a, &signed.hash).await;
    mint
}
