//! The engine: one open data dir (store + keystore + secrets) and the operations every
//! face calls: the facade over the services (`services`), to which it delegates. The parts
//! not yet made services (wallets, sessions, policies, transactions, ...) are further
//! `impl Engine` blocks in their own modules.

use crate::auth::master::{hash_password, verify_hash, MasterAuth};
use crate::auth::owner::{OwnerAction, OwnerProof};
use crate::config::Config;
pub(crate) use crate::error::wallet_not_found;
use crate::error::{Error, ErrorCode, Result};
use crate::policy::{Intent, PolicyRecord};
use crate::services::audit::Audit;
use crate::services::autostop::AutoStop;
use crate::services::backup::{BackupInfo, BackupList, Backups};
use crate::services::chains::Chains;
use crate::services::killswitch::{KillSwitch, KillSwitchStatus};
use crate::services::master::{Master, KV_MASTER_HASH};
use crate::services::notify::webhook::{CreateWebhook, WebhookView};
use crate::services::notify::{AuditPage, AuditQuery, Notifier};
use crate::services::owners::{NonceResponse, Owners};
use crate::services::policies::{CreatePolicy, Policies, PolicyDeleted, PolicyPage, UpdatePolicy};
use crate::services::sessions::{
    CreateSession, SessionCreated, SessionPage, SessionRenewed, SessionRevoked, SessionRotated, SessionView, SessionWallets, Sessions, WalletLinked,
};
use crate::services::settings::Settings;
pub(crate) use crate::services::signer::ensure_can_sign;
use crate::services::signer::keystore::Keystore;
use crate::services::signer::{Signer, SigningPermit};
use crate::services::tokens::{AddToken, TokenAdded, TokenList, TokenRemoved, Tokens};
use crate::services::wallets::{
    CreateWallet, CreatedSession, MonitorIncoming, WalletCreated, WalletDetail, WalletList, WalletNetworks, WalletStatusChange, WalletView, Wallets,
};
use crate::store::sqlite::SqliteStore;
use crate::store::Store;
use crate::store::WalletRecord;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub use crate::auth::{Caller, SessionCtx};

/// `GET /health`: upstream's fields plus liveness, readiness and the checks behind them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HealthResponse))]
pub struct Health {
    /// `ok` when ready, `unavailable` when a check failed.
    pub status: &'static str,
    pub version: &'static str,
    pub latest_version: Option<String>,
    pub update_available: bool,
    pub schema_version: i64,
    pub uptime: u64,
    pub timestamp: i64,
    /// The process answers (always true in an answer).
    pub live: bool,
    /// Every check passed: the daemon can serve requests.
    pub ready: bool,
    pub checks: HealthChecks,
    /// Names of the failed checks (empty when ready).
    pub failed: Vec<&'static str>,
}

/// The checks of [`Health`]. No error text, path or address: only outcomes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HealthChecks))]
pub struct HealthChecks {
    /// `ok` when a query on the store answered in time, else `fail`.
    pub store: &'static str,
    /// `ok` when the store's schema version is the one this build migrates to, `fail` when it
    /// differs, `unknown` when the store did not answer.
    pub migrations: &'static str,
    /// Kill switch state read from the store (`ACTIVE`, `SUSPENDED`, `LOCKED`; `unknown`
    /// when the store did not answer). An engaged kill switch is reported, not a failure.
    pub kill_switch: String,
}

/// How long the health checks may take before the store counts as unreachable.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) struct Inner {
    pub data_dir: PathBuf,
    pub config: Config,
    pub store: Arc<dyn Store>,
    /// The signer service: the keystore and the master password its files are encrypted with.
    pub signer: Arc<Signer>,
    /// The master password service (masterAuth, password change).
    pub master: Master,
    pub started: Instant,
    pub schema_version: i64,
    /// The chain adapters service.
    pub chains: Chains,
    /// Nonce owners: one lock per (wallet, network).
    pub nonce_locks: std::sync::Mutex<NonceLocks>,
    /// Transactions a pipeline runner is driving in this process.
    pub running: std::sync::Mutex<std::collections::HashSet<String>>,
    /// USD prices for the policy engine.
    pub oracles: Arc<crate::price::OracleChain>,
    /// The kill switch service.
    pub kill_switch: Arc<KillSwitch>,
    /// The audit log service.
    pub audit: Arc<Audit>,
    /// The runtime settings service.
    pub settings: Settings,
    /// The token registry service.
    pub tokens: Tokens,
    /// The wallets service.
    pub wallets: Arc<Wallets>,
    /// The sessions service (and sessionAuth).
    pub sessions: Arc<Sessions>,
    /// The policies service (and the policy gate).
    pub policies: Policies,
    /// The owners service (owner registration and the proofs of owner actions).
    pub owners: Owners,
    /// The notifications service (the audit log's readers: channels, webhooks, audit queries).
    pub notifier: Notifier,
    /// The AutoStop rules.
    pub autostop: AutoStop,
    /// The backups service.
    pub backups: Backups,
    /// The address the daemon face bound (see [`Engine::owner_domain`]).
    pub listen_addr: std::sync::OnceLock<std::net::SocketAddr>,
    /// Counters and histograms of this engine (`GET /metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Background workers ([`Engine::start_workers`]) and their stop signal.
    pub workers: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    pub stop: tokio::sync::watch::Sender<bool>,
    /// What "now" is ([`Engine::now`]).
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Owner approvals through wallet apps: the relay client and the requests being polled.
    pub signing: crate::services::signing::SigningState,
}

/// Builds the chain adapter of a network: the seam under the pipeline ([`EngineBuilder::adapters`]).
pub use crate::services::chains::AdapterFactory;

/// Opens an engine with the parts a caller chooses; [`Engine::open`] takes the defaults.
pub struct EngineBuilder {
    data_dir: PathBuf,
    config: Config,
    store: Option<Arc<dyn Store>>,
    clock: Arc<dyn crate::clock::Clock>,
    adapters: Option<AdapterFactory>,
}

impl EngineBuilder {
    /// Any [`Store`] implementation instead of SQLite in the data dir.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }
    /// The clock of every expiry, queue and timestamp (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn crate::clock::Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Build each network's chain adapter with `factory` instead of from the configured RPC endpoints.
    pub fn adapters(mut self, factory: AdapterFactory) -> Self {
        self.adapters = Some(factory);
        self
    }
    /// Open the data dir, checking `password` against the stored master hash (or, on first
    /// start, against existing key files) and recording it.
    pub async fn open(self, password: &str) -> Result<Engine> {
        let store = match self.store {
            Some(s) => s,
            None if !self.config.database.postgres_url.is_empty() => {
                std::fs::create_dir_all(&self.data_dir)?;
                let db = &self.config.database;
                let opts = crate::store::postgres::PgOptions::from_config(db, &self.data_dir);
                crate::store::postgres::PgStore::open_replica(&db.postgres_url, &opts).await?
            }
            None => {
                std::fs::create_dir_all(&self.data_dir)?;
                let db_path = self.data_dir.join(&self.config.database.path);
                let store = tokio::task::spawn_blocking(move || SqliteStore::open(&db_path)).await.map_err(Error::internal_from)??;
                Arc::new(store)
            }
        };
        Engine::assemble(&self.data_dir, self.config, password, store, self.clock, self.adapters).await
    }
}

/// The nonce owner of each (wallet, network): held from nonce assignment to broadcast.
pub(crate) type NonceLocks = std::collections::HashMap<(String, String), Arc<crate::nonce::NonceSlot>>;

/// A handle to an open WAIaaS data dir. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl Engine {
    /// Open `data_dir` with the SQLite store, checking `password` against the stored master
    /// hash (or, on first start, against existing key files) and recording it.
    pub async fn open(data_dir: &Path, config: Config, password: &str) -> Result<Engine> {
        Engine::builder(data_dir, config).open(password).await
    }

    /// Open with any [`Store`] implementation.
    pub async fn open_with_store(data_dir: &Path, config: Config, password: &str, store: Arc<dyn Store>) -> Result<Engine> {
        Engine::builder(data_dir, config).store(store).open(password).await
    }

    /// An engine with chosen parts (store, clock, chain adapters).
    pub fn builder(data_dir: &Path, config: Config) -> EngineBuilder {
        EngineBuilder { data_dir: data_dir.to_path_buf(), config, store: None, clock: Arc::new(crate::clock::SystemClock), adapters: None }
    }

    /// What "now" is for this engine, in seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    async fn assemble(
        data_dir: &Path,
        config: Config,
        password: &str,
        store: Arc<dyn Store>,
        clock: Arc<dyn crate::clock::Clock>,
        adapter_factory: Option<AdapterFactory>,
    ) -> Result<Engine> {
        if password.is_empty() {
            return Err(Error::new(ErrorCode::INVALID_MASTER_PASSWORD, "The master password must not be empty"));
        }
        let keystore = Keystore::new(data_dir.join("keystore"))?;
        let now = clock.now();
        let phc = loop {
            match store.kv_get(KV_MASTER_HASH).await? {
                Some(phc) => {
                    let (p, pw) = (phc.clone(), Zeroizing::new(password.to_string()));
                    let ok = tokio::task::spawn_blocking(move || verify_hash(&p, &pw)).await.map_err(Error::internal_from)??;
                    if !ok {
                        return Err(Error::new(ErrorCode::INVALID_MASTER_PASSWORD, "Invalid master password"));
                    }
                    break phc;
                }
                None => {
                    // First start on this store: existing key files (a migrated data dir) must open.
                    if let Some(first) = keystore.wallet_ids()?.first() {
                        let (ks, id, pw) = (keystore.clone(), first.clone(), Zeroizing::new(password.to_string()));
                        tokio::task::spawn_blocking(move || ks.verify(&id, pw.as_bytes())).await.map_err(Error::internal_from)??;
                    }
                    let pw = Zeroizing::new(password.to_string());
                    let phc = tokio::task::spawn_blocking(move || hash_password(&pw)).await.map_err(Error::internal_from)??;
                    if store.kv_cas(KV_MASTER_HASH, None, &phc, now).await? {
                        break phc;
                    }
                    // Another daemon on the same store (a replica starting at the same
                    // moment) recorded its hash first: the password is checked against it.
                }
            }
        };
        {
            let (ks, pw) = (keystore.clone(), Zeroizing::new(password.to_string()));
            tokio::task::spawn_blocking(move || ks.recover_rekey(pw.as_bytes())).await.map_err(Error::internal_from)??;
        }
        // Settings changed through PUT /v1/admin/settings win over config.toml and the environment.
        let config = crate::services::settings::apply_stored(store.as_ref(), config).await?;
        let master =
            MasterAuth::new(phc, password, config.security.master_password_max_attempts, Duration::from_secs(config.security.master_password_lockout_seconds));
        let schema_version = store.schema_version().await?;
        let oracles = Arc::new(crate::price::OracleChain::from_config(&config));
        let metrics: Arc<crate::metrics::Metrics> = Default::default();
        let audit = Arc::new(Audit::new(store.clone(), clock.clone()));
        let tokens = Tokens::new(store.clone(), clock.clone());
        let signer = Arc::new(Signer::new(keystore, password, store.clone(), store.clone()));
        let wallets = Arc::new(Wallets::new(store.clone(), signer.clone(), audit.clone(), clock.clone()));
        let sessions = Arc::new(
            Sessions::open(
                store.clone(),
                store.clone(),
                wallets.clone(),
                config.security.session_ttl_min,
                config.security.max_sessions_per_wallet,
                audit.clone(),
                clock.clone(),
            )
            .await?,
        );
        let kill_switch =
            Arc::new(KillSwitch::open(store.clone(), store.clone(), wallets.clone(), sessions.clone(), audit.clone(), metrics.clone(), clock.clone()).await?);
        let policies = Policies::new(store.clone(), wallets.clone(), oracles.clone(), config.policy.settings(), metrics.clone(), audit.clone(), clock.clone());
        let owners = Owners::open(
            store.clone(),
            store.clone(),
            wallets.clone(),
            audit.clone(),
            clock.clone(),
            config.security.nonce_ttl_sec,
            config.security.owner_message_max_ttl_sec,
        )
        .await?;
        let notifier =
            Notifier::open(store.clone(), store.clone(), store.clone(), metrics.clone(), config.security.webhook_allow_private, clock.clone()).await?;
        let chains = Chains::new(&config, adapter_factory, metrics.clone());
        let autostop = AutoStop::new(store.clone(), wallets.clone(), sessions.clone(), audit.clone(), clock.clone(), config.security.clone());
        let backups = Backups::new(signer.clone(), store.clone(), audit.clone(), data_dir, &config);
        let master = Master::new(master, store.clone(), signer.clone(), kill_switch.clone(), audit.clone(), clock.clone(), config.daemon.admin_timeout);
        let settings = Settings::new(store.clone(), config.clone(), kill_switch.clone(), audit.clone(), clock.clone());
        let engine = Engine {
            inner: Arc::new(Inner {
                data_dir: data_dir.to_path_buf(),
                config,
                store,
                signer,
                master,
                started: Instant::now(),
                schema_version,
                chains,
                nonce_locks: Default::default(),
                running: Default::default(),
                oracles,
                kill_switch,
                audit,
                settings,
                tokens,
                wallets,
                sessions,
                policies,
                owners,
                notifier,
                autostop,
                backups,
                listen_addr: Default::default(),
                metrics,
                workers: Default::default(),
                stop: tokio::sync::watch::channel(false).0,
                clock,
                signing: Default::default(),
            }),
        };
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
        if let Some(authority) = crate::config::public_authority(&d.public_url) {
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

    /// Liveness and readiness: one query of the schema version (store reachable, migrations
    /// current) and one of the kill switch state, within [`HEALTH_TIMEOUT`]. Failures are
    /// logged here with their cause; the answer names only the failed check.
    pub async fn health(&self) -> Health {
        let store = &self.inner.store;
        let probe = async {
            let version = store.schema_version().await?;
            let kill = self.inner.kill_switch.state().await?;
            Ok::<_, Error>((version, kill))
        };
        let (checks, schema_version) = match tokio::time::timeout(HEALTH_TIMEOUT, probe).await {
            Ok(Ok((version, kill))) => {
                let latest = store.latest_schema_version();
                if version != latest {
                    tracing::warn!(version, latest, "health: store schema version is not this build's");
                }
                (HealthChecks { store: "ok", migrations: if version == latest { "ok" } else { "fail" }, kill_switch: kill }, version)
            }
            Ok(Err(e)) => {
                tracing::warn!("health: store query failed: {e}");
                (HealthChecks { store: "fail", migrations: "unknown", kill_switch: "unknown".into() }, self.inner.schema_version)
            }
            Err(_) => {
                tracing::warn!("health: store did not answer within {} s", HEALTH_TIMEOUT.as_secs());
                (HealthChecks { store: "fail", migrations: "unknown", kill_switch: "unknown".into() }, self.inner.schema_version)
            }
        };
        // A check that could not run (migrations while the store is down) is `unknown`: not
        // ready, but only the check that failed is named.
        let ready = checks.store == "ok" && checks.migrations == "ok";
        let failed: Vec<&'static str> =
            [("store", checks.store), ("migrations", checks.migrations)].into_iter().filter(|(_, v)| *v == "fail").map(|(k, _)| k).collect();
        Health {
            status: if ready { "ok" } else { "unavailable" },
            version: crate::VERSION,
            latest_version: None,
            update_available: false,
            schema_version,
            uptime: self.inner.started.elapsed().as_secs(),
            timestamp: self.now(),
            live: true,
            ready,
            checks,
            failed,
        }
    }

    /// Whether a scrape of `GET /metrics` carrying this `Authorization` header value may read
    /// the metrics: never while `[metrics] enabled` is false; with a `token` configured only
    /// with `Bearer <token>` (compared in constant time, over SHA-256 digests so the length
    /// does not leak either).
    pub fn metrics_access(&self, authorization: Option<&str>) -> crate::metrics::Access {
        use crate::metrics::Access;
        use sha2::{Digest, Sha256};
        let cfg = &self.inner.config.metrics;
        if !cfg.enabled {
            return Access::Disabled;
        }
        if cfg.token.is_empty() {
            return Access::Allowed;
        }
        let given = authorization.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))).map(str::trim).unwrap_or("");
        let (a, b) = (Sha256::digest(given.as_bytes()), Sha256::digest(cfg.token.as_bytes()));
        if !given.is_empty() && bool::from(a.as_slice().ct_eq(b.as_slice())) {
            Access::Allowed
        } else {
            Access::Unauthorized
        }
    }

    /// The engine's counters and histograms (faces add their HTTP requests here).
    pub fn metrics(&self) -> &Arc<crate::metrics::Metrics> {
        &self.inner.metrics
    }

    /// `GET /metrics`: every counter and histogram, plus gauges read now: transactions waiting
    /// in the queue by tier (DELAY, APPROVAL) and whether the kill switch is engaged.
    pub async fn render_metrics(&self) -> Result<String> {
        use crate::metrics::GaugeSnapshot;
        let queued = self.inner.store.txs_in_status(&[crate::store::tx::TxStatus::Queued]).await?;
        let depth = |tier: &str| queued.iter().filter(|t| t.tier.as_deref() == Some(tier)).count() as f64;
        let mut out = String::with_capacity(16 * 1024);
        self.inner.metrics.render_into(&mut out);
        GaugeSnapshot {
            name: "waiaas_queue_depth",
            help: "Transactions waiting in the queue (QUEUED), by tier: DELAY waits out its delay, APPROVAL waits for the owner.",
            labels: &["tier"],
            samples: vec![(vec!["DELAY".into()], depth("DELAY")), (vec!["APPROVAL".into()], depth("APPROVAL"))],
        }
        .render(&mut out);
        GaugeSnapshot {
            name: "waiaas_kill_switch_engaged",
            help: "1 while the kill switch is SUSPENDED or LOCKED, else 0.",
            labels: &[],
            samples: vec![(vec![], if self.kill_switch_engaged() { 1.0 } else { 0.0 })],
        }
        .render(&mut out);
        GaugeSnapshot {
            name: "waiaas_uptime_seconds",
            help: "Seconds since the engine opened its data dir.",
            labels: &[],
            samples: vec![(vec![], self.inner.started.elapsed().as_secs_f64().floor())],
        }
        .render(&mut out);
        Ok(out)
    }

    /// masterAuth, throttled per source (`ip`, the client address as the rate limiter
    /// determines it). A counted wrong password is written to the audit log with the
    /// caller's address; refusals of a blocked source are not (they evaluate nothing).
    pub async fn verify_master(&self, password: &str, ip: Option<&str>) -> Result<()> {
        self.inner.master.verify(password, ip).await
    }

    /// Admin UI login: the master password (masterAuth's throttle and lockout apply)
    /// exchanged for a session cookie token and a CSRF token.
    /// Refused with `ADMIN_UI_DISABLED` while `[daemon] admin_ui = false`.
    pub async fn admin_login(&self, password: &str, ip: Option<&str>) -> Result<crate::auth::admin_web::WebLogin> {
        if !self.config().daemon.admin_ui {
            return Err(Error::new(ErrorCode::ADMIN_UI_DISABLED, "The admin UI is off ([daemon] admin_ui = false): use X-Master-Password"));
        }
        self.inner.master.web_login(password, ip).await
    }

    /// masterAuth by admin session cookie: the session must be open and not idle past
    /// `daemon.admin_timeout`; a state-changing request (`mutating`) must carry its CSRF
    /// token. Answers the CSRF token.
    pub async fn admin_session(&self, token: &str, csrf: Option<&str>, mutating: bool) -> Result<String> {
        self.inner.master.web_check(token, csrf, mutating).await
    }

    /// Seconds without a request after which an admin UI session ends (`daemon.admin_timeout`).
    pub fn admin_timeout(&self) -> i64 {
        i64::try_from(self.config().daemon.admin_timeout).unwrap_or(i64::MAX)
    }

    /// Admin UI logout (ends the session of the cookie `token`).
    pub async fn admin_logout(&self, token: &str) -> Result<()> {
        self.inner.master.web_logout(token).await
    }

    // --- sessions (services::sessions)

    /// sessionAuth: the token's signature and expiry, then the store: the session must
    /// exist, be unrevoked and unexpired, and the token must be the one it holds now.
    pub async fn authenticate(&self, token: &str) -> Result<SessionCtx> {
        self.inner.sessions.authenticate(token).await
    }

    pub(crate) fn jwt(&self) -> Result<Arc<crate::auth::JwtSecrets>> {
        self.inner.sessions.jwt()
    }

    /// `POST /v1/admin/rotate-secret`: the previous secret keeps working for 5 minutes.
    pub async fn rotate_jwt_secret(&self) -> Result<i64> {
        self.inner.sessions.rotate_jwt_secret().await
    }

    /// Mint a session for one or more wallets.
    pub async fn create_session(&self, req: CreateSession) -> Result<SessionCreated> {
        self.inner.sessions.create(req).await
    }

    /// Unrevoked sessions, optionally of one wallet; `limit` 1..200 (default 50).
    pub async fn list_sessions(&self, wallet_id: Option<&str>, limit: Option<i64>, offset: Option<i64>) -> Result<SessionPage> {
        self.inner.sessions.list(wallet_id, limit, offset).await
    }

    pub async fn get_session(&self, id: &str) -> Result<SessionView> {
        self.inner.sessions.get(id).await
    }

    /// Revoke (idempotent): the token stops working at once.
    pub async fn revoke_session(&self, id: &str) -> Result<SessionRevoked> {
        self.inner.sessions.revoke(id).await
    }

    /// Renew a finite session with its own current token (upstream rules).
    pub async fn renew_session(&self, ctx: &SessionCtx, id: &str, token: &str) -> Result<SessionRenewed> {
        self.inner.sessions.renew(ctx, id, token).await
    }

    /// Issue a new token with the same expiry; the previous token stops working.
    pub async fn rotate_session(&self, id: &str) -> Result<SessionRotated> {
        self.inner.sessions.rotate(id).await
    }

    pub async fn session_wallets(&self, id: &str) -> Result<SessionWallets> {
        self.inner.sessions.linked_wallets(id).await
    }

    pub async fn link_wallet(&self, session_id: &str, wallet_id: &str) -> Result<WalletLinked> {
        self.inner.sessions.link_wallet(session_id, wallet_id).await
    }

    pub async fn unlink_wallet(&self, session_id: &str, wallet_id: &str) -> Result<()> {
        self.inner.sessions.unlink_wallet(session_id, wallet_id).await
    }

    /// Delete expired finite sessions (background cleanup).
    pub async fn cleanup_expired_sessions(&self) -> Result<usize> {
        self.inner.sessions.cleanup_expired().await
    }

    /// Change the master password: every key file is re-encrypted next to the old one,
    /// the new hash is committed, then the new files replace the old ones (see
    /// [`Master::change_password`]).
    pub async fn change_master_password(&self, new_password: &str) -> Result<usize> {
        self.inner.master.change_password(new_password).await
    }

    /// Audit an action on one transaction.
    pub(crate) async fn audit_tx(&self, event_type: &str, actor: &str, wallet_id: &str, tx_id: &str, details: Option<serde_json::Value>, severity: &str) {
        self.inner.audit.record_tx(event_type, actor, wallet_id, tx_id, details, severity).await
    }

    // --- kill switch (services::killswitch)

    /// Current state (`ACTIVE` when never activated).
    pub async fn kill_switch_status(&self) -> Result<KillSwitchStatus> {
        self.inner.kill_switch.status().await
    }

    /// Whether normal operation is allowed (cached for the request guard).
    pub fn kill_switch_engaged(&self) -> bool {
        self.inner.kill_switch.engaged()
    }

    /// `SYSTEM_LOCKED` while the kill switch is engaged: the guard in front of every agent
    /// and admin operation other than the kill switch itself (REST and embedded alike).
    pub fn ensure_not_locked(&self) -> Result<()> {
        self.inner.kill_switch.ensure_not_locked()
    }

    /// The kill-switch gate of one declared operation (see `api`), for every face.
    pub fn admit(&self, op: crate::api::Op) -> Result<()> {
        self.inner.kill_switch.admit(op)
    }

    /// An owner activates the kill switch with a signed `kill-switch:activate` message.
    pub async fn owner_activate_kill_switch(&self, proof: &OwnerProof) -> Result<KillSwitchStatus> {
        let owner = self.inner.owners.accept_any_owner(&self.owner_domain(), proof, &OwnerAction::KillSwitchActivate).await?;
        self.activate_kill_switch(&format!("owner:{owner}")).await
    }

    /// SUSPENDED → LOCKED: sessions are revoked as well.
    pub async fn escalate_kill_switch(&self, actor: &str) -> Result<KillSwitchStatus> {
        self.inner.kill_switch.escalate(actor).await
    }

    /// ACTIVE → SUSPENDED, then the cascade (unsigned transactions cancelled, active wallets
    /// suspended). Returns the new status.
    pub async fn activate_kill_switch(&self, actor: &str) -> Result<KillSwitchStatus> {
        self.inner.kill_switch.activate(actor).await
    }

    /// Back to ACTIVE (the caller has passed masterAuth); wallets the switch suspended are
    /// resumed. From LOCKED an owner's proof for `kill-switch:recover` is also required.
    pub async fn recover_kill_switch(&self, actor: &str, owner: Option<&OwnerProof>) -> Result<KillSwitchStatus> {
        let check =
            owner.map(|proof| move || async move { self.inner.owners.accept_any_owner(&self.owner_domain(), proof, &OwnerAction::KillSwitchRecover).await });
        self.inner.kill_switch.recover(actor, check).await
    }

    // --- signer (services::signer)

    /// The permit of a transaction row that the policy gate decided (see [`Signer::permit`]).
    pub(crate) async fn signing_permit(&self, tx_id: &str, wallet_id: &str) -> Result<SigningPermit> {
        self.inner.signer.permit(tx_id, wallet_id).await
    }

    /// Decrypt the permitted wallet's key and hand it to `f` (see [`Signer::with_key`]).
    pub(crate) async fn with_signing_key<T: Send + 'static>(
        &self,
        permit: SigningPermit,
        f: impl FnOnce(&crate::keys::SecretKey) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.inner.signer.with_key(permit, f).await
    }

    /// [`Engine::with_signing_key`] for several permits of one wallet (see [`Signer::with_keys`]).
    pub(crate) async fn with_signing_keys<T: Send + 'static>(
        &self,
        permits: Vec<SigningPermit>,
        f: impl FnOnce(&crate::keys::SecretKey) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.inner.signer.with_keys(permits, f).await
    }

    // --- wallets (services::wallets)

    /// Create a wallet: a new key in the keystore, the wallet row, and (by default) an
    /// unlimited session. Nothing is left behind if a step fails.
    pub async fn create_wallet(&self, req: CreateWallet) -> Result<WalletCreated> {
        let session = |wallet_id: String| async move {
            let SessionCreated { id, token, expires_at, .. } = self.create_session(CreateSession { wallet_id: Some(wallet_id), ..Default::default() }).await?;
            Ok(CreatedSession { id, token, expires_at })
        };
        self.inner.wallets.create(req, session).await
    }

    /// Wallets the caller may see: all for the master, the linked ones for a session.
    pub async fn list_wallets(&self, caller: &Caller<'_>) -> Result<WalletList> {
        self.inner.wallets.list(caller).await
    }

    /// Load a wallet the caller may access.
    pub async fn wallet_record(&self, caller: &Caller<'_>, id: &str) -> Result<WalletRecord> {
        self.inner.wallets.record(caller, id).await
    }

    /// A wallet's approval route (empty when none was registered).
    pub async fn approval_route(&self, wallet_id: &str) -> Result<crate::store::ApprovalRoute> {
        Ok(self.inner.store.approval_routes().await?.into_iter().find(|(id, _)| id == wallet_id).map(|(_, r)| r).unwrap_or_default())
    }

    pub async fn get_wallet(&self, caller: &Caller<'_>, id: &str) -> Result<WalletDetail> {
        let mut d = self.inner.wallets.detail(caller, id).await?;
        let route = self.approval_route(id).await?;
        (d.approval_method, d.wallet_type) = (route.approval_method, route.wallet_type);
        Ok(d)
    }

    /// The wallet a session-scoped operation acts on: the requested one (which must be
    /// linked), else the session's only wallet.
    pub async fn resolve_wallet(&self, ctx: &SessionCtx, requested: Option<&str>) -> Result<WalletRecord> {
        self.inner.wallets.resolve(ctx, requested).await
    }

    pub async fn rename_wallet(&self, id: &str, name: &str) -> Result<WalletView> {
        self.inner.wallets.rename(id, name).await
    }

    pub async fn set_monitor_incoming(&self, id: &str, on: Option<bool>) -> Result<MonitorIncoming> {
        self.inner.wallets.set_monitor_incoming(id, on).await
    }

    /// Terminate (upstream `DELETE /v1/wallets/{id}`): the wallet can never sign again and
    /// sessions whose only wallet it was are revoked.
    pub async fn terminate_wallet(&self, id: &str) -> Result<WalletStatusChange> {
        self.inner.wallets.terminate(id).await
    }

    /// Delete a terminated wallet, its key file and its rows.
    pub async fn purge_wallet(&self, id: &str) -> Result<WalletStatusChange> {
        self.inner.wallets.purge(id).await
    }

    pub async fn suspend_wallet(&self, id: &str, reason: Option<&str>) -> Result<WalletStatusChange> {
        self.inner.wallets.suspend(id, reason).await
    }

    pub async fn resume_wallet(&self, id: &str) -> Result<WalletStatusChange> {
        self.inner.wallets.resume(id).await
    }

    pub async fn wallet_networks(&self, caller: &Caller<'_>, id: &str) -> Result<WalletNetworks> {
        self.inner.wallets.networks(caller, id).await
    }

    // --- AutoStop (services::autostop)

    /// AutoStop's `consecutive_failures` rule, after transaction `tx_id` ended.
    pub(crate) async fn autostop_after_failure(&self, tx_id: &str) -> Result<()> {
        self.inner.autostop.after_failure(tx_id).await
    }

    /// AutoStop's `unusual_activity` rule, before wallet `w` requests another transaction.
    pub(crate) async fn autostop_activity(&self, w: &WalletRecord) -> Result<()> {
        self.inner.autostop.activity(w).await
    }

    /// AutoStop's `idle_timeout` rule: sessions idle for the timeout (notification only).
    pub async fn autostop_idle_check(&self) -> Result<Vec<String>> {
        self.inner.autostop.idle_check().await
    }

    // --- backups (services::backup)

    /// `POST /v1/admin/backup`: a consistent snapshot of the database, `config.toml` and
    /// every key file, encrypted with the master password (see [`Backups::create`]).
    pub async fn create_backup(&self) -> Result<BackupInfo> {
        self.inner.backups.create().await
    }

    /// Where this data dir's backups go.
    pub fn backups_dir(&self) -> PathBuf {
        self.inner.backups.dir().to_path_buf()
    }

    /// `[backup] retention_count`.
    pub fn backup_retention_count(&self) -> u64 {
        self.inner.backups.retention_count()
    }

    /// `GET /v1/admin/backups`: newest first, read from the plaintext metadata only.
    pub async fn list_backups(&self) -> Result<Vec<BackupInfo>> {
        self.inner.backups.list().await
    }

    /// The `GET /v1/admin/backups` body.
    pub async fn backup_list(&self) -> Result<BackupList> {
        self.inner.backups.page().await
    }

    // --- chains (services::chains)

    /// The adapter of a network (created on first use).
    pub fn adapter(&self, network: crate::network::Network) -> Arc<dyn crate::chain::ChainAdapter> {
        self.inner.chains.adapter(network)
    }

    // --- notifications (services::notify)

    /// Hand every event after the cursor to the channels that want it; returns how many
    /// events were handed over.
    pub async fn dispatch_events(&self) -> Result<usize> {
        self.inner.notifier.dispatch_events().await
    }

    /// The audit log, newest first, with upstream's filters and id cursor.
    pub async fn audit_logs(&self, q: AuditQuery) -> Result<AuditPage> {
        self.inner.notifier.audit_logs(q).await
    }

    /// Register a webhook; the secret is returned only here.
    pub async fn create_webhook(&self, req: CreateWebhook) -> Result<WebhookView> {
        self.inner.notifier.create_webhook(req).await
    }

    pub async fn list_webhooks(&self) -> Result<Vec<WebhookView>> {
        self.inner.notifier.list_webhooks().await
    }

    pub async fn delete_webhook(&self, id: &str) -> Result<()> {
        self.inner.notifier.delete_webhook(id).await
    }

    pub async fn webhook_logs(&self, id: &str, status: Option<&str>, event_type: Option<&str>, limit: Option<i64>) -> Result<Vec<serde_json::Value>> {
        self.inner.notifier.webhook_logs(id, status, event_type, limit).await
    }

    // --- owners (services::owners)

    /// Issue a nonce for an owner signature (`GET /v1/nonce`): single use, valid
    /// `security.nonce_ttl_sec`. Upstream clients call it without parameters.
    pub async fn nonce(&self) -> Result<NonceResponse> {
        self.inner.owners.nonce_for(None).await
    }

    /// A nonce, bound to `address` when given (`GET /v1/nonce?address=<owner>`: only that
    /// owner's signature can use it).
    pub async fn nonce_for(&self, address: Option<&str>) -> Result<NonceResponse> {
        self.inner.owners.nonce_for(address).await
    }

    /// `PUT /v1/wallets/{id}/owner` (master): register or replace the owner while NONE/GRACE.
    pub async fn set_owner(&self, wallet_id: &str, owner_address: &str) -> Result<crate::api::types::WalletOwnerResponse> {
        self.inner.owners.set_owner(wallet_id, owner_address).await
    }

    /// `POST /v1/wallets/{id}/owner/verify` (owner): GRACE → LOCKED.
    pub async fn verify_owner(&self, wallet_id: &str, proof: &OwnerProof) -> Result<crate::api::types::OwnerVerifyResponse> {
        self.inner.owners.verify_owner(&self.owner_domain(), wallet_id, proof).await
    }

    // --- policies (services::policies)

    pub async fn create_policy(&self, req: CreatePolicy) -> Result<PolicyRecord> {
        self.inner.policies.create(req).await
    }

    /// Policies of a wallet plus the global ones (a session sees only its wallets'), paginated.
    pub async fn list_policies(&self, caller: &Caller<'_>, wallet_id: Option<&str>, limit: Option<i64>, offset: Option<i64>) -> Result<PolicyPage> {
        self.inner.policies.list(caller, wallet_id, limit, offset).await
    }

    pub async fn get_policy(&self, id: &str) -> Result<PolicyRecord> {
        self.inner.policies.get(id).await
    }

    /// Update validates as strictly as create (upstream only checks two types).
    pub async fn update_policy(&self, id: &str, req: UpdatePolicy) -> Result<PolicyRecord> {
        self.inner.policies.update(id, req).await
    }

    pub async fn delete_policy(&self, id: &str) -> Result<PolicyDeleted> {
        self.inner.policies.delete(id).await
    }

    /// The policy gate of a PENDING row whose meaning to the evaluator is `kind` (sign-only
    /// rows give theirs; see `Engine::decide` for sends).
    pub(crate) async fn decide_kind(&self, tx: &crate::store::tx::TxRecord, kind: &crate::chain::TxKind) -> Result<Option<crate::store::tx::TxStatus>> {
        self.inner.policies.decide_kind(tx, kind).await
    }

    /// The decision + reservation of a PENDING row for an already built intent.
    pub(crate) async fn decide_intent(&self, tx: &crate::store::tx::TxRecord, intent: Intent) -> Result<Option<crate::store::tx::TxStatus>> {
        self.inner.policies.decide_intent(tx, intent).await
    }

    // --- tokens (services::tokens)

    /// Built-in and custom tokens of a network.
    pub async fn list_tokens(&self, network: &str) -> Result<TokenList> {
        self.inner.tokens.list(network).await
    }

    /// Decimals of a registered token, if it is registered.
    pub async fn registry_token(&self, network: crate::network::Network, address: &str) -> Result<Option<u8>> {
        self.inner.tokens.registered_decimals(network, address).await
    }

    /// Register a custom token.
    pub async fn add_token(&self, req: AddToken) -> Result<TokenAdded> {
        self.inner.tokens.add(req).await
    }

    /// Remove a custom token (built-in ones cannot be removed).
    pub async fn remove_token(&self, network: &str, address: &str) -> Result<TokenRemoved> {
        self.inner.tokens.remove(network, address).await
    }

    // --- settings (services::settings)

    /// `GET /v1/admin/settings`: the settings in effect, and those that apply at the next start.
    pub async fn settings(&self) -> Result<serde_json::Value> {
        self.inner.settings.current().await
    }

    /// `GET /v1/admin/settings/schema` (see [`crate::services::settings::schema`]).
    pub fn settings_schema(&self) -> Result<serde_json::Value> {
        crate::services::settings::schema()
    }

    /// `PUT /v1/admin/settings`: check every `(key, value)` (known key, type, range, and the
    /// resulting config as a whole), then store them all or none. Refused while the kill
    /// switch is LOCKED.
    pub async fn update_settings(&self, settings: &[(String, String)]) -> Result<serde_json::Value> {
        self.inner.settings.update(settings).await
    }
}
