//! Wallet operations: create, list, get, rename, terminate, purge, suspend, resume.
//!
//! State rules (upstream): ACTIVE <-> SUSPENDED, either -> TERMINATED, TERMINATED -> purged.
//! Every transition is a compare-and-swap in the store. A wallet that is not ACTIVE never
//! signs (see `Signer::with_key`).
//!
//! [`Wallets`] is the service: the wallet rows, the signer (for the key files), the audit log
//! and the clock. A wallet's first session is made by the caller (the sessions side) through
//! a callback, so this service does not depend on sessions.

use crate::auth::{Caller, SessionCtx};
use crate::clock::Clock;
use crate::error::{wallet_not_found, Error, ErrorCode, Result};
use crate::network::{Chain, Environment, Network};
use crate::services::audit::Audit;
use crate::services::signer::Signer;
/// A wallet's lifecycle state (`ACTIVE`, `SUSPENDED`, `TERMINATED`).
pub use crate::store::WalletStatus;
use crate::store::{WalletRecord, WalletStore};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::Arc;

/// `POST /v1/wallets` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateWalletRequest))]
pub struct CreateWallet {
    /// 1..100 characters, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")
    )]
    pub name: String,
    /// `solana` (default) or `ethereum`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Chain>))]
    pub chain: Option<String>,
    /// `testnet` (default) or `mainnet`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Environment>))]
    pub environment: Option<String>,
    /// Also mint an unlimited session for the new wallet (default true).
    pub create_session: Option<bool>,
    /// Only `eoa` is supported.
    #[cfg_attr(feature = "openapi", schema(pattern = "^eoa$"))]
    pub account_type: Option<String>,
}

/// The wallet as most routes return it (upstream `WalletCrudResponse`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WalletCrudResponse))]
pub struct WalletView {
    pub id: String,
    pub name: String,
    pub chain: Chain,
    pub network: String,
    pub environment: Environment,
    pub public_key: String,
    pub status: WalletStatus,
    pub owner_address: Option<String>,
    pub owner_state: &'static str,
    pub monitor_incoming: bool,
    pub account_type: &'static str,
    pub signer_key: Option<String>,
    pub deployed: bool,
    pub provider: Option<serde_json::Value>,
    pub created_at: i64,
}

/// `GET /v1/wallets/{id}` (upstream `WalletDetailResponse`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WalletDetailResponse))]
pub struct WalletDetail {
    #[serde(flatten)]
    pub wallet: WalletView,
    pub owner_verified: bool,
    pub approval_method: Option<String>,
    pub wallet_type: Option<String>,
    pub factory_address: Option<String>,
    pub factory_supported_networks: Option<Vec<String>>,
    pub factory_verified_on_network: Option<bool>,
    pub suspended_at: Option<i64>,
    pub suspension_reason: Option<String>,
    pub updated_at: i64,
}

/// The session minted with a wallet.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedSession {
    pub id: String,
    pub token: String,
    pub expires_at: i64,
}

/// `POST /v1/wallets` response.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WalletCreateResponse))]
pub struct WalletCreated {
    #[serde(flatten)]
    pub wallet: WalletView,
    pub session: Option<CreatedSession>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WalletListResponse))]
pub struct WalletList {
    pub items: Vec<WalletView>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WalletStatusChange {
    pub id: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspended_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspension_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NetworkEntry {
    pub network: &'static str,
}

/// `GET /v1/wallets/{id}/networks`. Upstream's server says `availableNetworks` and its TS
/// SDK reads `networks`; both are served so both clients work.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WalletNetworksResponse))]
pub struct WalletNetworks {
    pub id: String,
    pub chain: Chain,
    pub environment: Environment,
    pub available_networks: Vec<NetworkEntry>,
    pub networks: Vec<NetworkEntry>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PatchWalletResponse))]
pub struct MonitorIncoming {
    pub id: String,
    pub monitor_incoming: bool,
}

pub(crate) fn owner_state(w: &WalletRecord) -> &'static str {
    match (&w.owner_address, w.owner_verified) {
        (None, _) => "NONE",
        (Some(_), false) => "GRACE",
        (Some(_), true) => "LOCKED",
    }
}

impl From<&WalletRecord> for WalletView {
    fn from(w: &WalletRecord) -> Self {
        WalletView {
            id: w.id.clone(),
            name: w.name.clone(),
            chain: w.chain,
            network: w.network.clone(),
            environment: w.environment,
            public_key: w.public_key.clone(),
            status: w.status,
            owner_address: w.owner_address.clone(),
            owner_state: owner_state(w),
            monitor_incoming: w.monitor_incoming,
            account_type: "eoa",
            signer_key: None,
            deployed: true,
            provider: None,
            created_at: w.created_at,
        }
    }
}

impl From<&WalletRecord> for WalletDetail {
    fn from(w: &WalletRecord) -> Self {
        WalletDetail {
            wallet: w.into(),
            owner_verified: w.owner_verified,
            approval_method: None,
            wallet_type: None,
            factory_address: None,
            factory_supported_networks: None,
            factory_verified_on_network: None,
            suspended_at: w.suspended_at,
            suspension_reason: w.suspension_reason.clone(),
            updated_at: w.updated_at,
        }
    }
}

pub(crate) fn validate_name(name: &str) -> Result<String> {
    let trimmed = name.trim();
    let n = trimmed.chars().count();
    if n == 0 || n > 100 {
        return Err(Error::validation("name", "must be 1..100 characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Error::validation("name", "must not contain control characters"));
    }
    Ok(trimmed.to_string())
}

/// The wallets service.
pub struct Wallets {
    store: Arc<dyn WalletStore>,
    signer: Arc<Signer>,
    audit: Arc<Audit>,
    clock: Arc<dyn Clock>,
}

impl Wallets {
    pub fn new(store: Arc<dyn WalletStore>, signer: Arc<Signer>, audit: Arc<Audit>, clock: Arc<dyn Clock>) -> Wallets {
        Wallets { store, signer, audit, clock }
    }

    /// Create a wallet: a new key in the keystore, the wallet row, and (by default) an
    /// unlimited session made by `session` for the new wallet's id. Nothing is left behind
    /// if a step fails.
    pub async fn create<F, Fut>(&self, req: CreateWallet, session: F) -> Result<WalletCreated>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<CreatedSession>>,
    {
        let name = validate_name(&req.name)?;
        let chain: Chain = req.chain.as_deref().unwrap_or("solana").parse()?;
        let environment: Environment = req.environment.as_deref().unwrap_or("testnet").parse()?;
        match req.account_type.as_deref() {
            None | Some("eoa") => {}
            Some("smart") => return Err(Error::validation("accountType", "smart accounts are not supported by this daemon; use eoa")),
            Some(other) => return Err(Error::validation("accountType", format!("unknown account type '{other}' (expected eoa)"))),
        }
        let network = Network::default_for(chain, environment);
        let id = crate::new_id();
        let now = self.clock.now();
        let ks = self.signer.keystore().clone();
        // Held until the key file is written: a concurrent master password change either
        // re-encrypts this file or waits for it, never leaves it under the old password.
        let rekey = self.signer.rekey_lock().read().await;
        let pw = self.signer.password()?;
        let (kid, net) = (id.clone(), network.id());
        let public_key = tokio::task::spawn_blocking(move || ks.create(&kid, chain, net, pw.as_bytes())).await.map_err(Error::internal_from)??;
        drop(rekey);
        let record = WalletRecord {
            id: id.clone(),
            name,
            chain,
            environment,
            network: network.id().into(),
            public_key,
            status: WalletStatus::Active,
            owner_address: None,
            owner_verified: false,
            monitor_incoming: false,
            created_at: now,
            updated_at: now,
            suspended_at: None,
            suspension_reason: None,
        };
        if let Err(e) = self.store.insert_wallet(&record).await {
            let _ = self.signer.keystore().delete(&id);
            return Err(e);
        }
        let session = if req.create_session.unwrap_or(true) {
            match session(id.clone()).await {
                Ok(created) => Some(created),
                Err(e) => {
                    // Undo the wallet: terminate, purge, remove the key.
                    let store = &self.store;
                    let _ = store.transition_wallet(&id, WalletStatus::Active, WalletStatus::Terminated, None, now).await;
                    let _ = store.purge_wallet(&id).await;
                    let _ = self.signer.keystore().delete(&id);
                    return Err(e);
                }
            }
        } else {
            None
        };
        self.audit
            .record("WALLET_CREATED", "master", Some(&id), None, Some(serde_json::json!({ "chain": chain, "environment": environment })), "info", None)
            .await;
        Ok(WalletCreated { wallet: (&record).into(), session })
    }

    /// Wallets the caller may see: all for the master, the linked ones for a session.
    pub async fn list(&self, caller: &Caller<'_>) -> Result<WalletList> {
        let rows = match caller {
            Caller::Master => self.store.list_wallets(None).await?,
            Caller::Session(ctx) => self.store.list_wallets(Some(&ctx.wallet_ids)).await?,
        };
        Ok(WalletList { items: rows.iter().map(WalletView::from).collect() })
    }

    /// The wallet row of `id`, if any (no caller check: for other services).
    pub async fn find(&self, id: &str) -> Result<Option<WalletRecord>> {
        self.store.get_wallet(id).await
    }

    /// Every wallet row, newest first (no caller check: for other services).
    pub async fn all(&self) -> Result<Vec<WalletRecord>> {
        self.store.list_wallets(None).await
    }

    /// Suspend wallet `id` with `reason` if it is ACTIVE (AutoStop); whether it was.
    pub(crate) async fn suspend_if_active(&self, id: &str, reason: &str, now: i64) -> Result<bool> {
        self.store.transition_wallet(id, WalletStatus::Active, WalletStatus::Suspended, Some(reason), now).await
    }

    /// Suspend every ACTIVE wallet with `reason` (the kill switch); returns how many.
    pub(crate) async fn suspend_all_active(&self, reason: &str, now: i64) -> Result<usize> {
        let mut suspended = 0;
        for w in self.store.list_wallets(None).await? {
            if w.status == WalletStatus::Active && self.store.transition_wallet(&w.id, WalletStatus::Active, WalletStatus::Suspended, Some(reason), now).await?
            {
                suspended += 1;
            }
        }
        Ok(suspended)
    }

    /// Resume every wallet suspended with `reason` (not those suspended for another reason).
    pub(crate) async fn resume_all_suspended_for(&self, reason: &str, now: i64) -> Result<()> {
        for w in self.store.list_wallets(None).await? {
            if w.status == WalletStatus::Suspended && w.suspension_reason.as_deref() == Some(reason) {
                self.store.transition_wallet(&w.id, WalletStatus::Suspended, WalletStatus::Active, None, now).await?;
            }
        }
        Ok(())
    }

    /// Load a wallet the caller may access.
    pub async fn record(&self, caller: &Caller<'_>, id: &str) -> Result<WalletRecord> {
        if let Caller::Session(ctx) = caller {
            if !ctx.wallet_ids.iter().any(|w| w == id) {
                return Err(Error::new(ErrorCode::WALLET_ACCESS_DENIED, "This session has no access to that wallet"));
            }
        }
        self.store.get_wallet(id).await?.ok_or_else(|| wallet_not_found(id))
    }

    /// A wallet the caller may access, as `GET /v1/wallets/{id}` shows it.
    pub async fn detail(&self, caller: &Caller<'_>, id: &str) -> Result<WalletDetail> {
        Ok((&self.record(caller, id).await?).into())
    }

    /// The wallet a session-scoped operation acts on: the requested one (which must be
    /// linked), else the session's only wallet.
    pub async fn resolve(&self, ctx: &SessionCtx, requested: Option<&str>) -> Result<WalletRecord> {
        let id = match requested {
            Some(id) => id.to_string(),
            None if ctx.wallet_ids.len() == 1 => ctx.wallet_ids[0].clone(),
            None => return Err(Error::new(ErrorCode::WALLET_ID_REQUIRED, "This session is linked to several wallets: pass walletId")),
        };
        self.record(&Caller::Session(ctx), &id).await
    }

    pub async fn rename(&self, id: &str, name: &str) -> Result<WalletView> {
        let name = validate_name(name)?;
        if !self.store.rename_wallet(id, &name, self.clock.now()).await? {
            return Err(wallet_not_found(id));
        }
        Ok((&self.record(&Caller::Master, id).await?).into())
    }

    pub async fn set_monitor_incoming(&self, id: &str, on: Option<bool>) -> Result<MonitorIncoming> {
        let w = self.record(&Caller::Master, id).await?;
        let on = on.unwrap_or(w.monitor_incoming);
        self.store.set_monitor_incoming(id, on, self.clock.now()).await?;
        Ok(MonitorIncoming { id: id.into(), monitor_incoming: on })
    }

    /// Terminate (upstream `DELETE /v1/wallets/{id}`): the wallet can never sign again and
    /// sessions whose only wallet it was are revoked.
    pub async fn terminate(&self, id: &str) -> Result<WalletStatusChange> {
        let now = self.clock.now();
        for from in [WalletStatus::Active, WalletStatus::Suspended] {
            if self.store.transition_wallet(id, from, WalletStatus::Terminated, None, now).await? {
                self.audit.record("WALLET_TERMINATED", "master", Some(id), None, None, "warning", None).await;
                return Ok(WalletStatusChange { id: id.into(), status: "TERMINATED", suspended_at: None, suspension_reason: None });
            }
        }
        match self.store.get_wallet(id).await? {
            None => Err(wallet_not_found(id)),
            Some(_) => Err(Error::new(ErrorCode::WALLET_TERMINATED, "Wallet is already terminated")),
        }
    }

    /// Delete a terminated wallet, its key file and its rows.
    pub async fn purge(&self, id: &str) -> Result<WalletStatusChange> {
        let w = self.record(&Caller::Master, id).await?;
        if w.status != WalletStatus::Terminated {
            return Err(Error::new(ErrorCode::WALLET_NOT_TERMINATED, "Terminate the wallet (DELETE /v1/wallets/{id}) before purging it"));
        }
        // Key first: a wallet row without a key can never sign; a key without a row would linger.
        self.signer.keystore().delete(id)?;
        if !self.store.purge_wallet(id).await? {
            return Err(Error::new(ErrorCode::WALLET_NOT_TERMINATED, "Wallet changed while purging"));
        }
        self.audit.record("WALLET_PURGED", "master", Some(id), None, None, "warning", None).await;
        Ok(WalletStatusChange { id: id.into(), status: "PURGED", suspended_at: None, suspension_reason: None })
    }

    pub async fn suspend(&self, id: &str, reason: Option<&str>) -> Result<WalletStatusChange> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty()).unwrap_or("MANUAL");
        if reason.chars().count() > 200 {
            return Err(Error::validation("reason", "must be at most 200 characters"));
        }
        let now = self.clock.now();
        if !self.store.transition_wallet(id, WalletStatus::Active, WalletStatus::Suspended, Some(reason), now).await? {
            let w = self.record(&Caller::Master, id).await?;
            return Err(Error::new(ErrorCode::INVALID_STATE_TRANSITION, format!("Cannot suspend a {} wallet", w.status.as_str())));
        }
        self.audit.record("WALLET_SUSPENDED", "master", Some(id), None, Some(serde_json::json!({ "reason": reason })), "warning", None).await;
        Ok(WalletStatusChange { id: id.into(), status: "SUSPENDED", suspended_at: Some(now), suspension_reason: Some(reason.into()) })
    }

    pub async fn resume(&self, id: &str) -> Result<WalletStatusChange> {
        if !self.store.transition_wallet(id, WalletStatus::Suspended, WalletStatus::Active, None, self.clock.now()).await? {
            let w = self.record(&Caller::Master, id).await?;
            return Err(Error::new(ErrorCode::INVALID_STATE_TRANSITION, format!("Cannot resume a {} wallet", w.status.as_str())));
        }
        self.audit.record("WALLET_RESUMED", "master", Some(id), None, None, "info", None).await;
        Ok(WalletStatusChange { id: id.into(), status: "ACTIVE", suspended_at: None, suspension_reason: None })
    }

    pub async fn networks(&self, caller: &Caller<'_>, id: &str) -> Result<WalletNetworks> {
        let w = self.record(caller, id).await?;
        let nets: Vec<NetworkEntry> = Network::for_environment(w.chain, w.environment).into_iter().map(|n| NetworkEntry { network: n.id() }).collect();
        Ok(WalletNetworks { id: w.id, chain: w.chain, environment: w.environment, available_networks: nets.clone(), networks: nets })
    }
}
