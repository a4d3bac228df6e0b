//! Admin web sessions: the admin UI exchanges the master password once for a random
//! session token (an HttpOnly, `SameSite=Strict` cookie the face sets) and a CSRF token the
//! page holds in memory. The password is never kept by the page. A session ends on logout,
//! after `daemon.admin_timeout` seconds without a request, when the master password changes,
//! or when more than [`MAX_SESSIONS`] are open (the least recently used goes).
//!
//! Sessions live in the store (one key/value row), so every daemon on a shared database
//! (replicas behind a load balancer) knows every session and a restart keeps them. The row
//! holds only the SHA-256 of each token and its last-seen time: reading the database yields
//! no usable cookie. The CSRF token is derived from the cookie's token (a hash under its own
//! label), so it is stored nowhere and only the cookie's holder can know it; it is compared
//! in constant time.

use crate::error::{Error, ErrorCode, Result};
use crate::store::KvStore;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Open admin web sessions at most (a login beyond this ends the least recently used one).
pub const MAX_SESSIONS: usize = 32;

/// The name of the admin session cookie.
pub const COOKIE: &str = "waiaas_admin";

/// The key/value row of the open sessions: `{sha256(token) hex: last seen (unix s)}`.
pub(crate) const KV_ADMIN_SESSIONS: &str = "admin_web_sessions";

/// A session's last-seen time is written at most this often (seconds): the idle timeout is
/// exact to within it.
const TOUCH_EVERY: i64 = 5;

/// A new admin web session: the cookie's token and the page's CSRF token.
pub struct WebLogin {
    pub token: Zeroizing<String>,
    pub csrf: String,
}

/// The admin web sessions, in the store.
pub struct AdminWeb {
    timeout: i64,
    kv: Arc<dyn KvStore>,
}

type Sessions = BTreeMap<String, i64>;

fn key(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token of the session whose cookie holds `token`.
fn csrf_of(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"waiaas admin csrf\0");
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

fn expired() -> Error {
    Error::new(ErrorCode::ADMIN_SESSION_EXPIRED, "The admin session has ended (logged out or idle too long): log in again")
}

impl AdminWeb {
    /// Sessions idle for more than `timeout_secs` end.
    pub fn new(timeout_secs: u64, kv: Arc<dyn KvStore>) -> AdminWeb {
        AdminWeb { timeout: i64::try_from(timeout_secs).unwrap_or(i64::MAX), kv }
    }

    async fn read(&self) -> Result<(Option<String>, Sessions)> {
        let raw = self.kv.kv_get(KV_ADMIN_SESSIONS).await?;
        let sessions = raw.as_deref().and_then(|r| serde_json::from_str(r).ok()).unwrap_or_default();
        Ok((raw, sessions))
    }

    /// Apply `change` to the sessions row (compare-and-swap, retried when another request
    /// or daemon wrote it in between).
    async fn update<T>(&self, now: i64, change: impl Fn(&mut Sessions) -> T) -> Result<T> {
        for _ in 0..20 {
            let (raw, mut sessions) = self.read().await?;
            let out = change(&mut sessions);
            let next = serde_json::to_string(&sessions).map_err(Error::internal_from)?;
            if self.kv.kv_cas(KV_ADMIN_SESSIONS, raw.as_deref(), &next, now).await? {
                return Ok(out);
            }
        }
        Err(Error::internal("admin sessions: too many concurrent changes"))
    }

    /// Open a session (the master password was verified by the caller).
    pub async fn open(&self, now: i64) -> Result<WebLogin> {
        let mut b = Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, b.as_mut());
        let token = Zeroizing::new(format!("wai_admin_{}", hex::encode(b.as_ref())));
        let k = key(&token);
        let timeout = self.timeout;
        self.update(now, |s| {
            s.retain(|_, last| now - *last <= timeout);
            while s.len() >= MAX_SESSIONS {
                let Some(oldest) = s.iter().min_by_key(|(_, last)| **last).map(|(k, _)| k.clone()) else { break };
                s.remove(&oldest);
            }
            s.insert(k.clone(), now);
        })
        .await?;
        Ok(WebLogin { csrf: csrf_of(&token), token })
    }

    /// Check a request carrying the session cookie `token`. A state-changing request
    /// (`mutating`) must also carry the session's CSRF token. Refreshes the idle timer and
    /// answers the session's CSRF token.
    pub async fn check(&self, token: &str, csrf: Option<&str>, mutating: bool, now: i64) -> Result<String> {
        let k = key(token);
        let (_, sessions) = self.read().await?;
        let Some(last) = sessions.get(&k).copied() else { return Err(expired()) };
        if now - last > self.timeout {
            self.update(now, |s| s.remove(&k)).await?;
            return Err(expired());
        }
        let expected = csrf_of(token);
        if mutating && !csrf.is_some_and(|c| bool::from(c.as_bytes().ct_eq(expected.as_bytes()))) {
            return Err(Error::new(
                ErrorCode::CSRF_TOKEN_INVALID,
                "Missing or wrong X-CSRF-Token: state-changing admin requests need the token the login answered",
            ));
        }
        if now - last >= TOUCH_EVERY {
            // Unless it ended in between (a logout racing this request).
            self.update(now, |s| {
                if let Some(l) = s.get_mut(&k) {
                    *l = (*l).max(now);
                }
            })
            .await?;
        }
        Ok(expected)
    }

    /// End the session of `token` (no error when there is none).
    pub async fn close(&self, token: &str, now: i64) -> Result<()> {
        let k = key(token);
        self.update(now, |s| s.remove(&k)).await.map(|_| ())
    }

    /// End every session (the master password changed).
    pub async fn close_all(&self, now: i64) -> Result<()> {
        self.kv.kv_set(KV_ADMIN_SESSIONS, "{}", now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    fn web(dir: &tempfile::TempDir) -> (AdminWeb, Arc<dyn KvStore>) {
        let kv: Arc<dyn KvStore> = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
        (AdminWeb::new(900, kv.clone()), kv)
    }

    #[tokio::test]
    async fn a_session_needs_its_csrf_token_to_change_anything_and_ends_when_idle() {
        let dir = tempfile::tempdir().unwrap();
        let (web, _) = web(&dir);
        let l = web.open(1000).await.unwrap();
        assert!(l.token.starts_with("wai_admin_"));
        assert_eq!(web.check(&l.token, None, false, 1001).await.unwrap(), l.csrf);
        assert_eq!(web.check(&l.token, None, true, 1002).await.unwrap_err().code, ErrorCode::CSRF_TOKEN_INVALID);
        assert_eq!(web.check(&l.token, Some("00"), true, 1003).await.unwrap_err().code, ErrorCode::CSRF_TOKEN_INVALID);
        web.check(&l.token, Some(&l.csrf), true, 1010).await.unwrap();
        // Activity moves the idle deadline; silence past it ends the session for good.
        web.check(&l.token, None, false, 1010 + 900).await.unwrap();
        assert_eq!(web.check(&l.token, None, false, 1910 + 901).await.unwrap_err().code, ErrorCode::ADMIN_SESSION_EXPIRED);
        assert!(web.check(&l.token, None, false, 1910 + 902).await.is_err());
        assert!(web.check("wai_admin_00", None, false, 1000).await.is_err());
    }

    #[tokio::test]
    async fn the_store_holds_no_usable_token_and_another_daemon_on_it_knows_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let (web, kv) = web(&dir);
        let l = web.open(0).await.unwrap();
        let row = kv.kv_get(KV_ADMIN_SESSIONS).await.unwrap().unwrap();
        assert!(!row.contains(l.token.as_str()) && !row.contains(&l.csrf), "{row}");
        // A second daemon (replica) on the same store.
        let other = AdminWeb::new(900, kv.clone());
        assert_eq!(other.check(&l.token, Some(&l.csrf), true, 1).await.unwrap(), l.csrf);
        other.close(&l.token, 2).await.unwrap();
        assert!(web.check(&l.token, None, false, 3).await.is_err(), "a logout on one daemon holds on the other");
    }

    #[tokio::test]
    async fn logout_ends_one_session_and_a_password_change_ends_all() {
        let dir = tempfile::tempdir().unwrap();
        let (web, _) = web(&dir);
        let (a, b) = (web.open(0).await.unwrap(), web.open(0).await.unwrap());
        web.close(&a.token, 1).await.unwrap();
        assert!(web.check(&a.token, None, false, 1).await.is_err());
        web.check(&b.token, None, false, 1).await.unwrap();
        web.close_all(2).await.unwrap();
        assert!(web.check(&b.token, None, false, 2).await.is_err());
    }

    #[tokio::test]
    async fn beyond_the_cap_the_least_recently_used_session_ends() {
        let dir = tempfile::tempdir().unwrap();
        let (web, _) = web(&dir);
        let first = web.open(0).await.unwrap();
        let mut rest = vec![];
        for i in 0..MAX_SESSIONS {
            rest.push(web.open(1 + i as i64).await.unwrap());
        }
        assert!(web.check(&first.token, None, false, 100).await.is_err());
        web.check(&rest[0].token, None, false, 100).await.unwrap();
    }
}
