//! `/v1/transactions*`, `/v1/wallet/*` (agent queries) and `/v1/utils/encode-calldata`.

use super::extract::{ApiResult, Body, Query, Session};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use waiaas_core::pipeline::Accepted;
use waiaas_core::transactions::*;
use waiaas_core::Caller;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/transactions/send", post(send))
        .route("/v1/transactions/simulate", post(simulate))
        .route("/v1/transactions/{id}/cancel", post(cancel))
        .route("/v1/transactions/sign", post(sign))
        .route("/v1/transactions/sign-message", post(sign_message))
        .route("/v1/transactions", get(list))
        .route("/v1/transactions/pending", get(pending))
        .route("/v1/transactions/{id}", get(detail))
        .route("/v1/wallet/address", get(address))
        .route("/v1/wallet/balance", get(balance))
        .route("/v1/wallet/assets", get(assets))
        .route("/v1/utils/encode-calldata", post(encode_calldata))
        .route("/v1/connect-info", get(connect_info))
}

async fn send(State(s): State<AppState>, session: Session, headers: HeaderMap, Body(body): Body<Value>) -> ApiResult<(StatusCode, Json<Accepted>)> {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    Ok((StatusCode::CREATED, Json(s.engine.send_transaction(&session.ctx, body, key).await?)))
}

async fn simulate(State(s): State<AppState>, session: Session, Body(body): Body<Value>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.simulate_transaction(&session.ctx, body).await?))
}

async fn cancel(State(s): State<AppState>, auth: super::extract::MasterOrSession, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.cancel_transaction(&auth.caller(), &id).await?))
}

async fn sign(State(s): State<AppState>, session: Session, Body(b): Body<SignTransaction>) -> ApiResult<Json<TransactionSigned>> {
    Ok(Json(s.engine.sign_transaction(&session.ctx, b).await?))
}

async fn sign_message(State(s): State<AppState>, session: Session, Body(b): Body<SignMessage>) -> ApiResult<Json<MessageSigned>> {
    Ok(Json(s.engine.sign_message(&session.ctx, b).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    wallet_id: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn list(State(s): State<AppState>, session: Session, Query(q): Query<ListQuery>) -> ApiResult<Json<TxPage>> {
    Ok(Json(s.engine.list_transactions(&session.ctx, q.wallet_id.as_deref(), q.cursor.as_deref(), q.limit).await?))
}

async fn pending(State(s): State<AppState>, session: Session, Query(q): Query<ListQuery>) -> ApiResult<Json<TxItems>> {
    Ok(Json(s.engine.pending_transactions(&session.ctx, q.wallet_id.as_deref()).await?))
}

async fn detail(State(s): State<AppState>, session: Session, Path(id): Path<String>) -> ApiResult<Json<TxView>> {
    Ok(Json(s.engine.get_transaction(&Caller::Session(&session.ctx), &id).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WalletQuery {
    wallet_id: Option<String>,
    network: Option<String>,
    #[allow(dead_code)]
    display_currency: Option<String>,
}

async fn address(State(s): State<AppState>, session: Session, Query(q): Query<WalletQuery>) -> ApiResult<Json<AddressView>> {
    Ok(Json(s.engine.wallet_address(&session.ctx, q.wallet_id.as_deref(), q.network.as_deref()).await?))
}

async fn balance(State(s): State<AppState>, session: Session, Query(q): Query<WalletQuery>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.wallet_balance(&session.ctx, q.wallet_id.as_deref(), q.network.as_deref()).await?))
}

async fn assets(State(s): State<AppState>, session: Session, Query(q): Query<WalletQuery>) -> ApiResult<Json<AssetsView>> {
    Ok(Json(s.engine.wallet_assets(&session.ctx, q.wallet_id.as_deref(), q.network.as_deref()).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Encode {
    abi: Value,
    function_name: String,
    #[serde(default)]
    args: Vec<Value>,
}

async fn encode_calldata(State(s): State<AppState>, _session: Session, Body(b): Body<Encode>) -> ApiResult<Json<Calldata>> {
    Ok(Json(s.engine.encode_calldata(&b.abi, &b.function_name, &b.args)?))
}

async fn connect_info(State(s): State<AppState>, session: Session, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:3100");
    let proto = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).filter(|p| *p == "https").unwrap_or("http");
    Ok(Json(s.engine.connect_info(&session.ctx, &format!("{proto}://{host}")).await?))
}
