//! Admin web sessions: the admin UI exchanges the master password once for a random
//! session token (an HttpOnly, `SameSite=Strict` cookie the face sets) and a CSRF token the
//! page holds in memory. The password is never kept by the page. A session ends on logout,
//! after `daemon.admin_timeout` seconds without a request, when the master password changes,
//! or when more than [`MAX_SESSIONS`] are open (the least recently used goes).
//!
//! Only a hash of each token is held, so a memory dump does not yield a usable cookie;
//! the CSRF token is compared in constant time.

use crate::error::{Error, ErrorCode, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Open admin web sessions at most (a login beyond this ends the least recently used one).
pub const MAX_SESSIONS: usize = 32;

/// The name of the admin session cookie.
pub const COOKIE: &str = "waiaas_admin";

struct Entry {
    csrf: Zeroizing<String>,
    last_seen: i64,
}

/// A new admin web session: the cookie's token and the page's CSRF token.
pub struct WebLogin {
    pub token: Zeroizing<String>,
    pub csrf: String,
}

/// The open admin web sessions, by token hash.
pub struct AdminWeb {
    timeout: i64,
    sessions: Mutex<HashMap<[u8; 32], Entry>>,
}

fn random_hex(prefix: &str) -> String {
    let mut b = Zeroizing::new([0u8; 32]);
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, b.as_mut());
    format!("{prefix}{}", hex::encode(b.as_ref()))
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn expired() -> Error {
    Error::new(ErrorCode::ADMIN_SESSION_EXPIRED, "The admin session has ended (logged out or idle too long): log in again")
}

impl AdminWeb {
    /// Sessions idle for more than `timeout_secs` end.
    pub fn new(timeout_secs: u64) -> AdminWeb {
        AdminWeb { timeout: i64::try_from(timeout_secs).unwrap_or(i64::MAX), sessions: Mutex::new(HashMap::new()) }
    }

    /// Seconds of inactivity after which a session ends.
    pub fn timeout(&self) -> i64 {
        self.timeout
    }

    /// Open a session (the master password was verified by the caller).
    pub fn open(&self, now: i64) -> WebLogin {
        let token = Zeroizing::new(random_hex("wai_admin_"));
        let csrf = random_hex("");
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        s.retain(|_, e| now - e.last_seen <= self.timeout);
        while s.len() >= MAX_SESSIONS {
            let Some(oldest) = s.iter().min_by_key(|(_, e)| e.last_seen).map(|(k, _)| *k) else { break };
            s.remove(&oldest);
        }
        s.insert(key(&token), Entry { csrf: Zeroizing::new(csrf.clone()), last_seen: now });
        WebLogin { token, csrf }
    }

    /// Check a request carrying the session cookie `token`. A state-changing request
    /// (`mutating`) must also carry the session's CSRF token. Refreshes the idle timer and
    /// answers the session's CSRF token.
    pub fn check(&self, token: &str, csrf: Option<&str>, mutating: bool, now: i64) -> Result<String> {
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let k = key(token);
        let Some(e) = s.get_mut(&k) else { return Err(expired()) };
        if now - e.last_seen > self.timeout {
            s.remove(&k);
            return Err(expired());
        }
        if mutating {
            let ok = csrf.is_some_and(|c| bool::from(c.as_bytes().ct_eq(e.csrf.as_bytes())));
            if !ok {
                return Err(Error::new(
                    ErrorCode::CSRF_TOKEN_INVALID,
                    "Missing or wrong X-CSRF-Token: state-changing admin requests need the token the login answered",
                ));
            }
        }
        e.last_seen = now;
        Ok(e.csrf.to_string())
    }

    /// End the session of `token` (no error when there is none).
    pub fn close(&self, token: &str) {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).remove(&key(token));
    }

    /// End every session (the master password changed).
    pub fn close_all(&self) {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_needs_its_csrf_token_to_change_anything_and_ends_when_idle() {
        let web = AdminWeb::new(900);
        let l = web.open(1000);
        assert!(l.token.starts_with("wai_admin_"));
        assert_eq!(web.check(&l.token, None, false, 1001).unwrap(), l.csrf);
        assert_eq!(web.check(&l.token, None, true, 1002).unwrap_err().code, ErrorCode::CSRF_TOKEN_INVALID);
        assert_eq!(web.check(&l.token, Some("00"), true, 1003).unwrap_err().code, ErrorCode::CSRF_TOKEN_INVALID);
        web.check(&l.token, Some(&l.csrf), true, 1004).unwrap();
        // Activity moves the idle deadline; silence past it ends the session for good.
        web.check(&l.token, None, false, 1004 + 900).unwrap();
        assert!(web.check(&l.token, None, false, 1004 + 1801).is_err());
        assert!(web.check(&l.token, None, false, 1004 + 1802).is_err());
        assert!(web.check("wai_admin_00", None, false, 1000).is_err());
    }

    #[test]
    fn logout_ends_one_session_and_a_password_change_ends_all() {
        let web = AdminWeb::new(900);
        let (a, b) = (web.open(0), web.open(0));
        web.close(&a.token);
        assert!(web.check(&a.token, None, false, 1).is_err());
        web.check(&b.token, None, false, 1).unwrap();
        web.close_all();
        assert!(web.check(&b.token, None, false, 2).is_err());
    }

    #[test]
    fn beyond_the_cap_the_least_recently_used_session_ends() {
        let web = AdminWeb::new(900);
        let first = web.open(0);
        let rest: Vec<WebLogin> = (0..MAX_SESSIONS).map(|i| web.open(1 + i as i64)).collect();
        assert!(web.check(&first.token, None, false, 100).is_err());
        web.check(&rest[0].token, None, false, 100).unwrap();
    }
}
