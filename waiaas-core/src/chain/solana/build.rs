//! Instructions for each [`TxKind`](crate::chain::TxKind), built from values the adapter
//! has already resolved (token program, whether the recipient's token account exists).
//! Pure, so it is unit-tested without a node.
//!
//! Token instructions are built with `spl-token-interface` and re-targeted at the mint's
//! program: the instructions used here (`transferChecked`, `approveChecked`, …) have the
//! same accounts and data in SPL Token and Token-2022.

use super::{MEMO_PROGRAM_ID, TOKEN_2022_PROGRAM_ID};
use crate::chain::{AccountMetaReq, ChainError, ChainResult, ErrorClass};
use crate::error::{Error, ErrorCode};
use solana_instruction::{AccountMeta, Instruction};
use solana_pubkey::Pubkey;
use spl_associated_token_account_interface::{address::get_associated_token_address_with_program_id, instruction as ata_ix};
use spl_token_interface::instruction as token_ix;
use std::str::FromStr;

/// A token as a transaction needs it: mint, its owning program, decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub mint: Pubkey,
    pub program: Pubkey,
    pub decimals: u8,
}

impl Token {
    /// The associated token account of `owner` for this token.
    pub fn ata(&self, owner: &Pubkey) -> Pubkey {
        get_associated_token_address_with_program_id(owner, &self.mint, &self.program)
    }
}

/// A request validation failure (permanent).
pub(crate) fn invalid_field(field: &str, msg: impl Into<String>) -> ChainError {
    ChainError { class: ErrorClass::Permanent, error: Error::validation(field, msg) }
}

/// Parse a base58 address named `field`.
pub(crate) fn pubkey(field: &str, s: &str) -> ChainResult<Pubkey> {
    Pubkey::from_str(s.trim()).map_err(|_| ChainError::permanent(ErrorCode::INVALID_ADDRESS, format!("{field}: '{s}' is not a Solana address")))
}

/// An amount that must fit the chain's u64.
pub(crate) fn amount_u64(field: &str, v: u128) -> ChainResult<u64> {
    u64::try_from(v).map_err(|_| invalid_field(field, format!("{v} exceeds the largest Solana amount ({})", u64::MAX)))
}

/// A Memo program instruction signed by `signer`.
pub(crate) fn memo(signer: &Pubkey, text: &str) -> Instruction {
    Instruction { program_id: MEMO_PROGRAM_ID, accounts: vec![AccountMeta::new_readonly(*signer, true)], data: text.as_bytes().to_vec() }
}

fn with_memo(mut ixs: Vec<Instruction>, signer: &Pubkey, text: Option<&str>) -> Vec<Instruction> {
    ixs.extend(text.map(|t| memo(signer, t)));
    ixs
}

/// Native transfer, then the memo if any.
pub(crate) fn transfer(from: &Pubkey, to: &Pubkey, lamports: u64, memo_text: Option<&str>) -> Vec<Instruction> {
    with_memo(vec![solana_system_interface::instruction::transfer(from, to, lamports)], from, memo_text)
}

/// Build a token instruction with the SPL Token builder and point it at `token.program`.
fn retarget<E: std::fmt::Display>(token: &Token, ix: Result<Instruction, E>) -> ChainResult<Instruction> {
    let mut ix = ix.map_err(|e| ChainError::permanent(ErrorCode::INTERNAL_ERROR, format!("token instruction: {e}")))?;
    ix.program_id = token.program;
    Ok(ix)
}

/// `transferChecked` between the associated token accounts of `from` and `to`, preceded by
/// an idempotent creation of the recipient's account when `create_recipient_ata`, and
/// followed by the memo if any.
pub(crate) fn token_transfer(
    token: &Token,
    from: &Pubkey,
    to: &Pubkey,
    amount: u64,
    create_recipient_ata: bool,
    memo_text: Option<&str>,
) -> ChainResult<Vec<Instruction>> {
    let mut ixs = Vec::with_capacity(3);
    if create_recipient_ata {
        ixs.push(ata_ix::create_associated_token_account_idempotent(from, to, &token.mint, &token.program));
    }
    ixs.push(retarget(
        token,
        token_ix::transfer_checked(&spl_token_interface::ID, &token.ata(from), &token.mint, &token.ata(to), from, &[], amount, token.decimals),
    )?);
    Ok(with_memo(ixs, from, memo_text))
}

/// `approveChecked`: let `spender` move up to `amount` from the owner's associated token account.
pub(crate) fn approve(token: &Token, owner: &Pubkey, spender: &Pubkey, amount: u64) -> ChainResult<Instruction> {
    retarget(token, token_ix::approve_checked(&spl_token_interface::ID, &token.ata(owner), &token.mint, spender, owner, &[], amount, token.decimals))
}

/// An arbitrary program instruction. Only the wallet signs, so no other account may be a
/// signer; Solana program calls carry no native value.
pub(crate) fn contract_call(from: &Pubkey, program: &str, data: &[u8], value: u128, accounts: &[AccountMetaReq]) -> ChainResult<Instruction> {
    if value != 0 {
        return Err(invalid_field("value", "a Solana program call carries no native value; add a TRANSFER to the batch instead"));
    }
    let program_id = pubkey("programId", program)?;
    let accounts = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let key = pubkey(&format!("accounts.{i}.pubkey"), &a.pubkey)?;
            if a.is_signer && key != *from {
                return Err(invalid_field(&format!("accounts.{i}.isSigner"), format!("{key} cannot sign: only the wallet signs")));
            }
            Ok(AccountMeta { pubkey: key, is_signer: a.is_signer, is_writable: a.is_writable })
        })
        .collect::<ChainResult<Vec<_>>>()?;
    Ok(Instruction { program_id, accounts, data: data.to_vec() })
}

/// `GetAccountDataSize` for a Token-2022 associated token account (base account plus the
/// `ImmutableOwner` extension, as the ATA program asks for): the program answers in its
/// return data with the size the account will have for this mint.
pub(crate) fn token_2022_ata_size_query(mint: &Pubkey) -> Instruction {
    const GET_ACCOUNT_DATA_SIZE: u8 = 21;
    const IMMUTABLE_OWNER: u16 = 7;
    let mut data = vec![GET_ACCOUNT_DATA_SIZE];
    data.extend_from_slice(&IMMUTABLE_OWNER.to_le_bytes());
    Instruction { program_id: TOKEN_2022_PROGRAM_ID, accounts: vec![AccountMeta::new_readonly(*mint, false)], data }
}

/// Compute-unit limit of an x402 `exact` payment: the reference client's
/// (`DEFAULT_COMPUTE_UNIT_LIMIT` of `@x402/svm`); a transfer and a memo use far less.
pub(crate) const X402_COMPUTE_UNIT_LIMIT: u32 = 20_000;
/// Compute-unit price of an x402 `exact` payment in micro-lamports: the reference client's
/// (the facilitator refuses more than 5,000,000). The facilitator pays it.
pub(crate) const X402_COMPUTE_UNIT_PRICE: u64 = 1;

/// The x402 `exact` payment transaction, unsigned, in wire form: a v0 message (no lookup
/// tables) paid by `fee_payer` (the facilitator) whose instructions are exactly what the
/// `@x402/svm` facilitator's static layout check accepts, in this order:
///
/// 0. Compute Budget `setComputeUnitLimit(X402_COMPUTE_UNIT_LIMIT)`;
/// 1. Compute Budget `setComputeUnitPrice(X402_COMPUTE_UNIT_PRICE)`;
/// 2. `transferChecked` of the mint's program from `from`'s to `pay_to`'s associated token
///    account, authority `from`;
/// 3. a Memo (v2) instruction without accounts carrying `memo` (the facilitator allows only
///    Memo or Lighthouse after the transfer; the reference client sends 16 random bytes in
///    hex, so two equal payments are two different transactions).
///
/// Required signers: `fee_payer` (slot 0), `from` (slot 1); both slots are zero.
pub(crate) fn x402_exact(
    token: &Token,
    from: &Pubkey,
    pay_to: &Pubkey,
    fee_payer: &Pubkey,
    amount: u64,
    memo: &[u8],
    blockhash: &solana_hash::Hash,
) -> ChainResult<Vec<u8>> {
    use super::COMPUTE_BUDGET_PROGRAM_ID;
    let mut limit = vec![2u8];
    limit.extend_from_slice(&X402_COMPUTE_UNIT_LIMIT.to_le_bytes());
    let mut price = vec![3u8];
    price.extend_from_slice(&X402_COMPUTE_UNIT_PRICE.to_le_bytes());
    let transfer = retarget(
        token,
        token_ix::transfer_checked(&spl_token_interface::ID, &token.ata(from), &token.mint, &token.ata(pay_to), from, &[], amount, token.decimals),
    )?;
    let instructions = [
        Instruction { program_id: COMPUTE_BUDGET_PROGRAM_ID, accounts: vec![], data: limit },
        Instruction { program_id: COMPUTE_BUDGET_PROGRAM_ID, accounts: vec![], data: price },
        transfer,
        Instruction { program_id: MEMO_PROGRAM_ID, accounts: vec![], data: memo.to_vec() },
    ];
    let message = solana_message::v0::Message::try_compile(fee_payer, &instructions, &[], blockhash.clone())
        .map_err(|e| ChainError::permanent(ErrorCode::INTERNAL_ERROR, format!("compile the x402 transaction: {e}")))?;
    let message = solana_message::VersionedMessage::V0(message);
    let signers = usize::from(message.header().num_required_signatures);
    let tx = solana_transaction::versioned::VersionedTransaction { signatures: vec![solana_transaction::Signature::default(); signers], message };
    let bytes = super::wire::serialize(&tx).map_err(|error| ChainError { class: ErrorClass::Permanent, error })?;
    if bytes.len() > super::PACKET_DATA_SIZE {
        return Err(ChainError::permanent(
            ErrorCode::INVALID_TRANSACTION,
            format!("the x402 transaction is {} bytes, more than the {}-byte limit", bytes.len(), super::PACKET_DATA_SIZE),
        ));
    }
    Ok(bytes)
}
