//! Owner approvals answered from a wallet app on the owner's phone, through the push relay
//! (upstream's "Signing SDK", `packages/daemon/src/services/signing-sdk/*`).
//!
//! When a transaction enters APPROVAL (the audit event `TX_APPROVAL_REQUIRED`, read by the
//! notification dispatcher like every channel) and its wallet routes to `sdk_push` with a
//! signing-enabled wallet app that has a subscription token and a relay URL:
//! 1. a sign request is **stored first** (`sign_requests`, one per transaction and channel,
//!    so a redelivered event pushes nothing twice), with the exact message the owner signs;
//! 2. the flat-string payload (upstream's D'CENT shape, with `universalLinkUrl`) is POSTed to
//!    the relay's `/v1/push` (`Authorization: Bearer <signing_sdk.relay_daemon_token>` when
//!    set);
//! 3. a long-poll worker asks the relay for the answer (`timeout=30`; 204 → again; errors →
//!    back-off with jitter up to 60 s, never giving up before the request expires: upstream
//!    stopped for good after 3 errors), and is started again at boot for every PENDING
//!    request ([`crate::Engine::resume_sign_requests`]). Workers stop with the engine's other
//!    workers.
//!
//! `sdk_telegram` (upstream's Telegram signing channel): no push; the Telegram notification
//! of `TX_APPROVAL_REQUIRED` carries the stored request as an "Open in Wallet" link
//! ([`crate::Engine::telegram_sign_request`]) and the owner's wallet answers with
//! `/sign_response <base64url(SignResponse)>` in the bot's chat (`channels::bot`).
//!
//! Every answer is checked here ([`check_answer`]), for reject as for approve: the wallet
//! has an owner, the signer is that owner, the signature (EIP-191 for EVM, Ed25519 base64 or
//! base58 for Solana) covers the **stored** message, and the request is unexpired and
//! unused. The request is then claimed (PENDING → APPROVED|REJECTED, a compare-and-swap, so a
//! replay gets `SIGN_REQUEST_ALREADY_PROCESSED`) and the same decision as `POST
//! /v1/transactions/{id}/approve|reject` runs, audited as `owner:<addr> via sdk_push` (or `via sdk_telegram`).

pub mod apps;

use crate::engine::Engine;
use crate::error::{Error, ErrorCode, Result};
use crate::network::{Chain, Network};
use crate::services::notify::{Event, NotificationChannel};
use crate::store::tx::TxStatus;
use crate::store::{SignRequestRecord, WalletAppRecord, WalletRecord};
use async_trait::async_trait;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The channel of requests pushed through the relay to a wallet app.
pub const CHANNEL_PUSH: &str = "sdk_push";
/// The channel of requests shown in the Telegram chat (answered with `/sign_response`).
pub const CHANNEL_TELEGRAM: &str = "sdk_telegram";
/// Upstream's approval methods (`PUT /v1/wallets/{id}/owner` `approval_method`).
pub const APPROVAL_METHODS: &[&str] = &["sdk_push", "sdk_telegram", "walletconnect", "telegram_bot", "rest"];
/// The long poll's `timeout` (upstream: 30 s).
const POLL_TIMEOUT_SECS: i64 = 30;
/// The longest wait between two polls after errors.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Upstream's `SignRequest` (signing protocol v1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignRequest {
    pub version: String,
    pub request_id: String,
    pub caip2_chain_id: String,
    pub network_name: String,
    pub signer_address: String,
    pub message: String,
    pub display_message: String,
    pub metadata: SignRequestMetadata,
    pub response_channel: Value,
    pub expires_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignRequestMetadata {
    pub tx_id: String,
    #[serde(rename = "type")]
    pub tx_type: String,
    pub from: String,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    pub policy_tier: String,
}

/// The sign request an `sdk_telegram` approval notification carries.
#[derive(Debug, Clone, PartialEq)]
pub struct TelegramSignRequest {
    pub request_id: String,
    /// The wallet app's universal link carrying the request, when the app has one.
    pub url: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The `SignRequest` of a stored request (its exact message, signer and expiry) for a
/// transaction summarised by `s`, answered through `response_channel`.
fn sign_request_of(row: &SignRequestRecord, s: &TxSummary, response_channel: Value) -> SignRequest {
    SignRequest {
        version: "1".into(),
        request_id: row.request_id.clone(),
        caip2_chain_id: row.caip2.clone(),
        network_name: s.network.clone(),
        signer_address: row.signer_address.clone(),
        message: row.message.clone(),
        display_message: display_message(s),
        metadata: SignRequestMetadata {
            tx_id: row.tx_id.clone(),
            tx_type: s.tx_type.clone(),
            from: s.from.clone(),
            to: s.to.clone(),
            amount: s.amount.clone(),
            symbol: s.symbol.clone(),
            policy_tier: "APPROVAL".into(),
        },
        response_channel,
        expires_at: crate::clock::iso_ms(row.expires_at * 1000),
    }
}

/// Upstream's `SignResponse` as the relay hands it back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignResponse {
    #[serde(default)]
    pub version: Option<String>,
    pub request_id: String,
    pub action: String,
    #[serde(default)]
    pub signature: Option<String>,
    pub signer_address: String,
    #[serde(default)]
    pub signed_at: Option<String>,
}

/// What the owner is asked to approve.
#[derive(Debug, Clone, PartialEq)]
pub struct TxSummary {
    pub tx_id: String,
    pub tx_type: String,
    pub from: String,
    pub to: String,
    /// Human amount (`1.5`), when the transaction moves a known amount.
    pub amount: Option<String>,
    pub symbol: Option<String>,
    /// The network id (`ethereum-sepolia`).
    pub network: String,
}

/// The exact text the owner signs (upstream's lines, `\n`-joined; the Amount line only
/// with an amount).
pub fn sign_message(s: &TxSummary, request_id: &str, timestamp_iso: &str) -> String {
    let mut lines = vec![
        "WAIaaS Transaction Approval".to_string(),
        String::new(),
        format!("Transaction: {}", s.tx_id),
        format!("Type: {}", s.tx_type),
        format!("From: {}", s.from),
        format!("To: {}", s.to),
    ];
    if let Some(a) = &s.amount {
        lines.push(match &s.symbol {
            Some(sym) => format!("Amount: {a} {sym}"),
            None => format!("Amount: {a}"),
        });
    }
    lines.extend([
        format!("Network: {}", s.network),
        "Policy Tier: APPROVAL".to_string(),
        String::new(),
        "Approve this transaction by signing this message.".to_string(),
        format!("Timestamp: {timestamp_iso}"),
        format!("Nonce: {request_id}"),
    ]);
    lines.join("\n")
}

fn short(addr: &str) -> String {
    if addr.chars().count() > 10 {
        format!("{}...", addr.chars().take(10).collect::<String>())
    } else {
        addr.to_string()
    }
}

/// Upstream's one-line summary: `TRANSFER 1.5 ETH from 0xabcdef12... to 0x12345678...`.
pub fn display_message(s: &TxSummary) -> String {
    let amount = match (&s.amount, &s.symbol) {
        (Some(a), Some(sym)) => format!(" {a} {sym}"),
        (Some(a), None) => format!(" {a}"),
        _ => String::new(),
    };
    format!("{}{amount} from {} to {}", s.tx_type, short(&s.from), short(&s.to))
}

/// A wallet app's universal link (`base`, `signPath`): from `signing_sdk.wallets` by the
/// app's wallet type or name, else the built-in D'CENT preset for `dcent`.
pub fn universal_link(wallets_json: &str, app: &WalletAppRecord) -> Option<(String, String)> {
    let configured: Vec<Value> = serde_json::from_str(wallets_json).unwrap_or_default();
    for w in configured {
        let name = w.get("name").and_then(Value::as_str).unwrap_or_default();
        if !name.is_empty() && (name == app.wallet_type || name == app.name) {
            let base = w.pointer("/universalLink/base").and_then(Value::as_str)?;
            let path = w.pointer("/universalLink/signPath").and_then(Value::as_str).unwrap_or_default();
            return Some((base.to_string(), path.to_string()));
        }
    }
    (app.wallet_type == "dcent" || app.name == "dcent").then(|| ("https://link.dcentwallet.com".to_string(), "/waiaas/sign".to_string()))
}

/// `<base><signPath>?data=<base64url(JSON SignRequest)>`.
pub fn universal_link_url(base: &str, sign_path: &str, req: &SignRequest) -> String {
    let json = serde_json::to_string(req).unwrap_or_default();
    let data = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.as_bytes());
    format!("{}{sign_path}?data={data}", base.trim_end_matches('/'))
}

/// The `sign_request` push payload: flat strings (upstream's D'CENT requirement), the nested
/// parts as JSON text.
pub fn push_payload(req: &SignRequest, link: Option<String>) -> Map<String, Value> {
    let mut p = Map::new();
    let mut put = |k: &str, v: String| {
        p.insert(k.to_string(), Value::String(v));
    };
    put("title", "WAIaaS Sign Request".into());
    put("body", req.display_message.clone());
    put("version", req.version.clone());
    put("requestId", req.request_id.clone());
    put("signerAddress", req.signer_address.clone());
    put("message", req.message.clone());
    put("displayMessage", req.display_message.clone());
    put("expiresAt", req.expires_at.clone());
    put("metadata", serde_json::to_string(&req.metadata).unwrap_or_default());
    put("responseChannel", req.response_channel.to_string());
    put("caip2ChainId", req.caip2_chain_id.clone());
    put("networkName", req.network_name.clone());
    if let Some(l) = link {
        put("universalLinkUrl", l);
    }
    p
}

/// Check an answer against its stored request and the wallet's owner (`owner`, normalised):
/// request unused and unexpired, action known, signer == owner == the address asked, and the
/// signature covers the stored message. Returns whether the owner approves.
pub fn check_answer(row: &SignRequestRecord, chain: Chain, owner: Option<&str>, resp: &SignResponse, now: i64) -> Result<bool> {
    if resp.request_id.trim() != row.request_id {
        return Err(Error::new(ErrorCode::INVALID_SIGN_RESPONSE, "The response is for another sign request"));
    }
    if row.status == "EXPIRED" {
        return Err(Error::new(ErrorCode::SIGN_REQUEST_EXPIRED, format!("Sign request '{}' expired", row.request_id)));
    }
    if row.status != "PENDING" {
        return Err(Error::new(ErrorCode::SIGN_REQUEST_ALREADY_PROCESSED, format!("Sign request '{}' is already {}", row.request_id, row.status)));
    }
    if now >= row.expires_at {
        return Err(Error::new(ErrorCode::SIGN_REQUEST_EXPIRED, format!("Sign request '{}' expired", row.request_id)));
    }
    let approve = match resp.action.as_str() {
        "approve" => true,
        "reject" => false,
        other => return Err(Error::new(ErrorCode::INVALID_SIGN_RESPONSE, format!("action must be approve or reject, not '{other}'"))),
    };
    let owner = owner.ok_or_else(|| Error::new(ErrorCode::OWNER_NOT_CONNECTED, "The wallet has no registered owner"))?;
    let signer = crate::auth::owner::normalize_owner_address(chain, resp.signer_address.trim())
        .map_err(|_| Error::new(ErrorCode::SIGNER_ADDRESS_MISMATCH, "signerAddress is not an address of the wallet's chain"))?;
    if signer != owner || signer != row.signer_address {
        return Err(Error::new(ErrorCode::SIGNER_ADDRESS_MISMATCH, "signerAddress is not the wallet's owner"));
    }
    let signature = resp
        .signature
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| Error::new(ErrorCode::INVALID_SIGNATURE, format!("A signature of the sign request's message is required to {}", resp.action)))?;
    crate::auth::owner::verify_signature(chain, owner, &row.message, signature)
        .map_err(|e| Error::new(ErrorCode::INVALID_SIGNATURE, format!("The signature does not cover the sign request's message: {}", e.message)))?;
    Ok(approve)
}

/// The outcome of a checked answer.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignAnswer {
    pub request_id: String,
    pub tx_id: String,
    /// `APPROVED` or `REJECTED`.
    pub status: String,
}

/// Relay URLs are the operator's (master-set); this keeps only the scheme check on use.
fn relay_endpoint(base: &str, path: &str) -> Result<String> {
    let base = base.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(Error::new(ErrorCode::INVALID_SIGN_RESPONSE, "The wallet app's push_relay_url is not an http(s) URL"));
    }
    Ok(format!("{base}{path}"))
}

impl Engine {
    fn signing_bearer(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let t = &self.config().signing_sdk.relay_daemon_token;
        if t.is_empty() {
            rb
        } else {
            rb.bearer_auth(t)
        }
    }

    /// POST `{relay}/v1/push` (`category`, flat `payload`) to the device of `subscription_token`.
    pub(crate) async fn relay_push(&self, relay_url: &str, subscription_token: &str, category: &str, payload: Map<String, Value>) -> Result<()> {
        let url = relay_endpoint(relay_url, "/v1/push")?;
        let body = json!({"subscriptionToken": subscription_token, "category": category, "payload": payload});
        let rb = self.inner.signing.http.post(&url).timeout(PUSH_TIMEOUT).json(&body);
        let resp =
            self.signing_bearer(rb).send().await.map_err(|e| Error::new(ErrorCode::NETWORK_ERROR, format!("push relay unreachable: {}", e.without_url())))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        let reason = serde_json::from_str::<Value>(&text).ok().and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string)).unwrap_or_default();
        Err(Error::new(ErrorCode::NETWORK_ERROR, format!("push relay answered {}: {}", status.as_u16(), reason.chars().take(200).collect::<String>())))
    }

    /// A wallet's approval route (`approval_method`, `wallet_type`), default when unset.
    async fn route_of(&self, wallet_id: &str) -> Result<crate::store::ApprovalRoute> {
        Ok(self.inner.store.approval_routes().await?.into_iter().find(|(id, _)| id == wallet_id).map(|(_, r)| r).unwrap_or_default())
    }

    /// Whether `route` sends approvals through `channel` (`sdk_push` or `sdk_telegram`): its
    /// `approval_method`, or unset with `signing_sdk.enabled` and the matching
    /// `signing_sdk.preferred_channel` (`push_relay` or `telegram`).
    fn routes_to(&self, route: &crate::store::ApprovalRoute, channel: &str) -> bool {
        let sdk = &self.config().signing_sdk;
        match route.approval_method.as_deref() {
            Some(m) => m == channel,
            None => sdk.enabled && sdk.preferred_channel == if channel == CHANNEL_PUSH { "push_relay" } else { "telegram" },
        }
    }

    /// The signing-enabled wallet app of `route`'s `wallet_type` (without one: the only
    /// signing-enabled app), if any.
    async fn signing_app(&self, route: &crate::store::ApprovalRoute) -> Result<Option<WalletAppRecord>> {
        let signing: Vec<WalletAppRecord> = self.inner.store.list_wallet_apps().await?.into_iter().filter(|a| a.signing_enabled).collect();
        Ok(match route.wallet_type.as_deref() {
            Some(t) => signing.into_iter().find(|a| a.wallet_type == t),
            None if signing.len() == 1 => signing.into_iter().next(),
            None => None,
        })
    }

    /// The wallet app a wallet's approvals go to, if any: the wallet's `approval_method` is
    /// `sdk_push` (or unset with `signing_sdk.enabled`), and a signing-enabled app of the
    /// wallet's `wallet_type` (without one: the only signing-enabled app) has a subscription
    /// token and a relay URL.
    async fn approval_app(&self, w: &WalletRecord) -> Result<Option<WalletAppRecord>> {
        let route = self.route_of(&w.id).await?;
        if !self.routes_to(&route, CHANNEL_PUSH) {
            return Ok(None);
        }
        let app = self.signing_app(&route).await?;
        Ok(app.filter(|a| a.subscription_token.is_some() && a.push_relay_url.is_some()))
    }

    /// The transaction `tx_id` if it waits for its owner's approval: QUEUED for APPROVAL, of a
    /// wallet with an owner. With the wallet, the owner and the transaction's metadata.
    async fn awaiting_owner(&self, tx_id: &str) -> Result<Option<(crate::store::tx::TxRecord, WalletRecord, String, Value)>> {
        let Some(tx) = self.inner.store.get_tx(tx_id).await? else { return Ok(None) };
        if tx.status() != TxStatus::Queued {
            return Ok(None);
        }
        let meta: Value = tx.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default();
        if meta.get("approvalRequired").and_then(Value::as_bool) != Some(true) {
            return Ok(None);
        }
        let Some(w) = self.inner.store.get_wallet(&tx.wallet_id).await? else { return Ok(None) };
        // No owner: the transaction never reached APPROVAL through the policy (it needs one).
        let Some(owner) = w.owner_address.clone() else { return Ok(None) };
        Ok(Some((tx, w, owner, meta)))
    }

    /// A new PENDING sign request row for `tx` on `channel`: the exact message the owner
    /// signs, expiring with `signing_sdk.request_expiry_min` or the approval window, whichever
    /// ends first (`None` when that is already over). With the transaction's summary.
    async fn new_sign_request(
        &self,
        tx: &crate::store::tx::TxRecord,
        w: &WalletRecord,
        owner: &str,
        meta: &Value,
        channel: &str,
        app: Option<&WalletAppRecord>,
    ) -> Option<(SignRequestRecord, TxSummary)> {
        let now = self.now();
        let mut expires_at = now + self.config().signing_sdk.request_expiry_min as i64 * 60;
        if let Some(e) = meta.get("approvalExpiresAt").and_then(Value::as_i64) {
            expires_at = expires_at.min(e);
        }
        if expires_at <= now {
            return None;
        }
        let request_id = crate::new_id();
        let summary = self.tx_summary(tx, w).await;
        let message = sign_message(&summary, &request_id, &crate::clock::iso_ms(now * 1000));
        let caip2 = Network::parse(&tx.network).ok().map(|n| n.info().caip2.to_string()).unwrap_or_default();
        let row = SignRequestRecord {
            request_id,
            tx_id: tx.id.clone(),
            wallet_id: w.id.clone(),
            channel: channel.into(),
            app_id: app.map(|a| a.id.clone()),
            relay_url: app.and_then(|a| a.push_relay_url.clone()).filter(|_| channel == CHANNEL_PUSH),
            message,
            signer_address: owner.to_string(),
            caip2,
            expires_at,
            status: "PENDING".into(),
            error: None,
            created_at: now,
            resolved_at: None,
        };
        Some((row, summary))
    }

    /// A transaction entered APPROVAL: store and push a sign request when its wallet routes
    /// to a wallet app; returns the request id (an existing one when the event came twice).
    pub async fn request_owner_signature(&self, tx_id: &str) -> Result<Option<String>> {
        let Some((tx, w, owner, meta)) = self.awaiting_owner(tx_id).await? else { return Ok(None) };
        let Some(app) = self.approval_app(&w).await? else { return Ok(None) };
        let (Some(token), Some(relay_url)) = (app.subscription_token.clone(), app.push_relay_url.clone()) else { return Ok(None) };
        let Some((row, summary)) = self.new_sign_request(&tx, &w, &owner, &meta, CHANNEL_PUSH, Some(&app)).await else { return Ok(None) };
        if let Some(existing) = self.inner.store.insert_sign_request(&row).await? {
            // The event came again (at-least-once delivery): nothing is pushed twice.
            if existing.status == "PENDING" {
                self.spawn_sign_poller(existing.clone());
            }
            return Ok(Some(existing.request_id));
        }
        let request_id = row.request_id.clone();
        let req = sign_request_of(&row, &summary, json!({"type": "push_relay", "pushRelayUrl": relay_url, "requestId": request_id}));
        let link = universal_link(&self.config().signing_sdk.wallets, &app).map(|(base, path)| universal_link_url(&base, &path, &req));
        let mut pushed = Err(Error::internal("not pushed"));
        for wait in [0u64, 1, 2] {
            tokio::time::sleep(Duration::from_secs(wait)).await;
            pushed = self.relay_push(&relay_url, &token, "sign_request", push_payload(&req, link.clone())).await;
            if pushed.is_ok() {
                break;
            }
        }
        let details = json!({"requestId": request_id, "channel": CHANNEL_PUSH, "app": app.name, "expiresAt": row.expires_at});
        match pushed {
            Ok(()) => {
                self.audit_tx("SIGN_REQUEST_SENT", "system", &w.id, &tx.id, Some(details), "info").await;
                self.spawn_sign_poller(row);
                Ok(Some(request_id))
            }
            Err(e) => {
                self.inner.store.resolve_sign_request(&request_id, "PENDING", "FAILED", Some(&e.message), self.now()).await?;
                let mut details = details;
                details["error"] = e.message.clone().into();
                self.audit_tx("SIGN_REQUEST_FAILED", "system", &w.id, &tx.id, Some(details), "warning").await;
                Err(e)
            }
        }
    }

    /// A transaction entered APPROVAL and its wallet routes to `sdk_telegram`: the sign
    /// request the Telegram notification carries (stored first, one per transaction and
    /// channel, so a redelivered notification shows the same request), with the wallet
    /// app's universal link when the wallet's app has one. The owner's wallet answers with
    /// `/sign_response <base64url(SignResponse)>` in the bot's chat, checked by
    /// [`Engine::answer_sign_request`] like a relay answer. `None` when the transaction does
    /// not wait for an `sdk_telegram` approval, or its request was already answered.
    pub async fn telegram_sign_request(&self, tx_id: &str) -> Result<Option<TelegramSignRequest>> {
        let Some((tx, w, owner, meta)) = self.awaiting_owner(tx_id).await? else { return Ok(None) };
        let route = self.route_of(&w.id).await?;
        if !self.routes_to(&route, CHANNEL_TELEGRAM) {
            return Ok(None);
        }
        let app = self.signing_app(&route).await?;
        let Some((row, summary)) = self.new_sign_request(&tx, &w, &owner, &meta, CHANNEL_TELEGRAM, app.as_ref()).await else { return Ok(None) };
        let (row, created) = match self.inner.store.insert_sign_request(&row).await? {
            Some(existing) => (existing, false),
            None => (row, true),
        };
        if row.status != "PENDING" {
            return Ok(None);
        }
        let req = sign_request_of(&row, &summary, json!({"type": "telegram", "requestId": row.request_id}));
        let url = app.as_ref().and_then(|a| universal_link(&self.config().signing_sdk.wallets, a)).map(|(base, path)| universal_link_url(&base, &path, &req));
        if created {
            let details = json!({"requestId": row.request_id, "channel": CHANNEL_TELEGRAM, "app": app.map(|a| a.name), "expiresAt": row.expires_at});
            self.audit_tx("SIGN_REQUEST_SENT", "system", &w.id, &tx.id, Some(details), "info").await;
        }
        Ok(Some(TelegramSignRequest { request_id: row.request_id, url, expires_at: row.expires_at }))
    }

    /// Type, parties and human amount of a transaction, for the owner's message.
    pub(crate) async fn tx_summary(&self, tx: &crate::store::tx::TxRecord, w: &WalletRecord) -> TxSummary {
        let network = Network::parse(&tx.network).ok();
        let (mut amount, mut symbol) = (None, None);
        if let (Some(raw), Some(n)) = (tx.amount.as_deref().and_then(|a| a.parse::<u128>().ok()), network) {
            match tx.token_address.as_deref() {
                None => {
                    amount = Some(crate::amount::format_units(raw, n.info().native_decimals));
                    symbol = Some(n.info().native_symbol.to_string());
                }
                Some(token) => match self.registry_token(n, token).await.ok().flatten() {
                    Some(decimals) => amount = Some(crate::amount::format_units(raw, decimals)),
                    None => amount = Some(raw.to_string()),
                },
            }
        }
        TxSummary {
            tx_id: tx.id.clone(),
            tx_type: tx.tx_type.as_str().to_string(),
            from: w.public_key.clone(),
            to: tx.to_address.clone().unwrap_or_default(),
            amount,
            symbol,
            network: network.map(|n| n.id().to_string()).unwrap_or_else(|| tx.network.clone()),
        }
    }

    /// An answer from the owner's wallet app: checked ([`check_answer`]), the request claimed
    /// (single use), then the same decision as the REST approve/reject. A refused answer is
    /// audited (`OWNER_AUTH_FAILED`) and leaves the request and the transaction as they were.
    pub async fn answer_sign_request(&self, resp: &SignResponse) -> Result<SignAnswer> {
        let row = self
            .inner
            .store
            .get_sign_request(resp.request_id.trim())
            .await?
            .ok_or_else(|| Error::new(ErrorCode::SIGN_REQUEST_NOT_FOUND, format!("No sign request '{}'", resp.request_id)))?;
        let w = self.inner.store.get_wallet(&row.wallet_id).await?.ok_or_else(|| crate::engine::wallet_not_found(&row.wallet_id))?;
        let now = self.now();
        let approve = match check_answer(&row, w.chain, w.owner_address.as_deref(), resp, now) {
            Ok(a) => a,
            Err(e) => {
                if e.code == ErrorCode::SIGN_REQUEST_EXPIRED {
                    self.expire_sign_request(&row).await;
                }
                let details = json!({"requestId": row.request_id, "channel": row.channel, "action": resp.action, "reason": e.message});
                self.audit_tx("OWNER_AUTH_FAILED", &resp.signer_address, &w.id, &row.tx_id, Some(details), "warning").await;
                return Err(e);
            }
        };
        let status = if approve { "APPROVED" } else { "REJECTED" };
        if !self.inner.store.resolve_sign_request(&row.request_id, "PENDING", status, None, now).await? {
            return Err(Error::new(ErrorCode::SIGN_REQUEST_ALREADY_PROCESSED, format!("Sign request '{}' was answered already", row.request_id)));
        }
        let owner = w.owner_address.clone().unwrap_or_default();
        if let Err(e) = self.owner_decision_via(&row.tx_id, &owner, approve, &row.channel).await {
            // The request is used; say why the decision did not apply (e.g. the window closed).
            let _ = self.inner.store.resolve_sign_request(&row.request_id, status, "FAILED", Some(&e.message), self.now()).await;
            return Err(e);
        }
        Ok(SignAnswer { request_id: row.request_id, tx_id: row.tx_id, status: status.into() })
    }

    async fn expire_sign_request(&self, row: &SignRequestRecord) {
        match self.inner.store.resolve_sign_request(&row.request_id, "PENDING", "EXPIRED", None, self.now()).await {
            Ok(true) => {
                let details = json!({"requestId": row.request_id, "channel": row.channel});
                self.audit_tx("SIGN_REQUEST_EXPIRED", "system", &row.wallet_id, &row.tx_id, Some(details), "info").await;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(request = %row.request_id, "could not mark the sign request expired: {e}"),
        }
    }

    /// At boot: a long-poll worker for every PENDING sign request (expired ones are marked
    /// EXPIRED). Returns how many workers started.
    pub async fn resume_sign_requests(&self) -> Result<usize> {
        let mut n = 0;
        for row in self.inner.store.pending_sign_requests().await? {
            if row.expires_at <= self.now() {
                self.expire_sign_request(&row).await;
            } else if row.relay_url.is_none() {
                // Answered in the Telegram chat (`sdk_telegram`): nothing to poll.
            } else if self.spawn_sign_poller(row) {
                n += 1;
            }
        }
        Ok(n)
    }

    /// On a store shared by several daemons: the lead resumes, every
    /// [`crate::pipeline::RECHECK_EVERY`], the long polls of pending sign requests no poller of
    /// its own follows, such as those of a daemon that died (several pollers of one request
    /// are harmless: its answer moves the transaction once).
    pub(crate) fn start_sign_request_takeover(&self) {
        if !self.inner.store.shared() {
            return;
        }
        let engine = self.clone();
        let mut stop = self.inner.stop.subscribe();
        let handle = tokio::spawn(async move {
            while crate::pipeline::pause(&mut stop, crate::pipeline::RECHECK_EVERY).await {
                if engine.leads().await {
                    if let Err(e) = engine.resume_sign_requests().await {
                        tracing::warn!("sign request check failed: {e}");
                    }
                }
            }
        });
        self.inner.workers.lock().unwrap_or_else(|e| e.into_inner()).push(handle);
    }

    /// Start the long-poll worker of `row` unless one runs in this process; it is kept with
    /// the engine's workers, so [`Engine::stop_workers`] ends it.
    fn spawn_sign_poller(&self, row: SignRequestRecord) -> bool {
        if *self.inner.stop.borrow() {
            return false;
        }
        if !self.inner.signing.polling.lock().unwrap_or_else(|e| e.into_inner()).insert(row.request_id.clone()) {
            return false;
        }
        let engine = self.clone();
        let stop = self.inner.stop.subscribe();
        let id = row.request_id.clone();
        let handle = tokio::spawn(async move {
            engine.poll_sign_request(row, stop).await;
            engine.inner.signing.polling.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        });
        let mut workers = self.inner.workers.lock().unwrap_or_else(|e| e.into_inner());
        workers.retain(|h| !h.is_finished());
        workers.push(handle);
        true
    }

    /// The long-poll loop of one request, until it is answered, expires, its transaction
    /// stops waiting, or the engine stops.
    async fn poll_sign_request(&self, row: SignRequestRecord, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut errors: u32 = 0;
        loop {
            if *stop.borrow() {
                return;
            }
            let now = self.now();
            if now >= row.expires_at {
                self.expire_sign_request(&row).await;
                return;
            }
            match self.sign_request_still_waits(&row).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => tracing::warn!(request = %row.request_id, "sign request check failed: {e}"),
            }
            let timeout = POLL_TIMEOUT_SECS.min(row.expires_at - now).max(1);
            let polled = tokio::select! {
                r = self.poll_relay_once(&row, timeout) => r,
                _ = stop.changed() => return,
            };
            let wait = match polled {
                Ok(None) => {
                    errors = 0;
                    Duration::ZERO
                }
                Ok(Some(resp)) => {
                    errors = 0;
                    match self.answer_sign_request(&resp).await {
                        Ok(a) => {
                            tracing::info!(request = %a.request_id, tx = %a.tx_id, "sign request answered: {}", a.status);
                            return;
                        }
                        Err(e) if matches!(e.code, ErrorCode::SIGN_REQUEST_ALREADY_PROCESSED | ErrorCode::SIGN_REQUEST_EXPIRED) => return,
                        Err(e) => {
                            tracing::warn!(request = %row.request_id, "sign response refused: {}", e.message);
                            Duration::ZERO
                        }
                    }
                }
                Err(e) => {
                    errors = errors.saturating_add(1);
                    let base = Duration::from_secs(1u64 << errors.min(6)).min(MAX_BACKOFF);
                    let jitter = Duration::from_millis(rand::Rng::gen_range(&mut rand::thread_rng(), 0..1000));
                    tracing::warn!(request = %row.request_id, errors, "push relay poll failed: {}", e.message);
                    (base + jitter).min(Duration::from_secs((row.expires_at - self.now()).max(0) as u64))
                }
            };
            if !wait.is_zero() && !crate::pipeline::pause(&mut stop, wait).await {
                return;
            }
        }
    }

    /// Whether the request is still PENDING and its transaction still waits for the owner;
    /// a request whose transaction was decided otherwise (REST, expiry) is closed as FAILED.
    async fn sign_request_still_waits(&self, row: &SignRequestRecord) -> Result<bool> {
        let Some(current) = self.inner.store.get_sign_request(&row.request_id).await? else { return Ok(false) };
        if current.status != "PENDING" {
            return Ok(false);
        }
        let status = self.inner.store.get_tx(&row.tx_id).await?.map(|t| t.status());
        match status {
            Some(TxStatus::Queued) => return Ok(true),
            Some(TxStatus::Expired) => self.expire_sign_request(row).await,
            _ => {
                self.inner
                    .store
                    .resolve_sign_request(&row.request_id, "PENDING", "FAILED", Some("the transaction no longer waits for the owner"), self.now())
                    .await?;
            }
        }
        Ok(false)
    }

    async fn poll_relay_once(&self, row: &SignRequestRecord, timeout: i64) -> Result<Option<SignResponse>> {
        let base = row.relay_url.as_deref().ok_or_else(|| Error::internal("sign request without a relay URL"))?;
        self.poll_relay(base, &row.request_id, timeout).await
    }

    /// One long poll of the relay at `base` for the answer to `request_id` (`timeout`
    /// seconds): `Some` answer, `None` for a 204.
    pub(crate) async fn poll_relay(&self, base: &str, request_id: &str, timeout: i64) -> Result<Option<SignResponse>> {
        let url = relay_endpoint(base, &format!("/v1/sign-response/{}?timeout={timeout}", crate::api::segment(request_id)))?;
        let rb = self.inner.signing.http.get(&url).timeout(Duration::from_secs(timeout as u64 + 10));
        let resp =
            self.signing_bearer(rb).send().await.map_err(|e| Error::new(ErrorCode::NETWORK_ERROR, format!("push relay unreachable: {}", e.without_url())))?;
        match resp.status().as_u16() {
            204 => Ok(None),
            200 => {
                let v: SignResponse =
                    resp.json().await.map_err(|e| Error::new(ErrorCode::INVALID_SIGN_RESPONSE, format!("the relay's sign response does not parse: {e}")))?;
                Ok(Some(v))
            }
            s => Err(Error::new(ErrorCode::NETWORK_ERROR, format!("push relay answered {s} to the long poll"))),
        }
    }
}

/// The notification channel that turns `TX_APPROVAL_REQUIRED` into a sign request (holds
/// the engine weakly: the engine owns the notifier that owns this channel).
pub(crate) struct SignRequestChannel {
    pub engine: Weak<crate::engine::Inner>,
}

#[async_trait]
impl NotificationChannel for SignRequestChannel {
    fn name(&self) -> String {
        "sign-request:sdk_push".into()
    }
    fn kind(&self) -> &'static str {
        "sign_request"
    }
    fn wants(&self, event: &Event) -> bool {
        event.event_type == "TX_APPROVAL_REQUIRED" && event.tx_id.is_some()
    }
    async fn deliver(&self, event: &Event) -> Result<()> {
        let Some(inner) = self.engine.upgrade() else { return Ok(()) };
        let engine = Engine { inner };
        engine.request_owner_signature(event.tx_id.as_deref().unwrap_or_default()).await.map(|_| ())
    }
}

impl Engine {
    /// Turn sign requests and wallet-app alerts on: their notification channels join the
    /// engine's notifier (once; later calls do nothing). Call it before
    /// [`Engine::start_workers`], so the notifier's first dispatch already hands
    /// `TX_APPROVAL_REQUIRED` to the sign-request channel; then
    /// [`Engine::resume_sign_requests`] restarts the long polls of pending requests.
    pub fn enable_sign_requests(&self) {
        if self.inner.signing.enabled.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let inner = &self.inner;
        inner.notifier.add_channel(Arc::new(SignRequestChannel { engine: Arc::downgrade(inner) }));
        inner.notifier.add_channel(Arc::new(apps::AlertChannel { engine: Arc::downgrade(inner) }));
    }
}

#[cfg(test)]
mod tests;
