//! What a transaction really does: the one mapping from operations to the [`TxKind`] the
//! policy engine judges, for `POST /v1/transactions/send` (and its batches) and for sign-only
//! transactions alike.
//!
//! - **Classification.** A sign-only transaction is decoded by its chain adapter into
//!   operations; a `CONTRACT_CALL` send goes through the same chain classifier
//!   ([`evm::describe_call`], [`solana::describe_instruction`]). [`Engine::policy_kind`] and
//!   [`Engine::external_kind`] turn those operations into the policy's view with
//!   [`Engine::kinds_of_operations`]. So an ERC-20 `transfer`/`approve`/..., an NFT approval
//!   or transfer, a `permit` (EVM), or an SPL Token transfer, approval, authority change,
//!   account closing or System `assign` (Solana) is judged by the token and spender rules
//!   whether it is sent as `CONTRACT_CALL`, inside a batch, or signed only; a contract or
//!   program whitelist entry never authorizes it alone (EVM calls that are not byte for byte
//!   the typed request also stay subject to CONTRACT_WHITELIST; see `chain::evm::calls`).
//! - **Mapping.** `TRANSFER` → [`TxKind::Transfer`]; `TOKEN_TRANSFER` with a token →
//!   [`TxKind::TokenTransfer`] (decimals from the token registry, else the chain, else 0: the
//!   strictest reading); `TOKEN_TRANSFER` without a token (SPL `transfer`, which does not name
//!   its mint) is refused (`POLICY_DENIED`: use `transferChecked`); `APPROVE` with a token →
//!   [`TxKind::Approve`]; `APPROVE` without a token (an authority, an account or an allowance
//!   of an unnamed mint handed over) → an **unlimited** [`TxKind::Approve`] of `to`, denied
//!   unless APPROVED_SPENDERS lists `to` and APPROVE_AMOUNT_LIMIT allows unlimited approvals;
//!   anything else → [`TxKind::ContractCall`] of the contract / program with its native value.
//!   `uint256` amounts saturate at `u128::MAX`.
//! - **Fees.** The most a sign-only transaction's fee can burn ([`DecodedTx::max_fee`]), when
//!   the wallet pays it, is added to its native value: to the first native transfer or call
//!   in it, else as a value without a destination ([`network_fee`]). It is priced and checked
//!   against the limits like any other value. So the Solana Compute Budget instructions of a
//!   sign-only transaction, whose only effect is that fee, need no program whitelist (in a
//!   send they still do: there the daemon's fee is not part of the decided value).
//! - **No held-back signatures.** An EVM sign-only transaction must use the wallet's next
//!   nonce on that network (the node's `pending` count); Solana durable-nonce transactions
//!   are refused by the decoder. Both are refused before anything is recorded or signed.

use crate::chain::{evm, solana, DecodedTx, Operation, TokenInfo, TxKind};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::network::{Chain, Network};
use crate::store::WalletRecord;

/// The network fee of a sign-only transaction as a value without a destination (no address
/// rule applies to it; its value is priced and limited like a native transfer).
pub(crate) fn network_fee(amount: u128) -> TxKind {
    TxKind::Transfer { to: String::new(), amount, memo: None }
}

/// `kind` with `fee` added to its native value (see the module docs).
fn with_fee(kind: TxKind, fee: u128) -> TxKind {
    if fee == 0 {
        return kind;
    }
    let mut items = match kind {
        TxKind::Batch { instructions } => instructions,
        single => vec![single],
    };
    let native = items.iter_mut().find_map(|k| match k {
        TxKind::Transfer { amount, .. } => Some(amount),
        TxKind::ContractCall { value, .. } => Some(value),
        _ => None,
    });
    match native {
        Some(v) => *v = v.saturating_add(fee),
        None => items.push(network_fee(fee)),
    }
    one(items)
}

/// One kind, or a batch of several.
fn one(mut kinds: Vec<TxKind>) -> TxKind {
    if kinds.len() == 1 {
        kinds.remove(0)
    } else {
        TxKind::Batch { instructions: kinds }
    }
}

/// An operation's amount in smallest units; a `uint256` above `u128::MAX` saturates.
fn amount(op: &Operation) -> Result<u128> {
    let text = op.amount.as_deref().unwrap_or("0");
    let v = alloy_primitives::U256::from_str_radix(text, 10)
        .map_err(|_| Error::new(ErrorCode::INVALID_TRANSACTION, format!("amount '{text}' is not an integer")))?;
    Ok(u128::try_from(v).unwrap_or(u128::MAX))
}

impl Engine {
    /// Decimals of a token: the registry's, else the chain's (`token_info`). Never a caller's.
    pub(crate) async fn token_decimals(&self, network: Network, address: &str) -> Result<u8> {
        match self.inner.tokens.registered_decimals(network, address).await? {
            Some(d) => Ok(d),
            None => Ok(self.adapter(network).token_info(address).await.map_err(Error::from)?.decimals),
        }
    }

    /// The policy gate of a PENDING transaction: judged by what it does (a CONTRACT_CALL
    /// carries its token meaning), priced, then decided and reserved in one store
    /// transaction by the policies service. Returns the status it moved to (`None` if it
    /// was not PENDING).
    pub(crate) async fn decide(&self, tx: &crate::store::tx::TxRecord) -> Result<Option<crate::store::tx::TxStatus>> {
        let kind: TxKind = serde_json::from_str(&tx.request).map_err(|e| Error::internal(format!("stored request: {e}")))?;
        let view = self.policy_kind(Network::parse(&tx.network)?, &kind).await?;
        self.inner.policies.decide_kind(tx, &view).await
    }

    /// Evaluate a request without recording anything (simulate).
    pub(crate) async fn dry_decide(&self, wallet_id: &str, network: Network, kind: &TxKind) -> Result<crate::policy::Decision> {
        let view = self.policy_kind(network, kind).await?;
        self.inner.policies.dry_decide(wallet_id, network, &view).await
    }

    /// The policy's view of a send: every `CONTRACT_CALL` (alone or in a batch) replaced by
    /// what it does; other kinds as they are.
    pub(crate) async fn policy_kind(&self, network: Network, kind: &TxKind) -> Result<TxKind> {
        let items = match kind {
            TxKind::Batch { instructions } => instructions.as_slice(),
            TxKind::ContractCall { .. } => std::slice::from_ref(kind),
            other => return Ok(other.clone()),
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                TxKind::ContractCall { to, calldata, value, accounts } => {
                    let ops = match network.chain() {
                        Chain::Ethereum => evm::describe_call(to, *value, calldata)?,
                        Chain::Solana => vec![solana::describe_instruction(to, calldata, accounts)?],
                    };
                    out.extend(self.kinds_of_operations(network, &ops).await?);
                }
                other => out.push(other.clone()),
            }
        }
        Ok(match kind {
            TxKind::Batch { .. } => TxKind::Batch { instructions: out },
            _ => one(out),
        })
    }

    /// The policy's view of a decoded external transaction signed by `wallet`, its fee
    /// included. Refuses (before anything is recorded) an EVM nonce other than the wallet's
    /// next one.
    pub(crate) async fn external_kind(&self, wallet: &WalletRecord, network: Network, decoded: &DecodedTx) -> Result<TxKind> {
        if let Some(nonce) = decoded.nonce {
            let next = self.adapter(network).next_nonce(&wallet.public_key).await.map_err(Error::from)?;
            if next != Some(nonce) {
                let expected = next.map_or_else(|| "unknown".to_string(), |n| n.to_string());
                return Err(Error::new(
                    ErrorCode::INVALID_TRANSACTION,
                    format!(
                        "nonce {nonce} is not the wallet's next nonce ({expected}) on {}: a transaction for a future nonce could be held back and broadcast later",
                        network.id()
                    ),
                )
                .with_details(serde_json::json!({"nonce": nonce, "expectedNonce": next})));
            }
        }
        // Compute Budget instructions only set resource limits and the priority fee, and the
        // fee is counted below: they need no program whitelist here.
        let budget = solana::COMPUTE_BUDGET_PROGRAM_ID.to_string();
        let ops: Vec<Operation> = decoded.operations.iter().filter(|op| op.program_id.as_ref() != Some(&budget)).cloned().collect();
        let kind = one(self.kinds_of_operations(network, &ops).await?);
        let pays = decoded.fee_payer.as_deref().is_none_or(|p| p == wallet.public_key);
        Ok(if pays { with_fee(kind, decoded.max_fee) } else { kind })
    }

    /// Decimals of a token ([`Engine::token_decimals`]: the registry, else the chain), else 0:
    /// a token whose decimals cannot be read (an NFT collection, a contract that is no token)
    /// is valued in whole units, the strictest reading.
    async fn decimals_of(&self, network: Network, token: &str) -> u8 {
        self.token_decimals(network, token).await.unwrap_or_else(|e| {
            tracing::debug!("decimals of {token} unknown ({}), valuing in whole units", e.message);
            0
        })
    }

    /// The policy's view of each operation (see the module docs for the mapping).
    pub(crate) async fn kinds_of_operations(&self, network: Network, ops: &[Operation]) -> Result<Vec<TxKind>> {
        let mut kinds = Vec::with_capacity(ops.len());
        for op in ops {
            let to = op.to.clone().unwrap_or_default();
            let token = |address: String, decimals: u8| TokenInfo { address, decimals, symbol: None, program_id: op.program_id.clone() };
            kinds.push(match (op.op_type.as_str(), &op.token) {
                ("TRANSFER", _) => TxKind::Transfer { to, amount: amount(op)?, memo: None },
                ("TOKEN_TRANSFER", Some(t)) => {
                    TxKind::TokenTransfer { to, amount: amount(op)?, token: token(t.clone(), self.decimals_of(network, t).await), memo: None }
                }
                ("TOKEN_TRANSFER", None) => {
                    return Err(Error::new(
                        ErrorCode::POLICY_DENIED,
                        format!(
                            "a token {} that does not name its mint cannot be checked against ALLOWED_TOKENS: use transferChecked",
                            op.method.as_deref().unwrap_or("transfer")
                        ),
                    ))
                }
                ("APPROVE", Some(t)) => TxKind::Approve { spender: to, amount: amount(op)?, token: token(t.clone(), self.decimals_of(network, t).await) },
                ("APPROVE", None) => {
                    let what = op.program_id.clone().unwrap_or_else(|| to.clone());
                    TxKind::Approve { spender: to, amount: u128::MAX, token: token(what, 0) }
                }
                // Calls and deployments are judged as calls to the contract / program.
                _ => TxKind::ContractCall {
                    to: op.program_id.clone().or(op.to.clone()).unwrap_or_default(),
                    calldata: op.method.as_deref().and_then(|m| m.strip_prefix("0x")).and_then(|h| hex::decode(h).ok()).unwrap_or_default(),
                    value: amount(op)?,
                    accounts: vec![],
                },
            });
        }
        Ok(kinds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> TokenInfo {
        TokenInfo { address: "T".into(), decimals: 6, symbol: None, program_id: None }
    }

    #[test]
    fn the_fee_joins_the_native_value_or_stands_alone() {
        let transfer = TxKind::Transfer { to: "a".into(), amount: 5, memo: None };
        assert_eq!(with_fee(transfer.clone(), 0), transfer);
        assert_eq!(with_fee(transfer, 7), TxKind::Transfer { to: "a".into(), amount: 12, memo: None });
        let call = TxKind::ContractCall { to: "c".into(), calldata: vec![], value: u128::MAX, accounts: vec![] };
        assert!(matches!(with_fee(call, 7), TxKind::ContractCall { value: u128::MAX, .. }), "saturates");
        let approve = TxKind::Approve { spender: "s".into(), amount: 1, token: token() };
        assert_eq!(with_fee(approve.clone(), 9), TxKind::Batch { instructions: vec![approve.clone(), network_fee(9)] });
        let batch = TxKind::Batch { instructions: vec![approve.clone(), TxKind::Transfer { to: "b".into(), amount: 1, memo: None }] };
        assert_eq!(with_fee(batch, 9), TxKind::Batch { instructions: vec![approve, TxKind::Transfer { to: "b".into(), amount: 10, memo: None }] });
    }

    #[test]
    fn amounts_saturate() {
        let op = |a: &str| Operation { amount: Some(a.into()), ..Default::default() };
        assert_eq!(amount(&op("42")).unwrap(), 42);
        assert_eq!(amount(&op(&alloy_primitives::U256::MAX.to_string())).unwrap(), u128::MAX);
        assert_eq!(amount(&Operation::default()).unwrap(), 0);
        assert_eq!(amount(&op("-1")).unwrap_err().code, ErrorCode::INVALID_TRANSACTION);
    }
}
