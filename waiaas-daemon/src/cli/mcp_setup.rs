//! `waiaas quickset` and `waiaas mcp setup`: wallets, a starter policy, MCP session tokens
//! in `<data>/mcp-agents/<walletId>/mcp-tokens/<walletId>` (0600, see
//! [`waiaas_core::admin::mcp_token_path`]), and the MCP client configuration (printed, and
//! merged into Claude Desktop's config file by `mcp setup`).

use super::wallet::{default_name, mode_name};
use super::{find_wallet, s, CliError, CliResult, Ctx};
use crate::output;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use waiaas_core::client::AdminApi;

/// A wallet's MCP token file ([`waiaas_core::admin::mcp_token_path`]).
pub fn token_path(dir: &Path, wallet_id: &str) -> PathBuf {
    waiaas_core::admin::mcp_token_path(dir, wallet_id)
}

/// Options for minting MCP session tokens.
#[derive(Debug, Clone, Default)]
pub struct TokenOpts {
    pub ttl: Option<i64>,
    pub max_renewals: Option<i64>,
    pub lifetime: Option<i64>,
    /// Mint a new token even when the file's session is still active (the old one is revoked).
    pub renew: bool,
}

impl TokenOpts {
    fn explicit(&self) -> bool {
        self.renew || self.ttl.is_some() || self.max_renewals.is_some() || self.lifetime.is_some()
    }
}

/// What happened to one wallet's MCP token.
pub struct Minted {
    pub session_id: String,
    pub path: PathBuf,
    pub reused: bool,
}

/// Make sure the wallet's token file holds a live session token for the wallet: keep
/// the one there when its session is still active (unless new options are asked for), else
/// create a session, write its token (0600), and revoke the session it replaces.
pub async fn ensure_token(admin: &dyn AdminApi, dir: &Path, wallet_id: &str, opts: &TokenOpts) -> CliResult<Minted> {
    let path = token_path(dir, wallet_id);
    let old_sid = std::fs::read_to_string(&path).ok().and_then(|t| waiaas_core::client::remote::session_id_of(t.trim()).ok());
    let mut old_active = false;
    if let Some(sid) = &old_sid {
        let list = admin.list_sessions(Some(wallet_id.to_string())).await?;
        old_active = list["data"].as_array().is_some_and(|a| a.iter().any(|x| x["id"] == *sid.as_str() && x["status"] == "ACTIVE"));
        if old_active && !opts.explicit() {
            return Ok(Minted { session_id: sid.clone(), path, reused: true });
        }
    }
    let mut body = json!({ "walletId": wallet_id });
    if let Some(t) = opts.ttl {
        body["ttl"] = t.into();
    }
    if let Some(m) = opts.max_renewals {
        body["maxRenewals"] = m.into();
    }
    if let Some(l) = opts.lifetime {
        body["absoluteLifetime"] = l.into();
    }
    let created = admin.create_session(body).await?;
    let token = created["token"].as_str().ok_or_else(|| CliError::new(super::EXIT_FAILED, "the daemon returned no session token"))?;
    waiaas_core::admin::write_mcp_token(dir, wallet_id, token)?;
    if let (Some(sid), true) = (old_sid, old_active) {
        let _ = admin.revoke_session(sid).await;
    }
    Ok(Minted { session_id: s(&created, "id"), path, reused: false })
}

/// The `mcpServers` entry that runs this binary's MCP server for one wallet (the core's
/// entry, with this executable's absolute path as the command).
pub fn server_entry(ctx: &Ctx, wallet: &Value) -> (String, Value) {
    let exe = std::env::current_exe().ok().and_then(|p| p.canonicalize().ok()).map(|p| p.display().to_string()).unwrap_or_else(|| "waiaas".into());
    let dir = ctx.dir.canonicalize().unwrap_or_else(|_| ctx.dir.clone());
    let token = token_path(&dir, &s(wallet, "id"));
    let entry = waiaas_core::admin::mcp_client_config(&exe, &s(wallet, "name"), &s(wallet, "id"), &token, &ctx.base_url());
    entry.as_object().and_then(|m| m.iter().next()).map(|(k, v)| (k.clone(), v.clone())).unwrap_or_default()
}

/// Claude Desktop's config file: `--claude-config`, else `WAIAAS_CLAUDE_CONFIG`, else the
/// per-OS location (macOS `~/Library/Application Support/Claude`, Windows `%APPDATA%\Claude`,
/// elsewhere `$XDG_CONFIG_HOME/Claude` or `~/.config/Claude`).
pub fn claude_config_path(flag: Option<PathBuf>) -> PathBuf {
    if let Some(p) = flag.or_else(|| std::env::var_os("WAIAAS_CLAUDE_CONFIG").map(PathBuf::from)) {
        return p;
    }
    let file = "claude_desktop_config.json";
    if cfg!(target_os = "macos") {
        return super::home().join("Library/Application Support/Claude").join(file);
    }
    if cfg!(windows) {
        if let Some(a) = std::env::var_os("APPDATA") {
            return PathBuf::from(a).join("Claude").join(file);
        }
    }
    let base = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).filter(|p| p.is_absolute()).unwrap_or_else(|| super::home().join(".config"));
    base.join("Claude").join(file)
}

/// Merge `servers` into the `mcpServers` of Claude Desktop's config, keeping everything
/// else. An existing file is copied to `<file>.bak-<unix time>` first. Returns the backup.
pub fn merge_claude_config(path: &Path, servers: &serde_json::Map<String, Value>) -> CliResult<Option<PathBuf>> {
    let mut config = match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => json!({}),
        Ok(text) => serde_json::from_str::<Value>(&text).map_err(|e| {
            CliError::new(
                super::EXIT_FAILED,
                format!("{} is not valid JSON ({e}); nothing was changed\n  next: fix or move the file, then run `waiaas mcp setup` again", path.display()),
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
        Err(e) => return Err(e.into()),
    };
    if !config.is_object() {
        return Err(CliError::new(super::EXIT_FAILED, format!("{} is not a JSON object; nothing was changed", path.display())));
    }
    let backup = if path.exists() {
        let b = PathBuf::from(format!("{}.bak-{}", path.display(), waiaas_core::now()));
        std::fs::copy(path, &b)?;
        Some(b)
    } else {
        None
    };
    if !config["mcpServers"].is_object() {
        config["mcpServers"] = json!({});
    }
    for (k, v) in servers {
        config["mcpServers"][k] = v.clone();
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let text = serde_json::to_string_pretty(&config).map_err(|e| CliError::new(super::EXIT_FAILED, e.to_string()))? + "\n";
    waiaas_core::datadir::write_atomic(path, text.as_bytes())?;
    Ok(backup)
}

fn print_snippet(servers: &serde_json::Map<String, Value>) {
    println!("\nMCP client configuration (Claude Desktop, Cursor, ...):\n");
    println!("{}", serde_json::to_string_pretty(&json!({ "mcpServers": servers })).unwrap_or_default());
}

/// `waiaas quickset [--mode testnet|mainnet] [--ttl]`.
pub async fn quickset(ctx: &Ctx, mode: &str, opts: TokenOpts) -> CliResult {
    let mode = mode_name(mode)?;
    let admin = ctx.admin()?;
    let list = output::waiting("Connecting to the daemon...", admin.list_wallets()).await?;
    let existing = list["items"].as_array().cloned().unwrap_or_default();
    let cfg = super::daemon::load_config(&ctx.dir).ok().map(|l| l.config.policy);
    let mut rows = vec![];
    let mut servers = serde_json::Map::new();
    for chain in ["solana", "ethereum"] {
        let name = default_name(chain, mode);
        let found = existing.iter().find(|w| w["name"] == name.as_str() && w["chain"] == chain && w["status"] == "ACTIVE").cloned();
        let (wallet, created) = match found {
            Some(w) => (w, false),
            None => {
                let body = json!({"name": name, "chain": chain, "environment": mode, "createSession": false});
                (output::waiting(format!("Creating {name}..."), admin.create_wallet(body)).await?, true)
            }
        };
        let id = s(&wallet, "id");
        // The starter policy: default deny stays (no allowlists are added); a SPENDING_LIMIT
        // with the default tier thresholds makes the tiers explicit and editable.
        let policies = admin.list_policies(Some(id.clone())).await?;
        let has_limit = policies["data"].as_array().is_some_and(|a| a.iter().any(|p| p["type"] == "SPENDING_LIMIT" && p["walletId"] == id.as_str()));
        let policy_id = if has_limit {
            None
        } else {
            let rules = match &cfg {
                Some(p) => json!({
                    "instant_max_usd": p.default_instant_max_usd, "notify_max_usd": p.default_notify_max_usd,
                    "delay_max_usd": p.default_delay_max_usd, "delay_seconds": p.default_delay_seconds,
                }),
                None => json!({"instant_max_usd": 10, "notify_max_usd": 100, "delay_max_usd": 500, "delay_seconds": 900}),
            };
            let p = admin.create_policy(json!({"walletId": id, "type": "SPENDING_LIMIT", "rules": rules})).await?;
            Some(s(&p, "id"))
        };
        let minted = ensure_token(&admin, &ctx.dir, &id, &opts).await?;
        let (key, entry) = server_entry(ctx, &wallet);
        servers.insert(key, entry);
        rows.push(json!({
            "id": id, "name": s(&wallet, "name"), "chain": chain, "environment": mode, "network": s(&wallet, "network"),
            "address": s(&wallet, "publicKey"), "created": created, "policyId": policy_id, "sessionId": minted.session_id,
            "tokenFile": minted.path.display().to_string(), "tokenReused": minted.reused,
        }));
    }
    if ctx.json {
        output::json(&json!({ "mode": mode, "wallets": rows, "mcpServers": servers }));
        return Ok(());
    }
    println!("{} ({mode})\n", output::bold("WAIaaS quickset"));
    let mut t = output::Table::new(&["WALLET", "CHAIN", "NETWORK", "ADDRESS", ""]);
    for r in &rows {
        let what = if r["created"] == true { output::green("created") } else { output::dim("existing") };
        t.row(vec![s(r, "name"), s(r, "chain"), s(r, "network"), s(r, "address"), what]);
    }
    t.print();
    println!();
    for r in &rows {
        match r["policyId"].as_str() {
            Some(p) => println!("  policy   {}: SPENDING_LIMIT {p} (default tiers; default deny for tokens, contracts, approvals)", s(r, "name")),
            None => println!("  policy   {}: has a SPENDING_LIMIT already", s(r, "name")),
        }
        println!("  token    {}: {}{}", s(r, "name"), s(r, "tokenFile"), if r["tokenReused"] == true { " (kept)" } else { "" });
    }
    print_snippet(&servers);
    println!("\nNext: `waiaas mcp setup --all` registers these servers with Claude Desktop.");
    Ok(())
}

/// `waiaas mcp setup [--wallet W | --all]`.
pub async fn setup(ctx: &Ctx, wallet: Option<String>, all: bool, opts: TokenOpts, claude_config: Option<PathBuf>, no_register: bool) -> CliResult {
    let admin = ctx.admin()?;
    let wallets: Vec<Value> = if all {
        let list = output::waiting("Connecting to the daemon...", admin.list_wallets()).await?;
        list["items"].as_array().cloned().unwrap_or_default().into_iter().filter(|w| w["status"] != "TERMINATED").collect()
    } else if let Some(w) = wallet {
        vec![find_wallet(&admin, &w).await?]
    } else {
        vec![super::wallet::only_wallet(&admin).await.map_err(|e| CliError::new(e.code, format!("{}\n  (or pass --all for every wallet)", e.message)))?]
    };
    if wallets.is_empty() {
        return Err(CliError::new(super::EXIT_NOT_FOUND, "no wallets to set up\n  next: `waiaas quickset --mode testnet` creates a Solana and an EVM wallet"));
    }
    let mut servers = serde_json::Map::new();
    let mut rows = vec![];
    for w in &wallets {
        let minted = ensure_token(&admin, &ctx.dir, &s(w, "id"), &opts).await?;
        let (key, entry) = server_entry(ctx, w);
        servers.insert(key.clone(), entry);
        rows.push(json!({"id": s(w, "id"), "name": s(w, "name"), "server": key, "sessionId": minted.session_id,
            "tokenFile": minted.path.display().to_string(), "tokenReused": minted.reused}));
    }
    let (config_path, backup) = if no_register {
        (None, None)
    } else {
        let path = claude_config_path(claude_config);
        let backup = merge_claude_config(&path, &servers)?;
        (Some(path), backup)
    };
    if ctx.json {
        output::json(&json!({
            "wallets": rows, "mcpServers": servers,
            "claudeConfig": config_path.as_ref().map(|p| p.display().to_string()),
            "backup": backup.as_ref().map(|p| p.display().to_string()),
        }));
        return Ok(());
    }
    for r in &rows {
        println!("{} {}  token {}{}", output::green("ready"), s(r, "server"), s(r, "tokenFile"), if r["tokenReused"] == true { " (kept)" } else { "" });
    }
    match (&config_path, &backup) {
        (Some(p), Some(b)) => println!("Registered with Claude Desktop: {} (previous version saved as {})", p.display(), b.display()),
        (Some(p), None) => println!("Registered with Claude Desktop: {} (new file)", p.display()),
        _ => print_snippet(&servers),
    }
    if config_path.is_some() {
        println!("Restart Claude Desktop to load the servers.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_other_servers_and_backs_up() {
        let dir = std::env::temp_dir().join(format!("waiaas-claude-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("claude_desktop_config.json");
        std::fs::write(&path, r#"{"mcpServers":{"other":{"command":"x"}},"theme":"dark"}"#).unwrap();
        let mut servers = serde_json::Map::new();
        servers.insert("waiaas-a".into(), json!({"command": "waiaas"}));
        let backup = merge_claude_config(&path, &servers).unwrap().unwrap();
        let merged: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(merged["mcpServers"]["other"]["command"], "x");
        assert_eq!(merged["mcpServers"]["waiaas-a"]["command"], "waiaas");
        assert_eq!(merged["theme"], "dark");
        assert!(std::fs::read_to_string(backup).unwrap().contains("\"other\""));
        std::fs::write(&path, "{not json").unwrap();
        assert!(merge_claude_config(&path, &servers).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{not json");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
