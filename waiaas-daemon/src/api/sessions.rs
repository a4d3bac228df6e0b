//! `/v1/sessions*`.

use super::extract::{ApiResult, Body, Master, Query, Session};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use waiaas_core::sessions::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/sessions", get(list).post(create))
        .route("/v1/sessions/{id}", get(detail).delete(revoke))
        .route("/v1/sessions/{id}/renew", put(renew))
        .route("/v1/sessions/{id}/rotate", post(rotate))
        .route("/v1/sessions/{id}/wallets", get(wallets).post(link))
        .route("/v1/sessions/{id}/wallets/{wallet_id}", delete(unlink))
}

async fn create(State(s): State<AppState>, _m: Master, Body(req): Body<CreateSession>) -> ApiResult<(StatusCode, Json<SessionCreated>)> {
    Ok((StatusCode::CREATED, Json(s.engine.create_session(req).await?)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    wallet_id: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn list(State(s): State<AppState>, _m: Master, Query(q): Query<ListQuery>) -> ApiResult<Json<SessionPage>> {
    Ok(Json(s.engine.list_sessions(q.wallet_id.as_deref(), q.limit, q.offset).await?))
}

async fn detail(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<SessionView>> {
    Ok(Json(s.engine.get_session(&id).await?))
}

async fn revoke(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<SessionRevoked>> {
    Ok(Json(s.engine.revoke_session(&id).await?))
}

async fn renew(State(s): State<AppState>, session: Session, Path(id): Path<String>) -> ApiResult<Json<SessionRenewed>> {
    Ok(Json(s.engine.renew_session(&session.ctx, &id, &session.token).await?))
}

async fn rotate(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<SessionRotated>> {
    Ok(Json(s.engine.rotate_session(&id).await?))
}

async fn wallets(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<SessionWallets>> {
    Ok(Json(s.engine.session_wallets(&id).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Link {
    wallet_id: String,
}

async fn link(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<Link>) -> ApiResult<(StatusCode, Json<WalletLinked>)> {
    Ok((StatusCode::CREATED, Json(s.engine.link_wallet(&id, &b.wallet_id).await?)))
}

async fn unlink(State(s): State<AppState>, _m: Master, Path((id, wallet_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    s.engine.unlink_wallet(&id, &wallet_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
