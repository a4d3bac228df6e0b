//! The HTTP face of a client: [`AgentApi`] and [`AdminApi`] over a daemon's `/v1` REST API.
//!
//! The agent sends `Authorization: Bearer <session token>`, the operator
//! `X-Master-Password`, and the owner's decisions (approve, reject, verify, the owner's kill
//! switch) only the owner's signed message (`X-Owner-Address`, `X-Owner-Message` base64,
//! `X-Owner-Signature`), whose domain must be the `Host` this client sends
//! ([`RemoteAdmin::owner_domain`]). A daemon's error body (`{code, message, retryable, details?, hint?}`)
//! becomes the same [`crate::Error`] ([`Error::from_body`]); a daemon that cannot be
//! reached is `NETWORK_ERROR`, one that does not answer within the timeout
//! `REQUEST_TIMEOUT`, and an answer that is not a WAIaaS body `UNKNOWN_ERROR` naming the
//! HTTP status. Nothing is retried automatically: a send is not idempotent unless it
//! carries an idempotency key, and every error says whether it is `retryable`.

use super::{AdminApi, AgentApi, OwnerProof, TxListQuery, WalletQuery};
use crate::api::Op;
use crate::error::{Error, ErrorCode, Result};
use async_trait::async_trait;
use base64::Engine as _;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use std::sync::RwLock;
use std::time::Duration;

/// Per-request timeout of the HTTP clients.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

const USER_AGENT: &str = concat!("waiaas-client/", env!("CARGO_PKG_VERSION"));

/// One daemon base URL and an HTTP client.
#[derive(Clone)]
struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    fn new(base_url: &str) -> Result<Http> {
        let base = base_url.trim().trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&base).map_err(|e| Error::validation("baseUrl", format!("'{base_url}' is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::validation("baseUrl", format!("'{base_url}' must be an http:// or https:// URL")));
        }
        let client = reqwest::Client::builder()
            .timeout(DEFAULT_TIMEOUT)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Http { base, client })
    }

    /// A request for the declared operation `op`, its path parameters filled from `params`.
    fn op(&self, op: Op, params: &[&str]) -> RequestBuilder {
        let method = Method::from_bytes(op.spec().method.as_bytes()).unwrap_or(Method::GET);
        self.client.request(method, format!("{}{}", self.base, op.path_with(params)))
    }

    /// Send, and turn the answer into a JSON value or the daemon's error.
    async fn send(&self, req: RequestBuilder, what: &str) -> Result<Value> {
        let res = req.send().await.map_err(|e| self.transport_error(e, what))?;
        let status = res.status().as_u16();
        let text = res.text().await.map_err(|e| self.transport_error(e, what))?;
        if status >= 400 {
            let body = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
            return Err(Error::from_body(status, &body));
        }
        if text.trim().is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_str(&text).map_err(|_| {
            let snippet: String = text.chars().take(200).collect();
            Error::new(ErrorCode::UNKNOWN_ERROR, format!("{what}: HTTP {status} with a body that is not JSON (is {} a WAIaaS daemon?): {snippet}", self.base))
                .with_details(json!({"remoteStatus": status}))
        })
    }

    /// The `Host` header this client sends: `host[:port]` of the base URL (the port only
    /// when it is not the scheme's default), the domain owner messages must name.
    fn host(&self) -> String {
        match reqwest::Url::parse(&self.base) {
            Ok(u) => format!("{}{}", u.host_str().unwrap_or_default(), u.port().map(|p| format!(":{p}")).unwrap_or_default()),
            Err(_) => String::new(),
        }
    }

    fn transport_error(&self, e: reqwest::Error, what: &str) -> Error {
        if e.is_timeout() {
            Error::new(ErrorCode::REQUEST_TIMEOUT, format!("{what}: the daemon at {} did not answer within {} s", self.base, DEFAULT_TIMEOUT.as_secs()))
        } else if e.is_builder() {
            Error::validation("request", format!("{what}: cannot build the request: {e}"))
        } else {
            // reqwest's Display hides the cause ("error sending request"): show the chain.
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                src = s.source();
            }
            Error::new(ErrorCode::NETWORK_ERROR, format!("{what}: cannot reach the WAIaaS daemon at {}: {msg}", self.base))
        }
    }
}

/// Query pairs of the set options.
/// The query pairs of a filter struct: its set fields by their serialized names.
fn query_of(q: &impl serde::Serialize) -> Result<Vec<(String, String)>> {
    let Value::Object(fields) = serde_json::to_value(q).map_err(Error::internal_from)? else { return Ok(vec![]) };
    Ok(fields
        .into_iter()
        .filter_map(|(k, v)| match v {
            Value::Null => None,
            Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect())
}

fn query(pairs: &[(&str, &Option<String>)]) -> Vec<(String, String)> {
    pairs.iter().filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone()))).collect()
}

/// The session id (`sub` claim) of a `wai_sess_` token, read without verifying it (the
/// daemon verifies it): what `PUT /v1/sessions/{id}/renew` needs.
pub fn session_id_of(token: &str) -> Result<String> {
    let invalid = || Error::new(ErrorCode::INVALID_TOKEN, "Invalid session token: expected wai_sess_<JWT>");
    let jwt = token.strip_prefix(crate::auth::token::TOKEN_PREFIX).ok_or_else(invalid)?;
    let payload = jwt.split('.').nth(1).ok_or_else(invalid)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).map_err(|_| invalid())?;
    let claims: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    claims.get("sub").and_then(Value::as_str).map(str::to_string).ok_or_else(invalid)
}

/// An agent talking to a daemon with a session token.
pub struct RemoteAgent {
    http: Http,
    token: RwLock<String>,
}

impl RemoteAgent {
    pub fn new(base_url: &str, session_token: String) -> Result<RemoteAgent> {
        Ok(RemoteAgent { http: Http::new(base_url)?, token: RwLock::new(session_token) })
    }

    pub fn base_url(&self) -> &str {
        &self.http.base
    }

    fn req(&self, op: Op, params: &[&str]) -> RequestBuilder {
        self.http.op(op, params).bearer_auth(self.session_token())
    }

    async fn call(&self, op: Op, params: &[&str], q: Vec<(String, String)>, body: Option<&Value>) -> Result<Value> {
        let mut req = self.req(op, params).query(&q);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.http.send(req, op.spec().path).await
    }
}

fn wallet_query(q: &WalletQuery) -> Vec<(String, String)> {
    query(&[("walletId", &q.wallet_id), ("network", &q.network)])
}

#[async_trait]
impl AgentApi for RemoteAgent {
    async fn get_address(&self, q: WalletQuery) -> Result<Value> {
        self.call(Op::GetWalletAddress, &[], wallet_query(&q), None).await
    }

    async fn get_balance(&self, q: WalletQuery) -> Result<Value> {
        self.call(Op::GetWalletBalance, &[], wallet_query(&q), None).await
    }

    async fn get_assets(&self, q: WalletQuery) -> Result<Value> {
        self.call(Op::GetWalletAssets, &[], wallet_query(&q), None).await
    }

    async fn connect_info(&self) -> Result<Value> {
        self.call(Op::GetConnectInfo, &[], vec![], None).await
    }

    async fn send_transaction(&self, request: Value, idempotency_key: Option<String>) -> Result<Value> {
        let mut req = self.req(Op::SendTransaction, &[]).json(&request);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        self.http.send(req, Op::SendTransaction.spec().path).await
    }

    async fn simulate_transaction(&self, request: Value) -> Result<Value> {
        self.call(Op::SimulateTransaction, &[], vec![], Some(&request)).await
    }

    async fn sign_transaction(&self, request: Value) -> Result<Value> {
        self.call(Op::SignTransaction, &[], vec![], Some(&request)).await
    }

    async fn sign_message(&self, request: Value) -> Result<Value> {
        self.call(Op::SignMessage, &[], vec![], Some(&request)).await
    }

    async fn x402_fetch(&self, request: Value) -> Result<Value> {
        self.call(Op::X402Fetch, &[], vec![], Some(&request)).await
    }

    async fn list_action_providers(&self) -> Result<Value> {
        self.call(Op::ListActionProviders, &[], vec![], None).await
    }

    async fn execute_action(&self, provider: String, action: String, request: Value, dry_run: bool) -> Result<Value> {
        let q = if dry_run { vec![("dryRun".to_string(), "true".to_string())] } else { vec![] };
        self.call(Op::ExecuteAction, &[&provider, &action], q, Some(&request)).await
    }

    async fn get_transaction(&self, id: String) -> Result<Value> {
        self.call(Op::GetTransaction, &[&id], vec![], None).await
    }

    async fn list_transactions(&self, q: TxListQuery) -> Result<Value> {
        let limit = q.limit.map(|l| l.to_string());
        self.call(Op::ListTransactions, &[], query(&[("walletId", &q.wallet_id), ("cursor", &q.cursor), ("limit", &limit)]), None).await
    }

    async fn list_pending_transactions(&self, wallet_id: Option<String>) -> Result<Value> {
        self.call(Op::ListPendingTransactions, &[], query(&[("walletId", &wallet_id)]), None).await
    }

    async fn list_incoming_transactions(&self, q: crate::api::types::IncomingList) -> Result<Value> {
        self.call(Op::ListIncomingTransactions, &[], query_of(&q)?, None).await
    }

    async fn get_incoming_summary(&self, q: crate::api::types::IncomingSummaryQuery) -> Result<Value> {
        self.call(Op::GetIncomingTransactionSummary, &[], query_of(&q)?, None).await
    }

    async fn cancel_transaction(&self, id: String) -> Result<Value> {
        self.call(Op::CancelTransaction, &[&id], vec![], None).await
    }

    async fn encode_calldata(&self, request: Value) -> Result<Value> {
        self.call(Op::EncodeCalldata, &[], vec![], Some(&request)).await
    }

    async fn get_nonce(&self) -> Result<Value> {
        self.call(Op::GetNonce, &[], vec![], None).await
    }

    async fn renew_session(&self) -> Result<Value> {
        let id = session_id_of(&self.session_token())?;
        let renewed = self.call(Op::RenewSession, &[&id], vec![], None).await?;
        let token = renewed
            .get("token")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::new(ErrorCode::UNKNOWN_ERROR, "the daemon renewed the session but sent no token"))?;
        *self.token.write().unwrap_or_else(|e| e.into_inner()) = token.to_string();
        Ok(renewed)
    }

    fn session_token(&self) -> String {
        self.token.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The operator talking to a daemon with the master password.
pub struct RemoteAdmin {
    http: Http,
    password: String,
}

impl RemoteAdmin {
    pub fn new(base_url: &str, master_password: String) -> Result<RemoteAdmin> {
        Ok(RemoteAdmin { http: Http::new(base_url)?, password: master_password })
    }

    pub fn base_url(&self) -> &str {
        &self.http.base
    }

    async fn call(&self, op: Op, params: &[&str], q: Vec<(String, String)>, body: Option<&Value>) -> Result<Value> {
        let mut req = self.http.op(op, params).header("X-Master-Password", &self.password).query(&q);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.http.send(req, op.spec().path).await
    }
}

/// The `X-Owner-Message` header value: the base64 of the message text (headers cannot carry
/// new lines). A proof whose message already is the base64 of an owner message is sent as is.
fn owner_message_header(message: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let already = b64.decode(message.trim()).ok().and_then(|b| String::from_utf8(b).ok()).is_some_and(|t| t.contains(" wants you to sign in with your "));
    if already {
        message.trim().to_string()
    } else {
        b64.encode(message)
    }
}

impl RemoteAdmin {
    /// The domain owner messages sent through this client must name: the `Host` it sends
    /// (`127.0.0.1:3100` for `http://127.0.0.1:3100`).
    pub fn owner_domain(&self) -> String {
        self.http.host()
    }

    /// A request authorized by the owner's signature alone (no master password).
    async fn owner_call(&self, op: Op, params: &[&str], proof: &OwnerProof) -> Result<Value> {
        let req = self
            .http
            .op(op, params)
            .header("X-Owner-Address", proof.address.trim())
            .header("X-Owner-Message", owner_message_header(&proof.message))
            .header("X-Owner-Signature", proof.signature.trim());
        self.http.send(req, op.spec().path).await
    }
}

#[async_trait]
impl AdminApi for RemoteAdmin {
    async fn create_wallet(&self, request: Value) -> Result<Value> {
        self.call(Op::CreateWallet, &[], vec![], Some(&request)).await
    }

    async fn list_wallets(&self) -> Result<Value> {
        self.call(Op::ListWallets, &[], vec![], None).await
    }

    async fn get_wallet(&self, id: String) -> Result<Value> {
        self.call(Op::GetWallet, &[&id], vec![], None).await
    }

    /// `PUT` (name) and/or `PATCH` (monitorIncoming), then the wallet's detail.
    async fn update_wallet(&self, id: String, request: Value) -> Result<Value> {
        let name = request.get("name").filter(|v| !v.is_null());
        let monitor = request.get("monitorIncoming").filter(|v| !v.is_null());
        if name.is_none() && monitor.is_none() {
            return Err(Error::validation("body", "name or monitorIncoming is required"));
        }
        if let Some(n) = name {
            self.call(Op::UpdateWallet, &[&id], vec![], Some(&json!({"name": n}))).await?;
        }
        if let Some(m) = monitor {
            self.call(Op::PatchWallet, &[&id], vec![], Some(&json!({"monitorIncoming": m}))).await?;
        }
        self.call(Op::GetWallet, &[&id], vec![], None).await
    }

    async fn suspend_wallet(&self, id: String, reason: Option<String>) -> Result<Value> {
        self.call(Op::SuspendWallet, &[&id], vec![], Some(&json!({"reason": reason}))).await
    }

    async fn resume_wallet(&self, id: String) -> Result<Value> {
        self.call(Op::ResumeWallet, &[&id], vec![], None).await
    }

    async fn terminate_wallet(&self, id: String) -> Result<Value> {
        self.call(Op::DeleteWallet, &[&id], vec![], None).await
    }

    async fn wallet_networks(&self, id: String) -> Result<Value> {
        self.call(Op::GetWalletNetworks, &[&id], vec![], None).await
    }

    async fn create_session(&self, request: Value) -> Result<Value> {
        self.call(Op::CreateSession, &[], vec![], Some(&request)).await
    }

    async fn list_sessions(&self, wallet_id: Option<String>) -> Result<Value> {
        self.call(Op::ListSessions, &[], query(&[("walletId", &wallet_id)]), None).await
    }

    async fn revoke_session(&self, id: String) -> Result<Value> {
        self.call(Op::RevokeSession, &[&id], vec![], None).await
    }

    async fn create_policy(&self, request: Value) -> Result<Value> {
        self.call(Op::CreatePolicy, &[], vec![], Some(&request)).await
    }

    async fn list_policies(&self, wallet_id: Option<String>) -> Result<Value> {
        self.call(Op::ListPolicies, &[], query(&[("walletId", &wallet_id)]), None).await
    }

    async fn update_policy(&self, id: String, request: Value) -> Result<Value> {
        self.call(Op::UpdatePolicy, &[&id], vec![], Some(&request)).await
    }

    async fn delete_policy(&self, id: String) -> Result<Value> {
        self.call(Op::DeletePolicy, &[&id], vec![], None).await
    }

    async fn kill_switch_status(&self) -> Result<Value> {
        self.call(Op::GetKillSwitch, &[], vec![], None).await
    }

    async fn activate_kill_switch(&self) -> Result<Value> {
        self.call(Op::ActivateKillSwitch, &[], vec![], None).await
    }

    async fn recover_kill_switch(&self) -> Result<Value> {
        self.call(Op::RecoverKillSwitch, &[], vec![], None).await
    }

    async fn set_owner(&self, id: String, owner_address: String) -> Result<Value> {
        // The upstream body is snake_case.
        self.call(Op::SetWalletOwner, &[&id], vec![], Some(&json!({"owner_address": owner_address}))).await
    }

    async fn verify_owner(&self, id: String, proof: OwnerProof) -> Result<Value> {
        self.owner_call(Op::VerifyWalletOwner, &[&id], &proof).await
    }

    async fn get_nonce(&self) -> Result<Value> {
        // Public: no credential sent.
        self.http.send(self.http.op(Op::GetNonce, &[]), Op::GetNonce.spec().path).await
    }

    async fn change_master_password(&self, new_password: String) -> Result<Value> {
        self.call(Op::ChangeMasterPassword, &[], vec![], Some(&json!({"newPassword": new_password}))).await
    }

    async fn create_backup(&self) -> Result<Value> {
        self.call(Op::CreateBackup, &[], vec![], None).await
    }

    async fn list_backups(&self) -> Result<Value> {
        self.call(Op::ListBackups, &[], vec![], None).await
    }

    async fn approve_transaction(&self, id: String, proof: OwnerProof) -> Result<Value> {
        self.owner_call(Op::ApproveTransaction, &[&id], &proof).await
    }

    async fn reject_transaction(&self, id: String, proof: OwnerProof) -> Result<Value> {
        self.owner_call(Op::RejectTransaction, &[&id], &proof).await
    }

    async fn owner_activate_kill_switch(&self, proof: OwnerProof) -> Result<Value> {
        self.owner_call(Op::OwnerActivateKillSwitch, &[], &proof).await
    }

    fn owner_domain(&self) -> Option<String> {
        Some(RemoteAdmin::owner_domain(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_is_read_from_the_token() {
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"0190-abc","iat":1}"#);
        assert_eq!(session_id_of(&format!("wai_sess_eyJhbGciOiJIUzI1NiJ9.{claims}.sig")).unwrap(), "0190-abc");
        assert_eq!(session_id_of("nope").unwrap_err().code, ErrorCode::INVALID_TOKEN);
        assert_eq!(session_id_of("wai_sess_a.!!.c").unwrap_err().code, ErrorCode::INVALID_TOKEN);
    }

    #[test]
    fn owner_headers_and_domain() {
        let text = "127.0.0.1:3100 wants you to sign in with your Ethereum account:\n0xabc\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(text);
        assert_eq!(owner_message_header(text), b64, "the text is base64-encoded");
        assert_eq!(owner_message_header(&b64), b64, "a base64 message is sent as is");
        let admin = |u: &str| RemoteAdmin::new(u, "p".into()).unwrap().owner_domain();
        assert_eq!(admin("http://127.0.0.1:3100/"), "127.0.0.1:3100");
        assert_eq!(admin("http://localhost"), "localhost");
        assert_eq!(admin("https://wallet.example:8443"), "wallet.example:8443");
    }

    #[tokio::test]
    async fn unreachable_and_invalid_daemons_give_clear_errors() {
        assert_eq!(RemoteAgent::new("not a url", "t".into()).err().unwrap().code, ErrorCode::ACTION_VALIDATION_FAILED);
        assert_eq!(RemoteAdmin::new("ftp://x", "p".into()).err().unwrap().code, ErrorCode::ACTION_VALIDATION_FAILED);
        // A port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let agent = RemoteAgent::new(&format!("http://127.0.0.1:{port}/"), "wai_sess_x".into()).unwrap();
        let e = agent.get_balance(WalletQuery::default()).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::NETWORK_ERROR);
        assert!(e.retryable() && e.message.contains(&format!("127.0.0.1:{port}")), "{e}");
    }

    #[tokio::test]
    async fn a_server_that_is_not_a_daemon_is_named() {
        // A one-shot HTTP server answering plain text.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            for status in ["404 Not Found", "200 OK"] {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let body = "hello, not json";
                let _ = s.write_all(format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).as_bytes()).await;
            }
        });
        let admin = RemoteAdmin::new(&format!("http://{addr}"), "pw".into()).unwrap();
        let e = admin.list_wallets().await.unwrap_err();
        assert_eq!(e.code, ErrorCode::UNKNOWN_ERROR);
        assert!(e.message.contains("HTTP 404") && e.message.contains("hello, not json"), "{e}");
        let e = admin.list_wallets().await.unwrap_err();
        assert_eq!(e.code, ErrorCode::UNKNOWN_ERROR);
        assert!(e.message.contains("not JSON"), "{e}");
    }
}
