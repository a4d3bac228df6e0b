//! Wallet apps (`/v1/admin/wallet-apps*`, master only: upstream left them unauthenticated):
//! the owner's wallet on a phone, its relay URL and the subscription token the operator
//! copies from the app; owner registration's approval route and the `dcent` preset; and the
//! alerts channel (every notification event to the apps with `alerts_enabled`); the test
//! notification and the test sign request (verified, deciding nothing).
//! Shapes are upstream's, in snake_case.

use super::{push_payload, universal_link, universal_link_url, Engine, SignRequest, SignRequestMetadata, SignResponse, APPROVAL_METHODS, CHANNEL_PUSH};
use crate::auth::owner::{normalize_owner_address, verify_signature};
use crate::error::{Error, ErrorCode, Result};
use crate::network::{Chain, Environment, Network};
use crate::services::notify::{Event, NotificationChannel};
use crate::store::{ApprovalRoute, WalletAppRecord};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::Weak;
use std::time::Duration;

/// A wallet using an app (`used_by`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WalletAppUser {
    pub id: String,
    pub label: String,
}

/// A wallet app as the API shows it (upstream `WalletApp`, snake_case).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WalletAppView {
    #[serde(flatten)]
    pub app: WalletAppRecord,
    /// Wallets whose approvals route to this app's wallet type.
    pub used_by: Vec<WalletAppUser>,
}

/// `GET /v1/admin/wallet-apps`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WalletAppList {
    pub apps: Vec<WalletAppView>,
}

/// `POST|PUT /v1/admin/wallet-apps[/{id}]`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WalletAppResponse {
    pub app: WalletAppView,
}

/// `POST /v1/admin/wallet-apps` body (upstream's fields).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateWalletApp {
    /// `^[a-z0-9][a-z0-9-]*$`, at most 64.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9-]*$", max_length = 64))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 128))]
    pub display_name: String,
    /// Default: the name.
    pub wallet_type: Option<String>,
    pub sign_topic: Option<String>,
    pub notify_topic: Option<String>,
    /// `http(s)://…`, at most 512.
    pub push_relay_url: Option<String>,
}

/// `PUT /v1/admin/wallet-apps/{id}` body: only the fields given change (`""` clears a text).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateWalletApp {
    pub signing_enabled: Option<bool>,
    pub alerts_enabled: Option<bool>,
    pub sign_topic: Option<String>,
    pub notify_topic: Option<String>,
    /// At most 64 characters (the relay's subscription token).
    pub subscription_token: Option<String>,
    pub push_relay_url: Option<String>,
}

/// `POST /v1/admin/wallet-apps/{id}/test-notification` (always HTTP 200).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WalletAppTestResult {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /v1/admin/wallet-apps/{id}/test-sign-request` body (upstream's `ownerAddress`, and
/// how long to wait).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestSignRequestBody {
    /// The address asked to sign, EVM (`0x…`) or Solana (base58); default: the zero EVM
    /// address (upstream), and then any signer's signature of the message verifies.
    pub owner_address: Option<String>,
    /// Seconds to wait for the answer, 1 to 120 (default 30).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 120))]
    pub timeout_seconds: Option<u64>,
}

/// `POST /v1/admin/wallet-apps/{id}/test-sign-request` (always HTTP 200 once the app exists).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WalletAppTestSignResult {
    pub success: bool,
    /// `true` when nothing answered in time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<TestSignAnswer>,
}

/// The wallet app's answer to a test sign request (upstream's fields, plus the verification).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TestSignAnswer {
    /// `approve` or `reject` (either proves the loop; nothing is decided).
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    pub signer_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    /// The signature covers the test message and was made by `signerAddress`, which is the
    /// address asked (when one was).
    pub verified: bool,
    /// Why it did not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_error: Option<String>,
}

/// The default wait of a test sign request (upstream: 30 s).
pub const TEST_SIGN_WAIT_SECS: u64 = 30;
const ZERO_EVM: &str = "0x0000000000000000000000000000000000000000";

/// The chain of an owner address and its normalised form.
fn address_chain(address: &str) -> Option<(Chain, String)> {
    [Chain::Ethereum, Chain::Solana].into_iter().find_map(|c| normalize_owner_address(c, address.trim()).ok().map(|a| (c, a)))
}

/// The text a test sign request asks to sign (upstream's, with the request id as nonce).
pub fn test_sign_message(app_display_name: &str, request_id: &str) -> String {
    format!("WAIaaS Test Sign Request for {app_display_name}\nThis is a connectivity test. Approve or reject to verify the signing flow.\nNonce: {request_id}")
}

/// Whether an answer to the test request `req` verifies: it is for that request, signed (the
/// owner's signature check: EIP-191, or Ed25519 base64/base58) over its message by
/// `signerAddress`, and that is the address asked when one was (`asked`).
pub fn verify_test_answer(req: &SignRequest, asked: bool, resp: &SignResponse) -> std::result::Result<(), String> {
    if resp.request_id.trim() != req.request_id {
        return Err("the answer is for another request".into());
    }
    let (chain, signer) = address_chain(&resp.signer_address).ok_or("signerAddress is not an EVM or Solana address")?;
    if asked && address_chain(&req.signer_address).map(|(_, a)| a) != Some(signer.clone()) {
        return Err("signerAddress is not the address asked".into());
    }
    let signature = resp.signature.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or("the answer has no signature")?;
    verify_signature(chain, &signer, &req.message, signature).map_err(|e| e.message)
}

fn check_name(field: &str, v: &str) -> Result<()> {
    let mut chars = v.chars();
    let ok = v.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::validation(field, "must match ^[a-z0-9][a-z0-9-]*$ and be at most 64 characters"))
    }
}

/// An optional text: `""` (after trimming) is none; longer than `max` or with control
/// characters is refused.
fn opt_text(field: &str, v: Option<String>, max: usize) -> Result<Option<String>> {
    let Some(v) = v else { return Ok(None) };
    let v = v.trim().to_string();
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(Error::validation(field, format!("must be at most {max} characters without control characters")));
    }
    Ok((!v.is_empty()).then_some(v))
}

fn check_url(field: &str, v: Option<String>) -> Result<Option<String>> {
    let Some(v) = opt_text(field, v, 512)? else { return Ok(None) };
    match reqwest::Url::parse(&v) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && u.username().is_empty() && u.password().is_none() => {
            Ok(Some(v.trim_end_matches('/').to_string()))
        }
        _ => Err(Error::validation(field, "must be an http(s) URL without credentials, at most 512 characters")),
    }
}

fn check_token(v: Option<String>) -> Result<Option<String>> {
    let v = opt_text("subscription_token", v, 64)?;
    if v.as_deref().is_some_and(|t| !t.chars().all(|c| c.is_ascii_graphic())) {
        return Err(Error::validation("subscription_token", "must be printable ASCII without spaces"));
    }
    Ok(v)
}

/// The D'CENT preset (upstream `wallet_type: "dcent"`).
pub const DCENT: &str = "dcent";

impl Engine {
    fn wallet_app_not_found(id: &str) -> Error {
        Error::new(ErrorCode::WALLET_APP_NOT_FOUND, format!("Wallet app '{id}' not found"))
    }

    fn wallet_app_view(a: WalletAppRecord, routes: &[(String, ApprovalRoute)], names: &[(String, String)]) -> WalletAppView {
        let used_by = routes
            .iter()
            .filter(|(_, r)| r.wallet_type.as_deref() == Some(a.wallet_type.as_str()))
            .filter_map(|(id, _)| names.iter().find(|(wid, _)| wid == id).map(|(id, name)| WalletAppUser { id: id.clone(), label: name.clone() }))
            .collect();
        WalletAppView { app: a, used_by }
    }

    async fn wallet_app_views(&self, apps: Vec<WalletAppRecord>) -> Result<Vec<WalletAppView>> {
        let routes = self.inner.store.approval_routes().await?;
        let names: Vec<(String, String)> = self.inner.store.list_wallets(None).await?.into_iter().map(|w| (w.id, w.name)).collect();
        let mut out = vec![];
        for a in apps {
            out.push(Self::wallet_app_view(a, &routes, &names));
        }
        Ok(out)
    }

    async fn wallet_app_response(&self, id: &str) -> Result<WalletAppResponse> {
        let a = self.inner.store.get_wallet_app(id).await?.ok_or_else(|| Self::wallet_app_not_found(id))?;
        let app = self.wallet_app_views(vec![a]).await?.remove(0);
        Ok(WalletAppResponse { app })
    }

    /// `GET /v1/admin/wallet-apps`.
    pub async fn list_wallet_apps(&self) -> Result<WalletAppList> {
        let apps = self.inner.store.list_wallet_apps().await?;
        Ok(WalletAppList { apps: self.wallet_app_views(apps).await? })
    }

    /// `POST /v1/admin/wallet-apps`: signing is enabled unless another app of the same wallet
    /// type has it; a taken name is `WALLET_APP_DUPLICATE`.
    pub async fn create_wallet_app(&self, req: CreateWalletApp) -> Result<WalletAppResponse> {
        let name = req.name.trim().to_string();
        check_name("name", &name)?;
        let display_name = opt_text("display_name", Some(req.display_name), 128)?.ok_or_else(|| Error::validation("display_name", "must not be empty"))?;
        let wallet_type = opt_text("wallet_type", req.wallet_type, 64)?.unwrap_or_else(|| name.clone());
        check_name("wallet_type", &wallet_type)?;
        let now = self.now();
        let a = WalletAppRecord {
            id: crate::new_id(),
            name: name.clone(),
            display_name,
            wallet_type,
            signing_enabled: true,
            alerts_enabled: false,
            sign_topic: opt_text("sign_topic", req.sign_topic, 256)?,
            notify_topic: opt_text("notify_topic", req.notify_topic, 256)?,
            subscription_token: None,
            push_relay_url: check_url("push_relay_url", req.push_relay_url)?,
            created_at: now,
            updated_at: now,
        };
        if !self.inner.store.insert_wallet_app(&a).await? {
            return Err(Error::new(ErrorCode::WALLET_APP_DUPLICATE, format!("A wallet app named '{name}' exists")));
        }
        self.inner.audit.record("WALLET_APP_CREATED", "master", None, None, Some(json!({"id": a.id, "name": name})), "info", None).await;
        self.wallet_app_response(&a.id).await
    }

    /// `PUT /v1/admin/wallet-apps/{id}`: enabling signing disables it on the other apps of
    /// the same wallet type (one store transaction).
    pub async fn update_wallet_app(&self, id: &str, req: UpdateWalletApp) -> Result<WalletAppResponse> {
        let mut a = self.inner.store.get_wallet_app(id).await?.ok_or_else(|| Self::wallet_app_not_found(id))?;
        if let Some(v) = req.signing_enabled {
            a.signing_enabled = v;
        }
        if let Some(v) = req.alerts_enabled {
            a.alerts_enabled = v;
        }
        if req.sign_topic.is_some() {
            a.sign_topic = opt_text("sign_topic", req.sign_topic, 256)?;
        }
        if req.notify_topic.is_some() {
            a.notify_topic = opt_text("notify_topic", req.notify_topic, 256)?;
        }
        let token_changed = req.subscription_token.is_some();
        if token_changed {
            a.subscription_token = check_token(req.subscription_token)?;
        }
        if req.push_relay_url.is_some() {
            a.push_relay_url = check_url("push_relay_url", req.push_relay_url)?;
        }
        a.updated_at = self.now();
        if !self.inner.store.update_wallet_app(&a).await? {
            return Err(Self::wallet_app_not_found(id));
        }
        let token = a.subscription_token.as_deref().map(crate::relay::token_ref);
        let details = json!({"id": a.id, "signingEnabled": a.signing_enabled, "alertsEnabled": a.alerts_enabled, "subscriptionToken": token, "tokenChanged": token_changed});
        self.inner.audit.record("WALLET_APP_UPDATED", "master", None, None, Some(details), "info", None).await;
        self.wallet_app_response(id).await
    }

    /// `DELETE /v1/admin/wallet-apps/{id}`.
    pub async fn delete_wallet_app(&self, id: &str) -> Result<Value> {
        if !self.inner.store.delete_wallet_app(id).await? {
            return Err(Self::wallet_app_not_found(id));
        }
        self.inner.audit.record("WALLET_APP_DELETED", "master", None, None, Some(json!({"id": id})), "info", None).await;
        Ok(json!({"ok": true}))
    }

    /// `POST /v1/admin/wallet-apps/{id}/test-notification`: one `notification` push through
    /// the app's relay; failures are in the answer, not an HTTP error.
    pub async fn test_wallet_app_notification(&self, id: &str) -> Result<WalletAppTestResult> {
        let a = self.inner.store.get_wallet_app(id).await?.ok_or_else(|| Self::wallet_app_not_found(id))?;
        let (Some(url), Some(token)) = (a.push_relay_url.as_deref(), a.subscription_token.as_deref()) else {
            return Ok(WalletAppTestResult { success: false, error: Some("The app needs a push_relay_url and a subscription_token".into()) });
        };
        let payload = alert_payload("TEST", None, &a.name, "system", "WAIaaS test notification", "Push notifications reach this wallet app.", None, self.now());
        Ok(match self.relay_push(url, token, "notification", payload).await {
            Ok(()) => WalletAppTestResult { success: true, error: None },
            Err(e) => WalletAppTestResult { success: false, error: Some(e.message) },
        })
    }

    /// `POST /v1/admin/wallet-apps/{id}/test-sign-request`: a test sign request pushed
    /// through the app's relay, then the relay long-polled (the sign requests' own push and
    /// poll) until the app answers or `timeoutSeconds` pass. The answer is reported with
    /// whether its signature verifies, and decides nothing: the request is stored nowhere, so
    /// no transaction's sign request can be answered by it. Failures are in the answer.
    pub async fn test_wallet_app_sign_request(&self, id: &str, body: TestSignRequestBody) -> Result<WalletAppTestSignResult> {
        let wait = body.timeout_seconds.unwrap_or(TEST_SIGN_WAIT_SECS);
        if !(1..=120).contains(&wait) {
            return Err(Error::validation("timeoutSeconds", "must be from 1 to 120"));
        }
        let asked = match opt_text("ownerAddress", body.owner_address, 128)? {
            Some(a) => Some(address_chain(&a).ok_or_else(|| Error::validation("ownerAddress", "must be an EVM (0x…) or Solana (base58) address"))?),
            None => None,
        };
        let a = self.inner.store.get_wallet_app(id).await?.ok_or_else(|| Self::wallet_app_not_found(id))?;
        let failed = |error: String, timeout: Option<bool>| Ok(WalletAppTestSignResult { success: false, timeout, error: Some(error), result: None });
        if !a.signing_enabled {
            return failed("Signing is disabled for this app".into(), None);
        }
        let (Some(url), Some(token)) = (a.push_relay_url.as_deref(), a.subscription_token.as_deref()) else {
            return failed("The app needs a push_relay_url and a subscription_token".into(), None);
        };
        let (chain, signer) = asked.clone().unwrap_or((Chain::Ethereum, ZERO_EVM.to_string()));
        let network = Network::default_for(chain, Environment::Mainnet);
        let request_id = crate::new_id();
        let to = match chain {
            Chain::Ethereum => ZERO_EVM,
            Chain::Solana => "11111111111111111111111111111111",
        };
        let req = SignRequest {
            version: "1".into(),
            request_id: request_id.clone(),
            caip2_chain_id: network.info().caip2.to_string(),
            network_name: network.id().to_string(),
            signer_address: signer.clone(),
            message: test_sign_message(&a.display_name, &request_id),
            display_message: format!("Test sign request for {}", a.display_name),
            metadata: SignRequestMetadata {
                // The SDK wants a uuid (upstream's `test-…` fails its own SDK's check): the
                // request's own id, which is no transaction's.
                tx_id: request_id.clone(),
                tx_type: "SIGN".into(),
                from: signer,
                to: to.into(),
                amount: None,
                symbol: None,
                policy_tier: "APPROVAL".into(),
            },
            response_channel: json!({"type": "push_relay", "pushRelayUrl": url, "requestId": request_id}),
            expires_at: crate::clock::iso_ms((self.now() + wait as i64) * 1000),
        };
        let link = universal_link(&self.config().signing_sdk.wallets, &a).map(|(base, path)| universal_link_url(&base, &path, &req));
        let mut payload = push_payload(&req, link);
        payload.insert("title".into(), "WAIaaS Test Sign Request".into());
        if let Err(e) = self.relay_push(url, token, "sign_request", payload).await {
            return failed(e.message, None);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
        let mut stop = self.inner.stop.subscribe();
        let resp = loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now()).as_secs();
            if left == 0 {
                return failed(format!("No response within {wait} seconds"), Some(true));
            }
            let polled = tokio::select! {
                r = self.poll_relay(url, &request_id, left.min(super::POLL_TIMEOUT_SECS as u64) as i64) => r,
                _ = stop.changed() => return failed("The daemon is stopping".into(), None),
            };
            match polled {
                Ok(Some(resp)) => break resp,
                Ok(None) => {}
                Err(e) => return failed(e.message, None),
            }
        };
        let verified = verify_test_answer(&req, asked.is_some(), &resp);
        let details = json!({"id": a.id, "requestId": request_id, "action": resp.action, "verified": verified.is_ok()});
        self.inner.audit.record("WALLET_APP_TEST_SIGN_REQUEST", "master", None, None, Some(details), "info", None).await;
        Ok(WalletAppTestSignResult {
            success: true,
            timeout: None,
            error: None,
            result: Some(TestSignAnswer {
                action: resp.action,
                signature: resp.signature,
                signer_address: resp.signer_address,
                signed_at: resp.signed_at,
                verified: verified.is_ok(),
                verify_error: verified.err(),
            }),
        })
    }

    /// `PUT /v1/wallets/{id}/owner` with upstream's `approval_method` and `wallet_type`:
    /// every value is checked before anything is stored. `wallet_type: "dcent"` applies the
    /// preset (approval through `sdk_push`, a signing-enabled `dcent` wallet app); the answer
    /// carries a `warning` when that overrode the given approval method.
    pub async fn register_owner(
        &self,
        wallet_id: &str,
        owner_address: &str,
        approval_method: Option<&str>,
        wallet_type: Option<&str>,
    ) -> Result<crate::api::types::WalletOwnerResponse> {
        let method = approval_method.map(str::trim).filter(|m| !m.is_empty());
        if let Some(m) = method {
            if !APPROVAL_METHODS.contains(&m) {
                return Err(Error::validation("approval_method", format!("must be one of {}", APPROVAL_METHODS.join(", "))));
            }
        }
        let wallet_type = wallet_type.map(str::trim).filter(|t| !t.is_empty());
        if let Some(t) = wallet_type {
            check_name("wallet_type", t)?;
            if t != DCENT && !self.inner.store.list_wallet_apps().await?.iter().any(|a| a.wallet_type == t) {
                return Err(Error::validation("wallet_type", format!("must be 'dcent' or the wallet type of a wallet app, not '{t}'")));
            }
        }
        let mut warning = None;
        let method = match (wallet_type, method) {
            (Some(DCENT), Some(m)) if m != CHANNEL_PUSH => {
                warning = Some(format!("approval_method '{m}' was replaced by sdk_push (the dcent preset)"));
                Some(CHANNEL_PUSH)
            }
            (Some(DCENT), _) => Some(CHANNEL_PUSH),
            (_, m) => m,
        };
        let mut out = self.inner.owners.set_owner(wallet_id, owner_address).await?;
        if method.is_some() || wallet_type.is_some() {
            let route = ApprovalRoute { approval_method: method.map(str::to_string), wallet_type: wallet_type.map(str::to_string) };
            self.inner.store.set_approval_route(wallet_id, &route, self.now()).await?;
            if wallet_type == Some(DCENT) {
                self.ensure_dcent_app().await?;
            }
        }
        let route = self.approval_route(wallet_id).await?;
        out.approval_method = route.approval_method;
        out.wallet_type = route.wallet_type;
        out.warning = warning;
        Ok(out)
    }
    /// The `dcent` wallet app exists with signing enabled.
    async fn ensure_dcent_app(&self) -> Result<()> {
        let apps = self.inner.store.list_wallet_apps().await?;
        match apps.into_iter().find(|a| a.name == DCENT) {
            Some(a) if a.signing_enabled => Ok(()),
            Some(a) => self.update_wallet_app(&a.id, UpdateWalletApp { signing_enabled: Some(true), ..Default::default() }).await.map(|_| ()),
            None => {
                let req = CreateWalletApp { name: DCENT.into(), display_name: "D'CENT Wallet".into(), wallet_type: Some(DCENT.into()), ..Default::default() };
                match self.create_wallet_app(req).await {
                    Err(e) if e.code == ErrorCode::WALLET_APP_DUPLICATE => Ok(()),
                    r => r.map(|_| ()),
                }
            }
        }
    }
}

/// Upstream's alert payload (`category: "notification"`).
#[allow(clippy::too_many_arguments)] // the fields of one payload
fn alert_payload(
    event_type: &str,
    wallet_id: Option<&str>,
    wallet_name: &str,
    category: &str,
    title: &str,
    body: &str,
    details: Option<&Value>,
    timestamp: i64,
) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert("version".into(), "1".into());
    p.insert("eventType".into(), event_type.into());
    p.insert("walletId".into(), wallet_id.unwrap_or_default().into());
    p.insert("walletName".into(), wallet_name.into());
    p.insert("category".into(), category.into());
    p.insert("title".into(), title.into());
    p.insert("body".into(), body.into());
    if let Some(d) = details.filter(|d| !d.is_null()) {
        p.insert("details".into(), d.clone());
    }
    p.insert("timestamp".into(), timestamp.into());
    p
}

/// Upstream's `EVENT_CATEGORY_MAP` for the events this daemon emits.
fn event_category(event_type: &str) -> &'static str {
    match event_type {
        t if t.starts_with("TX_") => "transaction",
        "POLICY_DENIED" => "policy",
        t if t.starts_with("KILL_SWITCH") || t == "AUTO_STOP_TRIGGERED" || t.ends_with("_AUTH_FAILED") => "security_alert",
        t if t.starts_with("SESSION_") => "session",
        t if t.starts_with("OWNER_") => "owner",
        _ => "system",
    }
}

/// Every notification event (the webhook event types) to the wallet apps with
/// `alerts_enabled`, a relay URL and a subscription token, when
/// `signing_sdk.notifications_enabled`.
pub(crate) struct AlertChannel {
    pub engine: Weak<crate::engine::Inner>,
}

#[async_trait]
impl NotificationChannel for AlertChannel {
    fn name(&self) -> String {
        "wallet-app-alerts".into()
    }
    fn kind(&self) -> &'static str {
        "wallet_app"
    }
    fn wants(&self, event: &Event) -> bool {
        let enabled = self.engine.upgrade().is_some_and(|i| i.config.signing_sdk.notifications_enabled);
        enabled && crate::services::notify::webhook::EVENT_TYPES.contains(&event.event_type.as_str())
    }
    async fn deliver(&self, event: &Event) -> Result<()> {
        let Some(inner) = self.engine.upgrade() else { return Ok(()) };
        let engine = Engine { inner };
        let apps: Vec<WalletAppRecord> = engine.inner.store.list_wallet_apps().await?.into_iter().filter(|a| a.alerts_enabled).collect();
        if apps.is_empty() {
            return Ok(());
        }
        let wallet_name = match event.wallet_id.as_deref() {
            Some(id) => engine.inner.store.get_wallet(id).await?.map(|w| w.name),
            None => None,
        };
        let category = event_category(&event.event_type);
        let title = format!("WAIaaS: {}", event.event_type);
        let body = match (&wallet_name, &event.tx_id) {
            (Some(w), Some(tx)) => format!("{} — wallet {w}, transaction {tx}", event.event_type),
            (Some(w), None) => format!("{} — wallet {w}", event.event_type),
            _ => event.event_type.clone(),
        };
        let mut failed = vec![];
        for a in apps {
            let (Some(url), Some(token)) = (a.push_relay_url.as_deref(), a.subscription_token.as_deref()) else { continue };
            let name = wallet_name.clone().unwrap_or_default();
            let payload = alert_payload(&event.event_type, event.wallet_id.as_deref(), &name, category, &title, &body, Some(&event.details), event.timestamp);
            if let Err(e) = engine.relay_push(url, token, "notification", payload).await {
                failed.push(format!("{}: {}", a.name, e.message));
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Error::new(ErrorCode::NETWORK_ERROR, failed.join("; ")))
        }
    }
}
