//! Classification of Solana failures into [`ChainError`]s.
//!
//! Nodes report a failed transaction as a `TransactionError` in its JSON form: `value.err`
//! of `simulateTransaction` and `getSignatureStatuses`, `data.err` of a `sendTransaction`
//! whose preflight failed (JSON-RPC error -32002). [`tx_failure`] turns that value into a
//! code, a class and a human text; [`rpc_failure`] does the same for JSON-RPC error objects.
//! The table is documented in the adapter's module docs and tested in `tests`.

use super::program_name;
use crate::chain::rpc::RpcError;
use crate::chain::{ChainError, ErrorClass};
use crate::error::{Error, ErrorCode};
use serde_json::Value;
use solana_pubkey::Pubkey;
use solana_system_interface::error::SystemError;
use spl_token_interface::error::TokenError;

/// A classified transaction failure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TxFailure {
    pub code: ErrorCode,
    pub class: ErrorClass,
    pub text: String,
}

impl TxFailure {
    fn new(code: ErrorCode, class: ErrorClass, text: impl Into<String>) -> TxFailure {
        TxFailure { code, class, text: text.into() }
    }

    /// The node already has this exact transaction: re-sending it is a success.
    pub fn already_processed(&self) -> bool {
        self.code == ErrorCode::TX_ALREADY_PROCESSED
    }

    pub fn into_chain_error(self) -> ChainError {
        ChainError { class: self.class, error: Error::new(self.code, self.text) }
    }
}

/// Classify a `TransactionError` JSON value. `programs[i]` is the program of instruction
/// `i` (used to name it and decode its custom error codes; may be empty when unknown).
/// `landed` selects the code of a program failure: `TRANSACTION_REVERTED` for a
/// transaction that executed on chain, `SIMULATION_FAILED` for a dry run or preflight.
pub(crate) fn tx_failure(err: &Value, programs: &[Pubkey], landed: bool) -> TxFailure {
    use ErrorClass::{Permanent, Stale, Transient};
    let program_failed = if landed { ErrorCode::TRANSACTION_REVERTED } else { ErrorCode::SIMULATION_FAILED };
    if let Some(name) = err.as_str() {
        return match name {
            "BlockhashNotFound" => TxFailure::new(ErrorCode::CHAIN_ERROR, Stale, "blockhash not found: it expired or the node has not seen it"),
            "AlreadyProcessed" => TxFailure::new(ErrorCode::TX_ALREADY_PROCESSED, Permanent, "transaction already processed"),
            "InsufficientFundsForFee" => TxFailure::new(ErrorCode::INSUFFICIENT_FOR_FEE, Permanent, "insufficient lamports to pay the transaction fee"),
            "AccountNotFound" => TxFailure::new(ErrorCode::INSUFFICIENT_FOR_FEE, Permanent, "the fee payer account does not exist (it has never been funded)"),
            "AccountInUse"
            | "WouldExceedMaxBlockCostLimit"
            | "WouldExceedMaxAccountCostLimit"
            | "WouldExceedMaxVoteCostLimit"
            | "WouldExceedAccountDataBlockLimit"
            | "ClusterMaintenance"
            | "TooManyAccountLocks" => TxFailure::new(ErrorCode::CHAIN_ERROR, Transient, format!("transaction temporarily rejected: {name}")),
            "SignatureFailure" | "SanitizeFailure" | "MissingSignatureForFee" => {
                TxFailure::new(ErrorCode::INVALID_TRANSACTION, Permanent, format!("invalid transaction: {name}"))
            }
            other => TxFailure::new(program_failed, Permanent, format!("transaction failed: {other}")),
        };
    }
    if let Some(index) = err.get("InsufficientFundsForRent").and_then(|v| v.get("account_index")) {
        return TxFailure::new(
            ErrorCode::INSUFFICIENT_BALANCE,
            Permanent,
            format!("insufficient lamports: account {index} would be left below rent exemption"),
        );
    }
    if let Some([index, ierr]) = err.get("InstructionError").and_then(Value::as_array).map(Vec::as_slice) {
        let program = index.as_u64().and_then(|i| usize::try_from(i).ok()).and_then(|i| programs.get(i));
        let who = match program {
            Some(p) => format!("instruction {index} ({})", program_name(p)),
            None => format!("instruction {index}"),
        };
        return instruction_failure(&who, program, ierr, program_failed);
    }
    TxFailure::new(program_failed, Permanent, format!("transaction failed: {err}"))
}

/// Classify an `InstructionError` (`"InvalidAccountData"`, `{"Custom": 1}`, …).
fn instruction_failure(who: &str, program: Option<&Pubkey>, ierr: &Value, program_failed: ErrorCode) -> TxFailure {
    use ErrorClass::Permanent;
    if let Some(code) = ierr.get("Custom").and_then(Value::as_u64) {
        let (code_class, meaning) = custom_error(program, code);
        let text = match meaning {
            Some(m) => format!("{who} failed: custom program error {code:#x}: {m}"),
            None => format!("{who} failed: custom program error {code:#x}"),
        };
        return TxFailure::new(code_class.unwrap_or(program_failed), Permanent, text);
    }
    let detail = ierr.as_str().map(str::to_string).unwrap_or_else(|| ierr.to_string());
    let code = if detail == "InsufficientFunds" { ErrorCode::INSUFFICIENT_BALANCE } else { program_failed };
    TxFailure::new(code, Permanent, format!("{who} failed: {detail}"))
}

/// Meaning of a custom error code of the programs the adapter builds for, and a specific
/// error code when the failure is a balance problem.
fn custom_error(program: Option<&Pubkey>, code: u64) -> (Option<ErrorCode>, Option<String>) {
    let Some(program) = program else { return (None, None) };
    if *program == solana_system_interface::program::ID {
        let err = match code {
            0 => SystemError::AccountAlreadyInUse,
            1 => SystemError::ResultWithNegativeLamports,
            2 => SystemError::InvalidProgramId,
            3 => SystemError::InvalidAccountDataLength,
            4 => SystemError::MaxSeedLengthExceeded,
            5 => SystemError::AddressWithSeedMismatch,
            6 => SystemError::NonceNoRecentBlockhashes,
            7 => SystemError::NonceBlockhashNotExpired,
            8 => SystemError::NonceUnexpectedBlockhashValue,
            _ => return (None, None),
        };
        let specific = (err == SystemError::ResultWithNegativeLamports).then_some(ErrorCode::INSUFFICIENT_BALANCE);
        return (specific, Some(err.to_string()));
    }
    if super::is_token_program(program) {
        // Token-2022 shares the SPL Token error codes it has in common (0..=19).
        let Some(err) = u32::try_from(code).ok().and_then(|c| TokenError::try_from(c).ok()) else { return (None, None) };
        let specific = (err == TokenError::InsufficientFunds).then_some(ErrorCode::INSUFFICIENT_TOKEN_BALANCE);
        return (specific, Some(err.to_string()));
    }
    (None, None)
}

/// Classify a JSON-RPC error object of a transaction-carrying call (`sendTransaction`,
/// `simulateTransaction`).
pub(crate) fn rpc_failure(method: &str, e: &RpcError, programs: &[Pubkey]) -> TxFailure {
    use ErrorClass::{Permanent, Stale, Transient};
    // -32002: preflight simulation failed; `data.err` holds the TransactionError.
    if let Some(err) = e.data.as_ref().and_then(|d| d.get("err")).filter(|v| !v.is_null()) {
        let mut f = tx_failure(err, programs, false);
        if let Some(log) = last_program_log(e.data.as_ref()) {
            f.text = format!("{} ({log})", f.text);
        }
        return f;
    }
    let lower = e.message.to_ascii_lowercase();
    if lower.contains("already been processed") || lower.contains("alreadyprocessed") {
        return TxFailure::new(ErrorCode::TX_ALREADY_PROCESSED, Permanent, e.message.clone());
    }
    if lower.contains("blockhash not found") {
        return TxFailure::new(ErrorCode::CHAIN_ERROR, Stale, e.message.clone());
    }
    match e.code {
        // Signature verification failure, invalid params / undecodable transaction.
        -32003 | -32602 => TxFailure::new(ErrorCode::INVALID_TRANSACTION, Permanent, format!("{method}: {}", e.message)),
        // Node unhealthy, slot skipped or not yet available, and anything unknown.
        _ => TxFailure::new(ErrorCode::CHAIN_ERROR, Transient, format!("{method}: RPC error {}: {}", e.code, e.message)),
    }
}

/// The last `Program log:` line of a preflight failure, which usually names the cause.
fn last_program_log(data: Option<&Value>) -> Option<String> {
    data?.get("logs")?.as_array()?.iter().rev().filter_map(Value::as_str).find(|l| l.starts_with("Program log:")).map(str::to_string)
}
