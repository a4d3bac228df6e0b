//! Key material: the plaintext key type, key generation and public-key derivation for both
//! curves. The chain adapters sign with a [`SecretKey`]; only the signer's keystore
//! (`services::signer::keystore`) decrypts one from a key file.

use crate::error::{Error, Result};
use crate::network::Chain;
use alloy_primitives::Address;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

/// A plaintext private key in a zeroizing buffer: 64 bytes (ed25519 seed || pubkey) for
/// Solana, 32 bytes (secp256k1 scalar) for EVM.
pub struct SecretKey {
    chain: Chain,
    bytes: Zeroizing<Vec<u8>>,
}

impl SecretKey {
    pub fn from_bytes(chain: Chain, bytes: &[u8]) -> Result<SecretKey> {
        let ok = match chain {
            Chain::Solana => bytes.len() == 64 || bytes.len() == 32,
            Chain::Ethereum => bytes.len() == 32,
        };
        if !ok {
            return Err(Error::internal(format!("bad {} key length {}", chain, bytes.len())));
        }
        let bytes = if chain == Chain::Solana && bytes.len() == 32 {
            // A bare seed: expand to the 64-byte libsodium form.
            let seed: &[u8; 32] = bytes.try_into().map_err(|_| Error::internal("bad solana seed length"))?;
            let sk = ed25519_dalek::SigningKey::from_bytes(seed);
            Zeroizing::new(sk.to_keypair_bytes().to_vec())
        } else {
            Zeroizing::new(bytes.to_vec())
        };
        Ok(SecretKey { chain, bytes })
    }
    pub fn chain(&self) -> Chain {
        self.chain
    }
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The ed25519 signing key (Solana wallets).
    pub fn ed25519(&self) -> Result<ed25519_dalek::SigningKey> {
        let seed: [u8; 32] = self.bytes[..32].try_into().map_err(|_| Error::internal("seed"))?;
        Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
    }
    /// The secp256k1 signing key (EVM wallets).
    pub fn secp256k1(&self) -> Result<k256::ecdsa::SigningKey> {
        k256::ecdsa::SigningKey::from_slice(&self.bytes).map_err(|_| Error::internal("invalid secp256k1 key"))
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({}, <redacted>)", self.chain)
    }
}

/// A fresh random key for `chain`.
pub fn generate_secret(chain: Chain) -> SecretKey {
    match chain {
        Chain::Solana => {
            let sk = ed25519_dalek::SigningKey::generate(&mut OsRng);
            SecretKey { chain, bytes: Zeroizing::new(sk.to_keypair_bytes().to_vec()) }
        }
        Chain::Ethereum => {
            let sk = k256::ecdsa::SigningKey::random(&mut OsRng);
            SecretKey { chain, bytes: Zeroizing::new(sk.to_bytes().to_vec()) }
        }
    }
}

/// Public key as WAIaaS shows it: base58 ed25519 key (Solana) or EIP-55 address (EVM).
pub fn derive_public_key(chain: Chain, secret: &SecretKey) -> Result<String> {
    match chain {
        Chain::Solana => {
            let sk = secret.ed25519()?;
            let pk = sk.verifying_key().to_bytes();
            if secret.bytes.len() == 64 && secret.bytes[32..] != pk {
                return Err(Error::internal("ed25519 keypair halves do not match"));
            }
            Ok(bs58::encode(pk).into_string())
        }
        Chain::Ethereum => {
            let sk = secret.secp256k1()?;
            Ok(evm_address(sk.verifying_key()).to_checksum(None))
        }
    }
}

/// The EVM address of a secp256k1 public key: last 20 bytes of keccak256(x || y).
pub fn evm_address(vk: &k256::ecdsa::VerifyingKey) -> Address {
    let point = vk.to_encoded_point(false);
    Address::from_raw_public_key(&point.as_bytes()[1..])
}

/// EIP-55 address of a secp256k1 public key.
pub fn evm_address_of(vk: &k256::ecdsa::VerifyingKey) -> String {
    evm_address(vk).to_checksum(None)
}
