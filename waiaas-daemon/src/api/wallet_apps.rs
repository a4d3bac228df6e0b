//! Wallet apps (`/v1/admin/wallet-apps*`): the owner's wallet on a phone, reached through the
//! push relay. Master only (upstream served them without auth). The core does the work
//! (`waiaas_core::signing_sdk::apps`).

use super::extract::{ApiResult, Body, Master};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::signing_sdk::apps::{
    CreateWalletApp, TestSignRequestBody, UpdateWalletApp, WalletAppList, WalletAppResponse, WalletAppTestResult, WalletAppTestSignResult,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(update, remove)).routes(routes!(test_notification)).routes(routes!(test_sign_request))
}

/// `DELETE /v1/admin/wallet-apps/{id}` answer (doc only).
#[derive(ToSchema)]
#[schema(as = WalletAppDeleted)]
#[allow(dead_code)]
struct Deleted {
    ok: bool,
}

/// Every wallet app, with the wallets that use its wallet type.
#[utoipa::path(get, path = "/v1/admin/wallet-apps", tag = "Wallet Apps", operation_id = "listWalletApps", security(("masterAuth" = [])),
    responses((status = 200, description = "Wallet apps", body = WalletAppList)))]
async fn list(State(s): State<AppState>, _m: Master) -> ApiResult<Json<WalletAppList>> {
    Ok(Json(s.engine.list_wallet_apps().await?))
}

/// Register a wallet app; signing is enabled unless another app of its wallet type has it.
#[utoipa::path(post, path = "/v1/admin/wallet-apps", tag = "Wallet Apps", operation_id = "createWalletApp", security(("masterAuth" = [])),
    request_body = CreateWalletApp,
    responses((status = 201, description = "Created", body = WalletAppResponse),
              (status = 409, description = "WALLET_APP_DUPLICATE", body = crate::openapi::ErrorResponse)))]
async fn create(State(s): State<AppState>, _m: Master, Body(b): Body<CreateWalletApp>) -> ApiResult<(StatusCode, Json<WalletAppResponse>)> {
    Ok((StatusCode::CREATED, Json(s.engine.create_wallet_app(b).await?)))
}

/// Change a wallet app: subscription token, relay URL, signing, alerts.
///
/// Enabling signing disables it on the other apps of the same wallet type.
#[utoipa::path(put, path = "/v1/admin/wallet-apps/{id}", tag = "Wallet Apps", operation_id = "updateWalletApp", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Wallet app id")), request_body = UpdateWalletApp,
    responses((status = 200, description = "Updated", body = WalletAppResponse),
              (status = 404, description = "WALLET_APP_NOT_FOUND", body = crate::openapi::ErrorResponse)))]
async fn update(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<UpdateWalletApp>) -> ApiResult<Json<WalletAppResponse>> {
    Ok(Json(s.engine.update_wallet_app(&id, b).await?))
}

/// Delete a wallet app.
#[utoipa::path(delete, path = "/v1/admin/wallet-apps/{id}", tag = "Wallet Apps", operation_id = "deleteWalletApp", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Wallet app id")),
    responses((status = 200, description = "Deleted", body = Deleted),
              (status = 404, description = "WALLET_APP_NOT_FOUND", body = crate::openapi::ErrorResponse)))]
async fn remove(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.delete_wallet_app(&id).await?))
}

/// Push a test notification to the wallet app through its relay.
///
/// The outcome is in the answer (always HTTP 200).
#[utoipa::path(post, path = "/v1/admin/wallet-apps/{id}/test-notification", tag = "Wallet Apps", operation_id = "testWalletAppNotification",
    security(("masterAuth" = [])), params(("id" = String, Path, description = "Wallet app id")),
    responses((status = 200, description = "Outcome", body = WalletAppTestResult),
              (status = 404, description = "WALLET_APP_NOT_FOUND", body = crate::openapi::ErrorResponse)))]
async fn test_notification(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<WalletAppTestResult>> {
    Ok(Json(s.engine.test_wallet_app_notification(&id).await?))
}

/// Push a test sign request to the wallet app and wait for its answer (30 s by default).
///
/// Nothing is approved or rejected: the answer is reported, with whether its signature of the
/// test message verifies. The outcome is in the answer (HTTP 200).
#[utoipa::path(post, path = "/v1/admin/wallet-apps/{id}/test-sign-request", tag = "Wallet Apps", operation_id = "testWalletAppSignRequest",
    security(("masterAuth" = [])), params(("id" = String, Path, description = "Wallet app id")), request_body = TestSignRequestBody,
    responses((status = 200, description = "Outcome", body = WalletAppTestSignResult),
              (status = 400, description = "ACTION_VALIDATION_FAILED", body = crate::openapi::ErrorResponse),
              (status = 404, description = "WALLET_APP_NOT_FOUND", body = crate::openapi::ErrorResponse)))]
async fn test_sign_request(
    State(s): State<AppState>,
    _m: Master,
    Path(id): Path<String>,
    Body(b): Body<TestSignRequestBody>,
) -> ApiResult<Json<WalletAppTestSignResult>> {
    Ok(Json(s.engine.test_wallet_app_sign_request(&id, b).await?))
}
