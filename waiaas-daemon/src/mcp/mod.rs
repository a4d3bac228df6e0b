//! `waiaas mcp serve`: an MCP server over stdio, built on the official Rust SDK (`rmcp`).
//!
//! It is a thin face over [`waiaas_core::client::AgentApi`]: every tool is one agent
//! operation (the upstream tool names), talking to a daemon over HTTP ([`RemoteAgent`]) or
//! to an engine embedded on a data dir ([`EmbeddedAgent`], `--embedded`). The session token
//! comes from the file `WAIAAS_TOKEN_FILE` names (what `waiaas mcp setup` and
//! `POST /v1/mcp/tokens` put in the MCP config, with `WAIAAS_BASE_URL`: the server then
//! needs no access to the daemon's data dir), else, for upstream-style configs,
//! `DATA_DIR/mcp-tokens/<WAIAAS_WALLET_ID>`, else `DATA_DIR/mcp-token`; else
//! `WAIAAS_SESSION_TOKEN`. A finite token renews itself at 60 % of its lifetime and the
//! renewed token is written back to its file.
//!
//! stdout carries the protocol: everything else goes to stderr.

mod server;
pub mod skills;

pub use server::WaiaasMcp;

use crate::cli::{CliError, CliResult};
use base64::Engine as _;
use rmcp::ServiceExt;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use waiaas_core::client::{AgentApi, EmbeddedAgent, RemoteAgent};
use waiaas_core::ErrorCode;

/// Where `mcp serve` finds its daemon and token.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data_dir: PathBuf,
    pub base_url: String,
    pub wallet_id: Option<String>,
    pub wallet_name: Option<String>,
    pub env_token: Option<String>,
    /// The token file (`WAIAAS_TOKEN_FILE`); when set, the data dir is not read for it.
    pub token_file: Option<PathBuf>,
    /// Open the engine in this process instead of talking to a daemon.
    pub embedded: bool,
    /// How long a send waits for its transaction to settle before answering.
    pub settle_timeout: Duration,
}

/// Where the token came from (a file is rewritten on renewal).
#[derive(Debug, Clone, PartialEq)]
pub enum TokenSource {
    File(PathBuf),
    Env,
}

/// The token file for `wallet_id` (`mcp-tokens/<id>` of an upstream-style or token-only
/// dir; in the daemon's own data dir, the wallet's token-only dir) or the single `mcp-token`.
pub fn token_file(data_dir: &Path, wallet_id: Option<&str>) -> PathBuf {
    match wallet_id {
        Some(w) => {
            let own = waiaas_core::admin::mcp_token_path(data_dir, w);
            if own.exists() {
                own
            } else {
                data_dir.join("mcp-tokens").join(w)
            }
        }
        None => data_dir.join("mcp-token"),
    }
}

/// The file the token is read from (and renewed into): `WAIAAS_TOKEN_FILE`, else the data
/// dir's file for the wallet.
pub fn token_path(opts: &ServeOptions) -> PathBuf {
    opts.token_file.clone().unwrap_or_else(|| token_file(&opts.data_dir, opts.wallet_id.as_deref()))
}

/// File > env (upstream's order).
pub fn load_token(opts: &ServeOptions) -> Option<(String, TokenSource)> {
    let path = token_path(opts);
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_string();
        if !t.is_empty() {
            return Some((t, TokenSource::File(path)));
        }
    }
    opts.env_token.clone().filter(|t| !t.is_empty()).map(|t| (t, TokenSource::Env))
}

/// `iat` and `exp` of a `wai_sess_` token, read without verifying it (the daemon verifies).
pub fn token_times(token: &str) -> Option<(i64, Option<i64>)> {
    let payload = token.strip_prefix("wai_sess_")?.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    Some((claims.get("iat")?.as_i64()?, claims.get("exp").and_then(Value::as_i64)))
}

/// When a token with these times should be renewed: at 60 % of its lifetime.
pub fn renew_at(iat: i64, exp: i64) -> i64 {
    iat + (exp - iat) * 6 / 10
}

/// The agent the tools call, replaceable when a newer token shows up in the file.
pub struct AgentSlot {
    opts: ServeOptions,
    engine: Option<waiaas_core::Engine>,
    current: RwLock<Option<(Arc<dyn AgentApi>, TokenSource)>>,
}

impl AgentSlot {
    fn build(&self, token: String) -> waiaas_core::Result<Arc<dyn AgentApi>> {
        Ok(match &self.engine {
            Some(e) => Arc::new(EmbeddedAgent::new(e.clone(), token)),
            None => Arc::new(RemoteAgent::new(&self.opts.base_url, token)?),
        })
    }

    /// The current agent; when there is none, or `stale` is set (the last call was refused
    /// for its token), the token file is read again.
    pub fn get(&self, stale: bool) -> Result<Arc<dyn AgentApi>, waiaas_core::Error> {
        if let Some((a, _)) = self.current.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if !stale {
                return Ok(a.clone());
            }
        }
        let Some((token, src)) = load_token(&self.opts) else {
            return Err(waiaas_core::Error::new(
                ErrorCode::INVALID_TOKEN,
                format!("No session token: {} does not exist and WAIAAS_SESSION_TOKEN is not set", token_path(&self.opts).display()),
            )
            .with_hint("The operator runs `waiaas mcp setup` (or `waiaas quickset`) to write a token; this server picks it up without a restart."));
        };
        let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
        if let Some((a, _)) = cur.as_ref() {
            if a.session_token() == token {
                return Ok(a.clone());
            }
        }
        let agent = self.build(token)?;
        *cur = Some((agent.clone(), src));
        Ok(agent)
    }

    fn source(&self) -> Option<TokenSource> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).as_ref().map(|(_, s)| s.clone())
    }
}

/// Run the MCP server on stdio until the client closes it.
pub async fn serve(opts: ServeOptions) -> CliResult {
    let filter = std::env::var("WAIAAS_MCP_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    let engine = if opts.embedded {
        let pw = crate::cli::daemon::resolve_password(&opts.data_dir, None)?;
        Some(waiaas_core::client::embedded::open_embedded(&opts.data_dir, &pw).await?)
    } else {
        None
    };
    let slot = Arc::new(AgentSlot { opts: opts.clone(), engine, current: RwLock::new(None) });
    if let Err(e) = slot.get(false) {
        eprintln!("[waiaas-mcp] {e} (tools will say so until a token appears)");
    }
    tokio::spawn(renewal_loop(slot.clone()));
    let server = WaiaasMcp::new(slot, opts.wallet_name.clone(), opts.settle_timeout);
    let running = server.serve(rmcp::transport::stdio()).await.map_err(|e| CliError::new(crate::cli::EXIT_FAILED, format!("MCP handshake failed: {e}")))?;
    running.waiting().await.map_err(|e| CliError::new(crate::cli::EXIT_FAILED, format!("MCP server stopped: {e}")))?;
    Ok(())
}

/// Renew a finite token at 60 % of its lifetime (PUT /v1/sessions/{id}/renew), write the
/// new token back to its file, repeat. Errors are logged and retried; a renewed token
/// another process wrote to the file is adopted.
async fn renewal_loop(slot: Arc<AgentSlot>) {
    loop {
        let agent = match slot.get(false) {
            Ok(a) => a,
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(10)).await;
                continue;
            }
        };
        let token = agent.session_token();
        let Some((iat, Some(exp))) = token_times(&token) else {
            // Unlimited (or unreadable) tokens never need renewal; watch the file for a
            // replacement now and then.
            tokio::time::sleep(Duration::from_secs(60)).await;
            let _ = slot.get(true);
            continue;
        };
        let wait = renew_at(iat, exp) - waiaas_core::now();
        if wait > 0 {
            tokio::time::sleep(Duration::from_secs(wait as u64)).await;
        }
        // The file may hold a newer token by now (another server renewed it).
        let agent = match slot.get(true) {
            Ok(a) => a,
            Err(_) => continue,
        };
        if agent.session_token() != token {
            continue;
        }
        match agent.renew_session().await {
            Ok(r) => {
                let new = agent.session_token();
                if let Some(TokenSource::File(p)) = slot.source() {
                    if let Err(e) = waiaas_core::datadir::write_atomic(&p, new.as_bytes()) {
                        eprintln!("[waiaas-mcp] renewed, but cannot write {}: {e}", p.display());
                    }
                }
                eprintln!("[waiaas-mcp] session renewed (renewal {}), expires at {}", r["renewalCount"], r["expiresAt"]);
            }
            Err(e) if e.code == ErrorCode::RENEWAL_TOO_EARLY => tokio::time::sleep(Duration::from_secs(5)).await,
            Err(e) => {
                eprintln!("[waiaas-mcp] session renewal failed: {e}");
                tokio::time::sleep(Duration::from_secs(if e.retryable() { 5 } else { 60 })).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_at_sixty_percent_of_the_lifetime() {
        assert_eq!(renew_at(1000, 2000), 1600);
        assert_eq!(renew_at(0, 300), 180);
    }

    #[test]
    fn token_times_are_read_from_the_payload() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"s","iat":10,"exp":310}"#);
        assert_eq!(token_times(&format!("wai_sess_e30.{payload}.sig")), Some((10, Some(310))));
        let unlimited = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"s","iat":10}"#);
        assert_eq!(token_times(&format!("wai_sess_e30.{unlimited}.sig")), Some((10, None)));
        assert_eq!(token_times("nope"), None);
    }

    #[test]
    fn token_file_beats_the_environment() {
        let dir = std::env::temp_dir().join(format!("waiaas-mcp-tok-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("mcp-tokens")).unwrap();
        let mut o = ServeOptions {
            data_dir: dir.clone(),
            base_url: "http://127.0.0.1:1".into(),
            wallet_id: Some("w1".into()),
            wallet_name: None,
            env_token: Some("from-env".into()),
            token_file: None,
            embedded: false,
            settle_timeout: Duration::from_secs(1),
        };
        assert_eq!(load_token(&o), Some(("from-env".into(), TokenSource::Env)));
        std::fs::write(dir.join("mcp-tokens/w1"), "from-file\n").unwrap();
        assert_eq!(load_token(&o).unwrap().0, "from-file");
        o.wallet_id = None;
        assert_eq!(load_token(&o).unwrap().0, "from-env");
        std::fs::write(dir.join("mcp-token"), "legacy").unwrap();
        assert_eq!(load_token(&o).unwrap().0, "legacy");
        // WAIAAS_TOKEN_FILE: that file alone, wherever it is (the data dir is not read).
        std::fs::write(dir.join("own-token"), "own\n").unwrap();
        o.token_file = Some(dir.join("own-token"));
        o.data_dir = dir.join("not-there");
        assert_eq!(load_token(&o), Some(("own".into(), TokenSource::File(dir.join("own-token")))));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
