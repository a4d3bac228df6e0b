//! Solana adapter: native and SPL/Token-2022 transfers, program calls, simulation, signing, decoding.
//!
//! [`SolanaAdapter`] implements [`ChainAdapter`] over raw JSON-RPC through
//! [`RpcClient`] (endpoint failover). Modules: `build` turns a [`TxKind`] into
//! instructions, `wire` parses and signs the wire format, `decode` explains external
//! transactions (and single instructions, [`describe_instruction`]) to the policy engine,
//! `errors` classifies failures, `node` holds the typed RPC calls, `incoming` the incoming
//! monitor's scan by slot.
//!
//! # Transactions
//!
//! - `TRANSFER`: System `transfer`, then a Memo program instruction when a memo is given.
//! - `TOKEN_TRANSFER`: `transferChecked` between the associated token accounts (ATAs) of
//!   sender and recipient. The mint's program (SPL Token or Token-2022) is
//!   [`TokenInfo::program_id`] when given, else the owner of the mint account. When the
//!   recipient's ATA does not exist, an idempotent `create` precedes the transfer and its
//!   rent-exempt deposit is reported in [`FeeEstimate::ata_rent`] (Token-2022 accounts are
//!   sized by the program itself, so mint extensions are accounted for).
//! - `CONTRACT_CALL`: one instruction: `to` = program id, `calldata` = instruction data,
//!   `accounts`; only the wallet may sign and `value` must be 0.
//! - `APPROVE`: `approveChecked` on the owner's ATA.
//! - `BATCH`: the instructions of each item, in order, in one transaction (all or nothing).
//! - x402 `exact` ([`ChainAdapter::x402_transfer`], not a [`TxKind`]): a v0 message paid by
//!   the facilitator, `setComputeUnitLimit(20000)`, `setComputeUnitPrice(1)`,
//!   `transferChecked` between the associated token accounts of payer and payee, a memo of 16
//!   random bytes in hex: the layout the `@x402/svm` 2.27.0 facilitator verifies. The payee's
//!   account must exist (the facilitator refuses an instruction creating it), the payer's must
//!   hold the amount; both are checked before anything is signed.
//!
//! [`UnsignedTx::bytes`] is the wire form of the unsigned transaction (legacy message,
//! zeroed signature slot, `confirmed` blockhash): it can be simulated as is, signed by
//! filling the slot, and decoded by [`ChainAdapter::decode_external`].
//! `last_valid_block_height` comes with the blockhash; the fee is `getFeeForMessage`.
//!
//! # Error classes
//!
//! | failure | class | code |
//! |---|---|---|
//! | not enough lamports to move (`InsufficientFunds`, system error 1, rent) | permanent | `INSUFFICIENT_BALANCE` |
//! | not enough lamports for the fee, fee payer never funded | permanent | `INSUFFICIENT_FOR_FEE` |
//! | token program error 1 (insufficient funds) | permanent | `INSUFFICIENT_TOKEN_BALANCE` |
//! | other program / instruction error | permanent | `SIMULATION_FAILED` (dry run, preflight) or `TRANSACTION_REVERTED` (landed) |
//! | `BlockhashNotFound`, blockhash expired, fee query without blockhash | stale | `CHAIN_ERROR` (the pipeline rebuilds once) |
//! | signature verification / undecodable transaction | permanent | `INVALID_TRANSACTION` |
//! | transport, HTTP 429/5xx, node unhealthy, account-lock or block-cost limits, unknown RPC errors | transient | `CHAIN_ERROR` |
//! | `AlreadyProcessed` on broadcast | success (same signature) | |
//!
//! A failing [`simulate`](ChainAdapter::simulate) is `Ok(Simulation { success: false })`
//! with the decoded error, except a stale blockhash, which is `Err(stale)`. A broadcast that
//! fails as stale first checks whether the signature already landed (then it is a success,
//! so a rebuild never sends twice).

mod build;
mod decode;
mod errors;
mod incoming;
mod node;
mod wire;

#[cfg(test)]
mod tests;

pub use decode::{DEFAULT_UNITS_PER_INSTRUCTION, LAMPORTS_PER_SIGNATURE, MAX_COMPUTE_UNITS};
pub use wire::PACKET_DATA_SIZE;

/// What one instruction (a `CONTRACT_CALL` send: program, data, accounts) does, as the
/// operation the policy engine judges: the same classifier as for sign-only transactions.
pub fn describe_instruction(program: &str, data: &[u8], accounts: &[crate::chain::AccountMetaReq]) -> Result<crate::chain::Operation> {
    let program = build::pubkey("programId", program)?;
    let accounts = accounts.iter().map(|a| build::pubkey("accounts", &a.pubkey)).collect::<ChainResult<Vec<_>>>()?;
    decode::describe_instruction(&program, data, &accounts)
}

use crate::chain::rpc::RpcClient;
use crate::chain::{
    ChainAdapter, ChainError, ChainResult, DecodedTx, ErrorClass, FeeEstimate, MessageKind, SignedTx, Simulation, TokenInfo, TxKind, TxStatus, UnsignedTx,
};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::SecretKey;
use crate::network::{Chain, Network};
use async_trait::async_trait;
use build::Token;
use ed25519_dalek::Signer as _;
use serde_json::Value;
use solana_message::{Message, VersionedMessage};
use solana_pubkey::Pubkey;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Signature;
use std::collections::HashSet;

/// SPL Token program.
pub const SPL_TOKEN_PROGRAM_ID: Pubkey = spl_token_interface::ID;
/// Token-2022 (token extensions) program.
pub const TOKEN_2022_PROGRAM_ID: Pubkey = Pubkey::from_str_const("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
/// Associated Token Account program.
pub const ATA_PROGRAM_ID: Pubkey = spl_associated_token_account_interface::program::ID;
/// Memo program (v2), used for memos.
pub const MEMO_PROGRAM_ID: Pubkey = Pubkey::from_str_const("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
/// Memo program v1 (still recognised when decoding).
pub const MEMO_V1_PROGRAM_ID: Pubkey = Pubkey::from_str_const("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo");
/// Compute Budget program.
pub const COMPUTE_BUDGET_PROGRAM_ID: Pubkey = Pubkey::from_str_const("ComputeBudget111111111111111111111111111111");

/// Whether `program` is SPL Token or Token-2022.
pub fn is_token_program(program: &Pubkey) -> bool {
    *program == SPL_TOKEN_PROGRAM_ID || *program == TOKEN_2022_PROGRAM_ID
}

/// A readable name for well-known programs, else the base58 id.
fn program_name(program: &Pubkey) -> String {
    let name = match *program {
        p if p == solana_system_interface::program::ID => "System Program",
        p if p == SPL_TOKEN_PROGRAM_ID => "SPL Token",
        p if p == TOKEN_2022_PROGRAM_ID => "Token-2022",
        p if p == ATA_PROGRAM_ID => "Associated Token Account",
        p if p == MEMO_PROGRAM_ID || p == MEMO_V1_PROGRAM_ID => "Memo",
        p if p == COMPUTE_BUDGET_PROGRAM_ID => "Compute Budget",
        p => return p.to_string(),
    };
    name.to_string()
}

fn permanent(error: Error) -> ChainError {
    ChainError { class: ErrorClass::Permanent, error }
}

/// The Solana adapter for one network.
#[derive(Clone)]
pub struct SolanaAdapter {
    network: Network,
    rpc: RpcClient,
}

/// Instructions collected for one transaction.
#[derive(Default)]
struct Plan {
    instructions: Vec<solana_instruction::Instruction>,
    /// Recipient ATAs this transaction creates (a batch creates each once).
    created_atas: HashSet<Pubkey>,
    ata_rent: u64,
}

impl SolanaAdapter {
    /// An adapter for a Solana `network` talking to `rpc`. Decoding and signing are pure,
    /// so `RpcClient::new(vec![])` is enough for them.
    pub fn new(network: Network, rpc: RpcClient) -> SolanaAdapter {
        debug_assert_eq!(network.chain(), Chain::Solana, "SolanaAdapter needs a Solana network");
        SolanaAdapter { network, rpc }
    }

    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// The mint's program and decimals: the program from `token` when given (it must be a
    /// token program), else read from the chain; decimals as requested (`transferChecked`
    /// and `approveChecked` verify them on chain).
    async fn token(&self, token: &TokenInfo) -> ChainResult<Token> {
        let mint = build::pubkey("token.address", &token.address)?;
        let program = match &token.program_id {
            Some(p) => {
                let program = build::pubkey("token.programId", p)?;
                if !is_token_program(&program) {
                    return Err(build::invalid_field("token.programId", format!("{program} is not SPL Token or Token-2022")));
                }
                program
            }
            None => self.mint(&mint).await?.program,
        };
        Ok(Token { mint, program, decimals: token.decimals })
    }

    /// Append the instructions of one (non-batch) kind.
    async fn plan(&self, from: &Pubkey, kind: &TxKind, plan: &mut Plan) -> ChainResult<()> {
        match kind {
            TxKind::Transfer { to, amount, memo } => {
                let to = build::pubkey("to", to)?;
                plan.instructions.extend(build::transfer(from, &to, build::amount_u64("amount", *amount)?, memo.as_deref()));
            }
            TxKind::TokenTransfer { to, amount, token, memo } => {
                let to = build::pubkey("to", to)?;
                let amount = build::amount_u64("amount", *amount)?;
                let token = self.token(token).await?;
                let recipient_ata = token.ata(&to);
                let create = !plan.created_atas.contains(&recipient_ata) && self.account(&recipient_ata).await?.is_none();
                if create {
                    plan.ata_rent = plan.ata_rent.saturating_add(self.ata_rent(&token, from).await?);
                    plan.created_atas.insert(recipient_ata);
                }
                plan.instructions.extend(build::token_transfer(&token, from, &to, amount, create, memo.as_deref())?);
            }
            TxKind::ContractCall { to, calldata, value, accounts } => {
                plan.instructions.push(build::contract_call(from, to, calldata, *value, accounts)?);
            }
            TxKind::Approve { spender, amount, token } => {
                let spender = build::pubkey("spender", spender)?;
                let amount = build::amount_u64("amount", *amount)?;
                let token = self.token(token).await?;
                plan.instructions.push(build::approve(&token, from, &spender, amount)?);
            }
            TxKind::Batch { .. } => return Err(build::invalid_field("instructions", "a BATCH cannot contain another BATCH")),
        }
        Ok(())
    }

    /// Sign a parsed transaction with `key` after checking that we can explain it.
    fn sign_parsed(mut tx: VersionedTransaction, key: &SecretKey) -> Result<(VersionedTransaction, Vec<u8>)> {
        decode::decode(&tx)?;
        wire::sign_slot(&mut tx, key)?;
        let raw = wire::serialize(&tx)?;
        Ok((tx, raw))
    }
}

#[async_trait]
impl ChainAdapter for SolanaAdapter {
    fn network(&self) -> Network {
        self.network
    }

    async fn balance(&self, address: &str) -> ChainResult<u128> {
        Ok(u128::from(self.lamports(&build::pubkey("address", address)?).await?))
    }

    async fn token_balance(&self, owner: &str, token: &str) -> ChainResult<u128> {
        self.token_amount(&build::pubkey("owner", owner)?, &build::pubkey("token", token)?).await
    }

    async fn token_info(&self, token: &str) -> ChainResult<TokenInfo> {
        let t = self.mint(&build::pubkey("token", token)?).await?;
        Ok(TokenInfo { address: t.mint.to_string(), decimals: t.decimals, symbol: None, program_id: Some(t.program.to_string()) })
    }

    async fn next_nonce(&self, _address: &str) -> ChainResult<Option<u64>> {
        Ok(None)
    }

    async fn build(&self, from: &str, kind: &TxKind, _nonce: Option<u64>) -> ChainResult<UnsignedTx> {
        let payer = build::pubkey("from", from)?;
        let kinds = match kind {
            TxKind::Batch { instructions } if instructions.is_empty() => {
                return Err(build::invalid_field("instructions", "a BATCH needs at least one instruction"));
            }
            TxKind::Batch { instructions } => instructions.as_slice(),
            single => std::slice::from_ref(single),
        };
        let mut plan = Plan::default();
        for k in kinds {
            self.plan(&payer, k, &mut plan).await?;
        }
        let (blockhash, last_valid_block_height) = self.latest_blockhash().await?;
        let message = VersionedMessage::Legacy(Message::new_with_blockhash(&plan.instructions, Some(&payer), &blockhash));
        let signers = usize::from(message.header().num_required_signatures);
        let tx = VersionedTransaction { signatures: vec![Signature::default(); signers], message };
        let bytes = wire::serialize(&tx).map_err(permanent)?;
        if bytes.len() > PACKET_DATA_SIZE {
            let code = if matches!(kind, TxKind::Batch { .. }) { ErrorCode::BATCH_SIZE_EXCEEDED } else { ErrorCode::INVALID_TRANSACTION };
            return Err(ChainError::permanent(code, format!("transaction is {} bytes, more than the {PACKET_DATA_SIZE}-byte limit", bytes.len())));
        }
        let fee = self.fee_for_message(&tx.message).await?;
        Ok(UnsignedTx {
            chain: Chain::Solana,
            network: self.network.id().to_string(),
            bytes,
            nonce: None,
            fee: FeeEstimate { estimated_fee: u128::from(fee), ata_rent: (!plan.created_atas.is_empty()).then_some(plan.ata_rent), ..FeeEstimate::default() },
            last_valid_block_height: Some(last_valid_block_height),
            dry_run_passed: false,
        })
    }

    async fn simulate(&self, from: &str, tx: &UnsignedTx) -> ChainResult<Simulation> {
        let parsed = wire::parse(&tx.bytes).map_err(permanent)?;
        let payer = build::pubkey("from", from)?;
        if wire::required_signers(&parsed.message).first() != Some(&payer) {
            return Err(ChainError::permanent(ErrorCode::WALLET_NOT_SIGNER, format!("{payer} is not the fee payer of this transaction")));
        }
        let value = self.simulate_raw(&parsed, false).await?;
        let logs = value.get("logs").and_then(Value::as_array).map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default();
        let units_consumed = value.get("unitsConsumed").and_then(Value::as_u64);
        let Some(err) = value.get("err").filter(|e| !e.is_null()) else {
            return Ok(Simulation { success: true, error: None, logs, units_consumed });
        };
        let failure = errors::tx_failure(err, &wire::instruction_programs(&parsed.message), false);
        if failure.class == ErrorClass::Stale {
            return Err(failure.into_chain_error());
        }
        Ok(Simulation { success: false, error: Some(failure.text), logs, units_consumed })
    }

    fn sign(&self, tx: &UnsignedTx, key: &SecretKey) -> Result<SignedTx> {
        let (signed, raw) = Self::sign_parsed(wire::parse(&tx.bytes)?, key)?;
        if signed.signatures.iter().any(|s| *s == Signature::default()) {
            return Err(Error::new(ErrorCode::INVALID_TRANSACTION, "the transaction needs signatures from accounts other than the wallet"));
        }
        let hash = wire::transaction_id(&signed).ok_or_else(|| Error::internal("signed transaction without an id"))?;
        Ok(SignedTx { raw, hash })
    }

    async fn broadcast(&self, tx: &SignedTx) -> ChainResult<String> {
        let parsed = wire::parse(&tx.raw).map_err(permanent)?;
        let signature = wire::transaction_id(&parsed)
            .ok_or_else(|| ChainError::permanent(ErrorCode::INVALID_TRANSACTION, "the fee payer has not signed this transaction"))?;
        let failure = match self.send_raw(&tx.raw, &wire::instruction_programs(&parsed.message)).await? {
            Ok(()) => return Ok(signature),
            Err(f) => f,
        };
        // Re-sending bytes that already landed is a success, even once their blockhash expired.
        if failure.already_processed() || (failure.class == ErrorClass::Stale && self.signature_status(&signature).await? != TxStatus::NotFound) {
            return Ok(signature);
        }
        Err(failure.into_chain_error())
    }

    async fn status(&self, hash: &str) -> ChainResult<TxStatus> {
        let valid = bs58::decode(hash).into_vec().is_ok_and(|b| b.len() == 64);
        if !valid {
            return Err(ChainError::permanent(ErrorCode::INVALID_TRANSACTION, format!("'{hash}' is not a Solana transaction signature")));
        }
        self.signature_status(hash).await
    }

    async fn head_block(&self) -> ChainResult<u64> {
        self.head_slot().await
    }

    async fn incoming(&self, addresses: &[String], from: u64, to: u64) -> ChainResult<Vec<crate::chain::IncomingTransfer>> {
        self.scan_incoming(addresses, from, to).await
    }

    async fn still_valid(&self, tx: &UnsignedTx) -> ChainResult<bool> {
        let parsed = wire::parse(&tx.bytes).map_err(permanent)?;
        self.blockhash_valid(parsed.message.recent_blockhash(), tx.last_valid_block_height).await
    }

    fn decode_external(&self, raw: &[u8]) -> Result<DecodedTx> {
        decode::decode(&wire::parse(raw)?)
    }

    fn sign_external(&self, raw: &[u8], key: &SecretKey) -> Result<SignedTx> {
        let (signed, raw) = Self::sign_parsed(wire::parse(raw)?, key)?;
        // Empty while the fee payer (another account) has not signed yet.
        Ok(SignedTx { raw, hash: wire::transaction_id(&signed).unwrap_or_default() })
    }

    async fn x402_transfer(&self, from: &str, pay_to: &str, mint: &str, amount: u128, fee_payer: &str) -> ChainResult<Vec<u8>> {
        let from = build::pubkey("from", from)?;
        let pay_to = build::pubkey("payTo", pay_to)?;
        let mint = build::pubkey("asset", mint)?;
        let fee_payer = build::pubkey("extra.feePayer", fee_payer)?;
        let amount = build::amount_u64("amount", amount)?;
        if fee_payer == from {
            return Err(build::invalid_field("extra.feePayer", format!("the fee payer {fee_payer} is the paying wallet itself; x402 needs the facilitator's")));
        }
        let token = self.mint(&mint).await?;
        let (source, destination) = (token.ata(&from), token.ata(&pay_to));
        let (source_account, destination_account, (blockhash, _)) =
            tokio::try_join!(self.account(&source), self.account(&destination), self.latest_blockhash())?;
        // The facilitator accepts no instruction that creates the payee's token account and
        // would only fail the simulation: say why now, before anything is signed.
        if destination_account.is_none_or(|a| a.owner != token.program) {
            return Err(ChainError::permanent(
                ErrorCode::X402_PAYMENT_REJECTED,
                format!(
                    "the payee {pay_to} has no token account for {mint} (associated account {destination} does not exist); \
                     an x402 `exact` payment cannot create it"
                ),
            ));
        }
        let held = source_account.filter(|a| a.owner == token.program).and_then(|a| a.token_amount()).unwrap_or(0);
        if held < amount {
            return Err(ChainError::permanent(
                ErrorCode::INSUFFICIENT_TOKEN_BALANCE,
                format!("{from} holds {held} of {mint} in its associated token account {source}, the payment needs {amount}"),
            ));
        }
        let memo = hex::encode(rand::random::<[u8; 16]>());
        build::x402_exact(&token, &from, &pay_to, &fee_payer, amount, memo.as_bytes(), &blockhash)
    }
}

/// Whether `bytes` decode as a Solana transaction message (legacy or versioned): an ed25519
/// signature over them would be a valid transaction signature, so sign-message refuses them.
pub fn is_transaction_message(bytes: &[u8]) -> bool {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_limit(wire::PACKET_DATA_SIZE as u64)
        .reject_trailing_bytes()
        .deserialize::<solana_message::VersionedMessage>(bytes)
        .is_ok_and(|m| m.sanitize().is_ok())
}

/// Sign a message for `POST /v1/transactions/sign-message` with a Solana key: `Personal`
/// is a raw ed25519 signature over the bytes, in base58; typed data (EIP-712) is EVM only.
pub fn sign_message(key: &SecretKey, kind: &MessageKind) -> Result<String> {
    match kind {
        MessageKind::Personal(bytes) => {
            if key.chain() != Chain::Solana {
                return Err(Error::new(ErrorCode::SIGNING_SCHEME_UNSUPPORTED, "not a Solana (ed25519) key"));
            }
            Ok(bs58::encode(key.ed25519()?.sign(bytes).to_bytes()).into_string())
        }
        MessageKind::TypedData(_) => Err(Error::new(ErrorCode::SIGNING_SCHEME_UNSUPPORTED, "EIP-712 typed data cannot be signed by a Solana wallet")),
    }
}
