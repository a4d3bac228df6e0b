//! Response bodies of operations that are not a stored record, typed once here: the core
//! returns them, the daemon serializes them, the embedded client returns the same JSON, and
//! the OpenAPI document takes their schema (feature `openapi`). Field names are upstream's.

use crate::network::{Chain, Environment};
use crate::store::WalletStatus;
use serde::{Deserialize, Serialize};

/// `POST /v1/admin/kill-switch` and `POST /v1/owner/kill-switch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KillSwitchActivateResponse {
    /// `SUSPENDED`.
    pub state: String,
    pub activated_at: Option<i64>,
}

/// `POST /v1/admin/kill-switch/escalate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KillSwitchEscalateResponse {
    /// `LOCKED`.
    pub state: String,
    pub escalated_at: i64,
}

/// `POST /v1/admin/recover`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecoverResponse {
    /// `ACTIVE`.
    pub state: String,
    pub recovered_at: i64,
}

/// `PUT /v1/admin/master-password`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MasterPasswordChangeResponse {
    pub message: String,
    /// Key files re-encrypted under the new password.
    pub wallets_re_encrypted: u64,
    /// Always 0 (upstream field: no encrypted settings here).
    pub settings_re_encrypted: u64,
    /// Always 0 (upstream field: no stored credentials here).
    pub credentials_re_encrypted: u64,
}

impl MasterPasswordChangeResponse {
    pub fn new(wallets_re_encrypted: u64) -> MasterPasswordChangeResponse {
        MasterPasswordChangeResponse { message: "Master password changed".into(), wallets_re_encrypted, settings_re_encrypted: 0, credentials_re_encrypted: 0 }
    }
}

/// `POST /v1/admin/rotate-secret`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RotateSecretResponse {
    pub rotated_at: i64,
    pub message: String,
}

/// `POST /v1/admin/shutdown`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShutdownResponse {
    pub message: String,
}

/// A cancelled transaction (`POST /v1/transactions/{id}/cancel`, `/v1/admin/transactions/{id}/cancel`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TxCancelResponse {
    pub id: String,
    /// `CANCELLED`.
    pub status: String,
}

/// A transaction rejected by the operator or the owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TxRejectResponse {
    pub id: String,
    /// `CANCELLED`.
    pub status: String,
    pub rejected_at: i64,
}

/// A transaction approved by its owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TxApproveResponse {
    pub id: String,
    /// `EXECUTING`.
    pub status: String,
    pub approved_at: i64,
}

/// `PUT /v1/wallets/{id}/owner`: the wallet with its owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WalletOwnerResponse {
    pub id: String,
    pub name: String,
    pub chain: Chain,
    pub network: String,
    pub environment: Environment,
    pub public_key: String,
    pub status: WalletStatus,
    pub owner_address: Option<String>,
    pub owner_verified: bool,
    /// `NONE`, `GRACE` or `LOCKED`.
    pub owner_state: String,
    /// Always null (upstream field).
    pub approval_method: Option<String>,
    /// Always null (upstream field).
    pub wallet_type: Option<String>,
    /// Always null (upstream field).
    pub warning: Option<String>,
    pub updated_at: i64,
}

/// `POST /v1/wallets/{id}/owner/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OwnerVerifyResponse {
    /// `LOCKED`.
    pub owner_state: String,
    pub owner_address: String,
    pub owner_verified: bool,
}

/// `GET /v1/connect-info`: what the session can see and do, and a prompt for the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectInfoResponse {
    pub session: ConnectSession,
    pub wallets: Vec<ConnectWallet>,
    /// Policies that apply, by wallet id.
    pub policies: std::collections::BTreeMap<String, Vec<ConnectPolicy>>,
    pub capabilities: Vec<String>,
    pub default_deny: DefaultDeny,
    pub daemon: ConnectDaemon,
    /// Always null here (no RPC proxy).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub rpc_proxy: Option<serde_json::Value>,
    /// CAIP-2 ids.
    pub supported_chain_ids: Vec<String>,
    pub prompt: String,
}

/// The session of [`ConnectInfoResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectSession {
    pub id: String,
    /// 0 = unlimited.
    pub expires_at: i64,
    /// `api` or `mcp`.
    pub source: String,
}

/// A wallet of [`ConnectInfoResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectWallet {
    pub id: String,
    pub name: String,
    pub chain: Chain,
    pub environment: Environment,
    pub address: String,
    pub status: WalletStatus,
    /// `NONE`, `GRACE` or `LOCKED`.
    pub owner_state: String,
    pub available_networks: Vec<String>,
}

/// A policy that applies to a wallet of [`ConnectInfoResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectPolicy {
    #[serde(rename = "type")]
    pub policy_type: crate::policy::PolicyType,
    /// The policy type's rules (its upstream JSON schema).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub rules: serde_json::Value,
    pub priority: i64,
    pub network: Option<String>,
}

/// What default deny blocks right now (no allowlist policy of the kind exists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DefaultDeny {
    pub token_transfers: bool,
    pub contract_calls: bool,
    pub token_approvals: bool,
    pub x402_domains: bool,
}

/// The daemon of [`ConnectInfoResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectDaemon {
    pub version: String,
    pub base_url: String,
}

/// `GET /v1/admin/status`: the operator's dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminStatusResponse {
    /// `running`.
    pub status: String,
    pub version: String,
    /// Always null (no update check).
    pub latest_version: Option<String>,
    pub update_available: bool,
    /// Seconds since the engine started.
    pub uptime: u64,
    pub wallet_count: u64,
    pub active_session_count: u64,
    pub kill_switch_state: String,
    pub admin_timeout: u64,
    pub timestamp: i64,
    pub policy_count: u64,
    /// Transactions of the last 24 hours.
    pub recent_tx_count: i64,
    /// FAILED transactions of the last 24 hours.
    pub failed_tx_count: i64,
    /// Whether the data dir was provisioned with a generated recovery key.
    pub auto_provisioned: bool,
    /// The 10 latest transactions.
    pub recent_transactions: Vec<RecentTransaction>,
}

/// A transaction of [`AdminStatusResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecentTransaction {
    pub id: String,
    pub wallet_id: String,
    pub wallet_name: Option<String>,
    #[serde(rename = "type")]
    pub tx_type: crate::tx::TxType,
    pub status: crate::tx::TxStatus,
    pub to_address: Option<String>,
    pub amount: Option<String>,
    /// Always null (upstream field).
    pub formatted_amount: Option<String>,
    pub amount_usd: Option<f64>,
    pub network: String,
    pub tx_hash: Option<String>,
    pub created_at: i64,
}

/// `POST /v1/admin/sessions/{id}/reissue`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionReissuedResponse {
    pub token: String,
    pub session_id: String,
    pub token_issued_count: i64,
    pub expires_at: i64,
}

/// `POST /v1/mcp/tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct McpTokenCreatedResponse {
    pub wallet_id: String,
    pub wallet_name: String,
    pub token_path: String,
    pub expires_at: i64,
    /// The `mcpServers` snippet for Claude Desktop.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub claude_desktop_config: serde_json::Value,
}

/// `POST /v1/admin/agent-prompt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AgentPromptResponse {
    pub prompt: String,
    pub wallet_count: u64,
    pub sessions_created: u64,
    pub session_reused: bool,
    pub expires_at: i64,
}

/// A page of incoming transfers, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = IncomingTxListResponse))]
#[serde(rename_all = "camelCase")]
pub struct IncomingPage {
    pub data: Vec<crate::store::IncomingRecord>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// The filters of the incoming lists (query parameters, snake_case as upstream's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct IncomingList {
    /// 1..100, default 20.
    pub limit: Option<i64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
    pub chain: Option<String>,
    pub network: Option<String>,
    /// `DETECTED` or `CONFIRMED` (default).
    pub status: Option<String>,
    /// A token contract (mint).
    pub token: Option<String>,
    #[serde(alias = "fromAddress")]
    pub from_address: Option<String>,
    /// Detected at or after (unix seconds).
    pub since: Option<i64>,
    /// Detected at or before (unix seconds).
    pub until: Option<i64>,
    /// One wallet (a session: one of its wallets; default all of them).
    #[serde(alias = "walletId")]
    pub wallet_id: Option<String>,
}

/// The operator's filters of `GET /v1/admin/incoming` (offset pages, as upstream's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AdminIncomingList {
    /// Default 0.
    pub offset: Option<i64>,
    /// 1..200, default 50.
    pub limit: Option<i64>,
    #[serde(alias = "walletId")]
    pub wallet_id: Option<String>,
    pub chain: Option<String>,
    /// `DETECTED` or `CONFIRMED` (default both).
    pub status: Option<String>,
    pub suspicious: Option<bool>,
}

/// One row of the operator's incoming list: the record and its wallet's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminIncomingView {
    /// Null when the wallet was purged.
    pub wallet_name: Option<String>,
    #[serde(flatten)]
    pub record: crate::store::IncomingRecord,
}

/// `GET /v1/admin/incoming`: a page of every wallet's incoming transfers, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminIncomingPage {
    pub items: Vec<AdminIncomingView>,
    /// How many match the filters.
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
}

/// The filters of `GET /v1/wallet/incoming/summary` (query parameters, as upstream's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct IncomingSummaryQuery {
    /// `daily` (default), `weekly` or `monthly`.
    pub period: Option<String>,
    pub chain: Option<String>,
    pub network: Option<String>,
    /// Detected at or after (unix seconds).
    pub since: Option<i64>,
    /// Detected at or before (unix seconds).
    pub until: Option<i64>,
    /// One wallet (one of the session's; default all of them).
    #[serde(alias = "walletId")]
    pub wallet_id: Option<String>,
}

/// One period of the incoming summary (CONFIRMED transfers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = IncomingTxSummaryEntry))]
#[serde(rename_all = "camelCase")]
pub struct IncomingSummaryEntry {
    /// `YYYY-MM-DD`, `YYYY-Www` (weeks from Monday, as SQLite's `%W`) or `YYYY-MM` (UTC).
    pub date: String,
    /// Transfers of the period, native and token.
    pub total_count: i64,
    /// The sum of the native-coin transfers, smallest units (token amounts are in their own
    /// units and are not added in).
    pub total_amount_native: String,
    /// Every transfer of the period at today's USD price; null when one of them has no price
    /// (or no known decimals).
    pub total_amount_usd: Option<f64>,
    pub suspicious_count: i64,
}

/// `GET /v1/wallet/incoming/summary`: newest period first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = IncomingTxSummaryResponse))]
#[serde(rename_all = "camelCase")]
pub struct IncomingSummary {
    pub period: String,
    pub entries: Vec<IncomingSummaryEntry>,
}
