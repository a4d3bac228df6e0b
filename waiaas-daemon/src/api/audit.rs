//! `/v1/audit-logs` and outgoing webhooks (`/v1/webhooks`, also served as
//! `/v1/admin/webhooks`). All master-only.

use super::extract::{ApiResult, Body, Master, Query};
use super::AppState;
use crate::openapi::{AuditLogResponse, WebhookListResponse, WebhookLogsResponse};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::notify::webhook::{CreateWebhook, WebhookView};
use waiaas_core::notify::{AuditPage, AuditQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audit_logs))
        .routes(routes!(list, create))
        .routes(routes!(remove))
        .routes(routes!(logs))
        .routes(routes!(admin_list, admin_create))
        .routes(routes!(admin_remove))
        .routes(routes!(admin_logs))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditParams {
    wallet_id: Option<String>,
    /// An audit event type, e.g. `TX_CONFIRMED`.
    event_type: Option<String>,
    /// `info`, `warning` or `critical`.
    #[param(pattern = "^(info|warning|critical)$")]
    severity: Option<String>,
    /// Unix seconds (inclusive).
    from: Option<i64>,
    /// Unix seconds (inclusive).
    to: Option<i64>,
    tx_id: Option<String>,
    /// The `nextCursor` of the previous page.
    #[param(minimum = 1)]
    cursor: Option<i64>,
    /// 1..200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    include_total: Option<bool>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/v1/audit-logs", tag = "Admin", operation_id = "listAuditLogs", security(("masterAuth" = [])),
    params(AuditParams),
    responses((status = 200, description = "A page of audit entries", body = AuditLogResponse)))]
async fn audit_logs(State(s): State<AppState>, _m: Master, Query(q): Query<AuditParams>) -> ApiResult<Json<AuditPage>> {
    let q = AuditQuery {
        wallet_id: q.wallet_id,
        event_type: q.event_type,
        severity: q.severity,
        from: q.from,
        to: q.to,
        tx_id: q.tx_id,
        cursor: q.cursor,
        limit: q.limit.unwrap_or(50),
        include_total: q.include_total.unwrap_or(false),
    };
    Ok(Json(s.engine.audit_logs(q).await?))
}

/// Registered webhooks (secrets are never shown again).
#[utoipa::path(get, path = "/v1/webhooks", tag = "Webhooks", operation_id = "listWebhooks", security(("masterAuth" = [])),
    responses((status = 200, description = "Webhooks", body = WebhookListResponse)))]
async fn list(State(s): State<AppState>, _m: Master) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "data": s.engine.list_webhooks().await? })))
}

/// Register a webhook; the HMAC secret is in this answer only.
#[utoipa::path(post, path = "/v1/webhooks", tag = "Webhooks", operation_id = "createWebhook", security(("masterAuth" = [])),
    request_body = CreateWebhook,
    responses((status = 201, description = "Created (with its secret)", body = WebhookView)))]
async fn create(State(s): State<AppState>, _m: Master, Body(b): Body<CreateWebhook>) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    Ok((StatusCode::CREATED, Json(s.engine.create_webhook(b).await?)))
}

/// Delete a webhook.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "Webhooks", operation_id = "deleteWebhook", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted")))]
async fn remove(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.engine.delete_webhook(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LogParams {
    /// `success` or `failed`.
    #[param(pattern = "^(success|failed)$")]
    status: Option<String>,
    event_type: Option<String>,
    /// 1..100, default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// Delivery attempts of a webhook, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/logs", tag = "Webhooks", operation_id = "listWebhookLogs", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Webhook id"), LogParams),
    responses((status = 200, description = "Delivery log", body = WebhookLogsResponse)))]
async fn logs(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Query(q): Query<LogParams>) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "data": s.engine.webhook_logs(&id, q.status.as_deref(), q.event_type.as_deref(), q.limit).await? })))
}

// The same four under `/v1/admin/webhooks` (upstream's admin UI path).

/// Registered webhooks (same as `GET /v1/webhooks`).
#[utoipa::path(get, path = "/v1/admin/webhooks", tag = "Webhooks", operation_id = "adminListWebhooks", security(("masterAuth" = [])),
    responses((status = 200, description = "Webhooks", body = WebhookListResponse)))]
async fn admin_list(s: State<AppState>, m: Master) -> ApiResult<Json<Value>> {
    list(s, m).await
}

/// Register a webhook (same as `POST /v1/webhooks`).
#[utoipa::path(post, path = "/v1/admin/webhooks", tag = "Webhooks", operation_id = "adminCreateWebhook", security(("masterAuth" = [])),
    request_body = CreateWebhook,
    responses((status = 201, description = "Created (with its secret)", body = WebhookView)))]
async fn admin_create(s: State<AppState>, m: Master, b: Body<CreateWebhook>) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    create(s, m, b).await
}

/// Delete a webhook (same as `DELETE /v1/webhooks/{id}`).
#[utoipa::path(delete, path = "/v1/admin/webhooks/{id}", tag = "Webhooks", operation_id = "adminDeleteWebhook", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Webhook id")),
    responses((status = 204, description = "Deleted")))]
async fn admin_remove(s: State<AppState>, m: Master, id: Path<String>) -> ApiResult<StatusCode> {
    remove(s, m, id).await
}

/// Delivery attempts of a webhook (same as `GET /v1/webhooks/{id}/logs`).
#[utoipa::path(get, path = "/v1/admin/webhooks/{id}/logs", tag = "Webhooks", operation_id = "adminListWebhookLogs", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Webhook id"), LogParams),
    responses((status = 200, description = "Delivery log", body = WebhookLogsResponse)))]
async fn admin_logs(s: State<AppState>, m: Master, id: Path<String>, q: Query<LogParams>) -> ApiResult<Json<Value>> {
    logs(s, m, id, q).await
}
