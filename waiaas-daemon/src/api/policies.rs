//! `/v1/policies*`.

use super::extract::{ApiResult, Body, Master, MasterOrSession, Query};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::policies::*;
use waiaas_core::policy::PolicyRecord;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(detail, update, remove))
}

/// Create a policy (rules validated per type; `walletId` omitted = every wallet).
#[utoipa::path(post, path = "/v1/policies", tag = "Policies", operation_id = "createPolicy", security(("masterAuth" = [])),
    request_body = CreatePolicy,
    responses((status = 201, description = "Created", body = PolicyRecord)))]
async fn create(State(s): State<AppState>, _m: Master, Body(b): Body<CreatePolicy>) -> ApiResult<(StatusCode, Json<PolicyRecord>)> {
    Ok((StatusCode::CREATED, Json(s.engine.create_policy(b).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Policies of this wallet (and global ones).
    wallet_id: Option<String>,
    /// 1..200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Default 0.
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// Policies (a session sees those that apply to its wallets).
#[utoipa::path(get, path = "/v1/policies", tag = "Policies", operation_id = "listPolicies", security(("masterAuth" = []), ("sessionAuth" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page of policies", body = PolicyPage)))]
async fn list(State(s): State<AppState>, auth: MasterOrSession, Query(q): Query<ListQuery>) -> ApiResult<Json<PolicyPage>> {
    Ok(Json(s.engine.list_policies(&auth.caller(), q.wallet_id.as_deref(), q.limit, q.offset).await?))
}

/// One policy.
#[utoipa::path(get, path = "/v1/policies/{id}", tag = "Policies", operation_id = "getPolicy", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Policy id")),
    responses((status = 200, description = "The policy", body = PolicyRecord)))]
async fn detail(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<PolicyRecord>> {
    Ok(Json(s.engine.get_policy(&id).await?))
}

/// Change a policy's rules, priority or enabled flag (rules validated again).
#[utoipa::path(put, path = "/v1/policies/{id}", tag = "Policies", operation_id = "updatePolicy", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Policy id")),
    request_body = UpdatePolicy,
    responses((status = 200, description = "Updated", body = PolicyRecord)))]
async fn update(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<UpdatePolicy>) -> ApiResult<Json<PolicyRecord>> {
    Ok(Json(s.engine.update_policy(&id, b).await?))
}

/// Delete a policy.
#[utoipa::path(delete, path = "/v1/policies/{id}", tag = "Policies", operation_id = "deletePolicy", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Policy id")),
    responses((status = 200, description = "Deleted", body = PolicyDeleted)))]
async fn remove(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<PolicyDeleted>> {
    Ok(Json(s.engine.delete_policy(&id).await?))
}
