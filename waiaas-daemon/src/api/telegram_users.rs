//! Telegram bot users (`/v1/admin/telegram-users*`). Master only.

use super::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
