//! `/v1/transactions*`, `/v1/wallet/*` (agent queries) and `/v1/utils/encode-calldata`.

use super::extract::{ApiResult, Body, Query, Session};
use super::AppState;
use crate::openapi::{BalanceResponse, DryRunSimulationResult, SendTransactionRequest};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::api::types::{ConnectInfoResponse, TxCancelResponse};
use waiaas_core::pipeline::Accepted;
use waiaas_core::transactions::*;
use waiaas_core::Caller;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send))
        .routes(routes!(simulate))
        .routes(routes!(cancel))
        .routes(routes!(sign))
        .routes(routes!(sign_message))
        .routes(routes!(list))
        .routes(routes!(pending))
        .routes(routes!(detail))
        .routes(routes!(address))
        .routes(routes!(balance))
        .routes(routes!(assets))
        .routes(routes!(encode_calldata))
        .routes(routes!(connect_info))
}

/// Send a transaction
///
/// Answered 201 `PENDING` at once; policy, signing, broadcast and confirmation follow in the
/// background (poll `GET /v1/transactions/{id}`). A body without `type` is a TRANSFER.
#[utoipa::path(post, path = "/v1/transactions/send", tag = "Transactions", operation_id = "sendTransaction", security(("sessionAuth" = [])),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, description = "Retries with the same key return the first answer")),
    request_body = SendTransactionRequest,
    responses((status = 201, description = "Accepted (PENDING)", body = Accepted)))]
async fn send(State(s): State<AppState>, session: Session, headers: HeaderMap, Body(body): Body<Value>) -> ApiResult<(StatusCode, Json<Accepted>)> {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    Ok((StatusCode::CREATED, Json(s.engine.send_transaction(&session.ctx, body, key).await?)))
}

/// Simulate a transaction
///
/// Dry run of a send: the policy decision explained, the fee and the chain's simulation.
/// Records nothing.
#[utoipa::path(post, path = "/v1/transactions/simulate", tag = "Transactions", operation_id = "simulateTransaction", security(("sessionAuth" = [])),
    request_body = SendTransactionRequest,
    responses((status = 200, description = "Decision and simulation", body = DryRunSimulationResult)))]
async fn simulate(State(s): State<AppState>, session: Session, Body(body): Body<Value>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.simulate_transaction(&session.ctx, body).await?))
}

/// Cancel a QUEUED transaction (a DELAY waiting out its delay, or one waiting for approval).
#[utoipa::path(post, path = "/v1/transactions/{id}/cancel", tag = "Transactions", operation_id = "cancelTransaction", security(("masterAuth" = []), ("sessionAuth" = [])),
    params(("id" = String, Path, description = "Transaction id")),
    responses((status = 200, description = "CANCELLED", body = TxCancelResponse),
              (status = 409, description = "TX_ALREADY_PROCESSED (not QUEUED)", body = crate::openapi::ErrorResponse)))]
async fn cancel(State(s): State<AppState>, auth: super::extract::MasterOrSession, Path(id): Path<String>) -> ApiResult<Json<TxCancelResponse>> {
    Ok(Json(s.engine.cancel_transaction(&auth.caller(), &id).await?))
}

/// Sign an external transaction
///
/// EVM 0x hex or Solana base64, decoded and checked by the policy engine first; above NOTIFY
/// it is refused (a signature cannot wait).
#[utoipa::path(post, path = "/v1/transactions/sign", tag = "Transactions", operation_id = "signTransaction", security(("sessionAuth" = [])),
    request_body = SignTransaction,
    responses((status = 200, description = "Signed", body = TransactionSigned),
              (status = 403, description = "POLICY_DENIED", body = crate::openapi::ErrorResponse)))]
async fn sign(State(s): State<AppState>, session: Session, Body(b): Body<SignTransaction>) -> ApiResult<Json<TransactionSigned>> {
    Ok(Json(s.engine.sign_transaction(&session.ctx, b).await?))
}

/// Sign a message: EIP-191 (`personal`), EIP-712 (`typedData`) or Ed25519 (Solana).
#[utoipa::path(post, path = "/v1/transactions/sign-message", tag = "Transactions", operation_id = "signMessage", security(("sessionAuth" = [])),
    request_body = SignMessage,
    responses((status = 200, description = "Signed", body = MessageSigned)))]
async fn sign_message(State(s): State<AppState>, session: Session, Body(b): Body<SignMessage>) -> ApiResult<Json<MessageSigned>> {
    Ok(Json(s.engine.sign_message(&session.ctx, b).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// One of the session's wallets (required when it has several).
    wallet_id: Option<String>,
    /// The last id of the previous page.
    cursor: Option<String>,
    /// 1..100, default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// The session's transactions, newest first.
#[utoipa::path(get, path = "/v1/transactions", tag = "Transactions", operation_id = "listTransactions", security(("sessionAuth" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page", body = TxPage)))]
async fn list(State(s): State<AppState>, session: Session, Query(q): Query<ListQuery>) -> ApiResult<Json<TxPage>> {
    Ok(Json(s.engine.list_transactions(&session.ctx, q.wallet_id.as_deref(), q.cursor.as_deref(), q.limit).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct PendingQuery {
    /// One of the session's wallets (required when it has several).
    wallet_id: Option<String>,
}

/// Transactions not yet final.
#[utoipa::path(get, path = "/v1/transactions/pending", tag = "Transactions", operation_id = "listPendingTransactions", security(("sessionAuth" = [])),
    params(PendingQuery),
    responses((status = 200, description = "Pending transactions", body = TxItems)))]
async fn pending(State(s): State<AppState>, session: Session, Query(q): Query<PendingQuery>) -> ApiResult<Json<TxItems>> {
    Ok(Json(s.engine.pending_transactions(&session.ctx, q.wallet_id.as_deref()).await?))
}

/// One transaction of the session's wallets.
#[utoipa::path(get, path = "/v1/transactions/{id}", tag = "Transactions", operation_id = "getTransaction", security(("sessionAuth" = [])),
    params(("id" = String, Path, description = "Transaction id")),
    responses((status = 200, description = "The transaction", body = TxView)))]
async fn detail(State(s): State<AppState>, session: Session, Path(id): Path<String>) -> ApiResult<Json<TxView>> {
    Ok(Json(s.engine.get_transaction(&Caller::Session(&session.ctx), &id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct WalletQuery {
    /// One of the session's wallets (required when it has several).
    wallet_id: Option<String>,
    /// Network id; required for EVM wallets; `all` for every network (balance).
    network: Option<String>,
    /// Accepted and ignored (no price display yet).
    #[allow(dead_code)]
    #[serde(rename = "display_currency")]
    display_currency: Option<String>,
}

/// The wallet's address.
#[utoipa::path(get, path = "/v1/wallet/address", tag = "Wallet", operation_id = "getWalletAddress", security(("sessionAuth" = [])),
    params(WalletQuery),
    responses((status = 200, description = "Address", body = AddressView)))]
async fn address(State(s): State<AppState>, session: Session, Query(q): Query<WalletQuery>) -> ApiResult<Json<AddressView>> {
    Ok(Json(s.engine.wallet_address(&session.ctx, q.wallet_id.as_deref(), q.network.as_deref()).await?))
}

/// Native balance on one network, or on every network with `network=all`.
#[utoipa::path(get, path = "/v1/wallet/balance", tag = "Wallet", operation_id = "getWalletBalance", security(("sessionAuth" = [])),
    params(WalletQuery),
    responses((status = 200, description = "Balance", body = BalanceResponse)))]
async fn balance(State(s): State<AppState>, session: Session, Query(q): Query<WalletQuery>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.wallet_balance(&session.ctx, q.wallet_id.as_deref(), q.network.as_deref()).await?))
}

/// Native asset and every registered token of the network, with balances.
#[utoipa::path(get, path = "/v1/wallet/assets", tag = "Wallet", operation_id = "getWalletAssets", security(("sessionAuth" = [])),
    params(WalletQuery),
    responses((status = 200, description = "Assets (with `network=all`: `{walletId, chain, environment, networkAssets: [{network, assets} | {network, error}]}`)", body = AssetsView)))]
async fn assets(State(s): State<AppState>, session: Session, Query(q): Query<WalletQuery>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.wallet_assets_json(&session.ctx, q.wallet_id.as_deref(), q.network.as_deref()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = EncodeCalldataRequest)]
struct Encode {
    /// The contract ABI (JSON array of fragments).
    #[schema(value_type = Vec<Object>)]
    abi: Value,
    function_name: String,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    args: Vec<Value>,
}

/// ABI-encode a function call for a CONTRACT_CALL.
#[utoipa::path(post, path = "/v1/utils/encode-calldata", tag = "Utils", operation_id = "encodeCalldata", security(("sessionAuth" = [])),
    request_body = Encode,
    responses((status = 200, description = "Calldata", body = Calldata)))]
async fn encode_calldata(State(s): State<AppState>, _session: Session, Body(b): Body<Encode>) -> ApiResult<Json<Calldata>> {
    Ok(Json(s.engine.encode_calldata(&b.abi, &b.function_name, &b.args)?))
}

/// What this session can see and do, with a prompt that explains the rules to the model.
#[utoipa::path(get, path = "/v1/connect-info", tag = "Discovery", operation_id = "getConnectInfo", security(("sessionAuth" = [])),
    responses((status = 200, description = "Session, wallets, policies, capabilities", body = ConnectInfoResponse)))]
async fn connect_info(State(s): State<AppState>, session: Session, headers: HeaderMap) -> ApiResult<Json<ConnectInfoResponse>> {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:3100");
    let proto = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).filter(|p| *p == "https").unwrap_or("http");
    Ok(Json(s.engine.connect_info(&session.ctx, &format!("{proto}://{host}")).await?))
}
