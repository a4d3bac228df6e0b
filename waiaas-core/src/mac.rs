//! HMAC-SHA256, the one keyed hash of the core: session tokens, the master-password and
//! keystore caches, owner nonces and webhook signatures.

use hmac::Mac;

pub type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// An HMAC-SHA256 keyed with `key`.
#[allow(clippy::expect_used, reason = "HMAC takes a key of any length (long keys are hashed, short ones padded): new_from_slice cannot fail")]
pub fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length")
}
