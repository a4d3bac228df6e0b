//! `/health`, `/v1/nonce` and the admin routes of the foundation.

use super::extract::{ApiResult, Body, Master};
use super::AppState;
use axum::extract::State;
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
}

async fn health(State(s): State<AppState>) -> Json<waiaas_core::Health> {
    Json(s.engine.health())
}

async fn nonce(State(s): State<AppState>) -> Json<waiaas_core::engine::NonceResponse> {
    Json(s.engine.nonce())
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
