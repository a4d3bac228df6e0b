//! `/health`, `/v1/nonce` and the admin routes of the foundation.

use super::extract::{ApiResult, Body, Master};
use super::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/v1/nonce", get(nonce))
        .route("/v1/admin/master-password", put(change_master_password))
        .route("/v1/admin/rotate-secret", post(rotate_secret))
        .route("/v1/admin/shutdown", post(shutdown))
        .route("/v1/admin/kill-switch", get(kill_switch).post(activate))
        .route("/v1/admin/kill-switch/escalate", post(escalate))
        .route("/v1/admin/recover", post(recover))
        .route("/v1/admin/transactions/{id}/cancel", post(admin_cancel))
        .route("/v1/admin/transactions/{id}/reject", post(admin_reject))
}

async fn health(State(s): State<AppState>) -> Json<waiaas_core::Health> {
    Json(s.engine.health())
}

async fn nonce(State(s): State<AppState>) -> ApiResult<Json<waiaas_core::owner::NonceResponse>> {
    Ok(Json(s.engine.nonce().await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewPassword {
    new_password: String,
}

async fn change_master_password(State(s): State<AppState>, _m: Master, Body(b): Body<NewPassword>) -> ApiResult<Json<Value>> {
    let n = s.engine.change_master_password(&b.new_password).await?;
    Ok(Json(json!({
        "message": "Master password changed",
        "walletsReEncrypted": n,
        "settingsReEncrypted": 0,
        "credentialsReEncrypted": 0,
    })))
}

async fn rotate_secret(State(s): State<AppState>, _m: Master) -> ApiResult<Json<Value>> {
    let at = s.engine.rotate_jwt_secret().await?;
    Ok(Json(json!({ "rotatedAt": at, "message": "JWT secret rotated; previous tokens stay valid for 5 minutes" })))
}

async fn shutdown(State(s): State<AppState>, _m: Master) -> Json<Value> {
    s.shutdown.notify_one();
    Json(json!({ "message": "Shutdown initiated" }))
}

async fn kill_switch(State(s): State<AppState>) -> ApiResult<Json<waiaas_core::killswitch::KillSwitchStatus>> {
    Ok(Json(s.engine.kill_switch_status().await?))
}

async fn activate(State(s): State<AppState>, _m: Master) -> ApiResult<Json<Value>> {
    let st = s.engine.activate_kill_switch("master").await?;
    Ok(Json(json!({"state": st.state, "activatedAt": st.activated_at})))
}

async fn escalate(State(s): State<AppState>, _m: Master) -> ApiResult<Json<Value>> {
    let st = s.engine.escalate_kill_switch("master").await?;
    Ok(Json(json!({"state": st.state, "escalatedAt": waiaas_core::now()})))
}

/// Upstream's body; from LOCKED it carries the owner's signed `kill-switch:recover` message.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Recover {
    owner_signature: Option<String>,
    owner_address: Option<String>,
    message: Option<String>,
    #[allow(dead_code)]
    chain: Option<String>,
}

async fn recover(State(s): State<AppState>, _m: Master, headers: axum::http::HeaderMap, body: axum::body::Bytes) -> ApiResult<Json<Value>> {
    let b: Recover = if body.iter().all(u8::is_ascii_whitespace) { Recover::default() } else { super::extract::parse_json(&body)? };
    let domain = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default().to_string();
    let proof = match (b.owner_address, b.message, b.owner_signature) {
        (Some(address), Some(message), Some(signature)) => Some(waiaas_core::auth::owner::OwnerProof { address, message, signature }),
        (None, None, None) => None,
        _ => return Err(waiaas_core::Error::validation("ownerSignature", "ownerAddress, message and ownerSignature go together").into()),
    };
    let st = s.engine.recover_kill_switch("master", proof.as_ref().map(|p| (p, domain.as_str()))).await?;
    Ok(Json(json!({"state": st.state, "recoveredAt": waiaas_core::now()})))
}

async fn admin_cancel(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.cancel_transaction(&waiaas_core::Caller::Master, &id).await?))
}

async fn admin_reject(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let mut v = s.engine.cancel_transaction(&waiaas_core::Caller::Master, &id).await?;
    v["rejectedAt"] = waiaas_core::now().into();
    Ok(Json(v))
}
