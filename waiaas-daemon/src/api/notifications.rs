//! Notification channels (`/v1/admin/notifications/*`): status, a test message, the delivery
//! log. Master only. The core does the work (`waiaas_core::channels`).

use super::extract::{ApiResult, Body, Master, Query};
use super::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::channels::{NotificationLogPage, NotificationLogParams, NotificationStatus, NotificationTestResult};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status)).routes(routes!(test)).routes(routes!(log))
}

/// `POST /v1/admin/notifications/test` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TestBody {
    /// `telegram`, `discord`, `slack` or `email`; without it, every configured channel.
    channel: Option<String>,
}

/// Whether notifications are on and which channels are configured (no credentials).
#[utoipa::path(get, path = "/v1/admin/notifications/status", tag = "Admin", operation_id = "getNotificationStatus", security(("masterAuth" = [])),
    responses((status = 200, description = "Channel status", body = NotificationStatus)))]
async fn status(State(s): State<AppState>, _m: Master) -> ApiResult<Json<NotificationStatus>> {
    Ok(Json(s.engine.notification_status()?))
}

/// Send a test message to one channel or to every configured one (one attempt each).
///
/// The outcome of each is in the answer (HTTP 200); every attempt is in the log.
#[utoipa::path(post, path = "/v1/admin/notifications/test", tag = "Admin", operation_id = "testNotification", security(("masterAuth" = [])),
    request_body(content = TestBody, description = "Optional", content_type = "application/json"),
    responses((status = 200, description = "Outcome per channel", body = NotificationTestResult),
              (status = 400, description = "Unknown channel", body = crate::openapi::ErrorResponse)))]
async fn test(State(s): State<AppState>, _m: Master, Body(b): Body<TestBody>) -> ApiResult<Json<NotificationTestResult>> {
    Ok(Json(s.engine.notification_test(b.channel.as_deref()).await?))
}

/// Every delivery attempt, newest first, filtered and paged.
#[utoipa::path(get, path = "/v1/admin/notifications/log", tag = "Admin", operation_id = "listNotificationLog", security(("masterAuth" = [])),
    params(NotificationLogParams),
    responses((status = 200, description = "A page of the log", body = NotificationLogPage)))]
async fn log(State(s): State<AppState>, _m: Master, Query(q): Query<NotificationLogParams>) -> ApiResult<Json<NotificationLogPage>> {
    Ok(Json(s.engine.notification_log(q).await?))
}
