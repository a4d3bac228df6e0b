//! `/v1/tokens`: the token registry.

use super::extract::{ApiResult, Body, Master, MasterOrSession, Query};
use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::tokens::*;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, add, remove))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct NetworkQuery {
    /// Network id, e.g. `ethereum-sepolia`.
    #[param(value_type = waiaas_core::network::NetworkId)]
    network: String,
}

/// Built-in and operator-added tokens of a network.
#[utoipa::path(get, path = "/v1/tokens", tag = "Tokens", operation_id = "listTokens", security(("masterAuth" = []), ("sessionAuth" = [])),
    params(NetworkQuery),
    responses((status = 200, description = "Tokens", body = TokenList)))]
async fn list(State(s): State<AppState>, _auth: MasterOrSession, Query(q): Query<NetworkQuery>) -> ApiResult<Json<TokenList>> {
    Ok(Json(s.engine.list_tokens(&q.network).await?))
}

/// Register a token.
#[utoipa::path(post, path = "/v1/tokens", tag = "Tokens", operation_id = "addToken", security(("masterAuth" = [])),
    request_body = AddToken,
    responses((status = 201, description = "Added", body = TokenAdded)))]
async fn add(State(s): State<AppState>, _m: Master, Body(b): Body<AddToken>) -> ApiResult<(StatusCode, Json<TokenAdded>)> {
    Ok((StatusCode::CREATED, Json(s.engine.add_token(b).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = RemoveTokenRequest)]
struct Remove {
    #[schema(value_type = waiaas_core::network::NetworkId)]
    network: String,
    address: String,
}

/// Remove an operator-added token.
#[utoipa::path(delete, path = "/v1/tokens", tag = "Tokens", operation_id = "removeToken", security(("masterAuth" = [])),
    request_body = Remove,
    responses((status = 200, description = "Removed", body = TokenRemoved)))]
async fn remove(State(s): State<AppState>, _m: Master, Body(b): Body<Remove>) -> ApiResult<Json<TokenRemoved>> {
    Ok(Json(s.engine.remove_token(&b.network, &b.address).await?))
}
