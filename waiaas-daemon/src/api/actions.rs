//! `/v1/actions/*`: the DeFi action providers and their actions. The core does the work
//! (`waiaas_core::actions`).

use super::extract::{ApiResult, Body, MasterOrSession, Query, Session};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::actions::{ActionOutcome, ExecuteAction};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(providers)).routes(routes!(execute))
}

/// `GET /v1/actions/providers` answer (doc only).
#[derive(ToSchema)]
#[schema(as = ProvidersListResponse)]
#[allow(dead_code)]
struct Providers {
    providers: Vec<Value>,
}

/// `POST /v1/actions/{provider}/{action}` body (doc only).
#[derive(ToSchema)]
#[schema(as = ActionExecuteRequest)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct ExecuteBody {
    /// The action's input (its `inputSchema` in the providers list).
    params: Value,
    network: Option<String>,
    wallet_id: Option<String>,
}

/// `{id, status}` of the last step, and `pipeline` listing every step of a multi-step action
/// (doc only).
#[derive(ToSchema)]
#[schema(as = ActionExecuteResponse)]
#[allow(dead_code)]
struct Executed {
    id: String,
    status: String,
    pipeline: Option<Vec<Value>>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct DryRun {
    /// Only explain the policy decision of the whole bundle; nothing is recorded or signed.
    dry_run: Option<bool>,
}

/// Action providers
///
/// Every built-in provider; an enabled one (`[actions] <name>_enabled = true`) lists its
/// actions with the JSON Schema of their input.
#[utoipa::path(get, path = "/v1/actions/providers", tag = "Actions", operation_id = "listActionProviders",
    security(("masterAuth" = []), ("sessionAuth" = [])), responses((status = 200, description = "Providers", body = Providers)))]
async fn providers(State(s): State<AppState>, _auth: MasterOrSession) -> Json<waiaas_core::actions::ProvidersList> {
    Json(s.engine.list_action_providers())
}

/// Execute an action
///
/// The provider resolves the action into its steps (contract calls, approvals), recorded as one
/// bundle: decided once by the policy engine as a whole, then run strictly in order (each step
/// after the previous one is CONFIRMED). 201 `{id, status}` (the last step) with `pipeline`
/// when there are several steps; 200 with `?dryRun=true`.
#[utoipa::path(post, path = "/v1/actions/{provider}/{action}", tag = "Actions", operation_id = "executeAction", security(("sessionAuth" = [])),
    params(("provider" = String, Path), ("action" = String, Path), DryRun),
    request_body = ExecuteBody,
    responses((status = 201, description = "Accepted (PENDING)", body = Executed),
              (status = 200, description = "Dry run: the first step's simulation under the whole bundle's decision", body = crate::openapi::DryRunSimulationResult),
              (status = 404, description = "ACTION_NOT_FOUND", body = crate::openapi::ErrorResponse),
              (status = 400, description = "ACTION_VALIDATION_FAILED", body = crate::openapi::ErrorResponse),
              (status = 502, description = "ACTION_RESOLVE_FAILED", body = crate::openapi::ErrorResponse)))]
async fn execute(
    State(s): State<AppState>,
    session: Session,
    Path((provider, action)): Path<(String, String)>,
    Query(q): Query<DryRun>,
    Body(body): Body<ExecuteAction>,
) -> ApiResult<(StatusCode, Json<ActionOutcome>)> {
    let outcome = s.engine.execute_action(&session.ctx, &provider, &action, body, q.dry_run.unwrap_or(false)).await?;
    let status = if matches!(outcome, ActionOutcome::DryRun(_)) { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(outcome)))
}
