//! The in-process face: [`AgentApi`] and [`AdminApi`] over an [`Engine`] in this process.
//!
//! Each method calls the engine operation the matching REST route calls and returns the
//! same JSON (`serde_json::to_value` of the same struct). The checks the HTTP layer makes
//! before a handler runs are made here too, in the same order:
//! 1. the kill switch: while it is engaged every call except the kill-switch ones fails
//!    with `SYSTEM_LOCKED` (the daemon's guard);
//! 2. the agent's session token, on every call ([`Engine::authenticate`], as the Bearer
//!    extractor does): a revoked, rotated, renewed-away or expired token fails at once
//!    with the daemon's code;
//! 3. request bodies are decoded like the daemon decodes them, so a bad field fails with
//!    `ACTION_VALIDATION_FAILED` naming it.
//!
//! Per-IP and per-session HTTP rate limits are a property of the network face and do not
//! apply in-process.
//!
//! Owner decisions (approve, reject, verify, the owner's kill switch) take the owner's signed
//! message as they do over HTTP. There is no `Host` header in-process: the domain the message
//! must name is the data dir's configured daemon address, `"{daemon.hostname}:{daemon.port}"`
//! (`127.0.0.1:3100` by default; [`EmbeddedAdmin::owner_domain`]), the same one a daemon
//! started on this data dir is reached at.
//!
//! [`open_embedded`] opens a data dir for in-process use: it takes the data-dir lock (the
//! same one the daemon takes, so a daemon and an embedded engine never run on one data
//! dir), opens the engine, resumes unfinished transactions and starts the background
//! workers (DELAY queue, confirmation re-checks, session clean-up) on the calling tokio
//! runtime.

use super::{AdminApi, AgentApi, OwnerProof, TxListQuery, WalletQuery};
use crate::api::types::{KillSwitchActivateResponse, MasterPasswordChangeResponse, RecoverResponse};
use crate::api::Op;
use crate::datadir::{self, DataDirLock};
use crate::engine::{Caller, Engine, SessionCtx};
use crate::error::{Error, Result};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{OnceLock, RwLock};

/// The base URL an embedded agent's `connect_info` reports (there is no HTTP server).
pub const EMBEDDED_BASE_URL: &str = "embedded";

/// A result as the JSON the REST face answers.
fn to_json<T: Serialize>(v: T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::internal(format!("cannot serialize a result: {e}")))
}

/// Decode a request body as the daemon does: `null` is an empty object, and a decoding
/// error is `ACTION_VALIDATION_FAILED` naming the offending field.
pub fn parse_body<T: DeserializeOwned>(body: Value) -> Result<T> {
    let body = match body {
        Value::Null => Value::Object(Default::default()),
        Value::Array(_) => return Err(Error::body_not_object()),
        other => other,
    };
    serde_path_to_error::deserialize(body).map_err(Error::from_deserialize)
}

/// Data dirs opened in this process, by canonical path: the lock is held and the workers
/// run for the rest of the process, so a second open returns the same engine.
struct Opened {
    engine: Engine,
    _lock: DataDirLock,
}

fn registry() -> &'static tokio::sync::Mutex<HashMap<PathBuf, Opened>> {
    static OPEN: OnceLock<tokio::sync::Mutex<HashMap<PathBuf, Opened>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

/// Open `data_dir` for in-process use, as `waiaas start` opens it for the daemon:
/// - a missing data dir is created with the default layout and `config.toml`
///   (what `waiaas init` writes; no `recovery.key`);
/// - `config.toml` is loaded with the `WAIAAS_<SECTION>_<KEY>` overrides of this process's
///   environment;
/// - the data-dir lock is taken (`SYSTEM_LOCKED` while a daemon or another process holds it);
/// - the engine is opened with `master_password` (`INVALID_MASTER_PASSWORD` if wrong),
///   unfinished transactions are resumed and the background workers are started on the
///   current tokio runtime, which must outlive the engine's use.
///
/// The engine then stays open (lock held, workers running) until the process exits; opening
/// the same data dir again in this process checks the password and returns the same engine.
pub async fn open_embedded(data_dir: &Path, master_password: &str) -> Result<Engine> {
    let mut open = registry().lock().await;
    let canonical = match std::fs::canonicalize(data_dir) {
        Ok(p) => p,
        Err(_) => {
            datadir::init_layout(data_dir)?;
            std::fs::canonicalize(data_dir)?
        }
    };
    if let Some(o) = open.get(&canonical) {
        o.engine.verify_master(master_password, None).await?;
        return Ok(o.engine.clone());
    }
    datadir::init_layout(&canonical)?;
    let loaded = datadir::load_config(&canonical)?;
    for w in &loaded.warnings {
        tracing::warn!("config: {w}");
    }
    let lock = DataDirLock::acquire(&canonical)?;
    let engine = Engine::open(&canonical, loaded.config, master_password).await?;
    engine.start_background().await;
    open.insert(canonical, Opened { engine: engine.clone(), _lock: lock });
    Ok(engine)
}

/// An agent in this process: every call presents its session token to the engine.
pub struct EmbeddedAgent {
    engine: Engine,
    token: RwLock<String>,
}

impl EmbeddedAgent {
    pub fn new(engine: Engine, session_token: String) -> EmbeddedAgent {
        EmbeddedAgent { engine, token: RwLock::new(session_token) }
    }

    /// The kill-switch gate of `op`, then sessionAuth with the current token.
    async fn auth(&self, op: Op) -> Result<(SessionCtx, String)> {
        self.engine.admit(op)?;
        let token = self.session_token();
        let ctx = self.engine.authenticate(&token).await?;
        Ok((ctx, token))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Encode {
    abi: Value,
    function_name: String,
    #[serde(default)]
    args: Vec<Value>,
}

#[async_trait]
impl AgentApi for EmbeddedAgent {
    async fn get_address(&self, q: WalletQuery) -> Result<Value> {
        let (ctx, _) = self.auth(Op::GetWalletAddress).await?;
        to_json(self.engine.wallet_address(&ctx, q.wallet_id.as_deref(), q.network.as_deref()).await?)
    }

    async fn get_balance(&self, q: WalletQuery) -> Result<Value> {
        let (ctx, _) = self.auth(Op::GetWalletBalance).await?;
        self.engine.wallet_balance(&ctx, q.wallet_id.as_deref(), q.network.as_deref()).await
    }

    async fn get_assets(&self, q: WalletQuery) -> Result<Value> {
        let (ctx, _) = self.auth(Op::GetWalletAssets).await?;
        self.engine.wallet_assets_json(&ctx, q.wallet_id.as_deref(), q.network.as_deref()).await
    }

    async fn connect_info(&self) -> Result<Value> {
        let (ctx, _) = self.auth(Op::GetConnectInfo).await?;
        to_json(self.engine.connect_info(&ctx, EMBEDDED_BASE_URL).await?)
    }

    async fn send_transaction(&self, request: Value, idempotency_key: Option<String>) -> Result<Value> {
        let (ctx, _) = self.auth(Op::SendTransaction).await?;
        let request = if request.is_null() { json!({}) } else { request };
        to_json(self.engine.send_transaction(&ctx, request, idempotency_key).await?)
    }

    async fn simulate_transaction(&self, request: Value) -> Result<Value> {
        let (ctx, _) = self.auth(Op::SimulateTransaction).await?;
        let request = if request.is_null() { json!({}) } else { request };
        self.engine.simulate_transaction(&ctx, request).await
    }

    async fn sign_transaction(&self, request: Value) -> Result<Value> {
        let (ctx, _) = self.auth(Op::SignTransaction).await?;
        let req = parse_body(request)?;
        to_json(self.engine.sign_transaction(&ctx, req).await?)
    }

    async fn sign_message(&self, request: Value) -> Result<Value> {
        let (ctx, _) = self.auth(Op::SignMessage).await?;
        let req = parse_body(request)?;
        to_json(self.engine.sign_message(&ctx, req).await?)
    }

    async fn x402_fetch(&self, request: Value) -> Result<Value> {
        let (ctx, _) = self.auth(Op::X402Fetch).await?;
        let req = parse_body(request)?;
        to_json(self.engine.x402_fetch(&ctx, req).await?)
    }

    async fn list_action_providers(&self) -> Result<Value> {
        self.auth(Op::ListActionProviders).await?;
        to_json(self.engine.list_action_providers())
    }

    async fn execute_action(&self, provider: String, action: String, request: Value, dry_run: bool) -> Result<Value> {
        let (ctx, _) = self.auth(Op::ExecuteAction).await?;
        let req = parse_body(request)?;
        to_json(self.engine.execute_action(&ctx, &provider, &action, req, dry_run).await?)
    }

    async fn get_transaction(&self, id: String) -> Result<Value> {
        let (ctx, _) = self.auth(Op::GetTransaction).await?;
        to_json(self.engine.get_transaction(&Caller::Session(&ctx), &id).await?)
    }

    async fn list_transactions(&self, q: TxListQuery) -> Result<Value> {
        let (ctx, _) = self.auth(Op::ListTransactions).await?;
        to_json(self.engine.list_transactions(&ctx, q.wallet_id.as_deref(), q.cursor.as_deref(), q.limit).await?)
    }

    async fn list_pending_transactions(&self, wallet_id: Option<String>) -> Result<Value> {
        let (ctx, _) = self.auth(Op::ListPendingTransactions).await?;
        to_json(self.engine.pending_transactions(&ctx, wallet_id.as_deref()).await?)
    }

    async fn list_incoming_transactions(&self, q: crate::api::types::IncomingList) -> Result<Value> {
        let (ctx, _) = self.auth(Op::ListIncomingTransactions).await?;
        to_json(self.engine.list_incoming(&ctx, q).await?)
    }

    async fn get_incoming_summary(&self, q: crate::api::types::IncomingSummaryQuery) -> Result<Value> {
        let (ctx, _) = self.auth(Op::GetIncomingTransactionSummary).await?;
        to_json(self.engine.incoming_summary(&ctx, q).await?)
    }

    async fn cancel_transaction(&self, id: String) -> Result<Value> {
        let (ctx, _) = self.auth(Op::CancelTransaction).await?;
        to_json(self.engine.cancel_transaction(&Caller::Session(&ctx), &id).await?)
    }

    async fn encode_calldata(&self, request: Value) -> Result<Value> {
        self.auth(Op::EncodeCalldata).await?;
        let b: Encode = parse_body(request)?;
        to_json(self.engine.encode_calldata(&b.abi, &b.function_name, &b.args)?)
    }

    async fn get_nonce(&self) -> Result<Value> {
        self.auth(Op::GetNonce).await?;
        to_json(self.engine.nonce().await?)
    }

    async fn renew_session(&self) -> Result<Value> {
        let (ctx, token) = self.auth(Op::RenewSession).await?;
        let renewed = self.engine.renew_session(&ctx, &ctx.session_id, &token).await?;
        *self.token.write().unwrap_or_else(|e| e.into_inner()) = renewed.token.clone();
        to_json(renewed)
    }

    fn session_token(&self) -> String {
        self.token.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The operator in this process. Holding an [`Engine`] means its master password was
/// checked when it was opened, so calls carry no further credential.
pub struct EmbeddedAdmin {
    engine: Engine,
}

impl EmbeddedAdmin {
    pub fn new(engine: Engine) -> EmbeddedAdmin {
        EmbeddedAdmin { engine }
    }

    /// [`open_embedded`], wrapped.
    pub async fn open(data_dir: &Path, master_password: &str) -> Result<EmbeddedAdmin> {
        Ok(EmbeddedAdmin::new(open_embedded(data_dir, master_password).await?))
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// An agent of this engine presenting `session_token`.
    pub fn agent(&self, session_token: String) -> EmbeddedAgent {
        EmbeddedAgent::new(self.engine.clone(), session_token)
    }

    /// The domain owner messages must name: the engine's canonical origin
    /// ([`Engine::owner_domain`]: `daemon.public_url`, else `daemon.hostname:port`).
    pub fn owner_domain(&self) -> String {
        self.engine.owner_domain()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WalletUpdate {
    name: Option<String>,
    monitor_incoming: Option<bool>,
}

#[async_trait]
impl AdminApi for EmbeddedAdmin {
    async fn create_wallet(&self, request: Value) -> Result<Value> {
        self.engine.admit(Op::CreateWallet)?;
        to_json(self.engine.create_wallet(parse_body(request)?).await?)
    }

    async fn list_wallets(&self) -> Result<Value> {
        self.engine.admit(Op::ListWallets)?;
        to_json(self.engine.list_wallets(&Caller::Master).await?)
    }

    async fn get_wallet(&self, id: String) -> Result<Value> {
        self.engine.admit(Op::GetWallet)?;
        to_json(self.engine.get_wallet(&Caller::Master, &id).await?)
    }

    /// `PUT` (name) and/or `PATCH` (monitorIncoming), then the wallet's detail.
    async fn update_wallet(&self, id: String, request: Value) -> Result<Value> {
        self.engine.admit(Op::UpdateWallet)?;
        let u: WalletUpdate = parse_body(request)?;
        if u.name.is_none() && u.monitor_incoming.is_none() {
            return Err(Error::validation("body", "name or monitorIncoming is required"));
        }
        if let Some(name) = &u.name {
            self.engine.rename_wallet(&id, name).await?;
        }
        if u.monitor_incoming.is_some() {
            self.engine.set_monitor_incoming(&id, u.monitor_incoming).await?;
        }
        to_json(self.engine.get_wallet(&Caller::Master, &id).await?)
    }

    async fn suspend_wallet(&self, id: String, reason: Option<String>) -> Result<Value> {
        self.engine.admit(Op::SuspendWallet)?;
        to_json(self.engine.suspend_wallet(&id, reason.as_deref()).await?)
    }

    async fn resume_wallet(&self, id: String) -> Result<Value> {
        self.engine.admit(Op::ResumeWallet)?;
        to_json(self.engine.resume_wallet(&id).await?)
    }

    async fn terminate_wallet(&self, id: String) -> Result<Value> {
        self.engine.admit(Op::DeleteWallet)?;
        to_json(self.engine.terminate_wallet(&id).await?)
    }

    async fn wallet_networks(&self, id: String) -> Result<Value> {
        self.engine.admit(Op::GetWalletNetworks)?;
        to_json(self.engine.wallet_networks(&Caller::Master, &id).await?)
    }

    async fn create_session(&self, request: Value) -> Result<Value> {
        self.engine.admit(Op::CreateSession)?;
        to_json(self.engine.create_session(parse_body(request)?).await?)
    }

    async fn list_sessions(&self, wallet_id: Option<String>) -> Result<Value> {
        self.engine.admit(Op::ListSessions)?;
        to_json(self.engine.list_sessions(wallet_id.as_deref(), None, None).await?)
    }

    async fn revoke_session(&self, id: String) -> Result<Value> {
        self.engine.admit(Op::RevokeSession)?;
        to_json(self.engine.revoke_session(&id).await?)
    }

    async fn create_policy(&self, request: Value) -> Result<Value> {
        self.engine.admit(Op::CreatePolicy)?;
        to_json(self.engine.create_policy(parse_body(request)?).await?)
    }

    async fn list_policies(&self, wallet_id: Option<String>) -> Result<Value> {
        self.engine.admit(Op::ListPolicies)?;
        to_json(self.engine.list_policies(&Caller::Master, wallet_id.as_deref(), None, None).await?)
    }

    async fn update_policy(&self, id: String, request: Value) -> Result<Value> {
        self.engine.admit(Op::UpdatePolicy)?;
        to_json(self.engine.update_policy(&id, parse_body(request)?).await?)
    }

    async fn delete_policy(&self, id: String) -> Result<Value> {
        self.engine.admit(Op::DeletePolicy)?;
        to_json(self.engine.delete_policy(&id).await?)
    }

    async fn kill_switch_status(&self) -> Result<Value> {
        self.engine.admit(Op::GetKillSwitch)?;
        to_json(self.engine.kill_switch_status().await?)
    }

    async fn activate_kill_switch(&self) -> Result<Value> {
        self.engine.admit(Op::ActivateKillSwitch)?;
        let st = self.engine.activate_kill_switch("master").await?;
        to_json(KillSwitchActivateResponse::from(st))
    }

    async fn recover_kill_switch(&self) -> Result<Value> {
        self.engine.admit(Op::RecoverKillSwitch)?;
        let st = self.engine.recover_kill_switch("master", None).await?;
        to_json(RecoverResponse { state: st.state, recovered_at: self.engine.now() })
    }

    async fn set_owner(&self, id: String, owner_address: String) -> Result<Value> {
        self.engine.admit(Op::SetWalletOwner)?;
        to_json(self.engine.set_owner(&id, &owner_address).await?)
    }

    async fn verify_owner(&self, id: String, proof: OwnerProof) -> Result<Value> {
        self.engine.admit(Op::VerifyWalletOwner)?;
        to_json(self.engine.verify_owner(&id, &proof).await?)
    }

    /// Open while the kill switch is engaged (owners sign recovery with it), as in the daemon.
    async fn get_nonce(&self) -> Result<Value> {
        self.engine.admit(Op::GetNonce)?;
        to_json(self.engine.nonce().await?)
    }

    async fn change_master_password(&self, new_password: String) -> Result<Value> {
        self.engine.admit(Op::ChangeMasterPassword)?;
        let n = self.engine.change_master_password(&new_password).await?;
        to_json(MasterPasswordChangeResponse::new(n as u64))
    }

    async fn create_backup(&self) -> Result<Value> {
        self.engine.admit(Op::CreateBackup)?;
        to_json(self.engine.create_backup().await?)
    }

    async fn list_backups(&self) -> Result<Value> {
        self.engine.admit(Op::ListBackups)?;
        to_json(self.engine.backup_list().await?)
    }

    async fn approve_transaction(&self, id: String, proof: OwnerProof) -> Result<Value> {
        self.engine.admit(Op::ApproveTransaction)?;
        to_json(self.engine.approve_transaction(&id, &proof).await?)
    }

    async fn reject_transaction(&self, id: String, proof: OwnerProof) -> Result<Value> {
        self.engine.admit(Op::RejectTransaction)?;
        to_json(self.engine.reject_transaction(&id, &proof).await?)
    }

    async fn owner_activate_kill_switch(&self, proof: OwnerProof) -> Result<Value> {
        self.engine.admit(Op::OwnerActivateKillSwitch)?;
        let st = self.engine.owner_activate_kill_switch(&proof).await?;
        to_json(KillSwitchActivateResponse::from(st))
    }

    fn owner_domain(&self) -> Option<String> {
        Some(EmbeddedAdmin::owner_domain(self))
    }
}
