//! The HTTP face of the relay: upstream's routes, each translated to one
//! [`waiaas_core::relay::Relay`] call; errors rendered as `{ "error": "..." }` (+ `details`
//! on a 400, `Retry-After` on a 429). The access log names the route template, never the
//! path (push tokens sit in paths).

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{Any, CorsLayer};
use waiaas_core::relay::{Relay, RelayError};

type AppState = Arc<Relay>;

/// A [`RelayError`] as a response.
pub struct ApiError(pub RelayError);

impl From<RelayError> for ApiError {
    fn from(e: RelayError) -> ApiError {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, Json(self.0.body())).into_response();
        if let Some(s) = self.0.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Every route with its middleware.
pub fn router(relay: Arc<Relay>) -> Router {
    let cors = CorsLayer::new().allow_origin(Any).allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS]).allow_headers([
        header::CONTENT_TYPE,
        HeaderName::from_static("x-api-key"),
        header::AUTHORIZATION,
    ]);
    Router::new()
        .route("/health", get(health))
        .route("/devices", post(register))
        .route("/devices/{push_token}/subscription-token", get(subscription_token))
        .route("/devices/{push_token}", delete(unregister))
        .route("/v1/push", post(push))
        .route("/v1/sign-response", post(store_response))
        .route("/v1/sign-response/{request_id}", get(wait_response))
        .fallback(|| async { ApiError(RelayError::not_found("Not Found")) })
        .layer(middleware::from_fn_with_state(relay.clone(), rate_limit))
        .layer(cors)
        .layer(middleware::from_fn(access_log))
        .with_state(relay)
}

/// Debug-level access line: method, route template, status, latency.
async fn access_log(req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned());
    let res = next.run(req).await;
    tracing::debug!(method = %method, route = route.as_deref().unwrap_or("unmatched"), status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    res
}

/// Per client IP, before any other work.
async fn rate_limit(State(relay): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        let xff = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
        if let Err(e) = relay.admit(peer.ip(), xff) {
            return ApiError(e).into_response();
        }
    }
    next.run(req).await
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The body as JSON: at most `max_body_bytes` (413), within `body_read_timeout_secs` (408,
/// so a client trickling its body cannot hold a connection), and JSON (400).
async fn json_body(relay: &Relay, body: Body) -> ApiResult<Value> {
    let server = &relay.config().server;
    let error = |status: u16, message: &str| ApiError(RelayError { status, message: message.into(), details: None, retry_after: None });
    let read = tokio::time::timeout(Duration::from_secs(server.body_read_timeout_secs.max(1)), axum::body::to_bytes(body, server.max_body_bytes)).await;
    let bytes = match read {
        Err(_) => return Err(error(408, "Request body not received in time")),
        // The only read error with a limit set that a client causes on purpose: too large.
        Ok(Err(_)) => return Err(error(413, "Request body too large")),
        Ok(Ok(b)) => b,
    };
    serde_json::from_slice(&bytes).map_err(|e| ApiError(RelayError::invalid(vec![RelayError::issue("invalid_json", &[], format!("Malformed JSON: {e}"))])))
}

async fn health(State(relay): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(relay.health()?))
}

async fn register(State(relay): State<AppState>, headers: HeaderMap, body: Body) -> ApiResult<Response> {
    relay.check_api_key(header(&headers, "x-api-key"))?;
    let body = json_body(&relay, body).await?;
    Ok((StatusCode::CREATED, Json(relay.register(&body)?)).into_response())
}

async fn subscription_token(State(relay): State<AppState>, headers: HeaderMap, Path(push_token): Path<String>) -> ApiResult<Json<Value>> {
    relay.check_api_key(header(&headers, "x-api-key"))?;
    Ok(Json(relay.subscription_token(&push_token)?))
}

async fn unregister(State(relay): State<AppState>, headers: HeaderMap, Path(push_token): Path<String>) -> ApiResult<StatusCode> {
    relay.check_api_key(header(&headers, "x-api-key"))?;
    relay.unregister(&push_token)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn push(State(relay): State<AppState>, headers: HeaderMap, body: Body) -> ApiResult<Json<Value>> {
    relay.check_daemon_key(header(&headers, "authorization"))?;
    let body = json_body(&relay, body).await?;
    Ok(Json(relay.push(&body).await?))
}

async fn store_response(State(relay): State<AppState>, headers: HeaderMap, body: Body) -> ApiResult<Json<Value>> {
    relay.check_api_key(header(&headers, "x-api-key"))?;
    let body = json_body(&relay, body).await?;
    Ok(Json(relay.store_response(&body)?))
}

async fn wait_response(
    State(relay): State<AppState>,
    headers: HeaderMap,
    Path(request_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    relay.check_daemon_key(header(&headers, "authorization"))?;
    Ok(match relay.wait_response(&request_id, query.get("timeout").map(String::as_str)).await? {
        Some(response) => Json(response).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}
