//! Operator views and helpers behind the admin routes: the status dashboard, session
//! reissue, MCP tokens (`<data>/mcp-tokens/<walletId>` + the MCP client snippet) and the
//! agent prompt (a session plus the text that tells an agent what it may do).

use crate::api::types::{AdminStatusResponse, AgentPromptResponse, McpTokenCreatedResponse, RecentTransaction, SessionReissuedResponse};
use crate::engine::{wallet_not_found, Engine, SessionCtx};
use crate::error::{Error, Result};
use crate::services::sessions::CreateSession;
use crate::store::tx::TxStatus;
use serde_json::{json, Value};

impl Engine {
    /// `GET /v1/admin/status`.
    pub async fn admin_status(&self) -> Result<AdminStatusResponse> {
        let store = &self.inner.store;
        let now = self.now();
        let wallets = store.list_wallets(None).await?;
        let ids: Vec<String> = wallets.iter().map(|w| w.id.clone()).collect();
        let sessions = store.list_sessions(None).await?.into_iter().filter(|s| s.expires_at == 0 || s.expires_at > now).count();
        let policies = store.list_policies(None).await?.len();
        let recent = store.list_txs(&ids, None, None, 10).await?;
        let (mut recent_count, mut failed_count) = (0i64, 0i64);
        for w in &ids {
            recent_count += store.count_txs_since(w, now - 86_400).await?;
        }
        for t in store.list_txs(&ids, Some(&[TxStatus::Failed]), None, 1000).await? {
            if t.created_at >= now - 86_400 {
                failed_count += 1;
            }
        }
        let name_of = |id: &str| wallets.iter().find(|w| w.id == id).map(|w| w.name.clone());
        let recent_transactions = recent
            .into_iter()
            .map(|t| RecentTransaction {
                wallet_name: name_of(&t.wallet_id),
                id: t.id,
                wallet_id: t.wallet_id,
                tx_type: t.tx_type,
                status: t.status,
                to_address: t.to_address,
                amount: t.amount,
                formatted_amount: None,
                amount_usd: t.amount_usd,
                network: t.network,
                tx_hash: t.tx_hash,
                created_at: t.created_at,
            })
            .collect();
        Ok(AdminStatusResponse {
            status: "running".into(),
            version: crate::VERSION.into(),
            latest_version: None,
            update_available: false,
            uptime: self.inner.started.elapsed().as_secs(),
            wallet_count: wallets.len() as u64,
            active_session_count: sessions as u64,
            kill_switch_state: self.kill_switch_status().await?.state,
            admin_timeout: self.config().daemon.admin_timeout,
            timestamp: now,
            policy_count: policies as u64,
            recent_tx_count: recent_count,
            failed_tx_count: failed_count,
            auto_provisioned: self.inner.data_dir.join("recovery.key").exists(),
            recent_transactions,
        })
    }

    /// `POST /v1/admin/sessions/{id}/reissue`: a new token for the session (the old one
    /// stops working at once).
    pub async fn reissue_session(&self, id: &str) -> Result<SessionReissuedResponse> {
        let r = self.rotate_session(id).await?;
        Ok(SessionReissuedResponse { token: r.token, session_id: r.id, token_issued_count: r.token_issued_count, expires_at: r.expires_at })
    }

    /// `POST /v1/mcp/tokens`: an MCP session for a wallet, its token written to
    /// [`mcp_token_path`] (0600, atomically), and the MCP client configuration.
    pub async fn create_mcp_token(&self, wallet_id: &str, expires_in: Option<i64>, base_url: &str) -> Result<McpTokenCreatedResponse> {
        if let Some(t) = expires_in {
            if !(300..=31_536_000).contains(&t) {
                return Err(Error::validation("expiresIn", "must be 300..31536000 seconds"));
            }
        }
        let w = self.inner.store.get_wallet(wallet_id).await?.ok_or_else(|| wallet_not_found(wallet_id))?;
        let created =
            self.create_session(CreateSession { wallet_id: Some(w.id.clone()), ttl: expires_in, source: Some("mcp".into()), ..Default::default() }).await?;
        let path = write_mcp_token(&self.inner.data_dir, &w.id, &created.token)?;
        Ok(McpTokenCreatedResponse {
            claude_desktop_config: mcp_client_config("waiaas", &w.name, &w.id, &path, base_url),
            token_path: path.to_string_lossy().into_owned(),
            wallet_id: w.id,
            wallet_name: w.name,
            expires_at: created.expires_at,
        })
    }

    /// `POST /v1/admin/agent-prompt`: one session for the given wallets (all active ones when
    /// none are named) and the prompt that hands it to an agent.
    pub async fn agent_prompt(&self, wallet_ids: Option<Vec<String>>, ttl: Option<i64>, base_url: &str) -> Result<AgentPromptResponse> {
        let ids = match wallet_ids {
            Some(ids) if !ids.is_empty() => ids,
            Some(_) => return Err(Error::validation("walletIds", "must name at least one wallet")),
            None => self.inner.store.list_wallets(None).await?.into_iter().filter(|w| w.status == crate::store::WalletStatus::Active).map(|w| w.id).collect(),
        };
        if ids.is_empty() {
            return Err(Error::validation("walletIds", "there is no active wallet to hand to an agent"));
        }
        let created = self.create_session(CreateSession { wallet_ids: Some(ids.clone()), ttl, ..Default::default() }).await?;
        let ctx = SessionCtx { session_id: created.id.clone(), wallet_ids: ids.clone(), expires_at: created.expires_at, source: "api".into() };
        let info = self.connect_info(&ctx, base_url).await?;
        let rules = info.prompt;
        let prompt = format!(
            "WAIaaS wallet access for an AI agent.\nBase URL: {base_url}\nSession token (send as 'Authorization: Bearer <token>'): {}\n\n{rules}",
            created.token
        );
        Ok(AgentPromptResponse { prompt, wallet_count: ids.len() as u64, sessions_created: 1, session_reused: false, expires_at: created.expires_at })
    }
}

/// The directory an MCP server of one wallet may read: `<data>/mcp-agents/<walletId>`,
/// holding only that wallet's token (never the keystore, database or recovery.key). It is
/// the `WAIAAS_DATA_DIR` of the MCP client entry, so upstream's MCP server finds its token
/// there too (`DATA_DIR/mcp-tokens/<walletId>`).
pub fn mcp_agent_dir(data_dir: &std::path::Path, wallet_id: &str) -> std::path::PathBuf {
    data_dir.join("mcp-agents").join(wallet_id)
}

/// `<data>/mcp-agents/<walletId>/mcp-tokens/<walletId>`: a wallet's MCP session token.
pub fn mcp_token_path(data_dir: &std::path::Path, wallet_id: &str) -> std::path::PathBuf {
    mcp_agent_dir(data_dir, wallet_id).join("mcp-tokens").join(wallet_id)
}

/// Write a wallet's MCP token to [`mcp_token_path`] (directories 0700, file 0600, atomically).
pub fn write_mcp_token(data_dir: &std::path::Path, wallet_id: &str, token: &str) -> Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = mcp_token_path(data_dir, wallet_id);
    let tokens = path.parent().ok_or_else(|| Error::internal("token path has no parent"))?;
    std::fs::create_dir_all(tokens)?;
    for d in [data_dir.join("mcp-agents"), mcp_agent_dir(data_dir, wallet_id), tokens.to_path_buf()] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700))?;
    }
    crate::datadir::write_atomic(&path, token.as_bytes())?;
    Ok(path)
}

/// The MCP client entry (`{"waiaas-<name>": {command, args, env}}`) that runs
/// `waiaas mcp serve` for one wallet; Claude Desktop and other clients put it under their
/// `mcpServers` (upstream's shape: the caller adds that wrapper).
///
/// The server gets the daemon's URL and the path of its own token file
/// (`WAIAAS_TOKEN_FILE`); `WAIAAS_DATA_DIR` is the wallet's token-only directory
/// ([`mcp_agent_dir`], where upstream's MCP server looks), never the operator's data dir:
/// the agent that runs it needs no access to the keystore, database or recovery.key.
pub fn mcp_client_config(command: &str, wallet_name: &str, wallet_id: &str, token_file: &std::path::Path, base_url: &str) -> Value {
    let slug: String = wallet_name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    // <agent dir>/mcp-tokens/<walletId> -> <agent dir>
    let agent_dir = token_file.parent().and_then(std::path::Path::parent).map(|p| p.to_string_lossy().to_string()).unwrap_or_default();
    json!({
        format!("waiaas-{slug}"): {
            "command": command,
            "args": ["mcp", "serve"],
            "env": {
                "WAIAAS_BASE_URL": base_url, "WAIAAS_TOKEN_FILE": token_file.to_string_lossy(), "WAIAAS_DATA_DIR": agent_dir,
                "WAIAAS_WALLET_ID": wallet_id, "WAIAAS_WALLET_NAME": wallet_name
            }
        }
    })
}

/// `GET /v1/admin/transactions` filters.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AdminTxQuery {
    pub wallet_id: Option<String>,
    /// One status (`PENDING`, `QUEUED`, `CONFIRMED`, ...).
    pub status: Option<String>,
    /// The last id of the previous page.
    pub cursor: Option<String>,
    /// 1..=200 (50).
    pub limit: Option<i64>,
}

impl Engine {
    /// The operator acting on one wallet through the agent-facing views (balances, dry runs):
    /// a session context scoped to that wallet alone.
    async fn operator_ctx(&self, wallet_id: &str) -> Result<SessionCtx> {
        let w = self.inner.store.get_wallet(wallet_id).await?.ok_or_else(|| wallet_not_found(wallet_id))?;
        Ok(SessionCtx { session_id: "admin".into(), wallet_ids: vec![w.id], expires_at: 0, source: "admin".into() })
    }

    /// `GET /v1/admin/wallets/{id}/balance`: native balances on every network of the wallet's
    /// environment (a network whose node does not answer is reported in place).
    pub async fn admin_wallet_balance(&self, wallet_id: &str) -> Result<Value> {
        let ctx = self.operator_ctx(wallet_id).await?;
        self.wallet_balance(&ctx, Some(wallet_id), Some("all")).await
    }

    /// `POST /v1/admin/wallets/{id}/simulate`: what the policy engine (and the chain) would
    /// do with this send from the wallet, recording nothing.
    pub async fn admin_simulate(&self, wallet_id: &str, mut body: Value) -> Result<Value> {
        let ctx = self.operator_ctx(wallet_id).await?;
        if let Value::Object(m) = &mut body {
            m.insert("walletId".into(), Value::String(wallet_id.into()));
        }
        self.simulate_transaction(&ctx, body).await
    }

    /// `GET /v1/admin/transactions`: every wallet's transactions, newest first, with the
    /// policy decision (tier, reasons) each was given.
    pub async fn admin_transactions(&self, q: &AdminTxQuery) -> Result<Value> {
        let limit = q.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(Error::validation("limit", "must be 1..200"));
        }
        let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(TxStatus::parse(s).ok_or_else(|| Error::validation("status", format!("unknown status '{s}'")))?),
            None => None,
        };
        let wallets = self.inner.store.list_wallets(None).await?;
        let ids: Vec<String> = match q.wallet_id.as_deref().filter(|w| !w.is_empty()) {
            Some(w) if wallets.iter().any(|x| x.id == w) => vec![w.to_string()],
            Some(w) => return Err(wallet_not_found(w)),
            None => wallets.iter().map(|w| w.id.clone()).collect(),
        };
        let statuses = status.map(|s| [s]);
        let mut rows = self.inner.store.list_txs(&ids, statuses.as_ref().map(|s| &s[..]), q.cursor.as_deref(), limit + 1).await?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let cursor = if has_more { rows.last().map(|r| r.id.clone()) } else { None };
        let mut items = vec![];
        for r in &rows {
            let mut v = serde_json::to_value(crate::transactions::TxView::from(r)).map_err(Error::internal_from)?;
            let decision = r.decision.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok());
            let name = wallets.iter().find(|w| w.id == r.wallet_id).map(|w| w.name.clone());
            if let Value::Object(m) = &mut v {
                m.insert("walletName".into(), json!(name));
                m.insert("amountUsd".into(), json!(r.amount_usd));
                m.insert("queuedAt".into(), json!(r.queued_at));
                m.insert("decision".into(), decision.unwrap_or(Value::Null));
            }
            items.push(v);
        }
        Ok(json!({"items": items, "cursor": cursor, "hasMore": has_more}))
    }

    /// `GET /v1/admin/stats`: counts for the dashboard (upstream's shape, the parts we keep).
    pub async fn admin_stats(&self) -> Result<Value> {
        let store = &self.inner.store;
        let now = self.now();
        let wallets = store.list_wallets(None).await?;
        let ids: Vec<String> = wallets.iter().map(|w| w.id.clone()).collect();
        let mut by_wallet_status = std::collections::BTreeMap::<String, u64>::new();
        for w in &wallets {
            let k = serde_json::to_value(w.status).map_err(Error::internal_from)?.as_str().unwrap_or_default().to_string();
            *by_wallet_status.entry(k).or_default() += 1;
        }
        let sessions = store.list_sessions(None).await?;
        let active = sessions.iter().filter(|s| s.revoked_at.is_none() && (s.expires_at == 0 || s.expires_at > now)).count();
        let revoked_24h = sessions.iter().filter(|s| s.revoked_at.is_some_and(|r| r >= now - 86_400)).count();
        // The last day's transactions by status, counted by the store.
        let (mut by_status, mut count, mut usd) = (std::collections::BTreeMap::<String, i64>::new(), 0i64, 0f64);
        for (status, n, sum) in store.tx_counts_since(now - 86_400).await? {
            count += n;
            usd += sum;
            by_status.insert(status, n);
        }
        let queue = store.list_txs(&ids, Some(&[TxStatus::Queued]), None, 1000).await?.len();
        Ok(json!({
            "transactions": {"last24h": {"count": count, "totalUsd": usd, "byStatus": by_status}, "queued": queue},
            "sessions": {"active": active, "total": sessions.len(), "revokedLast24h": revoked_24h},
            "wallets": {"total": wallets.len(), "byStatus": by_wallet_status, "withOwner": wallets.iter().filter(|w| w.owner_address.is_some()).count()},
            "killSwitch": self.kill_switch_status().await?.state,
            "system": {"uptimeSeconds": self.inner.started.elapsed().as_secs(), "version": crate::VERSION, "timestamp": now},
        }))
    }
}
