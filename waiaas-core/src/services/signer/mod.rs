//! The one keystore gate: **no key without a decision, by construction.**
//!
//! The keystore ([`keystore`]) lives inside this module: [`keystore::Keystore::with_secret`],
//! the only function that hands out a decrypted signing key, is visible to the signer alone
//! and takes a [`SigningPermit`]. A permit has private fields and no public constructor: the
//! only code that makes one is [`Signer::permit`] below, and it does so only for a
//! transaction row that the policy gate decided and reserved (`Engine::decide_kind` moved it
//! PENDING → EXECUTING with an allowed decision, or its DELAY / owner approval moved it
//! QUEUED → EXECUTING), for that row's own wallet and network. A permit is consumed by the
//! signature it allows.
//!
//! [`Signer`] is the service: the keystore, the master password its files are encrypted
//! with, and the transaction and wallet rows it checks before a key is decrypted.
//!
//! Every signing path obtains one the same way: send (the pipeline's execute step),
//! sign-only, sign-message, batches; a new path (x402, actions) that has no decided row
//! cannot call the keystore, so it does not compile.

pub mod keystore;

use crate::error::{wallet_not_found, Error, ErrorCode, Result};
use crate::keys::SecretKey;
use crate::store::tx::TxStatus;
use crate::store::{TxStore, WalletRecord, WalletStatus, WalletStore};
use keystore::Keystore;
use std::sync::{Arc, RwLock};
use zeroize::Zeroizing;

/// Proof that the policy gate allowed (and reserved the budget of) one transaction row of
/// one wallet on one network. Only [`Signer::permit`] creates it.
///
/// Code outside this module cannot make one, so it cannot reach a key:
/// ```compile_fail
/// let forged = waiaas_core::services::signer::SigningPermit { wallet_id: "w".into(), network: "n".into(), tx_id: "t".into(), tier: "INSTANT".into() };
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

/// The signer service: the one keystore gate.
pub struct Signer {
    keystore: Keystore,
    /// The master password, needed to open keys in the signing step.
    password: RwLock<Zeroizing<String>>,
    txs: Arc<dyn TxStore>,
    wallets: Arc<dyn WalletStore>,
    /// Master password changes hold it exclusively; everything that encrypts with the
    /// current password (wallet creation, backups) holds it shared from reading the password
    /// until its file is written, so no key can be written under a password being replaced.
    rekey: tokio::sync::RwLock<()>,
}

impl Signer {
    pub fn new(keystore: Keystore, password: &str, txs: Arc<dyn TxStore>, wallets: Arc<dyn WalletStore>) -> Signer {
        Signer { keystore, password: RwLock::new(Zeroizing::new(password.to_string())), txs, wallets, rekey: tokio::sync::RwLock::new(()) }
    }

    /// The key files (creation, deletion and re-encryption; never decryption).
    pub(crate) fn keystore(&self) -> &Keystore {
        &self.keystore
    }

    /// The lock between master password changes (exclusive) and writers of files encrypted
    /// with the current password (shared).
    pub(crate) fn rekey_lock(&self) -> &tokio::sync::RwLock<()> {
        &self.rekey
    }

    /// The master password the key files are encrypted with now.
    pub(crate) fn password(&self) -> Result<Zeroizing<String>> {
        Ok(self.password.read().map_err(|_| Error::internal("lock"))?.clone())
    }

    /// Replace the master password (after the key files were re-encrypted with it).
    pub(crate) fn set_password(&self, new: Zeroizing<String>) -> Result<()> {
        *self.password.write().map_err(|_| Error::internal("lock"))? = new;
        Ok(())
    }

    /// The permit of a transaction row that the policy gate decided: it must be EXECUTING
    /// (the state only an allowed decision, an expired DELAY or an owner approval leads to),
    /// carry an allowed decision, and belong to `wallet_id`.
    pub(crate) async fn permit(&self, tx_id: &str, wallet_id: &str) -> Result<SigningPermit> {
        let tx = self.txs.get_tx(tx_id).await?.ok_or_else(|| Error::new(ErrorCode::TX_NOT_FOUND, "transaction vanished"))?;
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
    pub(crate) async fn with_key<T: Send + 'static>(&self, permit: SigningPermit, f: impl FnOnce(&SecretKey) -> Result<T> + Send + 'static) -> Result<T> {
        self.with_keys(vec![permit], f).await
    }

    /// [`Signer::with_key`] for the permits of several transactions of one wallet (the nonce
    /// owner signing a batch): one re-read of the wallet, one decryption.
    pub(crate) async fn with_keys<T: Send + 'static>(
        &self,
        permits: Vec<SigningPermit>,
        f: impl FnOnce(&SecretKey) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let Some(permit) = permits.first() else { return Err(Error::internal("no signing permit")) };
        if permits.iter().any(|p| p.wallet_id != permit.wallet_id) {
            return Err(Error::internal("signing permits of several wallets"));
        }
        // Re-read: the wallet may have been suspended since the decision.
        let current = self.wallets.get_wallet(&permit.wallet_id).await?.ok_or_else(|| wallet_not_found(&permit.wallet_id))?;
        ensure_can_sign(&current)?;
        let ks = self.keystore.clone();
        let pw = self.password()?;
        tokio::task::spawn_blocking(move || ks.with_secret(&permits[0], pw.as_bytes(), f)).await.map_err(Error::internal_from)?
    }
}

/// A SUSPENDED or TERMINATED wallet never signs.
pub(crate) fn ensure_can_sign(w: &WalletRecord) -> Result<()> {
    match w.status {
        WalletStatus::Active => Ok(()),
        WalletStatus::Suspended => {
            Err(Error::new(ErrorCode::WALLET_SUSPENDED, format!("Wallet '{}' is suspended ({})", w.id, w.suspension_reason.as_deref().unwrap_or("no reason"))))
        }
        WalletStatus::Terminated => Err(Error::new(ErrorCode::WALLET_TERMINATED, format!("Wallet '{}' is terminated", w.id))),
    }
}
