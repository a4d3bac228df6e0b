//! Owner routes: registration (master), and what the owner does with a signed message alone
//! (no agent token): verify, approve or reject a waiting transaction, stop everything.

use super::extract::{ApiResult, Body, Master, Owner};
use super::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::api::types::{KillSwitchActivateResponse, OwnerVerifyResponse, TxApproveResponse, TxRejectResponse, WalletOwnerResponse};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(set_owner)).routes(routes!(verify)).routes(routes!(approve)).routes(routes!(reject)).routes(routes!(kill_switch))
}

/// `PUT /v1/wallets/{id}/owner` body (snake_case, as upstream).
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = SetOwnerRequest)]
struct SetOwner {
    /// EVM (0x…, checksummed on save) or Solana (base58) address of the owner.
    #[schema(min_length = 1)]
    owner_address: String,
    /// How the owner answers approvals: `sdk_push` (a wallet app through the push relay) or
    /// `rest` (the owner calls the approve/reject routes); `sdk_telegram`, `walletconnect` and
    /// `telegram_bot` are accepted as upstream and answered through REST.
    #[schema(pattern = "^(sdk_push|sdk_telegram|walletconnect|telegram_bot|rest)$")]
    approval_method: Option<String>,
    /// `dcent`: the D'CENT preset (approvals through `sdk_push`, a signing-enabled `dcent`
    /// wallet app).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]*$", max_length = 64)]
    wallet_type: Option<String>,
}

/// Register (or replace, while not yet verified) the wallet's owner: NONE → GRACE.
#[utoipa::path(put, path = "/v1/wallets/{id}/owner", tag = "Wallets", operation_id = "setWalletOwner", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Wallet id")),
    request_body = SetOwner,
    responses((status = 200, description = "Owner registered", body = WalletOwnerResponse),
              (status = 409, description = "OWNER_ALREADY_CONNECTED (verified owners are fixed)", body = crate::openapi::ErrorResponse)))]
async fn set_owner(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<SetOwner>) -> ApiResult<Json<WalletOwnerResponse>> {
    Ok(Json(s.engine.register_owner(&id, &b.owner_address, b.approval_method.as_deref(), b.wallet_type.as_deref()).await?))
}

/// The owner proves their key: GRACE → LOCKED (`Request ID: verify:<walletId>`).
#[utoipa::path(post, path = "/v1/wallets/{id}/owner/verify", tag = "Owner", operation_id = "verifyWalletOwner",
    security(("ownerAuth" = [], "ownerAddress" = [], "ownerMessage" = [])),
    params(("id" = String, Path, description = "Wallet id")),
    responses((status = 200, description = "LOCKED", body = OwnerVerifyResponse)))]
async fn verify(State(s): State<AppState>, owner: Owner, Path(id): Path<String>) -> ApiResult<Json<OwnerVerifyResponse>> {
    Ok(Json(s.engine.verify_owner(&id, &owner.proof).await?))
}

/// The owner approves a transaction waiting in the APPROVAL tier (`Request ID: approve:<txId>`).
#[utoipa::path(post, path = "/v1/transactions/{id}/approve", tag = "Owner", operation_id = "approveTransaction",
    security(("ownerAuth" = [], "ownerAddress" = [], "ownerMessage" = [])),
    params(("id" = String, Path, description = "Transaction id")),
    responses((status = 200, description = "EXECUTING", body = TxApproveResponse),
              (status = 404, description = "APPROVAL_NOT_FOUND", body = crate::openapi::ErrorResponse),
              (status = 410, description = "APPROVAL_TIMEOUT", body = crate::openapi::ErrorResponse)))]
async fn approve(State(s): State<AppState>, owner: Owner, Path(id): Path<String>) -> ApiResult<Json<TxApproveResponse>> {
    Ok(Json(s.engine.approve_transaction(&id, &owner.proof).await?))
}

/// The owner rejects a QUEUED transaction (`Request ID: reject:<txId>`).
#[utoipa::path(post, path = "/v1/transactions/{id}/reject", tag = "Owner", operation_id = "rejectTransaction",
    security(("ownerAuth" = [], "ownerAddress" = [], "ownerMessage" = [])),
    params(("id" = String, Path, description = "Transaction id")),
    responses((status = 200, description = "CANCELLED", body = TxRejectResponse)))]
async fn reject(State(s): State<AppState>, owner: Owner, Path(id): Path<String>) -> ApiResult<Json<TxRejectResponse>> {
    Ok(Json(s.engine.reject_transaction(&id, &owner.proof).await?))
}

/// An owner (of any wallet) activates the kill switch (`Request ID: kill-switch:activate`).
#[utoipa::path(post, path = "/v1/owner/kill-switch", tag = "Owner", operation_id = "ownerActivateKillSwitch",
    security(("ownerAuth" = [], "ownerAddress" = [], "ownerMessage" = [])),
    responses((status = 200, description = "SUSPENDED", body = KillSwitchActivateResponse)))]
async fn kill_switch(State(s): State<AppState>, owner: Owner) -> ApiResult<Json<KillSwitchActivateResponse>> {
    let st = s.engine.owner_activate_kill_switch(&owner.proof).await?;
    Ok(Json(KillSwitchActivateResponse::from(st)))
}
