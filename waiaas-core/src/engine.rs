//! The engine: one open data dir (store + keystore + secrets) and the operations every
//! face calls. Wallet and session operations live in [`crate::wallets`] and
//! [`crate::sessions`] as further `impl Engine` blocks.

use crate::auth::master::{hash_password, verify_hash, MasterAuth};
use crate::auth::token::{Claims, JwtSecrets, StoredSecret, ROTATION_GRACE};
use crate::auth::token_hash;
use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use crate::keystore::Keystore;
use crate::store::sqlite::SqliteStore;
use crate::store::{AuditEntry, SessionRecord, Store, WalletRecord, WalletStatus};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub(crate) const KV_MASTER_HASH: &str = "master_password_hash";
pub(crate) const KV_JWT_CURRENT: &str = "jwt_secret_current";
pub(crate) const KV_JWT_PREVIOUS: &str = "jwt_secret_previous";

/// An authenticated agent session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionCtx {
    pub session_id: String,
    /// Linked wallets, default first.
    pub wallet_ids: Vec<String>,
    pub expires_at: i64,
    pub source: String,
}

/// Who is calling an operation.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// The operator (master password verified).
    Master,
    /// An agent, limited to its session's wallets.
    Session(&'a SessionCtx),
}

/// `GET /health`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HealthResponse))]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    pub latest_version: Option<String>,
    pub update_available: bool,
    pub schema_version: i64,
    pub uptime: u64,
    pub timestamp: i64,
}

pub(crate) struct Inner {
    pub data_dir: PathBuf,
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub keystore: Keystore,
    /// The master password, needed to open keys in the signing step.
    pub password: RwLock<Zeroizing<String>>,
    pub master: Arc<MasterAuth>,
    /// Replaced whole on rotation; readers share it without copying the secrets.
    pub jwt: RwLock<Arc<JwtSecrets>>,
    pub started: Instant,
    pub schema_version: i64,
    /// Master password changes hold it exclusively; everything that encrypts with the
    /// current password (wallet creation, backups) holds it shared from reading the password
    /// until its file is written, so no key can be written under a password being replaced.
    pub rekey: tokio::sync::RwLock<()>,
    /// Chain adapters by network id.
    pub adapters: std::sync::Mutex<std::collections::HashMap<String, Arc<dyn crate::chain::ChainAdapter>>>,
    /// Nonce owners: one lock per (wallet, network).
    pub nonce_locks: std::sync::Mutex<NonceLocks>,
    /// Transactions a pipeline runner is driving in this process.
    pub running: std::sync::Mutex<std::collections::HashSet<String>>,
    /// USD prices for the policy engine.
    pub oracles: crate::price::OracleChain,
    /// The kill switch is engaged (cached from the store).
    pub kill_switch: std::sync::atomic::AtomicBool,
    /// Last request time of each session (AutoStop idle rule).
    pub session_seen: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    /// The address the daemon face bound (see [`Engine::owner_domain`]).
    pub listen_addr: std::sync::OnceLock<std::net::SocketAddr>,
}

/// The nonce owner of each (wallet, network): held from nonce assignment to broadcast.
pub(crate) type NonceLocks = std::collections::HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

/// A handle to an open WAIaaS data dir. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl Engine {
    /// Open `data_dir` with the SQLite store, checking `password` against the stored master
    /// hash (or, on first start, against existing key files) and recording it.
    pub async fn open(data_dir: &Path, config: Config, password: &str) -> Result<Engine> {
        std::fs::create_dir_all(data_dir)?;
        let db_path = data_dir.join(&config.database.path);
        let store = tokio::task::spawn_blocking(move || SqliteStore::open(&db_path))
            .await
            .map_err(|e| Error::internal(e.to_string()))??;
        Engine::open_with_store(data_dir, config, password, Arc::new(store)).await
    }

    /// Open with any [`Store`] implementation.
    pub async fn open_with_store(data_dir: &Path, config: Config, password: &str, store: Arc<dyn Store>) -> Result<Engine> {
        if password.is_empty() {
            return Err(Error::new(ErrorCode::INVALID_MASTER_PASSWORD, "The master password must not be empty"));
        }
        let keystore = Keystore::new(data_dir.join("keystore"))?;
        let now = crate::now();
        let phc = match store.kv_get(KV_MASTER_HASH).await? {
            Some(phc) => {
                let (p, pw) = (phc.clone(), Zeroizing::new(password.to_string()));
                let ok = tokio::task::spawn_blocking(move || verify_hash(&p, &pw)).await.map_err(|e| Error::internal(e.to_string()))??;
                if !ok {
                    return Err(Error::new(ErrorCode::INVALID_MASTER_PASSWORD, "Invalid master password"));
                }
                phc
            }
            None => {
                // First start on this store: existing key files (a migrated data dir) must open.
                if let Some(first) = keystore.wallet_ids()?.first() {
                    let (ks, id, pw) = (keystore.clone(), first.clone(), Zeroizing::new(password.to_string()));
                    tokio::task::spawn_blocking(move || ks.verify(&id, pw.as_bytes())).await.map_err(|e| Error::internal(e.to_string()))??;
                }
                let pw = Zeroizing::new(password.to_string());
                let phc = tokio::task::spawn_blocking(move || hash_password(&pw)).await.map_err(|e| Error::internal(e.to_string()))??;
                if !store.kv_cas(KV_MASTER_HASH, None, &phc, now).await? {
                    return Err(Error::internal("master password hash was set concurrently; restart the daemon"));
                }
                phc
            }
        };
        {
            let (ks, pw) = (keystore.clone(), Zeroizing::new(password.to_string()));
            tokio::task::spawn_blocking(move || ks.recover_rekey(pw.as_bytes())).await.map_err(|e| Error::internal(e.to_string()))??;
        }
        let jwt = load_jwt(store.as_ref(), now).await?;
        // Settings changed through PUT /v1/admin/settings win over config.toml and the environment.
        let config = crate::settings::apply_stored(store.as_ref(), config).await?;
        let master = MasterAuth::new(
            phc,
            password,
            config.security.master_password_max_attempts,
            Duration::from_secs(config.security.master_password_lockout_seconds),
        );
        let schema_version = store.schema_version().await?;
        let oracles = crate::price::OracleChain::from_config(&config);
        let engine = Engine {
            inner: Arc::new(Inner {
                data_dir: data_dir.to_path_buf(),
                config,
                store,
                keystore,
                password: RwLock::new(Zeroizing::new(password.to_string())),
                master,
                jwt: RwLock::new(Arc::new(jwt)),
                started: Instant::now(),
                schema_version,
                rekey: tokio::sync::RwLock::new(()),
                adapters: Default::default(),
                nonce_locks: Default::default(),
                running: Default::default(),
                oracles,
                kill_switch: Default::default(),
                session_seen: Default::default(),
                listen_addr: Default::default(),
            }),
        };
        engine.load_kill_switch().await?;
        engine.init_notify_cursor().await?;
        // The owner nonce key exists from the start: issuing a nonce never writes the store.
        engine.nonce_key().await?;
        Ok(engine)
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Tell the engine the address its daemon bound (once), for [`Engine::owner_domain`].
    pub fn set_listen_addr(&self, addr: std::net::SocketAddr) {
        let _ = self.inner.listen_addr.set(addr);
    }

    /// The one domain owner messages must name: the authority of `daemon.public_url` when
    /// set, else the address the daemon listens on (`0.0.0.0`/`::` read as `127.0.0.1`), else
    /// `daemon.hostname:port` of the configuration. Never the request's `Host` header, which
    /// any client chooses.
    pub fn owner_domain(&self) -> String {
        let d = &self.inner.config.daemon;
        if let Some(authority) = public_authority(&d.public_url) {
            return authority;
        }
        match self.inner.listen_addr.get() {
            Some(a) if a.ip().is_unspecified() => format!("127.0.0.1:{}", a.port()),
            Some(a) => a.to_string(),
            None => format!("{}:{}", d.hostname, d.port),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn health(&self) -> Health {
        Health {
            status: "ok",
            version: crate::VERSION,
            latest_version: None,
            update_available: false,
            schema_version: self.inner.schema_version,
            uptime: self.inner.started.elapsed().as_secs(),
            timestamp: crate::now(),
        }
    }

    /// masterAuth, throttled per source (`ip`, the client address as the rate limiter
    /// determines it). A counted wrong password is written to the audit log with the
    /// caller's address; refusals of a blocked source are not (they evaluate nothing).
    pub async fn verify_master(&self, password: &str, ip: Option<&str>) -> Result<()> {
        match self.inner.master.check(password, ip.unwrap_or("unknown")).await {
            Ok(()) => Ok(()),
            Err(r) => {
                if r.counted {
                    let details = serde_json::json!({ "code": r.error.code.as_str() });
                    self.audit("MASTER_AUTH_FAILED", "unknown", None, None, Some(details), "critical", ip).await;
                }
                Err(r.error)
            }
        }
    }

    /// sessionAuth: the token's signature and expiry, then the store: the session must
    /// exist, be unrevoked and unexpired, and the token must be the one it holds now.
    pub async fn authenticate(&self, token: &str) -> Result<SessionCtx> {
        let now = crate::now();
        let claims = self.jwt()?.verify(token, now)?;
        let s = self
            .inner
            .store
            .get_session(&claims.sub)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::SESSION_NOT_FOUND, "Session not found"))?;
        check_session_live(&s, now)?;
        if !bool::from(token_hash(token).as_bytes().ct_eq(s.token_hash.as_bytes())) {
            return Err(Error::new(ErrorCode::INVALID_TOKEN, "This token was replaced by a newer one (renewed or rotated)"));
        }
        self.inner.session_seen.lock().unwrap_or_else(|e| e.into_inner()).insert(s.id.clone(), now);
        Ok(SessionCtx { session_id: s.id, wallet_ids: s.wallet_ids, expires_at: s.expires_at, source: s.source })
    }

    pub(crate) fn jwt(&self) -> Result<Arc<JwtSecrets>> {
        Ok(self.inner.jwt.read().map_err(|_| Error::internal("jwt lock poisoned"))?.clone())
    }

    pub(crate) fn issue_token(&self, session_id: &str, iat: i64, exp: i64) -> Result<String> {
        let mut jti = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut jti);
        Ok(self.jwt()?.issue(&Claims { sub: session_id.into(), iat, exp: (exp > 0).then_some(exp), jti: Some(hex::encode(jti)), session_id: Some(session_id.into()) }))
    }

    /// `POST /v1/admin/rotate-secret`: the previous secret keeps working for 5 minutes.
    pub async fn rotate_jwt_secret(&self) -> Result<i64> {
        let now = crate::now();
        let store = &self.inner.store;
        let current_raw = store.kv_get(KV_JWT_CURRENT).await?.ok_or_else(|| Error::internal("no JWT secret"))?;
        let current: StoredSecret = serde_json::from_str(&current_raw).map_err(|e| Error::internal(e.to_string()))?;
        if now - current.created_at < ROTATION_GRACE {
            return Err(Error::new(ErrorCode::ROTATION_TOO_RECENT, "The JWT secret was rotated less than 5 minutes ago"));
        }
        let fresh = StoredSecret::generate(now);
        let fresh_raw = serde_json::to_string(&fresh).map_err(|e| Error::internal(e.to_string()))?;
        if !store.kv_cas(KV_JWT_CURRENT, Some(&current_raw), &fresh_raw, now).await? {
            return Err(Error::new(ErrorCode::ROTATION_TOO_RECENT, "The JWT secret was rotated concurrently"));
        }
        store.kv_set(KV_JWT_PREVIOUS, &current_raw, now).await?;
        *self.inner.jwt.write().map_err(|_| Error::internal("jwt lock poisoned"))? = Arc::new(JwtSecrets::new(&fresh, Some(&current))?);
        Ok(now)
    }

    /// Change the master password: every key file is re-encrypted next to the old one,
    /// the new hash is committed, then the new files replace the old ones. A crash at any
    /// point leaves every key openable with the password the store holds. Wallet creations
    /// and backups wait for it (and it for them); refused while the kill switch is LOCKED.
    pub async fn change_master_password(&self, new_password: &str) -> Result<usize> {
        if new_password.chars().count() < 8 {
            return Err(Error::validation("newPassword", "must be at least 8 characters"));
        }
        let _guard = self.inner.rekey.write().await;
        self.ensure_not_escalated("changing the master password").await?;
        let old = self.inner.password.read().map_err(|_| Error::internal("lock"))?.clone();
        let new = Zeroizing::new(new_password.to_string());
        let ks = self.inner.keystore.clone();
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
        .map_err(|e| Error::internal(e.to_string()))?;
        let (count, phc) = staged?;
        let current = self.inner.store.kv_get(KV_MASTER_HASH).await?.ok_or_else(|| Error::internal("no master hash"))?;
        if !self.inner.store.kv_cas(KV_MASTER_HASH, Some(&current), &phc, crate::now()).await? {
            let _ = self.inner.keystore.abort_rekey();
            return Err(Error::internal("master password hash changed concurrently"));
        }
        self.inner.keystore.commit_rekey()?;
        self.inner.master.replace(phc, &new)?;
        *self.inner.password.write().map_err(|_| Error::internal("lock"))? = new;
        Ok(count)
    }

    /// Append to the audit log; a failing audit write is logged, never fatal to the caller.
    #[allow(clippy::too_many_arguments)] // one audit row's columns
    pub(crate) async fn audit(
        &self,
        event_type: &str,
        actor: &str,
        wallet_id: Option<&str>,
        session_id: Option<&str>,
        details: Option<serde_json::Value>,
        severity: &str,
        ip: Option<&str>,
    ) {
        let e = AuditEntry {
            id: 0,
            timestamp: crate::now(),
            event_type: event_type.into(),
            actor: actor.into(),
            wallet_id: wallet_id.map(Into::into),
            session_id: session_id.map(Into::into),
            tx_id: None,
            details: details.map(|d| d.to_string()),
            severity: severity.into(),
            ip_address: ip.map(Into::into),
        };
        self.append_audit(e).await
    }

    /// Audit an action on one transaction.
    pub(crate) async fn audit_tx(&self, event_type: &str, actor: &str, wallet_id: &str, tx_id: &str, details: Option<serde_json::Value>, severity: &str) {
        let e = AuditEntry {
            id: 0,
            timestamp: crate::now(),
            event_type: event_type.into(),
            actor: actor.into(),
            wallet_id: Some(wallet_id.into()),
            tx_id: Some(tx_id.into()),
            details: details.map(|d| d.to_string()),
            severity: severity.into(),
            ..Default::default()
        };
        self.append_audit(e).await
    }

    async fn append_audit(&self, e: AuditEntry) {
        if let Err(err) = self.inner.store.append_audit(&e).await {
            tracing::error!(event_type = %e.event_type, error = %err, "audit write failed");
        }
    }
}

pub(crate) fn wallet_not_found(id: &str) -> Error {
    Error::new(ErrorCode::WALLET_NOT_FOUND, format!("Wallet '{id}' not found"))
}

/// A SUSPENDED or TERMINATED wallet never signs.
/// `host[:port]` of a `scheme://host[:port][/path]` URL (`None` when empty or malformed).
pub(crate) fn public_authority(url: &str) -> Option<String> {
    let rest = url.trim().split_once("://").map(|(_, r)| r)?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty() && !authority.contains('@')).then(|| authority.to_ascii_lowercase())
}

pub(crate) fn ensure_can_sign(w: &WalletRecord) -> Result<()> {
    match w.status {
        WalletStatus::Active => Ok(()),
        WalletStatus::Suspended => Err(Error::new(
            ErrorCode::WALLET_SUSPENDED,
            format!("Wallet '{}' is suspended ({})", w.id, w.suspension_reason.as_deref().unwrap_or("no reason")),
        )),
        WalletStatus::Terminated => Err(Error::new(ErrorCode::WALLET_TERMINATED, format!("Wallet '{}' is terminated", w.id))),
    }
}

pub(crate) fn check_session_live(s: &SessionRecord, now: i64) -> Result<()> {
    if s.revoked_at.is_some() {
        return Err(Error::new(ErrorCode::SESSION_REVOKED, "Session has been revoked"));
    }
    if s.expires_at > 0 && now >= s.expires_at {
        return Err(Error::new(ErrorCode::TOKEN_EXPIRED, "Session expired"));
    }
    if s.absolute_expires_at > 0 && now >= s.absolute_expires_at {
        return Err(Error::new(ErrorCode::SESSION_ABSOLUTE_LIFETIME_EXCEEDED, "Session passed its absolute lifetime"));
    }
    Ok(())
}

async fn load_jwt(store: &dyn Store, now: i64) -> Result<JwtSecrets> {
    let parse = |s: &str| serde_json::from_str::<StoredSecret>(s).map_err(|e| Error::internal(format!("stored JWT secret: {e}")));
    let current = match store.kv_get(KV_JWT_CURRENT).await? {
        Some(raw) => parse(&raw)?,
        None => {
            let fresh = StoredSecret::generate(now);
            let raw = serde_json::to_string(&fresh).map_err(|e| Error::internal(e.to_string()))?;
            if store.kv_cas(KV_JWT_CURRENT, None, &raw, now).await? {
                fresh
            } else {
                parse(&store.kv_get(KV_JWT_CURRENT).await?.ok_or_else(|| Error::internal("JWT secret vanished"))?)?
            }
        }
    };
    let previous = store.kv_get(KV_JWT_PREVIOUS).await?.map(|r| parse(&r)).transpose()?;
    JwtSecrets::new(&current, previous.as_ref())
}
