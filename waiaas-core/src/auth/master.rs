//! masterAuth: the `X-Master-Password` header.
//!
//! The store holds an Argon2id PHC hash. Verifying Argon2 on every admin request would cap
//! the daemon at a few dozen requests a second, so the password accepted at start-up is
//! remembered only as an HMAC-SHA256 under a random per-process key, and each request
//! compares its HMAC in constant time. Any other password pays the full Argon2 cost (one
//! at a time) and counts as a failure **of its source** (the client address as the rate
//! limiter determines it).
//!
//! Throttling is per source, so nobody can lock the operator out by guessing from another
//! address (upstream, and this daemon before, locked every source out after five wrong
//! guesses from anyone, the CLI and the kill switch included):
//! - a source may have at most `max_attempts` wrong passwords counted or in flight per
//!   window; a password is only evaluated while the source is within that budget, so
//!   concurrent requests cannot test more guesses than the budget;
//! - a source that spends its budget is blocked: every attempt from it, right or wrong, is
//!   refused with `MASTER_PASSWORD_LOCKED` (429, `retryAfter`) **without being evaluated**,
//!   so a blocked source learns nothing. The first block lasts `lockout / 16` (at least
//!   1 s), each next one twice as long, up to `lockout`; a source quiet for two lockouts
//!   starts over;
//! - every other source is unaffected: the right password keeps working from them at HMAC
//!   speed, whatever the flood elsewhere.

use crate::error::{Error, ErrorCode, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use hmac::Mac;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Sources remembered at once; past this, quiet sources are forgotten first.
const MAX_SOURCES: usize = 100_000;

/// Argon2id parameters of the master password hash (upstream: m=19456 KiB, t=2, p=1).
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let params = argon2::Params::new(19456, 2, 1, None).map_err(Error::internal_from)?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    Ok(argon.hash_password(password.as_bytes(), &salt).map_err(Error::internal_from)?.to_string())
}

/// Verify `password` against a PHC string (any Argon2 variant and parameters).
pub fn verify_hash(phc: &str, password: &str) -> Result<bool> {
    let parsed = PasswordHash::new(phc).map_err(|e| Error::internal(format!("stored master password hash is corrupt: {e}")))?;
    Ok(argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// What one source has spent.
struct Source {
    /// Wrong passwords counted in the current window.
    failures: u32,
    /// Wrong-looking passwords being checked with Argon2 right now.
    in_flight: u32,
    /// Blocks so far (the next one lasts twice as long).
    strikes: u32,
    blocked_until: Option<Instant>,
    last_failure: Instant,
}

impl Source {
    fn new(now: Instant) -> Source {
        Source { failures: 0, in_flight: 0, strikes: 0, blocked_until: None, last_failure: now }
    }
}

struct State {
    phc: String,
    /// HMAC of the accepted password under `mac_key`.
    accepted: [u8; 32],
}

/// A refused master password: the error for the caller, and whether it was a counted
/// wrong guess (audited) or a refusal of a blocked source (not evaluated, not audited
/// again).
#[derive(Debug)]
pub struct Refused {
    pub error: Error,
    pub counted: bool,
}

/// The master password checker.
pub struct MasterAuth {
    mac_key: Zeroizing<[u8; 32]>,
    state: RwLock<State>,
    sources: Mutex<HashMap<String, Source>>,
    /// Serialises Argon2 work so wrong guesses cannot saturate the CPU.
    argon_slot: tokio::sync::Semaphore,
    max_attempts: u32,
    lockout: Duration,
}

impl MasterAuth {
    /// The stored hash this checker holds (the one it started with, or set since).
    pub(crate) fn phc(&self) -> String {
        self.state.read().unwrap_or_else(|e| e.into_inner()).phc.clone()
    }

    /// `password` is the one the daemon started with, already checked against `phc`.
    pub fn new(phc: String, password: &str, max_attempts: u32, lockout: Duration) -> Arc<MasterAuth> {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, key.as_mut());
        let accepted = mac(&key, password);
        Arc::new(MasterAuth {
            mac_key: key,
            state: RwLock::new(State { phc, accepted }),
            sources: Mutex::new(HashMap::new()),
            argon_slot: tokio::sync::Semaphore::new(1),
            max_attempts: max_attempts.max(1),
            lockout,
        })
    }

    fn locked_error(secs: u64) -> Error {
        Error::new(ErrorCode::MASTER_PASSWORD_LOCKED, format!("Too many wrong master passwords from this address; try again in {secs} s"))
            .with_details(serde_json::json!({ "retryAfter": secs }))
    }

    /// How long the `strikes`-th block lasts.
    fn block_length(&self, strikes: u32) -> Duration {
        let first = (self.lockout / 16).max(Duration::from_secs(1)).min(self.lockout);
        first.saturating_mul(1u32 << strikes.min(16)).min(self.lockout)
    }

    fn sources(&self) -> std::sync::MutexGuard<'_, HashMap<String, Source>> {
        self.sources.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admit an attempt from `source`: refused while it is blocked or its budget is spent
    /// (by failures and attempts still being checked).
    fn admit(&self, source: &str, now: Instant) -> std::result::Result<(), Refused> {
        let mut map = self.sources();
        let Some(s) = map.get_mut(source) else {
            return Ok(());
        };
        if let Some(until) = s.blocked_until {
            if until > now {
                let secs = until.duration_since(now).as_secs().max(1);
                return Err(Refused { error: Self::locked_error(secs), counted: false });
            }
            s.blocked_until = None;
        }
        if s.in_flight == 0 && now.duration_since(s.last_failure) >= self.lockout * 2 {
            // Quiet for two lockouts (a whole one after the longest block): it starts over.
            map.remove(source);
            return Ok(());
        }
        if s.failures + s.in_flight >= self.max_attempts {
            return Err(Refused { error: Self::locked_error(1), counted: false });
        }
        Ok(())
    }

    /// Check a presented password from `source` (the client address; one shared bucket
    /// when unknown).
    pub async fn check(&self, password: &str, source: &str) -> std::result::Result<(), Refused> {
        let internal = |m: &str| Refused { error: Error::internal(m), counted: false };
        let now = Instant::now();
        self.admit(source, now)?;
        let presented = mac(&self.mac_key, password);
        let (ok, phc) = {
            let st = self.state.read().map_err(|_| internal("auth state poisoned"))?;
            (bool::from(presented.ct_eq(&st.accepted)), st.phc.clone())
        };
        if ok {
            return Ok(());
        }
        // A wrong-looking password takes a slot of its source's budget before it is checked,
        // so concurrent guesses cannot exceed the budget.
        {
            let mut map = self.sources();
            if map.len() >= MAX_SOURCES && !map.contains_key(source) {
                map.retain(|_, s| s.in_flight > 0 || s.blocked_until.is_some_and(|u| u > now));
                if map.len() >= MAX_SOURCES {
                    return Err(Refused { error: Self::locked_error(1), counted: false });
                }
            }
            let s = map.entry(source.to_string()).or_insert_with(|| Source::new(now));
            if s.failures + s.in_flight >= self.max_attempts || s.blocked_until.is_some_and(|u| u > now) {
                return Err(Refused { error: Self::locked_error(1), counted: false });
            }
            s.in_flight += 1;
        }
        let verified = self.argon_check(&phc, password).await;
        let mut map = self.sources();
        let now = Instant::now();
        let s = map.entry(source.to_string()).or_insert_with(|| Source::new(now));
        s.in_flight = s.in_flight.saturating_sub(1);
        match verified {
            Ok(true) => {
                // Only possible if the hash changed under us; adopt it.
                drop(map);
                self.state.write().map_err(|_| internal("auth state poisoned"))?.accepted = presented;
                Ok(())
            }
            Ok(false) => {
                s.failures += 1;
                s.last_failure = now;
                if s.failures >= self.max_attempts {
                    let len = self.block_length(s.strikes);
                    s.strikes += 1;
                    s.failures = 0;
                    s.blocked_until = Some(now + len);
                    return Err(Refused { error: Self::locked_error(len.as_secs().max(1)), counted: true });
                }
                Err(Refused { error: Error::new(ErrorCode::INVALID_MASTER_PASSWORD, "Invalid master password"), counted: true })
            }
            Err(e) => Err(Refused { error: e, counted: false }),
        }
    }

    async fn argon_check(&self, phc: &str, password: &str) -> Result<bool> {
        let _slot = self.argon_slot.acquire().await.map_err(|_| Error::internal("auth closed"))?;
        let (phc, pw) = (phc.to_string(), Zeroizing::new(password.to_string()));
        tokio::task::spawn_blocking(move || verify_hash(&phc, &pw)).await.map_err(Error::internal_from)?
    }

    /// [`MasterAuth::check`] with the error alone.
    pub async fn verify(&self, password: &str, source: &str) -> Result<()> {
        self.check(password, source).await.map_err(|r| r.error)
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
    let mut m = crate::mac::hmac_sha256(key);
    m.update(password.as_bytes());
    m.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<()>) -> ErrorCode {
        r.unwrap_err().code
    }

    #[tokio::test]
    async fn a_guessing_source_is_blocked_and_every_other_source_keeps_the_right_password() {
        let phc = hash_password("correct horse").unwrap();
        assert!(verify_hash(&phc, "correct horse").unwrap());
        let auth = MasterAuth::new(phc, "correct horse", 3, Duration::from_secs(32));
        auth.verify("correct horse", "10.0.0.1").await.unwrap();
        assert_eq!(code(auth.verify("wrong", "10.0.0.1").await), ErrorCode::INVALID_MASTER_PASSWORD);
        assert_eq!(code(auth.verify("wrong", "10.0.0.1").await), ErrorCode::INVALID_MASTER_PASSWORD);
        let r = auth.check("wrong", "10.0.0.1").await.unwrap_err();
        assert_eq!((r.error.code, r.counted), (ErrorCode::MASTER_PASSWORD_LOCKED, true));
        assert_eq!(r.error.details.unwrap()["retryAfter"], 2, "first block: lockout / 16");
        // The blocked source is refused without evaluation, even with the right password:
        // it cannot use the fast path to test guesses.
        let r = auth.check("correct horse", "10.0.0.1").await.unwrap_err();
        assert_eq!((r.error.code, r.counted), (ErrorCode::MASTER_PASSWORD_LOCKED, false));
        // Everyone else is unaffected.
        auth.verify("correct horse", "10.0.0.2").await.unwrap();
        auth.verify("correct horse", "unix").await.unwrap();
        assert_eq!(code(auth.verify("wrong", "10.0.0.2").await), ErrorCode::INVALID_MASTER_PASSWORD);
        // After the block the source works again; the next block is twice as long.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        auth.verify("correct horse", "10.0.0.1").await.unwrap();
        for _ in 0..2 {
            assert_eq!(code(auth.verify("wrong", "10.0.0.1").await), ErrorCode::INVALID_MASTER_PASSWORD);
        }
        let r = auth.check("wrong", "10.0.0.1").await.unwrap_err();
        assert_eq!(r.error.details.unwrap()["retryAfter"], 4);
    }

    #[tokio::test]
    async fn concurrent_guesses_cannot_exceed_the_budget() {
        let auth = MasterAuth::new(hash_password("correct horse").unwrap(), "correct horse", 3, Duration::from_secs(60));
        let tries: Vec<_> = (0..12)
            .map(|i| {
                let a = auth.clone();
                tokio::spawn(async move { a.check(&format!("guess-{i}"), "10.0.0.9").await })
            })
            .collect();
        let mut counted = 0;
        for t in tries {
            let r = t.await.unwrap().unwrap_err();
            counted += r.counted as u32;
        }
        assert_eq!(counted, 3, "only the budget was evaluated");
        assert_eq!(code(auth.verify("correct horse", "10.0.0.9").await), ErrorCode::MASTER_PASSWORD_LOCKED);
        auth.verify("correct horse", "10.0.0.10").await.unwrap();
    }

    #[tokio::test]
    async fn a_replaced_password_takes_effect() {
        let auth = MasterAuth::new(hash_password("old-pass").unwrap(), "old-pass", 5, Duration::from_secs(60));
        auth.replace(hash_password("new-pass").unwrap(), "new-pass").unwrap();
        auth.verify("new-pass", "s").await.unwrap();
        assert_eq!(code(auth.verify("old-pass", "s").await), ErrorCode::INVALID_MASTER_PASSWORD);
    }
}
