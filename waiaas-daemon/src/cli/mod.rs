//! `waiaas` commands. `init`, `start`, `stop` and `status` work on the data dir; every
//! other command is a thin face over [`waiaas_core::client::AdminApi`] talking to the
//! running daemon over HTTP (as the upstream CLI does), with human output by default and
//! `--json` for scripts.
//!
//! Exit codes (also in `waiaas --help`):
//! 0 success · 1 the daemon refused the operation · 2 usage or configuration error ·
//! 3 master password rejected or locked out · 4 system locked (kill switch, or another
//! daemon holds the data dir) · 5 no daemon reachable · 6 not found ·
//! 7 not available in this daemon version.

pub mod admin;
pub mod daemon;
pub mod datadir;
pub mod mcp_setup;
pub mod policy;
pub mod secrets;
pub mod session;
pub mod wallet;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use waiaas_core::client::{AdminApi, RemoteAdmin};
use waiaas_core::ErrorCode;
use zeroize::Zeroizing;

pub const EXIT_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_AUTH: i32 = 3;
pub const EXIT_LOCKED: i32 = 4;
pub const EXIT_UNREACHABLE: i32 = 5;
pub const EXIT_NOT_FOUND: i32 = 6;
pub const EXIT_UNAVAILABLE: i32 = 7;

/// Data dir from `--data-dir`, else `WAIAAS_DATA_DIR` (clap fills both), else `~/.waiaas`.
pub fn resolve_data_dir(flag: Option<PathBuf>) -> PathBuf {
    flag.unwrap_or_else(|| home().join(".waiaas"))
}

pub fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."))
}

/// A CLI failure: message for the user, and the process exit code.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: i32,
}

impl CliError {
    pub fn new(code: i32, message: impl Into<String>) -> CliError {
        CliError { message: message.into(), code }
    }

    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::new(EXIT_USAGE, message)
    }
}

impl From<waiaas_core::Error> for CliError {
    fn from(e: waiaas_core::Error) -> Self {
        use ErrorCode::*;
        let remote_status = e.details.as_ref().and_then(|d| d.get("remoteStatus")).and_then(|s| s.as_u64());
        let code = match e.code {
            INVALID_MASTER_PASSWORD | MASTER_PASSWORD_LOCKED => EXIT_AUTH,
            SYSTEM_LOCKED | KILL_SWITCH_ACTIVE => EXIT_LOCKED,
            NETWORK_ERROR | REQUEST_TIMEOUT => EXIT_UNREACHABLE,
            UNKNOWN_ERROR if remote_status == Some(404) || remote_status == Some(405) => EXIT_UNAVAILABLE,
            ACTION_VALIDATION_FAILED | VALIDATION_FAILED => EXIT_USAGE,
            c if c.status() == 404 => EXIT_NOT_FOUND,
            _ => EXIT_FAILED,
        };
        let mut message = format!("{}: {}", e.code, e.message);
        if code == EXIT_UNAVAILABLE {
            message = format!("not available in this daemon version ({})", e.message);
        }
        let next = match e.code {
            INVALID_MASTER_PASSWORD => {
                Some("set WAIAAS_MASTER_PASSWORD or WAIAAS_MASTER_PASSWORD_FILE, or pass --password-file FILE (- reads stdin)".to_string())
            }
            MASTER_PASSWORD_LOCKED => {
                Some("this address sent too many wrong master passwords: wait for the block to end, then retry with the right password".to_string())
            }
            SYSTEM_LOCKED | KILL_SWITCH_ACTIVE => {
                Some("if the kill switch is active, inspect it with `waiaas kill-switch status` and recover with `waiaas kill-switch recover`".to_string())
            }
            NETWORK_ERROR | REQUEST_TIMEOUT => {
                Some("start the daemon with `waiaas start` (same --data-dir), or point --base-url / WAIAAS_BASE_URL at it".to_string())
            }
            _ => e.hint.as_deref().map(str::to_string).or_else(|| e.to_body().get("hint").and_then(|h| h.as_str()).map(str::to_string)),
        };
        if let Some(next) = next {
            message.push_str(&format!("\n  next: {next}"));
        }
        CliError::new(code, message)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::new(EXIT_FAILED, format!("I/O error: {e}"))
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;

/// What every daemon-facing command needs: where the data dir is, how to reach the daemon,
/// the operator's credential, and whether to print JSON.
pub struct Ctx {
    pub dir: PathBuf,
    pub base_url: Option<String>,
    /// `--password-file`: the master password's file (`-` = stdin).
    pub password_file: Option<PathBuf>,
    pub json: bool,
}

impl Ctx {
    /// The daemon's base URL: `--base-url` / `WAIAAS_BASE_URL`, else the address the daemon
    /// of this data dir bound (`<data>/daemon.addr`), else `daemon.hostname:port` from its
    /// config, else upstream's default `http://127.0.0.1:3100`.
    pub fn base_url(&self) -> String {
        if let Some(u) = &self.base_url {
            return u.trim_end_matches('/').to_string();
        }
        base_url_of(&self.dir)
    }

    /// The master password: `--password-file`, else the daemon's own resolution
    /// (`WAIAAS_MASTER_PASSWORD`, `WAIAAS_MASTER_PASSWORD_FILE`, `<data>/recovery.key`, prompt).
    pub fn master_password(&self) -> CliResult<Zeroizing<String>> {
        daemon::resolve_password(&self.dir, self.password_file.as_deref())
    }

    /// An operator client for the running daemon.
    pub fn admin(&self) -> CliResult<RemoteAdmin> {
        let pw = self.master_password()?;
        Ok(RemoteAdmin::new(&self.base_url(), pw.to_string())?)
    }
}

/// See [`Ctx::base_url`].
pub fn base_url_of(dir: &Path) -> String {
    if let Some(a) = std::fs::read_to_string(datadir::addr_path(dir)).ok().and_then(|a| a.trim().parse::<SocketAddr>().ok()) {
        let host = if a.ip().is_unspecified() { "127.0.0.1".to_string() } else { a.ip().to_string() };
        return format!("http://{host}:{}", a.port());
    }
    if let Ok(l) = daemon::load_config(dir) {
        let h = &l.config.daemon.hostname;
        let host = if h == "0.0.0.0" { "127.0.0.1" } else { h.as_str() };
        if l.config.daemon.port != 0 {
            return format!("http://{host}:{}", l.config.daemon.port);
        }
    }
    "http://127.0.0.1:3100".into()
}

/// Resolve a wallet given by id or by name among the daemon's wallets.
pub async fn find_wallet(admin: &dyn AdminApi, wanted: &str) -> CliResult<serde_json::Value> {
    let list = admin.list_wallets().await?;
    let items = list.get("items").and_then(|v| v.as_array()).cloned().unwrap_or_default();
    if let Some(w) = items.iter().find(|w| w["id"] == wanted) {
        return Ok(w.clone());
    }
    let by_name: Vec<_> = items.iter().filter(|w| w["name"] == wanted).collect();
    match by_name.len() {
        1 => Ok(by_name[0].clone()),
        0 => Err(CliError::new(
            EXIT_NOT_FOUND,
            format!("WALLET_NOT_FOUND: no wallet with id or name '{wanted}'\n  next: list the wallets with `waiaas wallet list`"),
        )),
        n => Err(CliError::usage(format!("{n} wallets are named '{wanted}': pass the wallet id instead (see `waiaas wallet list`)"))),
    }
}

/// A string field of a JSON value, or "".
pub fn s(v: &serde_json::Value, key: &str) -> String {
    match v.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}
