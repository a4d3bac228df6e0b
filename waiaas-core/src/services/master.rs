//! The operator's master password: masterAuth (verified once, then a keyed MAC in memory,
//! throttled per source; see [`crate::auth::master`]) and changing the password, which
//! re-encrypts every key file.
//!
//! [`Master`] is the service: the verifier, the key/value row of the stored hash, the signer
//! (key files, the password, the rekey lock), the kill switch (a LOCKED switch freezes the
//! password), the audit log and the clock.

use crate::auth::admin_web::{AdminWeb, WebLogin};
use crate::auth::master::{hash_password, MasterAuth};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::services::audit::Audit;
use crate::services::killswitch::KillSwitch;
use crate::services::signer::Signer;
use crate::store::KvStore;
use std::sync::Arc;
use zeroize::Zeroizing;

/// The key/value row of the master password's Argon2id PHC hash.
pub(crate) const KV_MASTER_HASH: &str = "master_password_hash";

/// The master password service.
pub struct Master {
    auth: Arc<MasterAuth>,
    kv: Arc<dyn KvStore>,
    signer: Arc<Signer>,
    kill_switch: Arc<KillSwitch>,
    audit: Arc<Audit>,
    clock: Arc<dyn Clock>,
    /// Admin UI sessions (a cookie instead of the password on every request).
    web: AdminWeb,
}

impl Master {
    pub fn new(
        auth: Arc<MasterAuth>,
        kv: Arc<dyn KvStore>,
        signer: Arc<Signer>,
        kill_switch: Arc<KillSwitch>,
        audit: Arc<Audit>,
        clock: Arc<dyn Clock>,
        admin_timeout: u64,
    ) -> Master {
        let web = AdminWeb::new(admin_timeout, kv.clone());
        Master { auth, kv, signer, kill_switch, audit, clock, web }
    }

    /// Admin UI login: the password is verified like masterAuth (same throttle and lockout),
    /// then exchanged for a session (see [`AdminWeb`]).
    pub async fn web_login(&self, password: &str, ip: Option<&str>) -> Result<WebLogin> {
        self.verify(password, ip).await?;
        self.audit.record("ADMIN_LOGIN", "master", None, None, None, "info", ip).await;
        self.web.open(self.clock.now()).await
    }

    /// masterAuth by admin session cookie; `mutating` requests need the CSRF token too.
    /// Answers the session's CSRF token.
    pub async fn web_check(&self, token: &str, csrf: Option<&str>, mutating: bool) -> Result<String> {
        self.web.check(token, csrf, mutating, self.clock.now()).await
    }

    /// Admin UI logout.
    pub async fn web_logout(&self, token: &str) -> Result<()> {
        self.web.close(token, self.clock.now()).await
    }

    /// masterAuth, throttled per source (`ip`, the client address as the rate limiter
    /// determines it). A counted wrong password is written to the audit log with the
    /// caller's address; refusals of a blocked source are not (they evaluate nothing).
    pub async fn verify(&self, password: &str, ip: Option<&str>) -> Result<()> {
        match self.auth.check(password, ip.unwrap_or("unknown")).await {
            Ok(()) => Ok(()),
            Err(r) => {
                if r.counted {
                    let details = serde_json::json!({ "code": r.error.code.as_str() });
                    self.audit.record("MASTER_AUTH_FAILED", "unknown", None, None, Some(details), "critical", ip).await;
                }
                Err(r.error)
            }
        }
    }

    /// The stored hash is no longer the one this daemon holds: another daemon on the same
    /// store changed the master password (and re-encrypted the shared key files).
    pub async fn changed_elsewhere(&self) -> Result<bool> {
        // Not while this daemon changes it (the hash is stored before it is adopted).
        let _change = self.signer.rekey_lock().read().await;
        Ok(self.kv.kv_get(KV_MASTER_HASH).await?.is_some_and(|stored| stored != self.auth.phc()))
    }

    /// Change the master password: every key file is re-encrypted next to the old one,
    /// the new hash is committed, then the new files replace the old ones. A crash at any
    /// point leaves every key openable with the password the store holds. Wallet creations
    /// and backups wait for it (and it for them); refused while the kill switch is LOCKED.
    pub async fn change_password(&self, new_password: &str) -> Result<usize> {
        if new_password.chars().count() < 8 {
            return Err(Error::validation("newPassword", "must be at least 8 characters"));
        }
        let _guard = self.signer.rekey_lock().write().await;
        self.kill_switch.ensure_not_escalated("changing the master password").await?;
        let old = self.signer.password()?;
        let new = Zeroizing::new(new_password.to_string());
        let ks = self.signer.keystore().clone();
        let (o, n) = (old.clone(), new.clone());
        let staged = tokio::task::spawn_blocking(move || -> Result<(usize, String)> {
            match ks.stage_rekey(o.as_bytes(), n.as_bytes()) {
                Ok(count) => Ok((count, hash_password(&n)?)),
                Err(e) => {
                    let _ = ks.abort_rekey();
                    Err(e)
                }
            }
        })
        .await
        .map_err(Error::internal_from)?;
        let (count, phc) = staged?;
        let current = self.kv.kv_get(KV_MASTER_HASH).await?.ok_or_else(|| Error::internal("no master hash"))?;
        if !self.kv.kv_cas(KV_MASTER_HASH, Some(&current), &phc, self.clock.now()).await? {
            let _ = self.signer.keystore().abort_rekey();
            return Err(Error::internal("master password hash changed concurrently"));
        }
        self.signer.keystore().commit_rekey()?;
        self.auth.replace(phc, &new)?;
        self.signer.set_password(new)?;
        self.web.close_all(self.clock.now()).await?;
        Ok(count)
    }
}
