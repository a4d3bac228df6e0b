//! `/v1/wallets*`.

use super::extract::{ApiResult, Body, Master, MasterOrSession};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::wallets::*;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(detail, rename, patch, terminate))
        .routes(routes!(purge))
        .routes(routes!(suspend))
        .routes(routes!(resume))
        .routes(routes!(networks))
}

/// Create a wallet
///
/// Its key is generated and encrypted here; unless `createSession: false`, an unlimited
/// session is minted for it.
#[utoipa::path(post, path = "/v1/wallets", tag = "Wallets", operation_id = "createWallet", security(("masterAuth" = [])),
    request_body = CreateWallet,
    responses((status = 201, description = "Created", body = WalletCreated)))]
async fn create(State(s): State<AppState>, _m: Master, Body(req): Body<CreateWallet>) -> ApiResult<(StatusCode, Json<WalletCreated>)> {
    Ok((StatusCode::CREATED, Json(s.engine.create_wallet(req).await?)))
}

/// Every wallet (master), or the session's wallets.
#[utoipa::path(get, path = "/v1/wallets", tag = "Wallets", operation_id = "listWallets", security(("masterAuth" = []), ("sessionAuth" = [])),
    responses((status = 200, description = "Wallets", body = WalletList)))]
async fn list(State(s): State<AppState>, auth: MasterOrSession) -> ApiResult<Json<WalletList>> {
    Ok(Json(s.engine.list_wallets(&auth.caller()).await?))
}

/// One wallet (a session sees only its own).
#[utoipa::path(get, path = "/v1/wallets/{id}", tag = "Wallets", operation_id = "getWallet", security(("masterAuth" = []), ("sessionAuth" = [])),
    params(("id" = String, Path, description = "Wallet id")),
    responses((status = 200, description = "The wallet", body = WalletDetail)))]
async fn detail(State(s): State<AppState>, auth: MasterOrSession, Path(id): Path<String>) -> ApiResult<Json<WalletDetail>> {
    Ok(Json(s.engine.get_wallet(&auth.caller(), &id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = UpdateWalletRequest)]
struct Rename {
    /// 1..100 characters, no control characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    name: String,
}

/// Rename a wallet.
#[utoipa::path(put, path = "/v1/wallets/{id}", tag = "Wallets", operation_id = "updateWallet", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Wallet id")),
    request_body = Rename,
    responses((status = 200, description = "Renamed", body = WalletView)))]
async fn rename(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<Rename>) -> ApiResult<Json<WalletView>> {
    Ok(Json(s.engine.rename_wallet(&id, &b.name).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PatchWalletRequest)]
struct Patch {
    monitor_incoming: Option<bool>,
}

/// Change wallet flags.
#[utoipa::path(patch, path = "/v1/wallets/{id}", tag = "Wallets", operation_id = "patchWallet", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Wallet id")),
    request_body = Patch,
    responses((status = 200, description = "Updated", body = MonitorIncoming)))]
async fn patch(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<Patch>) -> ApiResult<Json<MonitorIncoming>> {
    Ok(Json(s.engine.set_monitor_incoming(&id, b.monitor_incoming).await?))
}

/// Terminate a wallet
///
/// It never signs again; pending transactions are cancelled and sessions whose only wallet
/// it was are revoked.
#[utoipa::path(delete, path = "/v1/wallets/{id}", tag = "Wallets", operation_id = "deleteWallet", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Wallet id")),
    responses((status = 200, description = "TERMINATED", body = WalletStatusChange),
              (status = 410, description = "WALLET_TERMINATED (already)", body = crate::openapi::ErrorResponse)))]
async fn terminate(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<WalletStatusChange>> {
    Ok(Json(s.engine.terminate_wallet(&id).await?))
}

/// Delete a terminated wallet and its key file.
#[utoipa::path(delete, path = "/v1/wallets/{id}/purge", tag = "Wallets", operation_id = "purgeWallet", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Wallet id")),
    responses((status = 200, description = "PURGED", body = WalletStatusChange),
              (status = 409, description = "WALLET_NOT_TERMINATED", body = crate::openapi::ErrorResponse)))]
async fn purge(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<WalletStatusChange>> {
    Ok(Json(s.engine.purge_wallet(&id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = WalletSuspendRequest)]
struct Suspend {
    /// Default `MANUAL`.
    #[schema(max_length = 200)]
    reason: Option<String>,
}

/// Suspend a wallet (it signs nothing until resumed).
#[utoipa::path(post, path = "/v1/wallets/{id}/suspend", tag = "Wallets", operation_id = "suspendWallet", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Wallet id")),
    request_body(content = Suspend, description = "Optional reason"),
    responses((status = 200, description = "SUSPENDED", body = WalletStatusChange)))]
async fn suspend(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<Suspend>) -> ApiResult<Json<WalletStatusChange>> {
    Ok(Json(s.engine.suspend_wallet(&id, b.reason.as_deref()).await?))
}

/// Resume a suspended wallet.
#[utoipa::path(post, path = "/v1/wallets/{id}/resume", tag = "Wallets", operation_id = "resumeWallet", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Wallet id")),
    responses((status = 200, description = "ACTIVE", body = WalletStatusChange),
              (status = 409, description = "INVALID_STATE_TRANSITION", body = crate::openapi::ErrorResponse)))]
async fn resume(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<WalletStatusChange>> {
    Ok(Json(s.engine.resume_wallet(&id).await?))
}

/// Networks the wallet can use (its chain and environment).
#[utoipa::path(get, path = "/v1/wallets/{id}/networks", tag = "Wallets", operation_id = "getWalletNetworks", security(("masterAuth" = []), ("sessionAuth" = [])),
    params(("id" = String, Path, description = "Wallet id")),
    responses((status = 200, description = "Networks", body = WalletNetworks)))]
async fn networks(State(s): State<AppState>, auth: MasterOrSession, Path(id): Path<String>) -> ApiResult<Json<WalletNetworks>> {
    Ok(Json(s.engine.wallet_networks(&auth.caller(), &id).await?))
}
