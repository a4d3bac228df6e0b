//! `/v1/tokens`: the token registry.

use super::extract::{ApiResult, Body, Master, MasterOrSession, Query};
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use waiaas_core::tokens::*;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/tokens", get(list).post(add).delete(remove))
}

#[derive(Deserialize)]
struct NetworkQuery {
    network: String,
}

async fn list(State(s): State<AppState>, _auth: MasterOrSession, Query(q): Query<NetworkQuery>) -> ApiResult<Json<TokenList>> {
    Ok(Json(s.engine.list_tokens(&q.network).await?))
}

async fn add(State(s): State<AppState>, _m: Master, Body(b): Body<AddToken>) -> ApiResult<(StatusCode, Json<TokenAdded>)> {
    Ok((StatusCode::CREATED, Json(s.engine.add_token(b).await?)))
}

#[derive(Deserialize)]
struct Remove {
    network: String,
    address: String,
}

async fn remove(State(s): State<AppState>, _m: Master, Body(b): Body<Remove>) -> ApiResult<Json<TokenRemoved>> {
    Ok(Json(s.engine.remove_token(&b.network, &b.address).await?))
}
