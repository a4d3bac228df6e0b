//! `waiaas`: the WAIaaS daemon, its command line and its MCP server.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;
use waiaas_daemon::cli::admin::{BackupCmd, DbCmd, KillSwitchCmd, OwnerCmd};
use waiaas_daemon::cli::mcp_setup::TokenOpts;
use waiaas_daemon::cli::policy::PolicyCmd;
use waiaas_daemon::cli::session::SessionCmd;
use waiaas_daemon::cli::wallet::WalletCmd;
use waiaas_daemon::cli::{self, datadir, CliError, Ctx};

const EXIT_CODES: &str = "Exit codes: 0 ok · 1 refused by the daemon · 2 usage or configuration error · 3 master password rejected · \
4 system locked (kill switch, or another daemon on the data dir) · 5 no daemon reachable · 6 not found · 7 not available in this daemon version";

#[derive(Parser)]
#[command(name = "waiaas", version, about = "Self-hosted wallet for AI agents", after_help = EXIT_CODES)]
struct Cli {
    /// Data directory (default ~/.waiaas).
    #[arg(long, global = true, env = "WAIAAS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Daemon URL (default: the address the daemon of the data dir bound, else http://127.0.0.1:3100).
    #[arg(long, global = true, env = "WAIAAS_BASE_URL")]
    base_url: Option<String>,
    /// File holding the master password (`-` reads it from stdin). Default: WAIAAS_MASTER_PASSWORD,
    /// WAIAAS_MASTER_PASSWORD_FILE, <data>/recovery.key, a prompt. Never given on the command line.
    #[arg(long, global = true, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the data directory and a default config.toml.
    Init {
        /// Also generate a random master password into <data>/recovery.key (0600); without it no
        /// password file is written.
        #[arg(long)]
        auto_provision: bool,
    },
    /// Run the daemon (in the foreground; --detach to run it in the background).
    Start {
        /// trace|debug|info|warn|error (overrides daemon.log_level).
        #[arg(long, env = "WAIAAS_DAEMON_LOG_LEVEL")]
        log_level: Option<String>,
        /// Start in the background (log in <data>/logs/daemon.log) and return once it is ready.
        #[arg(long, short = 'd')]
        detach: bool,
    },
    /// Stop the running daemon (SIGTERM, then wait).
    Stop,
    /// Show whether the daemon runs and its health.
    Status,
    /// Exit 0 when the local daemon's /health answers within 3 s, 1 otherwise (with the
    /// reason on stderr): what a container HEALTHCHECK runs. Address: --base-url, else
    /// daemon.hostname/daemon.port from config.toml and WAIAAS_DAEMON_* (0.0.0.0 is asked on 127.0.0.1).
    Healthcheck,
    /// Create a Solana and an EVM wallet, a starter policy and MCP tokens; print the MCP config.
    #[command(alias = "quickstart")]
    Quickset {
        /// testnet | mainnet.
        #[arg(long, default_value = "testnet")]
        mode: String,
        /// MCP session token lifetime in seconds (default unlimited).
        #[arg(long)]
        ttl: Option<i64>,
    },
    /// Manage wallets.
    #[command(subcommand)]
    Wallet(WalletCmd),
    /// Manage agent sessions.
    #[command(subcommand)]
    Session(SessionCmd),
    /// Manage policies.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Register and verify a wallet's owner.
    #[command(subcommand)]
    Owner(OwnerCmd),
    /// MCP: set up tokens and Claude Desktop, or serve MCP over stdio.
    #[command(subcommand)]
    Mcp(McpCmd),
    /// Change the master password (the daemon re-encrypts every key).
    SetMaster {
        /// File holding the new password (`-` reads it from stdin). Default:
        /// WAIAAS_NEW_MASTER_PASSWORD, else a prompt. Never given on the command line.
        #[arg(long, value_name = "FILE")]
        new_password_file: Option<PathBuf>,
    },
    /// Encrypted backups.
    #[command(subcommand)]
    Backup(BackupCmd),
    /// Restore a backup into the data dir (daemon stopped).
    Restore {
        file: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// The kill switch.
    #[command(subcommand, name = "kill-switch")]
    KillSwitch(KillSwitchCmd),
    /// The store: `db migrate` copies the SQLite store into PostgreSQL.
    #[command(subcommand)]
    Db(DbCmd),
}

#[derive(Subcommand)]
enum McpCmd {
    /// Mint MCP session tokens (<data>/mcp-agents/<walletId>/mcp-tokens/<walletId>) and register the servers with Claude Desktop.
    Setup {
        /// Wallet id or name (default: the only wallet).
        #[arg(long, conflicts_with = "all")]
        wallet: Option<String>,
        /// Every wallet.
        #[arg(long)]
        all: bool,
        /// Token lifetime in seconds (default unlimited).
        #[arg(long)]
        ttl: Option<i64>,
        #[arg(long)]
        max_renewals: Option<i64>,
        /// Absolute lifetime in seconds, renewals included.
        #[arg(long)]
        lifetime: Option<i64>,
        /// Mint new tokens even when the current ones are still valid (the old ones are revoked).
        #[arg(long)]
        new_token: bool,
        /// Claude Desktop config file (default: the per-OS location).
        #[arg(long, env = "WAIAAS_CLAUDE_CONFIG")]
        claude_config: Option<PathBuf>,
        /// Only print the configuration; do not touch Claude Desktop's file.
        #[arg(long)]
        no_register: bool,
    },
    /// Serve MCP over stdio (what an MCP client runs).
    Serve {
        /// The session token file (what `mcp setup` writes into the MCP config); with it and
        /// WAIAAS_BASE_URL the server needs no access to the data dir.
        #[arg(long, env = "WAIAAS_TOKEN_FILE")]
        token_file: Option<PathBuf>,
        /// The wallet whose token file (<data>/mcp-tokens/<id>, or the daemon data dir's mcp-agents/<id>/mcp-tokens/<id>) to use without --token-file.
        #[arg(long, env = "WAIAAS_WALLET_ID")]
        wallet_id: Option<String>,
        /// Shown in tool descriptions and the server name.
        #[arg(long, env = "WAIAAS_WALLET_NAME")]
        wallet_name: Option<String>,
        /// Open the engine on the data dir in this process instead of talking to a daemon.
        #[arg(long)]
        embedded: bool,
        /// Seconds a send waits for its transaction to settle before answering.
        #[arg(long, default_value_t = 60)]
        settle_timeout: u64,
    },
}

fn main() {
    // First, while this is the only thread: passwords leave the environment (and the
    // environment block /proc/<pid>/environ shows) before any thread or child could see them.
    cli::secrets::take_env_secrets();
    let cli = Cli::parse();
    let dir = cli::resolve_data_dir(cli.data_dir);
    let ctx = Ctx { dir: dir.clone(), base_url: cli.base_url, password_file: cli.password_file, json: cli.json };
    #[allow(clippy::expect_used, reason = "without its runtime the binary can do nothing; the OS refusing threads is the only cause")]
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result: Result<(), CliError> = rt.block_on(async {
        match cli.command {
            Command::Init { auto_provision } => {
                let r = datadir::init(&dir, auto_provision)?;
                if ctx.json {
                    println!("{}", serde_json::json!({"dataDir": dir, "createdConfig": r.created_config, "createdRecoveryKey": r.created_recovery_key}));
                    return Ok(());
                }
                println!("Data directory ready: {}", dir.display());
                if r.created_config {
                    println!("  wrote {}", datadir::config_path(&dir).display());
                }
                if r.created_recovery_key {
                    println!("  wrote {} (--auto-provision: the generated master password, mode 0600)", datadir::recovery_key_path(&dir).display());
                    cli::daemon::announce_recovery_key(&dir);
                } else if !auto_provision {
                    println!("  no password file written: start with WAIAAS_MASTER_PASSWORD, WAIAAS_MASTER_PASSWORD_FILE or --password-file");
                }
                Ok(())
            }
            Command::Start { log_level, detach: true } => cli::daemon::start_detached(&dir, log_level, ctx.password_file.as_deref()).await,
            Command::Start { log_level, detach: false } => cli::daemon::start(&dir, log_level, ctx.password_file.as_deref()).await,
            Command::Stop => cli::daemon::stop(&dir).await,
            Command::Status => cli::daemon::status(&dir, ctx.json).await,
            Command::Healthcheck => cli::daemon::healthcheck(&dir, ctx.base_url.as_deref()).await,
            Command::Quickset { mode, ttl } => cli::mcp_setup::quickset(&ctx, &mode, TokenOpts { ttl, ..Default::default() }).await,
            Command::Wallet(c) => cli::wallet::run(&ctx, c).await,
            Command::Session(c) => cli::session::run(&ctx, c).await,
            Command::Policy(c) => cli::policy::run(&ctx, c).await,
            Command::Owner(c) => cli::admin::owner(&ctx, c).await,
            Command::Mcp(McpCmd::Setup { wallet, all, ttl, max_renewals, lifetime, new_token, claude_config, no_register }) => {
                let opts = TokenOpts { ttl, max_renewals, lifetime, renew: new_token };
                cli::mcp_setup::setup(&ctx, wallet, all, opts, claude_config, no_register).await
            }
            Command::Mcp(McpCmd::Serve { token_file, wallet_id, wallet_name, embedded, settle_timeout }) => {
                let opts = waiaas_daemon::mcp::ServeOptions {
                    base_url: ctx.base_url(),
                    data_dir: dir.clone(),
                    wallet_id,
                    wallet_name,
                    env_token: std::env::var("WAIAAS_SESSION_TOKEN").ok(),
                    token_file,
                    embedded,
                    settle_timeout: Duration::from_secs(settle_timeout),
                };
                waiaas_daemon::mcp::serve(opts).await
            }
            Command::SetMaster { new_password_file } => cli::admin::set_master(&ctx, new_password_file).await,
            Command::Backup(c) => cli::admin::backup(&ctx, c).await,
            Command::Restore { file, force } => cli::admin::restore(&ctx, file, force).await,
            Command::KillSwitch(c) => cli::admin::kill_switch(&ctx, c).await,
            Command::Db(c) => cli::admin::db(&ctx, c).await,
        }
    });
    if let Err(e) = result {
        if !e.message.is_empty() {
            eprintln!("error: {}", e.message);
        }
        std::process::exit(e.code);
    }
}
