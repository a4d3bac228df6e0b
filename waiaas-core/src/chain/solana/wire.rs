//! The Solana transaction wire format: strict parsing, serialization and signature slots.
//!
//! A transaction on the wire is the bincode (fixed-int) encoding of its serde form:
//! `short_vec<signature>` followed by the message (legacy, or `0x80 | version` then v0).
//! [`parse`] accepts only what the network accepts and what we can reason about: at most
//! [`PACKET_DATA_SIZE`] bytes, legacy or v0 messages, a sane header and in-bounds indices,
//! no trailing bytes, and a canonical encoding (re-serializing gives the same bytes, so
//! the message we sign is exactly the message the caller sent).

use crate::error::{Error, ErrorCode, Result};
use crate::keys::SecretKey;
use crate::network::Chain;
use bincode::Options;
use ed25519_dalek::Signer as _;
use solana_message::VersionedMessage;
use solana_pubkey::Pubkey;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Signature;

/// Largest transaction the network accepts (IPv6 MTU minus headers).
pub const PACKET_DATA_SIZE: usize = 1232;

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::INVALID_TRANSACTION, msg)
}

/// Parse wire bytes into a transaction (see the module docs for what is rejected).
pub(crate) fn parse(raw: &[u8]) -> Result<VersionedTransaction> {
    if raw.is_empty() {
        return Err(invalid("empty transaction"));
    }
    if raw.len() > PACKET_DATA_SIZE {
        return Err(invalid(format!("transaction is {} bytes, more than the {PACKET_DATA_SIZE}-byte limit", raw.len())));
    }
    let tx: VersionedTransaction = bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_limit(PACKET_DATA_SIZE as u64)
        .reject_trailing_bytes()
        .deserialize(raw)
        .map_err(|e| invalid(format!("not a Solana transaction: {e}")))?;
    if matches!(tx.message, VersionedMessage::V1(_)) {
        return Err(invalid("v1 transaction messages are not supported"));
    }
    tx.sanitize().map_err(|e| invalid(format!("malformed transaction: {e}")))?;
    if serialize(&tx)? != raw {
        return Err(invalid("non-canonical transaction encoding"));
    }
    Ok(tx)
}

/// Wire bytes of a transaction.
pub(crate) fn serialize(tx: &VersionedTransaction) -> Result<Vec<u8>> {
    bincode::serialize(tx).map_err(|e| Error::internal(format!("serialize transaction: {e}")))
}

/// The bytes every signer signs: the serialized message.
pub(crate) fn message_bytes(message: &VersionedMessage) -> Result<Vec<u8>> {
    bincode::serialize(message).map_err(|e| Error::internal(format!("serialize message: {e}")))
}

/// The accounts that must sign, fee payer first.
pub(crate) fn required_signers(message: &VersionedMessage) -> &[Pubkey] {
    let keys = message.static_account_keys();
    let n = usize::from(message.header().num_required_signatures).min(keys.len());
    &keys[..n]
}

/// Sign `tx` with `key` in the key's signature slot; the key must be a required signer
/// (`WALLET_NOT_SIGNER` otherwise). Other slots are left as they are.
pub(crate) fn sign_slot(tx: &mut VersionedTransaction, key: &SecretKey) -> Result<()> {
    if key.chain() != Chain::Solana {
        return Err(Error::new(ErrorCode::WALLET_NOT_SIGNER, "not a Solana (ed25519) key"));
    }
    let signing = key.ed25519()?;
    let me = Pubkey::new_from_array(signing.verifying_key().to_bytes());
    let slot = required_signers(&tx.message)
        .iter()
        .position(|k| *k == me)
        .ok_or_else(|| Error::new(ErrorCode::WALLET_NOT_SIGNER, format!("{me} is not a required signer of this transaction")))?;
    let signature = signing.sign(&message_bytes(&tx.message)?);
    let entry = tx.signatures.get_mut(slot).ok_or_else(|| invalid("missing signature slot"))?;
    *entry = Signature::from(signature.to_bytes());
    Ok(())
}

/// The transaction id: the fee payer's signature in base58, or `None` while that slot is
/// still empty (the id is not known before the fee payer signs).
pub(crate) fn transaction_id(tx: &VersionedTransaction) -> Option<String> {
    tx.signatures.first().filter(|s| **s != Signature::default()).map(|s| s.to_string())
}

/// The program of each instruction, in order (for naming failed instructions).
pub(crate) fn instruction_programs(message: &VersionedMessage) -> Vec<Pubkey> {
    let keys = message.static_account_keys();
    message.instructions().iter().map(|ix| keys.get(usize::from(ix.program_id_index)).copied().unwrap_or_default()).collect()
}
