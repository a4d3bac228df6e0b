//! Doc-only schemas: the error body and the shapes of bodies handlers build as JSON values.

use serde::Serialize;
use utoipa::ToSchema;

// ---------------------------------------------------------------------------------------
// Doc-only schemas: shapes of bodies that handlers build as `serde_json::Value` (or parse
// from one). Field names follow upstream's openapi for the same path; the e2e fuzz run
// checks every response against them.
// ---------------------------------------------------------------------------------------

/// The error body of every failure (upstream's flat `ErrorResponse`).
#[derive(ToSchema, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    /// Machine-readable code, e.g. `WALLET_NOT_FOUND` (147 upstream codes).
    pub code: String,
    pub message: String,
    pub retryable: bool,
    /// Extra data; validation failures carry `issues: [{path, message}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
    /// The request's `X-Request-Id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// An English recovery hint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[allow(dead_code)]
mod doc_types {
    use utoipa::ToSchema;

    // --- POST /v1/transactions/send and /simulate -------------------------------------

    /// Amount in the asset's smallest units (decimal string).
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct TokenRef {
        /// Token contract (EVM) or mint (Solana); or give `assetId`.
        pub address: Option<String>,
        /// 0..18; looked up in the token registry when omitted.
        #[schema(minimum = 0, maximum = 18)]
        pub decimals: Option<u8>,
        #[schema(min_length = 1, max_length = 10)]
        pub symbol: Option<String>,
        /// CAIP-19 id.
        pub asset_id: Option<String>,
    }

    /// A native transfer. `type` may be omitted (legacy body `{to, amount, memo?}`).
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct TransferRequest {
        /// Recipient (EVM 0x address or Solana base58).
        #[schema(example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
        pub to: String,
        /// Smallest units (XOR `humanAmount`).
        #[schema(pattern = r"^\d+$", example = "1000")]
        pub amount: Option<String>,
        /// Decimal amount in whole units (XOR `amount`).
        pub human_amount: Option<String>,
        #[schema(max_length = 256)]
        pub memo: Option<String>,
        pub wallet_id: Option<String>,
        /// Network id (`ethereum-sepolia`, …), CAIP-2 id, or `mainnet|devnet|testnet` (Solana).
        #[schema(value_type = Option<waiaas_core::network::NetworkId>, example = "ethereum-sepolia")]
        pub network: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct TokenTransferRequest {
        pub to: String,
        #[schema(pattern = r"^\d+$")]
        pub amount: Option<String>,
        pub human_amount: Option<String>,
        pub token: TokenRef,
        #[schema(max_length = 256)]
        pub memo: Option<String>,
        pub wallet_id: Option<String>,
        #[schema(value_type = Option<waiaas_core::network::NetworkId>)]
        pub network: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct AccountMeta {
        pub pubkey: String,
        pub is_signer: bool,
        pub is_writable: bool,
    }

    /// EVM: `to` + `calldata` (0x hex) + `value`; Solana: `programId` + `instructionData`
    /// (base64) + `accounts`.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ContractCallRequest {
        pub to: Option<String>,
        pub calldata: Option<String>,
        /// Wei (EVM only).
        #[schema(pattern = r"^\d+$")]
        pub value: Option<String>,
        pub program_id: Option<String>,
        pub instruction_data: Option<String>,
        pub accounts: Option<Vec<AccountMeta>>,
        pub wallet_id: Option<String>,
        #[schema(value_type = Option<waiaas_core::network::NetworkId>)]
        pub network: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ApproveRequest {
        pub spender: String,
        pub token: TokenRef,
        #[schema(pattern = r"^\d+$")]
        pub amount: Option<String>,
        pub human_amount: Option<String>,
        pub wallet_id: Option<String>,
        #[schema(value_type = Option<waiaas_core::network::NetworkId>)]
        pub network: Option<String>,
    }

    /// Solana only: 2..20 instructions, each a TRANSFER, TOKEN_TRANSFER, CONTRACT_CALL or
    /// APPROVE body (with or without its `type`), signed and sent as one transaction.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct BatchRequest {
        #[schema(min_items = 2, max_items = 20, value_type = Vec<Object>)]
        pub instructions: Vec<serde_json::Value>,
        pub wallet_id: Option<String>,
        #[schema(value_type = Option<waiaas_core::network::NetworkId>)]
        pub network: Option<String>,
    }

    /// A transaction to send (or simulate), by `type`.
    #[derive(ToSchema)]
    #[serde(tag = "type")]
    pub enum SendTransactionRequest {
        #[serde(rename = "TRANSFER")]
        Transfer(TransferRequest),
        #[serde(rename = "TOKEN_TRANSFER")]
        TokenTransfer(TokenTransferRequest),
        #[serde(rename = "CONTRACT_CALL")]
        ContractCall(ContractCallRequest),
        #[serde(rename = "APPROVE")]
        Approve(ApproveRequest),
        #[serde(rename = "BATCH")]
        Batch(BatchRequest),
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct SimulatedPolicy {
        /// `INSTANT`, `NOTIFY`, `DELAY` or `APPROVAL`.
        pub tier: String,
        pub allowed: bool,
        pub reason: Option<String>,
        pub delay_seconds: Option<u64>,
        pub approval_reason: Option<String>,
        pub downgraded: bool,
        pub cumulative_warning: Option<String>,
        pub error_code: Option<String>,
        /// Every rule that contributed, in evaluation order.
        #[schema(value_type = Vec<Object>)]
        pub reasons: Vec<serde_json::Value>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct SimulatedFee {
        pub estimated_fee: String,
        pub fee_symbol: String,
        pub fee_decimals: u8,
        #[schema(value_type = Option<f64>)]
        pub fee_usd: Option<()>,
        pub needs_ata_creation: Option<bool>,
        pub ata_rent_cost: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct SimulationWarning {
        pub code: String,
        pub message: String,
        /// `info`, `warning` or `error`.
        pub severity: String,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ChainSimulation {
        pub success: bool,
        pub logs: Vec<String>,
        pub units_consumed: Option<u64>,
        pub error: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct SimulationMeta {
        pub chain: String,
        pub network: String,
        pub transaction_type: String,
        pub duration_ms: u64,
    }

    /// `POST /v1/transactions/simulate`: the policy decision and the chain's dry run.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct DryRunSimulationResult {
        pub success: bool,
        pub policy: SimulatedPolicy,
        pub fee: Option<SimulatedFee>,
        #[schema(value_type = Vec<Object>)]
        pub balance_changes: Vec<serde_json::Value>,
        pub warnings: Vec<SimulationWarning>,
        pub simulation: ChainSimulation,
        pub meta: SimulationMeta,
    }

    // --- GET /v1/wallet/balance ------------------------------------------------------

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct NetworkBalance {
        pub network: String,
        pub balance: Option<String>,
        pub decimals: Option<u8>,
        pub symbol: Option<String>,
        pub balance_formatted: Option<String>,
        /// Set instead of the balance when the network could not be read.
        pub error: Option<String>,
    }

    /// `network=all`: one entry per network of the wallet's environment.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct WalletBalancesResponse {
        pub wallet_id: String,
        #[schema(value_type = waiaas_core::network::Chain)]
        pub chain: String,
        #[schema(value_type = waiaas_core::network::Environment)]
        pub environment: String,
        pub balances: Vec<NetworkBalance>,
    }

    /// One network, or every network with `network=all`.
    #[derive(ToSchema)]
    #[serde(untagged)]
    pub enum BalanceResponse {
        One(waiaas_core::transactions::BalanceView),
        All(WalletBalancesResponse),
    }

    // --- GET /v1/connect-info ----------------------------------------------------------

    // --- Audit log and webhooks --------------------------------------------------------

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct AuditLogEntry {
        pub id: i64,
        pub timestamp: i64,
        pub event_type: String,
        pub actor: String,
        pub wallet_id: Option<String>,
        pub session_id: Option<String>,
        pub tx_id: Option<String>,
        #[schema(value_type = Object)]
        pub details: serde_json::Value,
        /// `info`, `warning` or `critical`.
        pub severity: String,
        pub ip_address: Option<String>,
    }

    /// `GET /v1/audit-logs`: newest first, `nextCursor` = id to continue from.
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct AuditLogResponse {
        pub data: Vec<AuditLogEntry>,
        pub next_cursor: Option<i64>,
        pub has_more: bool,
        /// With `include_total=true`.
        #[schema(required = false)]
        pub total: Option<i64>,
    }

    #[derive(ToSchema)]
    pub struct WebhookListResponse {
        pub data: Vec<waiaas_core::notify::webhook::WebhookView>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct WebhookLogEntry {
        pub id: String,
        pub webhook_id: String,
        pub event_type: String,
        /// `success` or `failed`.
        pub status: String,
        pub http_status: Option<i64>,
        pub attempt: i64,
        pub error: Option<String>,
        /// Milliseconds.
        pub request_duration: Option<i64>,
        pub created_at: i64,
    }

    #[derive(ToSchema)]
    pub struct WebhookLogsResponse {
        pub data: Vec<WebhookLogEntry>,
    }
}

pub use doc_types::*;
