//! The admin web UI: its assets (inside the binary, served at `/admin` behind
//! `daemon.admin_ui` with a strict Content-Security-Policy), its login (the master password
//! exchanged once for an HttpOnly `SameSite=Strict` session cookie and a CSRF token; see
//! `waiaas_core::auth::admin_web`), and the operator views its pages read.

use super::extract::{admin_cookie, ApiResult, Body, ClientAddr, Master, Query};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::admin::AdminTxQuery;
use waiaas_core::auth::admin_web::COOKIE;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(session))
        .routes(routes!(stats))
        .routes(routes!(transactions))
        .routes(routes!(balance))
        .routes(routes!(simulate))
        .routes(routes!(settings_schema))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AdminLoginRequest)]
struct Login {
    password: String,
}

/// The admin UI's login answer: the CSRF token state-changing requests carry in
/// `X-CSRF-Token`, and the idle timeout in seconds (doc only).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct AdminSession {
    csrf_token: String,
    admin_timeout: i64,
}

fn cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static("waiaas_admin=; Path=/; Max-Age=0"))
}

#[utoipa::path(post, path = "/v1/admin/login", tag = "Admin", operation_id = "adminLogin",
    summary = "Admin UI login: the master password for an HttpOnly session cookie and a CSRF token", security(()),
    request_body = Login, responses((status = 200, description = "Logged in (Set-Cookie)", body = AdminSession)))]
async fn login(State(s): State<AppState>, ClientAddr(ip): ClientAddr, headers: HeaderMap, Body(b): Body<Login>) -> ApiResult<Response> {
    let password = zeroize::Zeroizing::new(b.password);
    let l = s.engine.admin_login(&password, ip.as_deref()).await?;
    let timeout = s.engine.admin_timeout();
    let secure = super::admin::base_url(&headers).starts_with("https:") || s.engine.config().daemon.public_url.starts_with("https:");
    let mut res = Json(json!({"csrfToken": l.csrf, "adminTimeout": timeout})).into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie(&l.token, timeout.saturating_mul(8), secure));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[utoipa::path(post, path = "/v1/admin/logout", tag = "Admin", operation_id = "adminLogout",
    summary = "Admin UI logout: ends the session of the cookie and clears it", security(()),
    responses((status = 204, description = "Logged out")))]
async fn logout(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(token) = admin_cookie(&headers) {
        s.engine.admin_logout(&token).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie("", 0, false));
    Ok(res)
}

#[utoipa::path(get, path = "/v1/admin/session", tag = "Admin", operation_id = "getAdminSession",
    summary = "The admin UI session of the cookie: its CSRF token (after a page reload), null without a live session",
    security(()), responses((status = 200, description = "The session", body = AdminSession)))]
async fn session(State(s): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let timeout = s.engine.admin_timeout();
    // Answered 200 either way, so the page's start-up probe logs no error in the browser.
    let csrf = match admin_cookie(&headers) {
        Some(token) => s.engine.admin_session(&token, None, false).await.ok(),
        None => None,
    };
    Json(json!({"csrfToken": csrf, "adminTimeout": timeout}))
}

#[utoipa::path(get, path = "/v1/admin/stats", tag = "Admin", operation_id = "getAdminStats",
    summary = "Dashboard counts: transactions of the last 24 h by status, the DELAY/APPROVAL queue, sessions, wallets",
    security(("masterAuth" = [])), responses((status = 200, description = "Counts", body = Object)))]
async fn stats(State(s): State<AppState>, _m: Master) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.admin_stats().await?))
}

#[utoipa::path(get, path = "/v1/admin/transactions", tag = "Admin", operation_id = "listAdminTransactions",
    summary = "Every wallet's transactions, newest first, with the policy decision each was given",
    security(("masterAuth" = [])), params(AdminTxQuery), responses((status = 200, description = "A page", body = Object)))]
async fn transactions(State(s): State<AppState>, _m: Master, Query(q): Query<AdminTxQuery>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.admin_transactions(&q).await?))
}

#[utoipa::path(get, path = "/v1/admin/wallets/{id}/balance", tag = "Admin", operation_id = "getAdminWalletBalance",
    summary = "A wallet's native balance on every network of its environment", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Wallet id")), responses((status = 200, description = "Balances", body = Object)))]
async fn balance(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.admin_wallet_balance(&id).await?))
}

#[utoipa::path(post, path = "/v1/admin/wallets/{id}/simulate", tag = "Admin", operation_id = "simulateAdminTransaction",
    summary = "What would happen to this send from the wallet (policy decision, fee), recording nothing", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Wallet id")), request_body = Object,
    responses((status = 200, description = "The dry run", body = Object)))]
async fn simulate(State(s): State<AppState>, _m: Master, Path(id): Path<String>, Body(b): Body<Value>) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.admin_simulate(&id, b).await?))
}

#[utoipa::path(get, path = "/v1/admin/settings/schema", tag = "Admin", operation_id = "getSettingsSchema",
    summary = "Every setting by section: type, default, range, secret", security(("masterAuth" = [])),
    responses((status = 200, description = "The schema", body = Object)))]
async fn settings_schema(State(s): State<AppState>, _m: Master) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.settings_schema()?))
}

/// The UI's files, inside the binary.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("index.html", "text/html; charset=utf-8", include_bytes!("../../admin/index.html")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../../admin/app.js")),
    ("app.css", "text/css; charset=utf-8", include_bytes!("../../admin/app.css")),
];

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; font-src 'self'; \
                   base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `GET /admin`, `/admin/` and `/admin/<file>` (not in the OpenAPI document: pages, not JSON).
pub fn assets() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/admin", axum::routing::get(|| async { Redirect::permanent("/admin/") }))
        .route("/admin/", axum::routing::get(|s: State<AppState>| asset(s, Path("index.html".to_string()))))
        .route("/admin/{file}", axum::routing::get(asset))
}

async fn asset(State(s): State<AppState>, Path(file): Path<String>) -> Response {
    let found = ASSETS.iter().find(|(name, _, _)| *name == file);
    let (Some((_, mime, bytes)), true) = (found, s.engine.config().daemon.admin_ui) else {
        return (StatusCode::NOT_FOUND, "404 Not Found").into_response();
    };
    let mut res = (StatusCode::OK, *bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}
