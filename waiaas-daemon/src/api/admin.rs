//! Operator routes beyond the foundation: status, runtime settings, session reissue, MCP
//! tokens, the agent prompt, and the skill guides shipped in the binary.

use super::extract::{ApiResult, Body, Master};
use super::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use waiaas_core::api::types::{AdminStatusResponse, AgentPromptResponse, McpTokenCreatedResponse, SessionReissuedResponse};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(settings, update_settings))
        .routes(routes!(reissue))
        .routes(routes!(mcp_token))
        .routes(routes!(agent_prompt))
        .routes(routes!(skill))
}

/// Settings by section (`{section: {key: string|bool}}`) plus `pending` (doc only).
#[derive(ToSchema)]
#[schema(as = SettingsResponse)]
#[allow(dead_code)]
struct SettingsView {
    security: std::collections::BTreeMap<String, Value>,
    daemon: std::collections::BTreeMap<String, Value>,
    /// Stored settings that apply at the next start.
    pending: std::collections::BTreeMap<String, String>,
}

/// `PUT /v1/admin/settings` answer (doc only).
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct SettingsUpdated {
    updated: i64,
    settings: SettingsView,
    restart_required: bool,
}

/// `GET /v1/skills/{name}` answer (doc only).
#[derive(ToSchema)]
#[allow(dead_code)]
struct Skill {
    name: String,
    content: String,
}

/// The daemon's URL as the caller reached it.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:3100");
    let proto = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).filter(|p| *p == "https").unwrap_or("http");
    format!("{proto}://{host}")
}

#[utoipa::path(get, path = "/v1/admin/status", tag = "Admin", operation_id = "getAdminStatus", summary = "Daemon status dashboard",
    security(("masterAuth" = [])), responses((status = 200, description = "Status", body = AdminStatusResponse)))]
async fn status(State(s): State<AppState>, _m: Master) -> ApiResult<Json<AdminStatusResponse>> {
    Ok(Json(s.engine.admin_status().await?))
}

#[utoipa::path(get, path = "/v1/admin/settings", tag = "Admin", operation_id = "getSettings", summary = "Settings in effect (secrets masked) and pending ones",
    security(("masterAuth" = [])), responses((status = 200, description = "Settings", body = SettingsView)))]
async fn settings(State(s): State<AppState>, _m: Master) -> ApiResult<Json<Value>> {
    Ok(Json(s.engine.settings().await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Setting {
    key: String,
    value: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UpdateSettingsRequest)]
struct Settings {
    settings: Vec<Setting>,
}

#[utoipa::path(put, path = "/v1/admin/settings", tag = "Admin", operation_id = "updateSettings",
    summary = "Change settings (`section.key`), type and range checked, applied at the next start",
    security(("masterAuth" = [])), request_body = Settings, responses((status = 200, description = "Stored", body = SettingsUpdated)))]
async fn update_settings(State(s): State<AppState>, _m: Master, Body(b): Body<Settings>) -> ApiResult<Json<Value>> {
    let pairs: Vec<(String, String)> = b.settings.into_iter().map(|s| (s.key, s.value)).collect();
    Ok(Json(s.engine.update_settings(&pairs).await?))
}

#[utoipa::path(post, path = "/v1/admin/sessions/{id}/reissue", tag = "Admin", operation_id = "reissueSession",
    summary = "A new token for a session (the old one stops working)", security(("masterAuth" = [])),
    params(("id" = String, Path, description = "Session id")), responses((status = 200, description = "Reissued", body = SessionReissuedResponse)))]
async fn reissue(State(s): State<AppState>, _m: Master, Path(id): Path<String>) -> ApiResult<Json<SessionReissuedResponse>> {
    Ok(Json(s.engine.reissue_session(&id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateMcpTokenRequest)]
struct McpToken {
    wallet_id: String,
    /// Session lifetime in seconds (default: unlimited).
    #[schema(minimum = 300, maximum = 31536000)]
    expires_in: Option<i64>,
}

#[utoipa::path(post, path = "/v1/mcp/tokens", tag = "MCP", operation_id = "createMcpToken",
    summary = "An MCP session for a wallet, written to <data>/mcp-tokens/<walletId>, and the MCP client config", security(("masterAuth" = [])),
    request_body = McpToken, responses((status = 201, description = "Created", body = McpTokenCreatedResponse)))]
async fn mcp_token(
    State(s): State<AppState>,
    _m: Master,
    headers: HeaderMap,
    Body(b): Body<McpToken>,
) -> ApiResult<(StatusCode, Json<McpTokenCreatedResponse>)> {
    Ok((StatusCode::CREATED, Json(s.engine.create_mcp_token(&b.wallet_id, b.expires_in, &base_url(&headers)).await?)))
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = AgentPromptRequest)]
struct AgentPrompt {
    /// Default: every active wallet.
    #[schema(min_items = 1)]
    wallet_ids: Option<Vec<String>>,
    ttl: Option<i64>,
}

#[utoipa::path(post, path = "/v1/admin/agent-prompt", tag = "Admin", operation_id = "createAgentPrompt",
    summary = "A session for the wallets and the prompt that hands it to an agent", security(("masterAuth" = [])),
    request_body = AgentPrompt, responses((status = 201, description = "Created", body = AgentPromptResponse)))]
async fn agent_prompt(
    State(s): State<AppState>,
    _m: Master,
    headers: HeaderMap,
    Body(b): Body<AgentPrompt>,
) -> ApiResult<(StatusCode, Json<AgentPromptResponse>)> {
    Ok((StatusCode::CREATED, Json(s.engine.agent_prompt(b.wallet_ids, b.ttl, &base_url(&headers)).await?)))
}

#[utoipa::path(get, path = "/v1/skills/{name}", tag = "Skills", operation_id = "getSkill", summary = "A skill guide shipped in the binary",
    security(()), params(("name" = String, Path, description = "quickstart, wallet, transactions or policies")),
    responses((status = 200, description = "The skill", body = Skill)))]
async fn skill(Path(name): Path<String>) -> ApiResult<Json<Value>> {
    match crate::mcp::skills::get(&name) {
        Some(content) => Ok(Json(json!({"name": name.trim_end_matches(".skill.md").trim_end_matches(".md"), "content": content}))),
        None => {
            let known: Vec<&str> = crate::mcp::skills::SKILLS.iter().map(|(n, _)| *n).collect();
            Err(waiaas_core::Error::new(waiaas_core::ErrorCode::SKILL_NOT_FOUND, format!("No skill '{name}' (available: {})", known.join(", "))).into())
        }
    }
}
