//! Telegram bot users (`/v1/admin/telegram-users*`): the chats that sent `/start`, and the
//! role the operator grants them. Master only. The core does the work
//! (`waiaas_core::channels::bot`).

use super::extract::{ApiResult, Body, Master};
use super::AppState;
use axum::extract::{Path, State};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::channels::bot::{TelegramUserDeleted, TelegramUserList, TelegramUserUpdated, UpdateTelegramUser};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(update, remove))
}

/// Every chat registered with the bot (`PENDING`, `ADMIN` or `READONLY`).
#[utoipa::path(get, path = "/v1/admin/telegram-users", tag = "Admin", operation_id = "listTelegramUsers", security(("masterAuth" = [])),
    responses((status = 200, description = "Telegram users", body = TelegramUserList)))]
async fn list(State(s): State<AppState>, _m: Master) -> ApiResult<Json<TelegramUserList>> {
    Ok(Json(s.engine.list_telegram_users().await?))
}

/// Grant a registered chat the `ADMIN` or `READONLY` role (audited).
#[utoipa::path(put, path = "/v1/admin/telegram-users/{chatId}", tag = "Admin", operation_id = "updateTelegramUser", security(("masterAuth" = [])),
    params(("chatId" = i64, Path, description = "Telegram chat id")), request_body = UpdateTelegramUser,
    responses((status = 200, description = "Role set", body = TelegramUserUpdated),
              (status = 400, description = "ACTION_VALIDATION_FAILED (role not ADMIN or READONLY)", body = crate::openapi::ErrorResponse),
              (status = 404, description = "No such chat", body = crate::openapi::ErrorResponse)))]
async fn update(State(s): State<AppState>, _m: Master, Path(chat_id): Path<String>, Body(b): Body<UpdateTelegramUser>) -> ApiResult<Json<TelegramUserUpdated>> {
    Ok(Json(s.engine.update_telegram_user(&chat_id, b).await?))
}

/// Forget a chat (it can `/start` again, as PENDING).
#[utoipa::path(delete, path = "/v1/admin/telegram-users/{chatId}", tag = "Admin", operation_id = "deleteTelegramUser", security(("masterAuth" = [])),
    params(("chatId" = i64, Path, description = "Telegram chat id")),
    responses((status = 200, description = "Deleted", body = TelegramUserDeleted),
              (status = 404, description = "No such chat", body = crate::openapi::ErrorResponse)))]
async fn remove(State(s): State<AppState>, _m: Master, Path(chat_id): Path<String>) -> ApiResult<Json<TelegramUserDeleted>> {
    Ok(Json(s.engine.delete_telegram_user(&chat_id).await?))
}
