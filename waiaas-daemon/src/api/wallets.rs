//! `/v1/wallets*`.

use super::extract::{ApiResult, Body, Master, MasterOrSession};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use waiaas_core::wallets::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/wallets", get(list).post(create))
        .route("/v1/wallets/{id}", get(detail).put(rename).patch(patch).delete(terminate))
        .route("/v1/wallets/{id}/purge", delete(purge))
        .route("/v1/wallets/{id}/suspend", post(suspend))
        .route("/v1/wallets/{id}/resume", post(resume))
        .route("/v1/wallets/{id}/networks", get(networks))
}

async fn create(State(s): State<AppState>, _m: Master, Body(req): Body<CreateWallet>) -> ApiResult<(StatusCode, Json<WalletCreated>)> {
    Ok((StatusCode::CREATED, Json(s.engine.create_wallet(req).await?)))
}

async fn list(State(s): State<AppState>, auth: MasterOrSession) -> ApiResult<Json<WalletList>> {
    Ok(Json(s.engine.list_wallets(&auth.caller()).await?))
}

async fn detail(State(s): State<AppState>, auth: MasterOrSession, Path(id): Path<String>) -> ApiResult<Json<WalletDetail>> {
    Ok(Json(s.engine.get_wallet(&auth.caller(), &id).await?))
}

#[derive(Deserialize)]
struct Rename {
    name: String,
}

async fn rename(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<Rename>) -> ApiResult<Json<WalletView>> {
    Ok(Json(s.engine.rename_wallet(&id, &b.name).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Patch {
    monitor_incoming: Option<bool>,
}

async fn patch(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<Patch>) -> ApiResult<Json<MonitorIncoming>> {
    Ok(Json(s.engine.set_monitor_incoming(&id, b.monitor_incoming).await?))
}

async fn terminate(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<WalletStatusChange>> {
    Ok(Json(s.engine.terminate_wallet(&id).await?))
}

async fn purge(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<WalletStatusChange>> {
    Ok(Json(s.engine.purge_wallet(&id).await?))
}

#[derive(Deserialize)]
struct Suspend {
    reason: Option<String>,
}

async fn suspend(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<Suspend>) -> ApiResult<Json<WalletStatusChange>> {
    Ok(Json(s.engine.suspend_wallet(&id, b.reason.as_deref()).await?))
}

async fn resume(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<WalletStatusChange>> {
    Ok(Json(s.engine.resume_wallet(&id).await?))
}

async fn networks(State(s): State<AppState>, auth: MasterOrSession, Path(id): Path<String>) -> ApiResult<Json<WalletNetworks>> {
    Ok(Json(s.engine.wallet_networks(&auth.caller(), &id).await?))
}
