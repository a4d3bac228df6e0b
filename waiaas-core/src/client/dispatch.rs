//! Calls by method name, for the faces that receive a name and JSON arguments (the Python
//! binding; the Node binding uses the shared checks). Every name is a client method of the
//! operation table ([`crate::api::OPERATIONS`]'s `agent` and `admin` columns) or one of the
//! client-side helpers listed in [`AGENT_HELPERS`]; a unit test holds the two together.

use super::{AdminApi, AgentApi, OwnerProof, TxListQuery, WalletQuery};
use crate::error::{Error, ErrorCode, Result};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// Agent methods that are not one operation: they run on the client side over others.
pub const AGENT_HELPERS: &[&str] = &["wait_for_transaction"];

/// The arguments of every method, by their REST names (camelCase).
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CallArgs {
    pub wallet_id: Option<String>,
    pub network: Option<String>,
    pub id: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    pub request: Value,
    pub idempotency_key: Option<String>,
    /// Seconds (`wait_for_transaction`).
    pub timeout: Option<f64>,
    pub reason: Option<String>,
    pub owner_address: Option<String>,
    pub new_password: Option<String>,
    /// The owner's signed message (`{address, message, signature}`).
    pub proof: Option<OwnerProof>,
    /// `execute_action`: the provider, its action, and whether only to explain the decision.
    pub provider: Option<String>,
    pub action: Option<String>,
    pub dry_run: Option<bool>,
}

impl CallArgs {
    /// A list's filters, given as the object `request` (absent: none).
    fn filters<T: serde::de::DeserializeOwned + Default>(&self) -> Result<T> {
        if self.request.is_null() {
            return Ok(T::default());
        }
        serde_json::from_value(self.request.clone()).map_err(|e| Error::validation("request", e.to_string()))
    }

    /// Parse the JSON object of a call's arguments (empty text: no arguments).
    pub fn parse(json: &str) -> Result<CallArgs> {
        if json.trim().is_empty() {
            return Ok(CallArgs::default());
        }
        serde_json::from_str(json).map_err(|e| Error::validation("args", e.to_string()))
    }

    fn id(&self) -> Result<String> {
        self.id.clone().filter(|s| !s.is_empty()).ok_or_else(|| Error::validation("id", "is required"))
    }

    fn query(&self) -> WalletQuery {
        WalletQuery { wallet_id: self.wallet_id.clone(), network: self.network.clone() }
    }

    fn proof(&self) -> Result<OwnerProof> {
        self.proof.clone().ok_or_else(|| Error::validation("proof", "address, message and signature are required"))
    }

    fn text(v: &Option<String>, field: &str) -> Result<String> {
        v.clone().filter(|s| !s.is_empty()).ok_or_else(|| Error::validation(field, "is required"))
    }

    fn timeout(&self) -> Result<Duration> {
        let secs = self.timeout.unwrap_or(60.0);
        if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) {
            return Err(Error::validation("timeout", "must be 0..86400 seconds"));
        }
        Ok(Duration::from_secs_f64(secs))
    }
}

fn unknown(method: &str) -> Error {
    Error::new(ErrorCode::ACTION_NOT_FOUND, format!("no such method: {method}"))
}

/// `PUT /v1/sessions/{id}/renew` of the client's own session. The upstream SDKs name the
/// session; it can only be the client's own (`SESSION_NOT_FOUND` otherwise, before any call).
pub async fn renew_own_session(api: &dyn AgentApi, session_id: Option<&str>) -> Result<Value> {
    if let Some(id) = session_id {
        if super::remote::session_id_of(&api.session_token()).ok().as_deref() != Some(id) {
            return Err(Error::new(ErrorCode::SESSION_NOT_FOUND, "Cannot renew a different session"));
        }
    }
    api.renew_session().await
}

/// Call the agent method `method` (an `agent` name of the operation table, or a helper).
pub async fn call_agent(api: &dyn AgentApi, method: &str, a: CallArgs) -> Result<Value> {
    match method {
        "get_address" => api.get_address(a.query()).await,
        "get_balance" => api.get_balance(a.query()).await,
        "get_assets" => api.get_assets(a.query()).await,
        "get_connect_info" => api.connect_info().await,
        "send_token" => api.send_transaction(a.request, a.idempotency_key).await,
        "simulate" => api.simulate_transaction(a.request).await,
        "sign_transaction" => api.sign_transaction(a.request).await,
        "sign_message" => api.sign_message(a.request).await,
        "x402_fetch" => api.x402_fetch(a.request).await,
        "list_action_providers" => api.list_action_providers().await,
        "execute_action" => {
            let required = |v: Option<String>, field: &str| v.filter(|s| !s.is_empty()).ok_or_else(|| Error::validation(field, "is required"));
            let (provider, action) = (required(a.provider, "provider")?, required(a.action, "action")?);
            api.execute_action(provider, action, a.request, a.dry_run.unwrap_or(false)).await
        }
        "get_transaction" => api.get_transaction(a.id()?).await,
        "list_transactions" => api.list_transactions(TxListQuery { wallet_id: a.wallet_id, cursor: a.cursor, limit: a.limit }).await,
        "list_pending_transactions" => api.list_pending_transactions(a.wallet_id).await,
        "list_incoming_transactions" => api.list_incoming_transactions(a.filters()?).await,
        "get_incoming_summary" => api.get_incoming_summary(a.filters()?).await,
        "cancel_transaction" => api.cancel_transaction(a.id()?).await,
        "encode_calldata" => api.encode_calldata(a.request).await,
        "get_nonce" => api.get_nonce().await,
        "renew_session" => renew_own_session(api, a.id.as_deref()).await,
        "wait_for_transaction" => {
            let timeout = a.timeout()?;
            api.wait_for_transaction(a.id()?, timeout).await
        }
        other => Err(unknown(other)),
    }
}

/// Call the operator method `method` (an `admin` name of the operation table).
pub async fn call_admin(api: &dyn AdminApi, method: &str, a: CallArgs) -> Result<Value> {
    match method {
        "create_wallet" => api.create_wallet(a.request).await,
        "list_wallets" => api.list_wallets().await,
        "get_wallet" => api.get_wallet(a.id()?).await,
        "update_wallet" => api.update_wallet(a.id()?, a.request).await,
        "suspend_wallet" => api.suspend_wallet(a.id()?, a.reason).await,
        "resume_wallet" => api.resume_wallet(a.id()?).await,
        "terminate_wallet" => api.terminate_wallet(a.id()?).await,
        "wallet_networks" => api.wallet_networks(a.id()?).await,
        "create_session" => api.create_session(a.request).await,
        "list_sessions" => api.list_sessions(a.wallet_id).await,
        "revoke_session" => api.revoke_session(a.id()?).await,
        "create_policy" => api.create_policy(a.request).await,
        "list_policies" => api.list_policies(a.wallet_id).await,
        "update_policy" => api.update_policy(a.id()?, a.request).await,
        "delete_policy" => api.delete_policy(a.id()?).await,
        "get_kill_switch_status" => api.kill_switch_status().await,
        "activate_kill_switch" => api.activate_kill_switch().await,
        "recover_kill_switch" => api.recover_kill_switch().await,
        "set_owner" => api.set_owner(a.id()?, CallArgs::text(&a.owner_address, "owner_address")?).await,
        "verify_owner" => api.verify_owner(a.id()?, a.proof()?).await,
        "get_nonce" => api.get_nonce().await,
        "approve_transaction" => api.approve_transaction(a.id()?, a.proof()?).await,
        "reject_transaction" => api.reject_transaction(a.id()?, a.proof()?).await,
        "owner_activate_kill_switch" => api.owner_activate_kill_switch(a.proof()?).await,
        "change_master_password" => api.change_master_password(CallArgs::text(&a.new_password, "new_password")?).await,
        "create_backup" => api.create_backup().await,
        "list_backups" => api.list_backups().await,
        other => Err(unknown(other)),
    }
}

/// The names of one client column of the operation table and `extra`, sorted, once each.
fn method_names(column: fn(&crate::api::Operation) -> Option<&'static str>, extra: &[&'static str]) -> Vec<&'static str> {
    let mut names: Vec<&str> = crate::api::OPERATIONS.iter().filter_map(column).chain(extra.iter().copied()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The agent method names of the operation table, then the helpers: what a binding's agent
/// class must offer.
pub fn agent_methods() -> Vec<&'static str> {
    method_names(|o| o.agent, AGENT_HELPERS)
}

/// The operator method names of the operation table: what a binding's operator class must offer.
pub fn admin_methods() -> Vec<&'static str> {
    method_names(|o| o.admin, &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{RemoteAdmin, RemoteAgent};

    /// Every declared name is dispatched (against a port nothing listens on, each call fails
    /// on the network or on its arguments, never as an unknown method), and nothing else is.
    #[tokio::test]
    async fn every_declared_method_is_dispatched_and_nothing_else() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let agent = RemoteAgent::new(&base, "wai_sess_x".into()).unwrap();
        let admin = RemoteAdmin::new(&base, "pw".into()).unwrap();
        let args = || CallArgs { id: Some("x".into()), timeout: Some(0.0), ..CallArgs::default() };
        for m in agent_methods() {
            let e = call_agent(&agent, m, args()).await.unwrap_err();
            assert_ne!(e.code, ErrorCode::ACTION_NOT_FOUND, "agent {m}: {e}");
        }
        for m in admin_methods() {
            let e = call_admin(&admin, m, args()).await.unwrap_err();
            assert_ne!(e.code, ErrorCode::ACTION_NOT_FOUND, "admin {m}: {e}");
        }
        assert_eq!(call_agent(&agent, "create_wallet", args()).await.unwrap_err().code, ErrorCode::ACTION_NOT_FOUND);
        assert_eq!(call_admin(&admin, "send_token", args()).await.unwrap_err().code, ErrorCode::ACTION_NOT_FOUND);
        assert!(agent_methods().contains(&"send_token") && admin_methods().contains(&"update_wallet"));
    }

    #[tokio::test]
    async fn renewing_another_session_is_refused_before_any_call() {
        let agent = RemoteAgent::new("http://127.0.0.1:9", "wai_sess_x".into()).unwrap();
        assert_eq!(renew_own_session(&agent, Some("someone-else")).await.unwrap_err().code, ErrorCode::SESSION_NOT_FOUND);
    }
}
