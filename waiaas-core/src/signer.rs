//! The one keystore gate: **no key without a decision, by construction.**
//!
//! [`crate::keystore::Keystore::with_secret`], the only function that hands out a decrypted
//! signing key, takes a [`SigningPermit`]. A permit has private fields and no public
//! constructor: the only code that makes one is [`Engine::signing_permit`] below, and it does so
//! only for a transaction row that the policy gate decided and reserved
//! ([`Engine::decide_kind`](crate::engine::Engine) moved it PENDING → EXECUTING with an allowed
//! decision, or its DELAY / owner approval moved it QUEUED → EXECUTING), for that row's own
//! wallet and network. A permit is consumed by the signature it allows.
//!
//! Every signing path obtains one the same way: send (the pipeline's execute step),
//! sign-only, sign-message, batches; a new path (x402, actions) that has no decided row
//! cannot call the keystore, so it does not compile.

use crate::chain::evm::typed::{self, TypedMeaning};
use crate::chain::{MessageKind, TokenInfo, TxKind};
use crate::engine::{ensure_can_sign, wallet_not_found, Engine};
use crate::error::{Error, ErrorCode, Result};
use crate::keystore::SecretKey;
use crate::network::{Chain, Network};
use crate::policy::Intent;
use crate::store::WalletRecord;
use crate::tx::{TxPatch, TxRecord, TxStatus};

/// Proof that the policy gate allowed (and reserved the budget of) one transaction row of
/// one wallet on one network. Only [`Engine::signing_permit`] creates it.
///
/// Code outside this module cannot make one, so it cannot reach a key:
/// ```compile_fail
/// let forged = waiaas_core::signer::SigningPermit { wallet_id: "w".into(), network: "n".into(), tx_id: "t".into(), tier: "INSTANT".into() };
/// ```
/// ```compile_fail
/// # fn open(ks: &waiaas_core::keystore::Keystore) {
/// ks.with_secret("wallet-id", b"password", |_key| Ok(()));
/// # }
/// ```
#[derive(Debug)]
pub struct SigningPermit {
    wallet_id: String,
    network: String,
    tx_id: String,
    tier: String,
}

impl SigningPermit {
    pub fn wallet_id(&self) -> &str {
        &self.wallet_id
    }
    pub fn network(&self) -> &str {
        &self.network
    }
    pub fn tx_id(&self) -> &str {
        &self.tx_id
    }
    /// The tier the decision gave (INSTANT, NOTIFY, DELAY or APPROVAL).
    pub fn tier(&self) -> &str {
        &self.tier
    }

    /// Unit tests of the keystore only (not compiled outside this crate's own tests).
    #[cfg(test)]
    pub(crate) fn for_test(wallet_id: &str) -> SigningPermit {
        SigningPermit { wallet_id: wallet_id.into(), network: String::new(), tx_id: String::new(), tier: "INSTANT".into() }
    }
}

fn not_decided(tx_id: &str, why: &str) -> Error {
    Error::new(ErrorCode::POLICY_DENIED, format!("Transaction {tx_id} has no policy decision allowing a signature: {why}"))
}

impl Engine {
    /// The permit of a transaction row that the policy gate decided: it must be EXECUTING
    /// (the state only an allowed decision, an expired DELAY or an owner approval leads to),
    /// carry an allowed decision, and belong to `wallet_id`.
    pub(crate) async fn signing_permit(&self, tx_id: &str, wallet_id: &str) -> Result<SigningPermit> {
        let tx = self.inner.store.get_tx(tx_id).await?.ok_or_else(|| Error::new(ErrorCode::TX_NOT_FOUND, "transaction vanished"))?;
        if tx.wallet_id != wallet_id {
            return Err(not_decided(tx_id, "it belongs to another wallet"));
        }
        if tx.status() != TxStatus::Executing {
            return Err(not_decided(tx_id, &format!("it is {}", tx.status)));
        }
        let allowed = tx
            .decision
            .as_deref()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
            .and_then(|d| d.get("allowed").and_then(|a| a.as_bool()))
            .unwrap_or(false);
        if !allowed {
            return Err(not_decided(tx_id, "no allowed decision is recorded"));
        }
        let tier = tx.tier.clone().ok_or_else(|| not_decided(tx_id, "no tier is recorded"))?;
        Ok(SigningPermit { wallet_id: tx.wallet_id, network: tx.network, tx_id: tx.id, tier })
    }

    /// Decrypt the permitted wallet's key and hand it to `f` (on a blocking thread); the
    /// plaintext is zeroized when `f` returns. Only an ACTIVE wallet's key is ever decrypted.
    pub(crate) async fn with_signing_key<T: Send + 'static>(
        &self,
        permit: SigningPermit,
        f: impl FnOnce(&SecretKey) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        // Re-read: the wallet may have been suspended since the decision.
        let current = self.inner.store.get_wallet(&permit.wallet_id).await?.ok_or_else(|| wallet_not_found(&permit.wallet_id))?;
        ensure_can_sign(&current)?;
        let ks = self.inner.keystore.clone();
        let pw = self.inner.password.read().map_err(|_| Error::internal("lock"))?.clone();
        tokio::task::spawn_blocking(move || ks.with_secret(&permit, pw.as_bytes(), f)).await.map_err(Error::internal_from)?
    }
}

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
        let row = || async { self.inner.store.get_tx(&rec.id).await?.ok_or_else(|| Error::internal("sign row vanished")) };
        match decided {
            Some(TxStatus::Executing) => self.signing_permit(&rec.id, &rec.wallet_id).await,
            Some(TxStatus::Queued) => {
                let tier = row().await?.tier.unwrap_or_default();
                let e = Error::new(
                    ErrorCode::POLICY_DENIED,
                    format!("Policy requires {tier} for this request; a signature cannot wait for a delay or an approval (send transactions with POST /v1/transactions/send instead)"),
                )
                .with_details(serde_json::json!({"tier": tier}));
                let patch =
                    TxPatch { error: Some(e.message.clone()), error_code: Some(e.code.as_str().into()), release_reservation: true, ..Default::default() };
                if self.inner.store.transition_tx(&rec.id, &[TxStatus::Queued], TxStatus::Cancelled, &patch, self.now()).await? {
                    self.inner.metrics.transaction(TxStatus::Cancelled, Some(tier.as_str()).filter(|t| !t.is_empty()));
                }
                Err(e)
            }
            _ => {
                let t = row().await?;
                let code = t.error_code.as_deref().and_then(ErrorCode::parse).unwrap_or(ErrorCode::POLICY_DENIED);
                Err(Error::new(code, t.error.unwrap_or_else(|| "Denied by policy".into())))
            }
        }
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
