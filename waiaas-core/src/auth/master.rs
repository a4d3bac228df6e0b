//! masterAuth: the `X-Master-Password` header.
//!
//! The store holds an Argon2id PHC hash. Verifying Argon2 on every admin request would cap
//! the daemon at a few dozen requests a second, so the password accepted at start-up is
//! remembered only as an HMAC-SHA256 under a random per-process key, and each request
//! compares its HMAC in constant time. Any other password pays the full Argon2 cost (one
//! at a time), counts as a failure, and too many failures in a window lock every attempt
//! out, correct or not, so that guessing cannot continue at HMAC speed.

use crate::error::{Error, ErrorCode, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// Argon2id parameters of the master password hash (upstream: m=19456 KiB, t=2, p=1).
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let params = argon2::Params::new(19456, 2, 1, None).map_err(|e| Error::internal(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    Ok(argon.hash_password(password.as_bytes(), &salt).map_err(|e| Error::internal(e.to_string()))?.to_string())
}

/// Verify `password` against a PHC string (any Argon2 variant and parameters).
pub fn verify_hash(phc: &str, password: &str) -> Result<bool> {
    let parsed = PasswordHash::new(phc).map_err(|e| Error::internal(format!("stored master password hash is corrupt: {e}")))?;
    Ok(argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

struct Failures {
    window_start: Instant,
    count: u32,
    locked_until: Option<Instant>,
}

struct State {
    phc: String,
    /// HMAC of the accepted password under `mac_key`.
    accepted: [u8; 32],
}

/// The master password checker.
pub struct MasterAuth {
    mac_key: Zeroizing<[u8; 32]>,
    state: RwLock<State>,
    failures: Mutex<Failures>,
    /// Serialises Argon2 work so wrong guesses cannot saturate the CPU.
    argon_slot: tokio::sync::Semaphore,
    max_attempts: u32,
    lockout: Duration,
}

impl MasterAuth {
    /// `password` is the one the daemon started with, already checked against `phc`.
    pub fn new(phc: String, password: &str, max_attempts: u32, lockout: Duration) -> Arc<MasterAuth> {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, key.as_mut());
        let accepted = mac(&key, password);
        Arc::new(MasterAuth {
            mac_key: key,
            state: RwLock::new(State { phc, accepted }),
            failures: Mutex::new(Failures { window_start: Instant::now(), count: 0, locked_until: None }),
            argon_slot: tokio::sync::Semaphore::new(1),
            max_attempts,
            lockout,
        })
    }

    /// Seconds until the lockout ends, if locked.
    pub fn locked_for(&self) -> Option<u64> {
        let f = self.failures.lock().ok()?;
        f.locked_until.and_then(|t| t.checked_duration_since(Instant::now())).map(|d| d.as_secs().max(1))
    }

    fn locked_error(secs: u64) -> Error {
        Error::new(ErrorCode::MASTER_PASSWORD_LOCKED, format!("Too many failed master password attempts; locked for {secs} more seconds"))
            .with_details(serde_json::json!({ "retryAfter": secs }))
    }

    /// Check a presented password.
    pub async fn verify(&self, password: &str) -> Result<()> {
        if let Some(secs) = self.locked_for() {
            return Err(Self::locked_error(secs));
        }
        let presented = mac(&self.mac_key, password);
        let (ok, phc) = {
            let st = self.state.read().map_err(|_| Error::internal("auth state poisoned"))?;
            (bool::from(presented.ct_eq(&st.accepted)), st.phc.clone())
        };
        if ok {
            return Ok(());
        }
        // Any other password pays the full Argon2 cost, one at a time.
        let _slot = self.argon_slot.acquire().await.map_err(|_| Error::internal("auth closed"))?;
        let pw = Zeroizing::new(password.to_string());
        let verified = tokio::task::spawn_blocking(move || verify_hash(&phc, &pw))
            .await
            .map_err(|e| Error::internal(e.to_string()))??;
        if verified {
            // Only possible if the hash changed under us; adopt it.
            self.state.write().map_err(|_| Error::internal("auth state poisoned"))?.accepted = presented;
            return Ok(());
        }
        let mut f = self.failures.lock().map_err(|_| Error::internal("auth state poisoned"))?;
        let now = Instant::now();
        if now.duration_since(f.window_start) > self.lockout {
            f.window_start = now;
            f.count = 0;
        }
        f.count += 1;
        if f.count >= self.max_attempts {
            f.locked_until = Some(now + self.lockout);
            f.count = 0;
            f.window_start = now;
            return Err(Self::locked_error(self.lockout.as_secs().max(1)));
        }
        Err(Error::new(ErrorCode::INVALID_MASTER_PASSWORD, "Invalid master password"))
    }

    /// Adopt a new password after a committed change.
    pub fn replace(&self, phc: String, password: &str) -> Result<()> {
        let mut st = self.state.write().map_err(|_| Error::internal("auth state poisoned"))?;
        st.phc = phc;
        st.accepted = mac(&self.mac_key, password);
        Ok(())
    }
}

fn mac(key: &[u8; 32], password: &str) -> [u8; 32] {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("any key length");
    m.update(password.as_bytes());
    m.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepts_the_password_rejects_others_and_locks_out() {
        let phc = hash_password("correct horse").unwrap();
        assert!(verify_hash(&phc, "correct horse").unwrap());
        let auth = MasterAuth::new(phc, "correct horse", 3, Duration::from_secs(2));
        auth.verify("correct horse").await.unwrap();
        assert_eq!(auth.verify("wrong").await.unwrap_err().code, ErrorCode::INVALID_MASTER_PASSWORD);
        assert_eq!(auth.verify("wrong").await.unwrap_err().code, ErrorCode::INVALID_MASTER_PASSWORD);
        assert_eq!(auth.verify("wrong").await.unwrap_err().code, ErrorCode::MASTER_PASSWORD_LOCKED);
        // While locked even the right password is refused: guessing cannot go on.
        assert_eq!(auth.verify("correct horse").await.unwrap_err().code, ErrorCode::MASTER_PASSWORD_LOCKED);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        auth.verify("correct horse").await.unwrap();
    }

    #[tokio::test]
    async fn a_replaced_password_takes_effect() {
        let auth = MasterAuth::new(hash_password("old-pass").unwrap(), "old-pass", 5, Duration::from_secs(60));
        auth.replace(hash_password("new-pass").unwrap(), "new-pass").unwrap();
        auth.verify("new-pass").await.unwrap();
        assert_eq!(auth.verify("old-pass").await.unwrap_err().code, ErrorCode::INVALID_MASTER_PASSWORD);
    }
}
