//! The policy gate of synchronous signatures (sign-only transactions, sign-message): what a
//! signature would authorize, decoded before any key is touched, and its decision, which
//! yields the signer's permit ([`crate::services::signer`]) or the refusal.

use crate::chain::evm::typed::{self, TypedMeaning};
use crate::chain::{MessageKind, TokenInfo, TxKind};
use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::network::{Chain, Network};
use crate::policy::Intent;
use crate::services::signer::SigningPermit;
use crate::store::tx::{TxPatch, TxRecord, TxStatus};
use crate::store::WalletRecord;

/// What a synchronous signature (sign-only, sign-message) is decided as.
pub(crate) enum GateInput<'a> {
    /// A transaction meaning: priced and decided like a send.
    Kind(&'a TxKind),
    /// No value moves (a text message, or typed data the operator chose to treat so): only
    /// the request-wide guards (networks, time, rate) and the kill switch / AutoStop apply.
    Message,
}

/// A message signature decoded for the gate (see [`Engine::message_gate`]).
pub(crate) struct MessageGate {
    /// What is recorded as the row's request (sign type, message hash, decoded meaning).
    pub record: serde_json::Value,
    /// The digest that is signed (EIP-191 / EIP-712 hash; SHA-256 of a Solana message),
    /// kept in the row's metadata and its audit entry.
    pub hash: String,
    /// The transaction meaning of value-moving typed data.
    pub kind: Option<TxKind>,
}

impl MessageGate {
    pub(crate) fn input(&self) -> GateInput<'_> {
        match &self.kind {
            Some(k) => GateInput::Kind(k),
            None => GateInput::Message,
        }
    }
}

impl Engine {
    /// Decide a synchronous signature's PENDING row and return its permit. A signature
    /// cannot wait, so DELAY and APPROVAL are refused (the row is CANCELLED, its reservation
    /// released) and a denial is returned as the decision's error; nothing is signed.
    pub(crate) async fn gate_sync(&self, rec: &TxRecord, input: GateInput<'_>) -> Result<SigningPermit> {
        let decided = match input {
            GateInput::Kind(kind) => self.decide_kind(rec, kind).await?,
            GateInput::Message => {
                let network = Network::parse(&rec.network)?;
                self.decide_intent(rec, Intent::new(&rec.wallet_id, network.chain(), network.id(), crate::policy::TxType::Sign)).await?
            }
        };
        match decided {
            Some(TxStatus::Executing) => self.signing_permit(&rec.id, &rec.wallet_id).await,
            Some(TxStatus::Queued) => {
                let tier = self.sync_row(&rec.id).await?.tier.unwrap_or_default();
                let e = Error::new(
                    ErrorCode::POLICY_DENIED,
                    format!("Policy requires {tier} for this request; a signature cannot wait for a delay or an approval (send transactions with POST /v1/transactions/send instead)"),
                )
                .with_details(serde_json::json!({"tier": tier}));
                self.cancel_queued(&rec.id, &tier, &e).await?;
                Err(e)
            }
            _ => Err(self.row_error(&rec.id).await?),
        }
    }

    /// A synchronous request's own row.
    pub(crate) async fn sync_row(&self, id: &str) -> Result<TxRecord> {
        self.inner.store.get_tx(id).await?.ok_or_else(|| Error::internal("the request's transaction row vanished"))
    }

    /// The error a row that did not reach the signer ended with (its decision's denial, or
    /// whoever cancelled it), as the request's answer.
    pub(crate) async fn row_error(&self, id: &str) -> Result<Error> {
        let t = self.sync_row(id).await?;
        let code = t.error_code.as_deref().and_then(ErrorCode::parse).unwrap_or(ErrorCode::POLICY_DENIED);
        Ok(Error::new(code, t.error.unwrap_or_else(|| "Denied by policy".into())))
    }

    /// CANCELLED with `e` as its reason, the reservation released: a QUEUED row whose request
    /// does not wait for its tier.
    pub(crate) async fn cancel_queued(&self, id: &str, tier: &str, e: &Error) -> Result<()> {
        let patch = TxPatch { error: Some(e.message.clone()), error_code: Some(e.code.as_str().into()), release_reservation: true, ..Default::default() };
        if self.inner.store.transition_tx(id, &[TxStatus::Queued], TxStatus::Cancelled, &patch, self.now()).await? {
            self.inner.metrics.transaction(TxStatus::Cancelled, Some(tier).filter(|t| !t.is_empty()));
        }
        Ok(())
    }

    /// What signing `kind` with a wallet on `network` would authorize, decoded before any key
    /// is touched:
    /// - EIP-712 typed data is bounded ([`typed::check_caps`]), must name the wallet's chain
    ///   id in its domain, and standard authorizations (permits, Permit2, EIP-3009) become
    ///   the approvals and token transfers they are; other typed data is a call to its
    ///   `verifyingContract` (so CONTRACT_WHITELIST decides) unless
    ///   `policy.default_deny_typed_data` is off;
    /// - text messages move no value; on Solana, bytes that parse as a transaction message
    ///   are refused (their signature would be a transaction signature).
    pub(crate) async fn message_gate(&self, w: &WalletRecord, network: Network, kind: &MessageKind) -> Result<MessageGate> {
        use sha2::Digest;
        match kind {
            MessageKind::Personal(bytes) => {
                if w.chain == Chain::Solana && crate::chain::solana::is_transaction_message(bytes) {
                    return Err(Error::validation("message", "is a Solana transaction message, not text: sign transactions with POST /v1/transactions/sign"));
                }
                let hash = match w.chain {
                    Chain::Ethereum => format!("{}", alloy_primitives::eip191_hash_message(bytes)),
                    Chain::Solana => format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes))),
                };
                Ok(MessageGate { record: serde_json::json!({"signType": "personal", "messageHash": hash}), hash, kind: None })
            }
            MessageKind::TypedData(json) => {
                let summary = typed::classify(json)?;
                let want = network.info().chain_id;
                if summary.chain_id.is_none() || summary.chain_id != want {
                    return Err(Error::validation(
                        "typedData.domain.chainId",
                        format!(
                            "is {}, but this wallet signs on {} (chain id {}): typed data for another chain is refused",
                            summary.chain_id.map_or("missing".to_string(), |c| c.to_string()),
                            network.id(),
                            want.map_or("none".to_string(), |c| c.to_string())
                        ),
                    ));
                }
                let hash = crate::chain::evm::typed_data_hash(json)?;
                let mut kinds = vec![];
                for m in &summary.meanings {
                    kinds.push(match m {
                        TypedMeaning::Approve { token, spender, amount } => TxKind::Approve {
                            spender: spender.clone(),
                            amount: *amount,
                            token: TokenInfo { address: token.clone(), decimals: self.token_decimals(network, token).await?, symbol: None, program_id: None },
                        },
                        TypedMeaning::Transfer { token, to, amount } => TxKind::TokenTransfer {
                            to: to.clone(),
                            amount: *amount,
                            token: TokenInfo { address: token.clone(), decimals: self.token_decimals(network, token).await?, symbol: None, program_id: None },
                            memo: None,
                        },
                    });
                }
                let kind = match (summary.known, kinds.len()) {
                    (true, 1) => kinds.pop(),
                    (true, _) => Some(TxKind::Batch { instructions: kinds }),
                    (false, _) if !self.inner.config.policy.default_deny_typed_data => None,
                    (false, _) => match &summary.verifying_contract {
                        Some(c) => Some(TxKind::ContractCall { to: c.clone(), calldata: vec![], value: 0, accounts: vec![] }),
                        None => {
                            return Err(Error::new(
                                ErrorCode::POLICY_DENIED,
                                format!(
                                    "Typed data '{}' is not a known authorization and names no verifyingContract to allowlist: refused",
                                    summary.primary_type
                                ),
                            ))
                        }
                    },
                };
                let record = serde_json::json!({
                    "signType": "typedData", "primaryType": summary.primary_type, "messageHash": format!("{hash}"),
                    "verifyingContract": summary.verifying_contract, "chainId": summary.chain_id, "meaning": kind,
                });
                Ok(MessageGate { record, hash: format!("{hash}"), kind })
            }
        }
    }
}
