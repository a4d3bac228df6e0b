//! `POST /v1/x402/fetch`: fetch a URL for an agent and, when the server answers 402, pay it
//! under the policy engine.
//!
//! 1. `[x402] enabled`, the wallet (its status: a suspended wallet, so also the kill switch,
//!    refuses), the request's shape.
//! 2. The request ([`super::fetch::Outbound`]): every host, redirects included, must pass
//!    X402_ALLOWED_DOMAINS (default deny) and the outbound rules (https, no private addresses,
//!    the connection pinned to the addresses checked). An answer other than 402 is returned as
//!    it is; nothing is recorded.
//! 3. The 402's requirements ([`super::protocol`]): `exact` on a network of the wallet's chain
//!    and environment, the cheapest.
//! 4. The payment is an `X402_PAYMENT` row, decided and reserved in one store transaction like
//!    a send: the domain, ALLOWED_TOKENS for the asset, the limits in USD with the asset's own
//!    decimals (read from the registry or the chain, never from the server), an unpriced asset
//!    failing closed. APPROVAL is refused at once (403 `X402_APPROVAL_REQUIRED`), a DELAY
//!    longer than what is left of `request_timeout` too (408 `X402_DELAY_TIMEOUT`); a shorter
//!    DELAY is waited out, and the owner or the kill switch can still cancel it meanwhile.
//! 5. Signed (EIP-3009 on EVM, a partially signed `TransferChecked` on Solana, the facilitator
//!    as fee payer) only with the
//!    permit of that decision; the signed payment is stored on the row **before** it is sent
//!    (a compare-and-set on EXECUTING: a row the kill switch cancelled meanwhile is not paid).
//! 6. The request again with `PAYMENT-SIGNATURE`, to the URL that asked for the payment. 2xx
//!    with a `PAYMENT-RESPONSE` saying it settled: CONFIRMED with the settlement's transaction
//!    hash; 2xx otherwise: SUBMITTED (the confirmation worker checks a reported hash on chain);
//!    402 again: FAILED `X402_PAYMENT_REJECTED`; another answer or none: FAILED
//!    `X402_SERVER_ERROR`. A payment handed to the server keeps its reservation even when it
//!    failed: the server can still settle the authorization until it expires.
//!
//! The row is held by this request ([`Engine::claim`]): no pipeline runner touches it; if the
//! process stops mid-way, the next start ends it (`Engine::x402_orphaned`).

use super::fetch::{Outbound, Request, Response};
use super::protocol::{self, Authorization, Requirement};
use crate::chain::{MessageKind, TokenInfo, TxKind};
use crate::engine::{ensure_can_sign, Engine, SessionCtx};
use crate::error::{Error, ErrorCode, Result};
use crate::network::{Chain, Network};
use crate::store::tx::{TxPatch, TxRecord, TxStatus, TxType};
use crate::store::WalletRecord;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// `POST /v1/x402/fetch` body (upstream's shape).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = X402FetchRequest))]
pub struct X402Fetch {
    /// The resource (https; at most 2048 characters).
    pub url: String,
    /// `GET` (default), `POST`, `PUT`, `DELETE` or `PATCH`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(GET|POST|PUT|DELETE|PATCH)$"))]
    pub method: Option<String>,
    /// Sent to the resource's origin only (not across a redirect to another origin).
    pub headers: Option<BTreeMap<String, String>>,
    pub body: Option<String>,
    pub wallet_id: Option<String>,
}

/// What the resource answered, and the payment made for it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = X402FetchResponse))]
pub struct X402Fetched {
    pub status: u16,
    /// Lower-case names.
    pub headers: BTreeMap<String, String>,
    /// The body as text (invalid UTF-8 replaced).
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<X402PaymentView>,
}

/// The payment of a paid fetch.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct X402PaymentView {
    /// Atomic units of `asset`.
    pub amount: String,
    pub asset: String,
    /// CAIP-2, as the server named it.
    pub network: String,
    pub pay_to: String,
    /// The `X402_PAYMENT` transaction.
    pub tx_id: String,
    /// `CONFIRMED` (the server reported the settlement) or `SUBMITTED` (not reported yet).
    pub status: String,
    /// The settlement's transaction hash, when the server reported one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];
/// Headers the daemon sets itself.
const RESERVED_HEADERS: [&str; 5] = ["payment-signature", "x-payment", "host", "content-length", "transfer-encoding"];

fn parse_request(req: &X402Fetch) -> Result<Request> {
    if req.url.is_empty() || req.url.len() > 2048 {
        return Err(Error::validation("url", "is required (at most 2048 characters)"));
    }
    let method = req.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(Error::validation("method", format!("must be one of {}", METHODS.join(", "))));
    }
    let mut headers = vec![];
    for (k, v) in req.headers.iter().flatten() {
        if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err() || reqwest::header::HeaderValue::from_str(v).is_err() {
            return Err(Error::validation("headers", format!("'{k}' is not a valid header")));
        }
        if RESERVED_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
            return Err(Error::validation("headers", format!("'{k}' is set by the daemon")));
        }
        headers.push((k.clone(), v.clone()));
    }
    if req.body.as_ref().is_some_and(|b| b.len() > 1024 * 1024) {
        return Err(Error::validation("body", "is larger than 1 MiB"));
    }
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| Error::validation("method", "invalid"))?;
    Ok(Request { method, url: req.url.clone(), headers, body: req.body.clone() })
}

fn answer(r: Response, payment: Option<X402PaymentView>) -> X402Fetched {
    X402Fetched { status: r.status, headers: r.headers.into_iter().collect(), body: String::from_utf8_lossy(&r.body).into_owned(), payment }
}

impl Engine {
    /// `POST /v1/x402/fetch` (see the module documentation).
    pub async fn x402_fetch(&self, ctx: &SessionCtx, req: X402Fetch) -> Result<X402Fetched> {
        let cfg = self.inner.config.x402.clone();
        if !cfg.enabled {
            return Err(Error::new(ErrorCode::X402_DISABLED, "x402 payments are disabled ([x402] enabled = false)"));
        }
        let request = parse_request(&req)?;
        let w = self.resolve_wallet(ctx, req.wallet_id.as_deref()).await?;
        ensure_can_sign(&w)?;
        let started = Instant::now();
        let timeout = Duration::from_secs(cfg.request_timeout);
        let outbound = |left: Duration| Outbound {
            insecure_hosts: cfg.allow_insecure_hosts.clone(),
            timeout: left,
            max_body: cfg.max_response_bytes as usize,
            max_redirects: 3,
        };

        let default_net = self.wallet_network(&w, None)?;
        let hosts = self.inner.policies.x402_host_check(&w.id, default_net).await?;
        let first = outbound(timeout).fetch(&request, &hosts).await?;
        if first.status != 402 {
            return Ok(answer(first, None));
        }
        let required = protocol::parse_required(first.header(protocol::HEADER_REQUIRED), &first.body)?;
        // The payee is the host that asked to be paid (every hop to it passed the allowlist).
        let answered = reqwest::Url::parse(&first.url).map_err(|e| Error::internal(format!("answered URL: {e}")))?;
        let domain = super::fetch::host_of(&answered)?;
        let (r, net) = self.x402_pick(&w, &required, &domain).await?;
        let resource = match required.resource.get("url") {
            Some(_) => required.resource.clone(),
            None => json!({"url": first.url}),
        };
        // The asset's real decimals value it; a server's claim is never asked.
        let decimals = self.token_decimals(net, &r.asset).await?;
        let kind = payment_kind(r, decimals);
        let record = json!({"url": req.url, "method": request.method.as_str(), "paidUrl": first.url, "domain": domain, "network": r.network, "scheme": r.scheme, "accepted": r.raw});
        let rec = self.record_sync(ctx, &w, net, TxType::X402Payment, record, Some(&kind)).await?;
        let Some(_held) = self.claim(&rec.id).await? else {
            return Err(Error::internal("the payment's row is already held"));
        };
        let tier = self.x402_gate(&rec, &kind, &domain, started + timeout).await?;
        let header = match self.x402_sign(&rec, &w, net, r, &resource).await {
            Ok(h) => h,
            Err(e) => {
                self.x402_end(&rec, &tier, TxStatus::Failed, TxPatch { release_reservation: true, ..error_patch(&e) }).await?;
                return Err(e);
            }
        };
        // Stored before it leaves: a row the kill switch cancelled meanwhile is not paid.
        let signed = TxPatch { signed_tx: Some(header.clone().into_bytes()), ..Default::default() };
        if !self.inner.store.patch_tx(&rec.id, TxStatus::Executing, &signed, self.now()).await? {
            return Err(self.row_error(&rec.id).await?);
        }

        // Paid, to the URL that asked for it, asked the way it was reached (a redirect may have
        // turned the request into a GET without its body); the caller's headers only if it is
        // their origin.
        let same_origin = reqwest::Url::parse(&request.url).is_ok_and(|u| u.origin() == answered.origin());
        let mut paid = Request {
            url: first.url.clone(),
            body: if first.method == request.method { request.body.clone() } else { None },
            method: first.method.clone(),
            headers: if same_origin { request.headers.clone() } else { vec![] },
        };
        paid.headers.push((protocol::HEADER_SIGNATURE.into(), header));
        let paid_hosts = self.inner.policies.x402_host_check(&w.id, net).await?;
        let left = (started + timeout).saturating_duration_since(Instant::now()).max(Duration::from_secs(1));
        let second = match outbound(left).fetch(&paid, &paid_hosts).await {
            Ok(s) => s,
            Err(e) => {
                self.x402_end(&rec, &tier, TxStatus::Failed, error_patch(&e)).await?;
                return Err(e.with_details(json!({"txId": rec.id})));
            }
        };
        let view = |status: &str, tx_hash: Option<String>| X402PaymentView {
            amount: r.amount.to_string(),
            asset: r.asset.clone(),
            network: r.network.clone(),
            pay_to: r.pay_to.clone(),
            tx_id: rec.id.clone(),
            status: status.into(),
            tx_hash,
        };
        let settlement = protocol::parse_settlement(second.header(protocol::HEADER_RESPONSE));
        if !(200..300).contains(&second.status) {
            let (code, what) = if second.status == 402 {
                (ErrorCode::X402_PAYMENT_REJECTED, "refused the payment (402 again)")
            } else {
                (ErrorCode::X402_SERVER_ERROR, "answered the paid request with an error")
            };
            let reason = settlement.as_ref().and_then(|s| s.error_reason.clone()).map(|r| format!(": {r}")).unwrap_or_default();
            let e = Error::new(code, format!("The server {what} (HTTP {}){reason}", second.status))
                .with_details(json!({"txId": rec.id, "status": second.status, "body": String::from_utf8_lossy(&second.body[..second.body.len().min(2048)])}));
            self.x402_end(&rec, &tier, TxStatus::Failed, error_patch(&e)).await?;
            return Err(e);
        }
        let hash = settlement.as_ref().and_then(|s| s.transaction.clone()).filter(|h| !h.is_empty());
        let settled = settlement.as_ref().is_some_and(|s| s.success) && hash.is_some();
        let patch = TxPatch { tx_hash: hash.clone(), executed_at: Some(self.now()), ..Default::default() };
        self.x402_end(&rec, &tier, TxStatus::Submitted, patch).await?;
        let to = if settled && self.inner.store.transition_tx(&rec.id, &[TxStatus::Submitted], TxStatus::Confirmed, &TxPatch::default(), self.now()).await? {
            self.inner.metrics.transaction(TxStatus::Confirmed, Some(&tier).filter(|t| !t.is_empty()).map(|t| t.as_str()));
            TxStatus::Confirmed
        } else {
            TxStatus::Submitted
        };
        drop(_held);
        if !settled && hash.is_some() {
            // The confirmation worker checks the reported hash on chain.
            self.spawn_run(rec.id.clone());
        }
        Ok(answer(second, Some(view(to.as_str(), hash))))
    }

    /// What to pay among the offers the wallet could pay ([`protocol::candidates`]): the
    /// cheapest one the allowlists do not already refuse, else the cheapest (then refused with
    /// the allowlist's reason).
    async fn x402_pick<'r>(&self, w: &WalletRecord, required: &'r protocol::PaymentRequired, domain: &str) -> Result<(&'r Requirement, Network)> {
        let mut all = vec![];
        for (r, n) in protocol::candidates(required, w.chain, w.environment)? {
            all.push((r, self.wallet_network(w, Some(n.id()))?));
        }
        // Decimals do not matter to the allowlists.
        let offers: Vec<(Network, TxKind)> = all.iter().map(|(r, net)| (*net, payment_kind(r, 0))).collect();
        let first = self.inner.policies.x402_first_listed(&w.id, domain, &offers).await?.unwrap_or(0);
        Ok(all.swap_remove(first))
    }

    /// The decision of the payment's row; waits out a DELAY that fits before `deadline`.
    /// Returns the tier it was allowed at.
    async fn x402_gate(&self, rec: &TxRecord, kind: &TxKind, domain: &str, deadline: Instant) -> Result<String> {
        let decided = self.inner.policies.decide_x402(rec, kind, domain).await?;
        match decided {
            Some(TxStatus::Executing) => Ok(self.sync_row(&rec.id).await?.tier.unwrap_or_default()),
            Some(TxStatus::Queued) => {
                let row = self.sync_row(&rec.id).await?;
                let tier = row.tier.clone().unwrap_or_default();
                let meta: Value = row.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default();
                let due = meta.get("executeAfter").and_then(Value::as_i64);
                let left = deadline.saturating_duration_since(Instant::now()).as_secs() as i64;
                let refusal = match due {
                    None => Some(Error::new(
                        ErrorCode::X402_APPROVAL_REQUIRED,
                        "Policy requires the owner's approval for this payment; an x402 fetch does not wait for approvals",
                    )),
                    Some(due) if due - self.now() > left => Some(Error::new(
                        ErrorCode::X402_DELAY_TIMEOUT,
                        format!("Policy delays this payment by {} s, longer than the {left} s left of x402.request_timeout", due - self.now()),
                    )),
                    Some(_) => None,
                };
                if let Some(e) = refusal {
                    let e = e.with_details(json!({"txId": rec.id, "tier": tier}));
                    self.cancel_queued(&rec.id, &tier, &e).await?;
                    return Err(e);
                }
                // Waited here, polling the row: a cancellation (the owner, the kill switch)
                // ends the wait at once.
                let due = due.unwrap_or_default();
                while self.now() < due && self.sync_row(&rec.id).await?.status() == TxStatus::Queued {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                if !self.inner.store.transition_tx(&rec.id, &[TxStatus::Queued], TxStatus::Executing, &TxPatch::default(), self.now()).await? {
                    // Cancelled meanwhile (the agent, the owner, the kill switch).
                    let row = self.sync_row(&rec.id).await?;
                    let code = row.error_code.as_deref().and_then(ErrorCode::parse).unwrap_or(ErrorCode::TX_ALREADY_PROCESSED);
                    let why = row.error.unwrap_or_else(|| row.status.as_str().into());
                    return Err(Error::new(code, format!("The payment was {} while it waited for its delay: {why}", row.status.as_str().to_lowercase()))
                        .with_details(json!({"txId": rec.id})));
                }
                self.inner.metrics.transaction(TxStatus::Executing, Some(&tier));
                Ok(tier)
            }
            _ => Err(self.row_error(&rec.id).await?.with_details(json!({"txId": rec.id}))),
        }
    }

    /// The `PAYMENT-SIGNATURE` header of requirement `r`, signed with the decision's permit.
    async fn x402_sign(&self, rec: &TxRecord, w: &WalletRecord, net: Network, r: &Requirement, resource: &Value) -> Result<String> {
        match w.chain {
            Chain::Ethereum => {
                let auth = Authorization::new(r, &w.public_key, self.now());
                let typed = auth.typed_data(r, net)?;
                let permit = self.signing_permit(&rec.id, &w.id).await?;
                let signature = self.with_signing_key(permit, move |key| crate::chain::evm::sign_message(key, &MessageKind::TypedData(typed))).await?;
                Ok(auth.payment_header(r, resource, &signature))
            }
            Chain::Solana => {
                // A partially signed `TransferChecked` (the facilitator is the fee payer and signs
                // and submits it): built by the adapter with the mint's own program and decimals.
                let fee_payer = r
                    .extra
                    .get("feePayer")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| Error::new(ErrorCode::X402_UNSUPPORTED_SCHEME, "the Solana requirement names no fee payer (extra.feePayer)"))?;
                let adapter = self.adapter(net);
                let raw = adapter.x402_transfer(&w.public_key, &r.pay_to, &r.asset, r.amount, fee_payer).await?;
                let permit = self.signing_permit(&rec.id, &w.id).await?;
                let signed = self.with_signing_key(permit, move |key| adapter.sign_external(&raw, key)).await?;
                use base64::Engine as _;
                Ok(protocol::svm_payment_header(r, resource, &base64::engine::general_purpose::STANDARD.encode(signed.raw)))
            }
        }
    }

    /// Move the payment's row from EXECUTING to its end.
    async fn x402_end(&self, rec: &TxRecord, tier: &str, to: TxStatus, patch: TxPatch) -> Result<()> {
        if self.inner.store.transition_tx(&rec.id, &[TxStatus::Executing], to, &patch, self.now()).await? {
            self.inner.metrics.transaction(to, Some(tier).filter(|t| !t.is_empty()));
        }
        Ok(())
    }
}

/// The token transfer a requirement pays.
fn payment_kind(r: &Requirement, decimals: u8) -> TxKind {
    TxKind::TokenTransfer {
        to: r.pay_to.clone(),
        amount: r.amount,
        token: TokenInfo { address: r.asset.clone(), decimals, symbol: None, program_id: None },
        memo: None,
    }
}

fn error_patch(e: &Error) -> TxPatch {
    TxPatch { error: Some(e.message.clone()), error_code: Some(e.code.as_str().into()), ..Default::default() }
}
