//! Session tokens: `wai_sess_` + a compact HS256 JWT with upstream's claims (`sub` = session
//! id, `iat`, optional `exp`) and header `{"alg":"HS256"}`. Implemented directly on HMAC-
//! SHA256 (no JWT crate: HS256 is all we need, and it keeps RSA code out of the build).
//!
//! The signature only proves the daemon issued the token; the engine also checks the store
//! on every request (revoked, expired, rotated away).

use crate::error::{Error, ErrorCode, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::Mac;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub const TOKEN_PREFIX: &str = "wai_sess_";
/// How long the previous JWT secret keeps working after a rotation (seconds).
pub const ROTATION_GRACE: i64 = 300;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Random token id, so that two tokens issued for a session in the same second differ
    /// (a rotated-away token must never equal its replacement). Not read by clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The session id again (= `sub`): the upstream TypeScript SDK's `renewSession()` reads
    /// it from the token. Never trusted on verification (`sub` is).
    #[serde(default, rename = "sessionId", skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// A JWT secret as stored in `key_value_store` (`{"secret":"<64 hex>","createdAt":n}`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSecret {
    pub secret: String,
    pub created_at: i64,
}

impl StoredSecret {
    pub fn generate(now: i64) -> StoredSecret {
        let mut b = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        StoredSecret { secret: hex::encode(b), created_at: now }
    }
}

/// Current and previous signing secrets.
#[derive(Clone)]
pub struct JwtSecrets {
    current: (Zeroizing<Vec<u8>>, i64),
    previous: Option<Zeroizing<Vec<u8>>>,
}

impl JwtSecrets {
    pub fn new(current: &StoredSecret, previous: Option<&StoredSecret>) -> Result<JwtSecrets> {
        let dec = |s: &StoredSecret| hex::decode(&s.secret).map(Zeroizing::new).map_err(|_| Error::internal("stored JWT secret is not hex"));
        Ok(JwtSecrets { current: (dec(current)?, current.created_at), previous: previous.map(dec).transpose()? })
    }

    pub fn current_created_at(&self) -> i64 {
        self.current.1
    }

    /// Sign claims into a full `wai_sess_...` token.
    pub fn issue(&self, claims: &Claims) -> String {
        let header = B64.encode(br#"{"alg":"HS256"}"#);
        #[allow(clippy::expect_used, reason = "Claims is a struct of strings and numbers: serializing it cannot fail")]
        let payload = B64.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let signing_input = format!("{header}.{payload}");
        let sig = B64.encode(sign(&self.current.0, signing_input.as_bytes()));
        format!("{TOKEN_PREFIX}{signing_input}.{sig}")
    }

    /// Check the prefix, signature (current secret, or the previous one within the
    /// rotation grace) and `exp`. Returns the claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims> {
        let invalid = || Error::new(ErrorCode::INVALID_TOKEN, "Invalid session token");
        let jwt = token.strip_prefix(TOKEN_PREFIX).ok_or_else(invalid)?;
        let mut parts = jwt.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(invalid());
        };
        let header: serde_json::Value = serde_json::from_slice(&B64.decode(h).map_err(|_| invalid())?).map_err(|_| invalid())?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(invalid());
        }
        let sig = B64.decode(s).map_err(|_| invalid())?;
        let input = &jwt[..h.len() + 1 + p.len()];
        let mut ok = check(&self.current.0, input.as_bytes(), &sig);
        if !ok && now - self.current.1 < ROTATION_GRACE {
            if let Some(prev) = &self.previous {
                ok = check(prev, input.as_bytes(), &sig);
            }
        }
        if !ok {
            return Err(invalid());
        }
        let claims: Claims = serde_json::from_slice(&B64.decode(p).map_err(|_| invalid())?).map_err(|_| invalid())?;
        if let Some(exp) = claims.exp {
            if now >= exp {
                return Err(Error::new(ErrorCode::TOKEN_EXPIRED, "Session token expired"));
            }
        }
        Ok(claims)
    }
}

fn sign(key: &[u8], input: &[u8]) -> Vec<u8> {
    let mut m = crate::mac::hmac_sha256(key);
    m.update(input);
    m.finalize().into_bytes().to_vec()
}

/// Constant-time signature check.
fn check(key: &[u8], input: &[u8], sig: &[u8]) -> bool {
    let mut m = crate::mac::hmac_sha256(key);
    m.update(input);
    m.verify_slice(sig).is_ok()
}

/// sha256 hex of the whole token, as stored in `sessions.token_hash`.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_verify_expire_and_tamper() {
        let s = JwtSecrets::new(&StoredSecret::generate(1000), None).unwrap();
        let t = s.issue(&Claims { sub: "abc".into(), iat: 1000, exp: Some(2000), jti: None, session_id: None });
        assert!(t.starts_with("wai_sess_eyJhbGciOiJIUzI1NiJ9."));
        assert_eq!(s.verify(&t, 1500).unwrap().sub, "abc");
        assert_eq!(s.verify(&t, 2000).unwrap_err().code, ErrorCode::TOKEN_EXPIRED);
        let unlimited = s.issue(&Claims { sub: "u".into(), iat: 1000, exp: None, jti: None, session_id: None });
        assert!(s.verify(&unlimited, 10_000_000).is_ok());
        let mut bad = t.clone();
        bad.pop();
        bad.push(if t.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(s.verify(&bad, 1500).unwrap_err().code, ErrorCode::INVALID_TOKEN);
        assert_eq!(s.verify(&t[9..], 1500).unwrap_err().code, ErrorCode::INVALID_TOKEN);
        // alg=none is refused.
        let parts: Vec<&str> = t[9..].split('.').collect();
        let none = format!("wai_sess_{}.{}.", B64.encode(br#"{"alg":"none"}"#), parts[1]);
        assert_eq!(s.verify(&none, 1500).unwrap_err().code, ErrorCode::INVALID_TOKEN);
    }

    #[test]
    fn previous_secret_works_only_during_the_grace() {
        let old = StoredSecret::generate(0);
        let t = JwtSecrets::new(&old, None).unwrap().issue(&Claims { sub: "s".into(), iat: 0, exp: None, jti: None, session_id: None });
        let new = StoredSecret::generate(1000);
        let rotated = JwtSecrets::new(&new, Some(&old)).unwrap();
        assert!(rotated.verify(&t, 1000 + ROTATION_GRACE - 1).is_ok());
        assert_eq!(rotated.verify(&t, 1000 + ROTATION_GRACE).unwrap_err().code, ErrorCode::INVALID_TOKEN);
    }
}
