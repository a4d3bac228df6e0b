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
        .route("/v1/admin/kill-switch", get(kill_switch).post(activate))
        .route("/v1/admin/recover", post(recover))
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

async fn kill_switch(State(s): State<AppState>) -> ApiResult<Json<waiaas_core::killswitch::KillSwitchStatus>> {
    Ok(Json(s.engine.kill_switch_status().await?))
}

async fn activate(State(s): State<AppState>, _m: Master) -> ApiResult<Json<Value>> {
    let st = s.engine.activate_kill_switch("master").await?;
    Ok(Json(json!({"state": st.state, "activatedAt": st.activated_at})))
}

async fn recover(State(s): State<AppState>, _m: Master) -> ApiResult<Json<Value>> {
    let st = s.engine.recover_kill_switch("master").await?;
    Ok(Json(json!({"state": st.state, "recoveredAt": waiaas_core::now()})))
}
