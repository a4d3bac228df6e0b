//! JSON-RPC error objects of EVM nodes (geth, anvil, reth, erigon, hosted providers) to
//! [`ChainError`]s. The table is in the [`super`] module docs.

use super::abi::revert_reason;
use crate::chain::rpc::RpcError;
use crate::chain::ChainError;
use crate::error::ErrorCode;
use serde_json::Value;

/// What a node error means for the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NodeError {
    /// The sender cannot pay (`insufficient funds …`): value and/or gas.
    InsufficientFunds,
    /// Execution reverted, with the decoded reason.
    Reverted(String),
    /// The nonce was used or the same/competing transaction is already pooled: rebuild.
    Stale,
    /// The node already has exactly this transaction.
    AlreadyKnown,
    /// The transaction itself is unacceptable (bad signature, chain id, gas too low, …).
    Rejected,
    /// Anything else (rate limits, timeouts, unknown messages): retry / fail over.
    Other,
}

pub(crate) fn node_error(err: &RpcError) -> NodeError {
    let msg = err.message.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| msg.contains(n));
    if has(&["already known", "known transaction", "already imported", "already exists"]) {
        NodeError::AlreadyKnown
    } else if has(&["insufficient funds", "insufficient balance"]) {
        NodeError::InsufficientFunds
    } else if err.code == 3 || has(&["execution reverted", "revert", "vm exception"]) {
        NodeError::Reverted(reason(err))
    } else if has(&[
        "nonce too low",
        "replacement transaction underpriced",
        "replacement fee too low",
        "transaction underpriced",
        "max fee per gas less than block base fee",
        "fee cap less than block base fee",
    ]) {
        NodeError::Stale
    } else if has(&[
        "invalid sender",
        "invalid signature",
        "invalid chain id",
        "chain id mismatch",
        "intrinsic gas too low",
        "exceeds block gas limit",
        "gas limit reached",
        "oversized data",
        "tx fee exceeds the configured cap",
        "transaction type not supported",
        "rlp",
    ]) {
        NodeError::Rejected
    } else {
        NodeError::Other
    }
}

/// The revert reason of an error object: decoded from its revert data when present, else
/// the message without the `execution reverted:` prefix.
fn reason(err: &RpcError) -> String {
    let data = match &err.data {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(Value::Object(o)) => o.get("data").and_then(Value::as_str),
        _ => None,
    };
    if let Some(bytes) = data.and_then(|d| hex::decode(d.trim_start_matches("0x")).ok()) {
        if !bytes.is_empty() {
            return revert_reason(&bytes);
        }
    }
    let msg = err.message.trim();
    let stripped = ["execution reverted:", "execution reverted", "revert:"].iter().fold(msg, |m, prefix| m.strip_prefix(prefix).map(str::trim).unwrap_or(m));
    if stripped.is_empty() {
        "execution reverted".to_string()
    } else {
        stripped.to_string()
    }
}

/// The chain error for a node error during `method`; a revert becomes `revert_code`
/// (`SIMULATION_FAILED` before broadcast, `TRANSACTION_REVERTED` after). Insufficient funds
/// need the sender's balance to be told apart (value or fee): see `EvmAdapter::funds_error`.
pub(crate) fn to_chain_error(method: &str, err: &RpcError, revert_code: ErrorCode) -> ChainError {
    let detail = format!("{method}: {} (code {})", err.message, err.code);
    match node_error(err) {
        NodeError::InsufficientFunds => ChainError::permanent(ErrorCode::INSUFFICIENT_BALANCE, detail),
        NodeError::Reverted(reason) => ChainError::permanent(revert_code, format!("execution reverted: {reason}")),
        NodeError::Stale | NodeError::AlreadyKnown => ChainError::stale(detail),
        NodeError::Rejected => ChainError::permanent(ErrorCode::INVALID_TRANSACTION, detail),
        NodeError::Other => ChainError::transient(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ErrorClass;
    use alloy_sol_types::{Revert, SolError};
    use serde_json::json;

    fn err(code: i64, message: &str, data: Option<Value>) -> RpcError {
        RpcError { code, message: message.into(), data }
    }

    #[test]
    fn table() {
        let cases = [
            ("insufficient funds for gas * price + value: have 1 want 2", NodeError::InsufficientFunds),
            ("Insufficient funds for gas * price + value", NodeError::InsufficientFunds),
            ("nonce too low: next nonce 5, tx nonce 4", NodeError::Stale),
            ("replacement transaction underpriced", NodeError::Stale),
            ("already known", NodeError::AlreadyKnown),
            ("intrinsic gas too low", NodeError::Rejected),
            ("invalid sender", NodeError::Rejected),
            ("header not found", NodeError::Other),
            ("too many requests", NodeError::Other),
        ];
        for (msg, expected) in cases {
            assert_eq!(node_error(&err(-32000, msg, None)), expected, "{msg}");
        }
    }

    #[test]
    fn reverts_decode_their_reason() {
        let data = format!("0x{}", hex::encode(Revert::from("nope").abi_encode()));
        // anvil
        let e = err(3, "execution reverted: revert: nope", Some(json!(data)));
        assert_eq!(node_error(&e), NodeError::Reverted("nope".into()));
        // geth without data, and providers nesting the data
        assert_eq!(node_error(&err(-32000, "execution reverted: nope", None)), NodeError::Reverted("nope".into()));
        assert_eq!(node_error(&err(-32015, "VM Exception", Some(json!({"data": data})))), NodeError::Reverted("nope".into()));
        assert_eq!(node_error(&err(3, "execution reverted", Some(json!("0x")))), NodeError::Reverted("execution reverted".into()));
        let c = to_chain_error("eth_call", &err(3, "execution reverted", Some(json!(data))), ErrorCode::SIMULATION_FAILED);
        assert_eq!((c.class, c.error.code), (ErrorClass::Permanent, ErrorCode::SIMULATION_FAILED));
        assert!(c.error.message.ends_with("nope"));
    }

    #[test]
    fn classes() {
        let class = |m: &str| to_chain_error("eth_sendRawTransaction", &err(-32000, m, None), ErrorCode::TRANSACTION_REVERTED).class;
        assert_eq!(class("nonce too low"), ErrorClass::Stale);
        assert_eq!(class("insufficient funds for transfer"), ErrorClass::Permanent);
        assert_eq!(class("request timed out"), ErrorClass::Transient);
    }
}
