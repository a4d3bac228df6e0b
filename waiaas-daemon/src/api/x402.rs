//! `POST /v1/x402/fetch`: an agent fetches a URL and pays for it under the policy engine. The
//! core does the work (`waiaas_core::x402::pay`).

use super::extract::{ApiResult, Body, Session};
use super::AppState;
use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::x402::{X402Fetch, X402Fetched};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(fetch))
}

/// Fetch a URL, paying an HTTP 402 with x402
///
/// The answer as the resource gave it; when it asked for payment (402, x402 v2), the payment
/// is decided by the policy engine (X402_ALLOWED_DOMAINS, ALLOWED_TOKENS, limits), signed,
/// sent with the retried request and recorded as an `X402_PAYMENT` transaction (`payment`).
#[utoipa::path(post, path = "/v1/x402/fetch", tag = "x402", operation_id = "x402Fetch", security(("sessionAuth" = [])),
    request_body = X402Fetch,
    responses((status = 200, description = "The resource's answer (and the payment made for it)", body = X402Fetched),
              (status = 402, description = "X402_PAYMENT_REJECTED (the server refused the payment)", body = crate::openapi::ErrorResponse),
              (status = 403, description = "X402_DOMAIN_NOT_ALLOWED, X402_SSRF_BLOCKED, X402_APPROVAL_REQUIRED, POLICY_DENIED, X402_DISABLED", body = crate::openapi::ErrorResponse),
              (status = 408, description = "X402_DELAY_TIMEOUT", body = crate::openapi::ErrorResponse),
              (status = 502, description = "X402_SERVER_ERROR", body = crate::openapi::ErrorResponse)))]
async fn fetch(State(s): State<AppState>, session: Session, Body(b): Body<X402Fetch>) -> ApiResult<Json<X402Fetched>> {
    Ok(Json(s.engine.x402_fetch(&session.ctx, b).await?))
}
