//! `/v1/sessions*`.

use super::extract::{ApiResult, Body, Master, Query, Session};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::sessions::*;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(detail, revoke))
        .routes(routes!(renew))
        .routes(routes!(rotate))
        .routes(routes!(wallets, link))
        .routes(routes!(unlink))
}

/// Mint a session token for one or more wallets (the token is shown only here).
#[utoipa::path(post, path = "/v1/sessions", tag = "Sessions", operation_id = "createSession", security(("masterAuth" = [])),
    request_body = CreateSession,
    responses((status = 201, description = "Created", body = SessionCreated),
              (status = 403, description = "SESSION_LIMIT_EXCEEDED", body = crate::openapi::ErrorResponse)))]
async fn create(State(s): State<AppState>, _m: Master, Body(req): Body<CreateSession>) -> ApiResult<(StatusCode, Json<SessionCreated>)> {
    Ok((StatusCode::CREATED, Json(s.engine.create_session(req).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only sessions linked to this wallet.
    wallet_id: Option<String>,
    /// 1..200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Default 0.
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// Sessions, newest first.
#[utoipa::path(get, path = "/v1/sessions", tag = "Sessions", operation_id = "listSessions", security(("masterAuth" = [])),
    params(ListQuery),
    responses((status = 200, description = "A page of sessions", body = SessionPage)))]
async fn list(State(s): State<AppState>, _m: Master, Query(q): Query<ListQuery>) -> ApiResult<Json<SessionPage>> {
    Ok(Json(s.engine.list_sessions(q.wallet_id.as_deref(), q.limit, q.offset).await?))
}

/// One session.
#[utoipa::path(get, path = "/v1/sessions/{id}", tag = "Sessions", operation_id = "getSession", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, description = "The session", body = SessionView)))]
async fn detail(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<SessionView>> {
    Ok(Json(s.engine.get_session(&id).await?))
}

/// Revoke a session (idempotent); its token stops working at once.
#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "Sessions", operation_id = "revokeSession", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, description = "REVOKED", body = SessionRevoked)))]
async fn revoke(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<SessionRevoked>> {
    Ok(Json(s.engine.revoke_session(&id).await?))
}

/// Renew the calling session (its own token, after half its TTL); the old token stops working.
#[utoipa::path(put, path = "/v1/sessions/{id}/renew", tag = "Sessions", operation_id = "renewSession", security(("sessionAuth" = [])),
    params(("id" = String, Path, description = "Session id (the caller's own)")),
    responses((status = 200, description = "Renewed", body = SessionRenewed),
              (status = 403, description = "RENEWAL_TOO_EARLY, RENEWAL_LIMIT_REACHED, SESSION_ABSOLUTE_LIFETIME_EXCEEDED", body = crate::openapi::ErrorResponse)))]
async fn renew(State(s): State<AppState>, session: Session, Path(id): Path<String>) -> ApiResult<Json<SessionRenewed>> {
    Ok(Json(s.engine.renew_session(&session.ctx, &id, &session.token).await?))
}

/// Issue a new token for a session (same expiry); the previous token stops working.
#[utoipa::path(post, path = "/v1/sessions/{id}/rotate", tag = "Sessions", operation_id = "rotateSession", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, description = "Rotated", body = SessionRotated)))]
async fn rotate(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<SessionRotated>> {
    Ok(Json(s.engine.rotate_session(&id).await?))
}

/// Wallets linked to a session.
#[utoipa::path(get, path = "/v1/sessions/{id}/wallets", tag = "Sessions", operation_id = "listSessionWallets", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, description = "Linked wallets", body = SessionWallets)))]
async fn wallets(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<SessionWallets>> {
    Ok(Json(s.engine.session_wallets(&id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = LinkWalletRequest)]
struct Link {
    wallet_id: String,
}

/// Link another wallet to a session.
#[utoipa::path(post, path = "/v1/sessions/{id}/wallets", tag = "Sessions", operation_id = "linkSessionWallet", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Session id")),
    request_body = Link,
    responses((status = 201, description = "Linked", body = WalletLinked),
              (status = 409, description = "WALLET_ALREADY_LINKED", body = crate::openapi::ErrorResponse)))]
async fn link(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<Link>) -> ApiResult<(StatusCode, Json<WalletLinked>)> {
    Ok((StatusCode::CREATED, Json(s.engine.link_wallet(&id, &b.wallet_id).await?)))
}

/// Unlink a wallet from a session (a session keeps at least one wallet).
#[utoipa::path(delete, path = "/v1/sessions/{id}/wallets/{walletId}", tag = "Sessions", operation_id = "unlinkSessionWallet", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Session id"), ("walletId" = String, Path, description = "Wallet id")),
    responses((status = 204, description = "Unlinked")))]
async fn unlink(State(s): State<AppState>, _m: Master, Path((id, wallet_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    s.engine.unlink_wallet(&id, &wallet_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
