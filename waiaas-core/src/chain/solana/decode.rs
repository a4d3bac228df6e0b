//! Decoding of external transactions (`POST /v1/transactions/sign`) into the operations
//! the policy engine evaluates. Pure: no RPC, no panics on any input (fuzzed by
//! `fuzz/fuzz_targets/solana_decode.rs`).
//!
//! One [`Operation`] per instruction, in order:
//!
//! | instruction | operation |
//! |---|---|
//! | System `transfer` / `transferWithSeed` / `withdrawNonceAccount` | `TRANSFER` `to`, `amount` (lamports) |
//! | SPL Token / Token-2022 `transfer`, `transferChecked` | `TOKEN_TRANSFER` `to`, `amount`, `token` (mint; only `transferChecked` names it) |
//! | SPL Token / Token-2022 `burn`, `burnChecked` | `TOKEN_TRANSFER` `to` = `token` = the mint, `amount` (tokens leave the wallet) |
//! | SPL Token / Token-2022 `approve`, `approveChecked` | `APPROVE` `to` = delegate, `amount`, `token` (only `approveChecked` names it) |
//! | SPL Token / Token-2022 `setAuthority` | `APPROVE` `to` = the new authority (the account itself when the authority is removed), no amount, no token |
//! | SPL Token / Token-2022 `closeAccount` | `APPROVE` `to` = the destination of the account's lamports, no amount, no token |
//! | Token-2022 instructions this decoder does not know (extensions, tags 25+) | `APPROVE` `to` = the instruction's first static account (else the program), no amount, no token |
//! | System `assign` / `assignWithSeed` | `APPROVE` `to` = the new owner program, no amount, no token |
//! | System `initializeNonceAccount` / `authorizeNonceAccount` | `APPROVE` `to` = the nonce authority, no amount, no token |
//! | anything else | `CONTRACT_CALL` `programId`, `method` when known |
//!
//! An `APPROVE` without a token hands over control that cannot be bounded (an authority, an
//! account, an account's owner, or an allowance of a mint the instruction does not name): the
//! policy engine judges it as an unlimited approval of `to`, denied unless APPROVED_SPENDERS
//! lists `to` and an APPROVE_AMOUNT_LIMIT allows unlimited approvals. Whitelisting the token
//! or system program (CONTRACT_WHITELIST) never authorizes any of the rows above.
//!
//! Every operation carries its `programId`. A token transfer's `to` is the recipient
//! wallet when the same transaction creates (or idempotently checks) the destination's
//! associated token account — the ATA program verifies that owner on chain — and the
//! destination token account otherwise. `native_value` sums every lamport outflow a signer
//! funds: system transfers, account creations and nonce withdrawals. `max_fee` is what the
//! fee payer can be charged: [`LAMPORTS_PER_SIGNATURE`] per required signature plus the
//! priority fee (compute-unit price × compute-unit limit of the Compute Budget instructions;
//! without a limit, [`DEFAULT_UNITS_PER_INSTRUCTION`] per other instruction, at most
//! [`MAX_COMPUTE_UNITS`]).
//!
//! Rejected as `INVALID_TRANSACTION` (besides what `wire::parse` rejects): system
//! or value-moving token instructions whose data the program itself would not accept,
//! token `batch` instructions (they hide the transfers they contain), value-moving
//! instructions whose accounts come from address lookup tables (they cannot be resolved
//! offline), and durable-nonce transactions (first instruction `advanceNonceAccount`): they
//! never expire, so a signature could be held back and broadcast at any later time.
//!
//! [`describe_instruction`] applies the same classification to one instruction given by
//! program, data and accounts (a `CONTRACT_CALL` send).

use super::{is_token_program, ATA_PROGRAM_ID, COMPUTE_BUDGET_PROGRAM_ID, MEMO_PROGRAM_ID, MEMO_V1_PROGRAM_ID};
use crate::chain::{DecodedTx, Operation};
use crate::error::{Error, ErrorCode, Result};
use bincode::Options;
use solana_message::compiled_instruction::CompiledInstruction;
use solana_pubkey::Pubkey;
use solana_system_interface::instruction::SystemInstruction;
use solana_transaction::versioned::VersionedTransaction;
use spl_token_interface::instruction::TokenInstruction;
use std::collections::HashMap;

/// Method names of the instructions SPL Token and Token-2022 share (tags 0..=24).
const TOKEN_METHODS: [&str; 25] = [
    "initializeMint",
    "initializeAccount",
    "initializeMultisig",
    "transfer",
    "approve",
    "revoke",
    "setAuthority",
    "mintTo",
    "burn",
    "closeAccount",
    "freezeAccount",
    "thawAccount",
    "transferChecked",
    "approveChecked",
    "mintToChecked",
    "burnChecked",
    "initializeAccount2",
    "syncNative",
    "initializeAccount3",
    "initializeMultisig2",
    "initializeMint2",
    "getAccountDataSize",
    "initializeImmutableOwner",
    "amountToUiAmount",
    "uiAmountToAmount",
];

/// Token-program instruction tag of `batch` (several token instructions in one).
const TOKEN_BATCH_TAG: u8 = 255;

/// Base fee per required signature, in lamports.
pub const LAMPORTS_PER_SIGNATURE: u64 = 5_000;
/// Compute units an instruction may use when no `setComputeUnitLimit` is given.
pub const DEFAULT_UNITS_PER_INSTRUCTION: u64 = 200_000;
/// The most compute units a transaction may use.
pub const MAX_COMPUTE_UNITS: u64 = 1_400_000;

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::INVALID_TRANSACTION, msg)
}

/// One compiled instruction with its program and accounts resolved against the static keys.
struct Ix<'a> {
    index: usize,
    program: Pubkey,
    data: &'a [u8],
    accounts: &'a [u8],
    keys: &'a [Pubkey],
}

impl<'a> Ix<'a> {
    fn new(index: usize, ix: &'a CompiledInstruction, keys: &'a [Pubkey]) -> Result<Ix<'a>> {
        let program = *keys.get(usize::from(ix.program_id_index)).ok_or_else(|| invalid(format!("instruction {index}: program id is not a static account")))?;
        Ok(Ix { index, program, data: &ix.data, accounts: &ix.accounts, keys })
    }

    /// The `n`-th account; an error when missing or loaded from a lookup table.
    fn account(&self, n: usize) -> Result<Pubkey> {
        let idx = *self.accounts.get(n).ok_or_else(|| invalid(format!("instruction {}: missing account #{n}", self.index)))?;
        self.keys
            .get(usize::from(idx))
            .copied()
            .ok_or_else(|| invalid(format!("instruction {}: account #{n} comes from an address lookup table and cannot be resolved offline", self.index)))
    }

    /// An `APPROVE` without amount or token: control of something handed to `to`.
    fn control(&self, method: &str, to: Pubkey) -> Operation {
        Operation { to: Some(to.to_string()), ..self.op("APPROVE", Some(method)) }
    }

    fn op(&self, op_type: &str, method: Option<&str>) -> Operation {
        Operation { op_type: op_type.to_string(), program_id: Some(self.program.to_string()), method: method.map(str::to_string), ..Operation::default() }
    }
}

/// Decode a parsed transaction (see the module docs).
pub(crate) fn decode(tx: &VersionedTransaction) -> Result<DecodedTx> {
    let message = &tx.message;
    let keys = message.static_account_keys();
    let ixs = message.instructions().iter().enumerate().map(|(i, ix)| Ix::new(i, ix, keys)).collect::<Result<Vec<_>>>()?;
    if let Some(first) = ixs.first().filter(|ix| ix.program == solana_system_interface::program::ID) {
        if matches!(parse_system(first), Ok(SystemInstruction::AdvanceNonceAccount)) {
            return Err(invalid(
                "durable-nonce transactions (first instruction advanceNonceAccount) are refused: \
                 they never expire, so the signature could be broadcast at any later time",
            ));
        }
    }
    let ata_owners = created_ata_owners(&ixs);
    let mut native_value: u128 = 0;
    let mut operations = Vec::with_capacity(ixs.len());
    for ix in &ixs {
        let (op, outflow) = decode_instruction(ix, &ata_owners)?;
        native_value = native_value.saturating_add(u128::from(outflow));
        operations.push(op);
    }
    let max_fee = max_fee(u64::from(message.header().num_required_signatures), &ixs);
    Ok(DecodedTx { operations, fee_payer: keys.first().map(Pubkey::to_string), native_value, max_fee, nonce: None })
}

/// The operation of one instruction given by its program, data and accounts (a
/// `CONTRACT_CALL` send): the same classification as inside a decoded transaction.
pub(crate) fn describe_instruction(program: &Pubkey, data: &[u8], accounts: &[Pubkey]) -> Result<Operation> {
    let indices = (0..accounts.len()).map(u8::try_from).collect::<std::result::Result<Vec<u8>, _>>().map_err(|_| invalid("too many accounts"))?;
    let ix = Ix { index: 0, program: *program, data, accounts: &indices, keys: accounts };
    Ok(decode_instruction(&ix, &HashMap::new())?.0)
}

/// Signature fees plus the priority fee the Compute Budget instructions ask for (module docs).
fn max_fee(signatures: u64, ixs: &[Ix]) -> u128 {
    let (mut limit, mut price) = (None::<u64>, 0u64);
    let mut others = 0u64;
    for ix in ixs {
        if ix.program != COMPUTE_BUDGET_PROGRAM_ID {
            others += 1;
            continue;
        }
        match ix.data.split_first() {
            Some((2, rest)) => {
                if let Some(b) = rest.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) {
                    limit = limit.max(Some(u64::from(u32::from_le_bytes(b))));
                }
            }
            Some((3, rest)) => {
                if let Some(b) = rest.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                    price = price.max(u64::from_le_bytes(b));
                }
            }
            _ => {}
        }
    }
    let units = limit.unwrap_or(others.saturating_mul(DEFAULT_UNITS_PER_INSTRUCTION)).min(MAX_COMPUTE_UNITS);
    // Micro-lamports per unit, rounded up to whole lamports.
    let priority = (u128::from(price) * u128::from(units)).div_ceil(1_000_000);
    u128::from(signatures) * u128::from(LAMPORTS_PER_SIGNATURE) + priority
}

/// One instruction: its operation and the lamports it moves out of a signer.
fn decode_instruction(ix: &Ix, ata_owners: &HashMap<Pubkey, Pubkey>) -> Result<(Operation, u64)> {
    if ix.program == solana_system_interface::program::ID {
        return system_instruction(ix);
    }
    if is_token_program(&ix.program) {
        return Ok((token_instruction(ix, ata_owners)?, 0));
    }
    let method = if ix.program == ATA_PROGRAM_ID {
        match ix.data.first() {
            None | Some(0) => Some("create"),
            Some(1) => Some("createIdempotent"),
            Some(2) => Some("recoverNested"),
            Some(_) => None,
        }
    } else if [MEMO_PROGRAM_ID, MEMO_V1_PROGRAM_ID].contains(&ix.program) {
        Some("memo")
    } else if ix.program == COMPUTE_BUDGET_PROGRAM_ID {
        match ix.data.first() {
            Some(1) => Some("requestHeapFrame"),
            Some(2) => Some("setComputeUnitLimit"),
            Some(3) => Some("setComputeUnitPrice"),
            Some(4) => Some("setLoadedAccountsDataSizeLimit"),
            _ => None,
        }
    } else {
        None
    };
    Ok((ix.op("CONTRACT_CALL", method), 0))
}

/// Exactly how the system program reads its instruction data (`limited_deserialize`).
fn parse_system(ix: &Ix) -> Result<SystemInstruction> {
    bincode::DefaultOptions::new()
        .with_limit(super::wire::PACKET_DATA_SIZE as u64)
        .with_fixint_encoding()
        .allow_trailing_bytes()
        .deserialize(ix.data)
        .map_err(|e| invalid(format!("instruction {}: invalid system instruction: {e}", ix.index)))
}

fn system_instruction(ix: &Ix) -> Result<(Operation, u64)> {
    let parsed = parse_system(ix)?;
    let with_amount = |op_type: &str, method: &str, to: usize, lamports: u64| -> Result<(Operation, u64)> {
        let mut op = ix.op(op_type, Some(method));
        op.to = Some(ix.account(to)?.to_string());
        op.amount = Some(lamports.to_string());
        Ok((op, lamports))
    };
    match parsed {
        SystemInstruction::Transfer { lamports } => with_amount("TRANSFER", "transfer", 1, lamports),
        SystemInstruction::TransferWithSeed { lamports, .. } => with_amount("TRANSFER", "transferWithSeed", 2, lamports),
        SystemInstruction::CreateAccount { lamports, .. } => with_amount("CONTRACT_CALL", "createAccount", 1, lamports),
        SystemInstruction::CreateAccountWithSeed { lamports, .. } => with_amount("CONTRACT_CALL", "createAccountWithSeed", 1, lamports),
        SystemInstruction::CreateAccountAllowPrefund { lamports, .. } => with_amount("CONTRACT_CALL", "createAccountAllowPrefund", 1, lamports),
        SystemInstruction::WithdrawNonceAccount(lamports) => with_amount("TRANSFER", "withdrawNonceAccount", 1, lamports),
        SystemInstruction::Assign { owner } | SystemInstruction::AssignWithSeed { owner, .. } => Ok((ix.control(system_method(&parsed), owner), 0)),
        SystemInstruction::InitializeNonceAccount(authority) | SystemInstruction::AuthorizeNonceAccount(authority) => {
            Ok((ix.control(system_method(&parsed), authority), 0))
        }
        other => Ok((ix.op("CONTRACT_CALL", Some(system_method(&other))), 0)),
    }
}

fn system_method(ins: &SystemInstruction) -> &'static str {
    match ins {
        SystemInstruction::CreateAccount { .. } => "createAccount",
        SystemInstruction::Assign { .. } => "assign",
        SystemInstruction::Transfer { .. } => "transfer",
        SystemInstruction::CreateAccountWithSeed { .. } => "createAccountWithSeed",
        SystemInstruction::AdvanceNonceAccount => "advanceNonceAccount",
        SystemInstruction::WithdrawNonceAccount(_) => "withdrawNonceAccount",
        SystemInstruction::InitializeNonceAccount(_) => "initializeNonceAccount",
        SystemInstruction::AuthorizeNonceAccount(_) => "authorizeNonceAccount",
        SystemInstruction::Allocate { .. } => "allocate",
        SystemInstruction::AllocateWithSeed { .. } => "allocateWithSeed",
        SystemInstruction::AssignWithSeed { .. } => "assignWithSeed",
        SystemInstruction::TransferWithSeed { .. } => "transferWithSeed",
        SystemInstruction::UpgradeNonceAccount => "upgradeNonceAccount",
        SystemInstruction::CreateAccountAllowPrefund { .. } => "createAccountAllowPrefund",
    }
}

fn token_instruction(ix: &Ix, ata_owners: &HashMap<Pubkey, Pubkey>) -> Result<Operation> {
    let Some(&tag) = ix.data.first() else {
        return Err(invalid(format!("instruction {}: empty token instruction", ix.index)));
    };
    if tag == TOKEN_BATCH_TAG {
        return Err(invalid(format!("instruction {}: batched token instructions cannot be decoded", ix.index)));
    }
    let method = TOKEN_METHODS.get(usize::from(tag)).copied();
    // Transfers, burns and approvals have the same layout in both programs.
    let (op_type, amount, to, mint) = match tag {
        3 | 4 | 8 | 12 | 13 | 15 => match TokenInstruction::unpack(ix.data) {
            Ok(TokenInstruction::Transfer { amount }) => ("TOKEN_TRANSFER", amount, 1, None),
            Ok(TokenInstruction::Approve { amount }) => ("APPROVE", amount, 1, None),
            Ok(TokenInstruction::Burn { amount }) | Ok(TokenInstruction::BurnChecked { amount, .. }) => ("TOKEN_TRANSFER", amount, 1, Some(1)),
            Ok(TokenInstruction::TransferChecked { amount, .. }) => ("TOKEN_TRANSFER", amount, 2, Some(1)),
            Ok(TokenInstruction::ApproveChecked { amount, .. }) => ("APPROVE", amount, 2, Some(1)),
            _ => return Err(invalid(format!("instruction {}: malformed token instruction", ix.index))),
        },
        // setAuthority: [tag, authority type, 0 | 1 + new authority]; removing the authority
        // (or an undecodable one) names the account itself.
        6 => {
            let new_authority = match ix.data.get(2..35) {
                Some([1, key @ ..]) => Pubkey::try_from(key).ok(),
                _ => None,
            };
            return Ok(ix.control("setAuthority", new_authority.map_or_else(|| ix.account(0), Ok)?));
        }
        9 => return Ok(ix.control("closeAccount", ix.account(1)?)),
        0..=24 => return Ok(ix.op("CONTRACT_CALL", method)),
        _ => return Ok(ix.control(&format!("extension{tag}"), ix.account(0).unwrap_or(ix.program))),
    };
    let mut op = ix.op(op_type, method);
    let to = ix.account(to)?;
    // A token transfer goes to a token account; name its owner when the ATA program checks it.
    let to = if op_type == "TOKEN_TRANSFER" { ata_owners.get(&to).copied().unwrap_or(to) } else { to };
    op.to = Some(to.to_string());
    op.amount = Some(amount.to_string());
    op.token = mint.map(|n| ix.account(n)).transpose()?.map(|m| m.to_string());
    Ok(op)
}

/// Owners of the associated token accounts the transaction creates: for `create` and
/// `createIdempotent` the ATA program fails the transaction unless account #1 is the
/// associated token account of wallet #2.
fn created_ata_owners(ixs: &[Ix]) -> HashMap<Pubkey, Pubkey> {
    ixs.iter()
        .filter(|ix| ix.program == ATA_PROGRAM_ID && matches!(ix.data.first(), None | Some(0) | Some(1)))
        .filter_map(|ix| Some((ix.account(1).ok()?, ix.account(2).ok()?)))
        .collect()
}
