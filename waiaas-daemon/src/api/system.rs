//! `/health`, `/v1/nonce` and the admin routes of the foundation.

use super::extract::{ApiResult, Body, Master, Query};
use super::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::api::types::{
    KillSwitchActivateResponse, KillSwitchEscalateResponse, MasterPasswordChangeResponse, RecoverResponse, RotateSecretResponse, ShutdownResponse,
    TxCancelResponse, TxRejectResponse,
};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(nonce))
        .routes(routes!(change_master_password))
        .routes(routes!(rotate_secret))
        .routes(routes!(shutdown))
        .routes(routes!(kill_switch, activate))
        .routes(routes!(escalate))
        .routes(routes!(recover))
        .routes(routes!(admin_cancel))
        .routes(routes!(admin_reject))
}

/// Liveness and readiness
///
/// Upstream's fields plus `live`, `ready`, the `checks` behind them (a query on the store,
/// the schema version against this build's migrations, the kill switch state) and the names
/// of the `failed` ones. 503 when a check failed. No credentials: container healthchecks
/// call it.
#[utoipa::path(get, path = "/health", tag = "Health", operation_id = "health", security(()),
    responses((status = 200, description = "Live and ready", body = waiaas_core::Health),
              (status = 503, description = "Live but not ready: `failed` names the checks", body = waiaas_core::Health)))]
async fn health(State(s): State<AppState>) -> (axum::http::StatusCode, Json<waiaas_core::Health>) {
    let h = s.engine.health().await;
    let code = if h.ready { axum::http::StatusCode::OK } else { axum::http::StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(h))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct NonceQuery {
    /// Bind the nonce to this owner address: only that owner's signature can use it.
    /// Optional (upstream clients send none).
    address: Option<String>,
}

/// A single-use nonce for an owner's signed message (valid `security.nonce_ttl_sec`).
///
/// Issuing stores nothing, so no flood of requests can keep an owner from getting one.
#[utoipa::path(get, path = "/v1/nonce", tag = "Auth", operation_id = "getNonce", security(()),
    params(NonceQuery),
    responses((status = 200, description = "A fresh nonce", body = waiaas_core::owner::NonceResponse)))]
async fn nonce(State(s): State<AppState>, Query(q): Query<NonceQuery>) -> ApiResult<Json<waiaas_core::owner::NonceResponse>> {
    Ok(Json(s.engine.nonce_for(q.address.as_deref()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MasterPasswordChangeRequest)]
struct NewPassword {
    /// At least 8 characters.
    #[schema(min_length = 8)]
    new_password: String,
}

/// Change the master password; every key file is re-encrypted (crash-safe).
#[utoipa::path(put, path = "/v1/admin/master-password", tag = "Admin", operation_id = "changeMasterPassword", security(("masterAuth" = [])),
    request_body = NewPassword,
    responses((status = 200, description = "Changed", body = MasterPasswordChangeResponse)))]
async fn change_master_password(State(s): State<AppState>, _m: Master, Body(b): Body<NewPassword>) -> ApiResult<Json<MasterPasswordChangeResponse>> {
    let n = s.engine.change_master_password(&b.new_password).await?;
    Ok(Json(MasterPasswordChangeResponse::new(n as u64)))
}

/// Rotate the session-token secret
///
/// Tokens signed with the previous (JWT) secret keep working for 5 minutes.
#[utoipa::path(post, path = "/v1/admin/rotate-secret", tag = "Admin", operation_id = "rotateSecret", security(("masterAuth" = [])),
    responses((status = 200, description = "Rotated", body = RotateSecretResponse),
              (status = 429, description = "ROTATION_TOO_RECENT", body = crate::openapi::ErrorResponse)))]
async fn rotate_secret(State(s): State<AppState>, _m: Master) -> ApiResult<Json<RotateSecretResponse>> {
    let rotated_at = s.engine.rotate_jwt_secret().await?;
    Ok(Json(RotateSecretResponse { rotated_at, message: "JWT secret rotated; previous tokens stay valid for 5 minutes".into() }))
}

/// Graceful shutdown.
#[utoipa::path(post, path = "/v1/admin/shutdown", tag = "Admin", operation_id = "shutdown", security(("masterAuth" = [])),
    responses((status = 200, description = "Shutting down", body = ShutdownResponse)))]
async fn shutdown(State(s): State<AppState>, _m: Master) -> Json<ShutdownResponse> {
    s.shutdown.notify_one();
    Json(ShutdownResponse { message: "Shutdown initiated".into() })
}

/// Kill switch state (public, as upstream).
#[utoipa::path(get, path = "/v1/admin/kill-switch", tag = "Admin", operation_id = "getKillSwitch", security(()),
    responses((status = 200, description = "Current state", body = waiaas_core::killswitch::KillSwitchStatus)))]
async fn kill_switch(State(s): State<AppState>) -> ApiResult<Json<waiaas_core::killswitch::KillSwitchStatus>> {
    Ok(Json(s.engine.kill_switch_status().await?))
}

/// Activate the kill switch
///
/// Cancels unsigned transactions, suspends active wallets and closes all but the health,
/// nonce, admin and owner routes (503 `SYSTEM_LOCKED`).
#[utoipa::path(post, path = "/v1/admin/kill-switch", tag = "Admin", operation_id = "activateKillSwitch", security(("masterAuth" = [])),
    responses((status = 200, description = "SUSPENDED", body = KillSwitchActivateResponse),
              (status = 409, description = "KILL_SWITCH_ACTIVE", body = crate::openapi::ErrorResponse)))]
async fn activate(State(s): State<AppState>, _m: Master) -> ApiResult<Json<KillSwitchActivateResponse>> {
    let st = s.engine.activate_kill_switch("master").await?;
    Ok(Json(KillSwitchActivateResponse::from(st)))
}

/// SUSPENDED → LOCKED: also revokes every session.
#[utoipa::path(post, path = "/v1/admin/kill-switch/escalate", tag = "Admin", operation_id = "escalateKillSwitch", security(("masterAuth" = [])),
    responses((status = 200, description = "LOCKED", body = KillSwitchEscalateResponse),
              (status = 409, description = "INVALID_STATE_TRANSITION", body = crate::openapi::ErrorResponse)))]
async fn escalate(State(s): State<AppState>, _m: Master) -> ApiResult<Json<KillSwitchEscalateResponse>> {
    let st = s.engine.escalate_kill_switch("master").await?;
    Ok(Json(KillSwitchEscalateResponse { state: st.state, escalated_at: s.engine.now() }))
}

/// Upstream's body; from LOCKED it carries the owner's signed `kill-switch:recover` message.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = KillSwitchRecoverRequest)]
struct Recover {
    owner_signature: Option<String>,
    owner_address: Option<String>,
    /// Base64 of the owner's signed SIWE message.
    message: Option<String>,
    /// Accepted and ignored (upstream field).
    #[allow(dead_code)]
    chain: Option<String>,
}

/// Recover from the kill switch
///
/// Back to ACTIVE; resumes the wallets the kill switch suspended. From LOCKED the body must
/// carry an owner's signed `kill-switch:recover` (master **and** owner).
#[utoipa::path(post, path = "/v1/admin/recover", tag = "Admin", operation_id = "recoverKillSwitch", security(("masterAuth" = [])),
    request_body(content = Recover, description = "Empty, or the owner's proof (required from LOCKED)"),
    responses((status = 200, description = "ACTIVE", body = RecoverResponse),
              (status = 409, description = "KILL_SWITCH_NOT_ACTIVE", body = crate::openapi::ErrorResponse)))]
async fn recover(State(s): State<AppState>, _m: Master, body: axum::body::Bytes) -> ApiResult<Json<RecoverResponse>> {
    let b: Recover = if body.iter().all(u8::is_ascii_whitespace) { Recover::default() } else { super::extract::parse_json(&body)? };
    let proof = match (b.owner_address, b.message, b.owner_signature) {
        (Some(address), Some(message), Some(signature)) => Some(waiaas_core::auth::owner::OwnerProof { address, message, signature }),
        (None, None, None) => None,
        _ => return Err(waiaas_core::Error::validation("ownerSignature", "ownerAddress, message and ownerSignature go together").into()),
    };
    let st = s.engine.recover_kill_switch("master", proof.as_ref()).await?;
    Ok(Json(RecoverResponse { state: st.state, recovered_at: s.engine.now() }))
}

/// Cancel any QUEUED transaction (operator).
#[utoipa::path(post, path = "/v1/admin/transactions/{id}/cancel", tag = "Admin", operation_id = "adminCancelTransaction", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Transaction id")),
    responses((status = 200, description = "CANCELLED", body = TxCancelResponse)))]
async fn admin_cancel(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<TxCancelResponse>> {
    Ok(Json(s.engine.cancel_transaction(&waiaas_core::Caller::Master, &id).await?))
}

/// Reject any QUEUED transaction (operator).
#[utoipa::path(post, path = "/v1/admin/transactions/{id}/reject", tag = "Admin", operation_id = "adminRejectTransaction", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Transaction id")),
    responses((status = 200, description = "CANCELLED", body = TxRejectResponse)))]
async fn admin_reject(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<TxRejectResponse>> {
    let c = s.engine.cancel_transaction(&waiaas_core::Caller::Master, &id).await?;
    Ok(Json(TxRejectResponse { id: c.id, status: c.status, rejected_at: s.engine.now() }))
}
