//! Unsigned EVM transactions: one strict decoder for the bytes the adapter builds and for
//! external transactions (`POST /v1/transactions/sign`), what such a transaction does
//! (operations for the policy engine), and signing into an EIP-2718 envelope.
//!
//! Accepted encodings (the EIP-2718 signing payloads):
//! - EIP-1559: `0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList])`
//! - EIP-2930: `0x01 || rlp([chainId, nonce, gasPrice, gas, to, value, data, accessList])`
//! - legacy EIP-155: `rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])`
//!
//! Anything else is refused: other typed transactions (blob, EIP-7702) are
//! `UNSUPPORTED_TX_TYPE`; signed transactions, pre-EIP-155 legacy transactions (replayable
//! on every chain), trailing bytes and non-canonical RLP are `INVALID_TRANSACTION`; a chain
//! id other than the network's is `CHAIN_ID_MISMATCH`. As a last guard the decoded
//! transaction must re-encode to exactly the input, so what the policy sees is what is signed.

use super::calls::call_operations;
use super::message::sign_hash;
use crate::chain::{DecodedTx, Operation, SignedTx};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::SecretKey;
use alloy_consensus::transaction::RlpEcdsaDecodableTx;
use alloy_consensus::{SignableTransaction, Transaction, TxEip1559, TxEip2930, TxEnvelope, TxLegacy, TypedTransaction};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{keccak256, U256};
use alloy_rlp::{Decodable, Header};

fn invalid(message: impl std::fmt::Display) -> Error {
    Error::new(ErrorCode::INVALID_TRANSACTION, format!("invalid EVM transaction: {message}"))
}

/// Decode an unsigned transaction for chain `chain_id` (see the module docs).
pub(crate) fn decode_unsigned(raw: &[u8], chain_id: u64) -> Result<TypedTransaction> {
    let tx: TypedTransaction = match raw.first() {
        None => return Err(invalid("empty input")),
        Some(0x01) => decode_typed::<TxEip2930>(&raw[1..])?.into(),
        Some(0x02) => decode_typed::<TxEip1559>(&raw[1..])?.into(),
        Some(&ty @ (0x00 | 0x03..=0x7f)) => {
            return Err(Error::new(ErrorCode::UNSUPPORTED_TX_TYPE, format!("EVM transaction type 0x{ty:02x} is not supported")))
        }
        Some(0x80..=0xbf) => return Err(invalid("not an RLP list nor a typed transaction")),
        Some(_) => decode_legacy(raw)?.into(),
    };
    if tx.encoded_for_signing() != raw {
        return Err(invalid("non-canonical encoding"));
    }
    match tx.chain_id() {
        Some(id) if id == chain_id => Ok(tx),
        Some(id) => Err(Error::new(ErrorCode::CHAIN_ID_MISMATCH, format!("transaction is for chain id {id}, this network is chain id {chain_id}"))),
        None => Err(invalid("legacy transaction without an EIP-155 chain id")),
    }
}

/// The payload of a typed transaction: exactly one RLP list of its unsigned fields.
fn decode_typed<T: RlpEcdsaDecodableTx>(mut body: &[u8]) -> Result<T> {
    let tx = T::rlp_decode(&mut body).map_err(invalid)?;
    if !body.is_empty() {
        return Err(invalid("trailing bytes"));
    }
    Ok(tx)
}

/// `rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])`, nothing before or after.
fn decode_legacy(raw: &[u8]) -> Result<TxLegacy> {
    let mut buf = raw;
    let header = Header::decode(&mut buf).map_err(invalid)?;
    if !header.list {
        return Err(invalid("not an RLP list"));
    }
    if header.payload_length != buf.len() {
        return Err(invalid("RLP length does not match the input (trailing or missing bytes)"));
    }
    let mut tx = TxLegacy::rlp_decode_fields(&mut buf).map_err(invalid)?;
    if buf.is_empty() {
        return Err(invalid("legacy transaction without an EIP-155 chain id"));
    }
    let chain_id = u64::decode(&mut buf).map_err(invalid)?;
    let r = U256::decode(&mut buf).map_err(invalid)?;
    let s = U256::decode(&mut buf).map_err(invalid)?;
    if !r.is_zero() || !s.is_zero() || !buf.is_empty() {
        return Err(invalid("expected an unsigned EIP-155 payload ([..., chainId, 0, 0])"));
    }
    tx.chain_id = Some(chain_id);
    Ok(tx)
}

/// What a decoded transaction does (see [`super::calls`] for calls), the most its fee can
/// burn and its nonce.
pub(crate) fn describe(tx: &TypedTransaction) -> Result<DecodedTx> {
    let value = tx.value();
    let native_value = u128::try_from(value).map_err(|_| invalid("value exceeds 2^128 wei"))?;
    let operations = match tx.to() {
        None => vec![Operation { op_type: "CONTRACT_DEPLOY".into(), amount: (!value.is_zero()).then(|| value.to_string()), ..Default::default() }],
        Some(to) => call_operations(to, value, tx.input()),
    };
    let max_fee = u128::from(tx.gas_limit()).saturating_mul(tx.max_fee_per_gas());
    Ok(DecodedTx { operations, fee_payer: None, native_value, max_fee, nonce: Some(tx.nonce()) })
}

/// Sign a decoded transaction: `raw` is the EIP-2718 envelope (plain RLP with an EIP-155
/// `v` for legacy), `hash` its 0x keccak256.
pub(crate) fn sign(tx: TypedTransaction, key: &SecretKey) -> Result<SignedTx> {
    let signature = sign_hash(key, &tx.signature_hash())?;
    let raw = TxEnvelope::from((tx, signature)).encoded_2718();
    let hash = format!("{:#x}", keccak256(&raw));
    Ok(SignedTx { raw, hash })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::evm::abi::IERC20;
    use crate::network::Chain;
    use alloy_consensus::transaction::SignerRecoverable;
    use alloy_eips::eip2718::Decodable2718;
    use alloy_primitives::{address, Address, Bytes, TxKind};
    use alloy_sol_types::SolCall;

    const CHAIN: u64 = 11155111;
    const TOKEN: Address = address!("0x5FbDB2315678afecb367f032d93F642f64180aa3");
    const BOB: Address = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");

    fn eip1559(to: TxKind, value: u64, input: Vec<u8>) -> TxEip1559 {
        TxEip1559 {
            chain_id: CHAIN,
            nonce: 7,
            gas_limit: 60_000,
            max_fee_per_gas: 3_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to,
            value: U256::from(value),
            input: Bytes::from(input),
            access_list: Default::default(),
        }
    }

    fn roundtrip(tx: TypedTransaction) -> DecodedTx {
        let bytes = tx.encoded_for_signing();
        let decoded = decode_unsigned(&bytes, CHAIN).unwrap();
        assert_eq!(decoded, tx);
        describe(&decoded).unwrap()
    }

    #[test]
    fn classifies_transfers_tokens_approvals_and_calls() {
        let d = roundtrip(eip1559(TxKind::Call(BOB), 5, vec![]).into());
        assert_eq!(d.native_value, 5);
        assert_eq!(d.operations[0].op_type, "TRANSFER");
        assert_eq!(d.operations[0].to.as_deref(), Some("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"));
        assert_eq!(d.operations[0].amount.as_deref(), Some("5"));

        let data = IERC20::transferCall { to: BOB, amount: U256::from(42) }.abi_encode();
        let op = &roundtrip(eip1559(TxKind::Call(TOKEN), 0, data.clone()).into()).operations[0];
        assert_eq!((op.op_type.as_str(), op.amount.as_deref()), ("TOKEN_TRANSFER", Some("42")));
        assert_eq!(op.token.as_deref(), Some("0x5FbDB2315678afecb367f032d93F642f64180aa3"));
        assert_eq!(op.to.as_deref(), Some("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"));

        let approve = IERC20::approveCall { spender: BOB, amount: U256::MAX }.abi_encode();
        let op = &roundtrip(eip1559(TxKind::Call(TOKEN), 0, approve).into()).operations[0];
        assert_eq!((op.op_type.as_str(), op.amount.clone()), ("APPROVE", Some(U256::MAX.to_string())));

        // transfer() carrying value, or with extra bytes, is not a plain token transfer.
        let d = roundtrip(eip1559(TxKind::Call(TOKEN), 1, data.clone()).into());
        let op = &d.operations[0];
        assert_eq!((op.op_type.as_str(), op.method.as_deref()), ("CONTRACT_CALL", Some("0xa9059cbb")));
        // ... it is the call followed by what it does to the token.
        assert_eq!((d.operations[1].op_type.as_str(), d.operations[1].amount.as_deref()), ("TOKEN_TRANSFER", Some("42")));
        // The most the fee can burn, and the nonce.
        assert_eq!((d.max_fee, d.nonce), (60_000 * 3_000_000_000, Some(7)));
        let mut longer = data;
        longer.push(0);
        assert_eq!(roundtrip(eip1559(TxKind::Call(TOKEN), 0, longer).into()).operations[0].op_type, "CONTRACT_CALL");
        // No data and no value: a call of the receive/fallback function.
        let op = &roundtrip(eip1559(TxKind::Call(BOB), 0, vec![]).into()).operations[0];
        assert_eq!((op.op_type.as_str(), op.method.as_deref()), ("CONTRACT_CALL", None));
        assert_eq!(roundtrip(eip1559(TxKind::Create, 0, vec![0x60]).into()).operations[0].op_type, "CONTRACT_DEPLOY");
    }

    #[test]
    fn accepts_eip2930_and_eip155_legacy() {
        let legacy = TxLegacy {
            chain_id: Some(CHAIN),
            nonce: 1,
            gas_price: 2_000_000_000,
            gas_limit: 21_000,
            to: TxKind::Call(BOB),
            value: U256::from(9),
            input: Bytes::new(),
        };
        assert_eq!(roundtrip(legacy.clone().into()).operations[0].op_type, "TRANSFER");
        let eip2930 = TxEip2930 {
            chain_id: CHAIN,
            nonce: 1,
            gas_price: 2_000_000_000,
            gas_limit: 50_000,
            to: TxKind::Call(TOKEN),
            value: U256::ZERO,
            input: Bytes::from(vec![1, 2, 3, 4, 5]),
            access_list: Default::default(),
        };
        assert_eq!(roundtrip(eip2930.into()).operations[0].method.as_deref(), Some("0x01020304"));

        // Pre-EIP-155 legacy (no chain id) is replayable everywhere: refused.
        let bytes = TxLegacy { chain_id: None, ..legacy }.encoded_for_signing();
        assert_eq!(decode_unsigned(&bytes, CHAIN).unwrap_err().code, ErrorCode::INVALID_TRANSACTION);
    }

    #[test]
    fn refuses_wrong_chain_trailing_bytes_signed_and_unknown_types() {
        let tx: TypedTransaction = eip1559(TxKind::Call(BOB), 1, vec![]).into();
        let bytes = tx.encoded_for_signing();
        assert_eq!(decode_unsigned(&bytes, 1).unwrap_err().code, ErrorCode::CHAIN_ID_MISMATCH);
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(decode_unsigned(&trailing, CHAIN).unwrap_err().code, ErrorCode::INVALID_TRANSACTION);
        assert_eq!(decode_unsigned(&bytes[..bytes.len() - 1], CHAIN).unwrap_err().code, ErrorCode::INVALID_TRANSACTION);
        let key = SecretKey::from_bytes(Chain::Ethereum, &[1u8; 32]).unwrap();
        let signed = sign(tx, &key).unwrap();
        assert_eq!(decode_unsigned(&signed.raw, CHAIN).unwrap_err().code, ErrorCode::INVALID_TRANSACTION);
        for ty in [0x00u8, 0x03, 0x04, 0x7f] {
            let mut other = bytes.clone();
            other[0] = ty;
            assert_eq!(decode_unsigned(&other, CHAIN).unwrap_err().code, ErrorCode::UNSUPPORTED_TX_TYPE);
        }
        for junk in [&[][..], &[0x80], &[0xc0], &[0x02], &[0x02, 0xc0], &[0xff; 3]] {
            assert!(decode_unsigned(junk, CHAIN).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn signed_envelopes_recover_to_the_signer_and_hash_to_their_keccak() {
        let key = SecretKey::from_bytes(Chain::Ethereum, &[0x42u8; 32]).unwrap();
        let expected = crate::keys::derive_public_key(Chain::Ethereum, &key).unwrap();
        let txs: [TypedTransaction; 2] = [
            eip1559(TxKind::Call(BOB), 3, vec![]).into(),
            TxLegacy { chain_id: Some(CHAIN), gas_price: 1, gas_limit: 21_000, to: TxKind::Call(BOB), ..Default::default() }.into(),
        ];
        for tx in txs {
            let signed = sign(tx.clone(), &key).unwrap();
            let envelope = TxEnvelope::decode_2718(&mut signed.raw.as_slice()).unwrap();
            assert_eq!(envelope.recover_signer().unwrap().to_checksum(None), expected);
            assert_eq!(format!("{:#x}", envelope.tx_hash()), signed.hash);
            assert_eq!(envelope.chain_id(), Some(CHAIN));
        }
    }
}
