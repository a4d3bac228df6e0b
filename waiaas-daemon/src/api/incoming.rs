//! `/v1/wallet/incoming` (an agent's view) and `/v1/admin/incoming` (the operator's): the
//! incoming transaction monitor's records (`waiaas_core::incoming`).

use super::extract::{ApiResult, Master, Query, Session};
use super::AppState;
use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::api::types::{AdminIncomingList, AdminIncomingPage, IncomingList, IncomingPage, IncomingSummary, IncomingSummaryQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(summary)).routes(routes!(admin_list))
}

/// List incoming transactions
///
/// Transfers into the session's wallets that the monitor recorded (wallets with
/// `monitorIncoming`, while `[incoming] enabled`), newest first; `CONFIRMED` unless `status`
/// asks for `DETECTED`.
#[utoipa::path(get, path = "/v1/wallet/incoming", tag = "Wallet", operation_id = "listIncomingTransactions", security(("sessionAuth" = [])),
    params(IncomingList),
    responses((status = 200, description = "A page", body = IncomingPage)))]
async fn list(State(s): State<AppState>, session: Session, Query(q): Query<IncomingList>) -> ApiResult<Json<IncomingPage>> {
    Ok(Json(s.engine.list_incoming(&session.ctx, q).await?))
}

/// Incoming transaction summary by period
///
/// The session's CONFIRMED incoming transfers by day, week or month (UTC), newest first.
#[utoipa::path(get, path = "/v1/wallet/incoming/summary", tag = "Wallet", operation_id = "getIncomingTransactionSummary", security(("sessionAuth" = [])),
    params(IncomingSummaryQuery),
    responses((status = 200, description = "Periods", body = IncomingSummary)))]
async fn summary(State(s): State<AppState>, session: Session, Query(q): Query<IncomingSummaryQuery>) -> ApiResult<Json<IncomingSummary>> {
    Ok(Json(s.engine.incoming_summary(&session.ctx, q).await?))
}

/// List incoming transactions of every wallet (operator), in offset pages.
#[utoipa::path(get, path = "/v1/admin/incoming", tag = "Admin", operation_id = "adminListIncoming", security(("masterAuth" = [])),
    params(AdminIncomingList),
    responses((status = 200, description = "A page", body = AdminIncomingPage)))]
async fn admin_list(State(s): State<AppState>, _m: Master, Query(q): Query<AdminIncomingList>) -> ApiResult<Json<AdminIncomingPage>> {
    Ok(Json(s.engine.admin_list_incoming(q).await?))
}
