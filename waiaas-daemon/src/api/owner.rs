//! Owner routes: registration (master), and what the owner does with a signed message alone
//! (no agent token): verify, approve or reject a waiting transaction, stop everything.

use super::extract::{ApiResult, Body, Master, Owner};
use super::AppState;
use axum::extract::{Path, State};
use axum::routing::{post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/wallets/{id}/owner", put(set_owner))
        .route("/v1/wallets/{id}/owner/verify", post(verify))
        .route("/v1/transactions/{id}/approve", post(approve))
        .route("/v1/transactions/{id}/reject", post(reject))
        .route("/v1/owner/kill-switch", post(kill_switch))
}

#[derive(Deserialize)]
struct SetOwner {
    owner_address: String,
    #[allow(dead_code)]
    approval_method: Option<String>,
    #[allow(dead_code)]
    wallet_type: Option<String>,
}

async fn set_owner(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<SetOwner>) -> ApiResult<Json<Value>> {
    if let Some(m) = b.approval_method.as_deref() {
        if m != "rest" {
            return Err(waiaas_core::Error::validation("approval_method", "only 'rest' (the owner calls POST /v1/transactions/{id}/approve) is available").into());
        }
    }
    Ok(Json(s.engine.set_owner(&id, &b.owner_address).await?))
}

async fn verify(State(s): State<AppState>, owner: Owner, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.verify_owner(&id, &owner.proof, &owner.domain).await?))
}

async fn approve(State(s): State<AppState>, owner: Owner, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.approve_transaction(&id, &owner.proof, &owner.domain).await?))
}

async fn reject(State(s): State<AppState>, owner: Owner, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.reject_transaction(&id, &owner.proof, &owner.domain).await?))
}

async fn kill_switch(State(s): State<AppState>, owner: Owner) -> ApiResult<Json<Value>> {
    let st = s.engine.owner_activate_kill_switch(&owner.proof, &owner.domain).await?;
    Ok(Json(json!({"state": st.state, "activatedAt": st.activated_at})))
}
