//! The REST face: axum routes that translate HTTP to `waiaas_core::Engine` calls.
//! No business rules live here: only extraction, auth headers and rendering.

mod actions;
mod admin;
mod admin_ui;
mod audit;
mod backup;
mod extract;
mod incoming;
mod notifications;
mod owner;
mod policies;
pub mod server;
mod sessions;
mod system;
mod telegram_users;
mod tokens;
mod transactions;
mod wallet_apps;
mod wallets;
mod x402;

pub use extract::{ApiError, ApiResult};

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::Arc;
use tokio::sync::Notify;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa_axum::router::OpenApiRouter;
use waiaas_core::api::Op;
use waiaas_core::{Engine, Error, ErrorCode};

/// Shared state of the HTTP face.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    /// Notified by `POST /v1/admin/shutdown`.
    pub shutdown: Arc<Notify>,
    allowed_hosts: Arc<Vec<String>>,
    limits: Arc<Limits>,
}

/// Per client IP (every route), per session (agent routes) and per sending session
/// (`POST /v1/transactions/send`, where money moves).
struct Limits {
    ip: waiaas_core::ratelimit::RateLimiter,
    session: waiaas_core::ratelimit::RateLimiter,
    send: waiaas_core::ratelimit::RateLimiter,
    trusted: Vec<String>,
}

impl AppState {
    pub fn new(engine: Engine, shutdown: Arc<Notify>) -> AppState {
        let mut hosts: Vec<String> = vec!["127.0.0.1".into(), "localhost".into(), "[::1]".into(), "::1".into()];
        hosts.extend(engine.config().daemon.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()));
        let sec = &engine.config().security;
        let limits = Limits {
            ip: waiaas_core::ratelimit::RateLimiter::new(sec.rate_limit_global_ip_rpm),
            session: waiaas_core::ratelimit::RateLimiter::new(sec.rate_limit_session_rpm),
            send: waiaas_core::ratelimit::RateLimiter::new(sec.rate_limit_tx_rpm),
            trusted: sec.trusted_proxies.clone(),
        };
        AppState { engine, shutdown, allowed_hosts: Arc::new(hosts), limits: Arc::new(limits) }
    }
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every documented route, as an OpenAPI router (see `crate::openapi` for the pattern).
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::base())
        .merge(system::routes())
        .merge(wallets::routes())
        .merge(sessions::routes())
        .merge(transactions::routes())
        .merge(incoming::routes())
        .merge(tokens::routes())
        .merge(policies::routes())
        .merge(owner::routes())
        .merge(audit::routes())
        .merge(admin::routes())
        .merge(admin_ui::routes())
        .merge(backup::routes())
        .merge(wallet_apps::routes())
        .merge(notifications::routes())
        .merge(telegram_users::routes())
        .merge(x402::routes())
        .merge(actions::routes())
        .merge(crate::openapi::routes())
}

/// The OpenAPI document of the routes [`router`] serves (`GET /doc`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    crate::openapi::finish(routes().into_openapi())
}

/// `(METHOD, path)` of every route [`router`] serves, read from the axum router (not from
/// the document), so tests can check that the two agree.
pub fn served_routes() -> Vec<(String, String)> {
    crate::openapi::routes_of(&routes().split_for_parts().0)
}

/// The whole router with its middleware.
pub fn router(state: AppState) -> Router {
    let origins: Vec<HeaderValue> = state.engine.config().security.cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, HeaderName::from_static("x-master-password"), REQUEST_ID]);
    let (routes, _) = routes().split_for_parts();
    let body_limit = usize::try_from(state.engine.config().daemon.max_body_bytes).unwrap_or(usize::MAX);
    routes
        // Not in the OpenAPI document: Prometheus text, not JSON (see `metrics`).
        .route("/metrics", axum::routing::get(metrics))
        .fallback(|| async { (StatusCode::NOT_FOUND, "404 Not Found") })
        .layer(middleware::from_fn_with_state(state.clone(), kill_switch_guard))
        // The admin UI's files stay reachable while the kill switch is engaged (its API
        // calls pass the guard like any other).
        .merge(admin_ui::assets())
        .layer(middleware::from_fn_with_state(state.clone(), body_guard))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn_with_state(state.clone(), host_guard))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(request_id))
        .layer(cors)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// `GET /metrics`: the engine's metrics in the Prometheus text format. 404 unless
/// `[metrics] enabled`; 401 without `Authorization: Bearer <metrics.token>` when a token is set.
async fn metrics(State(state): State<AppState>, id: Option<axum::Extension<RequestId>>, headers: axum::http::HeaderMap) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match state.engine.metrics_access(authorization) {
        waiaas_core::metrics::Access::Disabled => (StatusCode::NOT_FOUND, "404 Not Found").into_response(),
        waiaas_core::metrics::Access::Unauthorized => {
            // Rendered here (not through the request-id layer) to keep the challenge header.
            let e = Error::new(ErrorCode::INVALID_TOKEN, "GET /metrics needs Authorization: Bearer <metrics.token>");
            let mut res = extract::render_error(&e, id.as_ref().map(|i| i.0 .0.as_str()), None);
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"metrics\""));
            res
        }
        waiaas_core::metrics::Access::Allowed => match state.engine.render_metrics().await {
            Ok(text) => ([(header::CONTENT_TYPE, HeaderValue::from_static(waiaas_core::metrics::CONTENT_TYPE))], text).into_response(),
            Err(e) => ApiError(e).into_response(),
        },
    }
}

/// Outermost layer: count every request by method, route template and status with its
/// latency, and write the access-log line (`daemon.access_log`): request id, method, route
/// template, status, latency. Never the raw path, the query, headers or bodies (ids and
/// secrets can sit in any of them); a request no route matched is logged as `unmatched`.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned());
    let res = next.run(req).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    state.engine.metrics().observe_http(method.as_str(), route.as_deref(), status, elapsed.as_secs_f64());
    if state.engine.config().daemon.access_log {
        let id = res.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
        let latency_ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
        tracing::info!(target: "waiaas::access", request_id = id, method = method.as_str(), route = route.as_deref().unwrap_or("unmatched"), status, latency_ms, "request");
    }
    res
}

/// Echo or mint `X-Request-Id`, and put it into error bodies.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(waiaas_core::new_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = next.run(req).await;
    if let Some(err) = res.extensions_mut().remove::<Error>() {
        // Re-rendered with the id in the body; every header the first rendering or a guard
        // set (Retry-After, Connection: close of a refused body, ...) is kept.
        let kept = std::mem::take(res.headers_mut());
        res = extract::render_error(&err, Some(&id), None);
        for name in kept.keys() {
            if !res.headers().contains_key(name) {
                for value in kept.get_all(name) {
                    res.headers_mut().append(name, value.clone());
                }
            }
        }
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

#[derive(Clone)]
pub struct RequestId(pub String);

/// `res` with `Connection: close`: a request refused before its body was read leaves the
/// rest of the body on the connection, which the server then closes; said in the response,
/// a keep-alive client does not send its next request on it (and fail when it closes).
fn closing(mut res: Response) -> Response {
    res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// The whole request body, read before anything else looks at the request: at most
/// `daemon.max_body_bytes` (400 otherwise), within `daemon.body_read_timeout` (408
/// otherwise), so a client trickling its body cannot hold a connection. A refused body
/// closes the connection.
async fn body_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let d = &state.engine.config().daemon;
    let limit = usize::try_from(d.max_body_bytes).unwrap_or(usize::MAX);
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > d.max_body_bytes) {
        return closing(ApiError(Error::validation("body", format!("larger than {limit} bytes (daemon.max_body_bytes)"))).into_response());
    }
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(std::time::Duration::from_secs(d.body_read_timeout), axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await,
        Ok(Err(e)) => closing(ApiError(Error::validation("body", format!("unreadable body (at most {limit} bytes): {e}"))).into_response()),
        Err(_) => {
            let e = Error::new(
                ErrorCode::REQUEST_TIMEOUT,
                format!("The request body was not received within {} s (daemon.body_read_timeout)", d.body_read_timeout),
            );
            let id = parts.extensions.get::<RequestId>().map(|r| r.0.as_str());
            // Rendered here (not through the request-id layer) to keep 408: the client is slow, not an upstream.
            let mut res = extract::render_error(&e, id, None);
            *res.status_mut() = StatusCode::REQUEST_TIMEOUT;
            closing(res)
        }
    }
}

/// The client address as the rate limiter determined it (socket peer, or the forwarded
/// address from a trusted proxy).
#[derive(Clone)]
pub struct ClientIp(pub String);

/// Only requests addressed to a localhost name or a configured host are served.
async fn host_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let name = strip_port(host).to_ascii_lowercase();
    if state.allowed_hosts.contains(&name) {
        return next.run(req).await;
    }
    ApiError(Error::new(ErrorCode::SYSTEM_LOCKED, "Only localhost access allowed (add the host to daemon.allowed_hosts)")).into_response()
}

/// The declared operation the router matched for this request, if any.
fn matched_op(req: &Request) -> Option<Op> {
    let path = req.extensions().get::<axum::extract::MatchedPath>()?;
    Op::find(req.method().as_str(), path.as_str())
}

/// The kill-switch gate, decided by the core for the operation the router matched (see
/// `waiaas_core::api`: health, metrics, the nonce, the admin and owner operations are
/// served while it is engaged). A request no operation matched is refused while engaged.
async fn kill_switch_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let admitted = match matched_op(&req) {
        Some(op) => state.engine.admit(op),
        None => state.engine.ensure_not_locked(),
    };
    if let Err(e) = admitted {
        return ApiError(e).into_response();
    }
    next.run(req).await
}

fn limited(scope: &str, retry_after: u64) -> Response {
    let e = Error::new(ErrorCode::RATE_LIMITED, format!("{scope} rate limit exceeded")).with_details(serde_json::json!({"retryAfter": retry_after}));
    ApiError(e).into_response()
}

/// Rate limits, before any auth work: per client IP on every route; per session on every
/// request carrying a session token; per sending session on the operation that moves money
/// (`POST /v1/transactions/send`).
async fn rate_limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    if let Some(peer) = peer {
        let xff = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
        let ip = waiaas_core::ratelimit::client_ip(peer, xff, &state.limits.trusted);
        if let Err(s) = state.limits.ip.check(&ip) {
            return limited("IP", s);
        }
        // masterAuth throttles wrong passwords per this same client address.
        req.extensions_mut().insert(ClientIp(ip));
    }
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    // Keyed by the session id the token was signed for: any spelling of the header, any
    // token of the session, and every route the session calls count in the same window
    // (no secret kept in the limiter).
    if let Some(key) = authorization.and_then(|h| state.engine.session_rate_key(h)) {
        if let Err(s) = state.limits.session.check(&key) {
            return limited("Session", s);
        }
        if matched_op(&req).is_some_and(Op::moves_money) {
            if let Err(s) = state.limits.send.check(&key) {
                return limited("Transaction", s);
            }
        }
    }
    next.run(req).await
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn strip_port_handles_v4_v6_and_names() {
        assert_eq!(super::strip_port("127.0.0.1:3100"), "127.0.0.1");
        assert_eq!(super::strip_port("localhost"), "localhost");
        assert_eq!(super::strip_port("[::1]:3100"), "[::1]");
        assert_eq!(super::strip_port("waiaas:3100"), "waiaas");
    }
}
