//! secp256k1 signing of 32-byte digests, and message signing for
//! `POST /v1/transactions/sign-message`: EIP-191 `personal_sign` and EIP-712 typed data.

use crate::chain::MessageKind;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::SecretKey;
use crate::network::Chain;
use alloy_dyn_abi::TypedData;
use alloy_primitives::{eip191_hash_message, Signature, B256};

/// Sign a 32-byte digest with an EVM key (RFC 6979, low-s, with the recovery parity).
pub(crate) fn sign_hash(key: &SecretKey, hash: &B256) -> Result<Signature> {
    if key.chain() != Chain::Ethereum {
        return Err(Error::new(ErrorCode::WALLET_NOT_SIGNER, "not a secp256k1 (EVM) key"));
    }
    let signing_key = key.secp256k1()?;
    let (sig, recovery_id) = signing_key.sign_prehash_recoverable(hash.as_slice()).map_err(|e| Error::internal(format!("secp256k1 signing failed: {e}")))?;
    Ok(Signature::from((sig, recovery_id)))
}

/// Sign a message: EIP-191 `personal_sign` over the bytes, or the EIP-712 signing hash of
/// typed data `{domain, types, primaryType, message}`. Returns the 65-byte `r || s || v`
/// signature as 0x hex, `v` = 27 or 28 (what `personal_sign` / `eth_signTypedData_v4` return).
pub fn sign_message(key: &SecretKey, kind: &MessageKind) -> Result<String> {
    let hash = match kind {
        MessageKind::Personal(bytes) => eip191_hash_message(bytes),
        MessageKind::TypedData(json) => typed_data_hash(json)?,
    };
    let sig = sign_hash(key, &hash)?;
    Ok(format!("0x{}", hex::encode(sig.as_bytes())))
}

/// The EIP-712 signing hash of typed data JSON.
pub(crate) fn typed_data_hash(json: &serde_json::Value) -> Result<B256> {
    super::typed::check_caps(json)?;
    let typed: TypedData = serde_json::from_value(json.clone()).map_err(|e| Error::validation("typedData", format!("not EIP-712 typed data: {e}")))?;
    typed.eip712_signing_hash().map_err(|e| Error::validation("typedData", format!("cannot hash typed data: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{keccak256, Address};
    use serde_json::json;

    const ANVIL_KEY_0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const ANVIL_ADDR_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    fn key(hex_key: &str) -> SecretKey {
        SecretKey::from_bytes(Chain::Ethereum, &hex::decode(hex_key).unwrap()).unwrap()
    }

    fn parse_sig(s: &str) -> Signature {
        let bytes = hex::decode(s.trim_start_matches("0x")).unwrap();
        assert_eq!(bytes.len(), 65);
        assert!(bytes[64] == 27 || bytes[64] == 28, "v = {}", bytes[64]);
        Signature::try_from(bytes.as_slice()).unwrap()
    }

    #[test]
    fn personal_sign_recovers_to_the_signer() {
        let sig = sign_message(&key(ANVIL_KEY_0), &MessageKind::Personal(b"hello".to_vec())).unwrap();
        // The EIP-191 digest computed from its definition, independently of alloy's helper.
        let digest = keccak256([b"\x19Ethereum Signed Message:\n5".as_slice(), b"hello"].concat());
        let signer = parse_sig(&sig).recover_address_from_prehash(&digest).unwrap();
        assert_eq!(signer, ANVIL_ADDR_0.parse::<Address>().unwrap());
        // Deterministic (RFC 6979).
        assert_eq!(sig, sign_message(&key(ANVIL_KEY_0), &MessageKind::Personal(b"hello".to_vec())).unwrap());
    }

    /// The "Mail" example of the EIP-712 specification (assets/eip-712/Example.js).
    fn mail() -> serde_json::Value {
        json!({
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}
                ],
                "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
                "Mail": [{"name": "from", "type": "Person"}, {"name": "to", "type": "Person"}, {"name": "contents", "type": "string"}]
            },
            "primaryType": "Mail",
            "domain": {
                "name": "Ether Mail", "version": "1", "chainId": 1,
                "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"
            },
            "message": {
                "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
                "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
                "contents": "Hello, Bob!"
            }
        })
    }

    #[test]
    fn eip712_mail_example_matches_the_spec() {
        let digest = typed_data_hash(&mail()).unwrap();
        assert_eq!(hex::encode(digest), "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");
        let cow = keccak256(b"cow");
        let sig = sign_message(&key(&hex::encode(cow)), &MessageKind::TypedData(mail())).unwrap();
        // Example.js: v = 28, r = 0x4355c47d…, s = 0x07299936….
        assert_eq!(
            sig,
            "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d\
             07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562\
             1c"
        );
        let signer = parse_sig(&sig).recover_address_from_prehash(&digest).unwrap();
        assert_eq!(signer, "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826".parse::<Address>().unwrap());
    }

    #[test]
    fn malformed_typed_data_and_wrong_keys_are_refused() {
        let e = sign_message(&key(ANVIL_KEY_0), &MessageKind::TypedData(json!({"types": 1}))).unwrap_err();
        assert_eq!(e.code, ErrorCode::ACTION_VALIDATION_FAILED);
        let mut missing = mail();
        missing["types"].as_object_mut().unwrap().remove("Person");
        assert!(sign_message(&key(ANVIL_KEY_0), &MessageKind::TypedData(missing)).is_err());
        let solana = SecretKey::from_bytes(Chain::Solana, &[7u8; 32]).unwrap();
        let e = sign_message(&solana, &MessageKind::Personal(b"x".to_vec())).unwrap_err();
        assert_eq!(e.code, ErrorCode::WALLET_NOT_SIGNER);
    }
}
