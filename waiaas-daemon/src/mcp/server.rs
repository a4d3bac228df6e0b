//! The MCP handler: the tool table (upstream names), the resources, and what a send tells
//! the model and the human.
//!
//! - Tools are a static table, listed at once (no daemon round trip before `tools/list`).
//!   After `initialized` the wallet's policies are fetched once in the background and the
//!   send tools' descriptions gain the concrete thresholds, and the daemon's enabled action
//!   providers add one `action_<provider>_<action>` tool per action (`tools/list_changed` is
//!   sent). An action tool called before that list arrived fetches it first.
//! - A send waits (bounded) for its transaction to settle and reports the policy outcome:
//!   CONFIRMED with its hash, QUEUED in DELAY or APPROVAL with what happens next, or a tool
//!   error naming the policy that refused it. Nothing fails silently.
//! - Human in the loop: when a send is QUEUED and the client supports form elicitation, the
//!   human is asked directly whether to cancel it at once; for APPROVAL the message shows
//!   what the owner must sign. Elicitation never approves anything: approval stays an owner
//!   signature.

use super::AgentSlot;
use rmcp::model::*;
use rmcp::service::{ElicitationMode, NotificationContext, RequestContext, RoleServer};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::{json, Map, Value};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use waiaas_core::client::{AgentApi, TxListQuery, WalletQuery};
use waiaas_core::ErrorCode;

/// The MCP server for one agent session.
#[derive(Clone)]
pub struct WaiaasMcp {
    slot: Arc<AgentSlot>,
    wallet_name: Option<String>,
    settle_timeout: Duration,
    /// Policy summary of the session's wallets, once fetched (appended to send tools).
    policy_note: Arc<RwLock<Option<String>>>,
    /// The daemon's action tools, once fetched.
    action_tools: Arc<RwLock<Option<Vec<waiaas_core::actions::ActionTool>>>>,
}

const SEND_NOTE: &str = "Every send passes the owner's policy engine before anything is signed. Outcomes: INSTANT and NOTIFY execute at once (the result is CONFIRMED with a txHash); DELAY queues the transaction for a waiting period after which it executes unless cancelled (the human may be asked in this chat whether to cancel it); APPROVAL holds it until the wallet owner signs an approval (you cannot approve it yourself); a refusal returns an error naming the policy (default deny: token transfers, contract calls and approvals need ALLOWED_TOKENS, CONTRACT_WHITELIST, APPROVED_SPENDERS). Without a SPENDING_LIMIT the defaults are: up to $10 INSTANT, $100 NOTIFY, $500 DELAY, above APPROVAL. Call simulate_transaction first to learn the tier without sending.";

const WALLET_ID: &str = "Target wallet ID. Omit to use the session's default wallet.";
const NETWORK: &str = "Target network (e.g. ethereum-sepolia, solana-devnet, or CAIP-2 eip155:11155111). Defaults to the wallet's default network.";

/// A list tool's arguments as the list's filters (their REST query names).
fn filters<T: serde::de::DeserializeOwned>(a: &JsonObject) -> waiaas_core::Result<T> {
    serde_json::from_value(Value::Object(a.clone())).map_err(|e| waiaas_core::Error::validation("arguments", e.to_string()))
}

fn schema(props: Value, required: &[&str]) -> Arc<JsonObject> {
    let mut o = Map::new();
    o.insert("type".into(), "object".into());
    o.insert("properties".into(), props);
    if !required.is_empty() {
        o.insert("required".into(), json!(required));
    }
    Arc::new(o)
}

fn wallet_props(mut extra: Value) -> Value {
    extra["wallet_id"] = json!({"type": "string", "description": WALLET_ID});
    extra["network"] = json!({"type": "string", "description": NETWORK});
    extra
}

fn token_schema() -> Value {
    json!({
        "type": "object",
        "description": "Token: contract address (ERC-20) or mint (SPL), decimals and symbol; or assetId (CAIP-19) alone.",
        "properties": {
            "address": {"type": "string"}, "decimals": {"type": "integer"}, "symbol": {"type": "string"},
            "assetId": {"type": "string", "description": "CAIP-19 asset id"}
        }
    })
}

/// The tool table: name, description, input schema, read-only.
fn catalog(note: Option<&str>) -> Vec<(&'static str, String, Arc<JsonObject>, bool)> {
    let send_desc = |base: &str| match note {
        Some(n) => format!("{base} {SEND_NOTE} {n}"),
        None => format!("{base} {SEND_NOTE}"),
    };
    vec![
        ("connect_info", "What this session can see and do: its wallets, their policies, default-deny state, and a prompt describing the rules. Call it first.".into(), schema(json!({}), &[]), true),
        ("get_address", "Get the wallet's address (and network).".into(), schema(wallet_props(json!({})), &[]), true),
        ("get_balance", "Get the wallet's native balance (SOL/ETH) on a network; network 'all' lists every network of the wallet.".into(), schema(wallet_props(json!({})), &[]), true),
        ("get_assets", "Get the wallet's native and token balances.".into(), schema(wallet_props(json!({})), &[]), true),
        ("get_wallet_info", "Get wallet info: chain, environment, address, status, owner state and available networks.".into(), schema(json!({"wallet_id": {"type": "string", "description": WALLET_ID}}), &[]), true),
        ("get_policies", "Get the policies that apply to the session's wallets (type, rules, network) and what default deny blocks.".into(), schema(json!({"wallet_id": {"type": "string", "description": WALLET_ID}}), &[]), true),
        ("get_nonce", "Get a fresh single-use nonce (for owner-signed messages).".into(), schema(json!({}), &[]), true),
        (
            "send_token",
            send_desc("Send native SOL/ETH (type TRANSFER, the default) or a token (type TOKEN_TRANSFER with token) from the wallet. Amount in the smallest unit (lamports/wei)."),
            schema(
                wallet_props(json!({
                    "to": {"type": "string", "description": "Destination address"},
                    "amount": {"type": "string", "description": "Amount in the smallest unit (lamports/wei), as a decimal string"},
                    "type": {"type": "string", "enum": ["TRANSFER", "TOKEN_TRANSFER"], "description": "TRANSFER (native, default) or TOKEN_TRANSFER"},
                    "token": token_schema(),
                    "memo": {"type": "string", "description": "Optional memo"},
                })),
                &["to", "amount"],
            ),
            false,
        ),
        (
            "approve_token",
            send_desc("Approve a spender to move tokens on the wallet's behalf (ERC-20 approve / SPL delegate). Needs an APPROVED_SPENDERS policy."),
            schema(
                wallet_props(json!({
                    "spender": {"type": "string", "description": "Spender address"},
                    "token": token_schema(),
                    "amount": {"type": "string", "description": "Allowance in the token's smallest unit"},
                })),
                &["spender", "token", "amount"],
            ),
            false,
        ),
        (
            "call_contract",
            send_desc("Call a smart contract. EVM: to + calldata (hex) [+ value in wei]; Solana: programId + instructionData (base64) + accounts. Needs a CONTRACT_WHITELIST policy."),
            schema(
                wallet_props(json!({
                    "to": {"type": "string", "description": "Contract address (EVM)"},
                    "calldata": {"type": "string", "description": "0x-prefixed calldata (EVM)"},
                    "abi": {"type": "array", "items": {"type": "object"}, "description": "ABI fragment, for decoding (EVM)"},
                    "value": {"type": "string", "description": "Native value in wei (EVM)"},
                    "programId": {"type": "string", "description": "Program id (Solana)"},
                    "instructionData": {"type": "string", "description": "Base64 instruction data (Solana)"},
                    "accounts": {"type": "array", "items": {"type": "object", "properties": {"pubkey": {"type": "string"}, "isSigner": {"type": "boolean"}, "isWritable": {"type": "boolean"}}}, "description": "Account metas (Solana)"},
                })),
                &[],
            ),
            false,
        ),
        (
            "send_batch",
            send_desc("Send 2-20 instructions atomically in one transaction (Solana). Each instruction is a TRANSFER, TOKEN_TRANSFER, CONTRACT_CALL or APPROVE body with its own type."),
            schema(wallet_props(json!({"instructions": {"type": "array", "items": {"type": "object"}, "minItems": 2, "maxItems": 20}})), &["instructions"]),
            false,
        ),
        (
            "simulate_transaction",
            "Dry-run a send without sending it: the policy decision (tier, allowed, the rule that decided, delay), the fee and the chain simulation. Takes the same fields as a send (type, to, amount, token, calldata, ...).".into(),
            schema(
                wallet_props(json!({
                    "type": {"type": "string", "enum": ["TRANSFER", "TOKEN_TRANSFER", "CONTRACT_CALL", "APPROVE", "BATCH"]},
                    "to": {"type": "string"}, "amount": {"type": "string"}, "token": token_schema(), "spender": {"type": "string"},
                    "calldata": {"type": "string"}, "value": {"type": "string"}, "instructions": {"type": "array", "items": {"type": "object"}},
                })),
                &[],
            ),
            true,
        ),
        (
            "sign_transaction",
            "Sign an externally built transaction (EVM: 0x hex; Solana: base64) without sending it. It is decoded and passes the same policy gate; only INSTANT/NOTIFY outcomes are signed.".into(),
            schema(wallet_props(json!({"transaction": {"type": "string", "description": "Unsigned transaction"}})), &["transaction"]),
            false,
        ),
        (
            "sign_message",
            "Sign a message (personal, EIP-191 on EVM / ed25519 on Solana) or EIP-712 typed data (sign_type typedData, EVM only).".into(),
            schema(
                wallet_props(json!({
                    "message": {"type": "string", "description": "Message (UTF-8 or 0x hex)"},
                    "sign_type": {"type": "string", "enum": ["personal", "typedData"]},
                    "typed_data": {"type": "object", "description": "EIP-712 {domain, types, primaryType, message}"},
                })),
                &[],
            ),
            false,
        ),
        (
            "x402_fetch",
            "Fetch a URL; when the server asks for payment (HTTP 402, x402), pay it from the wallet under its policies (X402_ALLOWED_DOMAINS, ALLOWED_TOKENS, limits) and return the paid answer with the payment.".into(),
            schema(
                wallet_props(json!({
                    "url": {"type": "string", "description": "https URL of the resource"},
                    "method": {"type": "string", "enum": ["GET", "POST", "PUT", "DELETE", "PATCH"]},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "body": {"type": "string"},
                })),
                &["url"],
            ),
            false,
        ),
        ("get_transaction", "Get a transaction's status, tier, hash and error.".into(), schema(json!({"transaction_id": {"type": "string"}}), &["transaction_id"]), true),
        (
            "list_transactions",
            "List the wallet's transactions, newest first.".into(),
            schema(json!({"wallet_id": {"type": "string", "description": WALLET_ID}, "limit": {"type": "integer", "minimum": 1, "maximum": 100}, "cursor": {"type": "string"}}), &[]),
            true,
        ),
        ("list_pending_transactions", "List transactions still waiting (PENDING, QUEUED in DELAY or APPROVAL, executing).".into(), schema(json!({"wallet_id": {"type": "string", "description": WALLET_ID}}), &[]), true),
        (
            "list_incoming_transactions",
            "List transfers into the wallet that the incoming monitor recorded (CONFIRMED unless status says DETECTED), newest first.".into(),
            schema(
                json!({"wallet_id": {"type": "string", "description": WALLET_ID}, "limit": {"type": "integer", "minimum": 1, "maximum": 100}, "cursor": {"type": "string"},
                       "status": {"type": "string", "enum": ["DETECTED", "CONFIRMED"]}, "network": {"type": "string"}, "token": {"type": "string"}, "from_address": {"type": "string"},
                       "since": {"type": "integer"}, "until": {"type": "integer"}}),
                &[],
            ),
            true,
        ),
        (
            "get_incoming_summary",
            "Sum the wallet's confirmed incoming transfers by day, week or month.".into(),
            schema(
                json!({"wallet_id": {"type": "string", "description": WALLET_ID}, "period": {"type": "string", "enum": ["daily", "weekly", "monthly"]}, "network": {"type": "string"},
                       "since": {"type": "integer"}, "until": {"type": "integer"}}),
                &[],
            ),
            true,
        ),
        ("cancel_transaction", "Cancel a transaction that is still waiting (DELAY or APPROVAL queue) before anything is signed.".into(), schema(json!({"transaction_id": {"type": "string"}}), &["transaction_id"]), false),
        (
            "encode_calldata",
            "ABI-encode a function call into calldata (EVM), e.g. for call_contract.".into(),
            schema(json!({"abi": {"type": "array", "items": {"type": "object"}}, "function_name": {"type": "string"}, "args": {"type": "array"}}), &["abi", "function_name"]),
            true,
        ),
    ]
}

type ToolResult = Result<CallToolResult, McpError>;

fn text_result(v: &Value) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()))])
}

fn tool_error(text: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text.into())])
}

/// A core error as the model should read it: code, message, hint.
fn error_result(e: &waiaas_core::Error) -> CallToolResult {
    let body = e.to_body();
    let mut t = format!("{}: {}", e.code, e.message);
    if let Some(h) = body.get("hint").and_then(Value::as_str) {
        t.push_str(&format!("\nHint: {h}"));
    }
    if let Some(d) = &e.details {
        t.push_str(&format!("\nDetails: {d}"));
    }
    tool_error(t)
}

fn arg_str(a: &Map<String, Value>, k: &str) -> Option<String> {
    a.get(k).and_then(|v| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn query(a: &Map<String, Value>) -> WalletQuery {
    WalletQuery { wallet_id: arg_str(a, "wallet_id"), network: arg_str(a, "network") }
}

/// Copy `keys` (renamed snake → camel where given) into a REST body.
fn body_from(a: &Map<String, Value>, keys: &[(&str, &str)]) -> Value {
    let mut b = Map::new();
    for (from, to) in keys {
        if let Some(v) = a.get(*from).filter(|v| !v.is_null()) {
            b.insert(to.to_string(), v.clone());
        }
    }
    if let Some(w) = arg_str(a, "wallet_id") {
        b.insert("walletId".into(), w.into());
    }
    if let Some(n) = arg_str(a, "network") {
        b.insert("network".into(), n.into());
    }
    Value::Object(b)
}

/// Codes whose refusal comes from a policy, and the policy type that raises them.
fn policy_type_of(code: &str) -> Option<&'static str> {
    Some(match code {
        "WHITELIST_DENIED" => "WHITELIST",
        "TOKEN_NOT_ALLOWED" => "ALLOWED_TOKENS",
        "CONTRACT_NOT_WHITELISTED" | "METHOD_NOT_WHITELISTED" | "CONTRACT_CALL_DISABLED" => "CONTRACT_WHITELIST",
        "SPENDER_NOT_APPROVED" | "APPROVE_DISABLED" => "APPROVED_SPENDERS",
        "APPROVE_AMOUNT_EXCEEDED" | "UNLIMITED_APPROVE_BLOCKED" => "APPROVE_AMOUNT_LIMIT",
        "SPENDING_LIMIT_EXCEEDED" => "SPENDING_LIMIT",
        "RATE_LIMIT_EXCEEDED" => "RATE_LIMIT",
        "VENUE_NOT_ALLOWED" => "VENUE_WHITELIST",
        "POLICY_DENIED" | "BATCH_POLICY_VIOLATION" => "policy",
        _ => return None,
    })
}

impl WaiaasMcp {
    pub fn new(slot: Arc<AgentSlot>, wallet_name: Option<String>, settle_timeout: Duration) -> WaiaasMcp {
        WaiaasMcp { slot, wallet_name, settle_timeout, policy_note: Arc::new(RwLock::new(None)), action_tools: Arc::new(RwLock::new(None)) }
    }

    fn tools(&self) -> Vec<Tool> {
        let note = self.policy_note.read().unwrap_or_else(|e| e.into_inner()).clone();
        let actions = self.action_tools.read().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_default();
        let actions = actions.into_iter().map(|t| {
            let schema = Arc::new(t.input_schema.as_object().cloned().unwrap_or_default());
            (t.name, t.description, schema, false)
        });
        catalog(note.as_deref())
            .into_iter()
            .map(|(name, desc, schema, ro)| (name.to_string(), desc, schema, ro))
            .chain(actions)
            .map(|(name, desc, schema, ro)| {
                let desc = match &self.wallet_name {
                    Some(w) => format!("[{w}] {desc}"),
                    None => desc,
                };
                Tool::new(name, desc, schema).with_annotations(ToolAnnotations::new().read_only(ro).destructive(!ro).open_world(true))
            })
            .collect()
    }

    /// Call `f` with the agent; a token refusal re-reads the token file and retries once.
    async fn with_agent<F, Fut>(&self, f: F) -> waiaas_core::Result<Value>
    where
        F: Fn(Arc<dyn AgentApi>) -> Fut,
        Fut: std::future::Future<Output = waiaas_core::Result<Value>>,
    {
        let agent = self.slot.get(false)?;
        match f(agent.clone()).await {
            Err(e) if matches!(e.code, ErrorCode::INVALID_TOKEN | ErrorCode::SESSION_REVOKED | ErrorCode::TOKEN_EXPIRED | ErrorCode::SESSION_EXPIRED) => {
                let fresh = self.slot.get(true)?;
                if fresh.session_token() == agent.session_token() {
                    return Err(e);
                }
                f(fresh).await
            }
            r => r,
        }
    }

    async fn read(&self, r: waiaas_core::Result<Value>) -> ToolResult {
        Ok(match r {
            Ok(v) => text_result(&v),
            Err(e) => error_result(&e),
        })
    }

    async fn dispatch(&self, name: &str, a: Map<String, Value>, ctx: &RequestContext<RoleServer>) -> ToolResult {
        match name {
            "connect_info" => self.read(self.with_agent(|g| async move { g.connect_info().await }).await).await,
            "get_address" => {
                self.read(
                    self.with_agent(|g| {
                        let q = query(&a);
                        async move { g.get_address(q).await }
                    })
                    .await,
                )
                .await
            }
            "get_balance" => {
                self.read(
                    self.with_agent(|g| {
                        let q = query(&a);
                        async move { g.get_balance(q).await }
                    })
                    .await,
                )
                .await
            }
            "get_assets" => {
                self.read(
                    self.with_agent(|g| {
                        let q = query(&a);
                        async move { g.get_assets(q).await }
                    })
                    .await,
                )
                .await
            }
            "get_nonce" => self.read(self.with_agent(|g| async move { g.get_nonce().await }).await).await,
            "get_wallet_info" => {
                let wid = arg_str(&a, "wallet_id");
                let r = self
                    .with_agent(|g| {
                        let wid = wid.clone();
                        async move {
                            let mut addr = g.get_address(WalletQuery { wallet_id: wid, network: None }).await?;
                            let info = g.connect_info().await?;
                            let id = addr.get("walletId").cloned().unwrap_or(Value::Null);
                            if let Some(w) = info["wallets"].as_array().and_then(|ws| ws.iter().find(|w| w["id"] == id)) {
                                for k in ["name", "chain", "environment", "status", "ownerState"] {
                                    addr[k] = w[k].clone();
                                }
                                addr["networks"] = w["availableNetworks"].clone();
                            }
                            Ok(addr)
                        }
                    })
                    .await;
                self.read(r).await
            }
            "get_policies" => {
                let wid = arg_str(&a, "wallet_id");
                let r = self
                    .with_agent(|g| {
                        let wid = wid.clone();
                        async move {
                            let info = g.connect_info().await?;
                            let mut policies = info["policies"].clone();
                            if let (Some(w), Some(m)) = (wid, policies.as_object()) {
                                policies = json!({ w.clone(): m.get(&w).cloned().unwrap_or(json!([])) });
                            }
                            Ok(json!({"policies": policies, "defaultDeny": info["defaultDeny"]}))
                        }
                    })
                    .await;
                self.read(r).await
            }
            "send_token" => {
                let mut b = body_from(&a, &[("to", "to"), ("amount", "amount"), ("type", "type"), ("token", "token"), ("memo", "memo")]);
                if b.get("type").is_none() {
                    b["type"] = if a.get("token").is_some() { "TOKEN_TRANSFER" } else { "TRANSFER" }.into();
                }
                self.send(b, ctx).await
            }
            "approve_token" => {
                let mut b = body_from(&a, &[("spender", "spender"), ("token", "token"), ("amount", "amount")]);
                b["type"] = "APPROVE".into();
                self.send(b, ctx).await
            }
            "call_contract" => {
                let mut b = body_from(
                    &a,
                    &[
                        ("to", "to"),
                        ("calldata", "calldata"),
                        ("abi", "abi"),
                        ("value", "value"),
                        ("programId", "programId"),
                        ("instructionData", "instructionData"),
                        ("accounts", "accounts"),
                    ],
                );
                b["type"] = "CONTRACT_CALL".into();
                self.send(b, ctx).await
            }
            "send_batch" => {
                let mut b = body_from(&a, &[("instructions", "instructions")]);
                b["type"] = "BATCH".into();
                self.send(b, ctx).await
            }
            "simulate_transaction" => {
                let mut b = Value::Object(a.clone());
                if let Some(o) = b.as_object_mut() {
                    if let Some(w) = o.remove("wallet_id") {
                        o.insert("walletId".into(), w);
                    }
                }
                if b.get("type").is_none() {
                    b["type"] = "TRANSFER".into();
                }
                self.read(
                    self.with_agent(|g| {
                        let b = b.clone();
                        async move { g.simulate_transaction(b).await }
                    })
                    .await,
                )
                .await
            }
            "sign_transaction" => {
                let b = body_from(&a, &[("transaction", "transaction")]);
                self.read(
                    self.with_agent(|g| {
                        let b = b.clone();
                        async move { g.sign_transaction(b).await }
                    })
                    .await,
                )
                .await
            }
            "sign_message" => {
                let b = body_from(&a, &[("message", "message"), ("sign_type", "signType"), ("typed_data", "typedData")]);
                self.read(
                    self.with_agent(|g| {
                        let b = b.clone();
                        async move { g.sign_message(b).await }
                    })
                    .await,
                )
                .await
            }
            "x402_fetch" => {
                let b = body_from(&a, &[("url", "url"), ("method", "method"), ("headers", "headers"), ("body", "body")]);
                self.read(
                    self.with_agent(|g| {
                        let b = b.clone();
                        async move { g.x402_fetch(b).await }
                    })
                    .await,
                )
                .await
            }
            "get_transaction" | "cancel_transaction" => {
                let Some(id) = arg_str(&a, "transaction_id") else { return Ok(tool_error("transaction_id is required")) };
                let cancel = name == "cancel_transaction";
                self.read(
                    self.with_agent(|g| {
                        let id = id.clone();
                        async move {
                            if cancel {
                                g.cancel_transaction(id).await
                            } else {
                                g.get_transaction(id).await
                            }
                        }
                    })
                    .await,
                )
                .await
            }
            "list_transactions" => {
                let q = TxListQuery { wallet_id: arg_str(&a, "wallet_id"), cursor: arg_str(&a, "cursor"), limit: a.get("limit").and_then(Value::as_i64) };
                self.read(
                    self.with_agent(|g| {
                        let q = q.clone();
                        async move { g.list_transactions(q).await }
                    })
                    .await,
                )
                .await
            }
            "list_incoming_transactions" => {
                let q = filters::<waiaas_core::api::types::IncomingList>(&a);
                self.read(match q {
                    Ok(q) => {
                        self.with_agent(|g| {
                            let q = q.clone();
                            async move { g.list_incoming_transactions(q).await }
                        })
                        .await
                    }
                    Err(e) => Err(e),
                })
                .await
            }
            "get_incoming_summary" => {
                let q = filters::<waiaas_core::api::types::IncomingSummaryQuery>(&a);
                self.read(match q {
                    Ok(q) => {
                        self.with_agent(|g| {
                            let q = q.clone();
                            async move { g.get_incoming_summary(q).await }
                        })
                        .await
                    }
                    Err(e) => Err(e),
                })
                .await
            }
            "list_pending_transactions" => {
                let w = arg_str(&a, "wallet_id");
                self.read(
                    self.with_agent(|g| {
                        let w = w.clone();
                        async move { g.list_pending_transactions(w).await }
                    })
                    .await,
                )
                .await
            }
            "encode_calldata" => {
                let b = json!({"abi": a.get("abi").cloned().unwrap_or(json!([])), "functionName": a.get("function_name").cloned().unwrap_or(Value::Null), "args": a.get("args").cloned().unwrap_or(json!([]))});
                self.read(
                    self.with_agent(|g| {
                        let b = b.clone();
                        async move { g.encode_calldata(b).await }
                    })
                    .await,
                )
                .await
            }
            other if other.starts_with("action_") => self.action(other, a).await,
            other => Err(McpError::invalid_params(format!("unknown tool '{other}'"), None)),
        }
    }

    /// Send, wait for the outcome, and tell the model (and where possible the human).
    async fn send(&self, body: Value, ctx: &RequestContext<RoleServer>) -> ToolResult {
        let agent = match self.slot.get(false) {
            Ok(a) => a,
            Err(e) => return Ok(error_result(&e)),
        };
        let accepted = match self
            .with_agent(|g| {
                let b = body.clone();
                async move { g.send_transaction(b, None).await }
            })
            .await
        {
            Ok(v) => v,
            Err(e) => return Ok(error_result(&e)),
        };
        let agent = self.slot.get(false).unwrap_or(agent);
        let id = accepted["id"].as_str().unwrap_or_default().to_string();
        let tx = match agent.wait_for_transaction(id.clone(), self.settle_timeout).await {
            Ok(t) => t,
            Err(e) => return Ok(error_result(&e)),
        };
        let status = tx["status"].as_str().unwrap_or("").to_string();
        let tier = tx["tier"].as_str().unwrap_or("").to_string();
        let mut out = json!({"id": id, "status": status, "tier": tx["tier"], "txHash": tx["txHash"], "network": tx["network"], "transaction": tx});
        match status.as_str() {
            "CONFIRMED" | "SIGNED" => {
                out["outcome"] =
                    format!("{} at tier {tier}: executed and confirmed on chain (txHash {}).", status, tx["txHash"].as_str().unwrap_or("?")).into();
                Ok(text_result(&out))
            }
            "CANCELLED" | "FAILED" | "EXPIRED" | "PARTIAL_FAILURE" => {
                let code = tx["errorCode"].as_str().unwrap_or("").to_string();
                let msg = tx["error"].as_str().unwrap_or("").to_string();
                if status == "CANCELLED" && policy_type_of(&code).is_some() {
                    Ok(tool_error(self.explain_refusal(&agent, &body, &id, &code, &msg).await))
                } else if code.is_empty() {
                    Ok(tool_error(format!("Transaction {id} {status}: {msg}")))
                } else {
                    Ok(tool_error(format!("Transaction {id} {status}: {code}: {msg}")))
                }
            }
            "QUEUED" => Ok(self.held(&agent, &body, tx, out, ctx).await),
            _ => {
                out["outcome"] =
                    format!("{status}: still in progress after {} s; call get_transaction with id {id} to follow it.", self.settle_timeout.as_secs()).into();
                Ok(text_result(&out))
            }
        }
    }

    /// A refusal, naming the policy (and rule) that decided, from a dry run of the same request.
    async fn explain_refusal(&self, agent: &Arc<dyn AgentApi>, body: &Value, id: &str, code: &str, msg: &str) -> String {
        let mut names: Vec<String> = vec![];
        if let Ok(sim) = agent.simulate_transaction(body.clone()).await {
            for r in sim["policy"]["reasons"].as_array().into_iter().flatten().filter(|r| r["denied"] == true) {
                let t = r["policyType"].as_str().unwrap_or("default rule");
                let by = match r["policyId"].as_str() {
                    Some(p) => format!("{t} policy {p}"),
                    None => format!("{t} (default, no such policy configured)"),
                };
                names.push(format!("{by}, rule {}: {}", r["rule"].as_str().unwrap_or("?"), r["message"].as_str().unwrap_or("")));
            }
        }
        if names.is_empty() {
            names.push(format!("{} ({code})", policy_type_of(code).unwrap_or("policy")));
        }
        format!(
            "Refused by policy: {code}: {msg}\nDecided by: {}\nTransaction {id} is CANCELLED; nothing was signed or sent. Ask the wallet's operator to change the policy if this send is intended.",
            names.join("; ")
        )
    }

    /// A QUEUED send: say what happens next; ask the human where the client can.
    async fn held(&self, agent: &Arc<dyn AgentApi>, body: &Value, tx: Value, mut out: Value, ctx: &RequestContext<RoleServer>) -> CallToolResult {
        let id = tx["id"].as_str().unwrap_or_default().to_string();
        let tier = tx["tier"].as_str().unwrap_or("DELAY").to_string();
        let sim = agent.simulate_transaction(body.clone()).await.ok();
        let delay = sim.as_ref().and_then(|s| s["policy"]["delaySeconds"].as_u64());
        let reason = sim.as_ref().and_then(|s| s["policy"]["reason"].as_str().map(str::to_string)).unwrap_or_default();
        let what = format!(
            "{} {} to {} on {}",
            tx["amountFormatted"].as_str().or(tx["amount"].as_str()).unwrap_or("?"),
            tx["amountSymbol"].as_str().unwrap_or(""),
            tx["toAddress"].as_str().unwrap_or("?"),
            tx["network"].as_str().unwrap_or("?")
        );
        let mut next = if tier == "APPROVAL" {
            format!("Held for the owner's APPROVAL: it executes only after the wallet owner signs an approval (Request ID approve:{id}) and sends it to POST /v1/transactions/{id}/approve; it expires otherwise. You cannot approve it.")
        } else {
            format!(
                "Queued in DELAY{}: it executes automatically after the delay unless cancelled (cancel_transaction with id {id}).",
                delay.map(|d| format!(" for {d} s")).unwrap_or_default()
            )
        };
        if !reason.is_empty() {
            next.push_str(&format!(" Policy: {reason}."));
        }
        out["outcome"] = next.clone().into();
        let modes = ctx.peer.supported_elicitation_modes();
        if !modes.contains(&ElicitationMode::Form) {
            return text_result(&out);
        }
        // Ask the human. Only "cancel" changes anything: elicitation never approves.
        let mut message = format!("WAIaaS: your agent asked to send {what}. {next}");
        if tier == "APPROVAL" {
            message.push_str(&self.owner_instructions(agent, &id).await);
        }
        message.push_str("\n\nCancel this transaction now?");
        let choice = EnumSchema::builder(vec!["cancel".into(), "keep".into()])
            .enum_titles(vec![
                "Cancel it now (nothing is sent)".into(),
                if tier == "APPROVAL" { "Keep it waiting for the owner's signature".into() } else { "Let it wait out the delay".into() },
            ])
            .map(|b| b.build());
        let Ok(choice) = choice else { return text_result(&out) };
        let Ok(schema) = ElicitationSchema::builder().required_enum_schema("decision", choice).build() else { return text_result(&out) };
        let params = ElicitRequestParams::FormElicitationParams { meta: None, message, requested_schema: schema };
        match ctx.peer.create_elicitation_with_timeout(params, Some(Duration::from_secs(600))).await {
            Ok(r) if r.action == ElicitationAction::Accept && r.content.as_ref().and_then(|c| c["decision"].as_str()) == Some("cancel") => {
                match agent.cancel_transaction(id.clone()).await {
                    Ok(_) => {
                        let after = agent.get_transaction(id.clone()).await.unwrap_or(tx);
                        out["status"] = after["status"].clone();
                        out["transaction"] = after;
                        out["humanDecision"] = "cancel".into();
                        out["outcome"] = format!("The human cancelled transaction {id} from the chat client; nothing was signed or sent.").into();
                    }
                    Err(e) => {
                        out["humanDecision"] = "cancel".into();
                        out["outcome"] = format!("The human asked to cancel, but cancelling failed: {e}. {next}").into();
                    }
                }
            }
            Ok(r) => {
                out["humanDecision"] = match (&r.action, r.content.as_ref().and_then(|c| c["decision"].as_str())) {
                    (ElicitationAction::Accept, Some(d)) => d.into(),
                    (ElicitationAction::Decline, _) => "declined".into(),
                    _ => "dismissed".into(),
                };
                out["outcome"] = format!("The human left it waiting. {next}").into();
            }
            Err(e) => {
                tracing::warn!("elicitation failed: {e}");
            }
        }
        text_result(&out)
    }

    /// What the owner must sign to approve `tx_id`: the message format with a fresh nonce.
    async fn owner_instructions(&self, agent: &Arc<dyn AgentApi>, tx_id: &str) -> String {
        let nonce = agent.get_nonce().await.ok().and_then(|n| n["nonce"].as_str().map(str::to_string)).unwrap_or_else(|| "<nonce from GET /v1/nonce>".into());
        let info = agent.connect_info().await.ok();
        let base = info.as_ref().and_then(|i| i["daemon"]["baseUrl"].as_str().map(str::to_string)).unwrap_or_else(|| "http://127.0.0.1:3100".into());
        let domain = base.split("://").nth(1).unwrap_or(&base).to_string();
        let chain = info
            .as_ref()
            .and_then(|i| i["wallets"].as_array().and_then(|w| w.first()).and_then(|w| w["chain"].as_str().map(str::to_string)))
            .map(|c| if c == "solana" { waiaas_core::network::Chain::Solana } else { waiaas_core::network::Chain::Ethereum })
            .unwrap_or(waiaas_core::network::Chain::Ethereum);
        let text = waiaas_core::auth::owner::owner_message(
            chain,
            &domain,
            "<owner address>",
            &nonce,
            &waiaas_core::auth::owner::OwnerAction::Approve(tx_id.to_string()),
            waiaas_core::now(),
            300,
        );
        format!("\n\nTo approve, the wallet owner signs this message with the owner wallet and sends it with X-Owner-Address, X-Owner-Message (base64) and X-Owner-Signature to POST {base}/v1/transactions/{tx_id}/approve:\n\n{text}")
    }

    /// The daemon's action tools (fetched once; `None` while the daemon cannot be asked).
    async fn load_action_tools(&self) -> Option<Vec<waiaas_core::actions::ActionTool>> {
        if let Some(t) = self.action_tools.read().unwrap_or_else(|e| e.into_inner()).clone() {
            return Some(t);
        }
        let list = self.with_agent(|g| async move { g.list_action_providers().await }).await.ok()?;
        let tools = waiaas_core::actions::mcp_tools(serde_json::from_value(list).ok()?);
        *self.action_tools.write().unwrap_or_else(|e| e.into_inner()) = Some(tools.clone());
        Some(tools)
    }

    /// An `action_<provider>_<action>` tool: `{params, network?, walletId?, dryRun?}`.
    async fn action(&self, name: &str, a: Map<String, Value>) -> ToolResult {
        let tools = self.load_action_tools().await.unwrap_or_default();
        let Some(t) = tools.into_iter().find(|t| t.name == name) else { return Ok(tool_error(format!("unknown tool {name}"))) };
        let dry_run = a.get("dryRun").and_then(Value::as_bool).unwrap_or(false);
        let body = body_from(&a, &[("params", "params"), ("network", "network"), ("walletId", "walletId")]);
        self.read(
            self.with_agent(|g| {
                let (provider, action, body) = (t.provider.clone(), t.action.clone(), body.clone());
                async move { g.execute_action(provider, action, body, dry_run).await }
            })
            .await,
        )
        .await
    }

    /// Fetch the session's policies once and fold them into the send tools' descriptions.
    async fn load_policy_note(&self) -> Option<String> {
        let info = self.slot.get(false).ok()?.connect_info().await.ok()?;
        let mut parts = vec![];
        for w in info["wallets"].as_array().into_iter().flatten() {
            let id = w["id"].as_str().unwrap_or("");
            let ps = info["policies"][id].as_array().cloned().unwrap_or_default();
            let limit = ps.iter().find(|p| p["type"] == "SPENDING_LIMIT");
            let tiers = match limit {
                Some(p) => {
                    let r = &p["rules"];
                    let f = |k: &str| r[k].as_f64().map(|v| format!("${v}")).unwrap_or_else(|| "-".into());
                    format!(
                        "SPENDING_LIMIT: INSTANT up to {}, NOTIFY up to {}, DELAY up to {} (waits {} s), above that APPROVAL",
                        f("instant_max_usd"),
                        f("notify_max_usd"),
                        f("delay_max_usd"),
                        r["delay_seconds"].as_u64().map(|d| d.to_string()).unwrap_or_else(|| "900".into())
                    )
                }
                None => "default tiers".into(),
            };
            let others: Vec<&str> = ps.iter().filter_map(|p| p["type"].as_str()).filter(|t| *t != "SPENDING_LIMIT").collect();
            parts.push(format!(
                "Wallet {} ({} {}): {}{}.",
                w["name"].as_str().unwrap_or(id),
                w["chain"].as_str().unwrap_or(""),
                w["environment"].as_str().unwrap_or(""),
                tiers,
                if others.is_empty() { String::new() } else { format!("; also {}", others.join(", ")) }
            ));
        }
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

impl ServerHandler for WaiaasMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_tool_list_changed().enable_resources().build())
            .with_server_info(Implementation::new(
                match &self.wallet_name {
                    Some(w) => format!("waiaas-{w}"),
                    None => "waiaas-wallet".into(),
                },
                waiaas_core::VERSION,
            ))
            .with_instructions(
                "WAIaaS wallet tools. You act through a session token and never see keys. Every send is checked by the owner's policy engine first: \
                 INSTANT/NOTIFY execute, DELAY waits (cancellable), APPROVAL waits for the owner's signature, and default deny blocks token transfers, \
                 contract calls and approvals unless allowlisted. Call connect_info first, simulate_transaction to learn a tier. Never ask for the master password."
                    .to_string(),
            )
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let me = self.clone();
        tokio::spawn(async move {
            let note = me.load_policy_note().await;
            let changed = note.is_some() | me.load_action_tools().await.is_some_and(|t| !t.is_empty());
            if let Some(note) = note {
                *me.policy_note.write().unwrap_or_else(|e| e.into_inner()) = Some(note);
            }
            if changed {
                let _ = context.peer.notify_tool_list_changed().await;
            }
        });
    }

    async fn list_tools(&self, _r: Option<PaginatedRequestParams>, _c: RequestContext<RoleServer>) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools().into_iter().find(|t| t.name == name)
    }

    async fn call_tool(&self, request: CallToolRequestParams, context: RequestContext<RoleServer>) -> Result<CallToolResponse, McpError> {
        let args = request.arguments.clone().unwrap_or_default();
        Ok(self.dispatch(&request.name, args, &context).await?.into())
    }

    async fn list_resources(&self, _r: Option<PaginatedRequestParams>, _c: RequestContext<RoleServer>) -> Result<ListResourcesResult, McpError> {
        let mut items = vec![
            Resource::new("waiaas://wallet/address", "wallet-address")
                .with_description("The session's default wallet address")
                .with_mime_type("application/json"),
            Resource::new("waiaas://wallet/balance", "wallet-balance")
                .with_description("The session's default wallet balance")
                .with_mime_type("application/json"),
        ];
        for (name, _) in super::skills::SKILLS {
            items.push(Resource::new(format!("waiaas://skills/{name}"), format!("skill-{name}")).with_mime_type("text/markdown"));
        }
        Ok(ListResourcesResult::with_all_items(items))
    }

    async fn list_resource_templates(
        &self,
        _r: Option<PaginatedRequestParams>,
        _c: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let names: Vec<&str> = super::skills::SKILLS.iter().map(|(n, _)| *n).collect();
        Ok(ListResourceTemplatesResult::with_all_items(vec![ResourceTemplate::new("waiaas://skills/{name}", "skills")
            .with_description(format!("WAIaaS skill guides: {}", names.join(", ")))
            .with_mime_type("text/markdown")]))
    }

    async fn read_resource(&self, request: ReadResourceRequestParams, _c: RequestContext<RoleServer>) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri.clone();
        let json_of = |r: waiaas_core::Result<Value>| match r {
            Ok(v) => Ok(ReadResourceResult::new(vec![
                ResourceContents::text(serde_json::to_string_pretty(&v).unwrap_or_default(), uri.clone()).with_mime_type("application/json")
            ])
            .into()),
            Err(e) => Err(McpError::internal_error(e.to_string(), Some(e.to_body()))),
        };
        match uri.as_str() {
            "waiaas://wallet/address" => json_of(self.with_agent(|g| async move { g.get_address(WalletQuery::default()).await }).await),
            "waiaas://wallet/balance" => json_of(self.with_agent(|g| async move { g.get_balance(WalletQuery::default()).await }).await),
            other => match other.strip_prefix("waiaas://skills/").and_then(super::skills::get) {
                Some(text) => Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri.clone()).with_mime_type("text/markdown")]).into()),
                None => Err(McpError::resource_not_found(format!("no resource {other}"), Some(json!({"uri": other})))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    /// The MCP tools are exactly the MCP column of the core's operation table: a tool cannot
    /// appear without a declared operation behind it, nor be declared and missing.
    #[test]
    fn the_catalog_is_the_tables_mcp_column() {
        let tools: std::collections::BTreeSet<&str> = super::catalog(None).into_iter().map(|(name, ..)| name).collect();
        let declared: std::collections::BTreeSet<&str> = waiaas_core::api::OPERATIONS.iter().flat_map(|o| o.mcp.iter().copied()).collect();
        assert_eq!(tools, declared);
        // A tool that moves money sits on the operation that moves money.
        for o in waiaas_core::api::OPERATIONS {
            for t in o.mcp {
                let read_only = super::catalog(None).into_iter().find(|(n, ..)| n == t).map(|(.., ro)| ro);
                if o.op.moves_money() {
                    assert_eq!(read_only, Some(false), "{t}");
                }
            }
        }
    }
}
