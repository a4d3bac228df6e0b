//! `/v1/policies*`.

use super::extract::{ApiResult, Body, Master, MasterOrSession, Query};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use waiaas_core::policies::*;
use waiaas_core::policy::PolicyRecord;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/policies", get(list).post(create))
        .route("/v1/policies/{id}", get(detail).put(update).delete(remove))
}

async fn create(State(s): State<AppState>, _m: Master, Body(b): Body<CreatePolicy>) -> ApiResult<(StatusCode, Json<PolicyRecord>)> {
    Ok((StatusCode::CREATED, Json(s.engine.create_policy(b).await?)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    wallet_id: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn list(State(s): State<AppState>, auth: MasterOrSession, Query(q): Query<ListQuery>) -> ApiResult<Json<PolicyPage>> {
    Ok(Json(s.engine.list_policies(&auth.caller(), q.wallet_id.as_deref(), q.limit, q.offset).await?))
}

async fn detail(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<PolicyRecord>> {
    Ok(Json(s.engine.get_policy(&id).await?))
}

async fn update(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<UpdatePolicy>) -> ApiResult<Json<PolicyRecord>> {
    Ok(Json(s.engine.update_policy(&id, b).await?))
}

async fn remove(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<PolicyDeleted>> {
    Ok(Json(s.engine.delete_policy(&id).await?))
}
