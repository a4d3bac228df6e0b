//! `/v1/audit-logs` and outgoing webhooks (`/v1/webhooks`, also served as
//! `/v1/admin/webhooks`). All master-only.

use super::extract::{ApiResult, Body, Master, Query};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use waiaas_core::notify::webhook::{CreateWebhook, WebhookView};
use waiaas_core::notify::AuditPage;
use waiaas_core::store::AuditQuery;

pub fn routes() -> Router<AppState> {
    let mut r = Router::new().route("/v1/audit-logs", get(audit_logs));
    for base in ["/v1/webhooks", "/v1/admin/webhooks"] {
        r = r
            .route(base, get(list).post(create))
            .route(&format!("{base}/{{id}}"), delete(remove))
            .route(&format!("{base}/{{id}}/logs"), get(logs));
    }
    r
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    wallet_id: Option<String>,
    event_type: Option<String>,
    severity: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    tx_id: Option<String>,
    cursor: Option<i64>,
    limit: Option<i64>,
    include_total: Option<bool>,
}

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

async fn list(State(s): State<AppState>, _m: Master) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "data": s.engine.list_webhooks().await? })))
}

async fn create(State(s): State<AppState>, _m: Master, Body(b): Body<CreateWebhook>) -> ApiResult<(StatusCode, Json<WebhookView>)> {
    Ok((StatusCode::CREATED, Json(s.engine.create_webhook(b).await?)))
}

async fn remove(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.engine.delete_webhook(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogParams {
    status: Option<String>,
    event_type: Option<String>,
    limit: Option<i64>,
}

async fn logs(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Query(q): Query<LogParams>) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "data": s.engine.webhook_logs(&id, q.status.as_deref(), q.event_type.as_deref(), q.limit).await? })))
}
